"""End to end: training on a corpus with planted structure puts each word among its own group."""

import numpy as np
import pytest

from nnbasics.word2vec import Word2Vec

N_GROUPS, GROUP_SIZE = 6, 8


def grouped_corpus(n_sentences=3000, length=10, seed=0, n_groups=N_GROUPS, group_size=GROUP_SIZE):
    """Sentences drawn from one group each: words co-occur only with their own group."""
    rng = np.random.default_rng(seed)
    groups = [[f"g{g}w{i}" for i in range(group_size)] for g in range(n_groups)]
    return [list(map(str, rng.choice(groups[rng.integers(n_groups)], length)))
            for _ in range(n_sentences)]


@pytest.mark.slow
@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_nearest_neighbours_are_in_the_own_group(sg):
    model = Word2Vec(grouped_corpus(), vector_size=20, window=4, min_count=1, sg=sg,
                     epochs=5, workers=1, seed=1)
    assert len(model.wv) == N_GROUPS * GROUP_SIZE
    topn = GROUP_SIZE - 1
    for word in model.wv.index_to_key:
        group = word.split("w")[0]
        neighbours = [w for w, _ in model.wv.most_similar(word, topn=topn)]
        assert all(w.startswith(group + "w") for w in neighbours), (word, neighbours)
    # and training lowered the loss per pair
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[-1] < 0.9 * per_pair[0]


@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_full_softmax_learns_the_groups_too(sg):
    """negative=0: the explicit full-softmax path (small vocabularies only) learns as well."""
    rng = np.random.default_rng(1)
    groups = [[f"g{g}w{i}" for i in range(5)] for g in range(4)]
    corpus = [list(map(str, rng.choice(groups[rng.integers(4)], 8))) for _ in range(150)]
    model = Word2Vec(corpus, vector_size=10, window=2, min_count=1, sg=sg, negative=0,
                     sample=0, alpha=0.05, epochs=4, workers=1, seed=1)
    for word in model.wv.index_to_key:
        group = word.split("w")[0]
        neighbours = [w for w, _ in model.wv.most_similar(word, topn=4)]
        assert all(w.startswith(group + "w") for w in neighbours), (word, neighbours)
    # the loss per pair falls (from about log 20 at the start: the first epoch's mean is well
    # above the last) towards log 5, the entropy of a uniform choice within a group
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[0] > per_pair[-1] + 0.5
    assert np.log(5) - 0.05 < per_pair[-1] < 1.8


@pytest.mark.parametrize("kind", ["negative", "hs", "full softmax"])
def test_cbow_from_the_summed_context_learns_the_groups(kind):
    """cbow_mean=0 (the input is the sum of the context vectors) on every training path."""
    settings = {"negative": 5}
    if kind == "hs":
        settings = {"hs": 1, "negative": 0}
    elif kind == "full softmax":
        settings = {"negative": 0, "sample": 0}
    corpus = grouped_corpus(n_sentences=600, n_groups=4, group_size=5, length=8)
    model = Word2Vec(corpus, vector_size=12, window=2, min_count=1, sg=0, cbow_mean=0,
                     alpha=0.05, epochs=6, workers=1, seed=1, **settings)
    for word in model.wv.index_to_key:
        group = word.split("w")[0]
        neighbours = [w for w, _ in model.wv.most_similar(word, topn=4)]
        assert all(w.startswith(group + "w") for w in neighbours), (kind, word, neighbours)
    per_pair = np.array(model.epoch_losses) / np.array(model.epoch_pairs)
    assert per_pair[-1] < per_pair[0]
