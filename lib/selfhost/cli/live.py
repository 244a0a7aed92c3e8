"""``selfhost live``: record live engine runs (``make live``).

Without ``--url`` it records one session here: vLLM's CPU build with prefix caching on
and off, and llama.cpp's server, each warmed up, every comparison in pairs under the
protocol of :mod:`selfhost.stats` (``data/runs/``). With ``--url`` it drives a server the
reader started (vLLM or SGLang on a GPU, TGI, llama.cpp: anything OpenAI-compatible)
with the same workloads, sized by ``--size`` and ``--requests-x``/``--lengths-x``.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path

from selfhost import paths
from selfhost.cli.options import number, whole
from selfhost.data import runs
from selfhost.errors import SelfhostError
from selfhost.workloads import TEST_PLAN, Plan

#: Named plan sizes: ``cpu`` (make live here), ``quick`` (the live tests), ``gpu`` (a reader's GPU server).
SIZES = {"cpu": (1.0, 1.0), "quick": (1.0, 1.0), "gpu": (8.0, 2.0)}


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers: the engine is killed, the run recorded


def _workloads(text: str) -> tuple[str, ...]:
    names = tuple(w.strip() for w in text.split(",") if w.strip())
    bad = [w for w in names if w not in runs.WORKLOADS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown workload(s) {bad}; choose from {', '.join(runs.WORKLOADS)}")
    return names


def plan_from(args: argparse.Namespace) -> Plan:
    """The plan the options ask for."""
    plan = TEST_PLAN if (args.quick or args.size == "quick") else Plan()
    rx, lx = SIZES[args.size]
    rx *= args.requests_x
    lx *= args.lengths_x
    if (rx, lx) != (1.0, 1.0) or args.max_concurrency:
        plan = plan.sized(rx, lx, args.max_concurrency)
    if args.reps is not None:
        plan = dataclasses.replace(plan, reps=args.reps)
    if args.model:
        plan = dataclasses.replace(plan, model=args.model) if not args.url else plan
    return plan


def _say(line: str) -> None:
    print(line, flush=True)


def _live(args: argparse.Namespace) -> int:
    from selfhost.live import harness as live

    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = plan_from(args)
    quick = args.quick or args.size == "quick"
    # a quick check never lands among the recordings the verdicts read, unless asked to
    runs_dir = Path(args.runs_dir or (paths.BUILD / "quick-runs" if quick else paths.data_dir() / "runs"))
    t0 = time.monotonic()
    if args.estimate:
        est = live.estimated_duration_s(plan, args.workloads)
        print(f"about {est / 60:.0f} minutes on a quiet 2-core CPU ({len(live.session_specs(plan, args.workloads, ('vllm', 'llama.cpp')))} runs)")
        return 0
    if args.url:
        caching = None if args.prefix_caching is None else args.prefix_caching == "on"
        written = live.record_attached_runs(
            args.url, args.engine, runs_dir, plan, model=args.model, tokenizer=args.tokenizer,
            hardware=args.hardware, prefix_caching=caching, workloads=args.workloads, timeout_s=args.timeout_s,
            progress=_say)
    else:
        if args.engine != "vllm":
            raise SelfhostError(f"--engine {args.engine} without --url: vLLM and llama.cpp are launched here; "
                                "start your engine yourself and pass --url")
        written = live.record_session(runs_dir, plan, port=args.port, workloads=args.workloads,
                                      timeout_s=args.timeout_s, quiet_wait_s=args.quiet_wait_s,
                                      second_engine=None if args.no_llamacpp else "llama.cpp", progress=_say)
    records = [runs.read_record(p) for p in written]
    failed = [r for r in records if r["status"] != "ok"]
    busy = [r for r in records if (r.get("protocol") or {}).get("busy")]
    print(f"recorded {len(written)} runs in {runs_dir} ({len(failed)} failed, {len(busy)} flagged busy) "
          f"in {time.monotonic() - t0:.0f} s")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "live", help="record live engine runs into data/runs/ (make live)",
        description="Launch vLLM (CPU, caching on and off) and llama.cpp here, or attach to your OpenAI-compatible "
                    "server with --url, and record the throughput, prefix, long-prompt and engine-comparison "
                    "workloads with vLLM's benchmark client, under the protocol of selfhost.stats.")
    p.add_argument("--url", help="base URL of a running OpenAI-compatible server (http://host:port)")
    p.add_argument("--engine", default="vllm", help="the engine behind --url: vllm, sglang, tgi, llama.cpp... "
                   "(default: vllm)")
    p.add_argument("--model", help="the served model name (default: the first one /v1/models lists); without --url, "
                   "a folder of data/engines/ (default small-llama)")
    p.add_argument("--tokenizer", help="tokenizer name or path for the client (default: the model name)")
    p.add_argument("--hardware", help="what the server runs on, e.g. '1x H100 SXM 80GB' (default: this machine)")
    p.add_argument("--prefix-caching", choices=["on", "off"], help="the attached server's prefix-caching setting")
    p.add_argument("--workloads", type=_workloads, default=runs.WORKLOADS,
                   help="comma-separated subset of " + ",".join(runs.WORKLOADS))
    p.add_argument("--reps", type=whole(ge=1), help="repetitions of each comparison (default 5)")
    p.add_argument("--size", choices=sorted(SIZES), default="cpu",
                   help="the plan's size: cpu (default, this machine), quick (the live tests), gpu (8x the requests, "
                        "2x the prompt lengths)")
    p.add_argument("--requests-x", type=number(gt=0, le=1000), default=1.0, help="multiply the request counts")
    p.add_argument("--lengths-x", type=number(gt=0, le=64), default=1.0, help="multiply the prompt lengths")
    p.add_argument("--max-concurrency", type=whole(ge=1), help="cap the comparison's concurrencies")
    p.add_argument("--quick", action="store_true", help="the short plan of the live tests (same as --size quick)")
    p.add_argument("--no-llamacpp", action="store_true", help="leave llama.cpp (and the engine comparison) out")
    p.add_argument("--timeout-s", type=number(gt=0, le=86_400), default=600.0,
                   help="stop a run and record it as 'timeout' after this long (default 600)")
    p.add_argument("--quiet-wait-s", type=number(ge=0, le=3_600), default=60.0,
                   help="wait up to this long for a busy machine before a run (then run it, flagged busy)")
    p.add_argument("--estimate", action="store_true", help="print how long the recording would take, and stop")
    p.add_argument("--port", type=whole(ge=8200, le=8299), help="first port for the launched engines, 8200-8299")
    p.add_argument("--runs-dir", help="where records go (default data/runs; _build/quick-runs for --quick)")
    p.set_defaults(func=_live)


if __name__ == "__main__":  # pragma: no cover
    from selfhost.cli import main

    sys.exit(main(["live", *sys.argv[1:]]))
