"""nnbasics: neural networks from first principles, explicit, gradient-checked and fast."""

from nnbasics.activations import (
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    tanh,
    tanh_grad,
)
from nnbasics.gradcheck import GradCheckResult, GradientCheckError, assert_gradcheck, gradcheck
from nnbasics.losses import softmax_cross_entropy

__version__ = "0.1.0"

__all__ = [
    "GradCheckResult",
    "GradientCheckError",
    "__version__",
    "assert_gradcheck",
    "gradcheck",
    "log_softmax",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "tanh",
    "tanh_grad",
]
