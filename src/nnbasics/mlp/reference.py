r"""The reference engine of the MLP: the textbook training step, in plain NumPy.

``MLPClassifier(engine="reference")`` trains with the functions of this module; the default fast
engine (:func:`nnbasics.mlp.training.sgd_epoch` with :mod:`nnbasics.mlp.model`'s kernel) is
tested against them: same batches, same losses up to rounding.

Shape letters: ``N`` rows of a batch, ``D`` features, ``H_l`` units of layer ``l``, ``K``
classes.  ``weights[l]`` is ``(H_{l-1}, H_l)`` and ``biases[l]`` ``(H_l,)``, with ``H_0 = D`` and
``H_L = K``.  One step on a batch ``(X, y)``::

    forward    a_0 = X;  a_l = f(a_{l-1} @ W_l + b_l)  (l < L);  z = a_{L-1} @ W_L + b_L
    loss       J = mean_n(-log softmax(z)[n, y_n]) + alpha / (2N) * sum_l ||W_l||^2
    backward   delta_L = (softmax(z) - onehot(y)) / N
               dW_l = a_{l-1}^T @ delta_l + alpha / N * W_l;   db_l = sum_n delta_l
               delta_{l-1} = (delta_l @ W_l^T) * f'(a_{l-1})
    update     optimizer.reference_step(params, grads)

``MLPRegressor`` trains an identity output (``output="identity"``) on real targets ``Y``
(N, K) with the squared error ``J = 1/(2N) sum_n ||z_n - Y_n||^2`` (summed over the outputs, as
scikit-learn's gradient is: its reported ``squared_loss`` is this divided by ``K``) and
``delta_L = (z - Y) / N``, or (``loss="poisson"``) an exponential output with half the Poisson
deviance (``output="exp"``).

With sample weights ``w`` (N,) every mean over the rows becomes the weighted mean
``sum_n w_n (.)_n / sum_n w_n``, the L2 term's ``N`` becomes ``sum_n w_n`` and
``delta_L`` row ``n`` is multiplied by ``w_n N / sum_n w_n`` (scikit-learn's ``sample_weight``):
weights all equal give the unweighted step.

``softmax(z) - onehot(y)`` is the gradient of the cross-entropy *through* the softmax (the pair
softmax output + cross-entropy loss, and only that pair, cancels to ``ŷ - y``); ``f'`` is computed
from the activation's value ``a`` (``a (1 - a)`` for the sigmoid, ``1 - a²`` for tanh, ``a > 0``
for ReLU, with ReLU'(0) = 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import xlogy

from nnbasics.core.activations import ACTIVATIONS, FloatArray, log_softmax, sigmoid
from nnbasics.core.layers import activation_backward, affine_backward, affine_forward
from nnbasics.mlp.optimizers import SGD, Adam

__all__ = [
    "OUTPUTS",
    "backward",
    "evaluate",
    "forward",
    "lbfgs_fit",
    "loss_and_gradients",
    "pack_parameters",
    "packed_loss_and_gradient",
    "row_losses",
    "train_epoch",
    "train_step",
    "unpack_parameters",
]


def forward(X: FloatArray, weights: Sequence[FloatArray], biases: Sequence[FloatArray],
            activation: str) -> tuple[FloatArray, list[FloatArray]]:
    """Logits ``z`` (N, K) and the layer inputs ``[a_0 = X, a_1, ..., a_{L-1}]``."""
    values = [X]
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        values.append(ACTIVATIONS[activation](_affine(values[-1], W, b)))
    logits = _affine(values[-1], weights[-1], biases[-1])
    return logits, values


def _affine(x: FloatArray, W: FloatArray, b: FloatArray) -> FloatArray:
    """``x @ W + b``; ``x`` may be a SciPy sparse matrix (the input layer of sparse data:
    sparse @ dense is dense, and the backward's ``x.T @ delta`` works as it stands)."""
    if sparse.issparse(x):
        return np.asarray(x @ W) + b
    return affine_forward(x, W, b)


def backward(delta: FloatArray, values: Sequence[FloatArray], weights: Sequence[FloatArray],
             activation: str, alpha: float = 0.0, weight_sum: float | None = None,
             ) -> tuple[list[FloatArray], list[FloatArray]]:
    r"""``(dweights, dbiases)`` from ``delta = dJ/dz`` (N, K) and the forward's ``values``.

    :math:`\partial J/\partial W_l = a_{l-1}^\top \delta_l + \frac{\alpha}{N} W_l`,
    :math:`\partial J/\partial b_l = \mathbf 1^\top \delta_l`,
    :math:`\delta_{l-1} = \delta_l W_l^\top \odot f'(a_{l-1})`; ``weight_sum`` replaces
    ``N`` in the L2 term when the rows are weighted (default: ``N``).
    """
    n_rows = values[0].shape[0] if weight_sum is None else weight_sum
    dweights: list[FloatArray] = [np.empty(0)] * len(weights)
    dbiases: list[FloatArray] = [np.empty(0)] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        dvalue, dW, dbiases[layer] = affine_backward(delta, values[layer], weights[layer],
                                                     need_dx=layer > 0)
        dweights[layer] = dW + (alpha / n_rows) * weights[layer]  # L2 term
        if layer > 0:
            delta = activation_backward(dvalue, values[layer], activation)
    return dweights, dbiases


#: output layers and their losses: "softmax" + cross-entropy on class indices (N,) (the
#: classifier), "identity" + half the squared error on real targets (N, K) (the regressor),
#: "logistic" + binary cross-entropy on 0/1 indicators (N, K) (the multilabel classifier) or
#: 0/1 labels (N,) (the binary classifier's one unit),
#: "exp" + half the Poisson deviance on counts (N, K) (the regressor's ``loss="poisson"``)
OUTPUTS = ("softmax", "identity", "logistic", "exp")


def row_losses(z: FloatArray, targets: NDArray, output: str = "softmax",
               ) -> tuple[NDArray[np.float64], FloatArray]:
    r"""Each row's loss :math:`\ell_n` (N,) float64 and its gradient
    :math:`\partial\ell_n/\partial z_n` (N, K) for the output layer ``output``.

    "softmax": :math:`\ell_n = -\log\mathrm{softmax}(z_n)_{y_n}`,
    gradient :math:`\mathrm{softmax}(z_n) - \mathrm{onehot}(y_n)`;
    "identity": :math:`\ell_n = \frac12\lVert z_n - Y_n\rVert^2`, gradient :math:`z_n - Y_n`;
    "logistic": :math:`\ell_n = \sum_k -Y_{nk}\log\sigma(z_{nk})
    - (1 - Y_{nk})\log(1 - \sigma(z_{nk}))`, gradient :math:`\sigma(z_n) - Y_n` (the
    sigmoid's derivative cancels as the softmax's does), with
    :math:`-\log\sigma(z) = \log(1 + e^{-z})` computed by ``logaddexp``: finite for any z;
    "exp": :math:`\mu = e^{z}`, :math:`\ell_n = \sum_k Y_{nk}\log(Y_{nk}/\mu_{nk}) - Y_{nk}
    + \mu_{nk}` (half the Poisson deviance, scikit-learn's ``poisson_loss``), gradient
    :math:`\mu_n - Y_n` (the exponential's derivative cancels too).
    """
    if output == "softmax":
        rows = np.arange(z.shape[0])
        log_p = log_softmax(z, axis=1)
        dz = np.exp(log_p)
        dz[rows, targets] -= 1
        return -log_p[rows, targets].astype(np.float64), dz
    if output == "identity":
        residual = z - targets  # (N, K)
        return 0.5 * np.sum(residual * residual, axis=1, dtype=np.float64), residual
    if output == "logistic":
        targets = _indicators(targets, z)
        losses = targets * np.logaddexp(0, -z) + (1 - targets) * np.logaddexp(0, z)
        return np.sum(losses, axis=1, dtype=np.float64), sigmoid(z) - targets
    if output == "exp":
        mu = np.exp(z)
        # Y log(Y / mu) = xlogy(Y, Y) - Y z: no division, and 0 log 0 = 0
        losses = xlogy(targets, targets) - targets * z - targets + mu
        return np.sum(losses, axis=1, dtype=np.float64), mu - targets
    raise ValueError(f"output must be one of {', '.join(map(repr, OUTPUTS))}, got {output!r}")


def _indicators(targets: NDArray, z: FloatArray) -> NDArray:
    """The 0/1 targets of logistic outputs as (N, K): labels (N,) of a binary classifier (one
    logistic unit, K = 1) become a column."""
    return targets.reshape(z.shape) if targets.ndim == 1 else targets


def output_loss(z: FloatArray, targets: NDArray, output: str = "softmax",
                sample_weight: NDArray | None = None) -> tuple[float, FloatArray]:
    r"""The batch's loss and ``delta = dJ/dz`` (N, K) for the output layer ``output``.

    :math:`J = \sum_n w_n \ell_n / \sum_n w_n` and
    :math:`\delta_n = w_n\,\partial\ell_n/\partial z_n / \sum_n w_n`, with the row losses
    :math:`\ell_n` of :func:`row_losses` and the weights ``sample_weight`` (N,) (None: all 1,
    so :math:`J` is the mean and :math:`\delta = \partial\ell/\partial z / N`).
    """
    losses, dz = row_losses(z, targets, output)
    if sample_weight is None:
        n_rows = z.shape[0]
        return float(np.sum(losses) / n_rows), dz / n_rows
    share = sample_weight / np.sum(sample_weight, dtype=np.float64)  # w_n / sum w
    return float(share @ losses), dz * share[:, None].astype(dz.dtype)


def predictions(z: FloatArray, output: str) -> FloatArray:
    """What the network predicts from its output-layer values ``z``: ``exp(z)`` for the "exp"
    output (the mean of the Poisson distribution), ``z`` itself otherwise (logits, or the
    regressor's values)."""
    return np.exp(z) if output == "exp" else z


def evaluate(X: FloatArray, targets: NDArray, weights: Sequence[FloatArray],
             biases: Sequence[FloatArray], activation: str, output: str = "softmax",
             sample_weight: NDArray | None = None) -> tuple[float, float]:
    """The loss (no L2 term) and the score on ``(X, targets)``, weighted by ``sample_weight``
    when given: accuracy for "softmax", the share of rows whose every label is right for
    "logistic", the coefficient of determination R² (averaged uniformly over the outputs) for
    "identity" and "exp".  The score is NaN when the network's outputs are not finite (a
    diverged network), as scikit-learn's."""
    from sklearn.metrics import accuracy_score, r2_score

    z, _ = forward(X, weights, biases, activation)
    with np.errstate(over="ignore", invalid="ignore"):
        loss, _ = output_loss(z, targets, output, sample_weight)
        predicted = predictions(z, output)
    if not np.all(np.isfinite(predicted)):
        return loss, float("nan")
    if output == "softmax":
        return loss, float(accuracy_score(targets, np.argmax(z, axis=1),
                                          sample_weight=sample_weight))
    if output == "logistic":  # every label of a row right
        return loss, float(accuracy_score(_indicators(targets, z) > 0.5, z > 0,
                                          sample_weight=sample_weight))
    return loss, float(r2_score(targets, predicted, sample_weight=sample_weight))


def loss_and_gradients(X: FloatArray, labels: NDArray, weights: Sequence[FloatArray],
                       biases: Sequence[FloatArray], activation: str, alpha: float = 0.0,
                       output: str = "softmax", sample_weight: NDArray | None = None,
                       ) -> tuple[float, list[FloatArray], list[FloatArray]]:
    r"""The batch's loss with its L2 term, and its gradient for every layer.

    Parameters
    ----------
    X : ndarray (N, D)
    labels : ndarray of int (N,), class indices in [0, K) for "softmax"; targets (N, K) for
        "identity", "logistic" and "exp"
    weights, biases : lists of L arrays, shapes (H_{l-1}, H_l) and (H_l,)
    activation : {"sigmoid", "logistic", "tanh", "relu", "identity"}
        Activation of every hidden layer.
    alpha : float, default 0
        L2 penalty on the weights (not the biases): :math:`\frac{\alpha}{2N}\sum_l\|W_l\|^2`
        (:math:`N` is :math:`\sum_n w_n` with sample weights).
    output : {"softmax", "identity", "logistic", "exp"}, default "softmax"
        The output layer and its loss (:func:`output_loss`).
    sample_weight : ndarray (N,), optional
        Weight of each row in the loss (:func:`output_loss`); None: every row weighs 1.

    Returns
    -------
    loss : float
    dweights, dbiases : lists of arrays shaped like ``weights`` and ``biases``
    """
    loss, _, dweights, dbiases = _step_math(X, labels, weights, biases, activation, alpha,
                                            output, sample_weight)
    return loss, dweights, dbiases


def _step_math(X: FloatArray, labels: NDArray, weights: Sequence[FloatArray],
               biases: Sequence[FloatArray], activation: str, alpha: float,
               output: str = "softmax", sample_weight: NDArray | None = None,
               ) -> tuple[float, FloatArray, list[FloatArray], list[FloatArray]]:
    """Loss, logits and gradients of the batch (the module docstring's first three lines)."""
    weight_sum = (X.shape[0] if sample_weight is None
                  else float(np.sum(sample_weight, dtype=np.float64)))
    logits, values = forward(X, weights, biases, activation)
    loss, delta = output_loss(logits, labels, output, sample_weight)  # softmax: (ŷ - y)/N
    dweights, dbiases = backward(delta, values, weights, activation, alpha, weight_sum)
    penalty = alpha / (2 * weight_sum) * sum(float(np.sum(W * W, dtype=np.float64))
                                             for W in weights)
    return float(loss) + penalty, logits, dweights, dbiases


def train_step(X: FloatArray, labels: NDArray, weights: Sequence[FloatArray],
               biases: Sequence[FloatArray], activation: str, optimizer: SGD | Adam,
               alpha: float = 0.0, output: str = "softmax",
               sample_weight: NDArray | None = None) -> tuple[float, int]:
    """One step on the batch, parameters updated in place by ``optimizer.reference_step``.

    Returns the batch's loss and the number of rows predicted right (the largest logit is the
    label; for "logistic" outputs every label right; 0 for the regressor's), both measured at
    the parameters *before* the step.
    """
    loss, logits, dweights, dbiases = _step_math(X, labels, weights, biases, activation, alpha,
                                                 output, sample_weight)
    n_correct = 0
    if output == "softmax":
        n_correct = int(np.sum(np.argmax(logits, axis=1) == labels))
    elif output == "logistic":  # every label of the row right
        right = (logits > 0) == (_indicators(labels, logits) > 0.5)
        n_correct = int(np.sum(np.all(right, axis=1)))
    optimizer.reference_step([*weights, *biases], [*dweights, *dbiases])
    return loss, n_correct


def train_epoch(X: FloatArray, y: NDArray[np.integer], weights: Sequence[FloatArray],
                biases: Sequence[FloatArray], activation: str, optimizer: SGD | Adam,
                rng: np.random.Generator, batch_size: int, alpha: float = 0.0,
                shuffle: bool = True, output: str = "softmax",
                sample_weight: NDArray | None = None) -> tuple[float, int]:
    """One pass over the rows in the order ``rng.permutation(N)`` (their own order with
    ``shuffle=False``), in batches of ``batch_size`` (the last may be smaller): the sampling
    rule of :mod:`nnbasics.mlp.training`.  ``sample_weight`` (N,): each row's weight.

    Returns the batch losses' mean weighted by batch size and the rows predicted right.
    """
    n_rows = X.shape[0]
    order = rng.permutation(n_rows) if shuffle else np.arange(n_rows)
    total, n_correct = 0.0, 0
    for start in range(0, n_rows, batch_size):
        rows = order[start : start + batch_size]
        batch_weight = None if sample_weight is None else sample_weight[rows]
        loss, correct = train_step(X[rows], y[rows], weights, biases, activation, optimizer,
                                   alpha, output, batch_weight)
        total += len(rows) * loss
        n_correct += correct
    return total / n_rows, n_correct


# ----------------------------------------------------------------------------------------------
# full-batch training with L-BFGS: every parameter in one flat vector theta
# ----------------------------------------------------------------------------------------------

def pack_parameters(weights: Sequence[FloatArray], biases: Sequence[FloatArray]) -> FloatArray:
    """The parameters as one float64 vector ``theta``: ``W_1, ..., W_L`` (row-major), then
    ``b_1, ..., b_L`` (scikit-learn's order).  :func:`unpack_parameters` inverts it."""
    return np.concatenate([np.ravel(a) for a in (*weights, *biases)]).astype(np.float64)


def unpack_parameters(theta: FloatArray, layer_sizes: Sequence[int],
                      ) -> tuple[list[FloatArray], list[FloatArray]]:
    """``(weights, biases)`` of a network with ``layer_sizes = (D, H_1, ..., K)``, as views
    of ``theta`` (P,) in the order of :func:`pack_parameters`."""
    pairs = list(itertools.pairwise(layer_sizes))
    n_params = sum(n_in * n_out + n_out for n_in, n_out in pairs)
    if theta.shape != (n_params,):
        raise ValueError(f"theta has shape {theta.shape}; layers {tuple(layer_sizes)} need "
                         f"({n_params},)")
    weights, biases, start = [], [], 0
    for n_in, n_out in pairs:
        weights.append(theta[start : start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
    for _, n_out in pairs:
        biases.append(theta[start : start + n_out])
        start += n_out
    return weights, biases


def packed_loss_and_gradient(theta: FloatArray, X: FloatArray, labels: NDArray[np.integer],
                             layer_sizes: Sequence[int], activation: str, alpha: float = 0.0,
                             output: str = "softmax", sample_weight: NDArray | None = None,
                             ) -> tuple[float, FloatArray]:
    """:func:`loss_and_gradients` on the whole of ``(X, labels)`` as a function of the packed
    parameters: ``(J(theta), dJ/dtheta)``, the form ``scipy.optimize.minimize(jac=True)``
    takes."""
    weights, biases = unpack_parameters(theta, layer_sizes)
    loss, dweights, dbiases = loss_and_gradients(X, labels, weights, biases, activation, alpha,
                                                 output, sample_weight)
    return loss, pack_parameters(dweights, dbiases)


def lbfgs_fit(X: FloatArray, labels: NDArray[np.integer], weights: Sequence[FloatArray],
              biases: Sequence[FloatArray], activation: str, alpha: float, max_iter: int,
              max_fun: int, tol: float, on_iteration: Callable[[float], None] | None = None,
              output: str = "softmax", sample_weight: NDArray | None = None):
    """Minimise the full-batch loss with SciPy's L-BFGS-B, as scikit-learn's ``solver="lbfgs"``.

    ``options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol}``: it stops after
    ``max_iter`` iterations, ``max_fun`` loss evaluations, or when the largest component of
    the projected gradient is at most ``tol`` (or the loss stalls: SciPy's ``ftol``).
    ``weights`` and ``biases`` (float64) are overwritten with the result; ``on_iteration(loss)``
    is called after every iteration with the loss at its new point; ``sample_weight`` (N,)
    weighs the rows (:func:`output_loss`).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``nit`` iterations, ``nfev`` evaluations, ``status`` (0: converged), ``message``.
    """
    from scipy.optimize import minimize

    layer_sizes = (weights[0].shape[0], *(W.shape[1] for W in weights))

    def callback(intermediate_result) -> None:
        if on_iteration is not None:
            on_iteration(float(intermediate_result.fun))

    result = minimize(packed_loss_and_gradient, pack_parameters(weights, biases),
                      args=(X, labels, layer_sizes, activation, alpha, output, sample_weight),
                      method="L-BFGS-B",
                      jac=True, callback=callback,
                      options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol})
    new_weights, new_biases = unpack_parameters(result.x, layer_sizes)
    for old, new in zip((*weights, *biases), (*new_weights, *new_biases), strict=True):
        old[...] = new
    return result
