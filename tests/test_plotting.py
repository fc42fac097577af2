"""The plot functions (matplotlib is an optional extra)."""
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
    assert fig.axes[0].get_xlabel() == "layer" and fig.axes[0].get_title()
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
    assert len(fig.axes) == 3 * 3 and all(len(ax.lines) == 1 for ax in fig.axes)
    fig.savefig(tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="no diagnostics"):
        fastinit.plot_diagnostics(fastinit.train(X, Y, [2, 3, 1], num_iterations=5, diagnostics=False))
    plt.close("all")


# ---------------------------------------------------------------------------
# save_figure: the format from the suffix, atomic replacement
# ---------------------------------------------------------------------------

@pytest.fixture
def figure():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    yield fig
    plt.close(fig)


@pytest.mark.parametrize("name, magic", [("f.png", b"\x89PNG"), ("f.PNG", b"\x89PNG"),
                                         ("f", b"\x89PNG"), ("f.svg", b"<?xml"),
                                         ("f.pdf", b"%PDF")])
def test_save_figure_writes_the_format_of_the_suffix(tmp_path, figure, name, magic):
    from fastinit.plotting import save_figure

    assert save_figure(figure, tmp_path / name, dpi=50) == str(tmp_path / name)
    assert (tmp_path / name).read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # exactly there, nothing beside


def test_save_figure_refuses_bad_paths_before_rendering(tmp_path, figure, monkeypatch):
    from fastinit.plotting import check_figure_path, save_figure

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered before the path was checked")

    monkeypatch.setattr(figure, "savefig", no_rendering)
    with pytest.raises(ValueError, match=r"--plot '.*f\.nosuch': matplotlib cannot write \.nosuch"):
        save_figure(figure, tmp_path / "f.nosuch", "--plot")
    with pytest.raises(ValueError, match="is a directory"):
        save_figure(figure, tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        check_figure_path(tmp_path / "no" / "f.png")
    assert check_figure_path(tmp_path / "f.svg") == (str(tmp_path / "f.svg"), "svg")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        save_figure("not a figure", tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_rendering_keeps_the_old_file(tmp_path, figure, monkeypatch):
    from fastinit.plotting import save_figure

    path = tmp_path / "f.png"
    path.write_bytes(b"the old figure")
    render = figure.savefig

    def half_then_fail(f, **kwargs):
        f.write(b"\x89PNG half a figure")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(figure, "savefig", half_then_fail)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(figure, path)
    assert path.read_bytes() == b"the old figure"
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]
    monkeypatch.setattr(figure, "savefig", render)
    save_figure(figure, path)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_plot_functions_write_no_files(tmp_path, monkeypatch, seed_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    rows = fastinit.compare_initializations(num_iterations=20, print_cost=False)
    fastinit.plot_cost_curves(rows)
    fastinit.plot_decision_boundary(lambda x: x[:, 0] > 0, *seed_data[:2])
    plt.close("all")
    assert list(tmp_path.iterdir()) == []


def test_plot_sweep_with_hue_of_a_real_sweep(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optimizers = [{"optimizer": "sgd"}, {"optimizer": "sgd", "momentum": 0.9},
                  {"optimizer": "adam", "learning_rate": 0.001}]
    configs = [{"init": init, "seed": seed, "num_iterations": 300, **opt}
               for init in ("zeros", "he") for opt in optimizers for seed in range(2)]
    table = fastinit.sweep(configs=configs, record_every=100, progress=None)
    # plain sgd and sgd with momentum share optimizer "sgd": one box for both
    fig = fastinit.plot_sweep(table, hue="optimizer")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["sgd", "adam"]
    assert len(fig.axes[0].patches) == 4
    # the README's label column tells them apart
    for r in table:
        r["optimizer (momentum)"] = r["optimizer"] + (f" (momentum {r['momentum']})"
                                                      if r["momentum"] else "")
    fig = fastinit.plot_sweep(table, group="init", hue="optimizer (momentum)")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "sgd", "sgd (momentum 0.9)", "adam"]
    assert len(fig.axes[0].patches) == 6 and len(fig.axes) == 2
    fig.savefig(tmp_path / "s.png", dpi=50)
    assert (tmp_path / "s.png").stat().st_size > 5000
    plt.close("all")
