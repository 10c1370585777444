r"""The word2vec objectives (CS224n assignment 1, question 3), each with its gradient.

Shape letters: ``V`` vocabulary size, ``d`` vector size, ``K`` negative samples, ``C`` context
words.  ``center_vectors`` (V×d) are the "input" vectors :math:`v` (gensim's ``wv.vectors``,
word2vec.c's ``syn0``); ``outside_vectors`` (V×d) are the "output" vectors :math:`u` (gensim's
``syn1neg``).  Every function here is pure: it returns gradients and never modifies its arguments.
Gradients have the shape and float dtype of the variable they belong to.

Two per-pair objectives, sharing one signature ``(center_vec, outside_idx, outside_vectors) ->
(loss, grad_center_vec, grad_outside_vectors)``:

* :func:`naive_softmax_loss_and_gradient`: :math:`-\log \mathrm{softmax}(U v_c)_o`;
* :func:`neg_sampling_loss_and_gradient`: :math:`-\log\sigma(u_o^\top v_c)
  - \sum_k \log\sigma(-u_k^\top v_c)`, with the negatives bound by :func:`functools.partial`.

and two window models built on either of them: :func:`skipgram` and :func:`cbow`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnbasics.activations import FloatArray, as_float_array, log_softmax, sigmoid

__all__ = [
    "LossAndGradient",
    "cbow",
    "naive_softmax_loss_and_gradient",
    "neg_sampling_loss_and_gradient",
    "skipgram",
]

#: ``f(center_vec (d,), outside_idx, outside_vectors (V, d)) -> (loss, grad_center_vec (d,),
#: grad_outside_vectors (V, d))``
LossAndGradient = Callable[[FloatArray, int, FloatArray], tuple[float, FloatArray, FloatArray]]


def _check_pair(center_vec: ArrayLike, outside_idx: int, outside_vectors: ArrayLike):
    v_c = as_float_array(center_vec)
    U = as_float_array(outside_vectors)
    if U.ndim != 2:
        raise ValueError(f"outside_vectors must be 2-D (V, d), got shape {U.shape}")
    if v_c.shape != (U.shape[1],):
        raise ValueError(f"center_vec must have shape ({U.shape[1]},), got {v_c.shape}")
    if not 0 <= int(outside_idx) < U.shape[0]:
        raise ValueError(f"outside_idx {outside_idx} out of range for {U.shape[0]} words")
    return v_c, int(outside_idx), U


def naive_softmax_loss_and_gradient(
    center_vec: ArrayLike, outside_idx: int, outside_vectors: ArrayLike
) -> tuple[float, FloatArray, FloatArray]:
    r"""Full-softmax loss of predicting word ``o`` from the center vector, and its gradients.

    ``loss = -log_softmax(U @ v_c)[o]``

    Parameters
    ----------
    center_vec : array_like, shape (d,)
        :math:`v_c`, the center word's vector.
    outside_idx : int
        :math:`o`, index in ``[0, V)`` of the outside word to predict.
    outside_vectors : array_like, shape (V, d)
        :math:`U`, one outside vector :math:`u_w` per row.

    Returns
    -------
    loss : float
    grad_center_vec : ndarray, shape (d,)
        :math:`\partial J/\partial v_c = U^\top(\hat y - y)`.
    grad_outside_vectors : ndarray, shape (V, d)
        :math:`\partial J/\partial U = (\hat y - y)\, v_c^\top`.

    Notes
    -----
    With scores :math:`\theta = U v_c` and :math:`\hat y = \mathrm{softmax}(\theta)`,
    :math:`J = -\theta_o + \log\sum_w e^{\theta_w}` and
    :math:`\partial J/\partial\theta = \hat y - y` (softmax fused with cross-entropy, no
    Jacobian).  The log-sum-exp is taken around the maximum score (:func:`log_softmax`), so no
    score magnitude overflows.  Cost :math:`O(Vd)`: for small vocabularies only.

    Examples
    --------
    >>> import numpy as np
    >>> loss, gv, gU = naive_softmax_loss_and_gradient(np.zeros(3), 1, np.ones((4, 3)))
    >>> bool(np.isclose(loss, np.log(4))), gU.shape
    (True, (4, 3))
    """
    v_c, o, U = _check_pair(center_vec, outside_idx, outside_vectors)
    scores = U @ v_c  # (V,)
    logp = log_softmax(scores)
    loss = -float(logp[o])
    dscores = np.exp(logp)  # \hat y
    dscores[o] -= 1.0  # \hat y - y
    grad_center_vec = U.T @ dscores  # (d,)
    grad_outside_vectors = np.outer(dscores, v_c)  # (V, d)
    return loss, grad_center_vec, grad_outside_vectors


def neg_sampling_loss_and_gradient(
    center_vec: ArrayLike,
    outside_idx: int,
    outside_vectors: ArrayLike,
    negative_indices: ArrayLike,
) -> tuple[float, FloatArray, FloatArray]:
    r"""Negative-sampling loss of the pair (c, o) against the given negatives, and its gradients.

    ``loss = -log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c)``

    Parameters
    ----------
    center_vec : array_like, shape (d,)
        :math:`v_c`.
    outside_idx : int
        :math:`o`, the true outside word.
    outside_vectors : array_like, shape (V, d)
        :math:`U`.
    negative_indices : array_like of int, shape (K,)
        The negative words :math:`k`.  A word may appear several times: each occurrence is a
        separate term of the loss, so its gradient rows *add up*.  This function applies no
        sampling rule; the caller decides (the training path skips a negative equal to ``o``).

    Returns
    -------
    loss : float
    grad_center_vec : ndarray, shape (d,)
        :math:`(\sigma(u_o^\top v_c) - 1)\,u_o + \sum_k \sigma(u_k^\top v_c)\,u_k`.
    grad_outside_vectors : ndarray, shape (V, d)
        Row :math:`o` gets :math:`(\sigma(u_o^\top v_c) - 1)\,v_c`, row :math:`k` gets
        :math:`\sigma(u_k^\top v_c)\,v_c` once per occurrence of :math:`k`; other rows are 0.

    Notes
    -----
    Write every term as :math:`-\log\sigma(s_j\, u_j^\top v_c)` with sign :math:`s_o = +1` and
    :math:`s_k = -1`.  Since :math:`\frac{d}{dz}[-\log\sigma(z)] = \sigma(z) - 1`, the derivative
    with respect to the score :math:`u_j^\top v_c` is :math:`g_j = s_j(\sigma(s_j u_j^\top v_c) -
    1)`, and then :math:`\partial J/\partial v_c = \sum_j g_j u_j` and
    :math:`\partial J/\partial u_j \mathrel{+}= g_j v_c`.  The loss uses
    :math:`-\log\sigma(z) = \log(1 + e^{-z})` evaluated by ``np.logaddexp(0, -z)``, finite for every
    finite :math:`z`.  Rows are accumulated with ``np.add.at``: fancy-index assignment
    (``grad[idx] += ...``) would keep only the last of repeated indices.

    Examples
    --------
    >>> import numpy as np
    >>> U = np.arange(12.0).reshape(4, 3) / 10
    >>> _, _, once = neg_sampling_loss_and_gradient(np.ones(3), 0, U, [2])
    >>> _, _, twice = neg_sampling_loss_and_gradient(np.ones(3), 0, U, [2, 2])
    >>> bool(np.allclose(twice[2], 2 * once[2]))
    True
    """
    v_c, o, U = _check_pair(center_vec, outside_idx, outside_vectors)
    negatives = np.asarray(negative_indices, dtype=np.intp).reshape(-1)  # (K,)
    if negatives.size and (negatives.min() < 0 or negatives.max() >= U.shape[0]):
        raise ValueError(f"negative_indices out of range for {U.shape[0]} words")
    rows = np.concatenate(([o], negatives))  # (K+1,): the positive first
    signs = np.ones(rows.size, dtype=U.dtype)
    signs[1:] = -1.0
    u = U[rows]  # (K+1, d)
    z = signs * (u @ v_c)  # (K+1,): s_j u_j·v_c
    loss = float(np.sum(np.logaddexp(0.0, -z)))
    dscores = signs * (sigmoid(z) - 1.0)  # (K+1,): ∂J/∂(u_j·v_c)
    grad_center_vec = dscores @ u  # (d,)
    grad_outside_vectors = np.zeros_like(U)
    np.add.at(grad_outside_vectors, rows, np.outer(dscores, v_c))
    return loss, grad_center_vec, grad_outside_vectors


def _check_window(center_idx, context_idxs, center_vectors, outside_vectors):
    V_in = as_float_array(center_vectors)
    U = as_float_array(outside_vectors)
    if V_in.ndim != 2 or U.ndim != 2 or V_in.shape != U.shape:
        raise ValueError(
            "center_vectors and outside_vectors must be 2-D arrays of the same shape (V, d), got "
            f"{V_in.shape} and {U.shape}"
        )
    idxs: NDArray[np.intp] = np.asarray(context_idxs, dtype=np.intp).reshape(-1)
    n_words = V_in.shape[0]
    if idxs.size and (idxs.min() < 0 or idxs.max() >= n_words):
        raise ValueError(f"outside/context indices out of range for {n_words} words")
    if not 0 <= int(center_idx) < n_words:
        raise ValueError(f"center_idx {center_idx} out of range for {n_words} words")
    return int(center_idx), idxs, V_in, U


def skipgram(
    center_idx: int,
    outside_idxs: Sequence[int] | ArrayLike,
    center_vectors: ArrayLike,
    outside_vectors: ArrayLike,
    loss_and_gradient: LossAndGradient = naive_softmax_loss_and_gradient,
) -> tuple[float, FloatArray, FloatArray]:
    r"""Skip-gram over one window: predict every outside word from the center word's vector.

    ``loss = Σ_{o in outside_idxs} loss_and_gradient(v_c, o, U)[0]``

    Parameters
    ----------
    center_idx : int
        :math:`c`, index of the center word.
    outside_idxs : sequence of int, shape (C,)
        The outside (context) words of the window; repeats count once per occurrence.
    center_vectors : array_like, shape (V, d)
        The center ("input") vectors; row :math:`c` is :math:`v_c`.
    outside_vectors : array_like, shape (V, d)
        The outside ("output") vectors :math:`U`.
    loss_and_gradient : callable, default :func:`naive_softmax_loss_and_gradient`
        A per-pair objective with the signature of the naive-softmax one; for negative sampling
        bind the negatives: ``functools.partial(neg_sampling_loss_and_gradient,
        negative_indices=...)`` (or pass a callable that draws them).

    Returns
    -------
    loss : float
    grad_center_vectors : ndarray, shape (V, d)
        Non-zero only in row :math:`c`: :math:`\sum_o \partial J_o/\partial v_c`.
    grad_outside_vectors : ndarray, shape (V, d)
        :math:`\sum_o \partial J_o/\partial U`.

    Notes
    -----
    :math:`J = \sum_{o} J(v_c, o, U)`, every term evaluated at the same vectors, so the
    gradients are plain sums.  (Training applies one pair at a time; see
    :mod:`nnbasics.word2vec.reference`.)
    """
    c, outside, V_in, U = _check_window(center_idx, outside_idxs, center_vectors, outside_vectors)
    v_c = V_in[c]
    loss = 0.0
    grad_center_vectors = np.zeros_like(V_in)
    grad_outside_vectors = np.zeros_like(U)
    for o in outside:  # one term per outside word of the window (C is small)
        pair_loss, grad_v_c, grad_U = loss_and_gradient(v_c, int(o), U)
        loss += pair_loss
        grad_center_vectors[c] += grad_v_c
        grad_outside_vectors += grad_U
    return loss, grad_center_vectors, grad_outside_vectors


def cbow(
    center_idx: int,
    outside_idxs: Sequence[int] | ArrayLike,
    center_vectors: ArrayLike,
    outside_vectors: ArrayLike,
    loss_and_gradient: LossAndGradient = naive_softmax_loss_and_gradient,
) -> tuple[float, FloatArray, FloatArray]:
    r"""CBOW over one window: predict the center word from the *mean* of the context vectors.

    ``h = mean(center_vectors[outside_idxs]); loss = loss_and_gradient(h, center_idx, U)[0]``

    Parameters
    ----------
    center_idx : int
        The word to predict.
    outside_idxs : sequence of int, shape (C,), C >= 1
        The context words; their rows of ``center_vectors`` (the "input" vectors, gensim's
        ``wv.vectors``) are averaged, as gensim's default ``cbow_mean=1``.
    center_vectors, outside_vectors : array_like, shape (V, d)
        Input and output vectors, as in :func:`skipgram`.
    loss_and_gradient : callable
        A per-pair objective, as in :func:`skipgram`.

    Returns
    -------
    loss : float
    grad_center_vectors : ndarray, shape (V, d)
        Each context row :math:`w` gets :math:`\partial J/\partial h \,/\, C` per occurrence.
    grad_outside_vectors : ndarray, shape (V, d)

    Notes
    -----
    :math:`h = \frac1C\sum_{w} v_w`, so :math:`\partial J/\partial v_w = \frac1C
    \partial J/\partial h` for every occurrence of :math:`w` in the context (repeats accumulate,
    with ``np.add.at``).
    """
    c, context, V_in, U = _check_window(center_idx, outside_idxs, center_vectors, outside_vectors)
    if context.size == 0:
        raise ValueError("cbow needs at least one context word")
    h = V_in[context].mean(axis=0)  # (d,)
    loss, grad_h, grad_outside_vectors = loss_and_gradient(h, c, U)
    grad_center_vectors = np.zeros_like(V_in)
    np.add.at(grad_center_vectors, context, grad_h / context.size)
    return loss, grad_center_vectors, grad_outside_vectors
