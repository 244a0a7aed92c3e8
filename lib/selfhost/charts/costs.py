"""Charts for the cost pages (C02-C06): cost against volume, break-even maps, spend thresholds.

Every chart takes a DataFrame built in :mod:`selfhost.breakeven`; nothing is computed here.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR

WIDTH = 460


def cost_vs_volume_chart(table: pd.DataFrame, marks_mtok_per_day: dict[str, float]) -> alt.LayerChart:
    """Monthly cost against daily volume (log-log): self-hosting flat, each API a rising line.

    ``table`` from :func:`selfhost.breakeven.cost_vs_volume`; ``marks_mtok_per_day`` labels
    vertical rules (the article's figures).
    """
    options = list(dict.fromkeys(table["option"]))
    colours = [SELF_HOST_COLOR if o == "self-host" else c for o, c in
               zip(options, [SELF_HOST_COLOR, API_COLOR, "#7570b3", "#e7298a", "#66a61e", "#e6ab02"])]
    lines = alt.Chart(table).mark_line().encode(
        x=alt.X("mtok_per_day:Q", scale=alt.Scale(type="log"), title="volume [M tokens/day]"),
        y=alt.Y("usd_per_month:Q", scale=alt.Scale(type="log"), title="cost [USD/month]"),
        color=alt.Color("option:N", title=None, scale=alt.Scale(domain=options, range=colours)),
        tooltip=["option:N", alt.Tooltip("mtok_per_day:Q", format=",.1f"), alt.Tooltip("usd_per_month:Q", format="$,.0f")],
    )
    marks = pd.DataFrame({"mtok_per_day": list(marks_mtok_per_day.values()), "label": list(marks_mtok_per_day)})
    rules = alt.Chart(marks).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="mtok_per_day:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=3, dy=-4, color=NEUTRAL_COLOR).encode(
        x="mtok_per_day:Q", y=alt.value(10), text="label:N")
    return (lines + rules + text).properties(width=WIDTH, height=300)


def breakeven_grid_chart(grid: pd.DataFrame) -> alt.Chart:
    """Heat map of break-even volume over GPU price x blended API price (from breakeven_grid)."""
    return alt.Chart(grid).mark_rect().encode(
        x=alt.X("gpu_usd_per_hour:O", title="GPU price [USD/h]", axis=alt.Axis(format=".2f")),
        y=alt.Y("blended_usd_per_mtok:O", title="blended API price [USD/Mtok]", sort="descending",
                axis=alt.Axis(format=".2f")),
        color=alt.Color("breakeven_mtok_per_day:Q", title="break-even [M tok/day]",
                        scale=alt.Scale(type="log", scheme="viridis")),
        tooltip=[alt.Tooltip("gpu_usd_per_hour:Q", format="$.2f"), alt.Tooltip("blended_usd_per_mtok:Q", format="$.2f"),
                 alt.Tooltip("breakeven_mtok_per_day:Q", format=",.1f")],
    ).properties(width=WIDTH, height=280)


def breakeven_vs_share_chart(table: pd.DataFrame) -> alt.Chart:
    """Break-even against input share, one line per API (from breakeven_vs_share)."""
    return alt.Chart(table).mark_line().encode(
        x=alt.X("input_share:Q", title="input share of all tokens", axis=alt.Axis(format="%")),
        y=alt.Y("breakeven_mtok_per_day:Q", scale=alt.Scale(type="log"), title="break-even [M tokens/day]"),
        color=alt.Color("api:N", title=None),
        tooltip=["api:N", alt.Tooltip("input_share:Q", format=".0%"),
                 alt.Tooltip("breakeven_mtok_per_day:Q", format=",.1f")],
    ).properties(width=WIDTH, height=260)


def threshold_chart(table: pd.DataFrame) -> alt.Chart:
    """What each spend threshold buys at each API's price, against the break-even (from
    spend_threshold_table): bars for the volume, ticks for the break-even."""
    base = alt.Chart(table).encode(y=alt.Y("model:N", sort="-x", title=None))
    bars = base.mark_bar(color=API_COLOR).encode(
        x=alt.X("volume_mtok_per_day:Q", scale=alt.Scale(type="log"), title="M tokens/day (log)"),
        tooltip=["model:N", alt.Tooltip("volume_mtok_per_day:Q", format=",.1f"),
                 alt.Tooltip("breakeven_mtok_per_day:Q", format=",.1f")],
    )
    ticks = base.mark_tick(color=SELF_HOST_COLOR, thickness=3, size=16).encode(x="breakeven_mtok_per_day:Q")
    return (bars + ticks).properties(width=WIDTH - 120, height=alt.Step(16)).facet(
        row=alt.Row("tier:N", title=None)).resolve_scale(y="independent")
