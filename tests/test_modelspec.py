"""Tests of selfhost.modelspec: parameter counts against the official totals, KV bytes, bad configs."""

from __future__ import annotations

import json
import re

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


# ---------------------------------------------------------------------- hostile configs (issue 16)
BASE = {"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
        "num_attention_heads": 8, "num_key_value_heads": 2, "vocab_size": 256}


@pytest.mark.parametrize("change, field", [
    ({"num_key_value_heads": 3}, "num_key_value_heads"),        # does not divide 8 query heads
    ({"num_key_value_heads": 16}, "num_key_value_heads"),       # more KV heads than query heads
    ({"intermediate_size": 0}, "intermediate_size"),
    ({"num_hidden_layers": 10**9}, "num_hidden_layers"),        # would allocate per-layer tuples of 1e9
    ({"num_hidden_layers": 1e9}, "num_hidden_layers"),          # the same, written as a float
    ({"num_hidden_layers": 0}, "num_hidden_layers"),
    ({"sliding_window": 0}, "sliding_window"),
    ({"hidden_size": 4}, "head_dim"),                           # smaller than the heads
    ({"vocab_size": "many"}, "vocab_size"),
    ({"num_attention_heads": True}, "num_attention_heads"),
    ({"quantization_config": {"quant_method": "exl9"}}, "quantization_config.quant_method"),
    ({"quantization_config": {"quant_method": "fp8", "modules_to_not_convert": "lm_head"}},
     "quantization_config.modules_to_not_convert"),
    ({"quantization_config": "fp8"}, "quantization_config"),
])
def test_hostile_llama_fields_name_file_and_field(change, field):
    with pytest.raises(ModelConfigError, match=rf"bad.json: field {re.escape(field)}"):
        from_config({**BASE, **change}, "m", "bad.json")


QWEN_MOE_BASE = {"architectures": ["Qwen3MoeForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "moe_intermediate_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "vocab_size": 100, "num_experts": 8, "num_experts_per_tok": 2}


@pytest.mark.parametrize("change, field", [
    ({"decoder_sparse_step": 0}, "decoder_sparse_step"),
    ({"num_experts_per_tok": 9}, "num_experts_per_tok"),
    ({"num_experts": 0}, "num_experts"),
    ({"mlp_only_layers": [0, 7]}, "mlp_only_layers[1]"),
    ({"mlp_only_layers": "all"}, "mlp_only_layers"),
    ({"moe_intermediate_size": 0}, "moe_intermediate_size"),
])
def test_hostile_qwen_moe_fields(change, field):
    with pytest.raises(ModelConfigError, match=rf"q.json: field {re.escape(field)}"):
        from_config({**QWEN_MOE_BASE, **change}, "m", "q.json")


def _scout() -> dict:
    from selfhost.data.models import load_model_config

    config, _ = load_model_config("llama-4-scout")
    return json.loads(json.dumps(config))


@pytest.mark.parametrize("path, value, field", [
    (("text_config", "moe_layers"), [0, 99], "text_config.moe_layers[1]"),
    (("text_config", "moe_layers"), "every", "text_config.moe_layers"),
    (("text_config", "no_rope_layers"), [1, 2], "text_config.no_rope_layers"),
    (("text_config", "interleave_moe_layer_step"), 0, "text_config.interleave_moe_layer_step"),
    (("text_config", "attention_chunk_size"), 0, "text_config.attention_chunk_size"),
    (("text_config", "num_experts_per_tok"), 17, "text_config.num_experts_per_tok"),
    (("text_config",), [1, 2], "text_config"),
    (("vision_config", "pixel_shuffle_ratio"), 0, "vision_config.pixel_shuffle_ratio"),
    (("vision_config", "num_hidden_layers"), 10**9, "vision_config.num_hidden_layers"),
    (("vision_config",), None, "vision_config"),
])
def test_hostile_llama4_fields(path, value, field):
    config = _scout()
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ModelConfigError, match=rf"s.json: field {re.escape(field)}"):
        from_config(config, "m", "s.json")


def test_unknown_layer_type_is_not_taken_as_full_attention():
    from selfhost.data.models import load_model_config

    config, _ = load_model_config("gpt-oss-20b")
    config = {**config, "layer_types": ["sliding_attention", "linear_attention"] * 12}
    with pytest.raises(ModelConfigError, match=r"field layer_types\[1\] is 'linear_attention'"):
        from_config(config, "m", "g.json")
    with pytest.raises(ModelConfigError, match="layer_types has 2 entries"):
        from_config({**config, "layer_types": ["full_attention"] * 2}, "m", "g.json")


