"""Confidence intervals and the decision rule of the live comparisons (pure; no I/O).

A live comparison here (prefix caching on against off, a repeated prompt against its first
run, one engine against another) is a set of *pairs*: the same prompts run under both
conditions, back to back, in one recording. Each pair gives a ratio (the slower run's
time over the faster one's, or a throughput over another). This module turns the ratios
into an estimate with a bootstrap confidence interval, and a threshold into one of three
answers fixed before the data is seen:

- ``"reaches"``: the whole interval is at or above the threshold;
- ``"short"``: the whole interval is below it;
- ``"inconclusive"``: the interval straddles it (more repetitions would decide).

The estimate is the geometric mean of the ratios (ratios multiply: a pair twice as fast
and one half as fast average to 1, not 1.25); the interval is the percentile bootstrap of
that geometric mean over the pairs, with a fixed seed so that the same data always gives
the same interval.

References
----------
Efron, B. and Tibshirani, R. J. (1993), *An Introduction to the Bootstrap*, Chapman & Hall,
ch. 13 (the percentile interval).
Fleming, P. J. and Wallace, J. J. (1986), "How not to lie with statistics: the correct way
to summarize benchmark results", CACM 29(3): the geometric mean of ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number

REACHES = "reaches"
SHORT = "short"
INCONCLUSIVE = "inconclusive"
OUTCOMES = (REACHES, SHORT, INCONCLUSIVE)


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval (same unit as the values) over ``count`` values."""

    estimate: float
    low: float
    high: float
    count: int
    level: float

    def outcome(self, threshold: float) -> str:
        """:data:`REACHES`, :data:`SHORT` or :data:`INCONCLUSIVE` against ``threshold``.

        >>> Interval(7.0, 6.5, 7.4, 5, 0.95).outcome(6.4), Interval(5.0, 4.1, 6.6, 5, 0.95).outcome(6.4)
        ('reaches', 'inconclusive')
        """
        return decide(self, threshold)

    def describe(self, unit: str = "x", digits: int = 2) -> str:
        """``6.91x (95% CI 6.50-7.40, 5 pairs)``.

        >>> Interval(6.912, 6.5, 7.4, 5, 0.95).describe()
        '6.91x (95% CI 6.50-7.40, 5 pairs)'
        """
        f = f"{{:.{digits}f}}"
        return (f"{f.format(self.estimate)}{unit} ({self.level:.0%} CI {f.format(self.low)}-{f.format(self.high)}, "
                f"{self.count} pairs)")


@dataclass(frozen=True)
class Protocol:
    """The measurement protocol of every live comparison, fixed before the data.

    Parameters
    ----------
    min_pairs : int
        Repetitions (pairs) a comparison needs before it is decided at all.
    level : float
        Confidence level of the intervals [1].
    resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap (the same data always gives the same interval).
    max_busy_share : float
        A run that starts while other work uses more than this share of the machine's CPU
        time (sampled for a second just before the run, while the harness's own engines are
        idle) is flagged ``busy`` and left out of the verdicts [1]. The 1-minute load average
        is recorded too, but it cannot decide: it carries the previous run's own load.
    min_requests : int
        A measured run holds at least this many requests.
    """

    min_pairs: int = 5
    level: float = 0.95
    resamples: int = 2000
    seed: int = 20261202
    max_busy_share: float = 0.25
    min_requests: int = 16

    def __post_init__(self) -> None:
        check_int("min_pairs", self.min_pairs, ge=2)
        check_number("level", self.level, gt=0.5, lt=1)
        check_int("resamples", self.resamples, ge=100)
        check_number("max_busy_share", self.max_busy_share, gt=0, le=1)
        check_int("min_requests", self.min_requests, ge=1)

    def figures(self) -> dict[str, float | int]:
        """The protocol's numbers under names a page glues.

        >>> Protocol().figures()["min_pairs_count"]
        5
        """
        return {"min_pairs_count": self.min_pairs, "level_share": self.level, "resamples_count": self.resamples,
                "max_busy_share": self.max_busy_share, "min_requests_count": self.min_requests}


#: The protocol of ``make live`` (and of the verdicts over its recordings).
PROTOCOL = Protocol()


