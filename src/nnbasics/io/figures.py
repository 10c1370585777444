"""Report figures (matplotlib, headless Agg backend): curves, confusion matrix, weights, rates.

Every function draws one figure, writes it to ``path`` atomically (PNG) and returns the path.
Nothing here changes matplotlib's global backend: figures are made with
:class:`matplotlib.figure.Figure` and an Agg canvas directly, so importing this module in an
interactive session does not disturb it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nnbasics.io.serialization import atomic_write

__all__ = [
    "plot_activations",
    "plot_confusion_matrix",
    "plot_first_layer_weights",
    "plot_history",
    "plot_learning_rates",
    "plot_regularization",
]


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> Path:
    with warnings.catch_warnings():
        # very long class names leave the layout engine no room: the figure is still drawn,
        # only less tidily, which is not worth a warning on the user's terminal
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))


def plot_history(history, path: str | os.PathLike, title: str = "training") -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    fig = _new_figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_acc.plot(epochs, history.train_accuracy, label="train")
    if np.any(np.isfinite(history.val_loss)):
        ax_loss.plot(epochs, history.val_loss, label="validation")
        ax_acc.plot(epochs, history.val_accuracy, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="mean cross-entropy", title=f"{title}: loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence, path: str | os.PathLike,
                          title: str = "confusion matrix (test)") -> Path:
    """Counts of (true class, predicted class) as an annotated heat map; rows are true classes."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    fig = _new_figure(1.2 + 0.5 * k, 1.0 + 0.5 * k)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = np.arange(k)
    ax.set(xticks=ticks, yticks=ticks, xticklabels=[str(v) for v in labels],
           yticklabels=[str(v) for v in labels], xlabel="predicted", ylabel="true", title=title)
    if max((len(str(v)) for v in labels), default=0) > 3:  # class names, not digits: tilt them
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    return _save(fig, path)


