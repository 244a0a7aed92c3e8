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


def judged(tmp_path: Path) -> list[dict]:
    from selfhost.robustness import Sensitivity
    from selfhost.verdicts import Evidence

    v2 = Verdict("C02", HOLDS, "because", {"breakeven_tok_per_day": 5e6},
                 evidence=(Evidence("data", "API prices read 2026-11-27 from copies dated 2026-03"),
                           Evidence("model", "break-even formula")),
                 sensitivity=(Sensitivity("gpu_usd_per_hour", 0.86, 12.3, 2.5, "data/gpu_prices.csv", 4.1, "does not hold"),))
    v3 = Verdict("C03", HOLDS, "because", {"x_count": 1},
                 evidence=(Evidence("live", "vLLM 0.32.0 CPU build, a 2-layer random-weight Llama, 2 cores"),),
                 sensitivity=(Sensitivity("input_share", 0.5, 0.9, 0.7, "traces"),))
    nb = executed_with(tmp_path, "costs", v2, v3)
    claims = ledger.load_claims(paths.ROOT / "data" / "claims.yaml")
    return ledger.ledger_records(claims, ledger.collect_verdicts([nb]), site_prefix="book/analyses/",
                                 parameters={"costs": {"input_share": {"value": 0.8, "default": 0.7}}})


def test_every_claim_has_robust_and_flips_and_evidence(tmp_path):
    rows = {r["id"]: r for r in judged(tmp_path)}
    assert all({"robust", "flips", "evidence", "parameters"} <= set(r) for r in rows.values())
    assert rows["C02"]["robust"] is False and rows["C02"]["flips"][0]["input"] == "gpu_usd_per_hour"
    assert rows["C03"]["robust"] is True and rows["C03"]["flips"] == []
    assert rows["C04"]["robust"] is None and rows["C04"]["evidence"] == []
    assert rows["C02"]["parameters"] == {"input_share": {"value": 0.8, "default": 0.7}}
    json.dumps(list(rows.values()), allow_nan=False)


def test_summary_table_shows_evidence_and_what_flips(tmp_path):
    page = ledger.ledger_markdown(judged(tmp_path), doc_prefix="analyses/", banner="BANNER",
                                  built_from="Built from commit abc, with the default parameters.")
    head = page.split("\n## ")[0]
    assert "| id | claim | verdict | evidence | robust, or what flips it | analysis |" in head
    c02 = next(line for line in head.splitlines() if line.startswith("| [C02]"))
    assert "| dated data; model |" in c02 and "API prices read" not in c02  # the kinds; the section says on what
    assert "dated data: API prices read 2026-11-27 from copies dated 2026-03; model: break-even formula" in page
    assert "flips to does not hold if gpu_usd_per_hour > 4.1" in c02
    c03 = next(line for line in head.splitlines() if line.startswith("| [C03]"))
    assert "| live run here |" in c03 and "| robust |" in c03
    c04 = next(line for line in head.splitlines() if line.startswith("| [C04]"))
    assert "| – | – |" in c04
    assert head.index("BANNER") < head.index("| id |") and "Built from commit abc" in head
    assert "Computed with custom parameters: `input_share = 0.8`" in page
    assert "Robustness: robust." in page and "Evidence: live run here" in page


def test_ledger_names_no_authoring_notes(tmp_path):
    page = ledger.ledger_markdown(judged(tmp_path), doc_prefix="analyses/")
    for note in ("SOURCES.md", "CLAIMS.md", "shared/", "TODO"):
        assert note not in page
