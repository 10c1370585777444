"""The reference engine: the readable training step, its gradients, the fast engine held to it."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from nnbasics.core.gradcheck import gradcheck
from nnbasics.mlp import MLPClassifier, load_model, reference
from nnbasics.mlp.model import init_parameters
from nnbasics.mlp.optimizers import SGD
from nnbasics.mlp.reference import pack_parameters, unpack_parameters

ACTIVATIONS = ["relu", "sigmoid", "tanh", "identity"]
SOLVERS = {"sgd": {"solver": "sgd", "momentum": 0.0},
           "momentum": {"solver": "sgd", "momentum": 0.9},
           "adam": {"solver": "adam"}}


def _data(n=300, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.argmax(X[:, :k] + 0.5 * rng.standard_normal((n, k)), axis=1)
    return X, y


def _network(sizes=(4, 6, 5, 3), seed=7, n=5):
    rng = np.random.default_rng(seed)
    weights, biases = init_parameters(sizes, "xavier", rng, np.float64)
    biases = [rng.standard_normal(b.shape) for b in biases]  # non-zero: every term checked
    X = rng.standard_normal((n, sizes[0]))
    return X, rng.integers(0, sizes[-1], n), weights, biases


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_fast_engine_loss_curve_follows_the_reference(activation, solver):
    # same seed, same batches, float64: the compiled engine computes the same steps as the
    # readable one, up to rounding, epoch after epoch (L2 on, a last batch of another size)
    X, y = _data()
    curves, params = [], []
    for engine in ("fast", "reference"):
        model = MLPClassifier((12, 7), activation, max_iter=5, dtype="float64", batch_size=64,
                              learning_rate_init=0.05 if solver != "adam" else 0.01,
                              alpha=1e-2, random_state=3, engine=engine, **SOLVERS[solver])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        curves.append(np.array(model.loss_curve_))
        params.append([*model.coefs_, *model.intercepts_])
    fast, ref = curves
    assert len(fast) == 5 and fast[-1] < fast[0]  # it learns
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=0)
    for a, b in zip(*params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_with_a_random_upstream_gradient_checks_numerically(activation):
    # the numerical gradient of sum(logits * dout) for a random dout: a transposed or misplaced
    # term cannot hide behind an all-ones upstream gradient
    X, _, weights, biases = _network()
    dout = np.random.default_rng(1).standard_normal((X.shape[0], 3))
    layer_sizes = [weights[0].shape[0], *(W.shape[1] for W in weights)]
    theta0 = pack_parameters(weights, biases)

    def f(theta):
        W, b = unpack_parameters(theta, layer_sizes)
        parts = [*W, *b]
        logits, values = reference.forward(X, parts[:3], parts[3:], activation)
        dW, db = reference.backward(dout, values, parts[:3], activation)
        return float(np.sum(logits * dout)), pack_parameters(dW, db)

    result = gradcheck(f, theta0)
    assert result.passed, result.describe()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_and_gradients_with_l2_check_numerically(activation):
    X, labels, weights, biases = _network()
    layer_sizes = [weights[0].shape[0], *(W.shape[1] for W in weights)]
    theta0 = pack_parameters(weights, biases)

    def f(theta):
        W, b = unpack_parameters(theta, layer_sizes)
        parts = [*W, *b]
        loss, dW, db = reference.loss_and_gradients(X, labels, parts[:3], parts[3:], activation,
                                                    alpha=0.3)
        return loss, pack_parameters(dW, db)

    result = gradcheck(f, theta0)
    assert result.passed, result.describe()


def test_train_step_is_one_sgd_step_on_the_gradient():
    X, labels, weights, biases = _network()
    loss, dW, db = reference.loss_and_gradients(X, labels, weights, biases, "tanh", alpha=0.1)
    expected = [p - 0.5 * g for p, g in zip([*weights, *biases], [*dW, *db], strict=True)]
    logits, _ = reference.forward(X, weights, biases, "tanh")
    right = int(np.sum(np.argmax(logits, axis=1) == labels))
    params = [*weights, *biases]
    step_loss, n_correct = reference.train_step(X, labels, weights, biases, "tanh",
                                                SGD(params, 0.5), alpha=0.1)
    assert (step_loss, n_correct) == (loss, right)  # measured before the step
    for got, want in zip(params, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)


def test_engine_is_a_parameter_checked_saved_and_loaded(tmp_path):
    X, y = _data(n=60)
    model = MLPClassifier((4,), max_iter=2, engine="reference", random_state=0)
    assert model.get_params()["engine"] == "reference"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert load_model(model.save(tmp_path / "m.npz")).engine == "reference"
    assert MLPClassifier().engine == "fast"
    for bad in ("slow", None, 1):
        with pytest.raises(ValueError, match="engine must be one of 'fast', 'reference'"):
            MLPClassifier(engine=bad, max_iter=1).fit(X, y)
