"""Your numbers, one answer: size, price and compare a whole self-hosted deployment (pure).

Given a reader's model, traffic, latency target, availability target, candidate GPUs with
their prices, operating cost and the APIs they would otherwise pay, :func:`make_plan`

1. sizes every candidate deployment: a GPU, a weight precision and the GPUs of one
   replica (1, 2, 4, 8, tensor parallel) that fits in memory; one replica serves
   :func:`selfhost.capacity.deployment_capacities`' tokens/day within the latency target
   at a steady load; the deployment runs ``ceil(peak / replica capacity)`` replicas to
   carry the *peak* rate (mean x ``peak_to_mean_x``), plus the spares the availability
   target needs (:func:`selfhost.availability.smallest_deployment`: the target reached
   with every replica able to carry the load means ``spares = replicas - 1`` of it);
2. prices each with the book's one cost model (:class:`selfhost.costs.Deployment`): GPUs around
   the clock (``gpus x $/GPU-hour x 730 h``) plus operations;
3. picks the cheapest that meets the targets, and prices the same traffic at each API
   (its blended price for the traffic's input share and cached share);
4. answers "self-host" when the deployment costs less a month than the API it would
   replace (the spend's API, else the first listed), gives the break-even volume of the
   chosen deployment against each API (stepping replicas as volume grows; None where no
   volume breaks even), and for each uncertain input the value inside its plausible
   range where the answer changes (:mod:`selfhost.robustness`).

A month is 730 hours (:data:`selfhost.units.HOURS_PER_MONTH`), the month clouds bill by.

References
----------
The article, *Should You Self-Host?*; :mod:`selfhost.capacity` and :mod:`selfhost.roofline`
(capacity within a latency target); :mod:`selfhost.availability` (replicas for a target).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from selfhost import availability, capacity, costs, memory, roofline
from selfhost.costs import API, SELF_HOST
from selfhost.errors import ParameterError
from selfhost.gpus import Gpu
from selfhost.modelspec import ModelSpec
from selfhost.params import check_number
from selfhost.prices import ApiPrice
from selfhost.robustness import Sensitivity, sensitivity
from selfhost.units import HOURS_PER_MONTH, counted

#: GPUs per replica tried (tensor parallel sizes vLLM serves).
REPLICA_SIZES = (1, 2, 4, 8)


# ---------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Traffic:
    """The traffic to serve.

    ``tok_per_day`` is the daily mean (input + output) [tok/day]; ``peak_to_mean_x`` the
    peak rate over the mean [x]; ``input_share`` input tokens over all [share];
    ``cached_input_share`` input an API bills at its cached price [share];
    ``prompt_tokens`` a typical prompt [tok]; ``basis`` says where the figures came from.
    """

    tok_per_day: float
    input_share: float
    peak_to_mean_x: float = 1.0
    cached_input_share: float = 0.0
    prompt_tokens: int = 512
    basis: str = "as given"

    def __post_init__(self) -> None:
        check_number("tok_per_day", self.tok_per_day, gt=0)
        check_number("input_share", self.input_share, gt=0, lt=1)
        check_number("peak_to_mean_x", self.peak_to_mean_x, ge=1)
        check_number("cached_input_share", self.cached_input_share, ge=0, le=1)

    @property
    def peak_tok_per_day(self) -> float:
        """The peak rate, as tokens per day [tok/day]."""
        return self.tok_per_day * self.peak_to_mean_x


@dataclass(frozen=True)
class GpuOption:
    """One candidate GPU: its record, its price and the engine efficiency on it, with their ranges."""

    gpu: Gpu
    usd_per_hour: float
    price_basis: str
    efficiency: roofline.Efficiency
    efficiency_range: tuple[roofline.Efficiency, roofline.Efficiency]
    price_range: tuple[float, float]

    def __post_init__(self) -> None:
        check_number(f"{self.gpu.key} price", self.usd_per_hour, gt=0)


@dataclass(frozen=True)
class Reliability:
    """The availability target and what one replica and one zone deliver (see :mod:`selfhost.availability`)."""

    target: float
    replica_availability: float
    zone_availability: float
    replica_failures_per_year: float
    failover_s: float
    max_replicas: int = 8
    max_zones: int = 3


@dataclass(frozen=True)
class PlanInputs:
    """Everything :func:`make_plan` needs, resolved from a profile and the data."""

    spec: ModelSpec
    traffic: Traffic
    ttft_ms: float
    tpot_ms: float
    reliability: Reliability
    gpus: tuple[GpuOption, ...]
    weight_dtypes: tuple[str, ...]
    ops_usd_per_month: float
    apis: tuple[ApiPrice, ...]
    reference_api: str
    overheads: memory.Overheads
    ops_range: tuple[float, float] = (0.0, 0.0)
    traffic_ranges: Mapping[str, tuple[float, float, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.gpus:
            raise ParameterError("gpus", (), "at least one candidate GPU")
        if not self.apis:
            raise ParameterError("apis", (), "at least one API to compare with")
        if self.reference_api not in {a.key for a in self.apis}:
            raise ParameterError("reference_api", self.reference_api, "one of the APIs compared")


# ---------------------------------------------------------------------- one candidate
@dataclass(frozen=True)
class Candidate:
    """One deployment: GPU, precision, GPUs per replica, and what it takes to carry the traffic."""

    gpu: str
    gpu_key: str
    weight_dtype: str
    gpus_per_replica: int
    fits: bool
    replica_capacity_tok_per_day: float
    limited_by: str
    load_replicas: int
    spare_replicas: int
    zones: int
    gpu_usd_per_hour: float
    ops_usd_per_month: float
    ttft_ms: float | None
    tpot_ms: float | None
    availability: float | None
    meets: bool
    misses: str

    @property
    def replicas(self) -> int:
        return self.load_replicas + self.spare_replicas

    @property
    def gpus_total(self) -> int:
        return self.replicas * self.gpus_per_replica

    @property
    def cost_deployment(self) -> costs.Deployment:
        """This kind of deployment in the book's one cost model (:class:`selfhost.costs.Deployment`): load
        replicas stepped by capacity as the volume grows; the spare replicas, paid whatever the volume,
        counted with the operating cost."""
        spares_usd_per_month = self.spare_replicas * costs.Deployment(self.gpu_usd_per_hour,
                                                                      self.gpus_per_replica).replica_usd_per_month
        return costs.Deployment(self.gpu_usd_per_hour, self.gpus_per_replica, self.replica_capacity_tok_per_day,
                                self.ops_usd_per_month + spares_usd_per_month, label=self.label)

    @property
    def gpu_usd_per_month(self) -> float:
        """Every replica's GPUs around the clock, 730 h a month [USD/month]."""
        return self.replicas * self.cost_deployment.replica_usd_per_month

    @property
    def selfhost_usd_per_month(self) -> float:
        return self.gpu_usd_per_month + self.ops_usd_per_month

    @property
    def capacity_tok_per_day(self) -> float:
        """What the replicas that carry load serve together within the latency target [tok/day]."""
        return self.load_replicas * self.replica_capacity_tok_per_day

    @property
    def label(self) -> str:
        return f"{self.gpu} {self.weight_dtype}, {self.gpus_per_replica} GPU(s) per replica"


