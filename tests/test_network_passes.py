"""The whole-network passes behind the drop-in functions (``_kernels_network.pxi``).

Arrays that are already what the kernels read go straight to the compiled
pass; anything else is validated and converted in Python first.  Both ways
must give the same bits, the passes must not depend on the thread count, and
every input the fast checks refuse must still get its clear error.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.engines import reference
from fastinit._core._simd import kernels
from helpers import assert_close, random_network

NETWORKS = [[2, 1], [1, 1, 1], [2, 10, 5, 1], [3, 7, 4], [5, 33, 2], [4, 8, 8, 8, 8, 1]]
# one example, within a block, exact blocks of either dtype, ragged tails, two chunks
EXAMPLES = [1, 31, 128, 129, 256, 300, 4500]


def _labels(rng, k, m):
    return rng.integers(0, max(k, 2), size=(1, m))


def _slow(a):
    """The same values in a layout the fast checks refuse (Fortran order)."""
    return np.asfortranarray(np.repeat(a, 2, axis=1)[:, ::2]) if a.ndim == 2 else a.tolist()


@pytest.mark.parametrize("dims", NETWORKS, ids=str)
@pytest.mark.parametrize("m", EXAMPLES)
def test_fast_and_validating_paths_agree_to_the_bit(dtype, dims, m):
    rng = np.random.default_rng(m)
    params = random_network(dims, rng, dtype)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = _labels(rng, dims[-1], m)
    AL, cache = fastinit.forward_propagation(X, params)
    AL_slow, cache_slow = fastinit.forward_propagation(_slow(X), {k: _slow(v) for k, v in params.items()})
    for fast, slow in zip(cache, cache_slow):
        np.testing.assert_array_equal(fast, slow)
    grads = fastinit.backward_propagation(X, Y, cache)
    grads_slow = fastinit.backward_propagation(_slow(X), Y.tolist(), tuple(_slow(c) for c in cache))
    assert list(grads) == list(grads_slow)
    for key in grads:
        np.testing.assert_array_equal(grads[key], grads_slow[key])
    new = fastinit.update_parameters(params, grads, 0.1)
    new_slow = fastinit.update_parameters({k: _slow(v) for k, v in params.items()},
                                          {k: _slow(v) for k, v in grads.items()}, 0.1)
    for key in params:
        assert new[key].dtype == dtype and new[key].shape == params[key].shape
        np.testing.assert_array_equal(new[key], new_slow[key])
    assert fastinit.compute_loss(AL, Y) == fastinit.compute_loss(_slow(AL), Y.tolist())


@pytest.mark.parametrize("dims", [[2, 10, 5, 1], [3, 7, 4]], ids=str)
def test_passes_against_the_numpy_reference(dtype, dims):
    rng = np.random.default_rng(5)
    m = 4500
    params = random_network(dims, rng, dtype)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = _labels(rng, dims[-1], m)
    Y_ref = Y.astype(dtype) if dims[-1] == 1 else reference.one_hot(Y[0], dims[-1]).astype(dtype)
    AL, cache = fastinit.forward_propagation(X, params)
    AL_ref, cache_ref = reference.forward_propagation(X, params)
    for got, want in zip(cache, cache_ref):
        assert_close(got, want, dtype)
    grads = fastinit.backward_propagation(X, Y, cache)
    grads_ref = reference.backward_propagation(X, Y_ref, cache_ref)
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], dtype)
    loss_ref = (reference.binary_cross_entropy(AL_ref, Y_ref) if dims[-1] == 1
                else reference.categorical_cross_entropy(AL_ref, Y_ref))
    assert_close(fastinit.compute_loss(AL, Y), loss_ref, dtype)


@pytest.mark.parametrize("m", [4097, 9000, 70_000])
def test_passes_give_the_same_bits_for_any_thread_count(dtype, m):
    rng = np.random.default_rng(1)
    dims = [3, 9, 6, 1]
    params = random_network(dims, rng, dtype)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = _labels(rng, 1, m)
    relu = kernels.ACTIVATION_CODES["relu"]
    runs = [(kernels.network_forward(X, params, relu, 0.0, True, threads),
             kernels.network_forward(X, params, relu, 0.0, False, threads)) for threads in (1, 2, 3)]
    grads = [kernels.network_backward(X, Y, runs[0][0], relu, 0.0, threads) for threads in (1, 2, 3)]
    for (cache, AL), g in zip(runs[1:], grads[1:]):
        for a, b in zip(cache, runs[0][0]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(AL, runs[0][0][-3])
        for key in g:
            np.testing.assert_array_equal(g[key], grads[0][key])
    # the public functions (every CPU for large m) give these bits too
    np.testing.assert_array_equal(fastinit.predict_proba(X, params), runs[0][1])


def test_gradient_of_a_multi_chunk_problem_equals_the_fused_loop(dtype):
    rng = np.random.default_rng(2)
    dims, m = [2, 6, 3, 1], 9000
    X = rng.standard_normal((2, m)).astype(dtype)
    Y = (X[0] * X[1] > 0).astype(np.int64).reshape(1, -1)
    params = fastinit.initialize_parameters(dims, "he", dtype=dtype)
    grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, params)[1])
    stepped = fastinit.update_parameters(params, grads, 0.5)
    trained = fastinit.train(X, Y, dims, init="he", num_iterations=1, dtype=dtype,
                             learning_rate=0.5, n_threads=2).parameters
    for key in params:
        np.testing.assert_array_equal(trained[key], stepped[key])


@pytest.mark.parametrize("dims, activation, m", [
    ([3, 5, 4], "gelu", 300),          # Z kept for f' in the fused loop; softmax output
    ([2, 7, 1, 3], "tanh", 389),       # a unit-wide hidden layer; ragged tails of both dtypes
    ([4, 8, 8, 8, 8, 1], "leaky_relu", 256),
], ids=str)
def test_drop_in_passes_and_the_fused_loop_share_the_forward_walk(dtype, dims, activation, m):
    # one fused step equals forward, backward and update of the drop-in functions
    # to the bit: both walk the blocks forward with _forward_walk
    rng = np.random.default_rng(6)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = _labels(rng, dims[-1], m)
    params = fastinit.initialize_parameters(dims, "he", dtype=dtype)
    AL, cache = fastinit.forward_propagation(X, params, activation)
    np.testing.assert_array_equal(fastinit.predict_proba(X, params, activation), AL)
    grads = fastinit.backward_propagation(X, Y, cache, activation)
    stepped = fastinit.update_parameters(params, grads, 0.5)
    trained = fastinit.train(X, Y, dims, init="he", num_iterations=1, dtype=dtype,
                             learning_rate=0.5, activation=activation,
                             engine="fused").parameters
    for key in params:
        np.testing.assert_array_equal(trained[key], stepped[key])


@pytest.mark.parametrize("labels", [np.int32, np.int64, np.uint8, np.float32, np.float64, bool])
def test_every_label_dtype_gives_the_same_gradient(labels):
    rng = np.random.default_rng(3)
    for dims in ([2, 4, 1], [2, 4, 3]):
        k = 2 if labels is bool else max(dims[-1], 2)
        params = random_network(dims, rng)
        X = rng.standard_normal((2, 50))
        Y = rng.integers(0, k, size=50)
        cache = fastinit.forward_propagation(X, params)[1]
        want = fastinit.backward_propagation(X, Y.tolist(), cache)
        for shape in ((50,), (1, 50)):
            got = fastinit.backward_propagation(X, Y.astype(labels).reshape(shape), cache)
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])


def test_no_input_is_copied_into_the_cache():
    rng = np.random.default_rng(4)
    params = random_network([2, 3, 1], rng)
    X = rng.standard_normal((2, 10))
    _, cache = fastinit.forward_propagation(X, params)
    assert cache[2] is params["W1"] and cache[7] is params["b2"]


BAD = np.array([[0.5, np.nan, 0.1]])


@pytest.mark.parametrize("call, exc, match", [
    (lambda p, X, Y, c: fastinit.forward_propagation(np.where(X > 0, np.inf, X), p),
     ValueError, "X must contain only finite"),
    (lambda p, X, Y, c: fastinit.forward_propagation(X, {**p, "W2": p["W2"] * np.nan}),
     ValueError, r"parameters\['W2'\] must contain only finite"),
    (lambda p, X, Y, c: fastinit.forward_propagation(X[:1], p), ValueError, "X must have 2 rows"),
    (lambda p, X, Y, c: fastinit.forward_propagation(X, {**p, "b1": p["b1"][:2]}),
     ValueError, r"b1'\] must have shape \(3, 1\)"),
    (lambda p, X, Y, c: fastinit.backward_propagation(X, Y + 1, c), ValueError, "labels 0 and 1"),
    (lambda p, X, Y, c: fastinit.backward_propagation(X, Y * 0.5, c), ValueError, "labels 0 and 1"),
    (lambda p, X, Y, c: fastinit.backward_propagation(X, Y[:, :3], c), ValueError, r"shape \(1, 4\)"),
    (lambda p, X, Y, c: fastinit.backward_propagation(X, Y, c[:5] + (c[5][:, :2],) + c[6:]),
     ValueError, "cache A2 must have shape"),
    (lambda p, X, Y, c: fastinit.backward_propagation(X, Y, c[:1] + (c[1] * np.nan,) + c[2:]),
     ValueError, "cache A1 must contain only finite"),
    (lambda p, X, Y, c: fastinit.update_parameters(p, {"dW1": p["W1"]}, 0.1),
     ValueError, "grads is missing 'db1'"),
    (lambda p, X, Y, c: fastinit.update_parameters(
        p, {**fastinit.backward_propagation(X, Y, c), "dW2": p["W2"] * np.inf}, 0.1),
     ValueError, r"grads\['dW2'\] must contain only finite"),
    (lambda p, X, Y, c: fastinit.update_parameters(p, fastinit.backward_propagation(X, Y, c), -1.0),
     ValueError, "learning_rate must be a finite number > 0"),
    (lambda p, X, Y, c: fastinit.update_parameters(p, fastinit.backward_propagation(X, Y, c), np.nan),
     ValueError, "learning_rate must be a finite number > 0"),
    (lambda p, X, Y, c: fastinit.update_parameters(
        {k: v.astype(np.float32) for k, v in p.items()},
        {k: v.astype(np.float32) for k, v in fastinit.backward_propagation(X, Y, c).items()}, 1e-60),
     ValueError, "representable in float32"),
    (lambda p, X, Y, c: fastinit.compute_loss(c[-3] + 1, Y), ValueError, r"probabilities in \[0, 1\]"),
    (lambda p, X, Y, c: fastinit.compute_loss(BAD, np.zeros((1, 3))), ValueError, "only finite"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_inputs_the_fast_checks_refuse_get_clear_errors(call, exc, match):
    rng = np.random.default_rng(6)
    p = random_network([2, 3, 2, 1], rng)
    X = rng.standard_normal((2, 4))
    Y = np.array([[0, 1, 1, 0]])
    cache = fastinit.forward_propagation(X, p)[1]
    with pytest.raises(exc, match=match):
        call(p, X, Y, cache)
