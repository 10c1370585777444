"""The word-vector file formats of the original word2vec tool, byte-compatible with gensim 4.

Both start with a header line ``"<V> <d>\\n"``.  Then, per word, in vocabulary order:

* text: ``word v_1 v_2 ... v_d\\n`` with each value written as ``str(numpy.float32(v))`` (the
  shortest decimal that reads back to the same float32), as gensim writes;
* binary: ``word`` in UTF-8, one space, then ``d`` little-endian float32 (``4 d`` bytes), and no
  newline (gensim 4); a newline before a word (word2vec.c writes one after each vector) is
  accepted and ignored when reading.

GloVe's text files have the text layout without the header line: read them with
``no_header=True`` (the vector size is that of the first line, the count that of the lines).

Readers check what they read: the header, the number of values per line, the file size against the
header *before* allocating, UTF-8, duplicate words and trailing data, and raise ``ValueError``
naming the problem.  Writers write atomically (a temporary file in the same directory, then
``os.replace``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from nnbasics.io.serialization import atomic_file

__all__ = ["atomic_write", "read_word2vec_format", "write_word2vec_format"]

#: the context manager that writes these files atomically (kept under its former name here)
atomic_write = atomic_file

_FLOAT = np.dtype("<f4")
_CHUNK = 1 << 20


def write_word2vec_format(
    path: str | os.PathLike, keys: Sequence[str], vectors: NDArray, binary: bool = False
) -> None:
    """Write ``keys`` and their ``vectors`` (V×d) in word2vec's text or binary format."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"need one vector per key: {len(keys)} keys, vectors {vectors.shape}")
    for key in keys:
        # the formats end a word at a space (and a line at a newline): any other character,
        # a tab or a no-break space included, reads back unchanged, in gensim as here
        if not key or " " in key or "\n" in key:
            raise ValueError(f"word {key!r} cannot be written: empty, or holds a space or newline")
    with atomic_file(path) as out:
        out.write(f"{vectors.shape[0]} {vectors.shape[1]}\n".encode())
        if binary:
            little = vectors.astype(_FLOAT, copy=False)
            for key, row in zip(keys, little, strict=True):
                out.write(f"{key} ".encode() + row.tobytes())
        else:
            lines = (f"{key} {' '.join(map(str, row))}\n" for key, row in zip(keys, vectors,
                                                                             strict=True))
            out.writelines(line.encode() for line in lines)


def read_word2vec_format(
    path: str | os.PathLike, binary: bool = False, limit: int | None = None,
    no_header: bool = False,
) -> tuple[list[str], NDArray[np.float32]]:
    """Read a word2vec text or binary file into ``(keys, vectors (V, d) float32)``.

    ``limit``: read only the first ``limit`` vectors (the most frequent words, in files written
    by word2vec.c or gensim), as gensim's ``limit``; the rest of the file is not read.
    ``no_header``: a text file without the header line (GloVe's): ``d`` is the number of values
    on the first line and ``V`` the number of non-blank lines (up to ``limit``), counted in a
    first pass before anything is allocated.
    """
    path = os.fspath(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer))
                              or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    if no_header and binary:
        raise ValueError("no_header applies to text files only (GloVe's format); binary word2vec "
                         "files always have a header")
    with open(path, "rb") as handle:
        if no_header:  # counted up to the limit: the file's lines past it are never read
            n_words, dim = _count_lines(handle, path, limit)
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
            raise ValueError(
                f"{path}: header claims {n_words} vectors of size {dim}, which needs at least "
                f"{smallest} bytes, but only {remaining} follow: truncated or not a "
                f"{'binary' if binary else 'text'} word2vec file"
            )
        vectors = np.empty((n_words, dim), dtype=np.float32)
        if binary:
            keys = _read_binary(handle, path, vectors, whole)
        else:
            keys = _read_text(handle, path, vectors, whole, first_line=1 if no_header else 2)
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
            f"got {line[:60]!r}"
        ) from None
    if n_words < 1 or dim < 1:
        raise ValueError(f"{path}: header gives {n_words} vectors of size {dim}; both must be >= 1")
    return n_words, dim


def _count_lines(handle, path: str, limit: int | None) -> tuple[int, int]:
    """``(V, d)`` of a text file without a header: its non-blank lines (at most ``limit``) and the
    number of values on the first; the handle is left at the start of the file."""
    first = handle.readline(1 << 20)
    if len(first) == 1 << 20 and not first.endswith(b"\n"):
        raise ValueError(f"{path}: the first line is longer than 1 MiB: not a vectors file")
    fields = first.rstrip().split(b" ")
    if len(fields) < 2:
        raise ValueError(f"{path}: the first line is not 'word v_1 ... v_d': got {first[:60]!r}")
    n_words = 1
    while (limit is None or n_words < limit) and (line := handle.readline()):
        n_words += bool(line.strip())
    handle.seek(0)
    return n_words, len(fields) - 1


def _decode_word(raw: bytes, path: str, entry: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            f"{path}: word of entry {entry + 1} is not valid UTF-8: {raw[:40]!r}"
        ) from None


def _read_text(handle, path: str, vectors: NDArray[np.float32], to_end: bool = True,
               first_line: int = 2) -> list[str]:
    """Fill ``vectors`` from text lines; ``first_line``: the file's number of the first vector
    line (2 after a header, 1 without), for the messages."""
    n_words, dim = vectors.shape
    source = "the header says" if first_line == 2 else "the first line has"
    keys = []
    for i in range(n_words):
        line = handle.readline()
        if not line:
            raise ValueError(f"{path}: unexpected end of file after {i} of {n_words} vectors")
        parts = _decode_word(line.rstrip(), path, i).split(" ")
        if len(parts) != dim + 1:
            raise ValueError(
                f"{path}: line {i + first_line} has {len(parts) - 1} values, {source} {dim}"
            )
        try:
            vectors[i] = np.array(parts[1:], dtype=np.float64)
        except ValueError:
            raise ValueError(
                f"{path}: line {i + first_line} holds a value that is not a number"
            ) from None
        keys.append(parts[0])
    while to_end and (chunk := handle.read(1 << 16)):  # blank lines after the last are fine
        if chunk.strip():
            raise ValueError(f"{path}: data after the {n_words} vectors the header announces")
    return keys


def _read_binary(handle, path: str, vectors: NDArray[np.float32],
                 to_end: bool = True) -> list[str]:
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
                raise ValueError(
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
        word = _decode_word(buffer[start:space], path, len(keys)).lstrip("\n")
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
