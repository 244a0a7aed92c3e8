"""Capacity analyses on top of :mod:`selfhost.roofline`: measured against predicted, efficiency, verdicts.

- :func:`implied_efficiency` sets a published or measured figure beside the roofline's
  prediction for the same conditions and returns the share of the roofline it reaches;
  :func:`efficiency_from` turns a table of those into the :class:`~selfhost.roofline.Efficiency`
  the capacity model uses (medians, each from its own kind of measurement).
- :func:`deployment_capacities` is one model on one GPU at every precision that fits:
  the largest batch within a latency target and the tokens per day it serves.
- :func:`capacity_breakeven_tok_per_day` is the break-even of :mod:`selfhost.costs` when
  each GPU serves at most a given volume (the cost steps up with every GPU added).
- :func:`c07_verdict` (one A100 80GB serves a 70B model at 5M and 50M tokens/day?) and
  :func:`c15_verdict` (is under 200 ms TTFT reachable?) decide from computed figures.

Pure functions; no I/O.

References
----------
See :mod:`selfhost.roofline`; the article, *Should You Self-Host?* and *Quick Reference*.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from selfhost import costs, memory, roofline
from selfhost.errors import ParameterError
from selfhost.gpus import Gpu
from selfhost.modelspec import ModelSpec
from selfhost.params import check_int, check_number
from selfhost.units import TOK_PER_MTOK
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Verdict

#: Which efficiency a metric measures: decode steps are memory-bound (bandwidth), a lone
#: prefill is compute-bound, a whole benchmark mixes both.
METRIC_KIND = {"decode_tok_per_s_per_request": "bandwidth", "tpot_ms": "bandwidth", "ttft_ms": "compute",
               "output_tok_per_s": "overall"}


@dataclass(frozen=True)
class Implied:
    """A measurement beside the roofline: the prediction in the metric's unit and the share reached."""

    kind: str
    predicted: float
    implied_x: float | None


def implied_efficiency(spec: ModelSpec, device: roofline.Device, *, metric: str, value: float, concurrency: int,
                       input_tokens: int | None, output_tokens: int | None, weight_dtype: str = "bf16",
                       chunk_tokens: int = 2048) -> Implied:
    """The roofline's prediction (efficiency 1) for a measured figure, and measured / predicted.

    - ``decode_tok_per_s_per_request`` and ``tpot_ms``: one decode step of ``concurrency``
      sequences at the mean context ``input + output / 2`` (0 when lengths are not given,
      which leaves the KV cache out and flatters the engine slightly); implied = roofline
      step time / measured step time.
    - ``ttft_ms``: one prompt of ``input_tokens`` prefilled alone; implied = roofline time /
      measured TTFT (a floor: the measured TTFT also holds queueing and the network).
    - ``output_tok_per_s``: a closed-loop wave (:func:`selfhost.roofline.wave_output_tok_per_s`);
      implied = measured / predicted. A figure above 1 cannot be plain decoding on that
      device (a different metric, speculative decoding, or an error).

    Returns ``implied_x`` None when the lengths the metric needs are missing.
    """
    check_number("value", value, gt=0)
    kind = METRIC_KIND.get(metric)
    if kind is None:
        raise ParameterError("metric", metric, f"one of {sorted(METRIC_KIND)}")
    if kind == "bandwidth":
        context = (input_tokens or 0) + (output_tokens or 0) // 2
        step = roofline.step_time(spec, device, decode_batch=concurrency, context_tokens=context,
                                  weight_dtype=weight_dtype).time_s
        measured_s = 1.0 / value if metric == "decode_tok_per_s_per_request" else value / 1e3
        predicted = 1.0 / step if metric == "decode_tok_per_s_per_request" else step * 1e3
        return Implied(kind, predicted, step / measured_s)
    if kind == "compute":
        if not input_tokens:
            return Implied(kind, math.nan, None)
        t = roofline.prefill_time(spec, device, prompt_tokens=input_tokens, weight_dtype=weight_dtype,
                                  chunk_tokens=chunk_tokens).time_s
        return Implied(kind, t * 1e3, t * 1e3 / value)
    if not input_tokens or not output_tokens:
        return Implied(kind, math.nan, None)
    rate, _, _ = roofline.wave_output_tok_per_s(spec, device, concurrency=concurrency, input_tokens=input_tokens,
                                                output_tokens=output_tokens, weight_dtype=weight_dtype,
                                                chunk_tokens=chunk_tokens)
    return Implied(kind, rate, value / rate)


