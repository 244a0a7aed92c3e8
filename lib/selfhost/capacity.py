"""Capacity analyses on top of :mod:`selfhost.roofline`: the calibration, deployments, verdicts.

- :func:`calibrate` fits the engine efficiency (:class:`~selfhost.roofline.Efficiency`)
  on published measurements (:class:`Measurement`, ``data/published_serving.csv``): each
  row's figure is predicted by the roofline for its GPU, model, precision, engine,
  concurrency and lengths (:func:`predict`); the row informs the share its prediction
  depends on most (bandwidth for decode, compute for prefill, neither for a mixed
  benchmark); the share it implies is the one at which the prediction meets the figure
  (:func:`implied_share`). The fit is the median per GPU generation where at least
  :data:`MIN_ROWS` rows support it, else the median of every generation; rows marked
  ``holdout`` stay out of it and measure the model's error (:class:`Calibration`).
- :func:`deployment_capacities` is one model on one GPU at every precision that fits:
  the largest batch within a latency target and the tokens per day it serves;
  :func:`concurrency_point` and :func:`max_throughput_point` answer at a fixed
  concurrency and at the largest batch memory allows.
- :func:`capacity_breakeven_tok_per_day` is the break-even of :mod:`selfhost.costs` when
  each GPU serves at most a given volume (the cost steps up with every GPU added).
- :func:`c07_assess` (one A100 80GB serves a 70B model at 5M and 50M tokens/day?) and
  :func:`c15_assess` (is under 200 ms TTFT reachable, consistently?) decide from computed
  figures and say what flips them (:mod:`selfhost.robustness`).

Pure functions; no I/O.

References
----------
See :mod:`selfhost.roofline`; the article, *Should You Self-Host?* and *Quick Reference*.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import pandas as pd

from selfhost import costs, memory, roofline
from selfhost.errors import ParameterError
from selfhost.gpus import Gpu
from selfhost.modelspec import ModelSpec
from selfhost.params import check_choice, check_int, check_number
from selfhost.robustness import categorical, sensitivity
from selfhost.units import TOK_PER_MTOK, and_list, counted
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, Evidence, Verdict

# ---------------------------------------------------------------------- the calibration
#: Metrics a measurement may report, and whether a larger value is faster (``rate``) or slower (``time``).
METRICS: dict[str, str] = {
    "decode_tok_per_s_per_request": "rate", "tpot_ms": "time", "batch_tpot_ms": "time", "ttft_ms": "time",
    "prefill_step_ms": "time", "output_tok_per_s": "rate", "max_output_tok_per_s": "rate",
}
#: A generation gets its own share of a kind when at least this many fitted rows of that kind support it.
MIN_ROWS = 2
#: A row informs a share when its prediction's elasticity to it is at least this (a 10% change
#: of the share moves the prediction by 6%); below that for both it is a mixed benchmark,
#: shown beside the fit but not fitted to.
MIN_ELASTICITY = 0.6
#: The efficiency the fit starts from (it converges in a few rounds from anywhere sensible).
START = roofline.Efficiency(0.7, 0.5)
#: Largest batch each engine schedules by default (vLLM ``max_num_seqs``; TensorRT-LLM ``max_batch_size``).
BATCH_CAPS = {"vllm": 1024, "tensorrt-llm": 2048}


@dataclass(frozen=True)
class Measurement:
    """One published figure with the conditions it was measured under.

    ``concurrency`` is None for a maximum-load run (the batch memory allows); lengths are
    None where the source does not give them.
    """

    result_id: str
    engine: str
    gpu: Gpu
    spec: ModelSpec
    weight_dtype: str
    gpu_count: int
    metric: str
    value: float
    concurrency: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    holdout: bool = False
    kv_cache_dtype: str = "auto"

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, METRICS)
        check_number("value", self.value, gt=0)
        check_int("gpu_count", self.gpu_count, ge=1, le=1024)

    @property
    def generation(self) -> str:
        return self.gpu.generation or "unknown"


def predict(m: Measurement, efficiency: roofline.Efficiency, overheads: memory.Overheads) -> float | None:
    """The roofline's figure for ``m`` at ``efficiency``, in the metric's unit; None when it cannot be modelled.

    - ``decode_tok_per_s_per_request``, ``batch_tpot_ms``: a decode step of ``concurrency``
      sequences at the mean context ``input + output / 2``;
    - ``tpot_ms``: requests arriving as others finish (:func:`selfhost.roofline.operating_point`),
      or, without lengths, a pure decode step at concurrency up to 4 (None above: the
      prompts of arriving requests share the steps in an unknown way);
    - ``ttft_ms``: one prompt prefilled alone; ``prefill_step_ms``: one step prefilling the
      prompts together (:func:`selfhost.roofline.prefill_step_time`);
    - ``output_tok_per_s``: a closed-loop wave (:func:`selfhost.roofline.wave_output_tok_per_s`);
    - ``max_output_tok_per_s``: steady serving at the largest batch vLLM's memory budget
      allows on that GPU (:func:`selfhost.roofline.max_throughput`).
    """
    device = m.gpu.device(m.weight_dtype, m.gpu_count)
    c, inp, out = m.concurrency, m.input_tokens, m.output_tokens
    context = (inp or 0) + (out or 0) // 2
    chunk = m.gpu.max_num_batched_tokens
    if m.metric in ("decode_tok_per_s_per_request", "batch_tpot_ms") or (m.metric == "tpot_ms" and not (inp and out)):
        if c is None or (m.metric == "tpot_ms" and c > 4):
            return None
        step = roofline.step_time(m.spec, device, efficiency, decode_batch=c, context_tokens=context,
                                  weight_dtype=m.weight_dtype, kv_cache_dtype=m.kv_cache_dtype).time_s
        return 1.0 / step if m.metric == "decode_tok_per_s_per_request" else step * 1e3
    if m.metric == "tpot_ms":
        assert inp and out
        return roofline.operating_point(m.spec, device, efficiency, batch=c or 1, prompt_tokens=inp, output_tokens=out,
                                        weight_dtype=m.weight_dtype, kv_cache_dtype=m.kv_cache_dtype,
                                        max_num_batched_tokens=chunk).tpot_s * 1e3
    if m.metric == "ttft_ms":
        if not inp:
            return None
        return roofline.prefill_time(m.spec, device, efficiency, prompt_tokens=inp, weight_dtype=m.weight_dtype,
                                     chunk_tokens=chunk).time_s * 1e3
    if m.metric == "prefill_step_ms":
        if not inp:
            return None
        return roofline.prefill_step_time(m.spec, device, efficiency, prompts=c or 1, step_tokens=inp,
                                          weight_dtype=m.weight_dtype).time_s * 1e3
    if not inp or not out:
        return None
    if m.metric == "output_tok_per_s":
        rate, _, _ = roofline.wave_output_tok_per_s(m.spec, device, efficiency, concurrency=c or 1, input_tokens=inp,
                                                    output_tokens=out, weight_dtype=m.weight_dtype, chunk_tokens=chunk)
        return rate
    batch = _memory_batch(m, overheads)
    point = roofline.max_throughput(m.spec, device, efficiency, memory_max_batch=batch, prompt_tokens=inp,
                                    output_tokens=out, weight_dtype=m.weight_dtype, kv_cache_dtype=m.kv_cache_dtype,
                                    max_num_batched_tokens=chunk, batch_cap=BATCH_CAPS.get(m.engine, 1024))
    return None if point is None else point.output_tok_per_s


_BATCHES: dict[tuple[str, int, str, int, int], int] = {}


def _memory_batch(m: Measurement, overheads: memory.Overheads) -> int:
    """Sequences of ``input + output`` tokens vLLM's budget holds for ``m`` (kept: it does not depend on efficiency)."""
    assert m.input_tokens and m.output_tokens
    key = (m.result_id, id(m.spec), m.weight_dtype + m.kv_cache_dtype, m.gpu_count, m.input_tokens + m.output_tokens)
    if key not in _BATCHES:
        seq = m.input_tokens + m.output_tokens
        serving = m.gpu.serving(seq, m.weight_dtype, tp=m.gpu_count, kv_cache_dtype=m.kv_cache_dtype)
        _BATCHES[key] = roofline.memory_max_batch(m.spec, serving, overheads, seq)
    return _BATCHES[key]


def _with(efficiency: roofline.Efficiency, kind: str, share: float) -> roofline.Efficiency:
    return replace(efficiency, **{f"{kind}_share": share})


def elasticities(m: Measurement, efficiency: roofline.Efficiency, overheads: memory.Overheads) -> dict[str, float]:
    """How strongly ``m``'s prediction follows each share: ``|d ln prediction / d ln share|`` [1]."""
    base = predict(m, efficiency, overheads)
    out = {}
    for kind in ("bandwidth", "compute"):
        share = getattr(efficiency, f"{kind}_share")
        moved = predict(m, _with(efficiency, kind, share * 0.9), overheads)
        out[kind] = 0.0 if base is None or moved is None else abs(math.log(moved / base) / math.log(0.9))
    return out


