"""Hierarchical softmax (hs=1, negative=0): nnbasics' compiled kernel against gensim, one process.

Both fit the same settings (vector_size 100, window 5, min_count 5, sample 1e-3, alpha 0.025,
hs=1, negative=0, ``--epochs`` epochs) on the same corpus file, gensim through
``Word2Vec(corpus_file=...)`` and nnbasics through ``nnbasics.Word2Vec(corpus_file=...)``,
skip-gram and CBOW, with 1 and 2 workers.

* **Time**: each fit is timed whole (the constructor call: vocabulary scan, Huffman tree,
  initialisation, every epoch).  numba's compilation is not timed: both libraries first train
  once on a tiny corpus (which loads nnbasics' kernels from numba's cache, or compiles them).
  Two figures per fit: wall seconds, and the CPU seconds the process used (``getrusage``
  ``RUSAGE_SELF``, user + system), which other processes on a shared machine inflate much less
  than the wall time.  Words/s = corpus words x epochs / seconds, the same numerator for both,
  so each ratio is a ratio of times.  Peers alternate order from repeat to repeat; the best
  time of ``--repeats`` is kept for each figure.
* **Sanity of the vectors**: the mean cosine of every word among the 1,000 most frequent to its
  nearest neighbour among them (both far above the value of random vectors, and close to each
  other); not a quality measurement.

Usage::

    python benchmarks/w2v_hs_speed.py [--corpus dict-wiki|wiki-sample|PATH] [--epochs N]
        [--repeats N] [--arch sg,cbow] [--workers 1,2]

``dict-wiki`` (default) is the realistic corpus of ``benchmarks/w2v_corpus.py`` (6.4M words,
built first if missing); ``wiki-sample`` one copy of the Wikipedia sample of ``w2v_data.py``
(about 470k tokens, written to the temporary directory if missing).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

WIKI_SAMPLE = Path(tempfile.gettempdir()) / "nnbasics_w2v_hs" / "wiki_1x.txt"
SETTINGS = dict(vector_size=100, window=5, min_count=5, sample=1e-3, alpha=0.025,
                min_alpha=0.0001, hs=1, negative=0, seed=1)


def nearest_cosine(vectors: np.ndarray, n: int = 1000) -> float:
    """Mean cosine of each of the first ``n`` vectors to its nearest other one among them."""
    x = vectors[:n] / np.linalg.norm(vectors[:n], axis=1, keepdims=True)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return float(sims.max(axis=1).mean())


def fit_nnbasics(corpus: Path, sg: int, workers: int, epochs: int):
    import nnbasics

    model = nnbasics.Word2Vec(corpus_file=corpus, sg=sg, workers=workers, epochs=epochs,
                              progress=False, **SETTINGS)
    return model.wv.vectors, model.corpus_total_words


def fit_gensim(corpus: Path, sg: int, workers: int, epochs: int):
    from gensim.models import Word2Vec

    model = Word2Vec(corpus_file=str(corpus), sg=sg, workers=workers, epochs=epochs, **SETTINGS)
    return model.wv.vectors, model.corpus_total_words


PEERS = {"nnbasics": fit_nnbasics, "gensim": fit_gensim}


def timed(fit, *args) -> tuple[float, float, int, float]:
    """Run one fit; return (wall seconds, CPU seconds of the process, corpus words, cosine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    vectors, words = fit(*args)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return wall, usage.ru_utime + usage.ru_stime - cpu_start, words, nearest_cosine(vectors)


def warm_up(tmp_dir: Path) -> None:
    """Fit both libraries once on a tiny file, untimed (numba cache load or compilation)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    tiny = tmp_dir / "w2v_hs_warmup.txt"
    tiny.write_text(
        "\n".join(" ".join(rng.choice(words, 30)) for _ in range(200)) + "\n", encoding="utf-8"
    )
    for sg in (1, 0):
        for fit in PEERS.values():
            fit(tiny, sg, 1, 1)
    tiny.unlink()


def corpus_path(name: str) -> Path:
    if name == "dict-wiki":
        import w2v_corpus

        return w2v_corpus.ensure_corpus()
    if name == "wiki-sample":
        if not WIKI_SAMPLE.exists():
            from w2v_data import write_corpus

            write_corpus(WIKI_SAMPLE, repeat=1)
        return WIKI_SAMPLE
    path = Path(name)
    if not path.exists():
        raise SystemExit(f"{path}: no such file")
    return path


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="dict-wiki")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--arch", default="sg,cbow")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    corpus = corpus_path(args.corpus)
    archs = [{"sg": 1, "cbow": 0}[a] for a in args.arch.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    import gensim
    import numba

    import nnbasics

    print(f"nnbasics {nnbasics.__version__}, gensim {gensim.__version__}, numba "
          f"{numba.__version__}, numpy {np.__version__}; corpus {corpus}, {args.epochs} "
          f"epoch(s), best of {args.repeats}; load average {load()}")
    warm_up(Path(tempfile.gettempdir()))
    print(f"{'arch':>9} {'workers':>7} {'nn w/s':>10} {'gs w/s':>10} {'wall x':>6} "
          f"{'nn w/cpu-s':>10} {'gs w/cpu-s':>10} {'cpu x':>6} {'nn cos':>6} {'gs cos':>6}")
    turn = 0
    for sg in archs:
        for workers in worker_counts:
            wall = {name: np.inf for name in PEERS}
            cpu = dict(wall)
            cosine = {}
            for _ in range(args.repeats):
                names = list(PEERS) if turn % 2 == 0 else list(PEERS)[::-1]  # alternate
                turn += 1
                for name in names:
                    seconds, cpu_seconds, words, cos = timed(
                        PEERS[name], corpus, sg, workers, args.epochs
                    )
                    wall[name] = min(wall[name], seconds)
                    cpu[name] = min(cpu[name], cpu_seconds)
                    cosine[name] = cos
            total = words * args.epochs
            nn_w, gs_w = total / wall["nnbasics"], total / wall["gensim"]
            nn_c, gs_c = total / cpu["nnbasics"], total / cpu["gensim"]
            print(f"{'skip-gram' if sg else 'CBOW':>9} {workers:>7} {nn_w:>10,.0f} {gs_w:>10,.0f} "
                  f"{nn_w / gs_w:>6.2f} {nn_c:>10,.0f} {gs_c:>10,.0f} {nn_c / gs_c:>6.2f} "
                  f"{cosine['nnbasics']:>6.3f} {cosine['gensim']:>6.3f}", flush=True)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
