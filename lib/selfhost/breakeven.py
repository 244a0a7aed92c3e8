"""Break-even and cost-of-ownership tables and verdicts (claims C02-C06).

The formulas are in :mod:`selfhost.costs`; this module applies them across the dated
price tables (rows of :class:`selfhost.prices.ApiPrice` and
:class:`selfhost.prices.GpuPrice`), builds the tables the pages show and chart, and
decides the verdicts. Pure: no I/O; the notebooks load the tables and pass them in.

Capacity is not modelled: every figure assumes the rented GPUs serve the volume in
question (see :func:`selfhost.costs.gpus_needed`, the place where capacity will enter).

References
----------
The article, "Self-Hosting LLMs", sections *Quick Reference* and *Should You Self-Host?*.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from selfhost import costs
from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number
from selfhost.prices import ApiPrice
from selfhost.units import DAYS_PER_MONTH, SECONDS_PER_DAY
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Verdict


@dataclass(frozen=True)
class Scenario:
    """A self-hosting scenario: what is rented, what it costs to run, and the workload mix.

    Parameters
    ----------
    gpu_usd_per_hour : float
        Rental price of one GPU [USD/h]; the article's "A100 80GB spot" is $2.50.
    gpu_count : int
        GPUs rented, replicas included [1].
    input_share : float
        Input tokens as a share of all tokens [1]; the article's 70/30 split is 0.7.
    ops_usd_per_month : float
        Operating cost: engineer time, monitoring, on-call [USD/month]; the article's
        break-even counts none.
    cached_share : float
        Share of input tokens billed at the API's cached-input price [1].
    """

    gpu_usd_per_hour: float = 2.50
    gpu_count: int = 1
    input_share: float = 0.7
    ops_usd_per_month: float = 0.0
    cached_share: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gpu_usd_per_hour", check_number("gpu_usd_per_hour", self.gpu_usd_per_hour, gt=0))
        object.__setattr__(self, "gpu_count", check_int("gpu_count", self.gpu_count, ge=1))
        object.__setattr__(self, "input_share", check_number("input_share", self.input_share, ge=0, le=1))
        object.__setattr__(self, "ops_usd_per_month", check_number("ops_usd_per_month", self.ops_usd_per_month, ge=0))
        object.__setattr__(self, "cached_share", check_number("cached_share", self.cached_share, ge=0, le=1))

    @property
    def selfhost_usd_per_day(self) -> float:
        """GPUs around the clock plus operations [USD/day]."""
        return costs.selfhost_usd_per_day(self.gpu_usd_per_hour, self.gpu_count, self.ops_usd_per_month)

    @property
    def gpu_usd_per_month(self) -> float:
        """The GPUs alone, around the clock [USD/month]."""
        return costs.selfhost_usd_per_day(self.gpu_usd_per_hour, self.gpu_count) * DAYS_PER_MONTH

    def blended_usd_per_mtok(self, price: ApiPrice) -> float:
        """An API's price for this scenario's mix [USD/Mtok].

        A row without a cached-input price is billed at its input price for all input.
        """
        cached = self.cached_share if price.cached_input_usd_per_mtok is not None else 0.0
        return price.blended_usd_per_mtok(self.input_share, cached)

    def breakeven_tok_per_day(self, blended_price_usd_per_mtok: float) -> float:
        """Break-even volume against an API at a blended price [tok/day]."""
        return costs.breakeven_tok_per_day(
            self.gpu_usd_per_hour, blended_price_usd_per_mtok, self.gpu_count, self.ops_usd_per_month
        )


def within(value: float, target: float, tolerance_x: float) -> bool:
    """Whether ``value`` lies within a factor ``tolerance_x`` of ``target`` (either side).

    >>> within(9e6, 5e6, 2.0), within(11e6, 5e6, 2.0)
    (True, False)
    """
    check_number("tolerance_x", tolerance_x, ge=1)
    if value <= 0 or target <= 0:
        return False
    return 1 / tolerance_x <= value / target <= tolerance_x


def breakeven_table(prices: Iterable[ApiPrice], scenario: Scenario) -> pd.DataFrame:
    """One row per API: its blended price and the break-even volume against it.

    Columns: ``model`` (provider/model), ``provider``, ``tier``, ``status``,
    ``blended_usd_per_mtok``, ``breakeven_tok_per_day``, ``breakeven_mtok_per_day``,
    ``retrieved``; sorted by break-even volume.
    """
    rows = []
    for p in prices:
        blended = scenario.blended_usd_per_mtok(p)
        tok = scenario.breakeven_tok_per_day(blended)
        rows.append({
            "model": p.key, "provider": p.provider, "tier": p.tier, "status": p.status,
            "blended_usd_per_mtok": blended, "breakeven_tok_per_day": tok,
            "breakeven_mtok_per_day": tok / 1e6, "retrieved": p.retrieved,
        })
    columns = ["model", "provider", "tier", "status", "blended_usd_per_mtok", "breakeven_tok_per_day",
               "breakeven_mtok_per_day", "retrieved"]
    return pd.DataFrame(rows, columns=columns).sort_values("breakeven_tok_per_day").reset_index(drop=True)


def readings_table(
    readings: Mapping[str, tuple[float, float, float]], scenario: Scenario, article_tok_per_day: float
) -> pd.DataFrame:
    """Break-even under several readings of the article's prices.

    ``readings`` maps a label to ``(input_usd_per_mtok, output_usd_per_mtok, input_share)``.
    Columns: ``reading``, ``blended_usd_per_mtok``, ``breakeven_mtok_per_day``,
    ``over_article_x`` (break-even / the article's figure).
    """
    rows = []
    for label, (p_in, p_out, share) in readings.items():
        blended = costs.blended_usd_per_mtok(p_in, p_out, check_number(f"{label}.input_share", share, ge=0, le=1))
        tok = scenario.breakeven_tok_per_day(blended)
        rows.append({"reading": label, "blended_usd_per_mtok": blended, "breakeven_mtok_per_day": tok / 1e6,
                     "over_article_x": tok / article_tok_per_day})
    return pd.DataFrame(rows)


def near_verdict(
    claim_id: str,
    breakevens: Mapping[str, float],
    article_tok_per_day: float,
    tolerance_x: float,
    baseline: str,
    capacity_breakevens: Mapping[str, float] | None = None,
    capacity_note: str = "",
) -> Verdict:
    """Verdict on "the break-even against <baseline> is ~N tokens/day" (C02, C03).

    Each API's break-even counts as "near" the article's figure when it lies within a
    factor ``tolerance_x`` of it. All near: holds. None near: does not hold. Some: holds
    only for those APIs, which the conditions name.

    With ``capacity_breakevens`` (the break-even when each GPU serves a limited number of
    tokens a day, :func:`selfhost.capacity.capacity_breakeven_tok_per_day`; ``inf`` where
    no volume breaks even) the verdict is judged on those, and the flat break-evens (one
    GPU serves any volume, the article's assumption) are reported beside them.

    Parameters
    ----------
    claim_id : str
        ``C02`` or ``C03``.
    breakevens : Mapping[str, float]
        provider/model -> break-even volume with the GPU count fixed [tok/day].
    article_tok_per_day : float
        The article's figure [tok/day].
    tolerance_x : float
        How far from the article's figure still counts as "around" it [1].
    baseline : str
        Words for the APIs compared against ("current frontier APIs").
    capacity_breakevens : Mapping[str, float], optional
        provider/model -> break-even volume with capacity per GPU [tok/day]; ``inf``: never.
    capacity_note : str
        What the capacity is (model, GPU, latency target), for the conditions.
    """
    if not breakevens:
        raise ParameterError("breakevens", breakevens, f"at least one break-even volume to judge {claim_id}")
    judged = dict(capacity_breakevens) if capacity_breakevens is not None else dict(breakevens)
    near = sorted(k for k, v in judged.items() if within(v, article_tok_per_day, tolerance_x))
    below = sorted(k for k, v in judged.items() if v < article_tok_per_day / tolerance_x)
    never = sorted(k for k, v in judged.items() if math.isinf(v))
    above = sorted(k for k, v in judged.items() if article_tok_per_day * tolerance_x < v < math.inf)
    flat = list(breakevens.values())
    finite = [v for v in judged.values() if math.isfinite(v)]
    figures: dict[str, float | int] = {
        "article_breakeven_tok_per_day": article_tok_per_day,
        "breakeven_min_tok_per_day": min(flat),
        "breakeven_max_tok_per_day": max(flat),
        "near_count": len(near),
        "apis_count": len(breakevens),
        "tolerance_x": tolerance_x,
    }
    if capacity_breakevens is not None:
        figures["never_breaks_even_count"] = len(never)
        if finite:
            figures["capacity_breakeven_min_tok_per_day"] = min(finite)
            figures["capacity_breakeven_max_tok_per_day"] = max(finite)
    span = f"{min(flat) / 1e6:,.1f}M to {max(flat) / 1e6:,.1f}M tokens/day"
    target = f"{article_tok_per_day / 1e6:,.0f}M tokens/day"
    capacity_words = f" ({capacity_note})" if capacity_note else ""
    if never and len(never) == len(judged):
        return Verdict(claim_id, FAILS,
                       f"Once one GPU's capacity is counted{capacity_words}, no volume breaks even against any of the "
                       f"{len(judged)} {baseline}: a GPU's full day of tokens is worth less at their prices than the "
                       f"GPU costs. Counting no capacity limit, the break-even would span {span}.", figures,
                       (f"it would hold only if one GPU served at least {min(flat) / 1e6:,.1f}M tokens/day (the "
                        "break-even against the dearest of them) within the latency target at the article's GPU "
                        "price, or the GPU cost less per token served",))
    if len(near) == len(judged):
        return Verdict(claim_id, HOLDS, f"Against every one of the {len(near)} {baseline} the break-even lies "
                       f"within {tolerance_x:g}x of {target} ({span}).", figures)
    if not near:
        return Verdict(claim_id, FAILS, f"Against none of the {len(judged)} {baseline} does the break-even lie "
                       f"within {tolerance_x:g}x of {target}: it spans {span}"
                       + (f"; against {len(never)} of them no volume breaks even once capacity is counted{capacity_words}"
                          if never else "") + ".", figures)
    conditions = [f"the API replaced is one of: {', '.join(near)}"]
    if below:
        conditions.append(f"not for {', '.join(below)}: dearer, the break-even is lower")
    if above:
        conditions.append(f"not for {', '.join(above)}: cheaper, the break-even is higher")
    if never:
        conditions.append(f"not for {', '.join(never)}: once one GPU's capacity is counted{capacity_words}, "
                          "no volume breaks even")
    if capacity_breakevens is not None:
        conditions.append(f"one GPU serves the break-even volume{capacity_words}; beyond it the self-host cost steps "
                          "up a GPU at a time")
    reason = (f"The break-even lies within {tolerance_x:g}x of {target} against "
              f"{len(near)} of {len(judged)} {baseline}; across all of them it spans {span}"
              + (f", and against {len(never)} no volume breaks even once capacity is counted" if never else "") + ".")
    return Verdict(claim_id, CONDITIONAL, reason, figures, tuple(conditions))


def ratio_table(frontier: Mapping[str, float], hosted: Mapping[str, float]) -> pd.DataFrame:
    """Every (frontier API, hosted open API) pair and the ratio of their break-evens.

    ``frontier`` and ``hosted`` map provider/model to blended price [USD/Mtok]. With the
    same self-host cost on both sides the ratio of break-evens is the inverse ratio of
    the prices: ``breakeven_hosted / breakeven_frontier = price_frontier / price_hosted``,
    whatever the GPU price or operating cost.
    """
    rows = [{"frontier": f, "hosted": h, "frontier_usd_per_mtok": pf, "hosted_usd_per_mtok": ph,
             "ratio_x": pf / ph}
            for (f, pf), (h, ph) in itertools.product(frontier.items(), hosted.items())]
    return pd.DataFrame(rows, columns=["frontier", "hosted", "frontier_usd_per_mtok", "hosted_usd_per_mtok", "ratio_x"])


def c04_verdict(ratios: pd.DataFrame, article_ratio_x: float, tolerance_x: float) -> Verdict:
    """Verdict on "the 10x difference in the crossover point" (C04).

    Each (frontier, hosted) pair's ratio of break-evens is "near" the article's when
    within ``tolerance_x`` of it. All pairs near: holds; none: does not hold; some: holds
    only for those pairings.
    """
    if ratios.empty:
        raise ParameterError("ratios", "(empty)", "at least one pair of APIs to compare (C04)")
    r = ratios["ratio_x"]
    near = ratios[[within(x, article_ratio_x, tolerance_x) for x in r]]
    geo_mean = float(math.exp(sum(math.log(x) for x in r) / len(r)))
    figures = {
        "article_ratio_x": article_ratio_x,
        "ratio_min_x": float(r.min()),
        "ratio_max_x": float(r.max()),
        "ratio_geomean_x": geo_mean,
        "near_pairs_count": len(near),
        "pairs_count": len(ratios),
    }
    span = f"{r.min():.1f}x to {r.max():.1f}x (geometric mean {geo_mean:.1f}x)"
    if len(near) == len(ratios):
        return Verdict("C04", HOLDS, f"Every pairing gives a crossover ratio within {tolerance_x:g}x of "
                       f"{article_ratio_x:g}x: {span}.", figures)
    if near.empty:
        return Verdict("C04", FAILS, f"No pairing gives a crossover ratio within {tolerance_x:g}x of "
                       f"{article_ratio_x:g}x: {span}.", figures)
    frontier_near = sorted(set(near["frontier"]))
    conditions = (
        f"the ratio is the ratio of the two API prices and nothing else (GPU price and operating cost cancel): "
        f"{len(near)} of {len(ratios)} pairings fall within {tolerance_x:g}x of {article_ratio_x:g}x",
        f"the frontier side is one of {', '.join(frontier_near)} and the hosted side is priced like the "
        "article's ~$0.50-0.90/Mtok",
    )
    return Verdict("C04", CONDITIONAL, f"The crossover ratio spans {span} across today's pairings; the article's "
                   f"{article_ratio_x:g}x is one point in that range. Comparing against the right baseline matters "
                   "by that whole factor.", figures, conditions)


def cost_vs_volume(
    volumes_tok_per_day: Sequence[float], scenario: Scenario, baselines_usd_per_mtok: Mapping[str, float],
    capacity_tok_per_day_per_gpu: float | None = None,
) -> pd.DataFrame:
    """Monthly cost against daily volume, long format for charting.

    Columns: ``mtok_per_day``, ``option`` (``self-host`` or an API's name),
    ``usd_per_month``.
    """
    rows = []
    for v in volumes_tok_per_day:
        rows.append({"mtok_per_day": v / 1e6, "option": "self-host",
                     "usd_per_month": costs.tco_usd_per_month(v, scenario.gpu_usd_per_hour, scenario.gpu_count,
                                                              scenario.ops_usd_per_month, capacity_tok_per_day_per_gpu)})
        for name, price in baselines_usd_per_mtok.items():
            rows.append({"mtok_per_day": v / 1e6, "option": name,
                         "usd_per_month": costs.spend_usd_per_month(v, price)})
    return pd.DataFrame(rows)


def breakeven_grid(
    gpu_usd_per_hour: Sequence[float], blended_usd_per_mtok: Sequence[float], scenario: Scenario
) -> pd.DataFrame:
    """Break-even over a grid of GPU price x blended API price (the scenario's other terms).

    Columns: ``gpu_usd_per_hour``, ``blended_usd_per_mtok``, ``breakeven_mtok_per_day``.
    """
    rows = [{"gpu_usd_per_hour": g, "blended_usd_per_mtok": p,
             "breakeven_mtok_per_day": costs.breakeven_tok_per_day(g, p, scenario.gpu_count,
                                                                   scenario.ops_usd_per_month) / 1e6}
            for g, p in itertools.product(gpu_usd_per_hour, blended_usd_per_mtok)]
    return pd.DataFrame(rows)


def breakeven_vs_share(
    input_shares: Sequence[float], apis: Mapping[str, tuple[float, float]], scenario: Scenario
) -> pd.DataFrame:
    """Break-even against input share for APIs given as ``name -> (input, output)`` prices.

    Columns: ``input_share``, ``api``, ``breakeven_mtok_per_day``.
    """
    rows = [{"input_share": s, "api": name,
             "breakeven_mtok_per_day": scenario.breakeven_tok_per_day(costs.blended_usd_per_mtok(p_in, p_out, s)) / 1e6}
            for s in input_shares for name, (p_in, p_out) in apis.items()]
    return pd.DataFrame(rows)


# --- C05: total cost of ownership below 5M tokens/day ---------------------------------------


def tco_table(prices: Iterable[ApiPrice], scenario: Scenario, volume_tok_per_day: float) -> pd.DataFrame:
    """At one daily volume: each API's monthly bill against self-hosting's total cost.

    Columns: ``model``, ``tier``, ``blended_usd_per_mtok``, ``api_usd_per_month``,
    ``selfhost_usd_per_month`` (GPUs + operations), ``api_wins``,
    ``ops_needed_usd_per_month`` (the operating cost at which the API stops losing: zero
    where the GPUs alone already cost more than the API bill).
    """
    selfhost = scenario.selfhost_usd_per_day * DAYS_PER_MONTH
    rows = []
    for p in prices:
        blended = scenario.blended_usd_per_mtok(p)
        api = costs.spend_usd_per_month(volume_tok_per_day, blended)
        rows.append({"model": p.key, "tier": p.tier, "blended_usd_per_mtok": blended, "api_usd_per_month": api,
                     "selfhost_usd_per_month": selfhost, "api_wins": api <= selfhost,
                     "ops_needed_usd_per_month": max(0.0, api - scenario.gpu_usd_per_month)})
    columns = ["model", "tier", "blended_usd_per_mtok", "api_usd_per_month", "selfhost_usd_per_month", "api_wins",
               "ops_needed_usd_per_month"]
    return pd.DataFrame(rows, columns=columns).sort_values("api_usd_per_month", ascending=False).reset_index(drop=True)


def c05_verdict(table: pd.DataFrame, volume_tok_per_day: float, most_share: float, ops_usd_per_month: float) -> Verdict:
    """Verdict on "below 5M tokens/day, API providers win on total cost of ownership" (C05).

    Self-hosting's cost is flat in the volume and the API bill grows with it, so if an
    API wins at the volume it wins at every volume below. The claim holds when every API
    in ``table`` (from :func:`tco_table` at ``volume_tok_per_day``) wins there; holds only
    under conditions when at least ``most_share`` of them win ("most teams"); else it
    does not hold.
    """
    check_number("most_share", most_share, ge=0, le=1)
    wins = int(table["api_wins"].sum())
    total = len(table)
    ops_needed = float(table["ops_needed_usd_per_month"].max())
    losers = list(table.loc[~table["api_wins"], "model"])
    figures = {
        "volume_tok_per_day": volume_tok_per_day,
        "api_wins_count": wins,
        "apis_count": total,
        "ops_usd_per_month": ops_usd_per_month,
        "ops_needed_usd_per_month": ops_needed,
        "selfhost_usd_per_month": float(table["selfhost_usd_per_month"].iloc[0]),
    }
    at = f"{volume_tok_per_day / 1e6:,.0f}M tokens/day"
    if wins == total:
        why = ("even with no operating cost" if ops_needed == 0 else
               f"given an operating cost of ${ops_usd_per_month:,.0f}/month (it needs ${ops_needed:,.0f})")
        return Verdict("C05", HOLDS, f"At {at} every one of the {total} APIs costs less per month than self-hosting, "
                       f"{why}; below that volume the gap only widens.", figures)
    conditions = (
        f"operating cost of at least ${ops_needed:,.0f}/month: below it self-hosting is cheaper at {at} than "
        + ", ".join(losers),
    )
    if wins / total >= most_share:
        return Verdict("C05", CONDITIONAL, f"At {at} {wins} of {total} APIs cost less than self-hosting; the dearest "
                       "do not unless operating costs are counted.", figures, conditions)
    return Verdict("C05", FAILS, f"At {at} only {wins} of {total} APIs cost less than self-hosting with "
                   f"${ops_usd_per_month:,.0f}/month of operating cost.", figures, conditions)


# --- C06: the spend thresholds --------------------------------------------------------------


def spend_threshold_table(
    prices: Iterable[ApiPrice], thresholds_usd_per_month: Mapping[str, float], scenario: Scenario
) -> pd.DataFrame:
    """What each tier's spend threshold buys at each API's price, set against the break-even.

    ``thresholds_usd_per_month`` maps a tier (``frontier``, ``hosted-open``) to its spend
    threshold. Columns: ``model``, ``tier``, ``threshold_usd_per_month``,
    ``blended_usd_per_mtok``, ``volume_mtok_per_day`` (what the spend buys),
    ``breakeven_mtok_per_day`` (GPUs and operations of the scenario),
    ``volume_over_breakeven_x``, ``volume_tok_per_s`` (the average rate that volume
    needs, for the capacity question of C07).
    """
    rows = []
    for p in prices:
        if p.tier not in thresholds_usd_per_month:
            continue
        spend = thresholds_usd_per_month[p.tier]
        blended = scenario.blended_usd_per_mtok(p)
        volume = costs.tok_per_day_for_spend(spend, blended)
        breakeven = scenario.breakeven_tok_per_day(blended)
        rows.append({"model": p.key, "tier": p.tier, "threshold_usd_per_month": spend,
                     "blended_usd_per_mtok": blended, "volume_mtok_per_day": volume / 1e6,
                     "breakeven_mtok_per_day": breakeven / 1e6, "volume_over_breakeven_x": volume / breakeven,
                     "volume_tok_per_s": volume / SECONDS_PER_DAY})
    columns = ["model", "tier", "threshold_usd_per_month", "blended_usd_per_mtok", "volume_mtok_per_day",
               "breakeven_mtok_per_day", "volume_over_breakeven_x", "volume_tok_per_s"]
    return pd.DataFrame(rows, columns=columns).sort_values(["tier", "volume_mtok_per_day"]).reset_index(drop=True)


def c06_verdict(
    thresholds_usd_per_month: Mapping[str, float],
    scenario: Scenario,
    assumed_ops_usd_per_month: float,
    tolerance_x: float,
    max_volume_tok_per_s: Mapping[str, float],
) -> Verdict:
    """Verdict on the spend thresholds ">$10K/month frontier", ">$50K/month hosted open" (C06).

    A threshold ``S`` is a cost break-even only if operating self-hosted GPUs costs
    ``S - GPUs`` a month (:func:`selfhost.costs.implied_ops_usd_per_month`). Each
    threshold is judged consistent when that implied overhead lies within
    ``tolerance_x`` of ``assumed_ops_usd_per_month``. Both consistent: holds; one: holds
    only under conditions; none: does not hold.

    Parameters
    ----------
    thresholds_usd_per_month : Mapping[str, float]
        tier -> spend threshold [USD/month].
    scenario : Scenario
        GPU price and count (its own operating cost is not used here).
    assumed_ops_usd_per_month : float
        The operating overhead the reader believes [USD/month].
    tolerance_x : float
        How far the implied overhead may be from the assumed one [1].
    max_volume_tok_per_s : Mapping[str, float]
        tier -> the highest average rate the threshold buys at today's prices [tok/s];
        reported as a capacity condition (capacity itself is claim C07).
    """
    check_number("assumed_ops_usd_per_month", assumed_ops_usd_per_month, gt=0)
    figures: dict[str, float] = {"assumed_ops_usd_per_month": assumed_ops_usd_per_month,
                                 "gpu_usd_per_month": scenario.gpu_usd_per_month}
    consistent: list[str] = []
    inconsistent: list[str] = []
    conditions: list[str] = []
    for tier, spend in thresholds_usd_per_month.items():
        implied = costs.implied_ops_usd_per_month(spend, scenario.gpu_usd_per_hour, scenario.gpu_count)
        slug = tier.replace("-", "_")
        figures[f"{slug}_implied_ops_usd_per_month"] = implied
        figures[f"{slug}_implied_over_assumed_x"] = implied / assumed_ops_usd_per_month
        if tier in max_volume_tok_per_s:
            figures[f"{slug}_max_volume_tok_per_s"] = max_volume_tok_per_s[tier]
        text = f"${spend:,.0f}/month ({tier}) implies ${implied:,.0f}/month of operating overhead"
        (consistent if within(implied, assumed_ops_usd_per_month, tolerance_x) else inconsistent).append(text)
    for tier, rate in max_volume_tok_per_s.items():
        conditions.append(f"the {tier} threshold buys up to {rate:,.0f} tok/s on average at today's prices; that "
                          f"the {scenario.gpu_count} GPU(s) priced here serve it is assumed, not shown (C07)")
    reason_tail = f"against an assumed ${assumed_ops_usd_per_month:,.0f}/month (within {tolerance_x:g}x counts)"
    if not inconsistent:
        return Verdict("C06", HOLDS, "Both thresholds are break-evens for a plausible overhead: "
                       + "; ".join(consistent) + f", {reason_tail}.", figures, tuple(conditions))
    if not consistent:
        return Verdict("C06", FAILS, "Neither threshold matches the assumed overhead: " + "; ".join(inconsistent)
                       + f", {reason_tail}.", figures, tuple(conditions))
    conditions.insert(0, "operating overhead near the implied figure: " + "; ".join(consistent))
    return Verdict("C06", CONDITIONAL, "Only one threshold fits the assumed overhead: " + "; ".join(consistent)
                   + ", but " + "; ".join(inconsistent) + f", {reason_tail}.", figures, tuple(conditions))
