"""Live controls: the "Your deployment" page's plan and the break-even page's costs, recomputed in the reader's
browser.

:func:`plan_controls` builds one vega-lite spec: parameters bound to number inputs,
sliders, checkboxes and a select (traffic, input share, peak-to-mean, the candidate GPUs
and their prices, operating cost, the API and its prices), the key figures as text (the
answer, the deployment, its monthly cost, the API's bill, the break-even volume, the
capacity) and the cost chart (monthly cost against mean volume, the chosen deployment
stepping a replica at a time against the API). It runs in the page with the vega bundle
the book serves: no kernel, no network.

:func:`breakeven_controls` does the same for the break-even page (traffic, input share,
peak-to-mean, the GPU, its price and the GPUs of a replica, operating cost, the API and its
prices; the answer at the traffic, the replica, both monthly costs, the break-even, the GPUs'
mean utilisation; the cost chart with the traffic and the break-even marked).

Every expression comes from :mod:`selfhost.plan_controls` or :mod:`selfhost.breakeven_controls`;
the capacity of each deployment or replica from its precomputed table. Nothing is computed here.

Two details vega-lite cannot say, added to the spec as it is built:

- a number input's ``min``, ``max`` and ``step`` attributes (vega passes any attribute of a
  binding to its ``<input>``; vega-lite's schema has no place for them);
- the API's (and the GPU's) price inputs follow the select (vega-lite makes a bound parameter's
  expression its initial value only): ``usermeta.embedOptions.patch`` gives those signals
  an event handler on the select's signal, which vega-embed adds to the compiled vega spec.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import vl_convert

from selfhost import breakeven_controls as bc
from selfhost import plan_controls as pc
from selfhost.charts.theme import API_COLOR, NEUTRAL_COLOR, SELF_HOST_COLOR, VEGALITE_MIME, chart_html
from selfhost.errors import SelfhostError
from selfhost.plan import PlanInputs
from selfhost.prices import ApiPrice

WIDTH = 460
#: The figures' lines are wider than the chart's plot (its axis title and labels take the rest of the column).
FIGURES_WIDTH = 600
#: Lay the view out again at every update: the cost axis's labels widen as the reader's numbers grow (100 to
#: 1,000,000), and vega's default padding, computed once, would cut its title off at the left.
RELAYOUT = alt.AutoSizeParams(type="pad", resize=True)
#: The CSS class of the container (the test finds the live view by it).
CONTROLS_CLASS = "selfhost-controls"
#: The name of the precomputed capacity table in the spec's ``datasets``.
CAPACITY_DATA = "plan_capacity"
_STYLE = """<style>
.selfhost-controls .vega-embed {display: block;}
.selfhost-controls .vega-bindings {display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr));
  gap: 4px 16px; margin-top: 8px; font-size: 0.9em;}
