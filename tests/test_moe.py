"""Tests of selfhost.moe: weights read per step, coverage, and the C12 verdict with what flips it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import moe
from selfhost.data.hardware import gpu_memory_table
from selfhost.data.models import load_model_spec, load_model_specs
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS

SCOUT = load_model_spec("llama-4-scout")


def test_a_dense_model_reads_all_its_weights_every_step():
    spec = load_model_spec("llama-3.1-8b")
    p = spec.params()
    assert moe.weights_read_per_step(spec, 1) == moe.weights_read_per_step(spec, 64) == 2 * (p.text_total - p.embedding)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 512))
def test_coverage_grows_with_the_batch_and_stays_a_share(batch):
    a = moe.coverage_at(load_model_specs(["qwen3-30b-a3b", "llama-4-scout"]), batch)
    b = moe.coverage_at(load_model_specs(["qwen3-30b-a3b", "llama-4-scout"]), batch + 1)
    assert all(0 < a[k] <= b[k] <= 1 for k in a)


def test_coverage_rows_cover_every_moe_model_and_batch():
    rows = moe.coverage_rows(load_model_specs(), moe.doubling_batches(16))
    models = {r["model"] for r in rows}
    assert "llama-3.1-8b" not in models and {"llama-4-scout", "deepseek-v3"} <= models
    assert len(rows) == len(models) * 5 * 2


def test_parts_add_up_to_the_total():
    rows = moe.parts_rows(SCOUT)
    assert sum(r["loaded_m_params"] for r in rows) == pytest.approx(SCOUT.params().total / 1e6)
    assert sum(r["active_m_params"] for r in rows) == pytest.approx(SCOUT.params().active / 1e6)


def test_c12_verdicts():
    fig = moe.trap_figures(SCOUT, 64)
    assert moe.c12_verdict(fig, 109e9, 17e9, 79.2).verdict == HOLDS
    assert moe.c12_verdict(fig, 109e9, 17e9, 400.0).verdict == CONDITIONAL
    assert moe.c12_verdict(fig, 50e9, 17e9, 79.2).verdict == FAILS
    assert moe.c12_verdict(moe.trap_figures(SCOUT, 1), 109e9, 17e9, 79.2).verdict == CONDITIONAL  # one sequence


def test_c12_assess_says_what_flips_it():
    v = moe.c12_assess(SCOUT, 109e9, 17e9, 79.22, busy_batch=64, evidence=moe.c12_evidence(SCOUT),
                       gpus_gib=moe.budgets_by_gpu(gpu_memory_table()), baseline_gpu="H100 SXM",
                       weights_gib_by_dtype=moe.weights_gib_by_dtype(SCOUT, 79.22, 4096))
    flips = {s.input: s for s in v.flips}
    assert v.verdict == HOLDS and "busy_batch_count" in flips and flips["busy_batch_count"].value < 64
    assert flips["weight_dtype"].value == "int4"  # 4-bit Scout fits one H100: a trap of cost, not of fit
    assert {e.kind for e in v.evidence} == {"data", "model", "article"}


def test_doubling_batches():
    assert moe.doubling_batches(1) == [1] and moe.doubling_batches(300)[-1] == 256


def test_models_with_the_same_share_of_experts_per_token_share_a_coverage_curve():
    specs = load_model_specs()
    shared = dict(moe.coinciding_coverage(specs))
    for fraction, names in shared.items():
        curves = {tuple(round(r["share"], 12) for r in moe.coverage_rows([s], moe.doubling_batches(64))
                        if r["what"] == "experts touched") for s in specs if s.name in names}
        assert len(curves) == 1, (fraction, names)
    note = moe.coverage_note(specs)
    assert all(name in note for names in shared.values() for name in names)


def test_smallest_busy_batch_is_where_the_coverage_reaches_the_threshold():
    scout = next(s for s in load_model_specs() if s.name == "llama-4-scout")
    n = moe.smallest_busy_batch(scout, 0.9)
    assert moe.coverage_at([scout], n)[scout.name] >= 0.9 > moe.coverage_at([scout], n - 1)[scout.name]
    assert f"**{n} sequences**" in moe.busy_batch_statement(scout, 0.9)
