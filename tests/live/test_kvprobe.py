"""Tests of selfhost.kvprobe that need no engine (the live comparison is in test_memory.py)."""

from __future__ import annotations

import json

from selfhost.live import kvprobe


def test_kv_line_parses_vllm_log():
    line = "(EngineCore pid=1) INFO [kv_cache_utils.py:2328] CPU KV cache size: 699,008 tokens, " \
           "Maximum concurrency for 2,048 tokens per request: 341.31x"
    m = kvprobe.KV_LINE.search(line)
    assert m and m.group(1) == "699,008" and m.group(3) == "341.31"


def test_model_folder_has_config_and_tokenizer(tmp_path):
    folder = kvprobe.write_model_folder({"architectures": ["LlamaForCausalLM"]}, tmp_path / "m")
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert tok.encode("w1 w2 nope").ids == [4, 5, 0]
