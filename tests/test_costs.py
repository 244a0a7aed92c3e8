import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost.costs import DAYS_PER_MONTH, blended_usd_per_mtok, spend_usd_per_month, tok_per_day_for_spend

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
