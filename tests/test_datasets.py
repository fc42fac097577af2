"""Datasets: bit-identical to scikit-learn's generator (test-only dependency)."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def test_load_dataset_is_the_notebooks_data_bit_for_bit():
    """The notebook: np.random.seed(1); make_circles(300, noise=.05); seed(2); make_circles(100, ...)."""
    X1, Y1 = sklearn_datasets.make_circles(
        n_samples=300, noise=0.05, random_state=np.random.RandomState(1))
    X2, Y2 = sklearn_datasets.make_circles(
        n_samples=100, noise=0.05, random_state=np.random.RandomState(2))
    train_X, train_Y, test_X, test_Y = fastinit.load_dataset()
    np.testing.assert_array_equal(train_X, X1.T)
    np.testing.assert_array_equal(train_Y, Y1.reshape(1, -1))
    np.testing.assert_array_equal(test_X, X2.T)
    np.testing.assert_array_equal(test_Y, Y2.reshape(1, -1))


def test_load_dataset_matches_global_seeding_as_in_the_notebook():
    state = np.random.get_state()
    try:
        np.random.seed(1)
        X1, _ = sklearn_datasets.make_circles(n_samples=300, noise=0.05)
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(fastinit.load_dataset()[0], X1.T)


@pytest.mark.parametrize("n_samples", [2, 3, 7, 100, 301])
@pytest.mark.parametrize("noise", [None, 0.0, 0.2])
@pytest.mark.parametrize("shuffle", [True, False])
def test_make_circles_matches_sklearn(n_samples, noise, shuffle):
    X, Y = fastinit.make_circles(n_samples, noise=noise, factor=0.5, seed=7, shuffle=shuffle)
    Xs, Ys = sklearn_datasets.make_circles(
        n_samples, noise=noise, factor=0.5, random_state=7, shuffle=shuffle)
    np.testing.assert_array_equal(X, Xs.T)
    np.testing.assert_array_equal(Y, Ys.reshape(1, -1))
    assert X.flags.c_contiguous


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 1}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"noise": -1.0}, "noise"),
        ({"noise": "a"}, "noise"),
        ({"factor": 1.0}, "factor"),
        ({"factor": 0}, "factor"),
    ],
)
def test_make_circles_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fastinit.make_circles(**kwargs)
