"""Tests of nnbasics.word2vec.correlation against SciPy, and that evaluation needs no SciPy."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnbasics.word2vec.correlation import (
    pearson,
    rank_average,
    regularized_incomplete_beta,
    spearman,
)


def test_small_cases_by_hand():
    assert rank_average([10, 30, 20, 20]).tolist() == [1.0, 4.0, 2.5, 2.5]
    r, p = pearson([1, 2, 3], [1, 3, 2])
    assert r == pytest.approx(0.5) and p == pytest.approx(2 / 3)  # t = 1/sqrt(3), 1 df
    assert regularized_incomplete_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)  # uniform law
    assert regularized_incomplete_beta(0.3, 2.0, 1.0) == pytest.approx(0.09)  # x^2
    assert pearson([1, 2], [3, 1]) == (-1.0, 1.0)
    assert all(math.isnan(v) for v in pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1, 2], [2, 1]).pvalue)
    with pytest.raises(ValueError, match="same length"):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        spearman([1], [1])


@given(st.floats(0, 1), st.floats(0.05, 60), st.floats(0.05, 60))
def test_incomplete_beta_matches_scipy(x, a, b):
    special = pytest.importorskip("scipy.special")
    assert regularized_incomplete_beta(x, a, b) == pytest.approx(
        special.betainc(a, b, x), rel=1e-9, abs=1e-13)


@pytest.mark.filterwarnings("ignore:An input array is constant")  # SciPy's, on rounded data
@given(st.integers(3, 40), st.integers(0, 2**32 - 1), st.booleans())
def test_pearson_and_spearman_match_scipy(n, seed, with_ties):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    if with_ties:
        x, y = np.round(x), np.round(y * 2)
    for ours, theirs in ((pearson(x, y), stats.pearsonr(x, y)),
                         (spearman(x, y), stats.spearmanr(x, y))):
        if np.isnan(theirs[0]):  # a constant input after rounding
            assert np.isnan(ours[0]) and np.isnan(ours[1])
            continue
        assert ours.statistic == pytest.approx(theirs[0], rel=1e-9, abs=1e-12)
        assert ours.pvalue == pytest.approx(theirs[1], rel=1e-7, abs=1e-14)


def test_evaluate_word_pairs_works_without_scipy(tmp_path):
    pairs = tmp_path / "p.tsv"
    pairs.write_text("a\tb\t1\na\tc\t3\nb\tc\t2\n", encoding="utf-8")
    # numba imports SciPy when it is installed, so "not imported" cannot be asserted; instead
    # SciPy is made unimportable (None in sys.modules) and the evaluation must still work
    script = (
        "import sys; sys.modules['scipy'] = None; from nnbasics import KeyedVectors; "
        "from nnbasics.word2vec import model; "
        "kv = KeyedVectors(['a', 'b', 'c'], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); "
        "print(kv.evaluate_word_pairs(sys.argv[1]))"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(pairs)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
