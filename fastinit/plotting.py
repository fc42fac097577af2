"""Plots (matplotlib is an optional extra: ``pip install "fastinit[plot]"``).

The ``plot_*`` functions return figures and write nothing; :func:`save_figure`
writes a figure to a file atomically (a failure leaves an existing file as it
was), in the format its suffix names.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from .io._files import atomic_write, check_writable
from ._validation import check_array


def pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plotting needs matplotlib, an optional dependency of fastinit: "
            'install it with  pip install "fastinit[plot]"  (or  pip install matplotlib)'
        ) from exc
    return plt


def figure_format(path: str | os.PathLike, name: str = "path") -> str:
    """The matplotlib format a figure file is written in: its suffix (``.png``,
    ``.svg``, ``.pdf``, ...), or PNG when it has none.

    Raises
    ------
    ValueError
        The suffix names no format matplotlib writes (the message names ``name``).
    ImportError
        matplotlib is not installed.
    """
    pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = os.path.splitext(os.fspath(path))[1][1:].lower()
    if not suffix:
        return "png"
    supported = FigureCanvasBase.get_supported_filetypes()
    if suffix not in supported:
        raise ValueError(f"{name} {os.fspath(path)!r}: matplotlib cannot write .{suffix} files; "
                         f"use one of {', '.join('.' + s for s in sorted(supported))}")
    return suffix


def check_figure_path(path: str | os.PathLike, name: str = "path") -> tuple[str, str]:
    """``(path, format)`` once a figure can be written to ``path``: a
    writable file name (not a directory, in an existing writable folder) whose
    suffix matplotlib writes.  Lets a command refuse a bad output *before* its
    work.  Raises ``ValueError`` naming ``name`` (``ImportError`` without
    matplotlib)."""
    path = check_writable(path, name)
    return path, figure_format(path, name)


def save_figure(fig: Any, path: str | os.PathLike, name: str = "path", **savefig_kwargs: Any) -> str:
    """Write a matplotlib figure to ``path`` atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        The file to write; its suffix gives the format (PNG without one).
        The figure is rendered to a temporary file beside it, which then
        replaces it: an error while rendering leaves an existing file as it
        was.
    name : str, default "path"
        What error messages call ``path`` (e.g. ``"--plot"``).
    **savefig_kwargs
        Passed to ``fig.savefig`` (e.g. ``dpi=80``).

    Returns
    -------
    str
        The path written.
    """
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    path, fmt = check_figure_path(path, name)
    with atomic_write(path, "wb", name=name) as f:
        fig.savefig(f, format=fmt, **savefig_kwargs)
    return path


# ---------------------------------------------------------------------------
# Class colours: class k is drawn in CLASS_COLORS[k] (its points) and in a
# light tint of it (the region predicted as k), in every panel, whatever the
# panel predicts: a region predicted entirely as class 0 is class 0's tint.
# ---------------------------------------------------------------------------

CLASS_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
REGION_TINT = 0.35  # a region's colour: this much of its class colour over white


def class_colors(n_classes: int) -> list[tuple[float, float, float]]:
    """The RGB colours of classes ``0 .. n_classes - 1`` (their points)."""
    pyplot()
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb

    if n_classes <= len(CLASS_COLORS):
        return [to_rgb(c) for c in CLASS_COLORS[:n_classes]]
    cmap = colormaps["turbo"]
    return [to_rgb(cmap(i / (n_classes - 1))) for i in range(n_classes)]


def region_colors(n_classes: int) -> list[tuple[float, float, float]]:
    """The RGB colours of the regions predicted as classes ``0 .. n_classes - 1``."""
    return [(1.0 - REGION_TINT * (1.0 - r), 1.0 - REGION_TINT * (1.0 - g),
             1.0 - REGION_TINT * (1.0 - b)) for r, g, b in class_colors(n_classes)]


def _labels(values: np.ndarray, what: str) -> np.ndarray:
    """Class labels 0, 1, ... as int64 (``what`` names them in errors)."""
    if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
        raise ValueError(f"{what} must be class labels 0, 1, ..., got values from "
                         f"{np.nanmin(values):g} to {np.nanmax(values):g}")
    return values.astype(np.int64)


def _class_handles(n_classes: int, class_names: Any) -> list:
    from matplotlib.lines import Line2D

    return [Line2D([], [], linestyle="", marker="o", markersize=7, markerfacecolor=c,
                   markeredgecolor="k", markeredgewidth=0.5, label=name)
            for c, name in zip(class_colors(n_classes), class_names)]


def _class_names(class_names: Any, n_classes: int | None, *labels: np.ndarray) -> list[str]:
    """The names of the classes: ``class_names``, else "class 0", "class 1", ...
    for max(2, n_classes, largest label + 1) classes."""
    seen = max([int(a.max()) + 1 for a in labels if a.size] + [1])
    if class_names is not None:
        names = [str(n) for n in class_names]
        n = len(names)
    else:
        n = max(seen, n_classes or 0, 2)
        names = [f"class {k}" for k in range(n)]
    if n < seen:
        raise ValueError(f"{n} classes named, but the labels or predictions go up to {seen - 1}")
    return names


def plot_decision_boundary(
    model: Callable[[np.ndarray], ArrayLike],
    X: ArrayLike,
    y: ArrayLike,
    ax: Any = None,
    *,
    class_names: Any = None,
    n_classes: int | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Any:
    """Draw a classifier's decision regions with the data on top (the seed's
    ``plot_decision_boundary``).

    Each class has one colour in every plot (:func:`class_colors`): its
    points in that colour, the region predicted as that class in a light tint
    of it (a model predicting class 0 everywhere gives a plot tinted in class
    0's colour alone).

    Parameters
    ----------
    model : callable
        Takes points as rows, an array of shape (n_points, 2), and returns one
        prediction per point (any shape with n_points elements): class labels
        0, 1, ... (booleans count as 0 / 1), e.g.
        ``lambda x: predict_dec(parameters, x.T)``.  Non-integer predictions
        are rounded to the nearest label (a probability of class 1 becomes
        its 0.5-threshold label).
    X : array_like of shape (2, m)
        The data, one point per column.
    y : array_like of shape (1, m) or (m,)
        Their labels 0, 1, ..., which give the points' colours.
    ax : matplotlib Axes, optional
        Where to draw; defaults to the current axes (``plt.gca()``), so that
        the notebook's ``plt.title`` and ``axes.set_xlim`` calls apply.
    class_names : sequence of str, optional
        The legend's names of classes 0, 1, ... (default "class 0", "class 1", ...).
    n_classes : int, optional
        How many classes there are, when neither the labels nor the
        predictions show them all (e.g. for a legend of every class).
    title : str, optional
        The axes' title; by default "decision regions" unless the axes has one.
    legend : bool, default True
        Draw a legend naming the classes.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = pyplot()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    X = check_array(X, "X", np.dtype(np.float64))
    if X.shape[0] != 2:
        raise ValueError(f"X must have shape (2, m): two features, got {X.shape}")
    y = check_array(y, "y", np.dtype(np.float64), ndim=None).reshape(-1)
    if y.shape[0] != X.shape[1]:
        raise ValueError(f"y must have {X.shape[1]} labels to match X, got {np.shape(y)}")
    if not callable(model):
        raise TypeError(f"model must be a callable, got {type(model).__name__}")
    y = _labels(np.rint(y), "y")
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
    Z = _labels(np.rint(Z.astype(np.float64)), "the model's predictions").reshape(xx.shape)
    names = _class_names(class_names, n_classes, y, Z)
    k = len(names)
    # one filled level per class, whatever the predictions contain
    levels = np.arange(k + 1) - 0.5
    ax.contourf(xx, yy, Z, levels=levels, cmap=ListedColormap(region_colors(k)),
                norm=BoundaryNorm(levels, k))
    for c, (colour, name) in enumerate(zip(class_colors(k), names)):
        members = y == c
        ax.scatter(X[0, members], X[1, members], color=colour, s=18, edgecolors="k",
                   linewidths=0.4, label=name)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title is not None:
        ax.set_title(title)
    elif not ax.get_title():
        ax.set_title("decision regions")
    if legend:
        ax.legend(handles=_class_handles(k, names), loc="upper right", fontsize="small",
                  framealpha=0.9)
    return ax


def _axes(ax, figsize=(7, 4)):
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def _log_scale_if_positive(ax, values) -> None:
    """A log y axis when every finite value is positive and they span more than
    a factor of 100 (a wide range read on a log scale; a narrower one reads
    better on a linear scale, whose ticks are all labelled)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        from matplotlib.ticker import NullFormatter

        ax.set_yscale("log")
        # a range over a factor of 100 has two labelled powers of 10: none between
        ax.yaxis.set_minor_formatter(NullFormatter())


def _note(ax, text: str, **kwargs) -> None:
    """A centred note in the axes (e.g. why a panel is empty)."""
    kwargs.setdefault("fontsize", "medium")
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.3",
            wrap=True, **kwargs)


def plot_cost_curves(results: Any, ax: Any = None) -> Any:
    """Cost against iteration for several trainings on one axes (log scale
    when the costs span more than a factor of 100).

    Parameters
    ----------
    results : list of ComparisonRow or dict of name -> TrainingResult
        E.g. the output of :func:`fastinit.compare_initializations`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = _axes(ax)
    if isinstance(results, dict):
        items = list(results.items())
    else:
        items = [(row.init, row.result) for row in results]
    for name, result in items:
        costs = np.asarray(result.costs, dtype=np.float64)
        ax.plot(result.cost_iterations, costs, label=str(name),
                marker="o" if costs.size == 1 else None)
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_ylabel("cost (training set)")
    _log_scale_if_positive(ax, np.concatenate([np.ravel(r.costs) for _, r in items]
                                              or [np.empty(0)]))
    if not ax.get_title():
        ax.set_title("cost during training")
    if items:
        ax.legend(title="initialization", fontsize="small")
    return fig


def plot_comparison(rows: Any, data: Any, class_names: Any = None) -> Any:
    """The figure of ``fastinit compare --plot``: the cost curves of the
    trainings, then each one's decision regions on the training set (titled
    with its train and test accuracy), in the same class colours throughout.

    Parameters
    ----------
    rows : list of ComparisonRow
        The output of :func:`fastinit.compare_initializations`.
    data : tuple (train_X, train_Y, test_X, test_Y)
        The data they were trained on, one example per column (two features,
        for the decision regions).
    class_names : sequence of str, optional
        The legend's names of the classes (default "class 0", "class 1", ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .nn.network import predict_labels

    plt = pyplot()
    rows = list(rows)
    if not rows:
        raise ValueError("no comparison rows to plot")
    train_X, train_Y = data[0], data[1]
    first = rows[0].result.parameters
    n_out = np.shape(first[f"W{len(first) // 2}"])[0]
    n_classes = 2 if n_out == 1 else n_out
    fig, axes = plt.subplots(1, len(rows) + 1, figsize=(4.2 * (len(rows) + 1), 4.3))
    plot_cost_curves(rows, ax=axes[0])
    axes[0].set_title("cost during training")
    names = _class_names(class_names, n_classes,
                         _labels(np.rint(np.asarray(train_Y, dtype=np.float64)).ravel(), "train_Y"))
    for ax, row in zip(axes[1:], rows):
        r = row.result
        model = (lambda x, r=r: predict_labels(x.T, r.parameters, r.activation, r.negative_slope))
        plot_decision_boundary(model, train_X, train_Y, ax=ax, class_names=names, legend=False,
                               title=f"{row.init}: train {row.train_accuracy:.0%}, "
                                     f"test {row.test_accuracy:.0%}")
    # one class legend for every panel: the colours are the same in each
    fig.legend(handles=_class_handles(len(names), names), loc="lower center", ncol=len(names) + 1,
               frameon=False,
               title="points: training set, coloured by label;  shading: predicted class")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_signal_propagation(experiment: Any, ax: Any = None) -> Any:
    """Activation std per layer at initialization, one line per initializer
    (log scale; an all-zero line, as from zeros initialization, cannot be
    drawn on it: it is drawn dashed along the bottom edge, labelled "all zero").

    Parameters
    ----------
    experiment : SignalPropagation
        The output of :func:`fastinit.signal_propagation`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    own = ax is None
    fig, ax = _axes(ax, figsize=(8.5, 4))
    layers = np.arange(1, experiment.depth + 1)
    marker = "o" if experiment.depth <= 12 else None
    zero = []
    for k, (name, std) in enumerate(experiment.activation_std.items()):
        std = np.asarray(std, dtype=np.float64)
        if np.all(std == 0):
            zero.append((k, name))
        else:
            ax.plot(layers, std, label=name, marker=marker, color=f"C{k % 10}")
    positive = len(zero) < len(experiment.activation_std)
    if positive:
        ax.set_yscale("log")
    for k, name in zero:
        # along the bottom edge: x in data, y in axes coordinates
        ax.plot(layers, np.full(layers.shape, 0.02), linestyle="--", marker=marker,
                color=f"C{k % 10}", transform=ax.get_xaxis_transform(),
                label=f"{name} (all zero)")
    ax.set_xlabel("layer")
    if experiment.depth <= 12:
        ax.set_xticks(layers)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, experiment.depth + 0.5)
    ax.set_ylabel("activation std" + (" (log scale)" if positive else ""))
    if not ax.get_title():
        ax.set_title(f"activation std at initialization: {experiment.activation} network "
                     f"of width {experiment.width}")
    handles, labels = ax.get_legend_handles_labels()
    # beside the axes: the lines fill them from corner to corner
    ax.legend(handles, labels, title="initialization", fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    if own:
        fig.tight_layout()
    return fig


def plot_symmetry(spreads: dict, ax: Any = None) -> Any:
    """Bar chart of :func:`fastinit.symmetry_lesson`: how far apart the units
    of each hidden layer ended up, per initialization (a spread of 0, every
    unit of the layer the same unit, is marked "0": symmetry never broken).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    names = list(spreads)
    if not names:
        raise ValueError("no spreads to plot")
    n_layers = len(next(iter(spreads.values())))
    width = 0.8 / max(n_layers, 1)
    for l in range(n_layers):
        x = np.arange(len(names)) + l * width
        values = [spreads[n][l] for n in names]
        bars = ax.bar(x, values, width, label=f"layer {l + 1}")
        for xi, v in zip(x, values):
            if v == 0:
                ax.annotate("0", (xi, 0), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontweight="bold",
                            color=bars.patches[0].get_facecolor())
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2)
    ax.set_xticklabels(names)
    ax.set_xlabel("initialization")
    ax.set_ylabel("max distance between units' weights")
    if not ax.get_title():
        ax.set_title("how different each hidden layer's units ended up (0: all the same)")
    ax.legend(title="hidden layer", fontsize="small")
    return fig


# What the fraction row of plot_diagnostics shows for a layer of each activation:
# (Diagnostics field, y label) -- dead units for ReLUs, saturation for the
# squashing functions and the output; neither means anything for linear units.
_DEAD = ("dead_fraction", "dead units\n(fraction never > 0)")
_SATURATED = {"tanh": ("saturated_fraction", "saturated\n(fraction |a| > 0.99)"),
              "sigmoid": ("saturated_fraction", "saturated\n(fraction outside [0.01, 0.99])")}
_FRACTION_ROW = {"relu": _DEAD, "leaky_relu": _DEAD, **_SATURATED}


def plot_diagnostics(diagnostics: Any, activation: str | None = None) -> Any:
    """Per-layer diagnostics over training, in small multiples: one column per
    layer (layer 1 on the left, the output on the right), sharing the
    iteration axis, with one row each for the activation std, the fraction of
    dead units (ReLU layers) or of saturated activations (tanh / sigmoid
    layers and the sigmoid / softmax output) and the weight-gradient norm
    ``||dW||``.  A quantity zero throughout (zeros initialization) is said so.

    Parameters
    ----------
    diagnostics : Diagnostics or TrainingResult
        ``result.diagnostics`` of :func:`fastinit.train` (or the result itself).
    activation : str, optional
        The hidden layers' activation; by default the result's, or "relu" for
        bare diagnostics (as :func:`fastinit.diagnose`'s default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._validation import check_activation

    plt = pyplot()
    d = getattr(diagnostics, "diagnostics", diagnostics)
    if d is None or not hasattr(d, "activation_std"):
        raise ValueError("no diagnostics to plot: train with diagnostics=True")
    if activation is None:
        activation = getattr(diagnostics, "activation", "relu")
    activation = check_activation(activation)[0]
    dims = getattr(diagnostics, "layers_dims", None)
    output = "softmax" if dims is not None and dims[-1] > 1 else "sigmoid"
    iterations = np.asarray(d.iterations)
    n_layers = d.activation_std.shape[1]
    fig, axes = plt.subplots(3, n_layers, figsize=(max(3.4 * n_layers + 0.6, 6.0), 6.6),
                             sharex=True, squeeze=False)
    marker = "o" if len(iterations) <= 30 else None
    for l in range(n_layers):
        hidden = l < n_layers - 1
        if hidden:
            axes[0, l].set_title(f"layer {l + 1} ({activation})")
            fraction = _FRACTION_ROW.get(activation)
        else:
            axes[0, l].set_title(f"layer {l + 1} (output, {output})")
            fraction = ("saturated_fraction", "saturated outputs\n(fraction outside [0.01, 0.99])")
        rows = [("activation_std", "activation std", "C0"), (*(fraction or (None, None)), "C3"),
                ("grad_norm", "||dW|| (gradient norm)", "C2")]
        for r, (field, label, colour) in enumerate(rows):
            ax = axes[r, l]
            if field is None:
                ax.set_yticks([])
                _note(ax, f"no dead units or saturation\nfor {activation} units", fontsize="small")
                continue
            values = np.asarray(getattr(d, field)[:, l], dtype=np.float64)
            ax.plot(iterations, values, color=colour, marker=marker, markersize=3)
            ax.set_ylabel(label, fontsize="small")
            if field.endswith("fraction"):
                ax.set_ylim(-0.05, 1.05)
            elif np.all(values == 0):
                ax.text(0.5, 0.75, "0 throughout", transform=ax.transAxes, ha="center",
                        va="center", color="0.3")
            else:
                _log_scale_if_positive(ax, values)
        axes[-1, l].set_xlabel("iteration")
    init = getattr(diagnostics, "init", None)
    fig.suptitle("per-layer diagnostics during training"
                 + (f", {init} initialization" if isinstance(init, str) else ""))
    fig.tight_layout()
    return fig


# Hue colours of plot_sweep: matplotlib's default cycle (C0, C1, ...) while it
# lasts, then evenly spaced along "turbo": never one colour for two values.
HUE_TINT = 0.3  # a box's face: this much of its hue colour over white


def hue_colors(n: int) -> list[tuple[float, float, float]]:
    """The RGB colours of ``n`` hue values (:func:`plot_sweep`): the default
    colour cycle C0 .. C9 for up to 10, else ``n`` colours spread along the
    "turbo" colour map, so that no two values share one."""
    pyplot()
    from matplotlib import colormaps, rcParams
    from matplotlib.colors import to_rgb

    cycle = [to_rgb(c) for c in rcParams["axes.prop_cycle"].by_key().get("color", [])]
    if n <= len(cycle):
        return cycle[:n]
    cmap = colormaps["turbo"]
    return [to_rgb(cmap(0.05 + 0.9 * i / max(n - 1, 1))) for i in range(n)]


def _tint(colour: tuple[float, float, float],
          amount: float = HUE_TINT) -> tuple[float, float, float]:
    """``amount`` of ``colour`` over white."""
    r, g, b = (1.0 - amount * (1.0 - c) for c in colour)
    return r, g, b


def _check_numeric(records: list, column: str, group: str) -> None:
    """Refuse a ``by`` column that holds no numbers (``by`` is the plotted
    accuracy; the groups are ``group``)."""
    for r in records:
        try:
            np.asarray(r[column], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"by={column!r} must name a numeric column to plot (\"test_accuracy\" or "
                f"\"train_accuracy\"), got the value {r[column]!r}; the groups along the x axis "
                f"are group= (here {group!r}), the boxes within a group hue=") from None


def plot_sweep(table: Any, by: str = "test_accuracy", group: str = "init",
               hue: str | None = None) -> Any:
    """Distributions of a sweep per group (e.g. per initializer): accuracy
    on the left, the iteration at which the cost first fell below the
    threshold on the right (converged runs only; how many converged is in the
    tick labels, and a group none of whose runs converged says so in the
    panel).  One dot per run, in one colour per group in both panels.

    With ``hue``, each group holds one box per value of the ``hue`` column,
    side by side, in one colour per value (the same in both panels, named in
    one legend above them); under each box of the right panel, how many of
    its runs converged ("3/5"), and a box none of whose runs converged says
    "none" at its foot.  The figure is as wide as its boxes need.

    Parameters
    ----------
    table : SweepTable
        The output of :func:`fastinit.sweep` (or any sequence of its records,
        dicts, with ``cost_threshold`` optional).
    by : str, default "test_accuracy"
        The accuracy column of the left panel ("train_accuracy" or "test_accuracy").
    group : str, default "init"
        The column whose values form the groups along the x axis.
    hue : str, optional
        A second column, whose values split each group into boxes side by
        side, coloured by value (seaborn's ``hue``), e.g. ``"optimizer"``.
        Values are compared as text, in the order they first appear.  A
        (group, hue) pair without records leaves its place empty.  Default:
        one box per group.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No records; a column that is not in them; ``hue`` equal to ``group``
        or to ``by``; a ``by`` column that holds no numbers.
    """
    plt = pyplot()
    records = list(table)
    if not records:
        raise ValueError("no sweep records to plot")
    for column in (by, group) if hue is None else (by, group, hue):
        if column not in records[0]:
            raise ValueError(f"no column {column!r} in the sweep records")
    if hue is not None and hue == group:
        raise ValueError(f"hue={hue!r} is also the group column: hue must name another column "
                         f"(e.g. group='init', hue='optimizer'), or leave hue out")
    if hue is not None and hue == by:
        raise ValueError(f"hue={hue!r} is the plotted column by={by!r}: hue must name a column "
                         f"of settings (e.g. 'optimizer')")
    _check_numeric(records, by, group)
    threshold = getattr(table, "cost_threshold", None)
    limit = f"{threshold:g}" if threshold else "the threshold"
    if hue is not None:
        return _plot_sweep_hue(plt, records, by, group, hue, limit)
    names = list(dict.fromkeys(str(r[group]) for r in records))
    members = {n: [r for r in records if str(r[group]) == n] for n in names}
    box = dict(showfliers=False, medianprops=dict(color="k", linewidth=1.5))
    # 11 inches up to 5 groups, then wider: each group's two-line tick labels need room
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(11.0, 2 * (0.8 * len(names) + 1.0)), 4.3))
    rng = np.random.default_rng(0)  # horizontal jitter of the points only
    ticks = range(1, len(names) + 1)

    def dots(ax, k, values):
        values = np.asarray(values, dtype=np.float64)
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(values)), values, s=10, alpha=0.6,
                   color=f"C{(k - 1) % 10}", zorder=3)

    accuracy = [np.asarray([r[by] for r in members[n]], dtype=np.float64) for n in names]
    for k, values in zip(ticks, accuracy):
        dots(left, k, values)
    left.boxplot([v[np.isfinite(v)] for v in accuracy], **box)
    left.set_xticks(ticks, [f"{n}\n(n={len(members[n])})" for n in names])
    what = by.replace("_", " ")
    left.set_ylabel(what)
    left.set_xlabel(group)
    left.set_title(f"{what} per {group} (one dot per run)")

    converged = [[r["converged_at"] for r in members[n] if r["converged_at"] is not None]
                 for n in names]
    right.set_xlabel(group)
    right.set_title(f"first iteration with the cost below {limit} (converged runs)")
    if not any(converged):
        right.set_yticks([])
        _note(right, f"no run converged below cost {limit}")
    else:
        right.boxplot([c if c else [np.nan] for c in converged], **box)
        for k, c in zip(ticks, converged):
            if c:
                dots(right, k, c)
            else:
                right.text(k, 0.5, f"no run\nconverged\nbelow\ncost {limit}",
                           transform=right.get_xaxis_transform(), ha="center", va="center",
                           color="0.3", fontsize="small")
        right.set_ylabel("iteration")
    right.set_xticks(ticks, [f"{n}\n{len(c)}/{len(members[n])}\nconverged"
                             for n, c in zip(names, converged)])
    right.set_xlim(0.5, len(names) + 0.5)
    fig.tight_layout()
    return fig


