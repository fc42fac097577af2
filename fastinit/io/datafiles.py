"""Users' own data: samples-as-rows files (CSV, ``.npy``, ``.npz``) read into
the column-per-example arrays of the library, and class labels of any type.

A data file holds one sample per row, as every tool writes them (pandas,
NumPy, spreadsheets); :func:`read_data` returns them as rows too
(``DataFile.X`` of shape (n_samples, n_features)), and ``DataFile.X.T`` is what
:func:`fastinit.train` takes.  Every error names the file and the place in it
in the file's own terms: "line 7, column 3 ('x2')" for CSV (lines and columns
counted from 1, as editors do), ``array[6, 2]`` (a ``.npy``) or ``X[6, 2]`` (a
``.npz``) for NumPy arrays (indices counted from 0, as NumPy does).

Formats, told apart by their first bytes (the suffix only breaks ties):

* CSV: comma-separated text, UTF-8.  The first line is a header when it holds
  a name above a number, or above a column of a few repeated labels that it is
  none of (``header=None``), or as told.  Blank lines are skipped; an unnamed first
  column counting the rows (0, 1, 2, ... or 1, 2, 3, ...: pandas' and R's row
  index) and an empty last column (a trailing comma on every line) are left
  out.  Feature columns hold numbers; the label column anything (numbers or
  words), kept as text unless every label is a plain integer.
* ``.npy``: one 2-D array of numbers, samples as rows; the label column, if
  any, is one of its columns.
* ``.npz``: arrays ``X`` (2-D, samples as rows) and ``y`` (1-D labels: numbers
  or strings), as ``numpy.savez(path, X=X, y=y)`` writes them, or a single
  2-D array read as a ``.npy``.

Labels become classes as scikit-learn's (and fastinit's estimator) map them:
the sorted distinct values are the classes, and each label becomes its index
(:func:`encode_labels`).  Boolean labels become the words ``"False"`` and
``"True"``; float labels that are all whole numbers become integers.
"""
from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from ._files import NPY_MAGIC, ZIP_MAGIC
from .._validation import check_memory

__all__ = ["DataFile", "read_data", "encode_labels", "LabelColumn", "DEFAULT_LABELS"]


class _DefaultLabels:
    """The type of :data:`DEFAULT_LABELS`."""

    def __repr__(self) -> str:
        return "DEFAULT_LABELS"


#: ``label_column=DEFAULT_LABELS``: a ``.npz``'s array ``y``, else the last column
DEFAULT_LABELS = _DefaultLabels()

#: a label column: its header name, or its number counting from 1 (-1: the last)
LabelColumn = Union[str, int, _DefaultLabels, None]
_Column = Union[str, int, None]  # what the readers below take

# a parsed CSV field costs about this many bytes of Python objects
_BYTES_PER_CSV_BYTE = 40


@dataclass(frozen=True)
class DataFile:
    """Samples read from a data file.

    Attributes
    ----------
    path : str
        The file read.
    X : ndarray of shape (n_samples, n_features), float64
        The features, one sample per row, all finite.
    labels : ndarray of shape (n_samples,) or None
        The label column's values (int64, float64 or str), or None when no
        label column was asked for.
    feature_names : list of str
        The header's names of the feature columns, or ``x1, x2, ...`` (CSV
        without a header) or ``column 0, ...`` (NumPy files).
    label_name : str or None
        The header's name of the label column, or None.
    lines : ndarray of shape (n_samples,) or None
        The line of a CSV file each sample was read from (from 1), or None.
    has_header : bool
        Whether the feature names come from a header line (else they are
        made up: ``x1, ...`` or ``column 0, ...``).
    left_out : tuple of str
        Columns of the file read as neither features nor labels, and why
        (a row index, a trailing comma).
    """

    path: str
    X: np.ndarray = field(repr=False)
    labels: np.ndarray | None = field(repr=False)
    feature_names: list[str]
    label_name: str | None = None
    lines: np.ndarray | None = field(default=None, repr=False)
    has_header: bool = False
    left_out: tuple[str, ...] = ()

    def where(self, sample: int) -> str:
        """Where sample ``sample`` (from 0) is in the file: "line 7" for CSV,
        "row 6" (from 0, as NumPy counts) for NumPy files."""
        return f"line {self.lines[sample]}" if self.lines is not None else f"row {sample}"

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]


