"""Charts for the availability page (C16)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR


def downtime_chart(table: pd.DataFrame, budget_min_per_year: float) -> alt.LayerChart:
    """Downtime per year of each (replicas, zones) deployment against a downtime budget.

    ``table`` from :func:`selfhost.availability.downtime_chart_table`.
    """
    bars = alt.Chart(table).mark_bar().encode(
        y=alt.Y("deployment:N", sort=None, title=None),
        x=alt.X("downtime_min_per_year:Q", scale=alt.Scale(type="log"), title="downtime [min/year] (log)"),
        color=alt.Color("meets_target:N", title="meets the target",
                        scale=alt.Scale(domain=[True, False], range=[SELF_HOST_COLOR, API_COLOR])),
        tooltip=["deployment:N", alt.Tooltip("availability:Q", format=".5%"),
                 alt.Tooltip("downtime_min_per_year:Q", format=",.1f")],
    )
    rule = alt.Chart(pd.DataFrame({"b": [budget_min_per_year]})).mark_rule(
        color=NEUTRAL_COLOR, strokeDash=[5, 3]).encode(x="b:Q")
    return (bars + rule).properties(width=380, height=alt.Step(16))
