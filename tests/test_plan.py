"""The plan: sizing, prices, the answer and what flips it (selfhost.plan), on the article's scenario and properties."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import availability, capacity, costs, plan
from selfhost.data.profile import ARTICLE_PROFILE, article_inputs, resolve
from selfhost.profile import profile_from_mapping
from selfhost.units import HOURS_PER_MONTH

ARTICLE = article_inputs()


def with_traffic(inputs, **change):
    return dataclasses.replace(inputs, traffic=dataclasses.replace(inputs.traffic, **change))


def test_article_scenario_agrees_with_the_pages_own_functions():
    p = plan.make_plan(ARTICLE, with_flips=False)
    d = p.deployment
    assert d is not None and (d.gpu_key, d.gpus_per_replica, d.replicas) == ("a100-80gb", 1, 1)
    # capacity page: one A100 at the best precision within the latency target
    option = ARTICLE.gpus[0]
    caps = capacity.deployment_capacities(ARTICLE.spec, option.gpu, ARTICLE.overheads, option.efficiency,
                                          prompt_tokens=512, input_share=0.7, slo_ttft_ms=1000, slo_tpot_ms=100,
                                          weight_dtypes=ARTICLE.weight_dtypes)
    cheapest_fit = [c for c in caps if c.weight_dtype == d.weight_dtype][0]
    assert d.replica_capacity_tok_per_day == pytest.approx(cheapest_fit.capacity_tok_per_day)
    # break-even page: one GPU at $2.50/h against Sonnet at 70/30 ($6.60/Mtok), no operating cost
    sonnet = next(q for q in p.quotes if q.api == "anthropic/claude-sonnet-4.6")
    assert sonnet.blended_usd_per_mtok == pytest.approx(6.6)
    assert sonnet.breakeven_tok_per_day == pytest.approx(costs.breakeven_tok_per_day(2.5, 6.6), rel=1e-9)
    # availability page: the spares the target needs
    r = ARTICLE.reliability
    dep = availability.smallest_deployment(r.target, r.replica_availability, r.zone_availability,
                                           r.replica_failures_per_year, r.failover_s)
    assert d.spare_replicas == dep.replicas - 1
    assert d.selfhost_usd_per_month == pytest.approx(2.5 * HOURS_PER_MONTH)
    assert p.answer == plan.API  # $1,004 of Sonnet against $1,826 of A100 at 5M tokens/day


def test_the_answer_follows_the_money():
    p = plan.make_plan(with_traffic(ARTICLE, tok_per_day=20e6), with_flips=False)
    assert p.answer == plan.SELF_HOST
    assert p.deployment.selfhost_usd_per_month < p.reference.api_usd_per_month


@settings(max_examples=25, deadline=None)
@given(st.floats(1e6, 5e9), st.floats(1.01, 4.0))
def test_more_traffic_never_needs_fewer_gpus(volume, factor):
    small = plan.make_plan(with_traffic(ARTICLE, tok_per_day=volume), with_flips=False).deployment
    large = plan.make_plan(with_traffic(ARTICLE, tok_per_day=volume * factor), with_flips=False).deployment
    assert small is not None and large is not None
    assert large.gpus_total >= small.gpus_total
    assert large.selfhost_usd_per_month >= small.selfhost_usd_per_month


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 10.0), st.floats(1.01, 3.0))
def test_a_dearer_gpu_never_lowers_the_cost(price, factor):
    def at(p):
        inputs = dataclasses.replace(ARTICLE, gpus=tuple(dataclasses.replace(o, usd_per_hour=p) for o in ARTICLE.gpus))
        return plan.make_plan(with_traffic(inputs, tok_per_day=80e6), with_flips=False).deployment
    assert at(price * factor).selfhost_usd_per_month >= at(price).selfhost_usd_per_month


@settings(max_examples=15, deadline=None)
@given(st.floats(300.0, 3000.0), st.floats(1.01, 3.0))
def test_a_looser_latency_target_never_needs_more_gpus(ttft_ms, factor):
    def at(t):
        return plan.make_plan(dataclasses.replace(with_traffic(ARTICLE, tok_per_day=200e6), ttft_ms=t),
                              with_flips=False).deployment
    tight, loose = at(ttft_ms), at(ttft_ms * factor)
    if tight is not None:
        assert loose is not None and loose.gpus_total <= tight.gpus_total


def test_no_deployment_meets_the_target_names_the_closest():
    p = plan.make_plan(dataclasses.replace(ARTICLE, ttft_ms=1.0), with_flips=False)
    assert p.deployment is None and p.answer == plan.API
    assert p.nearest_miss is not None and "misses the latency target" in p.nearest_miss.misses
    assert "the closest" in p.sentence
    j = plan.plan_json(p)
    assert j["deployment"] is None and j["nearest_miss"]["misses"]


def test_breakeven_steps_replicas_and_can_be_never():
    p = plan.make_plan(ARTICLE, with_flips=False)
    d = p.deployment
    assert plan.breakeven_tok_per_day(d, 6.6, 1.0) == pytest.approx(2.5 * 24 / 6.6 * 1e6, rel=1e-6)
    # at $0.10/Mtok one A100's day of tokens is worth less than the A100: never
    assert plan.breakeven_tok_per_day(d, 0.10, 1.0) is None
    # peak-to-mean 2 halves what a replica carries on average
    be2 = plan.breakeven_tok_per_day(d, 0.9, 2.0)
    assert be2 is None or be2 > plan.breakeven_tok_per_day(d, 0.9, 1.0)


def test_flips_are_where_the_answer_changes():
    p = plan.make_plan(ARTICLE)
    by = {s.input: s for s in p.flips}
    volume = by["tok_per_day"]
    assert volume.flips and volume.verdict_there == plan.SELF_HOST
    assert volume.value == pytest.approx(costs.breakeven_tok_per_day(2.5, 6.6), rel=2e-3)
    price = by["gpu_usd_per_hour (a100-80gb)"]
    assert price.flips and price.value == pytest.approx(1004.4168 / HOURS_PER_MONTH * 1.0, rel=0.3)


def test_the_json_is_plain_and_has_the_fields():
    import json

    j = plan.plan_json(plan.make_plan(ARTICLE))
    text = json.dumps(j, allow_nan=False)
    for key in ("answer", "deployment", "gpus_total", "gpu_usd_per_hour", "selfhost_usd_per_month",
                "ops_usd_per_month", "peak_tok_per_day", "capacity_tok_per_day", "apis", "flips"):
        assert key in j, key
    assert {"api", "blended_usd_per_mtok", "api_usd_per_month", "breakeven_tok_per_day"} <= set(j["apis"][0])
    assert {"input", "value", "threshold"} <= set(j["flips"][0])
    assert set(j["deployment"]) >= {"gpu", "weight_dtype", "gpus_per_replica", "replicas"}
    assert "Infinity" not in text and j["hours_per_month"] == HOURS_PER_MONTH


def test_a_spend_becomes_tokens_at_the_apis_blended_price():
    raw = {**ARTICLE_PROFILE, "traffic": {"api_spend_usd_per_month": 25000, "api": "anthropic/claude-sonnet-4.6",
                                          "input_share": 0.85}}
    inputs = resolve(profile_from_mapping(raw))
    blended = 0.85 * 3 + 0.15 * 15
    assert inputs.traffic.tok_per_day == pytest.approx(costs.tok_per_day_for_spend(25000, blended))
    assert math.isclose(inputs.traffic.tok_per_day / 1e6, 171.1, rel_tol=2e-3)
    assert inputs.reference_api == "anthropic/claude-sonnet-4.6"
