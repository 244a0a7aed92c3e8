"""Ask the real engine (vLLM's CPU build) how much KV cache it allocates for a config.

This module does I/O: it writes a model folder (a ``config.json`` and a tiny word-level
tokenizer, no weights), starts vLLM with ``load_format="dummy"`` in a child process with
``VLLM_CPU_KVCACHE_SPACE`` set, and reads back the KV cache size that vLLM logs
("CPU KV cache size: N tokens, Maximum concurrency for L tokens per request: Cx") and the
number of blocks and the block size it chose. The formula modules never import it.

The child process builds ``vllm.LLM`` under ``if __name__ == "__main__":`` (vLLM's CPU
build starts worker processes) and exits as soon as the engine is up: no request is
served. A start takes about a minute on this machine.

References
----------
vLLM 0.32.0, ``vllm/v1/core/kv_cache_utils.py`` (``update_kv_cache_capacity``) and
``vllm/platforms/cpu.py`` (``VLLM_CPU_KVCACHE_SPACE`` -> ``kv_cache_memory_bytes``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from selfhost.errors import SelfhostError

#: The line vLLM logs once the KV cache is allocated.
KV_LINE = re.compile(r"KV cache size: ([\d,]+) tokens, Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x")
RESULT_LINE = re.compile(r"^SELFHOST_RESULT (.*)$", re.M)

_CHILD = r"""
import json, os, sys
if __name__ == "__main__":
    from vllm import LLM
    args = json.loads(sys.argv[1])
    llm = LLM(model=args["model"], load_format="dummy", dtype="bfloat16", enforce_eager=True,
              max_model_len=args["max_model_len"], kv_cache_dtype=args["kv_cache_dtype"],
              max_num_batched_tokens=args["max_num_batched_tokens"], max_num_seqs=8,
              gpu_memory_utilization=0.5, seed=0)
    cache = llm.llm_engine.vllm_config.cache_config
    print("SELFHOST_RESULT " + json.dumps({"num_blocks": cache.num_gpu_blocks,
                                           "block_size": cache.block_size}), flush=True)
    del llm
    sys.stdout.flush()
    os._exit(0)
"""

#: Words of the tiny tokenizer (the engine needs one; the text never matters here).
TOKENIZER_WORDS = 200


@dataclass(frozen=True)
class EngineKvReport:
    """What vLLM reported about its KV cache for one start.

    Parameters
    ----------
    kv_tokens : int
        "KV cache size: N tokens" [tok].
    max_concurrency_x : float
        "Maximum concurrency for L tokens per request" [x].
    num_blocks : int
        Blocks allocated [1].
    block_size : int
        Tokens per block [tok].
    log_tail : str
        The last lines of the engine's log, for the record.
    """

    kv_tokens: int
    max_concurrency_x: float
    num_blocks: int
    block_size: int
    log_tail: str


def write_model_folder(config: dict, folder: Path) -> Path:
    """Write ``config.json`` and a tiny word-level tokenizer into ``folder``."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    vocab = {"[UNK]": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"w{i}": i + 3 for i in range(TOKENIZER_WORDS - 3)})
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "unk_token": "[UNK]", "model_max_length": 1_000_000,
    }))
    return folder


def run_engine(
    config: dict,
    kv_cache_space_gib: int,
    max_model_len: int,
    kv_cache_dtype: str = "auto",
    max_num_batched_tokens: int = 2048,
    timeout_s: float = 170.0,
) -> EngineKvReport:
    """Start vLLM (CPU) with dummy weights for ``config`` and return its KV cache report.

    Parameters
    ----------
    config : dict
        A Hugging Face config.json (scaled down so that it starts in seconds).
    kv_cache_space_gib : int
        ``VLLM_CPU_KVCACHE_SPACE``: the memory given to the KV cache [GiB].
    max_model_len : int
        ``--max-model-len`` [tok].
    kv_cache_dtype : str
        ``--kv-cache-dtype`` ("auto" = the model's dtype, or "fp8").
    max_num_batched_tokens : int
        ``--max-num-batched-tokens`` [tok].
    timeout_s : float
        The child is killed past this [s].
    """
    with tempfile.TemporaryDirectory(prefix="selfhost-kvprobe-") as tmp:
        folder = write_model_folder(config, Path(tmp) / "model")
        env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=str(kv_cache_space_gib), VLLM_LOGGING_LEVEL="INFO",
                   TOKENIZERS_PARALLELISM="false")
        args = json.dumps({"model": str(folder), "max_model_len": max_model_len, "kv_cache_dtype": kv_cache_dtype,
                           "max_num_batched_tokens": max_num_batched_tokens})
        script = Path(tmp) / "child.py"
        script.write_text(_CHILD)
        try:
            done = subprocess.run([sys.executable, str(script), args], capture_output=True, text=True,
                                  timeout=timeout_s, env=env, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise SelfhostError(f"vLLM did not start within {timeout_s:.0f} s") from exc
    log = (done.stdout or "") + (done.stderr or "")
    tail = "\n".join(log.splitlines()[-40:])
    kv = KV_LINE.search(log)
    result = RESULT_LINE.search(log)
    if kv is None or result is None:
        raise SelfhostError(f"vLLM did not report its KV cache (exit {done.returncode}):\n{tail}")
    info = json.loads(result.group(1))
    return EngineKvReport(int(kv.group(1).replace(",", "")), float(kv.group(3)), int(info["num_blocks"]),
                          int(info["block_size"]), tail)
