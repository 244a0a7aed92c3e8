import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost import breakeven as be
from selfhost.errors import ParameterError
from selfhost.prices import ApiPrice
from selfhost.units import DAYS_PER_MONTH
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS

DAY = dt.date(2026, 11, 27)


def api(key, p_in, p_out, tier="frontier", cached=None):
    provider, model = key.split("/")
    return ApiPrice(provider, model, tier, "current", p_in, p_out, cached, "https://example.org", DAY)


def test_scenario_validates_its_parameters():
    with pytest.raises(ParameterError, match="input_share"):
        be.Scenario(input_share=1.5)
    with pytest.raises(ParameterError, match="gpu_usd_per_hour"):
        be.Scenario(gpu_usd_per_hour=-2.5)
    with pytest.raises(ParameterError, match="gpu_count"):
        be.Scenario(gpu_count=0)


def test_breakeven_table_by_hand():
    t = be.breakeven_table([api("a/sonnet", 3, 15), api("b/llama", 0.9, 0.9, "hosted-open")], be.Scenario())
    assert list(t["model"]) == ["a/sonnet", "b/llama"]
    assert t["breakeven_tok_per_day"].tolist() == pytest.approx([60 / 6.6 * 1e6, 60 / 0.9 * 1e6])


def test_cached_share_ignored_where_no_cached_price():
    s = be.Scenario(cached_share=0.5)
    assert s.blended_usd_per_mtok(api("a/x", 2, 4)) == pytest.approx(0.7 * 2 + 0.3 * 4)
    assert s.blended_usd_per_mtok(api("a/y", 2, 4, cached=0.2)) == pytest.approx(0.7 * 1.1 + 0.3 * 4)


def test_near_verdict_three_ways():
    assert be.near_verdict("C02", {"a": 5e6, "b": 8e6}, 5e6, 2, "APIs").verdict == HOLDS
    assert be.near_verdict("C02", {"a": 50e6}, 5e6, 2, "APIs").verdict == FAILS
    v = be.near_verdict("C02", {"a": 5e6, "b": 50e6, "c": 1e6}, 5e6, 2, "APIs")
    assert v.verdict == CONDITIONAL and "a" in v.conditions[0]
    assert v.figures["near_count"] == 1


def test_ratio_is_price_ratio_whatever_the_gpu():
    r = be.ratio_table({"f": 6.6}, {"h": 0.66})
    assert r["ratio_x"].iloc[0] == pytest.approx(10)
    assert be.c04_verdict(r, 10, 2).verdict == HOLDS
    r2 = be.ratio_table({"f": 6.6, "g": 66}, {"h": 0.66})
    assert be.c04_verdict(r2, 10, 2).verdict == CONDITIONAL


@given(st.floats(0.1, 20), st.floats(0.1, 20), st.floats(0.05, 50), st.floats(0.05, 50))
def test_ratio_of_breakevens_does_not_depend_on_gpu_price(pf, ph, g1, g2):
    ratios = [be.Scenario(g).breakeven_tok_per_day(ph) / be.Scenario(g).breakeven_tok_per_day(pf) for g in (g1, g2)]
    assert ratios[0] == pytest.approx(ratios[1]) == pytest.approx(pf / ph)


def test_c05_holds_when_every_api_is_cheaper():
    s = be.Scenario(ops_usd_per_month=1000)
    t = be.tco_table([api("a/x", 3, 15), api("b/y", 0.5, 0.5, "hosted-open")], s, 5e6)
    assert t["api_wins"].all()
    assert be.c05_verdict(t, 5e6, 0.5, 1000).verdict == HOLDS


def test_c05_names_the_operating_cost_it_needs():
    s = be.Scenario()  # $1,826/month of GPUs, no operations
    t = be.tco_table([api("a/dear", 15, 75), api("b/cheap", 1, 1), api("c/cheap", 1, 1)], s, 5e6)
    dear = t.set_index("model").loc["a/dear"]
    assert dear["ops_needed_usd_per_month"] == pytest.approx(5e6 * 33 / 1e6 * DAYS_PER_MONTH - 60 * DAYS_PER_MONTH)
    v = be.c05_verdict(t, 5e6, 0.5, 0)
    assert v.verdict == CONDITIONAL and "a/dear" in v.conditions[0]
    assert be.c05_verdict(t, 5e6, 0.9, 0).verdict == FAILS


def test_spend_thresholds_buy_what_the_formula_says():
    t = be.spend_threshold_table([api("a/x", 3, 15)], {"frontier": 10_000}, be.Scenario())
    row = t.iloc[0]
    assert row["volume_mtok_per_day"] == pytest.approx(10_000 / DAYS_PER_MONTH / 6.6)
    assert row["volume_over_breakeven_x"] == pytest.approx(10_000 / (60 * DAYS_PER_MONTH))
    assert row["volume_tok_per_s"] == pytest.approx(row["volume_mtok_per_day"] * 1e6 / 86_400)


def test_c06_verdict_compares_implied_with_assumed_overhead():
    s = be.Scenario()
    gpus = 60 * DAYS_PER_MONTH
    both = be.c06_verdict({"frontier": 10_000, "hosted-open": 12_000}, s, 9_000, 2, {})
    assert both.verdict == HOLDS
    one = be.c06_verdict({"frontier": 10_000, "hosted-open": 50_000}, s, 10_000 - gpus, 2, {"hosted-open": 1e5})
    assert one.verdict == CONDITIONAL
    assert one.figures["hosted_open_implied_ops_usd_per_month"] == pytest.approx(50_000 - gpus)
    assert be.c06_verdict({"frontier": 10_000}, s, 100, 2, {}).verdict == FAILS
