"""Gradient checks of the MLP kernel for ``nnbasics check``: every layer, every activation.

Each check builds a small 6-5-4-3 network (two hidden layers; 6-5-4-1, one logistic output unit,
for the binary classifier) in float64 with a fixed seed and compares
:func:`nnbasics.mlp.model.loss_and_gradients`' gradient of one layer's ``(W, b)`` with centred
differences (all coordinates), so a transposed or misplaced term in any layer shows up.
"""

from __future__ import annotations

import numpy as np

from nnbasics.core.checks import register
from nnbasics.core.gradcheck import GradCheckResult, gradcheck
from nnbasics.mlp.model import Workspace, init_parameters, loss_and_gradients

__all__ = ["layer_gradient_check"]

LAYER_SIZES = (6, 5, 4, 3)
BINARY_LAYER_SIZES = (6, 5, 4, 1)  # two classes: one logistic unit
ACTIVATION_SEEDS = {"sigmoid": 11, "tanh": 12, "relu": 13, "identity": 14}


def layer_gradient_check(activation: str, layer: int, seed: int = 0, alpha: float = 0.01,
                         sizes=LAYER_SIZES) -> GradCheckResult:
    """Gradcheck of the kernel's gradient with respect to layer ``layer``'s weights and bias."""
    rng = np.random.default_rng(seed)
    n_rows = 7
    X = rng.standard_normal((n_rows, sizes[0]))
    labels = rng.integers(0, max(sizes[-1], 2), n_rows)  # one unit: labels 0 and 1
    weights, biases = init_parameters(sizes, "xavier", rng, np.float64)
    for b in biases:
        b[...] = 0.1 * rng.standard_normal(b.shape)
    workspace = Workspace(sizes, n_rows, np.float64)
    w_shape = weights[layer].shape

    def f(theta):
        W = theta[: w_shape[0] * w_shape[1]].reshape(w_shape)
        b = theta[w_shape[0] * w_shape[1] :]
        ws = [W if i == layer else w for i, w in enumerate(weights)]
        bs = [b if i == layer else v for i, v in enumerate(biases)]
        loss = loss_and_gradients(X, labels, ws, bs, activation, workspace, alpha)
        grad = np.concatenate([workspace.dweights[layer].ravel(), workspace.dbiases[layer]])
        return loss, grad

    theta0 = np.concatenate([weights[layer].ravel(), biases[layer]])
    return gradcheck(f, theta0)


def _register_all() -> None:
    for sizes in (LAYER_SIZES, BINARY_LAYER_SIZES):
        for activation, seed in ACTIVATION_SEEDS.items():
            for layer in range(len(sizes) - 1):
                name = f"mlp {'-'.join(map(str, sizes))} {activation}: layer {layer + 1} (W, b)"

                def check(activation=activation, layer=layer, seed=seed,
                          sizes=sizes) -> GradCheckResult:
                    return layer_gradient_check(activation, layer, seed, sizes=sizes)

                register(name)(check)


_register_all()
