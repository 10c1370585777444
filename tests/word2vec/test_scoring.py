"""Sentence scores under hierarchical softmax and center-word predictions, checked against the
direct formulas: a loop over the (center, input) pairs with the course's hierarchical-softmax
loss, and a softmax written out."""

import numpy as np
import pytest

from nnbasics.word2vec import Word2Vec
from nnbasics.word2vec.objectives import hierarchical_softmax_loss_and_gradient
from nnbasics.word2vec.scoring import context_word_probabilities, log_sigmoid

CORPUS = [["a", "b", "c", "a", "d"], ["b", "c", "e"], ["a", "e", "b", "d", "c", "a"]] * 5
SMALL = {"vector_size": 5, "min_count": 1, "seed": 4, "workers": 1, "hs": 1, "negative": 2,
         "epochs": 2, "window": 2}


def _log_p(model, word, h):
    tree = model.hs_tree
    loss, _, _ = hierarchical_softmax_loss_and_gradient(
        h, word, model.syn1.astype(np.float64), tree.codes, tree.points)
    return -loss


def _direct_score(model, sentence):
    """The score written as loops: skip-gram pairs, or CBOW windows, over in-vocabulary words."""
    idx = [model.wv.key_to_index[w] for w in sentence if w in model.wv.key_to_index]
    vectors = model.wv.vectors.astype(np.float64)
    window, total = model.window, 0.0
    for i, word in enumerate(idx):
        around = [j for j in range(max(0, i - window), min(len(idx), i + window + 1)) if j != i]
        if model.sg:
            total += sum(_log_p(model, word, vectors[idx[j]]) for j in around)
        else:
            h = vectors[[idx[j] for j in around]].sum(axis=0) if around else np.zeros(5)
            if model.cbow_mean and around:
                h /= len(around)
            total += _log_p(model, word, h)
    return total


@pytest.mark.parametrize("sg, cbow_mean", [(1, 1), (0, 1), (0, 0)])
def test_score_is_the_hierarchical_softmax_log_likelihood(sg, cbow_mean):
    model = Word2Vec(CORPUS, sg=sg, cbow_mean=cbow_mean, **SMALL)
    sentences = [["a", "b", "zz", "c", "d", "e", "a"], ["e"], ["zz"], []]
    scores = model.score(sentences)
    assert scores.shape == (4,) and scores.dtype == np.float64
    expected = [_direct_score(model, s) for s in sentences]
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)
    assert scores[0] < 0 and scores[3] == 0.0  # log-probabilities; nothing to score in []
    assert model.score(sentences, total_sentences=2).shape == (2,)


def test_score_needs_hierarchical_softmax():
    model = Word2Vec(CORPUS, **{**SMALL, "hs": 0})
    with pytest.raises(RuntimeError, match="hs=1"):
        model.score(CORPUS)


def test_log_sigmoid_matches_the_formula_and_stays_finite_far_out():
    x = np.array([-30.0, -5.0, 0.0, 5.0, 30.0])
    np.testing.assert_allclose(log_sigmoid(x), -np.log1p(np.exp(-x)), rtol=1e-12)
    # far out: log σ(x) -> x below, -> 0 above, where 1 / (1 + exp(-x)) overflows or rounds
    np.testing.assert_allclose(log_sigmoid(np.array([-1000.0, 1000.0])), [-1000.0, 0.0])


def test_context_word_probabilities_is_the_softmax_of_the_context_mean():
    rng = np.random.default_rng(0)
    vectors, outside = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    p = context_word_probabilities(np.array([1, 4]), vectors, outside)
    scores = outside @ ((vectors[1] + vectors[4]) / 2)
    np.testing.assert_allclose(p, np.exp(scores) / np.exp(scores).sum(), rtol=1e-12)
    summed = context_word_probabilities(np.array([1, 4]), vectors, outside, cbow_mean=False)
    np.testing.assert_allclose(summed, np.exp(2 * scores) / np.exp(2 * scores).sum(), rtol=1e-12)


