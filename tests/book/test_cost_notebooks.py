"""The cost pages (break-even, cost-of-ownership, availability, decision tree): they follow the page
conventions, run with non-default parameters, and their glued figures match calculations made here
independently of selfhost.costs."""

import json
import math
import re

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from tests.book.controls_driver import controls_start

DAYS_PER_MONTH = 730 / 24
HOURS_PER_MONTH = 730
NB = paths.NOTEBOOKS
PAGES = ["break-even", "cost-of-ownership", "availability", "decision-tree"]


def cells(stem):
    return json.loads((NB / f"{stem}.ipynb").read_text())["cells"]


@pytest.mark.parametrize("stem", PAGES)
def test_page_conventions(stem):
    cs = cells(stem)
    code = [c for c in cs if c["cell_type"] == "code"]
    tags = [c.get("metadata", {}).get("tags", []) for c in code]
    assert "hide-input" in tags[0] and "page.setup()" in "".join(code[0]["source"])
    assert sum("parameters" in t for t in tags) == 1
    for c, t in zip(code, tags):
        src = "".join(c["source"])
        if "parameters" in t:
            assert "hide-input" not in t
            continue
        assert "hide-input" in t or "remove-input" in t, src[:80]
        assert ".style" not in src and "pd.DataFrame(" not in src and "def " not in src, src[:80]
        if "show_verdict(" in src:
            assert "nbval-check-output" in t
    prose = "".join("".join(c["source"]) for c in cs if c["cell_type"] == "markdown")
    assert "[USD" not in prose and "SOURCES.md" not in prose and "not re-read" not in prose
    assert "## References" in prose and "](http" in prose.split("## References")[1]
    if stem != "availability":  # the availability page uses none of the glossary's terms
        assert "{term}`" in prose


def test_no_volume_is_typed_in_prose():
    """'At 5M tokens/day ...' must follow the parameters: a volume in prose outside a quotation is glued."""
    for stem in ("break-even", "cost-of-ownership"):
        for c in cells(stem):
            if c["cell_type"] != "markdown":
                continue
            text = "".join(line for line in c["source"] if not line.lstrip().startswith(">")
                           and "**Claim" not in line and "hosted open-model APIs serving" not in line)
            text = re.sub(r"`[^`]*`", "", text)  # code and glue roles
            assert not re.search(r"\b\d+(\.\d+)?M tokens?/day", text), (stem, text[:200])


@pytest.mark.slow
def test_break_even_glues_its_own_breakeven(tmp_path):
    out = tmp_path / "be.ipynb"
    params = {"gpu_usd_per_hour": 1.39, "api_input_usd_per_mtok": 1.25, "api_output_usd_per_mtok": 10.0,
              "input_share": 0.8, "ops_usd_per_month": 3000.0}
    pipeline.execute(NB / "break-even.ipynb", out, params)
    glued = ledger.glued(out)
    blended = 0.8 * 1.25 + 0.2 * 10.0
    replica = glued["gpus_per_replica_count"] * 1.39 * HOURS_PER_MONTH
    expected = (replica + 3000) / (blended * DAYS_PER_MONTH) * 1e6
    assert expected <= glued["replica_capacity_tok_per_day"]  # one replica serves it: the article's formula holds
    assert glued["breakeven_tok_per_day"] == pytest.approx(expected, rel=1e-9)
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C02", "C03", "C04"}
    for v in verdicts.values():
        assert v.sensitivity and v.evidence
        assert {"ops_usd_per_month", "gpu_usd_per_hour", "peak_to_mean_x"} <= {s.input for s in v.sensitivity}
    assert verdicts["C02"].figures["ops_usd_per_month"] == 3000 and "book_ops_usd_per_month" in verdicts["C02"].figures


@pytest.mark.slow
def test_a_profile_build_starts_the_break_even_controls_at_the_readers_numbers(tmp_path):
    spec = pipeline.load_params_file(paths.ROOT / "examples" / "sonnet-spend-25k.yaml")
    params = pipeline.resolve_params(spec, pipeline.notebooks())["break-even"]
    out = tmp_path / "be.ipynb"
    pipeline.execute(NB / "break-even.ipynb", out, params)
    start = controls_start(out)
    assert {k: start[k] for k in ("tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month", "gpu")} == {
        k: params[k] for k in ("tok_per_day", "input_share", "peak_to_mean_x", "ops_usd_per_month", "gpu")}
    assert start["gpu_prices"][params["gpu"]] == params["gpu_usd_per_hour"]
    assert start["api_prices"][start["api"]][:2] == [params["api_input_usd_per_mtok"], params["api_output_usd_per_mtok"]]
    assert ledger.glued(out)["tok_per_day"] == params["tok_per_day"]


