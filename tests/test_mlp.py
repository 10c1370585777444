"""The MLP kernel: every layer's gradient (numerically, vs torch), kernel vs reference, toy run."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics._accel import blas as _blas
from nnbasics.core.activations import sigmoid
from nnbasics.core.gradcheck import gradcheck
from nnbasics.mlp.checks import layer_gradient_check
from nnbasics.mlp.model import (
    Workspace,
    _activate_inplace,
    check_activation,
    forward_logits,
    init_parameters,
    loss_and_gradients,
    loss_and_gradients_reference,
    loss_and_sgd_update,
    predict_proba,
)
from nnbasics.mlp.optimizers import SGD
from nnbasics.mlp.reference import pack_parameters, unpack_parameters
from nnbasics.mlp.training import evaluate, sgd_epoch

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]


@pytest.fixture(params=["scipy", "numpy"])
def gemm_source(request, monkeypatch):
    """The step's products from SciPy's BLAS (the update inside the GEMM), as where SciPy and
    NumPy share one BLAS, or from NumPy's matmul (the update as a second pass)."""
    if request.param == "scipy" and not _blas.available(np.float32):
        pytest.skip("SciPy's cython_blas is not importable here")
    _blas.gemm_unchecked.cache_clear()
    monkeypatch.setattr(_blas, "shares_numpys_blas", lambda: request.param == "scipy")
    yield request.param
    _blas.gemm_unchecked.cache_clear()


