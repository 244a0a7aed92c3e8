"""Tests of selfhost.memory: vLLM's KV accounting against recorded engine runs and public logs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import memory, units
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.data.tables import load_rows
from selfhost.errors import DataError, ParameterError
from selfhost.modelspec import from_config
from selfhost.paths import data_dir

OVERHEADS = load_vllm_overheads()
RUNS = load_rows("kv_cache_runs")
LOGS = load_rows("vllm_startup_logs")


def _probe_spec(config_file: str):
    config = json.loads((data_dir() / "kv_probe_configs" / config_file).read_text())
    return from_config(config, config_file)


def test_recorded_runs_cover_each_family():
    families = {r["family"] for r in RUNS}
    assert {"llama", "qwen3_moe", "deepseek_v3", "gpt_oss"} <= families
    assert any(r["kv_cache_dtype"] == "fp8" for r in RUNS)


@pytest.mark.parametrize("run", RUNS, ids=[r["run_id"] for r in RUNS])
def test_kv_tokens_equal_vllm_report(run):
    """The library's capacity equals what vLLM (CPU build) logged: tokens and blocks, exactly."""
    spec = _probe_spec(run["config_file"])
    cap = memory.vllm_kv_capacity(spec, run["kv_cache_space_gib"] * units.GIB, run["max_model_len"],
                                  run["vllm_block_size"], 1, run["kv_cache_dtype"],
                                  run["max_concurrent_batches"] * run["max_num_batched_tokens"])
    assert cap.num_blocks == run["vllm_num_blocks"]
    assert cap.kv_tokens == run["vllm_kv_tokens"]
    assert cap.max_concurrency_x == pytest.approx(run["vllm_max_concurrency_x"], abs=0.01)


WEIGHT_LOGS = [r for r in LOGS if r["weights_gib"] is not None]


@pytest.mark.parametrize("log", WEIGHT_LOGS, ids=[r["log_id"] for r in WEIGHT_LOGS])
def test_weights_within_3pct_of_engine_logs(log):
    spec = load_model_spec(log["model_file"].removesuffix(".json"))
    serving = memory.Serving(80.0, 4096, tp=log["tp"], weight_dtype=log["weight_dtype"])
    predicted = memory.weights_gib_per_gpu(spec, serving)
    assert abs(predicted - log["weights_gib"]) / log["weights_gib"] < 0.03, (predicted, log["weights_gib"])


def test_kv_tokens_from_logged_kv_memory():
    """Qwen3-235B FP8 on 4 H100s: 8.11 GiB of KV cache -> 178,880 tokens logged (GiB figure rounded)."""
    log = next(r for r in LOGS if r["log_id"] == "issue21348-qwen3-235b-fp8-tp4")
    spec = load_model_spec("qwen3-235b-a22b")
    cap = memory.vllm_kv_capacity(spec, log["kv_cache_gib"] * units.GIB, 40960, 16, tp=log["tp"])
    assert abs(cap.kv_tokens - log["kv_tokens"]) / log["kv_tokens"] < 0.02


def test_budget_reproduces_pr10511_kv_memory():
    """Llama-3-8B on an H100 at 0.90: weights, activation and non-torch as logged leave 53.29 GiB."""
    log = next(r for r in LOGS if r["log_id"] == "pr10511-llama3-8b-tp1")
    spec = load_model_spec("llama-3.1-8b")
    logged = memory.Overheads(log["activation_gib"] / log["max_num_batched_tokens"] * 1000, 4096 + 2 * 14336,
                              log["non_torch_gib"], 0.0, 0.0)
    b = memory.budget(spec, memory.Serving(log["total_gib"], 8192, log["gpu_memory_utilization"],
                                           max_num_batched_tokens=log["max_num_batched_tokens"]), logged)
    assert b.kv_cache_gib == pytest.approx(log["kv_cache_gib"], abs=0.02)


