"""Load the dated price tables: ``data/api_prices.csv`` and ``data/gpu_prices.csv``.

Rows become the validated types of :mod:`selfhost.prices`. Beyond the manifest's checks
(types, ranges, choices, one row per key, the file's sha256: :mod:`selfhost.data.tables`),
the API loader checks each row against the others: a cached price above the input price,
a batch price above the list price, an output price below the input price, or a price far
from its tier's median (a price per 1k tokens entered as per million) is refused, naming
the file, row and column. Reads files.
"""

from __future__ import annotations

import statistics
from pathlib import Path

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
