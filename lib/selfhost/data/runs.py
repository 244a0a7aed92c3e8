"""Run records: one JSON file per benchmark run under ``data/runs/<workload>/``.

A run is one invocation of vLLM's benchmark client against one server. Its record holds
the engine (name, version, flags), the hardware, the model config, the workload, the
client's results (throughput, TTFT, TPOT and ITL percentiles), the server's metrics
scraped during the run, start and end times, and a status (``ok`` or ``failed``).
Records are validated against :data:`SCHEMA` when written and when read, and a record is
never overwritten: files are created exclusively, and an existing name is refused.

This module reads and writes files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from selfhost import serving
from selfhost.errors import DataError
from selfhost.paths import data_dir

SCHEMA_VERSION = 1
WORKLOADS = ("throughput", "prefix", "long_prompt")
STATUSES = ("ok", "failed")
_number = {"type": "number"}
_nullable_number = {"type": ["number", "null"]}

#: JSON Schema (draft 2020-12) of a run record.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "selfhost run record",
    "type": "object",
    "required": ["schema_version", "run_id", "session_id", "status", "started_at", "ended_at", "engine",
                 "hardware", "model", "workload", "client", "results", "metrics"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "run_id": {"type": "string", "minLength": 1},
        "session_id": {"type": "string", "minLength": 1, "description": "runs against one server launch share it"},
        "status": {"enum": list(STATUSES)},
        "error": {"type": ["string", "null"]},
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": {"type": "string", "format": "date-time"},
        "engine": {
            "type": "object",
            "required": ["name", "version", "launched", "base_url"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "version": {"type": "string"},
                "launched": {"type": "boolean", "description": "started by the harness (true) or attached by URL"},
                "base_url": {"type": "string"},
                "prefix_caching": {"type": ["boolean", "null"]},
                "args": {"type": "array", "items": {"type": "string"}},
                "startup_s": _nullable_number,
            },
        },
        "hardware": {
            "type": "object",
            "required": ["kind", "description"],
            "properties": {
                "kind": {"enum": ["cpu", "gpu", "unknown"]},
                "description": {"type": "string"},
                "cpu_model": {"type": "string"},
                "cpu_cores": {"type": "integer", "minimum": 0},
                "memory_gib": _nullable_number,
                "gpus": {"type": "array", "items": {"type": "string"}},
                "load_avg_1m": _nullable_number,
            },
        },
        "model": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "weights": {"type": "string"},
                "config": {"type": ["object", "null"]},
            },
        },
        "workload": {
            "type": "object",
            "required": ["name", "variant", "params", "scaled_note"],
            "properties": {
                "name": {"enum": list(WORKLOADS)},
                "variant": {"type": "string", "description": "e.g. caching-on, caching-off, unique, first, repeat"},
                "rep": {"type": "integer", "minimum": 0},
                "params": {"type": "object"},
                "scaled_note": {"type": "string"},
            },
        },
        "client": {
            "type": "object",
            "required": ["tool", "args"],
            "properties": {"tool": {"type": "string"}, "args": {"type": "array", "items": {"type": "string"}}},
        },
        "results": {
            "type": "object",
            "description": "the benchmark client's summary; empty when it failed before reporting",
            "properties": {
                "completed": {"type": "integer", "minimum": 0},
                "failed": {"type": "integer", "minimum": 0},
                "total_input_tokens": {"type": "integer", "minimum": 0},
                "total_output_tokens": {"type": "integer", "minimum": 0},
                "duration": {"type": "number", "minimum": 0},
                "request_throughput": _number,
                "output_throughput": _number,
                "total_token_throughput": _number,
            },
            "additionalProperties": {"type": ["number", "string", "null", "integer"]},
        },
        "metrics": {
            "type": "object",
            "required": ["deltas", "gauge_maxima", "scrapes_count"],
            "properties": {
                "deltas": {"type": "object", "additionalProperties": _number},
                "gauge_maxima": {"type": "object", "additionalProperties": _number},
                "scrapes_count": {"type": "integer", "minimum": 0},
                "error": {"type": ["string", "null"]},
            },
        },
    },
    "allOf": [
        {"if": {"properties": {"status": {"const": "failed"}}},
         "then": {"required": ["error"], "properties": {"error": {"type": "string", "minLength": 1}}}},
        {"if": {"properties": {"status": {"const": "ok"}}},
         "then": {"properties": {"results": {"required": ["completed", "total_input_tokens",
                                                          "total_output_tokens", "duration"]}}}},
    ],
}


def check_schema(record: Mapping[str, Any], schema: Mapping[str, Any], where: str | Path) -> None:
    """Raise DataError naming the first offending field unless ``record`` fits ``schema``.

    The error names the file (``where``) and the field as a dotted path, and counts the
    other problems found.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(dict(record)), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        field = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise DataError(where, f"{first.message}{more}", column=field)


