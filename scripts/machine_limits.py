"""Measure this machine's physical limits for serving: memory bandwidth and matrix-multiply rate.

    .venv/bin/python scripts/machine_limits.py              # measure and print the figures
    .venv/bin/python scripts/machine_limits.py --tiny       # seconds-long smoke run (tests)
    .venv/bin/selfhost record machine-limits --threads 1    # measure and append them to data/machine_limits.csv

What it measures, with PyTorch on the CPU (all threads torch uses by default):

- ``read_bandwidth_gb_per_s``: ``x.sum()`` over a buffer far larger than the last-level cache,
  bytes read / time (what a decode step does to the weights);
- ``copy_bandwidth_gb_per_s``: ``y.copy_(x)``, bytes read + written / time (the STREAM
  "copy" convention, and the convention of the H100/H200 copy figures in SOURCES.md);
- ``bf16_matmul_tflop_per_s`` and ``fp32_matmul_tflop_per_s``: ``a @ b`` on square matrices,
  ``2 n^3`` FLOPs / time.

With ``--decode-batches 1,4,...`` it also times one decode step of capacity-llama (the model
of `selfhost record capacity`) in plain PyTorch with random bf16 weights
(``scripts/gpu_bench.py``'s step), quantity ``capacity_llama_decode_step_ms_b<batch>``: the
framework's floor under vLLM's step on the same cores. ``--threads 1`` measures one core,
which is what vLLM's CPU build computes on here (it binds its worker to one core and
reserves the other for its front end).

Each figure is the best of several repetitions (the machine is shared: the best run is the
least disturbed one), and the 1-minute load average is printed beside it. This script writes
nothing: ``selfhost record machine-limits`` runs it with ``--json`` and appends the figures
under a fresh ``run_id`` through ``selfhost.data.tables.append_rows`` (validated against the
manifest; rows already recorded are never changed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path


def best_seconds(fn, reps: int) -> float:
    """The fastest of ``reps`` timed calls of ``fn`` (one untimed warm-up first) [s]."""
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bandwidth_gb_per_s(nbytes: float, seconds: float) -> float:
    """Bytes moved over time, in 10^9 B/s.

    >>> bandwidth_gb_per_s(2e9, 0.5)
    4.0
    """
    return nbytes / seconds / 1e9


def matmul_tflop_per_s(n: int, seconds: float) -> float:
    """``2 n^3`` FLOPs of an n x n by n x n product over time, in 10^12 FLOP/s.

    >>> matmul_tflop_per_s(1000, 0.002)
    1.0
    """
    return 2.0 * n**3 / seconds / 1e12


def measure(buffer_mib: int, matmul_n: int, reps: int) -> dict[str, float]:
    import torch

    n_floats = buffer_mib * 2**20 // 4
    x = torch.ones(n_floats, dtype=torch.float32)
    y = torch.empty_like(x)
    nbytes = x.numel() * x.element_size()
    out = {
        "read_bandwidth_gb_per_s": bandwidth_gb_per_s(nbytes, best_seconds(lambda x=x: x.sum(), reps)),
        "copy_bandwidth_gb_per_s": bandwidth_gb_per_s(2 * nbytes, best_seconds(lambda x=x, y=y: y.copy_(x), reps)),
    }
    del x, y
    for dtype, key in ((torch.bfloat16, "bf16_matmul_tflop_per_s"), (torch.float32, "fp32_matmul_tflop_per_s")):
        a = torch.randn(matmul_n, matmul_n).to(dtype)
        b = torch.randn(matmul_n, matmul_n).to(dtype)
        out[key] = matmul_tflop_per_s(matmul_n, best_seconds(lambda a=a, b=b: a @ b, reps))
    return out


def measure_decode(batches: list[int], context: int, reps: int) -> dict[str, float]:
    """Plain-PyTorch decode step of capacity-llama on the CPU, per batch [ms]."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gpu_bench

    shape = gpu_bench.SHAPES["capacity-llama"]
    best = gpu_bench.timer(torch, "cpu")
    weights = gpu_bench.make_weights(torch, shape, "cpu", torch.bfloat16)
    out = {}
    with torch.inference_mode():
        for b in batches:
            kv = (shape.layers, b, shape.kv_heads, context, shape.head_dim)
            k, v = torch.zeros(kv, dtype=torch.bfloat16), torch.zeros(kv, dtype=torch.bfloat16)
            x = torch.randn(b, shape.hidden, dtype=torch.bfloat16)
            out[f"capacity_llama_decode_step_ms_b{b}"] = 1e3 * best(
                lambda x=x, k=k, v=v: gpu_bench.decode_step(torch, shape, weights, x, k, v), reps)
    return out


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object (what "
                        "`selfhost record machine-limits` reads)")
    parser.add_argument("--dry-run", action="store_true", help="accepted for compatibility: this script never writes")
    parser.add_argument("--tiny", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--buffer-mib", type=int, default=2048, help="bandwidth buffer [MiB]")
    parser.add_argument("--matmul-n", type=int, default=4096, help="matrix size [1]")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--decode-batches", default="", help="comma-separated batches for the decode-step timing")
    parser.add_argument("--decode-context", type=int, default=288, help="KV tokens per sequence in the decode step")
    args = parser.parse_args(argv)
    if args.tiny:
        args.buffer_mib, args.matmul_n, args.reps = 16, 128, 2
    for name in ("buffer_mib", "matmul_n", "reps", "decode_context"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    try:
        batches = [int(b) for b in args.decode_batches.split(",") if b.strip()]
    except ValueError:
        raise SystemExit(f"--decode-batches {args.decode_batches!r}: comma-separated whole numbers") from None
    if any(b < 1 or b > 4096 for b in batches):
        raise SystemExit("--decode-batches: each batch in [1, 4096]")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    figures = measure(args.buffer_mib, args.matmul_n, args.reps)
    if batches:
        figures.update(measure_decode(batches, args.decode_context, args.reps))
    load = round(os.getloadavg()[0], 2)
    now = dt.datetime.now(dt.UTC)
    methods = {
        "read_bandwidth_gb_per_s": f"torch x.sum() over a {args.buffer_mib} MiB fp32 buffer; bytes read / time",
        "copy_bandwidth_gb_per_s": f"torch y.copy_(x), {args.buffer_mib} MiB fp32; bytes read + written / time",
        "bf16_matmul_tflop_per_s": f"torch bf16 {args.matmul_n}^3 matmul; 2n^3 / time",
        "fp32_matmul_tflop_per_s": f"torch fp32 {args.matmul_n}^3 matmul; 2n^3 / time",
    }
    out = {
        "run_id": "cpu-" + now.strftime("%Y%m%dT%H%M%SZ"), "machine": f"{cpu_model()}, {os.cpu_count()} cores (this machine)",
        "figures": figures, "methods": methods, "load_avg_1m": load, "torch_threads": threads, "reps": args.reps,
        "torch": torch.__version__,
        "decode_method": (f"plain PyTorch decode step of capacity-llama (random bf16 weights), KV cache of "
                          f"{args.decode_context} tokens per sequence; best of {args.reps}"),
    }
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for q, v in figures.items():
        print(f"{q:<34} {v:>10.4g} (load {load}, {threads} threads)")
    print("to record these in data/machine_limits.csv: selfhost record machine-limits (same options)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
