"""The overload run (C14): push an engine past its capacity while Prometheus watches (I/O).

:func:`run_overload` starts Prometheus (:class:`selfhost.live.prometheus.PrometheusServer`)
with the rules of :mod:`selfhost.alertrules` against a running engine, drives it with
vLLM's benchmark client (:func:`selfhost.live.harness.client_argv`) first below capacity
(``baseline``) and then above it (``overload``: Poisson arrivals at a rate the engine
cannot sustain), polls ``/api/v1/alerts`` every second, and afterwards pulls the
recorded series and ``ALERTS`` with ``/api/v1/query_range`` and the HTTP status counts
with ``/api/v1/query``. It writes one record (:data:`selfhost.data.overload.SCHEMA`) under
``data/runs/overload/``, never over an existing one.

:func:`record_cpu_overload` is ``make overload``: vLLM's CPU build here, with a KV cache
of ``kv_blocks`` blocks so that, as on a GPU, the cache is what limits how many requests
run at once. :func:`record_attached_overload` drives a server the reader runs (its API
key, if any, comes from ``$OPENAI_API_KEY``, never from a parameter).

Every process this module starts binds to 127.0.0.1 on a port in 8400-8499 and is
stopped when the run ends, fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfhost import alertrules
from selfhost.data import overload as records
from selfhost.errors import SelfhostError
from selfhost.live import engine as eng
from selfhost.live import harness as live
from selfhost.live import prometheus as prom
from selfhost.params import check_int, check_number
from selfhost.workloads import RunSpec

PORTS = prom.PORT_RANGE


class OverloadError(SelfhostError):
    """Bad options for an overload run, or a run that could not be made."""


@dataclass(frozen=True)
class OverloadPlan:
    """The two phases of an overload run and the requests they send.

    Parameters
    ----------
    baseline_rate_req_per_s : float
        Arrival rate below capacity [requests/s] (Poisson).
    baseline_s : float
        How long the baseline sends [s].
    overload_rate_req_per_s : float
        Arrival rate above capacity [requests/s] (Poisson).
    overload_s : float
        How long the overload sends [s]; the client then waits for every request, so
        the queue drains after it.
    input_len, output_len : int
        Prompt and output length of every request [tokens] (``--ignore-eos``).
    kv_blocks : int
        KV cache size of the engine launched here [blocks of 128 tokens on vLLM's CPU
        build] (``--num-gpu-blocks-override``); it must hold one ``max_model_len``
        request. Ignored for an attached server.
    scrape_interval_s : float
        Prometheus' scrape and rule-evaluation interval [s].
    tail_s : float
        Scraping goes on this long after the queue drained, so that alerts resolve [s].
    seed : int
        The client's dataset seed.
    """

    baseline_rate_req_per_s: float = 2.0
    baseline_s: float = 30.0
    overload_rate_req_per_s: float = 20.0
    overload_s: float = 45.0
    input_len: int = 1024
    output_len: int = 256
    kv_blocks: int = 272
    scrape_interval_s: float = 1.0
    tail_s: float = 10.0
    seed: int = 7000

    def __post_init__(self) -> None:
        check_number("baseline_rate_req_per_s", self.baseline_rate_req_per_s, gt=0)
        check_number("baseline_s", self.baseline_s, ge=1)
        check_number("overload_rate_req_per_s", self.overload_rate_req_per_s, gt=0)
        check_number("overload_s", self.overload_s, ge=1)
        check_int("input_len", self.input_len, ge=1)
        check_int("output_len", self.output_len, ge=1)
        check_int("kv_blocks", self.kv_blocks, ge=2)
        check_number("scrape_interval_s", self.scrape_interval_s, ge=0.5, le=2)
        check_number("tail_s", self.tail_s, ge=0)
        if self.overload_rate_req_per_s <= self.baseline_rate_req_per_s:
            raise OverloadError(f"overload_rate_req_per_s = {self.overload_rate_req_per_s} must exceed "
                                f"baseline_rate_req_per_s = {self.baseline_rate_req_per_s}")

    def spec(self, phase: str) -> tuple[RunSpec, float]:
        """The client arguments of ``phase`` (``baseline`` or ``overload``) and its rate [requests/s]."""
        rate, seconds = ((self.baseline_rate_req_per_s, self.baseline_s) if phase == "baseline"
                         else (self.overload_rate_req_per_s, self.overload_s))
        n = max(1, round(rate * seconds))
        return RunSpec(records.WORKLOAD, phase, 0, self.seed + (0 if phase == "baseline" else 1), num_prompts=n,
                       input_len=self.input_len, output_len=self.output_len, max_concurrency=n,
                       params={"request_rate_req_per_s": rate, "sending_s": seconds}), rate


#: The live test's plan: short phases, the same request shape.
QUICK_PLAN = OverloadPlan(baseline_rate_req_per_s=2.0, baseline_s=8.0, overload_rate_req_per_s=24.0,
                          overload_s=15.0, tail_s=3.0)

# --------------------------------------------------------------------------- watching the alerts


class AlertWatcher(threading.Thread):
    """Poll ``/api/v1/alerts`` every ``period_s``; keep each alert's state changes."""

    def __init__(self, server: prom.PrometheusServer, t0: float, period_s: float = 1.0,
                 progress: Callable[[str], None] = print) -> None:
        super().__init__(daemon=True)
        if progress is print:  # the client redirects sys.stdout while it runs: keep the real one
            import functools
            import sys

            progress = functools.partial(print, file=sys.stdout, flush=True)
        self.server, self.t0, self.period_s, self.progress = server, t0, period_s, progress
        self.events: list[dict[str, Any]] = []
        self.state: dict[str, str] = {}
        self.error: str | None = None
        self._stop_event = threading.Event()
        self.overload_started: float | None = None

    def poll(self) -> None:
        try:
            current = {a["labels"]["alertname"]: a["state"] for a in self.server.alerts()}
        except prom.PrometheusError as exc:
            self.error = str(exc)
            return
        t = time.time() - self.t0
        for name, state in current.items():
            if self.state.get(name) != state:
                self.events.append({"t_s": round(t, 3), "alertname": name, "state": state})
                if state == "firing":
                    since = "" if self.overload_started is None else \
                        f", {t - (self.overload_started - self.t0):.0f} s after the overload began"
                    self.progress(f"  alert {name} firing at t = {t:.0f} s{since}")
        for name in set(self.state) - set(current):
            self.events.append({"t_s": round(t, 3), "alertname": name, "state": "resolved"})
        self.state = current

    def run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            self.poll()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


