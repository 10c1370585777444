"""nnbasics: neural networks from first principles, explicit, gradient-checked and fast."""

from nnbasics import _moved
from nnbasics.core.activations import (
    log_softmax,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_backward,
    tanh,
    tanh_grad,
)
from nnbasics.core.gradcheck import GradCheckResult, GradientCheckError, assert_gradcheck, gradcheck
from nnbasics.core.losses import softmax_cross_entropy

__version__ = "0.1.0"

_moved.install()  # nnbasics.network, nnbasics.datasets, ...: the 0.1 paths of moved modules

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
    "softmax_backward",
    "softmax_cross_entropy",
    "tanh",
    "tanh_grad",
]

# word2vec classes, imported on first use so that ``import nnbasics`` stays light.
_LAZY_WORD2VEC = {"Word2Vec", "KeyedVectors"}
__all__ += sorted(_LAZY_WORD2VEC)


# The MLP estimator and its loader, imported on first use (scikit-learn is slow to import).
_LAZY_MLP = {"MLPClassifier", "MLPRegressor", "load_model"}
__all__ += sorted(_LAZY_MLP)


def __getattr__(name: str):
    if name in _LAZY_WORD2VEC:
        from nnbasics import word2vec

        return getattr(word2vec, name)
    if name in _LAZY_MLP:
        from nnbasics.mlp import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'nnbasics' has no attribute {name!r}")
