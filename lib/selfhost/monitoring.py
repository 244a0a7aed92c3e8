"""What an overload run shows (C14): the signals over time, the alert timeline, the verdict (pure).

An overload record (:mod:`selfhost.overload`) holds the series Prometheus recorded, each
alert's pending, firing and resolved times, the HTTP status counts and the benchmark
client's results. These functions turn it into tables (times in seconds since the
overload began) and decide the claim: does the server fail silently when pushed past its
capacity, and do the four signals the article names catch it?

References
----------
Little, J. D. C. (1961), "A proof for the queuing formula L = lambda W", Operations
Research 9(3): a queue that receives ``lambda`` requests/s and finishes ``mu`` grows
by ``lambda - mu`` requests/s, without bound while ``lambda > mu``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from selfhost import alertrules as ar
from selfhost.params import check_number
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE, Verdict

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
}


def series_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """Every recorded series in long form: ``series``, ``label``, ``t_s`` (since the run
    began), ``t_overload_s`` (since the overload began; negative before) and ``value``
    (NaN where Prometheus had NaN or +Inf)."""
    start = record["timeline"]["overload_started_s"]
    rows = [{"series": name, "label": SIGNALS.get(name, (name, ""))[0], "t_s": t, "t_overload_s": t - start,
             "value": math.nan if v is None else float(v)}
            for name, points in record["series"].items() for t, v in points]
    return pd.DataFrame(rows, columns=["series", "label", "t_s", "t_overload_s", "value"])


def firing_intervals(record: Mapping[str, Any], alertname: str) -> list[tuple[float, float | None]]:
    """When ``alertname`` fired, as (start, end or None if still firing) [s since the run began].

    From the alert states polled during the run (``alert_events``); when there are none, from
    the first firing and resolution that ``ALERTS`` gave (``alerts``).
    """
    events = [e for e in record["alert_events"] if e["alertname"] == alertname]
    if not events:
        span = next((a for a in record["alerts"] if a["alertname"] == alertname), None)
        return [] if span is None or span["firing_s"] is None else [(span["firing_s"], span["resolved_s"])]
    out: list[tuple[float, float | None]] = []
    began: float | None = None
    for e in sorted(events, key=lambda e: e["t_s"]):
        if e["state"] == "firing" and began is None:
            began = e["t_s"]
        elif e["state"] != "firing" and began is not None:
            out.append((began, e["t_s"]))
            began = None
    if began is not None:
        out.append((began, None))
    return out


def alert_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per rule alert (those that never fired too), times since the overload began [s].

    Columns: ``alertname``, ``signal``, ``severity``, ``article_signal`` (one of the four
    the article names), ``pending_after_s`` (first pending at or after the overload's
    start), ``pending_ended_after_s`` (when that pending state ended: fired or cleared),
    ``fired_before_overload`` (it was firing before the overload began: some
    other cause), ``firing_after_s`` (the first firing that began at or after the
    overload's start; NaN: none), ``resolved_after_s`` (when that firing ended; NaN: still
    firing when the run ended, or never fired).
    """
    start = record["timeline"]["overload_started_s"]
    by_name = {a["alertname"]: a for a in record["alerts"]}
    pendings: dict[str, float] = {}
    for e in sorted(record["alert_events"], key=lambda e: e["t_s"]):
        if e["state"] == "pending" and e["t_s"] >= start:
            pendings.setdefault(e["alertname"], e["t_s"])
    rows = []
    for name, signal in ar.ALERTS.items():
        a = by_name.get(name, {})
        intervals = firing_intervals(record, name)
        after = [(b, e) for b, e in intervals if b >= start]
        pending = pendings.get(name, a.get("pending_s") if not record["alert_events"] else None)
        later = [e["t_s"] for e in record["alert_events"]
                 if e["alertname"] == name and pending is not None and e["t_s"] > pending]
        pending_end = min(later) if later else (a.get("firing_s") if not record["alert_events"] else None)
        rows.append({"alertname": name, "signal": signal, "severity": a.get("severity", ""),
                     "article_signal": signal in ar.ARTICLE_SIGNALS,
                     "pending_after_s": math.nan if pending is None else pending - start,
                     "pending_ended_after_s": math.nan if pending_end is None else pending_end - start,
                     "fired_before_overload": any(b < start for b, _ in intervals),
                     "firing_after_s": after[0][0] - start if after else math.nan,
                     "resolved_after_s": after[0][1] - start if after and after[0][1] is not None else math.nan})
    table = pd.DataFrame(rows)
    return table.sort_values(["firing_after_s", "pending_after_s", "alertname"], na_position="last").reset_index(drop=True)


