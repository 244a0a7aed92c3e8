"""The break-even page's live controls: their ranges are lib's, and the spec's figures are
:func:`selfhost.breakeven.priced_example`'s.

Without a browser: vl-convert runs the spec's dataflow (the same vega the book serves) at
control values set in the spec, and renders it to SVG; the figures' text is compared with
lib at the same numbers. ``tests/book/test_breakeven_controls.py`` drives the built page in
Chromium. The helpers here (:func:`expected`, :func:`check_figures`, :func:`check_curves`,
:func:`make_page`) are shared with that test.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest
import vl_convert

from selfhost import breakeven as be
from selfhost import breakeven_controls as bc
from selfhost import costs
from selfhost import plan_controls as pc
from selfhost.book import controls as book_controls
from selfhost.charts import controls
from selfhost.data.prices import load_serving_setup
from selfhost.errors import ParameterError
from selfhost.prices import ApiPrice
from selfhost.units import HOURS_PER_MONTH
from tests.charts.test_controls import counted, numbers_match

# ---------------------------------------------------------------------- shared with tests/book/test_breakeven_controls.py
#: The break-even page's defaults (notebooks/break-even.ipynb), as make_page takes them.
PAGE_DEFAULTS: dict[str, Any] = {
    "model": "llama-3.3-70b", "gpu": "A100 80GB", "gpu_usd_per_hour": 2.50, "weight_dtype": "best",
    "gpus_per_replica": 0, "min_replicas": 1, "prompt_tokens": 512, "slo_ttft_ms": 1000.0, "slo_tpot_ms": 100.0,
    "kv_cache_dtype": "by-gpu", "input_share": 0.7, "peak_to_mean_x": 1.0, "cached_share": 0.0,
    "ops_usd_per_month": 0.0, "batch_api": False, "api_input_usd_per_mtok": 3.0, "api_output_usd_per_mtok": 15.0,
    "tok_per_day": 5.0e6,
}


def make_page(p: dict[str, Any]) -> bc.Page:
    """The controls' page from the break-even page's parameters, built as the notebook builds its case."""
    setup = load_serving_setup(p["model"], p["gpu"], weight_dtype=p["weight_dtype"],
                               gpus_per_replica=p["gpus_per_replica"] or None, prompt_tokens=p["prompt_tokens"],
                               slo_ttft_ms=p["slo_ttft_ms"], slo_tpot_ms=p["slo_tpot_ms"],
                               kv_cache_dtype=p["kv_cache_dtype"])
    traffic = costs.Traffic(0.0, p["input_share"], p["peak_to_mean_x"], p["cached_share"])
    case = be.CostCase(setup, p["gpu_usd_per_hour"], p["ops_usd_per_month"], traffic, batch=p["batch_api"],
                       min_replicas=p["min_replicas"])
    return book_controls.breakeven_page(
        case, p["tok_per_day"], be.numbers_price(p["api_input_usd_per_mtok"], p["api_output_usd_per_mtok"]),
        model=p["model"], weight_dtype=p["weight_dtype"], prompt_tokens=p["prompt_tokens"],
        slo_ttft_ms=p["slo_ttft_ms"], slo_tpot_ms=p["slo_tpot_ms"], kv_cache_dtype=p["kv_cache_dtype"])


def with_api(page: bc.Page, state: bc.BreakevenState, key: str) -> bc.BreakevenState:
    """``state`` with another API of the select, at its prices (as choosing it does)."""
    api = bc.api_price(page, key)
    return replace(state, api=key, api_input_usd_per_mtok=api.input_usd_per_mtok,
                   api_output_usd_per_mtok=api.output_usd_per_mtok)


def with_gpu(page: bc.Page, state: bc.BreakevenState, key: str) -> bc.BreakevenState:
    """``state`` with another GPU of the select, at its starting price (as choosing it does)."""
    return replace(state, gpu=key, gpu_usd_per_hour=page.gpu_prices[key])


def expected(page: bc.Page, state: bc.BreakevenState) -> dict[str, Any]:
    """What the page must show at ``state``: the refusal, or lib's figures (priced_example at the same inputs)."""
    why = bc.refusal(state, page.shares)
    if why:
        return {"refused": why}
    case, api = bc.case_at(page, state)
    return {"refused": "", "case": case, "api": page.api_label(api), "ex": be.priced_example(case, api, state.tok_per_day),
            "fit": case.fit}


