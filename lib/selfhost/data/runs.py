"""Run records: one JSON file per benchmark run under ``data/runs/<workload>/``.

A run is one invocation of vLLM's benchmark client against one server. Its record holds
the engine (name, version, flags, resolved configuration), the hardware (CPU model and
ISA flags), the software environment, the model config and tokenizer hash, the workload,
the client's summary (throughput, TTFT, TPOT and ITL percentiles) and each request's own
latencies, the server's metrics scraped during the run, the protocol (warm-up, load
average before the run, order within its pair), start and end times, and a status (``ok``
or ``failed``, with the kind of failure).

Schema version 2 (:data:`SCHEMA_VERSION`) adds to version 1 what someone else needs to
reproduce a run; version-1 records stay readable (:data:`SCHEMA` accepts both, and
:class:`selfhost.workloads.RunRecord` fills what they lack with None). Records are
validated when written and when read, and a record is never overwritten: files are
created exclusively, an existing name is refused, and a file name is built only from
cleaned parts, so that it always lies inside ``<runs_dir>/<workload>/``.

This module reads and writes files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from selfhost import serving
from selfhost.errors import DataError
from selfhost.paths import data_dir
from selfhost.workloads import RunRecord

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)
WORKLOADS = ("throughput", "prefix", "long_prompt", "compare")
STATUSES = ("ok", "failed")
#: What went wrong in a failed run (``failure``), one word each.
FAILURES = ("interrupted", "timeout", "client-error", "http-error", "cut-stream", "engine-died", "requests-failed",
            "no-completions", "metrics", "busy")
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
        "schema_version": {"enum": list(SCHEMA_VERSIONS)},
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
                "resolved_config": {"type": ["object", "null"],
                                    "description": "what the engine reports of its own configuration"},
                "launch_id": {"type": "string", "description": "one server launch"},
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
                "cpu_flags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "model": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "weights": {"type": "string"},
                "config": {"type": ["object", "null"]},
                "tokenizer_sha256": {"type": ["string", "null"]},
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
                "scrape_period_s": _number,
            },
        },
        "recording_id": {"type": "string", "minLength": 1, "description": "one make live: every server of it"},
        "failure": {"type": ["string", "null"], "enum": [*FAILURES, None]},
        "protocol": {
            "type": "object",
            "required": ["warmed_up", "load_avg_1m_before", "busy"],
            "properties": {
                "warmed_up": {"type": "boolean", "description": "the server ran an unrecorded warm-up first"},
                "load_avg_1m_before": _nullable_number,
                "max_load_avg": _nullable_number,
                "cpu_busy_share_before": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                                          "description": "CPU in use in the second before the run (engines idle)"},
                "max_busy_share": _nullable_number,
                "busy": {"type": "boolean", "description": "the machine was busy when the run started"},
                "order": {"type": ["integer", "null"], "minimum": 0, "description": "position within its pair"},
                "timeout_s": _nullable_number,
            },
        },
        "environment": {"type": "object", "description": "python, packages and engine-relevant variables"},
        "requests": {
            "type": "array",
            "items": {"type": "object", "required": ["ok", "prompt_tokens", "output_tokens"],
                      "properties": {"ok": {"type": "boolean"}, "prompt_tokens": {"type": "integer", "minimum": 0},
                                     "output_tokens": {"type": "integer", "minimum": 0},
                                     "ttft_ms": _nullable_number, "e2el_ms": _nullable_number,
                                     "error": {"type": ["string", "null"]}}},
        },
    },
    "allOf": [
        {"if": {"properties": {"schema_version": {"const": 2}}},
         "then": {"required": ["recording_id", "failure", "protocol", "environment", "requests"],
                  "properties": {"workload": {"properties": {"name": {"enum": list(WORKLOADS)}}}}},
         "else": {"properties": {"workload": {"properties": {"name": {"enum": list(WORKLOADS[:3])}}}}}},
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


def clean_name(part: object, limit: int = 48) -> str:
    """A file-name part: letters, digits, ``-``, ``_`` and inner dots only, at most ``limit`` characters.

    >>> clean_name("../../etc"), clean_name("llama.cpp"), clean_name("")
    ('etc', 'llama.cpp', 'x')
    """
    text = "".join(c if c.isalnum() or c in "-_." else "-" for c in str(part))[:limit]
    text = text.strip(".-") or "x"
    return text.replace("..", "-")


def record_path(runs_dir: Path, record: Mapping[str, Any], workloads: Sequence[str] = WORKLOADS) -> Path:
    """``<runs_dir>/<workload>/<UTC start>-<engine>-<variant>.json``, always inside ``runs_dir``.

    The workload must be one of ``workloads`` (default :data:`WORKLOADS`); the engine and variant are cleaned
    (:func:`clean_name`), so that no name a reader gives (``--engine ../../..``) leaves the folder.
    """
    workload = record["workload"]["name"]
    if workload not in workloads:
        raise DataError(runs_dir, f"unknown workload {workload!r}; known: {tuple(workloads)}")
    start = dt.datetime.fromisoformat(record["started_at"])
    name = f"{utc_stamp(start)}-{clean_name(record['engine']['name'])}-{clean_name(record['workload']['variant'])}.json"
    folder = Path(runs_dir) / workload
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise DataError(path, "a run record's file name must stay inside its workload folder")
    return path


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


def read_run_records(runs_dir: str | Path | None = None, workload: str | None = None) -> list[RunRecord]:
    """Every run record under ``runs_dir`` (default ``data/runs``) as typed :class:`RunRecord` objects, in time order."""
    folder = Path(runs_dir) if runs_dir is not None else data_dir() / "runs"
    return [RunRecord.from_json(r) for r in read_records(folder, workload)]


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
