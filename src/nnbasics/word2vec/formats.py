"""The word-vector file formats of the original word2vec tool, byte-compatible with gensim 4.

Both start with a header line ``"<V> <d>\\n"``.  Then, per word, in vocabulary order:

* text: ``word v_1 v_2 ... v_d\\n`` with each value written as ``str(numpy.float32(v))`` (the
  shortest decimal that reads back to the same float32), as gensim writes;
* binary: ``word`` in UTF-8, one space, then ``d`` little-endian float32 (``4 d`` bytes), and no
  newline (gensim 4); a newline before a word (word2vec.c writes one after each vector) is
  accepted and ignored when reading.

GloVe's text files are the text format without the header line (``write_header=False`` /
``no_header=True``).  The vocabulary file of ``word2vec -save-vocab`` (and of gensim's ``fvocab``)
holds one ``word count`` line per word.

Readers check what they read: the header, the number of values per line, the file size against the
header *before* allocating, the words' encoding, duplicate words and trailing data, and raise
``ValueError`` naming the problem (:class:`TruncatedFileError`, also an ``EOFError`` as gensim's,
for a file shorter than its header says; :class:`WordDecodeError`, also a ``UnicodeDecodeError``,
for a word that is not valid in the file's encoding).  Writers write atomically (a temporary file
in the same directory, then ``os.replace``).

gensim's own ``.model``/``.kv`` files are Python pickles, which nnbasics never loads:
:func:`refuse_pickle` recognises them and says how to convert them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from nnbasics.io.serialization import atomic_file

__all__ = [
    "TruncatedFileError",
    "WordDecodeError",
    "WrongFileKindError",
    "check_file_kind",
    "read_vocab_counts",
    "read_word2vec_format",
    "refuse_pickle",
    "write_vocab_counts",
    "write_word2vec_format",
]


_FLOAT = np.dtype("<f4")
_CHUNK = 1 << 20
_PICKLE_MAGIC = b"\x80"  # the PROTO opcode that starts a pickle of protocol 2 or later


class TruncatedFileError(ValueError, EOFError):
    """The file ends before the vectors its header announces (an ``EOFError`` too, as gensim)."""


class WordDecodeError(UnicodeDecodeError):
    """A word that is not valid in the file's encoding; says which file and entry.

    A ``UnicodeDecodeError`` (so a ``ValueError``), as gensim raises with
    ``unicode_errors="strict"``.
    """

    def __init__(self, error: UnicodeDecodeError, path: str, entry: int):
        super().__init__(error.encoding, error.object, error.start, error.end, error.reason)
        self.path, self.entry = path, entry

    def __str__(self) -> str:
        encoding = self.encoding.upper()
        return (f"{self.path}: word of entry {self.entry + 1} is not valid {encoding}: "
                f"{self.object[:40]!r} ({self.reason} at byte {self.start + 1}); pass "
                "unicode_errors='replace' or 'ignore' to read it anyway")


def refuse_pickle(path: str | os.PathLike, what: str) -> None:
    """Raise ``ValueError`` if ``path`` starts like a Python pickle (gensim's native save format).

    gensim's ``Word2Vec.save``/``KeyedVectors.save`` write pickles, which can run arbitrary code
    when loaded: nnbasics never loads them.  The message says how to convert the vectors.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
    except OSError:
        return  # the loader reports a missing or unreadable file itself
    if len(head) == 2 and head[:1] == _PICKLE_MAGIC and 2 <= head[1] <= 5:
        raise ValueError(
            f"{os.fspath(path)} is a Python pickle (gensim's native .model/.kv format, "
            f"written by gensim's save()), not an nnbasics {what}: nnbasics never loads pickles. "
            "Convert the vectors in gensim: KeyedVectors.load(path) (or Word2Vec.load(path).wv)"
            ".save_word2vec_format('vectors.bin', binary=True), then "
            "KeyedVectors.load_word2vec_format('vectors.bin', binary=True) here"
        )


class WrongFileKindError(ValueError, AttributeError):
    """An nnbasics file of another kind than the loader reads: a :class:`KeyedVectors` file
    given to ``Word2Vec.load``, or a model file given to ``KeyedVectors.load``.  A
    ``ValueError``, and an ``AttributeError`` as gensim raises for the same mistake."""


#: what each kind of nnbasics word2vec file holds, and how to load it
_KINDS = {
    "word2vec": ("a Word2Vec model (written by Word2Vec.save)",
                 "load it with Word2Vec.load(path); its .wv holds the vectors"),
    "keyedvectors": ("word vectors only (written by KeyedVectors.save)",
                     "load them with KeyedVectors.load(path); a trainable model cannot be "
                     "rebuilt from them (they have no output layer)"),
}


def check_file_kind(path: str | os.PathLike, metadata: dict, expected: str) -> None:
    """Raise :class:`WrongFileKindError` unless ``metadata`` (of an nnbasics file) is of the
    ``expected`` kind, saying what the file holds and how to load it."""
    found = metadata.get("kind")
    if found == expected:
        return
    holds, how = _KINDS.get(found, (f"an nnbasics {found!r} file", "it is not word2vec data"))
    raise WrongFileKindError(f"{os.fspath(path)} holds {holds}, not {_KINDS[expected][0]}: "
                             f"{how}")


def write_word2vec_format(
    path: str | os.PathLike,
    keys: Sequence[str],
    vectors: NDArray,
    binary: bool = False,
    *,
    write_header: bool = True,
    prefix: str = "",
    total_vec: int | None = None,
    append: bool = False,
) -> None:
    """Write ``keys`` and their ``vectors`` (V×d) in word2vec's text or binary format.

    Parameters
    ----------
    write_header : bool, default True
        False leaves out the ``"<V> <d>"`` line (GloVe's text files; gensim's option).
    prefix : str, default ""
        Written before every word (gensim's option).
    total_vec : int, optional
        The count written in the header instead of ``V`` (for a file that more vectors will be
        appended to, as gensim's Doc2Vec does).
    append : bool, default False
        Add to the end of an existing file (still written atomically: the old content is copied
        into the new file first).
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"need one vector per key: {len(keys)} keys, vectors {vectors.shape}")
    if vectors.dtype != np.float16:  # the format's values are float32 (float16 ones fit)
        vectors = vectors.astype(np.float32, copy=False)
    for key in keys:
        # the formats end a word at a space (and a line at a newline): any other character,
        # a tab or a no-break space included, reads back unchanged, in gensim as here
        word = f"{prefix}{key}"
        if not word or " " in word or "\n" in word:
            raise ValueError(f"word {word!r} cannot be written: empty, or holds a space or newline")
    with atomic_file(path) as out:
        if append and os.path.exists(path):
            with open(path, "rb") as old:
                shutil.copyfileobj(old, out)
        if write_header:
            count = vectors.shape[0] if total_vec is None else int(total_vec)
            out.write(f"{count} {vectors.shape[1]}\n".encode())
        if binary:
            little = vectors.astype(_FLOAT, copy=False)  # the format stores float32
            for key, row in zip(keys, little, strict=True):
                out.write(f"{prefix}{key} ".encode() + row.tobytes())
        else:
            # str() of each value as stored: the shortest decimal that reads back to it
            lines = (f"{prefix}{key} {' '.join(map(str, row))}\n"
                     for key, row in zip(keys, vectors, strict=True))
            out.writelines(line.encode() for line in lines)


def write_vocab_counts(path: str | os.PathLike, keys: Sequence[str], counts: Sequence[int],
                       prefix: str = "", append: bool = False) -> None:
    """Write the vocabulary file: one ``word count`` line per word (word2vec's ``-save-vocab``)."""
    if len(keys) != len(counts):
        raise ValueError(f"need one count per key: {len(keys)} keys, {len(counts)} counts")
    with atomic_file(path) as out:
        if append and os.path.exists(path):
            with open(path, "rb") as old:
                shutil.copyfileobj(old, out)
        out.writelines(f"{prefix}{key} {int(count)}\n".encode()
                       for key, count in zip(keys, counts, strict=True))


def read_vocab_counts(path: str | os.PathLike, encoding: str = "utf8",
                      unicode_errors: str = "strict") -> dict[str, int]:
    """Read a vocabulary file (``word count`` per line) into ``{word: count}``."""
    path = os.fspath(path)
    counts: dict[str, int] = {}
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle):
            try:
                text = raw.decode(encoding, errors=unicode_errors)
            except UnicodeDecodeError as error:
                raise WordDecodeError(error, path, line_no) from None
            parts = text.split()
            if not parts:
                continue
            try:
                word, count = parts
                counts[word] = int(count)
            except ValueError:
                raise ValueError(f"{path}: line {line_no + 1} is not 'word count': "
                                 f"{text.strip()[:60]!r}") from None
    return counts


def read_word2vec_format(
    path: str | os.PathLike,
    binary: bool = False,
    limit: int | None = None,
    *,
    encoding: str = "utf8",
    unicode_errors: str = "strict",
    datatype: type | np.dtype = np.float32,
    no_header: bool = False,
) -> tuple[list[str], NDArray[np.floating]]:
    """Read a word2vec text or binary file into ``(keys, vectors (V, d))``.

    Parameters
    ----------
    limit : int, optional
        Read only the first ``limit`` vectors (the most frequent words, in files written by
        word2vec.c or gensim), as gensim's ``limit``; the rest of the file is not read.
    encoding, unicode_errors : str, default "utf8" and "strict"
        How the words are decoded (``bytes.decode``'s arguments): ``"replace"`` or ``"ignore"``
        read files whose words word2vec.c cut in the middle of a multi-byte character.
    datatype : floating dtype, default float32
        The dtype of the returned vectors (``np.float16`` halves the memory; text values are
        rounded once, from their decimal).
    no_header : bool, default False
        The file has no ``"<V> <d>"`` line (GloVe's text files): a first pass counts the lines
        and reads ``d`` from the first one.  Text files only.
    """
    path = os.fspath(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer))
                              or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    datatype = np.dtype(datatype)
    if datatype.kind != "f":
        raise ValueError(f"datatype must be a floating dtype (float16/32/64), got {datatype}")
    if no_header and binary:
        raise ValueError("no_header applies to text files only (GloVe's format): binary files need "
                         "their header (it gives the vector size, which separates the entries)")
    decode = _Decoder(path, encoding, unicode_errors)
    with open(path, "rb") as handle:
        if no_header:  # counted up to the limit: the lines past it are never read
            n_words, dim = _count_text(handle, path, limit)
            whole = limit is None
        else:
            n_words, dim = _read_header(handle, path)
            whole = limit is None or limit >= n_words
            n_words = n_words if whole else int(limit)
        remaining = os.fstat(handle.fileno()).st_size - handle.tell()
        # The smallest possible entry is a 1-byte word plus a separator and its values (text: a
        # digit and a separator each, and a newline but after the last): refuse a header that
        # the file cannot hold before allocating anything for it.
        if binary:
            smallest = n_words * (2 + dim * _FLOAT.itemsize)
        else:
            smallest = n_words * (2 + 2 * dim) - 1
        if smallest > remaining:
            raise TruncatedFileError(
                f"{path}: header claims {n_words} vectors of size {dim}, which needs at least "
                f"{smallest} bytes, but only {remaining} follow: truncated or not a "
                f"{'binary' if binary else 'text'} word2vec file"
            )
        vectors = np.empty((n_words, dim), dtype=datatype)
        if binary:
            keys = _read_binary(handle, path, vectors, whole, decode)
        else:
            keys = _read_text(handle, path, vectors, whole, decode, header=not no_header)
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"{path}: the word {dup!r} appears twice")
    return keys, vectors


