"""``selfhost plan``: your numbers, one answer.

::

    selfhost plan                       # the article's scenario
    selfhost plan my-profile.yaml       # a profile (README, "Your deployment")
    selfhost plan my-profile.yaml --json
    selfhost plan my-profile.yaml --rules-out monitoring/my-rules.yml

Prints the cheapest deployment that meets the profile's latency and availability targets
at the traffic's peak, its monthly cost (GPUs x price x 730 h + operations), each API's
bill for the same traffic, the break-even volume against each, the answer, and for each
uncertain input where inside its plausible range the answer changes. With
``--rules-out`` it also writes the Prometheus alert rules for the profile's TTFT target.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from selfhost import alertrules, paths, plan
from selfhost.data.profile import article_inputs, read_profile, resolve
from selfhost.errors import SelfhostError
from selfhost.units import HOURS_PER_MONTH, counted


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan", help="size, price and compare a whole deployment for your profile (one answer)",
        description="The cheapest deployment (GPU, precision, GPUs per replica, replicas) that serves your traffic's "
        "peak within your latency and availability targets, what it costs a month, what each API would bill for the "
        "same traffic, the answer, and what would change it. Months are 730 hours.",
    )
    p.add_argument("profile", nargs="?", metavar="PROFILE.yaml",
                   help="your profile (see README, 'Your deployment'); default: the article's scenario")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-flips", action="store_true", help="skip the search for what flips the answer (faster)")
    p.add_argument("--rules-out", metavar="PATH", help="also write Prometheus alert rules for the profile's TTFT target")
    p.add_argument("--force", action="store_true", help="with --rules-out: replace an existing rules file")
    p.set_defaults(func=run)


def _write_rules(path_text: str, ttft_ms: float, force: bool) -> Path:
    path = Path(path_text)
    data = paths.data_dir().resolve()
    target = path.resolve()
    if target == data or data in target.parents:
        raise SelfhostError(f"--rules-out {path_text}: refusing to write inside data/ (the book's inputs)")
    if path.is_dir():
        raise SelfhostError(f"--rules-out {path_text}: a directory; give a file name such as {path_text}/rules.yml")
    if path.suffix not in (".yml", ".yaml"):
        raise SelfhostError(f"--rules-out {path_text}: a rules file ends in .yml or .yaml")
    if path.exists() and not force:
        raise SelfhostError(f"--rules-out {path_text}: exists; pass --force to replace it")
    text = alertrules.rules_yaml(alertrules.AlertPolicy(ttft_slo_ms=ttft_ms))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _m(x: float | None) -> str:
    return "never" if x is None or not math.isfinite(x) else f"{x / 1e6:,.1f}M tok/day"


def report(p: plan.Plan, inputs: plan.PlanInputs) -> str:
    """The human-readable plan: every figure a reader needs to check the answer by hand."""
    t = p.traffic
    lines = [p.sentence, "", "Traffic:",
             f"  {t.tok_per_day / 1e6:,.1f}M tok/day on average ({t.basis}); input share {t.input_share:.1%}; "
             f"peak {t.peak_to_mean_x:.2f}x the mean = {t.peak_tok_per_day / 1e6:,.1f}M tok/day to provision for; "
             f"{t.cached_input_share:.0%} of input billed at cached prices; prompts of {t.prompt_tokens} tokens",
             f"  targets: TTFT <= {inputs.ttft_ms:,.0f} ms and TPOT <= {inputs.tpot_ms:,.0f} ms (means at steady load); "
             f"availability {inputs.reliability.target:.3%}"]
    d = p.deployment
    if d is not None:
        lines += ["", "Deployment:",
                  f"  {d.label}: one replica serves {d.replica_capacity_tok_per_day / 1e6:,.1f}M tok/day within the "
                  f"targets (limited by {d.limited_by})",
                  f"  replicas = ceil({t.peak_tok_per_day / 1e6:,.1f}M / {d.replica_capacity_tok_per_day / 1e6:,.1f}M) "
                  f"= {d.load_replicas} for the peak + {d.spare_replicas} spare for the availability = {d.replicas}, "
                  f"in {d.zones} zone(s)",
                  f"  cost = {counted(d.gpus_total, 'GPU')} x ${d.gpu_usd_per_hour:,.2f}/h x {HOURS_PER_MONTH:g} h + "
                  f"${d.ops_usd_per_month:,.0f} operations = ${d.selfhost_usd_per_month:,.0f}/month",
                  f"  GPU price: {next(o.price_basis for o in inputs.gpus if o.gpu.key == d.gpu_key)}"]
    elif p.nearest_miss is not None:
        lines += ["", f"No deployment meets the targets; the closest: {p.nearest_miss.label}: {p.nearest_miss.misses}."]
    lines += ["", "APIs for the same traffic (blended = input share x input price + output share x output price):"]
    for q in p.quotes:
        mark = " (the one replaced)" if q.api == p.reference.api else ""
        lines.append(f"  {q.api}{mark}: ${q.blended_usd_per_mtok:,.3f}/Mtok -> ${q.api_usd_per_month:,.0f}/month; "
                     f"break-even {_m(q.breakeven_tok_per_day)}")
    if p.flips:
        lines += ["", "What would change the answer (each input alone, over its plausible range):"]
        for s in p.flips:
            lines.append(f"  {s.describe().replace('flips to', 'becomes')} [{s.source}]")
    lines += ["", f"A month is {HOURS_PER_MONTH:g} hours."]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    inputs = resolve(read_profile(args.profile)) if args.profile else article_inputs()
    result = plan.make_plan(inputs, with_flips=not args.no_flips)
    rules = _write_rules(args.rules_out, inputs.ttft_ms, args.force) if args.rules_out else None
    if args.json:
        out = plan.plan_json(result)
        out["rules_written"] = None if rules is None else str(rules)
        print(json.dumps(out, indent=2, allow_nan=False))
        return 0
    print(report(result, inputs))
    if rules is not None:
        print(f"\nAlert rules for TTFT <= {inputs.ttft_ms:,.0f} ms written to {rules}")
    return 0