def _spares(rel: Reliability) -> tuple[int, int, float | None]:
    """Spare replicas and zones the availability target needs, and the availability reached."""
    d = availability.smallest_deployment(rel.target, rel.replica_availability, rel.zone_availability,
                                         rel.replica_failures_per_year, rel.failover_s, rel.max_replicas,
                                         rel.max_zones)
    if d is None:
        return -1, 0, None
    return d.replicas - 1, d.zones, d.availability


#: Replica capacities already computed: they depend on the model, GPU, precision, replica size,
#: input share, prompt, latency target and efficiency, not on the volume, prices or operating cost,
#: so the flip search over those reuses them.
_CAPACITIES: dict[tuple, list[capacity.DtypeCapacity] | None] = {}


def _replica_capacities(inputs: PlanInputs, option: GpuOption, size: int,
                        eff: roofline.Efficiency) -> list[capacity.DtypeCapacity] | None:
    t = inputs.traffic
    key = (repr(inputs.spec), option.gpu, inputs.overheads, eff, size, t.prompt_tokens, t.input_share, inputs.ttft_ms,
           inputs.tpot_ms, inputs.weight_dtypes)
    if key not in _CAPACITIES:
        if len(_CAPACITIES) > 50_000:
            _CAPACITIES.clear()
        try:
            _CAPACITIES[key] = capacity.deployment_capacities(
                inputs.spec, option.gpu, inputs.overheads, eff, gpus=size, prompt_tokens=t.prompt_tokens,
                input_share=t.input_share, slo_ttft_ms=inputs.ttft_ms, slo_tpot_ms=inputs.tpot_ms,
                weight_dtypes=inputs.weight_dtypes)
        except ParameterError:
            _CAPACITIES[key] = None  # a tensor-parallel size the model's heads do not divide
    return _CAPACITIES[key]


