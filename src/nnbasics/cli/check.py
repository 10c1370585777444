"""``nnbasics check``: gradient-check every differentiable piece and print one row per piece."""

from __future__ import annotations

import argparse
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="verify every analytic gradient numerically (exit 1 if any fails)",
        description="Run gradcheck on every differentiable piece of nnbasics and print a table.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="only these checks (default: all)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nnbasics.core.checks import CHECKS, _load_plugins, run_checks

    if args.list:
        _load_plugins()
        print("\n".join(CHECKS))
        return 0
    start = time.perf_counter()
    rows = run_checks(args.names or None)
    width = max(len("piece"), *(len(name) for name, _ in rows))
    print(f"{'piece':<{width}}  {'checked':>8}  {'max rel error':>13}  result")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 13}  ------")
    for name, res in rows:
        verdict = "pass" if res.passed else "FAIL"
        print(f"{name:<{width}}  {res.n_checked:>8}  {res.max_rel_error:>13.2e}  {verdict}")
    failed = [name for name, res in rows if not res.passed]
    elapsed = time.perf_counter() - start
    if failed:
        print(f"{len(failed)} of {len(rows)} checks FAILED ({elapsed:.1f} s)")
        for name, res in rows:
            if not res.passed:
                print(f"  {name}: {res.describe()}")
        return 1
    print(f"all {len(rows)} gradient checks passed ({elapsed:.1f} s)")
    return 0
