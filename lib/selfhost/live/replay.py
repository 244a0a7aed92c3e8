"""Replay a slice of a real trace against vLLM with its own arrival times, and record it (I/O).

vLLM's own benchmark client replays timed traces: ``vllm.benchmarks.serve`` with
``--dataset-name timed_trace`` reads Mooncake-format JSON lines (``timestamp``,
``input_length``, ``output_length``, ``hash_ids``), builds each prompt from one seeded
random token block per hash id (``--timed-trace-chunk-hash-size`` tokens each, so two prompts
with the same leading ids share those tokens exactly), sends each request at its own
timestamp and forces the trace's output length. With ``--no-self-timed --request-rate R``
the same prompts arrive as a Poisson process of rate R instead. So this module writes no
client of its own: it cuts and scales the slice (:func:`selfhost.traffic.scale_requests`),
writes it in that format, and runs the client twice on one server: once at the trace's
arrival times, once as a Poisson process of the same mean rate, each pair in turn.

Scaling: each 512-token Mooncake block becomes one 128-token block (vLLM's CPU build's
block size), so lengths shrink 4x and the prefix structure is kept block for block; long
prompts are cut at a block boundary, outputs scaled and cut, and arrivals stretched in time
so the CPU engine can keep up on average. The engine's KV cache is bounded
(``--num-gpu-blocks-override``) so the bounded-cache prediction is tested, not only the
unlimited one. Each run's ids are offset, so the second run cannot reuse the first's blocks.

A record is a run record (:mod:`selfhost.data.runs`) of workload ``replay`` (variants
``trace-timed`` and ``poisson``) in ``data/runs/replay/``, with the slice's figures in
``workload.params``: its mean rate and peak-to-mean, and the prefix-cache hit share the
trace predicts at the engine's cache size and block size; the engine's measured hit rate
is ``metrics.deltas`` ``vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from selfhost import stats, traffic
from selfhost.data import runs
from selfhost.data.tables import sha256_of
from selfhost.data.traces import read_slice
from selfhost.data.traffic import DEFAULT_TRACES, REPLAY_WORKLOAD, load_manifest, write_replay_record
from selfhost.errors import DataError
from selfhost.live import engine as eng
from selfhost.live import harness
from selfhost.live import metrics as met
from selfhost.paths import BUILD

SLICES_DIR = BUILD / "replay"
#: Ids of the second run start this far above the first's (no block shared between runs).
ID_OFFSET_STEP = 1 << 40
CLIENT_PERCENTILES = ["--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99"]
#: What a replay's scaled note says.
SCALED_NOTE = ("a slice of a production trace scaled to a CPU engine: each 512-token block became one 128-token "
               "block (lengths / 4), long prompts cut at a block boundary, outputs scaled and cut, arrivals "
               "stretched in time; a 2-layer Llama with random weights on vLLM's CPU build")


@dataclass(frozen=True)
class ReplayPlan:
    """What to replay and how to scale it.

    ``start_s`` and ``duration_s`` pick the slice in the trace's own time [s];
    ``time_stretch_x`` stretches its arrivals; ``max_input_tok`` and ``max_output_tok`` cut
    lengths after the 4x block scaling; ``cache_blocks`` bounds the engine's KV cache
    [blocks of ``block_tok``]; ``reps`` pairs of runs (trace-timed, then Poisson).
    """

    trace: str = "mooncake-conversation"
    start_s: float = 600.0
    duration_s: float = 60.0
    time_stretch_x: float = 4.0
    max_input_tok: int = 4096
    max_output_tok: int = 64
    cache_blocks: int = 1024
    block_tok: int = traffic.VLLM_CPU_BLOCK_TOK
    rate_window_s: int = 10
    reps: int = 2
    seed: int = 0

    @property
    def cache_tok(self) -> int:
        """The engine's KV cache [tok]."""
        return self.cache_blocks * self.block_tok


#: ``--quick``: one pair of runs over 15 s of trace (the live test's size; about 3 minutes with start-up).
QUICK_PLAN = ReplayPlan(duration_s=15.0, time_stretch_x=2.0, max_input_tok=2048, max_output_tok=16,
                        cache_blocks=512, reps=1)


def trace_path(trace: str, traces_dir: Path | None = None) -> tuple[Path, str]:
    """The file of a committed summary's trace (by name), or ``trace`` itself as a path; and its name."""
    if Path(trace).suffix in (".jsonl", ".csv"):
        return Path(trace), Path(trace).stem
    manifest = load_manifest(trace)
    return (traces_dir or DEFAULT_TRACES) / manifest["trace_file"], trace


