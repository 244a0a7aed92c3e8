"""API token costs: blended prices and the volume a monthly spend buys.

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
"""

from __future__ import annotations

#: Days in an average Gregorian month [day/month]: 365.2425 / 12.
DAYS_PER_MONTH = 365.2425 / 12
#: Tokens in one million tokens [tok/Mtok].
TOK_PER_MTOK = 1_000_000


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
        raise ValueError("cached_share > 0 needs cached_input_usd_per_mtok")
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
    if blended_price_usd_per_mtok <= 0:
        raise ValueError("blended_price_usd_per_mtok must be > 0")
    return spend_usd_per_month / DAYS_PER_MONTH / blended_price_usd_per_mtok * TOK_PER_MTOK


def spend_usd_per_month(tok_per_day: float, blended_price_usd_per_mtok: float) -> float:
    """Monthly API bill for a daily token volume; the inverse of tok_per_day_for_spend.

    >>> round(spend_usd_per_month(5e6, 6.6))
    1004
    """
    return tok_per_day * blended_price_usd_per_mtok / TOK_PER_MTOK * DAYS_PER_MONTH
