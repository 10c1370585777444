# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np
from util import *  # noqa: F403


def initialize_weights(in_size, out_size, params, name=''):
    limit = np.sqrt(6.0 / (in_size + out_size))
    W = np.random.uniform(-limit, limit, (in_size, out_size))
    b = np.zeros(out_size)
    params['W' + name] = W
    params['b' + name] = b


def sigmoid(x):
    res = 1.0 / (1.0 + np.exp(-x))
    return res


def forward(X, params, name='', activation=sigmoid):
    W = params['W' + name]
    b = params['b' + name]
    pre_act = X @ W + b
    post_act = sigmoid(pre_act)
    params['cache_' + name] = (X, pre_act, post_act)
    return post_act


def softmax(x):
    c = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - c)
    res = e / np.sum(e, axis=1, keepdims=True)
    return res


def compute_loss_and_acc(y, probs):
    loss = -np.sum(y * np.log(probs))
    acc = np.mean(np.argmax(y, axis=1) == np.argmax(probs, axis=1))
    return loss, acc


def sigmoid_deriv(post_act):
    res = post_act * (1.0 - post_act)
    return res


def backwards(delta, params, name='', activation_deriv=sigmoid_deriv):
    grad_X, grad_W, grad_b = None, None, None
    W = params['W' + name]
    b = params['b' + name]
    X, pre_act, post_act = params['cache_' + name]
    d = delta * activation_deriv(post_act)
    grad_W = X.T @ d
    grad_b = np.sum(d, axis=0)
    grad_X = d @ W.T
    params['grad_W' + name] = grad_W
    params['grad_b' + name] = grad_b
    return grad_X


def get_random_batches(x, y, batch_size):
    batches = []
    idx = np.random.permutation(x.shape[0])
    for i in range(0, x.shape[0], batch_size):
        j = idx[i:i + batch_size]
        batches.append((x[j], y[j]))
    return batches
