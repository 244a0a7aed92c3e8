"""The break-even page's live controls: their ranges, the precomputed replica table, and the cost model as browser
expressions (pure).

The break-even page's controls (traffic, input share, peak-to-mean, the GPU, the GPUs of a
replica, the GPU's price, operating cost, the API and its prices) recompute in the reader's
browser, with no kernel and no network, what the page computes with
:class:`selfhost.breakeven.CostCase` and :meth:`selfhost.costs.Deployment.breakeven`:

- **Sizing a replica is not recomputed in the browser.** A replica's GPUs, precision and
  capacity within the latency target need the roofline (:func:`selfhost.breakeven.replica_fit`);
  :func:`replica_table` computes them here for every GPU x GPUs-per-replica choice over the
  input-share grid the slider moves on (:func:`selfhost.plan_controls.share_grid`), and the
  page ships the table.
- **The rest is the cost model's arithmetic**, written once here as vega expressions
  (:func:`signal_exprs`, :func:`row_exprs`, :func:`curve_exprs`) in the same order of
  operations as :mod:`selfhost.costs`: replicas for the peak, ``replicas x GPUs x $/GPU-hour x
  730 h + operations``, the API's blended price and bill, and both break-even volumes in the
  closed form of :meth:`selfhost.costs.Deployment.breakeven` (the first, and the one from which
  self-hosting stays cheaper). ``tests/book/test_breakeven_controls.py`` drives the built page in
  headless Chromium over a grid of control values and compares every figure with
  :func:`selfhost.breakeven.priced_example` at :func:`case_at` the same values.

A control refuses a value outside :data:`RANGES` (the ranges lib validates:
:class:`selfhost.costs.Traffic`, :func:`selfhost.breakeven.replica_fit`,
:class:`selfhost.costs.Deployment`, :class:`selfhost.prices.ApiPrice` and
:func:`selfhost.breakeven.priced_example`; ``tests/charts/test_breakeven_controls.py`` checks them
against lib): the figures then name the control and its range instead of a number.
:class:`~selfhost.plan_controls.Range`, :func:`~selfhost.plan_controls.js` and the share grid are
the plan controls'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from selfhost import breakeven as be
from selfhost.errors import ParameterError
from selfhost.plan_controls import (
    SHARE_KEY_SCALE,
    Range,
    api_price_exprs,
    count_expr,
    first_refusal,
    js,
    share_grid,
    share_key,
)
from selfhost.prices import ApiPrice
from selfhost.units import DAYS_PER_MONTH, HOURS_PER_MONTH, TOK_PER_MTOK

#: The refusal of an input share the replica table does not hold (set other than by the slider).
OFF_GRID = "input_share must be one of the slider's steps"
#: How the figures name the API the page's parameters give by its prices.
PAGE_API = "this page's API"
#: The GPUs-per-replica choice meaning "the fewest the model fits on" (the page's ``gpus_per_replica = 0``).
FEWEST = 0
#: The cost chart spans this factor below the lower of the traffic and the first break-even, and above the
#: higher of the traffic and the lasting one.
CURVE_SPAN_X, CURVE_POINTS = 10.0, 81
#: Replica counts are rounded up with this tolerance, as :meth:`selfhost.costs.Deployment.replicas_for` does.
REPLICA_TOLERANCE = 1 - 1e-12
#: The controls, in the order their refusals are checked.
NUMBERS = ("tok_per_day", "input_share", "peak_to_mean_x", "gpu_usd_per_hour", "ops_usd_per_month",
           "api_input_usd_per_mtok", "api_output_usd_per_mtok")

#: The ranges lib validates: the traffic's volume (:func:`selfhost.breakeven.priced_example`, > 0), its input
#: share (:func:`selfhost.breakeven.replica_fit`) and peak-to-mean (:class:`selfhost.costs.Traffic`), the GPU's
#: price and operating cost (:class:`selfhost.costs.Deployment`), the API's prices (:class:`selfhost.prices.ApiPrice`).
RANGES: dict[str, Range] = {
    "tok_per_day": Range(0.0, None, low_open=True),
    "input_share": Range(0.0, 1.0, low_open=True, high_open=True),
    "peak_to_mean_x": Range(1.0, None),
    "gpu_usd_per_hour": Range(0.0, None, low_open=True),
    "ops_usd_per_month": Range(0.0, None),
    "api_input_usd_per_mtok": Range(0.0, None, low_open=True),
    "api_output_usd_per_mtok": Range(0.0, None, low_open=True),
}


@dataclass(frozen=True)
class BreakevenState:
    """Where the controls stand, in the units the page shows.

    ``gpus_per_replica`` is a choice of :data:`FEWEST` or a GPU count; ``api`` an API's key in
    the select (the page's own API or one of the dated table), billed at ``api_input_usd_per_mtok``
    and ``api_output_usd_per_mtok``.
    """

    tok_per_day: float
    input_share: float
    peak_to_mean_x: float
    gpu: str
    gpus_per_replica: int
    gpu_usd_per_hour: float
    ops_usd_per_month: float
    api: str
    api_input_usd_per_mtok: float
    api_output_usd_per_mtok: float


@dataclass(frozen=True)
class Page:
    """What the controls are built over: the page's case and API, the GPUs offered, the dated APIs.

    ``case`` is the page's :class:`~selfhost.breakeven.CostCase` (its setup, GPU price, operating
    cost, traffic, batch pricing and replicas kept); ``page_api`` the API the page's parameters
    give by its prices; ``setups`` the setup of each (GPU key, GPUs-per-replica choice) offered,
    the page's first; ``gpu_prices`` each offered GPU's starting price [USD/h]; ``apis`` the
    dated table; ``shares`` the input shares the replica table is computed at (default: the
    slider's steps and the page's own, :func:`selfhost.plan_controls.share_grid`).
    """

    case: be.CostCase
    tok_per_day: float
    page_api: ApiPrice
    setups: Mapping[tuple[str, int], be.ServingSetup]
    gpu_prices: Mapping[str, float]
    apis: tuple[ApiPrice, ...]
    shares: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.shares:
            object.__setattr__(self, "shares", share_grid(self.case.traffic.input_share))

    @property
    def gpu_keys(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self.setups))

    @property
    def gpus_choices(self) -> list[int]:
        return sorted({n for _, n in self.setups})

    def billed(self, price: ApiPrice) -> ApiPrice:
        """``price`` as the page bills it: at its batch prices where the page prices batch and it has them
        (its cached price scaled alike), with no batch prices left to choose."""
        if self.case.batch and price.has_batch:
            assert price.batch_input_usd_per_mtok is not None and price.batch_output_usd_per_mtok is not None
            scale = price.batch_input_usd_per_mtok / price.input_usd_per_mtok
            cached = price.cached_input_usd_per_mtok
            price = replace(price, input_usd_per_mtok=price.batch_input_usd_per_mtok,
                            output_usd_per_mtok=price.batch_output_usd_per_mtok,
                            cached_input_usd_per_mtok=None if cached is None else cached * scale)
        return replace(price, batch_input_usd_per_mtok=None, batch_output_usd_per_mtok=None)

    def api_label(self, price: ApiPrice) -> str:
        """How the figures name an API: the page's own as such, the others by their key."""
        return PAGE_API if price.key == self.page_api.key else price.key

    def api_options(self) -> list[ApiPrice]:
        """The select's APIs as billed: the page's own first, then the dated table."""
        return [self.billed(p) for p in (self.page_api, *self.apis)]


