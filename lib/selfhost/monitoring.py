"""What the monitored runs show (C14): overload and faults, as Prometheus and as the clients saw them (pure).

A recorded run (an overload, :mod:`selfhost.data.overload`; a fault run,
:mod:`selfhost.data.faults`) becomes a typed object here (:class:`OverloadRun`,
:class:`FaultRun`, built by ``from_record``): the series Prometheus recorded, each
alert's pending, firing and resolved times, the HTTP status counts and, for the runs made
with :mod:`selfhost.live.loadgen`, one :class:`ClientRequest` per request. These
functions turn them into tables (times in seconds since the overload or the fault began)
and decide the claim: does the server fail silently, and do the signals the article
names catch it?

Latency is read two ways and kept apart. **The client's truth**: percentiles of the
time to first token each client measured (:func:`client_ttft_ms`), a request that
timed out counting as slower than every answer. **Prometheus' reading**: a quantile of
vLLM's TTFT histogram, interpolated inside a bucket; vLLM's buckets are wide (80 s to
160 s, for one), so :func:`histogram_quantile` returns the bucket with the value, and the
overload's is read over the whole overload window, not as the peak of a 30 s window.

References
----------
Little, J. D. C. (1961), "A proof for the queuing formula L = lambda W", Operations
Research 9(3). Prometheus ``histogram_quantile`` (linear interpolation within the bucket,
prometheus/prometheus ``promql/quantile.go``). vLLM 0.32.0's TTFT buckets:
``vllm/v1/metrics/buckets.py``, ``TIME_TO_FIRST_TOKEN_BUCKETS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from selfhost import alertrules as ar
from selfhost.errors import DataError
from selfhost.params import check_number
from selfhost.robustness import Sensitivity, categorical, sensitivity
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE, Evidence, Verdict

#: How a client's request ended (:mod:`selfhost.live.loadgen`).
OUTCOMES = ("ok", "partial", "timeout", "error_event", "http_error", "reset", "refused")
#: Outcomes a client sees as an error (a timeout is a client giving up: the server said nothing).
ERROR_OUTCOMES = ("partial", "error_event", "http_error", "reset", "refused")
#: vLLM 0.32.0's default bucket bounds of ``vllm:time_to_first_token_seconds`` [s].
VLLM_TTFT_BUCKETS_S = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                       10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
#: Fault kinds, as the fault runs name them.
FAULT_KINDS = ("kill", "hang", "restart_loop")

#: Recorded series -> (label in tables and charts, unit).
SIGNALS: dict[str, tuple[str, str]] = {
    ar.WAITING: ("requests waiting", "requests"),
    ar.RUNNING: ("requests running", "requests"),
    ar.TTFT_QUANTILE: ("TTFT quantile", "s"),
    ar.QUEUE_WAIT: ("expected queue wait", "s"),
    ar.FINISHED_RATE: ("requests finished per second", "requests/s"),
    ar.HTTP_2XX_RATE: ("HTTP 2xx answers per second", "requests/s"),
    ar.GENERATION_RATE: ("tokens generated per second", "tok/s"),
    ar.KV_USAGE: ("KV cache in use", "share"),
    ar.PREEMPTION_RATE: ("preemptions per second", "1/s"),
    ar.ERROR_RATIO: ("error share", "share"),
    ar.QUEUE_GROWTH: ("queue growth", "requests/s"),
    ar.PROBE_FAILURE_RATIO: ("failed probes (share)", "share"),
    "up": ("scrape succeeded", "1"),
    "probe_success": ("probe succeeded", "1"),
    "probe_duration_seconds": ("probe duration", "s"),
}


def signal_of(alertname: str) -> str:
    """The signal an alert watches ('' for an unknown name).

    >>> signal_of("VllmTtftOverSlo"), signal_of("Other")
    ('TTFT', '')
    """
    return ar.ALERTS.get(alertname, "")


# --------------------------------------------------------------------------- typed runs


@dataclass(frozen=True)
class AlertSpan:
    """An alert's first pending and firing time and when it stopped firing [s since the run began]."""

    alertname: str
    signal: str
    severity: str
    pending_s: float | None
    firing_s: float | None
    resolved_s: float | None


@dataclass(frozen=True)
class AlertEvent:
    """A change of an alert's state seen by polling ``/api/v1/alerts`` [s since the run began]."""

    t_s: float
    alertname: str
    state: str


@dataclass(frozen=True)
class ClientRequest:
    """What one client saw [s since the run began]; ``outcome`` is one of :data:`OUTCOMES`."""

    phase: str
    sent_s: float
    first_token_s: float | None
    ended_s: float
    output_tok: int
    outcome: str
    http_status: int | None

    @property
    def ttft_ms(self) -> float | None:
        """Time to first token [ms]; None when no token came."""
        return None if self.first_token_s is None else (self.first_token_s - self.sent_s) * 1000.0


@dataclass(frozen=True)
class PhaseResult:
    """One phase of an overload: its arrival rate, requests, and the client's summary."""

    name: str
    rate_req_per_s: float
    requests_count: int
    started_s: float
    ended_s: float
    results: Mapping[str, Any]


@dataclass(frozen=True)
class Timeline:
    """When the overload began, stopped sending and drained, and when the run ended [s since it began]."""

    overload_started_s: float
    overload_sending_ended_s: float
    overload_drained_s: float
    ended_s: float


@dataclass(frozen=True)
class Buckets:
    """Cumulative histogram counts ``(upper bound [s], count)`` over a window [s since the run began]."""

    from_s: float
    to_s: float
    counts: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RunSetting:
    """What was watched, on what: engine, model, hardware, Prometheus, the rules' policy."""

    run_id: str
    started_at: str
    engine: str
    engine_version: str
    launched: bool
    model: str
    weights: str
    hardware: str
    load_avg_1m: float | None
    prometheus_version: str
    scrape_interval_s: float
    policy: ar.AlertPolicy
    alert_names: tuple[str, ...]
    probe_interval_s: float | None
    probe_timeout_s: float | None
    client_tool: str
    request_timeout_s: float | None

    def describe(self) -> str:
        """One phrase for a verdict's evidence: engine, version, model, hardware."""
        return (f"{self.engine} {self.engine_version.split(' (')[0]} ({'launched here' if self.launched else 'attached'}), "
                f"model {self.model} ({self.weights}), {self.hardware}; Prometheus "
                f"{self.prometheus_version.replace('prometheus, version ', '').split(' ')[0]} scraping every "
                f"{self.scrape_interval_s:g} s; run of {self.started_at[:16].replace('T', ' ')} UTC")


