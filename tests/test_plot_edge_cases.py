"""Every plot function on its edge cases, read as a person would: class colours
and legends of the decision regions (zeros initialization predicts one class
everywhere; 3 classes), the sweep plot when no run converged, the diagnostics
of one layer and of a zeros initialization."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit import plotting
from fastinit.sweeps import SweepTable

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def pixel(ax, x, y):
    """The RGB colour drawn at axes coordinates (x, y)."""
    fig = ax.figure
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transAxes.transform((x, y))
    return image[image.shape[0] - 1 - int(py), int(px), :3] / 255.0


def legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def blobs():
    from fastinit.datasets import load_named

    return load_named("blobs")


# ---------------------------------------------------------------------------
# decision regions: one colour per class, whatever the panel predicts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("label", [0, 1])
def test_a_single_class_region_has_that_class_colour(seed_data, label):
    X, Y = seed_data[:2]
    fig, ax = plt.subplots()
    plotting.plot_decision_boundary(lambda x: np.full(len(x), label), X, Y, ax=ax)
    # a corner holds no data point: only the region's colour
    np.testing.assert_allclose(pixel(ax, 0.03, 0.03), plotting.region_colors(2)[label], atol=0.02)
    assert legend_texts(ax.get_legend()) == ["class 0", "class 1"]
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2" and ax.get_title()


def test_points_have_their_class_colour_and_regions_a_tint_of_it(seed_data):
    X, Y = seed_data[:2]
    fig, ax = plt.subplots()
    plotting.plot_decision_boundary(lambda x: x[:, 0] > 0, X, Y, ax=ax, class_names=["out", "in"])
    colours = plotting.class_colors(2)
    points = ax.collections[1:]
    assert [p.get_label() for p in points] == ["out", "in"]
    for p, c, k in zip(points, colours, range(2)):
        np.testing.assert_allclose(p.get_facecolor()[0][:3], c)
        assert len(p.get_offsets()) == np.sum(Y == k)
    assert legend_texts(ax.get_legend()) == ["out", "in"]
    np.testing.assert_allclose(pixel(ax, 0.03, 0.03), plotting.region_colors(2)[0], atol=0.02)
    np.testing.assert_allclose(pixel(ax, 0.97, 0.03), plotting.region_colors(2)[1], atol=0.02)
    assert plotting.region_colors(2)[0] != plotting.region_colors(2)[1]


def test_three_classes_and_probabilities_and_bad_predictions():
    X, Y = blobs()[:2]
    fig, ax = plt.subplots()
    # every point predicted as class 2: class 2's tint, and a legend of all 3 classes
    plotting.plot_decision_boundary(lambda x: np.full(len(x), 2), X, Y, ax=ax)
    assert legend_texts(ax.get_legend()) == ["class 0", "class 1", "class 2"]
    np.testing.assert_allclose(pixel(ax, 0.03, 0.03), plotting.region_colors(3)[2], atol=0.02)
    assert len(set(plotting.class_colors(3))) == 3 and len(set(plotting.class_colors(12))) == 12
    # probabilities of class 1 are rounded to labels
    fig, ax = plt.subplots()
    plotting.plot_decision_boundary(lambda x: np.full(len(x), 0.3), *fastinit.load_dataset()[:2],
                                    ax=ax, n_classes=2, legend=False)
    assert ax.get_legend() is None
    np.testing.assert_allclose(pixel(ax, 0.03, 0.03), plotting.region_colors(2)[0], atol=0.02)
    with pytest.raises(ValueError, match="class labels"):
        plotting.plot_decision_boundary(lambda x: x[:, 0], X, Y)
    with pytest.raises(ValueError, match="2 classes named"):
        plotting.plot_decision_boundary(lambda x: np.zeros(len(x)), X, Y, class_names=["a", "b"])


def test_plot_comparison_zeros_panel_and_class_legend(seed_data):
    rows = fastinit.compare_initializations(inits=("zeros", "he"), num_iterations=3000,
                                            print_cost=False)
    fig = plotting.plot_comparison(rows, seed_data)
    cost, zeros, he = fig.axes
    assert (cost.get_xlabel(), cost.get_ylabel()) == ("iteration", "cost (training set)")
    assert legend_texts(cost.get_legend()) == ["zeros", "he"] and cost.get_title()
    assert zeros.get_title() == "zeros: train 50%, test 50%" and he.get_title().startswith("he: ")
    # zeros predicts class 0 everywhere: its panel is class 0's tint
    np.testing.assert_allclose(pixel(zeros, 0.03, 0.03), plotting.region_colors(2)[0], atol=0.02)
    assert [legend_texts(lg) for lg in fig.legends] == [["class 0", "class 1"]]
    assert zeros.get_legend() is None and he.get_legend() is None


def test_plot_comparison_of_three_classes():
    data = blobs()
    rows = fastinit.compare_initializations(inits=("zeros", "he"), num_iterations=500,
                                            print_cost=False, data=data)
    fig = plotting.plot_comparison(rows, data, class_names=["a", "b", "c"])
    assert len(fig.axes) == 3
    assert [legend_texts(lg) for lg in fig.legends] == [["a", "b", "c"]]
    # zeros: equal softmax outputs, argmax class 0 everywhere
    np.testing.assert_allclose(pixel(fig.axes[1], 0.03, 0.03), plotting.region_colors(3)[0],
                               atol=0.02)
    with pytest.raises(ValueError, match="no comparison rows"):
        plotting.plot_comparison([], data)


def test_cli_plot_comparison_writes_the_figure(tmp_path, seed_data):
    from fastinit.cli import _plot_comparison

    rows = fastinit.compare_initializations(inits=("zeros",), num_iterations=10, print_cost=False)
    _plot_comparison(rows, seed_data, str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert plt.get_fignums() == []


# ---------------------------------------------------------------------------
# sweep: a clear note when no run converged
# ---------------------------------------------------------------------------

def records(group, accuracies, converged):
    return [{"init": group, "test_accuracy": a, "train_accuracy": a, "converged_at": c}
            for a, c in zip(accuracies, converged)]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_sweep_plot_when_no_run_converged():
    table = SweepTable(records("zeros", [0.5, 0.5], [None, None])
                       + records("random", [0.6, 0.7], [None, None]), cost_threshold=0.2)
    fig = fastinit.plot_sweep(table)
    left, right = fig.axes
    assert texts(right) == ["no run converged below cost 0.2"]
    assert right.get_yticks().size == 0 and not right.lines and not right.collections
    assert [t.get_text() for t in right.get_xticklabels()] == ["zeros\n0/2\nconverged",
                                                               "random\n0/2\nconverged"]
    for ax in (left, right):
        assert ax.get_title() and ax.get_xlabel() == "init"
    assert left.get_ylabel() == "test accuracy"
    assert [t.get_text() for t in left.get_xticklabels()] == ["zeros\n(n=2)", "random\n(n=2)"]


def test_sweep_plot_notes_each_group_without_a_converged_run():
    table = SweepTable(records("zeros", [0.5], [None]) + records("he", [0.9, 0.95], [3000, 5000]),
                       cost_threshold=0.1)
    left, right = fastinit.plot_sweep(table, by="train_accuracy").axes
    assert texts(right) == ["no run\nconverged\nbelow\ncost 0.1"]
    assert right.get_ylabel() == "iteration" and "0.1" in right.get_title()
    assert left.get_ylabel() == "train accuracy"
    # one run: a group of one dot
    fastinit.plot_sweep(SweepTable(records("he", [0.9], [1000]), cost_threshold=0.2))
    with pytest.raises(ValueError, match="no sweep records"):
        fastinit.plot_sweep(SweepTable([], 0.2))


# ---------------------------------------------------------------------------
# diagnostics: one column per layer, no dead units for the output
# ---------------------------------------------------------------------------

def columns(fig):
    """The figure's axes as columns (layer 1 first), each top to bottom."""
    grid = fig.axes[0].get_subplotspec().get_gridspec()
    n_rows, n_cols = grid.get_geometry()
    assert len(fig.axes) == n_rows * n_cols
    return [fig.axes[c::n_cols] for c in range(n_cols)]


