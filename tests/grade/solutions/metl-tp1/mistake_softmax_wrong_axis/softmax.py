# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np


def softmax(x):
    """Row-wise softmax, written by a learner for the grader's tests (vectorised, keepdims)."""
    orig_shape = x.shape
    if x.ndim > 1:
        x = x - np.max(x, axis=0, keepdims=True)
        x = np.exp(x)
        x = x / np.sum(x, axis=0, keepdims=True)
    else:
        x = x - np.max(x)
        x = np.exp(x) / np.sum(np.exp(x))
    assert x.shape == orig_shape
    return x
