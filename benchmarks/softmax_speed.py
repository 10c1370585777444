"""Speed of nnbasics' readable softmax, log_softmax and sigmoid next to SciPy's (and torch's).

nnbasics' course functions are their NumPy formula (``exp(x - max) / sum``, ``1 / (1 + exp(-x))``)
with no compiled code; this script checks that they stay as fast as NumPy allows: within 10% of
SciPy's equivalents (``scipy.special.softmax``, ``log_softmax``, ``expit``), ``ours/scipy <= 1.10``
in every case.  torch's CPU functions are timed for information only (no target).

Fairness:

* every peer computes the same thing along the last axis of a C-contiguous array and returns a
  new array; inputs are built once (torch tensors with ``from_numpy``, sharing the memory);
* each function is warmed up, then timed in rounds after a short idle gap (``SETTLE_S``) and an
  untimed call: ours and SciPy alternately, call by call, and the ratio ``o/scipy`` is the median
  of the ratios of neighbouring calls (robust to a shared machine's slow phases); torch in a
  block of its own, so that its OpenMP workers, which spin a few ms after a call, never hold a
  core while ours or SciPy's is timed; ``best`` is the ratio of the two fastest calls, the
  least disturbed estimate on a busy machine (for information: the target is on ``o/scipy``);
* times are medians; the answers are compared with SciPy's (in float64) before anything is
  timed.

Run:  python benchmarks/softmax_speed.py [--repeat 30] [--quick]
Exit code 1 if a case misses the SciPy target.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy
import scipy.special

import nnbasics

try:  # torch is an optional peer, for information
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

SCIPY_TARGET = 1.10  # ours / scipy must not exceed this
SETTLE_S = 0.02  # idle time before each peer's block of calls
BLOCK = 5  # timed calls per peer and round

# (rows, cols): the 512x2048, a training batch of 10 classes (call overhead dominates),
# a large batch, a wide vocabulary-sized row set and one long row.
SHAPES_FULL = [(512, 2048), (128, 10), (4096, 1024), (64, 50_000), (1, 1_000_000)]
SHAPES_QUICK = [(512, 2048), (128, 10), (4096, 1024)]
DTYPES = [np.float32, np.float64]
OPS = ["softmax", "log_softmax", "sigmoid"]


def _peers(op: str, x: np.ndarray) -> dict[str, Callable[[], object]]:
    ours = {"softmax": nnbasics.softmax, "log_softmax": nnbasics.log_softmax,
            "sigmoid": nnbasics.sigmoid}[op]
    if op == "sigmoid":
        fns = {"ours": lambda: ours(x), "scipy": lambda: scipy.special.expit(x)}
    else:
        theirs = scipy.special.softmax if op == "softmax" else scipy.special.log_softmax
        fns = {"ours": lambda: ours(x, axis=-1), "scipy": lambda: theirs(x, axis=-1)}
    if torch is not None:
        t = torch.from_numpy(x)
        if op == "sigmoid":
            fns["torch"] = lambda: torch.sigmoid(t)
        else:
            torch_fn = torch.softmax if op == "softmax" else torch.log_softmax
            fns["torch"] = lambda: torch_fn(t, dim=-1)
    return fns


def _check_agreement(op: str, x: np.ndarray) -> None:
    """Never time a wrong answer: ours must match SciPy (computed in float64) on this input."""
    fns = _peers(op, x)
    ours = fns["ours"]()
    ref = _peers(op, x.astype(np.float64))["scipy"]()
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    if ours.dtype != x.dtype or not np.allclose(ours, ref, rtol=tol, atol=tol):
        raise SystemExit(f"{op} {x.shape} {x.dtype}: nnbasics disagrees with SciPy; not timing it")


def _median_times(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median time of each peer, and ``"ours/scipy"``: the median of paired ratios.

    ours and SciPy are called alternately, one call each, so that both see the same phase of a
    shared machine and each ratio compares neighbours in time; torch (whose workers spin after a
    call) gets its own block after an idle gap.
    """
    for fn in fns.values():
        for _ in range(3):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    pair_ratios: list[float] = []
    while len(pair_ratios) < repeat:
        time.sleep(SETTLE_S)
        fns["ours"](), fns["scipy"]()  # untimed: wake the core after the idle gap
        for _ in range(BLOCK):
            pair = {}
            for name in ("ours", "scipy"):
                t0 = time.perf_counter()
                fns[name]()
                pair[name] = time.perf_counter() - t0
                samples[name].append(pair[name])
            pair_ratios.append(pair["ours"] / pair["scipy"])
        if "torch" in fns:
            time.sleep(SETTLE_S)
            fns["torch"]()
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                fns["torch"]()
                samples["torch"].append(time.perf_counter() - t0)
    times = {name: statistics.median(s) for name, s in samples.items()}
    times["ours/scipy"] = statistics.median(pair_ratios)
    times["best ours/scipy"] = min(samples["ours"]) / min(samples["scipy"])
    return times


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per peer and case")
    parser.add_argument("--quick", action="store_true", help="three shapes only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
          f" torch {torch.__version__ if torch is not None else 'not installed'} "
          f"({torch.get_num_threads() if torch is not None else '-'} threads)")
    print(f"{platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}; median of {args.repeat}+ calls, times in ms; "
          f"load average {_load()}\n")
    header = (f"{'op':<12}{'shape':>13}{'dtype':>9}{'ours':>10}{'scipy':>10}{'torch':>10}"
              f"{'o/scipy':>9}{'best':>6}{'o/torch':>9}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(args.seed)
    misses, ratios = [], []
    for op in OPS:
        for shape in SHAPES_QUICK if args.quick else SHAPES_FULL:
            for dtype in DTYPES:
                x = (3.0 * rng.standard_normal(shape)).astype(dtype)  # logits a few units apart
                _check_agreement(op, x)
                times = _median_times(_peers(op, x), args.repeat)
                r_scipy = times["ours/scipy"]
                ratios.append(r_scipy)
                torch_ms = f"{times['torch'] * 1e3:10.3f}" if "torch" in times else f"{'-':>10}"
                r_torch = (f"{times['ours'] / times['torch']:9.2f}" if "torch" in times
                           else f"{'-':>9}")
                name = f"{op} {shape[0]}x{shape[1]} {np.dtype(dtype).name}"
                print(f"{op:<12}{f'{shape[0]}x{shape[1]}':>13}{np.dtype(dtype).name:>9}"
                      f"{times['ours'] * 1e3:10.3f}{times['scipy'] * 1e3:10.3f}{torch_ms}"
                      f"{r_scipy:9.2f}{times['best ours/scipy']:6.2f}{r_torch}", flush=True)
                if r_scipy > SCIPY_TARGET:
                    misses.append(f"{name}: ours/scipy = {r_scipy:.2f} > {SCIPY_TARGET}")
    print(f"\nload average at the end: {_load()}")
    print(f"worst ours/scipy = {max(ratios):.2f}, median {statistics.median(ratios):.2f} "
          f"(target <= {SCIPY_TARGET})")
    if misses:
        print(f"target MISSED in {len(misses)} case(s):")
        print("\n".join(f"  {m}" for m in misses))
        return 1
    print("target met in every case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
