import numpy as np
import pytest

from selfhost.errors import SelfhostError
from selfhost.verdicts import CONDITIONAL, HOLDS, UNTESTABLE, Verdict


def test_round_trip_through_json():
    v = Verdict("C02", CONDITIONAL, "why", {"breakeven_tok_per_day": np.float64(5.1e6)}, ("when x",))
    again = Verdict.from_json(v.to_json())
    assert again == v and isinstance(again.figures["breakeven_tok_per_day"], float)


@pytest.mark.parametrize("kwargs,message", [
    (dict(claim_id="X1", verdict=HOLDS, reason="r"), "not of the form C01"),
    (dict(claim_id="C01", verdict="true-ish", reason="r"), "is not one of"),
    (dict(claim_id="C01", verdict=CONDITIONAL, reason="r"), "must name its conditions"),
    (dict(claim_id="C01", verdict=UNTESTABLE, reason="r"), "must say what would test it"),
    (dict(claim_id="C01", verdict=HOLDS, reason="r", figures={"x": float("nan")}), "figure x is nan"),
])
def test_invalid_verdicts_are_refused(kwargs, message):
    with pytest.raises(SelfhostError, match=message):
        Verdict(**kwargs)


def test_markdown_shows_figures_with_units():
    md = Verdict("C02", HOLDS, "why", {"breakeven_tok_per_day": 5e6}).to_markdown()
    assert "5,000,000 tok/day" in md and "**C02: holds.**" in md


def test_markdown_shows_evidence_robustness_and_a_real_table():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    from selfhost.robustness import Sensitivity
    from selfhost.verdicts import Evidence

    v = Verdict("C10", HOLDS, "why", {"speedup_x": 5.3},
                evidence=(Evidence("live", "vLLM 0.32.0 CPU build, 2 cores"), Evidence("published", "SGLang paper")),
                sensitivity=(Sensitivity("prefix_share", 0.2, 0.9, 0.5, "traces", 0.3, "does not hold"),))
    md = v.to_markdown()
    assert "Evidence: live run here: vLLM 0.32.0 CPU build, 2 cores; published measurement: SGLang paper." in md
    assert "Robustness: flips to does not hold if prefix_share < 0.3" in md
    html = create_md_parser(MdParserConfig(gfm_only=True), RendererHTML).render(md)
    assert "<table>" in html and "|---|" not in html
    robust = v.with_(sensitivity=(Sensitivity("prefix_share", 0.2, 0.9, 0.5, "traces"),)).to_markdown()
    assert "Robustness: robust to every input tried." in robust
