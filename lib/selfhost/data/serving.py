"""The published serving measurements (``data/published_serving.csv``) the capacity model is
calibrated on, read with the models and GPUs they name, and the calibration over them.
Reads files; the fit itself is :func:`selfhost.capacity.calibrate`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from selfhost import capacity, roofline
from selfhost.data.hardware import load_gpus, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.data.tables import load_rows, sha256_of, table_path
from selfhost.errors import DataError
from selfhost.gpus import Gpu

_CACHE: dict[tuple[str, str], capacity.Calibration] = {}


def _whole_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)  # type: ignore[call-overload]


def published_measurements(path: str | Path = "published_serving") -> list[capacity.Measurement]:
    """``data/published_serving.csv`` as :class:`selfhost.capacity.Measurement` rows (GPUs and models resolved)."""
    rows = load_rows(path)
    gpus = load_gpus()
    specs = {}
    out = []
    for i, row in enumerate(rows, start=1):
        if row["gpu"] not in gpus:
            raise DataError(table_path(path), f"gpu {row['gpu']!r} is not in data/gpus.csv", row=i, column="gpu")
        if row["model"] not in specs:
            specs[row["model"]] = load_model_spec(row["model"])
        out.append(capacity.Measurement(
            row["result_id"], row["engine"], gpus[row["gpu"]], specs[row["model"]], row["weight_dtype"],
            row["gpu_count"], row["metric"], row["value"], _whole_or_none(row["concurrency"]),
            _whole_or_none(row["input_tokens"]), _whole_or_none(row["output_tokens"]), bool(row["holdout"]),
            row["kv_cache_dtype"]))
    return out


def serving_calibration(path: str | Path = "published_serving") -> capacity.Calibration:
    """The engine efficiency fitted on the published measurements (:func:`selfhost.capacity.calibrate`).

    Kept for the life of the process, keyed by the table's sha256 (it takes a second or two).
    """
    csv = table_path(path)
    key = (str(csv), sha256_of(csv))
    if key not in _CACHE:
        _CACHE[key] = capacity.calibrate(published_measurements(path), load_vllm_overheads())
    return _CACHE[key]


def _generation(gpu: Gpu | str | None) -> str | None:
    if gpu is None:
        return None
    if isinstance(gpu, Gpu):
        return gpu.generation
    from selfhost.data.hardware import gpu_by_name

    return gpu_by_name(gpu).generation


def default_serving_efficiency(path: str | Path = "published_serving", gpu: Gpu | str | None = None) -> roofline.Efficiency:
    """The engine efficiency the capacity model uses by default.

    For ``gpu`` (a :class:`~selfhost.gpus.Gpu` or its name) the fit of its generation
    where the measurements support one; without it, the fit over every generation.
    """
    return serving_calibration(path).efficiency(_generation(gpu))


def serving_efficiency_range(path: str | Path = "published_serving",
                             gpu: Gpu | str | None = None) -> tuple[roofline.Efficiency, roofline.Efficiency]:
    """The plausible range of the engine efficiency: (lowest, highest) share the fitted measurements imply.

    Per generation of ``gpu`` where it has its own fit (else over every generation): the
    calibration's spread, the range a verdict that rests on the capacity model is held against.
    """
    return serving_calibration(path).range(_generation(gpu))


def published_serving_implied(path: str | Path = "published_serving") -> pd.DataFrame:
    """The calibration table: one row per published figure with its prediction, implied share and residual."""
    return serving_calibration(path).frame()
