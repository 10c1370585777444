"""The public course functions run their readable NumPy formula: a few calls deep, nothing compiled.

A learner who steps into ``nnbasics.softmax`` (or ``forward_backward``, or ``gradcheck``) should
land on the formula of the docs within a few frames, with no dispatcher, compiled kernel or thread
on the way.  These tests trace every Python frame entered under each call (``sys.setprofile``) and
bound how many are nnbasics code and how deep they nest; and check, in a fresh interpreter, that
``import nnbasics`` and calling all of them never imports numba or ``nnbasics._accel``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import nnbasics
from nnbasics.core import network

PACKAGE = Path(nnbasics.__file__).resolve().parent
ACCEL = PACKAGE / "_accel"


@dataclass
class Trace:
    calls: list[str] = field(default_factory=list)  # nnbasics functions entered, in order
    max_depth: int = 0  # most nnbasics frames on the stack at once
    foreign: list[str] = field(default_factory=list)  # frames of nnbasics._accel or numba


def _is_ours(filename: str) -> bool:
    return filename.startswith(str(PACKAGE))


def trace(call: Callable[[], object]) -> Trace:
    """Run ``call()`` under a profiler that records the nnbasics frames it enters."""
    result = Trace()

    def profiler(frame, event, arg):
        if event != "call":
            return
        filename = frame.f_code.co_filename
        if filename.startswith(str(ACCEL)) or f"{Path('/numba/')}" in filename:
            result.foreign.append(f"{filename}:{frame.f_code.co_name}")
        if not _is_ours(filename):
            return
        result.calls.append(frame.f_code.co_qualname)
        depth, f = 0, frame
        while f is not None:
            depth += _is_ours(f.f_code.co_filename)
            f = f.f_back
        result.max_depth = max(result.max_depth, depth)

    sys.setprofile(profiler)
    try:
        call()
    finally:
        sys.setprofile(None)
    return result


rng = np.random.default_rng(0)
X = rng.standard_normal((5, 4))
S = nnbasics.softmax(X)
SIG = nnbasics.sigmoid(X)
LABELS = np.array([0, 3, 1, 2, 3])
DIMS = (4, 3, 4)
PARAMS = network.init_params(DIMS, rng=0)


def quadratic(v):
    return float(np.sum(v**2)), 2 * v


# (name, call, most nnbasics calls, deepest nesting); the function itself counts as one call and
# one level, so (2, 2) means "the function and one helper (as_float_array)".
CASES = [
    ("softmax", lambda: nnbasics.softmax(X), 2, 2),
    ("softmax, +inf row", lambda: nnbasics.softmax(np.array([[np.inf, 0.0]])), 3, 2),
    ("log_softmax", lambda: nnbasics.log_softmax(X, axis=0), 2, 2),
    ("softmax_backward", lambda: nnbasics.softmax_backward(X, S), 4, 2),
    ("sigmoid", lambda: nnbasics.sigmoid(X), 2, 2),
    ("sigmoid_grad", lambda: nnbasics.sigmoid_grad(SIG), 3, 2),
    ("tanh", lambda: nnbasics.tanh(X), 2, 2),
    ("tanh_grad", lambda: nnbasics.tanh_grad(np.tanh(X)), 2, 2),
    ("relu", lambda: nnbasics.relu(X), 2, 2),
    ("relu_grad", lambda: nnbasics.relu_grad(np.maximum(X, 0)), 2, 2),
    ("softmax_cross_entropy", lambda: nnbasics.softmax_cross_entropy(X, LABELS), 5, 3),
    # the network: its own body holds the formula; the other frames are the four course functions
    # it composes (sigmoid, softmax_cross_entropy and its log_softmax, sigmoid_grad) and the input
    # checks of each (as_float_array, labels_to_targets, the params layout, the dims)
    ("forward_backward", lambda: network.forward_backward(X, LABELS, PARAMS, DIMS), 17, 4),
    ("input_gradient", lambda: network.input_gradient(X, LABELS, PARAMS, DIMS), 17, 4),
    # gradcheck calls f 2 * 3 + 1 times, each through the one frame that restores the states
    ("gradcheck", lambda: nnbasics.gradcheck(quadratic, np.ones(3)), 2 * 3 + 1 + 5, 2),
]


@pytest.mark.parametrize(("name", "call", "most_calls", "deepest"), CASES,
                         ids=[case[0] for case in CASES])
def test_course_function_reaches_its_formula_in_a_few_calls(name, call, most_calls, deepest):
    result = trace(call)
    assert not result.foreign, f"{name} entered compiled or accelerator code: {result.foreign}"
    assert result.calls, "the profiler saw no nnbasics frame: the trace itself is broken"
    assert len(result.calls) <= most_calls, f"{name}: {len(result.calls)} calls {result.calls}"
    assert result.max_depth <= deepest, f"{name}: {result.max_depth} deep {result.calls}"


def test_the_tracer_sees_deep_calls():
    # the probe can fail: a call that nests helpers is measured as deep as it is
    def nested():
        return network.forward_backward(X, LABELS, PARAMS, DIMS)

    assert trace(nested).max_depth >= 3


def test_import_and_course_calls_never_load_numba_or_the_accelerators():
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import nnbasics
        from nnbasics.core import network
        loaded_at_import = sorted(m for m in sys.modules
                                  if m.split(".")[0] == "numba" or m.startswith("nnbasics._accel"))
        x = np.random.default_rng(0).standard_normal((6, 4))
        labels = np.array([0, 1, 2, 3, 0, 1])
        s = nnbasics.softmax(x)
        nnbasics.log_softmax(x)
        nnbasics.softmax_backward(x, s)
        nnbasics.sigmoid_grad(nnbasics.sigmoid(x))
        nnbasics.tanh_grad(nnbasics.tanh(x))
        nnbasics.relu_grad(nnbasics.relu(x))
        nnbasics.softmax_cross_entropy(x, labels)
        dims = (4, 3, 4)
        params = network.init_params(dims)
        nnbasics.gradcheck(lambda p: network.forward_backward(x, labels, p, dims), params,
                           blocks=network.parameter_blocks(dims))
        network.input_gradient(x, labels, params, dims)
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] == "numba" or m.startswith("nnbasics._accel"))
        print(loaded_at_import, loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(PACKAGE.parent)}).stdout
    assert out.strip() == "[] []", out
