"""Read a reader's profile (``selfhost plan PROFILE.yaml``) and resolve it against the data into plan inputs.

:func:`read_profile` reads the YAML strictly (:mod:`selfhost.data.yamlfile`) and validates
every field (:func:`selfhost.profile.profile_from_mapping`); :func:`resolve` checks each
name against ``data/`` (model, GPUs, weight precisions, APIs, trace summaries), turns an
API spend into tokens per day, takes GPU prices from ``data/gpu_prices.csv`` unless the
profile gives them, the engine efficiency per GPU from the calibration, and the
availability figures from ``data/availability.csv``. Reads files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfhost import costs, plan, profile
from selfhost.data.hardware import load_gpus, load_vllm_overheads
from selfhost.data.models import load_model_spec
from selfhost.data.prices import load_api_prices, load_gpu_prices
from selfhost.data.serving import efficiency_for, serving_efficiency_range
from selfhost.data.tables import load_rows
from selfhost.data.traffic import load_summary, summary_names
from selfhost.data.yamlfile import read_strict_yaml
from selfhost.errors import ParameterError

#: The article's scenario, the plan's default profile (the "Your deployment" page starts from it).
ARTICLE_PROFILE: dict[str, Any] = {
    "model": "llama-3.3-70b",
    "traffic": {"tok_per_day": 5.0e6, "input_share": 0.7, "peak_to_mean_x": 1.0, "cached_input_share": 0.0},
    "latency": {"ttft_ms": 1000.0, "tpot_ms": 100.0},
    "availability": 0.99,
    "gpus": ["a100-80gb"],
    "gpu_usd_per_hour": {"a100-80gb": 2.50},
    "weight_dtypes": ["bf16", "fp8", "int8", "int4"],
    "ops_usd_per_month": 0.0,
    "apis": ["anthropic/claude-sonnet-4.6"],
}
#: One engineer's full time plus monitoring: the top of the operating-cost range a plan is held against.
ONE_ENGINEER_USD_PER_YEAR = 200_000.0
MONITORING_USD_PER_MONTH = 500.0
#: Pricing kinds a plan takes a GPU's default price from, in order (on-demand first: a service needs capacity that stays).
PRICING_ORDER = ("on-demand", "reserved", "community", "spot")
#: A trace's median prompt is the typical prompt, up to this many tokens [tok].
MAX_TRACE_PROMPT_TOKENS = 32_768


def read_profile(path: str | Path) -> profile.Profile:
    """A validated :class:`selfhost.profile.Profile` from a YAML file."""
    return profile.profile_from_mapping(read_strict_yaml(path, "profile", empty_ok=False))


def _field_error(name: str, value: object, expected: str) -> ParameterError:
    return ParameterError(name, value, expected, kind="profile field")


def _gpu_option(key: str, given: dict[str, float], where: str) -> plan.GpuOption:
    gpus = {g.key: g for g in load_gpus().values()}
    names = {g.gpu.lower(): g.key for g in gpus.values()}
    wanted = names.get(key.lower(), key.lower())
    if wanted not in gpus:
        raise _field_error(where, key, f"a GPU of data/gpus.csv ({', '.join(sorted(gpus))})")
    gpu = gpus[wanted]
    rows = [p for p in load_gpu_prices() if p.gpu == gpu.key]
    if key in given or gpu.key in given:
        price, basis = given.get(key, given.get(gpu.key, 0.0)), "given in the profile"
    else:
        if not rows:
            raise _field_error(f"gpu_usd_per_hour.{gpu.key}", None,
                               "a price: data/gpu_prices.csv has none for this GPU")
        ranked = sorted(rows, key=lambda p: (PRICING_ORDER.index(p.pricing) if p.pricing in PRICING_ORDER else 9,
                                             p.gpu_usd_per_hour))
        pick = ranked[0]
        price, basis = pick.gpu_usd_per_hour, f"{pick.key}, read {pick.retrieved} ({pick.source})"
    all_prices = [p.gpu_usd_per_hour for p in rows] or [price]
    return plan.GpuOption(gpu, float(price), basis, efficiency_for(gpu), serving_efficiency_range(gpu=gpu),
                          (min(all_prices), max(all_prices)))


def _availability_defaults() -> tuple[float, str]:
    rows = [r for r in load_rows("availability") if r["item"] == "single-instance"]
    if not rows:
        return 0.995, "assumed 99.5% per replica"
    r = rows[0]
    return float(r["availability"]), f"{r['provider']} single-instance SLA ({r['source']})"


def resolve(p: profile.Profile, *, prompt_tokens_default: int = 512) -> plan.PlanInputs:
    """The plan inputs for a validated profile; a name the data does not know raises naming the field."""
    try:
        spec = load_model_spec(p.model)
    except Exception as exc:
        raise _field_error("model", p.model, f"a model of data/models/ or a config.json path ({exc})") from None
    prices = {a.key: a for a in load_api_prices()}
    if p.apis == "all":
        apis = tuple(prices.values())
    else:
        unknown = [a for a in p.apis if a not in prices]
        if unknown:
            raise _field_error("apis", unknown[0], f"one of the APIs in data/api_prices.csv or 'all' "
                               f"({', '.join(sorted(prices)[:8])}, ...)")
        apis = tuple(prices[a] for a in p.apis)
    t = p.traffic
    reference = t.api if t.api is not None else (min(apis, key=lambda a: a.blended_usd_per_mtok(0.7)).key
                                                 if p.apis == "all" else apis[0].key)
    if t.api is not None and t.api not in prices:
        raise _field_error("traffic.api", t.api, "one of the APIs in data/api_prices.csv")
    if t.api is not None and t.api not in {a.key for a in apis}:
        apis = (prices[t.api], *apis)
    input_share = t.input_share if t.input_share is not None else 0.7
    peak = t.peak_to_mean_x if t.peak_to_mean_x is not None else 1.0
    cached_share = t.cached_input_share
    prompt_tokens = p.prompt_tokens or prompt_tokens_default
    basis = []
    if t.trace is not None:
        names = summary_names()
        if t.trace not in names:
            raise _field_error("traffic.trace", t.trace, f"a trace summary of data/traffic/ ({', '.join(names)})")
        trace = load_summary(t.trace)
        taken = []
        if t.input_share is None:
            input_share = trace.input_share
            taken.append(f"input share {input_share:.1%}")
        if t.peak_to_mean_x is None and trace.peak_to_mean_x is not None:
            peak = trace.peak_to_mean_x
            taken.append(f"peak-to-mean {peak:.2f}x at {trace.window_s} s")
        if not t.cached_input_share and trace.prefix_hit_share is not None:
            cached_share = trace.prefix_hit_share
            taken.append(f"{cached_share:.0%} of input from a prefix cache")
        if p.prompt_tokens is None:
            prompt_tokens = int(min(max(trace.input_tok_quantiles["p50"], 1), MAX_TRACE_PROMPT_TOKENS))
            taken.append(f"median prompt {prompt_tokens:,} tokens")
        basis.append(f"trace {t.trace}: " + ", ".join(taken) if taken else f"trace {t.trace} (every figure given)")
    if t.tok_per_day is not None:
        volume = t.tok_per_day
        basis.append("tokens/day as given")
    else:
        assert t.api_spend_usd_per_month is not None and t.api is not None
        api = prices[t.api]
        cached = cached_share if api.cached_input_usd_per_mtok is not None else 0.0
        blended = api.blended_usd_per_mtok(input_share, cached)
        volume = costs.tok_per_day_for_spend(t.api_spend_usd_per_month, blended)
        basis.append(f"${t.api_spend_usd_per_month:,.0f}/month on {t.api} at ${blended:.2f}/Mtok blended "
                     f"= {volume / 1e6:,.1f}M tokens/day")
    traffic = plan.Traffic(volume, input_share, peak, cached_share, prompt_tokens, "; ".join(basis))
    options = tuple(_gpu_option(g, dict(p.gpu_usd_per_hour), f"gpus[{i}]") for i, g in enumerate(p.gpus))
    replica_a, _ = _availability_defaults()
    reliability = plan.Reliability(p.availability, replica_a, 0.9999, 12.0, 60.0)
    one_engineer = ONE_ENGINEER_USD_PER_YEAR / 12 + MONITORING_USD_PER_MONTH
    return plan.PlanInputs(spec, traffic, p.ttft_ms, p.tpot_ms, reliability, options, p.weight_dtypes,
                           p.ops_usd_per_month, apis, reference, load_vllm_overheads(), (0.0, one_engineer),
                           trace_ranges(traffic))


def trace_ranges(traffic: plan.Traffic) -> dict[str, tuple[float, float, str]]:
    """The plausible ranges of input share and peak-to-mean: the article's assumption, the profile's
    figure and every trace summary in ``data/traffic/`` (the ranges the plan's answer is held against)."""
    summaries = [load_summary(n) for n in summary_names()]
    shares = [0.7, traffic.input_share, *(s.input_share for s in summaries)]
    peaks = [1.0, traffic.peak_to_mean_x, *(s.peak_to_mean_x for s in summaries if s.peak_to_mean_x is not None)]
    names = ", ".join(s.name for s in summaries)
    return {"input_share": (min(shares), max(shares), f"the article's 70/30, your figure and the traces ({names})"),
            "peak_to_mean_x": (min(peaks), max(peaks), f"a steady load, your figure and the traces at 60 s ({names})")}


def article_inputs() -> plan.PlanInputs:
    """The plan inputs of the article's scenario (:data:`ARTICLE_PROFILE`)."""
    return resolve(profile.profile_from_mapping(ARTICLE_PROFILE))



def inputs_for(mapping: dict[str, Any] | None) -> plan.PlanInputs:
    """Plan inputs for a profile given as a mapping (a notebook parameter); empty: the article's scenario."""
    if not mapping:
        return article_inputs()
    return resolve(profile.profile_from_mapping(mapping))
