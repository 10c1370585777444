r"""Multi-layer perceptron math: forward and backward over a list of dense layers.

Shape letters: ``N`` rows of a batch, ``D`` input features, ``H_l`` units of hidden layer ``l``,
``K`` classes.  A network with ``layer_sizes = (D, H_1, ..., H_{L-1}, K)`` has ``L`` layers; layer
``l`` holds ``weights[l]`` of shape ``(layer_sizes[l], layer_sizes[l+1])`` and ``biases[l]`` of
shape ``(layer_sizes[l+1],)``.

.. math::

    a_0 = X, \qquad a_l = f(a_{l-1} W_l + b_l) \;(l < L), \qquad
    \hat y = \mathrm{softmax}(a_{L-1} W_L + b_L), \qquad
    J = \frac1N \sum_n -\log \hat y_{n, y_n} + \frac{\alpha}{2N} \sum_l \lVert W_l\rVert_F^2

(the cost is the *mean* over the batch, so a learning rate does not depend on the batch size; the
optional L2 penalty follows scikit-learn's convention).  A network with one output unit
(``K = 1``) is a binary classifier, as scikit-learn's: :math:`\hat y = \sigma(z)` is the
probability of class 1 and the loss the binary cross-entropy
:math:`-y\log\hat y - (1 - y)\log(1 - \hat y)`, whose gradient is :math:`\hat y - y` too.

Two implementations of the same gradient live here:

* :func:`loss_and_gradients_reference` is the reference engine's readable step
  (:mod:`nnbasics.mlp.reference`), allocating as it goes;
* :func:`loss_and_gradients` is the training kernel: every intermediate lives in a preallocated
  :class:`Workspace`, activations and their backward are applied in place, the output bias,
  softmax and cross-entropy are one compiled pass (:mod:`nnbasics._accel.mlp_kernels`), every bias
  gradient is summed inside the pass that produces its delta, and the first layer's input
  gradient (an ``N × D`` product nobody needs) is never computed.  The tests check it against
  the reference.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from nnbasics._accel import blas as _blas
from nnbasics._accel import mlp_kernels as mlp_inner
from nnbasics._accel import optimizer_kernels
from nnbasics.core.activations import ACTIVATIONS, FloatArray, softmax
from nnbasics.core.initializers import init_weights
from nnbasics.core.layers import affine_forward
from nnbasics.mlp import reference

__all__ = [
    "Workspace",
    "check_activation",
    "forward_logits",
    "init_parameters",
    "loss_and_gradients",
    "loss_and_gradients_reference",
    "loss_and_sgd_update",
    "predict_proba",
]


def check_activation(activation: str) -> str:
    """Canonical name of ``activation`` ("logistic" -> "sigmoid"); ValueError if unknown."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return "sigmoid" if activation == "logistic" else activation


#: the initialisation of scikit-learn's MLPs (``init="scikit-learn"``): weights *and* biases drawn
#: uniformly from [-a, a], a = sqrt(6 / (fan_in + fan_out)), or sqrt(2 / ...) for sigmoid hidden
#: layers, layer after layer (weights then biases), as its ``_init_coef``
SCIKIT_LEARN_INIT = "scikit-learn"


