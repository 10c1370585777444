"""A fitted ``MLPClassifier`` or ``MLPRegressor`` to and from PyTorch, and to ONNX, for use
beyond one CPU.

* :func:`to_torch` builds a ``torch.nn.Sequential`` that computes the same network outputs
  ``z`` (``Linear, act, Linear, act, ..., Linear``: a classifier's logits, a regressor's
  outputs before its output function), so training can continue on a GPU or under PyTorch's
  distributed training; :func:`from_torch` reads such a module back into an estimator.
* :func:`to_onnx` writes an ONNX graph (opset :data:`ONNX_OPSET`) that any ONNX runtime can
  serve: a classifier's ``logits``, ``probabilities`` and ``label``, a regressor's
  ``prediction``.

The output functions, the *head* of each kind of model:

========================== ========= ====================== ===============================
model                      head      probabilities          prediction
========================== ========= ====================== ===============================
classifier, 2+ classes     softmax   ``softmax(z)``         ``classes_[argmax z]``
classifier, multilabel     sigmoid   ``sigmoid(z)``         ``z > 0`` (indicator matrix)
regressor, squared_error   identity  --                     ``z``
regressor, poisson         exp       --                     ``exp(z)``
========================== ========= ====================== ===============================

A binary classifier's one logistic unit ``z`` is exported as the two logits ``[0, z]``:
``softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]`` is its ``predict_proba``.

Both libraries are optional extras (``pip install 'nnbasics[torch]'``, ``'nnbasics[onnx]'``),
imported only when a function here is called.  Shapes: ``N`` rows, ``D`` features, ``H_i``
units of hidden layer ``i``, ``K`` outputs (classes, labels or targets).  A torch ``Linear``
stores its weight as ``(fan_out, fan_in)``, the transpose of ``coefs_[i]`` ``(fan_in,
fan_out)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnbasics.mlp.model import check_activation

if TYPE_CHECKING:
    from nnbasics.mlp.estimator import MLPClassifier, MLPRegressor

    Model = MLPClassifier | MLPRegressor

__all__ = ["ONNX_OPSET", "from_torch", "to_onnx", "to_onnx_model", "to_torch"]

ONNX_OPSET = 17  # ONNX 1.12 (2022): read by onnxruntime >= 1.13 and most serving stacks
ONNX_IR_VERSION = 8  # the IR version that goes with opset 17

# hidden-layer activation -> torch.nn module class name and ONNX operator
_TORCH_MODULES = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "identity": "Identity"}
_ONNX_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "identity": "Identity"}


def _require(module: str, extra: str, purpose: str) -> Any:
    """``import module``, or an ImportError that says which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{purpose} needs the {module} package: pip install 'nnbasics[{extra}]'"
        ) from None


def _is_regressor(model_or_class: Any) -> bool:
    from sklearn.base import RegressorMixin

    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    return issubclass(cls, RegressorMixin)


