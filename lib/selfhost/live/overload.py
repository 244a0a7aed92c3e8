"""The overload run (C14): push an engine past its capacity while Prometheus and a probe watch (I/O).

:class:`Watch` starts the blackbox exporter (the synthetic probe, :mod:`selfhost.live.probe`)
and Prometheus (:class:`selfhost.live.prometheus.PrometheusServer`) with the rules of
:mod:`selfhost.alertrules` against a running engine, polls ``/api/v1/alerts`` every
second, and afterwards pulls the recorded series and ``ALERTS`` (``/api/v1/query_range``)
and the HTTP status counts (``/api/v1/query``). The fault runs (:mod:`selfhost.live.faults`)
use it too.

:func:`run_overload` drives the engine with :mod:`selfhost.live.loadgen` (every request
with its own timeout, every outcome kept) first below capacity (``baseline``) and then
above it (``overload``: Poisson arrivals at a rate the engine cannot sustain), and writes
one record (:data:`selfhost.data.overload.SCHEMA`) under ``data/runs/overload/``, never
over an existing one. The run has a deadline of its own (:attr:`OverloadPlan.deadline_s`).

:func:`record_cpu_overload` is ``make overload``: vLLM's CPU build here, with a KV cache
of ``kv_blocks`` blocks so that, as on a GPU, the cache is what limits how many requests
run at once. :func:`record_attached_overload` drives a server the reader runs (its API
key, if any, comes from ``$OPENAI_API_KEY``, never from a parameter).

Every process this module starts binds to 127.0.0.1 on a port in 8400-8499 and is
stopped when the run ends, fails or is interrupted (SIGTERM and Ctrl-C unwind it and
nothing is recorded); Prometheus and the exporter die with the harness even when it is
killed with SIGKILL (:func:`selfhost.live.prometheus.spawn`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfhost import alertrules, monitoring
from selfhost.data import overload as records
from selfhost.errors import SelfhostError
from selfhost.live import engine as eng
from selfhost.live import guard, loadgen
from selfhost.live import harness as live
from selfhost.live import probe as prb
from selfhost.live import prometheus as prom
from selfhost.params import check_int, check_number

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
        How long the overload sends [s]; the queue drains after it.
    input_len, output_len : int
        Prompt and output length of every request [tokens] (the end-of-sequence token is
        ignored, so every answer has ``output_len`` tokens).
    request_timeout_s : float
        A client gives up on a request without its complete answer after this long [s].
    kv_blocks : int
        KV cache size of the engine launched here [blocks of 128 tokens on vLLM's CPU
        build] (``--num-gpu-blocks-override``); it must hold one ``max_model_len``
        request. Ignored for an attached server.
    scrape_interval_s : float
        Prometheus' scrape and rule-evaluation interval [s].
    probe_interval_s, probe_timeout_s : float
        How often the probe sends its one-token completion, and when it gives up [s].
    tail_s : float
        Scraping goes on this long after the queue drained, so that alerts resolve [s].
    seed : int
        The arrival schedule's and the prompts' seed.
    """

    baseline_rate_req_per_s: float = 2.0
    baseline_s: float = 30.0
    overload_rate_req_per_s: float = 20.0
    overload_s: float = 45.0
    input_len: int = 1024
    output_len: int = 256
    request_timeout_s: float = 180.0
    kv_blocks: int = 272
    scrape_interval_s: float = 1.0
    probe_interval_s: float = 2.0
    probe_timeout_s: float = 1.5
    tail_s: float = 10.0
    seed: int = 7000

    def __post_init__(self) -> None:
        check_number("baseline_rate_req_per_s", self.baseline_rate_req_per_s, gt=0, le=1000)
        check_number("baseline_s", self.baseline_s, ge=1, le=3600)
        check_number("overload_rate_req_per_s", self.overload_rate_req_per_s, gt=0, le=1000)
        check_number("overload_s", self.overload_s, ge=1, le=3600)
        check_int("input_len", self.input_len, ge=1, le=1_000_000)
        check_int("output_len", self.output_len, ge=1, le=1_000_000)
        check_number("request_timeout_s", self.request_timeout_s, gt=0, le=3600)
        check_int("kv_blocks", self.kv_blocks, ge=2)
        check_number("scrape_interval_s", self.scrape_interval_s, ge=0.5, le=2)
        check_number("probe_interval_s", self.probe_interval_s, ge=1, le=60)
        check_number("probe_timeout_s", self.probe_timeout_s, gt=0, le=self.probe_interval_s - prb.TIMEOUT_OFFSET_S)
        check_number("tail_s", self.tail_s, ge=0, le=600)
        if self.overload_rate_req_per_s <= self.baseline_rate_req_per_s:
            raise OverloadError(f"overload_rate_req_per_s = {self.overload_rate_req_per_s} must exceed "
                                f"baseline_rate_req_per_s = {self.baseline_rate_req_per_s}")

    def phases(self) -> list[loadgen.Phase]:
        return [loadgen.Phase("baseline", self.baseline_rate_req_per_s, self.baseline_s),
                loadgen.Phase("overload", self.overload_rate_req_per_s, self.overload_s)]

    @property
    def deadline_s(self) -> float:
        """The latest the load may end [s after its start]: sending, the last request's timeout, 10 s."""
        return self.baseline_s + self.overload_s + self.request_timeout_s + 10.0


