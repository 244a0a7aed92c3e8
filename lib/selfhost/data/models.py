"""Load model configs: ``data/models/*.json`` (with ``manifest.yaml``), any config.json path, and
the served models of ``data/engines/<name>/``. Reads files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selfhost.data.tables import read_yaml, sha256_of
from selfhost.errors import DataError
from selfhost.modelspec import ModelSpec, from_config
from selfhost.paths import data_dir

MODELS_DIR = "models"


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
    candidate = Path(name_or_path)
    models = data_dir() / MODELS_DIR
    named = models / f"{name_or_path}.json"
    if str(name_or_path).endswith(".json") or "/" in str(name_or_path):
        if not candidate.exists():
            raise DataError(candidate, "file not found")
    elif named.exists():
        candidate = named
    else:
        raise DataError(named, f"no such model; known models: {', '.join(model_names())}")
    try:
        config = json.loads(candidate.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(candidate, f"not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise DataError(candidate, "a config.json must hold a JSON object")
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
    return json.loads(config_file.read_text())


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
