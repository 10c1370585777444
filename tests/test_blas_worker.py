"""Jobs on a worker thread of NumPy's OpenBLAS (the training loop's batch gather runs there)."""

import ctypes
import glob
import os
import platform
import sys
import threading

import numpy as np
import pytest

from nnbasics.accel import blas_worker as _blas_worker
from nnbasics.accel import mlp_kernels as mlp_inner

needs_worker = pytest.mark.skipif(not _blas_worker.available(),
                                  reason="no OpenBLAS worker thread to lend a job here")


def test_found_with_numpy_wheels_on_a_multicore_linux():
    # Where NumPy's wheel bundles scipy-openblas on x86-64 Linux with two cores or more, the
    # binding must be found, or the training loop silently loses its prefetched gather.
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        pytest.skip("the job queue's layout is known for x86-64 Linux only")
    if not glob.glob(os.path.join(libs, "libscipy_openblas*")):
        pytest.skip("NumPy here is not a pip wheel with scipy-openblas")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    numpy_blas = [p for p in threadpoolctl.threadpool_info()
                  if p.get("user_api") == "blas" and "numpy.libs" in p.get("filepath", "")]
    if not numpy_blas or numpy_blas[0].get("num_threads", 1) < 2:
        pytest.skip("NumPy's OpenBLAS runs without worker threads here")
    assert _blas_worker.available()


@needs_worker
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_job_copies_the_rows_and_labels(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 13)).astype(dtype)
    y = rng.integers(0, 5, 50)
    for rows in ([49, 0, 7, 7, 3, 12, 40, 41, 42, 1, 2], [5], []):  # 8 at once, the rest, none
        rows = np.array(rows, dtype=np.int64)
        X_out = np.full((16, 13), np.nan, dtype=dtype)
        y_out = np.full(16, -1, dtype=np.int64)
        job = _blas_worker.Job()
        job.post(mlp_inner.gather_job(dtype),
                 mlp_inner.gather_job_args(job.args, X, y, rows, X_out, y_out))
        job.wait()
        m = len(rows)
        np.testing.assert_array_equal(X_out[:m], X[rows])
        np.testing.assert_array_equal(y_out[:m], y[rows])
        assert np.isnan(X_out[m:]).all() and (y_out[m:] == -1).all()  # nothing else written


@needs_worker
def test_the_routine_runs_on_another_thread():
    ran_on = []

    @ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    def routine(args):  # a Python callback: it takes the GIL, which wait() releases
        ran_on.append(threading.get_native_id())

    job = _blas_worker.Job()
    job.post(ctypes.cast(routine, ctypes.c_void_p).value, job.args)
    job.wait()
    assert ran_on and ran_on[0] != threading.get_native_id()


@needs_worker
def test_one_job_at_a_time():
    job = _blas_worker.Job()
    job.wait()  # nothing pending: returns at once
    X, y = np.ones((4, 3), dtype=np.float32), np.arange(4)
    X_out, y_out = np.zeros((2, 3), dtype=np.float32), np.zeros(2, dtype=np.int64)
    args = mlp_inner.gather_job_args(job.args, X, y, np.array([3, 1]), X_out, y_out)
    job.post(mlp_inner.gather_job(np.float32), args)
    with pytest.raises(RuntimeError, match="already pending"):
        job.post(mlp_inner.gather_job(np.float32), args)
    job.wait()
    assert not job.pending
    np.testing.assert_array_equal(y_out, [3, 1])


def test_switched_off_or_limited_to_one_thread(monkeypatch):
    monkeypatch.setattr(_blas_worker, "enabled", False)
    assert not _blas_worker.available()
    monkeypatch.setattr(_blas_worker, "enabled", True)
    if not _blas_worker.available():
        pytest.skip("no worker here anyway")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):  # the user asked for one core
        assert not _blas_worker.available()
    assert _blas_worker.available()


def test_job_without_binding_is_refused(monkeypatch):
    monkeypatch.setattr(_blas_worker, "_lookup", lambda: None)
    with pytest.raises(RuntimeError, match="available"):
        _blas_worker.Job()


def test_gather_job_args_refuses_what_the_job_cannot_read():
    X, y = np.zeros((6, 4), dtype=np.float32), np.zeros(6, dtype=np.int64)
    X_out, y_out = np.zeros((3, 4), dtype=np.float32), np.zeros(3, dtype=np.int64)
    args, rows = np.zeros(16, dtype=np.int64), np.array([0, 5], dtype=np.int64)
    bad = [
        (X, y, np.arange(4), X_out, y_out),  # more rows than the output holds
        (X, y, rows, X_out.astype(np.float64), y_out),  # dtypes differ
        (X, y[:5], rows, X_out, y_out),  # labels do not match the rows of X
        (np.asfortranarray(X), y, rows, X_out, y_out),  # not C-contiguous
        (X, y.astype(np.int32), rows, X_out, y_out),  # labels not int64
    ]
    for arrays in bad:
        with pytest.raises(ValueError):
            mlp_inner.gather_job_args(args, *arrays)
    with pytest.raises(ValueError):
        mlp_inner.gather_job_args(np.zeros(8, dtype=np.int64), X, y, rows, X_out, y_out)
    with pytest.raises(ValueError):  # rows the job cannot read
        mlp_inner.gather_job_args(args, X.astype(np.float16), y, rows, X_out.astype(np.float16),
                                  y_out)
    with pytest.raises(TypeError, match="float32 or float64"):
        mlp_inner.gather_job(np.float16)
    assert mlp_inner.gather_job_args(args, X, y, rows, X_out, y_out) is args


def test_a_first_lookup_without_workers_is_tried_again(monkeypatch):
    if not _blas_worker.available():
        pytest.skip("no worker here anyway")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(_blas_worker, "_binding", None)  # as in a fresh process
    monkeypatch.setattr(_blas_worker, "_given_up", False)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert not _blas_worker.available()  # nothing to test the binding on yet
    assert _blas_worker.available()


@needs_worker
def test_a_job_interrupted_as_it_is_posted_is_still_waited_for(monkeypatch):
    # A signal is raised when the compiled post returns, with the job already queued.
    post = _blas_worker._post

    def post_then_interrupt(*args):
        post(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(_blas_worker, "_post", post_then_interrupt)
    X, y = np.ones((40, 8), dtype=np.float32), np.arange(40)
    X_out, y_out = np.zeros((4, 8), dtype=np.float32), np.zeros(4, dtype=np.int64)
    job = _blas_worker.Job()
    args = mlp_inner.gather_job_args(job.args, X, y, np.arange(4), X_out, y_out)
    with pytest.raises(KeyboardInterrupt):
        try:
            job.post(mlp_inner.gather_job(np.float32), args)
        finally:
            assert job.pending  # so the caller's cleanup waits for it
            job.wait()
    np.testing.assert_array_equal(y_out, np.arange(4))
