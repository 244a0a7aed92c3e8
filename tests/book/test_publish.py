"""`make publish` pushes the built book to gh-pages; here, to a local bare repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from selfhost import paths

pytestmark = pytest.mark.book


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def project(tmp_path: Path) -> Path:
    """A scratch git repository to publish from (the real checkout's branches stay untouched)."""
    repo = tmp_path / "project"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("-c", "user.email=ci@example.invalid", "-c", "user.name=CI", "commit", "-q", "--allow-empty", "-m", "x", cwd=repo)
    git("config", "user.email", "ci@example.invalid", cwd=repo)
    git("config", "user.name", "CI", cwd=repo)
    return repo


def make_publish(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """This checkout's Makefile, run in ``repo``, with this checkout's environment."""
    cmd = ["make", "-s", "-f", str(paths.ROOT / "Makefile"), "publish", f"VENV={paths.ROOT / '.venv'}", *args]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True)


@pytest.mark.slow
def test_publish_pushes_the_built_book_to_gh_pages(tmp_path):
    if not (paths.HTML / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first (make test does)")
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    site = project(tmp_path)
    shutil.copytree(paths.HTML, site / "_build" / "html")
    result = make_publish(site, f"REMOTE={remote}")
    assert result.returncode == 0, result.stderr
    files = git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()
    assert {"index.html", "claims.json", ".nojekyll", "book/analyses/decision-tree.html"} <= set(files)
    assert "Publish the book from" in git("log", "-1", "--format=%s", "gh-pages", cwd=remote)


def test_publish_without_a_built_book_says_so(tmp_path):
    result = make_publish(project(tmp_path))
    assert result.returncode != 0 and "run 'make book' first" in result.stderr
