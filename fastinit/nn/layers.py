"""Layer-level operations backed by the compiled kernels.

Each function validates its inputs, allocates its outputs and calls one kernel
of :mod:`fastinit._core` with the GIL released.  Arrays are
column-per-example, as in the seed notebook: activations have shape
``(n_units, m)``.  Hidden layers use one of ``ACTIVATIONS``; the output layer
is a sigmoid (one unit, labels 0/1) or a softmax (k units, labels 0 .. k-1).  The computation dtype is float32 when every array argument is
float32, float64 otherwise; :mod:`fastinit.engines.reference` holds the same math in
plain NumPy.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._core._simd import kernels as _kernels
from .activations import kernel_args
from .._validation import (
    check_array,
    check_labels,
    check_learning_rate,
    real_array,
)
from .._validation import common_float_dtype as _dtype_of


def _same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")


def _apply(kernel, *inputs: np.ndarray, args: tuple = ()) -> np.ndarray:
    """Run a kernel ``kernel(*inputs, out, *args)`` on validated arrays."""
    out = np.empty_like(inputs[0])
    kernel(*inputs, out, *args)
    return out





def activation_forward(Z: ArrayLike, activation: str = "relu",
                       negative_slope: float = 0.01) -> np.ndarray:
    """A hidden-layer activation, elementwise.

    Parameters
    ----------
    Z : array_like of any shape
        Pre-activations; must be finite.
    activation : str, default "relu"
        A name of :data:`fastinit.nn.activations.ACTIVATIONS`.
    negative_slope : float, default 0.01
        Slope of leaky_relu for negative inputs.

    Returns
    -------
    ndarray of the shape of ``Z``
        float32 for float32 input, float64 otherwise.
    """
    args = kernel_args(activation, negative_slope)
    arr = real_array(Z, "Z")
    dtype = _dtype_of(arr)
    if arr.size == 0:
        return np.empty(arr.shape, dtype=dtype)
    flat = check_array(arr.reshape(1, -1), "Z", dtype)
    return _apply(_kernels.activation_forward, flat, args=args).reshape(arr.shape)


def relu(Z: ArrayLike) -> np.ndarray:
    """Rectified linear unit, ``max(Z, 0)``, elementwise (any shape)."""
    return activation_forward(Z, "relu")


def sigmoid(Z: ArrayLike) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-Z))``, elementwise (any shape)."""
    return activation_forward(Z, "sigmoid")


