"""``nnbasics evaluate MODEL.npz``: accuracy, confusion matrix and per-class precision, recall
and F1 of a saved model on data (standardised as the model was trained, when it was)."""

from __future__ import annotations

import argparse

import numpy as np

from nnbasics.cli.standardize import Standardizer
from nnbasics.cli.train import parse_delimiter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy, confusion matrix and per-class scores of a saved model",
        description=(
            "Evaluate a model written by 'nnbasics train --save'. Rows used: the data set's "
            "official test split if it has one; else, when the model was trained by 'nnbasics "
            "train' on the same data, the same held-out test rows; else every row."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--data", default=None,
                   help="'digits', an MNIST directory, a .csv or a .npz "
                        "(default: the model's training data)")
    p.add_argument("--label-column", default=None, help="CSV label column: a name or an index")
    p.add_argument("--delimiter", default=None, type=parse_delimiter,
                   help="CSV field delimiter (default: the training run's, else ',')")
    p.add_argument("--all-rows", action="store_true", help="evaluate on every row of the data")
    p.set_defaults(func=run)


def _same_data(a: str | None, b: str) -> bool:
    from pathlib import Path

    if a is None:
        return False
    if "digits" in (a, b):
        return a == b
    return Path(a).resolve() == Path(b).resolve()


def _rows(dataset, extra: dict, data: str, all_rows: bool):
    """The rows to evaluate on, and a phrase saying which they are.

    The training run's held-out rows are found again only in data whose content is the training
    data's (``data_sha256``, saved by ``nnbasics train``): the same file edited or shuffled
    would put training rows among them.  The training file changed since is refused, unless
    ``--all-rows``; other data is scored whole, and says so.
    """
    from nnbasics.io.datasets import content_fingerprint, held_out_split

    if all_rows:
        return dataset.X, dataset.y, "all rows"
    if dataset.X_test is not None:
        return dataset.X_test, dataset.y_test, "the official test split"
    split_known = "seed" in extra and "test_fraction" in extra
    saved = extra.get("data_sha256")
    if split_known and saved is not None and content_fingerprint(dataset.X, dataset.y) == saved:
        *_, X_test, y_test = held_out_split(dataset.X, dataset.y, float(extra["test_fraction"]),
                                            int(extra["seed"]))
        return X_test, y_test, f"the training run's held-out test rows (seed {extra['seed']})"
    if split_known and _same_data(extra.get("data"), data):
        if saved is None:
            raise ValueError(f"the model does not record what {data} held when it was trained "
                             "(saved by nnbasics 0.1), so its held-out test rows cannot be "
                             "confirmed; pass --all-rows to evaluate on every row")
        raise ValueError(f"{data} has changed since the model was trained on it (rows edited, "
                         "added, removed or reordered): its held-out test rows cannot be found "
                         "in it; pass --all-rows to evaluate on every row")
    return dataset.X, dataset.y, "all rows"


def class_indices(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label of ``y`` in ``classes``; ValueError naming a label not among them.

    Numbers are compared as numbers (a label 3 matches a class 3.0), also when one side holds
    them as text (a model whose classes were read as "1.0", "2.0", evaluated on labels the CSV
    reader now reads as int64); anything else as text.
    """
    keys, table = y, classes
    if (y.dtype.kind in "iufb") != (classes.dtype.kind in "iufb"):
        try:  # the text side as numbers, if every entry is one
            keys, table = y.astype(np.float64), classes.astype(np.float64)
        except (ValueError, TypeError):
            pass
    if not (keys.dtype.kind in "iufb" and table.dtype.kind in "iufb"):
        keys, table = y.astype(str), classes.astype(str)
    order = np.argsort(table, kind="stable")
    position = np.searchsorted(table, keys, sorter=order)
    position = np.minimum(position, len(table) - 1)
    index = order[position]
    unknown = table[index] != keys
    if unknown.any():
        first = y[np.flatnonzero(unknown)[0]].item()
        raise ValueError(f"label {first!r} is not one of the model's classes {classes.tolist()}")
    return index


def format_confusion_matrix(matrix: np.ndarray, classes) -> str:
    """The matrix as aligned text: rows are true classes, columns predicted ones."""
    names = [str(c) for c in classes]
    width = max(4, *(len(n) for n in names), len(str(matrix.max())))
    lines = [" " * (width + 1) + " ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, matrix, strict=True):
        lines.append(f"{name:>{width}} " + " ".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from sklearn.metrics import classification_report, confusion_matrix

    from nnbasics.cli.predict import load_classifier
    from nnbasics.io.datasets import is_csv, load_dataset

    model = load_classifier(args.model)
    extra = getattr(model, "extra_metadata_", {})
    data = args.data or extra.get("data") or "digits"
    # the training run's CSV options apply to CSV data only (a model trained on a CSV can be
    # evaluated on digits or an .npz); options given here are always passed, and checked
    saved_label, saved_delimiter = (extra.get("label_column", "-1"), extra.get("delimiter", ",")) \
        if is_csv(data) else ("-1", ",")
    label_text = args.label_column if args.label_column is not None else str(saved_label)
    try:
        label_column: str | int = int(label_text)
    except ValueError:
        label_column = label_text
    delimiter = args.delimiter if args.delimiter is not None else str(saved_delimiter)
    dataset = load_dataset(data, label_column, delimiter)
    X, y, which = _rows(dataset, extra, data, args.all_rows)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"the data has {X.shape[1]} features but the model expects "
                         f"{model.n_features_in_}")
    standardizer = Standardizer.from_metadata(extra)
    if standardizer is not None:  # the training run's scale, fitted on its training rows
        X = standardizer.transform(X)
    classes = np.asarray(model.classes_)
    true = class_indices(np.asarray(y), classes)
    predicted = np.argmax(model.predict_proba(X), axis=1)  # columns follow classes_
    accuracy = float(np.mean(predicted == true))
    matrix = confusion_matrix(true, predicted, labels=np.arange(len(classes)))
    print(f"{args.model}: {len(y)} rows of {data} ({which})")
    print(f"accuracy: {accuracy:.4f} ({int(np.sum(predicted == true))} of {len(y)})")
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(format_confusion_matrix(matrix, classes))
    print("per class (scikit-learn's classification_report; support = true rows):")
    print(classification_report(true, predicted, labels=np.arange(len(classes)),
                                target_names=[str(c) for c in classes], digits=4,
                                zero_division=0).rstrip())
    return 0
