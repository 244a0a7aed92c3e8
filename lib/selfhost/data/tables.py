"""Read the CSV tables in ``data/`` and validate them against their manifests.

Every table ``data/NAME.csv`` has a manifest ``data/NAME.meta.yaml`` beside it: what the
table is, its licence, the sha256 of the CSV, the pages that use it, a schema of its
columns (type, unit, allowed range or choices) and, optionally, the ``key`` columns that
name a row once. Every row carries its own ``source`` and ``retrieved`` date. Loading
refuses, with a DataError naming the file (and the row and column where there is one):
a cell that breaks the schema, a row with more cells than the header, two rows with the
same key (naming both), and a file whose sha256 is not the one its manifest records (an
edit nobody checked in). Nothing is coerced or dropped silently.

This module reads files; the loaders of each kind of table (:mod:`selfhost.data.prices`,
:mod:`selfhost.data.hardware`, ...) build on it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from selfhost import units
from selfhost.errors import DataError
from selfhost.paths import data_dir

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
    key: tuple[str, ...] = ()


def manifest_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name.removesuffix(".csv") + ".meta.yaml")


def read_manifest(csv_path: Path) -> Manifest:
    """Read and check the manifest beside ``csv_path``."""
    path = manifest_path(csv_path)
    if not path.exists():
        raise DataError(csv_path, f"no manifest: expected {path.name} beside it")
    raw = read_yaml(path)
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
            suffix = units.suffix_for_label(unit)
            if suffix is None:
                raise DataError(path, f"unknown unit {unit!r}; known: {sorted(units.LABELS)}", column=name)
            if not name.endswith(suffix):
                raise DataError(path, f"unit {unit} needs a name ending in {suffix!r}", column=name)
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
    key = raw.get("key", [])
    if not isinstance(key, list) or not all(isinstance(k, str) and k in names for k in key):
        raise DataError(path, f"key must be a list of column names, got {key!r}")
    return Manifest(path, raw["title"], raw["licence"], raw["sha256"], tuple(raw["used_by"]), tuple(columns),
                    tuple(key))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_path(name_or_path: str | Path) -> Path:
    """``data/NAME.csv`` for a table name; a path ending in .csv is taken as it is."""
    path = Path(name_or_path)
    return path if path.suffix == ".csv" else data_dir() / f"{name_or_path}.csv"


def load_rows(name_or_path: str | Path) -> list[dict[str, Any]]:
    """The rows of ``data/NAME.csv`` (or a given path), validated against its manifest.

    Cells are typed: float, int, bool, ``datetime.date``; an empty optional cell is None.
    Lines starting with ``#`` are comments.
    """
    path = table_path(name_or_path)
    if not path.exists():
        raise DataError(path, "file not found")
    manifest = read_manifest(path)
    rows = load_rows_from(path, manifest)
    check_sha256(path, manifest)
    return rows


def check_sha256(path: Path, manifest: Manifest) -> None:
    """Refuse a table whose bytes are not the ones its manifest's ``sha256`` records.

    An edited table must be checked in with its manifest (``sha256sum data/NAME.csv``, or
    :func:`append_rows`, which updates it): a table changed behind its manifest's back
    would move the book's numbers with nobody having looked.
    """
    actual = sha256_of(path)
    if actual != manifest.sha256:
        raise DataError(path, f"its sha256 is {actual}, not the {manifest.sha256} that {manifest.path.name} "
                              "records: the table was changed without its manifest (check the change, then put the "
                              "new sha256 in the manifest)")


def load_table(name_or_path: str | Path) -> pd.DataFrame:
    """:func:`load_rows` as a DataFrame (empty optional numbers become NaN there)."""
    path = table_path(name_or_path)
    rows = load_rows(path)
    return pd.DataFrame(rows, columns=[c.name for c in read_manifest(path).columns])


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


def read_yaml(path: Path) -> Any:
    """A YAML file's content; a DataError names the file when it is missing or malformed."""
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML: {exc}") from exc


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def append_rows(name_or_path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Append ``rows`` to ``data/NAME.csv`` after validating each against the manifest; update its sha256.

    The only writer of the tables in ``data/``: every cell is checked as :func:`load_rows`
    would read it back (type, unit range, allowed values, a source and a date), the whole
    table is then re-read, and only then is the file replaced (written beside it and
    renamed, so a failure leaves the old table whole). The manifest's ``sha256`` line is
    updated to the new file's. Existing rows are never changed.
    """
    path = table_path(name_or_path)
    if not path.exists():
        raise DataError(path, "file not found")
    manifest = read_manifest(path)
    names = [c.name for c in manifest.columns]
    existing = len(load_rows(path))
    lines = []
    for i, row in enumerate(rows, start=existing + 1):
        unknown = sorted(set(row) - set(names))
        if unknown:
            raise DataError(path, f"columns not in the manifest: {unknown}", row=i)
        for column in manifest.columns:
            _parse_cell(path, i, column, _cell_text(row.get(column.name)))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([_cell_text(row.get(n)) for n in names])
        lines.append(buffer.getvalue())
    text = path.read_text()
    if text and not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "".join(lines))
    try:
        load_rows_from(tmp, manifest)
    except DataError:
        tmp.unlink()
        raise
    tmp.replace(path)
    digest = sha256_of(path)
    meta = manifest.path.read_text()
    manifest.path.write_text(re.sub(r"(?m)^sha256: *[0-9a-f]*$", f"sha256: {digest}", meta, count=1))
    return path


def load_rows_from(path: Path, manifest: Manifest) -> list[dict[str, Any]]:
    """The rows of a CSV file checked against a given manifest (:func:`load_rows` reads the one beside the file)."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(row for row in handle if not row.startswith("#"))
        header = reader.fieldnames or []
        expected = [c.name for c in manifest.columns]
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        if missing or extra:
            raise DataError(path, f"header does not match the manifest: missing {missing}, unexpected {extra}")
        rows = []
        seen: dict[tuple, int] = {}
        for i, raw in enumerate(reader, start=1):
            extra_cells = raw.get(None)
            if extra_cells:
                raise DataError(path, f"{len(extra_cells)} cell(s) more than the header's {len(header)} columns: "
                                f"{extra_cells!r} (a comma inside an unquoted cell?)", row=i)
            row = {c.name: _parse_cell(path, i, c, raw.get(c.name)) for c in manifest.columns}
            if manifest.key:
                key = tuple(row[k] for k in manifest.key)
                if key in seen:
                    named = ", ".join(f"{k}={v}" for k, v in zip(manifest.key, key))
                    raise DataError(path, f"rows {seen[key]} and {i} both have {named}: a table names each "
                                    f"({', '.join(manifest.key)}) once", row=i)
                seen[key] = i
            rows.append(row)
        return rows