def efficiency_from(implied: Iterable[tuple[str, float | None, int]],
                    max_decode_concurrency: int = 4) -> roofline.Efficiency:
    """The efficiency the capacity model uses, from (kind, implied share, concurrency) triples.

    ``bandwidth_x``: the median implied share of the decode measurements at concurrency up
    to ``max_decode_concurrency`` (nearly pure decode steps; at higher concurrency prompts
    of arriving requests share the steps, which :func:`selfhost.roofline.operating_point`
    models itself). ``compute_x``: the median of the TTFT measurements. Shares above 1
    (impossible on the roofline) and missing ones are left out.

    >>> efficiency_from([("bandwidth", 0.7, 1), ("bandwidth", 0.8, 1), ("bandwidth", 0.2, 64), ("compute", 0.3, 10)])
    Efficiency(bandwidth_x=0.75, compute_x=0.3)
    """
    bw, comp = _usable(implied, max_decode_concurrency)
    return roofline.Efficiency(statistics.median(bw), statistics.median(comp))


def _usable(implied: Iterable[tuple[str, float | None, int]], max_decode_concurrency: int) -> tuple[list[float], list[float]]:
    bw, comp = [], []
    for kind, share, concurrency in implied:
        if share is None or not (0 < share <= 1):
            continue
        if kind == "bandwidth" and concurrency <= max_decode_concurrency:
            bw.append(share)
        elif kind == "compute":
            comp.append(share)
    if not bw or not comp:
        raise ParameterError("implied", "(no usable rows)", "at least one usable decode and one usable TTFT measurement")
    return bw, comp


def efficiency_bounds(implied: Iterable[tuple[str, float | None, int]],
                      max_decode_concurrency: int = 4) -> tuple[roofline.Efficiency, roofline.Efficiency]:
    """The lowest and highest efficiency the same measurements as :func:`efficiency_from` imply.

    >>> lo, hi = efficiency_bounds([("bandwidth", 0.7, 1), ("bandwidth", 0.8, 1), ("compute", 0.3, 10), ("compute", 0.5, 1)])
    >>> (lo.bandwidth_x, lo.compute_x), (hi.bandwidth_x, hi.compute_x)
    ((0.7, 0.3), (0.8, 0.5))
    """
    bw, comp = _usable(implied, max_decode_concurrency)
    return roofline.Efficiency(min(bw), min(comp)), roofline.Efficiency(max(bw), max(comp))


def _whole_or_none(value: object) -> int | None:
    """A table cell as a whole number; None for an empty cell (None or NaN)."""
    if value is None or value != value:
        return None
    return int(value)  # type: ignore[call-overload]


def published_implied(table: pd.DataFrame, gpus: Mapping[str, Gpu], specs: Mapping[str, ModelSpec]) -> pd.DataFrame:
    """Published measurements beside the roofline: the prediction and the implied efficiency of each row.

    ``table`` has the columns of ``data/published_serving.csv`` (``gpu``, ``model``,
    ``weight_dtype``, ``gpu_count``, ``metric``, ``value``, ``concurrency``, ``input_tokens``,
    ``output_tokens``); ``gpus`` and ``specs`` map the names it uses. Columns added: ``kind``
    (bandwidth, compute, overall), ``predicted`` (in the row's metric unit, at efficiency 1,
    datasheet peaks) and ``implied_x`` (:func:`implied_efficiency`).
    """
    kinds, predicted, implied = [], [], []
    for row in table.to_dict("records"):
        device = gpus[row["gpu"]].device(row["weight_dtype"], int(row["gpu_count"]))
        result = implied_efficiency(specs[row["model"]], device, metric=row["metric"], value=float(row["value"]),
                                    concurrency=int(row["concurrency"]), input_tokens=_whole_or_none(row["input_tokens"]),
                                    output_tokens=_whole_or_none(row["output_tokens"]), weight_dtype=row["weight_dtype"])
        kinds.append(result.kind)
        predicted.append(result.predicted)
        implied.append(result.implied_x)
    return table.assign(kind=kinds, predicted=predicted, implied_x=implied)


