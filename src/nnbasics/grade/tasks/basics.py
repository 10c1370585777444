"""Checks of softmax, the sigmoid and its gradient, and the learner's gradient checker.

Conventions (METL TP1, CS224n 2017, CMU 16-720): ``softmax`` normalises each row of a matrix and
a single vector as one row, returning the input's shape; ``sigmoid`` is elementwise on scalars
and arrays; ``sigmoid_grad(s)`` takes the *value* ``s = sigmoid(x)``; ``gradcheck_naive(f, x)``
prints or raises when an analytic gradient is wrong, restores ``x`` and Python's ``random`` state.
"""

from __future__ import annotations

import random

import numpy as np

from nnbasics.grade.mistakes import message
from nnbasics.grade.tasks.checking import (
    Context,
    Finding,
    as_array,
    call,
    close,
    describe_exception,
    first_failure,
    match_mistake,
)

__all__ = ["check_gradcheck", "check_sigmoid", "check_sigmoid_grad", "check_softmax"]


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -x))


def _array_strategy(low: float, high: float, vector: bool, matrix: bool, integer: bool = False):
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    shapes = []
    if vector:
        shapes.append(hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=6))
    if matrix:
        shapes.append(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    floats = hnp.arrays(np.float64, st.one_of(shapes), elements=elements)
    if not integer:
        return floats
    ints = hnp.arrays(np.int64, st.one_of(shapes), elements=st.integers(int(low), int(high)))
    return st.one_of(floats, ints)


def _mutation_note(fn, cases, task: str) -> Finding | None:
    for x in cases:
        work = np.array(x, copy=True)
        if call(fn, work).ok and not np.array_equal(work, x):
            return Finding("input-modified-in-place", message(
                "input-modified-in-place", f"{task} changed the array it was given"),
                input=x, expected=x, got=work, severity="note")
    return None


# ---------------------------------------------------------------------------------------- softmax

def check_softmax(fn, ctx: Context) -> list[Finding]:
    matrix_only = ctx.assignment == "cmu-16720"

    def mistakes(x: np.ndarray) -> dict:
        x = np.asarray(x, dtype=np.float64)
        axis = x.ndim - 1
        return {
            "softmax-no-max-shift": lambda: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
            "softmax-global-max": lambda: np.exp(x - x.max()) / np.exp(x - x.max()).sum(
                axis=-1, keepdims=True),
            "softmax-wrong-axis": lambda: _softmax_rows(np.swapaxes(x, 0, axis)).swapaxes(0, axis)
            if x.ndim == 2 else None,
            "softmax-whole-matrix": lambda: np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
            "softmax-missing-keepdims": lambda: np.exp(x - x.max(axis=-1)) / np.exp(
                x - x.max(axis=-1)).sum(axis=-1),
            "softmax-missing-keepdims-sum": lambda: np.exp(x - x.max(axis=-1, keepdims=True))
            / np.exp(x - x.max(axis=-1, keepdims=True)).sum(axis=-1),
        }

    def prop(x: np.ndarray) -> Finding | None:
        r = call(fn, np.array(x, copy=True))
        if not r.ok:
            code, text = "raised", f"softmax raised {describe_exception(r.exception)}"
            if x.dtype.kind == "i" and call(fn, x.astype(np.float64)).ok:
                code, text = "integer-input-cast", text + " on integer input"
            elif x.ndim == 1 and call(fn, x[None, :].astype(np.float64)).ok:
                code, text = "softmax-vector-input", text + " on a vector (a 1-row matrix works)"
            severity = "error" if code == "raised" else "fail"
            return Finding(code, message(code, text), input=x, got=text, severity=severity)
        expected = _softmax_rows(x)
        if close(r.value, expected):
            return None
        code = match_mistake(r.value, mistakes(x)) or (
            "wrong-shape" if as_array(r.value) is not None
            and as_array(r.value).shape != expected.shape else "wrong-value")
        return Finding(code, message(code, "softmax returned a different result"), input=x,
                       expected=expected, got=as_array(r.value))

    edge = [np.array([[1001, 1002], [3, 4]]), np.array([[-1001, -1002]]),
            np.array([[0.0, 1.0], [-1000.0, -1001.0]]),
            np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 0.0], [-2.0, 5.0, 1.0]]),
            np.array([[710.0, 0.0]]), np.array([[1e-300, -1e-300]]), np.array([[3.0, 0.0]] * 4)]
    if not matrix_only:
        edge = [np.array([1, 2]), np.array([1000.0, 1001.0]), *edge, np.array([-800.0, -801.0])]
    strategy = _array_strategy(-1000, 1000, vector=not matrix_only, matrix=True, integer=True)
    findings = [first_failure(prop, edge, strategy, ctx.max_examples)]
    if findings[0] is None:
        findings.append(_mutation_note(fn, edge[:4], "softmax"))
    return [f for f in findings if f is not None]


