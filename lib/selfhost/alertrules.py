"""Prometheus recording and alert rules for a vLLM server, generated from a team's targets (pure).

:class:`AlertPolicy` holds the targets a team sets (``ttft_slo_ms``: the time to first
token its users must get; ``error_ratio_max``: the share of requests that may fail) and
the few limits that are not targets; :func:`rules` turns it into a Prometheus rules
document and :func:`rules_yaml` into the text of ``monitoring/rules.yml``
(``selfhost monitor rules --ttft-slo-ms X`` writes it). Every threshold is one of those
targets or follows from one (:func:`thresholds`).

The rules select series by metric name, never by scrape job: they hold whatever the
team's job is called, and every alert keeps ``job`` and ``instance`` as labels. A target
counts as an engine when it exposed ``vllm:num_requests_running`` within
``target_memory_s``. They watch:

- **TTFT**: the ``ttft_quantile`` quantile of ``vllm:time_to_first_token_seconds`` over
  ``rate_window_s`` above the target.
- **Queue depth**: requests waiting divided by the rate at which the server finishes
  requests is how long a new request waits before its prefill starts (Little's law); the
  threshold is the TTFT target itself.
- **Throughput**: the queue growing, and no token generated over a rate window while
  requests are in the engine or still ending at the HTTP layer (a hung engine core
  freezes the engine's gauges at their last value, often 0 running, but clients' timeouts
  and the probe's requests still end).
- **KV cache usage** and **preemptions**.
- **Errors, counted once**: a non-streaming request the engine fails is both an HTTP 500
  and a ``finished_reason="error"`` finish; a streamed one is a 200 and an ``error``
  finish; a front-end failure is a 5xx alone. The error count is the larger of the two
  counts, so no failed request counts twice (it is a lower bound, at least half the true
  count, only when front-end 5xx and streamed engine errors happen in the same window).
- **Client aborts** (clients that gave up, often on a timeout: vLLM 0.32 counts a
  disconnected stream as a 2xx answer but records no finish for it, so aborts are the 2xx
  answers the engine did not finish, plus any ``finished_reason="abort"``) and **4xx
  answers**, each as a share of requests, against the same error budget.
- **Admission**: requests vLLM turned away with HTTP 503 because a queue limit
  (``--max-num-queued-reqs``, ``--max-num-queued-tokens``) was reached
  (``vllm:admission_rejections_total``).
- **Scrape, discovery and restarts**: an engine target whose scrapes fail (``up == 0``);
  one that vanished from service discovery (seen, but no ``up`` series any more); no
  engine at all (``absent()``); and a crash loop: the API server's
  ``process_start_time_seconds`` changed more than ``restarts_max_count`` times within
  ``restart_window_s``. A crash loop that is down 10 s of every 20 s never keeps
  ``up == 0`` for ``for_s``; the restart count and the probe's failure share hold for
  the whole window, so they do.
- **Probe**: a synthetic request (Prometheus' blackbox exporter, module
  :data:`PROBE_MODULE`, sends a one-token completion on a schedule;
  :mod:`selfhost.live.probe`). The share of failed probes over ``probe_window_s`` above
  the error budget, and a successful probe slower than the TTFT target.

References
----------
vLLM 0.32.0 metric names (``vllm/v1/metrics/loggers.py``; ``vllm:admission_rejections``
and the 503 answers in ``vllm/v1/engine/async_llm.py``, ``check_admission``; the error
finish converted to HTTP 500 in ``vllm/v1/engine/__init__.py``, ``FinishReason``);
``http_requests_total`` comes from prometheus-fastapi-instrumentator, which vLLM's API
server mounts (status codes grouped as ``2xx``, ``4xx``, ``5xx``);
``process_start_time_seconds`` from prometheus_client's process collector. Little, J. D.
C. (1961), "A proof for the queuing formula L = lambda W", Operations Research 9(3).
Prometheus rule syntax: prometheus.io/docs/prometheus/latest/configuration/recording_rules
and alerting_rules; the blackbox exporter: github.com/prometheus/blackbox_exporter
(CONFIGURATION.md, ``http`` prober with ``method``, ``body``, ``headers``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number

#: Recorded series (the names the alerts, the recorded runs and the pages use).
WAITING = "selfhost:vllm_requests_waiting"
RUNNING = "selfhost:vllm_requests_running"
KV_USAGE = "selfhost:vllm_kv_cache_usage_ratio"
TTFT_QUANTILE = "selfhost:vllm_ttft_quantile_seconds"
GENERATION_RATE = "selfhost:vllm_generation_tok_per_s"
FINISHED_RATE = "selfhost:vllm_requests_finished_per_s"
QUEUE_WAIT = "selfhost:vllm_queue_wait_estimate_seconds"
QUEUE_GROWTH = "selfhost:vllm_queue_growth_per_s"
PREEMPTION_RATE = "selfhost:vllm_preemptions_per_s"
REQUEST_RATE = "selfhost:vllm_http_requests_per_s"
ERROR_RATIO = "selfhost:vllm_request_error_ratio"
ABORT_RATIO = "selfhost:vllm_request_abort_ratio"
CLIENT_ERROR_RATIO = "selfhost:vllm_http_4xx_ratio"
ADMISSION_RATIO = "selfhost:vllm_admission_rejection_ratio"
HTTP_2XX_RATE = "selfhost:vllm_http_2xx_per_s"
ENGINE_SEEN = "selfhost:vllm_engine_seen"
RESTARTS = "selfhost:vllm_restarts_count"
PROBE_FAILURE_RATIO = "selfhost:probe_failure_ratio"
RECORDED = (WAITING, RUNNING, KV_USAGE, TTFT_QUANTILE, GENERATION_RATE, FINISHED_RATE, QUEUE_WAIT,
            QUEUE_GROWTH, PREEMPTION_RATE, REQUEST_RATE, ERROR_RATIO, HTTP_2XX_RATE, ABORT_RATIO,
            CLIENT_ERROR_RATIO, ADMISSION_RATIO, ENGINE_SEEN, RESTARTS, PROBE_FAILURE_RATIO)

#: The blackbox exporter module of the synthetic completion probe; the probe's scrape job
#: copies it into a ``module`` label, which the probe rules select.
PROBE_MODULE = "llm_completion"
#: The generation endpoints whose answers count as requests (``http_requests_total``'s ``handler``).
GENERATION_HANDLERS = "/v1/completions|/v1/chat/completions|/v1/responses"

#: Alert name -> the signal it watches (the article's four first, then the rest).
ALERTS: dict[str, str] = {
    "VllmTtftOverSlo": "TTFT",
    "VllmQueueWaitOverSlo": "queue depth",
    "VllmThroughputBelowDemand": "throughput",
    "VllmEngineStalled": "throughput",
    "VllmKvCacheNearlyFull": "KV cache usage",
    "VllmPreempting": "preemptions",
    "VllmErrorRate": "errors",
    "VllmClientAborts": "aborts",
    "VllmClientErrors": "4xx",
    "VllmAdmissionRejecting": "admission",
    "VllmMetricsDown": "scrape",
    "VllmEngineVanished": "discovery",
    "VllmEngineAbsent": "discovery",
    "VllmCrashLooping": "restarts",
    "VllmProbeFailing": "probe",
    "VllmProbeSlow": "probe",
}
#: The signals the article names.
ARTICLE_SIGNALS = ("TTFT", "throughput", "queue depth", "KV cache usage")
#: Every signal, in the order the pages list them.
SIGNAL_ORDER = tuple(dict.fromkeys(ALERTS.values()))


@dataclass(frozen=True)
class AlertPolicy:
    """A team's targets and limits, from which every threshold follows.

    Parameters
    ----------
    ttft_slo_ms : float
        Time to first token the users must get [ms]: the TTFT alert's threshold, the
        longest expected queue wait tolerated and the slowest probe tolerated.
    ttft_quantile : float
        Which quantile of TTFT must meet the target [1], e.g. 0.9 for p90.
    error_ratio_max : float
        Share of requests that may fail (the error budget) [1]: the threshold of the
        error, abort, 4xx, admission and probe-failure alerts.
    kv_cache_usage_max : float
        Share of the KV cache in use above which to warn [1].
    preemptions_max_per_s : float
        Preemptions tolerated [1/s] (0: any preemption warns).
    restarts_max_count : int
        Restarts of the engine tolerated within ``restart_window_s`` [count] (a deploy
        restarts once).
    rate_window_s : int
        Window of every ``rate()``, quantile and trend [s]; at least 4 scrape intervals.
    restart_window_s : int
        Window over which restarts are counted [s].
    probe_window_s : int
        Window over which the share of failed probes is taken [s]; it should hold at least
        ``1 / error_ratio_max`` probes for the share to be meaningful.
    target_memory_s : int
        A target counts as an engine for this long after it last exposed vLLM's metrics
        [s]: long enough to outlive an outage.
    for_s : int
        How long a condition must hold before its alert fires [s].
    """

    ttft_slo_ms: float = 500.0
    ttft_quantile: float = 0.9
    error_ratio_max: float = 0.01
    kv_cache_usage_max: float = 0.9
    preemptions_max_per_s: float = 0.0
    restarts_max_count: int = 1
    rate_window_s: int = 30
    restart_window_s: int = 300
    probe_window_s: int = 300
    target_memory_s: int = 3600
    for_s: int = 15

    def __post_init__(self) -> None:
        # Stored as floats, so that 800 and 800.0 give the same rules file.
        for name, bounds in (("ttft_slo_ms", {"gt": 0, "le": 86_400_000}), ("ttft_quantile", {"gt": 0, "lt": 1}),
                             ("error_ratio_max", {"ge": 0, "lt": 1}), ("kv_cache_usage_max", {"gt": 0, "le": 1}),
                             ("preemptions_max_per_s", {"ge": 0, "le": 1e6})):
            object.__setattr__(self, name, check_number(name, getattr(self, name), **bounds))
        for name, low in (("restarts_max_count", 0), ("rate_window_s", 2), ("restart_window_s", 2),
                          ("probe_window_s", 2), ("target_memory_s", 2), ("for_s", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParameterError(name, value, "a whole number" + (" of seconds" if name.endswith("_s") else ""))
            object.__setattr__(self, name, check_int(name, value, ge=low, le=30 * 86_400))
        if self.target_memory_s < self.restart_window_s:
            raise ParameterError("target_memory_s", self.target_memory_s,
                                 f"at least restart_window_s = {self.restart_window_s} s")

    @property
    def ttft_slo_s(self) -> float:
        """The target in seconds, as Prometheus measures time [s]."""
        return self.ttft_slo_ms / 1000.0

    @property
    def quantile_pct(self) -> str:
        """``p90`` for 0.9 (``p99.9`` for 0.999)."""
        return "p" + f"{self.ttft_quantile * 100:.10g}"

    @classmethod
    def from_record(cls, policy: dict[str, Any]) -> AlertPolicy:
        """The policy a recorded run stored (older records carry fewer fields, and a ``job``)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in policy.items() if k in known})


