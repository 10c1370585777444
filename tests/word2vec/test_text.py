"""Tests of nnbasics.word2vec.text: gensim's simple_preprocess rules, by hand and against gensim."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.word2vec import simple_preprocess
from nnbasics.word2vec.text import deaccent, tokenize


def test_rules_by_hand():
    text = "The 2 Cats' 3rd_place: naïve ÉLAN, x __init__ abc123def supercalifragilistic"
    assert simple_preprocess(text) == ["the", "cats", "rd_place", "naïve", "élan", "abc", "def"]
    assert simple_preprocess(text, deacc=True, min_len=1, max_len=30) == [
        "the", "cats", "rd_place", "naive", "elan", "x", "abc", "def", "supercalifragilistic"]
    assert tokenize("ab1cd", lowercase=False) == ["ab", "cd"]
    assert deaccent("Šéf à Ørsted") == "Sef a Ørsted"  # ø is a letter, not an accented o


def test_bytes_are_utf8_and_invalid_bytes_are_named():
    assert simple_preprocess("café bar".encode()) == ["café", "bar"]
    with pytest.raises(ValueError, match="not valid UTF-8"):
        simple_preprocess(b"caf\xe9 bar")
    with pytest.raises(TypeError, match="str or bytes"):
        simple_preprocess(["not", "text"])


def test_defaults_are_gensims():
    gensim_utils = pytest.importorskip("gensim.utils")
    import inspect

    ours = inspect.signature(simple_preprocess).parameters
    theirs = inspect.signature(gensim_utils.simple_preprocess).parameters
    assert {k: p.default for k, p in ours.items()} == {k: p.default for k, p in theirs.items()}


@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
       deacc=st.booleans(), min_len=st.integers(0, 4), max_len=st.integers(2, 20))
def test_same_tokens_as_gensim(text, deacc, min_len, max_len):
    gensim_utils = pytest.importorskip("gensim.utils")
    assert simple_preprocess(text, deacc, min_len, max_len) == \
        gensim_utils.simple_preprocess(text, deacc, min_len, max_len)
