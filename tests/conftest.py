"""Shared fixtures: a scratch copy of data/ that a test may break without touching the real one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from selfhost import paths


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of data/ that ``selfhost.paths.data_dir()`` points at for this test."""
    target = tmp_path / "data"
    shutil.copytree(paths.ROOT / "data", target, ignore=shutil.ignore_patterns("runs"))
    monkeypatch.setenv("SELFHOST_DATA_DIR", str(target))
    return target