def leaky_relu(Z: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """``Z`` where positive, ``negative_slope * Z`` elsewhere (any shape)."""
    return activation_forward(Z, "leaky_relu", negative_slope)


def tanh(Z: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent, elementwise (any shape)."""
    return activation_forward(Z, "tanh")


def softmax(Z: ArrayLike) -> np.ndarray:
    """Column-wise softmax of logits ``Z`` of shape (k, m): each column sums to 1."""
    Z = check_array(Z, "Z", _dtype_of(Z))
    return _apply(_kernels.softmax_forward, Z)


def activation_backward(dA: ArrayLike, A: ArrayLike, activation: str = "relu",
                        negative_slope: float = 0.01, Z: ArrayLike | None = None) -> np.ndarray:
    """Gradient through a hidden-layer activation, ``dZ = dA * f'(Z)``.

    Parameters
    ----------
    dA : array_like of shape (n, m)
        Gradient with respect to the activation's output.
    A : array_like of shape (n, m)
        The activation's output ``f(Z)``; f' is computed from it (relu:
        ``A > 0``, leaky_relu: 1 or the slope, tanh: ``1 - A²``, sigmoid:
        ``A (1 - A)``, elu: 1 or ``A + 1``, linear: 1).
    activation : str, default "relu"
        A name of :data:`fastinit.nn.activations.ACTIVATIONS`.
    negative_slope : float, default 0.01
    Z : array_like of shape (n, m), optional
        The pre-activation, required by the activations whose derivative
        needs it (``gelu``, ``gelu_tanh``, ``silu``).

    Returns
    -------
    dZ : ndarray of shape (n, m)
    """
    code, slope = kernel_args(activation, negative_slope)
    needs_z = code in _kernels.NEEDS_Z
    if needs_z and Z is None:
        raise ValueError(f"activation {activation!r}: its derivative needs Z, the pre-activation")
    dtype = _dtype_of(dA, A, Z) if needs_z else _dtype_of(dA, A)
    dA = check_array(dA, "dA", dtype)
    A = check_array(A, "A", dtype)
    _same_shape(dA, A, "dA", "A")
    f_of = A  # what the kernel computes f' from: A, or Z where f' needs it
    if needs_z:
        f_of = check_array(Z, "Z", dtype)
        _same_shape(dA, f_of, "dA", "Z")
    return _apply(_kernels.activation_backward, dA, f_of, args=(code, slope))


def relu_backward(dA: ArrayLike, A: ArrayLike) -> np.ndarray:
    """Gradient through a ReLU: ``dZ = dA * (A > 0)`` (see :func:`activation_backward`)."""
    return activation_backward(dA, A, "relu")


def sigmoid_backward(dA: ArrayLike, A: ArrayLike) -> np.ndarray:
    """Gradient through a sigmoid: ``dZ = dA * A * (1 - A)``."""
    return activation_backward(dA, A, "sigmoid")


def linear_forward(A_prev: ArrayLike, W: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Linear part of a layer, ``Z = W @ A_prev + b``.

    Parameters
    ----------
    A_prev : array_like of shape (n_in, m)
        Activations of the previous layer (or the input ``X``).
    W : array_like of shape (n_out, n_in)
        Weights.
    b : array_like of shape (n_out, 1) or (n_out,)
        Biases.

    Returns
    -------
    Z : ndarray of shape (n_out, m)
    """
    dtype = _dtype_of(A_prev, W, b)
    W = check_array(W, "W", dtype)
    A_prev = check_array(A_prev, "A_prev", dtype)
    b = check_array(b, "b", dtype, ndim=None)
    if A_prev.shape[0] != W.shape[1]:
        raise ValueError(
            f"A_prev must have {W.shape[1]} rows (the columns of W), got shape {A_prev.shape}"
        )
    if b.shape not in ((W.shape[0], 1), (W.shape[0],)):
        raise ValueError(f"b must have shape ({W.shape[0]}, 1) to match W, got {b.shape}")
    return _linear_forward(A_prev, W, b)


def _linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`linear_forward` on validated arrays of one dtype."""
    Z = np.empty((W.shape[0], A_prev.shape[1]), dtype=W.dtype)
    _kernels.linear_forward(W, b.reshape(-1), A_prev, Z)
    return Z


def linear_backward(
    dZ: ArrayLike, A_prev: ArrayLike, W: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a linear layer from the gradient of its output.

    Parameters
    ----------
    dZ : array_like of shape (n_out, m)
        Gradient of the cost with respect to ``Z = W @ A_prev + b``.
    A_prev : array_like of shape (n_in, m)
        The layer's input.
    W : array_like of shape (n_out, n_in)
        The layer's weights.

    Returns
    -------
    dA_prev : ndarray of shape (n_in, m)
        ``W.T @ dZ``.
    dW : ndarray of shape (n_out, n_in)
        ``dZ @ A_prev.T``.
    db : ndarray of shape (n_out, 1)
        ``dZ`` summed over examples.
    """
    dtype = _dtype_of(dZ, A_prev, W)
    W = check_array(W, "W", dtype)
    dZ = check_array(dZ, "dZ", dtype)
    A_prev = check_array(A_prev, "A_prev", dtype)
    n_out, n_in = W.shape
    if dZ.shape[0] != n_out:
        raise ValueError(f"dZ must have {n_out} rows (the rows of W), got shape {dZ.shape}")
    if A_prev.shape != (n_in, dZ.shape[1]):
        raise ValueError(
            f"A_prev must have shape ({n_in}, {dZ.shape[1]}) to match W and dZ, "
            f"got {A_prev.shape}"
        )
    return _linear_backward(dZ, A_prev, W)


def _linear_backward(dZ: np.ndarray, A_prev: np.ndarray,
                     W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`linear_backward` on validated arrays of one dtype."""
    n_out, n_in = W.shape
    n_grads = n_out * n_in + n_out
    dA_prev = np.empty_like(A_prev)
    lanes = np.empty(n_grads * _kernels.LANE_COUNT, dtype=W.dtype)
    grads = np.empty((_kernels.chunking(dZ.shape[1])[1], n_grads), dtype=W.dtype)
    _kernels.linear_backward(W, dZ, A_prev, dA_prev, lanes, grads)
    return dA_prev, grads[0, :n_out * n_in].reshape(n_out, n_in), grads[0, n_out * n_in:].reshape(n_out, 1)


def _outputs_and_labels(AL: ArrayLike, Y: ArrayLike,
                        name: str = "AL") -> tuple[np.ndarray, np.ndarray]:
    """The validated outputs ``AL`` (named ``name``) and labels ``Y`` of a loss."""
    dtype = _dtype_of(AL)
    AL = check_array(AL, name, dtype)
    return AL, check_labels(Y, AL.shape[1], dtype, n_outputs=AL.shape[0])


def output_gradient(AL: ArrayLike, Y: ArrayLike) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the output logits.

    For a sigmoid output (one row) or a softmax output (k rows) this is
    ``(AL - Y) / m`` with ``Y`` one-hot.

    Parameters
    ----------
    AL : array_like of shape (n_L, m)
        Output probabilities (sigmoid for n_L = 1, softmax columns for n_L >= 2).
    Y : array_like of shape (1, m) or (m,)
        Labels: 0/1 for a sigmoid output, 0 .. n_L-1 for a softmax output.

    Returns
    -------
    dZL : ndarray of shape (n_L, m)
    """
    AL, Y = _outputs_and_labels(AL, Y)
    return _apply(_kernels.output_gradient, AL, Y)


def cross_entropy(AL: ArrayLike, Y: ArrayLike) -> float:
    """Mean cross-entropy of output probabilities (the seed's ``compute_loss``).

    One row: ``-mean(Y log AL + (1 - Y) log(1 - AL))``; k rows (softmax):
    ``-mean(log AL[Y])``.  Only the true class's term is evaluated for each
    example, so a confident right answer costs 0 and a confident wrong one
    (probability exactly 0) costs ``inf``, as in the seed notebook.  Training
    uses :func:`cross_entropy_from_logits` instead, which stays finite.

    Parameters
    ----------
    AL : array_like of shape (n_L, m)
        Output probabilities, in [0, 1].
    Y : array_like of shape (1, m) or (m,)
        Labels (see :func:`output_gradient`).

    Returns
    -------
    float
    """
    loss = _kernels.network_loss(AL, Y)  # None unless AL and Y are ready for the kernel
    if loss is not None:
        return loss
    AL, Y = _outputs_and_labels(AL, Y)
    if AL.min() < 0 or AL.max() > 1:
        raise ValueError(
            f"AL must hold probabilities in [0, 1], got values in [{AL.min()}, {AL.max()}]"
        )
    kernel = (_kernels.binary_cross_entropy if AL.shape[0] == 1
              else _kernels.categorical_cross_entropy)
    return float(kernel(AL, Y))


def cross_entropy_from_logits(ZL: ArrayLike, Y: ArrayLike) -> float:
    """Mean cross-entropy of ``sigmoid(ZL)`` (one row) or ``softmax(ZL)`` (k
    rows), computed stably from the logits.

    One row uses ``log(1 + e^z) - y z = max(z, 0) - y z + log1p(e^-|z|)``,
    k rows ``log sum_j e^(z_j - max) + max - z_y``: finite for every finite
    logit, where the seed's ``-log(sigmoid(z))`` gives ``inf`` once
    ``sigmoid(z)`` rounds to 0 or 1.

    Parameters
    ----------
    ZL : array_like of shape (n_L, m)
        Output logits.
    Y : array_like of shape (1, m) or (m,)
        Labels (see :func:`output_gradient`).

    Returns
    -------
    float
    """
    ZL, Y = _outputs_and_labels(ZL, Y, name="ZL")
    kernel = (_kernels.binary_cross_entropy_from_logits if ZL.shape[0] == 1
              else _kernels.categorical_cross_entropy_from_logits)
    return float(kernel(ZL, Y))


#: the binary names (the same functions: the output's row count decides)
binary_cross_entropy = cross_entropy
binary_cross_entropy_from_logits = cross_entropy_from_logits


def gradient_descent_update(param: ArrayLike, grad: ArrayLike, learning_rate: float) -> np.ndarray:
    """One gradient-descent step, ``param - learning_rate * grad`` (a new array).

    Parameters
    ----------
    param, grad : array_like of the same shape
    learning_rate : float
        A finite number > 0.

    Returns
    -------
    ndarray of the shape of ``param``
    """
    dtype = _dtype_of(param, grad)
    learning_rate = check_learning_rate(learning_rate, dtype)
    param = check_array(param, "param", dtype, ndim=None)
    grad = check_array(grad, "grad", dtype, ndim=None)
    _same_shape(param, grad, "param", "grad")
    out = param.copy()  # check_array may return the caller's array itself
    _kernels.gradient_step(out.reshape(-1), grad.reshape(-1), learning_rate)
    return out
