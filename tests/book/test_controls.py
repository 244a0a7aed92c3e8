"""The built "Your deployment" page recomputes the plan in headless Chromium, as lib does, with no request going out.

:func:`tests.book.controls_driver.drive` (the pinned Python playwright on Debian's chromium,
which ``make test-deps`` installs) loads the built page from a local server, with every other host unresolvable and
every request to another origin aborted, then sets the controls' signals through the
page's vega view over a grid of values, and works the page's own inputs (number fields, the
sliders, a checkbox, the API select). At each point every figure the page shows (the
answer, the deployment, its monthly cost, the API's blended price and bill, the break-even
volume, the capacity, the cost chart's points) is compared with :func:`selfhost.plan.make_plan`
at the same numbers (:func:`selfhost.plan_controls.inputs_at`), and every refused value with
:func:`selfhost.plan_controls.refusal`. A screenshot of the page's controls, moved, is saved
in ``_build/screenshots/plan-controls.png``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest

from selfhost import paths, plan
from selfhost import plan_controls as pc
from selfhost.book import controls as book_controls
from selfhost.book import ledger
from tests.book.controls_driver import (
    CHROMIUM,
    FLAGS,
    check_drawn_inside,
    check_offline,
    drive,
    page_parameters,
    serve_book,
)
from tests.charts.test_controls import cheapest_hosted, check_curves, check_figures, expected, with_api

pytestmark = [pytest.mark.book, pytest.mark.slow]
SHOTS = paths.BUILD / "screenshots"


#: The signals read back at each state.
SIGNALS = ["tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month", "api", "api_input_usd_per_mtok",
           "api_output_usd_per_mtok", "problem", "blended_usd_per_mtok", "api_usd_per_month"]


def deviations(seen: dict, exp: dict) -> list[float]:
    """The relative differences of the browser's figures and curve points from lib's at one state (none when refused)."""
    if exp["refused"]:
        return []
    p, sig, fig = exp["plan"], seen["signals"], seen["figures"]
    pairs = [(sig["blended_usd_per_mtok"], p.reference.blended_usd_per_mtok),
             (sig["api_usd_per_month"], p.reference.api_usd_per_month)]
    pairs += [(cost, plan.api_usd_per_month(p.reference.blended_usd_per_mtok, v)) for v, cost in seen["api"]]
    d = p.deployment
    if d is not None:
        pairs += [(fig["selfhost_usd_per_month"], d.selfhost_usd_per_month),
                  (fig["capacity_tok_per_day"], d.capacity_tok_per_day)]
        if p.reference.breakeven_tok_per_day is not None:
            pairs.append((fig["breakeven_tok_per_day"], p.reference.breakeven_tok_per_day))
        pairs += [(cost, plan.deployment_usd_per_month(d, v, p.traffic.peak_to_mean_x)) for v, cost in seen["selfhost"]]
    return [abs(a - b) / abs(b) if b else abs(a) for a, b in pairs]


def page_profile() -> dict:
    """The profile the built page was executed with (papermill's injected parameters; none: the article's)."""
    return page_parameters(paths.EXECUTED / "plan.ipynb").get("profile") or {}


@pytest.fixture(scope="module")
def server():
    with serve_book("plan") as url:
        yield url


def signal_steps(state: pc.ControlState, keys: list[str]) -> list[dict]:
    """The signals of ``state``: the API first (its prices follow it), then the rest."""
    rest = {"tok_per_day": state.tok_per_day, "input_share": state.input_share,
            "peak_to_mean_x": state.peak_to_mean_x, "ops_usd_per_month": state.ops_usd_per_month,
            "api_input_usd_per_mtok": state.api_input_usd_per_mtok,
            "api_output_usd_per_mtok": state.api_output_usd_per_mtok}
    for k in keys:
        rest[pc.signal_name("use", k)] = k in state.gpus
        rest[pc.signal_name("gpu_usd_per_hour", k)] = state.gpu_usd_per_hour[k]
    return [{"api": state.api}, rest]


def grid(base: pc.ControlState, keys: list[str], apis) -> list[pc.ControlState]:
    """Every 7th point of traffic x share x peak x GPUs x prices x ops x API, then values the page must refuse,
    then the page's own numbers again."""
    cheaper = {k: round(v * 0.55, 2) for k, v in base.gpu_usd_per_hour.items()}
    gpu_sets = [base.gpus, tuple(k for k in keys if k != keys[0]) or base.gpus, tuple(keys)]
    api_states = [with_api(base, apis, base.api),
                  replace(with_api(base, apis, "openai/gpt-5"), api_input_usd_per_mtok=2.0,
                          api_output_usd_per_mtok=8.0),
                  with_api(base, apis, cheapest_hosted(apis))]
    points = itertools.product([2e5, 5e6, 4.5e7, 3.3e8, 2.1e9], sorted({0.3, 0.7, 0.95, base.input_share}),
                               [1.0, 2.5, 4.0], gpu_sets, [base.gpu_usd_per_hour, cheaper], [0.0, 8833.0],
                               api_states)
    states = [replace(api, tok_per_day=tok, input_share=share, peak_to_mean_x=peak, gpus=gpus,
                      gpu_usd_per_hour=prices, ops_usd_per_month=ops)
              for i, (tok, share, peak, gpus, prices, ops, api) in enumerate(points) if i % 7 == 0]
    first = keys[0]
    refused = [replace(base, tok_per_day=0.0), replace(base, tok_per_day=-1.0), replace(base, tok_per_day=1.5e15),
               replace(base, input_share=0.0), replace(base, input_share=1.0), replace(base, peak_to_mean_x=0.5),
               replace(base, peak_to_mean_x=1001.0), replace(base, ops_usd_per_month=-1.0),
               replace(base, ops_usd_per_month=2e9), replace(base, api_input_usd_per_mtok=0.0),
               replace(base, api_output_usd_per_mtok=-3.0), replace(base, gpus=()),
               replace(base, gpus=(first,), gpu_usd_per_hour={**base.gpu_usd_per_hour, first: 0.0}),
               replace(base, gpus=(first,), gpu_usd_per_hour={**base.gpu_usd_per_hour, first: 1500.0})]
    unticked = [k for k in keys if k not in base.gpus]
    if unticked:  # a price out of range on a GPU that is not a candidate does not matter
        refused.append(replace(base, gpu_usd_per_hour={**base.gpu_usd_per_hour, unticked[0]: 0.0}))
    return [*states, *refused, base]  # back at the page's numbers, where the ui script starts


