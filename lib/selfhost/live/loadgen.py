"""A load generator that records what each client saw, with a timeout on every request (I/O).

vLLM's benchmark client waits up to 6 hours for an answer and reports percentiles only;
it cannot say which request timed out, which stream broke off, or when. This client sends
streamed completions (``/v1/completions``, ``stream: true``) on a Poisson schedule,
phase after phase, and keeps one :class:`Outcome` per request: when it was sent, when
its first token came, when it ended, how many tokens arrived, and how it ended
(:data:`selfhost.monitoring.OUTCOMES`):

- ``ok``: the stream ended with ``[DONE]``;
- ``partial``: the answer was a 200 but the stream broke off before ``[DONE]``;
- ``timeout``: no complete answer within ``request_timeout_s`` (tokens may have come);
- ``error_event``: the stream carried an error, or finished with reason ``error``/``abort``;
- ``http_error``: an answer other than 200 (its status is kept);
- ``reset``: the connection broke before any answer (the request was in flight);
- ``refused``: no connection at all (nothing listens).

A request that times out is cancelled: its connection is closed, as a user's browser
would, and the engine counts an abort. Prompts are token ids (exact lengths, no
tokenizer) for vLLM, or words for another engine.

:func:`run_load` runs the schedule in this thread's event loop and returns when every
request has ended, or at ``deadline_s`` (the rest are cancelled and recorded as
``timeout``). ``stop`` (a :class:`threading.Event`) stops the sending early; requests in
flight still end by their own timeout.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from selfhost.errors import SelfhostError
from selfhost.live import engine as eng
from selfhost.monitoring import OUTCOMES

TOOL = "selfhost.live.loadgen"


class LoadError(SelfhostError):
    """Bad options for the load generator."""


@dataclass(frozen=True)
class Phase:
    """Poisson arrivals at ``rate_req_per_s`` for ``duration_s`` seconds [requests/s], [s]."""

    name: str
    rate_req_per_s: float
    duration_s: float


@dataclass(frozen=True)
class Shape:
    """Every request's prompt and output length [tokens], and whether the prompt is token ids."""

    input_len: int
    output_len: int
    token_ids: bool = True
    vocab_size: int = 4096
    ignore_eos: bool = True


@dataclass
class Outcome:
    """What one client saw; times in seconds since the run's start (``t0``)."""

    phase: str
    sent_s: float
    first_token_s: float | None
    ended_s: float
    output_tok: int
    outcome: str
    http_status: int | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("sent_s", "first_token_s", "ended_s"):
            if out[k] is not None:
                out[k] = round(out[k], 4)
        return out


def schedule(phases: Sequence[Phase], seed: int) -> list[tuple[str, float]]:
    """Send times (phase, seconds since the start) of Poisson arrivals, phase after phase.

    >>> times = schedule([Phase("a", 2.0, 10.0), Phase("b", 20.0, 5.0)], seed=1)
    >>> {p for p, _ in times} == {"a", "b"} and all(0 <= t < 15 for _, t in times)
    True
    >>> schedule([Phase("a", 2.0, 10.0)], seed=1) == schedule([Phase("a", 2.0, 10.0)], seed=1)
    True
    """
    rng = random.Random(seed)
    out, start = [], 0.0
    for phase in phases:
        if not (phase.rate_req_per_s > 0 and phase.duration_s > 0):
            raise LoadError(f"phase {phase.name}: rate and duration must be > 0")
        t = start + rng.expovariate(phase.rate_req_per_s)
        while t < start + phase.duration_s:
            out.append((phase.name, t))
            t += rng.expovariate(phase.rate_req_per_s)
        start += phase.duration_s
    return out


def payload(model: str, shape: Shape, rng: random.Random, engine: str = "vllm") -> dict[str, Any]:
    """One request's body."""
    if shape.token_ids:
        prompt: Any = [rng.randrange(4, shape.vocab_size) for _ in range(shape.input_len)]
    else:
        prompt = " ".join(rng.choice(("the", "cat", "sat", "on", "a", "mat", "and", "ran")) for _ in range(shape.input_len))
    body: dict[str, Any] = {"model": model, "prompt": prompt, "max_tokens": shape.output_len, "temperature": 0,
                            "stream": True, "stream_options": {"include_usage": True}}
    if shape.ignore_eos and engine == "vllm":
        body["ignore_eos"] = True
    return body