def candidates(inputs: PlanInputs, efficiency_scale: float = 1.0) -> list[Candidate]:
    """Every GPU x precision x replica size, sized for the traffic's peak and the availability target.

    ``efficiency_scale`` multiplies every engine efficiency (the flip search moves it).
    """
    t = inputs.traffic
    spares, zones, reached = _spares(inputs.reliability)
    out = []
    for option in inputs.gpus:
        eff = option.efficiency
        eff = roofline.Efficiency(min(1.0, eff.bandwidth_share * efficiency_scale),
                                  min(1.0, eff.compute_share * efficiency_scale))
        for size in REPLICA_SIZES:
            caps = _replica_capacities(inputs, option, size, eff)
            if caps is None:
                continue
            for c in caps:
                cap = c.capacity_tok_per_day
                point = c.capacity.point
                load = math.ceil(t.peak_tok_per_day / cap) if cap > 0 else 0
                if not c.fits:
                    misses = "does not fit in memory"
                elif cap <= 0:
                    misses = f"even one request misses the latency target ({c.capacity.limited_by})"
                elif spares < 0:
                    misses = f"no deployment of up to {inputs.reliability.max_replicas} replicas reaches the availability"
                else:
                    misses = ""
                out.append(Candidate(option.gpu.gpu, option.gpu.key, c.weight_dtype, size, c.fits, cap,
                                     c.capacity.limited_by, load, max(spares, 0), zones, option.usd_per_hour,
                                     inputs.ops_usd_per_month, None if point is None else point.ttft_s * 1e3,
                                     None if point is None else point.tpot_s * 1e3, reached, not misses, misses))
    return out


#: On a tie in cost and GPUs, the precision that keeps more of the model's quality wins.
PRECISION_RANK = {"bf16": 0, "fp16": 0, "fp8": 1, "int8": 2, "mxfp4": 3, "int4": 3}


def _order(c: Candidate) -> tuple:
    return (c.selfhost_usd_per_month, c.gpus_total, PRECISION_RANK.get(c.weight_dtype, 9), c.replicas, c.label)


def cheapest(cands: Sequence[Candidate]) -> Candidate | None:
    """The candidate that meets the targets at the lowest monthly cost; on a tie, fewer GPUs, then the
    higher precision, then fewer replicas."""
    return min((c for c in cands if c.meets), key=_order, default=None)


def closest(cands: Sequence[Candidate]) -> Candidate | None:
    """When none meets the targets: the one that fits with the most capacity (the nearest miss)."""
    fitting = [c for c in cands if c.fits]
    pool = fitting or list(cands)
    return max(pool, key=lambda c: (c.replica_capacity_tok_per_day, -c.gpus_per_replica), default=None)


# ---------------------------------------------------------------------- the APIs
@dataclass(frozen=True)
class ApiQuote:
    """An API's bill for the same traffic, and the break-even of the chosen deployment against it."""

    api: str
    tier: str
    blended_usd_per_mtok: float
    api_usd_per_month: float
    breakeven_tok_per_day: float | None


def blended_for(price: ApiPrice, traffic: Traffic) -> float:
    """An API's price for this traffic's mix [USD/Mtok]; input beyond the cached share at the list price."""
    cached = traffic.cached_input_share if price.cached_input_usd_per_mtok is not None else 0.0
    return price.blended_usd_per_mtok(traffic.input_share, cached)


def api_usd_per_month(blended_usd_per_mtok: float, tok_per_day: float) -> float:
    """The monthly bill of ``tok_per_day`` at a blended price [USD/month] (730-hour months;
    :func:`selfhost.costs.spend_usd_per_month`)."""
    return costs.spend_usd_per_month(tok_per_day, blended_usd_per_mtok)


