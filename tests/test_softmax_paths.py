"""The blocked, threaded and wide-row code paths of softmax / log_softmax against a plain reference.

Small inputs take a single block; inputs of at least ``_PARALLEL_MIN_BYTES`` are split into row
blocks shared between threads; rows wider than ``_WIDE_ROW_BYTES`` are split into column chunks.
Each path is checked against the textbook formula in float64 and on every special row (overflowing
ranges, ±inf, NaN) placed inside an array large enough to take that path.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnbasics import activations
from nnbasics.activations import log_softmax, softmax


def reference_softmax(x: np.ndarray, log: bool) -> np.ndarray:
    """Textbook stable softmax in float64 on finite rows, row by row (axis -1)."""
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


# Rows whose expected output is known exactly (softmax; log_softmax is its log).
SPECIAL_ROWS = [
    ([1000.0, 1001.0], [1 / (1 + np.e), np.e / (1 + np.e)]),
    ([-1e300, 0.0], [0.0, 1.0]),
    ([3e307, 3e307], [0.5, 0.5]),
    ([1.7e308, -1.7e308], [1.0, 0.0]),
    ([-np.inf, 0.0], [0.0, 1.0]),
    ([-np.inf, -np.inf], [np.nan, np.nan]),
    ([np.inf, 1.0], [1.0, 0.0]),
    ([np.inf, np.inf], [0.5, 0.5]),
    ([np.nan, 1.0], [np.nan, np.nan]),
    ([np.inf, np.nan], [np.nan, np.nan]),
]


def expected_row(row: np.ndarray, probs: list[float], width: int, log: bool, dtype) -> np.ndarray:
    """The expected output for ``row`` padded with -inf to ``width``; ``probs`` is its softmax.

    In the log domain an entry of a finite row whose probability underflows is still finite:
    log_softmax = x - max(x) there (the log-sum-exp of such a row is exactly its max).
    """
    want = np.full(width, -np.inf if log else 0.0)
    p = np.array(probs)
    if log:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logp = np.log(p)
            shifted = row.astype(np.float64) - np.max(row.astype(np.float64))
        underflowed = (p == 0) & np.isfinite(row)
        p = np.where(underflowed, shifted, logp)
    want[: len(p)] = p
    if np.isnan(probs).all():
        want[:] = np.nan
    with np.errstate(over="ignore"):
        return want.astype(dtype)


def big_enough(n_bytes_target: int, width: int, dtype) -> int:
    """Number of rows of ``width`` entries that makes an array of at least ``n_bytes_target``."""
    return -(-n_bytes_target // (width * np.dtype(dtype).itemsize)) + 3


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("width", [7, 1000, 40_000])
def test_threaded_blocks_match_reference(rng, dtype, log, width):
    n_rows = big_enough(4 * activations._PARALLEL_MIN_BYTES, width, dtype)
    x = (5 * rng.standard_normal((n_rows, width))).astype(dtype)
    x_before = x.copy()
    block_rows = max(1, activations._BLOCK_BYTES // (width * x.itemsize))
    assert n_rows >= 2 * block_rows  # several blocks, so the threaded path is taken
    got = (log_softmax if log else softmax)(x)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_array_equal(x, x_before)  # input untouched
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, reference_softmax(x, log), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_wide_rows_match_reference(rng, dtype, log):
    width = activations._WIDE_ROW_BYTES // np.dtype(dtype).itemsize + 12_345  # several chunks
    x = (5 * rng.standard_normal((2, width))).astype(dtype)
    x[1] -= 50  # a second row at another offset: each row uses its own max
    got = (log_softmax if log else softmax)(x)
    assert got.dtype == dtype
    tol = 2e-6 if dtype == np.float32 else 1e-13
    ref = reference_softmax(x, log)
    if log:
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    else:
        # Probabilities ~1/width: compare relative to their scale.
        np.testing.assert_allclose(got, ref, rtol=width * tol, atol=tol / width)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=tol * 10)


def test_paths_agree_with_single_block(rng, monkeypatch):
    """Blocked + threaded result equals the one-block (serial) result bit for bit."""
    x = rng.standard_normal((3000, 300))
    threaded = softmax(x)
    monkeypatch.setattr(activations, "_BLOCK_BYTES", x.nbytes)
    monkeypatch.setattr(activations, "_PARALLEL_MIN_BYTES", 1 << 62)
    np.testing.assert_array_equal(softmax(x), threaded)


def _special_array(dtype, n_rows: int, width: int, rng) -> tuple[np.ndarray, list[int]]:
    """A random (n_rows, width) array with the special rows (padded with -inf) spread inside."""
    x = rng.standard_normal((n_rows, width)).astype(dtype)
    positions = list(np.linspace(0, n_rows - 1, len(SPECIAL_ROWS)).astype(int))
    for pos, (row, _) in zip(positions, SPECIAL_ROWS, strict=True):
        values = np.array(row, dtype=np.float64)
        finite_big = np.isfinite(values) & (np.abs(values) > np.finfo(dtype).max)
        if finite_big.any():  # 3e307 etc. do not exist in float32: scale to its range
            values = np.where(np.isfinite(values), values * 1e-270, values)
        x[pos] = -np.inf
        x[pos, : len(values)] = values.astype(dtype)
    return x, positions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_special_rows_inside_threaded_array(rng, dtype, log):
    width = 64
    n_rows = big_enough(4 * activations._PARALLEL_MIN_BYTES, width, dtype)
    x, positions = _special_array(dtype, n_rows, width, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warning, from any thread
        with np.errstate(all="raise"):  # nor a floating-point error on the caller's thread
            got = (log_softmax if log else softmax)(x)
    for pos, (row, expected) in zip(positions, SPECIAL_ROWS, strict=True):
        want = expected_row(x[pos, : len(row)], expected, width, log, dtype)
        np.testing.assert_allclose(got[pos], want, rtol=1e-6, err_msg=f"row {pos}: {x[pos, :2]}")
    ordinary = np.setdiff1d(np.arange(n_rows), positions)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got[ordinary], reference_softmax(x[ordinary], log), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize(
    ("row", "expected"), SPECIAL_ROWS, ids=[str(r) for r, _ in SPECIAL_ROWS]
)
@pytest.mark.parametrize("log", [False, True])
def test_special_values_in_wide_row(row, expected, log):
    width = activations._WIDE_ROW_BYTES // 8 + 1000
    x = np.full((1, width), -np.inf)
    x[0, -len(row) :] = row  # at the end: in the last column chunk
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            got = (log_softmax if log else softmax)(x)[0]
    want = expected_row(np.array(row), expected, width, log, np.float64)[::-1]
    want[-len(row) :] = want[-len(row) :][::-1]  # the row sits at the end, padding before it
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_non_last_axis_and_non_contiguous_input_on_threaded_path(rng):
    x = rng.standard_normal((200, 3000))
    x_t = x.T  # (3000, 200), not C-contiguous
    got = softmax(x_t, axis=0)  # normalise over the 3000 entries of each column
    np.testing.assert_allclose(got, reference_softmax(x, log=False).T, rtol=1e-13, atol=1e-16)
    got3 = log_softmax(x.reshape(200, 30, 100), axis=1)
    np.testing.assert_allclose(
        got3, np.moveaxis(reference_softmax(np.moveaxis(x.reshape(200, 30, 100), 1, -1), True),
                          -1, 1), rtol=1e-13, atol=1e-13
    )


def test_parallel_for_runs_every_task_once():
    seen: list[int] = []
    activations._parallel_for(seen.append, 1000)
    assert sorted(seen) == list(range(1000))


def test_parallel_for_propagates_errors():
    def task(i: int) -> None:
        if i == 7:
            raise RuntimeError("task 7 failed")

    with pytest.raises(RuntimeError, match="task 7"):
        activations._parallel_for(task, 20)
