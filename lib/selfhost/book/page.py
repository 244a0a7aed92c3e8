"""What an analysis page calls instead of carrying plumbing: set-up, tables for people, glued figures.

- :func:`setup` once at the top of a notebook: the chart theme and offline renderer.
- :func:`show_table` shows a DataFrame the way a reader needs it: headers with units from
  the glossary (:func:`selfhost.units.header`), numbers rounded to meaningful digits with
  thousands separators, shares as percentages, yes/no for booleans, a dash for a missing
  value and "never" for an infinite one, in a container that scrolls sideways rather than
  spilling out of the page.
- :func:`show_references` lists a page's sources as clickable links: the ``source``
  addresses of the data rows it used (with the dates they were read), the data files by
  path, and any other reference (a paper, an engine's file).
- :func:`glue_figures` glues every figure of a verdict, a dataclass or a mapping in one
  call, so that prose can cite them (``{glue:text}`name:,.1f```) without one ``glue`` call
  per number.

Machinery (it displays outputs); the numbers come from the formula modules.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from selfhost import units
from selfhost.charts.theme import use_book_theme
from selfhost.verdicts import Verdict

#: The CSS class of every table container (the book's stylesheet makes it scroll sideways).
TABLE_CLASS = "selfhost-table"


def setup() -> None:
    """Prepare a notebook: the book's chart theme and offline renderer."""
    use_book_theme()


def format_number(value: Any, name: str = "", digits: int = 3) -> str:
    """One cell of a table: ``value`` rounded to ``digits`` significant digits, for a column called ``name``.

    The unit is in the header, not the cell; a ``_share`` column prints as a percentage.

    >>> format_number(49_812_345.6, "breakeven_tok_per_day"), format_number(6.6049, "price_usd_per_mtok")
    ('49,812,346', '6.60')
    >>> format_number(0.8451, "input_share"), format_number(float("inf"), "breakeven_tok_per_day")
    ('84.5%', 'never')
    >>> format_number(True), format_number(None), format_number(float("nan"), "x"), format_number(7, "gpus_count")
    ('yes', '–', '–', '7')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if math.isinf(value):
        return "never" if value > 0 else "-never"
    unit = units.unit_for(name)
    if unit is not None and unit.suffix == "_share":
        return units.significant(value * 100, digits) + "%"
    if isinstance(value, int) or (unit is not None and unit.suffix == "_count"):
        return f"{value:,.0f}"
    return units.significant(value, digits)


def table_html(frame: pd.DataFrame, *, digits: int = 3, headers: Mapping[str, str] | None = None,
               caption: str | None = None) -> str:
    """The HTML of :func:`show_table` (a plain table: no index, formatted cells, unit headers)."""
    names = list(frame.columns)
    heads = [(headers or {}).get(str(c), units.header(str(c))) for c in names]
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = "".join(f"<td>{html.escape(format_number(v, str(c), digits))}</td>" for c, v in zip(names, record))
        rows.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return (f'<div class="{TABLE_CLASS}" style="overflow-x: auto; max-width: 100%;"><table class="table">{cap}'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def show_table(frame: pd.DataFrame, columns: Sequence[str] | None = None, *, digits: int = 3,
               headers: Mapping[str, str] | None = None, caption: str | None = None) -> None:
    """Display ``frame`` (or its ``columns``) as a table for people (see the module docstring).

    ``headers`` overrides the header of a column (name -> text); every other header comes
    from the glossary.
    """
    from IPython.display import HTML, display

    shown = frame if columns is None else frame[list(columns)]
    display(HTML(table_html(shown, digits=digits, headers=headers, caption=caption)))


def figures_of(source: Verdict | Mapping[str, Any] | Any) -> dict[str, Any]:
    """The named figures of a verdict, a mapping, or a dataclass instance (its fields)."""
    if isinstance(source, Verdict):
        return dict(source.figures)
    if isinstance(source, Mapping):
        return dict(source)
    if dataclasses.is_dataclass(source) and not isinstance(source, type):
        return {f.name: getattr(source, f.name) for f in dataclasses.fields(source)}
    raise TypeError(f"cannot take figures from a {type(source).__name__}")


def glue_figures(source: Verdict | Mapping[str, Any] | Any, prefix: str = "") -> dict[str, Any]:
    """Glue every figure of ``source`` under ``prefix + name`` (not displayed); return them.

    Numbers are glued as Python floats and ints (numpy scalars converted), text as text;
    nested values are skipped.
    """
    from myst_nb import glue

    out = {}
    for name, value in figures_of(source).items():
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()
        if isinstance(value, (bool, int, float, str)):
            glue(prefix + name, value, display=False)
            out[prefix + name] = value
    return out


#: The CSS class of a References list.
REFERENCES_CLASS = "selfhost-references"


def _link(address: str, text: str | None = None) -> str:
    """A clickable link for an http(s) address; a repository file's path as code."""
    if address.startswith(("https://", "http://")):
        parts = urlsplit(address)
        shown = text or (parts.netloc + parts.path).rstrip("/")
        return f'<a href="{html.escape(address, quote=True)}">{html.escape(shown)}</a>'
    return f"<code>{html.escape(address)}</code>"


