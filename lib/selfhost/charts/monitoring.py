"""Charts for the monitoring page (C14), drawn from the tables :mod:`selfhost.monitoring` builds."""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost import alertrules as ar
from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, PALETTE, SELF_HOST_COLOR
from selfhost.monitoring import Timeline

WIDTH = 480
#: The panels of the signals chart: (series, axis title, colour).
PANELS = (
    (ar.WAITING, "requests waiting", API_COLOR),
    (ar.TTFT_QUANTILE, "TTFT quantile [s]", PALETTE[2]),
    (ar.HTTP_2XX_RATE, "HTTP 2xx answers / s", SELF_HOST_COLOR),
    (ar.FINISHED_RATE, "requests finished / s", PALETTE[4]),
    (ar.KV_USAGE, "KV cache in use", PALETTE[3]),
)


def _marks(timeline: Timeline, alerts: pd.DataFrame) -> pd.DataFrame:
    """Vertical markers, in seconds since the overload began: phases and first firings."""
    start = timeline.overload_started_s
    rows = [{"t_overload_s": 0.0, "what": "overload begins"},
            {"t_overload_s": timeline.overload_sending_ended_s - start, "what": "overload stops sending"}]
    fired = alerts.dropna(subset=["firing_after_s"])
    rows += [{"t_overload_s": float(t), "what": "first alert fires"} for t in fired["firing_after_s"].head(1)]
    return pd.DataFrame(rows)


def signals_chart(series: pd.DataFrame, timeline: Timeline, alerts: pd.DataFrame,
                  ttft_slo_s: float) -> alt.VConcatChart:
    """The signals over time (:func:`selfhost.monitoring.series_frame`), one panel each, with the
    overload's start and end and the first alert marked; the TTFT panel shows the target as a
    dashed line."""
    marks = _marks(timeline, alerts)
    series = series.rename(columns={"t_after_s": "t_overload_s"})
    rule_color = alt.Color("what:N", title=None, scale=alt.Scale(
        domain=["overload begins", "overload stops sending", "first alert fires"],
        range=[NEUTRAL_COLOR, "#bbbbbb", PALETTE[6]]), legend=alt.Legend(orient="bottom"))
    domain = [float(series["t_overload_s"].min()), float(series["t_overload_s"].max())]
    x_scale = alt.Scale(domain=domain, nice=False)
    x = alt.X("t_overload_s:Q", title="seconds since the overload began", scale=x_scale)
    panels = []
    for i, (name, title, color) in enumerate(PANELS):
        data = series[series["series"] == name].dropna(subset=["value"])
        axis = alt.Axis(format="%") if name == ar.KV_USAGE else alt.Axis()
        line = alt.Chart(data).mark_line(color=color).encode(
            x=x if i == len(PANELS) - 1 else alt.X("t_overload_s:Q", title=None, scale=x_scale),
            y=alt.Y("value:Q", title=title, axis=axis),
            tooltip=[alt.Tooltip("t_overload_s:Q", format=".0f", title="s since overload"),
                     alt.Tooltip("value:Q", format=",.2f", title=title)])
        rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3]).encode(
            x=alt.X("t_overload_s:Q", scale=x_scale), color=rule_color)
        layer = rules + line
        if name == ar.TTFT_QUANTILE:
            slo = pd.DataFrame({"slo_s": [ttft_slo_s]})
            layer = layer + alt.Chart(slo).mark_rule(color=API_COLOR, strokeDash=[2, 2]).encode(y="slo_s:Q")
        panels.append(layer.properties(width=WIDTH, height=90))
    return alt.vconcat(*panels, spacing=6).resolve_scale(color="shared", x="shared").properties(
        title="The overload as Prometheus saw it")


def alert_timeline_chart(alerts: pd.DataFrame) -> alt.LayerChart:
    """Each alert of ``alerts``: pending (light) then firing (dark), in seconds since the overload began.

    Every alert has a row, in the table's order; one that never went pending has no bar.
    """
    rows = []
    for r in alerts.itertuples():
        end = r.resolved_after_s
        if pd.notna(r.pending_after_s):
            stop = r.pending_ended_after_s if pd.notna(r.pending_ended_after_s) else None
            rows.append({"alert": r.alertname, "signal": r.signal, "state": "pending", "from_s": r.pending_after_s,
                         "to_s": stop})
        if pd.notna(r.firing_after_s):
            rows.append({"alert": r.alertname, "signal": r.signal, "state": "firing", "from_s": r.firing_after_s,
                         "to_s": end if pd.notna(end) else None})
    data = pd.DataFrame(rows, columns=["alert", "signal", "state", "from_s", "to_s"])
    horizon = float(pd.concat([data["from_s"], data["to_s"]]).max()) if not data.empty else 0.0
    data["to_s"] = data["to_s"].fillna(horizon + 5)  # still active when the run ended
    order = list(alerts["alertname"])
    bars = alt.Chart(data).mark_bar(height=12).encode(
        x=alt.X("from_s:Q", title="seconds since the overload began"), x2="to_s:Q",
        y=alt.Y("alert:N", sort=order, title=None, scale=alt.Scale(domain=order)),  # the silent ones too
        color=alt.Color("state:N", title=None, scale=alt.Scale(domain=["pending", "firing"],
                                                                range=["#f4c9a8", API_COLOR]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["alert:N", "signal:N", "state:N", alt.Tooltip("from_s:Q", format=".0f"),
                 alt.Tooltip("to_s:Q", format=".0f")])
    zero = alt.Chart(pd.DataFrame({"t": [0.0]})).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="t:Q")
    return (zero + bars).properties(width=WIDTH, height=alt.Step(18),
                                    title="Alert timeline (every alert of the rules file; one that stayed silent has no bar)")