def _fitted_layers(model: Model) -> tuple[list[np.ndarray], list[np.ndarray], str, str]:
    """``(coefs_, intercepts_, activation, head)`` of a fitted model (NotFittedError
    otherwise), ``head`` the output function of the module docstring's table."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    coefs, intercepts = list(model.coefs_), list(model.intercepts_)
    if _is_regressor(model):
        head = model.out_activation_  # "identity" or "exp", from its loss
    elif getattr(model, "_multilabel", False):
        head = "sigmoid"
    else:
        head = "softmax"
        if coefs[-1].shape[1] == 1:  # binary: the logits [0, z] (module docstring)
            W, b = coefs[-1], intercepts[-1]
            coefs[-1] = np.concatenate([np.zeros_like(W), W], axis=1)
            intercepts[-1] = np.concatenate([np.zeros_like(b), b])
    return coefs, intercepts, check_activation(model.activation), head


# ----------------------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------------------


def to_torch(model: Model, probabilities: bool = False) -> Any:
    """A ``torch.nn.Sequential`` computing the network outputs ``z`` of a fitted ``model``.

    ``Linear(D, H_1), act, Linear(H_1, H_2), act, ..., Linear(H_L, K)`` with the weights
    ``coefs_[i].T`` and biases ``intercepts_[i]``, in the dtype of ``coefs_`` (float32 or
    float64), on the CPU.  For a classifier ``z`` are the logits: ``softmax(module(X), dim=1)``
    is ``model.predict_proba(X)`` and ``model.classes_[argmax(module(X), dim=1)]`` is
    ``model.predict(X)`` (a binary model's one logistic unit ``z`` becomes the two logits
    ``[0, z]``); for a multilabel one ``sigmoid(module(X))`` is ``predict_proba``.  For a
    regressor ``module(X)`` (N, K) is ``predict(X)``, or its log with ``loss="poisson"``
    (``torch.nn.PoissonNLLLoss(log_input=True)`` takes it as it is).

    Parameters
    ----------
    model : MLPClassifier or MLPRegressor
        A fitted estimator.
    probabilities : bool, default False
        A classifier's module ends with ``torch.nn.Softmax(dim=1)`` (``torch.nn.Sigmoid()``
        for a multilabel one), so that it outputs probabilities (N, K).  Logits suit training
        (``torch.nn.CrossEntropyLoss`` and ``BCEWithLogitsLoss`` take logits).  Not for a
        regressor.

    Returns
    -------
    torch.nn.Sequential
        New parameters (copies: training the module leaves ``model`` unchanged).
    """
    torch = _require("torch", "torch", "to_torch")
    coefs, intercepts, activation, head = _fitted_layers(model)
    if probabilities and head in ("identity", "exp"):
        raise ValueError("a regressor has no probabilities: to_torch(probabilities=False)")
    layers = []
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))  # (H_out, H_in)
            linear.bias.copy_(torch.from_numpy(np.asarray(b)))
        layers.append(linear)
        if i < len(coefs) - 1:
            layers.append(getattr(torch.nn, _TORCH_MODULES[activation])())
    if probabilities:
        layers.append(torch.nn.Softmax(dim=1) if head == "softmax" else torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def _read_sequential(module: Any) -> tuple[list[np.ndarray], list[np.ndarray], str | None]:
    """Weights (fan_in, fan_out), biases and the hidden activation of a Sequential laid out as
    :func:`to_torch` writes it; TypeError or ValueError naming the layer that does not fit."""
    torch = _require("torch", "torch", "from_torch")
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential, got {type(module).__name__}")
    layers = list(module)
    if layers and isinstance(layers[-1], nn.Softmax):
        if layers[-1].dim not in (1, -1):
            raise ValueError(f"the final Softmax normalises dim={layers[-1].dim}; expected 1")
        layers = layers[:-1]
    if not layers:
        raise ValueError("the Sequential holds no Linear layer")
    activation_names = {getattr(nn, name): key for key, name in _TORCH_MODULES.items()}
    coefs, intercepts, activation = [], [], None
    for position, layer in enumerate(layers):
        if position % 2 == 0:  # Linear layers at even positions, the last one too
            if not isinstance(layer, nn.Linear):
                raise TypeError(f"layer {position} is {type(layer).__name__}; expected Linear "
                                "(layers must alternate Linear and activation, ending on Linear)")
            if layer.bias is None:
                raise ValueError(f"layer {position} (Linear) has no bias; nnbasics' MLPs have")
            if coefs and layer.in_features != coefs[-1].shape[1]:
                raise ValueError(f"layer {position} (Linear) takes {layer.in_features} inputs "
                                 f"but the layer before gives {coefs[-1].shape[1]}")
            coefs.append(layer.weight.detach().cpu().numpy().T.copy())  # (H_in, H_out)
            intercepts.append(layer.bias.detach().cpu().numpy().copy())
            continue
        name = activation_names.get(type(layer))
        if name is None:
            raise TypeError(f"layer {position} is {type(layer).__name__}; expected one of "
                            f"{', '.join(_TORCH_MODULES.values())}")
        if activation is not None and name != activation:
            raise ValueError(f"layer {position} is {type(layer).__name__} but an earlier one "
                             f"is {_TORCH_MODULES[activation]}; nnbasics' MLPs use one "
                             "activation for every hidden layer")
        activation = name
    if not isinstance(layers[-1], nn.Linear):
        raise TypeError(f"the last layer is {type(layers[-1]).__name__}; expected Linear "
                        "(the logits), optionally followed by Softmax(dim=1)")
    return coefs, intercepts, activation


def from_torch(module: Any, classes: Any = None, cls: type | None = None,
               multilabel: bool = False, **params: Any) -> Any:
    """A fitted ``MLPClassifier`` (or ``MLPRegressor``) holding the weights of a Sequential
    like :func:`to_torch`'s.

    Parameters
    ----------
    module : torch.nn.Sequential
        ``Linear, act, ..., Linear`` with one activation (ReLU, Sigmoid, Tanh or Identity)
        between the Linear layers, all with biases, optionally ending with ``Softmax(dim=1)``
        (a classifier's); parameters float32 or float64, on any device (copied to the CPU).
    classes : array-like (K,)
        For a classifier, the label of each output of the last Linear layer, in the order of
        the outputs.  ``classes_`` is these labels sorted (the last layer's columns are
        reordered to match).  A regressor takes none: its K outputs are its targets (``predict``
        gives (N,) for one target), its ``loss`` parameter says their output function.  A
        multilabel classifier takes none or ``range(K)``: its labels are the outputs' indices.
    cls : type, default MLPClassifier
        The estimator class to build (the class whose ``from_torch`` is called).
    multilabel : bool, default False
        For a classifier: the K outputs are the logits of K independent labels (sigmoid
        outputs, as :func:`to_torch` exports a multilabel model; a final ``Sigmoid()`` is
        accepted), not of one softmax over K classes.  A logits module does not say which.
    **params
        Other estimator parameters (``solver``, ``learning_rate_init``, ... used by later
        ``partial_fit`` or warm-started ``fit``).  ``hidden_layer_sizes`` and ``activation``
        come from the module; ``dtype`` defaults to the module's.

    Returns
    -------
    MLPClassifier or MLPRegressor
        Fitted: ``predict``/``predict_proba``/``save`` work, and ``partial_fit`` trains on
        (fresh optimiser state, ``n_iter_`` 0, empty ``history_``).  ``first_layer_init_`` is
        the imported first layer, where this estimator's training starts.
    """
    from nnbasics.mlp.estimator import MLPClassifier

    cls = MLPClassifier if cls is None else cls
    regressor = _is_regressor(cls)
    fixed = sorted({"hidden_layer_sizes", "activation"} & set(params))
    if fixed:
        raise TypeError(f"from_torch takes {', '.join(fixed)} from the module, not as a parameter")
    if regressor and (classes is not None or multilabel):
        raise TypeError("a regressor takes no classes (nor multilabel): its outputs are its "
                        "targets")
    if not regressor and classes is None and not multilabel:
        raise TypeError("from_torch needs classes, the label of each output of the module")
    if (multilabel and isinstance(module, _torch_class("Sequential")) and len(module)
            and isinstance(module[-1], _torch_class("Sigmoid"))):
        module = module[:-1]  # the probabilities' Sigmoid: the logits stay
    coefs, intercepts, activation = _read_sequential(module)
    if (regressor or multilabel) and isinstance(list(module)[-1], _torch_class("Softmax")):
        raise ValueError("the module ends with Softmax, a single-label classifier's: read it "
                         "with MLPClassifier.from_torch(module, classes)")
    activation = check_activation(activation or "relu")  # one Linear: no hidden activation
    dtypes = {w.dtype for w in coefs} | {b.dtype for b in intercepts}
    if dtypes - {np.dtype(np.float32), np.dtype(np.float64)} or len(dtypes) > 1:
        raise ValueError(f"the module's parameters are {sorted(map(str, dtypes))}; expected all "
                         "float32 or all float64 (module.float() or module.double() converts)")
    dtype = np.dtype(params.pop("dtype", dtypes.pop())).name
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")

    model = cls(hidden_layer_sizes=tuple(w.shape[1] for w in coefs[:-1]), activation=activation,
                dtype=dtype, **params)
    if regressor:
        return _fitted(model, coefs, intercepts)

    if multilabel:
        n_labels = coefs[-1].shape[1]
        if classes is not None and not np.array_equal(np.asarray(classes), np.arange(n_labels)):
            raise ValueError(f"a multilabel model's classes are its outputs' indices "
                             f"0..{n_labels - 1}; got {np.asarray(classes).tolist()}")
        model.classes_ = np.arange(n_labels)
        model._multilabel, model._output = True, "logistic"
        return _fitted(model, coefs, intercepts)

    labels = np.asarray(classes)
    if labels.ndim != 1 or len(labels) != coefs[-1].shape[1]:
        raise ValueError(f"classes has shape {labels.shape} but the last Linear layer has "
                         f"{coefs[-1].shape[1]} outputs; expected one label per output")
    sorted_labels = np.unique(labels)
    if len(sorted_labels) != len(labels):
        raise ValueError(f"classes holds repeated labels: {labels.tolist()}")
    if len(labels) < 2:
        raise ValueError("MLPClassifier needs at least 2 classes")
    order = np.argsort(labels, kind="stable")  # output order -> sorted label order
    coefs[-1], intercepts[-1] = coefs[-1][:, order], intercepts[-1][order]
    model.classes_ = sorted_labels
    return _fitted(model, coefs, intercepts)


def _torch_class(name: str) -> type:
    return getattr(_require("torch", "torch", "from_torch").nn, name)


def _fitted(model: Model, coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> Model:
    """``model`` made fitted with these layers, as if trained for 0 epochs; a classifier's
    ``classes_`` is set already.  The output layer follows the last layer's width: a
    classifier's softmax, a regressor's identity or exp (its ``loss``), one target (N,) or K."""
    from nnbasics.mlp.training import History

    dtype = model.dtype
    model.coefs_ = [np.ascontiguousarray(w, dtype=dtype) for w in coefs]
    model.intercepts_ = [np.ascontiguousarray(b, dtype=dtype) for b in intercepts]
    model.n_features_in_ = coefs[0].shape[0]
    model.first_layer_init_ = model.coefs_[0].copy()
    model.n_iter_ = 0
    model.history_ = History()
    model.loss_curve_ = []
    model.loss_ = np.nan
    model.n_layers_ = len(coefs) + 1
    n_outputs = coefs[-1].shape[1]
    if _is_regressor(model):
        model._check_params()  # the loss parameter, checked as fit checks it
        model._set_output_of_loss()
        model._y_is_1d = n_outputs == 1
    model.n_outputs_ = n_outputs
    model.out_activation_ = model._output
    return model


# ----------------------------------------------------------------------------------------------
# ONNX
# ----------------------------------------------------------------------------------------------


def _label_tensor(classes: np.ndarray, onnx: Any) -> Any:
    """``classes_`` as an ONNX constant (int64, float64 or string)."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return onnx.numpy_helper.from_array(classes.astype(np.int64), "classes")
    if classes.dtype.kind == "f":
        return onnx.numpy_helper.from_array(classes.astype(np.float64), "classes")
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return onnx.helper.make_tensor("classes", onnx.TensorProto.STRING, [len(classes)],
                                       [c.encode("utf-8") for c in classes])
    raise TypeError(f"classes_ of dtype {classes.dtype} cannot be written to ONNX; "
                    "numbers or strings can")


def to_onnx_model(model: Model, dtype: Any = None) -> Any:
    """The ONNX ``ModelProto`` that :func:`to_onnx` writes (checked with ``onnx.checker``)."""
    onnx = _require("onnx", "onnx", "to_onnx")
    from onnx import TensorProto, helper, numpy_helper

    coefs, intercepts, activation, head = _fitted_layers(model)
    dtype = np.dtype(coefs[0].dtype if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    initializers, nodes = [], []
    # the network: z = the last layer's output ("logits" for a classifier)
    network_output = {"softmax": "logits", "sigmoid": "logits", "identity": "prediction",
                      "exp": "log_prediction"}[head]
    values = "X"
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        initializers += [numpy_helper.from_array(np.asarray(W, dtype=dtype), f"W{i}"),
                         numpy_helper.from_array(np.asarray(b, dtype=dtype), f"b{i}")]
        last = i == len(coefs) - 1
        out = network_output if last else f"z{i}"
        nodes.append(helper.make_node("Gemm", [values, f"W{i}", f"b{i}"], [out], name=f"affine{i}"))
        values = out
        if not last:
            nodes.append(helper.make_node(_ONNX_OPS[activation], [out], [f"a{i}"],
                                          name=f"{activation}{i}"))
            values = f"a{i}"
    n_features, n_outputs = coefs[0].shape[0], coefs[-1].shape[1]
    outputs = [("logits", elem, ["N", n_outputs]), ("probabilities", elem, ["N", n_outputs])]
    if head == "softmax":
        initializers.append(_label_tensor(model.classes_, onnx))
        nodes += [
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
            helper.make_node("ArgMax", ["logits"], ["label_index"], axis=1, keepdims=0,
                             name="argmax"),
            helper.make_node("Gather", ["classes", "label_index"], ["label"], axis=0,
                             name="index_to_label"),
        ]
        outputs.append(("label", initializers[-1].data_type, ["N"]))
        summary = "logits, softmax probabilities, label = classes[argmax]"
    elif head == "sigmoid":
        initializers.append(numpy_helper.from_array(np.zeros((), dtype=dtype), "zero"))
        nodes += [
            helper.make_node("Sigmoid", ["logits"], ["probabilities"], name="sigmoid"),
            helper.make_node("Greater", ["logits", "zero"], ["positive"], name="positive"),
            helper.make_node("Cast", ["positive"], ["label"], to=TensorProto.INT64,
                             name="indicator"),
        ]
        outputs.append(("label", TensorProto.INT64, ["N", n_outputs]))
        summary = "multilabel: logits, sigmoid probabilities, label = logits > 0 (0/1)"
    else:
        if head == "exp":
            nodes.append(helper.make_node("Exp", ["log_prediction"], ["prediction"], name="exp"))
        outputs = [("prediction", elem, ["N", n_outputs])]
        summary = f"regressor: prediction{' = exp(network)' if head == 'exp' else ''}"
    graph = helper.make_graph(
        nodes, "mlp_regressor" if head in ("identity", "exp") else "mlp_classifier",
        inputs=[helper.make_tensor_value_info("X", elem, ["N", n_features])],
        outputs=[helper.make_tensor_value_info(*output) for output in outputs],
        initializer=initializers,
    )
    onnx_model = helper.make_model(
        graph, producer_name="nnbasics", opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        doc_string=f"nnbasics {type(model).__name__}: {summary}",
    )
    onnx_model.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def to_onnx(model: Model, path: str | Path, dtype: Any = None) -> Path:
    """Write a fitted ``model`` as an ONNX file (atomically), for any ONNX runtime to serve.

    Graph (opset 17): input ``X`` (N, D); ``Gemm`` (``X @ W + b``) and the hidden activation
    (``Relu``/``Sigmoid``/``Tanh``/``Identity``) per layer; then the outputs:

    * a classifier: ``logits`` (N, K), ``probabilities = Softmax(logits, axis=1)`` (N, K),
      columns in the order of ``classes_``, and ``label = classes_[ArgMax(logits, axis=1)]``
      (N,), int64, float64 or string;
    * a multilabel classifier: ``logits`` (N, K), ``probabilities = Sigmoid(logits)`` and
      ``label`` (N, K), int64, 1 where ``logits > 0`` (``predict``'s indicator matrix);
    * a regressor: ``prediction`` (N, K), ``Exp`` of the last layer with ``loss="poisson"``
      (K = 1 for a regressor trained on a 1-D ``y``, whose ``predict`` gives (N,)).

    Parameters
    ----------
    model : MLPClassifier or MLPRegressor
        A fitted estimator.
    path : str or path-like
        The file to create or replace.
    dtype : {None, "float32", "float64"}, default None
        Element type of ``X``, the weights and the outputs; None: the dtype of ``coefs_``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from nnbasics.io.serialization import atomic_file

    onnx_model = to_onnx_model(model, dtype)
    with atomic_file(path) as fh:
        fh.write(onnx_model.SerializeToString())
    return Path(path)