def _setting(record: Mapping[str, Any]) -> RunSetting:
    probe = record.get("probe") or {}
    client = record.get("client") or {}
    hw = record.get("hardware", {})
    return RunSetting(
        run_id=record["run_id"], started_at=record["started_at"], engine=record["engine"]["name"],
        engine_version=str(record["engine"].get("version", "unknown")), launched=bool(record["engine"].get("launched")),
        model=record["model"].get("name", "?"), weights=record["model"].get("weights", "as served"),
        hardware=hw.get("description", hw.get("kind", "?")), load_avg_1m=hw.get("load_avg_1m"),
        prometheus_version=record["prometheus"]["version"], scrape_interval_s=float(record["prometheus"]["scrape_interval_s"]),
        policy=ar.AlertPolicy.from_record(record["policy"]), alert_names=tuple(ar.alert_names(record["rules_yaml"])),
        probe_interval_s=probe.get("interval_s"), probe_timeout_s=probe.get("timeout_s"),
        client_tool=client.get("tool", "vllm.benchmarks.serve"), request_timeout_s=client.get("request_timeout_s"))


def _spans(record: Mapping[str, Any]) -> tuple[AlertSpan, ...]:
    return tuple(AlertSpan(a["alertname"], a.get("signal") or signal_of(a["alertname"]), a.get("severity", ""),
                           a.get("pending_s"), a.get("firing_s"), a.get("resolved_s")) for a in record["alerts"])


def _events(record: Mapping[str, Any]) -> tuple[AlertEvent, ...]:
    return tuple(AlertEvent(float(e["t_s"]), e["alertname"], e["state"]) for e in record["alert_events"])


def _requests(record: Mapping[str, Any]) -> tuple[ClientRequest, ...] | None:
    if "requests" not in record:
        return None
    return tuple(ClientRequest(r["phase"], float(r["sent_s"]), r.get("first_token_s"), float(r["ended_s"]),
                               int(r.get("output_tok", 0)), r["outcome"], r.get("http_status")) for r in record["requests"])


def _series(record: Mapping[str, Any]) -> dict[str, tuple[tuple[float, float], ...]]:
    return {name: tuple((float(t), math.nan if v is None else float(v)) for t, v in points)
            for name, points in record["series"].items()}


@dataclass(frozen=True)
class MonitoredRun:
    """What every monitored run holds: the setting, Prometheus' series and alerts, the clients' requests."""

    setting: RunSetting
    series: Mapping[str, tuple[tuple[float, float], ...]]
    alerts: tuple[AlertSpan, ...]
    alert_events: tuple[AlertEvent, ...]
    http_status_counts: Mapping[str, int]
    requests: tuple[ClientRequest, ...] | None
    status: str = "ok"
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def start_s(self) -> float:
        """The reference time of the tables (the overload's or the fault's start) [s since the run began]."""
        return 0.0


@dataclass(frozen=True)
class OverloadRun(MonitoredRun):
    """An overload run (``data/runs/overload/*.json``)."""

    phases: tuple[PhaseResult, ...] = ()
    timeline: Timeline = field(default_factory=lambda: Timeline(0.0, 0.0, 0.0, 0.0))
    ttft_buckets: Buckets | None = None
    kv_blocks: int | None = None

    @property
    def start_s(self) -> float:
        """The reference time of the tables: the overload's start [s since the run began]."""
        return self.timeline.overload_started_s

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> OverloadRun:
        """The typed run of a validated overload record (schema 1 or 2)."""
        tl = record["timeline"]
        buckets = record.get("ttft_buckets")
        return cls(
            setting=_setting(record), series=_series(record), alerts=_spans(record), alert_events=_events(record),
            http_status_counts=dict(record["http_status_counts"]), requests=_requests(record),
            status=record["status"], error=record.get("error"),
            phases=tuple(PhaseResult(p["name"], float(p["request_rate_req_per_s"]), int(p["num_prompts"]),
                                     float(p["started_s"]), float(p["ended_s"]), dict(p.get("results", {})))
                         for p in record["phases"]),
            timeline=Timeline(float(tl["overload_started_s"]), float(tl["overload_sending_ended_s"]),
                              float(tl["overload_drained_s"]), float(tl["ended_s"])),
            ttft_buckets=None if not buckets else Buckets(float(buckets["from_s"]), float(buckets["to_s"]),
                                                          tuple((float(le), float(c)) for le, c in buckets["counts"])),
            kv_blocks=record.get("plan", {}).get("kv_blocks"))


@dataclass(frozen=True)
class FaultEvent:
    """Something the fault run did to the engine (``kill``, ``stop``, ``cont``, ``up``) [s since the run began]."""

    t_s: float
    what: str


@dataclass(frozen=True)
class FaultRun(MonitoredRun):
    """A fault run (``data/runs/faults/*.json``): an engine killed, hung or crash-looping under load."""

    kind: str = "kill"
    fault_at_s: float = 0.0
    fault_ended_s: float | None = None
    ended_s: float = 0.0
    events: tuple[FaultEvent, ...] = ()

    @property
    def start_s(self) -> float:
        """The reference time of the tables: when the fault began [s since the run began]."""
        return self.fault_at_s

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FaultRun:
        """The typed run of a validated fault record."""
        tl = record["timeline"]
        return cls(
            setting=_setting(record), series=_series(record), alerts=_spans(record), alert_events=_events(record),
            http_status_counts=dict(record["http_status_counts"]), requests=_requests(record),
            status=record["status"], error=record.get("error"), kind=record["fault"]["kind"],
            fault_at_s=float(tl["fault_at_s"]), fault_ended_s=tl.get("fault_ended_s"), ended_s=float(tl["ended_s"]),
            events=tuple(FaultEvent(float(e["t_s"]), e["what"]) for e in record["fault"]["events"]))


# --------------------------------------------------------------------------- series and alerts


def series_frame(run: MonitoredRun) -> pd.DataFrame:
    """Every recorded series in long form: ``series``, ``label``, ``t_s`` (since the run
    began), ``t_after_s`` (since the overload or fault began; negative before) and
    ``value`` (NaN where Prometheus had NaN or +Inf)."""
    start = run.start_s
    rows = [{"series": name, "label": SIGNALS.get(name, (name, ""))[0], "t_s": t, "t_after_s": t - start, "value": v}
            for name, points in run.series.items() for t, v in points]
    return pd.DataFrame(rows, columns=["series", "label", "t_s", "t_after_s", "value"])


