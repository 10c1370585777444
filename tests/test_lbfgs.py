"""``solver="lbfgs"``: the packed loss and gradient, SciPy's L-BFGS-B through the estimator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from nnbasics import MLPClassifier, assert_gradcheck
from nnbasics.mlp.model import init_parameters
from nnbasics.mlp.reference import (
    loss_and_gradients,
    pack_parameters,
    packed_loss_and_gradient,
    unpack_parameters,
)

LAYERS = (5, 4, 3, 3)  # D, H_1, H_2, K


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, LAYERS[0]))
    labels = rng.integers(0, LAYERS[-1], size=12)
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    biases = [rng.normal(size=b.shape) for b in biases]  # no zero biases hiding a transpose
    return X, labels, weights, biases


def test_pack_then_unpack_gives_the_same_arrays_as_views_of_theta():
    _, _, weights, biases = _problem()
    theta = pack_parameters(weights, biases)
    assert theta.shape == (sum(w.size + b.size for w, b in zip(weights, biases, strict=True)),)
    new_weights, new_biases = unpack_parameters(theta, LAYERS)
    for old, new in zip((*weights, *biases), (*new_weights, *new_biases), strict=True):
        np.testing.assert_array_equal(old, new)
        assert np.shares_memory(new, theta)


def test_unpack_refuses_a_vector_of_the_wrong_length():
    with pytest.raises(ValueError, match="theta has shape"):
        unpack_parameters(np.zeros(7), LAYERS)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_packed_gradient_matches_finite_differences(activation):
    X, labels, weights, biases = _problem()
    theta = pack_parameters(weights, biases)
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, labels, LAYERS, activation, alpha=0.3),
        theta, name=f"packed {activation}",
    )


def test_packed_function_is_the_reference_loss():
    X, labels, weights, biases = _problem(1)
    loss, dweights, dbiases = loss_and_gradients(X, labels, weights, biases, "tanh", 0.1)
    packed_loss, grad = packed_loss_and_gradient(pack_parameters(weights, biases), X, labels,
                                                 LAYERS, "tanh", 0.1)
    assert packed_loss == pytest.approx(loss, rel=1e-14)
    np.testing.assert_array_equal(grad, pack_parameters(dweights, dbiases))


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)


def test_lbfgs_trains_digits(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = MLPClassifier(hidden_layer_sizes=(50,), solver="lbfgs", max_iter=200,
                          random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.94
    assert model.n_iter_ == len(model.loss_curve_) <= 200
    assert model.loss_ == pytest.approx(model.loss_curve_[-1])
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert model.coefs_[0].dtype == np.float64


def test_max_fun_bounds_the_iterations_and_warns(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=150, max_fun=10,
                          random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        model.fit(X_train, y_train)
    assert 1 <= model.n_iter_ <= 10


def test_max_iter_stops_it_with_a_warning(digits_split):
    X_train, _, y_train, _ = digits_split
    model = MLPClassifier(hidden_layer_sizes=(20,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model.fit(X_train, y_train)
    assert model.n_iter_ == 5


def test_a_converged_fit_does_not_warn():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", alpha=1.0,
                              max_iter=500, random_state=0).fit(X, y)
    assert model.n_iter_ < 500


@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_max_fun_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match="max_fun"):
        MLPClassifier(solver="lbfgs", max_fun=value).fit([[0.0], [1.0]], [0, 1])


def test_lbfgs_writes_no_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="checkpoint"):
        MLPClassifier(solver="lbfgs", checkpoint_dir=tmp_path).fit([[0.0], [1.0]], [0, 1])


def test_lbfgs_has_no_partial_fit():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_same_loss_as_scikit_learn_from_the_same_start():
    """From the same parameters, 15 iterations of both minimisers end at the same loss: the
    losses and gradients agree (a softmax over 3 classes is scikit-learn's output too)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    y = rng.integers(0, 3, size=40)
    ours = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", alpha=0.01,
                         max_iter=15, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, y)
    theirs = SkMLPClassifier(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs",
                             alpha=0.01, max_iter=1, tol=0.0, random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)  # builds its layers; the parameters are replaced next
    start = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs",
                          random_state=0)
    weights, biases = init_parameters((4, 6, 3), start.init, start._seed(), np.float64)
    theirs.coefs_, theirs.intercepts_ = weights, biases
    theirs.set_params(max_iter=15)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
