"""The "Your deployment" page's live controls: what they mean, their ranges, and the plan as browser expressions (pure).

The page's controls (traffic, input share, peak-to-mean, candidate GPUs and their prices,
operating cost, the API and its prices) recompute the plan in the reader's browser, with
no kernel and no network. Two things make that the same plan as :func:`selfhost.plan.make_plan`:

- **Capacity is not recomputed in the browser.** What one replica serves within the
  latency target needs the roofline (:mod:`selfhost.capacity`); :func:`capacity_table`
  computes it here, with :func:`selfhost.plan.candidates` itself, for every candidate GPU x
  weight precision x GPUs per replica over the input-share grid the slider moves on
  (:func:`share_grid`), and the page ships the table. ``None`` marks a deployment that does
  not meet the targets (it does not fit, even one request misses the latency target, or
  the availability target is out of reach).
- **The rest is arithmetic**, written once here as vega expressions (:func:`signal_exprs`,
  :func:`candidate_exprs`, :func:`figure_exprs`) in the same order of operations as
  :mod:`selfhost.plan`: the replicas the peak needs, ``GPUs x $/GPU-hour x hours a month +
  operations``, the cheapest (on a tie: fewer GPUs, the higher precision, fewer replicas), the API's blended
  price and monthly bill, the break-even volume (replicas stepped by capacity, in closed
  form: the smallest replica count whose cost the API's bill reaches), and the answer.
  ``tests/book/test_controls.py`` drives the built page in headless Chromium over a grid
  of control values and compares every figure with :func:`selfhost.plan.make_plan` at
  :func:`inputs_at` the same values.

A control refuses a value outside :data:`RANGES` (the ranges :mod:`selfhost.profile`
validates; ``tests/charts/test_controls.py`` checks them against it): the figures then
name the control and its range instead of a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from selfhost.errors import ParameterError
from selfhost.plan import PRECISION_RANK, PlanInputs, candidates
from selfhost.prices import ApiPrice
from selfhost.units import HOURS_PER_MONTH, TOK_PER_MTOK

#: The input-share slider's grid: 0.01 to 0.99 in steps of 0.01 (the page's own share is added).
SHARE_STEP = 0.01
#: Shares are looked up in the capacity table by ``floor(share x SHARE_KEY_SCALE + 0.5)``.
SHARE_KEY_SCALE = 10_000
#: The cost chart's volumes, as in :func:`selfhost.plan.cost_curve`: low_x to high_x times the traffic.
CURVE_LOW_X, CURVE_HIGH_X, CURVE_POINTS = 0.05, 20.0, 81
#: The most replicas :func:`selfhost.plan.breakeven_tok_per_day` steps through.
MAX_BREAKEVEN_REPLICAS = 100_000


# ---------------------------------------------------------------------- ranges
@dataclass(frozen=True)
class Range:
    """A control's accepted values: ``low`` to ``high`` (None: no bound), each end open or closed."""

    low: float
    high: float | None
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        if not isinstance(x, int | float) or not math.isfinite(x):
            return False
        above = x > self.low if self.low_open else x >= self.low
        below = self.high is None or (x < self.high if self.high_open else x <= self.high)
        return above and below

    def text(self) -> str:
        """``(0, 1e+15]``: the interval as :func:`selfhost.params.check_number` writes it."""
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {high}{')' if self.high_open or self.high is None else ']'}"

    def expr(self, x: str) -> str:
        """A vega expression true when the number ``x`` lies in the range (and is finite)."""
        parts = [f"isValid({x})", f"isFinite({x})", f"{x} {'>' if self.low_open else '>='} {self.low!r}"]
        if self.high is not None:
            parts.append(f"{x} {'<' if self.high_open else '<='} {self.high!r}")
        return "(" + " && ".join(parts) + ")"


@dataclass(frozen=True)
class Control:
    """One control: its signal, what the reader sees (with the unit), its range and its widget."""

    signal: str
    label: str
    unit: str
    range: Range
    widget: str  # "number", "range" (a slider), "checkbox" or "select"
    step: float | None = None