def slice_requests(plan: ReplayPlan, traces_dir: Path | None = None, id_offset: int = 0) -> tuple[
        list[traffic.TraceRequest], str]:
    """The plan's slice, scaled; and the trace's name."""
    path, name = trace_path(plan.trace, traces_dir)
    raw = read_slice(path, start_s=plan.start_s, duration_s=plan.duration_s)
    scaled = traffic.scale_requests(raw, time_stretch_x=plan.time_stretch_x, block_tok_to=plan.block_tok,
                                    max_input_tok=plan.max_input_tok, max_output_tok=plan.max_output_tok,
                                    id_offset=id_offset)
    return scaled, name


def slice_figures(requests: Sequence[traffic.TraceRequest], plan: ReplayPlan) -> dict[str, Any]:
    """The scaled slice's figures: requests, mean rate, peak-to-mean, predicted hit shares."""
    acc = traffic.TrafficAccumulator()
    acc.add([r.arrival_s for r in requests], [r.input_tok for r in requests], [r.output_tok for r in requests])
    span_s = plan.duration_s * plan.time_stretch_x
    counts = traffic.window_counts(acc.per_second("requests"), plan.rate_window_s)
    return {
        "requests_count": len(requests),
        "input_tok": acc.input_tok,
        "output_tok": acc.output_tok,
        "mean_req_per_s": len(requests) / span_s,
        "peak_to_mean_x": traffic.peak_to_mean(counts),
        "rate_window_s": plan.rate_window_s,
        "requests_per_window": [int(c) for c in counts],
        "engine_cache_tok": plan.cache_tok,
        "predicted_hit_share": traffic.predicted_hit_share(requests, plan.block_tok, plan.cache_tok),
        "predicted_hit_share_unlimited": traffic.predicted_hit_share(requests, plan.block_tok),
    }