def init_parameters(
    layer_sizes: Sequence[int], init: str, rng: np.random.Generator, dtype: DTypeLike = np.float32,
    activation: str = "relu",
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Weights from the initialiser ``init`` (:mod:`nnbasics.core.initializers`), zero biases;
    or, with ``init="scikit-learn"``, weights and biases as scikit-learn initialises them
    (:data:`SCIKIT_LEARN_INIT`; ``activation`` is the hidden layers').

    Returns ``(weights, biases)``: lists of ``L`` arrays of shapes ``(layer_sizes[l],
    layer_sizes[l+1])`` and ``(layer_sizes[l+1],)``, C-contiguous, of dtype ``dtype``.
    """
    if init == SCIKIT_LEARN_INIT:
        factor = 2.0 if check_activation(activation) == "sigmoid" else 6.0
        weights, biases = [], []
        for fan_in, fan_out in itertools.pairwise(layer_sizes):
            bound = np.sqrt(factor / (fan_in + fan_out))
            weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            biases.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        return weights, biases
    weights = [
        np.ascontiguousarray(init_weights(init, fan_in, fan_out, rng, dtype))
        for fan_in, fan_out in itertools.pairwise(layer_sizes)
    ]
    biases = [np.zeros(fan_out, dtype=dtype) for fan_out in layer_sizes[1:]]
    return weights, biases


# ----------------------------------------------------------------------------------------------
# reference implementation: the readable step of nnbasics.mlp.reference
# ----------------------------------------------------------------------------------------------


def loss_and_gradients_reference(
    X: FloatArray,
    labels: ArrayLike,
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    alpha: float = 0.0,
) -> tuple[float, list[FloatArray], list[FloatArray]]:
    r"""Mean cross-entropy of the batch and its gradient for every layer (readable reference).

    Parameters
    ----------
    X : ndarray, shape (N, D)
    labels : ndarray of int, shape (N,), class indices in [0, K)
    weights, biases : lists of L arrays, shapes (H_{l-1}, H_l) and (H_l,)
    activation : {"sigmoid", "logistic", "tanh", "relu"}
        Activation of every hidden layer; the output layer is softmax.
    alpha : float, default 0
        L2 penalty on the weights (not the biases).

    Returns
    -------
    loss : float
        :math:`J` of the module docstring.
    dweights, dbiases : lists of arrays shaped like ``weights`` and ``biases``
        :math:`\partial J/\partial W_l = a_{l-1}^\top \delta_l + \frac{\alpha}{N} W_l` and
        :math:`\partial J/\partial b_l = \mathbf 1^\top \delta_l`, where
        :math:`\delta_L = (\hat y - y)/N` and
        :math:`\delta_l = \delta_{l+1} W_{l+1}^\top \odot f'(a_l)`.
    """
    return reference.loss_and_gradients(X, labels, weights, biases, check_activation(activation),
                                        alpha)


# ----------------------------------------------------------------------------------------------
# the training kernel: preallocated buffers, in-place activations
# ----------------------------------------------------------------------------------------------


class Workspace:
    """Preallocated buffers for batches of up to ``batch_size`` rows of one network.

    Attributes
    ----------
    inputs, spare_inputs : ndarray (batch_size, D)
        Where the training loop gathers a batch's rows: even batches into ``inputs``, odd ones
        into ``spare_inputs`` (allocated on first use, so an epoch of one batch never pays for
        it).  Two buffers because the rows of the batch just stepped are still in the cache of
        the BLAS thread that read them for the weight gradient: writing the next batch over them
        would first take each cache line back from that core.
    targets, spare_targets : ndarray of int64 (batch_size,)
        Where it gathers the batch's labels (``spare_targets`` with ``spare_inputs``, allocated
        with it).
    values : list of L arrays (batch_size, H_l)
        Layer outputs: hidden activations :math:`a_l`, then the logits (overwritten by
        :math:`\\delta_L` in the backward pass).
    deltas : list of L - 1 arrays (batch_size, H_l)
        :math:`\\delta_l` of the hidden layers.
    dweights, dbiases : lists of L arrays
        The gradients of the last call of :func:`loss_and_gradients`.
    n_correct : ndarray of int64 (1,)
        Rows predicted right (largest logit = label) by the forward passes since it was last
        set to 0: :func:`nnbasics.mlp.training.sgd_epoch` zeroes it, so afterwards it counts the
        epoch's rows predicted right before their step (the training accuracy, for free).
    loss_columns, predicted : ndarray (K + 2, batch_size) and int64 (batch_size,)
        Work arrays of the softmax cross-entropy kernel
        (:func:`nnbasics._accel.mlp_kernels.loss_scratch`).
    gemm : callable
        ``gemm(trans_a, trans_b, alpha, A, B, beta, C)``, every product of the step
        (:func:`nnbasics._accel.blas.gemm_unchecked`: SciPy's BLAS, or NumPy's ``matmul``).
    gemm_accumulates : bool
        Whether ``gemm`` adds its product into ``C`` in the same pass (BLAS), so that a plain SGD
        step can ride on the weight gradient's product; NumPy's ``matmul`` cannot.
    """

    def __init__(self, layer_sizes: Sequence[int], batch_size: int, dtype: DTypeLike = np.float32):
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.batch_size = int(batch_size)
        self.dtype = np.dtype(dtype)
        B = self.batch_size
        self.inputs = np.empty((B, self.layer_sizes[0]), dtype=self.dtype)
        self._spare_inputs: FloatArray | None = None
        self.targets = np.empty(B, dtype=np.int64)
        self._spare_targets: NDArray[np.int64] | None = None
        self.n_correct = np.zeros(1, dtype=np.int64)
        self.loss_columns, self.predicted = mlp_inner.loss_scratch(B, self.layer_sizes[-1],
                                                                   self.dtype)
        self.values = [np.empty((B, h), dtype=self.dtype) for h in self.layer_sizes[1:]]
        self.deltas = [np.empty((B, h), dtype=self.dtype) for h in self.layer_sizes[1:-1]]
        self.dweights = [
            np.empty((i, o), dtype=self.dtype)
            for i, o in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True)
        ]
        self.dbiases = [np.empty(o, dtype=self.dtype) for o in self.layer_sizes[1:]]
        self._weight_scratch: list[FloatArray] | None = None
        self.gemm = _blas.gemm_unchecked(self.dtype)
        self.gemm_accumulates = self.gemm is not _blas.numpy_gemm

    @property
    def spare_inputs(self) -> FloatArray:
        """The second batch buffer, like ``inputs`` (allocated on first use)."""
        if self._spare_inputs is None:
            self._spare_inputs = np.empty_like(self.inputs)
        return self._spare_inputs

    @property
    def spare_targets(self) -> NDArray[np.int64]:
        """The labels of the second batch buffer, like ``targets`` (allocated on first use)."""
        if self._spare_targets is None:
            self._spare_targets = np.empty_like(self.targets)
        return self._spare_targets

    def weight_scratch(self) -> list[FloatArray]:
        """Buffers shaped like the weights (for the L2 term), allocated on first use."""
        if self._weight_scratch is None:
            self._weight_scratch = [np.empty_like(dW) for dW in self.dweights]
        return self._weight_scratch


def _activate_inplace(z: FloatArray, activation: str) -> None:
    """``z <- f(z)`` in place; the sigmoid with the training kernel's arithmetic.

    Inference then computes exactly the bits the training step computed for the same batch.
    The sigmoid needs a C-contiguous ``z`` (what :func:`forward_logits` passes; ValueError
    otherwise) and allocates only a zero bias of ``z.shape[-1]`` entries.
    """
    if activation == "sigmoid":
        rows = z.reshape(-1, z.shape[-1]) if z.ndim else z.reshape(1, 1)
        if not np.shares_memory(rows, z) or not rows.flags.c_contiguous:
            raise ValueError("the in-place sigmoid needs a C-contiguous array")
        mlp_inner.bias_activation_inplace(rows, np.zeros(rows.shape[1], dtype=z.dtype),
                                          "sigmoid")
    elif activation == "tanh":
        np.tanh(z, out=z)
    elif activation == "identity":
        pass
    else:  # relu
        np.maximum(z, 0, out=z)


def _forward_to_output_delta(
    X: FloatArray,
    labels: NDArray,
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    ws: Workspace,
) -> float:
    r"""Forward pass into ``ws.values``; returns the mean cross-entropy (of the softmax, or of
    the one logistic unit of a network with one output: binary classification).

    Afterwards ``ws.values[l][:N]`` holds :math:`a_{l+1}` for the hidden layers and the last one
    :math:`\delta_L = (\hat y - y)/N`, and ``ws.dbiases[-1]`` its column sums.
    """
    n_rows = X.shape[0]
    one, zero = ws.dtype.type(1.0), ws.dtype.type(0.0)
    inputs = X
    for layer in range(len(weights)):  # values[l] = f(values[l-1] @ W_l + b_l)
        out = ws.values[layer][:n_rows]
        ws.gemm(False, False, one, inputs, weights[layer], zero, out)
        if layer == len(weights) - 1:  # the logits: the last layer's bias is added by the loss
            break
        mlp_inner.bias_activation_inplace(out, biases[layer], activation)
        inputs = out
    delta = ws.values[-1][:n_rows]
    if delta.shape[1] == 1:  # one logistic unit: binary classification
        return float(mlp_inner._logistic_cross_entropy_kernel(delta, biases[-1], labels,
                                                              ws.dbiases[-1], ws.n_correct))
    return float(mlp_inner._softmax_cross_entropy_kernel(delta, biases[-1], labels,
                                                         ws.dbiases[-1], ws.n_correct,
                                                         ws.loss_columns, ws.predicted))


def _l2_penalty(weights: Sequence[FloatArray], alpha: float, n_rows: int) -> float:
    r""":math:`\frac{\alpha}{2N} \sum_l \lVert W_l\rVert_F^2`."""
    return 0.5 * (alpha / n_rows) * sum(float(np.vdot(W, W)) for W in weights)


def _delta_below(delta: FloatArray, W: FloatArray, below: FloatArray, layer: int,
                 backward, ws: Workspace) -> FloatArray:
    r""":math:`\delta_{l-1} = (\delta_l W_l^\top) \odot f'(a_{l-1})` into ``ws.deltas``; the
    activation-backward kernel also sums its columns into ``ws.dbiases[layer - 1]``."""
    dvalue = ws.deltas[layer - 1][: delta.shape[0]]
    ws.gemm(False, True, ws.dtype.type(1.0), delta, W, ws.dtype.type(0.0), dvalue)  # delta W^T
    backward(dvalue, below, ws.dbiases[layer - 1])
    return dvalue


def _weight_gradient(below: FloatArray, delta: FloatArray, W: FloatArray, layer: int,
                     alpha: float, ws: Workspace) -> FloatArray:
    r""":math:`\partial J/\partial W_l = a_{l-1}^\top \delta_l + \frac{\alpha}{N} W_l` into
    ``ws.dweights[layer]``."""
    dW = ws.dweights[layer]
    ws.gemm(True, False, ws.dtype.type(1.0), below, delta, ws.dtype.type(0.0), dW)  # a^T delta
    if alpha:
        scaled = ws.weight_scratch()[layer]
        np.multiply(W, alpha / below.shape[0], out=scaled)
        dW += scaled
    return dW


def loss_and_gradients(
    X: FloatArray,
    labels: NDArray,
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    workspace: Workspace,
    alpha: float = 0.0,
) -> float:
    r"""Mean cross-entropy of the batch; its gradients go to ``workspace.dweights/dbiases``.

    Same mathematics and arguments as :func:`loss_and_gradients_reference` (``activation`` must
    be canonical: "sigmoid", "tanh" or "relu"), but nothing is allocated beyond a few (N,)
    vectors: ``X`` (N ≤ ``workspace.batch_size`` rows), ``weights`` and ``biases`` must be
    C-contiguous arrays of the workspace dtype (ValueError otherwise); ``labels`` (int, (N,)).
    ``X`` and ``labels`` are typically views of a workspace batch buffer / ``targets``.

    Returns
    -------
    loss : float
        :math:`J` of the module docstring.
    """
    _check_operands(X, weights, biases, workspace, labels)
    activation = check_activation(activation)
    return _loss_and_gradients(X, labels, weights, biases, activation, workspace, alpha)


def _loss_and_gradients(X: FloatArray, labels: NDArray, weights: Sequence[FloatArray],
                        biases: Sequence[FloatArray], activation: str, ws: Workspace,
                        alpha: float = 0.0) -> float:
    """:func:`loss_and_gradients` without the operand checks (the training loop makes them
    once per epoch)."""
    n_rows = X.shape[0]
    backward = mlp_inner.BACKWARD_KERNELS[activation]
    loss = _forward_to_output_delta(X, labels, weights, biases, activation, ws)
    if alpha:
        loss += _l2_penalty(weights, alpha, n_rows)
    delta = ws.values[-1][:n_rows]
    for layer in range(len(weights) - 1, -1, -1):
        below = X if layer == 0 else ws.values[layer - 1][:n_rows]  # a_{layer-1}   (N, H_in)
        _weight_gradient(below, delta, weights[layer], layer, alpha, ws)
        if layer > 0:  # the first layer's input gradient is never needed
            delta = _delta_below(delta, weights[layer], below, layer, backward, ws)
    return loss


def _decay_folds_into_gemm(decay: float, dtype: np.dtype) -> bool:
    """Whether ``W <- decay W`` may ride on the weight GEMM's ``beta`` (the L2 term of a step).

    BLAS rounds ``beta`` to the array's dtype and scales ``C`` by it before it adds the product,
    so the decay ``1 - decay`` must be far above the dtype's precision: in float32 a decay of
    ``3e-8`` (lr 1e-3, alpha 1e-3, batch 32) would round to 0 or double.  Required here: the
    decay is kept to about 0.1% (``1 - decay >= 1000 eps``).
    """
    return decay == 1.0 or 1.0 - decay >= 1000 * np.finfo(dtype).eps


def check_labels(labels: NDArray, n_rows: int, n_classes: int) -> None:
    """ValueError unless ``labels`` holds ``n_rows`` integer class indices in ``[0, n_classes)``:
    the compiled loss indexes the logits with them unchecked (an index past the row would read
    and write outside the array)."""
    labels = np.asarray(labels)
    if labels.shape != (n_rows,) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be {n_rows} integer class indices, got "
                         f"{labels.dtype} {labels.shape}")
    if n_rows and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be class indices, got values outside [0, {n_classes}): "
                         f"{labels.min()}..{labels.max()}")


def _check_operands(X: FloatArray, weights: Sequence[FloatArray],
                    biases: Sequence[FloatArray], ws: Workspace,
                    labels: NDArray | None = None) -> None:
    """ValueError unless every array the step's products read has the workspace's dtype and is
    C-contiguous, as BLAS reads them, the layers have the workspace's sizes and ``labels`` (when
    given) are class indices: what the compiled passes assume (checked before anything is
    updated, so a refused call leaves the network as it was)."""
    sizes = list(ws.layer_sizes)
    if len(weights) != len(sizes) - 1 or len(biases) != len(sizes) - 1:
        raise ValueError(f"the workspace is for {len(sizes) - 1} layers, got {len(weights)} "
                         f"weights and {len(biases)} biases")
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        if W.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],):
            raise ValueError(f"layer {i}: weights {W.shape} and biases {b.shape} do not match "
                             f"the workspace's layer sizes {tuple(sizes)}")
    dtype = ws.dtype
    arrays = [("X", X), *((f"weights[{i}]", W) for i, W in enumerate(weights)),
              *((f"biases[{i}]", b) for i, b in enumerate(biases))]
    for name, a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous {dtype} array like the workspace, "
                             f"got {a.dtype}{'' if a.flags.c_contiguous else ' (not contiguous)'}")
    if X.ndim != 2 or X.shape[0] > ws.batch_size or X.shape[1] != ws.layer_sizes[0]:
        raise ValueError(f"X {X.shape} does not fit the workspace's batches "
                         f"({ws.batch_size}, {ws.layer_sizes[0]})")
    if labels is not None:  # one output unit: a logistic unit, labels 0 and 1
        check_labels(labels, X.shape[0], max(sizes[-1], 2))


def loss_and_sgd_update(
    X: FloatArray,
    labels: NDArray,
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    workspace: Workspace,
    learning_rate: float,
    alpha: float = 0.0,
) -> float:
    r"""One plain SGD step on the batch; returns the loss.

    The same step as :func:`loss_and_gradients` followed by ``p <- p - lr * g`` for every
    parameter.  Where the workspace's GEMM accumulates (``workspace.gemm_accumulates``: SciPy's
    BLAS, see :mod:`nnbasics._accel.blas`), each weight matrix is updated by the GEMM that
    computes its gradient, the gradient never stored:

    .. math::  W_l \leftarrow \Bigl(1 - \frac{\eta\alpha}{N}\Bigr) W_l
               - \eta\, a_{l-1}^\top \delta_l

    after :math:`\delta_l W_l^\top` (which needs the old :math:`W_l`) has been taken for the
    layer below.  Biases are updated by one pass each.  Otherwise, and when the L2 decay
    :math:`\eta\alpha/N` is too small to survive as GEMM's ``beta`` in the weights' dtype
    (float32 with a small ``alpha``: :func:`_decay_folds_into_gemm`), the weights take the
    two-step road, gradient into ``workspace.dweights`` then one compiled update pass.  Either
    way the result equals the two-step update up to rounding, and the decay is applied, not
    rounded away.

    ``X``, ``weights`` and ``biases`` must be C-contiguous arrays of the workspace's dtype and
    sizes, ``labels`` (N,) integers in ``[0, K)`` (ValueError otherwise, before anything is
    updated).

    Returns
    -------
    loss : float
        :math:`J` of the batch at the parameters *before* the step.
    """
    _check_operands(X, weights, biases, workspace, labels)
    activation = check_activation(activation)
    return _loss_and_sgd_update(X, labels, weights, biases, activation, workspace,
                                learning_rate, alpha)


def _loss_and_sgd_update(X: FloatArray, labels: NDArray, weights: Sequence[FloatArray],
                         biases: Sequence[FloatArray], activation: str, ws: Workspace,
                         learning_rate: float, alpha: float) -> float:
    """:func:`loss_and_sgd_update` without the operand checks (the training loop makes them
    once per epoch, on the workspace's batch buffer that every batch is a view of)."""
    n_rows = X.shape[0]
    backward = mlp_inner.BACKWARD_KERNELS[activation]
    loss = _forward_to_output_delta(X, labels, weights, biases, activation, ws)
    decay = 1.0
    if alpha:
        loss += _l2_penalty(weights, alpha, n_rows)
        decay = 1.0 - learning_rate * alpha / n_rows
    fold = ws.gemm_accumulates and _decay_folds_into_gemm(decay, ws.dtype)
    # the operands were checked: call the compiled kernels directly (a Python wrapper per call
    # was ~3% of a small network's epoch), with scalars of the arrays' dtype
    real = ws.dtype.type
    gemm, lr, update = ws.gemm, real(learning_rate), optimizer_kernels._sgd_kernel
    minus_lr, beta = real(-learning_rate), real(decay)
    delta = ws.values[-1][:n_rows]
    for layer in range(len(weights) - 1, -1, -1):
        W = weights[layer]
        below = X if layer == 0 else ws.values[layer - 1][:n_rows]  # a_{layer-1}   (N, H_in)
        # delta_{layer} from the old W_layer, before it is updated
        delta_below = _delta_below(delta, W, below, layer, backward, ws) if layer > 0 else None
        if fold:  # W <- decay W - lr below^T delta
            gemm(True, False, minus_lr, below, delta, beta, W)
        else:  # the decay would be rounded in beta: gradient with its L2 term, then the step
            dW = _weight_gradient(below, delta, W, layer, alpha, ws)
            update(W.reshape(-1), dW.reshape(-1), lr)
        update(biases[layer], ws.dbiases[layer], lr)
        delta = delta_below
    return loss


# ----------------------------------------------------------------------------------------------
# inference
# ----------------------------------------------------------------------------------------------


def forward_logits(
    X: FloatArray,
    weights: Sequence[FloatArray],
    biases: Sequence[FloatArray],
    activation: str,
    chunk_rows: int = 4096,
) -> FloatArray:
    """Logits (N, K) of the rows of ``X`` (an ndarray, or a SciPy sparse CSR matrix),
    computed ``chunk_rows`` at a time to bound memory."""
    activation = check_activation(activation)
    n_rows = X.shape[0]
    logits = np.empty((n_rows, weights[-1].shape[1]), dtype=weights[-1].dtype)
    for start in range(0, n_rows, chunk_rows):
        values = X[start : start + chunk_rows]
        for layer, (W, b) in enumerate(zip(weights, biases, strict=True)):
            if layer == 0 and not isinstance(values, np.ndarray):  # SciPy sparse rows
                values = np.asarray(values @ W) + b
            else:
                values = affine_forward(values, W, b)
            if layer < len(weights) - 1:
                _activate_inplace(values, activation)
        logits[start : start + chunk_rows] = values
    return logits


def predict_proba(
    X: FloatArray, weights: Sequence[FloatArray], biases: Sequence[FloatArray], activation: str
) -> FloatArray:
    """Class probabilities (N, K), rows summing to 1."""
    return softmax(forward_logits(X, weights, biases, activation), axis=1)
