"""``selfhost memory``: does a model fit a GPU under vLLM, and how much KV cache remains?

::

    selfhost memory --model llama-3.3-70b --gpu a100-80gb --weight-dtype fp8
    selfhost memory --model path/to/config.json --gpu-memory-gib 79.2 --tp 2 --json

The model is a name from ``data/models/`` or a path to a Hugging Face config.json; the GPU
a name from ``data/gpus.csv`` or a memory size. Defaults follow vLLM 0.32.0
(``gpu_memory_utilization`` 0.92, block size 16, ``max_num_batched_tokens`` by GPU class,
``max_model_len`` 4,096 here rather than the model's maximum) and the output lists them.
Overheads come from ``data/vllm_overheads.csv``. The weights default to the checkpoint's own
precision (its ``quantization_config``: DeepSeek-V3 ships FP8), with the modules it ignores
kept 16-bit. A tensor-parallel size vLLM refuses (one that does not divide the heads) is an
error naming the file and field; ``--json`` prints one valid JSON object.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from selfhost import memory, units
from selfhost.cli import options
from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
from selfhost.data.models import load_model_spec

DEFAULT_MAX_MODEL_LEN = 4096


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "memory", help="GPU memory of a model under vLLM: weights, overheads, KV cache, fit",
        description="Budget one GPU's memory as vLLM does: weights per GPU, activation peak, non-torch memory, "
        "CUDA graphs and the unreserved slice; the KV cache that remains, in GiB and in tokens; whether the "
        "model starts; and the article's formula beside it.",
    )
    p.add_argument("--model", required=True, metavar="CONFIG.json|NAME",
                   help="a config.json path, or a name in data/models/ (e.g. llama-3.3-70b)")
    gpu = p.add_mutually_exclusive_group(required=True)
    gpu.add_argument("--gpu", metavar="NAME", help="a GPU in data/gpus.csv (name or key, e.g. 'A100 80GB', h100-80gb)")
    gpu.add_argument("--gpu-memory-gib", type=options.number(gt=0, le=4096), metavar="G", help="memory of one GPU [GiB]")
    p.add_argument("--gpu-memory-utilization", type=options.number(gt=0, le=1),
                   default=memory.VLLM_GPU_MEMORY_UTILIZATION, metavar="U",
                   help=f"fraction of each GPU vLLM may use (default {memory.VLLM_GPU_MEMORY_UTILIZATION}, vLLM's)")
    p.add_argument("--tp", type=options.whole(ge=1, le=1024), default=1, metavar="N",
                   help="tensor-parallel GPUs (default 1)")
    p.add_argument("--weight-dtype", choices=memory.WEIGHT_DTYPES,
                   help="weight precision (default: the checkpoint's own, from its quantization_config, else bf16)")
    p.add_argument("--kv-cache-dtype", default="auto", choices=memory.KV_CACHE_DTYPES,
                   help="KV cache precision: auto = 16-bit (default), fp8")
    p.add_argument("--max-num-batched-tokens", type=options.whole(ge=1, le=1 << 24), metavar="T",
                   help="tokens per forward pass (default: vLLM's for the GPU class)")
    p.add_argument("--max-model-len", type=options.whole(ge=1, le=1 << 24), default=DEFAULT_MAX_MODEL_LEN, metavar="L",
                   help=f"longest request [tok] (default {DEFAULT_MAX_MODEL_LEN})")
    p.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """The budget as a plain dict (what ``--json`` prints)."""
    spec = load_model_spec(args.model)
    defaults_used: list[str] = []
    if args.gpu is not None:
        gpu = gpu_by_name(args.gpu)
        gpu_name, total_gib = gpu.gpu, gpu.budget_gib
        article_gpu_gb = gpu.memory_gb
        defaults_used.append(f"GPU memory {total_gib:.2f} GiB: " + (
            "what CUDA reports for this card (data/gpus.csv cuda_total_gib)" if gpu.cuda_total_gib is not None
            else f"the datasheet's {gpu.memory_gb:g} GB read as 10^9 bytes (CUDA shows more; pass --gpu-memory-gib)"))
    else:
        gpu_name, total_gib = None, args.gpu_memory_gib
        article_gpu_gb = total_gib * units.GIB / units.GB
    tp = spec.check_tp(args.tp)
    dtype = args.weight_dtype or memory.native_weight_dtype(spec)
    if args.weight_dtype is None:
        defaults_used.append(f"weights {dtype}: the checkpoint's own precision"
                             + (f" ({spec.quantization.method}; {len(spec.quantization.ignored)} ignored module "
                                "patterns kept 16-bit)" if spec.quantization else ""))
    batched = args.max_num_batched_tokens
    if batched is None:
        batched = memory.default_max_num_batched_tokens(total_gib, gpu_name or "")
        defaults_used.append(f"max_num_batched_tokens={batched} (vLLM 0.32.0's default for this GPU class)")
    if args.gpu_memory_utilization == memory.VLLM_GPU_MEMORY_UTILIZATION:
        defaults_used.append(f"gpu_memory_utilization={memory.VLLM_GPU_MEMORY_UTILIZATION} (vLLM 0.32.0)")
    if args.max_model_len == DEFAULT_MAX_MODEL_LEN:
        defaults_used.append(f"max_model_len={DEFAULT_MAX_MODEL_LEN} (this tool's default, not the model's maximum)")
    defaults_used.append(f"block_size={memory.VLLM_BLOCK_SIZE} (vLLM on GPUs)")
    serving = memory.Serving(total_gib, args.max_model_len, args.gpu_memory_utilization, tp, dtype,
                             args.kv_cache_dtype, batched, enforce_eager=args.enforce_eager)
    overheads = load_vllm_overheads()
    defaults_used.append("overheads from data/vllm_overheads.csv: "
                         f"activation {overheads.activation_gib_per_ktok} GiB per 1k tokens at width "
                         f"{overheads.reference_width}, non-torch {overheads.non_torch_gib} GiB "
                         f"(+{overheads.non_torch_extra_gib_when_tp} at TP>1), CUDA graphs {overheads.cuda_graph_gib} GiB")
    b = memory.budget(spec, serving, overheads)
    p = spec.params()
    kv_gb_article = spec.kv_bytes_per_sequence(args.max_model_len, 1, args.kv_cache_dtype) / units.GB
    article_gb = memory.article_total_gb(p.total, dtype, kv_gb_article)
    return {
        "model": spec.name, "architecture": spec.architecture, "gpu": gpu_name, "gpu_memory_gib": total_gib,
        "tp": tp, "weight_dtype": dtype, "kv_cache_dtype": args.kv_cache_dtype,
        "gpu_memory_utilization": args.gpu_memory_utilization, "max_num_batched_tokens": batched,
        "max_model_len": args.max_model_len,
        "total_params": p.total, "active_params": p.active, "vision_params": p.vision,
        "weights_gib": b.weights_gib, "activation_gib": b.activation_gib, "non_torch_gib": b.non_torch_gib,
        "cuda_graph_gib": b.cuda_graph_gib, "unreserved_gib": b.unreserved_gib,
        "non_kv_overhead_gib": b.non_kv_overhead_gib,
        "kv_bytes_per_token": b.kv_bytes_per_token, "kv_cache_gib": b.kv_cache_gib, "kv_tokens": b.kv_tokens,
        "max_concurrency_at_max_model_len": b.max_concurrency_x, "fits": b.fits, "shortfall_gib": b.shortfall_gib,
        "article_total_gb": article_gb, "article_fits": memory.article_fewest_gpus(p.total, dtype, kv_gb_article, article_gpu_gb, tp) is not None,
        "defaults_used": defaults_used,
    }


def run(args: argparse.Namespace) -> int:
    out = compute(args)
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    where = out["gpu"] or f"{out['gpu_memory_gib']:.1f} GiB GPU"
    print(f"{out['model']} on {out['tp']} x {where}, weights {out['weight_dtype']}, KV cache {out['kv_cache_dtype']}")
    print(f"  parameters: {out['total_params'] / 1e9:,.1f}B total, {out['active_params'] / 1e9:,.1f}B active per token")
    print(f"  per GPU: weights {out['weights_gib']:.2f} GiB, activation peak {out['activation_gib']:.2f} GiB, "
          f"non-torch {out['non_torch_gib']:.2f} GiB, CUDA graphs {out['cuda_graph_gib']:.2f} GiB, "
          f"left unreserved {out['unreserved_gib']:.2f} GiB")
    if out["fits"]:
        print(f"  KV cache: {out['kv_cache_gib']:.2f} GiB = {out['kv_tokens']:,} tokens "
              f"({out['kv_bytes_per_token']:,} B per token per GPU); "
              f"{out['max_concurrency_at_max_model_len']:.1f} requests of {out['max_model_len']:,} tokens")
        print("  fits: yes")
    else:
        print(f"  fits: NO, short by {out['shortfall_gib']:.2f} GiB per GPU "
              f"(one request of {out['max_model_len']:,} tokens must fit)")
    print(f"  the article's formula: {out['article_total_gb']:.1f} GB -> "
          f"{'fits' if out['article_fits'] else 'does not fit'}")
    print("  defaults used: " + "; ".join(out["defaults_used"]))
    return 0
