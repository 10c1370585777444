"""Tests of the word2vec file formats: round trips, gensim byte-compatibility, corrupt files."""

import os

import numpy as np
import pytest

from nnbasics.word2vec.formats import read_word2vec_format, write_word2vec_format
from nnbasics.word2vec.keyedvectors import KeyedVectors

KEYS = ["the", "naïve", "日本", "tab\there", "no\xa0break"]  # only " " and "\n" end a word


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 7)).astype(np.float32)
    vectors[0, 0] = 1e-7  # small values are written in scientific notation, as gensim does
    return KeyedVectors(KEYS, vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_roundtrip_is_exact(kv, tmp_path, binary):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    kv.save_word2vec_format(path, binary=binary)
    back = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == KEYS
    np.testing.assert_array_equal(back.vectors, kv.vectors)  # str(float32) round-trips exactly
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]


@pytest.mark.parametrize("binary", [False, True])
def test_files_are_byte_identical_to_gensims(kv, tmp_path, binary):
    gensim = pytest.importorskip("gensim")
    ref = gensim.models.KeyedVectors(kv.vector_size)
    ref.add_vectors(KEYS, kv.vectors)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    kv.save_word2vec_format(ours, binary=binary)
    ref.save_word2vec_format(str(theirs), binary=binary)
    assert ours.read_bytes() == theirs.read_bytes()
    # and each reads the other's file to the same vectors
    from_gensim = KeyedVectors.load_word2vec_format(theirs, binary=binary)
    by_gensim = gensim.models.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert from_gensim.index_to_key == by_gensim.index_to_key == KEYS
    np.testing.assert_array_equal(from_gensim.vectors, by_gensim.vectors)


def test_gensim_trained_model_file_loads_identically(tmp_path):
    gensim = pytest.importorskip("gensim")
    sentences = [["a", "b", "c", "d"], ["b", "c", "e"], ["a", "e", "d"]] * 5
    model = gensim.models.Word2Vec(sentences, vector_size=6, min_count=1, epochs=1, workers=1)
    for binary in (False, True):
        path = tmp_path / f"g{binary}"
        model.wv.save_word2vec_format(str(path), binary=binary)
        ours = KeyedVectors.load_word2vec_format(path, binary=binary)
        assert ours.index_to_key == model.wv.index_to_key
        np.testing.assert_array_equal(ours.vectors, model.wv.vectors)


def test_word2vec_c_binary_with_newlines_loads(kv, tmp_path):
    # word2vec.c writes "\n" after each vector
    path = tmp_path / "c.bin"
    body = b"".join(f"{k} ".encode() + v.astype("<f4").tobytes() + b"\n"
                    for k, v in zip(KEYS, kv.vectors, strict=True))
    path.write_bytes(b"5 7\n" + body)
    back = KeyedVectors.load_word2vec_format(path, binary=True)
    assert back.index_to_key == KEYS
    np.testing.assert_array_equal(back.vectors, kv.vectors)


def _written(kv, tmp_path, binary):
    path = tmp_path / "v"
    kv.save_word2vec_format(path, binary=binary)
    return path, path.read_bytes()


@pytest.mark.parametrize("binary", [False, True])
def test_truncated_file_is_a_clear_error(kv, tmp_path, binary):
    path, data = _written(kv, tmp_path, binary)
    path.write_bytes(data[: len(data) - 60])  # the last entry loses several values
    with pytest.raises(ValueError, match=r"end of file|needs at least|has \d values"):
        read_word2vec_format(path, binary=binary)


@pytest.mark.parametrize("binary", [False, True])
def test_huge_header_is_refused_before_allocating(tmp_path, binary, monkeypatch):
    path = tmp_path / "huge"
    path.write_bytes(b"4000000000 300\nthe " + b"\0" * 1200)
    allocations = []
    real_empty = np.empty
    monkeypatch.setattr(np, "empty", lambda *a, **k: allocations.append(a) or real_empty(*a, **k))
    with pytest.raises(ValueError, match="header claims 4000000000 vectors"):
        read_word2vec_format(path, binary=binary)
    assert allocations == []


