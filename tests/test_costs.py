import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost.costs import blended_usd_per_mtok, spend_usd_per_month, tok_per_day_for_spend
from selfhost.units import DAYS_PER_MONTH

prices = st.floats(min_value=0.01, max_value=200)
shares = st.floats(min_value=0, max_value=1)


def test_blended_price_of_article_split():
    # 0.7 * 3 + 0.3 * 15, by hand.
    assert blended_usd_per_mtok(3.0, 15.0, 0.7) == pytest.approx(6.6)


def test_cached_share_uses_cached_price():
    # GPT-5: half the input cached at $0.125, the rest at $1.25; 70/30 with $10 output.
    expected = 0.7 * (0.5 * 1.25 + 0.5 * 0.125) + 0.3 * 10
    assert blended_usd_per_mtok(1.25, 10, 0.7, 0.125, 0.5) == pytest.approx(expected)


def test_cached_share_without_cached_price_is_refused():
    with pytest.raises(ValueError, match="cached_input_usd_per_mtok"):
        blended_usd_per_mtok(1.0, 2.0, 0.5, None, 0.5)


@given(prices, prices, shares)
def test_blend_lies_between_input_and_output_price(p_in, p_out, s):
    b = blended_usd_per_mtok(p_in, p_out, s)
    assert min(p_in, p_out) - 1e-9 <= b <= max(p_in, p_out) + 1e-9


@given(st.floats(min_value=1, max_value=1e7), prices)
def test_spend_and_volume_are_inverse(spend, price):
    tok = tok_per_day_for_spend(spend, price)
    assert spend_usd_per_month(tok, price) == pytest.approx(spend)


@given(st.floats(min_value=1, max_value=1e7), prices, prices)
def test_dearer_tokens_buy_fewer(spend, p1, p2):
    lo, hi = sorted((p1, p2))
    assert tok_per_day_for_spend(spend, hi) <= tok_per_day_for_spend(spend, lo)


def test_month_is_the_730_hour_billing_month():
    from selfhost.units import HOURS_PER_MONTH, MINUTES_PER_MONTH

    assert HOURS_PER_MONTH == 730.0 and DAYS_PER_MONTH == pytest.approx(730 / 24)
    assert MINUTES_PER_MONTH == pytest.approx(365.2425 * 24 * 60 / 12)  # downtime budgets: a twelfth of the year


# --- self-host cost, break-even, TCO (issue 3) ---------------------------------------------

from selfhost.costs import (  # noqa: E402
    api_usd_per_day,
    blended_price_for_breakeven_usd_per_mtok,
    breakeven_tok_per_day,
    gpus_needed,
    implied_ops_usd_per_month,
    ops_usd_per_month,
    selfhost_usd_per_day,
    tco_usd_per_month,
)
from selfhost.errors import ParameterError  # noqa: E402

gpu_prices = st.floats(min_value=0.05, max_value=50)
ops = st.floats(min_value=0, max_value=1e6)
counts = st.integers(min_value=1, max_value=64)


def test_article_scenario_by_hand():
    # $2.50/h x 24 h = $60/day; Sonnet 70/30 = $6.60/Mtok; 60 / 6.6 * 1e6.
    assert selfhost_usd_per_day(2.5) == pytest.approx(60.0)
    assert breakeven_tok_per_day(2.5, 6.6) == pytest.approx(60 / 6.6 * 1e6)
    assert blended_price_for_breakeven_usd_per_mtok(5e6, 2.5) == pytest.approx(12.0)


def test_ops_cost_is_spread_over_the_month():
    daily = selfhost_usd_per_day(2.0, 2, ops_usd_per_month=DAYS_PER_MONTH * 10)
    assert daily == pytest.approx(2.0 * 2 * 24 + 10)
    assert ops_usd_per_month(0.5, 120_000, 100, 50) == pytest.approx(5000 + 150)


