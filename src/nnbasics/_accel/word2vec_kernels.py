r"""The compiled word2vec kernel: skip-gram and CBOW, negative sampling and hierarchical softmax.

The model (:mod:`nnbasics.word2vec.model`) orchestrates: it fills one :class:`KernelConfig` per
``train`` call (:func:`kernel_config`: the matrices, the tables and the settings, validated once),
streams the corpus in batches of sentences and calls :func:`train_batch` on each.  Everything that
runs per word lives here, compiled with ``numba.njit(nogil=True, cache=True)`` so that several
Python threads can run it at once on different batches, or on disjoint parts of one big batch,
sharing the vectors lock-free ("Hogwild", as word2vec.c and gensim do).  Nothing compiles before
training starts.

Shape letters: ``V`` vocabulary size, ``d`` vector size, ``n`` tokens of a batch, ``m`` context
words of one window (``m <= 2 * window``), ``T`` output rows of one step (``T <= negative + 1``
for negative sampling, the path length ``L <= V - 1`` for hierarchical softmax).

One walker, every objective
---------------------------
:func:`train_range` walks the sentences of its range once: subsampling, each center's window, and
for each window the steps of each output layer trained, as gensim does with ``hs=1,
negative>0``: first along the Huffman path of the center word (``hs``), then against its positive
and negatives (``negative > 0``).

One step, two architectures, two output layers
----------------------------------------------
A step predicts the center word ``w`` of a window from its context words ``c_1..c_m`` through
``T`` output rows ``u_k`` of an output matrix ``U``, each with a label ``y_k`` in {0, 1}, and
takes one SGD step on ``sum_k -log sigmoid((2 y_k - 1) u_k . x)`` for its input ``x``:

* negative sampling: ``U = outside_vectors`` (``syn1neg``), rows ``w`` (label 1) and the
  negatives drawn for the window (label 0);
* hierarchical softmax: ``U = node_vectors`` (``syn1``), the inner nodes on ``w``'s path with
  labels ``1 - code`` (gensim's step ``g = (1 - code - f) alpha``).  The labels of a path are
  stored once (``path_labels``), so both output layers can take the same step functions; the
  walker takes hierarchical softmax's through :func:`hs_path_step` (the same step, organised
  for one input along a path of distinct rows, that leaves a node alone when its score is
  beyond ``±6``, as word2vec.c's hierarchical softmax does).

* **skip-gram**: as in word2vec.c, the *context* words are the inputs and the center word is
  predicted: the pairs ``(c_j, w)``.  A step on ``m`` of them against the same ``T`` outputs
  has an ``m x T`` matrix of scores ``S = X U^T`` with ``X = center_vectors[c]``, and its updates
  are two small matrix products ``dX = G U``, ``dU = G^T X`` with
  ``G[j, k] = alpha (y_k - sigmoid(S[j, k]))``, all at the vectors before the step.  With
  ``shared_negatives=False`` negative sampling takes the pairs one after the other (``m = 1``),
  each against its own ``negative`` draws, as word2vec.c and gensim.  With
  ``shared_negatives=True`` (the model's default) it takes the window's ``m`` pairs in one step
  against negatives drawn once for the window (Ji et al. 2016, "Parallelizing Word2Vec in
  Shared and Distributed Memory"): each output row is read and written once per window, ``m``
  times fewer draws; a different algorithm from word2vec.c's, measured as good and faster
  (``benchmarks/RESULTS.md``).  Hierarchical softmax takes the pairs one after the other, each
  at the vectors the previous one left.
* **CBOW** (gensim's ``cbow_mean=1``): the input is the mean ``h`` of the context vectors, one row
  of scores ``s = U h``.  As in word2vec.c and gensim, every context vector receives the whole
  step taken at ``h`` (a context word that occurs twice gets it twice): an input-side learning
  rate ``m`` times that of the exact gradient of the mean, kept because it is what
  ``cbow_mean=1`` means in gensim and because it learns better (``benchmarks/RESULTS.md``).  With
  ``cbow_mean=0`` ``h`` is the sum and each context vector gets ``1/m`` of the step, as gensim.

Every step of an input vector (skip-gram: a context word's; CBOW: each context word's) is
multiplied by its word's factor ``lock_factors[w]``, gensim's ``vectors_lockf`` (0 freezes the
word's vector, the output layers still train); with no factors (all ones) nothing is multiplied.

The steps are those of :mod:`nnbasics.word2vec.objectives` (``neg_sampling_loss_and_gradient``,
``hierarchical_softmax_loss_and_gradient``, combined by ``skipgram`` / ``cbow``), as the tests
check; the explicit path over whole batches is :mod:`nnbasics.word2vec.reference`.

Sampling rules (one xorshift64* generator per range, seeded from ``seed`` and the range number)
-----------------------------------------------------------------------------------------------
* subsampling: a token of word ``i`` is kept with probability ``keep_probability[i]``; windows are
  taken over the kept words of a sentence (as word2vec.c and gensim);
* reduced window: each center uses ``b`` uniform in ``[1, window]`` words on each side, or
  ``window`` with ``shrink_windows=False`` (no draw);
* negatives: ``negative`` draws per (context, center) pair in skip-gram (per window with
  ``shared_negatives``, and per window in CBOW), *with replacement* from the noise distribution
  given by the cumulative table (word ``i`` has probability
  ``(table[i] - table[i-1]) / table[-1]``, drawn as ``bisect_right(table, r)`` for ``r``
  uniform in ``[0, table[-1])``); a draw equal to the target is skipped, not redrawn
  (word2vec.c), so a step may have fewer than ``negative`` negatives;
* learning rate: linear in the token position within the batch, from ``alpha_start`` at the first
  token to ``alpha_end`` at the last.

Draws are made in this order: the subsampling of a sentence's tokens, then per center its window
and its negatives (in skip-gram, those of each context word in window order).  With
``n_threads > 1`` the batch is cut into ``n_threads`` contiguous token ranges; a cut inside a
sentence acts as a sentence end.  With ``n_threads == 1`` and a given seed the result is
deterministic.  Whenever threads share the vectors (``n_threads > 1``, or the model's
``workers > 1``: ``kernel_config(concurrent=True)``), hierarchical softmax lets each thread
step on its own copy of the tree's top nodes, published every few windows
(:func:`_sync_top_nodes`): those rows are on every path, and written by every thread at every
step they made the threads wait for each other's cache lines.

The walk and the steps work on borrowed views of their arrays (:func:`_borrowed`): numba would
otherwise count references to every array at every window and pair, with atomic instructions.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

from nnbasics.word2vec.vocab import HuffmanTree

__all__ = [
    "KernelConfig",
    "build_noise_guide",
    "cbow_window_step",
    "draw_negatives",
    "hs_cbow_step",
    "hs_path_step",
    "hs_sg_window_step",
    "kernel_config",
    "logistic_terms",
    "sample_negatives",
    "sg_window_step",
    "train_batch",
    "train_range",
]

# ----------------------------------------------------------------------------------------------
# random numbers: xorshift64* (Vigna 2016), state in a 1-element uint64 array
# ----------------------------------------------------------------------------------------------

_U64 = np.uint64
_XORSHIFT_MULT = np.uint64(0x2545F4914F6CDD1D)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(nogil=True, cache=True)
def _next_u64(state: NDArray[np.uint64]) -> np.uint64:
    """Advance the xorshift64* generator and return 64 random bits."""
    x = state[0]
    x ^= x >> _U64(12)
    x ^= x << _U64(25)
    x ^= x >> _U64(27)
    state[0] = x
    return x * _XORSHIFT_MULT


@njit(nogil=True, cache=True)
def _uniform(state: NDArray[np.uint64]) -> float:
    """A float64 uniform in [0, 1) from the top 53 bits."""
    return float(_next_u64(state) >> _U64(11)) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True)
def _seed_state(seed: int, stream: int) -> NDArray[np.uint64]:
    """A non-zero generator state from ``seed`` and a stream number (splitmix64 mixing)."""
    state = np.empty(1, dtype=np.uint64)
    z = _U64(seed) + _U64(stream + 1) * _GOLDEN
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    z = z ^ (z >> _U64(31))
    state[0] = z if z != _U64(0) else _GOLDEN
    return state


# ----------------------------------------------------------------------------------------------
# negative sampling
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def build_noise_guide(noise_cum_table: NDArray[np.int64]) -> tuple[NDArray[np.int32], int]:
    """Guide table for O(1) expected bisect_right lookups in ``noise_cum_table`` (Chen & Asau).

    ``r`` in ``[0, table[-1])`` falls in bucket ``r >> shift``; ``guide[g]`` is
    ``bisect_right(table, g << shift)``, the answer for the smallest ``r`` of bucket ``g``, so the
    answer for any ``r`` of the bucket is found by a forward scan from there.  There are about as
    many buckets as words (a power of two >= V), so the expected scan is about one step, instead
    of the ``log2 V`` unpredictable branches of a bisection.  The result is exactly the bisection's.
    """
    n_words = noise_cum_table.shape[0]
    table_max = noise_cum_table[n_words - 1]
    shift = 0
    while (table_max >> shift) >= 2 * n_words:
        shift += 1
    n_buckets = (table_max >> shift) + 1
    guide = np.empty(n_buckets, dtype=np.int32)
    word = 0
    for g in range(n_buckets):
        r = g << shift
        while word < n_words and noise_cum_table[word] <= r:
            word += 1
        guide[g] = word
    return guide, shift


@njit(nogil=True, cache=True)
def draw_negatives(
    noise_cum_table: NDArray[np.int64],
    guide: NDArray[np.int32],
    guide_shift: int,
    target: int,
    negative: int,
    state: NDArray[np.uint64],
    targets: NDArray[np.int32],
) -> int:
    """Fill ``targets[0] = target`` and ``targets[1:]`` with negatives; return the row count T.

    ``negative`` draws with replacement, word ``i`` with probability
    ``(table[i] - table[i-1]) / table[-1]``: the ``bisect_right`` of ``r`` uniform in
    ``[0, table[-1])``, found through the guide table of :func:`build_noise_guide`.  A draw equal
    to ``target`` is skipped, not redrawn (word2vec.c), so ``T <= negative + 1``.
    """
    table_max = _U64(noise_cum_table[noise_cum_table.shape[0] - 1])
    n_rows = 1
    targets[0] = target
    for _ in range(negative):
        # r uniform in [0, table_max): multiply-shift of 32 random bits, no modulo bias
        r = np.int64(((_next_u64(state) >> _U64(32)) * table_max) >> _U64(32))
        word = guide[r >> guide_shift]
        while noise_cum_table[word] <= r:  # first index whose cumulative count exceeds r
            word += 1
        if word != target:
            targets[n_rows] = word
            n_rows += 1
    return n_rows


@njit(nogil=True, cache=True)
def sample_negatives(
    noise_cum_table: NDArray[np.int64], target: int, negative: int, n_windows: int, seed: int
) -> NDArray[np.int32]:
    """The negatives of ``n_windows`` windows of ``target``, concatenated, as training draws them.

    For tests and diagnostics: the same generator and lookup as training.  Pass ``target=-1`` to
    see the raw noise draws, none skipped.
    """
    state = _seed_state(seed, 0)
    guide, guide_shift = build_noise_guide(noise_cum_table)
    targets = np.empty(negative + 1, dtype=np.int32)
    out = np.empty(n_windows * negative, dtype=np.int32)
    n_out = 0
    for _ in range(n_windows):
        n_rows = draw_negatives(
            noise_cum_table, guide, guide_shift, target, negative, state, targets
        )
        for k in range(1, n_rows):
            out[n_out] = targets[k]
            n_out += 1
    return out[:n_out]


# ----------------------------------------------------------------------------------------------
# the logistic terms of one score
# ----------------------------------------------------------------------------------------------


#: Scores in (-LOGIT_RANGE, LOGIT_RANGE) read the logistic terms from a table; others compute them.
LOGIT_RANGE = 8.0
#: Intervals of the table: step 1/256, linear interpolation error < 2e-7 (sigmoid), 5e-7 (loss).
LOGIT_TABLE_STEPS = 4096
#: Hierarchical softmax leaves a node alone when its score is at or beyond this (word2vec.c's
#: and gensim's ``MAX_EXP``); negative sampling takes every step.
HS_SKIP_SCORE = 6.0


def _logistic_table() -> NDArray[np.float32]:
    """``table[i] = (sigmoid(-x_i), -log sigmoid(x_i))`` at ``x_i = -R + i * 2R / steps``."""
    x = np.linspace(-LOGIT_RANGE, LOGIT_RANGE, LOGIT_TABLE_STEPS + 1)
    table = np.empty((LOGIT_TABLE_STEPS + 1, 2), dtype=np.float64)
    table[:, 0] = 0.5 * (1.0 - np.tanh(0.5 * x))  # sigmoid(-x), no overflow
    table[:, 1] = np.logaddexp(0.0, -x)  # softplus(-x) = -log sigmoid(x)
    return table.astype(np.float32)


# a module-level array is frozen into the compiled code as a constant (32 KiB)
_LOGIT_TABLE = _logistic_table()
_LOGIT_SCALE = LOGIT_TABLE_STEPS / (2.0 * LOGIT_RANGE)


@njit(nogil=True, cache=True, inline="always")
def _logistic_terms(score: np.float32, positive: bool) -> tuple[np.float32, np.float32]:
    """Return (label - sigmoid(score), loss term) in float32, without overflow.

    The loss term is ``-log sigmoid(score)`` for label 1 (``positive``) and
    ``-log sigmoid(-score)`` for label 0.  With ``z = score`` (label 1) or ``-score`` (label 0)
    both are functions of ``z``: ``1 - sigmoid(z) = sigmoid(-z)`` and
    ``-log sigmoid(z) = softplus(-z)``.  For ``|z| < LOGIT_RANGE`` they are interpolated linearly
    in a table of step ``h = 1/256`` (as word2vec.c's ``expTable``, but interpolated and not
    clipped: the error bound ``h^2/8 max|f''|`` is 1.9e-7 for the sigmoid and 4.8e-7 for the
    loss), because two ``libm`` calls per score cost most of a step; outside,
    ``e = exp(-|z|)`` gives ``sigmoid(-z) = e/(1+e)`` and ``softplus(-z) = max(-z, 0) +
    log1p(e)``, which cannot overflow.  Nothing is clipped at ``±6`` here: the terms are the
    exact ones (hierarchical softmax skips such nodes itself, :func:`hs_path_step`).
    """
    z = score if positive else -score
    one = np.float32(1.0)
    if -LOGIT_RANGE < z < LOGIT_RANGE:
        t = (z + np.float32(LOGIT_RANGE)) * np.float32(_LOGIT_SCALE)
        i = int(t)  # 0 <= i < LOGIT_TABLE_STEPS
        frac = t - np.float32(i)
        s0 = _LOGIT_TABLE[i, 0]
        l0 = _LOGIT_TABLE[i, 1]
        sig_minus_z = s0 + frac * (_LOGIT_TABLE[i + 1, 0] - s0)
        loss = l0 + frac * (_LOGIT_TABLE[i + 1, 1] - l0)
    else:
        e = np.float32(math.exp(-abs(z)))  # in (0, 1]: cannot overflow
        # 1 - sigmoid(z) = sigmoid(-z), computed without cancellation on either side of 0
        sig_minus_z = e / (one + e) if z >= 0 else one / (one + e)
        loss = max(-z, np.float32(0.0)) + np.float32(math.log1p(e))
    # label 1: 1 - sigmoid(score) = sigmoid(-z); label 0: -sigmoid(score) = -sigmoid(-z)
    residual = sig_minus_z if positive else -sig_minus_z
    return residual, loss


@njit(nogil=True, cache=True)
def logistic_terms(scores: NDArray[np.float32], positive: bool) -> NDArray[np.float32]:
    """The kernel's (residual, loss term) of each score, shape (n, 2): for tests."""
    out = np.empty((scores.shape[0], 2), dtype=np.float32)
    for i in range(scores.shape[0]):
        out[i, 0], out[i, 1] = _logistic_terms(scores[i], positive)
    return out


