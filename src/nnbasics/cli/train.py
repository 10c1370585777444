"""``nnbasics train``: gradient-check the architecture, train an MLP, report and save it.

Steps: print the resolved configuration; load the data (default: the embedded digits); hold out a
stratified test split (25%, or the data set's official test split) and a validation split (10% of
the rest); gradient-check the training kernel on the chosen architecture (every layer's weights
and biases, a few random directions each, float64); train with a progress bar; print train,
validation and test accuracy; write the report figures; save the model.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nnbasics.cli.outputs import check_output_directory, check_output_file
from nnbasics.cli.standardize import Standardizer
from nnbasics.core.activations import ACTIVATIONS
from nnbasics.core.initializers import INITIALIZERS

DEFAULT_REPORT_DIR = "nnbasics-report"
LR_SWEEP_FACTORS = (10.0, 0.1)
REPORT_FIGURES = ("curves.png", "confusion_matrix.png", "activations.png",
                  "first_layer_weights.png", "learning_rates.png")
# n_iter_no_change of every run: the epoch budget is the user's, so the "no improvement" stop
# never triggers.  A constant (not epochs + 1): it is part of a checkpoint's fingerprint, and a
# run resumed with a larger --epochs must match the run that wrote the checkpoints.
NEVER_STOP_EARLY = 1_000_000_000


@dataclass(frozen=True)
class TrainConfig:
    """The resolved settings of one ``nnbasics train`` run (printed when it starts)."""

    data: str = "digits"
    label_column: str = "-1"
    delimiter: str = ","
    # model and optimiser defaults are MLPClassifier's (a test keeps them equal)
    hidden: tuple[int, ...] = (512,)
    activation: str = "relu"
    solver: str = "adam"
    init: str = "he"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 0.001
    momentum: float = 0.9
    alpha: float = 1e-3
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
    standardize: bool = True

    def describe(self) -> str:
        """One ``name = value`` line per setting."""
        width = max(len(k) for k in asdict(self))
        return "\n".join(f"  {k:<{width}} = {v}" for k, v in asdict(self).items())


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: ...)" for options that take a value, not for on/off flags."""

    def _get_help_string(self, action):
        if action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def register(subparsers) -> None:
    defaults = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train a multi-layer perceptron (default: on the embedded digits) and report",
        description="Gradient-check the chosen architecture, train a multi-layer perceptron "
                    "with a progress bar, print train/validation/test accuracy, write the report "
                    "figures and optionally save the model.",
        formatter_class=_DefaultsFormatter,
    )
    p.add_argument("--data", default=defaults.data,
                   help="'digits', a directory of MNIST IDX files, a .csv or a .npz (X, y)")
    p.add_argument("--label-column", default=defaults.label_column,
                   help="CSV label column: a name or an index")
    p.add_argument("--delimiter", default=defaults.delimiter, type=parse_delimiter,
                   help="CSV field delimiter (one character; 'tab' for a tab)")
    p.add_argument("--hidden", type=int, nargs="*", default=list(defaults.hidden), metavar="H",
                   help="units of each hidden layer (none: softmax regression)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=defaults.activation,
                   help="activation of the hidden layers (logistic = sigmoid)")
    p.add_argument("--solver", choices=["adam", "sgd"], default=defaults.solver,
                   help="optimiser (sgd: with --momentum and step decay)")
    p.add_argument("--init", choices=sorted(INITIALIZERS), default=defaults.init,
                   help="weight initialisation")
    p.add_argument("--epochs", type=int, default=defaults.epochs,
                   help="passes over the training rows")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size,
                   help="rows per mini-batch")
    p.add_argument("--lr", type=float, default=defaults.lr, help="initial learning rate")
    p.add_argument("--momentum", type=float, default=defaults.momentum, help="SGD momentum")
    p.add_argument("--alpha", type=float, default=defaults.alpha, help="L2 penalty")
    p.add_argument("--lr-decay-steps", type=int, default=None,
                   help="multiply the learning rate by --lr-decay-factor every this many steps")
    p.add_argument("--lr-decay-factor", type=float, default=defaults.lr_decay_factor,
                   help="see --lr-decay-steps")
    p.add_argument("--seed", type=int, default=defaults.seed,
                   help="seeds the splits, the initialisation and the batch order")
    p.add_argument("--test-fraction", type=float, default=defaults.test_fraction,
                   help="held-out test share (ignored when the data has its own test split)")
    p.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction,
                   help="share of the non-test rows held out for the validation curves")
    p.add_argument("--save", metavar="MODEL.npz",
                   help="write the trained model there (for nnbasics evaluate)")
    p.add_argument("--overwrite", action="store_true", help="allow --save to replace a file")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="checkpoint every epoch into DIR")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest valid checkpoint in --checkpoint-dir")
    p.add_argument("--report", metavar="DIR", default=defaults.report,
                   help="directory for the report figures")
    p.add_argument("--lr-sweep", action="store_true",
                   help="also train with 10x and 0.1x the learning rate and plot the comparison")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (nor progress lines on stderr when not on a terminal)")
    p.add_argument("--no-scale", dest="standardize", action="store_false",
                   help="keep the features as they are (default: standardise each to mean 0, "
                        "standard deviation 1 on the training rows; saved with the model)")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of parsed arguments; ValueError naming a bad setting."""
    cfg = TrainConfig(
        data=args.data, label_column=str(args.label_column), delimiter=args.delimiter,
        hidden=tuple(args.hidden),
        activation=args.activation, solver=args.solver, init=args.init, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, alpha=args.alpha,
        lr_decay_steps=args.lr_decay_steps, lr_decay_factor=args.lr_decay_factor, seed=args.seed,
        test_fraction=args.test_fraction, validation_fraction=args.validation_fraction,
        save=args.save, overwrite=args.overwrite, checkpoint_dir=args.checkpoint_dir,
        resume=args.resume, report=args.report, lr_sweep=args.lr_sweep, progress=args.progress,
        standardize=args.standardize,
    )
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Raise ValueError naming the first bad setting (before any data is read)."""
    if cfg.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {cfg.batch_size}")
    if any(h < 1 for h in cfg.hidden):
        raise ValueError(f"--hidden sizes must be >= 1, got {' '.join(map(str, cfg.hidden))}")
    if not (cfg.lr > 0 and np.isfinite(cfg.lr)):
        raise ValueError(f"--lr must be a positive number, got {cfg.lr}")
    if not 0 <= cfg.momentum < 1:
        raise ValueError(f"--momentum must be in [0, 1), got {cfg.momentum}")
    if not (cfg.alpha >= 0 and np.isfinite(cfg.alpha)):
        raise ValueError(f"--alpha must be >= 0, got {cfg.alpha}")
    if cfg.lr_decay_steps is not None and cfg.lr_decay_steps < 1:
        raise ValueError(f"--lr-decay-steps must be >= 1, got {cfg.lr_decay_steps}")
    if not 0 < cfg.lr_decay_factor <= 1:
        raise ValueError(f"--lr-decay-factor must be in (0, 1], got {cfg.lr_decay_factor}")
    if not 0 < cfg.test_fraction < 1:
        raise ValueError(f"--test-fraction must be in (0, 1), got {cfg.test_fraction}")
    if not 0 < cfg.validation_fraction < 1:
        raise ValueError(f"--validation-fraction must be in (0, 1), got {cfg.validation_fraction}")
    if not 0 <= cfg.seed < 2**32 - 1:  # the splits add 1 to it; NumPy's seeds are < 2**32
        raise ValueError(f"--seed must be in [0, {2**32 - 2}], got {cfg.seed}")
    if cfg.resume and not cfg.checkpoint_dir:
        raise ValueError("--resume needs --checkpoint-dir")
    # every output is checked now: a place that cannot take files would fail only after training
    for option, directory in (("--report", cfg.report), ("--checkpoint-dir", cfg.checkpoint_dir)):
        if directory:
            check_output_directory(directory, option)
    if cfg.save:
        check_output_file(cfg.save, "--save")
        if Path(cfg.save).exists() and not cfg.overwrite:
            raise ValueError(f"--save {cfg.save} exists; pass --overwrite to replace it")