# ---------------------------------------------------------------------- one model on one GPU
@dataclass(frozen=True)
class DtypeCapacity:
    """One precision of one model on one GPU: does it start, and what does it serve?"""

    weight_dtype: str
    fits: bool
    weights_gib: float
    memory_max_batch: int
    capacity: roofline.Capacity

    @property
    def capacity_tok_per_day(self) -> float:
        return self.capacity.capacity_tok_per_day


def deployment_capacities(spec: ModelSpec, gpu: Gpu, overheads: memory.Overheads, efficiency: roofline.Efficiency,
                          *, gpus: int = 1, prompt_tokens: int, input_share: float, slo_ttft_ms: float,
                          slo_tpot_ms: float, weight_dtypes: Sequence[str] = ("bf16", "fp8", "int8", "int4"),
                          gpu_memory_utilization: float = memory.VLLM_GPU_MEMORY_UTILIZATION,
                          kv_cache_dtype: str = "auto") -> list[DtypeCapacity]:
    """Capacity of one replica on ``gpus`` GPUs (tensor parallel) at each precision.

    The KV cache (vLLM's budget, :mod:`selfhost.memory`, with ``max_model_len`` = one
    request) bounds the batch; the latency targets bound it further (:func:`selfhost.roofline.capacity`).
    """
    output = roofline.output_tokens_for(prompt_tokens, input_share)
    seq = prompt_tokens + output
    batched = gpu.max_num_batched_tokens
    out = []
    for dtype in weight_dtypes:
        serving = gpu.serving(seq, dtype, gpu_memory_utilization=gpu_memory_utilization, tp=gpus,
                              kv_cache_dtype=kv_cache_dtype)
        b = memory.budget(spec, serving, overheads)
        mb = roofline.memory_max_batch(spec, serving, overheads, seq)
        cap = roofline.capacity(spec, gpu.device(dtype, gpus), efficiency, memory_max_batch=mb,
                                prompt_tokens=prompt_tokens, input_share=input_share, slo_ttft_ms=slo_ttft_ms,
                                slo_tpot_ms=slo_tpot_ms, weight_dtype=dtype, kv_cache_dtype=kv_cache_dtype,
                                max_num_batched_tokens=batched)
        out.append(DtypeCapacity(dtype, b.fits, b.weights_gib, mb, cap))
    return out


def best_capacity_tok_per_day(caps: Sequence[DtypeCapacity]) -> float:
    """The most any precision that fits serves [tok/day] (0 if none fits)."""
    return max((c.capacity_tok_per_day for c in caps if c.fits), default=0.0)


# ---------------------------------------------------------------------- capacity and cost
def capacity_breakeven_tok_per_day(gpu_usd_per_hour: float, blended_price_usd_per_mtok: float,
                                   capacity_tok_per_day_per_gpu: float, gpu_count: int = 1,
                                   ops_usd_per_month: float = 0.0, max_gpus: int = 10_000) -> float:
    """The break-even when each GPU serves at most ``capacity_tok_per_day_per_gpu`` [tok/day].

    Self-hosting at volume ``V`` rents ``n(V) = max(gpu_count, ceil(V / C))`` GPUs
    (:func:`selfhost.costs.gpus_needed`); the break-even is the smallest ``V`` at which the
    API costs at least as much. Within the range served by ``n`` GPUs that is
    ``(n x g + ops) / p`` if it lies in ``((n - 1) C, n C]``. If one GPU's full capacity is
    worth less at the API's price than the GPU costs (``C x p <= g``), no volume breaks
    even: ``inf``.

    >>> round(capacity_breakeven_tok_per_day(2.50, 6.6, 50e6) / 1e6, 2)   # as without capacity: 9.09M < 50M
    9.09
    >>> capacity_breakeven_tok_per_day(2.50, 0.6, 50e6)                    # 50M tok at $0.6/M = $30 < $60/day
    inf
    """
    check_number("capacity_tok_per_day_per_gpu", capacity_tok_per_day_per_gpu, gt=0)
    check_int("gpu_count", gpu_count, ge=1)
    gpu_day = costs.selfhost_usd_per_day(gpu_usd_per_hour, 1)
    ops_day = costs.selfhost_usd_per_day(gpu_usd_per_hour, 1, ops_usd_per_month) - gpu_day
    price_per_tok = blended_price_usd_per_mtok / TOK_PER_MTOK
    if price_per_tok <= 0:
        raise ParameterError("blended_price_usd_per_mtok", blended_price_usd_per_mtok, "a number > 0")
    cap = capacity_tok_per_day_per_gpu
    for n in range(gpu_count, max_gpus + 1):
        lower = 0.0 if n == gpu_count else (n - 1) * cap
        v = max(lower, (n * gpu_day + ops_day) / price_per_tok)
        if v <= n * cap:
            return v
        if cap * price_per_tok <= gpu_day:
            return math.inf
    return math.inf