# ----------------------------------------------------------------------------------------------
# one window: skip-gram (shared outputs) and CBOW
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True, fastmath=True)
def sg_window_step(
    center_vectors: NDArray[np.float32],
    output_vectors: NDArray[np.float32],
    contexts: NDArray[np.int32],
    n_contexts: int,
    targets: NDArray[np.int32],
    labels: NDArray[np.uint8],
    first: int,
    stop: int,
    alpha: float,
    coef: NDArray[np.float32],
    dinputs: NDArray[np.float32],
    lock_factors: NDArray[np.float32],
) -> float:
    """One skip-gram window with shared outputs, in place; return its loss (float64).

    Inputs ``x_j = center_vectors[contexts[j]]`` for ``j < n_contexts`` (m rows), outputs
    ``u_k = output_vectors[targets[k]]`` with labels ``y_k = labels[k]`` for
    ``first <= k < stop`` (T rows).  Scratch: ``coef`` (>= m, >= T) and ``dinputs`` (>= m, d),
    float32.

    ``G[j, k] = alpha (y_k - sigmoid(x_j . u_k))``, then ``x_j += f_j sum_k G[j, k] u_k`` and
    ``u_k += sum_j G[j, k] x_j``, every product with the vectors as before the step.  The input
    step's factor ``f_j = lock_factors[contexts[j]]`` (gensim's ``vectors_lockf``: 0 freezes a
    word) or 1 when ``lock_factors`` is empty (the common case, without a multiplication).
    """
    # views that own no reference: none counted in the loops below (_borrowed)
    (center_vectors, output_vectors, contexts, targets, labels, coef, dinputs,
     lock_factors) = _borrowed((
        center_vectors, output_vectors, contexts, targets, labels, coef, dinputs, lock_factors,
    ))
    d = center_vectors.shape[1]
    loss = 0.0
    for j in range(n_contexts):  # S = X U^T, then G, and dX = G U (all with the old vectors)
        xr = contexts[j]
        for i in range(d):
            dinputs[j, i] = 0.0
        for k in range(first, stop):
            ur = targets[k]
            score = np.float32(0.0)
            for i in range(d):
                score += center_vectors[xr, i] * output_vectors[ur, i]
            residual, term = _logistic_terms(score, labels[k] == 1)
            loss += term
            g = np.float32(alpha) * residual
            coef[j, k - first] = g
            for i in range(d):
                dinputs[j, i] += g * output_vectors[ur, i]
    for k in range(first, stop):  # dU = G^T X with X not yet updated
        ur = targets[k]
        for j in range(n_contexts):
            g = coef[j, k - first]
            xr = contexts[j]
            for i in range(d):
                output_vectors[ur, i] += g * center_vectors[xr, i]
    for j in range(n_contexts):  # now apply dX (a repeated context word accumulates)
        xr = contexts[j]
        if lock_factors.shape[0] == 0:
            for i in range(d):
                center_vectors[xr, i] += dinputs[j, i]
        else:
            f = lock_factors[xr]
            for i in range(d):
                center_vectors[xr, i] += f * dinputs[j, i]
    return loss


