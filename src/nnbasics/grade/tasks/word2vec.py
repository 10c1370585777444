"""Checks of CS224n's word2vec assignment (2017 ``q3_word2vec.py``/``q3_sgd.py`` and 2019
``word2vec.py``/``sgd.py``), driven the way the course's harness drives them.

Conventions: word vectors are rows (``outsideVectors`` is V×d); an objective
``f(centerVec, outsideIdx, outsideVectors, dataset[, K])`` returns ``(loss, gradCenter,
gradOutside)``; negative samples come from ``getNegativeSamples(outsideIdx, dataset, K)``, which
calls ``dataset.sampleTokenIdx()`` until it has K indices other than the outside word (repeats
allowed); ``skipgram``/``cbow`` take words as strings and a ``tokens`` dict, and the objective as
their 8th argument.  The grader's dataset draws from its own seeded ``random.Random``.
"""

from __future__ import annotations

import random

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

__all__ = ["check_cbow", "check_naive_softmax", "check_neg_sampling", "check_normalize_rows",
           "check_sgd", "check_skipgram"]


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


class DummyDataset:
    """The harness's dataset: ``sampleTokenIdx()`` draws uniformly from the vocabulary with its own
    seeded generator, and counts its calls."""

    def __init__(self, vocabulary: int, seed: int):
        self.vocabulary, self.generator, self.calls = vocabulary, random.Random(seed), 0

    def sampleTokenIdx(self) -> int:  # the course's name
        self.calls += 1
        return self.generator.randint(0, self.vocabulary - 1)


def negative_samples(target: int, vocabulary: int, seed: int, K: int) -> list[int]:
    """What the course's ``getNegativeSamples`` returns with a :class:`DummyDataset`."""
    dataset, samples = DummyDataset(vocabulary, seed), []
    while len(samples) < K:
        index = dataset.sampleTokenIdx()
        if index != target:
            samples.append(index)
    return samples


def naive_softmax(v, o, U, dataset=None, *, keep_y=True, transposed=False, center_sign=1.0):
    """Reference naive-softmax loss and gradients (course signature), with mistake switches."""
    theta = U @ v
    y_hat = np.exp(theta - theta.max())
    y_hat /= y_hat.sum()
    loss = -np.log(y_hat[o])
    delta = y_hat.copy()
    if keep_y:
        delta[o] -= 1.0
    grad_U = np.outer(v, delta) if transposed else np.outer(delta, v)
    return loss, center_sign * (U.T @ delta), grad_U


def neg_sampling(v, o, U, negatives, *, repeats_lost=False, swapped=False, negative_sign=1.0):
    """Reference negative-sampling loss and gradients for explicit negatives."""
    negatives = np.asarray(negatives, dtype=np.intp)
    s_o = _sigmoid(U[o] @ v)
    s_k = _sigmoid(U[negatives] @ v) if not swapped else _sigmoid(-(U[negatives] @ v))
    loss = -np.log(s_o) - np.sum(np.log(_sigmoid(-(U[negatives] @ v))))
    grad_v = (s_o - 1) * U[o] + negative_sign * (s_k @ U[negatives])
    grad_U = np.zeros_like(U)
    grad_U[o] += (s_o - 1) * v
    if repeats_lost:
        grad_U[negatives] += np.outer(s_k, v)
    else:
        np.add.at(grad_U, negatives, np.outer(s_k, v))
    return loss, grad_v, grad_U


def _triple(value) -> tuple | None:
    try:
        a, b, c = value
    except (TypeError, ValueError):
        return None
    return as_array(a), as_array(b), as_array(c)


