"""SciPy sparse ``X`` (CSR, CSC): trained by the reference engine, same model as dense ``X``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from nnbasics import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16.0, y[:200]


@pytest.mark.parametrize("make_sparse", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_sparse_x_trains_the_model_dense_x_trains(digits, make_sparse, solver):
    X, y = digits
    params = dict(hidden_layer_sizes=(15,), solver=solver, max_iter=20, random_state=1,
                  engine="reference", dtype="float64")
    with pytest.warns(Warning):  # max_iter reached
        dense = MLPClassifier(**params).fit(X, y)
    with pytest.warns(Warning):
        from_sparse = MLPClassifier(**params).fit(make_sparse(X), y)
    np.testing.assert_allclose(from_sparse.predict_proba(make_sparse(X)),
                               dense.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert from_sparse.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-9)


def test_sparse_x_with_the_default_engine_trains_by_the_reference_engine(digits):
    X, y = digits
    model = MLPClassifier(hidden_layer_sizes=(15,), max_iter=30, random_state=1)
    with pytest.warns(Warning):
        model.fit(sp.csr_matrix(X), y)
    assert model.score(sp.csr_matrix(X), y) > 0.5
    np.testing.assert_array_equal(model.predict(sp.csr_matrix(X)), model.predict(X))


def test_sparse_x_for_the_regressor_and_partial_fit(digits):
    X, _ = digits
    target = X[:, 10]
    model = MLPRegressor(hidden_layer_sizes=(15,), solver="lbfgs", random_state=1)
    model.fit(sp.csr_matrix(X), target)
    assert model.score(sp.csr_matrix(X), target) > 0.95
    online = MLPRegressor(hidden_layer_sizes=(15,), random_state=1)
    online.partial_fit(sp.csc_matrix(X), target)
    assert online.n_iter_ == 1


def test_sparse_x_writes_no_checkpoints(digits, tmp_path):
    X, y = digits
    with pytest.raises(ValueError, match="dense X"):
        MLPClassifier(hidden_layer_sizes=(3,), checkpoint_dir=tmp_path).fit(sp.csr_matrix(X), y)
