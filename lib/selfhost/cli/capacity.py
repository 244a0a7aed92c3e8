"""``selfhost capacity``: what one deployment serves, from the roofline and measured engine efficiency.

::

    selfhost capacity --model llama-3.3-70b --gpu a100-80gb --weight-dtype int4
    selfhost capacity --model path/to/config.json --gpu h100-80gb --gpus 2 --slo-ttft-ms 500 --json

The model is a name from ``data/models/`` or a config.json path; the GPU a name or key from
``data/gpus.csv`` (its datasheet bandwidth and dense FLOP/s). The engine efficiency defaults
to the medians the published vLLM measurements imply (``data/published_serving.csv``);
``--bandwidth-efficiency`` and ``--compute-efficiency`` override it. The batch is bounded by
the KV cache vLLM's budget leaves (:mod:`selfhost.memory`) and by the latency targets.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from selfhost import capacity, memory, roofline
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.data.serving import default_serving_efficiency
from selfhost.params import check_int, check_number

DEFAULTS = {"input_share": 0.7, "prompt_tokens": 512, "slo_ttft_ms": 1000.0, "slo_tpot_ms": 100.0}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "capacity", help="throughput and daily capacity of one deployment (roofline x measured efficiency)",
        description="Decode and prefill throughput, TTFT and TPOT, the largest batch within a latency target and "
        "the tokens per day one deployment serves, for a model on a GPU at a precision.",
    )
    p.add_argument("--model", required=True, metavar="CONFIG.json|NAME",
                   help="a config.json path, or a name in data/models/ (e.g. llama-3.3-70b)")
    p.add_argument("--gpu", required=True, metavar="NAME", help="a GPU in data/gpus.csv (name or key, e.g. a100-80gb)")
    p.add_argument("--gpus", type=int, default=1, metavar="N", help="GPUs of one replica, tensor parallel (default 1)")
    p.add_argument("--weight-dtype", default="bf16", choices=memory.WEIGHT_DTYPES,
                   help="weight precision (default bf16)")
    p.add_argument("--kv-cache-dtype", default="auto", choices=memory.KV_CACHE_DTYPES, help="KV cache precision")
    p.add_argument("--input-share", type=float, default=DEFAULTS["input_share"], metavar="S",
                   help="input tokens as a share of all tokens (default 0.7, the article's 70/30)")
    p.add_argument("--prompt-tokens", type=int, default=DEFAULTS["prompt_tokens"], metavar="P",
                   help="prompt tokens per request (default 512); the output follows from --input-share")
    p.add_argument("--slo-ttft-ms", type=float, default=DEFAULTS["slo_ttft_ms"], metavar="X",
                   help="target on mean time to first token [ms] (default 1000)")
    p.add_argument("--slo-tpot-ms", type=float, default=DEFAULTS["slo_tpot_ms"], metavar="Y",
                   help="target on mean time per output token [ms] (default 100)")
    p.add_argument("--bandwidth-efficiency", type=float, metavar="E",
                   help="share of peak bandwidth decode reaches (default: from data/published_serving.csv)")
    p.add_argument("--compute-efficiency", type=float, metavar="E",
                   help="share of peak FLOP/s prefill reaches (default: from data/published_serving.csv)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """The capacity as a plain dict (what ``--json`` prints)."""
    spec = load_model_spec(args.model)
    gpu = gpu_by_name(args.gpu)
    gpus = check_int("gpus", args.gpus, ge=1, le=64)
    share = check_number("input_share", args.input_share, gt=0, lt=1)
    prompt = check_int("prompt_tokens", args.prompt_tokens, ge=1)
    defaults_used = []
    default_eff = default_serving_efficiency()
    bw = default_eff.bandwidth_x if args.bandwidth_efficiency is None else args.bandwidth_efficiency
    comp = default_eff.compute_x if args.compute_efficiency is None else args.compute_efficiency
    if args.bandwidth_efficiency is None or args.compute_efficiency is None:
        defaults_used.append("engine efficiency: medians implied by data/published_serving.csv")
    efficiency = roofline.Efficiency(bw, comp)
    caps = capacity.deployment_capacities(
        spec, gpu, load_vllm_overheads(), efficiency, gpus=gpus, prompt_tokens=prompt,
        input_share=share, slo_ttft_ms=args.slo_ttft_ms, slo_tpot_ms=args.slo_tpot_ms,
        weight_dtypes=(args.weight_dtype,), kv_cache_dtype=args.kv_cache_dtype)
    (c,) = caps
    device = gpu.device(args.weight_dtype, gpus)
    output = roofline.output_tokens_for(prompt, share)
    context = prompt + output // 2
    single_decode = roofline.decode_tok_per_s(spec, device, efficiency, batch=1, context_tokens=context,
                                              weight_dtype=args.weight_dtype, kv_cache_dtype=args.kv_cache_dtype)
    batch = max(c.capacity.max_batch_within_slo, 1)
    decode = roofline.decode_tok_per_s(spec, device, efficiency, batch=batch, context_tokens=context,
                                       weight_dtype=args.weight_dtype, kv_cache_dtype=args.kv_cache_dtype)
    pre = roofline.prefill_time(spec, device, efficiency, prompt_tokens=prompt, weight_dtype=args.weight_dtype,
                                chunk_tokens=gpu.max_num_batched_tokens)
    point = c.capacity.point
    defaults_used.append(f"peaks from data/gpus.csv: {gpu.memory_bandwidth_tb_per_s} TB/s, "
                         f"{device.matmul_tflop_per_s:g} TFLOP/s at {args.weight_dtype} per GPU")
    return {
        "model": spec.name, "gpu": gpu.gpu, "gpus": gpus, "weight_dtype": args.weight_dtype,
        "kv_cache_dtype": args.kv_cache_dtype, "input_share": share, "prompt_tokens": prompt, "output_tokens": output,
        "slo_ttft_ms": args.slo_ttft_ms, "slo_tpot_ms": args.slo_tpot_ms,
        "bandwidth_efficiency_x": bw, "compute_efficiency_x": comp, "fits": c.fits, "weights_gib": c.weights_gib,
        "memory_max_batch": c.memory_max_batch, "max_batch_within_slo": c.capacity.max_batch_within_slo,
        "limited_by": c.capacity.limited_by,
        "decode_tok_per_s": decode, "decode_tok_per_s_batch_1": single_decode,
        "prefill_tok_per_s": prompt / pre.time_s, "prefill_ms": pre.time_s * 1e3,
        "ttft_ms": None if point is None else point.ttft_s * 1e3,
        "tpot_ms": None if point is None else point.tpot_s * 1e3,
        "output_tok_per_s": 0.0 if point is None else point.output_tok_per_s,
        "capacity_tok_per_s": 0.0 if point is None else point.total_tok_per_s,
        "capacity_tok_per_day": c.capacity_tok_per_day,
        "defaults_used": defaults_used,
    }


def run(args: argparse.Namespace) -> int:
    out = compute(args)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['model']} on {out['gpus']} x {out['gpu']}, weights {out['weight_dtype']}; requests of "
          f"{out['prompt_tokens']:,} in / {out['output_tokens']:,} out (input share {out['input_share']:.0%})")
    print(f"  engine efficiency: {out['bandwidth_efficiency_x']:.0%} of peak bandwidth, "
          f"{out['compute_efficiency_x']:.0%} of peak FLOP/s")
    if not out["fits"]:
        print("  does NOT start: the weights and one request do not fit (see `selfhost memory`)")
        return 0
    print(f"  prefill: {out['prefill_tok_per_s']:,.0f} tok/s ({out['prefill_ms']:,.0f} ms for one prompt); "
          f"decode: {out['decode_tok_per_s_batch_1']:,.1f} tok/s at batch 1")
    if out["max_batch_within_slo"] == 0:
        print(f"  no batch meets TTFT <= {out['slo_ttft_ms']:g} ms and TPOT <= {out['slo_tpot_ms']:g} ms "
              f"(limited by {out['limited_by']}): capacity 0")
        return 0
    print(f"  largest batch within TTFT <= {out['slo_ttft_ms']:g} ms, TPOT <= {out['slo_tpot_ms']:g} ms: "
          f"{out['max_batch_within_slo']} (KV cache holds {out['memory_max_batch']}; limited by {out['limited_by']})")
    print(f"  there: decode {out['decode_tok_per_s']:,.0f} tok/s, TTFT {out['ttft_ms']:,.0f} ms, "
          f"TPOT {out['tpot_ms']:,.1f} ms")
    print(f"  capacity: {out['capacity_tok_per_s']:,.0f} tok/s = {out['capacity_tok_per_day'] / 1e6:,.1f}M tokens/day "
          "(busy around the clock)")
    print("  defaults used: " + "; ".join(out["defaults_used"]))
    return 0
