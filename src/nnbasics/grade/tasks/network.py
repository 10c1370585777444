"""Check of the one-hidden-layer network's ``forward_backward_prop(data, labels, params, dims)``.

Convention (METL TP1, CS224n 2017 ``q2_neural.py``): ``data`` is N×Dx, ``labels`` N×Dy one-hot,
``params`` the flat vector W1 (Dx×H) | b1 (H) | W2 (H×Dy) | b2 (Dy), a sigmoid hidden layer and a
softmax output; it returns ``(cost, grad)``, the cross-entropy of the batch and its gradient in
the same flat layout.  The course's harness only gradient-checks the pair, so a cost summed over
the rows and one averaged over them are both accepted, provided the gradient is of the same cost.
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
)

__all__ = ["check_forward_backward", "reference_forward_backward"]


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def reference_forward_backward(X, Y, params, dims, *, w1_transposed=False, w2_transposed=False,
                               bias="sum", hidden_deriv="value", output_sign=1.0,
                               cost_scale=1.0, grad_scale=1.0):
    """Cost and flat gradient of the network, with switches that reproduce known mistakes.

    ``bias``: "sum" (right), "mean" or "first" (the first row's delta); ``hidden_deriv``: "value"
    (right: h(1-h)), "pre" (the sigmoid gradient applied to the pre-activation), "none";
    ``output_sign`` -1 gives y - ŷ.
    """
    Dx, H, Dy = dims
    sizes = [Dx * H, H, H * Dy, Dy]
    W1, b1, W2, b2 = np.split(np.asarray(params, dtype=np.float64), np.cumsum(sizes)[:-1])
    W1, W2 = W1.reshape(Dx, H), W2.reshape(H, Dy)
    z1 = X @ W1 + b1
    h = _sigmoid(z1)
    z2 = h @ W2 + b2
    log_p = z2 - z2.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    cost = -np.sum(Y * log_p)
    d2 = output_sign * (np.exp(log_p) - Y)
    deriv = {"value": h * (1 - h), "pre": z1 * (1 - z1), "none": np.ones_like(h)}[hidden_deriv]
    d1 = (d2 @ W2.T) * deriv
    dW2 = (d2.T @ h) if w2_transposed else h.T @ d2
    dW1 = (d1.T @ X) if w1_transposed else X.T @ d1
    reduce = {"sum": lambda d: d.sum(axis=0), "mean": lambda d: d.mean(axis=0),
              "first": lambda d: d[0], "rows": lambda d: d.sum(axis=1)}[bias]
    grad = np.concatenate([dW1.ravel(), reduce(d1), dW2.ravel(), reduce(d2)])
    return cost * cost_scale, grad * grad_scale


def _case(spec):
    """Inputs of one test from (N, Dx, H, Dy, seed, scale): data, one-hot labels, params."""
    N, Dx, H, Dy, seed, scale = spec
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, Dx)) * scale
    Y = np.zeros((N, Dy))
    Y[np.arange(N), rng.integers(0, Dy, N)] = 1.0
    params = rng.standard_normal((Dx + 1) * H + (H + 1) * Dy) * scale
    return X, Y, params, [Dx, H, Dy]


_GRAD_MISTAKES = {
    "w2-gradient-transposed": dict(w2_transposed=True),
    "w1-gradient-transposed": dict(w1_transposed=True),
    "bias-grad-not-summed": dict(bias="first"),
    "bias-grad-mean": dict(bias="mean"),
    "bias-grad-wrong-axis": dict(bias="rows"),
    "sigmoid-grad-of-preactivation": dict(hidden_deriv="pre"),
    "missing-sigmoid-derivative": dict(hidden_deriv="none"),
    "softmax-ce-grad-sign": dict(output_sign=-1.0),
}


def _diagnose(X, Y, params, dims, cost_a, grad_a, cost_s, grad_s) -> str:
    """Name the mistake behind a wrong (cost, grad) of the right length."""
    N = X.shape[0]
    scalar_cost = cost_a is not None and cost_a.size == 1
    for m in (1, N):  # the gradient is right (summed or averaged): then the cost is not
        if close(grad_a, grad_s / m, shape=False):
            other = N if m == 1 else 1
            if scalar_cost and N > 1 and close(cost_a.reshape(()), cost_s / other):
                return "cost-grad-scale-mismatch"
            return "cost-wrong"
    Dx, H, Dy = dims
    cuts = np.cumsum([Dx * H, H, H * Dy])
    got_blocks = np.split(np.ravel(grad_a), cuts)
    for m in (1, N):
        wrong = [i for i, block in enumerate(np.split(grad_s / m, cuts))
                 if not close(got_blocks[i], block, shape=False)]
        for name, kw in _GRAD_MISTAKES.items():
            try:
                variant = np.split(reference_forward_backward(X, Y, params, dims, **kw)[1] / m,
                                   cuts)
            except ValueError:  # the variant's shapes do not fit these dimensions
                continue
            if all(close(got_blocks[i], variant[i], shape=False) for i in wrong):
                return name
    return "wrong-value"


def check_forward_backward(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        X, Y, params, dims = _case(spec)
        N = X.shape[0]
        shown = {"data": X, "labels": Y, "params": params, "dimensions": dims}
        args = (X.copy(), Y.copy(), params.copy(), list(dims))
        r = call(fn, *args)
        if not r.ok:
            text = f"forward_backward_prop raised {describe_exception(r.exception)}"
            return Finding("raised", message("raised", text), input=shown, got=text,
                           severity="error")
        if not np.array_equal(args[2], params) or not np.array_equal(args[0], X):
            return Finding("input-mutated", message(
                "input-mutated", "forward_backward_prop changed params or data"),
                input=shown, expected=params, got=args[2])
        try:
            cost, grad = r.value
        except (TypeError, ValueError):
            return Finding("wrong-return", message(
                "wrong-return", "forward_backward_prop must return (cost, grad)"),
                input=shown, got=repr(r.value)[:200])
        cost_a, grad_a = as_array(cost), as_array(grad)
        cost_s, grad_s = reference_forward_backward(X, Y, params, dims)
        for n in (1, N):  # summed, or averaged over the rows
            if (cost_a is not None and cost_a.size == 1 and close(cost_a.reshape(()), cost_s / n)
                    and close(grad_a, grad_s / n, shape=False)):
                return None
        expected = {"cost": cost_s, "grad": grad_s}
        got = {"cost": cost_a, "grad": grad_a}
        code = "wrong-value"
        if grad_a is not None and grad_a.size != grad_s.size:
            H, Dy = dims[1], dims[2]
            extra = grad_a.size - grad_s.size
            code = "wrong-shape"
            if N > 1 and extra in {(N - 1) * H, (N - 1) * Dy, (N - 1) * (H + Dy)}:
                code = "bias-grad-not-summed"
            elif extra in {N - H, N - Dy, 2 * N - H - Dy}:
                code = "bias-grad-wrong-axis"
        else:
            code = _diagnose(X, Y, params, dims, cost_a, grad_a, cost_s, grad_s)
        return Finding(code, message(code, "forward_backward_prop returned a different result"),
                       input=shown, expected=expected, got=got)

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 5),
                         st.integers(2, 5), st.integers(0, 2**16), st.sampled_from([0.5, 1.0, 3.0]))
    edge = [(3, 4, 3, 3, 1, 1.0),    # H = Dy: a transposed W2 gradient fits the layout
            (3, 3, 3, 4, 2, 1.0),    # Dx = H: a transposed W1 gradient fits the layout
            (1, 2, 3, 4, 3, 1.0),    # one row
            (20, 10, 5, 10, 4, 1.0),  # the size of the course's sanity check
            (4, 5, 6, 3, 5, 3.0)]
    found = first_failure(prop, edge, strategy, ctx.max_examples // 2)
    return [found] if found else []