def check_lines(lines: dict[str, str], exp: dict[str, Any]) -> None:
    """The text the reader sees, line by line, against lib's figures (to within the digits shown)."""
    if exp["refused"]:
        assert lines["line_answer"] == "Refused: " + exp["refused"]
        assert all(lines[k] == "" for k in lines if k != "line_answer")
        return
    ex, fit = exp["ex"], exp["fit"]
    prefix = f"API, {exp['api']}: "
    assert lines["line_api"].startswith(prefix), lines["line_api"]
    numbers_match(lines["line_api"][len(prefix):], [ex["api_usd_per_month"], ex["blended_usd_per_mtok"]])
    gpu = exp["case"].setup.gpu.gpu
    if not fit.fits:
        why = "the model does not fit on" if fit.weight_dtype == "none" else "no batch meets the latency target on"
        assert lines["line_answer"] == f"Use the API: {why} {fit.gpus_count} x {gpu}"
        assert all(lines[k] == "" for k in lines if k not in ("line_answer", "line_api"))
        return
    assert lines["line_answer"] == ("Self-host" if ex["answer"] == be.SELF_HOST else "Use the API")
    assert lines["line_deployment"] == (f"Deployment: {counted(ex['replicas_count'], 'replica')} of {fit.gpus_count} x "
                                        f"{gpu} at {fit.weight_dtype} ({counted(ex['replicas_count'] * fit.gpus_count, 'GPU')})")
    numbers_match(lines["line_capacity"], [fit.capacity_tok_per_day / 1e6])
    numbers_match(lines["line_selfhost"], [ex["selfhost_usd_per_month"], ex["replicas_count"] * fit.gpus_count,
                                            ex["gpu_usd_per_hour"], HOURS_PER_MONTH, ex["ops_usd_per_month"]])
    lasting, first = ex["breakeven_tok_per_day"], ex["first_breakeven_tok_per_day"]
    if math.isinf(lasting):
        assert lines["line_breakeven"] == "Break-even: never (a full replica earns less at this price than it costs)"
    else:
        numbers_match(lines["line_breakeven"], [lasting / 1e6] + ([first / 1e6] if first < lasting else []))
    numbers_match(lines["line_busy"], [ex["utilisation_share"] * 100, ex["peak_to_mean_x"]])


def check_figures(fig: dict[str, Any], signals: dict[str, Any], exp: dict[str, Any]) -> None:
    """The browser's numbers (the figures' datum and signals) against lib's, to 1e-12 (the break-evens to 1e-9)."""
    check_lines({k: v for k, v in fig.items() if k.startswith("line_")}, exp)
    if exp["refused"]:
        assert signals["problem"] == exp["refused"]
        return
    ex, fit = exp["ex"], exp["fit"]
    assert signals["problem"] == ""
    assert signals["blended_usd_per_mtok"] == pytest.approx(ex["blended_usd_per_mtok"], rel=1e-12)
    assert signals["api_usd_per_month"] == pytest.approx(ex["api_usd_per_month"], rel=1e-12)
    assert fig["answer"] == ex["answer"]
    assert fig["serves"] == fit.fits
    assert (fig["gpus_count"], fig["replica_capacity_tok_per_day"]) == (fit.gpus_count, fit.capacity_tok_per_day
                                                                        if fit.fits else 0.0)
    if not fit.fits:
        return
    assert fig["replicas_count"] == ex["replicas_count"]
    assert fig["selfhost_usd_per_month"] == pytest.approx(ex["selfhost_usd_per_month"], rel=1e-12)
    assert fig["utilisation_share"] == pytest.approx(ex["utilisation_share"], rel=1e-12)
    for name in ("first_breakeven_tok_per_day", "breakeven_tok_per_day"):
        if math.isinf(ex[name]):
            assert fig[name] is None, name
        else:
            assert fig[name] == pytest.approx(ex[name], rel=1e-9), name


def check_curves(selfhost: list[list[float]], api: list[list[float]], exp: dict[str, Any]) -> None:
    """The chart's points: volumes as :func:`selfhost.breakeven_controls.curve_volumes`', costs as lib's at them."""
    if exp["refused"]:
        assert selfhost == [] and api == []
        return
    ex, case = exp["ex"], exp["case"]
    first = ex["first_breakeven_tok_per_day"] if exp["fit"].fits else math.inf
    lasting = ex["breakeven_tok_per_day"] if exp["fit"].fits else math.inf
    volumes = bc.curve_volumes(ex["tok_per_day"], first, lasting)
    assert sorted(v for v, _ in api) == pytest.approx(volumes, rel=1e-12)
    for v, cost in api:
        assert cost == pytest.approx(costs.spend_usd_per_month(v, ex["blended_usd_per_mtok"]), rel=1e-12)
    if not exp["fit"].fits:
        assert selfhost == []
        return
    assert len(selfhost) == len(volumes)
    for v, cost in selfhost:
        assert cost == pytest.approx(case.deployment.monthly(case.traffic.at(v)).total_usd_per_month, rel=1e-12)


