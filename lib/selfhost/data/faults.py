"""Fault run records (C14): one JSON file per run under ``data/runs/faults/``.

A fault run (:mod:`selfhost.live.faults`) drives an engine with steady load while
Prometheus and the probe watch, then kills it (``kill``: SIGKILL), hangs its engine core
(``hang``: SIGSTOP, later SIGCONT) or kills it again and again while a supervisor
restarts it (``restart_loop``). The record (:data:`SCHEMA`) holds what was done and when
(``fault.events``), the series and alerts Prometheus recorded, the HTTP status counts and
every client request with its outcome. Written never over an existing file and only
inside ``<runs_dir>/faults/``; only runs whose status is ``ok`` are read as evidence.

Reads and writes files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from selfhost.data import overload, runs
from selfhost.monitoring import FAULT_KINDS, FaultRun, latest_by
from selfhost.paths import data_dir

SCHEMA_VERSION = 1
FOLDER = "faults"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "selfhost fault run record",
    "type": "object",
    "required": ["schema_version", "run_id", "status", "error", "started_at", "ended_at", "engine", "hardware",
                 "model", "fault", "plan", "policy", "rules_yaml", "prometheus", "probe", "client", "timeline",
                 "series", "alerts", "alert_events", "http_status_counts", "requests"],
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
        "fault": {
            "type": "object", "required": ["kind", "events", "params"],
            "properties": {
                "kind": {"enum": list(FAULT_KINDS)},
                "params": {"type": "object"},
                "events": {"type": "array", "items": {
                    "type": "object", "required": ["t_s", "what"],
                    "properties": {"t_s": {"type": "number"}, "what": {"enum": ["kill", "stop", "cont", "up"]},
                                   "detail": {"type": "string"}}}},
            }},
        "plan": {"type": "object"},
        "policy": {"type": "object", "required": ["ttft_slo_ms", "for_s", "rate_window_s"]},
        "rules_yaml": {"type": "string", "minLength": 1},
        "prometheus": {"type": "object", "required": ["version", "scrape_interval_s"]},
        "probe": overload.PROBE_SCHEMA,
        "client": overload.CLIENT_SCHEMA,
        "timeline": {
            "type": "object", "description": "seconds since the run started (its first request)",
            "required": ["fault_at_s", "fault_ended_s", "ended_s"],
            "properties": {"fault_at_s": {"type": "number", "minimum": 0},
                           "fault_ended_s": {"type": ["number", "null"], "minimum": 0},
                           "ended_s": {"type": "number", "minimum": 0}}},
        "series": overload.SERIES_SCHEMA,
        "alerts": overload.ALERTS_SCHEMA,
        "alert_events": overload.ALERT_EVENTS_SCHEMA,
        "http_status_counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "requests": {"type": "array", "items": overload.REQUEST_SCHEMA},
    },
    "allOf": [{"if": {"properties": {"status": {"const": "failed"}}},
               "then": {"properties": {"error": {"type": "string", "minLength": 1}}}}],
}


def validate_record(record: Mapping[str, Any], where: str | Path = "fault record") -> None:
    """Raise DataError naming the field unless ``record`` fits :data:`SCHEMA`."""
    runs.check_schema(record, SCHEMA, where)


def write_record(runs_dir: Path, record: Mapping[str, Any]) -> Path:
    """Validate and write ``<runs_dir>/faults/<UTC start>-<engine>-<kind>.json``; never overwrite,
    never outside that folder."""
    folder = Path(runs_dir) / FOLDER
    validate_record(record, folder / "(new record)")
    name = overload.check_engine_name(record["engine"]["name"])
    start = dt.datetime.fromisoformat(record["started_at"])
    return runs.write_new_json(overload.inside(folder, f"{runs.utc_stamp(start)}-{name}-{record['fault']['kind']}.json"),
                               record)


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one fault record."""
    return runs.read_json_record(path, validate_record, "fault record")


def read_records(runs_dir: Path) -> list[dict[str, Any]]:
    """Every fault record under ``<runs_dir>/faults/``, validated, oldest first."""
    records = [read_record(p) for p in sorted((Path(runs_dir) / FOLDER).glob("*.json"))]
    return sorted(records, key=lambda r: r["started_at"])


def load_fault_runs(runs_dir: str | Path | None = None) -> list[FaultRun]:
    """The latest successful fault run of each kind, typed, in :data:`~selfhost.monitoring.FAULT_KINDS`
    order (an empty list when none is recorded: ``make faults`` records them)."""
    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    if not (folder / FOLDER).is_dir():
        return []
    ok = [FaultRun.from_record(r) for r in read_records(folder) if r["status"] == "ok"]
    latest = latest_by(ok, lambda r: r.kind)
    return sorted(latest, key=lambda r: FAULT_KINDS.index(r.kind))

