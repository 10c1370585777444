r"""The one-hidden-layer network of the assignment: sigmoid hidden layer, softmax output.

Shape letters: ``N`` rows of the batch, ``Dx`` inputs, ``H`` hidden units, ``Dy`` classes.

.. math::

    h = \sigma(X W_1 + b_1), \qquad \hat y = \mathrm{softmax}(h W_2 + b_2), \qquad
    J = -\sum_{n=1}^{N} \sum_{k} y_{nk} \log \hat y_{nk}

All parameters travel as **one flat vector** ``params`` of length
:func:`parameter_count` ``= (Dx + 1) H + (H + 1) Dy``, laid out as

    ``W1`` (Dx×H, row-major) | ``b1`` (H) | ``W2`` (H×Dy, row-major) | ``b2`` (Dy)

and every gradient comes back in the same layout.  The layout is written once, in
:func:`parameter_blocks` (names and shapes, in order); :func:`unpack_params` cuts the vector by it,
and ``gradcheck(..., blocks=parameter_blocks(dims))`` names a flat index by it (``W1[3, 2]``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from nnbasics.core.activations import FloatArray, as_float_array, sigmoid, sigmoid_grad, softmax
from nnbasics.core.losses import softmax_cross_entropy

__all__ = [
    "Params",
    "forward_backward",
    "init_params",
    "input_gradient",
    "parameter_blocks",
    "parameter_count",
    "predict",
    "predict_proba",
    "unpack_params",
]


class Params(NamedTuple):
    """Views into a flat parameter vector (no copies): writing to them writes the vector."""

    W1: FloatArray  # (Dx, H)
    b1: FloatArray  # (H,)
    W2: FloatArray  # (H, Dy)
    b2: FloatArray  # (Dy,)


def _check_dims(dims) -> tuple[int, int, int]:
    try:
        Dx, H, Dy = map(int, dims)
    except (TypeError, ValueError):
        raise ValueError(f"dims must be three integers (Dx, H, Dy), got {dims!r}") from None
    if min(Dx, H, Dy) < 1 or list(dims) != [Dx, H, Dy]:  # 2.5 is not a size
        raise ValueError(f"dims must be three positive integers (Dx, H, Dy), got {tuple(dims)}")
    return Dx, H, Dy


def parameter_blocks(dims) -> list[tuple[str, tuple[int, ...]]]:
    """The blocks of the flat parameter vector, in order: ``[(name, shape), ...]``.

    ``[("W1", (Dx, H)), ("b1", (H,)), ("W2", (H, Dy)), ("b2", (Dy,))]``: the one place the layout
    is written.  Pass it to :func:`~nnbasics.core.gradcheck.gradcheck` as ``blocks`` to have a
    flat index reported as ``W1[3, 2]``.

    Examples
    --------
    >>> parameter_blocks((10, 5, 10))
    [('W1', (10, 5)), ('b1', (5,)), ('W2', (5, 10)), ('b2', (10,))]
    """
    Dx, H, Dy = _check_dims(dims)
    return [("W1", (Dx, H)), ("b1", (H,)), ("W2", (H, Dy)), ("b2", (Dy,))]


def parameter_count(dims) -> int:
    r"""Number of parameters of the network with ``dims = (Dx, H, Dy)``.

    ``parameter_count(dims) = (Dx + 1) * H + (H + 1) * Dy``

    :math:`W_1` has :math:`D_x H` entries and :math:`b_1` has :math:`H`; :math:`W_2` has
    :math:`H D_y` and :math:`b_2` has :math:`D_y`.

    Examples
    --------
    >>> parameter_count((10, 5, 10))
    115
    """
    Dx, H, Dy = _check_dims(dims)
    return (Dx + 1) * H + (H + 1) * Dy


def unpack_params(params: ArrayLike, dims) -> Params:
    """Split the flat vector into views ``W1, b1, W2, b2``, cut by :func:`parameter_blocks`.

    Raises ``ValueError`` if ``params`` is not 1-D of length :func:`parameter_count` ``(dims)``.
    """
    blocks = parameter_blocks(dims)
    theta = as_float_array(params)
    n_params = 0
    for _, shape in blocks:
        n_params += math.prod(shape)  # (Dx + 1) H + (H + 1) Dy in all
    if theta.ndim != 1:
        raise ValueError(f"params must be a flat 1-D vector, got shape {theta.shape}")
    if theta.shape[0] != n_params:
        raise ValueError(
            f"params has length {theta.shape[0]}, but dims {tuple(dims)} need "
            f"(Dx+1)*H + (H+1)*Dy = {n_params}"
        )
    views, start = [], 0
    for _, shape in blocks:
        stop = start + math.prod(shape)
        views.append(theta[start:stop].reshape(shape))
        start = stop
    return Params(*views)


def init_params(dims, rng: np.random.Generator | int | None = 0, dtype=np.float64) -> FloatArray:
    r"""Random flat parameters: Glorot-uniform weights :math:`U(\pm\sqrt{6/(fan_{in}+fan_{out})})`,
    zero biases.  ``rng`` is a Generator or a seed."""
    Dx, H, Dy = _check_dims(dims)
    rng = np.random.default_rng(rng)
    theta = np.zeros(parameter_count(dims), dtype=dtype)
    p = unpack_params(theta, dims)
    p.W1[...] = rng.uniform(-1, 1, (Dx, H)) * np.sqrt(6 / (Dx + H))
    p.W2[...] = rng.uniform(-1, 1, (H, Dy)) * np.sqrt(6 / (H + Dy))
    return theta


def _as_batch(X: ArrayLike, Dx: int) -> FloatArray:
    """``X`` as a checked (N, Dx) float array (a single row (Dx,) becomes (1, Dx)).

    Its precision may differ from the parameters': NumPy computes ``X @ W1`` of float32 and
    float64 in float64, the wider.
    """
    X = as_float_array(X)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (N, Dx), got shape {X.shape}")
    if X.shape[1] != Dx:
        raise ValueError(f"X has {X.shape[1]} columns, but dims say Dx = {Dx}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity")
    return X


def forward_backward(
    X: ArrayLike, labels: ArrayLike, params: ArrayLike, dims
) -> tuple[float, FloatArray]:
    r"""Cost of the batch and its gradient with respect to the flat parameter vector.

    Parameters
    ----------
    X : array_like, shape (N, Dx)
        Inputs, finite.
    labels : array_like, shape (N,) integers in [0, Dy), or (N, Dy) one-hot rows
    params : array_like, shape (parameter_count(dims),)
        Flat parameters, layout W1 | b1 | W2 | b2 (module docstring).
    dims : (Dx, H, Dy)

    Returns
    -------
    cost : float
        :math:`J = -\sum_n \log \hat y_{n, y_n}` (summed, not averaged, over the N rows).
    grad : ndarray, shape (parameter_count(dims),)
        :math:`\partial J/\partial\,\mathrm{params}` in the same layout, in the parameters' dtype.

    Notes
    -----
    With :math:`\delta_2 = \hat y - y` (N×Dy) and :math:`\delta_1 = \delta_2 W_2^\top \odot h
    \odot (1-h)` (N×H):
    :math:`\partial J/\partial W_2 = h^\top\delta_2`, :math:`\partial J/\partial b_2 =
    \mathbf{1}^\top\delta_2`, :math:`\partial J/\partial W_1 = X^\top\delta_1`,
    :math:`\partial J/\partial b_1 = \mathbf{1}^\top\delta_1`.

    Raises
    ------
    ValueError
        Wrong shapes, a params vector of the wrong length, labels out of range, NaN in X.
    """
    W1, b1, W2, b2 = unpack_params(params, dims)  # views of the flat vector
    X = _as_batch(X, Dx=W1.shape[0])
    # forward
    h = sigmoid(X @ W1 + b1)  # (N, H)
    logits = h @ W2 + b2  # (N, Dy)
    cost, delta2 = softmax_cross_entropy(logits, labels)  # delta2 = y_hat - y          (N, Dy)
    # backward
    dW2 = h.T @ delta2  # (H, Dy)
    db2 = delta2.sum(axis=0)  # (Dy,)
    delta1 = (delta2 @ W2.T) * sigmoid_grad(h)  # through the sigmoid, from its value h (N, H)
    dW1 = X.T @ delta1  # (Dx, H)
    db1 = delta1.sum(axis=0)  # (H,)
    grad = np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])  # the layout of params
    return cost, grad.astype(W1.dtype, copy=False)  # in the parameters' precision


def input_gradient(X: ArrayLike, labels: ArrayLike, params: ArrayLike, dims) -> FloatArray:
    r"""Gradient of the cost with respect to the inputs, :math:`\partial J/\partial X` (N×Dx).

    :math:`\partial J/\partial X = \delta_1 W_1^\top` with
    :math:`\delta_1 = (\hat y - y) W_2^\top \odot h \odot (1 - h)`.  Same arguments as
    :func:`forward_backward`.  For a single row ``X`` of shape (Dx,) the result has shape (1, Dx).
    """
    W1, b1, W2, b2 = unpack_params(params, dims)  # views of the flat vector
    X = _as_batch(X, Dx=W1.shape[0])
    h = sigmoid(X @ W1 + b1)  # (N, H)
    _, delta2 = softmax_cross_entropy(h @ W2 + b2, labels)  # y_hat - y                 (N, Dy)
    delta1 = (delta2 @ W2.T) * sigmoid_grad(h)  # (N, H)
    return delta1 @ W1.T  # (N, Dx)


def predict_proba(X: ArrayLike, params: ArrayLike, dims) -> FloatArray:
    """Class probabilities :math:`\\hat y` (N×Dy), rows summing to 1."""
    W1, b1, W2, b2 = unpack_params(params, dims)  # views of the flat vector
    X = _as_batch(X, Dx=W1.shape[0])
    return softmax(sigmoid(X @ W1 + b1) @ W2 + b2, axis=1)


def predict(X: ArrayLike, params: ArrayLike, dims) -> np.ndarray:
    """Most probable class of each row, integers of shape (N,)."""
    W1, b1, W2, b2 = unpack_params(params, dims)  # views of the flat vector
    X = _as_batch(X, Dx=W1.shape[0])
    return np.argmax(sigmoid(X @ W1 + b1) @ W2 + b2, axis=1)  # the largest logit
