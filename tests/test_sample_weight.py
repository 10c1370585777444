"""``sample_weight`` in ``fit``/``partial_fit``: scikit-learn's weighted means (issue #16)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from nnbasics import MLPClassifier, assert_gradcheck
from nnbasics.mlp.estimator import MLPRegressor
from nnbasics.mlp.model import init_parameters
from nnbasics.mlp.reference import output_loss, pack_parameters, packed_loss_and_gradient

LAYERS = (3, 4, 2)


@pytest.mark.parametrize("output", ["softmax", "identity", "logistic", "exp"])
def test_integer_weights_are_repeated_rows(output):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 2))
    targets = {"softmax": rng.integers(0, 2, 5), "identity": rng.normal(size=(5, 2)),
               "logistic": rng.integers(0, 2, (5, 2)).astype(float),
               "exp": rng.poisson(2.0, (5, 2)).astype(float)}[output]
    weights = np.array([1, 0, 3, 2, 1])
    repeated = np.repeat(np.arange(5), weights)
    loss, delta = output_loss(z, targets, output, weights)
    loss_rep, delta_rep = output_loss(z[repeated], targets[repeated], output)
    assert loss == pytest.approx(loss_rep)
    # a row's delta is the sum of its copies' deltas
    summed = np.zeros_like(delta)
    np.add.at(summed, repeated, delta_rep)
    np.testing.assert_allclose(delta, summed, atol=1e-15)


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_weighted_gradient_matches_finite_differences(output):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, LAYERS[0]))
    targets = rng.integers(0, 2, 6) if output == "softmax" else rng.normal(size=(6, 2))
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    sample_weight = rng.uniform(0.1, 3.0, 6)
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, targets, LAYERS, "tanh", 0.3, output,
                                           sample_weight),
        pack_parameters(weights, biases), name=f"weighted {output}",
    )


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 0.8, (30, 2)) for c in (-1.5, 0.0, 1.5)])
    return X, np.repeat([0, 1, 2], 30)


def test_full_batch_fit_with_integer_weights_is_the_fit_on_repeated_rows():
    X, y = _blobs()
    weights = np.random.default_rng(1).integers(0, 3, len(y))
    repeated = np.repeat(np.arange(len(y)), weights)
    kwargs = dict(solver="lbfgs", hidden_layer_sizes=(5,), random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPClassifier(**kwargs).fit(X, y, sample_weight=weights)
        copied = MLPClassifier(**kwargs).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.predict_proba(X), copied.predict_proba(X), rtol=1e-6)


def test_unit_weights_change_nothing():
    X, y = _blobs()
    kwargs = dict(hidden_layer_sizes=(5,), random_state=0, max_iter=5, engine="reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier(**kwargs).fit(X, y)
        weighted = MLPClassifier(**kwargs).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-6)


def test_a_heavier_class_wins_the_overlap():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 1))  # both classes drawn from the same distribution
    y = rng.integers(0, 2, 200)
    weights = np.where(y == 1, 10.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(), random_state=0, max_iter=20,
                              learning_rate_init=0.01).fit(X, y, sample_weight=weights)
    assert np.mean(model.predict(X) == 1) > 0.9


def test_weights_with_early_stopping_and_partial_fit():
    X, y = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=(5,), early_stopping=True, random_state=0,
                             max_iter=5).fit(X, y.astype(float), sample_weight=np.ones(len(y)))
    assert len(model.validation_scores_) == model.n_iter_
    model = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2], sample_weight=np.full(len(y), 2.0))
    assert model.n_iter_ == 1


@pytest.mark.parametrize("bad, message", [
    (np.ones(3), "shape"), (-np.ones(90), ">= 0"), (np.full(90, np.nan), "finite"),
    (np.zeros(90), "all zero"), (np.array(["a"] * 90), "numbers"),
])
def test_bad_weights_are_refused(bad, message):
    X, y = _blobs()
    with pytest.raises(ValueError, match=message):
        MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, y, sample_weight=bad)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_weights_passed_in_scikit_learns_position_are_refused_not_ignored(solver):
    # scikit-learn's fit(X, y, sample_weight): here the third argument is validation_data,
    # which lbfgs does not score; a vector there must not be silently dropped
    X, y = _blobs()
    model = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, solver=solver)
    with pytest.raises(ValueError, match="sample_weight=") as error:
        model.fit(X, y, np.ones(len(X)))
    assert "validation_data must be a pair" in str(error.value)
