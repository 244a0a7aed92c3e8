"""What one deployment can serve: a roofline model of prefill, decode, TTFT and daily capacity.

A forward step of a transformer reads its weights (and, for every decoding sequence, that
sequence's KV cache) from memory, and does about two FLOPs per weight per token plus the
attention's FLOPs. On a device with memory bandwidth ``BW`` and matrix-multiply rate ``F``,
the step cannot take less than the larger of ``bytes / BW`` and ``FLOPs / F``: the
roofline [1, 2]. Decode steps (one token per sequence) read many bytes per FLOP and are
memory-bound until the batch is large; prefill (hundreds of tokens per sequence at once)
is compute-bound. Real engines sit below the roofline: :class:`Efficiency` holds the
shares of peak bandwidth and compute they reach, taken from measurements
(``data/machine_limits.csv``, ``data/published_serving.csv`` and the CPU runs in
``data/capacity_runs/``), never assumed.

- :func:`step_time` is one forward step carrying ``decode_batch`` decoding sequences and
  ``prefill_tokens`` prompt tokens (vLLM's V1 scheduler mixes them: chunked prefill);
- :func:`prefill_time` is one prompt alone; :func:`decode_tok_per_s` a pure decode batch;
  :func:`ttft_s` a prompt's time to first token when the device is busy with other prompts;
- :func:`wave_output_tok_per_s` is the closed-loop benchmark (``C`` requests at a time, all
  of one length), what the CPU runs and most published results measure;
- :func:`operating_point` is steady-state serving at batch ``B`` with an input/output split:
  TPOT, TTFT (with queueing) and tokens/s; :func:`capacity` picks the largest batch within
  a latency target and the memory (:mod:`selfhost.memory`) and returns tokens/day;
- :func:`mbu` and :func:`mfu` turn a measured throughput into the share of peak
  bandwidth and FLOP/s it implies.

Weights read per step follow :func:`selfhost.moe.weights_read_per_step` (mixture-of-experts
layers read the experts the step's tokens touch, uniform routing), at the bytes per weight
of :func:`selfhost.memory.linear_bytes_per_param` (embeddings, lm_head, norms and routers
stay 16-bit). Tensor parallelism over ``n`` devices is counted as ``n`` times the bandwidth
and compute; its communication is left out (an optimistic simplification).

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
vol. 1 (1975): M/D/1 mean wait ``rho S / (2 (1 - rho))``. Databricks, "LLM Inference
Performance Engineering: Best Practices" (2023): MBU definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from selfhost import memory, moe
from selfhost.errors import ParameterError
from selfhost.modelspec import ModelSpec
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
    """

    name: str
    memory_bandwidth_gb_per_s: float
    matmul_tflop_per_s: float
    count: int = 1

    def __post_init__(self) -> None:
        check_number("memory_bandwidth_gb_per_s", self.memory_bandwidth_gb_per_s, gt=0, le=1e5)
        check_number("matmul_tflop_per_s", self.matmul_tflop_per_s, gt=0, le=1e5)
        check_int("count", self.count, ge=1, le=1024)

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
    bandwidth_x : float
        Share of peak bandwidth a memory-bound step reaches (the MBU it attains) [1].
    compute_x : float
        Share of peak FLOP/s a compute-bound step reaches (the MFU it attains) [1].
    """

    bandwidth_x: float = 1.0
    compute_x: float = 1.0

    def __post_init__(self) -> None:
        check_number("bandwidth_x", self.bandwidth_x, gt=0, le=1)
        check_number("compute_x", self.compute_x, gt=0, le=1)


ROOFLINE = Efficiency(1.0, 1.0)


def compute_tflop_per_s(weight_dtype: str, bf16_tflop_per_s: float, fp8_tflop_per_s: float | None) -> float:
    """The matmul rate a precision computes at [TFLOP/s].

    FP8 weights run FP8 matmuls where the device has them (W8A8, Hopper and later); on
    older devices vLLM dequantises them (weight-only FP8), as it does INT4 and INT8
    (W4A16/W8A16): those compute at the 16-bit rate.

    >>> compute_tflop_per_s("fp8", 989.4, 1978.9), compute_tflop_per_s("fp8", 312.0, None)
    (1978.9, 312.0)
    """
    check_choice("weight_dtype", weight_dtype, memory.WEIGHT_DTYPES)
    if weight_dtype == "fp8" and fp8_tflop_per_s:
        return fp8_tflop_per_s
    return bf16_tflop_per_s


# ---------------------------------------------------------------------- bytes and FLOPs
def weight_bytes_per_step(spec: ModelSpec, step_tokens: int, weight_dtype: str = "bf16",
                          int4_group_size: int = 128) -> float:
    """Bytes of weights a forward step over ``step_tokens`` tokens reads [B].

    Every weight but the input embedding and the untouched routed experts is read once per
    step. Linear layers are stored at ``weight_dtype`` (scales included); the lm_head,
    routers and norms in 16 bits; ``mxfp4`` quantises only the experts of a MoE model.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> weight_bytes_per_step(spec, 1, "bf16") == 2 * (spec.params().total - spec.params().embedding)
    True
    """
    check_int("step_tokens", step_tokens, ge=1)
    check_choice("weight_dtype", weight_dtype, memory.WEIGHT_DTYPES)
    p = spec.params()
    touched = moe.weights_read_per_step(spec, step_tokens, 1.0)  # parameters read [1]
    sixteen = p.lm_head + p.router + p.norms
    if weight_dtype in ("bf16", "fp16"):
        return memory.BYTES_16BIT * touched
    per = memory.linear_bytes_per_param(weight_dtype, int4_group_size)
    if weight_dtype == "mxfp4" and spec.is_moe:
        experts = touched - (p.text_total - p.embedding - p.routed_experts) + p.shared_experts
        return per * experts + memory.BYTES_16BIT * (touched - experts)
    return per * (touched - sixteen) + memory.BYTES_16BIT * sixteen


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


# ---------------------------------------------------------------------- one step
@dataclass(frozen=True)
class StepTime:
    """One forward step on the roofline.

    ``memory_s`` and ``compute_s`` are the two floors (already divided by the
    efficiencies); ``time_s`` is the larger; ``bytes`` and ``flops`` are what the step moves
    and computes.
    """

    memory_s: float
    compute_s: float
    bytes: float
    flops: float

    @property
    def time_s(self) -> float:
        return max(self.memory_s, self.compute_s)

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
        ``FLOPs = tokens x 2 x active + attention`` [2, 3].
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
    return StepTime(nbytes / (device.bytes_per_s * efficiency.bandwidth_x),
                    flops / (device.flop_per_s * efficiency.compute_x), nbytes, flops)


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
    nbytes = sum(weight_bytes_per_step(spec, min(chunk, prompt_tokens - i * chunk), weight_dtype)
                 for i in range(steps))
    flops = prompt_tokens * matmul_flops_per_token(spec) + prompt_attention_flops(spec, prompt_tokens)
    mem = nbytes / (device.bytes_per_s * efficiency.bandwidth_x)
    comp = flops / (device.flop_per_s * efficiency.compute_x)
    # Each chunk is bounded separately; with equal chunks the sum of maxima is the max of sums
    # up to the last, shorter chunk, which this keeps simple.
    return StepTime(mem, comp, nbytes, flops)


def ttft_s(spec: ModelSpec, device: Device, efficiency: Efficiency = ROOFLINE, *, prompt_tokens: int,
           busy_share: float = 0.0, weight_dtype: str = "bf16", chunk_tokens: int | None = None) -> float:
    """Mean time to first token of one prompt when the device spends ``busy_share`` of its time on prompts [s].

    ``prefill x (1 + rho / (2 (1 - rho)))``: the prompt's own prefill plus the M/D/1 mean
    wait behind other prompts of the same length [5]. Network and HTTP time are left out.

    >>> from selfhost.modelspec import ModelSpec
    >>> spec = ModelSpec("t", "LlamaForCausalLM", "llama", 64, 2, 100, False, 4, 2, 16,
    ...                  ("dense",) * 2, (None,) * 2, 128)
    >>> d = Device("d", 1.0, 1.0)
    >>> ttft_s(spec, d, prompt_tokens=64, busy_share=0.5) == 1.5 * ttft_s(spec, d, prompt_tokens=64)
    True
    """
    check_number("busy_share", busy_share, ge=0, lt=1)
    pre = prefill_time(spec, device, efficiency, prompt_tokens=prompt_tokens, weight_dtype=weight_dtype,
                       chunk_tokens=chunk_tokens).time_s
    return pre * (1 + busy_share / (2 * (1 - busy_share)))


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
    prefill_s = 0.0
    for i in range(steps):
        n = min(chunk_tokens, total - i * chunk_tokens)
        prefill_s += step_time(spec, device, efficiency, decode_batch=0, prefill_tokens=n,
                               prefill_context_tokens=input_tokens // 2, weight_dtype=weight_dtype).time_s
    step = step_time(spec, device, efficiency, decode_batch=concurrency,
                     context_tokens=input_tokens + output_tokens // 2,
                     weight_dtype=weight_dtype).time_s
    wave_s = prefill_s + (output_tokens - 1) * step
    return concurrency * output_tokens / wave_s, step, prefill_s


# ---------------------------------------------------------------------- steady-state serving
@dataclass(frozen=True)
class OperatingPoint:
    """Steady-state serving at one decode batch.

    ``tpot_s`` is the mean time between a sequence's tokens (decode steps plus the prompt
    chunks scheduled among them); ``ttft_s`` the mean time to the first token (queueing
    behind other prompts, then the prompt's own prefill steps); ``busy_share`` the share
    of time the device spends on steps that carry prompt tokens.
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
    return max(1, round(prompt_tokens * (1 - input_share) / input_share))


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
    - ``TTFT = prefill time x (1 + rho / (2 (1 - rho))) + t_decode / 2`` (M/D/1 wait
      behind other prompts [5], plus half a step for the running one); infinite when
      rho >= 1.
    """
    check_int("batch", batch, ge=1)
    check_int("output_tokens", output_tokens, ge=1)
    check_int("max_num_batched_tokens", max_num_batched_tokens, ge=2)
    context = prompt_tokens + output_tokens // 2
    decode = step_time(spec, device, efficiency, decode_batch=batch, context_tokens=context,
                       weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype)
    chunk = max(1, max_num_batched_tokens - batch)
    steps = math.ceil(prompt_tokens / chunk)
    prefill_s = 0.0
    for i in range(steps):
        n = min(chunk, prompt_tokens - i * chunk)
        prefill_s += step_time(spec, device, efficiency, decode_batch=batch, context_tokens=context,
                               prefill_tokens=n, prefill_context_tokens=i * chunk + n // 2,
                               weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype).time_s
    extra = max(0.0, prefill_s - steps * decode.time_s)
    tpot = decode.time_s + batch / output_tokens * extra
    out_rate = batch / tpot
    arrivals_per_s = out_rate / output_tokens
    rho = arrivals_per_s * prefill_s
    ttft = math.inf if rho >= 1 else prefill_s * (1 + rho / (2 * (1 - rho))) + decode.time_s / 2
    return OperatingPoint(batch, prompt_tokens, output_tokens, decode.time_s, prefill_s, tpot, ttft, out_rate,
                          out_rate * (prompt_tokens + output_tokens) / output_tokens, min(rho, 1.0), decode.bound)


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
             kv_cache_dtype: str = "auto", max_num_batched_tokens: int = 2048, batch_cap: int = 1024) -> Capacity:
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
    output = output_tokens_for(prompt_tokens, input_share)

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
