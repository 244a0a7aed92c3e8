"""What one deployment can serve: a roofline model of prefill, decode, TTFT and daily capacity.

A forward step of a transformer reads its weights (and, for every decoding sequence, that
sequence's KV cache) from memory, and does about two FLOPs per weight per token plus the
attention's FLOPs. On a device with memory bandwidth ``BW`` and matrix-multiply rate ``F``,
the step cannot take less than the larger of ``bytes / BW`` and ``FLOPs / F``: the
roofline [1, 2]. Decode steps (one token per sequence) read many bytes per FLOP and are
memory-bound until the batch is large; prefill (hundreds of tokens per sequence at once)
is compute-bound. Real engines sit below the roofline: :class:`Efficiency` holds the
shares of peak bandwidth and compute they reach, calibrated on published measurements
(``data/published_serving.csv``, :func:`selfhost.capacity.calibrate`) and checked against
the CPU runs in ``data/capacity_runs/``, never assumed.

- :func:`step_time` is one forward step carrying ``decode_batch`` decoding sequences and
  ``prefill_tokens`` prompt tokens (vLLM's V1 scheduler mixes them: chunked prefill);
- :func:`prefill_time` is one prompt alone; :func:`decode_tok_per_s` a pure decode batch;
  :func:`ttft_s` a prompt's time to first token when the device is busy with other prompts;
- :func:`wave_output_tok_per_s` is the closed-loop benchmark (``C`` requests at a time, all
  of one length), what the CPU runs and most published results measure;
- :func:`operating_point` is steady-state serving at batch ``B`` with an input/output split:
  TPOT, TTFT (mean, and p90/p99 from the queue's tail: :func:`md1_wait_quantile_s`) and
  tokens/s; :func:`capacity` picks the largest batch within a latency target and the
  memory (:mod:`selfhost.memory`) and returns tokens/day; :func:`max_throughput` the
  largest batch memory allows, with no latency target;
- :func:`mbu` and :func:`mfu` turn a measured throughput into the share of peak
  bandwidth and FLOP/s it implies.

Weights read per step follow :func:`selfhost.moe.weights_read_per_step` (mixture-of-experts
layers read the experts the step's tokens touch, uniform routing), at the bytes per weight
of :func:`selfhost.memory.linear_bytes` (embeddings, lm_head, norms and routers stay
16-bit, and so do the modules a checkpoint's ``quantization_config`` ignores). Matmuls run
at the precision's rate (:func:`compute_tflop_per_s`: W8A8 FP8 and INT8 where the GPU has
those tensor cores, the 16-bit rate otherwise). Tensor parallelism over ``n`` devices adds
their bandwidth and compute, and pays a stated communication term (:func:`allreduce_s`):
two all-reduces of the step's activations per layer, each a fixed latency plus a ring's
``2 (n - 1) / n`` of the bytes over the GPU-to-GPU link, not overlapped with compute.

Pure functions; no I/O.

References
----------
[1] Williams, Waterman, Patterson, "Roofline: an insightful visual performance model",
CACM 52(4), 2009. [2] Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023
(decode memory-bound, 2 FLOPs per parameter per token, MBU/MFU). [3] Kaplan et al. 2020,
"Scaling Laws for Neural Language Models" (forward FLOPs ~ 2N + 2 n_layer n_ctx d_attn).
[4] Kwon et al. 2023, "Efficient Memory Management for LLM Serving with PagedAttention"
(continuous batching); vLLM 0.32.0 ``vllm/v1/core/sched/scheduler.py`` (decodes first,
then prompt chunks up to ``max_num_batched_tokens``). [5] Kleinrock, *Queueing Systems*
vol. 1 (1975): M/D/1 mean wait ``rho S / (2 (1 - rho))``; the tail of the M/G/1 wait
decays as ``exp(-theta t)`` with ``theta`` the root of ``lambda (E[exp(theta S)] - 1) =
theta`` (Cramer-Lundberg; Asmussen, *Applied Probability and Queues*, 2003, XIII.5).
Databricks, "LLM Inference Performance Engineering: Best Practices" (2023): MBU
definition. Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms", JPDC 2009 (the
ring all-reduce moves ``2 (n - 1) / n`` of the buffer); Shoeybi et al. 2019, Megatron-LM
(two all-reduces per layer under tensor parallelism).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from selfhost import memory
from selfhost.errors import ParameterError
from selfhost.modelspec import ModelSpec, expected_distinct_experts
from selfhost.params import check_choice, check_int, check_number
from selfhost.units import SECONDS_PER_DAY


# ---------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Device:
    """Peak limits of the devices serving one model replica.

    Parameters
    ----------
    name : str
        A label.
    memory_bandwidth_gb_per_s : float
        Peak memory bandwidth of one device [GB/s] (10^9 B/s).
    matmul_tflop_per_s : float
        Peak dense matrix-multiply rate of one device at the precision the model computes
        in [TFLOP/s].
    count : int
        Devices under tensor parallelism [1]; bandwidth and compute add up.
    interconnect_gb_per_s : float or None
        GPU-to-GPU bandwidth of one device in one direction [GB/s]; None where unknown
        (:data:`FALLBACK_INTERCONNECT_GB_PER_S` is then assumed).
    """

    name: str
    memory_bandwidth_gb_per_s: float
    matmul_tflop_per_s: float
    count: int = 1
    interconnect_gb_per_s: float | None = None

    def __post_init__(self) -> None:
        check_number("memory_bandwidth_gb_per_s", self.memory_bandwidth_gb_per_s, gt=0, le=1e5)
        check_number("matmul_tflop_per_s", self.matmul_tflop_per_s, gt=0, le=1e5)
        check_int("count", self.count, ge=1, le=1024)
        if self.interconnect_gb_per_s is not None:
            check_number("interconnect_gb_per_s", self.interconnect_gb_per_s, gt=0, le=1e5)

    @property
    def bytes_per_s(self) -> float:
        """Aggregate bandwidth [B/s]."""
        return self.memory_bandwidth_gb_per_s * 1e9 * self.count

    @property
    def flop_per_s(self) -> float:
        """Aggregate compute [FLOP/s]."""
        return self.matmul_tflop_per_s * 1e12 * self.count


@dataclass(frozen=True)
class Efficiency:
    """How far an engine sits below the roofline.

    Parameters
    ----------
    bandwidth_share : float
        Share of peak bandwidth a memory-bound step reaches (the MBU it attains) [1].
    compute_share : float
        Share of peak FLOP/s a compute-bound step reaches (the MFU it attains) [1].
    """

    bandwidth_share: float = 1.0
    compute_share: float = 1.0

    def __post_init__(self) -> None:
        check_number("bandwidth_share", self.bandwidth_share, gt=0, le=1)
        check_number("compute_share", self.compute_share, gt=0, le=1)


ROOFLINE = Efficiency(1.0, 1.0)
#: Latency of one small all-reduce among tensor-parallel GPUs [s]: an assumption of the
#: order NCCL and vLLM's custom all-reduce reach on NVLink (a few to tens of microseconds).
ALLREDUCE_LATENCY_S = 10e-6
#: GPU-to-GPU bandwidth assumed where a GPU's is not in ``data/gpus.csv`` [GB/s]: PCIe Gen4
#: x16 in one direction.
FALLBACK_INTERCONNECT_GB_PER_S = 32.0


def compute_tflop_per_s(weight_dtype: str, bf16_tflop_per_s: float, fp8_tflop_per_s: float | None,
                        int8_tflop_per_s: float | None = None) -> float:
    """The matmul rate a precision computes at [TFLOP/s].

    FP8 weights run FP8 matmuls where the device has FP8 tensor cores (W8A8 FP8, Ada,
    Hopper and later); on older devices vLLM dequantises them (weight-only FP8, Marlin).
    INT8 weights run INT8 matmuls where the device has INT8 tensor cores (W8A8 INT8, as
    vLLM's compressed-tensors and SmoothQuant checkpoints do on Ampere and Hopper). INT4
    and MXFP4 are weight-only (W4A16): they compute at the 16-bit rate.

    >>> compute_tflop_per_s("fp8", 989.4, 1978.9), compute_tflop_per_s("fp8", 312.0, None)
    (1978.9, 312.0)
    >>> compute_tflop_per_s("int8", 312.0, None, 624.0), compute_tflop_per_s("int4", 312.0, None, 624.0)
    (624.0, 312.0)
    """
    check_choice("weight_dtype", weight_dtype, memory.WEIGHT_DTYPES)
    if weight_dtype == "fp8" and fp8_tflop_per_s:
        return fp8_tflop_per_s
    if weight_dtype == "int8" and int8_tflop_per_s:
        return int8_tflop_per_s
    return bf16_tflop_per_s


# ---------------------------------------------------------------------- bytes and FLOPs
def weight_bytes_per_step(spec: ModelSpec, step_tokens: int, weight_dtype: str = "bf16",
                          int4_group_size: int = 128) -> float:
    """Bytes of weights a forward step over ``step_tokens`` tokens reads [B].

    Every weight but the input embedding and the untouched routed experts is read once per
    step. Linear layers are stored at ``weight_dtype`` (scales included), except those the
    precision or the checkpoint keeps 16-bit (:func:`selfhost.memory.linear_bytes`); norms
    and the rest in 16 bits.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> weight_bytes_per_step(spec, 1, "bf16") == 2 * (spec.params().total - spec.params().embedding)
    True
    """
    check_int("step_tokens", step_tokens, ge=1)
    check_choice("weight_dtype", weight_dtype, memory.WEIGHT_DTYPES)
    p = spec.params()
    share = 1.0
    if spec.is_moe:
        share = expected_distinct_experts(spec.num_experts, spec.experts_per_token, step_tokens) / spec.num_experts
    linear = sum(q + k for q, k in spec.precision_split(weight_dtype).values())
    rest = p.text_total - p.embedding - linear  # norms, norm-like attention extras, sinks
    return memory.linear_bytes(spec, weight_dtype, int4_group_size, experts_read_share=share) \
        + memory.BYTES_16BIT * rest


def matmul_flops_per_token(spec: ModelSpec) -> float:
    """FLOPs of the weight multiplies for one token: ``2 x`` active matmul parameters [FLOP] [2, 3]."""
    return 2.0 * spec.params().active_matmul


def _attention_width(spec: ModelSpec) -> int:
    """``heads x (d_qk + d_v)`` of one layer: the FLOPs per attended token are twice it."""
    if spec.uses_mla:
        m = spec.mla
        return spec.num_heads * (m["qk_nope_head_dim"] + m["qk_rope_head_dim"] + m["v_head_dim"])
    return spec.num_heads * 2 * spec.head_dim


def attention_flops_per_token(spec: ModelSpec, context_tokens: int) -> float:
    """FLOPs of attention for one new token that attends to ``context_tokens`` tokens [FLOP].

    ``2 x heads x (d_qk + d_v)`` per attended token per layer (scores and weighted sum),
    windowed layers capped at their window [3].

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 1, 100, False, 4, 2, 16, ("dense",), (None,), 128)
    >>> attention_flops_per_token(spec, 10)   # 2 x 4 heads x 32 x 10
    2560.0
    """
    check_int("context_tokens", context_tokens, ge=0)
    width = _attention_width(spec)
    return float(sum(2 * width * (context_tokens if w is None else min(context_tokens, w)) for w in spec.layer_windows))


def prompt_attention_flops(spec: ModelSpec, prompt_tokens: int) -> float:
    """FLOPs of causal attention over a whole prompt: token ``t`` attends to ``t`` tokens [FLOP]."""
    check_int("prompt_tokens", prompt_tokens, ge=0)
    width = _attention_width(spec)
    n = prompt_tokens
    total = 0
    for w in spec.layer_windows:
        if w is None or w >= n:
            attended = n * (n + 1) // 2
        else:
            attended = w * (w + 1) // 2 + (n - w) * w
        total += 2 * width * attended
    return float(total)


# ---------------------------------------------------------------------- tensor-parallel communication
def allreduce_s(spec: ModelSpec, device: Device, tokens: int) -> float:
    """Time the tensor-parallel all-reduces of one step over ``tokens`` tokens take [s].

    Two all-reduces per layer (after attention and after the feed-forward), each of
    ``tokens x hidden`` 16-bit activations: ``2 L (latency + 2 (n - 1) / n x bytes / link)``
    [6, 7], with :data:`ALLREDUCE_LATENCY_S` and the device's link (or
    :data:`FALLBACK_INTERCONNECT_GB_PER_S`). Zero on one device.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 1000, 2, 100, False, 4, 2, 16, ("dense",) * 2, (None,) * 2, 128)
    >>> allreduce_s(spec, Device("d", 1.0, 1.0, 1), 10), round(allreduce_s(spec, Device("d", 1.0, 1.0, 2, 10.0), 500) * 1e6, 1)
    (0.0, 440.0)
    """
    check_int("tokens", tokens, ge=0)
    n = device.count
    if n == 1 or tokens == 0:
        return 0.0
    link = (device.interconnect_gb_per_s or FALLBACK_INTERCONNECT_GB_PER_S) * 1e9
    nbytes = tokens * spec.hidden_size * memory.BYTES_16BIT
    return 2 * spec.num_layers * (ALLREDUCE_LATENCY_S + 2 * (n - 1) / n * nbytes / link)


# ---------------------------------------------------------------------- one step
@dataclass(frozen=True)
class StepTime:
    """One forward step on the roofline.

    ``memory_s`` and ``compute_s`` are the two floors (already divided by the
    efficiencies); ``comm_s`` the tensor-parallel all-reduces; ``time_s`` the larger floor
    plus the communication; ``bytes`` and ``flops`` are what the step moves and computes.
    """

    memory_s: float
    compute_s: float
    bytes: float
    flops: float
    comm_s: float = 0.0

    @property
    def time_s(self) -> float:
        return max(self.memory_s, self.compute_s) + self.comm_s

    @property
    def bound(self) -> str:
        """``memory`` or ``compute``: which floor sets the time."""
        return "memory" if self.memory_s >= self.compute_s else "compute"


def step_time(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, decode_batch: int = 1,
              context_tokens: int = 0, prefill_tokens: int = 0, prefill_context_tokens: int = 0,
              weight_dtype: str = "bf16", kv_cache_dtype: str = "auto") -> StepTime:
    """A forward step with ``decode_batch`` decoding sequences and ``prefill_tokens`` prompt tokens.

    Parameters
    ----------
    decode_batch : int
        Sequences decoding one token each [1].
    context_tokens : int
        Tokens each decoding sequence holds in its KV cache (read in full) [tok].
    prefill_tokens : int
        Prompt tokens computed in the same step [tok].
    prefill_context_tokens : int
        Tokens the prompt tokens attend to on average [tok] (half the prompt for a whole
        prompt; more for a late chunk).

    Returns
    -------
    StepTime
        ``bytes = weights read + decode_batch x KV of one sequence``;
        ``FLOPs = tokens x 2 x active + attention`` [2, 3]; the all-reduces of
        :func:`allreduce_s`.
    """
    check_int("decode_batch", decode_batch, ge=0)
    check_int("prefill_tokens", prefill_tokens, ge=0)
    check_int("prefill_context_tokens", prefill_context_tokens, ge=0)
    tokens = decode_batch + prefill_tokens
    if tokens < 1:
        raise ParameterError("decode_batch + prefill_tokens", tokens, "at least one decoding sequence or prompt token")
    kv = spec.kv_bytes_per_sequence(context_tokens, 1, kv_cache_dtype)
    nbytes = weight_bytes_per_step(spec, tokens, weight_dtype) + decode_batch * kv
    flops = (tokens * matmul_flops_per_token(spec) + decode_batch * attention_flops_per_token(spec, context_tokens)
             + prefill_tokens * attention_flops_per_token(spec, prefill_context_tokens))
    return StepTime(nbytes / (device.bytes_per_s * efficiency.bandwidth_share),
                    flops / (device.flop_per_s * efficiency.compute_share), nbytes, flops,
                    allreduce_s(spec, device, tokens))


def decode_tok_per_s(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, batch: int,
                     context_tokens: int, weight_dtype: str = "bf16", kv_cache_dtype: str = "auto") -> float:
    """Tokens per second of a pure decode step over ``batch`` sequences [tok/s].

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> d = Device("d", 1.0, 1.0)
    >>> decode_tok_per_s(spec, d, batch=2, context_tokens=0) == 2 * decode_tok_per_s(spec, d, batch=1, context_tokens=0)
    True
    """
    check_int("batch", batch, ge=1)
    return batch / step_time(spec, device, efficiency, decode_batch=batch, context_tokens=context_tokens,
                             weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype).time_s


def prefill_time(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, prompt_tokens: int,
                 weight_dtype: str = "bf16", chunk_tokens: int | None = None) -> StepTime:
    """One prompt prefilled alone, in chunks of ``chunk_tokens`` (None: one step) [s].

    Every chunk reads the weights once; the FLOPs are ``2 x active x P`` plus causal
    attention over the prompt. Returned as a :class:`StepTime` summed over the chunks.
    """
    check_int("prompt_tokens", prompt_tokens, ge=1)
    chunk = prompt_tokens if chunk_tokens is None else check_int("chunk_tokens", chunk_tokens, ge=1)
    steps = math.ceil(prompt_tokens / chunk)
    sizes = [min(chunk, prompt_tokens - i * chunk) for i in range(steps)]
    nbytes = sum(weight_bytes_per_step(spec, n, weight_dtype) for n in sizes[:2]) + \
        max(0, steps - 2) * weight_bytes_per_step(spec, chunk, weight_dtype)
    flops = prompt_tokens * matmul_flops_per_token(spec) + prompt_attention_flops(spec, prompt_tokens)
    mem = nbytes / (device.bytes_per_s * efficiency.bandwidth_share)
    comp = flops / (device.flop_per_s * efficiency.compute_share)
    comm = sum(allreduce_s(spec, device, n) for n in sizes[:2]) + max(0, steps - 2) * allreduce_s(spec, device, chunk)
    # Each chunk is bounded separately; with equal chunks the sum of maxima is the max of sums
    # up to the last, shorter chunk, which this keeps simple.
    return StepTime(mem, comp, nbytes, flops, comm)


def prefill_step_time(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, prompts: int,
                      step_tokens: int, weight_dtype: str = "bf16") -> StepTime:
    """One step that prefills ``prompts`` prompts of ``step_tokens`` tokens in all, together [s].

    What a burst of requests arriving at once costs when the engine batches their prompts
    into one step (vLLM without chunked prefill, or with a budget above their sum). Each
    prompt token attends to half its prompt on average (prompts of equal length).
    """
    check_int("prompts", prompts, ge=1)
    check_int("step_tokens", step_tokens, ge=1)
    return step_time(spec, device, efficiency, decode_batch=0, prefill_tokens=step_tokens,
                     prefill_context_tokens=step_tokens // (2 * prompts), weight_dtype=weight_dtype)


# ---------------------------------------------------------------------- queueing (M/D/1)
def md1_mean_wait_s(busy_share: float, service_s: float) -> float:
    """Mean wait in an M/D/1 queue: ``rho S / (2 (1 - rho))`` [s] [5]; infinite at ``rho >= 1``.

    >>> md1_mean_wait_s(0.5, 1.0)
    0.5
    """
    check_number("busy_share", busy_share, ge=0)
    check_number("service_s", service_s, ge=0)
    if busy_share >= 1:
        return math.inf
    return busy_share * service_s / (2 * (1 - busy_share))


def md1_decay_rate(busy_share: float, service_s: float) -> float:
    """Rate ``theta`` at which the M/D/1 wait's tail decays, ``P(W > t) ~ rho exp(-theta t)`` [1/s] [5].

    The positive root of ``lambda (exp(theta S) - 1) = theta`` with ``lambda = rho / S``,
    found by bisection on ``x = theta S``: ``rho (exp(x) - 1) = x``.

    >>> round(md1_decay_rate(0.5, 1.0), 4)
    1.2564
    """
    check_number("busy_share", busy_share, gt=0, lt=1)
    check_number("service_s", service_s, gt=0)
    lo, hi = 1e-12, 1.0
    while busy_share * math.expm1(hi) < hi:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if busy_share * math.expm1(mid) < mid:
            lo = mid
        else:
            hi = mid
    return hi / service_s


def md1_wait_quantile_s(busy_share: float, service_s: float, quantile: float) -> float:
    """The ``quantile`` of the M/D/1 wait [s]: 0 when at least that share of arrivals waits not at all.

    ``P(W > 0) = rho`` exactly; beyond it the tail is taken as its Cramer-Lundberg
    asymptote ``C exp(-theta t)`` (:func:`md1_decay_rate`), ``C = (1 - rho) / (rho exp(theta
    S) - 1)`` for deterministic service [5], so ``W_q = ln(C / (1 - q)) / theta`` (the p90 and
    p99 within 1% of Erlang's exact distribution at loads of 0.3 to 0.7, a test). The p99
    grows faster with load than the mean: what "consistently" asks of a server.

    >>> md1_wait_quantile_s(0.05, 1.0, 0.9), round(md1_wait_quantile_s(0.5, 1.0, 0.99), 2)
    (0.0, 3.34)
    """
    check_number("quantile", quantile, gt=0, lt=1)
    check_number("service_s", service_s, ge=0)
    check_number("busy_share", busy_share, ge=0)
    if busy_share >= 1:
        return math.inf
    if busy_share == 0 or service_s == 0 or 1 - quantile >= busy_share:
        return 0.0
    theta = md1_decay_rate(busy_share, service_s)
    c = (1 - busy_share) / (busy_share * math.exp(theta * service_s) - 1)
    return max(0.0, math.log(c / (1 - quantile)) / theta)


def ttft_s(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, prompt_tokens: int,
           busy_share: float = 0.0, weight_dtype: str = "bf16", chunk_tokens: int | None = None,
           quantile: float | None = None) -> float:
    """Time to first token of one prompt when the device spends ``busy_share`` of its time on prompts [s].

    The prompt's own prefill plus the wait behind other prompts of the same length in an
    M/D/1 queue [5]: the mean (``quantile`` None: ``prefill x (1 + rho / (2 (1 - rho)))``)
    or a percentile (``quantile`` 0.9 for the p90: :func:`md1_wait_quantile_s`). Network and
    HTTP time are left out.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> d = Device("d", 1.0, 1.0)
    >>> ttft_s(spec, d, prompt_tokens=64, busy_share=0.5) == 1.5 * ttft_s(spec, d, prompt_tokens=64)
    True
    >>> ttft_s(spec, d, prompt_tokens=64, busy_share=0.8, quantile=0.99) > ttft_s(spec, d, prompt_tokens=64, busy_share=0.8)
    True
    """
    check_number("busy_share", busy_share, ge=0, lt=1)
    pre = prefill_time(spec, device, efficiency, prompt_tokens=prompt_tokens, weight_dtype=weight_dtype,
                       chunk_tokens=chunk_tokens).time_s
    if quantile is None:
        return pre + md1_mean_wait_s(busy_share, pre)
    return pre + md1_wait_quantile_s(busy_share, pre, quantile)


def wave_output_tok_per_s(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *,
                          concurrency: int, input_tokens: int, output_tokens: int, weight_dtype: str = "bf16",
                          chunk_tokens: int = 2048) -> tuple[float, float, float]:
    """A closed-loop benchmark: ``concurrency`` requests start together and finish together.

    The wave prefills ``concurrency x input_tokens`` tokens (in chunks of
    ``chunk_tokens``), then runs ``output_tokens - 1`` decode steps of the whole batch at
    the mean context ``input + output / 2``.

    Returns
    -------
    tuple
        (output tokens per second over the wave [tok/s], decode step time [s], prefill time
        of the wave [s]).
    """
    check_int("concurrency", concurrency, ge=1)
    check_int("input_tokens", input_tokens, ge=1)
    check_int("output_tokens", output_tokens, ge=1)
    check_int("chunk_tokens", chunk_tokens, ge=1)
    total = concurrency * input_tokens
    steps = math.ceil(total / chunk_tokens)
    full = step_time(spec, device, efficiency, decode_batch=0, prefill_tokens=min(chunk_tokens, total),
                     prefill_context_tokens=input_tokens // 2, weight_dtype=weight_dtype).time_s
    last_n = total - (steps - 1) * chunk_tokens
    last = full if last_n == min(chunk_tokens, total) else step_time(
        spec, device, efficiency, decode_batch=0, prefill_tokens=last_n, prefill_context_tokens=input_tokens // 2,
        weight_dtype=weight_dtype).time_s
    prefill_s = (steps - 1) * full + last
    step = step_time(spec, device, efficiency, decode_batch=concurrency,
                     context_tokens=input_tokens + output_tokens // 2,
                     weight_dtype=weight_dtype).time_s
    wave_s = prefill_s + (output_tokens - 1) * step
    return concurrency * output_tokens / wave_s, step, prefill_s


# ---------------------------------------------------------------------- steady-state serving
#: The TTFT percentiles every operating point reports.
TTFT_QUANTILES = (0.9, 0.99)


@dataclass(frozen=True)
class OperatingPoint:
    """Steady-state serving at one decode batch.

    ``tpot_s`` is the mean time between a sequence's tokens (decode steps plus the prompt
    chunks scheduled among them); ``ttft_s`` the mean time to the first token (queueing
    behind other prompts, then the prompt's own prefill steps), ``ttft_p90_s`` and
    ``ttft_p99_s`` its tail; ``busy_share`` the share of time the device spends on steps
    that carry prompt tokens.
    """

    batch: int
    prompt_tokens: int
    output_tokens: int
    decode_step_s: float
    prefill_s: float
    tpot_s: float
    ttft_s: float
    output_tok_per_s: float
    total_tok_per_s: float
    busy_share: float
    bound: str
    ttft_p90_s: float = math.nan
    ttft_p99_s: float = math.nan

    @property
    def tok_per_day(self) -> float:
        """Input and output tokens per day at this point, around the clock [tok/day]."""
        return self.total_tok_per_s * SECONDS_PER_DAY


def output_tokens_for(prompt_tokens: int, input_share: float) -> int:
    """Output tokens per request that give the input share ``input_share`` [tok].

    >>> output_tokens_for(700, 0.7)
    300
    """
    check_int("prompt_tokens", prompt_tokens, ge=1)
    check_number("input_share", input_share, gt=0, lt=1)
    output = prompt_tokens * (1 - input_share) / input_share
    if not math.isfinite(output):
        raise ParameterError("input_share", input_share, "a share > 0 large enough that a request's output is finite")
    return max(1, round(output))


def operating_point(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, batch: int,
                    prompt_tokens: int, output_tokens: int, weight_dtype: str = "bf16", kv_cache_dtype: str = "auto",
                    max_num_batched_tokens: int = 2048) -> OperatingPoint:
    """Continuous batching at ``batch`` sequences, each ``prompt_tokens`` in, ``output_tokens`` out.

    The scheduler runs every decoding sequence each step and fills the rest of the step's
    token budget (``max_num_batched_tokens``) with prompt chunks [4]. A prompt therefore
    takes ``ceil(P / (budget - B))`` steps, each slower than a pure decode step by the
    extra compute of its chunk. With ``B`` sequences finishing every ``O`` steps, ``B / O``
    prompts arrive per decode step, so:

    - ``TPOT = t_decode + (B / O) x extra prefill time per prompt``;
    - output tok/s = ``B / TPOT``; total tok/s = output x (P + O) / O;
    - ``busy_share`` rho = prompt arrivals per second x prefill time per prompt;
    - ``TTFT = prefill time + wait + t_decode / 2``, the wait that of an M/D/1 queue of
      prompts (mean ``rho S / (2 (1 - rho))``; p90 and p99 from its tail,
      :func:`md1_wait_quantile_s`) [5], plus half a step for the running one; infinite
      when rho >= 1.
    """
    check_int("batch", batch, ge=1)
    check_int("prompt_tokens", prompt_tokens, ge=1)
    check_int("output_tokens", output_tokens, ge=1)
    check_int("max_num_batched_tokens", max_num_batched_tokens, ge=2)
    context = prompt_tokens + output_tokens // 2
    decode = step_time(spec, device, efficiency, decode_batch=batch, context_tokens=context,
                       weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype)
    chunk = max(1, max_num_batched_tokens - batch)
    steps = math.ceil(prompt_tokens / chunk)
    prefill_s = 0.0
    for i in range(min(steps, 64)):
        n = min(chunk, prompt_tokens - i * chunk)
        prefill_s += step_time(spec, device, efficiency, decode_batch=batch, context_tokens=context,
                               prefill_tokens=n, prefill_context_tokens=i * chunk + n // 2,
                               weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype).time_s
    if steps > 64:  # a very long prompt: the remaining chunks cost as the last one computed, scaled by context
        prefill_s *= steps / 64
    extra = max(0.0, prefill_s - steps * decode.time_s)
    tpot = decode.time_s + batch / output_tokens * extra
    out_rate = batch / tpot
    arrivals_per_s = out_rate / output_tokens
    rho = arrivals_per_s * prefill_s
    base = prefill_s + decode.time_s / 2
    ttft = base + md1_mean_wait_s(rho, prefill_s)
    p90, p99 = (base + md1_wait_quantile_s(rho, prefill_s, q) for q in TTFT_QUANTILES)
    return OperatingPoint(batch, prompt_tokens, output_tokens, decode.time_s, prefill_s, tpot, ttft, out_rate,
                          out_rate * (prompt_tokens + output_tokens) / output_tokens, min(rho, 1.0), decode.bound,
                          p90, p99)


@dataclass(frozen=True)
class Capacity:
    """The most a deployment serves within a latency target.

    ``point`` is the operating point at ``max_batch_within_slo`` (None when even one
    sequence misses the target); ``memory_max_batch`` the sequences the KV cache holds;
    ``limited_by`` says what stops the batch growing: ``memory``, ``tpot``, ``ttft``, or
    ``batch cap``.
    """

    max_batch_within_slo: int
    memory_max_batch: int
    limited_by: str
    point: OperatingPoint | None
    single: OperatingPoint

    @property
    def capacity_tok_per_day(self) -> float:
        return 0.0 if self.point is None else self.point.tok_per_day


def capacity(spec: ModelSpec, device: Device, efficiency: Efficiency, *, memory_max_batch: int, prompt_tokens: int,
             input_share: float, slo_ttft_ms: float, slo_tpot_ms: float, weight_dtype: str = "bf16",
             kv_cache_dtype: str = "auto", max_num_batched_tokens: int = 2048, batch_cap: int = 1024,
             output_tokens: int | None = None) -> Capacity:
    """Tokens per day at the largest batch that meets both latency targets and fits memory.

    Parameters
    ----------
    memory_max_batch : int
        Sequences of ``prompt + output`` tokens the KV cache holds (:func:`memory_max_batch`) [1].
    prompt_tokens : int
        Prompt tokens per request [tok]; the output follows from ``input_share``.
    input_share : float
        Input tokens as a share of all tokens [1] (the article's 70/30: 0.7).
    slo_ttft_ms, slo_tpot_ms : float
        Latency targets on mean TTFT and mean TPOT [ms].
    batch_cap : int
        Largest batch tried (vLLM's ``max_num_seqs`` is 256 or 1024 by default) [1].
    output_tokens : int, optional
        Output tokens per request [tok]; given, it replaces the one ``input_share`` implies.

    Examples
    --------
    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 4096, 32, 128256, False, 32, 8, 128,
    ...                  ("dense",) * 32, (None,) * 32, 14336)
    >>> cap = capacity(spec, Device("H100", 3350, 989.4), Efficiency(0.7, 0.5), memory_max_batch=200,
    ...                prompt_tokens=700, input_share=0.7, slo_ttft_ms=1000, slo_tpot_ms=50)
    >>> cap.limited_by, cap.capacity_tok_per_day > 1e8
    ('memory', True)
    """
    check_int("memory_max_batch", memory_max_batch, ge=0)
    check_number("slo_ttft_ms", slo_ttft_ms, gt=0)
    check_number("slo_tpot_ms", slo_tpot_ms, gt=0)
    check_int("batch_cap", batch_cap, ge=1)
    output = output_tokens_for(prompt_tokens, input_share) if output_tokens is None else \
        check_int("output_tokens", output_tokens, ge=1)

    def at(b: int) -> OperatingPoint:
        return operating_point(spec, device, efficiency, batch=b, prompt_tokens=prompt_tokens, output_tokens=output,
                               weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype,
                               max_num_batched_tokens=max_num_batched_tokens)

    def ok(p: OperatingPoint) -> str | None:
        if p.tpot_s * 1e3 > slo_tpot_ms:
            return "tpot"
        if p.ttft_s * 1e3 > slo_ttft_ms:
            return "ttft"
        return None

    single = at(1)
    top = min(memory_max_batch, batch_cap)
    if top < 1:
        return Capacity(0, memory_max_batch, "memory", None, single)
    if ok(single) is not None:
        return Capacity(0, memory_max_batch, ok(single) or "", None, single)
    # TPOT and TTFT grow with the batch: find the largest batch that meets both by bisection.
    lo, hi = 1, top
    if ok(at(top)) is None:
        return Capacity(top, memory_max_batch, "memory" if top == memory_max_batch else "batch cap", at(top), single)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(at(mid)) is None:
            lo = mid
        else:
            hi = mid
    return Capacity(lo, memory_max_batch, ok(at(hi)) or "", at(lo), single)


def max_throughput(spec: ModelSpec, device: Device, efficiency: Efficiency, *, memory_max_batch: int,
                   prompt_tokens: int, output_tokens: int, weight_dtype: str = "bf16", kv_cache_dtype: str = "auto",
                   max_num_batched_tokens: int = 2048, batch_cap: int = 1024) -> OperatingPoint | None:
    """The operating point at the largest batch the engine sustains, no latency target; None when nothing fits.

    What an offline benchmark at maximum load measures (``trtllm-bench throughput``,
    ``vllm bench throughput``): the batch is ``min(memory_max_batch, batch_cap)``, or less
    where the prompts of the requests that replace finished ones would need more prefill
    than the steps carry (``busy_share`` reaching 1): then the largest batch whose prompts
    keep up, since a batch the prefill cannot refill does not stay that large.
    """
    check_int("memory_max_batch", memory_max_batch, ge=0)
    check_int("batch_cap", batch_cap, ge=1)
    top = min(memory_max_batch, batch_cap)
    if top < 1:
        return None

    def at(b: int) -> OperatingPoint:
        return operating_point(spec, device, efficiency, batch=b, prompt_tokens=prompt_tokens,
                               output_tokens=output_tokens, weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype,
                               max_num_batched_tokens=max_num_batched_tokens)

    best = at(top)
    if best.busy_share < 1 or top == 1:
        return best
    lo, hi = 1, top
    if at(1).busy_share >= 1:
        return at(1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid).busy_share < 1:
            lo = mid
        else:
            hi = mid
    return at(lo)


def memory_max_batch(spec: ModelSpec, serving: memory.Serving, overheads: memory.Overheads,
                     sequence_tokens: int) -> int:
    """Concurrent sequences of ``sequence_tokens`` the KV cache holds under vLLM's budget [1].

    0 when the model does not start (:func:`selfhost.memory.budget`).
    """
    check_int("sequence_tokens", sequence_tokens, ge=1)
    b = memory.budget(spec, serving, overheads)
    if not b.fits:
        return 0
    return int(memory.sequences_at(b, spec, serving, sequence_tokens))


# ---------------------------------------------------------------------- measured -> utilisation
def mbu(spec: ModelSpec, device: Device, *, decode_tok_per_s: float, batch: int, context_tokens: int,
        weight_dtype: str = "bf16", kv_cache_dtype: str = "auto") -> float:
    """Model bandwidth utilisation: bytes a measured decode rate implies over peak bandwidth [1].

    ``(weights + batch x KV) x (tok/s / batch) / BW``.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> d = Device("d", 1e-3, 1.0)
    >>> round(mbu(spec, d, decode_tok_per_s=decode_tok_per_s(spec, d, batch=1, context_tokens=8),
    ...           batch=1, context_tokens=8), 6)
    1.0
    """
    check_number("decode_tok_per_s", decode_tok_per_s, gt=0)
    step = step_time(spec, device, decode_batch=batch, context_tokens=context_tokens, weight_dtype=weight_dtype,
                     kv_cache_dtype=kv_cache_dtype)
    return step.bytes * decode_tok_per_s / batch / device.bytes_per_s


def mfu(spec: ModelSpec, device: Device, *, tok_per_s: float, context_tokens: int = 0) -> float:
    """Model FLOPs utilisation: FLOPs a measured token rate implies over peak compute [1].

    ``tok/s x (2 x active + attention at context_tokens) / F``.
    """
    check_number("tok_per_s", tok_per_s, gt=0)
    per_token = matmul_flops_per_token(spec) + attention_flops_per_token(spec, context_tokens)
    return tok_per_s * per_token / device.flop_per_s