@njit(nogil=True, cache=True, fastmath=True)
def cbow_window_step(
    center_vectors: NDArray[np.float32],
    output_vectors: NDArray[np.float32],
    contexts: NDArray[np.int32],
    n_contexts: int,
    targets: NDArray[np.int32],
    labels: NDArray[np.uint8],
    first: int,
    stop: int,
    alpha: float,
    cbow_mean: bool,
    coef: NDArray[np.float32],
    hidden: NDArray[np.float32],
    dhidden: NDArray[np.float32],
    lock_factors: NDArray[np.float32],
) -> float:
    """One CBOW window, in place; return its loss (float64).

    ``h = mean_j center_vectors[contexts[j]]`` (d,), ``g_k = alpha (y_k - sigmoid(u_k . h))`` for
    the outputs ``first <= k < stop`` as in :func:`sg_window_step`; ``u_k += g_k h`` and each
    context vector gets ``sum_k g_k u_k`` (old ``u_k``): the step at ``h``, not divided by ``m``
    (word2vec.c and gensim's ``cbow_mean=1``).  With ``cbow_mean=False`` (gensim's
    ``cbow_mean=0``) ``h`` is the *sum* of the contexts and each context vector gets
    ``(sum_k g_k u_k) / m``, as gensim applies it.  Context word ``c`` takes that step times
    ``lock_factors[c]`` (gensim's ``vectors_lockf``), or whole when ``lock_factors`` is empty.
    Every score is taken with the vectors before the step.  Scratch: ``coef`` (>= T,),
    ``hidden`` and ``dhidden`` (d,), float32.
    """
    # views that own no reference: none counted in the loops below (_borrowed)
    (center_vectors, output_vectors, contexts, targets, labels, coef, hidden, dhidden,
     lock_factors) = _borrowed((
        center_vectors, output_vectors, contexts, targets, labels, coef, hidden, dhidden,
        lock_factors,
    ))
    d = center_vectors.shape[1]
    _context_input(center_vectors, contexts, n_contexts, cbow_mean, hidden, dhidden)
    loss = 0.0
    for k in range(first, stop):  # scores and dh = sum_k g_k u_k, all with the old u_k
        ur = targets[k]
        score = np.float32(0.0)
        for i in range(d):
            score += hidden[i] * output_vectors[ur, i]
        residual, term = _logistic_terms(score, labels[k] == 1)
        loss += term
        g = np.float32(alpha) * residual
        coef[k - first] = g
        for i in range(d):
            dhidden[i] += g * output_vectors[ur, i]
    for k in range(first, stop):  # then u_k += g_k h (a repeated negative accumulates)
        ur = targets[k]
        g = coef[k - first]
        for i in range(d):
            output_vectors[ur, i] += g * hidden[i]
    _spread_context_step(center_vectors, contexts, n_contexts, cbow_mean, dhidden, lock_factors)
    return loss


@njit(nogil=True, cache=True, inline="always")
def _context_input(center_vectors, contexts, n_contexts, cbow_mean, hidden, dhidden):
    """CBOW's input: ``hidden`` = mean (``cbow_mean``) or sum of the ``n_contexts`` context
    vectors; ``dhidden`` zeroed for the step to come."""
    d = center_vectors.shape[1]
    for i in range(d):
        hidden[i] = 0.0
        dhidden[i] = 0.0
    for j in range(n_contexts):
        xr = contexts[j]
        for i in range(d):
            hidden[i] += center_vectors[xr, i]
    if cbow_mean:
        inv_m = np.float32(1.0 / n_contexts)
        for i in range(d):
            hidden[i] *= inv_m


@njit(nogil=True, cache=True, inline="always")
def _spread_context_step(center_vectors, contexts, n_contexts, cbow_mean, dhidden, lock_factors):
    """CBOW's step ``dhidden`` taken at the input, given to each context vector as gensim does:
    whole with the mean, ``1/m`` of it with the sum (``dhidden`` is scaled in place)."""
    if not cbow_mean:  # gensim's cbow_mean=0: the step at the sum, shared by the m contexts
        inv_m = np.float32(1.0 / n_contexts)
        for i in range(dhidden.shape[0]):
            dhidden[i] *= inv_m
    for j in range(n_contexts):
        _add_input_step(center_vectors, contexts[j], dhidden, lock_factors)


@njit(nogil=True, cache=True, inline="always")
def _add_input_step(center_vectors, row, step, lock_factors):
    """``center_vectors[row] += f step`` with ``f = lock_factors[row]`` (gensim's
    ``vectors_lockf``), or the whole step without a multiplication when ``lock_factors`` is
    empty."""
    if lock_factors.shape[0] == 0:
        for i in range(step.shape[0]):
            center_vectors[row, i] += step[i]
    else:
        f = lock_factors[row]
        for i in range(step.shape[0]):
            center_vectors[row, i] += f * step[i]