def geometric_mean(values: Sequence[float]) -> float:
    """The geometric mean of positive values.

    >>> round(geometric_mean([2.0, 0.5]), 12), round(geometric_mean([4.0, 9.0]), 12)
    (1.0, 6.0)
    """
    xs = _positive(values, "values")
    return float(math.exp(sum(math.log(x) for x in xs) / len(xs)))


def _positive(values: Sequence[float], name: str) -> list[float]:
    xs = [float(v) for v in values]
    if not xs:
        raise ParameterError(name, values, "at least one value")
    bad = [x for x in xs if not math.isfinite(x) or x <= 0]
    if bad:
        raise ParameterError(name, bad[0], "positive finite ratios")
    return xs


def ratio_interval(ratios: Sequence[float], protocol: Protocol = PROTOCOL) -> Interval:
    """Geometric mean of ``ratios`` with its percentile-bootstrap interval.

    With one ratio the interval is that ratio alone (nothing to resample); the verdict
    rules refuse to decide on fewer than ``protocol.min_pairs`` anyway.

    >>> iv = ratio_interval([6.0, 6.5, 7.0, 6.8, 6.2])
    >>> round(iv.estimate, 3), iv.low <= iv.estimate <= iv.high, iv.count
    (6.49, True, 5)
    """
    xs = np.log(np.asarray(_positive(ratios, "ratios")))
    est = float(np.exp(xs.mean()))
    if len(xs) == 1:
        return Interval(est, est, est, 1, protocol.level)
    rng = np.random.default_rng(protocol.seed)
    idx = rng.integers(0, len(xs), size=(protocol.resamples, len(xs)))
    means = xs[idx].mean(axis=1)
    alpha = (1 - protocol.level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(est, float(min(np.exp(low), est)), float(max(np.exp(high), est)), len(xs), protocol.level)


def paired_ratio_interval(slow: Sequence[float], fast: Sequence[float], protocol: Protocol = PROTOCOL) -> Interval:
    """The interval of ``slow[i] / fast[i]`` over pairs (durations: the speedup of ``fast``).

    >>> round(paired_ratio_interval([10.0, 12.0], [2.0, 2.4]).estimate, 9)
    5.0
    """
    if len(slow) != len(fast):
        raise ParameterError("fast", len(fast), f"as many values as slow ({len(slow)})")
    return ratio_interval([s / f for s, f in zip(_positive(slow, "slow"), _positive(fast, "fast"))], protocol)


def median_interval(values: Sequence[float], protocol: Protocol = PROTOCOL) -> Interval:
    """The median of ``values`` with its percentile-bootstrap interval (same unit as the values).

    >>> median_interval([1.0, 2.0, 3.0]).estimate
    2.0
    """
    xs = np.asarray([float(v) for v in values if v is not None and math.isfinite(float(v))])
    if xs.size == 0:
        raise ParameterError("values", values, "at least one finite value")
    est = float(np.median(xs))
    if xs.size == 1:
        return Interval(est, est, est, 1, protocol.level)
    rng = np.random.default_rng(protocol.seed)
    meds = np.median(xs[rng.integers(0, xs.size, size=(protocol.resamples, xs.size))], axis=1)
    alpha = (1 - protocol.level) / 2
    low, high = np.quantile(meds, [alpha, 1 - alpha])
    return Interval(est, float(min(low, est)), float(max(high, est)), int(xs.size), protocol.level)


def decide(interval: Interval, threshold: float) -> str:
    """The rule fixed before the data: where ``interval`` lies against ``threshold``.

    >>> decide(Interval(3.0, 2.5, 3.5, 5, 0.95), 6.4)
    'short'
    """
    t = check_number("threshold", threshold)
    if interval.low >= t:
        return REACHES
    if interval.high < t:
        return SHORT
    return INCONCLUSIVE


def enough_pairs(count: int, protocol: Protocol = PROTOCOL) -> bool:
    """Whether ``count`` pairs meet the protocol's minimum.

    >>> enough_pairs(3), enough_pairs(5)
    (False, True)
    """
    return check_int("count", count, ge=0) >= protocol.min_pairs


def alternate(rep: int) -> bool:
    """Whether repetition ``rep`` runs the treated condition first (even reps) or second (odd).

    Alternating the order cancels a drift that favours whichever run comes second (a
    warmer cache, a machine that quietens) from the average of the pairs.

    >>> [alternate(r) for r in range(4)]
    [True, False, True, False]
    """
    return check_int("rep", rep, ge=0) % 2 == 0
