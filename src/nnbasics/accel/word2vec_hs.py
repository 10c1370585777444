r"""The compiled hierarchical-softmax kernel (``hs=1``), skip-gram and CBOW (numba).

The model (:mod:`nnbasics.word2vec.model`) streams the corpus and calls :func:`train_batch_hs`
once per batch, as it calls the negative-sampling kernel ``_inner.train_batch``; the explicit
path with the same signature is :func:`nnbasics.word2vec.reference.train_batch_hs`.  Everything
that runs per word is compiled with ``numba.njit(nogil=True, cache=True)``, so several Python
threads can share a batch and the vectors lock-free ("Hogwild", as word2vec.c and gensim).

Shape letters: ``V`` vocabulary size, ``d`` vector size, ``n`` tokens of a batch, ``m`` context
words of one window (``m <= 2 * window``), ``L`` nodes on a word's path (``L <= V - 1``).

One step
--------
The word to predict is ``w``, with the path ``points[w] = n_1 .. n_L`` and ``codes[w] = b_1 ..
b_L`` of :class:`~nnbasics.word2vec.vocab.HuffmanTree` (flat arrays ``point_flat``,
``code_flat`` and ``offsets``).  For an input vector ``x`` the step's loss is
``sum_j -log sigmoid((1 - 2 b_j) u_{n_j} . x)`` and, with ``g_j = alpha (1 - b_j -
sigmoid(u_{n_j} . x))`` (gensim's ``g = (1 - word_code[b] - f) * alpha``), the step is
``u_{n_j} += g_j x`` and ``x += sum_j g_j u_{n_j}``, every product taken with the vectors as
they were before the step: one SGD step on
:func:`nnbasics.word2vec.objectives.hierarchical_softmax_loss_and_gradient` (the nodes of a path
are distinct, so the order of the node updates does not matter).

* **skip-gram**: as word2vec.c and gensim, for each context word ``c_j`` of the window one step
  with input ``x = center_vectors[c_j]`` predicting the center word ``w`` (the same pairs as
  predicting each context word from the center, the other way round).
* **CBOW** (gensim's ``cbow_mean=1``): one step with input the mean ``h`` of the context vectors;
  each context vector receives the whole input step ``sum_j g_j u_{n_j}`` (not divided by ``m``),
  as word2vec.c and gensim do (see the notes of ``nnbasics.accel.word2vec_ns``).

Unlike word2vec.c and gensim, a node whose score is beyond ``±6`` is not skipped: the sigmoid
and the loss are computed exactly (in float32, without overflow), as in the negative-sampling
kernel.

Sampling rules (from this module's own splitmix64 generator, seeded by ``seed`` and the thread's
stream): subsampling keeps a token of word ``i`` with
probability ``keep_probability[i]``, before windows are formed; each center uses a reduced
window ``b`` uniform in ``[1, window]``; the learning rate is linear in the token position in the
batch, ``alpha_start`` at the first token to ``alpha_end`` at the last.  With ``n_threads > 1``
the batch is cut into contiguous token ranges, a cut acting as a sentence end; with
``n_threads == 1`` and a given seed the result is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

# the thread pool (shared, lock-guarded) and the argument checks are the negative-sampling
# kernel's; the random generator below is this kernel's own stream
from nnbasics.accel.word2vec_ns import _check_array, run_split
from nnbasics.word2vec.vocab import HuffmanTree

__all__ = ["cbow_step_hs", "sg_step_hs", "train_batch_hs", "train_range_hs"]

_U64 = np.uint64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


# ----------------------------------------------------------------------------------------------
# random numbers: splitmix64 (Steele, Lea and Flood 2014), state in a 1-element uint64 array
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _next_u64(state: NDArray[np.uint64]) -> np.uint64:
    """Advance the generator and return 64 random bits."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


@njit(nogil=True, cache=True)
def _uniform(state: NDArray[np.uint64]) -> float:
    """A float64 uniform in [0, 1) from the top 53 bits."""
    return float(_next_u64(state) >> _U64(11)) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True)
