"""Tests of selfhost.capacity: implied efficiency, capacity-aware break-even, verdicts, CPU tables."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import capacity, costs, roofline
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_engine_model_config, load_model_spec
from selfhost.data.runs import load_capacity_runs
from selfhost.data.serving import (
    default_serving_efficiency,
    efficiency_for,
    published_measurements,
    serving_calibration,
    serving_efficiency_range,
    serving_evidence,
    ttft_deployments,
)
from selfhost.errors import ModelConfigError, ParameterError
from selfhost.modelspec import from_config
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS

L8B = load_model_spec("llama-3.1-8b")
L70B = load_model_spec("llama-3.3-70b")


CAL = serving_calibration()
ROWS = {r["result_id"]: r for r in CAL.rows}
MEASUREMENTS = {m.result_id: m for m in published_measurements()}
OVERHEADS = load_vllm_overheads()


def test_implied_decode_efficiency_by_hand():
    """Musgrave: 75 tok/s, one request, 8B bf16 on an A100 40GB (1.555 TB/s), 1024 in / 128 out."""
    p = L8B.params()
    nbytes = 2 * (p.total - p.embedding) + (1024 + 64) * L8B.kv_bytes_per_token()
    assert ROWS["musgrave-a100-8b-c1-decode"]["informs"] == "bandwidth"
    assert ROWS["musgrave-a100-8b-c1-decode"]["implied_share"] == pytest.approx(75.0 * nbytes / 1.555e12, rel=1e-3)


def test_implied_prefill_efficiency_by_hand():
    """Lambda: ten prompts, 1,369 tokens, prefilled in one step in 1,125 ms: 70B FP8 (weight-only) on an A100 at 312 TFLOP/s."""
    flops = 1369 * 2 * L70B.params().active_matmul + 1369 * roofline.attention_flops_per_token(L70B, 1369 // 20)
    row = ROWS["lambda-a100-70b-fp8-prefill"]
    assert row["informs"] == "compute"
    assert row["implied_share"] == pytest.approx(flops / 312e12 / 1.12546, rel=2e-3)


def test_figures_above_the_roofline_are_flagged_not_fitted():
    assert ROWS["spheron-h100-70b-c1-out"]["status"] == "above the roofline"  # 120 tok/s for 70B FP8 at batch 1
    assert ROWS["yobitel-h100-8b-c64-tpot"]["status"] == "not modelled"      # lengths not given


def test_the_fit_is_the_median_per_generation_of_the_fitted_rows():
    import statistics

    for generation in ("Ampere", "Hopper"):
        eff = default_serving_efficiency(generation=generation)
        for kind in ("bandwidth", "compute"):
            shares = [r["implied_share"] for r in CAL.rows if r["status"] == "fitted" and r["generation"] == generation
                      and r["informs"] == kind]
            assert len(shares) >= capacity.MIN_ROWS
            assert getattr(eff, f"{kind}_share") == pytest.approx(statistics.median(shares), abs=1e-3)
    assert default_serving_efficiency(gpu="A100 80GB") == default_serving_efficiency(generation="Ampere")
    assert default_serving_efficiency(generation="Blackwell") == CAL.pooled  # no rows of its own


def test_held_out_rows_do_not_move_the_fit():
    moved = [replace(m, value=m.value * 10) if m.holdout else m for m in MEASUREMENTS.values()]
    again = capacity.calibrate(moved, OVERHEADS)
    assert dict(again.by_generation) == dict(CAL.by_generation)
    assert CAL.held_out()["result_id"].tolist() == [m.result_id for m in MEASUREMENTS.values() if m.holdout]


def test_the_range_is_the_spread_and_contains_the_fit():
    for generation in ("Ampere", "Hopper", None):
        low, high = serving_efficiency_range(generation=generation)
        eff = default_serving_efficiency(generation=generation)
        assert low.compute_share <= eff.compute_share <= high.compute_share
        assert low.bandwidth_share <= eff.bandwidth_share <= high.bandwidth_share
    low, high = serving_efficiency_range(gpu="A100 80GB")
    assert low.compute_share == pytest.approx(ROWS["lambda-a100-8b-fp8-prefill"]["implied_share"])  # held out, in the spread


def test_residuals_are_prediction_over_published():
    for r in CAL.rows:
        if r["predicted"] is not None:
            assert r["residual_share"] == pytest.approx(r["predicted"] / r["published"] - 1)
    summary = CAL.residual_summary()
    assert summary["held_out_rows_count"] == 5 and summary["held_out_median_abs_residual_share"] < 0.5


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(k for k, r in ROWS.items() if r["predicted"] is not None)), st.floats(0.2, 0.9),
       st.floats(0.2, 0.9))
def test_predictions_get_faster_with_efficiency(result_id, b, c):
    m = MEASUREMENTS[result_id]
    slow = capacity.predict(m, roofline.Efficiency(b, c), OVERHEADS)
    fast = capacity.predict(m, roofline.Efficiency(min(1, b * 1.1), min(1, c * 1.1)), OVERHEADS)
    assert (fast >= slow * (1 - 1e-9)) if capacity.METRICS[m.metric] == "rate" else (fast <= slow * (1 + 1e-9))


def test_implied_share_inverts_the_prediction():
    m = MEASUREMENTS["lambda-h100-70b-fp8-tpot"]
    eff = default_serving_efficiency(generation="Hopper")
    share = capacity.implied_share(m, "bandwidth", eff, OVERHEADS)
    assert capacity.predict(m, replace(eff, bandwidth_share=share), OVERHEADS) == pytest.approx(m.value, rel=1e-3)


def test_a_calibration_needs_both_kinds():
    decode_only = [m for m in MEASUREMENTS.values() if m.metric in ("batch_tpot_ms", "decode_tok_per_s_per_request")]
    with pytest.raises(ValueError, match="prefill"):
        capacity.calibrate(decode_only, OVERHEADS)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 10), st.floats(0.05, 30), st.floats(1e5, 5e8), st.integers(1, 3), st.floats(0, 20_000))
def test_capacity_breakeven_is_where_costs_meet(gpu_usd_per_hour, price, cap, gpu_count, ops):
    v = capacity.capacity_breakeven_tok_per_day(gpu_usd_per_hour, price, cap, gpu_count, ops)
    plain = costs.breakeven_tok_per_day(gpu_usd_per_hour, price, gpu_count, ops)
    if math.isinf(v):
        # no break-even: at every GPU count the API is cheaper at full capacity
        assert cap * price / 1e6 <= costs.selfhost_usd_per_day(gpu_usd_per_hour, 1) or plain > gpu_count * cap
        return
    assert v >= plain * (1 - 1e-9)  # capacity can only push the break-even out
    n = costs.gpus_needed(v, gpu_count, cap)
    assert costs.api_usd_per_day(v, price) >= costs.selfhost_usd_per_day(gpu_usd_per_hour, n, ops) * (1 - 1e-9)


def test_capacity_breakeven_without_binding_capacity_is_the_plain_one():
    plain = costs.breakeven_tok_per_day(2.5, 6.6)
    assert capacity.capacity_breakeven_tok_per_day(2.5, 6.6, 1e9) == pytest.approx(plain)


def _caps(**kw):
    card = gpu_by_name("A100 80GB")
    args = dict(prompt_tokens=512, input_share=0.7, slo_ttft_ms=1000, slo_tpot_ms=100)
    args.update(kw)
    return capacity.deployment_capacities(
        L70B, card,
                                          load_vllm_overheads(), roofline.Efficiency(0.7, 0.5), **args)


def test_seventy_b_does_not_fit_an_a100_in_16_bit():
    caps = {c.weight_dtype: c for c in _caps()}
    assert not caps["bf16"].fits and caps["bf16"].capacity_tok_per_day == 0
    assert caps["int4"].fits and caps["int4"].memory_max_batch > caps["fp8"].memory_max_batch


def test_c07_verdicts():
    caps = _caps()
    best = capacity.best_capacity_tok_per_day(caps)
    v = capacity.c07_verdict(caps, {"small": best / 2, "large": best * 2}, "A100 80GB", "70B")
    assert v.verdict == CONDITIONAL and v.figures["gpus_for_large_count"] == 2
    assert capacity.c07_verdict(caps, {"small": best * 3}, "A100 80GB", "70B").verdict == FAILS
    none = _caps(slo_ttft_ms=1.0)
    assert capacity.c07_verdict(none, {"x": 1.0}, "A100 80GB", "70B").verdict == FAILS
    card = gpu_by_name("H200")
    h200 = capacity.deployment_capacities(
        L70B, card,
                                          load_vllm_overheads(), roofline.Efficiency(0.7, 0.5), gpus=2,
                                          prompt_tokens=512, input_share=0.7, slo_ttft_ms=1000, slo_tpot_ms=100,
                                          weight_dtypes=("bf16",))
    assert capacity.c07_verdict(h200, {"x": 1e6}, "H200", "70B").verdict == HOLDS


def test_max_prompt_within_by_bisection():
    assert capacity.max_prompt_within(lambda p: 0.1 * p, 200.0) == 2000
    assert capacity.max_prompt_within(lambda p: 500.0, 200.0) == 0
    assert capacity.max_prompt_within(lambda p: 1.0, 200.0, limit=4096) == 4096


def test_c15_verdicts_read_the_tail():
    fast = capacity.TtftCase("small", 8000, 50.0, 150.0, 0.7)
    slow = capacity.TtftCase("big", 300, 190.0, 900.0, 0.1)
    assert capacity.c15_verdict([fast, slow], 200, 512, "big", 500, 1000, 0.5).verdict == CONDITIONAL
    assert capacity.c15_verdict([fast], 200, 512, "small", 500, 1000, 0.5).verdict == HOLDS
    assert capacity.c15_verdict([replace(slow, ttft_at_typical_ms=400.0)], 200, 512, "big", 500, 1000).verdict == FAILS
    with pytest.raises(ValueError, match="article_case"):
        capacity.c15_verdict([fast], 200, 512, "nope", 500, 1000)


def test_the_efficiency_basis_in_words_counts_the_rows_the_evidence_counts():
    cal = serving_calibration()
    for generation in ("Ampere", "Hopper"):
        lo, hi = cal.range(generation)
        text = capacity.efficiency_basis_statement(cal, "compute", generation)
        fitted = cal.frame().query("informs == 'compute' and status == 'fitted' and generation == @generation")
        assert f"the median of the {len(fitted)} fitted prefill rows on {generation} GPUs" in text
        assert f"prefill the median of {len(fitted)} published measurements on {generation} GPUs" in cal.basis(generation)
        assert text.endswith(f"from {lo.compute_share:.0%} to {hi.compute_share:.0%}")


def test_c15_conditions_leave_out_a_deployment_that_never_meets_the_target():
    fast = capacity.TtftCase("small", 8000, 50.0, 150.0, 0.7)
    never = capacity.TtftCase("big", 0, 431.0, 1869.0, 0.0)
    short_only = capacity.TtftCase("mid", 300, 250.0, 400.0, 0.0)  # short prompts at load, not the typical one idle
    v = capacity.c15_verdict([fast, never, short_only], 200, 512, "big", 500, 1000, 0.5)
    (within, *_) = v.conditions
    assert "up to 0 tokens" not in within and "up to 0%" not in within
    assert "with small, prompts up to 8,000 tokens at 50% load, or a 512-token prompt at up to 70% load" in within
    assert "with mid, prompts up to 300 tokens at 50% load (a 512-token prompt misses it even idle)" in within
    assert within.endswith("not with big, where no prompt meets it at 50% load and a 512-token prompt misses it even idle")
    assert capacity.ttft_case_statement(never, 512, 0.5).startswith("No prompt keeps its p99 under the target")


def test_c15_assess_says_what_flips_it():
    ds = ttft_deployments(["llama-3.1-8b:H100 SXM:bf16", "llama-3.3-70b:A100 80GB:fp8"])
    v = capacity.c15_assess(ds, ds[1].label, target_ms=200, typical_prompt_tokens=512, busy_share=0.5, api_low_ms=500,
                            api_high_ms=1000, efficiency_range=serving_efficiency_range(generation="Ampere"),
                            efficiency_source="calibration", evidence=serving_evidence("Ampere"), steps=4)
    assert v.verdict == CONDITIONAL and v.figures["article_deployment_ttft_p99_ms"] > v.figures["article_deployment_ttft_ms"]
    assert {s.input for s in v.sensitivity} == {"busy_share", "prompt_tok", "compute_share", "deployment"}
    assert next(s for s in v.sensitivity if s.input == "deployment").flips  # the 8B on an H100 meets it


def test_a_ttft_case_by_hand():
    (d,) = ttft_deployments(["llama-3.3-70b:A100 80GB:fp8"])
    case = capacity.ttft_case(d, 200.0, 512, 0.5)
    pre = roofline.prefill_time(d.spec, d.device, d.efficiency, prompt_tokens=512, weight_dtype="fp8",
                                chunk_tokens=2048).time_s
    assert case.ttft_at_typical_ms == pytest.approx(pre * 1e3)
    assert case.ttft_p99_at_load_ms == pytest.approx((pre + roofline.md1_wait_quantile_s(0.5, pre, 0.99)) * 1e3)


def test_cpu_tables_from_recorded_runs():
    spec = from_config(load_engine_model_config("capacity-llama"), "capacity-llama")
    dev = roofline.Device("cpu", 10.0, 0.5)
    runs = load_capacity_runs("throughput")
    table = capacity.cpu_batch_table(runs[runs["status"] == "ok"], spec, dev)
    assert list(table["concurrency"]) == sorted(table["concurrency"])
    row = table.iloc[0]
    assert row["measured_decode_tok_per_s"] == pytest.approx(row["concurrency"] / row["measured_tpot_ms"] * 1e3)
    assert row["mbu_share"] == pytest.approx(row["measured_decode_tok_per_s"] / row["predicted_decode_tok_per_s"], rel=1e-9)
    fake = pd.DataFrame([{"prompt_len": 1000, "median_ttft_ms": 2000.0, "load_avg_1m_at_start": 0.5}])
    prompt = capacity.cpu_prompt_table(fake, spec, dev)
    flops = 1000 * 2 * spec.params().active_matmul + roofline.prompt_attention_flops(spec, 1000)
    assert prompt["mfu_share"].iloc[0] == pytest.approx(flops / 2.0 / 0.5e12)
    summary = capacity.cpu_decode_summary(table, 3.0, 0.25)
    assert summary["cpu_disturbed_count"] == int((table["load_avg_1m_at_end"] > 3.0).sum())


def test_c07_assess_says_what_flips_it():
    card = gpu_by_name("A100 80GB")
    eff = default_serving_efficiency(gpu=card)
    low, high = serving_efficiency_range(gpu=card)
    scenario = capacity.Scenario(L70B, card, OVERHEADS, eff, capacity.volumes(5e6, 50e6), 512, 0.7, 1000.0, 100.0)
    v = capacity.c07_assess(scenario, capacity.Ranges(low, high, "calibration"), model_label="70B",
                            evidence=serving_evidence("Ampere"), steps=4,
                            other_gpus=capacity.other_gpus([(gpu_by_name("H100 SXM"), "fp8", 1)], card, efficiency_for))
    inputs = {s.input for s in v.sensitivity}
    assert inputs == {"compute_share", "bandwidth_share", "input_share", "prompt_tok", "peak_to_mean_x", "slo_ttft_ms",
                      "weight_dtype", "gpu"}
    assert next(s for s in v.sensitivity if s.input == "weight_dtype").value == "bf16"  # 16-bit does not fit
    assert {e.kind for e in v.evidence} >= {"model", "published", "data"}
    assert v.figures["gpus_for_50M_count"] == math.ceil(50e6 / (v.figures["best_capacity_mtok_per_day"] * 1e6))
    flips = "; ".join(s.describe() for s in v.flips)
    assert "(range bf16 to int4)" in flips and "best that fits" not in flips  # the precisions' range, in words
    for s in v.flips:  # a flip says what changes: the verdict's word appears only where it is another one
        assert s.verdict_there is not None and not s.verdict_there.startswith(v.verdict)


def test_a_tp_size_vllm_refuses_is_an_error():
    with pytest.raises(ModelConfigError, match="num_attention_heads"):
        _caps(gpus=3)


def test_concurrency_and_max_throughput_points():
    card = gpu_by_name("H100 SXM")
    eff = roofline.Efficiency(0.6, 0.4)
    p = capacity.concurrency_point(L8B, card, OVERHEADS, eff, concurrency=16, gpus=1, prompt_tokens=512,
                                   output_tokens=128, weight_dtype="bf16")
    assert p.batch == 16 and p.output_tok_per_s == pytest.approx(16 / p.tpot_s)
    with pytest.raises(ParameterError, match="--concurrency"):
        capacity.concurrency_point(L70B, card, OVERHEADS, eff, concurrency=5000, gpus=1, prompt_tokens=512,
                                   output_tokens=128, weight_dtype="fp8")
    top = capacity.max_throughput_point(L8B, card, OVERHEADS, eff, gpus=1, prompt_tokens=512, output_tokens=128,
                                        weight_dtype="bf16")
    assert top.output_tok_per_s > p.output_tok_per_s


def test_w8a8_int8_serves_more_than_weight_only_fp8_on_an_a100():
    caps = {c.weight_dtype: c for c in _caps()}
    assert caps["int8"].capacity_tok_per_day > caps["fp8"].capacity_tok_per_day
