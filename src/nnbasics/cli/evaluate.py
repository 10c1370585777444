"""``nnbasics evaluate MODEL.npz``: accuracy and confusion matrix of a saved model on data."""

from __future__ import annotations

import argparse

import numpy as np


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy and confusion matrix of a saved model",
        description=(
            "Evaluate a model written by 'nnbasics train --save'. Rows used: the data set's "
            "official test split if it has one; else, when the model was trained by 'nnbasics "
            "train' on the same data, the same held-out test rows; else every row."
        ),
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("--data", default=None,
                   help="'digits', an MNIST directory, a .csv or a .npz (default: the training data)")
    p.add_argument("--label-column", default=None, help="CSV label column: a name or an index")
    p.add_argument("--all-rows", action="store_true", help="evaluate on every row of the data")
    p.set_defaults(func=run)


def _rows(dataset, extra: dict, data: str, all_rows: bool):
    """The rows to evaluate on, and a phrase saying which they are."""
    if all_rows:
        return dataset.X, dataset.y, "all rows"
    if dataset.X_test is not None:
        return dataset.X_test, dataset.y_test, "the official test split"
    if extra.get("data") == data and "seed" in extra:
        from sklearn.model_selection import train_test_split

        _, counts = np.unique(dataset.y, return_counts=True)
        _, X_test, _, y_test = train_test_split(
            dataset.X, dataset.y, test_size=float(extra["test_fraction"]),
            random_state=int(extra["seed"]), stratify=dataset.y if counts.min() >= 2 else None)
        return X_test, y_test, f"the training run's held-out test rows (seed {extra['seed']})"
    return dataset.X, dataset.y, "all rows"


def run(args: argparse.Namespace) -> int:
    from sklearn.metrics import confusion_matrix

    from nnbasics.datasets import load_dataset
    from nnbasics.estimator import load_model

    model = load_model(args.model)
    extra = getattr(model, "extra_metadata_", {})
    data = args.data or extra.get("data") or "digits"
    label_text = args.label_column if args.label_column is not None else extra.get("label_column", "-1")
    try:
        label_column: str | int = int(label_text)
    except ValueError:
        label_column = label_text
    dataset = load_dataset(data, label_column)
    X, y, which = _rows(dataset, extra, data, args.all_rows)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"the data has {X.shape[1]} features but the model expects "
                         f"{model.n_features_in_}")
    classes = model.classes_
    known = np.isin(y.astype(classes.dtype) if classes.dtype.kind in "iu" and y.dtype.kind in "iu"
                    else y.astype(str), classes if classes.dtype.kind in "iu" else classes.astype(str))
    if not known.all():
        raise ValueError(f"label {y[np.flatnonzero(~known)[0]]!r} is not one of the model's "
                         f"classes {classes.tolist()}")
    predicted = model.predict(X)
    accuracy = float(np.mean(predicted.astype(str) == y.astype(str)))
    print(f"{args.model}: {len(y)} rows of {data} ({which})")
    print(f"accuracy: {accuracy:.4f}")
    matrix = confusion_matrix(y.astype(str), predicted.astype(str), labels=classes.astype(str))
    width = max(4, *(len(str(c)) for c in classes), len(str(matrix.max())))
    print("confusion matrix (rows: true class, columns: predicted):")
    print(" " * (width + 1) + " ".join(f"{str(c):>{width}}" for c in classes))
    for c, row in zip(classes, matrix, strict=True):
        print(f"{str(c):>{width}} " + " ".join(f"{v:>{width}}" for v in row))
    return 0
