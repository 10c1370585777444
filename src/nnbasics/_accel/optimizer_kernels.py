"""Compiled parameter updates of the optimisers (numba): one pass per parameter.

:class:`nnbasics.mlp.optimizers.SGD` and :class:`~nnbasics.mlp.optimizers.Adam` update every
parameter in one pass over it, its gradient and its optimiser state, where NumPy needs 2
(plain SGD), 4 (momentum) and ~10 (Adam) passes of one ufunc each.  They are elementwise over
flat, contiguous arrays and know nothing of what the arrays are.  The readable NumPy version of
each formula is the optimiser's ``reference_step``; the tests check that both give the same bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["adam_update", "momentum_update", "sgd_update"]


@njit(nogil=True, cache=True)
def _sgd_kernel(p, g, lr):
    for i in range(p.shape[0]):
        p[i] -= lr * g[i]


def sgd_update(p: np.ndarray, g: np.ndarray, lr: float) -> None:
    """``p <- p - lr * g`` in place (contiguous ``p`` and ``g`` of one shape and dtype)."""
    _sgd_kernel(p.reshape(-1), g.reshape(-1), p.dtype.type(lr))


@njit(nogil=True, cache=True)
def _momentum_kernel(p, v, g, momentum, lr):
    for i in range(p.shape[0]):
        v[i] = momentum * v[i] - lr * g[i]
        p[i] += v[i]


def momentum_update(p: np.ndarray, v: np.ndarray, g: np.ndarray, momentum: float,
                    lr: float) -> None:
    """``v <- momentum * v - lr * g;  p <- p + v`` in place (heavy-ball momentum)."""
    t = p.dtype.type
    _momentum_kernel(p.reshape(-1), v.reshape(-1), g.reshape(-1), t(momentum), t(lr))


@njit(nogil=True, cache=True)
def _nesterov_kernel(p, v, g, momentum, lr):
    for i in range(p.shape[0]):  # the reference step's order of operations, same bits
        step = lr * g[i]
        v[i] = momentum * v[i] - step
        p[i] -= step
        p[i] += momentum * v[i]


def nesterov_update(p: np.ndarray, v: np.ndarray, g: np.ndarray, momentum: float,
                    lr: float) -> None:
    """``v <- momentum * v - lr * g;  p <- p + momentum * v - lr * g`` in place (Nesterov's
    momentum in scikit-learn's form: the step looks ahead along the new velocity)."""
    t = p.dtype.type
    _nesterov_kernel(p.reshape(-1), v.reshape(-1), g.reshape(-1), t(momentum), t(lr))


@njit(nogil=True, cache=True)
def _adam_kernel(p, m, v, g, b1, c1, b2, c2, step, eps):
    for i in range(p.shape[0]):
        gi = g[i]
        m[i] = b1 * m[i] + c1 * gi
        v[i] = b2 * v[i] + c2 * (gi * gi)
        p[i] -= step * (m[i] / (math.sqrt(v[i]) + eps))


def adam_update(p: np.ndarray, m: np.ndarray, v: np.ndarray, g: np.ndarray, beta_1: float,
                beta_2: float, step_size: float, epsilon: float) -> None:
    """Adam's update in place: ``m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g²;
    p <- p - step_size * m / (sqrt(v) + epsilon)`` (``step_size`` already bias-corrected)."""
    t = p.dtype.type
    # 1 - beta is rounded once, from the float64 value (as NumPy does with a Python float)
    _adam_kernel(p.reshape(-1), m.reshape(-1), v.reshape(-1), g.reshape(-1), t(beta_1),
                 t(1 - beta_1), t(beta_2), t(1 - beta_2), t(step_size), t(epsilon))
