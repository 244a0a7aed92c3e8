"""The built book (``make book`` runs before these in ``make test``)."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.verdicts import NOT_ANALYSED, VERDICTS

pytestmark = pytest.mark.book
HTML = paths.HTML
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first (make test does)")
    return HTML


def test_claims_json_lists_every_claim(built):
    rows = json.loads((built / "claims.json").read_text())
    claims = ledger.load_claims(paths.data_dir() / "claims.yaml")
    assert [r["id"] for r in rows] == [c.claim_id for c in claims]
    for r in rows:
        assert set(r) >= {"id", "verdict", "figures", "analysis"}
        assert r["verdict"] in (*VERDICTS, NOT_ANALYSED)
        if r["verdict"] != NOT_ANALYSED:
            assert (built / r["analysis"]).exists(), r["analysis"]
            assert r["figures"], f"{r['id']} has a verdict but no figures"


def test_every_notebook_verdict_reaches_the_ledger(built):
    rows = {r["id"]: r for r in json.loads((built / "claims.json").read_text())}
    for nb in pipeline.notebooks():
        for verdict in ledger.verdicts_in(paths.EXECUTED / nb.name):
            assert rows[verdict.claim_id]["verdict"] == verdict.verdict
            assert rows[verdict.claim_id]["analysis"] == f"book/analyses/{nb.stem}.html"


def test_ledger_page_shows_all_claims_and_links_analyses(built):
    page = (built / "book" / "ledger.html").read_text()
    for i in range(1, 17):
        assert f"C{i:02d}" in page
    assert 'href="analyses/decision-tree.html"' in page


def test_pages_load_nothing_from_the_network(built):
    for page in built.rglob("*.html"):
        text = page.read_text()
        assert "cdn.jsdelivr.net" not in text, page
        assert "require.min.js" not in text and "require.js" not in text, page


def test_vega_bundle_is_served_with_the_book(built):
    bundle = built / "_static" / "vega-bundle.js"
    assert bundle.stat().st_size > 100_000
    assert "window.vegaEmbed" in bundle.read_text()


@pytest.fixture(scope="module")
def server(built):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def chromium(*args: str, timeout: int = 90) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=10000"]
    profile = paths.BUILD / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    return subprocess.run([CHROMIUM, *flags, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test-deps installs it)")
def test_chart_draws_in_headless_chromium(server):
    url = f"{server}/book/analyses/decision-tree.html"
    dom = chromium("--dump-dom", url).stdout
    containers = re.findall(r'<div class="selfhost-chart[^"]*"[^>]*>(.{0,400})', dom, flags=re.S)
    assert containers, "no chart container on the page"
    drawn = [c for c in containers if "<svg" in c or "<canvas" in c]
    assert len(drawn) == len(containers), "a chart container holds no drawing: the vega bundle did not run"
    shots = paths.BUILD / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "decision-tree.png"
    chromium("--window-size=1280,4000", f"--screenshot={shot}", url)
    assert shot.stat().st_size > 10_000
