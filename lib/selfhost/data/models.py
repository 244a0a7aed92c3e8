"""Load model configs: ``data/models/*.json`` (with ``manifest.yaml``), any config.json path, and
the served models of ``data/engines/<name>/``. Reads files.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from selfhost import memory
from selfhost.data.hardware import load_gpus
from selfhost.data.tables import load_rows, read_yaml, sha256_of
from selfhost.errors import DataError
from selfhost.modelspec import ModelSpec, from_config
from selfhost.paths import data_dir
from selfhost.units import GIB

MODELS_DIR = "models"
#: The largest config.json read [B]: real ones are a few kB (Llama 4's, with its vision
#: config, is under 10 kB); anything larger is not a config (``/dev/zero``, a weights file).
MAX_CONFIG_BYTES = 4 * 2**20
#: A name of ``data/models/`` (a file stem); anything else is taken as a path.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def read_config_file(path: Path) -> dict[str, Any]:
    """A config.json read as an untrusted file: a DataError names the file for anything that is not one.

    Refused without reading: a path that is not a regular file (a directory, ``/dev/zero``,
    a FIFO, which would block), one larger than :data:`MAX_CONFIG_BYTES`; then text that
    is not UTF-8 JSON, JSON nested too deeply to parse, or JSON that is not an object.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise DataError(path, f"cannot be read: {exc.__class__.__name__}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(path, "is a directory, not a config.json (give the config.json inside it)")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(path, "is not a regular file (a device, FIFO or socket): not read")
    if info.st_size > MAX_CONFIG_BYTES:
        raise DataError(path, f"is {info.st_size:,} bytes, larger than any config.json ({MAX_CONFIG_BYTES:,} at most)")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise DataError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise DataError(path, f"is larger than any config.json ({MAX_CONFIG_BYTES:,} bytes at most)")
    try:
        config = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataError(path, "is not UTF-8 text, so not a config.json") from None
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise DataError(path, "not valid JSON for a config: nested too deeply") from None
    if not isinstance(config, dict):
        raise DataError(path, "a config.json must hold a JSON object")
    return config


def models_manifest() -> dict[str, Any]:
    """``data/models/manifest.yaml``: file name -> its provenance and official parameter counts."""
    path = data_dir() / MODELS_DIR / "manifest.yaml"
    raw = read_yaml(path)
    files = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(files, dict) or not files:
        raise DataError(path, "expected a 'files' mapping")
    for name, entry in files.items():
        for key in ("source", "retrieved", "sha256", "official_total_params", "official_active_params"):
            if key not in entry:
                raise DataError(path, f"entry {name} lacks {key!r}")
    return files


def model_names() -> list[str]:
    """Stems of the model configs in ``data/models/`` (``llama-4-scout``, ...)."""
    return [name.removesuffix(".json") for name in models_manifest()]


def load_model_config(name_or_path: str | Path) -> tuple[dict, Path]:
    """A model's config.json as a dict, and its path.

    ``name_or_path`` is a stem of ``data/models/`` (``llama-3.3-70b``) or a path to any
    config.json. A file of ``data/models/`` must match the sha256 its manifest records.
    Raises DataError naming the file when it is missing or not a JSON object.
    """
    text = str(name_or_path)
    models = data_dir() / MODELS_DIR
    if "\x00" in text:
        raise DataError(repr(text), "a path cannot contain a NUL character")
    candidate = Path(name_or_path)
    if NAME.match(text) and not text.endswith(".json"):
        named = models / f"{text}.json"
        if named.is_file():
            candidate = named
        elif not os.path.lexists(text):
            raise DataError(named, f"no such model; known models: {', '.join(model_names())}")
    config = read_config_file(candidate)
    if candidate.resolve().parent == models.resolve():
        entry = models_manifest().get(candidate.name)
        if entry is None:
            raise DataError(candidate, "not listed in data/models/manifest.yaml")
        if sha256_of(candidate) != entry["sha256"]:
            raise DataError(candidate, "sha256 differs from data/models/manifest.yaml (update the manifest)")
    return config, candidate


def load_model_spec(name_or_path: str | Path) -> ModelSpec:
    """A :class:`selfhost.modelspec.ModelSpec` from a model name or config path."""
    config, path = load_model_config(name_or_path)
    return from_config(config, path.stem, str(path))


def engine_model_dir(name: str) -> Path:
    """``data/engines/<name>``: a served model's committed config.json and its manifest."""
    return data_dir() / "engines" / name


def load_engine_model_config(name: str = "tiny-llama") -> dict[str, Any]:
    """``data/engines/<name>/config.json``, checked against its manifest's sha256."""
    folder = engine_model_dir(name)
    manifest = read_yaml(folder / "manifest.yaml")
    config_file = folder / "config.json"
    entry = ((manifest or {}).get("files") or {}).get("config.json")
    if entry is None:
        raise DataError(folder / "manifest.yaml", "config.json is not listed under files")
    if not config_file.exists():
        raise DataError(config_file, "file not found")
    if sha256_of(config_file) != entry["sha256"]:
        raise DataError(config_file, "sha256 differs from the manifest (update data/engines/<name>/manifest.yaml)")
    return read_config_file(config_file)


def load_engine_manifest(name: str = "tiny-llama") -> dict[str, Any]:
    """``data/engines/<name>/manifest.yaml`` (the tokenizer recipe and the files' checksums)."""
    raw = read_yaml(engine_model_dir(name) / "manifest.yaml")
    if not isinstance(raw, dict):
        raise DataError(engine_model_dir(name) / "manifest.yaml", "expected a mapping")
    return raw


def load_probe_spec(config_file: str) -> ModelSpec:
    """A KV-cache probe model (``data/kv_probe_configs/<config_file>``, see its manifest) as a ModelSpec."""
    path = data_dir() / "kv_probe_configs" / config_file
    config, _ = load_model_config(path)
    return from_config(config, path.stem, str(path))


# ---------------------------------------------------------------------- tables the pages show
def load_model_specs(names: list[str] | None = None) -> list[ModelSpec]:
    """The specs of ``names`` (default: every model of ``data/models/``)."""
    return [load_model_spec(n) for n in (model_names() if names is None else names)]


def parameter_table() -> list[dict[str, Any]]:
    """Every shipped model's total and active parameters beside its publisher's figures (the manifest's)."""
    manifest = models_manifest()
    rows = []
    for name in model_names():
        s = load_model_spec(name)
        p = s.params()
        entry = manifest[f"{name}.json"]
        experts = "dense"
        if s.is_moe:
            experts = f"{s.experts_per_token} of {s.num_experts}" + (f" + {s.num_shared_experts} shared"
                                                                     if s.num_shared_experts else "")
        rows.append({"model": name, "total_params": p.total, "active_params": p.active,
                     "total_b_params": p.total / 1e9, "active_b_params": p.active / 1e9,
                     "official_total_b_params": entry["official_total_params"] / 1e9,
                     "official_active_b_params": entry["official_active_params"] / 1e9, "experts": experts,
                     "bf16_weights_gib": 2 * p.total / GIB, "total_over_active_x": p.total / p.active})
    return rows


def kv_cache_run_table() -> list[dict[str, Any]]:
    """``data/kv_cache_runs.csv`` with the library's KV capacity recomputed from each recorded config."""
    rows = []
    for run in load_rows("kv_cache_runs"):
        probe = load_probe_spec(run["config_file"])
        cap = memory.vllm_kv_capacity(probe, run["kv_cache_space_gib"] * GIB, run["max_model_len"],
                                      run["vllm_block_size"], 1, run["kv_cache_dtype"],
                                      run["max_concurrent_batches"] * run["max_num_batched_tokens"])
        rows.append({**run, "library_kv_tok": cap.kv_tokens, "vllm_kv_tok": run["vllm_kv_tokens"],
                     "equal": cap.kv_tokens == run["vllm_kv_tokens"]})
    return rows


def startup_log_table(context_tokens: int) -> list[dict[str, Any]]:
    """``data/vllm_startup_logs.csv`` beside the library: weights per GPU, and KV tokens where the log gives its memory.

    A log without the GPU's total is budgeted from its GPU's (``data/gpus.csv``); the KV
    tokens are computed for the log's ``max_model_len`` (else ``context_tokens``) with
    vLLM's block size.
    """
    gpus = load_gpus()
    rows = []
    for log in load_rows("vllm_startup_logs"):
        spec = load_model_spec(log["model_file"].removesuffix(".json"))
        total = log["total_gib"] or gpus[log["gpu"]].budget_gib
        serving = memory.Serving(total, log["max_model_len"] or context_tokens, tp=log["tp"],
                                 weight_dtype=log["weight_dtype"])
        kv = None
        if log["kv_tokens"] is not None and log["kv_cache_gib"] is not None:
            kv = memory.vllm_kv_capacity(spec, log["kv_cache_gib"] * GIB, serving.max_model_len,
                                         memory.VLLM_BLOCK_SIZE, log["tp"]).kv_tokens
        rows.append({"log": log["log_id"], "model": log["model_note"], "tp_count": log["tp"],
                     "weight_dtype": log["weight_dtype"], "reported_weights_gib": log["weights_gib"],
                     "library_weights_gib": memory.weights_gib_per_gpu(spec, serving),
                     "reported_kv_tok": log["kv_tokens"], "library_kv_tok": kv})
    return rows
