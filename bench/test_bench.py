"""pytest-benchmark suite: ``pytest bench/`` (not part of the default test run).

Each case times fastinit and the NumPy reference on the same work, grouped so
that pytest-benchmark prints them side by side; compare within a group, not
across machines.  ``python bench/compare.py`` prints the ratio directly.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit import reference

LAYERS = [2, 10, 5, 1]
ITERATIONS = 2000


@pytest.fixture(scope="module")
def data():
    X, Y, _, _ = fastinit.load_dataset()
    return X, Y


@pytest.mark.benchmark(group="seed He run, 2000 iterations")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fastinit_train(benchmark, data, dtype):
    X, Y = data
    result = benchmark(fastinit.train, X, Y, LAYERS, init="he", num_iterations=ITERATIONS,
                       dtype=dtype)
    assert np.isfinite(result.costs).all()


@pytest.mark.benchmark(group="seed He run, 2000 iterations")
def test_numpy_reference_train(benchmark, data):
    X, Y = data
    initial = fastinit.initialize_parameters(LAYERS, "he")
    _, costs = benchmark(reference.train, X, Y, initial, 0.01, ITERATIONS)
    assert np.isfinite(costs).all()


@pytest.mark.benchmark(group="one forward + backward pass, m = 300")
@pytest.mark.parametrize("impl", [fastinit, reference], ids=["fastinit", "numpy"])
def test_forward_backward(benchmark, data, impl):
    """The notebook's per-step functions (fastinit validates every call)."""
    X, Y = data
    params = fastinit.initialize_parameters(LAYERS, "he")

    def step():
        return impl.backward_propagation(X, Y, impl.forward_propagation(X, params)[1])

    benchmark(step)
