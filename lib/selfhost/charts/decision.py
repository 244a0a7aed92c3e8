"""Charts for the decision-tree page (C01): the tree itself, and what the spend gate buys."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR
from selfhost.decision import GATES, Decision, Outcome

#: Layout in data units: gates in a column at GATE_X, outcomes to their right; a gate's box is wider
#: (its question is the longest label) than an outcome's.
GATE_X, OUTCOME_X, GATE_HALF_WIDTH, OUTCOME_HALF_WIDTH, HALF_HEIGHT = 0.0, 3.8, 1.7, 1.35, 0.32
X_DOMAIN, Y_DOMAIN, WIDTH_PX, HEIGHT_PX = [-1.8, 5.2], [-5.5, 0.5], 600, 400


def tree_layout(decision: Decision) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node and edge tables for drawing the tree, marking the path ``decision`` took.

    Gates stand in a column; the branch that ends the walk goes right to its outcome,
    the branch that passes on goes down to the next gate (the last gate's "no" goes down
    to its outcome).
    """
    on_path = {key: said for key, said in decision.path}
    nodes: list[dict[str, object]] = []
    edges: list[dict[str, object]] = []
    position: dict[str, tuple[float, float]] = {g.key: (GATE_X, -float(i)) for i, g in enumerate(GATES)}
    for i, gate in enumerate(GATES):
        nodes.append({"label": f"{i + 1}. {gate.question}", "x": GATE_X, "y": -i, "kind": "gate",
                      "on_path": gate.key in on_path})
        for said, target in ((True, gate.yes), (False, gate.no)):
            tx: float
            ty: float
            if isinstance(target, Outcome):
                down = not said and isinstance(gate.yes, Outcome)
                tx, ty = (GATE_X, -(i + 1.0)) if down else (OUTCOME_X, -float(i))
                nodes.append({"label": target.value, "x": tx, "y": ty,
                              "kind": "self-host" if target.self_hosts else "API",
                              "on_path": decision.outcome is target and on_path.get(gate.key) is said})
            else:
                tx, ty = position[target]
            taken = on_path.get(gate.key) is said
            edges.append({"x": GATE_X, "y": -i, "x2": tx, "y2": ty, "answer": "yes" if said else "no",
                          "on_path": taken})
    node_df = pd.DataFrame(nodes)
    edge_df = pd.DataFrame(edges)
    vertical = edge_df["x"] == edge_df["x2"]
    edge_df["y"] = edge_df["y"] - vertical * HALF_HEIGHT
    edge_df["y2"] = edge_df["y2"] + vertical * HALF_HEIGHT
    edge_df["x"] = edge_df["x"] + (~vertical) * GATE_HALF_WIDTH
    edge_df["x2"] = edge_df["x2"] - (~vertical) * OUTCOME_HALF_WIDTH
    edge_df["label_x"] = (edge_df["x"] + edge_df["x2"]) / 2 + vertical * 0.18
    edge_df["label_y"] = (edge_df["y"] + edge_df["y2"]) / 2 + (~vertical) * 0.12
    half = [GATE_HALF_WIDTH if k == "gate" else OUTCOME_HALF_WIDTH for k in node_df["kind"]]
    node_df["x1"], node_df["x2"] = node_df["x"] - half, node_df["x"] + half
    node_df["y1"], node_df["y2"] = node_df["y"] - HALF_HEIGHT, node_df["y"] + HALF_HEIGHT
    return node_df, edge_df


def tree_chart(decision: Decision) -> alt.LayerChart:
    """The article's tree, with the path of one profile drawn in colour."""
    nodes, edges = tree_layout(decision)
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=X_DOMAIN))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=Y_DOMAIN))
    fill = alt.Color(
        "kind:N", title="node",
        scale=alt.Scale(domain=["gate", "self-host", "API"], range=["#f2f2f2", SELF_HOST_COLOR, API_COLOR]),
    )
    boxes = alt.Chart(nodes).mark_rect(cornerRadius=6, stroke=NEUTRAL_COLOR).encode(
        x=alt.X("x1:Q", axis=None, scale=alt.Scale(domain=X_DOMAIN)), x2="x2:Q",
        y=alt.Y("y1:Q", axis=None, scale=alt.Scale(domain=Y_DOMAIN)), y2="y2:Q",
        color=fill,
        opacity=alt.condition("datum.on_path", alt.value(1.0), alt.value(0.35)),
        strokeWidth=alt.condition("datum.on_path", alt.value(2.5), alt.value(0.5)),
        tooltip=["label:N", "on_path:N"],
    )
    labels = alt.Chart(nodes).mark_text(fontSize=11).encode(x=x, y=y, text="label:N")
    lines = alt.Chart(edges).mark_rule().encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q",
        color=alt.condition("datum.on_path", alt.value("#222222"), alt.value("#bbbbbb")),
        strokeWidth=alt.condition("datum.on_path", alt.value(2.5), alt.value(1)),
    )
    answers = alt.Chart(edges).mark_text(fontSize=11, fontStyle="italic").encode(
        x=alt.X("label_x:Q", axis=None, scale=alt.Scale(domain=X_DOMAIN)),
        y=alt.Y("label_y:Q", axis=None, scale=alt.Scale(domain=Y_DOMAIN)), text="answer:N",
    )
    return (lines + boxes + labels + answers).properties(
        width=WIDTH_PX, height=HEIGHT_PX, title=f"The article's decision tree; this profile ends at: {decision.outcome.value}"
    )


def gate_volume_chart(table: pd.DataFrame, breakeven_tok_per_day: float) -> alt.LayerChart:
    """Tokens per day that the spend gate buys at each model's price, beside the break-even (log axis).

    ``table`` has columns ``model`` and ``gate_mtok_per_day``. A point per model, not a bar:
    the volumes span orders of magnitude, which a linear axis squeezes into slivers, and a bar
    on a log axis would start at zero, which the axis cannot show. Ticks at powers of ten
    only, so that no two labels run together.
    """
    table = table[["model", "gate_mtok_per_day"]]
    breakeven = breakeven_tok_per_day / 1e6
    low = min(float(table["gate_mtok_per_day"].min()), breakeven) / 1.5
    high = max(float(table["gate_mtok_per_day"].max()), breakeven) * 1.5
    ticks = [10.0**k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             if low <= 10.0**k <= high]
    x_scale = alt.Scale(type="log", domain=[low, high], nice=False)
    rule = alt.Chart(pd.DataFrame({"breakeven": [breakeven]})).mark_rule(
        color=SELF_HOST_COLOR, strokeWidth=2, strokeDash=[6, 3]
    ).encode(x=alt.X("breakeven:Q", scale=x_scale))
    points = alt.Chart(table).mark_point(filled=True, size=70, color=API_COLOR).encode(
        y=alt.Y("model:N", sort="-x", title=None),
        x=alt.X("gate_mtok_per_day:Q", scale=x_scale, title="tokens per day the spend gate buys [millions, log scale]",
                axis=alt.Axis(values=ticks, format=",~g")),
        tooltip=["model:N", alt.Tooltip("gate_mtok_per_day:Q", format=",.1f")],
    )
    note = alt.Chart(pd.DataFrame({"breakeven": [breakeven], "t": ["article's break-even"]})).mark_text(
        align="left", dx=4, dy=-6, color=SELF_HOST_COLOR
    ).encode(x=alt.X("breakeven:Q", scale=x_scale), y=alt.value(0), text="t:N")
    return (rule + points + note).properties(width=420, height=28 * len(table))
