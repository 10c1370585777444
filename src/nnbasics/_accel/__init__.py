"""The compiled accelerators: every numba kernel of nnbasics, behind this one boundary.

Private: the kernels here index their arrays unchecked (``boundscheck=False``) and trust their
callers, the public functions of ``nnbasics.core``, ``nnbasics.mlp`` and ``nnbasics.word2vec``,
which check what the kernels assume (shapes, dtypes, index ranges) before calling them.

Nothing outside ``nnbasics._accel`` imports numba.  Each kernel here speeds up an explicit NumPy
reference that lives with the concept it serves (``nnbasics.core``, ``nnbasics.mlp``,
``nnbasics.word2vec``), and each is tested against that reference.  Kernels compile on first use
(numba's ``cache=True`` keeps them on disk), never at ``import nnbasics``.

* ``mlp_kernels``: the fused element-wise passes of an MLP training step and the batch gather;
* ``optimizer_kernels``: the optimisers' parameter updates, one pass per parameter;
* ``blas``: SciPy's documented BLAS (``scipy.linalg.cython_blas``) called from numba, for the
  weight update folded into the GEMM that computes its gradient;
* ``word2vec_kernels``: word2vec training over a batch of sentences (skip-gram and CBOW, negative
  sampling and hierarchical softmax, one walker);
* ``corpus_reader``: the compiled reader of a ``corpus_file``;
* ``huffman``: gensim's Huffman tree over the word counts.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from numba.core import event

__all__ = ["announce_compilation"]

_lock = threading.Lock()
_notice: _CompileNotice | None = None


class _CompileNotice(event.Listener):
    """Writes one line when the first kernel of the process starts compiling.  Numba broadcasts
    ``"numba:compile"`` only for a real compilation, never for a load from its disk cache."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.said = False

    def on_start(self, ev: event.Event) -> None:
        if not self.said:
            self.said = True
            print("nnbasics: compiling kernels (first run after install; cached for later runs)",
                  file=self.stream, flush=True)

    def on_end(self, ev: event.Event) -> None:
        pass


def announce_compilation(stream: TextIO | None = None) -> None:
    """Say once, on ``stream`` (default ``sys.stderr``), when kernels start compiling.

    A first run after install spends seconds compiling what later runs load from numba's disk
    cache; the command line calls this so that the wait is explained.  The first call decides the
    stream; later calls do nothing.  Uses numba's documented event API (``"numba:compile"``).
    """
    global _notice
    with _lock:
        if _notice is None:
            _notice = _CompileNotice(sys.stderr if stream is None else stream)
            event.register("numba:compile", _notice)
