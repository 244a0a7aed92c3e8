"""Load the dated price tables: ``data/api_prices.csv`` and ``data/gpu_prices.csv``.

Rows become the validated types of :mod:`selfhost.prices`. Reads files.
"""

from __future__ import annotations

from pathlib import Path

from selfhost.data.tables import load_rows, table_path
from selfhost.errors import DataError
from selfhost.prices import ApiPrice, GpuPrice


def load_api_prices(path: str | Path = "api_prices") -> list[ApiPrice]:
    """The API price table (``data/api_prices.csv``) as validated ApiPrice rows."""
    fields = ApiPrice.__dataclass_fields__
    return [ApiPrice(**{k: v for k, v in row.items() if k in fields}) for row in load_rows(path)]


def load_gpu_prices(path: str | Path = "gpu_prices") -> list[GpuPrice]:
    """The GPU rental table (``data/gpu_prices.csv``) as validated GpuPrice rows.

    Beyond the manifest's checks, every ``source`` must be a web address and every
    (gpu, pricing, provider) must appear once, so that a look-up by name is unambiguous.
    """
    csv_path = table_path(path)
    fields = GpuPrice.__dataclass_fields__
    prices: list[GpuPrice] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(load_rows(csv_path), start=1):
        if not str(row["source"]).startswith(("http://", "https://")):
            raise DataError(csv_path, f"{row['source']!r} is not a web address", row=i, column="source")
        price = GpuPrice(**{k: v for k, v in row.items() if k in fields})
        if price.key in seen:
            raise DataError(csv_path, f"{price.key} already appears in row {seen[price.key]}", row=i, column="provider")
        seen[price.key] = i
        prices.append(price)
    return prices
