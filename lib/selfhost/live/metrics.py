"""Read an engine's Prometheus ``/metrics`` text into plain numbers (pure; no I/O).

vLLM, SGLang and TGI all expose Prometheus text. :func:`parse_metrics` flattens it into
``{sample name: value}`` summed over label sets (one model, one engine: the labels only
name them), keeping counters (``*_total``), gauges and histogram ``_sum``/``_count``;
:func:`counter_deltas` subtracts a scrape taken before a run from one taken after it.

References
----------
Prometheus exposition format, parsed with ``prometheus_client.parser.text_string_to_metric_families``.
vLLM metric names: ``vllm/v1/metrics/loggers.py`` (vLLM 0.32.0); the list in the
project's shared/SOURCES.md, "C14".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from selfhost.errors import SelfhostError

#: The samples a run record keeps (vLLM names; other engines' samples are kept if they
#: match :data:`KEEP_PREFIXES`).
KEEP_PREFIXES = ("vllm:", "sglang:", "llamacpp:", "tgi_")
#: Gauges: their maximum over a run is what matters (queue depth, KV cache use).
GAUGES = (
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
)


class MetricsError(SelfhostError):
    """The text is not Prometheus exposition format."""


def parse_metrics(text: str, keep: tuple[str, ...] = KEEP_PREFIXES) -> dict[str, float]:
    """Flatten Prometheus text: sample name -> value, summed over label sets.

    Histogram buckets (``_bucket``) and ``_created`` timestamps are dropped; ``_sum``
    and ``_count`` are kept.

    Examples
    --------
    >>> text = '''# HELP vllm:prefix_cache_hits_total Hits.
    ... # TYPE vllm:prefix_cache_hits_total counter
    ... vllm:prefix_cache_hits_total{engine="0",model_name="m"} 96.0
    ... # TYPE vllm:num_requests_running gauge
    ... vllm:num_requests_running{engine="0",model_name="m"} 3.0
    ... '''
    >>> parse_metrics(text)
    {'vllm:prefix_cache_hits_total': 96.0, 'vllm:num_requests_running': 3.0}
    """
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name = sample.name
                if not name.startswith(keep) or name.endswith(("_bucket", "_created")):
                    continue
                out[name] = out.get(name, 0.0) + float(sample.value)
    except (ValueError, TypeError, IndexError) as exc:
        raise MetricsError(f"not Prometheus exposition text ({exc}); it began: {text[:80]!r}") from None
    return out


def counter_deltas(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """What each counter and histogram sum/count gained between two scrapes.

    A counter that fell (the server restarted between the scrapes) is an error: the
    difference would be meaningless.

    >>> counter_deltas({"vllm:prompt_tokens_total": 10.0}, {"vllm:prompt_tokens_total": 25.0})
    {'vllm:prompt_tokens_total': 15.0}
    """
    deltas = {}
    for name, value in after.items():
        if not name.endswith(("_total", "_sum", "_count")):
            continue
        change = value - before.get(name, 0.0)
        if change < 0:
            raise MetricsError(f"counter {name} fell from {before[name]} to {value}: the server restarted mid-run")
        deltas[name] = change
    return deltas


def gauge_maxima(scrapes: Sequence[Mapping[str, float]], gauges: tuple[str, ...] = GAUGES) -> dict[str, float]:
    """The largest value each gauge took over a run's scrapes (absent gauges are left out).

    >>> gauge_maxima([{"vllm:num_requests_waiting": 0.0}, {"vllm:num_requests_waiting": 7.0}])
    {'vllm:num_requests_waiting': 7.0}
    """
    out: dict[str, float] = {}
    for scrape in scrapes:
        for g in gauges:
            if g in scrape:
                out[g] = max(out.get(g, float("-inf")), scrape[g])
    return out