def write_slice(requests: Sequence[traffic.TraceRequest], path: Path) -> str:
    """Write the slice in Mooncake's format (``timestamp`` in ms) for the client; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps({"timestamp": round(r.arrival_s * 1000, 3), "input_length": r.input_tok,
                               "output_length": r.output_tok, "hash_ids": list(r.hash_ids)}) + "\n"
                   for r in requests)
    path.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def client_argv(info: eng.ServerInfo, slice_path: Path, requests_count: int, plan: ReplayPlan, variant: str,
                mean_req_per_s: float, tokenizer: str | None) -> list[str]:
    """``vllm.benchmarks.serve`` arguments of one replay run."""
    argv = ["--backend", "vllm" if info.engine == "vllm" else "openai", "--base-url", info.base_url,
            "--endpoint", "/v1/completions", "--model", info.model_id, "--ready-check-timeout-sec", "0",
            "--dataset-name", "timed_trace", "--dataset-path", str(slice_path),
            "--timed-trace-chunk-hash-size", str(plan.block_tok), "--timed-trace-sec-multiplier", "0.001",
            "--num-prompts", str(requests_count), "--seed", str(plan.seed), "--temperature", "0",
            *CLIENT_PERCENTILES, "--disable-tqdm"]
    if variant == "poisson":
        argv += ["--no-self-timed", "--request-rate", f"{mean_req_per_s:.6g}", "--burstiness", "1"]
    if tokenizer:
        argv += ["--tokenizer", tokenizer]
    return argv


def _scalars(result: dict[str, Any]) -> dict[str, Any]:
    drop = {"date", "endpoint_type", "label", "tokenizer_id", "model_id", "backend", "request_rate", "burstiness",
            "max_concurrency", "num_prompts"}
    out = {}
    for k, v in result.items():
        if k in drop or isinstance(v, (list, dict)):
            continue
        out[k] = None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v
    return out


def ttft_by_window(result: dict[str, Any], arrivals_s: Sequence[float], window_s: int) -> list[float | None]:
    """Mean TTFT [ms] of the requests arriving in each window of the slice (None for an empty window)."""
    ttfts = result.get("ttfts") or []
    if len(ttfts) != len(arrivals_s):
        return []
    bins: dict[int, list[float]] = {}
    for t, ttft in zip(arrivals_s, ttfts):
        if ttft and ttft > 0:
            bins.setdefault(int(t // window_s), []).append(ttft * 1000)
    last = int(max(arrivals_s) // window_s) if arrivals_s else -1
    return [round(sum(bins[i]) / len(bins[i]), 3) if i in bins else None for i in range(last + 1)]


def run_once(info: eng.ServerInfo, plan: ReplayPlan, variant: str, rep: int, runs_dir: Path, *, session_id: str,
             hardware: dict[str, Any], model: dict[str, Any], tokenizer: str | None,
             server: eng.VllmServer | None, traces_dir: Path | None, id_offset: int) -> tuple[Path, dict[str, Any]]:
    """One replay run (trace-timed or Poisson), scraped and recorded; a failure is recorded as failed."""
    requests, name = slice_requests(plan, traces_dir, id_offset)
    figures = slice_figures(requests, plan)
    slice_path = SLICES_DIR / f"{name}-{variant}-{rep}-{uuid.uuid4().hex[:8]}.jsonl"
    slice_sha = write_slice(requests, slice_path)
    path, trace_name = trace_path(plan.trace, traces_dir)
    trace_sha = sha256_of(path)
    argv = client_argv(info, slice_path, len(requests), plan, variant, figures["mean_req_per_s"], tokenizer)
    load_before = _load_avg()
    busy_share = harness.cpu_busy_share(exclude_pgids=[server.proc.pid] if server and server.proc else ())
    started = harness.now_utc()
    scraper = harness.Scraper(info.base_url, 1.0)
    before = scraper.scrape() or {}
    scraper.start()
    result: dict[str, Any] = {}
    error: str | None = None
    log = io.StringIO()
    try:
        args = harness.client_parser().parse_args(argv)
        with contextlib.redirect_stdout(log), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _client_main(args) or {}
    except Exception as exc:
        error = f"benchmark client raised {type(exc).__name__}: {exc}"
    except SystemExit as exc:
        error = f"benchmark client refused its arguments (exit {exc.code}): {' '.join(argv)}"
    finally:
        scraper.stop()
    ended = harness.now_utc()
    after = scraper.scrapes[-1] if scraper.scrapes else {}
    try:
        deltas = met.counter_deltas(before, after)
    except met.MetricsError as exc:
        deltas, error = {}, error or str(exc)
    if server is not None and not server.alive():
        error = (error + "; " if error else "") + f"the engine died during the run; its last log lines:\n" \
            f"{server.log_tail()}"
    summary = _scalars(result)
    if error is None and summary.get("failed"):
        error = f"{summary['failed']} of {summary['failed'] + summary.get('completed', 0)} requests failed"
    if error is None and not summary.get("completed"):
        error = "no request completed"
    queries = deltas.get("vllm:prefix_cache_queries_total", 0.0)
    params = {
        "trace": trace_name, "trace_sha256": trace_sha, "slice_start_s": plan.start_s,
        "slice_duration_s": plan.duration_s, "time_stretch_x": plan.time_stretch_x, "block_tok": plan.block_tok,
        "length_scale_x": plan.block_tok / traffic.MOONCAKE_BLOCK_TOK, "max_input_tok": plan.max_input_tok,
        "max_output_tok": plan.max_output_tok, "slice_sha256": slice_sha, "id_offset": id_offset,
        "measured_hit_share": (deltas.get("vllm:prefix_cache_hits_total", 0.0) / queries) if queries else None,
        "ttft_mean_ms_by_window": ttft_by_window(result, [r.arrival_s for r in requests], plan.rate_window_s)
        if variant == "trace-timed" else [],
        **figures,
    }
    failure = None
    if error:
        failure = ("engine-died" if "engine died" in error else "no-completions" if error == "no request completed"
                   else "requests-failed" if "requests failed" in error else "client-error")
    record: dict[str, Any] = {
        "schema_version": runs.SCHEMA_VERSION, "run_id": uuid.uuid4().hex, "session_id": session_id,
        "recording_id": session_id, "status": "failed" if error else "ok", "error": error, "failure": failure,
        "started_at": started.isoformat(), "ended_at": ended.isoformat(),
        "engine": {"name": info.engine, "version": info.engine_version, "launched": info.launched,
                   "base_url": info.base_url, "prefix_caching": info.prefix_caching, "args": info.args,
                   "startup_s": info.startup_s},
        "hardware": {**hardware, "load_avg_1m": _load_avg()},
        "model": model,
        "workload": {"name": REPLAY_WORKLOAD, "variant": variant, "rep": rep, "params": params,
                     "scaled_note": SCALED_NOTE if info.launched else "as given on the command line"},
        "client": {"tool": f"{harness.CLIENT_TOOL} ({eng.vllm_version()}), dataset timed_trace", "args": argv},
        "results": summary,
        "requests": harness.per_request(result) if result else [],
        # the pair alternates trace-timed and Poisson after the server's start-up; no separate warm-up run
        "protocol": {"warmed_up": False, "load_avg_1m_before": load_before, "cpu_busy_share_before": busy_share,
                     "busy": busy_share is not None and busy_share > stats.PROTOCOL.max_busy_share, "order": 0 if variant == "trace-timed" else 1, "timeout_s": None},
        "environment": harness.environment(),
        "metrics": {"deltas": deltas, "gauge_maxima": met.gauge_maxima(scraper.scrapes),
                    "scrapes_count": len(scraper.scrapes) + (1 if before else 0), "error": scraper.error},
    }
    return write_replay_record(runs_dir, record), record


def _client_main(args: Any) -> dict[str, Any] | None:
    """``vllm.benchmarks.serve.main``, imported with third-party warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import vllm.benchmarks.serve as serve
    return serve.main(args)


