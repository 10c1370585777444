"""``nnbasics grade``: feedback on a learner's own solutions to the course's assignments.

:func:`grade` finds the assignment a folder belongs to (:mod:`~nnbasics.grade.assignments`), runs
each task's checks in a sandboxed child process (:mod:`~nnbasics.grade.sandbox`, checks in
:mod:`~nnbasics.grade.tasks`), names known mistakes from the catalogue
(:mod:`~nnbasics.grade.mistakes`, explained in ``docs/grading.md``), checks the written answers
of ``answers.txt`` (:mod:`~nnbasics.grade.answers`) and returns a
:class:`~nnbasics.grade.report.Report`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from nnbasics.grade.answers import ANSWERS_FILE, check_answers
from nnbasics.grade.assignments import ASSIGNMENTS, defined_functions, detect, learner_files
from nnbasics.grade.report import Report, TaskResult
from nnbasics.grade.sandbox import Limits, run_tasks

__all__ = ["ASSIGNMENTS", "Limits", "Report", "TaskResult", "grade"]


def grade(path: str | Path, assignment: str = "auto", *, limits: Limits | None = None,
          tasks: list[str] | None = None) -> Report:
    """Grade the learner's files at ``path`` (a folder, or one file).

    Parameters
    ----------
    path : folder or ``.py`` file
    assignment : "auto" or one of :data:`ASSIGNMENTS`
        "auto" picks the layout whose file and function names the folder matches best.
    limits : Limits, optional
        Per-task time, the child's memory, the size of the generated-input search.
    tasks : list of task names, optional
        Grade only these (default: every task of the layout; with a single file, its tasks).

    Returns
    -------
    Report
        One :class:`TaskResult` per task: "pass", "fail", "error" or "missing", with findings.

    Raises
    ------
    ValueError
        Unknown assignment or task, or no assignment file found.
    FileNotFoundError
        ``path`` does not exist.
    """
    if importlib.util.find_spec("hypothesis") is None:
        raise ValueError("nnbasics grade needs hypothesis: pip install hypothesis")
    path = Path(path)
    files = learner_files(path)
    if assignment == "auto":
        layout = detect(files)
    elif assignment in ASSIGNMENTS:
        layout = ASSIGNMENTS[assignment]
    else:
        raise ValueError(f"unknown assignment {assignment!r} (choose from auto, "
                         + ", ".join(ASSIGNMENTS) + ")")
    specs = list(layout.tasks)
    if path.is_file():
        specs = [s for s in specs if s.file == path.name]
    if tasks is not None:
        unknown = set(tasks) - {s.task for s in layout.tasks}
        if unknown:
            raise ValueError(f"unknown task(s) for {layout.name}: {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s.task in tasks]
    present = []
    for spec in specs:
        source = files[spec.file].read_text(encoding="utf-8", errors="replace") \
            if spec.file in files else None
        names = defined_functions(source) if source is not None else set()
        if names is None or spec.function in names:  # a file that does not parse: the
            present.append(spec)                     # child reports its SyntaxError
    folder = path.parent if path.is_file() else path
    outcomes = run_tasks(folder, layout.name, present, limits or Limits()) if present else {}
    results = []
    for spec in specs:
        outcome = outcomes.get(spec.task, {"status": "missing", "findings": []})
        results.append(TaskResult(spec.task, spec.file, spec.function, outcome["status"],
                                  outcome["findings"]))
    answers = folder / ANSWERS_FILE
    if answers.is_file() and tasks is None:
        results.extend(check_answers(answers))
    return Report(layout.name, results)
