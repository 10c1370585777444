"""The transport cost of the Word Mover's Distance: SciPy's linear program and POT's network
simplex give the same exact value; checked by hand and against the assignment problem."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from nnbasics.word2vec import transport
from nnbasics.word2vec.transport import transport_cost, transport_cost_scipy


def problem(seed, n1, n2):
    rng = np.random.default_rng(seed)
    mass1, mass2 = rng.random(n1), rng.random(n2)
    mass1, mass2 = mass1 / mass1.sum(), mass2 / mass2.sum()
    return mass1, mass2, rng.random((n1, n2)) * 3


def test_by_hand():
    # move 0.5 from the first point to the second at cost 2, the rest stays at cost 0
    cost = np.array([[0.0, 2.0], [2.0, 0.0]])
    assert transport_cost_scipy([1.0, 0.0], [0.5, 0.5], cost) == pytest.approx(1.0)
    assert transport_cost_scipy([0.5, 0.5], [0.5, 0.5], cost) == pytest.approx(0.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 12))
def test_equal_uniform_masses_cost_the_best_assignment(seed, n):
    _, _, cost = problem(seed, n, n)
    rows, cols = linear_sum_assignment(cost)  # Birkhoff: an optimal plan is a permutation
    uniform = np.full(n, 1.0 / n)
    assert transport_cost_scipy(uniform, uniform, cost) == pytest.approx(
        cost[rows, cols].sum() / n, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 15), st.integers(1, 15))
def test_pot_and_scipy_agree(seed, n1, n2):
    pytest.importorskip("ot")
    mass1, mass2, cost = problem(seed, n1, n2)
    assert transport.transport_cost_pot(mass1, mass2, cost) == pytest.approx(
        transport_cost_scipy(mass1, mass2, cost), rel=1e-9, abs=1e-12)


def test_transport_cost_uses_scipy_without_pot(monkeypatch):
    mass1, mass2, cost = problem(1, 4, 6)
    monkeypatch.setattr(transport.importlib.util, "find_spec",
                        lambda name: None if name == "ot" else pytest.fail(name))
    monkeypatch.setattr(transport, "transport_cost_pot", lambda *a: pytest.fail("POT used"))
    assert transport_cost(mass1, mass2, cost) == transport_cost_scipy(mass1, mass2, cost)


@pytest.mark.parametrize("mass1, mass2, cost, message", [
    ([0.5, 0.5], [1.0], np.zeros((2, 2)), "costs"),
    ([1.5, -0.5], [1.0], np.zeros((2, 1)), ">= 0"),
    ([0.5, 0.5], [2.0], np.zeros((2, 1)), "totals differ"),
])
def test_bad_problems_are_refused(mass1, mass2, cost, message):
    with pytest.raises(ValueError, match=message):
        transport_cost(mass1, mass2, cost)