def scrape_failures(record: Mapping[str, Any], lo_s: float, hi_s: float) -> int:
    """Scrapes of ``/metrics`` that failed (``up == 0``) between ``lo_s`` and ``hi_s`` [count]."""
    return sum(1 for t, v in record["series"].get("up", []) if lo_s <= t <= hi_s and v == 0)


def first_caught(table: pd.DataFrame, article_only: bool = False) -> tuple[list[str], float]:
    """The alert(s) that fired first after the overload began, and when [s]; ([], NaN) if none.

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


def slope_per_s(t_s: Sequence[float], values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against ``t_s`` [unit of values per s] (NaN if < 2 points).

    >>> slope_per_s([0, 1, 2, 3], [1, 3, 5, 7])
    2.0
    """
    pts = [(float(t), float(v)) for t, v in zip(t_s, values) if not (math.isnan(float(v)))]
    if len(pts) < 2:
        return math.nan
    mt = sum(t for t, _ in pts) / len(pts)
    mv = sum(v for _, v in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return math.nan if den == 0 else sum((t - mt) * (v - mv) for t, v in pts) / den


def counter_increase(frame: pd.DataFrame, name: str) -> float:
    """Last minus first value of a raw counter over the run (NaN when not recorded).

    >>> counter_increase(pd.DataFrame({"series": ["c", "c", "c"], "t_s": [0, 1, 2], "value": [4.0, 5.0, 9.0]}), "c")
    5.0
    """
    v = frame[frame["series"] == name].dropna(subset=["value"]).sort_values("t_s")["value"]
    return float(v.iloc[-1] - v.iloc[0]) if len(v) >= 2 else math.nan


@dataclass(frozen=True)
class OverloadSummary:
    """The figures the verdict needs, each with its unit in its name."""

    arrival_req_per_s: float
    baseline_req_per_s: float
    capacity_req_per_s: float
    overload_x: float
    requests_count: int
    http_2xx_share: float
    client_failed_count: int
    waiting_max_count: float
    waiting_growth_req_per_s: float
    ttft_baseline_max_s: float
    ttft_overload_max_s: float
    client_ttft_p99_overload_ms: float
    kv_cache_usage_max_share: float
    preemptions_count: float
    ttft_slo_ms: float
    ttft_quantile: float
    sending_s: float
    drain_s: float
    scrape_failures_baseline_count: int
    scrape_failures_overload_count: int


def summarize(record: Mapping[str, Any]) -> OverloadSummary:
    """The overload's key figures from its record.

    Capacity is the highest completion rate Prometheus recorded during the overload (the
    server's best); the queue's growth is the least-squares slope of the waiting count
    while the overload was sending.
    """
    tl = record["timeline"]
    frame = series_frame(record)
    start, stop = tl["overload_started_s"], tl["overload_sending_ended_s"]

    def values(name: str, lo: float, hi: float) -> pd.DataFrame:
        f = frame[(frame["series"] == name) & (frame["t_s"] >= lo) & (frame["t_s"] <= hi)]
        return f.dropna(subset=["value"])

    def top(name: str, lo: float, hi: float) -> float:
        v = values(name, lo, hi)["value"]
        return float(v.max()) if not v.empty else math.nan

    phases = {p["name"]: p for p in record["phases"]}
    over, base = phases.get("overload", {}), phases.get("baseline", {})
    arrival = float(over.get("request_rate_req_per_s", math.nan))
    capacity = top(ar.FINISHED_RATE, start, tl["overload_drained_s"])
    waiting = values(ar.WAITING, start, stop)
    statuses = record["http_status_counts"]
    total = sum(statuses.values())
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return OverloadSummary(
        arrival_req_per_s=arrival,
        baseline_req_per_s=float(base.get("request_rate_req_per_s", math.nan)),
        capacity_req_per_s=capacity,
        overload_x=arrival / capacity if capacity and capacity > 0 else math.inf,
        requests_count=total,
        http_2xx_share=ok / total if total else math.nan,
        client_failed_count=sum(int(p["results"].get("failed", 0) or 0) for p in record["phases"]),
        waiting_max_count=top(ar.WAITING, 0, tl["ended_s"]),
        waiting_growth_req_per_s=slope_per_s(waiting["t_s"], waiting["value"]),
        ttft_baseline_max_s=top(ar.TTFT_QUANTILE, 0, start),
        ttft_overload_max_s=top(ar.TTFT_QUANTILE, start, tl["ended_s"]),
        client_ttft_p99_overload_ms=float(over.get("results", {}).get("p99_ttft_ms") or math.nan),
        kv_cache_usage_max_share=top(ar.KV_USAGE, 0, tl["ended_s"]),
        preemptions_count=counter_increase(frame, "vllm:num_preemptions_total"),
        ttft_slo_ms=float(record["policy"]["ttft_slo_ms"]),
        ttft_quantile=float(record["policy"].get("ttft_quantile", 0.9)),
        sending_s=stop - start,
        drain_s=tl["overload_drained_s"] - stop,
        scrape_failures_baseline_count=scrape_failures(record, 0, start),
        scrape_failures_overload_count=scrape_failures(record, start, tl["ended_s"]),
    )


def signal_table(summary: OverloadSummary, alerts: pd.DataFrame) -> pd.DataFrame:
    """Per signal the article names (and the others): the alert that watches it and when it fired."""
    rows = []
    for signal in (*ar.ARTICLE_SIGNALS, "preemptions", "errors", "scrape"):
        sub = alerts[alerts["signal"] == signal]
        fired = sub["firing_after_s"].dropna()
        rows.append({"signal": signal, "named_by_article": signal in ar.ARTICLE_SIGNALS,
                     "alerts": ", ".join(sub["alertname"]),
                     "first_firing_after_s": float(fired.min()) if not fired.empty else math.nan})
    return pd.DataFrame(rows)


def c14_verdict(
    summary: OverloadSummary,
    alerts: pd.DataFrame,
    *,
    min_2xx_share: float = 0.99,
    max_detection_s: float = 60.0,
) -> Verdict:
    """C14: "Monitor TTFT, throughput, queue depth, and KV cache usage from day one:
    self-hosted LLMs fail silently".

    Parameters
    ----------
    summary : OverloadSummary
        The recorded overload (:func:`summarize`).
    alerts : pandas.DataFrame
        :func:`alert_table`.
    min_2xx_share : float
        Share of HTTP answers that must be 2xx for the failure to count as silent [1].
    max_detection_s : float
        An alert on one of the article's four signals must fire this soon after the
        overload began for the monitoring to count as catching it [s].

    Decision: the run must overload the server (arrivals above the best completion rate
    and a growing queue) and break the TTFT target, else UNTESTABLE; errors visible to
    clients (2xx share below ``min_2xx_share``) make the failure loud: FAILS; silent and
    caught in time: HOLDS; silent but not caught in time: CONDITIONAL.
    """
    check_number("min_2xx_share", min_2xx_share, gt=0, le=1)
    check_number("max_detection_s", max_detection_s, gt=0)
    s = summary
    names, first_s = first_caught(alerts, article_only=True)
    q = f"p{s.ttft_quantile * 100:.0f}"
    figures: dict[str, float | int | str] = {
        "http_2xx_share": s.http_2xx_share, "requests_count": s.requests_count, "overload_x": s.overload_x,
        "waiting_max_count": s.waiting_max_count, "ttft_overload_max_s": s.ttft_overload_max_s,
        "ttft_slo_ms": s.ttft_slo_ms,
    }
    if names:
        figures["first_alert_after_s"] = first_s
    figures = {k: v for k, v in figures.items() if not (isinstance(v, float) and not math.isfinite(v))}
    overloaded = s.overload_x > 1 and s.waiting_growth_req_per_s > 0
    degraded = s.ttft_overload_max_s * 1000 > s.ttft_slo_ms
    if not (overloaded and degraded):
        return Verdict("C14", UNTESTABLE,
                       f"The run did not overload the server (arrivals {s.arrival_req_per_s:.1f} req/s against a best "
                       f"{s.capacity_req_per_s:.1f} req/s finished; {q} TTFT at most {s.ttft_overload_max_s:.2f} s).",
                       figures, would_test="an overload run with an arrival rate well above the server's capacity "
                                           "(make overload with a higher --overload-rate)")
    if not (s.http_2xx_share >= min_2xx_share and s.client_failed_count == 0):
        return Verdict("C14", FAILS,
                       f"The overload was not silent: only {s.http_2xx_share:.1%} of {s.requests_count} answers were "
                       f"2xx and {s.client_failed_count} requests failed at the client.", figures)
    silent = (f"All {s.requests_count} answers were HTTP 2xx ({s.http_2xx_share:.0%}) while the server received "
              f"{s.overload_x:.1f}x what it could finish: the queue grew by {s.waiting_growth_req_per_s:.1f} "
              f"requests/s to {s.waiting_max_count:.0f} waiting and {q} TTFT reached {s.ttft_overload_max_s:.0f} s "
              f"against a {s.ttft_slo_ms:.0f} ms target")
    if names and first_s <= max_detection_s:
        return Verdict("C14", HOLDS, f"{silent}; {' and '.join(names)} fired {first_s:.0f} s after the overload "
                                     f"began.", figures)
    caught = f"the first alert on the article's signals fired after {first_s:.0f} s" if names else \
        "no alert on the article's signals fired"
    return Verdict("C14", CONDITIONAL, f"{silent}; {caught}.", figures,
                   conditions=(f"the failure is silent, but these rules caught it only after {max_detection_s:.0f} s "
                               "or not at all: shorten the rate window or the for delay",))
