"""Diagnostics, LSUV and the built-in experiments: the seed's lessons, measured."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.engines import reference
from fastinit.nn.initializers import LSUV
from helpers import random_network


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("k", [1, 3])
def test_diagnostics_match_numpy(dtype, activation, k):
    rng = np.random.default_rng(4)
    dims = [3, 7, 5, k]
    params = random_network(dims, rng, dtype, scale=2.0)
    X = rng.standard_normal((3, 45)).astype(dtype)
    Y = rng.integers(0, max(k, 2), size=(1, 45))
    d = fastinit.diagnose(params, X, Y, activation)
    _, cache = reference.forward_propagation(X.astype(np.float64), params, activation)
    Y1 = Y if k == 1 else reference.one_hot(Y, k)
    grads = reference.backward_propagation(X.astype(np.float64), Y1, cache, activation)
    tol = 1e-9 if dtype == np.float64 else 1e-4
    for l in range(1, 4):
        A = cache[4 * l - 3]
        assert d.activation_mean[0, l - 1] == pytest.approx(A.mean(), rel=tol, abs=tol)
        assert d.activation_std[0, l - 1] == pytest.approx(A.std(), rel=1e3 * tol, abs=tol)
        assert d.dead_fraction[0, l - 1] == pytest.approx(np.mean(~(A > 0).any(axis=1)))
        saturated = (np.abs(A) > 0.99) if (activation == "tanh" and l < 3) else \
            ((A > 0.99) | (A < 0.01)) if (activation == "sigmoid" or l == 3) else np.zeros_like(A, bool)
        assert d.saturated_fraction[0, l - 1] == pytest.approx(saturated.mean(), abs=1e-12)
        assert d.grad_norm[0, l - 1] == pytest.approx(np.linalg.norm(grads[f"dW{l}"]), rel=1e3 * tol)
    rows = d.table()
    assert len(rows) == 3 and rows[0]["layer"] == 1 and "grad_norm" in rows[0]
    assert "activation_std" in str(d)


def test_zeros_run_shows_zero_variance_units_and_he_live_units(seed_data):
    X, Y = seed_data[:2]
    zeros = fastinit.train(X, Y, [2, 10, 5, 1], init="zeros", num_iterations=3000).diagnostics
    he = fastinit.train(X, Y, [2, 10, 5, 1], init="he", num_iterations=3000).diagnostics
    assert list(zeros.iterations) == [0, 1000, 2000]
    assert np.all(zeros.activation_std[:, :2] == 0)       # every hidden unit outputs one constant
    assert np.all(zeros.dead_fraction[:, :2] == 1)
    assert np.all(zeros.grad_norm[:, :2] == 0)             # and no gradient ever reaches it
    assert np.all(he.activation_std[:, :2] > 0.3)
    assert np.all(he.dead_fraction[:, :2] < 0.5)
    assert np.all(he.grad_norm > 0)


def test_diagnostics_can_be_turned_off_and_do_not_change_training(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2500)
    b = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2500, diagnostics=False)
    assert b.diagnostics is None
    np.testing.assert_array_equal(a.costs, b.costs)
    np.testing.assert_array_equal(a.parameters["W1"], b.parameters["W1"])


def test_lsuv_reaches_unit_variance_on_circles_and_a_20_layer_net(seed_data):
    X = seed_data[0]
    params, report = fastinit.lsuv([2, 10, 5, 1], X)
    assert report.converged.all()
    assert np.all(np.abs(report.variance_after - 1) < report.tol)
    _, cache = reference.forward_propagation(X, params)
    for l in range(1, 4):
        assert abs(cache[4 * (l - 1)].var() - 1) < 0.1
    rng = np.random.default_rng(0)
    Xd = rng.standard_normal((20, 500))
    params, report = fastinit.lsuv([20] * 21 + [1], Xd, tol=0.05)
    assert report.converged.all() and report.rescalings.max() <= 10
    assert "LSUV" in str(report)
    r = fastinit.train(seed_data[0], seed_data[1], [2, 10, 5, 1], init="lsuv", num_iterations=100)
    assert r.status == "completed"


def test_lsuv_needs_data_and_validates():
    with pytest.raises(ValueError, match="pass the training data as X"):
        fastinit.initialize_parameters([2, 3, 1], "lsuv")
    with pytest.raises(ValueError, match="tol"):
        LSUV(tol=0)
    with pytest.raises(ValueError, match="max_iter"):
        LSUV(max_iter=0)
    with pytest.raises(TypeError, match="base"):
        LSUV(base="orthogonal")
    with pytest.raises(ValueError, match="X must have 2 rows"):
        fastinit.initialize_parameters([2, 3, 1], "lsuv", X=np.ones((3, 4)))


@pytest.fixture(scope="module")
def depth50():
    return fastinit.signal_propagation(depth=50, width=100)


def test_depth_experiment_reproduces_he_and_glorot(depth50):
    """At depth 50 with ReLU: He keeps the last layer's activation std within a
    factor 3 of the first's; Xavier (variance 1/n) shrinks it more than 10x;
    x10 random grows it more than 10x; zeros carries nothing."""
    he, xavier, random = (depth50.activation_std[k] for k in ("he", "xavier", "random"))
    assert he.shape == (50,)
    assert 1 / 3 < he[-1] / he[0] < 3
    assert xavier[-1] < xavier[0] / 10
    assert random[-1] > random[0] * 10
    assert np.all(depth50.activation_std["zeros"] == 0)
    assert "layer 50" in depth50.table()


def test_symmetry_lesson():
    spreads = fastinit.symmetry_lesson(num_iterations=500)
    assert spreads["zeros"] == [0.0, 0.0] and spreads["constant"] == [0.0, 0.0]
    assert min(spreads["he"]) > 0.1


def test_seed_comparison_on_another_dataset():
    X, Y = fastinit.make_moons(200, noise=0.1, seed=0)
    tX, tY = fastinit.make_moons(100, noise=0.1, seed=1)
    rows = fastinit.compare_initializations(("zeros", "he", "orthogonal"), num_iterations=3000,
                                            learning_rate=0.1, print_cost=False, data=(X, Y, tX, tY))
    acc = {row.init: row.train_accuracy for row in rows}
    assert acc["zeros"] == 0.5 and acc["he"] > 0.8


def test_compare_initializations_takes_multi_class_data():
    data = fastinit.io.datasets.load_named("blobs")
    rows = fastinit.compare_initializations(inits=["he"], num_iterations=200, print_cost=False,
                                            data=data)
    assert rows[0].result.layers_dims[-1] == int(data[1].max()) + 1  # a softmax output
