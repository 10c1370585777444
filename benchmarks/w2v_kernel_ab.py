"""Versions of the word2vec kernel against each other, interleaved in one process (a tool for
changing the kernel, not a measurement of a target).

Each TREE is a source tree of nnbasics (the repository, or a ``git worktree`` of a branch): the
kernel module ``src/nnbasics/_accel/word2vec_kernels.py`` of each is loaded side by side under
its own name, and every version trains the same batch (the first ``--tokens`` tokens of the
corpus, vocabulary of the current nnbasics with ``min_count=5, sample=1e-3``, ``vector_size
100, window 5``) from the same starting vectors, in turn, ``--repeats`` times, the order
reversed every other round.  The best and the median time of each are printed.

Why: on this 2-core VM the machine's speed drifts by up to 30% over minutes, so whole fits run
one after the other in separate processes cannot tell a 5% change from the drift; versions
interleaved every few seconds in one process see the same drift.  With ``--threads 1`` the
vectors of every version are compared with the first's: a change meant to be a pure speed-up
must print no difference.  Whole fits against the peers stay ``w2v_speed.py`` and
``w2v_hs_speed.py``.

numba's cache of each version goes to a temporary directory (the module names differ from the
installed package's), so each version compiles once at the start, untimed.

Usage::

    python benchmarks/w2v_kernel_ab.py TREE [TREE ...] [--arch sg|cbow] [--hs]
        [--threads N] [--repeats N] [--tokens N] [--corpus dict-wiki|wiki-sample|PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="nnbasics_kernel_ab_"))

import numpy as np

from w2v_hs_speed import corpus_path  # dict-wiki, wiki-sample or a path

KERNEL = Path("src/nnbasics/_accel/word2vec_kernels.py")


def load_kernels(trees: list[Path]) -> list:
    """Import each tree's kernel module under a name of its own."""
    modules = []
    for i, tree in enumerate(trees):
        path = tree / KERNEL
        if not path.is_file():
            raise SystemExit(f"{tree}: no {KERNEL}")
        spec = importlib.util.spec_from_file_location(f"nnbasics_kernel_ab_{i}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def batch(corpus: Path, n_tokens: int, sg: bool, hs: bool):
    """The model (for its vocabulary, tree and tables) and the first ``n_tokens`` in-vocabulary
    tokens of ``corpus`` as the kernel takes them (tokens, sentence ends)."""
    import nnbasics

    sentences, total = [], 0
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            words = line.split()
            if words:
                sentences.append(words)
                total += len(words)
            if total >= n_tokens:
                break
    model = nnbasics.Word2Vec(vector_size=100, window=5, min_count=5, sample=1e-3, sg=int(sg),
                              hs=int(hs), negative=0 if hs else 5, seed=1, workers=1)
    model.build_vocab(sentences)
    index = model.wv.key_to_index
    ids = [[index[w] for w in s if w in index] for s in sentences]
    ids = [s for s in ids if s]
    tokens = np.fromiter((i for s in ids for i in s), dtype=np.int32)
    ends = np.cumsum([len(s) for s in ids]).astype(np.int64)
    return model, tokens, ends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--arch", choices=["sg", "cbow"], default="sg")
    parser.add_argument("--hs", action="store_true", help="hs=1, negative=0 (else negative=5)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=2_000_000)
    parser.add_argument("--corpus", default="dict-wiki")
    args = parser.parse_args()
    corpus = corpus_path(args.corpus)
    sg = args.arch == "sg"
    kernels = load_kernels(args.trees)
    model, tokens, ends = batch(corpus, args.tokens, sg, args.hs)
    start_vectors = model.wv.vectors.copy()
    print(f"{args.arch}, {'hs=1' if args.hs else 'negative=5'}, {args.threads} thread(s): "
          f"{tokens.size:,} tokens, {len(model.wv):,} words; load average "
          f"{os.getloadavg()[0]:.2f}")

    def train(kernel):
        vectors = start_vectors.copy()
        settings = dict(sg=sg, window=5, hs=args.hs, concurrent=args.threads > 1)
        if args.hs:
            settings.update(negative=0, tree=model.hs_tree,
                            node_vectors=np.zeros_like(vectors))
        else:
            settings.update(negative=5, outside_vectors=np.zeros_like(vectors),
                            noise_cum_table=model.cum_table)
        config = kernel.kernel_config(vectors, model.keep_probability, **settings)
        start = time.perf_counter()
        kernel.train_batch(config, tokens, ends, 0.025, 0.0001, 7, args.threads)
        return time.perf_counter() - start, vectors

    for kernel in kernels:  # compile (or load) every version first, untimed
        train(kernel)
    times: list[list[float]] = [[] for _ in kernels]
    first_vectors = None
    for round_ in range(args.repeats):
        order = range(len(kernels)) if round_ % 2 == 0 else reversed(range(len(kernels)))
        for i in order:
            seconds, vectors = train(kernels[i])
            times[i].append(seconds)
            if args.threads == 1:
                if first_vectors is None:
                    first_vectors = vectors
                elif not np.array_equal(vectors, first_vectors):
                    print(f"  {args.trees[i]}: vectors differ from the first version's")
    best0 = min(times[0])
    for tree, seconds in zip(args.trees, times, strict=True):
        print(f"{tree!s:40} best {min(seconds):6.3f} s  median {statistics.median(seconds):6.3f}"
              f" s  {tokens.size / min(seconds):>11,.0f} words/s  "
              f"{best0 / min(seconds):5.2f}x the first")


if __name__ == "__main__":
    main()
