# ruff: noqa -- a learner's solution in the course's style, kept as written
#!/usr/bin/env python
import numpy as np
import random

from utils.gradcheck import gradcheck_naive, grad_tests_softmax, grad_tests_negsamp
from utils.utils import normalizeRows, softmax


def sigmoid(x):
    """Stable on both sides; works for scalars and arrays."""
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    scores = outsideVectors.dot(centerWordVec)
    scores = scores - scores.max()
    log_probs = scores - np.log(np.sum(np.exp(scores)))
    loss = float(-log_probs[outsideWordIdx])
    probs = np.exp(log_probs)
    probs[outsideWordIdx] -= 1.0
    gradCenterVec = np.dot(probs, outsideVectors)
    gradOutsideVecs = probs.reshape(-1, 1) * centerWordVec.reshape(1, -1)
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
    gradCenterVec = np.zeros(centerWordVec.shape)
    gradOutsideVecs = np.zeros(outsideVectors.shape)
    z = sigmoid(np.dot(outsideVectors[outsideWordIdx], centerWordVec))
    loss = -np.log(z)
    gradCenterVec += (z - 1.0) * outsideVectors[outsideWordIdx]
    gradOutsideVecs[outsideWordIdx] += (z - 1.0) * centerWordVec
    for k in range(K):
        samp = indices[k + 1]
        z = sigmoid(np.dot(outsideVectors[samp], centerWordVec))
        loss -= np.log(1.0 - z)
        gradCenterVec += z * outsideVectors[samp]
        gradOutsideVecs[samp] += z * centerWordVec
    return loss, gradCenterVec, gradOutsideVecs


def skipgram(currentCenterWord, windowSize, outsideWords, word2Ind,
             centerWordVectors, outsideVectors, dataset,
             word2vecLossAndGradient=naiveSoftmaxLossAndGradient):
    loss = 0.0
    gradCenterVecs = np.zeros(centerWordVectors.shape)
    gradOutsideVectors = np.zeros(outsideVectors.shape)
    centerIdx = word2Ind[currentCenterWord]
    centerVec = centerWordVectors[centerIdx]
    results = [word2vecLossAndGradient(centerVec, word2Ind[w], outsideVectors, dataset)
               for w in outsideWords]
    loss = sum(r[0] for r in results)
    gradCenterVecs[centerIdx] = sum(r[1] for r in results)
    gradOutsideVectors = sum(r[2] for r in results)
    return loss, gradCenterVecs, gradOutsideVectors


if __name__ == "__main__":
    grad_tests_softmax(skipgram, None, None, naiveSoftmaxLossAndGradient)