def test_predict_output_word_ranks_by_that_distribution():
    model = Word2Vec(CORPUS, **{**SMALL, "hs": 0})
    top = model.predict_output_word(["a", "zz", 2], topn=3)
    idx = np.array([model.wv.key_to_index["a"], 2])
    p = context_word_probabilities(idx, model.wv.vectors, model.syn1neg)
    best = np.argsort(-p)[:3]
    assert [w for w, _ in top] == [model.wv.index_to_key[i] for i in best]
    assert [prob for _, prob in top] == pytest.approx(p[best].tolist())
    assert model.predict_output_word(["zz", "yy"]) is None
    with pytest.raises(RuntimeError, match="negative > 0"):
        Word2Vec(CORPUS, **{**SMALL, "negative": 0}).predict_output_word(["a"])


@pytest.mark.parametrize("topn", [0, -1, -5, None, 3, 50])
def test_predict_output_word_takes_topn_as_gensim(topn):
    """topn < 1 gives no word (not every word but the last |topn|), None every word; with
    gensim's vectors copied in, the same words and probabilities as gensim's."""
    gensim = pytest.importorskip("gensim")
    settings = {**SMALL, "hs": 0, "sg": 0}
    theirs = gensim.models.Word2Vec(CORPUS, **settings)
    ours = Word2Vec(**settings)
    ours.build_vocab(CORPUS)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    ours.wv.vectors[:] = theirs.wv.vectors
    ours.syn1neg[:] = theirs.syn1neg
    expected = theirs.predict_output_word(["a", "zz", 2], topn=topn)
    got = ours.predict_output_word(["a", "zz", 2], topn=topn)
    assert [w for w, _ in got] == [w for w, _ in expected]
    assert [p for _, p in got] == pytest.approx([float(p) for _, p in expected], rel=1e-5)


def _gensims_log_sigmoid(x):
    """gensim's score term: log σ read from its 1,000-entry table at floor(83 (x + 6)), terms
    with |x| >= 6 left out (word2vec_inner.pyx, score_pair_*_hs)."""
    grid = -6.0 + 12.0 * np.arange(1000) / 1000
    table = log_sigmoid(grid)
    x = np.asarray(x, dtype=np.float64)
    inside = np.abs(x) < 6
    index = np.where(inside, np.floor((x + 6.0) * 83).astype(np.int64), 0)
    return np.where(inside, table[np.clip(index, 0, 999)], 0.0)


@pytest.mark.parametrize("sg, cbow_mean", [(1, 1), (0, 1), (0, 0)])
def test_gensims_scores_differ_by_its_table_only(sg, cbow_mean, monkeypatch):
    """With gensim's vectors, nnbasics' score equals gensim's once each exact term is replaced
    by gensim's table lookup: the same pairs and windows, only the terms differ (as the
    docstring of Word2Vec.score says)."""
    gensim = pytest.importorskip("gensim")
    from nnbasics.word2vec import scoring

    settings = dict(vector_size=8, min_count=1, hs=1, negative=0, sg=sg, cbow_mean=cbow_mean,
                    window=3, seed=3, workers=1)
    theirs = gensim.models.Word2Vec(CORPUS, epochs=30, **settings)
    ours = Word2Vec(CORPUS, epochs=1, **settings)
    assert ours.wv.index_to_key == theirs.wv.index_to_key
    ours.wv.vectors[:] = theirs.wv.vectors
    ours.syn1[:] = theirs.syn1
    sentences = [*CORPUS[:3], ["a", "zz", "b", "c"]]
    expected = theirs.score(sentences, total_sentences=len(sentences))
    exact = ours.score(sentences)
    assert not np.allclose(exact, expected, rtol=1e-4)  # the table's terms are not exact
    monkeypatch.setattr(scoring, "log_sigmoid", _gensims_log_sigmoid)
    np.testing.assert_allclose(ours.score(sentences), expected, rtol=2e-5)
