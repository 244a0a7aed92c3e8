"""Time each step of the pipeline and print the figures (``make bench``).

Steps: environment set-up from scratch (a fresh clone and ``make env``; skip with
``--skip-env``), each notebook's execution with its defaults, one notebook re-run with
new parameters, and the whole book build (``selfhost book``, step by step). The targets
the project holds itself to are printed beside the figures; nothing here asserts them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selfhost import paths
from selfhost.book import pipeline

TARGETS_S = {"make book (deps installed)": 60.0, "re-run one notebook": 10.0}
RERUN = ("decision-tree", {"api_spend_usd_per_month": 25_000.0, "ttft_target_ms": 150.0})


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-env", action="store_true", help="do not time a from-scratch environment")
    args = parser.parse_args()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_env:
            clone = Path(tmp) / "clone"
            subprocess.run(["git", "clone", "-q", str(paths.ROOT), str(clone)], check=True)
            rows.append(("environment set-up (fresh clone, make env)", timed(["make", "-s", "env"], clone)))
        for nb in pipeline.notebooks():
            rows.append((f"notebook {nb.name}", pipeline.execute(nb, Path(tmp) / nb.name)))
        stem, params = RERUN
        rows.append(("re-run one notebook", pipeline.execute(paths.NOTEBOOKS / f"{stem}.ipynb", Path(tmp) / "rerun.ipynb", params)))
    start = time.perf_counter()
    timings = pipeline.build()
    rows += [(f"  book: {k}", v) for k, v in timings.steps.items()]
    rows.append(("make book (deps installed)", time.perf_counter() - start))
    width = max(len(k) for k, _ in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  target")
    for name, seconds in rows:
        target = TARGETS_S.get(name)
        print(f"{name:<{width}}  {seconds:8.1f}  {f'< {target:.0f} s' if target else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
