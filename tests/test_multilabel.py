"""Multilabel ``MLPClassifier``: a 0/1 indicator ``y`` (N, K), K sigmoid outputs with binary
cross-entropy (scikit-learn's multilabel classification), trained by the reference engine."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification

from nnbasics import MLPClassifier, assert_gradcheck
from nnbasics.mlp.model import init_parameters
from nnbasics.mlp.reference import output_loss, pack_parameters, packed_loss_and_gradient

LAYERS = (4, 5, 3)


@pytest.fixture(scope="module")
def multilabel():
    return make_multilabel_classification(n_samples=60, random_state=0, return_indicator=True)


def test_binary_cross_entropy_by_hand():
    z = np.array([[0.0, np.log(3.0)]])  # sigmoid: 1/2 and 3/4
    targets = np.array([[1.0, 0.0]])
    loss, delta = output_loss(z, targets, "logistic")
    assert loss == pytest.approx(-np.log(0.5) - np.log(0.25))
    np.testing.assert_allclose(delta, [[0.5 - 1.0, 0.75]])


def test_binary_cross_entropy_is_finite_for_huge_logits():
    loss, delta = output_loss(np.array([[800.0, -800.0]]), np.array([[0.0, 1.0]]), "logistic")
    assert loss == pytest.approx(1600.0)
    np.testing.assert_allclose(delta, [[1.0, -1.0]])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_logistic_output_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9, LAYERS[0]))
    targets = rng.integers(0, 2, size=(9, LAYERS[-1])).astype(float)
    weights, biases = init_parameters(LAYERS, "xavier", rng, np.float64)
    biases = [rng.normal(size=b.shape) for b in biases]
    assert_gradcheck(
        lambda t: packed_loss_and_gradient(t, X, targets, LAYERS, activation, 0.2, "logistic"),
        pack_parameters(weights, biases), name=f"logistic {activation}",
    )


def test_fit_predicts_the_indicator_matrix(multilabel):
    X, Y = multilabel
    model = MLPClassifier(hidden_layer_sizes=(50,), solver="lbfgs", alpha=1e-5, max_iter=200,
                          random_state=0).fit(X, Y)
    assert model.out_activation_ == "logistic"
    np.testing.assert_array_equal(model.classes_, np.arange(Y.shape[1]))
    predicted = model.predict(X)
    assert predicted.shape == Y.shape and set(np.unique(predicted)) <= {0, 1}
    assert model.score(X, Y) > 0.95  # every label of a row right
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(proba > 0.5, predicted == 1)
    assert np.abs(proba.sum(axis=1) - 1).max() > 0.1  # independent labels, not a softmax
    # log sigmoid computed as -logaddexp(0, -z): as exact as the probabilities, or more (where
    # p rounds to 1, log(p) is 0 but log sigmoid keeps the tiny negative value)
    log_proba = model.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-12)
    assert np.all(log_proba < 0)


def test_partial_fit_with_an_indicator_matrix(multilabel):
    X, Y = multilabel
    model = MLPClassifier(hidden_layer_sizes=(50,), solver="sgd", activation="logistic",
                          alpha=1e-5, learning_rate_init=0.2, random_state=0)
    for _ in range(60):
        model.partial_fit(X, Y, classes=np.arange(Y.shape[1]))
    assert model.score(X, Y) > 0.9
    with pytest.raises(ValueError, match="kind"):
        model.partial_fit(X, Y[:, 0])


def test_partial_fit_needs_the_columns_as_classes(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="classes must name"):
        MLPClassifier(hidden_layer_sizes=(3,)).partial_fit(X, Y, classes=[0, 1])


def _fitted_multilabel(multilabel):
    X, Y = multilabel
    model = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(Warning):
        model.fit(X, Y)
    return model, X


def test_a_multilabel_model_saves_and_loads(multilabel, tmp_path):
    from nnbasics import load_model

    model, X = _fitted_multilabel(multilabel)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded._multilabel and loaded.n_outputs_ == model.n_outputs_
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_multilabel_model_exports_with_sigmoid_outputs(multilabel, tmp_path):
    torch = pytest.importorskip("torch")
    model, X = _fitted_multilabel(multilabel)
    module = model.to_torch(probabilities=True)
    assert isinstance(module[-1], torch.nn.Sigmoid)
    with torch.no_grad():
        proba = module(torch.from_numpy(X.astype(model.coefs_[0].dtype))).numpy()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-5, atol=1e-6)
    onnxruntime = pytest.importorskip("onnxruntime")
    path = model.to_onnx(tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(path))
    logits, probabilities, label = session.run(None, {"X": X.astype(model.coefs_[0].dtype)})
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(label, model.predict(X))
    assert label.dtype == np.int64 and label.shape == logits.shape == (len(X), 5)


@pytest.mark.parametrize("probabilities", [False, True])
def test_a_multilabel_module_reads_back_when_said(multilabel, probabilities):
    pytest.importorskip("torch")
    model, X = _fitted_multilabel(multilabel)
    module = model.to_torch(probabilities=probabilities)
    back = MLPClassifier.from_torch(module, multilabel=True)
    assert back._multilabel and back.classes_.tolist() == list(range(5))
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X), rtol=1e-12)
    assert MLPClassifier.from_torch(module, classes=range(5), multilabel=True)._multilabel
    with pytest.raises(ValueError, match="indices"):
        MLPClassifier.from_torch(module, classes=["a", "b", "c", "d", "e"], multilabel=True)
    with pytest.raises(TypeError, match="needs classes"):  # a logits module says neither
        MLPClassifier.from_torch(module)


def test_multiclass_multioutput_targets_are_refused():
    X = np.zeros((4, 2))
    Y = np.array([[0, 2], [1, 0], [2, 1], [0, 1]])
    with pytest.raises(ValueError, match="label indicator"):
        MLPClassifier(hidden_layer_sizes=(3,)).fit(X, Y)


def test_a_column_of_labels_is_read_as_labels():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.warns(Warning, match="column"):
        model = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0).fit(
            X, np.array([[0], [0], [1], [1]]))
    # two classes: one logistic unit, as scikit-learn's binary classifier
    assert model.out_activation_ == "logistic" and model.predict(X).shape == (4,)
    assert model.coefs_[-1].shape == (3, 1) and model.predict_proba(X).shape == (4, 2)


def test_the_classifier_commands_refuse_a_multilabel_file(multilabel, tmp_path):
    from nnbasics.cli.predict import load_classifier

    model, _ = _fitted_multilabel(multilabel)
    model.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="holds a multilabel classifier"):
        load_classifier(tmp_path / "m.npz")
