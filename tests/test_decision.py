import pandas as pd
import pytest

from selfhost import decision
from selfhost.decision import Outcome, TeamProfile, Thresholds, decide
from selfhost.errors import ParameterError
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS


def profile(**over):
    base = dict(regulated_data=False, api_spend_usd_per_month=0.0, ttft_target_ms=1000.0,
                custom_model=False, gpu_experience=False)
    base.update(over)
    return TeamProfile(**base)


# One profile per leaf: every path of the tree is walked.
PATHS = [
    (profile(regulated_data=True), Outcome.SELF_HOST_PRIVACY, ["regulated_data"]),
    (profile(api_spend_usd_per_month=5_000), Outcome.USE_APIS, ["regulated_data", "api_spend"]),
    (profile(api_spend_usd_per_month=20_000, ttft_target_ms=150), Outcome.SELF_HOST_LATENCY,
     ["regulated_data", "api_spend", "ttft"]),
    (profile(api_spend_usd_per_month=20_000, custom_model=True), Outcome.SELF_HOST_CUSTOM,
     ["regulated_data", "api_spend", "ttft", "custom_model"]),
    (profile(api_spend_usd_per_month=20_000, gpu_experience=True), Outcome.SELF_HOST_COST,
     ["regulated_data", "api_spend", "ttft", "custom_model", "gpu_experience"]),
    (profile(api_spend_usd_per_month=20_000), Outcome.HOSTED_OPEN_APIS,
     ["regulated_data", "api_spend", "ttft", "custom_model", "gpu_experience"]),
]


@pytest.mark.parametrize("team,outcome,gates", PATHS, ids=[o.name for _, o, _ in PATHS])
def test_every_path(team, outcome, gates):
    result = decide(team)
    assert result.outcome is outcome
    assert [k for k, _ in result.path] == gates


def test_paths_above_cover_every_leaf_of_the_tree():
    assert {o for _, o, _ in PATHS} == set(Outcome)
    assert {d.outcome for d in decision.reachable_paths()} == set(Outcome)
    assert len(decision.reachable_paths()) == len(Outcome)


def test_gates_are_strict_inequalities_as_worded():
    # "Spending >$10K/month": exactly $10K is not above the gate; "<200ms": 200 ms is not below.
    assert decide(profile(api_spend_usd_per_month=10_000)).outcome is Outcome.USE_APIS
    assert decide(profile(api_spend_usd_per_month=10_001, ttft_target_ms=200)).outcome is Outcome.HOSTED_OPEN_APIS


def test_thresholds_move_the_gates():
    team = profile(api_spend_usd_per_month=6_000, gpu_experience=True)
    assert decide(team, Thresholds(spend_gate_usd_per_month=5_000)).outcome is Outcome.SELF_HOST_COST


@pytest.mark.parametrize("field,value,message", [
    ("api_spend_usd_per_month", -1.0, "api_spend_usd_per_month = -1.0 is invalid"),
    ("ttft_target_ms", 0, "ttft_target_ms = 0 is invalid"),
    ("regulated_data", "maybe", "regulated_data = 'maybe' is invalid: expected true or false"),
    ("gpu_experience", 1, "gpu_experience = 1 is invalid"),
])
def test_bad_profile_values_name_the_parameter(field, value, message):
    with pytest.raises(ParameterError, match=message):
        profile(**{field: value})


def test_list_and_tree_disagree_where_the_tree_skips_gates():
    parted = decision.disagreements()
    assert len(parted) == 7
    under = [d for d in parted if not d.gate_answers["api_spend"]]
    assert len(under) == 6 and all(d.tree is Outcome.USE_APIS and d.list_self_hosts for d in under)


def test_verdict_holds_when_both_checks_pass():
    v = decision.c01_verdict([], 32, {"a": 6e6, "b": 8e6}, 5e6, 2.0)
    assert v.verdict == HOLDS


def test_verdict_conditional_names_both_conditions():
    v = decision.c01_verdict(decision.disagreements(), 32, {"a": 30e6, "b": 150e6}, 5e6, 2.0)
    assert v.verdict == CONDITIONAL and len(v.conditions) == 2
    assert v.figures["gate_max_over_breakeven_x"] == pytest.approx(30)


def test_verdict_fails_when_the_gate_admits_teams_below_break_even():
    v = decision.c01_verdict([], 32, {"a": 1e6, "b": 6e6}, 5e6, 2.0)
    assert v.verdict == FAILS


def test_gate_table_and_c01_assess_on_the_dated_prices():
    from selfhost.data.prices import load_api_prices

    prices = [p for p in load_api_prices() if p.tier == "frontier" and p.status == "current"]
    t = decision.gate_table(prices, 10_000, 0.7, 5e6)
    sonnet = t[t["model"] == "anthropic/claude-sonnet-5.5"].iloc[0]
    assert sonnet["gate_tok_per_day"] == pytest.approx(10_000 / (730 / 24) / 4.4 * 1e6)
    v = decision.c01_assess(decision.disagreements(), 32, prices, 10_000, 0.7, 5e6, 2.0,
                            input_share_range=(0.85, 0.99), cached_share_high=0.37, traffic_source="traces")
    assert {s.input for s in v.sensitivity} == {"input_share", "cached_share", "api_price_x"}
    assert v.verdict in (decision.CONDITIONAL, decision.FAILS, decision.HOLDS)
    assert len(decision.gates_table()) == 5 and len(decision.paths_table()) == 6


def test_gate_figures_print_in_one_format():
    """The statement and the verdict print the gate's volumes and ratios as the table does: three significant
    digits, with thousands separators (1,494M, not 1494M; 299x, not 298.9x here and 299 there)."""
    from selfhost.decision import gate_statement
    from selfhost.units import significant

    table = pd.DataFrame({"gate_mtok_per_day": [18.67995, 1494.396], "gate_over_breakeven_x": [3.73599, 298.879]})
    text = gate_statement(table)
    assert "18.7M to 1,494M tokens a day" in text and "3.74x to 299x" in text
    assert significant(0.22) == "0.220" and significant(12_345.6) == "12,346"
