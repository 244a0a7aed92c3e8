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
blocks of 16 tokens are cached by the hash of the whole prefix before them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from selfhost.params import check_int, check_number
from selfhost.verdicts import CONDITIONAL, FAILS, HOLDS, UNTESTABLE, Verdict

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


def cacheable_share(shared_share: float, num_requests: int, block_tokens: int = 16, prompt_len: int | None = None) -> float:
    """Share of all prompt tokens a perfect prefix cache can serve [1].

    ``num_requests`` prompts each begin with the same prefix (``shared_share`` of the
    prompt); the first must compute it, the others can reuse it. vLLM caches whole
    blocks only, so when ``prompt_len`` is given the prefix is rounded down to a
    multiple of ``block_tokens``.

    >>> round(cacheable_share(0.9, 10), 6)
    0.81
    >>> cacheable_share(0.5, 1)
    0.0
    >>> round(cacheable_share(0.5, 2, prompt_len=100), 3)  # 50 tokens -> 48 cached
    0.24
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


def runs_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run record: labels, workload sizes, the client's results, cache hits."""
    rows = []
    for r in records:
        w, e, res, params = r["workload"], r["engine"], r["results"], r["workload"]["params"]
        deltas = r["metrics"]["deltas"]
        row = {
            "run_id": r["run_id"], "session_id": r["session_id"], "status": r["status"], "started_at": r["started_at"],
            "engine": e["name"], "engine_version": e["version"], "launched": e["launched"],
            "prefix_caching": e.get("prefix_caching"), "hardware_kind": r["hardware"]["kind"],
            "hardware": r["hardware"]["description"], "load_avg_1m": r["hardware"].get("load_avg_1m"),
            "workload": w["name"], "variant": w["variant"], "rep": w.get("rep", 0),
            "config": params.get("config", ""), "prompt_len": params.get("prompt_len"),
            "prefix_len": params.get("prefix_len", 0), "shared_share": params.get("shared_share", 0.0),
            "num_prompts": params.get("num_prompts"), "concurrency": params.get("max_concurrency"),
            "output_len": params.get("output_len"),
            "prefix_hits_tok": deltas.get("vllm:prefix_cache_hits_total"),
            "prefix_queries_tok": deltas.get("vllm:prefix_cache_queries_total"),
            "hit_share": prefix_cache_hit_share(deltas),
            "server_prompt_tok": deltas.get("vllm:prompt_tokens_total"),
            "server_generation_tok": deltas.get("vllm:generation_tokens_total"),
            "startup_s": e.get("startup_s"),
            "prefill_time_share": _share(deltas.get("vllm:request_prefill_time_seconds_sum"),
                                         deltas.get("vllm:request_inference_time_seconds_sum")),
        }
        for key, col in RESULT_COLUMNS.items():
            row[col] = res.get(key)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("started_at").reset_index(drop=True)
    return frame


