"""Tests of nnbasics.core.losses: cost values, the fused gradient ŷ − y, labels and errors."""

import numpy as np
import pytest

from nnbasics.core.activations import softmax
from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.core.losses import labels_to_targets, softmax_cross_entropy


def test_cost_by_hand():
    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    cost, grad = softmax_cross_entropy(logits, [0, 0])
    # p(class 0) is 1/2 in row 0 and 3/4 in row 1
    assert cost == pytest.approx(-np.log(0.5) - np.log(0.75), rel=1e-14)
    np.testing.assert_allclose(grad, [[0.5 - 1, 0.5], [0.75 - 1, 0.25]], rtol=1e-14)


def test_uniform_logits_cost_is_n_log_k():
    cost, _ = softmax_cross_entropy(np.zeros((7, 4)), np.arange(7) % 4)
    assert cost == pytest.approx(7 * np.log(4))


def test_gradient_is_yhat_minus_y(rng):
    logits = rng.normal(0, 3, (6, 5))
    labels = rng.integers(0, 5, 6)
    _, grad = softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(grad, softmax(logits) - np.eye(5)[labels], atol=1e-15)


def test_int_and_onehot_labels_agree(rng):
    logits = rng.normal(size=(5, 3))
    labels = rng.integers(0, 3, 5)
    c1, g1 = softmax_cross_entropy(logits, labels)
    c2, g2 = softmax_cross_entropy(logits, np.eye(3)[labels])
    assert c1 == pytest.approx(c2, rel=1e-14)
    np.testing.assert_allclose(g1, g2)


def test_mean_reduction(rng):
    logits = rng.normal(size=(4, 3))
    c_sum, g_sum = softmax_cross_entropy(logits, [0, 1, 2, 0])
    c_mean, g_mean = softmax_cross_entropy(logits, [0, 1, 2, 0], reduction="mean")
    assert c_mean == pytest.approx(c_sum / 4)
    np.testing.assert_allclose(g_mean, g_sum / 4)


def test_single_vector_logits():
    cost, grad = softmax_cross_entropy(np.array([1.0, 2.0, 3.0]), 2)
    cost2, grad2 = softmax_cross_entropy(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0]))
    assert grad.shape == (3,) and cost == pytest.approx(cost2)
    np.testing.assert_allclose(grad, grad2)


def test_stays_finite_when_true_class_probability_underflows():
    # softmax gives exactly 0 for the true class; log(softmax) would be -inf
    cost, grad = softmax_cross_entropy(np.array([[0.0, -2000.0]]), [1])
    assert cost == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    _, grad = softmax_cross_entropy(np.zeros((2, 3), dtype=dtype), [0, 1])
    assert grad.dtype == dtype


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradcheck_int_and_onehot(reduction, rng):
    labels = rng.integers(0, 4, 5)
    for lab in (labels, np.eye(4)[labels]):
        assert_gradcheck(
            lambda z, lab=lab: softmax_cross_entropy(z, lab, reduction), rng.normal(0, 2, (5, 4))
        )


def test_soft_label_rows_gradient(rng):
    soft = rng.dirichlet(np.ones(4), size=3)
    assert_gradcheck(lambda z: softmax_cross_entropy(z, soft), rng.normal(size=(3, 4)))


def test_matches_torch_cross_entropy(rng):
    torch = pytest.importorskip("torch")
    logits = rng.normal(0, 2, (6, 5))
    labels = rng.integers(0, 5, 6)
    lt = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(lt, torch.tensor(labels), reduction="sum")
    loss.backward()
    cost, grad = softmax_cross_entropy(logits, labels)
    assert cost == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(grad, lt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "logits, labels, message",
    [
        (np.zeros((3, 4)), [0, 1, 4], "out of range"),
        (np.zeros((3, 4)), [0, -1, 2], "out of range"),
        (np.zeros((3, 4)), [0, 1], "entries"),
        (np.zeros((3, 4)), [0.5, 1, 2], "whole numbers"),
        (np.zeros((3, 4)), np.eye(3), "shape"),
        (np.zeros((2, 3)), np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "sums to 2"),
        (np.array([[np.nan, 0.0]]), [0], "NaN"),
        (np.zeros((2, 2, 2)), [0, 1], "1-D or 2-D"),
        (np.zeros((2, 3)), ["a", "b"], "integer labels"),
    ],
)
def test_bad_input_names_the_problem(logits, labels, message):
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(logits, labels)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        softmax_cross_entropy(np.zeros((1, 2)), [0], reduction="max")


def test_labels_to_targets_onehot():
    np.testing.assert_array_equal(labels_to_targets([2, 0], 2, 3), [[0, 0, 1], [1, 0, 0]])
