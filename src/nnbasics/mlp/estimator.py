"""``MLPClassifier`` and ``MLPRegressor``: multi-layer perceptrons as scikit-learn estimators.

This module orchestrates: it validates and encodes the data, builds the parameters
(:mod:`nnbasics.mlp.model`), the optimiser (:mod:`nnbasics.mlp.optimizers`) and the training
state, and hands them to the loop of :mod:`nnbasics.mlp.training`.  Parameter names follow
scikit-learn's ``MLPClassifier`` where the concept is the same.
"""

from __future__ import annotations

import json
import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from nnbasics.core.activations import sigmoid, softmax
from nnbasics.io.datasets import cast_features, content_fingerprint
from nnbasics.io.serialization import load_arrays, save_arrays
from nnbasics.mlp.model import SCIKIT_LEARN_INIT, check_activation, forward_logits, init_parameters
from nnbasics.mlp.optimizers import make_optimizer
from nnbasics.mlp.training import (
    ENGINES,
    History,
    LoopConfig,
    TrainingState,
    keep_best,
    latest_checkpoints,
    load_latest_checkpoint,
    restore,
    run_epochs,
    snapshot,
)

__all__ = ["MLPClassifier", "MLPRegressor", "load_model"]

MODEL_KIND = "mlp-classifier"
REGRESSOR_KIND = "mlp-regressor"
_DTYPES = {"float32": np.float32, "float64": np.float64}


def _is_count(value: Any) -> bool:
    """A positive integer (``True`` is not a count, though Python's ``bool`` is an ``int``)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def _check_real(name: str, value: Any) -> None:
    """TypeError, naming the parameter ``name``, unless ``value`` is a real number (a range
    check then compares it without failing on, say, a string)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")


def _check_random_state(value: Any) -> None:
    """ValueError unless ``value`` is a seed scikit-learn accepts (None, an int in
    [0, 2**32 - 1], a ``RandomState``) or a NumPy ``Generator``."""
    if value is None or isinstance(value, np.random.RandomState | np.random.Generator):
        return
    if not (isinstance(value, numbers.Integral) and 0 <= value <= 2**32 - 1):
        raise ValueError(f"random_state must be None, an int in [0, 2**32 - 1], a "
                         f"numpy RandomState or Generator, got {value!r}")


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: NumPy scalars and arrays as Python numbers and lists,
    dtypes (``np.float32``, ``np.dtype("float32")``) by name."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return value


def _check_layers(coefs: list[np.ndarray], intercepts: list[np.ndarray], n_features: int,
                  n_classes: int) -> None:
    """ValueError unless the layers chain from ``n_features`` inputs to ``n_classes`` outputs:
    ``coefs[i]`` (H_{i-1}, H_i) with ``intercepts[i]`` (H_i,)."""
    if len(coefs) != len(intercepts):
        raise ValueError(f"{len(coefs)} coefs_ but {len(intercepts)} intercepts_")
    width = n_features
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
            raise ValueError(f"coefs_[{i}] {w.shape} and intercepts_[{i}] {b.shape} do not "
                             f"fit: expected ({width}, n) and (n,)")
        width = w.shape[1]
    if width != n_classes:
        raise ValueError(f"the last layer has {width} outputs; the model needs {n_classes}")


def _cast(X, dtype, name: str = "X"):
    """``X`` in ``dtype`` (:func:`nnbasics.io.datasets.cast_features`); a SciPy sparse ``X`` as
    CSR (its rows are the batches), its stored values checked the same way."""
    if sparse.issparse(X):
        X = X.tocsr()
        values = cast_features(X.data, dtype, name)
        return sparse.csr_matrix((values, X.indices, X.indptr), shape=X.shape) \
            if values is not X.data else X
    return cast_features(X, dtype, name)


#: scikit-learn's message for a network whose parameters are no longer finite (its tests match
#: it); nnbasics adds what happened
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