# ---------------------------------------------------------------------- the ranges are lib's
def _lib_accepts(name: str, value: float) -> bool:
    """Whether lib takes ``value`` for the control ``name`` where the page's cost model reads it."""
    try:
        if name == "tok_per_day":
            be.worked_example(be.CostCase(None, 2.5), 3.0, 15.0, tok_per_day=value)
        elif name == "input_share":
            costs.Traffic(0.0, value)
            be.replica_fit.__wrapped__(_SETUP, value)
        elif name == "peak_to_mean_x":
            costs.Traffic(0.0, 0.7, value)
        elif name == "gpu_usd_per_hour":
            costs.Deployment(value)
        elif name == "ops_usd_per_month":
            costs.Deployment(2.5, ops_usd_per_month=value)
        else:
            kwargs = {"input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0, name.replace("api_", ""): value}
            ApiPrice("p", "m", "frontier", "current", cached_input_usd_per_mtok=None, source="s", retrieved=None,
                     **kwargs)  # type: ignore[arg-type]
    except ParameterError:
        return False
    return True


_SETUP = load_serving_setup("llama-3.3-70b", "A100 80GB")


@pytest.mark.parametrize("name", sorted(bc.RANGES))
def test_each_range_is_the_one_lib_validates(name):
    r = bc.RANGES[name]
    # lib refuses an input share so small that a request's output overflows (5e-324); the slider starts at 0.01
    above_low = 1e-6 if name == "input_share" else math.nextafter(r.low, math.inf)
    probes = [r.low, math.nextafter(r.low, -math.inf), above_low, -1.0, 0.5, 1e300]
    if r.high is not None:
        probes += [r.high, math.nextafter(r.high, -math.inf), math.nextafter(r.high, math.inf)]
    for x in probes:
        lib = _lib_accepts(name, x)
        assert lib == r.contains(x), f"{name} = {x!r}: lib {'accepts' if lib else 'refuses'}"
    for bad in (math.nan, math.inf, -math.inf):
        assert not r.contains(bad) and not _lib_accepts(name, bad)


# ---------------------------------------------------------------------- the spec, run by vl-convert
SHARES = (0.3, 0.7, 0.85)


@pytest.fixture(scope="module", params=["article", "book-ops"])
def built(request):
    params = dict(PAGE_DEFAULTS)
    if request.param == "book-ops":
        params |= {"ops_usd_per_month": 8833.0, "peak_to_mean_x": 2.5, "min_replicas": 2, "gpu": "H100 SXM",
                   "gpu_usd_per_hour": 2.99, "batch_api": True, "cached_share": 0.3, "tok_per_day": 4.0e7}
    page = replace(make_page(params), shares=SHARES)
    return page, bc.replica_table(page.setups, page.shares)


CONTROLS = ("tok_per_day", "input_share", "peak_to_mean_x", "gpu", "gpus_per_replica", "gpu_usd_per_hour",
            "ops_usd_per_month", "api", "api_input_usd_per_mtok", "api_output_usd_per_mtok")


def spec_at(spec: dict[str, Any], state: bc.BreakevenState) -> dict[str, Any]:
    """The spec with its controls standing at ``state`` (each control's value set, its expression dropped)."""
    out = json.loads(json.dumps(spec))
    for p in out["params"]:
        if p["name"] in CONTROLS:
            p.pop("expr", None)
            p["value"] = getattr(state, p["name"])
    out.pop("usermeta", None)
    return out


def _svg(spec: dict[str, Any]) -> str:
    return vl_convert.vegalite_to_svg(json.loads(json.dumps(spec)))


def svg_lines(svg: str) -> dict[str, str]:
    """The figures' lines as drawn: each text mark's aria label is ``line_<name>: <text>``."""
    lines = {m[0]: html.unescape(m[1]) for m in re.findall(r'aria-label="(line_\w+): ([^"]*)"', svg)}
    assert sorted(lines) == sorted(n for n, _ in bc.text_exprs())
    return lines


def _states(page: bc.Page):
    base = bc.initial_state(page)
    keys = page.gpu_keys
    yield base
    yield replace(base, tok_per_day=3.3e8, input_share=0.3, gpus_per_replica=8)
    yield with_api(page, replace(base, tok_per_day=2.0e5, peak_to_mean_x=4.0), "together/llama-3.3-70b-instruct-turbo")
    yield with_gpu(page, replace(base, tok_per_day=2.1e9, input_share=0.85, ops_usd_per_month=0.0), keys[-1])
    yield with_api(page, replace(base, tok_per_day=4.5e7, gpu_usd_per_hour=1.1), "openai/gpt-5")
    yield replace(base, gpus_per_replica=1, input_share=0.3)


def test_the_spec_shows_libs_figures(built):
    page, table = built
    spec = controls.breakeven_controls(page, table).spec
    for state in _states(page):
        try:
            check_lines(svg_lines(_svg(spec_at(spec, state))), expected(page, state))
        except AssertionError as exc:
            raise AssertionError(f"at {state}: {exc}") from exc


def test_a_refusal_is_said_by_name(built):
    page, table = built
    spec = controls.breakeven_controls(page, table).spec
    base = bc.initial_state(page)
    for state in (replace(base, tok_per_day=0.0), replace(base, peak_to_mean_x=0.5), replace(base, input_share=0.5),
                  replace(base, gpu_usd_per_hour=-2.0), replace(base, api_output_usd_per_mtok=0.0)):
        assert svg_lines(_svg(spec_at(spec, state)))["line_answer"] == "Refused: " + bc.refusal(state, page.shares)
    assert bc.refusal(replace(base, tok_per_day=-1.0), page.shares) == "tok_per_day must be a number in (0, inf)"
    assert bc.refusal(replace(base, input_share=0.5), page.shares) == bc.OFF_GRID


def test_controls_are_bound_with_units_ranges_and_the_pages_values(built):
    page, table = built
    spec = controls.breakeven_controls(page, table).spec
    binds = {p["name"]: p["bind"] for p in spec["params"] if "bind" in p}
    assert binds["tok_per_day"] == {"input": "number", "name": "traffic, mean [tokens/day]", "min": 0.0,
                                    "step": "any"}
    assert binds["gpu"]["input"] == "select" and binds["gpu"]["options"] == page.gpu_keys
    assert binds["gpus_per_replica"]["options"] == page.gpus_choices
    assert binds["gpus_per_replica"]["labels"][0] == "fewest it fits on"
    assert binds["api"]["options"][0] == page.page_api.key and len(binds["api"]["options"]) == len(page.apis) + 1
    values = {p["name"]: p.get("value") for p in spec["params"]}
    base = bc.initial_state(page)
    assert (values["tok_per_day"], values["input_share"], values["gpu"], values["api"]) == (
        base.tok_per_day, base.input_share, base.gpu, base.api)
    assert values["gpu_prices"][base.gpu] == page.case.gpu_usd_per_hour
    # The GPU's price follows its select, the API's prices theirs: each signal gets an event handler.
    patch = spec["usermeta"]["embedOptions"]["patch"]
    signals = vl_convert.vegalite_to_vega(json.loads(json.dumps(spec)))["signals"]
    followed = {signals[int(op["path"].split("/")[2])]["name"]: op["value"][0]["events"]["signal"] for op in patch}
    assert followed == {"gpu_usd_per_hour": "gpu", "api_input_usd_per_mtok": "api", "api_output_usd_per_mtok": "api"}


def test_batch_pricing_fills_in_the_batch_prices(built):
    page, _ = built
    openai = bc.api_price(page, "openai/gpt-5")
    listed = next(a for a in page.apis if a.key == "openai/gpt-5")
    if page.case.batch and listed.has_batch:
        assert openai.input_usd_per_mtok == listed.batch_input_usd_per_mtok
        assert not openai.has_batch
    else:
        assert openai.input_usd_per_mtok == listed.input_usd_per_mtok


def test_the_replica_table_is_replica_fits(built):
    page, table = built
    assert len(table) == len(page.setups)
    for row in table:
        setup = page.setups[(row["gpu_key"], row["gpus_choice"])]
        fit = be.replica_fit(setup, 0.3)
        assert row["fits"][str(pc.share_key(0.3))] == [fit.gpus_count, fit.capacity_tok_per_day if fit.fits else 0.0,
                                                       fit.weight_dtype]
