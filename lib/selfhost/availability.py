"""Availability arithmetic (claim C16): downtime budgets, failover, replicas and zones.

Pure functions over availabilities given as fractions (0.999 = 99.9% = "three nines").

Assumptions, named once here and repeated where they matter:

- **Independence.** Providers, replicas and zones fail independently. Real outages are
  correlated (a shared cloud region, a shared upstream model, a bad deploy rolled out
  everywhere), so every figure that multiplies unavailabilities is an upper bound.
- **Failover costs time.** Each failure of the serving instance costs ``failover_s``
  seconds of errors before traffic moves (detection + switch), on top of the time when
  nothing at all is up.
- **Steady state.** Availability is the long-run fraction of time up; budgets are
  averages over a year or a month. The month here is a twelfth of the average calendar
  year (365.2425 days / 12: 43,829 minutes), the month an SLA's uptime is counted over,
  not the 730-hour billing month of the cost pages (43,800 minutes): the two differ by
  0.07%.

References
----------
- Availability of parallel (redundant) components, ``1 - prod(1 - a_i)``: any text on
  reliability engineering, e.g. Google SRE book, chapter "Embracing Risk".
- The article, "Self-Hosting LLMs", *Should You Self-Host?*: "Need 99.99% uptime with
  zero external dependency" vs "99.9% with multi-provider failover is acceptable".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number
from selfhost.robustness import sensitivity
from selfhost.units import HOURS_PER_MONTH, MINUTES_PER_MONTH, MINUTES_PER_YEAR, SECONDS_PER_YEAR, counted
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict


def _check_availability(name: str, value: float) -> float:
    return check_number(name, value, gt=0, le=1)


def availability_of_nines(nines: float) -> float:
    """Availability for a number of nines: ``1 - 10**-nines``.

    >>> availability_of_nines(4)
    0.9999
    """
    check_number("nines", nines, gt=0)
    return round(1 - 10 ** -nines, 12)


def nines_of(availability: float) -> float:
    """Number of nines of an availability: ``-log10(1 - a)`` (inf for 1).

    >>> round(nines_of(0.999), 6)
    3.0
    """
    _check_availability("availability", availability)
    return math.inf if availability == 1 else -math.log10(1 - availability)


def downtime_min_per_year(availability: float) -> float:
    """Downtime budget of an availability over an average year [min/year].

    >>> round(downtime_min_per_year(0.9999), 1)
    52.6
    """
    return (1 - _check_availability("availability", availability)) * MINUTES_PER_YEAR


def downtime_min_per_month(availability: float) -> float:
    """Downtime budget of an availability over an average month [min/month].

    >>> round(downtime_min_per_month(0.999), 1)
    43.8
    """
    return (1 - _check_availability("availability", availability)) * MINUTES_PER_MONTH


def parallel_availability(availabilities: Sequence[float]) -> float:
    """Availability of independent redundant components with instant failover.

    The service is down only when every component is down: ``1 - prod(1 - a_i)``.

    >>> round(parallel_availability([0.997, 0.997]), 6)
    0.999991
    """
    if not availabilities:
        raise ParameterError("availabilities", availabilities, "at least one availability")
    down = 1.0
    for i, a in enumerate(availabilities):
        down *= 1 - _check_availability(f"availabilities[{i}]", a)
    return 1 - down


def failover_availability(availabilities: Sequence[float], primary_outages_per_year: float, failover_s: float) -> float:
    """Availability of providers behind active-passive failover, failover time counted.

    Down when all providers are down, plus ``failover_s`` seconds of errors for each
    outage of the primary before traffic moves to the next one:
    ``1 - [prod(1 - a_i) + outages * failover_s / year]`` (floored at 0).

    Parameters
    ----------
    availabilities : sequence of float
        Each provider's availability, primary first [1].
    primary_outages_per_year : float
        How often the primary fails [1/year].
    failover_s : float
        Detection plus switch-over time per outage [s].

    Examples
    --------
    Two APIs at 99.7% each, the primary failing twice a month, 60 s to fail over:

    >>> round(failover_availability([0.997, 0.997], 24, 60), 6)
    0.999945
    """
    check_number("primary_outages_per_year", primary_outages_per_year, ge=0)
    check_number("failover_s", failover_s, ge=0)
    unavailable = 1 - parallel_availability(availabilities) + primary_outages_per_year * failover_s / SECONDS_PER_YEAR
    return max(0.0, 1 - unavailable)


@dataclass(frozen=True)
class Deployment:
    """A self-hosted deployment: replicas spread over zones, with a failover time.

    Parameters
    ----------
    replicas : int
        Serving replicas (each one GPU server able to carry the whole load) [1].
    zones : int
        Failure domains (availability zones, data centres) the replicas are spread over,
        round-robin; ``1 <= zones <= replicas`` [1].
    replica_availability : float
        Availability of one replica: instance, GPU, driver and engine together [1].
    zone_availability : float
        Availability of one zone (power, network) [1].
    replica_failures_per_year : float
        How often a replica fails [1/year]; each failure costs ``failover_s`` of errors
        on its share (1/replicas) of the traffic.
    failover_s : float
        Health-check detection plus re-routing time [s].
    """

    replicas: int
    zones: int
    replica_availability: float
    zone_availability: float
    replica_failures_per_year: float
    failover_s: float

    def __post_init__(self) -> None:
        check_int("replicas", self.replicas, ge=1)
        check_int("zones", self.zones, ge=1, le=self.replicas)
        _check_availability("replica_availability", self.replica_availability)
        _check_availability("zone_availability", self.zone_availability)
        check_number("replica_failures_per_year", self.replica_failures_per_year, ge=0)
        check_number("failover_s", self.failover_s, ge=0)

    def replicas_in_zone(self, zone: int) -> int:
        """Replicas placed in zone ``zone`` (0-based), round-robin."""
        return self.replicas // self.zones + (1 if zone < self.replicas % self.zones else 0)

    @property
    def availability(self) -> float:
        """Long-run availability [1].

        All zones must be "empty" for an outage: a zone is empty when it is down, or up
        with all its replicas down. Plus the failover penalty: each replica failure costs
        ``failover_s`` on ``1/replicas`` of the traffic, ``replicas`` replicas fail, so the
        penalty is ``failures_per_year * failover_s / year`` whatever the replica count
        (a single replica has nothing to fail over to, and no penalty beyond its downtime).
        """
        empty = 1.0
        for z in range(self.zones):
            n = self.replicas_in_zone(z)
            empty *= (1 - self.zone_availability) + self.zone_availability * (1 - self.replica_availability) ** n
        penalty = 0.0 if self.replicas == 1 else self.replica_failures_per_year * self.failover_s / SECONDS_PER_YEAR
        return max(0.0, 1 - empty - penalty)


def smallest_deployment(
    target: float,
    replica_availability: float,
    zone_availability: float,
    replica_failures_per_year: float,
    failover_s: float,
    max_replicas: int = 8,
    max_zones: int = 3,
) -> Deployment | None:
    """The deployment with the fewest replicas (then fewest zones) that reaches ``target``.

    None when no deployment up to ``max_replicas`` in ``max_zones`` zones reaches it (for
    instance when the failover penalty alone exceeds the downtime budget).

    >>> d = smallest_deployment(0.9999, 0.995, 0.9999, 12, 30)
    >>> (d.replicas, d.zones)
    (2, 2)
    """
    _check_availability("target", target)
    check_int("max_replicas", max_replicas, ge=1)
    check_int("max_zones", max_zones, ge=1)
    for replicas in range(1, max_replicas + 1):
        for zones in range(1, min(replicas, max_zones) + 1):
            d = Deployment(replicas, zones, replica_availability, zone_availability, replica_failures_per_year,
                           failover_s)
            if d.availability >= target:
                return d
    return None


#: The uptimes the budget table shows, in nines (99% to 99.999%, and 99.95% between).
BUDGET_NINES: tuple[float, ...] = (2, 3, 3.5, 4, 5)


def budget_table(nines: Sequence[float] = BUDGET_NINES) -> pd.DataFrame:
    """Downtime budgets for a list of nines.

    Columns: ``nines`` (as text, with the digits it needs: 2, 3.5), ``uptime`` (the availability
    as a percentage with the digits its nines need: 99.99%, not a rounded 100%),
    ``availability_pct``, ``downtime_min_per_year``, ``downtime_min_per_month``.

    >>> list(budget_table((2, 3.5))["nines"])
    ['2', '3.5']
    """
    rows = []
    for n in nines:
        a = availability_of_nines(n)
        rows.append({"nines": f"{n:g}", "uptime": f"{100 * a:.{max(0, math.ceil(n) - 2)}f}%", "availability_pct": 100 * a,
                     "downtime_min_per_year": downtime_min_per_year(a),
                     "downtime_min_per_month": downtime_min_per_month(a)})
    return pd.DataFrame(rows)


def deployment_table(
    replicas: Sequence[int], max_zones: int, replica_availability: float, zone_availability: float,
    replica_failures_per_year: float, failover_s: float,
) -> pd.DataFrame:
    """Availability of every (replicas, zones) combination, for charting.

    Columns: ``replicas``, ``zones``, ``availability``, ``downtime_min_per_year``.
    """
    rows = []
    for r in replicas:
        for z in range(1, min(r, max_zones) + 1):
            a = Deployment(r, z, replica_availability, zone_availability, replica_failures_per_year,
                           failover_s).availability
            rows.append({"replicas": r, "zones": z, "availability": a,
                         "downtime_min_per_year": (1 - a) * MINUTES_PER_YEAR})
    return pd.DataFrame(rows)


def c16_verdict(
    selfhost_target: float,
    api_target: float,
    single_replica: Deployment,
    needed: Deployment | None,
    api_failover_availability: float,
) -> Verdict:
    """Verdict on "99.99% uptime" (self-host) vs "99.9% with multi-provider failover" (APIs).

    The article pairs self-hosting with the higher target. The claim holds if a single
    self-hosted replica reaches ``selfhost_target`` and API failover stays below it; it
    does not hold if no deployment in the searched range reaches it; otherwise it holds
    only for the deployment :func:`smallest_deployment` found, whose replicas multiply
    the GPU bill, and the conditions say so. Whether API failover reaches ``api_target``
    (and beyond) is reported alongside.
    """
    figures: dict[str, float | int] = {
        "selfhost_target_downtime_min_per_year": downtime_min_per_year(selfhost_target),
        "api_target_downtime_min_per_year": downtime_min_per_year(api_target),
        "single_replica_downtime_min_per_year": downtime_min_per_year(single_replica.availability),
        "api_failover_downtime_min_per_year": downtime_min_per_year(api_failover_availability),
    }
    api_text = (f"two API providers behind failover reach {100 * api_failover_availability:.4f}% under independence "
                f"({'above' if api_failover_availability >= api_target else 'below'} the article's "
                f"{100 * api_target:g}%)")
    if single_replica.availability >= selfhost_target and api_failover_availability < selfhost_target:
        return Verdict("C16", HOLDS, f"One self-hosted replica already reaches {100 * selfhost_target:g}%, and "
                       f"{api_text}.", figures)
    if needed is None:
        return Verdict("C16", FAILS, f"No deployment in the searched range reaches {100 * selfhost_target:g}% "
                       f"with the assumed replica, zone and failover figures; {api_text}.", figures)
    figures["replicas_count"] = needed.replicas
    figures["zones_count"] = needed.zones
    conditions = (
        f"at least {needed.replicas} replicas in {needed.zones} zone(s), each able to carry the full load, with "
        f"failover within {needed.failover_s:g} s: {needed.replicas}x the GPUs of one replica, whatever the volume "
        f"(on the cost pages, min_replicas = {needed.replicas})",
        "'zero external dependency' holds only on owned hardware; rented GPUs depend on their cloud's zones",
        f"API failover is not capped at the article's {100 * api_target:g}%: {api_text}; correlated outages are "
        "what bring it down",
    )
    reason = (f"One self-hosted replica gives {100 * single_replica.availability:.2f}% "
              f"({figures['single_replica_downtime_min_per_year']:,.0f} min/year down); "
              f"{100 * selfhost_target:g}% ({figures['selfhost_target_downtime_min_per_year']:.0f} min/year) needs "
              f"{needed.replicas} replicas in {needed.zones} zone(s).")
    return Verdict("C16", CONDITIONAL, reason, figures, conditions)


def downtime_chart_table(table: pd.DataFrame, target: float) -> pd.DataFrame:
    """``deployment_table`` output with a label per deployment and whether it meets ``target``."""
    out = table.copy()
    out["deployment"] = [f"{r} replica(s), {z} zone(s)" for r, z in zip(out["replicas"], out["zones"])]
    out["meets_target"] = ["meets the target" if a >= target else "misses it" for a in out["availability"]]
    return out


# ---------------------------------------------------------------------- the C16 case and what flips it
@dataclass(frozen=True)
class AvailabilityCase:
    """Everything the C16 verdict is computed from (the page's parameters, resolved)."""

    selfhost_target: float
    api_target: float
    replica_availability: float
    zone_availability: float
    replica_failures_per_year: float
    failover_s: float
    api_availabilities: tuple[float, ...]
    api_outages_per_year: float
    max_replicas: int = 8
    max_zones: int = 3

    @property
    def single(self) -> Deployment:
        return Deployment(1, 1, self.replica_availability, self.zone_availability, self.replica_failures_per_year,
                          self.failover_s)

    @property
    def needed(self) -> Deployment | None:
        return smallest_deployment(self.selfhost_target, self.replica_availability, self.zone_availability,
                                   self.replica_failures_per_year, self.failover_s, self.max_replicas, self.max_zones)

    @property
    def api_failover(self) -> float:
        """Two APIs (the two most available) behind failover [1]."""
        best = sorted(self.api_availabilities, reverse=True)[:2]
        return failover_availability(best, self.api_outages_per_year, self.failover_s)

    def verdict(self) -> Verdict:
        return c16_verdict(self.selfhost_target, self.api_target, self.single, self.needed, self.api_failover)


def _decider(case: AvailabilityCase, name: str) -> Callable[[float], str]:
    """The C16 verdict as a function of one input (``api_availabilities``: every API at that uptime)."""
    def decide(v: float) -> str:
        if name == "api_availabilities":
            return replace(case, api_availabilities=(v,) * len(case.api_availabilities)).verdict().verdict
        return replace(case, **{name: v}).verdict().verdict  # type: ignore[arg-type]
    return decide


def c16_assess(case: AvailabilityCase, ranges: Mapping[str, tuple[float, float, str]],
               evidence: Sequence[Evidence] = ()) -> Verdict:
    """The C16 verdict with what flips it: each of ``ranges`` (a field of :class:`AvailabilityCase` ->
    (low, high, source)) held over its range, the others fixed."""
    flips = []
    for name, (low, high, source) in ranges.items():
        if name == "api_availabilities":  # every API at one uptime; the baseline the two best ones' mean
            best = sorted(case.api_availabilities, reverse=True)[:2]
            baseline = sum(best) / len(best)
        else:
            baseline = getattr(case, name)
        decide = _decider(case, name)
        flips.append(sensitivity(name, decide, baseline, low, high, source, steps=24))
    return case.verdict().with_(sensitivity=tuple(flips), evidence=tuple(evidence))


def default_ranges(instance_sla: float, region_sla: float, api_observed: Sequence[float]) -> dict[str, tuple[float, float, str]]:
    """The plausible range of each C16 input, with its source: the dated figures where there are any
    (``data/availability.csv``), stated assumptions otherwise."""
    return {
        "replica_availability": (min(0.99, instance_sla), max(0.999, instance_sla),
                                 f"a GPU replica below the {instance_sla:.1%} single-instance SLA (GPU, driver and "
                                 "engine faults) up to 99.9%: assumption around data/availability.csv"),
        "zone_availability": (0.999, max(0.99999, region_sla),
                              f"a zone from 99.9% to 99.999% (a region-level SLA: {region_sla:.2%}, "
                              "data/availability.csv)"),
        "replica_failures_per_year": (1.0, 52.0, "a replica failing once a year to weekly: assumption"),
        "failover_s": (5.0, 300.0, "health checks of seconds to a manual switch of minutes: assumption"),
        "api_outages_per_year": (4.0, 52.0, "the primary API failing quarterly to weekly: assumption"),
        "api_availabilities": (min(api_observed), max(api_observed), "observed 90-day API uptime, data/availability.csv"),
    }


# ---------------------------------------------------------------------- what the page shows
def figure(table: pd.DataFrame, item: str, kind: str) -> float:
    """One availability figure of ``data/availability.csv`` by its item and kind [1]."""
    rows = table[(table["item"] == item) & (table["kind"] == kind)]
    if rows.empty:
        raise ParameterError("item", item, f"an item of kind {kind!r} in data/availability.csv")
    return float(rows["availability"].iloc[0])


def observed_availabilities(table: pd.DataFrame) -> dict[str, float]:
    """Provider -> observed API uptime (the ``observed`` rows), most available first [1]."""
    rows = table[table["kind"] == "observed"].sort_values("availability", ascending=False)
    if rows.empty:
        raise ParameterError("kind", "observed", "at least one observed API uptime in data/availability.csv")
    return dict(zip(rows["provider"], rows["availability"].astype(float)))


def observed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The observed API uptimes with their downtime per year and the copy they were read from."""
    rows = table[table["kind"] == "observed"].sort_values("availability", ascending=False)
    return pd.DataFrame({"provider": rows["provider"], "availability_share": rows["availability"],
                         "downtime_min_per_year": [(1 - a) * MINUTES_PER_YEAR for a in rows["availability"]],
                         "copy_date": rows["copy_date"] if "copy_date" in rows else None})


def replica_cost_figures(single: Deployment, needed: Deployment | None, gpu_usd_per_hour: float) -> dict[str, float]:
    """One replica's availability, the replicas the target needs and what their GPUs cost a month [USD/month]."""
    from selfhost.units import HOURS_PER_MONTH

    replicas = needed.replicas if needed else 0
    return {"single_replica_pct": 100 * single.availability, "needed_replicas_count": replicas,
            "needed_gpu_usd_per_month": check_number("gpu_usd_per_hour", gpu_usd_per_hour, gt=0) * max(replicas, 1)
            * HOURS_PER_MONTH}


def deployment_statement(case: AvailabilityCase, gpu_usd_per_hour: float) -> str:
    """What the self-hosted target asks for, in words: one replica's uptime, the smallest deployment
    that reaches the target (or that none in the searched range does) and what its GPUs cost a month.

    >>> case = AvailabilityCase(0.9999, 0.999, 0.995, 0.9999, 12.0, 60.0, (0.997,), 24.0)
    >>> deployment_statement(case, 2.5)[:78]
    'One replica gives 99.49%. The smallest deployment that reaches 99.99% has **2 '
    """
    single, needed = case.single, case.needed
    target = f"{100 * case.selfhost_target:g}%"
    first = f"One replica gives {100 * single.availability:.2f}%."
    if needed is None:
        return (f"{first} **No deployment of up to {case.max_replicas} replicas in up to {case.max_zones} zones "
                f"reaches {target}** with these figures: raise the replica's or the zone's availability, or "
                "shorten the failover.")
    cost = replica_cost_figures(single, needed, gpu_usd_per_hour)["needed_gpu_usd_per_month"]
    replicas, zones = counted(needed.replicas, "replica"), counted(needed.zones, "zone")
    return (f"{first} The smallest deployment that reaches {target} has **{replicas} in {zones}**, whose GPUs "
            f"alone cost ${cost:,.0f} a month at ${gpu_usd_per_hour:,.2f} per GPU-hour ({HOURS_PER_MONTH:,.0f} hours "
            f"a month).")


def data_evidence_text(table: pd.DataFrame) -> str:
    """The availability figures a verdict rests on, with the dates of their copies."""
    dated = sorted(d.isoformat() for d in table.get("copy_date", pd.Series(dtype=object)) if d is not None and d == d)
    read = sorted({d.isoformat() for d in table["retrieved"]})
    copies = f"copies dated {', '.join(dated)}" if dated else "copies undated"
    undated = len(table) - len(dated)
    return (f"{len(table)} availability figures from data/availability.csv ({copies}"
            + (f", {undated} undated" if dated and undated else "") + f"; read {', '.join(read)})")
