"""gensim's ``vectors_lockf``: a factor on every step of a word's input vector (0 freezes it), in
the compiled kernel, the explicit full-softmax path and the files (issue #16)."""

import numpy as np
import pytest

from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.word2vec import KeyedVectors, Word2Vec, reference
from tests.word2vec.test_model import CORPUS, SMALL

# every training path: (sg, hs, negative, shared_negatives); negative=0, hs=0 is the full
# softmax of nnbasics.word2vec.reference, the others the compiled kernel
PATHS = [
    (1, 0, 5, True), (1, 0, 5, False), (0, 0, 5, True), (1, 1, 0, True), (0, 1, 0, True),
    (1, 1, 3, True), (1, 0, 0, True), (0, 0, 0, True),
]
PATH_IDS = ["sg-ns-shared", "sg-ns-pairs", "cbow-ns", "sg-hs", "cbow-hs", "sg-hs+ns",
            "sg-softmax", "cbow-softmax"]


def _settings(sg, hs, negative, shared):
    return dict(sg=sg, hs=hs, negative=negative, shared_negatives=shared)


@pytest.mark.parametrize(("sg", "hs", "negative", "shared"), PATHS, ids=PATH_IDS)
def test_a_frozen_word_keeps_its_vector_bit_for_bit_while_the_others_move(sg, hs, negative,
                                                                          shared):
    """gensim's test_locking, on every path: lockf[w] = 0 leaves word w's vector untouched."""
    model = Word2Vec(**{**SMALL, "epochs": 2}, **_settings(sg, hs, negative, shared))
    model.build_vocab(CORPUS[:60])
    before = model.wv.vectors.copy()
    model.wv.vectors_lockf = np.ones(len(model.wv), dtype=np.float32)
    model.wv.vectors_lockf[[0, 3]] = 0.0  # in place, as gensim's users do
    model.train(CORPUS[:60], total_examples=model.corpus_count, epochs=model.epochs)
    np.testing.assert_array_equal(model.wv.vectors[[0, 3]], before[[0, 3]])
    moved = np.any(model.wv.vectors != before, axis=1)
    assert moved.sum() == len(model.wv) - 2  # every other word trained
    assert np.any(model.syn1neg != 0) or np.any(model.syn1 != 0)  # outputs train as usual


def test_frozen_words_stay_frozen_with_several_threads_splitting_a_batch():
    long_line = [w for sentence in CORPUS for w in sentence]  # one line: split among threads
    model = Word2Vec(**{**SMALL, "workers": 3, "batch_words": 200})
    model.build_vocab([long_line])
    model.wv.vectors_lockf = np.where(np.arange(len(model.wv)) % 2 == 0, 0.0, 1.0)
    before = model.wv.vectors.copy()
    model.train([long_line], total_examples=1, epochs=1)
    np.testing.assert_array_equal(model.wv.vectors[::2], before[::2])
    assert np.all(np.any(model.wv.vectors[1::2] != before[1::2], axis=1))


def _two_word_run(lockf, sg, hs, negative, shared):
    """One epoch over the sentence "a b" at a constant rate, workers=1, no subsampling.

    Every output vector starts at zero, so the first step's input gradient is zero and the
    second step's does not depend on any input step taken before: each word's vector moves at
    most once, by its lock factor times the step it takes with factor 1."""
    model = Word2Vec(vector_size=4, window=1, min_count=1, sample=0, epochs=1, workers=1,
                     alpha=0.5, min_alpha=0.5, shrink_windows=False, seed=3,
                     **_settings(sg, hs, negative, shared))
    model.build_vocab([["a", "b"]])
    initial = model.wv.vectors.copy()
    if lockf is not None:
        model.wv.vectors_lockf = lockf
    model.train([["a", "b"]], total_examples=1, epochs=1)
    return initial, model.wv.vectors.copy()


# hs and negative together take two input steps per pair, the second at the moved vector: not
# the single step this test needs (their factor is checked by the frozen-word test above)
ONE_STEP_PATHS = [(p, i) for p, i in zip(PATHS, PATH_IDS, strict=True) if i != "sg-hs+ns"]


@pytest.mark.parametrize(("sg", "hs", "negative", "shared"), [p for p, _ in ONE_STEP_PATHS],
                         ids=[i for _, i in ONE_STEP_PATHS])
