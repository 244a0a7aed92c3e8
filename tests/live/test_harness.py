"""The real vLLM CPU server, started once: a short workload of each kind, and the records it leaves.

Runs by default (``make test``); select it alone with ``-m live``. The records go to a
temporary folder, never into data/runs/.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from selfhost import paths, serving
from selfhost.data import runs
from selfhost.live import engine as eng
from selfhost.live import harness as live
from selfhost.workloads import TEST_PLAN

pytestmark = [pytest.mark.live, pytest.mark.slow]
#: The issue's target: cold start to first token.
COLD_START_TARGET_S = 90.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Start vLLM once (prefix caching on), run the test plan, return the records and the server info."""
    runs_dir = tmp_path_factory.mktemp("runs")
    before = sorted((paths.data_dir() / "runs").rglob("*.json"))
    model_dir = eng.prepare_model()
    specs = TEST_PLAN.throughput() + TEST_PLAN.prefix(True) + TEST_PLAN.long_prompt(True)
    server = eng.VllmServer(model_dir, eng.free_port(8250), prefix_caching=True, log_dir=tmp_path_factory.mktemp("logs"))
    with server as info:
        paths_written = live.run_specs(info, specs, runs_dir, hardware=live._hardware(None),
                                       model=live._model_record(model_dir, "tiny-llama"), tokenizer=str(model_dir),
                                       server=server, progress=lambda line: None)
        pgid = server.proc.pid
    return {"info": info, "paths": paths_written, "records": [runs.read_record(p) for p in paths_written],
            "runs_dir": runs_dir, "before": before, "pgid": pgid, "specs": specs}


def test_every_run_is_recorded_and_ok(recorded):
    assert len(recorded["records"]) == len(recorded["specs"])
    bad = [(r["workload"]["variant"], r["error"]) for r in recorded["records"] if r["status"] != "ok"]
    assert not bad


def test_tokens_are_counted_by_client_and_server(recorded):
    for r, spec in zip(recorded["records"], recorded["specs"]):
        res = r["results"]
        assert res["completed"] == spec.num_prompts
        assert res["total_output_tokens"] == spec.num_prompts * spec.output_len  # --ignore-eos
        assert res["total_input_tokens"] == pytest.approx(spec.num_prompts * spec.prompt_len, rel=0.02)
        assert r["metrics"]["deltas"]["vllm:generation_tokens_total"] >= res["total_output_tokens"]
        assert r["metrics"]["deltas"]["vllm:prompt_tokens_total"] >= 0.98 * res["total_input_tokens"]


def test_prefix_runs_hit_the_cache_and_run_faster(recorded):
    frame = serving.runs_frame(recorded["records"])
    shared = frame[(frame["workload"] == "prefix") & (frame["variant"] == "caching-on")]
    assert (shared["prefix_hits_tok"] > 0).all()
    assert (shared["hit_share"] > 0.5).all()
    pairs = serving.paired_speedups(frame, "prefix", "unique", "caching-on", ["config"])
    assert len(pairs) == TEST_PLAN.reps >= 3
    assert statistics.mean(pairs["speedup_x"]) > 1


def test_a_repeated_long_prompt_is_served_from_the_cache(recorded):
    table = serving.long_prompt_table(serving.runs_frame(recorded["records"]))
    row = table.iloc[0]
    assert row["reps"] == TEST_PLAN.reps and row["repeat_hit_share"] > 0.9
    assert row["speedup_x"] > 1 and row["ttft_speedup_x"] > 1


def test_cold_start_to_first_token_meets_the_target(recorded):
    first = recorded["records"][0]
    startup_s = recorded["info"].startup_s
    first_token_s = startup_s + first["results"]["median_ttft_ms"] / 1000
    assert first_token_s < COLD_START_TARGET_S, f"{startup_s:.0f} s to start, {first_token_s:.0f} s to a first token"


def test_records_went_to_the_temporary_folder_only(recorded):
    assert all(Path(p).is_relative_to(recorded["runs_dir"]) for p in recorded["paths"])
    assert sorted((paths.data_dir() / "runs").rglob("*.json")) == recorded["before"]


def test_nothing_is_left_running(recorded):
    assert eng.group_members(recorded["pgid"]) == []
    assert eng.port_is_free(int(recorded["info"].base_url.rsplit(":", 1)[1]))
