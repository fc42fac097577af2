"""The seed notebook's experiment: one network, several initializations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..io.datasets import load_dataset
from .._validation import check_array, output_units
from ..nn.initializers import Initializer, describe
from ..training.loop import TrainingResult, train

#: the notebook's network for 2-D inputs: LINEAR(10)->RELU->LINEAR(5)->RELU->LINEAR(1)->SIGMOID
SEED_HIDDEN_LAYERS = (10, 5)


@dataclass(frozen=True)
class ComparisonRow:
    """One line of the conclusion table."""

    init: Any
    train_accuracy: float
    test_accuracy: float
    comment: str
    result: TrainingResult

    @property
    def seconds(self) -> float:
        return self.result.elapsed


def compare_initializations(
    inits: Sequence[str] = ("zeros", "random", "he"),
    learning_rate: float = 0.01,
    num_iterations: int = 15000,
    dtype: Any = np.float64,
    print_cost: bool = True,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> list[ComparisonRow]:
    """Train the seed's network once per initialization and score it.

    Parameters
    ----------
    inits : sequence of str, default ("zeros", "random", "he")
        Initializations to compare: names of :data:`fastinit.INITIALIZERS`.
    learning_rate, num_iterations, dtype
        Passed to :func:`fastinit.train`; the defaults are the notebook's.
    print_cost : bool, default True
        Print each run's cost every 1000 iterations, as the notebook.
    data : (train_X, train_Y, test_X, test_Y), optional
        Defaults to :func:`fastinit.load_dataset`, the notebook's circles.

    Returns
    -------
    list of ComparisonRow
    """
    if isinstance(inits, str) or not all(isinstance(i, (str, Initializer)) for i in inits):
        raise TypeError(f"inits must be a sequence of initializer names or objects, got {inits!r}")
    if data is None:
        data = load_dataset()
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise ValueError("data must be (train_X, train_Y, test_X, test_Y), got "
                         f"{type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'}")
    train_X, train_Y, test_X, test_Y = data
    train_X = check_array(train_X, "train_X", np.dtype(np.float64))
    layers_dims = [train_X.shape[0], *SEED_HIDDEN_LAYERS, output_units(train_Y)]
    rows = []
    for init in inits:
        if print_cost:
            print(f"--- {init} initialization ---")
        result = train(
            train_X, train_Y, layers_dims, init=init, learning_rate=learning_rate,
            num_iterations=num_iterations, dtype=dtype, print_cost=print_cost,
        )
        rows.append(
            ComparisonRow(
                init=init,
                train_accuracy=result.accuracy(train_X, train_Y),
                test_accuracy=result.accuracy(test_X, test_Y),
                comment=describe(init),
                result=result,
            )
        )
    return rows


def format_table(rows: Sequence[ComparisonRow]) -> str:
    """The notebook's conclusion table, plus test accuracy and wall time."""
    header = ("Model", "Train accuracy", "Test accuracy", "Problem/Comment", "Time")
    lines = [
        (
            f"3-layer NN with {row.init} initialization",
            f"{row.train_accuracy:.2%}",
            f"{row.test_accuracy:.2%}",
            row.comment,
            f"{row.seconds * 1000:.0f} ms",
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(line.rstrip() for line in out)


@dataclass(frozen=True)
class SignalPropagation:
    """Per-layer activation std and weight-gradient norm at initialization,
    for each initializer (arrays of shape (depth,), layer 1 first)."""

    depth: int
    width: int
    activation: str
    activation_std: dict
    grad_norm: dict

    def table(self, layers: Sequence[int] | None = None) -> str:
        """The activation std of some layers (default: 1, 10, 20, ..., depth) per initializer."""
        layers = list(layers or sorted({1, *range(10, self.depth + 1, 10), self.depth}))
        head = f"{'init':<10}" + "".join(f"{'layer ' + str(l):>12}" for l in layers)
        rows = [head]
        for name, std in self.activation_std.items():
            rows.append(f"{name:<10}" + "".join(f"{std[l - 1]:>12.3g}" for l in layers))
        return "\n".join(rows)

    def plot(self, ax: Any = None) -> Any:
        """The activation std per layer (needs matplotlib); returns the Figure."""
        from ..plotting import plot_signal_propagation

        return plot_signal_propagation(self, ax)


def signal_propagation(
    depth: int = 50,
    width: int = 100,
    inits: Sequence[str] = ("he", "xavier", "random", "zeros"),
    activation: str = "relu",
    m: int = 1000,
    seed: int = 0,
) -> SignalPropagation:
    """How each initializer carries the signal through a deep network at
    initialization (Glorot & Bengio 2010, He et al. 2015).

    A network of ``depth`` hidden layers of ``width`` units (then one sigmoid
    unit) gets standard-normal inputs of dimension ``width``; for each
    initializer, the standard deviation of each hidden layer's activations and
    the norm of each layer's weight gradient are measured (in the compiled
    core, see :func:`fastinit.diagnose`).  With ReLU, He's std stays level,
    the notebook's Xavier (variance 1/n) halves the second moment per layer
    and ×10 random multiplies it by 50 width; zeros carries nothing.

    Returns
    -------
    SignalPropagation
    """
    from .._validation import check_count
    from ..training.diagnostics import diagnose
    from ..nn.initializers import initialize_parameters

    depth = check_count(depth, "depth", minimum=1)
    width = check_count(width, "width", minimum=1)
    m = check_count(m, "m", minimum=1)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((width, m))
    Y = rng.integers(0, 2, size=(1, m))
    dims = [width] * (depth + 1) + [1]
    stds, norms = {}, {}
    for init in inits:
        d = diagnose(initialize_parameters(dims, init, seed=seed), X, Y, activation)
        name = init if isinstance(init, str) else repr(init)
        stds[name] = d.activation_std[0, :depth]
        norms[name] = d.grad_norm[0, :depth]
    return SignalPropagation(depth, width, activation, stds, norms)


def symmetry_lesson(
    inits: Sequence[Any] = ("zeros", "constant", "he"),
    num_iterations: int = 2000,
    data: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, list[float]]:
    """Train the seed's network from each initialization and measure, per
    layer, how different its units ended up: the largest distance of a unit's
    incoming weights from the first unit's.  Zero means every unit of the layer
    is the same unit (symmetry never broken: zeros, or any constant).

    Returns
    -------
    dict
        init name -> list of per-hidden-layer spreads (layer 1 first).
    """
    from ..nn.initializers import Constant

    X, Y = load_dataset()[:2] if data is None else data
    spreads = {}
    for init in inits:
        obj = Constant(0.5) if init == "constant" else init
        params = train(X, Y, [np.shape(X)[0], *SEED_HIDDEN_LAYERS, 1], init=obj,
                       num_iterations=num_iterations, diagnostics=False).parameters
        spreads[init if isinstance(init, str) else repr(init)] = [
            float(np.max(np.abs(params[f"W{l}"] - params[f"W{l}"][0])))
            for l in range(1, len(SEED_HIDDEN_LAYERS) + 1)
        ]
    return spreads
