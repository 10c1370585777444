"""Hierarchical softmax (``hs=1``) in the model: its kernel, and its combination with negatives.

The model trains one batch at a time through a function with the signature of
:func:`nnbasics.word2vec.reference.train_batch`.  :func:`hs_batch_trainer` returns such a
function for ``hs=1``: on each batch it runs the hierarchical-softmax kernel (the word vectors and
the tree's node vectors, gensim's ``syn1``), then, when ``negative > 0``, the negative-sampling
kernel (the word vectors and ``syn1neg``), so that both output layers are trained, as gensim does
with ``hs=1, negative>0``.  gensim interleaves the two per pair; here each is a pass over the
batch with its own subsampling and window draws (the hierarchical one seeded from the batch seed
through :func:`hs_seed`).  The loss of the batch is the sum of both passes; the pair and word
counts are those of the negative-sampling pass when there is one, so that the loss per pair is
that of the summed objective.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from nnbasics.word2vec import reference
from nnbasics.word2vec.vocab import HuffmanTree

__all__ = ["hs_batch_trainer", "hs_seed", "select_hs_kernel", "window_options"]


def window_options(shrink_windows: bool, cbow_mean: bool) -> dict[str, bool]:
    """The batch trainers' keyword options that differ from their defaults (both True).

    Only those are passed, so a trainer with the plain ``train_batch`` signature (a test double,
    an older kernel) still runs every default setting.
    """
    return {name: False for name, value in (("shrink_windows", shrink_windows),
                                            ("cbow_mean", cbow_mean)) if not value}


def select_hs_kernel(prefer: str = "auto") -> Callable:
    """The hierarchical-softmax ``train_batch_hs``: compiled when available, else the reference.

    ``prefer`` is ``"auto"``, ``"compiled"`` (an ``ImportError`` if unavailable) or
    ``"reference"``.
    """
    if prefer not in ("auto", "compiled", "reference"):
        raise ValueError(f"prefer must be 'auto', 'compiled' or 'reference', got {prefer!r}")
    if prefer == "reference":
        return reference.train_batch_hs
    try:
        from nnbasics.accel.word2vec_hs import train_batch_hs
    except ImportError:
        if prefer == "compiled":
            raise
        return reference.train_batch_hs
    return train_batch_hs


def hs_seed(seed: int) -> int:
    """The hierarchical pass's seed, derived from the batch seed (independent of its draws)."""
    state = np.random.SeedSequence([int(seed), 0x6873]).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def hs_batch_trainer(
    neg_kernel: Callable | None,
    node_vectors: NDArray[np.float32],
    tree: HuffmanTree,
    prefer: str = "auto",
) -> Callable:
    """A batch trainer with ``train_batch``'s signature: hierarchical softmax, then negatives.

    Parameters
    ----------
    neg_kernel : callable or None
        The negative-sampling ``train_batch`` (``negative > 0``), or None for ``negative=0``
        (then only hierarchical softmax trains; the ``outside_vectors`` argument is not touched).
    node_vectors : ndarray of float32, shape (V, d)
        The tree's node vectors (``syn1``), updated in place.
    tree : HuffmanTree
    prefer : str
        Passed to :func:`select_hs_kernel`.
    """
    hs_kernel = select_hs_kernel(prefer)

    def train_batch(center_vectors, outside_vectors, tokens, sentence_ends, keep_probability,
                    noise_cum_table, sg, window, negative, alpha_start, alpha_end, seed,
                    n_threads=1, shrink_windows=True, cbow_mean=True):
        options = window_options(shrink_windows, cbow_mean)
        loss, pairs, kept = hs_kernel(
            center_vectors, node_vectors, tokens, sentence_ends, keep_probability, tree, sg,
            window, alpha_start, alpha_end, hs_seed(seed), n_threads, **options,
        )
        if neg_kernel is not None and negative > 0:
            neg_loss, pairs, kept = neg_kernel(
                center_vectors, outside_vectors, tokens, sentence_ends, keep_probability,
                noise_cum_table, sg, window, negative, alpha_start, alpha_end, seed, n_threads,
                **options,
            )
            loss += neg_loss
        return float(loss), int(pairs), int(kept)

    return train_batch
