"""What a model is, read from its Hugging Face ``config.json``: parameters and KV cache.

:func:`from_config` turns a config (a dict; reading the file is
:func:`selfhost.data.models.load_model_config`'s job) into a :class:`ModelSpec`, the shape of
one decoder-only model: attention (grouped-query or DeepSeek's multi-head latent
attention), the feed-forward of every layer (dense, or mixture-of-experts with routed and
shared experts), sliding-window or chunked local attention layers, tied embeddings,
biases, and the vision encoder of a multimodal checkpoint (counted, never served here).

From a spec:

- :meth:`ModelSpec.params` counts parameters by part (:class:`ParamCount`): total (what
  must be loaded) and active (what one token multiplies);
- :meth:`ModelSpec.kv_bytes_per_token` is the KV cache one token adds, per GPU under
  tensor parallelism, in 16-bit or fp8;
- :meth:`ModelSpec.kv_bytes_per_sequence` is what one sequence holds, with sliding-window
  and chunked layers capped at their window.

Pure functions; no I/O.

References
----------
Vaswani et al. 2017 (attention); Ainslie et al. 2023, GQA; DeepSeek-AI, "DeepSeek-V3
Technical Report" (arXiv 2412.19437), MLA and its compressed cache (``kv_lora_rank +
qk_rope_head_dim`` values per token and layer); OpenAI, "gpt-oss-120b & gpt-oss-20b Model
Card" (2025-08-05), parameter table; Hugging Face ``transformers`` modeling files of each
architecture (which weights exist, their shapes and biases); vLLM 0.32.0
``vllm/v1/kv_cache_interface.py`` (page size per layer: ``2 x block x kv_heads x head_size
x dtype bytes``; MLA: ``block x (kv_lora_rank + rope_dim) x dtype bytes``) and
``vllm/model_executor/layers/linear.py`` (KV heads replicated when TP exceeds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from selfhost.errors import DataError, ModelConfigError
from selfhost.params import check_choice, check_int

#: Bytes per KV cache element for each ``--kv-cache-dtype``.
KV_DTYPE_BYTES: dict[str, int] = {"auto": 2, "bf16": 2, "fp16": 2, "fp8": 1}

#: Architectures this module can describe, by the family whose rules apply.
ARCHITECTURES: dict[str, str] = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Qwen2ForCausalLM": "llama",
    "Qwen3ForCausalLM": "llama",
    "MixtralForCausalLM": "mixtral",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "DeepseekV2ForCausalLM": "deepseek_v3",
    "Llama4ForConditionalGeneration": "llama4",
    "Llama4ForCausalLM": "llama4",
    "GptOssForCausalLM": "gpt_oss",
}


@dataclass(frozen=True)
class ParamCount:
    """Parameters by part [1]. ``*_active`` count what one token multiplies.

    ``embedding`` is the input embedding table (a lookup, no multiply); ``lm_head`` the
    output projection (zero when tied to the embedding); ``attention`` every attention
    weight and bias (and gpt-oss's sinks); ``dense_mlp`` the feed-forward of dense layers;
    ``routed_experts`` and ``shared_experts`` the experts of MoE layers; ``router`` the
    gates; ``norms`` the normalisation weights; ``vision`` everything outside the text
    model (vision encoder and projector).
    """

    embedding: int
    lm_head: int
    attention: int
    dense_mlp: int
    routed_experts: int
    routed_experts_active: int
    shared_experts: int
    router: int
    norms: int
    vision: int = 0

    @property
    def text_total(self) -> int:
        """All weights of the text model [1]."""
        return (self.embedding + self.lm_head + self.attention + self.dense_mlp + self.routed_experts
                + self.shared_experts + self.router + self.norms)

    @property
    def total(self) -> int:
        """All weights of the checkpoint, the vision encoder included [1]."""
        return self.text_total + self.vision

    @property
    def active(self) -> int:
        """Weights one text token touches, embedding row and lm_head included [1]."""
        return self.text_total - self.routed_experts + self.routed_experts_active

    @property
    def active_matmul(self) -> int:
        """Active weights that take part in a matrix multiply (no input embedding) [1]."""
        return self.active - self.embedding

    @property
    def linear(self) -> int:
        """Weights of the linear layers a quantised checkpoint stores in few bits [1].

        Attention, dense feed-forward and experts; not the embeddings, lm_head, router,
        norms or vision encoder.
        """
        return self.attention + self.dense_mlp + self.routed_experts + self.shared_experts

    def as_dict(self) -> dict[str, int]:
        return {
            "embedding": self.embedding, "lm_head": self.lm_head, "attention": self.attention,
            "dense_mlp": self.dense_mlp, "routed_experts": self.routed_experts,
            "shared_experts": self.shared_experts, "router": self.router, "norms": self.norms,
            "vision": self.vision,
        }


@dataclass(frozen=True)
class ModelSpec:
    """The shape of one model, as its config.json describes it.

    Parameters
    ----------
    name : str
        A label (the file stem).
    architecture : str
        ``architectures[0]`` of the config.
    family : str
        The rules that apply (:data:`ARCHITECTURES`).
    hidden_size, num_layers, vocab_size : int
        Residual width, decoder layers, vocabulary [1].
    tie_word_embeddings : bool
        The lm_head shares the embedding's weights.
    num_heads, num_kv_heads, head_dim : int
        Query heads, key/value heads, width of a head [1].
    layer_kinds : tuple[str, ...]
        ``"dense"`` or ``"moe"`` for each layer.
    layer_windows : tuple[int | None, ...]
        Tokens a layer's KV cache keeps at most (sliding window or attention chunk), or
        None for full attention [tok].
    dense_intermediate_size, moe_intermediate_size : int
        Feed-forward width of dense layers and of one expert [1].
    num_experts, experts_per_token, num_shared_experts : int
        Routed experts per MoE layer, routed experts per token, shared experts [1].
    mla : dict
        DeepSeek MLA ranks (q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
        v_head_dim); empty for grouped-query attention.
    qkv_bias, o_bias, expert_bias, router_bias, qk_norm, sinks : bool
        Which optional weights exist.
    vision_params : int
        Parameters outside the text model [1].
    """

    name: str
    architecture: str
    family: str
    hidden_size: int
    num_layers: int
    vocab_size: int
    tie_word_embeddings: bool
    num_heads: int
    num_kv_heads: int
    head_dim: int
    layer_kinds: tuple[str, ...]
    layer_windows: tuple[int | None, ...]
    dense_intermediate_size: int = 0
    moe_intermediate_size: int = 0
    num_experts: int = 0
    experts_per_token: int = 0
    num_shared_experts: int = 0
    mla: Mapping[str, int] = field(default_factory=dict)
    qkv_bias: bool = False
    o_bias: bool = False
    expert_bias: bool = False
    router_bias: bool = False
    qk_norm: bool = False
    sinks: bool = False
    vision_params: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "vocab_size", "num_heads", "num_kv_heads", "head_dim"):
            check_int(name, getattr(self, name), ge=1)
        if len(self.layer_kinds) != self.num_layers or len(self.layer_windows) != self.num_layers:
            raise DataError(self.name, f"layer_kinds and layer_windows need {self.num_layers} entries")
        if "moe" in self.layer_kinds:
            check_int("num_experts", self.num_experts, ge=1)
            check_int("experts_per_token", self.experts_per_token, ge=1, le=self.num_experts)
        object.__setattr__(self, "mla", dict(self.mla))

    # ------------------------------------------------------------------ shape facts
    @property
    def is_moe(self) -> bool:
        return "moe" in self.layer_kinds

    @property
    def uses_mla(self) -> bool:
        return bool(self.mla)

    @property
    def moe_layers(self) -> int:
        return self.layer_kinds.count("moe")

    @property
    def dense_layers(self) -> int:
        return self.layer_kinds.count("dense")

    # ------------------------------------------------------------------ parameters
    def attention_params_per_layer(self) -> int:
        """Weights (and biases) of one attention block [1]."""
        h = self.hidden_size
        if self.uses_mla:
            m = self.mla
            qk_head = m["qk_nope_head_dim"] + m["qk_rope_head_dim"]
            if m.get("q_lora_rank"):
                q = h * m["q_lora_rank"] + m["q_lora_rank"] + m["q_lora_rank"] * self.num_heads * qk_head
            else:
                q = h * self.num_heads * qk_head
            kv_a = h * (m["kv_lora_rank"] + m["qk_rope_head_dim"]) + m["kv_lora_rank"]
            kv_b = m["kv_lora_rank"] * self.num_heads * (m["qk_nope_head_dim"] + m["v_head_dim"])
            o = self.num_heads * m["v_head_dim"] * h
            return q + kv_a + kv_b + o
        q_out = self.num_heads * self.head_dim
        kv_out = self.num_kv_heads * self.head_dim
        weights = h * q_out + 2 * h * kv_out + q_out * h
        biases = (q_out + 2 * kv_out if self.qkv_bias else 0) + (h if self.o_bias else 0)
        extra = (2 * self.head_dim if self.qk_norm else 0) + (self.num_heads if self.sinks else 0)
        return weights + biases + extra

    def expert_params(self) -> int:
        """Weights of one routed (or shared) expert: gate, up and down projections [1]."""
        h, inter = self.hidden_size, self.moe_intermediate_size
        biases = (2 * inter + h) if self.expert_bias else 0
        return 3 * h * inter + biases

    def params(self) -> ParamCount:
        """Parameters by part; see :class:`ParamCount`.

        >>> spec = ModelSpec("toy", "LlamaForCausalLM", "llama", 8, 2, 10, False, 2, 1, 4,
        ...                  ("dense", "dense"), (None, None), dense_intermediate_size=16)
        >>> spec.params().total   # 2 x (attention 8*8+2*8*4+8*8 + mlp 3*8*16 + norms 16) + 80 + 80 + 8
        1352
        """
        h = self.hidden_size
        embedding = self.vocab_size * h
        lm_head = 0 if self.tie_word_embeddings else self.vocab_size * h
        attention = self.num_layers * self.attention_params_per_layer()
        dense_mlp = self.dense_layers * 3 * h * self.dense_intermediate_size
        expert = self.expert_params()
        routed = self.moe_layers * self.num_experts * expert
        routed_active = self.moe_layers * self.experts_per_token * expert
        shared = self.moe_layers * self.num_shared_experts * expert
        router_per_layer = h * self.num_experts + (self.num_experts if self.router_bias else 0)
        router = self.moe_layers * router_per_layer
        norms = self.num_layers * 2 * h + h  # two RMSNorms per layer and a final one
        return ParamCount(embedding, lm_head, attention, dense_mlp, routed, routed_active, shared, router, norms,
                          self.vision_params)

    # ------------------------------------------------------------------ KV cache
    def kv_heads_per_gpu(self, tp: int) -> int:
        """KV heads each GPU stores under tensor parallelism ``tp`` [1].

        vLLM splits KV heads across GPUs and replicates them when ``tp`` exceeds their
        number. MLA's latent cache is one "head" replicated on every GPU.

        >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 1, 10, False, 8, 2, 8, ("dense",), (None,), 128)
        >>> [spec.kv_heads_per_gpu(tp) for tp in (1, 2, 4, 8)]
        [2, 1, 1, 1]
        """
        check_int("tp", tp, ge=1)
        if self.uses_mla:
            return 1
        return max(1, self.num_kv_heads // tp)

    def kv_bytes_per_token_per_layer(self, tp: int = 1, kv_cache_dtype: str = "auto") -> int:
        """KV cache one token adds to one layer on one GPU [B]."""
        check_choice("kv_cache_dtype", kv_cache_dtype, KV_DTYPE_BYTES)
        element = KV_DTYPE_BYTES[kv_cache_dtype]
        if self.uses_mla:
            return (self.mla["kv_lora_rank"] + self.mla["qk_rope_head_dim"]) * element
        return 2 * self.kv_heads_per_gpu(tp) * self.head_dim * element

    def kv_bytes_per_token(self, tp: int = 1, kv_cache_dtype: str = "auto") -> int:
        """KV cache one token adds on one GPU, every layer counted as full attention [B].

        This is the cost of a token while a sequence is shorter than every window; see
        :meth:`kv_bytes_per_sequence` for long sequences on sliding-window layers.

        >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 4096, 32, 10, False, 32, 8, 128,
        ...                  ("dense",) * 32, (None,) * 32, 14336)
        >>> spec.kv_bytes_per_token()    # Llama 3.1 8B: 32 layers x 2 x 8 heads x 128 x 2 B
        131072
        """
        return self.num_layers * self.kv_bytes_per_token_per_layer(tp, kv_cache_dtype)

    def kv_bytes_per_sequence(self, tokens: int, tp: int = 1, kv_cache_dtype: str = "auto") -> int:
        """KV cache one sequence of ``tokens`` holds on one GPU, windows capped [B]."""
        check_int("tokens", tokens, ge=0)
        per_layer = self.kv_bytes_per_token_per_layer(tp, kv_cache_dtype)
        return sum(per_layer * (tokens if w is None else min(tokens, w)) for w in self.layer_windows)

    @property
    def windowed_layers(self) -> int:
        """Layers whose KV cache is capped by a sliding window or an attention chunk [1]."""
        return sum(w is not None for w in self.layer_windows)


# ---------------------------------------------------------------------- parsing
def _get(config: Mapping[str, Any], key: str, source: str, kind: type = int, default: Any = ...) -> Any:
    if key not in config or config[key] is None:
        if default is ...:
            raise ModelConfigError(source, key, "is missing")
        return default
    value = config[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ModelConfigError(source, key, f"must be a whole number, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ModelConfigError(source, key, f"must be true or false, got {value!r}")
    if kind is int and value < 0:
        raise ModelConfigError(source, key, f"must not be negative, got {value}")
    return value


def from_config(config: Mapping[str, Any], name: str = "model", source: str | None = None) -> ModelSpec:
    """Describe a model from its config.json (a dict).

    Parameters
    ----------
    config : Mapping
        The parsed config.json.
    name : str
        A label for the model.
    source : str, optional
        Where the config came from (a file name), for error messages; defaults to ``name``.

    Raises
    ------
    ModelConfigError
        A required field is missing or malformed, or the architecture is unknown.
    """
    src = source or name
    if not isinstance(config, Mapping):
        raise ModelConfigError(src, "(top level)", "must be a JSON object")
    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise ModelConfigError(src, "architectures", "is missing or not a list of names")
    arch = archs[0]
    if arch not in ARCHITECTURES:
        raise ModelConfigError(src, "architectures", f"names {arch!r}, which is not one of {sorted(ARCHITECTURES)}")
    family = ARCHITECTURES[arch]
    parse = {"llama": _llama, "mixtral": _mixtral, "qwen3_moe": _qwen3_moe, "deepseek_v3": _deepseek,
             "llama4": _llama4, "gpt_oss": _gpt_oss}[family]
    return parse(config, name, src, arch, family)


def _common(c: Mapping[str, Any], src: str) -> dict[str, Any]:
    h = _get(c, "hidden_size", src)
    heads = _get(c, "num_attention_heads", src)
    if heads == 0 or h == 0:
        raise ModelConfigError(src, "num_attention_heads" if heads == 0 else "hidden_size", "must be positive")
    return {
        "hidden_size": h,
        "num_layers": _get(c, "num_hidden_layers", src),
        "vocab_size": _get(c, "vocab_size", src),
        "tie_word_embeddings": _get(c, "tie_word_embeddings", src, bool, False),
        "num_heads": heads,
        "num_kv_heads": _get(c, "num_key_value_heads", src, int, heads),
        "head_dim": _get(c, "head_dim", src, int, h // heads),
    }


def _window(c: Mapping[str, Any], src: str) -> int | None:
    return _get(c, "sliding_window", src, int, None)


def _llama(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    window = _window(c, src) if c.get("use_sliding_window", True) else None
    bias = _get(c, "attention_bias", src, bool, arch == "Qwen2ForCausalLM")
    return ModelSpec(name, arch, family, **base, layer_kinds=("dense",) * n, layer_windows=(window,) * n,
                     dense_intermediate_size=_get(c, "intermediate_size", src), qkv_bias=bias,
                     o_bias=bias and arch != "Qwen2ForCausalLM", qk_norm=arch == "Qwen3ForCausalLM")


def _mixtral(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    return ModelSpec(name, arch, family, **base, layer_kinds=("moe",) * n, layer_windows=(_window(c, src),) * n,
                     moe_intermediate_size=_get(c, "intermediate_size", src),
                     num_experts=_get(c, "num_local_experts", src), experts_per_token=_get(c, "num_experts_per_tok", src))


def _qwen3_moe(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    step = _get(c, "decoder_sparse_step", src, int, 1)
    dense_only = set(c.get("mlp_only_layers") or [])
    experts = _get(c, "num_experts", src)
    kinds = tuple("moe" if (i not in dense_only and experts > 0 and step > 0 and (i + 1) % step == 0) else "dense"
                  for i in range(n))
    window = _window(c, src) if c.get("use_sliding_window", False) else None
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=(window,) * n,
                     dense_intermediate_size=_get(c, "intermediate_size", src),
                     moe_intermediate_size=_get(c, "moe_intermediate_size", src), num_experts=experts,
                     experts_per_token=_get(c, "num_experts_per_tok", src),
                     qkv_bias=_get(c, "attention_bias", src, bool, False), qk_norm=True)


def _deepseek(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    first_dense = _get(c, "first_k_dense_replace", src, int, 0)
    freq = _get(c, "moe_layer_freq", src, int, 1)
    experts = _get(c, "n_routed_experts", src)
    kinds = tuple("moe" if (experts and i >= first_dense and i % max(freq, 1) == 0) else "dense" for i in range(n))
    mla = {k: _get(c, k, src) for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")}
    mla["q_lora_rank"] = _get(c, "q_lora_rank", src, int, 0)
    base["head_dim"] = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=(None,) * n,
                     dense_intermediate_size=_get(c, "intermediate_size", src),
                     moe_intermediate_size=_get(c, "moe_intermediate_size", src), num_experts=experts,
                     experts_per_token=_get(c, "num_experts_per_tok", src),
                     num_shared_experts=_get(c, "n_shared_experts", src, int, 0), mla=mla,
                     router_bias=c.get("topk_method") == "noaux_tc")


def _llama4(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    text = c.get("text_config", c) if arch == "Llama4ForConditionalGeneration" else c
    if not isinstance(text, Mapping):
        raise ModelConfigError(src, "text_config", "must be a JSON object")
    base = _common(text, src)
    n = base["num_layers"]
    step = _get(text, "interleave_moe_layer_step", src, int, 1)
    moe_layers = text.get("moe_layers")
    if moe_layers is None:
        moe_layers = list(range(step - 1, n, step)) if step > 0 else []
    kinds = tuple("moe" if i in set(moe_layers) else "dense" for i in range(n))
    chunk = _get(text, "attention_chunk_size", src, int, None)
    no_rope = text.get("no_rope_layers")
    interval = _get(text, "no_rope_layer_interval", src, int, 4)
    if not no_rope:  # transformers: 1 = uses RoPE (chunked), 0 = NoPE (global)
        no_rope = [int((i + 1) % interval != 0) for i in range(n)]
    windows = tuple(chunk if (chunk and no_rope[i]) else None for i in range(n))
    vision = _llama4_vision_params(c.get("vision_config"), base["hidden_size"], src) \
        if arch == "Llama4ForConditionalGeneration" else 0
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=windows,
                     dense_intermediate_size=_get(text, "intermediate_size_mlp", src),
                     moe_intermediate_size=_get(text, "intermediate_size", src),
                     num_experts=_get(text, "num_local_experts", src),
                     experts_per_token=_get(text, "num_experts_per_tok", src), num_shared_experts=1,
                     qkv_bias=_get(text, "attention_bias", src, bool, False), vision_params=vision)


def _llama4_vision_params(v: Any, text_hidden: int, src: str) -> int:
    """Llama 4's vision encoder, pixel-shuffle adapter and projector [1].

    Shapes follow ``transformers.models.llama4.modeling_llama4``: a patch embedding
    without bias, a class embedding, learned positions for every patch plus the class
    token, LayerNorms before and after, ``num_hidden_layers`` ViT blocks (q, k, v, o with
    biases, a two-layer GELU MLP with biases, two LayerNorms), a pixel-shuffle MLP
    (``intermediate_size -> projector_input_dim -> projector_output_dim``, no biases) and a
    linear projector into the text model (no bias).
    """
    if not isinstance(v, Mapping):
        raise ModelConfigError(src, "vision_config", "is missing")
    h = _get(v, "hidden_size", src)
    inter = _get(v, "intermediate_size", src)
    layers = _get(v, "num_hidden_layers", src)
    patch = _get(v, "patch_size", src)
    channels = _get(v, "num_channels", src, int, 3)
    patches = (_get(v, "image_size", src) // patch) ** 2 + 1
    block = 4 * (h * h + h) + (h * inter + inter) + (inter * h + h) + 2 * 2 * h
    encoder = channels * patch * patch * h + h + patches * h + 2 * 2 * h + layers * block
    ratio = v.get("pixel_shuffle_ratio", 0.5)
    shuffled = int(h / (ratio * ratio))
    adapter = shuffled * _get(v, "projector_input_dim", src) + _get(v, "projector_input_dim", src) * _get(
        v, "projector_output_dim", src)
    projector = _get(v, "vision_output_dim", src) * text_hidden
    return encoder + adapter + projector


def _gpt_oss(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    window = _window(c, src)
    types = c.get("layer_types") or ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(n)]
    if len(types) != n:
        raise ModelConfigError(src, "layer_types", f"has {len(types)} entries for {n} layers")
    windows = tuple(window if t == "sliding_attention" else None for t in types)
    bias = _get(c, "attention_bias", src, bool, True)
    return ModelSpec(name, arch, family, **base, layer_kinds=("moe",) * n, layer_windows=windows,
                     moe_intermediate_size=_get(c, "intermediate_size", src),
                     num_experts=_get(c, "num_local_experts", src),
                     experts_per_token=_get(c, "num_experts_per_tok", src, int, c.get("experts_per_token")),
                     qkv_bias=bias, o_bias=bias, expert_bias=True, router_bias=True, sinks=True)


def expected_distinct_experts(num_experts: int, experts_per_token: int, tokens: int) -> float:
    """Expected distinct experts one MoE layer touches for ``tokens`` tokens in a step [1].

    Each token picks ``experts_per_token`` of ``num_experts`` experts; with routing taken
    as uniform and independent across tokens, an expert is missed by one token with
    probability ``1 - k/E``, so ``E x (1 - (1 - k/E)^tokens)`` experts are touched. Real
    routers are skewed, which lowers coverage at small batches; this is the uniform case.

    >>> round(expected_distinct_experts(16, 1, 1), 3)
    1.0
    >>> round(expected_distinct_experts(128, 8, 64), 1)   # 64 decoding sequences, Qwen3-style
    125.9
    """
    check_int("num_experts", num_experts, ge=1)
    check_int("experts_per_token", experts_per_token, ge=1, le=num_experts)
    check_int("tokens", tokens, ge=0)
    return num_experts * (1.0 - (1.0 - experts_per_token / num_experts) ** tokens)

