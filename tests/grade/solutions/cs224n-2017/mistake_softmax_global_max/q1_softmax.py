# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np


def softmax(x):
    """In place, as many course solutions: subtract the row max, exponentiate, divide."""
    orig_shape = x.shape
    x = x.astype(np.float64)
    if len(x.shape) > 1:
        x -= np.max(x)
        x = np.exp(x)
        x /= np.sum(x, axis=1).reshape(-1, 1)
    else:
        x -= np.max(x)
        x = np.exp(x)
        x /= np.sum(x)
    assert x.shape == orig_shape
    return x
