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
COMMANDS: list[str] = [
    "selfhost.cli.breakeven",
    "selfhost.cli.capacity",
    "selfhost.cli.live",
    "selfhost.cli.memory",
    "selfhost.cli.monitor",
    "selfhost.cli.plan",
    "selfhost.cli.record",
    "selfhost.cli.traffic",
]


def _book(args: argparse.Namespace) -> int:
    from selfhost.book import pipeline

    timings = pipeline.build(Path(args.params) if args.params else None)
    print(timings.report())
    print(f"the book is in {pipeline.paths.HTML.relative_to(pipeline.paths.ROOT)}/index.html")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from selfhost.book import publish

    repo = Path(args.repo).resolve() if args.repo else publish.pipeline.paths.ROOT
    message = publish.publish(repo, args.remote, args.branch, force=args.force,
                              allow_uncommitted=args.allow_uncommitted)
    print(f"pushed {args.branch} to {args.remote}: {message}")
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

    publish = sub.add_parser("publish", help="push a default build of a clean, committed tree to gh-pages "
                             "(make publish)")
    publish.add_argument("--remote", default="origin", help="git remote name or address (default: origin)")
    publish.add_argument("--branch", default="gh-pages", help="branch to push (default: gh-pages)")
    publish.add_argument("--force", action="store_true", help="force-push, replacing the remote branch's history")
    publish.add_argument("--allow-uncommitted", action="store_true",
                         help="publish a build of a tree with uncommitted or untracked files (said in the commit)")
    publish.add_argument("--repo", metavar="DIR", help="the checkout whose _build/html to publish (default: this one)")
    publish.set_defaults(func=_publish)

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
    except KeyboardInterrupt:
        # the pipeline has already stopped its workers and kernels; say so in one line
        print(f"selfhost {args.command}: stopped (Ctrl-C)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
