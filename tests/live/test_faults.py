"""Fault runs: the plans, the injector on stand-in process trees (no engine), and the kill case
against the real vLLM CPU engine with real Prometheus and the probe (live, under the lock:
``flock /work/live.lock pytest -m live tests/live/test_faults.py``; about 90 s)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from selfhost import alertrules as ar
from selfhost import monitoring as mon
from selfhost import paths
from selfhost.data import faults as records
from selfhost.errors import ParameterError
from selfhost.live import engine as eng
from selfhost.live import faults, guard
from selfhost.live import prometheus as pm

SLEEPER = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
           "time.sleep(60)")


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "explode"}, "fault kind 'explode'"), ({"before_s": 0}, "parameter before_s"),
    ({"restarts": 0}, "parameter restarts"), ({"request_timeout_s": float("nan")}, "parameter request_timeout_s"),
    ({"probe_timeout_s": 5.0}, "parameter probe_timeout_s"),
])
def test_bad_plans_are_refused(kwargs, match):
    with pytest.raises((faults.FaultError, ParameterError), match=match):
        faults.FaultPlan(**kwargs)


def test_the_load_outlasts_the_fault_and_the_deadline_bounds_it():
    plan = faults.FaultPlan(kind="restart_loop", restarts=2, up_s=10, restart_delay_s=2, startup_timeout_s=100)
    assert plan.fault_s == 2 * (2 + 100 + 10) and plan.deadline_s == plan.load_s + plan.request_timeout_s + 10
    assert faults.FaultPlan(kind="kill").fault_s == 0


class StandIn:
    """A GuardedServer look-alike: the guard, an "API server" and its "engine core"."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.base_url = "http://127.0.0.1:1"
        self.starts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "selfhost.live.guard", "--parent", str(__import__("os").getpid()),
                                      "--", sys.executable, "-c", SLEEPER], start_new_session=True, cwd=paths.ROOT)
        deadline = time.monotonic() + 10
        while len(guard.descendants(self.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.starts += 1

    def api_server_pid(self) -> int | None:
        children = guard.children(self.proc.pid) if self.proc else []
        return children[0] if children else None

    def stop(self) -> None:
        if self.proc is not None:
            pm.stop_group(self.proc, grace_s=1)


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_hang_stops_the_engine_core_but_not_the_api_server():
    server = StandIn()
    server.start()
    try:
        api = server.api_server_pid()
        core = guard.descendants(api)
        stop = threading.Event()
        plan = faults.FaultPlan(kind="hang", before_s=1, hang_s=1.5, after_s=1)
        injector = faults.Injector(plan, server, StandIn, time.time(), stop, progress=lambda line: None)
        injector.start()
        time.sleep(1.8)
        assert [state(p) for p in core] == ["T"] and state(api) != "T"
        assert stop.wait(10)
        assert [state(p) for p in core] != ["T"]
        assert [e["what"] for e in injector.events] == ["stop", "cont"]
        assert injector.fault_ended_s - injector.fault_at_s == pytest.approx(1.5, abs=0.5)
        injector.quit()
    finally:
        server.stop()


def test_a_restart_loop_kills_and_restarts_the_engine():
    first = StandIn()
    first.start()
    made: list[StandIn] = []

    def make() -> StandIn:
        made.append(StandIn())
        return made[-1]

    plan = faults.FaultPlan(kind="restart_loop", before_s=1, restarts=2, up_s=1, restart_delay_s=0, after_s=1)
    stop = threading.Event()
    injector = faults.Injector(plan, first, make, time.time(), stop, progress=lambda line: None)
    injector.start()
    try:
        assert stop.wait(20)
        assert [e["what"] for e in injector.events] == ["kill", "up", "kill", "up"]
        assert first.proc.poll() is not None and made[0].proc.poll() is not None and made[1].proc.poll() is None
        assert injector.error is None
    finally:
        injector.quit()
        for s in made:
            s.stop()
        first.stop()


# --------------------------------------------------------------------------- live: the kill case


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    runs_dir = tmp_path_factory.mktemp("runs")
    before = sorted((paths.data_dir() / "runs").rglob("*.json"))
    ports_before = [p for p in faults.PORTS if not eng.port_is_free(p)]
    lines: list[str] = []
    t0 = time.monotonic()
    path, record = faults.run_fault(faults.QUICK_PLANS["kill"], runs_dir, log_dir=tmp_path_factory.mktemp("logs"),
                                    progress=lines.append)
    return {"path": path, "record": record, "runs_dir": runs_dir, "before": before, "lines": lines,
            "elapsed_s": time.monotonic() - t0, "ports_before": ports_before}


@pytest.mark.live
@pytest.mark.slow
def test_the_kill_is_recorded(killed):
    assert killed["record"]["status"] == "ok", killed["record"]["error"]
    assert records.read_record(killed["path"]) == killed["record"]
    assert Path(killed["path"]).is_relative_to(killed["runs_dir"])
    assert [e["what"] for e in killed["record"]["fault"]["events"]] == ["kill"]


@pytest.mark.live
@pytest.mark.slow
def test_the_kill_is_caught_within_its_stated_bound(killed):
    run = mon.FaultRun.from_record(killed["record"])
    s = mon.fault_summary(run)
    bounds = {d.alertname: d.bound_s for d in ar.detection_bounds(
        run.setting.policy, scrape_interval_s=run.setting.scrape_interval_s,
        probe_interval_s=run.setting.probe_interval_s, probe_timeout_s=run.setting.probe_timeout_s)
        if d.failure == "engine killed"}
    table = mon.alert_table(run).set_index("alertname")
    for name, bound in bounds.items():
        fired = table.loc[name, "firing_after_s"]
        assert 0 < fired <= bound + 1.5, f"{name} fired {fired} s after the kill; bound {bound} s (+1.5 s polling)"
    assert set(s.first_alerts) <= {"VllmMetricsDown", "VllmEngineAbsent", "VllmProbeFailing"}
    assert s.first_article_alerts == ()  # the article's four signals go dark with the engine
    assert any("firing" in line for line in killed["lines"])


@pytest.mark.live
@pytest.mark.slow
def test_the_clients_saw_the_kill(killed):
    run = mon.FaultRun.from_record(killed["record"])
    before = [r for r in run.requests if r.ended_s < run.fault_at_s]
    assert before and all(r.outcome == "ok" for r in before)
    sent_after = [r for r in run.requests if r.sent_s > run.fault_at_s + 0.5]
    assert sent_after and {r.outcome for r in sent_after} <= {"refused", "reset"}
    # Streams in flight either broke off or had been sent in full before the kill (the client
    # reads what the kernel had buffered; it shares the two cores with the engine).
    in_flight = [r for r in run.requests if r.sent_s <= run.fault_at_s < r.ended_s]
    assert {r.outcome for r in in_flight} <= {"ok", "partial", "reset"}
    assert mon.fault_summary(run).outcomes_after["refused"] > 0


@pytest.mark.live
@pytest.mark.slow
def test_it_is_quick_and_leaves_nothing(killed):
    assert killed["elapsed_s"] < 180
    assert sorted((paths.data_dir() / "runs").rglob("*.json")) == killed["before"]
    assert [p for p in faults.PORTS if not eng.port_is_free(p)] == killed["ports_before"]
    (kill,) = killed["record"]["fault"]["events"]
    assert eng.group_members(int(kill["detail"].rsplit(" ", 1)[1])) == []
