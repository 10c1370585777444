"""Hierarchical softmax (hs=1): the Huffman tree (against gensim's), the objective (gradcheck,
torch), the compiled kernel (against the objective's SGD step), the model (learning, schedule,
determinism, save/load)."""

import heapq
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbasics._accel import word2vec_kernels
from nnbasics._accel.word2vec_kernels import (
    cbow_window_step,
    hs_cbow_step,
    hs_sg_window_step,
    kernel_config,
    sg_window_step,
    train_batch,
)
from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.word2vec import reference
from nnbasics.word2vec.model import Word2Vec
from nnbasics.word2vec.objectives import (
    cbow,
    hierarchical_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
    skipgram,
)
from nnbasics.word2vec.vocab import HuffmanTree, _huffman_tree_reference, huffman_tree
from tests.word2vec.test_learning import grouped_corpus

# counts in vocabulary order (descending) with ties: paths of several lengths, both turns
COUNTS = np.array([9, 7, 5, 5, 3, 2, 2])
V, D = COUNTS.size, 5
TREE = huffman_tree(COUNTS)
HS = partial(hierarchical_softmax_loss_and_gradient, codes=TREE.codes, points=TREE.points)
NO_LOCK = np.ones(0, dtype=np.float32)  # no vectors_lockf factors: every input step whole
# no thread-private copy of the top of the tree: (empty copy, first row past the inner nodes)
NO_TOP = (np.empty((0, D), dtype=np.float32), V - 1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture
def vectors(rng):
    return rng.normal(0, 0.6, (V, D)), rng.normal(0, 0.6, (V, D))


# -- the tree -------------------------------------------------------------------------------------


def gensim_codes_and_points(counts):
    """gensim 4's tree for these counts (its own ``_assign_binary_codes``), as lists."""
    gensim = pytest.importorskip("gensim")
    from gensim.models.word2vec import _assign_binary_codes

    kv = gensim.models.KeyedVectors(2)
    kv.index_to_key = [f"w{i}" for i in range(len(counts))]
    kv.key_to_index = {w: i for i, w in enumerate(kv.index_to_key)}
    for i, n in enumerate(counts):
        kv.set_vecattr(i, "count", int(n))
    _assign_binary_codes(kv)
    return ([list(kv.get_vecattr(i, "code")) for i in range(len(counts))],
            [list(kv.get_vecattr(i, "point")) for i in range(len(counts))])


def ours(tree):
    return ([list(c) for c in tree.codes], [list(p) for p in tree.points])


@settings(max_examples=30)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=40))
def test_tree_equals_gensims_including_ties(counts):
    counts = sorted(counts, reverse=True)  # few distinct values: many ties
    theirs = gensim_codes_and_points(counts)
    assert ours(huffman_tree(np.array(counts))) == theirs
    assert ours(_huffman_tree_reference(np.array(counts))) == theirs


@given(st.lists(st.integers(1, 30), min_size=1, max_size=300))
def test_compiled_tree_equals_the_heapq_reference(counts):
    counts = np.array(sorted(counts, reverse=True), dtype=np.int64)
    compiled, replay = huffman_tree(counts), _huffman_tree_reference(counts)
    for name in ("code_flat", "point_flat", "offsets"):
        a, b = getattr(compiled, name), getattr(replay, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_model_tree_equals_gensim_models_tree():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(3)
    words = [f"t{i}" for i in range(25)]
    sentences = [[str(w) for w in rng.choice(words, 6)] for _ in range(30)]  # ties in the counts
    theirs = gensim.models.Word2Vec(vector_size=4, min_count=1, hs=1, negative=0)
    theirs.build_vocab(sentences)
    model = Word2Vec(vector_size=4, min_count=1, hs=1, negative=0)
    model.build_vocab(sentences)
    assert model.wv.index_to_key == theirs.wv.index_to_key
    assert len(set(model.wv.counts.tolist())) < len(model.wv)  # the corpus has ties
    for i, word in enumerate(model.wv.index_to_key):
        np.testing.assert_array_equal(model.hs_tree.codes[i], theirs.wv.get_vecattr(word, "code"))
        np.testing.assert_array_equal(model.hs_tree.points[i],
                                      theirs.wv.get_vecattr(word, "point"))
    assert model.syn1.shape == theirs.syn1.shape and not model.syn1.any()


def huffman_cost(counts):
    """The optimal sum_w n_w L_w: the sum of the merged weights (any Huffman tree attains it)."""
    heap = [int(n) for n in counts]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


@given(st.lists(st.integers(1, 1000), min_size=2, max_size=60))
def test_tree_is_an_optimal_prefix_code_over_all_inner_nodes(counts):
    counts = np.array(sorted(counts, reverse=True))
    tree = huffman_tree(counts)
    n = counts.size
    lengths = tree.lengths
    codes = ["".join(map(str, c)) for c in tree.codes]
    # a full binary tree: prefix-free codes with Kraft sum exactly 1
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)
    assert np.sum(2.0 ** -lengths) == pytest.approx(1.0, abs=1e-12)
    # Huffman: optimal total length; a more frequent word is never deeper
    assert int(np.sum(counts * lengths)) == huffman_cost(counts)
    assert all(lengths[a] <= lengths[b] for a in range(n) for b in range(n)
               if counts[a] > counts[b])
    # every path starts at the root V-2; the inner nodes 0..V-2 are exactly those on the paths
    assert all(p[0] == n - 2 for p in tree.points)
    assert set(tree.point_flat.tolist()) == set(range(n - 1))
    # a shared code prefix is a shared node path
    by_prefix = {}
    for c, p in zip(tree.codes, tree.points, strict=True):
        for j in range(len(c)):
            assert by_prefix.setdefault(tuple(c[:j]), p[j]) == p[j]


