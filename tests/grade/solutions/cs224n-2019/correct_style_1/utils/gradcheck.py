# ruff: noqa -- a learner's solution in the course's style, kept as written
"""Stand-in for the course's utils/gradcheck.py, written for the grader's tests."""


def gradcheck_naive(f, x, gradientText=""):
    return None


def grad_tests_softmax(*args, **kwargs):
    return None


def grad_tests_negsamp(*args, **kwargs):
    return None
