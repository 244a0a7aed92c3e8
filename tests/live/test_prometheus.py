"""The Prometheus launcher and the probe: clear errors when a binary is missing or the port is
taken; a real start against a stand-in engine that scrapes, probes, answers queries and leaves
nothing behind; and nothing orphaned when the harness is killed with SIGKILL (fake binaries
without the lock, the real ones under it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from selfhost import alertrules as ar
from selfhost import paths
from selfhost.live import engine as eng
from selfhost.live import guard
from selfhost.live import probe as prb
from selfhost.live import prometheus as pm
from tests.live.fakes import FakeOpenAI, fake_binaries

METRICS = b"""# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 7.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
"""


def test_a_missing_binary_names_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("SELFHOST_PROMETHEUS", raising=False)
    with pytest.raises(pm.PrometheusMissing, match=r"`prometheus` is not installed.*apt-get install -y prometheus"):
        pm.PrometheusServer("http://127.0.0.1:8499", ar.rules_yaml(), eng.free_port(8470, pm.PORT_RANGE)).start()
    with pytest.raises(pm.PrometheusMissing, match="`promtool` is not installed"):
        pm.promtool_test_rules([])


def test_a_bad_binary_override_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("SELFHOST_PROMETHEUS", str(tmp_path / "nope"))
    with pytest.raises(pm.PrometheusMissing, match=r"\$SELFHOST_PROMETHEUS=.*nope is not an executable"):
        pm.binary("prometheus")


def test_a_port_in_use_is_refused():
    port = eng.free_port(8470, pm.PORT_RANGE)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        with pytest.raises(pm.PrometheusError, match=f"port {port} on 127.0.0.1 is already in use"):
            pm.PrometheusServer("http://127.0.0.1:8499", ar.rules_yaml(), port).start()


def test_ports_outside_the_range_are_refused():
    with pytest.raises(pm.PrometheusError, match="outside 8400-8499"):
        pm.PrometheusServer("http://127.0.0.1:8499", ar.rules_yaml(), 9090)


def test_a_prometheus_that_dies_at_start_is_reported_with_its_log(monkeypatch, tmp_path):
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\necho 'err: opening storage failed: permission denied (fake)'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SELFHOST_PROMETHEUS", str(fake))
    server = pm.PrometheusServer("http://127.0.0.1:8499", ar.rules_yaml(), eng.free_port(8470, pm.PORT_RANGE))
    with pytest.raises(pm.PrometheusError, match=r"exited with code 1 before it was ready(.|\n)*permission denied"):
        server.start()
    assert not server.workdir.exists()


def test_bad_rules_are_refused_before_start():
    server = pm.PrometheusServer("http://127.0.0.1:8499", "groups: [{name: x, rules: [{record: a, expr: 'rate('}]}]",
                                 eng.free_port(8470, pm.PORT_RANGE))
    with pytest.raises(pm.PrometheusError, match="promtool rejects"):
        server.start()
    assert server.proc is None and not server.workdir.exists()


@pytest.mark.live
def test_it_scrapes_answers_and_stops(tmp_path):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(METRICS)

    target_port = eng.free_port(8470, pm.PORT_RANGE)
    httpd = HTTPServer(("127.0.0.1", target_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = eng.free_port(target_port + 1, pm.PORT_RANGE)
        with pm.PrometheusServer(f"http://127.0.0.1:{target_port}", ar.rules_yaml(), port) as server:
            assert server.base_url == f"http://127.0.0.1:{port}"
            server.wait_for_scrape()
            deadline = __import__("time").monotonic() + 10
            while not server.query(ar.WAITING) and __import__("time").monotonic() < deadline:
                __import__("time").sleep(0.5)
            (sample,) = server.query(ar.WAITING)
            assert float(sample["value"][1]) == 7.0
            assert sample["metric"] == {"__name__": ar.WAITING, "job": pm.ENGINE_JOB,
                                        "instance": f"127.0.0.1:{target_port}"}
            assert isinstance(server.alerts(), list)
            with pytest.raises(pm.PrometheusError, match="bad_data"):
                server.query("rate(")
            pgid, workdir = server.proc.pid, server.workdir
        assert eng.group_members(pgid) == []
        assert eng.port_is_free(port)
        assert not workdir.exists()
    finally:
        httpd.shutdown()
        httpd.server_close()


# --------------------------------------------------------------------------- the probe's configuration


def test_the_probe_config_and_its_scrape_job_pass_the_checkers(tmp_path):
    spec = prb.ProbeSpec("tiny-llama", interval_s=2.0, timeout_s=1.5)
    (tmp_path / "rules.yml").write_text(ar.rules_yaml())
    config = pm.config_yaml(["127.0.0.1:8401"], scrape_interval_s=1, extra_scrape_configs=(
        prb.scrape_config("127.0.0.1:8402", "http://127.0.0.1:8401", spec),))
    (tmp_path / "prometheus.yml").write_text(config)
    check = subprocess.run([pm.binary("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "blackbox.yml").write_text(prb.blackbox_config(spec))
    check = subprocess.run([prb.binary(), f"--config.file={tmp_path / 'blackbox.yml'}", "--config.check"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert '"max_tokens": 1' in spec.body() and "llm_completion" in config


@pytest.mark.parametrize("kwargs, match", [({"interval_s": 0.1}, "interval_s"), ({"timeout_s": 2.0}, "timeout_s")])
def test_bad_probe_timing_is_refused(kwargs, match):
    with pytest.raises(pm.PrometheusError, match=match):
        prb.ProbeSpec("m", **{"interval_s": 2.0, "timeout_s": 1.0, **kwargs})


def test_the_api_key_reaches_the_exporter_in_a_private_file_only(monkeypatch, tmp_path):
    monkeypatch.setenv(eng.API_KEY_ENV, "sk-secret-123")
    monkeypatch.setenv("FAKE_PID_DIR", str(tmp_path))
    for k, v in fake_binaries(tmp_path).items():
        monkeypatch.setenv(k, v)
    with prb.BlackboxExporter(prb.ProbeSpec("m"), eng.free_port(8470, pm.PORT_RANGE)) as exporter:
        config = (exporter.workdir / "blackbox.yml").read_text()
        token = exporter.workdir / "bearer_token"
        assert "sk-secret" not in config and str(token) in config
        assert token.read_text() == "sk-secret-123" and (token.stat().st_mode & 0o777) == 0o600
        workdir = exporter.workdir
    assert not workdir.exists()


# --------------------------------------------------------------------------- never orphaned

HARNESS = textwrap.dedent("""
    import sys, time
    from selfhost import alertrules
    from selfhost.live import engine as eng, probe as prb, prometheus as pm
    port = eng.free_port(8470, pm.PORT_RANGE)
    exporter = prb.BlackboxExporter(prb.ProbeSpec("m"), eng.free_port(port + 1, pm.PORT_RANGE)).start()
    server = pm.PrometheusServer(sys.argv[1], alertrules.rules_yaml(), port).start()
    print(server.proc.pid, exporter.proc.pid, port, flush=True)
    time.sleep(120)
