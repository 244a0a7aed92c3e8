"""The built book, read the way a reader reads it (``make book`` runs before these in ``make test``).

Every page of ``_toc.yml`` is opened in headless Chromium (Debian's package, driven by
Playwright) at a 1280 px window; what the page shows is measured, not its HTML source:

- no literal markdown (``| figure | value |``, ``**bold**``) and no unresolved role
  (``{glue:text}``) in the text outside code;
- no console error, page error or failed request (the book loads nothing from the network);
- every chart drawn with marks: data marks with finite geometry, not an empty svg, and no
  warning from vega (a log scale over zero draws nothing and only warns);
- no table or chart wider than the text column (a table may scroll sideways inside its own
  container), no truncated cell or label (``cus...``), no page that scrolls sideways;
- tables for people: no raw DataFrame or Styler output, no ``nan``/``inf``/``True`` or
  six-decimal floats in a cell;
- plumbing collapsed: no code cell open on the page but the parameters cell;
- each verdict labelled with its evidence and its robustness, on its page and the ledger;
- glossary terms linked at their first use on each page;
- no authoring notes, no local absolute path, no placeholder repository;
- the custom-build banner on every page exactly when the build had custom parameters.

A full-page screenshot of each page is saved under ``_build/screenshots/``. Each check is a
test per page, so that a failure names the page and what is wrong with it.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.verdicts import EVIDENCE_KINDS, NOT_ANALYSED, VERDICTS

pytestmark = pytest.mark.book
HTML = paths.HTML
SHOTS = paths.BUILD / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The flags this machine's Chromium needs (no sandbox as root; no background networking on a closed network).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def toc_pages() -> list[str]:
    """The site paths of every page in ``_toc.yml`` (``book/intro.html``, ...), in reading order."""
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return [f"{f}.html" for f in files]


PAGES = toc_pages()
ANALYSES = [p for p in PAGES if p.startswith("book/analyses/")]
#: Glossary terms whose first use on a page must link to the glossary (case-sensitive
#: patterns; everyday words such as "decode" or units in headers are not checked).
LINKED_TERMS = {
    "TTFT": r"\bTTFT\b", "TPOT": r"\bTPOT\b", "ITL": r"\bITL\b", "MBU": r"\bMBU\b", "MFU": r"\bMFU\b",
    "GQA": r"\bGQA\b", "MLA": r"\bMLA\b", "MoE": r"\bMoE\b", "goodput": r"\b[Gg]oodput\b",
    "KV cache": r"\bKV[ -]cache\b", "tensor parallel": r"\b[Tt]ensor[ -]parallel",
}
#: Phrases that are notes between the book's authors, not text for a reader.
AUTHORING_NOTES = [r"SOURCES\.md", r"CLAIMS\.md", r"STYLE\.md", r"CONVENTIONS", r"\bshared/", r"re-read here",
                   r"the project's shared", r"\bTODO\b", r"\bFIXME\b", r"\bXXX\b", r"\bWIP\b"]
#: Local absolute paths: the reader's machine is nobody's business (and the site must not show the builder's).
LOCAL_PATH = re.compile(r"(?<![\w.:/])/(?:work|tmp|home|root|Users|var/folders)/[\w.-]")
PLACEHOLDER_REPOS = ["executablebooks/jupyter-book", "binder-examples/"]


@pytest.fixture(scope="module")
def built() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first (make test does)")
    return HTML


@pytest.fixture(scope="module")
def claims(built) -> list[dict]:
    return json.loads((built / "claims.json").read_text())


#: Where ``make book`` records what it built (:data:`selfhost.book.pipeline.BUILD_RECORD`).
BUILD_RECORD = paths.BUILD / "book-build.json"


@pytest.fixture(scope="module")
def record(built) -> dict:
    """The build record: commit, parameters, repository address; {} for a book built before records existed."""
    return json.loads(BUILD_RECORD.read_text()) if BUILD_RECORD.exists() else {}


# ---------------------------------------------------------------- the site's files


def test_claims_json_lists_every_claim(claims):
    listed = ledger.load_claims(paths.data_dir() / "claims.yaml")
    assert [r["id"] for r in claims] == [c.claim_id for c in listed]
    for r in claims:
        assert set(r) >= {"id", "verdict", "figures", "analysis", "evidence", "robust", "flips"}, r["id"]
        assert r["verdict"] in (*VERDICTS, NOT_ANALYSED)
        if r["verdict"] != NOT_ANALYSED:
            assert (HTML / r["analysis"]).exists(), r["analysis"]
            assert r["figures"], f"{r['id']} has a verdict but no figures"


def test_every_notebook_verdict_reaches_the_ledger(claims):
    rows = {r["id"]: r for r in claims}
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
    found = [f"{page.relative_to(built)}: {name}" for page in sorted(built.rglob("*.html"))
             for name in ("cdn.jsdelivr.net", "unpkg.com", "require.min.js", "require.js") if name in page.read_text()]
    fail_on(found, "pages that would load scripts from the network")


def test_vega_bundle_is_served_with_the_book(built):
    bundle = built / "_static" / "vega-bundle.js"
    assert bundle.stat().st_size > 100_000
    assert "window.vegaEmbed" in bundle.read_text()


def test_no_local_absolute_path_anywhere_in_the_site(built):
    """Pages, sources (the .ipynb a reader downloads) and claims.json name no path of the machine that built them."""
    leaks = []
    for path in sorted(built.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".json", ".md", ".txt", ".js") \
                and "_static" not in path.parts:
            text = path.read_text(errors="replace")
            hits = [text[max(0, m.start() - 30):m.end() + 50] for m in LOCAL_PATH.finditer(text)]
            if hits:
                leaks.append(f"{path.relative_to(built)}: {len(hits)} paths, the first {hits[0]!r}")
    fail_on(leaks, "local absolute paths in the site")


def test_every_linked_term_has_its_glossary_entry(built):
    """A {term} link resolves only to an entry of book/glossary.md (and `jupyter-book build -W` refuses any other)."""
    glossary = (built / "book" / "glossary.html").read_text()
    missing = [t for t in LINKED_TERMS if f'id="term-{t.replace(" ", "-")}"' not in glossary]
    fail_on(missing, "glossary entries missing")
    intro = (built / "book" / "intro.html").read_text()
    assert 'href="glossary.html#term-TTFT"' in intro  # the intro's own {term} links rendered


def test_every_rerun_example_on_a_page_is_accepted_by_make_book(built):
    """A page's YAML examples and `-p name value` examples name only parameters that `make book PARAMS=` takes."""
    import re

    import nbformat

    from selfhost.data import yamlfile as paramsfile
    from selfhost.errors import SelfhostError

    books = pipeline.notebooks()
    problems = []
    for nb in books:
        executed = paths.EXECUTED / nb.name
        text = "\n".join(c.source for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "markdown")
        for block in re.findall(r"```ya?ml\n(.*?)```", text, flags=re.S):
            try:
                pipeline.resolve_params(paramsfile.parse_params(block, f"{nb.stem} example"), books)
            except SelfhostError as exc:
                problems.append(f"{nb.stem}: {exc}")
        declared = pipeline.parameters_of(nb)
        for name in re.findall(r"(?:^|\s)-p\s+(\w+)", text):
            if name not in declared:
                problems.append(f"{nb.stem}: `-p {name}` is not a parameter of this notebook")
    fail_on(problems, "re-run examples that `make book PARAMS=` refuses")


