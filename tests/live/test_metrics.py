"""The Prometheus metrics parser: flattening, deltas between scrapes, gauge maxima."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost import serving
from selfhost.live import metrics as met

TEXT = """# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="tiny"} 1024.0
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="tiny"} 2048.0
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="tiny"} 1536.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="tiny"} 2.0
vllm:num_requests_waiting{engine="1",model_name="tiny"} 3.0
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="tiny"} 3.0
vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="tiny"} 4.0
vllm:time_to_first_token_seconds_count{model_name="tiny"} 4.0
vllm:time_to_first_token_seconds_sum{model_name="tiny"} 0.5
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 77.0
"""


def test_parse_keeps_engine_samples_sums_labels_and_drops_buckets():
    m = met.parse_metrics(TEXT)
    assert m["vllm:prompt_tokens_total"] == 1024.0
    assert m["vllm:num_requests_waiting"] == 5.0  # summed over the two engines
    assert m["vllm:time_to_first_token_seconds_count"] == 4.0
    assert not any(k.endswith("_bucket") for k in m)
    assert "python_gc_objects_collected_total" not in m


def test_not_prometheus_text_is_refused():
    with pytest.raises(met.MetricsError, match="not Prometheus exposition text"):
        met.parse_metrics("vllm:x{unclosed 1 2 3 4")


def test_deltas_and_hit_share():
    before = met.parse_metrics(TEXT)
    after = dict(before, **{"vllm:prefix_cache_queries_total": 4096.0, "vllm:prefix_cache_hits_total": 3000.0})
    d = met.counter_deltas(before, after)
    assert d["vllm:prefix_cache_queries_total"] == 2048.0 and d["vllm:prompt_tokens_total"] == 0.0
    assert "vllm:num_requests_waiting" not in d  # gauges have no delta
    assert serving.prefix_cache_hit_share(d) == pytest.approx(1464 / 2048)
    assert serving.prefix_cache_hit_share({}) is None


def test_a_counter_that_falls_means_a_restart():
    with pytest.raises(met.MetricsError, match="restarted"):
        met.counter_deltas({"vllm:prompt_tokens_total": 10.0}, {"vllm:prompt_tokens_total": 2.0})


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=20))
def test_gauge_maximum_is_the_largest_scrape(values):
    scrapes = [{"vllm:num_requests_running": v} for v in values]
    assert met.gauge_maxima(scrapes) == {"vllm:num_requests_running": max(values)}


@given(st.floats(min_value=0, max_value=1e9), st.floats(min_value=0, max_value=1e9))
def test_deltas_are_never_negative_for_growing_counters(a, grow):
    d = met.counter_deltas({"vllm:generation_tokens_total": a}, {"vllm:generation_tokens_total": a + grow})
    assert d["vllm:generation_tokens_total"] >= 0


LLAMACPP = """# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 100
# TYPE llamacpp:prompt_tokens_cached_total counter
llamacpp:prompt_tokens_cached_total 300
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 4
"""


def test_llamacpp_series_are_kept_and_read_by_their_own_names():
    from selfhost import enginemetrics

    m = met.parse_metrics(LLAMACPP)
    assert m["llamacpp:prompt_tokens_cached_total"] == 300.0
    d = met.counter_deltas({}, m)
    assert enginemetrics.hit_share("llama.cpp", d) == pytest.approx(0.75)
    assert met.gauge_maxima([m], enginemetrics.gauges("llama.cpp")) == {"llamacpp:requests_processing": 4.0}