def _plot_sweep_hue(plt: Any, records: list, by: str, group: str, hue: str, limit: str) -> Any:
    """:func:`plot_sweep` with a ``hue`` column: one box per (group, hue value)."""
    from matplotlib.patches import Patch

    names = list(dict.fromkeys(str(r[group]) for r in records))
    hues = list(dict.fromkeys(str(r[hue]) for r in records))
    colours = hue_colors(len(hues))
    cells: dict[tuple[str, str], list] = {}
    for r in records:
        cells.setdefault((str(r[group]), str(r[hue])), []).append(r)
    step = 0.8 / len(hues)  # a group spans 0.8 of its unit on the x axis, one step per hue
    # the places of the boxes: (x, hue index, runs), group by group, present pairs only
    slots = [(g + 1 + (k - (len(hues) - 1) / 2) * step, k, cells[n, h])
             for g, n in enumerate(names) for k, h in enumerate(hues) if (n, h) in cells]

    # about half an inch per box (a group at least 0.9 in, for its name) plus the y axis
    panel = len(names) * max(0.9, 0.5 * len(hues)) + 1.4
    width = max(11.0, 2 * panel)
    # the legend above the panels: as many entries a row as fit
    entry = max(0.55 + 0.075 * len(h) for h in hues)
    ncol = max(1, min(len(hues), int(0.9 * width / entry)))
    legend_height = 0.35 + 0.25 * -(-len(hues) // ncol)
    height = 4.6 + legend_height
    fig, (left, right) = plt.subplots(1, 2, figsize=(width, height))
    rng = np.random.default_rng(0)  # horizontal jitter of the points only

    def boxes(ax, k, xs, samples):
        colour = colours[k]
        ax.boxplot(samples, positions=xs, widths=0.7 * step, patch_artist=True,
                   showfliers=False, manage_ticks=False,
                   boxprops=dict(facecolor=_tint(colour), edgecolor=colour),
                   whiskerprops=dict(color=colour), capprops=dict(color=colour),
                   medianprops=dict(color="k", linewidth=1.5))
        for x, values in zip(xs, samples):
            ax.scatter(x + rng.uniform(-0.22, 0.22, len(values)) * step, values, s=12,
                       alpha=0.75, color=colour, linewidths=0, zorder=3)

    def axis(ax, minor_labels):
        """Group names under the groups, ``minor_labels`` (if any) under the boxes."""
        xs = [x for x, _, _ in slots]
        # the middle box of an odd number sits on its group's tick: keep its label too
        ax.xaxis.remove_overlapping_locs = False
        ax.set_xticks(xs, minor_labels or [""] * len(xs), minor=True)
        ax.tick_params(axis="x", which="minor", length=3, labelsize="small")
        if minor_labels:  # tick i is drawn at xs[i], with minor_labels[i]
            for tick, (_, k, _) in zip(ax.xaxis.get_minor_ticks(len(xs)), slots):
                tick.label1.set_color(colours[k])
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.tick_params(axis="x", which="major", length=0, pad=17 if minor_labels else 6)
        ax.set_xlim(0.5, len(names) + 0.5)
        for g in range(1, len(names)):  # a faint line between groups
            ax.axvline(g + 0.5, color="0.88", linewidth=0.8, zorder=0)

    what = by.replace("_", " ")
    sizes = {len(runs) for _, _, runs in slots}
    for k in range(len(hues)):
        mine = [(x, np.asarray([r[by] for r in runs], dtype=np.float64))
                for x, j, runs in slots if j == k]
        mine = [(x, v[np.isfinite(v)]) for x, v in mine]
        mine = [(x, v) for x, v in mine if v.size]
        if mine:
            boxes(left, k, [x for x, _ in mine], [v for _, v in mine])
    left.set_ylabel(what)
    left.set_xlabel(group)
    each = f", {sizes.pop()} per box" if len(sizes) == 1 else ""
    left.set_title(f"{what} per {group} and {hue}: one dot per run{each}")
    axis(left, None if each else [f"n={len(runs)}" for _, _, runs in slots])

    converged = [[r["converged_at"] for r in runs if r["converged_at"] is not None]
                 for _, _, runs in slots]
    right.set_title(f"first iteration with the cost below {limit} (converged runs)")
    right.set_xlabel(f"{group}   (under each box: converged runs / runs)")
    if not any(converged):
        right.set_yticks([])
        _note(right, f"no run converged below cost {limit}")
    else:
        for k in range(len(hues)):
            iterations = [(x, c) for (x, j, _), c in zip(slots, converged) if j == k and c]
            if iterations:
                boxes(right, k, [x for x, _ in iterations],
                      [np.asarray(c, dtype=np.float64) for _, c in iterations])
        for (x, k, _), c in zip(slots, converged):
            if not c:  # at the foot of its place: no run of this box converged
                right.text(x, 0.02, "none", transform=right.get_xaxis_transform(),
                           ha="center", va="bottom", color=colours[k], fontsize="small")
        right.set_ylabel("iteration")
    axis(right, [f"{len(c)}/{len(runs)}" for (_, _, runs), c in zip(slots, converged)])

    # one legend for both panels: the colours are the same in each
    fig.legend(handles=[Patch(facecolor=_tint(c), edgecolor=c, label=h)
                        for c, h in zip(colours, hues)],
               loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, title=hue,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - legend_height / height))
    return fig