def breakeven_tok_per_day(c: Candidate, blended_usd_per_mtok: float, peak_to_mean_x: float) -> float | None:
    """The smallest mean volume at which the API costs as much as ``c``'s kind of deployment [tok/day].

    The first break-even of :meth:`selfhost.costs.Deployment.breakeven` for :attr:`Candidate.cost_deployment`:
    at mean volume ``V`` the deployment runs ``max(1, ceil(V x peak / C)) + spares`` replicas of ``g``
    GPUs. None when a replica's full capacity is worth less at the API's price than the replica
    costs (or a replica serves nothing): then no volume breaks even.
    """
    if c.replica_capacity_tok_per_day <= 0:
        return None
    first = c.cost_deployment.breakeven(blended_usd_per_mtok, peak_to_mean_x).first_tok_per_day
    return first if math.isfinite(first) else None


def quotes(c: Candidate | None, inputs: PlanInputs) -> list[ApiQuote]:
    """Every API's bill for the traffic and, against ``c``, the break-even volume."""
    out = []
    for p in inputs.apis:
        blended = blended_for(p, inputs.traffic)
        be = breakeven_tok_per_day(c, blended, inputs.traffic.peak_to_mean_x) if c is not None else None
        out.append(ApiQuote(p.key, p.tier, blended, api_usd_per_month(blended, inputs.traffic.tok_per_day), be))
    return sorted(out, key=lambda q: q.api_usd_per_month)


# ---------------------------------------------------------------------- the answer
@dataclass(frozen=True)
class Plan:
    """The answer for one profile (see :func:`make_plan`)."""

    answer: str
    sentence: str
    deployment: Candidate | None
    nearest_miss: Candidate | None
    candidates: tuple[Candidate, ...]
    quotes: tuple[ApiQuote, ...]
    reference: ApiQuote
    traffic: Traffic
    flips: tuple[Sensitivity, ...] = ()

    @property
    def savings_usd_per_month(self) -> float | None:
        if self.deployment is None:
            return None
        return self.reference.api_usd_per_month - self.deployment.selfhost_usd_per_month


def answer_of(inputs: PlanInputs, efficiency_scale: float = 1.0) -> tuple[str, Candidate | None, list[Candidate],
                                                                           list[ApiQuote], ApiQuote]:
    """The answer and what it rests on (no flips)."""
    cands = candidates(inputs, efficiency_scale)
    best = cheapest(cands)
    qs = quotes(best, inputs)
    ref = next(q for q in qs if q.api == inputs.reference_api)
    answer = SELF_HOST if best is not None and best.selfhost_usd_per_month < ref.api_usd_per_month else API
    return answer, best, cands, qs, ref


def _sentence(answer: str, best: Candidate | None, miss: Candidate | None, ref: ApiQuote, qs: Sequence[ApiQuote],
              traffic: Traffic) -> str:
    volume = f"{traffic.tok_per_day / 1e6:,.1f}M tokens/day (peak {traffic.peak_to_mean_x:.2g}x the mean)"
    if best is None:
        near = f"; the closest, {miss.label}, {miss.misses}" if miss is not None else ""
        return (f"Use the API: no candidate deployment serves {volume} within the latency and availability "
                f"targets{near}. {ref.api} costs ${ref.api_usd_per_month:,.0f}/month.")
    deployment = (f"{counted(best.replicas, 'replica')} of {best.gpus_per_replica} x {best.gpu} at {best.weight_dtype} "
                  f"({counted(best.gpus_total, 'GPU')}, ${best.selfhost_usd_per_month:,.0f}/month with operations)")
    cheaper = [q for q in qs if q.api_usd_per_month < best.selfhost_usd_per_month]
    if answer == SELF_HOST:
        tail = (f"; {cheaper[0].api} would cost less still (${cheaper[0].api_usd_per_month:,.0f}/month)"
                if cheaper else "")
        return (f"Self-host: {deployment} serves {volume} for less than {ref.api} "
                f"(${ref.api_usd_per_month:,.0f}/month){tail}.")
    return (f"Use the API: {ref.api} costs ${ref.api_usd_per_month:,.0f}/month for {volume}, less than the cheapest "
            f"deployment that meets the targets, {deployment}.")


