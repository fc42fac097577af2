"""Seed-notebook compatibility: ``model`` and the printing ``predict``.

With ``from fastinit import ...`` in place of ``from init_utils import ...``
the notebook runs unchanged (see the README).  The other names it uses
(``sigmoid``, ``relu``, ``compute_loss``, ``forward_propagation``, ...) are
fastinit's own functions, re-exported by the package.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_array, check_parameters
from .studies.experiments import SEED_HIDDEN_LAYERS
from .nn.network import accuracy_of, predict_labels
from .training.loop import train


def model(
    X: ArrayLike,
    Y: ArrayLike,
    learning_rate: float = 0.01,
    num_iterations: int = 15000,
    print_cost: bool = True,
    initialization: str = "random",
) -> dict[str, np.ndarray]:
    """The notebook's 3-layer model: LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID
    with layer sizes ``[n_x, 10, 5, 1]``, trained by gradient descent.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
        0/1 labels.
    learning_rate : float, default 0.01
    num_iterations : int, default 15000
    print_cost : bool, default True
        Print the cost every 1000 iterations.
    initialization : {"zeros", "random", "he", "xavier"}, default "random"

    Returns
    -------
    dict
        The learnt parameters.

    Notes
    -----
    Unlike the notebook's ``model``, this one does not plot the cost curve
    (use :func:`fastinit.train` and its ``costs``), and the cost it prints is
    computed from the logits, so the large-random run starts from a finite
    cost instead of ``inf``.
    """
    X = check_array(X, "X", np.dtype(np.float64))
    layers_dims = [X.shape[0], *SEED_HIDDEN_LAYERS, 1]
    return train(
        X, Y, layers_dims, init=initialization, learning_rate=learning_rate,
        num_iterations=num_iterations, print_cost=print_cost,
    ).parameters


def predict(X: ArrayLike, y: ArrayLike, parameters: Mapping[str, ArrayLike]) -> np.ndarray:
    """Predict 0/1 labels, print ``"Accuracy: ..."`` against ``y`` as the notebook.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    y : array_like of shape (1, m)
        True labels (0/1; 0 .. k-1 for a softmax output of k units).
    parameters : dict
        Trained parameters.

    Returns
    -------
    ndarray of shape (1, m), dtype int64
        1 where the output probability is > 0.5, else 0 (softmax: the most
        probable class).
    """
    n_outputs = check_parameters(parameters)[0][-1]
    p = predict_labels(X, parameters)
    print("Accuracy: " + str(np.float64(accuracy_of(p, y, n_outputs))))
    return p
