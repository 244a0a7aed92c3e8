"""The traffic page: its glued figures match the committed summaries, it follows its parameters, and
its embedded chart data stays small."""

from __future__ import annotations

import json

import nbformat
import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.data.traffic import load_summary

NOTEBOOK = paths.NOTEBOOKS / "traffic.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("traffic") / "traffic.ipynb"
    pipeline.execute(NOTEBOOK, out)
    return out


def test_glued_figures_are_the_summaries(executed):
    glued = ledger.glued(executed)
    for name in ("azure-2023-conv", "azure-2023-code", "mooncake-conversation"):
        s, key = load_summary(name), name.replace("-", "_")
        assert glued[f"{key}_input_share"] == pytest.approx(s.input_share)
        assert glued[f"{key}_peak_to_mean_x"] == pytest.approx(s.peak_to_mean_x)
        assert glued[f"{key}_utilisation_share"] == pytest.approx(1 / s.peak_to_mean_x)
    assert glued["mooncake_conversation_prefix_hit_share"] == pytest.approx(load_summary("mooncake-conversation")
                                                                           .prefix_hit_share)
    # Sonnet at $3/$15: break-even scales with 6.6 / blended price.
    code = load_summary("azure-2023-code")
    blended = code.input_share * 3 + (1 - code.input_share) * 15
    assert glued["azure_2023_code_frontier_breakeven_vs_article_x"] == pytest.approx(6.6 / blended)
    assert glued["article_frontier_breakeven_mtok_per_day"] == pytest.approx(2.5 * 24 / 6.6)


def test_the_page_records_no_verdict_of_its_own(executed):
    assert ledger.verdicts_in(executed) == []


def test_embedded_chart_data_stays_small(executed):
    nb = nbformat.read(executed, as_version=4)
    sizes = [len(json.dumps(o.get("data", {}))) for c in nb.cells for o in c.get("outputs", [])]
    assert sum(sizes) < 400_000, sum(sizes)


@pytest.mark.slow
def test_other_parameters(tmp_path):
    out = tmp_path / "traffic.ipynb"
    pipeline.execute(NOTEBOOK, out, {"input_share": 0.5, "window_s": 10,
                                     "hosted_api": "deepinfra/llama-3.3-70b-instruct-turbo"})
    glued = ledger.glued(out)
    assert glued["window_s"] == 10
    assert glued["azure_2023_code_peak_to_mean_x"] == pytest.approx(load_summary("azure-2023-code")
                                                                    .peak_to_mean_by_window[10])
    assert glued["article_frontier_blended_usd_per_mtok"] == pytest.approx(9.0)
    assert glued["article_hosted_blended_usd_per_mtok"] == pytest.approx(0.5 * 0.10 + 0.5 * 0.32)


def test_a_bad_parameter_stops_the_page(tmp_path):
    with pytest.raises(Exception, match="hosted_api"):
        pipeline.execute(NOTEBOOK, tmp_path / "bad.ipynb", {"hosted_api": "nobody/nothing"})
