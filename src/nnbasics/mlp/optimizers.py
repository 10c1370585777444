r"""Optimisers: SGD with momentum and a step-decay schedule, and Adam.

They know nothing about the model: :meth:`step` takes a list of parameter arrays and the list of
their gradients (same shapes, same order) and updates the parameters **in place**.  The gradients
are only read and a step allocates nothing.  Each optimiser has two implementations of the same
arithmetic: :meth:`reference_step`, readable NumPy (one ufunc per term, into scratch buffers),
and :meth:`step`, which makes one fused pass per parameter
(:mod:`nnbasics._accel.optimizer_kernels`) for contiguous arrays; the tests check that both give
the same bits.

A caller that can apply a plain step ``p <- p - lr * g`` more cheaply itself (the training loop
folds it into the product that computes ``g``) asks :meth:`plain_step_rate`: the rate of the
next step if the optimiser's step is exactly that, else ``None``; it then reports the step it
applied with :meth:`count_step`.

The learning rate of step ``t`` (counted from 0) follows the step-decay schedule of the assignment
("anneal the learning rate every N iterations"):

.. math::  \eta_t = \eta_0 \cdot \gamma^{\lfloor t / N \rfloor}

with ``decay_every = N`` (``None``: constant rate) and ``decay_factor = γ``.

SGD also has scikit-learn's schedules (``schedule``), which move the base rate :math:`\eta_0`
only between epochs, through two calls the training loop makes (the loop knows epochs; the
optimiser knows only what it is told):

* ``"constant"``: :math:`\eta_0` stays ``learning_rate``;
* ``"invscaling"``: after an epoch, :meth:`SGD.epoch_ends` sets
  :math:`\eta_0 = \text{learning\_rate} / (t + 1)^{\text{power\_t}}`, ``t`` the rows seen so far;
* ``"adaptive"``: when the stopping rule would stop, :meth:`SGD.trigger_stopping` divides
  :math:`\eta_0` by 5 and training goes on, until :math:`\eta_0 \le 10^{-6}`.

Within an epoch the rate is constant, so a plain step stays plain (:meth:`plain_step_rate`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnbasics._accel import optimizer_kernels as kernels
from nnbasics.core.activations import FloatArray

__all__ = ["SGD", "Adam", "make_optimizer"]


class _Optimizer:
    """Shared bookkeeping: step count, learning-rate schedule, state for checkpoints."""

    #: names of the per-parameter state arrays, e.g. ("velocity",)
    slots: tuple[str, ...] = ()

    def __init__(self, params: Sequence[FloatArray], learning_rate: float,
                 decay_every: int | None, decay_factor: float):
        if not (learning_rate > 0 and np.isfinite(learning_rate)):
            raise ValueError(f"learning rate must be a positive number, got {learning_rate!r}")
        if decay_every is not None and (int(decay_every) != decay_every or decay_every < 1):
            raise ValueError(f"decay_every must be a positive integer or None, got {decay_every!r}")
        if not (0 < decay_factor <= 1):
            raise ValueError(f"decay_factor must be in (0, 1], got {decay_factor!r}")
        self.learning_rate_init = float(learning_rate)
        self._moved_rate: float | None = None  # eta_0 once a schedule moved it
        self.rows_seen = 0  # rows of the epochs that ended (epoch_ends)
        self.decay_every = None if decay_every is None else int(decay_every)
        self.decay_factor = float(decay_factor)
        self.n_steps = 0
        self.state = {slot: [np.zeros_like(p) for p in params] for slot in self.slots}
        self._scratch = [np.empty_like(p) for p in params]

    @property
    def base_rate(self) -> float:
        """:math:`\\eta_0`: ``learning_rate_init`` until a schedule moves it."""
        return self.learning_rate_init if self._moved_rate is None else self._moved_rate

    @base_rate.setter
    def base_rate(self, rate: float) -> None:
        self._moved_rate = float(rate)

    @property
    def learning_rate(self) -> float:
        """:math:`\\eta_t` for the next step (see the module docstring)."""
        return self.learning_rate_at(self.n_steps)

    def learning_rate_at(self, step: int) -> float:
        """:math:`\\eta_t` of step ``t = step`` (counted from 0), whatever the current step."""
        if self.decay_every is None:
            return self.base_rate
        return self.base_rate * self.decay_factor ** (step // self.decay_every)

    def epoch_ends(self, n_rows: int) -> None:
        """The loop finished an epoch of ``n_rows`` rows: counted (a schedule may move)."""
        self.rows_seen += int(n_rows)

    def schedule_state(self) -> dict[str, float | None]:
        """The schedule's scalars, for checkpoints: the base rate and the rows seen."""
        return {"moved_rate": self._moved_rate, "rows_seen": self.rows_seen}

    def load_schedule_state(self, saved: dict[str, float | None] | None) -> None:
        """Restore :meth:`schedule_state` (``None``, from an older checkpoint: unchanged)."""
        if saved is not None:
            moved = saved["moved_rate"]
            self._moved_rate = None if moved is None else float(moved)
            self.rows_seen = int(saved["rows_seen"])

    def trigger_stopping(self) -> bool:
        """The stopping rule says stop: whether to (True here; SGD's "adaptive" schedule
        lowers its rate instead, module docstring)."""
        return True

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        """Update every array of ``params`` in place from ``grads`` (read only)."""
        raise NotImplementedError

    def reference_step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        """:meth:`step` in readable NumPy, one ufunc per term (same arithmetic, same bits)."""
        raise NotImplementedError

    def plain_step_rate(self) -> float | None:
        """``lr_t`` if the next step is ``p <- p - lr_t * g`` for every parameter and keeps no
        state beyond the step count, else ``None`` (the default).

        A caller that applies such a step itself, instead of calling :meth:`step`, reports it
        with :meth:`count_step`.
        """
        return None

    def count_step(self) -> None:
        """Count a step the caller applied itself at the rate :meth:`plain_step_rate` gave: the
        schedule and the checkpointed step count advance as with :meth:`step`.  ValueError when
        the optimiser's step is not plain (its state would be skipped)."""
        if self.plain_step_rate() is None:
            raise ValueError(f"{type(self).__name__} keeps state between steps: call step()")
        self.n_steps += 1

    # -- checkpointing: arrays and scalars, kept apart for the .npz + JSON format --------------

    def state_arrays(self) -> dict[str, FloatArray]:
        """Per-parameter state as ``{"<slot>_<i>": array}``."""
        return {
            f"{slot}_{i}": a for slot, arrays in self.state.items() for i, a in enumerate(arrays)
        }

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` returned (shapes must match); copies into place."""
        for slot, own in self.state.items():
            for i, a in enumerate(own):
                saved = arrays[f"{slot}_{i}"]
                if saved.shape != a.shape:
                    raise ValueError(
                        f"optimiser state {slot}_{i} has shape {saved.shape}, expected {a.shape}"
                    )
                a[...] = saved


class SGD(_Optimizer):
    r"""Stochastic gradient descent with (heavy-ball or Nesterov's) momentum.

    ``v <- momentum * v - lr_t * g;  p <- p + v``  (``momentum = 0``: ``p <- p - lr_t * g``);
    with ``nesterov``, ``p <- p + momentum * v - lr_t * g`` (scikit-learn's form).

    Parameters
    ----------
    params : list of ndarray
        The parameters (only their shapes and dtypes are used here).
    learning_rate : float, default 0.01
        :math:`\eta_0`.
    momentum : float in [0, 1), default 0
    decay_every : int or None, default None
        Steps between two decays of the learning rate (module docstring).
    decay_factor : float in (0, 1], default 0.1
    nesterov : bool, default False
    schedule : {"constant", "invscaling", "adaptive"}, default "constant"
        scikit-learn's schedules of the base rate (module docstring).
    power_t : float, default 0.5
        Exponent of "invscaling".
    """

    def __init__(self, params: Sequence[FloatArray], learning_rate: float = 0.01,
                 momentum: float = 0.0, decay_every: int | None = None, decay_factor: float = 0.1,
                 nesterov: bool = False, schedule: str = "constant", power_t: float = 0.5):
        if not (0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if schedule not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"learning_rate schedule must be 'constant', 'invscaling' or "
                             f"'adaptive', got {schedule!r}")
        if not np.isfinite(power_t):
            raise ValueError(f"power_t must be a finite number, got {power_t!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.schedule, self.power_t = schedule, float(power_t)
        self.slots = ("velocity",) if momentum else ()
        super().__init__(params, learning_rate, decay_every, decay_factor)

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        if not _all_contiguous(params, grads):
            return self.reference_step(params, grads)
        lr = self.learning_rate
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if self.momentum and self.nesterov:
                kernels.nesterov_update(p, self.state["velocity"][i], g, self.momentum, lr)
            elif self.momentum:
                kernels.momentum_update(p, self.state["velocity"][i], g, self.momentum, lr)
            else:
                kernels.sgd_update(p, g, lr)
        self.n_steps += 1

    def plain_step_rate(self) -> float | None:
        return None if self.momentum else self.learning_rate

    def epoch_ends(self, n_rows: int) -> None:
        super().epoch_ends(n_rows)
        if self.schedule == "invscaling":
            self.base_rate = self.learning_rate_init / (self.rows_seen + 1) ** self.power_t

    def trigger_stopping(self) -> bool:
        if self.schedule != "adaptive" or self.base_rate <= 1e-6:
            return True
        self.base_rate /= 5.0
        return False

    def reference_step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        lr = self.learning_rate
        for i, (p, g, scaled) in enumerate(zip(params, grads, self._scratch, strict=True)):
            np.multiply(g, lr, out=scaled)  # lr * g
            if self.momentum:
                v = self.state["velocity"][i]
                v *= self.momentum
                v -= scaled  # v = momentum v - lr g
                if self.nesterov:  # p += momentum v - lr g
                    p -= scaled
                    np.multiply(v, self.momentum, out=scaled)
                p += scaled if self.nesterov else v
            else:
                p -= scaled
        self.n_steps += 1


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba, 2015), in the bias-corrected-step form scikit-learn uses.

    ``m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    p <- p - lr_t * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``

    Parameters
    ----------
    params : list of ndarray
    learning_rate : float, default 0.001
    beta_1, beta_2 : float in [0, 1), defaults 0.9 and 0.999
    epsilon : float, default 1e-8
    decay_every, decay_factor : the step-decay schedule (module docstring)

    Notes
    -----
    :math:`m` and :math:`v` are running means of the gradient and of its square; dividing by
    :math:`\sqrt v` gives every coordinate a step of about :math:`\eta`, whatever its gradient's
    scale.  Both start at 0, which biases them towards 0 early on; the factors
    :math:`1/(1-\beta^t)` undo that.
    """

    slots = ("m", "v")

    def __init__(self, params: Sequence[FloatArray], learning_rate: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 decay_every: int | None = None, decay_factor: float = 0.1):
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not (0 <= beta < 1):
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        if not (epsilon > 0 and np.isfinite(epsilon)):
            raise ValueError(f"epsilon must be a positive number, got {epsilon!r}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        super().__init__(params, learning_rate, decay_every, decay_factor)

    def _step_size(self) -> float:
        """Learning rate of this step with both bias corrections folded in."""
        t = self.n_steps + 1
        return float(self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t))

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        if not _all_contiguous(params, grads):
            return self.reference_step(params, grads)
        step_size = self._step_size()
        for p, g, m, v in zip(params, grads, self.state["m"], self.state["v"], strict=True):
            kernels.adam_update(p, m, v, g, self.beta_1, self.beta_2, step_size, self.epsilon)
        self.n_steps += 1

    def reference_step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        lr = self._step_size()
        b1, b2 = self.beta_1, self.beta_2
        for p, g, m, v, s in zip(params, grads, self.state["m"], self.state["v"], self._scratch,
                                 strict=True):
            m *= b1
            np.multiply(g, 1 - b1, out=s)
            m += s  # m = b1 m + (1 - b1) g
            v *= b2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s  # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=s)
            s += self.epsilon
            np.divide(m, s, out=s)
            s *= lr
            p -= s
        self.n_steps += 1


def _all_contiguous(params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> bool:
    """Whether the fused kernels apply: C-contiguous arrays, gradients of the parameters' dtype."""
    return all(
        p.flags.c_contiguous and g.flags.c_contiguous and p.dtype == g.dtype
        and p.dtype.kind == "f" and p.shape == g.shape
        for p, g in zip(params, grads, strict=True)
    )


def make_optimizer(name: str, params: Sequence[FloatArray], learning_rate: float,
                   momentum: float = 0.0, decay_every: int | None = None,
                   decay_factor: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                   epsilon: float = 1e-8, nesterov: bool = False, schedule: str = "constant",
                   power_t: float = 0.5) -> SGD | Adam:
    """The optimiser called ``name`` ("sgd" or "adam").

    ``momentum``, ``nesterov``, ``schedule`` and ``power_t`` are used by SGD only,
    ``beta_1``, ``beta_2`` and ``epsilon`` by Adam only.
    """
    if name == "sgd":
        return SGD(params, learning_rate, momentum, decay_every, decay_factor, nesterov,
                   schedule, power_t)
    if name == "adam":
        return Adam(params, learning_rate, beta_1, beta_2, epsilon, decay_every=decay_every,
                    decay_factor=decay_factor)
    raise ValueError(f"unknown solver {name!r}; choose 'sgd' or 'adam'")
