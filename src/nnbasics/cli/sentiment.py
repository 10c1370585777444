"""``nnbasics sentiment``: sentence sentiment from word vectors (the end of CS224n assignment 1).

Steps: print the resolved configuration; load the Stanford Sentiment Treebank's official split
(:func:`nnbasics.io.sst.load_sst`) and the word vectors; map every sentence to the mean of its
word vectors (:class:`nnbasics.word2vec.MeanWordVectors`); standardise the features with the
training sentences' mean and deviation; train one softmax regression
(``MLPClassifier(hidden_layer_sizes=())``) per L2 strength of the sweep on the training
sentences; choose the strength with the best dev accuracy (ties go to the stronger); only then
score the chosen model on the test sentences.  Writes to ``--report``: accuracy against
regularisation (train and dev), the test confusion matrix and ``sentiment.json`` (every figure
printed).

Why standardise: mean word vectors vary little from sentence to sentence (a deviation of 0.014
per component on the synthetic treebank of the tests), so the classifier needs large weights,
which Adam at its default rate reaches slowly and the L2 penalty pulls back; there,
standardising raised dev accuracy from 0.43 to 0.56 at the same settings
(``docs/sentiment.md``).  ``--no-standardize`` turns it off.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DEFAULT_DATA = "stanfordSentimentTreebank"
DEFAULT_REPORT_DIR = "nnbasics-report"
DEFAULT_SWEEP = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
REPORT_FILES = ("sentiment_regularization.png", "sentiment_confusion_matrix.png",
                "sentiment.json")
VECTOR_FORMATS = ("auto", "text", "glove", "binary", "model")


@dataclass(frozen=True)
class SentimentConfig:
    """The resolved settings of one ``nnbasics sentiment`` run (printed when it starts)."""

    vectors: str
    vectors_format: str = "auto"
    data: str = DEFAULT_DATA
    download: bool = False
    labels: int = 5
    reg_sweep: tuple[float, ...] = DEFAULT_SWEEP
    standardize: bool = True
    lowercase: bool = False
    unknown: str = "ignore"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 0.001
    seed: int = 0
    report: str = DEFAULT_REPORT_DIR

    def describe(self) -> str:
        """One ``name = value`` line per setting."""
        width = max(len(k) for k in asdict(self))
        return "\n".join(f"  {k:<{width}} = {v}" for k, v in asdict(self).items())


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sentiment",
        help="classify SST sentences by their mean word vector (softmax regression)",
        description="Sentence sentiment on the Stanford Sentiment Treebank: mean word vectors, "
        "softmax regression, L2 strength chosen on the dev split, test accuracy reported once.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--vectors", required=True, metavar="VECTORS",
                   help="word vectors: word2vec .bin or text (nnbasics word2vec train), a GloVe "
                   ".txt (no header line), or a saved model .npz")
    p.add_argument("--format", dest="vectors_format", choices=VECTOR_FORMATS, default="auto",
                   help="format of VECTORS; auto: .bin binary, .npz model, else text, with or "
                   "without the '<V> <d>' header line (GloVe)")
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help="the treebank's folder (or the folder holding stanfordSentimentTreebank/)")
    p.add_argument("--download", action="store_true",
                   help="download the treebank into --data first if it is not there")
    p.add_argument("--labels", type=int, choices=(5, 2), default=5,
                   help="5 fine-grained classes, or 2 (neutral sentences dropped)")
    p.add_argument("--reg-sweep", type=float, nargs="+", default=list(DEFAULT_SWEEP),
                   metavar="ALPHA", help="L2 strengths (MLPClassifier's alpha) to try")
    p.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="use the mean vectors as they are (default: standardised on train)")
    p.add_argument("--lowercase", action="store_true",
                   help="look words up lower-cased (the treebank's tokens already are)")
    p.add_argument("--unknown", choices=("ignore", "zero"), default="ignore",
                   help="words without a vector: left out of the mean, or counted as zeros")
    p.add_argument("--epochs", type=int, default=100, help="epochs of every fit")
    p.add_argument("--batch-size", type=int, default=32, help="rows per mini-batch")
    p.add_argument("--lr", type=float, default=0.001, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed of every fit")
    p.add_argument("--report", default=DEFAULT_REPORT_DIR, metavar="DIR",
                   help="folder for the figures and sentiment.json")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SentimentConfig:
    return SentimentConfig(
        vectors=args.vectors, vectors_format=args.vectors_format, data=args.data,
        download=args.download, labels=args.labels, reg_sweep=tuple(args.reg_sweep),
        standardize=args.standardize, lowercase=args.lowercase, unknown=args.unknown,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        report=args.report,
    )


def validate(cfg: SentimentConfig) -> None:
    """Refuse settings that would fail only after loading or training; ValueError naming them."""
    alphas = np.asarray(cfg.reg_sweep)
    if not np.isfinite(alphas).all() or (alphas < 0).any():
        raise ValueError(f"--reg-sweep values must be finite and >= 0, got {list(cfg.reg_sweep)}")
    if len(set(cfg.reg_sweep)) != len(cfg.reg_sweep):
        raise ValueError(f"--reg-sweep repeats a value: {list(cfg.reg_sweep)}")
    for option, value in (("--epochs", cfg.epochs), ("--batch-size", cfg.batch_size)):
        if value < 1:
            raise ValueError(f"{option} must be >= 1, got {value}")
    if not (cfg.lr > 0 and np.isfinite(cfg.lr)):
        raise ValueError(f"--lr must be a finite number > 0, got {cfg.lr}")
    if not 0 <= cfg.seed < 2**32:
        raise ValueError(f"--seed must be in [0, {2**32 - 1}], got {cfg.seed}")
    blocker = next((p for p in (Path(cfg.report), *Path(cfg.report).parents)
                    if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ValueError(f"--report {cfg.report}: {blocker} exists and is not a directory")
    if not os.path.isfile(cfg.vectors):
        raise FileNotFoundError(2, "No such file or directory", cfg.vectors)


def load_vectors(path: str, fmt: str = "auto"):
    """KeyedVectors from ``path``; ``auto`` tells GloVe's text files by their first line."""
    from nnbasics.word2vec import KeyedVectors, Word2Vec

    if fmt == "auto":
        fmt = {".bin": "binary", ".npz": "model"}.get(os.path.splitext(path)[1].lower(), "text")
        if fmt == "text" and not _has_header(path):
            fmt = "glove"
    if fmt == "model":
        return Word2Vec.load(path).wv
    return KeyedVectors.load_word2vec_format(path, binary=fmt == "binary",
                                             no_header=fmt == "glove")


