"""Charts of the "Your deployment" page: monthly cost against volume, self-host against the APIs.

The table comes from :func:`selfhost.plan.cost_curve`; nothing is computed here.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import NEUTRAL_COLOR, PALETTE

WIDTH = 460


def cost_chart(rows: list[dict], volume_mtok_per_day: float) -> alt.LayerChart:
    """Monthly cost against mean volume (log-log), with a rule at the profile's volume."""
    table = pd.DataFrame(rows)
    lines = alt.Chart(table).mark_line(interpolate="step-after").encode(
        x=alt.X("mtok_per_day:Q", scale=alt.Scale(type="log"), title="mean volume [M tokens/day]"),
        y=alt.Y("usd_per_month:Q", scale=alt.Scale(type="log"), title="cost [USD/month]"),
        color=alt.Color("option:N", title=None, scale=alt.Scale(range=PALETTE),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
        tooltip=["option:N", alt.Tooltip("mtok_per_day:Q", format=",.1f"), alt.Tooltip("usd_per_month:Q", format="$,.0f")],
    )
    mark = pd.DataFrame({"mtok_per_day": [volume_mtok_per_day], "label": ["your traffic"]})
    rule = alt.Chart(mark).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="mtok_per_day:Q")
    text = alt.Chart(mark).mark_text(align="left", dx=3, dy=-4, color=NEUTRAL_COLOR).encode(
        x="mtok_per_day:Q", y=alt.value(10), text="label:N")
    return (lines + rule + text).properties(width=WIDTH, height=300)
