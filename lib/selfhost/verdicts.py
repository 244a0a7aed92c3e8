"""Verdicts: what an analysis concludes about a claim, as a validated record (a foundation).

A :class:`Verdict` names the claim, one of four verdicts, the reason with its deciding
figures, the conditions or what would test it, the kinds of evidence it rests on
(:class:`Evidence`) and, for each uncertain input, whether the verdict flips inside the
input's plausible range (:class:`selfhost.robustness.Sensitivity`).

:func:`show_verdict` displays a verdict in a notebook and stores it in the cell's output
under :data:`VERDICT_MIME`, where the pipeline finds it (see :mod:`selfhost.book.ledger`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from selfhost.errors import SelfhostError
from selfhost.robustness import Sensitivity, robust
from selfhost.units import format_quantity

VERDICT_MIME = "application/vnd.selfhost.verdict+json"
HOLDS = "holds"
CONDITIONAL = "holds only under conditions"
FAILS = "does not hold"
UNTESTABLE = "cannot be tested here"
VERDICTS = (HOLDS, CONDITIONAL, FAILS, UNTESTABLE)
NOT_ANALYSED = "not yet analysed"
CLAIM_ID = re.compile(r"^C\d\d$")

#: The kinds of evidence a verdict can rest on, and how the book names each.
EVIDENCE_KINDS: dict[str, str] = {
    "live": "live run here",
    "published": "published measurement",
    "model": "model",
    "data": "dated data",
    "article": "the article's own text",
}


@dataclass(frozen=True)
class Evidence:
    """One kind of evidence a verdict rests on, and on what exactly.

    ``kind`` is a key of :data:`EVIDENCE_KINDS`; ``detail`` says what: "vLLM 0.32.0 CPU
    build, a 2-layer random-weight Llama, 2 cores", "roofline with engine efficiency from
    6 published vLLM runs", "API prices read 2026-11-27 from copies dated 2026-03".

    >>> Evidence("live", "vLLM on this CPU").label
    'live run here: vLLM on this CPU'
    """

    kind: str
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise SelfhostError(f"evidence kind {self.kind!r} is not one of {sorted(EVIDENCE_KINDS)}")
        if not self.detail:
            raise SelfhostError(f"evidence of kind {self.kind!r} must say on what it rests")

    @property
    def label(self) -> str:
        return f"{EVIDENCE_KINDS[self.kind]}: {self.detail}"

    @property
    def kind_label(self) -> str:
        """The kind in words ("live run here"), without on what."""
        return EVIDENCE_KINDS[self.kind]

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


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
    evidence : tuple[Evidence, ...]
        The kinds of evidence the verdict rests on.
    sensitivity : tuple[Sensitivity, ...]
        Each uncertain input, its plausible range, and whether the verdict flips inside it.
    """

    claim_id: str
    verdict: str
    reason: str
    figures: Mapping[str, float | int | str] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()
    would_test: str = ""
    evidence: tuple[Evidence, ...] = ()
    sensitivity: tuple[Sensitivity, ...] = ()

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
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "sensitivity", tuple(self.sensitivity))

    @property
    def robust(self) -> bool | None:
        """True when no uncertain input flips the verdict inside its range; None when none was assessed."""
        return robust(self.sensitivity) if self.sensitivity else None

    @property
    def flips(self) -> tuple[Sensitivity, ...]:
        """The inputs that flip the verdict inside their plausible range."""
        return tuple(s for s in self.sensitivity if s.flips)

    def with_(self, **changes: object) -> Verdict:
        """A copy with some fields replaced (``evidence``, ``sensitivity``, ...)."""
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]

    def to_json(self) -> dict:
        """The record as plain JSON; ``evidence`` and ``sensitivity`` appear once an analysis gives them."""
        out: dict = {
            "id": self.claim_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "figures": dict(self.figures),
            "conditions": list(self.conditions),
            "would_test": self.would_test,
        }
        if self.evidence:
            out["evidence"] = [e.to_json() for e in self.evidence]
        if self.sensitivity:
            out["sensitivity"] = [s.to_json() for s in self.sensitivity]
        return out

    def flips_json(self) -> list[dict]:
        """The inputs that flip the verdict, for ``claims.json``: input, range, value, verdict there."""
        return [{"input": s.input, "range": [s.low, s.high], "value": s.value, "verdict": s.verdict_there}
                for s in self.flips]

    @classmethod
    def from_json(cls, data: Mapping) -> Verdict:
        return cls(
            data["id"], data["verdict"], data["reason"], data.get("figures", {}),
            tuple(data.get("conditions", ())), data.get("would_test", ""),
            tuple(Evidence(e["kind"], e["detail"]) for e in data.get("evidence", ())),
            tuple(Sensitivity.from_json(s) for s in data.get("sensitivity", ())),
        )

    def to_markdown(self) -> str:
        lines = [f"**{self.claim_id}: {self.verdict}.** {self.reason}", ""]
        if self.conditions:
            lines += ["Conditions:", ""] + [f"- {c}" for c in self.conditions] + [""]
        if self.would_test:
            lines += [f"What would test it: {self.would_test}", ""]
        if self.evidence:
            lines += ["Evidence: " + "; ".join(e.label for e in self.evidence) + ".", ""]
        if self.sensitivity:
            lines += ["Robustness: " + ("robust to every input tried." if self.robust else
                                        "; ".join(s.describe() for s in self.flips) + "."), ""]
        if self.figures:
            lines += ["| figure | value |", "|---|---|"]
            lines += [f"| `{k}` | {format_quantity(k, v)} |" for k, v in self.figures.items()]
        return "\n".join(lines)


def _plain(value: object) -> float | int | str:
    """numpy scalars -> Python numbers, so that the record is plain JSON."""
    if isinstance(value, (bool, str)):
        return value if isinstance(value, str) else int(value)
    if hasattr(value, "item"):
        value = value.item()
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