def _flip(name: str, inputs: PlanInputs, base: float, low: float, high: float, source: str,
          with_value: Callable[[PlanInputs, float], PlanInputs] | None = None,
          efficiency: bool = False, log: bool = True) -> Sensitivity:
    def decide(v: float) -> str:
        if efficiency:
            return answer_of(inputs, v)[0]
        assert with_value is not None
        return answer_of(with_value(inputs, v))[0]

    return sensitivity(name, decide, base, low, high, source, log=log, steps=24)


def _with_traffic(**change: Any) -> Callable[[PlanInputs, float], PlanInputs]:
    (key,) = change

    def f(inputs: PlanInputs, v: float) -> PlanInputs:
        fields: dict[str, Any] = {key: v}
        return replace(inputs, traffic=replace(inputs.traffic, **fields))
    return f


def _with_gpu_price(key: str) -> Callable[[PlanInputs, float], PlanInputs]:
    def f(inputs: PlanInputs, v: float) -> PlanInputs:
        return replace(inputs, gpus=tuple(replace(o, usd_per_hour=v) if o.gpu.key == key else o for o in inputs.gpus))
    return f


def flips(inputs: PlanInputs, best: Candidate | None) -> tuple[Sensitivity, ...]:
    """For each uncertain input, where inside its plausible range the answer changes."""
    t = inputs.traffic
    out = []
    ranges = dict(inputs.traffic_ranges)
    lo, hi, src = ranges.get("tok_per_day", (t.tok_per_day / 4, t.tok_per_day * 4, "a factor of 4 either way"))
    out.append(_flip("tok_per_day", inputs, t.tok_per_day, lo, hi, src, _with_traffic(tok_per_day=0.0)))
    lo, hi, src = ranges.get("input_share", (min(0.7, t.input_share), max(0.987, t.input_share),
                                            "the article's 70/30 to the Azure 2023 code trace's 98.7%"))
    out.append(_flip("input_share", inputs, t.input_share, lo, hi, src, _with_traffic(input_share=0.0), log=False))
    lo, hi, src = ranges.get("peak_to_mean_x", (1.0, max(4.2, t.peak_to_mean_x),
                                               "a steady load to the Azure 2023 code trace's 4.2x at 60 s"))
    out.append(_flip("peak_to_mean_x", inputs, t.peak_to_mean_x, lo, hi, src, _with_traffic(peak_to_mean_x=0.0),
                     log=False))
    if best is not None:
        option = next(o for o in inputs.gpus if o.gpu.key == best.gpu_key)
        plo, phi = option.price_range
        out.append(_flip(f"gpu_usd_per_hour ({best.gpu_key})", inputs, option.usd_per_hour, min(plo, option.usd_per_hour),
                         max(phi, option.usd_per_hour), "the dated rental prices of that GPU (data/gpu_prices.csv)",
                         _with_gpu_price(best.gpu_key)))
        eff_lo, eff_hi = option.efficiency_range
        base = option.efficiency.compute_share
        out.append(_flip("engine_efficiency_x", inputs, 1.0, eff_lo.compute_share / base, eff_hi.compute_share / base,
                         "the calibration's spread on that GPU generation (data/published_serving.csv), as a factor "
                         "on both shares", efficiency=True))
    olo, ohi = inputs.ops_range
    out.append(_flip("ops_usd_per_month", inputs, inputs.ops_usd_per_month, min(olo, inputs.ops_usd_per_month),
                     max(ohi, inputs.ops_usd_per_month), "none to one engineer's full time plus monitoring",
                     lambda i, v: replace(i, ops_usd_per_month=v), log=False))
    return tuple(out)


