"""Overload run records (C14): one JSON file per run under ``data/runs/overload/``.

The record (:data:`SCHEMA`) holds the plan, the alert policy and rules, both phases' client
results, the Prometheus series and ``ALERTS`` pulled after the run, each alert's pending,
firing and resolved times, and the HTTP status counts. Schema 2 (runs made with
:mod:`selfhost.live.loadgen`) adds every client request (sent, first token, end, outcome),
the client's timeout, the probe's settings and the TTFT histogram's bucket counts over the
overload window. Written by :mod:`selfhost.live.overload`, never over an existing file,
and only inside ``<runs_dir>/overload/``; read by the monitoring page, which takes only
runs whose status is ``ok``: a failed run is never evidence.

Reads and writes files.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from selfhost.data import runs
from selfhost.errors import DataError
from selfhost.monitoring import OUTCOMES, OverloadRun
from selfhost.paths import data_dir

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)
WORKLOAD = "overload"
#: An engine name, as it goes into a record's file name: letters, digits, ``.``, ``_``, ``-``.
ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def check_engine_name(name: object) -> str:
    """``name`` if it can name a record file (no path separator, no ``..``); raises DataError naming it.

    >>> check_engine_name("sglang-0.5")
    'sglang-0.5'
    >>> check_engine_name("../../..")
    Traceback (most recent call last):
    ...
    selfhost.errors.DataError: engine name '../../..': not a name for a record file (letters, digits, ., _ and -; no '..'; at most 40 characters)
    """
    if not isinstance(name, str) or not ENGINE_NAME.fullmatch(name) or ".." in name:
        raise DataError(f"engine name {name!r}", "not a name for a record file (letters, digits, ., _ and -; "
                                                 "no '..'; at most 40 characters)")
    return name


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it stays inside ``folder``."""
    path = (Path(folder) / name).resolve()
    if path.parent != Path(folder).resolve():
        raise DataError(path, f"a record must be written inside {folder}")
    return Path(folder) / name


_num_or_null = {"type": ["number", "null"]}
_time = {"type": ["number", "null"], "minimum": 0}
#: One client request (:class:`selfhost.live.loadgen.Outcome`).
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["phase", "sent_s", "first_token_s", "ended_s", "output_tok", "outcome", "http_status"],
    "properties": {
        "phase": {"type": "string"}, "sent_s": {"type": "number"}, "first_token_s": _num_or_null,
        "ended_s": {"type": "number"}, "output_tok": {"type": "integer", "minimum": 0},
        "outcome": {"enum": list(OUTCOMES)}, "http_status": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
    },
}
CLIENT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["tool", "request_timeout_s"],
    "properties": {"tool": {"type": "string"}, "request_timeout_s": {"type": "number", "exclusiveMinimum": 0}},
}
PROBE_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"], "required": ["interval_s", "timeout_s", "model"],
    "properties": {"interval_s": {"type": "number", "exclusiveMinimum": 0},
                   "timeout_s": {"type": "number", "exclusiveMinimum": 0}, "model": {"type": "string"}},
}
SERIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "recorded series -> [[seconds since start, value or null (NaN or Inf)], ...]",
    "additionalProperties": {"type": "array", "items": {
        "type": "array", "prefixItems": [{"type": "number"}, _num_or_null], "minItems": 2, "maxItems": 2}},
}
ALERTS_SCHEMA: dict[str, Any] = {"type": "array", "items": {
    "type": "object",
    "required": ["alertname", "signal", "severity", "pending_s", "firing_s", "resolved_s"],
    "properties": {"alertname": {"type": "string"}, "signal": {"type": "string"},
                   "severity": {"type": "string"}, "pending_s": _time, "firing_s": _time,
                   "resolved_s": _time}}}