def thresholds(policy: AlertPolicy) -> dict[str, float]:
    """Each alert's threshold, in the unit its name carries, and where it comes from.

    >>> t = thresholds(AlertPolicy(ttft_slo_ms=800))
    >>> t["ttft_threshold_s"], t["queue_wait_threshold_s"], t["probe_duration_threshold_s"]
    (0.8, 0.8, 0.8)
    >>> thresholds(AlertPolicy(error_ratio_max=0.05))["abort_ratio_threshold_share"]
    0.05
    """
    budget = policy.error_ratio_max
    return {
        "ttft_threshold_s": policy.ttft_slo_s,
        "queue_wait_threshold_s": policy.ttft_slo_s,
        "probe_duration_threshold_s": policy.ttft_slo_s,
        "queue_growth_threshold_req_per_s": 0.0,
        "kv_cache_usage_threshold_share": policy.kv_cache_usage_max,
        "preemptions_threshold_per_s": policy.preemptions_max_per_s,
        "error_ratio_threshold_share": budget,
        "abort_ratio_threshold_share": budget,
        "client_error_ratio_threshold_share": budget,
        "admission_ratio_threshold_share": budget,
        "probe_failure_ratio_threshold_share": budget,
        "restarts_threshold_count": float(policy.restarts_max_count),
        "for_s": float(policy.for_s),
        "rate_window_s": float(policy.rate_window_s),
    }