def encode_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes and class indices of labels of any type, as the estimator maps them.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted.
    indices : ndarray of shape (1, n_samples), int64
        Each label's position in ``classes`` (what :func:`fastinit.train` takes).
    """
    classes = np.unique(labels)
    return classes, np.searchsorted(classes, labels).astype(np.int64).reshape(1, -1)


def read_data(path: str | os.PathLike, *, label_column: LabelColumn = None,
              header: bool | None = None, name: str = "data",
              missing_label_ok: bool = False) -> DataFile:
    """Read a samples-as-rows data file (CSV, ``.npy`` or ``.npz``).

    Parameters
    ----------
    path : str or os.PathLike
    label_column : str, int or None, default None
        The column holding the labels: its header name, or its number counting
        from 1 (negative numbers count from the end: -1 is the last).  None:
        every column is a feature (an ``.npz`` with a ``y`` array still gives
        its labels).  :data:`DEFAULT_LABELS`: a ``.npz``'s ``y``, else the
        last column (what ``fastinit train --data`` reads by default).
    header : bool or None, default None
        Whether a CSV file's first line names the columns; None guesses (a
        name above a number).  Ignored for NumPy files.
    name : str, default "data"
        What to call the file in errors (a command-line option, say).
    missing_label_ok : bool, default False
        A ``label_column`` given by name that the file does not have (or a
        file without a header) reads the file without labels instead of
        raising: how a model's label column is left out of new data that may
        or may not hold it.

    Returns
    -------
    DataFile

    Raises
    ------
    ValueError
        The file cannot be read as data, naming the file and the line and
        column (or array index) at fault: not a data file (a directory, a model
        file, binary junk), ragged rows, a feature that is not a finite number,
        an unknown label column, no samples.
    OSError
        The file cannot be opened.
    """
    try:
        path = os.fspath(path)
    except TypeError as exc:
        raise TypeError(f"{name} must be a file path, got {path!r}") from exc
    if not isinstance(path, str):
        path = os.fsdecode(path)
    default = isinstance(label_column, _DefaultLabels)
    column: _Column = -1 if isinstance(label_column, _DefaultLabels) else label_column
    if column is not None and (isinstance(column, bool) or not isinstance(column, (str, int))):
        raise TypeError(f"label_column must be a column name, a column number or None, "
                        f"got {label_column!r}")
    if column == 0:
        raise ValueError("label_column numbers count from 1 (-1 is the last column), got 0")
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"header must be True, False or None, got {header!r}")
    try:
        mode = os.stat(path).st_mode  # before opening: opening a FIFO waits for a writer
        if stat.S_ISDIR(mode):
            raise ValueError(f"{name} {path!r} is a directory, not a data file")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{name} {path!r} is not a regular file")
        f = open(path, "rb")
    except OSError as exc:
        raise type(exc)(f"{name} {path!r}: {exc.strerror or exc}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(len(NPY_MAGIC))
    if missing_label_ok and isinstance(column, str):
        if head[:4] in ZIP_MAGIC or head.startswith(NPY_MAGIC):
            column = None  # NumPy files have no column names
    if head[:4] in ZIP_MAGIC:
        return _read_npz(path, column, name, size, default)
    if head.startswith(NPY_MAGIC):
        return _from_array(path, _load_npy(path, name), column, name)
    if path.lower().endswith((".npy", ".npz")):
        raise ValueError(f"{name} {path!r} is not a NumPy file: it does not start with the "
                         f".npy or zip signature")
    return _read_csv(path, column, header, name, size, missing_label_ok)


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------

def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (what a CSV feature field must be)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: str, label_column: _Column, header: bool | None, name: str,
              size: int, missing_label_ok: bool = False) -> DataFile:
    check_memory(_BYTES_PER_CSV_BYTE * size, f"reading {name} {path!r} ({size} bytes)")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValueError(f"{name} {path!r}, line {line}: not UTF-8 text (byte {exc.start}); "
                         f"a CSV file must be saved as UTF-8 (in Excel: 'CSV UTF-8')") from None
    if "\0" in text:
        raise ValueError(f"{name} {path!r} is a binary file, not CSV text")
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((reader.line_num, [f.strip() for f in fields]))
    except csv.Error as exc:
        raise ValueError(f"{name} {path!r}, line {reader.line_num}: {exc}") from None
    if not rows:
        raise ValueError(f"{name} {path!r} holds no samples (it is empty)")
    if header is None:
        header = _guess_header(rows)
    names = rows[0][1] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{name} {path!r} holds no samples (only a header line)")
    n_columns = len(names) if names is not None else len(body[0][1])
    for line, fields in body:
        if len(fields) != n_columns:
            raise ValueError(f"{name} {path!r}, line {line}: {len(fields)} fields, expected "
                             f"{n_columns} (as in line {rows[0][0]}){_separator_hint(fields)}")
    has_header = names is not None
    names = names or [f"x{j + 1}" for j in range(n_columns)]
    skip, left_out = _unused_columns(names, body, has_header)
    if n_columns == 1 and _separator_hint(body[0][1]):
        raise ValueError(f"{name} {path!r} has one column{_separator_hint(body[0][1])}")
    if missing_label_ok and isinstance(label_column, str) and (not header
                                                               or label_column not in names):
        label_column = None
    label = _label_index(label_column, names if header else None, n_columns, path, name)
    features = [j for j in range(n_columns) if j != label and j not in skip]
    if not features:
        raise ValueError(f"{name} {path!r} has no feature column besides the labels"
                         f"{_separator_hint(body[0][1])}")
    X = np.empty((len(body), len(features)), dtype=np.float64)
    for i, (line, fields) in enumerate(body):
        try:
            X[i] = [float(fields[j]) for j in features]
        except ValueError:
            j = next(j for j in features if not is_number(fields[j]))
            raise ValueError(f"{name} {path!r}, line {line}, column {j + 1} ({names[j]!r}): "
                             f"{_quote(fields[j])} is not a number") from None
        if not np.isfinite(X[i]).all():
            j = features[int(np.argmin(np.isfinite(X[i])))]
            raise ValueError(f"{name} {path!r}, line {line}, column {j + 1} ({names[j]!r}): "
                             f"{_quote(fields[j])} is not a finite number")
    labels = None
    if label is not None:
        labels = _typed_labels([fields[label] for _, fields in body])
        empty = next((line for line, fields in body if not fields[label]), None)
        if empty is not None:
            raise ValueError(f"{name} {path!r}, line {empty}, column {label + 1} "
                             f"({names[label]!r}): the label is empty")
    return DataFile(path, X, labels, [names[j] for j in features],
                    names[label] if label is not None and has_header else None,
                    np.array([line for line, _ in body]), has_header, left_out)


def _separator_hint(fields: list[str]) -> str:
    return next((f" (separated by {sep!r}? fastinit reads comma-separated values)"
                 for sep in (";", "\t", "|") if any(sep in f for f in fields)), "")


def _unused_columns(names: list[str], body: list[tuple[int, list[str]]],
                    has_header: bool) -> tuple[set[int], tuple[str, ...]]:
    """Columns that hold no data: a first column without a name that counts the
    rows (pandas' and R's row index), a last column empty everywhere (a
    trailing comma on every line)."""
    skip: set[int] = set()
    notes = []
    n = len(names)
    if n > 1 and has_header and names[0] == "":
        try:
            first = [int(fields[0]) for _, fields in body]
        except ValueError:
            first = []
        if first and first[0] in (0, 1) and first == list(range(first[0], first[0] + len(body))):
            skip.add(0)
            notes.append("column 1 (no name, counts the rows: a row index)")
    if n > 1 and (not has_header or names[-1] == "") and all(not f[-1] for _, f in body):
        skip.add(n - 1)
        notes.append(f"column {n} (empty: a trailing comma)")
    return skip, tuple(notes)


def _guess_header(rows: list[tuple[int, list[str]]]) -> bool:
    """A header names a column above a number, or a column of a few repeated
    labels with a word that is none of them; a lone line of words is a header
    too."""
    first = rows[0][1]
    if len(rows) == 1:
        return not any(is_number(f) for f in first)
    second = rows[1][1]
    if any(not is_number(a) and is_number(b) for a, b in zip(first, second)):
        return True
    # a column of a few labels repeated over many lines, whose first line's
    # word is none of them ("label" above yes/no/yes/...)
    if len(rows) < 11:
        return False
    for j, word in enumerate(first):
        if word and not is_number(word):
            values = {fields[j] for _, fields in rows[1:] if j < len(fields)}
            if word not in values and len(values) <= (len(rows) - 1) // 2:
                return True
    return False


def _typed_labels(values: list[str]) -> np.ndarray:
    """Labels as integers if each is written as one (``7``, ``-2``; not
    ``07``, ``7.0`` or ``1_000``), else as the file's text."""
    try:
        ints = [int(v) for v in values]
    except ValueError:
        return np.array(values, dtype=str)
    if any(str(i) != v for i, v in zip(ints, values)):
        return np.array(values, dtype=str)
    return np.array(ints, dtype=np.int64)