@pytest.mark.parametrize("content, match", [
    (b"hello world\n", "not a word2vec file"),
    (b"", "not a word2vec file"),
    (b"0 5\n", "must be >= 1"),
    (b"2 2\na 1 2\nb 1.25\n", "line 3 has 1 values"),
    (b"2 2\na 1 2\nb 1 zz\n", "not a number"),
    (b"1 2\n\xff 1 2\n", "not valid UTF-8"),
    (b"1 2\na 1 2\nb 3 4\n", "data after"),
    (b"1 2\na 1 2\n\n\nb\n", "data after"),
    (b"2 2\na 1 2\na 3 4\n", "appears twice"),
])
def test_corrupt_text_files(tmp_path, content, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_word2vec_format(path, binary=False)


def test_corrupt_binary_files(kv, tmp_path):
    path, data = _written(kv, tmp_path, True)
    path.write_bytes(data + b"garbage")
    with pytest.raises(ValueError, match="after the 5 vectors"):
        read_word2vec_format(path, binary=True)
    path.write_bytes(b"1 2\n\xffx " + b"\0" * 8)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        read_word2vec_format(path, binary=True)


def test_writing_refuses_unwritable_words_and_keeps_old_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("precious", encoding="utf-8")
    for bad in ("a b", "a\nb", ""):
        with pytest.raises(ValueError, match="cannot be written"):
            write_word2vec_format(path, [bad], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="one vector per key"):
        write_word2vec_format(path, ["a"], np.zeros((2, 2)))
    assert path.read_text(encoding="utf-8") == "precious"
    assert os.listdir(tmp_path) == ["v.txt"]


def test_trained_model_file_equals_gensims_with_counts(tmp_path):
    """gensim writes words sorted by their 'count': our count order gives the same file."""
    gensim = pytest.importorskip("gensim")
    from nnbasics.word2vec import Word2Vec

    sentences = [["b", "a", "c", "a"], ["a", "d", "b"], ["e", "c", "b", "f", "f"]] * 3
    model = Word2Vec(sentences, vector_size=4, min_count=1, epochs=1, workers=1)
    ref = gensim.models.KeyedVectors(4)
    ref.add_vectors(model.wv.index_to_key, model.wv.vectors)
    for key, count in zip(model.wv.index_to_key, model.wv.counts.tolist(), strict=True):
        ref.set_vecattr(key, "count", count)
    for binary in (False, True):
        ours, theirs = tmp_path / f"o{binary}", tmp_path / f"t{binary}"
        model.wv.save_word2vec_format(ours, binary=binary)
        ref.save_word2vec_format(str(theirs), binary=binary)
        assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("content", [
    b"2 1\na 1\nb 2",  # no newline after the last vector (gensim reads it)
    b"2 1\na 1\nb 2\n\n\n",  # blank lines after it
])
def test_text_files_without_final_newline_or_with_blank_lines_after_read(tmp_path, content):
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    keys, vectors = read_word2vec_format(path, binary=False)
    assert keys == ["a", "b"]
    np.testing.assert_array_equal(vectors, [[1.0], [2.0]])


def test_a_directory_as_target_is_named_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match="target"):
        write_word2vec_format(target, ["a"], np.ones((1, 2)))
    assert os.listdir(tmp_path) == ["target"] and os.listdir(target) == []