ALERT_EVENTS_SCHEMA: dict[str, Any] = {"type": "array", "items": {
    "type": "object", "required": ["t_s", "alertname", "state"],
    "properties": {"t_s": {"type": "number"}, "alertname": {"type": "string"},
                   "state": {"enum": ["pending", "firing", "resolved"]}}}}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "selfhost overload run record",
    "type": "object",
    "required": ["schema_version", "run_id", "status", "error", "started_at", "ended_at", "engine", "hardware",
                 "model", "plan", "policy", "rules_yaml", "prometheus", "phases", "timeline", "series", "alerts",
                 "alert_events", "http_status_counts"],
    "properties": {
        "schema_version": {"enum": list(SCHEMA_VERSIONS)},
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
        "series": SERIES_SCHEMA,
        "alerts": ALERTS_SCHEMA,
        "alert_events": ALERT_EVENTS_SCHEMA,
        "http_status_counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "client": CLIENT_SCHEMA,
        "requests": {"type": "array", "items": REQUEST_SCHEMA},
        "probe": PROBE_SCHEMA,
        "ttft_buckets": {
            "type": ["object", "null"],
            "description": "cumulative counts of vllm:time_to_first_token_seconds over the overload window",
            "required": ["from_s", "to_s", "counts"],
            "properties": {"from_s": {"type": "number"}, "to_s": {"type": "number"},
                           "counts": {"type": "array", "items": {
                               "type": "array", "prefixItems": [{"type": ["number", "string"]}, {"type": "number"}],
                               "minItems": 2, "maxItems": 2}}}},
    },
    "allOf": [{"if": {"properties": {"status": {"const": "failed"}}},
               "then": {"properties": {"error": {"type": "string", "minLength": 1}}}},
              {"if": {"properties": {"schema_version": {"const": 2}}},
               "then": {"required": ["client", "requests", "probe", "ttft_buckets"]}}],
}


def validate_record(record: Mapping[str, Any], where: str | Path = "overload record") -> None:
    """Raise DataError naming the field unless ``record`` fits :data:`SCHEMA`."""
    runs.check_schema(record, SCHEMA, where)


def write_record(runs_dir: Path, record: Mapping[str, Any]) -> Path:
    """Validate and write ``<runs_dir>/overload/<UTC start>-<engine>-overload.json``; never overwrite,
    never outside that folder."""
    folder = Path(runs_dir) / WORKLOAD
    validate_record(record, folder / "(new record)")
    name = check_engine_name(record["engine"]["name"])
    start = dt.datetime.fromisoformat(record["started_at"])
    return runs.write_new_json(inside(folder, f"{runs.utc_stamp(start)}-{name}-overload.json"), record)


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one overload record."""
    return runs.read_json_record(path, validate_record, "overload record")


def read_records(runs_dir: Path) -> list[dict[str, Any]]:
    """Every overload record under ``<runs_dir>/overload/``, validated, oldest first."""
    records = [read_record(p) for p in sorted((Path(runs_dir) / WORKLOAD).glob("*.json"))]
    return sorted(records, key=lambda r: r["started_at"])



def usable_records(runs_dir: Path) -> list[dict[str, Any]]:
    """The overload records whose run succeeded (status ``ok``), oldest first: the only evidence."""
    return [r for r in read_records(runs_dir) if r["status"] == "ok"]


def load_overload_run(runs_dir: str | Path | None = None, run_id: str | None = None) -> dict[str, Any]:
    """The latest overload run that succeeded (``data/runs/overload/*.json``, written by ``make overload``),
    validated against :data:`SCHEMA`; ``run_id`` picks another one. A failed run is refused:
    it is never evidence, not even the newest."""
    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    records = read_records(folder)
    if run_id is not None:
        for record in records:
            if record["run_id"] == run_id:
                if record["status"] != "ok":
                    raise DataError(folder / WORKLOAD, f"overload run {run_id!r} failed ({record['error']}); "
                                                       "a failed run is not evidence")
                return record
        raise DataError(folder / WORKLOAD, f"no overload run with run_id {run_id!r}")
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        raise DataError(folder / WORKLOAD, "no overload run that succeeded" + (
            f" ({len(records)} failed)" if records else "") + ": run `make overload` to record one")
    return ok[-1]


def load_overload(runs_dir: str | Path | None = None, run_id: str | None = None) -> OverloadRun:
    """:func:`load_overload_run` as a typed :class:`selfhost.monitoring.OverloadRun`."""
    return OverloadRun.from_record(load_overload_run(runs_dir, run_id))


def recording_label(record: Mapping[str, Any]) -> str:
    """How a page names a recording: its UTC start, to the minute.

    >>> recording_label({"started_at": "2026-11-28T00:04:13.272458+00:00"})
    '2026-11-28 00:04'
    """
    return dt.datetime.fromisoformat(record["started_at"]).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def load_recordings(runs_dir: str | Path | None = None) -> dict[str, OverloadRun]:
    """Every overload run that succeeded, typed, by :func:`recording_label`, oldest first."""
    folder = Path(runs_dir) if runs_dir else data_dir() / "runs"
    return {recording_label(r): OverloadRun.from_record(r) for r in usable_records(folder)}
