"""Nothing trained is lost: a fit stopped by Ctrl-C keeps its parameters, a defective checkpoint
is skipped for the one before it, and a directory of unusable checkpoints is left as it is."""

import warnings

import numpy as np
import pytest

import nnbasics.mlp.estimator as estimator_module
from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.mlp import Workspace, init_parameters, loss_and_gradients
from nnbasics.mlp.estimator import MLPClassifier
from nnbasics.mlp.model import loss_and_sgd_update
from nnbasics.mlp.training import (
    CHECKPOINT_KIND,
    latest_checkpoints,
    load_latest_checkpoint,
    run_epochs,
)
from tests.test_training import CONFIG, _data, _state


def _interrupt_after(n_epochs, monkeypatch):
    """Make the estimator's loop raise KeyboardInterrupt once ``n_epochs`` epochs are done."""
    original = estimator_module.run_epochs

    def run_then_interrupt(state, *args, **kwargs):
        def callback(s):
            if s.epoch == n_epochs:
                raise KeyboardInterrupt
        original(state, *args[:6], callback)  # X, y, config, validation, directory, fingerprint

    monkeypatch.setattr(estimator_module, "run_epochs", run_then_interrupt)


def test_ctrl_c_keeps_the_epochs_trained_and_warns_as_scikit_learn(monkeypatch):
    X, y = _data()
    _interrupt_after(2, monkeypatch)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        model.fit(X, y)
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    # the parameters are those of two epochs: the same as an uninterrupted 2-epoch fit
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    for a, b in zip(model.coefs_, two.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.score(X, y) == two.score(X, y)


def test_ctrl_c_with_early_stopping_keeps_the_best_parameters(monkeypatch):
    X, y = _data(n=200)
    _interrupt_after(3, monkeypatch)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, early_stopping=True,
                          random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        model.fit(X, y)
    best = int(np.nanargmax(model.history_.val_accuracy))
    assert model.n_iter_ == 3 and 0 <= best < 3  # the best epoch's parameters are the model's


def _three_epochs(tmp_path):
    X, y = _data()
    run_epochs(_state(1), X, y, CONFIG, checkpoint_dir=tmp_path, fingerprint={"run": 1},
               n_epochs=3)
    return latest_checkpoints(tmp_path)  # epochs 3 and 2


def _rewrite(path, drop=(), meta_update=None):
    arrays, meta = load_arrays(path, kind=CHECKPOINT_KIND)
    arrays = {k: v for k, v in arrays.items() if k not in drop}
    meta.update(meta_update or {})
    for key in [k for k, v in meta.items() if v is _DELETE]:
        del meta[key]
    save_arrays(path, arrays, meta, kind=CHECKPOINT_KIND)


_DELETE = object()


@pytest.mark.parametrize("defect, change, named", [
    ("an array missing", dict(drop=("coef_1",)), "no array 'coef_1'"),
    ("metadata of the wrong type", dict(meta_update={"epoch": "three"}), "three"),
    ("no record of its run", dict(meta_update={"fingerprint": _DELETE}), "does not record"),
    ("an array of the wrong shape", dict(drop=(), meta_update=None), "shape"),
])
def test_a_defective_newest_checkpoint_is_skipped_and_named(tmp_path, defect, change, named):
    newest, older = _three_epochs(tmp_path)
    if defect == "an array of the wrong shape":
        arrays, meta = load_arrays(newest, kind=CHECKPOINT_KIND)
        arrays["coef_0"] = np.zeros((2, 2), arrays["coef_0"].dtype)
        save_arrays(newest, arrays, meta, kind=CHECKPOINT_KIND)
    else:
        _rewrite(newest, **change)
    state = _state(5)
    with pytest.warns(UserWarning, match=f"skipped checkpoint .*{newest.name}.*{named}"):
        used = load_latest_checkpoint(state, tmp_path, {"run": 1})
    assert used == older and state.epoch == 2
    # all of the state is the older checkpoint's, none of the defective one's
    reference = _state(5)
    assert load_latest_checkpoint(reference, tmp_path / "only_older", {"run": 1}) is None
    (tmp_path / "only_older").mkdir()
    older_copy = tmp_path / "only_older" / older.name
    older_copy.write_bytes(older.read_bytes())
    load_latest_checkpoint(reference, tmp_path / "only_older", {"run": 1})
    for a, b in zip(state.weights + state.biases, reference.weights + reference.biases,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert state.optimizer.n_steps == reference.optimizer.n_steps


def test_no_usable_checkpoint_is_an_error_that_leaves_the_files_alone(tmp_path):
    for path in _three_epochs(tmp_path):
        _rewrite(path, drop=("intercept_0",))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    state = _state(5)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no usable checkpoint") as err:
        load_latest_checkpoint(state, tmp_path, {"run": 1})
    assert "epoch-000003.npz: no array 'intercept_0'" in str(err.value)
    assert "epoch-000002.npz: no array 'intercept_0'" in str(err.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert state.epoch == 0  # nothing of the skipped files stayed in the state


def test_another_runs_checkpoint_is_refused_not_skipped(tmp_path):
    _three_epochs(tmp_path)
    with pytest.raises(ValueError, match="different run"):
        load_latest_checkpoint(_state(1), tmp_path, {"run": 2})


def _workspace_case():
    weights, biases = init_parameters([4, 5, 3], "he", np.random.default_rng(0))
    return np.ones((2, 4), np.float32), weights, biases, Workspace([4, 5, 3], 2)


@pytest.mark.parametrize("labels", [[0, 10**9], [0, -1], [0.0, 1.0], [[0, 1]], [0, 1, 2]])
def test_public_steps_refuse_labels_the_compiled_loss_cannot_take(labels):
    # a label past the class count made the compiled loss write outside its arrays
    X, weights, biases, ws = _workspace_case()
    for step, extra in ((loss_and_gradients, ()), (loss_and_sgd_update, (0.1,))):
        with pytest.raises(ValueError, match="labels must be"):
            step(X, np.asarray(labels), weights, biases, "relu", ws, *extra)


def test_public_steps_refuse_layers_that_do_not_fit_the_workspace():
    X, weights, biases, ws = _workspace_case()
    weights[1] = np.zeros((5, 4), np.float32)  # 4 outputs where the workspace has 3
    with pytest.raises(ValueError, match="do not match the workspace's layer sizes"):
        loss_and_gradients(X, np.array([0, 1]), weights, biases, "relu", ws)
    with pytest.raises(ValueError, match="the workspace is for 2 layers"):
        loss_and_gradients(X, np.array([0, 1]), weights[:1], biases[:1], "relu", ws)
