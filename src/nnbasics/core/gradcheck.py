r"""Numerical gradient checking by centred differences.

A function under test maps an array ``x`` to ``(cost, grad)``: a scalar and an array shaped like
``x``.  :func:`gradcheck` compares ``grad`` with centred differences

.. math::  g_i^{num} = \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon},

whose error is :math:`O(\varepsilon^2)` (the one-sided difference's is :math:`O(\varepsilon)`).
Every evaluation runs in float64 on a private copy of ``x``, so ``x`` itself is never touched,
even when ``f`` raises.

Relative error (the definition used everywhere in nnbasics, as in CS224n's ``gradcheck_naive``):

.. math::

    \mathrm{err}_i = \frac{|g_i^{an} - g_i^{num}|}{\max(\mathrm{floor}, |g_i^{an}|, |g_i^{num}|)}

with ``floor = 1`` by default: a relative error for large gradients, an absolute one for
gradients below 1 in magnitude (where a pure ratio would amplify rounding noise near 0).  A check
passes when every :math:`\mathrm{err}_i \le` ``tol`` (default ``1e-5``).

Stochastic functions (negative sampling draws its negatives at random) are checked by restoring the
state of Python's :mod:`random` and of NumPy's global generator before *every* evaluation of ``f``,
so every evaluation draws the same samples, and once more on return, so a check leaves both as it
found them.  ``random_states="cs224n"`` reproduces CS224n's ``gradcheck_naive`` instead (Python's
:mod:`random` restored before each evaluation and left as the last one left it; NumPy's global
generator untouched), for a harness whose later output depends on that (see
``docs/gradient-checking.md``).  Functions that draw from their own ``np.random.Generator`` must
re-seed it themselves inside ``f``.

Given ``blocks = [(name, shape), ...]`` partitioning a flat ``x`` (for the one-hidden-layer network:
:func:`nnbasics.core.network.parameter_blocks`), a result names a flat index by its block,
``W1[3, 2]`` rather than ``(13,)``, and counts the failures per block.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["GradCheckResult", "GradientCheckError", "assert_gradcheck", "gradcheck"]

CostAndGrad = Callable[[NDArray[np.float64]], tuple[float, ArrayLike]]


class GradientCheckError(AssertionError):
    """Raised by :func:`assert_gradcheck` when analytic and numeric gradients disagree."""

    def __init__(self, result: GradCheckResult, name: str | None = None):
        self.result = result
        prefix = f"{name}: " if name else ""
        super().__init__(prefix + result.describe())


Blocks = Sequence[tuple[str, tuple[int, ...]]]


@dataclass(frozen=True)
class GradCheckResult:
    """Outcome of a gradient check.

    Attributes
    ----------
    passed : bool
        Whether every checked coordinate (or direction) had relative error <= ``tol``.
    max_rel_error : float
        Largest relative error found (definition in the module docstring).
    worst_index : tuple of int
        Where it was found: an index into ``x`` (mode "full"), or ``(k,)`` for the k-th random
        direction (mode "directions").
    analytic, numeric : float
        The analytic and numeric derivative at ``worst_index``.
    n_checked : int
        Coordinates (or directions) checked.
    n_evaluations : int
        Calls of ``f`` made.
    tol, eps, floor : float
        The settings used.
    mode : {"full", "directions"}
    n_failed : int
        Coordinates (or directions) whose relative error exceeds ``tol``.
    worst_name : str
        ``worst_index`` named by its block when ``blocks`` were given (``"W1[3, 2]"``), else the
        index itself (``"(1, 3)"``; ``"direction 4"`` in mode "directions").
    failed_by_block : dict of str to int
        With ``blocks`` in mode "full": the number of failing coordinates in each block that has
        any (``{"W1": 6, "b1": 1}``); otherwise empty.
    numeric_gradient : ndarray or None
        Mode "full": the centred-difference gradient, shaped like ``x``.  None in "directions".
    analytic_gradient : ndarray
        The gradient ``f`` returned at ``x``, as float64, shaped like ``x``.
    """

    passed: bool
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    n_checked: int
    n_evaluations: int
    tol: float
    eps: float
    floor: float
    mode: str
    n_failed: int = 0
    worst_name: str = ""
    failed_by_block: dict[str, int] = field(default_factory=dict)
    numeric_gradient: NDArray[np.float64] | None = field(default=None, repr=False, compare=False)
    analytic_gradient: NDArray[np.float64] | None = field(default=None, repr=False,
                                                          compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def describe(self) -> str:
        """One line: verdict, failures, worst coordinate, analytic vs numeric value and error."""
        unit = "directions" if self.mode == "directions" else "coordinates"
        if self.passed:
            verdict = f"gradient check passed ({self.n_checked} {unit} checked)"
        else:
            verdict = (f"gradient check FAILED: {self.n_failed} of {self.n_checked} {unit} over "
                       f"the tolerance")
            if self.failed_by_block:
                verdict += " (" + ", ".join(f"{name}: {n}" for name, n in
                                            self.failed_by_block.items()) + ")"
        return (
            f"{verdict}; worst at {self.worst_name}: analytic {self.analytic:.10g}, numeric "
            f"{self.numeric:.10g}, relative error {self.max_rel_error:.3g} (tolerance {self.tol:g})"
        )


def _check_blocks(blocks: Blocks, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Validate that ``blocks`` partition the ``math.prod(shape)`` entries of the flat ``x``."""
    checked = []
    for entry in blocks:
        try:
            name, block_shape = entry
            block_shape = tuple(int(n) for n in block_shape)
        except (TypeError, ValueError):
            raise ValueError(f"blocks must be (name, shape) pairs, got {entry!r}") from None
        if not isinstance(name, str) or min(block_shape, default=0) < 0:
            raise ValueError(f"blocks must be (name, shape) pairs, got {entry!r}")
        checked.append((name, block_shape))
    total = sum(math.prod(s) for _, s in checked)
    if total != math.prod(shape):
        raise ValueError(f"blocks hold {total} entries in all, but x has {math.prod(shape)}: "
                         "they must partition the flat x")
    return checked


