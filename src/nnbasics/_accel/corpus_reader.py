r"""Compiled reading of a corpus file: the vocabulary scan and the encoding into batches.

:class:`~nnbasics.word2vec.corpus.LineSentences` with ``str.split``, ``Counter.update`` and a
dictionary look-up per token costs 0.15-0.2 µs per token and holds the GIL, which the training
threads need between batches.  For a ``corpus_file`` the model uses this module instead: the file
is read in chunks of whole lines (64 KiB), and the tokenising, counting and look-ups run in
compiled code (numba, ``nogil``) over the raw bytes, with a hash table keyed by the words' UTF-8
bytes.  The result is *exactly* what the Python path gives, so that a model trained from a file
and from the same sentences as lists are identical (``tests/word2vec/test_reader.py``):

* sentences are the file's lines (split at ``b"\n"``; a last line without one counts);
* tokens are separated by ``str.split()``'s whitespace: ASCII ``\t \n \v \f \r``, ``\x1c-\x1f``,
  space, and the Unicode ones (U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
  U+205F, U+3000), recognised in their UTF-8 form;
* invalid UTF-8 raises :class:`LineSentences`'s ``ValueError``, naming the line;
* the vocabulary scan finds the counts in order of first occurrence (:func:`count_file`), and the
  encoding groups lines into the batches of :func:`~nnbasics.word2vec.corpus.iter_batches`
  (:func:`iter_file_batches`).

Memory is bounded by the chunk size (plus the longest line), not the corpus.

The hash table (:class:`WordTable`) is open addressing with linear probing over a power-of-two
number of slots kept at most half full; words are numbered in order of first insertion and stored
in one byte arena, each followed by ``b"\n"`` (a byte no token holds), so that all of them decode
with one ``bytes.decode().split("\n")``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from numba import njit
from numpy.typing import NDArray

from nnbasics.word2vec.corpus import Batch
from nnbasics.word2vec.vocab import RawCounts

__all__ = ["WordTable", "count_file", "iter_file_batches", "read_chunks"]

#: Bytes read per chunk (a chunk is extended to the end of its last line).  Small enough that
#: the chunk's buffers (the bytes, their UTF-8 check, the token array) stay well below 1 MiB.
CHUNK_BYTES = 1 << 16

#: A token longer than this (1 MiB) is counted, in linear time, but warned about: a corpus whose
#: "words" are that long is not text split at whitespace.
LONG_TOKEN_BYTES = 1 << 20

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_NEWLINE = 10


# ----------------------------------------------------------------------------------------------
# tokenising UTF-8 bytes as str.split() does
# ----------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True, inline="always")
def _space_length(buf: NDArray[np.uint8], p: int, end: int) -> int:
    """Byte length of the whitespace character at ``buf[p]`` (as ``str.isspace``), else 0."""
    b = buf[p]
    if b < 0x80:
        return 1 if b == 32 or 9 <= b <= 13 or 28 <= b <= 31 else 0
    if b == 0xC2:
        if p + 1 < end and (buf[p + 1] == 0x85 or buf[p + 1] == 0xA0):
            return 2
        return 0
    if b < 0xE1 or b > 0xE3 or p + 2 >= end:
        return 0
    c = buf[p + 1]
    e = buf[p + 2]
    if b == 0xE1:
        return 3 if c == 0x9A and e == 0x80 else 0  # U+1680
    if b == 0xE3:
        return 3 if c == 0x80 and e == 0x80 else 0  # U+3000
    if c == 0x80 and (e <= 0x8A or e == 0xA8 or e == 0xA9 or e == 0xAF):
        return 3  # U+2000-U+200A, U+2028, U+2029, U+202F (e >= 0x80: a continuation byte)
    if c == 0x81 and e == 0x9F:
        return 3  # U+205F
    return 0


@njit(nogil=True, cache=True, inline="always")
def _token_end(buf: NDArray[np.uint8], p: int, end: int) -> tuple[int, np.uint64]:
    """End of the token starting at ``p`` and the FNV-1a hash of its bytes."""
    h = _FNV_OFFSET
    while p < end and _space_length(buf, p, end) == 0:
        h = (h ^ np.uint64(buf[p])) * _FNV_PRIME
        p += 1
    return p, h


@njit(nogil=True, cache=True, inline="always")
def _find(
    buf: NDArray[np.uint8], start: int, stop: int, h: np.uint64, slots: NDArray[np.int32],
    word_hash: NDArray[np.uint64], word_start: NDArray[np.int64], word_len: NDArray[np.int32],
    arena: NDArray[np.uint8],
) -> tuple[int, int]:
    """(word number, slot) of the bytes ``buf[start:stop]``; (-1, empty slot) if absent."""
    mask = slots.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    length = stop - start
    while True:
        w = slots[i]
        if w < 0:
            return -1, i
        if word_hash[w] == h and word_len[w] == length:
            s = word_start[w]
            same = True
            for k in range(length):
                if arena[s + k] != buf[start + k]:
                    same = False
                    break
            if same:
                return w, i
        i = (i + 1) & mask


@njit(nogil=True, cache=True)
def _count_chunk(
    buf, p, slots, word_hash, word_start, word_len, counts, arena, n_words, arena_used
):
    """Count the tokens of ``buf`` from byte ``p`` into the table, inserting new words.

    Stops early, before a new word, when the table cannot take it (slots half full, word
    arrays full, or no room in the arena); the caller grows the arrays and calls again from the
    returned position.  Returns ``(p, n_words, arena_used, n_tokens, length)``, ``length`` the
    byte length of the word that stopped it (0 if none did), so that the arena grows to fit it
    at once: a token of many megabytes is then hashed twice, not once per doubling.  The arrays
    are never replaced here (reassigning them in the loop halved the speed).
    """
    end = buf.shape[0]
    max_words = min(word_hash.shape[0], slots.shape[0] // 2)
    n_tokens = 0
    while p < end:
        space = _space_length(buf, p, end)
        if space:
            p += space
            continue
        start = p
        p, h = _token_end(buf, p, end)
        w, slot = _find(buf, start, p, h, slots, word_hash, word_start, word_len, arena)
        if w >= 0:
            counts[w] += 1
            n_tokens += 1
            continue
        length = p - start
        if n_words == max_words or arena_used + length + 1 > arena.shape[0]:
            return start, n_words, arena_used, n_tokens, length  # grow, count this token again
        n_tokens += 1
        arena[arena_used : arena_used + length] = buf[start:p]
        arena[arena_used + length] = _NEWLINE
        word_hash[n_words] = h
        word_start[n_words] = arena_used
        word_len[n_words] = length
        counts[n_words] = 1
        slots[slot] = n_words
        arena_used += length + 1
        n_words += 1
    return p, n_words, arena_used, n_tokens, 0


@njit(nogil=True, cache=True)
def _rehash(n_slots: int, word_hash: NDArray[np.uint64], n_words: int) -> NDArray[np.int32]:
    """A slot array of ``n_slots`` (a power of two) holding words ``0..n_words-1``."""
    slots = np.full(n_slots, -1, dtype=np.int32)
    mask = n_slots - 1
    for w in range(n_words):
        i = np.int64(word_hash[w] & np.uint64(mask))
        while slots[i] >= 0:
            i = (i + 1) & mask
        slots[i] = w
    return slots


@njit(nogil=True, cache=True)
def _encode_chunk(buf, slots, word_hash, word_start, word_len, arena, tokens, line_kept, line_raw):
    """Vocabulary indices of the known tokens of ``buf``, and per line: known and all tokens.

    ``tokens`` (>= (len(buf) + 1) // 2 entries) receives the indices, ``line_kept`` and
    ``line_raw`` (>= number of lines) the counts per line; returns (indices written, lines).
    """
    end = buf.shape[0]
    n_out = 0
    line = 0
    kept = 0
    raw = 0
    p = 0
    while p < end:
        if buf[p] == _NEWLINE:
            line_kept[line] = kept
            line_raw[line] = raw
            line += 1
            kept = 0
            raw = 0
            p += 1
            continue
        space = _space_length(buf, p, end)
        if space:
            p += space
            continue
        start = p
        p, h = _token_end(buf, p, end)
        raw += 1
        w, _ = _find(buf, start, p, h, slots, word_hash, word_start, word_len, arena)
        if w >= 0:
            tokens[n_out] = w
            n_out += 1
            kept += 1
    if end > 0 and buf[end - 1] != _NEWLINE:  # a last line without a newline
        line_kept[line] = kept
        line_raw[line] = raw
        line += 1
    return n_out, line


@njit(nogil=True, cache=True)
def _batch_cuts(line_kept: NDArray[np.int64], pending: int, batch_words: int) -> NDArray[np.int64]:
    """Lines after which a batch closes: where the known tokens since the last cut (starting at
    ``pending``) reach ``batch_words``, as :func:`~nnbasics.word2vec.corpus.iter_batches`."""
    cuts = np.empty(line_kept.shape[0], dtype=np.int64)
    n_cuts = 0
    total = pending
    for i in range(line_kept.shape[0]):
        total += line_kept[i]
        if total >= batch_words:
            cuts[n_cuts] = i
            n_cuts += 1
            total = 0
    return cuts[:n_cuts]


# ----------------------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------------------


class WordTable:
    """A hash table from words (as UTF-8 bytes) to numbers in order of first insertion, with counts.

    Parameters
    ----------
    words : sequence of str, optional
        Words to insert first, numbered ``0..len(words)-1`` (each counted once); they must be
        distinct tokens (non-empty, without whitespace).
    """

    def __init__(self, words: Sequence[str] = ()):
        data = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
        capacity = max(512, len(words))  # sized for the given words: no growth while inserting
        self.slots = np.full(1 << (2 * capacity - 1).bit_length(), -1, dtype=np.int32)
        self.word_hash = np.empty(capacity, dtype=np.uint64)
        self.word_start = np.empty(capacity, dtype=np.int64)
        self.word_len = np.empty(capacity, dtype=np.int32)
        self.counts = np.empty(capacity, dtype=np.int64)
        self.arena = np.empty(max(4096, data.shape[0] + 1), dtype=np.uint8)
        self.n_words = 0
        self.arena_used = 0
        if words:
            n_tokens = self.count(data)
            if n_tokens != len(words) or self.n_words != len(words):
                raise ValueError("the words of a WordTable must be distinct tokens without spaces")

    def count(self, buf: NDArray[np.uint8]) -> int:
        """Count the tokens of the UTF-8 bytes ``buf`` (new words appended); return how many."""
        p, n_tokens = 0, 0
        while True:
            p, self.n_words, self.arena_used, n, length = _count_chunk(
                buf, p, self.slots, self.word_hash, self.word_start, self.word_len, self.counts,
                self.arena, self.n_words, self.arena_used,
            )
            n_tokens += n
            if p >= buf.shape[0]:
                return int(n_tokens)
            self._grow(length)

    def _grow(self, length: int) -> None:
        """Double what stopped the counting: the slots, the word arrays, or else the arena (at
        least to fit the next word, of ``length`` bytes)."""
        grown = False
        if 2 * self.n_words >= self.slots.shape[0]:
            self.slots = _rehash(2 * self.slots.shape[0], self.word_hash, self.n_words)
            grown = True
        if self.n_words == self.word_hash.shape[0]:
            size = 2 * self.n_words
            for name in ("word_hash", "word_start", "word_len", "counts"):
                old = getattr(self, name)
                new = np.empty(size, dtype=old.dtype)
                new[: self.n_words] = old[: self.n_words]
                setattr(self, name, new)
            grown = True
        if not grown:  # the next word did not fit in the arena
            arena = np.empty(max(2 * self.arena.shape[0], self.arena_used + length + 1), np.uint8)
            arena[: self.arena_used] = self.arena[: self.arena_used]
            self.arena = arena

    def words(self) -> list[str]:
        """The words in order of first insertion."""
        if self.n_words == 0:
            return []
        return self.arena[: self.arena_used - 1].tobytes().decode("utf-8").split("\n")

    def encode(
        self, buf: NDArray[np.uint8], n_lines: int
    ) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
        """Numbers of the known tokens of ``buf`` and, per line, known and all token counts."""
        tokens = np.empty((buf.shape[0] + 1) // 2, dtype=np.int32)
        line_kept = np.empty(n_lines, dtype=np.int64)
        line_raw = np.empty(n_lines, dtype=np.int64)
        n_out, n_seen = _encode_chunk(
            buf, self.slots, self.word_hash, self.word_start, self.word_len, self.arena, tokens,
            line_kept, line_raw,
        )
        assert n_seen == n_lines
        return tokens[:n_out], line_kept, line_raw


# ----------------------------------------------------------------------------------------------
# reading the file
# ----------------------------------------------------------------------------------------------


def _check_utf8(path: str, chunk: bytes, first_line: int) -> None:
    """Raise LineSentences' ValueError at the first invalid UTF-8 line of ``chunk``."""
    if chunk.isascii():
        return
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = chunk.rfind(b"\n", 0, exc.start) + 1
        line_end = chunk.find(b"\n", exc.start)
        raw = chunk[line_start:] if line_end < 0 else chunk[line_start : line_end + 1]
        line_no = first_line + chunk.count(b"\n", 0, line_start)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as line_exc:
            raise ValueError(
                f"{path}: line {line_no}: invalid UTF-8 at byte {line_exc.start} of the line "
                f"({line_exc.reason})"
            ) from None
        raise AssertionError("unreachable: the line holding the error decodes") from None


def read_chunks(path: str | os.PathLike, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file as chunks of whole lines (the last may lack its newline), checked as UTF-8."""
    path = os.fspath(path)
    first_line = 1
    # the start of an unfinished line, in pieces: a line of many chunks (text8 is one 100 MB
    # line) is joined once, not copied and searched again at every read
    pieces: list[bytes] = []
    with open(path, "rb") as handle:
        while True:
            data = handle.read(chunk_bytes)
            if not data:
                if pieces:
                    rest = b"".join(pieces)
                    _check_utf8(path, rest, first_line)
                    yield rest
                return
            cut = data.rfind(b"\n") + 1  # searched in the new data only
            if cut == 0:  # no line ends in this chunk yet: read on
                pieces.append(data)
                continue
            chunk = b"".join([*pieces, data[:cut]]) if pieces else data[:cut]
            pieces = [data[cut:]] if cut < len(data) else []
            _check_utf8(path, chunk, first_line)
            first_line += chunk.count(b"\n")
            yield chunk


def _n_lines(chunk: bytes) -> int:
    return chunk.count(b"\n") + (1 if chunk and not chunk.endswith(b"\n") else 0)


def count_file(path: str | os.PathLike, chunk_bytes: int = CHUNK_BYTES) -> RawCounts:
    """The vocabulary scan of a corpus file: what ``count_words(LineSentences(path))`` returns.

    Counts in order of first occurrence, every token, every line (``max_vocab_size`` pruning is
    not done here: the model uses the Python scan for it).
    """
    table = WordTable()
    total_words = 0
    n_sentences = 0
    for chunk in read_chunks(path, chunk_bytes):
        total_words += table.count(np.frombuffer(chunk, dtype=np.uint8))
        n_sentences += _n_lines(chunk)
    longest = int(table.word_len[: table.n_words].max(initial=0))
    if longest > LONG_TOKEN_BYTES:
        warnings.warn(f"{os.fspath(path)}: a token of {longest:,} bytes without whitespace (is "
                      "the text split into words?)", stacklevel=2)
    counts = dict(zip(table.words(), table.counts[: table.n_words].tolist(), strict=True))
    return RawCounts(counts, total_words, n_sentences, 1)


def iter_file_batches(
    path: str | os.PathLike, table: WordTable, batch_words: int = 10_000,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[Batch]:
    """The batches of ``iter_batches(LineSentences(path), key_to_index, batch_words)``.

    ``table`` numbers the vocabulary as ``key_to_index`` does (``WordTable(index_to_key)``).
    """
    pending_tokens: list[NDArray[np.int32]] = []  # known tokens of the lines not yet batched
    pending_lengths: list[NDArray[np.int64]] = []  # and their non-zero lengths per line
    pending_count = 0
    pending_raw = 0
    for chunk in read_chunks(path, chunk_bytes):
        tokens, line_kept, line_raw = table.encode(
            np.frombuffer(chunk, dtype=np.uint8), _n_lines(chunk)
        )
        offsets = np.zeros(line_kept.shape[0] + 1, dtype=np.int64)
        np.cumsum(line_kept, out=offsets[1:])
        raw_before = np.zeros(line_raw.shape[0] + 1, dtype=np.int64)
        np.cumsum(line_raw, out=raw_before[1:])
        first = 0  # first line of the chunk not yet batched
        for cut in _batch_cuts(line_kept, pending_count, batch_words).tolist():
            pending_tokens.append(tokens[offsets[first] : offsets[cut + 1]])
            pending_lengths.append(line_kept[first : cut + 1])
            pending_raw += int(raw_before[cut + 1] - raw_before[first])
            yield _make_batch(pending_tokens, pending_lengths, pending_raw)
            pending_tokens, pending_lengths, pending_count, pending_raw = [], [], 0, 0
            first = cut + 1
        if first < line_kept.shape[0]:
            # a copy: the chunk's token buffer is not kept alive by the lines left over
            pending_tokens.append(tokens[offsets[first] :].copy())
            pending_lengths.append(line_kept[first:])
            pending_count += int(offsets[-1] - offsets[first])
            pending_raw += int(raw_before[-1] - raw_before[first])
    if pending_count or pending_raw:  # as iter_batches: not for blank lines alone
        yield _make_batch(pending_tokens, pending_lengths, pending_raw)


def _make_batch(
    tokens: list[NDArray[np.int32]], lengths: list[NDArray[np.int64]], raw_words: int
) -> Batch:
    line_lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
    ends = np.cumsum(line_lengths[line_lengths > 0], dtype=np.int64)
    all_tokens = np.concatenate(tokens) if tokens else np.empty(0, np.int32)
    return Batch(np.ascontiguousarray(all_tokens, dtype=np.int32), ends, raw_words)