def parse_delimiter(text: str) -> str:
    """``--delimiter``: one character, or ``tab`` (a tab is awkward to type in a shell)."""
    return "\t" if text.lower() in ("tab", "\\t") else text


def check_class_labels(y: np.ndarray, name: str) -> None:
    """Refuse labels that are continuous numbers (a regression target, not classes)."""
    if y.dtype.kind == "f":
        finite = np.isfinite(y)
        fractional = finite & (y != np.round(np.where(finite, y, 0)))
        if not finite.all() or fractional.any():
            example = y[~finite][0] if not finite.all() else y[fractional][0]
            raise ValueError(f"{name}: the labels are continuous numbers (e.g. {example.item()!r})"
                             "; a classifier needs class labels")


def _label_column(text: str) -> str | int:
    try:
        return int(text)
    except ValueError:
        return text


def _data_spec(data: str) -> str:
    """``digits`` as is, a path made absolute (so ``evaluate`` finds it from anywhere)."""
    return data if data == "digits" else str(Path(data).resolve())


def split_data(dataset, cfg: TrainConfig):
    """(X_train, y_train), (X_val, y_val), (X_test, y_test), stratified, seeded by ``cfg.seed``.

    The test rows are the data set's official test split if it has one, else ``test_fraction``
    of the rows (:func:`nnbasics.io.datasets.held_out_split` with ``cfg.seed``, which ``nnbasics
    evaluate`` repeats); the validation rows are ``validation_fraction`` of the rest (seed + 1).
    Raises ValueError if the validation or test rows hold a label no training row has.
    """
    from nnbasics.io.datasets import held_out_split

    if dataset.X_test is not None:
        X, y, X_test, y_test = dataset.X, dataset.y, dataset.X_test, dataset.y_test
    else:
        X, y, X_test, y_test = held_out_split(dataset.X, dataset.y, cfg.test_fraction, cfg.seed)
    X_train, y_train, X_val, y_val = held_out_split(X, y, cfg.validation_fraction, cfg.seed + 1,
                                                    "validation")
    known = np.unique(y_train)
    for what, labels in (("validation", y_val), ("test", y_test)):
        unknown = labels[~np.isin(labels, known)]
        if unknown.size:
            raise ValueError(
                f"label {unknown[0].item()!r} occurs in the {what} rows but in no training row "
                f"(too few rows of that class to split; training labels: {known.tolist()})"
            )
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def make_model(cfg: TrainConfig, lr: float | None = None, checkpoints: bool = True):
    """The estimator of a run (``lr`` overrides the rate; ``checkpoints=False`` for the sweep)."""
    from nnbasics.mlp.estimator import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=cfg.hidden, activation=cfg.activation, solver=cfg.solver,
        alpha=cfg.alpha, batch_size=cfg.batch_size, learning_rate_init=cfg.lr if lr is None else lr,
        momentum=cfg.momentum, lr_decay_steps=cfg.lr_decay_steps,
        lr_decay_factor=cfg.lr_decay_factor, max_iter=cfg.epochs, random_state=cfg.seed,
        init=cfg.init, checkpoint_dir=cfg.checkpoint_dir if checkpoints else None,
        resume=cfg.resume and checkpoints,
        n_iter_no_change=NEVER_STOP_EARLY,
    )


