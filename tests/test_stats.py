"""The bootstrap intervals and the decision rule of the live comparisons (hypothesis properties)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import stats
from selfhost.errors import ParameterError

ratios = st.lists(st.floats(min_value=0.05, max_value=50, allow_nan=False), min_size=1, max_size=12)
FAST = stats.Protocol(resamples=200)


@settings(max_examples=60, deadline=None)
@given(ratios)
def test_the_interval_holds_the_estimate(xs):
    iv = stats.ratio_interval(xs, FAST)
    assert iv.low <= iv.estimate <= iv.high
    assert min(xs) * (1 - 1e-9) <= iv.low and iv.high <= max(xs) * (1 + 1e-9)
    assert iv.count == len(xs)


@settings(max_examples=40, deadline=None)
@given(ratios, st.floats(min_value=0.1, max_value=10))
def test_scaling_every_ratio_scales_the_interval(xs, k):
    a, b = stats.ratio_interval(xs, FAST), stats.ratio_interval([x * k for x in xs], FAST)
    for u, v in ((a.estimate, b.estimate), (a.low, b.low), (a.high, b.high)):
        assert v == pytest.approx(u * k, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(ratios)
def test_the_same_data_gives_the_same_interval(xs):
    assert stats.ratio_interval(xs, FAST) == stats.ratio_interval(list(xs), FAST)


@given(st.floats(min_value=0.1, max_value=20), st.integers(2, 10))
def test_identical_pairs_give_a_zero_width_interval(x, n):
    iv = stats.ratio_interval([x] * n, FAST)
    assert iv.low == pytest.approx(x) and iv.high == pytest.approx(x)


@settings(max_examples=60, deadline=None)
@given(ratios, st.floats(min_value=0.05, max_value=50))
def test_the_rule_agrees_with_the_interval(xs, t):
    iv = stats.ratio_interval(xs, FAST)
    outcome = stats.decide(iv, t)
    assert outcome in stats.OUTCOMES
    assert (outcome == stats.REACHES) == (iv.low >= t)
    assert (outcome == stats.SHORT) == (iv.high < t)


def test_more_pairs_narrow_a_noisy_interval():
    import random

    rng = random.Random(1)
    few = [6 * math.exp(rng.gauss(0, 0.2)) for _ in range(5)]
    many = few + [6 * math.exp(rng.gauss(0, 0.2)) for _ in range(45)]
    w = lambda iv: math.log(iv.high / iv.low)  # noqa: E731
    assert w(stats.ratio_interval(many)) < w(stats.ratio_interval(few))


def test_paired_ratios_and_medians():
    assert stats.paired_ratio_interval([10, 12], [2, 2.4]).estimate == pytest.approx(5.0)
    with pytest.raises(ParameterError, match="as many values"):
        stats.paired_ratio_interval([1, 2], [1])
    assert stats.median_interval([3.0, 1.0, 2.0, float("nan")]).estimate == 2.0


def test_bad_ratios_are_refused_by_name():
    with pytest.raises(ParameterError, match="ratios"):
        stats.ratio_interval([])
    with pytest.raises(ParameterError, match="positive finite"):
        stats.ratio_interval([1.0, 0.0])
    with pytest.raises(ParameterError, match="positive finite"):
        stats.ratio_interval([float("inf")])


def test_the_protocol_is_fixed_and_checked():
    p = stats.PROTOCOL
    assert p.min_pairs >= 5 and p.level == 0.95 and 0 < p.max_busy_share <= 0.5
    assert stats.enough_pairs(p.min_pairs) and not stats.enough_pairs(p.min_pairs - 1)
    with pytest.raises(ParameterError, match="min_pairs"):
        stats.Protocol(min_pairs=1)
    assert [stats.alternate(r) for r in range(3)] == [True, False, True]
