"""Drives a built page's live controls in headless Chromium (Debian's, through the pinned Python playwright).

:func:`drive` takes a job: ``url``, ``chromium``, ``flags``, ``screenshot``, ``states`` (each a
list of steps: each step's signals are set through the page's vega view, kept in
``window.selfhostViews`` by :mod:`selfhost.charts.theme`, then the view runs) and ``ui`` (each
``{action: "fill"|"range"|"select"|"check", name, value}`` works the page's own input of that
name, the signal's). After each state and each action the figures and the cost curves are read
from the view's scenegraph. Every request the page makes is recorded; any that is not for the
page's own origin is aborted, and no host name resolves but 127.0.0.1 (``--host-resolver-rules``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

#: Installs ``window.__read`` (the figures, curves, signals, text and inputs of the controls' view)
#: and ``window.__set`` (set signals step by step, running the view after each).
INSTALL = """() => {
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
      for (const name of ['tok_per_day', 'input_share', 'peak_to_mean_x', 'ops_usd_per_month', 'api',
        'api_input_usd_per_mtok', 'api_output_usd_per_mtok', 'problem', 'blended_usd_per_mtok', 'api_usd_per_month']) {
        signals[name] = view.signal(name);
      }
      seen.signals = signals;
      seen.text = el.querySelector('svg').textContent;
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
            page.evaluate(INSTALL)
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
