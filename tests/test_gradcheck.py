"""fastinit.gradient_check."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from helpers import random_network


@pytest.mark.parametrize("activation, dims", [("tanh", [3, 5, 1]), ("sigmoid", [3, 4, 4, 3]),
                                              ("relu", [4, 5, 3, 1])])
def test_gradient_check_is_small_for_correct_gradients(activation, dims):
    rng = np.random.default_rng(0)
    params = random_network(dims, rng)
    X = rng.standard_normal((dims[0], 9))
    Y = rng.integers(0, max(dims[-1], 2), size=(1, 9))
    assert fastinit.gradient_check(params, X, Y, activation=activation) < 1e-7


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    import fastinit.nn.gradcheck as gc

    rng = np.random.default_rng(1)
    params = random_network([3, 4, 1], rng)
    X = rng.standard_normal((3, 9))
    Y = rng.integers(0, 2, size=(1, 9))
    real = gc.backward_propagation

    def wrong(*args, **kwargs):
        grads = real(*args, **kwargs)
        grads["dW1"] = grads["dW1"] * 1.1
        return grads

    monkeypatch.setattr(gc, "backward_propagation", wrong)
    assert fastinit.gradient_check(params, X, Y, activation="tanh") > 1e-3


def test_gradient_check_validates():
    with pytest.raises(ValueError, match="epsilon"):
        fastinit.gradient_check(fastinit.initialize_parameters([2, 1]), np.ones((2, 3)), [[0, 1, 0]], epsilon=0)
