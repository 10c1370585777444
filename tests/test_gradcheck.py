"""Tests of nnbasics.core.gradcheck: it passes correct gradients, catches and locates wrong ones."""
# ruff: noqa: NPY002  (the checker restores the *global* generators, so the tests use them)

import random

import numpy as np
import pytest

from nnbasics.core.gradcheck import (
    GradCheckResult,
    GradientCheckError,
    assert_gradcheck,
    gradcheck,
    relative_error,
)
from nnbasics.core.layers import affine_backward, affine_forward


def quadratic(x):
    return float(np.sum(x**2)), 2 * x


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (2, 3, 2), ()])
def test_passes_on_correct_gradient_any_shape(shape, rng):
    x = rng.normal(size=shape)
    res = gradcheck(lambda v: (float(np.sum(np.sin(v) * v)), np.cos(v) * v + np.sin(v)), x)
    assert isinstance(res, GradCheckResult)
    assert res.passed and bool(res)
    assert res.max_rel_error < 1e-7
    assert res.n_checked == max(1, int(np.prod(shape)))
    assert res.n_evaluations == 2 * res.n_checked + 1
    assert len(res.worst_index) == len(shape)


def test_off_by_one_coordinate_is_caught_and_named(rng):
    x = rng.normal(size=(3, 5))

    def f(v):
        cost, grad = quadratic(v)
        grad = grad.copy()
        grad[1, 3] += 1.0  # one wrong coordinate
        return cost, grad

    res = gradcheck(f, x)
    assert not res.passed
    assert res.worst_index == (1, 3)
    assert res.analytic == pytest.approx(2 * x[1, 3] + 1.0)
    assert res.numeric == pytest.approx(2 * x[1, 3], abs=1e-6)
    with pytest.raises(GradientCheckError, match=r"\(1, 3\)") as info:
        assert_gradcheck(f, x, name="quadratic")
    assert "quadratic" in str(info.value) and "analytic" in str(info.value)
    assert info.value.result.worst_index == (1, 3)


def test_transposed_weight_gradient_is_caught(rng):
    x = rng.normal(size=(4, 3))
    dout = rng.normal(size=(4, 3))  # square W, so the transposed gradient has the right shape
    b = rng.normal(size=3)

    def f(W):
        out = affine_forward(x, W, b)
        _, dW, _ = affine_backward(dout, x, W)
        return float(np.sum(out * dout)), dW.T  # the classic bug

    res = gradcheck(f, rng.normal(size=(3, 3)))
    assert not res.passed
    i, j = res.worst_index
    assert i != j  # the diagonal of a transpose is right; the error sits off it


def test_missing_bias_term_is_caught(rng):
    # cost = sum((x W + b) * dout); a bias gradient forgotten in the flat layout
    x, dout = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))

    def f(theta):
        W, b = theta[:6].reshape(2, 3), theta[6:]
        out = affine_forward(x, W, b)
        _, dW, db = affine_backward(dout, x, W)
        return float(np.sum(out * dout)), np.concatenate([dW.ravel(), np.zeros_like(db)])

    res = gradcheck(f, rng.normal(size=9))
    assert not res.passed and res.worst_index[0] >= 6  # the failure is located in the bias


def test_sign_error_is_caught_in_directions_mode(rng):
    x = rng.normal(size=200)
    bad = gradcheck(lambda v: (float(np.sum(v**3)), -3 * v**2), x, mode="directions")
    good = gradcheck(lambda v: (float(np.sum(v**3)), 3 * v**2), x, mode="directions")
    assert not bad.passed and good.passed
    assert good.n_evaluations == 2 * 10 + 1 and good.mode == "directions"
    assert 0 <= bad.worst_index[0] < 10


def test_directions_mode_catches_a_single_wrong_coordinate(rng):
    x = rng.normal(size=50)

    def f(v):
        cost, grad = quadratic(v)
        grad = grad.copy()
        grad[17] += 0.5
        return cost, grad

    assert not gradcheck(f, x, mode="directions", n_directions=5).passed


def test_x_is_left_untouched_even_when_f_raises(rng):
    x = rng.normal(size=(3, 3)).astype(np.float32)
    before = x.copy()
    calls = {"n": 0}

    def f(v):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("boom")
        return quadratic(v)

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(f, x)
    np.testing.assert_array_equal(x, before)
    assert x.dtype == np.float32
    gradcheck(quadratic, x)
    np.testing.assert_array_equal(x, before)


def test_random_state_restored_before_every_evaluation():
    # A stochastic cost: noise drawn from both global generators, as negative sampling does.
    def f(v):
        k = random.randrange(len(v))
        w = np.random.randn(len(v))
        cost = float(np.sum(w * v**2) + v[k])
        grad = 2 * w * v
        grad[k] += 1
        return cost, grad

    random.seed(3)
    np.random.seed(3)
    py_before, np_before = random.getstate(), np.random.get_state()
    res = gradcheck(f, np.linspace(-1, 1, 6))
    assert res.passed, res.describe()
    # and the global state is left as it was found
    assert random.getstate() == py_before
    np_after = np.random.get_state()
    assert np.array_equal(np_before[1], np_after[1]) and np_before[2] == np_after[2]


