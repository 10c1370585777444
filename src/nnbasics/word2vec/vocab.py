r"""The vocabulary: word counts, pruning, subsampling, noise distribution, windows, Huffman tree.

Shape letter: ``V`` words kept in the vocabulary, indexed ``0 .. V-1`` by descending count (ties in
reverse order of first occurrence), the order of gensim 4's ``sorted_vocab=1``, or in order of
first occurrence (``sorted_vocab=0``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "NOISE_TABLE_DOMAIN",
    "NULL_WORD",
    "EmptyVocabularyError",
    "HuffmanTree",
    "Vocabulary",
    "VocabularyNotBuiltError",
    "build_vocabulary",
    "count_words",
    "huffman_tree",
    "keep_probabilities",
    "noise_cum_table",
    "reduced_windows",
    "sample_negatives",
]

#: The last entry of the cumulative noise table, as gensim's ``cum_table`` (2**31 - 1).
NOISE_TABLE_DOMAIN = 2**31 - 1
#: gensim's padding word (``null_word=1``), added to the vocabulary with count 1
NULL_WORD = "\0"


class EmptyVocabularyError(ValueError, RuntimeError):
    """No word to train: an empty corpus, or none of its words kept.  A ``ValueError``, and a
    ``RuntimeError`` as gensim raises for it."""


class VocabularyNotBuiltError(ValueError, RuntimeError):
    """A step that needs the model's vocabulary (``train``, ``build_vocab(update=True)``) called
    before ``build_vocab``.  A ``ValueError``, and a ``RuntimeError`` as gensim raises for it."""


@dataclass(frozen=True, eq=False)
class RawCounts(Mapping):
    """What one pass over the corpus found: counts per word in order of first occurrence.

    Also a read-only mapping ``word -> count`` (``counts``), as gensim's ``raw_vocab`` dict:
    ``raw["word"]``, ``len(raw)``, ``raw.items()``, ``raw == {"word": 3}``.
    """

    counts: dict[str, int]
    total_words: int  # every token seen, including words later dropped by min_count
    n_sentences: int
    min_reduce: int  # the count below which words were pruned during the scan (1 if never)

    def __getitem__(self, word: str) -> int:
        return self.counts[word]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)


#: the answers of a ``trim_rule(word, count, min_count)``, gensim's values (``gensim.utils``)
RULE_DEFAULT, RULE_DISCARD, RULE_KEEP = 0, 1, 2


def keep_word(word: str, count: int, min_count: int, trim_rule=None) -> bool:
    """Whether a word stays: ``count >= min_count`` unless ``trim_rule`` says otherwise.

    ``trim_rule(word, count, min_count)`` (gensim's hook) returns :data:`RULE_KEEP`,
    :data:`RULE_DISCARD` or :data:`RULE_DEFAULT` (then the count decides).
    """
    if trim_rule is not None:
        answer = trim_rule(word, count, min_count)
        if answer == RULE_KEEP:
            return True
        if answer == RULE_DISCARD:
            return False
    return count >= min_count


def count_words(sentences: Iterable[Sequence[str]], max_vocab_size: int | None = None,
                trim_rule=None) -> RawCounts:
    """Count the words of a corpus in one pass, pruning rare words if the count table grows large.

    Parameters
    ----------
    sentences : iterable of sequences of str
    max_vocab_size : int or None
        As gensim's: whenever the table holds more than this many distinct words (checked after
        each sentence), every word with a count below ``min_reduce`` is dropped and ``min_reduce``
        (starting at 1) grows by one.  Pruned words may come back later with a fresh count.
    trim_rule : callable, optional
        Consulted for each word the pruning would drop, as in gensim (:func:`keep_word`).

    Returns
    -------
    RawCounts
    """
    if max_vocab_size is not None and max_vocab_size < 1:
        raise ValueError(f"max_vocab_size must be None or >= 1, got {max_vocab_size}")
    counts: Counter[str] = Counter()
    total_words = 0
    n_sentences = 0
    min_reduce = 1
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError(
                "each sentence must be a list of tokens, got a str; split your text first "
                "(e.g. line.split())"
            )
        try:
            counts.update(sentence)  # counting happens in C, not in a Python loop over words
            total_words += len(sentence)
        except TypeError:  # None, a number: not a sequence of tokens
            raise TypeError(
                f"sentence {n_sentences + 1} is {type(sentence).__name__} {sentence!r:.60}, not a "
                "list of tokens"
            ) from None
        n_sentences += 1
        if max_vocab_size is not None and len(counts) > max_vocab_size:
            for word in [w for w, n in counts.items()
                         if not keep_word(w, n, min_reduce, trim_rule)]:
                del counts[word]
            min_reduce += 1
    return RawCounts(dict(counts), total_words, n_sentences, min_reduce)


@dataclass
class Vocabulary:
    """Words kept for training, their counts, and the tables derived from the counts.

    Attributes
    ----------
    index_to_key : list of str, length V
        Words by descending count.
    counts : ndarray of int64, shape (V,)
    key_to_index : dict
    """

    index_to_key: list[str]
    counts: NDArray[np.int64]

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if self.counts.shape != (len(self.index_to_key),):
            raise ValueError("counts must hold one count per word")
        self.key_to_index = {word: i for i, word in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("the vocabulary holds a word twice")

    def __len__(self) -> int:
        return len(self.index_to_key)


def build_vocabulary(raw: RawCounts, min_count: int, trim_rule=None, *,
                     sorted_vocab: bool = True, null_word: bool = False) -> Vocabulary:
    """Keep the words counted at least ``min_count`` times, sorted by descending count.

    ``trim_rule(word, count, min_count)``, if given, may keep or discard a word whatever its
    count (:func:`keep_word`, gensim's semantics).  ``sorted_vocab=False`` keeps the order of
    first occurrence instead (gensim's ``sorted_vocab=0``); ``null_word`` appends
    :data:`NULL_WORD` with count 1 before the sort, as gensim's ``null_word=1``.

    Raises
    ------
    EmptyVocabularyError
        If the corpus holds no word at all, or no word reaches ``min_count`` (a ``ValueError``,
        and a ``RuntimeError`` as gensim raises).
    ValueError
        ``null_word`` with a corpus that holds the token ``"\\0"``.
    TypeError
        If a word is not a ``str`` (checked once per distinct word, not per token).
    """
    if raw.total_words == 0:
        raise EmptyVocabularyError("the corpus is empty: it holds no words")
    for word in raw.counts:  # once per distinct word (None included: it is no str either)
        if not isinstance(word, str):
            raise TypeError(
                f"words must be str, got {type(word).__name__} {word!r}; "
                "convert the tokens first (e.g. [str(t) for t in sentence])"
            )
    # str(word): a NumPy string token (np.str_) becomes a plain str key, as after save/load
    kept = [(str(word), n) for word, n in raw.counts.items()
            if keep_word(word, n, min_count, trim_rule)]
    if not raw.counts:  # the corpus had words, the max_vocab_size pruning dropped them all
        raise EmptyVocabularyError(
            f"max_vocab_size pruned every word while counting ({raw.total_words} words read, "
            f"pruning at counts below {raw.min_reduce - 1}): the vocabulary would be empty; "
            "raise max_vocab_size or leave it None"
        )
    if not kept:
        top = max(raw.counts.values(), default=0)
        raise EmptyVocabularyError(
            f"no word occurs at least min_count={min_count} times ({len(raw.counts)} distinct "
            f"words, the most frequent occurs {top} times): the vocabulary would be empty; "
            "lower min_count"
        )
    if null_word:
        if NULL_WORD in raw.counts:
            raise ValueError("null_word=1 adds the padding word '\\0', but the corpus holds the "
                             "token '\\0' itself: remove it from the text, or use null_word=0")
        kept.append((NULL_WORD, 1))
    if not sorted_vocab:
        return Vocabulary([w for w, _ in kept], np.array([n for _, n in kept], dtype=np.int64))
    # Descending count; equal counts in *reverse* order of first occurrence, as gensim 4 sorts
    # (``np.lexsort((-indices, -counts))``), so that both give the same vocabulary order.
    order = np.lexsort((-np.arange(len(kept)), -np.array([n for _, n in kept], dtype=np.int64)))
    kept = [kept[i] for i in order]
    return Vocabulary([w for w, _ in kept], np.array([n for _, n in kept], dtype=np.int64))


def keep_probabilities(counts: NDArray[np.integer], sample: float) -> NDArray[np.float32]:
    r"""Probability of keeping each occurrence of a word under frequent-word subsampling.

    ``keep = min(1, (sqrt(n / t) + 1) * t / n)`` with threshold count ``t = sample * total``

    Parameters
    ----------
    counts : array_like of int, shape (V,)
        Counts :math:`n_w` of the words kept in the vocabulary; ``total`` is their sum.
    sample : float >= 0
        word2vec's ``sample``; 0 disables subsampling (every probability is 1).  A value >= 1 is
        gensim's shorthand for an absolute count: ``t = int(sample * (3 + sqrt(5)) / 2)``, exactly
        as gensim 4 computes it.

    Returns
    -------
    keep : ndarray of float32, shape (V,), entries in (0, 1]

    Notes
    -----
    With the frequency :math:`f_w = n_w/T` this is word2vec.c's and gensim's
    :math:`P(\text{keep } w) = \left(\sqrt{f_w/s} + 1\right) s / f_w`, capped at 1: words rarer
    than about :math:`s` are always kept, a word of frequency :math:`f \gg s` is kept with
    probability about :math:`\sqrt{s/f}`.
    """
    n = np.asarray(counts, dtype=np.float64)
    if sample < 0:
        raise ValueError(f"sample must be >= 0, got {sample}")
    if sample == 0 or n.size == 0:
        return np.ones(n.shape, dtype=np.float32)
    if sample < 1.0:
        threshold = sample * n.sum()  # word2vec.c: a fraction of the words kept by min_count
    else:
        threshold = float(int(sample * (3 + np.sqrt(5)) / 2))  # gensim's ``sample >= 1``
    keep = (np.sqrt(n / threshold) + 1.0) * (threshold / n)
    return np.minimum(keep, 1.0).astype(np.float32)


def noise_cum_table(counts: NDArray[np.integer], power: float = 0.75) -> NDArray[np.int64]:
    r"""Cumulative table of the noise distribution :math:`P_n(w) \propto n_w^{0.75}`.

    ``table[i] = round(sum_{j <= i} n_j**power / sum_j n_j**power * (2**31 - 1))``

    Returns
    -------
    table : ndarray of int64, shape (V,), non-decreasing, ``table[-1] == 2**31 - 1``

    Notes
    -----
    A negative is drawn as ``searchsorted(table, r, side="right")`` for ``r`` uniform in
    ``[0, table[-1])`` (:func:`sample_negatives`): word :math:`i` is drawn with probability
    :math:`(t_i - t_{i-1})/t_{V-1} \approx P_n(i)`.  Same table as gensim's ``cum_table``.
    """
    with np.errstate(over="ignore"):
        weights = np.asarray(counts, dtype=np.float64) ** power
        total = weights.sum()
    if weights.size == 0 or not total > 0:
        raise ValueError("the noise distribution needs at least one word with a positive count")
    if not np.isfinite(total):
        raise ValueError(f"the noise distribution overflows with the exponent {power!r} "
                         "(ns_exponent): counts**ns_exponent must stay below 1e308")
    cumulative = np.cumsum(weights) / total
    table = np.round(cumulative * NOISE_TABLE_DOMAIN).astype(np.int64)
    table[-1] = NOISE_TABLE_DOMAIN  # exact, whatever the rounding of the cumulative sum
    return table


def sample_negatives(
    cum_table: NDArray[np.int64], n: int, rng: np.random.Generator
) -> NDArray[np.intp]:
    """Draw ``n`` words from the noise distribution, independently, *with* replacement.

    No word is excluded here; the training path skips a draw equal to the positive target.
    """
    r = rng.integers(0, cum_table[-1], size=n)
    return np.searchsorted(cum_table, r, side="right")


def reduced_windows(n: int, window: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Effective window of each of ``n`` centers: uniform in ``[1, window]`` (word2vec's ``b``).

    Drawing a smaller window per center weights a context word at distance ``k`` by
    ``(window - k + 1) / window``: near words count more, without a weight in the loss.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    return rng.integers(1, window + 1, size=n)


# ----------------------------------------------------------------------------------------------
# the Huffman tree of hierarchical softmax
# ----------------------------------------------------------------------------------------------


class WordPaths(Sequence):
    """Read-only per-word view of a flat array: ``paths[w]`` is word ``w``'s slice, root first."""

    def __init__(self, flat: NDArray, offsets: NDArray[np.int64]):
        self._flat, self._offsets = flat, offsets

    def __len__(self) -> int:
        return self._offsets.size - 1

    def __getitem__(self, word):
        if not isinstance(word, (int, np.integer)):
            raise TypeError(f"index a word by an int, got {type(word).__name__}")
        if not -len(self) <= word < len(self):
            raise IndexError(f"word {word} out of range for {len(self)} words")
        word = int(word) % len(self)
        return self._flat[self._offsets[word] : self._offsets[word + 1]]


@dataclass(frozen=True)
class HuffmanTree:
    r"""The binary Huffman tree of hierarchical softmax: each word's path from the root.

    Word :math:`w` (a leaf) is reached from the root through the inner nodes
    ``points[w][0] = V - 2`` (the root), ..., ``points[w][L_w - 1]`` (its parent), turning to the
    child ``codes[w][j]`` (0 or 1) at node ``points[w][j]``.  Inner nodes are numbered ``0 .. V-2``
    in the order they were merged (row ``n`` of the node vectors, gensim's ``syn1``, belongs to
    node ``n``; with ``V`` rows, as gensim allocates, the last row is never used).

    Attributes
    ----------
    code_flat : ndarray of uint8, shape (N,)
        Every word's code, concatenated in word order (``N`` = sum of the path lengths).
    point_flat : ndarray of int32, shape (N,)
        Every word's inner nodes, concatenated likewise.
    offsets : ndarray of int64, shape (V + 1,)
        Word ``w``'s path is ``[offsets[w], offsets[w + 1])`` of the flat arrays.
    """

    code_flat: NDArray[np.uint8]
    point_flat: NDArray[np.int32]
    offsets: NDArray[np.int64]

    @property
    def codes(self) -> WordPaths:
        """``codes[w]``: word ``w``'s 0/1 turns, root first (gensim's ``'code'`` vecattr)."""
        return WordPaths(self.code_flat, self.offsets)

    @property
    def points(self) -> WordPaths:
        """``points[w]``: word ``w``'s inner nodes, root first (gensim's ``'point'``)."""
        return WordPaths(self.point_flat, self.offsets)

    @property
    def lengths(self) -> NDArray[np.int64]:
        """Path length (depth) of each word, shape (V,)."""
        return np.diff(self.offsets)

    def path_entries(self, words: NDArray[np.integer]) -> tuple[NDArray[np.int64],
                                                                 NDArray[np.int64]]:
        """Where the paths of ``words`` (n,) lie in the flat arrays, concatenated in that order:
        ``(flat (N,), lengths (n,))``, ``code_flat[flat]`` and ``point_flat[flat]`` being the
        words' codes and nodes one after the other (``N = lengths.sum()``)."""
        words = np.asarray(words, dtype=np.int64)
        lengths = self.lengths[words]
        starts = np.cumsum(lengths) - lengths  # where each word's path starts in the result
        # a word's old start plus the entry's rank within its path
        rank = np.arange(lengths.sum()) - np.repeat(starts, lengths)
        return np.repeat(self.offsets[words], lengths) + rank, lengths

    def reordered(self, order: NDArray[np.integer]) -> HuffmanTree:
        """The same tree with the words renumbered: word ``i`` of the result is word
        ``order[i]`` of this one (its code and inner nodes unchanged), shape of ``order`` (V,)."""
        flat, lengths = self.path_entries(order)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return HuffmanTree(self.code_flat[flat], self.point_flat[flat], offsets)


class _HeapNode:
    """A heap entry ordered by count *only*, as gensim's ``Heapitem``: equal counts keep the
    order that ``heapq`` happens to leave them in, which is what gensim's tree depends on."""

    __slots__ = ("count", "index")

    def __init__(self, count: int, index: int):
        self.count, self.index = count, index

    def __lt__(self, other: _HeapNode) -> bool:
        return self.count < other.count


def _huffman_merges_reference(counts: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    """gensim's ``_build_heap`` with ``heapq``: each node's parent and its bit (child 0 or 1).

    Node ids: words ``0 .. V-1``, the ``i``-th merge creates node ``V + i``.
    """
    n_words = counts.size
    parent = np.zeros(2 * n_words - 1, dtype=np.int64)
    bit = np.zeros(2 * n_words - 1, dtype=np.uint8)
    heap = [_HeapNode(int(n), w) for w, n in enumerate(counts)]
    heapq.heapify(heap)
    for i in range(n_words - 1):
        min1, min2 = heapq.heappop(heap), heapq.heappop(heap)
        node = n_words + i
        parent[min1.index] = parent[min2.index] = node
        bit[min2.index] = 1  # min1 is child 0, min2 child 1
        heapq.heappush(heap, _HeapNode(min1.count + min2.count, node))
    return parent, bit


def huffman_tree(counts: NDArray[np.integer]) -> HuffmanTree:
    r"""Build the Huffman tree of the vocabulary from its counts, exactly as gensim 4 does.

    ``repeat V - 1 times: merge the two least frequent nodes (first popped -> code 0)``

    Parameters
    ----------
    counts : array_like of int, shape (V,), V >= 1
        Word counts in vocabulary order (descending, as :func:`build_vocabulary` sorts them).

    Returns
    -------
    HuffmanTree
        With ``V == 1`` the single word has an empty path (hierarchical softmax then has no term
        to train).

    Notes
    -----
    gensim's ``_build_heap``: a binary heap (``heapq``) of the words, compared by count alone;
    :math:`V - 1` times the two smallest nodes ``min1``, ``min2`` are popped and merged into
    inner node :math:`i` (counts added), ``min1`` its child 0 and ``min2`` its child 1, so the
    root is inner node :math:`V - 2`.  Which of several equal counts is popped first is decided by
    ``heapq``'s sift order; replaying the same heap operations on the same comparison gives the
    same tree, ties included.  Frequent words end up near the root: the expected path length is
    within one node of the entropy of the word distribution (Huffman's optimality), so a loss
    term costs :math:`O(\log V)` dot products instead of the full softmax's :math:`V`.

    Cost: :math:`O(V \log V)` heap operations and :math:`O(N)` to write the paths (``N`` their
    total length), compiled (:mod:`nnbasics._accel.huffman`, the same heap operations as
    ``heapq``; ``_huffman_tree_reference`` is the same with ``heapq`` and NumPy).
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    n_words = counts.size
    if n_words < 1:
        raise ValueError("the Huffman tree needs at least one word")
    try:
        from nnbasics._accel.huffman import huffman_paths
    except ImportError:  # numba unavailable: the same tree with heapq and NumPy
        return _huffman_tree_reference(counts)
    return HuffmanTree(*huffman_paths(np.ascontiguousarray(counts)))


def _huffman_tree_reference(counts: NDArray[np.int64]) -> HuffmanTree:
    """:func:`huffman_tree` with ``heapq`` and NumPy: the readable path, and the fallback."""
    n_words = counts.size
    parent, bit = _huffman_merges_reference(counts)
    root = 2 * n_words - 2  # node ids: words 0..V-1, the i-th merge is node V + i
    lengths = _walk_to_root(parent, root, n_words)
    offsets = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    code_flat = np.zeros(offsets[-1], dtype=np.uint8)
    point_flat = np.zeros(offsets[-1], dtype=np.int32)
    position = offsets[1:] - 1  # where each word's next entry goes: paths are written backwards

    def write(words, node):  # node: the current node of each of words, not yet the root
        code_flat[position[words]] = bit[node]
        point_flat[position[words]] = parent[node] - n_words
        position[words] -= 1

    _walk_to_root(parent, root, n_words, write)
    return HuffmanTree(code_flat, point_flat, offsets)


def _walk_to_root(parent, root, n_words, visit=None) -> NDArray[np.int64]:
    """Walk every leaf up to the root at once (one vectorised step per level); return the depths.

    ``visit(words, nodes)``, if given, is called at each step with the words still walking and
    their current nodes (leaf first, the root's children last).
    """
    lengths = np.zeros(n_words, dtype=np.int64)
    node = np.arange(n_words, dtype=np.int64)
    words = np.flatnonzero(node != root)  # with one word, the leaf is the root
    while words.size:
        if visit is not None:
            visit(words, node[words])
        node[words] = parent[node[words]]
        lengths[words] += 1
        words = words[node[words] != root]
    return lengths
