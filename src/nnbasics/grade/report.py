"""The grade of a submission: its tasks' outcomes, as text for a learner or JSON for a course."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Report", "TaskResult"]

_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "missing": "MISSING"}


@dataclass
class TaskResult:
    task: str
    file: str
    function: str
    status: str  # "pass" | "fail" | "error" | "missing"
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"task": self.task, "file": self.file, "function": self.function,
                "status": self.status, "findings": self.findings}


@dataclass
class Report:
    assignment: str
    tasks: list[TaskResult]

    @property
    def passed(self) -> int:
        return sum(t.status == "pass" for t in self.tasks)

    @property
    def failed(self) -> int:
        """Tasks found that did not pass: failures and errors."""
        return sum(t.status in ("fail", "error") for t in self.tasks)

    @property
    def missing(self) -> int:
        return sum(t.status == "missing" for t in self.tasks)

    @property
    def exit_code(self) -> int:
        """0 when every task found passes, 1 otherwise."""
        return 0 if self.failed == 0 else 1

    def as_dict(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "tasks": [t.as_dict() for t in self.tasks],
                "passed": self.passed, "failed": self.failed, "missing": self.missing}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1)

    def to_text(self) -> str:
        lines = [f"nnbasics grade: {self.assignment}"]
        for t in self.tasks:
            where = f"{t.file}:{t.function}"
            lines.append(f"  {_MARK[t.status]:<7} {t.task:<22} {where}")
            for f in t.findings:
                label = "note" if f.get("severity") == "note" else f["code"]
                lines.append(f"          - [{label}] {f['message']}")
                for key in ("input", "expected", "got"):
                    if f.get(key) is not None:
                        lines.append(f"              {key:<8}: {_short(f[key])}")
        lines.append(f"{self.passed} passed, {self.failed} failed, {self.missing} missing")
        return "\n".join(lines)


def _short(value: Any, width: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
