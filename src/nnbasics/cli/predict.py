"""``nnbasics predict MODEL.npz DATA``: the model's prediction for every row, as CSV.

One output line per input row, in the input's order: the predicted class (``prediction``) and,
with ``--proba``, the probability of each class (``proba_<class>``, columns in the order of the
model's classes).  Rows: a CSV of the model's features, with or without the label column of
training; the official test split of a data set that has one (an MNIST directory, an ``.npz``
with ``X_test``); else every row.  Features are standardised as they were for training.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from nnbasics.cli.outputs import check_output_file
from nnbasics.cli.standardize import Standardizer
from nnbasics.cli.train import parse_delimiter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="write a saved model's predictions (and probabilities) for data as CSV",
        description="Predict the class of every row of DATA with a model written by 'nnbasics "
                    "train --save' and write them as CSV (stdout, or --out).",
    )
    p.add_argument("model", metavar="MODEL.npz")
    p.add_argument("data", metavar="DATA",
                   help="a .csv of the model's features (a label column, if any, is left out), "
                        "a .npz (X), an MNIST directory or 'digits'")
    p.add_argument("--out", metavar="FILE.csv", help="write here instead of stdout")
    p.add_argument("--overwrite", action="store_true", help="allow --out to replace a file")
    p.add_argument("--proba", action="store_true",
                   help="also write each class's probability")
    p.add_argument("--label-column", default=None,
                   help="CSV label column to leave out, when the file has one: a name or an "
                        "index (default: the training run's)")
    p.add_argument("--delimiter", default=None, type=parse_delimiter,
                   help="CSV field delimiter (default: the training run's, else ',')")
    p.set_defaults(func=run)


def features(data: str, model, extra: dict, label_column: str | None,
             delimiter: str | None) -> np.ndarray:
    """The rows to predict, float32 (N, D), before standardisation."""
    from nnbasics.io.datasets import is_csv, load_csv_features, load_dataset

    if is_csv(data):
        label_text = label_column if label_column is not None else str(
            extra.get("label_column", "-1"))
        try:
            label: str | int = int(label_text)
        except ValueError:
            label = label_text
        delimiter = delimiter if delimiter is not None else str(extra.get("delimiter", ","))
        return load_csv_features(data, int(model.n_features_in_), label, delimiter)
    if label_column is not None or delimiter is not None:
        raise ValueError(f"--label-column and --delimiter apply to CSV files only, not to {data}")
    dataset = load_dataset(data)
    return dataset.X_test if dataset.X_test is not None else dataset.X


def write_predictions(stream, classes: np.ndarray, predicted: np.ndarray,
                      proba: np.ndarray | None) -> None:
    """CSV lines: a header, then ``prediction[,proba_<class>...]`` per row."""
    writer = csv.writer(stream, lineterminator="\n")
    names = [str(c) for c in classes]
    writer.writerow(["prediction"] + ([f"proba_{n}" for n in names] if proba is not None else []))
    for i, index in enumerate(predicted):
        row = [names[index]]
        if proba is not None:
            row += [f"{p:.6g}" for p in proba[i]]
        writer.writerow(row)


def load_classifier(path):
    """The single-label classifier saved at ``path`` (what ``nnbasics train`` writes); a
    ValueError naming the model for a regressor or a multilabel classifier, which these
    commands do not score."""
    from nnbasics.mlp.estimator import MLPClassifier, load_model

    model = load_model(path)
    if not isinstance(model, MLPClassifier) or model._multilabel:
        kind = "a multilabel classifier" if isinstance(model, MLPClassifier) else "a regressor"
        raise ValueError(f"{path} holds {kind}; this command reads single-label classifiers "
                         "(nnbasics train's): use nnbasics.load_model(path) in Python")
    return model


def run(args: argparse.Namespace) -> int:
    if args.out:  # before any work
        check_output_file(args.out, "--out")
        if Path(args.out).exists() and not args.overwrite:
            raise ValueError(f"--out {args.out} exists; pass --overwrite to replace it")
    model = load_classifier(args.model)
    extra = getattr(model, "extra_metadata_", {})
    X = features(args.data, model, extra, args.label_column, args.delimiter)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"the data has {X.shape[1]} features but the model expects "
                         f"{model.n_features_in_}")
    standardizer = Standardizer.from_metadata(extra)
    if standardizer is not None:
        X = standardizer.transform(X)
    proba = model.predict_proba(X)  # (N, K), columns follow classes_
    predicted = np.argmax(proba, axis=1)
    classes = np.asarray(model.classes_)
    if args.out:
        from nnbasics.io.serialization import atomic_file

        with atomic_file(args.out) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            write_predictions(text, classes, predicted, proba if args.proba else None)
            text.flush()
            text.detach()  # the binary file stays open for atomic_file to sync and rename
        print(f"wrote {len(predicted)} predictions to {args.out}", file=sys.stderr)
    else:
        write_predictions(sys.stdout, classes, predicted, proba if args.proba else None)
    return 0