# ----------------------------------------------------------------------------------------------
# hierarchical softmax: one input along one path
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def hs_path_step(
    node_vectors: NDArray[np.float32],
    path_nodes: NDArray[np.int32],
    path_labels: NDArray[np.uint8],
    first: int,
    stop: int,
    alpha: float,
    x: NDArray[np.float32],
    dx: NDArray[np.float32],
    scores: NDArray[np.float32],
    top_nodes: NDArray[np.float32],
    top_base: int,
) -> float:
    """One input ``x`` (d,) along one Huffman path, in place; return its loss (float64).

    For the nodes ``u_k = node_vectors[path_nodes[k]]``, ``first <= k < stop``, with labels
    ``y_k = path_labels[k]``: ``g_k = alpha (y_k - sigmoid(u_k . x))``, ``dx += g_k u_k`` and
    ``u_k += g_k x``, except that a node whose score ``|u_k . x| >= HS_SKIP_SCORE`` (6) takes
    no step (``g_k = 0``), as word2vec.c's and gensim's hierarchical softmax skip it; its loss
    term still counts.  The skip is word2vec.c's semantics and measured, not cosmetic: without
    it skip-gram's analogy accuracy was 0.45 points below gensim's over 3 seeds, with it level
    (``benchmarks/RESULTS.md``, issue 17).  Below the threshold the step is the exact
    gradient's (:func:`nnbasics.word2vec.objectives.hierarchical_softmax_loss_and_gradient`).

    Rows ``path_nodes[k] >= top_base`` are read and written in ``top_nodes[row - top_base]``
    instead: a worker thread's own copy of the top of the tree (:func:`_sync_top_nodes`);
    with ``top_nodes`` empty and ``top_base`` past the last inner node, every row is
    ``node_vectors``'.

    The nodes of a path are distinct rows and ``x`` does not change, so every score is that of
    the vectors before the step, whether taken first or node after node as gensim's
    ``fast_sentence_*_hs`` does: the step is that of :func:`sg_window_step` (one context) or
    :func:`cbow_window_step`.  The scores are taken first, two nodes at a time (two
    independent sums, ``x`` read once for both, both rows fetched at once), into ``scores``
    (scratch, ``>= stop - first``); then the updates, two nodes a pass (``dx`` and ``x`` read
    once for both).  ``x`` is not changed (the caller applies ``dx`` to the input rows).
    """
    # the path's nodes in this thread's copy of the top of the tree come first (the copy holds
    # the heaviest inner nodes, and a node's parent is heavier): [first, split), then the rest
    split = first
    while split < stop and path_nodes[split] >= top_base:
        split += 1
    _path_scores(top_nodes, top_base, path_nodes, first, split, x, scores, first)
    _path_scores(node_vectors, 0, path_nodes, split, stop, x, scores, first)
    loss = 0.0
    for k in range(first, stop):  # scores become the steps g_k
        score = scores[k - first]
        residual, term = _logistic_terms(score, path_labels[k] == 1)
        loss += term
        if abs(score) >= HS_SKIP_SCORE:  # word2vec.c: a saturated node is left alone
            residual = np.float32(0.0)
        scores[k - first] = np.float32(alpha) * residual
    _path_updates(top_nodes, top_base, path_nodes, first, split, x, dx, scores, first)
    _path_updates(node_vectors, 0, path_nodes, split, stop, x, dx, scores, first)
    return loss


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def _path_scores(matrix, row_offset, path_nodes, first, stop, x, scores, scores_first):
    """``scores[k - scores_first] = x . matrix[path_nodes[k] - row_offset]`` for ``first <= k <
    stop``, two nodes at a time (two independent sums, ``x`` read once for both)."""
    d = x.shape[0]
    k = first
    while k + 2 <= stop:
        row0, row1 = path_nodes[k] - row_offset, path_nodes[k + 1] - row_offset
        score0 = np.float32(0.0)
        score1 = np.float32(0.0)
        for i in range(d):
            score0 += x[i] * matrix[row0, i]
            score1 += x[i] * matrix[row1, i]
        scores[k - scores_first] = score0
        scores[k + 1 - scores_first] = score1
        k += 2
    if k < stop:
        row = path_nodes[k] - row_offset
        score = np.float32(0.0)
        for i in range(d):
            score += x[i] * matrix[row, i]
        scores[k - scores_first] = score


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def _path_updates(matrix, row_offset, path_nodes, first, stop, x, dx, steps, steps_first):
    """With ``g = steps[k - steps_first]`` and ``u = matrix[path_nodes[k] - row_offset]`` for
    ``first <= k < stop``: ``dx += g u`` (the old ``u``), ``u += g x``; two nodes a pass (``dx``
    and ``x`` read once for both)."""
    d = x.shape[0]
    k = first
    while k + 2 <= stop:
        row0, row1 = path_nodes[k] - row_offset, path_nodes[k + 1] - row_offset
        g0, g1 = steps[k - steps_first], steps[k + 1 - steps_first]
        for i in range(d):
            u0 = matrix[row0, i]
            u1 = matrix[row1, i]
            dx[i] = (dx[i] + g0 * u0) + g1 * u1
            matrix[row0, i] = u0 + g0 * x[i]
            matrix[row1, i] = u1 + g1 * x[i]
        k += 2
    if k < stop:
        row = path_nodes[k] - row_offset
        g = steps[k - steps_first]
        for i in range(d):
            u = matrix[row, i]
            dx[i] += g * u
            matrix[row, i] = u + g * x[i]


@njit(nogil=True, cache=True)
def _sync_top_nodes(
    node_vectors: NDArray[np.float32],
    top_nodes: NDArray[np.float32],
    top_start: NDArray[np.float32],
    top_base: int,
) -> None:
    """Publish a thread's steps on its copy of the top of the tree, and refresh the copy.

    ``top_nodes`` (H, d) is the thread's working copy of ``node_vectors[top_base:top_base +
    H]``, ``top_start`` that copy as it was at the last sync: the thread's own steps since then
    are ``top_nodes - top_start``, added to the shared rows (which meanwhile hold the other
    threads' published steps); both copies then restart from the sum.

    Why: the top nodes of the Huffman tree are on (almost) every path, so with several threads
    each of them is written by all threads at every step, and the cache lines holding them move
    between cores at every step (skip-gram's speed with 2 workers was 1.3x that of 1; with the
    top 4 levels' writes removed, 1.9x).  A thread's copy is published every
    ``_TOP_SYNC_CENTERS`` centers: each thread sees its own steps at once and the others' a
    few windows late, as Hogwild's unsynchronised threads see each other's a little late.  A
    row this thread did not step on since the last sync is only read back (its shared cache
    line is not written).
    """
    d = node_vectors.shape[1]
    for h in range(top_nodes.shape[0]):
        row = top_base + h
        changed = False
        for i in range(d):
            if top_nodes[h, i] != top_start[h, i]:
                changed = True
                break
        if not changed:  # no step of this thread: read the others', write nothing shared
            for i in range(d):
                top_nodes[h, i] = node_vectors[row, i]
                top_start[h, i] = top_nodes[h, i]
            continue
        for i in range(d):
            value = node_vectors[row, i] + (top_nodes[h, i] - top_start[h, i])
            node_vectors[row, i] = value
            top_nodes[h, i] = value
            top_start[h, i] = value


@njit(nogil=True, cache=True, fastmath=True)
def hs_sg_window_step(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    contexts: NDArray[np.int32],
    n_contexts: int,
    path_nodes: NDArray[np.int32],
    path_labels: NDArray[np.uint8],
    first: int,
    stop: int,
    alpha: float,
    x: NDArray[np.float32],
    dx: NDArray[np.float32],
    scores: NDArray[np.float32],
    lock_factors: NDArray[np.float32],
    top_nodes: NDArray[np.float32],
    top_base: int,
) -> float:
    """A skip-gram window along the center word's path ``[first, stop)``, in place.

    The pairs ``(contexts[j], center)``, ``j < n_contexts``, one after the other (word2vec.c's
    and gensim's order; each at the vectors the previous one left): :func:`hs_path_step` on a
    copy of ``center_vectors[contexts[j]]`` in ``x`` (scratch, (d,)), then
    ``center_vectors[contexts[j]] += f dx`` with ``f = lock_factors[contexts[j]]`` (gensim's
    ``vectors_lockf``), or 1 when ``lock_factors`` is empty (``dx`` scratch, (d,); ``scores``
    scratch, ``>= stop - first``; ``top_nodes``, ``top_base``: :func:`hs_path_step`'s).
    Returns the window's loss.  One call per window rather than per pair, and the path step
    inlined: a call per pair cost 10% of skip-gram's time, and more with its arrays' reference
    counts (:func:`_borrowed`).
    """
    # views that own no reference: none counted in the loops below (_borrowed)
    (center_vectors, node_vectors, contexts, path_nodes, path_labels, x, dx, scores,
     lock_factors, top_nodes) = _borrowed((
        center_vectors, node_vectors, contexts, path_nodes, path_labels, x, dx, scores,
        lock_factors, top_nodes,
    ))
    d = center_vectors.shape[1]
    loss = 0.0
    for j in range(n_contexts):
        context = contexts[j]
        for i in range(d):
            x[i] = center_vectors[context, i]
            dx[i] = 0.0
        loss += hs_path_step(node_vectors, path_nodes, path_labels, first, stop, alpha, x, dx,
                             scores, top_nodes, top_base)
        _add_input_step(center_vectors, context, dx, lock_factors)
    return loss