def _seed_state(seed: int, stream: int) -> NDArray[np.uint64]:
    """The generator state of thread ``stream`` for ``seed`` (one splitmix64 round of mixing)."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = _U64(seed) + _U64(stream + 1) * _GOLDEN
    state[0] = _next_u64(state)
    return state


# ----------------------------------------------------------------------------------------------
# one step: skip-gram pair and CBOW window
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True, inline="always")
def _node_terms(score: np.float32, code: np.uint8) -> tuple[np.float32, np.float32]:
    """Return ``(1 - code - sigmoid(score), -log sigmoid((1 - 2 code) score))`` in float32.

    With ``z = (1 - 2 code) score``: ``1 - code - sigmoid(score) = ±sigmoid(-z)`` (+ for code 0)
    and the loss is the softplus ``max(-z, 0) + log1p(exp(-|z|))``; neither can overflow.
    """
    turn_zero = code == 0
    z = score if turn_zero else -score
    e = np.float32(math.exp(-abs(z)))  # in (0, 1]
    one = np.float32(1.0)
    sig_minus_z = e / (one + e) if z >= 0 else one / (one + e)
    loss = max(-z, np.float32(0.0)) + np.float32(math.log1p(e))
    return (sig_minus_z if turn_zero else -sig_minus_z), loss


@njit(nogil=True, cache=True, fastmath=True)
def sg_step_hs(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    input_row: int,
    code_flat: NDArray[np.uint8],
    point_flat: NDArray[np.int32],
    path_start: int,
    path_stop: int,
    alpha: float,
    dinput: NDArray[np.float32],
) -> float:
    """One skip-gram pair, in place: input ``x = center_vectors[input_row]``, the path
    ``[path_start, path_stop)`` of the flat tree arrays; return the pair's loss (float64).

    ``g_j = alpha (1 - b_j - sigmoid(u_{n_j} . x))``; ``x += sum_j g_j u_{n_j}`` (old ``u``) and
    ``u_{n_j} += g_j x`` (old ``x``).  Scratch: ``dinput`` (d,) float32.
    """
    d = center_vectors.shape[1]
    for i in range(d):
        dinput[i] = 0.0
    loss = 0.0
    for b in range(path_start, path_stop):
        node = point_flat[b]
        score = np.float32(0.0)
        for i in range(d):
            score += center_vectors[input_row, i] * node_vectors[node, i]
        residual, term = _node_terms(score, code_flat[b])
        loss += term
        g = np.float32(alpha) * residual
        for i in range(d):
            dinput[i] += g * node_vectors[node, i]  # the node's vector before its update
            node_vectors[node, i] += g * center_vectors[input_row, i]
    for i in range(d):
        center_vectors[input_row, i] += dinput[i]
    return loss


@njit(nogil=True, cache=True, fastmath=True)
def cbow_step_hs(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    contexts: NDArray[np.int32],
    n_contexts: int,
    code_flat: NDArray[np.uint8],
    point_flat: NDArray[np.int32],
    path_start: int,
    path_stop: int,
    alpha: float,
    hidden: NDArray[np.float32],
    dhidden: NDArray[np.float32],
    cbow_mean: bool = True,
) -> float:
    """One CBOW window, in place: input ``h = mean_j center_vectors[contexts[j]]``; return loss.

    ``u_{n_j} += g_j h`` and every context vector gets ``sum_j g_j u_{n_j}`` (old ``u``), the
    whole step at ``h`` (gensim's ``cbow_mean=1``).  With ``cbow_mean=False`` (gensim's
    ``cbow_mean=0``) ``h`` is the sum of the contexts and each gets ``sum_j g_j u_{n_j} / m``.
    Scratch: ``hidden``, ``dhidden`` (d,).
    """
    d = center_vectors.shape[1]
    for i in range(d):
        hidden[i] = 0.0
        dhidden[i] = 0.0
    for j in range(n_contexts):
        row = contexts[j]
        for i in range(d):
            hidden[i] += center_vectors[row, i]
    inv_m = np.float32(1.0 / n_contexts)
    if cbow_mean:
        for i in range(d):
            hidden[i] *= inv_m
    loss = 0.0
    for b in range(path_start, path_stop):
        node = point_flat[b]
        score = np.float32(0.0)
        for i in range(d):
            score += hidden[i] * node_vectors[node, i]
        residual, term = _node_terms(score, code_flat[b])
        loss += term
        g = np.float32(alpha) * residual
        for i in range(d):
            dhidden[i] += g * node_vectors[node, i]
            node_vectors[node, i] += g * hidden[i]
    if not cbow_mean:  # gensim's cbow_mean=0: the step at the sum, shared by the m contexts
        for i in range(d):
            dhidden[i] *= inv_m
    for j in range(n_contexts):  # a context word that occurs twice gets the step twice
        row = contexts[j]
        for i in range(d):
            center_vectors[row, i] += dhidden[i]
    return loss


# ----------------------------------------------------------------------------------------------
# a range of the batch
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def train_range_hs(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    tokens: NDArray[np.int32],
    sentence_ends: NDArray[np.int64],
    start: int,
    stop: int,
    keep_probability: NDArray[np.float32],
    code_flat: NDArray[np.uint8],
    point_flat: NDArray[np.int32],
    offsets: NDArray[np.int64],
    sg: bool,
    window: int,
    alpha_start: float,
    alpha_end: float,
    n_batch_tokens: int,
    seed: int,
    shrink_windows: bool,
    cbow_mean: bool,
    stream: int,
) -> tuple[float, int, int]:
    """Train on ``tokens[start:stop]``; return (loss sum, positive pairs, kept words).

    Sentences are those of ``sentence_ends`` cut to ``[start, stop)``.  The learning rate at batch
    position ``p`` is ``alpha_start + (alpha_end - alpha_start) p / n_batch_tokens``.
    """
    d = center_vectors.shape[1]
    state = _seed_state(seed, stream)
    kept = np.empty(max(stop - start, 1), dtype=np.int32)  # kept words of the current sentence
    kept_pos = np.empty(max(stop - start, 1), dtype=np.int64)  # and their batch positions
    # at most 2 * window context words, and never more than the range holds
    contexts = np.empty(max(min(2 * window, stop - start - 1), 1), dtype=np.int32)
    hidden = np.empty(d, dtype=np.float32)
    dhidden = np.empty(d, dtype=np.float32)
    alpha_slope = (alpha_end - alpha_start) / max(n_batch_tokens, 1)

    loss = 0.0
    n_pairs = 0
    n_kept_total = 0
    sentence = np.searchsorted(sentence_ends, start, side="right")  # first sentence ending > start
    begin = start
    while begin < stop:
        end = stop
        if sentence < sentence_ends.shape[0] and sentence_ends[sentence] < stop:
            end = sentence_ends[sentence]
        sentence += 1
        n_kept = 0
        for p in range(begin, end):  # subsampling
            word = tokens[p]
            if _uniform(state) < keep_probability[word]:
                kept[n_kept] = word
                kept_pos[n_kept] = p
                n_kept += 1
        n_kept_total += n_kept
        for c in range(n_kept):
            # reduced window, uniform in [1, window]; gensim's shrink_windows=False: no draw
            b = 1 + np.int64(_next_u64(state) % _U64(window)) if shrink_windows else window
            n_ctx = 0
            for j in range(max(c - b, 0), min(c + b + 1, n_kept)):
                if j != c:
                    contexts[n_ctx] = kept[j]
                    n_ctx += 1
            if n_ctx == 0:
                continue
            alpha = alpha_start + alpha_slope * kept_pos[c]
            word = kept[c]
            path_start, path_stop = offsets[word], offsets[word + 1]
            if sg:
                for j in range(n_ctx):
                    loss += sg_step_hs(center_vectors, node_vectors, contexts[j], code_flat,
                                       point_flat, path_start, path_stop, alpha, dhidden)
                n_pairs += n_ctx
            else:
                loss += cbow_step_hs(center_vectors, node_vectors, contexts, n_ctx, code_flat,
                                     point_flat, path_start, path_stop, alpha, hidden, dhidden,
                                     cbow_mean)
                n_pairs += 1
        begin = end
    return loss, n_pairs, n_kept_total


# ----------------------------------------------------------------------------------------------
# the Python entry point
# ----------------------------------------------------------------------------------------------


def _validate(center_vectors, node_vectors, tokens, sentence_ends, keep_probability, tree,
              window, n_threads, alpha_start, alpha_end) -> None:
    for name, arr in (("center_vectors", center_vectors), ("node_vectors", node_vectors)):
        _check_array(name, arr, np.float32, 2)
        if not arr.flags.writeable:
            raise ValueError(f"{name} must be writeable (it is updated in place)")
    if node_vectors.shape != center_vectors.shape or min(center_vectors.shape) < 1:
        raise ValueError(
            f"center_vectors {center_vectors.shape} and node_vectors {node_vectors.shape} must "
            "share one (V, d) shape with V, d >= 1"
        )
    n_words = center_vectors.shape[0]
    _check_array("tokens", tokens, np.int32, 1)
    _check_array("sentence_ends", sentence_ends, np.int64, 1)
    _check_array("keep_probability", keep_probability, np.float32, 1)
    if not isinstance(tree, HuffmanTree):
        raise TypeError(f"tree must be a HuffmanTree, got {type(tree).__name__}")
    _check_array("tree.code_flat", tree.code_flat, np.uint8, 1)
    _check_array("tree.point_flat", tree.point_flat, np.int32, 1)
    _check_array("tree.offsets", tree.offsets, np.int64, 1)
    if keep_probability.shape[0] != n_words or tree.offsets.shape[0] != n_words + 1:
        raise ValueError(f"keep_probability and the tree must cover the {n_words} words")
    if tree.offsets[0] != 0 or tree.offsets[-1] != tree.point_flat.size or np.any(
        np.diff(tree.offsets) < 0
    ) or tree.code_flat.size != tree.point_flat.size:
        raise ValueError("tree.offsets must be non-decreasing from 0 to the length of the paths")
    if tree.point_flat.size and (tree.point_flat.min() < 0 or tree.point_flat.max() >= n_words):
        raise ValueError(f"tree points must be node indices in [0, {n_words})")
    if tree.code_flat.size and tree.code_flat.max() > 1:
        raise ValueError("tree codes must be 0 or 1")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= n_words):
        raise ValueError(f"tokens must be vocabulary indices in [0, {n_words})")
    if sentence_ends.size:
        if sentence_ends[-1] != tokens.size or sentence_ends[0] < 0 or np.any(
            np.diff(sentence_ends) < 0
        ):
            raise ValueError("sentence_ends must be non-decreasing and end at len(tokens)")
    elif tokens.size:
        raise ValueError("sentence_ends is empty but tokens is not")
    for name, value in (("window", window), ("n_threads", n_threads)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    for name, value in (("alpha_start", alpha_start), ("alpha_end", alpha_end)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")


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
    n_threads: int = 1,
    shrink_windows: bool = True,
    cbow_mean: bool = True,
) -> tuple[float, int, int]:
    """Train on one batch with hierarchical softmax, updating both matrices in place.

    Parameters
    ----------
    center_vectors : ndarray, shape (V, d), float32, C-contiguous
        Input vectors (``wv.vectors``); updated in place.
    node_vectors : ndarray, shape (V, d), float32, C-contiguous
        Inner-node vectors of the tree (gensim's ``syn1``); updated in place.
    tokens : ndarray, shape (n,), int32
        Vocabulary indices of the batch's sentences, concatenated.
    sentence_ends : ndarray of int64
        Exclusive end offset of each sentence in ``tokens``; the last one equals ``n``.
    keep_probability : ndarray, shape (V,), float32
        Subsampling probabilities.
    tree : HuffmanTree
        The words' paths (:func:`nnbasics.word2vec.vocab.huffman_tree`).
    sg : bool
        True for skip-gram, False for CBOW (mean of the contexts).
    window : int >= 1
    alpha_start, alpha_end : float
        Learning rate at the batch's first and last token, linear in between.
    seed : int
    n_threads : int >= 1
    shrink_windows : bool, default True
        Each center's window uniform in ``[1, window]``, or always ``window``.
    cbow_mean : bool, default True
        CBOW from the mean of the contexts or (False) their sum (:func:`cbow_step_hs`).

    Returns
    -------
    loss : float
        Sum over the batch of every node term (float64 accumulation).
    n_loss_terms : int
        Positive pairs trained (skip-gram: (context, center) pairs; CBOW: centers predicted).
    n_effective_words : int
        Tokens kept after subsampling.
    """
    _validate(center_vectors, node_vectors, tokens, sentence_ends, keep_probability, tree,
              window, n_threads, alpha_start, alpha_end)
    n_tokens = tokens.shape[0]
    if n_tokens == 0:
        return 0.0, 0, 0
    head = (center_vectors, node_vectors, tokens, sentence_ends)
    tail = (keep_probability, tree.code_flat, tree.point_flat, tree.offsets, bool(sg),
            int(window), float(alpha_start), float(alpha_end), n_tokens,
            int(seed) & 0xFFFFFFFFFFFFFFFF, bool(shrink_windows), bool(cbow_mean))
    return run_split(train_range_hs, head, tail, n_tokens, window, n_threads)
