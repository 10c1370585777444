"""Tests of nnbasics.core.layers: each backward checked against its forward, random upstream."""

import numpy as np
import pytest

from nnbasics.core.activations import ACTIVATIONS
from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.core.layers import activation_backward, affine_backward, affine_forward


def test_affine_forward_values():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])
    np.testing.assert_allclose(affine_forward(x, W, np.array([0.0, 1.0, 2.0])), [[2.0, 3.0, 5.0]])


def test_affine_forward_out_buffer(rng):
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    buf = np.empty((4, 2))
    out = affine_forward(x, W, b, out=buf)
    assert out is buf
    np.testing.assert_allclose(buf, x @ W + b)


@pytest.mark.parametrize("which", ["x", "W", "b"])
def test_affine_backward_each_input(which, rng):
    x, W, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    dout = rng.normal(size=(5, 3))
    args = {"x": x, "W": W, "b": b}

    def f(v):
        a = {**args, which: v}
        out = affine_forward(a["x"], a["W"], a["b"])
        dx, dW, db = affine_backward(dout, a["x"], a["W"])
        return float(np.sum(out * dout)), {"x": dx, "W": dW, "b": db}[which]

    assert_gradcheck(f, args[which], name=f"affine d{which}")


def test_affine_backward_skips_dx():
    dx, dW, db = affine_backward(np.ones((2, 3)), np.ones((2, 4)), np.ones((4, 3)), need_dx=False)
    assert dx is None and dW.shape == (4, 3) and db.shape == (3,)


@pytest.mark.parametrize("name", ["sigmoid", "logistic", "tanh", "relu", "identity"])
def test_activation_backward(name, rng):
    z = rng.normal(0, 2, (4, 3))
    z[np.abs(z) < 1e-3] = 0.2
    dout = rng.normal(size=z.shape)
    forward = ACTIVATIONS[name]

    def f(v):
        a = forward(v)
        return float(np.sum(a * dout)), activation_backward(dout, a, name)

    assert_gradcheck(f, z, name=name)
