"""Activation functions and their gradients, each forward beside its backward.

Shape letters: ``N`` rows of a batch, ``d`` entries of a row. Every function here is pure (arrays
in, arrays out, the input never mutated), works elementwise on arrays of any shape (softmax: along
``axis``), and keeps float32 as float32 and float64 as float64; any other input (ints, bools,
lists) is computed in float64.

Gradient convention (the CS224n one): a ``*_grad`` function takes the activation's *value*, not its
input.  ``sigmoid_grad(s)`` takes ``s = sigmoid(x)`` and returns ``sigmoid'(x) = s (1 - s)``;
``tanh_grad(t)`` takes ``t = tanh(x)``; ``relu_grad(r)`` takes ``r = relu(x)``.  The value carries
everything the derivative needs, so a backward pass keeps only the forward's output.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "log_softmax",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "tanh",
    "tanh_grad",
]

FloatArray = NDArray[np.floating]


def as_float_array(x: ArrayLike) -> FloatArray:
    """Return ``x`` as a float32 or float64 array without copying one that already is.

    float32/float64 arrays pass through untouched; every other dtype (int, bool, float16, lists) is
    converted to float64.  Complex input raises ``TypeError``.
    """
    arr = np.asarray(x)
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if np.iscomplexobj(arr):
        raise TypeError(f"expected real numbers, got complex array of dtype {arr.dtype}")
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"expected a numeric array, got dtype {arr.dtype}")
    return arr.astype(np.float64)


# ----------------------------------------------------------------------------------------------
# softmax and log-softmax
# ----------------------------------------------------------------------------------------------

# Shape letters of the internals below: a C-contiguous ``(N, d)`` matrix whose rows are normalised.
#
# Softmax makes four passes over a row: max; subtract and exp; sum; scale.  On a large matrix each
# pass would stream the whole array through main memory, so rows are processed in blocks whose
# input and output fit in the L2 cache together: only the first pass reads memory, the others hit
# the cache.  NumPy's ufuncs and reductions release the GIL, so blocks shared between two threads
# run in parallel without a compiled kernel.  (A numba kernel was measured and not kept: without
# SVML numba's exp is a scalar libm call, 7x slower than NumPy's AVX-512 exp, and a hand-written
# polynomial exp that LLVM vectorises only reached NumPy's speed.)
_BLOCK_BYTES = 1 << 18  # 256 KiB of input per block (+ as much output): well inside a 2 MiB L2
_WIDE_ROW_BYTES = 1 << 20  # a row wider than this is split into column chunks of _BLOCK_BYTES
_PARALLEL_MIN_BYTES = 1 << 20  # below 1 MiB the thread hand-off costs more than it saves
_RECIPROCAL_MIN_WIDTH = 64  # narrower rows: the extra reciprocal call costs more than it saves
_N_THREADS = max(1, min(2, os.cpu_count() or 1))  # threads working on one call, caller included
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_N_THREADS - 1, thread_name_prefix="nnbasics")
    return _executor


def _parallel_for(task: Callable[[int], None], n_tasks: int) -> None:
    """Run ``task(0), ..., task(n_tasks - 1)`` on the calling thread and the pool's helpers.

    Tasks are handed out by a shared counter (``next`` on ``itertools.count`` is atomic under the
    GIL), and the caller works too: on a busy machine where a helper is not scheduled, the caller
    simply takes more tasks, so the call is never much slower than the serial loop.  Every task
    writes its own slice of the output, so the result does not depend on the scheduling.
    """
    counter = itertools.count()

    def drain() -> None:
        while (i := next(counter)) < n_tasks:
            task(i)

    if _N_THREADS == 1 or n_tasks < 2:
        drain()
        return
    helpers = [_pool().submit(drain) for _ in range(_N_THREADS - 1)]
    try:
        drain()
    finally:
        for helper in helpers:
            helper.result()


def _shift_exp_sum_into(x: FloatArray, shift: FloatArray, out: FloatArray, log: bool) -> FloatArray:
    """``out = x - shift``, exponentiated unless ``log``; returns the exps' row sums, (rows, 1).

    x - shift can overflow to -inf only for entries ~1e308 below the row max, whose probability is 0
    anyway; an all -inf row gives (-inf) - (-inf) = NaN: no distribution exists there.  The caller
    holds the ``np.errstate`` that silences these.
    """
    np.subtract(x, shift, out=out)
    if log:
        # log softmax keeps x - max; the exps are only needed for their sum, in a scratch buffer.
        return np.exp(out).sum(axis=1, keepdims=True)
    np.exp(out, out=out)
    return out.sum(axis=1, keepdims=True)


def _normalise_into(out: FloatArray, norm: FloatArray, log: bool) -> None:
    """Divide the exps in ``out`` by their row sums ``norm`` (subtract ``log norm`` if ``log``)."""
    if log:
        np.subtract(out, np.log(norm), out=out)
    elif out.shape[1] < _RECIPROCAL_MIN_WIDTH:
        np.divide(out, norm, out=out)
    else:
        # norm >= 1 (the max entry contributes exp(0)), so 1/norm cannot overflow; one division
        # per row and a multiply per entry is cheaper than a division per entry (2-3x in float64),
        # at the cost of at most one more rounding.
        np.multiply(out, np.reciprocal(norm), out=out)


def _softmax_rows_into(x: FloatArray, out: FloatArray, log: bool) -> None:
    """Row-wise (log-)softmax of the 2-D C-contiguous block ``x`` (rows × d) into ``out``."""
    row_max = x.max(axis=1, keepdims=True)  # (rows, 1); NaN if the row holds a NaN
    # errstate is per thread, so each block (possibly on a pool thread) sets its own; exps that
    # underflow to 0 are intended (entries far below the max), so underflow is silenced too.
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        norm = _shift_exp_sum_into(x, row_max, out, log)
        _normalise_into(out, norm, log)
    # fmax skips NaN, so a NaN row cannot hide a +inf row; this test is 4x cheaper than isposinf.
    if np.fmax.reduce(row_max, axis=None) == np.inf:
        _fix_posinf_rows(x, out, np.isposinf(row_max[:, 0]), log)


def _softmax_wide_row_into(x: FloatArray, out: FloatArray, log: bool) -> None:
    """(log-)softmax of one row too wide for the cache, shape (1, d), in column chunks.

    Three passes, each split into chunks that run in parallel: the chunk maxima (reduced to the
    row max in chunk order); ``exp(x - max)`` and its sum per chunk, in cache; the scaling.  The
    arithmetic is that of :func:`_softmax_rows_into` with the whole row's max, so the special
    values (NaN, ±inf) behave identically.
    """
    chunk = max(1, _BLOCK_BYTES // x.itemsize)
    n_chunks = -(-x.shape[1] // chunk)
    chunk_max = np.empty(n_chunks, dtype=x.dtype)
    chunk_sum = np.empty(n_chunks, dtype=x.dtype)

    def cols(c: int) -> slice:
        return slice(c * chunk, (c + 1) * chunk)

    def find_max(c: int) -> None:
        chunk_max[c] = x[:, cols(c)].max()

    _parallel_for(find_max, n_chunks)
    row_max = chunk_max.max(keepdims=True)[:, None]  # (1, 1); NaN propagates

    def shift_exp_sum(c: int) -> None:
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            chunk_sum[c] = _shift_exp_sum_into(x[:, cols(c)], row_max, out[:, cols(c)], log)[0, 0]

    _parallel_for(shift_exp_sum, n_chunks)
    norm = chunk_sum.sum(keepdims=True)[:, None]  # summed in chunk order: deterministic

    def normalise(c: int) -> None:
        with np.errstate(under="ignore", invalid="ignore", divide="ignore"):
            _normalise_into(out[:, cols(c)], norm, log)

    _parallel_for(normalise, n_chunks)
    if np.isposinf(row_max[0, 0]):
        _fix_posinf_rows(x, out, np.ones(1, dtype=bool), log)


def _fix_posinf_rows(x: FloatArray, out: FloatArray, rows: NDArray[np.bool_], log: bool) -> None:
    """Rows holding +inf: the limit of softmax, uniform over the +inf entries and 0 elsewhere."""
    sub = x[rows]
    is_inf = np.isposinf(sub)
    share = is_inf / is_inf.sum(axis=1, keepdims=True)
    # A NaN anywhere in the row still makes the whole row NaN.
    share[np.isnan(sub).any(axis=1)] = np.nan
    with np.errstate(divide="ignore"):
        out[rows] = np.log(share) if log else share


def _softmax_impl(x: ArrayLike, axis: int, log: bool) -> FloatArray:
    arr = as_float_array(x)
    if arr.ndim == 0:
        raise ValueError("softmax needs at least one axis; got a scalar")
    if arr.size == 0:
        return np.empty_like(arr)
    # The common case (normalising the last axis of a C-contiguous array) skips moveaxis and the
    # copy: on a 128x10 batch that overhead is a third of the call.
    moved = arr if axis in (-1, arr.ndim - 1) else np.moveaxis(arr, axis, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])  # (N, d), a view if possible
    out = np.empty_like(rows)
    n_rows, width = rows.shape
    row_bytes = width * rows.itemsize
    if row_bytes > _WIDE_ROW_BYTES:
        for i in range(n_rows):
            _softmax_wide_row_into(rows[i : i + 1], out[i : i + 1], log)
    else:
        block = max(1, _BLOCK_BYTES // row_bytes)
        n_blocks = -(-n_rows // block)

        def softmax_block(b: int) -> None:
            s = slice(b * block, (b + 1) * block)
            _softmax_rows_into(rows[s], out[s], log)

        if rows.nbytes >= _PARALLEL_MIN_BYTES and n_blocks >= 2:
            _parallel_for(softmax_block, n_blocks)
        else:
            for b in range(n_blocks):
                softmax_block(b)
    result = out.reshape(moved.shape)
    return result if moved is arr else np.moveaxis(result, -1, axis)


def softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Numerically stable softmax along ``axis``.

    ``softmax(x)[i] = exp(x[i] - max(x)) / sum_j exp(x[j] - max(x))``

    Parameters
    ----------
    x : array_like, shape (d,) or (N, d) or any shape
        Real scores (logits).  float32 stays float32, float64 stays float64, anything else is
        computed in float64.  Never modified.
    axis : int, default -1
        Axis along which the entries sum to 1 (for an N×d matrix, the default is row-wise).

    Returns
    -------
    p : ndarray, same shape and float dtype as ``x``
        Non-negative entries summing to 1 along ``axis``.

    Notes
    -----
    Softmax is invariant to adding a constant to every entry of a row,
    :math:`\mathrm{softmax}(x + c\mathbf{1}) = \mathrm{softmax}(x)`, since the factor
    :math:`e^{c}` cancels between numerator and denominator.  With :math:`c = -\max_j x_j` every
    exponent is :math:`\le 0`, so :math:`e^{x_i - \max x} \le 1` never overflows, and the largest
    entry contributes exactly :math:`e^0 = 1`, so the denominator lies in :math:`[1, d]` and never
    underflows to 0.

    Domain of the result, row by row:

    * finite rows (any magnitude, e.g. ``[1000, 1001]``, ``[-1e300, 0]``, ``[3e307, 3e307]``):
      a valid distribution, with no overflow, NaN or floating-point warning;
    * ``-inf`` entries get probability exactly 0; a row that is all ``-inf`` has no distribution and
      gives a row of NaN;
    * ``+inf`` entries: the limit, probability shared equally among the ``+inf`` entries and 0
      elsewhere;
    * a row holding a NaN gives a row of NaN.

    No warning is emitted in any of these cases.

    The gradient (Jacobian-vector product) is
    :math:`\partial L/\partial x = p \odot (g - \langle g, p\rangle)` for upstream gradient
    :math:`g`; with cross-entropy it fuses to :math:`p - y` (see :mod:`nnbasics.losses`).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1000.0, 1001.0], [1.0, 2.0]])
    >>> p = softmax(x)
    >>> bool(np.allclose(p[0], p[1])), bool(np.allclose(p.sum(axis=1), 1.0))
    (True, True)
    """
    return _softmax_impl(x, axis, log=False)


