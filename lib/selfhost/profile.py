"""A reader's deployment profile: what they serve, how much, how fast, how reliably, at what price (pure).

The profile is what ``selfhost plan PROFILE.yaml`` and the "Your deployment" page read
(README, "Your deployment"). :func:`profile_from_mapping` validates every field of the
parsed YAML and names the first bad one as ``traffic.input_share`` etc.; names of models,
GPUs, APIs and traces are checked against the data by :mod:`selfhost.data.profile`, which
also turns an API spend into tokens per day.

Example (the article's scenario, the default)::

    model: llama-3.3-70b
    traffic:
      tok_per_day: 5000000          # or: api_spend_usd_per_month + api
      input_share: 0.7              # or: trace: a trace summary name
      peak_to_mean_x: 1.0
      cached_input_share: 0.0
    latency: {ttft_ms: 1000, tpot_ms: 100}
    availability: 0.99
    gpus: [a100-80gb]
    gpu_usd_per_hour: {a100-80gb: 2.50}
    weight_dtypes: [bf16, fp8, int8, int4]
    ops_usd_per_month: 0
    apis: [anthropic/claude-sonnet-4.6]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from selfhost.errors import ParameterError
from selfhost.params import check_choice, check_int, check_number

#: Weight precisions a profile may list (those :mod:`selfhost.memory` budgets).
PROFILE_DTYPES = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4")

TOP_KEYS = {"model", "traffic", "latency", "availability", "gpus", "gpu_usd_per_hour", "weight_dtypes",
            "ops_usd_per_month", "apis", "prompt_tokens"}
TRAFFIC_KEYS = {"tok_per_day", "api_spend_usd_per_month", "api", "input_share", "trace", "peak_to_mean_x",
                "cached_input_share"}
LATENCY_KEYS = {"ttft_ms", "tpot_ms"}


@dataclass(frozen=True)
class TrafficSpec:
    """How much traffic, as the profile states it (one of volume, spend or trace decides each figure).

    ``tok_per_day`` or ``api_spend_usd_per_month`` (with ``api``: the spend is turned into
    tokens at that API's blended price); ``input_share`` or ``trace`` (a trace summary's
    input share and peak-to-mean); ``peak_to_mean_x`` (provision for the peak rate);
    ``cached_input_share`` (input an API bills at its cached price).
    """

    tok_per_day: float | None = None
    api_spend_usd_per_month: float | None = None
    api: str | None = None
    input_share: float | None = None
    trace: str | None = None
    peak_to_mean_x: float | None = None
    cached_input_share: float = 0.0


@dataclass(frozen=True)
class Profile:
    """A validated profile (names not yet checked against the data)."""

    model: str
    traffic: TrafficSpec
    ttft_ms: float
    tpot_ms: float
    availability: float
    gpus: tuple[str, ...]
    gpu_usd_per_hour: Mapping[str, float] = field(default_factory=dict)
    weight_dtypes: tuple[str, ...] = ("bf16", "fp8", "int8", "int4")
    ops_usd_per_month: float = 0.0
    apis: tuple[str, ...] | str = "all"
    prompt_tokens: int | None = None


def _number(name: str, value: Any, **bounds: Any) -> float:
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(name, value, "a finite number", kind="profile field")
    try:
        return check_number(name, value, **bounds)
    except ParameterError as exc:
        raise ParameterError(name, value, exc.expected, kind="profile field") from None


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise ParameterError(name, value, "a name (text)", kind="profile field")
    return value.strip()


def _names(name: str, value: Any, *, allow_all: bool = False) -> tuple[str, ...] | str:
    if allow_all and value == "all":
        return "all"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > 100:
        expected = "a list of names" + (" or 'all'" if allow_all else "")
        raise ParameterError(name, value, expected, kind="profile field")
    out = tuple(_text(f"{name}[{i}]", v) for i, v in enumerate(value))
    if len(set(out)) != len(out):
        raise ParameterError(name, value, "names without repeats", kind="profile field")
    return out


def _mapping(name: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParameterError(name, value, "a mapping", kind="profile field")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ParameterError(unknown[0] if name == "(top level)" else f"{name}.{unknown[0]}", value[unknown[0]],
                             f"one of the fields {', '.join(sorted(allowed))}", kind="profile field")
    return value


def traffic_from_mapping(raw: Any) -> TrafficSpec:
    """The ``traffic`` section, validated (see :class:`TrafficSpec`)."""
    t = _mapping("traffic", raw, TRAFFIC_KEYS)
    has_volume, has_spend = "tok_per_day" in t, "api_spend_usd_per_month" in t
    if has_volume == has_spend:
        raise ParameterError("traffic", dict(t), "exactly one of tok_per_day and api_spend_usd_per_month",
                             kind="profile field")
    if has_spend and "api" not in t:
        raise ParameterError("traffic.api", None, "the API whose prices turn the spend into tokens (provider/model)",
                             kind="profile field")
    if "api" in t and not has_spend:
        raise ParameterError("traffic.api", t["api"], "no value: traffic.api goes with api_spend_usd_per_month",
                             kind="profile field")
    if "input_share" in t and "trace" in t and "peak_to_mean_x" in t:
        raise ParameterError("traffic.trace", t["trace"], "no trace when input_share and peak_to_mean_x are both "
                             "given (the trace would decide neither)", kind="profile field")
    return TrafficSpec(
        tok_per_day=_number("traffic.tok_per_day", t["tok_per_day"], gt=0, le=1e15) if has_volume else None,
        api_spend_usd_per_month=(_number("traffic.api_spend_usd_per_month", t["api_spend_usd_per_month"], gt=0,
                                         le=1e10) if has_spend else None),
        api=_text("traffic.api", t["api"]) if "api" in t else None,
        input_share=_number("traffic.input_share", t["input_share"], gt=0, lt=1) if "input_share" in t else None,
        trace=_text("traffic.trace", t["trace"]) if "trace" in t else None,
        peak_to_mean_x=(_number("traffic.peak_to_mean_x", t["peak_to_mean_x"], ge=1, le=1000)
                        if "peak_to_mean_x" in t else None),
        cached_input_share=_number("traffic.cached_input_share", t.get("cached_input_share", 0.0), ge=0, le=1),
    )


def profile_from_mapping(raw: Any) -> Profile:
    """A :class:`Profile` from a parsed YAML mapping; the first bad field raises ParameterError naming it.

    >>> p = profile_from_mapping({"model": "llama-3.3-70b", "traffic": {"tok_per_day": 2e7, "input_share": 0.85},
    ...                           "latency": {"ttft_ms": 1000, "tpot_ms": 100}, "availability": 0.999,
    ...                           "gpus": ["a100-80gb"]})
    >>> p.traffic.tok_per_day, p.availability, p.apis
    (20000000.0, 0.999, 'all')
    >>> profile_from_mapping({"model": "m", "traffic": {"tok_per_day": -1}, "latency": {"ttft_ms": 1, "tpot_ms": 1},
    ...                       "availability": 0.99, "gpus": ["a100-80gb"]})
    Traceback (most recent call last):
    ...
    selfhost.errors.ParameterError: profile field traffic.tok_per_day = -1 is invalid: expected a number in (0, 1e+15]
    """
    r = _mapping("(top level)", raw, TOP_KEYS)
    for key in ("model", "traffic", "latency", "availability", "gpus"):
        if key not in r:
            raise ParameterError(key, None, "a value: the field is required", kind="profile field")
    latency = _mapping("latency", r["latency"], LATENCY_KEYS)
    for key in LATENCY_KEYS:
        if key not in latency:
            raise ParameterError(f"latency.{key}", None, "a value: the field is required", kind="profile field")
    prices = _mapping("gpu_usd_per_hour", r.get("gpu_usd_per_hour") or {}, set(map(str, r.get("gpu_usd_per_hour") or {})))
    dtypes = _names("weight_dtypes", r.get("weight_dtypes", ["bf16", "fp8", "int8", "int4"]))
    for i, d in enumerate(dtypes):
        try:
            check_choice(f"weight_dtypes[{i}]", d, PROFILE_DTYPES)
        except ParameterError as exc:
            raise ParameterError(exc.name, d, exc.expected, kind="profile field") from None
    prompt = r.get("prompt_tokens")
    if prompt is not None:
        try:
            prompt = check_int("prompt_tokens", prompt, ge=1, le=1_000_000)
        except ParameterError as exc:
            raise ParameterError("prompt_tokens", prompt, exc.expected, kind="profile field") from None
    gpus = _names("gpus", r["gpus"])
    return Profile(
        model=_text("model", r["model"]),
        traffic=traffic_from_mapping(r["traffic"]),
        ttft_ms=_number("latency.ttft_ms", latency["ttft_ms"], gt=0, le=3.6e6),
        tpot_ms=_number("latency.tpot_ms", latency["tpot_ms"], gt=0, le=3.6e6),
        availability=_number("availability", r["availability"], gt=0, lt=1),
        gpus=gpus if isinstance(gpus, tuple) else (gpus,),
        gpu_usd_per_hour={str(k): _number(f"gpu_usd_per_hour.{k}", v, gt=0, le=1000) for k, v in prices.items()},
        weight_dtypes=dtypes if isinstance(dtypes, tuple) else (dtypes,),
        ops_usd_per_month=_number("ops_usd_per_month", r.get("ops_usd_per_month", 0.0), ge=0, le=1e9),
        apis=_names("apis", r.get("apis", "all"), allow_all=True),
        prompt_tokens=prompt,
    )
