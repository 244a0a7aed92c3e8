"""The cost pages (break-even, cost-of-ownership, availability) run with non-default parameters,
and their glued figures match calculations made here independently of selfhost.costs."""

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.data.prices import load_api_prices

DAYS_PER_MONTH = 365.2425 / 12
NB = paths.NOTEBOOKS


@pytest.mark.slow
def test_break_even_glues_its_own_breakeven(tmp_path):
    out = tmp_path / "be.ipynb"
    params = {"gpu_usd_per_hour": 1.39, "gpu_count": 2, "api_input_usd_per_mtok": 1.25,
              "api_output_usd_per_mtok": 10.0, "input_share": 0.8, "ops_usd_per_month": 3000.0}
    pipeline.execute(NB / "break-even.ipynb", out, params)
    glued = ledger.glued(out)
    daily = 1.39 * 2 * 24 + 3000 / DAYS_PER_MONTH
    blended = 0.8 * 1.25 + 0.2 * 10.0
    assert glued["breakeven_tok_per_day"] == pytest.approx(daily / blended * 1e6, rel=1e-12)
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C02", "C03", "C04"}
    # C04's ratio range is the price ratio alone, whatever the GPU side.
    prices = [p for p in load_api_prices() if p.status == "current"]
    blend = {p.key: 0.8 * p.input_usd_per_mtok + 0.2 * p.output_usd_per_mtok for p in prices}
    frontier = [v for k, v in blend.items() if next(p for p in prices if p.key == k).tier == "frontier"]
    hosted = [v for k, v in blend.items() if "llama-3.3-70b" in k and next(p for p in prices if p.key == k).tier == "hosted-open"]
    assert verdicts["C04"].figures["ratio_max_x"] == pytest.approx(max(frontier) / min(hosted), rel=1e-5)


@pytest.mark.slow
def test_break_even_refuses_a_share_above_one(tmp_path):
    with pytest.raises(pipeline.NotebookFailed, match=r"input_share = 1.5 is invalid"):
        pipeline.execute(NB / "break-even.ipynb", tmp_path / "be.ipynb", {"input_share": 1.5})


@pytest.mark.slow
def test_cost_of_ownership_with_other_operating_cost(tmp_path):
    out = tmp_path / "tco.ipynb"
    params = {"gpu_usd_per_hour": 2.0, "engineer_fte": 1.0, "engineer_usd_per_year": 120_000.0,
              "monitoring_usd_per_month": 0.0, "frontier_threshold_usd_per_month": 20_000.0}
    pipeline.execute(NB / "cost-of-ownership.ipynb", out, params)
    glued = ledger.glued(out)
    assert glued["ops_usd_per_month"] == pytest.approx(10_000)
    assert glued["frontier_implied_ops_usd_per_month"] == pytest.approx(20_000 - 2.0 * 24 * DAYS_PER_MONTH)
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C05", "C06"}
    assert verdicts["C06"].figures["frontier_implied_over_assumed_x"] == pytest.approx(
        (20_000 - 48 * DAYS_PER_MONTH) / 10_000, rel=1e-5)


@pytest.mark.slow
def test_availability_with_other_replica_figures(tmp_path):
    out = tmp_path / "av.ipynb"
    pipeline.execute(NB / "availability.ipynb", out, {"replica_availability": 0.99, "zone_availability": 0.999,
                                                       "replica_failures_per_year": 0.0, "failover_s": 0.0})
    glued = ledger.glued(out)
    assert glued["single_replica_pct"] == pytest.approx(100 * 0.99 * 0.999)
    (verdict,) = ledger.verdicts_in(out)
    # By hand: a zone with n replicas is empty with probability 0.001 + 0.999 * 0.01**n.
    # 2 replicas in 2 zones: (0.001 + 0.999 * 0.01)**2 = 1.2e-4, over the 99.99% budget of 1e-4;
    # 3 replicas in 2 zones: (0.001 + 0.999 * 1e-4) * (0.001 + 0.999 * 0.01) = 1.2e-5, within it.
    assert (0.001 + 0.999 * 0.01) ** 2 > 1e-4 > (0.001 + 0.999 * 1e-4) * (0.001 + 0.999 * 0.01)
    assert verdict.figures["replicas_count"] == 3 and verdict.figures["zones_count"] == 2
