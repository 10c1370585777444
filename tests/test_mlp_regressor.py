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
#: scikit-learn checks weights against repeated rows with the full-batch solver (mini-batches of
#: weighted rows are other batches than those of repeated rows)
SAMPLE_WEIGHT_CHECKS = ("check_sample_weight_equivalence_on_dense_data",
                        "check_sample_weight_equivalence_on_sparse_data")


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
        results = check_estimator(  # the weights check with the full-batch solver, below
            MLPRegressor(), on_fail=None,
            expected_failed_checks=dict.fromkeys(SAMPLE_WEIGHT_CHECKS,
                                          "mini-batches; lbfgs below"))
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_sample_weights_are_repeated_rows_with_the_full_batch_solver():
    from sklearn.utils import estimator_checks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for check in SAMPLE_WEIGHT_CHECKS:
            getattr(estimator_checks, check)("MLPRegressor", MLPRegressor(solver="lbfgs"))


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
    model = MLPRegressor(hidden_layer_sizes=(30,), batch_size=32, random_state=0)
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
    theirs.coefs_, theirs.intercepts_ = init_parameters(
        (8, 6, 1), start.init, start._init_stream(start._seed()), np.float64, "tanh")
    theirs.set_params(max_iter=15)
    with pytest.warns(ConvergenceWarning):
        theirs.fit(X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


# ----------------------------------------------------------------------------------------------
# loss="poisson": an exponential output with half the Poisson deviance
# ----------------------------------------------------------------------------------------------


def test_half_poisson_deviance_by_hand():
    z = np.array([[0.0], [np.log(2.0)]])
    y = np.array([[0.0], [3.0]])
    loss, delta = output_loss(z, y, "exp")
    # row 1: 0 log 0 - 0 + 1 = 1; row 2: 3 log(3/2) - 3 + 2
    assert loss == pytest.approx((1.0 + 3 * np.log(1.5) - 1.0) / 2)
    np.testing.assert_allclose(delta, [[0.5], [-0.5]])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_poisson_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(7, LAYERS[0]))
    targets = rng.poisson(1.5, size=(7, LAYERS[-1])).astype(float)
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, targets, LAYERS, activation, 0.1, "exp"),
        pack_parameters(weights, biases), name=f"poisson {activation}",
    )


def test_poisson_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    z = rng.normal(size=(6, 2))
    y = rng.poisson(2.0, size=(6, 2)).astype(float)
    loss, delta = output_loss(z, y, "exp")
    z_t = torch.tensor(z, requires_grad=True)
    # torch's PoissonNLLLoss(log_input=True) is exp(z) - y z per entry (no y log y - y)
    t_loss = torch.nn.PoissonNLLLoss(log_input=True, reduction="sum")(z_t, torch.tensor(y))
    (t_loss / len(z)).backward()
    constant = np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0) - y) / len(z)
    assert loss == pytest.approx(t_loss.item() / len(z) + constant)
    np.testing.assert_allclose(delta, z_t.grad.numpy(), rtol=1e-12)


def test_poisson_regression_is_scikit_learns_glm_without_hidden_units():
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.default_rng(42)
    X = np.linspace(0, 1, 100).reshape(-1, 1)
    y = rng.poisson(np.exp(X[:, 0] + 1))
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y)
    model = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity",
                         alpha=0, solver="lbfgs", tol=1e-7, random_state=0).fit(X, y)
    assert model.out_activation_ == "exp"
    np.testing.assert_allclose(model.predict(X), glm.predict(X), rtol=1e-4)