def api_price(page: Page, key: str) -> ApiPrice:
    for a in page.api_options():
        if a.key == key:
            return a
    raise ParameterError("api", key, "the page's API or one of the dated table")


def initial_state(page: Page) -> BreakevenState:
    """The controls at the page's parameters."""
    c, t = page.case, page.case.traffic
    assert c.setup is not None
    gpus = FEWEST if c.setup.gpus_per_replica is None else c.setup.gpus_per_replica
    api = page.billed(page.page_api)
    return BreakevenState(page.tok_per_day, t.input_share, t.peak_to_mean_x, c.setup.gpu.key, gpus, c.gpu_usd_per_hour,
                          c.ops_usd_per_month, api.key, api.input_usd_per_mtok, api.output_usd_per_mtok)


def refusal(state: BreakevenState, shares: Sequence[float]) -> str:
    """Why the controls refuse ``state`` ("" when they accept it): the first control out of its range, or an
    input share that is not one of ``shares`` (the replica table's; the slider reaches no other)."""
    for name in NUMBERS:
        if not RANGES[name].contains(getattr(state, name)):
            return refusal_text(name)
    if share_key(state.input_share) not in share_keys(shares):
        return OFF_GRID
    return ""


def share_keys(shares: Sequence[float]) -> list[int]:
    """The replica table's keys for ``shares``."""
    return sorted({share_key(s) for s in shares})