def ylabels(column):
    return [ax.get_ylabel() for ax in column]


def test_diagnostics_one_column_per_layer(seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2000)
    cols = columns(fastinit.plot_diagnostics(r))
    assert len(cols) == 3
    assert [c[0].get_title() for c in cols] == ["layer 1 (relu)", "layer 2 (relu)",
                                               "layer 3 (output, sigmoid)"]
    for col in cols[:2]:
        assert ylabels(col)[1].startswith("dead units")
    assert not any("dead" in label for label in ylabels(cols[2]))
    assert ylabels(cols[2])[1].startswith("saturated outputs")
    for col in cols:
        assert all(ylabels(col)) and col[-1].get_xlabel() == "iteration"
        assert all(len(ax.lines) == 1 for ax in col)  # one series per panel: none hidden


def test_diagnostics_of_one_layer_and_of_zeros_initialization(seed_data):
    X, Y = seed_data[:2]
    (col,) = columns(fastinit.plot_diagnostics(fastinit.train(X, Y, [2, 1], num_iterations=1000)))
    assert col[0].get_title() == "layer 1 (output, sigmoid)"
    assert not any("dead" in label for label in ylabels(col))
    cols = columns(fastinit.plot_diagnostics(
        fastinit.train(X, Y, [2, 10, 5, 1], init="zeros", num_iterations=2000)))
    # activation std and ||dW|| of every layer are zero throughout, and say so
    for col in cols:
        assert texts(col[0]) == ["0 throughout"] and texts(col[2]) == ["0 throughout"]
    np.testing.assert_array_equal(cols[0][1].lines[0].get_ydata(), 1.0)  # every ReLU dead


