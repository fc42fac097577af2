"""Model files: parameters and metadata in a ``.npz``, loaded without pickle.

A model file holds the arrays ``W1``, ``b1``, ..., ``WL``, ``bL`` and one 0-d
string array ``__fastinit__`` with JSON metadata (format version, fastinit
version, layer sizes, activation, output, dtype, initializer).  Loading uses
``numpy.load(..., allow_pickle=False)``, so a file can never execute code, and
checks everything: a truncated, tampered or mismatched file raises a
``ValueError`` that says what is wrong.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_activation, check_parameters
from ._version import __version__
from .network import predict_labels, predict_proba

FORMAT = "fastinit-model"
FORMAT_VERSION = 1
META_KEY = "__fastinit__"


@dataclass(frozen=True)
class SavedModel:
    """A network read from a model file."""

    parameters: dict[str, np.ndarray]
    layers_dims: list[int]
    activation: str
    negative_slope: float
    init: str
    fastinit_version: str

    @property
    def dtype(self) -> np.dtype:
        return self.parameters["W1"].dtype

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)."""
        return predict_proba(X, self.parameters, self.activation, self.negative_slope)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels of shape (1, m)."""
        return predict_labels(X, self.parameters, self.activation, self.negative_slope)


def save_model(path: str | os.PathLike, model: Any) -> None:
    """Write a trained model (a :class:`~fastinit.TrainingResult` or
    :class:`SavedModel`) to ``path`` (``.npz``; the suffix is not added)."""
    if not hasattr(model, "parameters") or not hasattr(model, "activation"):
        raise TypeError(f"model must be a TrainingResult or SavedModel, got {type(model).__name__}")
    dims, params = check_parameters(model.parameters)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastinit_version": __version__,
        "layers_dims": dims,
        "activation": model.activation,
        "negative_slope": float(model.negative_slope),
        "output": "sigmoid" if dims[-1] == 1 else "softmax",
        "dtype": str(params["W1"].dtype),
        "init": model.init if isinstance(model.init, str) else repr(model.init),
    }
    with open(path, "wb") as f:
        np.savez(f, **params, **{META_KEY: np.array(json.dumps(meta))})


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{os.fspath(path)!r} is not a valid fastinit model file: {why}")


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by :func:`save_model`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a complete, consistent fastinit model file (truncated,
        tampered, another format, or arrays that do not match the metadata).
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise _bad(path, f"cannot be read as .npz without pickle ({exc})") from exc
    if META_KEY not in arrays:
        raise _bad(path, f"no {META_KEY!r} metadata")
    raw = arrays.pop(META_KEY)
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, TypeError) as exc:
        raise _bad(path, f"metadata is not JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _bad(path, "metadata does not describe a fastinit model")
    if meta.get("format_version") != FORMAT_VERSION:
        raise _bad(path, f"format version {meta.get('format_version')!r} is not {FORMAT_VERSION}")
    try:
        dims, params = check_parameters(arrays, dtype=np.dtype(meta["dtype"]), name="file")
        activation, slope = check_activation(meta["activation"], meta["negative_slope"])
        stored_dtypes = {str(a.dtype) for a in arrays.values()}
        if stored_dtypes != {meta["dtype"]}:
            raise ValueError(f"arrays of dtype {sorted(stored_dtypes)}, metadata says {meta['dtype']}")
        if dims != meta["layers_dims"]:
            raise ValueError(f"arrays give layer sizes {dims}, metadata says {meta['layers_dims']}")
        if meta["output"] != ("sigmoid" if dims[-1] == 1 else "softmax"):
            raise ValueError(f"output {meta['output']!r} does not fit {dims[-1]} output units")
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(path, str(exc)) from exc
    return SavedModel(params, dims, activation, slope, str(meta.get("init", "")),
                      str(meta.get("fastinit_version", "")))
