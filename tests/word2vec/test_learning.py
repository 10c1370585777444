"""End to end: training on a corpus with planted structure puts each word among its own group."""

import numpy as np
import pytest

from nnbasics.word2vec import Word2Vec

N_GROUPS, GROUP_SIZE = 6, 8


def grouped_corpus(n_sentences=3000, length=10, seed=0):
    """Sentences drawn from one group each: words co-occur only with their own group."""
    rng = np.random.default_rng(seed)
    groups = [[f"g{g}w{i}" for i in range(GROUP_SIZE)] for g in range(N_GROUPS)]
    return [list(map(str, rng.choice(groups[rng.integers(N_GROUPS)], length)))
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
