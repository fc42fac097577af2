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


@pytest.mark.parametrize("n_samples", [2, 7, 100])
@pytest.mark.parametrize("noise", [None, 0.1])
def test_make_moons_matches_sklearn(n_samples, noise):
    X, Y = fastinit.make_moons(n_samples, noise=noise, seed=3)
    Xs, Ys = sklearn_datasets.make_moons(n_samples, noise=noise, random_state=3)
    np.testing.assert_array_equal(X, Xs.T)
    np.testing.assert_array_equal(Y, Ys.reshape(1, -1))


def test_other_datasets_shapes_labels_and_seeding():
    X, Y = fastinit.make_blobs(301, n_classes=4, n_features=3, cluster_std=0.1, seed=1)
    assert X.shape == (3, 301) and Y.shape == (1, 301)
    assert sorted(np.unique(Y)) == [0, 1, 2, 3]
    for k in range(4):  # tight clusters: each class sits around its own centre
        assert X[:, Y[0] == k].std(axis=1).max() < 0.2
    X, Y = fastinit.make_spiral(200, n_classes=3, seed=1)
    assert X.shape == (2, 200) and sorted(np.unique(Y)) == [0, 1, 2]
    X, Y = fastinit.make_xor(500, seed=1)
    assert X.shape == (2, 500)
    np.testing.assert_array_equal(Y[0], (X[0] * X[1] < 0).astype(int))
    for make in (fastinit.make_blobs, fastinit.make_spiral, fastinit.make_xor, fastinit.make_moons):
        a, b = make(seed=5), make(seed=5)
        np.testing.assert_array_equal(a[0], b[0])
        assert not np.array_equal(a[0], make(seed=6)[0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fastinit.make_blobs(n_classes=1), "n_classes"),
        (lambda: fastinit.make_blobs(cluster_std=0), "cluster_std"),
        (lambda: fastinit.make_spiral(noise=-1), "noise"),
        (lambda: fastinit.make_xor(n_samples=0), "n_samples"),
        (lambda: fastinit.make_moons(seed="a"), "seed"),
    ],
)
def test_dataset_arguments_are_validated(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_datasets_train_with_softmax_and_sigmoid():
    X, Y = fastinit.make_blobs(300, n_classes=3, cluster_std=1.0, seed=0)
    r = fastinit.train(X, Y, [2, 8, 3], learning_rate=0.05, num_iterations=3000)
    assert r.accuracy(X, Y) > 0.9
    X, Y = fastinit.make_xor(400, seed=0)
    r = fastinit.train(X, Y, [2, 16, 8, 1], learning_rate=0.5, num_iterations=5000)
    assert r.accuracy(X, Y) > 0.9


@pytest.mark.parametrize("make", ["make_circles", "make_moons", "make_blobs", "make_spiral",
                                  "make_xor"])
def test_data_sets_beyond_the_machine_are_refused_before_allocating(make):
    with pytest.raises(ValueError, match=r"n_samples=1000000000000 .* would need [\d.]+ GiB"):
        getattr(fastinit.io.datasets, make)(n_samples=10**12)


@pytest.mark.parametrize("name", sorted(fastinit.io.datasets.NAMED_DATASETS))
def test_each_named_dataset_tests_on_the_distribution_it_trains_on(name):
    """A model fitted on a named problem's training split scores within a few
    points on its test split: both splits come from one distribution (the
    blobs once drew their test clusters elsewhere: 99% train, 43% test)."""
    train_X, train_Y, test_X, test_Y = fastinit.io.datasets.load_named(name)
    n_classes = int(train_Y.max()) + 1
    dims = [train_X.shape[0], 10, 5, 1 if n_classes == 2 else n_classes]
    result = fastinit.train(train_X, train_Y, dims, init="he", learning_rate=0.05,
                            num_iterations=4000, seed=3)
    train_acc, test_acc = result.accuracy(train_X, train_Y), result.accuracy(test_X, test_Y)
    assert train_acc > 0.85, (name, train_acc)
    assert abs(train_acc - test_acc) < 0.06, (name, train_acc, test_acc)


def test_blob_centres_follow_center_seed_not_the_point_seed():
    def centres(seed, center_seed):
        X, Y = fastinit.make_blobs(600, n_classes=3, seed=seed, center_seed=center_seed)
        return np.stack([X[:, Y[0] == k].mean(axis=1) for k in range(3)])

    # 200 points of std 1 per cluster: a mean within 0.3 of the centre
    np.testing.assert_allclose(centres(1, 0), centres(2, 0), atol=0.3)
    assert np.abs(centres(1, None) - centres(2, None)).max() > 1
