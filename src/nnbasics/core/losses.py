"""Softmax cross-entropy: cost and its gradient with respect to the logits, fused.

Shape letters: ``N`` rows of a batch, ``K`` classes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from nnbasics.core.activations import FloatArray, as_float_array, log_softmax

__all__ = ["labels_to_targets", "softmax_cross_entropy"]


def labels_to_targets(
    labels: ArrayLike, n_rows: int, n_classes: int, dtype=np.float64
) -> FloatArray:
    """Turn integer labels (N,) or a label-distribution matrix (N, K) into an N×K target matrix.

    Parameters
    ----------
    labels : array_like
        Either integers in ``[0, K)``, shape (N,), or a matrix of shape (N, K) whose rows are
        one-hot vectors (more generally: non-negative rows summing to 1).
    n_rows, n_classes : int
        N and K.
    dtype : float dtype of the result.

    Returns
    -------
    Y : ndarray, shape (N, K)

    Raises
    ------
    ValueError
        Wrong shape, a label out of range, a non-integer label, or a row that is not a distribution.
    """
    lab = np.asarray(labels)
    if lab.ndim == 1:
        if lab.shape[0] != n_rows:
            raise ValueError(f"labels has {lab.shape[0]} entries but there are {n_rows} rows")
        if lab.dtype.kind == "b" or lab.dtype.kind not in "iuf":
            raise ValueError(f"integer labels expected, got dtype {lab.dtype}")
        if lab.dtype.kind == "f":
            if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
                raise ValueError("labels must be whole numbers (class indices)")
        idx = lab.astype(np.int64)
        bad = (idx < 0) | (idx >= n_classes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"label {lab[i].item()!r} at row {i} is out of range: "
                f"classes are 0..{n_classes - 1}"
            )
        Y = np.zeros((n_rows, n_classes), dtype=dtype)
        Y[np.arange(n_rows), idx] = 1
        return Y
    if lab.ndim == 2:
        if lab.shape != (n_rows, n_classes):
            raise ValueError(
                f"one-hot labels have shape {lab.shape}, expected ({n_rows}, {n_classes})"
            )
        Y = np.asarray(lab, dtype=dtype)
        if not np.all(np.isfinite(Y)) or np.any(Y < 0):
            raise ValueError("label matrix must hold finite non-negative values")
        row_sums = Y.sum(axis=1)
        bad = np.abs(row_sums - 1) > 1e-6 * n_classes
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"label row {i} sums to {row_sums[i]:g}, not 1 (expected one-hot rows)"
            )
        return Y
    raise ValueError(f"labels must be 1-D integers or a 2-D one-hot matrix, got {lab.ndim}-D")


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    reduction: Literal["sum", "mean"] = "sum",
) -> tuple[float, FloatArray]:
    r"""Cross-entropy of ``softmax(logits)`` against labels, and its gradient w.r.t. the logits.

    ``cost = -sum_n log_softmax(logits)[n, y_n]``,  ``dlogits = softmax(logits) - Y``

    Parameters
    ----------
    logits : array_like, shape (N, K) or (K,)
        Unnormalised scores θ.  float32/float64 preserved (the cost is returned as a Python float).
    labels : array_like
        Integer class indices of shape (N,) (a scalar for 1-D logits), or one-hot rows of shape
        (N, K) (``(K,)`` for 1-D logits).  Rows that are any probability distribution are
        accepted too: the gradient formula only needs each row of ``Y`` to sum to 1.
    reduction : {"sum", "mean"}, default "sum"
        Sum over the N rows (the assignment's convention) or average.

    Returns
    -------
    cost : float
    dlogits : ndarray, same shape and dtype as ``logits``
        :math:`\partial\,\mathrm{cost}/\partial\theta = \hat y - y` (divided by N for "mean").

    Notes
    -----
    With :math:`\hat y = \mathrm{softmax}(\theta)` and :math:`\sum_k y_k = 1`,
    :math:`CE = -\sum_k y_k \log\hat y_k = -\sum_k y_k\theta_k + \log\sum_j e^{\theta_j}`, so
    :math:`\partial CE/\partial\theta_i = -y_i + \hat y_i`.  The cost is computed from
    :func:`~nnbasics.core.activations.log_softmax` (never ``log(softmax)``), so it stays finite even
    when the true class's probability underflows.  This fusion holds for softmax outputs paired
    with cross-entropy; a sigmoid output with binary cross-entropy has the same form per unit.

    Raises
    ------
    ValueError
        Shapes that do not agree, labels out of range, non-finite logits.
    """
    theta = as_float_array(logits)
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    single = theta.ndim == 1
    if single:
        theta = theta[None, :]
        lab = np.asarray(labels)
        # a scalar class index becomes (1,), a one-hot vector (K,) becomes (1, K)
        labels = lab.reshape(1) if lab.ndim == 0 else lab.reshape(1, -1)
    if theta.ndim != 2:
        raise ValueError(f"logits must be 1-D or 2-D, got shape {theta.shape}")
    n_rows, n_classes = theta.shape
    if n_classes == 0:
        raise ValueError("logits have no classes (K = 0)")
    if not np.all(np.isfinite(theta)):
        raise ValueError("logits contain NaN or infinity")
    Y = labels_to_targets(labels, n_rows, n_classes, dtype=theta.dtype)
    logp = log_softmax(theta, axis=1)
    cost = -float(np.sum(Y * logp, dtype=np.float64))
    dlogits = np.exp(logp)
    dlogits -= Y
    if reduction == "mean" and n_rows > 0:
        cost /= n_rows
        dlogits /= n_rows
    return cost, (dlogits[0] if single else dlogits)