def log_softmax(x: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Numerically stable log of the softmax along ``axis``.

    ``log_softmax(x)[i] = (x[i] - max(x)) - log(sum_j exp(x[j] - max(x)))``

    Parameters
    ----------
    x : array_like, any shape with at least one axis
        Real scores; float32/float64 preserved, anything else in float64.  Never modified.
    axis : int, default -1
        Axis of normalisation.

    Returns
    -------
    logp : ndarray, same shape and dtype as ``x``
        Entries :math:`\le 0`, with :math:`\log\sum_i e^{\mathrm{logp}_i} = 0` along ``axis``.

    Notes
    -----
    This is :math:`x - \operatorname{logsumexp}(x)` with the log-sum-exp computed around the row
    maximum.  It is *not* ``log(softmax(x))``: a probability that underflows to 0 would give
    ``-inf`` there, whereas the log-domain value stays finite (``log_softmax([0, -1000])[1] =
    -1000``).  Non-finite rows behave as in :func:`softmax`: ``-inf`` entries give ``-inf``, a row
    all ``-inf`` or holding NaN gives NaN, ``+inf`` entries share the mass (``log(1/k)``) and the
    other entries give ``-inf``.  The gradient is :math:`g - \mathrm{softmax}(x) \sum_j g_j`.

    Examples
    --------
    >>> import numpy as np
    >>> float(log_softmax(np.array([0.0, -1000.0]))[1])
    -1000.0
    """
    return _softmax_impl(x, axis, log=True)


# ----------------------------------------------------------------------------------------------
# sigmoid
# ----------------------------------------------------------------------------------------------


def sigmoid(x: ArrayLike) -> FloatArray:
    r"""Logistic sigmoid, elementwise, with no overflow for any input.

    ``sigmoid(x) = 1 / (1 + exp(-x))``

    Parameters
    ----------
    x : array_like, any shape
        Real input; float32/float64 preserved, anything else in float64.

    Returns
    -------
    s : ndarray, same shape and dtype as ``x``, entries in [0, 1]

    Notes
    -----
    Computed from :math:`z = e^{-|x|} \in (0, 1]`, which cannot overflow:
    :math:`\sigma(x) = 1/(1+z)` for :math:`x \ge 0` and :math:`\sigma(x) = z/(1+z)` for
    :math:`x < 0`.  The second form keeps full relative precision for very negative inputs
    (:math:`\sigma(-40) \approx 4.2\times10^{-18}`, not 0).  ``sigmoid(±inf)`` is 1 / 0 and NaN
    stays NaN.  Its derivative is :func:`sigmoid_grad` of the value.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    >>> bool(np.allclose(sigmoid(-x), 1 - sigmoid(x)))
    True
    """
    arr = as_float_array(x)
    with np.errstate(under="ignore"):  # exp(-|x|) -> 0 for |x| > ~745 is the right answer
        z = np.exp(-np.abs(arr))  # in (0, 1]: no overflow possible
    return np.where(arr >= 0, 1.0, z) / (1.0 + z)


def sigmoid_grad(s: ArrayLike) -> FloatArray:
    r"""Derivative of the sigmoid, given the sigmoid's *value* ``s = sigmoid(x)``.

    ``sigmoid_grad(s) = s * (1 - s)``, which equals :math:`\sigma'(x)`.

    Parameters
    ----------
    s : array_like, any shape, entries in [0, 1]
        The output of :func:`sigmoid` (not its input).

    Returns
    -------
    ds : ndarray, same shape and dtype as ``s``, entries in [0, 1/4]

    Notes
    -----
    :math:`\sigma'(x) = e^{-x}/(1+e^{-x})^2 = \sigma(x)\,(1-\sigma(x))`.  The maximum, 1/4 at
    :math:`x = 0`, is why deep sigmoid stacks shrink gradients layer by layer.

    Examples
    --------
    >>> float(sigmoid_grad(sigmoid(0.0)))
    0.25
    """
    arr = as_float_array(s)
    return arr * (1 - arr)


# ----------------------------------------------------------------------------------------------
# tanh
# ----------------------------------------------------------------------------------------------


def tanh(x: ArrayLike) -> FloatArray:
    r"""Hyperbolic tangent, elementwise; never overflows (``tanh(±1000) = ±1``).

    ``tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) = 2 sigmoid(2x) - 1``

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    t : ndarray, same shape and dtype as ``x``, entries in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-5, 5, 11)
    >>> bool(np.allclose(tanh(x), 2 * sigmoid(2 * x) - 1))
    True
    """
    return np.tanh(as_float_array(x))


def tanh_grad(t: ArrayLike) -> FloatArray:
    r"""Derivative of tanh, given tanh's *value* ``t = tanh(x)``.

    ``tanh_grad(t) = 1 - t**2``, which equals :math:`\tanh'(x)`.

    Parameters
    ----------
    t : array_like, any shape, entries in [-1, 1]
        The output of :func:`tanh`.

    Returns
    -------
    dt : ndarray, same shape and dtype as ``t``, entries in [0, 1]

    Notes
    -----
    :math:`\tanh' = 1/\cosh^2 = 1 - \tanh^2`; its maximum is 1 at 0, four times the sigmoid's.
    """
    arr = as_float_array(t)
    return 1 - arr * arr


# ----------------------------------------------------------------------------------------------
# ReLU
# ----------------------------------------------------------------------------------------------


def relu(x: ArrayLike) -> FloatArray:
    r"""Rectified linear unit, elementwise: ``relu(x) = max(x, 0)``.

    Parameters
    ----------
    x : array_like, any shape

    Returns
    -------
    r : ndarray, same shape and dtype as ``x``, entries >= 0 (NaN stays NaN)
    """
    arr = as_float_array(x)
    return np.maximum(arr, 0, dtype=arr.dtype)


def relu_grad(r: ArrayLike) -> FloatArray:
    r"""Derivative of ReLU, given ReLU's *value* ``r = relu(x)``.

    ``relu_grad(r) = 1 where r > 0 else 0``

    Parameters
    ----------
    r : array_like, any shape
        The output of :func:`relu` (``r > 0`` exactly where ``x > 0``, so the value suffices).

    Returns
    -------
    dr : ndarray of 0.0 and 1.0, same shape and dtype as ``r``

    Notes
    -----
    ReLU is not differentiable at 0; the convention here, as in JAX and PyTorch, is
    :math:`\mathrm{ReLU}'(0) = 0`.
    """
    arr = as_float_array(r)
    return (arr > 0).astype(arr.dtype)


#: Activations by name, with the derivative of each expressed on its *value*.  scikit-learn's
#: ``logistic`` is an alias of ``sigmoid``.
ACTIVATIONS = {"sigmoid": sigmoid, "logistic": sigmoid, "tanh": tanh, "relu": relu}
DERIVATIVES = {
    "sigmoid": sigmoid_grad,
    "logistic": sigmoid_grad,
    "tanh": tanh_grad,
    "relu": relu_grad,
}
