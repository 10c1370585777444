"""Tests of nnbasics.word2vec.corpus: streaming, UTF-8 errors, no truncation, batches."""

import numpy as np
import pytest

from nnbasics.word2vec.corpus import (
    CorpusFileError,
    LineSentences,
    check_reiterable,
    iter_batches,
)


def test_line_sentences_streams_and_reiterates(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b  c\n\n\td  e\t\nf", encoding="utf-8")
    corpus = LineSentences(path)
    expected = [["a", "b", "c"], [], ["d", "e"], ["f"]]
    assert list(corpus) == expected
    assert list(corpus) == expected  # a second pass reads the file again


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes("ok line\nstill ok é\nbad \xff here\n".encode("latin-1").replace(
        "é".encode("latin-1"), "é".encode()))
    with pytest.raises(ValueError, match=r"bad\.txt: line 3: invalid UTF-8"):
        list(LineSentences(path))


def test_long_lines_are_not_truncated(tmp_path):
    tokens = [f"w{i % 97}" for i in range(50_000)]  # gensim would cut this at 10,000
    path = tmp_path / "long.txt"
    path.write_text(" ".join(tokens) + "\nshort line\n", encoding="utf-8")
    sentences = list(LineSentences(path))
    assert sentences[0] == tokens and sentences[1] == ["short", "line"]
    vocab = {f"w{i}": i for i in range(97)}
    batches = list(iter_batches(LineSentences(path), vocab, batch_words=1000))
    assert batches[0].tokens.size == 50_000 and batches[0].sentence_ends.tolist() == [50_000]


def test_missing_file_is_reported_at_once(tmp_path):
    with pytest.raises(FileNotFoundError):
        LineSentences(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="not a regular file"):
        LineSentences(tmp_path)


@pytest.mark.parametrize("extension", [".gz", ".bz2", ".xz", ".GZ"])
def test_a_compressed_corpus_file_is_refused_by_name_as_gensim(tmp_path, extension):
    """gensim refuses a compressed corpus_file with a TypeError saying so; nnbasics used to read
    it as text and fail at "line 1: invalid UTF-8".  The error is a ValueError and that
    TypeError, and says how to read the file instead."""
    import bz2
    import gzip
    import lzma

    from nnbasics.word2vec import LineSentence, Word2Vec

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[extension.lower()]
    path = tmp_path / f"corpus.txt{extension}"
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.write("a b c\nb c d\n" * 3)
    with pytest.raises(CorpusFileError, match=r"is compressed .*LineSentence") as raised:
        Word2Vec(corpus_file=path, min_count=1, vector_size=4, workers=1)
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, TypeError)
    gensim = pytest.importorskip("gensim")
    with pytest.raises(TypeError, match="compressed"):
        gensim.models.Word2Vec(corpus_file=str(path), min_count=1, vector_size=4)
    model = Word2Vec(LineSentence(path), min_count=1, vector_size=4, workers=1)
    assert model.corpus_total_words == 18


def test_one_shot_iterators_are_rejected():
    def gen():
        yield ["a", "b"]

    with pytest.raises(TypeError, match="one-shot generator"):
        check_reiterable(gen())
    with pytest.raises(TypeError, match="one-shot"):
        check_reiterable(iter([["a"]]))
    with pytest.raises(TypeError, match="single string"):
        check_reiterable("a b c")
    with pytest.raises(TypeError, match="re-iterable"):
        check_reiterable(42)
    sentences = [["a"], ["b"]]
    assert check_reiterable(sentences) is sentences


def test_iter_batches_drops_oov_and_keeps_sentences_whole():
    vocab = {"a": 0, "b": 1, "c": 2}
    sentences = [["a", "x", "b"], ["y"], ["c", "c", "a", "b"], ["b"], []]
    batches = list(iter_batches(sentences, vocab, batch_words=3))
    # a batch closes once it holds >= 3 in-vocabulary tokens
    assert [b.tokens.tolist() for b in batches] == [[0, 1, 2, 2, 0, 1], [1]]
    assert [b.sentence_ends.tolist() for b in batches] == [[2, 6], [1]]
    assert [b.raw_words for b in batches] == [8, 1]  # OOV words count in progress
    assert batches[0].tokens.dtype == np.int32 and batches[0].sentence_ends.dtype == np.int64
    one = list(iter_batches(sentences, vocab, batch_words=100))
    assert len(one) == 1 and one[0].sentence_ends.tolist() == [2, 6, 7]


def _batches_one_sentence_at_a_time(sentences, vocab, batch_words):
    """The plain rule, a sentence at a time: the oracle of the batched look-ups."""
    batches, tokens, ends, raw = [], [], [], 0
    for sentence in sentences:
        raw += len(sentence)
        kept = [vocab[w] for w in sentence if w in vocab]
        if kept:
            tokens += kept
            ends.append(len(tokens))
        if len(tokens) >= batch_words:
            batches.append((tokens, ends, raw))
            tokens, ends, raw = [], [], 0
    if tokens or raw:
        batches.append((tokens, ends, raw))
    return batches


@pytest.mark.parametrize("seed", range(12))
def test_batched_look_ups_give_the_batches_of_one_sentence_at_a_time(seed):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(30)]
    vocab = {w: i for i, w in enumerate(words[:20])}  # a third of the words unknown
    lengths = rng.choice([0, 1, 2, 3, 5, 8, 40], size=int(rng.integers(0, 200)))
    sentences = [list(rng.choice(words, n)) if n else [] for n in lengths]
    for batch_words in (1, 3, 7, 25, 100, 10_000):
        got = [(b.tokens.tolist(), b.sentence_ends.tolist(), b.raw_words)
               for b in iter_batches(sentences, vocab, batch_words)]
        assert got == _batches_one_sentence_at_a_time(sentences, vocab, batch_words)
        for b in iter_batches(sentences, vocab, batch_words):
            assert b.tokens.dtype == np.int32 and b.sentence_ends.dtype == np.int64
