"""The ``selfhost`` command (machinery: nothing imports it).

Every error of the project's own types (:class:`selfhost.errors.SelfhostError`) ends here
as one line, ``selfhost <command>: <problem>``, and exit code 2; so do bad options
(:class:`selfhost.cli.options.Parser`).

Each analysis adds its subcommand by listing a module in :data:`COMMANDS`; that module
defines ``register(subparsers)``, which adds a parser whose ``func`` default takes the
parsed arguments and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from selfhost import __version__
from selfhost.cli.options import Parser, fail
from selfhost.errors import SelfhostError

#: Modules that add a subcommand (each has ``register(subparsers)``).
COMMANDS: list[str] = ["selfhost.cli.breakeven", "selfhost.cli.plan", "selfhost.cli.capacity", "selfhost.cli.live", "selfhost.cli.memory", "selfhost.cli.monitor",
                      "selfhost.cli.record"]


def _book(args: argparse.Namespace) -> int:
    from selfhost.book import pipeline

    timings = pipeline.build(Path(args.params) if args.params else None)
    print(timings.report())
    print(f"the book is in {pipeline.paths.HTML.relative_to(pipeline.paths.ROOT)}/index.html")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from selfhost.book import pipeline

    for path in pipeline.refresh(args.notebooks or None):
        print(f"saved the checked outputs of {path.relative_to(pipeline.paths.ROOT)}")
    return 0


def _params(args: argparse.Namespace) -> int:
    from selfhost.book import pipeline
    from selfhost.book.vocabulary import VOCABULARY

    used: dict[str, list[tuple[str, object]]] = {}
    for nb in pipeline.notebooks():
        for name, p in pipeline.parameters_of(nb).items():
            used.setdefault(name, []).append((nb.stem, p["default"]))
    for name in sorted(used):
        term = VOCABULARY.get(name)
        print(f"{name}: {term.type if term else '?'}; {term.meaning if term else '(not in the vocabulary)'}")
        for stem, default in used[name]:
            print(f"  {stem}: {default}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="selfhost",
        description="Executable analyses of the claims made about self-hosting open-weight LLMs.",
    )
    parser.add_argument("--version", action="version", version=f"selfhost {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    book = sub.add_parser("book", help="execute every notebook and build the HTML book (make book)")
    book.add_argument("--params", metavar="YAML", help="your parameters: top-level keys for every notebook, "
                      "a notebook's name for that notebook alone")
    book.set_defaults(func=_book)

    refresh = sub.add_parser("refresh", help="re-execute notebooks and save their checked outputs (make refresh)")
    refresh.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    refresh.set_defaults(func=_refresh)

    params = sub.add_parser("params", help="the parameter vocabulary: every name, its type and meaning, the pages "
                            "that use it and their defaults")
    params.set_defaults(func=_params)

    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except SelfhostError as exc:
        return fail(f"selfhost {args.command}", str(exc))


if __name__ == "__main__":
    sys.exit(main())
