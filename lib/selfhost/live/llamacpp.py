"""llama.cpp's server on this CPU: the second real engine of the live comparisons (I/O).

llama.cpp is served from the ``xllamacpp`` wheel (a prebuilt CPU build of llama.cpp's
server with Python bindings: OpenAI-compatible ``/v1/completions``, Prometheus
``/metrics`` with ``llamacpp:*`` series, prompt caching per slot). It serves the same
model as vLLM: :func:`write_gguf` writes a GGUF file from the served folder's
``config.json`` and ``tokenizer.json`` (the same byte-level BPE vocabulary and merges)
with random weights of the same shapes, so that both engines compute the same
architecture on the same prompts.

- :func:`write_gguf`: config.json + tokenizer.json -> ``model.gguf`` (F16 weights, random,
  from a fixed seed; cached beside the folder).
- :class:`LlamaCppServer`: ``python -m selfhost.live.llamacpp serve ...`` in its own
  process group on 127.0.0.1, with the process handling of
  :class:`selfhost.live.engine.VllmServer` (killed on exit, on error, on Ctrl-C).

References
----------
GGUF format and the ``llama`` architecture's tensor and key names: the ``gguf`` package
(``gguf.constants``, ``GGUFWriter``), ggml-org/llama.cpp ``gguf-py``; the server's options:
llama.cpp ``tools/server/README.md`` (``--parallel``, ``--ctx-size``, ``--kv-unified``,
``--cache-reuse``, ``--metrics``), exposed by xllamacpp as ``CommonParams``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from selfhost.live import engine as eng

#: How the weights are stored (llama.cpp's CPU kernels for F16 use AVX2/F16C here).
WEIGHT_TYPE = "F16"
GGUF_NAME = "model.gguf"


def xllamacpp_version() -> str:
    """The installed xllamacpp wheel's version, or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xllamacpp")
    except PackageNotFoundError:
        return "unknown"


