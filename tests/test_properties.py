"""Property-based tests (hypothesis) over the public entry points.

Every generated input either works and matches the NumPy reference, or is
rejected with a ValueError / TypeError; nothing else (no other exception, no
crash, no silent garbage) is allowed.  Inputs vary in shape (including 0 and
1), dtype (float16/32/64, signed and unsigned ints, bool, complex, object),
memory layout (C, Fortran, strided, reversed, read-only, memory-mapped) and
values (NaN, +-inf, huge, denormal).

The number of examples per test is MAX_EXAMPLES (overridable with the
environment variable FASTINIT_HYPOTHESIS_EXAMPLES); with 10 tests the default
runs 2,000 generated cases in well under a minute.
"""
from __future__ import annotations

import itertools
import os
import tempfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fastinit  # noqa: E402
from fastinit.nn import layers  # noqa: E402
from fastinit.engines import reference

MAX_EXAMPLES = int(os.environ.get("FASTINIT_HYPOTHESIS_EXAMPLES", "200"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REJECTED = (ValueError, TypeError)
MEMMAP_DIR = tempfile.mkdtemp(prefix="fastinit-hypothesis-")
_MEMMAP_NAMES = itertools.count()

FLOATS = [np.float64, np.float32]
ALL_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
              np.complex128, np.object_]
SPECIAL = [np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, -5e-324, 1e-310, 0.0, -0.0]


def _layout(data, arr):
    """The same values in another memory layout."""
    kind = data.draw(st.sampled_from(["c", "f", "strided", "reversed", "readonly", "memmap"]))
    if kind == "f":
        return np.asfortranarray(arr)
    if kind == "strided" and arr.ndim:
        big = np.zeros(tuple(2 * n for n in arr.shape), dtype=arr.dtype)
        view = big[tuple(slice(None, None, 2) for _ in arr.shape)]
        view[...] = arr
        return view
    if kind == "reversed" and arr.ndim:
        return np.ascontiguousarray(arr[::-1])[::-1]
    if kind == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    if kind == "memmap" and arr.dtype != object and arr.size:
        path = os.path.join(MEMMAP_DIR, f"m{next(_MEMMAP_NAMES)}.dat")
        mm = np.memmap(path, dtype=arr.dtype, mode="w+", shape=arr.shape)
        mm[...] = arr
        mm.flush()
        return np.memmap(path, dtype=arr.dtype, mode="r", shape=arr.shape)
    return arr


def _finite_array(data, shape, dtype):
    values = hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_nan=False, width=32))
    return _layout(data, data.draw(values).astype(dtype))


def _any_array(data, shape):
    """An array of an arbitrary dtype, sometimes with special values."""
    dtype = data.draw(st.sampled_from(ALL_DTYPES))
    arr = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, width=32)))
    if arr.size and data.draw(st.booleans()):
        flat = arr.reshape(-1)
        flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(st.sampled_from(SPECIAL))
    with np.errstate(all="ignore"):
        out = arr.astype(dtype) if dtype is not np.object_ else arr.astype(object)
    return _layout(data, out)