def _has_header(path: str) -> bool:
    """Whether a text vectors file starts with word2vec's ``"<V> <d>"`` line (GloVe's does not:
    its first line is a word and its values)."""
    with open(path, "rb") as fh:
        fields = fh.readline(256).split()
    return len(fields) == 2 and all(f.isdigit() for f in fields)


@dataclass
class SweepResult:
    alpha: float
    train_accuracy: float
    dev_accuracy: float
    epochs_run: int


def fit_one(alpha: float, X_train, y_train, cfg: SentimentConfig):
    """One softmax regression (no hidden layer; logistic regression for two classes) with L2
    strength ``alpha``."""
    from nnbasics.mlp.estimator import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(), alpha=alpha, max_iter=cfg.epochs,
                          batch_size=cfg.batch_size, learning_rate_init=cfg.lr,
                          random_state=cfg.seed)
    with warnings.catch_warnings():  # the epoch budget is the user's: reaching it is no news
        warnings.filterwarnings("ignore", message=".*maximum iterations.*")
        return model.fit(X_train, y_train)


def choose(results: list[SweepResult]) -> SweepResult:
    """The best dev accuracy; among equals, the strongest regularisation (the simplest model)."""
    return max(results, key=lambda r: (r.dev_accuracy, r.alpha))


def run(args: argparse.Namespace) -> int:
    from sklearn.metrics import confusion_matrix
    from sklearn.preprocessing import StandardScaler

    from nnbasics.cli.evaluate import format_confusion_matrix
    from nnbasics.io import figures
    from nnbasics.io.serialization import atomic_write
    from nnbasics.io.sst import download_sst, load_sst
    from nnbasics.word2vec.features import MeanWordVectors

    cfg = config_from_args(args)
    validate(cfg)
    print("nnbasics sentiment: settings\n" + cfg.describe())
    if cfg.download:
        try:
            load_sst(cfg.data, cfg.labels)
        except FileNotFoundError:
            print(f"downloading the treebank into {cfg.data}")
            download_sst(cfg.data)
    sst = load_sst(cfg.data, cfg.labels)
    kv = load_vectors(cfg.vectors, cfg.vectors_format)
    print(f"treebank: {len(sst.train)} train, {len(sst.dev)} dev, {len(sst.test)} test "
          f"sentences, {len(sst.class_names)} classes")
    print(f"vectors: {len(kv)} words of size {kv.vector_size} from {cfg.vectors}")

    features = MeanWordVectors(kv, lowercase=cfg.lowercase, unknown=cfg.unknown)
    splits = {name: getattr(sst, name) for name in ("train", "dev", "test")}
    X = {name: features.transform(s.sentences) for name, s in splits.items()}  # (N, d) each
    for name, s in splits.items():
        tokens = [t.lower() if cfg.lowercase else t for sentence in s.sentences
                  for t in sentence]
        known = sum(t in kv for t in tokens)
        empty = int(np.sum(~X[name].any(axis=1)))
        print(f"  {name}: {known / max(len(tokens), 1):.1%} of {len(tokens)} tokens have a "
              f"vector; {empty} sentences have none (zero features)")
    if cfg.standardize:
        scaler = StandardScaler().fit(X["train"])
        X = {name: scaler.transform(values) for name, values in X.items()}

    results, models = [], {}
    for alpha in cfg.reg_sweep:
        model = fit_one(alpha, X["train"], splits["train"].y, cfg)
        result = SweepResult(alpha, model.score(X["train"], splits["train"].y),
                             model.score(X["dev"], splits["dev"].y), model.n_iter_)
        results.append(result)
        models[alpha] = model
        print(f"alpha {alpha:<8g} train {result.train_accuracy:.4f}  dev "
              f"{result.dev_accuracy:.4f}")
    best = choose(results)
    model = models[best.alpha]
    test_accuracy = model.score(X["test"], splits["test"].y)  # the only look at the test split
    print(f"chosen on dev: alpha {best.alpha:g}")
    print(f"accuracy: train {best.train_accuracy:.4f}  dev {best.dev_accuracy:.4f}  test "
          f"{test_accuracy:.4f}")
    classes = np.arange(len(sst.class_names))
    matrix = confusion_matrix(splits["test"].y, model.predict(X["test"]), labels=classes)
    print("test confusion matrix (rows: true class, columns: predicted class):")
    print(format_confusion_matrix(matrix, classes))
    print("classes: " + ", ".join(f"{k} {name}" for k, name in enumerate(sst.class_names)))

    report = Path(cfg.report)
    report.mkdir(parents=True, exist_ok=True)
    figures.plot_regularization(
        [r.alpha for r in results],
        {"train": [r.train_accuracy for r in results], "dev": [r.dev_accuracy for r in results]},
        report / REPORT_FILES[0], chosen=best.alpha,
        title="softmax regression on mean word vectors",
    )
    figures.plot_confusion_matrix(matrix, sst.class_names, report / REPORT_FILES[1],
                                  title=f"test (alpha {best.alpha:g})")
    summary = {
        "settings": {**asdict(cfg), "reg_sweep": list(cfg.reg_sweep)},
        "sizes": {name: len(s) for name, s in splits.items()},
        "class_names": list(sst.class_names),
        "sweep": [asdict(r) for r in results],
        "chosen_alpha": best.alpha,
        "accuracy": {"train": best.train_accuracy, "dev": best.dev_accuracy,
                     "test": test_accuracy},
        "test_confusion_matrix": matrix.tolist(),
    }
    atomic_write(report / REPORT_FILES[2],
                 lambda fh: fh.write((json.dumps(summary, indent=2) + "\n").encode()))
    print(f"report: {', '.join(str(report / name) for name in REPORT_FILES)}")
    return 0