def informs(m: Measurement, efficiency: roofline.Efficiency, overheads: memory.Overheads) -> str:
    """``bandwidth``, ``compute`` or ``mixed``: the share ``m`` is fitted to (:data:`MIN_ELASTICITY`)."""
    e = elasticities(m, efficiency, overheads)
    kind = max(e, key=lambda k: e[k])
    return kind if e[kind] >= MIN_ELASTICITY else "mixed"


def implied_share(m: Measurement, kind: str, efficiency: roofline.Efficiency, overheads: memory.Overheads,
                  *, floor: float = 0.005) -> float | None:
    """The ``kind`` share at which the roofline meets ``m``'s figure, the other share as in ``efficiency`` [1].

    ``inf`` when even a share of 1 is slower than the figure (above the roofline: another
    metric than the name says, speculative decoding, or an error); ``floor`` when the
    figure is slower than the roofline at the floor; None when the row cannot be modelled.
    Found by bisection: every prediction is monotone in each share.
    """
    faster = METRICS[m.metric] == "rate"

    def reaches(share: float) -> bool:
        p = predict(m, _with(efficiency, kind, share), overheads)
        assert p is not None
        return p >= m.value if faster else p <= m.value

    if predict(m, efficiency, overheads) is None:
        return None
    if not reaches(1.0):
        return math.inf
    if reaches(floor):
        return floor
    lo, hi = floor, 1.0
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Calibration:
    """The engine efficiency fitted on published measurements, and how well it predicts them.

    ``by_generation`` has an efficiency for every generation the data covers (a share with
    too few rows of its own is the pooled one); ``low`` and ``high`` the lowest and highest
    shares its modelled rows imply, fitted and held out alike (the calibration's spread: the
    plausible range a verdict is held against); ``table`` one row per measurement (:meth:`frame`).
    """

    pooled: roofline.Efficiency
    by_generation: Mapping[str, roofline.Efficiency]
    own: Mapping[str, tuple[str, ...]]
    low: Mapping[str, roofline.Efficiency]
    high: Mapping[str, roofline.Efficiency]
    rows: tuple[dict, ...] = field(default=())

    def efficiency(self, generation: str | None = None) -> roofline.Efficiency:
        """The fit for ``generation`` (``Ampere``, ``Hopper`` ...); the pooled one for None or an unseen generation."""
        return self.by_generation.get(generation or "", self.pooled)

    def range(self, generation: str | None = None) -> tuple[roofline.Efficiency, roofline.Efficiency]:
        """(lowest, highest) efficiency the fitted and held-out rows of ``generation`` imply (all rows for None or unseen)."""
        key = generation if generation is not None and generation in self.low else "all"
        return self.low[key], self.high[key]

    def basis(self, generation: str | None = None) -> str:
        """Which rows a generation's fit rests on, in words (for evidence and captions)."""
        fitted = [r for r in self.rows if r["status"] == "fitted"]
        parts, used = [], []
        for kind, label in (("bandwidth", "decode"), ("compute", "prefill")):
            mine = generation is not None and kind in self.own.get(generation, ())
            rows = [r for r in fitted if r["informs"] == kind and (not mine or r["generation"] == generation)]
            used += rows
            parts.append(f"{label} the median of {len(rows)} published measurements "
                         + (f"on {generation} GPUs" if mine else "on every GPU generation"))
        engines = sorted({r["engine"] for r in used})
        return "; ".join(parts) + f" ({', '.join(engines)})"

    def frame(self) -> pd.DataFrame:
        """One row per measurement: conditions, informs, implied share, status, prediction, residual."""
        return pd.DataFrame(list(self.rows))

    def held_out(self) -> pd.DataFrame:
        """The rows kept out of the fit, with the model's error on them."""
        t = self.frame()
        return t[t["status"] == "held out"].reset_index(drop=True)

    def residual_summary(self) -> dict[str, float]:
        """Median absolute residual of the fitted and the held-out rows, and the largest held-out one [1]."""
        t = self.frame()
        out = {}
        for status, name in (("fitted", "fitted"), ("held out", "held_out")):
            r = t[t["status"] == status]["residual_share"].dropna().abs()
            out[f"{name}_median_abs_residual_share"] = float(r.median()) if len(r) else math.nan
            out[f"{name}_max_abs_residual_share"] = float(r.max()) if len(r) else math.nan
            out[f"{name}_rows_count"] = float(len(r))
        return out


def calibrate(measurements: Sequence[Measurement], overheads: memory.Overheads, *, rounds: int = 4,
              min_rows: int = MIN_ROWS) -> Calibration:
    """Fit the engine efficiency per GPU generation on ``measurements`` (those not held out).

    Each round, every row is classed by :func:`informs` at the current fit of its
    generation and its share solved (:func:`implied_share`) with the other share held at
    that fit; a generation's share is the median of its rows of that kind when it has at
    least ``min_rows``, else the median over all generations. Rows above the roofline are
    left out (and flagged). After the last round every row, held out or not, is predicted at
    its generation's fit: ``residual_share = predicted / published - 1`` (in the metric's
    unit: positive means the model is slower than published for a time metric, faster for
    a rate).

    Examples
    --------
    See ``tests/test_capacity.py`` (the committed table) and the capacity page.
    """
    check_int("rounds", rounds, ge=1)
    if not measurements:
        raise ParameterError("measurements", "(none)", "at least one measurement")
    generations = sorted({m.generation for m in measurements})
    fit = {g: START for g in generations}
    pooled = START
    own: dict[str, tuple[str, ...]] = {}
    implied: dict[str, tuple[str, float | None]] = {}
    for _ in range(rounds):
        implied = {}
        for m in measurements:
            if m.holdout:
                continue
            kind = informs(m, fit[m.generation], overheads)
            implied[m.result_id] = (kind, None if kind == "mixed" else
                                    implied_share(m, kind, fit[m.generation], overheads))
        usable = {m.result_id: m for m in measurements if m.result_id in implied}
        shares: dict[tuple[str, str], list[float]] = {}
        for rid, (kind, share) in implied.items():
            if kind == "mixed" or share is None or not 0 < share <= 1:
                continue
            shares.setdefault((usable[rid].generation, kind), []).append(share)
            shares.setdefault(("all", kind), []).append(share)
        if not shares.get(("all", "bandwidth")) or not shares.get(("all", "compute")):
            raise ParameterError("measurements", "(no usable rows)",
                                 "at least one usable decode and one usable prefill measurement")
        pooled = roofline.Efficiency(statistics.median(shares[("all", "bandwidth")]),
                                     statistics.median(shares[("all", "compute")]))
        own = {}
        for g in generations:
            values = {}
            for kind in ("bandwidth", "compute"):
                mine = shares.get((g, kind), [])
                values[kind] = statistics.median(mine) if len(mine) >= min_rows else getattr(pooled, f"{kind}_share")
                if len(mine) >= min_rows:
                    own[g] = own.get(g, ()) + (kind,)
            fit[g] = roofline.Efficiency(values["bandwidth"], values["compute"])
    spread: dict[str, tuple[str, float]] = {}
    for m in measurements:  # the spread: every modelled row, fitted or held out, at the final fit
        got: tuple[str, float | None] | None = implied.get(m.result_id)
        if m.holdout:
            what = informs(m, fit[m.generation], overheads)
            got = (what, None if what == "mixed" else implied_share(m, what, fit[m.generation], overheads))
        if got is not None and got[0] in ("bandwidth", "compute") and got[1] is not None and 0 < got[1] <= 1:
            spread[m.result_id] = (got[0], got[1])
    by_id = {m.result_id: m for m in measurements}
    low: dict[str, roofline.Efficiency] = {}
    high: dict[str, roofline.Efficiency] = {}
    for g in ["all", *generations]:
        lo, hi = {}, {}
        for kind in ("bandwidth", "compute"):
            source = g if kind in own.get(g, ()) else "all"
            vals = [s for rid, (k, s) in spread.items() if k == kind and (source == "all" or by_id[rid].generation == source)]
            lo[kind], hi[kind] = min(vals), max(vals)
        low[g] = roofline.Efficiency(lo["bandwidth"], lo["compute"])
        high[g] = roofline.Efficiency(hi["bandwidth"], hi["compute"])
    rows = []
    for m in measurements:
        eff = fit[m.generation]
        predicted = predict(m, eff, overheads)
        row_kind: str | None
        row_share: float | None
        row_kind, row_share = implied.get(m.result_id, (informs(m, eff, overheads), None))
        if m.holdout:
            row_kind, row_share = spread.get(m.result_id, (row_kind or "mixed", None))
        if predicted is None:
            row_kind = None
        if predicted is None:
            status = "not modelled"
        elif m.holdout:
            status = "held out"
        elif row_share is not None and row_share > 1:
            status = "above the roofline"
        elif row_kind == "mixed":
            status = "mixed (shown, not fitted)"
        else:
            status = "fitted"
        rows.append({
            "result_id": m.result_id, "engine": m.engine, "gpu": m.gpu.gpu, "generation": m.generation,
            "gpu_count": m.gpu_count, "model": m.spec.name, "weight_dtype": m.weight_dtype, "metric": m.metric,
            "concurrency_count": m.concurrency, "input_tok": m.input_tokens, "output_tok": m.output_tokens,
            "published": m.value, "informs": row_kind,
            "implied_share": None if row_share is None or math.isinf(row_share) else row_share,
            "status": status, "predicted": predicted,
            "residual_share": None if predicted is None else predicted / m.value - 1,
        })
    return Calibration(pooled, dict(fit), own, low, high, tuple(rows))


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