# --------------------------------------------------------------------------- the run


def _value(text: str) -> float | None:
    v = float(text)
    return v if math.isfinite(v) else None


#: Raw counters pulled beside the recorded series (name in the record -> PromQL).
COUNTERS = {"vllm:num_preemptions_total": "sum(vllm:num_preemptions_total{{job=\"{job}\"}})",
            "vllm:request_success_total": "sum(vllm:request_success_total{{job=\"{job}\"}})"}


def _pull_series(server: prom.PrometheusServer, t0: float, t1: float, step_s: float,
                 job: str = "vllm") -> dict[str, list]:
    out: dict[str, list] = {}
    exprs = {**{n: n for n in (*alertrules.RECORDED, "up")}, **{n: e.format(job=job) for n, e in COUNTERS.items()}}
    for name, expr in exprs.items():
        result = server.query_range(expr, t0, t1, step_s)
        if result:
            out[name] = [[round(float(t) - t0, 3), _value(v)] for t, v in result[0]["values"]]
    return out


def _alert_spans(server: prom.PrometheusServer, t0: float, t1: float, step_s: float) -> list[dict[str, Any]]:
    """Each alert's first pending and firing time and when it stopped firing, from ``ALERTS``."""
    spans: dict[str, dict[str, Any]] = {}
    for series in server.query_range("ALERTS", t0, t1, step_s):
        labels = series["metric"]
        name = labels["alertname"]
        span = spans.setdefault(name, {"alertname": name, "signal": labels.get("signal", ""),
                                       "severity": labels.get("severity", ""), "pending_s": None,
                                       "firing_s": None, "resolved_s": None})
        times = [round(float(t) - t0, 3) for t, _ in series["values"]]
        if labels.get("alertstate") == "pending":
            span["pending_s"] = min(times)
        elif labels.get("alertstate") == "firing":
            span["firing_s"] = min(times)
            last = max(times)
            span["resolved_s"] = round(last + step_s, 3) if last + step_s < t1 - t0 else None
    for span in spans.values():
        if span["pending_s"] is None and span["firing_s"] is not None:  # for: 0s fires at once
            span["pending_s"] = span["firing_s"]
    return sorted(spans.values(), key=lambda s: (s["firing_s"] is None, s["firing_s"] or 0, s["alertname"]))


