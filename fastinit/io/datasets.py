"""Datasets, column-per-example as in the seed notebook: circles (the seed's),
moons, blobs (k classes), spirals and XOR, each drawn from a local seeded
generator.

:func:`make_circles` reproduces scikit-learn's ``make_circles`` draw for draw
(same linspace, same shuffle, same noise) from a local legacy ``RandomState``,
so :func:`load_dataset` returns bit-for-bit the arrays the notebook built with
``np.random.seed(1); sklearn.datasets.make_circles(300, noise=.05)`` without
importing scikit-learn and without touching NumPy's global random state.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_count, check_memory, check_real, check_seed


def _check_samples(n_samples: int, n_features: int = 2) -> None:
    """The data set (and the few temporaries of its making) must fit in memory."""
    check_memory(6 * 8 * n_samples * (n_features + 1),
                 f"a data set of n_samples={n_samples} with {n_features} features")


def make_circles(
    n_samples: int = 100,
    noise: float | None = None,
    factor: float = 0.8,
    seed: int | None = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A large circle containing a smaller one, two classes.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points; ``n_samples // 2`` on the outer circle (label 0),
        the rest on the inner one (label 1).
    noise : float or None, default None
        Standard deviation of Gaussian noise added to every coordinate.
    factor : float, default 0.8
        Radius of the inner circle relative to the outer one, in (0, 1).
    seed : int or None, default None
        Seed of the local ``RandomState``; the same seed gives the same points
        as ``sklearn.datasets.make_circles(..., random_state=seed)``.
    shuffle : bool, default True
        Shuffle the points (as scikit-learn does, before adding noise).

    Returns
    -------
    X : ndarray of shape (2, n_samples)
        Coordinates, one point per column.
    Y : ndarray of shape (1, n_samples)
        Labels 0 (outer) and 1 (inner), dtype ``intp``.
    """
    n_samples = check_count(n_samples, "n_samples", minimum=2)
    _check_samples(n_samples)
    _check_noise(noise)
    if not 0 < check_real(factor, "factor") < 1:
        raise ValueError(f"factor must be a number in (0, 1), got {factor!r}")
    rng = np.random.RandomState(check_seed(seed))
    n_out = n_samples // 2
    n_in = n_samples - n_out
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    points = np.vstack(
        [
            np.append(np.cos(angles_out), np.cos(angles_in) * factor),
            np.append(np.sin(angles_out), np.sin(angles_in) * factor),
        ]
    ).T
    labels = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _finish(points, labels, rng, noise, shuffle)


def load_dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The seed notebook's "circles" data.

    Returns
    -------
    train_X : ndarray of shape (2, 300)
    train_Y : ndarray of shape (1, 300)
    test_X : ndarray of shape (2, 100)
    test_Y : ndarray of shape (1, 100)
        300 training points (seed 1) and 100 test points (seed 2), noise 0.05.
    """
    train_X, train_Y = make_circles(n_samples=300, noise=0.05, seed=1)
    test_X, test_Y = make_circles(n_samples=100, noise=0.05, seed=2)
    return train_X, train_Y, test_X, test_Y


def _check_noise(noise):
    return None if noise is None else check_real(noise, "noise", minimum=0)


def make_moons(n_samples: int = 100, noise: float | None = None, seed: int | None = None,
               shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons``, draw for draw).

    Returns
    -------
    X : ndarray of shape (2, n_samples)
    Y : ndarray of shape (1, n_samples)
        Labels 0 (upper moon) and 1 (lower moon).
    """
    n_samples = check_count(n_samples, "n_samples", minimum=2)
    _check_samples(n_samples)
    _check_noise(noise)
    rng = np.random.RandomState(check_seed(seed))
    n_out = n_samples // 2
    n_in = n_samples - n_out
    points = np.vstack([
        np.append(np.cos(np.linspace(0, np.pi, n_out)), 1 - np.cos(np.linspace(0, np.pi, n_in))),
        np.append(np.sin(np.linspace(0, np.pi, n_out)), 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5),
    ]).T
    labels = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _finish(points, labels, rng, noise, shuffle)


def _finish(points, labels, rng, noise, shuffle):
    """Shuffle, then add noise (scikit-learn's order), and lay out column-per-example."""
    if shuffle:
        order = np.arange(len(labels))
        rng.shuffle(order)
        points, labels = points[order], labels[order]
    if noise is not None:
        points = points + rng.normal(scale=noise, size=points.shape)
    return np.ascontiguousarray(points.T), labels.reshape(1, -1)


