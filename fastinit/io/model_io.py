"""Model files: parameters and metadata in a ``.npz``, loaded without pickle.

A model file is a zip archive (what ``numpy.savez`` writes) of the ``.npy``
members ``W1``, ``b1``, ..., ``WL``, ``bL`` (float32 or float64) and one 0-d
string array ``__fastinit__`` with JSON metadata (format version, fastinit
version, layer sizes, activation, output, dtype, initializer).

Format version 2 adds what resuming a training needs: the metadata fields
``loss`` (a name of :data:`fastinit.nn.losses.LOSSES`), ``optimizer`` and
``schedule`` (``{"name": ..., "params": {...}}``: a name of
:data:`fastinit.nn.optimizers.OPTIMIZERS` or :data:`~fastinit.nn.optimizers.SCHEDULES`
and its dataclass's keyword arguments), ``l2`` and ``clip_norm`` (numbers,
0: none); when the training had them, ``keep_prob`` (dropout's keep
probability per hidden layer) and ``seed`` (which seeds the dropout masks and
the mini-batch shuffle); and, with the optimizer's state, ``optimizer_state``
(``{"step": n}``) plus the member ``optimizer_state.npy``: the state rows, of
shape (max(n_slots, 1), n_params) and the parameters' dtype.  A model with
none of these (the default loss of its output width, plain gradient descent
of unknown learning rate, no state: :func:`model_from_parameters`, or a
version-1 file) is written as version 1, which earlier fastinit releases read
too; a version-1 file loads as such a model.

Loading never runs code and never does unbounded work: before anything is
decompressed, the archive's directory is checked (at most
:data:`MAX_MEMBERS` members, each a ``.npy`` member of an expected name, with
uncompressed sizes summing to at most :data:`MAX_MODEL_BYTES`), and before an
array is read its ``.npy`` header is checked (a float dtype, a shape whose size
matches the member).  A truncated, tampered, foreign or mismatched file raises a
``ValueError`` that names the file and says what is wrong; so do training
options the optimizer and schedule classes refuse, and a state that does not
fit the network.

Saving builds the whole file in memory, checks it with the loader's own checks
(so that :func:`save_model` refuses whatever :func:`load_model` would refuse),
and only then writes it, atomically (:func:`fastinit.io._files.atomic_write`): a
failure at any point leaves an existing file as it was.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import IO, Any, Sequence

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import ArrayLike

from ._files import NPY_MAGIC, ZIP_MAGIC, atomic_write
from .._validation import (check_activation, check_count, check_interval, check_learning_rate,
                          check_parameters, check_seed, check_targets)
from .._version import __version__
from ..nn.losses import LOSSES, get_loss
from ..nn.network import accuracy_of, forward_propagation, predict_labels, predict_proba
from ..nn.optimizers import (OPTIMIZERS, SCHEDULES, SGD, Constant, Optimizer, OptimizerState,
                         Schedule)
from ..engines.reference import output_activation

FORMAT = "fastinit-model"
#: the version save_model writes when the model has training options or a
#: state (else 1, see the module docstring)
FORMAT_VERSION = 2
#: the versions load_model reads
FORMAT_VERSIONS = (1, 2, 3)
#: the format version of a file that holds a scikit-learn estimator
#: (``fastinit.sklearn``): version 1's fields, ``loss`` and ``estimator``
ESTIMATOR_FORMAT_VERSION = 3
META_KEY = "__fastinit__"
#: the member of the optimizer's state rows (format version 2)
STATE_KEY = "optimizer_state"


def _physical_memory() -> int | None:
    """Bytes of RAM of this machine, when the OS says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


#: most layers (weight matrices) a model file may hold
MAX_LAYERS = 256
#: most members of a model file's archive: W and b per layer, the metadata and
#: the optimizer's state
MAX_MEMBERS = 2 * MAX_LAYERS + 2
#: most bytes the arrays of a model file may take once read: 1 GiB, or the
#: machine's RAM if that is smaller
MAX_MODEL_BYTES = min(2**30, _physical_memory() or 2**30)
#: most characters of the JSON metadata (room for the names of 100,000 features)
MAX_METADATA_CHARS = 2**22

# a member's directory entry and local header, with room for extra fields
_MEMBER_OVERHEAD = 1024
# the largest .npy header read (numpy itself refuses headers over 10000 chars)
_NPY_PREFIX = 2**16 + 16
_CHUNK = 2**24
_MEMBER_NAME = re.compile(r"([Wb])([1-9][0-9]{0,3})\.npy\Z")
# what reading a malformed zip archive or .npy member can raise
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                struct.error, NotImplementedError, RuntimeError, OverflowError, KeyError,
                IndexError, TypeError)


class _Invalid(Exception):
    """Why some bytes are not a fastinit model file (made into a ValueError
    naming the file by the public functions)."""


