"""Tests of nnbasics.word2vec.keyedvectors: queries and evaluation, with gensim parity."""

import numpy as np
import pytest

from nnbasics.word2vec.keyedvectors import KeyedVectors

WORDS = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy", "apple", "King"]


@pytest.fixture
def kv():
    # a planted structure: gender and capital offsets, plus noise
    rng = np.random.default_rng(0)
    base = {w: rng.normal(size=8) for w in WORDS}
    gender, capital = rng.normal(size=8), rng.normal(size=8)
    base["queen"] = base["king"] + gender + 0.05 * rng.normal(size=8)
    base["woman"] = base["man"] + gender + 0.05 * rng.normal(size=8)
    base["france"] = base["paris"] + capital + 0.05 * rng.normal(size=8)
    base["italy"] = base["rome"] + capital + 0.05 * rng.normal(size=8)
    return KeyedVectors(WORDS, np.array([base[w] for w in WORDS]))


def gensim_kv(kv):
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.KeyedVectors(kv.vector_size)
    ref.add_vectors(kv.index_to_key, kv.vectors)
    return ref


def test_lookup(kv):
    assert len(kv) == 10 and "paris" in kv and "berlin" not in kv
    np.testing.assert_array_equal(kv["rome"], kv.vectors[6])
    assert kv[["man", "rome"]].shape == (2, 8) and kv.vectors.dtype == np.float32
    assert kv.key_to_index["apple"] == 8 and kv.index_to_key[8] == "apple"
    with pytest.raises(KeyError, match="berlin"):
        kv["berlin"]
    # integer indexes, as gensim's get_index
    np.testing.assert_array_equal(kv[6], kv["rome"])
    np.testing.assert_array_equal(kv[[6, "man"]], kv[["rome", "man"]])
    assert kv.get_index(np.int64(9)) == 9 and kv.get_index("King") == 9
    for bad in (10, -1, True):
        with pytest.raises(KeyError):
            kv.get_index(bad)


def test_bad_construction():
    with pytest.raises(ValueError, match="one row"):
        KeyedVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="twice"):
        KeyedVectors(["a", "a"], np.zeros((2, 2)))


def test_most_similar_by_hand():
    kv = KeyedVectors(["a", "b", "c", "d"], [[1, 0], [1, 0.1], [0, 1], [-1, 0]])
    result = kv.most_similar("a", topn=3)
    assert [w for w, _ in result] == ["b", "c", "d"]
    assert result[0][1] == pytest.approx(1 / np.sqrt(1.01))
    assert result[2][1] == pytest.approx(-1.0)
    assert [w for w, _ in kv.most_similar(negative=["d"], topn=2)] == ["a", "b"]
    assert kv.most_similar("a", topn=1, restrict_vocab=3) == kv.most_similar("a", topn=1)
    assert [w for w, _ in kv.most_similar([np.array([0.0, 1.0])], topn=1)] == ["c"]
    assert kv.most_similar("a", topn=None).shape == (4,)
    with pytest.raises(ValueError, match="at least one"):
        kv.most_similar()


def test_similarity_and_doesnt_match(kv):
    assert kv.similarity("king", "king") == pytest.approx(1.0, abs=1e-6)
    assert kv.similarity("king", "queen") == pytest.approx(kv.similarity("queen", "king"))
    assert kv.doesnt_match(["king", "queen", "apple", "man", "woman", "nope"]) == "apple"
    with pytest.raises(ValueError, match="none of the words"):
        kv.doesnt_match(["x", "y"])


def test_analogy_via_most_similar(kv):
    assert kv.most_similar(positive=["woman", "king"], negative=["man"], topn=1)[0][0] == "queen"
    assert kv.most_similar(positive=["italy", "paris"], negative=["france"], topn=1)[0][0] == "rome"


