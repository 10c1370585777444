"""The mini-batch training loop: epochs, history, early stopping, checkpoints and resume.

Each epoch runs on one of two engines (:data:`ENGINES`): ``"fast"``, :func:`sgd_epoch` (the
preallocated kernel of :mod:`nnbasics.mlp.model`), or ``"reference"``, the readable NumPy step
of :mod:`nnbasics.mlp.reference`; both take the same batches and compute the same steps up to
rounding.

Shape letters: ``N`` training rows, ``D`` features; labels are class indices ``0..K-1``.

Sampling rule: every epoch draws one permutation of the ``N`` rows from the run's
``np.random.Generator`` (``rng.permutation(N)``) and walks it in consecutive batches of
``batch_size`` rows (the last batch may be smaller): each row is used exactly once per epoch,
without replacement.  With ``shuffle=False`` (scikit-learn's option) the rows go in their own
order every epoch.  The generator is the only source of randomness, so a run is a function of
its seed.

Checkpoints: with a ``checkpoint_dir``, the complete state (parameters, optimiser state, the
generator's state, epoch, history, early-stopping bookkeeping) is written after every epoch to
``epoch-NNNNNN.npz``, the layers named ``coef_i`` / ``intercept_i`` as in model files
(atomically, see :mod:`nnbasics.io.serialization`; the two newest are kept).
:func:`load_latest_checkpoint` restores the newest one that reads back cleanly, and since the loop
is deterministic, a run killed at any moment and resumed ends with bit-for-bit the parameters of
the uninterrupted run (on the same machine and thread count).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from nnbasics._accel import mlp_kernels
from nnbasics.core.activations import FloatArray
from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.mlp import model, reference
from nnbasics.mlp.model import Workspace, forward_logits
from nnbasics.mlp.optimizers import SGD, Adam

__all__ = [
    "ENGINES",
    "History",
    "LoopConfig",
    "TrainingState",
    "evaluate",
    "latest_checkpoints",
    "load_latest_checkpoint",
    "run_epochs",
    "save_checkpoint",
    "sgd_epoch",
]

CHECKPOINT_KIND = "checkpoint"
#: the training engines: the compiled default, and the readable one it is tested against
ENGINES = ("fast", "reference")
_CHECKPOINT_RE = re.compile(r"^epoch-(\d{6})\.npz$")
_KEEP_CHECKPOINTS = 2


@dataclass
class History:
    """Per-epoch curves: the training loss and accuracy over the epoch's batches (each batch
    scored by the forward pass of its own step, before the step, as Keras reports them),
    validation loss and accuracy after the epoch (NaN without validation data), and the learning
    rate of the epoch's last step.  For a regressor, the accuracies are NaN and
    ``val_accuracy`` holds the validation R²."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> History:
        return cls(**{k: [float(v) for v in d.get(k, [])] for k in cls.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.train_loss)


@dataclass(frozen=True)
class LoopConfig:
    """Settings of :func:`run_epochs` (the estimator's parameters, resolved)."""

    activation: str  # canonical: "sigmoid", "tanh" or "relu"
    batch_size: int
    max_epochs: int
    alpha: float = 0.0
    tol: float = 1e-4
    n_iter_no_change: float = 10  # an int, or np.inf: never stop early
    early_stopping: bool = False
    shuffle: bool = True
    engine: str = "fast"  # "fast": sgd_epoch; "reference": nnbasics.mlp.reference.train_epoch
    output: str = "softmax"  # the others ("identity", "exp", "logistic"): reference engine only
    # a non-finite loss: "raise" ValueError, or "stop" training (state.diverged says so; with
    # early_stopping the best parameters are kept, as scikit-learn does)
    on_divergence: str = "raise"


@dataclass
class TrainingState:
    """Everything that evolves during training, i.e. everything a checkpoint holds."""

    weights: list[FloatArray]
    biases: list[FloatArray]
    optimizer: SGD | Adam | None  # None: solver="lbfgs" (SciPy keeps its state)
    rng: np.random.Generator
    epoch: int = 0
    history: History = field(default_factory=History)
    best_score: float = np.inf  # lower is better: training loss, or minus validation accuracy
    n_bad_epochs: int = 0
    best_weights: list[FloatArray] | None = None
    best_biases: list[FloatArray] | None = None
    stopped: bool = False  # converged or early-stopped before max_epochs
    diverged: bool = False  # stopped by a non-finite loss (LoopConfig.on_divergence="stop")


def sgd_epoch(
    X: FloatArray,
    y: NDArray[np.integer],
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    optimizer: SGD | Adam,
    workspace: Workspace,
    rng: np.random.Generator,
    alpha: float = 0.0,
    shuffle: bool = True,
) -> float:
    """One pass of the fast engine over the rows of ``X`` in the order ``rng.permutation(N)``
    (in their own order with ``shuffle=False``, drawing nothing from ``rng``), updating in place.

    ``X`` (N, D) must have the workspace's dtype and ``y`` (N,) hold int64 class indices.  Each
    batch is gathered into the workspace's two batch buffers in turn
    (:func:`~nnbasics._accel.mlp_kernels.gather_batch`), its gradient computed by
    :func:`~nnbasics.mlp.model.loss_and_gradients` and applied by ``optimizer.step``; when the
    optimiser's step is plain SGD (:meth:`~nnbasics.mlp.optimizers.SGD.plain_step_rate` gives a
    rate), :func:`~nnbasics.mlp.model.loss_and_sgd_update` adds it to the weights inside the
    products that compute their gradients instead: the same step up to rounding.
    Returns the mean of the batch losses weighted by batch size (the epoch's training loss);
    ``workspace.n_correct[0]`` then counts the rows each batch predicted right before its step
    (so ``n_correct[0] / N`` is the epoch's training accuracy, measured as its loss is).
    """
    n_rows = X.shape[0]
    B = workspace.batch_size
    order = rng.permutation(n_rows) if shuffle else np.arange(n_rows)
    params = [*weights, *biases]
    grads = [*workspace.dweights, *workspace.dbiases]
    inputs, targets = workspace.inputs, workspace.targets
    # the compiled gather, products and loss index without bounds checks: check once an epoch
    if inputs.dtype != X.dtype or inputs.shape[1:] != X.shape[1:] or X.ndim != 2:
        raise ValueError(f"X {X.shape} {X.dtype} does not fit the workspace's batches "
                         f"{inputs.shape} {inputs.dtype}")
    model.check_labels(y, n_rows, max(workspace.layer_sizes[-1], 2))  # 1 unit: labels 0, 1
    model._check_operands(inputs, weights, biases, workspace)
    # even and odd batches go to two buffers in turn (Workspace says why); one batch, one buffer
    buffers = (inputs, workspace.spare_inputs if n_rows > B else inputs)
    label_buffers = (targets, workspace.spare_targets if n_rows > B else targets)
    gather = mlp_kernels._gather_kernel  # checked above; the loop makes one call per batch
    workspace.n_correct[0] = 0
    total = 0.0
    for start in range(0, n_rows, B):
        idx = order[start : start + B]
        m = idx.shape[0]
        rows, labels = buffers[(start // B) & 1], label_buffers[(start // B) & 1]
        gather(X, y, idx, rows, labels)
        batch, labels = (rows, labels) if m == B else (rows[:m], labels[:m])
        rate = optimizer.plain_step_rate()
        if rate is not None:
            total += m * model._loss_and_sgd_update(batch, labels, weights, biases, activation,
                                                    workspace, rate, alpha)
            optimizer.count_step()
        else:
            total += m * model._loss_and_gradients(batch, labels, weights, biases, activation,
                                                   workspace, alpha)
            optimizer.step(params, grads)
    return total / n_rows


def evaluate(X: FloatArray, y: NDArray[np.integer], weights: Sequence[FloatArray],
             biases: Sequence[FloatArray], activation: str) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the network on ``(X, y)``."""
    logits = forward_logits(X, weights, biases, activation).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1))
    loss = float(np.mean(log_norm - logits[np.arange(len(y)), y]))
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y))
    return loss, accuracy


def _update_stopping(state: TrainingState, config: LoopConfig, score: float) -> None:
    """scikit-learn's rule, exactly: an epoch counts as bad unless its score beats the best by
    more than ``tol``; training stops once *more than* ``n_iter_no_change`` epochs in a row were
    bad, unless the optimiser lowers its rate instead (:meth:`SGD.trigger_stopping`, the
    "adaptive" schedule), which starts the count again."""
    if score > state.best_score - config.tol:
        state.n_bad_epochs += 1
    else:
        state.n_bad_epochs = 0
    if score < state.best_score:
        state.best_score = score
        if config.early_stopping:  # keep the best parameters, restored when training ends
            state.best_weights = [w.copy() for w in state.weights]
            state.best_biases = [b.copy() for b in state.biases]
    if state.n_bad_epochs > config.n_iter_no_change:
        if state.optimizer.trigger_stopping():
            state.stopped = True
        else:
            state.n_bad_epochs = 0


def run_epochs(
    state: TrainingState,
    X: FloatArray,
    y: NDArray[np.integer],
    config: LoopConfig,
    validation: tuple | None = None,
    checkpoint_dir: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    callback: Callable[[TrainingState], None] | None = None,
    n_epochs: int | None = None,
    sample_weight: NDArray | None = None,
) -> TrainingState:
    """Train from ``state.epoch`` until ``config.max_epochs`` (or ``n_epochs`` more) or a stop.

    After every epoch: the history gets one entry, the stopping rule is applied (on the
    validation score with ``early_stopping``, else on the training loss), a checkpoint is
    written when ``checkpoint_dir`` is given, then ``callback(state)`` runs.  With
    ``early_stopping``, the best parameters are copied back into ``state.weights/biases`` at the
    end.  ``validation`` is ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``;
    ``sample_weight`` (N,) weighs the training rows (reference engine).  A non-finite epoch
    loss raises ValueError, or with ``config.on_divergence="stop"`` ends training with
    ``state.diverged`` set (that epoch is in the history).  Returns ``state`` (updated in
    place).
    """
    if config.early_stopping and validation is None:
        raise ValueError("early_stopping needs validation data")
    if config.engine not in ENGINES:
        raise ValueError(f"unknown engine {config.engine!r}; choose one of {', '.join(ENGINES)}")
    sizes = [state.weights[0].shape[0], *(w.shape[1] for w in state.weights)]
    # the compiled step: a softmax output, or the one logistic unit of a binary classifier
    compiled = config.output == "softmax" or (config.output == "logistic" and sizes[-1] == 1)
    if (not compiled or sample_weight is not None) and config.engine != "reference":
        raise ValueError(f"the {config.output!r} output ({sizes[-1]} units) and sample weights "
                         "train with engine='reference' only")
    batch_size = min(config.batch_size, X.shape[0])
    workspace = Workspace(sizes, batch_size, X.dtype) if config.engine == "fast" else None
    last = config.max_epochs if n_epochs is None else min(config.max_epochs, state.epoch + n_epochs)
    while state.epoch < last and not state.stopped:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported below
            if workspace is not None:
                loss = sgd_epoch(X, y, state.weights, state.biases, config.activation,
                                 state.optimizer, workspace, state.rng, config.alpha,
                                 config.shuffle)
                n_correct = int(workspace.n_correct[0])
            else:
                loss, n_correct = reference.train_epoch(X, y, state.weights, state.biases,
                                                        config.activation, state.optimizer,
                                                        state.rng, batch_size, config.alpha,
                                                        config.shuffle, config.output,
                                                        sample_weight)
        diverged = not np.isfinite(loss)
        if diverged and config.on_divergence != "stop":
            raise ValueError(
                f"training diverged at epoch {state.epoch + 1} (loss {loss}); "
                "lower the learning rate"
            )
        # measured during the epoch, as the loss is: a second pass over X would cost a third of
        # the epoch's matrix products on a large data set
        weighted = sample_weight is not None
        train_acc = (n_correct / max(X.shape[0], 1) if config.output in ("softmax", "logistic")
                     and not weighted else np.nan)
        val_loss, val_acc = np.nan, np.nan
        if validation is not None and config.output == "softmax" and len(validation) == 2:
            with np.errstate(over="ignore", invalid="ignore"):
                val_loss, val_acc = evaluate(*validation, state.weights, state.biases,
                                             config.activation)
            if diverged:
                val_acc = np.nan
        elif validation is not None:  # the regressor's validation score is R²
            val_loss, val_acc = reference.evaluate(*validation[:2], state.weights,
                                                   state.biases, config.activation,
                                                   config.output, *validation[2:])
        h = state.history
        h.train_loss.append(loss)
        h.train_accuracy.append(train_acc)
        h.val_loss.append(float(val_loss))
        h.val_accuracy.append(float(val_acc))
        # the rate of the epoch's last step (the schedule may have moved during the epoch)
        h.learning_rate.append(float(state.optimizer.learning_rate_at(state.optimizer.n_steps - 1)))
        state.epoch += 1
        if diverged:
            state.diverged = state.stopped = True
            break
        state.optimizer.epoch_ends(X.shape[0])
        _update_stopping(state, config, -val_acc if config.early_stopping else loss)
        if checkpoint_dir is not None:
            save_checkpoint(state, checkpoint_dir, fingerprint or {})
        if callback is not None:
            callback(state)
    keep_best(state, config)
    return state


def keep_best(state: TrainingState, config: LoopConfig) -> None:
    """With ``early_stopping``, copy the best parameters seen back into the network."""
    if config.early_stopping and state.best_weights is not None:
        for w, best in zip(state.weights, state.best_weights, strict=True):
            w[...] = best
        for b, best in zip(state.biases, state.best_biases, strict=True):
            b[...] = best


# ----------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------


def latest_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files in ``directory``, newest epoch first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _CHECKPOINT_RE.match(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def _contents(state: TrainingState) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """What a checkpoint holds of ``state``: its arrays (the live ones, not copies) and the
    rest as JSON-ready metadata; :func:`_restore` puts both back."""
    arrays: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(state.weights, state.biases, strict=True)):
        arrays[f"coef_{i}"], arrays[f"intercept_{i}"] = w, b
    if state.best_weights is not None:
        for i, (w, b) in enumerate(zip(state.best_weights, state.best_biases, strict=True)):
            arrays[f"best_coef_{i}"], arrays[f"best_intercept_{i}"] = w, b
    for name, a in state.optimizer.state_arrays().items():
        arrays[f"optimizer_{name}"] = a
    metadata = {
        "epoch": state.epoch,
        "history": state.history.to_dict(),
        "rng_state": state.rng.bit_generator.state,
        "optimizer_steps": state.optimizer.n_steps,
        "optimizer_schedule": state.optimizer.schedule_state(),
        "best_score": state.best_score,
        "n_bad_epochs": state.n_bad_epochs,
        "stopped": state.stopped,
    }
    return arrays, metadata


def snapshot(state: TrainingState) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A copy of everything an epoch changes in ``state``, in memory (a checkpoint's contents);
    :func:`restore` puts it back, into the same arrays."""
    arrays, metadata = _contents(state)
    return {name: a.copy() for name, a in arrays.items()}, metadata


def restore(state: TrainingState, saved: tuple[dict[str, np.ndarray], dict[str, Any]]) -> None:
    """Undo what happened to ``state`` since :func:`snapshot` returned ``saved``."""
    _restore(state, *saved)


def save_checkpoint(state: TrainingState, directory: str | Path,
                    fingerprint: dict[str, Any]) -> Path:
    """Write ``state`` to ``directory/epoch-NNNNNN.npz`` atomically; keep the two newest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays, metadata = _contents(state)
    metadata["fingerprint"] = fingerprint
    path = save_arrays(directory / f"epoch-{state.epoch:06d}.npz", arrays, metadata,
                       kind=CHECKPOINT_KIND)
    for old in latest_checkpoints(directory)[_KEEP_CHECKPOINTS:]:
        old.unlink(missing_ok=True)
    for stale in directory.glob(".epoch-*.tmp"):  # left by a writer killed mid-write
        stale.unlink(missing_ok=True)
    return path


def _restore(state: TrainingState, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    for i, (w, b) in enumerate(zip(state.weights, state.biases, strict=True)):
        for name, own in ((f"coef_{i}", w), (f"intercept_{i}", b)):
            if arrays[name].shape != own.shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}, expected {own.shape}")
    for i, (w, b) in enumerate(zip(state.weights, state.biases, strict=True)):
        w[...] = arrays[f"coef_{i}"]
        b[...] = arrays[f"intercept_{i}"]
    if "best_coef_0" in arrays:
        state.best_weights = [arrays[f"best_coef_{i}"].astype(w.dtype)
                              for i, w in enumerate(state.weights)]
        state.best_biases = [arrays[f"best_intercept_{i}"].astype(b.dtype)
                             for i, b in enumerate(state.biases)]
    else:
        state.best_weights = state.best_biases = None
    prefix = "optimizer_"
    state.optimizer.load_state_arrays(
        {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    )
    state.optimizer.n_steps = int(meta["optimizer_steps"])
    state.optimizer.load_schedule_state(meta.get("optimizer_schedule"))
    state.rng.bit_generator.state = meta["rng_state"]
    state.epoch = int(meta["epoch"])
    state.history = History.from_dict(meta["history"])
    state.best_score = float(meta["best_score"])
    state.n_bad_epochs = int(meta["n_bad_epochs"])
    state.stopped = bool(meta["stopped"])


def load_latest_checkpoint(state: TrainingState, directory: str | Path,
                           fingerprint: dict[str, Any]) -> Path | None:
    """Restore ``state`` from the newest checkpoint in ``directory`` that reads back whole.

    A checkpoint with any defect (truncated or corrupt, an array missing or of the wrong shape,
    metadata of the wrong type, no record of the run that wrote it) is skipped, with a warning
    naming it and the defect, in favour of the previous one; ``state`` is as before any skipped
    file.  Returns the path used, or ``None`` when ``directory`` holds no checkpoint.

    Raises
    ------
    ValueError
        Checkpoints exist but none is usable (each skipped one named with its defect): nothing
        is resumed and nothing written, so the files stay as they are.  Or the newest usable
        checkpoint was written by a run with other settings or other data (its ``fingerprint``
        differs), or by nnbasics 0.1: resuming it would not continue *this* run.
    """
    fingerprint = json.loads(json.dumps(fingerprint))  # tuples -> lists, as saved
    skipped: list[str] = []
    for path in latest_checkpoints(directory):
        before = snapshot(state)
        try:
            arrays, meta = load_arrays(path, kind=CHECKPOINT_KIND)
            _check_run(path, arrays, meta, fingerprint)
            _restore(state, arrays, meta)
        except _OtherRun:
            restore(state, before)
            raise
        except Exception as exc:  # any defect of this file: fall back to the one before it
            restore(state, before)
            defect = f"no array {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            skipped.append(f"{path.name}: {defect}")
            warnings.warn(f"skipped checkpoint {path}: {defect}", stacklevel=2)
            continue
        return path
    if skipped:
        raise ValueError(f"no usable checkpoint in {directory} ({'; '.join(skipped)}); the files "
                         "are left as they are: move them away to train from the start")
    return None


class _OtherRun(ValueError):
    """A readable checkpoint of another run: not a defect to skip, a directory to refuse."""


def _check_run(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any],
               fingerprint: dict[str, Any]) -> None:
    """Raise _OtherRun for a checkpoint of nnbasics 0.1 or of a run with other settings or data;
    ValueError (a defect) for one that does not say which run wrote it."""
    if "weight_0" in arrays:
        raise _OtherRun(
            f"checkpoint {path} was written by nnbasics 0.1 (arrays weight_i / bias_i), "
            "which this version does not resume; use another --checkpoint-dir"
        )
    saved = meta.get("fingerprint")
    if not isinstance(saved, dict):
        raise ValueError("it does not record the settings and data of its run")
    if saved != fingerprint:
        keys = set(saved) | set(fingerprint)
        diff = sorted(k for k in keys if k not in fingerprint
                      or saved.get(k) != fingerprint.get(k))
        raise _OtherRun(
            f"checkpoint {path} was made by a run with different {', '.join(diff)}; "
            "use another --checkpoint-dir or the same settings and data"
        )
