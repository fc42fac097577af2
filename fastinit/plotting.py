"""Plots (matplotlib is an optional extra: ``pip install "fastinit[plot]"``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_array


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib, an optional dependency of fastinit: "
            'install it with  pip install "fastinit[plot]"  (or  pip install matplotlib)'
        ) from exc
    return plt


def plot_decision_boundary(
    model: Callable[[np.ndarray], ArrayLike], X: ArrayLike, y: ArrayLike, ax: Any = None
) -> Any:
    """Draw a classifier's decision regions with the data on top (the seed's
    ``plot_decision_boundary``).

    Parameters
    ----------
    model : callable
        Takes points as rows, an array of shape (n_points, 2), and returns one
        prediction per point (any shape with n_points elements), e.g.
        ``lambda x: predict_dec(parameters, x.T)``.
    X : array_like of shape (2, m)
        The data, one point per column.
    y : array_like of shape (1, m) or (m,)
        Labels, used as colours.
    ax : matplotlib Axes, optional
        Where to draw; defaults to the current axes (``plt.gca()``), so that
        the notebook's ``plt.title`` and ``axes.set_xlim`` calls apply.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    X = check_array(X, "X", np.float64)
    if X.shape[0] != 2:
        raise ValueError(f"X must have shape (2, m): two features, got {X.shape}")
    y = check_array(y, "y", np.float64, ndim=None).reshape(-1)
    if y.shape[0] != X.shape[1]:
        raise ValueError(f"y must have {X.shape[1]} labels to match X, got {np.shape(y)}")
    if not callable(model):
        raise TypeError(f"model must be a callable, got {type(model).__name__}")
    ax = plt.gca() if ax is None else ax
    x_min, x_max = X[0].min() - 1, X[0].max() + 1
    y_min, y_max = X[1].min() - 1, X[1].max() + 1
    # the notebook's step of 0.01, coarsened so the grid stays below ~10^6 points
    h = max(0.01, (x_max - x_min) / 1000, (y_max - y_min) / 1000)
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Z = np.asarray(model(np.c_[xx.ravel(), yy.ravel()]))
    if Z.size != xx.size:
        raise ValueError(f"model must return one prediction per point: it got {xx.size} "
                         f"points and returned {Z.size} values")
    Z = Z.astype(np.float64).reshape(xx.shape)
    ax.contourf(xx, yy, Z, cmap=plt.cm.Spectral)
    ax.set_ylabel("x2")
    ax.set_xlabel("x1")
    ax.scatter(X[0], X[1], c=y, cmap=plt.cm.Spectral)
    return ax
