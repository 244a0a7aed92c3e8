import pytest

from selfhost.errors import ParameterError
from selfhost.units import counted, format_quantity, unit_of


def test_longest_suffix_wins():
    assert unit_of("gate_mtok_per_day") == "Mtok/day"
    assert unit_of("breakeven_tok_per_day") == "tok/day"
    assert unit_of("plain") is None


def test_format_uses_unit():
    assert format_quantity("price_usd_per_mtok", 6.6) == "$6.60/Mtok"
    assert format_quantity("gate_over_breakeven_x", 5.97) == "5.97x"
    assert format_quantity("n_count", 7) == "7"


def test_counts_are_written_in_words_when_small():
    assert counted(2, "recording", words=True) == "two recordings"
    assert counted(1, "pair", words=True) == "one pair"
    assert counted(12, "setup", words=True) == "12 setups"
    assert counted(1, "GPU") == "1 GPU" and counted(2, "GPU") == "2 GPUs"
    with pytest.raises(ParameterError, match="count"):
        counted(-1, "pair")


def test_a_negative_amount_of_money_puts_its_sign_before_the_dollar():
    assert format_quantity("implied_ops_min_usd_per_month", -139_800.0) == "-$139,800/month"
    assert format_quantity("gpu_usd_per_hour", -2.5) == "-$2.50/h"
    assert format_quantity("delta_ms", -3.0) == "-3 ms"
