"""The cost pages' analyses (claims C02-C06): deployments sized by capacity, break-evens, verdicts.

The cost arithmetic is :mod:`selfhost.costs` (:class:`~selfhost.costs.Deployment`,
:class:`~selfhost.costs.Traffic`): replicas of the size a model needs, each serving at most
its capacity within the latency target, provisioned for the traffic's peak, plus operating
cost. This module

- sizes a replica from a model and a GPU (:class:`ServingSetup`, :func:`replica_fit`):
  the fewest GPUs (a tensor-parallel size vLLM accepts) on which the model fits at its
  precision, and the tokens per day that replica serves within the latency target, from
  :func:`selfhost.capacity.deployment_capacities` (the calibrated roofline);
- prices a scenario against every API of the dated table (:class:`CostCase`: a setup, a
  GPU price, an operating cost, the traffic's input share, peak-to-mean and cached share,
  list or batch API prices);
- decides the verdicts of C02-C06 and says what flips each (:func:`assess`, with
  :mod:`selfhost.robustness`): engine efficiency over the calibration's spread, operating
  cost from 0 to one engineer, the GPU's price over the dated table, input share,
  peak-to-mean and cached share from the traces, API prices from list down to batch.

Pure: no I/O; the notebooks and the CLI load the tables and pass them in.

References
----------
The article, "Self-Hosting LLMs", sections *Quick Reference* and *Should You Self-Host?*.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from selfhost import capacity, costs, memory, roofline
from selfhost.costs import API, SELF_HOST
from selfhost.errors import ParameterError
from selfhost.gpus import Gpu
from selfhost.modelspec import ModelSpec
from selfhost.params import check_int, check_number
from selfhost.prices import ApiPrice, GpuPrice, copy_dates
from selfhost.robustness import Sensitivity, sensitivity
from selfhost.units import DAYS_PER_MONTH, MONTHS_PER_YEAR, SECONDS_PER_DAY, counted, significant
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict

#: Tensor-parallel sizes a replica is tried at, smallest first.
TP_SIZES = (1, 2, 4, 8)
#: ``weight_dtype`` value meaning: the precision that fits with the most capacity.
BEST = "best"


# ---------------------------------------------------------------------- sizing a replica
@dataclass(frozen=True)
class ServingSetup:
    """What sizes a replica: the model, the GPU, the engine and the latency target.

    Parameters
    ----------
    spec : ModelSpec
        The model (``data/models/``).
    gpu : Gpu
        The GPU (``data/gpus.csv``).
    overheads : selfhost.memory.Overheads
        vLLM's memory overheads (``data/vllm_overheads.csv``).
    efficiency : selfhost.roofline.Efficiency
        Engine efficiency (the calibration's fit for the GPU's generation).
    weight_dtype : str
        Weight precision, or ``best``: of the precisions that fit the smallest replica, the
        one that serves the most.
    gpus_per_replica : int or None
        GPUs of one replica; None: the fewest the model fits on at that precision.
    prompt_tokens : int
        Prompt tokens per request [tok]; the output follows from the traffic's input share.
    slo_ttft_ms, slo_tpot_ms : float
        Latency targets on mean TTFT and TPOT [ms].
    kv_cache_dtype : str
        ``auto`` or ``fp8``.
    """

    spec: ModelSpec
    gpu: Gpu
    overheads: memory.Overheads
    efficiency: roofline.Efficiency
    weight_dtype: str = BEST
    gpus_per_replica: int | None = None
    prompt_tokens: int = 512
    slo_ttft_ms: float = 1000.0
    slo_tpot_ms: float = 100.0
    kv_cache_dtype: str = "auto"

    def __post_init__(self) -> None:
        check_int("prompt_tokens", self.prompt_tokens, ge=1, le=1_048_576)
        check_number("slo_ttft_ms", self.slo_ttft_ms, gt=0)
        check_number("slo_tpot_ms", self.slo_tpot_ms, gt=0)
        if self.gpus_per_replica is not None:
            check_int("gpus_per_replica", self.gpus_per_replica, ge=1, le=1024)
        dtypes = memory.weight_dtypes_for(self.spec)
        if self.weight_dtype != BEST and self.weight_dtype not in dtypes:
            raise ParameterError("weight_dtype", self.weight_dtype, f"one of {BEST!r}, " + ", ".join(map(repr, dtypes)))

    def with_efficiency(self, bandwidth_share: float | None = None, compute_share: float | None = None) -> ServingSetup:
        """The same setup at another engine efficiency (either share)."""
        eff = roofline.Efficiency(self.efficiency.bandwidth_share if bandwidth_share is None else bandwidth_share,
                                  self.efficiency.compute_share if compute_share is None else compute_share)
        return replace(self, efficiency=eff)


@dataclass(frozen=True)
class ReplicaFit:
    """One replica as sized: precision, GPUs, capacity within the latency target, what limits it."""

    weight_dtype: str
    gpus_count: int
    capacity_tok_per_day: float
    limited_by: str
    fits: bool

    def label(self, gpu: Gpu) -> str:
        return f"{self.gpus_count} x {gpu.gpu}, {self.weight_dtype}"


@functools.lru_cache(maxsize=8192)
def replica_fit(setup: ServingSetup, input_share: float) -> ReplicaFit:
    """Size one replica of ``setup`` for traffic with ``input_share`` (see :class:`ServingSetup`).

    The GPUs per replica are ``setup.gpus_per_replica`` or else the smallest of
    :data:`TP_SIZES` vLLM accepts for the model on which the precision (any precision, for
    ``best``) fits; the capacity is :func:`selfhost.capacity.deployment_capacities` at that
    size. ``fits`` False (capacity 0) when nothing fits on the largest size tried.
    """
    check_number("input_share", input_share, gt=0, lt=1)
    dtypes = memory.weight_dtypes_for(setup.spec) if setup.weight_dtype == BEST else (setup.weight_dtype,)
    sizes = [setup.gpus_per_replica] if setup.gpus_per_replica is not None else \
        [n for n in TP_SIZES if setup.spec.tp_problem(n) is None]
    caps: list[capacity.DtypeCapacity] = []
    chosen = sizes[-1] if sizes else 1
    for n in sizes:
        caps = capacity.deployment_capacities(
            setup.spec, setup.gpu, setup.overheads, setup.efficiency, gpus=n, prompt_tokens=setup.prompt_tokens,
            input_share=input_share, slo_ttft_ms=setup.slo_ttft_ms, slo_tpot_ms=setup.slo_tpot_ms,
            weight_dtypes=dtypes, kv_cache_dtype=setup.kv_cache_dtype)
        chosen = n
        if any(c.fits for c in caps):
            break
    fitting = [c for c in caps if c.fits]
    if not fitting:
        return ReplicaFit(dtypes[0] if len(dtypes) == 1 else "none", chosen, 0.0, "memory", False)
    best = max(fitting, key=lambda c: c.capacity_tok_per_day)
    return ReplicaFit(best.weight_dtype, chosen, best.capacity_tok_per_day, best.capacity.limited_by, True)


def size_deployment(setup: ServingSetup | None, input_share: float, gpu_usd_per_hour: float,
                    ops_usd_per_month: float = 0.0, min_replicas: int = 1, gpus_per_replica: int = 1,
                    label: str = "") -> costs.Deployment:
    """A :class:`selfhost.costs.Deployment` of ``setup``'s replicas at a GPU price and operating cost.

    ``setup`` None: the article's assumption, ``gpus_per_replica`` GPUs that serve any volume.
    """
    if setup is None:
        return costs.Deployment(gpu_usd_per_hour, gpus_per_replica, None, ops_usd_per_month, min_replicas,
                                label or f"{gpus_per_replica} GPU(s), no capacity limit")
    fit = replica_fit(setup, input_share)
    return costs.Deployment(gpu_usd_per_hour, fit.gpus_count, fit.capacity_tok_per_day, ops_usd_per_month,
                            min_replicas, label or fit.label(setup.gpu))


# ---------------------------------------------------------------------- a priced scenario
@dataclass(frozen=True)
class CostCase:
    """One self-hosting scenario priced against the APIs.

    Parameters
    ----------
    setup : ServingSetup or None
        What sizes a replica; None: one replica serves any volume (the article).
    gpu_usd_per_hour : float
        Rental price of one GPU [USD/h].
    ops_usd_per_month : float
        Operating cost [USD/month].
    traffic : selfhost.costs.Traffic
        Input share, peak-to-mean and cached share (its volume is not used here).
    api_price_x : float
        Scale on every API price [x] (0.5: about the batch discount).
    batch : bool
        Use the APIs' batch prices (APIs without a batch API keep their list prices).
    min_replicas : int
        Replicas kept whatever the volume [1].
    """

    setup: ServingSetup | None
    gpu_usd_per_hour: float = 2.50
    ops_usd_per_month: float = 0.0
    traffic: costs.Traffic = field(default_factory=lambda: costs.Traffic(0.0, 0.7))
    api_price_x: float = 1.0
    batch: bool = False
    min_replicas: int = 1

    def __post_init__(self) -> None:
        check_number("gpu_usd_per_hour", self.gpu_usd_per_hour, gt=0)
        check_number("ops_usd_per_month", self.ops_usd_per_month, ge=0)
        check_number("api_price_x", self.api_price_x, gt=0)
        check_int("min_replicas", self.min_replicas, ge=1)

    def with_(self, **changes: object) -> CostCase:
        """A copy with some fields replaced; ``input_share``, ``peak_to_mean_x`` and ``cached_share`` reach the traffic."""
        traffic = {k: changes.pop(k) for k in ("input_share", "peak_to_mean_x", "cached_share") if k in changes}
        out = replace(self, **changes)  # type: ignore[arg-type]
        if traffic:
            out = replace(out, traffic=replace(out.traffic, **traffic))  # type: ignore[arg-type]
        return out

    @property
    def deployment(self) -> costs.Deployment:
        return size_deployment(self.setup, self.traffic.input_share, self.gpu_usd_per_hour, self.ops_usd_per_month,
                               self.min_replicas)

    @property
    def fit(self) -> ReplicaFit | None:
        return None if self.setup is None else replica_fit(self.setup, self.traffic.input_share)

    def blended_usd_per_mtok(self, price: ApiPrice) -> float:
        """The API's price for this traffic [USD/Mtok]: split, cache hits, batch, scale."""
        batch = self.batch and price.has_batch
        return price.blended_usd_per_mtok(self.traffic.input_share, self.traffic.cached_share, batch) * self.api_price_x

    def breakeven(self, price: ApiPrice) -> costs.Breakeven:
        return self.deployment.breakeven(self.blended_usd_per_mtok(price), self.traffic.peak_to_mean_x)

    def describe(self) -> str:
        """The scenario in words, for reasons and captions."""
        d = self.deployment
        cap = ("any volume" if d.replica_capacity_tok_per_day is None else
               f"{d.replica_capacity_tok_per_day / 1e6:,.1f}M tok/day per replica within the latency target")
        return (f"{d.label} at ${self.gpu_usd_per_hour:,.2f}/GPU-hour ({cap}), ${self.ops_usd_per_month:,.0f}/month "
                f"of operations, {self.traffic.input_share:.0%} input, peak {self.traffic.peak_to_mean_x:.2g}x the "
                f"mean, {self.traffic.cached_share:.0%} of input cached")


