r"""What a trained model says about text: sentence log-likelihoods under hierarchical softmax
(gensim's ``Word2Vec.score``) and the distribution of a center word given its context (gensim's
``predict_output_word``).

Shape letters: ``n`` words of a sentence, ``V`` vocabulary, ``d`` vector size, ``N`` the summed
path lengths of a sentence's words in the Huffman tree.

Hierarchical softmax writes
:math:`P(w \mid h) = \prod_j \sigma\big((1 - 2c_j)\, h \cdot u_{p_j}\big)`
over the inner nodes :math:`p_j` of ``w``'s path with turns :math:`c_j` (the node vectors are
the model's ``syn1``), so :math:`\log P(w \mid h) = \sum_j \log\sigma(s_j\, h \cdot u_{p_j})`
with :math:`s_j = 1 - 2c_j`.  The score of a sentence sums it over the (center, input) pairs that
training uses, without subsampling and with the whole window (gensim's ``score_sentence_*``):

* skip-gram: every pair of positions at distance ``1 .. window``, ``h`` the input vector of one
  word and ``w`` the other (the word predicted);
* CBOW: every position, ``h`` the mean (``cbow_mean=1``) or sum of the input vectors of the
  words around it within ``window`` (the zero vector if it has none).

Words outside the vocabulary are removed before the windows are laid.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from nnbasics.word2vec.vocab import HuffmanTree

__all__ = ["context_word_probabilities", "log_sigmoid", "score_sentence_cbow",
           "score_sentence_sg"]


def log_sigmoid(x: NDArray[np.floating]) -> NDArray[np.float64]:
    """``log σ(x) = -log(1 + exp(-x))``, computed as ``-logaddexp(0, -x)``: finite for all
    finite ``x`` (no overflow of ``exp``), ``-inf`` at ``x = -inf``."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def _paths(tree: HuffmanTree, sentence: NDArray[np.int64]):
    """The concatenated Huffman paths of the sentence's words: ``(owner (N,), points (N,),
    signs (N,))``, owner = the position in the sentence whose word the entry belongs to."""
    flat, lengths = tree.path_entries(sentence)
    owner = np.repeat(np.arange(sentence.size), lengths)
    signs = 1.0 - 2.0 * tree.code_flat[flat].astype(np.float64)
    return owner, tree.point_flat[flat].astype(np.int64), signs


def score_sentence_sg(sentence: NDArray[np.int64], word_vectors: NDArray, node_vectors: NDArray,
                      tree: HuffmanTree, window: int) -> float:
    r"""Skip-gram log-likelihood of a sentence (vocabulary indices, shape (n,)):
    :math:`\sum_{i} \sum_{0 < |k| \le \text{window}} \log P(w_i \mid v_{w_{i+k}})`."""
    owner, points, signs = _paths(tree, sentence)
    n = sentence.size
    total = 0.0
    for offset in (*range(-window, 0), *range(1, window + 1)):  # one pass per distance
        context = owner + offset  # (N,) position of the input word for each path entry
        valid = (context >= 0) & (context < n)
        h = word_vectors[sentence[context[valid]]].astype(np.float64)  # (N', d)
        u = node_vectors[points[valid]].astype(np.float64)  # (N', d)
        total += float(log_sigmoid(signs[valid] * np.einsum("nd,nd->n", h, u)).sum())
    return total


def score_sentence_cbow(sentence: NDArray[np.int64], word_vectors: NDArray,
                        node_vectors: NDArray, tree: HuffmanTree, window: int,
                        cbow_mean: bool = True) -> float:
    r"""CBOW log-likelihood of a sentence (vocabulary indices, shape (n,)):
    :math:`\sum_i \log P(w_i \mid h_i)`, ``h_i`` the mean (or sum) of the input vectors at
    positions ``i - window .. i + window`` other than ``i``."""
    n = sentence.size
    vectors = word_vectors[sentence].astype(np.float64)  # (n, d)
    prefix = np.vstack([np.zeros((1, vectors.shape[1])), np.cumsum(vectors, axis=0)])  # (n+1, d)
    positions = np.arange(n)
    low = np.maximum(positions - window, 0)
    high = np.minimum(positions + window + 1, n)
    h = prefix[high] - prefix[low] - vectors  # (n, d): the window's sum without the center
    n_context = high - low - 1
    if cbow_mean:
        h /= np.maximum(n_context, 1)[:, None]  # a lone word keeps h = 0
    owner, points, signs = _paths(tree, sentence)
    dots = np.einsum("nd,nd->n", h[owner], node_vectors[points].astype(np.float64))
    return float(log_sigmoid(signs * dots).sum())


def context_word_probabilities(context: NDArray[np.int64], word_vectors: NDArray,
                               outside_vectors: NDArray, cbow_mean: bool = True
                               ) -> NDArray[np.float64]:
    r"""``softmax(h @ outside_vectors.T)``, shape (V,): the full-softmax distribution of the
    center word given the context's input vectors (``h`` their mean, or sum), as gensim's
    ``predict_output_word`` reads the negative-sampling output vectors ``syn1neg``.

    The scores are shifted by their maximum before ``exp`` (no overflow)."""
    h = word_vectors[context].astype(np.float64).sum(axis=0)  # (d,)
    if cbow_mean:
        h /= context.size
    scores = outside_vectors.astype(np.float64) @ h  # (V,)
    weights = np.exp(scores - scores.max())
    return weights / weights.sum()
