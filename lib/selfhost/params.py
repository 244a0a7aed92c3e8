"""Validation of notebook and CLI parameters, with messages that name the parameter.

Notebook parameters arrive from papermill as literals of any type; these checks run in
the cell after the parameters cell, so a bad value stops the notebook at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from selfhost.errors import ParameterError


def check_number(
    name: str,
    value: object,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    finite: bool = False,
) -> float:
    """Return ``value`` as a float, or raise ParameterError naming ``name`` and the range.

    Booleans and strings are refused even though Python could convert them, and NaN always;
    ``finite`` refuses the infinities too (a price or a volume; some limits are meant to be
    infinite).

    Examples
    --------
    >>> check_number("gpu_usd_per_hour", 2, ge=0)
    2.0
    >>> check_number("input_share", 1.5, ge=0, le=1)
    Traceback (most recent call last):
    ...
    selfhost.errors.ParameterError: parameter input_share = 1.5 is invalid: expected a number in [0, 1]
    """
    expected = "a number" + _range_text(ge, gt, le, lt)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, value, expected)
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)):
        raise ParameterError(name, value, ("a finite number" if finite else "a number") + _range_text(ge, gt, le, lt))
    if (
        (ge is not None and number < ge)
        or (gt is not None and number <= gt)
        or (le is not None and number > le)
        or (lt is not None and number >= lt)
    ):
        raise ParameterError(name, value, expected)
    return number


def check_int(name: str, value: object, *, ge: int | None = None, le: int | None = None) -> int:
    """Return ``value`` as an int (a whole float such as 2.0 is accepted), or raise.

    >>> check_int("gpu_count", 2.0, ge=1)
    2
    """
    expected = "a whole number" + _range_text(ge, None, le, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, value, expected)
    if isinstance(value, float) and not value.is_integer():
        raise ParameterError(name, value, expected)
    number = int(value)
    if (ge is not None and number < ge) or (le is not None and number > le):
        raise ParameterError(name, value, expected)
    return number


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool; strings such as "yes" are refused.

    >>> check_bool("regulated_data", False)
    False
    """
    if not isinstance(value, bool):
        raise ParameterError(name, value, "true or false")
    return value


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    >>> check_choice("gpu_pricing", "spot", ["spot", "on-demand"])
    'spot'
    """
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ParameterError(name, value, "one of " + ", ".join(repr(o) for o in options))
    return value


def _range_text(ge: float | None, gt: float | None, le: float | None, lt: float | None) -> str:
    lower = f"[{_fmt(ge)}" if ge is not None else f"({_fmt(gt)}" if gt is not None else None
    upper = f"{_fmt(le)}]" if le is not None else f"{_fmt(lt)})" if lt is not None else None
    if lower and upper:
        return f" in {lower}, {upper}"
    if lower:
        return f" >= {_fmt(ge)}" if ge is not None else f" > {_fmt(gt)}"
    if upper:
        return f" <= {_fmt(le)}" if le is not None else f" < {_fmt(lt)}"
    return ""


def _fmt(x: float | None) -> str:
    return f"{x:g}"
