"""What each engine's Prometheus ``/metrics`` calls the same quantity (pure; no I/O).

vLLM prefixes its series ``vllm:``, SGLang ``sglang:``, llama.cpp's server ``llamacpp:``
and TGI ``tgi_``; the quantities a run record needs (prompt and generated tokens, requests
running and waiting, KV cache use, prefix-cache hits) have a different name, and sometimes
a different meaning, in each. :data:`NAMES` maps a quantity to each engine's series;
:func:`hit_share` and :func:`prompt_tokens` read a run's counter deltas whatever the
engine.

Meanings that differ, stated once:

- vLLM counts prefix-cache *queries* and *hits* in tokens: hit share = hits / queries.
- llama.cpp counts prompt tokens *evaluated* (``prompt_tokens_total``, cached ones
  excluded) and tokens *reused* (``prompt_tokens_cached_total``): hit share = cached /
  (evaluated + cached).
- SGLang exports a cache hit rate gauge (``sglang:cache_hit_rate``), not counters: a run's
  share is read from the gauge's last value.
- TGI exports no prefix-cache series.

References
----------
vLLM 0.32.0 ``vllm/v1/metrics/loggers.py``; SGLang ``python/sglang/srt/metrics/collector.py``
(``sglang:prompt_tokens_total``, ``sglang:generation_tokens_total``,
``sglang:num_running_reqs``, ``sglang:num_queue_reqs``, ``sglang:token_usage``,
``sglang:cache_hit_rate``); llama.cpp ``tools/server/server.cpp`` (``/metrics``, seen here
from the xllamacpp 2026.10 build: ``llamacpp:prompt_tokens_total``,
``llamacpp:prompt_tokens_cached_total``, ``llamacpp:tokens_predicted_total``,
``llamacpp:requests_processing``, ``llamacpp:requests_deferred``); TGI ``router/src/server.rs``
(``tgi_request_count``, ``tgi_queue_size``, ``tgi_batch_current_size``).
"""

from __future__ import annotations

from collections.abc import Mapping

from selfhost.errors import ParameterError

#: The engines whose series are known, and the prefix of their series names.
PREFIXES: dict[str, str] = {"vllm": "vllm:", "sglang": "sglang:", "llama.cpp": "llamacpp:", "tgi": "tgi_"}

#: quantity -> engine -> series name (None: the engine does not export it).
NAMES: dict[str, dict[str, str | None]] = {
    "prompt_tokens": {"vllm": "vllm:prompt_tokens_total", "sglang": "sglang:prompt_tokens_total",
                      "llama.cpp": "llamacpp:prompt_tokens_total", "tgi": None},
    "generation_tokens": {"vllm": "vllm:generation_tokens_total", "sglang": "sglang:generation_tokens_total",
                          "llama.cpp": "llamacpp:tokens_predicted_total", "tgi": None},
    "running": {"vllm": "vllm:num_requests_running", "sglang": "sglang:num_running_reqs",
                "llama.cpp": "llamacpp:requests_processing", "tgi": "tgi_batch_current_size"},
    "waiting": {"vllm": "vllm:num_requests_waiting", "sglang": "sglang:num_queue_reqs",
                "llama.cpp": "llamacpp:requests_deferred", "tgi": "tgi_queue_size"},
    "kv_usage": {"vllm": "vllm:kv_cache_usage_perc", "sglang": "sglang:token_usage", "llama.cpp": None, "tgi": None},
    "cache_queries": {"vllm": "vllm:prefix_cache_queries_total", "sglang": None, "llama.cpp": None, "tgi": None},
    "cache_hits": {"vllm": "vllm:prefix_cache_hits_total", "sglang": None,
                   "llama.cpp": "llamacpp:prompt_tokens_cached_total", "tgi": None},
    "cache_hit_rate": {"vllm": None, "sglang": "sglang:cache_hit_rate", "llama.cpp": None, "tgi": None},
    "requests_ok": {"vllm": "vllm:request_success_total", "sglang": None, "llama.cpp": None, "tgi": "tgi_request_success"},
}