def _share(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def ok_runs(frame: pd.DataFrame, workload: str, engine: str | None = None) -> pd.DataFrame:
    """The successful runs of one workload (and engine)."""
    if frame.empty:
        return frame
    sel = (frame["workload"] == workload) & (frame["status"] == "ok")
    if engine is not None:
        sel &= frame["engine"] == engine
    return frame[sel]


def throughput_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Throughput and latency against concurrency, per engine and hardware, over repetitions."""
    runs = ok_runs(frame, "throughput")
    if runs.empty:
        return pd.DataFrame()
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


def paired_speedups(frame: pd.DataFrame, workload: str, slow: str, fast: str, keys: Sequence[str]) -> pd.DataFrame:
    """Speedup ``duration(slow) / duration(fast)`` of runs paired on ``keys`` + repetition.

    Runs are paired within the same engine and hardware; a pair needs both runs ok.
    """
    runs = ok_runs(frame, workload)
    if runs.empty:
        return pd.DataFrame()
    on = [*keys, "rep", "engine", "hardware"]
    a = runs[runs["variant"] == slow].drop_duplicates(on, keep="last")
    b = runs[runs["variant"] == fast].drop_duplicates(on, keep="last")
    pairs = a.merge(b, on=on, suffixes=("_slow", "_fast"))
    if pairs.empty:
        return pd.DataFrame()
    pairs["speedup_x"] = pairs["duration_s_slow"] / pairs["duration_s_fast"]
    pairs["ttft_speedup_x"] = pairs["median_ttft_ms_slow"] / pairs["median_ttft_ms_fast"]
    return pairs


def prefix_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix caching on against off, per configuration: speedup spread, hit share, bounds.

    Columns: ``prompt_len``, ``shared_share``, ``reps``, ``speedup_x`` (mean),
    ``speedup_x_low``/``_high`` (range over repetitions), ``unique_over_shared_x``
    (unique prompts against shared ones, both with caching on), ``hit_share`` (server's
    prefix-cache hits / queries on the caching-on runs), ``bound_x`` (Amdahl bound for
    a perfect cache and all time in prefill), ``bound_measured_hits_x`` (the same with
    the measured hit share)). The bounds assume
    every second of the run is prefill; decode steps and per-step overhead make the
    real speedup smaller.
    """
    keys = ["config", "prompt_len", "shared_share", "num_prompts"]
    on_off = paired_speedups(frame, "prefix", "caching-off", "caching-on", keys)
    if on_off.empty:
        return pd.DataFrame()
    unique = paired_speedups(frame, "prefix", "unique", "caching-on", ["config", "num_prompts"])
    out = []
    for (engine, hardware, config, prompt_len, share, n), g in on_off.groupby(
            ["engine", "hardware", "config", "prompt_len", "shared_share", "num_prompts"]):
        sp = Spread.of(g["speedup_x"])
        hits = Spread.of(g["hit_share_fast"])
        u = unique[unique["config"] == config] if not unique.empty else unique
        us = Spread.of(u["speedup_x"]) if not u.empty else Spread.of([])
        out.append({
            "engine": engine, "hardware": hardware, "config": config, "prompt_len": int(prompt_len),
            "shared_share": float(share), "num_prompts": int(n), "reps": sp.count,
            "speedup_x": sp.mean, "speedup_x_low": sp.low, "speedup_x_high": sp.high,
            "ttft_speedup_x": Spread.of(g["ttft_speedup_x"]).mean,
            "unique_over_shared_x": us.mean, "hit_share": hits.mean,
            "bound_x": prefix_speedup_bound_x(float(share), int(n), prompt_len=int(prompt_len)),
            "bound_measured_hits_x": amdahl_speedup_x(min(hits.mean, 1.0)) if hits.count else math.nan,
        })
    return pd.DataFrame(out).sort_values(["prompt_len", "shared_share"]).reset_index(drop=True)


def long_prompt_table(frame: pd.DataFrame) -> pd.DataFrame:
    """First run against repeated run of the same long prompts, with caching on and off."""
    pairs = paired_speedups(frame, "long_prompt", "first", "repeat", ["prompt_len", "prefix_caching"])
    if pairs.empty:
        return pd.DataFrame()
    out = []
    for (engine, hardware, caching, n), g in pairs.groupby(["engine", "hardware", "prefix_caching", "prompt_len"]):
        sp = Spread.of(g["speedup_x"])
        out.append({
            "engine": engine, "hardware": hardware, "prefix_caching": bool(caching), "prompt_len": int(n),
            "reps": sp.count, "first_ttft_ms": Spread.of(g["median_ttft_ms_slow"]).mean,
            "repeat_ttft_ms": Spread.of(g["median_ttft_ms_fast"]).mean,
            "speedup_x": sp.mean, "speedup_x_low": sp.low, "speedup_x_high": sp.high,
            "ttft_speedup_x": Spread.of(g["ttft_speedup_x"]).mean,
            "repeat_hit_share": Spread.of(g["hit_share_fast"]).mean,
        })
    return pd.DataFrame(out).sort_values(["prefix_caching", "prompt_len"], ascending=[False, True]).reset_index(drop=True)


def server_drift_x(long_table: pd.DataFrame) -> float:
    """How much slower the server without prefix caching ran the same uncached work [x].

    Both servers run a first (cache-cold) pass over long prompts of a common length; the
    ratio of their median TTFTs (without caching / with caching) would be 1 on a quiet
    machine. Its distance from 1 is the drift between the two servers' runs (other load on
    the machine, a different launch), which the caching-on/off speedups carry too. NaN when
    no prompt length was run on both.
    """
    if long_table.empty:
        return math.nan
    on = long_table[long_table["prefix_caching"]].set_index(["engine", "hardware", "prompt_len"])["first_ttft_ms"]
    off = long_table[~long_table["prefix_caching"]].set_index(["engine", "hardware", "prompt_len"])["first_ttft_ms"]
    both = off.index.intersection(on.index)
    if both.empty:
        return math.nan
    return float((off[both] / on[both]).mean())


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
        rows.append({"publisher": publisher, "hardware": hardware, "model": model, "workload": workload,
                     "ratio_x": ratio, "kind": kind, "source": g["source"].iloc[0]})
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
    when there is one; otherwise the published setups do.
    """
    check_number("claim_x", claim_x, gt=0)
    check_number("tolerance_x", tolerance_x, ge=0)
    source = live if not live.empty else published
    if source.empty:
        return Verdict("C09", UNTESTABLE, "Neither a live comparison nor a published ratio is at hand.",
                       would_test="make live URL=... ENGINE=sglang and ENGINE=vllm on the same GPU and model")
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
        where_not = [f"{r.publisher} ({r.ratio_x:.2f}x)" if not math.isnan(r.ratio_x) else f"{r.publisher} ({r.kind})"
                     for r in source[~holds].itertuples()]
    else:
        where = [f"concurrency {r.concurrency} ({r.ratio_x:.2f}x)" for r in source[holds].itertuples()]
        where_not = [f"concurrency {r.concurrency} ({r.ratio_x:.2f}x)" for r in source[~holds].itertuples()]
    would = ("this book ran vLLM only (on CPU); the same workloads against vLLM and SGLang on one H100 "
             "(make live URL=... ENGINE=sglang, then ENGINE=vllm) would test it")
    if holds.all():
        return Verdict("C09", HOLDS, f"Every {label} setup shows SGLang at least {claim_x - tolerance_x:.2f}x vLLM.", figures)
    if holds.any():
        return Verdict("C09", CONDITIONAL,
                       f"The {label} ratios of SGLang over vLLM run from {ratios.min():.2f}x to {ratios.max():.2f}x: "
                       f"the 29% holds in {int(holds.sum())} of {len(all_ratios)} setups, not in "
                       + "; ".join(where_not) + ".", figures, conditions=tuple(where), would_test=would)
    return Verdict("C09", FAILS, f"No {label} setup shows SGLang {claim_x:.2f}x vLLM; the ratios run from "
                   f"{ratios.min():.2f}x to {ratios.max():.2f}x.", figures, would_test=would)


def c10_verdict(prefix: pd.DataFrame, claim_x: float = 6.4) -> Verdict:
    """C10: "RadixAttention gives 6.4x speedup on prefix-heavy workloads".

    Decided on the measured prefix-caching speedups (``prefix_table``): HOLDS when every
    prefix-heavy configuration reaches ``claim_x``, CONDITIONAL when some do (the
    conditions name them), FAILS when none does.
    """
    check_number("claim_x", claim_x, gt=1)
    if prefix.empty:
        return Verdict("C10", UNTESTABLE, "No prefix-caching runs are recorded.",
                       would_test="make live (records caching on/off runs on this CPU)")
    best = prefix.loc[prefix["speedup_x"].idxmax()]
    worst = prefix.loc[prefix["speedup_x"].idxmin()]
    reach = prefix[prefix["speedup_x_low"] >= claim_x]
    need = shared_share_for_speedup(claim_x)
    figures = {
        "max_speedup_x": float(best["speedup_x"]), "max_speedup_shared_share": float(best["shared_share"]),
        "max_speedup_prompt_tok": int(best["prompt_len"]), "min_speedup_x": float(worst["speedup_x"]),
        "min_speedup_shared_share": float(worst["shared_share"]), "share_needed_for_claim_share": need,
        "configs_count": int(len(prefix)), "configs_reaching_claim_count": int(len(reach)),
    }
    reason = (f"With prefix caching on against off, measured speedups run from {worst['speedup_x']:.1f}x "
              f"({worst['shared_share']:.0%} of a {int(worst['prompt_len'])}-token prompt shared) to "
              f"{best['speedup_x']:.1f}x ({best['shared_share']:.0%} of {int(best['prompt_len'])} tokens); "
              f"Amdahl's law allows {claim_x:g}x only when at least {need:.0%} of every prompt is shared")
    if len(reach) == len(prefix):
        return Verdict("C10", HOLDS, reason + ".", figures)
    if len(reach):
        conds = tuple(f"{r.shared_share:.0%} of a {r.prompt_len}-token prompt shared: {r.speedup_x:.1f}x "
                      f"(range {r.speedup_x_low:.1f}-{r.speedup_x_high:.1f}x)" for r in reach.itertuples())
        conds += (f"at least {need:.0%} of each prompt shared, prefill-dominated work (short outputs)",
                  "the paper's 6.4x is 'up to', against vLLM 0.2.5 without prefix caching, and includes "
                  "in-program parallelism and faster constrained decoding")
        return Verdict("C10", CONDITIONAL, reason + ".", figures, conditions=conds)
    return Verdict("C10", FAILS, reason + f"; no configuration reached {claim_x:g}x in all repetitions. The paper's "
                   "'up to 6.4x' adds in-program parallelism and faster constrained decoding to cache reuse, against "
                   "a vLLM that had no prefix cache.", figures)


def c11_verdict(tgi: pd.DataFrame, maintenance_since: dt.date | None, repeat_speedup_x: float,
                min_advantage_x: float = 1.5) -> Verdict:
    """C11: "TGI v3: best for long-prompt workloads".

    Parameters
    ----------
    tgi : DataFrame
        TGI's published long-scenario results, one row per setup and run, with columns
        ``hardware``, ``run`` and ``advantage_x`` (vLLM's time over TGI's).
    maintenance_since : date or None
        When TGI entered maintenance mode (None: maintained).
    repeat_speedup_x : float
        Measured here: a repeated long prompt against its first run, vLLM with prefix
        caching [x].
    min_advantage_x : float
        TGI's first-run advantage counts as "best" at or above this [x].
    """
    check_number("min_advantage_x", min_advantage_x, ge=1)
    first = tgi[tgi["run"] == "first"]
    second = tgi[tgi["run"] == "second"]
    figures: dict[str, float | str] = {
        "tgi_second_run_max_advantage_x": float(second["advantage_x"].max()),
        "tgi_first_run_max_advantage_x": float(first["advantage_x"].max()),
        "tgi_first_run_min_advantage_x": float(first["advantage_x"].min()),
        "vllm_repeat_speedup_x": float(repeat_speedup_x),
    }
    strong = first[first["advantage_x"] >= min_advantage_x]
    published = (f"TGI's 13x is a second-run figure (prompts already cached) on {second.loc[second['advantage_x'].idxmax(), 'hardware']}; "
                 f"on first runs its advantage is {first['advantage_x'].min():.1f}x-{first['advantage_x'].max():.1f}x, and "
                 f"vLLM's own prefix caching made a repeated long prompt {repeat_speedup_x:.0f}x faster here")
    if maintenance_since is not None:
        figures["maintenance_since"] = maintenance_since.isoformat()
        return Verdict("C11", FAILS, f"TGI has been in maintenance mode since {maintenance_since.isoformat()} and its "
                       f"maintainers recommend other engines; {published}.", figures)
    if len(strong):
        return Verdict("C11", CONDITIONAL, published + ".", figures,
                       conditions=tuple(f"first run on {r.hardware}: {r.advantage_x:.1f}x" for r in strong.itertuples()))
    return Verdict("C11", FAILS, published + ".", figures)
