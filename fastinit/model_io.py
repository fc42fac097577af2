"""Model files: parameters and metadata in a ``.npz``, loaded without pickle.

A model file is a zip archive (what ``numpy.savez`` writes) of the ``.npy``
members ``W1``, ``b1``, ..., ``WL``, ``bL`` (float32 or float64) and one 0-d
string array ``__fastinit__`` with JSON metadata (format version, fastinit
version, layer sizes, activation, output, dtype, initializer).

Loading never runs code and never does unbounded work: before anything is
decompressed, the archive's directory is checked (at most
:data:`MAX_MEMBERS` members, each a ``.npy`` member of an expected name, with
uncompressed sizes summing to at most :data:`MAX_MODEL_BYTES`), and before an
array is read its ``.npy`` header is checked (a float dtype, a shape whose size
matches the member).  A truncated, tampered, foreign or mismatched file raises a
``ValueError`` that names the file and says what is wrong.

Saving builds the whole file in memory, checks it with the loader's own checks
(so that :func:`save_model` refuses whatever :func:`load_model` would refuse),
and only then writes it, atomically (:func:`fastinit._files.atomic_write`): a
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
from typing import IO, Any, Sequence

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import ArrayLike

from ._files import NPY_MAGIC, ZIP_MAGIC, atomic_write
from ._validation import check_activation, check_parameters
from ._version import __version__
from .network import accuracy_of, predict_labels, predict_proba

FORMAT = "fastinit-model"
FORMAT_VERSION = 1
META_KEY = "__fastinit__"


def _physical_memory() -> int | None:
    """Bytes of RAM of this machine, when the OS says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


#: most layers (weight matrices) a model file may hold
MAX_LAYERS = 256
#: most members of a model file's archive: W and b per layer, and the metadata
MAX_MEMBERS = 2 * MAX_LAYERS + 1
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
        0 .. k-1; :meth:`predict` then returns these labels.
    feature_names : tuple of str or None
        The training data's feature columns, when known.
    label_name : str or None
        The training data's label column, when it had a name.
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

    def __repr__(self) -> str:
        parts = [f"layers_dims={self.layers_dims}", f"activation={self.activation!r}",
                 f"dtype={self.dtype.name}"]
        if self.init:
            parts.append(f"init={self.init!r}")
        if self.classes is not None:
            parts.append(f"classes={_short(list(self.classes))}")
        if self.feature_names is not None:
            parts.append(f"features={_short(list(self.feature_names))}")
        return f"SavedModel({', '.join(parts)})"

    @property
    def dtype(self) -> np.dtype:
        return self.parameters["W1"].dtype

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)."""
        return predict_proba(X, self.parameters, self.activation, self.negative_slope)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels of shape (1, m): elements of :attr:`classes` when
        the model has them, else class indices (int64)."""
        indices = predict_labels(X, self.parameters, self.activation, self.negative_slope)
        if self.classes is None:
            return indices
        return np.asarray(self.classes)[indices]

    def accuracy(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Fraction of the examples of ``X`` (shape (n_x, m)) whose predicted
        label equals ``Y``'s (shape (1, m) or (m,)): labels of :attr:`classes`
        when the model has them, else 0 .. k-1."""
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


def model_from_parameters(parameters: dict[str, ArrayLike], activation: str = "relu",
                          negative_slope: float = 0.01, classes: ArrayLike | None = None,
                          init: str = "") -> SavedModel:
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

    Returns
    -------
    SavedModel
        Checked as a model file's contents are: it can be saved, and
        ``save_model`` then ``load_model`` gives it back.
    """
    dims, params = check_parameters(parameters, name="parameters")
    activation, slope = check_activation(activation, negative_slope)
    if not isinstance(init, str):
        raise TypeError(f"init must be a string, got {init!r}")
    return SavedModel(params, dims, activation, slope, init, __version__,
                      _checked_classes(classes, dims, "classes"))


def _checked_classes(classes: Any, dims: list[int], name: str) -> tuple | None:
    """Class labels for a network of layer sizes ``dims`` as a tuple of
    distinct strings or numbers (JSON-safe), or None."""
    if classes is None:
        return None
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
    classes : array-like, optional
        The labels of the output units, stored with the model (a
        :class:`SavedModel`'s own are kept when not given): the model file's
        :meth:`SavedModel.predict` returns them.
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
        arrays), or ``path`` cannot be written (a directory, a missing or
        read-only folder).
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
    parameters, activation, slope, init = _model_fields(model)
    dims, params = check_parameters(parameters, name="model.parameters")
    activation, slope = check_activation(activation, slope)
    if classes is None:
        classes = getattr(model, "classes", None)
    classes = _checked_classes(classes, dims, "classes")
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
    size = sum(a.nbytes for a in params.values())
    if size > MAX_MODEL_BYTES:
        raise ValueError(f"model's parameters take {size} bytes; a model file holds at most "
                         f"{MAX_MODEL_BYTES}")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastinit_version": __version__,
        "layers_dims": dims,
        "activation": activation,
        "negative_slope": slope,
        "output": _output(dims),
        "dtype": params["W1"].dtype.name,
        "init": init,
    }
    if classes is not None:
        meta["classes"] = list(classes)
    if feature_names is not None:
        meta["feature_names"] = list(feature_names)
    if label_name is not None:
        meta["label_name"] = label_name
    text = json.dumps(meta)
    if len(text) > MAX_METADATA_CHARS:
        raise ValueError(f"model's metadata (initializer, feature names, classes) takes "
                         f"{len(text)} characters; a model file holds at most "
                         f"{MAX_METADATA_CHARS}")
    buffer = io.BytesIO()
    # mypy fears a key of params could be savez's allow_pickle: they are W1, b1, ...
    np.savez(buffer, **params, **{META_KEY: np.array(text)})  # type: ignore[arg-type]
    data = buffer.getvalue()
    try:  # what load_model would refuse is never written
        _read_model(io.BytesIO(data), len(data))
    except _Invalid as exc:
        raise ValueError(f"model cannot be saved: {exc}") from exc
    return data