def test_queries_match_gensim(kv):
    ref = gensim_kv(kv)
    for query in (dict(positive=["king"]), dict(positive=["woman", "king"], negative=["man"]),
                  dict(positive=["rome", "apple"], negative=["queen", "paris"], topn=4)):
        ours, theirs = kv.most_similar(**query), ref.most_similar(**query)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    weighted = dict(positive=[("king", 2.0), "woman", (kv["apple"], 0.5)],
                    negative=[("man", -1.5)], topn=5, restrict_vocab=8)
    ours, theirs = kv.most_similar(**weighted), ref.most_similar(**weighted)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    np.testing.assert_allclose(kv.most_similar("paris", topn=None),
                               ref.most_similar("paris", topn=None), rtol=1e-5, atol=1e-6)
    assert kv.most_similar("paris", topn=0) == ref.most_similar("paris", topn=0) == []
    ours, theirs = kv.most_similar([4, "rome"], [0]), ref.most_similar([4, "rome"], [0])
    assert [w for w, _ in ours] == [w for w, _ in theirs]  # ints are indexes, as in gensim
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    assert kv.most_similar(["paris", "rome", "king", "man"], topn=-1) == []
    assert kv.similarity("man", "rome") == pytest.approx(ref.similarity("man", "rome"), rel=1e-5)
    words = ["king", "queen", "man", "paris", "woman"]
    assert kv.doesnt_match(words) == ref.doesnt_match(words)


ANALOGIES = """\
: gender
man woman king queen
MAN WOMAN king QUEEN
man woman apple queen
man woman berlin germany
: capital-country
paris france rome italy
rome italy paris france
paris france king queen
short line
"""


def test_evaluate_word_analogies(kv, tmp_path):
    path = tmp_path / "questions-words.txt"
    path.write_text(ANALOGIES, encoding="utf-8")
    score, sections = kv.evaluate_word_analogies(path)
    assert [s["section"] for s in sections] == ["gender", "capital-country", "Total accuracy"]
    gender = sections[0]
    assert ("MAN", "WOMAN", "KING", "QUEEN") in gender["correct"]  # case-insensitive by default
    assert len(gender["correct"]) + len(gender["incorrect"]) == 3  # the OOV question is skipped
    total = sections[-1]
    assert score == pytest.approx(len(total["correct"]) / (len(total["correct"])
                                                          + len(total["incorrect"])))
    assert score >= 4 / 6

    ref = gensim_kv(kv)
    ref_score, ref_sections = ref.evaluate_word_analogies(str(path))
    assert score == pytest.approx(ref_score)
    assert sections == ref_sections


