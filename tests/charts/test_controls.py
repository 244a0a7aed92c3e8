"""The live controls: their ranges are lib's, and the spec's figures are :func:`selfhost.plan.make_plan`'s.

Without a browser: vl-convert runs the spec's dataflow (the same vega the book serves) and
renders it to SVG; the figures' text is compared with the plan computed in Python at the
same numbers. ``tests/book/test_controls.py`` drives the built page in Chromium.

The helpers here (:func:`expected`, :func:`check_figures`, :func:`check_curves`) are shared
with that test.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest
import vl_convert

from selfhost import plan
from selfhost import plan_controls as pc
from selfhost.book import controls as book_controls
from selfhost.charts import controls
from selfhost.data.profile import ARTICLE_PROFILE
from selfhost.errors import ParameterError
from selfhost.prices import ApiPrice
from selfhost.profile import profile_from_mapping
from selfhost.units import HOURS_PER_MONTH

# ---------------------------------------------------------------------- shared with tests/book/test_controls.py
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def expected(wide: plan.PlanInputs, apis, state: pc.ControlState) -> dict[str, Any]:
    """What the page must show at ``state``: the refusal, or the plan's figures (make_plan at the same inputs)."""
    why = pc.refusal(state)
    if why:
        return {"refused": why}
    inputs = pc.inputs_at(wide, apis, state)
    p = plan.make_plan(inputs, with_flips=False)
    return {"refused": "", "plan": p, "inputs": inputs}


def _close(shown: str, value: float) -> bool:
    """``shown`` (thousands separators, some decimals) is ``value`` rounded."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(float(shown.replace(",", "")) - value) <= 0.5 * 10**-decimals * (1 + 1e-9) + 1e-9 * abs(value)


def counted(n: int, noun: str) -> str:
    """``3 GPUs``, ``1 GPU``: how the lines count."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def numbers_match(line: str, values: list[float]) -> None:
    shown = NUMBER.findall(line)
    assert len(shown) == len(values), (line, values)
    for s, v in zip(shown, values):
        assert _close(s, v), f"{line!r}: {s} is not {v} rounded"


def check_lines(lines: dict[str, str], exp: dict[str, Any]) -> None:
    """The text the reader sees, line by line, against the plan's figures (to within the digits shown)."""
    if exp["refused"]:
        assert lines["line_answer"] == "Refused: " + exp["refused"]
        assert all(lines[k] == "" for k in lines if k != "line_answer")
        return
    p: plan.Plan = exp["plan"]
    d, q = p.deployment, p.reference
    api_prefix = f"API, {q.api}: "
    assert lines["line_api"].startswith(api_prefix), lines["line_api"]
    numbers_match(lines["line_api"][len(api_prefix):], [q.api_usd_per_month, q.blended_usd_per_mtok])
    if d is None:
        assert lines["line_answer"] == "Use the API: no candidate deployment meets the targets"
        assert lines["line_deployment"] == lines["line_selfhost"] == lines["line_breakeven"] == ""
        return
    assert lines["line_answer"] == ("Self-host" if p.answer == plan.SELF_HOST else "Use the API")
    assert lines["line_deployment"] == (f"Deployment: {counted(d.replicas, 'replica')} of {d.gpus_per_replica} x {d.gpu} at "
                                        f"{d.weight_dtype} ({counted(d.gpus_total, 'GPU')})")
    numbers_match(lines["line_selfhost"], [d.selfhost_usd_per_month, d.gpus_total, d.gpu_usd_per_hour,
                                            HOURS_PER_MONTH, d.ops_usd_per_month])
    if q.breakeven_tok_per_day is None:
        assert lines["line_breakeven"] == "Break-even: never"
    else:
        numbers_match(lines["line_breakeven"], [q.breakeven_tok_per_day / 1e6])
    numbers_match(lines["line_capacity"], [d.capacity_tok_per_day / 1e6, p.traffic.peak_tok_per_day / 1e6])