def gradient_check(X: np.ndarray, y_codes: np.ndarray, cfg: TrainConfig, n_outputs: int,
                   n_rows: int = 8, n_directions: int = 3):
    """Gradcheck the training kernel on this architecture: each layer's W and b separately.

    ``nnbasics.mlp.model.loss_and_gradients`` (the kernel training uses, with the run's activation
    and L2 penalty) is evaluated in float64 on ``n_rows`` training rows at a random
    initialisation (Xavier when ``cfg.init`` is "zeros", a degenerate point) with random
    biases; every parameter array is checked along ``n_directions`` random unit directions of
    its own, so a wrong gradient in a small array (a bias) is not drowned by a large one.

    Returns
    -------
    list of (name, :class:`nnbasics.core.gradcheck.GradCheckResult`), one per parameter array.
    """
    from nnbasics.core.gradcheck import gradcheck
    from nnbasics.mlp.model import Workspace, check_activation, init_parameters, loss_and_gradients

    rng = np.random.default_rng(cfg.seed)
    rows = rng.choice(X.shape[0], size=min(n_rows, X.shape[0]), replace=False)
    Xs, ys = X[rows].astype(np.float64), y_codes[rows].astype(np.int64)
    sizes = (X.shape[1], *cfg.hidden, n_outputs)
    init = "xavier" if cfg.init == "zeros" else cfg.init
    weights, biases = init_parameters(sizes, init, rng, np.float64)
    for b in biases:
        b[...] = 0.1 * rng.standard_normal(b.shape)
    activation = check_activation(cfg.activation)
    workspace = Workspace(sizes, len(rows), np.float64)
    results = []
    for kind, params, grads in (("W", weights, workspace.dweights),
                                ("b", biases, workspace.dbiases)):
        for layer in range(len(params)):
            def f(theta, params=params, grads=grads, layer=layer):
                saved = params[layer]
                params[layer] = theta.reshape(saved.shape)
                try:
                    loss = loss_and_gradients(Xs, ys, weights, biases, activation, workspace,
                                              cfg.alpha)
                finally:
                    params[layer] = saved
                return loss, grads[layer].copy()

            result = gradcheck(f, params[layer], mode="directions", n_directions=n_directions,
                               seed=cfg.seed + layer)
            results.append((f"{kind}{layer + 1}", result))
    return results