def test_no_placeholder_repository(built):
    found = [f"{p.relative_to(built)}: {name}" for p in sorted(built.rglob("*.html"))
             for name in PLACEHOLDER_REPOS if name in p.read_text()]
    fail_on(found, "placeholder repositories")


# ---------------------------------------------------------------- the pages in a browser

INSPECT = r"""
() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const column = article.getBoundingClientRect();
  const out = {literal: [], roles: [], charts: [], wide: [], truncated: [], rawFrames: [], rawValues: [],
               openCode: [], glossary: {}, banner: null, headerLinks: [], pageWide: false, text: ''};
  const skip = 'pre, code, script, style, .cell_input, .highlight, svg, .selfhost-chart';
  // the text a reader sees, outside code: a clone without code, read with line breaks
  const clone = article.cloneNode(true);
  clone.querySelectorAll(skip).forEach(e => e.remove());
  document.body.appendChild(clone);
  clone.style.position = 'absolute'; clone.style.left = '-20000px'; clone.style.width = column.width + 'px';
  const text = clone.innerText;
  clone.remove();
  out.text = text;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (/^\|.*\|.*\|$/.test(l) || /\|\s*:?[-\u2013\u2014]{1,}:?\s*\|/.test(l)) out.literal.push(l.slice(0, 160));
    else if (/\*\*\S[^*]*\*\*/.test(l) || /(^|\s)#{2,6}\s/.test(l)) out.literal.push(l.slice(0, 160));
    const role = l.match(/\{(glue|glue:text|glue:md|term|doc|ref|numref|eval)[:}][^\s]*/);
    if (role) out.roles.push(role[0].slice(0, 80));
  }
  // charts: data marks (not axes, legends or titles) with finite geometry
  for (const box of article.querySelectorAll('.selfhost-chart, .vega-embed')) {
    if (box.closest('.selfhost-chart') && box.closest('.selfhost-chart') !== box) continue;
    const svg = box.querySelector('svg');
    const r = (svg || box).getBoundingClientRect();
    const chart = {id: box.id || '(no id)', svg: !!svg, marks: 0, drawn: 0, nan: 0, right: r.right, left: r.left,
                   natural: svg ? parseFloat(svg.getAttribute('width') || '0') : 0,
                   width: r.width, column: column.right, labels: [], text: box.textContent.slice(0, 120)};
    chart.emptyLayers = [];
    if (svg) {
      for (const layer of svg.querySelectorAll('g.role-mark:not(.mark-group)')) {
        const type = ([...layer.classList].find(c => c.startsWith('mark-')) || 'mark-?').slice(5);
        // a bar or area is drawn when it has an area; a line, rule, point or text when it has any extent
        const needsArea = ['rect', 'area', 'arc'].includes(type);
        let items = 0, drawn = 0;
        for (const el of layer.children) {
          if (el.tagName.toLowerCase() === 'title') continue;
          items += 1; chart.marks += 1;
          const geometry = ['d', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height', 'transform', 'points']
            .map(a => el.getAttribute(a) || '').join(' ');
          if (/NaN|Infinity/.test(geometry)) { chart.nan += 1; continue; }
          let b; try { b = el.getBBox(); } catch (e) { b = {width: 0, height: 0}; }
          if (needsArea ? (b.width > 0.5 && b.height > 0.5) : (b.width > 0 || b.height > 0)) drawn += 1;
        }
        chart.drawn += drawn;
        // a one-point line draws nothing by nature (its point layer shows it); bars, areas and symbols must show
        if (items && !drawn && (needsArea || type === 'symbol')) chart.emptyLayers.push(`${type} (${items} items)`);
      }
      for (const t of svg.querySelectorAll('text')) {
        if (/(\u2026|\.\.\.)\s*$/.test(t.textContent)) chart.labels.push(t.textContent);
      }
    }
    out.charts.push(chart);
  }
  // width: what is wider than the column, counting a scrolling container as its own width
  const scroller = el => {
    for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (['auto', 'scroll'].includes(s.overflowX)) return p;
    }
    return null;
  };
  for (const t of article.querySelectorAll('table')) {
    const box = (scroller(t) || t).getBoundingClientRect();
    if (box.right > column.right + 1 || box.left < column.left - 1) {
      out.wide.push({what: 'table: ' + (t.innerText || '').trim().slice(0, 60), width: Math.round(box.width),
                     column: Math.round(column.width)});
    }
    if (t.classList.contains('dataframe') || /^T_/.test(t.id || '')) {
      out.rawFrames.push((t.innerText || '').trim().split('\n')[0].slice(0, 80));
    }
    for (const cell of t.querySelectorAll('td, th')) {
      const c = cell.innerText.trim();
      if (/(\u2026|\.\.\.)$/.test(c) || (cell.scrollWidth > cell.clientWidth + 1 &&
          getComputedStyle(cell).overflowX === 'hidden')) out.truncated.push(c.slice(0, 60));
      if (cell.tagName === 'TH' && /^-?\d+\.\d+$/.test(c)) out.rawValues.push('header ' + c);
      else if (/^(nan|NaN|inf|-inf|Infinity|True|False|None|NaT|<NA>)$/.test(c) || /^-?\d+\.\d{5,}$/.test(c)) {
        out.rawValues.push(c);
      }
    }
  }
  for (const chart of out.charts) {
    // the width vega drew it at: a wider chart is cut off, or scaled down until its text is too small to read
    const natural = Math.max(chart.width, chart.natural || 0);
    if (chart.right > column.right + 1 || natural > column.width + 1) {
      out.wide.push({what: 'chart ' + chart.id, width: Math.round(natural), column: Math.round(column.width)});
    }
  }
  out.pageWide = document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
  // open code: a code cell's input that the reader sees without opening it (the parameters cell may show)
  for (const cell of article.querySelectorAll('div.cell')) {
    if (cell.classList.contains('tag_parameters')) continue;
    const input = cell.querySelector(':scope > .cell_input, :scope > details > .cell_input');
    const folded = input && (input.closest('details:not([open])') ||
                             (input.checkVisibility && !input.checkVisibility({contentVisibilityAuto: true})));
    if (input && !folded && input.offsetHeight > 0) {
      out.openCode.push(input.innerText.trim().split('\n')[0].slice(0, 80));
    }
  }
  // glossary: the first use of each term in the prose, and whether it is a link to the glossary
  const terms = %TERMS%;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const ignored = n => n.parentElement.closest(skip + ', h1, h2, h3, h4, blockquote, table, .admonition-title, ' +
                                               '.cell_output, .headerlink, figcaption, dt');
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (ignored(n)) continue;
    for (const [term, pattern] of Object.entries(terms)) {
      if (term in out.glossary) continue;
      if (new RegExp(pattern).test(n.textContent)) {
        const link = n.parentElement.closest('a');
        out.glossary[term] = !!(link && /glossary\.html#term-/.test(link.getAttribute('href') || ''));
      }
    }
  }
  const banner = document.querySelector('.selfhost-custom-build');
  if (banner) {
    const b = banner.getBoundingClientRect();
    const h2 = article.querySelector('h2');
    out.banner = {top: b.top + window.scrollY, height: b.height, text: banner.innerText.slice(0, 400),
                  beforeFirstSection: !h2 || (banner.compareDocumentPosition(h2) & Node.DOCUMENT_POSITION_FOLLOWING) > 0};
  }
  for (const a of document.querySelectorAll('.bd-header-article a, .article-header-buttons a, header a')) {
    out.headerLinks.push(a.getAttribute('href') || '');
  }
  return out;
}
""".replace("%TERMS%", json.dumps(LINKED_TERMS))

