"""Hidden activations and the softmax output: kernels vs reference, finite
differences, and the fused training loop vs the reference loop."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.nn import layers
from fastinit.engines import reference
from helpers import assert_close, random_network

ACTIVATIONS = list(fastinit.ACTIVATIONS)  # the registry: a new activation is tested here at once


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 33), (7, 300)])
def test_activation_forward_and_backward(dtype, activation, shape):
    rng = np.random.default_rng(1)
    Z = (rng.standard_normal(shape) * 3).astype(dtype)
    dA = rng.standard_normal(shape).astype(dtype)
    A = layers.activation_forward(Z, activation, 0.2)
    assert_close(A, reference.activation_forward(Z, activation, 0.2), dtype)
    dZ = layers.activation_backward(dA, A, activation, 0.2, Z=Z)
    assert_close(dZ, reference.activation_backward(dA, A, activation, dtype.type(0.2), Z=Z), dtype)


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if a != "relu"])
def test_activation_derivative_matches_finite_differences(activation):
    Z = np.linspace(-3, 3, 61).reshape(1, -1) + 0.013  # away from the leaky kink
    h = 1e-6
    up = layers.activation_forward(Z + h, activation, 0.3)
    down = layers.activation_forward(Z - h, activation, 0.3)
    numeric = (up - down) / (2 * h)
    got = layers.activation_backward(np.ones_like(Z), layers.activation_forward(Z, activation, 0.3),
                                     activation, 0.3, Z=Z)
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("k, m", [(2, 1), (3, 33), (5, 300), (10, 65)])
def test_softmax_and_categorical_losses(dtype, k, m):
    rng = np.random.default_rng(k + m)
    Z = (rng.standard_normal((k, m)) * 4).astype(dtype)
    P = layers.softmax(Z)
    assert_close(P, reference.softmax(Z.astype(np.float64)), dtype)
    assert_close(P.sum(axis=0), np.ones(m), dtype)
    labels = rng.integers(0, k, size=(1, m))
    Y1 = reference.one_hot(labels, k)
    # a loss near 0 is a difference of terms as large as the logits: its
    # absolute error is a few ulp of max|Z|
    atol = 8 * np.finfo(dtype).eps * np.max(np.abs(Z))
    np.testing.assert_allclose(
        layers.cross_entropy_from_logits(Z, labels),
        reference.categorical_cross_entropy_from_logits(Z.astype(np.float64), Y1), rtol=1e-5, atol=atol)
    np.testing.assert_allclose(layers.cross_entropy(P, labels),
                               reference.categorical_cross_entropy(P, Y1), rtol=1e-5, atol=atol)
    assert_close(layers.output_gradient(P, labels), reference.output_gradient(P, Y1.astype(dtype)), dtype)


def test_softmax_is_stable_for_huge_logits():
    Z = np.array([[1000.0, -1000.0], [0.0, -1001.0], [-1000.0, -999.0]])
    P = layers.softmax(Z)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P[:, 0], [1, 0, 0], atol=1e-300)
    loss = layers.cross_entropy_from_logits(Z, [[2, 1]])
    assert loss == pytest.approx((2000 + (2 + np.log(1 + np.exp(-1) + np.exp(-2)))) / 2, rel=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("layers_dims", [[3, 6, 1], [3, 5, 4, 3]], ids=str)
def test_network_passes_and_finite_differences(dtype, activation, layers_dims):
    rng = np.random.default_rng(7)
    params = random_network(layers_dims, rng, dtype)
    k = layers_dims[-1]
    m = 23
    X = rng.standard_normal((layers_dims[0], m)).astype(dtype)
    labels = rng.integers(0, max(k, 2), size=(1, m))
    Y1 = labels if k == 1 else reference.one_hot(labels, k)
    AL, cache = fastinit.forward_propagation(X, params, activation, 0.1)
    AL_ref, cache_ref = reference.forward_propagation(X, params, activation, dtype.type(0.1))
    assert AL.shape == (k, m)
    assert_close(AL, AL_ref, dtype)
    grads = fastinit.backward_propagation(X, labels, cache, activation, 0.1)
    grads_ref = reference.backward_propagation(X, Y1.astype(dtype), cache_ref, activation, dtype.type(0.1))
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], dtype)
    if activation == "relu":
        return  # ReLU's kinks: its finite differences are in test_gradients.py
    # finite differences of the float64 loss; float32 gradients get the float32
    # tolerance of test_gradients.py (3e-4), float64 ones 1e-6
    fd_rtol = 1e-6 if dtype == np.float64 else 3e-4
    params = {key: value.astype(np.float64) for key, value in params.items()}
    X64 = X.astype(np.float64)
    h = 1e-6
    for key in params:
        numeric = np.zeros_like(params[key])
        for idx in np.ndindex(params[key].shape):
            p_up = {k2: v.copy() for k2, v in params.items()}
            p_dn = {k2: v.copy() for k2, v in params.items()}
            p_up[key][idx] += h
            p_dn[key][idx] -= h
            up = reference.cross_entropy_from_logits(reference.forward_propagation(X64, p_up, activation, 0.1)[1][-4], Y1)
            dn = reference.cross_entropy_from_logits(reference.forward_propagation(X64, p_dn, activation, 0.1)[1][-4], Y1)
            numeric[idx] = (up - dn) / (2 * h)
        scale = np.max(np.abs(numeric)) + 1e-12
        np.testing.assert_allclose(grads["d" + key], numeric, rtol=fd_rtol, atol=fd_rtol * scale,
                                   err_msg=key)


@pytest.mark.parametrize("engine", ["fused", "blas"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("k", [1, 3])
def test_fused_training_matches_reference(dtype, activation, k, engine):
    rng = np.random.default_rng(11)
    m = 70
    X = rng.standard_normal((2, m)).astype(dtype)
    labels = rng.integers(0, max(k, 2), size=(1, m))
    dims = [2, 6, 4, k]
    result = fastinit.train(X, labels, dims, init="xavier", learning_rate=0.1, num_iterations=120,
                            record_every=40, dtype=dtype, activation=activation, negative_slope=0.1,
                            engine=engine)
    initial = fastinit.initialize_parameters(dims, "xavier", dtype=dtype)
    Y1 = labels.astype(dtype) if k == 1 else reference.one_hot(labels, k).astype(dtype)
    params_ref, costs_ref = reference.train(X, Y1, initial, dtype.type(0.1), 120, 40,
                                            activation, dtype.type(0.1))
    rtol = 100 * {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}[dtype]
    assert_close(result.costs, costs_ref, dtype, rtol=rtol)
    for key in initial:
        assert_close(result.parameters[key], params_ref[key], dtype, rtol=rtol)
    assert result.predict(X).shape == (1, m) and 0 <= result.accuracy(X, labels) <= 1


def test_blobs_like_three_class_problem_is_learned():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [4, 0], [0, 4]])
    labels = rng.integers(0, 3, 300)
    X = (centers[labels] + rng.standard_normal((300, 2)) * 0.5).T
    r = fastinit.train(X, labels, [2, 8, 3], learning_rate=0.5, num_iterations=2000)
    assert r.accuracy(X, labels) > 0.95
    assert r.predict_proba(X).shape == (3, 300)


def test_the_registry_and_the_kernels_agree():
    from fastinit._core._simd import available

    for module in available().values():
        assert set(module.ACTIVATION_CODES) == set(fastinit.ACTIVATIONS)
        for name, entry in fastinit.ACTIVATIONS.items():
            assert entry.code == module.ACTIVATION_CODES[name]
            assert entry.needs_z == (entry.code in module.NEEDS_Z), name
            assert entry.description


def test_gelu_silu_elu_need_z_where_their_derivative_does():
    Z = np.linspace(-2, 2, 9).reshape(1, -1)
    for name in ("gelu", "gelu_tanh", "silu"):
        with pytest.raises(ValueError, match="its derivative needs Z"):
            layers.activation_backward(np.ones_like(Z), layers.activation_forward(Z, name), name)
    elu = layers.activation_backward(np.ones_like(Z), layers.activation_forward(Z, "elu"), "elu")
    np.testing.assert_allclose(elu, np.where(Z > 0, 1, np.exp(Z)), rtol=1e-15)
    assert fastinit.train(*fastinit.load_dataset()[:2], [2, 5, 1], activation="swish",
                          num_iterations=3).activation == "silu"  # an alias


@pytest.mark.parametrize("name, value", [("gelu", 0.8413447460685429 * 1.0),
                                         ("gelu_tanh", 0.8411919906082768),
                                         ("silu", 0.7310585786300049), ("elu", 1.0)])
def test_published_values_at_one(name, value):
    """f(1) as PyTorch computes it (GELU exact: Phi(1); tanh form; SiLU: sigmoid(1))."""
    assert layers.activation_forward(np.array([[1.0]]), name)[0, 0] == pytest.approx(value, rel=1e-14)
    assert layers.activation_forward(np.array([[-1.0]]), "elu")[0, 0] == pytest.approx(np.exp(-1) - 1)


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "silu", "elu"])
def test_new_activations_train_the_seed_network_in_both_engines(activation):
    X, Y = fastinit.load_dataset()[:2]
    runs = [fastinit.train(X, Y, [2, 10, 5, 1], activation=activation, learning_rate=0.1,
                           num_iterations=2000, engine=engine) for engine in ("fused", "blas")]
    for run in runs:
        assert run.status == "completed" and run.accuracy(X, Y) > 0.9
    np.testing.assert_allclose(runs[1].costs[:2], runs[0].costs[:2], rtol=1e-9)
    assert fastinit.gradient_check(fastinit.initialize_parameters([2, 4, 3, 1]), X[:, :40],
                                   Y[:, :40], activation=activation) < 1e-6


def test_calculate_gain_follows_pytorch():
    assert fastinit.calculate_gain("identity") == 1 and fastinit.calculate_gain("selu") == 0.75
    for name in ("gelu", "gelu_tanh", "silu", "elu"):
        with pytest.raises(ValueError, match="PyTorch documents no gain"):
            fastinit.calculate_gain(name)
