"""word2vec objectives in ``nnbasics check``: listed, passing, able to catch a wrong gradient."""

import subprocess
import sys
from functools import partial

import numpy as np

from nnbasics.core.checks import CHECKS, run_checks
from nnbasics.core.gradcheck import gradcheck
from nnbasics.word2vec import gradchecks
from nnbasics.word2vec.objectives import neg_sampling_loss_and_gradient

WORD2VEC_CHECKS = [
    "word2vec naive softmax",
    "word2vec negative sampling (repeated negatives)",
    "word2vec hierarchical softmax",
    "word2vec skip-gram",
    "word2vec CBOW",
]


def test_nnbasics_check_lists_and_passes_the_word2vec_objectives():
    proc = subprocess.run([sys.executable, "-m", "nnbasics", "check", *WORD2VEC_CHECKS],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split("  ")[0]: line for line in proc.stdout.splitlines()}
    for name in WORD2VEC_CHECKS:
        assert rows[name].endswith("pass"), rows.get(name)
    listed = subprocess.run([sys.executable, "-m", "nnbasics", "check", "--list"],
                            capture_output=True, text=True, timeout=120).stdout.splitlines()
    assert set(WORD2VEC_CHECKS) <= set(listed)


def test_each_word2vec_check_passes_in_process():
    for name, result in run_checks(WORD2VEC_CHECKS):
        assert name in CHECKS and result.passed and result.n_checked > 0, (name, result)


def _fancy_index_bug(center_vec, outside_idx, outside_vectors, negative_indices):
    """The classic bug: ``grad[idx] += ...`` keeps only one of repeated negatives."""
    loss, grad_v, _ = neg_sampling_loss_and_gradient(
        center_vec, outside_idx, outside_vectors, negative_indices)
    rows = np.concatenate(([outside_idx], negative_indices))
    signs = np.r_[1.0, -np.ones(len(negative_indices))]
    z = signs * (outside_vectors[rows] @ center_vec)
    dscores = signs * (1 / (1 + np.exp(-z)) - 1)
    grad_U = np.zeros_like(outside_vectors)
    grad_U[rows] += np.outer(dscores, center_vec)  # repeated rows: the last write wins
    return loss, grad_v, grad_U


def test_the_check_catches_non_accumulating_repeated_negatives():
    rng = np.random.default_rng(0)
    U, v_c = rng.normal(size=(5, 3)), rng.normal(size=3)
    broken = partial(_fancy_index_bug, negative_indices=gradchecks._NEGATIVES)
    result = gradcheck(lambda U_: broken(v_c, 3, U_)[::2], U)
    assert not result.passed
