"""The package's import rule (``selfhost.LAYERS``), checked over every module and notebook.

Every ``import`` and ``from ... import`` counts, including those inside functions: a rule
that imports hidden in a function body can break is no rule.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import selfhost
from selfhost import paths

LIB = paths.ROOT / "lib" / "selfhost"
SUBPACKAGES = ("data", "live", "charts", "book", "cli")


def module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def kind_of(module: str) -> str:
    """foundation, formula, paths, or the subpackage's name."""
    parts = module.split(".")
    if parts == ["selfhost"]:
        return "foundation"
    if parts[1] in SUBPACKAGES:
        return parts[1]
    if parts[1] == "paths":
        return "paths"
    return "foundation" if parts[1] in selfhost.FOUNDATIONS else "formula"


def imports_of(source: str, module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported selfhost module, imported name or None, line) for every import in ``source``.

    The package uses absolute imports only; a relative one is reported as ``(relative)``.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "selfhost":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield "(relative)", None, node.lineno
            elif (node.module or "").split(".")[0] == "selfhost":
                for alias in node.names:
                    yield node.module or "", alias.name, node.lineno


def resolve(base: str, name: str | None, known: set[str]) -> str:
    """``from selfhost.data import runs`` imports the module ``selfhost.data.runs``; else the module ``base``."""
    if name is not None and f"{base}.{name}" in known:
        return f"{base}.{name}"
    return base


def violations(sources: Mapping[str, str]) -> list[str]:
    """Every breach of the import rule among ``sources`` (module name -> source text)."""
    known = set(sources)
    problems, graph = [], {m: set() for m in sources}
    for module, source in sources.items():
        mine = kind_of(module)
        for base, name, line in imports_of(source, module):
            if base == "(relative)":
                problems.append(f"{module}:{line}: a relative import (the package uses absolute imports)")
                continue
            target = resolve(base, name, known)
            theirs = kind_of(target)
            if theirs not in selfhost.LAYERS[mine] and target != "selfhost":
                problems.append(f"{module}:{line}: a {mine} module imports {target} ({theirs})")
            if name is not None and name.startswith("_") and not name.startswith("__") and target != module:
                problems.append(f"{module}:{line}: imports the private name {name} from {base}")
            if target in graph and target != module:
                graph[module].add(target)
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (one path each), by depth-first search."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def package_sources() -> dict[str, str]:
    return {module_name(p): p.read_text() for p in sorted(LIB.rglob("*.py"))}


def test_the_package_keeps_the_import_rule():
    assert violations(package_sources()) == []


def test_a_deliberate_violation_is_caught():
    sources = package_sources()
    sources["selfhost.costs"] += "\n\ndef _sneaky():\n    from selfhost.data.tables import load_rows\n"
    sources["selfhost.data.tables"] += "\nfrom selfhost.cli import main\n"
    sources["selfhost.book.page"] += "\nfrom selfhost.live import engine\n"
    found = violations(sources)
    assert any("selfhost.costs" in p and "a formula module imports selfhost.data.tables" in p for p in found)
    assert any("a data module imports selfhost.cli" in p for p in found)
    assert any("a book module imports selfhost.live.engine" in p for p in found)


def test_private_names_and_cycles_are_caught():
    sources = {"selfhost.units": "", "selfhost.costs": "from selfhost.prices import _secret\n",
               "selfhost.prices": "from selfhost import costs\n"}
    found = violations(sources)
    assert any("private name _secret" in p for p in found)
    assert any(p.startswith("import cycle") for p in found)


def test_the_formula_modules_do_no_io():
    banned = ("open(", "read_text(", "write_text(", "subprocess", "urllib", "socket")
    for module, source in package_sources().items():
        if kind_of(module) == "formula":
            tree = ast.parse(source)
            text = "\n".join(ast.unparse(n) for n in tree.body if not isinstance(n, ast.Expr))
            assert not [b for b in banned if b in text], f"{module} does I/O"


def test_notebooks_import_only_what_a_page_may():
    """A notebook is a page: formulas, data, charts and the book's helpers; never the live harness or the CLI."""
    allowed = {"foundation", "formula", "data", "charts", "book"}
    for nb in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        for base, name, _ in imports_of(code, "notebook"):
            target = resolve(base, name, set(package_sources()))
            assert kind_of(target) in allowed, f"{nb.name}: imports {target}"
