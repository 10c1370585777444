# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

from sigmoid import sigmoid, sigmoid_grad
from softmax import softmax


def forward_backward_prop(data, labels, params, dimensions):
    ofs = 0
    Dx, H, Dy = (dimensions[0], dimensions[1], dimensions[2])
    W1 = np.reshape(params[ofs:ofs + Dx * H], (Dx, H))
    ofs += Dx * H
    b1 = np.reshape(params[ofs:ofs + H], (1, H))
    ofs += H
    W2 = np.reshape(params[ofs:ofs + H * Dy], (H, Dy))
    ofs += H * Dy
    b2 = np.reshape(params[ofs:ofs + Dy], (1, Dy))

    h = sigmoid(data.dot(W1) + b1)
    y_hat = softmax(h.dot(W2) + b2)
    cost = -np.sum(labels * np.log(y_hat))

    d2 = y_hat - labels
    gradW2 = h.T.dot(d2)
    gradb2 = np.sum(d2, axis=0)
    d1 = d2.dot(W2.T) * sigmoid_grad(h)
    gradW1 = data.T.dot(d1)
    gradb1 = d1

    grad = np.concatenate((gradW1.flatten(), gradb1.flatten(),
                           gradW2.flatten(), gradb2.flatten()))
    return cost, grad