def _num(x: float) -> str:
    """A threshold as PromQL writes it (no float noise).

    >>> _num(0.5), _num(2.0), _num(0.1 + 0.2)
    ('0.5', '2', '0.3')
    """
    if not math.isfinite(x):
        raise ParameterError("threshold", x, "a finite number")
    return f"{x:.12g}"


def _or_zero(expr: str, like: str) -> str:
    """``expr``, or 0 for every (job, instance) of ``like`` that ``expr`` lacks (a counter never incremented)."""
    return f"({expr} or on (job, instance) ({like} * 0))"


def rules(policy: AlertPolicy = AlertPolicy()) -> dict[str, Any]:
    """The rules document (Prometheus ``rule_files`` format) for ``policy``.

    Examples
    --------
    >>> doc = rules(AlertPolicy(ttft_slo_ms=250))
    >>> [g["name"] for g in doc["groups"]]
    ['selfhost-vllm-recording', 'selfhost-vllm-alerts']
    >>> next(r["expr"] for r in doc["groups"][1]["rules"] if r["alert"] == "VllmTtftOverSlo")
    'selfhost:vllm_ttft_quantile_seconds > 0.25'
    >>> any('job=' in r["expr"] for g in doc["groups"] for r in g["rules"])
    False
    """
    w = f"{policy.rate_window_s}s"
    by = "sum by (job, instance)"
    gen = f'handler=~"{GENERATION_HANDLERS}"'
    probe = f'module="{PROBE_MODULE}"'
    engine = f"on (job, instance) {ENGINE_SEEN}"

    def http_rate(status: str | None = None) -> str:
        sel = gen + (f', status="{status}"' if status else "")
        return f"{by} (rate(http_requests_total{{{sel}}}[{w}]))"

    def finishes(reason: str) -> str:
        return f'{by} (rate(vllm:request_success_total{{finished_reason="{reason}"}}[{w}]))'

    errors = (f'max by (job, instance) (label_replace({http_rate("5xx")}, "counted", "http_5xx", "", "")'
              f' or label_replace({finishes("error")}, "counted", "engine_error", "", ""))')
    recording = [
        (WAITING, f"{by} (vllm:num_requests_waiting)"),
        (RUNNING, f"{by} (vllm:num_requests_running)"),
        (KV_USAGE, "max by (job, instance) (vllm:kv_cache_usage_perc)"),
        (TTFT_QUANTILE, f"histogram_quantile({_num(policy.ttft_quantile)}, sum by (job, instance, le) "
                        f"(rate(vllm:time_to_first_token_seconds_bucket[{w}])))"),
        (GENERATION_RATE, f"{by} (rate(vllm:generation_tokens_total[{w}]))"),
        (FINISHED_RATE, f"{by} (rate(vllm:request_success_total[{w}]))"),
        # Little's law: the wait ahead of a new request; +Inf when nothing finishes, NaN when idle.
        (QUEUE_WAIT, f"{WAITING} / {FINISHED_RATE}"),
        (QUEUE_GROWTH, f"deriv({WAITING}[{w}])"),
        (PREEMPTION_RATE, f"{by} (rate(vllm:num_preemptions_total[{w}]))"),
        (REQUEST_RATE, http_rate()),
        # Counted once: the larger of the 5xx count and the engine's error finishes.
        (ERROR_RATIO, f"{_or_zero(errors, REQUEST_RATE)} / {REQUEST_RATE}"),
        (HTTP_2XX_RATE, http_rate("2xx")),
        # A client that disconnects gets its 200 counted when the stream ends, but vLLM 0.32
        # counts no engine finish for it: the 2xx answers the engine did not finish are aborts
        # (plus any the engine counts itself).
        # One request of slack: a stream's 200 is counted a moment after its engine finish, so the
        # two counters can differ by one request at a window's edge.
        (ABORT_RATIO, f"(clamp_min({HTTP_2XX_RATE} - {FINISHED_RATE} - 1 / {policy.rate_window_s}, 0)"
                      f" + {_or_zero(finishes('abort'), FINISHED_RATE)}) / {REQUEST_RATE}"),
        (CLIENT_ERROR_RATIO, f"{_or_zero(http_rate('4xx'), REQUEST_RATE)} / {REQUEST_RATE}"),
        (ADMISSION_RATIO, f"{_or_zero(f'{by} (rate(vllm:admission_rejections_total[{w}]))', REQUEST_RATE)}"
                          f" / {REQUEST_RATE}"),
        (ENGINE_SEEN, f"max by (job, instance) (max_over_time(vllm:num_requests_running[{policy.target_memory_s}s])"
                      " * 0 + 1)"),
        (RESTARTS, f"max by (job, instance) (changes(process_start_time_seconds[{policy.restart_window_s}s]))"
                   f" and {engine}"),
        (PROBE_FAILURE_RATIO, f"1 - avg_over_time(probe_success{{{probe}}}[{policy.probe_window_s}s])"),
    ]
    slo_ms = _num(policy.ttft_slo_ms)
    q = policy.quantile_pct
    t = thresholds(policy)
    budget = f"{policy.error_ratio_max:.1%}"
    alerts = [
        ("VllmTtftOverSlo", f"{TTFT_QUANTILE} > {_num(t['ttft_threshold_s'])}", "warning",
         f"{q} time to first token above the {slo_ms} ms target",
         f"{q} TTFT over the last {w} is {{{{ $value | humanizeDuration }}}} (target {slo_ms} ms)."),
        ("VllmQueueWaitOverSlo", f"{QUEUE_WAIT} > {_num(t['queue_wait_threshold_s'])}", "warning",
         f"requests queue longer than the {slo_ms} ms TTFT target",
         "At the current completion rate a new request waits about {{ $value | humanizeDuration }} "
         "before its prefill starts (requests waiting / requests finished per second)."),
        ("VllmThroughputBelowDemand", f"{QUEUE_GROWTH} > 0 and {WAITING} > 0", "warning",
         "requests arrive faster than the server finishes them",
         f"The waiting queue grew by {{{{ $value | humanize }}}} requests/s over the last {w}: "
         "demand exceeds throughput; add capacity or shed load."),
        # A hung engine core freezes the gauges at their last value (often 0 running), but
        # requests still end at the HTTP layer (timeouts, the probe): either shows demand.
        ("VllmEngineStalled", f"{GENERATION_RATE} == 0 and on (job, instance) (({RUNNING} + {WAITING}) > 0 "
                              f"or on (job, instance) {REQUEST_RATE} > 0)",
         "critical", "requests are in the engine or being answered but no token is generated",
         f"{{{{ $labels.instance }}}} generated no token over the last {w} while requests were running, waiting "
         "or ending: the engine is hung."),
        # Averaged: under pressure the gauge flaps (each preemption frees blocks), so an
        # instantaneous threshold with ``for`` never fires (seen in a trial overload here).
        ("VllmKvCacheNearlyFull", f"avg_over_time({KV_USAGE}[{w}]) > {_num(t['kv_cache_usage_threshold_share'])}",
         "warning", f"KV cache above {policy.kv_cache_usage_max:.0%} full",
         "{{ $value | humanizePercentage }} of the KV cache is in use; new requests will queue and "
         "running ones may be preempted."),
        ("VllmPreempting", f"{PREEMPTION_RATE} > {_num(t['preemptions_threshold_per_s'])}", "warning",
         "the engine preempts requests (KV cache exhausted)",
         "{{ $value | humanize }} preemptions/s: requests are evicted and recomputed."),
        ("VllmErrorRate", f"{ERROR_RATIO} > {_num(t['error_ratio_threshold_share'])}", "critical",
         f"more than {budget} of requests fail",
         "{{ $value | humanizePercentage }} of generation requests failed (HTTP 5xx or an engine error, "
         "each failed request counted once)."),
        ("VllmClientAborts", f"{ABORT_RATIO} > {_num(t['abort_ratio_threshold_share'])}", "warning",
         f"more than {budget} of requests are abandoned by their clients",
         "{{ $value | humanizePercentage }} of generation requests were abandoned by their client "
         "(a disconnect or a client timeout): users give up before the answer."),
        ("VllmClientErrors", f"{CLIENT_ERROR_RATIO} > {_num(t['client_error_ratio_threshold_share'])}", "warning",
         f"more than {budget} of requests are refused as invalid (HTTP 4xx)",
         "{{ $value | humanizePercentage }} of generation requests got a 4xx answer: a client or a deploy "
         "sends requests the server refuses (wrong model name, prompt too long, bad key)."),
        ("VllmAdmissionRejecting", f"{ADMISSION_RATIO} > {_num(t['admission_ratio_threshold_share'])}", "critical",
         "the engine turns requests away (HTTP 503, queue limit reached)",
         "{{ $value | humanizePercentage }} of generation requests were rejected at admission "
         "(--max-num-queued-reqs or --max-num-queued-tokens): the server is full."),
        ("VllmMetricsDown", f"up == 0 and {engine}", "critical",
         "the engine's /metrics cannot be scraped",
         "Prometheus cannot scrape {{ $labels.instance }}: the engine is down, hung or unreachable, and every "
         "other alert on it is blind."),
        ("VllmEngineVanished", f"{ENGINE_SEEN} unless on (job, instance) up", "critical",
         "an engine target vanished from service discovery",
         "{{ $labels.instance }} exposed vLLM's metrics within the last "
         f"{policy.target_memory_s}s but Prometheus no longer scrapes it: its discovery entry is gone."),
        ("VllmEngineAbsent", "absent(vllm:num_requests_running)", "critical",
         "no vLLM engine is being scraped",
         "No target exposes vllm:num_requests_running: every engine is down, gone from discovery, or was "
         "never scraped."),
        ("VllmCrashLooping", f"{RESTARTS} > {_num(t['restarts_threshold_count'])}", "critical",
         f"the engine restarted more than {policy.restarts_max_count} times in {policy.restart_window_s}s",
         "{{ $labels.instance }} restarted {{ $value }} times in the last "
         f"{policy.restart_window_s}s (process_start_time_seconds changed): it is crash-looping."),
        ("VllmProbeFailing", f"{PROBE_FAILURE_RATIO} > {_num(t['probe_failure_ratio_threshold_share'])}",
         "critical", f"more than {budget} of synthetic completion requests fail",
         "{{ $value | humanizePercentage }} of the probe's one-token completions to {{ $labels.instance }} "
         f"failed or timed out over the last {policy.probe_window_s}s."),
        ("VllmProbeSlow", f"probe_duration_seconds{{{probe}}} > {_num(t['probe_duration_threshold_s'])} "
                          f"and on (job, instance) probe_success{{{probe}}} == 1", "warning",
         f"a synthetic completion takes longer than the {slo_ms} ms TTFT target",
         "The probe's one-token completion to {{ $labels.instance }} took {{ $value | humanizeDuration }} "
         f"(target {slo_ms} ms)."),
    ]
    assert [a[0] for a in alerts] == list(ALERTS)
    return {"groups": [
        {"name": "selfhost-vllm-recording",
         "rules": [{"record": name, "expr": expr} for name, expr in recording]},
        {"name": "selfhost-vllm-alerts",
         "rules": [{"alert": name, "expr": expr, "for": f"{policy.for_s}s",
                    "labels": {"severity": severity, "signal": ALERTS[name]},
                    "annotations": {"summary": summary, "description": description}}
                   for name, expr, severity, summary, description in alerts]},
    ]}


