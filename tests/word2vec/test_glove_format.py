"""GloVe's text files (no header line) read as KeyedVectors: ``no_header=True``, as gensim."""

import numpy as np
import pytest

from nnbasics.word2vec import KeyedVectors

GLOVE = "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\ncafé -1 2.5e-3 7\n"


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "glove.6B.3d.txt"
    path.write_text(GLOVE, encoding="utf-8")
    return path


def test_a_glove_file_loads_with_its_size_from_the_first_line(glove):
    kv = KeyedVectors.load_word2vec_format(glove, no_header=True)
    assert kv.index_to_key == ["the", ",", "café"] and kv.vector_size == 3
    np.testing.assert_array_equal(kv["café"], np.float32([-1, 2.5e-3, 7]))


def test_the_same_vectors_as_gensim(glove):
    gensim = pytest.importorskip("gensim")
    theirs = gensim.models.KeyedVectors.load_word2vec_format(glove, no_header=True)
    ours = KeyedVectors.load_word2vec_format(glove, no_header=True)
    assert ours.index_to_key == theirs.index_to_key
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)


def test_limit_reads_the_first_lines_only(glove):
    with open(glove, "a", encoding="utf-8") as fh:
        fh.write("broken line\n")  # past the limit: never read
    kv = KeyedVectors.load_word2vec_format(glove, no_header=True, limit=2)
    assert kv.index_to_key == ["the", ","]


def test_trailing_blank_lines_are_fine(glove):
    glove.write_text(GLOVE + "\n\n", encoding="utf-8")
    assert len(KeyedVectors.load_word2vec_format(glove, no_header=True)) == 3


def test_written_vectors_read_back_without_their_header(tmp_path):
    kv = KeyedVectors(["a", "b"], np.float32([[0.1, -2.0], [3.5, 1e-8]]))
    kv.save_word2vec_format(tmp_path / "v.txt")
    lines = (tmp_path / "v.txt").read_text(encoding="utf-8").splitlines()[1:]
    (tmp_path / "g.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    again = KeyedVectors.load_word2vec_format(tmp_path / "g.txt", no_header=True)
    np.testing.assert_array_equal(again.vectors, kv.vectors)


@pytest.mark.parametrize("text, message", [
    ("the 1 2 3\n, 1 2\n", "line 2 has 2 values, the first line has 3"),
    ("the 1 2 x\n", "line 1 holds a value that is not a number"),
    ("the\n", "the first line is not 'word v_1 ... v_d'"),
    ("the 1 2\nthe 3 4\n", "appears twice"),
    ("3 2\na 1 2\nb 3 4\nc 5 6\n", "line 2 has 2 values, the first line has 1"),
])
def test_malformed_files_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        KeyedVectors.load_word2vec_format(path, no_header=True)


def test_binary_files_always_have_a_header(glove):
    with pytest.raises(ValueError, match="no_header applies to text files only"):
        KeyedVectors.load_word2vec_format(glove, binary=True, no_header=True)