#: The ranges lib validates (``traffic.tok_per_day`` etc. in :func:`selfhost.profile.profile_from_mapping`,
#: prices in :class:`selfhost.prices.ApiPrice`).
RANGES: dict[str, Range] = {
    "tok_per_day": Range(0.0, 1e15, low_open=True),
    "input_share": Range(0.0, 1.0, low_open=True, high_open=True),
    "peak_to_mean_x": Range(1.0, 1000.0),
    "gpu_usd_per_hour": Range(0.0, 1000.0, low_open=True),
    "ops_usd_per_month": Range(0.0, 1e9),
    "api_input_usd_per_mtok": Range(0.0, None, low_open=True),
    "api_output_usd_per_mtok": Range(0.0, None, low_open=True),
}


def signal_name(*parts: str) -> str:
    """A vega signal name from parts (``gpu_usd_per_hour``, ``a100-80gb`` -> ``gpu_usd_per_hour_a100_80gb``)."""
    return "_".join(re.sub(r"\W", "_", p) for p in parts)


def js(value: Any) -> str:
    """A Python value as a vega expression literal (strings quoted, None as null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ParameterError("value", value, "a finite number")
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def count_expr(n: str, noun: str) -> str:
    """A vega expression: the count ``n`` (an expression) and the noun, plural unless it is 1 (``3 GPUs``, ``1 GPU``)."""
    return f"{n} + ({n} == 1 ? {js(' ' + noun)} : {js(' ' + noun + 's')})"


# ---------------------------------------------------------------------- the state of the controls
@dataclass(frozen=True)
class ControlState:
    """Where the controls stand: the inputs a reader moves, in the units the page shows."""

    tok_per_day: float
    input_share: float
    peak_to_mean_x: float
    gpus: tuple[str, ...]
    gpu_usd_per_hour: Mapping[str, float]
    ops_usd_per_month: float
    api: str
    api_input_usd_per_mtok: float
    api_output_usd_per_mtok: float


def initial_state(inputs: PlanInputs, wide: PlanInputs, apis: Sequence[ApiPrice]) -> ControlState:
    """The controls at the page's parameters: ``inputs``' traffic, GPUs, prices, operating cost and API.

    ``wide`` offers more candidate GPUs (their prices from the data); those of ``inputs`` are ticked.
    """
    chosen = {o.gpu.key: o.usd_per_hour for o in inputs.gpus}
    prices = {o.gpu.key: chosen.get(o.gpu.key, o.usd_per_hour) for o in wide.gpus}
    api = api_price(apis, inputs.reference_api)
    t = inputs.traffic
    return ControlState(t.tok_per_day, t.input_share, t.peak_to_mean_x, tuple(chosen), prices,
                        inputs.ops_usd_per_month, api.key, api.input_usd_per_mtok, api.output_usd_per_mtok)


def api_price(apis: Sequence[ApiPrice], key: str) -> ApiPrice:
    for a in apis:
        if a.key == key:
            return a
    raise ParameterError("api", key, "one of the APIs of the dated table")


def refusal(state: ControlState) -> str:
    """Why the controls refuse ``state`` ("" when they accept it): the first control out of its range."""
    for name in ("tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month", "api_input_usd_per_mtok",
                 "api_output_usd_per_mtok"):
        if not RANGES[name].contains(getattr(state, name)):
            return refusal_text(name)
    if not state.gpus:
        return "at least one candidate GPU"
    for key in state.gpus:
        if not RANGES["gpu_usd_per_hour"].contains(state.gpu_usd_per_hour[key]):
            return refusal_text("gpu_usd_per_hour", key)
    return ""


def refusal_text(name: str, gpu: str = "") -> str:
    what = f"{name} ({gpu})" if gpu else name
    return f"{what} must be a number in {RANGES[name].text()}"


def inputs_at(wide: PlanInputs, apis: Sequence[ApiPrice], state: ControlState) -> PlanInputs:
    """The plan inputs the controls stand for: ``wide`` with the state's traffic, GPUs, prices, ops and API.

    The API is the only one compared (the reference), at the state's input and output prices
    (its cached price, where it has one, from the table).
    """
    api = replace(api_price(apis, state.api), input_usd_per_mtok=state.api_input_usd_per_mtok,
                  output_usd_per_mtok=state.api_output_usd_per_mtok)
    gpus = tuple(replace(o, usd_per_hour=state.gpu_usd_per_hour[o.gpu.key]) for o in wide.gpus
                 if o.gpu.key in state.gpus)
    traffic = replace(wide.traffic, tok_per_day=state.tok_per_day, input_share=state.input_share,
                      peak_to_mean_x=state.peak_to_mean_x)
    return replace(wide, traffic=traffic, gpus=gpus, ops_usd_per_month=state.ops_usd_per_month, apis=(api,),
                   reference_api=api.key)


# ---------------------------------------------------------------------- the precomputed capacity table
def share_grid(page_share: float) -> tuple[float, ...]:
    """The shares the slider reaches (0.01 ... 0.99) and the page's own, sorted."""
    steps = round(1 / SHARE_STEP)
    grid = {round(i * SHARE_STEP, 10) for i in range(1, steps)}
    return tuple(sorted(grid | {page_share}))