def test_poisson_refuses_negative_targets_and_unknown_losses():
    X = np.zeros((4, 1))
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X, np.array([1.0, -1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="loss must be"):
        MLPRegressor(loss="huber").fit(X, np.zeros(4))


# ----------------------------------------------------------------------------------------------
# scikit-learn's behaviour at the edges
# ----------------------------------------------------------------------------------------------


def test_defaults_are_scikit_learns():
    ours, theirs = MLPRegressor().get_params(), SkMLPRegressor().get_params()
    for name in ("hidden_layer_sizes", "alpha", "batch_size", "max_iter",
                 "learning_rate_init", "momentum", "tol", "n_iter_no_change"):
        assert ours[name] == theirs[name], name
    # scikit-learn < 1.7 has no `loss` parameter: its regressor is squared error only.
    assert ours["loss"] == theirs.get("loss", "squared_error") == "squared_error"
    assert ours["init"] == "scikit-learn" and ours["dtype"] == "float32"


def test_scikit_learn_initialisation_draws_weights_and_biases_uniformly():
    from nnbasics.mlp.model import init_parameters

    rng = np.random.default_rng(0)
    weights, biases = init_parameters((30, 20, 1), "scikit-learn", rng, np.float64, "relu")
    bound = np.sqrt(6 / 50)
    assert np.abs(weights[0]).max() <= bound and np.abs(biases[0]).max() <= bound
    assert np.abs(biases[0]).min() > 0 and np.abs(weights[0]).max() > 0.9 * bound
    logistic_w, _ = init_parameters((30, 20, 1), "scikit-learn", rng, np.float64, "logistic")
    assert np.abs(logistic_w[0]).max() <= np.sqrt(2 / 50)


def test_a_validation_set_of_one_row_is_refused():
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, random_state=0).fit(X, y)


def _diverging(**kwargs):
    return MLPRegressor(hidden_layer_sizes=(20,), activation="identity", solver="sgd",
                        learning_rate_init=1.0, max_iter=20, random_state=0, **kwargs)


def test_a_diverging_fit_raises_scikit_learns_error_and_keeps_the_model():
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    before = [w.copy() for w in model.coefs_]
    model.set_params(solver="sgd", learning_rate_init=1.0, hidden_layer_sizes=(20,),
                     activation="identity", max_iter=20)
    with pytest.raises(ValueError, match=r"diverged at epoch .*Solver produced non-finite"):
        model.fit(X * 100, y)
    for w, b in zip(model.coefs_, before, strict=True):  # the fitted model is as it was
        np.testing.assert_array_equal(w, b)


def test_a_non_finite_loss_without_early_stopping_raises_even_with_finite_parameters():
    # float32 squares of residuals of 1e25 overflow: the loss is inf while Adam's bounded steps
    # leave the weights finite; no best epoch was kept, so nothing may be returned as trained
    X, _ = _regression()
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="diverged at epoch 1"):
        model.fit(X, np.full(len(X), 1e25))
    assert not hasattr(model, "coefs_")