#: All charts have an svg (or say the bundle did not load) once vegaEmbed has run.
CHARTS_SETTLED = """() => [...document.querySelectorAll('.selfhost-chart')].every(
  c => c.querySelector('svg, canvas') || c.textContent.trim().length > 0)"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(built):
    handler = functools.partial(QuietHandler, directory=str(built))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def read(server) -> dict[str, dict[str, Any]]:
    """Every page of the toc, opened in Chromium: site path -> what :data:`INSPECT` measured, plus the console."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test-deps installs it)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            for site_path in PAGES:
                reports[site_path] = read_page(browser, f"{server}/{site_path}", site_path)
        finally:
            browser.close()
    (SHOTS / "pages.json").write_text(json.dumps(reports, indent=1))
    return reports


def read_page(browser: Any, url: str, site_path: str) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console: list[str] = []
    warnings: list[str] = []
    page.on("console", lambda m: (console if m.type == "error" else warnings if m.type == "warning" else [])
            .append(m.text))
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: console.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: console.append(f"HTTP {r.status}: {r.url.split('/', 3)[-1]}") if r.status >= 400 else None)
    try:
        response = page.goto(url, wait_until="load")
        if response is None or not response.ok:
            return {"missing": True}
        settled = True
        try:
            page.wait_for_function(CHARTS_SETTLED, timeout=15_000)
        except Exception:  # a chart that never draws is reported by the chart check
            settled = False
        page.wait_for_timeout(300)
        report = page.evaluate(INSPECT)
        page.screenshot(path=str(SHOTS / (site_path.removesuffix(".html").replace("/", "__") + ".png")), full_page=True)
    finally:
        page.close()
    report.update(console=console, warnings=warnings, settled=settled, missing=False)
    return report


