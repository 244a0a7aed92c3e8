"""Stand-ins for the monitoring tests: an OpenAI-like streaming server, and fake ``prometheus`` and
``prometheus-blackbox-exporter`` binaries (no real engine or Prometheus, so no lock needed).

- :class:`FakeOpenAI`: ``/v1/completions`` streams tokens the way vLLM does; ``behave`` picks
  what each request gets (``ok``, ``slow``, ``cut``, ``http500``, ``error_event``, ``hang``,
  ``close``); ``/metrics``, ``/v1/models`` and ``/health`` answer like vLLM's.
- :func:`fake_binaries`: executable wrappers around this file (``python fakes.py prometheus
  ARGS`` / ``blackbox ARGS``) for ``$SELFHOST_PROMETHEUS`` and ``$SELFHOST_BLACKBOX``; each
  writes its pid to ``$FAKE_PID_DIR`` and answers the endpoints the harness uses.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

METRICS = """# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="fake"} 0.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="fake"} 0.0
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.0e9
"""


class FakeOpenAI:
    """An OpenAI-compatible streaming server on 127.0.0.1 in a thread; ``with FakeOpenAI(port) as f:``."""

    def __init__(self, port: int, behave: Callable[[int], str] = lambda i: "ok", tokens: int = 5,
                 token_delay_s: float = 0.01) -> None:
        self.port, self.behave, self.tokens, self.token_delay_s = port, behave, tokens, token_delay_s
        self.count = 0
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every "hang"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, "")
                elif self.path == "/v1/models":
                    self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}))
                elif self.path == "/metrics":
                    self._send(200, METRICS, "text/plain")
                else:
                    self._send(404, "{}")

            def _chunk(self, payload: str) -> None:
                data = payload.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    index, fake.count = fake.count, fake.count + 1
                mode = fake.behave(index)
                if mode == "close":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "http500":
                    self._send(500, json.dumps({"error": {"message": "boom", "code": 500}}))
                    return
                if not body.get("stream"):
                    if mode == "hang":
                        fake.release.wait(30)
                    self._send(200, json.dumps({"choices": [{"text": "ok", "finish_reason": "length"}]}))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if mode == "hang":
                    fake.release.wait(30)
                    return
                if mode == "slow":
                    time.sleep(1.0)
                n = fake.tokens if mode != "cut" else 2
                for k in range(n):
                    time.sleep(fake.token_delay_s)
                    self._chunk(f"data: {json.dumps({'choices': [{'text': f't{k}', 'finish_reason': None}]})}\n\n")
                if mode == "cut":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "error_event":
                    self._chunk(f"data: {json.dumps({'error': {'message': 'engine error', 'code': 500}})}\n\n")
                else:
                    self._chunk(f"data: {json.dumps({'choices': [{'text': '', 'finish_reason': 'length'}]})}\n\n")
                    self._chunk(f"data: {json.dumps({'choices': [], 'usage': {'completion_tokens': n}})}\n\n")
                self._chunk("data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]  # clients hang up
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def fake_binaries(folder: Path) -> dict[str, str]:
    """Executable fake ``prometheus`` and blackbox exporter in ``folder``; the environment that selects them."""
    env = {}
    for name, var in (("prometheus", "SELFHOST_PROMETHEUS"), ("blackbox", "SELFHOST_BLACKBOX")):
        path = folder / f"fake-{name}"
        path.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} {name} \"$@\"\n")
        path.chmod(0o755)
        env[var] = str(path)
    env["FAKE_PID_DIR"] = str(folder)
    return env


def _serve_fake(kind: str, argv: list[str]) -> None:
    if "--version" in argv:
        print(f"{kind}, version 0.0.0-fake (branch: test)")
        return
    address = next(a.split("=", 1)[1] for a in argv if a.startswith("--web.listen-address="))
    host, port = address.rsplit(":", 1)
    (Path(os.environ.get("FAKE_PID_DIR", ".")) / f"{kind}.pid").write_text(str(os.getpid()))
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    answers = {
        "/-/ready": "ready", "/metrics": "# fake\n",
        "/api/v1/targets": json.dumps({"status": "success", "data": {"activeTargets": [{"health": "up"}]}}),
        "/api/v1/alerts": json.dumps({"status": "success", "data": {"alerts": []}}),
        "/api/v1/query": json.dumps(empty), "/api/v1/query_range": json.dumps(empty),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = answers.get(self.path.split("?", 1)[0])
            data = (body or "not found").encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    _serve_fake(sys.argv[1], sys.argv[2:])