def _network(sizes, seed, dtype=np.float64, n_rows=9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], n_rows)
    weights, biases = init_parameters(sizes, "xavier", rng, dtype)
    for b in biases:
        b[...] = 0.1 * rng.standard_normal(b.shape)
    return X, labels, weights, biases


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_every_layer_gradient_checks_numerically(activation, layer):
    result = layer_gradient_check(activation, layer, seed=100 + layer)
    assert result.passed, result.describe()
    assert result.n_checked > 0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_gradient_checks_numerically_with_l2(activation):
    sizes = (4, 6, 5, 3)
    X, labels, weights, biases = _network(sizes, 7)
    layer_sizes = [weights[0].shape[0], *(W.shape[1] for W in weights)]
    theta0 = pack_parameters(weights, biases)

    def f(theta):
        W, b = unpack_parameters(theta, layer_sizes)
        parts = [*W, *b]
        loss, dW, db = loss_and_gradients_reference(X, labels, parts[:3], parts[3:], activation,
                                                    0.05)
        return loss, pack_parameters(dW, db)

    assert gradcheck(f, theta0).passed


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_rows", [1, 5, 8])
def test_kernel_matches_reference(activation, n_rows):
    sizes = (7, 6, 5, 4)
    X, labels, weights, biases = _network(sizes, 3, n_rows=n_rows)
    workspace = Workspace(sizes, 8, np.float64)  # a batch may be smaller than the workspace
    loss = loss_and_gradients(X, labels, weights, biases, activation, workspace, alpha=0.1)
    ref_loss, ref_dW, ref_db = loss_and_gradients_reference(X, labels, weights, biases, activation,
                                                            alpha=0.1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for got, want in zip(workspace.dweights + workspace.dbiases, ref_dW + ref_db, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_rows", [1, 5, 8])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_fused_sgd_step_equals_gradients_then_update(activation, n_rows, alpha, gemm_source):
    # loss_and_sgd_update folds p <- p - lr g into the weight GEMMs (with the L2 term as a
    # decay of W); it must be the same step as the gradients of the kernel followed by SGD
    sizes, lr = (7, 6, 5, 4), 0.25
    X, labels, weights, biases = _network(sizes, 5, n_rows=n_rows)
    before = [p.copy() for p in (*weights, *biases)]
    ref_w, ref_b = [w.copy() for w in weights], [b.copy() for b in biases]
    ws_ref = Workspace(sizes, 8, np.float64)
    ref_loss = loss_and_gradients(X, labels, ref_w, ref_b, activation, ws_ref, alpha=alpha)
    for p, g in zip([*ref_w, *ref_b], [*ws_ref.dweights, *ws_ref.dbiases], strict=True):
        p -= lr * g
    ws = Workspace(sizes, 8, np.float64)
    assert ws.gemm_accumulates == (gemm_source == "scipy")
    loss = loss_and_sgd_update(X, labels, weights, biases, activation, ws, lr, alpha=alpha)
    assert loss == ref_loss  # the forward pass and the penalty are the same code
    for got, want, old in zip([*weights, *biases], [*ref_w, *ref_b], before, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
        assert not np.array_equal(got, old)  # every parameter moved


@pytest.mark.parametrize(("lr", "alpha", "n_rows"), [(1e-3, 1e-3, 32), (1e-3, 1e-3, 64),
                                                     (0.1, 1e-4, 128), (0.5, 0.1, 8)])
def test_fused_sgd_step_applies_the_l2_decay_in_float32(lr, alpha, n_rows, gemm_source):
    # The decay lr*alpha/N of one step is below float32's spacing near 1 in the first three
    # settings: folded into GEMM's beta it would be rounded to 0 or doubled.  Projected on the
    # decay term d = -(lr alpha/N) W over every weight, the step's alpha-dependent part must be d
    # itself (fraction 1), as it is for the two-step update; rounding noise averages out.
    sizes = (300, 100, 10)
    X, labels, weights, biases = _network(sizes, 9, dtype=np.float32, n_rows=n_rows)
    X *= 0.1  # small activations: the gradient part of the step stays comparable to the decay

    def fused(a):
        w, b = [x.copy() for x in weights], [x.copy() for x in biases]
        loss_and_sgd_update(X, labels, w, b, "tanh", Workspace(sizes, n_rows, np.float32), lr, a)
        return w

    def two_step(a):
        w, b = [x.copy() for x in weights], [x.copy() for x in biases]
        ws = Workspace(sizes, n_rows, np.float32)
        loss_and_gradients(X, labels, w, b, "tanh", ws, alpha=a)
        for p, g in zip([*w, *b], [*ws.dweights, *ws.dbiases], strict=True):
            p -= np.float32(lr) * g
        return w

    for step in (fused, two_step):
        with_decay, without = step(alpha), step(0.0)
        for W, W_a, W_0 in zip(weights, with_decay, without, strict=True):
            d = -(lr * alpha / n_rows) * W.astype(np.float64)
            fraction = np.vdot(W_a.astype(np.float64) - W_0, d) / np.vdot(d, d)
            assert fraction == pytest.approx(1.0, abs=0.1), (step.__name__, fraction)


def test_fused_sgd_step_refuses_mismatched_arrays_before_updating():
    sizes = (5, 4, 3)
    X, labels, weights, biases = _network(sizes, 2, dtype=np.float32, n_rows=4)
    before = [p.copy() for p in (*weights, *biases)]
    ws = Workspace(sizes, 4, np.float32)
    bad_inputs = [X.astype(np.float64), np.asfortranarray(X), X[:, :4], np.vstack([X, X])]
    for bad in bad_inputs:
        with pytest.raises(ValueError, match="X"):
            loss_and_sgd_update(bad, labels, weights, biases, "tanh", ws, 0.1)
    with pytest.raises(ValueError, match="weights"):
        loss_and_sgd_update(X, labels, [weights[0].astype(np.float64), weights[1]], biases, "tanh",
                            ws, 0.1)
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        loss_and_sgd_update(X, labels, [np.asfortranarray(weights[0]), weights[1]], biases,
                            "tanh", ws, 0.1)
    for got, old in zip([*weights, *biases], before, strict=True):
        np.testing.assert_array_equal(got, old)  # nothing was updated by a refused call


def test_kernel_float32_close_to_float64():
    sizes = (20, 16, 10)
    X, labels, weights, biases = _network(sizes, 4, n_rows=32)
    ws64 = Workspace(sizes, 32, np.float64)
    loss64 = loss_and_gradients(X, labels, weights, biases, "sigmoid", ws64)
    ws32 = Workspace(sizes, 32, np.float32)
    loss32 = loss_and_gradients(X.astype(np.float32), labels,
                                [w.astype(np.float32) for w in weights],
                                [b.astype(np.float32) for b in biases], "sigmoid", ws32)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for g32, g64 in zip(ws32.dweights, ws64.dweights, strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-6)


def test_softmax_regression_without_hidden_layer():
    sizes = (5, 3)
    X, labels, weights, biases = _network(sizes, 5)
    ws = Workspace(sizes, 9, np.float64)
    loss = loss_and_gradients(X, labels, weights, biases, "relu", ws)
    ref_loss, ref_dW, _ = loss_and_gradients_reference(X, labels, weights, biases, "relu")
    assert loss == pytest.approx(ref_loss)
    np.testing.assert_allclose(ws.dweights[0], ref_dW[0], rtol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_torch_autograd(activation):
    torch = pytest.importorskip("torch")
    sizes = (6, 8, 7, 4)
    X, labels, weights, biases = _network(sizes, 9, n_rows=10)
    ws = Workspace(sizes, 10, np.float64)
    loss = loss_and_gradients(X, labels, weights, biases, activation, ws)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tb = [torch.tensor(b, requires_grad=True) for b in biases]
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
         "identity": torch.nn.Identity()}[activation]
    h = torch.tensor(X)
    for i in range(len(tw)):
        h = h @ tw[i] + tb[i]
        if i < len(tw) - 1:
            h = f(h)
    t_loss = torch.nn.functional.cross_entropy(h, torch.tensor(labels))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for ours, theirs in zip(ws.dweights + ws.dbiases, tw + tb, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


@given(st.floats(-1e4, 1e4, allow_nan=False), st.sampled_from([np.float32, np.float64]))
def test_inplace_sigmoid_is_stable_and_matches(x, dtype):
    z = np.array([x, -x, 0.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = sigmoid(z)
        _activate_inplace(z, "sigmoid")
    assert np.all((z >= 0) & (z <= 1))
    np.testing.assert_allclose(z, expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-30)


def test_forward_logits_chunks_agree_and_probabilities_sum_to_one():
    sizes = (5, 7, 3)
    X, _, weights, biases = _network(sizes, 2, n_rows=50)
    whole = forward_logits(X, weights, biases, "tanh", chunk_rows=1000)
    chunked = forward_logits(X, weights, biases, "tanh", chunk_rows=7)
    np.testing.assert_allclose(whole, chunked, rtol=1e-13, atol=1e-15)  # BLAS blocking: ulps
    np.testing.assert_allclose(predict_proba(X, weights, biases, "tanh").sum(axis=1), 1.0)


def test_check_activation_names():
    assert check_activation("logistic") == "sigmoid"
    with pytest.raises(ValueError, match="unknown activation 'softplus'"):
        check_activation("softplus")


def _blobs(seed=0, n_per_class=50):
    rng = np.random.default_rng(seed)
    centers = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
    X = np.concatenate([c + 0.7 * rng.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(4), n_per_class)
    return X, y


def test_four_blobs_worked_example():
    """The homework's check: loss ~ N log 4 and ~25% accuracy at start, > 75% after training."""
    X, y = _blobs()
    n_rows = len(y)
    rng = np.random.default_rng(1)
    sizes = (2, 10, 4)
    weights, biases = init_parameters(sizes, "normal", rng, np.float64)  # std 0.01: logits ~ 0
    mean_loss, accuracy = evaluate(X, y, weights, biases, "sigmoid")
    assert n_rows * mean_loss == pytest.approx(n_rows * np.log(4), rel=1e-3)
    assert 0.1 <= accuracy <= 0.5  # chance level is 25%; nothing has been learnt yet
    optimizer = SGD([*weights, *biases], learning_rate=0.5, momentum=0.9)
    workspace = Workspace(sizes, 5, np.float64)
    steps = 0
    while steps < 400:  # a few hundred small steps: batches of 5 rows
        sgd_epoch(X, y, weights, biases, "sigmoid", optimizer, workspace, rng)
        steps += n_rows // 5
    mean_loss_after, accuracy_after = evaluate(X, y, weights, biases, "sigmoid")
    assert optimizer.n_steps == steps
    assert accuracy_after > 0.75
    assert mean_loss_after < 0.5 * np.log(4)