def fail_on(problems: list[str], what: str) -> None:
    """Fail with every problem listed in full, one a line (pytest would shorten an assert's lists)."""
    if problems:
        pytest.fail(f"{what}:\n  " + "\n  ".join(str(p) for p in problems), pytrace=False)


def typographic_plain(text: str) -> str:
    """Text with Sphinx's smart quotes and dashes made plain again, to compare with the record's text."""
    return text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                                         "\u2013": "--", "\u2014": "---", "\u2026": "..."}))


def decides_claims(site_path: str) -> bool:
    """Whether the notebook behind an analysis page decides claims (a tool page says it does not)."""
    notebook = paths.NOTEBOOKS / (Path(site_path).stem + ".ipynb")
    return not notebook.exists() or pipeline.records_claims(nbformat.read(notebook, as_version=4))


def page_report(read: dict, site_path: str) -> dict[str, Any]:
    report = read[site_path]
    if report.get("missing"):
        pytest.fail(f"{site_path} is not in the built book")
    return report


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_no_literal_markdown_or_unresolved_roles(read, site_path):
    report = page_report(read, site_path)
    fail_on([f"markdown printed as text: {t!r}" for t in report["literal"]]
            + [f"a MyST role printed as text: {t!r}" for t in report["roles"]], site_path)


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_no_console_errors(read, site_path):
    """No error in the console, no uncaught exception, no failed request. No message is filtered:
    the one jupyter-book 1.x used to log (``THEBE_JS_URL`` declared twice) is fixed at its
    cause in :mod:`selfhost.book.site`."""
    fail_on(page_report(read, site_path)["console"], f"{site_path}: console errors")


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_every_chart_is_drawn_with_marks(read, site_path):
    report = page_report(read, site_path)
    problems = []
    for c in report["charts"]:
        if not c["svg"]:
            problems.append(f"{c['id']}: no svg ({c['text']!r})")
        elif c["drawn"] == 0:
            problems.append(f"{c['id']}: an empty chart ({c['marks']} marks, none drawn, {c['nan']} with NaN geometry)")
        elif c["nan"]:
            problems.append(f"{c['id']}: {c['nan']} of {c['marks']} marks have NaN geometry")
        if c.get("emptyLayers") and c["drawn"]:
            problems.append(f"{c['id']}: layers that draw nothing: {', '.join(c['emptyLayers'])}")
        if c["labels"]:
            problems.append(f"{c['id']}: truncated labels {c['labels'][:3]}")
    vega = [w for w in report["warnings"] if w.startswith(("WARN", "ERROR")) or "vega" in w.lower()]
    fail_on(problems + [f"vega: {w}" for w in vega], f"{site_path}: charts")


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_nothing_is_wider_than_the_column_or_cut_off(read, site_path):
    report = page_report(read, site_path)
    problems = [f"{w['what']!r} is {w['width']} px wide in a {w['column']} px column" for w in report["wide"]]
    problems += [f"truncated cell {c!r}" for c in report["truncated"]]
    problems += ["the page scrolls sideways"] if report["pageWide"] else []
    fail_on(problems, site_path)


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_tables_are_for_people(read, site_path):
    report = page_report(read, site_path)
    fail_on([f"raw DataFrame or Styler output (use page.show_table): {t!r}" for t in report["rawFrames"]]
            + [f"raw value in a table cell: {v!r}" for v in report["rawValues"]], site_path)


