"""Tests of nnbasics.word2vec.evaluation: the blocked analogy search, its ranking rule, and
gensim parity on a vocabulary of thousands of words."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbasics.word2vec.evaluation import _analogy_candidates, _pop_best_inplace
from nnbasics.word2vec.keyedvectors import KeyedVectors, _unit_rows


@given(
    scores=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                      elements=st.integers(-3, 3).map(float)),  # few values: many ties
    k=st.integers(1, 12),
)
def test_pop_best_is_a_stable_descending_sort(scores, k):
    k = min(k, scores.shape[1])
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # ties: lower index first
    popped = scores.copy()
    best = _pop_best_inplace(popped, k)
    np.testing.assert_array_equal(best, expected)
    rows = np.arange(scores.shape[0])[:, None]
    assert np.all(popped[rows, best] == -np.inf)  # the winners are overwritten, nothing else
    untouched = np.ones(scores.shape, dtype=bool)
    untouched[rows, best] = False
    np.testing.assert_array_equal(popped[untouched], scores[untouched])


def _readable_candidates(normed, questions, topn):
    """One question at a time: unit(b - a + c) . every row, a, b, c excluded, stable sort."""
    out = []
    for a, b, c in questions:
        query = _unit_rows(np.mean([normed[b], normed[c], -normed[a]], axis=0))
        scores = normed @ query
        scores[[a, b, c]] = -np.inf
        out.append(np.argsort(-scores, kind="stable")[:topn].tolist())
    return out


def test_blocked_search_equals_one_question_at_a_time():
    rng = np.random.default_rng(3)
    normed = _unit_rows(rng.normal(size=(50, 8)).astype(np.float32))
    questions = rng.integers(0, 50, size=(40, 3))
    questions[0] = (7, 7, 7)  # one word three times: only it is excluded
    expected = _readable_candidates(normed, questions, topn=5)
    for block_scores in (50, 3 * 50, 1 << 24):  # one question per block, three, all at once
        assert _analogy_candidates(normed, questions, 5, block_scores=block_scores) == expected
    assert 7 not in expected[0] and len(expected[0]) == 5


def test_equal_scores_rank_the_lower_index_first():
    # rows 1 and 3 are the same vector: a tie, broken towards the lower (more frequent) word
    normed = _unit_rows(np.array([[1, 0], [0, 1], [1, 1], [0, 1], [-1, 0]], dtype=np.float32))
    assert _analogy_candidates(normed, np.array([[0, 2, 4]]), topn=2) == [[1, 3]]


def _analogy_file(path, kv, rng, n_questions):
    """Questions in four sections, a third with the planted answer (nearest to b - a + c)."""
    lines = []
    for q in range(n_questions):
        if q % (n_questions // 4) == 0:
            lines.append(f": section-{q}")
        a, b, c, d = (kv.index_to_key[i] for i in rng.integers(0, len(kv), 4))
        if q % 3 == 0:
            d = kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]
        lines.append(f"{a} {b} {c} {d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_analogies_equal_gensims_on_thousands_of_words(tmp_path):
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(5)
    keys = [f"w{i}" for i in range(3000)]
    kv = KeyedVectors(keys, rng.normal(size=(3000, 20)).astype(np.float32))
    path = _analogy_file(tmp_path / "questions.txt", kv, rng, n_questions=400)
    questions = np.array([[kv.key_to_index[w] for w in line.split()[:3]]
                          for line in path.read_text().splitlines() if not line.startswith(":")])
    # ties excluded: no two of the 6 best scores of a question are equal (random vectors), so
    # gensim's ranking (whose tie order is unspecified) is the same as ours
    normed = kv.get_normed_vectors()
    queries = _unit_rows(np.mean([normed[questions[:, 1]], normed[questions[:, 2]],
                                  -normed[questions[:, 0]]], axis=0))  # (n, 20)
    top6 = np.array(_readable_candidates(normed, questions, topn=6))  # (n, 6)
    scores = np.einsum("nkd,nd->nk", normed[top6], queries)
    assert np.all(np.diff(scores, axis=1) < 0)

    ref = gensim.models.KeyedVectors(20)
    ref.add_vectors(keys, kv.vectors)
    score, sections = kv.evaluate_word_analogies(path)
    ref_score, ref_sections = ref.evaluate_word_analogies(str(path))
    assert sections == ref_sections and score == ref_score
    assert 0.2 < score < 0.5  # the planted third right, nearly all the rest wrong
