"""docs/one-hidden-layer-network.md, checked: every gradient with its shape, the parameter count."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.core.activations import sigmoid, softmax
from nnbasics.core.gradcheck import gradcheck
from nnbasics.core.network import (
    forward_backward,
    init_params,
    input_gradient,
    parameter_count,
    unpack_params,
)

# (Dx, H, Dy): all different, so that a transposed shape cannot even run; and all equal, so that a
# transpose that runs (the common mistake) must be caught by the values
DIMS = [(6, 4, 3), (4, 4, 4)]


@pytest.fixture(params=DIMS, ids=["6-4-3", "square"])
def batch(rng, request):
    dims = request.param
    Dx, _, Dy = dims
    X = rng.standard_normal((5, Dx))
    labels = rng.integers(0, Dy, 5)
    params = rng.normal(0, 0.7, parameter_count(dims))
    return X, labels, params, dims


def page_gradients(X, Y, W1, b1, W2, b2):
    """The page's formulas, written out in plain NumPy: returns (J, dW1, db1, dW2, db2, dX)."""
    h = sigmoid(X @ W1 + b1)  # (N, H)
    y_hat = softmax(h @ W2 + b2)  # (N, Dy)
    J = -np.sum(Y * np.log(y_hat))
    delta2 = y_hat - Y  # (N, Dy)
    delta1 = (delta2 @ W2.T) * h * (1 - h)  # (N, H)
    return J, X.T @ delta1, delta1.sum(axis=0), h.T @ delta2, delta2.sum(axis=0), delta1 @ W1.T


@given(st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_parameter_count(Dx, H, Dy):
    dims = (Dx, H, Dy)
    n = parameter_count(dims)
    assert n == (Dx + 1) * H + (H + 1) * Dy
    # the count is the flat layout's length: unpack_params accepts exactly n and nothing else
    p = unpack_params(np.zeros(n), dims)
    assert sum(a.size for a in p) == n
    assert (p.W1.shape, p.b1.shape, p.W2.shape, p.b2.shape) == ((Dx, H), (H,), (H, Dy), (Dy,))
    for wrong in (n - 1, n + 1, Dx * H + H * Dy):  # the last one: the biases forgotten
        if wrong != n:
            with pytest.raises(ValueError):
                unpack_params(np.zeros(wrong), dims)


def test_parameter_count_of_the_assignment():
    # CS224n's sanity check uses dims (10, 5, 10): 55 + 60 = 115, not 10*5 + 5*10 = 100
    assert parameter_count((10, 5, 10)) == 115
    assert init_params((10, 5, 10)).shape == (115,)


def test_gradients_match_the_formulas(batch):
    X, labels, params, dims = batch
    Dx, H, Dy = dims
    p = unpack_params(params, dims)
    J, dW1, db1, dW2, db2, dX = page_gradients(X, np.eye(Dy)[labels], *p)
    cost, grad = forward_backward(X, labels, params, dims)
    g = unpack_params(grad, dims)
    # each gradient shaped like its variable
    assert (dW1.shape, db1.shape, dW2.shape, db2.shape, dX.shape) == (
        (Dx, H), (H,), (H, Dy), (Dy,), X.shape)
    assert cost == pytest.approx(J, rel=1e-13, abs=0)
    for ours, page in zip(g, (dW1, db1, dW2, db2), strict=True):
        np.testing.assert_allclose(ours, page, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(input_gradient(X, labels, params, dims), dX, rtol=1e-12,
                               atol=1e-14)


def test_parameter_gradient_numerically(batch):
    X, labels, params, dims = batch
    result = gradcheck(lambda t: forward_backward(X, labels, t, dims), params, tol=1e-8)
    assert result.passed, result.describe()


def test_input_gradient_numerically(batch):
    X, labels, params, dims = batch

    def cost_and_dX(X_):
        return forward_backward(X_, labels, params, dims)[0], input_gradient(X_, labels, params,
                                                                              dims)

    result = gradcheck(cost_and_dX, X, tol=1e-8)
    assert result.passed, result.describe()


def test_batch_gradient_is_the_sum_over_rows(batch):
    # J sums over the rows, so its gradient is the sum of the per-row gradients: a dropped row index
    # (or a silent mean) would break this
    X, labels, params, dims = batch
    _, grad = forward_backward(X, labels, params, dims)
    per_row = [forward_backward(X[n : n + 1], labels[n : n + 1], params, dims)[1]
               for n in range(len(X))]
    np.testing.assert_allclose(grad, np.sum(per_row, axis=0), rtol=1e-12, atol=1e-14)


def test_transposed_backward_is_caught(rng):
    # the common mistake delta1 = delta2 W2 (not W2^T) only type-checks when H == Dy; it runs,
    # but the gradient check fails
    dims = (3, 4, 4)
    X = rng.standard_normal((5, 3))
    labels = rng.integers(0, 4, 5)

    def wrong(t):
        W1, b1, W2, b2 = unpack_params(t, dims)
        h = sigmoid(X @ W1 + b1)
        delta2 = softmax(h @ W2 + b2) - np.eye(4)[labels]
        delta1 = (delta2 @ W2) * h * (1 - h)  # should be W2.T
        grad = np.concatenate([(X.T @ delta1).ravel(), delta1.sum(0), (h.T @ delta2).ravel(),
                               delta2.sum(0)])
        return forward_backward(X, labels, t, dims)[0], grad

    params = rng.normal(0, 1, parameter_count(dims))
    assert not gradcheck(wrong, params).passed


def test_gradients_match_torch(batch):
    torch = pytest.importorskip("torch")
    X, labels, params, dims = batch
    p = [torch.tensor(np.array(a), requires_grad=True) for a in unpack_params(params, dims)]
    Xt = torch.tensor(X, requires_grad=True)
    h = torch.sigmoid(Xt @ p[0] + p[1])
    loss = torch.nn.functional.cross_entropy(h @ p[2] + p[3], torch.tensor(labels),
                                             reduction="sum")
    loss.backward()
    cost, grad = forward_backward(X, labels, params, dims)
    assert cost == pytest.approx(loss.item(), rel=1e-12)
    for ours, theirs in zip(unpack_params(grad, dims), p, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(input_gradient(X, labels, params, dims), Xt.grad.numpy(),
                               rtol=1e-11, atol=1e-13)
