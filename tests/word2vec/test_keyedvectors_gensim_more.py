"""More of gensim 4's KeyedVectors API (issue #16): the aliases gensim kept, clipped searches,
cosine_similarities, sorting by frequency, intersecting a word2vec file, centrality, the Word
Mover's Distance, and the errors of gensim 3's removed attributes; each checked by hand and,
where gensim is installed, against it."""

import copy
import logging
import pickle
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from nnbasics.word2vec import Word2Vec
from nnbasics.word2vec.keyedvectors import KeyedVectors
from tests.word2vec.test_keyedvectors_gensim_api import gensim_copy

WORDS = [f"w{i}" for i in range(40)]


@pytest.fixture
def kv():
    vectors = np.random.default_rng(5).normal(size=(len(WORDS), 6)).astype(np.float32)
    return KeyedVectors(WORDS, vectors, counts=np.arange(len(WORDS), 0, -1) * 3)


def same_results(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)


# -- lookups ------------------------------------------------------------------------------------

def test_an_index_is_in_the_vectors_as_in_gensim(kv):
    assert "w3" in kv and 3 in kv and 39 in kv
    assert 40 not in kv and -1 not in kv and "zz" not in kv and [1] not in kv
    assert kv.get_index("zz", default=-1) == -1 and kv.get_index("w7", default=-1) == 7
    with pytest.raises(KeyError, match="zz"):
        kv.get_index("zz")


def test_gensims_aliases_answer_as_their_targets(kv):
    np.testing.assert_array_equal(kv.word_vec("w2"), kv.get_vector("w2"))
    np.testing.assert_array_equal(kv.word_vec("w2", norm=True), kv.get_vector("w2", norm=True))
    assert kv.similar_by_key("w2", topn=4) == kv.most_similar("w2", topn=4)
    assert kv.similar_by_word("w2", topn=4) == kv.similar_by_key("w2", topn=4)
    assert kv.words_closer_than("w1", "w9") == kv.closer_than("w1", "w9")


def test_norms_are_the_lengths_of_the_current_vectors(kv):
    np.testing.assert_allclose(kv.norms, np.linalg.norm(kv.vectors, axis=1), rtol=1e-6)
    kv.vectors[0] *= 2  # changed in place: norms follow, unit vectors after fill_norms
    np.testing.assert_allclose(kv.norms[0], np.linalg.norm(kv.vectors[0]), rtol=1e-6)
    kv.fill_norms(force=True)
    np.testing.assert_allclose(kv.get_normed_vectors()[0], kv.vectors[0] / kv.norms[0],
                               rtol=1e-6)


def test_init_sims_is_deprecated_and_replace_normalises(kv):
    before = kv.vectors.copy()
    with pytest.warns(DeprecationWarning, match="init_sims"):
        kv.init_sims()
    np.testing.assert_array_equal(kv.vectors, before)  # without replace: vectors kept
    with pytest.warns(DeprecationWarning):
        kv.init_sims(replace=True)
    np.testing.assert_allclose(kv.norms, 1.0, rtol=1e-6)


@pytest.mark.parametrize("name, replacement", [
    ("vocab", "key_to_index"), ("index2word", "index_to_key"),
    ("index2entity", "index_to_key"), ("vectors_norm", "get_normed_vectors"),
])
def test_gensim3_attributes_say_what_replaced_them(kv, name, replacement):
    with pytest.raises(AttributeError, match=replacement):
        getattr(kv, name)
    assert not hasattr(kv, name)


# -- searching ----------------------------------------------------------------------------------

def test_clip_start_and_end_search_a_range_of_indices(kv):
    clipped = kv.most_similar("w1", topn=5, clip_start=10, clip_end=30)
    assert all(10 <= kv.get_index(w) < 30 for w, _ in clipped)
    normed = kv.get_normed_vectors()
    sims = normed[10:30] @ normed[1]
    best = np.argsort(-sims)[:5] + 10
    assert [w for w, _ in clipped] == [WORDS[i] for i in best]
    # the query word itself is left out when it lies in the range
    assert "w12" not in [w for w, _ in kv.most_similar("w12", topn=30, clip_start=10)]
    assert kv.most_similar("w1", topn=None, clip_start=10, clip_end=30).shape == (20,)
    # restrict_vocab overrides both, as in gensim
    assert kv.most_similar("w1", topn=5, clip_start=10, restrict_vocab=8) == \
        kv.most_similar("w1", topn=5, restrict_vocab=8)
    with pytest.raises(ValueError, match="clip_start"):
        kv.most_similar("w1", clip_start=35, clip_end=20)
    # 0 is no word (gensim reads it as no limit), as the docstring says
    assert kv.most_similar("w1", clip_end=0) == kv.most_similar("w1", restrict_vocab=0) == []


