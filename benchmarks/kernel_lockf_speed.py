"""Speed of the word2vec kernel with and without ``vectors_lockf`` factors (issue #16).

One batch of a synthetic Zipf corpus (V=5,000, d=100, 200,000 tokens, window 5, negative 5) is
trained by :func:`nnbasics._accel.word2vec_kernels.train_batch` on one thread, for skip-gram with
shared and per-pair negatives and CBOW, with no factors (all ones: the kernel multiplies
nothing) and with a per-word factor (every 7th word frozen).  With ``--before REV`` the kernel
module of git revision ``REV`` (e.g. the commit before the factors came) is timed too, with no
factors; the variants run interleaved, repetition after repetition, so that a loaded machine
slows them alike.  Usage::

    flock -x /tmp/nnbasics_cpu.lock python benchmarks/kernel_lockf_speed.py --before 20379f7
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nnbasics._accel import word2vec_kernels
from nnbasics.word2vec.vocab import keep_probabilities, noise_cum_table

REPO = Path(__file__).resolve().parents[1]


def kernel_of_revision(revision: str, directory: str):
    """The kernel module as it was at ``revision`` (read with ``git show``), imported."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/nnbasics/_accel/word2vec_kernels.py"], cwd=REPO,
        check=True, capture_output=True, text=True).stdout
    path = Path(directory) / "word2vec_kernels_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("word2vec_kernels_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="git revision of a kernel to compare with")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n_words, dim, n_tokens = 5000, 100, 200_000
    p = 1.0 / np.arange(1, n_words + 1)
    tokens = rng.choice(n_words, size=n_tokens, p=p / p.sum()).astype(np.int32)
    ends = np.arange(20, n_tokens + 1, 20, dtype=np.int64)  # sentences of 20 tokens
    counts = np.bincount(tokens, minlength=n_words) + 1
    keep, table = keep_probabilities(counts, 1e-3), noise_cum_table(counts)
    frozen = np.ones(n_words, np.float32)
    frozen[::7] = 0.0
    initial = ((rng.random((n_words, dim), dtype=np.float32) - 0.5) / dim)
    with tempfile.TemporaryDirectory() as directory:
        variants = {"no factors": (word2vec_kernels, {}),
                    "per-word factors": (word2vec_kernels, {"lock_factors": frozen})}
        if args.before:
            variants = {f"{args.before}": (kernel_of_revision(args.before, directory), {}),
                        **variants}
        for sg, shared, label in ((True, True, "skip-gram, shared negatives"),
                                  (True, False, "skip-gram, per-pair negatives"),
                                  (False, False, "CBOW")):
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, (kernels, extra) in variants.items():
                    config = kernels.kernel_config(
                        initial.copy(), keep, sg=sg, window=5, negative=5,
                        outside_vectors=np.zeros((n_words, dim), np.float32),
                        noise_cum_table=table, shared_negatives=shared, **extra)
                    kernels.train_batch(config, tokens[:2000], np.array([2000], np.int64),
                                        0.025, 0.025, 1)  # compiled (or read from the cache)
                    start = time.perf_counter()
                    kernels.train_batch(config, tokens, ends, 0.025, 0.0001, 1)
                    times[name].append(time.perf_counter() - start)
            for name, measured in times.items():
                print(f"{label:30s} {name:18s} median {np.median(measured) * 1e3:7.1f} ms  "
                      f"min {min(measured) * 1e3:7.1f} ms  "
                      f"({n_tokens / np.median(measured) / 1e6:.2f}M words/s)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
