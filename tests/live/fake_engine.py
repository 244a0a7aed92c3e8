"""A stand-in for an engine process, for the harness's fault tests (run as a script).

``python fake_engine.py PORT MODE`` where MODE is:
- ``crash``: print a few log lines and exit 1 without listening (an engine that fails to start);
- ``die-on-request``: an OpenAI-like server (/health, /v1/models, /metrics) that exits the
  moment a completion is requested (an engine that dies mid-run);
- ``not-openai``: a web server that answers 200 with an HTML page everywhere;
- ``hang``: print a line and sleep (an engine that never answers);
- ``http-500``: an OpenAI-like server whose every completion answers HTTP 500;
- ``cut-stream``: completions stream four tokens, then the connection closes without
  ``[DONE]`` (a stream cut off mid-answer);
- ``slow``: completions are accepted and never answered (a hung request);
- ``ok``: completions stream exactly ``max_tokens`` tokens, with usage and ``[DONE]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

METRICS = """# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model_name="fake"} 0.0
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="fake"} 0.0
"""


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    print(f"fake engine starting on {port} in mode {mode}", flush=True)
    if mode == "crash":
        print("RuntimeError: not enough memory for the KV cache (fake)", flush=True)
        sys.exit(1)
    if mode == "hang":
        time.sleep(3600)

    class Handler(BaseHTTPRequestHandler):
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
            if mode == "not-openai":
                self._send(200, "<html><body>hello</body></html>", "text/html")
            elif self.path == "/health":
                self._send(200, "")
            elif self.path == "/v1/models":
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}))
            elif self.path == "/metrics":
                self._send(200, METRICS, "text/plain")
            else:
                self._send(404, "{}")

        def do_POST(self) -> None:
            if not self.path.startswith("/v1/completions"):
                self._send(404, "{}")
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if mode == "die-on-request":
                print("fake engine: dying on a completion request", flush=True)
                os._exit(3)
            if mode == "http-500":
                self.send_response(500, "Internal Server Error")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
            if mode == "slow":
                time.sleep(3600)
            n = int(body.get("max_tokens", 16))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for _ in range(4 if mode == "cut-stream" else n):
                chunk = {"choices": [{"text": " a", "index": 0}], "object": "text_completion"}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            if mode == "cut-stream":
                self.wfile.flush()
                self.close_connection = True
                return
            usage = {"choices": [], "usage": {"completion_tokens": n, "prompt_tokens": 8}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
