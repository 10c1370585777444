"""Vocabulary decisions from raw counts: the report of gensim's ``prepare_vocab``, and online
growth (``build_vocab(update=True)``).

Shape letters: ``V`` words in the vocabulary before the update, ``V'`` after.

Online growth follows gensim 4: every word already in the vocabulary adds its count in the new
corpus, whatever that count; an unknown word is appended at the end of the vocabulary (indices
of existing words never move, so trained vectors stay where they are) if it passes ``min_count``
(or the ``trim_rule``) *in the new corpus alone*, and is ignored otherwise.

Subsampling follows gensim 4 too: the words that pass ``min_count`` in the new corpus, known or
new, get keep probabilities computed from their counts *in the new corpus* and its retained total
(the corpus the update trains on); the other words keep theirs.  Recomputed from the merged
counts instead, the frequent words of a small update corpus are hardly thinned, and on gensim's
own online test (lee_background without, then with, the lines holding "terrorism"; CBOW, hs)
"war" and "terrorism" ended with a positive cosine for 6 seeds of 20 instead of 20 of 20.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nnbasics.word2vec.vocab import RawCounts, keep_probabilities, keep_word

__all__ = ["VocabUpdate", "merge_counts", "vocab_report"]


@dataclass(frozen=True)
class VocabUpdate:
    """What an update does to a vocabulary of ``V`` words.

    Attributes
    ----------
    counts : ndarray of int64, shape (V,)
        The existing words' counts plus their counts in the new corpus (all of them: ``min_count``
        and ``trim_rule`` decide only which new words join, as in gensim).
    new_words : list of str
        Words to append, in order of first occurrence in the new corpus.
    new_counts : ndarray of int64, shape (len(new_words),)
    retained : ndarray of int64, shape (R,)
        Indices, in the grown vocabulary (``V'`` words, the new ones appended), of the words
        that pass ``min_count`` (or the ``trim_rule``) in the new corpus, known and new.
    retained_counts : ndarray of int64, shape (R,)
        Their counts in the new corpus.
    """

    counts: NDArray[np.int64]
    new_words: list[str]
    new_counts: NDArray[np.int64]
    retained: NDArray[np.int64]
    retained_counts: NDArray[np.int64]

    def keep_probabilities(self, previous: NDArray[np.float32],
                           sample: float) -> NDArray[np.float32]:
        """The subsampling table after the update, shape (V',): ``previous`` (V,) for the words
        not retained in the new corpus, ``keep_probabilities(retained_counts, sample)`` for the
        retained ones (gensim's ``prepare_vocab(update=True)``), new words not retained 1."""
        keep = np.concatenate([np.asarray(previous, dtype=np.float32),
                               np.ones(len(self.new_words), dtype=np.float32)])
        keep[self.retained] = keep_probabilities(self.retained_counts, sample)
        return keep


def merge_counts(key_to_index: dict[str, int], counts: NDArray[np.integer], raw: RawCounts,
                 min_count: int, trim_rule=None) -> VocabUpdate:
    """Counts after adding the new corpus ``raw`` to a vocabulary (gensim's ``update=True``).

    A known word adds its new count even below ``min_count`` (gensim adds ``raw_vocab.get(word,
    0)`` to every word's count); ``min_count`` and ``trim_rule`` choose the new words only.

    Raises ``TypeError`` for a word that is not a ``str``.
    """
    updated = np.array(counts, dtype=np.int64, copy=True)
    new_words: list[str] = []
    new_counts: list[int] = []
    retained: list[int] = []
    retained_counts: list[int] = []
    for word, n in raw.counts.items():
        if not isinstance(word, str):
            raise TypeError(f"words must be str, got {type(word).__name__} {word!r}")
        index = key_to_index.get(word)
        kept = keep_word(word, n, min_count, trim_rule)
        if index is not None:
            updated[index] += n
        elif kept:
            index = len(updated) + len(new_words)
            new_words.append(str(word))
            new_counts.append(n)
        if kept:
            retained.append(index)
            retained_counts.append(n)
    return VocabUpdate(updated, new_words, np.array(new_counts, dtype=np.int64),
                       np.array(retained, dtype=np.int64),
                       np.array(retained_counts, dtype=np.int64))


def vocab_report(raw: RawCounts, min_count: int, sample: float, trim_rule=None,
                 known: dict[str, int] | None = None) -> dict[str, int]:
    """The figures gensim's ``prepare_vocab`` returns for ``raw`` counted at ``min_count``.

    Returns
    -------
    dict with ``drop_unique``/``drop_total`` (distinct words and occurrences dropped),
    ``retain_total`` and ``num_retained_words`` (kept), ``downsample_unique`` (kept words
    that subsampling thins, keep probability < 1) and ``downsample_total`` (the expected number
    of their occurrences left after subsampling, the other words' counted whole, as gensim's
    figure: ``sum(min(1, keep_w) * n_w)``, rounded down).  With ``known`` (an update): also
    ``new_words``/``pre_exist_words`` and their totals.
    """
    kept = {w: n for w, n in raw.counts.items() if keep_word(w, n, min_count, trim_rule)}
    dropped = [n for w, n in raw.counts.items() if w not in kept]
    retained = np.fromiter(kept.values(), dtype=np.int64, count=len(kept))
    keep = keep_probabilities(retained, sample).astype(np.float64)
    report = {
        "drop_unique": len(dropped),
        "drop_total": int(sum(dropped)),
        "retain_total": int(retained.sum()),
        "num_retained_words": len(kept),
        "downsample_unique": int(np.count_nonzero(keep < 1.0)),
        "downsample_total": int(np.sum(keep * retained)),
    }
    if known is not None:
        new = [n for w, n in kept.items() if w not in known]
        report.update(new_words=len(new), new_total=int(sum(new)),
                      pre_exist_words=len(kept) - len(new),
                      pre_exist_total=report["retain_total"] - int(sum(new)))
    return report
