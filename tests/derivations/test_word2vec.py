"""docs/word2vec.md, checked: the naive-softmax and negative-sampling gradients, repeated negatives,
skip-gram and CBOW, the cost per pair (O(Vd) against O(Kd)), counted without a clock, and
hierarchical softmax (a distribution, its gradients, its cost and the Huffman tree's depth)."""

from functools import partial

import numpy as np
import pytest

from nnbasics.core.activations import sigmoid, softmax
from nnbasics.core.gradcheck import gradcheck
from nnbasics.word2vec import objectives

V, d = 7, 4  # vocabulary, vector size


@pytest.fixture
def vectors(rng):
    """center vector v_c (d,), outside vectors U (V, d), at a scale where the scores vary."""
    return rng.normal(0, 0.8, d), rng.normal(0, 0.8, (V, d))


def check_pair_gradients(loss_and_gradient, v_c, U, **kwargs):
    """Gradient-check a per-pair objective with respect to v_c and to U (every row)."""

    def wrt_center(x):
        loss, grad_v, _ = loss_and_gradient(x, U=U)
        return loss, grad_v

    def wrt_outside(x):
        loss, _, grad_U = loss_and_gradient(v_c, U=x)
        return loss, grad_U

    for f, x in ((wrt_center, v_c), (wrt_outside, U)):
        result = gradcheck(f, x, tol=1e-8, **kwargs)
        assert result.passed, result.describe()


# -------------------------------------------------------------------------------------------------
# naive softmax
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("o", [0, 3, V - 1])
def test_naive_softmax_gradients(vectors, o):
    v_c, U = vectors
    loss, grad_v, grad_U = objectives.naive_softmax_loss_and_gradient(v_c, o, U)
    y_hat = softmax(U @ v_c)
    y = np.eye(V)[o]
    assert loss == pytest.approx(-np.log(y_hat[o]), rel=1e-13)
    np.testing.assert_allclose(grad_v, U.T @ (y_hat - y), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_U, np.outer(y_hat - y, v_c), rtol=1e-12, atol=1e-15)
    check_pair_gradients(
        lambda x, U: objectives.naive_softmax_loss_and_gradient(x, o, U), v_c, U)


def test_naive_softmax_moves_every_outside_vector(vectors):
    # the common mistake: updating u_o only. Row w != o gets y_hat_w v_c, row o gets
    # (y_hat_o - 1) v_c: every row is non-zero and the row weights sum to zero
    v_c, U = vectors
    _, _, grad_U = objectives.naive_softmax_loss_and_gradient(v_c, 2, U)
    assert np.all(np.abs(grad_U).sum(axis=1) > 0)
    weights = grad_U @ v_c / (v_c @ v_c)  # the coefficient of v_c in each row
    y_hat = softmax(U @ v_c)
    np.testing.assert_allclose(weights, y_hat - np.eye(V)[2], atol=1e-14)
    assert abs(weights.sum()) < 1e-14


def test_naive_softmax_with_large_scores(rng):
    # edge case: scores of order 1e3, where exp overflows; the loss is finite (log-sum-exp)
    v_c = rng.normal(0, 30, d)
    U = rng.normal(0, 30, (V, d))
    loss, grad_v, grad_U = objectives.naive_softmax_loss_and_gradient(v_c, 1, U)
    scores = U @ v_c
    assert np.isfinite(loss) and np.all(np.isfinite(grad_v)) and np.all(np.isfinite(grad_U))
    assert loss == pytest.approx(np.logaddexp.reduce(scores) - scores[1], rel=1e-12)


def test_naive_softmax_matches_torch(vectors):
    torch = pytest.importorskip("torch")
    v_c, U = vectors
    vt = torch.tensor(v_c, requires_grad=True)
    Ut = torch.tensor(U, requires_grad=True)
    loss_t = -torch.log_softmax(Ut @ vt, dim=0)[4]
    loss_t.backward()
    loss, grad_v, grad_U = objectives.naive_softmax_loss_and_gradient(v_c, 4, U)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad_v, vt.grad.numpy(), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_U, Ut.grad.numpy(), rtol=1e-11, atol=1e-14)


# -------------------------------------------------------------------------------------------------
# negative sampling
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("negatives", [[1, 4, 5], [5], [1, 4, 4, 6, 4], [2, 4, 2]],
                         ids=["distinct", "one", "repeated", "o-drawn-twice"])
