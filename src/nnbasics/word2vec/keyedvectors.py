r"""Word vectors with gensim's query API: ``most_similar``, analogies, evaluation, file formats.

Shape letters: ``V`` words, ``d`` vector size.  Similarities are cosines
:math:`\cos(a, b) = a^\top b / (\lVert a\rVert \lVert b\rVert)`, computed on unit vectors.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.word2vec.correlation import CorrelationResult
from nnbasics.word2vec.formats import (
    check_file_kind,
    read_vocab_counts,
    read_word2vec_format,
    refuse_pickle,
    write_vocab_counts,
    write_word2vec_format,
)

_KIND = "keyedvectors"  # the kind of nnbasics file :meth:`KeyedVectors.save` writes
_MIGRATING = "https://github.com/RaRe-Technologies/gensim/wiki/Migrating-from-Gensim-3.x-to-4"

logger = logging.getLogger(__name__)

__all__ = ["EmptyWordListError", "KeyedVectors"]

Key = str
Query = Key | ArrayLike


class EmptyWordListError(ValueError, ZeroDivisionError):
    """An empty list of words where a mean is needed (a ``ZeroDivisionError`` too, as gensim)."""


def _cosine(a: NDArray, b: NDArray) -> float:
    """Cosine of two vectors, computed in float64 and rounded to float32 (the vectors'
    precision), so that a vector with itself gives exactly 1; 0 if either is zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    lengths = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.float32(a @ b / lengths)) if lengths > 0 else 0.0


def check_lockf(lockf: ArrayLike, n_words: int, where: str = "vectors_lockf") -> np.ndarray:
    """``lockf`` as a float32 array of 1 or ``n_words`` finite factors, else ``ValueError``."""
    lockf = np.asarray(lockf, dtype=np.float32)
    if lockf.ndim != 1 or lockf.size not in (1, n_words):
        raise ValueError(f"{where} must hold 1 value (for every word) or {n_words} (one per "
                         f"word), got shape {lockf.shape}")
    if not np.all(np.isfinite(lockf)):
        raise ValueError(f"{where} must be finite")
    return lockf


