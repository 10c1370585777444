r"""The vocabulary: word counts, pruning, frequent-word subsampling, noise distribution, windows.

Shape letter: ``V`` words kept in the vocabulary, indexed ``0 .. V-1`` by descending count (ties in
reverse order of first occurrence), the order of gensim 4's ``sorted_vocab=1``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "NOISE_TABLE_DOMAIN",
    "Vocabulary",
    "build_vocabulary",
    "count_words",
    "keep_probabilities",
    "noise_cum_table",
    "reduced_windows",
    "sample_negatives",
]

#: The last entry of the cumulative noise table, as gensim's ``cum_table`` (2**31 - 1).
NOISE_TABLE_DOMAIN = 2**31 - 1


@dataclass(frozen=True)
class RawCounts:
    """What one pass over the corpus found: counts per word in order of first occurrence."""

    counts: dict[str, int]
    total_words: int  # every token seen, including words later dropped by min_count
    n_sentences: int
    min_reduce: int  # the count below which words were pruned during the scan (1 if never)


def count_words(sentences: Iterable[Sequence[str]], max_vocab_size: int | None = None) -> RawCounts:
    """Count the words of a corpus in one pass, pruning rare words if the count table grows large.

    Parameters
    ----------
    sentences : iterable of sequences of str
    max_vocab_size : int or None
        As gensim's: whenever the table holds more than this many distinct words (checked after
        each sentence), every word with a count below ``min_reduce`` is dropped and ``min_reduce``
        (starting at 1) grows by one.  Pruned words may come back later with a fresh count.

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
        counts.update(sentence)  # counting happens in C, not in a Python loop over words
        total_words += len(sentence)
        n_sentences += 1
        if max_vocab_size is not None and len(counts) > max_vocab_size:
            for word in [w for w, n in counts.items() if n < min_reduce]:
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


def build_vocabulary(raw: RawCounts, min_count: int) -> Vocabulary:
    """Keep the words counted at least ``min_count`` times, sorted by descending count.

    Raises
    ------
    ValueError
        If the corpus holds no word at all, or no word reaches ``min_count``.
    TypeError
        If a word is not a ``str`` (checked once per distinct word, not per token).
    """
    if raw.total_words == 0:
        raise ValueError("the corpus is empty: it holds no words")
    not_text = next((w for w in raw.counts if not isinstance(w, str)), None)
    if not_text is not None:
        raise TypeError(
            f"words must be str, got {type(not_text).__name__} {not_text!r}; "
            "convert the tokens first (e.g. [str(t) for t in sentence])"
        )
    kept = [(word, n) for word, n in raw.counts.items() if n >= min_count]
    if not kept:
        top = max(raw.counts.values(), default=0)
        raise ValueError(
            f"no word occurs at least min_count={min_count} times ({len(raw.counts)} distinct "
            f"words, the most frequent occurs {top} times): the vocabulary would be empty; "
            "lower min_count"
        )
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
    weights = np.asarray(counts, dtype=np.float64) ** power
    if weights.size == 0 or not weights.sum() > 0:
        raise ValueError("the noise distribution needs at least one word with a positive count")
    cumulative = np.cumsum(weights) / weights.sum()
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
