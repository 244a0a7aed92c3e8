"""Each engine's metric names for the same quantity, and hit shares read whatever the engine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost import enginemetrics as em
from selfhost.errors import ParameterError


def test_every_engine_has_its_own_prefix():
    for quantity, names in em.NAMES.items():
        for engine, name in names.items():
            assert name is None or name.startswith(em.PREFIXES[engine]), (quantity, engine, name)


@given(st.floats(0, 1e9), st.floats(0, 1e9))
def test_hit_shares_are_shares(evaluated, cached):
    share = em.hit_share("llama.cpp", {"llamacpp:prompt_tokens_total": evaluated,
                                       "llamacpp:prompt_tokens_cached_total": cached})
    assert share is not None and 0 <= share <= 1
    v = em.hit_share("vllm", {"vllm:prefix_cache_queries_total": evaluated + cached,
                              "vllm:prefix_cache_hits_total": cached})
    assert v is not None and 0 <= v <= 1


def test_names_and_aliases():
    assert em.engine_key("llama-cpp") == "llama.cpp" and em.engine_key("SGLang") == "sglang"
    assert em.series("running", "sglang") == "sglang:num_running_reqs"
    assert em.series("cache_hits", "tgi") is None
    assert em.hit_share("sglang", {}, {"sglang:cache_hit_rate": 0.4}) == pytest.approx(0.4)
    assert em.prompt_tokens("vllm", {"vllm:prompt_tokens_total": 5.0}) == 5.0
    assert "vllm:num_requests_running" in em.gauges("unknown-engine")
    with pytest.raises(ParameterError, match="quantity"):
        em.series("nonsense", "vllm")
