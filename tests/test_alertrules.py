"""The rules template: thresholds follow the team's targets, the rules hold for any scrape job,
the committed rules.yml is the default policy's, and promtool's rule unit tests
(monitoring/tests/*.yml) pass: a healthy baseline that lists every alert silent, and a test
in which each alert fires at a stated time."""

from __future__ import annotations

import math
import textwrap

import pytest
import yaml
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


def rule_tests() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((MONITORING / "tests").glob("*.yml"))]


def test_the_baseline_keeps_every_alert_silent():
    """The healthy baseline checks every alert of the rules file, and expects none."""
    (baseline,) = [t for doc in rule_tests() for t in doc["tests"] if t["name"].startswith("healthy baseline")]
    checks = baseline["alert_rule_test"]
    assert {c["alertname"] for c in checks} == set(ar.ALERTS) == set(ar.alert_names(ar.rules_yaml()))
    assert all(c["exp_alerts"] == [] for c in checks)
    assert max(int(c["eval_time"].rstrip("s")) for c in checks) >= 600


def test_every_alert_fires_in_some_test_and_is_silent_just_before():
    """Each alert fires in a promtool test, and the same test checks it silent earlier: a stated time."""
    fired: dict[str, list[tuple[str, int]]] = {}
    silent: dict[tuple[str, str], list[int]] = {}
    for doc in rule_tests():
        for test in doc["tests"]:
            for check in test.get("alert_rule_test", []):
                t = int(check["eval_time"].rstrip("s"))
                key = (test["name"], check["alertname"])
                if check["exp_alerts"]:
                    fired.setdefault(check["alertname"], []).append((test["name"], t))
                else:
                    silent.setdefault(key, []).append(t)
    assert set(fired) == set(ar.ALERTS), f"never fires in a test: {set(ar.ALERTS) - set(fired)}"
    for name, cases in fired.items():
        assert any(any(s < t for s in silent.get((test, name), [])) for test, t in cases), \
            f"{name}: no test checks it silent before it fires"


def test_no_rule_selects_a_job():
    """The rules hold whatever the team's scrape job is called: no rule names one."""
    text = ar.rules_yaml(ar.AlertPolicy())
    assert "job=" not in text and "job =" not in text
    job_names = {s.split('job="')[1].split('"')[0] for doc in rule_tests() for t in doc["tests"]
                 for s in (x["series"] for x in t.get("input_series", [])) if 'job="' in s}
    assert len(job_names) >= 5  # the promtool tests use several job names


@pytest.mark.parametrize("policy", [ar.AlertPolicy(), ar.AlertPolicy(ttft_slo_ms=150, ttft_quantile=0.99,
                                                                      rate_window_s=120, for_s=0)])
def test_generated_rules_pass_promtool_check(policy, tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(ar.rules_yaml(policy))
    result = prometheus.promtool_check_rules(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ar.RECORDED) + len(ar.ALERTS)} rules found" in result.stdout


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=1, max_value=600_000, allow_nan=False), st.floats(min_value=1, max_value=600_000))
def test_thresholds_follow_the_slo(slo_a, slo_b):
    lo, hi = sorted((slo_a, slo_b))
    t_lo, t_hi = ar.thresholds(ar.AlertPolicy(ttft_slo_ms=lo)), ar.thresholds(ar.AlertPolicy(ttft_slo_ms=hi))
    for key in ("ttft_threshold_s", "queue_wait_threshold_s", "probe_duration_threshold_s"):
        assert t_lo[key] <= t_hi[key]
        assert t_lo[key] == pytest.approx(lo / 1000)
    expr = alert(ar.AlertPolicy(ttft_slo_ms=hi), "VllmTtftOverSlo")["expr"]
    assert float(expr.rsplit(">", 1)[1]) == pytest.approx(hi / 1000, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0, max_value=0.5), st.integers(min_value=0, max_value=20))
def test_every_budget_threshold_is_the_error_budget(budget, restarts):
    policy = ar.AlertPolicy(error_ratio_max=budget, restarts_max_count=restarts)
    t = ar.thresholds(policy)
    for key in ("error_ratio_threshold_share", "abort_ratio_threshold_share", "client_error_ratio_threshold_share",
                "admission_ratio_threshold_share", "probe_failure_ratio_threshold_share"):
        assert t[key] == budget
    for name in ("VllmErrorRate", "VllmClientAborts", "VllmClientErrors", "VllmAdmissionRejecting",
                 "VllmProbeFailing"):
        assert float(alert(policy, name)["expr"].rsplit(">", 1)[1]) == pytest.approx(budget, abs=1e-12)
    assert alert(policy, "VllmCrashLooping")["expr"].endswith(f"> {restarts}")


def test_window_delay_and_quantile_reach_the_rules():
    policy = ar.AlertPolicy(ttft_quantile=0.99, rate_window_s=60, for_s=30, restart_window_s=600,
                            probe_window_s=120)
    doc = ar.rules(policy)
    recorded = {r["record"]: r["expr"] for r in doc["groups"][0]["rules"]}
    assert recorded[ar.TTFT_QUANTILE].startswith("histogram_quantile(0.99,") and "[60s]" in recorded[ar.TTFT_QUANTILE]
    assert "[600s]" in recorded[ar.RESTARTS] and "[120s]" in recorded[ar.PROBE_FAILURE_RATIO]
    assert all(r["for"] == "30s" for r in doc["groups"][1]["rules"])
    assert "p99" in alert(policy, "VllmTtftOverSlo")["annotations"]["summary"]


def test_policies_of_older_records_are_read():
    old = {"error_ratio_max": 0.01, "for_s": 15, "job": "vllm", "kv_cache_usage_max": 0.9,
           "preemptions_max_per_s": 0.0, "rate_window_s": 30, "ttft_quantile": 0.9, "ttft_slo_ms": 500.0}
    assert ar.AlertPolicy.from_record(old) == ar.AlertPolicy()


def test_detection_bounds_follow_the_delays():
    bounds = {(d.failure, d.alertname): d.bound_s for d in ar.detection_bounds(
        ar.AlertPolicy(for_s=10), scrape_interval_s=2, probe_interval_s=5, probe_timeout_s=4)}
    assert bounds[("engine killed", "VllmMetricsDown")] == 14
    assert bounds[("engine hung", "VllmProbeFailing")] == 5 + 4 + 2 + 10


@pytest.mark.parametrize("kwargs, name", [
    ({"ttft_slo_ms": 0}, "ttft_slo_ms"), ({"ttft_quantile": 1.0}, "ttft_quantile"),
    ({"kv_cache_usage_max": 1.5}, "kv_cache_usage_max"), ({"rate_window_s": 1}, "rate_window_s"),
    ({"for_s": 2.5}, "for_s"), ({"error_ratio_max": -0.1}, "error_ratio_max"),
    ({"ttft_slo_ms": math.inf}, "ttft_slo_ms"), ({"ttft_slo_ms": math.nan}, "ttft_slo_ms"),
    ({"restarts_max_count": -1}, "restarts_max_count"), ({"for_s": True}, "for_s"),
    ({"restart_window_s": 7200}, "target_memory_s"), ({"preemptions_max_per_s": math.inf}, "preemptions_max_per_s"),
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
      - series: 'vllm:num_requests_running{{job="vllm", instance="e:1"}}'
        values: '1x120'
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
