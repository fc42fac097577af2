"""Datasets, column-per-example as in the seed notebook.

:func:`make_circles` reproduces scikit-learn's ``make_circles`` draw for draw
(same linspace, same shuffle, same noise) from a local legacy ``RandomState``,
so :func:`load_dataset` returns bit-for-bit the arrays the notebook built with
``np.random.seed(1); sklearn.datasets.make_circles(300, noise=.05)`` without
importing scikit-learn and without touching NumPy's global random state.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_count, check_seed


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
    if noise is not None and (not isinstance(noise, numbers.Real) or not noise >= 0):
        raise ValueError(f"noise must be a number >= 0 or None, got {noise!r}")
    if not isinstance(factor, numbers.Real) or not 0 < factor < 1:
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
    if shuffle:
        order = np.arange(n_samples)
        rng.shuffle(order)
        points, labels = points[order], labels[order]
    if noise is not None:
        points = points + rng.normal(scale=noise, size=points.shape)
    return np.ascontiguousarray(points.T), labels.reshape(1, n_samples)


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
