"""What real traffic looks like: token split, lengths, rates, burstiness and prefix reuse of a trace.

Pure formulas over the requests of a serving trace (no file I/O: the readers are in
:mod:`selfhost.data.traces`). A trace is a sequence of requests in arrival order, each with
an arrival time [s], input (prompt) and output token counts and, where the trace has them,
the hashes of its prompt's prefix blocks.

The quantities the article assumes and a trace measures:

- ``input_share``: input tokens as a share of all tokens (the article's 70/30 split is 0.7);
- ``peak_to_mean_x``: the busiest window's request count over the mean count per window,
  windows of ``window_s`` seconds laid end to end from the first arrival (only complete
  windows count). A deployment sized for the peak is busy on average
  ``1 / peak_to_mean_x`` of the time (:func:`peak_provisioned_utilisation_share`);
- ``prefix_hit_share``: the share of input tokens a prefix cache could serve, with an
  unlimited cache and with an LRU cache of a bounded number of tokens
  (:class:`PrefixCache`).

:class:`TrafficAccumulator` takes the requests in batches, so a trace of any size is read
in one pass with memory bounded by its duration (one-second bins), its distinct lengths and
the cache sizes simulated; :func:`summarize` turns it into a :class:`TrafficSummary`.

Glossary
--------
arrival_s : float
    Arrival time of a request [s]; any origin (the summary counts from the first arrival).
input_tok, output_tok : int
    Input (prompt) and output (generated) tokens of one request [tok].
block_tok : int
    Tokens per prefix block (Mooncake hashes 512-token blocks; vLLM's CPU build caches
    128-token blocks, its GPU default is 16) [tok].
window_s : float
    Length of the windows a rate is counted over [s], a whole number of seconds.

References
----------
Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting",
ISCA 2024 (the Azure 2023 traces). Qin et al., "Mooncake: Trading More Storage for Less
Computation", FAST 2025 (the conversation trace, prefix-block hashes). vLLM's prefix cache:
``vllm/v1/core/kv_cache_manager.py`` (only full blocks are cached; a fully cached prompt
still computes its last token) and ``vllm/v1/core/block_pool.py`` (freed blocks are queued
tail first, so a prompt's last blocks are evicted before its first).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from selfhost.costs import blended_usd_per_mtok, breakeven_tok_per_day
from selfhost.errors import DataError, ParameterError
from selfhost.params import check_int, check_number
from selfhost.units import and_list, counted

#: The window the headline peak-to-mean is counted over [s]: one minute, as in SOURCES.
DEFAULT_WINDOW_S = 60
#: The windows every summary also counts peak-to-mean over [s].
WINDOWS_S: tuple[int, ...] = (1, 10, 60, 300, 600)
#: Bounded prefix-cache sizes every summary simulates [tok] (a 70B model's KV cache on one
#: 80 GB GPU holds a few hundred thousand tokens; a CPU- or SSD-backed store like Mooncake's, far more).
CACHE_SIZES_TOK: tuple[int, ...] = (100_000, 1_000_000, 10_000_000, 100_000_000)
#: The quantiles of input and output length a summary reports.
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9, 0.99)
#: Block size of Mooncake's hashes, and of vLLM's CPU build's KV cache [tok].
MOONCAKE_BLOCK_TOK = 512
VLLM_CPU_BLOCK_TOK = 128
#: Length histogram: edges at powers of 2^(1/2), from 1 token [tok].
_HIST_STEPS_PER_OCTAVE = 2


def quantile_key(q: float) -> str:
    """The key a quantile is stored under: 0.5 -> ``"p50"``, 0.99 -> ``"p99"``, 0.999 -> ``"p99.9"``.

    >>> quantile_key(0.5), quantile_key(0.99), quantile_key(0.999)
    ('p50', 'p99', 'p99.9')
    """
    return f"p{round(q * 100, 6):g}"


def input_share(input_tok: float, output_tok: float) -> float:
    """Input tokens as a share of all tokens [1].

    >>> input_share(70, 30)
    0.7
    """
    check_number("input_tok", input_tok, ge=0)
    check_number("output_tok", output_tok, ge=0)
    if input_tok + output_tok <= 0:
        raise ParameterError("input_tok + output_tok", input_tok + output_tok, "a positive token count")
    return input_tok / (input_tok + output_tok)


def peak_provisioned_utilisation_share(peak_to_mean_x: float) -> float:
    """Average utilisation of capacity provisioned for the peak rate: ``1 / peak_to_mean_x`` [1].

    A deployment sized to serve the busiest window serves the mean rate the rest of the
    time, so on average it is busy ``mean / peak`` of its capacity.

    >>> peak_provisioned_utilisation_share(4.0)
    0.25
    """
    check_number("peak_to_mean_x", peak_to_mean_x, ge=1)
    return 1.0 / peak_to_mean_x


def window_counts(per_second: np.ndarray, window_s: int) -> np.ndarray:
    """Sums of ``per_second`` over complete windows of ``window_s`` one-second bins.

    The trailing incomplete window is dropped (it would look quiet only because it is short).

    >>> window_counts(np.array([1, 2, 3, 4, 5]), 2).tolist()
    [3, 7]
    """
    window_s = check_int("window_s", window_s, ge=1)
    complete = len(per_second) // window_s
    return np.asarray(per_second[: complete * window_s]).reshape(complete, window_s).sum(axis=1)


def peak_to_mean(per_window: np.ndarray) -> float | None:
    """The largest window's count over the mean count per window [x]; None under two windows or no load.

    >>> peak_to_mean(np.array([1, 1, 4]))
    2.0
    >>> peak_to_mean(np.array([5])) is None
    True
    """
    if len(per_window) < 2:
        return None
    mean = float(np.mean(per_window))
    return float(np.max(per_window)) / mean if mean > 0 else None


def quantiles_from_counts(counts: np.ndarray, qs: Sequence[float]) -> dict[str, int]:
    """Exact quantiles of integer values held as a count per value (``counts[v]`` = how many equal v).

    The quantile q is the smallest value whose cumulative share reaches q (numpy's
    ``inverted_cdf``).

    >>> quantiles_from_counts(np.array([0, 2, 1, 1]), (0.5, 0.75, 1.0))
    {'p50': 1, 'p75': 2, 'p100': 3}
    """
    total = int(counts.sum())
    if total == 0:
        raise DataError("trace", "no requests")
    cdf = np.cumsum(counts)
    out = {}
    for q in qs:
        check_number("quantile", q, gt=0, le=1)
        out[quantile_key(q)] = int(np.searchsorted(cdf, math.ceil(q * total - 1e-9), side="left"))
    return out


def histogram_edges(max_tok: int) -> list[int]:
    """Length-histogram bin edges [tok]: 1, then steps of 2^(1/2), rounded, covering ``max_tok``.

    >>> histogram_edges(10)
    [1, 2, 3, 4, 6, 8, 11]
    """
    edges: list[int] = [1]
    k = 1
    while edges[-1] <= max_tok:
        edge = round(2 ** (k / _HIST_STEPS_PER_OCTAVE))
        if edge > edges[-1]:
            edges.append(edge)
        k += 1
    return edges


# ---------------------------------------------------------------------- prefix caching
class PrefixCache:
    """A prefix cache over hashed blocks: how many of each prompt's tokens it could serve.

    Blocks are identified by the trace's hash ids, where an id names the whole prefix up to
    and including its block (so two prompts share block i only if they share blocks 0..i).
    A request is served the longest run of its leading blocks that the cache holds, as
    vLLM does: only full blocks are cached, and a prompt whose every block is cached still
    computes its last token (so at most ``(input_tok - 1) // block_tok`` blocks hit).
    After the request, its full blocks are in the cache.

    ``capacity_tok=None`` is an unlimited cache (its memory grows with the distinct blocks
    of the trace, about 60 bytes each: a trace of 10 million distinct blocks needs about
    0.6 GB); otherwise it holds
    ``capacity_tok // block_tok`` blocks and evicts the least recently used, a prompt's
    last blocks before its first (vLLM queues a finished request's blocks tail first).

    Examples
    --------
    Two prompts of three full 4-token blocks sharing the first two:

    >>> cache = PrefixCache(block_tok=4)
    >>> cache.serve(12, [7, 8, 9]), cache.serve(12, [7, 8, 10])
    (0, 8)
    >>> cache.hit_share()
    0.3333333333333333
    """

    def __init__(self, block_tok: int, capacity_tok: int | None = None) -> None:
        self.block_tok = check_int("block_tok", block_tok, ge=1)
        self.capacity_tok: int | None = None
        self.capacity_blocks: int | None = None
        if capacity_tok is not None:
            self.capacity_tok = check_int("capacity_tok", capacity_tok, ge=1)
            self.capacity_blocks = self.capacity_tok // self.block_tok
        self.blocks: OrderedDict[int, None] = OrderedDict()  # a bounded cache, least recent first
        self.seen: set[int] = set()  # an unlimited cache
        self.hit_tok = 0
        self.query_tok = 0

    def serve(self, input_tok: int, hash_ids: Sequence[int]) -> int:
        """Serve one request; return the input tokens the cache held [tok]."""
        blocks = self.blocks
        full = min(len(hash_ids), input_tok // self.block_tok)
        hittable = min(full, (input_tok - 1) // self.block_tok)
        held = self.seen if self.capacity_blocks is None else blocks
        hit = 0
        while hit < hittable and hash_ids[hit] in held:
            hit += 1
        if self.capacity_blocks is None:
            self.seen.update(hash_ids[hit:full])
        else:
            # Most recently used last; the prompt's first block ends up most recent.
            for block in reversed(hash_ids[:full]):
                blocks[block] = None
                blocks.move_to_end(block)
            while len(blocks) > self.capacity_blocks:
                blocks.popitem(last=False)
        hit_tok = hit * self.block_tok
        self.hit_tok += hit_tok
        self.query_tok += input_tok
        return hit_tok

    def hit_share(self) -> float | None:
        """Cached input tokens over all input tokens served so far [1]; None before any request."""
        return self.hit_tok / self.query_tok if self.query_tok else None


# ---------------------------------------------------------------------- the summary
@dataclass(frozen=True)
class TrafficSummary:
    """What one trace says about traffic: the figures the cost and capacity analyses use.

    Attributes
    ----------
    name : str
        The trace's name (``azure-2023-conv``, ``azure-2023-code``, ``mooncake-conversation``).
    requests_count : int
        Requests in the trace.
    duration_s : float
        First to last arrival [s].
    input_share : float
        Input tokens over all tokens [1].
    peak_to_mean_x : float or None
        Peak-to-mean of the request rate over windows of ``window_s`` [x]; None under two
        complete windows.
    window_s : int
        The window of ``peak_to_mean_x`` [s] (60 unless asked otherwise).
    peak_to_mean_by_window : dict of int to float or None
        Request-rate peak-to-mean per window length [s -> x].
    token_peak_to_mean_by_window : dict of int to float or None
        The same for the token rate (input plus output tokens per window) [s -> x].
    prefix_hit_share : float or None
        Share of input tokens an unlimited prefix cache could serve [1]; None without hashes.
    prefix_hit_share_bounded : dict of int to float
        The same with an LRU cache of that many tokens [tok -> 1]; empty without hashes.
    block_tok : int or None
        Block size of the prefix hashes [tok]; None without hashes.
    input_tok_quantiles, output_tok_quantiles : dict of str to int
        Length quantiles (``"p50"`` ...) of input and output [tok].
    input_mean_tok, output_mean_tok : float
        Mean input and output length [tok].
    input_max_tok, output_max_tok : int
        Longest input and output [tok].
    input_tok, output_tok : int
        Total input and output tokens [tok].
    mean_req_per_s, mean_input_tok_per_s, mean_output_tok_per_s : float
        Mean rates over the duration [req/s], [tok/s].
    tied_arrivals_count : int
        Requests arriving at the same time as the one before (kept as simultaneous arrivals).
    rate_window_s : int
        Window of the rate series below [s].
    rate_requests_count, rate_input_tok, rate_output_tok : tuple of int
        Requests and tokens in each complete window of ``rate_window_s``, from the first arrival.
    length_edges_tok : tuple of int
        Edges of the length histogram bins [tok] (a bin holds ``edge[i] <= length < edge[i+1]``).
    input_length_counts, output_length_counts : tuple of int
        Requests per length bin (outputs of zero tokens are counted in ``output_zero_count``).
    output_zero_count : int
        Requests with no output token.
    source, sha256, licence, citation : str
        Where the trace comes from (repository, path, commit), the trace file's sha256, its
        licence and the paper to cite.
    """

    name: str
    requests_count: int
    duration_s: float
    input_share: float
    peak_to_mean_x: float | None
    window_s: int
    peak_to_mean_by_window: dict[int, float | None]
    token_peak_to_mean_by_window: dict[int, float | None]
    prefix_hit_share: float | None
    prefix_hit_share_bounded: dict[int, float]
    block_tok: int | None
    input_tok_quantiles: dict[str, int]
    output_tok_quantiles: dict[str, int]
    input_mean_tok: float
    output_mean_tok: float
    input_max_tok: int
    output_max_tok: int
    input_tok: int
    output_tok: int
    mean_req_per_s: float
    mean_input_tok_per_s: float
    mean_output_tok_per_s: float
    tied_arrivals_count: int
    rate_window_s: int
    rate_requests_count: tuple[int, ...]
    rate_input_tok: tuple[int, ...]
    rate_output_tok: tuple[int, ...]
    length_edges_tok: tuple[int, ...]
    input_length_counts: tuple[int, ...]
    output_length_counts: tuple[int, ...]
    output_zero_count: int
    source: str = ""
    sha256: str = ""
    licence: str = ""
    citation: str = ""

    @property
    def peak_provisioned_utilisation_share(self) -> float | None:
        """Average utilisation of a deployment sized for the peak at ``window_s`` [1]."""
        if self.peak_to_mean_x is None:
            return None
        return peak_provisioned_utilisation_share(self.peak_to_mean_x)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dict keys as strings, tuples as lists)."""
        out = asdict(self)
        for key in ("peak_to_mean_by_window", "token_peak_to_mean_by_window", "prefix_hit_share_bounded"):
            out[key] = {str(k): v for k, v in out[key].items()}
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "traffic summary") -> TrafficSummary:
        """The inverse of :meth:`to_dict`; raises DataError naming ``where`` and the field."""
        fields = cls.__dataclass_fields__
        names = set(fields)
        missing = sorted(n for n in names if n not in raw and fields[n].default is MISSING)
        if missing:
            raise DataError(where, f"fields missing: {', '.join(missing)}")
        unknown = sorted(set(raw) - names)
        if unknown:
            raise DataError(where, f"unknown fields: {', '.join(unknown)}")
        values = dict(raw)
        try:
            for key in ("peak_to_mean_by_window", "token_peak_to_mean_by_window", "prefix_hit_share_bounded"):
                values[key] = {int(k): v for k, v in raw[key].items()}
            for key, f in fields.items():
                if str(f.type).startswith("tuple"):
                    values[key] = tuple(int(v) for v in raw[key])
        except (AttributeError, TypeError, ValueError) as exc:
            raise DataError(where, f"malformed field: {exc}") from exc
        summary = cls(**values)
        check_summary(summary, where)
        return summary


def check_summary(summary: TrafficSummary, where: str = "traffic summary") -> None:
    """Range checks on a summary; raises DataError naming the field."""

    def bad(field_name: str, message: str) -> DataError:
        return DataError(where, message, column=field_name)

    if summary.requests_count < 1:
        raise bad("requests_count", "must be >= 1")
    for name in ("input_share", "prefix_hit_share"):
        value = getattr(summary, name)
        if value is not None and not 0 <= value <= 1:
            raise bad(name, f"{value} is not in [0, 1]")
    for size, share in summary.prefix_hit_share_bounded.items():
        if not 0 <= share <= 1 or size < 1:
            raise bad("prefix_hit_share_bounded", f"{size}: {share} is not a share in [0, 1]")
    for name in ("peak_to_mean_by_window", "token_peak_to_mean_by_window"):
        for window, ratio in getattr(summary, name).items():
            if ratio is not None and ratio < 1 - 1e-9:
                raise bad(name, f"window {window} s: {ratio} is below 1 (a peak is never below the mean)")
    if summary.peak_to_mean_x is not None and summary.peak_to_mean_x < 1 - 1e-9:
        raise bad("peak_to_mean_x", f"{summary.peak_to_mean_x} is below 1")
    if len(summary.input_length_counts) != len(summary.length_edges_tok) - 1:
        raise bad("input_length_counts", "one count per histogram bin expected")
    if summary.duration_s < 0:
        raise bad("duration_s", "must be >= 0")


@dataclass
class TrafficAccumulator:
    """Collects a trace's requests in arrival order, batch by batch, in bounded memory.

    Holds one-second bins of requests and tokens (the rates), a count per distinct length
    (exact quantiles), and the prefix caches to simulate. Arrival order and the values are
    the reader's to check (:mod:`selfhost.data.traces`); :meth:`add` only refuses times that
    go backwards.

    Examples
    --------
    >>> acc = TrafficAccumulator()
    >>> acc.add([0.0, 0.5, 1.2], [100, 200, 300], [10, 20, 30])
    >>> acc.requests_count, acc.input_tok, acc.output_tok
    (3, 600, 60)
    """

    block_tok: int | None = None
    cache_sizes_tok: Sequence[int] = CACHE_SIZES_TOK
    requests_count: int = 0
    input_tok: int = 0
    output_tok: int = 0
    tied_arrivals_count: int = 0
    first_s: float | None = None
    last_s: float | None = None
    _bins: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _lengths: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    caches: list[PrefixCache] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for key in ("requests", "input", "output"):
            self._bins[key] = np.zeros(0, dtype=np.int64)
            self._lengths[key] = np.zeros(0, dtype=np.int64)
        if self.block_tok is not None:
            self.caches = [PrefixCache(self.block_tok)] + [
                PrefixCache(self.block_tok, size) for size in self.cache_sizes_tok]

    @staticmethod
    def _grow(array: np.ndarray, size: int) -> np.ndarray:
        if size <= len(array):
            return array
        grown = np.zeros(max(size, 2 * len(array)), dtype=np.int64)
        grown[: len(array)] = array
        return grown

    def add(
        self,
        arrival_s: Sequence[float] | np.ndarray,
        input_tok: Sequence[int] | np.ndarray,
        output_tok: Sequence[int] | np.ndarray,
        hash_ids: Sequence[Sequence[int]] | None = None,
    ) -> None:
        """Add a batch of requests (in arrival order, continuing the batches before)."""
        times = np.asarray(arrival_s, dtype=np.float64)
        ins = np.asarray(input_tok, dtype=np.int64)
        outs = np.asarray(output_tok, dtype=np.int64)
        if not len(times) == len(ins) == len(outs):
            raise ParameterError("batch", (len(times), len(ins), len(outs)), "columns of one length")
        if not len(times):
            return
        if (hash_ids is None) != (self.block_tok is None):
            raise ParameterError("hash_ids", "given" if hash_ids is not None else None,
                                 "hashes exactly when the accumulator has a block_tok")
        previous = self.last_s if self.last_s is not None else times[0]
        steps = np.diff(times, prepend=previous)
        if (steps < 0).any():
            raise ParameterError("arrival_s", float(times[int(np.argmax(steps < 0))]), "times in arrival order")
        self.tied_arrivals_count += int((steps == 0).sum()) - (1 if self.last_s is None else 0)
        if self.first_s is None:
            self.first_s = float(times[0])
        self.last_s = float(times[-1])
        self.requests_count += len(times)
        self.input_tok += int(ins.sum())
        self.output_tok += int(outs.sum())
        second = np.floor(times - self.first_s).astype(np.int64)
        for key, weights in (("requests", None), ("input", ins), ("output", outs)):
            counts = np.bincount(second, weights=weights, minlength=0)
            self._bins[key] = self._grow(self._bins[key], len(counts))
            self._bins[key][: len(counts)] += np.rint(counts).astype(np.int64)
        for key, values in (("input", ins), ("output", outs)):
            counts = np.bincount(values)
            self._lengths[key] = self._grow(self._lengths[key], len(counts))
            self._lengths[key][: len(counts)] += counts
        if hash_ids is not None:
            for tokens, ids in zip(ins.tolist(), hash_ids):
                for cache in self.caches:
                    cache.serve(tokens, ids)

    def per_second(self, key: str = "requests") -> np.ndarray:
        """Requests (``"requests"``) or tokens (``"input"``, ``"output"``) per one-second bin."""
        if self.first_s is None or self.last_s is None:
            return np.zeros(0, dtype=np.int64)
        bins = int(math.floor(self.last_s - self.first_s)) + 1
        return self._bins[key][:bins]

    def length_counts(self, key: str) -> np.ndarray:
        """How many requests have each input (``"input"``) or output (``"output"``) length [count per tok]."""
        return self._lengths[key]


def summarize(
    acc: TrafficAccumulator,
    name: str,
    *,
    window_s: int = DEFAULT_WINDOW_S,
    windows_s: Iterable[int] = WINDOWS_S,
    rate_window_s: int = DEFAULT_WINDOW_S,
    quantiles: Sequence[float] = QUANTILES,
    source: str = "",
    sha256: str = "",
    licence: str = "",
    citation: str = "",
) -> TrafficSummary:
    """The :class:`TrafficSummary` of the requests an accumulator holds.

    Raises DataError when it holds no request, ParameterError for a window that is not a
    whole number of seconds >= 1.

    Examples
    --------
    Ten requests a second for a minute, then forty a second for ten seconds: the busiest
    10-second window holds 400 requests, the mean of the seven windows 1000 / 7:

    >>> acc = TrafficAccumulator()
    >>> times = [i / 10 for i in range(600)] + [60 + i / 40 for i in range(400)]
    >>> acc.add(times, [700] * 1000, [300] * 1000)
    >>> s = summarize(acc, "example", window_s=10)
    >>> s.input_share, round(s.peak_to_mean_x, 2)
    (0.7, 2.8)
    """
    if acc.requests_count == 0 or acc.first_s is None or acc.last_s is None:
        raise DataError(name, "no requests")
    window_s = check_int("window_s", window_s, ge=1)
    rate_window_s = check_int("rate_window_s", rate_window_s, ge=1)
    windows = sorted({check_int("window_s", w, ge=1) for w in windows_s} | {window_s})
    requests = acc.per_second("requests")
    tokens = acc.per_second("input") + acc.per_second("output")
    by_window = {w: peak_to_mean(window_counts(requests, w)) for w in windows}
    token_by_window = {w: peak_to_mean(window_counts(tokens, w)) for w in windows}
    duration_s = acc.last_s - acc.first_s
    rate_seconds = max(duration_s, 1.0)
    ins, outs = acc.length_counts("input"), acc.length_counts("output")
    max_in, max_out = int(np.flatnonzero(ins)[-1]), int(np.flatnonzero(outs)[-1])
    edges = histogram_edges(max(max_in, max_out))
    hit_share = bounded = None
    if acc.caches:
        hit_share = acc.caches[0].hit_share()
        bounded = {cache.capacity_tok: cache.hit_share() for cache in acc.caches[1:]
                   if cache.capacity_tok is not None}

    def binned(counts: np.ndarray) -> tuple[int, ...]:
        cumulative = np.concatenate([[0], np.cumsum(counts)])
        at = np.minimum(np.asarray(edges), len(counts))
        return tuple(int(v) for v in np.diff(cumulative[at]))

    lengths = np.arange(len(ins))
    return TrafficSummary(
        name=name,
        requests_count=acc.requests_count,
        duration_s=round(duration_s, 6),
        input_share=input_share(acc.input_tok, acc.output_tok),
        peak_to_mean_x=by_window[window_s],
        window_s=window_s,
        peak_to_mean_by_window=by_window,
        token_peak_to_mean_by_window=token_by_window,
        prefix_hit_share=hit_share,
        prefix_hit_share_bounded={int(k): float(v) for k, v in (bounded or {}).items() if v is not None},
        block_tok=acc.block_tok,
        input_tok_quantiles=quantiles_from_counts(ins, quantiles),
        output_tok_quantiles=quantiles_from_counts(outs, quantiles),
        input_mean_tok=float((ins * lengths).sum()) / acc.requests_count,
        output_mean_tok=float((outs * np.arange(len(outs))).sum()) / acc.requests_count,
        input_max_tok=max_in,
        output_max_tok=max_out,
        input_tok=acc.input_tok,
        output_tok=acc.output_tok,
        mean_req_per_s=acc.requests_count / rate_seconds,
        mean_input_tok_per_s=acc.input_tok / rate_seconds,
        mean_output_tok_per_s=acc.output_tok / rate_seconds,
        tied_arrivals_count=acc.tied_arrivals_count,
        rate_window_s=rate_window_s,
        rate_requests_count=tuple(int(v) for v in window_counts(requests, rate_window_s)),
        rate_input_tok=tuple(int(v) for v in window_counts(acc.per_second("input"), rate_window_s)),
        rate_output_tok=tuple(int(v) for v in window_counts(acc.per_second("output"), rate_window_s)),
        length_edges_tok=tuple(edges),
        input_length_counts=binned(ins),
        output_length_counts=binned(outs),
        output_zero_count=int(outs[0]) if len(outs) else 0,
        source=source,
        sha256=sha256,
        licence=licence,
        citation=citation,
    )


# ---------------------------------------------------------------------- a slice to replay
@dataclass(frozen=True)
class TraceRequest:
    """One request of a trace: arrival [s], input and output tokens [tok], prefix-block ids."""

    arrival_s: float
    input_tok: int
    output_tok: int
    hash_ids: tuple[int, ...] = ()


def scale_requests(
    requests: Sequence[TraceRequest],
    *,
    time_stretch_x: float = 1.0,
    block_tok_from: int = MOONCAKE_BLOCK_TOK,
    block_tok_to: int = VLLM_CPU_BLOCK_TOK,
    max_input_tok: int | None = None,
    output_scale_x: float | None = None,
    max_output_tok: int | None = None,
    id_offset: int = 0,
) -> list[TraceRequest]:
    """A slice of a trace scaled to what a small engine can serve, its prefix structure kept.

    Each block of ``block_tok_from`` tokens becomes one of ``block_tok_to`` tokens, so
    lengths scale by ``block_tok_to / block_tok_from`` and every source block maps to one
    engine block (two prompts share engine block i exactly when they shared source block i).
    A prompt is then cut to ``max_input_tok`` at a block boundary (dropping its last blocks,
    never its shared first ones); blocks without an id (a trace without hashes) get ids no
    other request has. Outputs scale by ``output_scale_x`` (default: the length scale) and are
    cut to ``max_output_tok`` (at least 1). Arrival times are multiplied by
    ``time_stretch_x`` (> 1 slows the traffic down). ``id_offset`` is added to every id, so two
    replays on one server share no block.

    Examples
    --------
    >>> reqs = [TraceRequest(0.0, 1024, 400, (0, 1)), TraceRequest(0.5, 1300, 8, (0, 2, 3))]
    >>> [(r.arrival_s, r.input_tok, r.output_tok, r.hash_ids) for r in scale_requests(reqs, time_stretch_x=4)]
    [(0.0, 256, 100, (0, 1)), (2.0, 325, 2, (0, 2, 3))]
    >>> scale_requests(reqs, max_input_tok=200, block_tok_to=128)[1].hash_ids
    (0, 2)
    """
    check_number("time_stretch_x", time_stretch_x, gt=0)
    block_tok_from = check_int("block_tok_from", block_tok_from, ge=1)
    block_tok_to = check_int("block_tok_to", block_tok_to, ge=1)
    length_x = block_tok_to / block_tok_from
    out_x = length_x if output_scale_x is None else check_number("output_scale_x", output_scale_x, gt=0)
    fresh = max((max(r.hash_ids) for r in requests if r.hash_ids), default=-1) + 1
    scaled = []
    for r in requests:
        inp = max(1, round(r.input_tok * length_x))
        if max_input_tok is not None:
            inp = min(inp, check_int("max_input_tok", max_input_tok, ge=1))
        blocks = math.ceil(inp / block_tok_to)
        ids = list(r.hash_ids[:blocks])
        while len(ids) < blocks:
            ids.append(fresh)
            fresh += 1
        out = max(1, round(r.output_tok * out_x))
        if max_output_tok is not None:
            out = min(out, check_int("max_output_tok", max_output_tok, ge=1))
        scaled.append(TraceRequest(r.arrival_s * time_stretch_x, inp, out, tuple(i + id_offset for i in ids)))
    return scaled


def predicted_hit_share(requests: Sequence[TraceRequest], block_tok: int, capacity_tok: int | None = None) -> float:
    """Share of the requests' input tokens a prefix cache of ``capacity_tok`` tokens serves, in arrival order [1].

    >>> predicted_hit_share([TraceRequest(0, 8, 1, (1, 2)), TraceRequest(1, 8, 1, (1, 3))], 4)
    0.25
    """
    cache = PrefixCache(block_tok, capacity_tok)
    for r in requests:
        cache.serve(r.input_tok, r.hash_ids)
    share = cache.hit_share()
    if share is None:
        raise DataError("replay slice", "no requests")
    return share


# ---------------------------------------------------------------------- what the page shows
#: Labels of the article's assumptions, as the page's table rows name them.
ARTICLE_ROW = "the article's assumption"


def rate_frame(summaries: Sequence[TrafficSummary]) -> pd.DataFrame:
    """Requests per window over time, each trace's as a multiple of its own mean (one row per window).

    Columns: ``trace``, ``minute`` (window start, minutes from the first arrival),
    ``requests_count`` and ``rate_to_mean_x`` (the window's count over the mean count).
    """
    rows = []
    for s in summaries:
        counts = s.rate_requests_count
        mean = sum(counts) / len(counts) if counts else 0.0
        for i, count in enumerate(counts):
            rows.append({"trace": s.name, "minute": i * s.rate_window_s / 60.0, "requests_count": count,
                         "rate_to_mean_x": count / mean if mean else None})
    return pd.DataFrame(rows, columns=["trace", "minute", "requests_count", "rate_to_mean_x"])


def length_frame(summaries: Sequence[TrafficSummary]) -> pd.DataFrame:
    """Length distributions: the share of each trace's requests per length bin, inputs and outputs.

    Columns: ``trace``, ``direction`` (``input`` or ``output``), ``length_tok`` (the bin's lower
    edge), ``upper_tok`` and ``requests_share`` (of the trace's requests).
    """
    rows = []
    for s in summaries:
        edges = s.length_edges_tok
        for direction, counts in (("input", s.input_length_counts), ("output", s.output_length_counts)):
            for low, high, count in zip(edges[:-1], edges[1:], counts):
                if count:
                    rows.append({"trace": s.name, "direction": direction, "length_tok": low, "upper_tok": high,
                                 "requests_share": count / s.requests_count})
    return pd.DataFrame(rows, columns=["trace", "direction", "length_tok", "upper_tok", "requests_share"])


def peak_frame(summaries: Sequence[TrafficSummary]) -> pd.DataFrame:
    """Peak-to-mean of the request and token rates per window length (one row per trace, window, rate)."""
    rows = []
    for s in summaries:
        for what, by_window in (("requests", s.peak_to_mean_by_window), ("tokens", s.token_peak_to_mean_by_window)):
            for window, ratio in by_window.items():
                if ratio is not None:
                    rows.append({"trace": s.name, "rate": what, "window_s": window, "peak_to_mean_x": ratio})
    return pd.DataFrame(rows, columns=["trace", "rate", "window_s", "peak_to_mean_x"])


def assumptions_frame(summaries: Sequence[TrafficSummary], article_input_share: float, window_s: int) -> pd.DataFrame:
    """The article's three assumptions (row one) against each trace: input share, burstiness, prefix reuse.

    The article assumes a 70/30 split (``article_input_share``), a GPU busy around the clock
    at a steady rate (peak-to-mean 1, utilisation 100%) and, for RadixAttention's 6.4x,
    "prefix-heavy" workloads (it gives no share). ``window_s`` must be a window every summary
    counted (:data:`WINDOWS_S` or its ``window_s``).
    """
    check_number("article_input_share", article_input_share, gt=0, lt=1)
    rows = [{"trace": ARTICLE_ROW, "requests_count": None, "duration_s": None,
             "input_share": article_input_share, "peak_to_mean_x": 1.0, "token_peak_to_mean_x": 1.0,
             "peak_provisioned_utilisation_share": 1.0, "prefix_hit_share": None, "input_p50_tok": None,
             "output_p50_tok": None}]
    for s in summaries:
        if window_s not in s.peak_to_mean_by_window:
            raise ParameterError("window_s", window_s, f"a window the summaries counted: {sorted(s.peak_to_mean_by_window)}")
        ratio = s.peak_to_mean_by_window[window_s]
        rows.append({"trace": s.name, "requests_count": s.requests_count, "duration_s": s.duration_s,
                     "input_share": s.input_share, "peak_to_mean_x": ratio,
                     "token_peak_to_mean_x": s.token_peak_to_mean_by_window[window_s],
                     "peak_provisioned_utilisation_share": None if ratio is None else 1 / ratio,
                     "prefix_hit_share": s.prefix_hit_share, "input_p50_tok": s.input_tok_quantiles.get("p50"),
                     "output_p50_tok": s.output_tok_quantiles.get("p50")})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ApiSide:
    """The prices one API charges [USD/Mtok]; ``cached_input_usd_per_mtok`` None where it prices no cache hits."""

    name: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cached_input_usd_per_mtok: float | None = None


def breakeven_effects(
    summaries: Sequence[TrafficSummary],
    apis: Sequence[ApiSide],
    *,
    gpu_usd_per_hour: float,
    article_input_share: float,
    window_s: int = DEFAULT_WINDOW_S,
) -> pd.DataFrame:
    """What each trace's traffic does to the break-even against each API, relative to the article's split.

    For each API and each trace (and the article's assumption first):

    - ``blended_usd_per_mtok``: the API's price at the trace's input share
      (:func:`selfhost.costs.blended_usd_per_mtok`);
    - ``breakeven_tok_per_day`` (:func:`selfhost.costs.breakeven_tok_per_day`, one GPU, no
      operating cost) and ``breakeven_vs_article_x``, its ratio to the break-even at the
      article's split: break-even volume is inversely proportional to the blended price;
    - with the trace's prefix-cache hit share billed at the API's cached-input price (where the
      API prices cache hits and the trace has hashes): ``cached_blended_usd_per_mtok``,
      ``cached_breakeven_vs_article_x``;
    - ``peak_capacity_at_breakeven_tok_per_day``: the capacity a deployment provisioned for the
      peak needs to serve the break-even volume, ``breakeven x peak_to_mean_x`` (at ``window_s``);
      one GPU serves the break-even volume only if its capacity reaches that.

    Examples
    --------
    Sonnet ($3 / $15) at the article's 70/30 and at 97% input:

    >>> s = summarize(_example_accumulator(0.97), "t")
    >>> table = breakeven_effects([s], [ApiSide("sonnet", 3, 15)], gpu_usd_per_hour=2.5, article_input_share=0.7)
    >>> [round(v, 2) for v in table["breakeven_vs_article_x"]]
    [1.0, 1.96]
    """

    check_number("gpu_usd_per_hour", gpu_usd_per_hour, gt=0)
    rows = []
    for api in apis:
        article_blend = blended_usd_per_mtok(api.input_usd_per_mtok, api.output_usd_per_mtok, article_input_share)
        article_be = breakeven_tok_per_day(gpu_usd_per_hour, article_blend)
        cases: list[tuple[str, float, float | None, float | None]] = [(ARTICLE_ROW, article_input_share, None, 1.0)]
        cases += [(s.name, s.input_share, s.prefix_hit_share, s.peak_to_mean_by_window.get(window_s)) for s in summaries]
        for name, share, hit, ratio in cases:
            blend = blended_usd_per_mtok(api.input_usd_per_mtok, api.output_usd_per_mtok, share)
            be = breakeven_tok_per_day(gpu_usd_per_hour, blend)
            cached_blend = cached_x = None
            if hit is not None and api.cached_input_usd_per_mtok is not None:
                cached_blend = blended_usd_per_mtok(api.input_usd_per_mtok, api.output_usd_per_mtok, share,
                                                    api.cached_input_usd_per_mtok, hit)
                cached_x = breakeven_tok_per_day(gpu_usd_per_hour, cached_blend) / article_be
            rows.append({"api": api.name, "trace": name, "input_share": share, "blended_usd_per_mtok": blend,
                         "breakeven_tok_per_day": be, "breakeven_vs_article_x": be / article_be,
                         "prefix_hit_share": hit, "cached_blended_usd_per_mtok": cached_blend,
                         "cached_breakeven_vs_article_x": cached_x, "peak_to_mean_x": ratio,
                         "peak_capacity_at_breakeven_tok_per_day": None if ratio is None else be * ratio})
    return pd.DataFrame(rows)


def _example_accumulator(share: float) -> TrafficAccumulator:
    """A two-minute steady trace with the given input share (for the doctests)."""
    acc = TrafficAccumulator()
    acc.add([i / 2 for i in range(240)], [round(1000 * share)] * 240, [round(1000 * (1 - share))] * 240)
    return acc


# ---------------------------------------------------------------------- live replays
REPLAY_COLUMNS = ["variant", "rep", "requests_count", "mean_req_per_s", "peak_to_mean_x", "mean_ttft_ms",
                  "p90_ttft_ms", "p99_ttft_ms", "predicted_hit_share", "measured_hit_share", "engine_cache_tok"]


def replay_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per recorded replay run that completed (``status`` ok): its slice, TTFT and prefix hits.

    ``records`` are replay run records (:mod:`selfhost.data.traffic`); the peak-to-mean is the
    slice's own, counted over its windows of ``rate_window_s`` (seconds of replayed time).
    """
    rows = []
    for r in records:
        if r.get("status") != "ok":
            continue
        params, results = r["workload"]["params"], r["results"]
        rows.append({"variant": r["workload"]["variant"], "rep": r["workload"].get("rep", 0),
                     "requests_count": params["requests_count"], "mean_req_per_s": params["mean_req_per_s"],
                     "peak_to_mean_x": params["peak_to_mean_x"] if r["workload"]["variant"] == "trace-timed" else None,
                     "mean_ttft_ms": results.get("mean_ttft_ms"), "p90_ttft_ms": results.get("p90_ttft_ms"),
                     "p99_ttft_ms": results.get("p99_ttft_ms"), "predicted_hit_share": params["predicted_hit_share"],
                     "measured_hit_share": params.get("measured_hit_share"),
                     "engine_cache_tok": params["engine_cache_tok"]})
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)


def replay_figures(frame: pd.DataFrame) -> dict[str, Any]:
    """The replay's headline figures: TTFT under the trace's arrivals over TTFT under Poisson arrivals
    (medians over the pairs), and the engine's measured prefix hit share against the predicted one.

    Empty when no pair of runs completed.
    """
    timed, poisson = frame[frame["variant"] == "trace-timed"], frame[frame["variant"] == "poisson"]
    if timed.empty or poisson.empty:
        return {}
    out: dict[str, Any] = {"replay_pairs_count": int(min(len(timed), len(poisson)))}
    for stat in ("mean", "p99"):
        a, b = timed[f"{stat}_ttft_ms"].median(), poisson[f"{stat}_ttft_ms"].median()
        out[f"replay_timed_{stat}_ttft_ms"], out[f"replay_poisson_{stat}_ttft_ms"] = float(a), float(b)
        out[f"replay_{stat}_ttft_x"] = float(a / b) if b else None
    out["replay_predicted_hit_share"] = float(frame["predicted_hit_share"].median())
    out["replay_measured_hit_share"] = float(frame["measured_hit_share"].median())
    out["replay_peak_to_mean_x"] = float(timed["peak_to_mean_x"].median())
    out["replay_mean_req_per_s"] = float(timed["mean_req_per_s"].median())
    out["replay_engine_cache_tok"] = int(frame["engine_cache_tok"].iloc[0])
    return out


def page_figures(summaries: Sequence[TrafficSummary], effects: pd.DataFrame, window_s: int) -> dict[str, Any]:
    """The figures the traffic page glues, named ``<trace>_<figure>`` (trace names with ``_`` for ``-``).

    Per trace: input share, output share, peak-to-mean at ``window_s`` and the utilisation it
    allows, prefix hit shares (unlimited and the largest bounded cache below unlimited), and
    per API the break-even ratio to the article's split (``<trace>_<api>_breakeven_vs_article_x``,
    APIs named by their position: ``frontier`` first, then ``hosted``).
    """
    out: dict[str, Any] = {"window_s": window_s}
    for s in summaries:
        key = s.name.replace("-", "_")
        ratio = s.peak_to_mean_by_window.get(window_s)
        out[f"{key}_input_share"] = s.input_share
        out[f"{key}_output_share"] = 1 - s.input_share
        out[f"{key}_requests_count"] = s.requests_count
        out[f"{key}_duration_min"] = s.duration_s / 60
        if ratio is not None:
            out[f"{key}_peak_to_mean_x"] = ratio
            out[f"{key}_utilisation_share"] = 1 / ratio
        out[f"{key}_peak_to_mean_1s_x"] = s.peak_to_mean_by_window.get(1)
        out[f"{key}_input_p50_tok"] = s.input_tok_quantiles.get("p50")
        out[f"{key}_output_p50_tok"] = s.output_tok_quantiles.get("p50")
        if s.prefix_hit_share is not None:
            out[f"{key}_prefix_hit_share"] = s.prefix_hit_share
            out[f"{key}_block_tok"] = s.block_tok
            for size, share in s.prefix_hit_share_bounded.items():
                out[f"{key}_prefix_hit_{size}_tok_share"] = share
    for position, (api, rows) in zip(("frontier", "hosted"), effects.groupby("api", sort=False)):
        out[f"{position}_api"] = api
        for _, row in rows.iterrows():
            key = "article" if row["trace"] == ARTICLE_ROW else str(row["trace"]).replace("-", "_")
            out[f"{key}_{position}_breakeven_mtok_per_day"] = row["breakeven_tok_per_day"] / 1e6
            out[f"{key}_{position}_blended_usd_per_mtok"] = row["blended_usd_per_mtok"]
            out[f"{key}_{position}_breakeven_vs_article_x"] = row["breakeven_vs_article_x"]
            if row["cached_breakeven_vs_article_x"] is not None and row["cached_breakeven_vs_article_x"] == \
                    row["cached_breakeven_vs_article_x"]:
                out[f"{key}_{position}_cached_breakeven_vs_article_x"] = row["cached_breakeven_vs_article_x"]
    return {k: v for k, v in out.items() if v is not None}


def replay_markdown(figures: Mapping[str, Any], command: str) -> str:
    """The replay section's text: the recorded figures, or how to record them."""
    if not figures:
        return ("No replay has been recorded on this machine yet. One command records it (it starts vLLM's CPU "
                f"build; run it on a quiet machine): `{command}`.")
    return (
        f"Over {counted(int(figures['replay_pairs_count']), 'pair', words=True)} of runs, the slice arrived at "
        f"{figures['replay_mean_req_per_s']:.2f} requests/s on average, with a peak-to-mean of "
        f"{figures['replay_peak_to_mean_x']:.2f}x over its windows. At the trace's own arrival times the mean TTFT "
        f"was {figures['replay_timed_mean_ttft_ms']:,.0f} ms and the p99 {figures['replay_timed_p99_ttft_ms']:,.0f} "
        f"ms; with Poisson arrivals of the same mean rate, {figures['replay_poisson_mean_ttft_ms']:,.0f} ms and "
        f"{figures['replay_poisson_p99_ttft_ms']:,.0f} ms: the trace's burstiness costs "
        f"{figures['replay_mean_ttft_x']:.2f}x on the mean and {figures['replay_p99_ttft_x']:.2f}x on the p99. "
        f"The engine's prefix cache ({figures['replay_engine_cache_tok']:,} tokens in 128-token blocks) served "
        f"{figures['replay_measured_hit_share']:.1%} of the prompt tokens (vLLM's /metrics, hits over queries); "
        f"the trace's hashes predict {figures['replay_predicted_hit_share']:.1%} for the same slice, cache size and "
        "block size.")