def _array_labels(labels: np.ndarray) -> np.ndarray:
    """Labels of a NumPy file: booleans as the words False/True, whole floats
    as integers, strings as str."""
    if labels.dtype.kind == "b":
        return np.where(labels, "True", "False")
    if labels.dtype.kind == "S":
        return labels.astype(str)
    if labels.dtype.kind == "f" and (labels == np.round(labels)).all():
        return labels.astype(np.int64)
    return np.asarray(labels)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _label_index(label_column: _Column, names: Sequence[str] | None, n_columns: int,
                 path: str, name: str) -> int | None:
    """The 0-based index of the label column, or None."""
    if label_column is None:
        return None
    if isinstance(label_column, str):
        if names is None:
            if label_column.lstrip("-").isdigit():
                return _label_index(int(label_column), None, n_columns, path, name)
            raise ValueError(f"{name} {path!r} has no header line, so there is no column named "
                             f"{label_column!r}; give the label column's number (1 .. "
                             f"{n_columns}, or -1 for the last)")
        if label_column in names:
            return list(names).index(label_column)
        if label_column.lstrip("-").isdigit():
            return _label_index(int(label_column), None, n_columns, path, name)
        raise ValueError(f"{name} {path!r} has no column named {label_column!r}; its columns "
                         f"are {', '.join(map(repr, names))}")
    if not (1 <= label_column <= n_columns or -n_columns <= label_column <= -1):
        raise ValueError(f"{name} {path!r} has {n_columns} columns, so there is no label "
                         f"column {label_column} (1 .. {n_columns}, or -1 .. -{n_columns} "
                         f"from the end)")
    return label_column - 1 if label_column > 0 else n_columns + label_column