def _read_header(handle, path: str) -> tuple[int, int]:
    line = handle.readline(256)
    try:
        n_words, dim = (int(x) for x in line.decode("ascii").split())
    except (UnicodeDecodeError, ValueError):
        raise ValueError(
            f"{path}: not a word2vec file: the first line must be '<vocab size> <vector size>', "
            f"got {line[:60]!r} (a GloVe file has none: pass no_header=True)"
        ) from None
    if n_words < 1 or dim < 1:
        raise ValueError(f"{path}: header gives {n_words} vectors of size {dim}; both must be >= 1")
    return n_words, dim


def _count_text(handle, path: str, limit: int | None) -> tuple[int, int]:
    """A headerless text file's ``(V, d)``: its non-blank lines (counted up to ``limit``: the
    lines past it are never read) and the values on the first; the handle is left at the start
    of the file.  Nothing is allocated before this count."""
    first = handle.readline(1 << 20)
    if len(first) == 1 << 20 and not first.endswith(b"\n"):
        raise ValueError(f"{path}: the first line is longer than 1 MiB: not a vectors file")
    dim = len(first.rstrip().split(b" ")) - 1
    if dim < 1:
        raise ValueError(f"{path}: the first line is not 'word v_1 ... v_d': got {first[:60]!r}")
    n_words = 1
    while (limit is None or n_words < limit) and (line := handle.readline()):
        n_words += bool(line.strip())
    handle.seek(0)
    return n_words, dim


