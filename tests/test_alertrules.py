"""The rules template: thresholds follow the latency target, the committed rules.yml is the
default policy's, and promtool's rule unit tests (monitoring/tests/*.yml) pass."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import alertrules as ar
from selfhost import paths
from selfhost.errors import ParameterError
from selfhost.live import prometheus

MONITORING = paths.ROOT / "monitoring"


def alert(policy: ar.AlertPolicy, name: str) -> dict:
    return next(r for g in ar.rules(policy)["groups"] for r in g["rules"] if r.get("alert") == name)


def test_the_rule_unit_tests_pass():
    tests = sorted((MONITORING / "tests").glob("*.yml"))
    assert tests, "monitoring/tests/ holds promtool rule tests"
    result = prometheus.promtool_test_rules(tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_committed_rules_are_the_default_policys():
    assert (MONITORING / "rules.yml").read_text() == ar.rules_yaml(ar.AlertPolicy()), \
        "regenerate: selfhost monitor rules --out monitoring/rules.yml --force"


@pytest.mark.parametrize("policy", [ar.AlertPolicy(), ar.AlertPolicy(ttft_slo_ms=150, ttft_quantile=0.99,
                                                                      rate_window_s=120, for_s=0, job="llm-1")])
def test_generated_rules_pass_promtool_check(policy, tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(ar.rules_yaml(policy))
    result = prometheus.promtool_check_rules(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "19 rules found" in result.stdout


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1, max_value=600_000, allow_nan=False), st.floats(min_value=1, max_value=600_000))
def test_thresholds_follow_the_slo(slo_a, slo_b):
    lo, hi = sorted((slo_a, slo_b))
    t_lo, t_hi = ar.thresholds(ar.AlertPolicy(ttft_slo_ms=lo)), ar.thresholds(ar.AlertPolicy(ttft_slo_ms=hi))
    for key in ("ttft_threshold_s", "queue_wait_threshold_s"):
        assert t_lo[key] <= t_hi[key]
        assert t_lo[key] == pytest.approx(lo / 1000)
    expr = alert(ar.AlertPolicy(ttft_slo_ms=hi), "VllmTtftOverSlo")["expr"]
    assert float(expr.rsplit(">", 1)[1]) == pytest.approx(hi / 1000, rel=1e-9)


def test_window_delay_quantile_and_job_reach_the_rules():
    policy = ar.AlertPolicy(ttft_quantile=0.99, rate_window_s=60, for_s=30, job="gpu-pool")
    doc = ar.rules(policy)
    ttft = next(r for r in doc["groups"][0]["rules"] if r["record"] == ar.TTFT_QUANTILE)["expr"]
    assert ttft.startswith("histogram_quantile(0.99,") and "[60s]" in ttft and 'job="gpu-pool"' in ttft
    assert all(r["for"] == "30s" for r in doc["groups"][1]["rules"])
    assert alert(policy, "VllmMetricsDown")["expr"] == 'up{job="gpu-pool"} == 0'
    assert "p99" in alert(policy, "VllmTtftOverSlo")["annotations"]["summary"]


@pytest.mark.parametrize("kwargs, name", [
    ({"ttft_slo_ms": 0}, "ttft_slo_ms"), ({"ttft_quantile": 1.0}, "ttft_quantile"),
    ({"kv_cache_usage_max": 1.5}, "kv_cache_usage_max"), ({"rate_window_s": 1}, "rate_window_s"),
    ({"for_s": 2.5}, "for_s"), ({"job": 'x"} or up'}, "job"), ({"error_ratio_max": -0.1}, "error_ratio_max"),
])
def test_bad_policies_are_refused_naming_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=f"parameter {name} "):
        ar.AlertPolicy(**kwargs)


SLO_TEST = """
rule_files: [rules.yml]
evaluation_interval: 1s
group_eval_order: [selfhost-vllm-recording, selfhost-vllm-alerts]
tests:
  - interval: 1s
    input_series:
      - series: 'vllm:time_to_first_token_seconds_bucket{{job="vllm", instance="e:1", le="1"}}'
        values: '0x120'
      - series: 'vllm:time_to_first_token_seconds_bucket{{job="vllm", instance="e:1", le="2.5"}}'
        values: '0+5x120'
      - series: 'vllm:time_to_first_token_seconds_bucket{{job="vllm", instance="e:1", le="+Inf"}}'
        values: '0+5x120'
    alert_rule_test:
      - eval_time: 120s
        alertname: VllmTtftOverSlo
        exp_alerts: {expected}
"""


@pytest.mark.parametrize("slo_ms, fires", [(2000, True), (3000, False)])
def test_the_same_traffic_alerts_under_a_tight_target_only(slo_ms, fires, tmp_path):
    """p90 TTFT is 2.35 s: a 2 s target is broken, a 3 s one is met (promtool evaluates it)."""
    (tmp_path / "rules.yml").write_text(ar.rules_yaml(ar.AlertPolicy(ttft_slo_ms=slo_ms)))
    expected = textwrap.dedent(f"""
        - exp_labels: {{severity: warning, signal: TTFT, job: vllm, instance: "e:1"}}
          exp_annotations:
            summary: p90 time to first token above the {slo_ms} ms target
            description: p90 TTFT over the last 30s is 2.35s (target {slo_ms} ms).""") if fires else "[]"
    expected = textwrap.indent(expected, " " * 10) if fires else expected
    (tmp_path / "slo_test.yml").write_text(SLO_TEST.format(expected=expected))
    result = prometheus.promtool_test_rules([tmp_path / "slo_test.yml"])
    assert result.returncode == 0, result.stdout + result.stderr