def _check_sample_weight(sample_weight, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` as float64 (N,): a scalar is every row's weight; None stays None.
    ValueError unless the weights are finite, >= 0 and not all 0."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must hold numbers, got dtype {weights.dtype}")
    weights = weights.astype(np.float64)
    if weights.ndim == 0:
        weights = np.full(n_rows, float(weights))
    if weights.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},) like the rows of X, "
                         f"got {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must hold finite numbers >= 0")
    if n_rows and not weights.sum() > 0:
        raise ValueError("sample_weight must not be all zero")
    return weights


def _resolve_dtype(dtype: Any) -> type:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _DTYPES[name]


class _MLPEstimator(BaseEstimator):
    """The training machinery :class:`MLPClassifier` and :class:`MLPRegressor` share: parameter
    checks, initialisation, the loops of ``fit`` and ``partial_fit``, and the attributes set
    after training.  The subclasses say what the outputs are (the ``_...outputs``/``_targets``
    hooks): classes through a softmax, or real values through the identity."""

    #: the output layer and loss of :mod:`nnbasics.mlp.reference` ("softmax" or "identity")
    _output = "softmax"
    #: the attribute that says the outputs are known (set by a fit or a first partial_fit)
    _outputs_attribute = "classes_"
    #: whether the training data is a SciPy sparse matrix (trained by the reference engine)
    _sparse_input = False

    def __init__(
        self,
        hidden_layer_sizes=(512,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-3,
        batch_size=32,
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_decay_steps=None,
        lr_decay_factor=0.1,
        max_iter=100,
        max_fun=15000,
        random_state=None,
        early_stopping=False,
        validation_fraction=0.1,
        tol=1e-4,
        n_iter_no_change=10,
        verbose=False,
        init="he",
        dtype="float32",
        checkpoint_dir=None,
        resume=False,
        warm_start=False,
        shuffle=True,
        engine="fast",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.lr_decay_steps = lr_decay_steps
        self.lr_decay_factor = lr_decay_factor
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose
        self.init = init
        self.dtype = dtype
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.engine = engine

    # ------------------------------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------------------------------

    def _check_params(self) -> tuple[tuple[int, ...], str, type]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, int | np.integer):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be a tuple of ints, got {sizes!r}") from None
        if any(not _is_count(h) for h in sizes):
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {sizes!r}")
        activation = check_activation(self.activation)
        if self.solver not in ("sgd", "adam", "lbfgs"):
            raise ValueError(f"solver must be 'sgd', 'adam' or 'lbfgs', got {self.solver!r}")
        if not _is_count(self.max_iter):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not _is_count(self.max_fun):
            raise ValueError(f"max_fun must be a positive integer, got {self.max_fun!r}")
        if self.solver == "lbfgs" and self.checkpoint_dir is not None:
            raise ValueError("solver='lbfgs' writes no checkpoints: set checkpoint_dir=None")
        if not (self.batch_size == "auto" or _is_count(self.batch_size)):
            raise ValueError(
                f"batch_size must be a positive integer or 'auto', got {self.batch_size!r}"
            )
        for name in ("alpha", "tol", "learning_rate_init", "power_t", "momentum", "beta_1",
                     "beta_2", "epsilon", "validation_fraction", "lr_decay_factor"):
            _check_real(name, getattr(self, name))
        if not (self.learning_rate_init > 0 and np.isfinite(self.learning_rate_init)):
            raise ValueError(f"learning_rate_init: the learning rate must be a positive number, "
                             f"got {self.learning_rate_init!r}")
        if not (self.power_t >= 0 and np.isfinite(self.power_t)):
            raise ValueError(f"power_t must be a finite number >= 0, got {self.power_t!r}")
        if not (self.alpha >= 0 and np.isfinite(self.alpha)):
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")
        if not (self.tol >= 0 and np.isfinite(self.tol)):
            raise ValueError(f"tol must be a finite number >= 0, got {self.tol!r}")
        if not (0 < self.validation_fraction < 1):
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        if not (_is_count(self.n_iter_no_change) or self.n_iter_no_change == np.inf):
            raise ValueError(
                f"n_iter_no_change must be a positive integer or np.inf, "
                f"got {self.n_iter_no_change!r}"
            )
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"learning_rate must be 'constant', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}")
        if not (0 <= self.momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not (isinstance(self.engine, str) and self.engine in ENGINES):
            raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, "
                             f"got {self.engine!r}")
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir")
        for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not (isinstance(self.verbose, bool | np.bool_)
                or (isinstance(self.verbose, numbers.Integral) and self.verbose >= 0)):
            raise ValueError(f"verbose must be True, False or an int >= 0, got {self.verbose!r}")
        _check_random_state(self.random_state)
        return tuple(int(h) for h in sizes), activation, _resolve_dtype(self.dtype)

    def _seed(self) -> np.random.Generator:
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(int(rs.randint(0, 2**31 - 1)))
        if isinstance(rs, np.random.Generator):
            return rs
        return np.random.default_rng(rs)

    def _init_stream(self, rng: np.random.Generator):
        """The random stream of the initial parameters: ``rng``; but with
        ``init="scikit-learn"`` and an integer ``random_state``, scikit-learn's own stream
        (``RandomState(random_state)``, first used by the initialisation), so that the initial
        parameters are scikit-learn's, bit for bit."""
        seed = self.random_state
        if self.init == SCIKIT_LEARN_INIT and isinstance(seed, int | np.integer) \
                and not isinstance(seed, bool):
            return np.random.RandomState(int(seed))
        return rng

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC X, trained by the reference engine
        return tags

    def _n_outputs(self) -> int:
        """K, the units of the output layer."""
        raise NotImplementedError  # pragma: no cover - the subclasses say

    def _compiled_output(self) -> bool:
        """Whether the fast engine's compiled step computes this output's loss."""
        return False

    def _set_outputs(self, y, warm: bool) -> None:
        """Learn the outputs from a ``fit``'s targets (with ``warm``: check them)."""
        raise NotImplementedError  # pragma: no cover

    def _partial_fit_outputs(self, y, classes, first: bool) -> None:
        """Learn (``first``) or check the outputs of a ``partial_fit``."""
        raise NotImplementedError  # pragma: no cover

    def _targets(self, y, dtype) -> np.ndarray:
        """The training targets of the reference loss: class indices, or real values (N, K)."""
        raise NotImplementedError  # pragma: no cover

    def _encode(self, y: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.classes_, y)
        codes = np.minimum(codes, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if unknown.any():
            raise ValueError(
                f"label {np.asarray(y)[unknown][0].item()!r} is not one of the classes "
                f"{self.classes_.tolist()}"
            )
        return codes.astype(np.int64)

    def _validate_train(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             y_numeric=False, multi_output=True, accept_sparse=("csr", "csc"))
        if sparse.issparse(y):  # a sparse label indicator matrix, as scikit-learn accepts it
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"y must hold class labels (N,) or a 0/1 label indicator matrix "
                             f"(N, K); got a {kind} target")
        return X, y

    # ------------------------------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------------------------------

    def _loop_config(self, activation: str, n_rows: int, weighted: bool = False) -> LoopConfig:
        batch = min(200, n_rows) if self.batch_size == "auto" else int(self.batch_size)
        return LoopConfig(
            activation=activation,
            batch_size=min(batch, n_rows),
            max_epochs=int(self.max_iter),
            alpha=float(self.alpha),
            tol=float(self.tol),
            n_iter_no_change=(np.inf if self.n_iter_no_change == np.inf
                              else int(self.n_iter_no_change)),
            early_stopping=bool(self.early_stopping),
            shuffle=bool(self.shuffle),
            engine=(self.engine if self._compiled_output() and not self._sparse_input
                    and not weighted else "reference"),
            output=self._output,
            on_divergence="stop",  # _check_finite says what happened, as scikit-learn
        )

    def _initialise(self, n_features: int, sizes, dtype, rng) -> TrainingState:
        layer_sizes = (n_features, *sizes, self._n_outputs())
        weights, biases = init_parameters(layer_sizes, self.init, self._init_stream(rng), dtype,
                                          self.activation)
        self.first_layer_init_ = weights[0].copy()
        return TrainingState(weights, biases, self._new_optimizer(weights, biases), rng)

    def _new_optimizer(self, weights, biases):
        """The optimiser the parameters ask for, over ``weights`` and ``biases``, at step 0
        (None for "lbfgs": SciPy's minimiser keeps its own state, for one ``fit``)."""
        if self.solver == "lbfgs":
            return None
        return make_optimizer(self.solver, [*weights, *biases], float(self.learning_rate_init),
                              float(self.momentum), self.lr_decay_steps,
                              float(self.lr_decay_factor), beta_1=float(self.beta_1),
                              beta_2=float(self.beta_2), epsilon=float(self.epsilon),
                              nesterov=bool(self.nesterovs_momentum),
                              schedule=self.learning_rate, power_t=float(self.power_t))

    def fit(self, X, y, validation_data=None, callback=None, *,
            sample_weight=None) -> _MLPEstimator:
        """Train on ``(X, y)`` from a fresh initialisation (or from a checkpoint, with ``resume``).

        Parameters
        ----------
        X : array-like (N, D)
        y : array-like (N,), class labels of any sortable type, or (N, K) 0/1 label indicator
            matrix (multilabel: K sigmoid outputs with binary cross-entropy, reference engine)
        validation_data : (X_val, y_val), optional
            Data for the validation curves (and for early stopping, instead of a split).
        callback : callable, optional
            ``callback(state)`` after every epoch (:class:`nnbasics.mlp.training.TrainingState`).
        sample_weight : array-like (N,) or float, optional
            Weight of each row, as scikit-learn's: every mean over rows in the loss becomes the
            weighted mean (:mod:`nnbasics.mlp.reference`), and with ``early_stopping`` the
            held-out rows keep theirs for the validation score.  Weighted training runs on the
            reference engine.

        Raises
        ------
        ValueError
            Bad parameters or data; or a fit whose parameters end non-finite (the message
            ends with scikit-learn's "Solver produced non-finite parameter weights...").  A
            diverging fit with ``early_stopping`` keeps its best epoch's parameters and warns.
        """
        return self._all_or_nothing(self._fit, X, y, validation_data, callback, sample_weight)

    def _all_or_nothing(self, method, *args) -> _MLPEstimator:
        """``method(*args)``, and if it raises, the estimator's attributes as they were before:
        a refused or diverged call must not leave new classes next to old weights, nor a first
        ``partial_fit`` half done.  (Arrays changed in place are ``partial_fit``'s to restore:
        :func:`nnbasics.mlp.training.snapshot`.)"""
        before = dict(self.__dict__)
        try:
            return method(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, validation_data, callback, sample_weight=None) -> _MLPEstimator:
        sizes, activation, dtype = self._check_params()
        if validation_data is not None and not (
                isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            # scikit-learn's third positional argument is sample_weight; here it is
            # validation_data, and a weight vector there must not be dropped or misread
            raise ValueError("validation_data must be a pair (X_val, y_val); sample weights "
                             "go by keyword: fit(X, y, sample_weight=w)")
        warm = (bool(self.warm_start) and hasattr(self, "coefs_")
                and hasattr(self, self._outputs_attribute))
        if warm:  # the fitted network must be the one asked for
            fitted = tuple(int(W.shape[1]) for W in self.coefs_[:-1])
            if fitted != tuple(sizes):
                raise ValueError(f"warm_start needs the hidden_layer_sizes of the fitted network "
                                 f"{fitted}, got {tuple(sizes)}; set warm_start=False to refit")
        # a warm start keeps n_features_in_ and feature_names_in_ and checks X against them
        # (as scikit-learn: the same columns in another order must not train the fitted weights)
        X, y = self._validate_train(X, y, reset=not warm)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        self._set_outputs(y, warm)
        rng = self._seed()
        if self.solver == "lbfgs":
            dtype = np.float64  # SciPy's minimiser works in float64
        X = _cast(X, dtype)
        codes = self._targets(y, dtype)
        validation = None
        if self.solver == "lbfgs":
            pass  # full batch, no validation (as scikit-learn, early_stopping does not apply)
        elif validation_data is not None:
            X_val, y_val = validation_data
            X_val, y_val = self._validate_train(X_val, y_val, reset=False)
            validation = (_cast(X_val, dtype, "X_val"), self._targets(y_val, dtype))
        elif self.early_stopping:
            X, codes, sample_weight, validation = self._split_validation(X, codes, rng,
                                                                         sample_weight)
        if warm:  # on from the fitted parameters: max_iter more epochs, a fresh stopping rule
            state = self._state_from_coefs(dtype)
            state.rng = rng
        else:
            state = self._initialise(X.shape[1], sizes, dtype, rng)
        first_epoch = state.epoch
        fingerprint = None
        if self.checkpoint_dir is not None and sparse.issparse(X):
            raise ValueError("checkpoints need a dense X: set checkpoint_dir=None or pass "
                             "X.toarray()")
        if self.checkpoint_dir is not None:
            fingerprint = self._fingerprint(X, codes, sizes, activation, sample_weight)
            found = latest_checkpoints(self.checkpoint_dir)
            if self.resume:
                used = load_latest_checkpoint(state, self.checkpoint_dir, fingerprint)
                if used is not None and self.verbose:
                    print(f"resumed from {used} (epoch {state.epoch})")
            elif found:
                raise ValueError(
                    f"checkpoint directory {self.checkpoint_dir} already holds checkpoints "
                    f"({found[0].name}); resume from them or choose an empty directory"
                )
        if self.solver == "lbfgs":
            return self._fit_lbfgs(state, X, codes, activation, callback, sample_weight)
        self._sparse_input = sparse.issparse(X)
        config = self._loop_config(activation, X.shape[0], sample_weight is not None)
        if warm:
            config = LoopConfig(**{**config.__dict__, "max_epochs": first_epoch + self.max_iter})
        interrupted = False
        try:
            run_epochs(state, X, codes, config, validation, self.checkpoint_dir, fingerprint,
                       self._epoch_callback(callback), sample_weight=sample_weight)
        except KeyboardInterrupt:  # as scikit-learn: keep what was trained, and say so
            warnings.warn("Training interrupted by user.", stacklevel=3)
            keep_best(state, config)
            interrupted = True
        self._check_finite(state)
        self._state = state  # partial_fit continues from here
        self._store(state)
        if interrupted or state.diverged:
            return self
        if not state.stopped and state.epoch - first_epoch >= self.max_iter:
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached and the "
                "optimisation hasn't converged yet.", ConvergenceWarning, stacklevel=3,
            )
        return self

    def _fit_lbfgs(self, state: TrainingState, X, codes, activation: str,
                   callback, sample_weight=None) -> _MLPEstimator:
        """Train ``state``'s float64 parameters with :func:`nnbasics.mlp.reference.lbfgs_fit`;
        one history entry (the loss) per iteration; ConvergenceWarning unless it converged."""
        from nnbasics.mlp.reference import lbfgs_fit

        on_epoch = self._epoch_callback(callback)
        nan = float("nan")

        def on_iteration(loss: float) -> None:
            state.epoch += 1
            history = state.history
            history.train_loss.append(loss)
            for curve in (history.train_accuracy, history.val_loss, history.val_accuracy,
                          history.learning_rate):
                curve.append(nan)
            if on_epoch is not None:
                on_epoch(state)

        result = lbfgs_fit(X, codes, state.weights, state.biases, activation, float(self.alpha),
                           int(self.max_iter), int(self.max_fun), float(self.tol),
                           on_iteration, self._output, sample_weight)
        if not all(np.isfinite(a).all() for a in (*state.weights, *state.biases)):
            raise ValueError(f"{NON_FINITE} (L-BFGS: scale the features or raise alpha)")
        state.stopped = result.status == 0
        self._state = state
        self._store(state)
        self.loss_ = float(result.fun)
        if result.status != 0:
            warnings.warn(
                f"{type(self).__name__}: lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}): {result.message}. Increase max_iter or max_fun, "
                "or scale the data.", ConvergenceWarning, stacklevel=3,
            )
        return self

    def _can_partial_fit(self) -> bool:
        return self.solver in ("sgd", "adam")

    def _partial_fit(self, X, y, classes, sample_weight=None) -> _MLPEstimator:
        first = not hasattr(self, self._outputs_attribute)
        sizes, activation, dtype = self._check_params()
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y = self._validate_train(X, y, reset=first)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        self._partial_fit_outputs(y, classes, first)
        if not self._state_is_current(dtype):
            self._state = (self._state_from_coefs(dtype) if hasattr(self, "coefs_")
                           else self._initialise(X.shape[1], sizes, dtype, self._seed()))
        codes = self._targets(y, dtype)
        state = self._state
        self._sparse_input = sparse.issparse(X)
        config = self._loop_config(activation, X.shape[0], sample_weight is not None)
        config = LoopConfig(**{**config.__dict__, "early_stopping": False,
                               "max_epochs": state.epoch + 1, "on_divergence": "raise"})
        state.stopped = False
        # the epoch updates the parameters, the optimiser's state and the generator in place:
        # keep a copy, so that a diverged or interrupted call leaves the model as it was
        saved = snapshot(state)
        try:
            run_epochs(state, _cast(X, dtype), codes, config, n_epochs=1,
                       sample_weight=sample_weight)
        except BaseException:
            restore(state, saved)
            raise
        self._store(state)
        return self

    def _state_is_current(self, dtype: type) -> bool:
        """Whether ``_state`` trains the arrays of ``coefs_``/``intercepts_``, in ``dtype``."""
        state = getattr(self, "_state", None)
        return (
            state is not None
            and state.weights is self.coefs_ and state.biases is self.intercepts_
            and all(w.dtype == dtype for w in state.weights)
        )

    def _state_from_coefs(self, dtype: type) -> TrainingState:
        """A training state that continues from ``coefs_``/``intercepts_`` (a loaded model, or
        parameters set by hand, or ``dtype`` changed): copies in ``dtype``, the epoch count and
        history kept, and the optimiser's state when it fits (:meth:`_optimizer_state`)."""
        weights = [np.array(w, dtype=dtype, order="C") for w in self.coefs_]
        biases = [np.array(b, dtype=dtype, order="C") for b in self.intercepts_]
        _check_layers(weights, biases, self.n_features_in_, self._n_outputs())
        optimizer = self._new_optimizer(weights, biases)
        saved = self._optimizer_state() if optimizer is not None else None
        if saved is not None:
            steps, arrays = saved
            own = optimizer.state_arrays()
            if set(arrays) == set(own) and all(arrays[k].shape == own[k].shape for k in own):
                optimizer.load_state_arrays(arrays)  # copied into place, in the new dtype
                optimizer.n_steps = steps
        live = getattr(self, "_state", None)
        if saved is not None and live is not None and live.weights is self.coefs_:
            optimizer.load_schedule_state(live.optimizer.schedule_state())  # rows seen, rate
        state = TrainingState(weights, biases, optimizer, self._seed())
        state.epoch = int(getattr(self, "n_iter_", 0))
        history = getattr(self, "history_", None)
        if history is not None:
            state.history = History.from_dict(history.to_dict())
        return state

    def _optimizer_state(self) -> tuple[int, dict[str, np.ndarray]] | None:
        """``(steps, state arrays)`` of the optimiser that trained ``coefs_``: the one in memory,
        else the one :func:`load_model` read.  None when ``coefs_`` was replaced since (its
        moments belong to other parameters) or nothing is known."""
        state = getattr(self, "_state", None)
        if state is not None:
            if state.weights is not self.coefs_ or state.optimizer is None:
                return None
            return state.optimizer.n_steps, state.optimizer.state_arrays()
        loaded = getattr(self, "_loaded_optimizer", None)
        if loaded is None or loaded[2] is not self.coefs_:
            return None
        return loaded[0], loaded[1]

    def _split_validation(self, X, codes, rng, sample_weight=None):
        """``(X_train, codes_train, weights_train, (X_val, codes_val[, weights_val]))``: the
        ``validation_fraction`` held out for early stopping, stratified by class for a
        single-label classifier, as scikit-learn's."""
        from sklearn.model_selection import train_test_split

        seed = int(rng.integers(0, 2**31 - 1))
        stratify = None
        if hasattr(self, "classes_") and not self._multilabel:  # single-label classes
            counts = np.bincount(codes, minlength=len(self.classes_))
            if counts.min() < 2:  # as scikit-learn: a class of one member cannot be stratified
                few = self.classes_[counts < 2].tolist()
                raise ValueError(
                    f"The least populated classes in y have only {counts.min()} member, which "
                    "is too few to hold out a stratified validation set (early_stopping=True). "
                    f"Classes with too few members are: {few}"
                )
            stratify = codes
        arrays = (X, codes) if sample_weight is None else (X, codes, sample_weight)
        try:
            parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                     random_state=seed, stratify=stratify)
        except ValueError as exc:
            raise ValueError(
                f"cannot hold out a validation set for early stopping: {exc}"
            ) from None
        train, held_out = parts[0::2], parts[1::2]
        if held_out[0].shape[0] < 2:
            raise ValueError(
                f"The validation set is too small ({held_out[0].shape[0]} row) to score early "
                "stopping. Increase 'validation_fraction' or the size of your dataset."
            )
        weights = train[2] if sample_weight is not None else None
        return train[0], train[1], weights, tuple(held_out)

    def _fingerprint(self, X, codes, sizes, activation, sample_weight=None) -> dict[str, Any]:
        params = self.get_params()
        keep = ("solver", "alpha", "batch_size", "learning_rate", "learning_rate_init",
                "power_t", "momentum", "nesterovs_momentum", "beta_1",
                "beta_2", "epsilon", "lr_decay_steps",
                "lr_decay_factor", "early_stopping", "validation_fraction", "tol",
                "n_iter_no_change", "init", "dtype", "shuffle", "engine")
        fp = {k: params[k] for k in keep}
        fp["dtype"] = np.dtype(_resolve_dtype(fp["dtype"])).name
        # an integer seed fixes the run (initial weights, order of the batches): resuming another
        # seed's checkpoint would silently continue that other run.  None or a generator object
        # cannot be compared across processes: such a run resumes from the state it saved.
        seed = self.random_state
        seeded = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
        fp.update(hidden_layer_sizes=list(sizes), activation=activation,
                  random_state=int(seed) if seeded else None,
                  data_sha256=content_fingerprint(X, codes))
        if sample_weight is not None:  # other weights, another run
            fp["sample_weight_sha256"] = content_fingerprint(sample_weight, np.empty(0))
        return json.loads(json.dumps(fp, default=str))

    def _check_finite(self, state: TrainingState) -> None:
        """After training: ValueError (what happened, then scikit-learn's message) if a parameter
        is not finite, or (what happened) if training diverged and no best epoch was kept; a
        ConvergenceWarning if training diverged but ``early_stopping`` kept the parameters of
        its best epoch."""
        finite = all(np.isfinite(a).all() for a in (*state.weights, *state.biases))
        what = ""
        if state.diverged:
            what = (f"training diverged at epoch {state.epoch} (loss "
                    f"{state.history.train_loss[-1]}); lower the learning rate")
        if not finite:
            raise ValueError(f"{what}. {NON_FINITE}" if what else NON_FINITE)
        if state.diverged and not (self.early_stopping and state.best_weights is not None):
            raise ValueError(f"{what} (the loss, not yet the parameters, is non-finite)")
        if state.diverged:
            warnings.warn(f"{type(self).__name__}: {what}; the parameters of the best epoch "
                          "(early stopping) were kept", ConvergenceWarning, stacklevel=4)

    def _epoch_callback(self, callback):
        if not (self.verbose or callback):
            return None

        def on_epoch(state: TrainingState) -> None:
            if self.verbose:
                print(f"Iteration {state.epoch}, loss = {state.history.train_loss[-1]:.8f}")
            if callback is not None:
                callback(state)

        return on_epoch

    def _store(self, state: TrainingState) -> None:
        self.coefs_ = state.weights
        self.intercepts_ = state.biases
        self.n_iter_ = state.epoch
        self.history_ = state.history
        self.loss_curve_ = list(state.history.train_loss)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
        # scikit-learn's bookkeeping of the stopping rule (kept as it keeps them)
        if self.early_stopping:
            self.best_loss_ = None
            self.validation_scores_ = list(state.history.val_accuracy)
            self.best_validation_score_ = max(self.validation_scores_, default=None)
        else:
            self.best_loss_ = min(self.loss_curve_, default=None)
            self.validation_scores_ = self.best_validation_score_ = None
        self._no_improvement_count = state.n_bad_epochs
        self._optimizer = state.optimizer
        # rows seen by the stochastic solvers; 0 for "lbfgs", as scikit-learn's
        self.t_ = state.optimizer.rows_seen if state.optimizer is not None else 0
        self.n_layers_ = len(state.weights) + 1
        self.n_outputs_ = self._n_outputs()
        self.out_activation_ = self._output

    # ------------------------------------------------------------------------------------------
    # files
    # ------------------------------------------------------------------------------------------

    def save(self, path, extra_metadata: dict[str, Any] | None = None) -> Path:
        """Write the fitted model to one ``.npz`` (arrays + JSON metadata, no pickle),
        atomically; :func:`load_model` reads it back.

        The file holds the parameters, the layers, the first layer's initial weights, the
        optimiser's state (so that ``partial_fit`` after loading trains on as it would have in
        memory; the file grows by 1-2x the weights), the training history, the outputs
        (classes, or the number of targets) and ``extra_metadata`` (JSON values).
        """
        check_is_fitted(self)
        output_arrays, output_meta = self._saved_outputs()
        arrays = {**output_arrays, "first_layer_init": self.first_layer_init_}
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"coef_{i}"], arrays[f"intercept_{i}"] = w, b
        optimizer_steps, optimizer_arrays = self._optimizer_state() or (0, {})
        for name, a in optimizer_arrays.items():
            arrays[f"optimizer_{name}"] = a
        params = self.get_params()
        if not isinstance(params["random_state"], int | np.integer | None):
            params["random_state"] = None  # a generator object is no reproducible setting
        params = {name: _plain(value) for name, value in params.items()}
        params = json.loads(json.dumps(params, default=str))
        meta = {
            "params": params,
            "n_features_in": int(self.n_features_in_),
            "n_layers": len(self.coefs_),
            "n_iter": int(self.n_iter_),
            "optimizer_steps": int(optimizer_steps),
            **output_meta,
            "history": self.history_.to_dict(),
            "extra": extra_metadata or {},
        }
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names_in"] = np.asarray(self.feature_names_in_, dtype=str)
        return save_arrays(path, arrays, meta, kind=self._file_kind)

    def to_onnx(self, path, dtype=None) -> Path:
        """Write the model as ONNX (an optional extra), atomically: a classifier's outputs
        ``logits``, ``probabilities`` and ``label``, a regressor's ``prediction`` (N, K); see
        :func:`nnbasics.mlp.export.to_onnx`."""
        from nnbasics.mlp.export import to_onnx

        return to_onnx(self, path, dtype=dtype)

    # ------------------------------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coefs_")

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse="csr")
        # inference in float64: exact enough that a row's result does not depend on its batch
        weights = [w.astype(np.float64) for w in self.coefs_]
        biases = [b.astype(np.float64) for b in self.intercepts_]
        return forward_logits(X, weights, biases, self.activation)

class MLPClassifier(ClassifierMixin, _MLPEstimator):
    """Multi-layer perceptron classifier: dense hidden layers, softmax cross-entropy output.

    As scikit-learn's: two classes train one logistic unit (binary cross-entropy; ``coefs_[-1]``
    has one column, the logit of ``classes_[1]``), a label indicator matrix one logistic unit
    per label, three or more classes a softmax.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (512,)
        Units of each hidden layer (any number of layers, ``()`` for softmax regression).
    activation : {"relu", "sigmoid", "logistic", "tanh"}, default "relu"
        Activation of the hidden layers ("logistic" is scikit-learn's name for sigmoid).
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        "lbfgs": SciPy's L-BFGS-B on the full-batch loss, as scikit-learn's (the reference
        engine's loss and gradient, in float64 whatever ``dtype``; the batch, learning-rate,
        early-stopping and checkpoint parameters do not apply; ``validation_data`` is not
        scored; ``loss_curve_`` holds the loss after every iteration).
    alpha : float, default 1e-3
        L2 penalty on the weights, :math:`\\frac{\\alpha}{2N}\\sum\\lVert W\\rVert^2` per batch.
    batch_size : int or "auto", default 32
        Rows per mini-batch ("auto": ``min(200, N)``, scikit-learn's rule).
    learning_rate_init : float, default 0.001
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        scikit-learn's schedules of the "sgd" solver's rate (:mod:`nnbasics.mlp.optimizers`).
    power_t : float, default 0.5
        Exponent of the "invscaling" schedule.
    momentum : float, default 0.9
        Momentum of the "sgd" solver.
    nesterovs_momentum : bool, default True
        Nesterov's momentum (scikit-learn's form) rather than heavy-ball.
    beta_1 : float, default 0.9
        Decay of Adam's running mean of the gradient ("adam" solver).
    beta_2 : float, default 0.999
        Decay of Adam's running mean of the squared gradient ("adam" solver).
    epsilon : float, default 1e-08
        Adam's guard against division by zero ("adam" solver).
    lr_decay_steps : int or None, default None
        Multiply the learning rate by ``lr_decay_factor`` every this many steps (step decay).
    lr_decay_factor : float, default 0.1
    max_iter : int, default 100
        Epochs (passes over the training data); with "lbfgs", iterations of the minimiser.
    max_fun : int, default 15000
        "lbfgs" only: the most loss evaluations (scikit-learn's parameter).
    random_state : int, RandomState or None, default None
        Seeds weight initialisation, the validation split and the batch order.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training rows, stop when the validation accuracy
        has not improved by ``tol`` for ``n_iter_no_change`` epochs and keep the best parameters.
    validation_fraction : float, default 0.1
    tol : float, default 1e-4
    n_iter_no_change : int or np.inf, default 10
        Without early stopping the rule applies to the training loss.  As scikit-learn's: an
        epoch is bad unless it beats the best score by more than ``tol``; training stops after
        more than ``n_iter_no_change`` bad epochs in a row (``np.inf``: never).
    verbose : bool, default False
        Print one line per epoch.
    init : {"xavier", "he", "normal", "zeros", "scikit-learn"}, default "he"
        Weight initialisation (see :mod:`nnbasics.core.initializers`); biases start at zero,
        but with "scikit-learn": weights and biases as scikit-learn's MLPs draw them
        (:data:`nnbasics.mlp.model.SCIKIT_LEARN_INIT`).
    dtype : {"float32", "float64"}, default "float32"
        Precision of the parameters and of training (prediction runs in float64).
    checkpoint_dir : str or None, default None
        Write a checkpoint there after every epoch.
    resume : bool, default False
        Continue from the newest valid checkpoint in ``checkpoint_dir`` (if there is one).
    warm_start : bool, default False
        As scikit-learn's: ``fit`` on a fitted model starts from its ``coefs_``/``intercepts_``
        instead of a fresh initialisation, and trains ``max_iter`` more epochs.  The classes,
        features and layer sizes must be those of the fitted model.  Unlike scikit-learn, the
        optimiser's state (step count, velocity or moments) carries over, as in
        :meth:`partial_fit`, and ``n_iter_`` counts every epoch of the model (scikit-learn's
        restarts at each ``fit``; ``loss_curve_`` holds every epoch in both).
    shuffle : bool, default True
        Draw a new order of the rows every epoch (scikit-learn's option); ``False`` keeps
        the rows in their given order.
    engine : {"fast", "reference"}, default "fast"
        How each step is computed: "fast", the compiled kernel (preallocated buffers, fused
        passes, plain SGD folded into the weight products), or "reference", the readable NumPy
        step of :mod:`nnbasics.mlp.reference`.  Same batches and same steps up to rounding; the
        tests hold the fast engine to the reference.

    Notes
    -----
    The defaults were chosen on scikit-learn's digits (scaled to [0, 1], stratified 25% held out):
    with them ``MLPClassifier()`` reaches >= 97% test accuracy in about 2 s on 2 cores; a
    narrower layer, fewer epochs, larger batches or a smaller ``alpha`` fail that bar for
    2-4% of (split, seed) pairs, and annealing the learning rate made it worse (less gradient
    noise, less regularisation).  See ``tests/test_estimator.py``.

    Attributes
    ----------
    classes_ : ndarray (K,)
    coefs_, intercepts_ : lists of ndarray
        Weights (fan_in, fan_out) and biases (fan_out,) of every layer.
    first_layer_init_ : ndarray (D, H_1)
        The first layer's weights at initialisation (for the weight figure).
    n_iter_ : int
        Epochs run.
    loss_, loss_curve_ : the last epoch's training loss and all of them
    best_loss_ : float or None
        The smallest training loss (None with ``early_stopping``, as in scikit-learn).
    validation_scores_, best_validation_score_ : list of float and float, or None
        Validation accuracy after every epoch and its best (None without ``early_stopping``).
    history_ : :class:`nnbasics.mlp.training.History`
    n_features_in_, feature_names_in_ : as in scikit-learn
    """

    #: whether ``y`` is a label indicator matrix (multilabel: K independent logistic units)
    _multilabel = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True  # a label indicator y, as scikit-learn's
        return tags

    def _n_outputs(self) -> int:
        if self._output == "logistic" and not self._multilabel:
            return 1  # binary: one logistic unit, the probability of classes_[1]
        return len(self.classes_)

    def _compiled_output(self) -> bool:
        return self._output == "softmax" or (self._output == "logistic" and not self._multilabel)

    def _output_of_coefs(self) -> str:
        """The output layer ``coefs_`` has, for a single-label classifier: one unit for two
        classes is the logistic unit of a binary model, else a softmax (a 0.1 file's 2-way
        softmax, or parameters set by hand: their layout, not the last fit's, is the model)."""
        if self._multilabel or not hasattr(self, "coefs_") or not hasattr(self, "classes_"):
            return self._output
        one_unit = np.shape(self.coefs_[-1])[-1:] == (1,)
        return "logistic" if one_unit and len(self.classes_) == 2 else "softmax"

    def _set_outputs(self, y, warm: bool) -> None:
        multilabel = y.ndim == 2
        if warm and multilabel != self._multilabel:
            raise ValueError("warm_start needs targets of the previous fit's kind (class labels "
                             "or a label indicator matrix)")
        previous_classes = self.classes_ if warm else None
        # a label indicator matrix (N, K): K independent sigmoid outputs (scikit-learn's
        # multilabel classification), classes 0..K-1; two classes: one logistic unit; else one
        # softmax over the classes
        self.classes_ = np.arange(y.shape[1]) if multilabel else np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"MLPClassifier needs at least 2 classes to train; only one class is present "
                f"({self.classes_[0].tolist()!r})"
            )
        if warm and not np.array_equal(self.classes_, previous_classes):
            raise ValueError(  # scikit-learn's words
                "warm_start can only be used where `y` has the same classes as in the previous "
                f"call to fit. Previously got {previous_classes}, `y` has {self.classes_}"
            )
        if warm:  # a warm start keeps the output layer of coefs_ (a 0.1 model's 2-way softmax)
            self._output = self._output_of_coefs()
        else:
            self._output = "logistic" if multilabel or len(self.classes_) == 2 else "softmax"
            self._multilabel = multilabel

    def _partial_fit_outputs(self, y, classes, first: bool) -> None:
        if not first and (y.ndim == 2) != self._multilabel:
            raise ValueError("y must be of the first call's kind (class labels or a label "
                             "indicator matrix)")
        if first and y.ndim == 2:  # multilabel: the classes are the columns 0..K-1
            if classes is None or len(np.unique(classes)) != y.shape[1]:
                raise ValueError(f"classes must name the {y.shape[1]} columns of the label "
                                 f"indicator y on the first call to partial_fit")
            self._output, self._multilabel = "logistic", True
            self.classes_ = np.arange(y.shape[1])
        elif first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    "MLPClassifier needs at least 2 classes; only one class is present"
                )
            # parameters set by hand (or loaded) keep their output layer: 2 units are a softmax
            two_units = hasattr(self, "coefs_") and np.shape(self.coefs_[-1])[-1:] == (2,)
            binary = len(self.classes_) == 2 and not two_units
            self._output, self._multilabel = ("logistic" if binary else "softmax"), False
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {classes!r} differ from the first call's {self.classes_.tolist()}"
            )
        else:
            self._output = self._output_of_coefs()

    def _targets(self, y, dtype) -> np.ndarray:
        if self._multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y must be a label indicator matrix with "
                                 f"{len(self.classes_)} columns")
            return np.asarray(y, dtype=dtype)
        return self._encode(y)

    @available_if(_MLPEstimator._can_partial_fit)
    def partial_fit(self, X, y, classes=None, sample_weight=None) -> MLPClassifier:
        """One epoch over ``(X, y)``, continuing the current training.

        ``classes`` (every label that will ever occur) is required on the first call;
        ``sample_weight`` weighs the rows as in :meth:`fit` (pass it by name: scikit-learn's
        order of the two is the other way round).  A model
        from :func:`load_model`, or one whose ``coefs_``/``intercepts_`` were set by hand, trains
        on from those arrays, with the optimiser's state (step count, velocity or moments) that
        was saved or is in memory when the solver is unchanged, else a fresh optimiser.
        A call that fails (labels outside ``classes``, a diverged or interrupted epoch) changes
        nothing: parameters, optimiser state and generator are as before it.
        """
        return self._all_or_nothing(self._partial_fit, X, y, classes, sample_weight)

    # ------------------------------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, K), columns in the order of ``classes_`` (for a multilabel
        model, each label's own probability: the rows need not sum to 1; for a binary one,
        ``[sigmoid(-z), sigmoid(z)] = [1 - p, p]`` with ``p`` the logistic unit's probability of
        ``classes_[1]``: ``1 - p`` from ``-z``, not by subtraction, keeps its relative
        precision where ``p`` rounds to 1, as :meth:`predict_log_proba` does)."""
        logits = self._logits(X)
        if self._multilabel:
            return sigmoid(logits)
        if self._output_of_coefs() == "logistic":
            z = logits[:, 0]
            return np.column_stack([sigmoid(-z), sigmoid(z)])
        return softmax(logits, axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithms of :meth:`predict_proba`, computed from the logits (log-softmax, or
        :math:`\\log\\sigma(z) = -\\log(1 + e^{-z})`): finite where a probability rounds
        to 0 or 1."""
        from nnbasics.core.activations import log_softmax

        logits = self._logits(X)
        if self._multilabel:  # log sigmoid, finite for any logit
            return -np.logaddexp(0, -logits)
        if self._output_of_coefs() == "logistic":  # log(1 - sigmoid(z)) = log sigmoid(-z)
            z = logits[:, :1]
            return np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])
        return log_softmax(logits, axis=1)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row, (N,), values from ``classes_`` (for a multilabel
        model, the label indicator matrix (N, K))."""
        logits = self._logits(X)  # first: it raises NotFittedError on an unfitted model
        if self._multilabel:
            return (logits > 0).astype(np.int64)
        if self._output_of_coefs() == "logistic":
            return self.classes_[(logits[:, 0] > 0).astype(np.int64)]
        return self.classes_[np.argmax(logits, axis=1)]

    # ------------------------------------------------------------------------------------------
    # files (the shared save and load_model write and read the layers; these the outputs)
    # ------------------------------------------------------------------------------------------

    _file_kind = MODEL_KIND

    def _saved_outputs(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        classes = np.asarray(self.classes_)
        if classes.dtype.hasobject:
            if not all(isinstance(c, str) for c in classes):
                raise TypeError("only numeric or string class labels can be saved")
            classes = classes.astype(str)
        # "logistic": a binary model's one unit, or a multilabel model's K units
        return {"classes": classes}, {"output": self._output_of_coefs(),
                                      "multilabel": bool(self._multilabel)}

    def _restore_outputs(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.classes_ = arrays["classes"]
        self._output = meta.get("output", "softmax")  # files before 0.2: softmax
        if self._output not in ("softmax", "logistic"):
            raise ValueError(f"unknown output layer {self._output!r}")
        self._multilabel = meta.get("multilabel", False)  # files before 0.3: single-label
        if not isinstance(self._multilabel, bool) or (self._multilabel
                                                      and self._output != "logistic"):
            raise ValueError(f"multilabel {self._multilabel!r} with output {self._output!r}")

    # ------------------------------------------------------------------------------------------
    # beyond one machine: PyTorch and ONNX (optional extras; see nnbasics.mlp.export)
    # ------------------------------------------------------------------------------------------

    def to_torch(self, probabilities: bool = False):
        """A ``torch.nn.Sequential`` computing this model's logits (``Softmax(dim=1)``, or
        ``Sigmoid()`` for a multilabel model, appended with ``probabilities=True``): see
        :func:`nnbasics.mlp.export.to_torch`."""
        from nnbasics.mlp.export import to_torch

        return to_torch(self, probabilities=probabilities)

    @classmethod
    def from_torch(cls, module, classes=None, multilabel: bool = False,
                   **params) -> MLPClassifier:
        """A fitted estimator from a ``Linear, act, ..., Linear`` Sequential whose outputs are
        ``classes`` (or, with ``multilabel=True``, K independent labels): see
        :func:`nnbasics.mlp.export.from_torch`."""
        from nnbasics.mlp.export import from_torch

        return from_torch(module, classes, cls=cls, multilabel=multilabel, **params)


class MLPRegressor(RegressorMixin, _MLPEstimator):
    """Multi-layer perceptron regressor: dense hidden layers, identity output, squared error.

    The parameters are :class:`MLPClassifier`'s (same names and meanings), with these
    differences:

    - the defaults are scikit-learn's ``MLPRegressor``'s: ``hidden_layer_sizes=(100,)``,
      ``alpha=1e-4``, ``batch_size="auto"``, ``max_iter=200``, and scikit-learn's
      initialisation (``init="scikit-learn"``: Glorot-uniform weights and biases); the
      classifier's were chosen on digits, and its He initialisation of 512 ReLU units makes a
      regressor's first steps diverge with ``momentum=0.9``.  ``dtype`` stays float32;
    - ``loss``: "squared_error" (default) or "poisson";
    - the outputs are real values (``y`` of shape (N,) or (N, K)).  With "squared_error" the
      output is the identity and the loss is :math:`J = \\frac1{2N}\\sum_n\\lVert \\hat y_n -
      y_n\\rVert^2 + \\frac{\\alpha}{2N}\\sum_l\\lVert W_l\\rVert^2`, summed over the K outputs
      (scikit-learn's gradient; the ``loss_`` it reports is this divided by K).  With "poisson"
      the output is :math:`\\hat y = e^{z}` and the loss half the Poisson deviance,
      :math:`\\frac1N\\sum_{n,k} y\\log(y/\\hat y) - y + \\hat y` (``y >= 0``), as
      scikit-learn's;
    - it always trains with the readable reference engine (:mod:`nnbasics.mlp.reference`, the
      ``engine`` parameter is not used: the compiled kernel computes the softmax loss only);
    - with ``early_stopping`` the validation score is R² (``validation_scores_``);
    - ``predict`` returns the parameters' dtype (float32 by default), computed in float64;
    - ``score`` is R² (scikit-learn's ``RegressorMixin``); ``save`` and :func:`load_model`,
      ``to_torch``/``from_torch`` and ``to_onnx`` as the classifier's (the exported network
      outputs ``z``; ``predict`` is ``z``, or ``exp(z)`` with "poisson"); no
      ``checkpoint_dir`` yet.

    Attributes
    ----------
    n_outputs_ : int
        K, the number of targets.
    out_activation_ : str
        "identity", or "exp" with ``loss="poisson"``.
    coefs_, intercepts_, n_iter_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, history_, n_features_in_ : as :class:`MLPClassifier`'s
    """

    _output = "identity"
    _outputs_attribute = "n_outputs_"

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_decay_steps=None,
        lr_decay_factor=0.1,
        max_iter=200,
        max_fun=15000,
        random_state=None,
        early_stopping=False,
        validation_fraction=0.1,
        tol=1e-4,
        n_iter_no_change=10,
        verbose=False,
        init="scikit-learn",
        dtype="float32",
        checkpoint_dir=None,
        resume=False,
        warm_start=False,
        shuffle=True,
        engine="fast",
    ):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, lr_decay_steps=lr_decay_steps,
            lr_decay_factor=lr_decay_factor, max_iter=max_iter, max_fun=max_fun,
            random_state=random_state, early_stopping=early_stopping,
            validation_fraction=validation_fraction, tol=tol,
            n_iter_no_change=n_iter_no_change, verbose=verbose, init=init, dtype=dtype,
            checkpoint_dir=checkpoint_dir, resume=resume, warm_start=warm_start,
            shuffle=shuffle, engine=engine,
        )
        self.loss = loss

    def _check_params(self) -> tuple[tuple[int, ...], str, type]:
        checked = super()._check_params()
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        if self.checkpoint_dir is not None:
            raise ValueError("MLPRegressor writes no checkpoints yet: set checkpoint_dir=None")
        return checked

    def _validate_train(self, X, y, reset: bool):
        X, y = validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             accept_sparse=("csr", "csc"), multi_output=True, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:  # a column: one target, as scikit-learn (warned)
            y = column_or_1d(y, warn=True)
        return X, y

    def _n_outputs(self) -> int:
        return int(self.n_outputs_)

    def _set_output_of_loss(self) -> None:
        """The output function the loss goes with: ``exp`` for "poisson", else the identity."""
        self._output = "exp" if self.loss == "poisson" else "identity"

    def _check_targets(self, y) -> None:
        """The Poisson loss needs counts-like targets: ValueError for a negative one."""
        self._set_output_of_loss()
        if self._output == "exp" and np.any(np.asarray(y) < 0):
            raise ValueError("loss='poisson' needs targets y >= 0; some are negative")

    def _set_outputs(self, y, warm: bool) -> None:
        self._check_targets(y)
        n_outputs = 1 if np.ndim(y) == 1 else int(np.shape(y)[1])
        if warm and n_outputs != self.n_outputs_:
            raise ValueError(f"warm_start needs the {self.n_outputs_} targets of the previous "
                             f"fit, got {n_outputs}")
        self.n_outputs_ = n_outputs
        self._y_is_1d = np.ndim(y) == 1

    def _partial_fit_outputs(self, y, classes, first: bool) -> None:
        self._check_targets(y)
        n_outputs = 1 if np.ndim(y) == 1 else int(np.shape(y)[1])
        if first:
            self.n_outputs_ = n_outputs
            self._y_is_1d = np.ndim(y) == 1
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} targets, the model {self.n_outputs_}")

    def _targets(self, y, dtype) -> np.ndarray:
        return np.asarray(y, dtype=dtype).reshape(len(y), -1)  # (N, K)

    _file_kind = REGRESSOR_KIND

    def _saved_outputs(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"n_outputs": int(self.n_outputs_), "y_is_1d": bool(self._y_is_1d)}

    def _restore_outputs(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        n_outputs, y_is_1d = meta["n_outputs"], meta["y_is_1d"]
        if not _is_count(n_outputs) or not isinstance(y_is_1d, bool) or (y_is_1d
                                                                         and n_outputs != 1):
            raise ValueError(f"n_outputs {n_outputs!r} with y_is_1d {y_is_1d!r}")
        self.n_outputs_, self._y_is_1d = int(n_outputs), y_is_1d
        self._set_output_of_loss()

    @available_if(_MLPEstimator._can_partial_fit)
    def partial_fit(self, X, y, sample_weight=None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing the current training (see
        :meth:`MLPClassifier.partial_fit`)."""
        return self._all_or_nothing(self._partial_fit, X, y, None, sample_weight)

    def predict(self, X) -> np.ndarray:
        """The network's outputs (``exp`` of them with ``loss="poisson"``), in the parameters'
        dtype: (N,) when it was trained on a 1-D ``y``, else (N, K)."""
        from nnbasics.mlp.reference import predictions

        outputs = predictions(self._logits(X), getattr(self, "out_activation_", "identity"))
        outputs = outputs.astype(self.coefs_[-1].dtype, copy=False)
        return outputs.ravel() if getattr(self, "_y_is_1d", False) else outputs

    # beyond one machine: PyTorch and ONNX (optional extras; see nnbasics.mlp.export)

    def to_torch(self):
        """A ``torch.nn.Sequential`` computing the network's outputs ``z`` (N, K): ``predict``
        is ``z``, or ``exp(z)`` with ``loss="poisson"``; see
        :func:`nnbasics.mlp.export.to_torch`."""
        from nnbasics.mlp.export import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module, **params) -> MLPRegressor:
        """A fitted regressor from a ``Linear, act, ..., Linear`` Sequential (``loss`` in
        ``params`` says its output function): see :func:`nnbasics.mlp.export.from_torch`."""
        from nnbasics.mlp.export import from_torch

        return from_torch(module, cls=cls, **params)


def load_model(path) -> MLPClassifier | MLPRegressor:
    """Read a model written by :meth:`MLPClassifier.save` or :meth:`MLPRegressor.save`
    (``allow_pickle=False``); the file says which of the two it is.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a truncated,
    corrupted, foreign or inconsistent one.
    """
    arrays, meta = load_arrays(path)
    estimators = {MODEL_KIND: MLPClassifier, REGRESSOR_KIND: MLPRegressor}
    cls = estimators.get(meta.get("kind"))
    if cls is None:
        raise ValueError(f"{path} holds a {meta.get('kind')!r}, not a "
                         f"{' or a '.join(map(repr, estimators))}")
    try:
        params = meta["params"]
        model = cls(**params)
        if isinstance(params.get("hidden_layer_sizes"), list):
            model.hidden_layer_sizes = tuple(params["hidden_layer_sizes"])
        n_layers = int(meta["n_layers"])
        model.coefs_ = [arrays[f"coef_{i}"] for i in range(n_layers)]
        model.intercepts_ = [arrays[f"intercept_{i}"] for i in range(n_layers)]
        model._restore_outputs(arrays, meta)
        model.first_layer_init_ = arrays["first_layer_init"]
        model.n_features_in_ = int(meta["n_features_in"])
        model.n_iter_ = int(meta["n_iter"])
        model.history_ = History.from_dict(meta["history"])
        prefix = "optimizer_"
        optimizer_arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        steps = int(meta.get("optimizer_steps", 0))  # files written before it was saved: 0
        if steps < 0:
            raise ValueError(f"optimizer_steps {steps} < 0")
        model._loaded_optimizer = (steps, optimizer_arrays, model.coefs_)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: model file is incomplete or inconsistent ({exc!r})") from None
    try:
        _check_layers(model.coefs_, model.intercepts_, model.n_features_in_, model._n_outputs())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if "feature_names_in" in arrays:
        model.feature_names_in_ = arrays["feature_names_in"].astype(object)
    model.loss_curve_ = list(model.history_.train_loss)
    model.loss_ = model.loss_curve_[-1] if model.loss_curve_ else np.nan
    model.n_layers_ = n_layers + 1
    model.n_outputs_ = model._n_outputs()
    model.out_activation_ = model._output
    model.extra_metadata_ = meta.get("extra", {})
    return model
