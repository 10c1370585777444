r"""Pearson and Spearman correlation with their two-sided p-values, in NumPy (no SciPy at run time).

``evaluate_word_pairs`` reports both, as gensim does with ``scipy.stats``; the results here have
the same values (tested against SciPy) and the same shape: a pair ``(statistic, pvalue)`` that
unpacks and indexes like SciPy's ``PearsonRResult`` / ``SignificanceResult``.

Both p-values come from the same law.  Under the null hypothesis (independent normal samples) the
statistic :math:`t = r\sqrt{\nu/(1-r^2)}`, :math:`\nu = n - 2`, has Student's t distribution with
:math:`\nu` degrees of freedom, so the two-sided p-value is

``p = I(1 - r**2; ν/2, 1/2)``

with :math:`I(x; a, b)` the regularised incomplete beta function (since
:math:`\nu/(\nu + t^2) = 1 - r^2`).  SciPy uses it for Pearson's r (as the exact beta law of r)
and for Spearman's rho (as the t approximation).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CorrelationResult", "pearson", "rank_average", "regularized_incomplete_beta",
           "spearman"]


class CorrelationResult(NamedTuple):
    """A correlation coefficient and its two-sided p-value; unpacks as ``r, p``."""

    statistic: float
    pvalue: float

    @property
    def correlation(self) -> float:
        """Alias of ``statistic`` (the older SciPy name)."""
        return self.statistic


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    r"""``I(x; a, b) = B(x; a, b) / B(a, b)`` for ``0 <= x <= 1``, ``a, b > 0``.

    Evaluated by the continued fraction of Numerical Recipes (``betacf``, modified Lentz), on the
    side of the symmetry :math:`I(x; a, b) = 1 - I(1 - x; b, a)` where it converges fast;
    relative accuracy about 1e-14.
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1.0 - x, b, a) / b


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for x={x}, a={a}, b={b}")


def _paired(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError("x and y must have length at least 2")
    return x, y


def _coefficient(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Pearson's r of two float64 vectors, rounded as SciPy's ``pearsonr``; NaN if one is constant.

    ``r = unit(x') · unit(y')`` with ``x' = (x - mean x) / max|x - mean x|`` (scaled first, so that
    squaring cannot overflow or underflow), clipped to [-1, 1].
    """
    xm, ym = x - x.mean(), y - y.mean()
    xmax, ymax = np.max(np.abs(xm)), np.max(np.abs(ym))
    if xmax == 0 or ymax == 0:
        return math.nan
    xm, ym = xm / xmax, ym / ymax
    r = np.dot(xm / np.linalg.norm(xm), ym / np.linalg.norm(ym))
    return float(np.clip(r, -1.0, 1.0))


def _rank_coefficient(rx: NDArray[np.float64], ry: NDArray[np.float64]) -> float:
    """Pearson's r of two rank vectors, as ``numpy.corrcoef`` (SciPy's ``spearmanr``) rounds it.

    ``r = cov(x, y) / sqrt(var x · var y)``: exact (±1.0) for identical or reversed rankings.
    """
    xm, ym = rx - rx.mean(), ry - ry.mean()
    var_x, var_y = np.dot(xm, xm), np.dot(ym, ym)
    if var_x == 0 or var_y == 0:
        return math.nan
    return float(np.clip(np.dot(xm, ym) / np.sqrt(var_x * var_y), -1.0, 1.0))


def _two_sided_pvalue(r: float, n: int) -> float:
    if math.isnan(r):
        return math.nan
    return regularized_incomplete_beta(1.0 - r * r, (n - 2) / 2.0, 0.5)


def pearson(x: ArrayLike, y: ArrayLike) -> CorrelationResult:
    """Pearson's correlation ``r = unit(x - mean x) · unit(y - mean y)`` and its p-value.

    As SciPy's ``pearsonr``: NaN for a constant input, p-value 1 for two points.
    """
    x, y = _paired(x, y)
    r = _coefficient(x, y)
    if x.size == 2 and not math.isnan(r):  # two points lie on a line: r is exactly ±1
        return CorrelationResult(float(np.sign(x[1] - x[0]) * np.sign(y[1] - y[0])), 1.0)
    return CorrelationResult(r, _two_sided_pvalue(r, x.size))


def rank_average(x: ArrayLike) -> NDArray[np.float64]:
    """Ranks 1..n of ``x``, tied values sharing the average of their ranks (SciPy's default)."""
    x = np.asarray(x).reshape(-1)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])  # first of each tie group
    ends = np.r_[starts[1:], x.size]  # exclusive
    average = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def spearman(x: ArrayLike, y: ArrayLike) -> CorrelationResult:
    """Spearman's rho (Pearson's r of the average ranks) and its t-approximation p-value.

    As SciPy's ``spearmanr``: NaN for a constant input, p-value NaN for two points.
    """
    x, y = _paired(x, y)
    rho = _rank_coefficient(rank_average(x), rank_average(y))
    if x.size == 2:
        return CorrelationResult(rho, math.nan)
    return CorrelationResult(rho, _two_sided_pvalue(rho, x.size))