def references_html(rows: Iterable[Mapping[str, Any]] | pd.DataFrame = (), *, files: Sequence[str] = (),
                    items: Sequence[tuple[str, str]] = (), notes: bool = False) -> str:
    """The HTML of :func:`show_references`.

    ``rows`` are data rows (mappings or a DataFrame) with a ``source`` address and,
    optionally, ``retrieved`` (the date it was read) and ``note``; each distinct source is
    listed once with its dates. ``files`` are data files listed by path; ``items`` are
    ``(text, address)`` pairs for any other reference.

    >>> print(references_html([{"source": "https://example.org/prices", "retrieved": "2026-11-27"}],
    ...                       files=["data/api_prices.csv"]))
    <ul class="selfhost-references">
    <li><a href="https://example.org/prices">example.org/prices</a>, read 2026-11-27</li>
    <li>data: <code>data/api_prices.csv</code> (its manifest beside it: source, licence, checksum, units)</li>
    </ul>
    """
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    by_source: dict[str, dict[str, list[str]]] = {}
    for row in records:
        source = str(row.get("source") or "").strip()
        if not source:
            continue
        entry = by_source.setdefault(source, {"dates": [], "notes": []})
        for key, value in (("dates", row.get("retrieved")), ("notes", row.get("note"))):
            text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
            if text and text not in entry[key]:
                entry[key].append(text)
    lines = [f'<ul class="{REFERENCES_CLASS}">']
    for source, entry in by_source.items():
        item = _link(source)
        if entry["dates"]:
            item += ", read " + ", ".join(html.escape(d) for d in sorted(entry["dates"]))
        if notes and entry["notes"]:
            item += " (" + "; ".join(html.escape(n) for n in entry["notes"]) + ")"
        lines.append(f"<li>{item}</li>")
    lines += [f"<li>{html.escape(text)}: {_link(address)}</li>" for text, address in items]
    lines += [f"<li>data: {_link(f)} (its manifest beside it: source, licence, checksum, units)</li>" for f in files]
    lines.append("</ul>")
    return "\n".join(lines)


def show_references(rows: Iterable[Mapping[str, Any]] | pd.DataFrame = (), *, files: Sequence[str] = (),
                    items: Sequence[tuple[str, str]] = (), notes: bool = False) -> None:
    """Display a References list with clickable source links (see :func:`references_html`).

    In a cell tagged ``remove-input`` under the page's References heading, for example
    ``page.show_references(load_rows("api_prices"), files=["data/api_prices.csv"])``.
    """
    from IPython.display import HTML, display

    display(HTML(references_html(rows, files=files, items=items, notes=notes)))
