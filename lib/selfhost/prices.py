"""Validated price types (style: a price is a type, not a bare float). Pure; no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from selfhost.costs import blended_usd_per_mtok
from selfhost.params import check_choice, check_number


@dataclass(frozen=True)
class ApiPrice:
    """One API's list price, with where and when it was read.

    Parameters
    ----------
    provider, model : str
        Who sells it and under which model name.
    tier : str
        ``frontier`` or ``hosted-open``.
    status : str
        ``current`` or ``legacy``.
    input_usd_per_mtok : float
        Uncached input tokens [USD/Mtok].
    output_usd_per_mtok : float
        Output tokens [USD/Mtok].
    cached_input_usd_per_mtok : float or None
        Cache hits [USD/Mtok]; None where the provider does not price them.
    source : str
        Address the figures were read from.
    retrieved : datetime.date
        When they were read.
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

    def __post_init__(self) -> None:
        check_number(f"{self.key}.input_usd_per_mtok", self.input_usd_per_mtok, gt=0)
        check_number(f"{self.key}.output_usd_per_mtok", self.output_usd_per_mtok, gt=0)
        if self.cached_input_usd_per_mtok is not None:
            check_number(f"{self.key}.cached_input_usd_per_mtok", self.cached_input_usd_per_mtok, gt=0)

    @property
    def key(self) -> str:
        """``provider/model``, the name the CLI and notebooks look prices up by."""
        return f"{self.provider}/{self.model}"

    def blended_usd_per_mtok(self, input_share: float, cached_share: float = 0.0) -> float:
        """Blended price for an input/output split [USD/Mtok] (see costs.blended_usd_per_mtok)."""
        return blended_usd_per_mtok(
            self.input_usd_per_mtok, self.output_usd_per_mtok, input_share,
            self.cached_input_usd_per_mtok, cached_share,
        )


#: GPU names the rental table knows, and the pricing kinds.
GPU_PRICING_KINDS = ("on-demand", "spot", "community", "reserved")


@dataclass(frozen=True)
class GpuPrice:
    """One GPU rental price, per GPU-hour, with where and when it was read.

    Parameters
    ----------
    gpu : str
        GPU model and memory, e.g. ``a100-80gb``.
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
        When it was read.
    """

    gpu: str
    provider: str
    pricing: str
    gpu_usd_per_hour: float
    gpus_per_instance: int
    source: str
    retrieved: dt.date

    def __post_init__(self) -> None:
        check_number(f"{self.key}.gpu_usd_per_hour", self.gpu_usd_per_hour, gt=0)
        check_choice(f"{self.key}.pricing", self.pricing, GPU_PRICING_KINDS)

    @property
    def key(self) -> str:
        """``gpu/pricing/provider``, the name a price is looked up by."""
        return f"{self.gpu}/{self.pricing}/{self.provider}"
