"""Reading a corpus: streamed, re-iterable, never truncated, and turned into batches of indices.

A corpus is either ``sentences``, any *re-iterable* of token lists (a list, or an object whose
``__iter__`` starts a fresh pass, such as :class:`LineSentences`), or a ``corpus_file``: UTF-8
text, one sentence a line, tokens separated by whitespace.  Lines are read one at a time, so memory
does not grow with the corpus, and a line is never cut (gensim cuts sentences at 10,000 tokens).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Iterator, Sequence
from itertools import repeat
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Batch", "CorpusFileError", "LineSentences", "check_reiterable", "iter_batches"]

#: the extensions of compressed files that gensim refuses as a ``corpus_file`` (smart_open's)
COMPRESSED_EXTENSIONS = (".bz2", ".gz", ".lz4", ".xz", ".zst")


class CorpusFileError(ValueError, TypeError):
    """A ``corpus_file`` that is not a plain text file (a directory, a compressed file).  A
    ``ValueError``, and a ``TypeError`` as gensim raises for it."""


class LineSentences:
    """The sentences of a UTF-8 text file, one per line, re-read from disk on every iteration.

    Parameters
    ----------
    path : str or os.PathLike
        The file.  It must exist when the object is created (a missing file is reported at once,
        not in the middle of training).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CorpusFileError
        ``path`` is not a regular file, or its name ends in a compression extension (``.bz2``,
        ``.gz``, ``.lz4``, ``.xz``, ``.zst``: the file is read as plain text, as gensim's
        ``corpus_file``, which refuses them likewise).
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
                raise CorpusFileError(f"corpus_file is not a regular file: {self.path}")
            raise FileNotFoundError(2, "No such file or directory", self.path)
        extension = os.path.splitext(self.path)[1].lower()
        if extension in COMPRESSED_EXTENSIONS:
            raise CorpusFileError(
                f"corpus_file {self.path} is compressed ({extension}): it is read as plain "
                "text; decompress it, or pass sentences=nnbasics.word2vec.LineSentence(path) "
                "instead, which decompresses .bz2, .gz and .xz while reading"
            )

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
    ``batch_words`` when a sentence is longer: a batch ends with the first sentence that brings
    its in-vocabulary tokens to ``batch_words``.  Sentences left empty after dropping
    out-of-vocabulary words are dropped too (their words still count in ``raw_words``).

    The words of many sentences are looked up at once (at least ``batch_words`` of them, one
    ``np.fromiter`` over the dictionary in C): per sentence only its length is taken in Python,
    which matters for corpora of many short sentences (3-6 words: 3.5 -> 0.8 us a sentence).
    """
    lookup = key_to_index.get
    threshold = max(int(batch_words), 1)
    words: list[str] = []  # words of the sentences read and not yet looked up
    lengths: list[int] = []  # their sentences' lengths
    # looked-up sentences not yet in a batch: in-vocabulary indices, and per sentence the
    # number of them and of its words
    pending = (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64))
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("each sentence must be a list of tokens, got a str")
        words.extend(sentence)
        lengths.append(len(sentence))
        if len(words) >= threshold:
            pending = yield from _cut(*_look_up(words, lengths, lookup, *pending), threshold)
            words, lengths = [], []
    if words or lengths:
        pending = _look_up(words, lengths, lookup, *pending)
    yield from _cut(*pending, threshold, last=True)


def _cut(tokens: NDArray[np.int32], kept: NDArray[np.int64], raw: NDArray[np.int64],
         threshold: int, last: bool = False
         ) -> Generator[Batch, None, tuple[NDArray[np.int32], NDArray[np.int64],
                                           NDArray[np.int64]]]:
    """Yield the batches the looked-up sentences complete (``last``: and the rest, if it holds
    a word); return the sentences left over, as ``(tokens, kept, raw)``."""
    while kept.size:
        reached = np.cumsum(kept)
        end = int(np.searchsorted(reached, threshold))  # the first sentence reaching it
        if end >= kept.size:
            if not last:
                break
            end = kept.size - 1
        n_tokens, n_raw = int(reached[end]), int(raw[: end + 1].sum())
        if n_tokens or n_raw:
            yield _make_batch(tokens[:n_tokens], kept[: end + 1], n_raw)
        tokens, kept, raw = tokens[n_tokens:], kept[end + 1 :], raw[end + 1 :]
    return tokens, kept, raw


def _look_up(words: list[str], lengths: list[int], lookup, tokens: NDArray[np.int32],
             kept: NDArray[np.int64], raw: NDArray[np.int64]
             ) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """Append the looked-up ``words`` (sentences of ``lengths``) to the pending arrays."""
    index = np.fromiter(map(lookup, words, repeat(-1)), dtype=np.int32, count=len(words))
    known = index >= 0
    lengths_array = np.array(lengths, dtype=np.int64)
    # in-vocabulary words per sentence, from the running count at the sentence boundaries
    running = np.concatenate(([0], np.cumsum(known, dtype=np.int64)))
    bounds = np.concatenate(([0], np.cumsum(lengths_array)))
    return (np.concatenate((tokens, index[known])),
            np.concatenate((kept, running[bounds[1:]] - running[bounds[:-1]])),
            np.concatenate((raw, lengths_array)))


def _make_batch(tokens: NDArray[np.int32], kept: NDArray[np.int64], raw_words: int) -> Batch:
    """The batch of sentences with ``kept`` in-vocabulary tokens each (empty ones dropped)."""
    ends = np.cumsum(kept[kept > 0], dtype=np.int64)
    return Batch(np.ascontiguousarray(tokens, dtype=np.int32), ends, raw_words)
