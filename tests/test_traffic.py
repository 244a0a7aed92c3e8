"""The traffic formulas: input share, window counts, peak-to-mean, quantiles, the prefix cache, summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import traffic
from selfhost.errors import DataError, ParameterError


def test_input_share_and_utilisation():
    assert traffic.input_share(845, 155) == pytest.approx(0.845)
    assert traffic.peak_provisioned_utilisation_share(1.0) == 1.0
    assert traffic.peak_provisioned_utilisation_share(4.2) == pytest.approx(1 / 4.2)
    with pytest.raises(ParameterError, match="peak_to_mean_x"):
        traffic.peak_provisioned_utilisation_share(0.5)
    with pytest.raises(ParameterError):
        traffic.input_share(0, 0)


def test_window_counts_drop_the_incomplete_tail():
    per_second = np.arange(10)
    assert traffic.window_counts(per_second, 3).tolist() == [3, 12, 21]
    assert traffic.window_counts(per_second, 20).tolist() == []
    with pytest.raises(ParameterError, match="window_s"):
        traffic.window_counts(per_second, 0)


def test_peak_to_mean_by_hand():
    assert traffic.peak_to_mean(np.array([2, 2, 2])) == 1.0
    assert traffic.peak_to_mean(np.array([0, 0, 6])) == 3.0
    assert traffic.peak_to_mean(np.array([0, 0])) is None
    assert traffic.peak_to_mean(np.array([7])) is None


@given(st.lists(st.integers(0, 50), min_size=2, max_size=200))
def test_peak_to_mean_is_at_least_one_and_at_most_the_window_count(counts):
    ratio = traffic.peak_to_mean(np.array(counts))
    if sum(counts) == 0:
        assert ratio is None
    else:
        assert 1.0 - 1e-12 <= ratio <= len(counts) + 1e-12


@given(st.lists(st.integers(0, 300), min_size=1, max_size=300), st.sampled_from([0.01, 0.1, 0.5, 0.9, 0.99, 1.0]))
def test_quantiles_from_counts_match_numpy_inverted_cdf(values, q):
    counts = np.bincount(values)
    got = traffic.quantiles_from_counts(counts, (q,))[traffic.quantile_key(q)]
    assert got == int(np.quantile(values, q, method="inverted_cdf"))


def test_quantiles_of_nothing_fail():
    with pytest.raises(DataError, match="no requests"):
        traffic.quantiles_from_counts(np.zeros(3, dtype=int), (0.5,))


def test_histogram_edges_cover_the_longest():
    for longest in (1, 2, 7, 1000, 126_195):
        edges = traffic.histogram_edges(longest)
        assert edges[0] == 1 and edges[-1] > longest and edges == sorted(set(edges))


# ---------------------------------------------------------------------- prefix cache
def test_prefix_cache_counts_only_the_leading_run_of_full_blocks():
    cache = traffic.PrefixCache(block_tok=4)
    assert cache.serve(10, [1, 2, 3]) == 0          # two full blocks cached, the partial third not
    assert cache.serve(10, [1, 2, 9]) == 8          # blocks 1, 2 hit
    assert cache.serve(10, [5, 2, 3]) == 0          # block 2 follows another prefix: no hit
    assert cache.serve(8, [1, 2]) == 4              # fully cached prompt: its last block is recomputed
    assert cache.hit_tok == 12 and cache.query_tok == 38


def test_bounded_cache_evicts_least_recent_prompt_tail_first():
    cache = traffic.PrefixCache(block_tok=1, capacity_tok=4)
    cache.serve(4, [1, 2, 3, 4])           # holds 1..4 (the last one too: full blocks)
    cache.serve(3, [7, 8, 9])              # needs 3 more: evicts 4, 3, 2 (tail first), keeps 1
    assert list(cache.blocks) == [1, 9, 8, 7]
    assert cache.serve(3, [1, 2, 3]) == 1


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(1, 40), st.lists(st.integers(0, 6), max_size=10)), min_size=1, max_size=40),
       st.integers(1, 64))
def test_bounded_hit_share_is_at_most_unlimited_and_grows_into_it(requests, capacity):
    """A bigger LRU cache never serves less, and a cache bigger than every block ever seen is unlimited."""
    block = 4
    # Hash ids that name whole prefixes: the id of block i is the tuple of the ids up to i.
    prompts = []
    for tokens, raw in requests:
        ids = [hash(tuple(raw[: i + 1])) for i in range(min(len(raw), math.ceil(tokens / block)))]
        prompts.append((tokens, ids))
    caches = [traffic.PrefixCache(block), traffic.PrefixCache(block, capacity * block),
              traffic.PrefixCache(block, 2 * capacity * block), traffic.PrefixCache(block, 10_000 * block)]
    for tokens, ids in prompts:
        for cache in caches:
            cache.serve(tokens, ids)
    unlimited, small, double, huge = (c.hit_share() for c in caches)
    assert 0 <= small <= unlimited <= 1
    assert double <= unlimited + 1e-12
    assert huge == pytest.approx(unlimited)


# ---------------------------------------------------------------------- accumulator and summary
def _acc(times, ins, outs, hashes=None, block=None):
    acc = traffic.TrafficAccumulator(block_tok=block, cache_sizes_tok=(8,) if block else ())
    acc.add(times, ins, outs, hashes)
    return acc


def test_batches_add_up_to_one_pass():
    times = np.sort(np.random.default_rng(1).uniform(0, 600, 500))
    ins = np.random.default_rng(2).integers(1, 5000, 500)
    outs = np.random.default_rng(3).integers(0, 500, 500)
    whole = traffic.summarize(_acc(times, ins, outs), "t")
    acc = traffic.TrafficAccumulator()
    for start in range(0, 500, 37):
        acc.add(times[start:start + 37], ins[start:start + 37], outs[start:start + 37])
    assert traffic.summarize(acc, "t") == whole
    assert whole.input_tok == ins.sum() and whole.requests_count == 500
    assert sum(whole.input_length_counts) == 500
    assert sum(whole.output_length_counts) + whole.output_zero_count == 500
    assert whole.input_tok_quantiles["p50"] == int(np.quantile(ins, 0.5, method="inverted_cdf"))


def test_steady_traffic_has_peak_to_mean_one_and_ties_are_counted():
    times = [t for t in range(600) for _ in range(2)]   # two requests every second, each pair tied
    s = traffic.summarize(_acc(times, [10] * 1200, [5] * 1200), "steady")
    assert s.peak_to_mean_x == pytest.approx(1.0)
    assert s.peak_to_mean_by_window[600] is None  # 600 one-second bins: one complete window only
    assert all(v == pytest.approx(1.0) for w, v in s.peak_to_mean_by_window.items() if w < 600)
    assert s.tied_arrivals_count == 600
    assert s.peak_provisioned_utilisation_share == pytest.approx(1.0)
    assert s.prefix_hit_share is None and s.prefix_hit_share_bounded == {}


def test_a_burst_sets_the_peak():
    times = [i / 10 for i in range(600)] + [60 + i / 40 for i in range(400)]
    s = traffic.summarize(_acc(times, [700] * 1000, [300] * 1000), "burst", window_s=10)
    assert s.peak_to_mean_x == pytest.approx(400 / (1000 / 7))
    assert s.window_s == 10 and 60 in s.peak_to_mean_by_window


def test_window_longer_than_half_the_trace_has_no_peak_to_mean():
    s = traffic.summarize(_acc([0.0, 50.0, 100.0], [1, 1, 1], [1, 1, 1]), "short", window_s=60)
    assert s.peak_to_mean_x is None and s.peak_provisioned_utilisation_share is None


def test_time_going_backwards_is_refused():
    acc = _acc([0.0, 1.0], [1, 1], [1, 1])
    with pytest.raises(ParameterError, match="arrival order"):
        acc.add([0.5], [1], [1])


def test_empty_accumulator_has_no_summary():
    with pytest.raises(DataError, match="no requests"):
        traffic.summarize(traffic.TrafficAccumulator(), "empty")


def test_summary_round_trips_through_its_dict():
    s = traffic.summarize(_acc([0.0, 1.0, 2.5], [9, 9, 9], [1, 2, 3], [[1, 2], [1, 2], [1, 3]], block=4), "h")
    assert s.prefix_hit_share == pytest.approx(12 / 27)  # 8 + 4 of 27 input tokens
    again = traffic.TrafficSummary.from_dict(s.to_dict())
    assert again == s


def test_from_dict_names_the_bad_field():
    s = traffic.summarize(_acc([0.0, 100.0, 200.0], [9, 9, 9], [1, 2, 3]), "x")
    raw = s.to_dict()
    with pytest.raises(DataError, match="input_share"):
        traffic.TrafficSummary.from_dict({**raw, "input_share": 1.2})
    with pytest.raises(DataError, match="fields missing: requests_count"):
        traffic.TrafficSummary.from_dict({k: v for k, v in raw.items() if k != "requests_count"})
    with pytest.raises(DataError, match="unknown fields: extra"):
        traffic.TrafficSummary.from_dict({**raw, "extra": 1})


def test_the_replay_text_counts_its_pairs_in_words():
    figures = {"replay_pairs_count": 2, "replay_mean_req_per_s": 1.0, "replay_peak_to_mean_x": 2.0,
               "replay_timed_mean_ttft_ms": 300.0, "replay_timed_p99_ttft_ms": 700.0,
               "replay_poisson_mean_ttft_ms": 100.0, "replay_poisson_p99_ttft_ms": 200.0, "replay_mean_ttft_x": 3.0,
               "replay_p99_ttft_x": 3.5, "replay_engine_cache_tok": 131072, "replay_measured_hit_share": 0.09,
               "replay_predicted_hit_share": 0.1}
    assert traffic.replay_markdown(figures, "cmd").startswith("Over two pairs of runs,")
    assert traffic.replay_markdown({**figures, "replay_pairs_count": 1}, "cmd").startswith("Over one pair of runs,")


def test_one_retrieval_date_is_said_once():
    assert traffic.retrieved_text({"a": "2026-11-27", "b": "2026-11-27"}) == "2026-11-27"
    assert traffic.retrieved_text({"a": "2026-11-27", "b": "2026-11-30"}) == "2026-11-27 (a) and 2026-11-30 (b)"
