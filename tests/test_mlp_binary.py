"""Two classes: one logistic unit, as scikit-learn's binary MLPClassifier (issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from nnbasics import MLPClassifier, assert_gradcheck
from nnbasics._accel.mlp_kernels import logistic_cross_entropy_inplace
from nnbasics.mlp import model as mlp_model
from nnbasics.mlp import reference
from nnbasics.mlp.estimator import load_model
from nnbasics.mlp.model import Workspace, init_parameters
from nnbasics.mlp.reference import output_loss, pack_parameters, packed_loss_and_gradient

LAYERS = (4, 5, 1)


def _binary_batch(n_rows: int, seed: int):
    """Rows, 0/1 labels and float64 parameters of a LAYERS network with random biases."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, LAYERS[0]))
    labels = rng.integers(0, 2, n_rows)
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    return X, labels, weights, [rng.normal(size=b.shape) for b in biases]


def _two_blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(-1.0, 0.7, (n, 2)), rng.normal(1.0, 0.7, (n, 2))])
    return X, np.array(["no"] * n + ["yes"] * n)


def test_binary_cross_entropy_of_labels_is_the_one_column_indicator_loss():
    z = np.array([[0.3], [-2.0], [40.0]])
    labels = np.array([1, 0, 0])
    by_labels = output_loss(z, labels, "logistic")
    by_column = output_loss(z, labels[:, None].astype(float), "logistic")
    assert by_labels[0] == pytest.approx(by_column[0])
    np.testing.assert_allclose(by_labels[1], by_column[1])
    # the loss by hand: -log sigmoid(0.3), -log(1 - sigmoid(-2)), -log(1 - sigmoid(40)) = 40
    expected = (np.log1p(np.exp(-0.3)) + np.log1p(np.exp(-2.0)) + 40.0 + np.log1p(np.exp(-40)))
    assert by_labels[0] == pytest.approx(expected / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_logistic_loss_is_the_reference_one(dtype):
    rng = np.random.default_rng(3)
    z = (rng.normal(size=(33, 1)) * 30).astype(dtype)  # saturated rows too
    labels = rng.integers(0, 2, 33)
    bias = np.array([0.25], dtype=dtype)
    loss, delta = output_loss(z.astype(np.float64) + 0.25, labels, "logistic")
    bias_grad, n_correct = np.empty(1, dtype=dtype), np.zeros(1, dtype=np.int64)
    work = z.copy()
    compiled = logistic_cross_entropy_inplace(work, labels, bias, bias_grad, n_correct)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert compiled == pytest.approx(loss, rel=tol)
    np.testing.assert_allclose(work, delta, rtol=tol, atol=tol / 33)
    assert bias_grad[0] == pytest.approx(delta.sum(), rel=tol, abs=tol)
    assert n_correct[0] == np.sum((z[:, 0] + 0.25 > 0) == (labels == 1))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_the_binary_gradient_matches_finite_differences(activation):
    X, labels, weights, biases = _binary_batch(9, seed=1)
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, labels, LAYERS, activation, 0.2, "logistic"),
        pack_parameters(weights, biases), name=f"binary {activation}",
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_the_fast_step_of_one_unit_is_the_reference_step(activation):
    X, labels, weights, biases = _binary_batch(16, seed=2)
    ref_loss, ref_dw, ref_db = reference.loss_and_gradients(X, labels, weights, biases,
                                                            activation, 0.1, "logistic")
    ws = Workspace(LAYERS, 16, np.float64)
    loss = mlp_model.loss_and_gradients(X, labels, weights, biases, activation, ws, 0.1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for fast, ref in zip([*ws.dweights, *ws.dbiases], [*ref_dw, *ref_db], strict=True):
        np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12)


def test_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    X, labels, weights, biases = _binary_batch(7, seed=4)
    loss, dweights, dbiases = reference.loss_and_gradients(X, labels, weights, biases, "tanh", 0.0,
                                                 "logistic")
    params = [torch.tensor(a, requires_grad=True) for a in (*weights, *biases)]
    hidden = torch.tanh(torch.tensor(X) @ params[0] + params[2])
    z = (hidden @ params[1] + params[3])[:, 0]
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.tensor(labels, dtype=torch.float64))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for ours, theirs in zip([*dweights, *dbiases], params, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_two_classes_train_one_logistic_unit(engine):
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0,
                          engine=engine).fit(X, y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 1
    assert model.coefs_[-1].shape == (8, 1) and model.intercepts_[-1].shape == (1,)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, y) > 0.9
    assert 0.9 < model.history_.train_accuracy[-1] <= 1.0  # counted by the one-unit loss


def test_the_fast_and_reference_engines_agree_on_a_binary_fit():
    X, y = _two_blobs(seed=1)
    kwargs = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=3, dtype="float64",
                  solver="sgd", momentum=0.0)
    fast = MLPClassifier(engine="fast", **kwargs).fit(X, y)
    reference = MLPClassifier(engine="reference", **kwargs).fit(X, y)
    np.testing.assert_allclose(fast.loss_curve_, reference.loss_curve_, rtol=1e-9)
    for a, b in zip(fast.coefs_, reference.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_log_proba_is_finite_where_a_probability_rounds_to_one():
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(), max_iter=5, random_state=0).fit(X, y)
    far = np.array([[400.0, 400.0], [-400.0, -400.0]])
    assert np.all(np.isfinite(model.predict_log_proba(far)))