def retrieved_text(retrieved: Mapping[str, Any]) -> str:
    """When each source was read, for a sentence: one date when they agree, else each with its source.

    >>> retrieved_text({"a/x": "2026-11-27", "b/y": "2026-11-27"})
    '2026-11-27'
    >>> retrieved_text({"a/x": "2026-11-27", "b/y": "2026-11-30"})
    '2026-11-27 (a/x) and 2026-11-30 (b/y)'
    """
    dates = {name: str(date) for name, date in retrieved.items()}
    if len(set(dates.values())) <= 1:
        return next(iter(dates.values()), "on an unknown date")
    return and_list([f"{date} ({name})" for name, date in dates.items()])


def prefix_frame(summaries: Sequence[TrafficSummary]) -> pd.DataFrame:
    """The prefix-cache hit shares of the traces that have hashes: one row per cache size (None: unlimited)."""
    rows = []
    for s in summaries:
        if s.prefix_hit_share is None:
            continue
        for size, share in sorted(s.prefix_hit_share_bounded.items()):
            rows.append({"trace": s.name, "block_tok": s.block_tok, "cache_tok": size, "prefix_hit_share": share})
        rows.append({"trace": s.name, "block_tok": s.block_tok, "cache_tok": None, "prefix_hit_share": s.prefix_hit_share})
    return pd.DataFrame(rows, columns=["trace", "block_tok", "cache_tok", "prefix_hit_share"])
