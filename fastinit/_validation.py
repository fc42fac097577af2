"""Input validation: the only place where fastinit decides what it accepts.

The compiled kernels trust their inputs (bounds checks are off), so every public
function passes its arguments through these helpers first.  Each helper either
returns an array the kernels can use safely (right dtype, C-contiguous, finite)
or raises a ``TypeError`` / ``ValueError`` that names the argument, what was
expected and what was received.
"""
from __future__ import annotations

import math
import numbers
import operator
import os
from typing import Any, Mapping, Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def resolve_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Return ``float32`` or ``float64`` for a dtype-like, or raise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {resolved}")
    return resolved


def real_array(x: Any, name: str) -> np.ndarray:
    """``x`` as an ndarray of real numbers (bool, integer or floating)."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: fill or drop the masked values first")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and friends
        raise TypeError(f"{name} must be array-like of real numbers: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or floating), "
            f"got an array of dtype {arr.dtype}"
        )
    return arr


def check_array(x: Any, name: str, dtype: np.dtype, ndim: int | None = 2) -> np.ndarray:
    """Validate a real, finite, non-empty array and return it as an aligned,
    C-contiguous array of ``dtype``.

    The result is never the caller's array object: it is a copy when a
    conversion is needed and otherwise a *view*, whose shape the caller cannot
    change.  (The kernels size their work from the shapes validated here; a
    caller who reshaped their own array in place, from a callback or another
    thread, must not be able to change what a kernel reads.)
    """
    arr = real_array(x, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype == dtype or dtype == np.float64:
        out = np.asarray(arr, dtype=dtype, order="C")
    else:  # float64 -> float32 may overflow; reported below
        with np.errstate(over="ignore"):
            out = np.asarray(arr, dtype=dtype, order="C")
    out = out.view() if out.flags.aligned else out.copy()
    if not np.isfinite(out).all():
        if np.isfinite(arr).all():
            raise ValueError(
                f"{name} overflows {dtype}: its values do not fit the computation dtype"
            )
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return out


def output_units(labels: Any) -> int:
    """Output units of a classifier of these labels (0 .. k-1): one sigmoid
    unit for two classes (or fewer), a softmax of k units for k >= 3.  Labels
    that are not numbers give 1 here: :func:`check_labels` then says why."""
    arr = np.asarray(labels) if not isinstance(labels, np.ndarray) else labels
    if arr.size == 0 or arr.dtype.kind not in "biuf" or not np.isfinite(arr).all():
        return 1
    n_classes = int(arr.max()) + 1
    return 1 if n_classes <= 2 else n_classes


def check_labels(
    Y: Any, m: int, dtype: np.dtype, n_outputs: int = 1, name: str = "Y"
) -> np.ndarray:
    """Class labels of shape ``(1, m)`` (a 1-D ``(m,)`` array is accepted too).

    With one output unit (sigmoid) the labels are 0 or 1 and come back as a
    ``(1, m)`` array of ``dtype``; with ``n_outputs = k >= 2`` (softmax) they
    are the integers 0 .. k-1 and come back one-hot, ``(k, m)``.
    """
    arr = real_array(Y, name)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.shape != (1, m):
        raise ValueError(f"{name} must have shape (1, {m}) to match X, got {np.shape(Y)}")
    n_classes = max(n_outputs, 2)
    is_label = (arr >= 0) & (arr < n_classes) & (arr == np.round(arr))
    if not is_label.all():
        bad = np.unique(arr[~is_label])[:5]
        allowed = "0 and 1" if n_classes == 2 else f"0 .. {n_classes - 1}"
        raise ValueError(f"{name} must contain only the labels {allowed}, found {bad.tolist()}")
    if n_outputs == 1:
        return np.array(arr, dtype=dtype, order="C")  # a private copy (see check_array)
    one_hot = np.zeros((n_outputs, m), dtype=dtype)
    one_hot[arr[0].astype(np.intp), np.arange(m)] = 1
    return one_hot


def check_targets(Y: Any, m: int, dtype: np.dtype, n_outputs: int, loss: Any,
                  name: str = "Y") -> np.ndarray:
    """The targets of a loss (:mod:`fastinit.nn.losses`) as the kernels take
    them, shape (n_outputs, m): class labels for the cross-entropies (see
    :func:`check_labels`; 0/1 per unit, shape (k, m), for a binary
    cross-entropy of k >= 2 sigmoid units: multilabel), real values for
    "mse", non-negative ones for "poisson" (a (m,) array is taken for one
    output)."""
    if loss.targets == "classes" or (loss.targets == "binary" and n_outputs == 1):
        return check_labels(Y, m, dtype, n_outputs=n_outputs, name=name)
    arr = real_array(Y, name)
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(1, -1)
    if arr.shape != (n_outputs, m):
        raise ValueError(f"{name} must have shape ({n_outputs}, {m}) (one row per output unit, "
                         f"one column per example of X) for loss={loss.name!r}, "
                         f"got {np.shape(Y)}")
    if loss.targets == "binary":
        bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
        if bad.size:
            raise ValueError(f"{name} must contain only 0 and 1 (one column of 0/1 per "
                             f"example: multilabel), found {bad.tolist()}")
    checked = check_array(arr, name, dtype, ndim=2)
    if loss.targets == "counts" and (checked < 0).any():
        raise ValueError(f"{name} must be >= 0 for loss={loss.name!r} (counts or rates), "
                         f"found {float(checked.min())}")
    return checked


def check_activation(activation: Any, negative_slope: Any = 0.01) -> tuple[str, float]:
    """A hidden-layer activation name of the registry (:mod:`fastinit.nn.activations`;
    an alias gives its canonical name) and leaky_relu's negative slope."""
    from .nn.activations import get_activation

    activation = get_activation(activation).name
    slope = _as_float(negative_slope, "negative_slope")
    if not math.isfinite(slope):
        raise ValueError(f"negative_slope must be finite, got {negative_slope}")
    return activation, slope


