# ruff: noqa -- a learner's solution in the course's style, kept as written
import numpy as np

from utils.gradcheck import gradcheck_naive, grad_tests_softmax, grad_tests_negsamp  # noqa: F401
from utils.utils import normalizeRows, softmax  # noqa: F401


def sigmoid(x):
    s = 1 / (1 + np.exp(-x))
return s


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    y_hat = softmax(outsideVectors @ centerWordVec)
    loss = -np.log(y_hat[outsideWordIdx])
    y = np.zeros_like(y_hat)
    y[outsideWordIdx] = 1
    gradCenterVec = outsideVectors.T @ (y_hat - y)
    gradOutsideVecs = (y_hat - y)[:, None] @ centerWordVec[None, :]
    return loss, gradCenterVec, gradOutsideVecs


def getNegativeSamples(outsideWordIdx, dataset, K):
    negSampleWordIndices = [None] * K
    for k in range(K):
        newidx = dataset.sampleTokenIdx()
        while newidx == outsideWordIdx:
            newidx = dataset.sampleTokenIdx()
        negSampleWordIndices[k] = newidx
    return negSampleWordIndices


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    negSampleWordIndices = getNegativeSamples(outsideWordIdx, dataset, K)
    indices = [outsideWordIdx] + negSampleWordIndices
    u_o = outsideVectors[outsideWordIdx]
    U_neg = outsideVectors[negSampleWordIndices]
    s_o = sigmoid(u_o @ centerWordVec)
    s_neg = sigmoid(-U_neg @ centerWordVec)
    loss = -np.log(s_o) - np.sum(np.log(s_neg))
    gradCenterVec = (s_o - 1) * u_o + (1 - s_neg) @ U_neg
    gradOutsideVecs = np.zeros_like(outsideVectors)
    gradOutsideVecs[outsideWordIdx] += (s_o - 1) * centerWordVec
    np.add.at(gradOutsideVecs, indices[1:], np.outer(1 - s_neg, centerWordVec))
    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind, centerWordVectors,
             outsideVectors, dataset, word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)
    c = word2Ind[currentCenterWord]
    for w in outsideWords:
        l, gc, go = word2vecLossAndGradient(centerWordVectors[c], word2Ind[w], outsideVectors,
                                            dataset)
        loss += l
        gradCenterVecs[c] += gc
        gradOutsideVectors += go
    return loss, gradCenterVecs, gradOutsideVectors
