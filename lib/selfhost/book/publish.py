"""``make publish``: push the built book to a ``gh-pages`` branch, only when it is fit to publish.

The site in ``_build/html`` is published only if ``make book`` built it to the end and
nothing has changed since (:data:`selfhost.book.pipeline.BUILD_RECORD` and its digest of
the site), it was built with the default parameters (a reader's own parameters are never
published: there is no option to override this), it was built from the commit that is
checked out now, from a tree with no uncommitted or untracked file (``allow_uncommitted``
overrides this, and the commit message then says so), and no page names a local absolute
path. The branch is pushed as a new commit on top of the remote's ``gh-pages``; it is
force-pushed only when ``force`` is asked for.

Machinery (git and ghp-import).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from selfhost.book import pipeline
from selfhost.errors import SelfhostError

#: A local absolute path (the builder's machine is nobody's business).
LOCAL_PATH = re.compile(r"(?<![\w.:/])/(?:work|tmp|home|root|Users|var/folders)/[\w.-]")
#: Files of the site that are text written from the book's content (the theme's own files are not).
TEXT_SUFFIXES = (".html", ".ipynb", ".json", ".md", ".txt")


def local_paths(html: Path, repo: Path) -> list[str]:
    """Files of the site that name a local absolute path (the repository's or any home/temporary folder)."""
    found = []
    for path in sorted(html.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "_static" in path.relative_to(html).parts:
            continue
        text = path.read_text(errors="replace")
        m = LOCAL_PATH.search(text)
        if m or str(repo) in text:
            start = m.start() if m else text.index(str(repo))
            found.append(f"{path.relative_to(html)}: {text[start:start + 60]!r}")
    return found


def check(repo: Path, allow_uncommitted: bool = False) -> dict:
    """Why the book in ``repo/_build/html`` must not be published (SelfhostError), or its build record."""
    html = repo / "_build" / "html"
    if not (html / "index.html").is_file():
        raise SelfhostError("no built book in _build/html; run 'make book' first")
    record = pipeline.read_build_record(repo / "_build" / pipeline.BUILD_RECORD.name)
    if not record:
        raise SelfhostError("_build/html has no build record: it was not built to the end by `make book`; "
                            "run 'make book' first")
    if record.get("custom") or record.get("parameters"):
        names = sorted(f"{stem}.{name}" for stem, params in (record.get("parameters") or {}).items() for name in params)
        raise SelfhostError("the book in _build/html was built with custom parameters "
                            f"({', '.join(names) or 'a parameters file'}); a reader's parameters are never "
                            "published: run 'make book' without PARAMS, then publish")
    if pipeline.site_digest(html) != record.get("site_sha256"):
        raise SelfhostError("_build/html changed after `make book` built it; run 'make book' again")
    now = pipeline.tree_state(repo)
    if not record.get("commit") or record["commit"] != now["commit"]:
        raise SelfhostError(f"the book was built from commit {str(record.get('commit'))[:12]}, but "
                            f"{str(now['commit'])[:12]} is checked out; run 'make book' again")
    if not allow_uncommitted and not (record.get("tree_clean") and now["tree_clean"]):
        changed = record.get("changed_paths") or now["changed_paths"]
        raise SelfhostError("the book was built from a tree with uncommitted or untracked files "
                            f"({', '.join(changed[:5])}{', ...' if len(changed) > 5 else ''}); commit them and "
                            "run 'make book' again (or publish anyway with ALLOW_UNCOMMITTED=1)")
    leaks = local_paths(html, repo)
    if leaks:
        raise SelfhostError(f"{len(leaks)} files of the site name a local path, the first {leaks[0]}; "
                            "nothing was published")
    return record


def publish(repo: Path, remote: str, branch: str = "gh-pages", force: bool = False,
            allow_uncommitted: bool = False) -> str:
    """Check the build (:func:`check`), then commit ``_build/html`` on top of ``remote``'s branch and push it.

    Returns the commit message. A push the remote refuses (its branch moved on) is an
    error, not a force-push, unless ``force``.
    """
    if not remote or remote.startswith("-"):
        raise SelfhostError(f"remote {remote!r}: expected a git remote's name or address")
    if not re.fullmatch(r"[\w./-]+", branch) or branch.startswith("-"):
        raise SelfhostError(f"branch {branch!r}: expected a branch name")
    record = check(repo, allow_uncommitted)
    has_remote_branch = subprocess.run(["git", "ls-remote", "--exit-code", "--heads", "--", remote, branch],
                                       cwd=repo, capture_output=True, text=True)
    if has_remote_branch.returncode not in (0, 2):
        raise SelfhostError(f"cannot reach remote {remote!r}: {has_remote_branch.stderr.strip()[:200]}")
    if has_remote_branch.returncode == 0:
        # build on the remote's branch, so that the push is a fast-forward
        fetched = subprocess.run(["git", "fetch", "--quiet", "--", remote, f"refs/heads/{branch}"],
                                 cwd=repo, capture_output=True, text=True)
        if fetched.returncode != 0:
            raise SelfhostError(f"cannot fetch {branch} from {remote!r}: {fetched.stderr.strip()[:200]}")
        subprocess.run(["git", "update-ref", f"refs/heads/{branch}", "FETCH_HEAD"], cwd=repo, check=True,
                       capture_output=True)
    message = f"Publish the book from {record['commit'][:12]}"
    if not (record.get("tree_clean") and pipeline.tree_state(repo)["tree_clean"]):
        message += " (with uncommitted changes)"
    cmd = [str(Path(sys.executable).with_name("ghp-import")), "--no-jekyll", "--push", "--remote", remote,
           "--branch", branch, "--message", message, *(["--force"] if force else []), str(repo / "_build" / "html")]
    done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[:300]
        hint = "" if force else " (the remote's branch may have moved on: publish again, or FORCE=1 to overwrite it)"
        raise SelfhostError(f"ghp-import could not push to {remote!r}{hint}: {detail}")
    return message