@dataclass(frozen=True)
class SavedModel:
    """A network read from a model file (:func:`load_model`) or wrapped from
    a parameter dict (:func:`model_from_parameters`).

    Attributes
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``.
    layers_dims : list of int
    activation : str
        The hidden activation (see :data:`fastinit.ACTIVATIONS`).
    negative_slope : float
    init : str
        The initializer it was trained from, if known.
    fastinit_version : str
        The version that wrote the file.
    classes : tuple or None
        The labels of the output units (the sorted distinct labels of the
        training data), when the model was trained on labels other than
        0 .. k-1; :meth:`predict` then returns these labels.  Only for the
        default loss of the output width (one sigmoid unit, or a softmax).
    feature_names : tuple of str or None
        The training data's feature columns, when known.
    label_name : str or None
        The training data's label column, when it had a name.
    loss : str
        The loss it was trained with, a name of
        :data:`fastinit.nn.losses.LOSSES` ("" when constructing: the
        cross-entropy of the output width, what files of format version 1
        hold).
    optimizer : Optimizer
        The training's optimizer (:mod:`fastinit.nn.optimizers`), its ``lr``
        set; ``SGD()`` (plain gradient descent, ``lr`` None: unknown) for a
        model that does not say.
    schedule : Schedule
        The learning-rate schedule (``Constant()`` when not said).
    l2 : float
        The L2 penalty's coefficient (0: none).
    clip_norm : float
        The gradient-norm bound (0: none).
    keep_prob : tuple of float or None
        Dropout's keep probability per hidden layer (None: no dropout).
    seed : int or None
        The training's seed, when known: with initial parameters it seeds
        only the dropout masks and the mini-batch shuffle.
    optimizer_state : OptimizerState or None
        The optimizer's step count and state rows after the training, its
        ``optimizer`` the :attr:`optimizer` object; None when the model
        does not have it.  :meth:`resume_kwargs` hands it to
        :func:`fastinit.train` to continue exactly.
    """

    parameters: dict[str, np.ndarray] = field(repr=False)
    layers_dims: list[int]
    activation: str
    negative_slope: float
    init: str
    fastinit_version: str
    classes: tuple | None = None
    feature_names: tuple[str, ...] | None = None
    label_name: str | None = None
    loss: str = ""
    optimizer: Optimizer = field(default_factory=SGD)
    schedule: Schedule = field(default_factory=Constant)
    l2: float = 0.0
    clip_norm: float = 0.0
    keep_prob: tuple[float, ...] | None = None
    seed: int | None = None
    optimizer_state: OptimizerState | None = field(default=None, repr=False, compare=False)
    #: the fastinit.sklearn estimator a format-3 file holds (what load_model returns)
    estimator: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # "" (or an alias) becomes the registry name: loss is always a name
        object.__setattr__(self, "loss",
                           get_loss(self.loss or None, self.layers_dims[-1]).name)

    def __repr__(self) -> str:
        parts = [f"layers_dims={self.layers_dims}", f"activation={self.activation!r}",
                 f"dtype={self.dtype.name}"]
        if self.init:
            parts.append(f"init={self.init!r}")
        if not self._default_loss:
            parts.append(f"loss={self.loss!r}")
        if self.optimizer != SGD():
            parts.append(f"optimizer={self.optimizer.name!r}")
        if self.optimizer_state is not None:
            parts.append(f"step={self.optimizer_state.step}")
        if self.classes is not None:
            parts.append(f"classes={_short(list(self.classes))}")
        if self.feature_names is not None:
            parts.append(f"features={_short(list(self.feature_names))}")
        return f"SavedModel({', '.join(parts)})"

    @property
    def dtype(self) -> np.dtype:
        return self.parameters["W1"].dtype

    @property
    def _default_loss(self) -> bool:
        """The cross-entropy of the output width (what predict did before losses)."""
        return self.loss == get_loss(None, self.layers_dims[-1]).name

    def outputs(self, X: ArrayLike) -> np.ndarray:
        """The network's outputs of shape (n_L, m) for ``X`` of shape (n_x,
        m): probabilities for the cross-entropies, the values for "mse" and
        "poisson"."""
        if self._default_loss:
            return predict_proba(X, self.parameters, self.activation, self.negative_slope)
        logits = forward_propagation(X, self.parameters, self.activation,
                                     self.negative_slope)[1][-4]
        return np.asarray(output_activation(logits, self.loss))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)
        (a classifier's: ``ValueError`` for a regression model)."""
        if not LOSSES[self.loss].is_classification:
            raise ValueError(f"predict_proba: a network trained with loss={self.loss!r} outputs "
                             f"values, not probabilities; use outputs() or predict()")
        return self.outputs(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions for ``X`` of shape (n_x, m).

        For the default loss of the output width, labels of shape (1, m):
        elements of :attr:`classes` when the model has them, else class
        indices (int64).  For a multilabel ``"binary_cross_entropy"`` (n_L
        >= 2 sigmoid units), 0/1 (int64) per unit, shape (n_L, m).  For
        ``"mse"`` and ``"poisson"``, the outputs (values), shape (n_L, m).
        """
        if not self._default_loss:
            out = self.outputs(X)
            return out if not LOSSES[self.loss].is_classification else (out > 0.5).astype(np.int64)
        indices = predict_labels(X, self.parameters, self.activation, self.negative_slope)
        if self.classes is None:
            return indices
        return np.asarray(self.classes)[indices]

    def accuracy(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Fraction of the examples of ``X`` (shape (n_x, m)) whose predicted
        label equals ``Y``'s (shape (1, m) or (m,)): labels of :attr:`classes`
        when the model has them, else 0 .. k-1; for a multilabel output, Y
        of shape (n_L, m) and every unit's label must be right.
        ``ValueError`` for a regression model (``"mse"``, ``"poisson"``)."""
        if not LOSSES[self.loss].is_classification:
            raise ValueError(f"accuracy: a network trained with loss={self.loss!r} is a regressor")
        if not self._default_loss:
            predicted = self.predict(X)
            truth = check_targets(Y, predicted.shape[1], np.dtype(np.float64),
                                  self.layers_dims[-1], get_loss(self.loss, self.layers_dims[-1]))
            return float(np.mean(np.all(predicted == truth, axis=0)))
        if self.classes is None:
            return accuracy_of(self.predict(X), Y, self.layers_dims[-1])
        predicted = self.predict(X)
        truth = np.asarray(Y).reshape(1, -1)
        if truth.shape != predicted.shape:
            raise ValueError(f"Y must hold one label per example of X ({predicted.shape[1]}), "
                             f"got shape {np.shape(Y)}")
        known = np.isin(truth, np.asarray(self.classes))
        if not known.all():
            raise ValueError(f"Y holds the label {truth[~known][0].item()!r}, which is not one of the "
                             f"model's classes {_short(list(self.classes))}")
        return float(np.mean(predicted == truth))

    def resume_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`fastinit.train` that continue this
        model's training.

        Training ``N`` iterations, saving, loading and training ``N`` more
        with these gives the same bits as training ``2 N`` at once: the
        parameters, the optimizer with its hyper-parameters, its moments and
        its step count (which the schedule and the bias corrections count
        from), the schedule, the L2 penalty, the clipping, dropout (its masks
        hash the seed and the step) and the loss all continue.  Pass the
        training data, ``layers_dims`` and ``num_iterations`` (and, for
        mini-batch training, the first training's ``batch_size``, which a
        model file does not keep).

        Returns
        -------
        dict
            ``initial_parameters`` (copies of :attr:`parameters`),
            ``activation``, ``negative_slope``, ``dtype``, ``loss``,
            ``optimizer``, ``schedule``, ``l2``, ``clip_norm`` (None for no
            clipping), ``keep_prob``, ``optimizer_state`` (a copy, or None:
            the optimizer starts afresh, as for a file without state);
            ``seed`` when known; ``learning_rate`` when the optimizer's
            ``lr`` is known (so that the new result's ``learning_rate``
            reports it); and ``init`` when known (only reported by a warm
            start).

        See Also
        --------
        fastinit.train : its ``initial_parameters`` and ``optimizer_state``.

        Examples
        --------
        >>> r = fastinit.train(X, Y, [2, 10, 1], optimizer="adam", num_iterations=500)
        >>> fastinit.save_model("m.npz", r)
        >>> m = fastinit.load_model("m.npz")
        >>> r2 = fastinit.train(X, Y, m.layers_dims, num_iterations=500,
        ...                     **m.resume_kwargs())  # as 1000 iterations at once
        """
        kwargs: dict[str, Any] = {
            "initial_parameters": {k: v.copy() for k, v in self.parameters.items()},
            "activation": self.activation,
            "negative_slope": self.negative_slope,
            "dtype": self.dtype,
            "loss": self.loss,
            "optimizer": self.optimizer,
            "schedule": self.schedule,
            "l2": self.l2,
            "clip_norm": self.clip_norm or None,  # train takes None for no clipping
            "keep_prob": self.keep_prob,
            "optimizer_state": (None if self.optimizer_state is None
                                else self.optimizer_state.copy()),
        }
        if self.optimizer.lr is not None:
            kwargs["learning_rate"] = self.optimizer.lr
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.init:
            kwargs["init"] = self.init
        return kwargs


def model_from_parameters(parameters: dict[str, ArrayLike], activation: str = "relu",
                          negative_slope: float = 0.01, classes: ArrayLike | None = None,
                          init: str = "", *, loss: str | None = None) -> SavedModel:
    """Wrap a parameter dict (the seed notebook's ``parameters``) as a model:
    :func:`load_model`'s sibling for networks that never were in a file.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``, as the notebook's
        ``model`` returns them (``b`` of shape (n_l, 1) or (n_l,)).
    activation, negative_slope
        The hidden activation (the notebook's is ``"relu"``).
    classes : array-like or None
        Labels of the output units (2 for one sigmoid unit, k for a softmax of
        k); None: the labels are 0 .. k-1.
    init : str
        The initializer's name, kept in a saved file.
    loss : str, optional
        The loss the network was trained with (:data:`fastinit.nn.losses.LOSSES`),
        which fixes its output layer; default: the cross-entropy of the
        output width.

    Returns
    -------
    SavedModel
        Checked as a model file's contents are: it can be saved, and
        ``save_model`` then ``load_model`` gives it back.  It has no
        optimizer state, and its optimizer is ``SGD()`` (unknown ``lr``).
    """
    dims, params = check_parameters(parameters, name="parameters")
    activation, slope = check_activation(activation, negative_slope)
    if not isinstance(init, str):
        raise TypeError(f"init must be a string, got {init!r}")
    loss_name = get_loss(loss, dims[-1]).name
    return SavedModel(params, dims, activation, slope, init, __version__,
                      _checked_classes(classes, dims, "classes", loss_name), loss=loss_name)


def _checked_classes(classes: Any, dims: list[int], name: str, loss: str) -> tuple | None:
    """Class labels for a network of layer sizes ``dims`` trained with
    ``loss`` as a tuple of distinct strings or numbers (JSON-safe), or None."""
    if classes is None:
        return None
    if loss != get_loss(None, dims[-1]).name:
        raise ValueError(f"{name}: a model of loss={loss!r} with {dims[-1]} output "
                         f"unit{'s' if dims[-1] > 1 else ''} has no class labels (they are "
                         f"for one sigmoid unit or a softmax output)")
    values = np.asarray(classes)
    n_classes = max(dims[-1], 2)
    if values.ndim != 1 or values.shape[0] != n_classes:
        raise ValueError(f"{name} must list {n_classes} labels for {dims[-1]} output "
                         f"unit{'s' if dims[-1] > 1 else ''}, got {_short(classes)}")
    if values.dtype.kind in "US":
        labels: tuple = tuple(str(v) for v in values)
    elif values.dtype.kind in "iu":
        labels = tuple(int(v) for v in values)
    elif values.dtype.kind == "f" and np.isfinite(values).all():
        labels = tuple(float(v) for v in values)
    else:
        raise ValueError(f"{name} must be strings or finite numbers, got {_short(classes)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{name} must be distinct, got {_short(classes)}")
    return labels


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------

def save_model(path: str | os.PathLike, model: Any, *, classes: ArrayLike | None = None,
               feature_names: Sequence[str] | None = None,
               label_name: str | None = None) -> None:
    """Write a trained model to a model file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (``.npz``; the suffix is not added).  It is replaced
        atomically: if saving fails for any reason, an existing file is left
        byte for byte as it was.
    model : TrainingResult or SavedModel
        What :func:`fastinit.train` returns, or what :func:`load_model` read.
        Its training options are stored with it (``loss``, ``optimizer``,
        ``schedule``, ``l2``, ``clip_norm``, ``keep_prob``, ``seed``) and so
        is its ``optimizer_state``, so that the loaded model can resume the
        training exactly (:meth:`SavedModel.resume_kwargs`); to leave the
        state out, save ``dataclasses.replace(model, optimizer_state=None)``.
    classes : array-like, optional
        The labels of the output units, stored with the model (a
        :class:`SavedModel`'s own are kept when not given): the model file's
        :meth:`SavedModel.predict` returns them.  Only for the default loss
        of the output width (one sigmoid unit, or a softmax).
    feature_names : sequence of str, optional
        Names of the input features, stored with the model.
    label_name : str, optional
        Name of the label column, stored with the model.

    Raises
    ------
    TypeError
        ``model`` is not a trained model, or a field of it has the wrong type.
    ValueError
        :func:`load_model` could not read the model back (non-finite or
        mismatched parameters, an unknown activation, more than
        :data:`MAX_LAYERS` layers, more than :data:`MAX_MODEL_BYTES` of
        arrays, an optimizer or schedule not of the registries, an optimizer
        state that does not fit the network or is not finite), or ``path``
        cannot be written (a directory, a missing or read-only folder).
    """
    data = _model_bytes(model, classes, feature_names, label_name)
    with atomic_write(path, "wb", name="path") as f:
        f.write(data)


def _model_fields(model: Any) -> tuple[Any, Any, Any, str]:
    """``model``'s parameters, activation, negative slope and initializer name."""
    missing = [a for a in ("parameters", "activation", "negative_slope") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"model must be a TrainingResult or SavedModel, got "
                        f"{type(model).__name__} (no {', '.join(missing)})")
    init = getattr(model, "init", "")
    return model.parameters, model.activation, model.negative_slope, (
        init if isinstance(init, str) else repr(init))


def _model_bytes(model: Any, classes: Any = None, feature_names: Any = None,
                 label_name: Any = None) -> bytes:
    """The complete model file of ``model``, checked as :func:`load_model` checks it."""
    estimator = None
    if hasattr(model, "_fastinit_model"):  # a fastinit.sklearn estimator: network and block
        described = model._fastinit_model()
        estimator = described.pop("estimator")
        model = SimpleNamespace(negative_slope=0.01, label_name=None,
                                init=str(estimator["params"].get("init", "")), **described)
    parameters, activation, slope, init = _model_fields(model)
    dims, params = check_parameters(parameters, name="model.parameters")
    activation, slope = check_activation(activation, slope)
    loss = get_loss(getattr(model, "loss", None) or None, dims[-1])
    if classes is None:
        classes = getattr(model, "classes", None)
    classes = _checked_classes(classes, dims, "classes", loss.name)
    if feature_names is None:
        feature_names = getattr(model, "feature_names", None)
    if feature_names is not None:
        if isinstance(feature_names, str) or not all(isinstance(n, str) for n in feature_names):
            raise TypeError(f"feature_names must be a sequence of strings, got "
                            f"{_short(feature_names)}")
        if len(feature_names) != dims[0]:
            raise ValueError(f"feature_names must name the {dims[0]} input features, got "
                             f"{len(feature_names)} names")
    if label_name is None:
        label_name = getattr(model, "label_name", None)
    if label_name is not None and not isinstance(label_name, str):
        raise TypeError(f"label_name must be a string, got {_short(label_name)}")
    if len(dims) - 1 > MAX_LAYERS:
        raise ValueError(f"model has {len(dims) - 1} layers; a model file holds at most "
                         f"{MAX_LAYERS}")
    if estimator is None:
        training, slots = _training_metadata(model, dims, params["W1"].dtype, loss.name)
    else:
        training, slots = {"loss": loss.name, "estimator": estimator}, None
    size = sum(a.nbytes for a in params.values()) + (0 if slots is None else slots.nbytes)
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"model's parameters{'' if slots is None else ' and optimizer state'} "
                         f"take {size} bytes; a model file holds at most {MAX_MODEL_BYTES}")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": (ESTIMATOR_FORMAT_VERSION if estimator is not None
                           else FORMAT_VERSION if training else 1),
        "fastinit_version": __version__,
        "layers_dims": dims,
        "activation": activation,
        "negative_slope": slope,
        "output": loss.output,
        "dtype": params["W1"].dtype.name,
        "init": init,
        **training,
    }
    if classes is not None:
        meta["classes"] = list(classes)
    if feature_names is not None:
        meta["feature_names"] = list(feature_names)
    if label_name is not None:
        meta["label_name"] = label_name
    try:
        text = json.dumps(meta, allow_nan=False)
    except ValueError as exc:  # a NaN or inf in an estimator's fitted attributes
        raise ValueError(f"model cannot be saved: {exc}") from None
    if len(text) > MAX_METADATA_CHARS:
        raise ValueError(f"model's metadata (initializer, feature names, classes) takes "
                         f"{len(text)} characters; a model file holds at most "
                         f"{MAX_METADATA_CHARS}")
    arrays: dict[str, np.ndarray] = dict(params)
    if slots is not None:
        arrays[STATE_KEY] = slots
    buffer = io.BytesIO()
    # mypy fears a key of arrays could be savez's allow_pickle: they are W1, b1, ...
    np.savez(buffer, **arrays, **{META_KEY: np.array(text)})  # type: ignore[arg-type]
    data = buffer.getvalue()
    try:  # what load_model would refuse is never written
        _read_model(io.BytesIO(data), len(data))
    except _Invalid as exc:
        raise ValueError(f"model cannot be saved: {exc}") from exc
    return data


def _training_metadata(model: Any, dims: list[int], dtype: np.dtype,
                       loss: str) -> tuple[dict[str, Any], np.ndarray | None]:
    """The format-version-2 metadata fields of ``model``'s training (loss,
    optimizer, schedule, l2, clip_norm, keep_prob, seed, optimizer_state) and
    its state rows; no fields (a version-1 file) when all are the defaults
    and there is no state."""
    state = getattr(model, "optimizer_state", None)
    if state is not None and not isinstance(state, OptimizerState):
        raise TypeError(f"model.optimizer_state must be an OptimizerState or None, got "
                        f"{type(state).__name__}")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        optimizer = SGD() if state is None else state.optimizer
    schedule = getattr(model, "schedule", None)
    if schedule is None:
        schedule = Constant()
    _check_registered(optimizer, Optimizer, OPTIMIZERS, "model.optimizer")
    _check_registered(schedule, Schedule, SCHEDULES, "model.schedule")
    l2 = check_interval(getattr(model, "l2", 0.0), "model.l2", 0)
    clip_norm = getattr(model, "clip_norm", None)
    clip_norm = 0.0 if clip_norm is None else check_interval(clip_norm, "model.clip_norm", 0)
    keep_prob = getattr(model, "keep_prob", None)
    if keep_prob is not None:
        keep_prob = _checked_keep_prob(keep_prob, dims, "model.keep_prob")
    seed = check_seed(getattr(model, "seed", None), "model.seed")
    slots = None
    if state is not None:
        if state.optimizer != optimizer:
            raise ValueError(f"model.optimizer_state belongs to {state.optimizer!r}, but "
                             f"model.optimizer is {optimizer!r}")
        step = check_count(state.step, "model.optimizer_state.step", minimum=0)
        slots = np.asarray(state.slots)
        if slots.dtype.kind != "f":
            raise TypeError(f"model.optimizer_state.slots must be a float array, got dtype "
                            f"{slots.dtype}")
        try:
            _check_state(step, slots, optimizer, dims, dtype, "model.optimizer_state")
        except ValueError as exc:
            raise ValueError(f"{exc} (to save the model without its optimizer state: "
                             f"dataclasses.replace(model, optimizer_state=None))") from None
        slots = np.ascontiguousarray(slots)
    if (slots is None and loss == get_loss(None, dims[-1]).name and optimizer == SGD()
            and schedule == Constant() and l2 == 0 and clip_norm == 0 and keep_prob is None
            and seed is None):
        return {}, None
    fields: dict[str, Any] = {
        "loss": loss,
        "optimizer": {"name": optimizer.name,
                      "params": _json_params(optimizer.params(), "model.optimizer")},
        "schedule": {"name": schedule.name,
                     "params": _json_params(schedule.params(), "model.schedule")},
        "l2": l2,
        "clip_norm": clip_norm,
    }
    if keep_prob is not None:
        fields["keep_prob"] = list(keep_prob)
    if seed is not None:
        fields["seed"] = seed
    if state is not None:
        fields["optimizer_state"] = {"step": step}
    return fields, slots


def _checked_keep_prob(keep_prob: Any, dims: list[int], name: str) -> tuple[float, ...]:
    """Dropout's keep probabilities, one in (0, 1] per hidden layer."""
    hidden = len(dims) - 2
    if isinstance(keep_prob, (str, bytes)) or not isinstance(keep_prob, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of {hidden} numbers (one per hidden "
                        f"layer), got {_short(keep_prob)}")
    if len(keep_prob) != hidden:
        raise ValueError(f"{name} must hold one keep probability per hidden layer "
                         f"({hidden}), got {len(keep_prob)}")
    return tuple(check_interval(k, f"{name}[{i}]", 0, 1, low_open=True) for i, k in enumerate(keep_prob))


def _check_registered(obj: Any, base: type, registry: dict[str, Any], name: str) -> None:
    """``obj`` is an instance of exactly a class of ``registry`` (what a
    model file can name)."""
    if not isinstance(obj, base):
        raise TypeError(f"{name} must be a {base.__name__} object, got {type(obj).__name__}")
    if registry.get(getattr(obj, "name", "")) is not type(obj):
        raise ValueError(f"{name} is a {type(obj).__name__}, which is not one of "
                         f"{list(registry)}: a model file stores only those")


def _json_params(params: dict[str, Any], name: str) -> dict[str, Any]:
    """Hyper-parameters as JSON values (numbers, booleans, strings, lists)."""
    def value(v: Any, key: str) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)) and math.isfinite(v):
            return float(v)
        if isinstance(v, (tuple, list)):
            return [value(x, key) for x in v]
        raise TypeError(f"{name}.{key} = {_short(v)} cannot be stored in a model file "
                        f"(numbers, booleans, strings and lists of them can)")
    return {key: value(v, key) for key, v in params.items()}


def _check_state(step: int, slots: np.ndarray, optimizer: Optimizer, dims: list[int],
                 dtype: np.dtype, name: str) -> None:
    """An optimizer state (``step``, ``slots``) that fits ``optimizer`` and the
    network of layer sizes ``dims`` and ``dtype``; else ValueError
    (:meth:`fastinit.nn.optimizers.Optimizer.check_state`)."""
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    optimizer.check_state(step, slots, n_params, dtype, name)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def _bad(path: str, why: Any) -> ValueError:
    return ValueError(f"{path!r} is not a valid fastinit model file: {why}")


def load_model(path: str | os.PathLike) -> Any:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    SavedModel or estimator
        With the training's options and optimizer state when the file has
        them (format version 2; :meth:`SavedModel.resume_kwargs` continues
        the training); a file without them (version 1) gives the default
        loss of the output width, ``SGD()`` and no state.  A file of a
        ``fastinit.sklearn`` estimator (version 3) gives back that estimator,
        fitted, predicting the same bits (``fastinit.sklearn._persist``).

    Raises
    ------
    FileNotFoundError
        No such file.
    OSError
        The file exists but cannot be read (permissions, I/O error).
    ValueError
        The file is not a complete, consistent fastinit model file: a
        directory, an empty, text or ``.npy`` file, a truncated, tampered or
        foreign archive, metadata of the wrong types, arrays that do not match
        the metadata, or more than :data:`MAX_MEMBERS` members or
        :data:`MAX_MODEL_BYTES` of data; an unknown loss, optimizer or
        schedule, hyper-parameters their classes refuse, an optimizer state
        of the wrong shape or dtype, non-finite, or of a negative step.  The
        message names the file and the field.
    """
    try:
        path = os.fspath(path)
    except TypeError as exc:
        raise TypeError(f"path must be a file path (str or os.PathLike), got {path!r}") from exc
    if os.path.isdir(path):
        raise _bad(path, "it is a directory")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise _bad(path, "it is not a regular file")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            model = _read_model(f, size)
        except _Invalid as exc:
            raise _bad(path, exc) from None
    return model if model.estimator is None else model.estimator


def _read_model(f: IO[bytes], size: int) -> SavedModel:
    """The model in the open binary file ``f`` of ``size`` bytes; raises
    :class:`_Invalid` if it is not one."""
    _check_file_kind(f, size)
    try:
        _check_zip_directory(f)
        with zipfile.ZipFile(f) as archive:
            infos = _checked_members(archive.infolist())
            if META_KEY not in infos:
                raise _Invalid(f"no {META_KEY!r} metadata")
            meta = _metadata(_read_member(archive, infos.pop(META_KEY)))  # before the arrays
            arrays = {name: _read_member(archive, info) for name, info in infos.items()}
    except _Invalid:
        raise
    except _READ_ERRORS as exc:
        raise _Invalid(f"cannot be read as a zip archive of .npy arrays "
                       f"({type(exc).__name__}: {exc})") from exc
    return _model(arrays, meta)


def _check_file_kind(f: IO[bytes], size: int) -> None:
    """Refuse, by their first bytes, files that are no zip archive at all."""
    if size > MAX_MODEL_BYTES + MAX_MEMBERS * _MEMBER_OVERHEAD:
        raise _Invalid(f"it is {size} bytes, more than a model file can be "
                       f"(MAX_MODEL_BYTES = {MAX_MODEL_BYTES})")
    f.seek(0)
    head = f.read(512)
    if not head:
        raise _Invalid("it is empty")
    if head.startswith(NPY_MAGIC):
        raise _Invalid("it is a .npy array file, not a fastinit model (.npz)")
    if head[:4] in ZIP_MAGIC:
        return
    if b"\0" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:  # maybe a character cut at byte 512
            if exc.start < len(head) - 4:
                raise _Invalid(f"it is not a zip archive (.npz): it starts with "
                               f"{head[:16]!r}") from None
        raise _Invalid("it is a text file, not a fastinit model (.npz)")
    raise _Invalid(f"it is not a zip archive (.npz): it starts with {head[:16]!r}")


def _check_zip_directory(f: IO[bytes]) -> None:
    """Bound the zip's central directory before ``zipfile`` reads it all."""
    end_record = getattr(zipfile, "_EndRecData", None)  # what ZipFile itself reads
    if end_record is None:  # a Python without it: the file size bound still holds
        return
    record = end_record(f)
    if record is None:
        raise _Invalid("it is not a complete zip archive (no end of central directory: "
                       "truncated?)")
    # private constants, not in typeshed, that come with _EndRecData
    entries = record[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
    directory = record[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if entries > MAX_MEMBERS or directory > MAX_MEMBERS * _MEMBER_OVERHEAD:
        raise _Invalid(f"its archive lists {entries} members in {directory} bytes; a model "
                       f"file has at most {MAX_MEMBERS}")
    f.seek(0)


def _checked_members(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """The members by array name, once their names, number and sizes are known
    to be those of a model file."""
    if len(infos) > MAX_MEMBERS:
        raise _Invalid(f"it has {len(infos)} members; a model file has at most {MAX_MEMBERS}")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        match = _MEMBER_NAME.match(name)
        if (name not in (META_KEY + ".npy", STATE_KEY + ".npy")
                and not (match and int(match[2]) <= MAX_LAYERS)):
            raise _Invalid(f"it is a zip archive with a member {name[:100]!r}, which is not "
                           f"an array of a fastinit model (W1.npy, b1.npy, ..., "
                           f"{META_KEY}.npy, {STATE_KEY}.npy)")
        if name[:-4] in members:
            raise _Invalid(f"it has two members named {name!r}")
        if info.flag_bits & 0x1:
            raise _Invalid(f"its member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Invalid(f"its member {name!r} uses compression method "
                           f"{info.compress_type}; model files are stored or deflated")
        members[name[:-4]] = info
    total = sum(info.file_size for info in infos)
    if total > MAX_MODEL_BYTES:
        raise _Invalid(f"its members would take {total} bytes once decompressed, more than "
                       f"MAX_MODEL_BYTES = {MAX_MODEL_BYTES}")
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, read only once its header promises an array of
    the right kind and exactly the member's size."""
    name = info.filename
    with archive.open(info) as f:
        prefix = f.read(min(info.file_size, _NPY_PREFIX))
        header = io.BytesIO(prefix)
        try:
            version = npy_format.read_magic(header)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f".npy format version {version} is not 1.0 or 2.0")
            read_header = (npy_format.read_array_header_1_0 if version == (1, 0)
                           else npy_format.read_array_header_2_0)
            shape, fortran_order, dtype = read_header(header)
        except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError,
                OverflowError, UnicodeDecodeError, struct.error) as exc:
            raise _Invalid(f"its member {name!r} is not a valid .npy array ({exc})") from exc
        _check_array_header(name[:-4], shape, dtype)
        offset = header.tell()
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise _Invalid(f"its member {name!r} declares {nbytes} bytes of data of shape "
                           f"{shape}, but the member holds {info.file_size - offset}")
        buffer = bytearray(nbytes)
        buffer[:len(prefix) - offset] = prefix[offset:]
        _read_into(f, memoryview(buffer)[len(prefix) - offset:], name)
    if nbytes == 0:
        return np.empty(shape, dtype=dtype.newbyteorder("="))
    array = np.frombuffer(buffer, dtype=dtype)
    array = (array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape))
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_into(f: IO[bytes], view: memoryview, name: str) -> None:
    """Fill ``view`` from ``f``, a chunk at a time."""
    done = 0
    while done < len(view):
        chunk = f.read(min(_CHUNK, len(view) - done))
        if not chunk:
            raise _Invalid(f"its member {name!r} ends after {done} of {len(view)} bytes")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)


