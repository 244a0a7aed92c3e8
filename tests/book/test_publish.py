"""`make publish` pushes a default build of a clean, committed tree to gh-pages; here, to a local bare repository.

Each test builds a scratch project (a git repository with a small site in ``_build/html``
and the build record that ``make book`` writes) and runs this checkout's Makefile in it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from selfhost import paths
from selfhost.book import pipeline

pytestmark = pytest.mark.book


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def project(tmp_path: Path, built: bool = True, parameters: dict | None = None) -> Path:
    """A scratch git repository to publish from, with a built site and its record (the real checkout stays untouched)."""
    repo = tmp_path / "project"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("config", "user.email", "ci@example.invalid", cwd=repo)
    git("config", "user.name", "CI", cwd=repo)
    (repo / ".gitignore").write_text("_build/\n")
    (repo / "README.md").write_text("a book\n")
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "x", cwd=repo)
    if built:
        build(repo, parameters or {})
    return repo


def build(repo: Path, parameters: dict) -> None:
    """What `make book` leaves: a site and the record of what it was built from."""
    html = repo / "_build" / "html"
    (html / "book").mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text("<html><body>the book</body></html>\n")
    (html / "book" / "ledger.html").write_text("<html><body>C01: holds</body></html>\n")
    (html / "claims.json").write_text(json.dumps([{"id": "C01", "verdict": "holds"}]) + "\n")
    pipeline.write_build_record(parameters, pipeline.tree_state(repo), None, html=html,
                                record=repo / "_build" / pipeline.BUILD_RECORD.name)


def bare(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    return remote


def make_publish(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """This checkout's Makefile, run in ``repo``, with this checkout's environment."""
    cmd = ["make", "-s", "-f", str(paths.ROOT / "Makefile"), "publish", f"VENV={paths.ROOT / '.venv'}", *args]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=120)


def published(remote: Path) -> list[str]:
    return git("log", "--format=%s", "gh-pages", cwd=remote).splitlines()


def test_publish_pushes_a_default_build_of_a_clean_tree(tmp_path):
    remote, repo = bare(tmp_path), project(tmp_path)
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode == 0, result.stderr
    files = git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()
    assert {"index.html", "claims.json", ".nojekyll", "book/ledger.html"} <= set(files)
    commit = git("rev-parse", "HEAD", cwd=repo).strip()
    assert published(remote) == [f"Publish the book from {commit[:12]}"]


def test_publishing_again_adds_a_commit_and_never_force_pushes(tmp_path):
    remote, repo = bare(tmp_path), project(tmp_path)
    assert make_publish(repo, f"REMOTE={remote}").returncode == 0
    # someone else publishes from another clone: our local gh-pages is now behind
    other = tmp_path / "other"
    git("clone", "-q", str(remote), str(other), cwd=tmp_path)
    git("-C", str(other), "checkout", "-q", "gh-pages", cwd=tmp_path)
    (other / "extra.html").write_text("x\n")
    git("-C", str(other), "add", ".", cwd=tmp_path)
    git("-C", str(other), "-c", "user.email=o@example.invalid", "-c", "user.name=O", "commit", "-q", "-m", "theirs",
        cwd=tmp_path)
    git("-C", str(other), "push", "-q", "origin", "gh-pages", cwd=tmp_path)
    (repo / "README.md").write_text("a book, edited\n")
    git("commit", "-q", "-am", "y", cwd=repo)
    build(repo, {})
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode == 0, result.stderr
    history = published(remote)
    assert len(history) == 3 and history[1] == "theirs", history  # on top of theirs: nothing overwritten


def test_a_custom_build_is_never_published(tmp_path):
    remote = bare(tmp_path)
    repo = project(tmp_path, parameters={"decision-tree": {"ttft_target_ms": {"value": 150, "default": 800.0}}})
    for extra in ([], ["FORCE=1"], ["ALLOW_UNCOMMITTED=1"]):
        result = make_publish(repo, f"REMOTE={remote}", *extra)
        assert result.returncode != 0
        assert "built with custom parameters (decision-tree.ttft_target_ms)" in result.stderr
        assert "a reader's parameters are never published" in result.stderr
    assert git("branch", "--list", "gh-pages", cwd=remote).strip() == ""


def test_uncommitted_or_untracked_files_are_refused_unless_allowed(tmp_path):
    remote, repo = bare(tmp_path), project(tmp_path, built=False)
    (repo / "data.csv").write_text("an untracked run\n")
    build(repo, {})
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode != 0 and "uncommitted or untracked files (data.csv)" in result.stderr
    allowed = make_publish(repo, f"REMOTE={remote}", "ALLOW_UNCOMMITTED=1")
    assert allowed.returncode == 0, allowed.stderr
    assert published(remote)[0].endswith("(with uncommitted changes)")


def test_a_build_from_another_commit_or_changed_since_is_refused(tmp_path):
    remote, repo = bare(tmp_path), project(tmp_path)
    (repo / "README.md").write_text("edited after the build\n")
    git("commit", "-q", "-am", "later", cwd=repo)
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode != 0 and "is checked out; run 'make book' again" in result.stderr
    build(repo, {})
    (repo / "_build" / "html" / "index.html").write_text("<html>edited by hand</html>\n")
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode != 0 and "changed after `make book` built it" in result.stderr


def test_a_site_naming_a_local_path_is_refused(tmp_path):
    remote, repo = bare(tmp_path), project(tmp_path, built=False)
    build(repo, {})
    html = repo / "_build" / "html"
    (html / "book" / "ledger.html").write_text(f"<html>read {repo}/data/x.csv</html>\n")
    pipeline.write_build_record({}, pipeline.tree_state(repo), None, html=html,
                                record=repo / "_build" / pipeline.BUILD_RECORD.name)
    result = make_publish(repo, f"REMOTE={remote}")
    assert result.returncode != 0 and "name a local path" in result.stderr and "book/ledger.html" in result.stderr


def test_publish_without_a_built_book_says_so(tmp_path):
    result = make_publish(project(tmp_path, built=False))
    assert result.returncode != 0 and "run 'make book' first" in result.stderr


def test_a_site_without_a_build_record_is_refused(tmp_path):
    repo = project(tmp_path)
    (repo / "_build" / pipeline.BUILD_RECORD.name).unlink()
    result = make_publish(repo, f"REMOTE={bare(tmp_path)}")
    assert result.returncode != 0 and "has no build record" in result.stderr


def test_remote_is_quoted(tmp_path):
    repo = project(tmp_path)
    result = make_publish(repo, "REMOTE=x; echo INJECTED")
    assert result.returncode != 0
    assert "INJECTED" not in result.stdout and "'x; echo INJECTED'" in result.stderr
