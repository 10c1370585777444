r"""Weight initialisations for a dense layer, selected by name through :data:`INITIALIZERS`.

Shape letters: ``D`` inputs of the layer (``fan_in``), ``H`` outputs (``fan_out``).  Every function
takes ``(fan_in, fan_out, rng, dtype)`` and returns a fresh ``(D, H)`` array; biases are always
initialised to zero by the caller.

Why not all zeros?  Every hidden unit of a layer computes the same function of the same input, so
with equal weights the units get equal gradients, stay equal forever, and a layer of ``H`` units
is no better than one unit ("symmetry"): the weights must be *random*.  Why scale the variance by
the layer size?  A unit sums ``fan_in`` products; with weights of variance :math:`v` its input has
variance :math:`\approx \mathrm{fan_{in}}\, v\, \mathrm{Var}(x)`.  A fixed :math:`v` makes that grow
or shrink with the width, and through a deep stack it explodes or vanishes geometrically, and a
saturated sigmoid (or a dead ReLU) has no gradient.  Scaling :math:`v \propto 1/\mathrm{fan}`
keeps the signal's variance about constant from layer to layer, forward and backward.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["INITIALIZERS", "he", "init_weights", "normal", "xavier", "zeros"]

Initializer = Callable[[int, int, np.random.Generator, DTypeLike], NDArray[np.floating]]


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32):
    r"""All-zero weights ``W = 0``: the *counter-example*, kept to show why initialisation matters.

    With :math:`W = 0` every hidden unit outputs the same value and receives the same gradient
    (zero for every layer but the last, since :math:`\delta_l = \delta_{l+1} W_{l+1}^\top = 0`),
    so the hidden layers never learn: the network behaves like a linear model of its biases.
    ``rng`` is unused and there for a uniform signature.
    """
    return np.zeros((fan_in, fan_out), dtype=dtype)


def normal(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32,
           std: float = 0.01):
    r"""Small Gaussian weights ``W ~ N(0, std^2)`` with a fixed ``std = 0.01``.

    Breaks the symmetry, but the variance ignores the layer size: a unit's input has variance
    :math:`\mathrm{fan_{in}}\,\sigma^2\,\mathrm{Var}(x)`, which shrinks layer after layer for
    narrow layers (vanishing signal and gradients) and grows for very wide ones.
    """
    return rng.normal(0.0, std, (fan_in, fan_out)).astype(dtype)


def xavier(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32):
    r"""Glorot/Xavier uniform: ``W ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.

    Notes
    -----
    :math:`\mathrm{Var}(U(-a, a)) = a^2/3 = 2/(\mathrm{fan_{in}} + \mathrm{fan_{out}})`, the
    compromise between keeping the forward variance constant (:math:`1/\mathrm{fan_{in}}`) and the
    backward one (:math:`1/\mathrm{fan_{out}}`) for activations that are linear near 0 (tanh,
    sigmoid) [Glorot & Bengio, 2010].  The assignment's default.
    """
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)


def he(fan_in: int, fan_out: int, rng: np.random.Generator, dtype: DTypeLike = np.float32):
    r"""He/Kaiming normal: ``W ~ N(0, 2 / fan_in)``, for ReLU layers.

    Notes
    -----
    A ReLU zeroes half of its inputs, halving the second moment it passes on; doubling the variance
    of Xavier's forward rule, :math:`2/\mathrm{fan_{in}}`, compensates, so the signal keeps its
    scale through deep ReLU stacks [He et al., 2015].
    """
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)).astype(dtype)


#: Initialisers by name.
INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": normal,
    "xavier": xavier,
    "he": he,
}


def init_weights(name: str, fan_in: int, fan_out: int, rng: np.random.Generator,
                 dtype: DTypeLike = np.float32) -> NDArray[np.floating]:
    """Weights (fan_in, fan_out) from the initialiser called ``name``; ValueError if unknown."""
    try:
        initializer = INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown init {name!r}; choose one of {', '.join(INITIALIZERS)}"
        ) from None
    return initializer(int(fan_in), int(fan_out), rng, dtype)