# ---------------------------------------------------------------------------
# NumPy files
# ---------------------------------------------------------------------------

def _load_npy(path: str, name: str) -> np.ndarray:
    try:  # mapped, not read: a header that promises more than the file holds fails here
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{name} {path!r} cannot be read as a .npy array file "
                         f"({exc})") from exc


def _read_npz(path: str, label_column: _Column, name: str, size: int,
              default: bool = False) -> DataFile:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{name} {path!r} is not a readable zip archive (.npz): "
                         f"{exc}") from None
    if "__fastinit__.npy" in members:
        raise ValueError(f"{name} {path!r} is a fastinit model file, not a data file")
    if any(not m.endswith(".npy") for m in members):
        raise ValueError(f"{name} {path!r} is a zip archive but not a .npz of arrays")
    check_memory(sum(members.values()), f"reading {name} {path!r}")
    keys = [m[:-4] for m in members]
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "X" in keys and "y" in keys:
                X, y = npz["X"], npz["y"]
            elif len(keys) == 1:
                return _from_array(path, npz[keys[0]], label_column, name, keys[0])
            else:
                raise ValueError(f"{name} {path!r} holds the arrays {', '.join(keys)}; a data "
                                 f".npz holds X (samples as rows) and y (labels), or one array")
    except ValueError as exc:
        if str(exc).startswith(name):
            raise
        raise ValueError(f"{name} {path!r} cannot be read as a .npz of arrays ({exc})") from None
    if label_column is not None and not default:
        raise ValueError(f"{name} {path!r} holds its labels in the array y; label_column "
                         f"applies to CSV and .npy files")
    rows = _numeric_rows(path, X, name, "X")
    if y.ndim != 1 or y.shape[0] != rows.shape[0]:
        raise ValueError(f"{name} {path!r}: y must be 1-D with one label per row of X "
                         f"({rows.shape[0]}), got shape {y.shape}")
    if y.dtype.kind not in "biufUS":  # b: booleans
        raise ValueError(f"{name} {path!r}: y holds values of dtype {y.dtype}; labels are "
                         f"numbers or strings")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} {path!r}: y[{int(np.argmin(np.isfinite(y)))}] is not a "
                         f"finite number")
    labels = _array_labels(y)
    return DataFile(path, _finite(path, rows, name, "X"), labels,
                    [f"column {j}" for j in range(rows.shape[1])])


