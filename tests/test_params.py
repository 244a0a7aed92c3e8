import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfhost.errors import ParameterError
from selfhost.params import check_bool, check_choice, check_int, check_number


def test_number_in_range_is_returned_as_float():
    assert check_number("x", 3, ge=0, le=5) == 3.0


@pytest.mark.parametrize("bad", [-0.01, 1.01, "0.5", True, None, math.nan])
def test_share_out_of_range_or_wrong_type_names_parameter_and_range(bad):
    with pytest.raises(ParameterError, match=r"input_share = .* expected a number in \[0, 1\]"):
        check_number("input_share", bad, ge=0, le=1)


def test_open_bounds_are_exclusive():
    with pytest.raises(ParameterError, match="> 0"):
        check_number("gpu_usd_per_hour", 0, gt=0)


def test_int_accepts_whole_floats_only():
    assert check_int("gpu_count", 2.0, ge=1) == 2
    with pytest.raises(ParameterError, match="whole number"):
        check_int("gpu_count", 1.5, ge=1)
    with pytest.raises(ParameterError):
        check_int("gpu_count", 0, ge=1)


def test_bool_refuses_strings():
    with pytest.raises(ParameterError, match="true or false"):
        check_bool("regulated_data", "yes")


def test_choice_lists_options():
    with pytest.raises(ParameterError, match="'spot', 'on-demand'"):
        check_choice("gpu_pricing", "cheap", ["spot", "on-demand"])


@given(st.floats(min_value=0, max_value=1))
def test_any_share_in_range_passes(x):
    assert check_number("s", x, ge=0, le=1) == x
