"""selfhost: formulas, data loaders and pipeline behind the self-hosting LLMs book.

Formula modules (``costs``, ``decision``, ...) are pure functions over plain values and
small frozen dataclasses. Modules that touch files, engines or charts say so in their
docstring (``datafiles``, ``ledger``, ``pipeline``, ``charts``).
"""

__version__ = "0.1.0"
