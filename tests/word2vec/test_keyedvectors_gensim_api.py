"""Tests of the KeyedVectors API that gensim users bring: building by hand, 3CosMul, means,
subsets, normalisation, vectors_lockf (issue #16); each checked by hand and against gensim."""

import numpy as np
import pytest

from nnbasics.word2vec.keyedvectors import KeyedVectors

WORDS = ["war", "peace", "conflict", "army", "treaty", "river", "bank", "money"]


@pytest.fixture
def kv():
    vectors = np.random.default_rng(3).normal(size=(len(WORDS), 6))
    vectors[2] = vectors[0] + 0.3 * vectors[2]  # conflict near war
    return KeyedVectors(WORDS, vectors, counts=[8, 7, 6, 5, 4, 3, 2, 1])


def gensim_copy(kv):
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.KeyedVectors(kv.vector_size)
    ref.add_vectors(kv.index_to_key, kv.vectors)
    for key, count in zip(kv.index_to_key, kv.counts.tolist(), strict=True):
        ref.set_vecattr(key, "count", count)
    return ref


# -- building by hand ---------------------------------------------------------------------------

def test_empty_instance_from_a_vector_size_as_gensim():
    for empty in (KeyedVectors(3), KeyedVectors(vector_size=3)):
        assert len(empty) == 0 and empty.vector_size == 3
        assert empty.vectors.shape == (0, 3) and empty.vectors.dtype == np.float32
    assert KeyedVectors(3, dtype=np.float64).vectors.dtype == np.float64
    with pytest.raises(TypeError, match="preallocate"):
        KeyedVectors(3, 10)  # gensim's count argument
    with pytest.raises(ValueError, match="vector_size must be >= 1"):
        KeyedVectors(0)
    with pytest.raises(ValueError, match="floating dtype"):
        KeyedVectors(3, dtype=np.int64)


def test_add_vectors_appends_and_replaces_only_when_asked(kv):
    new = np.arange(12.0).reshape(2, 6)
    old_war = kv["war"].copy()
    kv.add_vectors(["war", "navy"], [np.ones(6), new[1]])
    assert len(kv) == 9 and kv.index_to_key[-1] == "navy" and kv.key_to_index["navy"] == 8
    np.testing.assert_array_equal(kv["war"], old_war)  # kept: replace=False
    np.testing.assert_array_equal(kv["navy"], new[1])
    assert kv.get_vecattr("navy", "count") == 0
    kv.add_vectors(["war"], [np.ones(6)], replace=True)
    np.testing.assert_array_equal(kv["war"], np.ones(6))
    assert kv.add_vector("sea", new[0]) == 9 and kv.add_vector("sea", new[1]) == 9
    np.testing.assert_array_equal(kv["sea"], new[0])
    with pytest.raises(ValueError, match="one vector of size 6 per key"):
        kv.add_vectors(["a", "b"], np.ones((3, 6)))


def test_setitem_adds_or_replaces_one_or_several(kv):
    kv["war"] = np.full(6, 2.0)
    kv["navy"] = np.full(6, 3.0)
    kv[["peace", "fleet"]] = np.array([np.full(6, 4.0), np.full(6, 5.0)])
    assert len(kv) == 10
    for word, value in (("war", 2), ("navy", 3), ("peace", 4), ("fleet", 5)):
        np.testing.assert_array_equal(kv[word], np.full(6, value, np.float32))


def test_queries_see_added_and_replaced_vectors(kv):
    kv.most_similar("war")  # fills the cache of unit vectors
    kv["war"] = kv["money"]
    assert kv.most_similar("war", topn=1)[0][0] == "money"
    kv["twin"] = kv["river"]
    assert kv.most_similar("river", topn=1) == [("twin", pytest.approx(1.0))]


def test_adding_gives_gensims_instance(kv):
    ref = gensim_copy(kv)
    ours = KeyedVectors(6)
    ours.add_vectors(kv.index_to_key, kv.vectors)
    assert ours.index_to_key == ref.index_to_key
    np.testing.assert_array_equal(ours.vectors, ref.vectors)


# -- queries ------------------------------------------------------------------------------------

