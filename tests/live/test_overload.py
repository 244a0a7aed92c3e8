"""The overload run's plan, record schema, alert timeline extraction, and the whole run against
stand-ins (an OpenAI-like server, fake Prometheus and exporter binaries: no engine, no lock):
it records, it stops on SIGTERM without recording and leaves nothing behind, and a failed
run never becomes evidence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfhost import paths
from selfhost.data import overload as records
from selfhost.errors import DataError, ParameterError
from selfhost.live import engine as eng
from selfhost.live import overload as ov
from tests.live.fakes import FakeOpenAI, fake_binaries
from tests.test_monitoring import make_record, req


def test_plan_phases_and_deadline():
    plan = ov.OverloadPlan(baseline_rate_req_per_s=2, baseline_s=30, overload_rate_req_per_s=20, overload_s=45,
                           request_timeout_s=120)
    assert [(p.name, p.rate_req_per_s, p.duration_s) for p in plan.phases()] == [("baseline", 2, 30),
                                                                                 ("overload", 20, 45)]
    assert plan.deadline_s == 30 + 45 + 120 + 10


@pytest.mark.parametrize("kwargs, match", [
    ({"overload_rate_req_per_s": 1.0}, "must exceed baseline_rate_req_per_s"),
    ({"scrape_interval_s": 5}, "parameter scrape_interval_s"),
    ({"kv_blocks": 1}, "parameter kv_blocks"),
    ({"baseline_rate_req_per_s": 0}, "parameter baseline_rate_req_per_s"),
    ({"request_timeout_s": float("inf")}, "parameter request_timeout_s"),
    ({"request_timeout_s": 0}, "parameter request_timeout_s"),
    ({"probe_timeout_s": 1.8}, "parameter probe_timeout_s"),
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


@pytest.mark.parametrize("name", ["../../..", "a/b", "..", "x" * 41, "", "-x", "vllm\n"])
def test_a_record_never_lands_outside_its_folder(name, tmp_path):
    record = make_record()
    record["engine"]["name"] = name
    with pytest.raises(DataError, match="engine name|engine.name"):
        records.write_record(tmp_path / "runs", record)
    assert not any(tmp_path.rglob("*.json"))


@pytest.mark.parametrize("change, field", [
    (lambda r: r.pop("alerts"), "(top level)"),
    (lambda r: r["phases"][0].update(name="ramp"), "phases.0.name"),
    (lambda r: r["http_status_counts"].update({"2xx": -1}), "http_status_counts.2xx"),
    (lambda r: r["series"].update(x=[[0, "1"]]), "series.x.0.1"),
    (lambda r: r.update(status="failed", error=None), "error"),
    (lambda r: r.update(schema_version=2), "(top level)"),  # schema 2 needs the requests
])
def test_malformed_records_are_refused_naming_the_field(change, field, tmp_path):
    bad = make_record()
    change(bad)
    with pytest.raises(DataError, match=f"column {field.replace('(', '[(]').replace(')', '[)]')}"):
        records.write_record(tmp_path, bad)
    assert not any(tmp_path.rglob("*.json"))


def test_a_failed_run_never_becomes_evidence(tmp_path):
    records.write_record(tmp_path, make_record(started_at="2026-11-27T23:00:00+00:00"))
    records.write_record(tmp_path, make_record(started_at="2026-11-29T23:00:00+00:00", status="failed"))
    chosen = records.load_overload_run(tmp_path)
    assert chosen["status"] == "ok" and chosen["started_at"].startswith("2026-11-27")
    with pytest.raises(DataError, match="failed .*a failed run is not evidence"):
        records.load_overload_run(tmp_path, "r-2026-11-29T23:00:00+00:00")
    assert list(records.load_recordings(tmp_path)) == ["2026-11-27 23:00"]


def test_no_successful_run_is_named(tmp_path):
    records.write_record(tmp_path, make_record(status="failed"))
    with pytest.raises(DataError, match=r"no overload run that succeeded \(1 failed\)"):
        records.load_overload_run(tmp_path)


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
    spans = ov.alert_spans(FakeProm(matrix), t0, t0 + 90, 1.0)
    assert spans[0] == {"alertname": "VllmQueueWaitOverSlo", "signal": "queue depth", "severity": "warning",
                        "pending_s": 25.0, "firing_s": 40.0, "resolved_s": 76.0}
    assert spans[1]["alertname"] == "VllmTtftOverSlo" and spans[1]["resolved_s"] is None  # still firing at the end
    assert spans[1]["pending_s"] == 42.0


def test_phase_results_come_from_the_requests():
    from selfhost.live import loadgen

    outs = [loadgen.Outcome("overload", 30.0 + i, 31.0 + i, 32.0 + i, 5, "ok", 200) for i in range(9)]
    outs.append(loadgen.Outcome("overload", 40.0, None, 100.0, 0, "timeout", 200))
    res = ov.phase_results(outs, "overload", 30.0)
    assert res["completed"] == 9 and res["timeouts"] == 1 and res["failed"] == 0
    assert res["median_ttft_ms"] == pytest.approx(1000.0) and res["p99_ttft_ms"] is None  # beyond the timeout


# --------------------------------------------------------------------------- the whole run, on stand-ins


QUICK = ov.OverloadPlan(baseline_rate_req_per_s=4, baseline_s=1.5, overload_rate_req_per_s=10, overload_s=1.5,
                        request_timeout_s=5, tail_s=0)


def test_the_whole_run_against_stand_ins_records_every_request(tmp_path, monkeypatch):
    for k, v in fake_binaries(tmp_path).items():
        monkeypatch.setenv(k, v)
    with FakeOpenAI(eng.free_port(8480, ov.PORTS)) as fake:
        path, record = ov.record_attached_overload(fake.url, "fake-engine", tmp_path / "runs", QUICK,
                                                   prometheus_port=eng.free_port(fake.port + 1, ov.PORTS),
                                                   progress=lambda line: None)
    assert record["status"] == "ok", record["error"]
    assert path.parent == tmp_path / "runs" / "overload" and records.read_record(path) == record
    assert record["schema_version"] == 2 and record["client"]["request_timeout_s"] == 5
    assert len(record["requests"]) == sum(p["num_prompts"] for p in record["phases"]) == fake.count - 0
    assert {r["outcome"] for r in record["requests"]} == {"ok"}
    assert record["phases"][1]["results"]["completed"] == sum(1 for r in record["requests"] if r["phase"] == "overload")
    for kind in ("prometheus", "blackbox"):
        assert not os.path.exists(f"/proc/{(tmp_path / f'{kind}.pid').read_text()}")


def test_sigterm_stops_the_run_records_nothing_and_leaves_nothing(tmp_path):
    env = {**os.environ, **fake_binaries(tmp_path)}
    with FakeOpenAI(eng.free_port(8480, ov.PORTS), behave=lambda i: "hang") as fake:
        cmd = [str(Path(sys.executable).parent / "selfhost"), "monitor", "overload", "--url", fake.url, "--engine", "fake",
               "--runs-dir", str(tmp_path / "runs"), "--baseline-s", "30", "--overload-s", "30"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                cwd=paths.ROOT)
        try:
            deadline = time.monotonic() + 60
            while fake.count < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            assert fake.count >= 2, "the run never started sending"
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert time.monotonic() - t0 < 20
    assert "stopped by SIGTERM" in err and "nothing recorded" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.json"))
    for kind in ("prometheus", "blackbox"):
        pid = (tmp_path / f"{kind}.pid").read_text()
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"


def test_requests_shape_is_the_monitoring_one():
    assert set(req("overload", 1.0, 1.0)) == set(records.REQUEST_SCHEMA["required"]) | {"error"}