def refusal_text(name: str) -> str:
    return f"{name} must be a number in {RANGES[name].text()}"


def case_at(page: Page, state: BreakevenState) -> tuple[be.CostCase, ApiPrice]:
    """The page's case and API the controls stand for: the state's setup, prices, operating cost and traffic,
    and the chosen API at the state's prices (its cached price, where it has one, as billed)."""
    setup = page.setups[(state.gpu, state.gpus_per_replica)]
    traffic = replace(page.case.traffic, tok_per_day=state.tok_per_day, input_share=state.input_share,
                      peak_to_mean_x=state.peak_to_mean_x)
    case = replace(page.case, setup=setup, gpu_usd_per_hour=state.gpu_usd_per_hour,
                   ops_usd_per_month=state.ops_usd_per_month, traffic=traffic)
    api = replace(api_price(page, state.api), input_usd_per_mtok=state.api_input_usd_per_mtok,
                  output_usd_per_mtok=state.api_output_usd_per_mtok)
    return case, api


def curve_volumes(tok_per_day: float, first_tok_per_day: float, lasting_tok_per_day: float) -> list[float]:
    """The cost chart's volumes: :data:`CURVE_SPAN_X` below the lower of the traffic and the first break-even to
    as much above the higher of the traffic and the lasting one (a break-even that never comes is left out)."""
    low = min(tok_per_day, first_tok_per_day) / CURVE_SPAN_X
    high = max(tok_per_day, lasting_tok_per_day if lasting_tok_per_day != float("inf") else tok_per_day) * CURVE_SPAN_X
    return be.log_volumes(low, high, CURVE_POINTS)


# ---------------------------------------------------------------------- the precomputed replica table
def replica_table(setups: Mapping[tuple[str, int], be.ServingSetup], shares: Sequence[float]) -> list[dict[str, Any]]:
    """One row per (GPU, GPUs-per-replica choice): the replica :func:`selfhost.breakeven.replica_fit` sizes at each
    input share.

    Each row: ``gpu_key``, ``gpu`` (its name), ``gpus_choice`` and ``fits`` (share key ->
    ``[GPUs of a replica, capacity within the latency target [tok/day], weight precision]``; capacity
    0 where nothing fits or no batch meets the latency target).
    """
    rows = []
    for (key, choice), setup in setups.items():
        fits = {}
        for share in shares:
            fit = be.replica_fit(setup, share)
            fits[str(share_key(share))] = [fit.gpus_count, fit.capacity_tok_per_day if fit.fits else 0.0,
                                           fit.weight_dtype]
        rows.append({"gpu_key": key, "gpu": setup.gpu.gpu, "gpus_choice": choice, "fits": fits})
    return rows


# ---------------------------------------------------------------------- the expressions
def signal_exprs(cached_share: float) -> dict[str, str]:
    """Derived signals: each control as a number, the refusal, the table key, the API's blended price and bill.

    ``api_prices`` is a constant signal: API key -> [input, output, cached or null] [USD/Mtok], as
    billed (``api_names``: API key -> :meth:`Page.api_label`); ``share_keys`` the replica
    table's share keys (:func:`share_keys`). Blended as :meth:`selfhost.prices.ApiPrice.blended_usd_per_mtok` (``cached_share``
    counts where the API has a cached price); the bill as :func:`selfhost.costs.spend_usd_per_month`.
    """
    out = {f"x_{n}": f"toNumber({n})" for n in NUMBERS}
    out["x_gpus_per_replica"] = "toNumber(gpus_per_replica)"
    checks = [(f"!{RANGES[n].expr('x_' + n)}", refusal_text(n)) for n in NUMBERS]
    checks.append(("indexof(share_keys, share_key) < 0", OFF_GRID))
    out["problem"] = first_refusal(checks)
    out["share_key"] = f"floor(x_input_share * {SHARE_KEY_SCALE} + 0.5)"
    out |= api_price_exprs(cached_share)
    out["api_usd_per_month"] = f"x_tok_per_day * blended_usd_per_mtok / {TOK_PER_MTOK!r} * {DAYS_PER_MONTH!r}"
    out["api_usd_per_tok_month"] = f"blended_usd_per_mtok / {TOK_PER_MTOK!r} * {DAYS_PER_MONTH!r}"
    return out


