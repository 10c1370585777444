# ruff: noqa -- a learner's solution in the course's style, kept as written
SAVE_PARAMS_EVERY = 5000

import pickle
import glob
import random
import numpy as np
import os.path as op


def sgd(f, x0, step, iterations, postprocessing=None, useSaved=False, PRINT_EVERY=10):
    ANNEAL_EVERY = 20000
    start_iter = 0
    x = x0
    if not postprocessing:
        postprocessing = lambda x: x
    exploss = None
    for iter in range(start_iter + 1, iterations + 1):
        loss = None
        loss, gradient = f(x)
        x -= step * gradient
        x = postprocessing(x)
        if iter % PRINT_EVERY == 0:
            if not exploss:
                exploss = loss
            else:
                exploss = .95 * exploss + .05 * loss
            print("iter %d: %f" % (iter, exploss))
        if iter % ANNEAL_EVERY == 0:
            step *= 0.5
    return x
