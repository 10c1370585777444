"""The sandboxed side of ``nnbasics grade``: ``python -m nnbasics.grade.child`` (started by
:mod:`nnbasics.grade.sandbox`, never by hand).

It reads one JSON request on stdin (the learner's folder, the assignment, the tasks), and for each
task writes a line ``{"event": "start", ...}`` then ``{"event": "done", ...}`` with the findings
on the file descriptor it was given, while the learner's own prints go nowhere.  Each task imports
the learner's file afresh, with the course's helper modules (``q1_softmax``, ``utils.utils``,
``util``...) replaced by reference versions, so that a task is judged on its own code alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types

import numpy as np


def _quiet_gradcheck(f, x, *args, **kwargs):
    """A reference ``gradcheck_naive`` for helper imports: checks without printing."""
    from nnbasics.core.gradcheck import gradcheck

    return gradcheck(f, x).passed


def _reference_helpers() -> dict[str, dict]:
    from nnbasics.grade.tasks import cmu, word2vec

    def softmax(x):
        x = np.asarray(x, dtype=np.float64)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def sigmoid(x):
        return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))

    def normalize_rows(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    basic = {"softmax": softmax, "sigmoid": sigmoid, "sigmoid_grad": lambda s: s * (1 - s),
             "gradcheck_naive": _quiet_gradcheck, "normalizeRows": normalize_rows}
    return {
        "softmax": basic, "q1_softmax": basic, "sigmoid": basic, "q2_sigmoid": basic,
        "gradcheck": basic, "q2_gradcheck": basic, "utils": {}, "utils.utils": basic,
        "utils.gradcheck": basic, "utils.treebank": {},
        "util": {"sigmoid_deriv": cmu.sigmoid_deriv, "linear_deriv": cmu.linear_deriv,
                 "linear": lambda x: x, "__all__": ["linear", "linear_deriv"]},
        "_dummy": {"DummyDataset": word2vec.DummyDataset},
    }


def _shim(name: str, attributes: dict) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    if name == "utils":
        module.__path__ = []  # a package, so that ``utils.utils`` resolves to the shim
    module.__getattr__ = _missing_helper
    return module


def _missing_helper(attribute: str):
    """Names a course helper module has that the grader does not need (``grad_tests_softmax``,
    ``load_saved_params``...): harmless no-ops, so that the learner's imports succeed."""
    if attribute.startswith("__"):
        raise AttributeError(attribute)
    return lambda *args, **kwargs: None


def _load(folder: str, module_name: str, learner_modules: set[str]):
    """Import the learner's ``module_name`` afresh, helpers shimmed (except itself)."""
    for name in list(sys.modules):
        if name.split(".")[0] in learner_modules | {"utils", "util"}:
            del sys.modules[name]
    for name, attributes in _reference_helpers().items():
        if name != module_name and not name.startswith("_"):
            sys.modules[name] = _shim(name, attributes)
    if "utils" in sys.modules:
        sys.modules["utils"].utils = sys.modules["utils.utils"]
        sys.modules["utils"].gradcheck = sys.modules["utils.gradcheck"]
        sys.modules["utils"].treebank = sys.modules["utils.treebank"]
    path = os.path.join(folder, module_name + ".py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def run_task(request: dict, task: dict) -> dict:
    from nnbasics.grade.mistakes import message
    from nnbasics.grade.tasks import CHECKS
    from nnbasics.grade.tasks.checking import Context, Finding, call, describe_exception

    folder = request["folder"]
    learner_modules = {f.removesuffix(".py") for f in os.listdir(folder) if f.endswith(".py")}
    loaded = call(_load, folder, task["file"].removesuffix(".py"), learner_modules)
    if not loaded.ok:
        text = f"importing {task['file']} raised {describe_exception(loaded.exception)}"
        return {"status": "error", "findings": [
            Finding("import-error", message("import-error", text), got=text,
                    severity="error").as_dict()]}
    fn = getattr(loaded.value, task["function"], None)
    if not callable(fn):
        return {"status": "missing", "findings": []}
    ctx = Context(module=loaded.value, assignment=request["assignment"],
                  max_examples=int(request.get("max_examples", 40)))
    try:
        findings = [f for f in CHECKS[task["task"]](fn, ctx) if f is not None]
    except Exception as exc:  # a case the check did not foresee: reported, the others go on
        text = f"the check of {task['task']} failed: {describe_exception(exc)}"
        findings = [Finding("grader-error", message("grader-error", text), got=text,
                            severity="error")]
    severities = {f.severity for f in findings}
    status = ("missing" if "missing" in severities else "error" if "error" in severities
              else "fail" if "fail" in severities else "pass")
    return {"status": status, "findings": [f.as_dict() for f in findings]}


def _limit_self(limits: dict[str, int]) -> None:
    """Memory (address space), CPU time and no core file, for this process and what it starts."""
    import resource

    memory, cpu = int(limits["memory_bytes"]), int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the learner's prints, even from C, go nowhere
    request = json.loads(sys.stdin.read())
    _limit_self(request["limits"])  # before any learner code is imported
    sys.stdin = open(os.devnull)  # an input() in learner code reads EOF
    sys.path.insert(0, request["folder"])
    os.chdir(request["folder"])
    for task in request["tasks"]:
        channel.write(json.dumps({"event": "start", "task": task["task"]}) + "\n")
        result = run_task(request, task)
        channel.write(json.dumps({"event": "done", "task": task["task"], **result}) + "\n")
    channel.close()
    os._exit(0)  # no atexit handler or thread of learner code runs after the grading


if __name__ == "__main__":
    main()
