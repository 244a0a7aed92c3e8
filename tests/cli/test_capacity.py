"""Tests of ``selfhost capacity`` (lib/selfhost/cli/capacity.py)."""

from __future__ import annotations

import json

import pytest

from selfhost import cli
from selfhost.data.hardware import gpu_by_name
from selfhost.data.models import load_model_spec
from selfhost.data.serving import default_serving_efficiency

REQUIRED = ("decode_tok_per_s", "prefill_tok_per_s", "capacity_tok_per_day", "max_batch_within_slo")


def _run(capsys, *argv):
    try:
        code = cli.main(["capacity", *argv])
    except SystemExit as exc:  # a usage error: one line, exit 2
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_has_the_required_keys_and_matches_the_library(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--json")
    data = json.loads(out)
    assert code == 0 and all(k in data for k in REQUIRED)
    assert data["max_batch_within_slo"] >= 1 and data["capacity_tok_per_day"] > 0
    eff = default_serving_efficiency(gpu="H100 SXM")
    assert data["bandwidth_efficiency_share"] == pytest.approx(eff.bandwidth_share)
    # batch-1 decode, recomputed: bytes of bf16 weights + KV at the mean context over 3.35 TB/s x efficiency
    spec, card = load_model_spec("llama-3.1-8b"), gpu_by_name("H100 SXM")
    p = spec.params()
    ctx = 512 + round(512 * 0.3 / 0.7) // 2
    nbytes = 2 * (p.total - p.embedding) + ctx * spec.kv_bytes_per_token()
    by_hand = card.memory_bandwidth_tb_per_s * 1e12 * eff.bandwidth_share / nbytes
    assert data["decode_tok_per_s_batch_1"] == pytest.approx(by_hand)
    assert data["capacity_tok_per_day"] == pytest.approx(data["capacity_tok_per_s"] * 86_400)


def test_efficiency_override_and_slo_change_the_answer(capsys):
    _, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--json",
                     "--bandwidth-efficiency", "0.5", "--compute-efficiency", "0.5")
    loose = json.loads(out)
    _, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--json",
                     "--bandwidth-efficiency", "0.5", "--compute-efficiency", "0.5", "--slo-tpot-ms", "15")
    tight = json.loads(out)
    assert loose["bandwidth_efficiency_share"] == 0.5
    assert tight["max_batch_within_slo"] < loose["max_batch_within_slo"]
    assert tight["tpot_ms"] <= 15


def test_model_that_does_not_fit_has_no_capacity(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "a100-80gb", "--weight-dtype", "bf16")
    assert code == 0 and "does NOT start" in out


def test_tensor_parallel_adds_bandwidth(capsys):
    _, out, _ = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "h100-80gb", "--gpus", "2", "--json")
    two = json.loads(out)
    assert two["fits"] is True and two["capacity_tok_per_day"] > 0


@pytest.mark.parametrize("argv, message", [
    (["--input-share", "1.5"], "--input-share"),
    (["--gpus", "0"], "--gpus"),
    (["--bandwidth-efficiency", "2"], "--bandwidth-efficiency"),
    (["--slo-ttft-ms", "nan"], "--slo-ttft-ms"),
    (["--slo-tpot-ms", "inf"], "--slo-tpot-ms"),
    (["--prompt-tokens", "1e9"], "--prompt-tokens"),
    (["--output-tokens", "0"], "--output-tokens"),
    (["--concurrency", "-1"], "--concurrency"),
    (["--gpus", "3"], "num_attention_heads"),
    (["--gpus", "1024"], "num_attention_heads"),
    (["--input-share", "0.5", "--output-tokens", "100"], "--output-tokens"),
    (["--concurrency", "4", "--max-throughput"], "not allowed with"),
])
def test_bad_input_exits_2_naming_the_parameter(capsys, argv, message):
    model = "llama-3.3-70b" if "--gpus" in argv else "llama-3.1-8b"
    code, out, err = _run(capsys, "--model", model, "--gpu", "h100-80gb", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_unknown_gpu_lists_the_known_ones(capsys):
    code, _, err = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "tpu-v9")
    assert code == 2 and "A100 80GB" in err


def test_human_output_names_the_capacity(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb")
    assert code == 0 and "tokens/day" in out and "largest batch" in out


def test_output_tokens_replace_the_input_share(capsys):
    _, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--output-tokens", "256", "--json")
    data = json.loads(out)
    assert data["output_tokens"] == 256 and data["input_share"] == pytest.approx(512 / 768)


def test_concurrency_reports_latency_and_throughput(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--concurrency", "16", "--json")
    data = json.loads(out)
    assert code == 0 and data["mode"] == "concurrency" and data["batch"] == 16
    assert data["ttft_ms"] > 0 and data["tpot_ms"] > 0 and data["ttft_p99_ms"] >= data["ttft_ms"]
    assert data["output_tok_per_s"] == pytest.approx(16 / (data["tpot_ms"] / 1e3))


def test_concurrency_above_the_kv_cache_is_refused(capsys):
    code, _, err = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "a100-80gb", "--weight-dtype", "fp8",
                        "--concurrency", "500")
    assert code == 2 and "--concurrency" in err and "KV cache holds" in err


def test_max_throughput_is_valid_json_even_when_the_queue_never_drains(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "h200", "--weight-dtype", "fp8",
                        "--max-throughput", "--json")
    data = json.loads(out)  # json.loads refuses NaN/Infinity only with parse_constant; check the text too
    assert code == 0 and "Infinity" not in out and "NaN" not in out
    assert data["mode"] == "max throughput" and data["output_tok_per_s"] > 0 and data["batch"] >= 1


def test_the_checkpoint_precision_is_the_default(capsys):
    _, out, _ = _run(capsys, "--model", "gpt-oss-120b", "--gpu", "h100-80gb", "--json")
    assert json.loads(out)["weight_dtype"] == "mxfp4"
