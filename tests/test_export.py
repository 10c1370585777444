"""``MLPClassifier.to_torch`` / ``from_torch`` / ``to_onnx``: the exported model computes what the
estimator computes, PyTorch training continues from it and reads back, bad modules are refused by
name.  Each test skips (with the reason) when its optional library (torch; onnx, onnxruntime) is
not installed."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from nnbasics.mlp.estimator import MLPClassifier, load_model

# float64 logits agree to rounding; float32 ones to float32 rounding (predict_proba runs in float64)
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def fitted(dtype="float32", activation="relu", hidden=(7, 5), labels=("ant", "bee", "cat"),
           seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 6))
    y = np.asarray(labels)[rng.integers(0, len(labels), size=120)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden, activation, max_iter=3, dtype=dtype, random_state=seed)
        model.fit(X, y)
    return model, X


# ----------------------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_to_torch_computes_predict_proba_and_predict(dtype, activation, rng):
    torch = pytest.importorskip("torch")
    model, _ = fitted(dtype, activation)
    module = model.to_torch()
    X = rng.normal(size=(50, 6))
    logits = module(torch.from_numpy(X.astype(dtype))).detach()
    assert logits.dtype == getattr(torch, dtype)
    proba = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=TOLERANCE[dtype])
    np.testing.assert_array_equal(model.classes_[logits.argmax(dim=1).numpy()], model.predict(X))


def test_to_torch_layout_and_probabilities_option(rng):
    torch = pytest.importorskip("torch")
    model, _ = fitted("float64", "tanh", hidden=(4, 3))
    module = model.to_torch(probabilities=True)
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear", "Tanh", "Linear",
                                                  "Softmax"]
    np.testing.assert_array_equal(module[0].weight.detach().numpy(), model.coefs_[0].T)
    X = rng.normal(size=(9, 6))
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(),
                               model.predict_proba(X), rtol=0, atol=1e-12)


def test_to_torch_copies_the_parameters():
    torch = pytest.importorskip("torch")
    model, _ = fitted()
    before = model.coefs_[0].copy()
    module = model.to_torch()
    with torch.no_grad():
        module[0].weight.add_(1.0)
    np.testing.assert_array_equal(model.coefs_[0], before)


def test_to_torch_needs_a_fitted_model():
    pytest.importorskip("torch")
    with pytest.raises(NotFittedError):
        MLPClassifier().to_torch()


@pytest.mark.parametrize("probabilities", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_identical_parameters(dtype, probabilities):
    pytest.importorskip("torch")
    model, X = fitted(dtype, "sigmoid")
    back = MLPClassifier.from_torch(model.to_torch(probabilities), model.classes_)
    assert type(back) is MLPClassifier
    assert back.hidden_layer_sizes == (7, 5)
    assert back.activation == "sigmoid" and back.dtype == dtype
    np.testing.assert_array_equal(back.classes_, model.classes_)
    for ours, theirs in zip(model.coefs_ + model.intercepts_, back.coefs_ + back.intercepts_,
                            strict=True):
        assert theirs.dtype == ours.dtype
        np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


def test_training_continues_in_torch_and_reads_back(rng):
    torch = pytest.importorskip("torch")
    model, X = fitted("float32", "relu")
    module = model.to_torch()
    codes = torch.from_numpy(np.searchsorted(model.classes_, np.asarray(model.classes_)[
        rng.integers(0, 3, size=len(X))]))
    inputs = torch.from_numpy(X.astype(np.float32))
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), codes).backward()
        optimizer.step()
    trained = MLPClassifier.from_torch(module, model.classes_)
    assert not np.allclose(trained.coefs_[0], model.coefs_[0])  # torch did train
    X_new = rng.normal(size=(40, 6))
    logits = module(torch.from_numpy(X_new.astype(np.float32))).detach()
    np.testing.assert_allclose(trained.predict_proba(X_new), torch.softmax(logits, 1).numpy(),
                               rtol=0, atol=1e-6)
    np.testing.assert_array_equal(trained.predict(X_new),
                                  model.classes_[logits.argmax(1).numpy()])


def test_from_torch_sorts_classes_given_in_output_order(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    model = MLPClassifier.from_torch(module, ["cat", "ant", "bee"])  # outputs 0, 1, 2
    np.testing.assert_array_equal(model.classes_, ["ant", "bee", "cat"])
    X = rng.normal(size=(20, 4))
    proba = torch.softmax(module(torch.from_numpy(X.astype(np.float32))), 1).detach().numpy()
    np.testing.assert_allclose(model.predict_proba(X), proba[:, [1, 2, 0]], rtol=0, atol=1e-6)


def test_a_model_from_torch_trains_on_saves_and_loads(tmp_path, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    model = MLPClassifier.from_torch(module.double(), [0, 1], solver="sgd",
                                     learning_rate_init=0.1, random_state=0)
    assert model.dtype == "float64" and model.n_iter_ == 0
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 2, size=60)
    start = model.coefs_[0].copy()
    model.partial_fit(X, y)
    assert model.n_iter_ == 1 and not np.array_equal(model.coefs_[0], start)
    loaded = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_from_torch_casts_to_the_dtype_asked_for():
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 2))  # softmax regression: no hidden layer
    model = MLPClassifier.from_torch(module, [0, 1], dtype="float64")
    assert model.hidden_layer_sizes == () and model.coefs_[0].dtype == np.float64


def _bad_modules(nn):
    return {
        "not sequential": (nn.Linear(3, 2), TypeError, "torch.nn.Sequential"),
        "empty": (nn.Sequential(), ValueError, "no Linear"),
        "starts with activation": (nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), TypeError,
                                   "layer 0 is ReLU; expected Linear"),
        "two Linear in a row": (nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)), TypeError,
                                "layer 1 is Linear; expected one of"),
        "unsupported activation": (nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2)),
                                   TypeError, "layer 1 is GELU"),
        "ends with activation": (nn.Sequential(nn.Linear(3, 2), nn.ReLU()), TypeError,
                                 "last layer is ReLU"),
        "mixed activations": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4),
                                            nn.Tanh(), nn.Linear(4, 2)),
                              ValueError, "one activation for every hidden layer"),
        "widths do not chain": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2)),
                                ValueError, "takes 5 inputs but the layer before gives 4"),
        "no bias": (nn.Sequential(nn.Linear(3, 2, bias=False)), ValueError, "has no bias"),
        "softmax over rows": (nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), ValueError,
                              "dim=0"),
        "half precision": (nn.Sequential(nn.Linear(3, 2)).half(), ValueError, "float16"),
    }


@pytest.mark.parametrize("case", ["not sequential", "empty", "starts with activation",
                                  "two Linear in a row", "unsupported activation",
                                  "ends with activation", "mixed activations",
                                  "widths do not chain", "no bias", "softmax over rows",
                                  "half precision"])
def test_from_torch_names_what_does_not_fit(case):
    torch = pytest.importorskip("torch")
    module, error, message = _bad_modules(torch.nn)[case]
    with pytest.raises(error, match=message):
        MLPClassifier.from_torch(module, [0, 1])


@pytest.mark.parametrize(("classes", "kwargs", "message"), [
    ([0, 1, 2], {}, "one label per output"),
    ([1, 1], {}, "repeated labels"),
    ([0, 1], {"activation": "tanh"}, "takes activation from the module"),
    ([0, 1], {"dtype": "float16"}, "dtype must be"),
])
def test_from_torch_checks_classes_and_parameters(classes, kwargs, message):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises((ValueError, TypeError), match=message):
        MLPClassifier.from_torch(module, classes, **kwargs)


def test_missing_torch_names_the_extra(monkeypatch):
    model, _ = fitted()
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'nnbasics\[torch\]'"):
        model.to_torch()


# ----------------------------------------------------------------------------------------------
# ONNX
# ----------------------------------------------------------------------------------------------


def run_onnx(path, X):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"X": X}),
                    strict=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_onnx_outputs_match_the_estimator(dtype, activation, tmp_path, rng):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    model, _ = fitted(dtype, activation)
    path = model.to_onnx(tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    X = rng.normal(size=(64, 6))
    out = run_onnx(path, X.astype(dtype))
    assert out["probabilities"].dtype == np.dtype(dtype)
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), rtol=0,
                               atol=TOLERANCE[dtype])
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1, atol=TOLERANCE[dtype])
    np.testing.assert_array_equal(out["label"], model.predict(X))


@pytest.mark.parametrize("labels", [(3, 10, 42), (-1.0, 2.0), ("no", "yes")])
def test_onnx_label_output_keeps_the_class_values(labels, tmp_path, rng):
    pytest.importorskip("onnx")
    model, _ = fitted("float64", "relu", hidden=(6,), labels=labels)
    X = rng.normal(size=(30, 6))
    out = run_onnx(model.to_onnx(tmp_path / "m.onnx"), X)
    assert list(out["label"]) == list(model.predict(X))
    assert set(out["label"]) <= set(labels)


def test_onnx_dtype_option_and_softmax_regression(tmp_path, rng):
    pytest.importorskip("onnx")
    model, _ = fitted("float64", "relu", hidden=())
    X = rng.normal(size=(16, 6))
    out = run_onnx(model.to_onnx(tmp_path / "m.onnx", dtype="float32"), X.astype(np.float32))
    assert out["logits"].dtype == np.float32
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), rtol=0, atol=1e-6)


def test_onnx_declares_opset_17_and_a_batch_dimension(tmp_path):
    onnx = pytest.importorskip("onnx")
    model, _ = fitted()
    written = onnx.load(str(model.to_onnx(tmp_path / "m.onnx")))
    assert [(o.domain, o.version) for o in written.opset_import] == [("", 17)]
    dims = written.graph.input[0].type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("N", 6)
    assert [o.name for o in written.graph.output] == ["logits", "probabilities", "label"]


def test_to_onnx_leaves_an_existing_file_when_it_fails(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(NotFittedError):
        MLPClassifier().to_onnx(path)
    with pytest.raises(ValueError, match="dtype must be"):
        fitted()[0].to_onnx(path, dtype="float16")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    model, _ = fitted()
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'nnbasics\[onnx\]'"):
        model.to_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
