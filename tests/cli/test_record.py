"""Tests of ``selfhost record`` (lib/selfhost/cli/record.py): plans, dry runs, rows validated before writing."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from types import SimpleNamespace

import pytest

from selfhost import cli, paths
from selfhost.cli import record
from selfhost.data.tables import append_rows, load_rows
from selfhost.errors import DataError


def _run(capsys, *argv):
    try:
        code = cli.main(["record", *argv])
    except SystemExit as exc:  # a usage error: one line, exit 2
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_capacity_dry_run_lists_both_sweeps_and_starts_nothing(capsys):
    code, out, _ = _run(capsys, "capacity", "--dry-run")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(record.CONCURRENCY) + len(record.PROMPT_LENS)
    assert lines[0].startswith("throughput concurrency-1") and lines[-1].startswith("long_prompt prompt-4096")


def test_capacity_only_refuses_unknown_variants(capsys):
    code, _, err = _run(capsys, "capacity", "--dry-run", "--only", "concurrency-3")
    assert code == 2 and "unknown variants" in err


def test_kv_cache_plan_skips_recorded_runs(capsys):
    code, out, _ = _run(capsys, "kv-cache", "--dry-run")
    assert code == 0 and out.strip() == "to run: nothing"  # every planned run is in data/kv_cache_runs.csv
    assert _run(capsys, "kv-cache", "--dry-run", "nope")[0] == 2


def test_a_kv_cache_row_passes_the_manifest_and_matches_the_library(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFHOST_DATA_DIR", str(tmp_path))
    for name in ("kv_cache_runs.csv", "kv_cache_runs.meta.yaml"):
        shutil.copy(paths.ROOT / "data" / name, tmp_path / name)
    shutil.copytree(paths.ROOT / "data" / "kv_probe_configs", tmp_path / "kv_probe_configs")
    recorded = {r["run_id"]: r for r in load_rows(tmp_path / "kv_cache_runs.csv")}["moe-1gib-2k"]
    report = SimpleNamespace(block_size=recorded["vllm_block_size"], num_blocks=recorded["vllm_num_blocks"],
                             kv_tokens=recorded["vllm_kv_tokens"], max_concurrency_x=recorded["vllm_max_concurrency_x"])
    row = record.kv_cache_row("moe-1gib-2k", report, "0.32.0", dt.date(2026, 12, 2))
    assert row["predicted_kv_tokens"] == recorded["vllm_kv_tokens"]
    append_rows(tmp_path / "kv_cache_runs.csv", [{**row, "run_id": "moe-again"}])
    assert load_rows(tmp_path / "kv_cache_runs.csv")[-1]["run_id"] == "moe-again"
    with pytest.raises(DataError, match="family"):
        append_rows(tmp_path / "kv_cache_runs.csv", [{**row, "family": "transformer"}])


def test_machine_limits_tiny_dry_run_writes_nothing(capsys):
    before = (paths.ROOT / "data" / "machine_limits.csv").read_bytes()
    code, out, _ = _run(capsys, "machine-limits", "--tiny", "--threads", "1")
    assert code == 0 and "read_bandwidth_gb_per_s" in out
    assert (paths.ROOT / "data" / "machine_limits.csv").read_bytes() == before


def test_machine_limit_rows_pass_the_manifest(tmp_path):
    for name in ("machine_limits.csv", "machine_limits.meta.yaml"):
        shutil.copy(paths.ROOT / "data" / name, tmp_path / name)
    figures = {"run_id": "cpu-20261202T000000Z", "machine": "test", "figures": {"read_bandwidth_gb_per_s": 10.0,
                                                                              "capacity_llama_decode_step_ms_b4": 120.0},
               "methods": {"read_bandwidth_gb_per_s": "x.sum()"}, "decode_method": "decode step", "load_avg_1m": 0.5,
               "torch_threads": 1, "reps": 2, "torch": "2.13"}
    rows = record.machine_limit_rows(figures, dt.date(2026, 12, 2))
    assert [r["unit"] for r in rows] == ["GB/s", "ms"]
    append_rows(tmp_path / "machine_limits.csv", rows)
    assert load_rows(tmp_path / "machine_limits.csv")[-1]["quantity"] == "capacity_llama_decode_step_ms_b4"
    json.dumps(rows, default=str)
