"""Charts for the serving-engine pages (C08-C11), drawn from tables that :mod:`selfhost.serving` aggregates."""

from __future__ import annotations

import textwrap

import altair as alt
import pandas as pd

from selfhost.charts.theme import NEUTRAL_COLOR, SELF_HOST_COLOR

WIDTH = 400


def throughput_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Output tokens per second against concurrency: mean and range over repetitions."""
    base = alt.Chart(table).encode(
        x=alt.X("concurrency:Q", scale=alt.Scale(type="log", base=2), title="concurrent requests"),
        color=alt.Color("engine:N", title="engine", legend=alt.Legend(orient="bottom")),
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("output_tok_per_s:Q", title="output tokens per second"),
        tooltip=["engine:N", "hardware:N", "concurrency:Q", alt.Tooltip("output_tok_per_s:Q", format=",.0f"),
                 alt.Tooltip("median_ttft_ms:Q", format=",.0f"), "reps:Q"],
    )
    band = base.mark_rule().encode(y="output_tok_per_s_low:Q", y2="output_tok_per_s_high:Q")
    return (band + line).properties(width=WIDTH, height=260, title="Throughput against concurrency (range over repetitions)")


def interval_chart(table: pd.DataFrame, category: str, value: str, low: str, high: str, *, color: str = "recording",
                   threshold: float | None = None, title: str = "", x_title: str = "speedup [x] (log scale)") -> alt.LayerChart:
    """Estimates with their confidence intervals, one row per ``category``, a colour per ``color``; a rule at ``threshold``.

    The values are ratios (always > 0), drawn on a log scale that spans the intervals and
    the threshold, not the powers of ten around them.
    """
    t = table.dropna(subset=[value]).copy()
    t[color] = t[color].astype(str)
    ends = [*t[low].dropna(), *t[high].dropna(), *t[value], *([threshold] if threshold is not None else [])]
    scale = alt.Scale(type="log", domain=[min(ends) / 1.15, max(ends) * 1.15], nice=False) if ends else alt.Scale(type="log")
    y = alt.Y(f"{category}:N", title=None, sort=None, axis=alt.Axis(labelLimit=200))
    c = alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=600))
    whisker = alt.Chart(t).mark_rule(strokeWidth=2).encode(x=alt.X(f"{low}:Q", scale=scale, title=x_title),
                                                            x2=f"{high}:Q", y=y, yOffset=f"{color}:N", color=c)
    dot = alt.Chart(t).mark_point(filled=True, size=60).encode(
        x=alt.X(f"{value}:Q", scale=scale), y=y, yOffset=f"{color}:N", color=c,
        tooltip=[f"{category}:N", f"{color}:N", alt.Tooltip(f"{value}:Q", format=".2f"),
                 alt.Tooltip(f"{low}:Q", format=".2f"), alt.Tooltip(f"{high}:Q", format=".2f")])
    layers = [whisker, dot]
    if threshold is not None:
        layers.append(alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(strokeDash=[5, 3], color=NEUTRAL_COLOR)
                      .encode(x="t:Q"))
    return alt.LayerChart(layer=layers).properties(width=WIDTH, height=max(120, 36 * t[category].nunique()), title=title)


def prefix_chart(table: pd.DataFrame, claim_x: float) -> alt.LayerChart:
    """Prefix caching on against off: each shape's speedup with its 95% interval, per recording, and the claim."""
    return interval_chart(table, "shape", "speedup_x", "speedup_low_x", "speedup_high_x", threshold=claim_x,
                          title="Speedup from prefix caching (dot) and its 95% interval; dashed: the claim")


def engine_ratio_chart(table: pd.DataFrame) -> alt.LayerChart:
    """One engine's throughput over another's against concurrency, a line per workload, with intervals; 1 = parity.

    Each 95% interval is a bar with caps at its ends, drawn over a small dot, so that a
    narrow one still shows; the log axis spans the data (and parity), not the next power
    of ten.
    """
    t = table.dropna(subset=["ratio_x"]).copy()
    names = (f"{t['engine'].iloc[0]} over {t['baseline'].iloc[0]}" if not t.empty and {"engine", "baseline"} <= set(t)
             else "throughput ratio")
    low = min([1.0, *t["ratio_low_x"].dropna(), *t["ratio_x"]])
    high = max([1.0, *t["ratio_high_x"].dropna(), *t["ratio_x"]])
    scale = alt.Scale(type="log", domain=[low / 1.15, high * 1.15], nice=False)
    x = alt.X("concurrency:O", title="concurrent requests", axis=alt.Axis(labelAngle=0))
    c = alt.Color("shape:N", title="workload", legend=alt.Legend(orient="bottom"))
    tooltip = ["shape:N", "concurrency:O", "pairs_count:Q", alt.Tooltip("ratio_x:Q", format=".2f"),
               alt.Tooltip("ratio_low_x:Q", format=".2f"), alt.Tooltip("ratio_high_x:Q", format=".2f")]
    base = alt.Chart(t)
    line = base.mark_line(strokeWidth=1.5, opacity=0.7).encode(
        x=x, y=alt.Y("ratio_x:Q", title="throughput ratio [x] (log scale)", scale=scale), color=c)
    dot = base.mark_point(filled=True, size=18, opacity=1).encode(x=x, y=alt.Y("ratio_x:Q", scale=scale), color=c,
                                                                   tooltip=tooltip)
    bar = base.mark_rule(strokeWidth=2.5).encode(x=x, y=alt.Y("ratio_low_x:Q", scale=scale), y2="ratio_high_x:Q",
                                                 color=c, tooltip=tooltip)
    caps = [base.mark_tick(thickness=2, size=14).encode(x=x, y=alt.Y(f"{end}:Q", scale=scale), color=c, tooltip=tooltip)
            for end in ("ratio_low_x", "ratio_high_x")]
    parity = alt.Chart(pd.DataFrame({"one": [1.0]})).mark_rule(strokeDash=[5, 3], color=NEUTRAL_COLOR).encode(
        y=alt.Y("one:Q", scale=scale))
    return alt.LayerChart(layer=[parity, line, bar, *caps, dot]).properties(
        width=WIDTH, height=260, title=f"{names}, output throughput: each ratio with its 95% interval (bar)")