def test_neg_sampling_gradients(vectors, negatives):
    v_c, U = vectors
    o = 2
    loss, grad_v, grad_U = objectives.neg_sampling_loss_and_gradient(v_c, o, U, negatives)
    u_o, u_k = U[o], U[negatives]  # u_k: (K, d), one row per occurrence
    assert loss == pytest.approx(
        -np.log(sigmoid(u_o @ v_c)) - np.sum(np.log(sigmoid(-u_k @ v_c))), rel=1e-13)
    expected_v = (sigmoid(u_o @ v_c) - 1) * u_o + sigmoid(u_k @ v_c) @ u_k
    np.testing.assert_allclose(grad_v, expected_v, rtol=1e-12, atol=1e-15)
    expected_U = np.zeros_like(U)
    expected_U[o] = (sigmoid(u_o @ v_c) - 1) * v_c
    for k in negatives:  # one term per occurrence, added to u_o's own if k == o
        expected_U[k] += sigmoid(U[k] @ v_c) * v_c
    np.testing.assert_allclose(grad_U, expected_U, rtol=1e-12, atol=1e-15)
    check_pair_gradients(
        lambda x, U: objectives.neg_sampling_loss_and_gradient(x, o, U, negatives), v_c, U)


def test_repeated_negatives_accumulate(vectors):
    # a negative drawn m times is m terms of the loss: m times the gradient row. The classic bug,
    # grad[idx] += rows with fancy indexing, keeps only one of the repeats and fails the check
    v_c, U = vectors
    o, k = 0, 3
    loss1, _, once = objectives.neg_sampling_loss_and_gradient(v_c, o, U, [k])
    loss3, _, thrice = objectives.neg_sampling_loss_and_gradient(v_c, o, U, [k, k, k])
    np.testing.assert_allclose(thrice[k], 3 * once[k], rtol=1e-14)
    assert loss3 == pytest.approx(loss1 - 2 * np.log(sigmoid(-U[k] @ v_c)), rel=1e-13)

    def buggy(x):
        negatives = np.array([k, k, k])
        loss, _, grad = objectives.neg_sampling_loss_and_gradient(v_c, o, x, negatives)
        wrong = np.zeros_like(x)
        wrong[o] = grad[o]
        wrong[negatives] += sigmoid(x[negatives] @ v_c)[:, None] * v_c  # overwrites, no sum
        return loss, wrong

    assert not gradcheck(buggy, U).passed


def test_neg_sampling_with_large_scores(rng):
    # edge case: |u . v_c| ~ 1e3; -log sigma(z) = log(1 + e^{-z}) must not overflow or give inf
    v_c = rng.normal(0, 30, d)
    U = rng.normal(0, 30, (V, d))
    loss, grad_v, grad_U = objectives.neg_sampling_loss_and_gradient(v_c, 0, U, [1, 2, 3])
    z = np.concatenate([[U[0] @ v_c], -(U[[1, 2, 3]] @ v_c)])
    assert loss == pytest.approx(np.sum(np.logaddexp(0, -z)), rel=1e-12)
    assert np.all(np.isfinite(grad_v)) and np.all(np.isfinite(grad_U))


def test_neg_sampling_matches_torch(vectors):
    torch = pytest.importorskip("torch")
    v_c, U = vectors
    negatives = [1, 5, 5]
    vt = torch.tensor(v_c, requires_grad=True)
    Ut = torch.tensor(U, requires_grad=True)
    F = torch.nn.functional
    loss_t = -F.logsigmoid(Ut[0] @ vt) - F.logsigmoid(-(Ut[negatives] @ vt)).sum()
    loss_t.backward()
    loss, grad_v, grad_U = objectives.neg_sampling_loss_and_gradient(v_c, 0, U, negatives)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad_v, vt.grad.numpy(), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_U, Ut.grad.numpy(), rtol=1e-11, atol=1e-14)


# -------------------------------------------------------------------------------------------------
# skip-gram and CBOW
# -------------------------------------------------------------------------------------------------

PAIR_OBJECTIVES = {
    "naive": objectives.naive_softmax_loss_and_gradient,
    "negative": partial(objectives.neg_sampling_loss_and_gradient, negative_indices=[1, 6, 6]),
}


