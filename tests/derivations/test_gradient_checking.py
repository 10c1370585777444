"""docs/gradient-checking.md, checked: O(eps^2) against O(eps), the choice of eps, the relative
error, why checking is needed, what a report holds, and the random state."""

import random

import numpy as np
import pytest

from nnbasics.core.activations import sigmoid, sigmoid_grad, softmax
from nnbasics.core.gradcheck import gradcheck, relative_error
from nnbasics.core.network import (
    forward_backward,
    parameter_blocks,
    parameter_count,
    unpack_params,
)

X0 = 0.7  # a point where sigma'' and sigma''' are both far from 0


def f_and_grad(x):
    """f(x) = sigma(x) summed, with its exact derivative: the function every eps-test uses."""
    s = sigmoid(x)
    return float(np.sum(s)), sigmoid_grad(s)


def exact_derivative(x: float) -> float:
    return float(sigmoid_grad(sigmoid(x)))


def centred_error(eps: float) -> float:
    """|numeric - analytic| of nnbasics' gradcheck (centred differences) at X0."""
    result = gradcheck(f_and_grad, np.array([X0]), eps=eps, floor=1.0)
    return abs(result.numeric - result.analytic)


def one_sided_error(eps: float) -> float:
    """The forward difference (f(x + eps) - f(x)) / eps, which gradcheck does not use."""
    x = np.array([X0])
    numeric = (f_and_grad(x + eps)[0] - f_and_grad(x)[0]) / eps
    return abs(numeric - exact_derivative(X0))


def test_centred_error_is_order_eps_squared_and_one_sided_order_eps():
    steps = 1e-2 / 2.0 ** np.arange(5)  # truncation error dominates rounding error here
    centred = np.array([centred_error(e) for e in steps])
    one_sided = np.array([one_sided_error(e) for e in steps])
    centred_ratio = centred[:-1] / centred[1:]  # error(eps) / error(eps / 2)
    one_sided_ratio = one_sided[:-1] / one_sided[1:]
    # The next Taylor terms bound how far the ratios may stray from 4 and 2: relative O(eps^2) for
    # the centred error (measured 8e-6), eps f''' / (6 f'') <= 1.7e-3 for the one-sided ratio.
    np.testing.assert_allclose(centred_ratio, 4.0, rtol=1e-3)  # O(eps^2): halving eps quarters it
    np.testing.assert_allclose(one_sided_ratio, 2.0, rtol=5e-3)  # O(eps): halving eps halves it
    # and the leading terms are the Taylor ones, |f'''| eps^2 / 6 and |f''| eps / 2; the second
    # term of the one-sided error is eps f''' / (3 f'') <= 0.33% of the first (measured 0.33%)
    s = sigmoid(X0)
    f2 = s * (1 - s) * (1 - 2 * s)
    f3 = s * (1 - s) * (1 - 6 * s + 6 * s**2)
    np.testing.assert_allclose(centred, abs(f3) * steps**2 / 6, rtol=1e-3)
    np.testing.assert_allclose(one_sided, abs(f2) * steps / 2, rtol=5e-3)


def test_choice_of_eps():
    # total error = truncation (falls with eps) + rounding ~ u |f| / eps (grows as eps -> 0): the
    # best eps is near u^(1/3) ~ 1e-5 for centred differences and u^(1/2) ~ 1e-8 for one-sided ones
    steps = 10.0 ** -np.arange(1.0, 13.0, 0.5)
    centred = np.array([centred_error(e) for e in steps])
    one_sided = np.array([one_sided_error(e) for e in steps])
    best_centred = steps[np.argmin(centred)]
    best_one_sided = steps[np.argmin(one_sided)]
    # the model's optimum (3 u |f| / |f'''|)^(1/3), 1.4e-5 here; the grid has half-decade steps
    s = sigmoid(X0)
    f3 = s * (1 - s) * (1 - 6 * s + 6 * s**2)
    predicted = (3 * 2.0**-53 * s / abs(f3)) ** (1 / 3)
    assert predicted / 10 <= best_centred <= predicted * 10
    assert 1e-10 <= best_one_sided <= 1e-6  # around u^(1/2), erratically (rounding noise)
    assert best_one_sided < best_centred
    # too small an eps is as bad as too large a one: the error curve is U-shaped
    assert centred[-1] > 100 * centred.min() and centred[0] > 100 * centred.min()
    # gradcheck's default eps = 1e-6 sits near the bottom of the curve
    assert gradcheck(f_and_grad, np.array([X0])).eps == 1e-6
    assert centred_error(1e-6) < 1e-10
    # and the centred difference at its best beats the one-sided one at its best
    assert centred.min() < one_sided.min() / 10


