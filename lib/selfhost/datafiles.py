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
from selfhost.prices import ApiPrice, GpuPrice
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
    "MiB": "_mib",
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
    with path.open(newline="") as handle:
        reader = csv.DictReader(row for row in handle if not row.startswith("#"))
        header = reader.fieldnames or []
        expected = [c.name for c in manifest.columns]
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        if missing or extra:
            raise DataError(path, f"header does not match the manifest: missing {missing}, unexpected {extra}")
        return [
            {c.name: _parse_cell(path, i, c, raw.get(c.name)) for c in manifest.columns}
            for i, raw in enumerate(reader, start=1)
        ]


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


# ---------------------------------------------------------------------- models and GPUs (C12, C13)
MODELS_DIR = "models"


@dataclass(frozen=True)
class Gpu:
    """One row of ``data/gpus.csv``; memory converted once, by name, from GB to GiB.

    ``nvidia_smi_total_gib`` (from ``data/gpu_reported_memory.csv``) and
    ``cuda_per_smi`` (CUDA's total over nvidia-smi's, measured on the cards that have
    both) are filled in by :func:`load_gpus`.
    """

    gpu: str
    key: str
    vendor: str
    memory_gb: float
    cuda_total_gib: float | None
    memory_bandwidth_tb_per_s: float
    bf16_dense_tflop_per_s: float | None
    fp8_dense_tflop_per_s: float | None
    source: str
    retrieved: dt.date
    nvidia_smi_total_gib: float | None = None
    cuda_per_smi: float | None = None

    @property
    def memory_gib(self) -> float:
        """Datasheet memory in GiB: ``memory_gb x 10^9 / 2^30`` [GiB]."""
        return self.memory_gb * 1e9 / 2**30

    @property
    def budget_gib(self) -> float:
        """Memory a vLLM budget starts from [GiB]; :attr:`budget_basis` says which reading.

        What CUDA reports where a source shows it; else nvidia-smi's total scaled by the
        CUDA / nvidia-smi ratio measured on other cards; else the datasheet in 10^9 bytes.
        """
        if self.cuda_total_gib is not None:
            return self.cuda_total_gib
        if self.nvidia_smi_total_gib is not None and self.cuda_per_smi is not None:
            return self.nvidia_smi_total_gib * self.cuda_per_smi
        return self.memory_gib

    @property
    def budget_basis(self) -> str:
        if self.cuda_total_gib is not None:
            return "CUDA-reported total (data/gpus.csv cuda_total_gib)"
        if self.nvidia_smi_total_gib is not None and self.cuda_per_smi is not None:
            return (f"nvidia-smi total x {self.cuda_per_smi:.4f}, CUDA's share of it on the cards that report both "
                    "(data/gpu_reported_memory.csv)")
        return "datasheet GB read as 10^9 bytes"


def load_gpus(path: str | Path = "gpus", reported: str | Path = "gpu_reported_memory") -> dict[str, Gpu]:
    """``data/gpus.csv`` as name -> Gpu (keyed by the display name), with reported totals joined."""
    fields = Gpu.__dataclass_fields__
    rows = load_rows(path)
    smi = {r["key"]: r["nvidia_smi_total_mib"] / 1024 for r in load_rows(reported)}
    unknown = sorted(set(smi) - {r["key"] for r in rows})
    if unknown:
        raise DataError(table_path(reported), f"keys not in {table_path(path).name}: {unknown}")
    both = [r["cuda_total_gib"] / smi[r["key"]] for r in rows if r["cuda_total_gib"] is not None and r["key"] in smi]
    ratio = min(both) if both else None  # the smallest share seen: the cautious reading
    return {
        row["gpu"]: Gpu(**{k: v for k, v in row.items() if k in fields},
                        nvidia_smi_total_gib=smi.get(row["key"]), cuda_per_smi=ratio)
        for row in rows
    }


def gpu_by_name(name: str, path: str | Path = "gpus") -> Gpu:
    """The GPU called ``name`` (display name or key, any case); the error lists known names."""
    gpus = load_gpus(path)
    wanted = name.strip().lower()
    for gpu in gpus.values():
        if wanted in (gpu.gpu.lower(), gpu.key.lower()):
            return gpu
    known = ", ".join(f"{g.gpu!r} ({g.key})" for g in gpus.values())
    raise DataError(table_path(path), f"unknown GPU {name!r}; known GPUs: {known}")