class _Progress:
    """A tqdm bar on a terminal; on anything else (a log, a pipe) a line every ~10% of epochs,
    both on ``stream`` (stderr), so that stdout holds the results alone."""

    def __init__(self, total: int, enabled: bool, stream=None, desc: str = "training"):
        from tqdm.auto import tqdm

        self.stream = stream or sys.stderr
        self.total = total
        self.desc = desc
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.lines = enabled and not self.tty
        self.every = max(1, total // 10)
        self.bar = tqdm(total=total, desc=desc, unit="epoch", disable=not self.tty,
                        file=self.stream)

    def __call__(self, state) -> None:
        h = state.history
        numbers = dict(loss=f"{h.train_loss[-1]:.4f}", acc=f"{h.train_accuracy[-1]:.4f}",
                       val_acc=f"{h.val_accuracy[-1]:.4f}")
        if self.tty:
            self.bar.n = state.epoch
            self.bar.set_postfix(numbers, refresh=True)
        elif self.lines and (state.epoch % self.every == 0 or state.epoch == self.total):
            where = "" if self.desc == "training" else f"{self.desc}: "
            print(f"{where}epoch {state.epoch}/{self.total}: " +
                  ", ".join(f"{k} {v}" for k, v in numbers.items()), file=self.stream,
                  flush=True)

    def close(self) -> None:
        self.bar.close()


@dataclass
class FitOutcome:
    """What :func:`_fit` saw: the history (cut short if training diverged), the divergence
    message, and the first epoch trained in this process (> 1 when resumed; None if none)."""

    history: object
    diverged: str | None
    first_epoch: int | None
    interrupted: bool = False


def _fit(model, X_train, y_train, validation, callback=None) -> FitOutcome:
    """``model.fit`` with the history captured epoch by epoch (kept if training diverges).

    The estimator's own warnings are shown as one ``nnbasics: warning:`` line each on stderr (a
    skipped checkpoint, say), but for the ConvergenceWarning of a fixed epoch budget (NumPy's
    overflow warnings of a diverging run are left to the divergence error); a Ctrl-C
    (the estimator keeps what was trained, and warns) is reported in ``interrupted``.
    """
    from sklearn.exceptions import ConvergenceWarning

    seen: dict = {}

    def on_epoch(state):
        seen.setdefault("first_epoch", state.epoch)
        seen["history"] = state.history
        if callback is not None:
            callback(state)

    def show(caught) -> bool:
        interrupted = False
        for w in caught:
            if str(w.message) == "Training interrupted by user.":
                interrupted = True
            elif issubclass(w.category, UserWarning) and \
                    not issubclass(w.category, ConvergenceWarning):
                print(f"nnbasics: warning: {w.message}", file=sys.stderr, flush=True)
        return interrupted

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X_train, y_train, validation_data=validation, callback=on_epoch)
        except ValueError as exc:
            show(caught)
            if "diverged" not in str(exc):
                raise
            return FitOutcome(seen.get("history"), str(exc), seen.get("first_epoch"))
    interrupted = show(caught)
    return FitOutcome(model.history_, None, seen.get("first_epoch"), interrupted)