def hardware_here() -> dict[str, Any]:
    """This machine, as run records describe it."""
    hw = eng.hardware_here()
    return {**hw, "description": f"{hw['cpu_model']}, {hw['cpu_cores']} cores" if hw["kind"] == "cpu"
            else ", ".join(hw["gpus"])}


def _load_avg() -> float | None:
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def record_replay(
    runs_dir: Path | None = None,
    plan: ReplayPlan | None = None,
    *,
    url: str | None = None,
    engine_name: str = "vllm",
    traces_dir: Path | None = None,
    port: int | None = None,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """Launch vLLM's CPU server (or attach to ``url``) and record ``plan.reps`` pairs of replays.

    Each pair is the slice at its own arrival times, then the same requests as a Poisson
    process of the same mean rate; every run gets fresh block ids.
    """
    from selfhost.paths import data_dir

    plan = plan or ReplayPlan()
    runs_dir = runs_dir or data_dir() / "runs"
    requests, _ = slice_requests(plan, traces_dir)
    if not requests:
        raise DataError(plan.trace, "an empty slice")
    max_len = max(plan.max_input_tok + plan.max_output_tok + 64, 4096)
    session_id = uuid.uuid4().hex[:12]
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        server: eng.VllmServer | None = None
        if url:
            info = eng.attach(url, engine_name)
            model = {"name": info.model_id, "weights": "as served", "config": None}
            tokenizer = info.model_id
            hardware = hardware_here()
        else:
            model_dir = eng.prepare_model()
            server = eng.VllmServer(model_dir, port or eng.free_port(eng.PORT_RANGE.start + 50), prefix_caching=True,
                                    kv_cache_space_gib=1, max_model_len=max_len,
                                    extra_args=["--num-gpu-blocks-override", str(plan.cache_blocks),
                                                "--block-size", str(plan.block_tok)])
            info = stack.enter_context(server)
            progress(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s "
                     f"(prefix caching on, KV cache {plan.cache_blocks} blocks of {plan.block_tok} tokens)")
            model = {"name": eng.SERVED_NAME_DEFAULT, "weights": "dummy (random; --load-format dummy)",
                     "config": json.loads((model_dir / "config.json").read_text())}
            tokenizer = str(model_dir)
            hardware = hardware_here()
        offset = 0
        for rep in range(plan.reps):
            for variant in ("trace-timed", "poisson"):
                t0 = time.monotonic()
                path, record = run_once(info, plan, variant, rep, runs_dir, session_id=session_id, hardware=hardware,
                                        model=model, tokenizer=tokenizer, server=server, traces_dir=traces_dir,
                                        id_offset=offset)
                offset += ID_OFFSET_STEP
                written.append(path)
                res, par = record["results"], record["workload"]["params"]
                hit = par["measured_hit_share"]
                progress(f"  replay {variant:<11} rep {rep}: {record['status']:<6} {res.get('duration') or 0:6.1f} s, "
                         f"TTFT mean {res.get('mean_ttft_ms') or float('nan'):7.1f} ms, p99 "
                         f"{res.get('p99_ttft_ms') or float('nan'):7.1f} ms; prefix hits {_pct(hit)} measured vs "
                         f"{_pct(par['predicted_hit_share'])} predicted ({time.monotonic() - t0:.0f} s) -> {path.name}")
                if server is not None and not server.alive():
                    raise eng.EngineError(f"the engine died; the partial run is recorded as failed in {path}")
    return written


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def plan_dict(plan: ReplayPlan) -> dict[str, Any]:
    """The plan as a plain dict (for the command's output)."""
    return {**asdict(plan), "cache_tok": plan.cache_tok}
