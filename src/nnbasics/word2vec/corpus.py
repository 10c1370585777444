"""Reading a corpus: streamed, re-iterable, never truncated, and turned into batches of indices.

A corpus is either ``sentences``, any *re-iterable* of token lists (a list, or an object whose
``__iter__`` starts a fresh pass, such as :class:`LineSentences`), or a ``corpus_file``: UTF-8
text, one sentence a line, tokens separated by whitespace.  Lines are read one at a time, so memory
does not grow with the corpus, and a line is never cut (gensim cuts sentences at 10,000 tokens).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Batch", "LineSentences", "check_reiterable", "iter_batches"]


class LineSentences:
    """The sentences of a UTF-8 text file, one per line, re-read from disk on every iteration.

    Parameters
    ----------
    path : str or os.PathLike
        The file.  It must exist when the object is created (a missing file is reported at once,
        not in the middle of training).

    Raises
    ------
    ValueError
        While iterating, at the first line that is not valid UTF-8, naming the file and line.

    Notes
    -----
    Tokens are separated by any whitespace (``str.split()``); empty lines are empty sentences.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            if os.path.exists(self.path):
                raise ValueError(f"corpus_file is not a regular file: {self.path}")
            raise FileNotFoundError(2, "No such file or directory", self.path)

    def __iter__(self) -> Iterator[list[str]]:
        with open(self.path, "rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(
                        f"{self.path}: line {line_no}: invalid UTF-8 at byte {exc.start} of the "
                        f"line ({exc.reason})"
                    ) from None
                yield text.split()

    def __repr__(self) -> str:
        return f"LineSentences({self.path!r})"


def check_reiterable(sentences: object) -> Iterable[Sequence[str]]:
    """Return ``sentences`` if it can be iterated more than once; otherwise raise ``TypeError``.

    Training makes one pass to build the vocabulary and one per epoch; a generator or iterator
    would be exhausted after the first and the later epochs would silently train on nothing.
    """
    if isinstance(sentences, (str, bytes)):
        raise TypeError("sentences must be an iterable of token lists, not a single string")
    try:
        first = iter(sentences)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"sentences must be a re-iterable of token lists, got {type(sentences).__name__}"
        ) from None
    if first is sentences:
        raise TypeError(
            f"sentences is a one-shot {type(sentences).__name__} (a generator or iterator): it "
            "would be exhausted after the vocabulary scan and later epochs would train on "
            "nothing. Pass a list, an object whose __iter__ restarts, or corpus_file=PATH"
        )
    return sentences  # type: ignore[return-value]


class Batch(NamedTuple):
    """A batch of whole sentences, in the form the training kernels take."""

    tokens: NDArray[np.int32]  # (n,) vocabulary indices, out-of-vocabulary words dropped
    sentence_ends: NDArray[np.int64]  # (m,) exclusive end of each sentence in ``tokens``
    raw_words: int  # words read, out-of-vocabulary ones included (progress is counted in these)


def iter_batches(
    sentences: Iterable[Sequence[str]], key_to_index: dict[str, int], batch_words: int = 10_000
) -> Iterator[Batch]:
    """Group sentences into batches of about ``batch_words`` in-vocabulary tokens.

    Sentences are never split, so a batch holds at least one sentence and may exceed
    ``batch_words`` when a sentence is longer.  Sentences left empty after dropping
    out-of-vocabulary words are dropped too (their words still count in ``raw_words``).
    """
    lookup = key_to_index.get
    pieces: list[NDArray[np.int32]] = []
    n_tokens = 0
    raw_words = 0
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("each sentence must be a list of tokens, got a str")
        raw_words += len(sentence)
        # map/fromiter run the dictionary look-ups in C, without a Python loop over words.
        idx = np.fromiter(map(lookup, sentence, repeat(-1)), dtype=np.int32, count=len(sentence))
        idx = idx[idx >= 0]
        if idx.size:
            pieces.append(idx)
            n_tokens += idx.size
        if n_tokens >= batch_words:
            yield _make_batch(pieces, raw_words)
            pieces, n_tokens, raw_words = [], 0, 0
    if pieces or raw_words:
        yield _make_batch(pieces, raw_words)


def _make_batch(pieces: list[NDArray[np.int32]], raw_words: int) -> Batch:
    if not pieces:
        return Batch(np.empty(0, np.int32), np.empty(0, np.int64), raw_words)
    ends = np.cumsum([p.size for p in pieces], dtype=np.int64)
    return Batch(np.concatenate(pieces), ends, raw_words)