def default_kv_cache_dtype(gpu: Gpu) -> str:
    """``fp8`` where the GPU has FP8 tensor cores (the KV cache halves; vLLM's FP8 attention kernels), else ``auto``.

    >>> import datetime as dt
    >>> default_kv_cache_dtype(Gpu("A100 80GB", "a100-80gb", "NVIDIA", 80, None, 2.039, 312.0, None, "s", dt.date(2026, 11, 27)))
    'auto'
    """
    return "fp8" if gpu.has_fp8 else "auto"


def deployment_capacities(spec: ModelSpec, gpu: Gpu, overheads: memory.Overheads, efficiency: roofline.Efficiency,
                          *, gpus: int = 1, prompt_tokens: int, input_share: float, slo_ttft_ms: float,
                          slo_tpot_ms: float, weight_dtypes: Sequence[str] = ("bf16", "fp8", "int8", "int4"),
                          gpu_memory_utilization: float = memory.VLLM_GPU_MEMORY_UTILIZATION,
                          kv_cache_dtype: str = "auto", output_tokens: int | None = None) -> list[DtypeCapacity]:
    """Capacity of one replica on ``gpus`` GPUs (tensor parallel) at each precision.

    The KV cache (vLLM's budget, :mod:`selfhost.memory`, with ``max_model_len`` = one
    request) bounds the batch; the latency targets bound it further (:func:`selfhost.roofline.capacity`).
    ``output_tokens`` given replaces the output ``input_share`` implies. A tensor-parallel
    size vLLM refuses for the model raises :class:`~selfhost.errors.ModelConfigError`.
    """
    check_int("gpus", gpus, ge=1, le=1024)
    spec.check_tp(gpus)
    output = roofline.output_tokens_for(prompt_tokens, input_share) if output_tokens is None else \
        check_int("output_tokens", output_tokens, ge=1)
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
                                max_num_batched_tokens=batched, output_tokens=output)
        out.append(DtypeCapacity(dtype, b.fits, b.weights_gib, mb, cap))
    return out


def best_capacity_tok_per_day(caps: Sequence[DtypeCapacity]) -> float:
    """The most any precision that fits serves [tok/day] (0 if none fits)."""
    return max((c.capacity_tok_per_day for c in caps if c.fits), default=0.0)


def concurrency_point(spec: ModelSpec, gpu: Gpu, overheads: memory.Overheads, efficiency: roofline.Efficiency, *,
                      concurrency: int, gpus: int, prompt_tokens: int, output_tokens: int, weight_dtype: str,
                      kv_cache_dtype: str = "auto") -> roofline.OperatingPoint:
    """Serving with ``concurrency`` requests in flight (:func:`selfhost.roofline.operating_point`).

    Raises ParameterError (``--concurrency``) when the KV cache holds fewer sequences.
    """
    check_int("concurrency", concurrency, ge=1)
    seq = prompt_tokens + output_tokens
    serving = gpu.serving(seq, weight_dtype, tp=spec.check_tp(gpus), kv_cache_dtype=kv_cache_dtype)
    held = roofline.memory_max_batch(spec, serving, overheads, seq)
    if concurrency > held:
        raise ParameterError("--concurrency", concurrency, f"at most {held}, the {seq:,}-token sequences the KV cache "
                             "holds", kind="option")
    return roofline.operating_point(spec, gpu.device(weight_dtype, gpus), efficiency, batch=concurrency,
                                    prompt_tokens=prompt_tokens, output_tokens=output_tokens, weight_dtype=weight_dtype,
                                    kv_cache_dtype=kv_cache_dtype, max_num_batched_tokens=gpu.max_num_batched_tokens)


def max_throughput_point(spec: ModelSpec, gpu: Gpu, overheads: memory.Overheads, efficiency: roofline.Efficiency, *,
                         gpus: int, prompt_tokens: int, output_tokens: int, weight_dtype: str,
                         kv_cache_dtype: str = "auto", batch_cap: int = 1024) -> roofline.OperatingPoint | None:
    """Serving at the largest batch memory allows, no latency target (None when the model does not start)."""
    seq = prompt_tokens + output_tokens
    serving = gpu.serving(seq, weight_dtype, tp=spec.check_tp(gpus), kv_cache_dtype=kv_cache_dtype)
    held = roofline.memory_max_batch(spec, serving, overheads, seq)
    return roofline.max_throughput(spec, gpu.device(weight_dtype, gpus), efficiency, memory_max_batch=held,
                                   prompt_tokens=prompt_tokens, output_tokens=output_tokens, weight_dtype=weight_dtype,
                                   kv_cache_dtype=kv_cache_dtype, max_num_batched_tokens=gpu.max_num_batched_tokens,
                                   batch_cap=batch_cap)
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


# ---------------------------------------------------------------------- tables the pages show
def fit_rows(spec: ModelSpec, gpu: Gpu, overheads: memory.Overheads, context_tokens: int,
             weight_dtypes: Sequence[str], gpu_memory_utilization: float = memory.VLLM_GPU_MEMORY_UTILIZATION,
             kv_cache_dtype: str = "auto", memory_gib: float | None = None) -> list[dict]:
    """What fits one GPU at each precision: weights, KV cache, sequences of ``context_tokens`` [GiB, 1].

    ``memory_gib`` replaces the memory vLLM budgets from (the datasheet reading, for one).
    Keys carry their units (``weights_gib``, ``kv_tok``); ``max_concurrency_x`` is the KV
    cache over one ``context_tokens`` sequence, as vLLM's start-up log prints it ("Maximum
    concurrency ... 2.94x"), and ``sequences_count`` the whole sequences of that length it
    holds at once (its floor); ``starts`` is a bool, ``shortfall_gib`` what is missing when
    it does not start.
    """
    rows = []
    for dtype in weight_dtypes:
        serving = memory.Serving(memory_gib or gpu.budget_gib, context_tokens, gpu_memory_utilization,
                                 weight_dtype=dtype, kv_cache_dtype=kv_cache_dtype,
                                 max_num_batched_tokens=gpu.max_num_batched_tokens)
        b = memory.budget(spec, serving, overheads)
        concurrency = memory.sequences_at(b, spec, serving, context_tokens) if b.fits else 0.0
        rows.append({"weight_dtype": dtype, "gpu_memory_gib": serving.gpu_memory_gib, "weights_gib": b.weights_gib,
                     "kv_cache_gib": b.kv_cache_gib, "kv_tok": b.kv_tokens, "max_concurrency_x": concurrency,
                     "sequences_count": math.floor(concurrency), "starts": b.fits, "shortfall_gib": b.shortfall_gib})
    return rows


def capacity_rows(caps: Sequence[DtypeCapacity], label: str, volumes_tok_per_day: Mapping[str, float]) -> list[dict]:
    """One row per precision of a deployment: batch, what limits it, latency there, tokens/day, volumes served."""
    rows = []
    for c in caps:
        p = c.capacity.point
        row: dict = {"deployment": label, "weight_dtype": c.weight_dtype, "starts": c.fits,
                     "kv_holds_count": c.memory_max_batch, "batch_within_target_count": c.capacity.max_batch_within_slo,
                     "limited_by": c.capacity.limited_by if c.fits else "memory",
                     "ttft_ms": None if p is None else p.ttft_s * 1e3,
                     "ttft_p99_ms": None if p is None else p.ttft_p99_s * 1e3,
                     "tpot_ms": None if p is None else p.tpot_s * 1e3,
                     "capacity_mtok_per_day": c.capacity_tok_per_day / 1e6}
        for name, v in volumes_tok_per_day.items():
            row[f"serves {name}"] = c.capacity_tok_per_day >= v
        rows.append(row)
    return rows


def latency_curve(spec: ModelSpec, gpu: Gpu, efficiency: roofline.Efficiency, *, label: str, weight_dtype: str,
                  gpus: int, top_batch: int, prompt_tokens: int, output_tokens: int,
                  kv_cache_dtype: str = "auto") -> list[dict]:
    """Capacity against TPOT as the batch doubles from 1 to ``top_batch`` (points with a finite TTFT)."""
    device = gpu.device(weight_dtype, gpus)
    rows, b = [], 1
    while b <= max(top_batch, 1):
        p = roofline.operating_point(spec, device, efficiency, batch=b, prompt_tokens=prompt_tokens,
                                     output_tokens=output_tokens, weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype,
                                     max_num_batched_tokens=gpu.max_num_batched_tokens)
        if math.isfinite(p.ttft_s):
            rows.append({"deployment": label, "batch": b, "tpot_ms": p.tpot_s * 1e3, "ttft_ms": p.ttft_s * 1e3,
                         "mtok_per_day": p.tok_per_day / 1e6})
        b *= 2
    return rows


def sensitivity_grid(capacity_of: Callable[[float, float], float], compute_shares: Iterable[float],
                     ttft_targets_ms: Iterable[float]) -> pd.DataFrame:
    """Capacity [M tok/day] for each compute share (rows) and TTFT target (columns), from ``capacity_of(share, ms)``."""
    shares, targets = sorted(set(compute_shares)), sorted(set(ttft_targets_ms))
    data = {f"ttft target {t:,.0f} ms": [capacity_of(s, t) / 1e6 for s in shares] for t in targets}
    return pd.DataFrame({"compute_share": shares, **data})


