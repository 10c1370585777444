# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

from q1_softmax import softmax
from q2_sigmoid import sigmoid


def normalizeRows(x):
    x = x / np.sqrt(np.sum(x ** 2, axis=1, keepdims=True))
    return x


def softmaxCostAndGradient(predicted, target, outputVectors, dataset):
    y_hat = softmax(outputVectors.dot(predicted))
    cost = -np.log(y_hat[target])
    delta = y_hat.copy()
    delta[target] -= 1
    gradPred = outputVectors.T.dot(delta)
    grad = np.outer(delta, predicted)
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
    indices.extend(np.random.randint(0, outputVectors.shape[0], K))
    grad = np.zeros(outputVectors.shape)
    u_o = outputVectors[target]
    s_o = sigmoid(u_o.dot(predicted))
    cost = -np.log(s_o)
    gradPred = (s_o - 1) * u_o
    grad[target] += (s_o - 1) * predicted
    for k in indices[1:]:
        s_k = sigmoid(-outputVectors[k].dot(predicted))
        cost -= np.log(s_k)
        gradPred += (1 - s_k) * outputVectors[k]
        grad[k] += (1 - s_k) * predicted
    return cost, gradPred, grad


def skipgram(currentWord, C, contextWords, tokens, inputVectors, outputVectors,
             dataset, word2vecCostAndGradient=softmaxCostAndGradient):
    cost = 0.0
    gradIn = np.zeros(inputVectors.shape)
    gradOut = np.zeros(outputVectors.shape)
    c = tokens[currentWord]
    for word in contextWords:
        cc, gp, g = word2vecCostAndGradient(inputVectors[c], tokens[word], outputVectors, dataset)
        cost += cc
        gradIn[c] += gp
        gradOut += g
    return cost, gradIn, gradOut


def cbow(currentWord, C, contextWords, tokens, inputVectors, outputVectors,
         dataset, word2vecCostAndGradient=softmaxCostAndGradient):
    gradIn = np.zeros(inputVectors.shape)
    indices = [tokens[w] for w in contextWords]
    predicted = np.sum(inputVectors[indices], axis=0)
    cost, gp, gradOut = word2vecCostAndGradient(predicted, tokens[currentWord], outputVectors,
                                                dataset)
    for i in indices:
        gradIn[i] += gp
    return cost, gradIn, gradOut
