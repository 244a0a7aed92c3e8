"""``selfhost traffic``: what a serving trace says about real traffic, and a live replay of a slice of it.

::

    selfhost traffic summarize /work/shared/traces/mooncake-fast25/conversation_trace.jsonl
    selfhost traffic summarize my-trace.csv --window-s 10 --json
    selfhost traffic replay --trace mooncake-conversation [--quick]

``summarize`` reads an Azure 2023 CSV, a Mooncake JSONL or a plain CSV
(``arrival_s,input_tok,output_tok[,hash_ids,block_tok]``, see :mod:`selfhost.data.traces`)
in one streaming pass and prints the input share, length quantiles, rates, peak-to-mean at
``--window-s`` and other windows, and the prefix-cache hit shares where the trace has
hashes. A bad line stops it with the file, line and field named (exit 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from selfhost import traffic
from selfhost.cli.options import non_negative, positive, whole
from selfhost.data.traces import FORMATS
from selfhost.data.traffic import summarize_path
from selfhost.live import replay

#: The article's input share (its "70/30 input/output split"), printed beside the trace's.
ARTICLE_INPUT_SHARE = 0.7


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "traffic", help="real traffic from a trace: token split, lengths, burstiness, prefix reuse; live replay",
        description="Summarize a serving trace, or replay a slice of one against a live engine.")
    sub = p.add_subparsers(dest="traffic_command", metavar="SUBCOMMAND", required=True)
    s = sub.add_parser(
        "summarize", help="input share, length quantiles, rates, peak-to-mean and prefix-cache hit shares of a trace",
        description="Read a trace (Azure 2023 CSV, Mooncake JSONL or the plain CSV "
        "arrival_s,input_tok,output_tok[,hash_ids,block_tok]) in one streaming pass and summarize it.")
    s.add_argument("path", metavar="PATH", help="the trace file")
    s.add_argument("--window-s", type=whole(ge=1), default=traffic.DEFAULT_WINDOW_S, metavar="S",
                   help="window of the headline peak-to-mean, whole seconds (default 60)")
    s.add_argument("--format", choices=FORMATS, help="the trace's format (default: told from its first line)")
    s.add_argument("--cache-tok", type=whole(ge=1), action="append", metavar="N",
                   help="a bounded (LRU) prefix cache of N tokens to simulate; repeat for several "
                   f"(default {', '.join(f'{n:,}' for n in traffic.CACHE_SIZES_TOK)})")
    s.add_argument("--strict", action="store_true",
                   help="refuse requests that arrive at the same time as the one before (default: keep and count them)")
    s.add_argument("--series", action="store_true", help="also print requests and tokens per window")
    s.add_argument("--json", action="store_true", help="print one JSON object (null where a figure does not exist)")
    s.set_defaults(func=run_summarize)

    r = sub.add_parser(
        "replay", help="replay a slice of a trace against vLLM at its own arrival times and as Poisson; record both",
        description="Cut a slice of a trace, scale it to the CPU engine (512-token blocks -> 128, arrivals "
        "stretched), and run vLLM's benchmark client over it twice per pair: at the trace's arrival times and "
        "as a Poisson process of the same mean rate. Records go to data/runs/replay/. Run it on a quiet machine: no other engine, "
        "nothing else on the cores.")
    d = replay.ReplayPlan()
    r.add_argument("--trace", default=d.trace, metavar="NAME|PATH",
                   help=f"a committed trace name or a Mooncake-format JSONL / CSV path (default {d.trace})")
    r.add_argument("--traces", type=Path, metavar="DIR", help="the raw traces folder (default /work/shared/traces)")
    r.add_argument("--start-s", type=non_negative, default=d.start_s, metavar="S",
                   help=f"slice start in the trace's time [s] (default {d.start_s:g})")
    r.add_argument("--duration-s", type=positive, default=d.duration_s, metavar="S",
                   help=f"slice length in the trace's time [s] (default {d.duration_s:g})")
    r.add_argument("--time-stretch-x", type=positive, default=d.time_stretch_x, metavar="X",
                   help=f"stretch arrivals by X (default {d.time_stretch_x:g})")
    r.add_argument("--max-input-tok", type=whole(ge=1), default=d.max_input_tok, metavar="N",
                   help=f"cut scaled prompts to N tokens (default {d.max_input_tok})")
    r.add_argument("--max-output-tok", type=whole(ge=1), default=d.max_output_tok, metavar="N",
                   help=f"cut scaled outputs to N tokens (default {d.max_output_tok})")
    r.add_argument("--cache-blocks", type=whole(ge=16), default=d.cache_blocks, metavar="N",
                   help=f"the engine's KV cache in 128-token blocks (default {d.cache_blocks})")
    r.add_argument("--reps", type=whole(ge=1, le=20), default=d.reps, metavar="N",
                   help=f"pairs of runs (default {d.reps})")
    r.add_argument("--quick", action="store_true", help="one pair over 15 s of trace, small lengths (the live test)")
    r.add_argument("--url", metavar="URL", help="replay against your running server instead of launching vLLM")
    r.add_argument("--engine", default="vllm", help="engine name for an attached server (default vllm)")
    r.add_argument("--runs-dir", type=Path, metavar="DIR", help="where to record (default data/runs)")
    r.add_argument("--dry-run", action="store_true", help="print the slice's figures and the plan; run nothing")
    r.set_defaults(func=run_replay)


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """The summary as a plain dict (what ``--json`` prints)."""
    summary = summarize_path(
        args.path, fmt=args.format, window_s=args.window_s,
        cache_sizes_tok=tuple(args.cache_tok) if args.cache_tok else traffic.CACHE_SIZES_TOK,
        allow_ties=not args.strict)
    out = summary.to_dict()
    out["path"] = str(args.path)
    out["peak_provisioned_utilisation_share"] = summary.peak_provisioned_utilisation_share
    out["notes"] = notes(summary)
    return out


def notes(summary: traffic.TrafficSummary) -> list[str]:
    """What a reader of the figures must know (ties kept, figures that do not exist)."""
    out = []
    if summary.tied_arrivals_count:
        out.append(f"{summary.tied_arrivals_count:,} requests arrive at the same time as the one before "
                   "(kept as simultaneous arrivals)")
    if summary.peak_to_mean_x is None:
        out.append(f"peak_to_mean_x is null: the trace spans fewer than two complete {summary.window_s} s windows")
    if summary.prefix_hit_share is None:
        out.append("prefix_hit_share is null: the trace has no prefix-block hashes")
    return out


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def render(out: dict[str, Any], series: bool = False) -> str:
    """The summary as text."""
    pct = lambda v: f"{v:.1%}"  # noqa: E731
    q = lambda d: ", ".join(f"{k} {v:,}" for k, v in d.items())  # noqa: E731
    lines = [
        f"trace: {out['path']} ({out['requests_count']:,} requests over {out['duration_s']:,.1f} s; "
        f"sha256 {out['sha256'][:12]}...)",
        f"input share: {out['input_share']:.1%} of tokens ({out['input_tok']:,} input, {out['output_tok']:,} output); "
        f"the article assumes {ARTICLE_INPUT_SHARE:.0%}",
        f"input tokens: {q(out['input_tok_quantiles'])}, mean {out['input_mean_tok']:,.0f}, max {out['input_max_tok']:,}",
        f"output tokens: {q(out['output_tok_quantiles'])}, mean {out['output_mean_tok']:,.0f}, "
        f"max {out['output_max_tok']:,}",
        f"mean rates: {out['mean_req_per_s']:,.2f} req/s, {out['mean_input_tok_per_s']:,.0f} input tok/s, "
        f"{out['mean_output_tok_per_s']:,.0f} output tok/s",
    ]
    w = out["window_s"]
    ptm, tok = out["peak_to_mean_by_window"], out["token_peak_to_mean_by_window"]
    util = out["peak_provisioned_utilisation_share"]
    lines.append(f"peak-to-mean at {w} s: {_ratio(out['peak_to_mean_x'])} (requests), {_ratio(tok[str(w)])} (tokens)"
                 + (f"; capacity sized for that peak is busy {pct(util)} of the time on average" if util else ""))
    lines.append("peak-to-mean by window (requests / tokens): "
                 + ", ".join(f"{k} s {_ratio(v)} / {_ratio(tok[k])}" for k, v in ptm.items()))
    rates = out["rate_requests_count"]
    if rates:
        lines.append(f"requests per {out['rate_window_s']} s window: min {min(rates):,}, "
                     f"median {sorted(rates)[len(rates) // 2]:,}, max {max(rates):,} ({len(rates)} complete windows)")
    if out["prefix_hit_share"] is None:
        lines.append("prefix cache: the trace has no prefix-block hashes")
    else:
        bounded = ", ".join(f"{int(k):,} tok {pct(v)}" for k, v in out["prefix_hit_share_bounded"].items())
        lines.append(f"prefix cache ({out['block_tok']}-token blocks): an unlimited cache serves "
                     f"{pct(out['prefix_hit_share'])} of input tokens; LRU caches: {bounded}")
    if series:
        lines.append(f"window start [s], requests, input tok, output tok (windows of {out['rate_window_s']} s):")
        for i, (r, a, b) in enumerate(zip(rates, out["rate_input_tok"], out["rate_output_tok"])):
            lines.append(f"  {i * out['rate_window_s']:>8,}  {r:>8,}  {a:>12,}  {b:>10,}")
    lines += [f"note: {n}" for n in out["notes"]]
    return "\n".join(lines)


def replay_plan(args: argparse.Namespace) -> Any:
    """The :class:`selfhost.live.replay.ReplayPlan` the options describe (``--quick``: the quick plan)."""
    if args.quick:
        return dataclasses.replace(replay.QUICK_PLAN, trace=args.trace)
    return replay.ReplayPlan(trace=args.trace, start_s=args.start_s, duration_s=args.duration_s,
                             time_stretch_x=args.time_stretch_x, max_input_tok=args.max_input_tok,
                             max_output_tok=args.max_output_tok, cache_blocks=args.cache_blocks, reps=args.reps)


def run_replay(args: argparse.Namespace) -> int:
    plan = replay_plan(args)
    if args.dry_run:
        requests, name = replay.slice_requests(plan, args.traces)
        figures = replay.slice_figures(requests, plan)
        print(json.dumps({"trace": name, "plan": replay.plan_dict(plan), "slice": figures}, allow_nan=False))
        return 0
    written = replay.record_replay(args.runs_dir, plan, url=args.url, engine_name=args.engine,
                                   traces_dir=args.traces)
    print(f"recorded {len(written)} replay runs in {written[0].parent if written else args.runs_dir}")
    return 0


def run_summarize(args: argparse.Namespace) -> int:
    out = compute(args)
    if args.json:
        print(json.dumps(out, allow_nan=False))
    else:
        print(render(out, args.series))
    return 0
