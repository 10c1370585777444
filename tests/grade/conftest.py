"""Learner solutions for the grader's tests live in ``solutions/<assignment>/``:
``correct_style_*`` folders are whole, correct submissions in different styles; each
``mistake_*`` folder holds the one file that differs from ``correct_style_1`` (one planted
mistake) and ``expected.json``: the task that must fail and, where the mistake is catalogued, the
code it must be named by.  :func:`assemble` builds the full submission in a temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

SOLUTIONS = Path(__file__).parent / "solutions"


def solution_folders(kind: str) -> list[Path]:
    return sorted(p for p in SOLUTIONS.glob(f"*/{kind}_*") if p.is_dir())


def expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text())


def assemble(folder: Path, target: Path) -> Path:
    """The submission of ``folder``: ``correct_style_1`` of its assignment with the folder's
    files laid over it."""
    work = target / folder.name
    if folder.name.startswith("mistake_"):
        shutil.copytree(folder.parent / "correct_style_1", work)
    for f in folder.rglob("*.py"):
        destination = work / f.relative_to(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, destination)
    return work