@pytest.mark.slow
@pytest.mark.parametrize("site_path", ANALYSES)
def test_plumbing_is_collapsed(read, site_path):
    """Only the parameters cell shows its code; every other cell is tagged hide-input or remove-input."""
    fail_on([f"open code cell: {c!r}" for c in page_report(read, site_path)["openCode"]],
            f"{site_path}: code a reader sees without opening it")


@pytest.mark.slow
@pytest.mark.parametrize("site_path", ANALYSES)
def test_glossary_terms_are_linked_at_first_use(read, site_path):
    report = page_report(read, site_path)
    unlinked = sorted(term for term, linked in report["glossary"].items() if not linked)
    fail_on([f"{t}: first use not linked to the glossary ({{term}}`{t}`)" for t in unlinked], site_path)


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_no_authoring_notes(read, site_path):
    text = page_report(read, site_path)["text"]
    found = [m.group(0) for pattern in AUTHORING_NOTES for m in [re.search(pattern, text)] if m]
    fail_on([f"authoring note {f!r}" for f in found], site_path)


@pytest.mark.slow
@pytest.mark.parametrize("site_path", ANALYSES)
def test_each_verdict_shows_its_evidence_and_robustness(read, claims, site_path):
    text = typographic_plain(page_report(read, site_path)["text"])
    rows = [r for r in claims if r["analysis"] == site_path]
    if not rows and not decides_claims(site_path):
        pytest.skip(f"{site_path} is a tool page: it decides no claim (its notebook says so)")
    assert rows, f"{site_path} records no verdict"
    problems = []
    for r in rows:
        if not r["evidence"]:
            problems.append(f"{r['id']}: the verdict names no evidence (Evidence(kind, detail))")
        for e in r["evidence"]:
            if typographic_plain(f"{EVIDENCE_KINDS[e['kind']]}: {e['detail']}") not in text:
                problems.append(f"{r['id']}: evidence {e['kind']!r} is not shown on the page")
        if r["robust"] is None:
            problems.append(f"{r['id']}: robustness not assessed (sensitivity=...)")
        elif "Robustness:" not in text:
            problems.append(f"{r['id']}: robustness is not shown on the page")
    fail_on(problems, site_path)


