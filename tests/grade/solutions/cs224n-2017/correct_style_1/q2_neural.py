# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid, sigmoid_grad


def forward_backward_prop(data, labels, params, dimensions):
    """Averaged cross-entropy: the gradient is averaged too."""
    ofs = 0
    Dx, H, Dy = (dimensions[0], dimensions[1], dimensions[2])
    W1 = np.reshape(params[ofs:ofs + Dx * H], (Dx, H))
    ofs += Dx * H
    b1 = np.reshape(params[ofs:ofs + H], (1, H))
    ofs += H
    W2 = np.reshape(params[ofs:ofs + H * Dy], (H, Dy))
    ofs += H * Dy
    b2 = np.reshape(params[ofs:ofs + Dy], (1, Dy))

    M = data.shape[0]
    z1 = np.dot(data, W1) + b1
    a1 = sigmoid(z1)
    z2 = np.dot(a1, W2) + b2
    a2 = softmax(z2)
    cost = -np.sum(np.log(a2[labels == 1])) / M

    delta2 = (a2 - labels) / M
    gradW2 = np.dot(a1.T, delta2)
    gradb2 = np.sum(delta2, axis=0, keepdims=True)
    delta1 = np.dot(delta2, W2.T) * sigmoid_grad(a1)
    gradW1 = np.dot(data.T, delta1)
    gradb1 = np.sum(delta1, axis=0, keepdims=True)

    grad = np.concatenate((gradW1.flatten(), gradb1.flatten(),
                           gradW2.flatten(), gradb2.flatten()))
    return cost, grad
