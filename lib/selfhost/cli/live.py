"""``selfhost live``: record live engine runs (``make live``).

Without ``--url`` it launches vLLM's CPU build here (prefix caching on, then off) and
records the throughput, prefix and long-prompt workloads into ``data/runs/``. With
``--url`` it drives a server the reader started (vLLM or SGLang on a GPU, TGI,
llama.cpp: anything OpenAI-compatible) with the same workloads.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path

from selfhost import paths
from selfhost.data import runs
from selfhost.errors import SelfhostError
from selfhost.workloads import TEST_PLAN, Plan


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: the engine is killed


def _workloads(text: str) -> tuple[str, ...]:
    names = tuple(w.strip() for w in text.split(",") if w.strip())
    bad = [w for w in names if w not in runs.WORKLOADS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown workload(s) {bad}; choose from {', '.join(runs.WORKLOADS)}")
    return names


def _live(args: argparse.Namespace) -> int:
    from selfhost.live import harness as live

    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = TEST_PLAN if args.quick else Plan()
    if args.reps is not None:
        if args.reps < 1:
            raise SelfhostError(f"--reps {args.reps}: expected at least 1")
        plan = dataclasses.replace(plan, reps=args.reps)
    runs_dir = Path(args.runs_dir)
    t0 = time.monotonic()
    if args.url:
        caching = None if args.prefix_caching is None else args.prefix_caching == "on"
        written = live.record_attached_runs(
            args.url, args.engine, runs_dir, plan, model=args.model, tokenizer=args.tokenizer,
            hardware=args.hardware, prefix_caching=caching, workloads=args.workloads)
    else:
        if args.engine != "vllm":
            raise SelfhostError(f"--engine {args.engine} without --url: only vLLM is launched here; "
                                 "start your engine yourself and pass --url")
        written = live.record_cpu_runs(runs_dir, plan, port=args.port, workloads=args.workloads)
    failed = [p for p in written if runs.read_record(p)["status"] != "ok"]
    print(f"recorded {len(written)} runs in {runs_dir} ({len(failed)} failed) in {time.monotonic() - t0:.0f} s")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live", help="record live engine runs into data/runs/ (make live)",
        description="Launch vLLM (CPU) here, or attach to your OpenAI-compatible server with --url, and "
                    "record the throughput, prefix and long-prompt workloads with vLLM's benchmark client.")
    p.add_argument("--url", help="base URL of a running OpenAI-compatible server (http://host:port)")
    p.add_argument("--engine", default="vllm", help="the engine behind --url: vllm, sglang, tgi, llama.cpp... "
                   "(default: vllm)")
    p.add_argument("--model", help="the served model name (default: the first one /v1/models lists)")
    p.add_argument("--tokenizer", help="tokenizer name or path for the client (default: the model name)")
    p.add_argument("--hardware", help="what the server runs on, e.g. '1x H100 SXM 80GB' (default: this machine)")
    p.add_argument("--prefix-caching", choices=["on", "off"], help="the attached server's prefix-caching setting")
    p.add_argument("--workloads", type=_workloads, default=runs.WORKLOADS,
                   help="comma-separated subset of " + ",".join(runs.WORKLOADS))
    p.add_argument("--reps", type=int, help="repetitions of each configuration (default 3)")
    p.add_argument("--quick", action="store_true", help="the short plan of the live test")
    p.add_argument("--port", type=int, help="port for the launched engine, 8200-8299 (default: first free)")
    p.add_argument("--runs-dir", default=str(paths.data_dir() / "runs"), help="where records go (default data/runs)")
    p.set_defaults(func=_live)


if __name__ == "__main__":  # pragma: no cover
    from selfhost.cli import main

    sys.exit(main(["live", *sys.argv[1:]]))

