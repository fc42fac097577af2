"""Pure-NumPy reference of every computation fastinit compiles.

This module is the specification a reader can check in one sitting: the tests
compare each compiled kernel against the function of the same name here, and
the benchmarks use :func:`train` as the NumPy baseline (written as a competent
NumPy user would: vectorised over examples, cost evaluated only where it is
recorded).  It performs no input validation: call it with clean arrays.

Networks are LINEAR->RELU x (L-1) -> LINEAR->SIGMOID with column-per-example
data, exactly as in the seed notebook.
"""
from __future__ import annotations

import numpy as np


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def linear_forward(A_prev, W, b):
    return np.dot(W, A_prev) + b.reshape(-1, 1)


def linear_backward(dZ, A_prev, W):
    """Returns ``(dA_prev, dW, db)``."""
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T), np.sum(dZ, axis=1, keepdims=True)


def relu_backward(dA, A):
    return np.multiply(dA, A > 0)


def sigmoid_backward(dA, A):
    return dA * (A * (1 - A))


def output_gradient(AL, Y):
    return 1.0 / AL.shape[1] * (AL - Y)


def binary_cross_entropy(AL, Y):
    """The seed's ``compute_loss``: ``inf`` where a wrong label has probability 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(AL), Y) + np.multiply(-np.log(1 - AL), 1 - Y)
    return 1.0 / AL.shape[1] * np.nansum(logprobs)


def binary_cross_entropy_from_logits(ZL, Y):
    """Mean of ``log(1 + e^z) - y z``, finite for any finite logit."""
    return 1.0 / ZL.shape[1] * np.sum(np.logaddexp(0, ZL) - Y * ZL)


def gradient_descent_update(param, grad, learning_rate):
    return param - learning_rate * grad


def n_layers(parameters):
    return len(parameters) // 2


def forward_propagation(X, parameters):
    """Returns ``(AL, cache)`` with ``cache = (Z1, A1, W1, b1, ..., ZL, AL, WL, bL)``."""
    cache = []
    A = X
    L = n_layers(parameters)
    for l in range(1, L + 1):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = linear_forward(A, W, b)
        A = relu(Z) if l < L else sigmoid(Z)
        cache += [Z, A, W, b]
    return A, tuple(cache)


def backward_propagation(X, Y, cache):
    """Gradients of the mean cross-entropy, keyed as in the seed notebook:
    ``dzL, dWL, dbL, daL-1, dzL-1, ..., dW1, db1``."""
    L = len(cache) // 4
    grads = {}
    dZ = output_gradient(cache[4 * L - 3], Y)
    for l in range(L, 0, -1):
        A_prev = X if l == 1 else cache[4 * (l - 1) - 3]
        dA_prev, dW, db = linear_backward(dZ, A_prev, cache[4 * l - 2])
        grads[f"dz{l}"], grads[f"dW{l}"], grads[f"db{l}"] = dZ, dW, db
        if l > 1:
            grads[f"da{l - 1}"] = dA_prev
            dZ = relu_backward(dA_prev, A_prev)
    return grads


def update_parameters(parameters, grads, learning_rate):
    return {
        key: gradient_descent_update(value, grads["d" + key], learning_rate)
        for key, value in parameters.items()
    }


def train(X, Y, parameters, learning_rate, num_iterations, record_every=1000):
    """Full-batch gradient descent; returns ``(parameters, costs)`` where
    ``costs[k]`` is the cost before iteration ``k * record_every``."""
    parameters = {k: np.array(v) for k, v in parameters.items()}
    L = n_layers(parameters)
    costs = []
    for i in range(num_iterations):
        AL, cache = forward_propagation(X, parameters)
        if i % record_every == 0:
            costs.append(binary_cross_entropy_from_logits(cache[4 * L - 4], Y))
        grads = backward_propagation(X, Y, cache)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, np.array(costs)