def ops_usd_per_month(engineer_fte: float, engineer_usd_per_year: float, monitoring_usd_per_month: float) -> float:
    """The book's operating cost: engineer time plus monitoring [USD/month] (:func:`selfhost.costs.ops_usd_per_month`)."""
    return costs.ops_usd_per_month(engineer_fte, engineer_usd_per_year, monitoring_usd_per_month)


def within(value: float, target: float, tolerance_x: float) -> bool:
    """Whether ``value`` lies within a factor ``tolerance_x`` of ``target`` (either side).

    >>> within(9e6, 5e6, 2.0), within(11e6, 5e6, 2.0), within(float("inf"), 5e6, 2.0)
    (True, False, False)
    """
    check_number("tolerance_x", tolerance_x, ge=1)
    if not math.isfinite(value) or value <= 0 or target <= 0:
        return False
    return 1 / tolerance_x <= value / target <= tolerance_x


def traffic_from_summary(name: str, input_share: float, peak_to_mean_x: float | None,
                         prefix_hit_share: float | None) -> costs.Traffic:
    """A trace's traffic for the cost model: its input share, peak-to-mean (1 where unknown), cache hits (0 where unknown)."""
    return costs.Traffic(0.0, input_share, peak_to_mean_x or 1.0, prefix_hit_share or 0.0, name)


# ---------------------------------------------------------------------- tables
def breakeven_table(prices: Iterable[ApiPrice], case: CostCase, article_tok_per_day: float | None = None,
                    tolerance_x: float = 2.0, book_ops_usd_per_month: float | None = None) -> pd.DataFrame:
    """One row per API: its blended price and the break-evens against it in ``case``.

    Columns: ``model`` (provider/model), ``tier``, ``status``, ``blended_usd_per_mtok``,
    ``first_breakeven_tok_per_day``, ``breakeven_tok_per_day`` (from which self-hosting stays
    cheaper; ``inf``: never), ``near_article`` (within ``tolerance_x`` of the article's figure),
    ``book_ops_breakeven_tok_per_day`` (at the book's operating cost, where given),
    ``copy_date``; sorted by break-even.
    """
    book = case.with_(ops_usd_per_month=book_ops_usd_per_month) if book_ops_usd_per_month is not None else None
    rows = []
    for p in prices:
        b = case.breakeven(p)
        row = {"model": p.key, "tier": p.tier, "status": p.status, "blended_usd_per_mtok": case.blended_usd_per_mtok(p),
               "first_breakeven_tok_per_day": b.first_tok_per_day, "breakeven_tok_per_day": b.lasting_tok_per_day,
               "near_article": within(b.lasting_tok_per_day, article_tok_per_day, tolerance_x)
               if article_tok_per_day else None,
               "book_ops_breakeven_tok_per_day": book.breakeven(p).lasting_tok_per_day if book else math.nan,
               "copy_date": p.copy_date}
        rows.append(row)
    columns = ["model", "tier", "status", "blended_usd_per_mtok", "first_breakeven_tok_per_day",
               "breakeven_tok_per_day", "near_article", "book_ops_breakeven_tok_per_day", "copy_date"]
    return pd.DataFrame(rows, columns=columns).sort_values("breakeven_tok_per_day").reset_index(drop=True)


def traffic_table(prices: Iterable[ApiPrice], case: CostCase, traffics: Mapping[str, costs.Traffic]) -> pd.DataFrame:
    """The break-even against each API under each traffic (the article's and each trace's), side by side.

    Columns: ``model``, then ``<label>_breakeven_tok_per_day`` per traffic (``inf``: never).
    """
    rows = []
    for p in prices:
        row: dict[str, object] = {"model": p.key}
        for label, traffic in traffics.items():
            row[f"{label}_breakeven_tok_per_day"] = replace(case, traffic=traffic).breakeven(p).lasting_tok_per_day
        rows.append(row)
    return pd.DataFrame(rows)


def traffic_rows(traffics: Mapping[str, costs.Traffic], case: CostCase) -> pd.DataFrame:
    """Each traffic's inputs and what they do to one replica: input share, peak-to-mean, cached share,
    replica capacity and the mean utilisation provisioning for the peak allows."""
    rows = []
    for label, t in traffics.items():
        c = replace(case, traffic=t)
        cap = c.deployment.replica_capacity_tok_per_day
        rows.append({"traffic": label, "input_share": t.input_share, "peak_to_mean_x": t.peak_to_mean_x,
                     "cached_share": t.cached_share,
                     "replica_capacity_tok_per_day": math.inf if cap is None else cap,
                     "mean_utilisation_share": 1.0 / t.peak_to_mean_x})
    return pd.DataFrame(rows)