def ui_script(base: pc.ControlState, keys: list[str], apis) -> list[tuple[dict, pc.ControlState | None]]:
    """Actions on the page's own inputs, each with the state it leaves (None: a refused entry)."""
    other = next((k for k in keys if k not in base.gpus), keys[-1])
    steps: list[tuple[dict, pc.ControlState | None]] = []
    s = replace(base, tok_per_day=4.0e7)
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "40000000"}, s))
    s = replace(s, input_share=0.85)
    steps.append(({"action": "range", "name": "input_share", "value": "0.85"}, s))
    s = replace(s, peak_to_mean_x=2.5)
    steps.append(({"action": "range", "name": "peak_to_mean_x", "value": "2.5"}, s))
    s = replace(s, gpus=(*s.gpus, other))
    steps.append(({"action": "check", "name": pc.signal_name("use", other), "value": True}, s))
    s = replace(s, gpu_usd_per_hour={**s.gpu_usd_per_hour, other: 1.8})
    steps.append(({"action": "fill", "name": pc.signal_name("gpu_usd_per_hour", other), "value": "1.8"}, s))
    s = replace(s, ops_usd_per_month=8833.0)
    steps.append(({"action": "fill", "name": "ops_usd_per_month", "value": "8833"}, s))
    s = with_api(s, apis, "openai/gpt-5")
    steps.append(({"action": "select", "name": "api", "value": "openai/gpt-5"}, s))
    s = replace(s, api_input_usd_per_mtok=2.0)
    steps.append(({"action": "fill", "name": "api_input_usd_per_mtok", "value": "2"}, s))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "-5"}, replace(s, tok_per_day=-5.0)))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": ""}, None))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "40000000"}, s))
    return steps


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test-deps installs it)")
def test_the_controls_recompute_the_plan_in_the_browser_with_no_request(server):
    profile = page_profile()
    inputs, wide, apis = book_controls.resolved(profile)
    keys = [o.gpu.key for o in wide.gpus]
    base = pc.initial_state(inputs, wide, apis)
    states = grid(base, keys, apis)
    ui = ui_script(base, keys, apis)
    SHOTS.mkdir(parents=True, exist_ok=True)
    job = {"url": f"{server}/book/analyses/plan.html", "chromium": CHROMIUM, "flags": FLAGS,
           "screenshot": str(SHOTS / "plan-controls.png"), "states": [signal_steps(s, keys) for s in states],
           "ui": [a for a, _ in ui], "signals": SIGNALS}
    out = drive(job)
    check_offline(out, server)
    check_drawn_inside(out)

    # The controls start at the page's parameters, and show the page's own figures there.
    first = out["initial"]
    sig = first["signals"]
    assert (sig["tok_per_day"], sig["input_share"], sig["peak_to_mean_x"], sig["ops_usd_per_month"], sig["api"]) == (
        base.tok_per_day, base.input_share, base.peak_to_mean_x, base.ops_usd_per_month, base.api)
    check_figures(first["figures"], sig, expected(wide, apis, base))
    glued = ledger.glued(paths.EXECUTED / "plan.ipynb")
    if first["figures"]["has_deployment"]:
        assert first["figures"]["selfhost_usd_per_month"] == pytest.approx(glued["selfhost_usd_per_month"], rel=1e-12)
    assert first["figures"]["answer"] == glued["answer"]

    # Over the grid: every figure is lib's.
    assert len(out["states"]) == len(states)
    answers = set()
    worst = 0.0
    for state, seen in zip(states, out["states"]):
        exp = expected(wide, apis, state)
        worst = max([worst, *deviations(seen, exp)])
        try:
            check_figures(seen["figures"], seen["signals"], exp)
            check_curves(seen["selfhost"], seen["api"], exp)
        except AssertionError as exc:
            raise AssertionError(f"at {state}: {exc}") from exc
        answers.add(seen["figures"]["answer"] if not exp["refused"] else "refused")
    assert answers == {"self-host", "api", "refused"}, "the grid should reach both answers and refusals"
    (SHOTS / "plan-controls-parity.json").write_text(json.dumps(
        {"states": len(states), "refused": sum(1 for s in states if pc.refusal(s)),
         "max_relative_deviation": worst}))

    # The page's own inputs: typing, sliding, ticking and choosing change the figures alike.
    for (action, state), seen in zip(ui, out["ui"]):
        if state is None:  # an empty field
            assert seen["figures"]["line_answer"] == "Refused: " + pc.refusal_text("tok_per_day"), action
            continue
        exp = expected(wide, apis, state)
        try:
            check_figures(seen["figures"], seen["signals"], exp)
        except AssertionError as exc:
            raise AssertionError(f"after {action}: {exc}") from exc
        if action["action"] == "select":  # choosing an API fills in its prices
            assert float(seen["inputs"]["api_input_usd_per_mtok"]) == state.api_input_usd_per_mtok
            assert float(seen["inputs"]["api_output_usd_per_mtok"]) == state.api_output_usd_per_mtok
    assert out["ui"][-1]["figures"]["line_answer"] != first["figures"]["line_answer"] or (
        out["ui"][-1]["figures"]["line_selfhost"] != first["figures"]["line_selfhost"])
    assert (SHOTS / "plan-controls.png").stat().st_size > 10_000
