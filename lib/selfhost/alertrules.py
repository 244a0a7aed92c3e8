"""Prometheus recording and alert rules for a vLLM server, generated from a latency target (pure).

:class:`AlertPolicy` holds the target a team sets (``ttft_slo_ms``: the time to first
token its users must get) and the few capacity limits that are not latencies;
:func:`rules` turns it into a Prometheus rules document and :func:`rules_yaml` into the
text of ``monitoring/rules.yml`` (``selfhost monitor rules --ttft-slo-ms X`` writes it).

The rules watch the four signals the article names, plus preemptions, errors and the
scrape itself:

- **TTFT**: the ``ttft_quantile`` quantile of ``vllm:time_to_first_token_seconds`` over
  ``rate_window_s`` above the target.
- **Queue depth**: requests waiting (``vllm:num_requests_waiting``) divided by the rate
  at which the server finishes requests is how long a new request will wait before its
  prefill starts (Little's law). A queue whose expected wait exceeds the TTFT target
  breaks the target for every request behind it, so the threshold is the target itself,
  and it scales with the server's measured capacity instead of a fixed depth.
- **Throughput**: the queue growing (demand above what the server completes) and
  generation stopping while work is queued (a stalled engine).
- **KV cache usage**: ``vllm:kv_cache_usage_perc`` (0-1), averaged over the window (it
  flaps under pressure: every preemption frees blocks), above ``kv_cache_usage_max``;
  **preemptions** (``vllm:num_preemptions_total``) above ``preemptions_max_per_s``.
- **Errors**: HTTP 5xx answers to ``/v1/*`` plus requests the engine finished with reason
  ``error`` (a streamed answer that breaks off after its 200), as a share of ``/v1/*``
  requests.
- **Scrape**: ``up == 0``: when the engine dies its metrics vanish, and every other rule
  goes quiet with them.

References
----------
vLLM 0.32.0 metric names (``vllm/v1/metrics/loggers.py``; the project's shared/SOURCES.md,
"C14"); ``http_requests_total`` comes from prometheus-fastapi-instrumentator, which vLLM's
API server mounts. Little, J. D. C. (1961), "A proof for the queuing formula L = lambda W",
Operations Research 9(3). Prometheus rule syntax: prometheus.io/docs/prometheus/latest/
configuration/recording_rules and alerting_rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from selfhost.params import check_number

#: Recorded series (the names the alerts, the overload run and the notebook use).
WAITING = "selfhost:vllm_requests_waiting"
RUNNING = "selfhost:vllm_requests_running"
KV_USAGE = "selfhost:vllm_kv_cache_usage_ratio"
TTFT_QUANTILE = "selfhost:vllm_ttft_quantile_seconds"
GENERATION_RATE = "selfhost:vllm_generation_tok_per_s"
FINISHED_RATE = "selfhost:vllm_requests_finished_per_s"
QUEUE_WAIT = "selfhost:vllm_queue_wait_estimate_seconds"
QUEUE_GROWTH = "selfhost:vllm_queue_growth_per_s"
PREEMPTION_RATE = "selfhost:vllm_preemptions_per_s"
ERROR_RATIO = "selfhost:vllm_request_error_ratio"
HTTP_2XX_RATE = "selfhost:vllm_http_2xx_per_s"
RECORDED = (WAITING, RUNNING, KV_USAGE, TTFT_QUANTILE, GENERATION_RATE, FINISHED_RATE, QUEUE_WAIT,
            QUEUE_GROWTH, PREEMPTION_RATE, ERROR_RATIO, HTTP_2XX_RATE)

#: Alert name -> the signal it watches (the article's four, then the rest).
ALERTS: dict[str, str] = {
    "VllmTtftOverSlo": "TTFT",
    "VllmQueueWaitOverSlo": "queue depth",
    "VllmThroughputBelowDemand": "throughput",
    "VllmEngineStalled": "throughput",
    "VllmKvCacheNearlyFull": "KV cache usage",
    "VllmPreempting": "preemptions",
    "VllmErrorRate": "errors",
    "VllmMetricsDown": "scrape",
}
#: The signals the article names.
ARTICLE_SIGNALS = ("TTFT", "throughput", "queue depth", "KV cache usage")


@dataclass(frozen=True)
class AlertPolicy:
    """A team's latency target and limits, from which every threshold follows.

    Parameters
    ----------
    ttft_slo_ms : float
        Time to first token the users must get [ms]: the TTFT alert's threshold and the
        longest expected queue wait tolerated.
    ttft_quantile : float
        Which quantile of TTFT must meet the target [1], e.g. 0.9 for p90.
    kv_cache_usage_max : float
        Share of the KV cache in use above which to warn [1].
    error_ratio_max : float
        Share of requests that may fail before an alert [1].
    preemptions_max_per_s : float
        Preemptions tolerated [1/s] (0: any preemption warns).
    rate_window_s : int
        Window of every ``rate()``, quantile and trend [s]; at least 4 scrape intervals.
    for_s : int
        How long a condition must hold before its alert fires [s].
    job : str
        The Prometheus job that scrapes the engine.
    """

    ttft_slo_ms: float = 500.0
    ttft_quantile: float = 0.9
    kv_cache_usage_max: float = 0.9
    error_ratio_max: float = 0.01
    preemptions_max_per_s: float = 0.0
    rate_window_s: int = 30
    for_s: int = 15
    job: str = "vllm"

    def __post_init__(self) -> None:
        # Stored as floats, so that 800 and 800.0 give the same rules file.
        for name, bounds in (("ttft_slo_ms", {"gt": 0}), ("ttft_quantile", {"gt": 0, "lt": 1}),
                             ("kv_cache_usage_max", {"gt": 0, "le": 1}), ("error_ratio_max", {"ge": 0, "lt": 1}),
                             ("preemptions_max_per_s", {"ge": 0})):
            object.__setattr__(self, name, check_number(name, getattr(self, name), **bounds))
        for name in ("rate_window_s", "for_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                from selfhost.errors import ParameterError

                raise ParameterError(name, value, "a whole number of seconds")
        check_number("rate_window_s", self.rate_window_s, ge=2)
        check_number("for_s", self.for_s, ge=0)
        if not self.job or not self.job.replace("_", "").replace("-", "").isalnum():
            from selfhost.errors import ParameterError

            raise ParameterError("job", self.job, "a Prometheus job name (letters, digits, _ and -)")

    @property
    def ttft_slo_s(self) -> float:
        """The target in seconds, as Prometheus measures time [s]."""
        return self.ttft_slo_ms / 1000.0

    @property
    def quantile_pct(self) -> str:
        """``p90`` for 0.9 (``p99.9`` for 0.999)."""
        return "p" + f"{self.ttft_quantile * 100:.10g}"


def thresholds(policy: AlertPolicy) -> dict[str, float]:
    """Each alert's threshold, in the unit its name carries.

    >>> thresholds(AlertPolicy(ttft_slo_ms=800))["ttft_threshold_s"]
    0.8
    >>> thresholds(AlertPolicy(ttft_slo_ms=800))["queue_wait_threshold_s"]
    0.8
    """
    return {
        "ttft_threshold_s": policy.ttft_slo_s,
        "queue_wait_threshold_s": policy.ttft_slo_s,
        "queue_growth_threshold_req_per_s": 0.0,
        "kv_cache_usage_threshold_share": policy.kv_cache_usage_max,
        "preemptions_threshold_per_s": policy.preemptions_max_per_s,
        "error_ratio_threshold_share": policy.error_ratio_max,
        "for_s": float(policy.for_s),
        "rate_window_s": float(policy.rate_window_s),
    }


def _num(x: float) -> str:
    """A threshold as PromQL writes it (no float noise).

    >>> _num(0.5), _num(2.0), _num(0.1 + 0.2)
    ('0.5', '2', '0.3')
    """
    return f"{x:.12g}"


def rules(policy: AlertPolicy = AlertPolicy()) -> dict[str, Any]:
    """The rules document (Prometheus ``rule_files`` format) for ``policy``.

    Examples
    --------
    >>> doc = rules(AlertPolicy(ttft_slo_ms=250))
    >>> [g["name"] for g in doc["groups"]]
    ['selfhost-vllm-recording', 'selfhost-vllm-alerts']
    >>> next(r["expr"] for r in doc["groups"][1]["rules"] if r["alert"] == "VllmTtftOverSlo")
    'selfhost:vllm_ttft_quantile_seconds > 0.25'
    """
    w = f"{policy.rate_window_s}s"
    job = f'job="{policy.job}"'
    by = "sum by (job, instance)"
    v1 = f'{job}, handler=~"/v1/.*"'
    recording = [
        (WAITING, f"{by} (vllm:num_requests_waiting{{{job}}})"),
        (RUNNING, f"{by} (vllm:num_requests_running{{{job}}})"),
        (KV_USAGE, f"max by (job, instance) (vllm:kv_cache_usage_perc{{{job}}})"),
        (TTFT_QUANTILE, f"histogram_quantile({_num(policy.ttft_quantile)}, sum by (job, instance, le) "
                        f"(rate(vllm:time_to_first_token_seconds_bucket{{{job}}}[{w}])))"),
        (GENERATION_RATE, f"{by} (rate(vllm:generation_tokens_total{{{job}}}[{w}]))"),
        (FINISHED_RATE, f"{by} (rate(vllm:request_success_total{{{job}}}[{w}]))"),
        # Little's law: the wait ahead of a new request; +Inf when nothing finishes, NaN when idle.
        (QUEUE_WAIT, f"{WAITING} / {FINISHED_RATE}"),
        (QUEUE_GROWTH, f"deriv({WAITING}[{w}])"),
        (PREEMPTION_RATE, f"{by} (rate(vllm:num_preemptions_total{{{job}}}[{w}]))"),
        (ERROR_RATIO,
         f'(({by} (rate(http_requests_total{{{v1}, status="5xx"}}[{w}])) or {by} (rate(http_requests_total{{{v1}}}[{w}])) * 0)'
         f' + ({by} (rate(vllm:request_success_total{{{job}, finished_reason="error"}}[{w}])) or {by} (rate(http_requests_total{{{v1}}}[{w}])) * 0))'
         f" / {by} (rate(http_requests_total{{{v1}}}[{w}]))"),
        (HTTP_2XX_RATE, f'{by} (rate(http_requests_total{{{v1}, status="2xx"}}[{w}]))'),
    ]
    slo_ms = _num(policy.ttft_slo_ms)
    q = policy.quantile_pct
    t = thresholds(policy)
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
        ("VllmEngineStalled", f"({RUNNING} + {WAITING}) > 0 and on (job, instance) {GENERATION_RATE} == 0",
         "critical", "requests are queued or running but no token is generated",
         "{{ $value }} requests are in the engine and it produced no token over the last " + w + "."),
        # Averaged: under pressure the gauge flaps (each preemption frees blocks), so an
        # instantaneous threshold with ``for`` never fires (seen in a trial overload here).
        ("VllmKvCacheNearlyFull", f"avg_over_time({KV_USAGE}[{w}]) > {_num(t['kv_cache_usage_threshold_share'])}",
         "warning",
         f"KV cache above {policy.kv_cache_usage_max:.0%} full",
         "{{ $value | humanizePercentage }} of the KV cache is in use; new requests will queue and "
         "running ones may be preempted."),
        ("VllmPreempting", f"{PREEMPTION_RATE} > {_num(t['preemptions_threshold_per_s'])}", "warning",
         "the engine preempts requests (KV cache exhausted)",
         "{{ $value | humanize }} preemptions/s: requests are evicted and recomputed."),
        ("VllmErrorRate", f"{ERROR_RATIO} > {_num(t['error_ratio_threshold_share'])}", "critical",
         f"more than {policy.error_ratio_max:.1%} of requests fail",
         "{{ $value | humanizePercentage }} of /v1 requests ended in HTTP 5xx or an engine error."),
        ("VllmMetricsDown", f"up{{{job}}} == 0", "critical",
         "the engine's /metrics cannot be scraped",
         "Prometheus cannot scrape {{ $labels.instance }}: the engine is down or unreachable, and every "
         "other alert is blind."),
    ]
    return {"groups": [
        {"name": "selfhost-vllm-recording",
         "rules": [{"record": name, "expr": expr} for name, expr in recording]},
        {"name": "selfhost-vllm-alerts",
         "rules": [{"alert": name, "expr": expr, "for": f"{policy.for_s}s",
                    "labels": {"severity": severity, "signal": ALERTS[name]},
                    "annotations": {"summary": summary, "description": description}}
                   for name, expr, severity, summary, description in alerts]},
    ]}


def rules_yaml(policy: AlertPolicy = AlertPolicy()) -> str:
    """The rules file's text, with a header naming the policy that generated it.

    >>> print(rules_yaml().splitlines()[0])
    # Generated by `selfhost monitor rules` from lib/selfhost/alertrules.py; do not edit by hand.
    """
    import yaml

    header = ["# Generated by `selfhost monitor rules` from lib/selfhost/alertrules.py; do not edit by hand.",
              "# Policy: " + ", ".join(f"{k}={v}" for k, v in asdict(policy).items()),
              "# Regenerate with your target: selfhost monitor rules --ttft-slo-ms 800 --out monitoring/rules.yml"]
    body = yaml.safe_dump(rules(policy), sort_keys=False, width=10_000, allow_unicode=True)
    return "\n".join(header) + "\n" + body