# ---------------------------------------------------------------------------------------- sigmoid

def check_sigmoid(fn, ctx: Context) -> list[Finding]:
    matrix_only = ctx.assignment == "cmu-16720"

    def prop(x) -> Finding | None:
        r = call(fn, np.array(x, copy=True) if isinstance(x, np.ndarray) else x)
        if not r.ok:
            text = f"sigmoid raised {describe_exception(r.exception)}"
            if np.ndim(x) == 0 and call(fn, np.array([float(x)])).ok:
                code = "sigmoid-scalar-input"
                return Finding(code, message(code, text + " on a scalar"), input=x, got=text)
            return Finding("raised", message("raised", text), input=x, got=text, severity="error")
        expected = _sigmoid(x)
        got = as_array(r.value)
        if close(got, expected, rtol=1e-5, atol=1e-8, shape=np.ndim(x) > 0):
            return None
        z = np.asarray(x, dtype=np.float64)
        code = match_mistake(got, {
            "sigmoid-sign-error": lambda: _sigmoid(-z),
            "sigmoid-overflow-nan": lambda: np.where(np.isnan(got), np.nan, expected),
            "sigmoid-tanh": lambda: np.tanh(z),
        }, rtol=1e-5, atol=1e-8, shape=False) or "wrong-value"
        return Finding(code, message(code, "sigmoid returned a different result"), input=x,
                       expected=expected, got=got)

    edge = [np.array([[1, 2], [-1, -2]]), np.array([[0.0, 1000.0], [-1000.0, 40.0]]),
            np.array([[1e-300, -745.0, 745.0]])]
    if not matrix_only:
        edge = [np.float64(0.5), np.array([0.0]), np.float64(-1000.0), *edge]
    strategy = _array_strategy(-1000, 1000, vector=not matrix_only, matrix=True)
    findings = [first_failure(prop, edge, strategy, ctx.max_examples)]
    if findings[0] is None:
        large = np.array([[-1000.0, 1000.0]])
        r = call(fn, large)
        if any("overflow" in w for w in r.warnings):
            findings.append(Finding("sigmoid-overflow-warning", message(
                "sigmoid-overflow-warning", "the right values, with an overflow warning"),
                input=large, got=r.warnings[0], severity="note"))
    return [f for f in findings if f is not None]


def check_sigmoid_grad(fn, ctx: Context) -> list[Finding]:
    def prop(s) -> Finding | None:
        r = call(fn, np.array(s, copy=True))
        if not r.ok:
            text = f"sigmoid_grad raised {describe_exception(r.exception)}"
            return Finding("raised", message("raised", text), input=s, got=text, severity="error")
        s64 = np.asarray(s, dtype=np.float64)
        expected = s64 * (1 - s64)
        got = as_array(r.value)
        if close(got, expected, rtol=1e-5, atol=1e-8, shape=s64.ndim > 0):
            return None
        code = match_mistake(got, {
            "sigmoid-grad-from-x": lambda: _sigmoid(s64) * (1 - _sigmoid(s64)),
            "sigmoid-grad-sign": lambda: -expected,
        }, rtol=1e-5, atol=1e-8) or "wrong-value"
        return Finding(code, message(code, "sigmoid_grad(s) returned a different result"),
                       input=s, expected=expected, got=got)

    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    strategy = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
                          elements=st.floats(0.0, 1.0))
    edge = [np.array([[0.5, 0.25], [0.75, 0.1]]), np.array([0.0, 1.0, 0.9])]
    found = first_failure(prop, edge, strategy, ctx.max_examples)
    return [found] if found else []


# ------------------------------------------------------------------------------ gradient checker

class _Recorder:
    """A function under test of the learner's checker: it records every point it is evaluated at
    and whether Python's ``random`` state was the one the checker started with."""

    def __init__(self, cost, grad, uses_random: bool = False):
        self.cost, self.grad, self.uses_random = cost, grad, uses_random
        self.points: list[np.ndarray] = []
        self.state_restored: list[bool] = []
        self.start_state = None

    def __call__(self, x):
        x = np.array(x, dtype=np.float64, copy=True)
        self.points.append(x)
        if self.uses_random:
            self.state_restored.append(random.getstate() == self.start_state)
            factor = 1.0 + random.random()  # a cost with built-in randomness, as word2vec's
        else:
            factor = 1.0
        return factor * self.cost(x), factor * self.grad(x)


def _run_checker(fn, recorder: _Recorder, x: np.ndarray):
    """Run the learner's checker; return (verdict, call result, x after the call).  The verdict is
    "failed" when it printed a failure, returned False or raised AssertionError, "passed" when it
    finished quietly, "error" when it raised anything else."""
    random.seed(1234)
    recorder.start_state = random.getstate()
    work = np.array(x, dtype=np.float64, copy=True)
    r = call(fn, recorder, work)
    if isinstance(r.exception, AssertionError):
        return "failed", r, work
    if not r.ok:
        return "error", r, work
    said_fail = any(w in r.output.lower() for w in ("fail", "error found"))
    return ("failed" if said_fail or r.value is False else "passed"), r, work