def models_manifest() -> dict[str, Any]:
    """``data/models/manifest.yaml``: file name -> its provenance and official parameter counts."""
    path = data_dir() / MODELS_DIR / "manifest.yaml"
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML: {exc}") from exc
    files = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(files, dict) or not files:
        raise DataError(path, "expected a 'files' mapping")
    for name, entry in files.items():
        for key in ("source", "retrieved", "sha256", "official_total_params", "official_active_params"):
            if key not in entry:
                raise DataError(path, f"entry {name} lacks {key!r}")
    return files


def model_names() -> list[str]:
    """Stems of the model configs in ``data/models/`` (``llama-4-scout``, ...)."""
    return [name.removesuffix(".json") for name in models_manifest()]


def load_model_config(name_or_path: str | Path) -> tuple[dict, Path]:
    """A model's config.json as a dict, and its path.

    ``name_or_path`` is a stem of ``data/models/`` (``llama-3.3-70b``) or a path to any
    config.json. A file of ``data/models/`` must match the sha256 its manifest records.
    Raises DataError naming the file when it is missing or not a JSON object.
    """
    import json

    candidate = Path(name_or_path)
    models = data_dir() / MODELS_DIR
    named = models / f"{name_or_path}.json"
    if str(name_or_path).endswith(".json") or "/" in str(name_or_path):
        if not candidate.exists():
            raise DataError(candidate, "file not found")
    elif named.exists():
        candidate = named
    else:
        raise DataError(named, f"no such model; known models: {', '.join(model_names())}")
    try:
        config = json.loads(candidate.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(candidate, f"not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise DataError(candidate, "a config.json must hold a JSON object")
    if candidate.resolve().parent == models.resolve():
        entry = models_manifest().get(candidate.name)
        if entry is None:
            raise DataError(candidate, "not listed in data/models/manifest.yaml")
        if sha256_of(candidate) != entry["sha256"]:
            raise DataError(candidate, "sha256 differs from data/models/manifest.yaml (update the manifest)")
    return config, candidate


def load_model_spec(name_or_path: str | Path):  # -> selfhost.modelspec.ModelSpec
    """A :class:`selfhost.modelspec.ModelSpec` from a model name or config path."""
    from selfhost.modelspec import from_config

    config, path = load_model_config(name_or_path)
    return from_config(config, path.stem, str(path))


def load_vllm_overheads(path: str | Path = "vllm_overheads"):  # -> selfhost.memory.Overheads
    """The default :class:`selfhost.memory.Overheads` from ``data/vllm_overheads.csv``."""
    from selfhost.memory import Overheads

    csv_path = table_path(path)
    rows = {row["quantity"]: row for row in load_rows(csv_path)}
    needed = ("activation_gib_per_ktok", "non_torch_gib", "non_torch_extra_gib_when_tp", "cuda_graph_gib")
    for name in needed:
        if name not in rows:
            raise DataError(csv_path, f"no row for {name!r}", column="quantity")
    width = rows["activation_gib_per_ktok"]["reference_width"]
    if width is None:
        raise DataError(csv_path, "the activation row needs a reference_width", column="reference_width")
    return Overheads(rows["activation_gib_per_ktok"]["value"], width, rows["non_torch_gib"]["value"],
                     rows["non_torch_extra_gib_when_tp"]["value"], rows["cuda_graph_gib"]["value"])


def load_runs(workload: str | None = None, runs_dir: str | Path | None = None) -> pd.DataFrame:
    """The recorded live engine runs (``data/runs/<workload>/*.json``) as one table.

    Every record is validated against :data:`selfhost.runs.SCHEMA` (a malformed one
    raises DataError naming the file and field); the table has one row per run
    (:func:`selfhost.serving.runs_frame`).
    """
    from selfhost import runs, serving

    folder = Path(runs_dir) if runs_dir is not None else data_dir() / "runs"
    if not folder.is_dir():
        raise DataError(folder, "no recorded runs: run `make live` to record some")
    return serving.runs_frame(runs.read_records(folder, workload))


def load_engine_model_config(name: str = "tiny-llama") -> dict[str, Any]:
    """``data/engines/<name>/config.json``, checked against its manifest's sha256."""
    import json

    folder = data_dir() / "engines" / name
    manifest_file = folder / "manifest.yaml"
    if not manifest_file.exists():
        raise DataError(manifest_file, "file not found")
    manifest = yaml.safe_load(manifest_file.read_text())
    config_file = folder / "config.json"
    entry = (manifest.get("files") or {}).get("config.json")
    if entry is None:
        raise DataError(manifest_file, "config.json is not listed under files")
    if sha256_of(config_file) != entry["sha256"]:
        raise DataError(config_file, "sha256 differs from the manifest (update data/engines/<name>/manifest.yaml)")
    return json.loads(config_file.read_text())


# ---------------------------------------------------------------------- throughput and capacity (C07, C15)
CAPACITY_RUNS_DIR = "capacity_runs"


def load_capacity_runs(workload: str | None = None) -> pd.DataFrame:
    """The CPU capacity runs (``data/capacity_runs/<workload>/*.json``, written by
    scripts/record_capacity_runs.py), validated, one row per run (:func:`load_runs`), with
    the load average at each run's start (``load_avg_1m_at_start``) added."""
    from selfhost import runs, serving

    folder = data_dir() / CAPACITY_RUNS_DIR
    if not folder.is_dir():
        raise DataError(folder, "no recorded capacity runs: run scripts/record_capacity_runs.py")
    records = runs.read_records(folder, workload)
    if not records:
        raise DataError(folder, f"no recorded {workload or ''} runs: run scripts/record_capacity_runs.py")
    frame = serving.runs_frame(records)
    if not frame.empty:
        by_id = {r["run_id"]: r["workload"]["params"].get("load_avg_1m_at_start") for r in records}
        frame["load_avg_1m_at_start"] = frame["run_id"].map(by_id)
    return frame


def published_serving_implied(path: str | Path = "published_serving") -> pd.DataFrame:
    """``data/published_serving.csv`` with the roofline's prediction and the implied efficiency per row.

    Columns added: ``kind`` (bandwidth, compute, overall), ``predicted`` (in the row's
    metric unit, at efficiency 1, datasheet peaks of ``data/gpus.csv``) and ``implied_x``.
    """
    from selfhost import capacity

    table = load_table(path)
    gpus = load_gpus()
    kinds, predicted, implied = [], [], []
    for row in table.to_dict("records"):
        if row["gpu"] not in gpus:
            raise DataError(table_path(path), f"gpu {row['gpu']!r} is not in data/gpus.csv", column="gpu")
        g = gpus[row["gpu"]]
        spec = load_model_spec(row["model"])
        device = capacity.device_for(g.gpu, g.memory_bandwidth_tb_per_s, g.bf16_dense_tflop_per_s,
                                     g.fp8_dense_tflop_per_s, row["weight_dtype"], int(row["gpu_count"]))
        lens = {k: (None if pd.isna(row[k]) else int(row[k])) for k in ("input_tokens", "output_tokens")}
        result = capacity.implied_efficiency(spec, device, metric=row["metric"], value=float(row["value"]),
                                             concurrency=int(row["concurrency"]), weight_dtype=row["weight_dtype"],
                                             **lens)
        kinds.append(result.kind)
        predicted.append(result.predicted)
        implied.append(result.implied_x)
    return table.assign(kind=kinds, predicted=predicted, implied_x=implied)


def default_serving_efficiency(path: str | Path = "published_serving"):  # -> selfhost.roofline.Efficiency
    """The engine efficiency the capacity model uses by default: medians of the published GPU
    measurements (:func:`selfhost.capacity.efficiency_from`)."""
    from selfhost import capacity

    t = published_serving_implied(path)
    return capacity.efficiency_from(zip(t["kind"], t["implied_x"], t["concurrency"]))


# ---------------------------------------------------------------------- overload runs (C14)


def load_overload_run(runs_dir: str | Path | None = None, run_id: str | None = None) -> dict[str, Any]:
    """The latest overload run record (``data/runs/overload/*.json``, written by ``make overload``),
    validated against :data:`selfhost.overload.SCHEMA`; ``run_id`` picks another one."""
    from selfhost import overload

    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    records = overload.read_records(folder)
    if not records:
        raise DataError(folder / overload.WORKLOAD, "no recorded overload run: run `make overload` to record one")
    if run_id is None:
        return records[-1]
    for record in records:
        if record["run_id"] == run_id:
            return record
    raise DataError(folder / overload.WORKLOAD, f"no overload run with run_id {run_id!r}")