@njit(nogil=True, cache=True, fastmath=True)
def hs_cbow_step(
    center_vectors: NDArray[np.float32],
    node_vectors: NDArray[np.float32],
    contexts: NDArray[np.int32],
    n_contexts: int,
    path_nodes: NDArray[np.int32],
    path_labels: NDArray[np.uint8],
    first: int,
    stop: int,
    alpha: float,
    cbow_mean: bool,
    hidden: NDArray[np.float32],
    dhidden: NDArray[np.float32],
    scores: NDArray[np.float32],
    lock_factors: NDArray[np.float32],
    top_nodes: NDArray[np.float32],
    top_base: int,
) -> float:
    """One CBOW window along the center word's path, in place: :func:`cbow_window_step`'s step.

    ``h`` = mean (``cbow_mean``) or sum of the context vectors in ``hidden``, :func:`hs_path_step`
    from it, then each context vector gets ``dh`` (mean) or ``dh / m`` (sum), as gensim.
    Context word ``c`` takes that times ``lock_factors[c]`` (gensim's ``vectors_lockf``), or
    whole when ``lock_factors`` is empty.  Scratch: ``hidden``, ``dhidden`` (d,), ``scores``
    (``>= stop - first``); ``top_nodes``, ``top_base``: :func:`hs_path_step`'s.
    """
    # views that own no reference: none counted in the loops below (_borrowed)
    (center_vectors, node_vectors, contexts, path_nodes, path_labels, hidden, dhidden, scores,
     lock_factors, top_nodes) = _borrowed((
        center_vectors, node_vectors, contexts, path_nodes, path_labels, hidden, dhidden,
        scores, lock_factors, top_nodes,
    ))
    _context_input(center_vectors, contexts, n_contexts, cbow_mean, hidden, dhidden)
    loss = hs_path_step(node_vectors, path_nodes, path_labels, first, stop, alpha, hidden,
                        dhidden, scores, top_nodes, top_base)
    _spread_context_step(center_vectors, contexts, n_contexts, cbow_mean, dhidden, lock_factors)
    return loss


# ----------------------------------------------------------------------------------------------
# the settings of a run, and the walk over a range of tokens
# ----------------------------------------------------------------------------------------------


class KernelConfig(NamedTuple):
    """Everything the kernel reads besides the batch, filled in one place (:func:`kernel_config`).

    Arrays of an output layer that is not trained are empty placeholders of the same dtype.
    """

    center_vectors: NDArray[np.float32]  # (V, d) the word vectors (syn0), updated in place
    outside_vectors: NDArray[np.float32]  # (V, d) negative sampling's outputs (syn1neg)
    node_vectors: NDArray[np.float32]  # (V, d) the Huffman tree's inner nodes (syn1)
    keep_probability: NDArray[np.float32]  # (V,) subsampling
    noise_cum_table: NDArray[np.int64]  # (V,) cumulative noise counts
    noise_guide: NDArray[np.int32]  # build_noise_guide(noise_cum_table)
    noise_guide_shift: int
    path_nodes: NDArray[np.int32]  # (N,) every word's inner nodes, root first (point_flat)
    path_labels: NDArray[np.uint8]  # (N,) 1 - code: the label of each node's score
    path_offsets: NDArray[np.int64]  # (V + 1,) word w's path is [offsets[w], offsets[w + 1])
    max_path_length: int
    sg: bool  # skip-gram (True) or CBOW
    hs: bool  # train hierarchical softmax
    negative: int  # negatives per window (0: no negative sampling)
    window: int  # largest window
    shrink_windows: bool  # window uniform in [1, window] (True) or always window
    cbow_mean: bool  # CBOW from the mean of the contexts (True) or their sum
    shared_negatives: bool  # skip-gram: one set of negatives per window (True) or per pair
    lock_factors: NDArray[np.float32]  # (V,) factor of each word's input steps, or (0,): all 1
    concurrent: bool  # other threads train on the same matrices at the same time