def validate_record(record: Mapping[str, Any], where: str | Path = "run record") -> None:
    """Raise DataError (naming the file and the offending field) unless ``record`` fits :data:`SCHEMA`.

    Examples
    --------
    >>> validate_record({"schema_version": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    selfhost.errors.DataError: run record, column (top level): 'run_id' is a required property (and 12 more problems)
    """
    check_schema(record, SCHEMA, where)
    for key in ("started_at", "ended_at"):
        try:
            dt.datetime.fromisoformat(record[key])
        except ValueError:
            raise DataError(where, f"{record[key]!r} is not an ISO 8601 time", column=key) from None


def utc_stamp(when: dt.datetime) -> str:
    """A file-name-safe UTC time stamp, to the microsecond.

    >>> utc_stamp(dt.datetime(2026, 11, 27, 22, 0, 1, 5, tzinfo=dt.timezone.utc))
    '20261127T220001.000005Z'
    """
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def record_path(runs_dir: Path, record: Mapping[str, Any]) -> Path:
    """``<runs_dir>/<workload>/<UTC start>-<engine>-<variant>.json``."""
    start = dt.datetime.fromisoformat(record["started_at"])
    safe = lambda s: "".join(c if c.isalnum() or c in "-_." else "-" for c in str(s))  # noqa: E731
    name = f"{utc_stamp(start)}-{safe(record['engine']['name'])}-{safe(record['workload']['variant'])}.json"
    return Path(runs_dir) / record["workload"]["name"] / name


def write_record(runs_dir: Path, record: Mapping[str, Any]) -> Path:
    """Validate ``record`` and write it to a new file; an existing file is never replaced.

    Raises
    ------
    DataError
        The record breaks the schema, or its file exists already.
    """
    validate_record(record, Path(runs_dir) / str(record.get("workload", {}).get("name", "?")) / "(new record)")
    return write_new_json(record_path(runs_dir, record), record)


def write_new_json(path: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` as JSON to a file that must not exist yet (exclusive create).

    Recorded runs are never overwritten: an existing file is a DataError, and the file is
    created and written in one step, so two writers cannot both succeed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise DataError(path, "a run record of this name exists already; recorded runs are never overwritten") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def read_json_record(path: Path, validate: Callable[[Mapping[str, Any], Path], None], what: str) -> dict[str, Any]:
    """Read one JSON record and check it with ``validate``; a DataError names the file."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(path, f"cannot read a JSON {what}: {exc}") from None
    validate(record, path)
    return record


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one run record."""
    return read_json_record(path, validate_record, "run record")


def read_records(runs_dir: Path, workload: str | None = None) -> list[dict[str, Any]]:
    """Every run record under ``runs_dir`` (or one workload's), validated, in time order.

    Only the workload folders are read: other folders (``overload/``, whose records have
    their own schema in :mod:`selfhost.overload`) are left alone.
    """
    if workload is not None and workload not in WORKLOADS:
        raise DataError(runs_dir, f"unknown workload {workload!r}; known: {WORKLOADS}")
    files = [p for w in ((workload,) if workload else WORKLOADS) for p in sorted(Path(runs_dir).glob(f"{w}/*.json"))]
    records = [read_record(p) for p in files]
    return sorted(records, key=lambda r: r["started_at"])


def load_runs(workload: str | None = None, runs_dir: str | Path | None = None) -> pd.DataFrame:
    """The recorded live engine runs (``data/runs/<workload>/*.json``) as one table.

    Every record is validated against :data:`SCHEMA` (a malformed one
    raises DataError naming the file and field); the table has one row per run
    (:func:`selfhost.serving.runs_frame`).
    """
    folder = Path(runs_dir) if runs_dir is not None else data_dir() / "runs"
    if not folder.is_dir():
        raise DataError(folder, "no recorded runs: run `make live` to record some")
    return serving.runs_frame(read_records(folder, workload))


# ---------------------------------------------------------------------- throughput and capacity (C07, C15)
CAPACITY_RUNS_DIR = "capacity_runs"


def load_capacity_runs(workload: str | None = None) -> pd.DataFrame:
    """The CPU capacity runs (``data/capacity_runs/<workload>/*.json``, written by
    `selfhost record capacity`), validated, one row per run (:func:`load_runs`), with
    the load average at each run's start (``load_avg_1m_at_start``) added."""
    folder = data_dir() / CAPACITY_RUNS_DIR
    if not folder.is_dir():
        raise DataError(folder, "no recorded capacity runs: run `selfhost record capacity`")
    records = read_records(folder, workload)
    if not records:
        raise DataError(folder, f"no recorded {workload or ''} runs: run `selfhost record capacity`")
    frame = serving.runs_frame(records)
    if not frame.empty:
        by_id = {r["run_id"]: r["workload"]["params"].get("load_avg_1m_at_start") for r in records}
        frame["load_avg_1m_at_start"] = frame["run_id"].map(by_id)
    return frame