def cheapest_gpu_prices(prices: Iterable[GpuPrice], kinds: Sequence[str] = ("on-demand",)) -> dict[str, GpuPrice]:
    """GPU -> its cheapest price of the given pricing kinds (the current-prices scenario)."""
    out: dict[str, GpuPrice] = {}
    for p in prices:
        if p.pricing in kinds and (p.gpu not in out or p.gpu_usd_per_hour < out[p.gpu].gpu_usd_per_hour):
            out[p.gpu] = p
    return out


def gpu_price_range(prices: Iterable[GpuPrice], gpu_key: str) -> tuple[float, float]:
    """(lowest, highest) price of one GPU in the dated table [USD/h]."""
    values = [p.gpu_usd_per_hour for p in prices if p.gpu == gpu_key]
    if not values:
        raise ParameterError("gpu", gpu_key, "a GPU with prices in data/gpu_prices.csv")
    return min(values), max(values)


def current_gpu_table(cases: Mapping[str, CostCase], prices: Sequence[ApiPrice]) -> pd.DataFrame:
    """Per current deployment (label -> case): replica, capacity and the break-even range against ``prices``.

    Columns: ``deployment``, ``gpu_usd_per_hour``, ``replica_gpus_count``, ``replica_capacity_tok_per_day``,
    ``breakeven_min_tok_per_day``, ``breakeven_max_tok_per_day``, ``never_count``.
    """
    rows = []
    for label, case in cases.items():
        d = case.deployment
        values = [case.breakeven(p).lasting_tok_per_day for p in prices]
        finite = [v for v in values if math.isfinite(v)]
        rows.append({"deployment": label, "gpu_usd_per_hour": case.gpu_usd_per_hour,
                     "replica_gpus_count": d.gpus_per_replica,
                     "replica_capacity_tok_per_day": d.replica_capacity_tok_per_day or math.inf,
                     "breakeven_min_tok_per_day": min(finite) if finite else math.inf,
                     "breakeven_max_tok_per_day": max(finite) if finite else math.inf,
                     "never_count": len(values) - len(finite)})
    return pd.DataFrame(rows)


def cost_vs_volume(volumes_tok_per_day: Sequence[float], case: CostCase, apis: Mapping[str, ApiPrice]) -> pd.DataFrame:
    """Monthly cost against daily volume, long format for charting: self-hosting steps up a replica at a time.

    Columns: ``mtok_per_day``, ``option`` (``self-host`` or an API's name), ``usd_per_month``.
    """
    d = case.deployment
    rows = []
    for v in volumes_tok_per_day:
        rows.append({"mtok_per_day": v / 1e6, "option": "self-host",
                     "usd_per_month": d.monthly(case.traffic.at(v)).total_usd_per_month if d.serves else math.nan})
        for name, p in apis.items():
            rows.append({"mtok_per_day": v / 1e6, "option": name,
                         "usd_per_month": costs.spend_usd_per_month(v, case.blended_usd_per_mtok(p))})
    return pd.DataFrame(rows).dropna()


def log_volumes(low_tok_per_day: float, high_tok_per_day: float, points: int = 61) -> list[float]:
    """``points`` volumes evenly spaced on a log scale from ``low`` to ``high`` [tok/day]."""
    check_number("low_tok_per_day", low_tok_per_day, gt=0)
    check_number("high_tok_per_day", high_tok_per_day, gt=low_tok_per_day)
    check_int("points", points, ge=2)
    return [low_tok_per_day * (high_tok_per_day / low_tok_per_day) ** (i / (points - 1)) for i in range(points)]


# ---------------------------------------------------------------------- what flips a verdict
@dataclass(frozen=True)
class CostRanges:
    """The plausible range of each uncertain input of a cost verdict, with its source.

    ``efficiency_low``/``efficiency_high``: the calibration's spread;
    ``ops_high_usd_per_month``: one engineer plus monitoring; ``gpu_low/high_usd_per_hour``:
    the dated table's range for the GPU; ``input_share_low/high``, ``peak_to_mean_high_x``,
    ``cached_share_high``: the traces; ``api_price_low_x``: batch against list prices.
    """

    efficiency_low: roofline.Efficiency | None
    efficiency_high: roofline.Efficiency | None
    efficiency_source: str
    ops_high_usd_per_month: float
    ops_source: str
    gpu_low_usd_per_hour: float
    gpu_high_usd_per_hour: float
    gpu_source: str
    input_share_low: float
    input_share_high: float
    peak_to_mean_high_x: float
    cached_share_high: float
    traffic_source: str
    api_price_low_x: float = 0.5
    api_source: str = "data/api_prices.csv: batch prices (about half) to list prices"


def sensitivities(decide: Callable[[CostCase], str], case: CostCase, ranges: CostRanges,
                  steps: int = 16) -> tuple[Sensitivity, ...]:
    """Each uncertain input of ``case`` held over its range in ``ranges``: where ``decide`` changes."""
    out = []
    if case.setup is not None and ranges.efficiency_low is not None and ranges.efficiency_high is not None:
        eff = case.setup.efficiency
        setup = case.setup
        out.append(sensitivity(
            "compute_efficiency_share",
            lambda v: decide(replace(case, setup=setup.with_efficiency(compute_share=v))),
            eff.compute_share, ranges.efficiency_low.compute_share, ranges.efficiency_high.compute_share,
            ranges.efficiency_source, steps=steps))
        out.append(sensitivity(
            "bandwidth_efficiency_share",
            lambda v: decide(replace(case, setup=setup.with_efficiency(bandwidth_share=v))),
            eff.bandwidth_share, ranges.efficiency_low.bandwidth_share, ranges.efficiency_high.bandwidth_share,
            ranges.efficiency_source, steps=steps))
    out.append(sensitivity("ops_usd_per_month", lambda v: decide(case.with_(ops_usd_per_month=v)),
                           case.ops_usd_per_month, 0.0, ranges.ops_high_usd_per_month, ranges.ops_source, steps=steps))
    out.append(sensitivity("gpu_usd_per_hour", lambda v: decide(case.with_(gpu_usd_per_hour=v)),
                           case.gpu_usd_per_hour, ranges.gpu_low_usd_per_hour, ranges.gpu_high_usd_per_hour,
                           ranges.gpu_source, log=True, steps=steps))
    out.append(sensitivity("input_share", lambda v: decide(case.with_(input_share=v)), case.traffic.input_share,
                           ranges.input_share_low, ranges.input_share_high, ranges.traffic_source, steps=steps))
    out.append(sensitivity("peak_to_mean_x", lambda v: decide(case.with_(peak_to_mean_x=v)),
                           case.traffic.peak_to_mean_x, 1.0, ranges.peak_to_mean_high_x, ranges.traffic_source,
                           steps=steps))
    out.append(sensitivity("cached_share", lambda v: decide(case.with_(cached_share=v)), case.traffic.cached_share,
                           0.0, ranges.cached_share_high, ranges.traffic_source, steps=steps))
    out.append(sensitivity("api_price_x", lambda v: decide(case.with_(api_price_x=v)), case.api_price_x,
                           ranges.api_price_low_x, 1.0, ranges.api_source, steps=steps))
    return tuple(out)


def data_evidence(api: Sequence[ApiPrice], gpu: Sequence[GpuPrice] = ()) -> Evidence:
    """The dated tables a cost verdict rests on, with the dates of their copies."""
    parts = [f"{len(api)} API prices from data/api_prices.csv ({copy_dates(api)})"]
    if gpu:
        parts.append(f"{len(gpu)} GPU prices from data/gpu_prices.csv ({copy_dates(gpu)})")
    return Evidence("data", "; ".join(parts))


