"""docs/sigmoid.md, checked: sigma' = sigma(1 - sigma), symmetry, tanh, and the 1/4 bound."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.core.activations import sigmoid, sigmoid_grad, tanh, tanh_grad
from nnbasics.core.gradcheck import gradcheck

EPS = np.finfo(np.float64).eps


def elementwise_cost(forward, grad_from_value, upstream):
    """Cost sum(f(x) * g) with a random upstream g; its gradient is g * f'(x), f' from the value."""

    def f(x):
        value = forward(x)
        return float(np.sum(value * upstream)), upstream * grad_from_value(value)

    return f


def test_sigmoid_derivative(rng):
    x = np.concatenate([rng.normal(0, 4, 30), [0.0, -20.0, 20.0, 1e-8]]).reshape(2, 17)
    upstream = rng.standard_normal(x.shape)
    result = gradcheck(elementwise_cost(sigmoid, sigmoid_grad, upstream), x, tol=1e-8)
    assert result.passed, result.describe()
    # sigma'(x) = e^{-x} / (1 + e^{-x})^2 is the same number
    # (in absolute terms: 1 - s loses relative precision when s is near 1, see the page)
    np.testing.assert_allclose(sigmoid_grad(sigmoid(x)), np.exp(-x) / (1 + np.exp(-x)) ** 2,
                               rtol=1e-12, atol=4 * EPS)


def test_sigmoid_grad_takes_the_value_not_the_input(rng):
    # the common mistake: sigmoid_grad(x) instead of sigmoid_grad(sigmoid(x)).
    # (a) an x with entries outside [0, 1] is no value of the sigmoid: refused, and the message
    # names the mistake
    x = rng.normal(0, 2, (3, 4))
    with pytest.raises(ValueError, match=r"did you pass x instead of sigmoid\(x\)"):
        sigmoid_grad(x)
    # (b) an x inside [0, 1] cannot be told from a value; the gradient check catches the mistake
    x = rng.uniform(0, 1, (3, 4))
    upstream = rng.standard_normal(x.shape)

    def wrong(x_):
        return float(np.sum(sigmoid(x_) * upstream)), upstream * sigmoid_grad(x_)

    assert not gradcheck(wrong, x).passed


@given(st.floats(-700, 700, allow_nan=False))
def test_sigmoid_symmetry(x):
    # exact identity, so in floating point it holds to a couple of units of roundoff
    assert sigmoid(-x) + sigmoid(x) == pytest.approx(1.0, rel=0, abs=2 * EPS)
    # and through the derivative: sigma' is even
    assert sigmoid_grad(sigmoid(-x)) == pytest.approx(sigmoid_grad(sigmoid(x)), rel=1e-12,
                                                      abs=2 * EPS)


def test_sigmoid_symmetry_edge_cases():
    x = np.array([-np.inf, -1e308, -745.0, -40.0, 0.0, 40.0, 745.0, 1e308, np.inf])
    # exp(-x) overflows inside for x < -709.78, to the right answer 1 / inf = 0 (section 1): no
    # floating-point error or warning reaches the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            np.testing.assert_allclose(sigmoid(-x), 1 - sigmoid(x), rtol=0, atol=EPS)
    assert sigmoid(0.0) == 0.5
    # why sigmoid(-x) is computed directly and not as 1 - sigmoid(x): for large x the difference
    # cancels to 0, while the direct value 1 / (1 + e^40) keeps full relative precision
    assert 1 - sigmoid(40.0) == 0.0
    assert sigmoid(-40.0) == pytest.approx(np.exp(-40.0) / (1 + np.exp(-40.0)), rel=1e-15, abs=0)


@given(st.floats(-350, 350, allow_nan=False))
def test_tanh_is_rescaled_sigmoid(x):
    assert tanh(x) == pytest.approx(2 * sigmoid(2 * x) - 1, rel=1e-12, abs=1e-15)


def test_tanh_derivative(rng):
    x = np.concatenate([rng.normal(0, 2, 22), [0.0, -10.0]]).reshape(4, 6)
    upstream = rng.standard_normal(x.shape)
    result = gradcheck(elementwise_cost(tanh, tanh_grad, upstream), x, tol=1e-8)
    assert result.passed, result.describe()
    # tanh'(x) = 4 sigma'(2x), the chain rule through tanh(x) = 2 sigma(2x) - 1
    np.testing.assert_allclose(tanh_grad(tanh(x)), 4 * sigmoid_grad(sigmoid(2 * x)),
                               rtol=1e-9, atol=1e-15)


def test_max_of_sigmoid_derivative_is_quarter():
    x = np.linspace(-10, 10, 200_001)  # step 1e-4, includes x = 0 exactly
    d = sigmoid_grad(sigmoid(x))
    assert d.max() == 0.25
    assert x[np.argmax(d)] == 0.0
    assert np.all(d <= 0.25)
    # strictly below 1/4 away from 0: the maximum is attained only there
    assert np.all(d[x != 0] < 0.25)
    # and tanh' peaks at 1: the factor 4 between them
    assert tanh_grad(tanh(x)).max() == 1.0


@given(st.floats(0.0, 1.0))
def test_quarter_bound_on_the_value(s):
    # s (1 - s) <= 1/4 for every s in [0, 1], i.e. (s - 1/2)^2 >= 0
    assert sigmoid_grad(s) <= 0.25


@pytest.mark.parametrize("depth", [1, 5, 20])
def test_vanishing_gradient_through_a_sigmoid_chain(rng, depth):
    # y = sigma(w_L ... sigma(w_1 x)); |dy/dx| <= prod |w_l| / 4^L
    w = rng.uniform(-2, 2, depth)

    def chain(x):
        values = []
        a = x
        for w_l in w:
            a = sigmoid(w_l * a)
            values.append(a)
        dydx = np.ones_like(x)
        for w_l, s in zip(w[::-1], values[::-1], strict=True):
            dydx = dydx * sigmoid_grad(s) * w_l
        return a, dydx

    x = rng.normal(0, 3, 50)
    _, dydx = chain(x)
    # the analytic chain derivative is right ...
    eps = 1e-6
    numeric = (chain(x + eps)[0] - chain(x - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(dydx, numeric, rtol=1e-5, atol=1e-10)
    # ... and bounded by the product of the 1/4 bounds
    bound = np.prod(np.abs(w)) / 4.0**depth
    assert np.all(np.abs(dydx) <= bound * (1 + 1e-12))
