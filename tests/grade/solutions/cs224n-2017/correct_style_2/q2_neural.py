# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

import q2_sigmoid as sg
import q1_softmax as sm


def forward_backward_prop(data, labels, params, dimensions):
    """Explicit loops over the batch; the cost is averaged, and so is the gradient."""
    Dx, H, Dy = dimensions
    ofs = 0
    W1 = params[ofs:ofs + Dx * H].reshape(Dx, H); ofs += Dx * H
    b1 = params[ofs:ofs + H]; ofs += H
    W2 = params[ofs:ofs + H * Dy].reshape(H, Dy); ofs += H * Dy
    b2 = params[ofs:ofs + Dy]
    N = data.shape[0]
    gW1, gb1 = np.zeros_like(W1), np.zeros_like(b1)
    gW2, gb2 = np.zeros_like(W2), np.zeros_like(b2)
    cost = 0.0
    for n in range(N):
        h = sg.sigmoid(data[n] @ W1 + b1)
        p = sm.softmax(h @ W2 + b2)
        k = int(np.argmax(labels[n]))
        cost += -np.log(p[k]) / N
        d2 = p.copy()
        d2[k] -= 1
        d2 /= N
        gW2 += np.outer(h, d2)
        gb2 += d2
        d1 = (W2 @ d2) * sg.sigmoid_grad(h)
        gW1 += np.outer(data[n], d1)
        gb1 += d1
    return cost, np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])