@pytest.mark.slow
def test_ledger_rows_show_evidence_and_robustness(read, claims):
    text = typographic_plain(page_report(read, "book/ledger.html")["text"])
    assert "evidence" in text and "robust" in text
    problems = []
    for r in claims:
        if r["verdict"] == NOT_ANALYSED:
            continue
        if not r["evidence"]:
            problems.append(f"{r['id']}: no evidence recorded")
        for e in r["evidence"]:
            if typographic_plain(EVIDENCE_KINDS[e["kind"]]) not in text:
                problems.append(f"{r['id']}: {e['kind']} not on the ledger")
        if r["robust"] is None:
            problems.append(f"{r['id']}: robustness not assessed")
    fail_on(problems, "ledger")


@pytest.mark.slow
@pytest.mark.parametrize("site_path", PAGES)
def test_custom_build_banner_exactly_when_the_build_was_custom(read, record, site_path):
    report = page_report(read, site_path)
    custom = bool(record.get("parameters"))
    wants_banner = custom and (site_path in ANALYSES or site_path == "book/ledger.html")
    if not wants_banner:
        assert report["banner"] is None, "a banner on a page of a default build"
        return
    banner = report["banner"]
    assert banner is not None, "no banner on a page of a custom build"
    assert banner["beforeFirstSection"] and banner["top"] < 900, "the banner is not at the top of the page"
    assert "custom parameters" in banner["text"]


@pytest.mark.slow
def test_header_links_to_the_repository(read, record):
    url = record.get("repository_url")
    links = page_report(read, "book/intro.html")["headerLinks"]
    if not url:
        pytest.skip("this build had no repository address (set SELFHOST_REPOSITORY_URL or an https origin)")
    assert url in links


@pytest.mark.slow
def test_a_screenshot_of_every_page(read):
    for site_path in PAGES:
        shot = SHOTS / (site_path.removesuffix(".html").replace("/", "__") + ".png")
        assert shot.exists() and shot.stat().st_size > 10_000, shot


# ---------------------------------------------------------------- the checks themselves, on a page of known defects