_FUNCTIONS = {  # (cost, gradient) pairs a correct checker must accept
    "quadratic": (lambda x: float(np.sum(x**2)), lambda x: 2 * x),
    "cubic": (lambda x: float(np.sum(x**3)), lambda x: 3 * x**2),
    "exp": (lambda x: float(np.sum(np.exp(x))), lambda x: np.exp(x)),
    "sin-coupled": (lambda x: float(np.sum(np.sin(x) * np.roll(x, 1))),
                    lambda x: np.cos(x) * np.roll(x, 1) + np.roll(np.sin(x), -1)),
}


def _diagnose_checker(recorder: _Recorder, x: np.ndarray, passed: bool) -> str | None:
    """Name what a checker did wrong from the points it evaluated ``f`` at (``passed``: it
    reported success, so it should have visited every coordinate)."""
    offsets = [p - x for p in recorder.points if p.shape == x.shape]
    moved = [o for o in offsets if np.count_nonzero(o) == 1]
    if moved:
        signs = {float(np.sign(o[o != 0][0])) for o in moved}
        if signs == {1.0} or signs == {-1.0}:
            return "gradcheck-forward-difference"
        touched = {int(np.flatnonzero(o.ravel())[0]) for o in moved}
        if passed and len(touched) < x.size:
            return "gradcheck-not-all-indices"
    if recorder.uses_random and not all(recorder.state_restored[1:]):
        return "gradcheck-random-state-not-restored"
    return None


def check_gradcheck(fn, ctx: Context) -> list[Finding]:
    rng = np.random.default_rng(7)
    correct_cases = [
        ("quadratic", np.array(123.456)), ("quadratic", rng.standard_normal(3)),
        ("quadratic", rng.standard_normal((4, 5))), ("cubic", rng.uniform(1.0, 2.0, (3, 2))),
        ("sin-coupled", rng.standard_normal(6)), ("exp", rng.uniform(9.0, 10.0, 4)),
        ("random", rng.standard_normal((2, 3))),
    ]
    findings: list[Finding] = []
    for name, x in correct_cases:
        cost, grad = _FUNCTIONS["quadratic" if name == "random" else name]
        recorder = _Recorder(cost, grad, uses_random=name == "random")
        verdict, r, after = _run_checker(fn, recorder, x)
        label = f"{name} function, correct gradient, x of shape {x.shape}"
        if verdict == "error":
            text = f"gradcheck_naive raised {describe_exception(r.exception)}"
            return [Finding("raised", message("raised", text), input=label, got=text,
                            severity="error")]
        if not np.allclose(after, x, rtol=1e-9, atol=1e-12):
            return [Finding("gradcheck-input-not-restored", message(
                "gradcheck-input-not-restored", "x differs after the check"),
                input=label, expected=x, got=after)]
        if verdict == "failed":
            code = _diagnose_checker(recorder, x, passed=False)
            if code is None and name == "exp":
                code = "gradcheck-absolute-error"
            code = code or "gradcheck-false-alarm"
            return [Finding(code, message(code, "a correct gradient was reported wrong"),
                            input=label, expected="passed", got=r.output.strip()[-300:])]

    def planted(case) -> Finding | None:
        shape, index, size = case
        x = np.random.default_rng(index + 10 * len(shape)).standard_normal(shape)
        flat = index % x.size
        bump = np.zeros(x.size)
        bump[flat] = size
        recorder = _Recorder(_FUNCTIONS["sin-coupled"][0],
                             lambda z: _FUNCTIONS["sin-coupled"][1](z) + bump.reshape(z.shape))
        verdict, r, _ = _run_checker(fn, recorder, x)
        if verdict == "failed":
            return None
        if verdict == "error":
            text = f"gradcheck_naive raised {describe_exception(r.exception)}"
            return Finding("raised", message("raised", text), input=case, got=text,
                           severity="error")
        code = _diagnose_checker(recorder, x, passed=True) or "gradcheck-misses-error"
        where = f"gradient wrong by {size} at flat index {flat} of an x of shape {shape}"
        return Finding(code, message(code, "a wrong gradient was reported correct"),
                       input=where, expected="failed", got=r.output.strip()[-300:] or "passed")

    from hypothesis import strategies as st

    strategy = st.tuples(
        st.sampled_from([(3,), (5,), (2, 3), (3, 2, 2)]), st.integers(0, 11),
        st.sampled_from([1e-2, 0.5, 3.0]))
    edge = [((4,), 3, 1e-2), ((2, 3), 5, 0.5), ((3, 2), 4, 1e-2)]
    found = first_failure(planted, edge, strategy, max(5, ctx.max_examples // 4))
    findings.extend([found] if found else [])
    return findings