def test_stochastic_function_fails_without_state_restoring_would_be_noticed():
    # sanity check of the test above: the same f evaluated twice without restoring differs
    def f(v):
        return float(np.sum(np.random.randn(len(v)) * v)), np.zeros_like(v)

    x = np.ones(3)
    assert f(x)[0] != f(x)[0]


def test_reports_nan_gradient_as_failure():
    res = gradcheck(lambda v: (float(np.sum(v)), np.full_like(v, np.nan)), np.ones(3))
    assert not res.passed and res.max_rel_error == np.inf


def test_detects_a_function_that_mutates_its_input():
    def f(v):
        v *= 1.0000001
        return quadratic(v)

    with pytest.raises(ValueError, match="modified its input"):
        gradcheck(f, np.ones(3))


@pytest.mark.parametrize(
    "f, x, kwargs, error, message",
    [
        (quadratic, np.array([]), {}, ValueError, "empty"),
        (quadratic, np.array([np.nan]), {}, ValueError, "NaN"),
        (quadratic, np.ones(2), {"eps": 0.0}, ValueError, "eps"),
        (quadratic, np.ones(2), {"mode": "fast"}, ValueError, "mode"),
        (quadratic, np.ones(2), {"mode": "directions", "n_directions": 0}, ValueError, "n_dir"),
        (lambda v: (np.sum(v), np.ones(3)), np.ones(2), {}, ValueError, "shape"),
        (lambda v: (v, 2 * v), np.ones(2), {}, ValueError, "scalar"),
        (lambda v: 1.0, np.ones(2), {}, TypeError, "pair"),
    ],
)
def test_bad_usage_is_reported(f, x, kwargs, error, message):
    with pytest.raises(error, match=message):
        gradcheck(f, x, **kwargs)


def test_relative_error_definition():
    # |a - n| / max(1, |a|, |n|): absolute below 1, relative above
    np.testing.assert_allclose(relative_error([0.1, 100.0], [0.2, 110.0]), [0.1, 10 / 110])
    np.testing.assert_allclose(relative_error([0.1], [0.2], floor=1e-3), [0.5])


def test_centred_difference_beats_one_sided_order():
    # the error of the centred difference falls ~4x when eps halves (O(eps^2))
    f = lambda v: (float(np.exp(v[0])), np.exp(v))  # noqa: E731
    x = np.array([0.3])
    errs = []
    for eps in (1e-2, 5e-3):
        res = gradcheck(f, x, eps=eps, tol=1.0, floor=1e-12)
        errs.append(res.max_rel_error)
    assert 3.5 < errs[0] / errs[1] < 4.5


def test_agrees_with_torch_gradcheck_verdict(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(3, 4))
    for scale in (2.0, 2.1):  # 2 is right, 2.1 wrong

        def f(v, scale=scale):
            return float(np.sum(v**2)), scale * v

        xt = torch.tensor(x, requires_grad=True)

        def torch_fn(t, scale=scale):
            return _Sq.apply(t, scale)

        class _Sq(torch.autograd.Function):
            @staticmethod
            def forward(ctx, t, s):
                ctx.save_for_backward(t)
                ctx.s = s
                return (t**2).sum()

            @staticmethod
            def backward(ctx, g):
                (t,) = ctx.saved_tensors
                return g * ctx.s * t, None

        ours = gradcheck(f, x).passed
        theirs = torch.autograd.gradcheck(torch_fn, (xt,), raise_exception=False)
        assert ours == theirs == (scale == 2.0)


# ---------------------------------------------------------------------------------------------
# what a result reports: how many fail, the numeric gradient, names of a flat index
# ---------------------------------------------------------------------------------------------


def test_counts_every_failing_coordinate_and_returns_the_numeric_gradient(rng):
    x = rng.normal(size=(3, 5))

    def f(v):
        cost, grad = quadratic(v)
        grad = grad.copy()
        grad[0, :3] += 0.1  # three wrong coordinates, one of them the worst
        grad[2, 4] += 1.0
        return cost, grad

    res = gradcheck(f, x)
    assert res.n_failed == 4 and not res.passed
    assert res.worst_index == (2, 4) and res.worst_name == "(2, 4)"
    assert "4 of 15 coordinates over the tolerance" in res.describe()
    np.testing.assert_allclose(res.numeric_gradient, 2 * x, atol=1e-8)  # the true gradient
    assert res.numeric_gradient.shape == x.shape
    np.testing.assert_array_equal(res.analytic_gradient, f(x)[1])
    good = gradcheck(quadratic, x)
    assert good.n_failed == 0 and "passed (15 coordinates checked)" in good.describe()


