"""The trace readers: each format read right, every kind of bad input refused with file, line and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from selfhost.data.traces import TraceError, TraceReader, read_slice
from selfhost.data.traffic import summarize_path
from selfhost.errors import DataError

AZURE = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def mooncake_lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def rec(ts=0, inp=1024, out=10, ids=(0, 1)):
    return {"timestamp": ts, "input_length": inp, "output_length": out, "hash_ids": list(ids)}


def test_azure_rows_and_times(tmp_path):
    path = write(tmp_path, "a.csv", AZURE + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n"
                 "2023-11-17 00:00:00,10,1\n")
    reader = TraceReader(path)
    (chunk,) = list(reader.chunks())
    assert reader.fmt == "azure" and reader.block_tok is None and chunk.hash_ids is None
    assert chunk.input_tok == [374, 396, 10] and chunk.output_tok == [44, 109, 1]
    assert chunk.arrival_s[1] - chunk.arrival_s[0] == pytest.approx(4.314579, abs=1e-6)
    assert chunk.arrival_s[2] - chunk.arrival_s[0] == pytest.approx(6 * 3600 - (15 * 60 + 46.68059) + 0, abs=1e-4)
    assert len(reader.sha256) == 64 and reader.lines == 4


def test_mooncake_rows_in_seconds_with_hashes(tmp_path):
    path = write(tmp_path, "m.jsonl", mooncake_lines(rec(0), rec(0, 600, 5, (0, 2)), rec(1500, 512, 0, (0,))))
    reader = TraceReader(path)
    (chunk,) = list(reader.chunks())
    assert reader.fmt == "mooncake" and reader.block_tok == 512
    assert chunk.arrival_s == [0.0, 0.0, 1.5] and chunk.hash_ids == [[0, 1], [0, 2], [0]]


def test_plain_csv_with_and_without_hashes(tmp_path):
    path = write(tmp_path, "p.csv", "input_tok,arrival_s,output_tok,block_tok,hash_ids\n1200,0.0,80,512,0 1 2\n"
                 "700,0.25,35,512,0 3\n5,0.5,1,512,\n")
    reader = TraceReader(path)
    (chunk,) = list(reader.chunks())
    assert reader.fmt == "plain" and reader.block_tok == 512
    assert chunk.hash_ids == [[0, 1, 2], [0, 3], []] and chunk.arrival_s == [0.0, 0.25, 0.5]
    bare = write(tmp_path, "q.csv", "arrival_s,input_tok,output_tok\n1700000000.5,10,2\n1700000001,3,0\n")
    s = summarize_path(bare)
    assert s.requests_count == 2 and s.prefix_hit_share is None and s.duration_s == pytest.approx(0.5)


def test_chunks_are_bounded(tmp_path):
    path = write(tmp_path, "p.csv", "arrival_s,input_tok,output_tok\n" + "".join(f"{i},5,5\n" for i in range(10)))
    sizes = [len(c) for c in TraceReader(path, chunk_requests=4).chunks()]
    assert sizes == [4, 4, 2]


BAD = [
    # (file name, text, the message's parts)
    ("empty.csv", "", ["empty.csv: the file is empty"]),
    ("blank.csv", "\n", ["line 1", "blank"]),
    ("header.csv", AZURE, ["no requests in the file after its header"]),
    ("empty.jsonl", "{}\n"[:0] or " \n", ["blank"]),
    ("wrong-header.csv", "time,in,out\n1,2,3\n", ["line 1", "header 'time,in,out' does not match",
                                                  "TIMESTAMP,ContextTokens,GeneratedTokens", "arrival_s,input_tok"]),
    ("half-hash.csv", "arrival_s,input_tok,output_tok,hash_ids\n1,2,3,4\n", ["line 1", "does not match"]),
    ("unsorted.csv", "arrival_s,input_tok,output_tok\n1,2,3\n2,2,3\n1.5,2,3\n",
     ["line 4, field arrival_s", "earlier than line 3's 2", "sorted"]),
    ("negative.csv", "arrival_s,input_tok,output_tok\n1,2,-3\n", ["line 2, field output_tok", "'-3' is negative"]),
    ("fraction.csv", "arrival_s,input_tok,output_tok\n1,2.5,3\n", ["line 2, field input_tok", "not a whole number"]),
    ("zero-input.csv", "arrival_s,input_tok,output_tok\n1,0,3\n", ["line 2, field input_tok", "at least one input"]),
    ("missing.csv", "arrival_s,input_tok,output_tok\n1,,3\n", ["line 2, field input_tok", "is missing"]),
    ("short-row.csv", "arrival_s,input_tok,output_tok\n1,2\n", ["line 2", "2 fields, expected 3"]),
    ("nan-time.csv", "arrival_s,input_tok,output_tok\nnan,2,3\n", ["line 2, field arrival_s", "finite"]),
    ("long-hash.csv", "arrival_s,input_tok,output_tok,hash_ids,block_tok\n0,600,3,0 1 2,512\n",
     ["line 2, field hash_ids", "3 block ids for a prompt of 600 tokens", "longer than the prompt"]),
    ("two-blocks.csv", "arrival_s,input_tok,output_tok,hash_ids,block_tok\n0,600,3,0,512\n1,600,3,0,128\n",
     ["line 3, field block_tok", "one block size per trace"]),
    ("bad-ids.csv", "arrival_s,input_tok,output_tok,hash_ids,block_tok\n0,600,3,0 x,512\n",
     ["line 2, field hash_ids", "space-separated"]),
    ("azure-time.csv", AZURE + "yesterday,2,3\n", ["line 2, field TIMESTAMP", "not a time like"]),
    ("azure-neg.csv", AZURE + "2023-11-16 18:15:46.6805900,-374,44\n", ["line 2, field ContextTokens", "negative"]),
    ("azure-unsorted.csv", AZURE + "2023-11-16 18:15:47,3,4\n2023-11-16 18:15:46.9,3,4\n",
     ["line 3, field TIMESTAMP", "earlier than line 2"]),
    ("m-json.jsonl", '{"timestamp": 0, "input_length": 5\n', ["line 1", "not a JSON object"]),
    ("m-key.jsonl", mooncake_lines({"timestamp": 0, "input_length": 5}), ["line 1, field output_length", "missing"]),
    ("m-float.jsonl", mooncake_lines(rec(), rec(1, 5.5)), ["line 2, field input_length", "5.5 is not a whole number"]),
    ("m-neg.jsonl", mooncake_lines(rec(out=-1)), ["line 1, field output_length", "-1 is negative"]),
    ("m-bool.jsonl", mooncake_lines(rec(inp=True)), ["line 1, field input_length", "True is not a whole number"]),
    ("m-hash.jsonl", mooncake_lines(rec(inp=1025, ids=(0, 1, 2, 3))),
     ["line 1, field hash_ids", "4 block ids for a prompt of 1025 tokens", "3 blocks of 512"]),
    ("m-mixed.jsonl", mooncake_lines(rec(), {"timestamp": 1, "input_length": 5, "output_length": 1}),
     ["line 2, field hash_ids", "some lines and not on others"]),
    ("m-order.jsonl", mooncake_lines(rec(5), rec(3)), ["line 2, field timestamp", "earlier than line 1's 0.005"]),
    ("m-time.jsonl", mooncake_lines({**rec(), "timestamp": "0"}), ["line 1, field timestamp", "not a time"]),
]


@pytest.mark.parametrize("name, text, parts", BAD, ids=[b[0] for b in BAD])
def test_bad_traces_fail_naming_file_line_and_field(tmp_path, name, text, parts):
    path = write(tmp_path, name, text)
    with pytest.raises(TraceError) as err:
        summarize_path(path)
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    for part in parts:
        assert part in message
    assert isinstance(err.value, DataError)


def test_not_utf8(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"arrival_s,input_tok,output_tok\n1,2,\xff\n")
    with pytest.raises(TraceError, match="line 2: not UTF-8"):
        summarize_path(path)


def test_format_asked_for_must_match(tmp_path):
    path = write(tmp_path, "p.csv", "arrival_s,input_tok,output_tok\n1,2,3\n")
    with pytest.raises(TraceError, match="does not match 'TIMESTAMP,ContextTokens,GeneratedTokens'$"):
        summarize_path(path, fmt="azure")
    with pytest.raises(TraceError, match="unknown format"):
        TraceReader(path, "parquet")
    with pytest.raises(TraceError, match="no such file"):
        TraceReader(tmp_path / "nope.csv")


def test_ties_kept_and_counted_or_refused(tmp_path):
    path = write(tmp_path, "m.jsonl", mooncake_lines(rec(0), rec(0), rec(0), rec(7)))
    assert summarize_path(path).tied_arrivals_count == 2
    with pytest.raises(TraceError, match="line 2, field timestamp: arrival 0 repeats line 1's"):
        summarize_path(path, allow_ties=False)


def test_read_slice_offsets_and_stops(tmp_path):
    path = write(tmp_path, "p.csv", "arrival_s,input_tok,output_tok\n" + "".join(f"{100 + i},5,5\n" for i in range(10))
                 + "bad line\n")
    got = read_slice(path, start_s=2, duration_s=3)
    assert [r.arrival_s for r in got] == [0.0, 1.0, 2.0]   # requests at 102, 103, 104 s; the bad line is never read
    assert len(read_slice(path, limit=2)) == 2
    with pytest.raises(TraceError, match="line 12: 1 fields"):   # a slice past the bad line reads it
        read_slice(path, start_s=50, duration_s=10)
    clean = write(tmp_path, "c.csv", "arrival_s,input_tok,output_tok\n0,5,5\n1,5,5\n")
    with pytest.raises(TraceError, match="no requests between 50 s and 60 s"):
        read_slice(clean, start_s=50, duration_s=10)


PEAK_RSS = """
import resource, sys
from selfhost.data.traffic import summarize_path
summary = summarize_path(sys.argv[1], cache_sizes_tok=(100_000,))
assert summary.requests_count == int(sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_memory_does_not_grow_with_the_file(tmp_path):
    """Five times the rows, about the same peak memory: the file is streamed (chunks of 65,536 requests).

    The prefix blocks repeat (50 distinct prefixes): an unlimited cache grows with the distinct
    blocks, not with the lines."""

    def peak_kib(rows: int) -> int:
        path = tmp_path / f"{rows}.csv"
        with path.open("w") as handle:
            handle.write("arrival_s,input_tok,output_tok,hash_ids,block_tok\n")
            for i in range(rows):
                handle.write(f"{i * 1000 / rows:.6f},{513 + i % 3000},{i % 700},{i % 50} {50 + i % 50},512\n")
        done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(path), str(rows)], check=True,
                              capture_output=True, text=True)
        return int(done.stdout.split()[-1])

    small, large = peak_kib(70_000), peak_kib(350_000)
    extra_file_kib = ((tmp_path / "350000.csv").stat().st_size - (tmp_path / "70000.csv").stat().st_size) / 1024
    assert large - small < extra_file_kib / 4, (small, large, extra_file_kib)  # seen: +1.2 MiB for +8 MiB of file
