# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np


def sigmoid(x):
    # stable on both sides, as in the nnbasics docs
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def sigmoid_grad(s):
    return s - s ** 2
