r"""Word vectors with gensim's query API: ``most_similar``, analogies, evaluation, file formats.

Shape letters: ``V`` words, ``d`` vector size.  Similarities are cosines
:math:`\cos(a, b) = a^\top b / (\lVert a\rVert \lVert b\rVert)`, computed on unit vectors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.word2vec.correlation import CorrelationResult, pearson, spearman
from nnbasics.word2vec.formats import read_word2vec_format, write_word2vec_format

_KIND = "keyedvectors"  # the kind of nnbasics file :meth:`KeyedVectors.save` writes

__all__ = ["KeyedVectors"]

Key = str
Query = Key | ArrayLike


def _unit_rows(x: NDArray) -> NDArray[np.float32]:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class KeyedVectors:
    """A vocabulary of words (keys) and one vector per word.

    Parameters
    ----------
    index_to_key : sequence of str, length V
        The words, most frequent first when they come from training.
    vectors : array_like, shape (V, d)
        Stored as float32.
    counts : array_like of int, shape (V,), optional
        Corpus counts (kept by training; files in word2vec format do not hold them).

    Attributes
    ----------
    index_to_key : list of str
    key_to_index : dict mapping str to int
    vectors : ndarray of float32, shape (V, d)
    """

    def __init__(self, index_to_key: Sequence[str], vectors: ArrayLike, counts: ArrayLike = None):
        self.index_to_key = list(index_to_key)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.index_to_key):
            raise ValueError(
                f"need one row of vectors per key: {len(self.index_to_key)} keys, vectors of "
                f"shape {self.vectors.shape}"
            )
        self.key_to_index = {key: i for i, key in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("a key appears twice in index_to_key")
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self._normed: NDArray[np.float32] | None = None

    # -- lookup ------------------------------------------------------------------------------

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key: object) -> bool:
        return key in self.key_to_index

    def get_index(self, key: Key | int) -> int:
        """Index of ``key``; an int in ``[0, V)`` is its own index (as gensim); else KeyError."""
        try:
            index = self.key_to_index.get(key)  # a key first, whatever its type (as gensim)
        except TypeError:  # unhashable
            index = None
        if index is not None:
            return index
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) \
                and 0 <= key < len(self.index_to_key):
            return int(key)
        raise KeyError(f"word {key!r} not in vocabulary")

    def __getitem__(self, key: Key | int | Iterable[Key | int]) -> NDArray[np.float32]:
        """The vector of a word or index (d,), or the vectors of a list of them (n, d)."""
        if isinstance(key, (str, int, np.integer)):
            return self.vectors[self.get_index(key)]
        return self.vectors[[self.get_index(k) for k in key]]

    def get_vector(self, key: Key, norm: bool = False) -> NDArray[np.float32]:
        """The vector of ``key``, scaled to unit length if ``norm``."""
        return self.get_normed_vectors()[self.get_index(key)] if norm else self[key]

    def get_normed_vectors(self) -> NDArray[np.float32]:
        """All vectors scaled to unit length (V, d), computed once and cached."""
        if self._normed is None or self._normed.shape != self.vectors.shape:
            self._normed = _unit_rows(self.vectors)
        return self._normed

    def fill_norms(self, force: bool = False) -> None:
        """Forget cached unit vectors (call after changing ``vectors`` in place)."""
        self._normed = None

    # -- similarity queries -------------------------------------------------------------------

    def similarity(self, w1: Key, w2: Key) -> float:
        """Cosine similarity of two words."""
        return float(np.dot(self.get_vector(w1, norm=True), self.get_vector(w2, norm=True)))

    def most_similar(
        self,
        positive: Query | Sequence[Query] | None = None,
        negative: Query | Sequence[Query] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | NDArray[np.float32]:
        r"""Words closest (by cosine) to the mean of the positive minus the negative words.

        ``query = unit(sum(w_i * unit(x_i)))``, ``w_i = +1`` for positive and ``-1`` for negative

        Parameters
        ----------
        positive, negative : word, vector, or list of them
            Words count with weight +1 / -1 on their unit vectors; raw vectors as given.  An item
            may also be a ``(word or vector, weight)`` pair, as in gensim.
        topn : int or None, default 10
            How many results (none if < 1); ``None`` returns the array of all V similarities
            instead.
        restrict_vocab : int, optional
            Search only the first ``restrict_vocab`` words (the most frequent).

        Returns
        -------
        list of (word, cosine similarity), best first, the query words left out

        Examples
        --------
        >>> kv = KeyedVectors(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> kv.most_similar("a", topn=1)[0][0]
        'b'
        """
        positive = _as_list(positive)
        negative = _as_list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word")
        normed = self.get_normed_vectors()
        terms = []
        exclude = set()
        for items, default_weight in ((positive, 1.0), (negative, -1.0)):
            for item in items:
                weight = default_weight
                if isinstance(item, tuple) and len(item) == 2:  # (key or vector, weight)
                    item, weight = item
                if isinstance(item, (str, int, np.integer)):  # a word or a word's index
                    index = self.get_index(item)
                    terms.append(weight * normed[index])
                    exclude.add(index)
                else:
                    terms.append(weight * np.asarray(item, dtype=np.float32))
        query = _unit_rows(np.mean(terms, axis=0, dtype=np.float32))
        limit = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        sims = normed[:limit] @ query  # (limit,)
        if topn is None:
            return sims
        if int(topn) < 1:
            return []
        return self._best(sims, exclude, int(topn))

    def _best(self, sims: NDArray, exclude: set[int], topn: int) -> list[tuple[str, float]]:
        """The ``topn`` highest similarities, skipping the indices in ``exclude``."""
        k = min(topn + len(exclude), sims.size)
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        best = [(self.index_to_key[i], float(sims[i])) for i in top.tolist() if i not in exclude]
        return best[:topn]

    def similar_by_word(self, word: Key, topn: int | None = 10,
                        restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """``most_similar(positive=[word], ...)`` (gensim's name)."""
        return self.most_similar([word], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(self, vector: ArrayLike, topn: int | None = 10,
                          restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The words closest to a raw vector (d,) (gensim's name); no word is left out."""
        return self.most_similar([np.asarray(vector, dtype=np.float32)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def distance(self, w1: Key, w2: Key) -> float:
        """Cosine distance ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    def distances(self, word_or_vector: Key | ArrayLike,
                  other_words: Sequence[Key] = ()) -> NDArray[np.float32]:
        """Cosine distances from a word or vector to ``other_words`` (all words if empty)."""
        if isinstance(word_or_vector, (str, int, np.integer)):
            query = self.get_vector(word_or_vector, norm=True)
        else:
            query = _unit_rows(np.asarray(word_or_vector, dtype=np.float32))
        normed = self.get_normed_vectors()
        rows = normed if not other_words else normed[[self.get_index(w) for w in other_words]]
        return (1.0 - rows @ query).astype(np.float32)

    def n_similarity(self, ws1: Sequence[Key], ws2: Sequence[Key]) -> float:
        """Cosine similarity of the means of two sets of words' vectors (as gensim: the raw
        vectors are averaged, words without a vector left out, then the means compared)."""
        means = []
        for words in (ws1, ws2):
            known = [w for w in words if self.has_index_for(w)]
            if not known:
                raise ValueError(f"n_similarity: no word of {list(words)!r} has a vector")
            means.append(np.mean(self[known], axis=0))
        return float(_unit_rows(means[0]) @ _unit_rows(means[1]))

    def closer_than(self, key1: Key, key2: Key) -> list[str]:
        """The words closer to ``key1`` than ``key2`` is (``key1`` itself left out)."""
        distances = self.distances(key1)
        first, second = self.get_index(key1), self.get_index(key2)
        closer = np.flatnonzero(distances < distances[second])
        return [self.index_to_key[i] for i in closer.tolist() if i != first]

    def rank(self, key1: Key, key2: Key) -> int:
        """Rank of ``key2`` among the words by closeness to ``key1`` (1: the closest)."""
        return len(self.closer_than(key1, key2)) + 1

    def has_index_for(self, key: object) -> bool:
        """Whether ``key`` has a vector (a word of the vocabulary, or an index in range)."""
        try:
            self.get_index(key)
        except KeyError:
            return False
        return True

    def get_vecattr(self, key: Key, attr: str) -> int:
        """A per-word attribute, as gensim's: only ``"count"`` (the corpus count) is kept."""
        if attr != "count":
            raise KeyError(f"no attribute {attr!r}: KeyedVectors keeps only 'count'")
        if self.counts is None:
            raise KeyError("these vectors have no counts (word2vec files do not hold them)")
        return int(self.counts[self.get_index(key)])

    def doesnt_match(self, words: Sequence[Key]) -> str:
        """The word of ``words`` farthest from their mean (out-of-vocabulary words ignored)."""
        used = [w for w in words if w in self]
        if not used:
            raise ValueError("doesnt_match: none of the words is in the vocabulary")
        unit = self.get_normed_vectors()[[self.key_to_index[w] for w in used]]
        mean = _unit_rows(unit.mean(axis=0))
        return used[int(np.argmin(unit @ mean))]

    # -- evaluation ---------------------------------------------------------------------------

    def _ok_vocab(self, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
        """Words allowed in evaluation ; a case variant maps to its most frequent form."""
        ok_keys = self.index_to_key[:restrict_vocab]
        if case_insensitive:
            return {k.upper(): self.key_to_index[k] for k in reversed(ok_keys)}
        return {k: self.key_to_index[k] for k in reversed(ok_keys)}

    def evaluate_word_analogies(
        self,
        analogies: str | os.PathLike,
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[float, list[dict]]:
        r"""Accuracy on analogies "a is to b as c is to d" in Google's questions-words format.

        The answer is the word closest to :math:`\mathrm{unit}(b) - \mathrm{unit}(a) +
        \mathrm{unit}(c)` (3CosAdd) among the first ``restrict_vocab`` words, ``a``, ``b``, ``c``
        excluded.  Questions with a word outside those are skipped (or counted wrong with
        ``dummy4unknown``), as gensim does.

        Returns
        -------
        score : float
            Correct / (correct + incorrect) over all sections (0 if nothing was evaluated).
        sections : list of dict
            One dict per ``: section`` of the file, with keys ``"section"``, ``"correct"`` and
            ``"incorrect"`` (lists of the (a, b, c, expected) questions), then a last one
            ``"Total accuracy"``; the same shape as gensim's.
        """
        ok_vocab = self._ok_vocab(restrict_vocab, case_insensitive)
        normed = self.get_normed_vectors()[:restrict_vocab]
        sections: list[dict] = []
        section: dict | None = None
        # questions in file order: (section, question, indices of a, b, c or None if unknown)
        questions: list[tuple[dict, tuple[str, str, str, str], tuple[int, int, int] | None]] = []
        with open(analogies, "rb") as handle:
            for line_no, raw in enumerate(handle):
                line = _decode_line(raw, analogies, line_no)
                if line.startswith(": "):
                    if section:
                        sections.append(section)
                    section = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
                    continue
                if section is None:
                    raise ValueError(
                        f"missing section header before line #{line_no} in {analogies}"
                    )
                words = [w.upper() if case_insensitive else w for w in line.split()]
                if len(words) != 4:
                    continue  # gensim skips malformed lines too
                a, b, c, expected = words
                known = all(w in ok_vocab for w in words)
                if known or dummy4unknown:
                    indices = (ok_vocab[a], ok_vocab[b], ok_vocab[c]) if known else None
                    questions.append((section, (a, b, c, expected), indices))
        answered = [indices for _, _, indices in questions if indices is not None]
        top5 = iter(_analogy_candidates(normed, np.array(answered, dtype=np.int64).reshape(-1, 3)))
        for section_of, (a, b, c, expected), indices in questions:
            if indices is None:  # dummy4unknown: an unknown word counts as a wrong answer
                section_of["incorrect"].append((a, b, c, expected))
                continue
            predicted = None
            for i in next(top5):  # gensim: the best of the top 5 not equal to a, b or c
                key = self.index_to_key[i]
                predicted = key.upper() if case_insensitive else key
                if predicted in ok_vocab and predicted not in {a, b, c}:
                    break
            outcome = "correct" if predicted == expected else "incorrect"
            section_of[outcome].append((a, b, c, expected))
        if section:
            sections.append(section)
        total = {
            "section": "Total accuracy",
            "correct": list(chain.from_iterable(s["correct"] for s in sections)),
            "incorrect": list(chain.from_iterable(s["incorrect"] for s in sections)),
        }
        n_answered = len(total["correct"]) + len(total["incorrect"])
        score = len(total["correct"]) / n_answered if n_answered else 0.0
        sections.append(total)
        return score, sections

    def evaluate_word_pairs(
        self,
        pairs: str | os.PathLike,
        delimiter: str = "\t",
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[CorrelationResult, CorrelationResult, float]:
        """Correlation of cosine similarities with human judgements (e.g. WordSim-353).

        The file holds ``word1<delimiter>word2<delimiter>score`` lines; lines starting with ``#``
        and malformed lines are skipped.

        Returns
        -------
        pearson : CorrelationResult ``(statistic, pvalue)``
            Pearson's r between the judgements and the cosines, two-sided p-value.
        spearman : CorrelationResult ``(statistic, pvalue)``
            Spearman's rho (ties get average ranks) and its p-value.
        oov_ratio : float
            Percentage of pairs with a word outside the first ``restrict_vocab`` words (of all
            pairs read, or of the pairs scored if ``dummy4unknown``, as gensim counts it).

        Notes
        -----
        The same values and shapes as gensim's (``scipy.stats.pearsonr``/``spearmanr`` results,
        pairs that unpack as ``r, p``), computed by :mod:`nnbasics.word2vec.correlation` without
        SciPy.
        """
        ok_vocab = self._ok_vocab(restrict_vocab, case_insensitive)
        normed = self.get_normed_vectors()
        gold: list[float] = []
        model: list[float] = []
        oov = 0
        with open(pairs, "rb") as handle:
            for line_no, raw in enumerate(handle):
                line = _decode_line(raw, pairs, line_no)
                if not line or line.startswith("#"):
                    continue
                try:
                    a, b, score = line.split(delimiter)
                    score = float(score)
                except ValueError:
                    continue
                if case_insensitive:
                    a, b = a.upper(), b.upper()
                if a not in ok_vocab or b not in ok_vocab:
                    oov += 1
                    if dummy4unknown:
                        gold.append(score)
                        model.append(0.0)
                    continue
                gold.append(score)
                model.append(float(np.dot(normed[ok_vocab[a]], normed[ok_vocab[b]])))
        if len(gold) < 2:
            raise ValueError(f"{pairs}: fewer than 2 word pairs with both words in the vocabulary")
        oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
        return pearson(gold, model), spearman(gold, model), oov_ratio

    # -- files --------------------------------------------------------------------------------

    def save_word2vec_format(self, fname: str | os.PathLike, binary: bool = False) -> None:
        """Write the vectors in word2vec's text or binary format (as gensim writes it)."""
        write_word2vec_format(fname, self.index_to_key, self.vectors, binary=binary)

    @classmethod
    def load_word2vec_format(cls, fname: str | os.PathLike, binary: bool = False,
                             limit: int | None = None, no_header: bool = False) -> KeyedVectors:
        """Read vectors from word2vec's text or binary format; ``ValueError`` if corrupt.

        ``limit``: only the first ``limit`` vectors (gensim's option, for large pretrained sets).
        ``no_header``: a text file without the ``"<V> <d>"`` line, as GloVe's (gensim's option).
        """
        keys, vectors = read_word2vec_format(fname, binary=binary, limit=limit,
                                             no_header=no_header)
        return cls(keys, vectors)

    def save(self, path: str | os.PathLike) -> None:
        """Save words, vectors and counts to one ``.npz`` (arrays plus JSON metadata, no pickle,
        unlike gensim's ``KeyedVectors.save``), written atomically; :meth:`load` reads it."""
        bad = next((k for k in self.index_to_key if not isinstance(k, str)), None)
        if bad is not None:
            raise TypeError(f"save stores str keys (JSON), got {type(bad).__name__} {bad!r}")
        arrays = {"vectors": self.vectors}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_arrays(path, arrays, {"index_to_key": self.index_to_key}, kind=_KIND)

    @classmethod
    def load(cls, path: str | os.PathLike) -> KeyedVectors:
        """Read what :meth:`save` wrote (no pickle, sizes checked before allocating);
        ``ValueError`` for a damaged file or one of another kind."""
        arrays, metadata = load_arrays(path, kind=_KIND)
        keys, vectors, counts = metadata.get("index_to_key"), arrays.get("vectors"), \
            arrays.get("counts")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{path}: invalid metadata (index_to_key)")
        if vectors is None or vectors.dtype != np.float32 or vectors.ndim != 2 \
                or vectors.shape[0] != len(keys):
            raise ValueError(f"{path}: the vectors do not match the {len(keys)} words")
        if counts is not None and (counts.dtype.kind != "i" or counts.shape != (len(keys),)):
            raise ValueError(f"{path}: the counts do not match the {len(keys)} words")
        return cls(keys, vectors, counts=counts)

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, vector_size={self.vector_size})"


def _decode_line(raw: bytes, path: str | os.PathLike, line_no: int) -> str:
    """Line ``line_no`` (0-based) of an evaluation file as text; ValueError naming the file and
    line if it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{os.fspath(path)}: line {line_no + 1} is not valid UTF-8 "
                         f"(byte {error.start + 1})") from None


def _as_list(items) -> list:
    if items is None:
        return []
    if isinstance(items, (str, int, np.integer)) or (isinstance(items, np.ndarray)
                                                    and items.ndim == 1):
        return [items]  # one word, one word's index, or one vector
    return list(items)


def _analogy_candidates(
    normed: NDArray[np.float32], questions: NDArray[np.int64], topn: int = 5
) -> list[list[int]]:
    r"""For each question ``(a, b, c)`` (row indices), the ``topn`` rows closest to 3CosAdd.

    Row ``q`` of the result lists, best first, the indices ``i`` (``a``, ``b``, ``c`` excluded)
    of the largest :math:`\mathrm{unit}(b) - \mathrm{unit}(a) + \mathrm{unit}(c)` scores
    ``normed[i] . query``, as :meth:`KeyedVectors.most_similar` would rank them.  Questions are
    scored in blocks by one matrix product each (blocks of at most 2**24 scores, 64 MiB).
    """
    n_rows = normed.shape[0]
    k = min(topn, max(n_rows - 3, 0))
    if k == 0 or questions.shape[0] == 0:
        return [[] for _ in range(questions.shape[0])]
    block = max(1, (1 << 24) // n_rows)
    out: list[list[int]] = []
    for start in range(0, questions.shape[0], block):
        ia, ib, ic = questions[start:start + block].T
        # the same float32 operations, in the same order, as most_similar's mean of the inputs
        query = _unit_rows(np.mean(np.stack([normed[ib], normed[ic], -normed[ia]]), axis=0))
        scores = query @ normed.T  # (block, V)
        rows = np.arange(len(ia))
        for excluded in (ia, ib, ic):
            scores[rows, excluded] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out.extend(np.take_along_axis(top, order, axis=1).tolist())
    return out