def engine_key(engine: str) -> str:
    """The key of :data:`PREFIXES` for an engine's name as a reader writes it.

    >>> engine_key("llama-cpp"), engine_key("vLLM"), engine_key("text-generation-inference")
    ('llama.cpp', 'vllm', 'tgi')
    """
    e = str(engine).strip().lower().replace("_", "-")
    aliases = {"llamacpp": "llama.cpp", "llama-cpp": "llama.cpp", "llama.cpp": "llama.cpp",
               "text-generation-inference": "tgi", "tgi": "tgi", "vllm": "vllm", "sglang": "sglang"}
    return aliases.get(e, e)


def series(quantity: str, engine: str) -> str | None:
    """The series ``engine`` exports for ``quantity`` (None when it exports none).

    >>> series("running", "sglang"), series("cache_hits", "llama.cpp"), series("kv_usage", "mystery")
    ('sglang:num_running_reqs', 'llamacpp:prompt_tokens_cached_total', None)
    """
    if quantity not in NAMES:
        raise ParameterError("quantity", quantity, f"one of {sorted(NAMES)}")
    return NAMES[quantity].get(engine_key(engine))


def gauges(engine: str) -> tuple[str, ...]:
    """The gauges whose maximum over a run a record keeps, for ``engine`` (all engines' when unknown).

    >>> gauges("llama.cpp")
    ('llamacpp:requests_processing', 'llamacpp:requests_deferred')
    """
    key = engine_key(engine)
    engines = [key] if key in PREFIXES else list(PREFIXES)
    out = [NAMES[q].get(e) for e in engines for q in ("running", "waiting", "kv_usage", "cache_hit_rate")]
    return tuple(n for n in out if n)


def hit_share(engine: str, deltas: Mapping[str, float], last: Mapping[str, float] | None = None) -> float | None:
    """Share of a run's prompt tokens served from the prefix cache [1], or None when unknown.

    ``deltas`` are the run's counter increments; ``last`` the final scrape (for SGLang's gauge).

    >>> hit_share("vllm", {"vllm:prefix_cache_queries_total": 200.0, "vllm:prefix_cache_hits_total": 150.0})
    0.75
    >>> hit_share("llama.cpp", {"llamacpp:prompt_tokens_total": 100.0, "llamacpp:prompt_tokens_cached_total": 300.0})
    0.75
    >>> hit_share("tgi", {}) is None
    True
    """
    key = engine_key(engine)
    if key == "vllm":
        q, h = deltas.get("vllm:prefix_cache_queries_total"), deltas.get("vllm:prefix_cache_hits_total")
        if q is None or h is None:
            return None
        return h / q if q > 0 else 0.0
    if key == "llama.cpp":
        e, c = deltas.get("llamacpp:prompt_tokens_total"), deltas.get("llamacpp:prompt_tokens_cached_total")
        if e is None or c is None:
            return None
        return c / (e + c) if e + c > 0 else 0.0
    if key == "sglang" and last is not None and "sglang:cache_hit_rate" in last:
        return float(last["sglang:cache_hit_rate"])
    return None


def prompt_tokens(engine: str, deltas: Mapping[str, float]) -> float | None:
    """Prompt tokens the engine received over a run (cached ones included), or None.

    >>> prompt_tokens("llama.cpp", {"llamacpp:prompt_tokens_total": 100.0, "llamacpp:prompt_tokens_cached_total": 300.0})
    400.0
    """
    key = engine_key(engine)
    name = series("prompt_tokens", key) if key in PREFIXES else None
    if name is None or name not in deltas:
        return None
    extra = deltas.get("llamacpp:prompt_tokens_cached_total", 0.0) if key == "llama.cpp" else 0.0
    return float(deltas[name] + extra)


def generation_tokens(engine: str, deltas: Mapping[str, float]) -> float | None:
    """Tokens the engine generated over a run, or None.

    >>> generation_tokens("vllm", {"vllm:generation_tokens_total": 512.0})
    512.0
    """
    key = engine_key(engine)
    name = series("generation_tokens", key) if key in PREFIXES else None
    return float(deltas[name]) if name and name in deltas else None


def running_max(engine: str, gauge_maxima: Mapping[str, float]) -> float | None:
    """The most requests the engine ran at once over a run (from its gauge), or None.

    >>> running_max("llama.cpp", {"llamacpp:requests_processing": 4.0})
    4.0
    """
    key = engine_key(engine)
    name = series("running", key) if key in PREFIXES else None
    return float(gauge_maxima[name]) if name and name in gauge_maxima else None
