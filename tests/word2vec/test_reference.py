"""Tests of nnbasics.word2vec.reference.train_batch: exact SGD steps built on the objectives."""

import numpy as np
import pytest

from nnbasics.word2vec.objectives import (
    cbow,
    naive_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
)
from nnbasics.word2vec.reference import train_batch
from nnbasics.word2vec.vocab import NOISE_TABLE_DOMAIN, noise_cum_table

V, D = 4, 3
# A noise table that always draws word 0: the negatives of a step are known in advance.
ALWAYS_WORD_0 = np.full(V, NOISE_TABLE_DOMAIN, dtype=np.int64)
KEEP_ALL = np.ones(V, dtype=np.float32)


def vectors(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.5, (V, D)).astype(np.float32),
            rng.normal(0, 0.5, (V, D)).astype(np.float32))


def run(center_vectors, outside_vectors, tokens, ends, sg, negative, window=1, alpha=(0.1, 0.1),
        table=ALWAYS_WORD_0, keep=KEEP_ALL, seed=0):
    return train_batch(center_vectors, outside_vectors, np.array(tokens, np.int32),
                       np.array(ends, np.int64), keep, table, sg, window, negative, alpha[0],
                       alpha[1], seed)


def sgd(C, U, center, target, objective, alpha, context=None):
    """One explicit update: gradients at the current vectors, then both steps."""
    if context is None:
        loss, g_v, g_U = objective(C[center].astype(np.float64), target, U.astype(np.float64))
        C[center] -= alpha * g_v
    else:
        loss, g_C, g_U = cbow(target, context, C.astype(np.float64), U.astype(np.float64),
                              objective)
        C -= alpha * g_C
    U -= alpha * g_U
    return loss


@pytest.mark.parametrize("negative", [0, 2])
def test_skipgram_pair_updates_are_exact_sgd_steps(negative):
    C, U = vectors(1)
    loss, pairs, kept = run(C, U, [1, 2], [2], sg=True, negative=negative)
    assert (pairs, kept) == (2, 2)
    objective = (naive_softmax_loss_and_gradient if negative == 0 else
                 lambda v, o, U_: neg_sampling_loss_and_gradient(v, o, U_, [0] * negative))
    C_ref, U_ref = (a.astype(np.float64) for a in vectors(1))
    # window 1: the pair (1 -> 2), then (2 -> 1), each with the vectors the previous one left
    expected = sgd(C_ref, U_ref, 1, 2, objective, 0.1) + sgd(C_ref, U_ref, 2, 1, objective, 0.1)
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(C, C_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, rtol=1e-5, atol=1e-6)


def test_cbow_update_is_an_exact_sgd_step():
    C, U = vectors(2)
    # sentence [1, 2, 3], window 1: centers 1 (context [2]), 2 (context [1, 3]), 3 (context [2])
    loss, pairs, kept = run(C, U, [1, 2, 3], [3], sg=False, negative=3)
    assert (pairs, kept) == (3, 3)
    objective = lambda v, o, U_: neg_sampling_loss_and_gradient(v, o, U_, [0, 0, 0])  # noqa: E731
    C_ref, U_ref = (a.astype(np.float64) for a in vectors(2))
    expected = sum(sgd(C_ref, U_ref, None, center, objective, 0.1, context)
                   for center, context in ((1, [2]), (2, [1, 3]), (3, [2])))
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(C, C_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, rtol=1e-5, atol=1e-6)


def test_a_negative_equal_to_the_target_is_skipped():
    C, U = vectors(3)
    C0, U0 = C.copy(), U.copy()
    # every draw is word 0, the target of the pair (1 -> 0): no negatives remain
    run(C, U, [1, 0], [2], sg=True, negative=5, seed=4)
    C_ref, U_ref = C0.astype(np.float64), U0.astype(np.float64)
    # pair (1 -> 0): all five draws equal the target and are skipped; pair (0 -> 1): five 0s
    for center, target, negatives in ((1, 0, []), (0, 1, [0] * 5)):
        objective = lambda v, o, U_, k=negatives: neg_sampling_loss_and_gradient(v, o, U_, k)  # noqa: E731
        sgd(C_ref, U_ref, center, target, objective, 0.1)
    np.testing.assert_allclose(C, C_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(U, U_ref, rtol=1e-5, atol=1e-6)


def test_windows_stay_inside_sentences_and_counts_add_up():
    C, U = vectors(4)
    # two sentences of 2 words: window 3 still gives only 2 pairs per sentence
    loss, pairs, kept = run(C, U, [1, 2, 3, 1], [2, 4], sg=True, negative=1, window=3)
    assert (pairs, kept) == (4, 4) and loss > 0


def test_subsampling_drops_words_before_windows():
    C, U = vectors(5)
    C0 = C.copy()
    keep = np.array([1, 0, 1, 1], dtype=np.float32)  # word 1 never kept
    _, pairs, kept = run(C, U, [2, 1, 3], [3], sg=True, negative=1, keep=keep)
    # without word 1, words 2 and 3 become neighbours at distance 1
    assert (pairs, kept) == (2, 2)
    np.testing.assert_array_equal(C[1], C0[1])


def test_same_seed_same_result_and_different_seed_differs():
    table = noise_cum_table(np.array([5, 4, 3, 2]))
    tokens, ends = [0, 1, 2, 3, 2, 1, 0, 3, 3, 1], [6, 10]
    results = []
    for seed in (7, 7, 8):
        C, U = vectors(6)
        run(C, U, tokens, ends, sg=True, negative=2, window=2, table=table, seed=seed)
        results.append(C)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], results[2])


def test_learning_rate_decays_linearly_over_the_batch():
    # with alpha_end = 0 the second pair of the 2-token batch trains at half the first's rate
    C, U = vectors(7)
    C_ref, U_ref = (a.astype(np.float64) for a in vectors(7))
    run(C, U, [1, 2], [2], sg=True, negative=0, alpha=(0.2, 0.0))
    sgd(C_ref, U_ref, 1, 2, naive_softmax_loss_and_gradient, 0.2)
    sgd(C_ref, U_ref, 2, 1, naive_softmax_loss_and_gradient, 0.1)
    np.testing.assert_allclose(C, C_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (dict(window=0), "window"),
    (dict(negative=-1), "negative"),
    (dict(ends=[1]), "sentence_ends"),
    (dict(tokens=[1, 9]), "outside the vocabulary"),
])
def test_bad_input(bad, match):
    C, U = vectors()
    args = dict(tokens=[1, 2], ends=[2], sg=True, negative=1) | bad
    with pytest.raises(ValueError, match=match):
        run(C, U, **args)
