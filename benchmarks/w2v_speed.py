"""word2vec training speed, memory and quality: nnbasics against gensim, side by side, one process.

Both train on the same real corpus file with the same settings: ``vector_size=100, window=5,
min_count=5, negative=5, sample=1e-3, workers=2`` (``--hs``: ``hs=1, negative=0``, hierarchical
softmax) and ``--epochs`` (default 3), skip-gram and CBOW, nnbasics through
``nnbasics.Word2Vec(corpus_file=...)`` and gensim in one or both of its input modes
(``--gensim-input``, default ``both``, each seed fitting gensim both ways):

* ``gensim-cf``: ``Word2Vec(corpus_file=...)``, gensim's fastest mode, the **speed** reference;
* ``gensim-it``: ``Word2Vec(sentences=LineSentence(path))``, the mode of gensim's tutorials, the
  **quality** reference.

Why two references: with ``corpus_file`` and ``workers=W``, each gensim thread reads ``1/W`` of
the file but computes its learning rate from its own progress over the whole corpus, so each
epoch decays the rate only by ``1/W`` of its share (with ``W=2`` and 3 epochs the last epoch
ends at ``alpha/6``, not ``min_alpha``): a higher mean rate, a gensim artefact that depends on
the worker count.  The iterable mode decays the rate globally to ``min_alpha`` as word2vec.c
does, the schedule nnbasics implements; quality is judged against it, and the ``corpus_file``
scores are printed beside it (benchmarks/RESULTS.md, issue 17, has the measurement).

The corpus (``--corpus``) is ``dict-wiki`` by default, the realistic one of
``benchmarks/w2v_corpus.py`` (6.4M words of dictionary and encyclopedia text, built first if
missing, checksum pinned), or ``wiki-sample`` (``benchmarks/w2v_data.py``: gensim's Wikipedia
sample repeated, 2.8M words, where analogy accuracy is too low to tell methods apart), or the
path of any text file.

* **Time**: each fit is timed whole (constructor call: vocabulary scan, initialisation, every
  epoch).  numba's compilation is not timed: before any timing, both libraries train once on a
  tiny corpus (which loads nnbasics' compiled kernels from numba's cache, or compiles them), so
  the figures are those of a warm process.  words/s = corpus words x epochs / fit time, the same
  numerator for both, so the ratio is the ratio of the times.
* **Memory**: the peak resident set of the process during each fit, as Linux reports it:
  ``VmHWM`` of ``/proc/self/status`` after writing ``5`` to ``/proc/self/clear_refs`` just before
  the fit (which resets the high-water mark to the current RSS).  The figure compared is the
  peak *above the RSS just before the fit* (what the fit itself needs; both libraries are
  imported in the same process, so their code is in the baseline of both).
* **Quality**: every vector set goes through the *same* evaluator, nnbasics'
  ``KeyedVectors.evaluate_word_analogies`` (Google's questions-words, 3CosAdd, first 300,000
  words, gensim's rules) and ``evaluate_word_pairs`` (WordSim-353 and SimLex-999, Spearman),
  with gensim's test data files.  Scores vary from seed to seed, so ``--seeds`` seeds are run
  for each library (default 3) and the judgement uses the means, with the standard deviations
  printed.
* The peers' order rotates from seed to seed (gensim-cf first, then gensim-it, ...).

Targets (issue 17): words/s >= 1.5x gensim-cf's for skip-gram and for CBOW (median over
seeds); analogy accuracy not below gensim-it's by more than 0.3 points and each Spearman not
below by more than 0.01 (means over seeds); peak memory of the fit not above gensim-cf's
(largest over seeds).  With one gensim mode only, every comparison is against it.  Exit code 1
if a target is missed.

``--quality-only`` skips the wait for a quiet machine and the re-runs of disturbed fits (the
vectors do not depend on the load; the speed figures of such a run mean nothing).
``--ours key=value`` passes extra settings to nnbasics' ``Word2Vec`` (e.g. a variant to
ablate), over the shared ones (``--ours workers=1``).

The evaluation is untimed (about 15 s per vector set): with ``--lock`` the script holds that
lock file exclusively for the warm-up and the fits only, then shared for the evaluation;
without it, each fit is scored as soon as it ends.

Usage::

    python benchmarks/w2v_speed.py --lock /tmp/nnbasics_cpu.lock [--epochs 3] [--seeds 3]
        [--arch sg,cbow] [--corpus dict-wiki|wiki-sample|PATH] [--quiet-wait SECONDS]
        [--attempts N] [--quality-only] [--peers gensim,nnbasics]
        [--gensim-input corpus_file|iterable|both] [--hs] [--ours key=value ...]
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import ctypes.util
import fcntl
import gc
import os
import platform
import resource
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import w2v_corpus
import w2v_data

SETTINGS = dict(vector_size=100, window=5, min_count=5, negative=5, sample=1e-3, workers=2)
TARGET_SPEEDUP = 1.5
MAX_ANALOGY_DROP = 0.3  # points of accuracy (percent)
MAX_SPEARMAN_DROP = 0.01
#: (name, gensim test data file) of the word-pair similarity sets scored by Spearman
PAIR_SETS = (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt"))
OUR_OPTIONS: dict = {}  # extra settings for nnbasics' Word2Vec (--ours)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
_M_MMAP_THRESHOLD = -3


def fixed_malloc_threshold() -> None:
    """Make glibc serve every allocation >= 128 KiB by mmap, returned to the system when freed.

    By default glibc raises its mmap threshold after large frees, after which big arrays come
    from the heap and stay resident when freed: a fit would then look smaller or larger
    depending on what ran before it in the process.
    """
    _LIBC.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


def _system_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (``/proc/stat``: all but idle, iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait: float = 600.0) -> float:
    """Wait until other processes use < 10% of a core over 1 s; return the seconds waited."""
    start = time.perf_counter()
    while True:
        before = _system_busy_seconds()
        time.sleep(1.0)
        if _system_busy_seconds() - before < 0.1 or time.perf_counter() - start > max_wait:
            return time.perf_counter() - start


def measured_fit(make):
    """Run ``make()``; return (result, seconds, peak MiB above the start, cores used, others).

    Cores used = this process's CPU time (user + system) / wall time: about 2 for a fit that
    kept both cores busy.  Others = CPU seconds used by *other* processes during the fit (all
    processes' busy time from ``/proc/stat`` minus ours): a fit they disturbed is run again.
    """
    gc.collect()
    _LIBC.malloc_trim(0)  # hand freed heap memory back, so that the baseline is the live data
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    cpu_start = resource.getrusage(resource.RUSAGE_SELF)
    system_start = _system_busy_seconds()
    start = time.perf_counter()
    result = make()
    seconds = time.perf_counter() - start
    system = _system_busy_seconds() - system_start
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    peak = _status_kib("VmHWM")
    cpu = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
    return result, seconds, (peak - before) / 1024, cpu / seconds, max(0.0, system - cpu)


def fit_gensim(corpus: Path, sg: int, epochs: int, seed: int):
    """gensim's fastest mode, ``corpus_file``: the speed reference."""
    from gensim.models import Word2Vec

    return Word2Vec(corpus_file=str(corpus), sg=sg, epochs=epochs, seed=seed, **SETTINGS).wv


def fit_gensim_iterable(corpus: Path, sg: int, epochs: int, seed: int):
    """gensim's iterable mode (``sentences=LineSentence(path)``): the quality reference."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    return Word2Vec(sentences=LineSentence(str(corpus)), sg=sg, epochs=epochs, seed=seed,
                    **SETTINGS).wv


def fit_ours(corpus: Path, sg: int, epochs: int, seed: int):
    import nnbasics

    settings = {**SETTINGS, **OUR_OPTIONS}  # --ours may change a shared setting (workers=1)
    return nnbasics.Word2Vec(
        corpus_file=corpus, sg=sg, epochs=epochs, seed=seed, progress=False, **settings,
    ).wv


#: the fitters by peer name: gensim in each input mode, and nnbasics
PEER_FITS = {"gensim-cf": fit_gensim, "gensim-it": fit_gensim_iterable, "nnbasics": fit_ours}
#: which gensim peer each comparison is judged against, best first (see the module docstring)
QUALITY_REFERENCES = ("gensim-it", "gensim-cf")
SPEED_REFERENCES = ("gensim-cf", "gensim-it")


def pair_sets() -> list[tuple[str, Path]]:
    """The word-pair sets whose file is in gensim's test data."""
    found = [(name, w2v_data.gensim_test_data(file)) for name, file in PAIR_SETS]
    return [(name, path) for name, path in found if path.exists()]


def quality(index_to_key, vectors) -> list[float]:
    """[analogy accuracy in percent, Spearman of each pair set] by nnbasics' evaluator."""
    from nnbasics.word2vec import KeyedVectors

    kv = KeyedVectors(list(index_to_key), np.asarray(vectors, dtype=np.float32))
    accuracy, _ = kv.evaluate_word_analogies(w2v_data.gensim_test_data("questions-words.txt"))
    scores = [100.0 * accuracy]
    for _, path in pair_sets():
        _, spearman, _ = kv.evaluate_word_pairs(path)
        scores.append(float(spearman[0]))
    return scores


def warm_up(tmp_dir: Path) -> None:
    """Train both libraries once on a tiny file, untimed (numba cache load or compilation)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    tiny = tmp_dir / f"w2v_warmup_{os.getpid()}.txt"  # concurrent runs do not share it
    tiny.write_text(
        "\n".join(" ".join(rng.choice(words, 30)) for _ in range(200)) + "\n", encoding="utf-8"
    )
    for sg in (1, 0):
        fit_ours(tiny, sg, 1, 1)
        fit_gensim(tiny, sg, 1, 1)
    tiny.unlink()


def versions() -> str:
    import gensim
    import numba

    return (f"Python {platform.python_version()}, NumPy {np.__version__}, numba "
            f"{numba.__version__}, gensim {gensim.__version__}")


def header() -> str:
    return (f"{'arch':5} {'peer':9} {'seed':>4} {'time s':>7} {'words/s':>10} {'cores':>6} "
            f"{'peak+MiB':>9} {'analogy%':>9}" + "".join(f" {n:>10}" for n, _ in pair_sets()))


def fit_all(corpus: Path, n_words: int, archs: list[str], epochs: int, seeds: int,
            peers: list[str], quiet_wait: float = 600.0, attempts: int = 3):
    """Fit each peer of ``peers`` (names of :data:`PEER_FITS`) ``seeds`` times per architecture;
    yield (arch, peer, seed, seconds, words/s, peak MiB above start, cores used, index_to_key,
    vectors) for each fit, in the order run (the peers' order rotates from seed to seed).

    Before each fit, wait up to ``quiet_wait`` seconds for the other processes to go quiet; a fit
    they disturbed is run again, ``attempts`` times in all (on a machine that stays busy, fewer
    seconds and attempts shorten the run, and the printed lines say what disturbed it)."""
    for arch in archs:
        sg = 1 if arch == "sg" else 0
        for seed in range(1, seeds + 1):
            shift = (seed - 1) % len(peers)
            for peer in peers[shift:] + peers[:shift]:
                fit = PEER_FITS[peer]
                for attempt in range(1, attempts + 1):  # a disturbed fit is run again
                    waited = wait_for_quiet(quiet_wait) if quiet_wait > 0 else 0.0
                    wv, seconds, peak_above, cores, others = measured_fit(
                        partial(fit, corpus, sg, epochs, seed)
                    )
                    print(f"fitted {arch:4} {peer:9} seed {seed}: {seconds:6.2f} s, peak "
                          f"+{peak_above:.1f} MiB, cores used {cores:.2f}, other processes "
                          f"{others:.1f} cpu s (waited {waited:.0f} s for quiet)", flush=True)
                    if quiet_wait <= 0 or others < 0.1 * seconds:  # background: ~0.06 core
                        break
                    print("  disturbed: " + ("run again" if attempt < attempts
                                             else "kept, flagged"))
                speed = n_words * epochs / seconds
                yield (arch, peer, seed, seconds, speed, peak_above, cores,
                       list(wv.index_to_key), np.array(wv.vectors, dtype=np.float32))
                del wv


def evaluate_all(fits, peers: list[str]) -> dict:
    """Score every fit (a list, or the generator of :func:`fit_all`, scored as they come);
    rows[arch][peer] = [(seconds, words/s, peak MiB, analogy, spearman...)]."""
    rows: dict = {}
    print("\n" + header())
    for arch, peer, seed, seconds, speed, peak_above, cores, keys, vectors in fits:
        scores = quality(keys, vectors)
        rows.setdefault(arch, {p: [] for p in peers})[peer].append(
            (seconds, speed, peak_above, *scores)
        )
        print(f"{arch:5} {peer:9} {seed:4d} {seconds:7.2f} {speed:10.0f} {cores:6.2f} "
              f"{peak_above:9.1f} {scores[0]:9.2f}" + "".join(f" {s:10.3f}" for s in scores[1:]),
              flush=True)
    return rows


def judge(arch: str, rows: dict) -> list[str]:
    """Print the comparison of one architecture; return the targets missed.

    Quality is judged against the first gensim peer of :data:`QUALITY_REFERENCES` that was run
    (the iterable mode, word2vec.c's learning-rate schedule), speed and memory against the first
    of :data:`SPEED_REFERENCES` (``corpus_file``, gensim's fastest); every peer's row is printed.
    """

    def column(peer, i):
        return [r[i] for r in rows[peer]]

    def spread(values):
        return statistics.stdev(values) if len(values) > 1 else 0.0

    names = ["analogy %"] + [name for name, _ in pair_sets()]
    for offset, name in enumerate(names):
        i = 3 + offset
        for peer, peer_rows in rows.items():
            if peer_rows:
                values = column(peer, i)
                print(f"{arch}: {name:10} {peer:9} {statistics.mean(values):.3f} +- "
                      f"{spread(values):.3f}  (mean +- sd over {len(values)} seeds: "
                      + " ".join(f"{v:.3f}" for v in values) + ")")
    run = [peer for peer in rows if rows[peer]]
    quality_ref = next((p for p in QUALITY_REFERENCES if p in run), None)
    speed_ref = next((p for p in SPEED_REFERENCES if p in run), None)
    if "nnbasics" not in run or quality_ref is None:
        return []  # no gensim or no nnbasics: nothing to compare
    failures = []
    for ref in (p for p in SPEED_REFERENCES if p in run):
        speedup = (statistics.median(column("nnbasics", 1))
                   / statistics.median(column(ref, 1)))
        judged = ref == speed_ref
        print(f"{arch}: speed ratio (median words/s) nnbasics/{ref} = {speedup:.2f}"
              + (f" (target >= {TARGET_SPEEDUP})" if judged else " (not judged)"))
        if judged and speedup < TARGET_SPEEDUP:
            failures.append(f"{arch} speed ratio against {ref} {speedup:.2f} < {TARGET_SPEEDUP}")
    for ref in (p for p in QUALITY_REFERENCES if p in run):
        judged = ref == quality_ref
        for offset, name in enumerate(names):
            i = 3 + offset
            gap = statistics.mean(column("nnbasics", i)) - statistics.mean(column(ref, i))
            limit = MAX_ANALOGY_DROP if offset == 0 else MAX_SPEARMAN_DROP
            print(f"{arch}: {name} gap against {ref} {gap:+.3f}"
                  + (f" (target >= -{limit})" if judged else " (not judged)"))
            if judged and gap < -limit:
                failures.append(f"{arch} {name} against {ref} {gap:+.3f}")
    memory = {peer: max(column(peer, 2)) for peer in run}
    print(f"{arch}: peak memory above start, largest over seeds: "
          + ", ".join(f"{peer} {mib:.1f} MiB" for peer, mib in memory.items())
          + f" (judged against {speed_ref})\n")
    if memory["nnbasics"] > memory[speed_ref]:
        failures.append(f"{arch} peak memory {memory['nnbasics']:.1f} > {speed_ref} "
                        f"{memory[speed_ref]:.1f} MiB")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="dict-wiki",
                        help="dict-wiki (w2v_corpus.py, default), wiki-sample (w2v_data.py) or "
                             "a text file")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--arch", default="sg,cbow", help="comma-separated: sg, cbow")
    parser.add_argument("--quiet-wait", type=float, default=600.0,
                        help="seconds to wait for other processes to go quiet before a fit")
    parser.add_argument("--attempts", type=int, default=3,
                        help="fits of each (peer, seed) while other processes disturb them")
    parser.add_argument("--peers", default="gensim,nnbasics",
                        help="comma-separated: gensim, nnbasics")
    parser.add_argument("--gensim-input", choices=("corpus_file", "iterable", "both"),
                        default="both",
                        help="how gensim reads the corpus: corpus_file (its fastest mode, the "
                             "speed reference), iterable (LineSentence, word2vec.c's schedule, "
                             "the quality reference) or both (default)")
    parser.add_argument("--hs", action="store_true",
                        help="hierarchical softmax for both peers (hs=1, negative=0)")
    parser.add_argument("--quality-only", action="store_true",
                        help="no wait for a quiet machine, no re-run of disturbed fits "
                             "(--quiet-wait 0 --attempts 1)")
    parser.add_argument("--ours", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra nnbasics Word2Vec setting (Python literal value)")
    parser.add_argument("--lock", type=Path, default=None,
                        help="flock this file: exclusive for the fits, shared for the evaluation")
    args = parser.parse_args()
    archs = [a.strip() for a in args.arch.split(",") if a.strip()]
    if not archs or any(a not in ("sg", "cbow") for a in archs):
        parser.error("--arch takes sg, cbow or both")
    libraries = [p.strip() for p in args.peers.split(",") if p.strip()]
    if not libraries or any(p not in ("gensim", "nnbasics") for p in libraries):
        parser.error("--peers takes gensim, nnbasics or both")
    gensim_peers = {"corpus_file": ["gensim-cf"], "iterable": ["gensim-it"],
                    "both": ["gensim-cf", "gensim-it"]}[args.gensim_input]
    peers = (gensim_peers if "gensim" in libraries else []) + (
        ["nnbasics"] if "nnbasics" in libraries else [])
    if args.hs:
        SETTINGS.update(hs=1, negative=0)
    if args.epochs < 1 or args.seeds < 1 or args.attempts < 1:
        parser.error("--epochs, --seeds and --attempts must be >= 1")
    if args.quality_only:
        args.quiet_wait, args.attempts = 0.0, 1
    for option in args.ours:
        key, sep, value = option.partition("=")
        if not sep:
            parser.error(f"--ours takes KEY=VALUE, got {option!r}")
        try:
            OUR_OPTIONS[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parser.error(f"--ours {key}: not a Python literal: {value!r}")

    if args.corpus == "dict-wiki":
        corpus = w2v_corpus.ensure_corpus()
    elif args.corpus == "wiki-sample":
        corpus = w2v_data.ensure_corpus()
    else:
        corpus = Path(args.corpus)
        if not corpus.is_file():
            parser.error(f"--corpus: no such file: {corpus}")
    n_words = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
    print(f"corpus {corpus}: {n_words} words, {os.path.getsize(corpus) / 2**20:.1f} MiB")
    print(f"settings {SETTINGS}, epochs={args.epochs}, seeds 1..{args.seeds}, nnbasics extra "
          f"settings {OUR_OPTIONS}")
    print(versions())
    lock = open(args.lock, "a") if args.lock else None  # held until the process exits
    if lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # exclusive: the timed fits
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    fixed_malloc_threshold()
    warm_up(corpus.parent)
    print("warm-up done (numba kernels loaded/compiled, gensim imported): not timed")
    fits = fit_all(corpus, n_words, archs, args.epochs, args.seeds, peers, args.quiet_wait,
                   args.attempts)
    if lock:  # every fit under the exclusive lock, then the untimed evaluation under a shared one
        fits = list(fits)
        print(f"load average after the fits: {os.getloadavg()[0]:.2f}")
        fcntl.flock(lock, fcntl.LOCK_SH)
    rows = evaluate_all(fits, peers)  # without a lock, each fit is scored as soon as it ends
    print()
    failures = []
    for arch in archs:
        failures += judge(arch, rows[arch])
    if failures:
        print("TARGETS MISSED: " + "; ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
