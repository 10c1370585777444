"""Multi-layer perceptrons: the model's math (``model``), the readable reference training step
(``reference``), optimizers that know nothing of the model (``optimizers``), the training loop and
its checkpoints (``training``), and the scikit-learn estimators (``estimator``).

The fast element-wise kernels the training loop uses live in :mod:`nnbasics._accel`.
"""

from nnbasics.mlp.model import (
    Workspace,
    check_activation,
    forward_logits,
    init_parameters,
    loss_and_gradients,
    loss_and_gradients_reference,
    predict_proba,
)

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "Workspace",
    "check_activation",
    "forward_logits",
    "init_parameters",
    "load_model",
    "loss_and_gradients",
    "loss_and_gradients_reference",
    "predict_proba",
]


def __getattr__(name: str):
    # The estimator imports scikit-learn (slow): only on first use.
    if name in {"MLPClassifier", "MLPRegressor", "load_model"}:
        from nnbasics.mlp import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'nnbasics.mlp' has no attribute {name!r}")
