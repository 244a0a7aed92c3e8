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
  and chunked layers capped at their window;
- :meth:`ModelSpec.linear_modules` lists the linear layers by name (as the checkpoint names
  them) and :meth:`ModelSpec.precision_split` says which of them a checkpoint stores at its
  quantised precision and which stay 16-bit (``quantization_config``: the modules it ignores
  stay 16-bit, :class:`Quantization`);
- :meth:`ModelSpec.tp_problem` says why vLLM would refuse a tensor-parallel size (heads,
  KV heads or feed-forward widths it does not divide).

A config is untrusted input (issue 16): every number is bounded (:data:`LIMITS`, far above
any real model, low enough that a hostile config cannot make the library allocate
gigabytes), every list is checked entry by entry, and every refusal is a
:class:`~selfhost.errors.ModelConfigError` naming the file and the field.

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
``vllm/model_executor/layers/linear.py`` (KV heads replicated when TP exceeds them; a
tensor-parallel size must divide the query heads, and the KV heads or be divided by them),
``vllm/config/model.py`` (``verify_with_parallel_config``: heads divisible by TP),
``vllm/model_executor/layers/quantization/utils/quant_utils.py`` (``is_layer_skipped``: how
an ignored-module list is matched) and ``vllm/model_executor/models/qwen2.py``;
``transformers`` ``Qwen2Config`` / ``Qwen3Config`` (``use_sliding_window`` false by default;
sliding layers only from ``max_window_layers`` on).
"""

from __future__ import annotations

import fnmatch
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from selfhost.errors import DataError, ModelConfigError, ParameterError
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


#: The largest value each config field may take (a bound against hostile configs: far above
#: any real model; DeepSeek-V3 has 61 layers and 256 experts, Llama 4 a 202,048-token vocabulary).
LIMITS: dict[str, int] = {
    "num_hidden_layers": 4096, "hidden_size": 1 << 20, "intermediate_size": 1 << 22, "vocab_size": 1 << 24,
    "num_attention_heads": 1 << 14, "num_key_value_heads": 1 << 14, "head_dim": 1 << 14,
    "num_local_experts": 1 << 16, "num_experts": 1 << 16, "n_routed_experts": 1 << 16, "n_shared_experts": 1 << 10,
}
#: The bound on any other whole-number field.
DEFAULT_LIMIT = 1 << 40
#: Attention kinds a ``layer_types`` list may name.
LAYER_TYPES = ("full_attention", "sliding_attention", "chunked_attention")
#: ``quantization_config`` methods this library can size, by the weight precision they store.
QUANT_METHODS: dict[str, str] = {
    "fp8": "fp8", "fbgemm_fp8": "fp8", "modelopt": "fp8", "mxfp4": "mxfp4", "awq": "int4", "awq_marlin": "int4",
    "gptq": "int4", "gptq_marlin": "int4", "compressed-tensors": "", "bitsandbytes": "",
}


@dataclass(frozen=True)
class Quantization:
    """What a checkpoint's ``quantization_config`` says about its weights.

    Parameters
    ----------
    method : str
        ``quant_method`` as the config writes it.
    weight_dtype : str
        The precision of its quantised linear layers: ``fp8``, ``int8``, ``int4`` or ``mxfp4``.
    ignored : tuple[str, ...]
        Module names or patterns it leaves unquantised (``modules_to_not_convert``,
        ``ignored_layers`` or ``ignore``): those stay 16-bit.
    activations : bool
        Activations are quantised too (W8A8: FP8 or INT8 matmuls where the GPU has them);
        False for weight-only formats (AWQ, GPTQ, MXFP4).
    """

    method: str
    weight_dtype: str
    ignored: tuple[str, ...] = ()
    activations: bool = False

    def ignores(self, module: str) -> bool:
        """Whether ``module`` (``model.layers.3.self_attn.q_proj``) is left 16-bit.

        An entry matches the module itself, any module under it (``model.layers.0.mlp``
        covers its projections), a trailing part of its name at a dot (``lm_head``), a
        glob (``model.layers.*.self_attn``) or, with ``re:``, a regular expression
        (compressed-tensors); an experts module is ignored when an entry names it or one
        of its experts, as vLLM matches them.

        >>> q = Quantization("fp8", "fp8", ("model.layers.*.self_attn", "lm_head", "model.layers.1.mlp"))
        >>> q.ignores("model.layers.7.self_attn.q_proj"), q.ignores("model.layers.1.mlp.up_proj"), q.ignores("model.layers.2.mlp.up_proj")
        (True, True, False)
        """
        for entry in self.ignored:
            if entry.startswith("re:"):
                try:
                    if re.match(entry[3:], module):
                        return True
                except re.error:
                    continue
                continue
            if module == entry or module.startswith(entry + ".") or module.endswith("." + entry):
                return True
            if "*" in entry and (fnmatch.fnmatchcase(module, entry) or fnmatch.fnmatchcase(module, entry + ".*")):
                return True
            if module.endswith(".experts") and entry.startswith(module + "."):
                return True
        return False


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
    quantization : Quantization or None
        The checkpoint's own ``quantization_config``; None for a 16-bit checkpoint.
    source : str
        Where the config came from (a file), for error messages; defaults to ``name``.
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
    quantization: Quantization | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "vocab_size", "num_heads", "num_kv_heads", "head_dim"):
            check_int(name, getattr(self, name), ge=1)
        check_int("num_layers", self.num_layers, le=LIMITS["num_hidden_layers"])
        if len(self.layer_kinds) != self.num_layers or len(self.layer_windows) != self.num_layers:
            raise DataError(self.source or self.name, f"layer_kinds and layer_windows need {self.num_layers} entries")
        if "moe" in self.layer_kinds:
            check_int("num_experts", self.num_experts, ge=1)
            check_int("experts_per_token", self.experts_per_token, ge=1, le=self.num_experts)
        object.__setattr__(self, "mla", dict(self.mla))
        object.__setattr__(self, "source", self.source or self.name)

    def __hash__(self) -> int:
        return hash((self.name, self.source, self.architecture, self.hidden_size, self.num_layers))

    @property
    def _cache(self) -> dict[Any, Any]:
        """Derived lists kept per spec (equal specs share them): module lists, precision splits."""
        return _DERIVED.setdefault(self, {})

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


    # ------------------------------------------------------------------ linear layers and precision
    def _layer_prefix(self, i: int) -> str:
        return f"language_model.model.layers.{i}" if self.family == "llama4" else f"model.layers.{i}"

    def _attention_modules(self) -> list[tuple[str, int]]:
        """One layer's attention projections as (name, parameters incl. bias) [1]."""
        h = self.hidden_size
        if self.uses_mla:
            m = self.mla
            qk_head = m["qk_nope_head_dim"] + m["qk_rope_head_dim"]
            if m.get("q_lora_rank"):
                q = [("q_a_proj", h * m["q_lora_rank"]), ("q_b_proj", m["q_lora_rank"] * self.num_heads * qk_head)]
            else:
                q = [("q_proj", h * self.num_heads * qk_head)]
            return q + [("kv_a_proj_with_mqa", h * (m["kv_lora_rank"] + m["qk_rope_head_dim"])),
                        ("kv_b_proj", m["kv_lora_rank"] * self.num_heads * (m["qk_nope_head_dim"] + m["v_head_dim"])),
                        ("o_proj", self.num_heads * m["v_head_dim"] * h)]
        q_out, kv_out = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        bias = 1 if self.qkv_bias else 0
        return [("q_proj", h * q_out + bias * q_out), ("k_proj", h * kv_out + bias * kv_out),
                ("v_proj", h * kv_out + bias * kv_out), ("o_proj", q_out * h + (h if self.o_bias else 0))]

    def linear_modules(self) -> list[tuple[str, str, int]]:
        """Every linear layer of the text model: (module name, part, parameters) [1].

        Parts: ``attention``, ``dense_mlp``, ``routed_experts`` (one entry per layer for all its
        experts), ``shared_experts``, ``router``, ``lm_head``. Names follow the checkpoint's
        (``model.layers.0.self_attn.q_proj``; Llama 4 under ``language_model.``), which is
        what a ``quantization_config``'s ignore list names. Norms, attention sinks and the
        embedding are not linear layers (they stay 16-bit).

        >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 8, 1, 10, False, 2, 1, 4, ("dense",), (None,), 16)
        >>> [(n, k) for n, k, _ in spec.linear_modules()][:2], sum(c for _, _, c in spec.linear_modules())
        ([('model.layers.0.self_attn.q_proj', 'attention'), ('model.layers.0.self_attn.k_proj', 'attention')], 656)
        """
        cached = self._cache.get("modules")
        if cached is not None:
            return cached
        h = self.hidden_size
        attention = self._attention_modules()
        mlp_name = {"mixtral": "block_sparse_moe", "llama4": "feed_forward"}.get(self.family, "mlp")
        router_name = {"gpt_oss": "router", "llama4": "router"}.get(self.family, "gate")
        shared_name = "shared_expert" if self.family == "llama4" else "shared_experts"
        router = h * self.num_experts + (self.num_experts if self.router_bias else 0)
        out: list[tuple[str, str, int]] = []
        for i, kind in enumerate(self.layer_kinds):
            prefix = self._layer_prefix(i)
            out += [(f"{prefix}.self_attn.{name}", "attention", n) for name, n in attention]
            if kind == "dense":
                inter = self.dense_intermediate_size
                out += [(f"{prefix}.{mlp_name}.{name}", "dense_mlp", h * inter) for name in ("gate_proj", "up_proj", "down_proj")]
            else:
                out.append((f"{prefix}.{mlp_name}.experts", "routed_experts", self.num_experts * self.expert_params()))
                if self.num_shared_experts:
                    out.append((f"{prefix}.{mlp_name}.{shared_name}", "shared_experts",
                                self.num_shared_experts * self.expert_params()))
                out.append((f"{prefix}.{mlp_name}.{router_name}", "router", router))
        if not self.tie_word_embeddings:
            out.append(("lm_head", "lm_head", self.vocab_size * h))
        self._cache["modules"] = out
        return out

    def precision_split(self, weight_dtype: str) -> dict[str, tuple[int, int]]:
        """Linear parameters by part, split into (stored at ``weight_dtype``, kept 16-bit) [1].

        The lm_head and routers stay 16-bit (as vLLM and the quantised checkpoints keep
        them); ``mxfp4`` on a MoE model quantises only the experts (gpt-oss keeps attention
        in bf16). When ``weight_dtype`` is the checkpoint's own precision
        (:attr:`quantization`), the modules its ``quantization_config`` ignores stay 16-bit
        too (Meta's Llama 3.1 405B FP8 keeps attention and the first and last layers in
        BF16; gpt-oss keeps attention and routers). Attention and feed-forward parts not
        quantised, biases included, count at 16 bits.

        >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 8, 2, 10, False, 2, 1, 4, ("dense",) * 2, (None,) * 2, 16,
        ...                  quantization=Quantization("fp8", "fp8", ("model.layers.0.mlp",)))
        >>> spec.precision_split("fp8")["dense_mlp"], spec.precision_split("int4")["dense_mlp"]
        ((384, 384), (768, 0))
        """
        key = ("split", weight_dtype)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        parts = ("attention", "dense_mlp", "routed_experts", "shared_experts", "router", "lm_head")
        split = {part: [0, 0] for part in parts}
        sixteen = weight_dtype in ("bf16", "fp16")
        native = self.quantization if self.quantization and self.quantization.weight_dtype == weight_dtype else None
        experts_only = weight_dtype == "mxfp4" and self.is_moe
        for name, part, n in self.linear_modules():
            keep = (sixteen or part in ("router", "lm_head")
                    or (experts_only and part not in ("routed_experts", "shared_experts"))
                    or (native is not None and native.ignores(name)))
            split[part][1 if keep else 0] += n
        out = {part: (q, k) for part, (q, k) in split.items()}
        self._cache[key] = out
        return out

    # ------------------------------------------------------------------ tensor parallelism
    def tp_problem(self, tp: int) -> tuple[str, str] | None:
        """Why vLLM would refuse tensor-parallel size ``tp`` for this model: (field, reason), or None.

        vLLM splits the query heads evenly (``num_attention_heads % tp == 0``), splits the
        KV heads when there are at least ``tp`` of them (``kv % tp == 0``) and replicates
        them otherwise (``tp % kv == 0``), and splits the feed-forward and expert widths
        (``intermediate_size % tp == 0``).

        >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 8192, 1, 10, False, 64, 8, 128, ("dense",), (None,), 28672)
        >>> spec.tp_problem(8) is None, spec.tp_problem(3)[0]
        (True, 'num_attention_heads')
        """
        check_int("tp", tp, ge=1)
        if self.num_heads % tp:
            return "num_attention_heads", (f"= {self.num_heads} is not divisible by the tensor-parallel size {tp}: "
                                           "vLLM refuses to start")
        if not self.uses_mla:
            kv = self.num_kv_heads
            if (kv >= tp and kv % tp) or (kv < tp and tp % kv):
                return "num_key_value_heads", (f"= {kv} and the tensor-parallel size {tp} do not divide one another: "
                                               "vLLM refuses to start")
        if self.dense_layers and self.dense_intermediate_size % tp:
            return "intermediate_size", (f"= {self.dense_intermediate_size} is not divisible by the tensor-parallel "
                                         f"size {tp}: vLLM refuses to start")
        if self.is_moe and self.moe_intermediate_size % tp:
            return "moe_intermediate_size", (f"(the expert width) = {self.moe_intermediate_size} is not divisible by the "
                                             f"tensor-parallel size {tp}: vLLM refuses to start")
        return None

    def check_tp(self, tp: int) -> int:
        """``tp`` if vLLM can start this model on that many GPUs; else a ModelConfigError naming the file and field."""
        problem = self.tp_problem(tp)
        if problem is not None:
            raise ModelConfigError(self.source, *problem)
        return tp


