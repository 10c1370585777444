# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

SAVE_PARAMS_EVERY = 5000


def sgd(f, x0, step, iterations, postprocessing=None, useSaved=False, PRINT_EVERY=10):
    ANNEAL_EVERY = 20000
    x = x0
    if not postprocessing:
        postprocessing = lambda x: x  # noqa: E731
    exploss = None
    for iter in range(1, iterations + 1):
        loss, grad = f(x)
        x = x - step * grad
        x = postprocessing(x)
        if iter % PRINT_EVERY == 0:
            exploss = loss if exploss is None else .95 * exploss + .05 * loss
            print("iter %d: %f" % (iter, exploss))
        if iter % ANNEAL_EVERY == 0:
            step *= 0.5
    return np.asarray(x) if np.ndim(x) else x
