"""The cost pages' analyses: capacity-sized deployments, tables and the C02-C06 verdicts with what flips them."""

import dataclasses
import math

import pytest

from selfhost import breakeven as be
from selfhost import costs
from selfhost.data.prices import load_api_prices, load_cost_ranges, load_serving_setup, load_trace_traffics
from selfhost.errors import ParameterError
from selfhost.prices import ApiPrice
from selfhost.units import DAYS_PER_MONTH, HOURS_PER_MONTH
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS


def price(key: str, p_in: float, p_out: float, tier: str = "frontier", cached: float | None = None) -> ApiPrice:
    import datetime as dt

    provider, model = key.split("/")
    return ApiPrice(provider, model, tier, "current", p_in, p_out, cached, "https://example.org",
                    dt.date(2026, 12, 2), p_in / 2, p_out / 2, dt.date(2026, 11, 1))


SONNET = price("a/sonnet", 3.0, 15.0)            # $6.60/Mtok at 70/30
CHEAP = price("h/llama", 0.6, 0.6, "hosted-open")  # $0.60/Mtok
ARTICLE = be.CostCase(None, 2.50)                # one GPU serving any volume, no operating cost


@pytest.fixture(scope="module")
def setup():
    return load_serving_setup("llama-3.3-70b", "A100 80GB")


@pytest.fixture(scope="module")
def traces():
    return load_trace_traffics()


@pytest.fixture(scope="module")
def ranges(setup, traces):
    return load_cost_ranges(setup, "a100-80gb", traces, engineer_usd_per_year=200_000, monitoring_usd_per_month=500)


def test_article_case_by_hand():
    # $2.50 x 730 h = $1,825/month; Sonnet 70/30 $6.60/Mtok x 730/24 days.
    expected = 2.5 * HOURS_PER_MONTH / (6.6 * DAYS_PER_MONTH) * 1e6
    assert ARTICLE.breakeven(SONNET).lasting_tok_per_day == pytest.approx(expected)
    assert ARTICLE.with_(api_price_x=0.5).breakeven(SONNET).lasting_tok_per_day == pytest.approx(2 * expected)
    assert ARTICLE.with_(batch=True).blended_usd_per_mtok(SONNET) == pytest.approx(3.3)


def test_cached_share_uses_the_cached_price():
    gpt = price("o/gpt", 2.0, 10.0, cached=0.1)
    case = ARTICLE.with_(input_share=0.9, cached_share=0.4)
    assert case.blended_usd_per_mtok(gpt) == pytest.approx(0.9 * (0.6 * 2.0 + 0.4 * 0.1) + 0.1 * 10)
    assert case.blended_usd_per_mtok(SONNET) == pytest.approx(0.9 * 3 + 0.1 * 15)  # no cached price: full input


def test_replica_is_sized_by_memory_then_capacity(setup):
    fit = be.replica_fit(setup, 0.7)
    assert fit.fits and fit.gpus_count == 1 and fit.weight_dtype in ("fp8", "int8", "int4")
    bf16 = be.replica_fit(dataclasses.replace(setup, weight_dtype="bf16"), 0.7)
    assert bf16.gpus_count == 2  # 140 GB of 16-bit weights need two A100s
    # a 2-GPU replica serves more than twice one GPU's tokens here: break-even adds replicas, not single GPUs
    two = be.replica_fit(dataclasses.replace(setup, weight_dtype="int8", gpus_per_replica=2), 0.7)
    one = be.replica_fit(dataclasses.replace(setup, weight_dtype="int8"), 0.7)
    assert two.capacity_tok_per_day > 2 * one.capacity_tok_per_day


def test_bad_setup_names_the_parameter(setup):
    with pytest.raises(ParameterError, match="weight_dtype"):
        dataclasses.replace(setup, weight_dtype="fp4")
    with pytest.raises(ParameterError, match="slo_ttft_ms"):
        dataclasses.replace(setup, slo_ttft_ms=0)