@st.composite
def networks(draw, max_depth=4, max_width=6, dtype=None):
    n_layers = draw(st.integers(1, max_depth))
    dims = [draw(st.integers(1, max_width)) for _ in range(n_layers)] + [1]
    dtype = dtype or draw(st.sampled_from(FLOATS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = (rng.standard_normal((dims[l], dims[l - 1])) * 0.8).astype(dtype)
        params[f"b{l}"] = (rng.standard_normal((dims[l], 1)) * 0.1).astype(dtype)
    return dims, params


def _tol(dtype):
    return {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 2e-4}[np.dtype(dtype)]


def _close(a, b, dtype):
    scale = float(np.max(np.abs(b), initial=1.0))
    np.testing.assert_allclose(a, b, rtol=_tol(dtype), atol=_tol(dtype) * scale)


# ---------------------------------------------------------------------------
# valid inputs in any layout: results match the reference
# ---------------------------------------------------------------------------

@SETTINGS
@given(data=st.data(), net=networks(), m=st.integers(1, 70))
def test_network_passes_match_reference_in_any_layout(data, net, m):
    dims, params = net
    dtype = params["W1"].dtype
    X = _finite_array(data, (dims[0], m), dtype)
    Y = _layout(data, data.draw(hnp.arrays(np.int64, (1, m), elements=st.integers(0, 1))))
    laid_out = {k: _layout(data, v) for k, v in params.items()}
    AL, cache = fastinit.forward_propagation(X, laid_out)
    AL_ref, cache_ref = reference.forward_propagation(np.asarray(X), params)
    _close(AL, AL_ref, dtype)
    grads = fastinit.backward_propagation(X, Y, cache)
    grads_ref = reference.backward_propagation(np.asarray(X), np.asarray(Y, dtype), cache_ref)
    for key in grads_ref:
        _close(grads[key], grads_ref[key], dtype)
    new = fastinit.update_parameters(laid_out, grads, 0.1)
    new_ref = reference.update_parameters(params, grads_ref, dtype.type(0.1))
    for key in params:
        _close(new[key], new_ref[key], dtype)
    assert np.array_equal(fastinit.predict_dec(laid_out, X), AL > 0.5)


@SETTINGS
@given(data=st.data(), net=networks(max_depth=3, dtype=np.float64), m=st.integers(1, 40),
       n_iter=st.integers(0, 30), record_every=st.integers(1, 12))
def test_train_matches_reference(data, net, m, n_iter, record_every):
    dims, _ = net
    X = _finite_array(data, (dims[0], m), np.float64)
    Y = data.draw(hnp.arrays(np.int64, (1, m), elements=st.integers(0, 1)))
    init = data.draw(st.sampled_from(["he", "xavier", "zeros"]))
    result = fastinit.train(X, Y, dims, init=init, learning_rate=0.1, num_iterations=n_iter,
                            record_every=record_every)
    initial = fastinit.initialize_parameters(dims, init)
    params_ref, costs_ref = reference.train(np.asarray(X), Y, initial, 0.1, n_iter, record_every)
    assert result.status == "completed" and result.iterations_run == n_iter
    _close(result.costs, costs_ref, np.float64)
    for key in initial:
        _close(result.parameters[key], params_ref[key], np.float64)


@SETTINGS
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
def test_activations_on_anything(data, shape):
    Z = _any_array(data, shape)
    for ours, ref in ((fastinit.relu, reference.relu), (fastinit.sigmoid, reference.sigmoid)):
        try:
            out = ours(Z)
        except REJECTED:
            continue
        assert out.shape == np.shape(Z)
        with np.errstate(all="ignore"):
            want = ref(np.asarray(Z, dtype=out.dtype))
        _close(out, want, out.dtype)


# ---------------------------------------------------------------------------
# arbitrary inputs: works (and matches) or is rejected with ValueError/TypeError
# ---------------------------------------------------------------------------

shapes2d = st.tuples(st.integers(0, 5), st.integers(0, 7))


@SETTINGS
@given(data=st.data(), w_shape=shapes2d, a_shape=shapes2d, b_shape=st.sampled_from(["col", "flat", "row", "bad"]))
def test_linear_layer_on_anything(data, w_shape, a_shape, b_shape):
    W = _any_array(data, w_shape)
    A = _any_array(data, a_shape)
    n_b = {"col": (w_shape[0], 1), "flat": (w_shape[0],), "row": (1, w_shape[0]),
           "bad": (w_shape[0] + 1, 1)}[b_shape]
    b = _any_array(data, n_b)
    try:
        Z = layers.linear_forward(A, W, b)
    except REJECTED:
        pass
    else:
        with np.errstate(all="ignore"):
            want = reference.linear_forward(np.asarray(A, Z.dtype), np.asarray(W, Z.dtype),
                                            np.asarray(b, Z.dtype))
        if np.isfinite(want).all():
            _close(Z, want, Z.dtype)
    dZ = _any_array(data, (w_shape[0], a_shape[1]))
    try:
        dA, dW, db = layers.linear_backward(dZ, A, W)
    except REJECTED:
        return
    with np.errstate(all="ignore"):
        wants = reference.linear_backward(np.asarray(dZ, dW.dtype), np.asarray(A, dW.dtype),
                                          np.asarray(W, dW.dtype))
    for got, want in zip((dA, dW, db), wants):
        if np.isfinite(want).all():
            _close(got, want, got.dtype)


@SETTINGS
@given(data=st.data(), n=st.integers(0, 3), m=st.integers(0, 9))
def test_losses_and_output_gradient_on_anything(data, n, m):
    A = _any_array(data, (n, m))
    Y = _any_array(data, data.draw(st.sampled_from([(n, m), (m,), (1, m + 1), (m, 1)])))
    for fn in (layers.binary_cross_entropy, layers.binary_cross_entropy_from_logits,
               layers.output_gradient, fastinit.compute_loss):
        try:
            fn(A, Y)
        except REJECTED:
            pass


@SETTINGS
@given(data=st.data(), net=networks(max_depth=3), m=st.integers(0, 12))
def test_network_functions_on_anything(data, net, m):
    dims, params = net
    mutated = dict(params)
    action = data.draw(st.sampled_from(["none", "drop", "extra", "reshape", "poison", "dtype"]))
    key = data.draw(st.sampled_from(sorted(params)))
    if action == "drop":
        del mutated[key]
    elif action == "extra":
        mutated[data.draw(st.sampled_from(["W9", "c1", "b", 3]))] = params[key]
    elif action == "reshape":
        mutated[key] = _any_array(data, (data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))))
    elif action == "poison":
        mutated[key] = params[key].copy()
        with np.errstate(over="ignore"):
            mutated[key].reshape(-1)[0] = data.draw(st.sampled_from(SPECIAL))
    elif action == "dtype":
        mutated[key] = _any_array(data, params[key].shape)
    X = _any_array(data, data.draw(st.sampled_from([(dims[0], m), (dims[0] + 1, m), (m,)])))
    Y = _any_array(data, (1, m))
    calls = [
        lambda: fastinit.forward_propagation(X, mutated),
        lambda: fastinit.predict_proba(X, mutated),
        lambda: fastinit.predict_dec(mutated, X),
        lambda: fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, mutated)[1]),
        lambda: fastinit.update_parameters(mutated, {"d" + k: v for k, v in params.items()}, 0.5),
    ]
    for call in calls:
        try:
            call()
        except REJECTED:
            pass


