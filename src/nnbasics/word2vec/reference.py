r"""The explicit (slow) training path: SGD on one batch of sentences, built on the objectives.

Shape letters: ``V`` vocabulary, ``d`` vector size, ``n`` tokens in the batch, ``m`` sentences.

:func:`train_batch` (negative sampling, or the full softmax with ``negative=0``) and
:func:`train_batch_hs` (hierarchical softmax) are what the compiled kernel
(``nnbasics._accel.word2vec_kernels``) speeds up, and the model's path for the full softmax.  Both
loop over words in Python, so they are meant for small corpora and vocabularies.  They take exact
SGD steps on the objectives of :mod:`~nnbasics.word2vec.objectives`, one (center, outside) pair at
a time, on one thread; the compiled kernel follows word2vec.c and gensim instead where they differ
(see its module notes): a skip-gram window's pairs share their outputs, and a CBOW step gives each
context vector the whole gradient at the mean ``h`` (gensim's ``cbow_mean=1``), not the exact
``1/C`` share that :func:`cbow` returns.

Per center word (after subsampling), in order:

1. the effective window ``b`` is drawn uniform in ``[1, window]``;
2. skip-gram: for each context word ``o`` within ``b`` positions (same sentence, subsampled
   words removed first, as word2vec.c), one *pair update*: the negatives are drawn, the gradient
   of the pair's whole loss (positive + negatives) is computed by :func:`skipgram` at the current
   vectors, then both vector sets take the SGD step;
   CBOW: one update predicting the center from the mean of its context vectors (:func:`cbow`),
   skipped when the context is empty.

Negative sampling rule: ``negative`` words are drawn independently, *with replacement*, from the
unigram^0.75 noise distribution (:func:`~nnbasics.word2vec.vocab.sample_negatives`); a draw equal
to the positive target is skipped, not redrawn (as word2vec.c), so a pair may have fewer than
``negative`` negatives.  A word drawn twice contributes twice (its gradient rows add up).

Learning rate: the token at position ``i`` of the batch (counted before subsampling) trains with
``alpha_start + (alpha_end - alpha_start) * i / n``; the step of input vector ``w`` (the center
word in skip-gram, each context word in CBOW) is further multiplied by ``lock_factors[w]`` when
given (gensim's ``vectors_lockf``: 0 freezes the vector), the output vectors' is not.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numpy.typing import NDArray

from nnbasics.word2vec.objectives import (
    cbow,
    hierarchical_softmax_loss_and_gradient,
    naive_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
    skipgram,
)
from nnbasics.word2vec.vocab import HuffmanTree, reduced_windows, sample_negatives

__all__ = ["train_batch", "train_batch_hs"]


def train_batch(
    center_vectors: NDArray[np.float32],
    outside_vectors: NDArray[np.float32],
    tokens: NDArray[np.int32],
    sentence_ends: NDArray[np.int64],
    keep_probability: NDArray[np.float32],
    noise_cum_table: NDArray[np.int64],
    sg: bool,
    window: int,
    negative: int,
    alpha_start: float,
    alpha_end: float,
    seed: int,
    shrink_windows: bool = True,
    cbow_mean: bool = True,
    lock_factors: NDArray[np.float32] | None = None,
) -> tuple[float, int, int]:
    r"""Train both vector sets in place on one batch of sentences (the explicit reference path).

    Parameters
    ----------
    center_vectors : ndarray of float32, shape (V, d)
        Input vectors (``wv.vectors``), updated in place.
    outside_vectors : ndarray of float32, shape (V, d)
        Output vectors (``syn1neg``), updated in place.
    tokens : ndarray of int32, shape (n,)
        Vocabulary indices of the batch's sentences, concatenated (out-of-vocabulary words
        already dropped, subsampling not yet applied).
    sentence_ends : ndarray of int64, shape (m,)
        Exclusive end offset of each sentence in ``tokens``.
    keep_probability : ndarray of float32, shape (V,)
        Subsampling: each occurrence of word ``w`` is kept with probability
        ``keep_probability[w]``.
    noise_cum_table : ndarray of int64, shape (V,)
        Cumulative noise table (:func:`~nnbasics.word2vec.vocab.noise_cum_table`).
    sg : bool
        True for skip-gram, False for CBOW (mean of the context vectors).
    window : int >= 1
        Largest window; each center draws its own in ``[1, window]``.
    negative : int >= 0
        Negatives per positive pair; **0 trains with the full softmax**
        (:func:`naive_softmax_loss_and_gradient`, cost :math:`O(Vd)` per pair: small
        vocabularies only).
    alpha_start, alpha_end : float
        Learning rate at the first and (just past) the last token of the batch.
    seed : int
        Seeds this call's generator (subsampling, windows, negatives).
    shrink_windows : bool, default True
        Draw each center's window in ``[1, window]``, or (False) always use ``window``.
    cbow_mean : bool, default True
        CBOW from the mean of the context vectors, or (False) their sum (``cbow(mean=False)``,
        gensim's ``cbow_mean=0``), with the exact gradient either way.
    lock_factors : ndarray of float32, shape (V,), optional
        Factor of each word's input-vector steps (gensim's ``vectors_lockf``); None: all 1.

    Returns
    -------
    loss_sum : float
        Sum of every loss term of the batch (each positive and each negative, or the full-softmax
        loss of each pair), accumulated in float64.
    n_loss_terms : int
        Positive pairs trained (skip-gram: center-context pairs; CBOW: centers predicted).
    n_effective_words : int
        Words kept after subsampling.

    Notes
    -----
    One pair update with learning rate :math:`\alpha` is
    :math:`v_w \leftarrow v_w - f_w\,\alpha\,\partial J/\partial v_w` (:math:`f_w` =
    ``lock_factors[w]``, 1 by default) and
    :math:`U \leftarrow U - \alpha\,\partial J/\partial U`, both gradients taken at the vectors
    as they were before the update.
    """
    _check_batch(center_vectors, outside_vectors, tokens, sentence_ends, window, negative,
                 lock_factors)
    rng = np.random.default_rng(seed)
    return _train_windows(
        center_vectors, outside_vectors, tokens, sentence_ends, keep_probability, sg, window,
        alpha_start, alpha_end, rng,
        lambda target: _objective(target, negative, noise_cum_table, rng), shrink_windows,
        cbow_mean, lock_factors,
    )


def train_batch_hs(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    tokens: NDArray[np.int32],
    sentence_ends: NDArray[np.int64],
    keep_probability: NDArray[np.float32],
    tree: HuffmanTree,
    sg: bool,
    window: int,
    alpha_start: float,
    alpha_end: float,
    seed: int,
    shrink_windows: bool = True,
    cbow_mean: bool = True,
    lock_factors: NDArray[np.float32] | None = None,
) -> tuple[float, int, int]:
    r"""Train the word vectors and the tree's node vectors on one batch, hierarchical softmax.

    The same walk over the batch as :func:`train_batch` (subsampling, reduced windows, one exact
    SGD step per skip-gram pair or CBOW window, learning rate linear in the token position), with
    the per-pair objective :func:`hierarchical_softmax_loss_and_gradient` along the target's
    path in ``tree``.  No negatives are drawn.

    Parameters
    ----------
    center_vectors : ndarray of float32, shape (V, d)
        Input vectors (``wv.vectors``), updated in place.
    node_vectors : ndarray of float32, shape (V, d)
        Inner-node vectors of the tree (gensim's ``syn1``), updated in place.
    tokens, sentence_ends, keep_probability, sg, window, alpha_start, alpha_end, seed, \
    shrink_windows, cbow_mean, lock_factors
        As in :func:`train_batch`.
    tree : HuffmanTree
        Each word's path (:func:`~nnbasics.word2vec.vocab.huffman_tree` of the counts).

    Returns
    -------
    loss_sum : float
        Sum of every node term :math:`-\log\sigma(\pm u_n^\top v)` of the batch, in float64.
    n_loss_terms : int
        Positive pairs trained (skip-gram: center-context pairs; CBOW: centers predicted).
    n_effective_words : int
        Words kept after subsampling.
    """
    _check_batch(center_vectors, node_vectors, tokens, sentence_ends, window, 0, lock_factors)
    if tree.offsets.shape != (center_vectors.shape[0] + 1,):
        raise ValueError(
            f"the tree has {tree.offsets.size - 1} words, the vectors {center_vectors.shape[0]}"
        )
    objective = partial(
        hierarchical_softmax_loss_and_gradient, codes=tree.codes, points=tree.points
    )
    return _train_windows(
        center_vectors, node_vectors, tokens, sentence_ends, keep_probability, sg, window,
        alpha_start, alpha_end, np.random.default_rng(seed), lambda target: objective,
        shrink_windows, cbow_mean, lock_factors,
    )


def _train_windows(
    center_vectors, outside_vectors, tokens, sentence_ends, keep_probability, sg, window,
    alpha_start, alpha_end, rng: np.random.Generator, objective_for, shrink_windows=True,
    cbow_mean=True, lock_factors=None,
) -> tuple[float, int, int]:
    """The walk shared by both paths; ``objective_for(target)`` gives each update's objective."""
    n = tokens.size
    loss_sum = 0.0
    n_pairs = 0
    n_kept = 0
    start = 0
    for end in sentence_ends.tolist():
        positions = np.arange(start, end)
        kept = rng.random(end - start) < keep_probability[tokens[start:end]]
        positions = positions[kept]  # subsampled words are removed before windows are formed
        words = tokens[positions]
        n_kept += words.size
        windows = (reduced_windows(words.size, window, rng) if shrink_windows
                   else np.full(words.size, window))  # gensim's shrink_windows=False: no draw
        for p in range(words.size):
            alpha = alpha_start + (alpha_end - alpha_start) * positions[p] / n
            b = int(windows[p])
            center = int(words[p])
            context = np.concatenate((words[max(0, p - b) : p], words[p + 1 : p + 1 + b]))
            if sg:
                for o in context.tolist():
                    loss, grad_center, grad_outside = skipgram(
                        center, [o], center_vectors, outside_vectors, objective_for(o)
                    )
                    _inplace_sgd_step(center_vectors, outside_vectors, grad_center, grad_outside,
                                      alpha, lock_factors)
                    loss_sum += loss
                    n_pairs += 1
            elif context.size:
                loss, grad_center, grad_outside = cbow(
                    center, context, center_vectors, outside_vectors, objective_for(center),
                    mean=cbow_mean,
                )
                _inplace_sgd_step(center_vectors, outside_vectors, grad_center, grad_outside, alpha,
                                  lock_factors)
                loss_sum += loss
                n_pairs += 1
        start = end
    return float(loss_sum), n_pairs, n_kept


def _objective(target: int, negative: int, noise_cum_table, rng: np.random.Generator):
    """The per-pair objective predicting ``target``: full softmax, or its own fresh negatives."""
    if negative == 0:
        return naive_softmax_loss_and_gradient
    drawn = sample_negatives(noise_cum_table, negative, rng)
    negatives = drawn[drawn != target]  # word2vec.c's rule: skip a draw equal to the target
    return partial(neg_sampling_loss_and_gradient, negative_indices=negatives)


def _inplace_sgd_step(center_vectors, outside_vectors, grad_center, grad_outside, alpha,
                      lock_factors=None) -> None:
    """``vectors -= alpha * grad`` on both sets, touching only the rows with a gradient; input
    row ``w``'s step times ``lock_factors[w]`` if given."""
    for vectors, grad in ((center_vectors, grad_center), (outside_vectors, grad_outside)):
        rows = np.flatnonzero(grad.any(axis=1))
        step = np.float32(alpha) * grad[rows].astype(vectors.dtype, copy=False)
        if lock_factors is not None and vectors is center_vectors:
            step *= lock_factors[rows, None]
        vectors[rows] -= step


def _check_batch(center_vectors, outside_vectors, tokens, sentence_ends, window, negative,
                 lock_factors=None) -> None:
    if center_vectors.shape != outside_vectors.shape or center_vectors.ndim != 2:
        raise ValueError("center_vectors and outside_vectors must share one (V, d) shape")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if negative < 0:
        raise ValueError(f"negative must be >= 0, got {negative}")
    ends = sentence_ends
    if tokens.size and not ends.size:
        raise ValueError("sentence_ends is empty but tokens is not")
    if ends.size and (ends[-1] != tokens.size or ends[0] < 0 or np.any(np.diff(ends) < 0)):
        raise ValueError("sentence_ends must be non-decreasing and end at len(tokens)")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= center_vectors.shape[0]):
        raise ValueError("tokens hold an index outside the vocabulary")
    if lock_factors is not None and np.shape(lock_factors) != (center_vectors.shape[0],):
        raise ValueError(f"lock_factors must hold one factor per word, shape "
                         f"({center_vectors.shape[0]},), got {np.shape(lock_factors)}")