def known_page() -> Any:
    """A notebook with one of each defect the checks look for, beside its correct counterpart."""
    import altair as alt
    import nbformat
    import pandas as pd

    from selfhost.book import page as book_page
    from selfhost.charts import theme

    def html_output(text: str) -> Any:
        return nbformat.v4.new_output("display_data", data={"text/html": text, "text/plain": "x"})

    frame = pd.DataFrame({"label": ["a", "b"], "value": [0.0, 10.0]})
    blank = alt.Chart(frame).mark_bar().encode(x=alt.X("value:Q", scale=alt.Scale(type="log")), y="label:N")
    drawn = alt.Chart(frame).mark_bar().encode(x="value:Q", y="label:N")
    wide = drawn.properties(width=1200)
    theme.use_book_theme()
    code = [
        nbformat.v4.new_code_cell("x: float = 1.0  # a parameter [1]", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("hidden = 1", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_code_cell("shown = 1"),
        nbformat.v4.new_code_cell("frame", metadata={"tags": ["remove-input"]}, outputs=[
            html_output('<table class="dataframe"><tr><th>0.500000</th></tr><tr><td>nan</td><td>0.123456</td>'
                        "<td>cus...</td></tr></table>"),
            html_output('<table style="width: 2000px"><tr><td>wide</td></tr></table>'),
            html_output(book_page.table_html(pd.DataFrame({f"c{i}_count": [i] for i in range(60)}))),
            html_output(theme.chart_html(blank.to_dict())),
            html_output(theme.chart_html(drawn.to_dict())),
            html_output(theme.chart_html(wide.to_dict())),
        ]),
    ]
    prose = ("# A page of known defects\n\nThe first TTFT here is not linked; {term}`MBU` is.\n\n"
             "| figure | value |\n\nThe {term}`TTFT` later is linked.\n")
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), *code],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})


@pytest.mark.slow
def test_the_checks_find_exactly_the_known_defects(tmp_path):
    import subprocess
    import sys

    import nbformat

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test-deps installs it)")
    bundle = paths.ASSETS / "vega-bundle.js"
    if not bundle.exists():
        pytest.fail("no vega bundle in _build/assets: run `make book` first (make test does)")
    book = tmp_path / "book"
    (book / "assets").mkdir(parents=True)
    shutil.copy(bundle, book / "assets" / "vega-bundle.js")
    shutil.copy(paths.ASSETS / "favicon.svg", book / "assets" / "favicon.svg")
    shutil.copy(paths.BOOK / "glossary.md", book / "glossary.md")
    nbformat.write(known_page(), book / "page.ipynb")
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\nchapters:\n  - file: glossary\n")
    (book / "_config.yml").write_text(
        'title: known\nexecute:\n  execute_notebooks: "off"\nsphinx:\n  extra_extensions: [selfhost.book.site]\n'
        "  config:\n    html_static_path: [assets]\n    html_js_files: [vega-bundle.js]\n"
        "    nb_render_markdown_format: gfm\n    html_favicon: assets/favicon.svg\n")
    done = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "-W", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from playwright.sync_api import sync_playwright

    handler = functools.partial(QuietHandler, directory=str(book / "_build" / "html"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                report = read_page(browser, f"http://127.0.0.1:{httpd.server_address[1]}/page.html", "known-page")
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert report["console"] == []
    assert report["literal"] == ["| figure | value |"]
    assert report["openCode"] == ["shown = 1"]
    assert report["glossary"] == {"TTFT": False, "MBU": True}
    assert len(report["rawFrames"]) == 1 and report["rawValues"] == ["header 0.500000", "nan", "0.123456"]
    assert report["truncated"] == ["cus..."]
    # both wide tables scroll inside their containers; the chart drawn 1,200 px wide does not fit
    blank_chart, drawn_chart, wide_chart = report["charts"]
    assert [w["what"] for w in report["wide"]] == [f"chart {wide_chart['id']}"]
    assert blank_chart["emptyLayers"] and not drawn_chart["emptyLayers"] and drawn_chart["drawn"] == 1  # the bar of value 0 has no area
    assert any("Log scale domain includes zero" in w for w in report["warnings"])
