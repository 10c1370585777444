r"""The word2vec model: vocabulary, training loop, loss reporting, saving and loading.

This module orchestrates; the per-word work happens in the compiled kernel
(:mod:`nnbasics._accel.word2vec_kernels`: negative sampling, hierarchical softmax or both, filled
with the model's arrays and settings once per :meth:`Word2Vec.train`), or, for the full softmax
(``negative=0, hs=0``, whose cost per pair grows with the vocabulary: small vocabularies only), in
the explicit path :func:`nnbasics.word2vec.reference.train_batch`.  The compiled modules are
imported when training starts, not with this module.

A ``corpus_file`` (or a :class:`~nnbasics.word2vec.corpus.LineSentences`) is scanned and encoded
by the compiled reader (:mod:`nnbasics._accel.corpus_reader`), which gives the same counts and
batches as the Python path; other corpora go through
:func:`~nnbasics.word2vec.corpus.iter_batches`.  The calling thread reads and encodes batches
while ``workers`` threads train them, each taking whole batches (see :meth:`Word2Vec.train`).

Shape letters: ``V`` vocabulary size, ``d`` = ``vector_size``.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import warnings
import weakref
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial

import numpy as np

from nnbasics.io.serialization import load_arrays, read_npz, save_arrays
from nnbasics.word2vec import reference
from nnbasics.word2vec.corpus import Batch, LineSentences, check_reiterable, iter_batches
from nnbasics.word2vec.formats import check_file_kind, refuse_pickle
from nnbasics.word2vec.keyedvectors import KeyedVectors, check_lockf
from nnbasics.word2vec.online import merge_counts, vocab_report
from nnbasics.word2vec.scoring import (
    context_word_probabilities,
    score_sentence_cbow,
    score_sentence_sg,
)
from nnbasics.word2vec.vocab import (
    NULL_WORD,
    RawCounts,
    VocabularyNotBuiltError,
    build_vocabulary,
    count_words,
    huffman_tree,
    keep_probabilities,
    keep_word,
    noise_cum_table,
)

__all__ = ["CHECKPOINT_NAME", "Word2Vec", "Word2VecConfig"]

_INT32_MAX = 2**31 - 1  # the compiled kernels take 32-bit sizes
_KIND = "word2vec"  # the kind of file Word2Vec.save writes (nnbasics.io.serialization)
_FORMAT_VERSION = 1
#: the file that ``checkpoint_dir`` holds: a model file (:meth:`Word2Vec.save`) with the state of
#: the training run it was written in
CHECKPOINT_NAME = "checkpoint.npz"
_RUN_KEYS = ("epochs", "epochs_done", "start_alpha", "end_alpha", "total_words", "done",
             "effective_total", "corpus_file_size")
_LEGACY_FORMAT = "nnbasics.word2vec"  # nnbasics 0.1's own .npz layout, still read

#: ``trainer(tokens, sentence_ends, alpha_start, alpha_end, seed, n_threads)`` trains one batch in
#: place and returns (loss sum, positive pairs, kept words).
BatchTrainer = Callable[..., tuple[float, int, int]]


def _effective_min_count(counts: dict, min_count: int, max_final_vocab: int | None) -> int:
    """``min_count``, raised (as gensim's ``prepare_vocab``) so that at most ``max_final_vocab``
    words reach it: one more than the count of the word ranked ``max_final_vocab + 1``."""
    if max_final_vocab is None or max_final_vocab >= len(counts):
        return min_count
    ranked = np.sort(np.fromiter(counts.values(), dtype=np.int64, count=len(counts)))[::-1]
    return max(min_count, int(ranked[max_final_vocab]) + 1)


def _is_legacy_file(path: str) -> bool:
    """Whether ``path`` has nnbasics 0.1's layout: a ``metadata`` member, no ``__metadata__``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False  # not readable as a zip: load_arrays names the problem
    return "metadata.npy" in names and "__metadata__.npy" not in names


def _read_legacy_file(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata of a model saved by nnbasics 0.1 (JSON as a uint8 array)."""
    arrays = read_npz(path, required=("vectors.npy", "syn1neg.npy", "counts.npy", "metadata.npy"),
                      what="nnbasics word2vec model")
    blob = arrays.pop("metadata")
    try:
        metadata = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path}: model metadata is not valid JSON") from None
    if not isinstance(metadata, dict) or metadata.get("format") != _LEGACY_FORMAT:
        raise ValueError(f"{path}: not an nnbasics word2vec model")
    if metadata.get("version") != 1:
        raise ValueError(f"{path}: model format version {metadata.get('version')!r} is not "
                         "supported (this nnbasics reads version 1)")
    return arrays, metadata


class _class_only(classmethod):
    """A classmethod that refuses to be called on an instance (gensim's ``call_on_class_only``):
    ``model.load(path)`` would read a new model and leave ``model`` unchanged, a silent
    mistake; ``Word2Vec.load(path)`` is meant."""

    def __get__(self, instance, owner=None):
        if instance is not None:
            raise AttributeError(f"{self.__func__.__name__}() is called on the class, not on a "
                                 f"model: model = {owner.__name__}.{self.__func__.__name__}(path)")
        return super().__get__(instance, owner)


def _finished(future: Future | None) -> bool:
    return future is None or future.done()


@dataclass(frozen=True)
class Word2VecConfig:
    """The settings of a model, with gensim 4's names and meanings (see :class:`Word2Vec`)."""

    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    sg: int = 1
    negative: int = 5
    hs: int = 0
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 0.0001
    epochs: int = 5
    workers: int = 3
    seed: int = 1
    max_vocab_size: int | None = None
    batch_words: int = 10_000
    ns_exponent: float = 0.75
    max_final_vocab: int | None = None
    shrink_windows: bool = True
    cbow_mean: int = 1
    shared_negatives: bool = True
    sorted_vocab: int = 1
    null_word: int = 0

    def __post_init__(self) -> None:
        # NumPy scalars (np.int64(3), np.float32(0.5)) as plain Python numbers: the settings
        # are saved as JSON
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.integer):
                object.__setattr__(self, name, int(value))
            elif isinstance(value, np.floating):
                object.__setattr__(self, name, float(value))

        def integer(name: str, low: int, high: int | None = _INT32_MAX) -> None:
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                    or value < low or (high is not None and value > high)):
                bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
                raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")

        # sizes go to the kernels as 32-bit integers; the seed only seeds NumPy's generators
        for name, low in (("vector_size", 1), ("window", 1), ("min_count", 0), ("negative", 0),
                          ("epochs", 1), ("workers", 1), ("batch_words", 1)):
            integer(name, low)
        integer("seed", 0, high=None)
        if self.max_vocab_size is not None:
            integer("max_vocab_size", 1)
        if self.max_final_vocab is not None:
            integer("max_final_vocab", 1)
        if not isinstance(self.shrink_windows, bool | np.bool_):
            raise ValueError(f"shrink_windows must be True or False, got {self.shrink_windows!r}")
        object.__setattr__(self, "shrink_windows", bool(self.shrink_windows))
        if not isinstance(self.shared_negatives, bool | np.bool_):
            raise ValueError(f"shared_negatives must be True or False, got "
                             f"{self.shared_negatives!r}")
        object.__setattr__(self, "shared_negatives", bool(self.shared_negatives))
        if isinstance(self.ns_exponent, bool) or not (
                isinstance(self.ns_exponent, (int, float, np.integer, np.floating))
                and np.isfinite(self.ns_exponent)):
            raise ValueError(f"ns_exponent must be a finite number, got {self.ns_exponent!r}")
        if self.sg not in (0, 1):
            raise ValueError(f"sg must be 1 (skip-gram) or 0 (CBOW), got {self.sg!r}")
        if self.cbow_mean not in (0, 1) or isinstance(self.cbow_mean, float):
            raise ValueError(f"cbow_mean must be 1 (mean of the context vectors) or 0 (their "
                             f"sum), got {self.cbow_mean!r}")
        object.__setattr__(self, "cbow_mean", int(self.cbow_mean))
        for name, meaning in (("sorted_vocab", "sort the vocabulary by descending count"),
                              ("null_word", "add the padding word '\\0'")):
            value = getattr(self, name)
            if value not in (0, 1) or isinstance(value, float):
                raise ValueError(f"{name} must be 1 ({meaning}) or 0, got {value!r}")
            object.__setattr__(self, name, int(value))
        if isinstance(self.hs, bool) or self.hs not in (0, 1):
            raise ValueError(f"hs must be 0 or 1 (hierarchical softmax), got {self.hs!r}")
        if not (self.sample >= 0 and np.isfinite(self.sample)):
            raise ValueError(f"sample must be a finite number >= 0, got {self.sample!r}")
        # no order between the two, as gensim: the tutorial's manual decay
        # (``model.alpha -= 0.002; model.min_alpha = model.alpha``) passes through
        # alpha < min_alpha, and a min_alpha above alpha makes the rate rise linearly
        if not (np.isfinite(self.alpha) and self.alpha > 0
                and np.isfinite(self.min_alpha) and self.min_alpha >= 0):
            raise ValueError(
                f"need alpha > 0 and min_alpha >= 0 (finite), got alpha={self.alpha!r}, "
                f"min_alpha={self.min_alpha!r}"
            )


class Word2Vec:
    r"""word2vec word embeddings, skip-gram or CBOW, trained by SGD (negative sampling or
    hierarchical softmax).

    Parameters
    ----------
    sentences : re-iterable of lists of str, optional
        The corpus: a list of token lists, or an object whose ``__iter__`` starts a new pass each
        time (e.g. :class:`~nnbasics.word2vec.corpus.LineSentences`).  A one-shot generator
        raises ``TypeError``: later epochs would train on nothing.  If given (or ``corpus_file``),
        the vocabulary is built and the model trained at once.
    corpus_file : path, optional
        A UTF-8 text file, one sentence per line, tokens separated by whitespace; streamed (memory
        does not grow with the corpus) and never truncated.  Invalid UTF-8 raises ``ValueError``
        naming the line.
    vector_size : int, default 100
        Dimension ``d`` of the word vectors.
    window : int, default 5
        Largest distance between the center and a context word; each center uses a window drawn
        uniformly in ``[1, window]``.
    min_count : int, default 5
        Words with fewer occurrences are dropped.
    sg : {1, 0}, default 1
        1 for skip-gram, 0 for CBOW (from the mean of the context vectors, or their sum: see
        ``cbow_mean``).
    negative : int, default 5
        Negative samples per positive pair (drawn from unigram^0.75).  With ``hs=0``,
        0 trains with the full softmax, whose cost grows with the vocabulary: small vocabularies
        only; with ``hs=1``, 0 trains hierarchical softmax alone.
    hs : {0, 1}, default 0
        1 trains hierarchical softmax over a Huffman tree of the counts (gensim's tree, node
        vectors ``syn1``); with ``negative > 0`` as well, both output layers are trained.  As
        in word2vec.c and gensim, a node whose score is beyond ±6 takes no step.
    sample : float, default 1e-3
        Frequent-word subsampling threshold (0 disables).
    alpha, min_alpha : float, default 0.025 and 0.0001
        Learning rate, decayed linearly from ``alpha`` to ``min_alpha`` over all epochs, in
        steps of a batch (``batch_words``) as gensim and word2vec.c (:meth:`train`).
    epochs : int, default 5
    workers : int, default 3
        Threads training batches in parallel with the compiled kernel (each takes whole
        batches; a batch of more than ``4 * batch_words`` tokens, a very long line, is split
        among ``workers`` threads).  With ``workers=1`` a given seed gives identical vectors run
        after run, with no environment variable.
    seed : int, default 1
        Seeds the initial vectors and every batch's random draws.
    max_vocab_size : int, optional
        Limit on distinct words held while counting (rare words are pruned, as gensim).
    callbacks : sequence, default ()
        Objects with any of ``on_train_begin(model)``, ``on_epoch_begin(model)``,
        ``on_epoch_end(model)``, ``on_train_end(model)`` (gensim's ``CallbackAny2Vec`` works),
        called by the training the constructor runs; a later :meth:`train` calls the ones it
        is given, as in gensim.
    batch_words : int, default 10000
        Tokens per batch handed to the kernel (whole sentences; never truncated).
    progress : bool or None, default None
        Show a progress bar (words/s and running loss); ``None``: only when stderr is a terminal.
    compute_loss : bool, default False
        Accepted for gensim's signature (also by :meth:`train`); the loss is computed either way
        (it costs nothing extra in these kernels), see :meth:`get_latest_training_loss`.
    ns_exponent : float, default 0.75
        The exponent of the negative-sampling distribution, :math:`P_n(w) \\propto n_w^{e}`
        (gensim's name: 0.75 is word2vec's; 0 samples uniformly, 1 by frequency).
    max_final_vocab : int, optional
        Keep at most this many words: ``min_count`` is raised, as gensim does, to one more than
        the count of the word just past the limit (ties are all dropped, so fewer may remain).
    trim_rule : callable, optional
        ``trim_rule(word, count, min_count)`` returning ``RULE_KEEP``, ``RULE_DISCARD`` or
        ``RULE_DEFAULT`` (gensim's values 2, 1, 0, also in :mod:`nnbasics.word2vec.vocab`):
        used by the vocabulary the constructor builds (see :meth:`build_vocab`).
    shrink_windows : bool, default True
        Each center's window drawn uniform in ``[1, window]`` (word2vec's, which weights near
        words more), or always the whole ``window`` (gensim's ``shrink_windows=False``).  Either
        way, a line so long that its batch is split among ``workers`` threads (4 x
        ``batch_words`` tokens or more) has its windows cut where the threads' ranges meet.
    cbow_mean : {1, 0}, default 1
        CBOW only: predict the center word from the mean of the context vectors (1) or from
        their sum (0), as gensim.  Either way each context vector takes the step computed at
        that input, as gensim applies it: the whole step with the mean, a ``1/C`` share of it
        with the sum of ``C`` vectors (the compiled kernels; the explicit ``negative=0`` path
        takes exact gradients, :func:`nnbasics.word2vec.objectives.cbow`).
    shared_negatives : bool, default True
        Skip-gram with negative sampling only.  True: the pairs of a window share one draw of
        ``negative`` negatives and take one step together (pWord2Vec's minibatching), about
        1.5x faster than False.  False: each (context, center) pair draws its own negatives
        and takes its own step, word2vec.c's and gensim's algorithm.  The default is the fast
        one because its vectors measured at least as good as the exact one's, and as gensim's
        (analogies, WordSim-353, SimLex-999 over 3 seeds: ``benchmarks/RESULTS.md``, "word2vec
        at realistic scale"); False reproduces word2vec.c step for step.
    sorted_vocab : {1, 0}, default 1
        1: number the words by descending count (equal counts in reverse order of first
        occurrence, as gensim sorts them); 0: in order of first occurrence in the corpus
        (gensim's ``sorted_vocab=0``).  Words added later by ``build_vocab(update=True)`` are
        appended either way.
    null_word : {0, 1}, default 0
        1 adds gensim's padding word ``"\\0"`` to the vocabulary, with count 1 (before the
        sort): it has a vector, a Huffman path and a share of the negative-sampling noise like
        any word of count 1, but never occurs in a corpus (with ``sample > 0`` it would always
        be subsampled away, as in gensim, and it is left out of the subsampling threshold's
        total).  ``ValueError`` if the corpus already holds the token ``"\\0"``.
    checkpoint_dir : path, optional
        Directory where :meth:`train` writes ``checkpoint.npz`` (atomically) at the end of every
        epoch: the model, its vocabulary, and the run's position (epochs done, words done of
        the learning-rate schedule).  The random draws of every batch derive from ``seed``
        and the epoch and batch numbers, so that position is the whole random state.
        :meth:`resume` continues an interrupted run from it; with ``workers=1`` the result is
        bit-identical to the uninterrupted run's.

    Attributes
    ----------
    wv : KeyedVectors
        The word vectors (``wv.vectors``, V×d float32) and vocabulary.  ``wv.vectors_lockf``
        (gensim's, float32, one value or one per word, read when :meth:`train` starts)
        multiplies every training step of a word's vector: 0.0 freezes it, 1.0 (the default)
        trains it normally; the output vectors train either way.  Saved with the model.
    syn1neg : ndarray of float32, shape (V, d)
        The output ("outside") vectors of negative sampling (or of the full softmax).
    syn1 : ndarray of float32, shape (V, d), or None
        With ``hs=1``: the vectors of the Huffman tree's inner nodes (row ``V-1`` unused).
    hs_tree : HuffmanTree or None
        With ``hs=1``: each word's ``codes`` and ``points`` (as gensim's ``'code'``/``'point'``).
    epoch_losses : list of float
        Loss summed over every loss term of each epoch trained, in float64.
    """

    def __init__(
        self,
        sentences: Iterable[Sequence[str]] | None = None,
        corpus_file: str | os.PathLike | None = None,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        sg: int = 1,
        negative: int = 5,
        hs: int = 0,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 0.0001,
        epochs: int = 5,
        workers: int = 3,
        seed: int = 1,
        max_vocab_size: int | None = None,
        callbacks: Sequence = (),
        batch_words: int = 10_000,
        progress: bool | None = None,
        compute_loss: bool = False,
        ns_exponent: float = 0.75,
        max_final_vocab: int | None = None,
        trim_rule=None,
        shrink_windows: bool = True,
        cbow_mean: int = 1,
        shared_negatives: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        sorted_vocab: int = 1,
        null_word: int = 0,
    ):
        self.config = Word2VecConfig(
            vector_size=vector_size, window=window, min_count=min_count, sg=int(sg),
            negative=negative, hs=int(hs), sample=sample, alpha=alpha, min_alpha=min_alpha,
            epochs=epochs, workers=workers, seed=seed, max_vocab_size=max_vocab_size,
            batch_words=batch_words, ns_exponent=ns_exponent, max_final_vocab=max_final_vocab,
            shrink_windows=shrink_windows, cbow_mean=cbow_mean,
            shared_negatives=shared_negatives, sorted_vocab=sorted_vocab, null_word=null_word,
        )
        self.callbacks = tuple(callbacks)
        self.progress = progress
        self.compute_loss = bool(compute_loss)
        self.wv: KeyedVectors | None = None
        self.syn1neg: np.ndarray | None = None
        self.syn1: np.ndarray | None = None
        self.corpus_count = 0
        self.corpus_total_words = 0
        self.epochs_trained = 0
        self.epoch_losses: list[float] = []
        self.epoch_pairs: list[int] = []
        self.effective_min_count: int | None = None  # min_count after max_final_vocab
        self.checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        self._run_state: dict | None = None  # the checkpointed run (load of a checkpoint)
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file=corpus_file, trim_rule=trim_rule)
            self.train(sentences, corpus_file=corpus_file, callbacks=self.callbacks,
                       compute_loss=self.compute_loss)

    # gensim exposes the settings as attributes, read and written
    def __getattr__(self, name: str):
        config = self.__dict__.get("config")
        if config is not None and name in Word2VecConfig.__dataclass_fields__:
            return getattr(config, name)
        if isinstance(type(self).__dict__.get(name), _class_only):  # its own message was lost
            raise AttributeError(f"{name}() is called on the class, not on a model: "
                                 f"model = {type(self).__name__}.{name}(path)")
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setstate__(self, state: dict) -> None:
        # an unpickled model (copy.deepcopy, multiprocessing): its wv is marked as assigned
        self.__dict__.update(state)
        if isinstance(state.get("wv"), KeyedVectors):
            state["wv"]._model = weakref.ref(self)

    def __setattr__(self, name: str, value) -> None:
        config = self.__dict__.get("config")
        if name == "wv":
            # the output vectors follow the order of the model's words: its wv may not be
            # reordered (KeyedVectors.sort_by_descending_frequency checks this mark)
            if isinstance(value, KeyedVectors):
                value._model = weakref.ref(self)
        if config is None or name not in Word2VecConfig.__dataclass_fields__:
            object.__setattr__(self, name, value)
            return
        # ``model.window = 2`` as in gensim: the next build_vocab/train uses it (validated as
        # in the constructor).  What the built vocabulary's arrays depend on cannot change
        # under them; the subsampling table follows ``sample``.
        if self.__dict__.get("wv") is not None and name in ("vector_size", "hs"):
            raise ValueError(f"{name} cannot change after build_vocab (the vectors are "
                             f"allocated for {name}={getattr(config, name)!r}); set it before, "
                             "or build a new model")
        object.__setattr__(self, "config", replace(config, **{name: value}))
        if name in ("sample", "ns_exponent") and self.__dict__.get("wv") is not None:
            self._derive_tables()

    # -- vocabulary ---------------------------------------------------------------------------

    @staticmethod
    def _source(corpus_iterable, corpus_file) -> Iterable[Sequence[str]]:
        if (corpus_iterable is None) == (corpus_file is None):
            raise ValueError("give exactly one of sentences (corpus_iterable) and corpus_file")
        if corpus_file is not None:
            return LineSentences(corpus_file)
        return check_reiterable(corpus_iterable)

    def build_vocab(
        self, corpus_iterable: Iterable[Sequence[str]] | None = None,
        corpus_file: str | os.PathLike | None = None, update: bool = False,
        progress_per: int = 10_000, keep_raw_vocab: bool = False, trim_rule=None,
    ) -> None:
        """Count the corpus, keep the words seen ``min_count`` times, initialise the vectors.

        The parameters are gensim's, in gensim's order (``progress_per``, how often gensim logs
        its count, is accepted and does nothing).  Earlier nnbasics took ``trim_rule`` third and
        ``update`` fourth: a callable ``update`` or a bool ``progress_per`` is refused with a
        ``TypeError`` (pass them by name).

        ``trim_rule(word, count, min_count)``, as gensim's, may keep or discard words whatever
        their counts (:func:`nnbasics.word2vec.vocab.keep_word`); it is not saved with the model.

        The word vectors start uniform in ``[-1/d, 1/d)``, gensim 4's range (word2vec.c's is
        half as wide; with it, CBOW trained measurably slower than gensim at equal epochs:
        ``benchmarks/RESULTS.md``), the output vectors at 0.  An empty corpus or an empty
        vocabulary raises :class:`~nnbasics.word2vec.vocab.EmptyVocabularyError` (a
        ``ValueError``, and a ``RuntimeError`` as gensim raises).

        ``update=True`` grows a built vocabulary instead (gensim's online learning): known words
        add their counts in this corpus, and its new words that reach ``min_count`` in it are
        appended with new vectors (:mod:`nnbasics.word2vec.online`); trained vectors are kept.
        On a model without a vocabulary it raises
        :class:`~nnbasics.word2vec.vocab.VocabularyNotBuiltError` (a ``ValueError``, and a
        ``RuntimeError`` as gensim raises).
        The method is :meth:`scan_vocab` then :meth:`prepare_vocab`, as in gensim.
        """
        if callable(update) or isinstance(progress_per, bool | np.bool_):
            raise TypeError("build_vocab takes gensim's parameters in gensim's order "
                            "(corpus_iterable, corpus_file, update, progress_per, "
                            "keep_raw_vocab, trim_rule): pass update and trim_rule by name")
        self.scan_vocab(corpus_iterable, corpus_file, trim_rule=trim_rule)
        self.prepare_vocab(update=update, keep_raw_vocab=keep_raw_vocab, trim_rule=trim_rule)

    def _derive_tables(self) -> None:
        counts = self.wv.counts
        self.keep_probability = self._keep_probabilities(counts)
        self.cum_table = noise_cum_table(counts, self.config.ns_exponent)
        self.hs_tree = huffman_tree(counts) if self.config.hs else None
        self.wv.huffman_tree = self.hs_tree  # gensim's get_vecattr(word, "code" / "point")

    def _keep_probabilities(self, counts: np.ndarray) -> np.ndarray:
        """The subsampling table; gensim's null word (``null_word=1``), added after its
        subsampling threshold is computed, is left out of the total and never kept (its
        ``sample_int`` is 0) unless ``sample == 0``."""
        null = self.wv.key_to_index.get(NULL_WORD) if self.config.null_word else None
        if null is None:
            return keep_probabilities(counts, self.config.sample)
        keep = keep_probabilities(np.delete(counts, null), self.config.sample)
        return np.insert(keep, null, np.float32(0.0 if self.config.sample else 1.0))

    def scan_vocab(
        self, corpus_iterable: Iterable[Sequence[str]] | None = None,
        corpus_file: str | os.PathLike | None = None, progress_per: int = 10_000,
        workers: int | None = None, trim_rule=None,
    ) -> tuple[int, int]:
        """Count the corpus's words (gensim's first step of :meth:`build_vocab`).

        Sets ``raw_vocab`` (:class:`~nnbasics.word2vec.vocab.RawCounts`, a mapping ``word ->
        count`` as gensim's dict), ``corpus_count`` and ``corpus_total_words``;
        ``progress_per`` and ``workers`` are accepted for gensim's signature (the scan reports
        no progress and runs in one thread).

        Returns
        -------
        (total_words, corpus_count) : the tokens and sentences read.
        """
        source = self._source(corpus_iterable, corpus_file)
        if isinstance(source, LineSentences) and self.config.max_vocab_size is None:
            from nnbasics._accel.corpus_reader import count_file

            raw = count_file(source.path)  # compiled scan, same counts
        else:
            raw = count_words(source, self.config.max_vocab_size, trim_rule)
        self.raw_vocab = raw
        self.corpus_count = raw.n_sentences
        self.corpus_total_words = raw.total_words
        return raw.total_words, raw.n_sentences

    def prepare_vocab(
        self, update: bool = False, keep_raw_vocab: bool = False, trim_rule=None,
        min_count: int | None = None, sample: float | None = None, dry_run: bool = False,
    ) -> dict[str, int]:
        """Apply ``min_count`` (raised by ``max_final_vocab``) to the counts of
        :meth:`scan_vocab`, and build (or, with ``update``, grow) the vocabulary and vectors.

        ``min_count``/``sample``, if given, replace the model's (as gensim, "make stored
        settings match these applied settings": the subsampling table is built with that
        ``sample``); ``dry_run`` only reports, and changes nothing.  ``raw_vocab`` is dropped
        afterwards unless ``keep_raw_vocab``.

        Returns
        -------
        dict
            gensim's figures (:func:`nnbasics.word2vec.online.vocab_report`): ``drop_unique``,
            ``retain_total``, ``num_retained_words``, ``downsample_unique``, ...
        """
        raw = self.__dict__.get("raw_vocab")
        if raw is None:
            raise ValueError("no word counts to prepare: call scan_vocab() first")
        if update and (self.wv is None or self.syn1neg is None):
            raise VocabularyNotBuiltError("update=True grows a vocabulary, but this model has "
                                          "none built by build_vocab(): build it first "
                                          "(without update)")
        cfg = self.config
        min_count = cfg.min_count if min_count is None else int(min_count)
        sample = cfg.sample if sample is None else float(sample)
        effective = _effective_min_count(raw.counts, min_count, cfg.max_final_vocab)
        known = self.wv.key_to_index if update else None
        report = vocab_report(raw, effective, sample, trim_rule, known=known)
        if dry_run:
            return report
        self.config = replace(cfg, min_count=min_count, sample=sample)  # validated there
        self.effective_min_count = effective
        if update:
            self._grow_vocab(raw, effective, trim_rule)
        else:
            self._new_vocab(raw, effective, trim_rule)
        if not keep_raw_vocab:
            self.raw_vocab = None
        return report

    def build_vocab_from_freq(
        self, word_freq: dict[str, int], keep_raw_vocab: bool = False,
        corpus_count: int | None = None, trim_rule=None, update: bool = False,
    ) -> None:
        """Build (or with ``update``, grow) the vocabulary from ``{word: count}`` instead of a
        corpus (gensim's method); ``corpus_count``: the number of sentences behind the counts,
        for :meth:`train`'s ``total_examples`` (0 if not given)."""
        if not isinstance(word_freq, dict):
            raise TypeError(f"word_freq must be a dict {{word: count}}, got "
                            f"{type(word_freq).__name__}")
        for word, count in word_freq.items():
            if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
                raise ValueError(f"the count of {word!r} must be an integer >= 0, got {count!r}")
        counts = {word: int(count) for word, count in word_freq.items()}
        self.raw_vocab = RawCounts(counts, sum(counts.values()), int(corpus_count or 0), 1)
        self.corpus_count = self.raw_vocab.n_sentences
        self.corpus_total_words = self.raw_vocab.total_words
        self.prepare_vocab(update=update, keep_raw_vocab=keep_raw_vocab, trim_rule=trim_rule)

    def _new_vocab(self, raw: RawCounts, min_count: int, trim_rule) -> None:
        """Keep the words of ``raw`` that reach ``min_count`` and initialise the vectors."""
        try:
            vocab = build_vocabulary(raw, min_count, trim_rule,
                                     sorted_vocab=bool(self.config.sorted_vocab),
                                     null_word=bool(self.config.null_word))
        except ValueError as error:  # name what raised min_count or dropped words besides it
            causes = []
            if min_count != self.config.min_count:
                causes.append(f"max_final_vocab={self.config.max_final_vocab} raised min_count "
                              f"from {self.config.min_count} to {min_count}")
            if trim_rule is not None and any(
                    n >= min_count and not keep_word(w, n, min_count, trim_rule)
                    for w, n in raw.counts.items()):
                causes.append("trim_rule discarded words that reach min_count")
            if not causes:
                raise
            raise type(error)(f"{error} ({'; '.join(causes)})") from None
        self._set_vocabulary(vocab.index_to_key, vocab.counts)

    def _set_vocabulary(self, keys: list[str], counts: np.ndarray) -> None:
        """A fresh model over ``keys``: new input vectors, zero output vectors, no epochs."""
        shape = (len(keys), self.config.vector_size)
        self.wv = KeyedVectors(keys, self._initial_vectors(len(keys), 0), counts=counts)
        self.syn1neg = np.zeros(shape, dtype=np.float32)
        self.syn1 = np.zeros(shape, dtype=np.float32) if self.config.hs else None
        self.epochs_trained = 0
        self.epoch_losses, self.epoch_pairs = [], []
        self._derive_tables()

    def _initial_vectors(self, n_rows: int, first_index: int) -> np.ndarray:
        """Input vectors for words ``first_index .. first_index + n_rows - 1``: uniform in
        ``[-1/d, 1/d)`` from the model's seed (and, for words added later, their first index)."""
        seed = self.config.seed if first_index == 0 else [self.config.seed, first_index]
        rng = np.random.default_rng(seed)
        d = self.config.vector_size
        vectors = rng.random((n_rows, d), dtype=np.float32)  # in place below: no temporaries
        vectors *= np.float32(2.0)
        vectors -= np.float32(1.0)
        vectors /= np.float32(d)
        return vectors

    def _grow_vocab(self, raw: RawCounts, min_count: int, trim_rule) -> None:
        """Add ``raw``'s counts to the vocabulary: known words count more, new words are
        appended with new input vectors and zero output rows; the noise table and Huffman tree
        are derived again from the merged counts, the subsampling table as gensim's
        (:mod:`nnbasics.word2vec.online`)."""
        counts = self.wv.counts if self.wv.counts is not None else np.zeros(len(self.wv), int)
        update = merge_counts(self.wv.key_to_index, counts, raw, min_count, trim_rule)
        keep = update.keep_probabilities(self.keep_probability, self.config.sample)
        n_new = len(update.new_words)
        if n_new:
            self.wv.add_vectors(update.new_words, self._initial_vectors(n_new, len(self.wv)))
            zeros = np.zeros((n_new, self.config.vector_size), dtype=np.float32)
            self.syn1neg = np.vstack([self.syn1neg, zeros])
            if self.syn1 is not None:
                self.syn1 = np.vstack([self.syn1, zeros])
        self.wv.counts = np.concatenate([update.counts, update.new_counts])
        self._derive_tables()
        self.keep_probability = keep

    def reset_from(self, other_model: Word2Vec) -> None:
        """Take ``other_model``'s vocabulary (words, counts, corpus size) and start from new
        vectors, as gensim's ``reset_from``: this model's own settings stay."""
        if other_model.wv is None or other_model.wv.counts is None:
            raise ValueError("reset_from needs a model whose vocabulary is built (with counts)")
        self._set_vocabulary(list(other_model.wv.index_to_key), other_model.wv.counts.copy())
        self.corpus_count = other_model.corpus_count
        self.corpus_total_words = other_model.corpus_total_words
        self.effective_min_count = other_model.effective_min_count

    def _check_trainable(self) -> None:
        """``ValueError`` naming what is missing if ``wv`` was set without the rest of a model
        (e.g. vectors read from a word2vec file): the output vectors and the vocabulary's
        tables come only from :meth:`build_vocab` (or :meth:`reset_from`)."""
        n_words = len(self.wv)
        arrays = {name: self.__dict__.get(name) for name in ("syn1neg", "keep_probability")}
        missing = [name for name, array in arrays.items()
                   if array is None or len(array) != n_words]
        if self.config.hs and (self.syn1 is None or len(self.syn1) != n_words):
            missing.append("syn1")
        if missing:
            raise ValueError(
                f"this model cannot train: it has no {', '.join(missing)} for the {n_words} "
                "words of wv (was wv assigned by hand, e.g. from a word2vec file? those files "
                "hold the input vectors only); build the vocabulary with build_vocab() or "
                "reset_from(model)")

    # -- what the model says about text ------------------------------------------------------

    def score(self, sentences: Iterable[Sequence[str]], total_sentences: int = 1_000_000,
              chunksize: int = 100, queue_factor: int = 2,
              report_delay: float = 1.0) -> np.ndarray:
        r"""Log-likelihood of each sentence under the model's hierarchical softmax (gensim's).

        Skip-gram or CBOW as trained, the whole window, no subsampling, words outside the
        vocabulary left out (:mod:`nnbasics.word2vec.scoring` gives the formula).  Scores at
        most ``total_sentences`` sentences; ``chunksize``, ``queue_factor`` and
        ``report_delay`` are accepted for gensim's signature.

        Every term is the exact :math:`\log\sigma(x)`, :math:`x = s_j\, h \cdot u_{p_j}`.  gensim's
        scores of the same vectors differ (1-2% lower on small models): it leaves out the terms
        with :math:`|x| \ge 6` and reads the others from a table of :math:`\log\sigma` on a
        grid of step 0.012 over :math:`[-6, 6)`, at index :math:`\lfloor 83 (x + 6) \rfloor`
        where the grid has 83.3 points per unit (an integer division), so at or left of
        :math:`x`.

        Returns
        -------
        ndarray of float64, shape (number of sentences scored,)

        Raises
        ------
        RuntimeError
            If the model was not trained with ``hs=1`` (gensim's error).
        """
        if not self.config.hs or self.syn1 is None or self.hs_tree is None:
            raise RuntimeError("score() is the log-likelihood under hierarchical softmax: the "
                               "model must have been built with hs=1")
        key_to_index = self.wv.key_to_index
        scores = []
        for sentence in itertools.islice(check_reiterable(sentences), int(total_sentences)):
            if isinstance(sentence, str):
                raise TypeError("each sentence must be a list of tokens, got a str")
            indices = np.array([key_to_index[w] for w in sentence if w in key_to_index],
                               dtype=np.int64)
            if self.config.sg:
                value = score_sentence_sg(indices, self.wv.vectors, self.syn1, self.hs_tree,
                                          self.config.window)
            else:
                value = score_sentence_cbow(indices, self.wv.vectors, self.syn1, self.hs_tree,
                                            self.config.window, bool(self.config.cbow_mean))
            scores.append(value)
        return np.array(scores, dtype=np.float64)

    def predict_output_word(self, context_words_list: Sequence[str | int],
                            topn: int = 10) -> list[tuple[str, float]] | None:
        """The ``topn`` most probable center words given context words (or their indices), by
        the full softmax over the negative-sampling output vectors (gensim's method,
        :func:`nnbasics.word2vec.scoring.context_word_probabilities`); ``None`` if no context
        word is in the vocabulary.  ``topn=None`` gives every word, ``topn < 1`` none (as gensim).

        Raises
        ------
        RuntimeError
            If the model has no negative-sampling output vectors (``negative=0``, or ``wv``
            assigned by hand), as gensim.
        """
        if not self.config.negative:
            raise RuntimeError("predict_output_word reads the negative-sampling output vectors: "
                               "the model must have been trained with negative > 0")
        if self.wv is None or self.syn1neg is None or len(self.syn1neg) != len(self.wv):
            raise RuntimeError("the model has no output vectors (syn1neg) for its words: "
                               "predict_output_word needs a model trained by nnbasics")
        context = np.array([self.wv.get_index(w) for w in context_words_list
                            if self.wv.has_index_for(w)], dtype=np.int64)
        if context.size == 0:
            return None
        probabilities = context_word_probabilities(context, self.wv.vectors, self.syn1neg,
                                                   bool(self.config.cbow_mean))
        if topn is not None and int(topn) < 1:
            return []
        top = np.argsort(-probabilities, kind="stable")[:topn]
        return [(self.wv.index_to_key[i], float(probabilities[i])) for i in top.tolist()]

    # -- training -----------------------------------------------------------------------------

    def train(
        self,
        corpus_iterable: Iterable[Sequence[str]] | None = None,
        corpus_file: str | os.PathLike | None = None,
        total_examples: int | None = None,
        total_words: int | None = None,
        epochs: int | None = None,
        start_alpha: float | None = None,
        end_alpha: float | None = None,
        word_count: int = 0,
        queue_factor: int = 2,
        report_delay: float = 1.0,
        compute_loss: bool = False,
        callbacks: Sequence = (),
        checkpoint_dir: str | os.PathLike | None = None,
    ) -> tuple[int, int]:
        """Train for ``epochs`` passes over the corpus (default: the model's ``epochs``).

        The parameters are gensim's, in gensim's order, then ``checkpoint_dir``.
        ``word_count``, ``queue_factor`` and ``report_delay`` are accepted for gensim's
        signature and do nothing (gensim 4 does not use ``word_count`` either); see the class
        for ``compute_loss``.

        The learning rate falls linearly from ``start_alpha`` (default ``alpha``) to
        ``end_alpha`` (default ``min_alpha``) over ``epochs * total_words`` words (default: the
        word count of the vocabulary scan; given ``total_examples`` sentences instead, that count
        scaled by ``total_examples / corpus_count``), and stays at ``end_alpha`` should the
        corpus hold more words than that.  As in gensim and word2vec.c it moves in steps: each
        batch of about ``batch_words`` words trains at the rate of its first word (a batch of
        one line over ``2 * batch_words`` words decays inside, linearly).

        Every call runs a schedule of its own: a second ``train()`` (after the constructor's, or
        after :meth:`load`) starts again at ``start_alpha``, by default ``alpha``, as gensim
        does; it does not go on from where the last call's rate ended.  To continue at a lower
        rate, pass ``start_alpha`` (e.g. ``model.min_alpha``) and ``end_alpha``.  As in gensim,
        a call's ``epochs``, ``start_alpha`` and ``end_alpha`` become the model's ``epochs``,
        ``alpha`` and ``min_alpha`` (validated first), so a later ``train()`` without them runs
        the same schedule.  To continue an *interrupted* run exactly where it stopped, train
        with ``checkpoint_dir`` and call :meth:`resume`.

        ``checkpoint_dir`` (default: the model's) gets a checkpoint at the end of every epoch
        (:data:`CHECKPOINT_NAME`, see the class's ``checkpoint_dir``).

        Returns
        -------
        (effective_words, raw_words) : words trained on after subsampling, and words read.

        Raises
        ------
        VocabularyNotBuiltError
            Called before :meth:`build_vocab` (a ``ValueError``, and a ``RuntimeError`` as
            gensim raises).
        """
        if self.wv is None:
            raise VocabularyNotBuiltError("build the vocabulary first: call build_vocab() "
                                          "before train()")
        self._check_trainable()
        self.compute_loss = bool(compute_loss)
        source = self._source(corpus_iterable, corpus_file)
        cfg = self.config
        epochs = cfg.epochs if epochs is None else int(epochs)
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        for name, count in (("total_examples", total_examples), ("total_words", total_words)):
            if count is not None and not count >= 1:
                raise ValueError(f"{name} must be >= 1, got {count!r}")
        if total_words is None and total_examples is not None and self.corpus_count:
            # progress is counted in words: the scan's words per sentence, times the sentences
            total_words = round(self.corpus_total_words * int(total_examples) / self.corpus_count)
        total_words = int(total_words or self.corpus_total_words)
        start_alpha = cfg.alpha if start_alpha is None else float(start_alpha)
        end_alpha = cfg.min_alpha if end_alpha is None else float(end_alpha)
        # as gensim's train(): the run's settings become the model's (a callback reading
        # model.epochs sees this run's; a later train() starts from this start_alpha)
        cfg = self.config = replace(cfg, epochs=epochs, alpha=start_alpha, min_alpha=end_alpha)
        corpus_file_size = (os.path.getsize(source.path) if isinstance(source, LineSentences)
                            else -1)
        run = dict(epochs=epochs, epochs_done=0, start_alpha=start_alpha, end_alpha=end_alpha,
                   total_words=total_words, done=0, effective_total=0,
                   corpus_file_size=corpus_file_size)
        if checkpoint_dir is not None:
            self.checkpoint_dir = os.fspath(checkpoint_dir)
        return self._run(source, run, tuple(callbacks))

    def _run(self, source, run: dict, callbacks: tuple) -> tuple[int, int]:
        """Train the epochs of ``run`` not done yet (a :meth:`train` call's schedule)."""
        cfg = self.config
        epochs, total_words = run["epochs"], run["total_words"]
        start_alpha, end_alpha = run["start_alpha"], run["end_alpha"]
        trainer, n_parallel = self._batch_trainer()
        read_batches = self._batch_reader(source)
        planned = max(1, epochs * total_words)
        done = run["done"]  # raw words of this run trained before (a resumed run's)
        effective_total = run["effective_total"]
        bar = self._progress_bar(planned)
        if bar is not None and done:
            bar.update(done)
        # Batches are read and encoded here, in the calling thread, and trained by ``n_parallel``
        # worker threads, each taking whole batches in order (as gensim's workers do); at most
        # 2 * n_parallel batches are read ahead.  The compiled kernel releases the GIL, and so does
        # the compiled file reader, so reading overlaps with training.  With workers=1 the batches
        # are trained one after the other in reading order: the run is deterministic.
        pool = ThreadPoolExecutor(max_workers=n_parallel, thread_name_prefix="nnbasics-w2v")
        pending: deque = deque()  # (future or None, raw words) of the batches in flight
        epoch_sums = [0.0, 0]  # loss (float64) and positive pairs of the current epoch

        def collect() -> None:
            nonlocal effective_total
            future, raw_words = pending.popleft()
            if future is not None:
                loss, pairs, kept = future.result()
                epoch_sums[0] += float(loss)
                epoch_sums[1] += int(pairs)
                effective_total += int(kept)
            if bar is not None:
                bar.update(raw_words)
                mean = epoch_sums[0] / max(epoch_sums[1], 1)
                bar.set_postfix(epoch=self.epochs_trained + 1, loss=f"{mean:.4f}", refresh=False)

        self._call(callbacks, "on_train_begin")
        try:
            for epoch_of_run in range(run["epochs_done"], epochs):
                self._call(callbacks, "on_epoch_begin")
                epoch_sums[:] = [0.0, 0]
                epoch_start = done
                for batch_index, batch in enumerate(read_batches()):
                    # capped: more words than planned train at end_alpha, never below it
                    fraction = (min(1.0, done / planned),
                                min(1.0, (done + batch.raw_words) / planned))
                    # the rate is the batch's start value throughout it, as gensim and
                    # word2vec.c hold it over each ~10,000 words; a batch of one long line
                    # (gensim would cut it) decays inside instead, from start to end value
                    long_line = int(batch.raw_words > 2 * cfg.batch_words)
                    done += batch.raw_words
                    future = None
                    if batch.tokens.size:
                        # a batch far above batch_words (a very long line) is split among threads
                        big = batch.tokens.size >= 4 * cfg.batch_words
                        future = pool.submit(
                            trainer, batch.tokens, batch.sentence_ends,
                            start_alpha - (start_alpha - end_alpha) * fraction[0],
                            start_alpha - (start_alpha - end_alpha) * fraction[long_line],
                            self._batch_seed(batch_index), n_parallel if big else 1,
                        )
                    pending.append((future, batch.raw_words))
                    while pending and (len(pending) > 2 * n_parallel or _finished(pending[0][0])):
                        collect()
                while pending:  # the epoch ends when all its batches are trained
                    collect()
                if done == epoch_start and total_words > 0:
                    # a re-iterable that comes back empty (a one-shot check cannot see it)
                    raise ValueError(
                        f"the corpus yielded no words in epoch {self.epochs_trained + 1}, but "
                        f"{total_words} were expected: is it a re-iterable that runs only once?"
                    )
                self.epochs_trained += 1
                self.epoch_losses.append(epoch_sums[0])
                self.epoch_pairs.append(epoch_sums[1])
                self.wv.fill_norms()
                if self.checkpoint_dir is not None:
                    self._save_checkpoint(dict(run, epochs_done=epoch_of_run + 1, done=done,
                                               effective_total=effective_total))
                self._call(callbacks, "on_epoch_end")
        finally:
            # on an error (a bad line, an interrupt) no thread goes on writing the vectors
            pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()
        self._call(callbacks, "on_train_end")
        return effective_total, done

    def _batch_trainer(self) -> tuple[BatchTrainer, int]:
        """The function that trains one batch, and the number of threads to run batches in.

        The compiled kernel, configured here once per :meth:`train` call with the model's arrays
        and settings, runs in ``workers`` threads; the explicit full-softmax path holds the GIL
        and runs in one (so it is never asked to split a batch).
        """
        cfg = self.config
        lock_factors = self._lock_factors()
        if cfg.negative == 0 and not cfg.hs:
            def full_softmax(tokens, sentence_ends, alpha_start, alpha_end, seed, n_threads):
                return reference.train_batch(
                    self.wv.vectors, self.syn1neg, tokens, sentence_ends, self.keep_probability,
                    self.cum_table, bool(cfg.sg), cfg.window, 0, alpha_start, alpha_end, seed,
                    shrink_windows=cfg.shrink_windows, cbow_mean=bool(cfg.cbow_mean),
                    lock_factors=lock_factors,
                )

            return full_softmax, 1
        from nnbasics._accel import word2vec_kernels  # compiled on the first batch, not at import

        config = word2vec_kernels.kernel_config(
            self.wv.vectors, self.keep_probability, sg=bool(cfg.sg), window=cfg.window,
            negative=cfg.negative, outside_vectors=self.syn1neg, noise_cum_table=self.cum_table,
            hs=bool(cfg.hs), node_vectors=self.syn1, tree=self.hs_tree,
            shrink_windows=cfg.shrink_windows, cbow_mean=bool(cfg.cbow_mean),
            shared_negatives=cfg.shared_negatives, lock_factors=lock_factors,
            concurrent=cfg.workers > 1,
        )
        return partial(word2vec_kernels.train_batch, config), cfg.workers

    def _lock_factors(self) -> np.ndarray | None:
        """``wv.vectors_lockf`` as one float32 factor per word, copied when training starts;
        ``None`` when every factor is 1 (the kernels then multiply nothing)."""
        n_words = len(self.wv)
        lockf = check_lockf(self.wv.vectors_lockf, n_words, "wv.vectors_lockf")
        if np.all(lockf == 1.0):
            return None
        return np.full(n_words, lockf[0]) if lockf.size == 1 else lockf.copy()

    def _batch_reader(self, source) -> Callable[[], Iterator[Batch]]:
        """A function giving one pass over the corpus in batches (compiled for a file)."""
        if isinstance(source, LineSentences):
            from nnbasics._accel.corpus_reader import WordTable, iter_file_batches

            try:
                table = WordTable(self.wv.index_to_key)  # built once for all epochs
            except ValueError:  # a vocabulary word with whitespace (built from lists)
                pass
            else:
                return partial(iter_file_batches, source.path, table, self.config.batch_words)
        return partial(iter_batches, source, self.wv.key_to_index, self.config.batch_words)

    def _batch_seed(self, batch_index: int) -> int:
        """A seed derived from (seed, epoch, batch): the same run gives the same draws."""
        sequence = np.random.SeedSequence([self.config.seed, self.epochs_trained, batch_index])
        return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))

    def _progress_bar(self, total: int):
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        if not show:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="word", unit_scale=True, desc="word2vec", mininterval=0.5)

    def _call(self, callbacks: Sequence, event: str) -> None:
        for callback in callbacks:
            method = getattr(callback, event, None)
            if method is not None:
                method(self)

    @property
    def layer1_size(self) -> int:
        """Width of the output layers, ``vector_size`` (gensim's name)."""
        return self.config.vector_size

    def estimate_memory(self, vocab_size: int | None = None,
                        report: dict[str, int] | None = None) -> dict[str, int]:
        """Bytes the model's arrays take for ``vocab_size`` words (default: its vocabulary),
        with gensim's keys: ``"vocab"`` (gensim's rough 500 bytes per word, 700 with
        ``hs=1``), ``"vectors"``, ``"syn1"`` (with ``hs=1``), ``"syn1neg"`` (with
        ``negative > 0``) and ``"total"``, written into ``report`` if given (and returned), as
        gensim's; ``vocab_size`` 0 or None is the vocabulary's size, as in gensim."""
        if not vocab_size:
            vocab_size = len(self.wv) if self.wv is not None else 0
        row = self.config.vector_size * np.dtype(np.float32).itemsize
        report = {} if report is None else report
        report["vocab"] = vocab_size * (700 if self.config.hs else 500)
        report["vectors"] = vocab_size * row
        if self.config.hs:
            report["syn1"] = vocab_size * row
        if self.config.negative:
            report["syn1neg"] = vocab_size * row
        report["total"] = sum(value for key, value in report.items() if key != "total")
        return report

    def init_sims(self, replace: bool = False) -> None:
        """``wv.init_sims(replace)``: deprecated, as in gensim 4 (see
        :meth:`KeyedVectors.init_sims`)."""
        warnings.warn("init_sims() is deprecated (as in gensim 4): use "
                      "model.wv.get_vector(key, norm=True), or model.wv.unit_normalize_all() "
                      "for replace=True", DeprecationWarning, stacklevel=2)
        if self.wv is None:
            raise ValueError("the model has no vectors yet: call build_vocab() first")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.wv.init_sims(replace=replace)

    def get_latest_training_loss(self) -> float:
        """Loss of the last epoch trained: every positive and negative term, summed in float64.

        Unlike gensim's, it is reset at each epoch (not summed over a whole ``train`` call), kept
        in float64 and never overwritten by threads.  ``epoch_losses`` holds every epoch's.
        """
        return self.epoch_losses[-1] if self.epoch_losses else 0.0

    # -- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Save the full state (both vector sets, vocabulary, counts, settings) to one ``.npz``.

        Written by :func:`nnbasics.io.serialization.save_arrays` (kind ``"word2vec"``): plain
        arrays and a JSON metadata string, so loading needs no pickle; written atomically.
        """
        self._save(path, None)

    def _save_checkpoint(self, run: dict) -> None:
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        self._save(os.path.join(self.checkpoint_dir, CHECKPOINT_NAME), run)

    def _save(self, path: str | os.PathLike, run: dict | None) -> None:
        """:meth:`save`, with the state of the training run when ``run`` is given (checkpoints)."""
        if self.wv is None:
            raise ValueError("nothing to save: the model has no vocabulary yet")
        arrays = {"vectors": self.wv.vectors, "syn1neg": self.syn1neg, "counts": self.wv.counts,
                  # saved: after an online update it is not the one the counts give
                  "keep_probability": self.keep_probability}
        if self.syn1 is not None:
            arrays["syn1"] = self.syn1
        if not np.array_equal(self.wv.vectors_lockf, [1.0]):  # the default is not written
            arrays["vectors_lockf"] = self.wv.vectors_lockf
        metadata = {
            "config": asdict(self.config),
            "index_to_key": self.wv.index_to_key,
            "corpus_count": self.corpus_count,
            "corpus_total_words": self.corpus_total_words,
            "epochs_trained": self.epochs_trained,
            "epoch_losses": self.epoch_losses,
            "epoch_pairs": self.epoch_pairs,
            "compute_loss": self.compute_loss,  # saved, as gensim's
        }
        if run is not None:
            metadata["run"] = {key: run[key] for key in _RUN_KEYS}
        save_arrays(path, arrays, metadata, kind=_KIND, version=_FORMAT_VERSION)

    @classmethod
    def resume(
        cls,
        checkpoint_dir: str | os.PathLike,
        corpus_iterable: Iterable[Sequence[str]] | None = None,
        corpus_file: str | os.PathLike | None = None,
        callbacks: Sequence = (),
        progress: bool | None = None,
    ) -> Word2Vec:
        """Continue the run checkpointed in ``checkpoint_dir`` on the same corpus; return the model.

        The model, vocabulary and run position are read from ``checkpoint_dir``'s
        :data:`CHECKPOINT_NAME` (written by a model with ``checkpoint_dir``); the epochs not done
        are trained with the run's learning-rate schedule, from the words already done, with
        the random draws the uninterrupted run would have made, and checkpointed as before.
        With ``workers=1`` the vectors are bit-identical to those of the uninterrupted run.  A
        finished run is returned as it is.

        Raises
        ------
        FileNotFoundError
            No checkpoint in ``checkpoint_dir``.
        ValueError
            The file is not a checkpoint (a model saved by :meth:`save` has no run state), or
            ``corpus_file`` is not the size of the file the run trained on.
        """
        path = os.path.join(os.fspath(checkpoint_dir), CHECKPOINT_NAME)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no checkpoint in {os.fspath(checkpoint_dir)} "
                                    f"(no {CHECKPOINT_NAME})")
        model = cls.load(path)
        run = model._run_state
        if run is None:
            raise ValueError(f"{path}: a saved model, not a checkpoint (no training run state)")
        model.checkpoint_dir = os.fspath(checkpoint_dir)
        model.callbacks = tuple(callbacks)
        model.progress = progress
        source = model._source(corpus_iterable, corpus_file)
        size = os.path.getsize(source.path) if isinstance(source, LineSentences) else -1
        if size != run["corpus_file_size"]:
            raise ValueError(f"the checkpointed run trained on a corpus file of "
                             f"{run['corpus_file_size']} bytes (-1: not a file), this one has "
                             f"{size}: resume it on the same corpus")
        if run["epochs_done"] < run["epochs"]:
            model._run(source, run, model.callbacks)
        return model

    @_class_only
    def load(cls, path: str | os.PathLike) -> Word2Vec:
        """Load a model written by :meth:`save`, or by nnbasics 0.1's (no pickle).

        ``ValueError`` if the file is not a word2vec model, is truncated or is inconsistent;
        for a file of :meth:`KeyedVectors.save` its subclass
        :class:`~nnbasics.word2vec.formats.WrongFileKindError` (also an ``AttributeError``, as
        gensim raises), saying to load it with ``KeyedVectors.load``.  gensim's own ``.model``
        files (pickles) are refused with a message saying how to convert them.
        """
        path = os.fspath(path)
        refuse_pickle(path, "word2vec model")  # gensim's .model files: say how to convert
        if _is_legacy_file(path):
            arrays, metadata = _read_legacy_file(path)
        else:
            arrays, metadata = load_arrays(path, max_version=_FORMAT_VERSION,
                                           what="nnbasics word2vec model")
            check_file_kind(path, metadata, _KIND)  # a KeyedVectors file: say so
        missing = [name for name in ("vectors", "syn1neg", "counts") if name not in arrays]
        if missing:
            raise ValueError(f"{path}: not a complete word2vec model (no {', '.join(missing)})")
        vectors, syn1neg, counts = arrays["vectors"], arrays["syn1neg"], arrays["counts"]
        syn1 = arrays.get("syn1")  # only with hs=1
        try:
            keys = [str(k) for k in metadata["index_to_key"]]
            config = Word2VecConfig(**metadata["config"])
            counters = [int(metadata[k]) for k in ("corpus_count", "corpus_total_words",
                                                   "epochs_trained")]
            epoch_losses = [float(x) for x in metadata["epoch_losses"]]
            epoch_pairs = [int(x) for x in metadata["epoch_pairs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: invalid model metadata ({exc})") from None
        n_words = len(keys)
        expected = (n_words, config.vector_size)
        if vectors.shape != expected or syn1neg.shape != expected or counts.shape != (n_words,):
            raise ValueError(f"{path}: array shapes do not match the vocabulary of {n_words} words")
        if vectors.dtype != np.float32 or syn1neg.dtype != np.float32 or counts.dtype.kind != "i":
            raise ValueError(f"{path}: unexpected array dtypes")
        if config.hs and (syn1 is None or syn1.shape != expected or syn1.dtype != np.float32):
            raise ValueError(f"{path}: hs=1 model without a float32 syn1 array of shape {expected}")
        model = cls.__new__(cls)
        model.config = config
        model.callbacks = ()
        model.progress = None
        model.compute_loss = bool(metadata.get("compute_loss", False))  # older files: False
        model.effective_min_count = None  # not saved: the vocabulary is
        model.checkpoint_dir = None
        model._run_state = _run_state(metadata.get("run"), path)
        model.wv = KeyedVectors(keys, vectors, counts=counts)
        if "vectors_lockf" in arrays:  # absent from older files: all ones
            model.wv.vectors_lockf = check_lockf(arrays["vectors_lockf"], n_words,
                                                 f"{path}: vectors_lockf")
        model.syn1neg = np.ascontiguousarray(syn1neg)
        model.syn1 = np.ascontiguousarray(syn1) if config.hs else None
        model.corpus_count, model.corpus_total_words, model.epochs_trained = counters
        model.epoch_losses, model.epoch_pairs = epoch_losses, epoch_pairs
        model._derive_tables()
        keep = arrays.get("keep_probability")  # absent from older files: the counts' table
        if keep is not None:
            if keep.shape != (n_words,) or keep.dtype != np.float32 or not np.all(
                    (keep >= 0) & (keep <= 1)):
                raise ValueError(f"{path}: keep_probability must hold {n_words} float32 "
                                 "probabilities")
            model.keep_probability = np.ascontiguousarray(keep)
        return model

    def __repr__(self) -> str:
        n_words = 0 if self.wv is None else len(self.wv)
        kind = "skip-gram" if self.config.sg else "CBOW"
        return (f"Word2Vec({kind}, {n_words} words, vector_size={self.config.vector_size}, "
                f"window={self.config.window}, negative={self.config.negative})")


def _run_state(run, path: str) -> dict | None:
    """The training run state of a checkpoint's metadata, checked (None for a plain model)."""
    if run is None:
        return None
    try:
        state = {key: run[key] for key in _RUN_KEYS}
        for key in ("epochs", "epochs_done", "total_words", "done", "effective_total",
                    "corpus_file_size"):
            if isinstance(state[key], bool) or not isinstance(state[key], int):
                raise TypeError(f"{key} is not an integer")
        for key in ("start_alpha", "end_alpha"):
            state[key] = float(state[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: invalid checkpoint run state ({exc})") from None
    if not 0 <= state["epochs_done"] <= state["epochs"] or state["done"] < 0:
        raise ValueError(f"{path}: invalid checkpoint run state (epochs_done "
                         f"{state['epochs_done']} of {state['epochs']})")
    return state
