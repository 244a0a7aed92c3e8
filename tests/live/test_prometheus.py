"""The Prometheus launcher: clear errors when the binary is missing or the port is taken, and
a real start against a stand-in /metrics that scrapes, answers queries and leaves nothing behind."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from selfhost import alertrules as ar
from selfhost.live import engine as eng
from selfhost.live import prometheus as pm

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
            assert sample["metric"] == {"__name__": ar.WAITING, "job": "vllm", "instance": f"127.0.0.1:{target_port}"}
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