#: Derived lists per spec, dropped with the spec.
_DERIVED: weakref.WeakKeyDictionary[ModelSpec, dict[Any, Any]] = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------------- parsing
def _get(config: Mapping[str, Any], key: str, source: str, kind: type = int, default: Any = ..., *,
         ge: int = 0, where: str = "") -> Any:
    """One field of a config, type-checked and bounded; ``where`` prefixes nested fields (``text_config.``)."""
    label = where + key
    if key not in config or config[key] is None:
        if default is ...:
            raise ModelConfigError(source, label, "is missing")
        return default
    value = config[key]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) <= DEFAULT_LIMIT:
                value = int(value)  # 8192.0: JSON writers sometimes print whole numbers as floats
            else:
                raise ModelConfigError(source, label, f"must be a whole number, got {_short(value)}")
        if value < ge:
            raise ModelConfigError(source, label, f"must be at least {ge}, got {value}")
        limit = LIMITS.get(key, DEFAULT_LIMIT)
        if value > limit:
            raise ModelConfigError(source, label, f"= {value} is larger than any model this library sizes (at most {limit:,})")
    elif kind is bool and not isinstance(value, bool):
        raise ModelConfigError(source, label, f"must be true or false, got {_short(value)}")
    elif kind is float and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value):
        raise ModelConfigError(source, label, f"must be a number, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int_list(config: Mapping[str, Any], key: str, source: str, *, length: int | None = None, lo: int = 0,
              hi: int | None = None, where: str = "") -> list[int] | None:
    """A list of whole numbers in ``[lo, hi]`` (``length`` entries if given), or None when absent."""
    value = config.get(key)
    if value is None:
        return None
    label = where + key
    if not isinstance(value, list):
        raise ModelConfigError(source, label, f"must be a list of whole numbers, got {_short(value)}")
    if length is not None and len(value) != length:
        raise ModelConfigError(source, label, f"has {len(value)} entries for {length} layers")
    if hi is not None and len(value) > max(hi + 1, length or 0):
        raise ModelConfigError(source, label, f"has {len(value)} entries, more than there are layers")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item < lo or (hi is not None and item > hi):
            span = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise ModelConfigError(source, f"{label}[{i}]", f"must be a whole number {span}, got {_short(item)}")
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
        A required field is missing, malformed or out of bounds, the shape is one vLLM
        refuses (KV heads that do not divide the query heads, a zero width or window), or
        the architecture is unknown. The message names ``source`` and the field.
    """
    src = source or name
    if not isinstance(config, Mapping):
        raise ModelConfigError(src, "(top level)", "must be a JSON object")
    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        raise ModelConfigError(src, "architectures", "is missing or not a list of names")
    arch = archs[0]
    if arch not in ARCHITECTURES:
        raise ModelConfigError(src, "architectures", f"names {_short(arch)}, which is not one of {sorted(ARCHITECTURES)}")
    family = ARCHITECTURES[arch]
    parse = {"llama": _llama, "mixtral": _mixtral, "qwen3_moe": _qwen3_moe, "deepseek_v3": _deepseek,
             "llama4": _llama4, "gpt_oss": _gpt_oss}[family]
    quant = parse_quantization(config.get("quantization_config"), src)
    try:
        spec = parse(config, name, src, arch, family)
    except ParameterError as exc:  # a ModelSpec invariant: name the file and the field, not the internal name
        raise ModelConfigError(src, exc.name, f"is invalid: expected {exc.expected}") from None
    return spec if quant is None else replace(spec, quantization=quant)


def parse_quantization(q: Any, src: str) -> Quantization | None:
    """A config's ``quantization_config`` as a :class:`Quantization` (None when absent).

    ``fp8`` / ``fbgemm_fp8`` / ``modelopt`` store FP8 weights and activations; ``mxfp4``
    four-bit experts; ``awq`` / ``gptq`` ``bits``-bit integer weights (weight-only);
    ``compressed-tensors`` what its first config group says (``num_bits``, ``type``, and
    whether ``input_activations`` are quantised); ``bitsandbytes`` 4- or 8-bit weights.

    >>> parse_quantization({"quant_method": "fp8", "weight_block_size": [128, 128]}, "x.json")
    Quantization(method='fp8', weight_dtype='fp8', ignored=(), activations=True)
    >>> parse_quantization({"quant_method": "gptq", "bits": 4}, "x.json").weight_dtype
    'int4'
    """
    if q is None:
        return None
    if not isinstance(q, Mapping):
        raise ModelConfigError(src, "quantization_config", "must be a JSON object")
    method = q.get("quant_method")
    if not isinstance(method, str) or method not in QUANT_METHODS:
        raise ModelConfigError(src, "quantization_config.quant_method",
                               f"names {_short(method)}, which this library cannot size; known: {sorted(QUANT_METHODS)}")
    ignored: list[str] = []
    for key in ("modules_to_not_convert", "ignored_layers", "ignore"):
        entries = q.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ModelConfigError(src, f"quantization_config.{key}", "must be a list of module names")
        if len(entries) > 1 << 16:
            raise ModelConfigError(src, f"quantization_config.{key}", f"has {len(entries)} entries, too many to check")
        ignored += entries
    dtype, activations = QUANT_METHODS[method], method in ("fp8", "fbgemm_fp8", "modelopt")
    if method in ("awq", "awq_marlin", "gptq", "gptq_marlin"):
        bits = _get(q, "bits", src, int, 4, where="quantization_config.")
        if bits not in (4, 8):
            raise ModelConfigError(src, "quantization_config.bits", f"must be 4 or 8, got {bits}")
        dtype = f"int{bits}"
    elif method == "bitsandbytes":
        dtype = "int8" if q.get("load_in_8bit") is True else "int4"
    elif method == "compressed-tensors":
        groups = q.get("config_groups")
        group = next(iter(groups.values()), None) if isinstance(groups, Mapping) and groups else None
        weights = group.get("weights") if isinstance(group, Mapping) else None
        if not isinstance(weights, Mapping):
            raise ModelConfigError(src, "quantization_config.config_groups", "needs a group with a 'weights' scheme")
        bits = _get(weights, "num_bits", src, int, where="quantization_config.config_groups.weights.")
        kind = weights.get("type", "int")
        if (bits, kind) == (8, "float"):
            dtype = "fp8"
        elif bits in (4, 8) and kind == "int":
            dtype = f"int{bits}"
        else:
            raise ModelConfigError(src, "quantization_config.config_groups.weights",
                                   f"{bits}-bit {_short(kind)} weights are not sized by this library")
        activations = isinstance(group.get("input_activations"), Mapping) and bits == 8  # type: ignore[union-attr]
    return Quantization(method, dtype, tuple(ignored), activations)


def _common(c: Mapping[str, Any], src: str, where: str = "") -> dict[str, Any]:
    h = _get(c, "hidden_size", src, ge=1, where=where)
    heads = _get(c, "num_attention_heads", src, ge=1, where=where)
    kv = _get(c, "num_key_value_heads", src, int, heads, ge=1, where=where)
    if kv > heads:
        raise ModelConfigError(src, where + "num_key_value_heads",
                               f"= {kv} exceeds num_attention_heads = {heads}: each KV head serves a group of query heads")
    if heads % kv:
        raise ModelConfigError(src, where + "num_key_value_heads",
                               f"= {kv} does not divide num_attention_heads = {heads} (grouped-query attention needs "
                               "equal groups)")
    head_dim = _get(c, "head_dim", src, int, h // heads, where=where)
    if head_dim < 1:
        raise ModelConfigError(src, where + "head_dim", f"is {head_dim}: hidden_size {h} is smaller than the {heads} heads")
    return {
        "hidden_size": h,
        "num_layers": _get(c, "num_hidden_layers", src, ge=1, where=where),
        "vocab_size": _get(c, "vocab_size", src, ge=1, where=where),
        "tie_word_embeddings": _get(c, "tie_word_embeddings", src, bool, False, where=where),
        "num_heads": heads,
        "num_kv_heads": kv,
        "head_dim": head_dim,
    }


def _window(c: Mapping[str, Any], src: str, where: str = "") -> int | None:
    return _get(c, "sliding_window", src, int, None, ge=1, where=where)


def _layer_types(c: Mapping[str, Any], src: str, n: int) -> list[str] | None:
    """``layer_types`` checked: ``n`` entries, each an attention kind in :data:`LAYER_TYPES`."""
    types = c.get("layer_types")
    if types is None:
        return None
    if not isinstance(types, list):
        raise ModelConfigError(src, "layer_types", "must be a list of attention kinds")
    if len(types) != n:
        raise ModelConfigError(src, "layer_types", f"has {len(types)} entries for {n} layers")
    for i, t in enumerate(types):
        if t not in LAYER_TYPES:
            raise ModelConfigError(src, f"layer_types[{i}]", f"is {_short(t)}, not one of {list(LAYER_TYPES)} "
                                   "(an unknown kind is not taken as full attention)")
    return types


def _llama(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    qwen = arch in ("Qwen2ForCausalLM", "Qwen3ForCausalLM")
    types = _layer_types(c, src, n)
    if qwen:
        # transformers' Qwen2Config/Qwen3Config: no sliding window unless use_sliding_window, and then
        # only on layers from max_window_layers on (vLLM serves it only on all layers or none).
        use = _get(c, "use_sliding_window", src, bool, False)
        window = _window(c, src) if use else None
        first = _get(c, "max_window_layers", src, int, 28)
        windows = tuple(window if (window is not None and i >= first) else None for i in range(n))
    else:
        window = _window(c, src)
        windows = (window,) * n
    if types is not None:
        window = _window(c, src)
        if window is None and "sliding_attention" in types:
            raise ModelConfigError(src, "sliding_window", "is missing, but layer_types names sliding_attention layers")
        windows = tuple(window if t == "sliding_attention" else None for t in types)
    if qwen and len(set(windows)) > 1:
        raise ModelConfigError(src, "max_window_layers", "puts a sliding window on some layers but not all, which "
                               "vLLM 0.32.0 refuses for Qwen2/Qwen3 (max_window_layers must equal num_hidden_layers)")
    bias = _get(c, "attention_bias", src, bool, arch == "Qwen2ForCausalLM")
    return ModelSpec(name, arch, family, **base, layer_kinds=("dense",) * n, layer_windows=windows,
                     dense_intermediate_size=_get(c, "intermediate_size", src, ge=1), qkv_bias=bias,
                     o_bias=bias and arch != "Qwen2ForCausalLM", qk_norm=arch == "Qwen3ForCausalLM", source=src)


def _experts(c: Mapping[str, Any], src: str, experts_key: str, k_key: str, where: str = "",
             k_default: Any = ...) -> tuple[int, int]:
    experts = _get(c, experts_key, src, ge=1, where=where)
    k = _get(c, k_key, src, int, k_default, ge=1, where=where)
    if k > experts:
        raise ModelConfigError(src, where + k_key, f"= {k} exceeds the {experts} experts ({experts_key})")
    return experts, k


def _mixtral(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    experts, k = _experts(c, src, "num_local_experts", "num_experts_per_tok")
    return ModelSpec(name, arch, family, **base, layer_kinds=("moe",) * n, layer_windows=(_window(c, src),) * n,
                     moe_intermediate_size=_get(c, "intermediate_size", src, ge=1),
                     num_experts=experts, experts_per_token=k, source=src)


def _qwen3_moe(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    step = _get(c, "decoder_sparse_step", src, int, 1, ge=1)
    dense_only = set(_int_list(c, "mlp_only_layers", src, hi=n - 1) or [])
    experts, k = _experts(c, src, "num_experts", "num_experts_per_tok")
    kinds = tuple("moe" if (i not in dense_only and (i + 1) % step == 0) else "dense" for i in range(n))
    window = _window(c, src) if _get(c, "use_sliding_window", src, bool, False) else None
    dense = _get(c, "intermediate_size", src, ge=1) if "dense" in kinds else _get(c, "intermediate_size", src, int, 0)
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=(window,) * n,
                     dense_intermediate_size=dense, moe_intermediate_size=_get(c, "moe_intermediate_size", src, ge=1),
                     num_experts=experts, experts_per_token=k,
                     qkv_bias=_get(c, "attention_bias", src, bool, False), qk_norm=True, source=src)


def _deepseek(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    first_dense = _get(c, "first_k_dense_replace", src, int, 0)
    freq = _get(c, "moe_layer_freq", src, int, 1, ge=1)
    experts, k = _experts(c, src, "n_routed_experts", "num_experts_per_tok")
    kinds = tuple("moe" if (i >= first_dense and i % freq == 0) else "dense" for i in range(n))
    mla = {key: _get(c, key, src, ge=1) for key in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")}
    mla["q_lora_rank"] = _get(c, "q_lora_rank", src, int, 0)
    base["head_dim"] = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
    dense = _get(c, "intermediate_size", src, ge=1) if "dense" in kinds else _get(c, "intermediate_size", src, int, 0)
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=(None,) * n,
                     dense_intermediate_size=dense, moe_intermediate_size=_get(c, "moe_intermediate_size", src, ge=1),
                     num_experts=experts, experts_per_token=k,
                     num_shared_experts=_get(c, "n_shared_experts", src, int, 0), mla=mla,
                     router_bias=c.get("topk_method") == "noaux_tc", source=src)


def _llama4(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    where = "text_config." if arch == "Llama4ForConditionalGeneration" and "text_config" in c else ""
    text = c.get("text_config", c) if where else c
    if not isinstance(text, Mapping):
        raise ModelConfigError(src, "text_config", "must be a JSON object")
    base = _common(text, src, where)
    n = base["num_layers"]
    step = _get(text, "interleave_moe_layer_step", src, int, 1, ge=1, where=where)
    moe_layers = _int_list(text, "moe_layers", src, hi=n - 1, where=where)
    if moe_layers is None:
        moe_layers = list(range(step - 1, n, step))
    chosen = set(moe_layers)
    kinds = tuple("moe" if i in chosen else "dense" for i in range(n))
    chunk = _get(text, "attention_chunk_size", src, int, None, ge=1, where=where)
    no_rope = _int_list(text, "no_rope_layers", src, length=n, lo=0, hi=1, where=where)
    interval = _get(text, "no_rope_layer_interval", src, int, 4, ge=1, where=where)
    if not no_rope:  # transformers: 1 = uses RoPE (chunked), 0 = NoPE (global)
        no_rope = [int((i + 1) % interval != 0) for i in range(n)]
    windows = tuple(chunk if (chunk and no_rope[i]) else None for i in range(n))
    vision = _llama4_vision_params(c.get("vision_config"), base["hidden_size"], src) \
        if arch == "Llama4ForConditionalGeneration" else 0
    experts, k = _experts(text, src, "num_local_experts", "num_experts_per_tok", where)
    dense = _get(text, "intermediate_size_mlp", src, ge=1, where=where) if "dense" in kinds else \
        _get(text, "intermediate_size_mlp", src, int, 0, where=where)
    return ModelSpec(name, arch, family, **base, layer_kinds=kinds, layer_windows=windows,
                     dense_intermediate_size=dense, moe_intermediate_size=_get(text, "intermediate_size", src, ge=1,
                                                                               where=where),
                     num_experts=experts, experts_per_token=k, num_shared_experts=1,
                     qkv_bias=_get(text, "attention_bias", src, bool, False, where=where), vision_params=vision,
                     source=src)


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
        raise ModelConfigError(src, "vision_config", "is missing or not a JSON object")
    w = "vision_config."
    h = _get(v, "hidden_size", src, ge=1, where=w)
    inter = _get(v, "intermediate_size", src, ge=1, where=w)
    layers = _get(v, "num_hidden_layers", src, ge=1, where=w)
    if layers > LIMITS["num_hidden_layers"]:
        raise ModelConfigError(src, w + "num_hidden_layers", f"= {layers} is larger than any model this library sizes")
    patch = _get(v, "patch_size", src, ge=1, where=w)
    channels = _get(v, "num_channels", src, int, 3, ge=1, where=w)
    image = _get(v, "image_size", src, ge=1, where=w)
    if image > 1 << 16 or patch > image:
        raise ModelConfigError(src, w + "image_size", f"= {image} with patch_size {patch} is not a plausible image grid")
    patches = (image // patch) ** 2 + 1
    block = 4 * (h * h + h) + (h * inter + inter) + (inter * h + h) + 2 * 2 * h
    encoder = channels * patch * patch * h + h + patches * h + 2 * 2 * h + layers * block
    ratio = _get(v, "pixel_shuffle_ratio", src, float, 0.5, where=w)
    if not 0 < ratio <= 1:
        raise ModelConfigError(src, w + "pixel_shuffle_ratio", f"must be in (0, 1], got {ratio}")
    shuffled = int(h / (ratio * ratio))
    proj_in = _get(v, "projector_input_dim", src, ge=1, where=w)
    adapter = shuffled * proj_in + proj_in * _get(v, "projector_output_dim", src, ge=1, where=w)
    projector = _get(v, "vision_output_dim", src, ge=1, where=w) * text_hidden
    return encoder + adapter + projector


def _gpt_oss(c: Mapping[str, Any], name: str, src: str, arch: str, family: str) -> ModelSpec:
    base = _common(c, src)
    n = base["num_layers"]
    window = _window(c, src)
    types = _layer_types(c, src, n) or ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(n)]
    if window is None and "sliding_attention" in types:
        raise ModelConfigError(src, "sliding_window", "is missing, but the model has sliding_attention layers")
    windows = tuple(window if t == "sliding_attention" else None for t in types)
    bias = _get(c, "attention_bias", src, bool, True)
    k_default = c.get("experts_per_token")
    experts, k = _experts(c, src, "num_local_experts", "num_experts_per_tok",
                          k_default=... if k_default is None else _get(c, "experts_per_token", src, ge=1))
    return ModelSpec(name, arch, family, **base, layer_kinds=("moe",) * n, layer_windows=windows,
                     moe_intermediate_size=_get(c, "intermediate_size", src, ge=1),
                     num_experts=experts, experts_per_token=k,
                     qkv_bias=bias, o_bias=bias, expert_bias=True, router_bias=True, sinks=True, source=src)


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

