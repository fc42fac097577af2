"""Every plot function on its edge cases, read as a person would: class colours
and legends of the decision regions (zeros initialization predicts one class
everywhere; 3 classes), the sweep plot when no run converged, the diagnostics
of one layer and of a zeros initialization."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit import plotting

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