# ---------------------------------------------------------------------- verdicts
def c07_verdict(caps: Sequence[DtypeCapacity], volumes_tok_per_day: Mapping[str, float], gpu: str, model: str,
                alternatives: Mapping[str, float] | None = None, slo_text: str = "",
                fit_sequences: Mapping[str, float] | None = None, context_tokens: int | None = None,
                efficiency: roofline.Efficiency | None = None) -> Verdict:
    """C07: does one ``gpu`` serve ``model`` at each volume, at a precision that fits?

    "Holds" when 16-bit weights fit and serve every volume; "holds only under conditions"
    when some precision that fits serves the smallest volume (the conditions name the
    precision and the volumes it does not reach, with how many GPUs those need); "does not
    hold" when nothing fits or nothing serves the smallest volume. ``alternatives`` maps a
    deployment (e.g. "H100 SXM fp8") to its capacity [tok/day], listed in the conditions.
    ``fit_sequences`` (precision -> concurrent ``context_tokens``-token sequences the KV
    cache holds, as the GPU memory page computes them) is reported among the figures, and
    so is ``efficiency`` (the engine efficiency the capacities assumed), named in the conditions.
    """
    if not volumes_tok_per_day:
        raise ParameterError("volumes_tok_per_day", volumes_tok_per_day, "at least one volume")
    fitting = [c for c in caps if c.fits]
    figures: dict[str, float | int | str] = {}
    if fit_sequences:
        for dtype, seqs in fit_sequences.items():
            figures[f"{dtype}_sequences_count"] = float(seqs)
        if context_tokens is not None:
            figures["context_tok"] = context_tokens
    if efficiency is not None:
        figures["bandwidth_efficiency_share"] = efficiency.bandwidth_x
        figures["compute_efficiency_share"] = efficiency.compute_x
    for c in caps:
        figures[f"{c.weight_dtype}_capacity_tok_per_day"] = c.capacity_tok_per_day
        figures[f"{c.weight_dtype}_max_batch_count"] = float(c.capacity.max_batch_within_slo)
    smallest = min(volumes_tok_per_day.values())
    best = max(fitting, key=lambda c: c.capacity_tok_per_day, default=None)
    best_cap = best.capacity_tok_per_day if best else 0.0
    figures["best_capacity_tok_per_day"] = best_cap
    if best_cap > 0:
        for label, v in volumes_tok_per_day.items():
            figures[f"gpus_for_{label}_count"] = float(math.ceil(v / best_cap))
    alt_text = ""
    if alternatives:
        alt_text = "; other deployments: " + ", ".join(f"{k} {v / 1e6:,.0f}M tok/day" for k, v in alternatives.items())
    if not fitting:
        return Verdict("C07", FAILS, f"{model} does not start on one {gpu} at any precision tried.", figures,
                       (f"more GPUs or a larger GPU are needed{alt_text}",))
    served = {label: v for label, v in volumes_tok_per_day.items() if v <= best_cap}
    detail = ", ".join(f"{c.weight_dtype}: {c.capacity_tok_per_day / 1e6:,.1f}M" for c in fitting)
    reason = (f"One {gpu} holds {model} only at {', '.join(c.weight_dtype for c in fitting)}; "
              f"within {slo_text or 'the latency target'} "
              f"it serves at most {best_cap / 1e6:,.1f}M tokens/day ({detail}).")
    if best_cap < smallest:
        need = (f"even {smallest / 1e6:,.0f}M tokens/day needs {math.ceil(smallest / best_cap)} such GPUs"
                if best_cap > 0 else "no batch meets the latency target on this GPU")
        return Verdict("C07", FAILS, reason, figures, (need + alt_text,))
    conditions = []
    if best is not None and not any(c.weight_dtype in ("bf16", "fp16") for c in fitting):
        conditions.append(f"the weights are quantised ({best.weight_dtype} serves the most); 16-bit weights do not fit")
    for label, v in volumes_tok_per_day.items():
        if label not in served:
            conditions.append(f"{label} tokens/day needs {math.ceil(v / best_cap)} such GPUs, not one{alt_text}")
    conditions.append("capacity counts the GPU busy around the clock at a steady load; real traffic peaks, so the "
                      "average volume one GPU can take is lower")
    if efficiency is not None:
        conditions.append(f"the engine reaches {efficiency.bandwidth_x:.0%} of peak bandwidth in decode and "
                          f"{efficiency.compute_x:.0%} of peak FLOP/s in prefill (from published measurements); a "
                          "faster prefill raises the capacity under a TTFT target")
    if len(served) == len(volumes_tok_per_day) and any(c.weight_dtype in ("bf16", "fp16") for c in fitting):
        return Verdict("C07", HOLDS, reason, figures, tuple(conditions))
    return Verdict("C07", CONDITIONAL, reason, figures, tuple(conditions))