#: The live test's plan: short phases, short prompts, the same overload factor.
QUICK_PLAN = OverloadPlan(baseline_rate_req_per_s=2.0, baseline_s=8.0, overload_rate_req_per_s=24.0,
                          overload_s=15.0, request_timeout_s=90.0, tail_s=3.0)

# --------------------------------------------------------------------------- watching


class AlertWatcher(threading.Thread):
    """Poll ``/api/v1/alerts`` every ``period_s``; keep each alert's state changes."""

    def __init__(self, server: prom.PrometheusServer, t0: float, period_s: float = 1.0,
                 progress: Callable[[str], None] = print) -> None:
        super().__init__(daemon=True)
        if progress is print:
            progress = functools.partial(print, file=sys.stdout, flush=True)
        self.server, self.t0, self.period_s, self.progress = server, t0, period_s, progress
        self.events: list[dict[str, Any]] = []
        self.state: dict[str, str] = {}
        self.error: str | None = None
        self._stop_event = threading.Event()
        #: The reference time of the progress lines (the overload's or the fault's start).
        self.reference: tuple[float, str] | None = None

    def poll(self) -> None:
        try:
            current: dict[str, str] = {}
            for a in self.server.alerts():
                name = a["labels"]["alertname"]
                # One alert name may have several label sets; firing wins over pending.
                if current.get(name) != "firing":
                    current[name] = a["state"]
        except prom.PrometheusError as exc:
            self.error = str(exc)
            return
        t = time.time() - self.t0
        for name, state in current.items():
            if self.state.get(name) != state:
                self.events.append({"t_s": round(t, 3), "alertname": name, "state": state})
                if state == "firing":
                    since = "" if self.reference is None else \
                        f", {t - (self.reference[0] - self.t0):.0f} s after {self.reference[1]}"
                    self.progress(f"  alert {name} firing at t = {t:.0f} s{since}")
        for name in set(self.state) - set(current):
            self.events.append({"t_s": round(t, 3), "alertname": name, "state": "resolved"})
        self.state = current

    def run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            self.poll()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=10)


def _value(text: str) -> float | None:
    v = float(text)
    return v if math.isfinite(v) else None


#: Raw series pulled beside the recorded ones (name in the record -> PromQL; {job} is the engine's
#: job, {module} the probe's).
RAW = {"up": 'up{{job="{job}"}}',
       "vllm:num_preemptions_total": 'sum(vllm:num_preemptions_total{{job="{job}"}})',
       "vllm:request_success_total": 'sum(vllm:request_success_total{{job="{job}"}})',
       "process_start_time_seconds": 'max(process_start_time_seconds{{job="{job}"}})',
       "probe_success": 'probe_success{{module="{module}"}}',
       "probe_duration_seconds": 'probe_duration_seconds{{module="{module}"}}'}


