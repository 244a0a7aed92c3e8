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


def _run(workload, variant, rep, duration, **extra):
    base = {"workload": workload, "variant": variant, "rep": rep, "status": "ok", "engine": "vllm", "hardware": "cpu",
            "duration_s": duration, "median_ttft_ms": duration * 100, "hit_share": 0.9 if variant != "caching-off" else 0.0,
            "config": "c", "prompt_len": 4096, "shared_share": 0.95, "num_prompts": 32, "prefix_caching": True,
            "output_tok_per_s": 100.0, "concurrency": 1, "started_at": f"2026-11-27T00:00:0{rep}"}
    base.update(extra)
    return base


def test_prefix_pairs_on_and_off_by_repetition():
    rows = [_run("prefix", "caching-off", r, 6.0 + r) for r in range(3)]
    rows += [_run("prefix", "caching-on", r, 2.0) for r in range(3)]
    rows.append(_run("prefix", "caching-on", 3, 1.0, status="failed"))  # no partner, and failed: ignored
    table = serving.prefix_table(pd.DataFrame(rows))
    row = table.iloc[0]
    assert row["reps"] == 3
    assert row["speedup_x"] == pytest.approx((3 + 3.5 + 4) / 3)
    assert (row["speedup_x_low"], row["speedup_x_high"]) == (pytest.approx(3.0), pytest.approx(4.0))
    assert row["bound_x"] == pytest.approx(serving.prefix_speedup_bound_x(0.95, 32, prompt_len=4096))


def test_long_prompt_pairs_first_and_repeat():
    rows = [_run("long_prompt", "first", r, 4.0) for r in range(3)] + [_run("long_prompt", "repeat", r, 0.5) for r in range(3)]
    table = serving.long_prompt_table(pd.DataFrame(rows))
    assert table.iloc[0]["speedup_x"] == pytest.approx(8.0) and table.iloc[0]["reps"] == 3


def _prefix_table(speedups):
    return pd.DataFrame([{"shared_share": s, "prompt_len": 4096, "speedup_x": x, "speedup_x_low": x * 0.9,
                          "speedup_x_high": x * 1.1} for s, x in speedups])


def test_c10_verdict_rules():
    assert serving.c10_verdict(_prefix_table([(0.99, 8.0), (0.5, 1.3)])).verdict == CONDITIONAL
    assert serving.c10_verdict(_prefix_table([(0.99, 8.0)])).verdict == HOLDS
    v = serving.c10_verdict(_prefix_table([(0.95, 3.0), (0.5, 1.3)]))
    assert v.verdict == FAILS and v.figures["max_speedup_x"] == 3.0
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

    ratios = serving.published_ratios(load_table("engine_benchmarks")).set_index("publisher")["ratio_x"]
    assert ratios["AIMultiple"] == pytest.approx(16215 / 12553)
    assert ratios["Spheron"] == pytest.approx(1920 / 1850)


def test_c08_needs_api_runs_and_the_named_hardware():
    support = {"NVIDIA GPU (CUDA)": "in tree", "Google TPU": "plugin (tpu-inference)",
               "AWS Trainium / Inferentia (Neuron)": "plugin (vllm-neuron)"}
    assert serving.c08_verdict(10, "CPU", support).verdict == CONDITIONAL
    assert serving.c08_verdict(0, "CPU", support).verdict == FAILS
    assert serving.c08_verdict(10, "CPU", {"NVIDIA GPU": "in tree"}).verdict == FAILS
    all_in_tree = {k: "in tree" for k in support}
    assert serving.c08_verdict(10, "CPU", all_in_tree).verdict == HOLDS


def test_c11_fails_for_a_project_in_maintenance():
    tgi = pd.DataFrame([{"hardware": "8x H100", "run": "second", "advantage_x": 13.75},
                        {"hardware": "8x H100", "run": "first", "advantage_x": 2.34},
                        {"hardware": "1x L4", "run": "first", "advantage_x": 1.1}])
    v = serving.c11_verdict(tgi, dt.date(2025, 12, 11), 16.0)
    assert v.verdict == FAILS and "maintenance" in v.reason
    assert serving.c11_verdict(tgi, None, 16.0).verdict == CONDITIONAL
    assert serving.c11_verdict(tgi, None, 16.0, min_advantage_x=3).verdict == FAILS


def test_spread_ignores_missing_values():
    s = serving.Spread.of([1.0, None, float("nan"), 3.0])
    assert (s.mean, s.low, s.high, s.count) == (2.0, 1.0, 3.0, 2)
    assert math.isnan(serving.Spread.of([]).mean)
