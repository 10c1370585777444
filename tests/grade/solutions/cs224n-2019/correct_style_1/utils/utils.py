# ruff: noqa -- a learner's solution in the course's style, kept as written
"""Stand-in for the course's utils/utils.py, written for the grader's tests."""
import numpy as np


def normalizeRows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
