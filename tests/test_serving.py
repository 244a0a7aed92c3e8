"""Serving analyses: the Amdahl bound, run pairing, and the C08-C11 verdict rules."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost import serving
from selfhost.errors import ParameterError
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE

shares = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(shares, shares)
def test_amdahl_grows_with_the_accelerated_share(a, b):
    lo, hi = sorted((a, b))
    assert serving.amdahl_speedup_x(lo) <= serving.amdahl_speedup_x(hi)


@given(shares, st.floats(min_value=1, max_value=1e6))
def test_a_finite_factor_never_beats_the_bound(p, s):
    assert 1 <= serving.amdahl_speedup_x(p, s) <= serving.amdahl_speedup_x(p) * (1 + 1e-12)


@given(st.floats(min_value=0, max_value=0.999), st.integers(1, 10_000))
def test_the_prefix_bound_rises_with_requests_and_stays_below_the_limit(f, n):
    bound = serving.prefix_speedup_bound_x(f, n)
    assert 1 <= bound <= serving.prefix_speedup_bound_x(f, n + 1) <= 1 / (1 - f) * (1 + 1e-12)


def test_the_share_needed_for_a_speedup_inverts_the_bound():
    need = serving.shared_share_for_speedup(6.4, 32)
    assert serving.prefix_speedup_bound_x(need, 32) == pytest.approx(6.4)
    assert serving.shared_share_for_speedup(1.0) == 0


def test_bad_shares_name_the_parameter():
    with pytest.raises(ParameterError, match="accelerated_share = 1.5"):
        serving.amdahl_speedup_x(1.5)
    with pytest.raises(ParameterError, match="num_requests"):
        serving.cacheable_share(0.5, 0)


def _run(workload, variant, rep, duration, recording="r2", **extra):
    base = {"workload": workload, "variant": variant, "rep": rep, "status": "ok", "busy": False, "engine": "vllm",
            "engine_version": "0.32.0", "model": "small-llama", "hardware": "cpu", "recording": recording,
            "schema_version": 2, "warmed_up": True,
            "duration_s": duration, "median_ttft_ms": duration * 100, "hit_share": 0.9 if variant != "caching-off" else 0.0,
            "config": "few-shot", "shape": "few-shot", "prompt_len": 4096, "shared_share": 0.95, "num_prompts": 32,
            "prefix_caching": True, "output_tok_per_s": 100.0, "concurrency": 8, "started_at": f"2026-11-27T00:00:0{rep}",
            "bound_128_share": 0.9, "bound_16_share": 0.92}
    base.update(extra)
    return base


def test_prefix_pairs_on_and_off_by_repetition_within_a_recording():
    rows = [_run("prefix", "caching-off", r, 6.0 + r) for r in range(5)]
    rows += [_run("prefix", "caching-on", r, 2.0) for r in range(5)]
    rows.append(_run("prefix", "caching-on", 5, 1.0, status="failed"))  # no partner, and failed: ignored
    rows.append(_run("prefix", "caching-off", 0, 60.0, recording="r1"))  # another recording: never paired with r2
    rows.append(_run("prefix", "caching-on", 1, 0.1, busy=True))  # flagged busy: not evidence
    table = serving.prefix_table(pd.DataFrame(rows))
    row = table.iloc[0]
    assert len(table) == 1 and row["pairs_count"] == 5
    expected = math.exp(sum(math.log((6 + r) / 2) for r in range(5)) / 5)
    assert row["speedup_x"] == pytest.approx(expected)
    assert row["speedup_low_x"] <= row["speedup_x"] <= row["speedup_high_x"]
    assert row["bound_128_x"] == pytest.approx(10.0)


def test_pairs_need_the_same_engine_version_and_model():
    rows = [_run("prefix", "caching-off", 0, 6.0), _run("prefix", "caching-on", 0, 2.0, engine_version="0.33.0")]
    assert serving.prefix_table(pd.DataFrame(rows)).empty


def test_long_prompt_pairs_first_and_repeat():
    rows = [_run("long_prompt", "first", r, 4.0, config="tgi-long") for r in range(5)]
    rows += [_run("long_prompt", "repeat", r, 0.5, config="tgi-long") for r in range(5)]
    table = serving.long_prompt_table(pd.DataFrame(rows))
    assert table.iloc[0]["speedup_x"] == pytest.approx(8.0) and table.iloc[0]["pairs_count"] == 5


def _prefix_table(speedups, pairs=5):
    return pd.DataFrame([{"shape": f"s{i}", "recording": "r", "pairs_count": pairs, "speedup_x": x,
                          "speedup_low_x": lo, "speedup_high_x": hi, "ttft_speedup_x": x, "ttft_speedup_low_x": lo,
                          "ttft_speedup_high_x": hi, "bound_128_x": 10.0}
                         for i, (x, lo, hi) in enumerate(speedups)])


def test_c10_verdict_rules():
    assert serving.c10_verdict(_prefix_table([(8.0, 7.0, 9.0), (1.3, 1.2, 1.4)])).verdict == CONDITIONAL
    assert serving.c10_verdict(_prefix_table([(8.0, 7.0, 9.0)])).verdict == HOLDS
    v = serving.c10_verdict(_prefix_table([(3.0, 2.8, 3.3), (1.3, 1.2, 1.4)]))
    assert v.verdict == FAILS and v.figures["max_speedup_x"] == 3.0
    assert "vLLM 0.2.5" in v.would_test  # RadixAttention against 2023 vLLM: not testable here
    straddle = serving.c10_verdict(_prefix_table([(6.0, 5.0, 7.0), (1.3, 1.2, 1.4)]))
    assert straddle.verdict == UNTESTABLE and "more repetitions" in straddle.reason
    assert serving.c10_verdict(_prefix_table([(8.0, 7.0, 9.0)], pairs=3)).verdict == UNTESTABLE  # too few pairs
    assert serving.c10_verdict(pd.DataFrame()).verdict == UNTESTABLE


def test_c09_verdict_uses_live_ratios_before_published_ones():
    published = pd.DataFrame([{"publisher": "A", "hardware": "H100", "model": "8B", "ratio_x": 1.29},
                              {"publisher": "B", "hardware": "H100", "model": "70B", "ratio_x": 1.04}])
    assert serving.c09_verdict(published, pd.DataFrame()).verdict == CONDITIONAL
    live = pd.DataFrame([{"concurrency": 16, "ratio_x": 0.97}])
    assert serving.c09_verdict(published, live).verdict == FAILS
    assert serving.c09_verdict(published.iloc[:1], pd.DataFrame()).verdict == HOLDS


def test_published_ratios_from_the_table():
    from selfhost.data.tables import load_table

    table = serving.published_ratios(load_table("engine_benchmarks"))
    ratios = table.drop_duplicates("publisher").set_index("publisher")["ratio_x"]
    assert ratios["AIMultiple"] == pytest.approx(16215 / 12553)
    assert ratios["Spheron"] == pytest.approx(1920 / 1850)
    assert table.set_index("publisher").loc["AIMultiple", "role"] == "article-source"


def test_c09_never_counts_the_articles_own_source():
    published = pd.DataFrame([{"publisher": "AIMultiple", "hardware": "H100", "model": "8B", "ratio_x": 1.29,
                               "role": "article-source", "kind": "throughput ratio"},
                              {"publisher": "B", "hardware": "H100", "model": "70B", "ratio_x": 1.04,
                               "role": "independent", "kind": "throughput ratio"}])
    v = serving.c09_verdict(published, pd.DataFrame())
    assert v.verdict == FAILS and v.figures["setups_count"] == 1


def test_c08_needs_api_runs_and_the_named_hardware():
    support = {"NVIDIA GPU (CUDA)": "in tree", "Google TPU": "plugin (tpu-inference)",
               "AWS Trainium / Inferentia (Neuron)": "plugin (vllm-neuron)"}
    assert serving.c08_verdict(10, "CPU", support).verdict == CONDITIONAL
    assert serving.c08_verdict(0, "CPU", support).verdict == FAILS
    assert serving.c08_verdict(10, "CPU", {"NVIDIA GPU": "in tree"}).verdict == FAILS
    all_in_tree = {k: "in tree" for k in support}
    assert serving.c08_verdict(10, "CPU", all_in_tree).verdict == HOLDS


def _tgi():
    return pd.DataFrame([{"hardware": "8x H100", "model": "70B", "run": "second", "advantage_x": 13.75},
                         {"hardware": "8x H100", "model": "70B", "run": "first", "advantage_x": 2.34},
                         {"hardware": "1x L4", "model": "8B", "run": "first", "advantage_x": 1.1}])


def _live(x, lo, hi, pairs=5):
    return pd.DataFrame([{"prefix_caching": True, "speedup_x": x, "speedup_low_x": lo, "speedup_high_x": hi,
                          "pairs_count": pairs, "num_prompts": 6, "prompt_len": 4096},
                         {"prefix_caching": False, "speedup_x": 1.0, "speedup_low_x": 0.9, "speedup_high_x": 1.1,
                          "pairs_count": pairs, "num_prompts": 6, "prompt_len": 4096}])


def test_c11_is_decided_on_evidence_and_maintenance_is_a_condition():
    v = serving.c11_verdict(_tgi(), _live(10.0, 9.0, 11.0), dt.date(2025, 12, 11))
    assert v.verdict == CONDITIONAL and any("maintenance" in c for c in v.conditions)
    assert not any("second run" in c for c in v.conditions)  # vLLM's cache engages here: second runs do not count
    # the same evidence without the maintenance notice: the same verdict
    assert serving.c11_verdict(_tgi(), _live(10.0, 9.0, 11.0), None).verdict == CONDITIONAL
    assert serving.c11_verdict(_tgi(), _live(10.0, 9.0, 11.0), None, min_advantage_x=3).verdict == FAILS
    # a live cache that does not engage: the second run's 13.75x counts
    v3 = serving.c11_verdict(_tgi(), _live(1.1, 1.0, 1.2), None, min_advantage_x=3)
    assert v3.verdict == CONDITIONAL and any("second run" in c for c in v3.conditions)


def test_spread_ignores_missing_values():
    s = serving.Spread.of([1.0, None, float("nan"), 3.0])
    assert (s.mean, s.low, s.high, s.count) == (2.0, 1.0, 3.0, 2)
    assert math.isnan(serving.Spread.of([]).mean)


def test_the_stability_check_compares_recordings_under_the_protocol():
    rows = []
    for rec, on in (("r1", 2.0), ("r2", 1.0)):  # r2: prefix caching gives 6x; r1 gives 3x
        rows += [_run("prefix", "caching-off", r, 6.0, recording=rec) for r in range(5)]
        rows += [_run("prefix", "caching-on", r, on, recording=rec) for r in range(5)]
    rows += [_run("prefix", "caching-off", r, 6.0, recording="old", schema_version=1) for r in range(3)]
    rows += [_run("prefix", "caching-on", r, 0.5, recording="old", schema_version=1) for r in range(3)]
    frame = pd.DataFrame(rows)
    verdict, table, per = serving.c10_assess(frame, claim_x=5.0)
    assert set(per) == {"r1", "r2", "old"}
    stability = next(s for s in verdict.sensitivity if s.input == "recording")
    assert stability.flips  # r1 (3x) and r2 (6x) disagree about 5x
    assert "disagree" in serving.agreement_note(per, serving.baseline_recording(table))
    assert serving.protocol_recordings(table) == ["r1", "r2"]  # the schema-1 recording is shown, never the baseline
    note = serving.agreement_note(per, "r2", serving.protocol_recordings(table))
    assert "disagree" in note and "Not counted" in note and "old:" in note
    agreeing = {"r1": per["r2"], "r2": per["r2"], "old": per["old"]}
    note = serving.agreement_note(agreeing, "r2", ["r1", "r2"])
    assert note.startswith("Both recordings that meet the protocol give the same verdict") and "old:" in note


def test_tables_without_usable_runs_keep_their_columns():
    """A folder whose runs were all left out (busy, failed) gives empty tables that pages can still select from."""
    empty = serving.runs_frame([])
    assert list(serving.throughput_table(empty).columns) == list(serving.THROUGHPUT_COLUMNS)
    assert list(serving.prefix_table(empty).columns) == list(serving.PREFIX_COLUMNS)
    assert list(serving.long_prompt_table(empty).columns) == list(serving.LONG_PROMPT_COLUMNS)
    assert list(serving.engine_ratio_ci_table(empty, "vllm", "llama.cpp").columns) == list(serving.ENGINE_RATIO_COLUMNS)
    assert list(serving.stability_table({}, None).columns) == ["recording", "verdict", "used", "agrees"]


def test_run_counts_add_up_and_name_the_other_engines():
    rows = [_run("throughput", "", r, 1.0) for r in range(3)]
    rows += [_run("compare", "", r, 1.0, engine="llama.cpp") for r in range(2)]
    rows += [_run("throughput", "", 9, 1.0, status="failed"), _run("prefix", "caching-on", 8, 1.0, busy=True)]
    c = serving.run_counts(pd.DataFrame(rows), "vllm")
    assert c["runs_count"] == 7 == c["failed_count"] + c["busy_count"] + c["evidence_count"]
    assert (c["engine_evidence_count"], c["other_evidence_count"], c["other_engines"]) == (3, 2, "llama.cpp")
    assert serving.run_counts(pd.DataFrame(), "vllm")["runs_count"] == 0


def test_published_figures_keep_the_makers_apart_from_the_independent_ratios():
    from selfhost.data.tables import load_table

    ratios = serving.published_ratios(load_table("engine_benchmarks"))
    f = serving.published_figures(ratios, 1.29, 0.05)
    independent = ratios[ratios["role"] == "independent"]["ratio_x"].dropna()
    assert f["independent_ratio_max_x"] == pytest.approx(independent.max())
    assert f["independent_ratio_max_x"] < f["maker_ratio_max_x"]  # LMSYS's 3.1x is the makers' own
    assert f["maker_publishers"] == "LMSYS blog"
    verdict = serving.c09_verdict(ratios, pd.DataFrame(), 1.29, 0.05)
    makers_holding = int((ratios[ratios["role"] == "maker"]["ratio_x"] >= f["threshold_x"]).sum())
    assert f["independent_setups_holding_count"] + makers_holding == verdict.figures["setups_holding_count"]
    assert f["independent_setups_count"] + f["maker_setups_count"] == verdict.figures["setups_count"]


def test_the_maintenance_condition_quotes_the_notice_whole():
    facts = pd.DataFrame([{"engine": "tgi", "kind": "status", "since": dt.date(2025, 12, 11),
                           "item": "maintenance mode: minor fixes only; the README recommends vLLM, SGLang, llama.cpp or MLX"}])
    note = serving.maintenance_note(facts, "tgi")
    assert note == "minor fixes only; the README recommends vLLM, SGLang, llama.cpp or MLX"
    assert serving.maintenance_note(facts, "vllm") is None
    v = serving.c11_verdict(_tgi(), _live(10.0, 9.0, 11.0), dt.date(2025, 12, 11), maintenance_note=note)
    assert any(c.startswith("TGI is in maintenance mode since 2025-12-11") and "MLX" in c for c in v.conditions)
    assert "2.34x slower" in " ".join(v.conditions)  # the same two decimals as the figures


def test_the_recording_note_counts_the_workloads_own_runs():
    rows = [_run("prefix", v, r, d) for r in range(5) for v, d in (("caching-off", 6.0), ("caching-on", 1.0))]
    rows += [_run("throughput", "", r, 1.0, started_at="2026-11-26T00:00:00") for r in range(3)]
    frame = pd.DataFrame(rows).assign(cpu_busy_share_before=0.0, load_avg_1m_before=1.0, load_avg_1m=1.0)
    table = serving.prefix_table(frame)
    note = serving.recording_note(frame, table, workload="prefix")
    assert "left out of its 10 prefix runs" in note and "its prefix runs started 2026-11-27 00:00" in note
    assert "left out of its 13 runs" in serving.recording_note(frame, table)


def test_counts_in_the_agreement_note_read_as_words():
    verdict = serving.c10_verdict(pd.DataFrame(), 6.4)
    per = {k: verdict for k in ("r1", "r2", "r3")}
    assert serving.agreement_note(per, "r3").startswith("All three recordings that meet the protocol")
    assert serving.agreement_note({"r1": verdict, "r2": verdict}, "r2").startswith("Both recordings")


def test_what_would_test_a_claim_is_a_whole_sentence():
    assert serving.c10_verdict(pd.DataFrame(), 6.4).would_test.endswith(".")
    published = pd.DataFrame([{"publisher": "B", "hardware": "H100", "model": "70B", "ratio_x": 1.04}])
    assert serving.c09_verdict(published, pd.DataFrame()).would_test.endswith(".")
