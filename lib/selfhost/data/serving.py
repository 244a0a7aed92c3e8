"""Load the published serving measurements (``data/published_serving.csv``) the capacity model is
calibrated on, with the models and GPUs they name. Reads files; the analysis is
:func:`selfhost.capacity.published_implied`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from selfhost import capacity, roofline
from selfhost.data.hardware import load_gpus
from selfhost.data.models import load_model_spec
from selfhost.data.tables import load_table, table_path
from selfhost.errors import DataError


def published_serving_implied(path: str | Path = "published_serving") -> pd.DataFrame:
    """``data/published_serving.csv`` beside the roofline: :func:`selfhost.capacity.published_implied` over it."""
    table = load_table(path)
    gpus = load_gpus()
    unknown = sorted(set(table["gpu"]) - set(gpus))
    if unknown:
        raise DataError(table_path(path), f"gpus not in data/gpus.csv: {unknown}", column="gpu")
    specs = {name: load_model_spec(name) for name in sorted(set(table["model"]))}
    return capacity.published_implied(table, gpus, specs)


def default_serving_efficiency(path: str | Path = "published_serving") -> roofline.Efficiency:
    """The engine efficiency the capacity model uses by default: medians of the published GPU
    measurements (:func:`selfhost.capacity.efficiency_from`)."""
    t = published_serving_implied(path)
    return capacity.efficiency_from(zip(t["kind"], t["implied_x"], t["concurrency"]))


def serving_efficiency_range(path: str | Path = "published_serving") -> tuple[roofline.Efficiency, roofline.Efficiency]:
    """The plausible range of the engine efficiency: (lowest, highest) the published measurements imply.

    Each share taken over the same measurements :func:`default_serving_efficiency` takes its
    median of; the range a verdict that rests on the capacity model is held against.
    """
    t = published_serving_implied(path)
    return capacity.efficiency_bounds(zip(t["kind"], t["implied_x"], t["concurrency"]))
