"""Run the checks of a learner's tasks in a child process with limits.

The child (:mod:`nnbasics.grade.child`) works on a private copy of the learner's folder, with an
address-space limit (``RLIMIT_AS``), a CPU-time limit (``RLIMIT_CPU``), one BLAS thread and its
own process group.  It reports each task as it starts and ends; a task that exceeds its
wall-clock time, or a child that dies (segfault, ``os._exit``, memory), makes that task an
``error`` and the remaining tasks go to a fresh child.  These limits contain accidents (an
infinite loop, a runaway allocation, a crash); they are not a security boundary against code
written to attack the grader: run untrusted submissions in a container as well.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nnbasics.grade.assignments import TaskSpec
from nnbasics.grade.mistakes import message

__all__ = ["Limits", "run_tasks"]


@dataclass(frozen=True)
class Limits:
    """Per-task wall-clock seconds, the child's address space in MiB, and the hypothesis search
    size of each property (``max_examples``)."""

    timeout: float = 20.0
    memory_mb: int = 2048
    max_examples: int = 40


def _rlimits(limits: Limits, n_tasks: int) -> dict[str, int]:
    """The child's resource limits, which it sets on itself before it imports learner code
    (no ``preexec_fn``: nnbasics runs no Python code between a fork and an exec)."""
    return {"memory_bytes": limits.memory_mb * 1024 * 1024,
            "cpu_seconds": int(limits.timeout * n_tasks + 30)}


def _environment() -> dict[str, str]:
    import nnbasics

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    source = str(Path(nnbasics.__file__).resolve().parent.parent)
    env.update(PYTHONPATH=source, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", MPLBACKEND="Agg")
    return env


def _error(task: str, code: str, text: str) -> dict:
    return {"task": task, "status": "error", "findings": [{
        "code": code, "severity": "error", "message": message(code, text), "input": None,
        "expected": None, "got": text}]}


def _run_child(folder: str, assignment: str, tasks: list[TaskSpec], limits: Limits,
               results: dict[str, dict]) -> None:
    """Start one child for ``tasks``; record each finished task in ``results``; return when the
    child ends, or after killing it when a task overruns (that task becomes an error)."""
    request = {"folder": folder, "assignment": assignment, "max_examples": limits.max_examples,
               "limits": _rlimits(limits, len(tasks)),
               "tasks": [{"task": t.task, "file": t.file, "function": t.function} for t in tasks]}
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "nnbasics.grade.child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, cwd=folder, env=_environment(),
            start_new_session=True)
        child.stdin.write(json.dumps(request).encode())
        child.stdin.close()
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        buffer, current = b"", None
        deadline = time.monotonic() + limits.timeout + 30  # start-up: imports
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    name = current or next(t.task for t in tasks if t.task not in results)
                    results.setdefault(name, _error(name, "timeout",
                                                    f"no result within {limits.timeout:g} s"))
                    return
                if not selector.select(timeout=min(remaining, 1.0)):
                    continue
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    event = json.loads(line)
                    if event["event"] == "start":
                        current = event["task"]
                        deadline = time.monotonic() + limits.timeout
                    else:
                        event.pop("event")
                        results[event["task"]] = event
                        current = None
        finally:
            selector.close()
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            code = child.wait()
            if current is not None and current not in results:
                stderr.seek(0)
                tail = stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                why = f"signal {-code}" if code < 0 else f"exit code {code}"
                text = f"the process died ({why})" + (f": {tail[0][:200]}" if tail else "")
                if code < 0 and -code == signal.SIGXCPU:
                    text = "CPU time limit exceeded"
                results[current] = _error(current, "crashed", text)
            child.stdout.close()


def _only_python(directory: str, names: list[str]) -> set[str]:
    """``copytree``'s filter: Python files and folders (a package such as ``utils/``) only."""
    return {n for n in names if n.startswith(".") or n == "__pycache__"
            or (not n.endswith(".py") and not os.path.isdir(os.path.join(directory, n)))}


def run_tasks(folder: Path, assignment: str, tasks: list[TaskSpec],
              limits: Limits) -> dict[str, dict]:
    """Grade ``tasks`` of the learner's ``folder`` (its Python files are copied first, so the
    learner's code cannot change the originals); results by task name."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="nnbasics-grade-") as scratch:
        work = os.path.join(scratch, "submission")
        shutil.copytree(folder, work, ignore=_only_python, symlinks=False)
        while True:
            pending = [t for t in tasks if t.task not in results]
            if not pending:
                break
            before = len(results)
            _run_child(work, assignment, pending, limits, results)
            if len(results) == before:  # the child died before its first task
                results[pending[0].task] = _error(pending[0].task, "crashed",
                                                  "the grading process did not start")
    return results