def _weight_grid(weights: np.ndarray, image_shape: tuple[int, int], max_units: int) -> np.ndarray:
    """Tile the first ``max_units`` columns of ``weights`` (D, H) as images, each in [0, 1]."""
    h, w = image_shape
    units = weights[:, :max_units].T.reshape(-1, h, w)  # (units, h, w)
    n = units.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), np.nan)
    for u in range(n):
        lo, hi = units[u].min(), units[u].max()
        tile = (units[u] - lo) / (hi - lo) if hi > lo else np.zeros((h, w))
        r, c = divmod(u, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = tile
    return grid


def plot_first_layer_weights(initial: np.ndarray, trained: np.ndarray,
                             image_shape: tuple[int, int], path: str | os.PathLike,
                             max_units: int = 64) -> Path:
    """Each hidden unit's incoming weights drawn as an image: at initialisation, trained, change.

    ``initial`` and ``trained`` have shape (D, H) with ``D = h * w`` for ``image_shape = (h, w)``;
    the first ``max_units`` units are drawn, each tile scaled to its own [min, max] (so the
    pattern shows, not the magnitude).  The third panel is ``trained - initial``: what training
    added to each unit, which is hard to see by comparing the first two when the initial weights
    are large.
    """
    initial, trained = np.asarray(initial, np.float64), np.asarray(trained, np.float64)
    if initial.shape != trained.shape:
        raise ValueError(f"initial weights {initial.shape} and trained {trained.shape} differ")
    if initial.ndim != 2 or initial.shape[0] != image_shape[0] * image_shape[1]:
        raise ValueError(f"weights of shape {initial.shape} are not (D, H) with D the size of an "
                         f"image of shape {image_shape}")
    n_units = min(max_units, initial.shape[1])
    fig = _new_figure(15, 5.4)
    panels = (
        (initial, "at initialisation"),
        (trained, "trained"),
        (trained - initial, "change (trained − initial)"),
    )
    for ax, (weights, title) in zip(fig.subplots(1, 3), panels, strict=True):
        ax.imshow(_weight_grid(weights, image_shape, max_units), cmap="gray",
                  interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"first layer weights: {n_units} of {initial.shape[1]} units as "
                 f"{image_shape[0]}×{image_shape[1]} images (each tile scaled to its own range)")
    return _save(fig, path)


def plot_learning_rates(histories: Mapping[float, object], path: str | os.PathLike,
                        chosen: float | None = None,
                        notes: Mapping[float, str] | None = None) -> Path:
    """Training loss and validation accuracy per epoch for several learning rates.

    ``histories`` maps each rate to its :class:`nnbasics.mlp.training.History` (possibly cut short:
    a run that diverged keeps the epochs before it); ``chosen`` is marked "(chosen)" and
    ``notes`` adds a word to a rate's legend entry (e.g. "diverged").
    """
    if not histories:
        raise ValueError("no learning-rate histories to plot")
    notes = notes or {}
    fig = _new_figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for lr, history in sorted(histories.items()):
        extra = [word for word, on in (("chosen", lr == chosen), (notes.get(lr), lr in notes))
                 if on]
        label = f"lr {lr:g}" + (f" ({', '.join(extra)})" if extra else "")
        epochs = np.arange(1, len(history.train_loss) + 1)
        ax_loss.plot(epochs, history.train_loss, label=label, marker="." if len(epochs) < 3 else "")
        validated = np.any(np.isfinite(history.val_accuracy))
        accuracy = history.val_accuracy if validated else history.train_accuracy
        ax_acc.plot(epochs, accuracy, label=label, marker="." if len(epochs) < 3 else "")
    ax_loss.set(xlabel="epoch", ylabel="training loss (mean cross-entropy)",
                title="learning rate comparison: loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy",
               title="learning rate comparison: accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_regularization(alphas: Sequence[float], accuracies: Mapping[str, Sequence[float]],
                        path: str | os.PathLike, chosen: float | None = None,
                        title: str = "accuracy against regularisation") -> Path:
    """Accuracy of each split (e.g. ``{"train": [...], "dev": [...]}``) against the L2 strength.

    The x axis is logarithmic, linear near zero (``symlog``) so that ``alpha = 0`` has a place;
    ``chosen`` is marked by a vertical line.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or (alphas < 0).any():
        raise ValueError(f"alphas must be a non-empty list of values >= 0, got {alphas}")
    fig = _new_figure(6, 4)
    ax = fig.subplots()
    for name, values in accuracies.items():
        ax.plot(alphas, values, marker="o", label=name)
    if chosen is not None:
        ax.axvline(chosen, color="gray", linestyle="--", label=f"chosen on dev: {chosen:g}")
    positive = alphas[alphas > 0]
    ax.set_xscale("symlog", linthresh=positive.min() if positive.size else 1.0)
    ax.set_xlim(left=0 if alphas.min() == 0 else None)  # no room for negative strengths
    ax.set(xlabel="L2 regularisation (alpha)", ylabel="accuracy", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_activations(path: str | os.PathLike) -> Path:
    """sigmoid and tanh with their derivatives on [-6, 6] (sigmoid' peaks at 1/4, tanh' at 1)."""
    from nnbasics.core.activations import sigmoid, sigmoid_grad, tanh, tanh_grad

    x = np.linspace(-6, 6, 400)
    fig = _new_figure(10, 4)
    ax_f, ax_g = fig.subplots(1, 2)
    s, t = sigmoid(x), tanh(x)
    ax_f.plot(x, s, label="s = sigmoid(x) = 1 / (1 + exp(-x))")
    ax_f.plot(x, t, label="t = tanh(x)")
    ax_g.plot(x, sigmoid_grad(s), label="sigmoid'(x) = s (1 - s), at most 1/4")
    ax_g.plot(x, tanh_grad(t), label="tanh'(x) = 1 - t², at most 1")
    ax_f.set(title="sigmoid and tanh", xlabel="x")
    ax_g.set(title="their gradients", xlabel="x")
    for ax in (ax_f, ax_g):
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, path)