def _unit_rows(x: NDArray) -> NDArray[np.float32]:
    """Rows scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class KeyedVectors:
    """A vocabulary of words (keys) and one vector per word.

    ``KeyedVectors(index_to_key, vectors)`` holds given words and vectors;
    ``KeyedVectors(vector_size)`` (gensim's form) starts empty, to be filled by
    :meth:`add_vectors` or ``kv[key] = vector``.

    Parameters
    ----------
    index_to_key : sequence of str, length V; or int
        The words, most frequent first when they come from training; an int is the vector size
        of an empty instance (as gensim's first argument).
    vectors : array_like, shape (V, d)
        Stored as ``dtype``.
    counts : array_like of int, shape (V,), optional
        Corpus counts (kept by training; read from a vocabulary file by
        :meth:`load_word2vec_format`, which otherwise ranks the file's words as gensim does).
    vector_size : int, optional
        ``d`` of an empty instance (keyword form of the int first argument).
    dtype : floating dtype, default float32

    Attributes
    ----------
    index_to_key : list of str
    key_to_index : dict mapping str to int
    vectors : ndarray of float32 (or ``dtype``), shape (V, d)
    counts : ndarray of int64, shape (V,), or None
    vectors_lockf : ndarray of float32, shape (1,) or (V,)
        Learning-rate factor of each vector in training (see the property).
    huffman_tree : HuffmanTree or None
        The hierarchical-softmax tree of the model the vectors belong to (``hs=1``), which
        :meth:`get_vecattr` reads for ``"code"`` and ``"point"``.
    """

    def __init__(self, index_to_key: Sequence[str] | int | None = None,
                 vectors: ArrayLike = None, counts: ArrayLike = None, *,
                 vector_size: int | None = None, dtype: type | np.dtype = np.float32):
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")
        if isinstance(index_to_key, (int, np.integer)) and not isinstance(index_to_key, bool):
            if vector_size is not None:
                raise TypeError("give the vector size once (first argument or vector_size=)")
            index_to_key, vector_size = None, int(index_to_key)
        if index_to_key is None:
            if vectors is not None or counts is not None or vector_size is None:
                raise TypeError(
                    "KeyedVectors(vector_size) starts empty (add words with add_vectors); "
                    "KeyedVectors(index_to_key, vectors) holds given ones (gensim's second "
                    "argument, a count of rows to preallocate, is not supported)")
            if vector_size < 1:
                raise ValueError(f"vector_size must be >= 1, got {vector_size}")
            index_to_key, vectors = [], np.zeros((0, vector_size), dtype=dtype)
        elif vectors is None:
            raise TypeError("KeyedVectors(index_to_key, vectors): the vectors are missing")
        self.index_to_key = list(index_to_key)
        self.vectors = np.ascontiguousarray(vectors, dtype=dtype)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.index_to_key):
            raise ValueError(
                f"need one row of vectors per key: {len(self.index_to_key)} keys, vectors of "
                f"shape {self.vectors.shape}"
            )
        if vector_size is not None and self.vectors.shape[1] != vector_size:
            raise ValueError(f"vector_size={vector_size} but the vectors have "
                             f"{self.vectors.shape[1]} columns")
        self.key_to_index = {key: i for i, key in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("a key appears twice in index_to_key")
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.huffman_tree = None  # a model trained with hs=1 sets its tree ('code', 'point')
        self._normed: NDArray[np.float32] | None = None

    @property
    def vectors_lockf(self) -> NDArray[np.float32]:
        """gensim's learning-rate factors of the word vectors, float32, shape (1,) or (V,).

        Training multiplies every step of word ``w``'s vector by ``vectors_lockf[w]`` (one
        value: the same for every word): 0.0 freezes a vector (e.g. pretrained ones), 1.0 (the
        default, ``[1.0]``) trains it normally; the output layers train either way.  The array
        may be changed in place (``kv.vectors_lockf[3] = 0.0``, as gensim's test does after
        assigning ``np.ones(V)``); :class:`~nnbasics.word2vec.model.Word2Vec` reads it when
        ``train`` starts.  Words added by :meth:`add_vectors` get 1.0 in a per-word array.
        """
        lockf = self.__dict__.get("_lockf")
        if lockf is None:
            lockf = self._lockf = np.ones(1, dtype=np.float32)
        return lockf

    @vectors_lockf.setter
    def vectors_lockf(self, value: ArrayLike) -> None:
        self._lockf = check_lockf(value, len(self))

    # -- lookup ------------------------------------------------------------------------------

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has a vector: a word, or an index in ``[0, V)`` (as gensim)."""
        return self.has_index_for(key)

    def get_index(self, key: Key | int, default: int | None = None) -> int:
        """Index of ``key``; an int in ``[0, V)`` is its own index (as gensim).  A key without
        a vector gives ``default`` if one is given, else ``KeyError``."""
        try:
            index = self.key_to_index.get(key)  # a key first, whatever its type (as gensim)
        except TypeError:  # unhashable
            index = None
        if index is not None:
            return index
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) \
                and 0 <= key < len(self.index_to_key):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"word {key!r} not in vocabulary")

    def __getitem__(self, key: Key | int | Iterable[Key | int]) -> NDArray[np.float32]:
        """The vector of a word or index (d,), or the vectors of a list of them (n, d)."""
        if isinstance(key, (str, int, np.integer)):
            return self.vectors[self.get_index(key)]
        return self.vectors[[self.get_index(k) for k in key]]

    def get_vector(self, key: Key, norm: bool = False) -> NDArray[np.float32]:
        """The vector of ``key``, scaled to unit length if ``norm``."""
        return self.get_normed_vectors()[self.get_index(key)] if norm else self[key]

    def word_vec(self, key: Key, norm: bool = False) -> NDArray[np.float32]:
        """:meth:`get_vector` (gensim 3's name, kept by gensim 4 as an alias)."""
        return self.get_vector(key, norm=norm)

    def get_normed_vectors(self) -> NDArray[np.float32]:
        """All vectors scaled to unit length (V, d), computed once and cached."""
        if self._normed is None or self._normed.shape != self.vectors.shape:
            self._normed = _unit_rows(self.vectors)
        return self._normed

    @property
    def norms(self) -> NDArray[np.float32]:
        """The Euclidean length of every vector, shape (V,) (gensim's ``norms``); computed
        from ``vectors`` on each access, so never stale."""
        return np.linalg.norm(self.vectors, axis=1).astype(self.vectors.dtype, copy=False)

    def fill_norms(self, force: bool = False) -> None:
        """Forget the cached unit vectors (call after changing ``vectors`` in place); they are
        computed again when next needed.  ``force`` is gensim's (its cache may be kept)."""
        self._normed = None

    def init_sims(self, replace: bool = False) -> None:
        """gensim 3's method, deprecated in gensim 4 as here: ``replace=True`` is
        :meth:`unit_normalize_all`; otherwise nothing is needed (unit vectors are cached when
        first used)."""
        warnings.warn("init_sims() is deprecated (as in gensim 4): use get_vector(key, "
                      "norm=True) or get_normed_vectors(), or unit_normalize_all() for "
                      "replace=True", DeprecationWarning, stacklevel=2)
        if replace:
            self.unit_normalize_all()
        else:
            self.fill_norms()

    # gensim 3's attributes, removed by gensim 4: the same errors, naming what replaced them
    @property
    def vocab(self):
        raise AttributeError(
            "The vocab attribute was removed from KeyedVectors in gensim 4 (and nnbasics): use "
            ".key_to_index, .index_to_key and .get_vecattr(key, 'count') instead. See "
            + _MIGRATING)

    @property
    def index2word(self):
        raise AttributeError("The index2word attribute was replaced by index_to_key in gensim 4 "
                             "(and nnbasics). See " + _MIGRATING)

    @property
    def index2entity(self):
        raise AttributeError("The index2entity attribute was replaced by index_to_key in "
                             "gensim 4 (and nnbasics). See " + _MIGRATING)

    @property
    def vectors_norm(self):
        raise AttributeError("The vectors_norm attribute is computed when needed since gensim 4 "
                             "(and in nnbasics): use .get_normed_vectors(). See " + _MIGRATING)

    def unit_normalize_all(self) -> None:
        """Scale every vector to unit length, in place (a zero vector stays zero); the raw
        lengths are lost, as in gensim."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.vectors /= np.where(norms > 0, norms, 1).astype(self.vectors.dtype)
        self._normed = None

    def get_mean_vector(
        self,
        keys: Sequence[Key | ArrayLike],
        weights: ArrayLike | None = None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = True,
    ) -> NDArray[np.floating]:
        r"""Weighted mean of the keys' vectors, as gensim's.

        ``mean = sum_i w_i x_i / sum_i |w_i|`` over the keys that have a vector (each ``x_i``
        scaled to unit length if ``pre_normalize``; an array in ``keys`` is used as given), then
        scaled to unit length if ``post_normalize``.

        Parameters
        ----------
        keys : sequence of words, indices or vectors (d,)
        weights : array_like, shape (len(keys),), optional
            Default: all ones.
        ignore_missing : bool, default True
            Skip keys without a vector (else ``KeyError``).

        Returns
        -------
        ndarray, shape (d,), the dtype of ``vectors``
        """
        if len(keys) == 0:
            raise ValueError("get_mean_vector needs at least one key")
        dtype = self.vectors.dtype
        weights = np.ones(len(keys), dtype) if weights is None else np.asarray(weights, dtype)
        if weights.shape != (len(keys),):
            raise ValueError(f"need one weight per key: {len(keys)} keys, weights of shape "
                             f"{weights.shape}")
        mean = np.zeros(self.vector_size, dtype)
        total = 0.0
        for key, weight in zip(keys, weights, strict=True):
            if isinstance(key, np.ndarray):
                vector = key
            elif key in self:
                vector = self.get_vector(key, norm=pre_normalize)
            elif ignore_missing:
                continue
            else:
                raise KeyError(f"word {key!r} not in vocabulary")
            mean += weight * vector
            total += abs(weight)
        if total > 0:
            mean = mean / total
        return _unit_rows(mean) if post_normalize else mean

    # -- adding vectors -----------------------------------------------------------------------

    def add_vectors(self, keys: Key | Sequence[Key], weights: ArrayLike,
                    extras: dict[str, ArrayLike] | None = None, replace: bool = False) -> None:
        """Append new keys with their vectors; a key already present keeps its vector unless
        ``replace`` (gensim's method).  New keys get count 0 if the vectors have counts.

        Parameters
        ----------
        keys : a key or a sequence of n keys
        weights : array_like, shape (d,) for one key, (n, d) for n
        extras : dict, optional
            Per-key attributes, as gensim's: ``{"count": array_like of n ints}`` (the only
            attribute kept), set for the keys added (and the ones replaced, with ``replace``).
        replace : bool, default False
            Give the keys already present their new vectors (and counts).  The fourth
            parameter, as in gensim (earlier nnbasics had it third: a bool in the place of
            ``extras`` is refused with a ``TypeError``).
        """
        if isinstance(keys, (str, int, np.integer)):
            keys = [keys]
            weights = np.reshape(weights, (1, -1))
        keys = list(keys)
        weights = np.asarray(weights, dtype=self.vectors.dtype)
        if weights.shape != (len(keys), self.vector_size):
            raise ValueError(f"need one vector of size {self.vector_size} per key: {len(keys)} "
                             f"keys, weights of shape {weights.shape}")
        if extras is not None and not isinstance(extras, dict):
            raise TypeError(f"extras must be a dict, got {extras!r} (replace is the fourth "
                            "parameter, after extras, as in gensim)")
        extras = dict(extras or {})
        unknown = sorted(set(extras) - {"count"})
        if unknown:
            raise ValueError(f"extras: KeyedVectors keeps only 'count', got {unknown}")
        new_counts = None
        if "count" in extras:
            given = np.asarray(extras["count"]).reshape(-1)
            new_counts = given.astype(np.int64)
            if given.dtype.kind not in "iub" and not np.array_equal(new_counts, given):
                raise ValueError("extras['count'] must hold whole numbers")
            if new_counts.shape != (len(keys),):
                raise ValueError(f"extras['count'] needs one count per key: {len(keys)} keys, "
                                 f"{new_counts.size} counts")
            if self.counts is None:
                self.counts = np.zeros(len(self), dtype=np.int64)
        new = {}  # key -> row of weights, the last one for a key given twice
        for row, key in enumerate(keys):
            if key in self.key_to_index:
                if replace:
                    self.vectors[self.key_to_index[key]] = weights[row]
                    if new_counts is not None:
                        self.counts[self.key_to_index[key]] = new_counts[row]
            else:
                new[key] = row
        if new:
            start = len(self.index_to_key)
            rows = list(new.values())
            self.index_to_key.extend(new)
            self.key_to_index.update((key, start + i) for i, key in enumerate(new))
            self.vectors = np.concatenate([self.vectors, weights[rows]])
            if self.counts is not None:
                added = np.zeros(len(new), np.int64) if new_counts is None else new_counts[rows]
                self.counts = np.concatenate([self.counts, added])
            lockf = self.__dict__.get("_lockf")
            if lockf is not None and lockf.size == start and start != 1:  # one factor per word
                self._lockf = np.concatenate([lockf, np.ones(len(new), np.float32)])
        self._normed = None

    def add_vector(self, key: Key, vector: ArrayLike) -> int:
        """Add one key (kept unchanged if present) and return its index (gensim's method)."""
        self.add_vectors([key], np.reshape(vector, (1, -1)))
        return self.key_to_index[key]

    def __setitem__(self, keys: Key | Sequence[Key], weights: ArrayLike) -> None:
        """``kv[key] = vector`` or ``kv[keys] = vectors``: add, or replace existing vectors."""
        if not isinstance(keys, list):
            keys = [keys]
            weights = np.reshape(weights, (1, -1))
        self.add_vectors(keys, weights, replace=True)

    # -- similarity queries -------------------------------------------------------------------

    def similarity(self, w1: Key, w2: Key) -> float:
        """Cosine similarity of two words (:func:`_cosine`: a word with itself gives exactly 1)."""
        return _cosine(self[w1], self[w2])

    def most_similar(
        self,
        positive: Query | Sequence[Query] | None = None,
        negative: Query | Sequence[Query] | None = None,
        topn: int | None = 10,
        clip_start: int = 0,
        clip_end: int | None = None,
        restrict_vocab: int | None = None,
        indexer=None,
    ) -> list[tuple[str, float]] | NDArray[np.float32]:
        r"""Words closest (by cosine) to the mean of the positive minus the negative words.

        ``query = unit(sum(w_i * unit(x_i)))``, ``w_i = +1`` for positive and ``-1`` for negative

        Parameters
        ----------
        positive, negative : word, vector, or list of them
            Words count with weight +1 / -1 on their unit vectors; raw vectors as given.  An item
            may also be a ``(word or vector, weight)`` pair, as in gensim.
        topn : int or None, default 10
            How many results (none if < 1); ``None`` returns the array of the similarities of
            all the words searched instead.
        clip_start, clip_end : int, default 0 and V
            Search only the words of indices ``clip_start .. clip_end - 1`` (gensim's).
        restrict_vocab : int, optional
            Search only the first ``restrict_vocab`` words (the most frequent); it overrides
            ``clip_start`` and ``clip_end``, as in gensim.  ``clip_end=0`` or
            ``restrict_vocab=0`` searches no word (gensim reads a 0 there as no limit).
        indexer : object, optional
            An approximate nearest-neighbour index with gensim's indexer interface: with an int
            ``topn``, ``indexer.most_similar(query, topn)`` answers instead (the query words are
            then not left out: the indexer's results are returned as it gives them).

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
        if indexer is not None and isinstance(topn, (int, np.integer)):
            return indexer.most_similar(query, int(topn))
        if restrict_vocab is not None:
            clip_start, clip_end = 0, restrict_vocab
        start, end = self._clip(clip_start, clip_end)
        sims = normed[start:end] @ query  # (end - start,)
        if topn is None:
            return sims
        if int(topn) < 1:
            return []
        return self._best(sims, exclude, int(topn), offset=start)

    def _clip(self, clip_start: int, clip_end: int | None) -> tuple[int, int]:
        """``clip_start`` and ``clip_end`` as a range of indices within ``[0, V]``."""
        end = len(self) if clip_end is None else min(int(clip_end), len(self))
        start = max(0, int(clip_start))
        if start > end:
            raise ValueError(f"clip_start ({clip_start}) is beyond clip_end ({end})")
        return start, end

    def _best(self, sims: NDArray, exclude: set[int], topn: int,
              offset: int = 0) -> list[tuple[str, float]]:
        """The ``topn`` highest similarities, skipping the indices in ``exclude``; ``sims[i]``
        belongs to the word of index ``offset + i``."""
        k = min(topn + len(exclude), sims.size)
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        best = [(self.index_to_key[offset + i], float(sims[i])) for i in top.tolist()
                if offset + i not in exclude]
        return best[:topn]

    @staticmethod
    def cosine_similarities(vector_1: ArrayLike, vectors_all: ArrayLike) -> NDArray[np.floating]:
        r"""Cosine of one vector (d,) with each row of ``vectors_all`` (n, d): shape (n,).

        ``vectors_all @ vector_1 / (|vectors_all_i| |vector_1|)``, gensim's static method; 0
        where either vector is zero (gensim gives NaN there, with a warning).  The dtype is the
        inputs' floating dtype (float64 for integer vectors).
        """
        vector_1, vectors_all = np.asarray(vector_1), np.asarray(vectors_all)
        lengths = np.linalg.norm(vectors_all, axis=1) * np.linalg.norm(vector_1)
        dots = vectors_all @ vector_1
        out = np.zeros(dots.shape, dtype=np.result_type(dots, lengths))  # ints: float64
        return np.divide(dots, lengths, out=out, where=lengths > 0)

    def most_similar_cosmul(
        self,
        positive: Query | Sequence[Query] | None = None,
        negative: Query | Sequence[Query] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | NDArray[np.float32]:
        r"""Words ranked by the multiplicative objective 3CosMul (Levy and Goldberg, 2014).

        ``score(w) = prod_p s(w, p) / (prod_n s(w, n) + 1e-6)``, ``s(w, x) = (1 + cos(w, x)) / 2``

        Cosines shifted to [0, 1] so that the products are of non-negative factors (the
        paper's footnote 7); with one positive word the ranking is :meth:`most_similar`'s.

        Parameters
        ----------
        positive, negative : word, vector, or list of them
            A vector is used as given, as in gensim: pass a unit vector (``get_vector(word,
            norm=True)``) for its cosines, which it then scores exactly as its word.  At least
            one positive item is needed.
        topn : int or None, default 10
            How many results (none if < 1); ``None`` returns all V scores.
        restrict_vocab : int, optional
            Score only the first ``restrict_vocab`` words.

        Returns
        -------
        list of (word, score), best first, the query words left out
        """
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word or vector")
        normed = self.get_normed_vectors()
        limit = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        exclude = set()
        shifted = []  # per item, (1 + cos) / 2 for every word: (limit,)
        for items in (positive, negative):
            shifted.append([])
            for item in items:
                if isinstance(item, (str, int, np.integer)):
                    index = self.get_index(item)
                    exclude.add(index)
                    query = normed[index]
                else:
                    query = np.asarray(item, dtype=np.float32)
                shifted[-1].append((1 + normed[:limit] @ query) / 2)
        scores = np.prod(shifted[0], axis=0) / (np.prod(shifted[1], axis=0) + 1e-6)
        if topn is None:
            return scores
        if int(topn) < 1:
            return []
        return self._best(scores, exclude, int(topn))

    def most_similar_to_given(self, key1: Key, keys_list: Sequence[Key]) -> Key:
        """The key of ``keys_list`` most similar (by cosine) to ``key1``."""
        if not keys_list:
            raise ValueError("most_similar_to_given needs at least one candidate key")
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def relative_cosine_similarity(self, wa: Key, wb: Key, topn: int = 10) -> float:
        r"""``cos(wa, wb) / sum of the topn best cosines to wa`` (Leeuwenberg et al., 2016).

        Above ``1 / topn`` (0.10 for the default), ``wb`` is closer to ``wa`` than an average
        word of ``wa``'s top ``topn``: the paper's threshold for synonyms.
        """
        sims = self.similar_by_word(wa, topn)
        if not sims:
            raise ValueError("relative_cosine_similarity needs topn >= 1 and other words")
        return self.similarity(wa, wb) / sum(sim for _, sim in sims)

    def vectors_for_all(self, keys: Iterable[Key], allow_inference: bool = True,
                        copy_vecattrs: bool = False) -> KeyedVectors:
        """A new :class:`KeyedVectors` with the vectors of ``keys`` that have one (deduplicated,
        first-seen order), as gensim's.

        Counts: with ``copy_vecattrs`` and counts here, the words' counts; else ranks ``n - i``
        (gensim's placeholder counts, descending in the new order).  ``allow_inference`` is
        accepted for gensim's signature: word2vec vectors infer nothing for unknown words
        (FastText's do), so it does not change the result, in gensim either.
        """
        chosen = list(dict.fromkeys(key for key in keys if key in self.key_to_index))
        indices = [self.key_to_index[key] for key in chosen]
        if copy_vecattrs and self.counts is not None:
            counts = self.counts[indices]
        else:
            counts = np.arange(len(chosen), 0, -1)
        return type(self)(chosen, self.vectors[indices].reshape(-1, self.vector_size),
                          counts=counts, dtype=self.vectors.dtype)

    def similar_by_key(self, key: Key, topn: int | None = 10,
                       restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """``most_similar(positive=[key], ...)`` (gensim 4's name)."""
        return self.most_similar([key], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_word(self, word: Key, topn: int | None = 10,
                        restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """:meth:`similar_by_key` (gensim 3's name, kept by gensim 4 as an alias)."""
        return self.similar_by_key(word, topn=topn, restrict_vocab=restrict_vocab)

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
        vectors are averaged, words without a vector left out, then the means compared); one
        word each gives :meth:`similarity`.  An empty list raises :class:`EmptyWordListError`
        (a ``ValueError``, and a ``ZeroDivisionError`` as in gensim)."""
        if not len(ws1) or not len(ws2):
            raise EmptyWordListError("n_similarity needs at least one word in each list")
        means = []
        for words in (ws1, ws2):
            known = [w for w in words if self.has_index_for(w)]
            if not known:
                raise ValueError(f"n_similarity: no word of {list(words)!r} has a vector")
            means.append(np.mean(self[known], axis=0))
        return _cosine(means[0], means[1])

    def closer_than(self, key1: Key, key2: Key) -> list[str]:
        """The words closer to ``key1`` than ``key2`` is (``key1`` itself left out)."""
        distances = self.distances(key1)
        first, second = self.get_index(key1), self.get_index(key2)
        closer = np.flatnonzero(distances < distances[second])
        return [self.index_to_key[i] for i in closer.tolist() if i != first]

    def words_closer_than(self, word1: Key, word2: Key) -> list[str]:
        """:meth:`closer_than` (gensim 3's name, kept by gensim 4 as an alias)."""
        return self.closer_than(word1, word2)

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

    def get_vecattr(self, key: Key, attr: str) -> int | NDArray:
        """A per-word attribute, as gensim's: ``"count"`` (the corpus count, an int) and, for
        the vectors of a model trained with ``hs=1``, the word's Huffman ``"code"`` (its 0/1
        turns from the root, uint8) and ``"point"`` (the inner nodes on its path, root first,
        uint32: rows of the model's ``syn1``), as new arrays; ``KeyError`` for another name."""
        if attr in ("code", "point"):
            tree = self.__dict__.get("huffman_tree")
            if tree is None:
                raise KeyError(f"no attribute {attr!r}: these vectors have no Huffman tree (a "
                               "model trained with hs=1 has one)")
            if len(tree.offsets) != len(self) + 1:
                raise KeyError(f"no attribute {attr!r}: the Huffman tree covers "
                               f"{len(tree.offsets) - 1} words, these vectors {len(self)}")
            index = self.get_index(key)
            if attr == "code":
                return np.array(tree.codes[index], dtype=np.uint8)
            return np.array(tree.points[index], dtype=np.uint32)
        if attr != "count":
            raise KeyError(f"no attribute {attr!r}: KeyedVectors keeps 'count' (and 'code', "
                           "'point' with hs=1)")
        if self.counts is None:
            raise KeyError("these vectors have no counts")
        return int(self.counts[self.get_index(key)])

    def set_vecattr(self, key: Key, attr: str, val: int | None = None, *,
                    value: int | None = None) -> None:
        """Set a word's ``"count"`` (gensim's method; counts start at 0 if there were none).
        ``val`` is gensim's name (``value=``, earlier nnbasics' name, is accepted too)."""
        if (val is None) == (value is None):
            raise TypeError("set_vecattr takes the value once: set_vecattr(key, attr, val)")
        val = val if value is None else value
        if attr != "count":
            raise KeyError(f"no attribute {attr!r}: KeyedVectors keeps only 'count'")
        if self.counts is None:
            self.counts = np.zeros(len(self), dtype=np.int64)
        self.counts[self.get_index(key)] = val

    @property
    def expandos(self) -> dict[str, NDArray[np.int64]]:
        """The per-word attribute arrays by name, as gensim's: ``{"count": counts}`` (the live
        array), or ``{}`` without counts."""
        return {} if self.counts is None else {"count": self.counts}

    def doesnt_match(self, words: Sequence[Key]) -> str:
        """The word of ``words`` farthest from their mean (out-of-vocabulary words ignored)."""
        used = [w for w in words if w in self]
        if not used:
            raise ValueError("doesnt_match: none of the words is in the vocabulary")
        unit = self.get_normed_vectors()[[self.key_to_index[w] for w in used]]
        mean = _unit_rows(unit.mean(axis=0))
        return used[int(np.argmin(unit @ mean))]

    def rank_by_centrality(self, words: Sequence[Key],
                           use_norm: bool = True) -> list[tuple[float, Key]]:
        """The words ranked by cosine to the unit mean of their vectors, as gensim's:
        ``[(cosine, word), ...]`` highest first (words without a vector left out, with a
        warning on the log); ``use_norm=False`` averages the raw vectors instead of unit ones."""
        used = [word for word in words if word in self]
        if len(used) != len(words):
            logger.warning("vectors for words %s are not present in the model, ignoring them",
                           sorted(set(words) - set(used), key=str))
        if not used:
            raise ValueError("rank_by_centrality: none of the words has a vector")
        vectors = np.vstack([self.get_vector(word, norm=use_norm) for word in used])
        mean = _unit_rows(vectors.mean(axis=0))  # gensim: get_mean_vector of the rows as given
        cosines = vectors @ mean
        return sorted(zip(cosines.tolist(), used, strict=True), reverse=True)

    def wmdistance(self, document1: Sequence[Key], document2: Sequence[Key],
                   norm: bool = True) -> float:
        r"""Word Mover's Distance between two documents (Kusner et al., 2015), as gensim's.

        Each document is its normalised bag of words, :math:`d_i = n_i / n` over its distinct
        words with a vector (the others are left out); the distance is the least cost of moving
        one bag onto the other,

        .. math:: \min_{T \ge 0} \sum_{ij} T_{ij} \lVert x_i - x'_j \rVert
           \quad \text{s.t.} \quad \sum_j T_{ij} = d_i, \ \sum_i T_{ij} = d'_j,

        with unit vectors ``x`` if ``norm`` (gensim's default), raw ones otherwise.  The linear
        program, with one variable per pair of distinct words (``n1 * n2``), is solved exactly
        (:func:`nnbasics.word2vec.transport.transport_cost`): by POT's network simplex
        (``emd2``, as gensim) when POT is installed (``pip install 'nnbasics[wmd]'``), else by
        SciPy's HiGHS (7-32x slower on documents of 20-300 words, some 100x on a thousand;
        gensim needs POT).

        Returns
        -------
        float
            ``inf`` if a document has no word with a vector (with a warning on the log), 0 for
            two documents of the same single word.  Where every distance between the two
            documents' words is 0 (different words with equal vectors), the distance is 0;
            gensim returns ``inf`` there.
        """
        from scipy.spatial.distance import cdist

        from nnbasics.word2vec.transport import transport_cost

        kept = [[word for word in doc if word in self] for doc in (document1, document2)]
        if not kept[0] or not kept[1]:
            logger.warning("wmdistance: a document has no word in the vocabulary")
            return float("inf")
        bags = []
        for doc in kept:
            words, counts = np.unique([self.get_index(word) for word in doc], return_counts=True)
            bags.append((words, counts / counts.sum()))
        (words1, mass1), (words2, mass2) = bags
        if words1.size == 1 and words2.size == 1 and words1[0] == words2[0]:
            return 0.0
        vectors = self.get_normed_vectors() if norm else self.vectors
        x1, x2 = vectors[words1].astype(np.float64), vectors[words2].astype(np.float64)
        cost = cdist(x1, x2)  # (n1, n2) Euclidean, exactly 0 between a word and itself
        return max(transport_cost(mass1, mass2, cost), 0.0)

    def sort_by_descending_frequency(self) -> None:
        """Reorder the words by descending count, as gensim's (equal counts: the later index
        first, gensim's order); vectors, counts, lock factors and Huffman paths move with them.

        Raises
        ------
        ValueError
            Without counts, or for the ``wv`` of a :class:`~nnbasics.word2vec.model.Word2Vec`:
            its output vectors follow this order, and would no longer match (gensim reorders
            them silently).
        """
        if not len(self):
            return
        if self.counts is None:
            raise ValueError("sort_by_descending_frequency needs counts: these vectors have none")
        model = self.__dict__.get("_model", lambda: None)()  # set by Word2Vec for its wv
        if model is not None and model.wv is self:
            raise ValueError(
                "these vectors are a Word2Vec model's wv, whose output vectors follow this "
                "order: sorting them would break the model (sort a copy: "
                "model.wv.vectors_for_all(model.wv.index_to_key, copy_vecattrs=True))")
        order = np.lexsort((-np.arange(len(self)), -self.counts))
        self.index_to_key = [self.index_to_key[i] for i in order.tolist()]
        self.key_to_index = {key: i for i, key in enumerate(self.index_to_key)}
        self.vectors = self.vectors[order]
        self.counts = self.counts[order]
        lockf = self.__dict__.get("_lockf")
        if lockf is not None and lockf.size == len(self) and lockf.size != 1:
            self._lockf = lockf[order]
        tree = self.__dict__.get("huffman_tree")
        if tree is not None and len(tree.offsets) == len(self) + 1:
            self.huffman_tree = tree.reordered(order)
        self._normed = None

    def intersect_word2vec_format(self, fname: str | os.PathLike, lockf: float = 0.0,
                                  binary: bool = False, encoding: str = "utf8",
                                  unicode_errors: str = "strict") -> int:
        """Take the vectors of a word2vec file for the words already here, as gensim's: no word
        is added, the words found take the file's vector and learning-rate factor ``lockf``
        (0.0, the default, freezes them in further training; 1.0 trains them).

        ``vectors_lockf`` becomes one factor per word if it was one for all.  The file is read
        as :meth:`load_word2vec_format` reads it (sizes checked before allocating).

        Returns
        -------
        int
            How many words of the file were found here (gensim logs it).

        Raises
        ------
        ValueError
            If the file's vectors are not of this ``vector_size``.
        """
        keys, vectors = read_word2vec_format(fname, binary=binary, encoding=encoding,
                                             unicode_errors=unicode_errors)
        if vectors.shape[1] != self.vector_size:
            raise ValueError(f"{os.fspath(fname)} holds vectors of size {vectors.shape[1]}, "
                             f"these are of size {self.vector_size}")
        rows = [(self.key_to_index[key], row) for row, key in enumerate(keys)
                if key in self.key_to_index]
        factors = self.vectors_lockf
        if factors.size != len(self):
            factors = np.full(len(self), factors[0], np.float32)  # one factor for all words
        if rows:
            here, there = (np.array(side) for side in zip(*rows, strict=True))
            self.vectors[here] = vectors[there]
            factors = factors.copy()
            factors[here] = lockf
        self.vectors_lockf = factors
        self._normed = None
        logger.info("merged %d vectors into a %s matrix from %s", len(rows),
                    self.vectors.shape, os.fspath(fname))
        return len(rows)

    # -- evaluation ---------------------------------------------------------------------------

    @staticmethod
    def log_accuracy(section: dict) -> None:
        """Log a section of :meth:`evaluate_word_analogies` (``"name: 71.2% (89/125)"``,
        level INFO), as gensim's."""
        correct, incorrect = len(section["correct"]), len(section["incorrect"])
        if correct + incorrect > 0:
            logger.info("%s: %.1f%% (%i/%i)", section["section"],
                        100.0 * correct / (correct + incorrect), correct, correct + incorrect)

    @staticmethod
    def log_evaluate_word_pairs(pearson, spearman, oov: float, pairs) -> None:
        """Log the results of :meth:`evaluate_word_pairs` (level INFO), as gensim's."""
        logger.info("Pearson correlation coefficient against %s: %.4f", pairs, pearson[0])
        logger.info("Spearman rank-order correlation coefficient against %s: %.4f", pairs,
                    spearman[0])
        logger.info("Pairs with unknown words ratio: %.1f%%", oov)

    def evaluate_word_analogies(
        self,
        analogies: str | os.PathLike,
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
        similarity_function: str = "most_similar",
    ) -> tuple[float, list[dict]]:
        r"""Accuracy on analogies "a is to b as c is to d" in Google's questions-words format.

        The answer is the word closest to :math:`\mathrm{unit}(b) - \mathrm{unit}(a) +
        \mathrm{unit}(c)` (3CosAdd, ``similarity_function="most_similar"``), or the best by
        3CosMul (``"most_similar_cosmul"``, :meth:`most_similar_cosmul`), among the first
        ``restrict_vocab`` words, ``a``, ``b``, ``c`` excluded.  Questions with a word outside
        those are skipped (or counted wrong with ``dummy4unknown``), as gensim does.  (gensim
        4.4 accepts ``similarity_function`` but always answers by 3CosAdd.)  Of equal scores the
        lower index (the more frequent word) ranks first, where gensim's order is unspecified.
        The questions are answered in blocks, one matrix product per block.

        Returns
        -------
        score : float
            Correct / (correct + incorrect) over all sections (0 if nothing was evaluated).
        sections : list of dict
            One dict per ``: section`` of the file, with keys ``"section"``, ``"correct"`` and
            ``"incorrect"`` (lists of the (a, b, c, expected) questions), then a last one
            ``"Total accuracy"``; the same shape as gensim's.
        """
        from nnbasics.word2vec.evaluation import word_analogies  # it imports this module

        return word_analogies(self, analogies, restrict_vocab, case_insensitive, dummy4unknown,
                              similarity_function)

    def evaluate_word_pairs(
        self,
        pairs: str | os.PathLike,
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300_000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[CorrelationResult, CorrelationResult, float]:
        """Correlation of cosine similarities with human judgements (e.g. WordSim-353).

        The file holds ``word1<delimiter>word2<delimiter>score`` lines in ``encoding``; lines
        starting with ``#`` and malformed lines are skipped.  The parameters are gensim's, in
        gensim's order (earlier nnbasics had no ``encoding``: an int in its place, meant as
        ``restrict_vocab``, is refused with a ``TypeError``).

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
        from nnbasics.word2vec.evaluation import word_pairs  # it imports this module

        if not isinstance(encoding, str):
            raise TypeError(f"encoding must be a str, got {encoding!r} (restrict_vocab is the "
                            "fourth parameter, after encoding, as in gensim)")
        return word_pairs(self, pairs, delimiter, restrict_vocab, case_insensitive, dummy4unknown,
                          encoding=encoding)

    # -- files --------------------------------------------------------------------------------

    def save_word2vec_format(
        self,
        fname: str | os.PathLike,
        fvocab: str | os.PathLike | None = None,
        binary: bool = False,
        total_vec: int | None = None,
        write_header: bool = True,
        prefix: str = "",
        append: bool = False,
        sort_attr: str = "count",
    ) -> None:
        """Write the vectors in word2vec's text or binary format, as gensim writes them.

        The parameters are gensim's, in gensim's order.

        Parameters
        ----------
        fname : path
        fvocab : path, optional
            Also write the counts, one ``word count`` line per word (word2vec's
            ``-save-vocab`` file); ``ValueError`` if these vectors have no counts.
        binary : bool, default False
        total_vec : int, optional
            The count written in the header, if not ``V`` (for appending more vectors later).
        write_header : bool, default True
            False writes GloVe's headerless text format.
        prefix : str, default ""
            Written before every word.
        append : bool, default False
            Add to the end of existing files.
        sort_attr : {"count"}
            Words are written by descending count (ties in index order), or in index order
            without counts, as gensim; ``count`` is the only attribute kept.
        """
        if sort_attr != "count":
            raise ValueError(f"sort_attr must be 'count' (the only per-word attribute kept), "
                             f"got {sort_attr!r}")
        if self.counts is None:
            if fvocab is not None:
                raise ValueError("cannot write fvocab: these vectors have no counts")
            order = np.arange(len(self))
        else:
            order = np.argsort(-self.counts, kind="stable")
        keys = [self.index_to_key[i] for i in order.tolist()]
        if fvocab is not None:
            write_vocab_counts(fvocab, keys, self.counts[order], prefix=prefix, append=append)
        write_word2vec_format(fname, keys, self.vectors[order], binary=binary,
                              write_header=write_header, prefix=prefix, total_vec=total_vec,
                              append=append)

    @classmethod
    def load_word2vec_format(
        cls,
        fname: str | os.PathLike,
        fvocab: str | os.PathLike | None = None,
        binary: bool = False,
        encoding: str = "utf8",
        unicode_errors: str = "strict",
        limit: int | None = None,
        datatype: type | np.dtype = np.float32,
        no_header: bool = False,
    ) -> KeyedVectors:
        """Read vectors from word2vec's text or binary format; ``ValueError`` if corrupt.

        The parameters are gensim's, in gensim's order.

        Parameters
        ----------
        fname : path
        fvocab : path, optional
            The counts, one ``word count`` line per word (word2vec's ``-save-vocab`` file).
            Without it the words get gensim's placeholder counts ``V - i`` (the file's order,
            most frequent first); a word missing from ``fvocab`` gets 0, with a warning.
        binary : bool, default False
        encoding, unicode_errors : str, default "utf8" and "strict"
            How words are decoded; ``"replace"`` or ``"ignore"`` read words that word2vec.c
            cut in the middle of a character (``"strict"`` raises ``UnicodeDecodeError``).
        limit : int, optional
            Only the first ``limit`` vectors (for large pretrained sets).
        datatype : floating dtype, default float32
            The dtype of ``vectors`` (``np.float16`` halves the memory).
        no_header : bool, default False
            A text file without the ``"<V> <d>"`` line (GloVe's format).

        Raises
        ------
        ValueError
            A damaged file; :class:`~nnbasics.word2vec.formats.TruncatedFileError` (also an
            ``EOFError``, as in gensim) for one shorter than its header says.
        """
        keys, vectors = read_word2vec_format(
            fname, binary=binary, limit=limit, encoding=encoding, unicode_errors=unicode_errors,
            datatype=datatype, no_header=no_header)
        if fvocab is None:
            counts = np.arange(len(keys), 0, -1)
        else:
            known = read_vocab_counts(fvocab, encoding=encoding, unicode_errors=unicode_errors)
            missing = [key for key in keys if key not in known]
            if missing:
                warnings.warn(f"{os.fspath(fvocab)} has no count for {len(missing)} words "
                              f"(e.g. {missing[0]!r}): they get count 0", stacklevel=2)
            counts = [known.get(key, 0) for key in keys]
        return cls(keys, vectors, counts=counts, dtype=vectors.dtype)

    def save(self, path: str | os.PathLike) -> None:
        """Save words, vectors and counts to one ``.npz`` (arrays plus JSON metadata, no pickle,
        unlike gensim's ``KeyedVectors.save``), written atomically; :meth:`load` reads it."""
        bad = next((k for k in self.index_to_key if not isinstance(k, str)), None)
        if bad is not None:
            raise TypeError(f"save stores str keys (JSON), got {type(bad).__name__} {bad!r}")
        arrays = {"vectors": self.vectors}
        if self.counts is not None:
            arrays["counts"] = self.counts
        if not np.array_equal(self.vectors_lockf, [1.0]):  # the default is not written
            arrays["vectors_lockf"] = self.vectors_lockf
        save_arrays(path, arrays, {"index_to_key": self.index_to_key}, kind=_KIND)

    @classmethod
    def load(cls, fname: str | os.PathLike | None = None, mmap: str | None = None, *,
             path: str | os.PathLike | None = None) -> KeyedVectors:
        """Read what :meth:`save` wrote (no pickle, sizes checked before allocating);
        ``ValueError`` for a damaged file or one of another kind (gensim's own ``.kv`` pickles
        included: see :meth:`load_word2vec_format` for how to convert them).

        ``fname`` is gensim's name (``path=``, earlier nnbasics' name, is accepted too).
        ``mmap`` is gensim's: the arrays of an ``.npz`` are read into memory, so ``"r"`` (a
        read-only mapping in gensim) gives the same vectors, read, with a ``UserWarning``."""
        if (fname is None) == (path is None):
            raise TypeError("KeyedVectors.load takes the file once: load(fname)")
        path = fname if path is None else path
        if mmap is not None:
            if mmap not in ("r", "r+", "c", "w+"):
                raise ValueError(f"mmap must be None or a numpy mmap mode, got {mmap!r}")
            warnings.warn(f"mmap={mmap!r}: nnbasics reads the vectors of an .npz into memory "
                          "(no mapping)", UserWarning, stacklevel=2)
        refuse_pickle(path, "KeyedVectors file")
        arrays, metadata = load_arrays(path, what="nnbasics KeyedVectors file")
        check_file_kind(path, metadata, _KIND)
        keys, vectors, counts = metadata.get("index_to_key"), arrays.get("vectors"), \
            arrays.get("counts")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{path}: invalid metadata (index_to_key)")
        if vectors is None or vectors.dtype.kind != "f" or vectors.ndim != 2 \
                or vectors.shape[0] != len(keys):
            raise ValueError(f"{path}: the vectors do not match the {len(keys)} words")
        if counts is not None and (counts.dtype.kind != "i" or counts.shape != (len(keys),)):
            raise ValueError(f"{path}: the counts do not match the {len(keys)} words")
        kv = cls(keys, vectors, counts=counts, dtype=vectors.dtype)
        if "vectors_lockf" in arrays:  # absent from older files: all ones
            kv.vectors_lockf = check_lockf(arrays["vectors_lockf"], len(keys),
                                           f"{path}: vectors_lockf")
        return kv

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, vector_size={self.vector_size})"

    def __getstate__(self) -> dict:
        # copies (pickle, multiprocessing) leave out the weak reference to a model whose wv
        # these are: it cannot be pickled, and the copy is not that model's wv
        state = self.__dict__.copy()
        state.pop("_model", None)
        return state


def _as_list(items) -> list:
    if items is None:
        return []
    if isinstance(items, (str, int, np.integer)) or (isinstance(items, np.ndarray)
                                                    and items.ndim == 1):
        return [items]  # one word, one word's index, or one vector
    return list(items)
