"""Optimisers: hand-checked steps, the step-decay schedule, state round trip, torch agreement."""

import numpy as np
import pytest

from nnbasics.mlp.optimizers import SGD, Adam, make_optimizer


def test_sgd_one_step_by_hand():
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    opt = SGD([p], learning_rate=0.1)
    opt.step([p], [g])
    np.testing.assert_allclose(p, [0.95, -2.025])
    np.testing.assert_array_equal(g, [0.5, 0.25])  # gradients are only read


def test_sgd_momentum_two_steps_by_hand():
    p = np.array([0.0])
    opt = SGD([p], learning_rate=0.1, momentum=0.9)
    opt.step([p], [np.array([1.0])])  # v = -0.1, p = -0.1
    opt.step([p], [np.array([1.0])])  # v = -0.09 - 0.1 = -0.19, p = -0.29
    np.testing.assert_allclose(p, [-0.29])
    np.testing.assert_allclose(opt.state["velocity"][0], [-0.19])


def test_step_decay_schedule():
    p = np.zeros(1)
    opt = SGD([p], learning_rate=1.0, decay_every=3, decay_factor=0.5)
    rates = []
    for _ in range(7):
        rates.append(opt.learning_rate)
        opt.step([p], [np.ones(1)])
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert p[0] == pytest.approx(-sum(rates))


def test_adam_first_step_moves_each_coordinate_by_lr():
    p = np.array([1.0, 1.0, 1.0])
    opt = Adam([p], learning_rate=0.01)
    opt.step([p], [np.array([0.1, 5.0, -3.0])])
    # after bias correction the first step is lr * g / |g| (up to epsilon)
    np.testing.assert_allclose(p, [0.99, 0.99, 1.01], rtol=1e-6)


def test_adam_matches_formula_over_steps():
    rng = np.random.default_rng(0)
    p = rng.standard_normal(5)
    ref = p.copy()
    m = np.zeros(5)
    v = np.zeros(5)
    opt = Adam([p], learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-7)
    for t in range(1, 6):
        g = rng.standard_normal(5)
        opt.step([p], [g])
        m = 0.8 * m + 0.2 * g
        v = 0.95 * v + 0.05 * g * g
        ref -= 0.05 * np.sqrt(1 - 0.95**t) / (1 - 0.8**t) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(p, ref, rtol=1e-12)


def _quadratic_run(opt_factory, torch_factory):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    A = A @ A.T + np.eye(4)
    p = rng.standard_normal(4)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = opt_factory([p])
    topt = torch_factory([tp])
    for _ in range(20):
        opt.step([p], [A @ p])
        topt.zero_grad()
        (0.5 * tp @ torch.tensor(A) @ tp).backward()
        topt.step()
    return p, tp.detach().numpy()


def test_sgd_momentum_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _quadratic_run(lambda ps: SGD(ps, 0.05, momentum=0.9),
                                  lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_sgd_nesterov_matches_torch():
    torch = pytest.importorskip("torch")
    # torch's Nesterov form (p -= lr (g + mu b)) is scikit-learn's (p += mu v - lr g), v = -lr b
    ours, theirs = _quadratic_run(lambda ps: SGD(ps, 0.05, momentum=0.9, nesterov=True),
                                  lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9,
                                                             nesterov=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_invscaling_schedule_sets_the_rate_from_the_rows_seen():
    opt = SGD([np.zeros(2)], 0.1, schedule="invscaling", power_t=0.25)
    assert opt.learning_rate == 0.1
    opt.epoch_ends(4)
    opt.epoch_ends(4)
    assert opt.learning_rate == 0.1 / 9**0.25
    assert opt.plain_step_rate() == opt.learning_rate  # constant within an epoch: still plain


def test_adaptive_schedule_divides_by_five_until_1e_6():
    opt = SGD([np.zeros(2)], 1e-4, schedule="adaptive")
    assert not opt.trigger_stopping()
    assert opt.learning_rate == pytest.approx(2e-5)
    assert not opt.trigger_stopping()  # 4e-6
    assert not opt.trigger_stopping()  # 8e-7
    assert opt.trigger_stopping()
    assert SGD([np.zeros(2)], 0.1).trigger_stopping()  # constant: the rule stops
    assert Adam([np.zeros(2)]).trigger_stopping()


def test_adam_matches_torch():
    torch = pytest.importorskip("torch")
    # torch adds epsilon to the bias-corrected sqrt(v); with epsilon -> 0 both forms coincide
    ours, theirs = _quadratic_run(lambda ps: Adam(ps, 0.01, epsilon=1e-12),
                                  lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-12))
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_float32_parameters_stay_float32():
    p = np.ones(3, dtype=np.float32)
    for opt in (SGD([p], 0.1, momentum=0.5), Adam([p])):
        opt.step([p], [np.ones(3, dtype=np.float32)])
        assert p.dtype == np.float32


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(3) for _ in range(6)]
    p1 = np.zeros(3)
    a = Adam([p1], 0.1)
    for g in grads[:3]:
        a.step([p1], [g])
    p2 = p1.copy()
    b = Adam([p2], 0.1)
    b.load_state_arrays({k: v.copy() for k, v in a.state_arrays().items()})
    b.n_steps = a.n_steps
    for g in grads[3:]:
        a.step([p1], [g])
        b.step([p2], [g])
    np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": 0.0}, "learning rate must be a positive"),
        ({"learning_rate": float("nan")}, "learning rate must be a positive"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"decay_every": 0}, "decay_every must be a positive"),
        ({"decay_factor": 1.5}, "decay_factor must be in"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([np.zeros(1)], **kwargs)


def test_make_optimizer():
    p = [np.zeros(2)]
    assert isinstance(make_optimizer("sgd", p, 0.1, momentum=0.5), SGD)
    assert isinstance(make_optimizer("adam", p, 0.1), Adam)
    with pytest.raises(ValueError, match="unknown solver 'lbfgs'"):
        make_optimizer("lbfgs", p, 0.1)
