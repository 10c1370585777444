"""The catalogue of diagnoses: every finding code ``nnbasics grade`` can report, with a one-line
title.  Each code has a section of ``docs/grading.md`` (its anchor is the code itself) explaining
the mistake and its fix; :func:`message` links a finding to it.
"""

from __future__ import annotations

__all__ = ["CATALOGUE", "DOCS", "message"]

DOCS = "docs/grading.md"

CATALOGUE: dict[str, str] = {
    # outcomes that are not a named mistake
    "wrong-value": "a different result from the reference, matching no catalogued mistake",
    "wrong-shape": "a result of the wrong shape",
    "wrong-return": "not the values the assignment asks to return",
    "raised": "the code raised an exception",
    "timeout": "the code did not finish within the time limit",
    "crashed": "the process running the code died",
    "grader-error": "the grader's check itself failed on what the code returned",
    "import-error": "the file could not be imported",
    "not-implemented": "the function is still the starter code",
    "input-mutated": "the function changed an input the caller still needs",
    "input-modified-in-place": "the function changed the array it was given (advice)",
    "integer-input-cast": "integer input fails: a float result is written into the integer array",
    # softmax
    "softmax-no-max-shift": "exp overflows: subtract each row's maximum first",
    "softmax-global-max": "the maximum of the whole matrix is subtracted, not each row's",
    "softmax-wrong-axis": "normalised over columns instead of rows",
    "softmax-whole-matrix": "normalised over the whole matrix instead of each row",
    "softmax-missing-keepdims": "the row maximum or sum broadcasts along the wrong axis",
    "softmax-missing-keepdims-sum": "the row sum broadcasts along the wrong axis",
    "softmax-vector-input": "a single vector is not treated as one row",
    # sigmoid
    "sigmoid-sign-error": "1/(1 + exp(x)) computes sigmoid(-x)",
    "sigmoid-overflow-nan": "exp(x)/(1 + exp(x)) gives inf/inf = NaN for large x",
    "sigmoid-tanh": "tanh is not the logistic sigmoid",
    "sigmoid-scalar-input": "a scalar input fails",
    "sigmoid-overflow-warning": "right values, but exp overflows with a warning (advice)",
    "sigmoid-grad-from-x": "sigmoid_grad applies the sigmoid again: it takes the value s = σ(x)",
    "sigmoid-grad-sign": "the sign of σ' is flipped",
    # gradient checker
    "gradcheck-forward-difference": "one-sided difference: O(h) error, use (f(x+h) - f(x-h))/2h",
    "gradcheck-random-state-not-restored": "random.setstate(rndstate) missing before an f(x)",
    "gradcheck-input-not-restored": "x is left modified after the check",
    "gradcheck-not-all-indices": "not every coordinate of x is checked",
    "gradcheck-absolute-error": "absolute, not relative, error: false alarms on large gradients",
    "gradcheck-false-alarm": "a correct gradient is reported wrong",
    "gradcheck-misses-error": "a wrong gradient is reported correct",
    # one-hidden-layer network
    "w1-gradient-transposed": "dW1 is computed transposed (δ1ᵀX instead of Xᵀδ1)",
    "w2-gradient-transposed": "dW2 is computed transposed (δ2ᵀh instead of hᵀδ2)",
    "bias-grad-not-summed": "the bias gradient is not summed over the rows of the batch",
    "bias-grad-wrong-axis": "the bias gradient is summed over the wrong axis",
    "bias-grad-mean": "the bias gradient is averaged while the cost is summed",
    "sigmoid-grad-of-preactivation": "sigmoid_grad applied to z = XW1 + b1 instead of h = σ(z)",
    "missing-sigmoid-derivative": "the hidden layer's σ' factor is missing",
    "softmax-ce-grad-sign": "y - ŷ instead of ŷ - y",
    "cost-grad-scale-mismatch": "cost and gradient of different costs (one summed, one averaged)",
    "cost-wrong": "the gradient is right but the cost is not",
    # word2vec
    "normalize-columns": "columns normalised instead of rows",
    "normalize-missing-sqrt": "rows divided by their squared norm",
    "softmax-grad-missing-y": "the one-hot y is not subtracted: the gradient uses ŷ alone",
    "outside-grad-transposed": "the outside-vector gradient is transposed",
    "center-grad-sign": "the sign of the centre-vector gradient is flipped",
    "neg-sampling-repeated-index-lost": "grad[indices] += g loses the repeats of a negative index",
    "neg-sampling-sign": "σ(u_kᵀv) and σ(-u_kᵀv) swapped for the negative samples",
    "neg-sampling-own-sampler": "negatives not drawn with getNegativeSamples(target, dataset, K)",
    "skipgram-overwrites-gradient": "gradients assigned (=) instead of accumulated (+=)",
    "skipgram-wrong-row": "the centre gradient is added to the wrong row",
    "cbow-mean-instead-of-sum": "the CBOW context vector is the mean, the course sums",
    "cbow-repeated-context-lost": "a repeated context word gets its gradient once",
    "sgd-gradient-ascent": "x += step * grad climbs the cost",
    "sgd-no-postprocessing": "postprocessing is not applied after each step",
    # CMU 16-720
    "xavier-wrong-variance": "Var[W] is not 2/(in + out)",
    "xavier-not-uniform": "W is not drawn from the uniform distribution of the assignment",
    "bias-not-zero": "b is not initialised to zeros",
    "bias-not-1d": "b must be a 1-D array of out_size values",
    "weights-not-random": "W has no randomness: every unit stays identical",
    "init-ignores-numpy-seed": "np.random.seed does not reproduce the initialisation (advice)",
    "forward-cache-missing": "params['cache_' + name] = (X, pre_act, post_act) is not stored",
    "forward-ignores-activation": "the activation argument is ignored",
    "forward-bias-missing": "the bias b is not added",
    "loss-not-total": "the loss is averaged, the assignment asks for the total (advice)",
    "loss-sign": "the cross-entropy loss is negative: -Σ y log p",
    "accuracy-as-count": "accuracy is the fraction of correct rows, not their count",
    "backwards-grad-x-skips-activation": "grad_X is δ Wᵀ without the activation derivative",
    "backwards-ignores-activation-deriv": "activation_deriv is ignored (sigmoid hard-coded)",
    "activation-deriv-of-preactivation": "activation_deriv applied to pre_act, it takes post_act",
    "w-gradient-transposed": "grad_W is computed transposed",
    "batches-pairs-broken": "x and y are shuffled separately: rows lose their labels",
    "batches-not-shuffled": "the batches keep the data's order",
    "batches-rows-repeated": "rows repeated or lost: the batches are not a split of the data",
    "batches-wrong-size": "batches are not of batch_size rows",
    # written answers
    "answer-unreadable": "the answer is not an expression the grader can read",
    "param-count-no-biases": "the biases are not counted: (Dx + 1)·H + (H + 1)·Dy",
    "param-count-hidden-only": "H counts the hidden units, not the parameters",
}


def message(code: str, detail: str) -> str:
    """``detail``, the catalogue's title of ``code`` and where the docs explain it."""
    title = CATALOGUE.get(code, code)
    return f"{detail}: {title} (see {DOCS}#{code})"
