"""Drive a server with vLLM's own benchmark client and record each run (I/O).

:func:`run_one` calls ``vllm.benchmarks.serve.main(args)`` (the parser comes from
``vllm.benchmarks.serve.add_cli_args``; the ``vllm`` console script is broken in the CPU
build) while a thread scrapes the server's ``/metrics``; it then writes one run record
(:mod:`selfhost.data.runs`), marked ``failed`` with the error (and the engine log's tail) when
the client raised, requests failed or a launched engine died mid-run.

:func:`record_cpu_runs` is ``make live`` on this machine: a server with prefix caching on,
then one with it off, each running its share of :class:`selfhost.workloads.Plan`.
:func:`record_attached_runs` is ``make live URL=...``: the same workloads against a
reader's running server.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from selfhost.data import runs
from selfhost.live import engine as eng
from selfhost.live import metrics as met
from selfhost.workloads import SCALED_NOTE, Plan, RunSpec

CLIENT_TOOL = "vllm.benchmarks.serve"
#: Keys of the client's result kept in a record (scalars; per-request lists are dropped).
_DROP = {"date", "endpoint_type", "label", "tokenizer_id", "model_id", "backend", "request_rate",
         "burstiness", "max_concurrency", "num_prompts"}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scraper(threading.Thread):
    """Scrape ``<base_url>/metrics`` every ``period_s`` until stopped."""

    def __init__(self, base_url: str, period_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.url, self.period_s = f"{base_url}/metrics", period_s
        self.scrapes: list[dict[str, float]] = []
        self.error: str | None = None
        self._stop_event = threading.Event()

    def scrape(self) -> dict[str, float] | None:
        try:
            status, body = eng.http_get(self.url, 5.0)
            if status != 200:
                raise met.MetricsError(f"HTTP {status}")
            sample = met.parse_metrics(body)
        except (OSError, ValueError, met.MetricsError) as exc:
            self.error = f"{self.url}: {exc}"
            return None
        self.scrapes.append(sample)
        return sample

    def run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            self.scrape()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        self.scrape()  # the final scrape, after the run


def _client() -> Any:
    """``vllm.benchmarks.serve``, imported with third-party deprecation warnings silenced
    (torch and vLLM emit some on import; they are not ours to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import vllm.benchmarks.serve as serve
    return serve


def client_parser() -> argparse.ArgumentParser:
    add_cli_args = _client().add_cli_args

    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser

        parser: argparse.ArgumentParser = FlexibleArgumentParser(prog=CLIENT_TOOL)
    except ImportError:  # older vLLM
        parser = argparse.ArgumentParser(prog=CLIENT_TOOL)
    add_cli_args(parser)
    return parser


def client_argv(info: eng.ServerInfo, spec: RunSpec, tokenizer: str | None) -> list[str]:
    backend = "vllm" if info.engine == "vllm" else "openai"
    argv = ["--backend", backend, "--base-url", info.base_url, "--endpoint", "/v1/completions",
            "--model", info.model_id, "--ready-check-timeout-sec", "0", *spec.client_args()]
    if tokenizer:
        argv += ["--tokenizer", tokenizer]
    return argv


def _scalars(result: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in result.items():
        if k in _DROP or isinstance(v, (list, dict)):
            continue
        if isinstance(v, float) and v != v:  # NaN (no sample) -> null
            v = None
        out[k] = v
    return out


def run_one(
    info: eng.ServerInfo,
    spec: RunSpec,
    runs_dir: Path,
    *,
    session_id: str,
    hardware: dict[str, Any],
    model: dict[str, Any],
    tokenizer: str | None = None,
    server: eng.VllmServer | None = None,
    scrape_period_s: float = 1.0,
) -> tuple[Path, dict[str, Any]]:
    """Run the client once against ``info``, scrape metrics, and write the record.

    Returns the record's path and the record. The record is written whatever happens
    (status ``failed`` with the error); only a record that cannot be written raises.
    """
    client_main = _client().main
    argv = client_argv(info, spec, tokenizer)
    started = now_utc()
    scraper = Scraper(info.base_url, scrape_period_s)
    before = scraper.scrape() or {}
    scraper.start()
    result: dict[str, Any] = {}
    error: str | None = None
    log = io.StringIO()
    try:
        args = client_parser().parse_args(argv)
        with contextlib.redirect_stdout(log), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = client_main(args) or {}
        client_warnings = sorted({str(w.message) for w in caught if "All requests failed" in str(w.message)})
        if client_warnings:
            error = "benchmark client: " + "; ".join(client_warnings)
    except Exception as exc:
        error = f"benchmark client raised {type(exc).__name__}: {exc}"
    except SystemExit as exc:  # argparse refuses bad client arguments this way
        error = f"benchmark client refused its arguments (exit {exc.code}): {' '.join(argv)}"
    finally:
        scraper.stop()
    ended = now_utc()
    after = scraper.scrapes[-1] if scraper.scrapes else {}
    try:
        deltas = met.counter_deltas(before, after)
    except met.MetricsError as exc:
        deltas, error = {}, error or str(exc)
    if server is not None and not server.alive():
        error = (error + "; " if error else "") + (
            f"the engine died during the run (exit code {server.proc.returncode if server.proc else '?'}); "
            f"its last log lines:\n{server.log_tail()}")
    summary = _scalars(result)
    if error is None and summary.get("failed"):
        error = f"{summary['failed']} of {summary['failed'] + summary.get('completed', 0)} requests failed"
    if error is None and not summary.get("completed"):
        error = "no request completed"
    record: dict[str, Any] = {
        "schema_version": runs.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "session_id": session_id,
        "status": "failed" if error else "ok",
        "error": error,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "engine": {"name": info.engine, "version": info.engine_version, "launched": info.launched,
                   "base_url": info.base_url, "prefix_caching": info.prefix_caching, "args": info.args,
                   "startup_s": info.startup_s},
        "hardware": {**hardware, "load_avg_1m": _load_avg()},
        "model": model,
        "workload": {"name": spec.workload, "variant": spec.variant, "rep": spec.rep, "params": spec.describe(),
                     "scaled_note": SCALED_NOTE if info.launched else "as given on the command line"},
        "client": {"tool": f"{CLIENT_TOOL} ({eng.vllm_version()})", "args": argv},
        "results": summary,
        "metrics": {"deltas": deltas, "gauge_maxima": met.gauge_maxima(scraper.scrapes),
                    "scrapes_count": len(scraper.scrapes) + (1 if before else 0), "error": scraper.error},
    }
    return runs.write_record(runs_dir, record), record


def _load_avg() -> float | None:
    """The machine's 1-minute load average when the run ended (other work shares the cores)."""
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _hardware(description: str | None) -> dict[str, Any]:
    hw = eng.hardware_here()
    if description:
        hw = {**hw, "kind": "gpu" if "gpu" in description.lower() or any(
            g in description for g in ("H100", "H200", "A100", "L4", "A10", "B200", "MI3")) else hw["kind"]}
        hw["description"] = description
    else:
        hw["description"] = (f"{hw['cpu_model']}, {hw['cpu_cores']} cores" if hw["kind"] == "cpu"
                             else ", ".join(hw["gpus"]))
    return hw


def run_specs(
    info: eng.ServerInfo,
    specs: Iterable[RunSpec],
    runs_dir: Path,
    *,
    hardware: dict[str, Any],
    model: dict[str, Any],
    tokenizer: str | None,
    server: eng.VllmServer | None = None,
    progress: Callable[[str], None] = print,
    session_id: str | None = None,
) -> list[Path]:
    """Run ``specs`` in order against one server (one session); stop after a dead engine."""
    session_id = session_id or uuid.uuid4().hex[:12]
    written = []
    for spec in specs:
        t0 = time.monotonic()
        path, record = run_one(info, spec, runs_dir, session_id=session_id, hardware=hardware, model=model,
                               tokenizer=tokenizer, server=server)
        written.append(path)
        res = record["results"]
        progress(f"  {spec.workload:<11} {spec.variant:<16} rep {spec.rep}: {record['status']:<6} "
                 f"{res.get('duration', float('nan')):6.2f} s, {res.get('output_throughput', 0):7.0f} out tok/s "
                 f"({time.monotonic() - t0:.0f} s) -> {path.name}")
        if server is not None and not server.alive():
            raise eng.EngineError(f"the engine died; the partial run is recorded as failed in {path}")
    return written


def _model_record(model_dir: Path, name: str) -> dict[str, Any]:
    return {"name": name, "weights": "dummy (random; --load-format dummy)",
            "config": json.loads((model_dir / "config.json").read_text())}


def pair_key(spec: RunSpec) -> tuple:
    """What a caching-on run and its caching-off twin share: same prompts, same repetition."""
    return (spec.workload, spec.rep, spec.seed, spec.variant if spec.workload == "long_prompt" else "")


def interleave(on: list[RunSpec], off: list[RunSpec]) -> list[RunSpec]:
    """Caching-on runs in order, each followed at once by its caching-off twin (if any).

    Running the two variants back to back, rather than one server's whole plan after the
    other's, means a slow drift in the machine (other load, thermal state) touches both
    sides of each pair alike, so it cancels in the speedup.

    >>> from selfhost.workloads import Plan
    >>> p = Plan(reps=1, prefix_configs=((1024, 0.5),), long_prompt_lens=(8000,), long_prompt_lens_no_caching=(8000,))
    >>> [(s.workload, s.variant) for s in interleave(p.prefix(True), p.prefix(False))]
    [('prefix', 'caching-on'), ('prefix', 'caching-off')]
    """
    twins = {pair_key(s): s for s in off}
    order: list[RunSpec] = []
    for spec in on:
        order.append(spec)
        twin = twins.pop(pair_key(spec), None)
        if twin is not None:
            order.append(twin)
    return order + [s for s in off if pair_key(s) in twins]


def record_cpu_runs(
    runs_dir: Path,
    plan: Plan | None = None,
    *,
    port: int | None = None,
    workloads: tuple[str, ...] = runs.WORKLOADS,
    kv_cache_space_gib: float = 1.0,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """``make live`` here: two vLLM (CPU) servers, prefix caching on and off, runs interleaved.

    Both servers stay up for the whole session; each caching-on run is followed by its
    caching-off twin (:func:`interleave`), so that the on/off speedups compare runs made
    under the same machine conditions.
    """
    plan = plan or Plan()
    model_dir = eng.prepare_model()
    model = _model_record(model_dir, eng.SERVED_NAME_DEFAULT)
    hardware = _hardware(None)
    max_len = max(eng.DEFAULT_MAX_MODEL_LEN, plan.max_prompt_len + 64)
    specs: dict[bool, list[RunSpec]] = {True: [], False: []}
    for caching in (True, False):
        if caching and "throughput" in workloads:
            specs[caching] += plan.throughput()
        if "prefix" in workloads:
            specs[caching] += plan.prefix(caching)
        if "long_prompt" in workloads:
            specs[caching] += plan.long_prompt(caching)
    needed = [c for c in (True, False) if specs[c]]
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        servers: dict[bool, tuple[eng.VllmServer, eng.ServerInfo]] = {}
        for caching in needed:
            chosen = port + len(servers) if port else eng.free_port(eng.PORT_RANGE.start + 10 * len(servers))
            server = eng.VllmServer(model_dir, chosen, prefix_caching=caching,
                                    kv_cache_space_gib=kv_cache_space_gib, max_model_len=max_len)
            info = stack.enter_context(server)
            servers[caching] = (server, info)
            progress(f"vLLM {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s "
                     f"(prefix caching {'on' if caching else 'off'})")
        sessions = {caching: uuid.uuid4().hex[:12] for caching in servers}
        for spec in interleave(specs[True], specs[False]):
            caching = bool(spec.prefix_caching) if spec.prefix_caching is not None else True
            server, info = servers[caching]
            written += run_specs(info, [spec], runs_dir, hardware=hardware, model=model, tokenizer=str(model_dir),
                                 server=server, progress=progress, session_id=sessions[caching])
    return written


def record_attached_runs(
    url: str,
    engine_name: str,
    runs_dir: Path,
    plan: Plan,
    *,
    model: str | None = None,
    tokenizer: str | None = None,
    hardware: str | None = None,
    prefix_caching: bool | None = None,
    workloads: tuple[str, ...] = runs.WORKLOADS,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """``make live URL=...``: the workloads against a running OpenAI-compatible server.

    The server's prefix-caching setting is the reader's to state (``prefix_caching``);
    the prefix runs are labelled ``caching-on`` or ``caching-off`` accordingly.
    """
    info = eng.attach(url, engine_name, model)
    info.prefix_caching = prefix_caching
    progress(f"attached to {engine_name} {info.engine_version} at {info.base_url}, model {info.model_id}")
    caching = True if prefix_caching is None else prefix_caching
    specs: list[RunSpec] = []
    if "throughput" in workloads:
        specs += plan.throughput()
    if "prefix" in workloads:
        specs += plan.prefix(caching)
    if "long_prompt" in workloads:
        specs += plan.long_prompt(caching)
    model_rec = {"name": info.model_id, "weights": "as served", "config": None}
    return run_specs(info, specs, runs_dir, hardware=_hardware(hardware), model=model_rec,
                     tokenizer=tokenizer or info.model_id, progress=progress)
