"""Units by name suffix (style rule 3), and how a quantity is printed in the book.

A quantity's unit is in its name: ``breakeven_tok_per_day``, ``gpu_usd_per_hour``,
``weights_gib``. :func:`format_quantity` prints a value with the unit its name carries,
so that tables and the claims ledger never show a bare number.
"""

from __future__ import annotations

#: Name suffix -> (unit label, scale, format). Longest suffixes are matched first.
SUFFIXES: dict[str, tuple[str, str]] = {
    "_usd_per_mtok": ("USD/Mtok", "${:,.2f}/Mtok"),
    "_usd_per_hour": ("USD/h", "${:,.2f}/h"),
    "_usd_per_month": ("USD/month", "${:,.0f}/month"),
    "_usd_per_day": ("USD/day", "${:,.0f}/day"),
    "_usd_per_year": ("USD/year", "${:,.0f}/year"),
    "_usd": ("USD", "${:,.0f}"),
    "_mtok_per_day": ("Mtok/day", "{:,.1f}M tok/day"),
    "_tok_per_day": ("tok/day", "{:,.0f} tok/day"),
    "_tok_per_s": ("tok/s", "{:,.0f} tok/s"),
    "_req_per_s": ("req/s", "{:,.1f} req/s"),
    "_tok": ("tok", "{:,.0f} tok"),
    "_gib": ("GiB", "{:,.1f} GiB"),
    "_gb": ("GB", "{:,.1f} GB"),
    "_min_per_year": ("min/year", "{:,.1f} min/year"),
    "_min_per_month": ("min/month", "{:,.1f} min/month"),
    "_ms": ("ms", "{:,.0f} ms"),
    "_s": ("s", "{:,.1f} s"),
    "_x": ("x", "{:,.2f}x"),
    "_pct": ("%", "{:,.1f}%"),
    "_share": ("1", "{:.0%}"),
    "_count": ("1", "{:,.0f}"),
}


def unit_of(name: str) -> str | None:
    """The unit a quantity's name carries, or None.

    >>> unit_of("breakeven_tok_per_day")
    'tok/day'
    """
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix][0]
    return None


def format_quantity(name: str, value: object) -> str:
    """Print ``value`` with the unit that ``name`` carries.

    >>> format_quantity("gate_tok_per_day", 49_812_345.6)
    '49,812,346 tok/day'
    >>> format_quantity("spend_gate_usd_per_month", 10000)
    '$10,000/month'
    >>> format_quantity("label", "A100")
    'A100'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix][1].format(value)
    return f"{value:,.4g}"
