"""The code paths of softmax / log_softmax against the plain reference, and the kernel's exp.

``softmax`` and ``log_softmax`` run the compiled kernel of :mod:`nnbasics.accel.softmax_kernel`:
rows narrower than ``NARROW_WIDTH`` a block of rows at a time, other rows one by one, inputs of at
least ``_PARALLEL_MIN_BYTES`` split between threads in tasks, rows wider than
``_WIDE_ROW_BYTES`` split into column chunks.  Each path is checked against the plain NumPy
reference (:func:`nnbasics.core.activations._softmax_reference`, the textbook formula in the input's
precision) to a stated tolerance, against float64 arithmetic, and on every special row
(overflowing ranges, ±inf, NaN) placed inside an array large enough to take that path.

Tolerances (``eps`` = machine epsilon of the dtype; measured worst cases in brackets, on random
rows of widths 1 to 300000): softmax entries agree with the reference to ``16 eps`` relative [7];
log-softmax entries to ``16 eps * (1 + |x - max| + |log sum|)`` absolute [5.1] (the rounding of
``x - max`` and of the log of the sum bound what any implementation can match).  The kernel's exp
is within 1 ulp (float32) / 1.1 ulp (float64) of the exact value on dense sweeps [0.98 / 1.05].
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnbasics.accel import softmax_kernel as _softmax_kernel
from nnbasics.core import activations
from nnbasics.core.activations import log_softmax, softmax


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
def test_threaded_tasks_match_float64(rng, dtype, log, width):
    n_rows = big_enough(4 * activations._PARALLEL_MIN_BYTES, width, dtype)
    x = (5 * rng.standard_normal((n_rows, width))).astype(dtype)
    x_before = x.copy()
    task_rows = max(1, activations._TASK_BYTES // (width * x.itemsize))
    assert n_rows >= 2 * task_rows  # several tasks, so the threaded path is taken
    got = (log_softmax if log else softmax)(x)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_array_equal(x, x_before)  # input untouched
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, reference_softmax(x, log), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_wide_rows_match_reference(rng, dtype, log):
    width = 2 * activations._WIDE_CHUNK_BYTES // np.dtype(dtype).itemsize + 12_345  # 3 chunks
    assert width * np.dtype(dtype).itemsize > activations._WIDE_ROW_BYTES
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


@pytest.mark.parametrize("width", [10, 300])
@pytest.mark.parametrize("log", [False, True])
def test_threaded_result_equals_single_call(rng, monkeypatch, width, log):
    """Rows split between threads give the result of one serial kernel call, bit for bit."""
    x = rng.standard_normal((3_000_000 // width, width)).astype(np.float32)
    threaded = (log_softmax if log else softmax)(x)
    monkeypatch.setattr(activations, "_PARALLEL_MIN_BYTES", 1 << 62)
    np.testing.assert_array_equal((log_softmax if log else softmax)(x), threaded)


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
@pytest.mark.parametrize("width", [8, 64])  # narrow rows (blocks of rows) and row by row
def test_special_rows_inside_threaded_array(rng, dtype, log, width):
    assert (width < _softmax_kernel.NARROW_WIDTH) == (width == 8)
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


# ----------------------------------------------------------------------------------------------
# the kernel against the plain reference it speeds up
# ----------------------------------------------------------------------------------------------


def assert_close_to_reference(got: np.ndarray, x: np.ndarray, log: bool) -> None:
    """``got`` agrees with :func:`activations._softmax_reference` to the module's tolerance."""
    ref = activations._softmax_reference(x, log)
    eps = np.finfo(x.dtype).eps
    assert got.dtype == x.dtype and got.shape == x.shape
    if log:
        shifted = x.astype(np.float64) - x.max(axis=1, keepdims=True)
        scale = 1 + np.abs(shifted) + np.abs(ref - shifted)  # 1 + |x - max| + |log sum|
        err = np.abs(got.astype(np.float64) - ref) / scale
    else:
        err = np.abs(got.astype(np.float64) - ref) / np.maximum(ref, np.finfo(x.dtype).tiny)
    assert err.max() <= 16 * eps, f"max error {err.max() / eps:.1f} eps"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize(
    "width",
    [1, 2, 7, _softmax_kernel.NARROW_WIDTH - 1, _softmax_kernel.NARROW_WIDTH, 33, 1000, 1025,
     40_000],
)
def test_kernel_matches_reference(rng, dtype, log, width):
    """Every width class (narrow blocks, row by row, several sum blocks) on both dtypes."""
    x = (8 * rng.standard_normal((max(3, 200_000 // width), width))).astype(dtype)
    x[0] += 500  # another offset: each row uses its own max
    x_before = x.copy()
    got = (log_softmax if log else softmax)(x)
    np.testing.assert_array_equal(x, x_before)
    assert_close_to_reference(got, x, log)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_wide_row_kernel_matches_reference(rng, dtype, log):
    width = 2 * activations._WIDE_CHUNK_BYTES // np.dtype(dtype).itemsize + 777
    x = (8 * rng.standard_normal((1, width))).astype(dtype)
    assert_close_to_reference((log_softmax if log else softmax)(x), x, log)


def test_reference_itself_matches_float64_formula(rng):
    x = rng.standard_normal((50, 30))
    for log in (False, True):
        np.testing.assert_allclose(activations._softmax_reference(x, log),
                                   reference_softmax(x, log), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("width", [3, 64, activations._WIDE_ROW_BYTES // 8 + 5])
def test_nan_with_sign_bit_set_gives_nan_row(log, width):
    """A NaN with the sign bit set sorts below -inf in the kernel's max; the row is NaN anyway."""
    negative_nan = np.copysign(np.nan, -1.0)
    assert np.signbit(negative_nan)
    x = np.zeros((3, width))
    x[0, 1] = negative_nan
    x[1, 1] = negative_nan
    x[1, 2] = np.inf  # +inf and a NaN: NaN wins
    x[2, :] = -np.inf
    x[2, 0] = negative_nan
    with np.errstate(all="raise"):
        got = (log_softmax if log else softmax)(x)
    assert np.isnan(got).all()


# ----------------------------------------------------------------------------------------------
# the kernel's exp and max
# ----------------------------------------------------------------------------------------------


def ulp_errors(dtype, t: np.ndarray) -> np.ndarray:
    """|kernel exp(t) - exp(t)| in units in the last place of the exact value (denormals: of the
    smallest denormal), the exact value from 80-bit long double (float64) or float64 (float32)."""
    t = t.astype(dtype)
    got = np.empty_like(t)
    _softmax_kernel.exp_array(t, got)
    wide = np.longdouble if dtype == np.float64 else np.float64
    exact = np.exp(t.astype(wide))
    with np.errstate(over="ignore"):
        ulp = np.spacing(exact.astype(dtype)).astype(wide)  # ulp at exact, rounded to dtype
    ulp = np.maximum(ulp, wide(np.finfo(dtype).smallest_subnormal))
    return np.abs(got.astype(wide) - exact) / ulp


@pytest.mark.parametrize(
    ("dtype", "lowest", "max_ulp"), [(np.float32, -110.0, 1.0), (np.float64, -760.0, 1.1)]
)
def test_exp_accuracy_dense_sweep(dtype, lowest, max_ulp):
    finfo = np.finfo(dtype)
    log_tiny = float(np.log(finfo.tiny))  # below: denormal results
    log_zero = float(np.log(finfo.smallest_subnormal))  # below (and half an ulp): 0
    sweeps = [
        np.linspace(lowest, 0.0, 1_000_001),  # the whole domain, densely
        np.linspace(log_tiny - 1, log_tiny + 1, 100_001),  # around the normal/denormal edge
        np.linspace(log_zero - 2, log_zero + 2, 100_001),  # around underflow to 0
        -np.geomspace(1e-30, 1e-2, 100_001),  # tiny shifts: exp(t) ~ 1 + t
        np.linspace(-1000.0, lowest, 1001),  # large negative shifts (clamped)
    ]
    for t in sweeps:
        err = ulp_errors(dtype, t)
        assert err.max() <= max_ulp, f"{err.max():.3f} ulp at t = {t[np.argmax(err)]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_special_values(dtype):
    finfo = np.finfo(dtype)
    t = np.array([0.0, -0.0, -np.inf, np.nan, -1e30, -finfo.max, -finfo.smallest_subnormal],
                 dtype=dtype)
    got = np.empty_like(t)
    _softmax_kernel.exp_array(t, got)
    np.testing.assert_array_equal(got, np.array([1, 1, 0, np.nan, 0, 0, 1], dtype=dtype))
    # denormal results are rounded once: exactly the correctly rounded value at powers of two
    k = np.arange(finfo.minexp - finfo.nmant, finfo.minexp)  # 2**k is denormal
    t_exact = (k * np.log(2.0)).astype(dtype)
    _softmax_kernel.exp_array(t_exact, got := np.empty_like(t_exact))
    assert (got > 0).all() and np.all(ulp_errors(dtype, t_exact) <= 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunk_max_order_keys_match_numpy_max(rng, dtype):
    finfo = np.finfo(dtype)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, finfo.max, -finfo.max, finfo.tiny,
                         -finfo.smallest_subnormal, finfo.smallest_subnormal], dtype=dtype)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        v = np.where(rng.random(n) < 0.3, rng.choice(specials, n),
                     rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)).astype(dtype)
        got = _softmax_kernel.chunk_max(v)
        assert got == v.max() or (got == 0 and v.max() == 0)
    assert np.isnan(_softmax_kernel.chunk_max(np.array([1.0, np.nan, np.inf], dtype=dtype)))
