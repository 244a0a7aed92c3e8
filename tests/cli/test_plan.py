"""``selfhost plan``: the answer printed and as JSON, the alert rules, and one clear line for bad input."""

from __future__ import annotations

import json

import pytest

from selfhost import paths
from selfhost.cli import main


def profile(tmp_path, text):
    p = tmp_path / "profile.yaml"
    p.write_text(text)
    return str(p)


SONNET = """model: llama-3.3-70b
traffic:
  api_spend_usd_per_month: 25000
  api: anthropic/claude-sonnet-4.6
  input_share: 0.85
  peak_to_mean_x: 2.0
latency: {ttft_ms: 1000, tpot_ms: 100}
availability: 0.999
gpus: [a100-80gb, h100-80gb, h200-141gb]
weight_dtypes: [bf16, fp8, int4]
ops_usd_per_month: 8833
apis: [anthropic/claude-sonnet-4.6, openai/gpt-5]
"""


def test_the_article_scenario_by_default(capsys):
    assert main(["plan", "--no-flips"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Use the API: anthropic/claude-sonnet-4.6") and "A month is 730" in out


def test_json_on_a_spend_profile_can_be_checked_by_hand(tmp_path, capsys):
    assert main(["plan", profile(tmp_path, SONNET), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["answer"] in ("self-host", "api")
    d = j["deployment"]
    assert j["gpus_total"] == d["gpus_per_replica"] * d["replicas"]
    by_hand = j["gpus_total"] * j["gpu_usd_per_hour"] * j["hours_per_month"] + j["ops_usd_per_month"]
    assert j["selfhost_usd_per_month"] == pytest.approx(by_hand)
    assert j["capacity_tok_per_day"] >= j["peak_tok_per_day"]
    sonnet = next(a for a in j["apis"] if a["api"] == "anthropic/claude-sonnet-4.6")
    assert sonnet["api_usd_per_month"] == pytest.approx(25000, rel=1e-9)
    assert (j["answer"] == "self-host") == (j["selfhost_usd_per_month"] < 25000)


def test_rules_are_written_for_the_ttft_target(tmp_path, capsys):
    out = tmp_path / "rules.yml"
    assert main(["plan", "--no-flips", "--rules-out", str(out)]) == 0
    assert "alert:" in out.read_text() and "rules" in capsys.readouterr().out
    assert main(["plan", "--no-flips", "--rules-out", str(out)]) == 2  # exists: refused
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    ("", "profile is empty"), ("[1, 2]\n", "must be a mapping"), ("model: [\n", "not valid YAML"),
    (SONNET.replace("availability: 0.999", "availability: 1"), "availability"),
    (SONNET.replace("input_share: 0.85", "input_share: 1.5"), "traffic.input_share"),
    (SONNET.replace("peak_to_mean_x: 2.0", "peak_to_mean_x: 0.5"), "traffic.peak_to_mean_x"),
    (SONNET.replace("ops_usd_per_month: 8833", "ops_usd_per_month: .inf"), "ops_usd_per_month"),
    (SONNET.replace("  api_spend_usd_per_month: 25000\n", "  api_spend_usd_per_month: 25000\n  tok_per_day: 1e6\n"),
     "exactly one of"),
    (SONNET.replace("llama-3.3-70b", "no-such-model"), "model"),
    (SONNET.replace("h200-141gb", "tpu-v9"), "gpus"),
    (SONNET.replace("int4]", "fp4]"), "weight_dtypes"),
    (SONNET.replace("openai/gpt-5]", "openai/gpt-99]"), "apis"),
])
def test_bad_profiles_are_one_line_and_exit_2(tmp_path, capsys, text, message):
    assert main(["plan", profile(tmp_path, text)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("selfhost plan: ") and message in err and "\n" not in err


def test_rules_are_never_written_into_data(capsys):
    assert main(["plan", "--no-flips", "--rules-out", "data/api_prices.yml"]) == 2
    assert "inside data/" in capsys.readouterr().err


TRACE = """model: llama-3.1-8b
traffic: {tok_per_day: 5e8, trace: mooncake-conversation}
latency: {ttft_ms: 2000, tpot_ms: 100}
availability: 0.999
gpus: [a100-80gb, h100-80gb]
weight_dtypes: [bf16, fp8]
ops_usd_per_month: 8833
apis: [anthropic/claude-haiku-4.5, groq/llama-3.3-70b-versatile]
"""


def test_a_trace_gives_the_split_the_peak_the_cache_and_the_prompt(tmp_path, capsys):
    from selfhost.data.traffic import load_summary

    assert main(["plan", profile(tmp_path, TRACE), "--json", "--no-flips"]) == 0
    j = json.loads(capsys.readouterr().out)
    trace = load_summary("mooncake-conversation")
    assert j["input_share"] == pytest.approx(trace.input_share)
    assert j["peak_to_mean_x"] == pytest.approx(trace.peak_to_mean_x)
    assert j["cached_input_share"] == pytest.approx(trace.prefix_hit_share)
    assert j["peak_tok_per_day"] == pytest.approx(5e8 * trace.peak_to_mean_x)
    assert "trace mooncake-conversation" in j["traffic_basis"]


def test_an_unknown_trace_is_named(tmp_path, capsys):
    assert main(["plan", profile(tmp_path, TRACE.replace("mooncake-conversation", "nope"))]) == 2
    assert "traffic.trace" in capsys.readouterr().err


@pytest.mark.parametrize("example", sorted((paths.ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_profile_plans(example, capsys):
    assert main(["plan", str(example), "--no-flips", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["answer"] in ("self-host", "api") and plan["apis"]
