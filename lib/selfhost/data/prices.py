"""Load the dated price tables (``data/api_prices.csv``, ``data/gpu_prices.csv``) and what the cost pages build on them.

Rows become the validated types of :mod:`selfhost.prices`. Beyond the manifest's checks
(types, ranges, choices, one row per key, the file's sha256: :mod:`selfhost.data.tables`),
the API loader checks each row against the others: a cached price above the input price,
a batch price above the list price, an output price below the input price, or a price far
from its tier's median (a price per 1k tokens entered as per million) is refused, naming
the file, row and column. :func:`load_serving_setup`, :func:`load_trace_traffics`,
:func:`load_cost_ranges` and :func:`load_current_cases` gather what a cost page prices:
the model on its GPU, the traces' traffic, the plausible ranges, current GPUs. Reads files.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from selfhost.breakeven import (
    CostCase,
    CostRanges,
    ServingSetup,
    cheapest_gpu_prices,
    gpu_price_range,
    one_engineer_usd_per_month,
    trace_ranges,
    traffic_from_summary,
)
from selfhost.costs import Traffic
from selfhost.data.tables import load_rows, table_path
from selfhost.errors import DataError
from selfhost.prices import ApiPrice, GpuPrice

#: A list price more than this factor away from its tier's median is refused as a unit slip
#: [x]: the table's prices span about 80x within a tier; a per-1k slip is 1000x.
TIER_MEDIAN_FACTOR_X = 100.0


def load_api_prices(path: str | Path = "api_prices") -> list[ApiPrice]:
    """The API price table (``data/api_prices.csv``) as validated ApiPrice rows."""
    csv_path = table_path(path)
    fields = ApiPrice.__dataclass_fields__
    rows = load_rows(csv_path)
    prices = [ApiPrice(**{k: v for k, v in row.items() if k in fields}) for row in rows]
    for i, p in enumerate(prices, start=1):
        if p.cached_input_usd_per_mtok is not None and p.cached_input_usd_per_mtok > p.input_usd_per_mtok:
            raise DataError(csv_path, f"cached input ${p.cached_input_usd_per_mtok:g} is above the input price "
                            f"${p.input_usd_per_mtok:g}", row=i, column="cached_input_usd_per_mtok")
        if p.output_usd_per_mtok < p.input_usd_per_mtok:
            raise DataError(csv_path, f"output ${p.output_usd_per_mtok:g} is below input ${p.input_usd_per_mtok:g}: "
                            "columns swapped?", row=i, column="output_usd_per_mtok")
        for side in ("input", "output"):
            batch = getattr(p, f"batch_{side}_usd_per_mtok")
            if batch is not None and batch > getattr(p, f"{side}_usd_per_mtok"):
                raise DataError(csv_path, f"batch {side} ${batch:g} is above the list price", row=i,
                                column=f"batch_{side}_usd_per_mtok")
    for tier in sorted({p.tier for p in prices}):
        members = [(i, p) for i, p in enumerate(prices, start=1) if p.tier == tier]
        for column in ("input_usd_per_mtok", "output_usd_per_mtok"):
            median = statistics.median(getattr(p, column) for _, p in members)
            for i, p in members:
                value = getattr(p, column)
                if not median / TIER_MEDIAN_FACTOR_X <= value <= median * TIER_MEDIAN_FACTOR_X:
                    raise DataError(csv_path, f"${value:g}/Mtok is more than {TIER_MEDIAN_FACTOR_X:g}x from the "
                                    f"{tier} median (${median:g}/Mtok): a price per 1k tokens, or per token? This "
                                    "table is per million tokens", row=i, column=column)
    return prices


def load_gpu_prices(path: str | Path = "gpu_prices") -> list[GpuPrice]:
    """The GPU rental table (``data/gpu_prices.csv``) as validated GpuPrice rows.

    Beyond the manifest's checks (one row per gpu, provider and pricing kind among them),
    every ``source`` must be a web address.
    """
    csv_path = table_path(path)
    fields = GpuPrice.__dataclass_fields__
    prices: list[GpuPrice] = []
    for i, row in enumerate(load_rows(csv_path), start=1):
        if not str(row["source"]).startswith(("http://", "https://")):
            raise DataError(csv_path, f"{row['source']!r} is not a web address", row=i, column="source")
        prices.append(GpuPrice(**{k: v for k, v in row.items() if k in fields}))
    return prices


# ---------------------------------------------------------------------- what the cost pages load
def load_serving_setup(model: str, gpu: str, *, weight_dtype: str = "best", gpus_per_replica: int | None = None,
                       prompt_tokens: int = 512, slo_ttft_ms: float = 1000.0, slo_tpot_ms: float = 100.0,
                       kv_cache_dtype: str = "by-gpu") -> ServingSetup:
    """A :class:`selfhost.breakeven.ServingSetup` from names: the model (``data/models/``), the GPU
    (``data/gpus.csv``), vLLM's overheads and the engine efficiency calibrated for the GPU's generation."""
    from selfhost.capacity import kv_cache_dtype_for
    from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
    from selfhost.data.models import load_model_spec
    from selfhost.data.serving import default_serving_efficiency

    card = gpu_by_name(gpu)
    return ServingSetup(load_model_spec(model), card, load_vllm_overheads(), default_serving_efficiency(gpu=card),
                        weight_dtype, gpus_per_replica, prompt_tokens, slo_ttft_ms, slo_tpot_ms,
                        kv_cache_dtype_for(card, kv_cache_dtype))


def load_trace_traffics(names: Sequence[str] | None = None) -> dict[str, Traffic]:
    """Each committed trace summary (``data/traffic/``) as the cost model's traffic: its input share,
    peak-to-mean at 60 s (1 where unknown) and prefix-cache hit share (0 where the trace has no hashes)."""
    from selfhost.data.traffic import load_summary, summary_names

    out = {}
    for name in (summary_names() if not names else names):
        s = load_summary(name)
        out[name] = traffic_from_summary(name, s.input_share, s.peak_to_mean_x, s.prefix_hit_share)
    return out


def load_cost_ranges(setup: ServingSetup | None, gpu_key: str, traffics: Mapping[str, Traffic], *,
                     engineer_usd_per_year: float, monitoring_usd_per_month: float,
                     gpu_prices: Sequence[GpuPrice] | None = None) -> CostRanges:
    """The plausible ranges a cost verdict is held against, each with its source: the calibration's
    spread for the GPU's generation, 0 to one engineer, the dated table's prices for the GPU, the traces."""
    from selfhost.data.serving import serving_efficiency_range

    prices = list(gpu_prices) if gpu_prices is not None else load_gpu_prices()
    low, high = gpu_price_range(prices, gpu_key)
    eff_low = eff_high = None
    eff_source = ""
    if setup is not None:
        eff_low, eff_high = serving_efficiency_range(gpu=setup.gpu)
        eff_source = (f"the calibration's spread on {setup.gpu.generation or 'all'} GPUs "
                      "(data/published_serving.csv)")
    share_low, share_high, ptm_high, cached_high = trace_ranges(traffics)
    n = sum(p.gpu == gpu_key for p in prices)
    return CostRanges(
        eff_low, eff_high, eff_source,
        one_engineer_usd_per_month(engineer_usd_per_year, monitoring_usd_per_month),
        f"0 to one engineer (${engineer_usd_per_year:,.0f}/year) plus ${monitoring_usd_per_month:,.0f}/month of "
        "monitoring",
        low, high, f"the {n} prices of {gpu_key} in data/gpu_prices.csv",
        share_low, share_high, ptm_high, cached_high,
        "the traces in data/traffic/ (" + ", ".join(traffics) + ")")


def load_current_cases(gpus: Sequence[str], template: CostCase, kinds: Sequence[str] = ("on-demand",),
                       gpu_prices: Sequence[GpuPrice] | None = None) -> dict[str, CostCase]:
    """The template scenario on each GPU named (``data/gpus.csv``) at its cheapest price of ``kinds``
    (``data/gpu_prices.csv``), each at its own generation's calibrated efficiency."""
    from selfhost.data.hardware import gpu_by_name
    from selfhost.data.serving import default_serving_efficiency

    prices = list(gpu_prices) if gpu_prices is not None else load_gpu_prices()
    cheapest = cheapest_gpu_prices(prices, kinds)
    out = {}
    for name in gpus:
        card = gpu_by_name(name)
        if card.key not in cheapest:
            raise DataError(table_path("gpu_prices"), f"no {'/'.join(kinds)} price for {card.key}", column="gpu")
        setup = template.setup
        if setup is not None:
            setup = replace(setup, gpu=card, efficiency=default_serving_efficiency(gpu=card))
        price = cheapest[card.key]
        out[f"{card.gpu} ({price.provider} {price.pricing})"] = replace(template, setup=setup,
                                                                         gpu_usd_per_hour=price.gpu_usd_per_hour)
    return out
