"""``nnbasics grade`` on the command line: layouts detected, JSON as documented, exit codes, and
learner code that misbehaves is that task's error, never the grader's."""

from __future__ import annotations

import json
import shutil

import pytest

from nnbasics.cli.main import main
from nnbasics.grade import ASSIGNMENTS, Limits, grade
from nnbasics.grade.assignments import detect, learner_files
from tests.grade.conftest import SOLUTIONS, assemble

FAST = ["--examples", "4", "--timeout", "8"]


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_layouts_are_detected_from_file_and_function_names(assignment):
    files = learner_files(SOLUTIONS / assignment / "correct_style_1")
    assert detect(files).name == assignment


def test_json_report_as_documented(tmp_path, capsys):
    work = assemble(SOLUTIONS / "metl-tp1" / "mistake_sigmoid_grad_from_x", tmp_path)
    shutil.copy(SOLUTIONS / "metl-tp1" / "answers_seed.txt", work / "answers.txt")
    assert main(["grade", str(work), "--json", *FAST]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"assignment", "tasks", "passed", "failed", "missing"}
    assert report["assignment"] == "metl-tp1"
    status = {t["task"]: t["status"] for t in report["tasks"]}
    assert status == {"softmax": "pass", "sigmoid": "pass", "sigmoid_grad": "fail",
                      "gradcheck": "pass", "forward_backward": "pass",
                      "answer_parameter_count": "fail", "answer_sigmoid_grad": "pass"}
    assert (report["passed"], report["failed"], report["missing"]) == (5, 2, 0)
    for task in report["tasks"]:
        assert set(task) == {"task", "file", "function", "status", "findings"}
        for finding in task["findings"]:
            assert {"code", "message", "input", "expected", "got"} <= set(finding)
    (finding,) = next(t for t in report["tasks"] if t["task"] == "sigmoid_grad")["findings"]
    assert finding["code"] == "sigmoid-grad-from-x"


def test_one_file_grades_its_tasks_and_missing_functions_do_not_fail(tmp_path, capsys):
    (tmp_path / "sigmoid.py").write_text("import numpy as np\n\ndef sigmoid(x):\n"
                                         "    return 1 / (1 + np.exp(-x))\n")
    assert main(["grade", str(tmp_path / "sigmoid.py"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "PASS    sigmoid " in out and "MISSING sigmoid_grad" in out


def test_a_crash_a_hang_and_an_exception_are_errors_of_their_tasks(tmp_path):
    (tmp_path / "softmax.py").write_text("import os\n\ndef softmax(x):\n    os.abort()\n")
    (tmp_path / "sigmoid.py").write_text("def sigmoid(x):\n    while True:\n        pass\n\n"
                                         "def sigmoid_grad(s):\n    raise ValueError('no')\n")
    report = grade(tmp_path, "metl-tp1", limits=Limits(timeout=3, max_examples=2))
    found = {t.task: (t.status, [f["code"] for f in t.findings]) for t in report.tasks}
    assert found == {"softmax": ("error", ["crashed"]), "sigmoid": ("error", ["timeout"]),
                     "sigmoid_grad": ("error", ["raised"]), "gradcheck": ("missing", []),
                     "forward_backward": ("missing", [])}
    assert report.exit_code == 1


@pytest.mark.parametrize("argv", [["grade"], ["grade", "nowhere/"], ["grade", ".", "--assignment",
                                                                     "cs231n"]])
def test_usage_errors_exit_2_with_one_line(argv, capsys, tmp_path):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnbasics: error:") and err.count("\n") == 1


def test_a_folder_without_assignment_files_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "notes.py").write_text("x = 1\n")
    assert main(["grade", str(tmp_path)]) == 2
    assert "no assignment file found" in capsys.readouterr().err
