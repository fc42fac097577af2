"""Weight initializers: zeros, large random (the seed's x10), He and Xavier.

Every initializer draws from a *local* generator seeded with ``seed`` (default
3, as in the seed notebook) and never touches NumPy's global random state.  The
generator is NumPy's legacy ``RandomState`` (MT19937 + polar normal draws)
because that is the stream ``np.random.seed(3); np.random.randn(...)`` used in
the notebook: with it, fastinit prints the notebook's expected values exactly.
Layers are drawn in order, ``W1`` first, from one stream.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ._validation import check_layers_dims, resolve_dtype

DEFAULT_SEED = 3


def _zeros_scale(n_prev: int) -> float:
    return 0.0


def _random_scale(n_prev: int) -> float:
    return 10.0


def _he_scale(n_prev: int) -> float:
    return math.sqrt(2.0 / n_prev)


def _xavier_scale(n_prev: int) -> float:
    return math.sqrt(1.0 / n_prev)


#: name -> (std of W as a function of the previous layer's size, comment for tables)
INITIALIZERS: dict[str, tuple[Callable[[int], float], str]] = {
    "zeros": (_zeros_scale, "fails to break symmetry"),
    "random": (_random_scale, "too large weights"),
    "he": (_he_scale, "recommended method"),
    "xavier": (_xavier_scale, "scaled for tanh; shrinks ReLU signals"),
}


def _check_init(init: Any) -> str:
    if not isinstance(init, str) or init not in INITIALIZERS:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
    return init


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer in [0, 2**32) or None, got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32) or None, got {seed}")
    return int(seed)


def initialize_parameters(
    layers_dims: Sequence[int],
    init: str = "he",
    seed: int | None = DEFAULT_SEED,
    dtype: Any = np.float64,
) -> dict[str, np.ndarray]:
    """Initial parameters of a fully-connected network.

    Parameters
    ----------
    layers_dims : sequence of int
        Layer sizes, input first: ``[n_x, n_1, ..., n_L]``.
    init : {"zeros", "random", "he", "xavier"}, default "he"
        ``W[l]`` is all zeros, or ``randn * scale`` with scale 10 ("random"),
        ``sqrt(2 / n_{l-1})`` ("he") or ``sqrt(1 / n_{l-1})`` ("xavier").
        Biases are always zeros.
    seed : int or None, default 3
        Seed of the local generator (3 reproduces the seed notebook); None
        draws fresh entropy from the operating system.
    dtype : float32 or float64, default float64
        Draws are made in float64 and then cast, so float32 parameters are the
        float64 ones rounded.

    Returns
    -------
    dict
        ``"W1"`` of shape (n_1, n_x), ``"b1"`` of shape (n_1, 1), ..., ``"WL"``,
        ``"bL"``.
    """
    dims = check_layers_dims(layers_dims)
    scale_of = INITIALIZERS[_check_init(init)][0]
    dtype = resolve_dtype(dtype)
    rng = np.random.RandomState(_check_seed(seed))
    parameters = {}
    for l in range(1, len(dims)):
        shape = (dims[l], dims[l - 1])
        if init == "zeros":
            W = np.zeros(shape)
        else:
            W = rng.randn(*shape) * scale_of(dims[l - 1])
        parameters[f"W{l}"] = W.astype(dtype, copy=False)
        parameters[f"b{l}"] = np.zeros((dims[l], 1), dtype=dtype)
    return parameters


def initialize_parameters_zeros(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """All weights and biases zero (the seed's ``initialize_parameters_zeros``,
    with the correct shapes ``(n_l, n_{l-1})`` its expected output shows)."""
    return initialize_parameters(layers_dims, "zeros")


def initialize_parameters_random(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """Large random weights ``randn * 10``, seed 3 (the seed's
    ``initialize_parameters_random``)."""
    return initialize_parameters(layers_dims, "random")


def initialize_parameters_he(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """He initialization ``randn * sqrt(2 / n_{l-1})``, seed 3 (the seed's
    ``initialize_parameters_he``)."""
    return initialize_parameters(layers_dims, "he")


def initialize_parameters_xavier(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """Xavier initialization ``randn * sqrt(1 / n_{l-1})``, seed 3."""
    return initialize_parameters(layers_dims, "xavier")
