"""Fault runs (C14): kill, hang and crash-loop a live engine while Prometheus and the probe watch (I/O).

Each run sends steady load (:mod:`selfhost.live.loadgen`, every request with its own
timeout) to vLLM's CPU build launched here, lets the monitoring settle for ``before_s``,
then injects one fault:

- ``kill``: SIGKILL to the engine's whole process group mid-run (an OOM kill, a node
  lost): in-flight streams break off, new requests are refused;
- ``hang``: SIGSTOP to the engine core and its workers while requests are in flight,
  SIGCONT after ``hang_s``: the API server still answers ``/health`` and ``/metrics``
  while no token is generated (a stuck kernel, a deadlock);
- ``restart_loop``: a supervisor (as systemd's ``Restart=always`` would) relaunches the
  engine each time it dies, and it is killed again ``up_s`` after each start, ``restarts``
  times; then it is left to serve.

The run records what the clients saw (timeouts, errors, partial streams), the series and
alerts Prometheus recorded and when each alert fired (:mod:`selfhost.data.faults`). It
has a deadline of its own; SIGTERM or Ctrl-C stop it, record nothing, and leave no
process behind (Prometheus and the exporter die with the harness even on SIGKILL).

Every process binds to 127.0.0.1 on a port in 8400-8499.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfhost import alertrules, monitoring
from selfhost.data import faults as records
from selfhost.errors import SelfhostError
from selfhost.live import engine as eng
from selfhost.live import guard, loadgen
from selfhost.live import harness as live
from selfhost.live import overload as ov
from selfhost.live import probe as prb
from selfhost.live import prometheus as prom
from selfhost.params import check_int, check_number

PORTS = prom.PORT_RANGE


class FaultError(SelfhostError):
    """Bad options for a fault run, or a fault that could not be injected."""


@dataclass(frozen=True)
class FaultPlan:
    """A fault run: the load, when the fault comes, how long it lasts, how long to watch after.

    Parameters
    ----------
    kind : str
        ``kill``, ``hang`` or ``restart_loop``.
    rate_req_per_s : float
        Poisson arrivals [requests/s], below the engine's capacity.
    before_s : float
        Load before the fault, so that the rules see a healthy engine first [s].
    after_s : float
        Watching after the fault (after the last restart, or after SIGCONT) [s].
    hang_s : float
        How long the engine core stays stopped (``hang``) [s]; the stall alert needs a rate
        window with no token plus its ``for`` delay (47 s with the default rules).
    restarts : int
        How many times the engine is killed and restarted (``restart_loop``) [count].
    up_s : float
        How long a restarted engine serves before the next kill (``restart_loop``) [s].
    restart_delay_s : float
        The supervisor's pause before it relaunches a dead engine [s].
    input_len, output_len : int
        Every request's prompt and output [tokens].
    request_timeout_s : float
        A client gives up after this long [s].
    scrape_interval_s, probe_interval_s, probe_timeout_s : float
        Prometheus' scrape and evaluation interval; the probe's period and timeout [s].
    startup_timeout_s : float
        The longest a (re)start of the engine may take [s].
    tail_s : float
        Scraping after the load ends [s].
    seed : int
        The arrival schedule's and the prompts' seed.
    """

    kind: str = "kill"
    rate_req_per_s: float = 2.0
    before_s: float = 30.0
    after_s: float = 45.0
    hang_s: float = 60.0
    restarts: int = 2
    up_s: float = 15.0
    restart_delay_s: float = 2.0
    input_len: int = 256
    output_len: int = 1024
    request_timeout_s: float = 20.0
    scrape_interval_s: float = 1.0
    probe_interval_s: float = 2.0
    probe_timeout_s: float = 1.5
    startup_timeout_s: float = 240.0
    tail_s: float = 5.0
    seed: int = 9100

    def __post_init__(self) -> None:
        if self.kind not in monitoring.FAULT_KINDS:
            raise FaultError(f"fault kind {self.kind!r}: expected one of {', '.join(monitoring.FAULT_KINDS)}")
        check_number("rate_req_per_s", self.rate_req_per_s, gt=0, le=1000)
        for name in ("before_s", "after_s", "hang_s", "up_s"):
            check_number(name, getattr(self, name), ge=1, le=3600)
        check_number("restart_delay_s", self.restart_delay_s, ge=0, le=600)
        check_int("restarts", self.restarts, ge=1, le=20)
        check_int("input_len", self.input_len, ge=1, le=1_000_000)
        check_int("output_len", self.output_len, ge=1, le=1_000_000)
        check_number("request_timeout_s", self.request_timeout_s, gt=0, le=3600)
        check_number("scrape_interval_s", self.scrape_interval_s, ge=0.5, le=2)
        check_number("probe_interval_s", self.probe_interval_s, ge=1, le=60)
        check_number("probe_timeout_s", self.probe_timeout_s, gt=0, le=self.probe_interval_s - prb.TIMEOUT_OFFSET_S)
        check_number("startup_timeout_s", self.startup_timeout_s, ge=10, le=3600)
        check_number("tail_s", self.tail_s, ge=0, le=600)

    @property
    def fault_s(self) -> float:
        """The fault's longest duration [s]: a kill is instant; a loop is each restart's start and serving."""
        if self.kind == "hang":
            return self.hang_s
        if self.kind == "restart_loop":
            return self.restarts * (self.restart_delay_s + self.startup_timeout_s + self.up_s)
        return 0.0

    @property
    def load_s(self) -> float:
        """How long the load may send at most [s] (the injector stops it earlier)."""
        return self.before_s + self.fault_s + self.after_s

    @property
    def deadline_s(self) -> float:
        """The latest the load may end [s after its start]."""
        return self.load_s + self.request_timeout_s + 10.0


#: The live test's plans: short, the same shape.
QUICK_PLANS = {
    "kill": FaultPlan(kind="kill", before_s=20.0, after_s=25.0),
    "hang": FaultPlan(kind="hang", before_s=20.0, hang_s=50.0, after_s=15.0),
    "restart_loop": FaultPlan(kind="restart_loop", before_s=15.0, restarts=2, up_s=10.0, after_s=20.0),
}


class Injector(threading.Thread):
    """Injects the fault on schedule (times relative to ``t0``) and supervises restarts."""

    def __init__(self, plan: FaultPlan, server: ov.GuardedServer, make_server: Callable[[], ov.GuardedServer],
                 t0: float, stop_load: threading.Event, progress: Callable[[str], None],
                 on_fault: Callable[[float], None] = lambda t: None) -> None:
        super().__init__(daemon=True)
        self.plan, self.server, self.make_server, self.t0 = plan, server, make_server, t0
        self.on_fault = on_fault
        self.stop_load, self.progress = stop_load, progress
        self.events: list[dict[str, Any]] = []
        self.error: str | None = None
        self.fault_at_s: float | None = None
        self.fault_ended_s: float | None = None
        self.stopped: list[int] = []
        self._quit = threading.Event()
        self.lock = threading.Lock()

    def _event(self, what: str, detail: str) -> float:
        t = round(time.time() - self.t0, 3)
        self.events.append({"t_s": t, "what": what, "detail": detail})
        self.progress(f"  t = {t:.0f} s: {what} ({detail})")
        return t

    def _sleep_until(self, at_s: float) -> bool:
        """Wait until ``at_s`` after t0; False when told to quit."""
        return not self._quit.wait(max(0.0, self.t0 + at_s - time.time()))

    def _kill(self) -> float:
        assert self.server.proc is not None
        pid = self.server.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        t = self._event("kill", f"SIGKILL to the engine's process group {pid}")
        with contextlib.suppress(Exception):
            self.server.proc.wait(timeout=10)
        return t

    def run(self) -> None:
        try:
            if not self._sleep_until(self.plan.before_s):
                return
            kind = self.plan.kind
            if kind == "kill":
                self.fault_at_s = self._kill()
                self.on_fault(self.fault_at_s)
                self.fault_ended_s = None
            elif kind == "hang":
                api = self.server.api_server_pid()
                self.stopped = guard.descendants(api) if api else []
                if not self.stopped:
                    raise FaultError("the engine has no engine-core process to stop")
                for pid in self.stopped:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSTOP)
                self.fault_at_s = self._event("stop", f"SIGSTOP to the engine core and its workers {self.stopped}")
                self.on_fault(self.fault_at_s)
                if not self._sleep_until(self.fault_at_s + self.plan.hang_s):
                    return
                self.resume()
                self.fault_ended_s = self._event("cont", "SIGCONT: the engine core resumes")
            else:
                for i in range(self.plan.restarts):
                    t = self._kill()
                    if self.fault_at_s is None:
                        self.fault_at_s = t
                        self.on_fault(t)
                    if self._quit.wait(self.plan.restart_delay_s):
                        return
                    with self.lock:
                        self.server = self.make_server()
                    self.server.start()
                    up = self._event("up", f"restart {i + 1} of {self.plan.restarts} answers on {self.server.base_url}")
                    if i < self.plan.restarts - 1 and not self._sleep_until(up + self.plan.up_s):
                        return
                    self.fault_ended_s = up
            end = (self.fault_ended_s if self.fault_ended_s is not None else self.fault_at_s or 0.0) + self.plan.after_s
            self._sleep_until(end)
        except Exception as exc:  # recorded as the run's error; SIGTERM reaches the main thread only
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.stop_load.set()
        # An engine this thread restarted dies with it (its guard's parent-death signal):
        # stay until told to quit.
        self._quit.wait()

    def resume(self) -> None:
        for pid in self.stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.stopped = []

    def quit(self) -> None:
        """Stop injecting and let the thread end; resume a stopped engine (so that it stops cleanly)."""
        self.resume()
        self._quit.set()
        self.join(timeout=5)


def run_fault(
    plan: FaultPlan,
    runs_dir: Path,
    policy: alertrules.AlertPolicy | None = None,
    *,
    engine_port: int | None = None,
    prometheus_port: int | None = None,
    log_dir: Path | None = None,
    kv_blocks: int = 272,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """Launch vLLM (CPU) on 127.0.0.1:84xx, inject ``plan``'s fault under load, record the run.

    Returns the record's path and the record (status ``failed`` with the error when the
    fault could not be injected, Prometheus could not be polled or no request succeeded
    before the fault). An interruption stops everything and records nothing.
    """
    policy = policy or alertrules.AlertPolicy()
    model_dir = eng.prepare_model()
    model = ov.launched_model(model_dir)
    port = engine_port or eng.free_port(PORTS.start, PORTS)

    def make_server() -> ov.GuardedServer:
        return ov.GuardedServer(model_dir, port, prefix_caching=True, extra_args=ov.engine_args(kv_blocks),
                                ports=PORTS, log_dir=log_dir, startup_timeout_s=plan.startup_timeout_s)

    first = make_server()
    started_at = live.now_utc()
    injector: Injector | None = None
    try:
        info = first.start()
        progress(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s; fault: "
                 f"{plan.kind.replace('_', ' ')}")
        spec = prb.ProbeSpec(info.model_id, plan.probe_interval_s, plan.probe_timeout_s)
        shape = loadgen.Shape(plan.input_len, plan.output_len, vocab_size=int(model["config"]["vocab_size"]))
        prom_port = prometheus_port or eng.free_port(port + 1, PORTS)
        with ov.Watch(info.base_url, info.model_id, policy, scrape_interval_s=plan.scrape_interval_s, probe=spec,
                      prometheus_port=prom_port, progress=progress) as w:
            stop_load = threading.Event()
            watcher = w.watcher
            assert watcher is not None
            injector = Injector(plan, first, make_server, w.t0, stop_load, progress,
                                on_fault=lambda t: setattr(watcher, "reference", (w.t0 + t, "the fault")))
            injector.start()
            outcomes = loadgen.run_load(info.base_url, info.model_id,
                                        [loadgen.Phase("load", plan.rate_req_per_s, plan.load_s)], shape,
                                        request_timeout_s=plan.request_timeout_s, t0=w.t0,
                                        deadline_s=plan.deadline_s, seed=plan.seed, stop=stop_load)
            time.sleep(max(plan.tail_s, 2.5 * plan.scrape_interval_s))
            t1 = time.time()
            pulled = w.pull(t1)
            statuses = w.status_increase(t1)
            rules_text, version, t0 = w.rules_text, w.version, w.t0
        ended_at = live.now_utc()
    finally:
        if injector is not None:
            injector.resume()
            with injector.lock:
                last = injector.server
            last.stop()
            injector.quit()
        first.stop()
    errors = []
    if injector.error:
        errors.append(f"the fault could not be injected: {injector.error}")
    if injector.fault_at_s is None:
        errors.append("the fault was never injected")
    if pulled["watcher_error"]:
        errors.append(f"polling /api/v1/alerts: {pulled['watcher_error']}")
    fault_at = injector.fault_at_s if injector.fault_at_s is not None else plan.before_s
    if not any(o.outcome == "ok" and o.ended_s < fault_at for o in outcomes):
        errors.append("no request succeeded before the fault: the engine was not serving")
    error = "; ".join(errors) or None
    record: dict[str, Any] = {
        "schema_version": records.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "status": "failed" if error else "ok",
        "error": error,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "engine": ov.engine_record(info),
        "hardware": {**live._hardware(None), "load_avg_1m": live._load_avg()},
        "model": model,
        "fault": {"kind": plan.kind, "events": injector.events,
                  "params": {k: v for k, v in dataclasses.asdict(plan).items()
                             if k in ("hang_s", "restarts", "up_s", "restart_delay_s", "before_s", "after_s")}},
        "plan": dataclasses.asdict(plan),
        "policy": dataclasses.asdict(policy),
        "rules_yaml": rules_text,
        "prometheus": {"version": version, "scrape_interval_s": plan.scrape_interval_s,
                       "evaluation_interval_s": plan.scrape_interval_s},
        "probe": {"interval_s": spec.interval_s, "timeout_s": spec.timeout_s, "model": spec.model},
        "client": {"tool": loadgen.TOOL, "request_timeout_s": plan.request_timeout_s, "stream": True,
                   "prompt": "token ids"},
        "timeline": {"fault_at_s": round(fault_at, 3),
                     "fault_ended_s": None if injector.fault_ended_s is None else round(injector.fault_ended_s, 3),
                     "ended_s": round(t1 - t0, 3)},
        "series": pulled["series"],
        "alerts": pulled["alerts"],
        "alert_events": pulled["alert_events"],
        "http_status_counts": statuses,
        "requests": [o.to_json() for o in outcomes],
    }
    return records.write_record(runs_dir, record), record


def record_faults(runs_dir: Path, kinds: tuple[str, ...] = monitoring.FAULT_KINDS, *,
                  plans: dict[str, FaultPlan] | None = None, policy: alertrules.AlertPolicy | None = None,
                  progress: Callable[[str], None] = print) -> list[Path]:
    """``make faults``: one run of each kind, in order (each launches its own engine)."""
    written = []
    for kind in kinds:
        plan = (plans or {}).get(kind) or FaultPlan(kind=kind)
        path, record = run_fault(plan, runs_dir, policy, progress=progress)
        progress(f"recorded {path} ({record['status']}{': ' + record['error'] if record['error'] else ''})")
        written.append(path)
    return written
