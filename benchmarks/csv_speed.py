"""CSV reading: nnbasics' ``load_csv`` against ``np.loadtxt`` and (when installed) pandas.

One numeric CSV of about ``--mb`` megabytes (``--columns`` features of six decimals and an
integer label, seeded) is written to a temporary directory, then each reader loads it in a fresh
interpreter, ``--repeat`` times, and the script prints the best wall time and the reader's peak
resident memory above the interpreter's after its imports (``VmHWM`` of ``/proc/self/status``,
Linux), next to the file's size.

Readers:

* ``nnbasics``: :func:`nnbasics.io.datasets.load_csv` (the whole job: header guess, features as
  float32, labels as int64, every check);
* ``np.loadtxt``: ``np.loadtxt(path, delimiter=",", skiprows=1)``, float64, nothing else;
* ``pandas``: ``pandas.read_csv(path)`` then ``.to_numpy()`` (skipped if pandas is absent);
* ``nnbasics 0.1`` with ``--old``: the row-by-row ``csv``-module loader this one replaced, taken
  from git (``git show a3a034d:src/nnbasics/io/datasets.py``), slow: use a smaller ``--mb``.

Targets (issue 15, item 8): ``nnbasics`` within 2x the fastest reader's time and its peak memory
within 3x the file's size.  Exit code 1 if either is missed.

Run:  flock -x /tmp/nnbasics_cpu.lock python benchmarks/csv_speed.py [--mb 88] [--repeat 3]
      [--old]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

_MEASURE = textwrap.dedent("""
    import sys, time
    {imports}
    def peak_kib():
        with open("/proc/self/status") as status:
            return int(next(l.split()[1] for l in status if l.startswith("VmHWM")))
    path = sys.argv[1]
    before = peak_kib()
    best = float("inf")
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        result = {call}
        best = min(best, time.perf_counter() - start)
        del result
    print(best, peak_kib() - before)
""")

READERS = {
    "nnbasics": ("from nnbasics.io.datasets import load_csv", "load_csv(path)"),
    "np.loadtxt": ("import numpy as np",
                   "np.loadtxt(path, delimiter=',', skiprows=1)"),
    "pandas": ("import pandas as pd", "pd.read_csv(path).to_numpy()"),
}


def write_csv(path: Path, megabytes: float, columns: int, seed: int = 0) -> int:
    """A CSV of about ``megabytes`` MB: a header, ``columns`` features in [0, 1) with six
    decimals, an integer label in 0..9.  Returns the number of rows."""
    rng = np.random.default_rng(seed)
    row_bytes = columns * 9 + 2  # "0.123456," per feature, "7\n"
    n_rows = int(megabytes * 1e6 / row_bytes)
    with open(path, "w") as fh:
        fh.write(",".join(f"x{i}" for i in range(columns)) + ",label\n")
        for start in range(0, n_rows, 10_000):
            n = min(10_000, n_rows - start)
            block = np.column_stack([rng.random((n, columns)), rng.integers(0, 10, n)])
            np.savetxt(fh, block, delimiter=",", fmt=["%.6f"] * columns + ["%d"])
    return n_rows


def old_reader(directory: Path) -> tuple[str, str]:
    """The 0.1 loader, written beside the data as a module the subprocess imports."""
    source = subprocess.run(["git", "show", "a3a034d:src/nnbasics/io/datasets.py"], check=True,
                            capture_output=True, text=True, cwd=Path(__file__).parent).stdout
    (directory / "old_datasets.py").write_text(source)
    return (f"sys.path.insert(0, {str(directory)!r}); from old_datasets import load_csv",
            "load_csv(path)")


def measure(imports: str, call: str, path: Path, repeat: int) -> tuple[float, float]:
    """Best seconds of ``repeat`` calls and peak MB above the imports, in a fresh interpreter."""
    code = _MEASURE.format(imports=imports, call=call)
    out = subprocess.run([sys.executable, "-c", code, str(path), str(repeat)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=88.0, help="CSV size in MB")
    parser.add_argument("--columns", type=int, default=64, help="feature columns")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per reader")
    parser.add_argument("--old", action="store_true", help="also time the 0.1 loader")
    args = parser.parse_args()
    if not os.path.exists("/proc/self/status"):
        print("needs /proc/self/status (Linux) for the peak memory", file=sys.stderr)
        return 2
    readers = dict(READERS)
    if importlib.util.find_spec("pandas") is None:
        del readers["pandas"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        n_rows = write_csv(path, args.mb, args.columns)
        size_mb = path.stat().st_size / 2**20
        if args.old:
            readers["nnbasics 0.1"] = old_reader(Path(tmp))
        print(f"{path.name}: {size_mb:.1f} MiB, {n_rows} rows x {args.columns + 1} columns; "
              f"numpy {np.__version__}, python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs; best of {args.repeat}")
        results = {}
        for name, (imports, call) in readers.items():
            seconds, peak = measure(imports, call, path, args.repeat)
            results[name] = (seconds, peak)
            print(f"  {name:<13} {seconds:7.2f} s   peak {peak:7.0f} MiB "
                  f"({peak / size_mb:.2f}x the file)")
    fastest = min(s for name, (s, _) in results.items() if name not in ("nnbasics",
                                                                         "nnbasics 0.1"))
    ours, ours_peak = results["nnbasics"]
    time_ok, memory_ok = ours <= 2 * fastest, ours_peak <= 3 * size_mb
    print(f"nnbasics / fastest peer: {ours / fastest:.2f}x time (target <= 2: "
          f"{'met' if time_ok else 'MISSED'}); peak {ours_peak / size_mb:.2f}x the file "
          f"(target <= 3: {'met' if memory_ok else 'MISSED'})")
    return 0 if time_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