def test_float32_is_too_coarse_for_checking():
    # the error model with u = 2^-24: the best centred difference computed in float32 is ~1e-6 off,
    # and the float64 default step 1e-6 is useless there; gradcheck therefore works in float64
    exact = exact_derivative(X0)
    x32 = np.float32(X0)

    def centred32(eps):
        step = np.float32(eps)
        return float((sigmoid(x32 + step) - sigmoid(x32 - step)) / (np.float32(2) * step))

    errors = np.array([abs(centred32(e) - exact) for e in 10.0 ** -np.arange(1.0, 8.0, 0.5)])
    assert 1e-7 < errors.min() < 1e-4  # float64 reaches 1e-12 (test_choice_of_eps)
    assert abs(centred32(1e-6) - exact) > 1e-3
    seen = []

    def f(x):
        seen.append(x.dtype)
        return f_and_grad(x)

    assert gradcheck(f, np.array([X0], dtype=np.float32), tol=1e-8).passed
    assert set(seen) == {np.dtype(np.float64)}


def test_relative_error_definition(rng):
    # hand-checkable values, one per branch of max(floor, |a|, |n|)
    np.testing.assert_array_equal(relative_error([3.0, -2.0, 0.5], [2.0, -4.0, 0.25]),
                                  [1 / 3, 2 / 4, 0.25 / 1.0])
    np.testing.assert_array_equal(relative_error([0.5], [0.25], floor=0.0), [0.5])
    # gradcheck reports that formula at the worst coordinate, here one deliberately 0.1% off in a
    # gradient of magnitude 50, so that the floor is not what is measured
    x = rng.normal(0, 1, (3, 4))
    g = rng.standard_normal((3, 4))
    g[1, 2] = 200.0  # sigma' <= 1/4, so |gradient| <= 50 there

    def biased(t):
        grad = g * sigmoid_grad(sigmoid(t))
        grad[1, 2] *= 0.999  # |analytic| < |numeric|: the denominator must be the numeric one
        return float(np.sum(g * sigmoid(t))), grad

    result = gradcheck(biased, x)
    assert result.worst_index == (1, 2)
    a, n = result.analytic, result.numeric
    assert abs(n) > abs(a) > 1.0
    assert result.max_rel_error == pytest.approx(abs(a - n) / abs(n), rel=1e-12, abs=0)
    assert float(relative_error(a, n)) == pytest.approx(result.max_rel_error, rel=1e-15, abs=0)


def test_relative_error_needs_a_floor():
    # the common mistake: a pure relative error |a - n| / max(|a|, |n|) flags correct gradients
    # that are tiny, because the numeric estimate's rounding noise (~ u |f| / eps) is then
    # comparable to the gradient itself; the floor makes the test absolute below 1
    def f(x):  # a large cost with a tiny but exact gradient
        return 1.0 + 1e-9 * float(np.sum(np.sin(x))), 1e-9 * np.cos(x)

    x = np.linspace(0.1, 1.0, 8)
    assert gradcheck(f, x).passed  # floor = 1 (default)
    pure = gradcheck(f, x, floor=1e-300)
    assert not pure.passed
    assert pure.max_rel_error > 1e-5
    # while the absolute error really is rounding-sized
    assert abs(pure.analytic - pure.numeric) < 1e-9


def test_absolute_error_rejects_correct_large_gradients():
    # a cost of magnitude 1e8 with its exact gradient: the numeric estimate's rounding error,
    # ~ u |f| / eps ~ 1e-2, fails an absolute threshold like 1e-5; relative to the gradient it is
    # tiny
    def f(x):
        return 1e8 * float(np.sum(np.sin(x))), 1e8 * np.cos(x)

    result = gradcheck(f, np.linspace(0.1, 1.0, 8))
    assert result.passed and result.max_rel_error < 1e-8
    assert abs(result.analytic - result.numeric) > 1e-3