def keep_expr() -> str:
    """The table row of the chosen GPU and GPUs-per-replica choice."""
    return "datum.gpu_key == gpu && datum.gpus_choice == x_gpus_per_replica"


def row_exprs(min_replicas: int) -> list[tuple[str, str]]:
    """On the chosen row, in order: the replica, the cost at the traffic, the break-evens, the answer.

    As :meth:`selfhost.costs.Deployment.monthly` (``max(m, ceil(peak / C))`` replicas, GPUs around
    the clock plus operations, the mean over the provisioned capacity) and
    :meth:`selfhost.costs.Deployment.breakeven` (with ``p`` the API's price per token-day of a month,
    ``R`` a replica's cost, ``O`` operations, ``C' = C / peak-to-mean``: nothing where a full
    replica earns no more than it costs; the first from ``n = max(m, ceil(O / (p C' - R)))``
    replicas; the lasting from ``K = max(m + 1, ceil((p C' + O) / (p C' - R)))``), and the answer
    as :func:`selfhost.breakeven.priced_example`'s: self-host where it costs less than the API's bill.
    """
    m = js(min_replicas)
    t = "((({n}) * datum.replica_usd_per_month + x_ops_usd_per_month) / api_usd_per_tok_month)"
    lo = f"(({{n}}) == {m} ? 0.0 : (({{n}}) - 1) * datum.be_cap)"
    return [
        ("fit", "datum.fits[share_key] || [0, 0.0, 'none']"),  # a share off the table is refused (OFF_GRID)
        ("gpus_count", "datum.fit[0]"),
        ("replica_capacity_tok_per_day", "datum.fit[1]"),
        ("weight_dtype", "datum.fit[2]"),
        ("serves", "datum.replica_capacity_tok_per_day > 0"),
        ("peak_tok_per_day", "x_tok_per_day * x_peak_to_mean_x"),
        ("replicas_count", f"datum.serves ? max({m}, ceil(datum.peak_tok_per_day / datum.replica_capacity_tok_per_day "
                           f"* {REPLICA_TOLERANCE!r})) : 0"),
        ("replica_usd_per_month", f"x_gpu_usd_per_hour * datum.gpus_count * {HOURS_PER_MONTH!r}"),
        ("gpus_total", "datum.replicas_count * datum.gpus_count"),
        ("selfhost_usd_per_month", "datum.replicas_count * datum.replica_usd_per_month + x_ops_usd_per_month"),
        ("provisioned_tok_per_day", "datum.replicas_count * datum.replica_capacity_tok_per_day"),
        ("utilisation_share", "datum.provisioned_tok_per_day > 0 ? x_tok_per_day / datum.provisioned_tok_per_day "
                              ": null"),
        ("be_cap", "datum.replica_capacity_tok_per_day / x_peak_to_mean_x"),
        ("be_slope", "api_usd_per_tok_month * datum.be_cap - datum.replica_usd_per_month"),
        ("be_crosses", "datum.be_cap > 0 && datum.be_slope > 0"),
        ("be_n_first", f"datum.be_crosses ? max({m}, ceil(x_ops_usd_per_month / datum.be_slope - 1e-12)) : 0"),
        ("first_breakeven_tok_per_day", "datum.be_crosses ? max(" + lo.format(n="datum.be_n_first") + ", "
                                        + t.format(n="datum.be_n_first") + ") : null"),
        ("be_n", f"datum.be_crosses ? max({m} + 1, ceil((api_usd_per_tok_month * datum.be_cap + x_ops_usd_per_month) "
                 "/ datum.be_slope - 1e-12)) - 1 : 0"),
        ("be_lasting", "!datum.be_crosses ? null : " + t.format(n="datum.be_n") + " <= datum.be_n * datum.be_cap ? max("
                       + lo.format(n="datum.be_n") + ", " + t.format(n="datum.be_n") + ") : datum.be_n * datum.be_cap"),
        ("breakeven_tok_per_day", "datum.be_crosses ? max(datum.first_breakeven_tok_per_day, datum.be_lasting) : null"),
        ("answer", "datum.serves && datum.selfhost_usd_per_month < api_usd_per_month ? 'self-host' : 'api'"),
    ]


