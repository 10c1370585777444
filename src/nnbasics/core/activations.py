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

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "identity",
    "identity_grad",
    "log_softmax",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_backward",
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

# Floating-point events that are the right answer in softmax, hidden so that no warning is raised:
# ``x - max`` overflows to -inf for finite rows spanning more than the float range (exp(-inf) = 0
# is the limit); exp underflows to 0 far below the max; an all -inf row or a +inf row makes
# ``inf - inf`` = NaN (the first has no distribution, the second is fixed to its limit).
_SOFTMAX_ERRSTATE = {"over": "ignore", "under": "ignore", "invalid": "ignore"}


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

    The backward pass (vector-Jacobian product) is :func:`softmax_backward`:
    :math:`\partial L/\partial x = p \odot (g - \langle g, p\rangle)` for upstream gradient
    :math:`g = \partial L/\partial p`; with cross-entropy it fuses to :math:`p - y` (see
    :mod:`nnbasics.core.losses`).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1000.0, 1001.0], [1.0, 2.0]])
    >>> p = softmax(x)
    >>> bool(np.allclose(p[0], p[1])), bool(np.allclose(p.sum(axis=1), 1.0))
    (True, True)
    """
    x = as_float_array(x)
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis; got a scalar")
    if x.size == 0:
        return x.copy()
    with np.errstate(**_SOFTMAX_ERRSTATE):
        x_max = x.max(axis=axis, keepdims=True)
        exps = x - x_max  # every entry <= 0 ...
        np.exp(exps, out=exps)  # ... so exp(x - max) <= 1 never overflows (computed in place)
        exps /= exps.sum(axis=axis, keepdims=True)  # the sum is in [1, d]
    if (x_max == np.inf).any():  # a row holding +inf: its limit (NaN rows have a NaN max)
        _limit_of_posinf_rows(x, x_max, exps, axis, log=False)
    return exps


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
    x = as_float_array(x)
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis; got a scalar")
    if x.size == 0:
        return x.copy()
    with np.errstate(**_SOFTMAX_ERRSTATE):
        x_max = x.max(axis=axis, keepdims=True)
        shifted = x - x_max
        shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))  # the sum is in [1, d]
    if (x_max == np.inf).any():  # a row holding +inf: its limit (NaN rows have a NaN max)
        _limit_of_posinf_rows(x, x_max, shifted, axis, log=True)
    return shifted


def _limit_of_posinf_rows(x: FloatArray, x_max: FloatArray, out: FloatArray, axis: int,
                          log: bool) -> None:
    """Rows whose max is +inf (``inf - inf`` made them NaN): write their limit into ``out``.

    The limit shares the probability equally among the row's ``+inf`` entries, 0 elsewhere.  A row
    holding a NaN has a NaN max, so it never gets here and stays NaN.
    """
    is_posinf = np.isposinf(x)
    with np.errstate(invalid="ignore", divide="ignore"):  # other rows: 0/0; log(0) = -inf
        limit = is_posinf / is_posinf.sum(axis=axis, keepdims=True)
        if log:
            limit = np.log(limit)
    np.copyto(out, limit, where=np.isposinf(x_max))


def softmax_backward(ds: ArrayLike, s: ArrayLike, axis: int = -1) -> FloatArray:
    r"""Backward of :func:`softmax`: ``dx`` from the upstream ``ds`` and the *value* ``s``.

    ``dx = s * (ds - sum(ds * s, axis))``

    Parameters
    ----------
    ds : array_like, same shape as ``s``
        Upstream gradient :math:`\partial L/\partial s`.
    s : array_like, any shape with at least one axis, entries in [0, 1]
        The output of :func:`softmax` (not its input), normalised along ``axis``.
    axis : int, default -1
        The axis the forward normalised along.

    Returns
    -------
    dx : ndarray, same shape as ``s``, float dtype of ``ds * s``
        :math:`\partial L/\partial x`.

    Raises
    ------
    ValueError
        ``ds`` and ``s`` of different shapes, or ``s`` with an entry outside [0, 1] (not a
        softmax output: the logits passed by mistake, or the two arguments swapped).

    Notes
    -----
    The Jacobian of :math:`s = \mathrm{softmax}(x)` along a row is
    :math:`\partial s_i/\partial x_j = s_i(\delta_{ij} - s_j)`, so
    :math:`\partial L/\partial x_j = \sum_i g_i s_i(\delta_{ij} - s_j) = s_j (g_j - \langle g,
    s\rangle)`: a product and a row sum, never the :math:`d \times d` Jacobian.  Ahead of
    cross-entropy the whole chain fuses to :math:`s - y`
    (:func:`~nnbasics.core.losses.softmax_cross_entropy`).

    Examples
    --------
    >>> import numpy as np
    >>> s = softmax(np.array([1.0, 2.0, 3.0]))
    >>> dx = softmax_backward(np.ones(3), s)  # a constant upstream: softmax ignores offsets
    >>> bool(np.allclose(dx, 0.0))
    True
    """
    ds = as_float_array(ds)
    s = as_float_array(s)
    if ds.shape != s.shape:
        raise ValueError(f"ds has shape {ds.shape} but s has shape {s.shape}; they must agree")
    _require_probabilities(s, "softmax_backward", "softmax")
    return s * (ds - np.sum(ds * s, axis=axis, keepdims=True))


def _require_probabilities(s: FloatArray, function: str, forward: str) -> None:
    """Raise ValueError if an entry of ``s`` lies outside [0, 1] (NaN passes: see callers)."""
    outside = (s < 0) | (s > 1)  # NaN compares False: it passes through
    if outside.any():
        raise ValueError(
            f"{function} takes the value s = {forward}(x), whose entries lie in [0, 1], but "
            f"{np.count_nonzero(outside)} of {s.size} entries are outside (the first is "
            f"{float(s[outside].flat[0])!r}): did you pass x instead of {forward}(x)?"
        )


# ----------------------------------------------------------------------------------------------
# sigmoid
# ----------------------------------------------------------------------------------------------


def sigmoid(x: ArrayLike) -> FloatArray:
    r"""Logistic sigmoid, elementwise, with no overflow warning for any input.

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
    The definition is also the stable way to compute it.  For :math:`x \ge 0`,
    :math:`e^{-x} \in (0, 1]`.  For :math:`x \lt 0`, :math:`e^{-x}` is large and the division
    keeps full relative precision (:math:`\sigma(-40) \approx 4.2\times10^{-18}`, not 0, which
    ``1 - sigmoid(40)`` would give); when it overflows to ``inf`` (:math:`x \lt -709.78` in
    float64, :math:`-88.72` in float32) the result is :math:`1/\infty = 0`, the true value then
    being below the smallest normal number.  That overflow is the right answer, so it raises no
    warning.  ``sigmoid(±inf)`` is 1 / 0 and NaN stays NaN.  Its derivative is
    :func:`sigmoid_grad` of the value.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    >>> bool(np.allclose(sigmoid(-x), 1 - sigmoid(x)))
    True
    """
    x = as_float_array(x)
    with np.errstate(over="ignore", under="ignore"):  # exp(-x) -> inf gives 1 / inf = 0: right
        return 1 / (1 + np.exp(-x))


def sigmoid_grad(s: ArrayLike) -> FloatArray:
    r"""Derivative of the sigmoid, given the sigmoid's *value* ``s = sigmoid(x)``.

    ``sigmoid_grad(s) = s * (1 - s)``, which equals :math:`\sigma'(x)`.

    Parameters
    ----------
    s : array_like, any shape, entries in [0, 1]
        The output of :func:`sigmoid` (not its input).  0 and 1 are accepted (the sigmoid's
        value at ±inf, or where it rounds to them); NaN passes through (``sigmoid(nan)`` is NaN).

    Returns
    -------
    ds : ndarray, same shape and dtype as ``s``, entries in [0, 1/4]

    Raises
    ------
    ValueError
        An entry outside [0, 1]: not a value of the sigmoid, most likely its input ``x`` passed
        instead of ``sigmoid(x)`` (``x (1 - x)`` is not :math:`\sigma'(x)`).

    Notes
    -----
    :math:`\sigma'(x) = e^{-x}/(1+e^{-x})^2 = \sigma(x)\,(1-\sigma(x))`.  The maximum, 1/4 at
    :math:`x = 0`, is why deep sigmoid stacks shrink gradients layer by layer.

    Examples
    --------
    >>> float(sigmoid_grad(sigmoid(0.0)))
    0.25
    """
    s = as_float_array(s)
    _require_probabilities(s, "sigmoid_grad", "sigmoid")
    return s * (1 - s)


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


def identity(x: ArrayLike) -> FloatArray:
    r"""The identity, elementwise: ``identity(x) = x`` (a linear layer; scikit-learn's name).

    Returns a new float array with the values of ``x`` (same shape; float dtype kept).
    """
    return as_float_array(x).copy()


def identity_grad(a: ArrayLike) -> FloatArray:
    r"""Derivative of the identity, given its *value* ``a``: ``identity_grad(a) = 1``.

    Returns ones, same shape and dtype as ``a``.
    """
    return np.ones_like(as_float_array(a))


#: Activations by name, with the derivative of each expressed on its *value*.  scikit-learn's
#: ``logistic`` is an alias of ``sigmoid``.
ACTIVATIONS = {"sigmoid": sigmoid, "logistic": sigmoid, "tanh": tanh, "relu": relu,
               "identity": identity}
DERIVATIVES = {
    "identity": identity_grad,
    "sigmoid": sigmoid_grad,
    "logistic": sigmoid_grad,
    "tanh": tanh_grad,
    "relu": relu_grad,
}