def alert_spans(server: Any, t0: float, t1: float, step_s: float) -> list[dict[str, Any]]:
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
            first = min(times)
            span["pending_s"] = first if span["pending_s"] is None else min(span["pending_s"], first)
        elif labels.get("alertstate") == "firing":
            first, last = min(times), max(times)
            span["firing_s"] = first if span["firing_s"] is None else min(span["firing_s"], first)
            span["resolved_s"] = round(last + step_s, 3) if last + step_s < t1 - t0 else None
    for span in spans.values():
        if span["pending_s"] is None and span["firing_s"] is not None:  # for: 0s fires at once
            span["pending_s"] = span["firing_s"]
    return sorted(spans.values(), key=lambda s: (s["firing_s"] is None, s["firing_s"] or 0, s["alertname"]))


class Watch:
    """The probe's exporter, Prometheus and the alert poller, watching one engine URL.

    ``with Watch(...) as w:`` starts them, waits for the first successful scrape of the
    engine and sets ``w.t0`` (the run's time origin); :meth:`pull` reads what Prometheus
    recorded; leaving the block stops everything.
    """

    def __init__(self, base_url: str, model: str, policy: alertrules.AlertPolicy, *, scrape_interval_s: float,
                 probe: prb.ProbeSpec | None, prometheus_port: int | None = None,
                 progress: Callable[[str], None] = print, wait_for_engine: bool = True) -> None:
        self.base_url, self.model, self.policy, self.probe = base_url, model, policy, probe
        self.scrape_interval_s, self.progress, self.wait_for_engine = scrape_interval_s, progress, wait_for_engine
        self.rules_text = alertrules.rules_yaml(policy)
        self.prometheus_port = prometheus_port
        self.exporter: prb.BlackboxExporter | None = None
        self.server: prom.PrometheusServer | None = None
        self.watcher: AlertWatcher | None = None
        self.t0 = 0.0
        self.version = "unknown"

    def __enter__(self) -> Watch:
        try:
            port = self.prometheus_port or eng.free_port(PORTS.start, PORTS)
            extra: tuple[dict[str, Any], ...] = ()
            if self.probe is not None:
                self.exporter = prb.BlackboxExporter(self.probe, eng.free_port(port + 1, PORTS)).start()
                extra = (prb.scrape_config(self.exporter.address, self.base_url, self.probe),)
            self.server = prom.PrometheusServer(self.base_url, self.rules_text, port,
                                                scrape_interval_s=self.scrape_interval_s,
                                                extra_scrape_configs=extra).start()
            if self.wait_for_engine:
                self.server.wait_for_scrape()
            self.version = prom.version()
            self.progress(f"Prometheus ({self.version.split(' (')[0]}) on {self.server.base_url} scrapes "
                          f"{self.base_url}/metrics every {self.scrape_interval_s:g} s"
                          + (f"; the probe sends a one-token completion every {self.probe.interval_s:g} s"
                             if self.probe else ""))
            self.t0 = time.time()
            self.watcher = AlertWatcher(self.server, self.t0, period_s=min(1.0, self.scrape_interval_s),
                                        progress=self.progress)
            self.watcher.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.server is not None:
            self.server.stop()
        if self.exporter is not None:
            self.exporter.stop()

    def pull(self, t1: float) -> dict[str, Any]:
        """The series, alert spans and events between ``t0`` and ``t1``."""
        assert self.server is not None and self.watcher is not None
        self.watcher.stop()
        step = self.scrape_interval_s
        out: dict[str, list] = {}
        exprs = {**{n: n for n in alertrules.RECORDED},
                 **{n: e.format(job=prom.ENGINE_JOB, module=alertrules.PROBE_MODULE) for n, e in RAW.items()}}
        for name, expr in exprs.items():
            result = self.server.query_range(expr, self.t0, t1, step)
            if result:
                out[name] = [[round(float(t) - self.t0, 3), _value(v)] for t, v in result[0]["values"]]
        return {"series": out, "alerts": alert_spans(self.server, self.t0, t1, step),
                "alert_events": list(self.watcher.events), "watcher_error": self.watcher.error}

    def status_counts(self, at: float) -> dict[str, int]:
        """``http_requests_total`` of the generation endpoints by status class, at ``at``."""
        assert self.server is not None
        result = self.server.query(f'sum by (status) (http_requests_total{{job="{prom.ENGINE_JOB}", '
                                   f'handler=~"{alertrules.GENERATION_HANDLERS}"}})', at)
        return {r["metric"].get("status", "?"): int(float(r["value"][1])) for r in result}

    def status_increase(self, t1: float) -> dict[str, int]:
        """The same counts' increase from ``t0`` to ``t1``, across restarts (Prometheus' ``increase``, rounded)."""
        assert self.server is not None
        window = max(1, math.ceil(t1 - self.t0))
        result = self.server.query(f'sum by (status) (increase(http_requests_total{{job="{prom.ENGINE_JOB}", '
                                   f'handler=~"{alertrules.GENERATION_HANDLERS}"}}[{window}s]))', t1)
        return {r["metric"].get("status", "?"): int(round(float(r["value"][1]))) for r in result}

    def ttft_buckets(self, lo: float, hi: float) -> dict[str, Any] | None:
        """The TTFT histogram's cumulative counts gained between ``lo`` and ``hi`` (absolute times)."""
        assert self.server is not None
        expr = f'sum by (le) (vllm:time_to_first_token_seconds_bucket{{job="{prom.ENGINE_JOB}"}})'
        before = {r["metric"]["le"]: float(r["value"][1]) for r in self.server.query(expr, lo)}
        after = {r["metric"]["le"]: float(r["value"][1]) for r in self.server.query(expr, hi)}
        if not after:
            return None
        counts = sorted(((float(le), after[le] - before.get(le, 0.0)) for le in after), key=lambda x: x[0])
        return {"from_s": round(lo - self.t0, 3), "to_s": round(hi - self.t0, 3),
                "counts": [["+Inf" if math.isinf(le) else le, c] for le, c in counts]}


