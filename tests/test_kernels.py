"""Every compiled layer kernel against the NumPy reference (fastinit.engines.reference)."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.nn import layers
from fastinit.engines import reference
from helpers import assert_close, random_data, random_network

# (n_out, n_in, m): width-1 layers, one example, ragged and exact blocks, large m
SHAPES = [(1, 1, 1), (1, 3, 1), (4, 1, 2), (10, 2, 300), (5, 10, 31), (5, 10, 32),
          (5, 10, 33), (7, 9, 65), (3, 4, 1000), (17, 13, 257), (1, 1, 4099)]


@pytest.fixture
def rng():
    return np.random.default_rng(20261129)


@pytest.mark.parametrize("n_out, n_in, m", SHAPES)
def test_linear_forward(rng, dtype, n_out, n_in, m):
    W = rng.standard_normal((n_out, n_in)).astype(dtype)
    b = rng.standard_normal((n_out, 1)).astype(dtype)
    A = rng.standard_normal((n_in, m)).astype(dtype)
    Z = layers.linear_forward(A, W, b)
    assert Z.dtype == dtype and Z.shape == (n_out, m)
    assert_close(Z, reference.linear_forward(A, W, b), dtype)


@pytest.mark.parametrize("n_out, n_in, m", SHAPES)
def test_linear_backward(rng, dtype, n_out, n_in, m):
    W = rng.standard_normal((n_out, n_in)).astype(dtype)
    dZ = rng.standard_normal((n_out, m)).astype(dtype)
    A = rng.standard_normal((n_in, m)).astype(dtype)
    got = layers.linear_backward(dZ, A, W)
    want = reference.linear_backward(dZ, A, W)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape
        assert_close(g, w, dtype)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (10, 300), (2, 3, 4), (5,), ()])
def test_relu_and_sigmoid_forward(rng, dtype, shape):
    Z = (rng.standard_normal(shape) * 5).astype(dtype)
    for ours, ref in ((fastinit.relu, reference.relu), (fastinit.sigmoid, reference.sigmoid)):
        out = ours(Z)
        assert out.shape == np.shape(Z) and out.dtype == dtype
        assert_close(out, ref(Z), dtype)


def test_sigmoid_extreme_logits(dtype):
    Z = np.array([[-1e4, -800, -100, -40, -1e-9, 0, 1e-9, 40, 100, 800, 1e4]], dtype=dtype)
    with np.errstate(over="ignore"):
        want = reference.sigmoid(Z.astype(np.float64))
    got = fastinit.sigmoid(Z)
    assert np.all((got >= 0) & (got <= 1))
    # exactly representable limits come out exact; the rest within the dtype's tolerance
    np.testing.assert_allclose(got, want, rtol=10 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    assert got[0, 5] == 0.5 and got[0, -1] == 1.0 and got[0, 0] < np.finfo(dtype).tiny


@pytest.mark.parametrize("n, m", [(1, 1), (4, 33), (10, 300)])
def test_activation_backward(rng, dtype, n, m):
    dA = rng.standard_normal((n, m)).astype(dtype)
    A_relu = reference.relu(rng.standard_normal((n, m))).astype(dtype)
    A_sig = reference.sigmoid(rng.standard_normal((n, m))).astype(dtype)
    assert_close(layers.relu_backward(dA, A_relu), reference.relu_backward(dA, A_relu), dtype)
    assert_close(layers.sigmoid_backward(dA, A_sig), reference.sigmoid_backward(dA, A_sig), dtype)


@pytest.mark.parametrize("m", [1, 2, 300, 1001])
def test_output_gradient_and_losses(rng, dtype, m):
    Z = (rng.standard_normal((1, m)) * 3).astype(dtype)
    A = reference.sigmoid(Z).astype(dtype)
    Y = (rng.random((1, m)) < 0.5).astype(np.int64)
    assert_close(layers.output_gradient(A, Y), reference.output_gradient(A, Y.astype(dtype)), dtype)
    assert_close(layers.binary_cross_entropy(A, Y), reference.binary_cross_entropy(A, Y), dtype)
    assert_close(layers.binary_cross_entropy_from_logits(Z, Y),
                 reference.binary_cross_entropy_from_logits(Z.astype(np.float64), Y), dtype)
    assert_close(fastinit.compute_loss(A, Y), reference.binary_cross_entropy(A, Y), dtype)


def test_losses_at_saturation():
    Y = np.array([[0, 1, 1, 0]])
    A = np.array([[1.0, 1.0, 0.5, 0.5]])  # a confident wrong answer, a confident right one
    assert layers.binary_cross_entropy(A, Y) == np.inf  # as the seed's compute_loss
    assert reference.binary_cross_entropy(A, Y) == np.inf
    Z = np.array([[800.0, 800.0, 0.0, 0.0]])
    expected = (800 + 0 + 2 * np.log(2)) / 4
    assert layers.binary_cross_entropy_from_logits(Z, Y) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("shape", [(1, 1), (10, 2), (5, 1), (7,)])
def test_gradient_descent_update(rng, dtype, shape):
    p = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    before = p.copy()
    out = layers.gradient_descent_update(p, g, 0.37)
    np.testing.assert_array_equal(p, before)  # input untouched
    assert_close(out, reference.gradient_descent_update(p, g, dtype.type(0.37)), dtype)


LAYERS = [[2, 1], [1, 1, 1], [2, 10, 5, 1], [3, 1, 4, 1], [5, 33, 1], [4, 8, 8, 8, 8, 1]]


@pytest.mark.parametrize("layers_dims", LAYERS, ids=str)
@pytest.mark.parametrize("m", [1, 32, 45, 300])
def test_forward_and_backward_propagation(rng, dtype, layers_dims, m):
    params = random_network(layers_dims, rng, dtype)
    X, Y = random_data(layers_dims[0], m, rng, dtype)
    AL, cache = fastinit.forward_propagation(X, params)
    AL_ref, cache_ref = reference.forward_propagation(X, params)
    assert len(cache) == len(cache_ref) == 4 * (len(layers_dims) - 1)
    assert_close(AL, AL_ref, dtype)
    for got, want in zip(cache, cache_ref):
        assert got.dtype == dtype
        assert_close(got, want, dtype)
    grads = fastinit.backward_propagation(X, Y, cache)
    grads_ref = reference.backward_propagation(X, Y.astype(dtype), cache_ref)
    assert set(grads) == set(grads_ref)
    for key in grads_ref:
        assert_close(grads[key], grads_ref[key], dtype)
    updated = fastinit.update_parameters(params, grads, 0.05)
    updated_ref = reference.update_parameters(params, grads_ref, dtype.type(0.05))
    for key in params:
        assert updated[key].dtype == dtype
        assert_close(updated[key], updated_ref[key], dtype)


def test_seed_gradient_keys_for_three_layers(rng):
    params = random_network([2, 10, 5, 1], rng)
    X, Y = random_data(2, 20, rng)
    grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, params)[1])
    assert set(grads) == {"dz3", "dW3", "db3", "da2", "dz2", "dW2", "db2",
                          "da1", "dz1", "dW1", "db1"}


def test_read_only_and_non_contiguous_inputs_are_accepted(rng):
    params = random_network([3, 4, 1], rng)
    X_big = rng.standard_normal((6, 40))
    X = X_big[::2, ::3]                     # strided view, not contiguous
    assert not X.flags.c_contiguous
    X_f = np.asfortranarray(X)
    X_ro = X.copy()
    X_ro.flags.writeable = False
    for k in params:
        params[k].flags.writeable = False
    want = reference.forward_propagation(np.ascontiguousarray(X), params)[0]
    for variant in (X, X_f, X_ro):
        assert_close(fastinit.predict_proba(variant, params), want, np.float64)
    W = np.asfortranarray(params["W1"])
    assert_close(layers.linear_forward(X, W, params["b1"][:, 0]),
                 reference.linear_forward(X, W, params["b1"]), np.float64)


def test_mixed_dtypes_compute_in_float64(rng):
    params = random_network([2, 3, 1], rng, np.float32)
    X64 = rng.standard_normal((2, 5))
    assert fastinit.predict_proba(X64, params).dtype == np.float32  # parameters decide
    params["W1"] = params["W1"].astype(np.float64)
    assert fastinit.predict_proba(X64, params).dtype == np.float64
    assert layers.linear_forward(X64.astype(np.float32), params["W1"], params["b1"]).dtype == np.float64
    assert fastinit.relu(np.arange(3)).dtype == np.float64


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_simd_modules_agree_to_rounding(dtype, rtol):
    """The AVX2 and AVX-512 modules fuse multiply-adds (FMA) and the baseline
    module does not, and AVX-512 sums twice as many lanes per parameter;
    otherwise every module performs the same operations on the same blocks
    and chunks.  Over 500 iterations of the seed's training their costs and
    parameters agree to 1e-12 relative in float64 (1e-5 in float32: a few ulp
    of float32 grown over the run), and each module repeats its own bits."""
    from fastinit.engines.spec import network_spec, pack, workspace
    from fastinit._core._simd import available
    from fastinit.nn.optimizers import SGD

    modules = available()
    if len(modules) < 2:
        pytest.skip("this CPU runs only the baseline kernels")
    X, Y = (a.astype(dtype) for a in fastinit.load_dataset()[:2])
    dims = [2, 10, 5, 1]

    def run(module):
        theta, layout, act_size = pack(fastinit.initialize_parameters(dims, dtype=dtype), dims)
        work = workspace(theta.shape[0], layout, act_size, 300, 1, dtype)
        cost = module.train_full_batch(net=network_spec(dims, 1, 0.0, 0), work=work, X=X, Y=Y,
                                       theta=theta, hyper=SGD(lr=0.01).hyper(),
                                       state=np.zeros((1, theta.size), dtype), first_step=0,
                                       n_iter=500, record_first=True, n_threads=1)
        z = np.empty((10, 300), dtype)
        module.linear_forward(theta[:20].reshape(10, 2).copy(), theta[20:30].copy(), X, z)
        return cost, theta, z

    results = {name: run(module) for name, module in modules.items()}
    base = results["baseline"]
    for name, result in results.items():
        np.testing.assert_allclose(result[0], base[0], rtol=rtol, atol=0, err_msg=name)
        for got, want in zip(result[1:], base[1:]):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max(),
                                       err_msg=name)
        again = run(modules[name])
        assert again[0] == result[0]
        np.testing.assert_array_equal(again[1], result[1])
        np.testing.assert_array_equal(again[2], result[2])


def test_cross_entropy_from_logits_is_within_an_ulp_of_numpy():
    """The kernels' own log1p (vectorisable, fdlibm's algorithm on [0, 1])
    against NumPy's, per example, over the whole range of logits."""
    z = np.concatenate([np.linspace(-40, 40, 801), -np.logspace(-300, 1.5, 100),
                        np.logspace(-300, 1.5, 100), [0.0, 700.0, -700.0]])
    for y in (0.0, 1.0):
        got = np.array([layers.cross_entropy_from_logits(np.array([[v]]), np.array([[y]]))
                        for v in z])
        want = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
        np.testing.assert_allclose(got, want, rtol=2 * np.finfo(float).eps, atol=0)