def test_proba_and_log_proba_agree_where_the_logit_saturates():
    # exp(predict_log_proba) is predict_proba, also where 1 - sigmoid(z) would round to 0
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(), max_iter=5, random_state=0,
                          dtype="float64").fit(X, y)
    far = np.array([[600.0, 600.0], [3000.0, 3000.0], [-3000.0, -3000.0]])  # z ~ 20, 100, -100
    proba = model.predict_proba(far)
    assert np.all(proba > 0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(far)), proba, rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)


def test_a_binary_model_saves_and_loads(tmp_path):
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    loaded = load_model(model.save(tmp_path / "m.npz"))
    assert loaded.out_activation_ == "logistic" and loaded.n_outputs_ == 1
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    loaded.partial_fit(X, y)  # trains on from the loaded one-unit layer


def test_a_two_output_softmax_model_of_the_previous_release_still_loads_and_trains(tmp_path):
    from nnbasics.io.serialization import load_arrays, save_arrays
    from nnbasics.mlp.estimator import MODEL_KIND

    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    arrays, meta = load_arrays(model.save(tmp_path / "m.npz"), kind=MODEL_KIND)
    # 0.1 wrote a binary model as a 2-way softmax, without "output" in the metadata
    del meta["output"]
    arrays["coef_1"] = np.concatenate([np.zeros_like(arrays["coef_1"]), arrays["coef_1"]], 1)
    arrays["intercept_1"] = np.concatenate([[0.0], arrays["intercept_1"]]).astype(np.float32)
    for name in [k for k in arrays if k.startswith("optimizer_")]:
        del arrays[name]
    old = load_model(save_arrays(tmp_path / "old.npz", arrays, meta, kind=MODEL_KIND))
    assert old.out_activation_ == "softmax" and old.coefs_[-1].shape == (4, 2)
    np.testing.assert_allclose(old.predict_proba(X), model.predict_proba(X), rtol=1e-5)
    old.partial_fit(X, y)
    assert old.coefs_[-1].shape == (4, 2)


def test_exports_write_the_two_logit_equivalent():
    torch = pytest.importorskip("torch")
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0,
                          dtype="float64").fit(X, y)
    module = model.to_torch(probabilities=True)
    with torch.no_grad():
        proba = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-10)


def test_onnx_export_of_a_binary_model(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    session = ort.InferenceSession(str(model.to_onnx(tmp_path / "m.onnx")),
                                   providers=["CPUExecutionProvider"])
    _, proba, label = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(label, model.predict(X))


def test_coefs_set_by_hand_train_as_scikit_learn_worked_example():
    # scikit-learn's test_fit: one row, logistic units, one SGD step of rate 0.1 and alpha 0.1
    model = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                          random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0,
                          dtype="float64")
    model.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    model.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    model.n_features_in_ = 3
    model.partial_fit(np.array([[0.6, 0.8, 0.7]]), np.array([0]), classes=[0, 1])
    np.testing.assert_allclose(model.coefs_[1], [[0.04706], [0.154089]], atol=5e-4)
    np.testing.assert_allclose(model.intercepts_[1], [0.9235], atol=5e-4)
    assert model.predict_proba(np.array([[0.6, 0.8, 0.7]]))[0, 1] == pytest.approx(0.739,
                                                                                   abs=5e-4)


def _set_by_hand(model: MLPClassifier, n_units: int, seed: int = 0) -> MLPClassifier:
    """A 2-4-n_units network set by hand, for the classes [0, 1]."""
    rng = np.random.default_rng(seed)
    model.coefs_ = [rng.normal(size=(2, 4)), rng.normal(size=(4, n_units))]
    model.intercepts_ = [np.zeros(4), np.zeros(n_units)]
    model.classes_, model.n_features_in_ = np.array([0, 1]), 2
    return model


@pytest.mark.parametrize("n_units", [1, 2])
def test_coefs_set_by_hand_predict_with_the_output_layer_they_have(n_units):
    # one column: the logistic unit of the binary model; two: a 2-way softmax (0.1's layout)
    X, _ = _two_blobs()
    model = _set_by_hand(MLPClassifier(hidden_layer_sizes=(4,), dtype="float64"), n_units)
    z = np.maximum(X @ model.coefs_[0], 0) @ model.coefs_[1]
    p = 1 / (1 + np.exp(-z[:, 0])) if n_units == 1 else 1 / (1 + np.exp(z[:, 0] - z[:, 1]))
    np.testing.assert_allclose(model.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-10)
    np.testing.assert_array_equal(model.predict(X), (p > 0.5).astype(int))


def test_a_fitted_binary_model_whose_coefs_were_replaced_predicts_with_them():
    X, y = _two_blobs()
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    old_layout = _set_by_hand(MLPClassifier(hidden_layer_sizes=(4,)), 2)
    model.coefs_, model.intercepts_ = old_layout.coefs_, old_layout.intercepts_
    old_layout.classes_ = model.classes_
    np.testing.assert_allclose(model.predict_proba(X), old_layout.predict_proba(X))


@pytest.mark.parametrize("n_units", [1, 2])
def test_warm_start_trains_on_coefs_set_by_hand(n_units):
    X, y = _two_blobs()
    y = (y == "yes").astype(int)
    model = _set_by_hand(MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0,
                                       warm_start=True, dtype="float64"), n_units)
    before = model.score(X, y)
    model.fit(X, y)
    assert model.coefs_[-1].shape == (4, n_units)
    assert model.score(X, y) >= before
