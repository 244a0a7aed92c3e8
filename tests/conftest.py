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


_EXIT_STATUS = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process once pytest has reported, when Triton was imported (through vLLM).

    Triton's nanobind bindings print a long "leaked instances" report at interpreter exit,
    after pytest's summary line, which would then no longer be the last thing printed.
    """
    import os
    import sys

    if "triton" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS["code"])
