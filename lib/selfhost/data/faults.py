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

from pathlib import Path
from typing import Any

from selfhost.data import overload
from selfhost.monitoring import FAULT_KINDS, FaultRun, latest_by
from selfhost.paths import data_dir

SCHEMA_VERSION = 1
FOLDER = "faults"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "selfhost fault run record",
    "type": "object",
    "required": ["schema_version", *overload.RUN_PROPERTIES, "fault", *overload.WATCH_PROPERTIES, "probe", "client",
                 "timeline", "series", "alerts", "alert_events", "http_status_counts", "requests"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        **overload.RUN_PROPERTIES,
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
        **overload.WATCH_PROPERTIES,
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
    "allOf": [overload.FAILED_HAS_ERROR],
}


#: Fault records: ``<runs_dir>/faults/<UTC start>-<engine>-<kind>.json``.
RECORDS = overload.RecordKind(FOLDER, SCHEMA, "fault record", lambda record: record["fault"]["kind"])
validate_record = RECORDS.validate
write_record = RECORDS.write
read_record = RECORDS.read
read_records = RECORDS.read_all


def load_fault_runs(runs_dir: str | Path | None = None) -> list[FaultRun]:
    """The latest successful fault run of each kind, typed, in :data:`~selfhost.monitoring.FAULT_KINDS`
    order (an empty list when none is recorded: ``make faults`` records them)."""
    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    if not (folder / FOLDER).is_dir():
        return []
    ok = [FaultRun.from_record(r) for r in read_records(folder) if r["status"] == "ok"]
    latest = latest_by(ok, lambda r: r.kind)
    return sorted(latest, key=lambda r: FAULT_KINDS.index(r.kind))

