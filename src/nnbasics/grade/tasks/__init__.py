"""The checks of ``nnbasics grade``, one function per task, run inside the sandboxed child.

Each check takes the learner's function and a :class:`~nnbasics.grade.tasks.checking.Context` and
returns a list of :class:`~nnbasics.grade.tasks.checking.Finding`.  :data:`CHECKS` selects them by
task name (a table, as scikit-learn's ``ACTIVATIONS``).
"""

from __future__ import annotations

from nnbasics.grade.tasks import basics, cmu, network, word2vec

CHECKS = {
    "softmax": basics.check_softmax,
    "sigmoid": basics.check_sigmoid,
    "sigmoid_grad": basics.check_sigmoid_grad,
    "gradcheck": basics.check_gradcheck,
    "forward_backward": network.check_forward_backward,
    "normalize_rows": word2vec.check_normalize_rows,
    "naive_softmax": word2vec.check_naive_softmax,
    "neg_sampling": word2vec.check_neg_sampling,
    "skipgram": word2vec.check_skipgram,
    "cbow": word2vec.check_cbow,
    "sgd": word2vec.check_sgd,
    "initialize_weights": cmu.check_initialize_weights,
    "forward": cmu.check_forward,
    "compute_loss_and_acc": cmu.check_compute_loss_and_acc,
    "backwards": cmu.check_backwards,
    "get_random_batches": cmu.check_get_random_batches,
}

__all__ = ["CHECKS"]