def share_key(share: float) -> int:
    """The capacity table's key for a share; the browser computes ``floor(share x 10000 + 0.5)`` alike."""
    return math.floor(share * SHARE_KEY_SCALE + 0.5)


def capacity_table(wide: PlanInputs, shares: Sequence[float]) -> tuple[list[dict[str, Any]], int]:
    """Replica capacity per GPU x weight precision x GPUs per replica x input share, and the spare replicas.

    Computed by :func:`selfhost.plan.candidates` at each share (the model, prompt, latency
    and availability targets and engine efficiency of ``wide``). Each row: ``gpu_key``,
    ``gpu``, ``weight_dtype``, ``gpus_per_replica``, ``label`` and ``caps`` (share key ->
    replica capacity [tok/day] within the targets, or None where the deployment does not
    meet them). The spare replicas the availability target adds do not depend on the controls.
    """
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    spares = 0
    for share in shares:
        at = replace(wide, traffic=replace(wide.traffic, input_share=share))
        for c in candidates(at):
            row = rows.setdefault((c.gpu_key, c.weight_dtype, c.gpus_per_replica), {
                "gpu_key": c.gpu_key, "gpu": c.gpu, "weight_dtype": c.weight_dtype,
                "gpus_per_replica": c.gpus_per_replica, "label": c.label,
                "precision_rank": PRECISION_RANK.get(c.weight_dtype, 9), "caps": {}})
            row["caps"][str(share_key(share))] = c.replica_capacity_tok_per_day if c.meets else None
            spares = c.spare_replicas
    return list(rows.values()), spares


# ---------------------------------------------------------------------- the expressions
#: The numeric value of each bound control (number inputs give text) and the page's constants.
def number_signals(gpu_keys: Sequence[str]) -> dict[str, str]:
    """``x_<control>``: each control's value as a number (a number input gives text; empty is null)."""
    out = {f"x_{n}": f"toNumber({n})" for n in ("tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month",
                                                 "api_input_usd_per_mtok", "api_output_usd_per_mtok")}
    for key in gpu_keys:
        out[f"x_{signal_name('gpu_usd_per_hour', key)}"] = f"toNumber({signal_name('gpu_usd_per_hour', key)})"
    return out