def model_evidence(case: CostCase, basis: str = "") -> Evidence:
    """The cost model (and, with a setup, the capacity model) a verdict rests on."""
    if case.setup is None:
        return Evidence("model", "selfhost.costs: GPUs around the clock (730-hour month) plus operations, no capacity limit")
    fit = case.fit
    assert fit is not None
    return Evidence("model", f"selfhost.costs.Deployment: replicas of {fit.label(case.setup.gpu)}, each serving at most "
                             f"{fit.capacity_tok_per_day / 1e6:,.1f}M tok/day within TTFT <= {case.setup.slo_ttft_ms:,.0f} "
                             f"ms and TPOT <= {case.setup.slo_tpot_ms:,.0f} ms (selfhost.capacity, the roofline at "
                             f"{case.setup.efficiency.bandwidth_share:.0%} of peak bandwidth and "
                             f"{case.setup.efficiency.compute_share:.0%} of peak FLOP/s"
                             + (f": {basis}" if basis else "") + "), provisioned for the peak, plus operations")


# ---------------------------------------------------------------------- C02, C03: the break-even volumes
def near_outcome(breakevens: Mapping[str, float], article_tok_per_day: float, tolerance_x: float) -> str:
    """The verdict alone for "the break-even is ~N tokens/day" from each API's break-even (``inf``: never)."""
    if not breakevens:
        raise ParameterError("breakevens", breakevens, "at least one break-even volume")
    near = [k for k, v in breakevens.items() if within(v, article_tok_per_day, tolerance_x)]
    if len(near) == len(breakevens):
        return HOLDS
    return CONDITIONAL if near else FAILS


def near_verdict(claim_id: str, prices: Sequence[ApiPrice], case: CostCase, article_tok_per_day: float,
                 tolerance_x: float, baseline: str, book_ops_usd_per_month: float | None = None,
                 traffics: Mapping[str, costs.Traffic] | None = None,
                 current: Mapping[str, CostCase] | None = None) -> Verdict:
    """Verdict on "the break-even against <baseline> is ~N tokens/day" (C02, C03).

    Each API's break-even (the volume from which self-hosting stays cheaper, in ``case``)
    counts as "near" the article's figure when within ``tolerance_x`` of it. All near:
    holds; none: does not hold; some: holds only for those. The reason states the range at
    the article's operating cost (``case``) and at the book's (``book_ops_usd_per_month``);
    the figures add the break-even under each trace's traffic and on current GPUs.
    """
    if not prices:
        raise ParameterError("prices", prices, f"at least one API to judge {claim_id} against")
    values = {p.key: case.breakeven(p).lasting_tok_per_day for p in prices}
    outcome = near_outcome(values, article_tok_per_day, tolerance_x)
    near = sorted(k for k, v in values.items() if within(v, article_tok_per_day, tolerance_x))
    never = sorted(k for k, v in values.items() if not math.isfinite(v))
    below = sorted(k for k, v in values.items() if v < article_tok_per_day / tolerance_x)
    above = sorted(k for k, v in values.items() if article_tok_per_day * tolerance_x < v < math.inf)
    finite = [v for v in values.values() if math.isfinite(v)]
    figures: dict[str, float | int | str] = {
        "article_breakeven_tok_per_day": article_tok_per_day, "tolerance_x": tolerance_x,
        "apis_count": len(values), "near_count": len(near), "never_breaks_even_count": len(never),
        "ops_usd_per_month": case.ops_usd_per_month, "gpu_usd_per_hour": case.gpu_usd_per_hour,
    }
    if finite:
        figures["breakeven_min_tok_per_day"] = min(finite)
        figures["breakeven_max_tok_per_day"] = max(finite)
    if case.fit is not None:
        figures["replica_capacity_tok_per_day"] = case.fit.capacity_tok_per_day
        figures["replica_gpus_count"] = case.fit.gpus_count
    span = _span(values.values())
    target = f"{article_tok_per_day / 1e6:,.0f}M tokens/day"
    book_text = ""
    if book_ops_usd_per_month is not None:
        book = case.with_(ops_usd_per_month=book_ops_usd_per_month)
        book_values = [book.breakeven(p).lasting_tok_per_day for p in prices]
        figures["book_ops_usd_per_month"] = book_ops_usd_per_month
        bf = [v for v in book_values if math.isfinite(v)]
        if bf:
            figures["book_ops_breakeven_min_tok_per_day"] = min(bf)
            figures["book_ops_breakeven_max_tok_per_day"] = max(bf)
        figures["book_ops_near_count"] = sum(within(v, article_tok_per_day, tolerance_x) for v in book_values)
        book_text = (f" With the book's operating cost (${book_ops_usd_per_month:,.0f}/month) it spans "
                     f"{_span(book_values)}, {figures['book_ops_near_count']} of {len(values)} near {target}.")
    trace_text = ""
    if traffics:
        parts = []
        for label, traffic in traffics.items():
            t_case = replace(case, traffic=traffic)
            tv = [t_case.breakeven(p).lasting_tok_per_day for p in prices]
            slug = label.replace("-", "_")
            tf = [v for v in tv if math.isfinite(v)]
            if tf:
                figures[f"{slug}_breakeven_min_tok_per_day"] = min(tf)
                figures[f"{slug}_breakeven_max_tok_per_day"] = max(tf)
            figures[f"{slug}_near_count"] = sum(within(v, article_tok_per_day, tolerance_x) for v in tv)
            parts.append(f"{label} ({traffic.input_share:.0%} input, peak {traffic.peak_to_mean_x:.2g}x, "
                         f"{traffic.cached_share:.0%} cached): {_span(tv)}")
        trace_text = " Under real traffic: " + "; ".join(parts) + "."
    current_text = ""
    if current:
        parts = []
        for label, c_case in current.items():
            cv = [c_case.breakeven(p).lasting_tok_per_day for p in prices]
            parts.append(f"{label} ${c_case.gpu_usd_per_hour:,.2f}/h: {_span(cv)}")
        current_text = " On current GPUs and prices (cheapest on-demand): " + "; ".join(parts) + "."
    reason = (f"In the article's scenario ({case.describe()}) the break-even against the {len(values)} {baseline} "
              f"spans {span}; {len(near)} lie within {tolerance_x:g}x of {target}"
              + (f", and against {len(never)} no volume breaks even" if never else "") + "."
              + book_text + trace_text + current_text)
    conditions: list[str] = []
    if outcome != HOLDS:
        if near:
            conditions.append(f"the API replaced is one of: {', '.join(near)}")
        if below:
            conditions.append(f"not for {', '.join(below)}: dearer, the break-even is lower")
        if above:
            conditions.append(f"not for {', '.join(above)}: cheaper, the break-even is higher")
        if never:
            conditions.append(f"not for {', '.join(never)}: a replica's tokens, at the utilisation the traffic's peak "
                              "allows, are worth less at that price than the replica costs")
    conditions.append("no operating cost, as the article counts: with the book's the break-even moves as stated")
    if case.setup is not None:
        conditions.append("capacity from the calibrated roofline: past a replica's capacity the cost steps up a whole "
                          "replica")
    return Verdict(claim_id, outcome, reason, figures, tuple(conditions))


def _usd(value: float) -> str:
    """Dollars with the sign before the symbol: ``-$19,200``."""
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _span(values: Iterable[float]) -> str:
    vals = list(values)
    finite = [v for v in vals if math.isfinite(v)]
    never = len(vals) - len(finite)
    if not finite:
        return "never (no volume breaks even)"
    lo, hi = min(finite), max(finite)
    text = f"{lo / 1e6:,.1f}M" if math.isclose(lo, hi) else f"{lo / 1e6:,.1f}M to {hi / 1e6:,.1f}M tokens/day"
    if math.isclose(lo, hi):
        text += " tokens/day"
    return text + (f" ({never} never)" if never else "")


