"""The gradient checks run by ``nnbasics check``: one entry per differentiable piece of the package.

Each entry is a name and a function returning a :class:`~nnbasics.core.gradcheck.GradCheckResult`.
Later modules (the MLP, word2vec) register their own pieces with :func:`register`, so this table
grows with the package.  Every check uses a fixed seed, so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnbasics.core.activations import (
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_backward,
    tanh,
    tanh_grad,
)
from nnbasics.core.gradcheck import GradCheckResult, gradcheck
from nnbasics.core.losses import softmax_cross_entropy
from nnbasics.core.network import (
    forward_backward,
    init_params,
    input_gradient,
    parameter_blocks,
    parameter_count,
)

__all__ = ["CHECKS", "register", "run_checks"]

CheckFn = Callable[[], GradCheckResult]
CHECKS: dict[str, CheckFn] = {}


def register(name: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator adding a check to :data:`CHECKS` under ``name``."""

    def decorate(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return decorate


def _elementwise(forward, grad_from_value):
    """Cost sum(f(x) * g) for a fixed random upstream gradient g: its gradient is g * f'(x)."""
    rng = np.random.default_rng(0)
    upstream = rng.standard_normal((4, 5))

    def f(x):
        value = forward(x)
        return float(np.sum(value * upstream)), upstream * grad_from_value(value)

    return f


@register("sigmoid")
def _check_sigmoid() -> GradCheckResult:
    x = np.random.default_rng(1).normal(0, 3, (4, 5))
    return gradcheck(_elementwise(sigmoid, sigmoid_grad), x)


@register("tanh")
def _check_tanh() -> GradCheckResult:
    x = np.random.default_rng(2).normal(0, 2, (4, 5))
    return gradcheck(_elementwise(tanh, tanh_grad), x)


@register("relu")
def _check_relu() -> GradCheckResult:
    x = np.random.default_rng(3).normal(0, 2, (4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where no derivative exists
    return gradcheck(_elementwise(relu, relu_grad), x)


@register("softmax")
def _check_softmax() -> GradCheckResult:
    x = np.random.default_rng(8).normal(0, 2, (4, 5))
    upstream = np.random.default_rng(0).standard_normal((4, 5))

    def f(z):
        s = softmax(z)
        return float(np.sum(s * upstream)), softmax_backward(upstream, s)

    return gradcheck(f, x)


@register("softmax cross-entropy (int labels)")
def _check_ce_int() -> GradCheckResult:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 6, 8)
    return gradcheck(lambda z: softmax_cross_entropy(z, labels), rng.normal(0, 2, (8, 6)))


@register("softmax cross-entropy (one-hot)")
def _check_ce_onehot() -> GradCheckResult:
    rng = np.random.default_rng(5)
    onehot = np.eye(6)[rng.integers(0, 6, 8)]
    return gradcheck(lambda z: softmax_cross_entropy(z, onehot), rng.normal(0, 2, (8, 6)))


def _network_case(seed: int):
    rng = np.random.default_rng(seed)
    dims = (10, 5, 10)
    X = rng.standard_normal((20, dims[0]))
    labels = rng.integers(0, dims[2], 20)
    return (
        dims,
        X,
        labels,
        init_params(dims, rng) + 0.1 * rng.standard_normal(parameter_count(dims)),
    )


@register("network parameters (10-5-10)")
def _check_network_params() -> GradCheckResult:
    dims, X, labels, params = _network_case(6)
    return gradcheck(lambda p: forward_backward(X, labels, p, dims), params,
                     blocks=parameter_blocks(dims))


@register("network inputs (10-5-10)")
def _check_network_inputs() -> GradCheckResult:
    dims, X, labels, params = _network_case(7)

    def cost_and_input_grad(x):
        cost, _ = forward_backward(x, labels, params, dims)
        return cost, input_gradient(x, labels, params, dims)

    return gradcheck(cost_and_input_grad, X)


def run_checks(names: list[str] | None = None) -> list[tuple[str, GradCheckResult]]:
    """Run the named checks (all by default) and return ``(name, result)`` pairs in table order."""
    _load_plugins()
    chosen = list(CHECKS) if not names else names
    unknown = [n for n in chosen if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    return [(name, CHECKS[name]()) for name in chosen]


# Modules that register further checks when imported (kept lazy so importing nnbasics stays light).
_PLUGINS: list[str] = ["nnbasics.word2vec.gradchecks", "nnbasics.mlp.checks"]


def _load_plugins() -> None:
    import importlib

    for module in _PLUGINS:
        importlib.import_module(module)
