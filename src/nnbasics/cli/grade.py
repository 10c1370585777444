"""``nnbasics grade PATH``: check a learner's solutions and tell them what is wrong.

Exit status: 0 when every task found passes, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse

from nnbasics.grade import ASSIGNMENTS, Limits, grade


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade", help="check a learner's assignment solutions against the reference",
        description="Grade the course files in PATH (a folder, or one file): each task is run "
        "in a sandboxed process on edge cases and generated inputs, compared with the "
        "reference, and known mistakes are named (docs/grading.md).")
    parser.add_argument("path", metavar="PATH", help="folder with the learner's files, or one file")
    parser.add_argument("--assignment", default="auto", choices=["auto", *ASSIGNMENTS],
                        help="layout of PATH (default: detected from file and function names)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                        help="wall-clock limit of each task (default: 20)")
    parser.add_argument("--memory", type=int, default=2048, metavar="MIB",
                        help="address-space limit of the grading process (default: 2048)")
    parser.add_argument("--examples", type=int, default=40, metavar="N",
                        help="generated inputs per property (default: 40)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0 or args.memory < 256 or args.examples < 0:
        raise ValueError("--timeout must be positive, --memory at least 256, --examples >= 0")
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, max_examples=args.examples)
    report = grade(args.path, args.assignment, limits=limits)
    print(report.to_json() if args.json else report.to_text())
    return report.exit_code
