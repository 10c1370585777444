"""The compiled word2vec kernel (``nnbasics._accel.word2vec_kernels``) against the explicit
objectives: the steps of negative sampling (here) and hierarchical softmax (``test_hs.py``), the
walk over whole batches, the random draws, the checks of its input.

Inputs are tiny so that numba's compilation (cached) dominates the time of this module.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from nnbasics._accel import word2vec_kernels as kernels
from nnbasics._accel.word2vec_kernels import (
    cbow_window_step,
    kernel_config,
    sample_negatives,
    sg_window_step,
    train_batch,
)
from nnbasics.core.gradcheck import assert_gradcheck
from nnbasics.word2vec.objectives import cbow, neg_sampling_loss_and_gradient, skipgram

V, D = 7, 5  # tiny vocabulary and vector size of the one-step tests
NO_LOCK = np.ones(0, dtype=np.float32)  # no vectors_lockf factors: every input step whole


def _vectors(rng, n_words=V, dim=D, scale=0.6):
    center = rng.normal(0, scale, (n_words, dim)).astype(np.float32)
    outside = rng.normal(0, scale, (n_words, dim)).astype(np.float32)
    return center, outside


def _outputs(target, negatives):
    """Output rows and labels of a negative-sampling step: the target (1), the negatives (0)."""
    targets = np.asarray([target, *negatives], dtype=np.int32)
    labels = np.zeros(targets.size, dtype=np.uint8)
    labels[0] = 1
    return targets, labels


def _sg_step(center, outside, contexts, target, negatives, alpha, lock_factors=NO_LOCK):
    """Run the kernel's skip-gram step on copies; return (loss, center after, outside after)."""
    center, outside = center.copy(), outside.copy()
    contexts = np.asarray(contexts, dtype=np.int32)
    targets, labels = _outputs(target, negatives)
    coef = np.empty((contexts.size, targets.size), dtype=np.float32)
    dinputs = np.empty((contexts.size, center.shape[1]), dtype=np.float32)
    loss = sg_window_step(center, outside, contexts, contexts.size, targets, labels, 0,
                          targets.size, alpha, coef, dinputs, lock_factors)
    return loss, center, outside


def _cbow_step(center, outside, contexts, target, negatives, alpha, cbow_mean=True,
               lock_factors=NO_LOCK):
    center, outside = center.copy(), outside.copy()
    contexts = np.asarray(contexts, dtype=np.int32)
    targets, labels = _outputs(target, negatives)
    hidden = np.empty(center.shape[1], dtype=np.float32)
    dhidden = np.empty(center.shape[1], dtype=np.float32)
    coef = np.empty(targets.size, dtype=np.float32)
    loss = cbow_window_step(center, outside, contexts, contexts.size, targets, labels, 0,
                            targets.size, alpha, cbow_mean, coef, hidden, dhidden,
                            lock_factors)
    return loss, center, outside


def _train(center_vectors, outside_vectors, tokens, sentence_ends, keep_probability,
           noise_cum_table, sg, window, negative, alpha_start, alpha_end, seed, n_threads=1,
           **settings):
    """Configure the kernel for negative sampling and train one batch."""
    config = kernel_config(center_vectors, keep_probability, sg=sg, window=window,
                           negative=negative, outside_vectors=outside_vectors,
                           noise_cum_table=noise_cum_table, **settings)
    return train_batch(config, tokens, sentence_ends, alpha_start, alpha_end, seed, n_threads)


def _reference_sg(center, outside, contexts, target, negatives):
    """Loss and gradients of one shared-negatives window from the explicit objectives (float64).

    The window's pairs are (context c_j -> center word), every pair against the same negatives:
    the sum over j of ``skipgram(c_j, [target], ...)``, all at the vectors before the step.
    """
    objective = functools.partial(neg_sampling_loss_and_gradient, negative_indices=negatives)
    loss, grad_center, grad_outside = 0.0, 0.0, 0.0
    for c in contexts:
        pair_loss, g_center, g_outside = skipgram(
            c, [target], center.astype(np.float64), outside.astype(np.float64), objective
        )
        loss, grad_center, grad_outside = (
            loss + pair_loss, grad_center + g_center, grad_outside + g_outside
        )
    return loss, grad_center, grad_outside