def make_plan(inputs: PlanInputs, with_flips: bool = True) -> Plan:
    """The plan for ``inputs``: the cheapest deployment, the API bills, the answer and what flips it."""
    answer, best, cands, qs, ref = answer_of(inputs)
    miss = None if best is not None else closest(cands)
    return Plan(answer, _sentence(answer, best, miss, ref, qs, inputs.traffic), best, miss, tuple(cands), tuple(qs),
                ref, inputs.traffic, flips(inputs, best) if with_flips else ())


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def plan_json(p: Plan) -> dict[str, Any]:
    """The plan as one JSON object (``selfhost plan --json``); infinite or missing figures are null."""
    d = p.deployment
    dep = None if d is None else {"gpu": d.gpu_key, "weight_dtype": d.weight_dtype,
                                  "gpus_per_replica": d.gpus_per_replica, "replicas": d.replicas,
                                  "spare_replicas": d.spare_replicas, "zones": d.zones}
    miss = p.nearest_miss
    return {
        "answer": p.answer,
        "sentence": p.sentence,
        "deployment": dep,
        "gpus_total": None if d is None else d.gpus_total,
        "gpu_usd_per_hour": None if d is None else d.gpu_usd_per_hour,
        "selfhost_usd_per_month": None if d is None else _num(d.selfhost_usd_per_month),
        "gpu_usd_per_month": None if d is None else _num(d.gpu_usd_per_month),
        "ops_usd_per_month": None if d is None else d.ops_usd_per_month,
        "tok_per_day": p.traffic.tok_per_day,
        "peak_tok_per_day": p.traffic.peak_tok_per_day,
        "capacity_tok_per_day": None if d is None else _num(d.capacity_tok_per_day),
        "replica_capacity_tok_per_day": None if d is None else _num(d.replica_capacity_tok_per_day),
        "input_share": p.traffic.input_share,
        "peak_to_mean_x": p.traffic.peak_to_mean_x,
        "cached_input_share": p.traffic.cached_input_share,
        "traffic_basis": p.traffic.basis,
        "hours_per_month": HOURS_PER_MONTH,
        "reference_api": p.reference.api,
        "apis": [{"api": q.api, "tier": q.tier, "blended_usd_per_mtok": _num(q.blended_usd_per_mtok),
                  "api_usd_per_month": _num(q.api_usd_per_month),
                  "breakeven_tok_per_day": _num(q.breakeven_tok_per_day)} for q in p.quotes],
        "flips": [{"input": s.input, "value": s.baseline, "threshold": s.value, "range": [s.low, s.high],
                   "answer_there": s.verdict_there, "source": s.source} for s in p.flips],
        "nearest_miss": None if miss is None else {"deployment": miss.label, "misses": miss.misses},
        "savings_usd_per_month": _num(p.savings_usd_per_month),
    }


def candidate_rows(p: Plan, every: bool = False) -> list[dict[str, Any]]:
    """Rows for the candidates table: per GPU and precision the cheapest replica size that meets the
    targets (``every``: all of them), then those that meet none, with why."""
    pool = sorted(p.candidates, key=lambda c: (not c.meets, _order(c) if c.meets else (0.0,)))
    if not every:
        seen: set[tuple[str, str]] = set()
        kept = []
        for c in pool:
            key = (c.gpu_key, c.weight_dtype)
            if key not in seen and (c.meets or not any(o.meets for o in pool if (o.gpu_key, o.weight_dtype) == key)):
                seen.add(key)
                kept.append(c)
        pool = kept
    return [{"gpu": c.gpu, "weight_dtype": c.weight_dtype, "gpus_per_replica_count": c.gpus_per_replica,
             "replica_capacity_mtok_per_day": c.replica_capacity_tok_per_day / 1e6,
             "replicas_count": c.replicas if c.meets else None, "gpus_count": c.gpus_total if c.meets else None,
             "selfhost_usd_per_month": c.selfhost_usd_per_month if c.meets else None,
             "chosen": c == p.deployment, "why_not": c.misses or "–"} for c in pool]


def monthly_usd(price_usd_per_hour: float, gpus: int, ops_usd_per_month: float) -> float:
    """``gpus x price x 730 + ops`` [USD/month], the self-host cost a reader can check by hand."""
    return gpus * price_usd_per_hour * HOURS_PER_MONTH + ops_usd_per_month



def deployment_usd_per_month(c: Candidate, tok_per_day: float, peak_to_mean_x: float) -> float:
    """What ``c``'s kind of deployment costs at a mean volume: replicas stepped by capacity [USD/month]."""
    # the one cost model (selfhost.costs.Deployment.monthly); the input share does not change a deployment's cost
    return c.cost_deployment.monthly(costs.Traffic(tok_per_day, 0.0, peak_to_mean_x)).total_usd_per_month


