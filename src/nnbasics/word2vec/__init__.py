"""word2vec (CS224n assignment 1, question 3): explicit objectives, then a usable model.

* :mod:`~nnbasics.word2vec.objectives`: naive-softmax, negative-sampling and
  hierarchical-softmax losses with their gradients, skip-gram and CBOW over a window (pure
  NumPy, gradient-checked);
* :mod:`~nnbasics.word2vec.vocab`: counts, ``min_count``/``max_vocab_size``, subsampling, the
  unigram^0.75 noise table, reduced windows;
* :mod:`~nnbasics.word2vec.corpus`: streaming a corpus in batches of vocabulary indices
  (:mod:`~nnbasics.word2vec.sentences`: gensim's :class:`LineSentence` and
  :class:`PathLineSentences`);
* :mod:`~nnbasics.word2vec.reference`: the explicit training path (and the full softmax);
* :mod:`~nnbasics.word2vec.model`: :class:`Word2Vec` (gensim 4's API), saving and loading
  (:mod:`~nnbasics.word2vec.online` the vocabulary's growth, :mod:`~nnbasics.word2vec.scoring`
  sentence scores and center-word predictions);
* :mod:`~nnbasics.word2vec.keyedvectors`: :class:`KeyedVectors` queries, evaluation, formats
  (:mod:`~nnbasics.word2vec.formats` the files, :mod:`~nnbasics.word2vec.evaluation` the
  analogy and word-pair evaluations);
* :mod:`~nnbasics.word2vec.features`: :class:`MeanWordVectors`, sentence features for
  scikit-learn (the mean of a sentence's word vectors);
* :mod:`~nnbasics.word2vec.text`: :func:`simple_preprocess`, raw text to tokens (gensim's rules).
"""

from nnbasics.word2vec.corpus import LineSentences
from nnbasics.word2vec.keyedvectors import KeyedVectors
from nnbasics.word2vec.model import Word2Vec, Word2VecConfig
from nnbasics.word2vec.objectives import (
    cbow,
    hierarchical_softmax_loss_and_gradient,
    naive_softmax_loss_and_gradient,
    neg_sampling_loss_and_gradient,
    skipgram,
)
from nnbasics.word2vec.sentences import LineSentence, PathLineSentences
from nnbasics.word2vec.text import simple_preprocess

__all__ = [
    "KeyedVectors",
    "LineSentence",
    "LineSentences",
    "MeanWordVectors",
    "PathLineSentences",
    "Word2Vec",
    "Word2VecConfig",
    "cbow",
    "hierarchical_softmax_loss_and_gradient",
    "naive_softmax_loss_and_gradient",
    "neg_sampling_loss_and_gradient",
    "simple_preprocess",
    "skipgram",
]


def __getattr__(name: str):
    # MeanWordVectors is a scikit-learn transformer: imported when asked for, so that word2vec
    # itself needs neither scikit-learn nor SciPy
    if name == "MeanWordVectors":
        from nnbasics.word2vec.features import MeanWordVectors

        return MeanWordVectors
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
