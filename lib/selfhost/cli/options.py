"""Option types every ``selfhost`` subcommand shares, and a parser that fails in one line.

Numbers from the command line are checked where they are parsed: NaN and infinity are
refused with the option named (``float("inf")`` parses, but no price, volume or target is
infinite), as are values outside the option's range. :class:`Parser` prints any usage
error as one line, ``selfhost <command>: <problem>``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def number(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number, optionally bounded.

    >>> number(ge=0)("2.5")
    2.5
    >>> number(ge=0)("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'inf' is not a finite number
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        for bound, ok, sign in ((ge, value >= (ge or 0), ">="), (gt, value > (gt or 0), ">"),
                                (le, value <= (le or 0), "<="), (lt, value < (lt or 0), "<")):
            if bound is not None and not ok:
                raise argparse.ArgumentTypeError(f"{text} is out of range: must be {sign} {bound:g}")
        return value

    parse.__name__ = "number"
    return parse


def whole(*, ge: int | None = None, le: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number, optionally bounded.

    >>> whole(ge=1)("3")
    3
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if (ge is not None and value < ge) or (le is not None and value > le):
            span = f">= {ge}" if le is None else f"<= {le}" if ge is None else f"in [{ge}, {le}]"
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {span}")
        return value

    parse.__name__ = "whole number"
    return parse


#: Shares of a whole, in [0, 1].
share = number(ge=0, le=1)
#: Prices, volumes, targets: finite and > 0.
positive = number(gt=0)
#: Costs that may be zero: finite and >= 0.
non_negative = number(ge=0)


def fail(prog: str, message: str) -> int:
    """Print ``prog: message`` on stderr and return exit code 2."""
    print(f"{prog}: {message}", file=sys.stderr)
    return 2
