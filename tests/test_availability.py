import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost import availability as av
from selfhost.errors import ParameterError
from selfhost.verdicts import CONDITIONAL, FAILS

avail = st.floats(min_value=0.5, max_value=0.99999)


def test_downtime_budgets_by_hand():
    year_min = 365.2425 * 24 * 60
    assert av.downtime_min_per_year(0.9999) == pytest.approx(year_min * 1e-4)
    assert av.downtime_min_per_month(0.999) == pytest.approx(year_min / 12 * 1e-3)
    assert av.availability_of_nines(3) == 0.999
    assert av.nines_of(0.9999) == pytest.approx(4)


@given(st.lists(avail, min_size=1, max_size=5))
def test_more_providers_never_hurt_with_instant_failover(a):
    assert av.parallel_availability(a) >= max(a) - 1e-12
    assert av.parallel_availability(a + [0.9]) >= av.parallel_availability(a) - 1e-12


@given(st.lists(avail, min_size=1, max_size=3), st.floats(0, 100), st.floats(0, 600), st.floats(0, 600))
def test_slower_failover_lowers_availability(a, outages, t1, t2):
    lo, hi = sorted((t1, t2))
    assert av.failover_availability(a, outages, hi) <= av.failover_availability(a, outages, lo) + 1e-12


def test_deployment_by_hand():
    d = av.Deployment(2, 2, 0.99, 0.999, 0, 0)
    zone_empty = 0.001 + 0.999 * 0.01
    assert d.availability == pytest.approx(1 - zone_empty**2)
    assert av.Deployment(3, 2, 0.99, 1, 0, 0).replicas_in_zone(0) == 2


def test_zones_cannot_exceed_replicas():
    with pytest.raises(ParameterError, match="zones"):
        av.Deployment(1, 2, 0.99, 0.999, 0, 0)


def test_bad_availability_is_refused():
    with pytest.raises(ParameterError, match="availabilities"):
        av.parallel_availability([1.5])


def test_smallest_deployment_and_verdict():
    single = av.Deployment(1, 1, 0.995, 0.9999, 12, 30)
    needed = av.smallest_deployment(0.9999, 0.995, 0.9999, 12, 30)
    assert needed is not None and needed.availability >= 0.9999
    v = av.c16_verdict(0.9999, 0.999, single, needed, 0.9999)
    assert v.verdict == CONDITIONAL and v.figures["replicas_count"] == needed.replicas


def test_failover_penalty_can_make_the_target_unreachable():
    # 1,000 failures a year x 10 minutes of failover: 10,000 min/year, far over 99.99%'s budget.
    assert av.smallest_deployment(0.9999, 0.995, 0.9999, 1000, 600) is None
    single = av.Deployment(1, 1, 0.995, 0.9999, 1000, 600)
    assert av.c16_verdict(0.9999, 0.999, single, None, 0.999).verdict == FAILS


def test_c16_assess_says_what_flips_it():
    from selfhost.availability import AvailabilityCase, c16_assess, default_ranges

    case = AvailabilityCase(0.9999, 0.999, 0.995, 0.9999, 12.0, 60.0, (0.9971, 0.9963), 24.0)
    v = c16_assess(case, default_ranges(0.995, 0.9999, [0.9971, 0.9963]))
    assert {s.input for s in v.sensitivity} == {"replica_availability", "zone_availability",
                                                "replica_failures_per_year", "failover_s", "api_outages_per_year",
                                                "api_availabilities"}
    flip = next(s for s in v.sensitivity if s.input == "failover_s")
    assert flip.flips and 60 < flip.value < 300  # a slow failover eats the whole 99.99% budget
    assert v.verdict == case.verdict().verdict


def test_minutes_per_month_follow_the_calendar_year():
    from selfhost.availability import downtime_min_per_month

    assert downtime_min_per_month(0.999) == pytest.approx(0.001 * 365.2425 * 24 * 60 / 12)


def test_budget_table_prints_nines_with_the_digits_they_need():
    assert list(av.budget_table()["nines"]) == ["2", "3", "3.5", "4", "5"]


def test_deployment_statement_names_what_was_found():
    from dataclasses import replace

    case = av.AvailabilityCase(0.9999, 0.999, 0.995, 0.9999, 12.0, 60.0, (0.9971, 0.9963), 24.0)
    found = av.deployment_statement(case, 2.5)
    assert "**2 replicas in 2 zones**" in found and "$3,650 a month" in found and "(s)" not in found
    none = av.deployment_statement(replace(case, replica_failures_per_year=1000.0, failover_s=600.0), 2.5)
    assert "No deployment of up to 8 replicas in up to 3 zones reaches 99.99%" in none
