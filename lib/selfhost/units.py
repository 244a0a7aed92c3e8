"""One glossary of units, and the constants every module shares (a foundation: no imports).

A quantity's unit is in its name (style rule 3): ``breakeven_tok_per_day``,
``gpu_usd_per_hour``, ``weights_gib``. :data:`GLOSSARY` lists every unit suffix the
project uses, once: the label a table header shows, how a value is printed, and what
the unit means. Names, the manifests' column schemas (:func:`suffix_for_label`), table
headers (:func:`header`) and the ledger's figures (:func:`format_quantity`) all read it.

Three suffixes for dimensionless numbers, never mixed up:

- ``_share``: a fraction of a whole, in [0, 1] (``input_share``, ``hit_share``);
- ``_x``: a ratio of two like quantities, a factor (``speedup_x``, ``peak_to_mean_x``);
- ``_count``: a whole number of things (``gpus_count``).

Examples
--------
>>> header("breakeven_mtok_per_day")
'breakeven [Mtok/day]'
>>> format_quantity("gpu_usd_per_hour", 2.5)
'$2.50/h'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from selfhost.errors import ParameterError

# ---------------------------------------------------------------------- constants
#: Seconds in a day [s/day].
SECONDS_PER_DAY = 86_400.0
#: Hours in a day [h/day]: rented GPUs are paid for around the clock.
HOURS_PER_DAY = 24.0
#: Days in an average Gregorian year [day/year].
DAYS_PER_YEAR = 365.2425
#: Months in a year [month/year].
MONTHS_PER_YEAR = 12
#: Hours in a billing month [h/month]: 730, the month AWS, Azure and GCP bill a monthly price by
#: (365 days x 24 h / 12 = 730). Every cost in ``_usd_per_month`` is 730 hours of it.
HOURS_PER_MONTH = 730.0
#: Days in a billing month [day/month]: 730 / 24 = 30.42.
DAYS_PER_MONTH = HOURS_PER_MONTH / HOURS_PER_DAY
#: Minutes in an average year [min/year] and in a twelfth of it [min/month]: downtime budgets
#: (an SLA's month) follow the calendar year, 365.2425 days / 12 = 43,829 minutes, not the
#: 730-hour billing month (43,800 minutes).
MINUTES_PER_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY * 60
MINUTES_PER_MONTH = MINUTES_PER_YEAR / MONTHS_PER_YEAR
#: Seconds in an average year [s/year].
SECONDS_PER_YEAR = MINUTES_PER_YEAR * 60
#: Tokens in one million tokens [tok/Mtok].
TOK_PER_MTOK = 1_000_000
#: Bytes in a GiB (2^30) and in a GB (10^9): engine logs say "GB" and mean GiB; datasheets
#: say GB and mean 10^9. Convert once, at the edge, by name.
GIB = 2**30
GB = 10**9
MIB = 2**20


# ---------------------------------------------------------------------- the glossary
@dataclass(frozen=True)
class Unit:
    """One unit: the name suffix that carries it, its label, how values print, what it means."""

    suffix: str
    label: str
    fmt: str
    meaning: str


#: Every unit suffix the project uses. Longest suffixes are matched first.
GLOSSARY: tuple[Unit, ...] = (
    Unit("_usd_per_mtok", "USD/Mtok", "${:,.2f}/Mtok", "US dollars per million tokens"),
    Unit("_usd_per_hour", "USD/h", "${:,.2f}/h", "US dollars per hour"),
    Unit("_usd_per_month", "USD/month", "${:,.0f}/month", "US dollars per billing month (730 hours)"),
    Unit("_usd_per_day", "USD/day", "${:,.0f}/day", "US dollars per day"),
    Unit("_usd_per_year", "USD/year", "${:,.0f}/year", "US dollars per year"),
    Unit("_usd", "USD", "${:,.0f}", "US dollars"),
    Unit("_mtok_per_day", "Mtok/day", "{:,.1f}M tok/day", "millions of tokens per day"),
    Unit("_tok_per_day", "tok/day", "{:,.0f} tok/day", "tokens per day"),
    Unit("_tok_per_s", "tok/s", "{:,.0f} tok/s", "tokens per second"),
    Unit("_req_per_s", "req/s", "{:,.1f} req/s", "requests per second"),
    Unit("_tok", "tok", "{:,.0f} tok", "tokens"),
    Unit("_mtok", "Mtok", "{:,.1f} Mtok", "millions of tokens"),
    Unit("_params", "params", "{:,.0f}", "parameters (weights)"),
    Unit("_b_params", "B params", "{:,.1f}B", "billions of parameters"),
    Unit("_m_params", "M params", "{:,.1f}M", "millions of parameters"),
    Unit("_tib", "TiB", "{:,.2f} TiB", "2^40 bytes"),
    Unit("_gib", "GiB", "{:,.1f} GiB", "2^30 bytes (what CUDA and engine logs report)"),
    Unit("_mib", "MiB", "{:,.0f} MiB", "2^20 bytes (what nvidia-smi reports)"),
    Unit("_gb", "GB", "{:,.1f} GB", "10^9 bytes (what datasheets say)"),
    Unit("_bytes", "B", "{:,.0f} B", "bytes"),
    Unit("_tb_per_s", "TB/s", "{:,.2f} TB/s", "10^12 bytes per second"),
    Unit("_gb_per_s", "GB/s", "{:,.0f} GB/s", "10^9 bytes per second"),
    Unit("_tflop_per_s", "TFLOP/s", "{:,.0f} TFLOP/s", "10^12 floating-point operations per second"),
    Unit("_flop", "FLOP", "{:,.3g} FLOP", "floating-point operations"),
    Unit("_min_per_year", "min/year", "{:,.1f} min/year", "minutes per year"),
    Unit("_min_per_month", "min/month", "{:,.1f} min/month", "minutes per month"),
    Unit("_ms", "ms", "{:,.0f} ms", "milliseconds"),
    Unit("_s", "s", "{:,.1f} s", "seconds"),
    Unit("_h", "h", "{:,.1f} h", "hours"),
    Unit("_x", "x", "{:,.2f}x", "a ratio of two like quantities (a factor)"),
    Unit("_pct", "%", "{:,.1f}%", "percent"),
    Unit("_share", "share", "{:.0%}", "a fraction of a whole, in [0, 1], printed as a percentage"),
    Unit("_count", "count", "{:,.0f}", "a whole number of things"),
)
_BY_LENGTH = sorted(GLOSSARY, key=lambda u: len(u.suffix), reverse=True)
#: Manifest unit labels -> suffix (the manifests' ``unit:`` key uses the labels).
#: ``1`` marks a dimensionless column whose name needs no suffix (a year, a batch size).
LABELS: dict[str, str] = {u.label: u.suffix for u in GLOSSARY} | {"1": ""}


def unit_for(name: str) -> Unit | None:
    """The glossary entry whose suffix ends ``name`` (the longest that matches), or None.

    >>> unit_for("gate_mtok_per_day").label
    'Mtok/day'
    >>> unit_for("model") is None
    True
    """
    for unit in _BY_LENGTH:
        if name.endswith(unit.suffix):
            return unit
    return None


def unit_of(name: str) -> str | None:
    """The unit label a quantity's name carries, or None.

    >>> unit_of("breakeven_tok_per_day")
    'tok/day'
    """
    unit = unit_for(name)
    return unit.label if unit else None


def suffix_for_label(label: str) -> str | None:
    """The name suffix a manifest's unit label demands (``"GiB"`` -> ``"_gib"``), or None if unknown.

    >>> suffix_for_label("USD/h")
    '_usd_per_hour'
    """
    return LABELS.get(label)


def bare_name(name: str) -> str:
    """``name`` without its unit suffix, words spaced: ``breakeven_mtok_per_day`` -> ``breakeven``.

    >>> bare_name("ttft_p99_ms"), bare_name("model")
    ('ttft p99', 'model')
    """
    unit = unit_for(name)
    stem = name[: -len(unit.suffix)] if unit and len(name) > len(unit.suffix) else name
    return stem.replace("_", " ").strip()


def header(name: str) -> str:
    """A table header for a column: its bare name and, in brackets, its unit.

    >>> header("gpu_usd_per_hour"), header("gpus_count"), header("provider")
    ('gpu [USD/h]', 'gpus', 'provider')
    """
    unit = unit_for(name)
    if unit is None or unit.suffix == "_count":
        return bare_name(name)
    return f"{bare_name(name)} [{unit.label}]"


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits with thousands separators: how the book's tables print a number
    (:func:`selfhost.book.page.format_number`), and so how prose and verdicts print the same figure.

    >>> significant(3.7357), significant(298.88), significant(18.67995), significant(1494.396)
    ('3.74', '299', '18.7', '1,494')
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:,.0f}" if value == 0 else str(value)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


#: Counts below ten, as a sentence writes them (:func:`counted` with ``words=True``).
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def counted(n: int, noun: str, plural: str | None = None, *, words: bool = False) -> str:
    """A count and its noun in the right number: ``1 GPU``, ``3 replicas``; with ``words``, counts below ten in words.

    Parameters
    ----------
    n : int
        How many [1], at least 0.
    noun : str
        The noun in the singular ("GPU", "pair").
    plural : str, optional
        Its plural, when it is not ``noun + "s"``.
    words : bool
        Write counts below ten in words, as prose does ("two recordings"); figures keep digits.

    Examples
    --------
    >>> counted(1, "GPU"), counted(3, "replica"), counted(0, "GPU"), counted(1031, "answer")
    ('1 GPU', '3 replicas', '0 GPUs', '1,031 answers')
    >>> counted(1, "pair", words=True), counted(0, "run", words=True), counted(3, "copy", "copies", words=True)
    ('one pair', 'no runs', 'three copies')
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ParameterError("count", n, "a whole number >= 0")
    number = NUMBER_WORDS[n] if words and n < len(NUMBER_WORDS) else f"{n:,}"
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def and_list(items: Sequence[str]) -> str:
    """Items as a sentence lists them: ``a``, ``a and b``, ``a, b and c``.

    >>> and_list(["5M"]), and_list(["5M", "50M"]), and_list(["x", "y", "z"])
    ('5M', '5M and 50M', 'x, y and z')
    """
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def format_quantity(name: str, value: object) -> str:
    """Print ``value`` with the unit that ``name`` carries.

    Booleans print as yes/no, infinities as "never" (a break-even that no volume reaches)
    and missing numbers as a dash.

    >>> format_quantity("gate_tok_per_day", 49_812_345.6)
    '49,812,346 tok/day'
    >>> format_quantity("spend_gate_usd_per_month", 10000)
    '$10,000/month'
    >>> format_quantity("implied_ops_usd_per_month", -19200)
    '-$19,200/month'
    >>> format_quantity("label", "A100"), format_quantity("fits", True)
    ('A100', 'yes')
    >>> format_quantity("breakeven_tok_per_day", float("inf"))
    'never'
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "–"
    if not isinstance(value, (int, float)):
        return str(value)
    if value != value:  # NaN
        return "–"
    if value in (float("inf"), float("-inf")):
        return "never" if value > 0 else "-never"
    unit = unit_for(name)
    if unit and unit.fmt.startswith("$") and value < 0:  # the sign before the symbol: -$19,200, not $-19,200
        return "-" + unit.fmt.format(-value)
    return unit.fmt.format(value) if unit else f"{value:,.4g}"
