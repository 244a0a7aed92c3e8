"""Overload run records (C14): one JSON file per run under ``data/runs/overload/``.

The record (:data:`SCHEMA`) holds the plan, the alert policy and rules, both phases' client
results, the Prometheus series and ``ALERTS`` pulled after the run, each alert's pending,
firing and resolved times, and the HTTP status counts. Written by
:mod:`selfhost.live.overload`, never over an existing file; read by the monitoring page.
Reads and writes files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from selfhost.data import runs
from selfhost.errors import DataError
from selfhost.paths import data_dir

SCHEMA_VERSION = 1
WORKLOAD = "overload"


_num_or_null = {"type": ["number", "null"]}
_time = {"type": ["number", "null"], "minimum": 0}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "selfhost overload run record",
    "type": "object",
    "required": ["schema_version", "run_id", "status", "error", "started_at", "ended_at", "engine", "hardware",
                 "model", "plan", "policy", "rules_yaml", "prometheus", "phases", "timeline", "series", "alerts",
                 "alert_events", "http_status_counts"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "run_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["ok", "failed"]},
        "error": {"type": ["string", "null"]},
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": {"type": "string", "format": "date-time"},
        "engine": runs.SCHEMA["properties"]["engine"],
        "hardware": runs.SCHEMA["properties"]["hardware"],
        "model": runs.SCHEMA["properties"]["model"],
        "plan": {"type": "object"},
        "policy": {"type": "object", "required": ["ttft_slo_ms", "for_s", "rate_window_s"]},
        "rules_yaml": {"type": "string", "minLength": 1},
        "prometheus": {"type": "object", "required": ["version", "scrape_interval_s"]},
        "phases": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "request_rate_req_per_s", "num_prompts", "started_s", "ended_s", "client_args",
                         "results"],
            "properties": {
                "name": {"enum": ["baseline", "overload"]},
                "request_rate_req_per_s": {"type": "number", "exclusiveMinimum": 0},
                "num_prompts": {"type": "integer", "minimum": 1},
                "started_s": {"type": "number", "minimum": 0},
                "ended_s": {"type": "number", "minimum": 0},
                "client_args": {"type": "array", "items": {"type": "string"}},
                "results": runs.SCHEMA["properties"]["results"],
                "error": {"type": ["string", "null"]},
            }}},
        "timeline": {
            "type": "object",
            "description": "seconds since the run started (the baseline's first request)",
            "required": ["overload_started_s", "overload_sending_ended_s", "overload_drained_s", "ended_s"],
            "properties": {k: _time for k in ("overload_started_s", "overload_sending_ended_s",
                                              "overload_drained_s", "ended_s")},
        },
        "series": {
            "type": "object",
            "description": "recorded series -> [[seconds since start, value or null (NaN or Inf)], ...]",
            "additionalProperties": {"type": "array", "items": {
                "type": "array", "prefixItems": [{"type": "number"}, _num_or_null], "minItems": 2, "maxItems": 2}},
        },
        "alerts": {"type": "array", "items": {
            "type": "object",
            "required": ["alertname", "signal", "severity", "pending_s", "firing_s", "resolved_s"],
            "properties": {"alertname": {"type": "string"}, "signal": {"type": "string"},
                           "severity": {"type": "string"}, "pending_s": _time, "firing_s": _time,
                           "resolved_s": _time}}},
        "alert_events": {"type": "array", "items": {
            "type": "object", "required": ["t_s", "alertname", "state"],
            "properties": {"t_s": {"type": "number"}, "alertname": {"type": "string"},
                           "state": {"enum": ["pending", "firing", "resolved"]}}}},
        "http_status_counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
    "allOf": [{"if": {"properties": {"status": {"const": "failed"}}},
               "then": {"properties": {"error": {"type": "string", "minLength": 1}}}}],
}


def validate_record(record: Mapping[str, Any], where: str | Path = "overload record") -> None:
    """Raise DataError naming the field unless ``record`` fits :data:`SCHEMA`."""
    runs.check_schema(record, SCHEMA, where)


def write_record(runs_dir: Path, record: Mapping[str, Any]) -> Path:
    """Validate and write ``<runs_dir>/overload/<UTC start>-<engine>-overload.json``; never overwrite."""
    folder = Path(runs_dir) / WORKLOAD
    validate_record(record, folder / "(new record)")
    start = dt.datetime.fromisoformat(record["started_at"])
    return runs.write_new_json(folder / f"{runs.utc_stamp(start)}-{record['engine']['name']}-overload.json", record)


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one overload record."""
    return runs.read_json_record(path, validate_record, "overload record")


def read_records(runs_dir: Path) -> list[dict[str, Any]]:
    """Every overload record under ``<runs_dir>/overload/``, validated, oldest first."""
    records = [read_record(p) for p in sorted((Path(runs_dir) / WORKLOAD).glob("*.json"))]
    return sorted(records, key=lambda r: r["started_at"])



def load_overload_run(runs_dir: str | Path | None = None, run_id: str | None = None) -> dict[str, Any]:
    """The latest overload run record (``data/runs/overload/*.json``, written by ``make overload``),
    validated against :data:`SCHEMA`; ``run_id`` picks another one."""
    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    records = read_records(folder)
    if not records:
        raise DataError(folder / WORKLOAD, "no recorded overload run: run `make overload` to record one")
    if run_id is None:
        return records[-1]
    for record in records:
        if record["run_id"] == run_id:
            return record
    raise DataError(folder / WORKLOAD, f"no overload run with run_id {run_id!r}")
