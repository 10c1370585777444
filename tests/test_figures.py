"""Report figures: each writes a valid PNG of the expected size; the weight grid's layout."""

import os

import numpy as np
import pytest

from nnbasics.io import figures
from nnbasics.mlp.training import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_shape(path):
    """(height, width) of a PNG, decoded by matplotlib (so a torn file fails here)."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image.shape[:2], image


def _history(n_epochs, validation=True, start=2.0):
    epochs = np.arange(1, n_epochs + 1)
    loss = list(start / epochs)
    acc = list(1 - 0.5 / epochs)
    nan = [float("nan")] * n_epochs
    return History(train_loss=loss, train_accuracy=acc,
                   val_loss=list(np.array(loss) * 1.1) if validation else nan,
                   val_accuracy=list(np.array(acc) * 0.99) if validation else nan,
                   learning_rate=[0.01] * n_epochs)


@pytest.mark.parametrize("validation", [True, False])
def test_history_figure(tmp_path, validation):
    path = figures.plot_history(_history(5, validation), tmp_path / "curves.png", title="t")
    (height, width), _ = _png_shape(path)
    assert (height, width) == (440, 1100)  # 10 x 4 inches at 110 dpi


def test_confusion_matrix_figure(tmp_path):
    matrix = np.array([[5, 1, 0], [0, 7, 2], [1, 0, 9]])
    path = figures.plot_confusion_matrix(matrix, ["a", "b", "c"], tmp_path / "cm.png")
    (height, width), image = _png_shape(path)
    assert height > 100 and width > 100
    # the heat map is drawn in blues: some strongly blue pixels exist (the diagonal's 9)
    rgb = image[..., :3]
    assert np.any((rgb[..., 2] > 0.3) & (rgb[..., 0] < 0.2))


def test_weight_grid_layout():
    h, w = 2, 3
    weights = np.arange(6 * 5, dtype=np.float64).reshape(6, 5)  # D = 6, 5 units
    grid = figures._weight_grid(weights, (h, w), max_units=4)
    # 4 units -> 2 x 2 tiles of 2 x 3 with one-pixel NaN borders
    assert grid.shape == (2 * (h + 1) + 1, 2 * (w + 1) + 1)
    assert np.isnan(grid[0]).all() and np.isnan(grid[:, 0]).all()
    first = grid[1 : 1 + h, 1 : 1 + w]
    # unit 0's weights are column 0: 0, 5, 10, ..., scaled to [0, 1] in image (row-major) order
    np.testing.assert_allclose(first, np.linspace(0, 1, 6).reshape(h, w))
    second = grid[1 : 1 + h, 1 + (w + 1) : 1 + (w + 1) + w]
    np.testing.assert_allclose(second, np.linspace(0, 1, 6).reshape(h, w))
    assert np.isfinite(grid).sum() == 4 * h * w


def test_weight_grid_constant_unit_is_zero():
    grid = figures._weight_grid(np.ones((4, 1)), (2, 2), max_units=64)
    np.testing.assert_array_equal(grid[1:3, 1:3], 0.0)


def test_first_layer_weights_figure(tmp_path, rng):
    initial = rng.standard_normal((64, 20))
    trained = initial + 0.1 * rng.standard_normal((64, 20))
    path = figures.plot_first_layer_weights(initial, trained, (8, 8), tmp_path / "w.png")
    (height, width), _ = _png_shape(path)
    assert width > 2 * height  # three panels side by side


@pytest.mark.parametrize("initial, trained, shape, message", [
    (np.zeros((64, 3)), np.zeros((64, 4)), (8, 8), "differ"),
    (np.zeros((63, 3)), np.zeros((63, 3)), (8, 8), "not \\(D, H\\)"),
])
def test_first_layer_weights_errors(tmp_path, initial, trained, shape, message):
    with pytest.raises(ValueError, match=message):
        figures.plot_first_layer_weights(initial, trained, shape, tmp_path / "w.png")
    assert not (tmp_path / "w.png").exists()


def test_learning_rate_figure_with_a_diverged_run(tmp_path):
    histories = {0.1: _history(6), 1.0: _history(1, start=50.0), 0.01: _history(6, start=3.0)}
    path = figures.plot_learning_rates(histories, tmp_path / "lr.png", chosen=0.1,
                                       notes={1.0: "diverged"})
    _png_shape(path)
    with pytest.raises(ValueError, match="no learning-rate histories"):
        figures.plot_learning_rates({}, tmp_path / "none.png")


def test_activation_figure(tmp_path):
    _png_shape(figures.plot_activations(tmp_path / "act.png"))


def test_figures_are_written_atomically(tmp_path, monkeypatch):
    """A figure that fails while saving leaves neither a torn file nor a temporary one."""
    target = tmp_path / "act.png"
    target.write_bytes(b"old")

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        figures.plot_activations(target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["act.png"]


def test_global_backend_is_untouched(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    figures.plot_activations(tmp_path / "a.png")
    assert matplotlib.get_backend() == before


@pytest.mark.parametrize("alphas", [[0.0, 1e-4, 1e-2, 1.0], [1e-3, 1e-1]])
def test_regularization_figure(tmp_path, alphas):
    accuracy = {"train": np.linspace(0.6, 0.4, len(alphas)), "dev": np.full(len(alphas), 0.5)}
    path = figures.plot_regularization(alphas, accuracy, tmp_path / "reg.png", chosen=alphas[1])
    (height, width), _ = _png_shape(path)
    assert (height, width) == (440, 660)  # 6 x 4 inches at 110 dpi
    with pytest.raises(ValueError, match="values >= 0"):
        figures.plot_regularization([-1.0], {"dev": [0.5]}, tmp_path / "bad.png")
