"""Whole-network forward and backward passes, loss, update and prediction.

The network is LINEAR->ACTIVATION repeated ``L - 1`` times (ReLU by default;
also leaky_relu, tanh, sigmoid, linear), then LINEAR->SIGMOID for one output
unit (labels 0/1) or LINEAR->SOFTMAX for k >= 2 output units (labels
0 .. k-1), for any depth ``L >= 1`` and any layer sizes.  The function names and return values
are the seed notebook's (``init_utils``), generalised from its three layers to
``L``; every step runs in the compiled kernels of :mod:`fastinit.nn.layers`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._core.threads import threads_used
from .._core._simd import kernels as _kernels
from .._validation import (
    available_cpus,
    check_array,
    check_features,
    check_labels,
    check_parameters,
    check_learning_rate,
)
from .activations import kernel_args
from .layers import cross_entropy as compute_loss

__all__ = [
    "forward_propagation",
    "backward_propagation",
    "compute_loss",
    "update_parameters",
    "predict_proba",
    "predict_labels",
    "predict_dec",
    "accuracy_of",
]

Cache = tuple  # (Z1, A1, W1, b1, ..., ZL, AL, WL, bL)


# The drop-in functions call the kernels' whole-network passes
# (``_kernels_network.pxi``) on the caller's objects first: for arrays that are
# already what the kernels read (C-contiguous float32/float64 of matching
# shapes, finite, valid labels) the pass checks them in C and runs, with no
# copy.  Anything else makes the pass return None; the inputs are then
# validated and converted here, which raises the error that names the bad
# argument, and the pass runs on the converted arrays.

def _threads(X: Any) -> int:
    """Threads of a pass over ``X``: every CPU once X has two chunks of
    examples or more (the passes give the same bits for any thread count)."""
    if type(X) is np.ndarray and X.ndim == 2 and X.shape[1] > _kernels.CHUNK_EXAMPLES:
        return threads_used(X.shape[1], _CPUS)
    return 1


_CPUS = available_cpus()


def _converted(result: Any, what: str) -> Any:
    """The result of a pass on validated inputs (never None)."""
    if result is None:  # pragma: no cover - a disagreement between the two validations
        raise RuntimeError(f"fastinit: the compiled {what} refused validated inputs; "
                           "please report this as a bug")
    return result


def _checked_network(X: ArrayLike, parameters: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    dims, params = check_parameters(parameters)
    X = check_array(X, "X", params["W1"].dtype)
    check_features(X, dims[0])
    return X, params


def _named(what: str, run: Any, *args: Any) -> Any:
    """``run(*args)``, a FloatingPointError naming the public function ``what``."""
    try:
        return run(*args)
    except FloatingPointError as exc:
        raise FloatingPointError(f"{what}: {exc}") from None


def _network_pass(X: ArrayLike, parameters: Any, act_args: tuple[int, float], cache: bool,
                  what: str = "forward_propagation"):
    """The forward cache (``cache``) or the output probabilities."""
    out = _named(what, _kernels.network_forward, X, parameters, *act_args, cache, _threads(X))
    if out is None:
        X, params = _checked_network(X, parameters)
        out = _converted(_named(what, _kernels.network_forward, X, params, *act_args, cache,
                                _threads(X)), "forward pass")
    return out


def forward_propagation(
    X: ArrayLike,
    parameters: Mapping[str, ArrayLike],
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> tuple[np.ndarray, Cache]:
    """Forward pass: LINEAR->ACTIVATION x (L-1) -> LINEAR->SIGMOID (or SOFTMAX).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Input data, one example per column.
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"`` with ``W[l]`` of shape
        (n_l, n_{l-1}) and ``b[l]`` of shape (n_l, 1).  ``n_L = 1`` gives a
        sigmoid output, ``n_L >= 2`` a softmax over the columns.  float32
        arrays throughout give a float32 computation, anything else float64.
    activation : str, default "relu"
        Activation of the hidden layers: a name of
        :data:`fastinit.nn.activations.ACTIVATIONS`.
    negative_slope : float, default 0.01
        Slope of leaky_relu for negative inputs.

    Returns
    -------
    AL : ndarray of shape (n_L, m)
        Output probabilities.
    cache : tuple
        ``(Z1, A1, W1, b1, ..., ZL, AL, WL, bL)``, for
        :func:`backward_propagation`.  For L = 3 this is the seed's cache.

    Raises
    ------
    FloatingPointError
        When finite inputs overflow: a layer's pre-activations hold inf or NaN
        (the layer is named).  The drop-in functions never return a quiet
        inf or NaN, and never a label computed from one.
    """
    cache = _network_pass(X, parameters, kernel_args(activation, negative_slope), True)
    return cache[-3], cache


def _checked_cache(cache: Any) -> tuple[list[int], dict[str, np.ndarray]]:
    """Validate the parameters held in a forward-pass cache."""
    if not isinstance(cache, (tuple, list)) or len(cache) == 0 or len(cache) % 4:
        raise ValueError(
            "cache must be the tuple (Z1, A1, W1, b1, ..., ZL, AL, WL, bL) returned by "
            f"forward_propagation, got a {type(cache).__name__}"
            + (f" of length {len(cache)}" if isinstance(cache, (tuple, list)) else "")
        )
    L = len(cache) // 4
    raw = {}
    for l in range(1, L + 1):
        raw[f"W{l}"], raw[f"b{l}"] = cache[4 * l - 2], cache[4 * l - 1]
    return check_parameters(raw, name="cache")


def _checked_activations(cache: Cache, dims: list[int], m: int, dtype: np.dtype) -> list[np.ndarray]:
    """The activations A1 .. AL of a cache, each of shape (n_l, m)."""
    activations = []
    for l in range(1, len(dims)):
        A = check_array(cache[4 * l - 3], f"cache A{l}", dtype)
        if A.shape != (dims[l], m):
            raise ValueError(
                f"cache A{l} must have shape ({dims[l]}, {m}) to match X, got {A.shape}")
        activations.append(A)
    return activations


def backward_propagation(
    X: ArrayLike,
    Y: ArrayLike,
    cache: Cache,
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> dict[str, np.ndarray]:
    """Backward pass: gradients of the mean cross-entropy.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Input data of the forward pass.
    Y : array_like of shape (1, m)
        Labels: 0/1 for a sigmoid output, 0 .. n_L-1 for a softmax output.
    cache : tuple
        As returned by :func:`forward_propagation`.
    activation, negative_slope
        The hidden activation the cache was computed with.

    Returns
    -------
    dict
        Keyed as in the seed: ``"dz3"``, ``"dW3"``, ``"db3"``, ``"da2"``,
        ``"dz2"``, ..., ``"dW1"``, ``"db1"`` (for any depth L: ``dz{l}``,
        ``dW{l}`` and ``db{l}`` for every layer, ``da{l}`` for hidden layers).

    Raises
    ------
    FloatingPointError
        When the gradients overflow to inf or NaN.
    """
    act_args = kernel_args(activation, negative_slope)
    grads = _named("backward_propagation", _kernels.network_backward, X, Y, cache, *act_args,
                   _threads(X))
    if grads is not None:
        return grads
    dims, params = _checked_cache(cache)
    X = check_array(X, "X", params["W1"].dtype)
    check_features(X, dims[0])
    activations = _checked_activations(cache, dims, X.shape[1], X.dtype)
    labels = check_labels(Y, X.shape[1], X.dtype, n_outputs=dims[-1])
    if dims[-1] > 1:  # one-hot back to label values, which the pass reads
        labels = np.argmax(labels, axis=0).astype(X.dtype)
    L = len(dims) - 1
    needs_z = act_args[0] in _kernels.NEEDS_Z
    clean = []
    for l in range(1, L + 1):
        Z = (check_array(cache[4 * l - 4], f"cache Z{l}", X.dtype) if needs_z and l < L else None)
        if Z is not None and Z.shape != activations[l - 1].shape:
            raise ValueError(f"cache Z{l} must have shape {activations[l - 1].shape} to match "
                             f"A{l}, got {Z.shape}")
        clean += [Z, activations[l - 1], params[f"W{l}"], params[f"b{l}"]]
    return _converted(_named("backward_propagation", _kernels.network_backward, X, labels,
                             tuple(clean), *act_args, _threads(X)), "backward pass")


def update_parameters(
    parameters: Mapping[str, ArrayLike], grads: Mapping[str, ArrayLike], learning_rate: float
) -> dict[str, np.ndarray]:
    """One step of gradient descent on every parameter.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``.
    grads : dict
        At least ``"dW1"``, ``"db1"``, ..., ``"dWL"``, ``"dbL"`` of matching
        shapes (the output of :func:`backward_propagation`).
    learning_rate : float
        A finite number > 0.

    Returns
    -------
    dict
        New arrays ``parameter - learning_rate * gradient``; the inputs are not
        modified.

    Raises
    ------
    FloatingPointError
        When a new parameter overflows to inf or NaN.
    """
    if type(learning_rate) is float:
        updated = _named("update_parameters", _kernels.network_update, parameters, grads,
                         learning_rate)
        if updated is not None:
            return updated
    _, params = check_parameters(parameters)
    learning_rate = check_learning_rate(learning_rate, params["W1"].dtype)
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict of arrays 'dW1', 'db1', ..., got {type(grads).__name__}")
    steps = {}
    for key, value in params.items():
        if "d" + key not in grads:
            raise ValueError(f"grads is missing 'd{key}' for parameter '{key}'")
        grad = check_array(grads["d" + key], f"grads['d{key}']", value.dtype, ndim=None)
        allowed = [value.shape] + ([(value.shape[0],)] if key.startswith("b") else [])
        if grad.shape not in allowed:
            raise ValueError(
                f"grads['d{key}'] must have the shape of parameters['{key}'] {value.shape}, "
                f"got {grad.shape}"
            )
        steps["d" + key] = grad.reshape(value.shape)
    return _converted(_named("update_parameters", _kernels.network_update, params, steps,
                             float(learning_rate)), "update")


def predict_proba(
    X: ArrayLike,
    parameters: Mapping[str, ArrayLike],
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> np.ndarray:
    """Output probabilities ``AL`` of shape (n_L, m) for ``X`` of shape (n_x, m)
    (the forward pass without its cache, on every CPU for large m).  Raises
    ``FloatingPointError`` when the network's values overflow (see
    :func:`forward_propagation`)."""
    return _network_pass(X, parameters, kernel_args(activation, negative_slope), False,
                         "predict_proba")


def predict_labels(
    X: ArrayLike,
    parameters: Mapping[str, ArrayLike],
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> np.ndarray:
    """Predicted labels (int64) of shape (1, m): for a sigmoid output 1 where
    the probability > 0.5, else 0; for a softmax output the most probable class."""
    AL = predict_proba(X, parameters, activation, negative_slope)
    if AL.shape[0] == 1:
        return (AL > 0.5).astype(np.int64)
    return np.argmax(AL, axis=0).astype(np.int64).reshape(1, -1)


def accuracy_of(labels: np.ndarray, Y: ArrayLike, n_outputs: int) -> float:
    """Fraction of predicted ``labels`` (1, m) equal to the labels in ``Y``."""
    one_hot = check_labels(Y, labels.shape[1], np.dtype(np.float64), n_outputs=n_outputs)
    truth = one_hot if n_outputs == 1 else np.argmax(one_hot, axis=0).reshape(1, -1)
    return float(np.mean(labels == truth))


def predict_dec(parameters: Mapping[str, ArrayLike], X: ArrayLike) -> np.ndarray:
    """Boolean predictions ``AL > 0.5`` of shape (1, m), as the seed's
    ``predict_dec`` (argument order included: parameters first).  For a softmax
    output, the predicted labels (see :func:`predict_labels`)."""
    AL = predict_proba(X, parameters)
    return AL > 0.5 if AL.shape[0] == 1 else np.argmax(AL, axis=0).reshape(1, -1)