def _status_counts(server: prom.PrometheusServer, job: str, at: float) -> dict[str, int]:
    result = server.query(f'sum by (status) (http_requests_total{{job="{job}", handler=~"/v1/.*"}})', at)
    return {r["metric"].get("status", "?"): int(float(r["value"][1])) for r in result}


def _run_phase(info: eng.ServerInfo, plan: OverloadPlan, phase: str, tokenizer: str | None,
               t0: float) -> dict[str, Any]:
    spec, rate = plan.spec(phase)
    argv = live.client_argv(info, spec, tokenizer)
    argv[argv.index("--request-rate") + 1] = f"{rate:g}"  # Poisson arrivals at ``rate`` (burstiness 1)
    started = time.time() - t0
    result: dict[str, Any] = {}
    error = None
    try:
        args = live.client_parser().parse_args(argv)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = live._client().main(args) or {}
    except Exception as exc:
        error = f"benchmark client raised {type(exc).__name__}: {exc}"
    except SystemExit as exc:
        error = f"benchmark client refused its arguments (exit {exc.code}): {' '.join(argv)}"
    summary = live._scalars(result)
    if error is None and summary.get("failed"):
        error = f"{summary['failed']} of {summary['failed'] + summary.get('completed', 0)} requests failed"
    return {"name": phase, "request_rate_req_per_s": rate, "num_prompts": spec.num_prompts,
            "started_s": round(started, 3), "ended_s": round(time.time() - t0, 3), "client_args": argv,
            "results": summary, "error": error}


