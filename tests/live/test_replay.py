"""The replay: slicing and scaling a trace, the client's arguments, the record schema, and (live) a quick
replay against vLLM's CPU build whose measured prefix hits match the trace's prediction."""

from __future__ import annotations

import copy
import json

import pytest

from selfhost import traffic
from selfhost.cli import main
from selfhost.data import traffic as data_traffic
from selfhost.errors import DataError
from selfhost.live import engine as eng
from selfhost.live import replay

TRACES = data_traffic.DEFAULT_TRACES
needs_traces = pytest.mark.skipif(not TRACES.is_dir(), reason=f"the raw traces are not at {TRACES}")


def test_scaling_keeps_the_prefix_structure_block_for_block():
    reqs = [traffic.TraceRequest(0.0, 2000, 400, (0, 1, 2, 3)), traffic.TraceRequest(1.0, 1100, 30, (0, 1, 9)),
            traffic.TraceRequest(2.0, 700, 5)]
    scaled = traffic.scale_requests(reqs, time_stretch_x=3, max_input_tok=300, max_output_tok=50, id_offset=100)
    assert [r.arrival_s for r in scaled] == [0.0, 3.0, 6.0]
    assert [r.input_tok for r in scaled] == [300, 275, 175]          # 2000 / 4 cut to 300; 1100 / 4; 700 / 4
    assert [r.output_tok for r in scaled] == [50, 8, 1]
    assert scaled[0].hash_ids == (100, 101, 102) and scaled[1].hash_ids == (100, 101, 109)
    assert scaled[2].hash_ids == (110, 111)                          # no hashes: fresh ids, shared with nobody
    assert traffic.predicted_hit_share(scaled, 128) == pytest.approx(256 / 750)


@needs_traces
def test_the_default_slice_and_its_prediction():
    requests, name = replay.slice_requests(replay.QUICK_PLAN)
    figures = replay.slice_figures(requests, replay.QUICK_PLAN)
    assert name == "mooncake-conversation" and figures["requests_count"] == len(requests) > 10
    assert max(r.input_tok for r in requests) <= replay.QUICK_PLAN.max_input_tok
    assert 0 < figures["predicted_hit_share"] <= figures["predicted_hit_share_unlimited"] < 1
    assert figures["mean_req_per_s"] == pytest.approx(len(requests) / (15.0 * 2.0))


def test_client_arguments_replay_the_timestamps_or_poisson(tmp_path):
    info = eng.ServerInfo("http://127.0.0.1:8250", "vllm", "0.32.0", "tiny-llama", launched=True)
    timed = replay.client_argv(info, tmp_path / "s.jsonl", 48, replay.QUICK_PLAN, "trace-timed", 1.6, "tok")
    assert "timed_trace" in timed and "--no-self-timed" not in timed
    assert timed[timed.index("--timed-trace-chunk-hash-size") + 1] == "128"
    assert timed[timed.index("--timed-trace-sec-multiplier") + 1] == "0.001"
    poisson = replay.client_argv(info, tmp_path / "s.jsonl", 48, replay.QUICK_PLAN, "poisson", 1.6, "tok")
    assert poisson[-6:-2] == ["--request-rate", "1.6", "--burstiness", "1"] and "--no-self-timed" in poisson


def test_the_client_parses_them(tmp_path):
    """vLLM's own parser accepts the replay's arguments (the installed client is what runs them)."""
    pytest.importorskip("vllm")
    from selfhost.live import harness

    info = eng.ServerInfo("http://127.0.0.1:8250", "vllm", "0.32.0", "tiny-llama", launched=True)
    args = harness.client_parser().parse_args(
        replay.client_argv(info, tmp_path / "s.jsonl", 48, replay.QUICK_PLAN, "poisson", 1.6, "tok"))
    assert args.dataset_name == "timed_trace" and args.self_timed is False and args.request_rate == 1.6


