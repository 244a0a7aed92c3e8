"""selfhost: the formulas, data loaders, live harness and book pipeline behind the self-hosting LLMs book.

The layout is the design. Five kinds of module, each allowed to import only the kinds
before it (:data:`LAYERS`; ``tests/test_layout.py`` enforces it, function-level imports
included):

``foundation`` (flat)
    :mod:`~selfhost.units` (the one unit glossary and the shared constants),
    :mod:`~selfhost.errors`, :mod:`~selfhost.params` (parameter checks),
    :mod:`~selfhost.verdicts` (the verdict record), :mod:`~selfhost.robustness` (what
    flips a verdict). Import nothing but each other.
``formula`` (flat, where a reader meets them)
    Pure functions and small frozen dataclasses, no I/O: costs and prices
    (:mod:`~selfhost.costs`, :mod:`~selfhost.prices`, :mod:`~selfhost.breakeven`),
    models and memory (:mod:`~selfhost.modelspec`, :mod:`~selfhost.memory`,
    :mod:`~selfhost.moe`, :mod:`~selfhost.gpus`), throughput (:mod:`~selfhost.roofline`,
    :mod:`~selfhost.capacity`), the decision tree, availability, the serving-engine
    analyses (:mod:`~selfhost.serving`, :mod:`~selfhost.workloads`) and monitoring
    (:mod:`~selfhost.alertrules`, :mod:`~selfhost.monitoring`). Import foundations and
    other formula modules only.
``data`` (:mod:`selfhost.data`)
    Reading and writing ``data/``: tables validated against their manifests, model
    configs, run records. Imports foundations and formulas (to build typed objects).
``live`` (:mod:`selfhost.live`) and ``charts`` (:mod:`selfhost.charts`)
    Engines, Prometheus and the benchmark client; the altair charts. ``live`` may use
    ``data``; ``charts`` uses formulas only.
``book`` (:mod:`selfhost.book`) and ``cli`` (:mod:`selfhost.cli`)
    The pipeline, ledger and page helpers; the ``selfhost`` command. Nothing imports the
    CLI; the book never imports ``live``.

Two more rules: no import cycle anywhere, and no private name (``_name``) imported from
another module. :mod:`selfhost.paths` (where the repository's folders are) is for the
machinery only.
"""

__version__ = "0.1.0"

#: Which kinds of module each kind may import (itself included). ``paths`` is a foundation
#: the formula modules may not use: they do no I/O.
LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": ("foundation",),
    "formula": ("foundation", "formula"),
    "data": ("foundation", "formula", "paths", "data"),
    "live": ("foundation", "formula", "paths", "data", "live"),
    "charts": ("foundation", "formula", "charts"),
    "book": ("foundation", "formula", "paths", "data", "charts", "book"),
    "cli": ("foundation", "formula", "paths", "data", "live", "charts", "book", "cli"),
    "paths": (),
}
#: The flat modules that are foundations (every other flat module is a formula module).
FOUNDATIONS: tuple[str, ...] = ("units", "errors", "params", "verdicts", "robustness")