def test_a_failed_rename_removes_the_temporary_file_and_names_the_target(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as caught:
        write_word2vec_format(tmp_path / "v.txt", ["a"], np.ones((1, 2)))
    assert caught.value.filename == str(tmp_path / "v.txt")
    assert os.listdir(tmp_path) == []


# -- gensim's options: fvocab, headerless files, encodings, datatype ----------------------------

def _kv_with_counts():
    vectors = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    return KeyedVectors(["c", "a", "b", "d"], vectors, counts=[5, 9, 5, 1])


def test_fvocab_is_the_second_positional_argument_as_in_gensim(tmp_path):
    kv = _kv_with_counts()
    path, vocab = tmp_path / "v.bin", tmp_path / "v.vocab"
    kv.save_word2vec_format(path, vocab, True)  # gensim's order: fname, fvocab, binary
    # words by descending count, ties in index order (gensim's stable sort)
    assert vocab.read_text(encoding="utf-8") == "a 9\nc 5\nb 5\nd 1\n"
    back = KeyedVectors.load_word2vec_format(path, vocab, True)
    assert back.index_to_key == ["a", "c", "b", "d"]
    assert [back.get_vecattr(k, "count") for k in "acbd"] == [9, 5, 5, 1]
    np.testing.assert_array_equal(back["b"], kv["b"])
    with pytest.raises(ValueError, match="no counts"):
        KeyedVectors(["a"], np.ones((1, 2))).save_word2vec_format(path, vocab)


def test_fvocab_files_equal_gensims_both_ways(tmp_path):
    gensim = pytest.importorskip("gensim")
    kv = _kv_with_counts()
    ref = gensim.models.KeyedVectors(3)
    ref.add_vectors(kv.index_to_key, kv.vectors)
    for key, count in zip(kv.index_to_key, kv.counts.tolist(), strict=True):
        ref.set_vecattr(key, "count", count)
    for binary in (False, True):
        ours, theirs = tmp_path / f"o{binary}", tmp_path / f"t{binary}"
        kv.save_word2vec_format(ours, ours.with_suffix(".vocab"), binary)
        ref.save_word2vec_format(str(theirs), str(theirs.with_suffix(".vocab")), binary)
        assert ours.read_bytes() == theirs.read_bytes()
        assert ours.with_suffix(".vocab").read_bytes() == theirs.with_suffix(".vocab").read_bytes()
        by_gensim = gensim.models.KeyedVectors.load_word2vec_format(
            str(ours), str(ours.with_suffix(".vocab")), binary)
        assert by_gensim.get_vecattr("b", "count") == 5


def test_without_fvocab_words_get_gensims_rank_counts(kv, tmp_path):
    path, _ = _written(kv, tmp_path, False)
    back = KeyedVectors.load_word2vec_format(path)
    assert back.counts.tolist() == [5, 4, 3, 2, 1]  # V - i: the file's order, as gensim


def test_a_word_missing_from_fvocab_gets_count_0_with_a_warning(tmp_path):
    kv = _kv_with_counts()
    path, vocab = tmp_path / "v.txt", tmp_path / "v.vocab"
    kv.save_word2vec_format(path, vocab)
    vocab.write_text("a 9\nc 5\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="no count for 2 words"):
        back = KeyedVectors.load_word2vec_format(path, vocab)
    assert back.get_vecattr("b", "count") == 0 and back.get_vecattr("a", "count") == 9


def test_headerless_glove_text_round_trip_and_gensim_reads_it(kv, tmp_path):
    path = tmp_path / "glove.txt"
    kv.save_word2vec_format(path, write_header=False)
    assert path.read_bytes().split(b"\n")[0].startswith(b"the ")
    back = KeyedVectors.load_word2vec_format(path, no_header=True)
    assert back.index_to_key == KEYS
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    limited = KeyedVectors.load_word2vec_format(path, no_header=True, limit=2)
    assert limited.index_to_key == KEYS[:2]
    with pytest.raises(ValueError, match="pass no_header=True"):
        KeyedVectors.load_word2vec_format(path)
    with pytest.raises(ValueError, match="text files only"):
        KeyedVectors.load_word2vec_format(path, binary=True, no_header=True)
    gensim = pytest.importorskip("gensim")
    theirs = gensim.models.KeyedVectors.load_word2vec_format(str(path), no_header=True)
    np.testing.assert_array_equal(theirs.vectors, kv.vectors)


def test_prefix_total_vec_and_append(kv, tmp_path):
    path = tmp_path / "v.txt"
    kv.save_word2vec_format(path, total_vec=7, prefix="w_")
    KeyedVectors(["x", "y"], np.ones((2, 7))).save_word2vec_format(path, write_header=False,
                                                                   append=True)
    back = KeyedVectors.load_word2vec_format(path)
    assert back.index_to_key == [f"w_{k}" for k in KEYS] + ["x", "y"]


@pytest.mark.parametrize("binary", [False, True])
def test_a_file_shorter_than_its_header_is_also_an_eoferror_as_in_gensim(kv, tmp_path, binary):
    from nnbasics.word2vec.formats import TruncatedFileError

    path, data = _written(kv, tmp_path, binary)
    path.write_bytes(b"6" + data[1:])  # the header now claims 6 vectors
    with pytest.raises(TruncatedFileError) as caught:
        read_word2vec_format(path, binary=binary)
    assert isinstance(caught.value, EOFError) and isinstance(caught.value, ValueError)


def test_unicode_errors_decode_cut_words_as_asked(tmp_path):
    cut = "ありがとう".encode()[:-1]  # word2vec.c cuts long words inside a character
    path, vocab = tmp_path / "v.txt", tmp_path / "v.vocab"
    path.write_bytes(b"2 2\n" + cut + b" 1 2\nok 3 4\n")
    vocab.write_bytes(cut + b" 7\nok 3\n")
    with pytest.raises(UnicodeDecodeError, match="entry 1 is not valid UTF-8"):
        KeyedVectors.load_word2vec_format(path, vocab)
    replaced = KeyedVectors.load_word2vec_format(path, vocab, unicode_errors="replace")
    assert replaced.index_to_key == ["ありがと\ufffd", "ok"]
    assert replaced.get_vecattr("ありがと\ufffd", "count") == 7
    ignored = KeyedVectors.load_word2vec_format(path, vocab, unicode_errors="ignore")
    assert ignored.index_to_key == ["ありがと", "ok"]
    latin = tmp_path / "latin.txt"
    latin.write_bytes("1 1\ncafé 1\n".encode("latin-1"))
    assert KeyedVectors.load_word2vec_format(latin, encoding="latin-1").index_to_key == ["café"]


@pytest.mark.parametrize("binary", [False, True])
def test_datatype_sets_the_vectors_dtype(kv, tmp_path, binary):
    path, _ = _written(kv, tmp_path, binary)
    half = KeyedVectors.load_word2vec_format(path, binary=binary, datatype=np.float16)
    assert half.vectors.dtype == np.float16
    np.testing.assert_array_equal(half.vectors, kv.vectors.astype(np.float16))
    assert half.most_similar("the", topn=1)[0][0] == kv.most_similar("the", topn=1)[0][0]
    with pytest.raises(ValueError, match="floating dtype"):
        KeyedVectors.load_word2vec_format(path, binary=binary, datatype=np.int32)


def test_gensim_pickles_are_refused_with_how_to_convert(tmp_path):
    gensim = pytest.importorskip("gensim")
    from nnbasics.word2vec import Word2Vec

    model = gensim.models.Word2Vec([["a", "b"], ["b", "c"]], vector_size=4, min_count=1)
    model.save(str(tmp_path / "g.model"))
    model.wv.save(str(tmp_path / "g.kv"))
    for loader in (KeyedVectors.load, Word2Vec.load):
        for name in ("g.model", "g.kv"):
            with pytest.raises(ValueError, match=r"pickle .*never loads pickles.*"
                                                 r"save_word2vec_format"):
                loader(tmp_path / name)


def test_values_are_written_as_float32_whatever_the_input_dtype(tmp_path):
    path = tmp_path / "v.txt"
    write_word2vec_format(path, ["a"], np.array([[0.1, 1 / 3]]))  # float64 in
    assert path.read_text(encoding="utf-8") == "1 2\na 0.1 0.33333334\n"  # str(float32)
