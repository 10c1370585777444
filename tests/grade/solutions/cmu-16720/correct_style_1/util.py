# ruff: noqa -- a learner's solution in the course's style, kept as written
"""Stand-in for the course's util.py, written for the grader's tests."""
import numpy as np


def linear_deriv(post_act):
    return np.ones_like(post_act)
