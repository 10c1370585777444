# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np


def softmax(x):
    """In place, as many course solutions: subtract the row max, exponentiate, divide."""
    orig_shape = x.shape
    x = x.astype(np.float64)
    x -= np.max(x, axis=1).reshape(-1, 1)
    x = np.exp(x)
    x /= np.sum(x, axis=1).reshape(-1, 1)
    assert x.shape == orig_shape
    return x
