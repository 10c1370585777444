"""The compiled MLP kernels against their readable NumPy versions."""

import numpy as np
import pytest

from nnbasics._accel import mlp_kernels as mlp_inner
from nnbasics.core.activations import ACTIVATIONS, DERIVATIVES, sigmoid
from nnbasics.core.losses import softmax_cross_entropy
from nnbasics.mlp.model import _activate_inplace
from nnbasics.mlp.optimizers import SGD, Adam

DTYPES = [np.float32, np.float64]


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(7, 5), (5,), (5, 3), (3,)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(4)]
    return params, grads


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: SGD(ps, 0.1),
        lambda ps: SGD(ps, 0.1, momentum=0.9, decay_every=2, decay_factor=0.5),
        lambda ps: SGD(ps, 0.1, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, 0.01),
    ],
    ids=["sgd", "momentum", "nesterov", "adam"],
)
def test_fused_optimizer_steps_equal_the_numpy_reference_bit_for_bit(dtype, factory):
    params, grads = _params(dtype)
    fused_params = [p.copy() for p in params]
    ref_params = [p.copy() for p in params]
    fused, ref = factory(fused_params), factory(ref_params)
    for g in grads:
        fused.step(fused_params, g)
        ref.reference_step(ref_params, g)
    for a, b in zip(fused_params, ref_params, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    for slot in fused.state:
        for a, b in zip(fused.state[slot], ref.state[slot], strict=True):
            np.testing.assert_array_equal(a, b)
    assert fused.n_steps == ref.n_steps == len(grads)


def test_non_contiguous_parameters_take_the_reference_path():
    p = np.zeros((4, 6))[:, ::2]  # a strided view
    opt = SGD([p], 0.5)
    opt.step([p], [np.ones((4, 3))])
    np.testing.assert_array_equal(p, -0.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_bias_activation_matches_numpy(dtype, activation):
    rng = np.random.default_rng(1)
    z = (rng.standard_normal((9, 6)) * 5).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    expected = ACTIVATIONS[activation](z + b)
    got = z.copy()
    mlp_inner.bias_activation_inplace(got, b, activation)
    np.testing.assert_allclose(got, expected, rtol=2e-6 if dtype == np.float32 else 1e-14,
                               atol=1e-7 if dtype == np.float32 else 1e-16)
    assert got.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_sigmoids_are_accurate_where_one_plus_tanh_cancels(dtype):
    # (1 + tanh(s/2)) / 2 loses every digit for s << 0 (float32 s = -20: 0 instead of 2.06e-9);
    # both in-place sigmoids must keep a few-ulp relative error down to the smallest normal value
    s = np.linspace(-80 if dtype == np.float32 else -700, 30, 4001).astype(dtype)
    expected = sigmoid(s.astype(np.float64))  # float64 reference, rounded once below
    tol = 8 * np.finfo(dtype).eps
    fused = s.reshape(1, -1).copy()
    mlp_inner.bias_activation_inplace(fused, np.zeros(s.size, dtype=dtype), "sigmoid")
    plain = s.copy()
    _activate_inplace(plain, "sigmoid")
    for got in (fused.ravel(), plain):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected.astype(dtype), rtol=tol, atol=0)
    very_negative = np.array([[-1e4, -np.finfo(dtype).max]], dtype=dtype)
    mlp_inner.bias_activation_inplace(very_negative, np.zeros(2, dtype=dtype), "sigmoid")
    np.testing.assert_array_equal(very_negative, 0)  # the limit, exp(-|s|) underflowing to 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_sigmoid_limits_nan_and_signed_zero(dtype):
    # the one-pass kernel picks 1/(1+e) or e/(1+e) by the sign of s: the limits, NaN and the
    # point s = 0 (either zero) must come out as the definition says
    z = np.array([[np.inf, -np.inf, np.nan, 0.0, -0.0, np.finfo(dtype).max,
                   -np.finfo(dtype).max, np.finfo(dtype).tiny]], dtype=dtype)
    mlp_inner.bias_activation_inplace(z, np.zeros(z.shape[1], dtype=dtype), "sigmoid")
    np.testing.assert_array_equal(z[0, [0, 1, 3, 4, 5, 6, 7]], [1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.5])
    assert np.isnan(z[0, 2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_activation_backward_matches_numpy(dtype, activation):
    rng = np.random.default_rng(2)
    value = ACTIVATIONS[activation](rng.standard_normal((8, 5))).astype(dtype)
    value[0, 0] = 0.0  # relu at its kink: ReLU'(0) = 0
    dvalue = rng.standard_normal((8, 5)).astype(dtype)
    expected = dvalue * DERIVATIVES[activation](value)
    got = dvalue.copy()
    mlp_inner.activation_backward_inplace(got, value, activation)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    if activation == "relu":
        assert got[0, 0] == 0.0


def test_unknown_activation_in_kernels():
    z = np.zeros((2, 2))
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        mlp_inner.bias_activation_inplace(z, np.zeros(2), "swish")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        mlp_inner.activation_backward_inplace(z, z, "swish")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_kernel_matches_losses(dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((16, 10)) * 30).astype(dtype)
    logits[0] = [1000.0] * 10  # huge but equal: no overflow
    labels = rng.integers(0, 10, 16)
    loss, dlogits = softmax_cross_entropy(logits.astype(np.float64), labels, reduction="mean")
    got = logits.copy()
    got_loss = mlp_inner.softmax_cross_entropy_inplace(got, labels)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert got_loss == pytest.approx(loss, rel=rtol)
    np.testing.assert_allclose(got, dlogits, rtol=rtol, atol=1e-7 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 0.0, atol=1e-6)  # rows of (p - y)/N sum to 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_sigmoid_is_bit_identical_to_the_numpy_in_place_sigmoid(dtype):
    # the training kernel's forward and the inference path give the same bits
    rng = np.random.default_rng(4)
    z = (rng.standard_normal((33, 17)) * 8).astype(dtype)
    b = rng.standard_normal(17).astype(dtype)
    fused = z.copy()
    mlp_inner.bias_activation_inplace(fused, b, "sigmoid")
    plain = z + b
    _activate_inplace(plain, "sigmoid")
    np.testing.assert_array_equal(fused, plain)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_activation_backward_bias_sums_equal_numpy_sum_bit_for_bit(dtype, activation):
    rng = np.random.default_rng(5)
    value = ACTIVATIONS[activation](rng.standard_normal((37, 11))).astype(dtype)
    dvalue = rng.standard_normal((37, 11)).astype(dtype)
    alone = dvalue.copy()
    mlp_inner.activation_backward_inplace(alone, value, activation)
    # in the arrays' dtype, as NumPy's dvalue * f'(a) (no float64 intermediate, no FMA)
    np.testing.assert_array_equal(alone, dvalue * DERIVATIVES[activation](value))
    assert alone.dtype == dtype
    got, bias_grad = dvalue.copy(), np.full(11, np.nan, dtype=dtype)
    mlp_inner.activation_backward_inplace(got, value, activation, bias_grad)
    np.testing.assert_array_equal(got, alone)
    np.testing.assert_array_equal(bias_grad, np.sum(alone, axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_kernel_adds_bias_and_sums_columns_bit_for_bit(dtype):
    rng = np.random.default_rng(6)
    logits = (rng.standard_normal((29, 10)) * 4).astype(dtype)
    bias = rng.standard_normal(10).astype(dtype)
    labels = rng.integers(0, 10, 29)
    separate = logits + bias
    loss = mlp_inner.softmax_cross_entropy_inplace(separate, labels)
    fused, bias_grad = logits.copy(), np.full(10, np.nan, dtype=dtype)
    fused_loss = mlp_inner.softmax_cross_entropy_inplace(fused, labels, bias, bias_grad)
    assert fused_loss == loss
    np.testing.assert_array_equal(fused, separate)
    np.testing.assert_array_equal(bias_grad, np.sum(separate, axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows", [0, 1, 5, 8, 13, 16, 23])
def test_gather_batch_equals_np_take(dtype, n_rows):
    # rows are copied in groups of eight plus a remainder: sizes on both sides of 8 and 16,
    # and repeated rows (the gather must not assume a permutation)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 6)).astype(dtype)
    y = rng.integers(0, 4, 20)
    rows = np.concatenate([rng.permutation(20), [3, 3, 7]])[:n_rows]
    X_out, y_out = np.full((24, 6), np.nan, dtype=dtype), np.full(24, -1, dtype=np.int64)
    mlp_inner.gather_batch(X, y, rows, X_out, y_out)
    np.testing.assert_array_equal(X_out[:n_rows], np.take(X, rows, axis=0))
    np.testing.assert_array_equal(y_out[:n_rows], np.take(y, rows))
    assert np.isnan(X_out[n_rows:]).all() and (y_out[n_rows:] == -1).all()  # rest untouched


def test_gather_batch_refuses_buffers_that_do_not_fit():
    X, y = np.zeros((10, 3), np.float32), np.zeros(10, np.int64)
    with pytest.raises(ValueError, match="cannot gather 5 rows"):
        mlp_inner.gather_batch(X, y, np.arange(5), np.empty((4, 3), np.float32), np.empty(5))
    with pytest.raises(ValueError, match="cannot gather"):
        mlp_inner.gather_batch(X, y, np.arange(2), np.empty((4, 3), np.float64), np.empty(5))


def test_softmax_cross_entropy_counts_rows_whose_first_largest_logit_is_the_label(rng):
    logits = rng.integers(-2, 3, size=(200, 4)).astype(np.float32)  # many ties
    labels = rng.integers(0, 4, size=200)
    counter = np.zeros(1, dtype=np.int64)
    mlp_inner.softmax_cross_entropy_inplace(logits.copy(), labels, n_correct=counter)
    assert counter[0] == np.sum(np.argmax(logits, axis=1) == labels)
    mlp_inner.softmax_cross_entropy_inplace(logits.copy(), labels, n_correct=counter)
    assert counter[0] == 2 * np.sum(np.argmax(logits, axis=1) == labels)  # it adds up


def _softmax_cross_entropy_rows(logits, labels):
    """Row-by-row float64 reference: mean loss, (p - y)/N, the row argmax."""
    z = logits.astype(np.float64)
    loss, dlogits = softmax_cross_entropy(z, labels, reduction="mean")
    return loss, dlogits, np.argmax(z, axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_rows", "n_classes"), [(1, 1), (1, 10), (5, 2), (17, 3), (128, 10),
                                                   (33, 100), (3, 1000)])
def test_softmax_cross_entropy_kernel_any_shape(dtype, n_rows, n_classes):
    # the kernel runs its passes down the rows of a transposed copy: shapes with few or many
    # rows and classes, and N not a multiple of the SIMD width
    rng = np.random.default_rng(n_rows * 1000 + n_classes)
    logits = (rng.standard_normal((n_rows, n_classes)) * 5).astype(dtype)
    labels = rng.integers(0, n_classes, n_rows)
    loss, dlogits, argmax = _softmax_cross_entropy_rows(logits, labels)
    got, bias_grad = logits.copy(), np.full(n_classes, np.nan, dtype=dtype)
    counter = np.zeros(1, dtype=np.int64)
    got_loss = mlp_inner.softmax_cross_entropy_inplace(got, labels, bias_grad=bias_grad,
                                                       n_correct=counter)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert got_loss == pytest.approx(loss, rel=rtol, abs=rtol)
    np.testing.assert_allclose(got, dlogits, rtol=rtol, atol=10 * np.finfo(dtype).eps / n_rows)
    np.testing.assert_array_equal(bias_grad, np.sum(got, axis=0))
    assert counter[0] == np.sum(argmax == labels)


def test_softmax_cross_entropy_kernel_row_with_nan_is_nan_and_others_are_untouched():
    logits = np.array([[1.0, np.nan, 0.0], [2.0, 1.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 0])
    got = logits.copy()
    loss = mlp_inner.softmax_cross_entropy_inplace(got, labels)
    assert np.isnan(loss)
    assert np.isnan(got[0]).all()
    _, expected, _ = _softmax_cross_entropy_rows(logits[1:], labels[1:])
    np.testing.assert_allclose(got[1], expected[0] / 2, rtol=1e-6)  # (p - y)/N with N = 2
