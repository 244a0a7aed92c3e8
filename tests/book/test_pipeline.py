"""The pipeline: parameters, execution errors, committed outputs, and nbval as a guard."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import nbformat
import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.cli import main
from selfhost.errors import SelfhostError

DECISION = paths.NOTEBOOKS / "decision-tree.ipynb"


def test_every_notebook_has_a_tagged_parameters_cell_of_typed_literals():
    for nb in pipeline.notebooks():
        params = pipeline.parameters_of(nb)
        assert params, f"{nb.name} has no parameters cell"
        for name, p in params.items():
            kinds = [k.strip() for k in p["inferred_type_name"].split("|")]
            assert all(k in pipeline.PYTHON_TYPES or k == "None" for k in kinds), f"{nb.name}: {name} has no simple type"
            assert p["help"], f"{nb.name}: {name} has no comment"


def test_every_notebook_records_a_verdict_in_a_checked_cell():
    for nb_path in pipeline.notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        checked = [c for c in nb.cells if pipeline.CHECKED_TAG in c.metadata.get("tags", [])]
        assert any("show_verdict" in c.source for c in checked), nb_path.name
        assert ledger.verdicts_in(nb_path), f"{nb_path.name}: committed without its verdict output (make refresh)"


def test_committed_notebooks_keep_only_checked_outputs():
    for nb_path in pipeline.notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and pipeline.CHECKED_TAG not in cell.metadata.get("tags", []):
                assert not cell.outputs, f"{nb_path.name}: untagged cell with outputs (make refresh strips them)"
        assert "papermill" not in nb.metadata


def test_params_top_level_and_per_notebook():
    books = [DECISION]
    resolved = pipeline.resolve_params(
        {"input_share": 0.8, "decision-tree": {"ttft_target_ms": 150}}, books
    )
    assert resolved == {"decision-tree": {"input_share": 0.8, "ttft_target_ms": 150}}


def test_int_is_accepted_for_a_float_parameter_but_not_a_string():
    assert pipeline.resolve_params({"input_share": 1}, [DECISION])["decision-tree"]["input_share"] == 1
    with pytest.raises(SelfhostError, match=r"decision-tree.input_share = '0.8': expected float"):
        pipeline.resolve_params({"input_share": "0.8"}, [DECISION])
    with pytest.raises(SelfhostError, match=r"decision-tree.custom_model = 1: expected bool"):
        pipeline.resolve_params({"custom_model": 1}, [DECISION])


def test_unknown_parameters_are_all_listed():
    with pytest.raises(SelfhostError) as err:
        pipeline.resolve_params({"gpu_colour": "red", "decision-tree": {"nope": 1}}, [DECISION])
    assert "gpu_colour: no notebook has a parameter of that name" in str(err.value)
    assert "decision-tree.nope: decision-tree has no such parameter" in str(err.value)


def test_book_with_bad_params_file_fails_before_running_anything(tmp_path, capsys):
    bad = tmp_path / "my.yaml"
    bad.write_text("gpu_colour: red\n")
    assert main(["book", "--params", str(bad)]) == 2
    assert "gpu_colour" in capsys.readouterr().err


def test_params_file_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SelfhostError, match="expected a mapping"):
        pipeline.load_params_file(bad)


def independent_gate_min_tok_per_day(spend_usd_per_month: float, input_share: float) -> float:
    """The cheapest-volume frontier model for a spend, straight from the CSV (no selfhost code)."""
    with open(paths.ROOT / "data" / "api_prices.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["tier"] == "frontier" and r["status"] == "current"]
    days = 365.2425 / 12
    return min(
        spend_usd_per_month / days / (input_share * float(r["input_usd_per_mtok"])
                                      + (1 - input_share) * float(r["output_usd_per_mtok"])) * 1e6
        for r in rows
    )


@pytest.mark.slow
def test_decision_tree_with_non_default_parameters(tmp_path):
    out = tmp_path / "dt.ipynb"
    params = {"api_spend_usd_per_month": 25_000.0, "ttft_target_ms": 150.0, "input_share": 0.8,
              "spend_gate_usd_per_month": 20_000.0}
    pipeline.execute(DECISION, out, params)
    glued = ledger.glued(out)
    assert glued["c01_profile_outcome"] == "Self-host (latency)"
    (verdict,) = ledger.verdicts_in(out)
    expected = independent_gate_min_tok_per_day(20_000.0, 0.8)
    assert verdict.figures["gate_min_tok_per_day"] == pytest.approx(expected, rel=1e-5)
    assert glued["c01_gate_min_mtok_per_day"] == pytest.approx(expected / 1e6, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name,value,expected", [
    ("api_spend_usd_per_month", -5.0, "api_spend_usd_per_month = -5.0 is invalid: expected a number >= 0"),
    ("input_share", 1.5, r"input_share = 1.5 is invalid: expected a number in \[0, 1\]"),
    ("regulated_data", "maybe", "regulated_data = 'maybe' is invalid: expected true or false"),
])
def test_bad_parameter_stops_at_the_validation_cell(tmp_path, name, value, expected):
    with pytest.raises(pipeline.NotebookFailed) as err:
        pipeline.execute(DECISION, tmp_path / "dt.ipynb", {name: value})
    message = str(err.value)
    assert message.startswith("notebooks/decision-tree.ipynb failed at cell 5 ('profile = decision.TeamProfile(')")
    assert "ParameterError" in message
    import re

    assert re.search(expected, message)


def test_strip_for_commit_keeps_checked_outputs_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("1", execution_count=1, outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]),
        nbformat.v4.new_code_cell("2", execution_count=2, metadata={"tags": [pipeline.CHECKED_TAG]},
                                  outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]),
        nbformat.v4.new_code_cell("x = 3", metadata={"tags": ["injected-parameters"]}),
    ])
    nb.metadata["papermill"] = {"duration": 1}
    stripped = pipeline.strip_for_commit(nb)
    assert [c.source for c in stripped.cells] == ["1", "2"]
    assert stripped.cells[0].outputs == [] and stripped.cells[0].execution_count is None
    assert stripped.cells[1].outputs and "papermill" not in stripped.metadata


@pytest.mark.slow
def test_nbval_fails_when_a_data_change_moves_a_number(data_copy, tmp_path):
    """A price change that moves the verdict's figures must fail CI until `make refresh`."""
    prices = data_copy / "api_prices.csv"
    prices.write_text(prices.read_text().replace("anthropic,claude-opus-4.6,frontier,current,5.00", "anthropic,claude-opus-4.6,frontier,current,4.00"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-sanitize-with", str(paths.ROOT / "tests" / "nbval-sanitize.cfg"), str(DECISION)]
    env = dict(os.environ, SELFHOST_DATA_DIR=str(data_copy))
    moved = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert moved.returncode == 1, moved.stdout[-2000:]
    assert "show_verdict(verdict)" in moved.stdout
