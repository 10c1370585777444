r"""The word2vec objectives (CS224n assignment 1, question 3), each with its gradient.

Shape letters: ``V`` vocabulary size, ``d`` vector size, ``K`` negative samples, ``C`` context
words.  ``center_vectors`` (V×d) are the "input" vectors :math:`v` (gensim's ``wv.vectors``,
word2vec.c's ``syn0``); ``outside_vectors`` (V×d) are the "output" vectors :math:`u` (gensim's
``syn1neg``).  For hierarchical softmax the output vectors are those of the *inner nodes* of a
binary tree over the words (gensim's ``syn1``, V×d with row ``V-1`` unused).  Every function
here is pure: it returns gradients and never modifies its arguments.  Gradients have the shape
and float dtype of the variable they belong to.

Three per-pair objectives, sharing one signature ``(center_vec, outside_idx, outside_vectors) ->
(loss, grad_center_vec, grad_outside_vectors)``:

* :func:`naive_softmax_loss_and_gradient`: :math:`-\log \mathrm{softmax}(U v_c)_o`;
* :func:`neg_sampling_loss_and_gradient`: :math:`-\log\sigma(u_o^\top v_c)
  - \sum_k \log\sigma(-u_k^\top v_c)`, with the negatives bound by :func:`functools.partial`;
* :func:`hierarchical_softmax_loss_and_gradient`: :math:`-\sum_j \log\sigma((1 - 2 b_j)\,
  u_{n_j}^\top v_c)` along word ``o``'s path in the Huffman tree (codes and points bound by
  :func:`functools.partial`).

and two window models built on any of them: :func:`skipgram` and :func:`cbow`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnbasics.core.activations import FloatArray, as_float_array, log_softmax, sigmoid

__all__ = [
    "LossAndGradient",
    "cbow",
    "hierarchical_softmax_loss_and_gradient",
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


def hierarchical_softmax_loss_and_gradient(
    center_vec: ArrayLike,
    outside_idx: int,
    node_vectors: ArrayLike,
    codes: Sequence[ArrayLike],
    points: Sequence[ArrayLike],
) -> tuple[float, FloatArray, FloatArray]:
    r"""Hierarchical-softmax loss of predicting word ``o``: the turns along its tree path.

    ``loss = -Σ_j log σ((1 - 2 codes[o][j]) * node_vectors[points[o][j]] · v_c)``

    Parameters
    ----------
    center_vec : array_like, shape (d,)
        :math:`v_c` (skip-gram) or the context mean :math:`h` (CBOW).
    outside_idx : int
        :math:`o`, the word to predict, index into ``codes`` and ``points``.
    node_vectors : array_like, shape (V, d)
        One vector :math:`u_n` per inner node :math:`n` of the tree (gensim's ``syn1``; only
        rows ``0 .. V-2`` can be on a path).
    codes : sequence of array_like of {0, 1}, length V
        ``codes[w]`` is word ``w``'s path from the root: :math:`b_j` is the child taken at the
        :math:`j`-th node (e.g. :attr:`nnbasics.word2vec.vocab.HuffmanTree.codes`).
    points : sequence of array_like of int, length V
        ``points[w]`` is the inner nodes :math:`n_j` of that path, root first, same length.

    Returns
    -------
    loss : float
    grad_center_vec : ndarray, shape (d,)
        :math:`\sum_j (\sigma(u_{n_j}^\top v_c) - 1 + b_j)\, u_{n_j}`.
    grad_outside_vectors : ndarray, shape (V, d)
        Row :math:`n_j` gets :math:`(\sigma(u_{n_j}^\top v_c) - 1 + b_j)\, v_c`; other rows 0.

    Notes
    -----
    The tree gives word :math:`o` the probability :math:`p(o \mid v_c) = \prod_j
    \sigma(s_j\, u_{n_j}^\top v_c)` with :math:`s_j = 1 - 2 b_j`: at each node the walk turns to
    child 0 with probability :math:`\sigma(u_n^\top v_c)` and to child 1 with
    :math:`\sigma(-u_n^\top v_c) = 1 - \sigma(u_n^\top v_c)`, so the probabilities of all
    :math:`V` leaves sum to 1 (a softmax over the vocabulary at :math:`O(d \log V)` per word).
    The loss :math:`J = -\log p(o \mid v_c)` has, by :math:`\frac{d}{dz}[-\log\sigma(z)] =
    \sigma(z) - 1`, the score derivative :math:`g_j = s_j(\sigma(s_j u_{n_j}^\top v_c) - 1) =
    \sigma(u_{n_j}^\top v_c) - (1 - b_j)`, the same as a negative-sampling term with label
    :math:`1 - b_j`; word2vec.c and gensim step by :math:`-\alpha g_j`, written there
    ``g = (1 - code - f) * alpha`` with ``f = sigmoid(dot)``.  The nodes of one path are
    distinct.  The loss uses ``np.logaddexp(0, -z)``, finite
    for every finite score (word2vec.c and gensim instead skip a node whose score is beyond
    :math:`\pm 6`).

    Examples
    --------
    >>> import numpy as np
    >>> codes, points = [[0], [1]], [[0], [0]]       # two words, one inner node
    >>> U, v = np.array([[0.3, -1.0], [0.0, 0.0]]), np.array([1.0, 2.0])
    >>> p = [np.exp(-hierarchical_softmax_loss_and_gradient(v, w, U, codes, points)[0])
    ...      for w in (0, 1)]
    >>> bool(np.isclose(sum(p), 1.0))
    True
    """
    v_c, o, U = _check_pair(center_vec, outside_idx, node_vectors)
    if len(codes) != U.shape[0] or len(points) != U.shape[0]:
        raise ValueError(
            f"codes and points must hold one path per word ({U.shape[0]}), got {len(codes)} "
            f"and {len(points)}"
        )
    code = np.asarray(codes[o], dtype=np.intp).reshape(-1)  # (L,)
    nodes = np.asarray(points[o], dtype=np.intp).reshape(-1)  # (L,)
    if code.shape != nodes.shape:
        raise ValueError(f"word {o}: code and point paths differ in length")
    if code.size and not np.all((code == 0) | (code == 1)):
        raise ValueError(f"word {o}: codes must be 0 or 1")
    if nodes.size and (nodes.min() < 0 or nodes.max() >= U.shape[0]):
        raise ValueError(f"word {o}: points out of range for {U.shape[0]} node vectors")
    signs = (1 - 2 * code).astype(U.dtype)  # (L,): s_j = +1 for code 0, -1 for code 1
    u = U[nodes]  # (L, d)
    z = signs * (u @ v_c)  # (L,): s_j u_{n_j}·v_c
    loss = float(np.sum(np.logaddexp(0.0, -z)))
    dscores = signs * (sigmoid(z) - 1.0)  # (L,): ∂J/∂(u_{n_j}·v_c) = σ(u·v) - (1 - b_j)
    grad_center_vec = dscores @ u  # (d,)
    grad_outside_vectors = np.zeros_like(U)
    # a tree path visits distinct nodes; np.add.at keeps a hand-made path that repeats one right
    np.add.at(grad_outside_vectors, nodes, np.outer(dscores, v_c))
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
    mean: bool = True,
) -> tuple[float, FloatArray, FloatArray]:
    r"""CBOW over one window: predict the center word from the *mean* (or the sum) of the
    context vectors.

    ``h = mean(center_vectors[outside_idxs]); loss = loss_and_gradient(h, center_idx, U)[0]``
    (``h = sum(...)`` with ``mean=False``, gensim's ``cbow_mean=0``)

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
    mean : bool, default True
        Average the context vectors (gensim's default ``cbow_mean=1``) or add them up
        (``cbow_mean=0``).

    Returns
    -------
    loss : float
    grad_center_vectors : ndarray, shape (V, d)
        Each context row :math:`w` gets :math:`\partial J/\partial h \,/\, C` per occurrence
        (the whole :math:`\partial J/\partial h` with ``mean=False``).
    grad_outside_vectors : ndarray, shape (V, d)

    Notes
    -----
    :math:`h = \frac1C\sum_{w} v_w`, so :math:`\partial J/\partial v_w = \frac1C
    \partial J/\partial h` for every occurrence of :math:`w` in the context (repeats accumulate,
    with ``np.add.at``).  With the sum :math:`h = \sum_w v_w`,
    :math:`\partial J/\partial v_w = \partial J/\partial h`.
    """
    c, context, V_in, U = _check_window(center_idx, outside_idxs, center_vectors, outside_vectors)
    if context.size == 0:
        raise ValueError("cbow needs at least one context word")
    h = V_in[context].mean(axis=0) if mean else V_in[context].sum(axis=0)  # (d,)
    loss, grad_h, grad_outside_vectors = loss_and_gradient(h, c, U)
    grad_center_vectors = np.zeros_like(V_in)
    np.add.at(grad_center_vectors, context, grad_h / context.size if mean else grad_h)
    return loss, grad_center_vectors, grad_outside_vectors
