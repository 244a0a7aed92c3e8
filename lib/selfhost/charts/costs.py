"""Charts for the cost pages (C02-C06): cost against volume, break-even per API, spend thresholds.

Every chart takes a DataFrame built in :mod:`selfhost.breakeven`; nothing is computed here
but the unit change to millions for the axes. Log axes only over values above zero: a
volume that never breaks even (``inf``) or a count of zero is left out, never drawn at 0.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, PALETTE, SELF_HOST_COLOR

WIDTH = 460


def _positive(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows whose ``column`` is finite and above zero (what a log axis can show)."""
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[[math.isfinite(v) and v > 0 for v in values]]


def _decades(low: float, high: float) -> list[float]:
    """The powers of ten that span ``low`` to ``high`` (> 0), as a log axis rounds its domain to them: tick values
    no two of whose labels run together.

    >>> _decades(0.1, 2000.0)
    [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]
    """
    return [10.0**k for k in range(math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9) + 1)]


def cost_vs_volume_chart(table: pd.DataFrame, marks_mtok_per_day: dict[str, float]) -> alt.LayerChart:
    """Monthly cost against daily volume (log-log): self-hosting steps up a replica at a time, each API a rising line.

    ``table`` from :func:`selfhost.breakeven.cost_vs_volume`; ``marks_mtok_per_day`` labels
    vertical rules (the article's figures). Only self-hosting is drawn as steps: an API's bill
    is proportional to the volume, a straight line between any two of the sampled volumes.
    """
    table = _positive(table, "usd_per_month")
    options = list(dict.fromkeys(table["option"]))
    others = iter(PALETTE[1:])
    colours = [SELF_HOST_COLOR if o == "self-host" else next(others, NEUTRAL_COLOR) for o in options]
    ticks = _decades(float(table["mtok_per_day"].min()), float(table["mtok_per_day"].max())) if len(table) else []
    encoding = dict(
        x=alt.X("mtok_per_day:Q", scale=alt.Scale(type="log"), title="volume [M tokens/day]",
                axis=alt.Axis(values=ticks, format=",~g") if ticks else alt.Axis()),
        y=alt.Y("usd_per_month:Q", scale=alt.Scale(type="log"), title="cost [USD/month]"),
        color=alt.Color("option:N", title=None, scale=alt.Scale(domain=options, range=colours),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
        tooltip=["option:N", alt.Tooltip("mtok_per_day:Q", format=",.1f"), alt.Tooltip("usd_per_month:Q", format="$,.0f")],
    )
    own = table["option"] == "self-host"
    lines = (alt.Chart(table[own]).mark_line(interpolate="step-after").encode(**encoding)
             + alt.Chart(table[~own]).mark_line(interpolate="linear").encode(**encoding))
    marks = pd.DataFrame({"mtok_per_day": list(marks_mtok_per_day.values()), "label": list(marks_mtok_per_day)})
    rules = alt.Chart(marks).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="mtok_per_day:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=3, dy=-4, color=NEUTRAL_COLOR).encode(
        x="mtok_per_day:Q", y=alt.value(10), text="label:N")
    return (lines + rules + text).properties(width=WIDTH, height=300)


def breakeven_chart(table: pd.DataFrame, article_mtok_per_day: dict[str, float]) -> alt.LayerChart:
    """Each API's break-even (log axis) under each scenario, beside the article's figures.

    ``table`` is long: ``model``, ``scenario``, ``breakeven_tok_per_day``; volumes that never
    break even are left out (the page's table lists them).
    """
    shown = _positive(table, "breakeven_tok_per_day").assign(
        breakeven_mtok_per_day=lambda t: t["breakeven_tok_per_day"] / 1e6)
    points = alt.Chart(shown).mark_point(filled=True, size=60).encode(
        y=alt.Y("model:N", sort=alt.EncodingSortField("breakeven_mtok_per_day", op="min"), title=None,
                axis=alt.Axis(labelLimit=260)),
        x=alt.X("breakeven_mtok_per_day:Q", scale=alt.Scale(type="log"), title="break-even [M tokens/day]"),
        color=alt.Color("scenario:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=320)),
        shape="scenario:N",
        tooltip=["model:N", "scenario:N", alt.Tooltip("breakeven_mtok_per_day:Q", format=",.1f")],
    )
    marks = pd.DataFrame({"mtok_per_day": list(article_mtok_per_day.values()), "label": list(article_mtok_per_day)})
    rules = alt.Chart(marks).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="mtok_per_day:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=3, dy=-6, color=NEUTRAL_COLOR).encode(
        x="mtok_per_day:Q", y=alt.value(0), text="label:N")
    return (points + rules + text).properties(width=WIDTH - 120, height=alt.Step(18))


def threshold_chart(table: pd.DataFrame) -> alt.VConcatChart:
    """What each spend threshold buys at each API's price, and the GPUs serving it takes
    (from :func:`selfhost.breakeven.spend_threshold_table`): a point per API on a log axis,
    one panel per tier (separate charts, so that no faceted scale unions different data)."""
    shown = _positive(table, "volume_tok_per_day").assign(
        volume_mtok_per_day=lambda t: t["volume_tok_per_day"] / 1e6)
    low, high = shown["volume_mtok_per_day"].min(), shown["volume_mtok_per_day"].max()
    x_scale = alt.Scale(type="log", domain=[low / 1.5, high * 3]) if len(shown) else alt.Scale(type="log")
    panels = []
    for tier in dict.fromkeys(shown["tier"]):
        part = shown[shown["tier"] == tier].sort_values("volume_mtok_per_day")
        base = alt.Chart(part, title=alt.TitleParams(str(tier), anchor="start", fontSize=12)).encode(
            y=alt.Y("model:N", sort=list(dict.fromkeys(part["model"])), title=None, axis=alt.Axis(labelLimit=240)))
        points = base.mark_point(filled=True, size=60, color=API_COLOR).encode(
            x=alt.X("volume_mtok_per_day:Q", scale=x_scale, title="what the spend buys [M tokens/day]"),
            tooltip=["model:N", alt.Tooltip("volume_mtok_per_day:Q", format=",.1f"), alt.Tooltip("gpus_count:Q"),
                     alt.Tooltip("implied_ops_usd_per_month:Q", format="$,.0f")],
        )
        labels = base.mark_text(align="left", dx=8, color=SELF_HOST_COLOR).encode(
            x="volume_mtok_per_day:Q", text=alt.Text("gpus_count:Q", format=",.0f"))
        panels.append((points + labels).properties(width=WIDTH - 160, height=alt.Step(16)))
    return alt.vconcat(*panels)
