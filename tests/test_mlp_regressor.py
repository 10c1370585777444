"""``MLPRegressor``: identity output, half squared error, trained by the reference engine."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from nnbasics import MLPRegressor, assert_gradcheck
from nnbasics.mlp.model import init_parameters
from nnbasics.mlp.reference import output_loss, pack_parameters, packed_loss_and_gradient

LAYERS = (4, 5, 3)  # D, H, K


def _regression(n_targets: int = 1, seed: int = 0):
    X, y = make_regression(n_samples=200, n_features=8, n_targets=n_targets, noise=1.0,
                           random_state=seed)
    return X, y / y.std(axis=0)


def test_squared_error_by_hand():
    z = np.array([[1.0, 2.0], [0.0, -1.0]])
    targets = np.array([[0.0, 2.0], [1.0, 1.0]])
    loss, delta = output_loss(z, targets, "identity")
    assert loss == pytest.approx((1 + 0 + 1 + 4) / (2 * 2))  # summed over outputs, mean over rows
    np.testing.assert_allclose(delta, (z - targets) / 2)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_identity_output_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, LAYERS[0]))
    targets = rng.normal(size=(9, LAYERS[-1]))
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    biases = [rng.normal(size=b.shape) for b in biases]
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, targets, LAYERS, activation, 0.2, "identity"),
        pack_parameters(weights, biases), name=f"identity {activation}",
    )


def test_unknown_output_is_refused():
    with pytest.raises(ValueError, match="output must be one of"):
        output_loss(np.zeros((2, 2)), np.zeros((2, 2)), "poisson")


def test_passes_sklearn_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(MLPRegressor(), on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_is_a_scikit_learn_regressor():
    model = MLPRegressor(hidden_layer_sizes=(3,))
    assert is_regressor(model)
    assert clone(model).get_params() == model.get_params()


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_fits_a_small_regression_problem(solver):
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(30,), solver=solver, batch_size=20, max_iter=300,
                         learning_rate_init=0.01 if solver == "sgd" else 0.001,
                         random_state=0)
    model.fit(X, y)
    assert model.score(X, y) > 0.98
    assert model.predict(X).shape == (200,)
    assert model.n_outputs_ == 1 and model.out_activation_ == "identity"
    assert len(model.loss_curve_) == model.n_iter_


def test_multi_output_targets():
    X, Y = _regression(n_targets=3)
    model = MLPRegressor(hidden_layer_sizes=(30,), solver="lbfgs", max_iter=500,
                         random_state=0).fit(X, Y)
    assert model.predict(X).shape == (200, 3)
    assert model.coefs_[-1].shape == (30, 3)
    assert model.score(X, Y) > 0.98


def test_loss_is_half_the_squared_error_summed_over_outputs():
    X, Y = _regression(n_targets=2)
    model = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", alpha=0.0, max_iter=3,
                         random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, Y)
    residual = model.predict(X) - Y
    assert model.loss_ == pytest.approx(0.5 * np.sum(residual**2) / len(X), rel=1e-9)


def test_early_stopping_scores_r2_on_the_held_out_rows():
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(30,), early_stopping=True, max_iter=300,
                         random_state=0).fit(X, y)
    assert model.best_loss_ is None
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert 0.9 < model.best_validation_score_ <= 1.0


def test_partial_fit_lowers_the_loss():
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(30,), random_state=0)
    model.partial_fit(X, y)
    first = model.loss_
    for _ in range(10):
        model.partial_fit(X, y)
    assert model.n_iter_ == 11
    assert model.loss_ < 0.5 * first
    with pytest.raises(ValueError, match="targets"):
        model.partial_fit(X, np.c_[y, y])


def test_warm_start_needs_the_same_number_of_targets():
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    with pytest.raises(ValueError, match="targets"):
        model.fit(X, np.c_[y, y])


def test_refuses_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="checkpoint"):
        MLPRegressor(checkpoint_dir=tmp_path).fit([[0.0], [1.0]], [0.0, 1.0])


def test_same_lbfgs_loss_as_scikit_learn_from_the_same_start():
    """One target: scikit-learn's squared loss is ours; 15 L-BFGS iterations from the same
    parameters end at the same loss."""
    X, y = _regression(seed=1)
    X, y = X[:60], y[:60]
    params = dict(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", alpha=0.01,
                  tol=0.0)
    ours = MLPRegressor(**params, max_iter=15, random_state=0)
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, y)
    theirs = SkMLPRegressor(**params, max_iter=1, random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    start = MLPRegressor(**params, random_state=0)
    theirs.coefs_, theirs.intercepts_ = init_parameters((8, 6, 1), start.init, start._seed(),
                                                        np.float64)
    theirs.set_params(max_iter=15)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
