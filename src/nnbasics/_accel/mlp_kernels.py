r"""Compiled helpers of the MLP training step (numba): memory-bound passes, fused.

The matrix products of a training step run in BLAS (:mod:`nnbasics.mlp.model`); what is left are
passes over memory that NumPy can only do one ufunc at a time, each a full read and write of its
arrays, plus a fixed cost per call.  Here they are single loops:

* :func:`gather_batch`: a mini-batch's rows and labels copied into the preallocated batch
  buffers, eight rows per loop so that eight streams of cache misses overlap;
* :func:`softmax_cross_entropy_inplace`: the fused bias add + softmax + cross-entropy of a
  small batch of logits, and the column sums of the result (the output bias gradient),
  replacing a dozen ufunc calls whose fixed cost dominates at ``N × K = 128 × 10``;
* :func:`bias_activation_inplace` and :func:`activation_backward_inplace`: the bias add and the
  elementwise part of an activation, forward, and ``dvalue * f'(a)`` with its column sums (the
  bias gradient), backward, each one pass.  The sigmoid's ``exp`` is :func:`exp_nonpositive`,
  written so that LLVM vectorises it (numba's ``math.exp`` is a scalar libm call without
  Intel's SVML); ``tanh`` stays NumPy's, which is vectorised.

The optimisers' parameter updates live in :mod:`nnbasics._accel.optimizer_kernels`.

Arithmetic on float32 arrays uses float32 constants (a float64 literal promotes the expression to
float64) and elementwise divisions use ``error_model="numpy"`` (numba's default checks for
division by zero in the loop): either keeps LLVM from vectorising.

The loops are serial: the loss sums rows in a fixed order, so a run is a function of its seed
(numba's parallel loops would need OpenMP workers that spin after a loop and take a core from
the next BLAS call).  The readable NumPy versions of the same formulas are in
:mod:`nnbasics.mlp.reference`; the tests check the kernels against them.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

# Flags of the kernels that must compile to SIMD code: no bounds checks, NumPy's division semantics
# (no ZeroDivisionError branch), fused multiply-add allowed but no other reassociation.
_VECTOR_JIT = {"nogil": True, "cache": True, "boundscheck": False, "error_model": "numpy",
               "fastmath": {"contract"}}

__all__ = [
    "activation_backward_inplace",
    "bias_activation_inplace",
    "exp_nonpositive",
    "gather_batch",
    "logistic_cross_entropy_inplace",
    "softmax_cross_entropy_inplace",
]


# ----------------------------------------------------------------------------------------------
# exp for t <= 0 (vectorisable: numba has no vector exp of its own)
# ----------------------------------------------------------------------------------------------


def _int_type_of(fty: types.Float) -> ir.IntType:
    return ir.IntType(32 if fty == types.float32 else 64)


@intrinsic
def _scale_by_pow2(typingctx, y, shifted_n):
    """``y * 2**n``, where ``shifted_n = n + 1.5 * 2**(mantissa bits)`` holds n in its low bits.

    ``2**n`` is built from its bits in two halves, ``2**(n // 2) * 2**(n - n // 2)``, so that n
    down to about -2 * (max exponent) works: for a denormal result only the second product
    rounds, so the result is rounded once.
    """
    if y not in (types.float32, types.float64) or shifted_n != y:
        return None

    def codegen(context, builder, signature, args):
        ity = _int_type_of(y)
        single = y == types.float32
        magic = 0x4B400000 if single else 0x4338000000000000  # bits of 1.5 * 2**23 / 1.5 * 2**52
        bias, mantissa_bits = (127, 23) if single else (1023, 52)
        fty = context.get_value_type(y)
        n = builder.sub(builder.bitcast(args[1], ity), ir.Constant(ity, magic))
        n_low = builder.ashr(n, ir.Constant(ity, 1))
        n_high = builder.sub(n, n_low)

        def pow2(k):
            biased = builder.add(k, ir.Constant(ity, bias))
            return builder.bitcast(builder.shl(biased, ir.Constant(ity, mantissa_bits)), fty)

        return builder.fmul(builder.fmul(args[0], pow2(n_low)), pow2(n_high))

    return y(y, shifted_n), codegen


# exp(t) = 2**n * exp(r), n = round(t / ln 2), r = t - n ln 2 in [-ln2/2, ln2/2], with ln 2 split
# in a high part (n * high is exact) and a low part (Cody & Waite), and
# exp(r) = 1 + r + r**2 q(r), q a near-minimax (Chebyshev) fit of (exp(r) - 1 - r) / r**2 on
# [-0.348, 0.348] whose own error is 1.3e-17 (float64, degree 9) / 1.7e-10 (float32, degree 5),
# far below half an ulp.  Inputs below LOWEST (where exp underflows to 0 in that precision) are
# clamped to it, which keeps n in range and gives exp(-inf) = 0; the clamp lets NaN through.
_F64_Q = (
    2.510065503606659e-08,
    2.762043894863442e-07,
    2.755726789174553e-06,
    2.480152055701783e-05,
    0.0001984126986342035,
    0.0013888888917690603,
    0.008333333333329989,
    0.04166666666662317,
    0.16666666666666669,
    0.5000000000000001,
)
_F64_LN2_HIGH = 6.93147180369123816490e-01  # low 32 bits zero: n * high is exact for |n| < 2**20
_F64_LN2_LOW = 1.90821492927058770002e-10
_F64_LOWEST = -760.0  # exp(-745.2) is already below half the smallest denormal
_F64_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer

_F32_Q = (
    0.0001989126903936267,
    0.0013933900045230985,
    0.00833331048488617,
    0.041666463017463684,
    0.1666666716337204,
    0.5,
)
_F32_LN2_HIGH = 0.693359375  # 355/512: n * high is exact in float32 for |n| < 2**15
_F32_LN2_LOW = -2.12194440e-4
_F32_LOWEST = -110.0  # exp(-103.98) is already below half the smallest float32 denormal
_F32_SHIFTER = 12582912.0  # 1.5 * 2**23


def exp_nonpositive(t):  # pragma: no cover - replaced by the overload below inside numba code
    """``exp(t)`` for ``t <= 0`` (also ``-inf`` and NaN), in t's precision; numba code only."""
    raise NotImplementedError("exp_nonpositive is only callable from numba-compiled code")


@overload(exp_nonpositive, jit_options={"fastmath": {"contract"}})
def _exp_nonpositive_impl(t):
    if t == types.float64:
        q0, q1, q2, q3, q4, q5, q6, q7, q8, q9 = _F64_Q
        log2e, ln2_high, ln2_low = 1.4426950408889634, _F64_LN2_HIGH, _F64_LN2_LOW
        lowest, shifter = _F64_LOWEST, _F64_SHIFTER

        def exp64(t):
            t = lowest if t < lowest else t  # NaN < lowest is False: NaN goes through
            shifted_n = t * log2e + shifter
            n = shifted_n - shifter
            r = (t - n * ln2_high) - n * ln2_low
            q = q0 * r + q1
            q = q * r + q2
            q = q * r + q3
            q = q * r + q4
            q = q * r + q5
            q = q * r + q6
            q = q * r + q7
            q = q * r + q8
            q = q * r + q9
            return _scale_by_pow2(1.0 + (r + r * r * q), shifted_n)

        return exp64
    if t == types.float32:
        f32 = np.float32
        q0, q1, q2, q3, q4, q5 = (f32(c) for c in _F32_Q)
        log2e, ln2_high, ln2_low = f32(1.4426950408889634), f32(_F32_LN2_HIGH), f32(_F32_LN2_LOW)
        lowest, shifter, one = f32(_F32_LOWEST), f32(_F32_SHIFTER), f32(1.0)

        def exp32(t):
            t = lowest if t < lowest else t
            shifted_n = t * log2e + shifter
            n = shifted_n - shifter
            r = (t - n * ln2_high) - n * ln2_low
            q = q0 * r + q1
            q = q * r + q2
            q = q * r + q3
            q = q * r + q4
            q = q * r + q5
            return _scale_by_pow2(one + (r + r * r * q), shifted_n)

        return exp32
    return None


@njit(nogil=True, cache=True, boundscheck=False)
def _gather_kernel(X, y, rows, X_out, y_out):
    # Rows are copied eight at a time, in one loop over the columns: eight independent streams
    # of cache misses are in flight instead of one, which matters because the rows of a large
    # training set come from DRAM (benchmarks/RESULTS.md has the figures).
    n_rows = rows.shape[0]
    for i in range(n_rows):
        y_out[i] = y[rows[i]]
    i = 0
    while i + 8 <= n_rows:
        s0, s1, s2, s3 = X[rows[i]], X[rows[i + 1]], X[rows[i + 2]], X[rows[i + 3]]
        s4, s5, s6, s7 = X[rows[i + 4]], X[rows[i + 5]], X[rows[i + 6]], X[rows[i + 7]]
        d0, d1, d2, d3 = X_out[i], X_out[i + 1], X_out[i + 2], X_out[i + 3]
        d4, d5, d6, d7 = X_out[i + 4], X_out[i + 5], X_out[i + 6], X_out[i + 7]
        for j in range(X.shape[1]):
            d0[j] = s0[j]
            d1[j] = s1[j]
            d2[j] = s2[j]
            d3[j] = s3[j]
            d4[j] = s4[j]
            d5[j] = s5[j]
            d6[j] = s6[j]
            d7[j] = s7[j]
        i += 8
    for k in range(i, n_rows):  # element by element: a slice assignment would compile
        source, target = X[rows[k]], X_out[k]  # numba's shape-mismatch error path (seconds)
        for j in range(X.shape[1]):
            target[j] = source[j]


def gather_batch(X: np.ndarray, y: np.ndarray, rows: np.ndarray, X_out: np.ndarray,
                 y_out: np.ndarray) -> None:
    """``X_out[:m] <- X[rows]`` and ``y_out[:m] <- y[rows]`` (``m = len(rows)``).

    The batch gather of the training loop: the same copy as ``np.take(X, rows, axis=0,
    out=X_out[:m])`` plus ``np.take(y, rows, out=y_out[:m])``, in compiled loops that copy
    eight rows at once (random rows of a large ``X`` come from DRAM, and eight concurrent
    streams hide more of its latency than one).
    ``rows`` must be valid row indices of ``X`` (int64, in ``[0, N)``: not checked),
    ``X_out`` of ``X``'s dtype with at least ``m`` rows.
    """
    m = rows.shape[0]
    if not (0 <= m <= X_out.shape[0] and X_out.shape[1:] == X.shape[1:]
            and X_out.dtype == X.dtype and y_out.shape[0] >= m):
        raise ValueError(f"cannot gather {m} rows of {X.shape} into {X_out.shape}")
    _gather_kernel(X, y, rows, X_out, y_out)


@njit(nogil=True, cache=True)
def _add_bias_scale(z, b, scale):
    for n in range(z.shape[0]):
        for h in range(z.shape[1]):
            z[n, h] = (z[n, h] + b[h]) * scale


@njit(**_VECTOR_JIT)
def _bias_sigmoid(z, b):
    # sigma(s) = 1 / (1 + e) for s >= 0 and e / (1 + e) for s < 0, with e = exp(-|s|) in (0, 1]:
    # exp never overflows and neither branch cancels; the select compiles to a vector blend
    one = z.dtype.type(1.0)
    for n in range(z.shape[0]):
        for h in range(z.shape[1]):
            s = z[n, h] + b[h]
            e = exp_nonpositive(-abs(s))
            r = one / (one + e)
            z[n, h] = r if s >= 0 else e * r  # NaN: the comparison is False, e * r is NaN


@njit(nogil=True, cache=True)
def _add_bias_relu(z, b):
    for n in range(z.shape[0]):
        for h in range(z.shape[1]):
            s = z[n, h] + b[h]
            z[n, h] = 0.0 if s < 0 else s  # NaN stays NaN


def bias_activation_inplace(z: np.ndarray, b: np.ndarray, activation: str) -> None:
    """``z <- f(z + b)`` in place, for a C-contiguous (N, H) ``z`` and ``b`` (H,) of its dtype.

    The sigmoid is one pass: with ``s = z + b`` and ``e = exp(-|s|)`` (the vectorised
    :func:`exp_nonpositive`, < 1 ulp), ``1 / (1 + e)`` for ``s >= 0``
    and ``e / (1 + e)`` for ``s < 0``; ``e <= 1``, so nothing overflows and neither form cancels:
    a few ulps relative for every ``s`` (``(1 + tanh(s/2)) / 2`` is not: it cancels for
    ``s < 0``, 100% relative error at ``s = -20`` in float32).  ``tanh`` adds the bias, then
    NumPy's vectorised ``tanh``; ``relu`` is one pass.
    """
    t = z.dtype.type
    if activation == "sigmoid":
        _bias_sigmoid(z, b)
    elif activation == "tanh":
        _add_bias_scale(z, b, t(1.0))
        np.tanh(z, out=z)
    elif activation == "relu":
        _add_bias_relu(z, b)
    elif activation == "identity":
        _add_bias_scale(z, b, t(1.0))
    else:
        raise ValueError(f"unknown activation {activation!r}")


# No fused multiply-add here (no ``contract``): the bias gradient must be the plain column sums
# of the stored result, bit for bit.  The constant 1 has the arrays' dtype: an integer or float64
# literal would make the float32 product a float64 one (slower, and rounded differently from
# the NumPy reference ``dvalue * sigmoid_grad(a)`` in float32).


@njit(nogil=True, cache=True, boundscheck=False)
def _sigmoid_backward(dvalue, value, dbias):
    one = dvalue.dtype.type(1.0)
    dbias[:] = 0.0
    for n in range(dvalue.shape[0]):
        for h in range(dvalue.shape[1]):
            a = value[n, h]
            g = dvalue[n, h] * ((one - a) * a)
            dvalue[n, h] = g
            dbias[h] += g


@njit(nogil=True, cache=True, boundscheck=False)
def _tanh_backward(dvalue, value, dbias):
    one = dvalue.dtype.type(1.0)
    dbias[:] = 0.0
    for n in range(dvalue.shape[0]):
        for h in range(dvalue.shape[1]):
            a = value[n, h]
            g = dvalue[n, h] * (one - a * a)
            dvalue[n, h] = g
            dbias[h] += g


@njit(nogil=True, cache=True)
def _relu_backward(dvalue, value, dbias):
    dbias[:] = 0.0
    for n in range(dvalue.shape[0]):
        for h in range(dvalue.shape[1]):
            if not value[n, h] > 0:  # ReLU'(0) = 0
                dvalue[n, h] = 0.0
            dbias[h] += dvalue[n, h]


@njit(nogil=True, cache=True)
def _identity_backward(dvalue, value, dbias):
    dbias[:] = 0.0
    for n in range(dvalue.shape[0]):  # f' = 1: dvalue stays, only its column sums
        for h in range(dvalue.shape[1]):
            dbias[h] += dvalue[n, h]


#: the backward kernels by activation name (the training kernel calls them directly)
BACKWARD_KERNELS = {"sigmoid": _sigmoid_backward, "tanh": _tanh_backward, "relu": _relu_backward,
                    "identity": _identity_backward}


def activation_backward_inplace(dvalue: np.ndarray, value: np.ndarray, activation: str,
                                bias_grad: np.ndarray | None = None) -> None:
    """``dvalue <- dvalue * f'(z)`` in place, with ``f'`` computed from the value ``a = f(z)``.

    ``sigmoid: a (1 - a)``, ``tanh: 1 - a²``, ``relu: 1 where a > 0 else 0``, ``identity: 1``.
    In the same pass, ``bias_grad`` (H,) (of ``dvalue``'s dtype) receives the column sums of
    the result, added row after row as ``np.sum(dvalue, axis=0)`` does: the layer's bias
    gradient.
    """
    kernel = BACKWARD_KERNELS.get(activation)
    if kernel is None:
        raise ValueError(f"unknown activation {activation!r}")
    if bias_grad is None:
        bias_grad = np.empty(dvalue.shape[1], dtype=dvalue.dtype)
    kernel(dvalue, value, bias_grad)


@njit(**_VECTOR_JIT)
def _softmax_cross_entropy_kernel(logits, bias, labels, dbias, n_correct, columns, predicted):
    # Row by row, a row of K = 10 logits is too short for SIMD and its argmax is a chain of
    # unpredictable branches.  The logits are copied transposed into ``columns`` (K + 2, N) so
    # that every pass runs down the N rows, 16 at a time: the same operations in the same order
    # on each row, so the same bits, in about half the time.
    # columns[:K] holds the shifted exponentials, columns[K] the row maxima, columns[K + 1] the
    # normalisers; ``predicted`` (N,) int64 the argmax.
    n_rows, n_classes = logits.shape
    row_max, norm = columns[n_classes], columns[n_classes + 1]
    zero = logits.dtype.type(0.0)
    scale = logits.dtype.type(1.0 / n_rows)
    for n in range(n_rows):
        for k in range(n_classes):
            columns[k, n] = logits[n, k] + bias[k]
    for n in range(n_rows):
        row_max[n] = columns[0, n]
        predicted[n] = 0
    for k in range(1, n_classes):  # the first largest logit, as np.argmax picks it
        for n in range(n_rows):
            value = columns[k, n]
            larger = value > row_max[n]  # False for NaN: a NaN logit is never the max
            row_max[n] = value if larger else row_max[n]
            predicted[n] = k if larger else predicted[n]
    for n in range(n_rows):
        norm[n] = zero
    for k in range(n_classes):
        for n in range(n_rows):
            e = exp_nonpositive(columns[k, n] - row_max[n])  # <= 1: no overflow
            columns[k, n] = e
            norm[n] += e
    total = 0.0  # float64 accumulator, rows summed in order
    correct = 0
    for n in range(n_rows):
        label = labels[n]
        correct += predicted[n] == label
        true_shifted = (logits[n, label] + bias[label]) - row_max[n]
        total += math.log(norm[n]) - true_shifted
    n_correct[0] += correct
    for n in range(n_rows):
        norm[n] = scale / norm[n]
    for k in range(n_classes):
        for n in range(n_rows):
            columns[k, n] *= norm[n]
    for n in range(n_rows):
        columns[labels[n], n] -= scale
    # back to row-major, the column sums added row after row (as np.sum(axis=0) does)
    dbias[:] = zero
    for n in range(n_rows):
        for k in range(n_classes):
            value = columns[k, n]
            logits[n, k] = value
            dbias[k] += value
    return total / n_rows


@njit(**_VECTOR_JIT)
def _logistic_cross_entropy_kernel(logits, bias, labels, dbias, n_correct):
    # One logistic unit (binary classification, logits (N, 1)): the loss of a row is
    # softplus(z) - y z = max(z, 0) - y z + log1p(exp(-|z|)), finite for any z, and its
    # gradient sigmoid(z) - y, from exp(-|z|) <= 1 so that nothing overflows.
    n_rows = logits.shape[0]
    scale = 1.0 / n_rows
    total = 0.0  # float64 accumulator, rows summed in order
    correct = 0
    bias_grad = 0.0
    for n in range(n_rows):
        z = float(logits[n, 0] + bias[0])
        label = labels[n]
        e = math.exp(-abs(z))
        total += max(z, 0.0) - label * z + math.log1p(e)
        p = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        correct += (z > 0) == (label == 1)
        delta = logits.dtype.type((p - label) * scale)
        logits[n, 0] = delta
        bias_grad += delta
    n_correct[0] += correct
    dbias[0] = bias_grad
    return total / n_rows


def logistic_cross_entropy_inplace(logits: np.ndarray, labels: np.ndarray,
                                   bias: np.ndarray | None = None,
                                   bias_grad: np.ndarray | None = None,
                                   n_correct: np.ndarray | None = None) -> float:
    """Mean binary cross-entropy of ``sigmoid(logits + bias)`` for one logistic unit;
    overwrites ``logits`` (N, 1) with ``(sigmoid(z) - y)/N``.

    ``labels`` (N,) int64 in {0, 1}; ``bias`` (1,) (default zero); ``bias_grad`` (1,), when
    given, receives the sum of the new ``logits``; ``n_correct`` (int64, (1,)), when given, is
    increased by the rows with ``z > 0`` exactly when the label is 1.  The loss of a row is
    ``softplus(z) - y z``.
    """
    if bias is None:
        bias = np.zeros(1, dtype=logits.dtype)
    if bias_grad is None:
        bias_grad = np.empty(1, dtype=logits.dtype)
    if n_correct is None:
        n_correct = np.zeros(1, dtype=np.int64)
    return float(_logistic_cross_entropy_kernel(logits, bias, labels, bias_grad, n_correct))


def softmax_cross_entropy_inplace(logits: np.ndarray, labels: np.ndarray,
                                  bias: np.ndarray | None = None,
                                  bias_grad: np.ndarray | None = None,
                                  n_correct: np.ndarray | None = None) -> float:
    """Mean cross-entropy of ``softmax(logits + bias)``; overwrites ``logits`` (N, K) with
    ``(p - y)/N``.

    ``logits`` must be C-contiguous; ``labels`` (N,) int64 class indices in ``[0, K)``;
    ``bias`` (K,) (default zero) is added first, in place.  Each row is shifted by its maximum
    before ``exp`` (so nothing overflows) and the loss of a row is
    ``log(sum_k exp(z_k - max)) - (z_y - max)``.  ``bias_grad`` (K,), when given, receives the
    column sums of ``(p - y)/N`` added row after row (``np.sum(..., axis=0)``): the output
    layer's bias gradient.  ``n_correct`` (int64, (1,)), when given, is increased by the number
    of rows whose largest logit (the first, on a tie, as ``np.argmax``) is the label's: the
    batch's correct predictions, counted for free in the pass that finds each row's maximum.
    """
    if bias is None:
        bias = np.zeros(logits.shape[1], dtype=logits.dtype)
    if bias_grad is None:
        bias_grad = np.empty(logits.shape[1], dtype=logits.dtype)
    if n_correct is None:
        n_correct = np.zeros(1, dtype=np.int64)
    columns, predicted = loss_scratch(logits.shape[0], logits.shape[1], logits.dtype)
    return float(_softmax_cross_entropy_kernel(logits, bias, labels, bias_grad, n_correct,
                                               columns, predicted))


def loss_scratch(n_rows: int, n_classes: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The work arrays of the softmax-CE kernel for ``n_rows`` x ``n_classes`` logits:
    ``(n_classes + 2, n_rows)`` of ``dtype`` (the transposed exponentials, row maxima and
    normalisers) and ``(n_rows,)`` int64 (each row's argmax)."""
    return (np.empty((n_classes + 2, n_rows), dtype=dtype),
            np.empty(n_rows, dtype=np.int64))