def firing_intervals(run: MonitoredRun, alertname: str) -> list[tuple[float, float | None]]:
    """When ``alertname`` fired, as (start, end or None if still firing) [s since the run began].

    From the alert states polled during the run; when there are none, from the first
    firing and resolution that ``ALERTS`` gave.
    """
    events = [e for e in run.alert_events if e.alertname == alertname]
    if not events:
        span = next((a for a in run.alerts if a.alertname == alertname), None)
        return [] if span is None or span.firing_s is None else [(span.firing_s, span.resolved_s)]
    out: list[tuple[float, float | None]] = []
    began: float | None = None
    for e in sorted(events, key=lambda e: e.t_s):
        if e.state == "firing" and began is None:
            began = e.t_s
        elif e.state != "firing" and began is not None:
            out.append((began, e.t_s))
            began = None
    if began is not None:
        out.append((began, None))
    return out


def alert_table(run: MonitoredRun) -> pd.DataFrame:
    """One row per alert of the run's rules file (those that never fired too), times since the
    overload or fault began [s].

    Columns: ``alertname``, ``signal``, ``severity``, ``article_signal`` (one of the four
    the article names), ``pending_after_s`` (first pending at or after the start),
    ``pending_ended_after_s`` (when that pending state ended: fired or cleared),
    ``fired_before`` (it was firing before the start: some other cause),
    ``firing_after_s`` (the first firing that began at or after the start; NaN: none),
    ``resolved_after_s`` (when that firing ended; NaN: still firing at the end, or never fired).
    """
    start = run.start_s
    spans = {a.alertname: a for a in run.alerts}
    names = list(run.setting.alert_names) or list(ar.ALERTS)
    names += [a.alertname for a in run.alerts if a.alertname not in names]
    pendings: dict[str, float] = {}
    for e in sorted(run.alert_events, key=lambda e: e.t_s):
        if e.state == "pending" and e.t_s >= start:
            pendings.setdefault(e.alertname, e.t_s)
    rows = []
    for name in names:
        span = spans.get(name)
        intervals = firing_intervals(run, name)
        after = [(b, e) for b, e in intervals if b >= start]
        if run.alert_events:
            pending = pendings.get(name)
            later = [e.t_s for e in run.alert_events if e.alertname == name and pending is not None and e.t_s > pending]
            pending_end = min(later) if later else None
        else:
            pending = span.pending_s if span else None
            pending_end = span.firing_s if span else None
        signal = signal_of(name) or (span.signal if span else "")
        rows.append({"alertname": name, "signal": signal, "severity": span.severity if span else "",
                     "article_signal": signal in ar.ARTICLE_SIGNALS,
                     "pending_after_s": math.nan if pending is None else pending - start,
                     "pending_ended_after_s": math.nan if pending_end is None else pending_end - start,
                     "fired_before": any(b < start for b, _ in intervals),
                     "firing_after_s": after[0][0] - start if after else math.nan,
                     "resolved_after_s": after[0][1] - start if after and after[0][1] is not None else math.nan})
    table = pd.DataFrame(rows)
    return table.sort_values(["firing_after_s", "pending_after_s", "alertname"], na_position="last").reset_index(drop=True)


def first_caught(table: pd.DataFrame, article_only: bool = False) -> tuple[list[str], float]:
    """The alert(s) that fired first after the start, and when [s]; ([], NaN) if none.

    Ties (alerts that fired at the same evaluation) are all returned.

    >>> t = pd.DataFrame({"alertname": ["A", "B", "C"], "signal": ["TTFT", "queue depth", "scrape"],
    ...                   "article_signal": [True, True, False], "firing_after_s": [22.0, 20.0, float("nan")]})
    >>> first_caught(t)
    (['B'], 20.0)
    """
    t = table[table["article_signal"]] if article_only else table
    fired = t[t["firing_after_s"].notna() & (t["firing_after_s"] >= 0)]
    if fired.empty:
        return [], math.nan
    first = float(fired["firing_after_s"].min())
    return sorted(fired[fired["firing_after_s"] == first]["alertname"]), first


def scrape_failures(run: MonitoredRun, lo_s: float, hi_s: float) -> int:
    """Scrapes of ``/metrics`` that failed (``up == 0``) between ``lo_s`` and ``hi_s`` [count]."""
    return sum(1 for t, v in run.series.get("up", ()) if lo_s <= t <= hi_s and v == 0)