def test_tree_of_one_word_has_an_empty_path_and_bad_counts_are_rejected():
    tree = huffman_tree(np.array([4]))
    assert tree.lengths.tolist() == [0] and tree.code_flat.size == 0
    with pytest.raises(ValueError, match="at least one word"):
        huffman_tree(np.array([], dtype=np.int64))
    with pytest.raises(IndexError):
        TREE.codes[V]
    with pytest.raises(TypeError):
        TREE.codes["w"]


# -- the objective --------------------------------------------------------------------------------


def test_value_and_gradients_by_hand():
    # three words: root 1 -> (word 2 | node 0), node 0 -> (word 1 | word 0)... whatever the tree,
    # the formula is read off its codes and points
    tree = huffman_tree(np.array([5, 3, 2]))
    U = np.array([[0.5, -1.0], [2.0, 0.25], [9.0, 9.0]])  # row 2: never a node
    v = np.array([0.3, 0.7])
    for word in range(3):
        code, point = tree.codes[word], tree.points[word]
        signs = 1 - 2 * code.astype(float)
        z = signs * (U[point] @ v)
        loss, gv, gU = hierarchical_softmax_loss_and_gradient(v, word, U, tree.codes, tree.points)
        assert loss == pytest.approx(-np.sum(np.log(sigmoid(z))))
        g = sigmoid(U[point] @ v) - (1 - code)  # gensim steps by alpha * (1 - code - f)
        np.testing.assert_allclose(gv, g @ U[point])
        expected = np.zeros_like(U)
        expected[point] = np.outer(g, v)
        np.testing.assert_allclose(gU, expected)
        assert not gU[2].any()


@given(st.lists(st.integers(1, 50), min_size=1, max_size=12), st.integers(0, 10_000))
def test_probabilities_of_all_words_sum_to_one(counts, seed):
    counts = np.array(sorted(counts, reverse=True))
    tree = huffman_tree(counts)
    rng = np.random.default_rng(seed)
    U, v = rng.normal(0, 2, (counts.size, 3)), rng.normal(0, 2, 3)
    losses = [hierarchical_softmax_loss_and_gradient(v, w, U, tree.codes, tree.points)[0]
              for w in range(counts.size)]
    assert np.sum(np.exp(-np.array(losses))) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("word", range(V))
@pytest.mark.parametrize("wrt", ["center", "nodes"])
def test_objective_gradcheck_every_word(word, wrt, vectors):
    center_vectors, node_vectors = vectors
    v_c = center_vectors[0]
    if wrt == "center":
        assert_gradcheck(lambda v: HS(v, word, node_vectors)[:2], v_c)
    else:
        assert_gradcheck(lambda U: HS(v_c, word, U)[::2], node_vectors)


CONTEXT = [1, 4, 4, 6]  # word 4 twice


@pytest.mark.parametrize("model", [skipgram, cbow])
@pytest.mark.parametrize("wrt", ["center", "nodes"])
def test_window_models_with_hs_gradcheck(model, wrt, vectors):
    center_vectors, node_vectors = vectors
    if wrt == "center":
        assert_gradcheck(lambda C: model(2, CONTEXT, C, node_vectors, HS)[:2], center_vectors)
    else:
        assert_gradcheck(lambda U: model(2, CONTEXT, center_vectors, U, HS)[::2], node_vectors)