@settings(max_examples=80, deadline=None)
@given(key=st.sampled_from(sorted(BASE) + ["head_dim", "sliding_window", "tie_word_embeddings", "max_window_layers"]),
       value=st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                       st.text(max_size=5), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=2),
                                                                                              st.integers(), max_size=2)))
def test_any_field_value_gives_a_spec_or_a_clear_error(key, value):
    """Whatever one field holds, the parser returns a spec or a ModelConfigError naming the file: never another error."""
    try:
        spec = from_config({**BASE, key: value}, "m", "h.json")
    except ModelConfigError as exc:
        assert "h.json" in str(exc)
        return
    assert spec.num_layers <= modelspec.LIMITS["num_hidden_layers"] and spec.params().total > 0


# ---------------------------------------------------------------------- shapes vLLM refuses, quantization, sliding windows
def test_tp_sizes_vllm_refuses():
    spec = load_model_spec("llama-3.3-70b")  # 64 heads, 8 KV heads
    assert spec.tp_problem(8) is None and spec.tp_problem(16) is None
    assert spec.tp_problem(3)[0] == "num_attention_heads"
    assert spec.tp_problem(1024)[0] == "num_attention_heads"
    with pytest.raises(ModelConfigError, match="llama-3.3-70b.json: field num_attention_heads = 64 is not divisible"):
        spec.check_tp(3)
    kv3 = from_config({**BASE, "num_attention_heads": 12, "num_key_value_heads": 3, "hidden_size": 384}, "m", "k.json")
    assert kv3.tp_problem(2) == ("num_key_value_heads", kv3.tp_problem(2)[1])  # 12 heads split, 3 KV heads do not


def test_qwen2_sliding_window_off_unless_asked_as_transformers_has_it():
    qwen = {**BASE, "architectures": ["Qwen2ForCausalLM"], "sliding_window": 4096, "max_window_layers": 2}
    assert from_config(qwen).windowed_layers == 0                      # use_sliding_window defaults to false
    assert from_config({**qwen, "use_sliding_window": True, "max_window_layers": 0}).windowed_layers == 2
    with pytest.raises(ModelConfigError, match="max_window_layers"):
        from_config({**qwen, "use_sliding_window": True, "max_window_layers": 1, "num_hidden_layers": 2})


def test_quantization_config_is_parsed():
    assert load_model_spec("deepseek-v3").quantization.weight_dtype == "fp8"
    oss = load_model_spec("gpt-oss-120b").quantization
    assert oss.weight_dtype == "mxfp4" and oss.ignores("model.layers.3.self_attn.q_proj")
    assert not oss.ignores("model.layers.3.mlp.experts")
    ct = modelspec.parse_quantization({"quant_method": "compressed-tensors", "ignore": ["lm_head", "re:.*\\.0\\..*"],
                                       "config_groups": {"g": {"weights": {"num_bits": 8, "type": "int"},
                                                               "input_activations": {"num_bits": 8}}}}, "x.json")
    assert (ct.weight_dtype, ct.activations) == ("int8", True)
    assert ct.ignores("model.layers.0.mlp.up_proj") and not ct.ignores("model.layers.1.mlp.up_proj")


def test_ignored_modules_stay_16_bit():
    """Meta's 405B FP8 rule (attention and the first and last layers' MLPs in BF16), on an 8-layer model."""
    ignore = [f"model.layers.{i}.self_attn" for i in range(8)] + ["model.layers.0.mlp", "model.layers.7.mlp"]
    config = {**BASE, "num_hidden_layers": 8, "quantization_config": {"quant_method": "fbgemm_fp8",
                                                                      "modules_to_not_convert": ignore}}
    spec = from_config(config, "m")
    split = spec.precision_split("fp8")
    per_mlp = 3 * 256 * 512
    assert split["dense_mlp"] == (6 * per_mlp, 2 * per_mlp)
    assert split["attention"][0] == 0
    assert spec.precision_split("int4")["attention"][1] == 0  # another precision than the checkpoint's: no ignores


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), ignored=st.lists(st.integers(0, 5), max_size=6))
def test_ignoring_more_modules_never_shrinks_the_weights(n, ignored):
    from selfhost import memory

    names = [f"model.layers.{i}.mlp" for i in ignored if i < n]
    config = {**BASE, "num_hidden_layers": n, "quantization_config": {"quant_method": "fp8"}}
    plain = from_config(config)
    more = from_config({**config, "quantization_config": {"quant_method": "fp8", "modules_to_not_convert": names}})
    serving = memory.Serving(80, 1024, weight_dtype="fp8")
    assert memory.weight_bytes(more, serving) >= memory.weight_bytes(plain, serving)
    assert memory.weight_bytes(more, serving) <= memory.weight_bytes(plain, memory.Serving(80, 1024))