def write_gguf(model_dir: Path, out: Path | None = None, seed: int = 0) -> Path:
    """Write ``model_dir``'s Llama config and tokenizer as a GGUF file with random F16 weights.

    Cached: rewritten only when the config, the tokenizer or the seed change (their hash
    is stored beside the file).
    """
    import gguf
    import numpy as np

    model_dir = Path(model_dir)
    out = Path(out) if out else model_dir / GGUF_NAME
    cfg_text = (model_dir / "config.json").read_text()
    tok_text = (model_dir / "tokenizer.json").read_text()
    stamp = out.with_suffix(".stamp")
    want = hashlib.sha256((cfg_text + tok_text + str(seed) + WEIGHT_TYPE).encode()).hexdigest()
    if out.exists() and stamp.exists() and stamp.read_text() == want:
        return out
    cfg, tok = json.loads(cfg_text), json.loads(tok_text)
    if cfg.get("model_type") != "llama":
        raise eng.EngineError(f"{model_dir}/config.json: model_type {cfg.get('model_type')!r}; only llama is written")
    h, layers, heads, kv = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, ff, vocab = cfg.get("head_dim", h // heads), cfg["intermediate_size"], cfg["vocab_size"]
    tmp = out.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), "llama")
    w.add_name(model_dir.name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(h)
    w.add_block_count(layers)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    w.add_rope_dimension_count(hd)
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_vocab_size(vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens = [t for t, _ in sorted(tok["model"]["vocab"].items(), key=lambda kv_: kv_[1])]
    if len(tokens) != vocab:
        raise eng.EngineError(f"{model_dir}: tokenizer has {len(tokens)} entries, config.json says {vocab}")
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    specials = {t["id"] for t in tok.get("added_tokens", [])}
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL if i in specials else gguf.TokenType.NORMAL for i in range(vocab)])
    w.add_token_merges(merges)
    w.add_bos_token_id(int(cfg.get("bos_token_id", 1)))
    w.add_eos_token_id(int(cfg.get("eos_token_id", 2)))
    w.add_pad_token_id(int(cfg.get("pad_token_id", 0)))
    w.add_add_bos_token(False)  # as the tokenizer_config.json vLLM's client reads
    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> Any:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)

    w.add_tensor("token_embd.weight", rand(vocab, h))
    for i in range(layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(h, np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", rand(heads * hd, h))
        w.add_tensor(f"blk.{i}.attn_k.weight", rand(kv * hd, h))
        w.add_tensor(f"blk.{i}.attn_v.weight", rand(kv * hd, h))
        w.add_tensor(f"blk.{i}.attn_output.weight", rand(h, heads * hd))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(h, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", rand(ff, h))
        w.add_tensor(f"blk.{i}.ffn_up.weight", rand(ff, h))
        w.add_tensor(f"blk.{i}.ffn_down.weight", rand(h, ff))
    w.add_tensor("output_norm.weight", np.ones(h, np.float32))
    w.add_tensor("output.weight", rand(vocab, h))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)
    stamp.write_text(want)
    return out


class LlamaCppServer(eng.VllmServer):
    """llama.cpp's server (xllamacpp) on 127.0.0.1 serving ``model_dir`` as GGUF, as a context manager.

    Parameters
    ----------
    model_dir : Path
        The folder from :func:`selfhost.live.engine.prepare_model` (config + tokenizer).
    port : int
        In :data:`selfhost.live.engine.PORT_RANGE`.
    prefix_caching : bool
        llama.cpp's prompt cache (``cache_prompt``: a slot reuses the longest common prefix
        of its previous prompt).
    n_ctx : int
        The KV cache, shared by all slots (``--kv-unified``) [tokens].
    n_parallel : int
        Slots: requests decoded together.
    threads : int
        CPU threads for decode and prompt processing.
    """

    label = "llama.cpp"

    def __init__(self, model_dir: Path, port: int, *, served_name: str = eng.SERVED_NAME_DEFAULT,
                 prefix_caching: bool = True, n_ctx: int = 32_768, n_parallel: int = 8, threads: int = 2,
                 startup_timeout_s: float = 120.0, log_dir: Path | None = None, ports: range = eng.PORT_RANGE) -> None:
        super().__init__(model_dir, port, prefix_caching=prefix_caching, max_model_len=n_ctx,
                         startup_timeout_s=startup_timeout_s, served_name=served_name, log_dir=log_dir, ports=ports)
        self.n_ctx, self.n_parallel, self.threads = n_ctx, n_parallel, threads
        self.gguf: Path | None = None

    def args(self) -> list[str]:
        return ["--gguf", str(self.gguf or self.model_dir / GGUF_NAME), "--alias", self.served_name,
                "--host", eng.HOST, "--port", str(self.port), "--n-ctx", str(self.n_ctx),
                "--n-parallel", str(self.n_parallel), "--threads", str(self.threads),
                "--cache-prompt" if self.prefix_caching else "--no-cache-prompt"]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "selfhost.live.llamacpp", "serve", *self.args()]

    def start(self) -> eng.ServerInfo:
        self.gguf = write_gguf(self.model_dir)
        return super().start()

    def describe(self, startup_s: float) -> eng.ServerInfo:
        version, props = eng.engine_version(self.base_url, "llama.cpp")
        resolved = {"props": eng._trim(props) if props else None, "n_ctx": self.n_ctx, "n_parallel": self.n_parallel,
                    "kv_unified": True, "cache_prompt": self.prefix_caching, "weights": WEIGHT_TYPE,
                    "gguf_sha256": hashlib.sha256(Path(self.gguf or "").read_bytes()).hexdigest() if self.gguf else None}
        return eng.ServerInfo(self.base_url, "llama.cpp", f"xllamacpp {xllamacpp_version()} (llama.cpp build {version})",
                              self.served_name, launched=True, prefix_caching=self.prefix_caching, args=self.args(),
                              startup_s=startup_s, log_path=str(self.log_path), resolved_config=resolved,
                              launch_id=f"llama.cpp-{self.port}-{int(time.time())}")


# --------------------------------------------------------------------------- the server process


def serve(argv: list[str]) -> int:
    """The server process: start xllamacpp's server and wait for SIGTERM."""
    p = argparse.ArgumentParser(prog="selfhost.live.llamacpp serve")
    p.add_argument("--gguf", required=True)
    p.add_argument("--alias", required=True)
    p.add_argument("--host", default=eng.HOST)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n-ctx", type=int, default=32_768)
    p.add_argument("--n-parallel", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cache-prompt", action=argparse.BooleanOptionalAction, default=True)
    a = p.parse_args(argv)
    if a.host not in ("127.0.0.1", "localhost"):
        print(f"refusing to listen on {a.host}: this harness binds 127.0.0.1 only", flush=True)
        return 2
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = a.gguf
    params.model_alias = {a.alias}
    params.hostnames = [a.host]
    params.port = a.port
    params.n_ctx = a.n_ctx
    params.n_parallel = a.n_parallel
    params.kv_unified = True
    params.cache_prompt = a.cache_prompt
    params.endpoint_metrics = True
    params.endpoint_props = True
    params.cpuparams.n_threads = a.threads
    params.cpuparams_batch.n_threads = a.threads
    server = xllamacpp.Server(params)
    print(f"llama.cpp (xllamacpp {xllamacpp_version()}) listening on {server.listening_address}", flush=True)
    stop = {"now": False}

    def on_term(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    with contextlib.suppress(KeyboardInterrupt):
        while not stop["now"]:
            time.sleep(0.5)
    return 0


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2:]))
    sys.exit("usage: python -m selfhost.live.llamacpp serve --gguf FILE --alias NAME --port N")
