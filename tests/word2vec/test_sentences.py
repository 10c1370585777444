"""gensim's sentence iterators: LineSentence (path, compressed path, file object) and
PathLineSentences (a directory in file-name order, or one file)."""

import bz2
import gzip

import pytest

from nnbasics.word2vec import LineSentence, PathLineSentences, Word2Vec

TEXT = "the cat sat\n\non the mat\nthe end\n"
EXPECTED = [["the", "cat", "sat"], ["on", "the", "mat"], ["the", "end"]]  # a blank line: none


def test_line_sentence_reads_paths_compressed_files_and_file_objects(tmp_path):
    plain = tmp_path / "c.txt"
    plain.write_text(TEXT, encoding="utf-8")
    (tmp_path / "c.txt.bz2").write_bytes(bz2.compress(TEXT.encode()))
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(TEXT.encode()))
    for name in ("c.txt", "c.txt.bz2", "c.txt.gz"):
        sentences = LineSentence(tmp_path / name)
        assert list(sentences) == EXPECTED and list(sentences) == EXPECTED  # re-iterable
    with open(plain, "rb") as handle:
        assert list(LineSentence(handle)) == list(LineSentence(handle)) == EXPECTED
    with bz2.BZ2File(tmp_path / "c.txt.bz2") as handle:
        assert list(LineSentence(handle)) == EXPECTED


def test_line_sentence_cuts_long_lines_and_limits_lines(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c d e\nf g\n", encoding="utf-8")
    assert list(LineSentence(path, max_sentence_length=2)) == [["a", "b"], ["c", "d"], ["e"],
                                                               ["f", "g"]]
    assert list(LineSentence(path, limit=1)) == [["a", "b", "c", "d", "e"]]
    with pytest.raises(ValueError, match="max_sentence_length"):
        LineSentence(path, max_sentence_length=0)


def test_line_sentence_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError):
        LineSentence(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\n")
    with pytest.raises(ValueError, match="line 2: invalid UTF-8"):
        list(LineSentence(bad))


def test_path_line_sentences_reads_a_directory_in_name_order_or_one_file(tmp_path):
    (tmp_path / "2.txt.bz2").write_bytes(bz2.compress(b"second file\n"))
    (tmp_path / "1.txt").write_text("first file\nline two\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()  # not entered
    assert list(PathLineSentences(tmp_path)) == [["first", "file"], ["line", "two"],
                                                 ["second", "file"]]
    assert list(PathLineSentences(tmp_path / "1.txt")) == [["first", "file"], ["line", "two"]]
    with pytest.raises(FileNotFoundError):
        PathLineSentences(tmp_path / "nothing")


def test_word2vec_trains_on_a_line_sentence(tmp_path):
    path = tmp_path / "c.txt.gz"
    path.write_bytes(gzip.compress(("a b c a b\n" * 20).encode()))
    model = Word2Vec(LineSentence(path), vector_size=4, min_count=1, workers=1, epochs=2)
    assert model.corpus_count == 20 and len(model.wv) == 3
