"""Checking the written answers: closed forms given as Python/NumPy expressions of named
quantities, in a file ``answers.txt`` of the learner's folder::

    # one answer per line: name = expression
    parameter_count = (Dx + 1) * H + (H + 1) * Dy
    sigmoid_grad = s * (1 - s)
    softmax_ce_grad = y_hat - y

Each answer is evaluated on random values of its quantities and compared with the right formula.
Expressions are never given to ``eval``: :func:`evaluate` walks their :mod:`ast` and allows only
numbers, the question's names, ``+ - * / ** @`` (``^`` is read as a power), ``.T`` and a short
list of NumPy functions, so an answer can compute nothing else.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnbasics.grade.mistakes import message
from nnbasics.grade.report import TaskResult
from nnbasics.grade.tasks.checking import close, jsonable

__all__ = ["ANSWERS_FILE", "QUESTIONS", "UnsafeExpression", "check_answers", "evaluate"]

ANSWERS_FILE = "answers.txt"


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "sum": np.sum,
    "outer": np.outer, "dot": np.dot, "transpose": np.transpose, "abs": np.abs,
    "sigmoid": _sigmoid, "softmax": _softmax, "maximum": np.maximum, "diag": np.diag,
}
CONSTANTS = {"e": math.e, "pi": math.pi}
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
              ast.Div: np.true_divide, ast.MatMult: np.matmul, ast.Pow: np.power}
MAX_NODES, MAX_LENGTH, MAX_EXPONENT = 200, 500, 16


class UnsafeExpression(ValueError):
    """An answer outside the allowed language (a name, operator or call the grader refuses)."""


def evaluate(expression: str, names: dict[str, Any]) -> Any:
    """Value of ``expression`` with ``names`` bound, by walking its syntax tree.

    Raises
    ------
    UnsafeExpression
        Anything but numbers, ``names``, the constants ``e``/``pi``, the arithmetic operators,
        ``.T``, and calls of :data:`FUNCTIONS` (bare or as ``np.name``/``numpy.name``).
    """
    if len(expression) > MAX_LENGTH:
        raise UnsafeExpression(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"not an expression: {exc.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise UnsafeExpression(f"more than {MAX_NODES} syntax nodes")
    return _value(tree.body, names)


def _function(node: ast.expr) -> Callable:
    if isinstance(node, ast.Name) and node.id in FUNCTIONS:
        return FUNCTIONS[node.id]
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in ("np", "numpy") and node.attr in FUNCTIONS):
        return FUNCTIONS[node.attr]
    raise UnsafeExpression(f"calls only of {', '.join(sorted(FUNCTIONS))}")


def _value(node: ast.expr, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise UnsafeExpression(f"unknown name {node.id!r} (known: {', '.join(sorted(names))})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _value(node.operand, names)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left, names), _value(node.right, names)
        if isinstance(node.op, ast.Pow):
            if np.ndim(right) != 0 or abs(float(right)) > MAX_EXPONENT:
                raise UnsafeExpression(f"exponents are numbers up to {MAX_EXPONENT}")
            left = np.asarray(left, dtype=np.float64)
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return np.transpose(_value(node.value, names))
    if isinstance(node, ast.Call):
        function = _function(node.func)
        if node.keywords and any(k.arg != "axis" for k in node.keywords):
            raise UnsafeExpression("the only keyword allowed is axis")
        kwargs = {k.arg: int(_value(k.value, names)) for k in node.keywords}
        return function(*[_value(a, names) for a in node.args], **kwargs)
    raise UnsafeExpression(f"{type(node).__name__} is not allowed")


@dataclass(frozen=True)
class Question:
    """A closed-form question: how to draw its quantities, the right formula, known mistakes."""

    draw: Callable[[np.random.Generator], dict[str, Any]]
    answer: Callable[[dict[str, Any]], Any]
    mistakes: dict[str, Callable[[dict[str, Any]], Any]]
    topic: str


def _network(rng):
    return {"Dx": int(rng.integers(2, 40)), "H": int(rng.integers(2, 40)),
            "Dy": int(rng.integers(2, 40))}


def _logits(rng):
    K = int(rng.integers(3, 7))
    theta = rng.standard_normal(K)
    y = np.eye(K)[rng.integers(K)]
    return {"theta": theta, "y": y, "y_hat": _softmax(theta)}


def _word2vec(rng):
    V, d, K = int(rng.integers(4, 8)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    U, v_c = rng.standard_normal((V, d)), rng.standard_normal(d)
    o = int(rng.integers(V))
    return {"U": U, "v_c": v_c, "y": np.eye(V)[o], "y_hat": _softmax(U @ v_c), "u_o": U[o],
            "U_neg": rng.standard_normal((K, d)), "u_k": rng.standard_normal(d)}


def _sig(q):
    return _sigmoid(q["U_neg"] @ q["v_c"])


QUESTIONS: dict[str, Question] = {
    "parameter_count": Question(
        _network, lambda q: (q["Dx"] + 1) * q["H"] + (q["H"] + 1) * q["Dy"],
        {"param-count-no-biases": lambda q: q["Dx"] * q["H"] + q["H"] * q["Dy"],
         "param-count-hidden-only": lambda q: q["H"]},
        "parameters of the Dx-H-Dy network (Dx, H, Dy)"),
    "sigmoid_grad": Question(
        lambda rng: {"s": rng.uniform(0.01, 0.99, 5)}, lambda q: q["s"] * (1 - q["s"]),
        {"sigmoid-grad-from-x": lambda q: _sigmoid(q["s"]) * (1 - _sigmoid(q["s"])),
         "sigmoid-grad-sign": lambda q: -q["s"] * (1 - q["s"])},
        "σ'(x) in terms of s = σ(x) (s)"),
    "softmax_ce_grad": Question(
        _logits, lambda q: q["y_hat"] - q["y"],
        {"softmax-ce-grad-sign": lambda q: q["y"] - q["y_hat"],
         "softmax-grad-missing-y": lambda q: q["y_hat"]},
        "∂CE(y, softmax(θ))/∂θ (theta, y, y_hat)"),
    "naive_softmax_grad_center": Question(
        _word2vec, lambda q: q["U"].T @ (q["y_hat"] - q["y"]),
        {"center-grad-sign": lambda q: q["U"].T @ (q["y"] - q["y_hat"]),
         "softmax-grad-missing-y": lambda q: q["U"].T @ q["y_hat"]},
        "∂J/∂v_c, naive softmax (U: outside vectors as rows, v_c, y, y_hat)"),
    "naive_softmax_grad_outside": Question(
        _word2vec, lambda q: np.outer(q["y_hat"] - q["y"], q["v_c"]),
        {"outside-grad-transposed": lambda q: np.outer(q["v_c"], q["y_hat"] - q["y"])},
        "∂J/∂U, naive softmax, V×d like U"),
    "neg_sampling_grad_center": Question(
        _word2vec,
        lambda q: (_sigmoid(q["u_o"] @ q["v_c"]) - 1) * q["u_o"] + q["U_neg"].T @ _sig(q),
        {"neg-sampling-sign": lambda q: (_sigmoid(q["u_o"] @ q["v_c"]) - 1) * q["u_o"]
         + q["U_neg"].T @ _sigmoid(-(q["U_neg"] @ q["v_c"]))},
        "∂J/∂v_c, negative sampling (u_o, v_c, U_neg: the K negatives as rows)"),
    "neg_sampling_grad_outside": Question(
        _word2vec, lambda q: (_sigmoid(q["u_o"] @ q["v_c"]) - 1) * q["v_c"], {},
        "∂J/∂u_o, negative sampling (u_o, v_c)"),
    "neg_sampling_grad_negative": Question(
        _word2vec, lambda q: _sigmoid(q["u_k"] @ q["v_c"]) * q["v_c"],
        {"neg-sampling-sign": lambda q: -_sigmoid(-(q["u_k"] @ q["v_c"])) * q["v_c"]},
        "∂J/∂u_k for one negative sample u_k (u_k, v_c)"),
}


def read_answers(path: Path) -> dict[str, tuple[int, str]]:
    """``name -> (line number, expression)`` of an answers file (``#`` starts a comment)."""
    answers = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, expression = line.partition("=")
        if not sep:
            raise ValueError(f"{path}:{number}: expected 'name = expression'")
        answers[name.strip()] = (number, expression.strip())
    return answers


def _check_one(name: str, expression: str, question: Question) -> TaskResult:
    result = TaskResult(f"answer_{name}", ANSWERS_FILE, name, "pass")
    rng = np.random.default_rng(2024)
    for _ in range(5):
        q = question.draw(rng)
        shown = {k: v for k, v in q.items() if k in expression or k in ("Dx", "H", "Dy")}
        expected = question.answer(q)
        try:
            with np.errstate(all="ignore"):
                got = evaluate(expression, q)
        except (UnsafeExpression, ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:
            result.status = "fail"
            result.findings.append({"code": "answer-unreadable", "severity": "fail",
                                    "message": message("answer-unreadable", str(exc)),
                                    "input": expression, "expected": None, "got": None})
            return result
        if close(got, expected, rtol=1e-8, atol=1e-10, shape=False):
            continue
        code = next((c for c, wrong in question.mistakes.items()
                     if close(got, wrong(q), rtol=1e-8, atol=1e-10, shape=False)), "wrong-value")
        result.status = "fail"
        result.findings.append({
            "code": code, "severity": "fail",
            "message": message(code, f"{expression!r} is not {question.topic}"),
            "input": jsonable(shown), "expected": jsonable(expected), "got": jsonable(got)})
        return result
    return result


def check_answers(path: Path) -> list[TaskResult]:
    """One result per answer of the file; unknown names are reported as errors."""
    results = []
    for name, (number, expression) in read_answers(path).items():
        if name not in QUESTIONS:
            results.append(TaskResult(f"answer_{name}", ANSWERS_FILE, name, "error", [{
                "code": "answer-unreadable", "severity": "error",
                "message": message("answer-unreadable", f"line {number}: unknown question "
                                   f"{name!r} (known: {', '.join(QUESTIONS)})"),
                "input": expression, "expected": None, "got": None}]))
            continue
        results.append(_check_one(name, expression, QUESTIONS[name]))
    return results
