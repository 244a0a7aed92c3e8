"""The harness's fault handling, with fake engine processes (no vLLM start): an engine that
does not start, a port in use, an engine that dies mid-run, a URL that is not an
OpenAI-compatible server, and nothing left running afterwards."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from selfhost.data import runs
from selfhost.live import engine as eng

FAKE = Path(__file__).with_name("fake_engine.py")


class FakeServer(eng.VllmServer):
    """VllmServer running tests/fake_engine.py in one of its modes."""

    def __init__(self, mode: str, port: int, tmp_path: Path, **kw: object) -> None:
        super().__init__(tmp_path, port, log_dir=tmp_path, **kw)
        self.mode = mode

    def command(self) -> list[str]:
        return [sys.executable, str(FAKE), str(self.port), self.mode]


def group_alive(pgid: int) -> bool:
    return bool(eng.group_members(pgid))


@pytest.fixture
def port() -> int:
    return eng.free_port(8290)


def test_engine_that_exits_reports_its_log_tail(tmp_path, port):
    with pytest.raises(eng.EngineStartError,
                       match=r"exited with code 1 before answering .*; root cause: RuntimeError: not enough memory for the KV cache"):
        FakeServer("crash", port, tmp_path).start()


def test_engine_that_never_answers_times_out_and_is_killed(tmp_path, port):
    server = FakeServer("hang", port, tmp_path, startup_timeout_s=3)
    with pytest.raises(eng.EngineStartError, match=r"did not answer .* within 3 s(.|\n)*fake engine starting"):
        server.start()
    assert server.proc is not None and not group_alive(server.proc.pid)


def test_port_in_use_is_refused_before_launch(tmp_path, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the previous test's port may be in TIME_WAIT
        s.bind(("127.0.0.1", port))
        s.listen()
        with pytest.raises(eng.EngineStartError, match=f"port {port} .* already in use"):
            FakeServer("die-on-request", port, tmp_path).start()


def test_port_outside_the_allowed_range_is_refused(tmp_path):
    with pytest.raises(eng.EngineStartError, match="outside 8200-8299"):
        FakeServer("die-on-request", 8100, tmp_path)


def test_context_manager_kills_the_group_even_when_interrupted(tmp_path, port):
    server = FakeServer("die-on-request", port, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with server as info:
            assert info.base_url == f"http://127.0.0.1:{port}"
            pgid = server.proc.pid
            raise KeyboardInterrupt
    assert not group_alive(pgid)
    assert eng.port_is_free(port)


def test_atexit_handler_kills_what_is_left(tmp_path, port):
    server = FakeServer("die-on-request", port, tmp_path)
    server.start()
    pgid = server.proc.pid
    eng._kill_all()  # what atexit runs
    assert not group_alive(pgid)


def test_a_url_that_is_not_openai_compatible_is_refused(tmp_path, port):
    with FakeServer("not-openai", port, tmp_path) as info, \
            pytest.raises(eng.NotOpenAICompatible, match="did not return an OpenAI model list"):
        eng.attach(info.base_url, "mystery")


def test_a_url_where_nothing_listens_is_refused(port):
    with pytest.raises(eng.NotOpenAICompatible, match="nothing answers"):
        eng.attach(f"http://127.0.0.1:{port}", "vllm")
    with pytest.raises(eng.NotOpenAICompatible, match="not an http"):
        eng.attach("localhost:8000", "vllm")


def test_attach_describes_an_openai_server(tmp_path, port):
    with FakeServer("die-on-request", port, tmp_path) as info:
        attached = eng.attach(info.base_url + "/v1", "sglang")
    assert (attached.engine, attached.model_id, attached.launched) == ("sglang", "fake", False)
    assert attached.base_url == info.base_url


@pytest.mark.slow
def test_engine_death_mid_run_is_recorded_as_failed(tmp_path, port):
    from selfhost.live import harness as live
    from selfhost.workloads import RunSpec

    model_dir = eng.prepare_model()
    server = FakeServer("die-on-request", port, tmp_path)
    with server as info:
        spec = RunSpec("throughput", "concurrency-2", 0, seed=1, num_prompts=2, input_len=16, output_len=4,
                       max_concurrency=2)
        path, record = live.run_one(info, spec, tmp_path / "runs", session_id="s", hardware=live._hardware(None),
                                    model={"name": "fake"}, tokenizer=str(model_dir), server=server)
    assert record["status"] == "failed"
    assert "the engine died during the run" in record["error"]
    assert "dying on a completion request" in record["error"]  # the engine log's tail
    assert runs.read_record(path)["status"] == "failed"


def test_prepare_model_builds_a_tokenizer_of_the_configured_size(tmp_path):
    import json

    out = eng.prepare_model(build_dir=tmp_path / "m")
    config = json.loads((out / "config.json").read_text())
    vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    assert len(vocab) == config["vocab_size"]
    assert eng.prepare_model(build_dir=tmp_path / "m") == out  # cached: second call reuses it


def test_hardware_here_names_the_cpu():
    hw = eng.hardware_here()
    assert hw["kind"] in ("cpu", "gpu") and hw["cpu_cores"] >= 1 and hw["cpu_model"]


# --------------------------------------------------------------------------- the harness's failure kinds (issue 16)


def _fake_run(mode: str, tmp_path: Path, port: int, **kw: object) -> dict:
    from selfhost.live import harness as live
    from selfhost.workloads import RunSpec

    model_dir = eng.prepare_model()
    spec = RunSpec("throughput", "concurrency-2", 0, seed=1, num_prompts=2, input_len=16, output_len=16,
                   max_concurrency=2)
    with FakeServer(mode, port, tmp_path) as info:
        _, record = live.run_one(info, spec, tmp_path / "runs", session_id="s", hardware=live.hardware_record(None),
                                 model={"name": "fake"}, tokenizer=str(model_dir), **kw)
    return record


@pytest.mark.slow
def test_a_stream_cut_before_done_is_a_failed_run(tmp_path, port):
    record = _fake_run("cut-stream", tmp_path, port)
    assert record["status"] == "failed" and record["failure"] == "cut-stream"
    assert "2 of 2 responses ended early" in record["error"] and "of 16 tokens" in record["error"]


@pytest.mark.slow
def test_every_request_failing_with_http_500_names_the_reason(tmp_path, port):
    record = _fake_run("http-500", tmp_path, port)
    assert record["status"] == "failed" and record["failure"] == "http-error"
    assert record["error"] == "all 2 requests failed: 'Internal Server Error' x2"
    assert [r["ok"] for r in record["requests"]] == [False, False]


@pytest.mark.slow
def test_a_hung_run_times_out_and_is_recorded(tmp_path, port):
    import time

    t0 = time.monotonic()
    record = _fake_run("slow", tmp_path, port, timeout_s=3)
    assert time.monotonic() - t0 < 60
    assert record["status"] == "failed" and record["failure"] == "timeout" and "within 3 s" in record["error"]


@pytest.mark.slow
def test_a_whole_run_records_per_request_data(tmp_path, port):
    record = _fake_run("ok", tmp_path, port)
    assert record["status"] == "ok" and record["schema_version"] == 2, record["error"]
    assert len(record["requests"]) == 2 and all(r["ok"] and r["output_tokens"] == 16 for r in record["requests"])
    assert record["model"]["tokenizer_sha256"] and record["environment"]["packages"]
    assert record["metrics"]["scrape_period_s"] == 0.25 and record["protocol"]["timeout_s"] > 0


@pytest.mark.slow
def test_sigterm_records_the_interruption_and_stops_the_session(tmp_path, port):
    import signal
    import subprocess
    import time

    runs_dir = tmp_path / "runs"
    with FakeServer("slow", port, tmp_path) as info:
        with subprocess.Popen([sys.executable, "-m", "selfhost.cli.live", "--url", info.base_url, "--engine", "fake",
                               "--quick", "--workloads", "throughput", "--timeout-s", "8", "--tokenizer",
                               str(eng.prepare_model()), "--runs-dir", str(runs_dir)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            deadline = time.monotonic() + 120
            line = ""
            while time.monotonic() < deadline and "warm-up" not in line:
                line = proc.stdout.readline()
            time.sleep(2)  # the warm-up timed out; the first measured run hangs
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=60)[0]
            code = proc.returncode
    assert code == 143, out
    records = [runs.read_record(p) for p in runs_dir.rglob("*.json")]
    assert [r["failure"] for r in records] == ["interrupted"]  # recorded, and no next run