def assess_near(claim_id: str, prices: Sequence[ApiPrice], case: CostCase, article_tok_per_day: float,
                tolerance_x: float, baseline: str, ranges: CostRanges, *, book_ops_usd_per_month: float | None = None,
                traffics: Mapping[str, costs.Traffic] | None = None, current: Mapping[str, CostCase] | None = None,
                evidence: Sequence[Evidence] = (), steps: int = 16) -> Verdict:
    """:func:`near_verdict` with what flips it (:func:`sensitivities`) and its evidence."""
    verdict = near_verdict(claim_id, prices, case, article_tok_per_day, tolerance_x, baseline,
                           book_ops_usd_per_month, traffics, current)

    def decide(c: CostCase) -> str:
        return near_outcome({p.key: c.breakeven(p).lasting_tok_per_day for p in prices}, article_tok_per_day,
                            tolerance_x)

    return verdict.with_(sensitivity=sensitivities(decide, case, ranges, steps), evidence=tuple(evidence))


# ---------------------------------------------------------------------- C04: the ratio of crossovers
def ratio_table(frontier: Sequence[ApiPrice], hosted: Sequence[ApiPrice], case: CostCase) -> pd.DataFrame:
    """Every (frontier, hosted) pair: both break-evens and, where both exist, their ratio.

    Columns: ``frontier``, ``hosted``, ``frontier_breakeven_tok_per_day``,
    ``hosted_breakeven_tok_per_day``, ``ratio_x`` (hosted / frontier; NaN where either never
    crosses), ``crosses`` (both exist). With a capacity limit the ratio is no longer the
    ratio of the prices: a cheap API needs more replicas to pay.
    """
    rows = []
    fb = {p.key: case.breakeven(p).lasting_tok_per_day for p in frontier}
    hb = {p.key: case.breakeven(p).lasting_tok_per_day for p in hosted}
    for f, vf in fb.items():
        for h, vh in hb.items():
            both = math.isfinite(vf) and math.isfinite(vh)
            rows.append({"frontier": f, "hosted": h, "frontier_breakeven_tok_per_day": vf,
                         "hosted_breakeven_tok_per_day": vh, "ratio_x": vh / vf if both else math.nan,
                         "crosses": both})
    return pd.DataFrame(rows, columns=["frontier", "hosted", "frontier_breakeven_tok_per_day",
                                       "hosted_breakeven_tok_per_day", "ratio_x", "crosses"])


def c04_outcome(ratios: pd.DataFrame, article_ratio_x: float, tolerance_x: float) -> str:
    """The C04 verdict alone: judged on the pairs whose crossovers both exist."""
    existing = ratios[ratios["crosses"]]
    if existing.empty:
        return FAILS
    near = [within(x, article_ratio_x, tolerance_x) for x in existing["ratio_x"]]
    if all(near) and len(existing) == len(ratios):
        return HOLDS
    return CONDITIONAL if any(near) else FAILS


def c04_verdict(ratios: pd.DataFrame, article_ratio_x: float, tolerance_x: float) -> Verdict:
    """Verdict on "the 10x difference in the crossover point" (C04).

    Only crossovers that exist are compared: a pair whose hosted (or frontier) API never
    breaks even has no ratio, and is counted apart. All pairs exist and lie within
    ``tolerance_x`` of the article's ratio: holds; some do: holds only for those; none:
    does not hold (also when no pair has both crossovers).
    """
    if ratios.empty:
        raise ParameterError("ratios", "(empty)", "at least one pair of APIs to compare (C04)")
    existing = ratios[ratios["crosses"]]
    outcome = c04_outcome(ratios, article_ratio_x, tolerance_x)
    figures: dict[str, float | int | str] = {"article_ratio_x": article_ratio_x, "pairs_count": len(ratios),
                                             "crossing_pairs_count": len(existing), "tolerance_x": tolerance_x}
    if existing.empty:
        return Verdict("C04", FAILS, f"None of the {len(ratios)} pairings has both crossovers: against the hosted "
                       "APIs no volume breaks even, so there is no crossover ratio, 10x or otherwise. 'Compare the "
                       "right baseline' holds more strongly than the article says.", figures,
                       ("a hosted API dear enough, or a GPU cheap enough, that self-hosting ever pays against it",))
    r = existing["ratio_x"]
    near = existing[[within(x, article_ratio_x, tolerance_x) for x in r]]
    geo = float(math.exp(sum(math.log(x) for x in r) / len(r)))
    figures.update({"ratio_min_x": float(r.min()), "ratio_max_x": float(r.max()), "ratio_geomean_x": geo,
                    "near_pairs_count": len(near)})
    span = f"{r.min():.1f}x to {r.max():.1f}x (geometric mean {geo:.1f}x)"
    missing = len(ratios) - len(existing)
    tail = (f"; {missing} of {len(ratios)} pairings have no ratio because self-hosting never pays against the hosted "
            "side" if missing else "")
    reason = (f"Where both crossovers exist ({len(existing)} of {len(ratios)} pairings) their ratio spans {span}; "
              f"{len(near)} lie within {tolerance_x:g}x of the article's {article_ratio_x:g}x{tail}.")
    conditions: list[str] = []
    if outcome != HOLDS:
        if len(near):
            conditions.append("the pairing is one of: " + ", ".join(f"{a} vs {b}" for a, b in
                                                                     zip(near["frontier"], near["hosted"])))
        if missing:
            conditions.append("the hosted side is one self-hosting ever beats: against the cheapest hosted APIs "
                              "there is no crossover at all")
    return Verdict("C04", outcome, reason, figures, tuple(conditions))


def assess_c04(frontier: Sequence[ApiPrice], hosted: Sequence[ApiPrice], case: CostCase, article_ratio_x: float,
               tolerance_x: float, ranges: CostRanges, evidence: Sequence[Evidence] = (), steps: int = 16) -> Verdict:
    """:func:`c04_verdict` with what flips it and its evidence."""
    verdict = c04_verdict(ratio_table(frontier, hosted, case), article_ratio_x, tolerance_x)

    def decide(c: CostCase) -> str:
        return c04_outcome(ratio_table(frontier, hosted, c), article_ratio_x, tolerance_x)

    return verdict.with_(sensitivity=sensitivities(decide, case, ranges, steps), evidence=tuple(evidence))


# ---------------------------------------------------------------------- C05: total cost of ownership
def tco_table(prices: Iterable[ApiPrice], case: CostCase, volume_tok_per_day: float) -> pd.DataFrame:
    """At one daily volume: each API's monthly bill against self-hosting's total cost.

    Columns: ``model``, ``tier``, ``blended_usd_per_mtok``, ``api_usd_per_month``,
    ``selfhost_usd_per_month`` (replicas for the peak + operations), ``replicas_count``,
    ``utilisation_share``, ``api_wins``, ``ops_needed_usd_per_month`` (the operating cost at
    which the API stops losing: zero where the GPUs alone already cost more).
    """
    d = case.deployment
    traffic = case.traffic.at(volume_tok_per_day)
    if not d.serves:
        raise ParameterError("slo_ttft_ms", case.setup.slo_ttft_ms if case.setup else None,
                             "a latency target some batch of the deployment meets (its capacity is 0)")
    m = d.monthly(traffic)
    rows = []
    for p in prices:
        blended = case.blended_usd_per_mtok(p)
        api = costs.spend_usd_per_month(volume_tok_per_day, blended)
        rows.append({"model": p.key, "tier": p.tier, "blended_usd_per_mtok": blended, "api_usd_per_month": api,
                     "selfhost_usd_per_month": m.total_usd_per_month, "replicas_count": m.replicas_count,
                     "utilisation_share": m.utilisation_share, "api_wins": api <= m.total_usd_per_month,
                     "ops_needed_usd_per_month": max(0.0, api - m.gpu_usd_per_month)})
    columns = ["model", "tier", "blended_usd_per_mtok", "api_usd_per_month", "selfhost_usd_per_month",
               "replicas_count", "utilisation_share", "api_wins", "ops_needed_usd_per_month"]
    return pd.DataFrame(rows, columns=columns).sort_values("api_usd_per_month", ascending=False).reset_index(drop=True)


def c05_outcome(table: pd.DataFrame, most_share: float) -> str:
    wins, total = int(table["api_wins"].sum()), len(table)
    if wins == total:
        return HOLDS
    return CONDITIONAL if wins / total >= most_share else FAILS