def test_capacity_can_make_a_cheap_api_never_break_even(setup):
    case = be.CostCase(setup, 2.50)
    cap = case.fit.capacity_tok_per_day
    # a full replica's tokens at $0.60/Mtok are worth less than the replica costs
    assert cap * 0.6 / 1e6 * DAYS_PER_MONTH < 2.5 * HOURS_PER_MONTH
    assert not case.breakeven(CHEAP).crosses
    assert case.breakeven(SONNET).crosses


def test_near_verdict_states_both_operating_costs(setup):
    v = be.near_verdict("C02", [SONNET], be.CostCase(setup, 2.50), 5e6, 2.0, "test APIs", book_ops_usd_per_month=8833)
    assert v.verdict in (HOLDS, CONDITIONAL, FAILS)
    assert "book's operating cost ($8,833/month)" in v.reason and v.figures["book_ops_usd_per_month"] == 8833
    assert v.figures["book_ops_breakeven_min_tok_per_day"] > v.figures["breakeven_min_tok_per_day"]


def test_near_outcome():
    assert be.near_outcome({"a": 5e6, "b": 7e6}, 5e6, 2) == HOLDS
    assert be.near_outcome({"a": 5e6, "b": math.inf}, 5e6, 2) == CONDITIONAL
    assert be.near_outcome({"a": 50e6}, 5e6, 2) == FAILS


def test_c04_compares_only_crossovers_that_exist(setup):
    case = be.CostCase(setup, 2.50)
    t = be.ratio_table([SONNET], [CHEAP, price("h/dear", 0.9, 0.9, "hosted-open")], case)
    assert list(t["crosses"]) == [False, True]
    v = be.c04_verdict(t, 10.0, 2.0)
    assert v.figures["crossing_pairs_count"] == 1 and "no ratio" in v.reason
    none = be.c04_verdict(be.ratio_table([SONNET], [CHEAP], case), 10.0, 2.0)
    assert none.verdict == FAILS and "no crossover ratio" in none.reason


def test_c05_at_volume_by_hand():
    case = ARTICLE.with_(ops_usd_per_month=4000)
    t = be.tco_table([SONNET], case, 5e6)
    api = 5e6 * 6.6 / 1e6 * DAYS_PER_MONTH
    assert t["api_usd_per_month"][0] == pytest.approx(api)
    assert t["selfhost_usd_per_month"][0] == pytest.approx(2.5 * HOURS_PER_MONTH + 4000)
    assert bool(t["api_wins"][0]) and t["ops_needed_usd_per_month"][0] == pytest.approx(0.0)
    assert be.c05_verdict([SONNET], case, 5e6, 0.5).verdict == HOLDS


def test_c06_counts_the_gpus_the_volume_needs(setup):
    case = be.CostCase(setup, 2.50)
    t = be.spend_threshold_table([CHEAP], {"hosted-open": 50_000}, case)
    volume = 50_000 / DAYS_PER_MONTH / 0.6 * 1e6
    assert t["volume_tok_per_day"][0] == pytest.approx(volume)
    assert t["replicas_count"][0] == math.ceil(volume / case.fit.capacity_tok_per_day * (1 - 1e-12))
    assert t["implied_ops_usd_per_month"][0] == pytest.approx(50_000 - t["replicas_count"][0] * 2.5 * HOURS_PER_MONTH)


