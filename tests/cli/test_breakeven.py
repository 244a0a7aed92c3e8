import json

import pytest

from selfhost.cli import main

BASE = ["breakeven", "--input-share", "0.7"]
NUMBERS = ["--gpu-usd-per-hour", "2.5", "--gpus", "1", "--api-input-usd-per-mtok", "3", "--api-output-usd-per-mtok", "15"]


def run_json(capsys, *args):
    assert main([*BASE, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_by_numbers(capsys):
    out = run_json(capsys, *NUMBERS, "--ops-usd-per-month", "1000")
    # (2.5 * 24 + 1000 / 30.436875) / (0.7 * 3 + 0.3 * 15) * 1e6, by hand.
    expected = (2.5 * 24 + 1000 / 30.436875) / 6.6 * 1e6
    assert out["breakeven_tok_per_day"] == pytest.approx(expected)
    assert out["inputs"] == {"gpu_usd_per_hour": 2.5, "gpu_count": 1, "api_input_usd_per_mtok": 3.0,
                             "api_output_usd_per_mtok": 15.0, "input_share": 0.7, "ops_usd_per_month": 1000.0}


def test_text_output_names_the_result_and_inputs(capsys):
    assert main([*BASE, *NUMBERS]) == 0
    out = capsys.readouterr().out
    assert "break-even: 9,090,909 tokens/day" in out and "$2.50/h" in out and "capacity not modelled" in out


def test_json_by_names(capsys):
    out = run_json(capsys, "--gpu", "a100-80gb", "--gpu-pricing", "spot", "--provider", "runpod",
                   "--api", "anthropic/claude-sonnet-4.6", "--gpus", "2")
    assert out["inputs"]["gpu_usd_per_hour"] == 1.39 and out["inputs"]["gpu_count"] == 2
    assert out["inputs"]["api_source"].startswith("https://")
    assert out["breakeven_tok_per_day"] == pytest.approx(1.39 * 2 * 24 / 6.6 * 1e6)


@pytest.mark.parametrize("args, message", [
    (["--gpu", "a100-40gb", "--api", "openai/gpt-5"], "unknown GPU 'a100-40gb'; known: a100-80gb, h100-80gb"),
    (["--gpu", "a100-80gb", "--gpu-pricing", "spot", "--provider", "nope", "--api", "openai/gpt-5"],
     "unknown provider 'nope' for a100-80gb (spot); known: market-survey, runpod"),
    (["--gpu", "a100-80gb", "--gpu-pricing", "hourly", "--api", "openai/gpt-5"], "unknown pricing kind 'hourly'"),
    (["--gpu", "a100-80gb", "--api", "openai/gpt-5"], "prices match a100-80gb; choose with --gpu-pricing"),
    ([*NUMBERS[:4], "--api", "nobody/nothing"], "unknown API 'nobody/nothing'; known: anthropic/claude-haiku-4.5"),
    (["--gpu-usd-per-hour", "-2.5", *NUMBERS[4:]], "gpu_usd_per_hour = -2.5 is invalid"),
    ([*NUMBERS[:6], "--api-output-usd-per-mtok", "0"], "api_output_usd_per_mtok = 0.0 is invalid"),
    ([*NUMBERS, "--ops-usd-per-month", "-1"], "ops_usd_per_month = -1.0 is invalid"),
    (["--gpu-usd-per-hour", "2.5", "--gpus", "0", *NUMBERS[4:]], "gpus = 0 is invalid"),
    (["--api", "openai/gpt-5"], "give the GPU price"),
    (["--gpu-usd-per-hour", "2.5"], "give the API price"),
    (["--gpu", "a100-80gb", *NUMBERS], "not both"),
    (["--gpu-usd-per-hour", "2.5", "--provider", "runpod", "--api", "openai/gpt-5"], "need --gpu NAME"),
])
def test_bad_input_is_a_clear_error(capsys, args, message):
    assert main([*BASE, *args]) == 2
    assert message in capsys.readouterr().err


def test_share_above_one_is_refused(capsys):
    assert main(["breakeven", *NUMBERS, "--input-share", "1.2"]) == 2
    assert "input_share = 1.2 is invalid: expected a number in [0, 1]" in capsys.readouterr().err
