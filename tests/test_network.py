"""Tests of nnbasics.core.network, the one-hidden-layer network of the assignment."""

import numpy as np
import pytest

from nnbasics.core.activations import sigmoid, softmax
from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.core.network import (
    forward_backward,
    init_params,
    input_gradient,
    parameter_count,
    predict,
    predict_proba,
    unpack_params,
)

DIMS = (10, 5, 10)


@pytest.fixture
def case(rng):
    X = rng.standard_normal((20, DIMS[0]))
    labels = rng.integers(0, DIMS[2], 20)
    params = rng.standard_normal(parameter_count(DIMS))
    return X, labels, params


@pytest.mark.parametrize("dims", [(10, 5, 10), (1, 1, 1), (784, 256, 10), (3, 7, 2)])
def test_parameter_count_formula_and_layout(dims):
    Dx, H, Dy = dims
    n = parameter_count(dims)
    assert n == (Dx + 1) * H + (H + 1) * Dy
    theta = np.arange(n, dtype=np.float64)
    p = unpack_params(theta, dims)
    assert p.W1.shape == (Dx, H) and p.b1.shape == (H,)
    assert p.W2.shape == (H, Dy) and p.b2.shape == (Dy,)
    # the four blocks tile the vector exactly, in order, row-major, with no gap or overlap
    np.testing.assert_array_equal(np.concatenate([p.W1.ravel(), p.b1, p.W2.ravel(), p.b2]), theta)
    if H > 1:
        assert p.W1[0, 1] == 1.0  # row-major: W1[0, 1] is the second entry
    # views, not copies
    p.b2[0] = -1
    assert theta[-Dy] == -1


def test_forward_matches_explicit_formula(case):
    X, labels, params = case
    p = unpack_params(params, DIMS)
    h = sigmoid(X @ p.W1 + p.b1)
    y_hat = softmax(h @ p.W2 + p.b2)
    cost, _ = forward_backward(X, labels, params, DIMS)
    assert cost == pytest.approx(-np.sum(np.log(y_hat[np.arange(20), labels])), rel=1e-12)
    np.testing.assert_allclose(predict_proba(X, params, DIMS), y_hat, rtol=1e-12)
    np.testing.assert_array_equal(predict(X, params, DIMS), y_hat.argmax(axis=1))


def test_parameter_gradient(case):
    X, labels, params = case
    assert_gradcheck(lambda t: forward_backward(X, labels, t, DIMS), params, name="params")


def test_parameter_gradient_with_onehot_labels(case):
    X, labels, params = case
    onehot = np.eye(DIMS[2])[labels]
    assert_gradcheck(lambda t: forward_backward(X, onehot, t, DIMS), params)


def test_input_gradient(case):
    X, labels, params = case

    def f(x):
        return forward_backward(x, labels, params, DIMS)[0], input_gradient(x, labels, params, DIMS)

    assert_gradcheck(f, X, name="inputs")
    assert input_gradient(X, labels, params, DIMS).shape == X.shape


def test_gradients_match_torch_autograd(case):
    torch = pytest.importorskip("torch")
    X, labels, params = case
    p = unpack_params(params, DIMS)
    tensors = [torch.tensor(a, requires_grad=True) for a in (X, p.W1, p.b1, p.W2, p.b2)]
    Xt, W1, b1, W2, b2 = tensors
    logits = torch.sigmoid(Xt @ W1 + b1) @ W2 + b2
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels), reduction="sum")
    loss.backward()
    cost, grad = forward_backward(X, labels, params, DIMS)
    assert cost == pytest.approx(loss.item(), rel=1e-12)
    expected = np.concatenate([t.grad.numpy().ravel() for t in (W1, b1, W2, b2)])
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(input_gradient(X, labels, params, DIMS), Xt.grad.numpy(), atol=1e-12)


def test_float32_parameters_give_float32_gradient(case):
    X, labels, params = case
    _, grad = forward_backward(X.astype(np.float32), labels, params.astype(np.float32), DIMS)
    assert grad.dtype == np.float32
    _, grad64 = forward_backward(X, labels, params, DIMS)
    np.testing.assert_allclose(grad, grad64, rtol=1e-3, atol=1e-4)


def test_sgd_on_the_network_reduces_cost(rng):
    # one worked check of learning: a few hundred steps on a separable toy problem
    dims = (2, 8, 3)
    centers = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    labels = np.repeat(np.arange(3), 30)
    X = centers[labels] + rng.normal(0, 0.5, (90, 2))
    params = init_params(dims, rng=0)
    first, _ = forward_backward(X, labels, params, dims)
    for _ in range(300):
        _, grad = forward_backward(X, labels, params, dims)
        params -= 0.01 * grad
    last, _ = forward_backward(X, labels, params, dims)
    assert last < 0.2 * first
    assert np.mean(predict(X, params, dims) == labels) > 0.95


def test_init_params_is_seeded_and_biases_zero():
    a, b = init_params(DIMS, rng=7), init_params(DIMS, rng=7)
    np.testing.assert_array_equal(a, b)
    p = unpack_params(a, DIMS)
    assert not p.b1.any() and not p.b2.any()
    assert np.abs(p.W1).max() <= np.sqrt(6 / (DIMS[0] + DIMS[1]))


@pytest.mark.parametrize(
    "X, labels, n_params, dims, message",
    [
        (np.zeros((4, 9)), [0, 1, 2, 3], None, DIMS, "columns"),
        (np.zeros((4, 10)), [0, 1, 2, 10], None, DIMS, "out of range"),
        (np.zeros((4, 10)), [0, 1, 2], None, DIMS, "entries"),
        (np.zeros((4, 10)), [0, 1, 2, 3], 114, DIMS, "length 114"),
        (np.full((4, 10), np.nan), [0, 1, 2, 3], None, DIMS, "NaN"),
        (np.zeros((4, 10, 1)), [0, 1, 2, 3], None, DIMS, "2-D"),
        (np.zeros((4, 10)), [0, 1, 2, 3], None, (10, 0, 10), "positive"),
        (np.zeros((4, 10)), [0, 1, 2, 3], None, (10, 5), "three"),
        (np.zeros((4, 10)), np.eye(4), None, DIMS, "shape"),
    ],
)
def test_bad_input_is_a_clear_value_error(X, labels, n_params, dims, message):
    n = n_params if n_params is not None else 115
    with pytest.raises(ValueError, match=message):
        forward_backward(X, labels, np.zeros(n), dims)


def test_params_must_be_flat():
    with pytest.raises(ValueError, match="flat"):
        unpack_params(np.zeros((115, 1)), DIMS)
