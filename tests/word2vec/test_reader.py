"""The compiled corpus-file reader gives exactly what the Python path gives.

``count_file`` against ``count_words(LineSentences(path))`` and ``iter_file_batches`` against
``iter_batches(LineSentences(path), ...)``: same words in the same order, same counts, lines,
batches and errors, whatever the whitespace, the UTF-8 and the chunk boundaries.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnbasics.word2vec  # noqa: F401  (first: the reader's types live in nnbasics.word2vec)
from nnbasics._accel.corpus_reader import WordTable, count_file, iter_file_batches
from nnbasics.word2vec.corpus import LineSentences, iter_batches
from nnbasics.word2vec.vocab import count_words

SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and chr(c) != "\n"]
# non-space characters whose UTF-8 starts like a space's (0xC2, 0xE1, 0xE2, 0xE3 lead bytes)
LOOKALIKES = ["\u0084", "\u00a1", "\u167f", "\u1681", "\u200b", "\u2027", "\u202a", "\u2030",
              "\u205e", "\u2060", "\u3001", "é", "€", "😀", "x"]


def _same_as_python(path, vocabulary_words=None, batch_words=5, chunk_bytes=1 << 18):
    raw = count_file(path, chunk_bytes=chunk_bytes)
    expected = count_words(LineSentences(path))
    assert list(raw.counts.items()) == list(expected.counts.items())  # order of first occurrence
    assert (raw.total_words, raw.n_sentences, raw.min_reduce) == (
        expected.total_words, expected.n_sentences, expected.min_reduce
    )
    words = list(raw.counts)[::2] if vocabulary_words is None else vocabulary_words
    key_to_index = {w: i for i, w in enumerate(words)}
    ours = list(iter_file_batches(path, WordTable(words), batch_words, chunk_bytes=chunk_bytes))
    theirs = list(iter_batches(LineSentences(path), key_to_index, batch_words))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.tokens, b.tokens)
        assert a.tokens.dtype == np.int32 and a.sentence_ends.dtype == np.int64
        np.testing.assert_array_equal(a.sentence_ends, b.sentence_ends)
        assert a.raw_words == b.raw_words
    return raw


def test_every_unicode_whitespace_separates_tokens_as_str_split(tmp_path):
    text = "".join(f"w{i}{space}{LOOKALIKES[i % len(LOOKALIKES)]}{space}" for i, space in
                   enumerate(SPACES)) + "\n" + " ".join(LOOKALIKES) + "\n"
    path = tmp_path / "spaces.txt"
    path.write_text(text, encoding="utf-8")
    raw = _same_as_python(path)
    assert raw.total_words == 2 * len(SPACES) + len(LOOKALIKES)
    assert len(SPACES) == 28  # the set str.isspace() holds, newline apart


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.lists(st.sampled_from(["a", "bb", "é", "a\u2030", "x😀", "ccc", "d"]), max_size=12),
        max_size=25,
    ),
    separators=st.lists(st.sampled_from([" ", "\t", "  ", "\u3000", "\u00a0", "\r"]), min_size=1),
    final_newline=st.booleans(),
    chunk_bytes=st.sampled_from([1, 3, 7, 64, 1 << 18]),
    batch_words=st.integers(1, 20),
)
def test_counts_and_batches_match_the_python_path(
    tmp_path_factory, lines, separators, final_newline, chunk_bytes, batch_words
):
    text = "\n".join(
        separators[i % len(separators)].join(words) for i, words in enumerate(lines)
    )
    if final_newline and text:
        text += "\n"
    path = tmp_path_factory.mktemp("c") / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    _same_as_python(path, batch_words=batch_words, chunk_bytes=chunk_bytes)


@pytest.mark.parametrize("chunk_bytes", [5, 1 << 18])
def test_invalid_utf8_raises_the_python_paths_error(tmp_path, chunk_bytes):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a b c\nd e\nf \xc3\x28 g\nh\n")
    with pytest.raises(ValueError) as expected:
        list(LineSentences(path))
    with pytest.raises(ValueError) as ours:
        count_file(path, chunk_bytes=chunk_bytes)
    assert str(ours.value) == str(expected.value)
    assert "line 3" in str(ours.value)
    with pytest.raises(ValueError, match="line 3"):
        list(iter_file_batches(path, WordTable(["a"]), chunk_bytes=chunk_bytes))


def test_empty_file_and_blank_lines(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    raw = count_file(empty)
    assert (raw.counts, raw.total_words, raw.n_sentences) == ({}, 0, 0)
    assert list(iter_file_batches(empty, WordTable(["a"]))) == []
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b"\n \n\t\n")
    assert count_file(blank).n_sentences == 3
    _same_as_python(tmp_path / "blank.txt", vocabulary_words=["a"])


def test_table_grows_past_its_initial_size(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(5000)]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 40)) for _ in range(500)) + "\n",
                    encoding="utf-8")
    raw = _same_as_python(path, batch_words=97, chunk_bytes=1000)
    assert len(raw.counts) > 4000


def test_word_table_numbers_words_in_order_and_rejects_non_tokens():
    table = WordTable(["b", "a", "ü"])
    assert table.words() == ["b", "a", "ü"]
    tokens, kept, raw = table.encode(np.frombuffer("a x ü\nb".encode(), dtype=np.uint8), 2)
    assert tokens.tolist() == [1, 2, 0] and kept.tolist() == [2, 1] and raw.tolist() == [3, 1]
    for bad in (["a", "a"], ["a b"], [""]):
        with pytest.raises(ValueError, match="distinct tokens"):
            WordTable(bad)


def test_a_line_of_many_chunks_comes_whole(tmp_path):
    from nnbasics._accel.corpus_reader import read_chunks

    words = " ".join(f"w{i}" for i in range(5000))
    path = tmp_path / "long.txt"
    path.write_text(f"{words}\nshort line\n{words}", encoding="utf-8")
    chunks = list(read_chunks(path, chunk_bytes=64))
    assert b"".join(chunks) == path.read_bytes()
    assert all(c.endswith(b"\n") for c in chunks[:-1])  # whole lines only


def test_a_token_of_megabytes_is_counted_in_linear_time_with_a_warning(tmp_path):
    # the arena grows to fit a long word at once: hashing it once per doubling was quadratic
    from nnbasics._accel import corpus_reader

    path = tmp_path / "one_long_token.txt"
    long_word = "x" * (3 * corpus_reader.LONG_TOKEN_BYTES)
    path.write_text(f"hello world\n{long_word}\nhello again\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"a token of 3,145,728 bytes without whitespace"):
        counts = corpus_reader.count_file(path)
    assert counts.counts == {"hello": 2, "world": 1, long_word: 1, "again": 1}


def test_the_arena_grows_to_fit_the_word_that_stopped_the_count():
    from nnbasics._accel.corpus_reader import WordTable

    table = WordTable()
    word = b"y" * (100 * table.arena.shape[0])  # far more than one doubling of the arena
    assert table.count(np.frombuffer(word + b" z", dtype=np.uint8)) == 2
    assert table.words() == [word.decode(), "z"]