def volumes(*tok_per_day: float) -> dict[str, float]:
    """Volumes labelled as the pages write them: ``{"5M": 5e6, "50M": 5e7}``.

    >>> volumes(5e6, 5e7)
    {'5M': 5000000.0, '50M': 50000000.0}
    """
    out = {}
    for v in tok_per_day:
        check_number("volume_tok_per_day", v, gt=0)
        out[f"{v / 1e6:g}M"] = float(v)
    return out


@dataclass(frozen=True)
class Comparison:
    """Other deployments of one model: a row per deployment, the capacity of each that fits, curves to chart."""

    rows: tuple[dict, ...]
    capacities_tok_per_day: Mapping[str, float]
    curves: tuple[dict, ...]


def deployment_label(gpu: Gpu, weight_dtype: str, gpus: int) -> str:
    """``"2 x A100 80GB bf16"`` or ``"H100 SXM fp8"``."""
    return f"{gpus} x {gpu.gpu} {weight_dtype}" if gpus > 1 else f"{gpu.gpu} {weight_dtype}"


def compare_deployments(spec: ModelSpec, deployments: Sequence[tuple[Gpu, str, int]], overheads: memory.Overheads,
                        efficiency_of: Callable[[Gpu], roofline.Efficiency], kv_cache_dtype_of: Callable[[Gpu], str],
                        *, prompt_tokens: int, input_share: float, slo_ttft_ms: float, slo_tpot_ms: float,
                        volumes_tok_per_day: Mapping[str, float]) -> Comparison:
    """Each (GPU, precision, GPUs) deployment of ``spec``: its capacity within the targets and its latency curve.

    Each GPU at its own generation's efficiency (``efficiency_of``) and KV precision
    (``kv_cache_dtype_of``, :func:`default_kv_cache_dtype`).
    """
    output = roofline.output_tokens_for(prompt_tokens, input_share)
    rows: list[dict] = []
    caps: dict[str, float] = {}
    curves: list[dict] = []
    for gpu, dtype, n in deployments:
        label = deployment_label(gpu, dtype, n)
        eff, kv = efficiency_of(gpu), kv_cache_dtype_of(gpu)
        (c,) = deployment_capacities(spec, gpu, overheads, eff, gpus=n, prompt_tokens=prompt_tokens,
                                     input_share=input_share, slo_ttft_ms=slo_ttft_ms, slo_tpot_ms=slo_tpot_ms,
                                     weight_dtypes=(dtype,), kv_cache_dtype=kv)
        rows += [{**r, "kv_cache_dtype": kv} for r in capacity_rows([c], label, volumes_tok_per_day)]
        if c.fits:
            caps[label] = c.capacity_tok_per_day
            curves += latency_curve(spec, gpu, eff, label=label, weight_dtype=dtype, gpus=n,
                                    top_batch=c.memory_max_batch, prompt_tokens=prompt_tokens, output_tokens=output,
                                    kv_cache_dtype=kv)
    return Comparison(tuple(rows), caps, tuple(curves))


def scenario_grid(scenario: Scenario, compute_shares: Iterable[float], ttft_factors: Sequence[float] = (0.5, 1.0, 2.0)
                  ) -> pd.DataFrame:
    """The best capacity [M tok/day] for each compute share (rows) and TTFT target (the scenario's x factors, columns)."""
    def cap(share: float, ttft_ms: float) -> float:
        moved = replace(scenario, efficiency=replace(scenario.efficiency, compute_share=share), slo_ttft_ms=ttft_ms)
        return best_capacity_tok_per_day(moved.capacities())

    return sensitivity_grid(cap, compute_shares, [scenario.slo_ttft_ms * f for f in ttft_factors])


def cpu_step_table(batch_table: pd.DataFrame, floor_ms: Mapping[int, float]) -> pd.DataFrame:
    """Per batch: the roofline's step, plain PyTorch's (``floor_ms``) and vLLM's (its median TPOT) [ms]."""
    steps = batch_table.groupby("concurrency", as_index=False)[["predicted_tpot_ms", "measured_tpot_ms"]].median()
    steps["pytorch_step_ms"] = steps["concurrency"].map(lambda b: floor_ms.get(int(b)))
    return steps.rename(columns={"concurrency": "batch_count", "predicted_tpot_ms": "roofline_step_ms",
                                 "measured_tpot_ms": "vllm_step_ms"})[
        ["batch_count", "roofline_step_ms", "pytorch_step_ms", "vllm_step_ms"]]


# ---------------------------------------------------------------------- verdicts
def c07_verdict(caps: Sequence[DtypeCapacity], volumes_tok_per_day: Mapping[str, float], gpu: str, model: str,
                alternatives: Mapping[str, float] | None = None, slo_text: str = "",
                fit_sequences: Mapping[str, float] | None = None, context_tokens: int | None = None,
                efficiency: roofline.Efficiency | None = None, efficiency_basis: str = "") -> Verdict:
    """C07: does one ``gpu`` serve ``model`` at each volume, at a precision that fits?

    "Holds" when 16-bit weights fit and serve every volume; "holds only under conditions"
    when some precision that fits serves the smallest volume (the conditions name the
    precision and the volumes it does not reach, with how many GPUs those need); "does not
    hold" when nothing fits or nothing serves the smallest volume. ``alternatives`` maps a
    deployment (e.g. "H100 SXM fp8") to its capacity [tok/day], listed in the conditions.
    ``fit_sequences`` (precision -> concurrent ``context_tokens``-token sequences the KV
    cache holds, as the GPU memory page computes them) is reported among the figures as
    whole sequences (a fraction is floored: only whole sequences run at full length), and
    so is ``efficiency`` (the engine efficiency the capacities assumed, from
    ``efficiency_basis``), named in the conditions.
    """
    if not volumes_tok_per_day:
        raise ParameterError("volumes_tok_per_day", volumes_tok_per_day, "at least one volume")
    fitting = [c for c in caps if c.fits]
    figures: dict[str, float | int | str] = {}
    if fit_sequences:
        for dtype, seqs in fit_sequences.items():
            figures[f"{dtype}_sequences_count"] = math.floor(seqs)
        if context_tokens is not None:
            figures["context_tok"] = context_tokens
    if efficiency is not None:
        figures["bandwidth_efficiency_share"] = efficiency.bandwidth_share
        figures["compute_efficiency_share"] = efficiency.compute_share
    for c in caps:
        figures[f"{c.weight_dtype}_capacity_mtok_per_day"] = c.capacity_tok_per_day / TOK_PER_MTOK
        figures[f"{c.weight_dtype}_max_batch_count"] = float(c.capacity.max_batch_within_slo)
    smallest = min(volumes_tok_per_day.values())
    best = max(fitting, key=lambda c: c.capacity_tok_per_day, default=None)
    best_cap = best.capacity_tok_per_day if best else 0.0
    figures["best_capacity_mtok_per_day"] = best_cap / TOK_PER_MTOK
    if best is not None:
        figures["best_weight_dtype"] = best.weight_dtype
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
        conditions.append(f"the engine reaches {efficiency.bandwidth_share:.0%} of peak bandwidth in decode and "
                          f"{efficiency.compute_share:.0%} of peak FLOP/s in prefill"
                          + (f" ({efficiency_basis})" if efficiency_basis else " (from published measurements)"))
    if len(served) == len(volumes_tok_per_day) and any(c.weight_dtype in ("bf16", "fp16") for c in fitting):
        return Verdict("C07", HOLDS, reason, figures, tuple(conditions))
    return Verdict("C07", CONDITIONAL, reason, figures, tuple(conditions))


@dataclass(frozen=True)
class Scenario:
    """The inputs of the C07 capacity question, so that each can be moved on its own (what flips the verdict)."""

    spec: ModelSpec
    gpu: Gpu
    overheads: memory.Overheads
    efficiency: roofline.Efficiency
    volumes_tok_per_day: Mapping[str, float]
    prompt_tokens: int
    input_share: float
    slo_ttft_ms: float
    slo_tpot_ms: float
    weight_dtypes: tuple[str, ...] = ("bf16", "fp8", "int8", "int4")
    kv_cache_dtype: str = "auto"
    gpus: int = 1

    def capacities(self) -> list[DtypeCapacity]:
        return deployment_capacities(self.spec, self.gpu, self.overheads, self.efficiency, gpus=self.gpus,
                                     prompt_tokens=self.prompt_tokens, input_share=self.input_share,
                                     slo_ttft_ms=self.slo_ttft_ms, slo_tpot_ms=self.slo_tpot_ms,
                                     weight_dtypes=self.weight_dtypes, kv_cache_dtype=self.kv_cache_dtype)

    def verdict(self, **extra: object) -> Verdict:
        return c07_verdict(self.capacities(), self.volumes_tok_per_day, self.gpu.gpu, self.spec.name, **extra)  # type: ignore[arg-type]

    def outcome(self, baseline_verdict: str | None = None) -> str:
        """Which volumes one such GPU serves, and the verdict where it differs: what a sensitivity watches change."""
        return c07_outcome(self.verdict(), self.volumes_tok_per_day, baseline_verdict)


