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
from selfhost.errors import DataError, ParameterError
from selfhost.gpus import Gpu
from selfhost.verdicts import Evidence

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


def default_serving_efficiency(path: str | Path = "published_serving", gpu: Gpu | str | None = None,
                               generation: str | None = None) -> roofline.Efficiency:
    """The engine efficiency the capacity model uses by default.

    For ``gpu`` (a :class:`~selfhost.gpus.Gpu` or its name), or a ``generation``
    (``Ampere``, ``Hopper``), the fit of that generation where the measurements support
    one; without either, the fit over every generation.
    """
    return serving_calibration(path).efficiency(generation or _generation(gpu))


def serving_efficiency_range(path: str | Path = "published_serving", gpu: Gpu | str | None = None,
                             generation: str | None = None) -> tuple[roofline.Efficiency, roofline.Efficiency]:
    """The plausible range of the engine efficiency: (lowest, highest) share the modelled measurements imply, fitted
    and held out alike (:meth:`selfhost.capacity.Calibration.range`).

    Per generation of ``gpu`` where it has its own fit (else over every generation): the
    calibration's spread, the range a verdict that rests on the capacity model is held against.
    """
    return serving_calibration(path).range(generation or _generation(gpu))


def published_serving_implied(path: str | Path = "published_serving") -> pd.DataFrame:
    """The calibration table: one row per published figure with its prediction, implied share and residual."""
    return serving_calibration(path).frame()


def serving_evidence(generation: str | None = None, path: str | Path = "published_serving") -> tuple[Evidence, ...]:
    """The evidence a capacity verdict rests on: the calibrated model and the published measurements (whose, when)."""
    cal = serving_calibration(path)
    summary = cal.residual_summary()
    rows = load_rows(path)
    publishers: dict[str, set[str]] = {}
    for r in rows:
        when = r["published"].isoformat() if r["published"] else f"undated, read {r['retrieved'].isoformat()}"
        publishers.setdefault(r["publisher"], set()).add(when)
    whose = "; ".join(f"{p} ({', '.join(sorted(d))})" for p, d in publishers.items())
    return (
        Evidence("model", f"the roofline (selfhost.roofline) at the engine efficiency calibrated on "
                          f"data/published_serving.csv: {cal.basis(generation)}; on the "
                          f"{summary['held_out_rows_count']:.0f} measurements kept out of the fit its median error is "
                          f"{summary['held_out_median_abs_residual_share']:.0%}"),
        Evidence("published", f"{len(rows)} published serving figures: {whose}"),
        Evidence("data", "GPU peaks from data/gpus.csv (datasheet copies read 2026-11-27 and 2026-12-02), vLLM's "
                         "overheads from data/vllm_overheads.csv, model shapes from data/models/ (config.json copies "
                         "read 2026-11-27)"),
    )


def ttft_deployments(items: list, compute_share: float | None = None,
                     what: str = "deployments") -> list[capacity.TtftDeployment]:
    """Each ``"model:GPU:precision[:GPUs]"`` of a page's list as a :class:`selfhost.capacity.TtftDeployment`.

    Each at its GPU generation's calibrated efficiency; ``compute_share`` given replaces
    the compute share of every deployment.
    """
    from selfhost.data.hardware import parse_model_deployment

    if not isinstance(items, list) or not items:
        raise ParameterError(what, items, "a non-empty list of 'model:GPU:precision[:GPUs]' strings")
    out = []
    for item in items:
        name, gpu, dtype, n = parse_model_deployment(item, what)
        spec = load_model_spec(name)
        spec.check_tp(n)
        eff = default_serving_efficiency(gpu=gpu)
        if compute_share is not None:
            eff = roofline.Efficiency(eff.bandwidth_share, compute_share)
        label = f"{name} on {n} x {gpu.gpu} ({dtype})" if n > 1 else f"{name} on {gpu.gpu} ({dtype})"
        out.append(capacity.TtftDeployment(label, spec, gpu.device(dtype, n), dtype, gpu.max_num_batched_tokens, eff,
                                           gpu.generation))
    return out


def efficiency_for(gpu: Gpu) -> roofline.Efficiency:
    """The calibrated efficiency of ``gpu``'s generation (:func:`default_serving_efficiency`), as a one-argument function."""
    return default_serving_efficiency(gpu=gpu)