.selfhost-controls .vega-bind label {display: flex; align-items: center; gap: 6px;}
.selfhost-controls .vega-bind-name {min-width: 11em;}
.selfhost-controls input[type=number] {width: 9em;}
.selfhost-controls input:invalid {outline: 2px solid #d95f02;}
.selfhost-controls select {max-width: 100%;}
.selfhost-controls .vega-bind:has(select) {grid-column: 1 / -1;}
</style>"""


class ControlsChart:
    """A vega-lite spec with live controls; displays as the book's offline chart (see :mod:`selfhost.charts.theme`)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self.spec

    def html(self) -> str:
        return f'<div class="{CONTROLS_CLASS}">\n{_STYLE}\n{chart_html(self.spec)}\n</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {VEGALITE_MIME: self.spec, "text/html": self.html()}


def _attrs(r: pc.Range, step: float | str = "any") -> dict[str, Any]:
    out: dict[str, Any] = {"min": r.low, "step": step}
    if r.high is not None:
        out["max"] = r.high
    return out


def _calculate(chart: alt.Chart, fields: Sequence[tuple[str, str]]) -> alt.Chart:
    for name, expr in fields:
        chart = chart.transform_calculate(**{name: expr})
    return chart


def _figures(chosen: alt.Chart, lines: Sequence[tuple[str, str]]) -> alt.LayerChart:
    """The key figures as lines of text, the first (the answer) larger, from the chosen row's ``lines``."""
    base = _calculate(chosen, lines)
    texts = [base.mark_text(align="left", baseline="top", fontSize=16 if i == 0 else 13,
                            fontWeight="bold" if i == 0 else "normal").encode(
        x=alt.value(0), y=alt.value(4 + 24 * i + (4 if i else 0)), text=f"{line}:N")
        for i, (line, _) in enumerate(lines)]
    return alt.LayerChart(layer=texts).properties(width=FIGURES_WIDTH, height=24 * len(lines) + 8, name="figures")


def _traffic_params(tok_per_day: float, input_share: float, peak_to_mean_x: float) -> list[Any]:
    """The traffic's controls: the mean volume (a number), the input share and the peak-to-mean (sliders; the
    peak's reaches 8x, or the page's own where higher)."""
    peak_max = max(8.0, math.ceil(peak_to_mean_x))
    return [
        alt.param(name="tok_per_day", value=tok_per_day,
                  bind=alt.binding(input="number", name="traffic, mean [tokens/day]")),
        alt.param(name="input_share", value=input_share,
                  bind=alt.binding_range(min=pc.SHARE_STEP, max=1 - pc.SHARE_STEP, step=pc.SHARE_STEP,
                                         name="input share [input tokens / all]")),
        alt.param(name="peak_to_mean_x", value=peak_to_mean_x,
                  bind=alt.binding_range(min=1, max=peak_max, step=0.1, name="peak-to-mean [x]")),
    ]


def _bind_attrs(spec: dict[str, Any], attrs: dict[str, dict[str, Any]]) -> None:
    """Add each named number input's ``min``, ``max`` and ``step`` to its binding."""
    for p in spec["params"]:
        if p["name"] in attrs:
            p["bind"] |= attrs[p["name"]]


def _cost_axes() -> tuple[alt.X, alt.Y, alt.Color, list[Any]]:
    """The cost chart's encodings: mean volume and monthly cost on log axes, self-host against the API."""
    axis = alt.Axis(labelOverlap="greedy", labelSeparation=6)
    x = alt.X("mtok_per_day:Q", scale=alt.Scale(type="log"), title="mean volume [M tokens/day]", axis=axis)
    y = alt.Y("usd_per_month:Q", scale=alt.Scale(type="log"), title="cost [USD/month]", axis=axis)
    color = alt.Color("kind:N", title=None, scale=alt.Scale(domain=["self-host", "API"],
                                                            range=[SELF_HOST_COLOR, API_COLOR]),
                      legend=alt.Legend(orient="bottom"))
    tooltip = ["option:N", alt.Tooltip("mtok_per_day:Q", format=",.2f"),
               alt.Tooltip("usd_per_month:Q", format="$,.0f")]
    return x, y, color, tooltip


def _marker(chart: alt.Chart, label: str, mtok_expr: str, y: int = 10) -> alt.LayerChart:
    """A dashed vertical rule at ``mtok_expr`` [M tokens/day] on ``chart``'s rows, labelled ``label`` ``y`` px down."""
    mark = chart.transform_calculate(mtok_per_day=mtok_expr, label=pc.js(label))
    rule = mark.mark_rule(color=NEUTRAL_COLOR, strokeDash=[4, 3]).encode(x="mtok_per_day:Q")
    text = mark.mark_text(align="left", dx=3, dy=-4, color=NEUTRAL_COLOR).encode(
        x="mtok_per_day:Q", y=alt.value(y), text="label:N")
    return alt.LayerChart(layer=[rule, text])


def plan_controls(inputs: PlanInputs, wide: PlanInputs, apis: Sequence[ApiPrice], table: list[dict[str, Any]],
                  spare_replicas: int) -> ControlsChart:
    """The live plan: controls at ``inputs``' values, candidates from ``wide``'s GPUs, capacity from ``table``.

    ``table`` and ``spare_replicas`` come from :func:`selfhost.plan_controls.capacity_table`
    over ``wide``; ``apis`` is the dated table the select offers.
    """
    state = pc.initial_state(inputs, wide, apis)
    keys = [o.gpu.key for o in wide.gpus]
    names = {o.gpu.key: o.gpu.gpu for o in wide.gpus}

    params = _traffic_params(state.tok_per_day, state.input_share, state.peak_to_mean_x)
    for key in keys:
        params.append(alt.param(name=pc.signal_name("use", key), value=key in state.gpus,
                                bind=alt.binding_checkbox(name=f"candidate: {names[key]}")))
        params.append(alt.param(name=pc.signal_name("gpu_usd_per_hour", key), value=state.gpu_usd_per_hour[key],
                                bind=alt.binding(input="number", name=f"{names[key]} [USD/GPU-hour]")))
    api_table = {a.key: [a.input_usd_per_mtok, a.output_usd_per_mtok, a.cached_input_usd_per_mtok] for a in apis}
    params += [
        alt.param(name="ops_usd_per_month", value=state.ops_usd_per_month,
                  bind=alt.binding(input="number", name="operating cost [USD/month]")),
        alt.param(name="api", value=state.api,
                  bind=alt.binding_select(options=[a.key for a in apis], name="API (dated table)",
                                          labels=[f"{a.key} ({a.retrieved})" for a in apis])),
        alt.param(name="api_prices", value=api_table),
        alt.param(name="api_input_usd_per_mtok", expr="api_prices[api][0]",
                  bind=alt.binding(input="number", name="API input [USD/Mtok]")),
        alt.param(name="api_output_usd_per_mtok", expr="api_prices[api][1]",
                  bind=alt.binding(input="number", name="API output [USD/Mtok]")),
    ]
    derived = pc.signal_exprs(keys, inputs.traffic.cached_input_share)
    params += [alt.param(name=name, expr=expr) for name, expr in derived.items()]

    rows = [*table, {"gpu_key": "", "gpu": "", "weight_dtype": "", "gpus_per_replica": 0, "label": "~",
                     "precision_rank": 99, "caps": {}, "sentinel": True}]
    fields, keep = pc.candidate_exprs(keys, spare_replicas)

    def chosen() -> alt.Chart:
        c = alt.Chart(alt.Data(name=CAPACITY_DATA)).transform_calculate(sentinel="datum.sentinel === true")
        c = _calculate(c, fields).transform_filter(keep)
        c = c.transform_window(rank="row_number()", sort=[alt.SortField(f) for f in pc.SORT_FIELDS])
        return _calculate(c.transform_filter("datum.rank == 1"), pc.figure_exprs())

    figures = _figures(chosen(), pc.text_exprs())

    x, y, color, tooltip = _cost_axes()
    selfhost = _calculate(
        chosen().transform_filter("datum.has_deployment").transform_calculate(vols=f"sequence(0, {pc.CURVE_POINTS})")
        .transform_flatten(["vols"], as_=["i"]), pc.curve_exprs()
    ).transform_calculate(kind="'self-host'", option="'self-host: ' + datum.gpu + ' ' + datum.weight_dtype").mark_line(
        interpolate="step-after").encode(x=x, y=y, color=color, tooltip=tooltip).properties(name="selfhost_curve")
    api_line = _calculate(alt.Chart(alt.sequence(0, pc.CURVE_POINTS, as_="i")).transform_filter("problem == ''"),
                          pc.api_curve_exprs()).transform_calculate(kind="'API'", option="api").mark_line().encode(
        x=x, y=y, color=color, tooltip=tooltip).properties(name="api_curve")
    traffic = _marker(alt.Chart(alt.Data(values=[{}])).transform_filter("problem == ''"), "your traffic",
                      "x_tok_per_day / 1e6")
    chart = alt.layer(selfhost, api_line, traffic).properties(width=WIDTH, height=300)

    spec = alt.vconcat(figures, chart).add_params(*params).properties(autosize=RELAYOUT).to_dict()
    spec.setdefault("datasets", {})[CAPACITY_DATA] = rows
    attrs = {"tok_per_day": _attrs(pc.RANGES["tok_per_day"]), "ops_usd_per_month": _attrs(pc.RANGES["ops_usd_per_month"]),
             "api_input_usd_per_mtok": _attrs(pc.RANGES["api_input_usd_per_mtok"]),
             "api_output_usd_per_mtok": _attrs(pc.RANGES["api_output_usd_per_mtok"])}
    attrs |= {pc.signal_name("gpu_usd_per_hour", k): _attrs(pc.RANGES["gpu_usd_per_hour"]) for k in keys}
    _bind_attrs(spec, attrs)
    spec["usermeta"] = {"embedOptions": {"patch": follow_the_select(spec, ["api_input_usd_per_mtok",
                                                                           "api_output_usd_per_mtok"], "api")}}
    return ControlsChart(spec)


def follow_the_select(spec: dict[str, Any], names: Sequence[str], select: str = "api") -> list[dict[str, Any]]:
    """JSON-patch operations on the compiled vega spec: each named signal re-evaluates its expression when
    ``select`` changes.

    vega-lite compiles a bound parameter's ``expr`` to ``init`` (evaluated once). An
    ``update`` would re-evaluate it at every run, overwriting what the reader types; an
    event handler on the select's signal re-evaluates it only when the select changes, so
    the API's prices follow the select and stay editable.
    """
    signals = vl_convert.vegalite_to_vega(json.loads(json.dumps(spec)))["signals"]
    ops = []
    for i, s in enumerate(signals):
        if s["name"] in names:
            ops.append({"op": "add", "path": f"/signals/{i}/on",
                        "value": [{"events": {"signal": select}, "update": s["init"]}]})
    if len(ops) != len(names):
        raise SelfhostError(f"controls: the signals {', '.join(names)} are not all in the compiled vega spec")
    return ops


# ---------------------------------------------------------------------- the break-even page
#: The name of the precomputed replica table in the spec's ``datasets``.
REPLICA_DATA = "breakeven_replicas"


def breakeven_controls(page: bc.Page, table: list[dict[str, Any]]) -> ControlsChart:
    """The break-even page's live controls at the page's numbers, with the replicas of ``table``
    (:func:`selfhost.breakeven_controls.replica_table` over ``page.setups``)."""
    state = bc.initial_state(page)
    names = {k: s.gpu.gpu for (k, _), s in page.setups.items()}
    choices = page.gpus_choices
    apis = page.api_options()
    api_table = {a.key: [a.input_usd_per_mtok, a.output_usd_per_mtok, a.cached_input_usd_per_mtok] for a in apis}
    labels = [f"{a.key} ({a.retrieved})" for a in apis]
    labels[0] = (f"{bc.PAGE_API} (${page.page_api.input_usd_per_mtok:,.2f} in, "
                 f"${page.page_api.output_usd_per_mtok:,.2f} out per Mtok)")
    params = _traffic_params(state.tok_per_day, state.input_share, state.peak_to_mean_x) + [
        alt.param(name="gpu", value=state.gpu,
                  bind=alt.binding_select(options=page.gpu_keys, labels=[names[k] for k in page.gpu_keys],
                                          name="GPU")),
        alt.param(name="gpu_prices", value=dict(page.gpu_prices)),
        alt.param(name="gpu_usd_per_hour", expr="gpu_prices[gpu]",
                  bind=alt.binding(input="number", name="GPU price [USD/GPU-hour]")),
        alt.param(name="gpus_per_replica", value=state.gpus_per_replica,
                  bind=alt.binding_select(options=choices, name="GPUs per replica",
                                          labels=["fewest it fits on" if n == bc.FEWEST else str(n)
                                                  for n in choices])),
        alt.param(name="ops_usd_per_month", value=state.ops_usd_per_month,
                  bind=alt.binding(input="number", name="operating cost [USD/month]")),
        alt.param(name="api", value=state.api, bind=alt.binding_select(options=[a.key for a in apis], labels=labels,
                                                                       name="API (dated table)")),
        alt.param(name="api_prices", value=api_table),
        alt.param(name="api_names", value={a.key: page.api_label(a) for a in apis}),
        alt.param(name="share_keys", value=bc.share_keys(page.shares)),
        alt.param(name="api_input_usd_per_mtok", expr="api_prices[api][0]",
                  bind=alt.binding(input="number", name="API input [USD/Mtok]")),
        alt.param(name="api_output_usd_per_mtok", expr="api_prices[api][1]",
                  bind=alt.binding(input="number", name="API output [USD/Mtok]")),
    ]
    params += [alt.param(name=name, expr=expr) for name, expr in bc.signal_exprs(page.case.traffic.cached_share).items()]
    rows = bc.row_exprs(page.case.min_replicas)

    def chosen() -> alt.Chart:
        return _calculate(alt.Chart(alt.Data(name=REPLICA_DATA)).transform_filter(bc.keep_expr()), rows)

    figures = _figures(chosen(), bc.text_exprs())
    x, y, color, tooltip = _cost_axes()
    points = _calculate(chosen().transform_filter("problem == ''").transform_calculate(
        vols=f"sequence(0, {bc.CURVE_POINTS})").transform_flatten(["vols"], as_=["i"]), bc.curve_exprs(
        page.case.min_replicas))
    selfhost = points.transform_filter("datum.serves").transform_calculate(
        kind="'self-host'", usd_per_month="datum.selfhost_curve_usd_per_month",
        option="'self-host: ' + datum.gpus_count + ' x ' + datum.gpu + ' ' + datum.weight_dtype").mark_line(
        interpolate="step-after").encode(x=x, y=y, color=color, tooltip=tooltip).properties(name="selfhost_curve")
    api_line = points.transform_calculate(kind="'API'", usd_per_month="datum.api_curve_usd_per_month",
                                          option="api").mark_line().encode(
        x=x, y=y, color=color, tooltip=tooltip).properties(name="api_curve")
    traffic = _marker(alt.Chart(alt.Data(values=[{}])).transform_filter("problem == ''"), "your traffic",
                      "x_tok_per_day / 1e6")
    breakeven = _marker(chosen().transform_filter("problem == '' && datum.serves && datum.be_crosses"), "break-even",
                        "datum.breakeven_tok_per_day / 1e6", y=28)
    chart = alt.layer(selfhost, api_line, traffic, breakeven).properties(width=WIDTH, height=300)

    spec = alt.vconcat(figures, chart).add_params(*params).properties(autosize=RELAYOUT).to_dict()
    spec.setdefault("datasets", {})[REPLICA_DATA] = table
    numbers = ("tok_per_day", "gpu_usd_per_hour", "ops_usd_per_month", "api_input_usd_per_mtok",
               "api_output_usd_per_mtok")
    _bind_attrs(spec, {n: _attrs(bc.RANGES[n]) for n in numbers})
    spec["usermeta"] = {"embedOptions": {"patch": [
        *follow_the_select(spec, ["gpu_usd_per_hour"], "gpu"),
        *follow_the_select(spec, ["api_input_usd_per_mtok", "api_output_usd_per_mtok"], "api")]}}
    return ControlsChart(spec)
