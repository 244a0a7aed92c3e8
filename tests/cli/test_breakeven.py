import json
import math

import pytest

from selfhost.cli import main

BASE = ["breakeven", "--input-share", "0.7"]
NUMBERS = ["--gpu-usd-per-hour", "2.5", "--gpus", "1", "--api-input-usd-per-mtok", "3", "--api-output-usd-per-mtok", "15"]
DAYS = 730 / 24


def exit_code(args) -> int:
    """main's exit code; a usage error (argparse) exits 2 through SystemExit."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def run_json(capsys, *args, base=BASE):
    assert main([*base, *args, "--json"]) == 0
    text = capsys.readouterr().out
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))


def test_json_by_numbers(capsys):
    out = run_json(capsys, *NUMBERS, "--ops-usd-per-month", "1000")
    # (2.5 x 730 h + 1000) / (0.7 x 3 + 0.3 x 15 = 6.6 $/Mtok x 730/24 days) x 1e6, by hand.
    expected = (2.5 * 730 + 1000) / (6.6 * DAYS) * 1e6
    assert out["breakeven_tok_per_day"] == pytest.approx(expected)
    assert out["first_breakeven_tok_per_day"] == pytest.approx(expected)
    assert out["inputs"]["gpu_count"] == 1 and out["inputs"]["input_share"] == 0.7
    assert out["deployment"]["replica_capacity_tok_per_day"] is None and out["month_hours"] == 730


def test_text_output_names_the_result_and_inputs(capsys):
    assert main([*BASE, *NUMBERS]) == 0
    out = capsys.readouterr().out
    assert "break-even: 9,090,909 tokens/day" in out and "$2.50/h" in out and "no capacity limit" in out


def test_json_by_names(capsys):
    out = run_json(capsys, "--gpu", "a100-80gb", "--gpu-pricing", "community", "--provider", "runpod",
                   "--api", "anthropic/claude-sonnet-5.5", "--gpus", "2")
    assert out["inputs"]["gpu_usd_per_hour"] == 1.39 and out["inputs"]["gpu_count"] == 2
    assert out["inputs"]["api_source"].startswith("https://") and out["inputs"]["api_copy_date"] == "2026-10-24"
    assert out["breakeven_tok_per_day"] == pytest.approx(1.39 * 2 * 730 / (4.4 * DAYS) * 1e6)


def test_capacity_and_traffic(capsys):
    out = run_json(capsys, "--model", "llama-3.3-70b", "--gpu", "a100-80gb", "--gpu-usd-per-hour", "2.5",
                   "--api", "deepinfra/llama-3.3-70b-instruct-turbo", "--traffic", "azure-2023-code",
                   "--tok-per-day", "1e8", base=["breakeven"])
    assert out["deployment"]["replica_capacity_tok_per_day"] > 0
    assert out["breakeven_tok_per_day"] is None and "no volume breaks even" in out["breakeven_reason"]
    assert out["inputs"]["peak_to_mean_x"] > 4 and out["monthly"]["replicas_count"] >= 4
    batch = run_json(capsys, *NUMBERS[:4], "--api", "anthropic/claude-sonnet-5.5", "--batch")
    full = run_json(capsys, *NUMBERS[:4], "--api", "anthropic/claude-sonnet-5.5")
    assert batch["breakeven_tok_per_day"] == pytest.approx(2 * full["breakeven_tok_per_day"])


@pytest.mark.parametrize("args, message", [
    (["--gpu", "a100-40gb", "--api", "openai/gpt-6.2-sol"], "unknown GPU 'a100-40gb'; known: a100-80gb, h100-80gb"),
    (["--gpu", "a100-80gb", "--gpu-pricing", "spot", "--provider", "nope", "--api", "openai/gpt-6.2-sol"],
     "unknown provider 'nope' for a100-80gb (spot); known: market-survey"),
    (["--gpu", "a100-80gb", "--gpu-pricing", "hourly", "--api", "openai/gpt-6.2-sol"], "unknown pricing kind 'hourly'"),
    (["--gpu", "a100-80gb", "--api", "openai/gpt-6.2-sol"], "prices match a100-80gb; choose with --gpu-pricing"),
    ([*NUMBERS[:4], "--api", "nobody/nothing"], "unknown API 'nobody/nothing'; known: anthropic/claude-fable-5.2"),
    (["--gpu-usd-per-hour", "-2.5", *NUMBERS[4:]], "argument --gpu-usd-per-hour: -2.5 is out of range: must be > 0"),
    ([*NUMBERS[:6], "--api-output-usd-per-mtok", "0"], "argument --api-output-usd-per-mtok: 0 is out of range"),
    ([*NUMBERS, "--ops-usd-per-month", "-1"], "argument --ops-usd-per-month: -1 is out of range: must be >= 0"),
    (["--gpu-usd-per-hour", "2.5", "--gpus", "0", *NUMBERS[4:]], "argument --gpus: 0 is out of range"),
    (["--gpu-usd-per-hour", "inf", *NUMBERS[2:]], "argument --gpu-usd-per-hour: 'inf' is not a finite number"),
    (["--gpu-usd-per-hour", "nan", *NUMBERS[2:]], "argument --gpu-usd-per-hour: 'nan' is not a finite number"),
    (["--gpu-usd-per-hour", "1e308", *NUMBERS[2:]], "argument --gpu-usd-per-hour: 1e308 is out of range"),
    ([*NUMBERS, "--tok-per-day", "inf"], "argument --tok-per-day: 'inf' is not a finite number"),
    ([*NUMBERS, "--peak-to-mean-x", "0.5"], "argument --peak-to-mean-x: 0.5 is out of range"),
    ([*NUMBERS, "--cached-share", "0.3"], "--cached-share needs the API's cached price"),
    (["--api", "openai/gpt-6.2-sol"], "give the GPU price"),
    (["--gpu-usd-per-hour", "2.5"], "give the API price"),
    (["--gpu", "a100-80gb", *NUMBERS], "not both"),
    (["--gpu-usd-per-hour", "2.5", "--provider", "runpod", "--api", "openai/gpt-6.2-sol"], "need --gpu NAME"),
    ([*NUMBERS, "--model", "llama-3.3-70b"], "give --gpu NAME"),
    ([*NUMBERS[:4], "--api", "deepseek/deepseek-flash", "--batch"], "has no batch price"),
])
def test_bad_input_is_a_clear_error(capsys, args, message):
    assert exit_code([*BASE, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_share_above_one_is_refused(capsys):
    assert exit_code(["breakeven", *NUMBERS, "--input-share", "1.2"]) == 2
    assert "argument --input-share: 1.2 is out of range: must be <= 1" in capsys.readouterr().err


def test_traffic_and_share_are_not_both(capsys):
    assert exit_code([*BASE, *NUMBERS, "--traffic", "azure-2023-conv"]) == 2
    assert "not both" in capsys.readouterr().err


def test_json_is_valid_at_the_largest_inputs(capsys):
    out = run_json(capsys, "--gpu-usd-per-hour", "10000", "--api-input-usd-per-mtok", "0.01",
                   "--api-output-usd-per-mtok", "0.01", "--ops-usd-per-month", "1e10")
    assert math.isfinite(out["breakeven_tok_per_day"])