def test_clipped_searches_equal_gensims(kv):
    ref = gensim_copy(kv)
    for kwargs in (dict(clip_start=5), dict(clip_start=3, clip_end=25), dict(clip_end=12),
                   dict(restrict_vocab=15, clip_start=9)):
        same_results(kv.most_similar(["w4", "w7"], negative=["w2"], topn=6, **kwargs),
                     ref.most_similar(["w4", "w7"], negative=["w2"], topn=6, **kwargs))


def test_an_indexer_answers_the_query_vector_when_given():
    class Indexer:  # gensim's indexer interface: most_similar(vector, num_neighbors)
        def most_similar(self, vector, topn):
            self.seen = vector
            return [("answer", 1.0)] * topn

    kv = KeyedVectors(["a", "b"], [[3.0, 0.0], [0.0, 1.0]])
    indexer = Indexer()
    assert kv.most_similar("a", topn=2, indexer=indexer) == [("answer", 1.0)] * 2
    np.testing.assert_allclose(indexer.seen, [1.0, 0.0])  # the unit query
    assert kv.most_similar("a", topn=None, indexer=indexer).shape == (2,)  # not for topn=None


def test_cosine_similarities_by_hand_and_as_gensim(kv):
    vector, rows = kv["w3"], kv.vectors[:7]
    expected = rows @ vector / (np.linalg.norm(rows, axis=1) * np.linalg.norm(vector))
    np.testing.assert_allclose(KeyedVectors.cosine_similarities(vector, rows), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(kv.cosine_similarities(vector, rows),
                               gensim_copy(kv).cosine_similarities(vector, rows), rtol=1e-6)
    zero_row = KeyedVectors.cosine_similarities(np.ones(2), np.array([[0.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(zero_row, [0.0, 1.0])  # 0, not NaN, for a zero vector
    # integer vectors, as gensim takes them: float64 cosines (not a casting error)
    ints = KeyedVectors.cosine_similarities([1, 0], [[1, 0], [0, 2], [3, 4]])
    np.testing.assert_allclose(ints, [1.0, 0.0, 0.6])
    assert ints.dtype == np.float64
    assert KeyedVectors.cosine_similarities(kv["w3"], kv.vectors[:2]).dtype == np.float32


def test_rank_by_centrality_as_gensim(kv, caplog):
    words = ["w1", "w5", "w9", "w20", "w33"]
    ranked = kv.rank_by_centrality(words)
    vectors = kv.get_normed_vectors()[[1, 5, 9, 20, 33]]
    mean = vectors.mean(0) / np.linalg.norm(vectors.mean(0))
    expected = sorted(zip((vectors @ mean).tolist(), words, strict=True), reverse=True)
    assert [w for _, w in ranked] == [w for _, w in expected]
    np.testing.assert_allclose([c for c, _ in ranked], [c for c, _ in expected], rtol=1e-6)
    ref = gensim_copy(kv)
    for use_norm in (True, False):
        ours, theirs = kv.rank_by_centrality(words, use_norm), ref.rank_by_centrality(words,
                                                                                     use_norm)
        assert [w for _, w in ours] == [w for _, w in theirs]
        np.testing.assert_allclose([c for c, _ in ours], [c for c, _ in theirs], rtol=1e-5)
    with caplog.at_level(logging.WARNING):
        assert [w for _, w in kv.rank_by_centrality(["w1", "nope"])] == ["w1"]
    assert "nope" in caplog.text
    with pytest.raises(ValueError, match="none of the words"):
        kv.rank_by_centrality(["nope"])


# -- Word Mover's Distance ----------------------------------------------------------------------

def test_wmd_of_equal_sized_bags_is_the_best_assignment(kv):
    # with n distinct words on each side, each of mass 1/n, an optimal transport plan is a
    # permutation (Birkhoff): the distance is the assignment's cost / n
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 9):
        doc1, doc2 = (list(rng.choice(WORDS, n, replace=False)) for _ in range(2))
        for norm in (True, False):
            vectors = kv.get_normed_vectors() if norm else kv.vectors
            x1 = vectors[[kv.get_index(w) for w in doc1]].astype(np.float64)
            x2 = vectors[[kv.get_index(w) for w in doc2]].astype(np.float64)
            cost = np.linalg.norm(x1[:, None] - x2[None], axis=2)
            rows, cols = linear_sum_assignment(cost)
            assert kv.wmdistance(doc1, doc2, norm=norm) == pytest.approx(
                cost[rows, cols].sum() / n, rel=1e-9, abs=1e-12)


def test_wmd_properties(kv):
    assert kv.wmdistance(["w1", "w2", "w2"], ["w2", "w1", "w2"]) == 0.0  # the same bag
    assert kv.wmdistance(["w4"], ["w4", "w4"]) == 0.0
    assert kv.wmdistance(["w1", "w5"], ["w7"]) == pytest.approx(kv.wmdistance(["w7"],
                                                                                 ["w5", "w1"]))
    # repeated words weigh more: moving mass 2/3 of w1 and 1/3 of w2 onto w3
    x = kv.get_normed_vectors()
    expected = (2 * np.linalg.norm(x[1] - x[3]) + np.linalg.norm(x[2] - x[3])) / 3
    assert kv.wmdistance(["w1", "w1", "w2"], ["w3"]) == pytest.approx(expected, rel=1e-6)
    assert kv.wmdistance(["w1", "oov"], ["w3", "also-oov"]) == kv.wmdistance(["w1"], ["w3"])
    assert kv.wmdistance(["oov"], ["w3"]) == float("inf")
    assert kv.wmdistance([], ["w3"]) == float("inf")
    twins = KeyedVectors(["a", "b"], [[1.0, 2.0], [1.0, 2.0]])
    assert twins.wmdistance(["a"], ["b"]) == 0.0  # all costs 0: 0 (gensim gives inf)


def test_wmd_equals_gensims(kv):
    pytest.importorskip("ot")  # gensim's wmdistance needs POT
    ref = gensim_copy(kv)
    rng = np.random.default_rng(2)
    for _ in range(20):
        doc1 = list(rng.choice([*WORDS, "oov"], int(rng.integers(1, 15))))
        doc2 = list(rng.choice([*WORDS[:12], "oov"], int(rng.integers(1, 15))))
        for norm in (True, False):
            assert kv.wmdistance(doc1, doc2, norm) == pytest.approx(
                ref.wmdistance(doc1, doc2, norm), rel=1e-7, abs=1e-9)


# -- reordering and merging ---------------------------------------------------------------------

def test_sort_by_descending_frequency_as_gensim():
    counts = [3, 9, 3, 1, 9, 5]
    words = ["a", "b", "c", "d", "e", "f"]
    vectors = np.arange(12.0).reshape(6, 2)
    kv = KeyedVectors(words, vectors, counts=counts)
    kv.vectors_lockf = [1.0, 0.0, 1.0, 1.0, 0.5, 1.0]
    kv.sort_by_descending_frequency()
    # equal counts: the later word first, gensim's np.lexsort((-index, -count))
    assert kv.index_to_key == ["e", "b", "f", "c", "a", "d"]
    assert kv.key_to_index["e"] == 0 and kv.counts.tolist() == [9, 9, 5, 3, 3, 1]
    np.testing.assert_array_equal(kv["b"], [2.0, 3.0])
    np.testing.assert_array_equal(kv.vectors_lockf, [0.5, 0.0, 1.0, 1.0, 1.0, 1.0])
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.KeyedVectors(2)
    ref.add_vectors(words, vectors)
    for word, count in zip(words, counts, strict=True):
        ref.set_vecattr(word, "count", count)
    ref.sort_by_descending_frequency()
    assert kv.index_to_key == ref.index_to_key
    np.testing.assert_array_equal(kv.vectors, ref.vectors)


def test_sorting_keeps_each_words_huffman_path():
    corpus = [["a"] * 5 + ["b"] * 9 + ["c"] * 2 + ["d"] * 7] * 3
    model = Word2Vec(corpus, vector_size=4, min_count=1, hs=1, negative=0, epochs=1,
                     sorted_vocab=0, workers=1)
    kv = model.wv.vectors_for_all(model.wv.index_to_key, copy_vecattrs=True)
    kv.huffman_tree = model.hs_tree
    paths = {w: (kv.get_vecattr(w, "code").tolist(), kv.get_vecattr(w, "point").tolist())
             for w in kv.index_to_key}
    kv.sort_by_descending_frequency()
    assert kv.index_to_key == ["b", "d", "a", "c"]
    for word, (code, point) in paths.items():
        assert kv.get_vecattr(word, "code").tolist() == code
        assert kv.get_vecattr(word, "point").tolist() == point


def test_a_models_vectors_refuse_to_be_reordered():
    model = Word2Vec([["x", "y", "y", "z"]] * 4, vector_size=4, min_count=1, epochs=1,
                     sorted_vocab=0, workers=1)
    with pytest.raises(ValueError, match="output vectors follow"):
        model.wv.sort_by_descending_frequency()
    detached = model.wv
    model.wv = KeyedVectors(detached.index_to_key, detached.vectors.copy(),
                            counts=detached.counts)
    detached.sort_by_descending_frequency()  # no longer the model's: allowed
    # a copy of a model's wv is not the model's wv; a copy of the model keeps the rule
    model.wv = KeyedVectors(["x", "y", "z"], detached.vectors.copy(),
                            counts=np.array([1, 2, 3]))
    copied = pickle.loads(pickle.dumps(model.wv))
    copied.sort_by_descending_frequency()
    assert copied.index_to_key == ["z", "y", "x"] and model.wv.index_to_key[0] != "z"
    copy.deepcopy(model.wv).sort_by_descending_frequency()
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        with pytest.raises(ValueError, match="output vectors follow"):
            twin.wv.sort_by_descending_frequency()
    with pytest.raises(ValueError, match="counts"):
        KeyedVectors(["a", "b"], np.ones((2, 2))).sort_by_descending_frequency()


def test_intersect_word2vec_format_takes_known_words_and_locks_them(kv, tmp_path):
    other = KeyedVectors(["w3", "new", "w0"], np.full((3, 6), 7.0) * [[1], [2], [3]])
    path = tmp_path / "pretrained.txt"
    other.save_word2vec_format(path)
    before = kv.vectors.copy()
    assert kv.intersect_word2vec_format(path, lockf=0.0) == 2
    assert len(kv) == len(WORDS) and "new" not in kv  # no word added
    np.testing.assert_array_equal(kv["w3"], np.full(6, 7.0))
    np.testing.assert_array_equal(kv["w0"], np.full(6, 21.0))
    np.testing.assert_array_equal(kv.vectors[4:], before[4:])
    assert kv.vectors_lockf.shape == (len(WORDS),)
    assert kv.vectors_lockf[3] == 0.0 and kv.vectors_lockf[0] == 0.0
    assert kv.vectors_lockf[1] == 1.0
    assert kv.most_similar("w3", topn=1)[0][0] == "w0"  # unit vectors recomputed
    binary = tmp_path / "pretrained.bin"
    other.save_word2vec_format(binary, binary=True)
    assert kv.intersect_word2vec_format(binary, lockf=0.5, binary=True) == 2
    assert kv.vectors_lockf[3] == 0.5
    small = tmp_path / "small.txt"
    KeyedVectors(["w1"], np.ones((1, 3))).save_word2vec_format(small)
    with pytest.raises(ValueError, match="size 3"):
        kv.intersect_word2vec_format(small)


def test_intersect_as_gensim(kv, tmp_path):
    ref = gensim_copy(kv)
    ref.vectors_lockf = np.ones(len(ref), dtype=np.float32)  # gensim needs one per word here
    path = tmp_path / "pretrained.txt"
    KeyedVectors(["w5", "zz", "w9"], np.random.default_rng(1).normal(size=(3, 6))) \
        .save_word2vec_format(path)
    kv.intersect_word2vec_format(path, lockf=0.25)
    ref.intersect_word2vec_format(str(path), lockf=0.25)
    np.testing.assert_allclose(kv.vectors, ref.vectors, rtol=1e-6)
    np.testing.assert_array_equal(kv.vectors_lockf, ref.vectors_lockf)


def test_intersected_vectors_stay_frozen_in_training(tmp_path):
    corpus = [["the", "cat", "sat", "on", "the", "mat"]] * 30
    model = Word2Vec(corpus, vector_size=8, min_count=1, sample=0, epochs=1, workers=1, seed=3)
    path = tmp_path / "cat.txt"
    KeyedVectors(["cat"], np.full((1, 8), 0.5)).save_word2vec_format(path)
    model.wv.intersect_word2vec_format(path, lockf=0.0)
    mat = model.wv["mat"].copy()
    model.train(corpus, total_examples=len(corpus), epochs=2)
    np.testing.assert_array_equal(model.wv["cat"], np.full(8, 0.5, np.float32))
    assert not np.array_equal(model.wv["mat"], mat)


# -- extras, signatures, logging ----------------------------------------------------------------

def test_add_vectors_takes_counts_as_extras(kv):
    kv.add_vectors(["w1", "n1", "n2"], np.ones((3, 6)), extras={"count": [5, 6, 7]})
    assert kv.get_vecattr("n1", "count") == 6 and kv.get_vecattr("n2", "count") == 7
    assert kv.get_vecattr("w1", "count") == 117  # kept: replace=False
    kv.add_vectors(["w1"], np.ones((1, 6)), extras={"count": [5]}, replace=True)
    assert kv.get_vecattr("w1", "count") == 5
    fresh = KeyedVectors(2)
    fresh.add_vectors(["a"], [[1.0, 2.0]], extras={"count": [4]})
    assert fresh.get_vecattr("a", "count") == 4
    with pytest.raises(ValueError, match="only 'count'"):
        kv.add_vectors(["n3"], np.ones((1, 6)), extras={"lockf": [0.0]})
    with pytest.raises(ValueError, match="one count per key"):
        kv.add_vectors(["n3", "n4"], np.ones((2, 6)), extras={"count": [1]})
    with pytest.raises(ValueError, match="whole numbers"):
        kv.add_vectors(["n3"], np.ones((1, 6)), extras={"count": [2.5]})
    kv.add_vectors(["n3"], np.ones((1, 6)), extras={"count": [2.0]})  # a whole float is a count
    assert kv.get_vecattr("n3", "count") == 2
    # earlier nnbasics took replace third: a bool there is refused by name (was "'bool'
    # object is not iterable")
    with pytest.raises(TypeError, match="replace is the fourth parameter"):
        kv.add_vectors(["w1"], np.ones((1, 6)), True)


def test_evaluate_word_pairs_takes_gensims_encoding_argument(kv, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("w1\tw2\t3.0\nw3\tw4\t1.0\nw5\tw6\t2.0\n".encode("utf-16"))
    pearson, spearman, oov = kv.evaluate_word_pairs(path, "\t", "utf-16",
                                                    case_insensitive=False)
    utf8 = tmp_path / "pairs8.tsv"
    utf8.write_text("w1\tw2\t3.0\nw3\tw4\t1.0\nw5\tw6\t2.0\n", encoding="utf-8")
    assert (pearson, spearman, oov) == kv.evaluate_word_pairs(utf8, case_insensitive=False)
    with pytest.raises(TypeError, match="restrict_vocab is the fourth"):
        kv.evaluate_word_pairs(utf8, "\t", 300_000)
    with pytest.raises(ValueError, match="unknown encoding"):
        kv.evaluate_word_pairs(utf8, "\t", "no-such-codec")
    # a file not in a stream encoding: the error names the file (UTF-16 without its BOM,
    # an odd number of bytes)
    for data in ("w1\tw2\t3.0\n".encode("latin-1"), "w1\tw2\t3.0\n".encode("utf-16")[:-1]):
        path.write_bytes(data)
        with pytest.raises(ValueError, match=r"pairs\.tsv is not valid utf-16"):
            kv.evaluate_word_pairs(path, encoding="utf-16")


def test_log_helpers_write_gensims_lines(caplog):
    with caplog.at_level(logging.INFO, logger="nnbasics"):
        KeyedVectors.log_accuracy({"section": "capitals", "correct": [1, 2, 3],
                                   "incorrect": [4]})
        KeyedVectors.log_evaluate_word_pairs((0.5, 0.01), (0.25, 0.02), 12.5, "ws.tsv")
    assert "capitals: 75.0% (3/4)" in caplog.text
    assert "against ws.tsv: 0.5000" in caplog.text and "0.2500" in caplog.text
    assert "12.5%" in caplog.text


def test_load_accepts_gensims_mmap_and_reads_into_memory(kv, tmp_path):
    path = tmp_path / "v.kv"
    kv.save(path)
    with pytest.warns(UserWarning, match="into memory"):
        loaded = KeyedVectors.load(path, mmap="r")
    np.testing.assert_array_equal(loaded.vectors, kv.vectors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KeyedVectors.load(fname=path)
    with pytest.raises(ValueError, match="mmap"):
        KeyedVectors.load(path, mmap="x")
    # earlier nnbasics' keyword names still work: load(path=...), set_vecattr(..., value=...)
    np.testing.assert_array_equal(KeyedVectors.load(path=path).vectors, kv.vectors)
    with pytest.raises(TypeError, match="once"):
        KeyedVectors.load(path, path=path)
    loaded.set_vecattr("w1", "count", value=9)
    loaded.set_vecattr("w2", "count", 8)
    assert loaded.get_vecattr("w1", "count") == 9 and loaded.get_vecattr("w2", "count") == 8
    with pytest.raises(TypeError, match="once"):
        loaded.set_vecattr("w1", "count")
