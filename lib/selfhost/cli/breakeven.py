"""``selfhost breakeven``: the break-even volume for your GPU and API prices.

Prices come either as numbers or by name from the dated tables in ``data/``::

    selfhost breakeven --gpu-usd-per-hour 2.5 --gpus 1 \\
        --api-input-usd-per-mtok 3 --api-output-usd-per-mtok 15 --input-share 0.7
    selfhost breakeven --gpu a100-80gb --gpu-pricing spot --provider runpod \\
        --api anthropic/claude-sonnet-4.6 --input-share 0.7 --json

Capacity is not modelled: the GPUs are assumed to serve the volume (see
:func:`selfhost.costs.gpus_needed`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from selfhost import costs
from selfhost.errors import SelfhostError
from selfhost.params import check_int, check_number
from selfhost.prices import ApiPrice, GpuPrice


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "breakeven", help="break-even volume [tok/day] of self-hosting against an API",
        description="Break-even volume in tokens per day: the daily cost of the rented GPUs (around the clock) "
        "plus operations, divided by the API's blended price. Give prices as numbers, or by name from "
        "data/gpu_prices.csv and data/api_prices.csv. Assumes the GPUs can serve the volume.",
    )
    gpu = p.add_argument_group("GPU (a price, or a name to look up)")
    gpu.add_argument("--gpu-usd-per-hour", type=float, metavar="X", help="rental price of one GPU [USD/h]")
    gpu.add_argument("--gpu", metavar="NAME", help="GPU to look up in data/gpu_prices.csv, e.g. a100-80gb")
    gpu.add_argument("--gpu-pricing", metavar="KIND", help="on-demand, spot, community or reserved (with --gpu)")
    gpu.add_argument("--provider", metavar="NAME", help="GPU provider (with --gpu), e.g. runpod")
    gpu.add_argument("--gpus", type=int, default=1, metavar="N", help="GPUs rented (default 1)")
    api = p.add_argument_group("API (prices, or a name to look up)")
    api.add_argument("--api-input-usd-per-mtok", type=float, metavar="A", help="API input price [USD/Mtok]")
    api.add_argument("--api-output-usd-per-mtok", type=float, metavar="B", help="API output price [USD/Mtok]")
    api.add_argument("--api", metavar="PROVIDER/MODEL", help="API to look up in data/api_prices.csv")
    p.add_argument("--input-share", type=float, required=True, metavar="S",
                   help="input tokens as a share of all tokens, 0-1 (the article's 70/30 split: 0.7)")
    p.add_argument("--ops-usd-per-month", type=float, default=0.0, metavar="M",
                   help="operating cost: engineer time, monitoring [USD/month] (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _one_of(what: str, value: str | None, known: list[str], context: str = "") -> None:
    if value is not None and value not in known:
        raise SelfhostError(f"unknown {what} {value!r}{context}; known: {', '.join(sorted(set(known)))}")


def find_gpu_price(prices: list[GpuPrice], gpu: str, pricing: str | None, provider: str | None) -> GpuPrice:
    """The one GPU price matching the names given; a clear error naming the choices otherwise."""
    _one_of("GPU", gpu, [p.gpu for p in prices])
    rows = [p for p in prices if p.gpu == gpu]
    _one_of("pricing kind", pricing, [p.pricing for p in rows], f" for {gpu}")
    rows = [p for p in rows if pricing is None or p.pricing == pricing]
    where = f"{gpu}" + (f" ({pricing})" if pricing else "")
    _one_of("provider", provider, [p.provider for p in rows], f" for {where}")
    rows = [p for p in rows if provider is None or p.provider == provider]
    if len(rows) > 1:
        raise SelfhostError(f"{len(rows)} prices match {where}; choose with --gpu-pricing and --provider: "
                           + ", ".join(sorted(p.key for p in rows)))
    return rows[0]


def find_api_price(prices: list[ApiPrice], key: str) -> ApiPrice:
    """The API price named ``provider/model``; a clear error listing the known names otherwise."""
    _one_of("API", key, [p.key for p in prices])
    return next(p for p in prices if p.key == key)


def _conflict(a: str, b: str) -> SelfhostError:
    return SelfhostError(f"give either {a} or {b}, not both")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """The inputs of the calculation, each validated, with where named prices came from."""
    inputs: dict[str, Any] = {}
    if args.gpu is not None:
        if args.gpu_usd_per_hour is not None:
            raise _conflict("--gpu-usd-per-hour", "--gpu")
        from selfhost.data.prices import load_gpu_prices

        g = find_gpu_price(load_gpu_prices(), args.gpu, args.gpu_pricing, args.provider)
        inputs.update(gpu=g.gpu, gpu_pricing=g.pricing, gpu_provider=g.provider, gpu_usd_per_hour=g.gpu_usd_per_hour,
                      gpu_source=g.source, gpu_retrieved=g.retrieved.isoformat())
    elif args.gpu_usd_per_hour is None:
        raise SelfhostError("give the GPU price: --gpu-usd-per-hour X, or --gpu NAME [--gpu-pricing KIND] [--provider NAME]")
    elif args.gpu_pricing is not None or args.provider is not None:
        raise SelfhostError("--gpu-pricing and --provider look a GPU up; they need --gpu NAME")
    else:
        inputs["gpu_usd_per_hour"] = check_number("gpu_usd_per_hour", args.gpu_usd_per_hour, gt=0)
    inputs["gpu_count"] = check_int("gpus", args.gpus, ge=1)

    if args.api is not None:
        if args.api_input_usd_per_mtok is not None or args.api_output_usd_per_mtok is not None:
            raise _conflict("--api-input-usd-per-mtok/--api-output-usd-per-mtok", "--api")
        from selfhost.data.prices import load_api_prices

        a = find_api_price(load_api_prices(), args.api)
        inputs.update(api=a.key, api_input_usd_per_mtok=a.input_usd_per_mtok,
                      api_output_usd_per_mtok=a.output_usd_per_mtok, api_source=a.source,
                      api_retrieved=a.retrieved.isoformat())
    elif args.api_input_usd_per_mtok is None or args.api_output_usd_per_mtok is None:
        raise SelfhostError("give the API price: --api-input-usd-per-mtok A --api-output-usd-per-mtok B, "
                            "or --api PROVIDER/MODEL")
    else:
        inputs["api_input_usd_per_mtok"] = check_number("api_input_usd_per_mtok", args.api_input_usd_per_mtok, gt=0)
        inputs["api_output_usd_per_mtok"] = check_number("api_output_usd_per_mtok", args.api_output_usd_per_mtok, gt=0)
    inputs["input_share"] = check_number("input_share", args.input_share, ge=0, le=1)
    inputs["ops_usd_per_month"] = check_number("ops_usd_per_month", args.ops_usd_per_month, ge=0)
    return inputs


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    """The break-even and the figures it rests on."""
    blended = costs.blended_usd_per_mtok(inputs["api_input_usd_per_mtok"], inputs["api_output_usd_per_mtok"],
                                         inputs["input_share"])
    daily = costs.selfhost_usd_per_day(inputs["gpu_usd_per_hour"], inputs["gpu_count"], inputs["ops_usd_per_month"])
    tok = costs.breakeven_tok_per_day(inputs["gpu_usd_per_hour"], blended, inputs["gpu_count"],
                                      inputs["ops_usd_per_month"])
    return {"breakeven_tok_per_day": tok, "blended_usd_per_mtok": blended, "selfhost_usd_per_day": daily,
            "assumption": "the GPUs serve the volume (capacity not modelled)", "inputs": inputs}


def run(args: argparse.Namespace) -> int:
    result = compute(resolve(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    i = result["inputs"]
    gpu = f"{i['gpu']} {i['gpu_pricing']} at {i['gpu_provider']} " if "gpu" in i else ""
    api = f"{i['api']} " if "api" in i else ""
    print(f"break-even: {result['breakeven_tok_per_day']:,.0f} tokens/day "
          f"({result['breakeven_tok_per_day'] / 1e6:,.2f}M)")
    print(f"  self-host: {i['gpu_count']} x {gpu}${i['gpu_usd_per_hour']:,.2f}/h x 24 h"
          f" + ${i['ops_usd_per_month']:,.0f}/month operations = ${result['selfhost_usd_per_day']:,.2f}/day")
    print(f"  API: {api}${i['api_input_usd_per_mtok']:,.3g} in / ${i['api_output_usd_per_mtok']:,.3g} out per Mtok, "
          f"input share {i['input_share']:g} -> ${result['blended_usd_per_mtok']:,.3f}/Mtok blended")
    for side in ("gpu", "api"):
        if f"{side}_source" in i:
            print(f"  {side.upper()} price: {i[f'{side}_source']} (retrieved {i[f'{side}_retrieved']})")
    print(f"  assumes: {result['assumption']}")
    return 0