def _check_array_header(key: str, shape: tuple, dtype: np.dtype) -> None:
    """A parameter is a float32 or float64 array of at most 2 dimensions; the
    metadata a 0-d unicode string of bounded length."""
    where = f"its member {key + '.npy'!r}"
    if dtype.hasobject:
        raise _Invalid(f"{where} holds an array of dtype object, which would need pickle to "
                       f"load (fastinit loads model files without pickle)")
    if any(d < 0 for d in shape):
        raise _Invalid(f"{where} declares the negative shape {shape}")
    if key == META_KEY:
        if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_METADATA_CHARS:
            raise _Invalid(f"{where} must be a 0-d string of at most {MAX_METADATA_CHARS} "
                           f"characters, got dtype {dtype} and shape {shape}")
        return
    if dtype.kind != "f" or dtype.itemsize not in (4, 8) or dtype.fields or dtype.subdtype:
        raise _Invalid(f"{where} has dtype {dtype}; model files hold float32 or float64 arrays")
    if key == STATE_KEY:
        if len(shape) != 2:
            raise _Invalid(f"{where} has shape {shape}; the optimizer's state is 2-D")
        return
    if len(shape) > 2 or (key[0] == "W" and len(shape) != 2):
        raise _Invalid(f"{where} has shape {shape}; W is 2-D and b is 1-D or 2-D")


