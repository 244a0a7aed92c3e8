"""Read LLM serving traces, streaming, with every line validated (reads files).

Three formats, told apart by the file's first line:

``azure`` (Azure LLM inference traces 2023, CSV)
    Header ``TIMESTAMP,ContextTokens,GeneratedTokens``; ``TIMESTAMP`` is the wall-clock
    invocation time (``2023-11-16 18:15:46.6805900``, read as UTC), the other two the input
    and output tokens. No prefix hashes.
``mooncake`` (Mooncake FAST'25 traces, JSON lines)
    One object a line: ``timestamp`` (arrival relative to the trace start [ms]),
    ``input_length``, ``output_length`` [tok] and ``hash_ids`` (the ids of the prompt's
    512-token prefix blocks; the last block may be partial). Other keys are ignored.
``plain`` (your own trace, CSV)
    Header ``arrival_s,input_tok,output_tok`` and, optionally, ``hash_ids,block_tok``
    (both or neither), in any order::

        arrival_s,input_tok,output_tok,hash_ids,block_tok
        0.000,1200,80,0 1 2,512
        0.250,700,35,0 3,512

    ``arrival_s`` is the arrival time [s] (any origin: a Unix time or seconds from the
    start), ``input_tok`` and ``output_tok`` whole token counts (input >= 1, output >= 0),
    ``hash_ids`` the space-separated ids of the prompt's prefix blocks (an id names the
    whole prefix up to its block, so two prompts share block i only if they share blocks
    0..i; empty for none), and ``block_tok`` the tokens per block (the same on every row).

Every format must be in arrival order. What the readers refuse, naming the file, the line
(counted from 1, the header included) and the field: an empty file or one with no request;
a header that matches no format (or not the one asked for); times that go backwards; a
length that is negative, not a whole number or missing; a hash list longer than the prompt
(more than ``ceil(input_tok / block_tok)`` blocks); a malformed line. Requests that arrive
at the same time as the one before are kept as simultaneous arrivals and counted
(Mooncake's clock has millisecond resolution: most of its requests share a millisecond);
``allow_ties=False`` refuses them instead.

A file is read line by line (memory does not grow with its size) and hashed (sha256) in the
same pass.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfhost.errors import DataError
from selfhost.traffic import MOONCAKE_BLOCK_TOK, TraceRequest

FORMATS = ("azure", "mooncake", "plain")
AZURE_HEADER = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
PLAIN_REQUIRED = ("arrival_s", "input_tok", "output_tok")
PLAIN_HASHES = ("hash_ids", "block_tok")
MOONCAKE_KEYS = ("timestamp", "input_length", "output_length")
#: Requests per chunk a reader yields.
CHUNK_REQUESTS = 65_536
_WHOLE = re.compile(r"[0-9]+")
_AZURE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)")


class TraceError(DataError):
    """A trace file that cannot be read as it stands; names the file, the line and the field.

    >>> str(TraceError("t.csv", "is negative", line=3, field="input_tok"))
    't.csv, line 3, field input_tok: is negative'
    """

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, field: str | None = None) -> None:
        where = [str(path)]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field}")
        Exception.__init__(self, f"{', '.join(where)}: {message}")
        self.path, self.row, self.column = str(path), line, field
        self.line, self.field = line, field


@dataclass
class Chunk:
    """Consecutive requests of a trace, column by column."""

    arrival_s: list[float] = field(default_factory=list)
    input_tok: list[int] = field(default_factory=list)
    output_tok: list[int] = field(default_factory=list)
    hash_ids: list[list[int]] | None = None
    first_line: int = 0

    def __len__(self) -> int:
        return len(self.arrival_s)


#: One request of a trace (arrival [s], input and output tokens [tok], prefix-block ids).
Request = TraceRequest


class TraceReader:
    """Stream a trace file in chunks of validated requests.

    After :meth:`chunks` is exhausted, ``sha256`` holds the file's checksum, ``lines`` the
    lines read and ``requests_count`` the requests. ``block_tok`` is the block size of the
    prefix hashes (None without them), known once the first request is read.

    Parameters
    ----------
    path : str or Path
        The trace file.
    fmt : str, optional
        ``azure``, ``mooncake`` or ``plain``; default: told from the first line.
    allow_ties : bool
        Keep requests that arrive at the same time as the one before (counted by the
        summary); False refuses them.
    """

    def __init__(self, path: str | Path, fmt: str | None = None, *, allow_ties: bool = True,
                 chunk_requests: int = CHUNK_REQUESTS) -> None:
        self.path = Path(path)
        if fmt is not None and fmt not in FORMATS:
            raise TraceError(self.path, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self.allow_ties = allow_ties
        self.chunk_requests = chunk_requests
        self.block_tok: int | None = None
        self.sha256: str | None = None
        self.lines = 0
        self.requests_count = 0
        self._previous: tuple[float, int] | None = None
        if not self.path.is_file():
            raise TraceError(self.path, "no such file")

    # -------------------------------------------------------------- the lines
    def _text_lines(self, digest: Any) -> Iterator[str]:
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                digest.update(raw)
                self.lines = number
                try:
                    yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise TraceError(self.path, f"not UTF-8 text ({exc.reason})", line=number) from None

    def _rows(self) -> Iterator[tuple[int, float, int, int, list[int] | None]]:
        """(line, arrival [s], input, output, hash ids or None) for each request, validated, in order."""
        digest = hashlib.sha256()
        lines = self._text_lines(digest)
        first = next(lines, None)
        if first is None or not first.strip():
            raise TraceError(self.path, "the file is empty" if first is None else "the first line is blank",
                             line=None if first is None else 1)
        fmt = self.fmt or ("mooncake" if first.lstrip().startswith("{") else None)
        if fmt == "mooncake":
            rows = self._mooncake(first, lines)
        else:
            rows = self._csv(first, lines, fmt)
        for row in rows:
            self._check_order(row[0], row[1])
            self.requests_count += 1
            yield row
        if self.requests_count == 0:
            raise TraceError(self.path, "no requests in the file" + (" after its header" if fmt != "mooncake" else ""))
        self.sha256 = digest.hexdigest()

    def chunks(self) -> Iterator[Chunk]:
        """Yield the requests in chunks, validating each line; raises TraceError at the first bad one."""
        chunk = Chunk()
        for line, arrival, inp, out, ids in self._rows():
            if not len(chunk):
                chunk.first_line = line
                if ids is not None:
                    chunk.hash_ids = []
            chunk.arrival_s.append(arrival)
            chunk.input_tok.append(inp)
            chunk.output_tok.append(out)
            if chunk.hash_ids is not None and ids is not None:
                chunk.hash_ids.append(ids)
            if len(chunk) >= self.chunk_requests:
                yield chunk
                chunk = Chunk()
        if len(chunk):
            yield chunk

    def requests(self) -> Iterator[Request]:
        """The requests one by one, each read when asked for (a replay slice stops early)."""
        for _, arrival, inp, out, ids in self._rows():
            yield Request(arrival, inp, out, tuple(ids or ()))

    def _check_order(self, line: int, arrival: float) -> None:
        if self._previous is not None:
            before, before_line = self._previous
            if arrival < before:
                raise TraceError(self.path, f"arrival {arrival:g} is earlier than line {before_line}'s {before:g}: "
                                 "the trace must be sorted by arrival time", line=line, field=self._time_field)
            if arrival == before and not self.allow_ties:
                raise TraceError(self.path, f"arrival {arrival:g} repeats line {before_line}'s (ties refused)",
                                 line=line, field=self._time_field)
        self._previous = (arrival, line)

    _time_field = "arrival"

    # -------------------------------------------------------------- values
    def _whole(self, text: str, line: int, name: str, *, minimum: int = 0) -> int:
        text = text.strip()
        if not _WHOLE.fullmatch(text):
            what = "is negative" if text.startswith("-") and _WHOLE.fullmatch(text[1:]) else (
                "is missing" if not text else "is not a whole number of tokens")
            raise TraceError(self.path, f"{text!r} {what}" if text else what, line=line, field=name)
        value = int(text)
        if value < minimum:
            raise TraceError(self.path, f"{value} is below {minimum} (a request has at least one input token)",
                             line=line, field=name)
        return value

    def _json_whole(self, value: object, line: int, name: str, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TraceError(self.path, f"{value!r} is not a whole number of tokens", line=line, field=name)
        if value < 0:
            raise TraceError(self.path, f"{value} is negative", line=line, field=name)
        if value < minimum:
            raise TraceError(self.path, f"{value} is below {minimum} (a request has at least one input token)",
                             line=line, field=name)
        return value

    def _check_hashes(self, ids: list[int], inp: int, block: int, line: int) -> None:
        blocks = math.ceil(inp / block)
        if len(ids) > blocks:
            raise TraceError(self.path, f"{len(ids)} block ids for a prompt of {inp} tokens: longer than the prompt "
                             f"({blocks} blocks of {block} tokens at most)", line=line, field="hash_ids")

    # -------------------------------------------------------------- formats
    def _mooncake(self, first: str, lines: Iterator[str]) -> Iterator[tuple[int, float, int, int, list[int] | None]]:
        self.fmt = "mooncake"
        self._time_field = "timestamp"
        has_hashes: bool | None = None
        number = 0
        for number, text in enumerate(_chain(first, lines), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TraceError(self.path, f"not a JSON object ({exc.msg})", line=number) from None
            if not isinstance(record, dict):
                raise TraceError(self.path, "not a JSON object", line=number)
            for key in MOONCAKE_KEYS:
                if key not in record:
                    raise TraceError(self.path, "is missing", line=number, field=key)
            stamp = record["timestamp"]
            if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
                raise TraceError(self.path, f"{stamp!r} is not a time in milliseconds", line=number, field="timestamp")
            inp = self._json_whole(record["input_length"], number, "input_length", minimum=1)
            out = self._json_whole(record["output_length"], number, "output_length")
            this_has = "hash_ids" in record
            if has_hashes is None:
                has_hashes = this_has
                self.block_tok = MOONCAKE_BLOCK_TOK if this_has else None
            elif this_has != has_hashes:
                raise TraceError(self.path, "present on some lines and not on others", line=number, field="hash_ids")
            ids = None
            if this_has:
                ids = record["hash_ids"]
                if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
                    raise TraceError(self.path, "is not a list of whole numbers", line=number, field="hash_ids")
                self._check_hashes(ids, inp, MOONCAKE_BLOCK_TOK, number)
            yield number, stamp / 1000.0, inp, out, ids

    def _csv(self, first: str, lines: Iterator[str], fmt: str | None) -> Iterator[
            tuple[int, float, int, int, list[int] | None]]:
        reader = csv.reader(_chain(first, lines))
        header = [name.strip() for name in next(reader)]
        plain_ok = set(header) in (set(PLAIN_REQUIRED), set(PLAIN_REQUIRED) | set(PLAIN_HASHES)) and len(
            set(header)) == len(header)
        if tuple(header) == AZURE_HEADER and fmt in (None, "azure"):
            self.fmt = "azure"
            self._time_field = "TIMESTAMP"
            yield from self._azure_rows(reader)
        elif plain_ok and fmt in (None, "plain"):
            self.fmt = "plain"
            self._time_field = "arrival_s"
            yield from self._plain_rows(reader, header)
        else:
            expected = {"azure": ",".join(AZURE_HEADER), "plain": ",".join(PLAIN_REQUIRED) + "[,hash_ids,block_tok]"}
            wanted = [expected[fmt]] if fmt in expected else list(expected.values())
            raise TraceError(self.path, f"header {','.join(header)!r} does not match "
                             + " or ".join(repr(w) for w in wanted), line=1)

    def _azure_rows(self, reader: Any) -> Iterator[tuple[int, float, int, int, list[int] | None]]:
        days: dict[str, float] = {}
        for row in reader:
            number = reader.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) != 3:
                raise TraceError(self.path, f"{len(row)} fields, expected 3 ({','.join(AZURE_HEADER)})", line=number)
            match = _AZURE_TIME.fullmatch(row[0].strip())
            if not match:
                raise TraceError(self.path, f"{row[0]!r} is not a time like '2023-11-16 18:15:46.6805900'",
                                 line=number, field="TIMESTAMP")
            day, hours, minutes, seconds = match.groups()
            if day not in days:
                try:
                    days[day] = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()
                except ValueError:
                    raise TraceError(self.path, f"{day!r} is not a date", line=number, field="TIMESTAMP") from None
            h, m, s = int(hours), int(minutes), float(seconds)
            if h > 23 or m > 59 or s >= 61:
                raise TraceError(self.path, f"{row[0]!r} is not a time of day", line=number, field="TIMESTAMP")
            arrival = days[day] + h * 3600 + m * 60 + s
            inp = self._whole(row[1], number, "ContextTokens", minimum=1)
            out = self._whole(row[2], number, "GeneratedTokens")
            yield number, arrival, inp, out, None

    def _plain_rows(self, reader: Any, header: list[str]) -> Iterator[tuple[int, float, int, int, list[int] | None]]:
        at = {name: i for i, name in enumerate(header)}
        hashed = "hash_ids" in at
        for row in reader:
            number = reader.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(header):
                raise TraceError(self.path, f"{len(row)} fields, expected {len(header)} ({','.join(header)})",
                                 line=number)
            text = row[at["arrival_s"]].strip()
            try:
                arrival = float(text)
            except ValueError:
                raise TraceError(self.path, f"{text!r} is not a time in seconds", line=number,
                                 field="arrival_s") from None
            if not math.isfinite(arrival):
                raise TraceError(self.path, f"{text!r} is not a finite time", line=number, field="arrival_s")
            inp = self._whole(row[at["input_tok"]], number, "input_tok", minimum=1)
            out = self._whole(row[at["output_tok"]], number, "output_tok")
            ids = None
            if hashed:
                block = self._whole(row[at["block_tok"]], number, "block_tok", minimum=1)
                if self.block_tok is None:
                    self.block_tok = block
                elif block != self.block_tok:
                    raise TraceError(self.path, f"{block} differs from the first row's {self.block_tok} "
                                     "(one block size per trace)", line=number, field="block_tok")
                parts = row[at["hash_ids"]].split()
                if any(not re.fullmatch(r"-?[0-9]+", p) for p in parts):
                    raise TraceError(self.path, f"{row[at['hash_ids']]!r} is not a space-separated list of whole "
                                     "numbers", line=number, field="hash_ids")
                ids = [int(p) for p in parts]
                self._check_hashes(ids, inp, block, number)
            yield number, arrival, inp, out, ids


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def read_slice(path: str | Path, *, start_s: float = 0.0, duration_s: float | None = None,
               limit: int | None = None, fmt: str | None = None) -> list[Request]:
    """The requests arriving in ``[start_s, start_s + duration_s)`` after the trace's first arrival.

    Arrival times are returned relative to ``start_s`` past the first arrival [s]; reading
    stops at the slice's end (or after ``limit`` requests), so a slice of a large file is cheap.
    """
    reader = TraceReader(path, fmt)
    out: list[Request] = []
    origin: float | None = None
    for request in reader.requests():
        if origin is None:
            origin = request.arrival_s
        offset = request.arrival_s - origin - start_s
        if offset < 0:
            continue
        if duration_s is not None and offset >= duration_s:
            break
        out.append(Request(offset, request.input_tok, request.output_tok, request.hash_ids))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise TraceError(reader.path, f"no requests between {start_s:g} s and "
                         f"{'the end' if duration_s is None else f'{start_s + duration_s:g} s'} of the trace")
    return out
