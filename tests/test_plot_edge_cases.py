"""Every plot function on its edge cases, read as a person would: class colours
and legends of the decision regions (zeros initialization predicts one class
everywhere; 3 classes), the sweep plot when no run converged and with a hue
(a box per group and value, in the value's colour), the diagnostics of one
layer and of a zeros initialization."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit import plotting
from fastinit.studies.sweeps import SweepTable

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
    from fastinit.io.datasets import load_named

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
# sweep with hue: one box per (group, hue value), coloured by hue value
# ---------------------------------------------------------------------------

def hue_records(group, hue, accuracies, converged):
    return [{"init": group, "optimizer": hue, "test_accuracy": a, "train_accuracy": a,
             "converged_at": c} for a, c in zip(accuracies, converged)]


def boxes(ax):
    """The boxes of a hue plot, left to right: (x of their centre, face colour)."""
    found = []
    for patch in ax.patches:
        x = patch.get_path().vertices[:, 0]
        found.append(((x.min() + x.max()) / 2, tuple(patch.get_facecolor()[:3])))
    return sorted(found)


def minor_labels(ax):
    return [(t.get_text(), tuple(matplotlib.colors.to_rgb(t.get_color())))
            for t in ax.get_xticklabels(minor=True)]


def extents(texts):
    renderer = texts[0].figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_text()]


def test_sweep_hue_one_box_per_group_and_hue_in_the_hue_colours():
    table = SweepTable(hue_records("zeros", "sgd", [0.5] * 3, [None] * 3)
                       + hue_records("zeros", "adam", [0.5] * 3, [None] * 3)
                       + hue_records("he", "sgd", [0.90, 0.92, 0.95], [9000, None, 7000])
                       + hue_records("he", "adam", [0.93, 0.94, 0.96], [1000, 2000, 1000]),
                       cost_threshold=0.2)
    fig = fastinit.plot_sweep(table, group="init", hue="optimizer")
    left, right = fig.axes
    sgd, adam = plotting.hue_colors(2)
    tint = {sgd: plotting._tint(sgd), adam: plotting._tint(adam)}
    # 4 boxes of accuracy: zeros (sgd, adam), he (sgd, adam), side by side in their group
    placed = boxes(left)
    assert len(placed) == 4
    xs = [x for x, _ in placed]
    assert 0.5 < xs[0] < xs[1] < 1.5 < xs[2] < xs[3] < 2.5
    np.testing.assert_allclose([c for _, c in placed], [tint[sgd], tint[adam]] * 2, atol=1e-6)
    # zeros converged nowhere: 2 boxes right, at the same places as their accuracy boxes
    assert [x for x, _ in boxes(right)] == pytest.approx(xs[2:])
    np.testing.assert_allclose([c for _, c in boxes(right)], [tint[sgd], tint[adam]], atol=1e-6)
    # the dots: one per run, in the hue colour, the same in both panels
    for ax, n in ((left, 12), (right, 5)):
        assert sum(len(c.get_offsets()) for c in ax.collections) == n
        assert {tuple(np.round(c.get_facecolor()[0][:3], 6)) for c in ax.collections} == \
            {tuple(np.round(sgd, 6)), tuple(np.round(adam, 6))}
    # one legend for the figure, titled by the hue column, an entry per value
    assert left.get_legend() is None and right.get_legend() is None
    (legend,) = fig.legends
    assert legend_texts(legend) == ["sgd", "adam"] and legend.get_title().get_text() == "optimizer"
    handles = legend.legend_handles if hasattr(legend, "legend_handles") else legend.legendHandles
    np.testing.assert_allclose([h.get_edgecolor()[:3] for h in handles], [sgd, adam])
    # group names under the groups; under each box the runs that converged, in its colour
    for ax in (left, right):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["zeros", "he"]
        assert ax.get_xlabel().startswith("init")
    assert minor_labels(right) == [("0/3", sgd), ("0/3", adam), ("2/3", sgd), ("3/3", adam)]
    assert "optimizer" in left.get_title() and "3 per box" in left.get_title()
    assert left.get_ylabel() == "test accuracy" and right.get_ylabel() == "iteration"


def test_sweep_hue_notes_each_box_without_a_converged_run_at_its_foot():
    table = SweepTable(hue_records("random", "sgd", [0.6, 0.7], [None, None])
                       + hue_records("random", "adam", [0.8, 0.9], [5000, None])
                       + hue_records("he", "sgd", [0.9, 0.9], [None, None])
                       + hue_records("he", "adam", [0.9, 0.95], [1000, 2000]), cost_threshold=0.2)
    right = fastinit.plot_sweep(table, hue="optimizer").axes[1]
    notes = right.texts
    assert [t.get_text() for t in notes] == ["none", "none"]
    sgd = plotting.hue_colors(2)[0]
    slots = [x for x, _ in boxes(fastinit.plot_sweep(table, hue="optimizer").axes[0])]
    for note, x in zip(notes, (slots[0], slots[2])):   # random/sgd and he/sgd
        assert note.get_position()[0] == pytest.approx(x)
        assert note.get_position()[1] < 0.1                # at the bottom of the panel
        assert matplotlib.colors.to_rgb(note.get_color()) == pytest.approx(sgd)
    # short notes, side by side: none overlaps another, a box or a tick label
    right.figure.canvas.draw()
    boxes_ = extents(notes) + [p.get_window_extent() for p in right.patches]
    for i, a in enumerate(boxes_):
        assert not any(a.overlaps(b) for b in boxes_[i + 1:])


def test_sweep_hue_when_no_run_converged_keeps_one_note():
    table = SweepTable(hue_records("zeros", "sgd", [0.5, 0.5], [None, None])
                       + hue_records("zeros", "adam", [0.5], [None]), cost_threshold=0.1)
    left, right = fastinit.plot_sweep(table, hue="optimizer").axes
    assert texts(right) == ["no run converged below cost 0.1"]
    assert not right.patches and right.get_yticks().size == 0
    assert [t for t, _ in minor_labels(right)] == ["0/2", "0/1"]
    # unequal runs per box: each box says its count, the title no "per box"
    assert [t for t, _ in minor_labels(left)] == ["n=2", "n=1"]
    assert "per box" not in left.get_title()


def test_sweep_hue_labels_stay_apart_and_the_figure_widens_with_the_boxes():
    inits = ["zeros", "random", "he", "xavier"]
    optimizers = ["sgd", "sgd (momentum 0.9)", "adam", "rmsprop"]
    table = SweepTable([r for i in inits for o in optimizers
                        for r in hue_records(i, o, [0.5, 0.9], [None, 1000])], 0.2)
    fig = fastinit.plot_sweep(table, hue="optimizer")
    left, right = fig.axes
    assert len(boxes(left)) == len(boxes(right)) == 16
    fig.canvas.draw()
    for ax in (left, right):
        minors = extents(ax.get_xticklabels(minor=True))
        majors = extents(ax.get_xticklabels())
        for i, a in enumerate(minors + majors):
            assert not any(a.overlaps(b) for b in (minors + majors)[i + 1:])
    # the legend sits above both panels, clear of their titles
    legend = fig.legends[0].get_window_extent()
    assert all(legend.y0 > ax.title.get_window_extent().y1 for ax in (left, right))
    narrow = fastinit.plot_sweep(SweepTable([r for r in table if r["init"] == "he"], 0.2),
                                 hue="optimizer")
    assert fig.get_size_inches()[0] > narrow.get_size_inches()[0] >= 11
    assert fig.get_size_inches()[0] >= 2 * 16 * 0.45   # about half an inch per box
    # an odd number of hues: the middle box sits on its group's tick, its label kept
    three = SweepTable([r for r in table if r["optimizer"] != "rmsprop"], 0.2)
    assert [t for t, _ in minor_labels(fastinit.plot_sweep(three, hue="optimizer").axes[1])] \
        == ["1/2"] * 12


def test_sweep_hue_colours_a_missing_pair_and_many_values():
    # he has no adam runs: its place stays empty, adam keeps its colour elsewhere
    table = SweepTable(hue_records("zeros", "sgd", [0.5], [None])
                       + hue_records("zeros", "adam", [0.5], [None])
                       + hue_records("he", "sgd", [0.9], [1000]), 0.2)
    left, right = fastinit.plot_sweep(table, hue="optimizer").axes
    assert len(boxes(left)) == 3 and len(left.get_xticklabels(minor=True)) == 3
    assert [t for t, _ in minor_labels(right)] == ["0/1", "0/1", "1/1"]
    # more values than the colour cycle: every value its own colour
    many = SweepTable([r for k in range(14) for r in hue_records("he", f"lr{k}", [0.9], [100])],
                      0.2)
    fig = fastinit.plot_sweep(many, hue="optimizer")
    assert len({c for _, c in boxes(fig.axes[0])}) == 14
    assert len(legend_texts(fig.legends[0])) == 14
    assert len(set(plotting.hue_colors(14))) == 14
    assert plotting.hue_colors(3) == [matplotlib.colors.to_rgb(f"C{k}") for k in range(3)]


def test_sweep_hue_errors():
    table = SweepTable(hue_records("he", "sgd", [0.9], [1000]), 0.2)
    with pytest.raises(ValueError, match="no column 'nope'"):
        fastinit.plot_sweep(table, hue="nope")
    with pytest.raises(ValueError, match="hue='init' is also the group column"):
        fastinit.plot_sweep(table, hue="init")
    with pytest.raises(ValueError, match="hue='optimizer' is also the group column"):
        fastinit.plot_sweep(table, group="optimizer", hue="optimizer")
    with pytest.raises(ValueError, match="hue='test_accuracy' is the plotted column"):
        fastinit.plot_sweep(table, hue="test_accuracy")
    # seaborn's spelling: by is the plotted accuracy here, the groups are group=
    with pytest.raises(ValueError, match=r"by='init' must name a numeric column.*group="):
        fastinit.plot_sweep(table, by="init", hue="optimizer")


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
    r = fastinit.train(*fastinit.io.datasets.load_named("blobs")[:2], [2, 4, 3], num_iterations=100)
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