def c05_verdict(prices: Sequence[ApiPrice], case: CostCase, volume_tok_per_day: float, most_share: float,
                traffics: Mapping[str, costs.Traffic] | None = None) -> Verdict:
    """Verdict on "below 5M tokens/day, API providers win on total cost of ownership" (C05).

    Self-hosting's cost at or below the volume is at least one replica plus operations and
    the API bill shrinks with the volume, so an API that wins at the volume wins below it.
    Holds when every API wins there; holds only under conditions when at least
    ``most_share`` do ("most teams"); else does not hold. Each trace's traffic is reported
    beside the article's.
    """
    check_number("most_share", most_share, ge=0, le=1)
    table = tco_table(prices, case, volume_tok_per_day)
    outcome = c05_outcome(table, most_share)
    wins, total = int(table["api_wins"].sum()), len(table)
    ops_needed = float(table["ops_needed_usd_per_month"].max())
    losers = list(table.loc[~table["api_wins"], "model"])
    figures: dict[str, float | int | str] = {
        "volume_tok_per_day": volume_tok_per_day, "api_wins_count": wins, "apis_count": total,
        "ops_usd_per_month": case.ops_usd_per_month, "ops_needed_usd_per_month": ops_needed,
        "selfhost_usd_per_month": float(table["selfhost_usd_per_month"].iloc[0]),
        "replicas_count": int(table["replicas_count"].iloc[0]),
    }
    at = f"{volume_tok_per_day / 1e6:,.0f}M tokens/day"
    trace_text = ""
    if traffics:
        parts = []
        for label, traffic in traffics.items():
            t = tco_table(prices, replace(case, traffic=traffic), volume_tok_per_day)
            figures[f"{label.replace('-', '_')}_api_wins_count"] = int(t["api_wins"].sum())
            parts.append(f"{label}: {int(t['api_wins'].sum())} of {len(t)}")
        trace_text = " APIs that win under real traffic: " + "; ".join(parts) + "."
    reason = (f"At {at} self-hosting costs ${figures['selfhost_usd_per_month']:,.0f}/month ({case.describe()}); "
              f"{wins} of {total} APIs cost less."
              + (f" An operating cost of ${ops_needed:,.0f}/month would make every API win."
                 if wins < total else "") + trace_text)
    conditions: tuple[str, ...] = ()
    if outcome != HOLDS:
        conditions = (f"operating cost of at least ${ops_needed:,.0f}/month: below it self-hosting is cheaper at {at} "
                      "than " + ", ".join(losers),)
    return Verdict("C05", outcome, reason, figures, conditions)


def assess_c05(prices: Sequence[ApiPrice], case: CostCase, volume_tok_per_day: float, most_share: float,
               ranges: CostRanges, traffics: Mapping[str, costs.Traffic] | None = None,
               evidence: Sequence[Evidence] = (), steps: int = 16) -> Verdict:
    """:func:`c05_verdict` with what flips it and its evidence."""
    verdict = c05_verdict(prices, case, volume_tok_per_day, most_share, traffics)

    def decide(c: CostCase) -> str:
        if not c.deployment.serves:
            return "no batch meets the latency target"
        return c05_outcome(tco_table(prices, c, volume_tok_per_day), most_share)

    return verdict.with_(sensitivity=sensitivities(decide, case, ranges, steps), evidence=tuple(evidence))


# ---------------------------------------------------------------------- C06: the spend thresholds
def spend_threshold_table(prices: Iterable[ApiPrice], thresholds_usd_per_month: Mapping[str, float],
                          case: CostCase) -> pd.DataFrame:
    """What each tier's spend threshold buys at each API's price, what serving it costs, and the overhead it implies.

    Columns: ``model``, ``tier``, ``threshold_usd_per_month``, ``blended_usd_per_mtok``,
    ``volume_tok_per_day`` (what the spend buys), ``volume_tok_per_s`` (its mean rate),
    ``replicas_count`` and ``gpus_count`` (to serve that volume at its peak),
    ``gpu_usd_per_month``, ``implied_ops_usd_per_month`` (threshold minus GPUs: the
    overhead at which the threshold is a break-even; negative where the GPUs alone cost more),
    ``volume_mtok_per_day`` (the volume in millions, as a page shows it).
    """
    d = case.deployment
    rows = []
    for p in prices:
        if p.tier not in thresholds_usd_per_month:
            continue
        spend = thresholds_usd_per_month[p.tier]
        blended = case.blended_usd_per_mtok(p)
        volume = costs.tok_per_day_for_spend(spend, blended)
        m = d.monthly(case.traffic.at(volume)) if d.serves else None
        rows.append({"model": p.key, "tier": p.tier, "threshold_usd_per_month": spend,
                     "blended_usd_per_mtok": blended, "volume_tok_per_day": volume,
                     "volume_tok_per_s": volume / SECONDS_PER_DAY,
                     "replicas_count": m.replicas_count if m else math.nan,
                     "gpus_count": m.gpus_count if m else math.nan,
                     "gpu_usd_per_month": m.gpu_usd_per_month if m else math.nan,
                     "implied_ops_usd_per_month": spend - m.gpu_usd_per_month if m else math.nan,
                     "volume_mtok_per_day": volume / 1e6})
    columns = ["model", "tier", "threshold_usd_per_month", "blended_usd_per_mtok", "volume_tok_per_day",
               "volume_tok_per_s", "replicas_count", "gpus_count", "gpu_usd_per_month", "implied_ops_usd_per_month",
               "volume_mtok_per_day"]
    return pd.DataFrame(rows, columns=columns).sort_values(["tier", "volume_tok_per_day"]).reset_index(drop=True)


