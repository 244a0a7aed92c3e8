"""Charts for the availability page (C16)."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR


def downtime_chart(table: pd.DataFrame, budget_min_per_year: float, label: str | None = None) -> alt.LayerChart:
    """Downtime per year of each (replicas, zones) deployment against a downtime budget (log axis).

    ``table`` from :func:`selfhost.availability.downtime_chart_table`. A point per deployment
    (a bar would start at zero, which a log axis cannot show); a deployment with no
    downtime at all is left out. The budget is a dashed rule, labelled with ``label``
    (default: the budget in minutes a year).
    """
    shown = table[[math.isfinite(v) and v > 0 for v in table["downtime_min_per_year"]]]
    points = alt.Chart(shown).mark_point(filled=True, size=70).encode(
        y=alt.Y("deployment:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("downtime_min_per_year:Q", scale=alt.Scale(type="log"), title="downtime [min/year] (log)"),
        color=alt.Color("meets_target:N", title=None,
                        scale=alt.Scale(domain=["meets the target", "misses it"], range=[SELF_HOST_COLOR, API_COLOR]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["deployment:N", alt.Tooltip("availability:Q", format=".5%"),
                 alt.Tooltip("downtime_min_per_year:Q", format=",.1f")],
    )
    budget = pd.DataFrame({"b": [budget_min_per_year],
                           "t": [label or f"target: {budget_min_per_year:,.3g} min/year down at most"]})
    rule = alt.Chart(budget).mark_rule(color=NEUTRAL_COLOR, strokeDash=[5, 3]).encode(x="b:Q")
    note = alt.Chart(budget).mark_text(align="left", dx=4, dy=-6, color=NEUTRAL_COLOR).encode(
        x="b:Q", y=alt.value(0), text="t:N")
    return (points + rule + note).properties(width=380, height=alt.Step(16))
