# ruff: noqa -- a learner's solution in the course's style, kept as written
import math

import numpy as np


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    flat, res = x.reshape(-1), out.reshape(-1)
    for i, v in enumerate(flat):
        if v >= 0:
            res[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            z = math.exp(v)
            res[i] = z / (1.0 + z)
    return out if out.ndim else float(out)


def sigmoid_grad(f):
    return f * (1.0 - f)
