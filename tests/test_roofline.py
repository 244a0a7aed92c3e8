"""Tests of selfhost.roofline: hand-computed steps, monotonicity, MoE coverage, capacity limits."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfhost import memory, roofline
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.errors import ParameterError

L8B = load_model_spec("llama-3.1-8b")
L70B = load_model_spec("llama-3.3-70b")
SCOUT = load_model_spec("llama-4-scout")
QWEN_MOE = load_model_spec("qwen3-30b-a3b")
H100 = roofline.Device("H100 SXM", 3350.0, 989.4)


def test_batch_one_decode_is_weights_over_bandwidth():
    """8B bf16 at batch 1, no context: bytes = 2 x (params - embedding); time = bytes / 3.35 TB/s."""
    p = L8B.params()
    step = roofline.step_time(L8B, H100, decode_batch=1, context_tokens=0)
    assert step.bytes == 2 * (p.total - p.embedding)
    assert step.time_s == pytest.approx(2 * (p.total - p.embedding) / 3.35e12)
    assert step.bound == "memory"
    assert step.flops == pytest.approx(2 * p.active_matmul)


def test_kv_cache_read_adds_bytes_per_sequence():
    base = roofline.step_time(L8B, H100, decode_batch=4, context_tokens=0)
    ctx = roofline.step_time(L8B, H100, decode_batch=4, context_tokens=1000)
    assert ctx.bytes - base.bytes == 4 * 1000 * L8B.kv_bytes_per_token()  # 128 KiB per token for Llama 3.1 8B


def test_prefill_is_compute_bound_and_matches_two_flops_per_parameter():
    t = roofline.prefill_time(L70B, H100, prompt_tokens=2048)
    assert t.bound == "compute"
    attn = roofline.prompt_attention_flops(L70B, 2048)
    assert t.flops == pytest.approx(2048 * 2 * L70B.params().active_matmul + attn)
    # Attention is a few percent of a 2K prompt's FLOPs for a 70B model.
    assert 0 < attn / t.flops < 0.05


def test_prompt_attention_is_the_sum_of_per_token_attention():
    n = 37
    by_token = sum(roofline.attention_flops_per_token(L8B, t) for t in range(1, n + 1))
    assert roofline.prompt_attention_flops(L8B, n) == pytest.approx(by_token)


def test_windowed_layers_cap_attention():
    oss = load_model_spec("gpt-oss-20b")
    short, long = (roofline.attention_flops_per_token(oss, n) for n in (100, 100_000))
    full = roofline.attention_flops_per_token(L8B, 100_000) / roofline.attention_flops_per_token(L8B, 100)
    assert long / short < full  # half the layers stop at the window


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 512), st.integers(0, 8192))
def test_decode_throughput_grows_with_batch_and_step_time_never_falls(batch, context):
    a = roofline.step_time(L8B, H100, decode_batch=batch, context_tokens=context)
    b = roofline.step_time(L8B, H100, decode_batch=batch + 1, context_tokens=context)
    assert b.time_s >= a.time_s
    assert (batch + 1) / b.time_s >= batch / a.time_s * (1 - 1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 256))
def test_moe_step_reads_more_experts_as_the_batch_grows_but_never_more_than_all(batch):
    one = roofline.weight_bytes_per_step(QWEN_MOE, 1)
    many = roofline.weight_bytes_per_step(QWEN_MOE, batch)
    p = QWEN_MOE.params()
    assert one <= many <= 2 * (p.text_total - p.embedding) + 1
    assert one == pytest.approx(2 * (p.active - p.embedding))


def test_quantised_weights_read_fewer_bytes_but_keep_16bit_parts():
    bf16 = roofline.weight_bytes_per_step(L70B, 1, "bf16")
    int4 = roofline.weight_bytes_per_step(L70B, 1, "int4")
    p = L70B.params()
    assert int4 == pytest.approx(p.linear * memory.linear_bytes_per_param("int4") + 2 * (p.lm_head + p.norms))
    assert 0.25 < int4 / bf16 < 0.3


def test_compute_rate_by_precision():
    assert roofline.compute_tflop_per_s("fp8", 989.4, 1978.9) == 1978.9
    assert roofline.compute_tflop_per_s("int4", 989.4, 1978.9) == 989.4
    assert roofline.compute_tflop_per_s("fp8", 312.0, None) == 312.0


def test_efficiency_scales_time():
    full = roofline.step_time(L8B, H100, decode_batch=1)
    half = roofline.step_time(L8B, H100, roofline.Efficiency(0.5, 0.5), decode_batch=1)
    assert half.time_s == pytest.approx(2 * full.time_s)


def test_mbu_inverts_the_roofline():
    eff = roofline.Efficiency(0.6, 1.0)
    rate = roofline.decode_tok_per_s(L8B, H100, eff, batch=8, context_tokens=512)
    assert roofline.mbu(L8B, H100, decode_tok_per_s=rate, batch=8, context_tokens=512) == pytest.approx(0.6)


def test_mfu_of_the_peak_rate_is_one():
    per_token = 2 * L8B.params().active_matmul
    assert roofline.mfu(L8B, H100, tok_per_s=H100.flop_per_s / per_token) == pytest.approx(1.0)


def test_wave_matches_hand_calculation():
    rate, step, prefill = roofline.wave_output_tok_per_s(L8B, H100, concurrency=2, input_tokens=100, output_tokens=10)
    hand_step = roofline.step_time(L8B, H100, decode_batch=2, context_tokens=105).time_s
    hand_prefill = roofline.step_time(L8B, H100, decode_batch=0, prefill_tokens=200, prefill_context_tokens=50).time_s
    assert step == pytest.approx(hand_step) and prefill == pytest.approx(hand_prefill)
    assert rate == pytest.approx(20 / (hand_prefill + 9 * hand_step))


def test_operating_point_without_prompts_is_pure_decode():
    """With a 1-token prompt and long outputs the TPOT is the decode step."""
    p = roofline.operating_point(L8B, H100, batch=8, prompt_tokens=1, output_tokens=10_000)
    assert p.tpot_s == pytest.approx(p.decode_step_s, rel=1e-3)
    assert p.output_tok_per_s == pytest.approx(8 / p.tpot_s)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 200))
def test_ttft_and_tpot_grow_with_the_batch(batch):
    a = roofline.operating_point(L8B, H100, batch=batch, prompt_tokens=1000, output_tokens=400)
    b = roofline.operating_point(L8B, H100, batch=batch + 1, prompt_tokens=1000, output_tokens=400)
    assert b.tpot_s >= a.tpot_s
    assert b.ttft_s >= a.ttft_s or math.isinf(b.ttft_s)


def test_capacity_is_limited_by_memory_tpot_or_ttft():
    eff = roofline.Efficiency(0.7, 0.5)
    kw = dict(prompt_tokens=1000, input_share=0.7, weight_dtype="bf16")
    mem = roofline.capacity(L8B, H100, eff, memory_max_batch=16, slo_ttft_ms=5000, slo_tpot_ms=1000, **kw)
    assert (mem.limited_by, mem.max_batch_within_slo) == ("memory", 16)
    tight = roofline.capacity(L8B, H100, eff, memory_max_batch=500, slo_ttft_ms=5000, slo_tpot_ms=15, **kw)
    assert tight.limited_by == "tpot" and tight.point.tpot_s * 1e3 <= 15
    over = roofline.operating_point(L8B, H100, eff, batch=tight.max_batch_within_slo + 1, prompt_tokens=1000,
                                    output_tokens=429)
    assert over.tpot_s * 1e3 > 15
    none = roofline.capacity(L70B, H100, eff, memory_max_batch=500, slo_ttft_ms=1, slo_tpot_ms=1000, **kw)
    assert none.capacity_tok_per_day == 0 and none.limited_by == "ttft"


def test_capacity_per_day_is_tokens_per_second_times_a_day():
    cap = roofline.capacity(L8B, H100, roofline.Efficiency(0.7, 0.5), memory_max_batch=64, prompt_tokens=700,
                            input_share=0.7, slo_ttft_ms=2000, slo_tpot_ms=100)
    assert cap.capacity_tok_per_day == pytest.approx(cap.point.total_tok_per_s * 86_400)
    assert cap.point.total_tok_per_s == pytest.approx(cap.point.output_tok_per_s * (700 + 300) / 300)


def test_memory_max_batch_follows_vllm_budget():
    gpu = gpu_by_name("A100 80GB")
    o = load_vllm_overheads()
    bf16 = memory.Serving(gpu.budget_gib, 1463, weight_dtype="bf16")
    int4 = memory.Serving(gpu.budget_gib, 1463, weight_dtype="int4")
    assert roofline.memory_max_batch(L70B, bf16, o, 1463) == 0
    assert roofline.memory_max_batch(L70B, int4, o, 1463) > 50


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ParameterError, match="memory_bandwidth_gb_per_s"):
        roofline.Device("x", -1.0, 1.0)
    with pytest.raises(ParameterError, match="bandwidth_share"):
        roofline.Efficiency(1.5, 0.5)
    with pytest.raises(ParameterError, match="input_share"):
        roofline.output_tokens_for(100, 1.0)
    with pytest.raises(ValueError, match="at least one"):
        roofline.step_time(L8B, H100, decode_batch=0)


def test_w8a8_int8_computes_at_the_int8_rate_where_the_gpu_has_it():
    a100 = gpu_by_name("A100 80GB")
    assert a100.device("int8").matmul_tflop_per_s == 624.0
    assert a100.device("fp8").matmul_tflop_per_s == 312.0  # no FP8 tensor cores: weight-only
    int8 = roofline.prefill_time(L70B, a100.device("int8"), prompt_tokens=512)
    fp8 = roofline.prefill_time(L70B, a100.device("fp8"), prompt_tokens=512)
    assert int8.compute_s == pytest.approx(fp8.compute_s / 2)


def test_tensor_parallel_pays_its_all_reduces():
    one = H100
    two = roofline.Device("2 x H100", 3350.0, 989.4, 2, 450.0)
    step = roofline.step_time(L70B, two, decode_batch=64, context_tokens=1000)
    hand = 2 * L70B.num_layers * (roofline.ALLREDUCE_LATENCY_S + 64 * 8192 * 2 / 450e9)  # 2(n-1)/n = 1 for n = 2
    assert step.comm_s == pytest.approx(hand)
    assert roofline.step_time(L70B, one, decode_batch=64, context_tokens=1000).comm_s == 0
    assert step.time_s == pytest.approx(max(step.memory_s, step.compute_s) + hand)


def _md1_exact_cdf(rho: float, t: float) -> float:
    """P(W <= t) of the M/D/1 queue with service 1 (Erlang's formula), fine for moderate t."""
    lam = rho
    return (1 - rho) * sum((lam * (k - t)) ** k / math.factorial(k) * math.exp(-lam * (k - t))
                           for k in range(int(math.floor(t)) + 1))


@pytest.mark.parametrize("rho, q", [(0.5, 0.9), (0.5, 0.99), (0.7, 0.9), (0.7, 0.99), (0.3, 0.99)])
def test_md1_quantile_matches_erlangs_exact_distribution(rho, q):
    w = roofline.md1_wait_quantile_s(rho, 1.0, q)
    assert _md1_exact_cdf(rho, w) == pytest.approx(q, abs=0.01)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.001, 2.0))
