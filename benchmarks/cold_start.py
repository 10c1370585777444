"""Cold start: the first ``nnbasics train`` after install against a warm one, in fresh processes.

A first run compiles the kernels it uses (numba), later runs load them from numba's disk cache.
Each run here is a whole ``python -m nnbasics train`` (the Quick start's main job) in a fresh
interpreter; the cold runs point ``NUMBA_CACHE_DIR`` (numba's documented setting) at an empty
directory, the warm runs at the directory a cold run filled.  Cold and warm runs alternate.

Target (issue 13): the cold run within 2x the time of a warm run.

Usage::

    python benchmarks/cold_start.py [--rounds 3] [-- extra train arguments]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 2.0


def run_train(cache: Path, report: Path, extra: list[str]) -> tuple[float, str]:
    """Seconds of one ``nnbasics train`` in a fresh interpreter, and its stderr."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "nnbasics", "train", "--no-progress", "--report",
               str(report), *extra]
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"nnbasics train failed:\n{proc.stderr}")
    return seconds, proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments passed on to nnbasics train")
    args = parser.parse_args()
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            cache = Path(tmp) / f"cache{r}"
            seconds, err = run_train(cache, Path(tmp) / "report", args.extra)
            said = "compiling kernels" in err
            cold.append(seconds)
            seconds_warm, err_warm = run_train(cache, Path(tmp) / "report", args.extra)
            warm.append(seconds_warm)
            print(f"round {r + 1}: cold {cold[-1]:.2f} s (notice on stderr: {said}), "
                  f"warm {warm[-1]:.2f} s (notice: {'compiling kernels' in err_warm})",
                  flush=True)
    ratio = statistics.median(cold) / statistics.median(warm)
    print(f"median cold {statistics.median(cold):.2f} s, warm {statistics.median(warm):.2f} s: "
          f"cold/warm {ratio:.2f} (target <= {TARGET:g}): {'met' if ratio <= TARGET else 'MISSED'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