def test_analogies_restricted_vocabulary_and_errors(kv, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(ANALOGIES, encoding="utf-8")
    _, sections = kv.evaluate_word_analogies(path, restrict_vocab=4)  # only king..woman
    assert len(sections[-1]["correct"]) + len(sections[-1]["incorrect"]) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("man woman king queen\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing section header"):
        kv.evaluate_word_analogies(bad)


PAIRS = """\
# word1\tword2\thuman score
king\tqueen\t9.0
man\twoman\t8.5
paris\tfrance\t8.0
king\tapple\t1.0
rome\tman\t2.0
italy\tqueen\t1.5
berlin\tgermany\t9.0
not a valid line
"""


def test_evaluate_word_pairs_matches_gensim(kv, tmp_path):
    path = tmp_path / "wordsim.tsv"
    path.write_text(PAIRS, encoding="utf-8")
    pearson, spearman, oov = kv.evaluate_word_pairs(path)
    assert oov == pytest.approx(100 / 7)
    assert -1 <= pearson[0] <= 1 and 0 <= pearson[1] <= 1
    rho, _ = spearman  # unpacks like gensim's scipy result
    assert -1 <= rho <= 1
    ref = gensim_kv(kv)
    ref_pearson, ref_spearman, ref_oov = ref.evaluate_word_pairs(str(path))
    np.testing.assert_allclose(pearson, tuple(ref_pearson), rtol=1e-5)
    np.testing.assert_allclose(tuple(spearman), tuple(ref_spearman), rtol=1e-5)
    assert oov == pytest.approx(ref_oov)


def test_evaluate_word_pairs_needs_pairs_in_vocabulary(kv, tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("foo\tbar\t3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="fewer than 2"):
        kv.evaluate_word_pairs(path)


# -- gensim parity on a larger case: case variants, restrict_vocab, dummy4unknown ----------------


def _case_variant_kv(seed=0):
    """40 random words plus 10 capitalised variants lying next to their lower-case form.

    A variant's vector is close to the lower-case word's, so it often comes first in a search
    and must then be skipped as "an input word" by the case-insensitive evaluation.
    """
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)]
    vectors = rng.normal(size=(40, 6))
    variants = [f"W{i}" for i in range(0, 40, 4)]
    variant_vectors = vectors[0:40:4] + 0.05 * rng.normal(size=(10, 6))
    # interleave so that some variants come before their lower-case form (more frequent)
    keys = words[:20] + variants[:5] + words[20:] + variants[5:]
    rows = np.vstack([vectors[:20], variant_vectors[:5], vectors[20:], variant_vectors[5:]])
    return KeyedVectors(keys, rows), rng


def _analogy_file(path, kv, rng, n_questions=120):
    keys = [*kv.index_to_key, "unknown1", "unknown2"]
    lines = []
    for q in range(n_questions):
        if q % 30 == 0:
            lines.append(f": section-{q // 30}")
        words = [keys[i] for i in rng.integers(0, len(keys), 4)]
        if q % 3 == 0 and all(w in kv for w in words[:3]):  # d: the answer b - a + c
            a, b, c = words[:3]
            target = kv[b] - kv[a] + kv[c]
            words[3] = kv.most_similar([target], topn=1)[0][0]
        if q % 5 == 0:
            words = [w.upper() if i % 2 else w for i, w in enumerate(words)]
        lines.append(" ".join(words))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(restrict_vocab=30),
    dict(case_insensitive=False),
    dict(dummy4unknown=True),
    dict(restrict_vocab=20, case_insensitive=False, dummy4unknown=True),
])
def test_evaluate_word_analogies_equals_gensims(tmp_path, kwargs):
    kv, rng = _case_variant_kv()
    path = _analogy_file(tmp_path / "q.txt", kv, rng)
    ref = gensim_kv(kv)
    score, sections = kv.evaluate_word_analogies(path, **kwargs)
    ref_score, ref_sections = ref.evaluate_word_analogies(str(path), **kwargs)
    assert sections == ref_sections
    assert score == ref_score
    answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    assert answered > 10 and 0 < score < 1  # a real mix of right and wrong answers


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(restrict_vocab=30),
    dict(case_insensitive=False),
    dict(dummy4unknown=True),
])
def test_evaluate_word_pairs_equals_gensims(tmp_path, kwargs):
    kv, rng = _case_variant_kv(1)
    keys = [*kv.index_to_key, "unknown"]
    lines = ["# a comment", "not a pair"]
    for _ in range(60):
        a, b = (keys[i] for i in rng.integers(0, len(keys), 2))
        if rng.random() < 0.2:
            a = a.upper()
        lines.append(f"{a}\t{b}\t{rng.integers(0, 11)}")  # integer scores: ties in the ranks
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pearson, spearman, oov = kv.evaluate_word_pairs(path, **kwargs)
    ref_pearson, ref_spearman, ref_oov = gensim_kv(kv).evaluate_word_pairs(str(path), **kwargs)
    assert len(pearson) == len(ref_pearson) == 2 and len(spearman) == len(ref_spearman) == 2
    np.testing.assert_allclose(tuple(pearson), tuple(ref_pearson), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(tuple(spearman), tuple(ref_spearman), rtol=1e-6, atol=1e-12)
    assert pearson.statistic == pytest.approx(ref_pearson.statistic, rel=1e-6)
    assert spearman.pvalue == pytest.approx(ref_spearman.pvalue, rel=1e-6)
    assert oov == pytest.approx(ref_oov, rel=1e-12) and oov > 0


def test_gensim_query_methods_match_gensim(kv):
    ref = gensim_kv(kv)
    assert kv.distance("king", "queen") == pytest.approx(ref.distance("king", "queen"), abs=1e-6)
    np.testing.assert_allclose(kv.distances("king"), ref.distances("king"), atol=1e-6)
    np.testing.assert_allclose(kv.distances("king", ["man", "rome"]),
                               ref.distances("king", ["man", "rome"]), atol=1e-6)
    assert kv.n_similarity(["king", "man"], ["queen", "woman"]) == pytest.approx(
        ref.n_similarity(["king", "man"], ["queen", "woman"]), abs=1e-6)
    # words without a vector are left out, as gensim does
    assert kv.n_similarity(["king", "zz"], ["queen"]) == pytest.approx(
        ref.n_similarity(["king", "zz"], ["queen"]), abs=1e-6)
    for word, other in (("king", "queen"), ("paris", "apple"), ("man", "King")):
        assert kv.closer_than(word, other) == ref.closer_than(word, other)
        assert kv.rank(word, other) == ref.rank(word, other)
    assert [w for w, _ in kv.similar_by_word("paris", topn=3)] == \
        [w for w, _ in ref.similar_by_word("paris", topn=3)]
    vector = kv["rome"] + kv["france"]
    assert [w for w, _ in kv.similar_by_vector(vector, topn=4)] == \
        [w for w, _ in ref.similar_by_vector(vector, topn=4)]
    # an index is a word (as gensim), alone or in a list
    assert kv.most_similar(0, topn=3) == kv.most_similar("king", topn=3)
    assert kv.most_similar(np.int64(0), topn=3) == kv.most_similar(["king"], topn=3)
    assert [w for w, _ in kv.most_similar(0, topn=3)] == [w for w, _ in ref.most_similar(0, topn=3)]


def test_has_index_for_and_counts_as_gensim(kv):
    assert kv.has_index_for("king") and kv.has_index_for(3)
    assert not kv.has_index_for("nope") and not kv.has_index_for(len(kv))
    with pytest.raises(KeyError, match="no counts"):
        kv.get_vecattr("king", "count")
    counted = KeyedVectors(["a", "b"], np.eye(2), counts=[7, 3])
    assert counted.get_vecattr("b", "count") == 3
    with pytest.raises(KeyError, match="no attribute 'sample_int'"):
        counted.get_vecattr("b", "sample_int")
    with pytest.raises(KeyError, match="no Huffman tree"):
        counted.get_vecattr("b", "code")
    with pytest.raises(ValueError, match="at least one word") as caught:
        kv.n_similarity([], ["king"])
    assert isinstance(caught.value, ZeroDivisionError)  # as gensim
    with pytest.raises(ValueError, match="has a vector"):
        kv.n_similarity(["zz"], ["king"])


@pytest.mark.parametrize("binary", [False, True])
def test_load_word2vec_format_limit_reads_the_first_vectors(kv, tmp_path, binary):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    kv.save_word2vec_format(path, binary=binary)
    part = KeyedVectors.load_word2vec_format(path, binary=binary, limit=4)
    assert part.index_to_key == WORDS[:4]
    np.testing.assert_array_equal(part.vectors, kv.vectors[:4])
    ref = pytest.importorskip("gensim").models.KeyedVectors.load_word2vec_format(
        str(path), binary=binary, limit=4)
    np.testing.assert_array_equal(part.vectors, ref.vectors)
    whole = KeyedVectors.load_word2vec_format(path, binary=binary, limit=100)
    assert whole.index_to_key == WORDS
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        KeyedVectors.load_word2vec_format(path, binary=binary, limit=0)


@pytest.mark.parametrize("method", ["evaluate_word_analogies", "evaluate_word_pairs"])
def test_evaluation_files_that_are_not_utf8_name_the_file_and_line(kv, tmp_path, method):
    path = tmp_path / "eval.txt"
    path.write_bytes(b": s\nking queen man woman\n\xff\xfe a b c\n" if method.endswith("analogies")
                     else b"king\tqueen\t5.0\n\xff\xfe\tman\t3.0\n")
    with pytest.raises(ValueError, match=r"eval\.txt: line \d is not valid UTF-8"):
        getattr(kv, method)(path)


def test_save_and_load_round_trip_without_pickle(kv, tmp_path):
    path = tmp_path / "vectors.kv"
    kv.save(path)
    loaded = KeyedVectors.load(path)
    assert loaded.index_to_key == kv.index_to_key and loaded.counts is None
    np.testing.assert_array_equal(loaded.vectors, kv.vectors)
    assert loaded.most_similar("king", topn=3) == kv.most_similar("king", topn=3)
    with np.load(path, allow_pickle=False) as archive:  # plain arrays only
        assert "vectors" in archive.files and "counts" not in archive.files
    counted = KeyedVectors(["a", "b"], np.eye(2), counts=[5, 2])
    counted.save(tmp_path / "c.kv")
    assert KeyedVectors.load(tmp_path / "c.kv").get_vecattr("a", "count") == 5


def test_load_refuses_other_and_damaged_files(kv, tmp_path):
    from nnbasics.word2vec import Word2Vec

    model = Word2Vec([["a", "b", "c"]] * 20, vector_size=4, min_count=1, workers=1, epochs=1)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="holds a Word2Vec model"):
        KeyedVectors.load(tmp_path / "model.npz")  # a word2vec model is not KeyedVectors
    kv.save(tmp_path / "v.kv")
    data = (tmp_path / "v.kv").read_bytes()
    (tmp_path / "cut.kv").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError):
        KeyedVectors.load(tmp_path / "cut.kv")
    with pytest.raises(FileNotFoundError):
        KeyedVectors.load(tmp_path / "missing.kv")