def test_a_diverging_fit_with_early_stopping_keeps_its_best_epoch_and_warns():
    X, y = _regression()
    model = _diverging(early_stopping=True, n_iter_no_change=10)
    with pytest.warns(ConvergenceWarning, match="diverged at epoch"):
        model.fit(X * 100, y)
    assert np.isnan(model.validation_scores_[-1])
    assert all(np.isfinite(w).all() for w in model.coefs_)
    assert np.all(np.isfinite(model.predict(X)))


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_with_scikit_learns_initialisation_lbfgs_retraces_scikit_learns_fit(activation):
    # init="scikit-learn" and an integer seed draw scikit-learn's initial parameters from its
    # own stream; L-BFGS is deterministic in float64, so the whole fit is scikit-learn's
    X, y = _regression()
    kwargs = dict(solver="lbfgs", hidden_layer_sizes=(7,), max_iter=5, random_state=3,
                  activation=activation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkMLPRegressor(**kwargs).fit(X, y)
        ours = MLPRegressor(**kwargs).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip([*ours.coefs_, *ours.intercepts_], [*theirs.coefs_, *theirs.intercepts_],
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# -- files and export ---------------------------------------------------------------------------

def _fitted_regressor(loss="squared_error", n_targets=1, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 5))
    y = np.abs(X @ rng.normal(size=(5, n_targets))) + 0.1
    y = y[:, 0] if n_targets == 1 else y
    model = MLPRegressor(loss, hidden_layer_sizes=(6, 4), activation="tanh", max_iter=20,
                         dtype=dtype, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, X


@pytest.mark.parametrize("loss, n_targets", [("squared_error", 1), ("squared_error", 3),
                                             ("poisson", 1), ("poisson", 2)])
def test_save_and_load_model_give_the_same_regressor(loss, n_targets, tmp_path):
    from nnbasics import load_model

    model, X = _fitted_regressor(loss, n_targets)
    model.save(tmp_path / "r.npz", extra_metadata={"note": "kept"})
    loaded = load_model(tmp_path / "r.npz")
    assert type(loaded) is MLPRegressor and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).shape == model.predict(X).shape
    assert loaded.n_outputs_ == n_targets and loaded.out_activation_ == model.out_activation_
    assert loaded.extra_metadata_ == {"note": "kept"} and loaded.n_iter_ == model.n_iter_
    # training goes on as it would have in memory (the optimiser's state was saved)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(X[:40], model.predict(X[:40]) * 1.1)
        loaded.partial_fit(X[:40], loaded.predict(X[:40]) * 1.1)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_regressor_file_is_refused_by_the_classifier_commands(tmp_path):
    from nnbasics.cli.predict import load_classifier

    model, _ = _fitted_regressor()
    model.save(tmp_path / "r.npz")
    with pytest.raises(ValueError, match="holds a regressor"):
        load_classifier(tmp_path / "r.npz")


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_computes_the_network_and_reads_back(loss, dtype):
    torch = pytest.importorskip("torch")
    model, X = _fitted_regressor(loss, n_targets=2, dtype=dtype)
    module = model.to_torch()
    with torch.no_grad():
        z = module(torch.from_numpy(X.astype(dtype))).numpy()
    expected = np.log(model.predict(X)) if loss == "poisson" else model.predict(X)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(z, expected, rtol=tolerance, atol=tolerance)
    back = MLPRegressor.from_torch(module, loss=loss)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.hidden_layer_sizes == (6, 4) and back.activation == "tanh"
    assert back.n_outputs_ == 2 and back.predict(X).shape == (len(X), 2)
    one = MLPRegressor.from_torch(torch.nn.Sequential(torch.nn.Linear(5, 1)))
    assert one.predict(X).shape == (len(X),)  # one target: predict gives (N,), as after fit


def test_from_torch_refuses_what_is_not_a_regressors():
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(5, 3))
    with pytest.raises(TypeError, match="no classes"):
        MLPRegressor.from_torch(module, classes=[0, 1, 2])
    with pytest.raises(TypeError, match="no classes"):
        MLPRegressor.from_torch(module, multilabel=True)
    with pytest.raises(ValueError, match="Softmax"):
        MLPRegressor.from_torch(torch.nn.Sequential(torch.nn.Linear(5, 3),
                                                    torch.nn.Softmax(dim=1)))
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor.from_torch(module, loss="absolute_error")
    model, _ = _fitted_regressor()
    with pytest.raises(ValueError, match="no probabilities"):
        from nnbasics.mlp.export import to_torch

        to_torch(model, probabilities=True)


@pytest.mark.parametrize("loss, n_targets", [("squared_error", 1), ("poisson", 3)])
def test_onnx_prediction_matches_predict(loss, n_targets, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    model, X = _fitted_regressor(loss, n_targets)
    path = model.to_onnx(tmp_path / "r.onnx")
    session = onnxruntime.InferenceSession(str(path))
    assert [o.name for o in session.get_outputs()] == ["prediction"]
    (prediction,) = session.run(None, {"X": X.astype(np.float32)})
    assert prediction.shape == (len(X), n_targets)
    np.testing.assert_allclose(prediction.reshape(model.predict(X).shape), model.predict(X),
                               rtol=1e-5, atol=1e-6)