@given(gpu_prices, prices, prices, counts, ops)
def test_breakeven_falls_as_api_price_rises(gpu, p1, p2, n, m):
    lo, hi = sorted((p1, p2))
    assert breakeven_tok_per_day(gpu, hi, n, m) <= breakeven_tok_per_day(gpu, lo, n, m) * (1 + 1e-12)


@given(gpu_prices, gpu_prices, prices, counts, ops)
def test_breakeven_rises_with_gpu_price(g1, g2, price, n, m):
    lo, hi = sorted((g1, g2))
    assert breakeven_tok_per_day(hi, price, n, m) >= breakeven_tok_per_day(lo, price, n, m) * (1 - 1e-12)


@given(gpu_prices, prices, counts, ops)
def test_at_breakeven_the_bills_are_equal(gpu, price, n, m):
    # Units: tok/day x USD/Mtok / 1e6 = USD/day, the same unit as the self-host cost.
    tok = breakeven_tok_per_day(gpu, price, n, m)
    assert api_usd_per_day(tok, price) == pytest.approx(selfhost_usd_per_day(gpu, n, m))
    assert spend_usd_per_month(tok, price) == pytest.approx(tco_usd_per_month(tok, gpu, n, m))


@given(gpu_prices, counts, st.floats(min_value=1, max_value=1e6))
def test_implied_ops_makes_the_threshold_a_breakeven(gpu, n, spend):
    implied = implied_ops_usd_per_month(spend, gpu, n)
    if implied >= 0:
        assert tco_usd_per_month(0, gpu, n, implied) == pytest.approx(spend)


def test_gpus_needed_is_the_capacity_hook():
    assert gpus_needed(1e9, 2) == 2  # capacity not modelled: the GPUs rented serve any volume
    assert gpus_needed(45e6, 1, 20e6) == 3
    assert gpus_needed(1e6, 2, 20e6) == 2  # never fewer than the replicas kept
    assert tco_usd_per_month(45e6, 1.0, 1, 0, 20e6) == pytest.approx(3 * 24 * DAYS_PER_MONTH)


@pytest.mark.parametrize("kwargs, name", [
    ({"gpu_usd_per_hour": -1.0}, "gpu_usd_per_hour"),
    ({"gpu_usd_per_hour": 0.0}, "gpu_usd_per_hour"),
    ({"gpu_usd_per_hour": 1.0, "gpu_count": 0}, "gpu_count"),
    ({"gpu_usd_per_hour": 1.0, "ops_usd_per_month": -5.0}, "ops_usd_per_month"),
])
def test_bad_selfhost_inputs_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        selfhost_usd_per_day(**kwargs)


def test_non_positive_api_price_is_refused():
    with pytest.raises(ParameterError, match="blended_price_usd_per_mtok"):
        breakeven_tok_per_day(2.5, 0.0)



# --- the one cost model: replicas stepped by capacity, peak provisioning ---------------------


from selfhost.costs import Deployment, Traffic, api_usd_per_month  # noqa: E402
from selfhost.units import HOURS_PER_MONTH  # noqa: E402

capacities = st.floats(min_value=1e5, max_value=1e9)
peaks = st.floats(min_value=1, max_value=5)


def test_article_scenario_as_a_deployment():
    d = Deployment(2.50, 1, None)
    assert d.replica_usd_per_month == pytest.approx(2.5 * 730)
    assert d.breakeven(6.6).first_tok_per_day == pytest.approx(2.5 * 730 / (6.6 * 730 / 24) * 1e6)
    assert d.monthly(Traffic(1e9, 0.7)).replicas_count == 1  # no capacity limit: one replica serves any volume


def test_replicas_step_with_the_peak():
    d = Deployment(2.0, 2, 100e6, ops_usd_per_month=1000)
    m = d.monthly(Traffic(60e6, 0.7, peak_to_mean_x=2.0))  # peak 120M: two replicas of 2 GPUs
    assert (m.replicas_count, m.gpus_count) == (2, 4)
    assert m.total_usd_per_month == pytest.approx(2 * 2 * 2.0 * 730 + 1000)
    assert m.utilisation_share == pytest.approx(60e6 / 200e6)
    assert d.monthly(Traffic(1, 0.7)).replicas_count == 1 and Deployment(1, 1, 1e6, min_replicas=3).replicas_for(
        Traffic(1, 0.7)) == 3


