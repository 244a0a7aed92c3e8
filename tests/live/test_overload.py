"""The overload run's plan, record schema and alert timeline extraction (no engine started)."""

from __future__ import annotations

import json

import pytest

from selfhost.data import overload as records
from selfhost.errors import DataError, ParameterError
from selfhost.live import overload as ov
from tests.test_monitoring import make_record


def test_plan_phases_become_client_arguments():
    plan = ov.OverloadPlan(baseline_rate_req_per_s=2, baseline_s=30, overload_rate_req_per_s=20, overload_s=45)
    spec, rate = plan.spec("overload")
    assert rate == 20 and spec.num_prompts == 900 and spec.max_concurrency == 900
    assert spec.variant == "overload" and spec.input_len == 1024 and spec.output_len == 256
    assert plan.spec("baseline")[0].num_prompts == 60


@pytest.mark.parametrize("kwargs, match", [
    ({"overload_rate_req_per_s": 1.0}, "must exceed baseline_rate_req_per_s"),
    ({"scrape_interval_s": 5}, "parameter scrape_interval_s"),
    ({"kv_blocks": 1}, "parameter kv_blocks"),
    ({"baseline_rate_req_per_s": 0}, "parameter baseline_rate_req_per_s"),
])
def test_bad_plans_are_refused(kwargs, match):
    with pytest.raises((ParameterError, ov.OverloadError), match=match):
        ov.OverloadPlan(**kwargs)


def test_records_round_trip_and_are_never_overwritten(tmp_path):
    path = records.write_record(tmp_path, make_record())
    assert path.parent.name == "overload" and path.name == "20261127T230000.000000Z-vllm-overload.json"
    assert records.read_records(tmp_path)[0] == json.loads(path.read_text())
    before = path.read_text()
    with pytest.raises(DataError, match="never overwritten"):
        records.write_record(tmp_path, make_record())
    assert path.read_text() == before


@pytest.mark.parametrize("change, field", [
    (lambda r: r.pop("alerts"), "(top level)"),
    (lambda r: r["phases"][0].update(name="ramp"), "phases.0.name"),
    (lambda r: r["http_status_counts"].update({"2xx": -1}), "http_status_counts.2xx"),
    (lambda r: r["series"]["x"].__class__, "(top level)") if False else (lambda r: r["series"].update(x=[[0, "1"]]),
                                                                         "series.x.0.1"),
    (lambda r: r.update(status="failed", error=None), "error"),
])
def test_malformed_records_are_refused_naming_the_field(change, field, tmp_path):
    bad = make_record()
    change(bad)
    with pytest.raises(DataError, match=f"column {field.replace('(', '[(]').replace(')', '[)]')}"):
        records.write_record(tmp_path, bad)
    assert not any(tmp_path.rglob("*.json"))


def test_the_run_records_reader_leaves_the_overload_folder_alone(tmp_path):
    from selfhost.data import runs

    records.write_record(tmp_path, make_record())
    assert runs.read_records(tmp_path) == []


class FakeProm:
    def __init__(self, matrix):
        self.matrix = matrix

    def query_range(self, expr, start, end, step_s):
        assert expr == "ALERTS"
        return self.matrix


def test_alert_spans_from_the_alerts_series():
    t0 = 1000.0
    pts = lambda a, b: [[t0 + t, "1"] for t in range(a, b)]  # noqa: E731
    matrix = [
        {"metric": {"alertname": "VllmQueueWaitOverSlo", "alertstate": "pending", "signal": "queue depth",
                    "severity": "warning"}, "values": pts(25, 40)},
        {"metric": {"alertname": "VllmQueueWaitOverSlo", "alertstate": "firing", "signal": "queue depth",
                    "severity": "warning"}, "values": pts(40, 76)},
        {"metric": {"alertname": "VllmTtftOverSlo", "alertstate": "firing", "signal": "TTFT",
                    "severity": "warning"}, "values": pts(42, 90)},
    ]
    spans = ov._alert_spans(FakeProm(matrix), t0, t0 + 90, 1.0)
    assert spans[0] == {"alertname": "VllmQueueWaitOverSlo", "signal": "queue depth", "severity": "warning",
                        "pending_s": 25.0, "firing_s": 40.0, "resolved_s": 76.0}
    assert spans[1]["alertname"] == "VllmTtftOverSlo" and spans[1]["resolved_s"] is None  # still firing at the end
    assert spans[1]["pending_s"] == 42.0
