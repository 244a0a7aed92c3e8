"""Charts for the GPU memory (C13, C07) and MoE (C12) pages, from frames aggregated here."""

from __future__ import annotations

import altair as alt
import pandas as pd

from selfhost.charts.theme import NEUTRAL_COLOR, PALETTE
from selfhost.memory import MemoryBudget

PARTS = ["weights", "activation peak", "non-torch", "CUDA graphs", "KV cache", "unreserved"]
PART_COLORS = [PALETTE[2], PALETTE[1], PALETTE[5], PALETTE[3], PALETTE[0], "#cccccc"]


def breakdown_frame(budgets: dict[str, MemoryBudget]) -> pd.DataFrame:
    """Label -> budget, as one row per part [GiB] (a negative KV cache is shown as 0)."""
    rows = []
    for label, b in budgets.items():
        parts = [b.weights_gib, b.activation_gib, b.non_torch_gib, b.cuda_graph_gib, max(b.kv_cache_gib, 0.0),
                 b.unreserved_gib]
        for order, (part, gib) in enumerate(zip(PARTS, parts)):
            rows.append({"case": label, "part": part, "order": order, "gib": gib, "total_gib": b.total_gib,
                         "fits": b.fits})
    return pd.DataFrame(rows)


def breakdown_chart(frame: pd.DataFrame, title: str = "Where one GPU's memory goes under vLLM") -> alt.LayerChart:
    """Stacked bars per case, with the GPU's memory as a rule."""
    bars = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("case:N", title=None, sort=None),
        x=alt.X("sum(gib):Q", title="memory per GPU [GiB]"),
        color=alt.Color("part:N", title="part", scale=alt.Scale(domain=PARTS, range=PART_COLORS)),
        order=alt.Order("order:Q"),
        tooltip=["case:N", "part:N", alt.Tooltip("gib:Q", format=".2f", title="GiB")],
    )
    rule = alt.Chart(frame.drop_duplicates("case")).mark_tick(color=NEUTRAL_COLOR, thickness=2, size=22).encode(
        y=alt.Y("case:N", sort=None), x="total_gib:Q")
    return (bars + rule).properties(width=460, height=alt.Step(26), title=title)


def params_frame(rows: list[dict]) -> pd.DataFrame:
    """Model -> total and active parameters [billions], long form."""
    out = []
    for r in rows:
        out.append({"model": r["model"], "kind": "total (loaded)", "params_b": r["total_params"] / 1e9})
        out.append({"model": r["model"], "kind": "active (per token)", "params_b": r["active_params"] / 1e9})
    return pd.DataFrame(out)


def params_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Total against active parameters per model: two dots joined by a line, on a log axis.

    Dots, not bars: a bar on a log scale starts at zero, which the scale cannot show (the
    chart rendered blank). The axis starts below the smallest count.
    """
    low = float(frame["params_b"].min()) / 2
    high = float(frame["params_b"].max()) * 1.5
    x = alt.X("params_b:Q", title="parameters [billions, log scale]",
              scale=alt.Scale(type="log", domain=[low, high], nice=False))
    y = alt.Y("model:N", title=None, sort=alt.EncodingSortField("params_b", op="max", order="descending"))
    line = alt.Chart(frame).mark_line(color="#bbbbbb").encode(y=y, x=x, detail="model:N")
    dots = alt.Chart(frame).mark_point(filled=True, size=80).encode(
        y=y, x=x, color=alt.Color("kind:N", title=None, scale=alt.Scale(range=[PALETTE[0], PALETTE[2]]),
                                  legend=alt.Legend(orient="bottom")),
        tooltip=["model:N", "kind:N", alt.Tooltip("params_b:Q", format=".1f", title="B params")],
    )
    return (line + dots).properties(width=440, height=alt.Step(18),
                                    title="Memory follows total parameters; compute follows active")


def coverage_chart(frame: pd.DataFrame) -> alt.VConcatChart:
    """Share of experts (and of all weights) one decode step reads, against batch size.

    A colour and a point shape per model, a dash per quantity: models whose curves coincide
    (the same share of experts per token, :func:`selfhost.moe.coinciding_coverage`) hide
    each other's lines, but their points stay distinct. The key to colours and shapes is a
    small chart of its own below the plot (vega does not merge a colour and a shape legend
    across layers, and two legends of the same models would be read as two things).
    """
    models = sorted(dict.fromkeys(frame["model"]))
    color = alt.Color("model:N", scale=alt.Scale(domain=models), legend=None)
    shape = alt.Shape("model:N", scale=alt.Scale(domain=models), legend=None)
    x = alt.X("batch:Q", title="sequences decoded per step (log scale)", scale=alt.Scale(type="log", base=2))
    y = alt.Y("share:Q", title="share read per step", axis=alt.Axis(format="%"))
    lines = alt.Chart(frame).mark_line().encode(x=x, y=y, color=color, detail="what:N",
                                                strokeDash=alt.StrokeDash("what:N", title=None))
    points = alt.Chart(frame).mark_point(filled=False, size=45, strokeWidth=1.5).encode(
        x=x, y=y, color=color, shape=shape,
        tooltip=["model:N", "what:N", "batch:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    plot = (lines + points).properties(width=460, height=280,
                                       title="A busy MoE server reads nearly all of its weights every step")
    columns = 3
    key_frame = pd.DataFrame({"model": models, "column": [i % columns for i in range(len(models))],
                              "row": [i // columns for i in range(len(models))]})
    key_x = alt.X("column:Q", axis=None, scale=alt.Scale(domain=[0, columns]))
    key_y = alt.Y("row:O", axis=None)
    key = (alt.Chart(key_frame).mark_point(filled=False, size=45, strokeWidth=1.5).encode(
        x=key_x, y=key_y, color=color, shape=shape)
        + alt.Chart(key_frame).mark_text(align="left", dx=9).encode(x=key_x, y=key_y, text="model:N")
    ).properties(width=460, height=alt.Step(18))
    return alt.vconcat(plot, key, spacing=6).resolve_scale(color="shared", shape="shared")