@dataclass(frozen=True)
class TtftCase:
    """One deployment in the C15 analysis: the longest prompt answered within the target."""

    label: str
    max_prompt_tokens_within_target: int
    ttft_at_typical_ms: float


def max_prompt_within(ttft_ms_of: Callable[[int], float], target_ms: float, limit: int = 131_072) -> int:
    """Largest prompt length (bisection over 1..limit) whose TTFT is within ``target_ms``; 0 if none [tok].

    >>> max_prompt_within(lambda p: 0.1 * p, 200.0)
    2000
    """
    if ttft_ms_of(1) > target_ms:
        return 0
    if ttft_ms_of(limit) <= target_ms:
        return limit
    lo, hi = 1, limit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ttft_ms_of(mid) <= target_ms:
            lo = mid
        else:
            hi = mid
    return lo


def c15_verdict(cases: Sequence[TtftCase], target_ms: float, typical_prompt_tokens: int, article_case: str,
                api_low_ms: float, api_high_ms: float) -> Verdict:
    """C15: is under ``target_ms`` TTFT reachable by self-hosting, and for what prompts?

    "Holds" when the article's deployment (``article_case``) answers a typical prompt
    within the target; "holds only under conditions" when some deployment does (the
    conditions name the prompt lengths, models and GPUs); "does not hold" when none does.
    The API side (``api_low_ms``-``api_high_ms``) is the article's figure, not measured here.
    """
    check_number("target_ms", target_ms, gt=0)
    check_int("typical_prompt_tokens", typical_prompt_tokens, ge=1)
    by_label = {c.label: c for c in cases}
    if article_case not in by_label:
        raise ParameterError("article_case", article_case, f"one of the cases {sorted(by_label)}")
    art = by_label[article_case]
    figures: dict[str, float | int | str] = {
        "target_ms": target_ms, "typical_prompt_tok": typical_prompt_tokens,
        "article_deployment_ttft_ms": art.ttft_at_typical_ms,
        "article_deployment_max_prompt_tok": art.max_prompt_tokens_within_target,
        "deployments_meeting_target_count": sum(c.ttft_at_typical_ms <= target_ms for c in cases),
        "deployments_count": len(cases),
    }
    within = [c for c in cases if c.ttft_at_typical_ms <= target_ms]
    api = (f"the API side ({api_low_ms:,.0f}-{api_high_ms:,.0f} ms) is the article's figure; no API was measured here, "
           "and an API's TTFT also holds the network round trip and its own queue")
    listed = "; ".join(f"{c.label}: prompts up to {c.max_prompt_tokens_within_target:,} tokens" for c in cases)
    reason = (f"Unloaded, the roofline with measured engine efficiency answers a "
              f"{typical_prompt_tokens:,}-token prompt "
              f"in {art.ttft_at_typical_ms:,.0f} ms on {article_case}; {len(within)} of {len(cases)} deployments "
              f"stay under {target_ms:,.0f} ms for it.")
    if not within:
        return Verdict("C15", FAILS, reason, figures, (listed, api))
    conditions = (f"the prompt is short enough and the server lightly loaded ({listed}); TTFT grows with the "
                  "prompt (prefill is compute-bound) and with load (queueing)",
                  "'consistently' means the tail, not the mean: queueing makes the tail grow faster than the mean", api)
    if art.ttft_at_typical_ms <= target_ms:
        return Verdict("C15", HOLDS if len(within) == len(cases) else CONDITIONAL, reason, figures, conditions)
    return Verdict("C15", CONDITIONAL, reason, figures, conditions)


