"""The built break-even page recomputes its costs in headless Chromium, as lib does, with no request going out.

As ``tests/book/test_controls.py`` does for the plan page: :func:`tests.book.controls_driver.drive`
loads the built page from a local server (every other host unresolvable, every request to
another origin aborted), sets the controls' signals through the page's vega view over a grid
of values, then works the page's own inputs (number fields, the sliders, the GPU, GPUs-per-replica
and API selects). At each point every figure the page shows (the answer, the replica, the
self-host cost, the API's blended price and bill, both break-even volumes, the GPUs' mean
utilisation, the cost chart's points) is compared with :func:`selfhost.breakeven.priced_example`
at the same numbers (:func:`selfhost.breakeven_controls.case_at`), and every refused value with
:func:`selfhost.breakeven_controls.refusal`. A screenshot of the controls, moved, is saved in
``_build/screenshots/break-even-controls.png``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import pytest

from selfhost import breakeven_controls as bc
from selfhost import paths
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
from tests.charts.test_breakeven_controls import (
    PAGE_DEFAULTS,
    check_curves,
    check_figures,
    expected,
    make_page,
    with_api,
    with_gpu,
)
from tests.charts.test_controls import cheapest_hosted

pytestmark = [pytest.mark.book, pytest.mark.slow]
SHOTS = paths.BUILD / "screenshots"
#: The signals read back at each state.
SIGNALS = ["tok_per_day", "input_share", "peak_to_mean_x", "gpu", "gpus_per_replica", "gpu_usd_per_hour",
           "ops_usd_per_month", "api", "api_input_usd_per_mtok", "api_output_usd_per_mtok", "problem",
           "blended_usd_per_mtok", "api_usd_per_month"]
#: Every STRIDE-th point of the grid's product is driven (a prime, so that no axis is skipped in step).
STRIDE = 19


@pytest.fixture(scope="module")
def server():
    with serve_book("break-even") as url:
        yield url


def signal_steps(state: bc.BreakevenState) -> list[dict]:
    """The signals of ``state``: the selects first (the prices follow them), then the rest."""
    rest = {name: getattr(state, name) for name in (*bc.NUMBERS, "gpus_per_replica")}
    return [{"gpu": state.gpu, "api": state.api}, rest]


def grid(page: bc.Page, base: bc.BreakevenState) -> list[bc.BreakevenState]:
    """Every STRIDE-th point of traffic x share x peak x GPU x GPUs per replica x ops x API x price, then values the
    page must refuse, then the page's own numbers again."""
    apis = [base.api, "openai/gpt-5", cheapest_hosted(page.apis)]
    points = itertools.product([2e5, 5e6, 4.5e7, 3.3e8, 2.1e9], sorted({0.3, 0.7, 0.95, base.input_share}),
                               [1.0, 2.5, 4.0], page.gpu_keys, [bc.FEWEST, 1, 8], [0.0, 8833.0], apis,
                               [1.0, 0.55])
    states = []
    for i, (tok, share, peak, gpu, gpus, ops, api, price_x) in enumerate(points):
        if i % STRIDE:
            continue
        s = with_api(page, with_gpu(page, base, gpu), api)
        states.append(replace(s, tok_per_day=tok, input_share=share, peak_to_mean_x=peak, gpus_per_replica=gpus,
                              ops_usd_per_month=ops, gpu_usd_per_hour=round(s.gpu_usd_per_hour * price_x, 2)))
    refused = [replace(base, tok_per_day=0.0), replace(base, tok_per_day=-1.0), replace(base, input_share=0.0),
               replace(base, input_share=1.0), replace(base, peak_to_mean_x=0.5), replace(base, gpu_usd_per_hour=0.0),
               replace(base, gpu_usd_per_hour=-2.5), replace(base, ops_usd_per_month=-1.0),
               replace(base, api_input_usd_per_mtok=0.0), replace(base, api_output_usd_per_mtok=-3.0),
               replace(base, input_share=0.735)]
    return [*states, *refused, base]  # back at the page's numbers, where the ui script starts


def ui_script(page: bc.Page, base: bc.BreakevenState) -> list[tuple[dict, bc.BreakevenState | None]]:
    """Actions on the page's own inputs, each with the state it leaves (None: a refused entry)."""
    other = next(k for k in page.gpu_keys if k != base.gpu)
    steps: list[tuple[dict, bc.BreakevenState | None]] = []
    s = replace(base, tok_per_day=4.0e7)
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "40000000"}, s))
    s = replace(s, input_share=0.85)
    steps.append(({"action": "range", "name": "input_share", "value": "0.85"}, s))
    s = replace(s, peak_to_mean_x=2.5)
    steps.append(({"action": "range", "name": "peak_to_mean_x", "value": "2.5"}, s))
    s = with_gpu(page, s, other)
    steps.append(({"action": "select", "name": "gpu", "value": other}, s))
    s = replace(s, gpu_usd_per_hour=1.8)
    steps.append(({"action": "fill", "name": "gpu_usd_per_hour", "value": "1.8"}, s))
    s = replace(s, gpus_per_replica=8)
    steps.append(({"action": "select", "name": "gpus_per_replica", "value": "8"}, s))
    s = replace(s, ops_usd_per_month=8833.0)
    steps.append(({"action": "fill", "name": "ops_usd_per_month", "value": "8833"}, s))
    s = with_api(page, s, "openai/gpt-5")
    steps.append(({"action": "select", "name": "api", "value": "openai/gpt-5"}, s))
    s = replace(s, api_input_usd_per_mtok=2.0)
    steps.append(({"action": "fill", "name": "api_input_usd_per_mtok", "value": "2"}, s))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "-5"}, replace(s, tok_per_day=-5.0)))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": ""}, None))
    steps.append(({"action": "fill", "name": "tok_per_day", "value": "40000000"}, s))
    return steps