""")


def gone(pids: list[int], within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if all(not Path(f"/proc/{p}").exists() or "Z" == Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
               for p in pids):
            return True
        time.sleep(0.1)
    return False


def port_freed(port: int, timeout_s: float = 10.0) -> bool:
    """Whether the port can be bound again within ``timeout_s`` (the kernel closes a dead process's sockets
    as it reaps it; a loaded machine may take a moment)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if eng.port_is_free(port):
            return True
        time.sleep(0.2)
    return eng.port_is_free(port)


def sigkill_harness(env: dict[str, str], target: str) -> tuple[list[int], int]:
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, target], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, **env}, cwd=paths.ROOT)
    try:
        line = harness.stdout.readline()
        assert line, "the harness did not start Prometheus"
        prom_pid, exporter_pid, port = map(int, line.split())
        assert Path(f"/proc/{prom_pid}").exists() and Path(f"/proc/{exporter_pid}").exists()
        harness.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can clean up
        harness.wait(timeout=10)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=10)
        harness.stdout.close()
    return [prom_pid, exporter_pid], port


def test_prometheus_and_the_exporter_die_with_a_sigkilled_harness(tmp_path):
    """Fake binaries: the parent-death signal, not any clean-up code, ends them."""
    pids, port = sigkill_harness(fake_binaries(tmp_path), "http://127.0.0.1:8499")
    assert gone(pids), f"orphaned: {pids}"
    assert port_freed(port), f"port {port} still bound after its Prometheus died"


