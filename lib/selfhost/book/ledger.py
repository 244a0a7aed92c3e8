"""The claims ledger: verdicts recorded by executed notebooks, gathered into one page.

An analysis notebook ends with :func:`selfhost.verdicts.show_verdict`, which displays the
verdict and stores it, machine-readable, in the cell's output. The pipeline reads those
outputs back from the executed notebooks (:func:`collect_verdicts`), joins them to
``data/claims.yaml`` and writes the ledger page and ``claims.json``. A verdict therefore
exists only where a notebook computed it; a claim with no recorded verdict reads "not
yet analysed". This module reads and writes files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from selfhost.errors import DataError, SelfhostError
from selfhost.robustness import Sensitivity
from selfhost.units import format_quantity
from selfhost.verdicts import CLAIM_ID, NOT_ANALYSED, VERDICT_MIME, VERDICTS, Evidence, Verdict


@dataclass(frozen=True)
class Recorded:
    """A verdict and the executed notebook that recorded it."""

    verdict: Verdict
    notebook: Path


def verdicts_in(notebook: Path) -> list[Verdict]:
    """The verdicts recorded in one executed notebook's outputs."""
    nb = nbformat.read(notebook, as_version=4)
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if VERDICT_MIME in data:
                found.append(Verdict.from_json(data[VERDICT_MIME]))
    return found


def collect_verdicts(notebooks: list[Path]) -> dict[str, Recorded]:
    """Claim id -> its recorded verdict, over executed notebooks; one notebook per claim."""
    out: dict[str, Recorded] = {}
    for path in sorted(notebooks):
        for verdict in verdicts_in(path):
            if verdict.claim_id in out:
                other = out[verdict.claim_id].notebook.name
                raise SelfhostError(f"{verdict.claim_id} has verdicts in both {other} and {path.name}")
            out[verdict.claim_id] = Recorded(verdict, path)
    return out


@dataclass(frozen=True)
class Claim:
    """A claim of the article, from ``data/claims.yaml``."""

    claim_id: str
    claim: str
    recreated_by: str


