"""A short overload against the real vLLM CPU engine with real Prometheus and the probe: an alert
on the article's signals fires, every request is kept with its outcome, and the TTFT histogram's
window is recorded.

Starts the engine once (on 127.0.0.1:8400-8499), writes its record to a temporary folder
only, and must finish in under 4 minutes. Runs by default (hold the lock:
``flock /work/live.lock pytest -m live``); select it alone with -m live.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from selfhost import monitoring as mon
from selfhost import paths
from selfhost.data import overload as records
from selfhost.live import engine as eng
from selfhost.live import overload as ov

pytestmark = [pytest.mark.live, pytest.mark.slow]
BUDGET_S = 240.0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    runs_dir = tmp_path_factory.mktemp("runs")
    before = sorted((paths.data_dir() / "runs").rglob("*.json"))
    ports_before = [p for p in ov.PORTS if not eng.port_is_free(p)]
    lines: list[str] = []
    t0 = time.monotonic()
    path, record = ov.record_cpu_overload(runs_dir, ov.QUICK_PLAN, log_dir=tmp_path_factory.mktemp("logs"),
                                          progress=lines.append)
    return {"path": path, "record": record, "runs_dir": runs_dir, "before": before, "elapsed_s": time.monotonic() - t0,
            "lines": lines, "ports_before": ports_before}


def test_the_run_is_recorded_and_ok(run):
    assert run["record"]["status"] == "ok", run["record"]["error"]
    assert records.read_record(run["path"]) == run["record"]


def test_every_answer_is_a_200_while_the_queue_grows(run):
    summary = mon.summarize(mon.OverloadRun.from_record(run["record"]))
    assert summary.http_2xx_share == 1.0 and summary.client_errors_count == 0
    n = len(run["record"]["requests"])
    assert summary.per_request_data and n == sum(p["num_prompts"] for p in run["record"]["phases"])
    assert summary.requests_count >= n  # the server also answered the probe's requests
    assert summary.overload_x > 1.5
    assert summary.waiting_growth_req_per_s > 0 and summary.waiting_max_count > 10
    assert summary.client_ttft_quantile_overload_ms > 10 * summary.prom_ttft_baseline_peak_s * 1000
    assert summary.prom_ttft_window_lower_s <= summary.prom_ttft_window_s <= summary.prom_ttft_window_upper_s


def test_an_alert_on_the_articles_signals_fires(run):
    table = mon.alert_table(mon.OverloadRun.from_record(run["record"]))
    names, after_s = mon.first_caught(table, article_only=True)
    assert names, f"no alert fired; events: {run['record']['alert_events']}"
    assert 0 < after_s < 60
    assert any("firing" in line for line in run["lines"])  # seen live through /api/v1/alerts
    quiet = table.set_index("alertname")
    for name in ("VllmErrorRate", "VllmMetricsDown", "VllmEngineAbsent", "VllmCrashLooping"):
        assert quiet.loc[name]["firing_after_s"] != quiet.loc[name]["firing_after_s"], name  # NaN: quiet


def test_it_is_quick_and_leaves_nothing(run):
    assert run["elapsed_s"] < BUDGET_S
    assert Path(run["path"]).is_relative_to(run["runs_dir"])
    assert sorted((paths.data_dir() / "runs").rglob("*.json")) == run["before"]
    assert [p for p in ov.PORTS if not eng.port_is_free(p)] == run["ports_before"]