def test_a_replica_that_serves_nothing_is_refused():
    with pytest.raises(ParameterError, match="replica_capacity_tok_per_day"):
        Deployment(2.0, 1, 0.0).replicas_for(Traffic(1e6, 0.7))
    assert not Deployment(2.0, 1, 0.0).breakeven(5.0).crosses


def _selfhost_wins(d: Deployment, v: float, price: float, peak: float) -> bool:
    return d.monthly(Traffic(v, 0.5, peak)).total_usd_per_month <= api_usd_per_month(Traffic(v, 0.5), price) * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.5, max_value=5), capacities, st.floats(min_value=0.2, max_value=20),
       st.floats(min_value=0, max_value=20_000), peaks, st.integers(min_value=1, max_value=3))
def test_breakevens_are_where_self_hosting_starts_and_stays_cheaper(gpu, cap, price, ops, peak, replicas):
    """The first break-even: self-hosting wins there and not just below. The lasting one: it wins there, at
    every step boundary above (where an added replica costs most) and not just below (unless it is the first)."""
    d = Deployment(gpu, 1, cap, ops, replicas)
    b = d.breakeven(price, peak)
    per_replica = cap / peak
    if not b.crosses:
        # a replica's tokens are worth less than it costs: the API wins far out, at any step boundary
        far = [(k * per_replica) * (1 + 1e-9) for k in range(replicas + 5, replicas + 50, 7)]
        assert not all(_selfhost_wins(d, v, price, peak) for v in far)
        return
    first, lasting = b.first_tok_per_day, b.lasting_tok_per_day
    assert _selfhost_wins(d, first, price, peak) and _selfhost_wins(d, lasting, price, peak)
    assert not _selfhost_wins(d, first * (1 - 1e-6), price, peak)
    if lasting > first * (1 + 1e-9):
        assert not _selfhost_wins(d, lasting * (1 - 1e-6), price, peak)
    k0 = int(lasting / per_replica)
    for k in range(k0, k0 + 6):
        v = max(lasting, k * per_replica * (1 + 1e-9))
        assert _selfhost_wins(d, v, price, peak), (k, v)


@given(st.floats(min_value=0.5, max_value=5), capacities, st.floats(min_value=0.2, max_value=20), peaks, peaks)
def test_a_higher_peak_never_lowers_the_breakeven(gpu, cap, price, k1, k2):
    lo, hi = sorted((k1, k2))
    d = Deployment(gpu, 1, cap)
    assert d.breakeven(price, hi).lasting_tok_per_day >= d.breakeven(price, lo).lasting_tok_per_day * (1 - 1e-9)


@given(st.floats(min_value=0.5, max_value=5), st.floats(min_value=0.2, max_value=20), st.floats(min_value=0, max_value=1e4))
def test_without_capacity_both_breakevens_are_the_article_formula(gpu, price, ops):
    b = Deployment(gpu, 1, None, ops).breakeven(price)
    expected = (gpu * HOURS_PER_MONTH + ops) / (price * DAYS_PER_MONTH) * 1e6
    assert b.first_tok_per_day == pytest.approx(expected) and b.lasting_tok_per_day == pytest.approx(expected)
    assert b.first_tok_per_day == pytest.approx(breakeven_tok_per_day(gpu, price, 1, ops))


def test_traffic_checks_its_inputs():
    for kwargs, name in (({"peak_to_mean_x": 0.5}, "peak_to_mean_x"), ({"cached_share": 1.5}, "cached_share"),
                         ({"input_share": -0.1}, "input_share")):
        with pytest.raises(ParameterError, match=name):
            Traffic(1e6, **{"input_share": 0.7, **kwargs})