@SETTINGS
@given(data=st.data(), m=st.integers(0, 8), n_x=st.integers(0, 3))
def test_train_on_anything(data, m, n_x):
    X = _any_array(data, (n_x, m))
    Y = _any_array(data, data.draw(st.sampled_from([(1, m), (m,), (2, m), (1, m + 1)])))
    dims = data.draw(st.one_of(
        st.lists(st.integers(-1, 4), min_size=0, max_size=4),
        st.just([n_x, 3, 1]),
        st.sampled_from(["abc", None, 5, [2.5, 1], [True, 1]]),
    ))
    kwargs = {
        "learning_rate": data.draw(st.sampled_from([0.1, 0, -1, np.nan, np.inf, "x", None, np.float32(0.5)])),
        "num_iterations": data.draw(st.sampled_from([0, 3, -1, 2.5, np.int64(2), None])),
        "record_every": data.draw(st.sampled_from([1, 2, 0, -3, 1.0])),
        "init": data.draw(st.sampled_from(["he", "zeros", "random", "xavier", "HE", 3])),
        "seed": data.draw(st.sampled_from([0, 3, None, -1, 2**32, 1.5, np.int32(4)])),
        "dtype": data.draw(st.sampled_from(["float64", np.float32, np.float16, "int32", "x", object])),
        "on_divergence": data.draw(st.sampled_from(["warn", "raise", "ignore"])),
    }
    try:
        result = fastinit.train(X, Y, dims, **kwargs)
    except REJECTED:
        return
    except fastinit.TrainingDivergedError as exc:
        result = exc.result
    for value in result.parameters.values():
        assert np.isfinite(value).all()


@SETTINGS
@given(dims=st.one_of(st.lists(st.integers(-2, 6), max_size=5), st.sampled_from(["ab", 3, None, [1.5, 2], [2, True]])),
       init=st.sampled_from(["he", "zeros", "random", "xavier", "lecun", None]),
       seed=st.sampled_from([0, 3, None, -1, 2**32, np.uint32(7), 1.0]),
       dtype=st.sampled_from([np.float64, np.float32, np.float16, int, "float64", "f4", "complex128"]))
def test_initializers_on_anything(dims, init, seed, dtype):
    try:
        params = fastinit.initialize_parameters(dims, init, seed=seed, dtype=dtype)
    except REJECTED:
        return
    assert len(params) == 2 * (len(dims) - 1)
    for l in range(1, len(dims)):
        assert params[f"W{l}"].shape == (dims[l], dims[l - 1])
        assert params[f"b{l}"].shape == (dims[l], 1)


@SETTINGS
@given(n=st.one_of(st.integers(-2, 50), st.sampled_from([2.0, "10", None])),
       noise=st.sampled_from([None, 0.0, 0.1, -1.0, np.nan, "a"]),
       factor=st.sampled_from([0.5, 0.0, 1.0, -0.5, np.nan, 2]),
       seed=st.sampled_from([None, 0, 5, -1]))
def test_make_circles_on_anything(n, noise, factor, seed):
    try:
        X, Y = fastinit.make_circles(n, noise=noise, factor=factor, seed=seed)
    except REJECTED:
        return
    assert X.shape == (2, n) and Y.shape == (1, n)
    assert np.isfinite(X).all()


@SETTINGS
@given(data=st.data(), shape=st.sampled_from([(3, 2), (1, 2), (2,), (0, 0), ()]))
def test_gradient_descent_update_on_anything(data, shape):
    param = _any_array(data, shape)
    grad = _any_array(data, data.draw(st.sampled_from([shape, (3, 3), (6,)])))
    lr = data.draw(st.sampled_from([0.5, 0, -1, np.nan, "x", np.float64(2)]))
    try:
        out = layers.gradient_descent_update(param, grad, lr)
    except REJECTED:
        return
    with np.errstate(all="ignore"):
        want = np.asarray(param, out.dtype) - out.dtype.type(lr) * np.asarray(grad, out.dtype)
    if np.isfinite(want).all():
        _close(out, want, out.dtype)
