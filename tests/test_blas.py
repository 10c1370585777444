"""SciPy's BLAS gemm called from compiled code: C <- alpha op(A) op(B) + beta C, in place."""

import numpy as np
import pytest

from nnbasics._accel import blas as _blas

DTYPES = [np.float32, np.float64]

needs_binding = pytest.mark.skipif(
    not (_blas.available(np.float32) and _blas.available(np.float64)),
    reason="SciPy's cython_blas is not importable here",
)


@pytest.fixture
def without_scipy(monkeypatch):
    """As if SciPy were not installed: no ``?gemm`` address to call."""
    for cached in (_blas.gemm_unchecked, _blas.shares_numpys_blas):
        cached.cache_clear()
    monkeypatch.setattr(_blas, "_address", lambda dtype: 0)
    yield
    for cached in (_blas.gemm_unchecked, _blas.shares_numpys_blas):
        cached.cache_clear()


def test_the_training_step_calls_scipys_gemm_only_where_it_is_numpys_blas():
    # pip wheels bundle one OpenBLAS each: two pools of spinning threads (_accel/blas.py)
    from threadpoolctl import threadpool_info

    libraries = {i["filepath"] for i in threadpool_info() if i["user_api"] == "blas"}
    assert _blas.shares_numpys_blas() == (len(libraries) == 1 and _blas.available(np.float64))
    stepping = _blas.gemm_unchecked(np.float32)
    assert (stepping is _blas.numpy_gemm) == (not _blas.shares_numpys_blas())


def test_scipys_gemm_is_found_where_scipy_is_installed():
    pytest.importorskip("scipy.linalg.cython_blas")
    assert _blas.available(np.float32) and _blas.available(np.float64)
    assert not _blas.available(np.float16) and not _blas.available(np.int64)


@needs_binding
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.75])
@pytest.mark.parametrize("kernel", ["compiled", "numpy"])
def test_matches_numpy(dtype, trans_a, trans_b, beta, kernel):
    rng = np.random.default_rng(0)
    m, k, n = 7, 5, 3
    A = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    if beta == 0.0:
        C[0, 0] = np.nan  # beta = 0 must overwrite C, not multiply it (NaN * 0 = NaN)
    expected = 1.5 * ((A.T if trans_a else A) @ (B.T if trans_b else B))
    if beta:
        expected += beta * C
    A0, B0 = A.copy(), B.copy()
    if kernel == "compiled":
        _blas.gemm_inplace(1.5, A, B, beta, C, trans_a=trans_a, trans_b=trans_b)
    else:  # the fallback without SciPy computes the same
        real = np.dtype(dtype).type
        _blas.numpy_gemm(trans_a, trans_b, real(1.5), A, B, real(beta), C)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol)
    assert C.dtype == dtype
    np.testing.assert_array_equal(A, A0)  # operands only read
    np.testing.assert_array_equal(B, B0)


@needs_binding
def test_sgd_update_of_a_training_sized_layer():
    # the use in the training loop: W <- decay W - lr a^T delta, on views of larger buffers
    rng = np.random.default_rng(1)
    inputs = rng.random((128, 784), dtype=np.float32)
    deltas = rng.standard_normal((128, 256)).astype(np.float32)
    W = rng.standard_normal((784, 256)).astype(np.float32)
    a, delta = inputs[:100], deltas[:100]  # a final, smaller batch
    expected = 0.999 * W.astype(np.float64) - 0.1 * (a.T.astype(np.float64) @ delta)
    _blas.gemm_inplace(-0.1, a, delta, 0.999, W, trans_a=True)
    np.testing.assert_allclose(W, expected, rtol=1e-5, atol=1e-5)


@needs_binding
def test_empty_products():
    A = np.ones((0, 3))  # k = 0 with trans_a: the product is the zero matrix, C <- beta C
    B = np.ones((0, 2))
    C = np.full((3, 2), 4.0)
    _blas.gemm_inplace(1.0, A, B, 0.5, C, trans_a=True)
    np.testing.assert_array_equal(C, 2.0)
    empty = np.ones((0, 2))  # m = 0: nothing to do
    _blas.gemm_inplace(1.0, np.ones((0, 4)), np.ones((4, 2)), 0.5, empty)
    assert empty.shape == (0, 2)


@needs_binding
def test_bad_arguments_are_named():
    A, B, C = np.ones((4, 3)), np.ones((3, 2)), np.zeros((4, 2))
    with pytest.raises(ValueError, match="C-contiguous"):
        _blas.gemm_inplace(1.0, A, B, 0.0, np.zeros((4, 4))[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        _blas.gemm_inplace(1.0, np.asfortranarray(A), B, 0.0, C)
    with pytest.raises(ValueError, match="shape"):
        _blas.gemm_inplace(1.0, A, B, 0.0, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        _blas.gemm_inplace(1.0, A, B, 0.0, C, trans_a=True)
    with pytest.raises(ValueError, match="overlap"):
        buffer = np.ones((4, 4))
        _blas.gemm_inplace(1.0, buffer, np.ones((4, 4)), 0.0, buffer)
    with pytest.raises(TypeError, match="one dtype"):
        _blas.gemm_inplace(1.0, A.astype(np.float32), B, 0.0, C)
    with pytest.raises(TypeError, match="2-D"):
        _blas.gemm_inplace(1.0, A, B, 0.0, np.zeros(8))
    with pytest.raises(TypeError, match="float32 or float64"):
        _blas.gemm_inplace(1, A.astype(np.int64), B.astype(np.int64), 0, C.astype(np.int64))
    with pytest.raises(TypeError, match="NumPy arrays"):
        _blas.gemm_inplace(1.0, A.tolist(), B, 0.0, C)
    frozen = np.frombuffer(bytes(64), dtype=np.float64).reshape(4, 2)  # memory of a bytes object
    with pytest.raises(ValueError, match="read-only"):
        _blas.gemm_inplace(1.0, A, B, 0.0, frozen)
    assert not frozen.any()
    np.testing.assert_array_equal(C, 0.0)  # nothing written by a refused call


def test_without_scipy_gemm_inplace_is_an_error_and_the_loop_uses_numpy(without_scipy):
    assert not _blas.available(np.float32) and not _blas.shares_numpys_blas()
    with pytest.raises(RuntimeError, match="available"):
        _blas.gemm_inplace(1.0, np.ones((2, 2)), np.ones((2, 2)), 0.0, np.zeros((2, 2)))
    assert _blas.gemm_unchecked(np.float64) is _blas.numpy_gemm


@needs_binding
def test_unchecked_gemm_refuses_scalars_of_another_precision(monkeypatch):
    # a float64 alpha passed to sgemm would be read as a float32: a TypeError, not a wrong result
    A, B, C = (np.ones((2, 2), dtype=np.float32) for _ in range(3))
    _blas.gemm_unchecked.cache_clear()
    monkeypatch.setattr(_blas, "shares_numpys_blas", lambda: True)
    gemm = _blas.gemm_unchecked(np.float32)
    _blas.gemm_unchecked.cache_clear()
    assert gemm is not _blas.numpy_gemm
    with pytest.raises(TypeError, match="one dtype"):
        gemm(False, False, 1.0, A, B, np.float32(0.0), C)
    np.testing.assert_array_equal(C, 1.0)
