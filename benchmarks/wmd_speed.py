"""Speed of the Word Mover's Distance: nnbasics' ``KeyedVectors.wmdistance`` next to gensim's.

The same random vectors (``V`` words, ``d`` dimensions) in both libraries' ``KeyedVectors``, the
same pairs of documents of ``n`` distinct words (drawn from the vocabulary with repeats), and
three ways: gensim (POT's ``emd2``), nnbasics with POT installed (the same solver), and
nnbasics' SciPy fallback (HiGHS, forced by hiding POT).  Each way answers every pair once
untimed, then the pairs are timed in rounds, ways alternating, and the median per pair is
reported; the three answers are compared before anything is timed.

Needs gensim and POT (``pip install gensim POT``).

Run:  python benchmarks/wmd_speed.py [--sizes 20 100 300] [--pairs 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import time
from unittest import mock

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 300],
                        help="words per document")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=100)
    args = parser.parse_args()

    import gensim
    import ot

    from nnbasics.word2vec import KeyedVectors

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(args.vocab)]
    vectors = rng.normal(size=(args.vocab, args.dim)).astype(np.float32)
    theirs = gensim.models.KeyedVectors(args.dim)
    theirs.add_vectors(words, vectors)
    ours = KeyedVectors(words, vectors)
    find_spec = importlib.util.find_spec

    def without_pot(name, *rest):
        return None if name == "ot" else find_spec(name, *rest)

    def scipy_way(doc1, doc2):
        with mock.patch("importlib.util.find_spec", without_pot):
            return ours.wmdistance(doc1, doc2)

    ways = {"gensim+POT": theirs.wmdistance, "nnbasics+POT": ours.wmdistance,
            "nnbasics SciPy": scipy_way}
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}, gensim "
          f"{gensim.__version__}, POT {ot.__version__}; V={args.vocab}, d={args.dim}")
    print(f"{'words':>6} {'distinct':>9} " + " ".join(f"{w:>15}" for w in ways)
          + "   SciPy/gensim")
    for n in args.sizes:
        docs = [(list(rng.choice(words, n)), list(rng.choice(words, n)))
                for _ in range(args.pairs)]
        for doc1, doc2 in docs:  # the same answers first (and warm-up)
            answers = [way(doc1, doc2) for way in ways.values()]
            np.testing.assert_allclose(answers, answers[0], rtol=1e-6)
        times = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                start = time.perf_counter()
                for doc1, doc2 in docs:
                    way(doc1, doc2)
                times[name].append((time.perf_counter() - start) / len(docs))
        medians = {name: statistics.median(t) for name, t in times.items()}
        distinct = statistics.mean(len(set(d1)) for d1, _ in docs)
        print(f"{n:>6} {distinct:>9.0f} " + " ".join(f"{1e3 * medians[w]:>12.2f} ms"
                                                   for w in ways)
              + f"   {medians['nnbasics SciPy'] / medians['gensim+POT']:>8.1f}x")


if __name__ == "__main__":
    main()
