"""Our API price table beside genai-prices (pydantic's maintained price data): the models both cover.

Imported by tests/data/test_prices.py. ``MAPPING`` names, for each of our rows that
genai-prices also covers, its provider and model id there, and whether the row is a
time-of-day (peak) rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAPPING: dict[str, tuple[str, str, bool]] = {
    "anthropic/claude-fable-5.2": ("anthropic", "claude-fable-5-2", False),
    "anthropic/claude-opus-5.5": ("anthropic", "claude-opus-5-5", False),
    "anthropic/claude-sonnet-5.5": ("anthropic", "claude-sonnet-5-5", False),
    "anthropic/claude-haiku-5.5": ("anthropic", "claude-haiku-5-5", False),
    "anthropic/claude-opus-4.6": ("anthropic", "claude-opus-4-6", False),
    "anthropic/claude-sonnet-4.6": ("anthropic", "claude-sonnet-4-6", False),
    "anthropic/claude-haiku-4.5": ("anthropic", "claude-haiku-4-5", False),
    "anthropic/claude-opus-4.1": ("anthropic", "claude-opus-4-1", False),
    "openai/gpt-6-luna": ("openai", "gpt-6-luna", False),
    "openai/gpt-6-astra": ("openai", "gpt-6-astra", False),
    "openai/gpt-6.1-sol": ("openai", "gpt-6.1-sol", False),
    "openai/gpt-5": ("openai", "gpt-5", False),
    "google/gemini-4-argon": ("google", "gemini-4-argon", False),
    "google/gemini-3.8-flash": ("google", "gemini-3.8-flash", False),
    "groq/llama-3.3-70b-versatile": ("groq", "llama-3.3-70b-versatile", False),
    "groq/gpt-oss-120b": ("groq", "openai/gpt-oss-120b", False),
    "together/llama-3.3-70b-instruct-turbo": ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", False),
    "fireworks/gpt-oss-120b": ("fireworks", "gpt-oss-120b", False),
    "fireworks/qwen3-235b-a22b": ("fireworks", "qwen3-235b-a22b", False),
    "fireworks/deepseek-v3.2": ("fireworks", "deepseek-v3p2", False),
    "deepseek/deepseek-v4-pro": ("deepseek", "deepseek-v4-pro", True),
    "deepseek/deepseek-v4-pro-offpeak": ("deepseek", "deepseek-v4-pro", False),
    "deepseek/deepseek-flash": ("deepseek", "deepseek-flash", True),
    "deepseek/deepseek-flash-offpeak": ("deepseek", "deepseek-flash", False),
}
#: genai-prices field -> our column.
FIELDS = {"input_mtok": "input_usd_per_mtok", "output_mtok": "output_usd_per_mtok",
          "cache_read_mtok": "cached_input_usd_per_mtok"}


@dataclass(frozen=True)
class Disagreement:
    model: str
    column: str
    ours: float | None
    theirs: float | None


def _number(value: object) -> float | None:
    if value is None:
        return None
    base = getattr(value, "base", value)  # TieredPrices: the first tier
    return float(base)  # type: ignore[arg-type]


def genai_price(provider_id: str, model_id: str, on: dt.date, peak: bool) -> dict[str, float | None]:
    """The genai-prices figures for a model in effect on a date (the time-of-day rate when ``peak``)."""
    import genai_prices.data as gp

    provider = next(p for p in gp.providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    prices = model.prices
    chosen = prices
    if isinstance(prices, list):
        chosen = None
        for conditional in prices:
            c = conditional.constraint
            kind = type(c).__name__ if c is not None else None
            if kind is None and not peak and chosen is None:
                chosen = conditional.prices
            elif kind == "StartDateConstraint" and c.start_date <= on and not peak:
                chosen = conditional.prices
            elif kind == "TimeOfDateConstraint" and peak:
                chosen = conditional.prices
        assert chosen is not None, f"{provider_id}/{model_id}: no price for {on} (peak={peak})"
    return {field: _number(getattr(chosen, field, None)) for field in FIELDS}


def disagreements(prices: list, on: dt.date) -> list[Disagreement]:
    """Every field where our row and genai-prices differ by more than half a cent per Mtok, or one has none."""
    out = []
    by_key = {p.key: p for p in prices}
    for key, (provider_id, model_id, peak) in MAPPING.items():
        if key not in by_key:
            continue
        theirs = genai_price(provider_id, model_id, on, peak)
        for field, column in FIELDS.items():
            ours = getattr(by_key[key], column)
            other = theirs[field]
            if ours is None and other is None:
                continue
            if ours is None or other is None or abs(ours - other) > 5e-4:
                out.append(Disagreement(key, column, ours, other))
        batch = genai_batch_price(provider_id, model_id, on)
        for field, column in (("input_mtok", "batch_input_usd_per_mtok"), ("output_mtok", "batch_output_usd_per_mtok")):
            ours = getattr(by_key[key], column)
            other = batch.get(field)
            if (ours is None) != (other is None) or (ours is not None and other is not None and abs(ours - other) > 5e-4):
                out.append(Disagreement(key, column, ours, other))
    return out


def genai_batch_price(provider_id: str, model_id: str, on: dt.date) -> dict[str, float | None]:
    """genai-prices' batch variant of a model in effect on a date (empty where it has none)."""
    import genai_prices.data as gp

    provider = next(p for p in gp.providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    best = None
    for variant in model.price_variants or ():
        when = dict(variant.when or {})
        if when.get("processing") != "batch" and when.get("service_tier") != "batch":
            continue
        start = getattr(variant.constraint, "start_date", dt.date.min) if variant.constraint else dt.date.min
        if start <= on and (best is None or start >= best[0]):
            best = (start, variant.prices)
    if best is None:
        return {}
    return {field: _number(getattr(best[1], field, None)) for field in ("input_mtok", "output_mtok")}