def _output(dims: list[int]) -> str:
    return "sigmoid" if dims[-1] == 1 else "softmax"


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def _bad(path: str, why: Any) -> ValueError:
    return ValueError(f"{path!r} is not a valid fastinit model file: {why}")


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    SavedModel

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
        :data:`MAX_MODEL_BYTES` of data.
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
            return _read_model(f, size)
        except _Invalid as exc:
            raise _bad(path, exc) from None


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
        if name != META_KEY + ".npy" and not (match and int(match[2]) <= MAX_LAYERS):
            raise _Invalid(f"it is a zip archive with a member {name[:100]!r}, which is not "
                           f"an array of a fastinit model (W1.npy, b1.npy, ..., "
                           f"{META_KEY}.npy)")
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
    if len(shape) > 2 or (key[0] == "W" and len(shape) != 2):
        raise _Invalid(f"{where} has shape {shape}; W is 2-D and b is 1-D or 2-D")


# the metadata's fields and their JSON types (int and float for negative_slope)
_META_FIELDS: dict[str, tuple[type, ...]] = {
    "layers_dims": (list,), "activation": (str,), "negative_slope": (int, float),
    "output": (str,), "dtype": (str,),
}
_OPTIONAL_FIELDS = ("init", "fastinit_version")


def _metadata(raw: np.ndarray) -> dict[str, Any]:
    """The metadata of a model file, every field of its expected type."""
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise _Invalid(f"metadata is not JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Invalid("metadata does not describe a fastinit model")
    version = meta.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise _Invalid(f"format version {_short(version)} is not {FORMAT_VERSION}")
    for key, types in _META_FIELDS.items():
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
    if meta["output"] != _output(dims):
        raise _Invalid(f"output {_short(meta['output'])} does not fit {dims[-1]} output units")
    names = meta.get("feature_names")
    if names is not None and len(names) != dims[0]:
        raise _Invalid(f"metadata names {len(names)} features, the network takes {dims[0]}")
    try:
        classes = _checked_classes(meta.get("classes"), dims, "metadata 'classes'")
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return SavedModel(params, dims, activation, slope, meta.get("init", ""),
                      meta.get("fastinit_version", ""), classes,
                      tuple(names) if names is not None else None, meta.get("label_name"))