def test_a_factor_scales_each_input_step_exactly(sg, hs, negative, shared):
    settings = (sg, hs, negative, shared)
    initial, whole = _two_word_run(None, *settings)
    step = whole - initial
    assert np.any(step != 0)  # the run trains: the comparison has teeth
    factors = np.array([0.5, 0.25], dtype=np.float32)
    again, scaled = _two_word_run(factors, *settings)
    np.testing.assert_array_equal(again, initial)
    np.testing.assert_allclose(scaled - initial, factors[:, None] * step, rtol=1e-5, atol=1e-7)
    assert not np.allclose(scaled, whole)
    # one value is the factor of every word: the same as giving it per word
    _, half = _two_word_run(np.array([0.5], dtype=np.float32), *settings)
    _, half_each = _two_word_run(np.full(2, 0.5, dtype=np.float32), *settings)
    np.testing.assert_array_equal(half, half_each)
    np.testing.assert_allclose(half - initial, 0.5 * step, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sg", [1, 0], ids=["skipgram", "cbow"])
def test_the_explicit_path_scales_the_input_rows_only(sg):
    rng = np.random.default_rng(0)
    center = rng.normal(0, 0.3, (5, 3)).astype(np.float32)
    outside = rng.normal(0, 0.3, (5, 3)).astype(np.float32)
    tokens = np.array([0, 1, 2, 3, 4, 1, 2], dtype=np.int32)
    ends = np.array([7], dtype=np.int64)
    keep, table = np.ones(5, np.float32), np.cumsum(np.ones(5, np.int64)) * 100

    def run(lock_factors):
        c, o = center.copy(), outside.copy()
        reference.train_batch(c, o, tokens, ends, keep, table, bool(sg), 2, 0, 0.1, 0.1,
                              seed=1, lock_factors=lock_factors)
        return c, o

    free_c, _ = run(None)
    frozen_c, frozen_o = run(np.array([1, 0, 1, 1, 1], dtype=np.float32))
    np.testing.assert_array_equal(frozen_c[1], center[1])
    assert not np.array_equal(frozen_o, outside)
    assert not np.array_equal(frozen_c[0], center[0])
    np.testing.assert_array_equal(run(np.ones(5, np.float32))[0], free_c)  # ones: same steps
    with pytest.raises(ValueError, match="one factor per word"):
        run(np.ones(2, np.float32))


def test_a_lockf_of_the_wrong_size_or_not_finite_is_named():
    model = Word2Vec(**SMALL)
    model.build_vocab(CORPUS[:30])
    with pytest.raises(ValueError, match=rf"1 value .* or {len(model.wv)}"):
        model.wv.vectors_lockf = np.ones(3)
    with pytest.raises(ValueError, match="finite"):
        model.wv.vectors_lockf = [np.nan]
    assert model.wv.vectors_lockf.tolist() == [1.0]  # a refused value changes nothing


def test_a_growing_vocabulary_trains_its_new_words_normally():
    model = Word2Vec(**SMALL)
    model.build_vocab(CORPUS[:30])
    n_old = len(model.wv)
    model.wv.vectors_lockf = np.zeros(n_old, dtype=np.float32)
    model.build_vocab([["new1", "new2", "g0w0"]] * 3, update=True)
    assert model.wv.vectors_lockf.tolist() == [0.0] * n_old + [1.0, 1.0]
    before = model.wv.vectors.copy()
    model.train([["new1", "new2", "g0w0"]] * 3, total_examples=3, epochs=2)
    np.testing.assert_array_equal(model.wv.vectors[:n_old], before[:n_old])
    assert np.all(model.wv.vectors[n_old:] != before[n_old:])


@pytest.mark.parametrize("lockf", [[0.5], "per word"])
def test_saved_models_and_vectors_keep_lockf(tmp_path, lockf):
    model = Word2Vec(CORPUS[:30], **SMALL)
    if lockf == "per word":
        lockf = np.linspace(0, 1, len(model.wv), dtype=np.float32)
    model.wv.vectors_lockf = lockf
    model.save(tmp_path / "m.npz")
    loaded = Word2Vec.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.wv.vectors_lockf, model.wv.vectors_lockf)
    assert loaded.wv.vectors_lockf.dtype == np.float32
    model.wv.save(tmp_path / "v.kv")
    np.testing.assert_array_equal(KeyedVectors.load(tmp_path / "v.kv").vectors_lockf,
                                  model.wv.vectors_lockf)


def test_files_without_lockf_load_with_all_ones(tmp_path):
    """The previous release wrote neither lockf nor the new settings: its files still load."""
    model = Word2Vec(CORPUS[:30], **SMALL)
    model.save(tmp_path / "m.npz")
    arrays, metadata = load_arrays(tmp_path / "m.npz")
    assert "vectors_lockf" not in arrays  # the default is not written: files as before
    for name in ("sorted_vocab", "null_word"):
        del metadata["config"][name]
    extra = {k: metadata.pop(k) for k in ("format", "kind", "version")}
    save_arrays(tmp_path / "old.npz", arrays, metadata, kind=extra["kind"],
                version=extra["version"])
    old = Word2Vec.load(tmp_path / "old.npz")
    assert old.wv.vectors_lockf.tolist() == [1.0] and old.config == model.config
    np.testing.assert_array_equal(old.wv.vectors, model.wv.vectors)
    old.wv.vectors_lockf[0] = 0.0  # the default array is the model's own, changed in place
    assert old.wv.vectors_lockf.tolist() == [0.0]


def test_a_bad_lockf_in_a_file_is_named(tmp_path):
    model = Word2Vec(CORPUS[:30], **SMALL)
    model.wv.vectors_lockf = [0.5]
    model.save(tmp_path / "m.npz")
    arrays, metadata = load_arrays(tmp_path / "m.npz")
    arrays["vectors_lockf"] = np.ones(2, np.float32)
    extra = {k: metadata.pop(k) for k in ("format", "kind", "version")}
    save_arrays(tmp_path / "bad.npz", arrays, metadata, kind=extra["kind"],
                version=extra["version"])
    with pytest.raises(ValueError, match=r"bad\.npz: vectors_lockf must hold"):
        Word2Vec.load(tmp_path / "bad.npz")
