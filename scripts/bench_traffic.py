"""Time ``selfhost traffic summarize`` on each trace and print the figures (target: under 10 s each).

    .venv/bin/python scripts/bench_traffic.py [--traces DIR] [--repeat N]

Runs the command as a reader would (a fresh process: interpreter start-up and imports
included) and in-process (the summary alone), over the three public traces in
``/work/shared/traces`` (Mooncake's conversation trace, 12,031 requests and 3 MB, is the
largest). Nothing here asserts the target; it prints it beside the figure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from selfhost.data.traffic import DEFAULT_TRACES, load_manifest, summarize_path, summary_names

TARGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=Path, default=DEFAULT_TRACES, help="folder of the raw traces")
    parser.add_argument("--repeat", type=int, default=3, help="runs per trace; the best is printed")
    args = parser.parse_args()
    selfhost = Path(sys.executable).with_name("selfhost")
    print(f"{'trace':<24} {'MB':>6} {'requests':>9} {'command [s]':>12} {'in-process [s]':>15}  target")
    for name in summary_names():
        path = args.traces / load_manifest(name)["trace_file"]
        if not path.exists():
            print(f"{name:<24} (not found at {path})")
            continue
        command, inner = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([str(selfhost), "traffic", "summarize", str(path), "--json"], check=True,
                           stdout=subprocess.DEVNULL)
            command.append(time.perf_counter() - start)
            start = time.perf_counter()
            summary = summarize_path(path)
            inner.append(time.perf_counter() - start)
        print(f"{name:<24} {path.stat().st_size / 1e6:>6.1f} {summary.requests_count:>9,} {min(command):>12.2f} "
              f"{min(inner):>15.2f}  < {TARGET_S:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