def run(args: argparse.Namespace) -> int:
    from nnbasics._accel import announce_compilation
    from nnbasics.io.datasets import load_dataset

    announce_compilation()

    cfg = config_from_args(args)
    print("nnbasics train: resolved configuration\n" + cfg.describe(), flush=True)
    dataset = load_dataset(cfg.data, _label_column(cfg.label_column), cfg.delimiter)
    check_class_labels(dataset.y, dataset.name)
    splits = split_data(dataset, cfg)
    standardizer = None
    if cfg.standardize:  # fitted on the training rows only, applied to all three
        standardizer = Standardizer.fit(splits[0][0])
        splits = tuple((standardizer.transform(X), y) for X, y in splits)
        print("features standardised (mean 0, standard deviation 1 on the training rows; "
              "--no-scale keeps them as they are)")
    (X_train, y_train), (X_val, y_val), (_, y_test) = splits
    classes = np.unique(y_train)
    print(f"data: {dataset.name}: {len(y_train)} train, {len(y_val)} validation, "
          f"{len(y_test)} test rows, {X_train.shape[1]} features, {len(classes)} classes")
    n_outputs = 1 if len(classes) == 2 else len(classes)  # two classes: one logistic unit
    architecture = "-".join(map(str, (X_train.shape[1], *cfg.hidden, n_outputs)))
    checks = gradient_check(X_train, np.searchsorted(classes, y_train), cfg, n_outputs)
    failed = [(name, r) for name, r in checks if not r.passed]
    if failed:
        for name, r in failed:
            print(f"gradient check FAILED for {name}: {r.describe()}")
        return 1
    worst = max(r.max_rel_error for _, r in checks)
    print(f"gradient check of {architecture} {cfg.activation}: {len(checks)} parameter arrays, "
          f"worst relative error {worst:.1e}: passed", flush=True)

    model = make_model(cfg)
    progress = _Progress(cfg.epochs, cfg.progress)
    try:
        outcome = _fit(model, X_train, y_train, (X_val, y_val), progress)
    finally:
        progress.close()
    if outcome.diverged:
        raise ValueError(outcome.diverged)
    if outcome.interrupted:
        print(f"nnbasics: interrupted after {model.n_iter_} full epochs: keeping what was "
              "trained (model and report below)", file=sys.stderr, flush=True)
    if cfg.resume:
        first = outcome.first_epoch
        print(f"resumed from the checkpoint of epoch {first - 1} in {cfg.checkpoint_dir}"
              if first and first > 1 else
              f"resumed: the checkpoint in {cfg.checkpoint_dir} had finished all epochs"
              if first is None else
              f"no usable checkpoint in {cfg.checkpoint_dir}: trained from the start")
    accuracies = {name: model.score(X, y) for name, (X, y) in
                  zip(("train", "validation", "test"), splits, strict=True)}
    print(f"accuracy after {model.n_iter_} epochs: " +
          ", ".join(f"{k} {v:.4f}" for k, v in accuracies.items()))
    if cfg.save:
        from nnbasics.io.datasets import content_fingerprint

        # data_sha256 ties the model to the rows it held out: evaluate finds them again only in
        # data of the same content (a shuffled copy of the file would mix training rows in)
        extra = {"data": _data_spec(cfg.data), "seed": cfg.seed,
                 "data_sha256": content_fingerprint(dataset.X, dataset.y),
                 "test_fraction": cfg.test_fraction, "label_column": cfg.label_column,
                 "delimiter": cfg.delimiter,
                 "test_accuracy": accuracies["test"]}
        if standardizer is not None:
            extra["standardize"] = standardizer.to_metadata()
        if Path(cfg.save).exists() and not cfg.overwrite:  # appeared while we trained
            raise ValueError(f"--save {cfg.save} exists; pass --overwrite to replace it")
        print(f"model saved to {model.save(cfg.save, extra_metadata=extra)}")
    write_report(cfg, dataset, model, splits, accuracies, architecture)
    if outcome.interrupted:
        how = (f"run the same command with --resume to continue from {cfg.checkpoint_dir}"
               if cfg.checkpoint_dir else
               "add --checkpoint-dir DIR to a run to be able to continue it with --resume")
        print(f"nnbasics: training stopped early; {how}", file=sys.stderr)
        return 130
    return 0


