"""docs/softmax.md, checked: definition, offset invariance, the max shift, log-sum-exp, and the
backward pass."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnbasics.core.activations import log_softmax, softmax, softmax_backward
from nnbasics.core.gradcheck import gradcheck

# Rows of moderate scores, where the textbook formula exp(x) / sum exp(x) is itself exact enough
# to serve as the reference.
moderate_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=7),
    elements=st.floats(-30, 30, allow_nan=False),
)


def textbook_softmax(x: np.ndarray) -> np.ndarray:
    """The definition, literally, one row at a time (no shift): the reference on moderate inputs."""
    return np.array([np.exp(row) / np.sum(np.exp(row)) for row in np.atleast_2d(x)])


@given(moderate_rows)
def test_definition_rowwise(x):
    p = softmax(x)
    np.testing.assert_allclose(p, textbook_softmax(x), rtol=1e-13, atol=1e-300)
    # codomain: the open simplex, row by row
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    # row-wise on N x d means: row n of the result depends on row n only
    for n in range(x.shape[0]):
        np.testing.assert_array_equal(p[n], softmax(x[n]))


@given(moderate_rows, st.floats(-1e3, 1e3, allow_nan=False))
def test_offset_invariance(x, c):
    # one constant per row, as the statement allows
    offsets = c * np.linspace(-1.0, 1.0, x.shape[0])[:, None]
    # rounding x + c moves each exponent by up to ulp(1030) / 2 ~ 1.1e-13, which is a relative
    # change of each probability of that order (worst measured over 2000 examples: 1.1e-13)
    np.testing.assert_allclose(softmax(x + offsets), softmax(x), rtol=1e-12, atol=0)


def test_not_invariant_to_scaling():
    # the common mistake: softmax(a x) != softmax(x); a > 1 sharpens, a < 1 flattens
    x = np.array([[1.0, 2.0, 3.0]])
    p, p2, p_half = softmax(x), softmax(2 * x), softmax(0.5 * x)
    assert not np.allclose(p, p2)
    assert p2[0, 2] > p[0, 2] > p_half[0, 2]


def test_max_shift_prevents_overflow():
    x = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 710.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    assert np.isnan(naive).all(axis=1).any()  # inf / inf: the unshifted formula fails
    p = softmax(x)
    assert np.all(np.isfinite(p))
    # after the shift c = -max every exponent is <= 0 and the max entry contributes exp(0) = 1,
    # so the denominator lies in [1, d]
    shifted = x - x.max(axis=1, keepdims=True)
    assert np.all(shifted <= 0)
    denominator = np.exp(shifted).sum(axis=1)
    assert np.all((denominator >= 1) & (denominator <= x.shape[1]))
    np.testing.assert_allclose(p, textbook_softmax(shifted), rtol=1e-14)
    np.testing.assert_allclose(p[0], softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-14)
    # shifting further than -max avoids overflow but loses S >= 1: every term underflows, 0 / 0
    with np.errstate(under="ignore", invalid="ignore"):
        too_far = np.exp(x - x.max(axis=1, keepdims=True) - 800)
        assert np.isnan(too_far / too_far.sum(axis=1, keepdims=True)).all()


def test_max_shift_does_not_prevent_underflow():
    # entries more than ~745 below the max still underflow to probability 0, harmlessly, and the
    # log-domain value log_softmax stays exact where log(softmax) is -inf
    x = np.array([0.0, -800.0, -1e4])
    p = softmax(x)
    assert p[0] == 1.0 and p[1] == 0.0 and p[2] == 0.0
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(p[1]))
    logp = log_softmax(x)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(logp, [0.0, -800.0, -1e4], rtol=1e-15, atol=1e-300)
    # a shift by the *min* instead of the max would overflow: the choice of c matters
    with np.errstate(over="ignore", invalid="ignore"):
        by_min = np.exp(x - x.min()) / np.exp(x - x.min()).sum()
    assert np.isnan(by_min).any()


def reference_logsumexp(row: np.ndarray) -> float:
    """log sum exp by pairwise log-add, a route independent of nnbasics' max shift."""
    return float(np.logaddexp.reduce(row))


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 8),
        elements=st.floats(-1e5, 1e5, allow_nan=False),
    )
)
def test_log_sum_exp(x):
    lse = reference_logsumexp(x)
    m = float(x.max())
    # the bounds max x <= LSE(x) <= max x + log d
    assert m <= lse + 1e-12 * max(1.0, abs(m))
    assert lse <= m + np.log(x.size) + 1e-12 * max(1.0, abs(m))
    # log softmax = x - LSE(x), and LSE(x) = m + log sum exp(x - m). Entries up to 1e5 carry an
    # absolute rounding of ulp(1e5) ~ 1.5e-11 and the pairwise reference adds a few of them
    # (worst measured over 2000 examples: 2.9e-11)
    np.testing.assert_allclose(log_softmax(x), x - lse, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(m + np.log(np.sum(np.exp(x - m))), lse, rtol=1e-14, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_log_sum_exp_bounds_are_tight(d):
    # upper bound reached by equal entries, lower bound approached when one entry dominates
    equal = np.full(d, 3.0)
    assert reference_logsumexp(equal) == pytest.approx(3.0 + np.log(d), rel=1e-15)
    dominated = np.array([3.0] + [3.0 - 100.0] * (d - 1))
    assert reference_logsumexp(dominated) == pytest.approx(3.0, abs=1e-40 + d * np.exp(-100))


def test_softmax_backward_is_the_jacobian_product(rng):
    # section 5: dx = J^T ds with J = diag(s) - s s^T, computed as s * (ds - <ds, s>)
    x = rng.normal(0, 2, (3, 5))
    upstream = rng.standard_normal(x.shape)
    s = softmax(x)
    dx = softmax_backward(upstream, s)
    for row in range(3):
        jacobian = np.diag(s[row]) - np.outer(s[row], s[row])
        np.testing.assert_allclose(dx[row], jacobian.T @ upstream[row], rtol=1e-13, atol=1e-16)
    # each row of dx sums to 0: softmax ignores a constant added to its row
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-15)
    # and numerically: the gradient of sum(softmax(x) * upstream)
    result = gradcheck(lambda z: (float(np.sum(softmax(z) * upstream)),
                                  softmax_backward(upstream, softmax(z))), x, tol=1e-8)
    assert result.passed, result.describe()
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    torch.softmax(xt, dim=-1).backward(torch.tensor(upstream))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