def c07_outcome(verdict: Verdict, volumes_tok_per_day: Mapping[str, float], baseline_verdict: str | None = None) -> str:
    """Which volumes one GPU serves at its best precision, in words; the verdict first where it is not ``baseline_verdict``.

    Read after "flips to" in the robustness line, it says what changes: the volumes one GPU
    serves, and the verdict's word only when that changes too.

    >>> v = Verdict("C07", CONDITIONAL, "r", {"best_capacity_mtok_per_day": 6.0}, ("c",))
    >>> c07_outcome(v, {"5M": 5e6, "50M": 5e7}, CONDITIONAL)
    'one GPU serving 5M tokens/day but not 50M'
    >>> c07_outcome(v, {"5M": 5e6, "50M": 5e7}, "holds")
    'holds only under conditions, one GPU serving 5M tokens/day but not 50M'
    >>> c07_outcome(v, {"1M": 1e6, "5M": 5e6})
    'holds only under conditions, one GPU serving all the volumes (1M and 5M tokens/day)'
    """
    best = float(verdict.figures.get("best_capacity_mtok_per_day", 0.0)) * TOK_PER_MTOK
    served = [label for label, v in volumes_tok_per_day.items() if v <= best]
    missed = [label for label in volumes_tok_per_day if label not in served]
    if not missed:
        what = f"one GPU serving all the volumes ({and_list(served)} tokens/day)"
    elif not served:
        what = f"one GPU serving none of the volumes ({and_list(missed)} tokens/day)"
    else:
        what = f"one GPU serving {and_list(served)} tokens/day but not {and_list(missed)}"
    return what if verdict.verdict == baseline_verdict else f"{verdict.verdict}, {what}"


@dataclass(frozen=True)
class Ranges:
    """Plausible ranges of the uncertain inputs of a capacity verdict, each with its source."""

    efficiency_low: roofline.Efficiency
    efficiency_high: roofline.Efficiency
    efficiency_source: str
    input_share: tuple[float, float] = (0.7, 0.987)
    input_share_source: str = ("the article's 70% to the 98.7% of Azure's 2023 code trace (the traces: 84.5% chat, "
                               "97.2% Mooncake)")
    prompt_tokens: tuple[int, int] = (256, 2048)
    prompt_tokens_source: str = "the prompt lengths of the published benchmarks (256 to 2,048 tokens)"
    peak_to_mean_x: tuple[float, float] = (1.0, 4.2)
    peak_to_mean_source: str = ("a steady load to the 4.2x peak-to-mean of Azure's 2023 code trace over 1-minute "
                                "windows (chat 1.5, Mooncake 1.2)")
    slo_ttft_ms: tuple[float, float] = (500.0, 1000.0)
    slo_ttft_source: str = "the article's acceptable TTFT, 500 ms to 1 s"


def c07_assess(scenario: Scenario, ranges: Ranges, *, model_label: str, evidence: Sequence[Evidence],
               alternatives: Mapping[str, float] | None = None, fit_sequences: Mapping[str, float] | None = None,
               context_tokens: int | None = None, efficiency_basis: str = "",
               other_gpus: Mapping[str, tuple[Gpu, roofline.Efficiency]] | None = None, steps: int = 10) -> Verdict:
    """C07's verdict (:func:`c07_verdict`) with its evidence and what flips it.

    Each uncertain input is moved over its plausible range (:class:`Ranges`), the others
    fixed, and the verdict recomputed (:func:`selfhost.robustness.sensitivity`): the
    engine's compute and bandwidth shares over the calibration's spread, the input share and
    prompt length over the traces' and benchmarks', the traffic's peak-to-mean (one GPU must
    carry the peak: the volumes scale by it), the TTFT target over the article's range; the
    weight precision (one precision at a time) and the GPU (``other_gpus``, each with its
    generation's efficiency) as categories. What is watched is the verdict together with the
    volumes one GPU serves (:func:`c07_outcome`): "50M tokens/day needs 2 GPUs" flips there
    even when the verdict's word does not, and the flip then names only the volumes. The
    precision's range is given by its ends (the first and last of ``weight_dtypes``); the
    baseline is the best of them that fits.
    """
    slo_text = (f"TTFT <= {scenario.slo_ttft_ms:,.0f} ms and TPOT <= {scenario.slo_tpot_ms:,.0f} ms for "
                f"{scenario.prompt_tokens:,}-token prompts")
    base = scenario.verdict(alternatives=alternatives, slo_text=slo_text, fit_sequences=fit_sequences,
                            context_tokens=context_tokens, efficiency=scenario.efficiency,
                            efficiency_basis=efficiency_basis)

    def moved(**changes: object) -> str:
        return replace(scenario, **changes).outcome(base.verdict)  # type: ignore[arg-type]

    here = c07_outcome(base, scenario.volumes_tok_per_day, base.verdict)

    eff, lo, hi = scenario.efficiency, ranges.efficiency_low, ranges.efficiency_high
    sens = [
        sensitivity("compute_share", lambda v: moved(efficiency=replace(eff, compute_share=v)), eff.compute_share,
                    min(lo.compute_share, eff.compute_share), max(hi.compute_share, eff.compute_share),
                    ranges.efficiency_source, steps=steps),
        sensitivity("bandwidth_share", lambda v: moved(efficiency=replace(eff, bandwidth_share=v)),
                    eff.bandwidth_share, min(lo.bandwidth_share, eff.bandwidth_share),
                    max(hi.bandwidth_share, eff.bandwidth_share), ranges.efficiency_source, steps=steps),
        sensitivity("input_share", lambda v: moved(input_share=v), scenario.input_share, *ranges.input_share,
                    ranges.input_share_source, steps=steps),
        sensitivity("prompt_tok", lambda v: moved(prompt_tokens=max(1, round(v))), scenario.prompt_tokens,
                    *ranges.prompt_tokens, ranges.prompt_tokens_source, log=True, steps=steps),
        sensitivity("peak_to_mean_x", lambda v: moved(volumes_tok_per_day={k: x * v for k, x in
                                                                           scenario.volumes_tok_per_day.items()}),
                    1.0, *ranges.peak_to_mean_x, ranges.peak_to_mean_source, steps=steps),
        sensitivity("slo_ttft_ms", lambda v: moved(slo_ttft_ms=v), scenario.slo_ttft_ms, *ranges.slo_ttft_ms,
                    ranges.slo_ttft_source, steps=steps),
        replace(categorical("weight_dtype", {"the best that fits": here,
                                             **{d: moved(weight_dtypes=(d,)) for d in scenario.weight_dtypes}},
                            "the best that fits", "the precisions vLLM serves: 16-bit, FP8, INT8 (W8A8), INT4 (AWQ/GPTQ)"),
                low=scenario.weight_dtypes[0], high=scenario.weight_dtypes[-1]),
    ]
    if other_gpus:
        verdicts = {scenario.gpu.gpu: here}
        verdicts.update({name: moved(gpu=g, efficiency=e) for name, (g, e) in other_gpus.items()})
        sens.append(categorical("gpu", verdicts, scenario.gpu.gpu,
                                "data/gpus.csv, each GPU at its generation's calibrated efficiency"))
    return base.with_(evidence=tuple(evidence), sensitivity=tuple(sens))


@dataclass(frozen=True)
class TtftDeployment:
    """One deployment of the C15 analysis: a model on GPUs at a precision, and the efficiency of their generation."""

    label: str
    spec: ModelSpec
    device: roofline.Device
    weight_dtype: str
    chunk_tokens: int
    efficiency: roofline.Efficiency
    generation: str = ""

    def ttft_ms(self, prompt_tokens: int, busy_share: float = 0.0, quantile: float | None = None,
                efficiency: roofline.Efficiency | None = None) -> float:
        """TTFT of one prompt [ms]: mean, or ``quantile``, at ``busy_share`` (:func:`selfhost.roofline.ttft_s`)."""
        return 1e3 * roofline.ttft_s(self.spec, self.device, efficiency or self.efficiency,
                                     prompt_tokens=max(1, int(prompt_tokens)), busy_share=busy_share,
                                     weight_dtype=self.weight_dtype, chunk_tokens=self.chunk_tokens,
                                     quantile=quantile)


@dataclass(frozen=True)
class TtftCase:
    """One deployment in the C15 analysis: the longest prompt answered within the target, and TTFT at the typical one."""

    label: str
    max_prompt_tokens_within_target: int
    ttft_at_typical_ms: float
    ttft_p99_at_load_ms: float = math.nan
    max_busy_share_within_target: float = math.nan


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


def max_busy_share_within(ttft_ms_of: Callable[[float], float], target_ms: float) -> float:
    """The largest busy share (bisection over [0, 0.999]) at which ``ttft_ms_of(share)`` stays within the target [1]."""
    if ttft_ms_of(0.0) > target_ms:
        return 0.0
    lo, hi = 0.0, 0.999
    if ttft_ms_of(hi) <= target_ms:
        return hi
    for _ in range(40):
        mid = (lo + hi) / 2
        if ttft_ms_of(mid) <= target_ms:
            lo = mid
        else:
            hi = mid
    return lo


