"""docs/softmax-cross-entropy.md, checked: dCE/dtheta = y_hat - y for one-hot y (and any y summing
to 1)."""

import numpy as np
import pytest

from nnbasics.core.activations import log_softmax, sigmoid, softmax
from nnbasics.core.gradcheck import gradcheck
from nnbasics.core.losses import softmax_cross_entropy


def one_hot(labels, n_classes):
    return np.eye(n_classes)[labels]


@pytest.mark.parametrize("n_rows, n_classes", [(1, 1), (1, 2), (4, 3), (7, 10)])
def test_gradient_is_y_hat_minus_y(rng, n_rows, n_classes):
    logits = rng.normal(0, 3, (n_rows, n_classes))
    labels = rng.integers(0, n_classes, n_rows)
    cost, dlogits = softmax_cross_entropy(logits, labels)
    # the statement, literally
    np.testing.assert_allclose(dlogits, softmax(logits) - one_hot(labels, n_classes), atol=1e-15)
    # the cost is -sum_n log y_hat[n, y_n]
    np.testing.assert_allclose(cost, -log_softmax(logits)[np.arange(n_rows), labels].sum(),
                               rtol=1e-14)
    # and numerically: the gradient of the cost, by centred differences
    result = gradcheck(lambda t: softmax_cross_entropy(t, labels), logits, tol=1e-8)
    assert result.passed, result.describe()


def test_gradient_through_the_jacobian(rng):
    # the derivation's route: dCE/dtheta = J^T dCE/dy_hat with J = diag(p) - p p^T and
    # dCE/dy_hat = -y / y_hat; the product collapses to p - y
    theta = rng.normal(0, 2, 6)
    y = one_hot(2, 6)
    p = softmax(theta)
    jacobian = np.diag(p) - np.outer(p, p)  # dp_i/dtheta_j, symmetric
    # the Jacobian itself, column by column, against centred differences of nnbasics' softmax
    eps = 1e-6
    numeric = np.column_stack([
        (softmax(theta + eps * e) - softmax(theta - eps * e)) / (2 * eps) for e in np.eye(6)
    ])
    np.testing.assert_allclose(jacobian, numeric, atol=1e-9)
    chained = jacobian.T @ (-y / p)
    _, dtheta = softmax_cross_entropy(theta, 2)
    np.testing.assert_allclose(chained, p - y, atol=1e-14)
    np.testing.assert_allclose(dtheta, chained, atol=1e-14)
    # consequence: the gradient's entries sum to 0 (softmax cannot see a common offset)
    assert abs(dtheta.sum()) < 1e-15


def test_gradient_for_soft_labels(rng):
    # the proof only uses sum_k y_k = 1: it holds for any distribution y
    theta = rng.normal(0, 2, (3, 5))
    y = rng.dirichlet(np.ones(5), size=3)
    _, dtheta = softmax_cross_entropy(theta, y)
    np.testing.assert_allclose(dtheta, softmax(theta) - y, atol=1e-15)
    result = gradcheck(lambda t: softmax_cross_entropy(t, y), theta, tol=1e-8)
    assert result.passed, result.describe()


def test_y_hat_minus_y_is_wrong_when_y_does_not_sum_to_one(rng):
    # the common mistake: using y_hat - y for targets that are not a distribution; the true gradient
    # of -sum_k y_k log softmax(theta)_k is (sum_k y_k) y_hat - y
    theta = rng.normal(0, 2, 5)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0])  # two "true" classes: sums to 2

    def cost(t):
        value = -float(np.sum(y * log_softmax(t)))
        return value, y.sum() * softmax(t) - y

    assert gradcheck(cost, theta, tol=1e-8).passed
    wrong = gradcheck(lambda t: (cost(t)[0], softmax(t) - y), theta)
    assert not wrong.passed
    # nnbasics refuses such targets rather than returning the wrong gradient
    with pytest.raises(ValueError, match="sums to 2"):
        softmax_cross_entropy(theta[None, :], y[None, :])


def test_sigmoid_with_binary_cross_entropy_has_the_same_form(rng):
    # the page's other pair: per unit, -[y log sigma(z) + (1 - y) log(1 - sigma(z))] has gradient
    # sigma(z) - y (the cost written as softplus terms, finite for every z)
    z = rng.normal(0, 3, (4, 3))
    y = rng.integers(0, 2, (4, 3)).astype(float)

    def cost(t):
        value = float(np.sum(y * np.logaddexp(0, -t) + (1 - y) * np.logaddexp(0, t)))
        return value, sigmoid(t) - y

    result = gradcheck(cost, z, tol=1e-8)
    assert result.passed, result.describe()


def test_gradient_with_extreme_logits():
    # edge case: the true class's probability underflows; the cost stays finite (log-softmax) and
    # the gradient is exactly y_hat - y = (0, ..., -1, ..., 1, ...)
    theta = np.array([[0.0, 1000.0, -1000.0]])
    cost, dtheta = softmax_cross_entropy(theta, [0])
    assert cost == pytest.approx(1000.0, rel=1e-15)
    np.testing.assert_array_equal(dtheta, [[-1.0, 1.0, 0.0]])


def test_gradient_matches_torch(rng):
    torch = pytest.importorskip("torch")
    theta = rng.normal(0, 3, (5, 4))
    labels = rng.integers(0, 4, 5)
    t = torch.tensor(theta, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(t, torch.tensor(labels), reduction="sum")
    loss.backward()
    cost, dtheta = softmax_cross_entropy(theta, labels)
    assert cost == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(dtheta, t.grad.numpy(), atol=1e-13)