# --------------------------------------------------------------------------- the run


def phase_results(outcomes: Sequence[loadgen.Outcome], phase: str, started_s: float) -> dict[str, Any]:
    """A phase's summary from its requests: counts per outcome and the clients' TTFT percentiles [ms]."""
    mine = [o for o in outcomes if o.phase == phase]
    reqs = [monitoring.ClientRequest(o.phase, o.sent_s, o.first_token_s, o.ended_s, o.output_tok, o.outcome,
                                     o.http_status) for o in mine]
    counts = monitoring.outcome_counts(reqs)

    def pct(q: float) -> float | None:
        v = monitoring.client_ttft_ms(reqs, q)
        return None if not math.isfinite(v) else round(v, 3)

    ended = max((o.ended_s for o in mine), default=started_s)
    return {"completed": counts["ok"], "failed": sum(counts[o] for o in monitoring.ERROR_OUTCOMES),
            "timeouts": counts["timeout"], "total_input_tokens": 0,
            "total_output_tokens": sum(o.output_tok for o in mine), "duration": round(ended - started_s, 3),
            "median_ttft_ms": pct(0.5), "p50_ttft_ms": pct(0.5), "p90_ttft_ms": pct(0.9), "p99_ttft_ms": pct(0.99)}


def engine_record(info: eng.ServerInfo) -> dict[str, Any]:
    return {"name": records.check_engine_name(info.engine), "version": info.engine_version, "launched": info.launched,
            "base_url": info.base_url, "prefix_caching": info.prefix_caching, "args": info.args,
            "startup_s": info.startup_s}


