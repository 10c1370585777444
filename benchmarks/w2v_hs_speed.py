"""Hierarchical softmax (hs=1, negative=0): nnbasics' compiled kernel against gensim, one process.

Both train the same settings (vector_size 100, window 5, min_count 5, sample 1e-3, alpha 0.025,
one epoch, hs=1, negative=0) on the same corpus, streamed from the same file, skip-gram and CBOW,
with 1 and 2 workers.  Only ``train`` is timed (the vocabulary and Huffman tree are built before,
and nnbasics' numba kernel is compiled by a warm-up run).  Peers alternate, ``--repeats`` times
each, best time kept.  Prints words/s and the ratio nnbasics / gensim (> 1: nnbasics faster), and
each model's similarity sanity figure: the mean cosine of every word among the 1,000 most frequent
to its nearest neighbour (both should be far above 0, the value of random vectors).

Usage::

    python benchmarks/w2v_hs_speed.py [--corpus PATH] [--repeats N]

The default corpus is one copy of the Wikipedia sample of ``w2v_data.py`` (about 470k tokens),
written to the temporary directory if missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "nnbasics_w2v_hs" / "wiki_1x.txt"
SETTINGS = dict(vector_size=100, window=5, min_count=5, sample=1e-3, alpha=0.025,
                min_alpha=0.0001, hs=1, negative=0, seed=1)


def nearest_cosine(vectors: np.ndarray, n: int = 1000) -> float:
    """Mean cosine of each of the first ``n`` vectors to its nearest other one among them."""
    x = vectors[:n] / np.linalg.norm(vectors[:n], axis=1, keepdims=True)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return float(sims.max(axis=1).mean())


def run_nnbasics(corpus: Path, sg: int, workers: int) -> tuple[float, int, float]:
    import nnbasics

    model = nnbasics.Word2Vec(sg=sg, workers=workers, epochs=1, **SETTINGS)
    model.build_vocab(corpus_file=corpus)
    start = time.perf_counter()
    model.train(corpus_file=corpus)
    seconds = time.perf_counter() - start
    return seconds, model.corpus_total_words, nearest_cosine(model.wv.vectors)


def run_gensim(corpus: Path, sg: int, workers: int) -> tuple[float, int, float]:
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(sg=sg, workers=workers, epochs=1, **SETTINGS)
    sentences = LineSentence(str(corpus), max_sentence_length=10**9)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=1)
    seconds = time.perf_counter() - start
    return seconds, model.corpus_total_words, nearest_cosine(model.wv.vectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not args.corpus.exists():
        if args.corpus != DEFAULT_CORPUS:
            parser.error(f"{args.corpus}: no such file")
        from w2v_data import write_corpus

        write_corpus(DEFAULT_CORPUS, repeat=1)
    import gensim
    import numba

    import nnbasics

    print(f"nnbasics {nnbasics.__version__}, gensim {gensim.__version__}, numba "
          f"{numba.__version__}, numpy {np.__version__}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    run_nnbasics(args.corpus, 1, 1)  # warm-up: numba's compilation (or cache load)
    print(f"{'arch':>9} {'workers':>7} {'nnbasics w/s':>13} {'gensim w/s':>11} {'ratio':>6} "
          f"{'nn cos':>7} {'gs cos':>7}")
    for sg in (1, 0):
        for workers in (1, 2):
            best = {"nnbasics": np.inf, "gensim": np.inf}
            cosine = {}
            for _ in range(args.repeats):
                for name, run in (("nnbasics", run_nnbasics), ("gensim", run_gensim)):
                    seconds, words, cos = run(args.corpus, sg, workers)
                    best[name] = min(best[name], seconds)
                    cosine[name] = cos
            ours, theirs = words / best["nnbasics"], words / best["gensim"]
            print(f"{'skip-gram' if sg else 'CBOW':>9} {workers:>7} {ours:>13,.0f} "
                  f"{theirs:>11,.0f} {ours / theirs:>6.2f} {cosine['nnbasics']:>7.3f} "
                  f"{cosine['gensim']:>7.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