def _reference_cbow(center, outside, contexts, target, negatives, mean=True):
    objective = functools.partial(neg_sampling_loss_and_gradient, negative_indices=negatives)
    return cbow(target, contexts, center.astype(np.float64), outside.astype(np.float64), objective,
                mean=mean)


# A window with a repeated context word and a repeated negative: both must accumulate.
WINDOWS = [
    ([3], 1, [0, 5, 6]),  # a single positive pair
    ([2, 4, 4, 6], 1, [0, 5, 5, 3]),
]


@pytest.mark.parametrize(("contexts", "target", "negatives"), WINDOWS)
def test_sg_step_is_one_sgd_step_on_the_reference_objective(rng, contexts, target, negatives):
    center, outside = _vectors(rng)
    alpha = 0.07
    loss, center_after, outside_after = _sg_step(
        center, outside, contexts, target, negatives, alpha
    )
    ref_loss, grad_center, grad_outside = _reference_sg(
        center, outside, contexts, target, negatives
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(center_after, center - alpha * grad_center, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outside_after, outside - alpha * grad_outside, rtol=1e-5, atol=1e-6)
    assert not np.allclose(center_after, center)  # the step did something


@pytest.mark.parametrize(("contexts", "target", "negatives"), WINDOWS)
def test_cbow_step_is_gensims_step_on_the_reference_objective(rng, contexts, target, negatives):
    """Outside rows: exactly -alpha * gradient.  Context rows: -alpha * m * gradient, i.e. the
    whole step at the mean h, as word2vec.c and gensim's cbow_mean=1 apply it."""
    center, outside = _vectors(rng)
    alpha = 0.07
    loss, center_after, outside_after = _cbow_step(
        center, outside, contexts, target, negatives, alpha
    )
    ref_loss, grad_center, grad_outside = _reference_cbow(
        center, outside, contexts, target, negatives
    )
    m = len(contexts)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(outside_after, outside - alpha * grad_outside, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        center_after, center - alpha * m * grad_center, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(("contexts", "target", "negatives"), WINDOWS)
def test_cbow_sum_step_is_gensims_step_on_the_reference_objective(rng, contexts, target,
                                                                  negatives):
    """cbow_mean=0: input h = the sum of the contexts.  Outside rows: exactly -alpha * gradient.
    Context rows: -alpha * gradient / m, the step at h shared by the m contexts, as gensim's
    cbow_mean=0 applies it."""
    center, outside = _vectors(rng)
    alpha = 0.07
    loss, center_after, outside_after = _cbow_step(
        center, outside, contexts, target, negatives, alpha, cbow_mean=False
    )
    ref_loss, grad_center, grad_outside = _reference_cbow(
        center, outside, contexts, target, negatives, mean=False
    )
    m = len(contexts)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(outside_after, outside - alpha * grad_outside, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        center_after, center - alpha * grad_center / m, rtol=1e-5, atol=1e-6
    )
    mean_loss = _cbow_step(center, outside, contexts, target, negatives, alpha)[0]
    assert m == 1 or loss != pytest.approx(mean_loss)  # the sum is another input than the mean


LOCK = np.array([1.0, 0.0, 0.5, 1.0, 0.25, 2.0, 0.0], dtype=np.float32)  # per word, V entries


@pytest.mark.parametrize("step", [_sg_step, _cbow_step], ids=["skipgram", "cbow"])
@pytest.mark.parametrize(("contexts", "target", "negatives"), WINDOWS)
def test_lock_factors_scale_each_input_step_and_leave_the_outputs_alone(
        rng, step, contexts, target, negatives):
    """gensim's vectors_lockf: input row w moves by lock_factors[w] times its whole step (0: not
    at all); the output rows take the step they take without factors."""
    center, outside = _vectors(rng)
    alpha = 0.07
    loss, free_center, free_outside = step(center, outside, contexts, target, negatives, alpha)
    locked_loss, locked_center, locked_outside = step(
        center, outside, contexts, target, negatives, alpha, lock_factors=LOCK)
    assert locked_loss == loss
    np.testing.assert_array_equal(locked_outside, free_outside)
    np.testing.assert_allclose(locked_center - center, LOCK[:, None] * (free_center - center),
                               rtol=1e-6, atol=1e-7)
    frozen = np.flatnonzero(LOCK == 0)
    np.testing.assert_array_equal(locked_center[frozen], center[frozen])  # bit for bit
    moved = [w for w in contexts if LOCK[w] != 0]
    assert not np.allclose(locked_center[moved], center[moved])


def test_lock_factors_all_ones_take_the_path_without_factors(rng):
    center, outside = _vectors(rng)
    keep = np.ones(V, dtype=np.float32)
    table = np.cumsum(np.arange(1, V + 1, dtype=np.int64)) * 1000
    common = dict(sg=True, window=2, outside_vectors=outside, noise_cum_table=table)
    assert kernel_config(center, keep, **common).lock_factors.size == 0
    ones = kernel_config(center, keep, **common, lock_factors=np.ones(V, np.float32))
    assert ones.lock_factors.size == 0  # nothing multiplied: the common case as fast as before
    assert kernel_config(center, keep, **common, lock_factors=LOCK).lock_factors is LOCK
    with pytest.raises(ValueError, match="lock_factors has 3 entries"):
        kernel_config(center, keep, **common, lock_factors=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="finite"):
        kernel_config(center, keep, **common,
                      lock_factors=np.full(V, np.nan, dtype=np.float32))


def _implied_gradient(step, contexts, target, negatives, alpha=1e-3):
    """f(x) = (reference loss at x, gradient implied by one kernel step at x) for gradcheck."""

    def f(flat):
        center = flat[: V * D].reshape(V, D)
        outside = flat[V * D :].reshape(V, D)
        ref = _reference_sg if step is _sg_step else _reference_cbow
        loss = ref(center, outside, contexts, target, negatives)[0]
        _, c_after, o_after = step(
            center.astype(np.float32), outside.astype(np.float32), contexts, target, negatives,
            alpha,
        )
        grad_center = (center.astype(np.float32) - c_after).astype(np.float64) / alpha
        if step is _cbow_step:
            grad_center /= len(contexts)  # undo gensim's m-times input step (see above)
        grad_outside = (outside.astype(np.float32) - o_after).astype(np.float64) / alpha
        return loss, np.concatenate([grad_center.ravel(), grad_outside.ravel()])

    return f


@pytest.mark.parametrize("step", [_sg_step, _cbow_step], ids=["skipgram", "cbow"])
def test_kernel_step_gradient_matches_numerical_gradient(rng, step):
    # float32 kernel vs float64 numerical differences: the step is recovered from float32
    # differences of size alpha * grad, so the comparison holds to ~1e-4 relative, not 1e-5
    contexts, target, negatives = WINDOWS[1]
    center, outside = _vectors(rng)
    x = np.concatenate([center.ravel(), outside.ravel()]).astype(np.float32).astype(np.float64)
    assert_gradcheck(
        _implied_gradient(step, contexts, target, negatives, alpha=0.05), x,
        name=f"kernel {step.__name__}", tol=2e-4,
    )


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_kernel_step_matches_torch_autograd(rng, sg):
    torch = pytest.importorskip("torch")
    contexts, target, negatives = WINDOWS[1]
    center, outside = _vectors(rng)
    alpha = 0.05
    step = _sg_step if sg else _cbow_step
    _, center_after, outside_after = step(center, outside, contexts, target, negatives, alpha)

    c = torch.tensor(center, dtype=torch.float64, requires_grad=True)
    o = torch.tensor(outside, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor([target, *negatives])
    signs = torch.tensor([1.0] + [-1.0] * len(negatives), dtype=torch.float64)
    inputs = c[torch.tensor(contexts)]  # (m, d)
    if not sg:
        inputs = inputs.mean(dim=0, keepdim=True)  # (1, d)
    scores = inputs @ o[rows].T  # (m or 1, T)
    loss = -torch.nn.functional.logsigmoid(scores * signs).sum()
    loss.backward()
    input_scale = 1.0 if sg else len(contexts)
    np.testing.assert_allclose(
        center_after, center - alpha * input_scale * c.grad.numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        outside_after, outside - alpha * o.grad.numpy(), rtol=1e-5, atol=1e-6
    )


def test_loss_is_stable_for_saturated_scores():
    center = np.zeros((3, 2), dtype=np.float32)
    outside = np.zeros((3, 2), dtype=np.float32)
    center[0] = [60.0, 0.0]
    outside[1] = [-60.0, 0.0]  # positive score -3600: loss 3600, no overflow, finite step
    outside[2] = [60.0, 0.0]  # negative score +3600: loss 3600
    loss, c_after, o_after = _sg_step(center, outside, [0], 1, [2], 1e-4)
    assert loss == pytest.approx(7200.0, rel=1e-6)
    assert np.all(np.isfinite(c_after)) and np.all(np.isfinite(o_after))


# ----------------------------------------------------------------------------------------------
# whole batches
# ----------------------------------------------------------------------------------------------


def _noise_table(counts):
    weights = np.asarray(counts, dtype=np.float64) ** 0.75
    return np.round(np.cumsum(weights) / weights.sum() * (2**31 - 1)).astype(np.int64)


def _grouped_corpus(rng, n_groups=4, group_size=5, n_sentences=300, length=12):
    """Sentences that each use the words of one group only: structure a model can learn."""
    groups = rng.integers(0, n_groups, n_sentences)
    words = groups[:, None] * group_size + rng.integers(0, group_size, (n_sentences, length))
    tokens = words.ravel().astype(np.int32)
    ends = np.arange(1, n_sentences + 1, dtype=np.int64) * length
    return tokens, ends, n_groups * group_size


def _batch_args(tokens, ends, n_words, keep=None):
    counts = np.bincount(tokens, minlength=n_words)
    keep = np.ones(n_words, dtype=np.float32) if keep is None else keep
    return tokens, ends, keep, _noise_table(counts + 1)


def _init(n_words, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    center = ((rng.random((n_words, dim)) - 0.5) / dim).astype(np.float32)
    return center, np.zeros((n_words, dim), dtype=np.float32)


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
def test_same_seed_same_result_on_one_thread(rng, sg):
    tokens, ends, n_words = _grouped_corpus(rng, n_sentences=40)
    args = _batch_args(tokens, ends, n_words)
    runs = []
    for seed in (5, 5, 6):
        center, outside = _init(n_words)
        out = _train(center, outside, *args, sg, 3, 4, 0.05, 0.01, seed, 1)
        runs.append((out, center, outside))
    (out_a, c_a, o_a), (out_b, c_b, o_b), (_, c_c, _) = runs
    assert out_a == out_b
    np.testing.assert_array_equal(c_a, c_b)
    np.testing.assert_array_equal(o_a, o_b)
    assert not np.array_equal(c_a, c_c)  # the seed matters


@pytest.mark.parametrize("sg", [True, False], ids=["skipgram", "cbow"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_loss_decreases_over_repeated_batches(rng, sg, n_threads):
    tokens, ends, n_words = _grouped_corpus(rng)
    args = _batch_args(tokens, ends, n_words)
    center, outside = _init(n_words)

    def evaluate():  # a pass with learning rate 0 measures the loss without changing anything
        loss, n_pairs, _ = _train(center, outside, *args, sg, 4, 5, 0.0, 0.0, 99, 1)
        return loss / n_pairs

    untrained = evaluate()
    per_pair = []
    for epoch in range(8):
        loss, n_pairs, n_kept = _train(
            center, outside, *args, sg, 4, 5, 0.05, 0.05, epoch, n_threads
        )
        assert n_kept == tokens.size  # keep probability 1: every token is kept
        per_pair.append(loss / n_pairs)
    trained = evaluate()
    # untrained (vectors ~0), each pair costs about (1 + 5) log 2 = 4.2
    assert untrained == pytest.approx(6 * np.log(2), rel=0.05)
    assert per_pair[-1] < per_pair[0] < untrained
    assert trained < 0.6 * untrained
    # and what it learned is the structure: same-group words are closer than other-group ones
    unit = center / np.linalg.norm(center, axis=1, keepdims=True)
    similarity = unit @ unit.T
    group = np.arange(n_words) // 5
    same = group[:, None] == group[None, :]
    np.fill_diagonal(same, False)
    assert similarity[same].mean() > similarity[group[:, None] != group[None, :]].mean() + 0.3


@pytest.mark.parametrize("shared", [False, True], ids=["per-pair", "shared"])
def test_skipgram_pairs_take_their_steps_as_word2vec_c_or_as_one_window(shared):
    # every negative is word 5 (all the noise mass on it); all tokens kept; window always 1
    tokens = np.array([0, 1, 2, 3, 4], dtype=np.int32)
    ends = np.array([5], dtype=np.int64)
    n_words, negative, alpha = 6, 2, 0.3
    keep = np.ones(n_words, dtype=np.float32)
    noise = np.array([0, 0, 0, 0, 0, 1000], dtype=np.int64)
    center, outside = _vectors(np.random.default_rng(3), n_words)
    expected_center, expected_outside = center.copy(), outside.copy()
    _train(center, outside, tokens, ends, keep, noise, True, 1, negative, alpha, alpha, 7, 1,
           shrink_windows=False, shared_negatives=shared)
    for c in range(tokens.size):  # replay: word2vec.c's order of steps, or one per window
        contexts = [tokens[j] for j in (c - 1, c + 1) if 0 <= j < tokens.size]
        steps = [contexts] if shared else [[context] for context in contexts]
        for step in steps:
            _, expected_center, expected_outside = _sg_step(
                expected_center, expected_outside, step, tokens[c], [5] * negative, alpha
            )
    np.testing.assert_allclose(center, expected_center, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(outside, expected_outside, rtol=1e-5, atol=1e-7)


def test_per_pair_negatives_are_drawn_for_every_pair():
    # sentence [0, 1, 0], window 1: 3 windows, 4 pairs; 3 negatives a draw, noise uniform over
    # the 8 words 2..9.  Distinct noise rows updated: 12 draws per pair, 9 per window, so on
    # average 8 (1 - (7/8)^12) = 6.05 against 8 (1 - (7/8)^9) = 5.20
    tokens = np.array([0, 1, 0], dtype=np.int32)
    ends = np.array([3], dtype=np.int64)
    n_words = 10
    keep = np.ones(n_words, dtype=np.float32)
    noise = np.concatenate([[0, 0], np.arange(1, 9) * 100]).astype(np.int64)
    touched = {}
    for shared in (False, True):
        counts = []
        for seed in range(60):
            center, outside = _vectors(np.random.default_rng(seed), n_words)
            before = outside.copy()
            _train(center, outside, tokens, ends, keep, noise, True, 1, 3, 0.1, 0.1, seed, 1,
                   shrink_windows=False, shared_negatives=shared)
            counts.append(np.count_nonzero(np.any(outside[2:] != before[2:], axis=1)))
        touched[shared] = np.mean(counts)
    assert touched[False] == pytest.approx(6.05, abs=0.4)
    assert touched[True] == pytest.approx(5.20, abs=0.4)


def test_counts_of_pairs_centers_and_kept_words():
    # window 1 means b = 1 always; all tokens kept: a sentence of L words has 2(L-1) pairs
    tokens = np.array([0, 1, 2, 3, 4, 0, 1, 2], dtype=np.int32)
    ends = np.array([5, 5, 8], dtype=np.int64)  # an empty sentence in the middle
    args = _batch_args(tokens, ends, 5)
    center, outside = _init(5)
    _, n_pairs, n_kept = _train(center, outside, *args, True, 1, 2, 0.01, 0.01, 0, 1)
    assert (n_pairs, n_kept) == (2 * 4 + 2 * 2, 8)
    _, n_centers, n_kept = _train(center, outside, *args, False, 1, 2, 0.01, 0.01, 0, 1)
    assert (n_centers, n_kept) == (8, 8)


def test_subsampling_keeps_words_at_their_keep_probability():
    n_words, n_tokens = 4, 40_000
    tokens = (np.arange(n_tokens) % n_words).astype(np.int32)
    ends = np.array([n_tokens], dtype=np.int64)
    keep = np.array([0.1, 0.5, 0.9, 1.0], dtype=np.float32)
    args = _batch_args(tokens, ends, n_words, keep)
    center, outside = _init(n_words)
    _, _, n_kept = _train(center, outside, *args, False, 1, 1, 0.0, 0.0, 3, 1)
    expected = n_tokens / n_words * keep.sum()
    sd = np.sqrt(np.sum(n_tokens / n_words * keep * (1 - keep)))
    assert abs(n_kept - expected) < 5 * sd  # ~95 tokens either side
    _, _, n_kept_all = _train(
        center, outside, *_batch_args(tokens, ends, n_words), False, 1, 1, 0.0, 0.0, 3, 1
    )
    assert n_kept_all == n_tokens


def test_negatives_follow_the_noise_distribution():
    stats = pytest.importorskip("scipy.stats")
    counts = np.array([50, 1, 7, 300, 20, 3, 90, 12])
    table = _noise_table(counts)
    probabilities = np.diff(table, prepend=0) / table[-1]
    draws = sample_negatives(table, -1, 5, 8_000, 11)  # target -1: nothing skipped
    assert draws.size == 40_000
    observed = np.bincount(draws, minlength=counts.size)
    _, p_value = stats.chisquare(observed, probabilities * draws.size)
    assert p_value > 1e-3
    # the target is skipped, not redrawn: fewer draws, and never the target
    skipped = sample_negatives(table, 3, 5, 8_000, 11)
    assert 3 not in skipped
    expected_kept = 40_000 * (1 - probabilities[3])
    assert abs(skipped.size - expected_kept) < 5 * np.sqrt(40_000 * probabilities[3])


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=30).filter(lambda c: sum(c) > 0),
    st.integers(0, 2**31 - 2),
)
def test_guide_table_lookup_is_exactly_bisect_right(counts, r):
    table = np.cumsum(np.asarray(counts, dtype=np.int64) * 1000)
    guide, shift = kernels.build_noise_guide(table)
    r = r % int(table[-1])
    word = guide[r >> shift]
    while table[word] <= r:
        word += 1
    assert word == np.searchsorted(table, r, side="right")


def test_two_threads_train_every_token():
    rng = np.random.default_rng(3)
    tokens, ends, n_words = _grouped_corpus(rng, n_sentences=50)
    args = _batch_args(tokens, ends, n_words)
    center, outside = _init(n_words)
    loss, n_pairs, n_kept = _train(center, outside, *args, True, 2, 3, 0.02, 0.01, 0, 2)
    assert n_kept == tokens.size and n_pairs > 0 and np.isfinite(loss)


# ----------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------


def _valid():
    tokens = np.array([0, 1, 2, 1], dtype=np.int32)
    ends = np.array([4], dtype=np.int64)
    center, outside = _init(3)
    return dict(
        center_vectors=center, outside_vectors=outside, tokens=tokens, sentence_ends=ends,
        keep_probability=np.ones(3, dtype=np.float32), noise_cum_table=_noise_table([1, 2, 3]),
        sg=True, window=2, negative=2, alpha_start=0.025, alpha_end=0.02, seed=0, n_threads=1,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(center_vectors=a["center_vectors"].astype(np.float64)), "float32"),
        (lambda a: a.update(outside_vectors=np.asfortranarray(np.ones((3, 8), np.float32))),
         "C-contiguous"),
        (lambda a: a.update(outside_vectors=np.zeros((4, 8), np.float32)), "shape"),
        (lambda a: a.update(tokens=a["tokens"].astype(np.int64)), "int32"),
        (lambda a: a.update(tokens=np.array([0, 1, 3, 1], np.int32)), r"\[0, 3\)"),
        (lambda a: a.update(sentence_ends=np.array([3], np.int64)), "last sentence end"),
        (lambda a: a.update(sentence_ends=np.array([3, 2, 4], np.int64)), "non-decreasing"),
        (lambda a: a.update(keep_probability=np.ones(2, np.float32)), "keep_probability"),
        (lambda a: a.update(noise_cum_table=np.array([5, 3, 9], np.int64)), "noise_cum_table"),
        (lambda a: a.update(window=0), "window"),
        (lambda a: a.update(negative=1.5), "negative"),
        (lambda a: a.update(n_threads=0), "n_threads"),
        (lambda a: a.update(alpha_start=float("nan")), "alpha_start"),
    ],
)
def test_bad_input_raises_a_clear_value_error(change, message):
    args = _valid()
    change(args)
    with pytest.raises(ValueError, match=message):
        _train(**args)


def test_non_array_input_raises_type_error():
    args = _valid()
    args["tokens"] = [0, 1, 2, 1]
    with pytest.raises(TypeError, match="tokens"):
        _train(**args)


def test_the_configuration_is_checked_once_and_must_train_something():
    args = _valid()
    with pytest.raises(ValueError, match="nothing to train: negative=0 needs hs=True"):
        kernel_config(args["center_vectors"], args["keep_probability"], sg=True, window=2,
                      negative=0)
    with pytest.raises(ValueError, match="negative must be an integer >= 0"):
        kernel_config(args["center_vectors"], args["keep_probability"], sg=True, window=2,
                      negative=-1)
    as_tuple = tuple(kernel_config(args["center_vectors"], args["keep_probability"], sg=True,
                                   window=2, negative=2, outside_vectors=args["outside_vectors"],
                                   noise_cum_table=args["noise_cum_table"]))
    with pytest.raises(TypeError, match="KernelConfig"):
        train_batch(as_tuple, args["tokens"], args["sentence_ends"], 0.1, 0.1, 0)


def test_empty_batch_trains_nothing():
    args = _valid()
    args.update(tokens=np.empty(0, np.int32), sentence_ends=np.empty(0, np.int64))
    before = args["center_vectors"].copy()
    assert _train(**args) == (0.0, 0, 0)
    np.testing.assert_array_equal(args["center_vectors"], before)


@pytest.mark.parametrize("positive", [True, False])
def test_logistic_terms_match_the_exact_functions(positive):
    """Table interpolation inside (-8, 8), exact formulas outside: residual and loss both
    within 1e-6 of the float64 values (the table's error bound is 5e-7)."""
    scores = np.concatenate([
        np.linspace(-12, 12, 20_001), [-8.0, 8.0, -7.9999, 7.9999, 0.0, -60.0, 60.0, -1e4, 1e4]
    ]).astype(np.float32)
    terms = kernels.logistic_terms(scores, positive)
    s = scores.astype(np.float64)
    sigmoid = 0.5 * (1 + np.tanh(0.5 * s))
    residual = (1.0 - sigmoid) if positive else -sigmoid
    loss = np.logaddexp(0.0, -s) if positive else np.logaddexp(0.0, s)
    np.testing.assert_allclose(terms[:, 0], residual, rtol=0, atol=1e-6)
    np.testing.assert_allclose(terms[:, 1], loss, rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(terms))


# ----------------------------------------------------------------------------------------------
# borrowed views: the walk's arrays without numba's reference counting
# ----------------------------------------------------------------------------------------------


@njit(cache=False)
def _write_through_borrowed(matrix, pair):
    matrix, (vector, scale, labels) = kernels._borrowed((matrix, pair))
    for i in range(matrix.shape[1]):
        matrix[1, i] += scale * vector[i]
    labels[0] = 7
    return matrix.shape[0] * 10 + matrix.shape[1], matrix[1, 0] + matrix[0, 0]


def test_borrowed_views_read_and_write_the_callers_arrays():
    """A borrowed view (of an array, or the arrays of a nested tuple) has the array's data,
    shape and strides: reads see the caller's values, writes land in the caller's array, and
    scalars of a tuple pass through unchanged."""
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    vector = np.array([1, 2, 3, 4], dtype=np.float32)
    labels = np.zeros(2, dtype=np.uint8)
    expected = matrix.copy()
    expected[1] += 0.5 * vector
    shape_code, first_column = _write_through_borrowed(matrix, (vector, 0.5, labels))
    assert shape_code == 34
    assert first_column == pytest.approx(expected[1, 0] + expected[0, 0])
    np.testing.assert_array_equal(matrix, expected)
    assert labels.tolist() == [7, 0]
    # a strided view keeps its strides
    wide = np.zeros((3, 8), dtype=np.float32)
    _write_through_borrowed(wide[:, ::2], (vector, 1.0, labels))
    np.testing.assert_array_equal(wide[1], [1, 0, 2, 0, 3, 0, 4, 0])


def test_borrowed_accepts_only_arrays_and_tuples():
    @njit(cache=False)
    def borrow_a_number(x):
        return kernels._borrowed(x)

    with pytest.raises(numba.core.errors.TypingError):
        borrow_a_number(3.0)
