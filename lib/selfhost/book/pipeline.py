"""The book pipeline: notebooks -> papermill -> ledger -> jupyter-book -> _build/html.

``selfhost book`` executes every notebook in ``notebooks/`` with its default parameters
(or a reader's YAML file of parameters) into ``book/analyses/``, gathers the verdicts the
notebooks recorded into the ledger page and ``claims.json``, writes the vega bundle that
lets charts draw offline, and builds the HTML book with warnings as errors.

``selfhost refresh`` re-executes the notebooks and saves them back to ``notebooks/`` with
outputs cleared except the cells tagged ``nbval-check-output`` (verdicts and key
figures), which nbval then checks in ``make test``.

This module runs kernels and writes files.
"""

from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from selfhost import paths
from selfhost.book import ledger
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


def notebooks() -> list[Path]:
    """The analysis notebooks, in name order."""
    return sorted(paths.NOTEBOOKS.glob("*.ipynb"))


def parameters_of(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell: name -> papermill's description (type, default, help)."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook)))


def resolve_params(spec: dict[str, Any], books: list[Path]) -> dict[str, dict[str, Any]]:
    """Split a reader's parameter mapping into per-notebook parameters.

    A top-level key applies to every notebook that has a parameter of that name; a key
    named after a notebook (its file stem) holds a mapping that applies to that notebook
    alone. A name that no notebook has, or a value of the wrong type, is an error that
    lists every offender.

    Returns
    -------
    dict
        notebook stem -> {parameter: value}, for every notebook (possibly empty).
    """
    declared = {nb.stem: parameters_of(nb) for nb in books}
    resolved: dict[str, dict[str, Any]] = {stem: {} for stem in declared}
    problems: list[str] = []
    for key, value in (spec or {}).items():
        if key in declared:
            if not isinstance(value, dict):
                problems.append(f"{key}: expected a mapping of that notebook's parameters, got {value!r}")
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
                problems.append(f"{stem}.{name} = {value!r}: expected {kind}")
    if problems:
        raise SelfhostError("bad parameters:\n  " + "\n  ".join(problems))
    return resolved


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
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SelfhostError(f"cannot read parameters file {path}: {exc}") from exc
    if not isinstance(spec, dict):
        raise SelfhostError(f"{path}: expected a mapping of parameter names to values")
    return spec


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
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
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


def execute_all(params: dict[str, dict[str, Any]] | None, timings: Timings, workers: int | None = None) -> list[Path]:
    """Execute every notebook into book/analyses/, ``workers`` at a time; return the executed paths.

    Each notebook runs in its own kernel, so they run side by side (one per core by
    default). Every failure is reported, not just the first.
    """
    from concurrent.futures import ThreadPoolExecutor

    books = notebooks()
    workers = workers or min(len(books), os.cpu_count() or 1) or 1
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {nb: pool.submit(execute, nb, paths.EXECUTED / nb.name, (params or {}).get(nb.stem)) for nb in books}
    failures = []
    for nb, future in futures.items():
        if isinstance(future.exception(), NotebookFailed):
            failures.append(str(future.exception()))
        else:
            timings.steps[f"notebook {nb.name}"] = future.result()
    timings.steps[f"all notebooks ({workers} at a time, wall)"] = time.perf_counter() - start
    if failures:
        raise SelfhostError(f"{len(failures)} of {len(books)} notebooks failed:\n" + "\n".join(failures))
    return [paths.EXECUTED / nb.name for nb in books]


def write_ledger(executed: list[Path]) -> list[dict]:
    """The ledger page (book/ledger.md) and claims.json from the executed notebooks."""
    claims = ledger.load_claims(paths.data_dir() / "claims.yaml")
    recorded = ledger.collect_verdicts(executed)
    rows = ledger.ledger_records(claims, recorded, site_prefix="book/analyses/")
    (paths.BOOK / "ledger.md").write_text(ledger.ledger_markdown(rows, doc_prefix="analyses/"))
    ledger.write_json(paths.SITE_EXTRA / "claims.json", rows)
    return rows


def write_vega_bundle() -> Path:
    """vega + vega-lite + vega-embed as one offline script, served with the book."""
    import vl_convert

    target = paths.ASSETS / "vega-bundle.js"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Wrapped in a function so that the bundle's top-level names cannot collide with
        # those of the theme's scripts; it exports window.vegaEmbed, vega and vegaLite.
        bundle = vl_convert.javascript_bundle()  # type: ignore[call-arg]  # the snippet argument is optional
        target.write_text("(function () {\n" + bundle + "\n})();\n")
    return target


def jupyter_book_build() -> None:
    """Build the HTML book with warnings as errors."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.ROOT),
           "--builder", "html", "--warningiserror", "--keep-going"]
    result = subprocess.run(cmd, cwd=paths.ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise SelfhostError(f"jupyter-book build failed (warnings are errors):\n{tail}")


def build(params_file: Path | None = None) -> Timings:
    """The whole of ``make book``."""
    timings = Timings()
    params = resolve_params(load_params_file(params_file), notebooks()) if params_file else None
    executed = execute_all(params, timings)
    with timings.step("ledger"):
        write_ledger(executed)
    with timings.step("vega bundle"):
        write_vega_bundle()
    with timings.step("jupyter-book build"):
        jupyter_book_build()
    return timings


def refresh(only: list[str] | None = None) -> list[Path]:
    """Re-execute notebooks with their defaults and save their checked outputs to notebooks/."""
    saved = []
    for nb in notebooks():
        if only and nb.stem not in only:
            continue
        out = paths.BUILD / "refresh" / nb.name
        execute(nb, out)
        stripped = strip_for_commit(nbformat.read(out, as_version=4))
        nbformat.write(stripped, nb)
        saved.append(nb)
    return saved