def test_the_guard_takes_the_engines_whole_group_down_with_a_sigkilled_harness(tmp_path):
    script = textwrap.dedent("""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-m", "selfhost.live.guard", "--parent", str(os.getpid()), "--",
                                  sys.executable, "-c",
                                  "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
                                  "'import time; time.sleep(120)']); time.sleep(120)"],
                                 start_new_session=True)
        time.sleep(1.5)
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=paths.ROOT)
    try:
        guard_pid = int(harness.stdout.readline())
        members = [guard_pid, *guard.descendants(guard_pid)]
        assert len(members) == 3, members  # the guard, the "API server", its "engine core"
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=10)
        harness.stdout.close()
    assert gone(members), f"orphaned: {members}"


def test_the_guard_refuses_a_bad_command_line():
    out = subprocess.run([sys.executable, "-m", "selfhost.live.guard", "--", "true"], capture_output=True, text=True,
                         cwd=paths.ROOT, timeout=30)
    assert out.returncode == 2 and "usage" in out.stderr


@pytest.mark.live
def test_real_prometheus_and_exporter_die_with_a_sigkilled_harness():
    pids, port = sigkill_harness({}, "http://127.0.0.1:8499")
    assert gone(pids), f"orphaned: {pids}"
    assert port_freed(port), f"port {port} still bound after its Prometheus died"


@pytest.mark.live
def test_the_probe_sends_a_real_completion():
    """Real Prometheus and blackbox exporter against a stand-in engine: the probe succeeds while it
    answers and fails (timeout) while it hangs."""
    behaviour = {"mode": "ok"}
    with FakeOpenAI(eng.free_port(8470, pm.PORT_RANGE), behave=lambda i: behaviour["mode"]) as fake:
        spec = prb.ProbeSpec("fake", interval_s=1.0, timeout_s=0.5)
        with prb.BlackboxExporter(spec, eng.free_port(fake.port + 1, pm.PORT_RANGE)) as exporter:
            extra = (prb.scrape_config(exporter.address, fake.url, spec),)
            with pm.PrometheusServer(fake.url, ar.rules_yaml(), eng.free_port(fake.port + 2, pm.PORT_RANGE),
                                     extra_scrape_configs=extra) as server:
                server.wait_for_scrape()
                assert wait_for(server, 'probe_success{module="llm_completion"}', lambda v: v == 1)
                behaviour["mode"] = "hang"
                assert wait_for(server, 'probe_success{module="llm_completion"}', lambda v: v == 0)
                ratio = wait_for(server, ar.PROBE_FAILURE_RATIO, lambda v: v > 0)
                assert ratio and ratio["metric"]["instance"] == f"{fake.url}/v1/completions"


def wait_for(server: pm.PrometheusServer, expr: str, ok, within_s: float = 20.0) -> dict | None:
    """The first sample of ``expr`` whose value passes ``ok``, polled for ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        result = server.query(expr)
        if result and ok(float(result[0]["value"][1])):
            return result[0]
        time.sleep(0.5)
    return None