def _judge(name: str, r, expected, mistakes: dict, shown) -> Finding | None:
    """Compare a (loss, grad, grad) result with the reference; name the mistake if one fits."""
    if not r.ok:
        if isinstance(r.exception, NotImplementedError):
            return Finding("not-implemented", message("not-implemented", f"{name} raised "
                           "NotImplementedError"), input=shown, severity="missing")
        text = f"{name} raised {describe_exception(r.exception)}"
        return Finding("raised", message("raised", text), input=shown, got=text, severity="error")
    got = _triple(r.value)
    if got is None or any(g is None for g in got):
        return Finding("wrong-return", message("wrong-return", f"{name} must return three "
                       "values (loss, gradient, gradient)"), input=shown, got=repr(r.value)[:200])
    if all(close(np.squeeze(g) if np.ndim(e) == 0 else g, e) for g, e in zip(got, expected,
                                                                               strict=True)):
        return None
    sizes_fit = [np.size(g) for g in got] == [np.size(e) for e in expected]
    code = "wrong-shape" if not sizes_fit else "wrong-value"
    if sizes_fit:  # a mistake fits when it explains every wrong part of the result
        wrong = [i for i in range(3) if not close(got[i], expected[i], shape=False)]
        for name, mistaken in mistakes.items():
            variant = mistaken()
            if all(close(got[i], variant[i], shape=False) for i in wrong):
                code = name.split("#")[0]
                break
    labels = ("loss", "grad center", "grad outside")
    return Finding(code, message(code, f"{name} returned a different result"), input=shown,
                   expected=dict(zip(labels, expected, strict=True)),
                   got=dict(zip(labels, got, strict=True)))


def _vectors(V: int, d: int, seed: int, scale: float):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(d) * scale, rng.standard_normal((V, d)) * scale


def _objective_strategy():
    from hypothesis import strategies as st

    return st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(0, 5),
                     st.integers(0, 2**16), st.sampled_from([0.3, 1.0, 2.5]))


# ------------------------------------------------------------------------------- normalizeRows

def check_normalize_rows(fn, ctx: Context) -> list[Finding]:
    def prop(x: np.ndarray) -> Finding | None:
        r = call(fn, x.copy())
        if not r.ok:
            text = f"normalizeRows raised {describe_exception(r.exception)}"
            return Finding("raised", message("raised", text), input=x, got=text, severity="error")
        expected = x / np.linalg.norm(x, axis=1, keepdims=True)
        if close(r.value, expected):
            return None
        code = match_mistake(r.value, {
            "normalize-columns": lambda: x / np.linalg.norm(x, axis=0, keepdims=True),
            "normalize-missing-sqrt": lambda: x / np.sum(x**2, axis=1, keepdims=True),
            "softmax-missing-keepdims": lambda: x / np.linalg.norm(x, axis=1),
        }) or "wrong-value"
        return Finding(code, message(code, "normalizeRows returned a different result"),
                       input=x, expected=expected, got=as_array(r.value))

    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    strategy = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
                          elements=st.floats(0.5, 10.0) | st.floats(-10.0, -0.5))
    edge = [np.array([[3.0, 4.0], [1.0, 2.0]]), np.array([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0],
                                                          [6.0, 0.0, 8.0]])]
    found = first_failure(prop, edge, strategy, ctx.max_examples)
    return [found] if found else []


# ------------------------------------------------------------------------------- naive softmax