def run_overload(
    info: eng.ServerInfo,
    runs_dir: Path,
    plan: OverloadPlan | None = None,
    policy: alertrules.AlertPolicy | None = None,
    *,
    prometheus_port: int | None = None,
    hardware: dict[str, Any],
    model: dict[str, Any],
    token_ids: bool = True,
    vocab_size: int = 4096,
    server: eng.VllmServer | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """Baseline, then overload, against ``info`` while Prometheus and the probe watch; write the record.

    Returns the record's path and the record (status ``failed`` with the error when no
    request succeeded, Prometheus could not be polled or the engine died; Prometheus
    failing to start raises instead, and so does an interruption, which records nothing).
    """
    plan, policy = plan or OverloadPlan(), policy or alertrules.AlertPolicy()
    records.check_engine_name(info.engine)
    started_at = live.now_utc()
    spec = prb.ProbeSpec(info.model_id, plan.probe_interval_s, plan.probe_timeout_s)
    shape = loadgen.Shape(plan.input_len, plan.output_len, token_ids=token_ids, vocab_size=vocab_size)
    with Watch(info.base_url, info.model_id, policy, scrape_interval_s=plan.scrape_interval_s, probe=spec,
               prometheus_port=prometheus_port, progress=progress) as w:
        t0 = w.t0
        overload_started = t0 + plan.baseline_s
        assert w.watcher is not None
        w.watcher.reference = (overload_started, "the overload began")
        progress(f"  baseline: {plan.baseline_rate_req_per_s:g} requests/s for {plan.baseline_s:g} s, then overload: "
                 f"{plan.overload_rate_req_per_s:g} requests/s for {plan.overload_s:g} s; each request gives up "
                 f"after {plan.request_timeout_s:g} s")
        outcomes = loadgen.run_load(info.base_url, info.model_id, plan.phases(), shape,
                                    request_timeout_s=plan.request_timeout_s, t0=t0, deadline_s=plan.deadline_s,
                                    seed=plan.seed, engine=info.engine)
        drained = t0 + max((o.ended_s for o in outcomes), default=plan.baseline_s + plan.overload_s)
        # At least two scrapes and rule evaluations after the last answer.
        time.sleep(max(plan.tail_s, 2.5 * plan.scrape_interval_s))
        t1 = time.time()
        pulled = w.pull(t1)
        before, after = w.status_counts(t0), w.status_counts(t1)
        buckets = w.ttft_buckets(overload_started, drained)
        rules_text, version = w.rules_text, w.version
    ended_at = live.now_utc()
    statuses = {k: v - before.get(k, 0) for k, v in after.items()}
    errors = []
    if not any(o.outcome == "ok" for o in outcomes):
        errors.append(f"no request succeeded ({json.dumps(monitoring.outcome_counts(_requests(outcomes)))})")
    if server is not None and not server.alive():
        errors.append(f"the engine died during the run; its last log lines:\n{server.log_tail()}")
    if pulled["watcher_error"]:
        errors.append(f"polling /api/v1/alerts: {pulled['watcher_error']}")
    error = "; ".join(errors) or None
    phases = []
    for i, phase in enumerate(plan.phases()):
        started_s = 0.0 if i == 0 else plan.baseline_s
        phases.append({"name": phase.name, "request_rate_req_per_s": phase.rate_req_per_s,
                       "num_prompts": max(1, sum(1 for o in outcomes if o.phase == phase.name)),
                       "started_s": started_s, "ended_s": round(started_s + phase.duration_s, 3), "client_args": [],
                       "results": phase_results(outcomes, phase.name, started_s), "error": None})
    record: dict[str, Any] = {
        "schema_version": records.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "status": "failed" if error else "ok",
        "error": error,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "engine": engine_record(info),
        "hardware": {**hardware, "load_avg_1m": live._load_avg()},
        "model": model,
        "plan": dataclasses.asdict(plan),
        "policy": dataclasses.asdict(policy),
        "rules_yaml": rules_text,
        "prometheus": {"version": version, "scrape_interval_s": plan.scrape_interval_s,
                       "evaluation_interval_s": plan.scrape_interval_s},
        "probe": {"interval_s": spec.interval_s, "timeout_s": spec.timeout_s, "model": spec.model},
        "client": {"tool": loadgen.TOOL, "request_timeout_s": plan.request_timeout_s, "stream": True,
                   "prompt": "token ids" if token_ids else "words"},
        "phases": phases,
        "timeline": {"overload_started_s": round(plan.baseline_s, 3),
                     "overload_sending_ended_s": round(plan.baseline_s + plan.overload_s, 3),
                     "overload_drained_s": round(drained - t0, 3), "ended_s": round(t1 - t0, 3)},
        "series": pulled["series"],
        "alerts": pulled["alerts"],
        "alert_events": pulled["alert_events"],
        "http_status_counts": statuses,
        "requests": [o.to_json() for o in outcomes],
        "ttft_buckets": buckets,
    }
    return records.write_record(runs_dir, record), record


def _requests(outcomes: Sequence[loadgen.Outcome]) -> list[monitoring.ClientRequest]:
    return [monitoring.ClientRequest(o.phase, o.sent_s, o.first_token_s, o.ended_s, o.output_tok, o.outcome,
                                     o.http_status) for o in outcomes]


class GuardedServer(eng.VllmServer):
    """:class:`selfhost.live.engine.VllmServer` under :mod:`selfhost.live.guard`: the engine's whole
    process group dies with the harness, even when the harness is killed with SIGKILL."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", "selfhost.live.guard", "--parent", str(os.getpid()), "--", *super().command()]

    def api_server_pid(self) -> int | None:
        """The API server's pid: the guard's child."""
        if self.proc is None:
            return None
        children = guard.children(self.proc.pid)
        return children[0] if children else None


def engine_args(kv_blocks: int) -> list[str]:
    """The launched engine's extra flags: a KV cache of ``kv_blocks`` blocks."""
    return ["--num-gpu-blocks-override", str(kv_blocks)]


def launched_model(model_dir: Path) -> dict[str, Any]:
    """The model part of a record for the engine launched here."""
    return {"name": eng.SERVED_NAME_DEFAULT, "weights": "dummy (random; --load-format dummy)",
            "config": json.loads((model_dir / "config.json").read_text())}


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
    config = json.loads((model_dir / "config.json").read_text())
    port = engine_port or eng.free_port(PORTS.start, PORTS)
    server = GuardedServer(model_dir, port, prefix_caching=True, extra_args=engine_args(plan.kv_blocks), ports=PORTS,
                           log_dir=log_dir)
    with server as info:
        progress(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s "
                 f"(KV cache: {plan.kv_blocks} blocks)")
        prom_port = prometheus_port or eng.free_port(port + 1, PORTS)
        return run_overload(info, runs_dir, plan, policy, prometheus_port=prom_port,
                            hardware=live._hardware(None), model=launched_model(model_dir),
                            vocab_size=int(config["vocab_size"]), server=server, progress=progress)


def record_attached_overload(
    url: str,
    engine_name: str,
    runs_dir: Path,
    plan: OverloadPlan,
    policy: alertrules.AlertPolicy | None = None,
    *,
    model: str | None = None,
    hardware: str | None = None,
    prometheus_port: int | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any]]:
    """Overload a server the reader runs (an API key comes from ``$OPENAI_API_KEY`` only).

    Prompts are words (about one token each), since another engine's tokenizer is unknown here.
    """
    records.check_engine_name(engine_name)
    info = eng.attach(url, engine_name, model)
    progress(f"attached to {engine_name} {info.engine_version} at {info.base_url}, model {info.model_id}")
    return run_overload(info, runs_dir, plan, policy, prometheus_port=prometheus_port,
                        hardware=live._hardware(hardware),
                        model={"name": info.model_id, "weights": "as served", "config": None},
                        token_ids=False, progress=progress)
