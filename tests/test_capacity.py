"""Tests of selfhost.capacity: implied efficiency, capacity-aware break-even, verdicts, CPU tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import capacity, costs, roofline
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_engine_model_config, load_model_spec
from selfhost.data.runs import load_capacity_runs
from selfhost.data.serving import default_serving_efficiency, published_serving_implied
from selfhost.modelspec import from_config
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS

L8B = load_model_spec("llama-3.1-8b")
L70B = load_model_spec("llama-3.3-70b")


def test_implied_decode_efficiency_by_hand():
    """Musgrave: 75 tok/s, one request, 8B bf16 on an A100 40GB (1.555 TB/s), 1024 in / 128 out."""
    dev = roofline.Device("A100 40GB", 1555.0, 312.0)
    got = capacity.implied_efficiency(L8B, dev, metric="decode_tok_per_s_per_request", value=75.0, concurrency=1,
                                      input_tokens=1024, output_tokens=128)
    p = L8B.params()
    nbytes = 2 * (p.total - p.embedding) + (1024 + 64) * L8B.kv_bytes_per_token()
    assert got.kind == "bandwidth"
    assert got.implied_x == pytest.approx(75.0 * nbytes / 1.555e12)


def test_implied_ttft_efficiency_needs_the_prompt_length():
    dev = roofline.Device("H100 SXM", 3350.0, 1978.9)
    assert capacity.implied_efficiency(L70B, dev, metric="ttft_ms", value=100.0, concurrency=1,
                                       input_tokens=None, output_tokens=None).implied_x is None
    got = capacity.implied_efficiency(L70B, dev, metric="ttft_ms", value=120.0, concurrency=10, input_tokens=512,
                                      output_tokens=256, weight_dtype="fp8")
    flops = 512 * 2 * L70B.params().active_matmul + roofline.prompt_attention_flops(L70B, 512)
    assert got.implied_x == pytest.approx(flops / 1978.9e12 * 1e3 / 120.0)


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="metric"):
        capacity.implied_efficiency(L8B, roofline.Device("d", 1, 1), metric="joules", value=1.0, concurrency=1,
                                    input_tokens=1, output_tokens=1)


def test_published_table_flags_figures_above_the_roofline():
    t = published_serving_implied()
    spheron_c1 = t[t["result_id"] == "spheron-h100-70b-c1-out"].iloc[0]
    assert spheron_c1["implied_x"] > 1  # 120 output tok/s for 70B FP8 at batch 1 exceeds one H100's bandwidth
    usable = t[(t["kind"] == "bandwidth") & (t["concurrency"] <= 4)]
    assert ((usable["implied_x"] > 0.5) & (usable["implied_x"] < 1)).all()


def test_default_efficiency_is_the_median_of_the_usable_rows():
    t = published_serving_implied()
    eff = default_serving_efficiency()
    bw = t[(t["kind"] == "bandwidth") & (t["concurrency"] <= 4) & (t["implied_x"] <= 1)]["implied_x"]
    assert eff.bandwidth_x == pytest.approx(float(bw.median()))
    assert 0 < eff.compute_x <= 1


def test_efficiency_from_needs_both_kinds():
    with pytest.raises(ValueError, match="decode"):
        capacity.efficiency_from([("bandwidth", 0.7, 1)])


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


def test_c15_verdicts():
    fast = capacity.TtftCase("small", 8000, 50.0)
    slow = capacity.TtftCase("big", 300, 400.0)
    assert capacity.c15_verdict([fast, slow], 200, 512, "big", 500, 1000).verdict == CONDITIONAL
    assert capacity.c15_verdict([fast], 200, 512, "small", 500, 1000).verdict == HOLDS
    assert capacity.c15_verdict([slow], 200, 512, "big", 500, 1000).verdict == FAILS
    with pytest.raises(ValueError, match="article_case"):
        capacity.c15_verdict([fast], 200, 512, "nope", 500, 1000)


def test_cpu_tables_from_recorded_runs():
    spec = from_config(load_engine_model_config("capacity-llama"), "capacity-llama")
    dev = roofline.Device("cpu", 10.0, 0.5)
    runs = load_capacity_runs("throughput")
    table = capacity.cpu_batch_table(runs[runs["status"] == "ok"], spec, dev)
    assert list(table["concurrency"]) == sorted(table["concurrency"])
    row = table.iloc[0]
    assert row["measured_decode_tok_per_s"] == pytest.approx(row["concurrency"] / row["measured_tpot_ms"] * 1e3)
    assert row["mbu_x"] == pytest.approx(row["measured_decode_tok_per_s"] / row["predicted_decode_tok_per_s"], rel=1e-9)
    fake = pd.DataFrame([{"prompt_len": 1000, "median_ttft_ms": 2000.0, "load_avg_1m_at_start": 0.5}])
    prompt = capacity.cpu_prompt_table(fake, spec, dev)
    flops = 1000 * 2 * spec.params().active_matmul + roofline.prompt_attention_flops(spec, 1000)
    assert prompt["mfu_x"].iloc[0] == pytest.approx(flops / 2.0 / 0.5e12)