def check_naive_softmax(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        V, d, o, seed, scale = spec
        o %= V
        v, U = _vectors(V, d, seed, scale)
        shown = {"centerWordVec": v, "outsideWordIdx": o, "outsideVectors": U}
        dataset = DummyDataset(V, seed)
        r = call(fn, v.copy(), o, U.copy(), dataset)
        return _judge("the naive-softmax objective", r, naive_softmax(v, o, U), {
            "softmax-grad-missing-y": lambda: naive_softmax(v, o, U, keep_y=False),
            "outside-grad-transposed": lambda: naive_softmax(v, o, U, transposed=True),
            "center-grad-sign": lambda: naive_softmax(v, o, U, center_sign=-1.0),
        }, shown)

    edge = [(5, 3, 2, 1, 1.0), (3, 3, 0, 2, 1.0), (4, 2, 3, 3, 2.5)]
    found = first_failure(prop, edge, _objective_strategy(), ctx.max_examples // 2)
    return [found] if found else []


# ----------------------------------------------------------------------------- negative sampling

def check_neg_sampling(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        V, d, o, seed, scale, K = spec
        o %= V
        v, U = _vectors(V, d, seed, scale)
        dataset = DummyDataset(V, seed)
        negatives = negative_samples(o, V, seed, 10 if K is None else K)
        shown = {"centerWordVec": v, "outsideWordIdx": o, "outsideVectors": U,
                 "K": 10 if K is None else K, "negative samples drawn": negatives}
        args = (v.copy(), o, U.copy(), dataset)
        r = call(fn, *args) if K is None else call(fn, *args, K=K)
        finding = _judge("the negative-sampling objective", r, neg_sampling(v, o, U, negatives), {
            "neg-sampling-repeated-index-lost": lambda: neg_sampling(v, o, U, negatives,
                                                                     repeats_lost=True),
            "neg-sampling-sign": lambda: neg_sampling(v, o, U, negatives, swapped=True),
            "neg-sampling-sign#2": lambda: neg_sampling(v, o, U, negatives, negative_sign=-1.0),
        }, shown)
        if finding is not None and finding.code == "wrong-value" and dataset.calls == 0:
            finding.code = "neg-sampling-own-sampler"
            finding.message = message(finding.code, "dataset.sampleTokenIdx was never called")
        return finding

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(0, 5),
                         st.integers(0, 2**16), st.sampled_from([0.3, 1.0, 2.5]),
                         st.sampled_from([None, 1, 3, 5]))
    edge = [(5, 3, 2, 1, 1.0, None),  # the harness's sizes: K = 10 from 5 words, repeats
            (3, 2, 0, 2, 1.0, 4), (6, 3, 5, 3, 0.3, 1)]
    found = first_failure(prop, edge, strategy, ctx.max_examples // 2)
    return [found] if found else []


# ------------------------------------------------------------------------------ skip-gram, CBOW

_WORDS = "abcdefgh"


def _window_strategy():
    from hypothesis import strategies as st

    return st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(0, 5),
                     st.lists(st.integers(0, 5), min_size=1, max_size=6), st.integers(0, 2**16))


def _window_case(spec):
    V, d, c, context, seed = spec
    c, context = c % V, [i % V for i in context]
    rng = np.random.default_rng(seed)
    inputs, outputs = rng.standard_normal((V, d)), rng.standard_normal((V, d))
    tokens = {_WORDS[i]: i for i in range(V)}
    return c, context, tokens, inputs, outputs


def _window_reference(model, c, context, inputs, outputs, *, overwrite=False, wrong_row=False,
                      mean=False, repeats_lost=False, mean_grad=None):
    """The course's skip-gram or CBOW with the naive-softmax objective, with mistake switches."""
    grad_in, grad_out, cost = np.zeros_like(inputs), np.zeros_like(outputs), 0.0
    if model == "skipgram":
        for o in context:
            loss, g_v, g_U = naive_softmax(inputs[c], o, outputs)
            cost += loss
            if overwrite:
                grad_in[c], grad_out = g_v, g_U
            else:
                grad_in[o if wrong_row else c] += g_v
                grad_out += g_U
        return cost, grad_in, grad_out
    v_hat = inputs[context].sum(axis=0) / (len(context) if mean else 1)
    cost, g_v, grad_out = naive_softmax(v_hat, c, outputs)
    g_v = g_v / (len(context) if (mean if mean_grad is None else mean_grad) else 1)
    if repeats_lost:
        grad_in[context] += g_v
    else:
        np.add.at(grad_in, context, g_v)
    return cost, grad_in, grad_out


_OBJECTIVE_ARGUMENTS = [("predicted", "centerWordVec"), ("target", "outsideWordIdx"),
                        ("outputVectors", "outsideVectors")]


def _check_window_model(fn, ctx: Context, model: str) -> list[Finding]:
    def objective(*args, **kwargs):
        """The reference objective, called positionally or by either year's argument names."""
        values = list(args[:3])
        for names in _OBJECTIVE_ARGUMENTS[len(values):]:
            values.append(next(kwargs[n] for n in names if n in kwargs))
        predicted, target, output_vectors = values
        return naive_softmax(np.asarray(predicted, dtype=np.float64), int(target),
                             np.asarray(output_vectors, dtype=np.float64))

    def prop(spec) -> Finding | None:
        c, context, tokens, inputs, outputs = _window_case(spec)
        words = [_WORDS[i] for i in context]
        shown = {"currentWord": _WORDS[c], "contextWords": words, "tokens": tokens,
                 "inputVectors": inputs, "outputVectors": outputs}
        r = call(fn, _WORDS[c], max(1, len(words) // 2), list(words), dict(tokens),
                 inputs.copy(), outputs.copy(), DummyDataset(len(tokens), 0), objective)
        if r.ok and model == "cbow" and _triple(r.value) is not None and all(
                np.all(np.asarray(t, dtype=float) == 0) for t in _triple(r.value) if t is not None):
            return Finding("not-implemented", message("not-implemented", "cbow returns the "
                           "starter's zeros"), input=shown, severity="missing")
        mistakes = ({"skipgram-overwrites-gradient": dict(overwrite=True),
                     "skipgram-wrong-row": dict(wrong_row=True)} if model == "skipgram" else
                    {"cbow-mean-instead-of-sum": dict(mean=True),
                     "cbow-mean-instead-of-sum#2": dict(mean=True, mean_grad=False),
                     "cbow-repeated-context-lost": dict(repeats_lost=True)})
        return _judge(model, r, _window_reference(model, c, context, inputs, outputs), {
            code: (lambda kw=kw: _window_reference(model, c, context, inputs, outputs, **kw))
            for code, kw in mistakes.items()}, shown)

    edge = [(5, 3, 2, [0, 1, 4, 3, 1, 2], 1),  # the harness's window: repeats and the centre
            (4, 2, 1, [1, 3], 2), (3, 3, 0, [2], 3)]
    found = first_failure(prop, edge, _window_strategy(), ctx.max_examples // 2)
    return [found] if found else []


def check_skipgram(fn, ctx: Context) -> list[Finding]:
    return _check_window_model(fn, ctx, "skipgram")


def check_cbow(fn, ctx: Context) -> list[Finding]:
    return _check_window_model(fn, ctx, "cbow")


# ------------------------------------------------------------------------------------------ SGD

def _normalize_rows_inplace(x):
    """An idempotent postprocessing that works both in place and through its return value."""
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x


def _sgd_reference(f, x0, step, iterations, post, *, sign=-1.0, skip_post=False):
    x = np.array(x0, dtype=np.float64, copy=True)
    for _ in range(iterations):
        _, grad = f(x)
        x = x + sign * step * grad
        if post is not None and not skip_post:
            x = post(x)
    return x


def check_sgd(fn, ctx: Context) -> list[Finding]:
    def prop(spec) -> Finding | None:
        seed, iterations, with_post = spec
        rng = np.random.default_rng(seed)
        a, b = rng.uniform(0.5, 2.0, (3, 4)), rng.standard_normal((3, 4))
        x0 = rng.standard_normal((3, 4))

        def f(x):
            x = np.asarray(x, dtype=np.float64)
            return float(np.sum(a * x**2) / 2 + np.sum(b * x)), a * x + b

        post = _normalize_rows_inplace if with_post else None
        shown = {"f": "x -> (sum(a x²)/2 + b·x, a x + b)", "a": a, "b": b, "x0": x0,
                 "step": 0.1, "iterations": iterations,
                 "postprocessing": "normalize rows" if with_post else None}
        r = call(fn, f, x0.copy(), 0.1, iterations, post, PRINT_EVERY=10**9)
        if not r.ok:
            text = f"sgd raised {describe_exception(r.exception)}"
            return Finding("raised", message("raised", text), input=shown, got=text,
                           severity="error")
        expected = _sgd_reference(f, x0, 0.1, iterations, post)
        if close(r.value, expected):
            return None
        code = match_mistake(r.value, {
            "sgd-gradient-ascent": lambda: _sgd_reference(f, x0, 0.1, iterations, post, sign=1.0),
            "sgd-no-postprocessing": lambda: _sgd_reference(f, x0, 0.1, iterations, post,
                                                            skip_post=True),
        }) or "wrong-value"
        return Finding(code, message(code, "sgd returned a different point"), input=shown,
                       expected=expected, got=as_array(r.value))

    from hypothesis import strategies as st

    strategy = st.tuples(st.integers(0, 2**16), st.integers(1, 12), st.booleans())
    found = first_failure(prop, [(1, 5, False), (2, 5, True)], strategy,
                          max(4, ctx.max_examples // 4))
    if found is None:
        r = call(fn, lambda x: (float(np.sum(x**2)), 2 * x), 0.5, 0.01, 1000, PRINT_EVERY=10**9)
        if not r.ok or not close(np.squeeze(as_array(r.value)) if r.ok else None,
                                 0.5 * 0.98**1000, atol=1e-9):
            got = describe_exception(r.exception) if not r.ok else r.value
            found = Finding("wrong-value" if r.ok else "raised", message(
                "wrong-value" if r.ok else "raised", "the course's sanity check sgd(quad, 0.5, "
                "0.01, 1000) failed"), input="sgd(quad, 0.5, 0.01, 1000)",
                expected=0.5 * 0.98**1000, got=got, severity="fail" if r.ok else "error")
    return [found] if found else []