def test_70b_on_a100_fits_only_quantised():
    spec = load_model_spec("llama-3.3-70b")
    gib = gpu_by_name("a100-80gb").budget_gib
    fits = {d: memory.budget(spec, memory.Serving(gib, 4096, weight_dtype=d, max_num_batched_tokens=2048),
                             OVERHEADS).fits for d in ("bf16", "int4")}
    assert fits == {"bf16": False, "int4": True}


def test_not_fitting_says_by_how_much():
    spec = load_model_spec("llama-3.3-70b")
    b = memory.budget(spec, memory.Serving(74.5, 4096), OVERHEADS)
    assert not b.fits and b.shortfall_gib > 50 and b.kv_cache_gib < 0 and b.kv_tokens == 0


def test_fp8_kv_doubles_tokens():
    spec = load_model_spec("llama-3.1-8b")
    a = memory.budget(spec, memory.Serving(79.2, 4096), OVERHEADS)
    b = memory.budget(spec, memory.Serving(79.2, 4096, kv_cache_dtype="fp8"), OVERHEADS)
    assert b.kv_tokens == pytest.approx(2 * a.kv_tokens, rel=0.001)


def test_fewest_gpus():
    spec = load_model_spec("llama-3.3-70b")
    assert memory.fewest_gpus(spec, memory.Serving(74.5, 4096), OVERHEADS) == 2  # 65.7 GiB of weights each
    assert memory.fewest_gpus(spec, memory.Serving(74.5, 4096, weight_dtype="int4"), OVERHEADS) == 1
    assert memory.fewest_gpus(load_model_spec("deepseek-v3"), memory.Serving(24.0, 4096), OVERHEADS) is None


def test_mxfp4_pads_expert_intermediate():
    spec = load_model_spec("gpt-oss-120b")
    padded = memory.weights_gib_per_gpu(spec, memory.Serving(80, 4096, weight_dtype="mxfp4"))
    unpadded = memory.weights_gib_per_gpu(spec, memory.Serving(80, 4096, weight_dtype="mxfp4",
                                                               mxfp4_intermediate_multiple=64))
    assert padded > unpadded * 1.05


def test_bad_parameters_name_themselves():
    with pytest.raises(ParameterError, match="gpu_memory_utilization"):
        memory.Serving(80, 4096, gpu_memory_utilization=1.5)
    with pytest.raises(ParameterError, match="weight_dtype"):
        memory.Serving(80, 4096, weight_dtype="int3")


def test_unknown_gpu_lists_known_names():
    with pytest.raises(DataError, match="unknown GPU 'V100'.*A100 80GB"):
        gpu_by_name("V100")


def test_gpu_memory_converted_from_gb():
    assert gpu_by_name("A100 80GB").memory_gib == pytest.approx(80e9 / 2**30)
    assert gpu_by_name("h100-80gb").budget_gib == pytest.approx(79.22)


@settings(max_examples=60, deadline=None)
@given(space=st.floats(0, 64), extra=st.floats(0, 8), layers=st.integers(1, 6), window=st.sampled_from([None, 64, 512]),
       max_len=st.integers(1, 16384), block=st.sampled_from([16, 128]))
def test_capacity_monotone_in_memory(space, extra, layers, window, max_len, block):
    windows = tuple(window if i % 2 == 0 else None for i in range(layers))
    from selfhost.modelspec import ModelSpec

    spec = ModelSpec("t", "GptOssForCausalLM", "gpt_oss", 64, layers, 10, False, 4, 2, 16, ("dense",) * layers,
                     windows, 128)
    a = memory.vllm_kv_capacity(spec, space * units.GIB, max_len, block)
    b = memory.vllm_kv_capacity(spec, (space + extra) * units.GIB, max_len, block)
    assert b.kv_tokens >= a.kv_tokens >= 0


@settings(max_examples=40, deadline=None)
@given(util=st.floats(0.5, 0.98), delta=st.floats(0.0, 0.02))
def test_more_utilization_more_kv(util, delta):
    spec = load_model_spec("llama-3.1-8b")
    a = memory.budget(spec, memory.Serving(79.2, 4096, util), OVERHEADS)
    b = memory.budget(spec, memory.Serving(79.2, 4096, util + delta), OVERHEADS)
    assert b.kv_cache_gib >= a.kv_cache_gib and b.kv_tokens >= a.kv_tokens