def c06_consistent(table: pd.DataFrame, tier: str, assumed_ops_usd_per_month: float, tolerance_x: float) -> bool:
    """Whether a tier's threshold is a break-even at the assumed overhead: at the tier's median-priced API
    the implied overhead lies within ``tolerance_x`` of the assumed one."""
    rows = table[table["tier"] == tier].sort_values("blended_usd_per_mtok")
    if rows.empty:
        return False
    implied = float(rows["implied_ops_usd_per_month"].iloc[(len(rows) - 1) // 2])
    return within(implied, assumed_ops_usd_per_month, tolerance_x)


def c06_outcome(table: pd.DataFrame, tiers: Iterable[str], assumed_ops_usd_per_month: float, tolerance_x: float) -> str:
    ok = [c06_consistent(table, t, assumed_ops_usd_per_month, tolerance_x) for t in tiers]
    if all(ok):
        return HOLDS
    return CONDITIONAL if any(ok) else FAILS


def c06_verdict(prices: Sequence[ApiPrice], thresholds_usd_per_month: Mapping[str, float], case: CostCase,
                assumed_ops_usd_per_month: float, tolerance_x: float) -> Verdict:
    """Verdict on the spend thresholds ">$10K/month frontier", ">$50K/month hosted open" (C06).

    A threshold ``S`` is a cost break-even only if operating the self-hosted deployment
    that serves what ``S`` buys costs ``S - GPUs`` a month. The GPUs are counted with
    capacity: the volume a spend buys needs replicas for its peak. A tier's threshold is
    consistent when, at its median-priced API, that implied overhead lies within
    ``tolerance_x`` of ``assumed_ops_usd_per_month``. Both consistent: holds; one: holds
    only under conditions; none: does not hold.
    """
    check_number("assumed_ops_usd_per_month", assumed_ops_usd_per_month, gt=0)
    table = spend_threshold_table(prices, thresholds_usd_per_month, case)
    tiers = list(thresholds_usd_per_month)
    outcome = c06_outcome(table, tiers, assumed_ops_usd_per_month, tolerance_x)
    figures: dict[str, float | int | str] = {"assumed_ops_usd_per_month": assumed_ops_usd_per_month,
                                             "tolerance_x": tolerance_x}
    parts, conditions = [], []
    for tier in tiers:
        rows = table[table["tier"] == tier]
        if rows.empty:
            continue
        slug = tier.replace("-", "_")
        vol, gpus, implied = rows["volume_tok_per_day"], rows["gpus_count"], rows["implied_ops_usd_per_month"]
        figures[f"{slug}_volume_min_tok_per_day"] = float(vol.min())
        figures[f"{slug}_volume_max_tok_per_day"] = float(vol.max())
        figures[f"{slug}_gpus_min_count"] = float(gpus.min())
        figures[f"{slug}_gpus_max_count"] = float(gpus.max())
        figures[f"{slug}_implied_ops_min_usd_per_month"] = float(implied.min())
        figures[f"{slug}_implied_ops_max_usd_per_month"] = float(implied.max())
        spend = thresholds_usd_per_month[tier]
        ok = c06_consistent(table, tier, assumed_ops_usd_per_month, tolerance_x)
        parts.append(f"{_usd(spend)}/month ({tier}) buys {significant(vol.min() / 1e6)}M to "
                     f"{significant(vol.max() / 1e6)}M tokens/day, which needs {gpus.min():,.0f} to "
                     f"{gpus.max():,.0f} GPUs at its peak, so it implies {_usd(implied.min())} to "
                     f"{_usd(implied.max())}/month of overhead: {'consistent' if ok else 'not consistent'}")
        if ok:
            conditions.append(f"the {tier} threshold: operating overhead near {_usd(implied.median())}/month")
    reason = (f"Against an assumed overhead of {_usd(assumed_ops_usd_per_month)}/month, a threshold is consistent "
              f"where the overhead it implies at its median-priced API lies within {tolerance_x:g}x of it. "
              + "; ".join(parts) + f". Scenario: {case.describe()}.")
    if outcome == CONDITIONAL:
        conditions.append("the other threshold is no break-even at that overhead: a negative implied overhead means "
                          "the GPUs alone cost more than the spend")
    return Verdict("C06", outcome, reason, figures, tuple(conditions))


def assess_c06(prices: Sequence[ApiPrice], thresholds_usd_per_month: Mapping[str, float], case: CostCase,
               assumed_ops_usd_per_month: float, tolerance_x: float, ranges: CostRanges,
               evidence: Sequence[Evidence] = (), steps: int = 16) -> Verdict:
    """:func:`c06_verdict` with what flips it. The assumed overhead is the input held from 0 to one engineer
    (the case's own operating cost is not used: the threshold implies one)."""
    verdict = c06_verdict(prices, thresholds_usd_per_month, case, assumed_ops_usd_per_month, tolerance_x)
    tiers = list(thresholds_usd_per_month)

    def decide(c: CostCase) -> str:
        return c06_outcome(spend_threshold_table(prices, thresholds_usd_per_month, c), tiers,
                           max(c.ops_usd_per_month, 1e-9), tolerance_x)

    base = case.with_(ops_usd_per_month=assumed_ops_usd_per_month)
    return verdict.with_(sensitivity=sensitivities(decide, base, ranges, steps), evidence=tuple(evidence))


# ---------------------------------------------------------------------- helpers for pages
def one_engineer_usd_per_month(engineer_usd_per_year: float, monitoring_usd_per_month: float) -> float:
    """The top of the operating-cost range: one full engineer plus monitoring [USD/month]."""
    return engineer_usd_per_year / MONTHS_PER_YEAR + monitoring_usd_per_month


def trace_ranges(traffics: Mapping[str, costs.Traffic]) -> tuple[float, float, float, float]:
    """(lowest input share, highest input share, highest peak-to-mean, highest cached share) over the traces."""
    if not traffics:
        raise ParameterError("traffics", traffics, "at least one trace")
    shares = [t.input_share for t in traffics.values()]
    return (min(shares), max(shares), max(t.peak_to_mean_x for t in traffics.values()),
            max(t.cached_share for t in traffics.values()))


def median_price(prices: Sequence[ApiPrice], input_share: float) -> float:
    """The median blended price of ``prices`` at an input share [USD/Mtok]."""
    return statistics.median(p.blended_usd_per_mtok(input_share) for p in prices)


def monthly_days() -> float:
    """Days in the 730-hour billing month the pages use [day/month]."""
    return DAYS_PER_MONTH


def worked_example(case: CostCase, input_usd_per_mtok: float, output_usd_per_mtok: float,
                   cached_input_usd_per_mtok: float | None = None, tok_per_day: float = 5.0e6,
                   ) -> dict[str, float | int | str]:
    """:func:`priced_example` against one API given by its prices (a page's parameters)."""
    return priced_example(case, numbers_price(input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok),
                          tok_per_day)


def priced_example(case: CostCase, price: ApiPrice, tok_per_day: float) -> dict[str, float | int | str]:
    """The break-even of ``case`` against ``price``, and which costs less at ``tok_per_day``, with every term a page
    shows.

    Keys: ``blended_usd_per_mtok``, ``replica_usd_per_month``, ``ops_usd_per_month``,
    ``gpus_per_replica_count``, ``min_replicas_count``, ``replica_capacity_tok_per_day`` (``inf``: no
    limit), ``peak_to_mean_x``, ``first_breakeven_tok_per_day``, ``breakeven_tok_per_day``,
    ``breakeven_replicas_count`` (the replicas the break-even volume needs), ``days_per_month``,
    ``hours_per_month``, ``deployment`` (its label), ``weight_dtype``, ``gpu_usd_per_hour``; at
    ``tok_per_day`` (the mean volume [tok/day]): ``tok_per_day``, ``selfhost_usd_per_month`` (``inf``
    where a replica serves nothing), ``api_usd_per_month``, ``replicas_count``, ``utilisation_share``
    (the mean over the provisioned capacity; ``nan`` without a capacity limit or without a replica)
    and ``answer`` (``self-host`` where it costs less than the API's bill, else ``api``).
    """
    check_number("tok_per_day", tok_per_day, gt=0, finite=True)
    t = case.traffic.at(tok_per_day)
    blended = case.blended_usd_per_mtok(price)
    d = case.deployment
    b = d.breakeven(blended, t.peak_to_mean_x)
    cap = d.replica_capacity_tok_per_day
    out: dict[str, float | int | str] = {
        "blended_usd_per_mtok": blended, "replica_usd_per_month": d.replica_usd_per_month,
        "ops_usd_per_month": d.ops_usd_per_month, "gpus_per_replica_count": d.gpus_per_replica,
        "min_replicas_count": d.min_replicas, "replica_capacity_tok_per_day": math.inf if cap is None else cap,
        "peak_to_mean_x": t.peak_to_mean_x, "first_breakeven_tok_per_day": b.first_tok_per_day,
        "breakeven_tok_per_day": b.lasting_tok_per_day, "days_per_month": DAYS_PER_MONTH,
        "hours_per_month": costs.HOURS_PER_MONTH, "deployment": d.label,
        "weight_dtype": case.fit.weight_dtype if case.fit else "–",
        "gpu_usd_per_hour": case.gpu_usd_per_hour,
    }
    out["breakeven_replicas_count"] = (d.replicas_for(t.at(b.lasting_tok_per_day)) if b.crosses and d.serves else 0)
    api = costs.api_usd_per_month(t, blended)
    month = d.monthly(t) if d.serves else None
    selfhost = month.total_usd_per_month if month else math.inf
    use = month.utilisation_share if month else None
    out |= {"tok_per_day": tok_per_day, "selfhost_usd_per_month": selfhost, "api_usd_per_month": api,
            "replicas_count": month.replicas_count if month else 0,
            "utilisation_share": math.nan if use is None else use,
            "answer": SELF_HOST if selfhost < api else API}
    return out


def worked_example_markdown(example: Mapping[str, float | int | str]) -> str:
    """The worked example as one sentence with its numbers, for a page (the formula with the page's numbers)."""
    cap = float(example["replica_capacity_tok_per_day"])
    be_tok = float(example["breakeven_tok_per_day"])
    cap_text = ("a replica serves any volume" if math.isinf(cap) else
                f"a replica serves at most {cap / 1e6:,.1f}M tokens/day within the latency target")
    result = ("**no volume breaks even**" if math.isinf(be_tok) else
              f"**break-even {be_tok / 1e6:,.2f}M tokens/day** ({counted(int(example['breakeven_replicas_count']), 'replica')})")
    return (f"{example['deployment']}: {counted(int(example['gpus_per_replica_count']), 'GPU')} x "
            f"${float(example['gpu_usd_per_hour']):,.2f}/h x {float(example['hours_per_month']):,.0f} h = "
            f"${float(example['replica_usd_per_month']):,.0f}/month a replica, plus "
            f"${float(example['ops_usd_per_month']):,.0f}/month of operations; {cap_text}, provisioned for a peak "
            f"{float(example['peak_to_mean_x']):.2g}x the mean. Against ${float(example['blended_usd_per_mtok']):,.2f}"
            f"/Mtok x {float(example['days_per_month']):,.2f} days: {result}. "
            + _at_volume_text(example))


def _at_volume_text(example: Mapping[str, float | int | str]) -> str:
    """Which costs less at the example's volume, in one sentence."""
    api, selfhost = float(example["api_usd_per_month"]), float(example["selfhost_usd_per_month"])
    own = (f"self-hosting ${selfhost:,.0f} ({counted(int(example['replicas_count']), 'replica')})" if math.isfinite(selfhost) else
           "self-hosting cannot serve it")
    answer = "**self-host**" if example["answer"] == SELF_HOST else "**use the API**"
    return (f"At {float(example['tok_per_day']) / 1e6:,.2f}M tokens/day the API costs ${api:,.0f} a month and "
            f"{own}: {answer}.")


def breakeven_long(table: pd.DataFrame, scenarios: Mapping[str, str]) -> pd.DataFrame:
    """:func:`breakeven_table` in long form for :func:`selfhost.charts.costs.breakeven_chart`:
    ``model``, ``scenario`` (a key of ``scenarios``), ``breakeven_tok_per_day`` (its column)."""
    frames = [pd.DataFrame({"model": table["model"], "scenario": label, "breakeven_tok_per_day": table[column]})
              for label, column in scenarios.items()]
    return pd.concat(frames, ignore_index=True)


def numbers_price(input_usd_per_mtok: float, output_usd_per_mtok: float,
                  cached_input_usd_per_mtok: float | None = None, label: str = "this page's API") -> ApiPrice:
    """An API given by its prices alone (a page's parameters), as an :class:`~selfhost.prices.ApiPrice`."""
    import datetime as dt

    return ApiPrice("parameters", label, "frontier", "current", input_usd_per_mtok, output_usd_per_mtok,
                    cached_input_usd_per_mtok, "the page's parameters", dt.date(1970, 1, 1))


def tco_traffic_table(prices: Sequence[ApiPrice], case: CostCase, volume_tok_per_day: float,
                      traffics: Mapping[str, costs.Traffic]) -> pd.DataFrame:
    """C05 under each traffic: the self-host cost at the volume, the replicas its peak needs, the mean
    utilisation, and how many APIs cost less. Columns: ``traffic``, ``selfhost_usd_per_month``,
    ``replicas_count``, ``utilisation_share``, ``api_wins_count``, ``apis_count``."""
    rows = []
    for label, traffic in traffics.items():
        t = tco_table(prices, replace(case, traffic=traffic), volume_tok_per_day)
        rows.append({"traffic": label, "selfhost_usd_per_month": float(t["selfhost_usd_per_month"].iloc[0]),
                     "replicas_count": int(t["replicas_count"].iloc[0]),
                     "utilisation_share": float(t["utilisation_share"].iloc[0]),
                     "api_wins_count": int(t["api_wins"].sum()), "apis_count": len(t)})
    return pd.DataFrame(rows)


def monthly_figures(case: CostCase, volume_tok_per_day: float) -> dict[str, float | int | str]:
    """What the deployment of ``case`` costs and provisions at a volume, as named figures for a page."""
    m = case.deployment.monthly(case.traffic.at(volume_tok_per_day))
    return {"volume_tok_per_day": volume_tok_per_day, "volume_mtok_per_day": volume_tok_per_day / 1e6,
            "replicas_count": m.replicas_count, "gpus_count": m.gpus_count,
            "gpu_usd_per_month": m.gpu_usd_per_month, "ops_usd_per_month": m.ops_usd_per_month,
            "selfhost_usd_per_month": m.total_usd_per_month,
            "utilisation_share": m.utilisation_share if m.utilisation_share is not None else math.nan,
            "selfhost_usd_per_mtok": m.usd_per_mtok if m.usd_per_mtok is not None else math.nan,
            "deployment": case.deployment.label}


def tier_extremes(prices: Sequence[ApiPrice], case: CostCase) -> dict[str, ApiPrice]:
    """The cheapest and dearest API of each tier (for a chart): ``"<key>"`` -> price."""
    out: dict[str, ApiPrice] = {}
    for tier in sorted({p.tier for p in prices}):
        members = sorted((p for p in prices if p.tier == tier), key=case.blended_usd_per_mtok)
        for p in (members[0], members[-1]):
            out[p.key] = p
    return out


def threshold_figures(table: pd.DataFrame, tier: str) -> dict[str, float]:
    """A tier's spend-threshold range: volumes bought, GPUs they take, implied overhead (min and max)."""
    rows = table[table["tier"] == tier]
    if rows.empty:
        raise ParameterError("tier", tier, "a tier with prices in the table")
    return {"volume_min_tok_per_day": float(rows["volume_tok_per_day"].min()),
            "volume_max_tok_per_day": float(rows["volume_tok_per_day"].max()),
            "gpus_min_count": float(rows["gpus_count"].min()), "gpus_max_count": float(rows["gpus_count"].max()),
            "implied_ops_min_usd_per_month": float(rows["implied_ops_usd_per_month"].min()),
            "implied_ops_max_usd_per_month": float(rows["implied_ops_usd_per_month"].max())}


def threshold_statement(table: pd.DataFrame, thresholds_usd_per_month: Mapping[str, float]) -> str:
    """What each tier's spend threshold buys, what serving it takes and the overhead it implies, in one sentence
    per tier, from :func:`spend_threshold_table` (volumes in millions, with the digits the table prints)."""
    sentences = []
    for tier, spend in thresholds_usd_per_month.items():
        f = threshold_figures(table, tier)
        sentences.append(
            f"The {tier} threshold, {_usd(spend)}/month, buys {significant(f['volume_min_tok_per_day'] / 1e6)}M "
            f"to {significant(f['volume_max_tok_per_day'] / 1e6)}M tokens a day, which takes "
            f"{f['gpus_min_count']:,.0f} to {f['gpus_max_count']:,.0f} GPUs at its peak: it is a break-even only if "
            f"operations cost {_usd(f['implied_ops_min_usd_per_month'])} to "
            f"{_usd(f['implied_ops_max_usd_per_month'])} a month.")
    return " ".join(sentences)


def threshold_glue(table: pd.DataFrame, tiers: Iterable[str]) -> dict[str, float]:
    """:func:`threshold_figures` of every tier, named ``<tier>_<figure>`` (``-`` as ``_``) for the page's prose."""
    return {f"{tier.replace('-', '_')}_{k}": v for tier in tiers for k, v in threshold_figures(table, tier).items()}


def select_prices(prices: Iterable[ApiPrice], include_legacy: bool,
                  hosted_model_match: str) -> tuple[list[ApiPrice], list[ApiPrice], list[ApiPrice]]:
    """The break-even page's APIs: (all shown, the frontier ones, the hosted ones serving ``hosted_model_match``).

    ``include_legacy`` keeps the rows of models the provider no longer lists as current.
    """
    shown = [p for p in prices if include_legacy or p.status == "current"]
    hosted = [p for p in shown if p.tier == "hosted-open" and hosted_model_match in p.model]
    if not hosted:
        raise ParameterError("hosted_model_match", hosted_model_match,
                             "a model that a current hosted-open API in data/api_prices.csv serves")
    return shown, [p for p in shown if p.tier == "frontier"], hosted