def _numeric_rows(path: str, array: np.ndarray, name: str, what: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} {path!r}: {what} holds values of dtype {array.dtype}, "
                         f"not numbers")
    if array.ndim != 2:
        raise ValueError(f"{name} {path!r}: {what} must be a 2-D array (samples as rows), "
                         f"got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} {path!r} holds no samples ({what} has shape {array.shape})")
    return array


def _finite(path: str, rows: np.ndarray, name: str, what: str,
            columns: Sequence[int] | None = None) -> np.ndarray:
    """The ``columns`` of ``rows`` (all by default) as a float64 array,
    refusing NaN and infinities by their index in the file."""
    columns = list(range(rows.shape[1])) if columns is None else list(columns)
    check_memory(8 * rows.shape[0] * len(columns), f"reading {name} {path!r}")
    X = np.array(rows[:, columns], dtype=np.float64)
    finite = np.isfinite(X)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ValueError(f"{name} {path!r}: {what}[{i}, {columns[j]}] is {X[i, j]}, not a "
                         f"finite number")
    return X


def _from_array(path: str, array: np.ndarray, label_column: _Column, name: str,
                what: str = "array") -> DataFile:
    rows = _numeric_rows(path, array, name, what)
    n_columns = rows.shape[1]
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        raise ValueError(f"{name} {path!r} is a NumPy array without column names; give the "
                         f"label column's number (1 .. {n_columns}, or -1 for the last)")
    label = _label_index(label_column, None, n_columns, path, name)
    features = [j for j in range(n_columns) if j != label]
    if not features:
        raise ValueError(f"{name} {path!r} has no feature column besides the labels")
    X = _finite(path, rows, name, what, features)
    labels = None
    if label is not None:
        labels = np.asarray(rows[:, label])
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            i = int(np.argmin(np.isfinite(labels)))
            raise ValueError(f"{name} {path!r}: the label {what}[{i}, {label}] is "
                             f"{labels[i]}, not a finite number")
        labels = _array_labels(labels)
    return DataFile(path, X, labels, [f"column {j}" for j in features])

