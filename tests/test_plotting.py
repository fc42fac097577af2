"""plot_decision_boundary (matplotlib is an optional extra)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import fastinit


def test_plot_decision_boundary_draws_on_current_axes(seed_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train_X, train_Y = seed_data[:2]
    params = fastinit.train(train_X, train_Y, [2, 10, 5, 1], num_iterations=500).parameters
    plt.figure()
    axes = plt.gca()
    axes.set_xlim([-1.5, 1.5])
    ax = fastinit.plot_decision_boundary(lambda x: fastinit.predict_dec(params, x.T), train_X, train_Y)
    assert ax is axes
    assert len(ax.collections) >= 2  # the filled contours and the scattered points
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    plt.close("all")


def test_plot_decision_boundary_rejects_bad_data():
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="X must have shape"):
        fastinit.plot_decision_boundary(lambda x: x[:, 0] > 0, np.ones((3, 5)), np.ones(5))
    with pytest.raises(ValueError, match="y must have 5 labels"):
        fastinit.plot_decision_boundary(lambda x: x[:, 0] > 0, np.ones((2, 5)), np.ones(4))


def test_missing_matplotlib_gives_a_clear_error(monkeypatch, seed_data):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "fastinit\[plot\]"'):
        fastinit.plot_decision_boundary(lambda x: x[:, 0] > 0, *seed_data[:2])
