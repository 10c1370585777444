"""The grader on learner solutions of its own: every correct style passes with no finding but
notes, every planted mistake fails (or errors) on its task and is named where it is catalogued."""

from __future__ import annotations

import pytest

from nnbasics.grade import Limits, grade
from nnbasics.grade.mistakes import CATALOGUE
from tests.grade.conftest import assemble, expected, solution_folders

# small searches keep the suite fast; the edge cases, which run first, find most mistakes
LIMITS = Limits(timeout=8.0, memory_mb=1024, max_examples=8)
HANG = Limits(timeout=3.0, memory_mb=1024, max_examples=8)  # for the planted infinite loop


@pytest.mark.parametrize("folder", solution_folders("correct_style"), ids=lambda p: p.parent.name
                         + "/" + p.name)
def test_correct_solutions_pass_with_no_false_alarm(folder, tmp_path):
    report = grade(assemble(folder, tmp_path), limits=LIMITS)
    assert report.assignment == folder.parent.name
    assert [(t.task, t.status, t.findings) for t in report.tasks if t.status != "pass"] == []
    assert all(f["severity"] == "note" for t in report.tasks for f in t.findings)
    assert report.exit_code == 0


@pytest.mark.parametrize("folder", solution_folders("mistake"), ids=lambda p: p.parent.name
                         + "/" + p.name)
def test_planted_mistake_fails_on_its_task(folder, tmp_path):
    want = expected(folder)
    limits = HANG if want.get("code") == "timeout" else LIMITS
    report = grade(assemble(folder, tmp_path), limits=limits, tasks=[want["task"]])
    (result,) = report.tasks
    assert result.status in ("fail", "error"), result
    codes = [f["code"] for f in result.findings]
    if "code" in want:
        assert want["code"] in codes
    assert all(code in CATALOGUE for code in codes)
    assert all(f"docs/grading.md#{f['code']}" in f["message"] for f in result.findings)
    assert report.exit_code == 1
