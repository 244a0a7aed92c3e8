"""Tests of selfhost.modelspec: parameter counts against the official totals, KV bytes, bad configs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import modelspec
from selfhost.data.models import load_model_spec, model_names, models_manifest
from selfhost.modelspec import ModelConfigError, ModelSpec, expected_distinct_experts, from_config

SHIPPED = model_names()


def test_every_required_model_is_shipped():
    for name in ("llama-4-scout", "llama-4-maverick", "llama-3.3-70b", "llama-3.1-8b", "mixtral-8x7b", "deepseek-v3",
                 "qwen3-30b-a3b", "qwen3-235b-a22b", "gpt-oss-120b", "gpt-oss-20b"):
        assert name in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_total_params_within_1pct_of_official(name):
    official = models_manifest()[f"{name}.json"]["official_total_params"]
    total = load_model_spec(name).params().total
    assert abs(total - official) / official < 0.01, (name, total, official)


@pytest.mark.parametrize("name", SHIPPED)
def test_active_params_within_rounding_of_official(name):
    """Official active counts are rounded to two digits (3.3B, 22B, 37B): 2% covers the rounding."""
    entry = models_manifest()[f"{name}.json"]
    p = load_model_spec(name).params()
    ours = p.active_matmul if entry["active_convention"] == "without_input_embedding" else p.active
    assert abs(ours - entry["official_active_params"]) / entry["official_active_params"] < 0.02, (name, ours)


def test_scout_is_109b_loaded_17b_active_and_the_rest_is_vision():
    p = load_model_spec("llama-4-scout").params()
    assert round(p.total / 1e9) == 109 and round(p.active / 1e9) == 17
    assert 107.5e9 < p.text_total < 108e9          # the text model alone
    assert 0.8e9 < p.vision < 0.95e9               # the vision encoder and projector


def test_kv_bytes_per_token_by_hand():
    assert load_model_spec("llama-3.3-70b").kv_bytes_per_token() == 80 * 2 * 8 * 128 * 2
    assert load_model_spec("llama-3.3-70b").kv_bytes_per_token(tp=4) == 80 * 2 * 2 * 128 * 2
    assert load_model_spec("llama-3.3-70b").kv_bytes_per_token(tp=16) == 80 * 2 * 1 * 128 * 2  # heads replicated
    assert load_model_spec("llama-3.3-70b").kv_bytes_per_token(kv_cache_dtype="fp8") == 80 * 2 * 8 * 128
    # MLA: kv_lora_rank + rope dim per layer, the same on every GPU
    assert load_model_spec("deepseek-v3").kv_bytes_per_token(tp=8) == 61 * (512 + 64) * 2


def test_sliding_window_layers_are_capped():
    spec = load_model_spec("gpt-oss-120b")
    assert spec.windowed_layers == 18
    per_layer = 2 * 8 * 64 * 2
    assert spec.kv_bytes_per_sequence(100_000) == 18 * per_layer * 100_000 + 18 * per_layer * 128
    assert spec.kv_bytes_per_sequence(100) == spec.kv_bytes_per_token() * 100


def test_llama4_chunked_layers_three_of_four():
    spec = load_model_spec("llama-4-scout")
    assert spec.windowed_layers == 36 and spec.layer_windows[3] is None and spec.layer_windows[0] == 8192


def test_maverick_alternates_dense_and_moe():
    spec = load_model_spec("llama-4-maverick")
    assert spec.moe_layers == 24 and spec.layer_kinds[:2] == ("dense", "moe")


def test_deepseek_first_three_layers_dense():
    spec = load_model_spec("deepseek-v3")
    assert spec.layer_kinds[:4] == ("dense", "dense", "dense", "moe") and spec.moe_layers == 58


def test_missing_field_names_file_and_field():
    config = json.loads(json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64}))
    with pytest.raises(ModelConfigError, match=r"my.json: field num_attention_heads is missing"):
        from_config(config, "m", "my.json")


def test_unknown_architecture_lists_known():
    with pytest.raises(ModelConfigError, match="architectures.*FooForCausalLM.*LlamaForCausalLM"):
        from_config({"architectures": ["FooForCausalLM"]}, "m", "x.json")


def test_wrong_type_is_refused():
    with pytest.raises(ModelConfigError, match="hidden_size must be a whole number"):
        from_config({"architectures": ["LlamaForCausalLM"], "hidden_size": "4096"}, "m", "x.json")


def test_not_an_object():
    with pytest.raises(ModelConfigError, match="JSON object"):
        from_config([1, 2], "m", "x.json")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 64).map(lambda x: x * 64), layers=st.integers(1, 8), heads=st.sampled_from([4, 8, 16]),
       kv=st.sampled_from([1, 2, 4]), experts=st.integers(1, 16), data=st.data())
def test_total_at_least_active_and_monotone_in_experts(h, layers, heads, kv, experts, data):
    k = data.draw(st.integers(1, experts))
    config = {"architectures": ["MixtralForCausalLM"], "hidden_size": h, "intermediate_size": 2 * h,
              "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
              "vocab_size": 1000, "num_local_experts": experts, "num_experts_per_tok": k}
    p = from_config(config).params()
    assert p.total >= p.active >= p.active_matmul > 0
    more = from_config({**config, "num_local_experts": experts + 1}).params()
    assert more.total > p.total
    assert more.active - p.active == h * layers  # one more router column per layer, no more experts per token


@settings(max_examples=50, deadline=None)
@given(e=st.integers(1, 256), data=st.data())
def test_expected_experts_bounds(e, data):
    k = data.draw(st.integers(1, e))
    t = data.draw(st.integers(0, 4096))
    got = expected_distinct_experts(e, k, t)
    assert (0 if t == 0 else k - 1e-9) <= got <= e + 1e-9
    assert expected_distinct_experts(e, k, t + 1) >= got - 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("name", ["llama-3.1-8b", "mixtral-8x7b", "qwen3-30b-a3b", "gpt-oss-20b"])
def test_counts_equal_transformers_on_meta_device(name):
    """Independent check: build the model with transformers on the meta device and count."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from selfhost.data.models import load_model_config

    config, _ = load_model_config(name)
    config = {k: v for k, v in config.items() if k != "quantization_config"}
    conf = transformers.AutoConfig.for_model(config["model_type"], **{k: v for k, v in config.items() if k != "model_type"})
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(conf)
    assert sum(p.numel() for p in model.parameters()) == load_model_spec(name).params().total


def test_spec_validates_layer_lists():
    with pytest.raises(Exception, match="layer_kinds"):
        ModelSpec("t", "LlamaForCausalLM", "llama", 8, 2, 10, False, 2, 1, 4, ("dense",), (None, None), 16)


def test_module_is_pure():
    import inspect

    source = inspect.getsource(modelspec)
    assert "open(" not in source and "read_text" not in source