def ttft_case(d: TtftDeployment, target_ms: float, typical_prompt_tokens: int, busy_share: float,
              quantile: float = 0.99) -> TtftCase:
    """A deployment's C15 figures: longest prompt whose ``quantile`` TTFT at ``busy_share`` is within target, and more."""
    return TtftCase(d.label, max_prompt_within(lambda p: d.ttft_ms(p, busy_share, quantile), target_ms),
                    d.ttft_ms(typical_prompt_tokens), d.ttft_ms(typical_prompt_tokens, busy_share, quantile),
                    max_busy_share_within(lambda r: d.ttft_ms(typical_prompt_tokens, r, quantile), target_ms))


def ttft_curves(deployments: Sequence[TtftDeployment], prompts: Sequence[int], loads: Sequence[float],
                quantile: float = 0.99) -> pd.DataFrame:
    """TTFT against prompt length for each deployment and load: the mean idle, the ``quantile`` under each load."""
    rows = []
    for d in deployments:
        for load in loads:
            label = "idle, mean" if load == 0 else f"{load:.0%} busy, p{round(100 * quantile)}"
            for p in prompts:
                rows.append({"deployment": d.label, "load": label, "prompt_tok": p,
                             "ttft_ms": d.ttft_ms(p) if load == 0 else d.ttft_ms(p, load, quantile)})
    return pd.DataFrame(rows)


def ttft_load_table(d: TtftDeployment, prompt_tokens: int, loads: Sequence[float]) -> pd.DataFrame:
    """Mean, p90 and p99 TTFT of one prompt against load: how the tail outgrows the mean."""
    return pd.DataFrame([{"busy_share": r, "ttft_mean_ms": d.ttft_ms(prompt_tokens, r),
                          "ttft_p90_ms": d.ttft_ms(prompt_tokens, r, 0.9),
                          "ttft_p99_ms": d.ttft_ms(prompt_tokens, r, 0.99)} for r in loads])


def _load_text(busy_share: float) -> str:
    return "idle" if busy_share == 0 else f"at {busy_share:.0%} load"


def ttft_within_target(cases: Sequence[TtftCase], target_ms: float, typical_prompt_tokens: int, busy_share: float,
                       quantile: float = 0.99) -> str:
    """Where each deployment keeps the ``quantile`` TTFT within the target, in one condition of the C15 verdict.

    For each deployment: the longest prompt within the target at ``busy_share`` and the
    highest load at which a ``typical_prompt_tokens`` prompt stays within it. A deployment
    that meets the target at neither (no prompt at that load, and the typical prompt not
    even idle) is named apart, not listed with limits of 0.

    >>> cases = [TtftCase("8B", 505, 47.0, 150.0, 0.49), TtftCase("70B", 0, 431.0, 1869.0, 0.0)]
    >>> print(ttft_within_target(cases, 200.0, 512, 0.5))  # doctest: +NORMALIZE_WHITESPACE
    the p99 stays under 200 ms only for short enough prompts on a lightly enough loaded server: with 8B, prompts up
    to 505 tokens at 50% load, or a 512-token prompt at up to 49% load; not with 70B, where no prompt meets it at
    50% load and a 512-token prompt misses it even idle
    """
    p, load = f"p{round(100 * quantile)}", _load_text(busy_share)
    typical = f"a {typical_prompt_tokens:,}-token prompt"
    listed, never = [], []
    for c in cases:
        prompt, share = c.max_prompt_tokens_within_target, c.max_busy_share_within_target
        if prompt > 0 and share > 0:
            listed.append(f"with {c.label}, prompts up to {prompt:,} tokens {load}, or {typical} at up to {share:.0%} load")
        elif prompt > 0:
            listed.append(f"with {c.label}, prompts up to {prompt:,} tokens {load} ({typical} misses it even idle)")
        elif share > 0:
            listed.append(f"with {c.label}, {typical} at up to {share:.0%} load (no prompt {load})")
        else:
            never.append(c.label)
    parts = []
    if listed:
        parts.append(f"the {p} stays under {target_ms:,.0f} ms only for short enough prompts on a lightly enough "
                     f"loaded server: {'; '.join(listed)}")
    if never:
        parts.append(f"not with {and_list(never)}, where no prompt meets it {load} and {typical} misses it even idle")
    return "; ".join(parts)


def ttft_case_statement(case: TtftCase, typical_prompt_tokens: int, busy_share: float, quantile: float = 0.99) -> str:
    """One deployment's limits in a sentence: the longest prompt within the target, the highest load for a typical one.

    >>> ttft_case_statement(TtftCase("70B", 0, 431.0, 1869.0, 0.0), 512, 0.5)
    'No prompt keeps its p99 under the target at 50% load, and a 512-token prompt misses it even on an idle device.'
    >>> print(ttft_case_statement(TtftCase("8B", 505, 47.0, 150.0, 0.49), 512, 0.5))  # doctest: +NORMALIZE_WHITESPACE
    The longest prompt whose p99 stays under the target at 50% load is 505 tokens, and a 512-token prompt's p99
    stays under it while the device is busy with prompts at most 49% of the time.
    """
    p, load = f"p{round(100 * quantile)}", _load_text(busy_share)
    typical = f"a {typical_prompt_tokens:,}-token prompt"
    prompt, share = case.max_prompt_tokens_within_target, case.max_busy_share_within_target
    first = (f"The longest prompt whose {p} stays under the target {load} is {prompt:,} tokens" if prompt > 0 else
             f"No prompt keeps its {p} under the target {load}")
    second = (f"{typical}'s {p} stays under it while the device is busy with prompts at most {share:.0%} of the time"
              if share > 0 else f"{typical} misses it even on an idle device")
    return f"{first}, and {second}."


def c15_verdict(cases: Sequence[TtftCase], target_ms: float, typical_prompt_tokens: int, article_case: str,
                api_low_ms: float, api_high_ms: float, busy_share: float = 0.0, quantile: float = 0.99) -> Verdict:
    """C15: is under ``target_ms`` TTFT reachable by self-hosting, consistently, and for what prompts?

    "Consistently" is a tail statement: the ``quantile`` (p99) TTFT of a typical prompt on
    a server busy with prompts ``busy_share`` of the time. "Holds" when the deployment
    judged (``article_case``) meets the target there; "holds only under conditions" when
    it does not but some deployment does, at that load or idle (the conditions name the
    prompt lengths, deployments and the load each stays within); "does not hold" when no
    deployment meets it even idle. The API side (``api_low_ms``-``api_high_ms``) is the
    article's figure, not measured here.
    """
    check_number("target_ms", target_ms, gt=0)
    check_int("typical_prompt_tokens", typical_prompt_tokens, ge=1)
    by_label = {c.label: c for c in cases}
    if article_case not in by_label:
        raise ParameterError("article_case", article_case, f"one of the cases {sorted(by_label)}")
    art = by_label[article_case]
    tail = [c for c in cases if c.ttft_p99_at_load_ms <= target_ms]
    idle = [c for c in cases if c.ttft_at_typical_ms <= target_ms]
    p = f"p{round(100 * quantile)}"
    figures: dict[str, float | int | str] = {
        "target_ms": target_ms, "typical_prompt_tok": typical_prompt_tokens, "busy_share": busy_share,
        "article_deployment_ttft_ms": art.ttft_at_typical_ms,
        "article_deployment_ttft_p99_ms": art.ttft_p99_at_load_ms,
        "article_deployment_max_prompt_tok": art.max_prompt_tokens_within_target,
        "article_deployment_max_busy_share": art.max_busy_share_within_target,
        "deployments_meeting_target_count": len(tail), "deployments_meeting_target_idle_count": len(idle),
        "deployments_count": len(cases),
    }
    api = (f"the API side ({api_low_ms:,.0f}-{api_high_ms:,.0f} ms) is the article's figure; no API was measured here, "
           "and an API's TTFT also holds the network round trip and its own queue")
    within = ttft_within_target(cases, target_ms, typical_prompt_tokens, busy_share, quantile)
    reason = (f"At {busy_share:.0%} load the {p} TTFT of a {typical_prompt_tokens:,}-token prompt on {article_case} is "
              f"{art.ttft_p99_at_load_ms:,.0f} ms ({art.ttft_at_typical_ms:,.0f} ms idle); {len(tail)} of {len(cases)} "
              f"deployments keep the {p} under {target_ms:,.0f} ms ({len(idle)} idle).")
    if not idle:
        return Verdict("C15", FAILS, reason, figures, (within, api))
    conditions = (within,
                  f"'consistently' is read as the {p}: queueing makes the tail grow faster than the mean as load rises",
                  api)
    if art.ttft_p99_at_load_ms <= target_ms:
        return Verdict("C15", HOLDS, reason, figures, conditions)
    return Verdict("C15", CONDITIONAL, reason, figures, conditions)


