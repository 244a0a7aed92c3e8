"""Verdicts: what an analysis concludes about a claim, as a validated record.

:func:`show_verdict` displays a verdict in a notebook and stores it in the cell's output
under :data:`VERDICT_MIME`, where the pipeline finds it (see :mod:`selfhost.ledger`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from selfhost.errors import SelfhostError
from selfhost.units import format_quantity

VERDICT_MIME = "application/vnd.selfhost.verdict+json"
HOLDS = "holds"
CONDITIONAL = "holds only under conditions"
FAILS = "does not hold"
UNTESTABLE = "cannot be tested here"
VERDICTS = (HOLDS, CONDITIONAL, FAILS, UNTESTABLE)
NOT_ANALYSED = "not yet analysed"
CLAIM_ID = re.compile(r"^C\d\d$")


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict as an analysis computed it.

    Parameters
    ----------
    claim_id : str
        ``C01`` ... ``C16``.
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        One sentence: why, with the deciding figures.
    figures : Mapping[str, float | int | str]
        Key figures, each name carrying its unit (``breakeven_tok_per_day``).
    conditions : tuple[str, ...]
        Where the claim holds; required for "holds only under conditions".
    would_test : str
        What would test it; required for "cannot be tested here".
    """

    claim_id: str
    verdict: str
    reason: str
    figures: Mapping[str, float | int | str] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()
    would_test: str = ""

    def __post_init__(self) -> None:
        if not CLAIM_ID.match(self.claim_id):
            raise SelfhostError(f"claim id {self.claim_id!r} is not of the form C01")
        if self.verdict not in VERDICTS:
            raise SelfhostError(f"verdict {self.verdict!r} is not one of {VERDICTS}")
        if self.verdict == CONDITIONAL and not self.conditions:
            raise SelfhostError(f"{self.claim_id}: '{CONDITIONAL}' must name its conditions")
        if self.verdict == UNTESTABLE and not self.would_test:
            raise SelfhostError(f"{self.claim_id}: '{UNTESTABLE}' must say what would test it")
        for name, value in self.figures.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise SelfhostError(f"{self.claim_id}: figure {name} is {value}")
        object.__setattr__(self, "figures", {k: _plain(v) for k, v in self.figures.items()})
        object.__setattr__(self, "conditions", tuple(self.conditions))

    def to_json(self) -> dict:
        return {
            "id": self.claim_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "figures": dict(self.figures),
            "conditions": list(self.conditions),
            "would_test": self.would_test,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        return cls(
            data["id"], data["verdict"], data["reason"], data.get("figures", {}),
            tuple(data.get("conditions", ())), data.get("would_test", ""),
        )

    def to_markdown(self) -> str:
        lines = [f"**{self.claim_id}: {self.verdict}.** {self.reason}", ""]
        if self.conditions:
            lines += ["Conditions:", ""] + [f"- {c}" for c in self.conditions] + [""]
        if self.would_test:
            lines += [f"What would test it: {self.would_test}", ""]
        if self.figures:
            lines += ["| figure | value |", "|---|---|"]
            lines += [f"| `{k}` | {format_quantity(k, v)} |" for k, v in self.figures.items()]
        return "\n".join(lines)


def _plain(value: object) -> float | int | str:
    """numpy scalars -> Python numbers, so that the record is plain JSON."""
    if isinstance(value, (bool, str)):
        return value if isinstance(value, str) else int(value)
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float):
        return float(f"{value:.6g}")  # six significant digits: stable across platforms
    if isinstance(value, int):
        return value
    raise SelfhostError(f"figure value {value!r} is not a number or a string")


def show_verdict(verdict: Verdict) -> None:
    """Display the verdict in a notebook and record it in the output (:data:`VERDICT_MIME`)."""
    from IPython.display import display

    bundle = {
        "text/markdown": verdict.to_markdown(),
        "text/plain": f"{verdict.claim_id}: {verdict.verdict}. {verdict.reason}",
        VERDICT_MIME: verdict.to_json(),
    }
    display(bundle, raw=True)