@intrinsic
def _prefetch_row(typingctx, matrix, row):
    """Ask the CPU to bring ``matrix[row, :]`` into cache (``llvm.prefetch``: read, keep).

    One prefetch per 64-byte line of the row; a hint only, with no effect on results.
    """
    if not isinstance(matrix, types.Array) or matrix.ndim != 2 or matrix.layout != "C":
        return None
    if not isinstance(row, types.Integer):
        return None
    sig = types.void(matrix, row)

    def codegen(context, builder, signature, args):
        matrix_type, row_type = signature.args
        array = context.make_array(matrix_type)(context, builder, args[0])
        shape = cgutils.unpack_tuple(builder, array.shape)
        strides = cgutils.unpack_tuple(builder, array.strides)
        zero = context.get_constant(types.intp, 0)
        index = context.cast(builder, args[1], row_type, types.intp)
        first = cgutils.get_item_pointer2(
            context, builder, array.data, shape, strides, matrix_type.layout, [index, zero]
        )
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        item_bytes = context.get_constant(types.intp, matrix_type.dtype.bitwidth // 8)
        row_bytes = builder.mul(shape[1], item_bytes)
        base = builder.bitcast(first, byte_ptr)
        line = context.get_constant(types.intp, 64)
        with cgutils.for_range_slice(builder, zero, row_bytes, line) as (offset, _):
            # (address, 0 = read, 3 = keep in all cache levels, 1 = data cache)
            builder.call(prefetch, [builder.gep(base, [offset]), ir.Constant(i32, 0),
                                    ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _borrowed(typingctx, value):
    """``value`` (an array, or a tuple of arrays and scalars) as views that own no reference.

    numba counts the references to an array whenever a function receives it, an inlined helper
    aliases it or a tuple hands it out: each time a call and an atomic add on the array's
    counter.  In the walk, at every window and every (context, center) pair, those counts took
    an eighth to a quarter of the time (``benchmarks/RESULTS.md``).  A borrowed view is a
    ``numba.carray``-like view (same data, shape and strides, no owner) whose counts do
    nothing.  Only for arrays held elsewhere for as long as the views are used, such as a
    function's arguments, which its caller holds for the whole call.
    """

    def borrow(context, builder, typ, value):
        if isinstance(typ, types.Array):
            source = context.make_array(typ)(context, builder, value)
            view = context.make_array(typ)(context, builder)
            context.populate_array(view, data=source.data, shape=source.shape,
                                   strides=source.strides, itemsize=source.itemsize,
                                   meminfo=None)
            return view._getvalue()
        if isinstance(typ, types.BaseTuple):
            items = [borrow(context, builder, item_type, builder.extract_value(value, i))
                     for i, item_type in enumerate(typ)]
            return context.make_tuple(builder, typ, items)
        return value  # a scalar: nothing counted

    if not isinstance(value, (types.Array, types.BaseTuple)):
        return None

    def codegen(context, builder, signature, args):
        return borrow(context, builder, signature.args[0], args[0])

    return value(value), codegen


#: Hierarchical softmax with several threads: the top inner nodes of the tree each thread keeps
#: a copy of (the heaviest ones, the last rows of ``node_vectors``; a tree's top 7 levels hold
#: at most 127), and the centers trained between two publications of the copy.
_TOP_NODES = 127
_TOP_SYNC_CENTERS = 32

#: Windows planned (window drawn, negatives drawn, rows prefetched) ahead of the one trained.
_LOOKAHEAD = 4
_RING = 8  # slots of the plan ring, a power of two > _LOOKAHEAD


@njit(nogil=True, cache=True, inline="always")
def _plan_window(config, c, kept, n_kept, state, plan_b, plan_targets, plan_n_targets):
    """Draw center ``c``'s reduced window and negatives into its plan slot; prefetch its rows.

    ``plan_targets[slot, j]`` holds the positive and negatives of the ``j``-th step of the window
    and ``plan_n_targets[slot, j]`` their number: one step (``j = 0``) for CBOW and for shared
    negatives, one per context word for skip-gram with per-pair negatives.  The draws are made
    in center order, so planning ahead does not change the random stream.  Prefetched: the
    output rows of the negatives (random rows of a matrix larger than the caches, which a step
    would otherwise wait for), and the input row of the word ``window`` places ahead (the
    farthest context this window or the next can use).
    """
    slot = c & (_RING - 1)
    window = config.window
    if config.shrink_windows:
        plan_b[slot] = 1 + np.int64(_next_u64(state) % _U64(window))  # uniform in [1, window]
    else:  # gensim's shrink_windows=False: the whole window, no draw
        plan_b[slot] = window
    plan_n_targets[slot, 0] = 0
    if n_kept < 2:  # no context word: nothing to train, no negatives drawn
        return
    if config.negative > 0:
        n_steps = 1
        if config.sg and not config.shared_negatives:  # one draw per (context, center) pair
            b = plan_b[slot]
            n_steps = min(c + b + 1, n_kept) - max(c - b, 0) - 1
        for j in range(n_steps):
            n_targets = draw_negatives(
                config.noise_cum_table, config.noise_guide, config.noise_guide_shift, kept[c],
                config.negative, state, plan_targets[slot, j],
            )
            plan_n_targets[slot, j] = n_targets
            for k in range(n_targets):
                _prefetch_row(config.outside_vectors, plan_targets[slot, j, k])
    if c + window < n_kept:
        _prefetch_row(config.center_vectors, kept[c + window])


class _Workspace(NamedTuple):
    """The scratch arrays of one walk (:func:`train_range` allocates, :func:`_walk_range` uses)."""

    state: NDArray[np.uint64]  # (1,) the generator
    kept: NDArray[np.int32]  # kept words of the current sentence
    kept_pos: NDArray[np.int64]  # and their batch positions
    contexts: NDArray[np.int32]  # (m,) the context words of a window
    one_context: NDArray[np.int32]  # (1,) one skip-gram pair
    plan_b: NDArray[np.int64]  # (_RING,) the planned windows' half widths
    plan_targets: NDArray[np.int32]  # (_RING, steps, negative + 1) their positives, negatives
    plan_n_targets: NDArray[np.int64]  # (_RING, steps) and how many
    ns_labels: NDArray[np.uint8]  # (negative + 1,) 1 for the positive, then 0s
    coef: NDArray[np.float32]  # (m, T) the steps g of a window
    dinputs: NDArray[np.float32]  # (m, d) its input steps
    hidden: NDArray[np.float32]  # (d,) an input (CBOW's h, a skip-gram context's copy)
    dhidden: NDArray[np.float32]  # (d,) its step
    path_scores: NDArray[np.float32]  # (L,) a path's scores, then steps
    top_nodes: NDArray[np.float32]  # (H, d) this thread's copy of the top of the tree
    top_start: NDArray[np.float32]  # (H, d) the copy at the last sync


@njit(nogil=True, cache=True)
def train_range(
    config: KernelConfig,
    tokens: NDArray[np.int32],
    sentence_ends: NDArray[np.int64],
    start: int,
    stop: int,
    alpha_start: float,
    alpha_end: float,
    n_batch_tokens: int,
    seed: int,
    stream: int,
    n_top_nodes: int = 0,
) -> tuple[float, int, int]:
    """Train on ``tokens[start:stop]``; return (loss sum, positive pairs, kept words).

    Sentences are those of ``sentence_ends`` cut to ``[start, stop)``.  The learning rate at batch
    position ``p`` is ``alpha_start + (alpha_end - alpha_start) p / n_batch_tokens``; the
    generator is seeded from ``(seed, stream)``.  Windows are planned ``_LOOKAHEAD`` centers
    ahead (:func:`_plan_window`) so that the rows of the negatives are fetched while earlier
    windows train.  With ``n_top_nodes > 0`` (other threads train the same vectors meanwhile),
    hierarchical softmax works on this thread's copy of the ``n_top_nodes`` top inner nodes,
    published every ``_TOP_SYNC_CENTERS`` centers and at the end (:func:`_sync_top_nodes`).
    """
    d = config.center_vectors.shape[1]
    negative = config.negative
    n_tokens = max(stop - start, 1)
    # a window holds at most 2 * window words and never more than the range has: a huge window
    # setting must not allocate for contexts no sentence can hold
    max_contexts = max(min(2 * config.window, stop - start - 1), 1)
    # the steps of a planned window: one, or one per context word (skip-gram, per-pair draws)
    n_steps = max_contexts if config.sg and not config.shared_negatives else 1
    ns_labels = np.zeros(negative + 1, dtype=np.uint8)  # the positive first, then negatives
    ns_labels[0] = 1
    max_outputs = max(negative + 1, config.max_path_length, 1)
    n_top = n_top_nodes if config.hs else 0
    work = _Workspace(
        state=_seed_state(seed, stream),
        kept=np.empty(n_tokens, dtype=np.int32),
        kept_pos=np.empty(n_tokens, dtype=np.int64),
        contexts=np.empty(max_contexts, dtype=np.int32),
        one_context=np.empty(1, dtype=np.int32),
        plan_b=np.empty(_RING, dtype=np.int64),
        plan_targets=np.empty((_RING, n_steps, negative + 1), dtype=np.int32),
        plan_n_targets=np.empty((_RING, n_steps), dtype=np.int64),
        ns_labels=ns_labels,
        coef=np.empty((max_contexts, max_outputs), dtype=np.float32),
        dinputs=np.empty((max_contexts, d), dtype=np.float32),
        hidden=np.empty(d, dtype=np.float32),
        dhidden=np.empty(d, dtype=np.float32),
        path_scores=np.empty(max(config.max_path_length, 1), dtype=np.float32),
        top_nodes=np.zeros((n_top, d), dtype=np.float32),
        top_start=np.zeros((n_top, d), dtype=np.float32),
    )
    return _walk_range(config, work, tokens, sentence_ends, start, stop, alpha_start, alpha_end,
                       n_batch_tokens)


@njit(nogil=True, cache=True)
def _walk_range(config, work, tokens, sentence_ends, start, stop, alpha_start, alpha_end,
                n_batch_tokens):
    """:func:`train_range`'s walk, in the scratch arrays ``work`` (a :class:`_Workspace`)."""
    # train_range holds config and work for the whole walk: borrowed views of their arrays
    # spare every window and pair numba's reference counting (_borrowed)
    config = _borrowed(config)
    (state, kept, kept_pos, contexts, one_context, plan_b, plan_targets, plan_n_targets,
     ns_labels, coef, dinputs, hidden, dhidden, path_scores, top_nodes,
     top_start) = _borrowed(work)
    negative = config.negative
    alpha_slope = (alpha_end - alpha_start) / max(n_batch_tokens, 1)
    # hierarchical softmax beside other threads: this thread's copy of the top of the tree
    n_top = top_nodes.shape[0]
    top_base = config.node_vectors.shape[0] - 1 - n_top  # inner nodes are rows [0, V - 1)
    # no step taken yet (copy == start): the sync only reads the shared rows into both copies
    _sync_top_nodes(config.node_vectors, top_nodes, top_start, top_base)
    centers_since_sync = 0

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
            if _uniform(state) < config.keep_probability[word]:
                kept[n_kept] = word
                kept_pos[n_kept] = p
                n_kept += 1
        n_kept_total += n_kept
        for c in range(min(_LOOKAHEAD, n_kept)):
            _plan_window(config, c, kept, n_kept, state, plan_b, plan_targets, plan_n_targets)
        for c in range(n_kept):
            if c + _LOOKAHEAD < n_kept:
                _plan_window(config, c + _LOOKAHEAD, kept, n_kept, state, plan_b, plan_targets,
                             plan_n_targets)
            slot = c & (_RING - 1)
            b = plan_b[slot]
            n_ctx = 0
            for j in range(max(c - b, 0), min(c + b + 1, n_kept)):
                if j != c:
                    contexts[n_ctx] = kept[j]
                    n_ctx += 1
            if n_ctx == 0:
                continue
            alpha = alpha_start + alpha_slope * kept_pos[c]
            if config.hs:  # the center word's path in the tree
                word = kept[c]
                first, last = config.path_offsets[word], config.path_offsets[word + 1]
                if config.sg:  # pair after pair
                    loss += hs_sg_window_step(
                        config.center_vectors, config.node_vectors, contexts, n_ctx,
                        config.path_nodes, config.path_labels, first, last, alpha, hidden,
                        dhidden, path_scores, config.lock_factors, top_nodes, top_base,
                    )
                else:
                    loss += hs_cbow_step(
                        config.center_vectors, config.node_vectors, contexts, n_ctx,
                        config.path_nodes, config.path_labels, first, last, alpha,
                        config.cbow_mean, hidden, dhidden, path_scores, config.lock_factors,
                        top_nodes, top_base,
                    )
                centers_since_sync += 1
                if n_top > 0 and centers_since_sync >= _TOP_SYNC_CENTERS:
                    _sync_top_nodes(config.node_vectors, top_nodes, top_start, top_base)
                    centers_since_sync = 0
            if negative > 0:  # the center word and its negatives
                if config.sg and not config.shared_negatives:  # pair after pair (word2vec.c)
                    for j in range(n_ctx):
                        one_context[0] = contexts[j]
                        loss += sg_window_step(
                            config.center_vectors, config.outside_vectors, one_context, 1,
                            plan_targets[slot, j], ns_labels, 0, plan_n_targets[slot, j], alpha,
                            coef, dinputs, config.lock_factors,
                        )
                elif config.sg:  # the window's pairs in one step, negatives drawn once
                    loss += sg_window_step(
                        config.center_vectors, config.outside_vectors, contexts, n_ctx,
                        plan_targets[slot, 0], ns_labels, 0, plan_n_targets[slot, 0], alpha,
                        coef, dinputs, config.lock_factors,
                    )
                else:
                    targets, n_targets = plan_targets[slot, 0], plan_n_targets[slot, 0]
                    loss += cbow_window_step(
                        config.center_vectors, config.outside_vectors, contexts, n_ctx, targets,
                        ns_labels, 0, n_targets, alpha, config.cbow_mean, coef[0], hidden,
                        dhidden, config.lock_factors,
                    )
            n_pairs += n_ctx if config.sg else 1
        begin = end
    if n_top > 0:  # this thread's last steps on the top of the tree
        _sync_top_nodes(config.node_vectors, top_nodes, top_start, top_base)
    return loss, n_pairs, n_kept_total


# ----------------------------------------------------------------------------------------------
# the Python entry points: the configuration (validated once) and a batch
# ----------------------------------------------------------------------------------------------

_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()  # several model threads may split big batches at once


def _pool(n_workers: int) -> ThreadPoolExecutor:
    global _executor, _executor_size
    with _executor_lock:
        if _executor is None or _executor_size < n_workers:
            # an outgrown pool is left to finish what it runs (no shutdown under a caller's feet)
            _executor = ThreadPoolExecutor(
                max_workers=n_workers, thread_name_prefix="nnbasics-w2v-split"
            )
            _executor_size = n_workers
        return _executor


def _check_array(name: str, arr: object, dtype: type, ndim: int) -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype).name}, got {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return arr


def _check_positive_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_matrix(name: str, matrix: object, shape: tuple[int, int]) -> np.ndarray:
    _check_array(name, matrix, np.float32, 2)
    if not matrix.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is updated in place)")
    if matrix.shape != shape:
        raise ValueError(f"{name} has shape {matrix.shape}, center_vectors {shape}")
    return matrix


def _noise_arrays(noise_cum_table: object, n_words: int) -> tuple[np.ndarray, np.ndarray, int]:
    table = _check_array("noise_cum_table", noise_cum_table, np.int64, 1)
    if table.shape[0] != n_words:
        raise ValueError(f"noise_cum_table has {table.shape[0]} entries, the vocabulary has "
                         f"{n_words}")
    if table[0] < 0 or np.any(np.diff(table) < 0) or table[-1] <= 0:
        raise ValueError(
            "noise_cum_table must be non-negative, non-decreasing, with a positive last entry"
        )
    if table[-1] >= 2**32:
        raise ValueError("noise_cum_table[-1] must be below 2**32 (it is scaled to 2**31 - 1)")
    guide, shift = build_noise_guide(table)
    return table, guide, int(shift)


def _path_arrays(tree: object, n_words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(tree, HuffmanTree):
        raise TypeError(f"tree must be a HuffmanTree, got {type(tree).__name__}")
    codes = _check_array("tree.code_flat", tree.code_flat, np.uint8, 1)
    nodes = _check_array("tree.point_flat", tree.point_flat, np.int32, 1)
    offsets = _check_array("tree.offsets", tree.offsets, np.int64, 1)
    if offsets.shape[0] != n_words + 1:
        raise ValueError(f"the tree covers {offsets.shape[0] - 1} words, the vocabulary has "
                         f"{n_words}")
    if (offsets[0] != 0 or offsets[-1] != nodes.size or codes.size != nodes.size
            or np.any(np.diff(offsets) < 0)):
        raise ValueError("tree.offsets must be non-decreasing from 0 to the length of the paths")
    if nodes.size and (nodes.min() < 0 or nodes.max() >= n_words):
        raise ValueError(f"tree points must be node indices in [0, {n_words})")
    if codes.size and codes.max() > 1:
        raise ValueError("tree codes must be 0 or 1")
    return nodes, (1 - codes).astype(np.uint8), offsets


def kernel_config(
    center_vectors: NDArray[np.float32],
    keep_probability: NDArray[np.float32],
    *,
    sg: bool,
    window: int,
    negative: int = 5,
    outside_vectors: NDArray[np.float32] | None = None,
    noise_cum_table: NDArray[np.int64] | None = None,
    hs: bool = False,
    node_vectors: NDArray[np.float32] | None = None,
    tree: HuffmanTree | None = None,
    shrink_windows: bool = True,
    cbow_mean: bool = True,
    shared_negatives: bool = False,
    lock_factors: NDArray[np.float32] | None = None,
    concurrent: bool = False,
) -> KernelConfig:
    """Check the model's arrays and settings once, and fill the :class:`KernelConfig`.

    Parameters
    ----------
    center_vectors : ndarray, shape (V, d), float32, C-contiguous
        The word ("syn0") vectors, the inputs of every step; updated in place.
    keep_probability : ndarray, shape (V,), float32
        Probability of keeping each word at subsampling (1.0 everywhere for no subsampling).
    sg : bool
        True for skip-gram (shared outputs per window), False for CBOW.
    window : int >= 1
        Largest window (:func:`train_range`).
    negative : int >= 0, default 5
        Negatives drawn per window (a draw equal to the target is skipped); 0 trains no negative
        sampling, and then ``hs`` must be True.
    outside_vectors : ndarray, shape (V, d), float32, C-contiguous
        Negative sampling's output ("syn1neg") vectors, updated in place; needed when
        ``negative > 0``.
    noise_cum_table : ndarray, shape (V,), int64
        Cumulative noise counts (count**ns_exponent scaled so the last entry is 2**31 - 1),
        gensim's ``cum_table``; needed when ``negative > 0``.
    hs : bool, default False
        Train hierarchical softmax too (``node_vectors`` and ``tree`` needed).
    node_vectors : ndarray, shape (V, d), float32, C-contiguous
        The tree's inner-node ("syn1") vectors, updated in place.
    tree : HuffmanTree
        The words' paths (:func:`nnbasics.word2vec.vocab.huffman_tree`).
    shrink_windows : bool, default True
        Each center's window uniform in ``[1, window]`` (word2vec's), or always ``window``
        (gensim's ``shrink_windows=False``, no draw).
    cbow_mean : bool, default True
        CBOW from the mean of the contexts (gensim's ``cbow_mean=1``) or their sum
        (``cbow_mean=0``); skip-gram ignores it.
    shared_negatives : bool, default False
        Skip-gram with negative sampling: draw ``negative`` negatives for each (context, center)
        pair and train the pairs one after the other (word2vec.c's), or draw them once per
        window and train the window's pairs in one step against them (faster; measured in
        ``benchmarks/RESULTS.md``).  CBOW ignores it.
    lock_factors : ndarray, shape (V,), float32, optional
        gensim's ``vectors_lockf`` given per word: every step of word ``w``'s input vector is
        multiplied by ``lock_factors[w]`` (0 freezes it; the output layers train as usual).
        None, or all ones: no factor (the kernel then skips the multiplication).
    concurrent : bool, default False
        Several threads will call :func:`train_batch` with this config at once (the model's
        ``workers > 1``).  Hierarchical softmax then lets each thread step on its own copy of
        the top of the tree, published every few windows (:func:`_sync_top_nodes`), as
        :func:`train_batch` does for the ranges of a batch it splits among threads.  False:
        every step on the shared rows (and with one thread, a seed gives one result).

    Raises
    ------
    ValueError, TypeError
        An array of the wrong type, dtype, shape or layout, a table or tree that is not
        consistent, no output layer, or a bad setting.
    """
    _check_array("center_vectors", center_vectors, np.float32, 2)
    n_words, dim = center_vectors.shape
    if n_words < 1 or dim < 1:
        raise ValueError(f"the vectors must have at least one row and column, got {(n_words, dim)}")
    _check_matrix("center_vectors", center_vectors, (n_words, dim))
    _check_array("keep_probability", keep_probability, np.float32, 1)
    if keep_probability.shape[0] != n_words:
        raise ValueError(f"keep_probability has {keep_probability.shape[0]} entries, the "
                         f"vocabulary has {n_words}")
    window = _check_positive_int("window", window)
    negative = _check_positive_int("negative", negative, low=0)
    hs, sg = bool(hs), bool(sg)
    unused = np.zeros((0, dim), dtype=np.float32)
    if negative:
        outside_vectors = _check_matrix("outside_vectors", outside_vectors, (n_words, dim))
        table, guide, guide_shift = _noise_arrays(noise_cum_table, n_words)
    else:
        outside_vectors = unused
        table, guide, guide_shift = np.ones(1, np.int64), np.zeros(1, np.int32), 0
    if hs:
        node_vectors = _check_matrix("node_vectors", node_vectors, (n_words, dim))
        path_nodes, path_labels, path_offsets = _path_arrays(tree, n_words)
    elif negative:
        node_vectors = unused
        path_nodes, path_labels = np.zeros(0, np.int32), np.zeros(0, np.uint8)
        path_offsets = np.zeros(1, np.int64)
    else:
        raise ValueError("nothing to train: negative=0 needs hs=True (the full softmax is the "
                         "explicit path's, nnbasics.word2vec.reference)")
    if lock_factors is None:
        lock_factors = np.ones(0, dtype=np.float32)
    else:
        _check_array("lock_factors", lock_factors, np.float32, 1)
        if lock_factors.shape[0] != n_words:
            raise ValueError(f"lock_factors has {lock_factors.shape[0]} entries, the vocabulary "
                             f"has {n_words}")
        if not np.all(np.isfinite(lock_factors)):
            raise ValueError("lock_factors must be finite")
        if np.all(lock_factors == 1.0):
            lock_factors = np.ones(0, dtype=np.float32)  # the fast path: no factor at all
    return KernelConfig(
        center_vectors=center_vectors, outside_vectors=outside_vectors, node_vectors=node_vectors,
        keep_probability=keep_probability, noise_cum_table=table, noise_guide=guide,
        noise_guide_shift=guide_shift, path_nodes=path_nodes, path_labels=path_labels,
        path_offsets=path_offsets,
        max_path_length=int(np.diff(path_offsets).max(initial=0)), sg=sg, hs=hs,
        negative=negative, window=window, shrink_windows=bool(shrink_windows),
        cbow_mean=bool(cbow_mean), shared_negatives=bool(shared_negatives),
        lock_factors=lock_factors, concurrent=bool(concurrent),
    )


def train_batch(
    config: KernelConfig,
    tokens: NDArray[np.int32],
    sentence_ends: NDArray[np.int64],
    alpha_start: float,
    alpha_end: float,
    seed: int,
    n_threads: int = 1,
) -> tuple[float, int, int]:
    """Train on one batch of sentences, updating the configured matrices in place.

    Parameters
    ----------
    config : KernelConfig
        From :func:`kernel_config` (which checked its arrays).
    tokens : ndarray, shape (n,), int32
        Vocabulary indices of the batch's sentences concatenated (out-of-vocabulary words already
        dropped, subsampling not yet applied).
    sentence_ends : ndarray, shape (number of sentences,), int64
        Exclusive end offset of each sentence in ``tokens``; the last one equals ``n``.
    alpha_start, alpha_end : float
        Learning rate at the batch's first and last token, linear in between.
    seed : int
        Seed of the kernel's generator for this batch (subsampling, windows, negatives).
    n_threads : int >= 1, default 1
        Threads sharing the batch (contiguous token ranges, at least ``4 * window + 1`` tokens
        each) and the vectors, lock-free.

    Returns
    -------
    loss : float
        Sum over the batch of every loss term (each score's), accumulated in float64.
    n_loss_terms : int
        Positive pairs trained (skip-gram: (context, center) pairs; CBOW: centers predicted).
    n_effective_words : int
        Tokens kept after subsampling.

    Raises
    ------
    ValueError, TypeError
        A config not made by :func:`kernel_config`, tokens or sentence ends of the wrong type or
        out of range, a bad ``n_threads`` or learning rate.
    """
    if not isinstance(config, KernelConfig):
        raise TypeError(f"config must be a KernelConfig (kernel_config()), got "
                        f"{type(config).__name__}")
    n_words = config.center_vectors.shape[0]
    _check_array("tokens", tokens, np.int32, 1)
    _check_array("sentence_ends", sentence_ends, np.int64, 1)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= n_words):
        raise ValueError(f"tokens must be vocabulary indices in [0, {n_words})")
    if sentence_ends.size:
        if sentence_ends[-1] != tokens.size:
            raise ValueError(
                f"the last sentence end {sentence_ends[-1]} != number of tokens {tokens.size}"
            )
        if sentence_ends[0] < 0 or np.any(np.diff(sentence_ends) < 0):
            raise ValueError("sentence_ends must be non-negative and non-decreasing")
    elif tokens.size:
        raise ValueError("sentence_ends is empty but tokens is not")
    n_threads = _check_positive_int("n_threads", n_threads)
    for name, value in (("alpha_start", alpha_start), ("alpha_end", alpha_end)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
    n_tokens = tokens.shape[0]
    if n_tokens == 0:
        return 0.0, 0, 0
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    alphas = (float(alpha_start), float(alpha_end))
    # at least 4 * window + 1 tokens a range: a window cut at a range's edge stays the exception
    n_threads = min(n_threads, max(1, n_tokens // (4 * config.window + 1)))
    # hierarchical softmax beside other threads: each keeps a copy of the top of the tree
    n_top = 0
    if config.hs and (config.concurrent or n_threads > 1):
        n_top = min(_TOP_NODES, max(config.node_vectors.shape[0] - 1, 0))
    if n_threads == 1:
        loss, pairs, kept = train_range(config, tokens, sentence_ends, 0, n_tokens, *alphas,
                                        n_tokens, seed, 0, n_top)
        return float(loss), int(pairs), int(kept)
    bounds = [n_tokens * t // n_threads for t in range(n_threads + 1)]
    pool = _pool(n_threads - 1)
    jobs = [
        pool.submit(train_range, config, tokens, sentence_ends, bounds[t], bounds[t + 1],
                    *alphas, n_tokens, seed, t, n_top)
        for t in range(1, n_threads)
    ]
    # this thread: range 0; losses added with fsum, whatever order the threads finish in
    results = [train_range(config, tokens, sentence_ends, bounds[0], bounds[1], *alphas,
                           n_tokens, seed, 0, n_top)]
    results += [job.result() for job in jobs]
    return (math.fsum(r[0] for r in results), sum(int(r[1]) for r in results),
            sum(int(r[2]) for r in results))