def test_cosmul_by_hand():
    kv = KeyedVectors(["a", "b", "c", "d"], [[1, 0], [0, 1], [1, 1], [-1, 0]])
    shifted = {  # (1 + cos) / 2 to "a" and to "b"
        "c": ((1 + 1 / np.sqrt(2)) / 2, (1 + 1 / np.sqrt(2)) / 2),
        "d": (0.0, 0.5),
    }
    result = dict(kv.most_similar_cosmul(positive=["a"], negative=["b"]))
    for word, (to_a, to_b) in shifted.items():
        assert result[word] == pytest.approx(to_a / (to_b + 1e-6), rel=1e-5)
    assert set(result) == {"c", "d"}  # the query words are left out
    assert kv.most_similar_cosmul("a", topn=0) == []
    assert kv.most_similar_cosmul("a", topn=None).shape == (4,)
    with pytest.raises(ValueError, match="at least one positive"):
        kv.most_similar_cosmul(negative=["a"])


def test_cosmul_equals_gensims_and_takes_the_same_argument_forms(kv):
    ref = gensim_copy(kv)
    ours = kv.most_similar_cosmul(["war", "treaty"], ["army"], topn=5)
    theirs = ref.most_similar_cosmul(["war", "treaty"], ["army"], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    assert kv.most_similar_cosmul("war", "peace") == kv.most_similar_cosmul(["war"], ["peace"])
    # a unit vector scores exactly as its word (which is then not left out), as gensim's test
    by_vector = kv.most_similar_cosmul([kv.get_vector("war", norm=True)], topn=len(kv))
    assert [(w, s) for w, s in by_vector if w != "war"] == kv.most_similar_cosmul("war", topn=7)
    restricted = kv.most_similar_cosmul("war", topn=10, restrict_vocab=4)
    assert {w for w, _ in restricted} == {"peace", "conflict", "army"}


def test_single_positive_cosmul_ranks_as_most_similar(kv):
    assert [w for w, _ in kv.most_similar_cosmul("war", topn=7)] == \
        [w for w, _ in kv.most_similar("war", topn=7)]


def test_most_similar_to_given_and_relative_cosine_similarity(kv):
    assert kv.most_similar_to_given("war", ["river", "conflict", "money"]) == "conflict"
    top3 = kv.most_similar("war", topn=3)
    expected = kv.similarity("war", "bank") / sum(s for _, s in top3)
    assert kv.relative_cosine_similarity("war", "bank", topn=3) == pytest.approx(expected)
    ref = gensim_copy(kv)
    assert kv.relative_cosine_similarity("war", "peace", 4) == pytest.approx(
        ref.relative_cosine_similarity("war", "peace", 4), rel=1e-5)


def test_get_mean_vector_by_hand_and_as_gensim(kv):
    unit = kv.get_normed_vectors()
    mean = kv.get_mean_vector(["war", "river", "unknown"], weights=[1, -3, 2])
    np.testing.assert_allclose(mean, (unit[0] - 3 * unit[5]) / 4, rtol=1e-6)
    raw = kv.get_mean_vector(["war", kv.vectors[1]], pre_normalize=False, post_normalize=True)
    expected = kv.vectors[0] + kv.vectors[1]
    np.testing.assert_allclose(raw, expected / np.linalg.norm(expected), rtol=1e-6)
    with pytest.raises(KeyError, match="unknown"):
        kv.get_mean_vector(["war", "unknown"], ignore_missing=False)
    with pytest.raises(ValueError, match="one weight per key"):
        kv.get_mean_vector(["war"], weights=[1, 2])
    ref = gensim_copy(kv)
    for options in ({}, {"weights": [1, 2, 3]}, {"pre_normalize": False}):
        np.testing.assert_allclose(kv.get_mean_vector(["war", "army", "money"], **options),
                                   ref.get_mean_vector(["war", "army", "money"], **options),
                                   rtol=1e-6)


def test_vectors_for_all_subset_counts_as_gensim(kv):
    ref = gensim_copy(kv)
    words = ["bank", "war", "nope", "bank", "river"]
    for copy in (False, True):
        ours, theirs = kv.vectors_for_all(words, copy_vecattrs=copy), \
            ref.vectors_for_all(words, copy_vecattrs=copy)
        assert ours.index_to_key == theirs.index_to_key == ["bank", "war", "river"]
        np.testing.assert_array_equal(ours.vectors, theirs.vectors)
        assert [ours.get_vecattr(w, "count") for w in ours.index_to_key] == \
            [theirs.get_vecattr(w, "count") for w in theirs.index_to_key]
    assert len(kv.vectors_for_all(["nope"])) == 0


def test_unit_normalize_all_in_place(kv):
    kv.most_similar("war")
    before = kv.most_similar("war")
    kv["zero"] = np.zeros(6)
    kv.unit_normalize_all()
    norms = np.linalg.norm(kv.vectors, axis=1)
    np.testing.assert_allclose(norms[:-1], 1.0, rtol=1e-6)
    assert norms[-1] == 0.0
    after = [(w, s) for w, s in kv.most_similar("war") if w != "zero"]  # cosine 0 to all
    assert [w for w, _ in after] == [w for w, _ in before]
    np.testing.assert_allclose([s for _, s in after], [s for _, s in before], rtol=1e-5)


def test_analogies_by_cosmul_equal_most_similar_cosmul_question_by_question(kv, tmp_path):
    path = tmp_path / "q.txt"
    questions = [("war", "army", "peace", "treaty"), ("river", "bank", "money", "war"),
                 ("army", "war", "treaty", "peace")]
    path.write_text(": s\n" + "".join(" ".join(q) + "\n" for q in questions), encoding="utf-8")
    _, sections = kv.evaluate_word_analogies(path, case_insensitive=False,
                                             similarity_function="most_similar_cosmul")
    for a, b, c, expected in questions:
        best = next(w for w, _ in kv.most_similar_cosmul([b, c], [a], topn=5))
        bucket = "correct" if best == expected else "incorrect"
        assert (a, b, c, expected) in sections[0][bucket]
    with pytest.raises(ValueError, match="similarity_function must be one of"):
        kv.evaluate_word_analogies(path, similarity_function="cosine")


# -- vectors_lockf: a float32 array, changed in place as in gensim (training: test_lockf.py) ------

def test_vectors_lockf_is_one_factor_or_one_per_word(kv):
    assert kv.vectors_lockf.tolist() == [1.0] and kv.vectors_lockf.dtype == np.float32
    kv.vectors_lockf = np.ones(len(kv), dtype=np.float32)
    kv.vectors_lockf[0] = 0.0  # gensim's way to lock one vector
    assert kv.vectors_lockf.tolist() == [0.0] + [1.0] * (len(kv) - 1)
    kv.add_vectors(["zz"], np.ones((1, kv.vector_size)))  # a new word trains normally
    assert kv.vectors_lockf.tolist() == [0.0] + [1.0] * (len(kv) - 1)
    with pytest.raises(ValueError, match=rf"1 value .* or {len(kv)} "):
        kv.vectors_lockf = np.ones(3)
    with pytest.raises(ValueError, match="finite"):
        kv.vectors_lockf = [np.inf]
    kv.vectors_lockf = [0.5]  # one value for every word, kept when words are added
    kv.add_vectors(["yy"], np.ones((1, kv.vector_size)))
    assert kv.vectors_lockf.tolist() == [0.5]


def test_similarity_of_a_word_with_itself_is_exactly_one(kv):
    assert all(kv.similarity(w, w) == 1.0 and kv.distance(w, w) == 0.0 for w in WORDS)
    assert kv.n_similarity(["war"], ["bank"]) == kv.similarity("war", "bank")
    ref = gensim_copy(kv)
    assert kv.similarity("war", "bank") == pytest.approx(float(ref.similarity("war", "bank")),
                                                         rel=1e-6)


def test_counts_by_gensims_attribute_methods(kv):
    assert kv.expandos["count"] is kv.counts
    kv.set_vecattr("war", "count", 100)
    assert kv.get_vecattr("war", "count") == 100
    plain = KeyedVectors(["a", "b"], np.eye(2))
    assert plain.expandos == {}
    plain.set_vecattr("b", "count", 4)
    assert plain.counts.tolist() == [0, 4]
    with pytest.raises(KeyError, match="only 'count'"):
        plain.set_vecattr("b", "code", 1)