def test_the_floor_hides_errors_in_tiny_gradients():
    # the price of floor = 1: below it the check is absolute, so a gradient of 0 where the truth is
    # 1e-7 cos(x) passes; a floor on the gradients' scale catches it
    def f(x):
        return 1e-7 * float(np.sum(np.sin(x))), np.zeros_like(x)

    x = np.linspace(0.1, 1.0, 8)
    assert gradcheck(f, x).passed
    assert not gradcheck(f, x, floor=1e-9).passed


def test_why_check_a_training_run_does_not_catch_a_wrong_gradient(rng):
    # a plausible bug that runs, has the right shapes, and still makes the loss go down:
    # the sigmoid's derivative h (1 - h) written as h, the (1 - h) factor dropped
    dims = (4, 5, 3)
    X = rng.standard_normal((30, 4))
    labels = np.argmax(X @ rng.standard_normal((4, 3)), axis=1)  # a learnable rule

    def buggy(t):
        W1, b1, W2, b2 = unpack_params(t, dims)
        h = sigmoid(X @ W1 + b1)
        delta2 = softmax(h @ W2 + b2) - np.eye(3)[labels]
        delta1 = (delta2 @ W2.T) * h  # bug: should be * h * (1 - h)
        grad = np.concatenate([(X.T @ delta1).ravel(), delta1.sum(0), (h.T @ delta2).ravel(),
                               delta2.sum(0)])
        return forward_backward(X, labels, t, dims)[0], grad

    params = rng.normal(0, 0.5, parameter_count(dims))
    losses = []
    for _ in range(100):
        cost, grad = buggy(params)
        losses.append(cost)
        params = params - 0.05 * grad
    assert np.all(np.diff(losses) < 0) and losses[-1] < 0.5 * losses[0]  # "it trains"
    assert not gradcheck(buggy, params).passed  # but the gradient is wrong
    assert gradcheck(lambda t: forward_backward(X, labels, t, dims), params, tol=1e-8).passed


def test_a_report_locates_every_failure(rng):
    # section 5: the one-hidden-layer network with the factor (1 - h) dropped from delta_1
    # (the bug of section 4) fails in W1 and b1 only, and the report says so by name
    dims = (4, 3, 2)
    X, labels = rng.normal(size=(6, 4)), rng.integers(0, 2, 6)
    params = rng.normal(0, 0.5, parameter_count(dims))

    def buggy(theta):
        W1, b1, W2, b2 = unpack_params(theta, dims)
        h = sigmoid(X @ W1 + b1)
        p = softmax(h @ W2 + b2)
        Y = np.eye(2)[labels]
        delta2 = p - Y
        delta1 = (delta2 @ W2.T) * h  # the bug
        grad = np.concatenate([(X.T @ delta1).ravel(), delta1.sum(0), (h.T @ delta2).ravel(),
                               delta2.sum(0)])
        return float(-np.sum(Y * np.log(p))), grad

    result = gradcheck(buggy, params, blocks=parameter_blocks(dims))
    assert not result.passed
    assert set(result.failed_by_block) <= {"W1", "b1"} and result.n_failed > 1
    assert result.worst_name.startswith(("W1[", "b1["))
    # the numeric gradient is returned whole: it equals the correct analytic one
    _, correct = forward_backward(X, labels, params, dims)
    np.testing.assert_allclose(result.numeric_gradient, correct, atol=1e-8)


def test_random_state_restored_unlike_gradcheck_naive():
    # section 6: both give every evaluation the same draws from Python's random; nnbasics then
    # puts the state back, gradcheck_naive leaves it where the last evaluation left it
    def noisy(v):
        w = np.array([random.gauss(0, 1) for _ in v])
        return float(np.sum(w * v**2)), 2 * w * v

    x = np.array([0.5, -1.0, 2.0])
    random.seed(0)
    assert gradcheck(noisy, x).passed
    after_default = random.random()
    random.seed(0)
    assert gradcheck(noisy, x, random_states="cs224n").passed
    after_course = random.random()
    random.seed(0)
    assert random.random() == after_default != after_course  # default: as if never called
    random.seed(0)
    for _ in range(len(x)):  # the last evaluation's draws: len(x) gauss calls
        random.gauss(0, 1)
    assert random.random() == after_course  # cs224n: advanced by one evaluation's draws
