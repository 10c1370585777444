"""Tests of nnbasics.word2vec.objectives: values, gradients (gradcheck and torch), accumulation."""

from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.word2vec.objectives import (
    cbow,
    naive_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
    skipgram,
)

V, D = 6, 4
NEGATIVES = np.array([2, 5, 2, 1, 2])  # word 2 three times


def neg_objective(negatives=NEGATIVES):
    return partial(neg_sampling_loss_and_gradient, negative_indices=negatives)


OBJECTIVES = {
    "naive softmax": naive_softmax_loss_and_gradient,
    "negative sampling": neg_objective(),
}


@pytest.fixture
def vectors(rng):
    return rng.normal(size=(V, D)), rng.normal(size=(V, D))


# -- per-pair objectives ------------------------------------------------------------------------


def test_naive_softmax_value_by_hand():
    U = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    v = np.array([2.0, -1.0])
    scores = np.array([2.0, -1.0, 1.0])
    expected = -(scores[1] - np.log(np.exp(scores).sum()))
    loss, gv, gU = naive_softmax_loss_and_gradient(v, 1, U)
    assert loss == pytest.approx(expected)
    p = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(gv, U.T @ (p - np.eye(3)[1]))
    np.testing.assert_allclose(gU, np.outer(p - np.eye(3)[1], v))


def test_neg_sampling_value_by_hand():
    U = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    v = np.array([0.5, -1.0])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    expected = -np.log(sig(U[0] @ v)) - np.log(sig(-U[2] @ v)) - np.log(sig(-U[1] @ v))
    loss, _, _ = neg_sampling_loss_and_gradient(v, 0, U, [2, 1])
    assert loss == pytest.approx(expected)


@pytest.mark.parametrize("name", list(OBJECTIVES))
@pytest.mark.parametrize("wrt", ["center", "outside"])
def test_pair_objective_gradcheck(name, wrt, vectors):
    objective = OBJECTIVES[name]
    center_vectors, outside_vectors = vectors
    v_c = center_vectors[0]
    if wrt == "center":
        assert_gradcheck(lambda v: objective(v, 3, outside_vectors)[:2], v_c, name=name)
    else:
        assert_gradcheck(lambda U: objective(v_c, 3, U)[::2], outside_vectors, name=name)


def test_repeated_negatives_accumulate(vectors):
    center_vectors, U = vectors
    v = center_vectors[1]
    loss, gv, gU = neg_sampling_loss_and_gradient(v, 0, U, NEGATIVES)
    # the same loss as a sum of one-negative terms: gradients must add up term by term
    total_loss, total_gv, total_gU = 0.0, np.zeros(D), np.zeros((V, D))
    positive_only = neg_sampling_loss_and_gradient(v, 0, U, [])
    for k in NEGATIVES:
        lk, gvk, gUk = neg_sampling_loss_and_gradient(v, 0, U, [k])
        total_loss += lk - positive_only[0]
        total_gv += gvk - positive_only[1]
        total_gU += gUk - positive_only[2]
    np.testing.assert_allclose(loss, total_loss + positive_only[0])
    np.testing.assert_allclose(gv, total_gv + positive_only[1])
    np.testing.assert_allclose(gU, total_gU + positive_only[2])
    # word 2 drawn three times: its row is three times the single-draw row
    once = neg_sampling_loss_and_gradient(v, 0, U, [2])[2][2]
    np.testing.assert_allclose(gU[2], 3 * once)


def test_objectives_are_stable_for_huge_scores():
    U = np.array([[1000.0, 0.0], [-1000.0, 0.0], [0.0, 1000.0]])
    v = np.array([1.0, 0.0])
    for objective in (naive_softmax_loss_and_gradient, neg_objective([2, 0, 1])):
        for target in range(3):
            loss, gv, gU = objective(v, target, U)
            assert np.isfinite(loss) and np.all(np.isfinite(gv)) and np.all(np.isfinite(gU))
    assert naive_softmax_loss_and_gradient(v, 1, U)[0] == pytest.approx(2000.0)
    assert neg_sampling_loss_and_gradient(v, 1, U, [0])[0] == pytest.approx(2000.0)


def test_float32_stays_float32(vectors):
    center_vectors, outside_vectors = (a.astype(np.float32) for a in vectors)
    for objective in OBJECTIVES.values():
        _, gv, gU = objective(center_vectors[0], 1, outside_vectors)
        assert gv.dtype == np.float32 and gU.dtype == np.float32


@given(st.integers(2, 8), st.integers(1, 5), st.integers(0, 10_000))
def test_naive_softmax_outside_gradient_columns_sum_to_zero(n_words, dim, seed):
    # dJ/dU = (ŷ - y) v_cᵀ and ŷ - y sums to 0: every column of the gradient sums to 0
    rng = np.random.default_rng(seed)
    U, v = rng.normal(0, 3, (n_words, dim)), rng.normal(0, 3, dim)
    loss, _, gU = naive_softmax_loss_and_gradient(v, int(rng.integers(n_words)), U)
    assert loss >= 0
    np.testing.assert_allclose(gU.sum(axis=0), 0.0, atol=1e-9)


@pytest.mark.parametrize("bad", [
    dict(center_vec=np.zeros(3)),  # wrong d
    dict(outside_idx=V),  # out of range
    dict(outside_vectors=np.zeros(D)),  # not 2-D
])
def test_pair_objective_bad_input(bad, vectors):
    args = dict(center_vec=np.zeros(D), outside_idx=0, outside_vectors=vectors[1]) | bad
    with pytest.raises(ValueError):
        naive_softmax_loss_and_gradient(**args)
    with pytest.raises(ValueError, match="negative_indices"):
        neg_sampling_loss_and_gradient(np.zeros(D), 0, vectors[1], [V])


