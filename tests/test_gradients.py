"""Backward passes against central finite differences of the loss.

The loss is evaluated in float64 with the NumPy reference; gradients come
from fastinit's compiled backward pass.  In float64 the central difference
has truncation error O(h^2) and rounding error O(eps / h): with h = 1e-6 both
are ~1e-10 relative to the gradient's scale, so we ask for 1e-7.  float32
gradients are compared against the same float64 differences with the float32
tolerance of a few thousand ulp (3e-4), since the float32 forward pass itself
carries ~1e-7 relative error per operation.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.nn import layers
from fastinit.engines import reference
from helpers import random_data, random_network

FD_RTOL = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 3e-4}


def _loss64(params, X, Y):
    ZL = reference.forward_propagation(X, params)[1][-4]
    return reference.binary_cross_entropy_from_logits(ZL, Y)


def _central_differences(params, X, Y, h=1e-6):
    params = {k: v.astype(np.float64) for k, v in params.items()}
    grads = {}
    for key, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + h
            up = _loss64(params, X, Y)
            value[idx] = old - h
            down = _loss64(params, X, Y)
            value[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads["d" + key] = g
    return grads


@pytest.mark.parametrize("layers_dims", [[2, 1], [2, 10, 5, 1], [3, 1, 1], [4, 6, 6, 6, 1]], ids=str)
@pytest.mark.parametrize("m", [1, 7, 40])
def test_backward_propagation_matches_finite_differences(dtype, layers_dims, m):
    rng = np.random.default_rng(m * 100 + len(layers_dims))
    params = random_network(layers_dims, rng, dtype)
    X, Y = random_data(layers_dims[0], m, rng, dtype)
    cache = fastinit.forward_propagation(X, params)[1]
    grads = fastinit.backward_propagation(X, Y, cache)
    numeric = _central_differences(params, X.astype(np.float64), Y)
    for key, want in numeric.items():
        scale = np.max(np.abs(want)) + 1e-12
        np.testing.assert_allclose(grads[key], want, rtol=FD_RTOL[dtype],
                                   atol=FD_RTOL[dtype] * scale, err_msg=key)


@pytest.mark.parametrize("m", [1, 33])
def test_layer_backward_kernels_match_finite_differences(dtype, m):
    """sigmoid_backward, relu_backward and linear_backward each against the
    derivative of a scalar function of their output, ``sum(G * f(x))``."""
    rng = np.random.default_rng(m)
    n_out, n_in, h = 3, 4, 1e-6
    W = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal((n_out, 1))
    A = rng.standard_normal((n_in, m))
    G = rng.standard_normal((n_out, m))

    def objective(W_, b_, A_):
        return np.sum(G * reference.sigmoid(reference.linear_forward(A_, W_, b_)))

    Z = reference.linear_forward(A, W, b)
    S = fastinit.sigmoid(Z.astype(dtype))
    dZ = layers.sigmoid_backward(G.astype(dtype), S)
    dA, dW, db = layers.linear_backward(dZ, A.astype(dtype), W.astype(dtype))
    for name, arr, got in (("W", W, dW), ("b", b, db), ("A", A, dA)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            args = {"W": W.copy(), "b": b.copy(), "A": A.copy()}
            args[name][idx] += h
            up = objective(args["W"], args["b"], args["A"])
            args[name][idx] -= 2 * h
            numeric[idx] = (up - objective(args["W"], args["b"], args["A"])) / (2 * h)
        scale = np.max(np.abs(numeric))
        np.testing.assert_allclose(got, numeric, rtol=FD_RTOL[dtype], atol=FD_RTOL[dtype] * scale,
                                   err_msg=name)
    # relu: derivative of sum(G * relu(Z)) w.r.t. Z away from the kink
    Zr = Z + np.sign(Z) * 0.1
    dZr = layers.relu_backward(G.astype(dtype), fastinit.relu(Zr.astype(dtype)))
    np.testing.assert_array_equal(dZr, np.where(Zr > 0, G, 0).astype(dtype))


def test_output_gradient_is_derivative_of_loss_wrt_logits():
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((1, 9)) * 2
    Y = (rng.random((1, 9)) < 0.5).astype(np.float64)
    h = 1e-6
    numeric = np.zeros_like(Z)
    for i in range(Z.shape[1]):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[0, i] += h
        Zm[0, i] -= h
        numeric[0, i] = (layers.binary_cross_entropy_from_logits(Zp, Y)
                         - layers.binary_cross_entropy_from_logits(Zm, Y)) / (2 * h)
    got = layers.output_gradient(fastinit.sigmoid(Z), Y)
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-9)


def test_fused_training_step_equals_one_explicit_gradient_step(dtype):
    """One iteration of the fused kernel == forward, backward, update."""
    X, Y = fastinit.load_dataset()[:2]
    dims = [2, 10, 5, 1]
    params = fastinit.initialize_parameters(dims, "he", dtype=dtype)
    grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, params)[1])
    stepped = fastinit.update_parameters(params, grads, 0.01)
    trained = fastinit.train(X, Y, dims, init="he", num_iterations=1, dtype=dtype).parameters
    for key in params:  # same kernels, same block order: identical bits
        np.testing.assert_array_equal(trained[key], stepped[key])
