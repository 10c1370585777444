# ruff: noqa -- a learner's solution in the course's style, kept as written
SAVE_PARAMS_EVERY = 5000

import random  # noqa: E402


def sgd(f, x0, step, iterations, postprocessing=None, useSaved=False, PRINT_EVERY=10):
    ANNEAL_EVERY = 20000
    start_iter = 0
    x = x0
    if not postprocessing:
        postprocessing = lambda x: x  # noqa: E731
    expcost = None
    for iter in range(start_iter + 1, iterations + 1):
        cost, grad = f(x)
        x -= step * grad
        if iter % PRINT_EVERY == 0:
            expcost = cost if not expcost else .95 * expcost + .05 * cost
            print("iter %d: %f" % (iter, expcost))
        if iter % ANNEAL_EVERY == 0:
            step *= 0.5
    random.random()
    return x