def check_window_model(model, center_idx, context, center_vectors, outside_vectors, objective):
    both = np.concatenate([center_vectors.ravel(), outside_vectors.ravel()])

    def f(x):
        cv, ov = x[: V * d].reshape(V, d), x[V * d :].reshape(V, d)
        loss, g_cv, g_ov = model(center_idx, context, cv, ov, objective)
        return loss, np.concatenate([g_cv.ravel(), g_ov.ravel()])

    result = gradcheck(f, both, tol=1e-8)
    assert result.passed, result.describe()


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
def test_skipgram(rng, name):
    objective = PAIR_OBJECTIVES[name]
    center_vectors, outside_vectors = rng.normal(0, 0.8, (2, V, d))
    c, outside = 3, [0, 2, 2, 5]  # a repeated outside word counts twice
    loss, g_cv, g_ov = objectives.skipgram(c, outside, center_vectors, outside_vectors, objective)
    # J = sum over the window's pairs, all evaluated at v_c
    pairs = [objective(center_vectors[c], o, outside_vectors) for o in outside]
    assert loss == pytest.approx(sum(p[0] for p in pairs), rel=1e-13)
    np.testing.assert_allclose(g_cv[c], sum(p[1] for p in pairs), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_ov, sum(p[2] for p in pairs), rtol=1e-12, atol=1e-15)
    assert not np.any(np.delete(g_cv, c, axis=0))  # only v_c is used, so only v_c moves
    check_window_model(objectives.skipgram, c, outside, center_vectors, outside_vectors,
                       objective)


@pytest.mark.parametrize("name", PAIR_OBJECTIVES)
def test_cbow(rng, name):
    objective = PAIR_OBJECTIVES[name]
    center_vectors, outside_vectors = rng.normal(0, 0.8, (2, V, d))
    c, context = 3, [0, 2, 2, 5]
    loss, g_cv, g_ov = objectives.cbow(c, context, center_vectors, outside_vectors, objective)
    h = center_vectors[context].mean(axis=0)
    pair_loss, grad_h, grad_U = objective(h, c, outside_vectors)
    assert loss == pytest.approx(pair_loss, rel=1e-13)
    np.testing.assert_allclose(g_ov, grad_U, rtol=1e-12, atol=1e-15)
    # each occurrence of a context word gets dJ/dh / C: word 2 appears twice
    np.testing.assert_allclose(g_cv[2], 2 * grad_h / 4, rtol=1e-12)
    np.testing.assert_allclose(g_cv[0], grad_h / 4, rtol=1e-12)
    check_window_model(objectives.cbow, c, context, center_vectors, outside_vectors, objective)


# -------------------------------------------------------------------------------------------------
# cost per pair: O(Vd) against O(Kd), counted
# -------------------------------------------------------------------------------------------------


def entries_read(loss_and_gradient, v_c, U) -> int:
    """Count the entries of U that the results (loss and both gradients) depend on.

    Each entry is replaced by NaN in turn; if any output changes, the function used that entry in
    arithmetic.  This is a lower bound on the work of *any* implementation of the same function
    (each such entry takes at least one multiply-add), measured without a clock.
    """
    reference = loss_and_gradient(v_c, U)
    count = 0
    for idx in np.ndindex(U.shape):
        poisoned = U.copy()
        poisoned[idx] = np.nan
        with np.errstate(invalid="ignore"):  # NaN in, NaN out: that is the point
            outputs = loss_and_gradient(v_c, poisoned)
        same = all(np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(outputs, reference, strict=True))
        count += not same
    return count


def test_neg_sampling_does_arithmetic_on_k_plus_one_rows_only(rng):
    # every row but u_o and the negatives' is set to 1e308, where any dot product with v_c (entries
    # in [0.5, 1], three terms) overflows. With overflow raising an error, nnbasics' negative
    # sampling still runs, with the results of the K' + 1 rows alone: it does no arithmetic on the
    # other V - K' - 1 rows, whatever V. The naive softmax cannot avoid them.
    vocabulary, dim, o, negatives = 1000, 3, 0, [1, 4, 4, 7]
    used = [0, 1, 4, 7]
    v_c = rng.uniform(0.5, 1.0, dim)
    U = np.full((vocabulary, dim), 1e308)
    U[used] = rng.normal(0, 0.5, (len(used), dim))
    with np.errstate(over="raise", invalid="raise"):
        loss, grad_v, grad_U = objectives.neg_sampling_loss_and_gradient(v_c, o, U, negatives)
        # the same pair on a vocabulary of the K' + 1 rows only (word 1 -> 1, 4 -> 2, 7 -> 3)
        small = objectives.neg_sampling_loss_and_gradient(v_c, 0, U[used], [1, 2, 2, 3])
        with pytest.raises(FloatingPointError):
            objectives.naive_softmax_loss_and_gradient(v_c, o, U)
    assert loss == pytest.approx(small[0], rel=1e-15, abs=0)
    np.testing.assert_allclose(grad_v, small[1], rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad_U[used], small[2], rtol=1e-15, atol=0)
    assert not np.any(np.delete(grad_U, used, axis=0))


