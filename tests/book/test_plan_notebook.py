"""The "Your deployment" page: the article's scenario by default, a reader's profile as its one parameter."""

from __future__ import annotations

import pytest

from selfhost import paths
from selfhost.book import ledger, pipeline
from selfhost.data.yamlfile import parse_strict_yaml
from tests.book.controls_driver import controls_start
from tests.cli.test_plan import SONNET

NB = paths.NOTEBOOKS / "plan.ipynb"


@pytest.mark.slow
def test_the_page_is_the_readers_plan(tmp_path):
    out = tmp_path / "plan.ipynb"
    pipeline.execute(NB, out, {"profile": parse_strict_yaml(SONNET)})
    g = ledger.glued(out)
    assert g["traffic_mtok_per_day"] == pytest.approx(171.2, rel=2e-3)
    assert g["peak_to_mean_x"] == 2.0 and g["reference_api"] == "anthropic/claude-sonnet-4.6"
    assert g["selfhost_usd_per_month"] == pytest.approx(
        g["gpus_total"] * g["gpu_usd_per_hour"] * g["hours_per_month"] + 8833)
    # The live controls start at the reader's numbers.
    start = controls_start(out)
    assert start["tok_per_day"] == pytest.approx(g["traffic_mtok_per_day"] * 1e6, rel=2e-3)
    assert (start["input_share"], start["peak_to_mean_x"], start["ops_usd_per_month"]) == (0.85, 2.0, 8833)
    assert start["api"] == "anthropic/claude-sonnet-4.6"
    assert {k for k in start if k.startswith("use_") and start[k]} == {"use_a100_80gb", "use_h100_80gb",
                                                                      "use_h200_141gb"}


@pytest.mark.slow
def test_a_bad_profile_stops_the_page_naming_the_field(tmp_path):
    profile = parse_strict_yaml(SONNET.replace("availability: 0.999", "availability: 1.2"))
    with pytest.raises(pipeline.NotebookFailed, match="availability"):
        pipeline.execute(NB, tmp_path / "plan.ipynb", {"profile": profile})
