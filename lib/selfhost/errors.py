"""Error types that name what was wrong: the parameter, the file, row and column (a foundation).

The one error story: formula modules raise :class:`ParameterError` (a value out of its
range or of the wrong type) or :class:`DataError` (a data file, record or config that is
malformed); machinery (engines, Prometheus, the book pipeline) raises its own subclasses
of :class:`SelfhostError`. The ``selfhost`` command turns any of them into one line on
stderr and exit code 2; a traceback means a bug.
"""

from __future__ import annotations

import reprlib
from pathlib import Path

#: Values in messages are shown shortened (a YAML bomb or a 1 GB string never floods one).
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 4, 60, 60


class SelfhostError(Exception):
    """Base class of every error this package raises on bad input."""


class ParameterError(SelfhostError, ValueError):
    """A parameter has the wrong type or lies outside its allowed range.

    ``kind`` says what the name is: a notebook or library ``parameter``, or a command-line
    ``option``. The value is shown shortened: a huge value (a YAML bomb) never floods the
    message.

    Examples
    --------
    >>> str(ParameterError("input_share", 1.5, "a number in [0, 1]"))
    'parameter input_share = 1.5 is invalid: expected a number in [0, 1]'
    >>> str(ParameterError("--gpus", 0, "a whole number >= 1", kind="option"))
    'option --gpus = 0 is invalid: expected a whole number >= 1'
    """

    def __init__(self, name: str, value: object, expected: str, *, kind: str = "parameter") -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f"{kind} {name} = {_SHORT.repr(value)} is invalid: expected {expected}")


class DataError(SelfhostError, ValueError):
    """A data file is malformed; the message names the file, the row and the column.

    ``row`` counts data rows from 1 (the header is row 0), as a spreadsheet shows them
    minus one.

    Examples
    --------
    >>> str(DataError("data/x.csv", "price is negative", row=3, column="input_usd_per_mtok"))
    'data/x.csv, row 3, column input_usd_per_mtok: price is negative'
    """

    def __init__(
        self, path: str | Path, message: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.row, self.column = str(path), row, column
        where = [self.path]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}")


class ModelConfigError(DataError):
    """A config.json that cannot describe a model; the message names the file and field.

    >>> str(ModelConfigError("data/models/x.json", "hidden_size", "is missing"))
    'data/models/x.json: field hidden_size is missing'
    """

    def __init__(self, source: str, field_name: str, message: str) -> None:
        self.field_name = field_name
        SelfhostError.__init__(self, f"{source}: field {field_name} {message}")
        self.path, self.row, self.column = str(source), None, field_name