def c15_assess(deployments: Sequence[TtftDeployment], article_label: str, *, target_ms: float,
               typical_prompt_tokens: int, busy_share: float, api_low_ms: float, api_high_ms: float,
               efficiency_range: tuple[roofline.Efficiency, roofline.Efficiency], efficiency_source: str,
               evidence: Sequence[Evidence], prompt_range: tuple[int, int] = (128, 4096),
               load_range: tuple[float, float] = (0.0, 0.9), quantile: float = 0.99, steps: int = 10) -> Verdict:
    """C15's verdict (:func:`c15_verdict`) with its evidence and what flips it.

    Moved one at a time: the load (an idle server to one 90% busy with prompts), the
    prompt length (short chat to the benchmarks' long prompts), the article deployment's
    compute share over its generation's calibrated spread; the deployment as a category.
    """
    def verdict_at(load: float = busy_share, prompt: int = typical_prompt_tokens,
                   compute: float | None = None) -> Verdict:
        ds = [replace(d, efficiency=replace(d.efficiency, compute_share=compute))
              if compute is not None and d.label == article_label else d for d in deployments]
        cases = [ttft_case(d, target_ms, prompt, load, quantile) for d in ds]
        return c15_verdict(cases, target_ms, prompt, article_label, api_low_ms, api_high_ms, load, quantile)

    base = verdict_at()
    art = next(d for d in deployments if d.label == article_label)
    lo, hi = efficiency_range
    sens = [
        sensitivity("busy_share", lambda v: verdict_at(load=v).verdict, busy_share, *load_range,
                    "an idle server to one busy with prompts 90% of the time", steps=steps),
        sensitivity("prompt_tok", lambda v: verdict_at(prompt=max(1, round(v))).verdict, typical_prompt_tokens,
                    *prompt_range, "short chat prompts to the published benchmarks' long ones", log=True, steps=steps),
        sensitivity("compute_share", lambda v: verdict_at(compute=v).verdict, art.efficiency.compute_share,
                    min(lo.compute_share, art.efficiency.compute_share),
                    max(hi.compute_share, art.efficiency.compute_share), efficiency_source, steps=steps),
    ]
    cases = [ttft_case(d, target_ms, typical_prompt_tokens, busy_share, quantile) for d in deployments]
    verdicts = {d.label: c15_verdict(cases, target_ms, typical_prompt_tokens, d.label, api_low_ms, api_high_ms,
                                     busy_share, quantile).verdict for d in deployments}
    sens.append(categorical("deployment", verdicts, article_label,
                            "the deployment judged, among this page's (model, GPU, precision)"))
    return base.with_(evidence=tuple(evidence), sensitivity=tuple(sens))


# ---------------------------------------------------------------------- the CPU runs against the model
def cpu_batch_table(runs: pd.DataFrame, spec: ModelSpec, device: roofline.Device,
                    chunk_tokens: int = 2048) -> pd.DataFrame:
    """The batch sweep (``throughput`` runs) beside the roofline, one row per run.

    Measured decode tok/s = concurrency / median TPOT (TPOT excludes the first token, so it
    is the decode step); predicted = :func:`selfhost.roofline.decode_tok_per_s` at the mean
    context; ``measured_over_predicted_x`` their ratio; ``mbu_share`` the bandwidth share the
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
            "measured_over_predicted_x": measured / predicted,
            "mbu_share": roofline.mbu(spec, device, decode_tok_per_s=measured, batch=c, context_tokens=ctx),
            "measured_output_tok_per_s": r["output_tok_per_s"], "predicted_output_tok_per_s": wave,
        })
    return pd.DataFrame(rows).sort_values(["concurrency", "load_avg_1m_at_end"]).reset_index(drop=True)


def cpu_prompt_table(runs: pd.DataFrame, spec: ModelSpec, device: roofline.Device,
                     chunk_tokens: int = 2048) -> pd.DataFrame:
    """The prompt sweep (``long_prompt`` runs, one request at a time) beside the roofline.

    Measured TTFT (median) against :func:`selfhost.roofline.prefill_time`; measured prefill
    tok/s = prompt / TTFT; ``mfu_share`` the compute share it implies; ``measured_over_predicted_x``
    measured over predicted TTFT.
    """
    rows = []
    for r in runs.to_dict("records"):
        p = int(r["prompt_len"])
        pre = roofline.prefill_time(spec, device, prompt_tokens=p, chunk_tokens=chunk_tokens)
        ttft = r["median_ttft_ms"]
        rows.append({
            "prompt_tok": p, "load_avg_1m_at_start": r.get("load_avg_1m_at_start"),
            "load_avg_1m_at_end": r.get("load_avg_1m"),
            "measured_ttft_ms": ttft, "predicted_ttft_ms": pre.time_s * 1e3, "measured_over_predicted_x": ttft / (pre.time_s * 1e3),
            "measured_prefill_tok_per_s": p / (ttft / 1e3), "predicted_prefill_tok_per_s": p / pre.time_s,
            "mfu_share": pre.flops / (ttft / 1e3) / device.flop_per_s,
            "bound": pre.bound,
        })
    return pd.DataFrame(rows).sort_values(["prompt_tok", "load_avg_1m_at_end"]).reset_index(drop=True)


def cpu_decode_summary(table: pd.DataFrame, max_end_load_avg: float, target_share: float) -> dict[str, float | int | str]:
    """The CPU batch sweep in a few figures: runs left out as disturbed, where the roofline is within target.

    A run whose 1-minute load average at its end exceeds ``max_end_load_avg`` was disturbed
    by other work on the shared cores; of the others, the batches whose measured decode
    rate is within ``target_share`` of the roofline's, the largest gap, and the bandwidth
    share the engine reaches there.
    """
    check_number("max_end_load_avg", max_end_load_avg, gt=0)
    check_number("target_share", target_share, gt=0)
    disturbed = table["load_avg_1m_at_end"] > max_end_load_avg
    quiet = table[~disturbed]
    if quiet.empty:
        raise ParameterError("max_end_load_avg", max_end_load_avg,
                             "a load average that leaves at least one CPU run undisturbed (record quieter runs)")
    gap = (quiet["measured_over_predicted_x"] - 1).abs()
    within, beyond = quiet[gap <= target_share], quiet[gap > target_share]

    def batches(frame: pd.DataFrame) -> str:
        return ", ".join(str(int(c)) for c in sorted(frame["concurrency"].unique())) or "none"

    return {
        "cpu_disturbed_count": int(disturbed.sum()), "cpu_max_abs_gap_share": float(gap.max()),
        "cpu_within_batches": batches(within), "cpu_beyond_batches": batches(beyond),
        "cpu_within_max_gap_share": float(gap[gap <= target_share].max()) if len(within) else math.nan,
        "cpu_within_mbu_min_share": float(within["mbu_share"].min()) if len(within) else math.nan,
        "cpu_within_mbu_max_share": float(within["mbu_share"].max()) if len(within) else math.nan,
    }


def undisturbed(table: pd.DataFrame, max_end_load_avg: float) -> pd.DataFrame:
    """The rows of a CPU table whose run ended with the load average at most ``max_end_load_avg``."""
    return table[table["load_avg_1m_at_end"] <= max_end_load_avg].reset_index(drop=True)


def cpu_prompt_summary(table: pd.DataFrame) -> dict[str, float | int]:
    """The CPU prompt sweep in figures: ms per prompt token (first to last run), the shortest prompt's TTFT, MFU at the longest."""
    if table.empty:
        raise ParameterError("table", "(empty)", "at least one undisturbed CPU prompt run")
    first, last = table.iloc[0], table.iloc[-1]
    span = float(last["prompt_tok"] - first["prompt_tok"])
    return {"cpu_ms_per_prompt_tok": float(last["measured_ttft_ms"] - first["measured_ttft_ms"]) / span if span else math.nan,
            "cpu_ttft_short_ms": float(first["measured_ttft_ms"]), "cpu_prompt_short_tok": int(first["prompt_tok"]),
            "cpu_mfu_long_share": float(last["mfu_share"]),
            "cpu_mfu_min_share": float(table["mfu_share"].min()), "cpu_mfu_max_share": float(table["mfu_share"].max())}


def cpu_evidence(engine_version: str, sweep: str) -> Evidence:
    """The live-run evidence of the CPU checks: which engine, model and machine."""
    return Evidence("live", f"vLLM {engine_version}, the CPU build, serving capacity-llama (0.56B parameters, "
                            f"dummy weights) on this machine's shared 2-core CPU: {sweep} against the roofline at "
                            "one core's measured limits")


def _ttft_at(d: TtftDeployment, load: float, quantile: float, prompt_tokens: int) -> float:
    """The mean TTFT idle, the ``quantile`` under load [ms]."""
    return d.ttft_ms(prompt_tokens) if load == 0 else d.ttft_ms(prompt_tokens, load, quantile)


def ttft_prompt_table(deployments: Sequence[TtftDeployment], target_ms: float, loads: Sequence[float],
                      typical_prompt_tokens: int, quantile: float = 0.99) -> pd.DataFrame:
    """Per deployment: the longest prompt within the target idle (mean) and at each load (``quantile``), and TTFT idle."""
    rows = []
    for d in deployments:
        row: dict = {"deployment": d.label}
        for load in loads:
            name = ("longest prompt idle (mean) [tok]" if load == 0 else
                    f"longest prompt at {load:.0%} busy (p{round(100 * quantile)}) [tok]")
            row[name] = max_prompt_within(partial(_ttft_at, d, load, quantile), target_ms)
        row["ttft_idle_ms"] = d.ttft_ms(typical_prompt_tokens)
        rows.append(row)
    return pd.DataFrame(rows)


