"""Token costs: blended API prices, the volume a spend buys, self-hosting cost and break-even.

Pure functions over plain numbers. Names carry units: ``_usd_per_mtok`` is US dollars
per million tokens, ``_tok_per_day`` tokens per day, ``_usd_per_month`` dollars per
(average) month.

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
"""

from __future__ import annotations

import math

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number
from selfhost.units import DAYS_PER_MONTH, HOURS_PER_DAY, MONTHS_PER_YEAR, TOK_PER_MTOK


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


# --- Self-hosting: daily cost, break-even, total cost of ownership (C02-C06) ---------------
#
# The model (the article's, made explicit): a self-hosted deployment rents ``gpu_count``
# GPUs around the clock at ``gpu_usd_per_hour`` each and pays an operating cost per month
# (engineer time, monitoring, on-call). Its cost does not depend on the token volume, so
# the break-even volume is the daily self-host cost divided by the API's blended price.
#
# CAPACITY IS NOT MODELLED HERE. Every function below assumes that the GPUs rented can
# serve the volume in question. Where capacity will constrain it, :func:`gpus_needed` is
# the one place that has to change: given a capacity per GPU it returns more GPUs as the
# volume grows (claim C07 works the capacity out).



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
    """GPUs a deployment rents at a volume: the capacity hook.

    With no capacity given (the default, and the assumption of the cost pages) the
    deployment keeps its ``gpu_count`` GPUs whatever the volume: one GPU is assumed to
    serve it. With a capacity per GPU, it rents as many as the volume needs, and never
    fewer than ``gpu_count`` (replicas kept for availability).

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

    Above it the API bill exceeds the fixed self-host cost. Assumes the rented GPUs
    can serve the volume (capacity is not modelled; see :func:`gpus_needed`).

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

    GPUs (as many as :func:`gpus_needed` says) around the clock plus operations. With no
    capacity given the cost is flat in the volume.

    >>> round(tco_usd_per_month(5e6, 2.50, ops_usd_per_month=4000))
    5826
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
    8174
    """
    check_number("spend_threshold_usd_per_month", spend_threshold_usd_per_month, ge=0)
    return spend_threshold_usd_per_month - selfhost_usd_per_day(gpu_usd_per_hour, gpu_count) * DAYS_PER_MONTH
