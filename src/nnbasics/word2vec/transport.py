r"""The optimal transport cost behind the Word Mover's Distance
(:meth:`~nnbasics.word2vec.keyedvectors.KeyedVectors.wmdistance`).

Given masses :math:`a \in \mathbb{R}^{n_1}_{\ge 0}` and :math:`b \in \mathbb{R}^{n_2}_{\ge 0}`
of equal total and costs :math:`C \in \mathbb{R}^{n_1 \times n_2}`, the transport cost is the
value of the linear program

.. math:: \min_{T \ge 0} \sum_{ij} C_{ij} T_{ij} \quad \text{s.t.} \quad
   \sum_j T_{ij} = a_i, \ \sum_i T_{ij} = b_j .

:func:`transport_cost_scipy` states it as that linear program for SciPy's HiGHS solver;
:func:`transport_cost` uses POT's network simplex (``ot.emd2``, what gensim calls) when POT is
installed (``pip install 'nnbasics[wmd]'``), and SciPy otherwise, which makes ``wmdistance``
7-32x slower on documents of 20-300 words (``benchmarks/wmd_speed.py``).  Both are exact:
they agree to rounding (``tests/word2vec/test_transport.py``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
from numpy.typing import NDArray

__all__ = ["transport_cost", "transport_cost_pot", "transport_cost_scipy"]


def _check(mass1: NDArray, mass2: NDArray, cost: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    mass1, mass2 = (np.asarray(m, dtype=np.float64) for m in (mass1, mass2))
    cost = np.asarray(cost, dtype=np.float64)
    if mass1.ndim != 1 or mass2.ndim != 1 or cost.shape != (mass1.size, mass2.size):
        raise ValueError(f"need masses (n1,), (n2,) and costs (n1, n2), got {mass1.shape}, "
                         f"{mass2.shape} and {cost.shape}")
    if np.any(mass1 < 0) or np.any(mass2 < 0):
        raise ValueError("masses must be >= 0")
    if not np.isclose(mass1.sum(), mass2.sum(), rtol=1e-9, atol=1e-12):
        raise ValueError(f"the masses' totals differ: {mass1.sum()} and {mass2.sum()}")
    return mass1, mass2, cost


def transport_cost_scipy(mass1: NDArray, mass2: NDArray, cost: NDArray) -> float:
    """The transport cost by SciPy's HiGHS (``scipy.optimize.linprog``).

    Parameters
    ----------
    mass1 : array_like, shape (n1,)
    mass2 : array_like, shape (n2,), the same total as ``mass1``
    cost : array_like, shape (n1, n2)

    Returns
    -------
    float
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    mass1, mass2, cost = _check(mass1, mass2, cost)
    n1, n2 = cost.shape
    # T flattened row-major: row i's sum takes T[i, :], column j's sum takes T[:, j]
    cells = np.arange(n1 * n2)
    rows = coo_array((np.ones(n1 * n2), (cells // n2, cells)), shape=(n1, n1 * n2))
    cols = coo_array((np.ones(n1 * n2), (cells % n2, cells)), shape=(n2, n1 * n2))
    result = linprog(cost.ravel(), A_eq=vstack([rows, cols]).tocsr(),
                     b_eq=np.concatenate([mass1, mass2]), bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"the transport problem was not solved ({result.message})")
    return float(result.fun)


def transport_cost_pot(mass1: NDArray, mass2: NDArray, cost: NDArray) -> float:
    """The transport cost by POT's network simplex (``ot.emd2``); ImportError without POT.

    Parameters and result as :func:`transport_cost_scipy`.
    """
    import ot

    mass1, mass2, cost = _check(mass1, mass2, cost)
    # emd2 wants equal totals to its own tolerance: rescale the second onto the first
    mass2 = mass2 * (mass1.sum() / mass2.sum())
    return float(ot.emd2(mass1, mass2, cost))


def transport_cost(mass1: NDArray, mass2: NDArray, cost: NDArray) -> float:
    """The transport cost (module docstring): by POT when it is installed, else by SciPy.

    Parameters and result as :func:`transport_cost_scipy`.
    """
    if importlib.util.find_spec("ot") is not None:
        return transport_cost_pot(mass1, mass2, cost)
    return transport_cost_scipy(mass1, mass2, cost)
