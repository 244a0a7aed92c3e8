"""Drives a built page's live controls in headless Chromium (Debian's, through the pinned Python playwright).

:func:`drive` takes a job: ``url``, ``chromium``, ``flags``, ``screenshot``, ``states`` (each a
list of steps: each step's signals are set through the page's vega view, kept in
``window.selfhostViews`` by :mod:`selfhost.charts.theme`, then the view runs), ``signals`` (the
signals read back after each) and ``ui`` (each
``{action: "fill"|"range"|"select"|"check", name, value}`` works the page's own input of that
name, the signal's). After each state and each action the figures and the cost curves are read
from the view's scenegraph. Every request the page makes is recorded; any that is not for the
page's own origin is aborted, and no host name resolves but 127.0.0.1 (``--host-resolver-rules``).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from selfhost import paths

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: What the book's theme itself logs on every page (sphinx-thebe declares its URL twice; the
#: pydata theme finds no stored theme mode): not the controls' concern.
THEME_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")

#: Installs ``window.__read`` (the figures, curves, the named signals, text and inputs of the controls' view)
#: and ``window.__set`` (set signals step by step, running the view after each).
INSTALL = """(names) => {
    const el = document.querySelector('.selfhost-controls .selfhost-chart');
    const view = window.selfhostViews[el.id];
    window.__read = () => {
      const seen = { figures: null, selfhost: [], api: [] };
      const walk = (node) => {
        for (const item of (node && node.items) || []) {
          const d = item.datum;
          if (d && d.line_answer !== undefined && seen.figures === null) {
            seen.figures = Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'caps' && k !== 'vols'));
          }
          if (d && d.kind === 'self-host' && d.usd_per_month !== undefined) seen.selfhost.push([d.volume_tok_per_day, d.usd_per_month]);
          if (d && d.kind === 'API' && d.usd_per_month !== undefined) seen.api.push([d.volume_tok_per_day, d.usd_per_month]);
          walk(item);
        }
      };
      walk(view.scenegraph().root);
      const signals = {};
      for (const name of names) signals[name] = view.signal(name);
      seen.signals = signals;
      const svg = el.querySelector('svg');
      seen.text = svg.textContent;
      const box = svg.getBoundingClientRect();
      seen.outside = [...svg.querySelectorAll('text')].filter((t) => {
        const r = t.getBoundingClientRect();
        return r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5);
      }).map((t) => t.textContent);
      seen.inputs = Object.fromEntries([...el.querySelectorAll('input, select')].map(
        (i) => [i.name, i.type === 'checkbox' ? i.checked : i.value]));
      return seen;
    };
    window.__set = async (steps) => {
      for (const step of steps) {
        for (const [name, value] of Object.entries(step)) view.signal(name, value);
        await view.runAsync();
      }
    };
}
"""

WAIT = """() => {
  const el = document.querySelector('.selfhost-controls .selfhost-chart');
  return el && window.selfhostViews && window.selfhostViews[el.id];
}"""

RUN = """async () => {
  const el = document.querySelector('.selfhost-controls .selfhost-chart');
  await window.selfhostViews[el.id].runAsync();
}"""

SLIDE = """(el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }"""


def drive(job: dict[str, Any]) -> dict[str, Any]:
    """Run ``job`` (see the module's docstring); what the page showed, requested and logged."""
    from playwright.sync_api import sync_playwright

    parts = urlsplit(job["url"])
    origin = f"{parts.scheme}://{parts.netloc}"
    out: dict[str, Any] = {"requests": [], "blocked": [], "errors": [], "states": [], "ui": [], "initial": None}
    phase = ["load"]

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(origin + "/"):
            r.continue_()
        else:
            out["blocked"].append(url)
            r.abort("blockedbyclient")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=job["chromium"], args=[
            *job["flags"], "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 1400}, service_workers="block")
            context.route("**/*", route)
            context.on("request", lambda r: out["requests"].append({"phase": phase[0], "url": r.url}))
            page = context.new_page()
            page.on("pageerror", lambda e: out["errors"].append(str(e)))
            page.on("console", lambda m: out["errors"].append(m.text) if m.type == "error" else None)
            page.goto(job["url"], wait_until="load")
            page.wait_for_function(WAIT, timeout=30_000)
            page.evaluate(INSTALL, job["signals"])
            out["initial"] = page.evaluate("() => window.__read()")
            phase[0] = "controls"
            for steps in job["states"]:
                page.evaluate("(s) => window.__set(s)", steps)
                out["states"].append(page.evaluate("() => window.__read()"))
            for a in job["ui"]:
                name = a["name"]
                sel = f'.selfhost-controls [name="{name}"]'
                if a["action"] == "fill":
                    page.fill(sel, str(a["value"]))
                elif a["action"] == "select":
                    page.select_option(sel, a["value"])
                elif a["action"] == "check":
                    page.set_checked(sel, bool(a["value"]))
                elif a["action"] == "range":
                    page.eval_on_selector(sel, SLIDE, str(a["value"]))
                page.wait_for_timeout(50)
                page.evaluate(RUN)
                out["ui"].append(page.evaluate("() => window.__read()"))
            if job.get("screenshot"):
                page.locator(".selfhost-controls").screenshot(path=job["screenshot"])
        finally:
            browser.close()
    return out


def page_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters an executed notebook ran with: its parameters cell's defaults, then papermill's injected ones."""
    import nbformat

    out: dict[str, Any] = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                    target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                    out[getattr(target, "id", "")] = ast.literal_eval(node.value)
    return out


def controls_start(notebook: Path) -> dict[str, Any]:
    """Where an executed notebook's live controls start: each parameter of its controls' spec -> its value
    (or, for a control whose value follows a select, its expression)."""
    import nbformat

    from selfhost.charts.theme import VEGALITE_MIME

    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            spec = output.get("data", {}).get(VEGALITE_MIME)
            if spec and any(p["name"] == "problem" for p in spec.get("params", [])):
                return {p["name"]: p.get("value", p.get("expr")) for p in spec["params"]}
    raise AssertionError(f"{notebook.name}: no live controls among its outputs")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_book(page: str) -> Iterator[str]:
    """Serve the built book from a local port for as long as the block runs; its address (fails without the page)."""
    if not (paths.HTML / "book" / "analyses" / f"{page}.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first (make test does)")
    handler = functools.partial(QuietHandler, directory=str(paths.HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def check_drawn_inside(out: dict[str, Any]) -> None:
    """What :func:`drive` saw: at every state, every text of the figures and the chart inside the drawing (an axis
    title the view left where its labels were narrower is cut off by the page)."""
    for i, seen in enumerate([out["initial"], *out["states"], *out["ui"]]):
        assert seen["outside"] == [], f"read {i}: drawn outside the view, cut off: {seen['outside']}"


def check_offline(out: dict[str, Any], server: str) -> None:
    """What :func:`drive` saw: no console error but the theme's, nothing requested but the page's own files, and
    nothing at all once the controls moved."""
    assert [e for e in out["errors"] if not any(k in e for k in THEME_ERRORS)] == []
    assert out["blocked"] == []
    assert [r["url"] for r in out["requests"] if not r["url"].startswith(server + "/")] == []
    assert [r["url"] for r in out["requests"] if r["phase"] == "controls"] == []
