"""Load the CSV tables in ``data/`` and validate them against their manifests.

Every table ``data/NAME.csv`` has a manifest ``data/NAME.meta.yaml`` beside it: what the
table is, its licence, the sha256 of the CSV, the pages that use it, and a schema of its
columns (type, unit, allowed range). Every row carries its own ``source`` and
``retrieved`` date. A row that breaks the schema fails loading with a DataError naming
the file, the row and the column; nothing is coerced silently.

This module does file I/O; the formula modules never import it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from selfhost.errors import DataError
from selfhost.prices import ApiPrice
from selfhost.paths import data_dir

#: Units a column may declare, and the suffix its name must then end with (style rule 3).
KNOWN_UNITS: dict[str, str] = {
    "USD/Mtok": "_usd_per_mtok",
    "USD/h": "_usd_per_hour",
    "USD/month": "_usd_per_month",
    "tok/day": "_tok_per_day",
    "tok/s": "_tok_per_s",
    "GiB": "_gib",
    "GB": "_gb",
    "TB/s": "_tb_per_s",
    "TFLOP/s": "_tflop_per_s",
    "ms": "_ms",
    "s": "_s",
    "1": "",
}
TYPES = ("str", "float", "int", "bool", "date")
#: Every row of every table names where its figures come from, and when they were read.
PROVENANCE_COLUMNS = ("source", "retrieved")


@dataclass(frozen=True)
class Column:
    """One column of a table's schema, as its manifest declares it."""

    name: str
    type: str
    unit: str | None = None
    required: bool = True
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Manifest:
    """A table's manifest (``NAME.meta.yaml``)."""

    path: Path
    title: str
    licence: str
    sha256: str
    used_by: tuple[str, ...]
    columns: tuple[Column, ...]


def manifest_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name.removesuffix(".csv") + ".meta.yaml")


def read_manifest(csv_path: Path) -> Manifest:
    """Read and check the manifest beside ``csv_path``."""
    path = manifest_path(csv_path)
    if not path.exists():
        raise DataError(csv_path, f"no manifest: expected {path.name} beside it")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(path, "expected a mapping at the top level")
    for key in ("title", "licence", "sha256", "used_by", "columns"):
        if key not in raw:
            raise DataError(path, f"missing key {key!r}")
    columns = []
    for name, spec in raw["columns"].items():
        spec = dict(spec or {})
        kind = spec.pop("type", None)
        if kind not in TYPES:
            raise DataError(path, f"type must be one of {TYPES}, got {kind!r}", column=name)
        unit = spec.pop("unit", None)
        if unit is not None:
            if unit not in KNOWN_UNITS:
                raise DataError(path, f"unknown unit {unit!r}; known: {sorted(KNOWN_UNITS)}", column=name)
            if not name.endswith(KNOWN_UNITS[unit]):
                raise DataError(path, f"unit {unit} needs a name ending in {KNOWN_UNITS[unit]!r}", column=name)
        allowed = spec.pop("allowed", None)
        try:
            columns.append(
                Column(name, kind, unit, allowed=tuple(allowed) if allowed else None, **spec)
            )
        except TypeError as exc:
            raise DataError(path, f"unknown schema key: {exc}", column=name) from exc
    names = [c.name for c in columns]
    for needed in PROVENANCE_COLUMNS:
        if needed not in names:
            raise DataError(path, f"the schema must have a {needed!r} column (every row's provenance)")
    return Manifest(path, raw["title"], raw["licence"], raw["sha256"], tuple(raw["used_by"]), tuple(columns))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_table(name_or_path: str | Path) -> pd.DataFrame:
    """Load ``data/NAME.csv`` (or a given path), validated against its manifest.

    Returns a DataFrame with typed columns: floats, ints, bools, ``datetime.date`` for
    dates, and None where an optional cell is empty.
    """
    path = Path(name_or_path)
    if path.suffix != ".csv":
        path = data_dir() / f"{name_or_path}.csv"
    if not path.exists():
        raise DataError(path, "file not found")
    manifest = read_manifest(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(row for row in handle if not row.startswith("#"))
        header = reader.fieldnames or []
        expected = [c.name for c in manifest.columns]
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        if missing or extra:
            raise DataError(path, f"header does not match the manifest: missing {missing}, unexpected {extra}")
        rows = [
            {c.name: _parse_cell(path, i, c, raw.get(c.name)) for c in manifest.columns}
            for i, raw in enumerate(reader, start=1)
        ]
    return pd.DataFrame(rows, columns=expected)


def _parse_cell(path: Path, row: int, column: Column, raw: str | None) -> Any:
    text = (raw or "").strip()
    if text == "":
        if column.required:
            raise DataError(path, "empty, but this column is required", row=row, column=column.name)
        return None
    try:
        value: Any
        if column.type == "str":
            value = text
        elif column.type == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
        elif column.type == "int":
            value = int(text)
        elif column.type == "bool":
            if text not in ("true", "false"):
                raise ValueError
            value = text == "true"
        else:
            value = dt.date.fromisoformat(text)
    except ValueError:
        raise DataError(path, f"{text!r} is not a valid {column.type}", row=row, column=column.name) from None
    if column.allowed is not None and value not in column.allowed:
        raise DataError(path, f"{text!r} is not one of {list(column.allowed)}", row=row, column=column.name)
    if column.type in ("float", "int"):
        bounds = (
            (column.ge, lambda v, b: v >= b, ">="),
            (column.gt, lambda v, b: v > b, ">"),
            (column.le, lambda v, b: v <= b, "<="),
        )
        for bound, ok, sign in bounds:
            if bound is not None and not ok(value, bound):
                unit = f" {column.unit}" if column.unit else ""
                raise DataError(path, f"{value:g}{unit} is out of range: must be {sign} {bound:g}", row=row, column=column.name)
    if column.type == "date" and value > dt.date.today():
        raise DataError(path, f"{value} lies in the future", row=row, column=column.name)
    return value


def load_api_prices(path: str | Path = "api_prices") -> list[ApiPrice]:
    """The API price table (``data/api_prices.csv``) as validated ApiPrice rows."""
    table = load_table(path)
    fields = ApiPrice.__dataclass_fields__
    return [ApiPrice(**{k: v for k, v in row.items() if k in fields}) for row in table.to_dict("records")]
