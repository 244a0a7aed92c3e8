"""Validated price types (style: a price is a type, not a bare float). Pure; no I/O.

:class:`ApiPrice` is one API's list price (uncached, cached and batch input, output),
:class:`GpuPrice` one GPU's rental price per GPU-hour; each carries where it was read
(``source``), when this project read it (``retrieved``) and the date of the copy it was
read from (``copy_date``), which is what dates the price. :func:`copy_dates` says, for a
set of prices, which copies they rest on (for a verdict's ``data`` evidence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from selfhost.costs import blended_usd_per_mtok
from selfhost.errors import ParameterError
from selfhost.params import check_choice, check_number

#: The API tiers and statuses the price table knows.
API_TIERS = ("frontier", "hosted-open")
API_STATUSES = ("current", "legacy")


@dataclass(frozen=True)
class ApiPrice:
    """One API's list price, with where and when it was read.

    Parameters
    ----------
    provider, model : str
        Who sells it and under which model name.
    tier : str
        One of :data:`API_TIERS`.
    status : str
        One of :data:`API_STATUSES`.
    input_usd_per_mtok : float
        Uncached input tokens [USD/Mtok].
    output_usd_per_mtok : float
        Output tokens [USD/Mtok].
    cached_input_usd_per_mtok : float or None
        Cache hits [USD/Mtok]; None where the provider does not price them.
    source : str
        Address the figures were read from.
    retrieved : datetime.date
        When this project read them.
    batch_input_usd_per_mtok, batch_output_usd_per_mtok : float or None
        Batch-API prices [USD/Mtok]; None where the provider has no batch API.
    copy_date : datetime.date or None
        The date of the copy the figures were read from.
    """

    provider: str
    model: str
    tier: str
    status: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cached_input_usd_per_mtok: float | None
    source: str
    retrieved: dt.date
    batch_input_usd_per_mtok: float | None = None
    batch_output_usd_per_mtok: float | None = None
    copy_date: dt.date | None = None

    def __post_init__(self) -> None:
        check_choice(f"{self.key}.tier", self.tier, API_TIERS)
        check_choice(f"{self.key}.status", self.status, API_STATUSES)
        check_number(f"{self.key}.input_usd_per_mtok", self.input_usd_per_mtok, gt=0, finite=True)
        check_number(f"{self.key}.output_usd_per_mtok", self.output_usd_per_mtok, gt=0, finite=True)
        for name in ("cached_input_usd_per_mtok", "batch_input_usd_per_mtok", "batch_output_usd_per_mtok"):
            value = getattr(self, name)
            if value is not None:
                check_number(f"{self.key}.{name}", value, gt=0, finite=True)
        if (self.batch_input_usd_per_mtok is None) != (self.batch_output_usd_per_mtok is None):
            raise ParameterError(f"{self.key}.batch_output_usd_per_mtok", self.batch_output_usd_per_mtok,
                                 "a batch output price exactly when there is a batch input price")

    @property
    def key(self) -> str:
        """``provider/model``, the name the CLI and notebooks look prices up by."""
        return f"{self.provider}/{self.model}"

    @property
    def has_batch(self) -> bool:
        """Whether the provider has a batch API for the model."""
        return self.batch_input_usd_per_mtok is not None

    def blended_usd_per_mtok(self, input_share: float, cached_share: float = 0.0, batch: bool = False) -> float:
        """Blended price for an input/output split [USD/Mtok] (see costs.blended_usd_per_mtok).

        ``cached_share`` of the input is billed at the cached price where the row has one
        (else at the input price: the provider does not discount cache hits). ``batch``
        uses the batch prices (the cache discount then applies to the batch input price
        in the same proportion); a row without a batch API refuses it.
        """
        p_in, p_out = self.input_usd_per_mtok, self.output_usd_per_mtok
        cached = self.cached_input_usd_per_mtok
        if batch:
            if self.batch_input_usd_per_mtok is None or self.batch_output_usd_per_mtok is None:
                raise ParameterError(f"{self.key}.batch", True, f"an API with a batch price ({self.key} has none)")
            scale = self.batch_input_usd_per_mtok / p_in
            p_in, p_out = self.batch_input_usd_per_mtok, self.batch_output_usd_per_mtok
            cached = cached * scale if cached is not None else None
        if cached is None:
            return blended_usd_per_mtok(p_in, p_out, input_share)
        return blended_usd_per_mtok(p_in, p_out, input_share, cached, cached_share)


#: The pricing kinds the rental table knows.
GPU_PRICING_KINDS = ("on-demand", "spot", "community", "reserved")


@dataclass(frozen=True)
class GpuPrice:
    """One GPU rental price, per GPU-hour, with where and when it was read.

    Parameters
    ----------
    gpu : str
        GPU model and memory, e.g. ``a100-80gb`` (the key of ``data/gpus.csv``).
    provider : str
        Cloud or marketplace (``market-survey`` where the source names none).
    pricing : str
        One of :data:`GPU_PRICING_KINDS`.
    gpu_usd_per_hour : float
        Price of one GPU for one hour [USD/h].
    gpus_per_instance : int
        GPUs in the instance the price was quoted for [1].
    source : str
        Address the figure was read from.
    retrieved : datetime.date
        When this project read it.
    copy_date : datetime.date or None
        The date of the copy the figure was read from; None where the copy shows none.
    """

    gpu: str
    provider: str
    pricing: str
    gpu_usd_per_hour: float
    gpus_per_instance: int
    source: str
    retrieved: dt.date
    copy_date: dt.date | None = None

    def __post_init__(self) -> None:
        check_number(f"{self.key}.gpu_usd_per_hour", self.gpu_usd_per_hour, gt=0, finite=True)
        check_choice(f"{self.key}.pricing", self.pricing, GPU_PRICING_KINDS)

    @property
    def key(self) -> str:
        """``gpu/pricing/provider``, the name a price is looked up by."""
        return f"{self.gpu}/{self.pricing}/{self.provider}"


def copy_dates(prices: Iterable[ApiPrice | GpuPrice]) -> str:
    """Which copies a set of prices rests on, in words: ``"copies dated 2026-03-21 to 2026-11-18"``.

    >>> import datetime as dt
    >>> a = GpuPrice("a100-80gb", "x", "spot", 1.0, 1, "s", dt.date(2026, 12, 2), dt.date(2026, 3, 1))
    >>> b = GpuPrice("a100-80gb", "y", "spot", 1.0, 1, "s", dt.date(2026, 12, 2), None)
    >>> copy_dates([a, b])
    'copies dated 2026-03-01 (1 copy undated), read 2026-12-02'
    """
    rows = list(prices)
    dated = sorted(p.copy_date for p in rows if p.copy_date is not None)
    read = sorted({p.retrieved for p in rows})
    undated = len(rows) - len(dated)
    if dated:
        span = dated[0].isoformat() if dated[0] == dated[-1] else f"{dated[0].isoformat()} to {dated[-1].isoformat()}"
        text = f"copies dated {span}"
    else:
        text = "copies undated"
    if undated and dated:
        text += f" ({undated} cop{'y' if undated == 1 else 'ies'} undated)"
    reads = read[0].isoformat() if len(read) == 1 else f"{read[0].isoformat()} to {read[-1].isoformat()}"
    return f"{text}, read {reads}" if read else text