#: The first line of every generated rules file: a file that starts otherwise is not one.
HEADER = "# Generated by `selfhost monitor rules` from lib/selfhost/alertrules.py; do not edit by hand."


def rules_yaml(policy: AlertPolicy = AlertPolicy()) -> str:
    """The rules file's text, with a header naming the policy that generated it.

    >>> rules_yaml().splitlines()[0] == HEADER
    True
    """
    import yaml

    header = [HEADER, "# Policy: " + ", ".join(f"{k}={v}" for k, v in asdict(policy).items()),
              "# Regenerate with your target: selfhost monitor rules --ttft-slo-ms 800 --out monitoring/rules.yml"]
    body = yaml.safe_dump(rules(policy), sort_keys=False, width=10_000, allow_unicode=True)
    return "\n".join(header) + "\n" + body


def alert_names(rules_text: str) -> list[str]:
    """The alert names a rules file defines, in order (records of older rules have other names).

    >>> alert_names(rules_yaml())[:2]
    ['VllmTtftOverSlo', 'VllmQueueWaitOverSlo']
    """
    import yaml

    doc = yaml.safe_load(rules_text) or {}
    return [r["alert"] for g in doc.get("groups", []) for r in g.get("rules", []) if "alert" in r]


@dataclass(frozen=True)
class Detection:
    """When an alert must fire after a failure begins, at the latest, for a policy and a set-up.

    ``bound_s`` is the sum of the delays named in ``why`` [s].
    """

    failure: str
    alertname: str
    bound_s: float
    why: str