def problem_expr(gpu_keys: Sequence[str]) -> str:
    """The first refusal, as :func:`refusal` words it, or ''."""
    checks = [(f"!{RANGES[n].expr('x_' + n)}", refusal_text(n))
              for n in ("tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month", "api_input_usd_per_mtok",
                        "api_output_usd_per_mtok")]
    ticked = " || ".join(signal_name("use", k) for k in gpu_keys) or "false"
    checks.append((f"!({ticked})", "at least one candidate GPU"))
    for key in gpu_keys:
        price = "x_" + signal_name("gpu_usd_per_hour", key)
        checks.append((f"{signal_name('use', key)} && !{RANGES['gpu_usd_per_hour'].expr(price)}",
                       refusal_text("gpu_usd_per_hour", key)))
    return first_refusal(checks)


def first_refusal(checks: Sequence[tuple[str, str]]) -> str:
    """A vega expression: the text of the first ``(condition, text)`` whose condition holds, or ''."""
    expr = "''"
    for cond, text in reversed(checks):
        expr = f"({cond}) ? {js(text)} : {expr}"
    return expr


def api_price_exprs(cached_share: float) -> dict[str, str]:
    """The chosen API's cached price, the cached share that counts (``cached_share`` where the API has a cached
    price, else 0) and its blended price, from the constant ``api_prices`` and the price inputs: as
    :meth:`selfhost.prices.ApiPrice.blended_usd_per_mtok`."""
    return {
        "api_cached_usd_per_mtok": "api_prices[api][2]",
        "cached_share": f"api_cached_usd_per_mtok == null ? 0.0 : {js(float(cached_share))}",
        "blended_usd_per_mtok": (
            "x_input_share * ((1.0 - cached_share) * x_api_input_usd_per_mtok + cached_share * "
            "(api_cached_usd_per_mtok == null ? x_api_input_usd_per_mtok : api_cached_usd_per_mtok)) + "
            "(1.0 - x_input_share) * x_api_output_usd_per_mtok"),
    }


def signal_exprs(gpu_keys: Sequence[str], cached_input_share: float) -> dict[str, str]:
    """Derived signals: the numbers, the refusal, the table key, the API's blended price and bill.

    ``api_prices`` is a constant signal: API key -> [input, output, cached or null] [USD/Mtok].
    Blended as :func:`selfhost.plan.blended_for` (the cached share counts where the API has a
    cached price); the bill as :func:`selfhost.plan.api_usd_per_month`.
    """
    out = number_signals(gpu_keys)
    out["problem"] = problem_expr(gpu_keys)
    out["share_key"] = f"floor(x_input_share * {SHARE_KEY_SCALE} + 0.5)"
    out |= api_price_exprs(cached_input_share)
    out["api_usd_per_month"] = f"x_tok_per_day * {HOURS_PER_MONTH!r} / 24 * blended_usd_per_mtok / {TOK_PER_MTOK!r}"
    out["per_tok_month_usd"] = f"1.0 * {HOURS_PER_MONTH!r} / 24 * blended_usd_per_mtok / {TOK_PER_MTOK!r}"
    return out


def candidate_exprs(gpu_keys: Sequence[str], spare_replicas: int) -> tuple[list[tuple[str, str]], str]:
    """Per table row: ``(field, expression)`` in order, and the filter that keeps the candidates that meet the targets.

    As :func:`selfhost.plan.candidates` and :class:`selfhost.plan.Candidate`: load replicas
    ``ceil(peak / capacity)``, plus spares; ``GPUs x price x hours + ops``. The sentinel row
    (no GPU) stands for "no deployment meets the targets" and sorts last.
    """
    ticked = " || ".join(f"(datum.gpu_key == {js(k)} && {signal_name('use', k)})" for k in gpu_keys) or "false"
    price = "null"
    for k in reversed(gpu_keys):
        price = f"datum.gpu_key == {js(k)} ? x_{signal_name('gpu_usd_per_hour', k)} : {price}"
    fields = [
        ("cap", "datum.sentinel ? 0 : (datum.caps[share_key] || 0)"),
        ("ticked", ticked),
        ("gpu_usd_per_hour", price),
        ("peak_tok_per_day", "x_tok_per_day * x_peak_to_mean_x"),
        ("load_replicas", "datum.cap > 0 ? ceil(datum.peak_tok_per_day / datum.cap) : 0"),
        ("spare_replicas", js(spare_replicas)),
        ("replicas", "datum.load_replicas + datum.spare_replicas"),
        ("gpus_total", "datum.replicas * datum.gpus_per_replica"),
        ("gpu_usd_per_month", f"datum.gpus_total * datum.gpu_usd_per_hour * {HOURS_PER_MONTH!r}"),
        ("selfhost_usd_per_month", "datum.gpu_usd_per_month + x_ops_usd_per_month"),
        ("order", "datum.sentinel ? 1 : 0"),
    ]
    keep = "datum.sentinel || (problem == '' && datum.ticked && datum.cap > 0)"
    return fields, keep