def deviations(seen: dict, exp: dict) -> list[float]:
    """The relative differences of the browser's figures from lib's at one state (none when refused or unserved)."""
    if exp["refused"]:
        return []
    ex, sig, fig = exp["ex"], seen["signals"], seen["figures"]
    pairs = [(sig["blended_usd_per_mtok"], ex["blended_usd_per_mtok"]), (sig["api_usd_per_month"], ex["api_usd_per_month"])]
    if exp["fit"].fits:
        pairs += [(fig["selfhost_usd_per_month"], ex["selfhost_usd_per_month"]),
                  (fig["utilisation_share"], ex["utilisation_share"])]
        pairs += [(fig[k], ex[k]) for k in ("first_breakeven_tok_per_day", "breakeven_tok_per_day") if fig[k] is not None]
    return [abs(a - b) / abs(b) if b else abs(a) for a, b in pairs]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test-deps installs it)")
def test_the_controls_recompute_the_break_even_in_the_browser_with_no_request(server):
    page = make_page(PAGE_DEFAULTS | {k: v for k, v in page_parameters(paths.EXECUTED / "break-even.ipynb").items()
                                      if k in PAGE_DEFAULTS})
    base = bc.initial_state(page)
    states = grid(page, base)
    ui = ui_script(page, base)
    SHOTS.mkdir(parents=True, exist_ok=True)
    job = {"url": f"{server}/book/analyses/break-even.html", "chromium": CHROMIUM, "flags": FLAGS,
           "screenshot": str(SHOTS / "break-even-controls.png"), "states": [signal_steps(s) for s in states],
           "ui": [a for a, _ in ui], "signals": SIGNALS}
    out = drive(job)
    check_offline(out, server)
    check_drawn_inside(out)

    # The controls start at the page's parameters, and show the page's own worked example there.
    first = out["initial"]
    sig = first["signals"]
    assert {k: sig[k] for k in ("tok_per_day", "input_share", "peak_to_mean_x", "gpu", "gpus_per_replica",
                                "gpu_usd_per_hour", "ops_usd_per_month", "api")} == {
        k: getattr(base, k) for k in ("tok_per_day", "input_share", "peak_to_mean_x", "gpu", "gpus_per_replica",
                                      "gpu_usd_per_hour", "ops_usd_per_month", "api")}
    check_figures(first["figures"], sig, expected(page, base))
    glued = ledger.glued(paths.EXECUTED / "break-even.ipynb")
    assert first["figures"]["answer"] == glued["answer"]
    assert sig["api_usd_per_month"] == pytest.approx(glued["api_usd_per_month"], rel=1e-12)
    assert first["figures"]["breakeven_tok_per_day"] == pytest.approx(glued["breakeven_tok_per_day"], rel=1e-9)

    # Over the grid: every figure is lib's.
    assert len(out["states"]) == len(states)
    answers, worst = set(), 0.0
    for state, seen in zip(states, out["states"]):
        exp = expected(page, state)
        worst = max([worst, *deviations(seen, exp)])
        try:
            check_figures(seen["figures"], seen["signals"], exp)
            check_curves(seen["selfhost"], seen["api"], exp)
        except AssertionError as exc:
            raise AssertionError(f"at {state}: {exc}") from exc
        answers.add("refused" if exp["refused"] else seen["figures"]["answer"])
    assert answers == {"self-host", "api", "refused"}, "the grid should reach both answers and refusals"
    (SHOTS / "break-even-controls-parity.json").write_text(json.dumps(
        {"states": len(states), "refused": sum(1 for s in states if bc.refusal(s, page.shares)),
         "max_relative_deviation": worst}))

    # The page's own inputs: typing, sliding and choosing change the figures alike.
    for (action, state), seen in zip(ui, out["ui"]):
        if state is None:  # an empty field
            assert seen["figures"]["line_answer"] == "Refused: " + bc.refusal_text("tok_per_day"), action
            continue
        try:
            check_figures(seen["figures"], seen["signals"], expected(page, state))
        except AssertionError as exc:
            raise AssertionError(f"after {action}: {exc}") from exc
        if action["action"] == "select" and action["name"] == "api":  # choosing an API fills in its prices
            assert float(seen["inputs"]["api_input_usd_per_mtok"]) == state.api_input_usd_per_mtok
            assert float(seen["inputs"]["api_output_usd_per_mtok"]) == state.api_output_usd_per_mtok
        if action["action"] == "select" and action["name"] == "gpu":  # choosing a GPU fills in its price
            assert float(seen["inputs"]["gpu_usd_per_hour"]) == state.gpu_usd_per_hour
    assert out["ui"][-1]["figures"]["line_selfhost"] != first["figures"]["line_selfhost"]
    assert (SHOTS / "break-even-controls.png").stat().st_size > 10_000
