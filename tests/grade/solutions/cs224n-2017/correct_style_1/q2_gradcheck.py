# ruff: noqa -- a learner's solution in the course's style, kept as written
import random

import numpy as np


def gradcheck_naive(f, x):
    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)
    h = 1e-4
    for ix in np.ndindex(x.shape):
        x_plus = x.copy()
        x_plus[ix] += h
        random.setstate(rndstate)
        f1 = f(x_plus)[0]
        x_minus = x.copy()
        x_minus[ix] -= h
        random.setstate(rndstate)
        f2 = f(x_minus)[0]
        numgrad = (f1 - f2) / (2 * h)
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > 1e-5:
            print("Gradient check failed.")
            print("First gradient error found at index %s" % str(ix))
            print("Your gradient: %f \t Numerical gradient: %f" % (grad[ix], numgrad))
            return
    print("Gradient check passed!")
