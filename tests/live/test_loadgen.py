"""The load generator: what each client saw, classified; every request bounded by its timeout; the
run bounded by its deadline. Against a stand-in server on 127.0.0.1 (no engine)."""

from __future__ import annotations

import threading
import time

import pytest

from selfhost.live import engine as eng
from selfhost.live import loadgen
from selfhost.monitoring import OUTCOMES
from tests.live.fakes import FakeOpenAI

SHAPE = loadgen.Shape(input_len=8, output_len=5)
ONE = [("p", 0.0)]


def port() -> int:
    return eng.free_port(8480, range(8400, 8500))


@pytest.mark.parametrize("mode, outcome", [
    ("ok", "ok"), ("cut", "partial"), ("http500", "http_error"), ("error_event", "error_event"),
    ("hang", "timeout"), ("close", "reset"),
])
def test_each_ending_is_named(mode, outcome):
    with FakeOpenAI(port(), behave=lambda i: mode) as fake:
        (o,) = loadgen.run_load(fake.url, "fake", [], SHAPE, request_timeout_s=1.0, send_at=ONE)
    assert o.outcome == outcome, o
    assert o.ended_s - o.sent_s < 3.0
    if outcome == "ok":
        assert o.output_tok == 5 and o.first_token_s is not None and o.http_status == 200
    if outcome == "partial":
        assert o.output_tok == 2 and o.http_status == 200
    if outcome == "http_error":
        assert o.http_status == 500


def test_nothing_listening_is_refused():
    (o,) = loadgen.run_load(f"http://127.0.0.1:{port()}", "fake", [], SHAPE, request_timeout_s=1.0, send_at=ONE)
    assert o.outcome == "refused" and o.http_status is None


def test_a_slow_first_token_is_timed_by_the_client():
    with FakeOpenAI(port(), behave=lambda i: "slow") as fake:
        (o,) = loadgen.run_load(fake.url, "fake", [], SHAPE, request_timeout_s=5.0, send_at=ONE)
    assert o.outcome == "ok" and 0.9 < o.first_token_s - o.sent_s < 2.5


def test_the_deadline_bounds_the_run_and_counts_the_rest_as_timeouts():
    with FakeOpenAI(port(), behave=lambda i: "hang") as fake:
        t0 = time.time()
        outs = loadgen.run_load(fake.url, "fake", [loadgen.Phase("p", 20.0, 0.5)], SHAPE, request_timeout_s=60.0,
                                t0=t0, deadline_s=1.5, seed=1)
        assert time.time() - t0 < 4.0
    assert outs and all(o.outcome == "timeout" for o in outs)


def test_stop_ends_the_sending_early():
    stop = threading.Event()
    with FakeOpenAI(port()) as fake:
        threading.Timer(0.5, stop.set).start()
        t0 = time.time()
        outs = loadgen.run_load(fake.url, "fake", [loadgen.Phase("p", 10.0, 30.0)], SHAPE, request_timeout_s=5.0,
                                t0=t0, seed=1, stop=stop)
        assert time.time() - t0 < 3.0
    assert 0 < len(outs) < 30 and all(o.outcome == "ok" for o in outs)


def test_outcomes_serialise_with_the_names_the_records_accept():
    o = loadgen.Outcome("load", 1.23456, None, 2.0, 0, "timeout", None, "x")
    assert o.to_json()["sent_s"] == 1.2346 and o.to_json()["outcome"] in OUTCOMES


def test_bad_options_are_refused():
    with pytest.raises(loadgen.LoadError, match="request_timeout_s"):
        loadgen.run_load("http://127.0.0.1:1", "m", [loadgen.Phase("p", 1.0, 1.0)], SHAPE, request_timeout_s=0)
    with pytest.raises(loadgen.LoadError, match="rate and duration"):
        loadgen.schedule([loadgen.Phase("p", 0.0, 1.0)], 1)


def test_prompts_are_token_ids_of_the_given_length_or_words():
    import random

    body = loadgen.payload("m", loadgen.Shape(16, 4, vocab_size=100), random.Random(1))
    assert len(body["prompt"]) == 16 and all(4 <= t < 100 for t in body["prompt"]) and body["ignore_eos"]
    text = loadgen.payload("m", loadgen.Shape(16, 4, token_ids=False), random.Random(1), engine="sglang")
    assert len(text["prompt"].split()) == 16 and "ignore_eos" not in text