class _Decoder:
    """Decodes a file's words with the caller's encoding and error handling."""

    def __init__(self, path: str, encoding: str, unicode_errors: str):
        b"".decode(encoding, unicode_errors)  # LookupError now for an unknown codec
        self.path, self.encoding, self.errors = path, encoding, unicode_errors

    def __call__(self, raw: bytes, entry: int) -> str:
        try:
            return raw.decode(self.encoding, self.errors)
        except UnicodeDecodeError as error:
            raise WordDecodeError(error, self.path, entry) from None


def _read_text(handle, path: str, vectors: NDArray, to_end: bool, decode: _Decoder,
               header: bool = True) -> list[str]:
    """Fill ``vectors`` from text lines, after the header line if ``header`` (messages give the
    file's own line numbers)."""
    n_words, dim = vectors.shape
    first = 2 if header else 1
    expected = f"the header says {dim}" if header else f"the first line has {dim}"
    keys = []
    for i in range(n_words):
        line = handle.readline()
        if not line:
            raise TruncatedFileError(
                f"{path}: unexpected end of file after {i} of {n_words} vectors")
        parts = decode(line.rstrip(), i).split(" ")
        if len(parts) != dim + 1:
            raise ValueError(
                f"{path}: line {i + first} has {len(parts) - 1} values, {expected}"
            )
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"{path}: line {i + first} holds a value that is not a number") from None
        keys.append(parts[0])
    while to_end and (chunk := handle.read(1 << 16)):  # blank lines after the last are fine
        if chunk.strip():
            raise ValueError(f"{path}: data after the {n_words} vectors the header announces")
    return keys


