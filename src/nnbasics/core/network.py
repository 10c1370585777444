r"""The one-hidden-layer network of the assignment: sigmoid hidden layer, softmax output.

Shape letters: ``N`` rows of the batch, ``Dx`` inputs, ``H`` hidden units, ``Dy`` classes.

.. math::

    h = \sigma(X W_1 + b_1), \qquad \hat y = \mathrm{softmax}(h W_2 + b_2), \qquad
    J = -\sum_{n=1}^{N} \sum_{k} y_{nk} \log \hat y_{nk}

All parameters travel as **one flat vector** ``params`` of length
:func:`parameter_count` ``= (Dx + 1) H + (H + 1) Dy``, laid out as

    ``W1`` (Dx×H, row-major) | ``b1`` (H) | ``W2`` (H×Dy, row-major) | ``b2`` (Dy)

and every gradient comes back in the same layout.  Packing and unpacking happen only in
:func:`unpack_params`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from nnbasics.core.activations import FloatArray, as_float_array, sigmoid, sigmoid_grad, softmax
from nnbasics.core.layers import affine_backward, affine_forward
from nnbasics.core.losses import softmax_cross_entropy

__all__ = [
    "Params",
    "forward_backward",
    "init_params",
    "input_gradient",
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
        Dx, H, Dy = (int(d) for d in dims)
    except (TypeError, ValueError):
        raise ValueError(f"dims must be three integers (Dx, H, Dy), got {dims!r}") from None
    if min(Dx, H, Dy) < 1 or any(int(d) != d for d in dims):
        raise ValueError(f"dims must be three positive integers (Dx, H, Dy), got {tuple(dims)}")
    return Dx, H, Dy


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
    """Split the flat vector into views ``W1, b1, W2, b2`` (the one place the layout is written).

    Raises ``ValueError`` if ``params`` is not 1-D of length :func:`parameter_count` ``(dims)``.
    """
    Dx, H, Dy = _check_dims(dims)
    theta = as_float_array(params)
    expected = parameter_count(dims)
    if theta.ndim != 1:
        raise ValueError(f"params must be a flat 1-D vector, got shape {theta.shape}")
    if theta.shape[0] != expected:
        raise ValueError(
            f"params has length {theta.shape[0]}, but dims {(Dx, H, Dy)} need "
            f"(Dx+1)*H + (H+1)*Dy = {expected}"
        )
    o1 = Dx * H
    o2 = o1 + H
    o3 = o2 + H * Dy
    return Params(
        W1=theta[:o1].reshape(Dx, H),
        b1=theta[o1:o2],
        W2=theta[o2:o3].reshape(H, Dy),
        b2=theta[o3:],
    )


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


def _check_inputs(X: ArrayLike, Dx: int) -> FloatArray:
    arr = as_float_array(X)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"X must be a 2-D array (N, Dx), got shape {arr.shape}")
    if arr.shape[1] != Dx:
        raise ValueError(f"X has {arr.shape[1]} columns, but dims say Dx = {Dx}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("X contains NaN or infinity")
    return arr


def _forward(X: FloatArray, p: Params) -> tuple[FloatArray, FloatArray]:
    """Hidden activations h (N, H) and output logits (N, Dy)."""
    h = sigmoid(affine_forward(X, p.W1, p.b1))
    logits = affine_forward(h, p.W2, p.b2)
    return h, logits


def _prepare(X, params, dims):
    Dx, _, _ = _check_dims(dims)
    p = unpack_params(params, dims)
    Xa = _check_inputs(X, Dx)
    if Xa.dtype != p.W1.dtype:  # compute in the wider of the two precisions
        dtype = np.promote_types(Xa.dtype, p.W1.dtype)
        Xa = Xa.astype(dtype)
        p = Params(*(a.astype(dtype) for a in p))
    return Xa, p


def _backward(X, labels, p: Params, need_dx: bool):
    """Forward, cost and backward; returns (cost, dX or None, dW1, db1, dW2, db2)."""
    h, logits = _forward(X, p)
    cost, dlogits = softmax_cross_entropy(logits, labels)  # dlogits = y_hat - y    (N, Dy)
    dh, dW2, db2 = affine_backward(dlogits, h, p.W2)  # dh = dlogits W2^T        (N, H)
    dz1 = dh * sigmoid_grad(h)  # through the sigmoid, from its value h               (N, H)
    dX, dW1, db1 = affine_backward(dz1, X, p.W1, need_dx=need_dx)
    return cost, dX, dW1, db1, dW2, db2


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
    Xa, p = _prepare(X, params, dims)
    cost, _, dW1, db1, dW2, db2 = _backward(Xa, labels, p, need_dx=False)
    grad = np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])
    return cost, grad.astype(as_float_array(params).dtype, copy=False)


def input_gradient(X: ArrayLike, labels: ArrayLike, params: ArrayLike, dims) -> FloatArray:
    r"""Gradient of the cost with respect to the inputs, :math:`\partial J/\partial X` (N×Dx).

    :math:`\partial J/\partial X = \delta_1 W_1^\top` with
    :math:`\delta_1 = (\hat y - y) W_2^\top \odot h \odot (1 - h)`.  Same arguments as
    :func:`forward_backward`.  For a single row ``X`` of shape (Dx,) the result has shape (1, Dx).
    """
    Xa, p = _prepare(X, params, dims)
    _, dX, *_ = _backward(Xa, labels, p, need_dx=True)
    return dX


def predict_proba(X: ArrayLike, params: ArrayLike, dims) -> FloatArray:
    """Class probabilities :math:`\\hat y` (N×Dy), rows summing to 1."""
    Xa, p = _prepare(X, params, dims)
    _, logits = _forward(Xa, p)
    return softmax(logits, axis=1)


def predict(X: ArrayLike, params: ArrayLike, dims) -> np.ndarray:
    """Most probable class of each row, integers of shape (N,)."""
    Xa, p = _prepare(X, params, dims)
    _, logits = _forward(Xa, p)
    return np.argmax(logits, axis=1)