def check_figures(fig: dict[str, Any], signals: dict[str, Any], exp: dict[str, Any]) -> None:
    """The browser's numbers (the figures' datum and signals) against the plan's, to 1e-9."""
    check_lines({k: v for k, v in fig.items() if k.startswith("line_")}, exp)
    if exp["refused"]:
        assert signals["problem"] == exp["refused"]
        return
    p: plan.Plan = exp["plan"]
    d, q = p.deployment, p.reference
    assert signals["problem"] == ""
    assert signals["blended_usd_per_mtok"] == pytest.approx(q.blended_usd_per_mtok, rel=1e-12)
    assert signals["api_usd_per_month"] == pytest.approx(q.api_usd_per_month, rel=1e-12)
    assert fig["answer"] == p.answer
    assert fig["has_deployment"] == (d is not None)
    if d is None:
        return
    assert (fig["gpu_key"], fig["weight_dtype"], fig["gpus_per_replica"]) == (d.gpu_key, d.weight_dtype,
                                                                            d.gpus_per_replica)
    assert (fig["replicas"], fig["gpus_total"], fig["spare_replicas"]) == (d.replicas, d.gpus_total,
                                                                         d.spare_replicas)
    assert fig["cap"] == d.replica_capacity_tok_per_day
    assert fig["selfhost_usd_per_month"] == pytest.approx(d.selfhost_usd_per_month, rel=1e-12)
    assert fig["capacity_tok_per_day"] == pytest.approx(d.capacity_tok_per_day, rel=1e-12)
    if q.breakeven_tok_per_day is None:
        assert fig["breakeven_tok_per_day"] is None
    else:
        assert fig["breakeven_tok_per_day"] == pytest.approx(q.breakeven_tok_per_day, rel=1e-9)


def check_curves(selfhost: list[list[float]], api: list[list[float]], exp: dict[str, Any]) -> None:
    """The chart's points: volumes as :func:`selfhost.plan.cost_curve`'s, costs as the plan's functions at them."""
    if exp["refused"]:
        assert selfhost == [] and api == []
        return
    p: plan.Plan = exp["plan"]
    volumes = sorted({r["mtok_per_day"] * 1e6 for r in plan.cost_curve(p)})
    assert sorted(v for v, _ in api) == pytest.approx(volumes, rel=1e-12)
    for v, cost in api:
        assert cost == pytest.approx(plan.api_usd_per_month(p.reference.blended_usd_per_mtok, v), rel=1e-12)
    if p.deployment is None:
        assert selfhost == []
        return
    assert len(selfhost) == len(volumes)
    for v, cost in selfhost:
        assert cost == pytest.approx(plan.deployment_usd_per_month(p.deployment, v, p.traffic.peak_to_mean_x),
                                     rel=1e-12)


# ---------------------------------------------------------------------- the ranges are lib's
def _profile_accepts(field: str, value: float) -> bool:
    m = copy.deepcopy(ARTICLE_PROFILE)
    if field == "gpu_usd_per_hour":
        m["gpu_usd_per_hour"] = {"a100-80gb": value}
    elif field == "ops_usd_per_month":
        m[field] = value
    else:
        m["traffic"][field] = value
    try:
        profile_from_mapping(m)
    except ParameterError:
        return False
    return True


def _api_accepts(field: str, value: float) -> bool:
    kwargs = {"input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0, field.replace("api_", ""): value}
    try:
        ApiPrice("p", "m", "frontier", "current", cached_input_usd_per_mtok=None, source="s", retrieved=None,
                 **kwargs)  # type: ignore[arg-type]
    except ParameterError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(pc.RANGES))
