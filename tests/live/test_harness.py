"""The real engines started once each: vLLM's CPU server (a short workload of each kind) and llama.cpp's
server (the comparison workload), and the records they leave.

Runs by default (``make test``, under ``flock /work/live.lock``); select it alone with ``-m live``.
The records go to a temporary folder, never into data/runs/.
"""

from __future__ import annotations

from dataclasses import replace
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
    """Start vLLM once (prefix caching on), warm it up, run the test plan, return the records and the server info."""
    runs_dir = tmp_path_factory.mktemp("runs")
    before = sorted((paths.data_dir() / "runs").rglob("*.json"))
    plan = TEST_PLAN
    protocol = replace(plan.protocol, max_busy_share=1.0)  # the tests run on a shared machine: never flag busy
    model_dir = eng.prepare_model(plan.model)
    specs = ([replace(s, prefix_caching=True) for s in plan.throughput()] + plan.prefix(True) + plan.long_prompt(True))
    server = eng.VllmServer(model_dir, eng.free_port(8250), prefix_caching=True, served_name=plan.model,
                            max_model_len=plan.max_model_len, log_dir=tmp_path_factory.mktemp("logs"),
                            extra_args=["--num-gpu-blocks-override", str(plan.kv_cache_blocks)])
    with server as info:
        warm = live.warm_up(info, plan.warmup(True), str(model_dir))
        paths_written = live.run_specs(info, specs, runs_dir, hardware=live.hardware_record(None),
                                       model=live.model_record(model_dir, plan.model), tokenizer=str(model_dir),
                                       server=server, progress=lambda line: None, protocol=protocol,
                                       warmed_up=warm is None)
        pgid = server.proc.pid
    return {"info": info, "paths": paths_written, "records": [runs.read_record(p) for p in paths_written],
            "runs_dir": runs_dir, "before": before, "pgid": pgid, "specs": specs, "warm": warm}


def test_every_run_is_recorded_and_ok(recorded):
    assert recorded["warm"] is None
    assert len(recorded["records"]) == len(recorded["specs"])
    bad = [(r["workload"]["variant"], r["error"]) for r in recorded["records"] if r["status"] != "ok"]
    assert not bad


def test_records_are_schema_2_with_what_reproduces_them(recorded):
    for r in recorded["records"]:
        assert r["schema_version"] == 2 and r["protocol"]["warmed_up"]
        assert len(r["requests"]) == r["workload"]["params"]["num_prompts"]
        assert r["engine"]["resolved_config"]["non_default_args"]
        assert "avx2" in r["hardware"]["cpu_flags"] and r["model"]["tokenizer_sha256"]
        assert r["metrics"]["scrapes_count"] >= 2


def test_tokens_are_counted_by_client_and_server(recorded):
    for r, spec in zip(recorded["records"], recorded["specs"]):
        res = r["results"]
        assert res["completed"] == spec.num_prompts
        assert res["total_output_tokens"] == spec.num_prompts * spec.output_len  # --ignore-eos
        assert res["total_input_tokens"] == pytest.approx(spec.total_prompt_tokens, rel=0.05)
        assert r["metrics"]["deltas"]["vllm:generation_tokens_total"] >= res["total_output_tokens"]


def test_prefix_runs_hit_the_cache_near_the_block_bound(recorded):
    frame = serving.runs_frame(recorded["records"])
    shared = frame[(frame["workload"] == "prefix") & (frame["variant"] == "caching-on")]
    assert (shared["prefix_hits_tok"] > 0).all()
    # the server's hit share is what 128-token blocks allow, give or take the re-tokenized boundaries
    assert ((shared["hit_share"] - shared["bound_128_share"]).abs() < 0.1).all()


def test_a_repeated_long_prompt_is_served_from_the_cache(recorded):
    table = serving.long_prompt_table(serving.runs_frame(recorded["records"]), TEST_PLAN.protocol)
    row = table.iloc[0]
    assert row["pairs_count"] == TEST_PLAN.reps and row["repeat_hit_share"] > 0.9
    assert row["speedup_x"] > 1


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


def test_llamacpp_serves_the_same_model_through_the_same_client(tmp_path):
    from selfhost.live import llamacpp

    plan = TEST_PLAN
    model_dir = eng.prepare_model(plan.model)
    server = llamacpp.LlamaCppServer(model_dir, eng.free_port(8270), served_name=plan.model, n_ctx=8192,
                                     n_parallel=4, log_dir=tmp_path)
    specs = plan.compare("llama.cpp")[:2]
    with server as info:
        written = live.run_specs(info, specs, tmp_path / "runs", hardware=live.hardware_record(None),
                                 model=live.model_record(model_dir, plan.model), tokenizer=str(model_dir),
                                 server=server, progress=lambda line: None,
                                 protocol=replace(plan.protocol, max_busy_share=1.0))
        pgid = server.proc.pid
    records = [runs.read_record(p) for p in written]
    assert [r["status"] for r in records] == ["ok", "ok"], [r["error"] for r in records]
    assert info.engine == "llama.cpp" and "xllamacpp" in info.engine_version
    for r, spec in zip(records, specs):
        deltas = r["metrics"]["deltas"]
        assert deltas["llamacpp:tokens_predicted_total"] == spec.num_prompts * spec.output_len
        assert r["results"]["completed"] == spec.num_prompts
    assert eng.group_members(pgid) == []