def test_blocks_name_the_worst_coordinate_and_count_failures_per_block(rng):
    # a flat vector W (2x3) | b (3), with the bias gradient halved (relative error 0.5)
    blocks = [("W", (2, 3)), ("b", (3,))]
    x, dout = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))

    def f(theta):
        W, b = theta[:6].reshape(2, 3), theta[6:]
        out = affine_forward(x, W, b)
        _, dW, db = affine_backward(dout, x, W)
        grad = np.concatenate([dW.ravel(), db / 2])
        grad[4] += 30.0  # and one weight worse (relative error ~1): W[1, 1]
        return float(np.sum(out * dout)), grad

    res = gradcheck(f, rng.normal(size=9), blocks=blocks)
    assert res.failed_by_block == {"W": 1, "b": 3} and res.n_failed == 4
    assert res.worst_name == "W[1, 1]"
    assert "(W: 1, b: 3)" in res.describe() and "worst at W[1, 1]" in res.describe()
    with pytest.raises(GradientCheckError, match=r"worst at W\[1, 1\]"):
        assert_gradcheck(f, rng.normal(size=9), blocks=blocks)


def test_network_parameter_blocks_name_a_flat_index():
    from nnbasics.core.network import forward_backward, init_params, parameter_blocks

    dims = (4, 3, 2)
    X = np.random.default_rng(0).normal(size=(5, 4))
    labels = np.array([0, 1, 1, 0, 1])
    params = init_params(dims, rng=1)

    def wrong(p):  # the gradient of W1[3, 2] (flat index 11) off by 1
        cost, grad = forward_backward(X, labels, p, dims)
        grad = grad.copy()
        grad[3 * 3 + 2] += 1.0
        return cost, grad

    res = gradcheck(wrong, params, blocks=parameter_blocks(dims))
    assert res.worst_name == "W1[3, 2]" and res.failed_by_block == {"W1": 1}
    assert res.worst_index == (11,)


@pytest.mark.parametrize(
    "blocks, message",
    [([("W", (2, 2))], "partition"), ([("W", (2, 3)), ("b", (4,))], "partition"),
     ([("W",)], "pairs"), ([(3, (6,))], "pairs")],
)
def test_blocks_must_partition_x(blocks, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(quadratic, np.ones(6), blocks=blocks)


def test_directions_mode_counts_failing_directions(rng):
    res = gradcheck(lambda v: (float(np.sum(v**3)), -3 * v**2), rng.normal(size=20),
                    mode="directions", n_directions=6)
    assert 1 <= res.n_failed <= 6 and res.numeric_gradient is None
    assert res.worst_name == f"direction {res.worst_index[0]}"
    assert f"{res.n_failed} of 6 directions" in res.describe()


# ---------------------------------------------------------------------------------------------
# random states: restored (default) or left as CS224n's gradcheck_naive leaves them
# ---------------------------------------------------------------------------------------------


def gradcheck_naive(f, x):
    """CS224n's checker (assignment 2), its random-state handling verbatim; returns numgrads."""
    rndstate = random.getstate()
    random.setstate(rndstate)
    f(x)  # the analytic evaluation (its result is not needed here)
    h = 1e-4
    numgrads = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        x[ix] += h
        random.setstate(rndstate)
        fxh, _ = f(x)
        x[ix] -= 2 * h
        random.setstate(rndstate)
        fxnh, _ = f(x)
        x[ix] += h
        numgrads[ix] = (fxh - fxnh) / 2 / h
        it.iternext()
    return numgrads


def python_random_cost(v):
    """A cost whose noise comes from Python's random, as the course's negative sampling does."""
    k = random.randrange(len(v))
    w = np.array([random.gauss(0, 1) for _ in v])
    grad = 2 * w * v
    grad[k] += 1
    return float(np.sum(w * v**2) + v[k]), grad


def test_cs224n_random_states_leave_python_random_where_gradcheck_naive_does():
    x = np.linspace(-1, 1, 4)
    random.seed(7)
    gradcheck_naive(python_random_cost, x.copy())
    after_course = random.getstate()
    next_course = random.random()

    random.seed(7)
    res = gradcheck(python_random_cost, x, random_states="cs224n")
    assert res.passed, res.describe()
    assert random.getstate() == after_course and random.random() == next_course

    random.seed(7)
    before = random.getstate()
    gradcheck(python_random_cost, x)  # the default: left as found
    assert random.getstate() == before != after_course


def test_cs224n_random_states_do_not_touch_numpy_global_generator():
    def numpy_random_cost(v):
        w = np.random.randn(len(v))
        return float(np.sum(w * v)), w

    np.random.seed(5)
    res = gradcheck(numpy_random_cost, np.ones(3), random_states="cs224n")
    # every evaluation drew new noise: the check cannot pass, as with gradcheck_naive
    assert not res.passed and res.n_evaluations == 7
    np.random.seed(5)
    for _ in range(7):
        np.random.randn(3)
    expected_next = np.random.randn()
    np.random.seed(5)
    gradcheck(numpy_random_cost, np.ones(3), random_states="cs224n")
    assert np.random.randn() == expected_next  # advanced by exactly the 7 evaluations
    with pytest.raises(ValueError, match="random_states"):
        gradcheck(quadratic, np.ones(2), random_states="course")
