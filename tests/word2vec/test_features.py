"""MeanWordVectors: sentence features as the mean of word vectors, a scikit-learn transformer."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks

from nnbasics import MLPClassifier
from nnbasics.word2vec import KeyedVectors, MeanWordVectors

WORDS = ["good", "bad", "film", "plot"]
VECTORS = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -2.0], [0.5, 0.5, 0.0], [0.0, 0.0, 4.0]],
                   dtype=np.float32)


@pytest.fixture
def kv():
    return KeyedVectors(WORDS, VECTORS)


def _reference(kv, sentence, unknown="ignore"):
    """The definition, one sentence at a time: the sum of the known vectors over the count."""
    known = [kv[w].astype(np.float64) for w in sentence if w in kv]
    n = len(sentence) if unknown == "zero" else len(known)
    return np.sum(known, axis=0) / n if known else np.zeros(kv.vector_size)


def test_the_mean_of_a_sentences_vectors(kv):
    features = MeanWordVectors(kv).transform([["good", "film"], ["bad", "bad", "plot"]])
    np.testing.assert_allclose(features, [[0.75, 0.25, 1.0], [0.0, 2 / 3, 0.0]], rtol=1e-15)
    assert features.dtype == np.float64 and features.shape == (2, 3)


def test_raw_sentences_are_split_on_whitespace(kv):
    mean = MeanWordVectors(kv)
    np.testing.assert_array_equal(mean.transform(["good  film\tbad"]),
                                  mean.transform([["good", "film", "bad"]]))


def test_unknown_words_are_left_out_or_counted_as_zeros(kv):
    sentence = [["good", "unseen", "bad", "other"]]
    np.testing.assert_allclose(MeanWordVectors(kv).transform(sentence), [[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(MeanWordVectors(kv, unknown="zero").transform(sentence),
                               [[0.25, 0.25, 0.0]])
    with pytest.raises(KeyError, match="'unseen' \\(sentence 0\\)"):
        MeanWordVectors(kv, unknown="error").transform(sentence)


@pytest.mark.parametrize("unknown", ["ignore", "zero"])
def test_empty_and_all_unknown_sentences_map_to_zero(kv, unknown):
    features = MeanWordVectors(kv, unknown=unknown).transform(["", [], "nothing known", "good"])
    np.testing.assert_array_equal(features[:3], np.zeros((3, 3)))
    np.testing.assert_array_equal(features[3], VECTORS[0])


def test_lowercase_looks_words_up_lower_cased(kv):
    assert not MeanWordVectors(kv).transform(["GOOD Film"]).any()
    np.testing.assert_allclose(MeanWordVectors(kv, lowercase=True).transform(["GOOD Film"]),
                               [[0.75, 0.25, 1.0]])


@given(st.lists(st.lists(st.sampled_from([*WORDS, "unseen", "x"]), max_size=8), max_size=12),
       st.sampled_from(["ignore", "zero"]))
def test_the_sparse_product_is_the_per_sentence_mean(sentences, unknown):
    kv = KeyedVectors(WORDS, VECTORS)
    features = MeanWordVectors(kv, unknown=unknown).transform(sentences)
    assert features.shape == (len(sentences), 3)
    for row, sentence in zip(features, sentences, strict=True):
        np.testing.assert_allclose(row, _reference(kv, sentence, unknown), rtol=1e-12, atol=0)


def test_sentence_weights_are_the_matrix_of_the_product(kv):
    mean = MeanWordVectors(kv)
    weights = mean.sentence_weights([["good", "good", "bad"], []])
    np.testing.assert_allclose(weights.toarray(), [[2 / 3, 1 / 3, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(weights.sum(axis=1).A1, [1.0, 0.0])  # rows: weights of a mean


def test_works_with_gensim_keyed_vectors():
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(3)
    kv.add_vectors(WORDS, VECTORS)
    np.testing.assert_allclose(MeanWordVectors(kv).transform(["good film"]), [[0.75, 0.25, 1.0]])


def test_feature_names(kv):
    names = MeanWordVectors(kv).get_feature_names_out()
    assert names.tolist() == ["meanwordvectors0", "meanwordvectors1", "meanwordvectors2"]


@pytest.mark.parametrize("X, error, message", [
    ("good film", TypeError, "single string"),
    (np.zeros((2, 3)), TypeError, "numeric array"),
    ([["good", 3]], TypeError, "not a string: 3"),
    ([b"good film"], TypeError, "sentence 0 is a bytes"),
    (5, TypeError, "got int"),
])
def test_what_is_not_sentences_is_refused(kv, X, error, message):
    with pytest.raises(error, match=message):
        MeanWordVectors(kv).transform(X)
    with pytest.raises(error, match=message):
        MeanWordVectors(kv).fit(X)


@pytest.mark.parametrize("params, error, message", [
    ({"kv": None}, ValueError, "needs word vectors"),
    ({"kv": {"good": [1.0]}}, TypeError, "key_to_index and vectors"),
    ({"unknown": "skip"}, ValueError, "unknown must be one of"),
    ({"lowercase": "yes"}, ValueError, "lowercase must be True or False"),
])
def test_bad_parameters_are_refused(kv, params, error, message):
    mean = MeanWordVectors(kv).set_params(**params)
    with pytest.raises(error, match=message):
        mean.transform(["good"])


# -- scikit-learn's contract ---------------------------------------------------------------------

# scikit-learn's checks that do not feed numeric arrays (a text transformer refuses those, and
# check_estimator skips an estimator whose tags say it takes strings)
API_CHECKS = [
    "check_estimator_cloneable", "check_estimator_tags_renamed", "check_valid_tag_types",
    "check_estimator_repr", "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order",
    "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params",
    "check_estimators_unfitted", "check_n_features_in_after_fitting",
]


@pytest.mark.parametrize("check", API_CHECKS)
@pytest.mark.parametrize("with_vectors", [False, True])
def test_scikit_learn_api_checks(check, with_vectors, kv):
    getattr(estimator_checks, check)("MeanWordVectors", MeanWordVectors(kv if with_vectors
                                                                        else None))


def test_the_tags_say_strings_and_no_fit_needed(kv):
    tags = MeanWordVectors(kv).__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert not tags.requires_fit
    # scikit-learn's transformer checks feed numeric arrays: the tests below are those checks
    # (fit returns self, fit_transform, clone, order and subset invariance, inputs left alone)
    # with sentences


SENTENCES = [["good", "film"], "bad plot plot", [], ["unseen"], "good bad film plot"]


def test_fit_returns_self_and_fit_transform_is_transform(kv):
    mean = MeanWordVectors(kv)
    assert mean.fit(SENTENCES) is mean
    np.testing.assert_array_equal(mean.fit_transform(SENTENCES), mean.transform(SENTENCES))
    np.testing.assert_array_equal(clone(mean).transform(SENTENCES), mean.transform(SENTENCES))


def test_order_and_subset_invariance(kv):
    mean = MeanWordVectors(kv)
    whole = mean.transform(SENTENCES)
    order = [3, 0, 4, 2, 1]
    np.testing.assert_array_equal(mean.transform([SENTENCES[i] for i in order]), whole[order])
    for i, sentence in enumerate(SENTENCES):
        np.testing.assert_array_equal(mean.transform([sentence])[0], whole[i])


def test_input_and_parameters_are_not_modified(kv):
    sentences = [list(s) if isinstance(s, list) else s for s in SENTENCES]
    MeanWordVectors(kv, lowercase=True).fit_transform(sentences)
    assert sentences == SENTENCES
    np.testing.assert_array_equal(kv.vectors, VECTORS)


def test_numpy_arrays_of_sentences(kv):
    raw = ["good film", "bad plot"]
    expected = MeanWordVectors(kv).transform(raw)
    np.testing.assert_array_equal(MeanWordVectors(kv).transform(np.array(raw)), expected)
    np.testing.assert_array_equal(MeanWordVectors(kv).transform(np.array(raw, dtype=object)),
                                  expected)


@pytest.mark.filterwarnings("ignore:.*maximum iterations")
def test_in_a_pipeline_with_logistic_regression(kv):
    rng = np.random.default_rng(0)
    good = [" ".join(rng.choice(["good", "film", "plot"], 5)) + " good" for _ in range(60)]
    bad = [" ".join(rng.choice(["bad", "film", "plot"], 5)) + " bad" for _ in range(60)]
    X, y = good + bad, np.array([1] * 60 + [0] * 60)
    pipeline = make_pipeline(MeanWordVectors(kv),
                             MLPClassifier(hidden_layer_sizes=(), max_iter=60,
                                           learning_rate_init=0.05, random_state=0))
    pipeline.fit(X, y)
    assert pipeline.score(X, y) == 1.0  # separable: "good" and "bad" differ in every sentence
    assert pipeline[-1].coefs_[0].shape == (3, 1)  # logistic regression: one layer, d -> 1
    assert pipeline.predict(["good good film", "bad plot bad"]).tolist() == [1, 0]


def test_the_docstring_example_runs():
    import doctest

    from nnbasics.word2vec import features

    failures, attempted = doctest.testmod(features, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