def _record(variant="trace-timed", ttft=150.0, measured=0.08):
    params = {k: 0 for k in data_traffic.REPLAY_PARAMS} | {
        "trace": "mooncake-conversation", "trace_sha256": "x", "slice_sha256": "y", "requests_count": 48,
        "mean_req_per_s": 1.6, "peak_to_mean_x": 1.16, "engine_cache_tok": 65536, "predicted_hit_share": 0.08,
        "predicted_hit_share_unlimited": 0.08, "measured_hit_share": measured}
    return {"schema_version": 2, "run_id": f"r-{variant}", "session_id": "s", "recording_id": "s", "status": "ok",
            "error": None, "failure": None, "requests": [], "environment": {},
            "protocol": {"warmed_up": False, "load_avg_1m_before": 0.5, "busy": False},
            "started_at": "2026-12-02T12:09:22+00:00" if variant == "trace-timed" else "2026-12-02T12:10:22+00:00",
            "ended_at": "2026-12-02T12:10:00+00:00",
            "engine": {"name": "vllm", "version": "0.32.0", "launched": True, "base_url": "http://127.0.0.1:8250"},
            "hardware": {"kind": "cpu", "description": "test"}, "model": {"name": "tiny-llama"},
            "workload": {"name": "replay", "variant": variant, "rep": 0, "params": params, "scaled_note": "n"},
            "client": {"tool": "vllm.benchmarks.serve", "args": []},
            "results": {"completed": 48, "total_input_tokens": 1, "total_output_tokens": 1, "duration": 24.0,
                        "mean_ttft_ms": ttft, "p90_ttft_ms": 2 * ttft, "p99_ttft_ms": 3 * ttft},
            "metrics": {"deltas": {}, "gauge_maxima": {}, "scrapes_count": 2}}


def test_records_are_validated_written_once_and_read_back(tmp_path):
    paths = [data_traffic.write_replay_record(tmp_path, _record("trace-timed", 150.0)),
             data_traffic.write_replay_record(tmp_path, _record("poisson", 50.0))]
    assert all(p.parent == tmp_path / "replay" for p in paths)
    with pytest.raises(DataError, match="never overwritten"):
        data_traffic.write_replay_record(tmp_path, _record("poisson", 50.0))
    bad = copy.deepcopy(_record())
    del bad["workload"]["params"]["predicted_hit_share"]
    with pytest.raises(DataError, match="workload.params"):
        data_traffic.write_replay_record(tmp_path, bad)
    frame = traffic.replay_frame(data_traffic.load_replay_records(tmp_path))
    figures = traffic.replay_figures(frame)
    assert figures["replay_mean_ttft_x"] == pytest.approx(3.0) and figures["replay_pairs_count"] == 1
    assert "3.00x on the mean" in traffic.replay_markdown(figures, "cmd")
    assert "No replay has been recorded" in traffic.replay_markdown({}, "cmd")
    assert data_traffic.load_replay_records(tmp_path / "none") == []


@needs_traces
def test_dry_run_prints_the_plan(capsys):
    assert main(["traffic", "replay", "--quick", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["plan"]["reps"] == 1 and out["slice"]["engine_cache_tok"] == 512 * 128


@pytest.mark.live
@pytest.mark.slow
@needs_traces
def test_quick_replay_on_the_cpu_engine(tmp_path):
    """About 2 minutes: vLLM's start-up, then 2 runs of 30 s."""
    written = replay.record_replay(tmp_path, replay.QUICK_PLAN, progress=lambda _: None)
    records = [json.loads(p.read_text()) for p in written]
    assert [r["workload"]["variant"] for r in records] == ["trace-timed", "poisson"]
    for r in records:
        assert r["status"] == "ok", r["error"]
        params = r["workload"]["params"]
        assert r["results"]["completed"] == params["requests_count"]
        assert params["measured_hit_share"] == pytest.approx(params["predicted_hit_share"], abs=0.03)
    assert not (data_traffic.traffic_dir().parent / "runs" / "replay").exists() or all(
        p.parent == tmp_path / "replay" for p in written)