def test_tail_grows_faster_than_the_mean(rho, service):
    mean = roofline.md1_mean_wait_s(rho, service)
    p99 = roofline.md1_wait_quantile_s(rho, service, 0.99)
    p90 = roofline.md1_wait_quantile_s(rho, service, 0.9)
    assert p99 >= p90 >= 0 and p99 >= mean
    assert roofline.md1_wait_quantile_s(min(rho + 0.04, 0.99), service, 0.99) >= p99


def test_operating_point_reports_its_ttft_tail():
    p = roofline.operating_point(L8B, H100, roofline.Efficiency(0.6, 0.4), batch=64, prompt_tokens=1000,
                                 output_tokens=200)
    assert p.ttft_p99_s >= p.ttft_p90_s >= p.prefill_s and p.ttft_p99_s >= p.ttft_s


def test_max_throughput_keeps_the_batch_its_prompts_can_refill():
    eff = roofline.Efficiency(0.6, 0.4)
    p = roofline.max_throughput(L70B, H100, eff, memory_max_batch=4000, prompt_tokens=2048, output_tokens=128,
                                max_num_batched_tokens=8192)
    assert p is not None and p.busy_share < 1 and p.batch < 1024
    assert roofline.max_throughput(L70B, H100, eff, memory_max_batch=0, prompt_tokens=10, output_tokens=10) is None


def test_a_share_too_small_for_a_finite_output_is_refused_by_name():
    with pytest.raises(ParameterError, match="input_share"):
        roofline.output_tokens_for(512, 5e-324)