def test_each_range_is_the_one_lib_validates(name):
    r = pc.RANGES[name]
    accepts = _api_accepts if name.startswith("api_") else _profile_accepts
    probes = [r.low, math.nextafter(r.low, -math.inf), math.nextafter(r.low, math.inf), -1.0, 0.5]
    high = r.high if r.high is not None else 1e300
    probes += [high, math.nextafter(high, -math.inf), math.nextafter(high, math.inf), 2 * high]
    for x in probes:
        assert accepts(name, x) == r.contains(x), f"{name} = {x!r}: lib {'accepts' if accepts(name, x) else 'refuses'}"
    for bad in (math.nan, math.inf, -math.inf):
        assert not r.contains(bad)


def test_range_text_is_check_numbers():
    assert pc.RANGES["tok_per_day"].text() == "(0, 1e+15]"
    assert pc.RANGES["input_share"].text() == "(0, 1)"
    assert pc.RANGES["api_input_usd_per_mtok"].text() == "(0, inf)"
    assert pc.refusal_text("gpu_usd_per_hour", "h100-80gb") == "gpu_usd_per_hour (h100-80gb) must be a number in (0, 1000]"


def test_share_grid_and_keys():
    grid = pc.share_grid(0.873)
    assert grid[0] == 0.01 and grid[-1] == 0.99 and 0.873 in grid and 0.3 in grid and len(grid) == 100
    assert len({pc.share_key(s) for s in grid}) == len(grid)


# ---------------------------------------------------------------------- the spec, run by vl-convert
SPARES_PROFILE = {**copy.deepcopy(ARTICLE_PROFILE), "availability": 0.9995, "ops_usd_per_month": 8833.0,
                  "traffic": {"tok_per_day": 4.0e7, "input_share": 0.85, "peak_to_mean_x": 2.0}}
SHARES = (0.3, 0.7, 0.85)


@pytest.fixture(scope="module", params=["article", "spares"])
def setup(request):
    profile = {} if request.param == "article" else SPARES_PROFILE
    inputs, wide, apis = book_controls.resolved(profile)
    table, spares = pc.capacity_table(wide, SHARES)
    return inputs, wide, apis, table, spares


def _svg_lines(spec: dict[str, Any]) -> dict[str, str]:
    """The figures' lines as drawn: each text mark's aria label is ``line_<name>: <text>``."""
    svg = vl_convert.vegalite_to_svg(json.loads(json.dumps(spec)))
    lines = {m[0]: html.unescape(m[1]) for m in re.findall(r'aria-label="(line_\w+): ([^"]*)"', svg)}
    assert sorted(lines) == sorted(n for n, _ in pc.text_exprs())
    return lines


def with_api(state: pc.ControlState, apis, key: str) -> pc.ControlState:
    """``state`` with another API of the table, at its prices (as choosing it in the select does)."""
    api = pc.api_price(apis, key)
    return replace(state, api=key, api_input_usd_per_mtok=api.input_usd_per_mtok,
                   api_output_usd_per_mtok=api.output_usd_per_mtok)


def cheapest_hosted(apis) -> str:
    return min((a for a in apis if a.tier == "hosted-open"), key=lambda a: a.blended_usd_per_mtok(0.7)).key


def _states(inputs, wide, apis):
    base = pc.initial_state(inputs, wide, apis)
    keys = [o.gpu.key for o in wide.gpus]
    yield base
    yield replace(base, tok_per_day=3.3e8, input_share=0.3, gpus=tuple(keys))
    yield with_api(replace(base, tok_per_day=2.0e5, peak_to_mean_x=4.0), apis, cheapest_hosted(apis))
    yield replace(base, tok_per_day=2.1e9, input_share=0.85, gpus=tuple(keys[1:]), ops_usd_per_month=0.0)
    yield with_api(replace(base, tok_per_day=4.5e7, gpu_usd_per_hour={k: v * 0.5 for k, v in
                                                                    base.gpu_usd_per_hour.items()}), apis, "openai/gpt-5")


