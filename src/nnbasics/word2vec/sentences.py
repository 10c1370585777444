"""gensim's sentence iterators: :class:`LineSentence` (one file) and :class:`PathLineSentences`.

Both read text one sentence a line, tokens separated by whitespace, and cut lines longer than
``max_sentence_length`` tokens into pieces of that length, as gensim does (nnbasics's own
:class:`~nnbasics.word2vec.corpus.LineSentences` never cuts a line).  Files ending in ``.bz2``,
``.gz`` or ``.xz`` are decompressed while reading (gensim opens them through ``smart_open``).
Lines are decoded as UTF-8; an invalid one raises ``ValueError`` naming the file and line.
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
import os
from collections.abc import Iterable, Iterator

__all__ = ["LineSentence", "PathLineSentences"]

#: gensim's ``MAX_WORDS_IN_BATCH``: the longest sentence these iterators yield
MAX_SENTENCE_LENGTH = 10_000

_OPENERS = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}


def _open_binary(path: str):
    """``path`` opened for reading bytes, decompressed if its extension says so."""
    opener = _OPENERS.get(os.path.splitext(path)[1].lower(), open)
    return opener(path, "rb")


def _sentences(lines: Iterable[bytes | str], where: str, max_sentence_length: int,
               limit: int | None) -> Iterator[list[str]]:
    """The token lists of ``lines`` (at most ``limit`` lines), cut every ``max_sentence_length``
    tokens; a blank line yields nothing (gensim's behaviour)."""
    for line_no, line in enumerate(itertools.islice(lines, limit), start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{where}: line {line_no}: invalid UTF-8 at byte {exc.start} "
                                 f"({exc.reason})") from None
        tokens = line.split()
        for start in range(0, len(tokens), max_sentence_length):
            yield tokens[start:start + max_sentence_length]


def _check_options(max_sentence_length: int, limit: int | None) -> None:
    if isinstance(max_sentence_length, bool) or not isinstance(max_sentence_length, int) \
            or max_sentence_length < 1:
        raise ValueError(f"max_sentence_length must be an integer >= 1, got "
                         f"{max_sentence_length!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}")


class LineSentence:
    """The sentences of one text file, re-read on every iteration (gensim's ``LineSentence``).

    Parameters
    ----------
    source : path or binary/text file object
        A path (``.bz2``, ``.gz``, ``.xz`` decompressed) or an open file, which is rewound
        (``seek(0)``) at the start of each iteration.
    max_sentence_length : int, default 10000
        Longer lines are yielded as several sentences of at most this many tokens.
    limit : int, optional
        Read only the first ``limit`` lines.
    """

    def __init__(self, source, max_sentence_length: int = MAX_SENTENCE_LENGTH,
                 limit: int | None = None):
        _check_options(max_sentence_length, limit)
        if isinstance(source, (str, os.PathLike)):
            source = os.fspath(source)
            if not os.path.isfile(source):
                raise FileNotFoundError(2, "No such file or directory", source)
        elif not (hasattr(source, "seek") and hasattr(source, "__iter__")):
            raise TypeError(f"source must be a path or a seekable file object, got "
                            f"{type(source).__name__}")
        self.source = source
        self.max_sentence_length = max_sentence_length
        self.limit = limit

    def __iter__(self) -> Iterator[list[str]]:
        if isinstance(self.source, str):
            with _open_binary(self.source) as handle:
                yield from _sentences(handle, self.source, self.max_sentence_length, self.limit)
        else:
            self.source.seek(0)
            where = getattr(self.source, "name", "the file object")
            yield from _sentences(self.source, str(where), self.max_sentence_length, self.limit)


class PathLineSentences:
    """The sentences of every file of a directory, in sorted file-name order (or of one file),
    as gensim's ``PathLineSentences``; subdirectories are not entered.

    Parameters
    ----------
    source : path
        A directory, or a single file.
    max_sentence_length, limit
        As :class:`LineSentence` (``limit`` counts the lines of each file).
    """

    def __init__(self, source: str | os.PathLike, max_sentence_length: int = MAX_SENTENCE_LENGTH,
                 limit: int | None = None):
        _check_options(max_sentence_length, limit)
        self.source = os.fspath(source)
        if os.path.isfile(self.source):
            self.input_files = [self.source]
        elif os.path.isdir(self.source):
            names = sorted(os.listdir(self.source))
            self.input_files = [os.path.join(self.source, name) for name in names
                                if os.path.isfile(os.path.join(self.source, name))]
            if not self.input_files:
                raise ValueError(f"{self.source}: the directory holds no files")
        else:
            raise FileNotFoundError(2, "No such file or directory", self.source)
        self.max_sentence_length = max_sentence_length
        self.limit = limit

    def __iter__(self) -> Iterator[list[str]]:
        for path in self.input_files:
            with _open_binary(path) as handle:
                yield from _sentences(handle, path, self.max_sentence_length, self.limit)
