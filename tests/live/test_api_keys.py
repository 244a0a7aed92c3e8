"""API keys come from the environment, never from a parameter: papermill writes a notebook's
parameters into the executed notebook, and the CLI's options end up in shell history and in
run records (``client.args``)."""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from selfhost import cli
from selfhost.book import pipeline
from selfhost.live import engine as eng

SECRET_NAME = re.compile(r"(api_?key|token(?!s|izer)|secret|password|bearer|credential)", re.IGNORECASE)
KEY = "sk-test-0123456789"


def test_no_notebook_has_a_secret_parameter():
    found = {nb.stem: [name for name in pipeline.parameters_of(nb) if SECRET_NAME.search(name)]
             for nb in pipeline.notebooks()}
    assert not {k: v for k, v in found.items() if v}, "keys must come from the environment, not a parameter"


def test_no_command_takes_a_key_as_an_option():
    parser = cli.build_parser()
    options: list[str] = []

    def walk(p: argparse.ArgumentParser) -> None:
        for action in p._actions:
            options.extend(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)

    walk(parser)
    assert "--url" in options and "--ttft-slo-ms" in options  # the walk reached the subcommands
    assert not [o for o in options if SECRET_NAME.search(o.replace("-", "_"))]


@pytest.fixture
def keyed_server():
    """An OpenAI-like server that answers /v1/models only with ``Authorization: Bearer KEY``."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == f"Bearer {KEY}"
            body = json.dumps({"data": [{"id": "m"}]} if ok else {"error": "unauthorized"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

    port = eng.free_port(8480, range(8400, 8500))
    httpd = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def test_attach_sends_the_key_from_the_environment(keyed_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert eng.attach(keyed_server, "vllm").model_id == "m"


def test_without_the_key_the_error_says_where_it_comes_from(keyed_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(eng.NotOpenAICompatible, match=r"HTTP 401.*export OPENAI_API_KEY"):
        eng.attach(keyed_server, "vllm")


def test_the_key_never_reaches_a_record(keyed_server, monkeypatch, tmp_path, capsys):
    """``selfhost monitor overload --url`` with a key in the environment: whatever it writes
    (here it stops early: Prometheus' port is taken), the key is in no file and no output."""
    import socket

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    port = eng.free_port(8481, range(8400, 8500))
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        code = cli.main(["monitor", "overload", "--url", keyed_server, "--runs-dir", str(tmp_path),
                         "--prometheus-port", str(port)])
    assert code == 2
    out = capsys.readouterr()
    assert "already in use" in out.err and KEY not in out.out + out.err
    assert all(KEY not in p.read_text() for p in tmp_path.rglob("*") if p.is_file())