async def _one(session: Any, url: str, body: dict[str, Any], phase: str, t0: float, timeout_s: float,
               headers: dict[str, str]) -> Outcome:
    import aiohttp

    sent = time.time() - t0
    first: float | None = None
    tokens, status = 0, None
    usage: int | None = None
    done = False

    def result(outcome: str, error: str | None = None) -> Outcome:
        return Outcome(phase, sent, first, time.time() - t0, usage if usage is not None else tokens, outcome,
                       status, error[:200] if error else None)

    try:
        async with asyncio.timeout(timeout_s):
            async with session.post(url, json=body, headers=headers) as resp:
                status = resp.status
                if status != 200:
                    text = (await resp.content.read(300)).decode("utf-8", "replace")
                    return result("http_error", text)
                async for raw in resp.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = json.loads(data)
                    except ValueError:
                        return result("error_event", f"not JSON: {data[:80]}")
                    if "error" in chunk:
                        return result("error_event", json.dumps(chunk["error"])[:200])
                    if chunk.get("usage") and chunk["usage"].get("completion_tokens") is not None:
                        usage = int(chunk["usage"]["completion_tokens"])
                    for choice in chunk.get("choices") or []:
                        if choice.get("text"):
                            tokens += 1
                            if first is None:
                                first = time.time() - t0
                        if choice.get("finish_reason") in ("error", "abort"):
                            return result("error_event", f"finish_reason {choice['finish_reason']}")
    except TimeoutError:
        return result("timeout", f"no complete answer within {timeout_s:g} s")
    except aiohttp.ClientConnectorError as exc:
        return result("refused", str(exc))
    except (aiohttp.ClientError, ConnectionError, OSError) as exc:
        return result("partial" if status == 200 else "reset", f"{type(exc).__name__}: {exc}")
    return result("ok" if done else ("partial" if status == 200 else "reset"),
                  None if done else "the stream ended without [DONE]")


async def _run(url: str, model: str, engine: str, times: Sequence[tuple[str, float]], shape: Shape, *, seed: int,
               request_timeout_s: float, t0: float, deadline_s: float, stop: threading.Event | None) -> list[Outcome]:
    import aiohttp

    rng = random.Random(seed + 1)
    headers = eng.auth_headers()
    tasks: list[asyncio.Task] = []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(10.0, request_timeout_s))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sent: list[tuple[str, float]] = []
        for phase, at in times:
            while not _stopped(stop) and time.time() - t0 <= deadline_s and t0 + at > time.time():
                await asyncio.sleep(min(t0 + at - time.time(), 0.2))
            if _stopped(stop) or time.time() - t0 > deadline_s:
                break
            sent.append((phase, time.time() - t0))
            tasks.append(asyncio.create_task(_one(session, url, payload(model, shape, rng, engine), phase, t0,
                                                  request_timeout_s, headers)))
        # In flight: each ends by its own timeout; the run's deadline cancels what is left.
        pending = set(tasks)
        while pending and time.time() - t0 < deadline_s:
            _, pending = await asyncio.wait(pending, timeout=min(deadline_s - (time.time() - t0), 0.5))
        for task in pending:
            task.cancel()
        outcomes = []
        for task, (phase, at_s) in zip(tasks, sent):
            try:
                outcomes.append(await task)
            except asyncio.CancelledError:
                outcomes.append(Outcome(phase, at_s, None, time.time() - t0, 0, "timeout", None,
                                        "cancelled: the run's deadline passed"))
    return outcomes


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def run_load(
    base_url: str,
    model: str,
    phases: Sequence[Phase],
    shape: Shape,
    *,
    request_timeout_s: float,
    t0: float | None = None,
    deadline_s: float | None = None,
    seed: int = 0,
    engine: str = "vllm",
    stop: threading.Event | None = None,
    send_at: Sequence[tuple[str, float]] | None = None,
) -> list[Outcome]:
    """Send the phases' requests to ``base_url`` and return one :class:`Outcome` each, in send order.

    Parameters
    ----------
    request_timeout_s : float
        A request without its complete answer by then is cancelled and counted a timeout [s].
    t0 : float
        The run's start (``time.time()``); the schedule starts there.
    deadline_s : float
        The whole run ends by then [s since ``t0``]; default: the schedule's length plus
        ``request_timeout_s`` plus 10 s.
    send_at : sequence of (phase, s since t0)
        Send at these times instead of the phases' Poisson schedule.
    """
    if not 0 < request_timeout_s <= 3600:
        raise LoadError(f"request_timeout_s = {request_timeout_s}: expected more than 0 and at most 3600 s")
    if any(o not in OUTCOMES for o in ("ok", "partial", "timeout", "error_event", "http_error", "reset", "refused")):
        raise LoadError("outcome names out of step with selfhost.monitoring.OUTCOMES")
    t0 = time.time() if t0 is None else t0
    times = list(send_at) if send_at is not None else schedule(phases, seed)
    total = max([sum(p.duration_s for p in phases), *(t for _, t in times)])
    deadline = total + request_timeout_s + 10.0 if deadline_s is None else deadline_s
    url = base_url.rstrip("/") + "/v1/completions"
    return asyncio.run(_run(url, model, engine, times, shape, seed=seed, request_timeout_s=request_timeout_s,
                            t0=t0, deadline_s=deadline, stop=stop))
