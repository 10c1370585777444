"""Weight initialisations: shapes, dtypes, the variances they promise, and why zeros fail."""

import inspect
import re

import numpy as np
import pytest

from nnbasics.core import initializers
from nnbasics.core.initializers import INITIALIZERS, he, init_weights, normal, xavier, zeros
from nnbasics.mlp.model import Workspace, init_parameters, loss_and_gradients
from nnbasics.mlp.optimizers import SGD


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype(name, dtype):
    W = init_weights(name, 7, 3, np.random.default_rng(0), dtype)
    assert W.shape == (7, 3) and W.dtype == dtype


def test_xavier_bound_and_variance():
    fan_in, fan_out = 300, 200
    W = xavier(fan_in, fan_out, np.random.default_rng(1), np.float64)
    bound = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound
    assert W.var() == pytest.approx(2 / (fan_in + fan_out), rel=0.03)


def test_he_variance():
    W = he(400, 300, np.random.default_rng(2), np.float64)
    assert W.mean() == pytest.approx(0, abs=0.01)
    assert W.var() == pytest.approx(2 / 400, rel=0.03)


def test_normal_std_matches_documented_default():
    default = inspect.signature(normal).parameters["std"].default
    assert re.search(rf"std = {default}", inspect.getdoc(normal))
    W = normal(300, 300, np.random.default_rng(3), np.float64)
    assert W.std() == pytest.approx(default, rel=0.02)


def test_zeros_are_zero():
    assert not zeros(4, 5, np.random.default_rng(0)).any()


def test_seeded_initialisation_is_reproducible():
    a = init_weights("xavier", 5, 4, np.random.default_rng(9))
    b = init_weights("xavier", 5, 4, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


def test_unknown_initialiser():
    with pytest.raises(ValueError, match=r"unknown init 'glorot'.*xavier"):
        init_weights("glorot", 2, 2, np.random.default_rng(0))


def test_why_zero_initialisation_fails():
    """With W = 0 the hidden units get identical (here: zero) gradients and never differ."""
    rng = np.random.default_rng(4)
    sizes = (4, 6, 3)
    X = rng.standard_normal((20, 4))
    y = rng.integers(0, 3, 20)
    weights, biases = init_parameters(sizes, "zeros", rng, np.float64)
    ws = Workspace(sizes, 20, np.float64)
    optimizer = SGD([*weights, *biases], learning_rate=0.5)
    for _ in range(50):
        loss_and_gradients(X, y, weights, biases, "sigmoid", ws)
        optimizer.step([*weights, *biases], [*ws.dweights, *ws.dbiases])
    # every hidden unit is the same function of the input: all columns of W1 are equal ...
    np.testing.assert_allclose(weights[0], weights[0][:, :1] * np.ones((1, 6)))
    # ... while a random initialisation breaks the symmetry
    w_random, _ = init_parameters(sizes, "xavier", rng, np.float64)
    assert np.ptp(w_random[0], axis=1).min() > 0


def test_module_docstring_explains_symmetry_and_scaling():
    doc = initializers.__doc__
    assert "symmetry" in doc and "fan_in" in doc