def cost_curve(p: Plan, low_x: float = 0.05, high_x: float = 20.0, points: int = 81) -> list[dict[str, Any]]:
    """Monthly cost against mean volume, from ``low_x`` to ``high_x`` times the profile's: the chosen
    deployment (stepping a replica at a time) and each API. Long format: ``mtok_per_day``, ``option``,
    ``usd_per_month``."""
    base = p.traffic.tok_per_day
    volumes = [base * low_x * (high_x / low_x) ** (i / (points - 1)) for i in range(points)]
    rows = []
    for v in volumes:
        if p.deployment is not None and p.deployment.replica_capacity_tok_per_day > 0:
            rows.append({"mtok_per_day": v / 1e6, "option": f"self-host: {p.deployment.gpu} {p.deployment.weight_dtype}",
                         "usd_per_month": deployment_usd_per_month(p.deployment, v, p.traffic.peak_to_mean_x)})
        for q in p.quotes:
            rows.append({"mtok_per_day": v / 1e6, "option": q.api,
                         "usd_per_month": api_usd_per_month(q.blended_usd_per_mtok, v)})
    return rows


def flip_rows(p: Plan) -> list[dict[str, Any]]:
    """One row per uncertain input: its value, range, where the answer changes, and the source of the range."""
    return [{"input": s.input, "value": s.baseline, "low": s.low, "high": s.high,
             "answer_changes_at": s.value if s.value is not None else "not in range",
             "answer_there": s.verdict_there or "–", "range_source": s.source} for s in p.flips]


def api_rows(p: Plan) -> list[dict[str, Any]]:
    """One row per API: blended price, monthly bill for the traffic, break-even against the chosen deployment."""
    return [{"api": q.api, "tier": q.tier, "blended_usd_per_mtok": q.blended_usd_per_mtok,
             "api_usd_per_month": q.api_usd_per_month,
             "breakeven_mtok_per_day": None if q.breakeven_tok_per_day is None else q.breakeven_tok_per_day / 1e6,
             "replaced": q.api == p.reference.api} for q in p.quotes]


def page_figures(p: Plan, inputs: PlanInputs) -> dict[str, Any]:
    """Every figure the "Your deployment" page's prose cites, present even when no deployment meets the targets."""
    t, d = inputs.traffic, p.deployment
    none = "none"
    return {"traffic_mtok_per_day": t.tok_per_day / 1e6, "traffic_basis": t.basis,
            "peak_mtok_per_day": t.peak_tok_per_day / 1e6, "input_share": t.input_share,
            "peak_to_mean_x": t.peak_to_mean_x, "ttft_target_ms": inputs.ttft_ms, "tpot_target_ms": inputs.tpot_ms,
            "availability_target_share": inputs.reliability.target, "hours_per_month": HOURS_PER_MONTH,
            "deployment_replicas": d.replicas if d else 0, "deployment_gpus_per_replica": d.gpus_per_replica if d else 0,
            "deployment_replicas_text": counted(d.replicas if d else 0, "replica"),
            "gpus_total_text": counted(d.gpus_total if d else 0, "GPU"),
            "deployment_gpu": d.gpu if d else none, "deployment_weight_dtype": d.weight_dtype if d else none,
            "gpus_total": d.gpus_total if d else 0, "gpu_usd_per_hour": d.gpu_usd_per_hour if d else 0.0,
            "ops_usd_per_month": inputs.ops_usd_per_month,
            "selfhost_usd_per_month": d.selfhost_usd_per_month if d else 0.0,
            "capacity_mtok_per_day": d.capacity_tok_per_day / 1e6 if d else 0.0,
            "answer": p.answer, "reference_api": p.reference.api,
            "reference_api_usd_per_month": p.reference.api_usd_per_month}


def answer_markdown(p: Plan) -> str:
    """The answer as the page shows it: the decision in bold, then the sentence's figures."""
    head, _, rest = p.sentence.partition(": ")
    if not rest:
        return f"**{p.sentence}**"
    first = rest.split(" ", 1)[0]
    # an API's key (anthropic/claude-sonnet-4.6) keeps its case; a word starts the sentence capitalised
    return f"**{head}.** {rest if '/' in first else rest[:1].upper() + rest[1:]}"
