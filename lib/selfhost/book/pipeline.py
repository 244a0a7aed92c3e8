"""The book pipeline: notebooks -> papermill -> ledger -> jupyter-book -> _build/html.

``selfhost book`` executes every notebook in ``notebooks/`` with its default parameters
(or a reader's YAML file of parameters, :mod:`selfhost.data.yamlfile`) into
``book/analyses/``, gathers the verdicts the notebooks recorded into the ledger page and
``claims.json``, writes the vega bundle that lets charts draw offline, and builds the HTML
book with warnings as errors. Then it records what it built (:data:`BUILD_RECORD`: the
commit, whether the tree was clean, the parameters that differ from the defaults, a
digest of the site), which ``selfhost publish`` checks.

- One build at a time per checkout (:func:`build_lock`): a second ``make book`` or
  ``make refresh`` stops at once, naming the first one's process.
- Notebooks run side by side, each in its own worker process; Ctrl-C stops every worker
  and its kernel at once and starts no other (the command prints one line).
- A custom build (parameters that differ from the defaults) gets a banner at the top of
  every page and of the ledger, listing them (:func:`banner_markdown`).
- Executed notebooks name no local absolute path: papermill's metadata and any output
  that printed one are rewritten relative to the repository (:func:`scrub_paths`).

``selfhost refresh`` re-executes the notebooks and saves them back to ``notebooks/`` with
outputs cleared except the cells tagged ``nbval-check-output`` (verdicts and key
figures), which nbval then checks in ``make test``.

This module runs kernels and writes files.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from selfhost import __version__, paths, profile
from selfhost.book import ledger, site
from selfhost.data import yamlfile
from selfhost.data.profile import inputs_for
from selfhost.errors import SelfhostError

CHECKED_TAG = "nbval-check-output"
PYTHON_TYPES = {"float": (int, float), "int": (int,), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}


class NotebookFailed(SelfhostError):
    """A notebook raised while executing; says which notebook, which cell and why."""

    def __init__(self, notebook: Path, cell: int | None, source: str, error: str, output: Path) -> None:
        first_line = source.strip().splitlines()[0] if source.strip() else ""
        where = f"cell {cell}" if cell is not None else "start-up"
        super().__init__(
            f"{_shown(notebook)} failed at {where} ({first_line!r}):\n  {error}\n"
            f"  the executed notebook, with the traceback, is in {_shown(output)}"
        )


def _shown(path: Path) -> str:
    """A path as the reader should see it: relative to the repository where it lies inside."""
    return str(path.relative_to(paths.ROOT)) if path.is_relative_to(paths.ROOT) else str(path)


def records_claims(nb: nbformat.NotebookNode) -> bool:
    """Whether a notebook decides claims (every analysis does; a tool page such as "Your deployment"
    says ``"selfhost": {"claims": false}`` in its metadata)."""
    return bool(nb.metadata.get("selfhost", {}).get("claims", True))


def notebooks() -> list[Path]:
    """The analysis notebooks, in name order."""
    return sorted(paths.NOTEBOOKS.glob("*.ipynb"))


def parameters_of(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell: name -> papermill's description (type, default, help)."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook)))


#: The notebook a deployment profile drives, and the profile's fields that other pages share by name.
PLAN_NOTEBOOK = "plan"


def is_profile(spec: dict[str, Any]) -> bool:
    """Whether a parameters file is a deployment profile (``selfhost plan``'s form: it has a ``traffic`` section)."""
    return isinstance(spec, dict) and "traffic" in spec and isinstance(spec.get("traffic"), dict)


def profile_params(spec: dict[str, Any]) -> dict[str, Any]:
    """A deployment profile as book parameters: the whole profile for the "Your deployment" page, and
    the figures other pages share by name, as the plan resolves them, so that their verdicts and the
    break-even page's controls start at the reader's numbers too.

    Shared: the model, operating cost, latency targets and prompt; the traffic (volume, input
    share, peak-to-mean, cached share: given, from the profile's trace, or the volume its API
    spend buys, to a whole token a day); the first GPU and its price (given, or the data's, as the plan prices it); the
    reference API's prices (the break-even page's API) and the API spend where the profile gives one.

    The profile is validated and resolved first (:func:`selfhost.profile.profile_from_mapping`,
    :func:`selfhost.data.profile.inputs_for`): a bad field or a name the data does not know stops
    the build before any notebook runs, naming the field.
    """
    prof = profile.profile_from_mapping(spec)
    inputs = inputs_for(spec)
    t = inputs.traffic
    api = next(a for a in inputs.apis if a.key == inputs.reference_api)
    shared: dict[str, Any] = {
        "model": prof.model, "ops_usd_per_month": prof.ops_usd_per_month, "slo_ttft_ms": prof.ttft_ms,
        "slo_tpot_ms": prof.tpot_ms, "prompt_tokens": t.prompt_tokens, "tok_per_day": float(round(t.tok_per_day)),
        "input_share": t.input_share, "peak_to_mean_x": t.peak_to_mean_x, "cached_share": t.cached_input_share,
        "gpu": prof.gpus[0], "gpu_usd_per_hour": inputs.gpus[0].usd_per_hour,
        "api_input_usd_per_mtok": api.input_usd_per_mtok, "api_output_usd_per_mtok": api.output_usd_per_mtok}
    if prof.traffic.api_spend_usd_per_month is not None:
        shared["api_spend_usd_per_month"] = prof.traffic.api_spend_usd_per_month
    return {**shared, PLAN_NOTEBOOK: {"profile": spec}}


def resolve_params(spec: dict[str, Any], books: list[Path]) -> dict[str, dict[str, Any]]:
    """Split a reader's parameter mapping into per-notebook parameters.

    A deployment profile (:func:`is_profile`) is turned into parameters first
    (:func:`profile_params`). A top-level key applies to every notebook that has a parameter of that name; a key
    named after a notebook (its file stem) holds a mapping that applies to that notebook
    alone, and wins over a top-level key. A name that no notebook has, a value of the wrong
    type, or a number that is not finite (``.inf``, ``.nan``) is an error; every offender is
    listed in one error, before anything runs.

    Returns
    -------
    dict
        notebook stem -> {parameter: value}, for every notebook (possibly empty).
    """
    declared = {nb.stem: parameters_of(nb) for nb in books}
    if is_profile(spec) and PLAN_NOTEBOOK in declared:
        spec = profile_params(spec)
    resolved: dict[str, dict[str, Any]] = {stem: {} for stem in declared}
    problems: list[str] = []
    for key, value in (spec or {}).items():
        if key in declared:
            if not isinstance(value, dict):
                problems.append(f"{key}: expected a mapping of that notebook's parameters, got {shown_value(value)}")
                continue
            for name, v in value.items():
                if name not in declared[key]:
                    problems.append(f"{key}.{name}: {key} has no such parameter (it has: {', '.join(declared[key])})")
                else:
                    resolved[key][name] = v
        else:
            owners = [stem for stem, params in declared.items() if key in params]
            if not owners:
                problems.append(f"{key}: no notebook has a parameter of that name")
            for stem in owners:
                resolved[stem].setdefault(key, value)
    for stem, values in resolved.items():
        for name, value in values.items():
            kind = declared[stem][name]["inferred_type_name"]
            if not type_matches(kind, value):
                problems.append(f"{stem}.{name} = {shown_value(value)}: expected {kind}")
            elif not finite(value):
                problems.append(f"{stem}.{name} = {shown_value(value)}: expected a finite number")
    if problems:
        raise SelfhostError("bad parameters:\n  " + "\n  ".join(problems))
    return resolved


def shown_value(value: Any, limit: int = 60) -> str:
    """A value as an error message shows it: its repr, cut to ``limit`` characters.

    >>> shown_value("x" * 100)[-12:]
    '... (102 ch)'
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} ch)"


def finite(value: Any) -> bool:
    """No infinite or NaN float in ``value`` (a number or a list of them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


def type_matches(kind: str, value: Any) -> bool:
    """Whether ``value`` fits a parameter annotated ``kind`` ("float", "int | None", ...).

    An int is a float; a bool is not a number; None fits an optional parameter.

    >>> type_matches("float", 2), type_matches("float", True), type_matches("int | None", None)
    (True, False, True)
    """
    names = [k.strip() for k in kind.split("|")]
    if value is None:
        return "None" in names
    for name in names:
        allowed = PYTHON_TYPES.get(name)
        if allowed and isinstance(value, allowed) and (name == "bool" or not isinstance(value, bool)):
            return True
    return False


def load_params_file(path: Path) -> dict[str, Any]:
    """A reader's parameters file, read strictly (:func:`selfhost.data.yamlfile.read_params_file`)."""
    return yamlfile.read_params_file(path)


def defaults_of(notebook: Path) -> dict[str, Any]:
    """The notebook's parameters with their default values (the literals of its parameters cell)."""
    out = {}
    for name, p in parameters_of(notebook).items():
        try:
            out[name] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            out[name] = p["default"]
    return out


def differences(resolved: dict[str, dict[str, Any]], books: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """notebook stem -> {parameter: {"value": given, "default": default}} for the values that differ.

    A value equal to the default (``4000`` for ``4000.0``) is no difference; a notebook
    with none is left out, so an empty result is a default build.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for nb in books:
        given = resolved.get(nb.stem) or {}
        if not given:
            continue
        defaults = defaults_of(nb)
        changed = {name: {"value": v, "default": defaults.get(name)} for name, v in given.items()
                   if not _same(v, defaults.get(name))}
        if changed:
            out[nb.stem] = changed
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (``True`` is not ``1``; ``4000`` is ``4000.0``)."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _literal(value: Any) -> str:
    """A parameter value as the banner prints it, in YAML's spelling; no backticks or line breaks."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else f"{value:g}"
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def banner_markdown(changed: dict[str, dict[str, Any]], custom_build: bool, ledger_page: bool = False,
                    all_changes: dict[str, dict[str, dict[str, Any]]] | None = None) -> str:
    """The banner of a custom build (MyST markdown): which parameters differ from the defaults.

    ``changed`` is this page's differences (:func:`differences`); on the ledger, pass
    ``all_changes`` (every notebook's) and ``ledger_page=True``.
    """
    if not custom_build:
        return ""
    title = "Custom build: computed with custom parameters, not the book's defaults"
    lines = [f":::{{admonition}} {title}", f":class: warning {site.BANNER_CLASS}", ""]
    if ledger_page:
        lines += ["This book was built with custom parameters (`make book PARAMS=...`). The verdicts "
                  "below were computed with these values in place of the defaults:", ""]
        for stem, params in sorted((all_changes or {}).items()):
            shown = ", ".join(f"`{n} = {_literal(p['value'])}` (default `{_literal(p['default'])}`)"
                              for n, p in params.items())
            lines.append(f"- {stem}: {shown}")
    elif changed:
        lines += ["This book was built with custom parameters (`make book PARAMS=...`). The figures, "
                  "charts and verdict on this page were computed with:", ""]
        lines += [f"- `{n} = {_literal(p['value'])}` (default `{_literal(p['default'])}`)" for n, p in changed.items()]
        lines += ["", "Prose written for the default scenario may not describe these values; "
                  "the published book uses the defaults."]
    else:
        lines += ["This book was built with custom parameters (`make book PARAMS=...`). This page uses "
                  "its defaults; the parameters of other pages differ (see the claims ledger)."]
    lines += [":::", ""]
    return "\n".join(lines)


def execute(notebook: Path, output: Path, parameters: dict[str, Any] | None = None) -> float:
    """Run one notebook through papermill; return its wall time [s]."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters or {}, kernel_name="python3",
            cwd=str(notebook.parent), progress_bar=False, log_output=False,
        )
    except PapermillExecutionError as exc:
        cell = _source_cell_number(notebook, exc.cell_index, bool(parameters))
        raise NotebookFailed(notebook, cell, exc.source, f"{exc.ename}: {exc.evalue}", output) from None
    return time.perf_counter() - start


def _source_cell_number(notebook: Path, index: int, injected: bool) -> int:
    """papermill's cell index -> the cell's number in the source notebook, counted from 1.

    When parameters are passed, papermill inserts an ``injected-parameters`` cell right
    after the ``parameters`` cell, so indices past it are one higher than the source's.
    """
    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    shift = 1 if injected and tagged and index > tagged[0] else 0
    return index + 1 - shift


def strip_for_commit(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs cleared except the checked cells; no execution counts or run metadata."""
    nb = copy.deepcopy(nb)
    dropped = ("injected-parameters", BANNER_TAG)
    nb.cells = [c for c in nb.cells if not set(dropped) & set(c.metadata.get("tags", []))]
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        # nbval refuses a stored output without an execution count ("unrun reference
        # cell"), so checked cells keep theirs; every other cell is cleared.
        if CHECKED_TAG not in cell.metadata.get("tags", []):
            cell.execution_count = None
            cell.outputs = []
    nb.metadata.pop("papermill", None)
    return nb


@dataclass
class Timings:
    """Wall times of the steps [s], printed at the end of a build."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str):
        start = time.perf_counter()
        yield
        self.steps[name] = time.perf_counter() - start

    def report(self) -> str:
        width = max(len(k) for k in self.steps)
        lines = [f"  {k:<{width}}  {v:6.1f} s" for k, v in self.steps.items()]
        return "timings (notebooks run side by side; the wall line is what they cost):\n" + "\n".join(lines)


# ---------------------------------------------------------------- one build at a time

#: The lock file of ``selfhost book`` and ``selfhost refresh`` (one at a time per checkout).
LOCK = paths.BUILD / "book.lock"


@contextlib.contextmanager
def build_lock(what: str) -> Iterator[None]:
    """Hold the checkout's build lock, or stop at once naming the process that holds it.

    Two builds at once would overwrite each other's executed notebooks, ledger and site.
    """
    import fcntl

    LOCK.parent.mkdir(parents=True, exist_ok=True)
    handle = open(LOCK, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SelfhostError(f"another build is running in this checkout ({holder}); "
                                f"wait for it to finish, then run `selfhost {what}` again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"selfhost {what}, pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


# ---------------------------------------------------------------- executing notebooks side by side


@dataclass
class _Job:
    notebook: Path
    output: Path
    process: subprocess.Popen
    log: Path
    started: float


def _start_worker(notebook: Path, output: Path, parameters: dict[str, Any] | None) -> _Job:
    """``python -m selfhost.book.pipeline execute`` for one notebook, in its own session.

    Its own session: the terminal's Ctrl-C reaches only the build, which then stops every
    worker itself (:func:`_stop`), rather than each kernel taking it as "interrupt this cell"
    and the build going on with the next notebook.
    """
    logs = paths.BUILD / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    spec = logs / f"{notebook.stem}.params.json"
    spec.write_text(json.dumps(parameters or {}, allow_nan=False))
    log = logs / f"{notebook.stem}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "selfhost.book.pipeline", "execute", str(notebook), str(output), str(spec)],
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, cwd=paths.ROOT,
        )
    return _Job(notebook, output, process, log, time.perf_counter())


def _stop(jobs: list[_Job]) -> None:
    """Stop workers and their kernels now: SIGTERM to each worker's session, SIGKILL after 3 s.

    A kernel whose worker is gone exits on its own within a second (ipykernel polls its parent).
    """
    for job in jobs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    for job in jobs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            job.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        if job.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(job.process.pid, signal.SIGKILL)
            job.process.wait()


def execute_all(params: dict[str, dict[str, Any]] | None, timings: Timings, workers: int | None = None,
                out_dir: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """Execute every notebook (or those in ``only``) into ``out_dir``, ``workers`` at a time.

    Each notebook runs in its own worker process and kernel, one per core by default.
    Every failure is reported, not just the first. On Ctrl-C every running worker is
    stopped at once, no queued notebook starts, and KeyboardInterrupt goes on up.
    """
    out_dir = out_dir or paths.EXECUTED
    books = [nb for nb in notebooks() if not only or nb.stem in only]
    workers = workers or min(len(books), os.cpu_count() or 1) or 1
    queue = list(books)
    running: list[_Job] = []
    failures: list[str] = []
    start = time.perf_counter()
    try:
        while queue or running:
            while queue and len(running) < workers:
                nb = queue.pop(0)
                running.append(_start_worker(nb, out_dir / nb.name, (params or {}).get(nb.stem)))
            time.sleep(0.05)
            for job in [j for j in running if j.process.poll() is not None]:
                running.remove(job)
                if job.process.returncode == 0:
                    timings.steps[f"notebook {job.notebook.name}"] = time.perf_counter() - job.started
                else:
                    failures.append(_failure_of(job))
    except KeyboardInterrupt:
        _stop(running)
        raise
    timings.steps[f"all notebooks ({workers} at a time, wall)"] = time.perf_counter() - start
    if failures:
        raise SelfhostError(f"{len(failures)} of {len(books)} notebooks failed:\n" + "\n".join(failures))
    return [out_dir / nb.name for nb in books]


#: What a worker prints before its failure message, so that the build finds it among the kernel's logs.
FAILURE_MARK = "selfhost-notebook-failed: "


def _failure_of(job: _Job) -> str:
    text = job.log.read_text(errors="replace")
    if FAILURE_MARK in text:
        return text.split(FAILURE_MARK, 1)[1].strip()
    tail = "\n  ".join(text.strip().splitlines()[-8:])
    return f"{_shown(job.notebook)}: the worker ended with exit code {job.process.returncode}:\n  {tail}"


def _worker(argv: list[str]) -> int:
    """The worker's command line: ``execute NOTEBOOK OUTPUT PARAMS.json``."""
    _, notebook, output, spec = argv
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        execute(Path(notebook), Path(output), json.loads(Path(spec).read_text()) or None)
    except NotebookFailed as exc:
        print(FAILURE_MARK + str(exc), file=sys.stderr)
        return 3
    return 0


# ---------------------------------------------------------------- executed notebooks, made fit to publish

#: The tag of the banner cell a custom build puts at the top of a page.
BANNER_TAG = "selfhost-banner"


def scrub_paths(text: str) -> str:
    """Local absolute paths -> relative: the repository's root goes, the home folder reads ``~``.

    >>> scrub_paths(f"{paths.ROOT}/data/api_prices.csv")
    'data/api_prices.csv'
    """
    root = str(paths.ROOT)
    text = text.replace(root + os.sep, "").replace(root, ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        text = re.sub(re.escape(home) + r"(?=/|\b)", "~", text)
    return text


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_paths(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    return value


def finish_executed(path: Path, banner: str = "") -> None:
    """Rewrite an executed notebook for the site: no local paths anywhere; the banner at the top.

    The banner goes right below the page's title (the first cell's ``# `` line), so that it
    is the first thing read and the title still names the page.
    """
    nb = nbformat.read(path, as_version=4)
    nb = nbformat.from_dict(_scrubbed(nb))
    if banner:
        first = nb.cells[0] if nb.cells else None
        cell = nbformat.v4.new_markdown_cell(banner, metadata={"tags": [BANNER_TAG]})
        if first is not None and first.cell_type == "markdown" and first.source.lstrip().startswith("# "):
            title, _, rest = first.source.lstrip().partition("\n")
            first.source = title
            nb.cells[1:1] = [cell] + ([nbformat.v4.new_markdown_cell(rest.lstrip("\n"))] if rest.strip() else [])
        else:
            nb.cells.insert(0, cell)
    nbformat.write(nb, path)


# ---------------------------------------------------------------- the ledger, assets, jupyter-book


def write_ledger(executed: list[Path], build_info: dict[str, Any] | None = None) -> list[dict]:
    """The ledger page (book/ledger.md) and claims.json from the executed notebooks."""
    info = build_info or {}
    claims = ledger.load_claims(paths.data_dir() / "claims.yaml")
    recorded = ledger.collect_verdicts(executed)
    rows = ledger.ledger_records(claims, recorded, site_prefix="book/analyses/",
                                 parameters=info.get("parameters") or {})
    banner = banner_markdown({}, bool(info.get("parameters")), ledger_page=True, all_changes=info.get("parameters"))
    (paths.BOOK / "ledger.md").write_text(ledger.ledger_markdown(rows, doc_prefix="analyses/", banner=banner,
                                                                 built_from=info.get("built_from", "")))
    ledger.write_json(paths.SITE_EXTRA / "claims.json", rows)
    return rows


#: The site's icon (a browser asks for one on every site; without it, it logs a 404 error).
FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<rect width="16" height="16" rx="3" fill="#1b9e77"/>'
           '<path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>\n')


def write_vega_bundle() -> Path:
    """vega + vega-lite + vega-embed as one offline script, served with the book; and the site's icon."""
    import vl_convert

    target = paths.ASSETS / "vega-bundle.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    (paths.ASSETS / "favicon.svg").write_text(FAVICON)
    if not target.exists():
        # Wrapped in a function so that the bundle's top-level names cannot collide with
        # those of the theme's scripts; it exports window.vegaEmbed, vega and vegaLite.
        bundle = vl_convert.javascript_bundle()  # type: ignore[call-arg]  # the snippet argument is optional
        target.write_text("(function () {\n" + bundle + "\n})();\n")
    return target


def git(*args: str, cwd: Path | None = None, strip: bool = True) -> str | None:
    """A git command's output, or None when git fails (no repository, no such remote)."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd or paths.ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() if strip else done.stdout


def web_address(remote: str) -> str | None:
    """A git remote's address as a web page, without credentials; None for a local path.

    >>> web_address("git@github.com:owner/book.git"), web_address("https://user:tok@gitlab.com/o/b.git")
    ('https://github.com/owner/book', 'https://gitlab.com/o/b')
    >>> web_address("/srv/git/book.git") is None
    True
    """
    remote = remote.strip()
    m = re.match(r"^(?:ssh://)?[\w.-]+@([\w.-]+)[:/](.+?)(?:\.git)?/?$", remote)
    if m and not remote.startswith(("http://", "https://")):
        return f"https://{m.group(1)}/{m.group(2)}"
    m = re.match(r"^(https?)://(?:[^@/]+@)?([^/]+)/(.+?)(?:\.git)?/?$", remote)
    return f"{m.group(1)}://{m.group(2)}/{m.group(3)}" if m else None


def repository_url() -> str | None:
    """The repository's web address for the site's header.

    ``$SELFHOST_REPOSITORY_URL`` when set (it must be an http(s) address), else the web
    address of the ``origin`` remote, else None (the header then has no repository link).
    """
    given = os.environ.get(site.REPOSITORY_ENV, "").strip()
    if given:
        if not re.match(r"^https?://[^\s/]+/\S*$", given):
            raise SelfhostError(f"{site.REPOSITORY_ENV}={given!r}: expected an http(s) address")
        return given
    origin = git("remote", "get-url", "origin")
    return web_address(origin) if origin else None


def jupyter_book_build(repository: str | None = None) -> None:
    """Build the whole HTML book afresh, with warnings as errors."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.ROOT),
           "--builder", "html", "--warningiserror", "--keep-going", "--all"]
    env = dict(os.environ, **{site.REPOSITORY_ENV: repository or ""})
    result = subprocess.run(cmd, cwd=paths.ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise SelfhostError(f"jupyter-book build failed (warnings are errors):\n{scrub_paths(tail)}")


# ---------------------------------------------------------------- what was built

#: What the last successful ``selfhost book`` built: written last, removed first.
BUILD_RECORD = paths.BUILD / "book-build.json"


def site_digest(html: Path) -> str:
    """sha256 over every file of the built site (names and contents), to tell the site was not changed since."""
    digest = hashlib.sha256()
    for path in sorted(p for p in html.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(html)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def tree_state(repo: Path | None = None) -> dict[str, Any]:
    """The commit checked out and the paths that differ from it (modified, staged or untracked)."""
    commit = git("rev-parse", "HEAD", cwd=repo)
    status = git("status", "--porcelain", "--untracked-files=all", cwd=repo, strip=False)
    changed = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {"commit": commit, "tree_clean": commit is not None and status is not None and not changed,
            "changed_paths": changed[:50]}


def write_build_record(parameters: dict[str, Any], state: dict[str, Any], repository: str | None,
                       html: Path | None = None, record: Path | None = None) -> dict[str, Any]:
    """Record what was built (see :data:`BUILD_RECORD`); ``parameters`` are the differences from the defaults."""
    html = html or paths.HTML
    data = {
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "selfhost_version": __version__,
        **state,
        "custom": bool(parameters),
        "parameters": parameters,
        "repository_url": repository,
        "site_sha256": site_digest(html),
    }
    target = record or BUILD_RECORD
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    return data


def read_build_record(record: Path | None = None) -> dict[str, Any] | None:
    target = record or BUILD_RECORD
    try:
        return json.loads(target.read_text())
    except (OSError, ValueError):
        return None


def built_from_line(state: dict[str, Any], custom: bool) -> str:
    """One line for the ledger: the commit the book was built from, and with which parameters."""
    commit = (state.get("commit") or "")[:12]
    where = f"commit {commit}" if commit else "a tree outside git"
    if commit and not state.get("tree_clean"):
        where += " with uncommitted changes"
    return f"Built from {where}, with {'custom' if custom else 'the default'} parameters."


# ---------------------------------------------------------------- the two commands


def build(params_file: Path | None = None) -> Timings:
    """The whole of ``make book``."""
    timings = Timings()
    books = notebooks()
    resolved = resolve_params(load_params_file(params_file), books) if params_file else None
    changed = differences(resolved or {}, books)
    repository = repository_url()
    with build_lock("book"):
        BUILD_RECORD.unlink(missing_ok=True)
        state = tree_state()
        executed = execute_all(resolved, timings)
        with timings.step("pages"):
            for path in executed:
                finish_executed(path, banner_markdown(changed.get(path.stem, {}), bool(changed)))
            write_ledger(executed, {"parameters": changed, "built_from": built_from_line(state, bool(changed))})
        with timings.step("vega bundle"):
            write_vega_bundle()
        with timings.step("jupyter-book build"):
            shutil.rmtree(paths.HTML, ignore_errors=True)
            jupyter_book_build(repository)
        write_build_record(changed, state, repository)
    return timings


def refresh(only: list[str] | None = None) -> list[Path]:
    """Re-execute notebooks with their defaults and save their checked outputs to notebooks/."""
    unknown = sorted(set(only or ()) - {nb.stem for nb in notebooks()})
    if unknown:
        raise SelfhostError(f"no such notebook: {', '.join(unknown)} (they are: {', '.join(nb.stem for nb in notebooks())})")
    with build_lock("refresh"):
        executed = execute_all(None, Timings(), out_dir=paths.BUILD / "refresh", only=only)
        saved = []
        for out in executed:
            nb = paths.NOTEBOOKS / out.name
            stripped = strip_for_commit(nbformat.read(out, as_version=4))
            nbformat.write(stripped, nb)
            saved.append(nb)
    return saved


if __name__ == "__main__":  # the worker of execute_all
    if len(sys.argv) == 5 and sys.argv[1] == "execute":
        sys.exit(_worker(sys.argv[1:]))
    sys.exit("usage: python -m selfhost.book.pipeline execute NOTEBOOK OUTPUT PARAMS.json")
