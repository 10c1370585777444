# ruff: noqa -- a learner's solution in the course's style, kept as written
import random

import numpy as np


def gradcheck_naive(f, x):
    """Returns True or False and prints a table, unlike the starter."""
    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)
    h = 1e-4
    ok = True
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index
        x[ix] += h
        random.setstate(rndstate)
        f1, _ = f(x)
        x[ix] -= 2 * h
        random.setstate(rndstate)
        f2, _ = f(x)
        x[ix] += h
        numgrad = (f1 - f2) / (2 * h)
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        print("%-12s analytic %+.6f numeric %+.6f rel %.2e" % (ix, grad[ix], numgrad, reldiff))
        if reldiff > 1e-5:
            ok = False
        it.iternext()
    print("Result:", "OK" if ok else "Gradient check FAILED")
    return ok