# ---------------------------------------------------------------------- the CPU runs against the model
def cpu_batch_table(runs: pd.DataFrame, spec: ModelSpec, device: roofline.Device,
                    chunk_tokens: int = 2048) -> pd.DataFrame:
    """The batch sweep (``throughput`` runs) beside the roofline, one row per run.

    Measured decode tok/s = concurrency / median TPOT (TPOT excludes the first token, so it
    is the decode step); predicted = :func:`selfhost.roofline.decode_tok_per_s` at the mean
    context; ``gap_x`` = measured / predicted - 1; ``mbu_x`` the bandwidth share the
    measured rate implies; the output throughput of the whole run beside the wave model;
    the 1-minute load average at the run's start and end (the cores are shared).
    """
    rows = []
    for r in runs.to_dict("records"):
        c, inp, out = int(r["concurrency"]), int(r["prompt_len"]), int(r["output_len"])
        ctx = inp + out // 2
        measured = c / (r["median_tpot_ms"] / 1e3)
        predicted = roofline.decode_tok_per_s(spec, device, batch=c, context_tokens=ctx)
        wave, _, _ = roofline.wave_output_tok_per_s(spec, device, concurrency=c, input_tokens=inp,
                                                    output_tokens=out, chunk_tokens=chunk_tokens)
        rows.append({
            "concurrency": c, "load_avg_1m_at_start": r.get("load_avg_1m_at_start"),
            "load_avg_1m_at_end": r.get("load_avg_1m"),
            "measured_tpot_ms": r["median_tpot_ms"], "predicted_tpot_ms": c / predicted * 1e3,
            "measured_decode_tok_per_s": measured, "predicted_decode_tok_per_s": predicted,
            "gap_x": measured / predicted - 1,
            "mbu_x": roofline.mbu(spec, device, decode_tok_per_s=measured, batch=c, context_tokens=ctx),
            "measured_output_tok_per_s": r["output_tok_per_s"], "predicted_output_tok_per_s": wave,
        })
    return pd.DataFrame(rows).sort_values(["concurrency", "load_avg_1m_at_end"]).reset_index(drop=True)


def cpu_prompt_table(runs: pd.DataFrame, spec: ModelSpec, device: roofline.Device,
                     chunk_tokens: int = 2048) -> pd.DataFrame:
    """The prompt sweep (``long_prompt`` runs, one request at a time) beside the roofline.

    Measured TTFT (median) against :func:`selfhost.roofline.prefill_time`; measured prefill
    tok/s = prompt / TTFT; ``mfu_x`` the compute share it implies.
    """
    rows = []
    for r in runs.to_dict("records"):
        p = int(r["prompt_len"])
        pre = roofline.prefill_time(spec, device, prompt_tokens=p, chunk_tokens=chunk_tokens)
        ttft = r["median_ttft_ms"]
        rows.append({
            "prompt_tok": p, "load_avg_1m_at_start": r.get("load_avg_1m_at_start"),
            "load_avg_1m_at_end": r.get("load_avg_1m"),
            "measured_ttft_ms": ttft, "predicted_ttft_ms": pre.time_s * 1e3, "gap_x": pre.time_s * 1e3 / ttft - 1,
            "measured_prefill_tok_per_s": p / (ttft / 1e3), "predicted_prefill_tok_per_s": p / pre.time_s,
            "mfu_x": pre.flops / (ttft / 1e3) / device.flop_per_s,
            "bound": pre.bound,
        })
    return pd.DataFrame(rows).sort_values(["prompt_tok", "load_avg_1m_at_end"]).reset_index(drop=True)
