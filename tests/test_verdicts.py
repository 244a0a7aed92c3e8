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
