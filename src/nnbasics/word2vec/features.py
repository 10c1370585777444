r"""Sentence features from word vectors: the mean of a sentence's word vectors (CS224n a1).

Shape letters: ``N`` sentences, ``V`` words of the vocabulary, ``d`` vector size.

The features of all sentences are one sparse-dense product, :math:`F = A W`, where :math:`W`
(V, d) holds the word vectors and :math:`A` (N, V) the weight of every word in every sentence:
:math:`A_{ij} = c_{ij} / n_i` with :math:`c_{ij}` the count of word :math:`j` in sentence
:math:`i` and :math:`n_i` the number of its tokens that count (see ``unknown``), so row
:math:`i` of :math:`F` is :math:`\frac{1}{n_i}\sum_{t} w_{t}`, the mean of the sentence's vectors.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["MeanWordVectors"]

_UNKNOWN = ("ignore", "zero", "error")


class MeanWordVectors(TransformerMixin, BaseEstimator):
    """Map each sentence to the mean of its word vectors: a scikit-learn transformer.

    Parameters
    ----------
    kv : KeyedVectors or None, default None
        The word vectors (anything with ``key_to_index`` and ``vectors`` (V, d), as
        :class:`nnbasics.KeyedVectors` or gensim's).  Required: ``None`` is refused by
        :meth:`fit` and :meth:`transform` (the default exists for scikit-learn's ``clone``).
    lowercase : bool, default False
        Look words up lower-cased (GloVe's vocabularies are lower-case; the SST loader already
        lower-cases its tokens).
    unknown : {"ignore", "zero", "error"}, default "ignore"
        Words not in ``kv``: ``"ignore"`` leaves them out of the mean (the mean of the known
        words); ``"zero"`` counts them as zero vectors (the sum over known words divided by the
        sentence's length: CS224n's features with pretrained vectors); ``"error"`` raises
        ``KeyError`` naming the first.

    Notes
    -----
    A sentence is a string (split on whitespace, no other tokenisation) or a sequence of
    tokens.  A sentence with no token that counts (empty, or only unknown words with
    ``"ignore"``) maps to the zero vector: it carries no evidence, and the classifier's biases
    decide its class.  Features are float64, computed as one sparse product (module docstring).

    The transformer learns nothing: :meth:`fit` only checks the parameters, and
    :meth:`transform` works without it (scikit-learn's ``requires_fit=False`` tag).  In a grid
    search, scikit-learn's ``clone`` copies ``kv`` for every candidate; for a sweep over the
    classifier alone, transform once and search on the features (what ``nnbasics sentiment``
    does).

    Examples
    --------
    >>> import numpy as np
    >>> from nnbasics.word2vec import KeyedVectors, MeanWordVectors
    >>> kv = KeyedVectors(["good", "bad"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> MeanWordVectors(kv).transform(["good good bad", ["bad", "unseen"], ""])
    array([[0.66666667, 0.33333333],
           [0.        , 1.        ],
           [0.        , 0.        ]])
    """

    def __init__(self, kv=None, *, lowercase: bool = False, unknown: str = "ignore"):
        self.kv = kv
        self.lowercase = lowercase
        self.unknown = unknown

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags

    def _check_params(self) -> NDArray[np.float32]:
        if self.kv is None:
            raise ValueError("MeanWordVectors needs word vectors: MeanWordVectors(kv) with kv a "
                             "KeyedVectors")
        vectors = getattr(self.kv, "vectors", None)
        if not hasattr(self.kv, "key_to_index") or getattr(vectors, "ndim", 0) != 2:
            raise TypeError(f"kv must be word vectors with key_to_index and vectors (V, d), got "
                            f"{type(self.kv).__name__}")
        if self.unknown not in _UNKNOWN:
            raise ValueError(f"unknown must be one of {_UNKNOWN}, got {self.unknown!r}")
        if not isinstance(self.lowercase, bool | np.bool_):
            raise ValueError(f"lowercase must be True or False, got {self.lowercase!r}")
        return vectors

    def fit(self, X, y=None) -> MeanWordVectors:
        """Check the parameters and the sentences; nothing is learned.  Returns ``self``."""
        self._check_params()
        _sentences(X)
        return self

    def transform(self, X) -> NDArray[np.float64]:
        """The mean word vector of every sentence.

        Parameters
        ----------
        X : sequence of N sentences, each a str or a sequence of str tokens

        Returns
        -------
        ndarray of float64, shape (N, d)
        """
        vectors = self._check_params()
        weights = self.sentence_weights(X)  # (N, V) sparse
        return np.asarray(weights @ np.asarray(vectors, dtype=np.float64))  # (N, d)

    def sentence_weights(self, X) -> scipy.sparse.csr_matrix:
        """The matrix :math:`A` (N, V) of the module docstring: ``transform(X) = A @ vectors``."""
        self._check_params()
        key_to_index = self.kv.key_to_index
        rows, columns, lengths = [], [], []
        for i, tokens in enumerate(_sentences(X)):
            if self.lowercase:
                tokens = [token.lower() for token in tokens]
            known = [key_to_index.get(token) for token in tokens]
            if self.unknown == "error" and None in known:
                raise KeyError(f"word {tokens[known.index(None)]!r} (sentence {i}) is not in "
                               "the vocabulary")
            found = [index for index in known if index is not None]
            columns.extend(found)
            rows.extend([i] * len(found))
            lengths.append(len(tokens) if self.unknown == "zero" else len(found))
        lengths = np.asarray(lengths, dtype=np.float64)  # (N,)
        rows = np.asarray(rows, dtype=np.int64)
        values = 1.0 / lengths[rows]  # each occurrence adds 1/n_i; repeats are summed
        shape = (len(lengths), len(key_to_index))
        return scipy.sparse.csr_matrix((values, (rows, np.asarray(columns, dtype=np.int64))),
                                       shape=shape)

    def get_feature_names_out(self, input_features=None) -> NDArray[np.object_]:
        """``meanwordvectors0``, ..., one name per vector component."""
        d = self._check_params().shape[1]
        return np.array([f"meanwordvectors{k}" for k in range(d)], dtype=object)


def _sentences(X) -> list[list[str]]:
    """``X`` as token lists; TypeError for what is not a sequence of sentences."""
    if isinstance(X, str | bytes):
        raise TypeError("X must be a sequence of sentences, got a single string; wrap it in a "
                        "list")
    if isinstance(X, np.ndarray) and X.dtype.kind in "biufc":
        raise TypeError(f"X must be sentences (strings or token lists), got a numeric array "
                        f"of shape {X.shape}")
    if not isinstance(X, Iterable):
        raise TypeError(f"X must be a sequence of sentences, got {type(X).__name__}")
    sentences = []
    for i, sentence in enumerate(X):
        tokens = sentence.split() if isinstance(sentence, str) else sentence
        if isinstance(tokens, bytes) or not isinstance(tokens, Iterable):
            raise TypeError(f"sentence {i} is a {type(sentence).__name__}, not a string or a "
                            "sequence of tokens")
        tokens = list(tokens)
        bad = next((t for t in tokens if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"sentence {i} holds a token that is not a string: {bad!r}")
        sentences.append(tokens)
    return sentences
