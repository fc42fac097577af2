"""Fitted ``MLPClassifier`` / ``MLPRegressor`` in model files, without pickle.

:func:`fastinit.save_model` writes an estimator as a model file of format
version 3: the network as every model file holds it (``W1``, ``b1``, ...:
``coefs_[i].T`` and ``intercepts_[i]``; activation, loss, dtype) plus one
metadata field ``estimator``: the class's name (one of :data:`ESTIMATORS`),
its constructor parameters (JSON values) and its fitted attributes (numbers,
lists of numbers, strings, and ``classes_`` with its dtype).
:func:`fastinit.load_model` gives back an estimator of that class that
predicts the same bits.  Loading runs no code of the file: the class comes
from a fixed table, every parameter is checked by scikit-learn's own
parameter validation, every attribute by its type and against the network.

Not stored: the optimizer's state (velocities, Adam's moments), so a
``partial_fit`` after loading starts a new one (a warm-start ``fit`` starts a
new one anyway, as in scikit-learn); an ``init`` or ``random_state`` that is
an object (save with a registered name and an int).
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from . import MLP_MIN_SKLEARN, _sklearn_version

if _sklearn_version() < MLP_MIN_SKLEARN:  # model_io turns this into "install scikit-learn >= 1.7"
    raise ImportError("fastinit.sklearn's estimators need scikit-learn >= 1.7")

from ._mlp import _ACTIVATIONS, _LOSSES, MLPClassifier, MLPRegressor  # noqa: E402

#: the estimators a model file may hold, by the name it stores
ESTIMATORS: dict[str, Any] = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}

# fitted attributes (beyond coefs_, intercepts_, classes_) -> what each may be
_NUMBER = "number"
_FITTED: dict[str, tuple[str, ...]] = {
    "n_iter_": ("int",), "t_": ("int",), "n_features_in_": ("int",), "n_outputs_": ("int",),
    "n_layers_": ("int",), "out_activation_": ("str",), "loss_": (_NUMBER,),
    "loss_curve_": ("numbers",), "best_loss_": (_NUMBER, "none"),
    "validation_scores_": ("numbers", "none"), "best_validation_score_": (_NUMBER, "none"),
    "feature_names_in_": ("strings",),
    # scikit-learn's own state for a warm start (kept as pickle keeps it)
    "_no_improvement_count": ("int",),
}
_LABEL_TYPES = ("binary", "multiclass", "multilabel-indicator")


def _json_value(value: Any, what: str) -> Any:
    """A parameter or attribute as JSON (tuples as lists, NumPy scalars as
    Python's); TypeError for anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        if not math.isfinite(value):
            raise ValueError(f"{what} is {value}: a model file holds finite numbers only")
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v, what) for v in value]
    raise TypeError(f"{what} is a {type(value).__name__}: a model file holds numbers, strings "
                    f"and lists of them (use a registered name or an int)")


def describe(est: Any) -> dict[str, Any]:
    """What :func:`fastinit.save_model` stores of a fitted estimator: the
    network fields of a model file and the ``estimator`` metadata block."""
    name = type(est).__name__
    known: Any = ESTIMATORS.get(name)
    if known is not type(est) or not hasattr(est, "coefs_"):
        raise TypeError(f"model must be a fitted fastinit.sklearn MLPClassifier or "
                        f"MLPRegressor, got {name}")
    params = {k: _json_value(v, f"{name}.{k}") for k, v in est.get_params(deep=False).items()}
    fitted = {k: _json_value(getattr(est, k), f"{name}.{k}") for k in _FITTED if hasattr(est, k)}
    block: dict[str, Any] = {"class": name, "params": params, "fitted": fitted}
    classes = None
    if name == "MLPClassifier":
        block["classes"] = {"values": _json_value(est.classes_, f"{name}.classes_"),
                            "dtype": est.classes_.dtype.str}
        block["label_type"] = est._label_binarizer.y_type_
        if block["label_type"] != "multilabel-indicator" and est.classes_.dtype.kind in "iuUf":
            classes = est.classes_
    return {
        "parameters": est._parameters(),
        "activation": _ACTIVATIONS[est.activation],
        "loss": _LOSSES[est.out_activation_],
        "classes": classes,
        "feature_names": block["fitted"].get("feature_names_in_"),
        "estimator": block,
    }


def _check(value: Any, kinds: tuple[str, ...], what: str) -> Any:
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "str": lambda v: isinstance(v, str),
        _NUMBER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "numbers": lambda v: isinstance(v, list) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v),
        "strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "none": lambda v: v is None,
    }
    if not any(ok[k](value) for k in kinds):
        raise ValueError(f"{what} must be {' or '.join(kinds)}, got {str(value)[:80]}")
    return value