# the metadata's fields and their JSON types (int and float for negative_slope)
_META_FIELDS: dict[str, tuple[type, ...]] = {
    "layers_dims": (list,), "activation": (str,), "negative_slope": (int, float),
    "output": (str,), "dtype": (str,),
}
_OPTIONAL_FIELDS = ("init", "fastinit_version")
# the fields format version 2 adds (all but optimizer_state required there)
_V2_FIELDS: dict[str, tuple[type, ...]] = {
    "loss": (str,), "optimizer": (dict,), "schedule": (dict,), "l2": (int, float),
    "clip_norm": (int, float),
}
# optional in version 2: dropout, the seed (when known), the state (with its member)
_V2_OPTIONAL: dict[str, tuple[type, ...]] = {
    "keep_prob": (list,), "seed": (int,), "optimizer_state": (dict,),
}


# the fields of format version 3 (a scikit-learn estimator) beyond version 1's
_V3_FIELDS: dict[str, tuple[type, ...]] = {"loss": (str,), "estimator": (dict,)}


def _metadata(raw: np.ndarray) -> dict[str, Any]:
    """The metadata of a model file, every field of its expected type."""
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise _Invalid(f"metadata is not JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Invalid("metadata does not describe a fastinit model")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in FORMAT_VERSIONS:
        raise _Invalid(f"format version {_short(version)} is not "
                       f"{' or '.join(map(str, FORMAT_VERSIONS))} (the versions fastinit "
                       f"{__version__} reads)")
    if version in (1, ESTIMATOR_FORMAT_VERSION):
        for key in [*_V2_FIELDS, *_V2_OPTIONAL, "estimator"]:
            if key in meta and not (version == 3 and key in _V3_FIELDS):
                raise _Invalid(f"metadata {key!r} is not part of format version {version}")
        fields = _META_FIELDS if version == 1 else {**_META_FIELDS, **_V3_FIELDS}
    else:
        fields = {**_META_FIELDS, **_V2_FIELDS,
                  **{k: t for k, t in _V2_OPTIONAL.items() if k in meta}}
    for key, types in fields.items():
        if key not in meta:
            raise _Invalid(f"metadata has no {key!r}")
        if isinstance(meta[key], bool) or not isinstance(meta[key], types):
            raise _Invalid(f"metadata {key!r} must be of JSON type "
                           f"{' or '.join(t.__name__ for t in types)}, got {_short(meta[key])}")
    for key in _OPTIONAL_FIELDS:
        if not isinstance(meta.get(key, ""), str):
            raise _Invalid(f"metadata {key!r} must be a string, got {_short(meta[key])}")
    if not isinstance(meta.get("label_name", ""), str):
        raise _Invalid(f"metadata 'label_name' must be a string, got "
                       f"{_short(meta['label_name'])}")
    names = meta.get("feature_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _Invalid(f"metadata 'feature_names' must be a list of strings, got "
                       f"{_short(names)}")
    classes = meta.get("classes", [])
    if not isinstance(classes, list) or not (
            all(isinstance(c, str) for c in classes)
            or all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes)):
        raise _Invalid(f"metadata 'classes' must be a list of strings or of numbers, got "
                       f"{_short(classes)}")
    dims = meta["layers_dims"]
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise _Invalid(f"metadata 'layers_dims' must be a list of integers, got {_short(dims)}")
    if meta["dtype"] not in ("float32", "float64"):
        raise _Invalid(f"metadata 'dtype' must be 'float32' or 'float64', "
                       f"got {_short(meta['dtype'])}")
    return meta


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _model(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SavedModel:
    """The model of checked arrays and metadata, once they agree."""
    arrays = dict(arrays)
    slots = arrays.pop(STATE_KEY, None)
    if slots is not None and slots.dtype.name != meta["dtype"]:
        raise _Invalid(f"its member {STATE_KEY + '.npy'!r} (the optimizer's state) has dtype "
                       f"{slots.dtype.name}, metadata says {meta['dtype']}")
    stored = sorted({a.dtype.name for a in arrays.values()})
    if arrays and stored != [meta["dtype"]]:
        raise _Invalid(f"arrays of dtype {stored}, metadata says {meta['dtype']}")
    try:
        dims, params = check_parameters(arrays, dtype=np.dtype(meta["dtype"]), name="file")
        activation, slope = check_activation(meta["activation"], meta["negative_slope"])
    except (TypeError, ValueError) as exc:
        raise _Invalid(str(exc)) from None
    if dims != meta["layers_dims"]:
        raise _Invalid(f"arrays give layer sizes {dims}, metadata says "
                       f"{_short(meta['layers_dims'])}")
    loss = _loss(meta, dims)
    if meta["output"] != loss.output:
        raise _Invalid(f"output {_short(meta['output'])} does not fit {dims[-1]} output "
                       f"unit{'s' if dims[-1] > 1 else ''} of loss {loss.name!r} (its output "
                       f"is {loss.output!r})")
    names = meta.get("feature_names")
    if names is not None and len(names) != dims[0]:
        raise _Invalid(f"metadata names {len(names)} features, the network takes {dims[0]}")
    try:
        classes = _checked_classes(meta.get("classes"), dims, "metadata 'classes'", loss.name)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    training = {} if meta["format_version"] != 2 else _training(meta, slots, dims,
                                                                 params["W1"].dtype)
    if slots is not None and "optimizer_state" not in training:
        raise _Invalid(f"its member {STATE_KEY + '.npy'!r} has no {STATE_KEY!r} metadata "
                       f"(format version 2)")
    estimator = None
    if meta["format_version"] == ESTIMATOR_FORMAT_VERSION:
        estimator = _estimator(meta["estimator"], params, loss.name)
    return SavedModel(params, dims, activation, slope, meta.get("init", ""),
                      meta.get("fastinit_version", ""), classes,
                      tuple(names) if names is not None else None, meta.get("label_name"),
                      loss=loss.name, estimator=estimator, **training)


def _estimator(block: Any, params: dict[str, np.ndarray], loss: str) -> Any:
    """The scikit-learn estimator of a format-3 file (``fastinit.sklearn``,
    imported only for such a file: it needs scikit-learn)."""
    try:
        from ..sklearn._persist import rebuild
    except ImportError:
        raise _Invalid("it holds a scikit-learn estimator (format version 3): install "
                       "scikit-learn >= 1.7 to load it") from None
    try:
        return rebuild(block, params, loss)
    except (TypeError, ValueError) as exc:
        raise _Invalid(str(exc)) from None


def _loss(meta: dict[str, Any], dims: list[int]) -> Any:
    """The loss the metadata names (version 1: the default of the output width)."""
    name = meta.get("loss")
    if name is not None and name not in LOSSES:
        raise _Invalid(f"metadata 'loss' must be one of {list(LOSSES)}, got {_short(name)}")
    try:
        return get_loss(name, dims[-1])
    except ValueError as exc:
        raise _Invalid(f"metadata 'loss': {exc}") from None


def _training(meta: dict[str, Any], slots: np.ndarray | None, dims: list[int],
              dtype: np.dtype) -> dict[str, Any]:
    """The training options and optimizer state of format-version-2
    metadata, as :class:`SavedModel` keyword arguments, once the optimizer and
    schedule classes accept them and the state fits the network."""
    optimizer = _registered(meta["optimizer"], OPTIMIZERS, "optimizer")
    schedule = _registered(meta["schedule"], SCHEDULES, "schedule")
    try:
        l2 = check_interval(meta["l2"], "metadata 'l2'", 0)
        clip_norm = check_interval(meta["clip_norm"], "metadata 'clip_norm'", 0)
        if optimizer.lr is not None:
            check_learning_rate(optimizer.lr, dtype, name="metadata 'optimizer' lr")
        keep_prob = meta.get("keep_prob")
        if keep_prob is not None:
            keep_prob = _checked_keep_prob(keep_prob, dims, "metadata 'keep_prob'")
        seed = check_seed(meta.get("seed"), "metadata 'seed'")
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Invalid(_brief(exc)) from None
    try:  # what training does with them
        optimizer.with_lr(1.0).hyper(schedule, l2, clip_norm or None)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Invalid(f"metadata 'optimizer' and 'schedule' cannot be trained with "
                       f"({_brief(exc)})") from None
    out: dict[str, Any] = dict(optimizer=optimizer, schedule=schedule, l2=l2,
                               clip_norm=clip_norm, keep_prob=keep_prob, seed=seed)
    if "optimizer_state" not in meta:
        return out
    state = meta["optimizer_state"]
    if set(state) != {"step"}:
        raise _Invalid(f"metadata 'optimizer_state' must be {{\"step\": n}}, got {_short(state)}")
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise _Invalid(f"metadata 'optimizer_state' step must be an integer >= 0, got "
                       f"{_short(step)}")
    if slots is None:
        raise _Invalid(f"metadata 'optimizer_state' has no member {STATE_KEY + '.npy'!r}")
    try:
        _check_state(step, slots, optimizer, dims, dtype, STATE_KEY)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    out["optimizer_state"] = OptimizerState(optimizer, step, slots)
    return out


def _registered(value: Any, registry: dict[str, Any], key: str) -> Any:
    """The object ``{"name": ..., "params": {...}}`` describes: a class of
    ``registry`` built with the params (which validates them)."""
    if not isinstance(value, dict) or set(value) != {"name", "params"} or not isinstance(
            value["params"], dict):
        raise _Invalid(f"metadata {key!r} must be {{\"name\": ..., \"params\": {{...}}}}, "
                       f"got {_short(value)}")
    name = value["name"]
    if not isinstance(name, str) or name not in registry:
        raise _Invalid(f"metadata {key!r} names the unknown {key} {_short(name)}; "
                       f"fastinit {__version__} knows {list(registry)}")
    try:
        return registry[name](**value["params"])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Invalid(f"metadata {key!r} ({name}): {_brief(exc)}") from None


def _brief(exc: BaseException) -> str:
    """An exception's message, cut to a few lines (it may quote a long value)."""
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."