def test_the_spec_shows_the_plans_figures(setup):
    inputs, wide, apis, table, spares = setup
    for state in _states(inputs, wide, apis):
        chart = controls.plan_controls(pc.inputs_at(wide, apis, state), wide, apis, table, spares)
        check_lines(_svg_lines(chart.spec), expected(wide, apis, state))


def test_no_deployment_and_a_refusal_are_said(setup):
    inputs, wide, apis, table, spares = setup
    empty = [{**row, "caps": dict.fromkeys(row["caps"])} for row in table]
    lines = _svg_lines(controls.plan_controls(inputs, wide, apis, empty, spares).spec)
    assert lines["line_answer"] == "Use the API: no candidate deployment meets the targets"
    assert lines["line_api"].startswith(f"API, {inputs.reference_api}: $")
    spec = controls.plan_controls(inputs, wide, apis, table, spares).spec
    for p in spec["params"]:
        if p["name"] == "tok_per_day":
            p["value"] = 0
    assert _svg_lines(spec)["line_answer"] == "Refused: tok_per_day must be a number in (0, 1e+15]"


def test_controls_are_bound_with_units_and_ranges(setup):
    inputs, wide, apis, table, spares = setup
    spec = controls.plan_controls(inputs, wide, apis, table, spares).spec
    binds = {p["name"]: p["bind"] for p in spec["params"] if "bind" in p}
    assert binds["tok_per_day"] == {"input": "number", "name": "traffic, mean [tokens/day]", "min": 0.0,
                                    "max": 1e15, "step": "any"}
    assert binds["input_share"]["input"] == "range" and binds["input_share"]["min"] == 0.01
    assert binds["api"]["input"] == "select" and len(binds["api"]["options"]) == len(apis)
    for o in wide.gpus:
        assert binds[pc.signal_name("use", o.gpu.key)]["input"] == "checkbox"
        assert "[USD/GPU-hour]" in binds[pc.signal_name("gpu_usd_per_hour", o.gpu.key)]["name"]
    values = {p["name"]: p.get("value") for p in spec["params"]}
    assert values["tok_per_day"] == inputs.traffic.tok_per_day and values["api"] == inputs.reference_api
    assert [values[pc.signal_name("use", o.gpu.key)] for o in wide.gpus] == [
        o.gpu.key in {g.gpu.key for g in inputs.gpus} for o in wide.gpus]
    # The API's prices follow the select: their signals get an update expression in the compiled spec.
    patch = spec["usermeta"]["embedOptions"]["patch"]
    assert [op["op"] for op in patch] == ["add", "add"]
    signals = vl_convert.vegalite_to_vega(json.loads(json.dumps(spec)))["signals"]
    for op in patch:
        index = int(op["path"].split("/")[2])
        assert signals[index]["name"] in ("api_input_usd_per_mtok", "api_output_usd_per_mtok")
        assert op["value"] == [{"events": {"signal": "api"}, "update": signals[index]["init"]}]


def test_the_html_is_offline_and_keeps_the_view(setup):
    inputs, wide, apis, table, spares = setup
    bundle = controls.plan_controls(inputs, wide, apis, table, spares)._repr_mimebundle_()
    page = bundle["text/html"]
    assert 'class="selfhost-controls"' in page and "window.selfhostViews" in page
    assert "http" not in page.replace("http://www.w3.org", "").replace("https://vega.github.io/schema", "")


def test_the_capacity_table_is_the_plans(setup):
    inputs, wide, apis, table, spares = setup
    at = replace(wide, traffic=replace(wide.traffic, input_share=0.3))
    cands = {(c.gpu_key, c.weight_dtype, c.gpus_per_replica): c for c in plan.candidates(at)}
    assert len(table) == len(cands)
    for row in table:
        c = cands[(row["gpu_key"], row["weight_dtype"], row["gpus_per_replica"])]
        assert row["caps"][str(pc.share_key(0.3))] == (c.replica_capacity_tok_per_day if c.meets else None)
        assert row["label"] == c.label
    assert spares == next(iter(cands.values())).spare_replicas
