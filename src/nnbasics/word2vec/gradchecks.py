"""The word2vec entries of ``nnbasics check``: every objective, gradient-checked on tiny inputs.

Each check differentiates with respect to one whole argument (the center vector, or a full vector
matrix) on a 5-word, 3-dimensional problem, with a fixed seed.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nnbasics.core.checks import register
from nnbasics.core.gradcheck import GradCheckResult, gradcheck
from nnbasics.word2vec.objectives import (
    cbow,
    hierarchical_softmax_loss_and_gradient,
    naive_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
    skipgram,
)
from nnbasics.word2vec.vocab import huffman_tree

__all__: list[str] = []

_N_WORDS, _DIM = 5, 3
# Index 2 twice: a repeated negative must count twice (np.add.at, not fancy-index assignment).
_NEGATIVES = np.array([2, 4, 2, 1])
# Counts with a tie: paths of lengths 2 and 3, both turns (codes 0 and 1) on them.
_TREE = huffman_tree(np.array([6, 4, 3, 3, 1]))
_HIERARCHICAL = partial(hierarchical_softmax_loss_and_gradient, codes=_TREE.codes,
                        points=_TREE.points)


def _vectors(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(_N_WORDS, _DIM)), rng.normal(size=(_N_WORDS, _DIM))


def _pair_check(objective, seed: int) -> tuple[GradCheckResult, GradCheckResult]:
    center_vectors, outside_vectors = _vectors(seed)
    v_c = center_vectors[0]
    by_center = gradcheck(lambda v: objective(v, 3, outside_vectors)[:2], v_c)
    by_outside = gradcheck(lambda U: objective(v_c, 3, U)[::2], outside_vectors)
    return by_center, by_outside


def _worse(a: GradCheckResult, b: GradCheckResult) -> GradCheckResult:
    return a if (not a.passed or a.max_rel_error >= b.max_rel_error) else b


@register("word2vec naive softmax")
def _check_naive_softmax() -> GradCheckResult:
    return _worse(*_pair_check(naive_softmax_loss_and_gradient, 11))


@register("word2vec negative sampling (repeated negatives)")
def _check_neg_sampling() -> GradCheckResult:
    objective = partial(neg_sampling_loss_and_gradient, negative_indices=_NEGATIVES)
    return _worse(*_pair_check(objective, 12))


@register("word2vec hierarchical softmax")
def _check_hierarchical_softmax() -> GradCheckResult:
    """Every word of the tree as the target: each path, each turn."""
    center_vectors, node_vectors = _vectors(15)
    v_c = center_vectors[0]
    worst = None
    for word in range(_N_WORDS):
        for result in (
            gradcheck(lambda v, w=word: _HIERARCHICAL(v, w, node_vectors)[:2], v_c),
            gradcheck(lambda U, w=word: _HIERARCHICAL(v_c, w, U)[::2], node_vectors),
        ):
            worst = result if worst is None else _worse(worst, result)
    return worst


def _window_check(model, seed: int) -> GradCheckResult:
    """Both vector sets, with negative sampling, the naive and the hierarchical softmax."""
    center_vectors, outside_vectors = _vectors(seed)
    context = [1, 3, 3, 4]  # word 3 twice: its gradient must accumulate too
    worst = None
    for objective in (partial(neg_sampling_loss_and_gradient, negative_indices=_NEGATIVES),
                      naive_softmax_loss_and_gradient, _HIERARCHICAL):
        by_center = gradcheck(
            lambda V, f=objective: model(0, context, V, outside_vectors, f)[:2], center_vectors
        )
        by_outside = gradcheck(
            lambda U, f=objective: model(0, context, center_vectors, U, f)[::2], outside_vectors
        )
        for result in (by_center, by_outside):
            worst = result if worst is None else _worse(worst, result)
    return worst


@register("word2vec skip-gram")
def _check_skipgram() -> GradCheckResult:
    return _window_check(skipgram, 13)


@register("word2vec CBOW")
def _check_cbow() -> GradCheckResult:
    return _window_check(cbow, 14)


@register("word2vec CBOW, summed context")
def _check_cbow_sum() -> GradCheckResult:
    return _window_check(partial(cbow, mean=False), 16)