#: The cheapest first: as :func:`selfhost.plan.cheapest` (cost, then GPUs, then the higher precision, then fewer
#: replicas, then the label); the sentinel last.
SORT_FIELDS = ("order", "selfhost_usd_per_month", "gpus_total", "precision_rank", "replicas", "label")


def _breakeven_ok(n: str) -> str:
    """The loop's test in :func:`selfhost.plan.breakeven_tok_per_day` at ``n`` load replicas."""
    return f"(max(({n} - 1) * datum.be_cap, (({n} + datum.spare_replicas) * datum.be_replica_month + " \
           f"x_ops_usd_per_month) / per_tok_month_usd) <= {n} * datum.be_cap)"


def _breakeven_v(n: str) -> str:
    return f"max(({n} - 1) * datum.be_cap, (({n} + datum.spare_replicas) * datum.be_replica_month + " \
           f"x_ops_usd_per_month) / per_tok_month_usd)"


def figure_exprs() -> list[tuple[str, str]]:
    """On the chosen row: the break-even volume, the answer, the capacity, in order.

    The break-even in closed form: above one replica, the smallest ``n`` with
    ``(n + spares) x replica cost + ops <= n x (capacity / peak) x the API's price per token``
    is ``ceil((spares x replica cost + ops) / (capacity / peak x price - replica cost))``;
    the neighbours ``n - 1`` and ``n + 1`` are tried with the loop's own test, against
    rounding. Null where a replica's capacity is worth no more at the API's price than the
    replica costs, or beyond :data:`MAX_BREAKEVEN_REPLICAS` replicas (as the loop).
    """
    n0 = "datum.be_n0"
    return [
        ("has_deployment", "!datum.sentinel"),
        ("be_cap", "datum.sentinel ? 0 : datum.cap / x_peak_to_mean_x"),
        ("be_replica_month", f"datum.sentinel ? 0 : datum.gpus_per_replica * datum.gpu_usd_per_hour * "
                             f"{HOURS_PER_MONTH!r}"),
        ("be_gain", "datum.be_cap * per_tok_month_usd - datum.be_replica_month"),
        ("be_n0", "datum.be_gain > 0 ? max(2, ceil((datum.spare_replicas * datum.be_replica_month + "
                  "x_ops_usd_per_month) / datum.be_gain)) : 0"),
        ("be_n", f"datum.sentinel ? null : {_breakeven_ok('1')} ? 1 : datum.be_gain <= 0 ? null : "
                 f"({n0} - 1 >= 2 && {_breakeven_ok(f'({n0} - 1)')}) ? {n0} - 1 : "
                 f"{_breakeven_ok(n0)} ? {n0} : {n0} + 1"),
        ("breakeven_tok_per_day", f"datum.be_n == null || datum.be_n > {MAX_BREAKEVEN_REPLICAS} ? null : "
                                  f"{_breakeven_v('datum.be_n')}"),
        ("answer", "datum.has_deployment && datum.selfhost_usd_per_month < api_usd_per_month ? 'self-host' : 'api'"),
        ("capacity_tok_per_day", "datum.sentinel ? 0 : datum.load_replicas * datum.cap"),
    ]