@pytest.mark.slow
def test_break_even_refuses_a_share_above_one(tmp_path):
    with pytest.raises(pipeline.NotebookFailed, match=r"input_share = 1.5 is invalid"):
        pipeline.execute(NB / "break-even.ipynb", tmp_path / "be.ipynb", {"input_share": 1.5})


@pytest.mark.slow
def test_cost_of_ownership_with_other_operating_cost(tmp_path):
    out = tmp_path / "tco.ipynb"
    params = {"gpu_usd_per_hour": 2.0, "engineer_fte": 1.0, "engineer_usd_per_year": 120_000.0,
              "monitoring_usd_per_month": 0.0, "frontier_threshold_usd_per_month": 20_000.0, "peak_to_mean_x": 2.0}
    pipeline.execute(NB / "cost-of-ownership.ipynb", out, params)
    glued = ledger.glued(out)
    assert glued["ops_usd_per_month"] == pytest.approx(10_000)
    assert glued["selfhost_usd_per_month"] == pytest.approx(glued["replicas_count"] * 2.0 * HOURS_PER_MONTH + 10_000)
    verdicts = {v.claim_id: v for v in ledger.verdicts_in(out)}
    assert set(verdicts) == {"C05", "C06"}
    c06 = verdicts["C06"].figures
    # what $20K buys at the cheapest frontier price needs GPUs for twice its rate (the peak)
    assert c06["frontier_gpus_max_count"] >= 2 and c06["assumed_ops_usd_per_month"] == pytest.approx(10_000)
    assert not math.isnan(glued["utilisation_share"]) and glued["utilisation_share"] <= 0.5 + 1e-9


@pytest.mark.slow
def test_availability_with_other_replica_figures(tmp_path):
    out = tmp_path / "av.ipynb"
    pipeline.execute(NB / "availability.ipynb", out, {"replica_availability": 0.99, "zone_availability": 0.999,
                                                       "replica_failures_per_year": 0.0, "failover_s": 0.0})
    glued = ledger.glued(out)
    assert glued["single_replica_pct"] == pytest.approx(100 * 0.99 * 0.999)
    (verdict,) = ledger.verdicts_in(out)
    # By hand: a zone with n replicas is empty with probability 0.001 + 0.999 * 0.01**n.
    # 2 replicas in 2 zones: (0.001 + 0.999 * 0.01)**2 = 1.2e-4, over the 99.99% budget of 1e-4;
    # 3 replicas in 2 zones: (0.001 + 0.999 * 1e-4) * (0.001 + 0.999 * 0.01) = 1.2e-5, within it.
    assert (0.001 + 0.999 * 0.01) ** 2 > 1e-4 > (0.001 + 0.999 * 1e-4) * (0.001 + 0.999 * 0.01)
    assert verdict.figures["replicas_count"] == 3 and verdict.figures["zones_count"] == 2
    assert glued["needed_gpu_usd_per_month"] == pytest.approx(3 * 2.5 * HOURS_PER_MONTH)
    assert verdict.sensitivity


@pytest.mark.slow
def test_decision_tree_gate_follows_the_input_share(tmp_path):
    out = tmp_path / "dt.ipynb"
    pipeline.execute(NB / "decision-tree.ipynb", out, {"input_share": 0.9, "spend_gate_usd_per_month": 20_000.0})
    glued = ledger.glued(out)
    # Sonnet 5.5 at 90% input: 0.9 x 2 + 0.1 x 10 = $2.80/Mtok; the dearest, Fable 5.2: 0.9 x 8 + 0.1 x 40 = $11.20
    assert glued["c01_gate_min_mtok_per_day"] == pytest.approx(20_000 / DAYS_PER_MONTH / 11.2, rel=1e-9)
    (verdict,) = ledger.verdicts_in(out)
    assert verdict.claim_id == "C01" and {s.input for s in verdict.sensitivity} == {"input_share", "cached_share",
                                                                                     "api_price_x"}