def rebuild(block: Any, parameters: dict[str, np.ndarray], loss: str) -> Any:
    """The estimator of a model file's ``estimator`` block and its network;
    ValueError (or TypeError) naming what does not fit."""
    if not isinstance(block, dict) or set(block) - {"class", "params", "fitted", "classes",
                                                    "label_type"}:
        raise ValueError("metadata 'estimator' must hold class, params, fitted (and a "
                         "classifier's classes, label_type)")
    cls = ESTIMATORS.get(block.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"metadata 'estimator' class must be one of {sorted(ESTIMATORS)}, "
                         f"got {str(block.get('class'))[:80]}")
    params = block.get("params")
    expected = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or set(params) != expected:
        raise ValueError(f"metadata 'estimator' params must name exactly {sorted(expected)}")
    if isinstance(params["hidden_layer_sizes"], list):
        params = {**params, "hidden_layer_sizes": tuple(params["hidden_layer_sizes"])}
    est = cls(**params)
    est._validate_params()  # scikit-learn's own checks of every parameter
    fitted = block.get("fitted")
    if not isinstance(fitted, dict) or set(fitted) - set(_FITTED):
        raise ValueError(f"metadata 'estimator' fitted must hold only {sorted(_FITTED)}")
    for key, value in fitted.items():
        setattr(est, key, _check(value, _FITTED[key], f"metadata 'estimator' fitted {key}"))
    L = len(parameters) // 2
    dims = [parameters["W1"].shape[1]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]
    hidden = [params["hidden_layer_sizes"]] if isinstance(params["hidden_layer_sizes"], int) \
        else list(params["hidden_layer_sizes"])
    if (fitted.get("n_layers_") != L + 1 or fitted.get("n_features_in_") != dims[0]
            or fitted.get("n_outputs_") != dims[-1] or dims[1:-1] != hidden
            or _LOSSES.get(fitted.get("out_activation_", "")) != loss):
        raise ValueError(f"metadata 'estimator' does not fit the network of layer sizes {dims} "
                         f"and loss {loss!r}")
    est.coefs_ = [np.ascontiguousarray(parameters[f"W{l}"].T) for l in range(1, L + 1)]
    est.intercepts_ = [parameters[f"b{l}"].ravel().copy() for l in range(1, L + 1)]
    # a fit ends with its best parameters in coefs_ (early stopping restores them)
    est._best_coefs = [c.copy() for c in est.coefs_]
    est._best_intercepts = [b.copy() for b in est.intercepts_]
    if "feature_names_in_" in fitted:
        if len(fitted["feature_names_in_"]) != dims[0]:
            raise ValueError("metadata 'estimator' feature_names_in_ does not name every input")
        est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    if cls is MLPClassifier:
        _rebuild_classes(est, block, dims[-1])
    elif "classes" in block or "label_type" in block:
        raise ValueError("metadata 'estimator' of a regressor has no classes")
    return est


def _rebuild_classes(est: Any, block: dict[str, Any], n_outputs: int) -> None:
    """classes_ and the label binarizer of a classifier."""
    classes, label_type = block.get("classes"), block.get("label_type")
    if not isinstance(classes, dict) or set(classes) != {"values", "dtype"} \
            or label_type not in _LABEL_TYPES:
        raise ValueError(f"metadata 'estimator' of a classifier needs classes (values, dtype) "
                         f"and a label_type of {_LABEL_TYPES}")
    try:
        dtype = np.dtype(classes["dtype"])
    except TypeError:
        raise ValueError(f"metadata 'estimator' classes dtype {str(classes['dtype'])[:40]} "
                         f"is not a NumPy dtype") from None
    if dtype.kind not in "biufU" or not isinstance(classes["values"], list):
        raise ValueError("metadata 'estimator' classes must be a list of booleans, numbers "
                         "or strings")
    values = np.asarray(classes["values"], dtype=dtype)
    if values.ndim != 1 or len(np.unique(values)) != values.shape[0]:
        raise ValueError("metadata 'estimator' classes must be distinct labels")
    n_classes = values.shape[0]
    if label_type == "multilabel-indicator":
        if n_classes != n_outputs or not np.array_equal(values, np.arange(n_classes)):
            raise ValueError("metadata 'estimator' multilabel classes must be 0 .. k-1, one "
                             "per output")
        if n_classes < 2:
            raise ValueError("metadata 'estimator' multilabel classes need two labels or more")
        binarizer = LabelBinarizer().fit(np.eye(n_classes, dtype=int))
    else:
        if n_classes != max(n_outputs, 2) or (label_type == "binary") != (n_classes == 2):
            raise ValueError(f"metadata 'estimator' has {n_classes} {label_type} classes for "
                             f"{n_outputs} outputs")
        binarizer = LabelBinarizer().fit(values)
    est.classes_ = binarizer.classes_
    est._label_binarizer = binarizer