def long_prompt_chart(table: pd.DataFrame) -> alt.LayerChart:
    """The repeat's speedup over the first run, caching on and off, per recording, with intervals."""
    t = table.assign(setting=table["prefix_caching"].map({True: "prefix caching on", False: "prefix caching off"}))
    return interval_chart(t, "setting", "speedup_x", "speedup_low_x", "speedup_high_x", threshold=1.0,
                          title="Second run over first run of the same long prompts (95% intervals)")


def published_setups(bench: pd.DataFrame, line_chars: int = 56) -> pd.DataFrame:
    """The published C09 throughputs, one row per engine and setup (publisher, hardware, model and workload).

    ``setup`` names the setup on lines of at most ``line_chars`` characters joined by
    ``\\n`` (the chart splits them): the source first, then its workload, so that two
    settings of one source (dstack's concurrencies) are two setups, never one.
    """
    t = bench[(bench["claim_id"] == "C09") & bench["throughput_tok_per_s"].notna()].copy()
    if t.empty:
        return t.assign(setup=pd.Series(dtype=str))
    t = t[["publisher", "hardware", "model", "workload", "engine", "engine_version", "throughput_tok_per_s"]].fillna("")

    def label(r: pd.Series) -> str:
        head = f"{r['publisher']}: {r['hardware']}, {r['model']}"
        return "\n".join([*textwrap.wrap(head, line_chars), *textwrap.wrap(str(r["workload"]), line_chars)])

    t["setup"] = t.apply(label, axis=1)
    return t.reset_index(drop=True)


def published_throughput_chart(bench: pd.DataFrame) -> alt.FacetChart:
    """Published C09 throughputs: one panel per setup, one bar per engine in it.

    A setup is one source's hardware, model and workload: each bar is one measurement,
    never a sum over settings, and a panel shows only the engines its source ran. The
    throughput axis is each panel's own (sources count tokens differently).
    """
    t = published_setups(bench)
    order = list(dict.fromkeys(t["setup"]))
    header = alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelAlign="left", labelFontSize=13,
                        labelLimit=WIDTH, labelExpr="split(datum.value, '\\n')", labelPadding=4)
    return alt.Chart(t).mark_bar(height=14).encode(
        y=alt.Y("engine:N", title=None, sort="-x"),
        x=alt.X("throughput_tok_per_s:Q", title="tokens per second (as each source counts them)"),
        color=alt.Color("engine:N", legend=None),
        row=alt.Row("setup:N", title=None, sort=order, header=header, spacing=14),
        tooltip=["publisher:N", "hardware:N", "model:N", "workload:N", "engine:N", "engine_version:N",
                 alt.Tooltip("throughput_tok_per_s:Q", format=",.0f")],
    ).properties(width=WIDTH - 60, height=alt.Step(20)).resolve_scale(x="independent", y="independent")


def tgi_chart(tgi: pd.DataFrame) -> alt.Chart:
    """TGI's published advantage over vLLM (vLLM time / TGI time), first and second run."""
    return alt.Chart(tgi).mark_bar().encode(
        y=alt.Y("setup:N", title=None), x=alt.X("advantage_x:Q", title="vLLM time / TGI time [x]"),
        color=alt.Color("run:N", title="run", scale=alt.Scale(range=[NEUTRAL_COLOR, SELF_HOST_COLOR]),
                        legend=alt.Legend(orient="bottom")),
        yOffset="run:N",
        tooltip=["setup:N", "run:N", alt.Tooltip("advantage_x:Q", format=".2f"), "tgi_s:Q", "vllm_s:Q"],
    ).properties(width=WIDTH - 160, height=220)
