"""The committed traffic summaries (``data/traffic/``), and deriving them from the raw traces (reads files).

``data/traffic/<name>.json`` is one :class:`selfhost.traffic.TrafficSummary`;
``data/traffic/<name>.meta.yaml`` its manifest: where the trace comes from (repository,
path, commit, licence, citation, the file's sha256 and the date of the copy read), the file
name it has under the traces folder, what code derived the summary and the summary's own
sha256. The raw traces are never committed: :func:`derive_all` (``make traffic``) reads
them from ``/work/shared/traces/`` or the folder given, and writes the summaries only when
every trace read and validated.

The interface the cost and capacity analyses use::

    from selfhost.data.traffic import load_summary, summary_names
    summary = load_summary("azure-2023-code")
    summary.input_share, summary.peak_to_mean_x, summary.prefix_hit_share
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from selfhost import traffic
from selfhost.data import runs
from selfhost.data.tables import read_yaml, sha256_of
from selfhost.data.traces import TraceError, TraceReader
from selfhost.errors import DataError
from selfhost.paths import data_dir

TRAFFIC_DIR = "traffic"
#: Where the raw traces are on this machine (``TRACES=...`` or ``--traces`` overrides it).
DEFAULT_TRACES = Path(os.environ.get("SELFHOST_TRACES", "/work/shared/traces"))
#: What derives a summary (recorded in each manifest).
DERIVED_BY = ("lib/selfhost/data/traces.py (reader), lib/selfhost/traffic.py (formulas), "
              "lib/selfhost/data/traffic.py (derive_all); make traffic")
#: The manifest keys a summary's provenance needs.
MANIFEST_KEYS = ("title", "trace_file", "format", "source_repository", "source_path", "source_commit",
                 "trace_sha256", "licence", "citation", "retrieved", "derived_by", "summary_sha256")


def traffic_dir() -> Path:
    """``data/traffic``."""
    return data_dir() / TRAFFIC_DIR


def summary_names() -> list[str]:
    """Names of the committed summaries (``azure-2023-code``, ``azure-2023-conv``, ``mooncake-conversation``)."""
    return sorted(p.name.removesuffix(".meta.yaml") for p in traffic_dir().glob("*.meta.yaml"))


def load_manifest(name: str) -> dict[str, Any]:
    """``data/traffic/<name>.meta.yaml``, with every provenance key checked."""
    path = traffic_dir() / f"{name}.meta.yaml"
    if not path.exists():
        raise DataError(path, f"no such traffic summary; known: {', '.join(summary_names()) or 'none'}")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise DataError(path, "expected a mapping")
    for key in MANIFEST_KEYS:
        if key not in raw:
            raise DataError(path, f"lacks {key!r}")
    return raw


def source_text(manifest: dict[str, Any]) -> str:
    """``repository, path @ commit``: where the trace comes from."""
    return f"{manifest['source_repository']}, {manifest['source_path']} @ {manifest['source_commit']}"


def load_summary(name: str) -> traffic.TrafficSummary:
    """The committed summary of trace ``name``, checked against its manifest's sha256.

    Raises DataError naming the file when it is missing, altered or malformed.

    >>> load_summary("mooncake-conversation").block_tok
    512
    """
    manifest = load_manifest(name)
    path = traffic_dir() / f"{name}.json"
    if not path.exists():
        raise DataError(path, "file not found (make traffic derives it from the traces)")
    if sha256_of(path) != manifest["summary_sha256"]:
        raise DataError(path, f"sha256 differs from {name}.meta.yaml (re-derive it with make traffic)")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise DataError(path, "expected a JSON object")
    return traffic.TrafficSummary.from_dict(raw, str(path))


def load_summaries(names: Iterable[str] | None = None) -> list[traffic.TrafficSummary]:
    """The committed summaries, by name (default: all)."""
    return [load_summary(n) for n in (summary_names() if names is None else names)]


def summarize_path(
    path: str | Path,
    name: str | None = None,
    *,
    fmt: str | None = None,
    window_s: int = traffic.DEFAULT_WINDOW_S,
    windows_s: Sequence[int] = traffic.WINDOWS_S,
    cache_sizes_tok: Sequence[int] = traffic.CACHE_SIZES_TOK,
    allow_ties: bool = True,
    provenance: dict[str, str] | None = None,
) -> traffic.TrafficSummary:
    """Read a trace file in one streaming pass and summarize it.

    The summary's ``sha256`` is the file's; ``source``, ``licence`` and ``citation`` come
    from ``provenance`` (empty for a user's own file). Raises TraceError naming the file,
    line and field of the first bad line.
    """
    reader = TraceReader(path, fmt, allow_ties=allow_ties)
    acc: traffic.TrafficAccumulator | None = None
    for chunk in reader.chunks():
        if acc is None:
            acc = traffic.TrafficAccumulator(block_tok=reader.block_tok, cache_sizes_tok=cache_sizes_tok)
        acc.add(chunk.arrival_s, chunk.input_tok, chunk.output_tok, chunk.hash_ids)
    assert acc is not None and reader.sha256 is not None  # chunks() raises on an empty trace
    extra = provenance or {}
    return traffic.summarize(acc, name or reader.path.stem, window_s=window_s, windows_s=windows_s,
                             sha256=reader.sha256, source=extra.get("source", str(reader.path)),
                             licence=extra.get("licence", ""), citation=extra.get("citation", ""))


def summary_json(summary: traffic.TrafficSummary) -> str:
    """The text of ``data/traffic/<name>.json``: indented, keys in field order, no NaN."""
    return json.dumps(summary.to_dict(), indent=1, allow_nan=False) + "\n"


def derive(name: str, traces_dir: str | Path | None = None) -> tuple[traffic.TrafficSummary, dict[str, Any]]:
    """Re-derive one summary from its raw trace; returns it and its updated manifest (writes nothing).

    The trace must be the file the manifest names, with the sha256 it records.
    """
    manifest = load_manifest(name)
    folder = Path(traces_dir) if traces_dir is not None else DEFAULT_TRACES
    path = folder / manifest["trace_file"]
    if not path.exists():
        raise TraceError(path, f"trace not found (give the traces folder: make traffic TRACES=DIR); "
                         f"source: {source_text(manifest)}")
    provenance = {"source": source_text(manifest), "licence": str(manifest["licence"]),
                  "citation": str(manifest["citation"])}
    summary = summarize_path(path, name, fmt=manifest["format"], provenance=provenance)
    if summary.sha256 != manifest["trace_sha256"]:
        raise TraceError(path, f"sha256 {summary.sha256} is not the {manifest['trace_sha256']} that "
                         f"{name}.meta.yaml records: a different copy of the trace")
    updated = dict(manifest)
    updated["derived_by"] = DERIVED_BY
    return summary, updated


def derive_all(traces_dir: str | Path | None = None, names: Iterable[str] | None = None) -> list[Path]:
    """Re-derive every summary and write them, only after all of them read and validated.

    Returns the files written. A failure (a missing or altered trace, a bad line) raises
    before any file changes.
    """
    derived = [(n, *derive(n, traces_dir)) for n in (summary_names() if names is None else list(names))]
    written = []
    for name, summary, manifest in derived:
        path = traffic_dir() / f"{name}.json"
        path.write_text(summary_json(summary))
        manifest["summary_sha256"] = sha256_of(path)
        meta = traffic_dir() / f"{name}.meta.yaml"
        meta.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100))
        written += [path, meta]
    return written


# ---------------------------------------------------------------------- replay records
#: Where live replays are recorded: ``data/runs/replay/`` (beside the other runs; ``make live``
#: and :func:`selfhost.data.runs.read_records` leave the folder alone, as they do ``overload/``).
REPLAY_WORKLOAD = "replay"
REPLAY_VARIANTS = ("trace-timed", "poisson")
#: The workload parameters every replay record carries.
REPLAY_PARAMS = ("trace", "trace_sha256", "slice_start_s", "slice_duration_s", "time_stretch_x", "block_tok",
                 "length_scale_x", "requests_count", "mean_req_per_s", "peak_to_mean_x", "rate_window_s",
                 "engine_cache_tok", "predicted_hit_share", "predicted_hit_share_unlimited", "slice_sha256")


def replay_schema() -> dict[str, Any]:
    """A run record's schema (:data:`selfhost.data.runs.SCHEMA`) with workload ``replay`` and its parameters."""
    schema = copy.deepcopy(runs.SCHEMA)
    schema["title"] = "selfhost replay record"
    workload = schema["properties"]["workload"]
    workload["properties"]["name"] = {"const": REPLAY_WORKLOAD}
    workload["properties"]["variant"] = {"enum": list(REPLAY_VARIANTS)}
    workload["properties"]["params"] = {"type": "object", "required": list(REPLAY_PARAMS)}
    for rule in schema.get("allOf", []):  # the engine runs' own workload names do not apply to a replay
        for branch in ("then", "else"):
            rule.get(branch, {}).get("properties", {}).pop("workload", None)
    return schema


def validate_replay_record(record: Mapping[str, Any], where: str | Path = "replay record") -> None:
    """Raise DataError naming the file and field unless ``record`` is a valid replay record."""
    runs.check_schema(record, replay_schema(), where)


def write_replay_record(runs_dir: Path, record: dict[str, Any]) -> Path:
    """Validate and write a new replay record (never over an existing file)."""
    validate_replay_record(record, Path(runs_dir) / REPLAY_WORKLOAD / "(new record)")
    return runs.write_new_json(runs.record_path(runs_dir, record, (REPLAY_WORKLOAD,)), record)


def load_replay_records(runs_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The recorded replays (``data/runs/replay/*.json``), validated, in time order; [] when none."""
    folder = (Path(runs_dir) if runs_dir is not None else data_dir() / "runs") / REPLAY_WORKLOAD
    records = [runs.read_json_record(p, validate_replay_record, "replay record") for p in sorted(folder.glob("*.json"))]
    return sorted(records, key=lambda r: r["started_at"])
