"""A guard that takes a whole process group down with the process that started it (I/O).

``python -m selfhost.live.guard --parent PID -- COMMAND...`` runs COMMAND as its child, in its own
process group (the caller starts the guard with ``start_new_session``), and asks the
kernel for SIGUSR1 when its parent dies (``prctl(PR_SET_PDEATHSIG)``). On that signal it
SIGKILLs the whole group: the engine's API server, its engine core and workers, and
itself. A harness killed with SIGKILL therefore leaves no engine behind. SIGTERM and
SIGINT are passed to the child, for a graceful stop; the guard exits with the child's code.

Standard library only: it starts before anything else is imported.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def children(pid: int) -> list[int]:
    """The live (non-zombie) children of ``pid``, from /proc."""
    return sorted(_parents().get(pid, []))


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children, ...), from /proc."""
    tree, out, todo = _parents(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return sorted(out)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] != "--parent" or not argv[1].isdigit() or argv[2] != "--":
        print("usage: python -m selfhost.live.guard --parent PID -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    parent, command = int(argv[1]), argv[3:]

    def kill_group(signum: int, frame: object) -> None:
        os.killpg(os.getpgrp(), signal.SIGKILL)

    signal.signal(signal.SIGUSR1, kill_group)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        kill_group(signal.SIGUSR1, None)
    child = subprocess.Popen(command)

    def forward(signum: int, frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            return child.wait()
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
