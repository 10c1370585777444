"""Checks of CMU 16-720's ``nn.py``, driven as the course's ``run_q2.py`` drives it.

Conventions: parameters live in a dict ``params``; ``initialize_weights(in_size, out_size,
params, name)`` stores ``params['W' + name]`` (in×out, Xavier: uniform with Var = 2/(in + out))
and ``params['b' + name]`` (out_size zeros, 1-D); ``forward(X, params, name, activation)`` returns
``activation(X W + b)`` and stores ``params['cache_' + name] = (X, pre_act, post_act)``;
``backwards(delta, params, name, activation_deriv)`` reads that cache, stores
``params['grad_W' + name]`` and ``params['grad_b' + name]`` and returns ∂J/∂X;
``compute_loss_and_acc(y, probs)`` returns the total cross-entropy and the accuracy;
``get_random_batches(x, y, batch_size)`` returns a list of ``(batch_x, batch_y)``.
"""

from __future__ import annotations

import numpy as np

from nnbasics.grade.mistakes import message
from nnbasics.grade.tasks.checking import (
    Context,
    Finding,
    as_array,
    call,
    close,
    describe_exception,
    first_failure,
    match_mistake,
)

__all__ = ["check_backwards", "check_compute_loss_and_acc", "check_forward",
           "check_get_random_batches", "check_initialize_weights"]

NAME = "layer1"


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid_deriv(post_act):
    """The course's sigmoid derivative: a function of the value ``post_act``."""
    return post_act * (1.0 - post_act)


def linear_deriv(post_act):
    return np.ones_like(post_act)


def _seed_global(seed: int) -> None:
    """Seed NumPy's global generator: the course's code draws from it, as its harness seeds it."""
    np.random.seed(seed)  # noqa: NPY002


def _raised(name: str, r, shown) -> Finding:
    text = f"{name} raised {describe_exception(r.exception)}"
    if isinstance(r.exception, NotImplementedError):
        return Finding("not-implemented", message("not-implemented", text), input=shown,
                       severity="missing")
    return Finding("raised", message("raised", text), input=shown, got=text, severity="error")


# --------------------------------------------------------------------------- initialize_weights

def check_initialize_weights(fn, ctx: Context) -> list[Finding]:
    findings = []
    for in_size, out_size in ((300, 200), (2, 3)):
        shown = {"in_size": in_size, "out_size": out_size, "name": NAME}
        _seed_global(5)
        params: dict = {}
        r = call(fn, in_size, out_size, params, NAME)
        if not r.ok:
            return [_raised("initialize_weights", r, shown)]
        W, b = params.get("W" + NAME), params.get("b" + NAME)
        if W is None or b is None:
            return [Finding("wrong-return", message("wrong-return", "params['W' + name] and "
                            "params['b' + name] must be set"), input=shown, got=sorted(params))]
        W, b = as_array(W), as_array(b)
        if W is None or W.shape != (in_size, out_size):
            return [Finding("wrong-shape", message("wrong-shape", "W must be in_size × out_size"),
                            input=shown, expected=(in_size, out_size), got=np.shape(W))]
        if b is None or b.size != out_size:
            return [Finding("wrong-shape", message("wrong-shape", "b must hold out_size values"),
                            input=shown, expected=(out_size,), got=np.shape(b))]
        if b.shape != (out_size,):
            return [Finding("bias-not-1d", message("bias-not-1d", "b has a singleton axis"),
                            input=shown, expected=(out_size,), got=b.shape)]
        if np.any(b != 0):
            return [Finding("bias-not-zero", message("bias-not-zero", "b is not zero"),
                            input=shown, expected=np.zeros(out_size), got=b)]
        if W.size > 1 and np.all(W == W.flat[0]):
            return [Finding("weights-not-random", message("weights-not-random", "W is constant"),
                            input=shown, got=W)]
    # the first, large case decides the distribution: 60,000 draws
    _seed_global(5)
    params = {}
    call(fn, 300, 200, params, NAME)
    W = np.asarray(params["W" + NAME], dtype=np.float64)
    limit, variance = np.sqrt(6.0 / 500), 2.0 / 500
    shown = {"in_size": 300, "out_size": 200}
    if abs(W.var() / variance - 1) > 0.05:
        return [Finding("xavier-wrong-variance", message("xavier-wrong-variance", "the variance "
                        "of W is off"), input=shown, expected=variance, got=float(W.var()))]
    if np.abs(W).max() > limit * (1 + 1e-9) or abs(W.mean()) > 1e-3:
        return [Finding("xavier-not-uniform", message("xavier-not-uniform", "W is not uniform on "
                        "[-√(6/(in+out)), √(6/(in+out))]"), input=shown, expected=float(limit),
                        got=float(np.abs(W).max()))]
    _seed_global(5)
    again: dict = {}
    call(fn, 300, 200, again, NAME)
    if not np.array_equal(again["W" + NAME], W):
        findings.append(Finding("init-ignores-numpy-seed", message(
            "init-ignores-numpy-seed", "two calls after _seed_global(5) differ"),
            input=shown, severity="note"))
    return findings


