"""The book's Sphinx extension: one stylesheet for tables, charts and banners; each page's scripts once.

Listed in ``_config.yml`` under ``sphinx.extra_extensions``.

- :data:`STYLESHEET` (served as ``_static/selfhost.css``): a table container
  (:data:`selfhost.book.page.TABLE_CLASS`) never spills out of the text column, it scrolls
  sideways; cells wrap rather than truncate; a chart is at most the column's width; the
  custom-build banner (:data:`BANNER_CLASS`) and the verdict stand out.
- The repository link in the site's header: the address in ``$SELFHOST_REPOSITORY_URL``
  (the pipeline sets it: see :func:`selfhost.book.pipeline.repository_url`), and no link
  at all when there is none (never jupyter-book's placeholder).
- No thebe. The book's notebooks run at build time, not in the reader's browser, yet
  sphinx-thebe (which jupyter-book always loads) put on every page a configuration naming
  a placeholder Binder repository and a loader for a script from a CDN;
  :func:`drop_thebe` removes both.
- Every page's ``<script>`` list without duplicates. Sphinx 7.4 registers an inline script
  that an extension adds after the builder started (sphinx-thebe adds ``const
  THEBE_JS_URL = ...`` at ``env-before-read-docs``) twice: once on the builder (file name
  ``None``) and again from the registry when pages are written (file name ``""``). The two
  do not compare equal, so each page declared ``const THEBE_JS_URL`` twice and the
  browser logged "Identifier 'THEBE_JS_URL' has already been declared". :func:`dedupe_scripts`
  drops the second copy, so the page runs each script once.

Machinery (it runs inside the Sphinx build).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from docutils import nodes

#: The CSS class of the banner a custom-parameter build puts on every page and the ledger.
BANNER_CLASS = "selfhost-custom-build"
#: The stylesheet's name in the site's ``_static`` folder.
STYLESHEET_NAME = "selfhost.css"

STYLESHEET = """\
/* selfhost: tables scroll sideways inside the text column instead of spilling out of it. */
.selfhost-table { overflow-x: auto; max-width: 100%; margin-bottom: 1rem; }
.selfhost-table table { margin: 0; width: auto; max-width: none; }
.selfhost-table th, .selfhost-table td {
  white-space: normal; overflow: visible; text-overflow: clip; vertical-align: top;
}
.selfhost-table td { font-variant-numeric: tabular-nums; }
.selfhost-table caption { caption-side: top; text-align: left; font-weight: 600; }
/* every other table of the text (markdown tables, the ledger) wraps or scrolls too */
.bd-article table { max-width: 100%; }
.bd-article .table-wrapper, .bd-article .pst-scrollable-table-container { overflow-x: auto; max-width: 100%; }
.bd-article td, .bd-article th { overflow-wrap: break-word; hyphens: manual; }
/* charts: never wider than the column; the theme keeps legends below the plot */
.selfhost-chart { max-width: 100%; overflow-x: auto; }
.selfhost-chart svg { max-width: 100%; height: auto; }
/* the banner of a book built with a reader's parameters: impossible to miss */
div.admonition.selfhost-custom-build {
  border: 3px solid #b35900; border-left-width: 12px; background: #fff4e5;
  font-size: 1.05em; margin: 0 0 1.5rem 0;
}
div.admonition.selfhost-custom-build > .admonition-title { background: #b35900; color: #fff; font-weight: 700; }
div.admonition.selfhost-custom-build > .admonition-title::after { color: #fff; }
/* the build line of the ledger */
.selfhost-build { color: #555; font-size: 0.9em; }
"""


#: The environment variable that carries the repository's address into the build.
REPOSITORY_ENV = "SELFHOST_REPOSITORY_URL"


def set_theme_options(app: Any, config: Any) -> None:
    """The repository button when the build has a repository address (http or https); a light theme.

    The theme mode is set because pydata-sphinx-theme (``html_context["default_mode"]``)
    otherwise starts every page with an empty mode and logs "Got invalid theme mode" as a
    console error.
    """
    url = os.environ.get(REPOSITORY_ENV, "").strip()
    options = dict(config.html_theme_options or {})
    config.html_context = {"default_mode": "light", **(config.html_context or {})}
    if url.startswith(("https://", "http://")):
        host = url.split("/")[2].lower()
        # sphinx-book-theme refuses an address whose provider it cannot tell; the provider only picks the icon
        provider = "gitlab" if "gitlab" in host else "bitbucket" if "bitbucket" in host else "github"
        options.update(repository_url=url, repository_provider=provider, use_repository_button=True, path_to_docs="")
    else:
        options.update(use_repository_button=False, use_edit_page_button=False, use_issues_button=False)
        options.pop("repository_url", None)
    config.html_theme_options = options


def drop_thebe(app: Any, doctree: Any, docname: str) -> None:
    """Remove sphinx-thebe's per-page configuration (a placeholder Binder repository) from the page."""
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "text/x-thebe-config" in text or text.startswith("<script>kernelName ="):
            node.parent.remove(node)


def _is_thebe(script: Any) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return filename.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body or "thebe@" in filename


def dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Keep the first of each script on the page (file name, priority and attributes equal); no thebe."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        if _is_thebe(script):
            continue
        filename = getattr(script, "filename", script) or ""
        attributes = tuple(sorted(getattr(script, "attributes", {}).items()))
        key = (str(filename), getattr(script, "priority", 500), attributes)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept
    if context.get("css_files"):
        context["css_files"] = [c for c in context["css_files"]
                                if not str(getattr(c, "filename", c) or "").endswith("sphinx-thebe.css")]


def write_stylesheet(app: Any, exception: BaseException | None) -> None:
    """Write :data:`STYLESHEET` into the built site's ``_static`` folder."""
    if exception is None and getattr(app.builder, "format", "") == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / STYLESHEET_NAME).write_text(STYLESHEET)


def setup(app: Any) -> dict[str, Any]:
    app.add_css_file(STYLESHEET_NAME)
    app.connect("config-inited", set_theme_options)
    app.connect("doctree-resolved", drop_thebe, priority=900)
    app.connect("html-page-context", dedupe_scripts)
    app.connect("build-finished", write_stylesheet)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