def run_overload(
    info: eng.ServerInfo,
    runs_dir: Path,
    plan: OverloadPlan | None = None,
    policy: alertrules.AlertPolicy | None = None,
    *,
    prometheus_port: int | None = None,
    hardware: dict[str, Any],
    model: dict[str, Any],
    tokenizer: str | None = None,
    server: eng.VllmServer | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """Baseline, then overload, against ``info`` while Prometheus scrapes it; write the record.

    Returns the record's path and the record (status ``failed`` with the error when the
    client failed or the engine died; Prometheus failing to start raises instead).
    """
    plan, policy = plan or OverloadPlan(), policy or alertrules.AlertPolicy()
    rules_text = alertrules.rules_yaml(policy)
    port = prometheus_port or eng.free_port(PORTS.start, PORTS)
    started_at = live.now_utc()
    with prom.PrometheusServer(info.base_url, rules_text, port, scrape_interval_s=plan.scrape_interval_s,
                               job=policy.job) as server_p:
        server_p.wait_for_scrape()
        progress(f"Prometheus ({prom.version()}) on {server_p.base_url} scrapes {info.base_url}/metrics every "
                 f"{plan.scrape_interval_s:g} s")
        t0 = time.time()
        watcher = AlertWatcher(server_p, t0, progress=progress)
        watcher.start()
        phases, error = [], None
        try:
            progress(f"  baseline: {plan.baseline_rate_req_per_s:g} requests/s for {plan.baseline_s:g} s")
            phases.append(_run_phase(info, plan, "baseline", tokenizer, t0))
            overload_started = time.time()
            watcher.overload_started = overload_started
            progress(f"  overload: {plan.overload_rate_req_per_s:g} requests/s for {plan.overload_s:g} s, "
                     f"then the queue drains")
            phases.append(_run_phase(info, plan, "overload", tokenizer, t0))
            drained = time.time()
            # At least two scrapes and rule evaluations after the last answer, so that the
            # series and the status counts include it.
            time.sleep(max(plan.tail_s, 2.5 * plan.scrape_interval_s))
        finally:
            watcher.stop()
        t1 = time.time()
        series = _pull_series(server_p, t0, t1, plan.scrape_interval_s, policy.job)
        alerts = _alert_spans(server_p, t0, t1, plan.scrape_interval_s)
        before = _status_counts(server_p, policy.job, t0)
        after = _status_counts(server_p, policy.job, t1)
        version = prom.version()
    ended_at = live.now_utc()
    statuses = {k: v - before.get(k, 0) for k, v in after.items()}
    errors = [f"{p['name']}: {p['error']}" for p in phases if p["error"]]
    if server is not None and not server.alive():
        errors.append(f"the engine died during the run; its last log lines:\n{server.log_tail()}")
    if watcher.error:
        errors.append(f"polling /api/v1/alerts: {watcher.error}")
    error = "; ".join(errors) or None
    record: dict[str, Any] = {
        "schema_version": records.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "status": "failed" if error else "ok",
        "error": error,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "engine": {"name": info.engine, "version": info.engine_version, "launched": info.launched,
                   "base_url": info.base_url, "prefix_caching": info.prefix_caching, "args": info.args,
                   "startup_s": info.startup_s},
        "hardware": {**hardware, "load_avg_1m": live._load_avg()},
        "model": model,
        "plan": dataclasses.asdict(plan),
        "policy": dataclasses.asdict(policy),
        "rules_yaml": rules_text,
        "prometheus": {"version": version, "scrape_interval_s": plan.scrape_interval_s,
                       "evaluation_interval_s": plan.scrape_interval_s},
        "phases": phases,
        "timeline": {"overload_started_s": round(overload_started - t0, 3),
                     "overload_sending_ended_s": round(overload_started - t0 + plan.overload_s, 3),
                     "overload_drained_s": round(drained - t0, 3), "ended_s": round(t1 - t0, 3)},
        "series": series,
        "alerts": alerts,
        "alert_events": watcher.events,
        "http_status_counts": statuses,
    }
    return records.write_record(runs_dir, record), record


def _engine_args(plan: OverloadPlan) -> list[str]:
    return ["--num-gpu-blocks-override", str(plan.kv_blocks)]


def record_cpu_overload(
    runs_dir: Path,
    plan: OverloadPlan | None = None,
    policy: alertrules.AlertPolicy | None = None,
    *,
    engine_port: int | None = None,
    prometheus_port: int | None = None,
    log_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """``make overload``: launch vLLM (CPU) on 127.0.0.1:84xx, overload it, record the run."""
    plan = plan or OverloadPlan()
    model_dir = eng.prepare_model()
    port = engine_port or eng.free_port(PORTS.start, PORTS)
    server = eng.VllmServer(model_dir, port, prefix_caching=True, extra_args=_engine_args(plan), ports=PORTS,
                            log_dir=log_dir)
    with server as info:
        progress(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s "
                 f"(KV cache: {plan.kv_blocks} blocks)")
        prom_port = prometheus_port or eng.free_port(port + 1, PORTS)
        return run_overload(info, runs_dir, plan, policy, prometheus_port=prom_port,
                            hardware=live._hardware(None), model=live._model_record(model_dir, eng.SERVED_NAME_DEFAULT),
                            tokenizer=str(model_dir), server=server, progress=progress)


def record_attached_overload(
    url: str,
    engine_name: str,
    runs_dir: Path,
    plan: OverloadPlan,
    policy: alertrules.AlertPolicy | None = None,
    *,
    model: str | None = None,
    tokenizer: str | None = None,
    hardware: str | None = None,
    prometheus_port: int | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """Overload a server the reader runs (an API key comes from ``$OPENAI_API_KEY`` only)."""
    info = eng.attach(url, engine_name, model)
    progress(f"attached to {engine_name} {info.engine_version} at {info.base_url}, model {info.model_id}")
    return run_overload(info, runs_dir, plan, policy, prometheus_port=prometheus_port,
                        hardware=live._hardware(hardware),
                        model={"name": info.model_id, "weights": "as served", "config": None},
                        tokenizer=tokenizer or info.model_id, progress=progress)
