"""What flips a verdict: each uncertain input held over its plausible range (a foundation).

A verdict is computed at one value of every input: a GPU price, an operating cost, an
engine efficiency, an input share. Each of them is uncertain. :func:`flip_point` moves one
input across its plausible range, the others fixed, and finds where the verdict changes;
:class:`Sensitivity` records the answer with the range and its source. A verdict is
*robust* when no input flips it inside its range (:func:`robust`).

The search: the verdict is evaluated on a grid from the baseline outwards to each end of
the range (``steps`` points a side, geometric when ``log``), and the first change on
either side is narrowed by bisection to ``rel_tol``. A verdict that changes and changes
back between two grid points can be missed: the grid is the resolution, and it is stated.

Pure functions; no I/O.

Examples
--------
A verdict that "holds" while a price stays below 4.0:

>>> decide = lambda price: "holds" if price < 4.0 else "does not hold"
>>> value, there = flip_point(decide, 2.5, 1.0, 6.0)
>>> round(value, 2), there
(4.0, 'does not hold')
>>> flip_point(decide, 2.5, 1.0, 3.0)
(None, None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number


@dataclass(frozen=True)
class Sensitivity:
    """One uncertain input of a verdict, its plausible range, and whether the verdict flips inside it.

    Parameters
    ----------
    input : str
        The input's name, its unit in the name (``gpu_usd_per_hour``), or a label for a
        categorical input (``recording``).
    low, high : float or str
        The plausible range (numbers), or its two ends (labels, for a categorical input).
    baseline : float or str
        The value the verdict was computed at.
    source : str
        Where the range comes from (the dated table, the calibration's spread, ...).
    value : float or str or None
        Where inside the range the verdict changes (the change nearest the baseline);
        None when it does not change anywhere in the range.
    verdict_there : str or None
        The verdict beyond ``value``.
    """

    input: str
    low: float | str
    high: float | str
    baseline: float | str
    source: str
    value: float | str | None = None
    verdict_there: str | None = None

    @property
    def flips(self) -> bool:
        """Whether the verdict changes inside the range."""
        return self.value is not None

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "range": [self.low, self.high], "baseline": self.baseline,
                "source": self.source, "flips": self.flips, "value": self.value, "verdict_there": self.verdict_there}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sensitivity:
        low, high = data["range"]
        return cls(data["input"], low, high, data["baseline"], data["source"], data.get("value"),
                   data.get("verdict_there"))

    def describe(self) -> str:
        """One phrase for the ledger: ``flips if gpu_usd_per_hour > 1.85 (range 0.86-12.29)``.

        >>> Sensitivity("gpu_usd_per_hour", 0.86, 12.29, 2.5, "data/gpu_prices.csv", 1.85, "holds").describe()
        'flips to holds if gpu_usd_per_hour < 1.85 (range 0.86 to 12.3)'
        """
        span = f"range {_num(self.low)} to {_num(self.high)}"
        if self.value is None:
            return f"robust to {self.input} ({span})"
        if isinstance(self.value, str) or isinstance(self.baseline, str):
            return f"flips to {self.verdict_there} at {self.input} = {_num(self.value)} ({span})"
        sign = "<" if float(self.value) < float(self.baseline) else ">"
        return f"flips to {self.verdict_there} if {self.input} {sign} {_num(self.value)} ({span})"


def _num(value: float | str | None) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.3g}" if abs(value) < 1e3 else f"{value:,.0f}"
    return str(value)


def _grid(start: float, end: float, steps: int, log: bool) -> list[float]:
    if log:
        a, b = math.log(start), math.log(end)
        return [math.exp(a + (b - a) * i / steps) for i in range(1, steps + 1)]
    return [start + (end - start) * i / steps for i in range(1, steps + 1)]


def flip_point(decide: Callable[[float], str], baseline: float, low: float, high: float, *, steps: int = 48,
               log: bool = False, rel_tol: float = 1e-3) -> tuple[float | None, str | None]:
    """Where inside ``[low, high]`` the verdict ``decide(value)`` first differs from ``decide(baseline)``.

    Returns ``(value, verdict there)`` for the change nearest the baseline (relative
    distance when ``log``), or ``(None, None)`` when the verdict is the same over the grid.

    Parameters
    ----------
    decide : callable
        The verdict (or any label) as a function of this one input.
    baseline : float
        The value the verdict was computed at; it need not lie inside the range.
    low, high : float
        The plausible range (``low <= high``; both > 0 when ``log``).
    steps : int
        Grid points on each side of the baseline.
    log : bool
        A geometric grid (prices, volumes) instead of an even one (shares).
    rel_tol : float
        Bisection stops when the bracket is narrower than this share of its value.
    """
    check_number("low", low)
    check_number("high", high, ge=low)
    check_int("steps", steps, ge=1)
    if log and low <= 0:
        raise ParameterError("low", low, "a number > 0 on a log grid")
    base = decide(baseline)
    candidates: list[tuple[float, float, str]] = []
    anchor = min(max(baseline, low), high)
    for end in (low, high):
        if end == anchor:
            continue
        previous = anchor
        for value in _grid(anchor, end, steps, log):
            there = decide(value)
            if there != base:
                lo, hi = previous, value
                while abs(hi - lo) > rel_tol * max(abs(lo), abs(hi), 1e-12):
                    mid = math.sqrt(lo * hi) if log and lo > 0 and hi > 0 else (lo + hi) / 2
                    if decide(mid) == base:
                        lo = mid
                    else:
                        hi = mid
                distance = abs(math.log(hi / baseline)) if log and baseline > 0 else abs(hi - baseline)
                candidates.append((distance, hi, decide(hi)))
                break
            previous = value
    if decide(anchor) != base and anchor != baseline:
        candidates.append((0.0, anchor, decide(anchor)))
    if not candidates:
        return None, None
    _, value, there = min(candidates)
    return value, there


def sensitivity(name: str, decide: Callable[[float], str], baseline: float, low: float, high: float, source: str,
                *, log: bool = False, steps: int = 48) -> Sensitivity:
    """:func:`flip_point` packed as a :class:`Sensitivity` record.

    >>> s = sensitivity("x_share", lambda v: "holds" if v > 0.5 else "does not hold", 0.7, 0.0, 1.0, "a guess")
    >>> s.flips, round(s.value, 2), s.verdict_there
    (True, 0.5, 'does not hold')
    """
    value, there = flip_point(decide, baseline, low, high, steps=steps, log=log)
    return Sensitivity(name, low, high, baseline, source, value, there)


def categorical(name: str, verdicts: Mapping[str, str], baseline: str, source: str) -> Sensitivity:
    """A categorical input (a recording session, a GPU generation): the verdict under each value.

    Flips when any value gives another verdict than ``baseline``'s; ``value`` is the
    first such value.

    >>> categorical("recording", {"session 1": "holds", "session 2": "holds"}, "session 1", "two recordings").flips
    False
    """
    if baseline not in verdicts:
        raise ParameterError("baseline", baseline, f"one of {sorted(verdicts)}")
    labels = list(verdicts)
    other = next((k for k in labels if verdicts[k] != verdicts[baseline]), None)
    return Sensitivity(name, labels[0], labels[-1], baseline, source, other, verdicts[other] if other else None)


def robust(sensitivities: Iterable[Sensitivity]) -> bool:
    """True when no input flips the verdict inside its range.

    >>> robust([Sensitivity("a", 0, 1, 0.5, "s")])
    True
    """
    return not any(s.flips for s in sensitivities)
