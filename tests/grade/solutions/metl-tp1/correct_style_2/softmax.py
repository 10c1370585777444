# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np


def softmax(x):
    """Loops over rows, float32 arithmetic, math-free: a slow but correct style."""
    x = np.array(x, dtype=np.float32)
    if x.ndim == 1:
        return softmax(x[None, :])[0]
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        row = x[i] - x[i].max()
        e = np.exp(row)
        out[i] = e / e.sum()
    return out
