"""``nnbasics word2vec``: train word vectors, query them, evaluate them, plot them.

Vector files are read by extension: ``.bin`` word2vec binary, ``.npz`` a saved model, anything
else word2vec text (override with ``--format``).  Existing output files are never overwritten
unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict

from nnbasics.cli.outputs import check_output_file

FORMATS = ("auto", "text", "binary", "model")
#: Above this many words, ``--negative 0`` without ``--hs`` (the full softmax) is warned about.
FULL_SOFTMAX_WARN_WORDS = 1000


def full_softmax_warning(negative: int, hs: int, n_words: int, vector_size: int) -> str | None:
    """The warning for a full softmax over a large vocabulary, or None.

    The full softmax (``negative=0``, ``hs=0``) updates every output vector for every (centre,
    context) pair: ``V * d`` multiply-adds per pair against ``(negative + 1) * d`` for negative
    sampling, so it is ``V / 6`` times the work of the default ``negative=5``.
    """
    if negative != 0 or hs or n_words <= FULL_SOFTMAX_WARN_WORDS:
        return None
    return (f"nnbasics: warning: --negative 0 without --hs trains the full softmax: every pair "
            f"updates all {n_words} output vectors ({n_words * vector_size} multiply-adds, "
            f"~{n_words // 6}x the work of --negative 5); use --negative 5 or --hs for a "
            "vocabulary this large")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "word2vec",
        help="train word2vec vectors and query, evaluate or plot them",
        description="word2vec: skip-gram/CBOW with negative sampling (gensim-compatible files).",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True

    t = sub.add_parser("train", help="train vectors on a text corpus (one sentence per line)")
    t.add_argument("corpus", metavar="CORPUS", help="UTF-8 text file, whitespace-separated tokens")
    t.add_argument("--out", default="vectors.bin",
                   help="vectors file: .bin binary, otherwise text (default: vectors.bin)")
    arch = t.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_const", const=1, default=1,
                      help="skip-gram (default)")
    arch.add_argument("--cbow", dest="sg", action="store_const", const=0, help="CBOW")
    t.add_argument("--size", type=int, default=100, help="vector size (default: 100)")
    t.add_argument("--window", type=int, default=5, help="largest window (default: 5)")
    t.add_argument("--negative", type=int, default=5,
                   help="negative samples; 0 = full softmax, small vocabularies, unless --hs "
                   "(default: 5)")
    t.add_argument("--hs", action="store_const", const=1, default=0,
                   help="hierarchical softmax (with --negative 0: alone; else both, as gensim)")
    t.add_argument("--min-count", type=int, default=5, help="drop rarer words (default: 5)")
    t.add_argument("--sample", type=float, default=1e-3, help="subsampling (default: 1e-3)")
    t.add_argument("--alpha", type=float, default=0.025, help="initial learning rate")
    t.add_argument("--epochs", type=int, default=5, help="passes over the corpus (default: 5)")
    t.add_argument("--workers", type=int, default=min(3, os.cpu_count() or 1),
                   help="threads (default: min(3, CPUs)); 1 makes a seeded run reproducible")
    t.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    t.add_argument("--save-model", metavar="M.npz", help="also save the full model (resumable)")
    t.add_argument("--checkpoint-dir", metavar="DIR",
                   help="write DIR/checkpoint.npz at the end of every epoch (model, vocabulary, "
                        "run position)")
    t.add_argument("--resume", action="store_true",
                   help="with --checkpoint-dir: continue the run checkpointed there (its "
                        "settings, not these) or, if there is none yet, start it")
    t.add_argument("--force", action="store_true", help="overwrite existing output files")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.set_defaults(func=run_train)

    def vectors_arg(q: argparse.ArgumentParser) -> None:
        q.add_argument("vectors", metavar="VECTORS",
                       help="vectors file (.bin, text, or model .npz)")
        q.add_argument("--format", choices=FORMATS, default="auto",
                       help="file format (default: by extension)")

    s = sub.add_parser("similar", help="the words nearest to WORD")
    vectors_arg(s)
    s.add_argument("word", metavar="WORD")
    s.add_argument("--topn", type=int, default=10, help="how many (default: 10)")
    s.set_defaults(func=run_similar)

    a = sub.add_parser("analogy", help="A is to B as C is to ? (3CosAdd)")
    vectors_arg(a)
    for name in ("a", "b", "c"):
        a.add_argument(name, metavar=name.upper())
    a.add_argument("--topn", type=int, default=5, help="how many (default: 5)")
    a.set_defaults(func=run_analogy)

    e = sub.add_parser("evaluate", help="analogy accuracy and word-pair correlation")
    vectors_arg(e)
    e.add_argument("--analogies", metavar="F", help="questions-words file (Google format)")
    e.add_argument("--pairs", metavar="F", help="word pairs file, tab-separated (WordSim-353)")
    e.set_defaults(func=run_evaluate)

    f = sub.add_parser("plot", help="2-D PCA projection of the chosen words' vectors")
    vectors_arg(f)
    f.add_argument("words", metavar="WORD", nargs="+")
    f.add_argument("--out", default="word_vectors.png", help="image file (default: %(default)s)")
    f.add_argument("--force", action="store_true", help="overwrite an existing image")
    f.set_defaults(func=run_plot)


def _refuse_overwrite(path: str | None, force: bool, option: str) -> None:
    """Refuse an existing output file without ``--force``, and a missing or unwritable
    directory at once."""
    if path is None:
        return
    if not path.strip():
        raise ValueError(f"{option} is empty; give a file name")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give a file name")
    if os.path.exists(path) and not force:
        raise ValueError(f"{path} exists; pass --force to overwrite it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, "No such file or directory", directory)
    check_output_file(path, option)  # a place that takes no files fails now, not after training


def load_vectors(path: str, fmt: str = "auto"):
    """KeyedVectors from a word2vec text/binary file or the ``wv`` of a saved model."""
    from nnbasics.word2vec import KeyedVectors, Word2Vec

    if fmt == "auto":
        ext = os.path.splitext(path)[1].lower()
        fmt = {".bin": "binary", ".npz": "model"}.get(ext, "text")
    if fmt == "model":
        return Word2Vec.load(path).wv
    return KeyedVectors.load_word2vec_format(path, binary=fmt == "binary")


def run_train(args: argparse.Namespace) -> int:
    from nnbasics._accel import announce_compilation
    from nnbasics.word2vec import Word2Vec, Word2VecConfig
    from nnbasics.word2vec.corpus import LineSentences
    from nnbasics.word2vec.model import CHECKPOINT_NAME

    announce_compilation()

    _refuse_overwrite(args.out, args.force, "--out")
    _refuse_overwrite(args.save_model, args.force, "--save-model")
    if os.path.splitext(args.out)[1].lower() == ".npz":
        raise ValueError(f"--out {args.out}: vectors are written in word2vec's text or binary "
                         "format (.txt, .bin); save the whole model with --save-model m.npz")
    if args.save_model and os.path.abspath(args.save_model) == os.path.abspath(args.out):
        raise ValueError(f"--out and --save-model both name {args.out}: give two files")
    LineSentences(args.corpus)  # a missing corpus is reported before anything else happens
    if args.resume and not args.checkpoint_dir:
        raise ValueError("--resume needs --checkpoint-dir (where the run was checkpointed)")
    checkpoint = (os.path.join(args.checkpoint_dir, CHECKPOINT_NAME) if args.checkpoint_dir
                  else None)
    if args.resume and os.path.isfile(checkpoint):
        model = Word2Vec.resume(args.checkpoint_dir, corpus_file=args.corpus,
                                progress=False if args.no_progress else None,
                                callbacks=_epoch_lines(args))
        print(f"resumed the run checkpointed in {args.checkpoint_dir}: "
              f"{'skip-gram' if model.sg else 'CBOW'}, {len(model.wv)} words, "
              f"{model.epochs_trained} epochs trained")
        return _report_and_write(model, args)
    if checkpoint and os.path.exists(checkpoint) and not args.force:
        raise ValueError(f"{checkpoint} exists: continue that run with --resume, or start "
                         f"anew with --force")
    config = Word2VecConfig(
        vector_size=args.size, window=args.window, min_count=args.min_count, sg=args.sg,
        negative=args.negative, hs=args.hs, sample=args.sample, alpha=args.alpha,
        min_alpha=min(0.0001, args.alpha), epochs=args.epochs, workers=args.workers,
        seed=args.seed,
    )
    settings = ", ".join(f"{k}={v}" for k, v in asdict(config).items())
    print(f"word2vec {'skip-gram' if config.sg else 'CBOW'} on {args.corpus}: {settings}")
    model = Word2Vec(**asdict(config), progress=False if args.no_progress else None,
                     checkpoint_dir=args.checkpoint_dir)
    model.build_vocab(corpus_file=args.corpus)
    print(f"vocabulary: {len(model.wv)} words of {model.corpus_total_words} tokens "
          f"in {model.corpus_count} sentences")
    warning = full_softmax_warning(config.negative, config.hs, len(model.wv),
                                   config.vector_size)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    interrupted = False
    try:
        model.train(corpus_file=args.corpus, callbacks=_epoch_lines(args))
    except KeyboardInterrupt:  # Ctrl-C: the workers have stopped; keep what was trained
        interrupted = True
        print(f"nnbasics: interrupted in epoch {model.epochs_trained + 1} of {config.epochs}: "
              "writing the vectors trained so far", file=sys.stderr, flush=True)
    return _report_and_write(model, args, interrupted)


class _EpochLine:
    """gensim-style callback: one line on stderr at each epoch's end (the progress of a run whose
    stderr is not a terminal, where no bar is drawn: a log file, a batch job)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, model) -> None:
        loss, pairs = model.epoch_losses[-1], max(model.epoch_pairs[-1], 1)
        print(f"word2vec: epoch {model.epochs_trained}/{model.epochs} done "
              f"({time.perf_counter() - self.start:.1f} s): loss {loss / pairs:.4f} per pair",
              file=sys.stderr, flush=True)


