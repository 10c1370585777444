"""From raw text to the token lists :class:`~nnbasics.word2vec.Word2Vec` trains on.

:func:`simple_preprocess` follows gensim's ``gensim.utils.simple_preprocess`` rules: lowercase,
optionally strip accents, take maximal runs of letters (word characters that are not digits:
``"_"`` counts as a letter, as in gensim), keep the tokens of ``min_len`` to ``max_len``
characters that do not start with ``"_"``.  The same input gives the same tokens as gensim's
(tested against it); the one difference: bytes that are not valid UTF-8 raise ``ValueError``
here, where gensim drops them silently (decode them yourself with ``errors="ignore"`` to get
gensim's behaviour).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["deaccent", "simple_preprocess", "tokenize"]

# a run of word characters (\w: letters, digits, "_", in any script) none of which is a digit
_LETTERS = re.compile(r"(?:(?!\d)\w)+")


def deaccent(text: str) -> str:
    """``text`` without its combining marks: "Šéf" -> "Sef" (decompose (NFD), drop the
    characters of category Mn, recompose (NFC))."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", kept)


def tokenize(text: str | bytes, lowercase: bool = False, deacc: bool = False) -> list[str]:
    """The maximal runs of letters in ``text`` (after lowercasing and deaccenting if asked).

    ``bytes`` are decoded as UTF-8 (``ValueError`` if they are not valid UTF-8).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"text is not valid UTF-8 (byte {error.start + 1}); decode it "
                             "first, e.g. with errors='ignore'") from None
    if not isinstance(text, str):
        raise TypeError(f"text must be str or bytes, got {type(text).__name__}")
    if lowercase:
        text = text.lower()
    if deacc:
        text = deaccent(text)
    return _LETTERS.findall(text)


def simple_preprocess(doc: str | bytes, deacc: bool = False, min_len: int = 2,
                      max_len: int = 15) -> list[str]:
    """Lowercase tokens of ``doc``, as gensim's ``simple_preprocess``.

    Parameters
    ----------
    doc : str or bytes (UTF-8)
    deacc : bool, default False
        Strip accents (:func:`deaccent`) after lowercasing.
    min_len, max_len : int, default 2 and 15
        Keep tokens of ``min_len <= len(token) <= max_len`` characters.

    Returns
    -------
    list of str
        The kept tokens in text order; tokens starting with ``"_"`` are dropped.

    Examples
    --------
    >>> simple_preprocess("Hello, World! It's 2024: naïve café_au_lait x")
    ['hello', 'world', 'it', 'naïve', 'café_au_lait']
    >>> simple_preprocess("naïve café", deacc=True)
    ['naive', 'cafe']
    """
    return [token for token in tokenize(doc, lowercase=True, deacc=deacc)
            if min_len <= len(token) <= max_len and not token.startswith("_")]