def check_layers_dims(layers_dims: Any, name: str = "layers_dims") -> list[int]:
    """A sequence of at least two positive integers (input size, ..., output size)."""
    if isinstance(layers_dims, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be a sequence of integers, got {layers_dims!r}")
    try:
        items = list(layers_dims)
    except TypeError as exc:
        raise TypeError(f"{name} must be a sequence of integers, got {layers_dims!r}") from exc
    dims = []
    for i, d in enumerate(items):
        if isinstance(d, (bool, np.bool_)):
            raise TypeError(f"{name}[{i}] must be an integer, got {d!r}")
        try:
            d = operator.index(d)
        except TypeError as exc:
            raise TypeError(f"{name}[{i}] must be an integer, got {d!r}") from exc
        if isinstance(d, bool) or not 1 <= d <= MAX_LAYER_SIZE:
            raise ValueError(
                f"{name}[{i}] must be a positive layer size of at most {MAX_LAYER_SIZE}, got {d}")
        dims.append(d)
    for i in range(1, len(dims)):
        if dims[i] * dims[i - 1] > MAX_LAYER_SIZE:
            raise ValueError(f"{name}: layer {i} would have {dims[i] * dims[i - 1]} weights, "
                             f"more than {MAX_LAYER_SIZE}")
    if len(dims) < 2:
        raise ValueError(
            f"{name} must list at least the input and output sizes, got {list(layers_dims)}"
        )
    return dims


#: largest layer size, and largest weight matrix, fastinit accepts (2**31 - 1)
MAX_LAYER_SIZE = 2**31 - 1


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """None, or an integer in [0, 2**32) (what ``numpy.random.RandomState`` takes)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an integer in [0, 2**32) or None, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32) or None, got {seed}")
    return int(seed)


def check_learning_rate(value: Any, dtype: np.dtype, name: str = "learning_rate") -> float:
    """A finite number > 0 that stays finite and non-zero in ``dtype``."""
    value = check_positive_float(value, name)
    with np.errstate(over="ignore", under="ignore"):
        rounded = dtype.type(value)
    if not np.isfinite(rounded) or rounded == 0:
        raise ValueError(f"{name} must be representable in {dtype} (finite and non-zero), "
                         f"got {value}")
    return value


def _as_float(value: Any, name: str) -> float:
    """A real number as a float (an integer too large for a float is an error
    naming ``name``, not an OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite number, got an integer too large for a "
                         f"float ({len(str(abs(math.trunc(value))))} digits)") from None


def check_real(value: Any, name: str, positive: bool = False,
               minimum: float | None = None) -> float:
    """A finite real number (> 0 with ``positive``, >= ``minimum`` if given):
    initializer parameters, noise levels, slopes and the like."""
    value = _as_float(value, name)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value}")
    return value


