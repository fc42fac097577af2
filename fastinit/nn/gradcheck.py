"""Gradient checking: backpropagation against central finite differences."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_array, check_parameters, check_positive_float
from .layers import cross_entropy_from_logits
from .network import backward_propagation, forward_propagation


def gradient_check(
    parameters: Mapping[str, ArrayLike],
    X: ArrayLike,
    Y: ArrayLike,
    epsilon: float = 1e-7,
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> float:
    """Relative difference between backprop gradients and central differences.

    ``||grad - approx|| / (||grad|| + ||approx||)`` over all parameters, where
    ``approx[i] = (J(θ + ε e_i) - J(θ - ε e_i)) / (2ε)`` and ``J`` is the mean
    cross-entropy (the course's gradient-checking exercise).  Values below
    ~1e-7 mean the gradients are right; above ~1e-3, something is wrong (or
    a ReLU kink lies within ε of some pre-activation).  Computed in float64.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., as for :func:`fastinit.forward_propagation`.
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
        Labels (0/1, or 0 .. k-1 for a softmax output).
    epsilon : float, default 1e-7
        Step of the central differences.
    activation, negative_slope
        The hidden activation.

    Returns
    -------
    float
        Costs ``2 * n_parameters`` forward passes: meant for small networks.
    """
    epsilon = check_positive_float(epsilon, "epsilon")
    params = {k: v.copy() for k, v in check_parameters(parameters, np.dtype(np.float64))[1].items()}
    X = check_array(X, "X", np.dtype(np.float64))

    def cost(p):
        return cross_entropy_from_logits(forward_propagation(X, p, activation, negative_slope)[1][-4], Y)

    grads = backward_propagation(X, Y, forward_propagation(X, params, activation, negative_slope)[1],
                                 activation, negative_slope)
    exact_parts: list[np.ndarray] = []
    approx_parts: list[float] = []
    for key, value in params.items():
        flat = value.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + epsilon
            up = cost(params)
            flat[i] = old - epsilon
            down = cost(params)
            flat[i] = old
            approx_parts.append((up - down) / (2 * epsilon))
        exact_parts.append(grads["d" + key].reshape(-1))
    exact = np.concatenate(exact_parts)
    approx = np.array(approx_parts)
    denominator = np.linalg.norm(exact) + np.linalg.norm(approx)
    return float(np.linalg.norm(exact - approx) / denominator) if denominator else 0.0
