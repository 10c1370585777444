# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np
import random

from q1_softmax import softmax
from q2_gradcheck import gradcheck_naive
from q2_sigmoid import sigmoid, sigmoid_grad


def normalizeRows(x):
    N = x.shape[0]
    x /= np.sqrt(np.sum(x ** 2, 1)).reshape((N, 1)) + 1e-30
    return x


def softmaxCostAndGradient(predicted, target, outputVectors, dataset):
    """Loops over the vocabulary; float math."""
    V = outputVectors.shape[0]
    scores = np.array([float(np.dot(outputVectors[w], predicted)) for w in range(V)])
    probs = softmax(scores)
    cost = -np.log(probs[target])
    gradPred = np.zeros_like(predicted, dtype=float)
    grad = np.zeros_like(outputVectors, dtype=float)
    for w in range(V):
        coef = probs[w] - (1.0 if w == target else 0.0)
        gradPred += coef * outputVectors[w]
        grad[w] = coef * predicted
    return cost, gradPred, grad


def getNegativeSamples(target, dataset, K):
    indices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == target:
            newidx = dataset.sampleTokenIdx()
        indices[k] = newidx
    return indices


def negSamplingCostAndGradient(predicted, target, outputVectors, dataset, K=10):
    indices = [target]
    indices.extend(getNegativeSamples(target, dataset, K))
    labels = np.array([1] + [-1 for k in range(K)])
    vecs = outputVectors[indices, :]
    t = sigmoid(vecs.dot(predicted) * labels)
    cost = -np.sum(np.log(t))
    delta = labels * (t - 1)
    gradPred = delta.reshape((1, K + 1)).dot(vecs).flatten()
    gradtemp = delta.reshape((K + 1, 1)).dot(predicted.reshape((1, predicted.shape[0])))
    grad = np.zeros(outputVectors.shape)
    for k in range(K + 1):
        grad[indices[k]] += gradtemp[k, :]
    return cost, gradPred, grad


def skipgram(currentWord, C, contextWords, tokens, inputVectors, outputVectors,
             dataset, word2vecCostAndGradient=softmaxCostAndGradient):
    cost = 0.0
    gradIn = np.zeros(inputVectors.shape)
    gradOut = np.zeros(outputVectors.shape)
    cword_idx = tokens[currentWord]
    vhat = inputVectors[cword_idx]
    for j in contextWords:
        c_cost, c_grad_in, c_grad_out = word2vecCostAndGradient(
            predicted=vhat, target=tokens[j], outputVectors=outputVectors, dataset=dataset)
        cost += c_cost
        gradIn[cword_idx] += c_grad_in
        gradOut += c_grad_out
    return cost, gradIn, gradOut


def cbow(currentWord, C, contextWords, tokens, inputVectors, outputVectors,
         dataset, word2vecCostAndGradient=softmaxCostAndGradient):
    cost = 0.0
    gradIn = np.zeros(inputVectors.shape)
    gradOut = np.zeros(outputVectors.shape)
    predicted = np.zeros(inputVectors.shape[1])
    for w in contextWords:
        predicted += inputVectors[tokens[w]]
    cost, gradPred, gradOut = word2vecCostAndGradient(predicted, tokens[currentWord],
                                                      outputVectors, dataset)
    for w in contextWords:
        gradIn[tokens[w]] += gradPred
    return cost, gradIn, gradOut
