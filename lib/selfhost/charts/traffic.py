"""Charts for the traffic page: rate over time, length distributions, peak-to-mean by window.

Each takes a frame aggregated by :mod:`selfhost.traffic` (a few hundred rows: one per
minute, per length bin or per window), so the page's embedded chart data stays small.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import NEUTRAL_COLOR, PALETTE

WIDTH_PX = 560


def _trace_color(traces: list[str]) -> alt.Color:
    return alt.Color("trace:N", title=None, scale=alt.Scale(domain=traces, range=PALETTE[: len(traces)]),
                     legend=alt.Legend(orient="bottom", columns=3))


def rate_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Requests per minute as a multiple of each trace's mean, against the article's steady rate (1x).

    ``frame`` from :func:`selfhost.traffic.rate_frame`.
    """
    traces = list(dict.fromkeys(frame["trace"]))
    lines = alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("minute:Q", title="minutes from the first request"),
        y=alt.Y("rate_to_mean_x:Q", title="requests per minute / mean [x]", scale=alt.Scale(zero=True)),
        color=_trace_color(traces),
        tooltip=["trace:N", alt.Tooltip("minute:Q", format=".0f"), "requests_count:Q",
                 alt.Tooltip("rate_to_mean_x:Q", format=".2f")],
    )
    steady = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color=NEUTRAL_COLOR, strokeDash=[5, 3]).encode(y="y:Q")
    return (lines + steady).properties(width=WIDTH_PX, height=240)


#: Length-axis ticks: powers of ten, so that labels never crowd on a 260 px log axis.
LENGTH_TICKS_TOK = [1, 10, 100, 1_000, 10_000, 100_000]


def length_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Share of requests per length bin, inputs and outputs side by side (log length axis, from 1 token).

    ``frame`` from :func:`selfhost.traffic.length_frame`.
    """
    traces = list(dict.fromkeys(frame["trace"]))
    return alt.Chart(frame).mark_line(interpolate="step-after").encode(
        x=alt.X("length_tok:Q", title="tokens (log)", scale=alt.Scale(type="log", domainMin=1),
                axis=alt.Axis(values=LENGTH_TICKS_TOK, format=",d")),
        y=alt.Y("requests_share:Q", title="share of requests", axis=alt.Axis(format="%")),
        color=_trace_color(traces),
        tooltip=["trace:N", "direction:N", alt.Tooltip("length_tok:Q", title="from [tok]"),
                 alt.Tooltip("upper_tok:Q", title="below [tok]"), alt.Tooltip("requests_share:Q", format=".1%")],
    ).properties(width=260, height=200).facet(column=alt.Column("direction:N", title=None))


def peak_chart(frame: pd.DataFrame) -> alt.Chart:
    """Peak-to-mean of the request rate against the window it is counted over (log window axis).

    ``frame`` from :func:`selfhost.traffic.peak_frame` (rows of rate ``requests`` are drawn).
    """
    shown = frame[frame["rate"] == "requests"]
    traces = list(dict.fromkeys(shown["trace"]))
    return alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("window_s:Q", title="window [s] (log)", scale=alt.Scale(type="log")),
        y=alt.Y("peak_to_mean_x:Q", title="peak-to-mean [x] (log)", scale=alt.Scale(type="log", domainMin=1)),
        color=_trace_color(traces),
        tooltip=["trace:N", "window_s:Q", alt.Tooltip("peak_to_mean_x:Q", format=".2f")],
    ).properties(width=WIDTH_PX, height=220)