def _epoch_lines(args: argparse.Namespace) -> tuple:
    """The callbacks of a CLI run: epoch lines when stderr is not a terminal (else the bar)."""
    return () if args.no_progress or sys.stderr.isatty() else (_EpochLine(),)


def _report_and_write(model, args: argparse.Namespace, interrupted: bool = False) -> int:
    for epoch, (loss, pairs) in enumerate(zip(model.epoch_losses, model.epoch_pairs,
                                              strict=True), start=1):
        print(f"epoch {epoch}: loss {loss:.6g} ({loss / max(pairs, 1):.4f} per pair)")
    binary = os.path.splitext(args.out)[1].lower() == ".bin"
    model.wv.save_word2vec_format(args.out, binary=binary)
    print(f"wrote {len(model.wv)} vectors to {args.out} ({'binary' if binary else 'text'})")
    if args.save_model:
        model.save(args.save_model)
        print(f"saved the model to {args.save_model}")
    if interrupted:
        more = ("run the same command with --resume to continue from the last epoch's "
                f"checkpoint in {args.checkpoint_dir}") if args.checkpoint_dir else (
                f"Word2Vec.load({args.save_model!r}).train(corpus_file=...) trains on"
                if args.save_model else "add --checkpoint-dir DIR to a run to be able to resume it")
        print(f"nnbasics: training stopped early after {model.epochs_trained} full epochs; "
              f"{more}", file=sys.stderr)
        return 130
    return 0


