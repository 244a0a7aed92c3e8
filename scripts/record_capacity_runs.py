"""Serve capacity-llama with vLLM's CPU build and record a batch sweep and a prompt-length sweep.

    .venv/bin/python scripts/record_capacity_runs.py            # waits for a quiet machine, then runs
    .venv/bin/python scripts/record_capacity_runs.py --dry-run  # list the runs, start nothing

The model (``data/engines/capacity-llama/``: 0.56B parameters, 1.1 GB of bf16 dummy weights)
is large enough that a decode step streams its weights from memory. Two sweeps, each run
recorded by the project's harness (:func:`selfhost.live.harness.run_one`) as one JSON record under
``data/capacity_runs/<workload>/`` (never overwriting one):

- ``throughput``, variant ``concurrency-C``: ``2 x C`` requests of 256 random prompt tokens
  and 64 output tokens, ``C`` at a time (the decode batch), for C in 1..32;
- ``long_prompt``, variant ``prompt-P``: 3 requests of P prompt tokens and 8 output tokens,
  one at a time (TTFT is then the prefill time of one prompt), for P in 128..4096.

The machine has 2 cores shared with other work: the script waits (up to ``--wait-s``) until
the 1-minute load average is below ``--max-load`` before starting, records the load
average at the start of every run (``workload.params.load_avg_1m_at_start``; the harness adds
the one at its end; the record's ``scaled_note`` is the harness's generic one, the
sizes of these runs are in ``workload.params.capacity_note``), and stops the engine whatever
happens. Ports 8300-8399 on 127.0.0.1 only. ``--only concurrency-16,prompt-512`` records
chosen configurations again (a new record beside the old one, e.g. after a disturbed run).
Run ``scripts/machine_limits.py --threads 1`` just before, so that the machine's limits and
the runs share their conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from selfhost.live import engine as eng  # noqa: E402
from selfhost.live import harness as live  # noqa: E402
from selfhost.workloads import RunSpec  # noqa: E402

MODEL = "capacity-llama"
RUNS_DIR = ROOT / "data" / "capacity_runs"
#: This script's ports (the harness's own default range belongs to another engineer's runs).
PORTS = range(8300, 8400)
CONCURRENCY = (1, 2, 4, 8, 16, 32)
BATCH_INPUT_LEN, BATCH_OUTPUT_LEN, PROMPTS_PER_SLOT = 256, 64, 2
PROMPT_LENS = (128, 512, 1024, 2048, 4096)
PROMPT_OUTPUT_LEN, PROMPT_NUM = 8, 3
SCALED_NOTE = ("capacity runs on a 2-core CPU: capacity-llama (12 layers, hidden 2048, 1.1 GB bf16 dummy weights); "
               f"batch sweep {PROMPTS_PER_SLOT} requests per slot of {BATCH_INPUT_LEN} in / {BATCH_OUTPUT_LEN} out; "
               f"prompt sweep {PROMPT_NUM} requests one at a time, {PROMPT_OUTPUT_LEN} out")


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def plan(rep: int) -> list[RunSpec]:
    specs = [RunSpec("throughput", f"concurrency-{c}", rep, seed=5000 + 100 * rep + i,
                     num_prompts=PROMPTS_PER_SLOT * c, input_len=BATCH_INPUT_LEN, output_len=BATCH_OUTPUT_LEN,
                     max_concurrency=c, prefix_caching=False, params={"concurrency": c, "sweep": "batch"})
             for i, c in enumerate(CONCURRENCY)]
    specs += [RunSpec("long_prompt", f"prompt-{p}", rep, seed=6000 + 100 * rep + i, num_prompts=PROMPT_NUM,
                      input_len=p, output_len=PROMPT_OUTPUT_LEN, max_concurrency=1, prefix_caching=False,
                      params={"sweep": "prompt"})
              for i, p in enumerate(PROMPT_LENS)]
    return specs


def wait_for_quiet(max_load: float, wait_s: float) -> float:
    deadline = time.monotonic() + wait_s
    while (load := load_avg()) >= max_load:
        if time.monotonic() > deadline:
            raise SystemExit(f"load average {load} stayed at or above {max_load} for {wait_s:.0f} s: not measuring")
        print(f"load average {load} >= {max_load}; waiting", flush=True)
        time.sleep(15)
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--max-load", type=float, default=1.5, help="start only below this 1-minute load average")
    parser.add_argument("--wait-s", type=float, default=900.0)
    parser.add_argument("--port", type=int, default=PORTS.start)
    parser.add_argument("--kv-cache-space-gib", type=float, default=4.0)
    parser.add_argument("--only", default="", help="comma-separated variants to run (e.g. concurrency-16,prompt-512)")
    args = parser.parse_args(argv)
    specs = [s for rep in range(args.reps) for s in plan(rep)]
    if args.only:
        wanted = {v.strip() for v in args.only.split(",") if v.strip()}
        unknown = wanted - {s.variant for s in specs}
        if unknown:
            raise SystemExit(f"--only: unknown variants {sorted(unknown)}")
        specs = [s for s in specs if s.variant in wanted]
    if args.dry_run:
        for s in specs:
            print(s.workload, s.variant, s.rep, s.num_prompts, s.input_len, s.output_len, s.max_concurrency)
        return 0
    if args.port not in PORTS:
        raise SystemExit(f"--port {args.port} is outside {PORTS.start}-{PORTS.stop - 1}")
    model_dir = eng.prepare_model(MODEL)
    model = {"name": MODEL, "weights": "dummy (random; --load-format dummy)",
             "config": json.loads((model_dir / "config.json").read_text())}
    hw = eng.hardware_here()
    hw["description"] = f"{hw['cpu_model']}, {hw['cpu_cores']} cores"
    wait_for_quiet(args.max_load, args.wait_s)
    server = eng.VllmServer(model_dir, eng.free_port(args.port, PORTS), prefix_caching=False, served_name=MODEL,
                            kv_cache_space_gib=args.kv_cache_space_gib, max_model_len=8192, startup_timeout_s=400,
                            ports=PORTS)
    session = uuid.uuid4().hex[:12]
    with server as info:
        print(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s", flush=True)
        for spec in specs:
            load = wait_for_quiet(args.max_load, args.wait_s)
            spec = RunSpec(**{**spec.__dict__, "params": {**spec.params, "load_avg_1m_at_start": load,
                                                    "capacity_note": SCALED_NOTE}})
            path, record = live.run_one(info, spec, RUNS_DIR, session_id=session, hardware=hw, model=model,
                                        tokenizer=str(model_dir), server=server)
            res = record["results"]
            print(f"{spec.variant:<16} {record['status']:<6} {res.get('output_throughput', 0):8.1f} out tok/s "
                  f"tpot {res.get('median_tpot_ms') or 0:8.1f} ms ttft {res.get('median_ttft_ms') or 0:9.1f} ms "
                  f"load {load} -> {path.name}", flush=True)
            if not server.alive():
                raise SystemExit("the engine died; see the last record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
