"""``selfhost breakeven``: where self-hosting starts to pay against an API, for your prices and traffic.

The cost model is :class:`selfhost.costs.Deployment`: replicas of the GPUs a model needs,
each serving at most its capacity within a latency target, provisioned for the traffic's
peak, paid around the clock (a 730-hour month), plus operations. Prices come as numbers
or by name from the dated tables in ``data/``::

    selfhost breakeven --gpu-usd-per-hour 2.5 --gpus 1 \\
        --api-input-usd-per-mtok 3 --api-output-usd-per-mtok 15 --input-share 0.7
    selfhost breakeven --gpu a100-80gb --gpu-pricing community --provider runpod \\
        --api anthropic/claude-sonnet-5.5 --input-share 0.7 --json
    selfhost breakeven --model llama-3.3-70b --gpu a100-80gb --gpu-usd-per-hour 2.5 \\
        --api together/llama-3.3-70b-instruct-turbo --traffic azure-2023-conv --ops-usd-per-month 8833

Without ``--model`` the GPUs serve any volume (the article's assumption); with it, the
capacity of one replica comes from the calibrated roofline (:mod:`selfhost.capacity`).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from selfhost import costs
from selfhost.cli.options import number, share, whole
from selfhost.errors import SelfhostError
from selfhost.params import check_number
from selfhost.prices import ApiPrice, GpuPrice
from selfhost.units import DAYS_PER_MONTH, HOURS_PER_MONTH, counted

#: Upper bounds of the number options: far above any real price or volume, low enough that
#: no product of them overflows a float (``1e308`` is refused, not printed as ``inf``).
MAX_USD_PER_HOUR = 10_000.0
MAX_USD_PER_MTOK = 10_000.0
MAX_USD_PER_MONTH = 1e10
MAX_TOK_PER_DAY = 1e15


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "breakeven", help="break-even volume [tok/day] of self-hosting against an API",
        description="Break-even volume in tokens per day: where the API's bill reaches the cost of the self-hosted "
        "deployment (GPUs around the clock, a 730-hour month, plus operations). Give prices as numbers, or by name "
        "from data/gpu_prices.csv and data/api_prices.csv. Without --model the GPUs serve any volume (the article's "
        "assumption); with --model a replica serves at most its capacity within the latency target and the cost "
        "steps up a replica at a time.",
    )
    gpu = p.add_argument_group("GPU (a price, or a name to look up)")
    gpu.add_argument("--gpu-usd-per-hour", type=number(gt=0, le=MAX_USD_PER_HOUR), metavar="X",
                     help="rental price of one GPU [USD/h]")
    gpu.add_argument("--gpu", metavar="NAME", help="GPU: its price is looked up in data/gpu_prices.csv (e.g. "
                     "a100-80gb); with --model it is also the hardware the capacity is computed for")
    gpu.add_argument("--gpu-pricing", metavar="KIND", help="on-demand, spot, community or reserved (with --gpu)")
    gpu.add_argument("--provider", metavar="NAME", help="GPU provider (with --gpu), e.g. runpod")
    gpu.add_argument("--gpus", type=whole(ge=1, le=1024), metavar="N",
                     help="GPUs of one replica (default 1; with --model, the fewest the model fits on)")
    gpu.add_argument("--replicas", type=whole(ge=1, le=100_000), default=1, metavar="N",
                     help="replicas kept whatever the volume (default 1)")
    model = p.add_argument_group("capacity (with --model)")
    model.add_argument("--model", metavar="NAME", help="the self-hosted model (a name in data/models/)")
    model.add_argument("--weight-dtype", default="best", metavar="DTYPE",
                       help="bf16, fp8, int8, int4, or best (the precision that serves the most; default)")
    model.add_argument("--kv-cache-dtype", default="by-gpu", metavar="DTYPE",
                       help="auto, fp8 or by-gpu (fp8 where the GPU has FP8 tensor cores; default)")
    model.add_argument("--prompt-tokens", type=whole(ge=1, le=1_048_576), default=512, metavar="N",
                       help="prompt tokens per request (default 512); the output follows from the input share")
    model.add_argument("--slo-ttft-ms", type=number(gt=0, le=3_600_000), default=1000.0, metavar="MS",
                       help="latency target on mean time to first token [ms] (default 1000)")
    model.add_argument("--slo-tpot-ms", type=number(gt=0, le=3_600_000), default=100.0, metavar="MS",
                       help="latency target on mean time per output token [ms] (default 100)")
    api = p.add_argument_group("API (prices, or a name to look up)")
    api.add_argument("--api-input-usd-per-mtok", type=number(gt=0, le=MAX_USD_PER_MTOK), metavar="A",
                     help="API input price [USD/Mtok]")
    api.add_argument("--api-output-usd-per-mtok", type=number(gt=0, le=MAX_USD_PER_MTOK), metavar="B",
                     help="API output price [USD/Mtok]")
    api.add_argument("--api-cached-input-usd-per-mtok", type=number(gt=0, le=MAX_USD_PER_MTOK), metavar="C",
                     help="API price of cached input [USD/Mtok] (with --cached-share)")
    api.add_argument("--api", metavar="PROVIDER/MODEL", help="API to look up in data/api_prices.csv")
    api.add_argument("--batch", action="store_true", help="use the API's batch prices (with --api)")
    traffic = p.add_argument_group("traffic (the article's 70/30 steady load, or a trace's)")
    traffic.add_argument("--input-share", type=share, metavar="S",
                         help="input tokens as a share of all tokens, 0-1 (the article's 70/30 split: 0.7)")
    traffic.add_argument("--traffic", metavar="TRACE", help="take input share, peak-to-mean and prefix-cache hit "
                         "share from a trace summary in data/traffic/ (e.g. azure-2023-conv)")
    traffic.add_argument("--peak-to-mean-x", type=number(ge=1, le=1000), metavar="K",
                         help="peak rate over mean rate: capacity is provisioned for the peak (default 1)")
    traffic.add_argument("--cached-share", type=share, metavar="S",
                         help="share of input billed at the API's cached price (default 0)")
    traffic.add_argument("--tok-per-day", type=number(ge=0, le=MAX_TOK_PER_DAY), metavar="V",
                         help="also give both monthly bills at this mean volume [tok/day]")
    p.add_argument("--ops-usd-per-month", type=number(ge=0, le=MAX_USD_PER_MONTH), default=0.0, metavar="M",
                   help="operating cost: engineer time, monitoring [USD/month] (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object (never-crossing break-evens are null)")
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
    """The inputs of the calculation, each validated, with where named prices and traffic came from."""
    inputs: dict[str, Any] = {}
    if args.gpu is not None and args.gpu_usd_per_hour is None:
        from selfhost.data.prices import load_gpu_prices

        g = find_gpu_price(load_gpu_prices(), args.gpu, args.gpu_pricing, args.provider)
        inputs.update(gpu=g.gpu, gpu_pricing=g.pricing, gpu_provider=g.provider, gpu_usd_per_hour=g.gpu_usd_per_hour,
                      gpu_source=g.source, gpu_retrieved=g.retrieved.isoformat(),
                      gpu_copy_date=g.copy_date.isoformat() if g.copy_date else None)
    elif args.gpu is not None and args.model is None:
        raise _conflict("--gpu-usd-per-hour", "--gpu (a price to look up; with --model, --gpu names the hardware)")
    elif args.gpu_usd_per_hour is None:
        raise SelfhostError("give the GPU price: --gpu-usd-per-hour X, or --gpu NAME [--gpu-pricing KIND] [--provider NAME]")
    elif args.gpu_pricing is not None or args.provider is not None:
        raise SelfhostError("--gpu-pricing and --provider look a GPU up; they need --gpu NAME")
    else:
        inputs["gpu_usd_per_hour"] = check_number("gpu_usd_per_hour", args.gpu_usd_per_hour, gt=0)
        if args.gpu is not None:
            inputs["gpu"] = args.gpu
    if args.model is None:
        inputs["gpu_count"] = args.gpus if args.gpus is not None else 1
    elif args.gpus is not None:
        inputs["gpus_per_replica"] = args.gpus
    inputs["replicas"] = args.replicas

    if args.api is not None:
        if any(v is not None for v in (args.api_input_usd_per_mtok, args.api_output_usd_per_mtok,
                                       args.api_cached_input_usd_per_mtok)):
            raise _conflict("--api-input-usd-per-mtok/--api-output-usd-per-mtok", "--api")
        from selfhost.data.prices import load_api_prices

        a = find_api_price(load_api_prices(), args.api)
        if args.batch and not a.has_batch:
            raise SelfhostError(f"{a.key} has no batch price in data/api_prices.csv")
        inputs.update(api=a.key, api_input_usd_per_mtok=a.input_usd_per_mtok,
                      api_output_usd_per_mtok=a.output_usd_per_mtok,
                      api_cached_input_usd_per_mtok=a.cached_input_usd_per_mtok, api_source=a.source,
                      api_retrieved=a.retrieved.isoformat(),
                      api_copy_date=a.copy_date.isoformat() if a.copy_date else None)
        if args.batch:
            inputs.update(batch=True, api_batch_input_usd_per_mtok=a.batch_input_usd_per_mtok,
                          api_batch_output_usd_per_mtok=a.batch_output_usd_per_mtok)
        inputs["_price"] = a
    elif args.api_input_usd_per_mtok is None or args.api_output_usd_per_mtok is None:
        raise SelfhostError("give the API price: --api-input-usd-per-mtok A --api-output-usd-per-mtok B, "
                            "or --api PROVIDER/MODEL")
    elif args.batch:
        raise SelfhostError("--batch uses a named API's batch prices; it needs --api PROVIDER/MODEL")
    else:
        inputs["api_input_usd_per_mtok"] = args.api_input_usd_per_mtok
        inputs["api_output_usd_per_mtok"] = args.api_output_usd_per_mtok
        if args.api_cached_input_usd_per_mtok is not None:
            inputs["api_cached_input_usd_per_mtok"] = args.api_cached_input_usd_per_mtok

    if args.traffic is not None:
        from selfhost.data.traffic import load_summary

        s = load_summary(args.traffic)
        if args.input_share is not None:
            raise _conflict("--input-share", "--traffic")
        inputs.update(traffic=args.traffic, input_share=s.input_share,
                      peak_to_mean_x=s.peak_to_mean_x if s.peak_to_mean_x is not None else 1.0,
                      cached_share=s.prefix_hit_share if s.prefix_hit_share is not None else 0.0)
    elif args.input_share is None:
        raise SelfhostError("give the traffic: --input-share S (the article's 70/30: 0.7), or --traffic TRACE")
    else:
        inputs["input_share"] = args.input_share
    if args.peak_to_mean_x is not None:
        inputs["peak_to_mean_x"] = args.peak_to_mean_x
    if args.cached_share is not None:
        inputs["cached_share"] = args.cached_share
    inputs.setdefault("peak_to_mean_x", 1.0)
    inputs.setdefault("cached_share", 0.0)
    if inputs["cached_share"] > 0 and inputs.get("api_cached_input_usd_per_mtok") is None:
        raise SelfhostError("--cached-share needs the API's cached price: --api-cached-input-usd-per-mtok C, or an "
                            "--api whose row has one")
    inputs["ops_usd_per_month"] = args.ops_usd_per_month
    if args.tok_per_day is not None:
        inputs["tok_per_day"] = args.tok_per_day
    if args.model is not None:
        inputs.update(model=args.model, weight_dtype=args.weight_dtype, kv_cache_dtype=args.kv_cache_dtype,
                      prompt_tokens=args.prompt_tokens, slo_ttft_ms=args.slo_ttft_ms, slo_tpot_ms=args.slo_tpot_ms)
        if "gpu" not in inputs:
            raise SelfhostError("--model computes a replica's capacity on a GPU: give --gpu NAME (e.g. a100-80gb)")
    return inputs


def _deployment(inputs: dict[str, Any]) -> tuple[costs.Deployment, dict[str, Any]]:
    if "model" not in inputs:
        d = costs.Deployment(inputs["gpu_usd_per_hour"], inputs["gpu_count"], None, inputs["ops_usd_per_month"],
                             inputs["replicas"], f"{inputs['gpu_count']} GPU(s) serving any volume")
        return d, {"gpus_per_replica": d.gpus_per_replica, "replica_capacity_tok_per_day": None,
                   "assumption": "the GPUs serve any volume (no capacity limit: the article's assumption)"}
    from selfhost import breakeven, capacity
    from selfhost.data.hardware import gpu_by_name, load_vllm_overheads
    from selfhost.data.models import load_model_spec
    from selfhost.data.serving import default_serving_efficiency

    card = gpu_by_name(inputs["gpu"])
    setup = breakeven.ServingSetup(
        load_model_spec(inputs["model"]), card, load_vllm_overheads(), default_serving_efficiency(gpu=card),
        inputs["weight_dtype"], inputs.get("gpus_per_replica"), inputs["prompt_tokens"], inputs["slo_ttft_ms"],
        inputs["slo_tpot_ms"], capacity.kv_cache_dtype_for(card, inputs["kv_cache_dtype"]))
    if not 0 < inputs["input_share"] < 1:
        raise SelfhostError(f"input_share = {inputs['input_share']} leaves no input or no output tokens: the capacity "
                            "model needs both")
    fit = breakeven.replica_fit(setup, inputs["input_share"])
    if not fit.fits:
        raise SelfhostError(f"{inputs['model']} does not fit {fit.gpus_count} x {card.gpu} at {inputs['weight_dtype']}")
    d = breakeven.size_deployment(setup, inputs["input_share"], inputs["gpu_usd_per_hour"], inputs["ops_usd_per_month"],
                                  inputs["replicas"])
    return d, {"gpus_per_replica": fit.gpus_count, "weight_dtype": fit.weight_dtype,
               "replica_capacity_tok_per_day": fit.capacity_tok_per_day, "limited_by": fit.limited_by,
               "engine_efficiency": {"bandwidth_share": setup.efficiency.bandwidth_share,
                                     "compute_share": setup.efficiency.compute_share},
               "assumption": f"a replica ({d.label}) serves at most {fit.capacity_tok_per_day / 1e6:,.1f}M tok/day "
                             f"within TTFT <= {setup.slo_ttft_ms:g} ms and TPOT <= {setup.slo_tpot_ms:g} ms "
                             "(selfhost.capacity); capacity is provisioned for the peak"}


def _blended(inputs: dict[str, Any]) -> float:
    price: ApiPrice | None = inputs.get("_price")
    share, cached = inputs["input_share"], inputs["cached_share"]
    if price is not None:
        return price.blended_usd_per_mtok(share, cached, bool(inputs.get("batch")))
    return costs.blended_usd_per_mtok(inputs["api_input_usd_per_mtok"], inputs["api_output_usd_per_mtok"], share,
                                      inputs.get("api_cached_input_usd_per_mtok"), cached)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    """The break-evens and the figures they rest on; never-crossing break-evens are None with a reason."""
    d, described = _deployment(inputs)
    blended = _blended(inputs)
    b = d.breakeven(blended, inputs["peak_to_mean_x"])
    result: dict[str, Any] = {
        "breakeven_tok_per_day": _finite_or_none(b.lasting_tok_per_day),
        "first_breakeven_tok_per_day": _finite_or_none(b.first_tok_per_day),
        "blended_usd_per_mtok": blended,
        "selfhost_usd_per_day": (d.min_replicas * d.replica_usd_per_month + d.ops_usd_per_month) / DAYS_PER_MONTH,
        "deployment": {"label": d.label, "min_replicas": d.min_replicas, **{k: v for k, v in described.items()
                                                                             if k != "assumption"}},
        "assumption": described["assumption"],
        "month_hours": HOURS_PER_MONTH,
    }
    if not b.crosses:
        result["breakeven_reason"] = ("no volume breaks even: a replica's tokens, at the utilisation the peak allows, "
                                      "are worth less at this API's price than the replica costs")
    if "tok_per_day" in inputs:
        traffic = costs.Traffic(inputs["tok_per_day"], inputs["input_share"], inputs["peak_to_mean_x"],
                                inputs["cached_share"])
        m = d.monthly(traffic)
        result["monthly"] = {"selfhost_usd_per_month": m.total_usd_per_month, "replicas_count": m.replicas_count,
                             "gpus_count": m.gpus_count, "gpu_usd_per_month": m.gpu_usd_per_month,
                             "ops_usd_per_month": m.ops_usd_per_month, "utilisation_share": m.utilisation_share,
                             "api_usd_per_month": costs.api_usd_per_month(traffic, blended)}
    result["inputs"] = {k: v for k, v in inputs.items() if not k.startswith("_")}
    return result


def _tok(value: float | None) -> str:
    return "never" if value is None else f"{value:,.0f} tokens/day ({value / 1e6:,.2f}M)"


def run(args: argparse.Namespace) -> int:
    result = compute(resolve(args))
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return 0
    i, dep = result["inputs"], result["deployment"]
    gpu = f"{i['gpu']} {i['gpu_pricing']} at {i['gpu_provider']} " if "gpu_pricing" in i else ""
    api = f"{i['api']} " + ("(batch) " if i.get("batch") else "") if "api" in i else ""
    print(f"break-even: {_tok(result['breakeven_tok_per_day'])}")
    if result["first_breakeven_tok_per_day"] != result["breakeven_tok_per_day"]:
        print(f"  first reached at {_tok(result['first_breakeven_tok_per_day'])}; self-hosting stays cheaper only from "
              "the volume above")
    if "breakeven_reason" in result:
        print(f"  {result['breakeven_reason']}")
    print(f"  self-host: {dep['min_replicas']} x {dep['gpus_per_replica']} GPU(s) ({gpu}${i['gpu_usd_per_hour']:,.2f}/h) "
          f"x 730 h/month + ${i['ops_usd_per_month']:,.0f}/month operations = ${result['selfhost_usd_per_day']:,.2f}/day")
    print(f"  API: {api}${i['api_input_usd_per_mtok']:,.3g} in / ${i['api_output_usd_per_mtok']:,.3g} out per Mtok, "
          f"input share {i['input_share']:.3g}, cached share {i['cached_share']:.3g} -> "
          f"${result['blended_usd_per_mtok']:,.3f}/Mtok blended")
    if "traffic" in i:
        print(f"  traffic: {i['traffic']} (peak {i['peak_to_mean_x']:.3g}x the mean)")
    if "monthly" in result:
        m = result["monthly"]
        print(f"  at {i['tok_per_day']:,.0f} tokens/day: self-host ${m['selfhost_usd_per_month']:,.0f}/month "
              f"({counted(int(m['replicas_count']), 'replica')}, {counted(int(m['gpus_count']), 'GPU')}), API ${m['api_usd_per_month']:,.0f}/month")
    for side in ("gpu", "api"):
        if f"{side}_source" in i:
            copy = i.get(f"{side}_copy_date") or "copy undated"
            print(f"  {side.upper()} price: {i[f'{side}_source']} (copy {copy}, read {i[f'{side}_retrieved']})")
    print(f"  assumes: {result['assumption']}")
    return 0