# -------------------------------------------------------------------------------------- forward

def _layer_case(spec):
    N, D, K, seed = spec
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.standard_normal((D, K)), rng.standard_normal(K)


def check_forward(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        X, W, b = _layer_case(spec[:4])
        activation = {"sigmoid": _sigmoid, "softmax": _softmax}[spec[4]]
        params = {"W" + NAME: W.copy(), "b" + NAME: b.copy()}
        shown = {"X": X, "W": W, "b": b, "activation": spec[4]}
        r = call(fn, X.copy(), params, NAME, activation)
        if not r.ok:
            return _raised("forward", r, shown)
        pre = X @ W + b
        expected = activation(pre)
        if not close(r.value, expected):
            code = match_mistake(r.value, {
                "forward-ignores-activation": lambda: _sigmoid(pre),
                "forward-bias-missing": lambda: activation(X @ W),
                "w-gradient-transposed": lambda: activation(X @ W.T + b),
            }) or "wrong-value"
            return Finding(code, message(code, "forward returned a different result"),
                           input=shown, expected=expected, got=as_array(r.value))
        cache = params.get("cache_" + NAME)
        try:
            cached_X, cached_pre, cached_post = cache
            ok = close(cached_X, X) and close(cached_pre, pre) and close(cached_post, expected)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            return Finding("forward-cache-missing", message(
                "forward-cache-missing", "the cache is missing or holds other values"),
                input=shown, expected="(X, pre_act, post_act)", got=repr(cache)[:200])
        return None

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(2, 5),
                         st.integers(0, 2**16), st.sampled_from(["sigmoid", "softmax"]))
    edge = [(4, 3, 3, 1, "sigmoid"), (3, 2, 4, 2, "softmax"), (1, 4, 2, 3, "sigmoid")]
    found = first_failure(prop, edge, strategy, ctx.max_examples // 2)
    return [found] if found else []


# -------------------------------------------------------------------------- compute_loss_and_acc

def check_compute_loss_and_acc(fn, ctx: Context) -> list[Finding]:
    notes: list[Finding] = []

    def prop(spec) -> Finding | None:
        N, K, seed = spec
        rng = np.random.default_rng(seed)
        probs = _softmax(rng.standard_normal((N, K)) * 2)
        y = np.eye(K)[rng.integers(0, K, N)]
        shown = {"y": y, "probs": probs}
        r = call(fn, y.copy(), probs.copy())
        if not r.ok:
            return _raised("compute_loss_and_acc", r, shown)
        try:
            loss, acc = r.value
        except (TypeError, ValueError):
            return Finding("wrong-return", message("wrong-return", "return (loss, acc)"),
                           input=shown, got=repr(r.value)[:200])
        total = -np.sum(y * np.log(probs))
        correct = int(np.sum(probs.argmax(axis=1) == y.argmax(axis=1)))
        expected = {"loss": total, "acc": correct / N}
        got = {"loss": as_array(loss), "acc": as_array(acc)}
        loss_ok = close(got["loss"], total, rtol=1e-5) if got["loss"] is not None else False
        if not loss_ok and got["loss"] is not None and close(got["loss"], total / N, rtol=1e-5):
            loss_ok = N == 1 or not notes.append(Finding("loss-not-total", message(
                "loss-not-total", "the loss is the mean over the rows"), input=shown,
                expected=total, got=got["loss"], severity="note"))
        acc_ok = got["acc"] is not None and close(got["acc"], correct / N, atol=1e-9)
        if loss_ok and acc_ok:
            return None
        if not acc_ok:
            code = "accuracy-as-count" if got["acc"] is not None and close(
                got["acc"], correct, atol=1e-9) and correct != correct / N else "wrong-value"
        else:
            code = "loss-sign" if got["loss"] is not None and (
                close(got["loss"], -total, rtol=1e-5) or close(got["loss"], -total / N,
                                                               rtol=1e-5)) else "wrong-value"
        return Finding(code, message(code, "compute_loss_and_acc returned a different result"),
                       input=shown, expected=expected, got=got)

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(1, 8), st.integers(2, 5), st.integers(0, 2**16))
    found = first_failure(prop, [(5, 3, 1), (8, 4, 2)], strategy, ctx.max_examples // 2)
    return [found] if found else notes[:1]


# ------------------------------------------------------------------------------------ backwards

def check_backwards(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        X, W, b = _layer_case(spec[:4])
        deriv = {"sigmoid": sigmoid_deriv, "linear": linear_deriv}[spec[4]]
        pre = X @ W + b
        post = _sigmoid(pre) if spec[4] == "sigmoid" else pre
        delta = np.random.default_rng(spec[3] + 1).standard_normal(post.shape)
        params = {"W" + NAME: W.copy(), "b" + NAME: b.copy(),
                  "cache_" + NAME: (X.copy(), pre.copy(), post.copy())}
        shown = {"delta": delta, "X": X, "W": W, "b": b, "activation_deriv": spec[4]}
        r = call(fn, delta.copy(), params, NAME, deriv)
        if not r.ok:
            return _raised("backwards", r, shown)
        d = delta * deriv(post)
        expected = {"grad_X": d @ W.T, "grad_W": X.T @ d, "grad_b": d.sum(axis=0)}
        got = {"grad_X": as_array(r.value), "grad_W": as_array(params.get("grad_W" + NAME)),
               "grad_b": as_array(params.get("grad_b" + NAME))}
        if all(close(got[k], expected[k]) for k in expected):
            return None
        d_pre = delta * deriv(pre)
        variants = {
            "backwards-ignores-activation-deriv": {"grad_X": d_sig(delta, post) @ W.T,
                                                   "grad_W": X.T @ d_sig(delta, post),
                                                   "grad_b": d_sig(delta, post).sum(axis=0)},
            "backwards-grad-x-skips-activation": {"grad_X": delta @ W.T},
            "activation-deriv-of-preactivation": {"grad_X": d_pre @ W.T, "grad_W": X.T @ d_pre,
                                                  "grad_b": d_pre.sum(axis=0)},
            "w-gradient-transposed": {"grad_W": (X.T @ d).T if X.shape[1] == d.shape[1]
                                      else d.T @ X},
            "bias-grad-not-summed": {"grad_b": d[0]},
            "bias-grad-mean": {"grad_b": d.mean(axis=0)},
        }
        wrong = [k for k in expected if not close(got[k], expected[k])]
        code = "wrong-value"
        for name, values in variants.items():
            if all(k in values and close(got[k], values[k], shape=False) for k in wrong):
                code = name
                break
        if code == "wrong-value" and "grad_b" in wrong and got["grad_b"] is not None \
                and got["grad_b"].size != b.size:
            code = "bias-grad-not-summed" if got["grad_b"].size == d.size else \
                "bias-grad-wrong-axis"
        return Finding(code, message(code, "backwards returned different gradients"),
                       input=shown, expected={k: expected[k] for k in wrong},
                       got={k: got[k] for k in wrong})

    def d_sig(delta, post):
        return delta * sigmoid_deriv(post)

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5),
                         st.integers(0, 2**16), st.sampled_from(["sigmoid", "linear"]))
    edge = [(4, 3, 3, 1, "sigmoid"), (3, 2, 4, 2, "sigmoid"), (3, 4, 2, 3, "linear")]
    found = first_failure(prop, edge, strategy, ctx.max_examples // 2)
    return [found] if found else []


# --------------------------------------------------------------------------- get_random_batches

def check_get_random_batches(fn, ctx: Context) -> list[Finding]:
    for N, size in ((20, 5), (23, 5), (12, 4)):
        x = np.arange(N * 3, dtype=np.float64).reshape(N, 3)  # row i starts with 3i
        y = np.eye(N)[np.arange(N)]  # one-hot of the row's own index: a pairing check
        shown = {"x": f"{N}×3 rows numbered 0..{N - 1}", "y": f"one-hot {N}×{N}",
                 "batch_size": size}
        _seed_global(11)
        r = call(fn, x.copy(), y.copy(), size)
        if not r.ok:
            return [_raised("get_random_batches", r, shown)]
        try:
            pairs = [(np.asarray(bx), np.asarray(by)) for bx, by in r.value]
        except (TypeError, ValueError):
            return [Finding("wrong-return", message("wrong-return", "return a list of "
                            "(batch_x, batch_y)"), input=shown, got=repr(r.value)[:200])]
        rows_x = np.concatenate([bx[:, 0] // 3 for bx, _ in pairs]).astype(int) if pairs else []
        rows_y = np.concatenate([by.argmax(axis=1) for _, by in pairs]) if pairs else []
        if len(rows_x) != len(rows_y) or np.any(rows_x != rows_y):
            return [Finding("batches-pairs-broken", message("batches-pairs-broken", "a batch_x "
                            "row is paired with another row's label"), input=shown,
                            got=[list(map(int, rows_x[:10])), list(map(int, rows_y[:10]))])]
        sizes = [len(bx) for bx, _ in pairs]
        if len(set(rows_x)) != len(rows_x) or len(rows_x) < N - (size - 1):
            text = f"{len(rows_x)} rows returned, {len(set(rows_x))} distinct, of {N}"
            return [Finding("batches-rows-repeated", message("batches-rows-repeated", text),
                            input=shown, expected=N, got=len(set(rows_x)))]
        if (N % size == 0 and sizes != [size] * (N // size)) or max(sizes) >= 2 * size:
            return [Finding("batches-wrong-size", message("batches-wrong-size", "unexpected batch "
                            "sizes"), input=shown, expected=size, got=sizes)]
        if np.array_equal(rows_x, np.sort(rows_x)):
            return [Finding("batches-not-shuffled", message("batches-not-shuffled", "the rows come "
                            "back in order"), input=shown, got=list(map(int, rows_x)))]
    return []
