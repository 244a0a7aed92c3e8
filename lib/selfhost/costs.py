"""Token costs: blended API prices, the volume a spend buys, self-hosting cost and break-even.

Pure functions over plain numbers. Names carry units: ``_usd_per_mtok`` is US dollars
per million tokens, ``_tok_per_day`` tokens per day, ``_usd_per_month`` dollars per
billing month (730 hours, :data:`selfhost.units.HOURS_PER_MONTH`).

Glossary
--------
input_share : float
    Fraction of all tokens that are input (prompt) tokens [1]; the article's "70/30
    input/output split" is ``input_share = 0.7``.
cached_share : float
    Fraction of input tokens billed at the provider's cached-input price [1].
gpu_usd_per_hour : float
    Rental price of one GPU [USD/h]; rented GPUs are paid around the clock.
ops_usd_per_month : float
    Operating cost of a self-hosted deployment: engineer time, monitoring [USD/month].
breakeven_tok_per_day : float
    Daily volume at which self-hosting and the API cost the same [tok/day].
peak_to_mean_x : float
    The traffic's busiest rate over its mean rate [x]: capacity is provisioned for the peak.

The one cost model
------------------
Every cost page and the ``selfhost breakeven`` command price self-hosting the same way
(:class:`Deployment`): the model runs on *replicas*, each of ``gpus_per_replica`` GPUs (as
many as the model needs to fit in memory at its precision, or more), each serving at most
``replica_capacity_tok_per_day`` within the latency target (:mod:`selfhost.capacity`
computes it; :mod:`selfhost.breakeven` sizes a deployment from a model and a GPU). A
deployment serves traffic (:class:`Traffic`) whose peak rate is ``peak_to_mean_x`` times its
mean, so it rents ``ceil(peak / capacity)`` replicas (never fewer than ``min_replicas``),
paid around the clock, plus an operating cost per month; its GPUs are on average busy
``mean / provisioned capacity`` of the time. Costs step up a replica at a time, so a
break-even is where the API's bill (linear in the volume) first reaches the self-host cost
and, separately, the volume from which self-hosting stays cheaper
(:meth:`Deployment.breakeven`). With no capacity limit (``replica_capacity_tok_per_day``
None: the article's assumption) both are ``(GPUs + operations) / price``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number
from selfhost.units import DAYS_PER_MONTH, HOURS_PER_DAY, HOURS_PER_MONTH, MONTHS_PER_YEAR, TOK_PER_MTOK

#: The two answers to "which costs less": self-hosting or the API.
SELF_HOST, API = "self-host", "api"


def blended_usd_per_mtok(
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    input_share: float,
    cached_input_usd_per_mtok: float | None = None,
    cached_share: float = 0.0,
) -> float:
    """Average price of one million tokens for a given input/output mix.

    Parameters
    ----------
    input_usd_per_mtok : float
        Price of uncached input tokens [USD/Mtok].
    output_usd_per_mtok : float
        Price of output tokens [USD/Mtok].
    input_share : float
        Input tokens as a fraction of all tokens [1].
    cached_input_usd_per_mtok : float, optional
        Price of cached input tokens [USD/Mtok]; required when ``cached_share > 0``.
    cached_share : float
        Fraction of input tokens that hit the provider's cache [1].

    Returns
    -------
    float
        Blended price [USD/Mtok]:
        ``s * ((1 - c) * p_in + c * p_cached) + (1 - s) * p_out``.

    Examples
    --------
    The article's 70/30 split at Claude Sonnet 4.x prices ($3 in, $15 out):

    >>> round(blended_usd_per_mtok(3.0, 15.0, 0.7), 2)
    6.6
    """
    if cached_share and cached_input_usd_per_mtok is None:
        raise ParameterError("cached_input_usd_per_mtok", cached_input_usd_per_mtok, "a price, since cached_share > 0")
    cached = cached_input_usd_per_mtok if cached_input_usd_per_mtok is not None else input_usd_per_mtok
    input_price = (1.0 - cached_share) * input_usd_per_mtok + cached_share * cached
    return input_share * input_price + (1.0 - input_share) * output_usd_per_mtok


def tok_per_day_for_spend(spend_usd_per_month: float, blended_price_usd_per_mtok: float) -> float:
    """Tokens per day that a monthly API spend buys at a blended price.

    ``spend / DAYS_PER_MONTH / price * 1e6`` [tok/day].

    Examples
    --------
    $10,000 a month at $6.60 per million tokens:

    >>> round(tok_per_day_for_spend(10_000, 6.6) / 1e6, 1)
    49.8
    """
    check_number("blended_price_usd_per_mtok", blended_price_usd_per_mtok, gt=0)
    return spend_usd_per_month / DAYS_PER_MONTH / blended_price_usd_per_mtok * TOK_PER_MTOK


def spend_usd_per_month(tok_per_day: float, blended_price_usd_per_mtok: float) -> float:
    """Monthly API bill for a daily token volume; the inverse of tok_per_day_for_spend.

    >>> round(spend_usd_per_month(5e6, 6.6))
    1004
    """
    return tok_per_day * blended_price_usd_per_mtok / TOK_PER_MTOK * DAYS_PER_MONTH


# --- The one cost model: replicas stepped by capacity, plus operations ----------------------


@dataclass(frozen=True)
class Traffic:
    """The traffic a deployment or an API serves.

    Parameters
    ----------
    tok_per_day : float
        Mean volume, input plus output [tok/day].
    input_share : float
        Input tokens as a share of all tokens [1] (the article's 70/30: 0.7).
    peak_to_mean_x : float
        Busiest rate over mean rate [x] (1: a steady load, the article's assumption).
    cached_share : float
        Share of input tokens an API bills at its cached-input price [1] (a prefix-cache
        hit share).
    label : str
        Where the figures come from (``article``, a trace's name).

    >>> Traffic(5e6, 0.7).peak_tok_per_day
    5000000.0
    """

    tok_per_day: float
    input_share: float
    peak_to_mean_x: float = 1.0
    cached_share: float = 0.0
    label: str = "article"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tok_per_day", check_number("tok_per_day", self.tok_per_day, ge=0))
        object.__setattr__(self, "input_share", check_number("input_share", self.input_share, ge=0, le=1))
        object.__setattr__(self, "peak_to_mean_x", check_number("peak_to_mean_x", self.peak_to_mean_x, ge=1,
                                                                finite=True))
        object.__setattr__(self, "cached_share", check_number("cached_share", self.cached_share, ge=0, le=1))

    @property
    def peak_tok_per_day(self) -> float:
        """The peak rate, as a daily volume [tok/day]: what capacity is provisioned for."""
        return self.tok_per_day * self.peak_to_mean_x

    def at(self, tok_per_day: float) -> Traffic:
        """The same traffic at another mean volume."""
        return Traffic(tok_per_day, self.input_share, self.peak_to_mean_x, self.cached_share, self.label)


@dataclass(frozen=True)
class Breakeven:
    """Where self-hosting starts to pay against an API [tok/day].

    ``first_tok_per_day``: the smallest mean volume at which self-hosting costs no more
    than the API. ``lasting_tok_per_day``: the volume from which it stays so (beyond the
    first, an added replica can make self-hosting dearer again until the API's bill
    catches up). ``inf`` where no volume breaks even: one replica's tokens, at the
    utilisation the traffic's peak allows, are worth less at the API's price than the
    replica costs. Without a capacity limit both are equal.
    """

    first_tok_per_day: float
    lasting_tok_per_day: float

    @property
    def crosses(self) -> bool:
        return math.isfinite(self.lasting_tok_per_day)


@dataclass(frozen=True)
class MonthlyCost:
    """What a deployment costs for a traffic, and what it provisions [USD/month, tok/day, 1]."""

    replicas_count: int
    gpus_count: int
    gpu_usd_per_month: float
    ops_usd_per_month: float
    total_usd_per_month: float
    capacity_tok_per_day: float | None
    utilisation_share: float | None
    usd_per_mtok: float | None


@dataclass(frozen=True)
class Deployment:
    """A self-hosted deployment: replicas of ``gpus_per_replica`` GPUs plus operations.

    Parameters
    ----------
    gpu_usd_per_hour : float
        Rental price of one GPU [USD/h], paid around the clock (730 h a month).
    gpus_per_replica : int
        GPUs of one replica (tensor parallel) [1].
    replica_capacity_tok_per_day : float or None
        Most one replica serves within the latency target [tok/day]; None: no limit (the
        article's assumption: one replica serves any volume).
    ops_usd_per_month : float
        Operating cost: engineer time, monitoring [USD/month].
    min_replicas : int
        Replicas kept whatever the volume (availability) [1].
    label : str
        What it is, in words (``1 x A100 80GB, int4``).

    Examples
    --------
    The article's scenario, one A100 at $2.50/h serving any volume, against Claude
    Sonnet 4.x at 70/30 ($6.60/Mtok):

    >>> d = Deployment(2.50, 1, None)
    >>> round(d.monthly(Traffic(5e6, 0.7)).total_usd_per_month)
    1825
    >>> round(d.breakeven(6.6).first_tok_per_day / 1e6, 2)
    9.09

    With a capacity of 50M tok/day per replica against a $0.60/Mtok API no volume
    breaks even: a full replica's tokens are worth $30 a day, the replica costs $60:

    >>> Deployment(2.50, 1, 50e6).breakeven(0.6).crosses
    False
    """

    gpu_usd_per_hour: float
    gpus_per_replica: int = 1
    replica_capacity_tok_per_day: float | None = None
    ops_usd_per_month: float = 0.0
    min_replicas: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        check_number("gpu_usd_per_hour", self.gpu_usd_per_hour, gt=0, finite=True)
        check_int("gpus_per_replica", self.gpus_per_replica, ge=1, le=1024)
        if self.replica_capacity_tok_per_day is not None:
            check_number("replica_capacity_tok_per_day", self.replica_capacity_tok_per_day, ge=0)
        check_number("ops_usd_per_month", self.ops_usd_per_month, ge=0, finite=True)
        check_int("min_replicas", self.min_replicas, ge=1, le=100_000)

    @property
    def replica_usd_per_month(self) -> float:
        """One replica's GPUs around the clock [USD/month]."""
        return self.gpu_usd_per_hour * self.gpus_per_replica * HOURS_PER_MONTH

    @property
    def serves(self) -> bool:
        """False when a replica serves nothing within the latency target (capacity 0)."""
        return self.replica_capacity_tok_per_day is None or self.replica_capacity_tok_per_day > 0

    def replicas_for(self, traffic: Traffic) -> int:
        """Replicas the traffic's peak needs: ``max(min_replicas, ceil(peak / capacity))`` [1].

        Raises ParameterError when a replica serves nothing within the latency target.
        """
        cap = self.replica_capacity_tok_per_day
        if cap is None:
            return self.min_replicas
        if cap <= 0:
            raise ParameterError("replica_capacity_tok_per_day", cap,
                                 "a capacity > 0: no batch of this deployment meets the latency target")
        # a hair of tolerance, so that a volume computed as exactly n capacities needs n replicas
        return max(self.min_replicas, math.ceil(traffic.peak_tok_per_day / cap * (1 - 1e-12)))

    def monthly(self, traffic: Traffic) -> MonthlyCost:
        """GPUs (replicas for the peak) around the clock plus operations, at the traffic's volume."""
        n = self.replicas_for(traffic)
        gpu = n * self.replica_usd_per_month
        total = gpu + self.ops_usd_per_month
        cap = None if self.replica_capacity_tok_per_day is None else n * self.replica_capacity_tok_per_day
        use = traffic.tok_per_day / cap if cap else None
        per_mtok = total / (traffic.tok_per_day * DAYS_PER_MONTH) * TOK_PER_MTOK if traffic.tok_per_day else None
        return MonthlyCost(n, n * self.gpus_per_replica, gpu, self.ops_usd_per_month, total, cap, use, per_mtok)

    def breakeven(self, blended_price_usd_per_mtok: float, peak_to_mean_x: float = 1.0) -> Breakeven:
        """Break-even volumes against an API at a blended price [tok/day] (see :class:`Breakeven`).

        Per billing month a volume ``V`` costs ``p V`` at the API (``p`` = price x days per
        month) and ``n(V) R + O`` self-hosted (``R`` a replica, ``O`` operations,
        ``n(V) = max(m, ceil(V k / C))`` with ``k`` the peak-to-mean and ``C`` a replica's
        capacity). Within the volumes ``n`` replicas serve, ``((n-1) C', n C']`` with
        ``C' = C / k``, the API costs at least as much from ``t_n = (n R + O) / p``. The
        first break-even is in the first step where ``t_n <= n C'``; self-hosting stays
        cheaper from the step ``K`` on where even its lowest volume pays,
        ``p (K-1) C' >= K R + O``, back through the part of step ``K - 1`` it wins.
        """
        check_number("blended_price_usd_per_mtok", blended_price_usd_per_mtok, gt=0)
        check_number("peak_to_mean_x", peak_to_mean_x, ge=1)
        p = blended_price_usd_per_mtok / TOK_PER_MTOK * DAYS_PER_MONTH
        r, o, m = self.replica_usd_per_month, self.ops_usd_per_month, self.min_replicas
        if self.replica_capacity_tok_per_day is None:
            v = (m * r + o) / p
            return Breakeven(v, v)
        c = self.replica_capacity_tok_per_day / peak_to_mean_x
        slope = p * c - r  # what a full replica earns over its cost [USD/month]
        if c <= 0 or slope <= 0:
            return Breakeven(math.inf, math.inf)

        def t(n: int) -> float:
            return (n * r + o) / p

        def lo(n: int) -> float:
            return 0.0 if n == m else (n - 1) * c

        n_first = max(m, math.ceil(o / slope - 1e-12))
        first = max(lo(n_first), t(n_first))
        k = max(m + 1, math.ceil((p * c + o) / slope - 1e-12))
        n = k - 1
        lasting = max(lo(n), t(n)) if t(n) <= n * c else n * c
        return Breakeven(first, max(first, lasting))


def api_usd_per_month(traffic: Traffic, blended_price_usd_per_mtok: float) -> float:
    """An API's monthly bill for a traffic at a blended price [USD/month].

    >>> round(api_usd_per_month(Traffic(5e6, 0.7), 6.6))
    1004
    """
    return spend_usd_per_month(traffic.tok_per_day, check_number("blended_price_usd_per_mtok",
                                                                  blended_price_usd_per_mtok, gt=0))


# --- The article's arithmetic, kept for the pages' worked examples (C02-C06) ----------------
#
# The functions below are the same model with one replica of ``gpu_count`` GPUs that serves
# any volume (no capacity limit): ``Deployment(gpu_usd_per_hour, gpu_count, None, ops)``.


def ops_usd_per_month(
    engineer_fte: float = 0.0,
    engineer_usd_per_year: float = 0.0,
    monitoring_usd_per_month: float = 0.0,
    other_usd_per_month: float = 0.0,
) -> float:
    """Operating cost of a self-hosted deployment per month.

    Parameters
    ----------
    engineer_fte : float
        Engineer time spent on the deployment, in full-time equivalents [1].
    engineer_usd_per_year : float
        Fully loaded cost of one engineer [USD/year].
    monitoring_usd_per_month : float
        Monitoring, logging and alerting services [USD/month].
    other_usd_per_month : float
        Anything else: storage, egress, on-call pay [USD/month].

    Returns
    -------
    float
        ``fte * engineer / 12 + monitoring + other`` [USD/month].

    Examples
    --------
    A quarter of a $200,000 engineer and $500 of monitoring:

    >>> ops_usd_per_month(0.25, 200_000, 500)
    4666.666666666667
    """
    check_number("engineer_fte", engineer_fte, ge=0)
    check_number("engineer_usd_per_year", engineer_usd_per_year, ge=0)
    check_number("monitoring_usd_per_month", monitoring_usd_per_month, ge=0)
    check_number("other_usd_per_month", other_usd_per_month, ge=0)
    return engineer_fte * engineer_usd_per_year / MONTHS_PER_YEAR + monitoring_usd_per_month + other_usd_per_month


def gpus_needed(tok_per_day: float, gpu_count: int, capacity_tok_per_day_per_gpu: float | None = None) -> int:
    """GPUs a one-GPU-replica deployment rents at a volume (kept for the capacity page's worked example).

    With no capacity given the deployment keeps its ``gpu_count`` GPUs whatever the
    volume (the article's assumption). With a capacity per GPU, it rents as many as the
    volume needs, and never fewer than ``gpu_count``. :meth:`Deployment.replicas_for`
    is the general form (replicas of several GPUs, provisioned for the peak).

    >>> gpus_needed(50e6, 1)
    1
    >>> gpus_needed(50e6, 1, capacity_tok_per_day_per_gpu=20e6)
    3
    """
    check_number("tok_per_day", tok_per_day, ge=0)
    check_int("gpu_count", gpu_count, ge=1)
    if capacity_tok_per_day_per_gpu is None:
        return gpu_count
    check_number("capacity_tok_per_day_per_gpu", capacity_tok_per_day_per_gpu, gt=0)
    return max(gpu_count, math.ceil(tok_per_day / capacity_tok_per_day_per_gpu))


def selfhost_usd_per_day(gpu_usd_per_hour: float, gpu_count: int = 1, ops_usd_per_month: float = 0.0) -> float:
    """Daily cost of a self-hosted deployment: rented GPUs around the clock plus operations.

    Parameters
    ----------
    gpu_usd_per_hour : float
        Rental price of one GPU [USD/h].
    gpu_count : int
        GPUs rented, replicas and idle headroom included [1].
    ops_usd_per_month : float
        Operating cost (see :func:`ops_usd_per_month`) [USD/month].

    Returns
    -------
    float
        ``gpu_usd_per_hour * gpu_count * 24 + ops_usd_per_month / DAYS_PER_MONTH`` [USD/day].

    References
    ----------
    The article, section "Should You Self-Host?": "a 70B model on an A100 80GB spot
    instance (~$2.50/hr)".

    Examples
    --------
    The article's scenario, one A100 at $2.50/h and no operating cost:

    >>> selfhost_usd_per_day(2.50)
    60.0
    """
    check_number("gpu_usd_per_hour", gpu_usd_per_hour, gt=0)
    check_int("gpu_count", gpu_count, ge=1)
    check_number("ops_usd_per_month", ops_usd_per_month, ge=0)
    return gpu_usd_per_hour * gpu_count * HOURS_PER_DAY + ops_usd_per_month / DAYS_PER_MONTH


def api_usd_per_day(tok_per_day: float, blended_price_usd_per_mtok: float) -> float:
    """Daily API bill for a token volume at a blended price [USD/day].

    >>> api_usd_per_day(5e6, 6.6)
    33.0
    """
    check_number("tok_per_day", tok_per_day, ge=0)
    check_number("blended_price_usd_per_mtok", blended_price_usd_per_mtok, gt=0)
    return tok_per_day * blended_price_usd_per_mtok / TOK_PER_MTOK


def breakeven_tok_per_day(
    gpu_usd_per_hour: float,
    blended_price_usd_per_mtok: float,
    gpu_count: int = 1,
    ops_usd_per_month: float = 0.0,
) -> float:
    """Daily token volume at which self-hosting costs the same as the API.

    Above it the API bill exceeds the fixed self-host cost. This is the article's
    arithmetic: the rented GPUs serve any volume. :meth:`Deployment.breakeven` counts
    capacity (replicas stepped by it) and the traffic's peak.

    Parameters
    ----------
    gpu_usd_per_hour : float
        Rental price of one GPU [USD/h].
    blended_price_usd_per_mtok : float
        The API's price for the workload's input/output mix (see
        :func:`blended_usd_per_mtok`) [USD/Mtok].
    gpu_count : int
        GPUs rented [1].
    ops_usd_per_month : float
        Operating cost [USD/month].

    Returns
    -------
    float
        ``selfhost_usd_per_day / blended_price * 1e6`` [tok/day].

    Examples
    --------
    The article's scenario ($2.50/h, one GPU) against Claude Sonnet at 70/30 ($6.60/Mtok):

    >>> round(breakeven_tok_per_day(2.50, 6.6) / 1e6, 2)
    9.09
    """
    check_number("blended_price_usd_per_mtok", blended_price_usd_per_mtok, gt=0)
    daily = selfhost_usd_per_day(gpu_usd_per_hour, gpu_count, ops_usd_per_month)
    return daily / blended_price_usd_per_mtok * TOK_PER_MTOK


def blended_price_for_breakeven_usd_per_mtok(
    tok_per_day: float, gpu_usd_per_hour: float, gpu_count: int = 1, ops_usd_per_month: float = 0.0
) -> float:
    """The blended API price at which the break-even falls at ``tok_per_day`` [USD/Mtok].

    The inverse of :func:`breakeven_tok_per_day` in the price: what would the API have to
    cost for the article's ~5M tokens/day to be the crossover?

    >>> blended_price_for_breakeven_usd_per_mtok(5e6, 2.50)
    12.0
    """
    check_number("tok_per_day", tok_per_day, gt=0)
    return selfhost_usd_per_day(gpu_usd_per_hour, gpu_count, ops_usd_per_month) / tok_per_day * TOK_PER_MTOK


def tco_usd_per_month(
    tok_per_day: float,
    gpu_usd_per_hour: float,
    gpu_count: int = 1,
    ops_usd_per_month: float = 0.0,
    capacity_tok_per_day_per_gpu: float | None = None,
) -> float:
    """Total cost of ownership of self-hosting per month at a daily volume [USD/month].

    GPUs (as many as :func:`gpus_needed` says) around the clock plus operations; with no
    capacity given the cost is flat in the volume. :meth:`Deployment.monthly` is the
    general form.

    >>> round(tco_usd_per_month(5e6, 2.50, ops_usd_per_month=4000))
    5825
    """
    gpus = gpus_needed(tok_per_day, gpu_count, capacity_tok_per_day_per_gpu)
    return selfhost_usd_per_day(gpu_usd_per_hour, gpus, ops_usd_per_month) * DAYS_PER_MONTH


def implied_ops_usd_per_month(
    spend_threshold_usd_per_month: float, gpu_usd_per_hour: float, gpu_count: int = 1
) -> float:
    """Operating cost that makes a monthly API spend the break-even point [USD/month].

    At the volume a spend ``S`` buys, the API costs ``S`` a month; self-hosting costs the
    GPUs plus operations. The two are equal when operations cost ``S - GPUs``. A spend
    threshold such as the article's $10K/month is therefore a break-even only if the
    operating overhead is this large (negative: the GPUs alone cost more than ``S``).

    >>> round(implied_ops_usd_per_month(10_000, 2.50))
    8175
    """
    check_number("spend_threshold_usd_per_month", spend_threshold_usd_per_month, ge=0)
    return spend_threshold_usd_per_month - selfhost_usd_per_day(gpu_usd_per_hour, gpu_count) * DAYS_PER_MONTH