def text_exprs() -> list[tuple[str, str]]:
    """The lines the reader reads, in order: the answer, the deployment, its cost, the API's bill, the break-even,
    a replica's capacity, the GPUs' mean utilisation."""
    refused = "problem != ''"
    hidden = f"{refused} || !datum.serves"
    return [
        ("line_answer", f"{refused} ? 'Refused: ' + problem : !datum.serves ? 'Use the API: ' + "
                        "(datum.weight_dtype == 'none' ? 'the model does not fit on ' : "
                        "'no batch meets the latency target on ') + datum.gpus_count + ' x ' + datum.gpu : "
                        "datum.answer == 'self-host' ? 'Self-host' : 'Use the API'"),
        ("line_deployment", f"{hidden} ? '' : 'Deployment: ' + {count_expr('datum.replicas_count', 'replica')} + "
                            "' of ' + datum.gpus_count + ' x ' + datum.gpu + ' at ' + datum.weight_dtype + ' (' + "
                            f"{count_expr('datum.gpus_total', 'GPU')} + ')'"),
        ("line_selfhost", f"{hidden} ? '' : 'Self-host: $' + format(datum.selfhost_usd_per_month, ',.0f') + "
                          f"'/month = ' + {count_expr('datum.gpus_total', 'GPU')} + ' x $' + "
                          "format(x_gpu_usd_per_hour, ',.2f') + "
                          f"'/h x ' + format({HOURS_PER_MONTH!r}, '.4~f') + ' h + $' + "
                          "format(x_ops_usd_per_month, ',.0f') + ' operations'"),
        ("line_api", f"{refused} ? '' : 'API, ' + api_names[api] + ': $' + format(api_usd_per_month, ',.0f') + '/month at $' + "
                     "format(blended_usd_per_mtok, ',.2f') + '/Mtok blended'"),
        ("line_breakeven", f"{hidden} ? '' : !datum.be_crosses ? "
                           "'Break-even: never (a full replica earns less at this price than it costs)' : "
                           "'Break-even: ' + format(datum.breakeven_tok_per_day / 1e6, ',.2f') + 'M tokens/day' + "
                           "(datum.first_breakeven_tok_per_day < datum.breakeven_tok_per_day ? ' (first reached at ' + "
                           "format(datum.first_breakeven_tok_per_day / 1e6, ',.2f') + 'M, lost again as a replica is "
                           "added)' : '')"),
        ("line_capacity", f"{hidden} ? '' : 'Capacity: ' + format(datum.replica_capacity_tok_per_day / 1e6, ',.1f') + "
                          "'M tokens/day a replica within the latency target'"),
        ("line_busy", f"{hidden} ? '' : 'GPUs busy on average: ' + format(datum.utilisation_share * 100, '.1f') + "
                      "'% (provisioned for a peak ' + format(x_peak_to_mean_x, '.2~f') + 'x the mean)'"),
    ]


def curve_exprs(min_replicas: int) -> list[tuple[str, str]]:
    """Per volume index ``i``: the volume (:func:`curve_volumes`), the deployment's cost and the API's bill there."""
    low = (f"min(x_tok_per_day, datum.be_crosses ? datum.first_breakeven_tok_per_day : x_tok_per_day) / "
           f"{CURVE_SPAN_X!r}")
    high = f"max(x_tok_per_day, datum.be_crosses ? datum.breakeven_tok_per_day : x_tok_per_day) * {CURVE_SPAN_X!r}"
    return [
        ("curve_low", low),
        ("curve_high", high),
        ("volume_tok_per_day", f"datum.curve_low * pow(datum.curve_high / datum.curve_low, datum.i / "
                               f"{CURVE_POINTS - 1})"),
        ("mtok_per_day", "datum.volume_tok_per_day / 1e6"),
        ("curve_replicas", f"max({js(min_replicas)}, ceil(datum.volume_tok_per_day * x_peak_to_mean_x / "
                           f"datum.replica_capacity_tok_per_day * {REPLICA_TOLERANCE!r}))"),
        ("selfhost_curve_usd_per_month", "datum.curve_replicas * datum.replica_usd_per_month + x_ops_usd_per_month"),
        ("api_curve_usd_per_month", f"datum.volume_tok_per_day * blended_usd_per_mtok / {TOK_PER_MTOK!r} * "
                                    f"{DAYS_PER_MONTH!r}"),
    ]