def _name_of(flat: int, blocks: list[tuple[str, tuple[int, ...]]]) -> tuple[str, str]:
    """``(block, "W1[3, 2]")`` for the ``flat``-th entry of the flattened ``x``."""
    for name, shape in blocks:
        size = math.prod(shape)
        if flat < size:
            local = np.unravel_index(flat, shape) if shape else ()
            return name, f"{name}[{', '.join(str(int(i)) for i in local)}]" if shape else name
        flat -= size
    raise IndexError(flat)  # pragma: no cover - _check_blocks makes the blocks cover x


def relative_error(analytic: ArrayLike, numeric: ArrayLike, floor: float = 1.0) -> NDArray:
    r"""Elementwise :math:`|a - n| / \max(\mathrm{floor}, |a|, |n|)`, the error gradcheck uses."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(a - n) / denom
    return np.where(np.isnan(err), np.inf, err)  # NaN in either is a failure, never a pass


class _Evaluator:
    """Calls ``f`` with the global random states restored first, and validates what it returns.

    ``random_states="restore"``: Python's and NumPy's global states; ``"cs224n"``: Python's only.
    """

    def __init__(self, f: CostAndGrad, shape: tuple[int, ...], random_states: str):
        self.f = f
        self.shape = shape
        self.restore_numpy = random_states == "restore"
        self.py_state = random.getstate()
        self.np_state = np.random.get_state()  # noqa: NPY002 (the global generator, by design)
        self.count = 0

    def restore_random_state(self) -> None:
        random.setstate(self.py_state)
        if self.restore_numpy:
            np.random.set_state(self.np_state)  # noqa: NPY002

    def __call__(self, x: NDArray[np.float64], want_grad: bool = False):
        random.setstate(self.py_state)  # as restore_random_state(), one frame fewer per call
        if self.restore_numpy:
            np.random.set_state(self.np_state)  # noqa: NPY002
        self.count += 1
        out = self.f(x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("the function under test must return a (cost, grad) pair")
        cost, grad = out
        cost_arr = np.asarray(cost)
        if cost_arr.size != 1:
            raise ValueError(f"cost must be a scalar, got an array of shape {cost_arr.shape}")
        if not want_grad:
            return float(cost_arr.reshape(()))
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != self.shape:
            raise ValueError(f"gradient has shape {grad.shape}, but x has shape {self.shape}")
        return float(cost_arr.reshape(())), grad.copy()


def gradcheck(
    f: CostAndGrad,
    x: ArrayLike,
    *,
    eps: float = 1e-6,
    tol: float = 1e-5,
    floor: float = 1.0,
    mode: Literal["full", "directions"] = "full",
    n_directions: int = 10,
    seed: int | None = 0,
    blocks: Blocks | None = None,
    random_states: Literal["restore", "cs224n"] = "restore",
) -> GradCheckResult:
    r"""Compare the analytic gradient of ``f`` at ``x`` with centred finite differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> (cost, grad)``, ``cost`` a scalar and ``grad`` an array shaped like ``x``.  It
        receives a float64 array and must not modify it.
    x : array_like, any shape
        The point at which to check.  Never modified (``f`` sees a private float64 copy).
    eps : float, default 1e-6
        Step :math:`\varepsilon`.  In float64 the truncation error of the centred difference is
        :math:`O(\varepsilon^2)` and the rounding error :math:`O(u/\varepsilon)`
        (:math:`u \approx 10^{-16}`); 1e-6 keeps both near 1e-10 for costs of order 1.
    tol : float, default 1e-5
        Largest relative error accepted.
    floor : float, default 1.0
        Lower bound of the denominator of the relative error (see the module docstring).
    mode : {"full", "directions"}, default "full"
        "full" checks every coordinate: ``2 * x.size + 1`` evaluations.  "directions" checks
        ``n_directions`` random unit directions :math:`v` by comparing
        :math:`(f(x+\varepsilon v) - f(x-\varepsilon v))/2\varepsilon` with
        :math:`\nabla f \cdot v`: ``2 * n_directions + 1`` evaluations, for large parameter vectors.
    n_directions : int, default 10
        Directions drawn in "directions" mode.
    seed : int or None, default 0
        Seed of the private generator that draws the directions (the global generators are not
        used, so the check does not disturb them).
    blocks : sequence of (str, tuple of int), optional
        Names and shapes that partition the flattened ``x`` in order, e.g.
        ``[("W1", (10, 5)), ("b1", (5,)), ("W2", (5, 10)), ("b2", (10,))]``
        (:func:`nnbasics.core.network.parameter_blocks`).  The result then names the worst
        coordinate ``W1[3, 2]`` and counts the failures per block.
    random_states : {"restore", "cs224n"}, default "restore"
        "restore": before every evaluation of ``f`` (the analytic one included) the states of
        :mod:`random` and of ``np.random``'s global generator are restored to what they were when
        :func:`gradcheck` was called, and once more on return, so the check leaves them as it
        found them.  "cs224n": as CS224n's ``gradcheck_naive``, only :mod:`random` is restored
        before each evaluation, and it is left as the last evaluation left it (advanced);
        ``np.random`` is not touched.

    Returns
    -------
    GradCheckResult
        ``passed``; ``n_failed`` coordinates over the tolerance; ``max_rel_error`` at
        ``worst_index`` (``worst_name``), with ``analytic`` and ``numeric`` there; the whole
        ``numeric_gradient`` (mode "full") and ``analytic_gradient``; the counts.  It is truthy
        when the check passed.

    Raises
    ------
    ValueError
        An empty or non-finite ``x``, a bad setting, ``blocks`` that do not partition ``x``, or an
        ``f`` that returns a gradient of the wrong shape or modifies its input.

    Examples
    --------
    >>> import numpy as np
    >>> res = gradcheck(lambda x: (float(np.sum(x ** 2)), 2 * x), np.arange(6.0).reshape(2, 3))
    >>> res.passed, res.n_checked
    (True, 6)
    >>> wrong = gradcheck(lambda x: (float(np.sum(x ** 2)), 2 * x + (x > 4)), np.arange(6.0),
    ...                   blocks=[("W", (2, 2)), ("b", (2,))])
    >>> wrong.n_failed, wrong.worst_name, wrong.failed_by_block
    (1, 'b[1]', {'b': 1})
    """
    if mode not in ("full", "directions"):
        raise ValueError(f"mode must be 'full' or 'directions', got {mode!r}")
    if random_states not in ("restore", "cs224n"):
        raise ValueError(f"random_states must be 'restore' or 'cs224n', got {random_states!r}")
    if not (eps > 0 and np.isfinite(eps)):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    x0 = np.array(x, dtype=np.float64)  # private copy; the caller's array is never touched
    if x0.size == 0:
        raise ValueError("x is empty: nothing to check")
    if not np.all(np.isfinite(x0)):
        raise ValueError("x contains NaN or infinity")
    named_blocks = None if blocks is None else _check_blocks(blocks, x0.shape)
    work = x0.copy()
    evaluate = _Evaluator(f, x0.shape, random_states)
    numeric = None
    try:
        _, grad = evaluate(work, want_grad=True)
        if mode == "full":
            numeric = np.empty_like(x0)
            for idx in np.ndindex(x0.shape):
                work[idx] = x0[idx] + eps
                plus = evaluate(work)
                work[idx] = x0[idx] - eps
                minus = evaluate(work)
                work[idx] = x0[idx]
                numeric[idx] = (plus - minus) / (2 * eps)
            _check_not_mutated(work, x0)
            err = relative_error(grad, numeric, floor)
            flat = int(np.argmax(err))
            worst = tuple(map(int, np.unravel_index(flat, x0.shape)))
            analytic_at, numeric_at = float(grad[worst]), float(numeric[worst])
            n_checked = x0.size
        else:
            if n_directions < 1:
                raise ValueError(f"n_directions must be >= 1, got {n_directions}")
            rng = np.random.default_rng(seed)
            analytic_d = np.empty(n_directions)
            numeric_d = np.empty(n_directions)
            for k in range(n_directions):
                v = rng.standard_normal(x0.shape)
                v /= np.linalg.norm(v)
                np.add(x0, eps * v, out=work)
                plus = evaluate(work)
                np.subtract(x0, eps * v, out=work)
                minus = evaluate(work)
                numeric_d[k] = (plus - minus) / (2 * eps)
                analytic_d[k] = float(np.sum(grad * v))
            work[...] = x0
            err = relative_error(analytic_d, numeric_d, floor)
            k_worst = int(np.argmax(err))
            worst = (k_worst,)
            analytic_at, numeric_at = float(analytic_d[k_worst]), float(numeric_d[k_worst])
            n_checked = n_directions
    finally:
        if random_states == "restore":
            evaluate.restore_random_state()
    max_err = float(err.max())
    failed = err > tol
    failed_by_block: dict[str, int] = {}
    if mode == "directions":
        worst_name = f"direction {worst[0]}"
    elif named_blocks is None:
        worst_name = str(worst)
    else:
        worst_name = _name_of(int(np.ravel_multi_index(worst, x0.shape)) if worst else 0,
                              named_blocks)[1]
        for flat in np.flatnonzero(failed):
            block = _name_of(int(flat), named_blocks)[0]
            failed_by_block[block] = failed_by_block.get(block, 0) + 1
    return GradCheckResult(
        passed=bool(max_err <= tol),
        max_rel_error=max_err,
        worst_index=worst,
        analytic=analytic_at,
        numeric=numeric_at,
        n_checked=n_checked,
        n_evaluations=evaluate.count,
        tol=tol,
        eps=eps,
        floor=floor,
        mode=mode,
        n_failed=int(np.count_nonzero(failed)),
        worst_name=worst_name,
        failed_by_block=failed_by_block,
        numeric_gradient=numeric,
        analytic_gradient=grad,
    )


def _check_not_mutated(work: NDArray, x0: NDArray) -> None:
    if not np.array_equal(work, x0):
        raise ValueError("the function under test modified its input array; it must not")


def assert_gradcheck(
    f: CostAndGrad, x: ArrayLike, *, name: str | None = None, **kwargs
) -> GradCheckResult:
    """Run :func:`gradcheck` and raise :class:`GradientCheckError` if it fails.

    The error message names the worst index, the analytic and numeric values there and the relative
    error.  Keyword arguments are those of :func:`gradcheck`; ``name`` prefixes the message.
    Returns the (passing) result.
    """
    result = gradcheck(f, x, **kwargs)
    if not result.passed:
        raise GradientCheckError(result, name)
    return result
