"""Charts for the serving-engine pages (C08-C11), drawn from tables that :mod:`selfhost.serving` aggregates."""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, PALETTE, SELF_HOST_COLOR

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


def prefix_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Prefix caching on against off: measured speedup and the Amdahl bound, by shared share."""
    t = table.assign(prompt=table["prompt_len"].astype(str) + "-token prompts")
    x = alt.X("shared_share:Q", title="share of each prompt that is a shared prefix", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0.4, 1.0]))
    y_scale = alt.Scale(type="log", domainMin=1)
    color = alt.Color("prompt:N", title=None, scale=alt.Scale(range=[SELF_HOST_COLOR, API_COLOR, PALETTE[2]]),
                      legend=alt.Legend(orient="bottom"))
    measured = alt.Chart(t).mark_line(point=True).encode(
        x=x, y=alt.Y("speedup_x:Q", title="speedup [x] (log scale)", scale=y_scale), color=color,
        tooltip=["prompt:N", alt.Tooltip("shared_share:Q", format=".0%"), alt.Tooltip("speedup_x:Q", format=".2f"),
                 alt.Tooltip("speedup_x_low:Q", format=".2f"), alt.Tooltip("speedup_x_high:Q", format=".2f"),
                 alt.Tooltip("hit_share:Q", format=".0%"), alt.Tooltip("bound_x:Q", format=".1f"), "reps:Q"],
    )
    spread = alt.Chart(t).mark_rule().encode(x=x, y="speedup_x_low:Q", y2="speedup_x_high:Q", color=color)
    bound = alt.Chart(t).mark_line(strokeDash=[5, 3], color=NEUTRAL_COLOR).encode(
        x=x, y=alt.Y("bound_x:Q", scale=y_scale), detail="prompt:N")
    return (bound + spread + measured).properties(
        width=WIDTH, height=280, title="Measured speedup (solid) and Amdahl bound (dashed)")


def long_prompt_chart(table: pd.DataFrame) -> alt.Chart:
    """Time to first token of a long prompt: first run against repeated run, caching on and off."""
    rows: list[dict] = []
    for r in table.itertuples():
        caching = "prefix caching on" if r.prefix_caching else "prefix caching off"
        rows += [{"prompt_tok": r.prompt_len, "run": "first", "ttft_ms": r.first_ttft_ms, "caching": caching},
                 {"prompt_tok": r.prompt_len, "run": "repeat", "ttft_ms": r.repeat_ttft_ms, "caching": caching}]
    data = pd.DataFrame(rows)
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("run:N", title=None, axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("caching:N"),
        y=alt.Y("ttft_ms:Q", title="median time to first token [ms]"),
        color=alt.Color("caching:N", title=None, scale=alt.Scale(range=[NEUTRAL_COLOR, SELF_HOST_COLOR]),
                        legend=alt.Legend(orient="bottom")),
        column=alt.Column("prompt_tok:O", title="prompt length [tokens]"),
        tooltip=["prompt_tok:O", "run:N", "caching:N", alt.Tooltip("ttft_ms:Q", format=",.0f")],
    ).properties(width=110, height=220)


def published_throughput_chart(bench: pd.DataFrame) -> alt.Chart:
    """Published C09 throughputs, one panel per source (they are not comparable across panels)."""
    t = bench[(bench["claim_id"] == "C09") & bench["throughput_tok_per_s"].notna()].copy()
    t["setup"] = t["publisher"] + ": " + t["hardware"] + ", " + t["model"]
    t = t[["setup", "publisher", "engine", "engine_version", "throughput_tok_per_s", "workload"]].fillna("")
    return alt.Chart(t).mark_bar().encode(
        y=alt.Y("engine:N", title=None, sort="-x"),
        x=alt.X("throughput_tok_per_s:Q", title="output tokens per second"),
        color=alt.Color("engine:N", legend=None),
        row=alt.Row("setup:N", title=None, header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start",
                                                              labelAlign="left", labelLimit=WIDTH)),
        tooltip=["publisher:N", "engine:N", "engine_version:N", alt.Tooltip("throughput_tok_per_s:Q", format=",.0f"),
                 "workload:N"],
    ).properties(width=WIDTH - 60, height=80).resolve_scale(x="independent")


def tgi_chart(tgi: pd.DataFrame) -> alt.Chart:
    """TGI's published advantage over vLLM (vLLM time / TGI time), first and second run."""
    return alt.Chart(tgi).mark_bar().encode(
        y=alt.Y("setup:N", title=None), x=alt.X("advantage_x:Q", title="vLLM time / TGI time [x]"),
        color=alt.Color("run:N", title="run", scale=alt.Scale(range=[NEUTRAL_COLOR, SELF_HOST_COLOR]),
                        legend=alt.Legend(orient="bottom")),
        yOffset="run:N",
        tooltip=["setup:N", "run:N", alt.Tooltip("advantage_x:Q", format=".2f"), "tgi_s:Q", "vllm_s:Q"],
    ).properties(width=WIDTH - 160, height=220)
