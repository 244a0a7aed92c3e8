"""The overload analysis (C14): tables and verdict from a record built here, and from the committed run."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import alertrules as ar
from selfhost import monitoring as mon
from selfhost import paths
from selfhost.data import overload as records
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE


def make_record(*, arrival: float = 20.0, capacity: float = 8.0, statuses: dict | None = None,
                firing: dict | None = None, ttft_max_s: float = 30.0, failed: int = 0) -> dict:
    """A valid overload record: baseline 0-30 s, overload 30-75 s (sending), drained at 120 s."""
    start, stop, drained, end = 30.0, 75.0, 120.0, 130.0
    ts = [float(t) for t in range(0, 131)]
    waiting = [0.0 if t < start else (max(0.0, (arrival - capacity) * (t - start)) if t <= stop else
               max(0.0, (arrival - capacity) * (stop - start) - capacity * (t - stop))) for t in ts]
    finished = [1.0 if t < start else capacity for t in ts]
    ttft = [0.2 if t < start + 5 else min(ttft_max_s, 0.2 + (t - start - 5)) for t in ts]
    firing = {"VllmQueueWaitOverSlo": 50.0, "VllmTtftOverSlo": 52.0} if firing is None else firing
    alerts = [{"alertname": n, "signal": ar.ALERTS[n], "severity": "warning", "pending_s": t - 15, "firing_s": t,
               "resolved_s": None} for n, t in firing.items()]
    phase = lambda name, rate, s0, s1, n: {  # noqa: E731
        "name": name, "request_rate_req_per_s": rate, "num_prompts": n, "started_s": s0, "ended_s": s1,
        "client_args": [], "error": None,
        "results": {"completed": n - failed if name == "overload" else n, "failed": failed if name == "overload" else 0,
                    "total_input_tokens": 1, "total_output_tokens": 1, "duration": s1 - s0, "p99_ttft_ms": 25000.0}}
    return {
        "schema_version": 1, "run_id": "r1", "status": "ok", "error": None,
        "started_at": "2026-11-27T23:00:00+00:00", "ended_at": "2026-11-27T23:02:10+00:00",
        "engine": {"name": "vllm", "version": "0.32.0", "launched": True, "base_url": "http://127.0.0.1:8400"},
        "hardware": {"kind": "cpu", "description": "test", "load_avg_1m": 1.0},
        "model": {"name": "tiny-llama"},
        "plan": {"kv_blocks": 272}, "policy": {"ttft_slo_ms": 500.0, "ttft_quantile": 0.9, "for_s": 15,
                                               "rate_window_s": 30},
        "rules_yaml": "groups: []", "prometheus": {"version": "prometheus, version 2.42.0", "scrape_interval_s": 1.0},
        "phases": [phase("baseline", 2.0, 0.0, start, 60), phase("overload", arrival, start, drained, 900)],
        "timeline": {"overload_started_s": start, "overload_sending_ended_s": stop, "overload_drained_s": drained,
                     "ended_s": end},
        "series": {ar.WAITING: [[t, v] for t, v in zip(ts, waiting)],
                   ar.FINISHED_RATE: [[t, v] for t, v in zip(ts, finished)],
                   ar.TTFT_QUANTILE: [[t, None if t < 2 else v] for t, v in zip(ts, ttft)],
                   ar.KV_USAGE: [[t, 0.97 if start <= t <= drained else 0.1] for t in ts],
                   "vllm:num_preemptions_total": [[t, 0.0 if t < start else (t - start) * 0.5] for t in ts]},
        "alerts": alerts, "alert_events": [],
        "http_status_counts": {"2xx": 960} if statuses is None else statuses,
    }


def test_the_record_built_here_is_valid():
    records.validate_record(make_record())


def test_summary_figures():
    s = mon.summarize(make_record())
    assert s.arrival_req_per_s == 20 and s.capacity_req_per_s == 8 and s.overload_x == pytest.approx(2.5)
    assert s.waiting_growth_req_per_s == pytest.approx(12.0)
    assert s.waiting_max_count == pytest.approx(12 * 45)
    assert s.http_2xx_share == 1.0 and s.requests_count == 960
    assert s.ttft_baseline_max_s == pytest.approx(0.2) and s.ttft_overload_max_s == pytest.approx(30.0)
    assert s.preemptions_count == pytest.approx(50.0)
    assert s.sending_s == 45 and s.drain_s == 45


def test_alert_table_lists_every_rule_alert_relative_to_the_overload():
    table = mon.alert_table(make_record())
    assert list(table["alertname"][:2]) == ["VllmQueueWaitOverSlo", "VllmTtftOverSlo"]
    assert set(table["alertname"]) == set(ar.ALERTS)
    row = table.set_index("alertname").loc["VllmQueueWaitOverSlo"]
    assert row["firing_after_s"] == 20 and row["pending_after_s"] == 5 and math.isnan(row["resolved_after_s"])
    assert table.set_index("alertname").loc["VllmErrorRate"]["firing_after_s"] != table.set_index(
        "alertname").loc["VllmErrorRate"]["firing_after_s"]  # NaN: never fired
    assert mon.first_caught(table) == (["VllmQueueWaitOverSlo"], 20.0)


def test_first_caught_returns_ties_and_skips_other_signals():
    table = mon.alert_table(make_record(firing={"VllmPreempting": 40.0, "VllmQueueWaitOverSlo": 45.0,
                                                "VllmThroughputBelowDemand": 45.0}))
    assert mon.first_caught(table) == (["VllmPreempting"], 10.0)
    assert mon.first_caught(table, article_only=True) == (["VllmQueueWaitOverSlo", "VllmThroughputBelowDemand"], 15.0)


def test_verdict_holds_when_silent_and_caught():
    record = make_record()
    v = mon.c14_verdict(mon.summarize(record), mon.alert_table(record))
    assert v.verdict == HOLDS and "VllmQueueWaitOverSlo fired 20 s after" in v.reason
    assert v.figures["first_alert_after_s"] == 20 and v.figures["http_2xx_share"] == 1.0


def test_verdict_fails_when_the_overload_is_loud():
    record = make_record(statuses={"2xx": 700, "5xx": 260})
    v = mon.c14_verdict(mon.summarize(record), mon.alert_table(record))
    assert v.verdict == FAILS and "not silent" in v.reason
    assert mon.c14_verdict(mon.summarize(make_record(failed=3)), mon.alert_table(record)).verdict == FAILS


def test_verdict_is_conditional_when_caught_late_or_not_at_all():
    record = make_record(firing={"VllmTtftOverSlo": 100.0})
    v = mon.c14_verdict(mon.summarize(record), mon.alert_table(record), max_detection_s=60)
    assert v.verdict == CONDITIONAL and "after 70 s" in v.reason
    record = make_record(firing={"VllmPreempting": 40.0})
    assert mon.c14_verdict(mon.summarize(record), mon.alert_table(record)).verdict == CONDITIONAL
    assert mon.c14_verdict(mon.summarize(make_record(firing={"VllmTtftOverSlo": 100.0})),
                           mon.alert_table(make_record(firing={"VllmTtftOverSlo": 100.0})),
                           max_detection_s=80).verdict == HOLDS


def test_verdict_is_untestable_without_an_overload():
    record = make_record(arrival=6.0, capacity=8.0, ttft_max_s=0.3, firing={})
    v = mon.c14_verdict(mon.summarize(record), mon.alert_table(record))
    assert v.verdict == UNTESTABLE and "did not overload" in v.reason


@settings(deadline=None, max_examples=40)
@given(st.floats(min_value=0.01, max_value=1.0))
def test_a_stricter_silence_threshold_never_turns_failure_into_success(share):
    record = make_record(statuses={"2xx": 950, "5xx": 10})
    summary, table = mon.summarize(record), mon.alert_table(record)
    loose = mon.c14_verdict(summary, table, min_2xx_share=share)
    strict = mon.c14_verdict(summary, table, min_2xx_share=max(share, 0.995))
    assert not (loose.verdict == FAILS and strict.verdict == HOLDS)


def test_series_frame_turns_nulls_into_nan_and_times_relative_to_the_overload():
    frame = mon.series_frame(make_record())
    ttft = frame[frame["series"] == ar.TTFT_QUANTILE]
    assert ttft["value"].isna().sum() == 2
    assert ttft["t_overload_s"].min() == -30


def test_the_committed_overload_run():
    recorded = records.read_records(paths.data_dir() / "runs")
    assert recorded, "data/runs/overload/ holds the recorded overload run (make overload)"
    record = recorded[-1]
    assert record["status"] == "ok" and record["engine"]["launched"]
    summary, table = mon.summarize(record), mon.alert_table(record)
    assert summary.overload_x > 1.5 and summary.http_2xx_share == 1.0
    assert mon.first_caught(table, article_only=True)[0]
    assert set(record["series"]) >= {ar.WAITING, ar.TTFT_QUANTILE, ar.KV_USAGE, ar.FINISHED_RATE, "up"}
    tl = record["timeline"]
    assert 120 <= tl["ended_s"] <= 240, "the recorded overload run is kept to 2-4 minutes"
    assert copy.deepcopy(record) == record