def check_interval(value: Any, name: str, low: float, high: float = math.inf, *,
                   low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float in [low, high] (open where asked), else ValueError
    (TypeError for what is not a real number): optimizer hyper-parameters,
    probabilities, fractions."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        lo, hi = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
        raise ValueError(f"{name} must be a finite number in {lo}{low:g}, {high:g}{hi}, "
                         f"got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of a few named options (engines, modes, distributions, ...)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_positive_float(value: Any, name: str) -> float:
    """A finite real number > 0 (learning rates and the like)."""
    value = _as_float(value, name)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_count(value: Any, name: str, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (iteration counts, intervals)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be an integer, got {value!r}") from exc
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def physical_memory() -> int | None:
    """Bytes of memory of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(nbytes: float, what: str) -> None:
    """Refuse, before allocating, work that would need more memory than the
    machine has: a ValueError naming ``what`` and the size it would need."""
    total = physical_memory()
    if total is not None and nbytes > total:
        raise ValueError(f"{what} would need {nbytes / 2**30:.1f} GiB of memory, more than "
                         f"this machine's {total / 2**30:.1f} GiB")


def check_callable(value: Any, name: str, signature: str) -> None:
    """None or a callable (progress callbacks and the like)."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable as {signature}, got {value!r}")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_n_threads(value: Any, name: str = "n_threads") -> int:
    """A thread count: an integer >= 1, or -1 for every available CPU."""
    value = check_count(value, name, minimum=-1)
    if value == -1:
        return available_cpus()
    if value == 0:
        raise ValueError(f"{name} must be >= 1, or -1 for all CPUs, got 0")
    return value


def common_float_dtype(*arrays: Any) -> np.dtype:
    """The computation dtype of some arrays: float32 when every one of them is a
    float32 ndarray, float64 otherwise (lists and scalars count as float64)."""
    kinds = {a.dtype if isinstance(a, np.ndarray) else None for a in arrays}
    return np.dtype(np.float32) if kinds == {np.dtype(np.float32)} else np.dtype(np.float64)


def check_parameters(
    parameters: Any, dtype: np.dtype | None = None, name: str = "parameters"
) -> tuple[list[int], dict[str, np.ndarray]]:
    """Validate a ``{"W1": ..., "b1": ..., "WL": ..., "bL": ...}`` dict.

    Returns ``(layers_dims, params)`` where ``params`` holds C-contiguous
    arrays of ``dtype`` (``W`` of shape ``(n_l, n_{l-1})``, ``b`` of shape
    ``(n_l, 1)``).  ``dtype=None`` means :func:`common_float_dtype` of the arrays.
    """
    if not isinstance(parameters, Mapping):
        raise TypeError(f"{name} must be a dict of arrays 'W1', 'b1', ..., got {type(parameters).__name__}")
    numbers = [int(k[1:]) for k in parameters if isinstance(k, str) and k[:1] in ("W", "b")
               and k[1:].isascii() and k[1:].isdigit()]
    n_layers = max(numbers, default=0)
    if n_layers > len(parameters):  # a key like 'W1000000' cannot belong to a complete dict
        n_layers = max(len(parameters) // 2, 1)
    expected = {f"{p}{l}" for l in range(1, n_layers + 1) for p in "Wb"}
    if n_layers == 0 or set(parameters) != expected:
        missing = sorted(expected - set(parameters))[:10]
        extra = sorted(set(map(str, parameters)) - expected)[:10]
        raise ValueError(
            f"{name} must hold exactly 'W1', 'b1', ..., 'WL', 'bL' for some L >= 1; "
            f"missing {missing}, unexpected {extra}"
        )
    if dtype is None:
        for key, value in parameters.items():
            real_array(value, f"{name}[{key!r}]")
        dtype = common_float_dtype(*parameters.values())
    out: dict[str, np.ndarray] = {}
    dims: list[int] = []  # the input size (appended at layer 1), then each layer's size
    for l in range(1, n_layers + 1):
        W = check_array(parameters[f"W{l}"], f"{name}['W{l}']", dtype, ndim=2)
        b = check_array(parameters[f"b{l}"], f"{name}['b{l}']", dtype, ndim=None)
        n_out, n_in = W.shape
        if l > 1 and n_in != dims[-1]:
            raise ValueError(
                f"{name}['W{l}'] must have {dims[-1]} columns (the rows of W{l - 1}), "
                f"got shape {W.shape}"
            )
        if b.shape not in ((n_out, 1), (n_out,)):
            raise ValueError(
                f"{name}['b{l}'] must have shape ({n_out}, 1) to match W{l}, got {b.shape}"
            )
        if l == 1:
            dims.append(n_in)
        dims.append(n_out)
        out[f"W{l}"] = W
        out[f"b{l}"] = b.reshape(n_out, 1)
    return dims, out


def check_features(X: np.ndarray, n_x: int, name: str = "X") -> None:
    """The rows of ``X`` (features) must match the input size of the network."""
    if X.shape[0] != n_x:
        raise ValueError(
            f"{name} must have {n_x} rows (one per input feature, examples as columns), "
            f"got shape {X.shape}"
        )