def test_assess_gives_every_cost_verdict_its_flips(setup, ranges, traces):
    prices = [p for p in load_api_prices() if p.status == "current"]
    frontier = [p for p in prices if p.tier == "frontier"]
    hosted = [p for p in prices if p.tier == "hosted-open" and "llama-3.3-70b" in p.model]
    case = be.CostCase(setup, 2.50)
    verdicts = [
        be.assess_near("C02", frontier, case, 5e6, 2.0, "frontier", ranges, book_ops_usd_per_month=8833,
                       traffics=traces, steps=6),
        be.assess_near("C03", hosted, case, 50e6, 2.0, "hosted", ranges, traffics=traces, steps=6),
        be.assess_c04(frontier, hosted, case, 10.0, 2.0, ranges, steps=6),
        be.assess_c05(prices, case.with_(ops_usd_per_month=8833), 5e6, 0.5, ranges, traces, steps=6),
        be.assess_c06(prices, {"frontier": 10_000, "hosted-open": 50_000}, case, 8833, 2.0, ranges, steps=6),
    ]
    for v in verdicts:
        names = {s.input for s in v.sensitivity}
        assert {"ops_usd_per_month", "gpu_usd_per_hour", "input_share", "peak_to_mean_x", "cached_share",
                "api_price_x", "compute_efficiency_share", "bandwidth_efficiency_share"} <= names, v.claim_id
        assert v.robust in (True, False)
    assert any(f"{t.replace('-', '_')}_near_count" in verdicts[0].figures for t in traces)


def test_traffic_rows_show_the_peak_utilisation(setup, traces):
    rows = be.traffic_rows({"article": costs.Traffic(0, 0.7), **traces}, be.CostCase(setup, 2.5))
    assert rows["mean_utilisation_share"][0] == 1.0
    assert all(0 < u <= 1 for u in rows["mean_utilisation_share"])


def test_worked_example_is_the_formula_with_numbers():
    ex = be.worked_example(ARTICLE, 3.0, 15.0)
    assert ex["blended_usd_per_mtok"] == pytest.approx(6.6)
    assert ex["breakeven_tok_per_day"] == pytest.approx(ARTICLE.breakeven(SONNET).lasting_tok_per_day)
    assert "break-even" in be.worked_example_markdown(ex)
    # At the article's 5M tokens/day the API costs $1,004 a month, the A100 $1,825: use the API.
    assert ex["api_usd_per_month"] == pytest.approx(1003.75) and ex["answer"] == be.API
    assert "**use the API**" in be.worked_example_markdown(ex)
    assert be.worked_example(ARTICLE, 3.0, 15.0, tok_per_day=20e6)["answer"] == be.SELF_HOST
    with pytest.raises(ParameterError, match="tok_per_day"):
        be.worked_example(ARTICLE, 3.0, 15.0, tok_per_day=0.0)


def test_log_volumes_and_within():
    v = be.log_volumes(1e6, 1e9, 4)
    assert v[0] == pytest.approx(1e6) and v[-1] == pytest.approx(1e9)
    assert be.within(9e6, 5e6, 2.0) and not be.within(math.inf, 5e6, 2.0)
    with pytest.raises(ParameterError, match="tolerance_x"):
        be.within(1, 1, 0.5)


def test_c06_reason_states_the_assumption_once_and_the_figures_in_the_tables_digits(setup):
    case = be.CostCase(setup, 2.50)
    v = be.c06_verdict([SONNET, CHEAP], {"frontier": 10_000, "hosted-open": 50_000}, case, 8833, 2.0)
    assert v.reason.startswith("Against an assumed overhead of $8,833/month")
    assert ") (" not in v.reason and "with the assumed)" not in v.reason
    t = be.spend_threshold_table([SONNET, CHEAP], {"frontier": 10_000, "hosted-open": 50_000}, case)
    assert list(t["volume_mtok_per_day"]) == pytest.approx(list(t["volume_tok_per_day"] / 1e6))
    text = be.threshold_statement(t, {"frontier": 10_000, "hosted-open": 50_000})
    assert text.startswith("The frontier threshold, $10,000/month, buys") and "The hosted-open threshold" in text
    assert "$-" not in text and "$-" not in v.reason


def test_cost_chart_steps_only_for_self_hosting(setup):
    from selfhost.charts.costs import cost_vs_volume_chart

    case = be.CostCase(setup, 2.50)
    spec = cost_vs_volume_chart(be.cost_vs_volume(be.log_volumes(1e5, 1e9, 9), case, {"s": SONNET}), {}).to_dict()
    lines = [layer["mark"] for layer in spec["layer"] if layer["mark"]["type"] == "line"]
    assert [mark["interpolate"] for mark in lines] == ["step-after", "linear"]