def text_exprs(hours_per_month: float = HOURS_PER_MONTH) -> list[tuple[str, str]]:
    """The lines the reader reads, in order: the answer, the deployment, its cost, the API's bill, the break-even."""
    refused = "problem != ''"
    return [
        ("line_answer", f"{refused} ? 'Refused: ' + problem : !datum.has_deployment ? "
                        "'Use the API: no candidate deployment meets the targets' : "
                        "datum.answer == 'self-host' ? 'Self-host' : 'Use the API'"),
        ("line_deployment", f"{refused} || !datum.has_deployment ? '' : 'Deployment: ' + "
                            f"{count_expr('datum.replicas', 'replica')} + ' of ' + datum.gpus_per_replica + ' x ' + "
                            f"datum.gpu + ' at ' + datum.weight_dtype + ' (' + {count_expr('datum.gpus_total', 'GPU')} "
                            "+ ')'"),
        ("line_selfhost", f"{refused} || !datum.has_deployment ? '' : 'Self-host: $' + "
                          "format(datum.selfhost_usd_per_month, ',.0f') + '/month = ' + "
                          f"{count_expr('datum.gpus_total', 'GPU')} + ' x $' + format(datum.gpu_usd_per_hour, ',.2f') + "
                          "'/h x ' + "
                          f"format({hours_per_month!r}, '.4~f') + ' h + $' + format(x_ops_usd_per_month, ',.0f') "
                          "+ ' operations'"),
        ("line_api", f"{refused} ? '' : 'API, ' + api + ': $' + format(api_usd_per_month, ',.0f') + '/month at $' + "
                     "format(blended_usd_per_mtok, ',.2f') + '/Mtok blended'"),
        ("line_breakeven", f"{refused} || !datum.has_deployment ? '' : 'Break-even: ' + "
                           "(datum.breakeven_tok_per_day == null ? 'never' : "
                           "format(datum.breakeven_tok_per_day / 1e6, ',.3~f') + 'M tokens/day')"),
        ("line_capacity", f"{refused} || !datum.has_deployment ? '' : 'Capacity within the targets: ' + "
                          "format(datum.capacity_tok_per_day / 1e6, ',.1f') + 'M tokens/day for a peak of ' + "
                          "format(datum.peak_tok_per_day / 1e6, ',.1f') + 'M tokens/day'"),
    ]


def curve_exprs() -> list[tuple[str, str]]:
    """Per volume index ``i``: the mean volume and the chosen deployment's cost there (replicas stepped by capacity).

    As :func:`selfhost.plan.cost_curve` and :func:`selfhost.plan.deployment_usd_per_month`.
    """
    return [
        ("volume_tok_per_day", f"x_tok_per_day * {CURVE_LOW_X!r} * pow({CURVE_HIGH_X!r} / {CURVE_LOW_X!r}, "
                               f"datum.i / {CURVE_POINTS - 1})"),
        ("mtok_per_day", "datum.volume_tok_per_day / 1e6"),
        ("curve_load", "max(1, ceil(datum.volume_tok_per_day * x_peak_to_mean_x / datum.cap))"),
        ("usd_per_month", f"(datum.curve_load + datum.spare_replicas) * datum.gpus_per_replica * "
                          f"datum.gpu_usd_per_hour * {HOURS_PER_MONTH!r} + x_ops_usd_per_month"),
    ]


def api_curve_exprs() -> list[tuple[str, str]]:
    """Per volume index ``i``: the mean volume and the API's bill there."""
    return [
        ("volume_tok_per_day", f"x_tok_per_day * {CURVE_LOW_X!r} * pow({CURVE_HIGH_X!r} / {CURVE_LOW_X!r}, "
                               f"datum.i / {CURVE_POINTS - 1})"),
        ("mtok_per_day", "datum.volume_tok_per_day / 1e6"),
        ("usd_per_month", f"datum.volume_tok_per_day * {HOURS_PER_MONTH!r} / 24 * blended_usd_per_mtok / "
                          f"{TOK_PER_MTOK!r}"),
    ]
