"""Tests of ``selfhost memory`` (lib/selfhost/cli/memory.py)."""

from __future__ import annotations

import json

import pytest

from selfhost import cli

REQUIRED = ("total_params", "active_params", "weights_gib", "kv_bytes_per_token", "kv_cache_gib", "kv_tokens",
            "non_kv_overhead_gib", "fits")


def _run(capsys, *argv):
    try:
        code = cli.main(["memory", *argv])
    except SystemExit as exc:  # a usage error: one line, exit 2
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_has_the_required_keys(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "h100-80gb", "--json")
    data = json.loads(out)
    assert code == 0 and all(k in data for k in REQUIRED)
    assert data["kv_bytes_per_token"] == 131072 and data["fits"] is True
    assert data["max_num_batched_tokens"] == 8192
    assert any("max_num_batched_tokens=8192" in d for d in data["defaults_used"])


def test_config_path_and_memory_size(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512,
                                  "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2,
                                  "vocab_size": 256}))
    code, out, _ = _run(capsys, "--model", str(config), "--gpu-memory-gib", "10", "--json", "--tp", "2")
    data = json.loads(out)
    assert code == 0 and data["tp"] == 2 and data["kv_bytes_per_token"] == 2 * 2 * 1 * 32 * 2


def test_model_that_does_not_fit_says_by_how_much(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "A100 80GB")
    assert code == 0 and "fits: NO, short by" in out


def test_unknown_gpu_lists_known(capsys):
    code, _, err = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "V100")
    assert code == 2 and "unknown GPU 'V100'" in err and "H100 SXM" in err


def test_unknown_model_lists_known(capsys):
    code, _, err = _run(capsys, "--model", "gpt-5", "--gpu", "L4")
    assert code == 2 and "no such model" in err and "llama-4-scout" in err


def test_not_json_names_the_file(capsys, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    code, _, err = _run(capsys, "--model", str(bad), "--gpu", "L4")
    assert code == 2 and str(bad) in err and "not valid JSON" in err


def test_missing_field_names_file_and_field(capsys, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"architectures": ["MixtralForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
                               "num_hidden_layers": 2, "vocab_size": 10, "intermediate_size": 32}))
    code, _, err = _run(capsys, "--model", str(bad), "--gpu", "L4")
    assert code == 2 and str(bad) in err and "num_local_experts is missing" in err


def test_unknown_architecture(capsys, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"architectures": ["MambaForCausalLM"]}))
    code, _, err = _run(capsys, "--model", str(bad), "--gpu", "L4")
    assert code == 2 and "MambaForCausalLM" in err


def test_bad_utilization(capsys):
    code, _, err = _run(capsys, "--model", "llama-3.1-8b", "--gpu", "L4", "--gpu-memory-utilization", "1.5")
    assert code == 2 and "--gpu-memory-utilization" in err


@pytest.mark.parametrize("dtype", ["bf16", "fp16", "fp8", "int8", "int4", "mxfp4"])
def test_every_weight_dtype_runs(capsys, dtype):
    code, out, _ = _run(capsys, "--model", "gpt-oss-20b", "--gpu", "L40S", "--weight-dtype", dtype, "--json")
    assert code == 0 and json.loads(out)["weight_dtype"] == dtype


def test_deepseek_v3_defaults_to_its_own_fp8_and_fits_eight_h200s(capsys):
    code, out, _ = _run(capsys, "--model", "deepseek-v3", "--gpu", "h200", "--tp", "8", "--json")
    data = json.loads(out)
    assert code == 0 and data["weight_dtype"] == "fp8" and data["fits"] is True


def _hostile_config(tmp_path, **changes):
    path = tmp_path / "config.json"
    base = {"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
            "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 256}
    path.write_text(json.dumps({**base, **changes}))
    return str(path)


@pytest.mark.parametrize("changes, field", [
    ({"num_key_value_heads": 3}, "num_key_value_heads"), ({"num_key_value_heads": 16}, "num_key_value_heads"),
    ({"intermediate_size": 0}, "intermediate_size"), ({"sliding_window": 0}, "sliding_window"),
    ({"num_hidden_layers": 1e9}, "num_hidden_layers"),
])
def test_hostile_configs_are_one_clear_line(capsys, tmp_path, changes, field):
    path = _hostile_config(tmp_path, **changes)
    code, out, err = _run(capsys, "--model", path, "--gpu", "h100-80gb")
    assert code == 2 and out == "" and path in err and f"field {field}" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--tp", "3"], "num_attention_heads"), (["--tp", "1024"], "num_attention_heads"), (["--tp", "2000"], "--tp"),
    (["--gpu-memory-utilization", "nan"], "--gpu-memory-utilization"), (["--max-model-len", "inf"], "--max-model-len"),
])
def test_tp_sizes_and_numbers_vllm_refuses(capsys, argv, message):
    code, _, err = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "h100-80gb", *argv)
    assert code == 2 and message in err


def test_a_billion_layers_allocates_nothing(capsys, tmp_path):
    import resource
    import time

    path = _hostile_config(tmp_path, num_hidden_layers=10**9)
    before, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    assert _run(capsys, "--model", path, "--gpu", "h100-80gb")[0] == 2
    assert time.monotonic() - t0 < 2 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB


def test_dev_zero_a_fifo_a_directory_and_deep_json_are_refused_without_hanging(capsys, tmp_path):
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(64 * 2**20)
    for path, message in (("/dev/zero", "not a regular file"), (str(fifo), "not a regular file"),
                          (str(tmp_path), "is a directory"), (str(deep), "nested too deeply"),
                          (str(big), "larger than any config.json")):
        code, _, err = _run(capsys, "--model", path, "--gpu", "h100-80gb")
        assert code == 2 and message in err and path in err, (path, err)


def test_json_is_always_valid(capsys):
    code, out, _ = _run(capsys, "--model", "llama-3.3-70b", "--gpu", "a100-80gb", "--json")
    assert code == 0 and "NaN" not in out and "Infinity" not in out and json.loads(out)["fits"] is False