@pytest.mark.parametrize("model", [skipgram, cbow])
def test_window_models_with_hs_match_torch_autograd(model, vectors):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    center_vectors, node_vectors = vectors
    C = torch.tensor(center_vectors, requires_grad=True, dtype=torch.float64)
    U = torch.tensor(node_vectors, requires_grad=True, dtype=torch.float64)

    def pair(v, word):
        signs = torch.as_tensor(1.0 - 2.0 * TREE.codes[word].astype(np.float64))
        nodes = torch.as_tensor(TREE.points[word].astype(np.int64))
        return -F.logsigmoid(signs * (U[nodes] @ v)).sum()

    if model is skipgram:
        loss_t = sum(pair(C[2], o) for o in CONTEXT)
    else:
        loss_t = pair(C[CONTEXT].mean(dim=0), 2)
    loss_t.backward()
    loss, gC, gU = model(2, CONTEXT, center_vectors, node_vectors, HS)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(gC, C.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gU, U.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_objective_is_stable_for_huge_scores():
    U = np.full((V, 2), 1000.0)
    U[::2] *= -1
    for word in range(V):
        loss, gv, gU = HS(np.array([1.0, 1.0]), word, U)
        assert np.isfinite(loss) and np.isfinite(gv).all() and np.isfinite(gU).all()
    assert HS(np.zeros(2), 0, U)[0] == pytest.approx(TREE.lengths[0] * np.log(2))


def test_objective_bad_input(vectors):
    _, U = vectors
    v = np.zeros(D)
    with pytest.raises(ValueError, match="one path per word"):
        hierarchical_softmax_loss_and_gradient(v, 0, U, TREE.codes, [[0]])
    with pytest.raises(ValueError, match="differ in length"):
        hierarchical_softmax_loss_and_gradient(v, 0, U, [[0, 1]] * V, [[0]] * V)
    with pytest.raises(ValueError, match="0 or 1"):
        hierarchical_softmax_loss_and_gradient(v, 0, U, [[2]] * V, [[0]] * V)
    with pytest.raises(ValueError, match="points out of range"):
        hierarchical_softmax_loss_and_gradient(v, 0, U, [[0]] * V, [[V]] * V)
    with pytest.raises(ValueError, match="out of range"):
        HS(v, V, U)


# -- the compiled kernel against the objective ----------------------------------------------------


def _float32(vectors):
    return tuple(a.astype(np.float32) for a in vectors)


LABELS = (1 - TREE.code_flat).astype(np.uint8)  # label 1: the score should be high (code 0)


def _hs_window(center, nodes, contexts, first, stop, alpha, top=NO_TOP):
    """The compiled skip-gram window step along the path ``[first, stop)`` (fresh scratch, no
    vectors_lockf factors; ``top``: a thread's copy of the top of the tree and its first row)."""
    contexts = np.asarray(contexts, dtype=np.int32)
    return hs_sg_window_step(center, nodes, contexts, contexts.size, TREE.point_flat, LABELS,
                             first, stop, alpha, np.empty(D, np.float32),
                             np.empty(D, np.float32), np.empty(stop - first, np.float32),
                             NO_LOCK, *top)


def train_batch_hs(center, nodes, tokens, ends, keep, tree, sg, window, alpha_start, alpha_end,
                   seed, n_threads=1, **settings):
    """The compiled kernel configured for hierarchical softmax alone, on one batch."""
    config = kernel_config(center, keep, sg=sg, window=window, negative=0, hs=True,
                           node_vectors=nodes, tree=tree, **settings)
    return train_batch(config, tokens, ends, alpha_start, alpha_end, seed, n_threads)


@pytest.mark.parametrize("target", [0, 3, 6])
@pytest.mark.parametrize("contexts", [[2], CONTEXT], ids=["one pair", "a window"])
def test_sg_kernel_step_is_one_sgd_step_on_the_objective(target, contexts, vectors):
    """The window's pairs (each context word predicting the center word, as word2vec.c) take
    one step together: the sum of their gradients, all at the vectors before the step."""
    center, nodes = _float32(vectors)
    alpha = 0.07
    c, u = center.copy(), nodes.copy()
    rows = np.array(contexts, dtype=np.int32)
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    loss = sg_window_step(c, u, rows, rows.size, TREE.point_flat, LABELS, first, stop, alpha,
                          np.empty((rows.size, stop - first), np.float32),
                          np.empty((rows.size, D), np.float32), NO_LOCK)
    ref_loss, grad_center, grad_nodes = 0.0, 0.0, 0.0
    for row in contexts:
        pair = skipgram(row, [target], center.astype(np.float64), nodes.astype(np.float64), HS)
        ref_loss, grad_center, grad_nodes = (ref_loss + pair[0], grad_center + pair[1],
                                             grad_nodes + pair[2])
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(c, center - alpha * grad_center, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u, nodes - alpha * grad_nodes, rtol=1e-5, atol=1e-6)
    assert not np.allclose(u, nodes)


@pytest.mark.parametrize("target", [1, 5])
@pytest.mark.parametrize("cbow_mean", [True, False], ids=["mean", "sum"])
def test_cbow_kernel_step_is_gensims_step_on_the_objective(target, cbow_mean, vectors):
    """Node rows: exactly -alpha * gradient.  Context rows, gensim's rule: with the mean h
    (cbow_mean=1) -alpha * m * gradient, the whole step at h; with the sum (cbow_mean=0)
    -alpha * gradient / m, the step at h shared by the m contexts (a repeated word twice)."""
    center, nodes = _float32(vectors)
    alpha = 0.07
    c, u = center.copy(), nodes.copy()
    contexts = np.array(CONTEXT, dtype=np.int32)
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    loss = cbow_window_step(c, u, contexts, contexts.size, TREE.point_flat, LABELS, first, stop,
                            alpha, cbow_mean, np.empty(stop - first, np.float32),
                            np.empty(D, np.float32), np.empty(D, np.float32), NO_LOCK)
    ref_loss, grad_center, grad_nodes = cbow(
        target, CONTEXT, center.astype(np.float64), nodes.astype(np.float64), HS, mean=cbow_mean)
    share = len(CONTEXT) if cbow_mean else 1 / len(CONTEXT)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(u, nodes - alpha * grad_nodes, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, center - alpha * share * grad_center, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target", [0, 3, 6])
@pytest.mark.parametrize("context", [2, 4])
def test_hs_pair_step_is_one_sgd_step_on_the_objective(target, context, vectors):
    """The walker's skip-gram step, node after node along the path (gensim's order), is the
    exact SGD step of one (context, center) pair: the path's nodes are distinct rows, so each
    score sees its node before the step, as when all scores are taken first."""
    center, nodes = _float32(vectors)
    alpha = 0.07
    c, u = center.copy(), nodes.copy()
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    loss = _hs_window(c, u, [context], first, stop, alpha)
    ref_loss, grad_center, grad_nodes = skipgram(
        context, [target], center.astype(np.float64), nodes.astype(np.float64), HS)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(c, center - alpha * grad_center, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u, nodes - alpha * grad_nodes, rtol=1e-5, atol=1e-6)
    assert not np.allclose(u, nodes) and not np.allclose(c, center)
    # and the same as the shared-output step on one context, which takes every score first
    c2, u2 = center.copy(), nodes.copy()
    loss2 = sg_window_step(c2, u2, np.array([context], np.int32), 1, TREE.point_flat, LABELS,
                           first, stop, alpha, np.empty((1, stop - first), np.float32),
                           np.empty((1, D), np.float32), NO_LOCK)
    assert loss == pytest.approx(loss2, rel=1e-6)
    np.testing.assert_allclose(c, c2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(u, u2, rtol=1e-6, atol=1e-7)


def test_hs_window_step_takes_its_pairs_one_after_the_other(vectors):
    """A window (a repeated context word included) is its pairs' steps in order, each at the
    vectors the previous one left, as gensim's loop over the window."""
    center, nodes = _float32(vectors)
    first, stop = TREE.offsets[4], TREE.offsets[5]
    contexts = [2, 6, 2, 0]
    c1, u1 = center.copy(), nodes.copy()
    loss = _hs_window(c1, u1, contexts, first, stop, 0.07)
    c2, u2 = center.copy(), nodes.copy()
    losses = [_hs_window(c2, u2, [context], first, stop, 0.07) for context in contexts]
    assert loss == pytest.approx(sum(losses), rel=1e-12)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(u1, u2)


@pytest.mark.parametrize("scale", [6.5, -6.5, 20.0])
def test_hs_leaves_a_saturated_node_alone_as_word2vec_c(scale, vectors):
    """word2vec.c's (and gensim's) hierarchical softmax skips a node whose score is at or beyond
    +-6 (MAX_EXP): whatever its label, neither it nor the input move for that node, while the
    other nodes of the path take their exact SGD step.  Its loss term still counts."""
    center, nodes = _float32(vectors)
    target = 5
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    assert stop - first >= 2
    context, saturated = 2, TREE.point_flat[first]  # the root: first node of every path
    x = center[context].astype(np.float64)
    # the root's score set to `scale`
    nodes[saturated] = (scale * x / (x @ x)).astype(np.float32)
    assert abs(float(nodes[saturated] @ center[context])) >= word2vec_kernels.HS_SKIP_SCORE
    alpha = 0.07
    c, u = center.copy(), nodes.copy()
    loss = _hs_window(c, u, [context], first, stop, alpha)
    ref_loss, grad_center, grad_nodes = skipgram(
        context, [target], center.astype(np.float64), nodes.astype(np.float64), HS)
    # the skipped node's share of the input gradient, taken out of the exact one
    score = float(nodes[saturated].astype(np.float64) @ x)
    label = LABELS[first]
    skipped_share = -(label - sigmoid(score)) * nodes[saturated].astype(np.float64)
    assert loss == pytest.approx(ref_loss, rel=1e-5)  # the loss is the whole path's
    np.testing.assert_array_equal(u[saturated], nodes[saturated])
    others = [n for n in range(V - 1) if n != saturated]
    np.testing.assert_allclose(u[others], (nodes - alpha * grad_nodes)[others],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, center - alpha * (grad_center - _row(context, skipped_share)),
                               rtol=1e-5, atol=1e-6)
    # just inside the threshold the node steps as usual
    nodes[saturated] *= np.float32(5.9 / abs(scale))
    u = nodes.copy()
    _hs_window(center.copy(), u, [context], first, stop, alpha)
    assert not np.array_equal(u[saturated], nodes[saturated])


def _row(index, values):
    out = np.zeros((V, D))
    out[index] = values
    return out


@pytest.mark.parametrize("target", [1, 5])
@pytest.mark.parametrize("cbow_mean", [True, False], ids=["mean", "sum"])
def test_hs_cbow_step_is_gensims_step_on_the_objective(target, cbow_mean, vectors):
    """The walker's CBOW step along the path: node rows -alpha * gradient, context rows
    gensim's rule (-alpha * m * gradient with the mean, -alpha * gradient / m with the sum)."""
    center, nodes = _float32(vectors)
    alpha = 0.07
    c, u = center.copy(), nodes.copy()
    contexts = np.array(CONTEXT, dtype=np.int32)
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    loss = hs_cbow_step(c, u, contexts, contexts.size, TREE.point_flat, LABELS, first, stop,
                        alpha, cbow_mean, np.empty(D, np.float32), np.empty(D, np.float32),
                        np.empty(stop - first, np.float32), NO_LOCK, *NO_TOP)
    ref_loss, grad_center, grad_nodes = cbow(
        target, CONTEXT, center.astype(np.float64), nodes.astype(np.float64), HS, mean=cbow_mean)
    share = len(CONTEXT) if cbow_mean else 1 / len(CONTEXT)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(u, nodes - alpha * grad_nodes, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, center - alpha * share * grad_center, rtol=1e-5, atol=1e-6)
    assert not np.allclose(u, nodes) and not np.allclose(c, center)


def _batch(rng, n_sentences=40, length=2):
    tokens = rng.integers(0, V, n_sentences * length).astype(np.int32)
    ends = np.arange(length, tokens.size + 1, length, dtype=np.int64)
    return tokens, ends


def test_compiled_batch_equals_reference_batch_where_both_are_deterministic(rng, vectors):
    """CBOW, window 1, two-word sentences, no subsampling: no draw changes anything, and a
    one-word context makes gensim's CBOW step the exact one: both paths take the same steps."""
    tokens, ends = _batch(rng)
    keep = np.ones(V, dtype=np.float32)
    results = []
    for kernel in (train_batch_hs, reference.train_batch_hs):
        center, nodes = _float32(vectors)
        loss, pairs, kept = kernel(center, nodes, tokens, ends, keep, TREE, False, 1, 0.1, 0.01,
                                   seed=7)
        results.append((loss, pairs, kept, center, nodes))
    (l1, p1, k1, c1, u1), (l2, p2, k2, c2, u2) = results
    assert (p1, k1) == (p2, k2) == (tokens.size, tokens.size)
    assert l1 == pytest.approx(l2, rel=1e-5)
    np.testing.assert_allclose(c1, c2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(u1, u2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("sg", [True, False])
def test_kernel_seed_determinism_and_threads(rng, vectors, sg):
    tokens, ends = _batch(rng, n_sentences=30, length=10)
    keep = np.full(V, 0.8, dtype=np.float32)

    def run(seed, n_threads=1):
        center, nodes = _float32(vectors)
        out = train_batch_hs(center, nodes, tokens, ends, keep, TREE, sg, 3, 0.05, 0.01, seed,
                             n_threads)
        return out, center, nodes

    a, b, c = run(1), run(1), run(2)
    assert a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert not np.array_equal(a[1], c[1])
    (loss, pairs, kept), _, _ = run(1, n_threads=2)
    assert np.isfinite(loss) and 0 < kept <= tokens.size and pairs > 0


# ---- with several threads, each keeps its own copy of the top of the tree --------------------


def test_a_thread_publishes_its_own_steps_on_the_top_nodes_and_keeps_the_others():
    """_sync_top_nodes adds the thread's steps since the last sync (copy - start) to the shared
    rows, which hold the other threads' steps meanwhile, and restarts both copies from there."""
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(6, D)).astype(np.float32)
    base = 3
    start = shared[base:base + 2].copy()
    mine = start + np.float32(0.25)  # this thread's steps
    shared[base:base + 2] += np.float32(1.0)  # another thread's, published meanwhile
    expected = start + np.float32(1.25)
    before_others = shared[:base].copy()
    word2vec_kernels._sync_top_nodes(shared, mine, start, base)
    np.testing.assert_allclose(shared[base:base + 2], expected, rtol=1e-6)
    np.testing.assert_array_equal(mine, shared[base:base + 2])
    np.testing.assert_array_equal(start, shared[base:base + 2])
    np.testing.assert_array_equal(shared[:base], before_others)


@pytest.mark.parametrize("target", [0, 3, 6])
def test_a_pair_step_on_a_private_top_copy_is_the_same_step(target, vectors):
    """The nodes of the path in the thread's copy take their step there (the shared rows wait
    for the sync); once published, the result is the step on the shared rows."""
    center, nodes = _float32(vectors)
    n_inner = V - 1
    n_top = 3
    base = n_inner - n_top
    first, stop = TREE.offsets[target], TREE.offsets[target + 1]
    path = TREE.point_flat[first:stop]
    # the copy's rows, the heaviest inner nodes, are a prefix of every path (root first)
    in_top = path >= base
    assert in_top[0] and not np.any(in_top[1:] & ~in_top[:-1])
    c1, u1 = center.copy(), nodes.copy()
    _hs_window(c1, u1, [2], first, stop, 0.07)
    c2, u2 = center.copy(), nodes.copy()
    top, top_start = u2[base:n_inner].copy(), u2[base:n_inner].copy()
    _hs_window(c2, u2, [2], first, stop, 0.07, top=(top, base))
    np.testing.assert_array_equal(u2[base:n_inner], nodes[base:n_inner])  # not yet published
    np.testing.assert_array_equal(c2, c1)
    word2vec_kernels._sync_top_nodes(u2, top, top_start, base)
    np.testing.assert_allclose(u2, u1, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("sg", [True, False])
def test_concurrent_config_on_one_thread_takes_the_same_steps(rng, vectors, sg):
    """With ``concurrent=True`` a thread steps on its copy of the top nodes and publishes it
    every few windows; alone, it then ends where the direct steps end (to rounding), and every
    step it took on its copy reached the shared rows."""
    tokens, ends = _batch(rng, n_sentences=60, length=12)
    keep = np.ones(V, dtype=np.float32)
    runs = []
    for concurrent in (False, True):
        center, nodes = _float32(vectors)
        loss, _, _ = train_batch_hs(center, nodes, tokens, ends, keep, TREE, sg, 3, 0.05, 0.01,
                                    seed=4, concurrent=concurrent)
        runs.append((loss, center, nodes))
    assert not np.allclose(runs[0][2], _float32(vectors)[1])  # the top nodes did train
    assert runs[1][0] == pytest.approx(runs[0][0], rel=1e-5)
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(runs[1][2], runs[0][2], rtol=1e-4, atol=1e-5)


def test_kernel_rejects_bad_input(vectors):
    center, nodes = _float32(vectors)
    tokens, ends = np.array([0, 1], np.int32), np.array([2], np.int64)
    keep = np.ones(V, np.float32)
    with pytest.raises(ValueError, match="the tree covers 3 words"):
        train_batch_hs(center, nodes, tokens, ends, keep, huffman_tree(COUNTS[:3]), True, 2,
                       0.1, 0.1, 0)
    with pytest.raises(ValueError, match="node_vectors has shape"):
        train_batch_hs(center, nodes[:3], tokens, ends, keep, TREE, True, 2, 0.1, 0.1, 0)
    with pytest.raises(TypeError, match="HuffmanTree"):
        train_batch_hs(center, nodes, tokens, ends, keep, (TREE.codes,), True, 2, 0.1, 0.1, 0)
    with pytest.raises(ValueError, match="window"):
        train_batch_hs(center, nodes, tokens, ends, keep, TREE, True, 0, 0.1, 0.1, 0)
    bad = HuffmanTree(TREE.code_flat, TREE.point_flat + V, TREE.offsets)
    with pytest.raises(ValueError, match="points"):
        train_batch_hs(center, nodes, tokens, ends, keep, bad, True, 2, 0.1, 0.1, 0)


# -- the model -------------------------------------------------------------------------------------

N_GROUPS, GROUP_SIZE = 5, 6
GROUPED = grouped_corpus(1500, n_groups=N_GROUPS, group_size=GROUP_SIZE)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("negative", [0, 5], ids=["hs only", "hs and negatives"])
@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_hs_model_learns_the_groups(sg, negative, workers):
    # workers=2: each thread steps on its own copy of the top of the tree between syncs
    model = Word2Vec(GROUPED, vector_size=16, window=4, min_count=1, sg=sg, hs=1,
                     negative=negative, epochs=4, workers=workers, seed=1, batch_words=500)
    for word in model.wv.index_to_key:
        group = word.split("w")[0]
        neighbours = [w for w, _ in model.wv.most_similar(word, topn=GROUP_SIZE - 1)]
        assert all(w.startswith(group + "w") for w in neighbours), (word, neighbours)
    assert model.syn1[: len(model.wv) - 1].any() and not model.syn1[-1].any()  # row V-1 unused
    assert model.syn1neg.any() == bool(negative)  # negative=0: syn1neg is not trained
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[-1] < 0.8 * per_pair[0]
    if not negative:
        # the hierarchical loss per pair is -log p(target | input), a cross-entropy: it falls
        # towards the entropy of a uniform choice within a group, log 6, and not below it
        # (measured after 4 epochs: 1.91 skip-gram, 2.12 CBOW; at the start: 3.2 and 3.4)
        assert np.log(GROUP_SIZE) - 0.1 < per_pair[-1] < np.log(GROUP_SIZE) + 0.5


SMALL = dict(vector_size=8, window=2, min_count=1, epochs=2, workers=1, sample=0, hs=1)
CORPUS = GROUPED[:300]


@pytest.mark.parametrize("negative", [0, 3])
def test_hs_model_is_reproducible_with_one_worker(negative):
    a = Word2Vec(CORPUS, negative=negative, seed=3, **SMALL)
    b = Word2Vec(CORPUS, negative=negative, seed=3, **SMALL)
    c = Word2Vec(CORPUS, negative=negative, seed=4, **SMALL)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1, b.syn1)
    assert a.epoch_losses == b.epoch_losses and len(a.epoch_losses) == 2
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_hs_model_configures_one_kernel_for_both_objectives(monkeypatch):
    calls = []
    real_train_batch = word2vec_kernels.train_batch

    def recording_train_batch(config, tokens, ends, a0, a1, seed, n_threads=1):
        calls.append((config, a0, a1, seed))
        return real_train_batch(config, tokens, ends, a0, a1, seed, n_threads)

    monkeypatch.setattr(word2vec_kernels, "train_batch", recording_train_batch)
    model = Word2Vec(CORPUS, alpha=0.05, min_alpha=0.001, batch_words=500, negative=2,
                     **{**SMALL, "epochs": 2})
    assert len(calls) > 2
    config = calls[0][0]
    assert all(call[0] is config for call in calls[: len(calls) // 2])  # one config a train()
    assert config.hs and config.negative == 2 and config.sg
    assert config.node_vectors is model.syn1 and config.outside_vectors is model.syn1neg
    assert config.center_vectors is model.wv.vectors
    np.testing.assert_array_equal(config.path_nodes, model.hs_tree.point_flat)
    np.testing.assert_array_equal(config.path_labels, 1 - model.hs_tree.code_flat)
    a0 = np.array([c[1] for c in calls])
    assert all(c[1] == c[2] for c in calls)  # one rate a batch
    assert a0[0] == pytest.approx(0.05) and 0.001 < a0[-1] < 0.01  # the last: one step to go
    assert np.all(np.diff(a0) < 0)
    assert len({c[3] for c in calls}) == len(calls)  # every batch its own seed
    assert model.syn1.any() and model.syn1neg.any()


@pytest.mark.parametrize("sg", [True, False], ids=["skip-gram", "cbow"])
def test_hs_and_negatives_train_in_one_walk_path_first(vectors, sg):
    """With hs=1 and negatives, each window takes the hierarchical step, then the negative one,
    as gensim.  Window 1, two-word sentences, no subsampling and a noise table that always
    draws word 0: no draw changes anything, so the explicit steps are known in advance (each
    window has one context word: its skip-gram pair, or gensim's CBOW step, which is then the
    exact one)."""
    center, nodes = _float32(vectors)
    outside = np.random.default_rng(5).normal(0, 0.5, (V, D)).astype(np.float32)
    tokens = np.array([1, 3, 0, 2, 4, 5], dtype=np.int32)
    ends = np.array([2, 4, 6], dtype=np.int64)
    keep = np.ones(V, dtype=np.float32)
    always_word_0 = np.full(V, 2**31 - 1, dtype=np.int64)
    alpha = 0.1
    c, u, o = center.copy(), nodes.copy(), outside.copy()
    config = kernel_config(c, keep, sg=sg, window=1, negative=2, outside_vectors=o,
                           noise_cum_table=always_word_0, hs=True, node_vectors=u, tree=TREE)
    loss, pairs, kept = train_batch(config, tokens, ends, alpha, alpha, seed=3)
    assert (pairs, kept) == (tokens.size, tokens.size)

    C, U, O = (a.astype(np.float64) for a in (center, nodes, outside))
    expected = 0.0
    for first in range(0, tokens.size, 2):
        sentence = tokens[first:first + 2].tolist()
        for position, word in enumerate(sentence):
            context = [sentence[1 - position]]  # one context word: gensim's step is exact
            negatives = [0, 0] if word != 0 else []  # a draw equal to the target is skipped
            steps = ((U, HS), (O, partial(neg_sampling_loss_and_gradient,
                                          negative_indices=negatives)))
            for outputs, objective in steps:
                if sg:  # the context word is the input, the center word the target
                    step_loss, grad_C, grad_outputs = skipgram(context[0], [word], C, outputs,
                                                               objective)
                else:
                    step_loss, grad_C, grad_outputs = cbow(word, context, C, outputs, objective)
                C -= alpha * grad_C
                outputs -= alpha * grad_outputs
                expected += step_loss
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(c, C, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(u, U, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(o, O, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("negative", [0, 3])
def test_save_load_keeps_the_hs_state_and_training_continues(tmp_path, negative):
    model = Word2Vec(CORPUS, negative=negative, **SMALL)
    path = tmp_path / "hs.npz"
    model.save(path)
    loaded = Word2Vec.load(path)
    assert loaded.config == model.config and loaded.config.hs == 1
    np.testing.assert_array_equal(loaded.syn1, model.syn1)
    assert ours(loaded.hs_tree) == ours(model.hs_tree)
    model.train(CORPUS, epochs=1)
    loaded.train(CORPUS, epochs=1)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.syn1, model.syn1)
    assert loaded.epoch_losses == model.epoch_losses and len(loaded.epoch_losses) == 3


def test_load_of_files_without_syn1(tmp_path):
    plain = Word2Vec(CORPUS, **{**SMALL, "hs": 0})
    path = tmp_path / "plain.npz"
    plain.save(path)
    with np.load(path) as archive:
        assert "syn1" not in archive.files  # as files written before hs existed
    loaded = Word2Vec.load(path)
    assert loaded.syn1 is None and loaded.hs_tree is None
    loaded.train(CORPUS, epochs=1)
    # an hs=1 model whose syn1 was removed is refused, not trained from zeros
    hs_path = tmp_path / "hs.npz"
    Word2Vec(CORPUS, **SMALL).save(hs_path)
    with np.load(hs_path) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "syn1"}
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(ValueError, match="syn1"):
        Word2Vec.load(tmp_path / "broken.npz")


def test_hs_settings_and_the_full_softmax_stay_as_they_were():
    with pytest.raises(ValueError, match="hs must be 0 or 1"):
        Word2Vec(CORPUS, **{**SMALL, "hs": 2})
    full = Word2Vec(CORPUS[:50], negative=0, **{**SMALL, "hs": 0, "epochs": 1})
    assert full.syn1 is None and full.hs_tree is None and full.syn1neg.any()
