"""One short GPU check: memory bandwidth, bf16 matmul rate, and a dense 8B decode step at several batches.

    python scripts/gpu_bench.py --out $OUT/gpu_bench.json            # on an H100/H200 with PyTorch (CUDA)
    python scripts/gpu_bench.py --tiny --device cpu --out /tmp/b.json  # seconds-long smoke run (tests)
    python scripts/gpu_bench.py --device cpu --shape capacity-llama    # the CPU runs' model, pure PyTorch

Writes one JSON object: the device, the PyTorch version, and

- ``copy_bandwidth_gb_per_s``: ``y.copy_(x)`` over a large buffer, bytes read + written / time;
- ``read_bandwidth_gb_per_s``: ``x.sum()``, bytes read / time;
- ``bf16_matmul_tflop_per_s``: a square bf16 matmul, ``2 n^3`` / time;
- ``decode``: for each batch, the time of one decode step of a Llama-shaped dense transformer
  with random bf16 weights (8B-class by default: 32 layers, hidden 4096, GQA 32/8 heads,
  SwiGLU 14336, vocab 128256) attending to a KV cache of ``--context`` tokens per sequence,
  with the bytes that step must read and the bandwidth that implies.

Self-contained (only PyTorch), so it can be copied onto a machine alone. Timing uses CUDA
synchronisation on a GPU. Nothing here was run on a GPU by this book yet: the
figures it writes are to be set beside ``selfhost.roofline`` (notebooks/capacity.ipynb).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Shape:
    """A Llama-shaped dense decoder."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int

    def params(self) -> int:
        """Weights, embeddings and lm_head included (untied), norms included [1].

        >>> SHAPES["llama-3.1-8b"].params()
        8030261248
        """
        h = self.hidden
        attn = h * self.heads * self.head_dim * 2 + 2 * h * self.kv_heads * self.head_dim
        mlp = 3 * h * self.intermediate
        return self.layers * (attn + mlp + 2 * h) + 2 * self.vocab * h + h

    def step_bytes(self, batch: int, context: int, bytes_per_param: int = 2) -> int:
        """Bytes one decode step reads: every weight but the embedding, plus the KV cache [B].

        >>> t = SHAPES["tiny"]
        >>> t.step_bytes(1, 0) == 2 * (t.params() - t.vocab * t.hidden)
        True
        """
        weights = self.params() - self.vocab * self.hidden
        kv = batch * context * self.layers * 2 * self.kv_heads * self.head_dim
        return bytes_per_param * (weights + kv)


SHAPES = {
    "llama-3.1-8b": Shape(4096, 32, 32, 8, 128, 14336, 128256),
    "capacity-llama": Shape(2048, 12, 16, 4, 128, 5632, 4096),
    "tiny": Shape(64, 2, 4, 2, 16, 128, 256),
}


def gb_per_s(nbytes: float, seconds: float) -> float:
    """Bytes over time [GB/s].

    >>> gb_per_s(3e9, 1.0)
    3.0
    """
    return nbytes / seconds / 1e9


def tflop_per_s(n: int, seconds: float) -> float:
    """``2 n^3`` FLOPs over time [TFLOP/s].

    >>> tflop_per_s(1000, 0.002)
    1.0
    """
    return 2.0 * n**3 / seconds / 1e12


