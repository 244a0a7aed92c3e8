"""``selfhost traffic summarize``: text, --json, --window-s, and one line with exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

from selfhost.cli import main

PLAIN = "arrival_s,input_tok,output_tok,hash_ids,block_tok\n" + "".join(
    f"{i * 0.5},{600 + i},{10 + i % 7},0 {i % 3 + 1},512\n" for i in range(400))


@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(PLAIN)
    return path


def test_json_has_the_promised_fields(trace, capsys):
    assert main(["traffic", "summarize", str(trace), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["requests_count"] == 400 and out["block_tok"] == 512
    assert out["input_share"] == pytest.approx(sum(600 + i for i in range(400)) / sum(
        610 + i + i % 7 for i in range(400)))
    assert out["peak_to_mean_x"] == pytest.approx(1.0)          # two requests a second, steadily
    assert 0 < out["prefix_hit_share"] < 1 and out["window_s"] == 60
    assert set(out["prefix_hit_share_bounded"]) == {"100000", "1000000", "10000000", "100000000"}


def test_window_and_cache_sizes(trace, capsys):
    assert main(["traffic", "summarize", str(trace), "--window-s", "150", "--cache-tok", "1024", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["window_s"] == 150 and "150" in out["peak_to_mean_by_window"]
    assert list(out["prefix_hit_share_bounded"]) == ["1024"]


def test_nulls_without_hashes_or_windows(tmp_path, capsys):
    path = tmp_path / "bare.csv"
    path.write_text("arrival_s,input_tok,output_tok\n0,10,2\n30,10,2\n")
    assert main(["traffic", "summarize", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prefix_hit_share"] is None and out["peak_to_mean_x"] is None
    assert any("no prefix-block hashes" in n for n in out["notes"])


def test_text_output(trace, capsys):
    assert main(["traffic", "summarize", str(trace), "--series"]) == 0
    out = capsys.readouterr().out
    assert "input share: " in out and "the article assumes 70%" in out
    assert "peak-to-mean at 60 s: 1.00x (requests)" in out and "busy 100.0% of the time" in out
    assert "prefix cache (512-token blocks)" in out and "window start [s]" in out


@pytest.mark.parametrize("args, text, message", [
    (["--window-s", "0"], PLAIN, "argument --window-s: 0 is out of range: must be >= 1"),
    (["--window-s", "1.5"], PLAIN, "argument --window-s: '1.5' is not a whole number"),
    ([], "arrival_s,input_tok,output_tok\n2,5,5\n1,5,5\n", "line 3, field arrival_s: arrival 1 is earlier"),
    ([], "a,b,c\n", "line 1: header 'a,b,c' does not match"),
    ([], "", "the file is empty"),
    (["--strict"], "arrival_s,input_tok,output_tok\n1,5,5\n1,5,5\n", "line 3, field arrival_s: arrival 1 repeats"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert exit_code(["traffic", "summarize", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def exit_code(argv):
    """main's return value, or the code of the SystemExit a usage error raises."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_missing_file(capsys, tmp_path):
    assert main(["traffic", "summarize", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