def test_diagnostics_other_activations_and_bare_diagnostics(seed_data):
    X, Y = seed_data[:2]
    cols = columns(fastinit.plot_diagnostics(
        fastinit.train(X, Y, [2, 4, 1], activation="tanh", num_iterations=1000)))
    assert cols[0][0].get_title() == "layer 1 (tanh)"
    assert ylabels(cols[0])[1].startswith("saturated") and "dead" not in ylabels(cols[0])[1]
    cols = columns(fastinit.plot_diagnostics(
        fastinit.train(X, Y, [2, 4, 1], activation="linear", num_iterations=1000)))
    assert "no dead units or saturation\nfor linear units" in texts(cols[0][1])
    d = fastinit.diagnose(fastinit.initialize_parameters_he([2, 4, 3]), X, Y % 3)  # one record
    cols = columns(fastinit.plot_diagnostics(d, activation="relu"))
    assert len(cols) == 2 and cols[1][0].get_title() == "layer 2 (output, sigmoid)"
    r = fastinit.train(*fastinit.datasets.load_named("blobs")[:2], [2, 4, 3], num_iterations=100)
    assert columns(fastinit.plot_diagnostics(r))[1][0].get_title() == "layer 2 (output, softmax)"


# ---------------------------------------------------------------------------
# cost curves, signal propagation, symmetry
# ---------------------------------------------------------------------------

def test_cost_curves_signal_propagation_symmetry_edge_cases(seed_data):
    X, Y = seed_data[:2]
    results = {"zeros": fastinit.train(X, Y, [2, 3, 1], init="zeros", num_iterations=1),
               "he": fastinit.train(X, Y, [2, 3, 1], num_iterations=1)}
    ax = fastinit.plot_cost_curves(results).axes[0]
    assert legend_texts(ax.get_legend()) == ["zeros", "he"] and ax.get_title()
    assert ax.get_xlabel() == "iteration" and ax.get_yscale() == "linear"  # one record each
    ax = fastinit.signal_propagation(depth=1, width=5, m=20).plot().axes[0]
    assert list(ax.get_xticks()) == [1] and ax.get_ylabel().startswith("activation std")
    assert "zeros (all zero)" in legend_texts(ax.get_legend())
    ax = fastinit.plot_symmetry({"zeros": [0.0], "he": [1.5]}).axes[0]
    assert texts(ax) == ["0"] and legend_texts(ax.get_legend()) == ["layer 1"]
    assert ax.get_xlabel() == "initialization" and ax.get_ylabel() and ax.get_title()