def timer(torch, device: str):
    """A function that times ``fn`` (best of ``reps`` after one warm-up), synchronising on CUDA."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def best(fn, reps: int) -> float:
        fn()
        sync()
        out = math.inf
        for _ in range(reps):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            out = min(out, time.perf_counter() - t0)
        return out

    return best


def make_weights(torch, shape: Shape, device: str, dtype):
    """Random weights (std 0.02) for every layer, lm_head and final norm."""
    g = torch.Generator(device="cpu").manual_seed(0)

    def w(*dims):
        return (torch.randn(*dims, generator=g) * 0.02).to(device=device, dtype=dtype)

    h, q, kv = shape.hidden, shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    layers = [{"norm1": torch.ones(h, device=device, dtype=dtype), "qkv": w(q + 2 * kv, h), "o": w(h, q),
               "norm2": torch.ones(h, device=device, dtype=dtype), "gate_up": w(2 * shape.intermediate, h),
               "down": w(h, shape.intermediate)} for _ in range(shape.layers)]
    return {"layers": layers, "norm": torch.ones(h, device=device, dtype=dtype), "lm_head": w(shape.vocab, h)}


def decode_step(torch, shape: Shape, weights, x, k_cache, v_cache):
    """One decode step for ``x`` (batch x hidden) against caches (layers x batch x kv_heads x ctx x d)."""
    F = torch.nn.functional
    b = x.shape[0]
    q_out, kv_out = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    for i, lw in enumerate(weights["layers"]):
        hdn = F.rms_norm(x, (shape.hidden,), lw["norm1"])
        qkv = hdn @ lw["qkv"].T
        q = qkv[:, :q_out].view(b, shape.heads, 1, shape.head_dim)
        k = qkv[:, q_out:q_out + kv_out].view(b, shape.kv_heads, 1, shape.head_dim)
        v = qkv[:, q_out + kv_out:].view(b, shape.kv_heads, 1, shape.head_dim)
        keys = torch.cat([k_cache[i], k], dim=2)
        values = torch.cat([v_cache[i], v], dim=2)
        att = F.scaled_dot_product_attention(q, keys, values, enable_gqa=True)
        x = x + att.reshape(b, q_out) @ lw["o"].T
        hdn = F.rms_norm(x, (shape.hidden,), lw["norm2"])
        gate, up = (hdn @ lw["gate_up"].T).chunk(2, dim=-1)
        x = x + (F.silu(gate) * up) @ lw["down"].T
    return F.rms_norm(x, (shape.hidden,), weights["norm"]) @ weights["lm_head"].T


def bench(shape_name: str, batches: list[int], context: int, device: str, buffer_mib: int, matmul_n: int,
          reps: int) -> dict:
    import torch

    best = timer(torch, device)
    out: dict = {"device": device, "torch": torch.__version__, "platform": platform.platform(),
                 "shape_name": shape_name, "context_tok": context, "reps": reps}
    if device.startswith("cuda"):
        out["device_name"] = torch.cuda.get_device_name(0)
    x = torch.ones(buffer_mib * 2**20 // 2, dtype=torch.bfloat16, device=device)
    y = torch.empty_like(x)
    nbytes = x.numel() * 2
    out["copy_bandwidth_gb_per_s"] = gb_per_s(2 * nbytes, best(lambda x=x, y=y: y.copy_(x), reps))
    out["read_bandwidth_gb_per_s"] = gb_per_s(nbytes, best(lambda x=x: x.sum(dtype=torch.float32), reps))
    del x, y
    a = torch.randn(matmul_n, matmul_n, device=device, dtype=torch.bfloat16)
    b = torch.randn(matmul_n, matmul_n, device=device, dtype=torch.bfloat16)
    out["bf16_matmul_n"] = matmul_n
    out["bf16_matmul_tflop_per_s"] = tflop_per_s(matmul_n, best(lambda a=a, b=b: a @ b, reps))
    del a, b
    shape = SHAPES[shape_name]
    out["shape"] = asdict(shape)
    out["params"] = shape.params()
    weights = make_weights(torch, shape, device, torch.bfloat16)
    rows = []
    with torch.inference_mode():
        for batch in batches:
            kv_shape = (shape.layers, batch, shape.kv_heads, context, shape.head_dim)
            k_cache = torch.zeros(kv_shape, device=device, dtype=torch.bfloat16)
            v_cache = torch.zeros(kv_shape, device=device, dtype=torch.bfloat16)
            xin = torch.randn(batch, shape.hidden, device=device, dtype=torch.bfloat16)
            seconds = best(lambda xin=xin, k_cache=k_cache, v_cache=v_cache: decode_step(
                torch, shape, weights, xin, k_cache, v_cache), reps)
            step_bytes = shape.step_bytes(batch, context)
            rows.append({"batch": batch, "step_ms": seconds * 1e3, "decode_tok_per_s": batch / seconds,
                         "step_bytes": step_bytes, "implied_bandwidth_gb_per_s": gb_per_s(step_bytes, seconds)})
            print(f"batch {batch:4d}: {seconds * 1e3:8.2f} ms/step, {batch / seconds:9.1f} tok/s", flush=True)
            del k_cache, v_cache
    out["decode"] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--shape", default="llama-3.1-8b", choices=sorted(SHAPES))
    parser.add_argument("--batches", default="1,8,32,64,128,256", help="comma-separated decode batches")
    parser.add_argument("--context", type=int, default=1024, help="KV cache tokens per sequence")
    parser.add_argument("--buffer-mib", type=int, default=4096)
    parser.add_argument("--matmul-n", type=int, default=8192)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, for a smoke test on any device")
    args = parser.parse_args(argv)
    if args.tiny:
        args.shape, args.batches, args.context, args.buffer_mib, args.matmul_n, args.reps = "tiny", "1,4", 16, 8, 64, 2
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if not batches or min(batches) < 1:
        raise SystemExit(f"--batches {args.batches!r}: give positive whole numbers")
    result = bench(args.shape, batches, args.context, args.device, args.buffer_mib, args.matmul_n, args.reps)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