def make_blobs(n_samples: int = 300, n_classes: int = 3, n_features: int = 2,
               cluster_std: float = 1.0, seed: int | None = None,
               center_seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one per class, centres uniform in [-10, 10].

    Parameters
    ----------
    n_samples, n_classes, n_features : int
    cluster_std : float, default 1.0
        Standard deviation of each cluster, the same in every direction.
    seed : int or None
        Seed of the points (and of the centres when ``center_seed`` is None).
    center_seed : int or None
        Seed of the cluster centres alone.  Two draws with the same
        ``center_seed`` and different ``seed`` come from the same distribution
        (a training and a test set); with ``center_seed=None`` the centres move
        with ``seed``.

    Returns
    -------
    X : ndarray of shape (n_features, n_samples)
    Y : ndarray of shape (1, n_samples)
        Labels 0 .. n_classes-1, as equal in number as n_samples allows.
    """
    n_samples = check_count(n_samples, "n_samples", minimum=1)
    n_classes = check_count(n_classes, "n_classes", minimum=2)
    n_features = check_count(n_features, "n_features", minimum=1)
    _check_samples(n_samples, n_features)
    check_real(cluster_std, "cluster_std", positive=True)
    rng = np.random.RandomState(check_seed(seed))
    if center_seed is None:
        centers = rng.uniform(-10, 10, size=(n_classes, n_features))
    else:
        centers = np.random.RandomState(check_seed(center_seed, "center_seed")).uniform(
            -10, 10, size=(n_classes, n_features))
    labels = np.arange(n_samples) % n_classes
    rng.shuffle(labels)
    points = centers[labels] + rng.normal(scale=cluster_std, size=(n_samples, n_features))
    return np.ascontiguousarray(points.T), labels.astype(np.intp).reshape(1, -1)


def make_spiral(n_samples: int = 300, n_classes: int = 2, noise: float = 0.2,
                seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n toy data).

    Returns
    -------
    X : ndarray of shape (2, n_samples)
    Y : ndarray of shape (1, n_samples)
        Labels 0 .. n_classes-1.
    """
    n_samples = check_count(n_samples, "n_samples", minimum=1)
    _check_samples(n_samples)
    n_classes = check_count(n_classes, "n_classes", minimum=2)
    _check_noise(noise)
    rng = np.random.RandomState(check_seed(seed))
    labels = np.arange(n_samples) % n_classes
    t = rng.uniform(0, 1, n_samples)
    radius = t
    angle = labels * (2 * np.pi / n_classes) + 4 * t + rng.normal(scale=noise or 0.0, size=n_samples)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return np.ascontiguousarray(points.T), labels.astype(np.intp).reshape(1, -1)


def make_xor(n_samples: int = 300, noise: float | None = None,
             seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]², label 1 where the coordinates' signs differ
    (the XOR problem: not linearly separable); optional Gaussian noise on the
    points after labelling.

    Returns
    -------
    X : ndarray of shape (2, n_samples)
    Y : ndarray of shape (1, n_samples)
    """
    n_samples = check_count(n_samples, "n_samples", minimum=1)
    _check_samples(n_samples)
    _check_noise(noise)
    rng = np.random.RandomState(check_seed(seed))
    points = rng.uniform(-1, 1, size=(n_samples, 2))
    labels = (np.sign(points[:, 0]) != np.sign(points[:, 1])).astype(np.intp)
    if noise:
        points = points + rng.normal(scale=noise, size=points.shape)
    return np.ascontiguousarray(points.T), labels.reshape(1, -1)


# The named problems of the command line and of sweeps: 300 training examples
# (seed 1) and 300 test examples (seed 2) of one distribution (the blobs'
# centres are fixed by center_seed, not drawn with the points); "circles" is
# the seed notebook's own data (load_dataset).
NAMED_DATASETS = {
    "circles": lambda seed: make_circles(300, noise=0.05, seed=seed),
    "moons": lambda seed: make_moons(300, noise=0.1, seed=seed),
    "blobs": lambda seed: make_blobs(300, n_classes=3, seed=seed, center_seed=0),
    "spiral": lambda seed: make_spiral(300, n_classes=2, seed=seed),
    "xor": lambda seed: make_xor(300, noise=0.05, seed=seed),
}


def load_named(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_X, train_Y, test_X, test_Y) of one of :data:`NAMED_DATASETS`."""
    check_choice(name, "dataset", sorted(NAMED_DATASETS))
    if name == "circles":
        return load_dataset()
    return (*NAMED_DATASETS[name](1), *NAMED_DATASETS[name](2))