def _read_binary(handle, path: str, vectors: NDArray, to_end: bool,
                 decode: _Decoder) -> list[str]:
    n_words, dim = vectors.shape
    n_bytes = dim * _FLOAT.itemsize
    keys = []
    buffer = b""
    start = 0
    at_eof = False
    while len(keys) < n_words:
        space = buffer.find(b" ", start)
        if space == -1 or len(buffer) - (space + 1) < n_bytes:
            if at_eof:
                raise TruncatedFileError(
                    f"{path}: unexpected end of file after {len(keys)} of {n_words} vectors"
                )
            if space == -1 and len(buffer) - start > 4096 + n_bytes:
                raise ValueError(f"{path}: entry {len(keys) + 1} has no word separator")
            chunk = handle.read(_CHUNK)
            at_eof = len(chunk) < _CHUNK
            buffer = buffer[start:] + chunk
            start = 0
            continue
        # word2vec.c writes a newline after each vector; gensim 4 does not: accept both
        word = decode(buffer[start:space], len(keys)).lstrip("\n")
        if not word:
            raise ValueError(f"{path}: entry {len(keys) + 1} has an empty word")
        vectors[len(keys)] = np.frombuffer(buffer, dtype=_FLOAT, count=dim, offset=space + 1)
        keys.append(word)
        start = space + 1 + n_bytes
    if not to_end:
        return keys
    rest = buffer[start:] + handle.read()
    if rest.strip(b"\n"):
        raise ValueError(
            f"{path}: {len(rest)} bytes of data after the {n_words} vectors the header announces"
        )
    return keys