@pytest.mark.slow
@pytest.mark.live
def test_live_vllm_matches_prediction_for_one_config():
    """Re-run ONE small config on the real engine (about a minute) and compare with the library."""
    pytest.importorskip("vllm")
    from selfhost.live.kvprobe import run_engine

    config = json.loads((data_dir() / "kv_probe_configs" / "tiny-qwen3-moe.json").read_text())
    report = run_engine(config, 1, 2048, "auto", 2048, timeout_s=170)
    cap = memory.vllm_kv_capacity(from_config(config), units.GIB, 2048, report.block_size, 1, "auto", 2048)
    assert (report.num_blocks, report.kv_tokens) == (cap.num_blocks, cap.kv_tokens)


def test_probe_configs_match_their_manifest():
    import hashlib

    import yaml

    folder = data_dir() / "kv_probe_configs"
    manifest = yaml.safe_load((folder / "manifest.yaml").read_text())["files"]
    assert sorted(manifest) == sorted(p.name for p in folder.glob("*.json"))
    for name, entry in manifest.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert {r["config_file"] for r in RUNS} <= set(manifest)


def test_deepseek_v3_in_its_own_fp8_fits_eight_h200s():
    spec = load_model_spec("deepseek-v3")
    assert memory.native_weight_dtype(spec) == "fp8"
    h200 = gpu_by_name("H200")
    serving = h200.serving(4096, memory.native_weight_dtype(spec), tp=8)
    assert memory.budget(spec, serving, OVERHEADS).fits
    assert not memory.budget(spec, h200.serving(4096, "bf16", tp=8), OVERHEADS).fits


def test_budget_refuses_tp_sizes_vllm_refuses():
    from selfhost.errors import ModelConfigError

    spec = load_model_spec("llama-3.3-70b")
    with pytest.raises(ModelConfigError, match="num_attention_heads"):
        memory.budget(spec, memory.Serving(80, 4096, tp=3), OVERHEADS)


def test_fewest_gpus_skips_sizes_vllm_refuses():
    """A model with 28 heads cannot run on 8 GPUs; the search stops at 4 or gives up, never names 8."""
    spec = from_config({"architectures": ["LlamaForCausalLM"], "hidden_size": 3584, "intermediate_size": 18944,
                        "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
                        "vocab_size": 152064}, "q")
    assert memory.fewest_gpus(spec, memory.Serving(3.5, 4096), OVERHEADS, max_tp=8) is None  # 8 would fit: refused
    assert memory.fewest_gpus(spec, memory.Serving(8.0, 4096), OVERHEADS, max_tp=8) == 4


def test_startup_log_rows_reproduce_the_logs():
    from selfhost.data.models import startup_log_table

    rows = {r["log"]: r for r in startup_log_table(4096)}
    qwen = rows["issue21348-qwen3-235b-fp8-tp4"]
    assert abs(qwen["library_kv_tok"] / qwen["reported_kv_tok"] - 1) < 0.02
    assert memory.worst_relative_error([r["library_weights_gib"] for r in rows.values()],
                                       [r["reported_weights_gib"] for r in rows.values()]) < 0.03


def test_c13_assess_says_what_flips_it():
    from selfhost.data.hardware import gpu_memory_table
    from selfhost.data.models import load_model_specs

    specs = load_model_specs(["llama-3.3-70b", "llama-4-scout", "qwen3-235b-a22b"])
    v = memory.c13_assess(specs, gpu_memory_table(), OVERHEADS, context_tokens=4096, max_tp=8, article_overhead_gb=7,
                          holds_share=0.9, conditional_share=0.6, gpu_memory_utilization=0.92,
                          evidence=memory.c13_evidence(1, 1), steps=3)
    assert {s.input for s in v.sensitivity} == {"gpu_memory_utilization", "context_tok"}
    assert {e.kind for e in v.evidence} >= {"model", "live", "published", "article"}
