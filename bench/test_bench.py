"""pytest-benchmark suite: ``pytest bench/`` (not part of the default test run).

Each case times fastinit and the NumPy reference on the same work, grouped so
that pytest-benchmark prints them side by side; compare within a group, not
across machines.  ``python bench/compare.py`` prints the ratio directly.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.engines import reference

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


@pytest.mark.benchmark(group="the notebook's loop, 300 iterations, m = 300")
@pytest.mark.parametrize("impl", [fastinit, reference.notebook], ids=["fastinit", "notebook"])
def test_notebook_loop(benchmark, data, impl):
    """Forward, loss, backward and update once per iteration: fastinit's
    drop-in functions (validating every call) against the notebook's own
    NumPy helpers."""
    X, Y = data
    params = fastinit.initialize_parameters(LAYERS, "he")
    trained, _ = benchmark(reference.notebook_loop, impl, X, Y, params, 0.01, 300)
    assert np.isfinite(trained["W1"]).all()


@pytest.fixture(scope="module")
def large():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 10**5))
    return X, (rng.random((1, 10**5)) < 0.5).astype(np.float64)


@pytest.mark.benchmark(group="[2, 10, 5, 1], m = 1e5, 20 iterations")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fastinit_large_m(benchmark, large, threads, dtype):
    X, Y = large
    benchmark(fastinit.train, X, Y, LAYERS, num_iterations=20, n_threads=threads, dtype=dtype,
              diagnostics=False)


@pytest.mark.benchmark(group="[2, 10, 5, 1], m = 1e5, 20 iterations")
def test_numpy_large_m(benchmark, large):
    X, Y = large
    benchmark(reference.train, X, Y, fastinit.initialize_parameters(LAYERS, "he"), 0.01, 20)


@pytest.mark.benchmark(group="wide networks, m = 1e4, 3 iterations")
@pytest.mark.parametrize("dims", [[2, 256, 256, 1], [784, 128, 64, 1]], ids=str)
@pytest.mark.parametrize("impl", ["fastinit", "numpy"])
def test_wide_networks(benchmark, dims, impl):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((dims[0], 10**4))
    Y = (rng.random((1, 10**4)) < 0.5).astype(np.float64)
    if impl == "numpy":
        benchmark(reference.train, X, Y, fastinit.initialize_parameters(dims, "he"), 0.01, 3)
    else:
        benchmark(fastinit.train, X, Y, dims, num_iterations=3, diagnostics=False)


@pytest.mark.benchmark(group="sweep: 4 initializers x 4 seeds, 3000 iterations")
@pytest.mark.parametrize("threads", [1, 2])
def test_sweep_threads(benchmark, threads):
    grid = {"init": ["zeros", "random", "he", "xavier"], "seed": [0, 1, 2, 3],
            "num_iterations": [3000]}
    table = benchmark(fastinit.sweep, grid, n_threads=threads)
    assert len(table) == 16


@pytest.mark.benchmark(group="mini-batch training, m = 1e5, batches of 256, 2 epochs")
@pytest.mark.parametrize("impl", ["fastinit", "numpy"])
def test_minibatch(benchmark, large, impl):
    X, Y = large
    steps = 2 * -(-X.shape[1] // 256)
    if impl == "numpy":
        order = lambda epoch: fastinit.training.loop.epoch_order(X.shape[1], epoch, seed=3)  # noqa: E731
        benchmark(reference.minibatch_train, X, Y, fastinit.initialize_parameters(LAYERS, "he"),
                  0.05, steps, 256, order)
    else:
        benchmark(fastinit.train, X, Y, LAYERS, learning_rate=0.05, num_iterations=steps,
                  batch_size=256, diagnostics=False, record_every=steps)


@pytest.mark.benchmark(group="predict_proba, m = 1e5")
@pytest.mark.parametrize("impl", ["fastinit", "numpy"])
def test_predict_proba(benchmark, large, impl):
    X, _ = large
    params = fastinit.initialize_parameters(LAYERS, "he")
    if impl == "numpy":
        benchmark(lambda: reference.forward_propagation(X, params)[0])
    else:
        benchmark(fastinit.predict_proba, X, params)


@pytest.mark.benchmark(group="seed He run, optimizers, 2000 iterations")
@pytest.mark.parametrize("options", [{}, {"optimizer": "adam"}, {"optimizer": "rmsprop"},
                                     {"keep_prob": 0.8}, {"l2": 0.1, "clip_norm": 1.0}],
                         ids=["plain", "adam", "rmsprop", "dropout", "l2-clip"])
def test_fastinit_optimizers(benchmark, data, options):
    X, Y = data
    result = benchmark(fastinit.train, X, Y, LAYERS, init="he", num_iterations=ITERATIONS,
                       diagnostics=False, **options)
    assert np.isfinite(result.costs).all()


@pytest.mark.benchmark(group="mini-batch Adam, m = 1e4, batches of 256")
@pytest.mark.parametrize("side", ["fastinit", "numpy"])
def test_minibatch_adam(benchmark, side):
    from fastinit.training.loop import epoch_order

    rng = np.random.default_rng(0)
    m, batch = 10**4, 256
    X = rng.standard_normal((2, m))
    Y = (X[0] * X[1] > 0).astype(np.float64).reshape(1, -1)
    steps = 2 * -(-m // batch)
    initial = fastinit.initialize_parameters(LAYERS, "he")
    if side == "fastinit":
        out = benchmark(fastinit.train, X, Y, LAYERS, learning_rate=0.001, optimizer="adam",
                        num_iterations=steps, batch_size=batch, diagnostics=False,
                        record_every=steps).parameters
    else:
        out = benchmark(reference.minibatch_train, X, Y, initial, 0.001, steps, batch,
                        lambda e: epoch_order(m, e, seed=3), optimizer="adam")
    assert all(np.isfinite(v).all() for v in out.values())


@pytest.mark.benchmark(group="MLPClassifier at scikit-learn's defaults, wine (standardized)")
@pytest.mark.parametrize("side", ["fastinit", "sklearn"])
def test_mlp_classifier_defaults(benchmark, side):
    import warnings

    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    X, y = datasets.load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if side == "fastinit":
        from fastinit.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier(random_state=0).fit(X, y)

    est = benchmark(fit)
    assert est.score(X, y) > 0.9
