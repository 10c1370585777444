"""The four assignment layouts ``nnbasics grade`` knows, and how a folder is matched to one.

A layout maps each graded *task* to the file and function the course asks the learner to write.
Detection reads file names and, with :mod:`ast` (the learner's code is parsed, never run here), the
names of the functions each file defines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ASSIGNMENTS", "Layout", "TaskSpec", "defined_functions", "detect", "learner_files"]


@dataclass(frozen=True)
class TaskSpec:
    """One graded task: ``function`` in ``file`` (a module of the learner's folder)."""

    task: str
    file: str
    function: str

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py")


@dataclass(frozen=True)
class Layout:
    """An assignment: its name and its tasks in the order they are graded and reported."""

    name: str
    tasks: tuple[TaskSpec, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(spec.file for spec in self.tasks))


def _layout(name: str, rows: list[tuple[str, str, str]]) -> Layout:
    return Layout(name, tuple(TaskSpec(*row) for row in rows))


ASSIGNMENTS: dict[str, Layout] = {
    "metl-tp1": _layout("metl-tp1", [
        ("softmax", "softmax.py", "softmax"),
        ("sigmoid", "sigmoid.py", "sigmoid"),
        ("sigmoid_grad", "sigmoid.py", "sigmoid_grad"),
        ("gradcheck", "gradcheck.py", "gradcheck_naive"),
        ("forward_backward", "neural.py", "forward_backward_prop"),
    ]),
    "cs224n-2017": _layout("cs224n-2017", [
        ("softmax", "q1_softmax.py", "softmax"),
        ("sigmoid", "q2_sigmoid.py", "sigmoid"),
        ("sigmoid_grad", "q2_sigmoid.py", "sigmoid_grad"),
        ("gradcheck", "q2_gradcheck.py", "gradcheck_naive"),
        ("forward_backward", "q2_neural.py", "forward_backward_prop"),
        ("normalize_rows", "q3_word2vec.py", "normalizeRows"),
        ("naive_softmax", "q3_word2vec.py", "softmaxCostAndGradient"),
        ("neg_sampling", "q3_word2vec.py", "negSamplingCostAndGradient"),
        ("skipgram", "q3_word2vec.py", "skipgram"),
        ("cbow", "q3_word2vec.py", "cbow"),
        ("sgd", "q3_sgd.py", "sgd"),
    ]),
    "cs224n-2019": _layout("cs224n-2019", [
        ("sigmoid", "word2vec.py", "sigmoid"),
        ("naive_softmax", "word2vec.py", "naiveSoftmaxLossAndGradient"),
        ("neg_sampling", "word2vec.py", "negSamplingLossAndGradient"),
        ("skipgram", "word2vec.py", "skipgram"),
        ("sgd", "sgd.py", "sgd"),
    ]),
    "cmu-16720": _layout("cmu-16720", [
        ("initialize_weights", "nn.py", "initialize_weights"),
        ("sigmoid", "nn.py", "sigmoid"),
        ("forward", "nn.py", "forward"),
        ("softmax", "nn.py", "softmax"),
        ("compute_loss_and_acc", "nn.py", "compute_loss_and_acc"),
        ("sigmoid_grad", "nn.py", "sigmoid_deriv"),
        ("backwards", "nn.py", "backwards"),
        ("get_random_batches", "nn.py", "get_random_batches"),
    ]),
}


def learner_files(path: Path) -> dict[str, Path]:
    """The ``.py`` files of a learner's folder (or the one file given), by file name."""
    if path.is_file():
        if path.suffix != ".py":
            raise ValueError(f"not a Python file: {path}")
        return {path.name: path}
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return {p.name: p for p in sorted(path.glob("*.py"))}


def defined_functions(source: str) -> set[str] | None:
    """Names of the top-level functions a source defines, or ``None`` if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def _score(layout: Layout, files: dict[str, Path]) -> int:
    """How many of the layout's (file, function) pairs the folder has; a file that does not
    parse counts for its name alone."""
    score = 0
    for spec in layout.tasks:
        if spec.file not in files:
            continue
        names = defined_functions(files[spec.file].read_text(encoding="utf-8", errors="replace"))
        score += 1 if names is None or spec.function in names else 0
    return score


def detect(files: dict[str, Path]) -> Layout:
    """The layout whose file and function names best match ``files``.

    Raises
    ------
    ValueError
        No file of any layout is present.
    """
    scores = {name: _score(layout, files) for name, layout in ASSIGNMENTS.items()}
    best = max(scores, key=lambda name: scores[name])
    if scores[best] == 0:
        known = sorted({spec.file for layout in ASSIGNMENTS.values() for spec in layout.tasks})
        raise ValueError(
            "no assignment file found (expected one of: " + ", ".join(known) + "); "
            "name one with --assignment"
        )
    return ASSIGNMENTS[best]