def detection_bounds(policy: AlertPolicy, *, scrape_interval_s: float, probe_interval_s: float,
                     probe_timeout_s: float) -> list[Detection]:
    """The latest time each failure's first alert fires, from the rules' windows and delays.

    Prometheus notices a dead engine at its next scrape, evaluates the rules at the next
    evaluation (one scrape interval here), and fires after ``for_s``. The probe notices
    at its next run, after its timeout when the engine hangs. A hung engine core makes
    the generation rate 0 only once the whole rate window holds no new token. A crash loop
    is counted when the restarted process is scraped.

    >>> [(d.failure, d.alertname, d.bound_s) for d in detection_bounds(AlertPolicy(), scrape_interval_s=1,
    ...  probe_interval_s=2, probe_timeout_s=1.5)][:2]
    [('engine killed', 'VllmMetricsDown', 17.0), ('engine killed', 'VllmProbeFailing', 18.0)]
    """
    s, f, p = float(scrape_interval_s), float(policy.for_s), float(probe_interval_s)
    for name, value in (("scrape_interval_s", s), ("probe_interval_s", p), ("probe_timeout_s", probe_timeout_s)):
        check_number(name, value, gt=0, le=3600)
    wait = f"the for delay ({f:g}\u00a0s)"  # a no-break space: the number stays with its unit
    return [
        Detection("engine killed", "VllmMetricsDown", s + s + f, f"next scrape fails, next evaluation, {wait}"),
        Detection("engine killed", "VllmProbeFailing", p + s + f, f"next probe fails, next evaluation, {wait}"),
        Detection("engine hung", "VllmProbeFailing", p + probe_timeout_s + s + f,
                  f"next probe, its timeout, next evaluation, {wait}"),
        Detection("engine hung", "VllmEngineStalled", policy.rate_window_s + s + s + f,
                  f"a rate window with no token, next scrape and evaluation, {wait}"),
        Detection("crash loop", "VllmCrashLooping", s + s + f,
                  f"after restart {policy.restarts_max_count + 1}: its first scrape, next evaluation, {wait}"),
    ]