def write_report(cfg: TrainConfig, dataset, model, splits, accuracies: dict,
                 architecture: str) -> list[Path]:
    """Write the report figures into ``cfg.report``; say which existing files it replaces."""
    from sklearn.metrics import confusion_matrix

    from nnbasics.io import figures

    train, validation, (X_test, y_test) = splits
    report = Path(cfg.report)
    report.mkdir(parents=True, exist_ok=True)
    replaced = sorted(name for name in REPORT_FIGURES if (report / name).exists())
    if replaced:  # the report's own file names; said aloud, never silently
        print(f"report: replacing {', '.join(replaced)} in {report}")
    title = f"{architecture} {cfg.activation}, {cfg.solver} lr {cfg.lr:g}"
    matrix = confusion_matrix(y_test, model.predict(X_test), labels=model.classes_)
    written = [
        figures.plot_history(model.history_, report / "curves.png", title=title),
        figures.plot_confusion_matrix(
            matrix, model.classes_, report / "confusion_matrix.png",
            title=f"confusion matrix: {len(y_test)} test rows, accuracy {accuracies['test']:.4f}"),
        figures.plot_activations(report / "activations.png"),
    ]
    if dataset.image_shape is not None:
        written.append(figures.plot_first_layer_weights(
            model.first_layer_init_, model.coefs_[0], dataset.image_shape,
            report / "first_layer_weights.png"))
    if cfg.lr_sweep:
        written.append(_lr_sweep(cfg, model, train, validation, report))
    print(f"report: {len(written)} figures written to {report.resolve()}: " +
          ", ".join(p.name for p in written))
    stale = sorted(set(replaced) - {p.name for p in written})
    if stale:
        print(f"report: {', '.join(stale)} in {report} are from an earlier run")
    return written


def _lr_sweep(cfg: TrainConfig, model, train, validation, report: Path) -> Path:
    """Train again at 10x and 0.1x the rate (same seed, no checkpoints) and plot the three.

    The rates are compared on the validation rows, never the test rows (choosing by test
    accuracy would make it a validation score); each run shows its progress like the main one.
    """
    from nnbasics.io import figures

    histories = {cfg.lr: model.history_}
    val_accuracy = {cfg.lr: model.score(*validation)}
    notes = {}
    for factor in LR_SWEEP_FACTORS:
        lr = cfg.lr * factor
        other = make_model(cfg, lr=lr, checkpoints=False)
        progress = _Progress(cfg.epochs, cfg.progress, desc=f"lr sweep {lr:g}")
        try:
            outcome = _fit(other, *train, validation, progress)
        finally:
            progress.close()
        history = outcome.history
        if outcome.diverged:  # a diverging rate is a result, not a failure
            notes[lr] = "diverged"
            print(f"lr sweep: lr {lr:g} diverged after {len(history or [])} epochs")
        else:
            val_accuracy[lr] = other.score(*validation)
            print(f"lr sweep: lr {lr:g}: validation accuracy {val_accuracy[lr]:.4f}")
        if history is not None and len(history):
            histories[lr] = history
    best = max(val_accuracy, key=lambda lr: (val_accuracy[lr], lr == cfg.lr))
    print(f"lr sweep: best on the validation rows: lr {best:g} ({val_accuracy[best]:.4f}; "
          f"this run's lr {cfg.lr:g}: {val_accuracy[cfg.lr]:.4f})")
    return figures.plot_learning_rates(histories, report / "learning_rates.png", chosen=cfg.lr,
                                       notes=notes)
