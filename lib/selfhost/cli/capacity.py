"""``selfhost capacity``: what one deployment serves, from the roofline and the calibrated engine efficiency.

::

    selfhost capacity --model llama-3.3-70b --gpu a100-80gb --weight-dtype int4
    selfhost capacity --model llama-3.1-8b --gpu h100-80gb --concurrency 32 --output-tokens 256 --json
    selfhost capacity --model llama-3.3-70b --gpu h200-141gb --weight-dtype fp8 --max-throughput
    selfhost capacity --model path/to/config.json --gpu h100-80gb --gpus 2 --slo-ttft-ms 500 --json

The model is a name from ``data/models/`` or a config.json path; the GPU a name or key from
``data/gpus.csv`` (its datasheet bandwidth and dense FLOP/s). The engine efficiency defaults
to the calibration on published measurements for the GPU's generation
(``data/published_serving.csv``, :func:`selfhost.data.serving.default_serving_efficiency`);
``--bandwidth-efficiency`` and ``--compute-efficiency`` override it. Three questions:

- by default, the largest batch within the latency targets (``--slo-ttft-ms``,
  ``--slo-tpot-ms``) and the KV cache vLLM's budget leaves, and the tokens per day there;
- ``--concurrency N``: TTFT, TPOT and output tok/s with N requests in flight;
- ``--max-throughput``: the largest batch memory allows, no latency target.

The output length is ``--output-tokens``, or follows from ``--input-share`` (0.7 by default).
``--json`` prints one valid JSON object; an infinite figure (a queue that never drains) is
``null``, and ``null_means`` says so.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from selfhost import capacity, memory, roofline
from selfhost.cli import options
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.data.serving import default_serving_efficiency, serving_calibration
from selfhost.errors import ParameterError

DEFAULTS = {"input_share": 0.7, "prompt_tokens": 512, "slo_ttft_ms": 1000.0, "slo_tpot_ms": 100.0}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "capacity", help="throughput and daily capacity of one deployment (roofline x calibrated efficiency)",
        description="Decode and prefill throughput, TTFT and TPOT, the largest batch within a latency target and "
        "the tokens per day one deployment serves, for a model on a GPU at a precision; or the same at a fixed "
        "concurrency, or at maximum throughput.",
    )
    p.add_argument("--model", required=True, metavar="CONFIG.json|NAME",
                   help="a config.json path, or a name in data/models/ (e.g. llama-3.3-70b)")
    p.add_argument("--gpu", required=True, metavar="NAME", help="a GPU in data/gpus.csv (name or key, e.g. a100-80gb)")
    p.add_argument("--gpus", type=options.whole(ge=1, le=1024), default=1, metavar="N",
                   help="GPUs of one replica, tensor parallel (default 1)")
    p.add_argument("--weight-dtype", choices=memory.WEIGHT_DTYPES,
                   help="weight precision (default: the checkpoint's own, from its quantization_config, else bf16)")
    p.add_argument("--kv-cache-dtype", default="auto", choices=memory.KV_CACHE_DTYPES, help="KV cache precision")
    p.add_argument("--input-share", type=options.number(gt=0, lt=1), metavar="S",
                   help="input tokens as a share of all tokens (default 0.7, the article's 70/30)")
    p.add_argument("--output-tokens", type=options.whole(ge=1, le=1_000_000), metavar="O",
                   help="output tokens per request (instead of deriving them from --input-share)")
    p.add_argument("--prompt-tokens", type=options.whole(ge=1, le=1_000_000), default=DEFAULTS["prompt_tokens"],
                   metavar="P", help="prompt tokens per request (default 512)")
    p.add_argument("--slo-ttft-ms", type=options.positive, default=DEFAULTS["slo_ttft_ms"], metavar="X",
                   help="target on mean time to first token [ms] (default 1000)")
    p.add_argument("--slo-tpot-ms", type=options.positive, default=DEFAULTS["slo_tpot_ms"], metavar="Y",
                   help="target on mean time per output token [ms] (default 100)")
    p.add_argument("--bandwidth-efficiency", type=options.number(gt=0, le=1), metavar="E",
                   help="share of peak bandwidth decode reaches (default: calibrated, data/published_serving.csv)")
    p.add_argument("--compute-efficiency", type=options.number(gt=0, le=1), metavar="E",
                   help="share of peak FLOP/s prefill reaches (default: calibrated, data/published_serving.csv)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--concurrency", type=options.whole(ge=1, le=65536), metavar="N",
                      help="report TTFT, TPOT and output tok/s with N requests in flight")
    mode.add_argument("--max-throughput", action="store_true",
                      help="report the output tok/s at the largest batch memory allows (no latency target)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None or not math.isfinite(seconds) else seconds * 1e3


def _point(p: roofline.OperatingPoint | None) -> dict[str, Any]:
    if p is None:
        return {"batch": None, "ttft_ms": None, "ttft_p90_ms": None, "ttft_p99_ms": None, "tpot_ms": None,
                "output_tok_per_s": 0.0, "capacity_tok_per_s": 0.0, "capacity_tok_per_day": 0.0}
    return {"batch": p.batch, "ttft_ms": _ms(p.ttft_s), "ttft_p90_ms": _ms(p.ttft_p90_s),
            "ttft_p99_ms": _ms(p.ttft_p99_s), "tpot_ms": _ms(p.tpot_s), "output_tok_per_s": p.output_tok_per_s,
            "capacity_tok_per_s": p.total_tok_per_s, "capacity_tok_per_day": p.tok_per_day,
            "busy_share": p.busy_share}


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """The answer as a plain dict (what ``--json`` prints)."""
    spec = load_model_spec(args.model)
    gpu = gpu_by_name(args.gpu)
    gpus = spec.check_tp(args.gpus)
    dtype = args.weight_dtype or memory.native_weight_dtype(spec)
    prompt = args.prompt_tokens
    if args.output_tokens is not None and args.input_share is not None:
        raise ParameterError("--output-tokens", args.output_tokens, "either --output-tokens or --input-share, not both",
                             kind="option")
    share = DEFAULTS["input_share"] if args.input_share is None else args.input_share
    output = args.output_tokens or roofline.output_tokens_for(prompt, share)
    input_share = prompt / (prompt + output)
    defaults_used = []
    if args.weight_dtype is None:
        defaults_used.append(f"weights {dtype}: the checkpoint's own precision")
    default_eff = default_serving_efficiency(gpu=gpu)
    bw = default_eff.bandwidth_share if args.bandwidth_efficiency is None else args.bandwidth_efficiency
    comp = default_eff.compute_share if args.compute_efficiency is None else args.compute_efficiency
    if args.bandwidth_efficiency is None or args.compute_efficiency is None:
        defaults_used.append("engine efficiency calibrated on data/published_serving.csv: "
                             + serving_calibration().basis(gpu.generation))
    efficiency = roofline.Efficiency(bw, comp)
    overheads = load_vllm_overheads()
    device = gpu.device(dtype, gpus)
    kv = args.kv_cache_dtype
    (c,) = capacity.deployment_capacities(
        spec, gpu, overheads, efficiency, gpus=gpus, prompt_tokens=prompt, input_share=input_share,
        slo_ttft_ms=args.slo_ttft_ms, slo_tpot_ms=args.slo_tpot_ms, weight_dtypes=(dtype,), kv_cache_dtype=kv,
        output_tokens=output)
    context = prompt + output // 2
    single_decode = roofline.decode_tok_per_s(spec, device, efficiency, batch=1, context_tokens=context,
                                              weight_dtype=dtype, kv_cache_dtype=kv)
    pre = roofline.prefill_time(spec, device, efficiency, prompt_tokens=prompt, weight_dtype=dtype,
                                chunk_tokens=gpu.max_num_batched_tokens)
    defaults_used.append(f"peaks from data/gpus.csv: {gpu.memory_bandwidth_tb_per_s} TB/s, "
                         f"{device.matmul_tflop_per_s:g} TFLOP/s at {dtype} per GPU")
    out: dict[str, Any] = {
        "model": spec.name, "gpu": gpu.gpu, "generation": gpu.generation, "gpus": gpus, "weight_dtype": dtype,
        "kv_cache_dtype": kv, "input_share": input_share, "prompt_tokens": prompt, "output_tokens": output,
        "slo_ttft_ms": args.slo_ttft_ms, "slo_tpot_ms": args.slo_tpot_ms,
        "bandwidth_efficiency_share": bw, "compute_efficiency_share": comp, "fits": c.fits,
        "weights_gib": c.weights_gib, "memory_max_batch": c.memory_max_batch,
        "decode_tok_per_s_batch_1": single_decode,
        "prefill_tok_per_s": prompt / pre.time_s, "prefill_ms": pre.time_s * 1e3,
    }
    if args.concurrency is not None:
        out["mode"] = "concurrency"
        point = capacity.concurrency_point(spec, gpu, overheads, efficiency, concurrency=args.concurrency, gpus=gpus,
                                           prompt_tokens=prompt, output_tokens=output, weight_dtype=dtype,
                                           kv_cache_dtype=kv) if c.fits else None
        out.update(_point(point))
        out["concurrency"] = args.concurrency
    elif args.max_throughput:
        out["mode"] = "max throughput"
        out.update(_point(capacity.max_throughput_point(spec, gpu, overheads, efficiency, gpus=gpus,
                                                        prompt_tokens=prompt, output_tokens=output,
                                                        weight_dtype=dtype, kv_cache_dtype=kv)))
    else:
        out["mode"] = "latency target"
        batch = max(c.capacity.max_batch_within_slo, 1)
        out.update(_point(c.capacity.point))
        out["max_batch_within_slo"] = c.capacity.max_batch_within_slo
        out["limited_by"] = c.capacity.limited_by
        out["decode_tok_per_s"] = roofline.decode_tok_per_s(spec, device, efficiency, batch=batch,
                                                            context_tokens=context, weight_dtype=dtype,
                                                            kv_cache_dtype=kv)
    out["defaults_used"] = defaults_used
    out["null_means"] = "not applicable, or infinite (a prompt queue that never drains)"
    return out


def run(args: argparse.Namespace) -> int:
    out = compute(args)
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    print(f"{out['model']} on {out['gpus']} x {out['gpu']}, weights {out['weight_dtype']}, KV {out['kv_cache_dtype']}; "
          f"requests of {out['prompt_tokens']:,} in / {out['output_tokens']:,} out "
          f"(input share {out['input_share']:.0%})")
    print(f"  engine efficiency: {out['bandwidth_efficiency_share']:.0%} of peak bandwidth, "
          f"{out['compute_efficiency_share']:.0%} of peak FLOP/s")
    if not out["fits"]:
        print("  does NOT start: the weights and one request do not fit (see `selfhost memory`)")
        return 0
    print(f"  prefill: {out['prefill_tok_per_s']:,.0f} tok/s ({out['prefill_ms']:,.0f} ms for one prompt); "
          f"decode: {out['decode_tok_per_s_batch_1']:,.1f} tok/s at batch 1; the KV cache holds "
          f"{out['memory_max_batch']} requests")
    ttft = "never (the prompt queue does not drain)" if out["ttft_ms"] is None else f"{out['ttft_ms']:,.0f} ms"
    p99 = "never" if out["ttft_p99_ms"] is None else f"{out['ttft_p99_ms']:,.0f} ms"
    if out["mode"] == "concurrency":
        print(f"  {out['concurrency']} requests in flight: TTFT {ttft} (p99 {p99}), TPOT {out['tpot_ms']:,.1f} ms, "
              f"output {out['output_tok_per_s']:,.0f} tok/s")
    elif out["mode"] == "max throughput":
        print(f"  largest batch memory allows: {out['batch']}: output {out['output_tok_per_s']:,.0f} tok/s, "
              f"TTFT {ttft} (p99 {p99}), TPOT {out['tpot_ms']:,.1f} ms; "
              f"{out['capacity_tok_per_day'] / 1e6:,.1f}M tokens/day")
    elif out["max_batch_within_slo"] == 0:
        print(f"  no batch meets TTFT <= {out['slo_ttft_ms']:g} ms and TPOT <= {out['slo_tpot_ms']:g} ms "
              f"(limited by {out['limited_by']}): capacity 0")
    else:
        print(f"  largest batch within TTFT <= {out['slo_ttft_ms']:g} ms, TPOT <= {out['slo_tpot_ms']:g} ms: "
              f"{out['max_batch_within_slo']} (limited by {out['limited_by']})")
        print(f"  there: decode {out['decode_tok_per_s']:,.0f} tok/s, TTFT {ttft} (p99 {p99}), "
              f"TPOT {out['tpot_ms']:,.1f} ms")
        print(f"  capacity: {out['capacity_tok_per_s']:,.0f} tok/s = {out['capacity_tok_per_day'] / 1e6:,.1f}M "
              "tokens/day (busy around the clock)")
    print("  defaults used: " + "; ".join(out["defaults_used"]))
    return 0
