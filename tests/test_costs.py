import pytest
from hypothesis import given
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


def test_month_is_gregorian_average():
    assert DAYS_PER_MONTH == pytest.approx(30.436875)


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
