"""word2vec quality of one variant over several seeds (mean +- sd): the ablation of issue 17.

Trains one variant on the benchmark corpus (``w2v_corpus.py``, 6.4M words) with the settings of
``w2v_speed.py`` and ``--epochs`` (default 3), scores it with the same evaluator (Google
analogies, WordSim-353, SimLex-999) and prints each seed's scores and their mean +- sd.  Speed
is not measured (run it niced, on a busy machine if need be).

Variants (``--variant``, words joined by ``+``):

* ``nnbasics``: the defaults (per-pair negatives in skip-gram, word2vec.c's schedule);
* ``nnbasics+shared``: ``shared_negatives=True`` (one draw of negatives per skip-gram window);
* ``nnbasics+gensim-schedule``: gensim 4.4's ``corpus_file`` learning rate with 2 workers,
  reproduced through ``train(epochs=1, start_alpha=..., end_alpha=...)`` per epoch: each of
  gensim's worker threads reads ``1/workers`` of the file but measures its progress against
  the whole corpus (``word2vec_corpusfile.pyx``: ``get_next_alpha`` with the thread's own
  sentence count over ``expected_examples``), so epoch ``e`` of ``E`` decays only from
  ``alpha (1 - e/E)`` to ``alpha (1 - (e + 1/workers)/E)`` and the rate never falls below
  ``alpha / (workers E)``;
* ``gensim``: gensim ``corpus_file`` with ``workers=2`` (the speed benchmark's peer);
* ``gensim+w1``: gensim ``corpus_file`` with ``workers=1`` (its rate then decays to
  ``min_alpha`` as word2vec.c's);
* ``+cbow-sum``: ``cbow_mean=0``, with either library.

Usage::

    nice -n 10 python benchmarks/w2v_ablation.py --variant nnbasics+gensim-schedule \\
        --arch cbow [--seeds 1,2,3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w2v_corpus
import w2v_speed

SETTINGS = {k: v for k, v in w2v_speed.SETTINGS.items() if k != "workers"}
WORKERS = w2v_speed.SETTINGS["workers"]
FLAGS = {"nnbasics": {"shared", "gensim-schedule", "cbow-sum"}, "gensim": {"w1", "cbow-sum"}}


def fit(corpus: Path, sg: int, seed: int, epochs: int, peer: str, flags: set[str]):
    """Train one variant; return (index_to_key, vectors)."""
    extra = {"cbow_mean": 0} if "cbow-sum" in flags else {}
    if peer == "gensim":
        from gensim.models import Word2Vec as GensimWord2Vec

        workers = 1 if "w1" in flags else WORKERS
        wv = GensimWord2Vec(corpus_file=str(corpus), sg=sg, epochs=epochs, seed=seed,
                            workers=workers, **SETTINGS, **extra).wv
        return list(wv.index_to_key), np.array(wv.vectors)
    import nnbasics

    if "shared" in flags:
        extra["shared_negatives"] = True
    model = nnbasics.Word2Vec(sg=sg, epochs=epochs, seed=seed, workers=WORKERS, progress=False,
                              **SETTINGS, **extra)
    model.build_vocab(corpus_file=corpus)
    if "gensim-schedule" in flags:
        alpha, min_alpha = model.alpha, model.min_alpha
        for epoch in range(epochs):
            start = alpha - (alpha - min_alpha) * epoch / epochs
            end = alpha - (alpha - min_alpha) * (epoch + 1.0 / WORKERS) / epochs
            model.train(corpus_file=corpus, epochs=1, start_alpha=start, end_alpha=end)
    else:
        model.train(corpus_file=corpus)
    return list(model.wv.index_to_key), np.array(model.wv.vectors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", required=True, help="e.g. nnbasics+shared, gensim+w1")
    parser.add_argument("--arch", choices=("sg", "cbow"), default="cbow")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a text file (default: the w2v_corpus.py corpus)")
    args = parser.parse_args()
    peer, *rest = args.variant.split("+")
    flags = set(rest)
    if peer not in FLAGS or not flags <= FLAGS[peer]:
        parser.error(f"--variant: {peer!r} takes {sorted(FLAGS.get(peer, ()))}")
    seeds = [int(s) for s in args.seeds.split(",")]
    corpus = args.corpus if args.corpus is not None else w2v_corpus.ensure_corpus()
    names = ["analogy %"] + [name for name, _ in w2v_speed.pair_sets()]
    sg = int(args.arch == "sg")
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        keys, vectors = fit(corpus, sg, seed, args.epochs, peer, flags)
        seconds = time.perf_counter() - start
        scores = w2v_speed.quality(keys, vectors)
        rows.append(scores)
        print(f"{args.arch} {args.variant} seed {seed}: fit {seconds:.0f} s, "
              + ", ".join(f"{n} {s:.3f}" for n, s in zip(names, scores, strict=True)), flush=True)
    for name, column in zip(names, zip(*rows, strict=True), strict=True):
        sd = statistics.stdev(column) if len(column) > 1 else 0.0
        print(f"{args.arch} {args.variant} {name}: {statistics.mean(column):.3f} +- {sd:.3f} "
              f"(mean +- sd over seeds {args.seeds}, {args.epochs} epochs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
