"""Tests of nnbasics.core.activations: values, stability, dtypes, invariants and gradients."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbasics.core.activations import (
    identity,
    identity_grad,
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_backward,
    tanh,
    tanh_grad,
)
from nnbasics.core.gradcheck import assert_gradcheck

finite64 = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
moderate = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


def matrices(elements, max_side=6):
    return hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=max_side),
        elements=elements,
    )


# ---------------------------------------------------------------------------------------------
# softmax: hand-checkable values
# ---------------------------------------------------------------------------------------------


def test_softmax_known_values():
    p = softmax(np.array([1.0, 2.0]))
    e = np.exp(1.0)
    np.testing.assert_allclose(p, [1 / (1 + e), e / (1 + e)], rtol=1e-15)
    # the CS224n assignment's examples
    np.testing.assert_allclose(softmax(np.array([1001.0, 1002.0])), [0.26894142, 0.73105858])
    np.testing.assert_allclose(softmax(np.array([[-1001.0, -1002.0]])), [[0.73105858, 0.26894142]])


@pytest.mark.parametrize(
    "row, expected",
    [
        ([1000.0, 1001.0], [1 / (1 + np.e), np.e / (1 + np.e)]),
        ([-1e300, 0.0], [0.0, 1.0]),
        ([3e307, 3e307], [0.5, 0.5]),
        ([1.7e308, -1.7e308], [1.0, 0.0]),  # x - max overflows to -inf: must stay silent
        ([-np.inf, 0.0, 0.0], [0.0, 0.5, 0.5]),
        ([np.inf, 0.0, np.inf], [0.5, 0.0, 0.5]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_extreme_rows_no_warning(row, expected, dtype):
    x = np.array(row, dtype=np.float64)
    if dtype == np.float32:
        with np.errstate(over="ignore"):
            x = x.astype(np.float32)  # 1e300 becomes inf in float32; still a valid case
        if not np.array_equal(np.isinf(x), np.isinf(np.array(row))):
            pytest.skip("row not representable in float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            p = softmax(x)
            logp = log_softmax(x)
    assert p.dtype == dtype
    np.testing.assert_allclose(p, expected, rtol=1e-6, atol=0)
    assert logp.dtype == dtype and np.all(logp <= 0)
    np.testing.assert_allclose(np.exp(logp.astype(np.float64)), expected, rtol=1e-6, atol=0)


def test_softmax_all_neg_inf_and_nan_rows_give_nan_silently():
    x = np.array([[-np.inf, -np.inf], [np.nan, 1.0], [1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(x)
        logp = log_softmax(x)
    assert np.isnan(p[0]).all() and np.isnan(p[1]).all()
    assert np.isnan(logp[0]).all() and np.isnan(logp[1]).all()
    np.testing.assert_allclose(p[2].sum(), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_preserves_dtype_and_does_not_mutate(dtype, rng):
    x = rng.normal(0, 10, (7, 5)).astype(dtype)
    before = x.copy()
    for fn in (softmax, log_softmax):
        out = fn(x)
        assert out.dtype == dtype and out.shape == x.shape
        np.testing.assert_array_equal(x, before)


def test_softmax_integer_input_is_float64():
    assert softmax(np.array([1, 2, 3])).dtype == np.float64
    assert softmax([[1, 2], [3, 4]]).dtype == np.float64


def test_softmax_axis_and_higher_rank(rng):
    x = rng.normal(size=(3, 4, 5))
    for axis in (0, 1, 2, -1):
        p = softmax(x, axis=axis)
        np.testing.assert_allclose(p.sum(axis=axis), 1.0)
        ref = np.exp(x - x.max(axis=axis, keepdims=True))
        ref /= ref.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(p, ref, rtol=1e-13)
        np.testing.assert_allclose(log_softmax(x, axis=axis), np.log(ref), rtol=1e-12, atol=1e-14)


def test_softmax_rejects_scalar_and_accepts_empty():
    with pytest.raises(ValueError, match="scalar"):
        softmax(np.float64(1.0))
    assert softmax(np.empty((0, 3))).shape == (0, 3)


def test_softmax_rejects_non_numeric():
    with pytest.raises(TypeError):
        softmax(np.array(["a", "b"]))
    with pytest.raises(TypeError):
        softmax(np.array([1 + 2j, 3]))


def test_log_softmax_is_not_log_of_softmax():
    # exp(-1000) underflows, so log(softmax) would give -inf; the log-domain value is exact.
    logp = log_softmax(np.array([0.0, -1000.0]))
    np.testing.assert_allclose(logp, [0.0, -1000.0], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# softmax: properties
# ---------------------------------------------------------------------------------------------


@given(matrices(finite64))
def test_softmax_rows_are_distributions(x):
    p = softmax(x)
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # the row maximum always gets the largest probability
    assert np.all(p[np.arange(len(x)), x.argmax(axis=1)] == p.max(axis=1))


@given(matrices(moderate), st.floats(-1e6, 1e6, allow_nan=False))
def test_softmax_offset_invariance(x, c):
    np.testing.assert_allclose(softmax(x + c), softmax(x), rtol=1e-9, atol=1e-12)


@given(matrices(moderate), hnp.arrays(np.float64, 6, elements=st.floats(-1e6, 1e6)))
def test_softmax_per_row_offset_invariance(x, offsets):
    shifted = x + offsets[: x.shape[0], None] if x.shape[0] <= 6 else x
    np.testing.assert_allclose(softmax(shifted), softmax(x), rtol=1e-9, atol=1e-12)


@given(matrices(finite64))
def test_log_softmax_logsumexp_is_zero(x):
    logp = log_softmax(x)
    assert np.all(logp <= 0)
    m = logp.max(axis=1, keepdims=True)
    np.testing.assert_allclose(m[:, 0] + np.log(np.exp(logp - m).sum(axis=1)), 0.0, atol=1e-12)


def test_softmax_jvp_matches_numeric(rng):
    # L = sum(softmax(x) * g) has gradient p * (g - <g, p>) per row
    x = rng.normal(size=(4, 6))
    g = rng.normal(size=(4, 6))

    def f(z):
        p = softmax(z)
        return float(np.sum(p * g)), p * (g - np.sum(g * p, axis=1, keepdims=True))

    assert_gradcheck(f, x, name="softmax")


def test_log_softmax_vjp_matches_numeric(rng):
    x = rng.normal(size=(3, 5))
    g = rng.normal(size=(3, 5))

    def f(z):
        return float(np.sum(log_softmax(z) * g)), g - softmax(z) * g.sum(axis=1, keepdims=True)

    assert_gradcheck(f, x, name="log_softmax")


# ---------------------------------------------------------------------------------------------
# sigmoid, tanh, relu
# ---------------------------------------------------------------------------------------------


def test_sigmoid_values_and_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            s = sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    np.testing.assert_allclose(s[1], 1 / (1 + np.exp(40.0)), rtol=1e-14)  # precision kept
    assert sigmoid(np.float32(-1000)).dtype == np.float32
    assert np.isnan(sigmoid(np.nan))
    np.testing.assert_array_equal(sigmoid(np.array([-np.inf, np.inf])), [0.0, 1.0])


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3), elements=finite64))
def test_sigmoid_symmetry(x):
    np.testing.assert_allclose(sigmoid(-x), 1 - sigmoid(x), atol=1e-15)


@given(hnp.arrays(np.float64, 20, elements=st.floats(-300, 300)))
def test_tanh_is_rescaled_sigmoid(x):
    np.testing.assert_allclose(tanh(x), 2 * sigmoid(2 * x) - 1, atol=1e-14)


@given(st.floats(-30, 30))
def test_sigmoid_grad_matches_centred_difference(x):
    h = 1e-5
    numeric = (sigmoid(x + h) - sigmoid(x - h)) / (2 * h)
    np.testing.assert_allclose(sigmoid_grad(sigmoid(x)), numeric, rtol=1e-6, atol=1e-11)


@given(st.floats(-15, 15))
def test_tanh_grad_matches_centred_difference(x):
    h = 1e-5
    numeric = (tanh(x + h) - tanh(x - h)) / (2 * h)
    np.testing.assert_allclose(tanh_grad(tanh(x)), numeric, rtol=1e-6, atol=1e-11)


def test_grad_functions_take_the_value_not_the_input():
    # sigmoid_grad(x) would be x(1-x) = -2 at x = 2; the derivative at x = 2 is s(1-s).
    s = sigmoid(2.0)
    assert sigmoid_grad(s) == pytest.approx(np.exp(-2) / (1 + np.exp(-2)) ** 2, rel=1e-14)
    assert tanh_grad(tanh(2.0)) == pytest.approx(1 / np.cosh(2.0) ** 2, rel=1e-12)
    assert sigmoid_grad(sigmoid(0.0)) == 0.25


def test_relu_and_its_kink_convention():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu(x), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_grad(relu(x)), [0.0, 0.0, 1.0])  # ReLU'(0) = 0
    assert relu(x.astype(np.float32)).dtype == np.float32
    assert relu_grad(relu(x.astype(np.float32))).dtype == np.float32


@pytest.mark.parametrize(
    "forward, backward, scale",
    [(sigmoid, sigmoid_grad, 3.0), (tanh, tanh_grad, 2.0), (relu, relu_grad, 2.0),
     (identity, identity_grad, 2.0)],
)
def test_activation_gradients_with_random_upstream(forward, backward, scale, rng):
    x = rng.normal(0, scale, (5, 4))
    x[np.abs(x) < 1e-3] = 0.1  # away from ReLU's kink
    upstream = rng.normal(size=x.shape)

    def f(z):
        value = forward(z)
        return float(np.sum(value * upstream)), upstream * backward(value)

    assert_gradcheck(f, x, name=forward.__name__)


@pytest.mark.parametrize(
    "forward, backward, torch_name",
    [
        (sigmoid, sigmoid_grad, "sigmoid"),
        (tanh, tanh_grad, "tanh"),
        (relu, relu_grad, "relu"),
        (identity, identity_grad, "identity"),
    ],
)
def test_activation_gradients_match_torch_autograd(forward, backward, torch_name, rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(0, 2, (6, 3))
    upstream = rng.normal(size=x.shape)
    xt = torch.tensor(x, requires_grad=True)
    torch_forward = torch.nn.Identity() if torch_name == "identity" else getattr(torch, torch_name)
    torch_forward(xt).backward(torch.tensor(upstream))
    np.testing.assert_allclose(upstream * backward(forward(x)), xt.grad.numpy(), rtol=1e-12)


def test_softmax_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(0, 5, (8, 11))
    np.testing.assert_allclose(softmax(x), torch.softmax(torch.tensor(x), -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        log_softmax(x), torch.log_softmax(torch.tensor(x), -1).numpy(), rtol=1e-12
    )


# ---------------------------------------------------------------------------------------------
# softmax: special rows anywhere in an array, accuracy, layout (each row is independent)
# ---------------------------------------------------------------------------------------------


def reference_softmax(x: np.ndarray, log: bool) -> np.ndarray:
    """Textbook stable (log-)softmax along the last axis, in float64, for finite rows."""
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


# Rows whose softmax is known exactly (log_softmax is its log, see expected_row).
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("width", [8, 64, 5000])
def test_special_rows_inside_an_array(rng, dtype, log, width):
    """Each special row, padded with -inf, among ordinary rows: its limit, the others unharmed."""
    n_rows = 40
    x = rng.standard_normal((n_rows, width)).astype(dtype)
    positions = list(np.linspace(0, n_rows - 1, len(SPECIAL_ROWS)).astype(int))
    for pos, (row, _) in zip(positions, SPECIAL_ROWS, strict=True):
        values = np.array(row, dtype=np.float64)
        finite_big = np.isfinite(values) & (np.abs(values) > np.finfo(dtype).max)
        if finite_big.any():  # 3e307 etc. do not exist in float32: scale to its range
            values = np.where(np.isfinite(values), values * 1e-270, values)
        x[pos] = -np.inf
        x[pos, : len(values)] = values.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warning
        with np.errstate(all="raise"):  # nor a floating-point error
            got = (log_softmax if log else softmax)(x)
    assert got.dtype == dtype
    for pos, (row, expected) in zip(positions, SPECIAL_ROWS, strict=True):
        want = expected_row(x[pos, : len(row)], expected, width, log, dtype)
        np.testing.assert_allclose(got[pos], want, rtol=1e-6, err_msg=f"row {pos}: {x[pos, :2]}")
    ordinary = np.setdiff1d(np.arange(n_rows), positions)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got[ordinary], reference_softmax(x[ordinary], log), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("log", [False, True])
def test_nan_with_sign_bit_set_gives_nan_row(log):
    negative_nan = np.copysign(np.nan, -1.0)
    assert np.signbit(negative_nan)
    x = np.zeros((3, 5))
    x[0, 1] = negative_nan
    x[1, 1] = negative_nan
    x[1, 2] = np.inf  # +inf and a NaN: NaN wins
    x[2, :] = -np.inf
    x[2, 0] = negative_nan
    with np.errstate(all="raise"):
        got = (log_softmax if log else softmax)(x)
    assert np.isnan(got).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("width", [1, 7, 1000, 300_000])
def test_softmax_accuracy_against_float64(rng, dtype, log, width):
    """float32 and float64 rows of every width agree with float64 arithmetic; input untouched."""
    x = (5 * rng.standard_normal((max(2, 200_000 // width), width))).astype(dtype)
    x[0] += 500  # another offset: each row uses its own max
    before = x.copy()
    got = (log_softmax if log else softmax)(x)
    np.testing.assert_array_equal(x, before)
    assert got.dtype == dtype and got.shape == x.shape
    ref = reference_softmax(x, log)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    if log:
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * (1 + np.log(width)))
    else:  # probabilities ~1/width: compare relative to their scale
        np.testing.assert_allclose(got, ref, rtol=tol * 10, atol=tol / width)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=tol * 10)


def test_non_last_axis_and_non_contiguous_input(rng):
    x = rng.standard_normal((200, 300))
    got = softmax(x.T, axis=0)  # x.T is not C-contiguous; normalise each column of it
    np.testing.assert_allclose(got, reference_softmax(x, log=False).T, rtol=1e-13, atol=1e-16)
    x3 = x.reshape(200, 30, 10)
    want = np.moveaxis(reference_softmax(np.moveaxis(x3, 1, -1), True), -1, 1)
    np.testing.assert_allclose(log_softmax(x3, axis=1), want, rtol=1e-13, atol=1e-13)


def test_softmax_of_an_empty_axis_is_empty():
    assert softmax(np.empty((3, 0))).shape == (3, 0)
    assert log_softmax(np.empty((0, 4), dtype=np.float32)).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# softmax_backward: the vector-Jacobian product
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_backward_with_random_upstream(rng, axis):
    # L = sum(softmax(x) * g): its gradient is what softmax_backward(g, softmax(x)) returns
    x = rng.normal(0, 2, (4, 6))
    upstream = rng.standard_normal(x.shape)

    def f(z):
        s = softmax(z, axis=axis)
        return float(np.sum(s * upstream)), softmax_backward(upstream, s, axis=axis)

    assert_gradcheck(f, x, name="softmax_backward", tol=1e-8)


def test_softmax_backward_matches_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(0, 2, (5, 7))
    upstream = rng.standard_normal(x.shape)
    xt = torch.tensor(x, requires_grad=True)
    torch.softmax(xt, dim=-1).backward(torch.tensor(upstream))
    np.testing.assert_allclose(softmax_backward(upstream, softmax(x)), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-15)


def test_softmax_backward_equals_the_jacobian_product(rng):
    # row by row, dx = J^T g with J = diag(s) - s s^T (symmetric): the formula without a Jacobian
    s = softmax(rng.standard_normal((3, 4)))
    g = rng.standard_normal((3, 4))
    for row in range(3):
        jacobian = np.diag(s[row]) - np.outer(s[row], s[row])
        np.testing.assert_allclose(softmax_backward(g, s)[row], jacobian.T @ g[row], rtol=1e-13,
                                   atol=1e-16)


def test_softmax_backward_keeps_float32_and_checks_its_arguments(rng):
    s = softmax(rng.standard_normal((2, 3)).astype(np.float32))
    ds = rng.standard_normal((2, 3)).astype(np.float32)
    assert softmax_backward(ds, s).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        softmax_backward(ds[:, :2], s)
    with pytest.raises(ValueError, match=r"instead of softmax\(x\)"):
        softmax_backward(s, 5 * ds)  # arguments swapped: 5 * ds is no softmax output


# ---------------------------------------------------------------------------------------------
# sigmoid_grad refuses what is no value of the sigmoid
# ---------------------------------------------------------------------------------------------


def test_sigmoid_grad_refuses_values_outside_0_1():
    with pytest.raises(ValueError, match=r"2 of 3 entries are outside.*-0\.5.*sigmoid\(x\)"):
        sigmoid_grad(np.array([-0.5, 0.3, 1.5]))
    with pytest.raises(ValueError, match="did you pass x"):
        sigmoid_grad(1.0 + 1e-12)


def test_sigmoid_grad_accepts_the_ends_and_lets_nan_through():
    np.testing.assert_array_equal(sigmoid_grad(np.array([0.0, 1.0])), [0.0, 0.0])
    np.testing.assert_array_equal(sigmoid_grad(sigmoid(np.array([-np.inf, np.inf]))), [0, 0])
    assert np.isnan(sigmoid_grad(np.array([np.nan, 0.5]))[0])  # sigmoid(nan) is nan
    assert sigmoid_grad(np.empty(0)).shape == (0,)


@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(max_dims=2),
                  elements=st.floats(-1e4, 1e4, width=32)))
def test_every_sigmoid_output_is_accepted_by_sigmoid_grad(x):
    s = sigmoid(x)
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(sigmoid_grad(s) <= 0.25)


def test_sigmoid_below_the_normal_range_is_zero():
    # exp(-x) overflows for x < -709.78 (float64): 1 / (1 + inf) = 0, silently; above, the
    # division keeps full relative precision
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            assert sigmoid(-720.0) == 0.0
            assert sigmoid(np.float32(-90.0)) == 0.0
            assert sigmoid(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-13)
            assert sigmoid(np.float32(-80.0)) == pytest.approx(np.exp(-80.0), rel=1e-6)
