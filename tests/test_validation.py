"""Bad input is rejected before any compiled call, with a message naming the argument."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.nn import layers

X = np.random.default_rng(0).standard_normal((2, 6))
Y = np.array([[0, 1, 1, 0, 1, 0]])
DIMS = [2, 3, 1]
PARAMS = fastinit.initialize_parameters(DIMS)


def _with(X_=X, Y_=Y, dims=DIMS, **kw):
    return fastinit.train(X_, Y_, dims, **{"num_iterations": 2, **kw})


def _nan(a, where=(0, 0), value=np.nan):
    a = np.array(a, dtype=np.float64)
    a[where] = value
    return a


@pytest.mark.parametrize(
    "call, exc, match",
    [
        # data
        (lambda: _with(X_=X[0]), ValueError, "X must be a 2-D"),
        (lambda: _with(X_=X.T), ValueError, "X must have 2 rows"),
        (lambda: _with(X_=np.empty((2, 0)), Y_=np.empty((1, 0))), ValueError, "X must not be empty"),
        (lambda: _with(X_=_nan(X)), ValueError, "X must contain only finite"),
        (lambda: _with(X_=_nan(X, value=np.inf)), ValueError, "X must contain only finite"),
        (lambda: _with(X_=X.astype(complex)), TypeError, "X must hold real numbers"),
        (lambda: _with(X_=X.astype(object)), TypeError, "X must hold real numbers"),
        (lambda: _with(X_=[["a", "b"]]), TypeError, "X must hold real numbers"),
        (lambda: _with(X_=np.full((2, 6), 1e300)), None, None),  # huge but finite: fine
        (lambda: _with(X_=np.full((2, 6), 1e300), dtype="float32"), ValueError, "X overflows float32"),
        # labels
        (lambda: _with(Y_=Y * 2), ValueError, r"Y must contain only the labels 0 and 1, found \[2\]"),
        (lambda: _with(Y_=Y - 0.5), ValueError, "labels 0 and 1"),
        (lambda: _with(Y_=_nan(Y)), ValueError, "labels 0 and 1"),
        (lambda: _with(Y_=Y[:, :5]), ValueError, r"Y must have shape \(1, 6\)"),
        (lambda: _with(Y_=Y.T), ValueError, r"Y must have shape \(1, 6\)"),
        (lambda: _with(Y_=np.vstack([Y, Y])), ValueError, r"Y must have shape \(1, 6\)"),
        (lambda: _with(Y_=Y.astype(complex)), TypeError, "Y must hold real numbers"),
        # layer sizes and hyper-parameters
        (lambda: _with(dims=[2]), ValueError, "layers_dims must list at least"),
        (lambda: _with(dims=[2, 0, 1]), ValueError, r"layers_dims\[1\] must be a positive"),
        (lambda: _with(dims=[2, 3.5, 1]), TypeError, r"layers_dims\[1\] must be an integer"),
        (lambda: _with(dims="231"), TypeError, "layers_dims must be a sequence"),
        (lambda: _with(dims=[2, 3, 2], Y_=Y * 2), ValueError, r"labels 0 and 1, found \[2\]"),
        (lambda: _with(dims=[2, 3, 3], Y_=Y * 3), ValueError, r"labels 0 \.\. 2, found \[3\]"),
        (lambda: _with(dims=[2, 3, 3], Y_=Y * 0.5), ValueError, r"labels 0 \.\. 2, found \[0.5\]"),
        (lambda: _with(activation="mish"), ValueError, "activation must be one of"),
        (lambda: _with(activation="leaky_relu", negative_slope="a"), TypeError, "negative_slope"),
        (lambda: _with(dims=[3, 3, 1]), ValueError, "X must have 3 rows"),
        (lambda: _with(learning_rate=0), ValueError, "learning_rate must be a finite number > 0"),
        (lambda: _with(learning_rate=-0.1), ValueError, "learning_rate"),
        (lambda: _with(learning_rate=np.nan), ValueError, "learning_rate"),
        (lambda: _with(learning_rate="0.1"), TypeError, "learning_rate must be a real number"),
        (lambda: _with(num_iterations=-1), ValueError, "num_iterations must be >= 0"),
        (lambda: _with(num_iterations=1.5), TypeError, "num_iterations must be an integer"),
        (lambda: _with(record_every=0), ValueError, "record_every must be >= 1"),
        (lambda: _with(init="glorot"), ValueError, "init must be one of"),
        (lambda: _with(seed=-1), ValueError, "seed must be an integer"),
        (lambda: _with(seed=1.5), TypeError, "seed must be an integer"),
        (lambda: _with(dtype=np.float16), TypeError, "dtype must be float32 or float64"),
        (lambda: _with(dtype="int"), TypeError, "dtype must be float32 or float64"),
    ],
)
def test_train_rejects(call, exc, match):
    if exc is None:
        call()
    else:
        with pytest.raises(exc, match=match):
            call()


def _params(**changes):
    p = {k: v.copy() for k, v in PARAMS.items()}
    p.update(changes)
    return {k: v for k, v in p.items() if v is not None}


@pytest.mark.parametrize(
    "params, exc, match",
    [
        ([1, 2], TypeError, "parameters must be a dict"),
        ({}, ValueError, "parameters must hold exactly"),
        (_params(b2=None), ValueError, r"missing \['b2'\]"),
        (_params(W3=np.ones((1, 1))), ValueError, r"missing \['b3'\]"),
        (_params(W2x=np.ones((1, 1))), ValueError, r"unexpected \['W2x'\]"),
        (_params(W2=np.ones((1, 4))), ValueError, r"parameters\['W2'\] must have 3 columns"),
        (_params(b1=np.zeros((2, 1))), ValueError, r"parameters\['b1'\] must have shape \(3, 1\)"),
        (_params(W1=np.ones(3)), ValueError, r"parameters\['W1'\] must be a 2-D"),
        (_params(W1=_nan(PARAMS["W1"])), ValueError, r"parameters\['W1'\] must contain only finite"),
        (_params(b2=np.array([["x"]])), TypeError, r"parameters\['b2'\] must hold real numbers"),
    ],
)
def test_network_functions_reject_bad_parameters(params, exc, match):
    for call in (
        lambda: fastinit.forward_propagation(X, params),
        lambda: fastinit.predict_proba(X, params),
        lambda: fastinit.predict_dec(params, X),
        lambda: fastinit.predict(X, Y, params),
    ):
        with pytest.raises(exc, match=match):
            call()


def test_forward_rejects_bad_X():
    with pytest.raises(ValueError, match="X must have 2 rows"):
        fastinit.forward_propagation(np.ones((3, 4)), PARAMS)
    with pytest.raises(ValueError, match="X must contain only finite"):
        fastinit.forward_propagation(_nan(X), PARAMS)


def test_backward_rejects_bad_cache_and_labels():
    cache = fastinit.forward_propagation(X, PARAMS)[1]
    with pytest.raises(ValueError, match="cache must be the tuple"):
        fastinit.backward_propagation(X, Y, cache[:-1])
    with pytest.raises(ValueError, match="cache must be the tuple"):
        fastinit.backward_propagation(X, Y, "not a cache")
    broken = list(cache)
    broken[1] = broken[1][:, :3]
    with pytest.raises(ValueError, match=r"cache A1 must have shape \(3, 6\)"):
        fastinit.backward_propagation(X, Y, tuple(broken))
    with pytest.raises(ValueError, match=r"cache A1 must have shape \(3, 4\) to match X"):
        fastinit.backward_propagation(X[:, :4], Y[:, :4], cache)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        fastinit.backward_propagation(X, Y + 1, cache)


def test_update_parameters_rejects_bad_grads():
    grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, PARAMS)[1])
    with pytest.raises(ValueError, match="learning_rate"):
        fastinit.update_parameters(PARAMS, grads, -1)
    with pytest.raises(ValueError, match="grads is missing 'dW2'"):
        fastinit.update_parameters(PARAMS, {k: v for k, v in grads.items() if k != "dW2"}, 0.1)
    bad = dict(grads, dW1=np.ones(1))
    with pytest.raises(ValueError, match=r"grads\['dW1'\] must have the shape"):
        fastinit.update_parameters(PARAMS, bad, 0.1)
    bad = dict(grads, dW1=np.float64(1.0))  # a scalar must not be read as a whole matrix
    with pytest.raises(ValueError, match=r"grads\['dW1'\] must have the shape"):
        fastinit.update_parameters(PARAMS, bad, 0.1)
    with pytest.raises(ValueError, match=r"grads\['db1'\] must contain only finite"):
        fastinit.update_parameters(PARAMS, dict(grads, db1=_nan(grads["db1"])), 0.1)
    with pytest.raises(TypeError, match="grads must be a dict"):
        fastinit.update_parameters(PARAMS, [1], 0.1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: layers.linear_forward(np.ones((3, 2)), np.ones((2, 2)), np.ones((2, 1))), ValueError, "A_prev must have 2 rows"),
        (lambda: layers.linear_forward(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 1))), ValueError, r"b must have shape \(2, 1\)"),
        (lambda: layers.linear_forward(np.ones((2, 0)), np.ones((2, 2)), np.ones((2, 1))), ValueError, "A_prev must not be empty"),
        (lambda: layers.linear_backward(np.ones((3, 4)), np.ones((2, 4)), np.ones((2, 2))), ValueError, "dZ must have 2 rows"),
        (lambda: layers.linear_backward(np.ones((2, 4)), np.ones((2, 5)), np.ones((2, 2))), ValueError, r"A_prev must have shape \(2, 4\)"),
        (lambda: layers.relu_backward(np.ones((2, 4)), np.ones((2, 3))), ValueError, "A must have the shape of dA"),
        (lambda: layers.sigmoid_backward(np.ones((2, 4)), _nan(np.ones((2, 4)))), ValueError, "A must contain only finite"),
        (lambda: layers.output_gradient(np.ones((2, 4)), np.ones((2, 4))), ValueError, r"Y must have shape \(1, 4\)"),
        (lambda: layers.binary_cross_entropy(np.full((1, 2), 1.5), [[0, 1]]), ValueError, "AL must hold probabilities"),
        (lambda: layers.binary_cross_entropy(np.full((1, 2), 0.5), [[0, 3]]), ValueError, "labels 0 and 1"),
        (lambda: layers.binary_cross_entropy_from_logits(np.ones((1, 2)), [[0]]), ValueError, r"Y must have shape \(1, 2\)"),
        (lambda: layers.gradient_descent_update(np.ones(3), np.ones(2), 0.1), ValueError, "grad must have the shape"),
        (lambda: layers.gradient_descent_update(np.ones(3), np.ones(3), 0), ValueError, "learning_rate"),
        (lambda: fastinit.sigmoid(np.array([np.nan])), ValueError, "Z must contain only finite"),
        (lambda: fastinit.relu(np.array(["a"])), TypeError, "Z must hold real numbers"),
        (lambda: fastinit.compute_loss(np.full((1, 2), 0.5), [[0, 1, 1]]), ValueError, r"Y must have shape \(1, 2\)"),
    ],
)
def test_layer_functions_reject(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_empty_elementwise_input_gives_empty_output():
    assert fastinit.relu(np.empty((0, 3))).shape == (0, 3)
    assert fastinit.sigmoid([]).shape == (0,)


@pytest.mark.parametrize("bad", [[2], "he", [2, -1, 1], [2, 3, 1.0]])
def test_initializers_reject_bad_layers_dims(bad):
    with pytest.raises((ValueError, TypeError), match="layers_dims"):
        fastinit.initialize_parameters_he(bad)


# ---------------------------------------------------------------------------
# inputs that change under our feet: callbacks and threads that reshape arrays
# after validation must not change what a kernel reads (found in review)
# ---------------------------------------------------------------------------


class _Sneaky:
    """Array-like whose conversion reshapes another array in place."""

    def __init__(self, value, victim, shape):
        self.value, self.victim, self.shape_ = value, victim, shape

    def __array__(self, dtype=None, copy=None):
        self.victim.shape = self.shape_
        return np.asarray(self.value, dtype=dtype)


def test_reshaping_the_cache_from_a_label_callback_is_harmless():
    X, Y = fastinit.load_dataset()[:2]
    p = fastinit.initialize_parameters([2, 10, 5, 1])
    _, cache = fastinit.forward_propagation(X, p)
    want = fastinit.backward_propagation(X, Y, cache)
    grads = fastinit.backward_propagation(X, _Sneaky(Y, cache[6], (1, 50)), cache)
    for key in want:
        np.testing.assert_array_equal(grads[key], want[key])


def test_reshaping_probabilities_from_a_label_callback_is_harmless():
    AL = np.full((1, 6), 0.5)
    want = fastinit.compute_loss(AL, Y)
    assert fastinit.compute_loss(AL, _Sneaky(Y, AL, (6, 1))) == want


def test_reshaping_parameters_from_a_data_callback_is_harmless():
    p = {k: v.copy() for k, v in PARAMS.items()}
    want = fastinit.predict_proba(X, p)
    got = fastinit.predict_proba(_Sneaky(X, p["W2"], (3, 1)), p)
    np.testing.assert_array_equal(got, want)


def test_reshaping_X_from_another_thread_during_training_is_harmless():
    import threading

    rng = np.random.default_rng(0)
    X_big = rng.standard_normal((2, 20_000))
    Y_big = (X_big[0] > 0).astype(int)
    want = fastinit.train(X_big, Y_big, [2, 3, 1], num_iterations=40)
    timer = threading.Timer(0.01, lambda: setattr(X_big, "shape", (1, 40_000)))
    timer.start()
    got = fastinit.train(X_big, Y_big, [2, 3, 1], num_iterations=40)
    timer.join()
    X_big.shape = (2, 20_000)
    np.testing.assert_array_equal(got.parameters["W1"], want.parameters["W1"])


def test_registry_is_read_only_and_huge_layer_names_are_cheap():
    with pytest.raises(TypeError):
        fastinit.INITIALIZERS["bad"] = lambda: None
    with pytest.raises(ValueError, match=r"missing \['W1', 'b1'\]"):
        fastinit.forward_propagation(np.zeros((2, 3)), {"W100000000000": 1})
    with pytest.raises(ValueError, match="unexpected"):
        fastinit.forward_propagation(np.zeros((2, 3)), {"W²": 1, "b²": 1})


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: fastinit.model(np.float64(1.0), [1]), ValueError, "X must be a 2-D"),
        (lambda: fastinit.model([[1, 2], [3]], [1]), TypeError, "X must be array-like"),
        (lambda: fastinit.compare_initializations("he"), TypeError, "inits must be a sequence"),
        (lambda: fastinit.compare_initializations(data=(1, 2)), ValueError, "data must be"),
        (lambda: layers.linear_forward([[1], [1, 2]], [[1.0]], [1.0]), TypeError, "A_prev must be array-like"),
        (lambda: fastinit.make_circles(10, seed=1.5), TypeError, "seed must be an integer"),
        (lambda: fastinit.make_circles(10, seed=-1), ValueError, "seed must be an integer"),
        (lambda: fastinit.initialize_parameters(np.array(3)), TypeError, "layers_dims must be a sequence"),
        (lambda: fastinit.initialize_parameters([2, 2**62, 1]), ValueError, "layers_dims"),
        (lambda: fastinit.initialize_parameters([2, True, 1]), TypeError, r"layers_dims\[1\]"),
        (lambda: layers.gradient_descent_update(np.float32([1]), np.float32([0]), 1e39), ValueError, "representable in float32"),
        (lambda: _with(dtype=np.float32, learning_rate=1e-46), ValueError, "representable in float32"),
        (lambda: fastinit.relu(np.ma.masked_array([1.0, 2.0], mask=[0, 1])), TypeError, "masked array"),
    ],
)
def test_review_findings_are_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_huge_record_interval_and_zero_d_and_unaligned_inputs():
    r = _with(num_iterations=3, record_every=2**70)
    assert list(r.cost_iterations) == [0]
    out = layers.gradient_descent_update(np.array(1.0), np.array(2.0), 0.5)
    assert out.shape == () and out == 0.0
    raw = bytearray(8 * 13)
    unaligned = np.frombuffer(raw, dtype=np.float64, count=12, offset=1).reshape(2, 6)
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(fastinit.predict_proba(unaligned, PARAMS),
                                  fastinit.predict_proba(np.zeros((2, 6)), PARAMS))


def test_plot_grid_is_bounded_and_model_output_checked():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = []

    def model(points):
        calls.append(len(points))
        return points[:, 0] > 0

    fastinit.plot_decision_boundary(model, X * 1e5, Y)
    assert calls[0] <= 1_100_000
    with pytest.raises(ValueError, match="model must return one prediction per point"):
        fastinit.plot_decision_boundary(lambda pts: np.ones(3), X, Y)
    plt.close("all")


def test_reshaping_X_from_another_thread_during_a_forward_pass_is_harmless():
    """The drop-in passes read shapes once, in C, and hold the arrays: an
    in-place reshape of the caller's X while the pass runs changes nothing."""
    import threading

    rng = np.random.default_rng(1)
    X_big = rng.standard_normal((2, 2_000_000))
    p = fastinit.initialize_parameters([2, 10, 5, 1])
    want = fastinit.predict_proba(X_big, p)
    for delay in (0.0005, 0.002, 0.01):  # before, during or after the pass: whichever comes
        timer = threading.Timer(delay, lambda: setattr(X_big, "shape", (1, 4_000_000)))
        timer.start()
        try:
            got = fastinit.predict_proba(X_big, p)
        except ValueError as exc:  # the reshape came first: X is refused, cleanly
            assert "X must have 2 rows" in str(exc)
        else:  # during or after: the pass read the shape it checked
            np.testing.assert_array_equal(got, want)
        finally:
            timer.join()
            X_big.shape = (2, 2_000_000)