def check_loads(loads: object, what: str = "loads") -> list[float]:
    """A page's list of busy shares, each in [0, 1), at least one."""
    if not isinstance(loads, list) or not loads:
        raise ParameterError(what, loads, "a non-empty list of shares in [0, 1)")
    return [check_number(what, x, ge=0, lt=1) for x in loads]


def pick_deployment(deployments: Sequence[TtftDeployment], items: Sequence[str], chosen: str,
                    what: str = "article_deployment") -> TtftDeployment:
    """The deployment whose entry in ``items`` is ``chosen``; a ParameterError naming ``what`` otherwise."""
    if chosen not in items:
        raise ParameterError(what, chosen, "one of the entries of deployments")
    return deployments[list(items).index(chosen)]


def prompt_grid(low: int, high: int) -> list[int]:
    """Prompt lengths doubling from ``low`` to ``high`` [tok].

    >>> prompt_grid(64, 512)
    [64, 128, 256, 512]
    """
    check_int("low", low, ge=1)
    out, p = [], low
    while p <= high:
        out.append(p)
        p *= 2
    return out


def load_grid(step: float = 0.1, top: float = 0.9) -> list[float]:
    """Busy shares 0, ``step`` ... ``top`` [1].

    >>> load_grid(0.3, 0.9)
    [0.0, 0.3, 0.6, 0.9]
    """
    n = round(top / step)
    return [round(i * step, 10) for i in range(n + 1)]


#: What the article says, for the evidence of each verdict this module computes.
ARTICLE_TEXT = {
    "C07": "'self-hosting a 70B model on an A100 80GB spot instance (~$2.50/hr) breaks even around 5M tokens/day' "
           "and '~50M tokens/day vs hosted open-model APIs'",
    "C15": "'Need <200ms TTFT consistently' as a reason to self-host; '500ms-1s TTFT acceptable' for APIs",
}


def article_evidence(claim_id: str) -> Evidence:
    """The article's own words behind a claim."""
    return Evidence("article", ARTICLE_TEXT[claim_id])


def efficiency_with(base: roofline.Efficiency, bandwidth_share: float = 0.0,
                    compute_share: float = 0.0) -> roofline.Efficiency:
    """``base`` with each share a page gives (0: keep the calibrated one)."""
    check_number("bandwidth_efficiency_share", bandwidth_share, ge=0, le=1)
    check_number("compute_efficiency_share", compute_share, ge=0, le=1)
    return roofline.Efficiency(bandwidth_share or base.bandwidth_share, compute_share or base.compute_share)


def kv_cache_dtype_for(gpu: Gpu, choice: str = "by-gpu") -> str:
    """A page's ``kv_cache_dtype``: ``by-gpu`` for the GPU's default (:func:`default_kv_cache_dtype`), else ``auto``/``fp8``."""
    if choice == "by-gpu":
        return default_kv_cache_dtype(gpu)
    return check_choice("kv_cache_dtype", choice, memory.KV_CACHE_DTYPES)


def worked_example(spec: ModelSpec, gpu: Gpu, efficiency: roofline.Efficiency, *, weight_dtype: str, prompt_tokens: int,
                   output_tokens: int, kv_cache_dtype: str = "auto") -> dict[str, float]:
    """The two floors of the roofline with one deployment's numbers, for a page to show by hand.

    Decode at batch 1: ``bytes / (bandwidth x bandwidth share)``; one prompt's prefill:
    ``FLOPs / (peak x compute share)``.
    """
    device = gpu.device(weight_dtype)
    context = prompt_tokens + output_tokens // 2
    step = roofline.step_time(spec, device, efficiency, decode_batch=1, context_tokens=context,
                              weight_dtype=weight_dtype, kv_cache_dtype=kv_cache_dtype)
    pre = roofline.prefill_time(spec, device, efficiency, prompt_tokens=prompt_tokens, weight_dtype=weight_dtype,
                                chunk_tokens=gpu.max_num_batched_tokens)
    return {"ex_step_gb": step.bytes / 1e9, "ex_bandwidth_tb_per_s": gpu.memory_bandwidth_tb_per_s,
            "ex_bandwidth_share": efficiency.bandwidth_share, "ex_decode_step_ms": step.time_s * 1e3,
            "ex_prefill_tflop": pre.flops / 1e12, "ex_peak_tflop_per_s": device.matmul_tflop_per_s,
            "ex_compute_share": efficiency.compute_share, "ex_prefill_ms": pre.time_s * 1e3,
            "ex_prompt_tok": prompt_tokens}


def best_of(caps: Sequence[DtypeCapacity]) -> DtypeCapacity | None:
    """The precision that fits and serves the most (None when none fits)."""
    return max((c for c in caps if c.fits), key=lambda c: c.capacity_tok_per_day, default=None)


def other_gpus(deployments: Sequence[tuple[Gpu, str, int]], baseline: Gpu,
               efficiency_of: Callable[[Gpu], roofline.Efficiency]) -> dict[str, tuple[Gpu, roofline.Efficiency]]:
    """The single GPUs among ``deployments`` other than ``baseline``, each with its efficiency (for the GPU sensitivity)."""
    return {g.gpu: (g, efficiency_of(g)) for g, _, _ in deployments if g.gpu != baseline.gpu}


def cpu_decode_statement(summary: Mapping[str, float | int | str], target_share: float) -> str:
    """The CPU decode check in one bold sentence (:func:`cpu_decode_summary`)."""
    return (f"**Decode on this CPU: the roofline predicts the measured rate within {target_share:.0%} at batch sizes "
            f"{summary['cpu_within_batches']} (largest gap {float(summary['cpu_within_max_gap_share']):.0%}; the engine "
            f"reaches {float(summary['cpu_within_mbu_min_share']):.0%}-{float(summary['cpu_within_mbu_max_share']):.0%} "
            f"of one core's measured bandwidth); at {summary['cpu_beyond_batches']} it falls short by up to "
            f"{float(summary['cpu_max_abs_gap_share']):.0%}.**")


def calibration_statement(cal: Calibration) -> str:
    """The calibration's error in one bold sentence: fitted and held-out rows."""
    s = cal.residual_summary()
    return (f"**Calibrated on {s['fitted_rows_count']:.0f} published figures, the roofline is off by a median "
            f"{s['fitted_median_abs_residual_share']:.0%} on them; on the {s['held_out_rows_count']:.0f} figures kept "
            f"out of the fit, by a median {s['held_out_median_abs_residual_share']:.0%} and at most "
            f"{s['held_out_max_abs_residual_share']:.0%}.**")


def efficiency_basis_statement(cal: Calibration, kind: str, generation: str | None = None) -> str:
    """How a generation's share of ``kind`` (``compute`` or ``bandwidth``) was set, and its spread, in words.

    The share is the median of the fitted rows of that kind on ``generation`` (of every
    generation where it has too few of its own); the spread (:meth:`Calibration.range`) runs
    over the same rows and those held out beside them.
    """
    check_choice("kind", kind, ("compute", "bandwidth"))
    step = {"compute": "prefill", "bandwidth": "decode"}[kind]
    mine = generation is not None and kind in cal.own.get(generation, ())
    rows = [r for r in cal.rows if r["informs"] == kind and (not mine or r["generation"] == generation)]
    fitted = sum(r["status"] == "fitted" for r in rows)
    held = sum(r["status"] == "held out" and r["implied_share"] is not None and 0 < r["implied_share"] <= 1
               for r in rows)
    lo, hi = cal.range(generation)
    where = f"on {generation} GPUs" if mine else "on every GPU generation"
    return (f"the median of the {fitted} fitted {step} rows {where}"
            + (f"; with the {counted(held, 'held-out row')} beside them they spread" if held else
               "; they spread")
            + f" from {getattr(lo, f'{kind}_share'):.0%} to {getattr(hi, f'{kind}_share'):.0%}")


def efficiency_rows(cal: Calibration) -> list[dict]:
    """One row per GPU generation: the fitted shares, their spread, and whether each is the generation's own fit."""
    rows = []
    for g in sorted(cal.by_generation):
        eff, (lo, hi) = cal.efficiency(g), cal.range(g)
        own = cal.own.get(g, ())
        rows.append({"generation": g, "bandwidth_share": eff.bandwidth_share, "bandwidth_low_share": lo.bandwidth_share,
                     "bandwidth_high_share": hi.bandwidth_share, "compute_share": eff.compute_share,
                     "compute_low_share": lo.compute_share, "compute_high_share": hi.compute_share,
                     "fitted on": ", ".join(own) + " of its own" if own else "every generation"})
    return rows


def capacity_statement(caps: Sequence[DtypeCapacity], gpu: str, model: str, slo_ttft_ms: float,
                       slo_tpot_ms: float) -> str:
    """The headline figure in one bold sentence: the most one GPU serves within the target."""
    best = best_of(caps)
    where = f" at {best.weight_dtype}" if best is not None else ""
    return (f"**One {gpu} serving {model}: at most {best_capacity_tok_per_day(caps) / 1e6:,.1f}M tokens/day{where} "
            f"within TTFT <= {slo_ttft_ms:,.0f} ms and TPOT <= {slo_tpot_ms:,.0f} ms.**")