# -- window models --------------------------------------------------------------------------------

CONTEXT = [1, 4, 4, 5]  # word 4 twice


def cbow_sum(*args, **kwargs):
    """CBOW from the sum of the context vectors (gensim's ``cbow_mean=0``)."""
    return cbow(*args, **kwargs, mean=False)


@pytest.mark.parametrize("model", [skipgram, cbow, cbow_sum])
@pytest.mark.parametrize("name", list(OBJECTIVES))
@pytest.mark.parametrize("wrt", ["center", "outside"])
def test_window_model_gradcheck(model, name, wrt, vectors):
    objective = OBJECTIVES[name]
    center_vectors, outside_vectors = vectors
    if wrt == "center":
        f = lambda C: model(0, CONTEXT, C, outside_vectors, objective)[:2]  # noqa: E731
        x = center_vectors
    else:
        f = lambda U: model(0, CONTEXT, center_vectors, U, objective)[::2]  # noqa: E731
        x = outside_vectors
    assert_gradcheck(f, x, name=f"{model.__name__} {name} d{wrt}")


def test_skipgram_is_the_sum_of_its_pairs(vectors):
    center_vectors, U = vectors
    loss, gC, gU = skipgram(2, CONTEXT, center_vectors, U, naive_softmax_loss_and_gradient)
    pairs = [naive_softmax_loss_and_gradient(center_vectors[2], o, U) for o in CONTEXT]
    assert loss == pytest.approx(sum(p[0] for p in pairs))
    np.testing.assert_allclose(gC[2], sum(p[1] for p in pairs))
    np.testing.assert_allclose(np.delete(gC, 2, axis=0), 0.0)
    np.testing.assert_allclose(gU, sum(p[2] for p in pairs))


def test_cbow_predicts_from_the_mean_of_the_context(vectors):
    center_vectors, U = vectors
    loss, gC, gU = cbow(2, CONTEXT, center_vectors, U, naive_softmax_loss_and_gradient)
    h = center_vectors[CONTEXT].mean(axis=0)
    l_h, g_h, gU_h = naive_softmax_loss_and_gradient(h, 2, U)
    assert loss == pytest.approx(l_h)
    np.testing.assert_allclose(gU, gU_h)
    np.testing.assert_allclose(gC[4], 2 * g_h / 4)  # repeated context word: twice the share
    np.testing.assert_allclose(gC[1], g_h / 4)
    np.testing.assert_allclose(gC[[0, 2, 3]], 0.0)


def test_cbow_sum_predicts_from_the_sum_of_the_context(vectors):
    center_vectors, U = vectors
    loss, gC, gU = cbow(2, CONTEXT, center_vectors, U, naive_softmax_loss_and_gradient, mean=False)
    h = center_vectors[CONTEXT].sum(axis=0)
    l_h, g_h, gU_h = naive_softmax_loss_and_gradient(h, 2, U)
    assert loss == pytest.approx(l_h)
    np.testing.assert_allclose(gU, gU_h)
    np.testing.assert_allclose(gC[4], 2 * g_h)  # repeated context word: twice the gradient
    np.testing.assert_allclose(gC[1], g_h)
    np.testing.assert_allclose(gC[[0, 2, 3]], 0.0)


def test_window_models_bad_input(vectors):
    center_vectors, U = vectors
    with pytest.raises(ValueError, match="at least one context"):
        cbow(0, [], center_vectors, U)
    with pytest.raises(ValueError, match="same shape"):
        skipgram(0, [1], center_vectors, U[:3])
    with pytest.raises(ValueError, match="out of range"):
        skipgram(0, [V], center_vectors, U)
    with pytest.raises(ValueError, match="center_idx"):
        cbow(V, [1], center_vectors, U)


# -- against torch autograd -----------------------------------------------------------------------


def _torch_losses(torch, C, U, model, name):
    """The same window loss written with torch operations, for autograd."""
    F = torch.nn.functional

    def pair(v, o):
        if name == "naive softmax":
            return -F.log_softmax(U @ v, dim=0)[o]
        neg = torch.as_tensor(NEGATIVES)
        return -F.logsigmoid(U[o] @ v) - F.logsigmoid(-(U[neg] @ v)).sum()

    if model is skipgram:
        return sum(pair(C[0], o) for o in CONTEXT)
    if model is cbow_sum:
        return pair(C[CONTEXT].sum(dim=0), 0)
    return pair(C[CONTEXT].mean(dim=0), 0)


@pytest.mark.parametrize("model", [skipgram, cbow, cbow_sum])
@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_window_models_match_torch_autograd(model, name, vectors):
    torch = pytest.importorskip("torch")
    center_vectors, outside_vectors = vectors
    C = torch.tensor(center_vectors, requires_grad=True, dtype=torch.float64)
    U = torch.tensor(outside_vectors, requires_grad=True, dtype=torch.float64)
    loss_t = _torch_losses(torch, C, U, model, name)
    loss_t.backward()
    loss, gC, gU = model(0, CONTEXT, center_vectors, outside_vectors, OBJECTIVES[name])
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(gC, C.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gU, U.grad.numpy(), rtol=1e-10, atol=1e-12)
