"""The seed notebook's experiment: one network, several initializations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .datasets import load_dataset
from ._validation import check_array
from .initializers import Initializer, describe
from .training import TrainingResult, train

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
    layers_dims = [train_X.shape[0], *SEED_HIDDEN_LAYERS, 1]
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
