import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from selfhost import paths
from selfhost.book import ledger
from selfhost.errors import DataError, SelfhostError
from selfhost.verdicts import HOLDS, NOT_ANALYSED, VERDICT_MIME, Verdict


def executed_with(tmp_path: Path, name: str, *verdicts: Verdict) -> Path:
    cells = [new_code_cell("show_verdict(v)", outputs=[
        new_output("display_data", data={VERDICT_MIME: v.to_json(), "text/plain": "v"})]) for v in verdicts]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_claims_file_has_the_sixteen_claims_of_the_project():
    claims = ledger.load_claims(paths.ROOT / "data" / "claims.yaml")
    assert [c.claim_id for c in claims] == [f"C{i:02d}" for i in range(1, 17)]
    shared = paths.ROOT.parent / "shared" / "CLAIMS.md"
    if shared.exists():  # the claims list the project was given, where this checkout has it
        ids = re.findall(r"^\| (C\d\d) \|", shared.read_text(), flags=re.M)
        assert ids == [c.claim_id for c in claims]


def test_collect_and_ledger_rows(tmp_path):
    nb = executed_with(tmp_path, "costs", Verdict("C02", HOLDS, "because", {"breakeven_tok_per_day": 5e6}))
    claims = ledger.load_claims(paths.ROOT / "data" / "claims.yaml")
    rows = ledger.ledger_records(claims, ledger.collect_verdicts([nb]), site_prefix="book/analyses/")
    by_id = {r["id"]: r for r in rows}
    assert by_id["C02"]["verdict"] == HOLDS and by_id["C02"]["analysis"] == "book/analyses/costs.html"
    assert by_id["C03"]["verdict"] == NOT_ANALYSED and by_id["C03"]["analysis"] is None
    page = ledger.ledger_markdown(rows, doc_prefix="analyses/")
    assert page.count("\n| [C") == 16 and page.count("\n## C") == 16
    assert "{doc}`costs <analyses/costs>`" in page and "5,000,000 tok/day" in page
    json.dumps(rows)


def test_two_notebooks_recording_one_claim_is_an_error(tmp_path):
    a = executed_with(tmp_path, "a", Verdict("C02", HOLDS, "x"))
    b = executed_with(tmp_path, "b", Verdict("C02", HOLDS, "y"))
    with pytest.raises(SelfhostError, match="C02 has verdicts in both a.ipynb and b.ipynb"):
        ledger.collect_verdicts([a, b])


def test_verdict_for_unknown_claim_is_an_error(tmp_path):
    nb = executed_with(tmp_path, "a", Verdict("C99", HOLDS, "x"))
    claims = ledger.load_claims(paths.ROOT / "data" / "claims.yaml")
    with pytest.raises(SelfhostError, match=r"not in claims.yaml: \['C99'\]"):
        ledger.ledger_records(claims, ledger.collect_verdicts([nb]), "")


def test_malformed_claims_file_names_row_and_column(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n- id: C01\n  claim: x\n")
    with pytest.raises(DataError, match="row 1, column recreated_by"):
        ledger.load_claims(bad)
