r"""Layer primitives: each forward next to its backward, gradients shaped like their variables.

Shape letters: ``N`` rows of a batch, ``D`` inputs of the layer, ``H`` outputs of the layer.
A backward function takes the upstream gradient ``dout`` (∂L/∂out) and what the forward kept, and
returns ∂L/∂(each input).
"""

from __future__ import annotations

import numpy as np

from nnbasics.core.activations import DERIVATIVES, FloatArray

__all__ = ["activation_backward", "affine_backward", "affine_forward"]


def affine_forward(
    x: FloatArray, W: FloatArray, b: FloatArray, out: FloatArray | None = None
) -> FloatArray:
    r"""Affine map of a batch: ``out = x @ W + b``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    W : ndarray, shape (D, H)
    b : ndarray, shape (H,)
    out : ndarray, shape (N, H), optional
        Preallocated result buffer (same dtype as ``x``).

    Returns
    -------
    out : ndarray, shape (N, H)

    Notes
    -----
    Row :math:`n` is :math:`z_n = x_n W + b`, so
    :math:`\partial z_{nh}/\partial W_{dh} = x_{nd}` and :math:`\partial z_{nh}/\partial b_h = 1`:
    see :func:`affine_backward`.
    """
    out = np.matmul(x, W, out=out)
    out += b
    return out


def affine_backward(
    dout: FloatArray, x: FloatArray, W: FloatArray, need_dx: bool = True
) -> tuple[FloatArray | None, FloatArray, FloatArray]:
    r"""Backward of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, H)
        :math:`\partial L/\partial z`.
    x : ndarray, shape (N, D)
        The forward's input.
    W : ndarray, shape (D, H)
        The forward's weights.
    need_dx : bool, default True
        Skip the (N, D) input gradient when it is not needed (the first layer of a network).

    Returns
    -------
    dx : ndarray, shape (N, D), or None
        :math:`\partial L/\partial x = \partial L/\partial z\, W^\top`.
    dW : ndarray, shape (D, H)
        :math:`\partial L/\partial W = x^\top\, \partial L/\partial z` (summed over the batch).
    db : ndarray, shape (H,)
        :math:`\partial L/\partial b = \sum_n \partial L/\partial z_n`.
    """
    dW = x.T @ dout
    db = dout.sum(axis=0)
    dx = dout @ W.T if need_dx else None
    return dx, dW, db


def activation_backward(dout: FloatArray, value: FloatArray, activation: str) -> FloatArray:
    r"""Backward of an elementwise activation ``a = f(z)``, from its *value* ``a``.

    ``dz = dout * f'(z)`` where ``f'(z)`` is computed from ``a``
    (see :mod:`nnbasics.core.activations`).

    Parameters
    ----------
    dout : ndarray, any shape
        :math:`\partial L/\partial a`.
    value : ndarray, same shape
        :math:`a = f(z)`, the forward's output.
    activation : {"sigmoid", "logistic", "tanh", "relu"}

    Returns
    -------
    dz : ndarray, same shape
    """
    return dout * DERIVATIVES[activation](value)