def _print_neighbours(pairs) -> None:
    width = max(len(word) for word, _ in pairs) if pairs else 0
    for word, sim in pairs:
        print(f"{word:<{width}}  {sim:.4f}")


def run_similar(args: argparse.Namespace) -> int:
    kv = load_vectors(args.vectors, args.format)
    _print_neighbours(kv.most_similar(args.word, topn=args.topn))
    return 0


def run_analogy(args: argparse.Namespace) -> int:
    kv = load_vectors(args.vectors, args.format)
    print(f"{args.a} : {args.b} :: {args.c} : ?")
    _print_neighbours(kv.most_similar(positive=[args.b, args.c], negative=[args.a],
                                      topn=args.topn))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    if not args.analogies and not args.pairs:
        raise ValueError("give --analogies F and/or --pairs F")
    kv = load_vectors(args.vectors, args.format)
    if args.analogies:
        score, sections = kv.evaluate_word_analogies(args.analogies)
        for s in sections:
            n = len(s["correct"]) + len(s["incorrect"])
            share = len(s["correct"]) / n if n else 0.0
            print(f"analogies {s['section']}: {share:.4f} ({len(s['correct'])}/{n})")
        print(f"analogy accuracy: {score:.4f}")
    if args.pairs:
        (r, _), spearman, oov = kv.evaluate_word_pairs(args.pairs)
        print(f"word pairs: pearson {r:.4f}, spearman {spearman[0]:.4f}, "
              f"out of vocabulary {oov:.1f}%")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    import numpy as np

    _refuse_overwrite(args.out, args.force, "--out")
    kv = load_vectors(args.vectors, args.format)
    missing = [w for w in args.words if w not in kv]
    if missing:
        raise ValueError(f"not in the vocabulary: {', '.join(missing)}")
    if len(set(args.words)) < 2:
        raise ValueError("plot needs at least two different words")
    X = kv[args.words].astype(np.float64)
    X -= X.mean(axis=0)
    # PCA by SVD: the two directions of largest variance of the chosen words
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    coords = X @ vt[:2].T
    if coords.shape[1] == 1:
        coords = np.column_stack([coords, np.zeros(len(coords))])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnbasics.io.serialization import atomic_file

    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(coords[:, 0], coords[:, 1], color="tab:red", s=12)
    for word, (x, y) in zip(args.words, coords, strict=True):
        ax.annotate(word, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=9)
    ax.set_title("word vectors, 2-D PCA projection")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()
    image_format = os.path.splitext(args.out)[1].lstrip(".").lower() or "png"
    with atomic_file(args.out) as handle:
        fig.savefig(handle, format=image_format, dpi=120)
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
