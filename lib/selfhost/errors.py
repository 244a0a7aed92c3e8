"""Error types that name what was wrong: the parameter, the file, row and column."""

from __future__ import annotations

from pathlib import Path


class SelfhostError(Exception):
    """Base class of every error this package raises on bad input."""


class ParameterError(SelfhostError, ValueError):
    """A parameter has the wrong type or lies outside its allowed range.

    Examples
    --------
    >>> str(ParameterError("input_share", 1.5, "a number in [0, 1]"))
    'parameter input_share = 1.5 is invalid: expected a number in [0, 1]'
    """

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f"parameter {name} = {value!r} is invalid: expected {expected}")


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