def load_claims(path: Path) -> list[Claim]:
    """Read ``data/claims.yaml``: C01..C16, each with its text and how the book recreates it."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(path, f"cannot read: {exc}") from exc
    claims = []
    for i, item in enumerate(raw.get("claims", []) if isinstance(raw, dict) else [], start=1):
        for key in ("id", "claim", "recreated_by"):
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                raise DataError(path, f"missing or non-text {key!r}", row=i, column=key)
        if not CLAIM_ID.match(item["id"]):
            raise DataError(path, f"{item['id']!r} is not of the form C01", row=i, column="id")
        claims.append(Claim(item["id"], item["claim"], item["recreated_by"]))
    ids = [c.claim_id for c in claims]
    if not claims or len(set(ids)) != len(ids):
        raise DataError(path, f"expected unique claim ids, got {ids}")
    return claims


def ledger_records(claims: list[Claim], recorded: dict[str, Recorded], site_prefix: str,
                   parameters: dict[str, dict[str, Any]] | None = None) -> list[dict]:
    """One object per claim for ``claims.json``.

    id, claim, verdict, reason, figures, conditions, would_test, analysis (the page),
    evidence (kind and detail of each), robust (true, false, or null when no input was
    assessed), flips (the inputs that flip it inside their range), sensitivity, and
    parameters (the values that differ from the defaults on that claim's page; ``{}`` in a
    default build).
    """
    unknown = sorted(set(recorded) - {c.claim_id for c in claims})
    if unknown:
        raise SelfhostError(f"verdicts recorded for claims not in claims.yaml: {unknown}")
    rows = []
    for claim in claims:
        rec = recorded.get(claim.claim_id)
        row: dict[str, Any] = {"id": claim.claim_id, "claim": claim.claim, "verdict": NOT_ANALYSED, "figures": {},
                               "analysis": None, "evidence": [], "robust": None, "flips": [], "sensitivity": [],
                               "parameters": {}}
        if rec:
            row.update(rec.verdict.to_json())
            row["robust"] = rec.verdict.robust
            row["flips"] = rec.verdict.flips_json()
            row["analysis"] = f"{site_prefix}{rec.notebook.stem}.html"
            row["parameters"] = (parameters or {}).get(rec.notebook.stem, {})
        rows.append(row)
    return rows


def evidence_text(row: dict) -> str:
    """The kinds of evidence a ledger row rests on, each with on what ("–" when none is recorded).

    >>> evidence_text({"evidence": [{"kind": "live", "detail": "vLLM 0.32.0 on 2 CPU cores"}]})
    'live run here: vLLM 0.32.0 on 2 CPU cores'
    """
    items = row.get("evidence") or []
    return "; ".join(Evidence(e["kind"], e["detail"]).label for e in items) if items else "–"


def evidence_kinds_text(row: dict) -> str:
    """The kinds of evidence only, for the ledger's table (the claim's section says on what).

    >>> evidence_kinds_text({"evidence": [{"kind": "live", "detail": "a"}, {"kind": "article", "detail": "b"}]})
    "live run here; the article's own text"
    """
    items = row.get("evidence") or []
    return "; ".join(dict.fromkeys(Evidence(e["kind"], e["detail"]).kind_label for e in items)) if items else "–"


def robustness_short(row: dict) -> str:
    """"robust", the inputs that flip it, to what and where, without the ranges (the claim's section
    gives them), or "not assessed".

    >>> robustness_short({"robust": False, "sensitivity": [{"input": "x", "range": [0, 9], "baseline": 2,
    ...     "source": "s", "value": 5, "verdict_there": "holds", "flips": True}]})
    'flips to holds if x > 5'
    """
    if row.get("robust") is None:
        return "not assessed"
    if row["robust"]:
        return "robust"
    flips = [Sensitivity.from_json(s) for s in row.get("sensitivity", []) if s.get("flips")]
    return "; ".join(s.describe().split(" (range")[0] for s in flips)


def robustness_text(row: dict) -> str:
    """"robust", "flips if ..." for each input that flips it, or "not assessed".

    >>> robustness_text({"robust": None}), robustness_text({"robust": True, "sensitivity": []})
    ('not assessed', 'robust')
    """
    if row.get("robust") is None:
        return "not assessed"
    if row["robust"]:
        return "robust"
    flips = [Sensitivity.from_json(s) for s in row.get("sensitivity", []) if s.get("flips")]
    return "; ".join(s.describe() for s in flips)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def ledger_markdown(rows: list[dict], doc_prefix: str, banner: str = "", built_from: str = "") -> str:
    """The ledger page (MyST markdown) from :func:`ledger_records` output.

    The custom-build ``banner`` (if any) first; a summary table (claim, verdict, the
    evidence it rests on, robust or what flips it, the analysis), then one section per
    claim with the reason, the conditions, the evidence, the robustness and the key
    figures, each printed with its unit.
    """
    counts = {v: sum(r["verdict"] == v for r in rows) for v in (*VERDICTS, NOT_ANALYSED)}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines = ["# The claims ledger", ""]
    if banner:
        lines += [banner, ""]
    lines += [
        "Every claim of the article, with the verdict that an executed analysis computed, the kind "
        "of evidence it rests on (a live run here, a published measurement, a model, dated data) and "
        "whether it is robust: a verdict \"flips if\" an uncertain input, moved inside its plausible "
        "range, changes it. This page is generated by `make book` from the notebooks' recorded "
        "verdicts; nothing on it is typed by hand. The same ledger is published as "
        '<a href="../claims.json">claims.json</a>.',
        "",
        f"Status: {summary}.",
        "",
    ]
    if built_from:
        lines += [f'<p class="selfhost-build">{built_from}</p>', ""]
    lines += [
        "| id | claim | verdict | evidence | robust, or what flips it | analysis |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        page = r["analysis"]
        link = f"{{doc}}`{Path(page).stem} <{doc_prefix}{Path(page).stem}>`" if page else "–"
        analysed = r["verdict"] != NOT_ANALYSED
        lines.append(f"| [{r['id']}](#{r['id'].lower()}) | {_cell(r['claim'])} | **{r['verdict']}** | "
                     f"{_cell(evidence_kinds_text(r)) if analysed else '–'} | "
                     f"{_cell(robustness_short(r)) if analysed else '–'} | {link} |")
    for r in rows:
        lines += ["", f"({r['id'].lower()})=", f"## {r['id']}: {r['verdict']}", ""]
        if r["verdict"] == NOT_ANALYSED:
            lines.append("No analysis in the book records a verdict for this claim yet.")
            continue
        lines += [r["reason"], ""]
        if r.get("conditions"):
            lines += ["Conditions:", ""] + [f"- {c}" for c in r["conditions"]] + [""]
        if r.get("would_test"):
            lines += [f"What would test it: {r['would_test']}", ""]
        lines += [f"Evidence: {evidence_text(r)}.", "", f"Robustness: {robustness_text(r)}.", ""]
        if r.get("parameters"):
            shown = ", ".join(f"`{k} = {v['value']!r}`" for k, v in r["parameters"].items())
            lines += [f"Computed with custom parameters: {shown}.", ""]
        lines += ["| key figure | value |", "|---|---|"]
        lines += [f"| `{k}` | {format_quantity(k, v)} |" for k, v in r["figures"].items()]
    return "\n".join(lines) + "\n"


def write_json(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2) + "\n")


def glued(notebook: Path) -> dict[str, object]:
    """Values a notebook glued with ``myst_nb.glue``: name -> value.

    Numbers come back as numbers (parsed from the stored ``text/plain`` repr, numpy
    wrappers included); anything else as its repr text.
    """
    nb = nbformat.read(notebook, as_version=4)
    out: dict[str, object] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = output.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), "")
            out[name] = _parse_repr(text)
    return out


def _parse_repr(text: str) -> object:
    import ast

    inner = re.sub(r"^np\.\w+\((.*)\)$", r"\1", text.strip())
    try:
        return ast.literal_eval(inner)
    except (ValueError, SyntaxError):
        return text