@pytest.mark.parametrize("vocabulary", [10, 40, 160])
def test_cost_per_pair(rng, vocabulary):
    dim, negatives = 3, [1, 4, 4, 7]  # K = 4 draws, 3 distinct words
    v_c = rng.normal(0, 0.5, dim)
    U = rng.normal(0, 0.5, (vocabulary, dim))
    naive = entries_read(
        lambda v, u: objectives.naive_softmax_loss_and_gradient(v, 0, u), v_c, U)
    negative = entries_read(
        lambda v, u: objectives.neg_sampling_loss_and_gradient(v, 0, u, negatives), v_c, U)
    assert naive == vocabulary * dim  # every score u_w . v_c enters the normaliser: V d
    assert negative == (len(set(negatives)) + 1) * dim  # only u_o and the negatives: <= (K+1) d


# -------------------------------------------------------------------------------------------------
# hierarchical softmax
# -------------------------------------------------------------------------------------------------

COUNTS = np.array([12, 9, 5, 5, 4, 2, 1])  # V = 7 words, in vocabulary order, one tie


def hs_objective(counts=COUNTS):
    from nnbasics.word2vec.vocab import huffman_tree

    tree = huffman_tree(counts)
    return tree, partial(objectives.hierarchical_softmax_loss_and_gradient, codes=tree.codes,
                         points=tree.points)


@pytest.mark.parametrize("seed", range(5))
def test_hierarchical_softmax_is_a_distribution(seed):
    rng = np.random.default_rng(seed)
    n_words = int(rng.integers(2, 30))
    counts = np.sort(rng.integers(1, 100, n_words))[::-1]
    _, hs = hs_objective(counts)
    scale = [0.5, 3.0, 10.0, 10.0, 10.0][seed]  # scores up to ~ d * scale**2
    v_c, U = rng.normal(0, scale, d), rng.normal(0, scale, (n_words, d))
    p = np.exp(-np.array([hs(v_c, w, U)[0] for w in range(n_words)]))
    assert p.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("o", range(V))
def test_hierarchical_softmax_gradients(vectors, o):
    v_c, U = vectors
    tree, hs = hs_objective()
    b, nodes = tree.codes[o].astype(float), tree.points[o]
    s = 1 - 2 * b
    loss, grad_v, grad_U = hs(v_c, o, U)
    assert loss == pytest.approx(-np.sum(np.log(sigmoid(s * (U[nodes] @ v_c)))), rel=1e-13)
    g = sigmoid(U[nodes] @ v_c) - (1 - b)
    np.testing.assert_allclose(grad_v, g @ U[nodes], rtol=1e-12, atol=1e-15)
    expected_U = np.zeros_like(U)
    expected_U[nodes] = np.outer(g, v_c)
    np.testing.assert_allclose(grad_U, expected_U, rtol=1e-12, atol=1e-15)
    assert len(set(nodes.tolist())) == len(nodes)  # a path never repeats a node
    check_pair_gradients(lambda x, U: hs(x, o, U), v_c, U)


def test_hierarchical_softmax_matches_torch(vectors):
    torch = pytest.importorskip("torch")
    v_c, U = vectors
    tree, hs = hs_objective()
    o = V - 1  # the rarest word: the longest path
    vt = torch.tensor(v_c, requires_grad=True)
    Ut = torch.tensor(U, requires_grad=True)
    signs = torch.tensor(1.0 - 2.0 * tree.codes[o], dtype=torch.float64)
    nodes = torch.tensor(tree.points[o].astype(np.int64))
    loss_t = -torch.nn.functional.logsigmoid(signs * (Ut[nodes] @ vt)).sum()
    loss_t.backward()
    loss, grad_v, grad_U = hs(v_c, o, U)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad_v, vt.grad.numpy(), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(grad_U, Ut.grad.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("vocabulary", [10, 40, 160])
def test_hierarchical_softmax_cost_and_depth(rng, vocabulary):
    dim = 3
    counts = np.floor(1000 / np.arange(1, vocabulary + 1)).astype(np.int64)  # Zipf's law
    tree, hs = hs_objective(counts)
    v_c = rng.normal(0, 0.5, dim)
    U = rng.normal(0, 0.5, (vocabulary, dim))
    for o in (0, vocabulary // 2, vocabulary - 1):
        assert entries_read(lambda v, u, o=o: hs(v, o, u), v_c, U) == tree.lengths[o] * dim
    p = counts / counts.sum()
    entropy = -np.sum(p * np.log2(p))
    average_depth = np.sum(p * tree.lengths)
    assert entropy <= average_depth < entropy + 1
    assert entropy <= np.log2(vocabulary)