def slope_per_s(t_s: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against ``t_s`` [unit of values per s] (NaN if < 2 points).

    >>> slope_per_s([0, 1, 2, 3], [1, 3, 5, 7])
    2.0
    """
    pts = [(float(t), float(v)) for t, v in zip(t_s, values) if not math.isnan(float(v))]
    if len(pts) < 2:
        return math.nan
    mt = sum(t for t, _ in pts) / len(pts)
    mv = sum(v for _, v in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return math.nan if den == 0 else sum((t - mt) * (v - mv) for t, v in pts) / den


def _values(run: MonitoredRun, name: str, lo: float, hi: float) -> list[tuple[float, float]]:
    return [(t, v) for t, v in run.series.get(name, ()) if lo <= t <= hi and not math.isnan(v)]


def _top(run: MonitoredRun, name: str, lo: float, hi: float) -> float:
    vals = [v for _, v in _values(run, name, lo, hi)]
    return max(vals) if vals else math.nan


def counter_increase(run: MonitoredRun, name: str) -> float:
    """Last minus first value of a raw counter over the run (NaN when not recorded)."""
    vals = [v for _, v in run.series.get(name, ()) if not math.isnan(v)]
    return vals[-1] - vals[0] if len(vals) >= 2 else math.nan


def simulated_firing_s(points: Sequence[tuple[float, float]], threshold: float, for_s: float,
                       after_s: float) -> float:
    """When an alert ``value > threshold`` held for ``for_s`` would first fire at or after ``after_s``,
    from a recorded series (NaN if never) [s].

    The recorded series is the rule's own input sampled at each evaluation, so this
    replays the rule at another threshold.

    >>> simulated_firing_s([(0, 0.1), (1, 0.6), (2, 0.7), (3, 0.8), (4, 0.9)], 0.5, 2, 0)
    3.0
    >>> simulated_firing_s([(0, 0.1), (1, 0.6)], 0.5, 5, 0)
    nan
    """
    began: float | None = None
    for t, v in points:
        if not math.isnan(v) and v > threshold:
            began = t if began is None else began
            if t - began >= for_s and t >= after_s:
                return float(t)
        else:
            began = None
    return math.nan


# --------------------------------------------------------------------------- the client's truth


def requests_frame(run: MonitoredRun) -> pd.DataFrame:
    """The clients' requests, one row each, times since the start [s]: ``phase``, ``sent_after_s``,
    ``ttft_ms`` (NaN: no token), ``e2e_ms``, ``output_tok``, ``outcome``, ``http_status``."""
    start = run.start_s
    rows = [{"phase": r.phase, "sent_after_s": r.sent_s - start,
             "ttft_ms": math.nan if r.ttft_ms is None else r.ttft_ms, "e2e_ms": (r.ended_s - r.sent_s) * 1000.0,
             "output_tok": r.output_tok, "outcome": r.outcome,
             "http_status": r.http_status} for r in (run.requests or ())]
    return pd.DataFrame(rows, columns=["phase", "sent_after_s", "ttft_ms", "e2e_ms", "output_tok", "outcome",
                                       "http_status"])


def client_ttft_ms(requests: Sequence[ClientRequest], quantile: float) -> float:
    """The ``quantile`` of TTFT over ``requests`` as the clients measured it [ms].

    A request that got no token (a timeout, an error) counts as slower than every answer:
    when they are more than ``1 - quantile`` of the requests the quantile is +Inf (beyond
    the client's patience). Linear interpolation between order statistics, as numpy's
    default. NaN when there is no request.

    >>> r = [ClientRequest("o", 0.0, s, s + 1, 1, "ok", 200) for s in (0.1, 0.2, 0.3, 0.4)]
    >>> round(client_ttft_ms(r, 0.5), 1)
    250.0
    >>> client_ttft_ms(r + [ClientRequest("o", 0.0, None, 9.0, 0, "timeout", None)] * 2, 0.9)
    inf
    """
    check_number("quantile", quantile, ge=0, le=1)
    values = sorted(math.inf if r.ttft_ms is None else r.ttft_ms for r in requests)
    if not values:
        return math.nan
    pos = quantile * (len(values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if math.isinf(values[hi]):
        return math.inf
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def outcome_counts(requests: Sequence[ClientRequest]) -> dict[str, int]:
    """How many requests ended each way (:data:`OUTCOMES`, zeros included).

    >>> outcome_counts([ClientRequest("o", 0, None, 1, 0, "timeout", None)])["timeout"]
    1
    """
    counts = dict.fromkeys(OUTCOMES, 0)
    for r in requests:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


@dataclass(frozen=True)
class BucketQuantile:
    """A quantile read from a histogram: the interpolated value and the bucket it lies in [s]."""

    value_s: float
    lower_s: float
    upper_s: float
    count: float


def histogram_quantile(q: float, counts: Sequence[tuple[float, float]]) -> BucketQuantile:
    """The ``q`` quantile of cumulative bucket ``counts`` as Prometheus interpolates it, with its bucket.

    >>> b = histogram_quantile(0.9, [(80.0, 50), (160.0, 100), (math.inf, 100)])
    >>> b.value_s, b.lower_s, b.upper_s
    (144.0, 80.0, 160.0)
    """
    check_number("q", q, ge=0, le=1)
    pts = sorted((float(le), float(c)) for le, c in counts)
    if not pts or pts[-1][1] <= 0:
        return BucketQuantile(math.nan, math.nan, math.nan, 0.0)
    total = pts[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, c in pts:
        if c >= rank:
            if math.isinf(le):  # the +Inf bucket: Prometheus returns the highest finite bound
                return BucketQuantile(lower, lower, math.inf, total)
            value = lower + (le - lower) * ((rank - below) / (c - below) if c > below else 0.0)
            return BucketQuantile(value, lower, le, total)
        lower, below = le, c
    return BucketQuantile(math.nan, math.nan, math.nan, total)


def bucket_of(value_s: float, bounds: Sequence[float] = VLLM_TTFT_BUCKETS_S) -> tuple[float, float]:
    """The histogram bucket ``(lower, upper]`` a value lies in [s].

    >>> bucket_of(143.0)
    (80.0, 160.0)
    """
    lower = 0.0
    for b in bounds:
        if value_s <= b:
            return lower, float(b)
        lower = float(b)
    return lower, math.inf


# --------------------------------------------------------------------------- the overload


@dataclass(frozen=True)
class OverloadSummary:
    """The figures the verdict needs, each with its unit in its name."""

    arrival_req_per_s: float
    baseline_req_per_s: float
    capacity_req_per_s: float
    overload_x: float
    requests_count: int
    http_2xx_share: float
    client_errors_count: int
    client_timeouts_count: int
    waiting_max_count: float
    waiting_growth_req_per_s: float
    client_ttft_quantile_overload_ms: float
    client_ttft_p99_overload_ms: float
    client_ttft_median_overload_ms: float
    prom_ttft_window_s: float
    prom_ttft_window_lower_s: float
    prom_ttft_window_upper_s: float
    prom_ttft_peak_s: float
    prom_ttft_peak_lower_s: float
    prom_ttft_peak_upper_s: float
    prom_ttft_baseline_peak_s: float
    kv_cache_usage_max_share: float
    preemptions_count: float
    ttft_slo_ms: float
    ttft_quantile: float
    sending_s: float
    drain_s: float
    overload_total_s: float
    scrape_failures_baseline_count: int
    scrape_failures_overload_count: int
    per_request_data: bool
    request_timeout_s: float


def _phase(run: OverloadRun, name: str) -> PhaseResult | None:
    return next((p for p in run.phases if p.name == name), None)


def summarize(run: OverloadRun) -> OverloadSummary:
    """The overload's key figures.

    Capacity is the highest completion rate Prometheus recorded during the overload; the
    queue's growth is the least-squares slope of the waiting count while the overload
    was sending. The client's TTFT quantiles come from its per-request data when the run
    has them, else from the benchmark client's own summary (older runs). Prometheus'
    TTFT is read over the whole overload window (start to drained) when the run kept the
    bucket counts, and as the peak of the rules' rate window otherwise, each with its
    bucket.
    """
    tl = run.timeline
    start, stop, drained = tl.overload_started_s, tl.overload_sending_ended_s, tl.overload_drained_s
    over, base = _phase(run, "overload"), _phase(run, "baseline")
    q = run.setting.policy.ttft_quantile
    arrival = over.rate_req_per_s if over else math.nan
    capacity = _top(run, ar.FINISHED_RATE, start, drained)
    waiting = _values(run, ar.WAITING, start, stop)
    statuses = run.http_status_counts
    total = sum(statuses.values())
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    if run.requests is not None:
        in_over = [r for r in run.requests if r.phase == "overload"]
        client_q, client_p99, client_p50 = (client_ttft_ms(in_over, x) for x in (q, 0.99, 0.5))
        errors = sum(1 for r in run.requests if r.outcome in ERROR_OUTCOMES)
        timeouts = sum(1 for r in run.requests if r.outcome == "timeout")
    else:
        res = over.results if over else {}

        def pct(key: str) -> float:
            v = res.get(key)
            return math.nan if v is None else float(v)

        client_q, client_p99, client_p50 = pct(f"p{q * 100:.0f}_ttft_ms"), pct("p99_ttft_ms"), pct("median_ttft_ms")
        errors = sum(int(p.results.get("failed", 0) or 0) for p in run.phases)
        timeouts = 0
    window = histogram_quantile(q, run.ttft_buckets.counts) if run.ttft_buckets else \
        BucketQuantile(math.nan, math.nan, math.nan, 0.0)
    peak = _top(run, ar.TTFT_QUANTILE, start, tl.ended_s)
    peak_lo, peak_hi = bucket_of(peak) if not math.isnan(peak) else (math.nan, math.nan)
    return OverloadSummary(
        arrival_req_per_s=arrival,
        baseline_req_per_s=base.rate_req_per_s if base else math.nan,
        capacity_req_per_s=capacity,
        overload_x=arrival / capacity if capacity and capacity > 0 else math.inf,
        requests_count=total,
        http_2xx_share=ok / total if total else math.nan,
        client_errors_count=errors,
        client_timeouts_count=timeouts,
        waiting_max_count=_top(run, ar.WAITING, 0, tl.ended_s),
        waiting_growth_req_per_s=slope_per_s([t for t, _ in waiting], [v for _, v in waiting]),
        client_ttft_quantile_overload_ms=client_q,
        client_ttft_p99_overload_ms=client_p99,
        client_ttft_median_overload_ms=client_p50,
        prom_ttft_window_s=window.value_s,
        prom_ttft_window_lower_s=window.lower_s,
        prom_ttft_window_upper_s=window.upper_s,
        prom_ttft_peak_s=peak,
        prom_ttft_peak_lower_s=peak_lo,
        prom_ttft_peak_upper_s=peak_hi,
        prom_ttft_baseline_peak_s=_top(run, ar.TTFT_QUANTILE, 0, start),
        kv_cache_usage_max_share=_top(run, ar.KV_USAGE, 0, tl.ended_s),
        preemptions_count=counter_increase(run, "vllm:num_preemptions_total"),
        ttft_slo_ms=run.setting.policy.ttft_slo_ms,
        ttft_quantile=q,
        sending_s=stop - start,
        drain_s=drained - stop,
        overload_total_s=drained - start,
        scrape_failures_baseline_count=scrape_failures(run, 0, start),
        scrape_failures_overload_count=scrape_failures(run, start, tl.ended_s),
        per_request_data=run.requests is not None,
        request_timeout_s=float(run.setting.request_timeout_s or math.inf),
    )


def latency_table(summary: OverloadSummary) -> pd.DataFrame:
    """TTFT during the overload three ways: the client's own percentiles, Prometheus over the
    overload window, and the peak of Prometheus' rate-window quantile; each with the range it
    can lie in (a client's value is exact; a histogram's lies somewhere in its bucket)."""
    q = f"p{summary.ttft_quantile * 100:.0f}"
    s = summary
    rows = [
        {"reading": f"client {q}, per request", "ttft_s": s.client_ttft_quantile_overload_ms / 1000,
         "lower_s": s.client_ttft_quantile_overload_ms / 1000, "upper_s": s.client_ttft_quantile_overload_ms / 1000},
        {"reading": "client p99, per request", "ttft_s": s.client_ttft_p99_overload_ms / 1000,
         "lower_s": s.client_ttft_p99_overload_ms / 1000, "upper_s": s.client_ttft_p99_overload_ms / 1000},
        {"reading": f"Prometheus {q} over the overload window", "ttft_s": s.prom_ttft_window_s,
         "lower_s": s.prom_ttft_window_lower_s, "upper_s": s.prom_ttft_window_upper_s},
        {"reading": f"Prometheus {q}, the peak of its rate-window series",
         "ttft_s": s.prom_ttft_peak_s, "lower_s": s.prom_ttft_peak_lower_s, "upper_s": s.prom_ttft_peak_upper_s},
    ]
    return pd.DataFrame(rows)


def signal_table(alerts: pd.DataFrame) -> pd.DataFrame:
    """Per signal (the article's four first): the alerts that watch it and when the first fired."""
    rows = []
    for signal in ar.SIGNAL_ORDER:
        sub = alerts[alerts["signal"] == signal]
        if sub.empty:
            continue
        fired = sub["firing_after_s"].dropna()
        rows.append({"signal": signal, "named_by_article": signal in ar.ARTICLE_SIGNALS,
                     "alerts": ", ".join(sub["alertname"]),
                     "first_firing_after_s": float(fired.min()) if not fired.empty else math.nan})
    return pd.DataFrame(rows)


def _decide_overload(s: OverloadSummary, first_s: float, *, min_2xx_share: float, max_detection_s: float) -> str:
    overloaded = s.overload_x > 1 and s.waiting_growth_req_per_s > 0
    degraded = s.client_ttft_quantile_overload_ms > s.ttft_slo_ms
    if not (overloaded and degraded):
        return UNTESTABLE
    loud = not (s.http_2xx_share >= min_2xx_share) or s.client_errors_count > (1 - min_2xx_share) * s.requests_count
    if loud:
        return FAILS
    return HOLDS if not math.isnan(first_s) and first_s <= max_detection_s else CONDITIONAL


def first_article_alert_at_slo_s(run: OverloadRun, ttft_slo_ms: float) -> float:
    """When the first alert on the article's signals would have fired after the overload began had
    the rules' TTFT target been ``ttft_slo_ms`` [s] (NaN: none would).

    The TTFT and queue-wait alerts are replayed on their recorded series at the new
    threshold; the other alerts on the article's signals do not depend on the target and
    keep their recorded times.
    """
    start, f = run.timeline.overload_started_s, run.setting.policy.for_s
    table = alert_table(run)
    others = table[table["article_signal"] & ~table["alertname"].isin(["VllmTtftOverSlo", "VllmQueueWaitOverSlo"])]
    times = [float(x) for x in others["firing_after_s"].dropna()]
    for name in (ar.TTFT_QUANTILE, ar.QUEUE_WAIT):
        t = simulated_firing_s(run.series.get(name, ()), ttft_slo_ms / 1000.0, f, start)
        if not math.isnan(t):
            times.append(t - start)
    return min(times) if times else math.nan


def c14_verdict(
    run: OverloadRun,
    *,
    min_2xx_share: float = 0.99,
    max_detection_s: float = 60.0,
    recordings: Mapping[str, OverloadRun] | None = None,
    faults: Sequence[FaultRun] = (),
) -> Verdict:
    """C14: "Monitor TTFT, throughput, queue depth, and KV cache usage from day one:
    self-hosted LLMs fail silently".

    Parameters
    ----------
    run : OverloadRun
        The recorded overload the verdict rests on.
    min_2xx_share : float
        Share of HTTP answers that must be 2xx for the failure to count as silent [1].
    max_detection_s : float
        An alert on one of the article's four signals must fire this soon after the
        overload began for the monitoring to count as catching it [s].
    recordings : mapping of label -> OverloadRun
        Every usable overload recording (``run`` among them), for the sensitivity to the
        recording.
    faults : sequence of FaultRun
        Recorded fault runs: their findings join the reason and the evidence.

    Decision: the run must overload the server (arrivals above the best completion rate
    and a growing queue) and break the TTFT target as the clients measured it, else
    UNTESTABLE; errors visible to clients (a 2xx share below ``min_2xx_share``, or as many
    client-side errors) make the failure loud: FAILS; silent and caught in time: HOLDS;
    silent but not caught in time: CONDITIONAL. A client that gave up (timeout) saw no
    error from the server: that is the silent failure itself.
    """
    check_number("min_2xx_share", min_2xx_share, gt=0, le=1)
    check_number("max_detection_s", max_detection_s, gt=0)
    if not run.ok:
        raise DataError(run.setting.run_id, f"the overload run failed ({run.error}); a failed run is not evidence")
    s = summarize(run)
    alerts = alert_table(run)
    names, first_s = first_caught(alerts, article_only=True)
    q = f"p{s.ttft_quantile * 100:.0f}"
    figures: dict[str, float | int | str] = {
        "http_2xx_share": s.http_2xx_share, "requests_count": s.requests_count, "overload_x": s.overload_x,
        "waiting_max_count": s.waiting_max_count, "client_ttft_quantile_overload_ms": s.client_ttft_quantile_overload_ms,
        "client_ttft_p99_overload_ms": s.client_ttft_p99_overload_ms, "ttft_slo_ms": s.ttft_slo_ms,
        "client_timeouts_count": s.client_timeouts_count,
    }
    if names:
        figures["first_alert_after_s"] = first_s
    figures = {k: v for k, v in figures.items() if not (isinstance(v, float) and not math.isfinite(v))}
    verdict = _decide_overload(s, first_s, min_2xx_share=min_2xx_share, max_detection_s=max_detection_s)
    evidence = [Evidence("live", f"an overload: {run.setting.describe()}; rules for a {s.ttft_slo_ms:.0f} ms {q} TTFT "
                                 f"target, {run.setting.policy.for_s} s for-delay")]
    fault_text = _fault_sentence(faults)
    if faults:
        evidence.append(Evidence("live", "fault runs (" + ", ".join(f.kind.replace("_", " ") for f in faults)
                                 + f"): {faults[0].setting.describe()}"))
    sens = _sensitivities(run, s, min_2xx_share=min_2xx_share, max_detection_s=max_detection_s, recordings=recordings)
    client_p = ("unknown" if math.isnan(s.client_ttft_quantile_overload_ms) else
                "beyond their timeout" if math.isinf(s.client_ttft_quantile_overload_ms) else
                f"{s.client_ttft_quantile_overload_ms / 1000:.0f} s")
    if verdict == UNTESTABLE:
        return Verdict("C14", UNTESTABLE,
                       f"The run did not overload the server (arrivals {s.arrival_req_per_s:.1f} req/s against a best "
                       f"{s.capacity_req_per_s:.1f} req/s finished; clients' {q} TTFT {client_p}).",
                       figures, would_test="an overload run with an arrival rate well above the server's capacity "
                                           "(make overload with a higher --overload-rate).",
                       evidence=tuple(evidence), sensitivity=sens)
    if verdict == FAILS:
        return Verdict("C14", FAILS,
                       f"The overload was not silent: only {s.http_2xx_share:.1%} of {s.requests_count:,} answers were "
                       f"2xx and {s.client_errors_count:,} requests failed at the client.", figures,
                       evidence=tuple(evidence), sensitivity=sens)
    gave_up = (f"; {s.client_timeouts_count:,} clients gave up after {s.request_timeout_s:.0f} s while the server still "
               "answered 200" if s.client_timeouts_count else "")
    silent = (f"All {s.requests_count:,} answers were HTTP 2xx ({s.http_2xx_share:.0%}) while the server received "
              f"{s.overload_x:.1f}x what it could finish: the queue grew by {s.waiting_growth_req_per_s:.1f} "
              f"requests/s to {s.waiting_max_count:,.0f} waiting and the clients' {q} TTFT was {client_p} against a "
              f"{s.ttft_slo_ms:.0f} ms target{gave_up}")
    if verdict == HOLDS:
        return Verdict("C14", HOLDS, f"{silent}; {' and '.join(names)} fired {first_s:.0f} s after the overload "
                                     f"began.{fault_text}", figures, evidence=tuple(evidence), sensitivity=sens)
    caught = f"the first alert on the article's signals fired after {first_s:.0f} s" if names else \
        "no alert on the article's signals fired"
    return Verdict("C14", CONDITIONAL, f"{silent}; {caught}.{fault_text}", figures,
                   conditions=(f"the failure is silent, but these rules caught it only after {max_detection_s:.0f} s "
                               "or not at all: shorten the rate window or the for delay",),
                   evidence=tuple(evidence), sensitivity=sens)


def _sensitivities(run: OverloadRun, s: OverloadSummary, *, min_2xx_share: float, max_detection_s: float,
                   recordings: Mapping[str, OverloadRun] | None) -> tuple[Sensitivity, ...]:
    first = first_caught(alert_table(run), article_only=True)[1]

    def at_slo(slo_ms: float) -> str:
        return _decide_overload(replace(s, ttft_slo_ms=slo_ms), first_article_alert_at_slo_s(run, slo_ms),
                                min_2xx_share=min_2xx_share, max_detection_s=max_detection_s)

    def at_detection(limit_s: float) -> str:
        return _decide_overload(s, first, min_2xx_share=min_2xx_share, max_detection_s=limit_s)

    def at_share(share: float) -> str:
        return _decide_overload(s, first, min_2xx_share=share, max_detection_s=max_detection_s)

    out = [
        sensitivity("ttft_slo_ms", at_slo, s.ttft_slo_ms, 200.0, 1000.0,
                    "the article's TTFT figures: a <200 ms requirement to 500 ms-1 s acceptable; the TTFT and "
                    "queue-wait alerts replayed on the recorded series", log=True, steps=12),
        sensitivity("max_detection_s", at_detection, max_detection_s, 10.0, 300.0,
                    "how soon a page must come: 10 s to 5 minutes (assumption)", log=True, steps=12),
        sensitivity("min_2xx_share", at_share, min_2xx_share, 0.9, 1.0,
                    "what counts as silent: 90% to 100% of answers 2xx (assumption)", steps=8),
    ]
    if recordings and len(recordings) > 1:
        label = next((k for k, v in recordings.items() if v.setting.run_id == run.setting.run_id), None)
        if label is not None:
            verdicts = {k: _decide_overload(summarize(v), first_caught(alert_table(v), article_only=True)[1],
                                            min_2xx_share=min_2xx_share, max_detection_s=max_detection_s)
                        for k, v in recordings.items()}
            out.append(categorical("recording", verdicts, label,
                                   f"the {len(recordings)} overload recordings in data/runs/overload/"))
    return tuple(out)


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class FaultSummary:
    """One fault run: the first alert after the fault began and what the clients saw."""

    kind: str
    first_alerts: tuple[str, ...]
    first_alert_after_s: float
    first_article_alerts: tuple[str, ...]
    first_article_alert_after_s: float
    requests_count: int
    outcomes_after: Mapping[str, int]
    http_2xx_share_after: float
    restarts_count: int
    fault_s: float


def fault_summary(run: FaultRun) -> FaultSummary:
    """The first alert after the fault, on any signal and on the article's four, and the clients'
    outcomes for the requests sent from the fault on."""
    table = alert_table(run)
    names, first = first_caught(table)
    art, art_s = first_caught(table, article_only=True)
    after = [r for r in (run.requests or ()) if r.ended_s >= run.fault_at_s]
    counts = outcome_counts(after)
    answered = sum(1 for r in after if r.http_status is not None)
    ok2xx = sum(1 for r in after if r.http_status is not None and 200 <= r.http_status < 300)
    ended = run.fault_ended_s if run.fault_ended_s is not None else run.ended_s
    return FaultSummary(run.kind, tuple(names), first, tuple(art), art_s, len(after), counts,
                        ok2xx / answered if answered else math.nan,
                        sum(1 for e in run.events if e.what == "up") - 1 if run.kind == "restart_loop" else 0,
                        ended - run.fault_at_s)


def fault_table(runs: Sequence[FaultRun]) -> pd.DataFrame:
    """One row per fault run: the first alert and when, the first on the article's signals, and
    what the clients whose requests ended after the fault saw (counts per outcome)."""
    rows = []
    for run in runs:
        s = fault_summary(run)
        rows.append({"fault": run.kind.replace("_", " "), "first_alert": ", ".join(s.first_alerts) or "none",
                     "first_alert_after_s": s.first_alert_after_s,
                     "first_article_alert": ", ".join(s.first_article_alerts) or "none",
                     "first_article_alert_after_s": s.first_article_alert_after_s,
                     "requests_count": s.requests_count,
                     **{f"{o}_count": s.outcomes_after.get(o, 0) for o in OUTCOMES}})
    return pd.DataFrame(rows)


def _fault_sentence(faults: Sequence[FaultRun]) -> str:
    if not faults:
        return ""
    parts = []
    for run in faults:
        s = fault_summary(run)
        first = f"{', '.join(s.first_alerts)} fired first, {s.first_alert_after_s:.0f} s in" if s.first_alerts \
            else "no alert fired"
        art = "" if s.first_article_alerts else "; none of the article's four signals alerted"
        parts.append(f"{run.kind.replace('_', ' ')}: {first}{art}")
    return " Fault runs: " + "; ".join(parts) + "."


def detection_table(policy: ar.AlertPolicy, *, scrape_interval_s: float, probe_interval_s: float,
                    probe_timeout_s: float, measured: Mapping[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """The latest time each failure's alert must fire (:func:`selfhost.alertrules.detection_bounds`),
    beside the time measured in a recorded fault run when there is one [s]."""
    rows = [{"failure": d.failure, "alertname": d.alertname, "bound_s": d.bound_s,
             "measured_s": (measured or {}).get((d.failure, d.alertname), math.nan), "delays": d.why}
            for d in ar.detection_bounds(policy, scrape_interval_s=scrape_interval_s,
                                         probe_interval_s=probe_interval_s, probe_timeout_s=probe_timeout_s)]
    return pd.DataFrame(rows)


FAILURE_OF_KIND = {"kill": "engine killed", "hang": "engine hung", "restart_loop": "crash loop"}


def measured_detection(runs: Sequence[FaultRun]) -> dict[tuple[str, str], float]:
    """(failure, alert) -> when it fired after the fault began in the recorded runs [s]."""
    out: dict[tuple[str, str], float] = {}
    for run in runs:
        table = alert_table(run).set_index("alertname")
        for name in table.index:
            t = float(table.loc[name, "firing_after_s"])
            if not math.isnan(t):
                out[(FAILURE_OF_KIND.get(run.kind, run.kind), name)] = t
    return out


def latest_by(runs: Sequence[Any], key: Callable[[Any], str]) -> list[Any]:
    """The last run of each ``key`` (runs are given oldest first)."""
    last: dict[str, Any] = {}
    for r in runs:
        last[key(r)] = r
    return list(last.values())


# --------------------------------------------------------------------------- the page's tables and figures

#: The fault runs' plan (``selfhost.live.faults.FaultPlan``): scrape and probe intervals and the
#: probe's timeout [s], used for the stated detection bounds before any fault run is recorded.
FAULT_PLAN_SCRAPE_INTERVAL_S = 1.0
FAULT_PLAN_PROBE_INTERVAL_S = 2.0
FAULT_PLAN_PROBE_TIMEOUT_S = 1.5


def phase_table(run: OverloadRun) -> pd.DataFrame:
    """One row per phase of an overload: arrival rate, requests, how many completed and failed,
    the client's median and p99 TTFT and the phase's length. From the client's per-request
    data when the run has them, else from the benchmark client's summary."""
    rows = []
    for p in run.phases:
        if run.requests is not None:
            mine = [r for r in run.requests if r.phase == p.name]
            completed: float | None = sum(1 for r in mine if r.outcome == "ok")
            failed: float | None = sum(1 for r in mine if r.outcome in ERROR_OUTCOMES)
            median, p99 = client_ttft_ms(mine, 0.5), client_ttft_ms(mine, 0.99)
        else:
            completed, failed = p.results.get("completed"), p.results.get("failed")
            median, p99 = p.results.get("median_ttft_ms", math.nan), p.results.get("p99_ttft_ms", math.nan)
        rows.append({"phase": p.name, "arrival_req_per_s": p.rate_req_per_s, "requests_count": p.requests_count,
                     "completed_count": completed, "failed_count": failed,
                     "median_ttft_ms": math.nan if median is None else float(median),
                     "p99_ttft_ms": math.nan if p99 is None else float(p99),
                     "duration_s": float(p.results.get("duration", p.ended_s - p.started_s))})
    return pd.DataFrame(rows)


def alert_rows(alerts: pd.DataFrame) -> pd.DataFrame:
    """:func:`alert_table` with the columns a reader needs (times in s since the start)."""
    return alerts.rename(columns={"article_signal": "article_signal_named"})[
        ["alertname", "signal", "article_signal_named", "fired_before", "pending_after_s", "firing_after_s",
         "resolved_after_s"]]


def _join(names: Sequence[str]) -> str:
    return " and ".join(names) if names else "no alert"


def overload_page_figures(run: OverloadRun, summary: OverloadSummary, alerts: pd.DataFrame) -> dict[str, Any]:
    """The figures and phrases the monitoring page cites about the overload (each a number or text)."""
    s = summary
    names, first_s = first_caught(alerts)
    art_names, art_s = first_caught(alerts, article_only=True)
    signal = alerts.set_index("alertname")["signal"]
    early = alerts[alerts["fired_before"]]
    silent = alerts[alerts["firing_after_s"].isna()]
    q = f"p{s.ttft_quantile * 100:.0f}"
    ttft_alert = alerts[alerts["signal"] == "TTFT"]["firing_after_s"].dropna()
    load = run.setting.load_avg_1m
    prom_window = ("The run kept no bucket counts over the overload window (an older record), so only the "
                   "rate-window series is shown." if math.isnan(s.prom_ttft_window_s) else
                   f"Over the whole overload window Prometheus reads {s.prom_ttft_window_s:,.1f} s, somewhere in "
                   f"the bucket from {s.prom_ttft_window_lower_s:g} s to {s.prom_ttft_window_upper_s:g} s.")
    return {
        **{k: getattr(s, k) for k in ("arrival_req_per_s", "baseline_req_per_s", "capacity_req_per_s", "overload_x",
                                      "sending_s", "drain_s", "overload_total_s", "ttft_slo_ms", "waiting_max_count",
                                      "waiting_growth_req_per_s", "kv_cache_usage_max_share", "preemptions_count",
                                      "http_2xx_share", "requests_count", "prom_ttft_peak_s", "prom_ttft_peak_lower_s",
                                      "prom_ttft_peak_upper_s", "prom_ttft_baseline_peak_s")},
        "client_ttft_quantile_overload_s": s.client_ttft_quantile_overload_ms / 1000,
        "client_ttft_p99_overload_s": s.client_ttft_p99_overload_ms / 1000,
        "client_ttft_median_overload_s": s.client_ttft_median_overload_ms / 1000,
        "ttft_quantile_label": q,
        "for_s": run.setting.policy.for_s,
        "rate_window_s": run.setting.policy.rate_window_s,
        "scrape_interval_s": run.setting.scrape_interval_s,
        "setting": run.setting.describe(),
        "client_tool": run.setting.client_tool,
        "load_note": "" if load is None else f"The machine's 1-minute load average at the end was {load:.1f}.",
        "kv_note": "" if run.kv_blocks is None else f"Its KV cache held {run.kv_blocks:,} blocks.",
        "baseline_note": (f"Already during the baseline {', '.join(early['alertname'])} fired: the same rules caught a "
                          "slow baseline, because the machine's cores are shared with other work; the tables count only "
                          "firings that began after the overload did." if not early.empty
                          else "Every alert stayed quiet during the baseline."),
        "scrape_note": (f"{s.scrape_failures_overload_count} of Prometheus' scrapes failed during and after the overload "
                        f"({s.scrape_failures_baseline_count} during the baseline)."
                        if s.scrape_failures_overload_count + s.scrape_failures_baseline_count
                        else "Every one of Prometheus' scrapes succeeded in this run."),
        "prom_window_note": prom_window,
        "first_alerts": _join(names),
        "first_alert_s": first_s,
        "first_signals": " and ".join(sorted({signal[n] for n in names})) if names else "none",
        "first_article_alerts": _join(art_names),
        "first_article_alert_s": art_s,
        "first_pending_s": float(alerts["pending_after_s"].min()),
        "ttft_alert_s": float(ttft_alert.min()) if not ttft_alert.empty else math.nan,
        "silent_alerts": ", ".join(silent["alertname"]) if not silent.empty else "none",
    }


def fault_detection(runs: Sequence[FaultRun], policy: ar.AlertPolicy | None = None) -> pd.DataFrame:
    """:func:`detection_table` for the fault runs: the bounds at the runs' own scrape and probe
    intervals (the fault plan's before any run is recorded), beside what the runs measured."""
    first = runs[0].setting if runs else None
    return detection_table(
        policy or (first.policy if first else ar.AlertPolicy()),
        scrape_interval_s=first.scrape_interval_s if first else FAULT_PLAN_SCRAPE_INTERVAL_S,
        probe_interval_s=(first.probe_interval_s if first and first.probe_interval_s else FAULT_PLAN_PROBE_INTERVAL_S),
        probe_timeout_s=(first.probe_timeout_s if first and first.probe_timeout_s else FAULT_PLAN_PROBE_TIMEOUT_S),
        measured=measured_detection(runs))


def fault_figures(runs: Sequence[FaultRun]) -> dict[str, Any]:
    """What the page says about the fault runs: how many are recorded, and one sentence."""
    return {"fault_runs_count": len(runs),
            "fault_note": (_fault_sentence(runs).strip() if runs else
                           "No fault run is recorded yet: the table gives only the latest time each alert must fire, "
                           "from the rules' windows and delays, which the promtool tests check second by second.")}
