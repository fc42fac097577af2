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


def test_experiment_plots(tmp_path, seed_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = fastinit.compare_initializations(num_iterations=2001, print_cost=False)
    fig = fastinit.plot_cost_curves(rows)
    assert len(fig.axes[0].lines) == 3
    sp = fastinit.signal_propagation(depth=10, width=20, m=50)
    fig = sp.plot()
    assert len(fig.axes[0].lines) == 4 and "zeros (all zero)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    fig.savefig(tmp_path / "depth.png")
    assert (tmp_path / "depth.png").stat().st_size > 5000
    fig = fastinit.plot_symmetry(fastinit.symmetry_lesson(num_iterations=50))
    assert len(fig.axes[0].patches) == 6
    plt.close("all")


def test_plot_diagnostics(seed_data, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=5000)
    fig = fastinit.plot_diagnostics(r)
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 3
    fig.savefig(tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="no diagnostics"):
        fastinit.plot_diagnostics(fastinit.train(X, Y, [2, 3, 1], num_iterations=5, diagnostics=False))
    plt.close("all")
