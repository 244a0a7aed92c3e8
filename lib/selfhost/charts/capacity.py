"""Charts for the capacity (C07) and TTFT (C15) pages, from frames aggregated in :mod:`selfhost.capacity`."""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR

WIDTH = 460


def measured_vs_predicted_chart(table: pd.DataFrame, x: str, x_title: str, measured: str, predicted: str,
                                y_title: str, log_x: bool = True) -> alt.Chart:
    """Measured (points) and predicted (line) against ``x``, from one of the CPU tables."""
    long = pd.concat([
        table[[x, measured]].rename(columns={measured: "value"}).assign(series="measured (vLLM CPU)"),
        table[[x, predicted]].rename(columns={predicted: "value"}).assign(series="roofline, this machine's limits"),
    ])
    scale = alt.Scale(type="log") if log_x else alt.Scale()
    base = alt.Chart(long).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=scale),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title=None, scale=alt.Scale(range=[API_COLOR, SELF_HOST_COLOR])),
        tooltip=[f"{x}:Q", "series:N", alt.Tooltip("value:Q", format=",.1f")],
    )
    return (base.mark_line(point=True)).properties(width=WIDTH, height=260)


def latency_throughput_chart(frame: pd.DataFrame, volumes_tok_per_day: dict[str, float],
                             slo_tpot_ms: float) -> alt.LayerChart:
    """Tokens/day against TPOT as the batch grows, one line per deployment, volumes as rules.

    ``frame`` columns: ``deployment``, ``batch``, ``tpot_ms``, ``ttft_ms``, ``mtok_per_day``;
    ``volumes_tok_per_day`` label -> volume [tok/day].
    """
    volumes_mtok_per_day = {k: v / 1e6 for k, v in volumes_tok_per_day.items()}
    lines = alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("tpot_ms:Q", title="time per output token [ms]", scale=alt.Scale(type="log")),
        y=alt.Y("mtok_per_day:Q", title="capacity [M tokens/day]", scale=alt.Scale(type="log")),
        color=alt.Color("deployment:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=300)),
        tooltip=["deployment:N", "batch:Q", alt.Tooltip("tpot_ms:Q", format=",.1f"),
                 alt.Tooltip("ttft_ms:Q", format=",.0f"), alt.Tooltip("mtok_per_day:Q", format=",.1f")],
    )
    marks = pd.DataFrame({"mtok_per_day": list(volumes_mtok_per_day.values()), "label": list(volumes_mtok_per_day)})
    rules = alt.Chart(marks).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(y="mtok_per_day:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=3, dy=-5, color=NEUTRAL_COLOR).encode(
        y="mtok_per_day:Q", x=alt.value(3), text="label:N")
    slo = alt.Chart(pd.DataFrame({"tpot_ms": [slo_tpot_ms]})).mark_rule(color=NEUTRAL_COLOR).encode(x="tpot_ms:Q")
    return (lines + rules + text + slo).properties(width=WIDTH, height=300)


def ttft_chart(frame: pd.DataFrame, target_ms: float, api_band_ms: tuple[float, float]) -> alt.LayerChart:
    """TTFT against prompt length, one line per deployment and load; the target and the API band.

    ``frame`` columns: ``deployment``, ``load``, ``prompt_tok``, ``ttft_ms``. The band and
    the target's rule are named by labels on the plot, at its right edge (where the long
    prompts' lines are far above both), on a white halo where a line crosses them, since
    they have no legend entry.
    """
    lines = alt.Chart(frame).mark_line().encode(
        x=alt.X("prompt_tok:Q", title="prompt [tokens]", scale=alt.Scale(type="log")),
        y=alt.Y("ttft_ms:Q", title="time to first token [ms]", scale=alt.Scale(type="log")),
        color=alt.Color("deployment:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=300)),
        strokeDash=alt.StrokeDash("load:N", title="load, TTFT", legend=alt.Legend(orient="bottom")),
        tooltip=["deployment:N", "load:N", "prompt_tok:Q", alt.Tooltip("ttft_ms:Q", format=",.0f")],
    )
    band = alt.Chart(pd.DataFrame({"low": [api_band_ms[0]], "high": [api_band_ms[1]]})).mark_rect(
        opacity=0.12, color=API_COLOR).encode(y="low:Q", y2="high:Q")
    rule = alt.Chart(pd.DataFrame({"ttft_ms": [target_ms]})).mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(
        y="ttft_ms:Q")
    labels = alt.layer(*[
        alt.Chart(pd.DataFrame({"ttft_ms": [at_ms], "label": [label]})).mark_text(
            align="right", baseline="top", dx=-4, dy=3, **style).encode(y="ttft_ms:Q", x=alt.value(WIDTH), text="label:N")
        for at_ms, label, color in (
            (api_band_ms[1], f"APIs, as the article puts them ({api_band_ms[0]:,.0f}-{api_band_ms[1]:,.0f} ms)", API_COLOR),
            (target_ms, f"target ({target_ms:,.0f} ms)", NEUTRAL_COLOR))
        for style in ({"stroke": "white", "strokeWidth": 4, "strokeJoin": "round"}, {"color": color})])
    return (band + lines + rule + labels).properties(width=WIDTH, height=300)


def calibration_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Published figure against the calibrated roofline's, one point per measurement, on ratio axes.

    ``table``: :meth:`selfhost.capacity.Calibration.frame` (rows with a prediction). The
    x axis is the residual (prediction / published - 1); colour says whether the row was
    fitted, held out, or lies above the roofline; shape the engine.
    """
    shown = table.dropna(subset=["residual_share"]).copy()
    shown["label"] = shown["result_id"]
    points = alt.Chart(shown).mark_point(filled=True, size=70).encode(
        y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("residual_share:Q", title="model / published - 1", axis=alt.Axis(format="%")),
        color=alt.Color("status:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
        shape=alt.Shape("engine:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["result_id:N", "gpu:N", "model:N", "weight_dtype:N", "metric:N", "status:N",
                 alt.Tooltip("published:Q", format=",.3g"), alt.Tooltip("predicted:Q", format=",.3g"),
                 alt.Tooltip("implied_share:Q", format=".0%"), alt.Tooltip("residual_share:Q", format="+.0%")],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=NEUTRAL_COLOR).encode(x="x:Q")
    return (zero + points).properties(width=380, height=alt.Step(14),
                                      title="The calibrated roofline against each published figure")
