"""``nnbasics train``: gradient-check the architecture, train an MLP, report and save it.

Steps: load the data (default: the embedded digits), hold out a stratified test split (25%, or
the data set's official test split) and a validation split (10% of the rest), print the resolved
configuration, gradient-check the chosen architecture on a few rows (random directions), train with
a progress bar, print train / validation / test accuracy, write the report figures, save the model.
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nnbasics.activations import ACTIVATIONS
from nnbasics.initializers import INITIALIZERS

DEFAULT_REPORT_DIR = "nnbasics-report"


@dataclass(frozen=True)
class TrainConfig:
    """The resolved settings of one ``nnbasics train`` run (printed when it starts)."""

    data: str = "digits"
    label_column: str = "-1"
    hidden: tuple[int, ...] = (256,)
    activation: str = "relu"
    solver: str = "adam"
    init: str = "he"
    epochs: int = 60
    batch_size: int = 64
    lr: float = 0.001
    momentum: float = 0.9
    alpha: float = 1e-4
    lr_decay_steps: int | None = None
    lr_decay_factor: float = 0.1
    seed: int = 0
    test_fraction: float = 0.25
    validation_fraction: float = 0.1
    save: str | None = None
    overwrite: bool = False
    checkpoint_dir: str | None = None
    resume: bool = False
    report: str = DEFAULT_REPORT_DIR
    lr_sweep: bool = False
    progress: bool = True


def register(subparsers) -> None:
    defaults = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train a multi-layer perceptron (default: on the embedded digits) and report",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", default=defaults.data,
                   help="'digits', a directory of MNIST IDX files, a .csv or a .npz (X, y)")
    p.add_argument("--label-column", default=defaults.label_column,
                   help="CSV label column: a name or an index")
    p.add_argument("--hidden", type=int, nargs="*", default=list(defaults.hidden), metavar="H",
                   help="units of each hidden layer (none: softmax regression)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=defaults.activation)
    p.add_argument("--solver", choices=["adam", "sgd"], default=defaults.solver)
    p.add_argument("--init", choices=sorted(INITIALIZERS), default=defaults.init)
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr, help="initial learning rate")
    p.add_argument("--momentum", type=float, default=defaults.momentum, help="SGD momentum")
    p.add_argument("--alpha", type=float, default=defaults.alpha, help="L2 penalty")
    p.add_argument("--lr-decay-steps", type=int, default=None,
                   help="multiply the learning rate by --lr-decay-factor every this many steps")
    p.add_argument("--lr-decay-factor", type=float, default=defaults.lr_decay_factor)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--test-fraction", type=float, default=defaults.test_fraction,
                   help="held-out test share (ignored when the data has its own test split)")
    p.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    p.add_argument("--save", metavar="MODEL.npz", help="write the trained model there")
    p.add_argument("--overwrite", action="store_true", help="allow --save to replace a file")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="checkpoint every epoch into DIR")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest valid checkpoint in --checkpoint-dir")
    p.add_argument("--report", metavar="DIR", default=defaults.report,
                   help="directory for the report figures")
    p.add_argument("--lr-sweep", action="store_true",
                   help="also train with 10x and 0.1x the learning rate and plot the comparison")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    cfg = TrainConfig(
        data=args.data, label_column=str(args.label_column), hidden=tuple(args.hidden),
        activation=args.activation, solver=args.solver, init=args.init, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, alpha=args.alpha,
        lr_decay_steps=args.lr_decay_steps, lr_decay_factor=args.lr_decay_factor, seed=args.seed,
        test_fraction=args.test_fraction, validation_fraction=args.validation_fraction,
        save=args.save, overwrite=args.overwrite, checkpoint_dir=args.checkpoint_dir,
        resume=args.resume, report=args.report, lr_sweep=args.lr_sweep, progress=args.progress,
    )
    _validate(cfg)
    return cfg


def _validate(cfg: TrainConfig) -> None:
    if cfg.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {cfg.batch_size}")
    if any(h < 1 for h in cfg.hidden):
        raise ValueError(f"--hidden sizes must be >= 1, got {list(cfg.hidden)}")
    if not (cfg.lr > 0 and np.isfinite(cfg.lr)):
        raise ValueError(f"--lr must be a positive number, got {cfg.lr}")
    if not 0 < cfg.test_fraction < 1:
        raise ValueError(f"--test-fraction must be in (0, 1), got {cfg.test_fraction}")
    if not 0 < cfg.validation_fraction < 1:
        raise ValueError(f"--validation-fraction must be in (0, 1), got {cfg.validation_fraction}")
    if cfg.resume and not cfg.checkpoint_dir:
        raise ValueError("--resume needs --checkpoint-dir")
    if cfg.save:
        save = Path(cfg.save)
        if save.exists() and not cfg.overwrite:
            raise ValueError(f"{save} exists; pass --overwrite to replace it")
        if not save.parent.is_dir() and str(save.parent):
            raise ValueError(f"directory of --save does not exist: {save.parent}")


def _label_column(text: str) -> str | int:
    try:
        return int(text)
    except ValueError:
        return text


def split_data(dataset, cfg: TrainConfig):
    """(X_train, y_train), (X_val, y_val), (X_test, y_test), stratified, seeded by ``cfg.seed``."""
    from sklearn.model_selection import train_test_split

    def split(X, y, fraction, seed, what):
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
        try:
            return train_test_split(X, y, test_size=fraction, random_state=seed, stratify=stratify)
        except ValueError as exc:
            raise ValueError(f"cannot split off a {what} set: {exc}") from None

    if dataset.X_test is not None:
        X, y, X_test, y_test = dataset.X, dataset.y, dataset.X_test, dataset.y_test
    else:
        X, X_test, y, y_test = split(dataset.X, dataset.y, cfg.test_fraction, cfg.seed, "test")
    X_train, X_val, y_train, y_val = split(X, y, cfg.validation_fraction, cfg.seed + 1, "validation")
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def make_model(cfg: TrainConfig, lr: float | None = None, resume: bool | None = None):
    from nnbasics.estimator import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=cfg.hidden, activation=cfg.activation, solver=cfg.solver,
        alpha=cfg.alpha, batch_size=cfg.batch_size, learning_rate_init=cfg.lr if lr is None else lr,
        momentum=cfg.momentum, lr_decay_steps=cfg.lr_decay_steps,
        lr_decay_factor=cfg.lr_decay_factor, max_iter=cfg.epochs, random_state=cfg.seed,
        init=cfg.init, checkpoint_dir=cfg.checkpoint_dir if resume is not False else None,
        resume=cfg.resume if resume is None else resume, n_iter_no_change=cfg.epochs + 1,
    )


def gradient_check(X: np.ndarray, y_codes: np.ndarray, cfg: TrainConfig, n_classes: int):
    """Check the training kernel's gradient for this architecture, in float64, on 8 rows."""
    from nnbasics.gradcheck import gradcheck
    from nnbasics.mlp import Workspace, check_activation, init_parameters, loss_and_gradients

    rng = np.random.default_rng(cfg.seed)
    rows = rng.choice(X.shape[0], size=min(8, X.shape[0]), replace=False)
    Xs, ys = X[rows].astype(np.float64), y_codes[rows].astype(np.int64)
    sizes = (X.shape[1], *cfg.hidden, n_classes)
    init = "xavier" if cfg.init == "zeros" else cfg.init  # zeros would check a degenerate point
    weights, biases = init_parameters(sizes, init, rng, np.float64)
    for b in biases:
        b[...] = 0.1 * rng.standard_normal(b.shape)
    shapes = [a.shape for a in (*weights, *biases)]
    flat0 = np.concatenate([a.ravel() for a in (*weights, *biases)])
    activation = check_activation(cfg.activation)
    workspace = Workspace(sizes, len(rows), np.float64)

    def f(theta):
        params, offset = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            params.append(theta[offset : offset + size].reshape(shape))
            offset += size
        n = len(weights)
        loss = loss_and_gradients(Xs, ys, params[:n], params[n:], activation, workspace, cfg.alpha)
        grad = np.concatenate([g.ravel() for g in (*workspace.dweights, *workspace.dbiases)])
        return loss, grad

    return gradcheck(f, flat0, mode="directions", n_directions=10)


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from nnbasics import figures
    from nnbasics.datasets import load_dataset

    cfg = config_from_args(args)
    print("nnbasics train: " + ", ".join(f"{k}={v}" for k, v in asdict(cfg).items()))
    dataset = load_dataset(cfg.data, _label_column(cfg.label_column))
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = split_data(dataset, cfg)
    classes = np.unique(y_train)
    codes = np.searchsorted(classes, y_train)
    check = gradient_check(X_train, codes, cfg, len(classes))
    print(f"gradient check of {X_train.shape[1]}-{'-'.join(map(str, cfg.hidden))}"
          f"{'-' if cfg.hidden else ''}{len(classes)} {cfg.activation}: {check.describe()}")
    if not check.passed:
        return 1
    print(f"data: {dataset.name}: {len(y_train)} train, {len(y_val)} validation, "
          f"{len(y_test)} test rows, {X_train.shape[1]} features, {len(classes)} classes")

    model = make_model(cfg)
    bar = tqdm(total=cfg.epochs, desc="training", unit="epoch", disable=not cfg.progress)

    def on_epoch(state):
        h = state.history
        bar.n = state.epoch
        bar.set_postfix(loss=f"{h.train_loss[-1]:.4f}", acc=f"{h.train_accuracy[-1]:.4f}",
                        val_acc=f"{h.val_accuracy[-1]:.4f}")
        bar.refresh()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ConvergenceWarning of a fixed epoch budget
        model.fit(X_train, y_train, validation_data=(X_val, y_val), callback=on_epoch)
    bar.close()
    accuracies = {name: model.score(X, y) for name, (X, y) in
                  (("train", (X_train, y_train)), ("validation", (X_val, y_val)),
                   ("test", (X_test, y_test)))}
    print("accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in accuracies.items()))

    report = Path(cfg.report)
    report.mkdir(parents=True, exist_ok=True)
    replaced = [p.name for p in report.glob("*.png")]
    if replaced:
        print(f"report: replacing {len(replaced)} existing figure(s) in {report}")
    from sklearn.metrics import confusion_matrix

    written = [
        figures.plot_history(model.history_, report / "curves.png"),
        figures.plot_confusion_matrix(confusion_matrix(y_test, model.predict(X_test),
                                                       labels=model.classes_),
                                      model.classes_, report / "confusion_matrix.png"),
        figures.plot_activations(report / "activations.png"),
    ]
    if dataset.image_shape is not None and cfg.hidden:
        written.append(figures.plot_first_layer_weights(
            model.first_layer_init_, model.coefs_[0], dataset.image_shape,
            report / "first_layer_weights.png"))
    if cfg.lr_sweep:
        histories = {cfg.lr: model.history_}
        for factor in (10.0, 0.1):
            lr = cfg.lr * factor
            other = make_model(cfg, lr=lr, resume=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    other.fit(X_train, y_train, validation_data=(X_val, y_val))
                    histories[lr] = other.history_
                except ValueError as exc:  # a diverging rate is a result, not a failure
                    print(f"lr {lr:g}: {exc}")
            print(f"lr {lr:g}: test accuracy {other.score(X_test, y_test):.4f}"
                  if hasattr(other, "coefs_") else f"lr {lr:g}: no model")
        written.append(figures.plot_learning_rates(histories, report / "learning_rates.png"))
    print("figures: " + ", ".join(str(p) for p in written))
    if cfg.save:
        extra = {"data": cfg.data, "seed": cfg.seed, "test_fraction": cfg.test_fraction,
                 "validation_fraction": cfg.validation_fraction, "label_column": cfg.label_column,
                 "test_accuracy": accuracies["test"]}
        print(f"model saved to {model.save(cfg.save, extra_metadata=extra)}")
    return 0
