"""Tests of nnbasics.word2vec.vocab: counting, pruning, subsampling, noise table, windows."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.word2vec.vocab import (
    NOISE_TABLE_DOMAIN,
    NULL_WORD,
    EmptyVocabularyError,
    build_vocabulary,
    count_words,
    huffman_tree,
    keep_probabilities,
    noise_cum_table,
    reduced_windows,
    sample_negatives,
)

SENTENCES = [["b", "a", "c", "a"], ["a", "d", "b"], [], ["e", "c", "b"]]


def test_counts_and_order():
    raw = count_words(SENTENCES)
    assert raw.counts == {"b": 3, "a": 3, "c": 2, "d": 1, "e": 1}
    assert (raw.total_words, raw.n_sentences) == (10, 4)
    vocab = build_vocabulary(raw, min_count=2)
    # descending count, ties in reverse order of first occurrence (gensim's order)
    assert vocab.index_to_key == ["a", "b", "c"]
    assert vocab.counts.tolist() == [3, 3, 2] and vocab.counts.dtype == np.int64
    assert vocab.key_to_index == {"a": 0, "b": 1, "c": 2} and len(vocab) == 3


def test_min_count_leaving_nothing_is_a_clear_error():
    with pytest.raises(EmptyVocabularyError, match=r"min_count=4 .* most frequent occurs 3 times"):
        build_vocabulary(count_words(SENTENCES), min_count=4)


def test_empty_corpus_is_a_clear_error():
    with pytest.raises(EmptyVocabularyError, match="corpus is empty"):
        build_vocabulary(count_words([[], []]), min_count=1)


def test_an_empty_vocabulary_is_a_value_error_and_gensims_runtime_error():
    assert issubclass(EmptyVocabularyError, ValueError)
    assert issubclass(EmptyVocabularyError, RuntimeError)  # gensim's test_vocab expects it


def test_a_string_sentence_is_rejected():
    with pytest.raises(TypeError, match="list of tokens"):
        count_words(["a b c"])


def test_tokens_that_are_not_str_are_rejected():
    # they would never match the vocabulary's words when batches are encoded: nothing trained
    with pytest.raises(TypeError, match="words must be str, got int 1"):
        build_vocabulary(count_words([["a", 1, "b"]]), min_count=1)
    with pytest.raises(TypeError, match="got bytes"):
        build_vocabulary(count_words([[b"a"]]), min_count=1)


def test_max_vocab_size_prunes_like_gensim():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    sentences = [list(rng.choice(words, 8, p=p / p.sum())) for _ in range(300)]
    raw = count_words(sentences, max_vocab_size=20)
    assert raw.min_reduce > 1
    assert len(raw.counts) <= 20 + 8  # pruned after each sentence that pushes it above 20
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.Word2Vec(vector_size=5, min_count=1, max_vocab_size=20)
    ref.build_vocab(sentences, keep_raw_vocab=True)
    assert ref.raw_vocab == raw.counts  # pruned raw counts kept by gensim before min_count
    # and the same vocabulary order (ties depend on when a pruned word came back)
    assert list(ref.raw_vocab) == list(raw.counts)
    vocab = build_vocabulary(raw, min_count=1)
    assert vocab.index_to_key == ref.wv.index_to_key
    assert vocab.counts.tolist() == [ref.wv.get_vecattr(w, "count") for w in ref.wv.index_to_key]


def test_keep_probability_formula():
    counts = np.array([1000, 100, 10, 1])
    total = counts.sum()
    sample = 1e-2
    t = sample * total
    expected = np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(keep_probabilities(counts, sample), expected, rtol=1e-6)
    assert keep_probabilities(counts, sample).dtype == np.float32
    assert keep_probabilities(counts, 0).tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="sample"):
        keep_probabilities(counts, -1)


# 1e-2 and 1e-3: the fraction of word2vec.c; 20 and 100: gensim's absolute-count shorthand
@pytest.mark.parametrize("sample", [1e-2, 1e-3, 20.0, 100.0])
def test_keep_probability_matches_gensim(sample):
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(30)]
    p = 1.0 / np.arange(1, 31) ** 1.2
    sentences = [list(rng.choice(words, 10, p=p / p.sum())) for _ in range(400)]
    ref = gensim.models.Word2Vec(vector_size=5, min_count=2, sample=sample)
    ref.build_vocab(sentences)
    vocab = build_vocabulary(count_words(sentences), min_count=2)
    assert vocab.index_to_key == ref.wv.index_to_key
    ours = keep_probabilities(vocab.counts, sample)
    sample_int = [ref.wv.get_vecattr(w, "sample_int") for w in vocab.index_to_key]
    theirs = np.array(sample_int) / (2**32 - 1)
    assert np.any(theirs < 0.9)  # the case subsamples some words: the comparison has teeth
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(noise_cum_table(vocab.counts), ref.cum_table, atol=1, rtol=0)


def test_noise_table_and_sampling_distribution():
    counts = np.array([100, 30, 10, 1])
    table = noise_cum_table(counts)
    assert table[-1] == NOISE_TABLE_DOMAIN and np.all(np.diff(table) > 0)
    rng = np.random.default_rng(2)
    draws = sample_negatives(table, 200_000, rng)
    expected = counts**0.75 / np.sum(counts**0.75)
    freq = np.bincount(draws, minlength=4) / draws.size
    # 200k draws: the standard error of each frequency is below 0.0012
    np.testing.assert_allclose(freq, expected, atol=0.005)


def test_noise_table_needs_a_positive_count():
    with pytest.raises(ValueError, match="positive count"):
        noise_cum_table(np.array([0, 0]))


@given(st.integers(1, 10), st.integers(0, 2**32))
def test_reduced_windows_are_in_range(window, seed):
    b = reduced_windows(500, window, np.random.default_rng(seed))
    assert b.min() >= 1 and b.max() <= window


def test_reduced_windows_are_uniform():
    b = reduced_windows(100_000, 5, np.random.default_rng(3))
    np.testing.assert_allclose(np.bincount(b, minlength=6)[1:] / b.size, 0.2, atol=0.01)
    with pytest.raises(ValueError, match="window"):
        reduced_windows(3, 0, np.random.default_rng(0))


def test_sorted_vocab_false_keeps_the_order_of_first_occurrence():
    raw = count_words(SENTENCES)
    vocab = build_vocabulary(raw, min_count=1, sorted_vocab=False)
    assert vocab.index_to_key == ["b", "a", "c", "d", "e"]
    assert vocab.counts.tolist() == [3, 3, 2, 1, 1]


@pytest.mark.parametrize("sorted_vocab", [True, False])
def test_null_word_is_added_with_count_one_before_the_sort(sorted_vocab):
    raw = count_words(SENTENCES)
    vocab = build_vocabulary(raw, min_count=1, null_word=True, sorted_vocab=sorted_vocab)
    assert vocab.counts[vocab.key_to_index[NULL_WORD]] == 1 and NULL_WORD == "\0"
    # sorted: the last word of the list among the count-1 words goes first (gensim's ties)
    expected = (["a", "b", "c", NULL_WORD, "e", "d"] if sorted_vocab
                else ["b", "a", "c", "d", "e", NULL_WORD])
    assert vocab.index_to_key == expected
    with pytest.raises(ValueError, match="corpus holds the token"):
        build_vocabulary(count_words([["a", "\0"]]), min_count=1, null_word=True)


def test_path_entries_gather_the_words_paths_in_order():
    tree = huffman_tree(np.array([9, 7, 4, 4, 2, 1]))
    words = np.array([5, 0, 5, 3])
    flat, lengths = tree.path_entries(words)
    assert lengths.tolist() == [len(tree.codes[w]) for w in words]
    expected_codes = np.concatenate([tree.codes[w] for w in words])
    expected_points = np.concatenate([tree.points[w] for w in words])
    np.testing.assert_array_equal(tree.code_flat[flat], expected_codes)
    np.testing.assert_array_equal(tree.point_flat[flat], expected_points)
    reordered = tree.reordered(np.array([2, 0, 1, 5, 4, 3]))
    assert reordered.codes[0].tolist() == tree.codes[2].tolist()
    assert reordered.points[3].tolist() == tree.points[5].tolist()
