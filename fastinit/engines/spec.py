"""What every engine trains on, as the compiled loops take it.

* the layout table (:func:`layout_of`): where each layer's weights, biases,
  activations and pre-activations sit; :func:`pack` / :func:`unpack` between
  the parameter dictionary and the flat parameter vector;
* the network spec (:class:`NetworkSpec`, the kernels' ``net``) and the data
  and update of one training (:class:`Problem`);
* the one allocator of the fused loops' scratch buffers (:func:`workspace`,
  the kernels' ``work``), each thread's rows aligned to a cache line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._core._simd import kernels as _kernels

LINEAR = _kernels.ACTIVATION_CODES["linear"]
RELU = _kernels.ACTIVATION_CODES["relu"]

# The columns of the kernels' layout table, by the names the kernels give them.
N_IN, N_OUT, W_OFFSET, B_OFFSET, ACT_OFFSET, Z_OFFSET = (
    _kernels.LAYOUT_COLUMNS[name]
    for name in ("n_in", "n_out", "w_offset", "b_offset", "act_offset", "z_offset"))


def pack(parameters: dict[str, np.ndarray], dims: list[int], hidden_act: int = RELU,
         keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat parameter vector, the kernels' layout table and the size of one
    thread's activation buffer (see :func:`layout_of`)."""
    L = len(dims) - 1
    layout, act_size = layout_of(dims, hidden_act, keep)
    theta = np.concatenate(
        [parameters[f"{p}{l}"].ravel() for l in range(1, L + 1) for p in "Wb"]
    )
    return theta, layout, act_size


def layout_of(dims: Sequence[int], hidden_act: int = RELU,
              keep: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """The kernels' layout table of a network of layer sizes ``dims`` (one row
    per layer, columns ``LAYOUT_COLUMNS``: n_in, n_out, W offset, b offset,
    activation offset, Z offset) and the size of one thread's activation
    buffer (``_kernels.activation_buffer_size``).  Hidden layers whose
    activation ``hidden_act`` needs Z for its derivative keep Z beside A, and
    so do layers with dropout (``keep[l] < 1``: their A before dropout)."""
    L = len(dims) - 1
    layout = np.empty((L, len(_kernels.LAYOUT_COLUMNS)), dtype=np.intp)
    offset = act_offset = 0
    for l in range(1, L + 1):
        row = layout[l - 1]
        row[N_IN], row[N_OUT] = dims[l - 1], dims[l]
        row[W_OFFSET], row[B_OFFSET] = offset, offset + dims[l] * dims[l - 1]
        row[Z_OFFSET] = act_offset
        if l < L and (hidden_act in _kernels.NEEDS_Z or (keep is not None and keep[l - 1] < 1)):
            act_offset += dims[l] * _kernels.BLOCK_SIZE
        row[ACT_OFFSET] = act_offset
        offset += dims[l] * (dims[l - 1] + 1)
        act_offset += dims[l] * _kernels.BLOCK_SIZE
    return layout, _kernels.activation_buffer_size(layout)


def unpack(theta: np.ndarray, layout: np.ndarray) -> dict[str, np.ndarray]:
    """The parameter dictionary (copies) of a flat parameter vector."""
    parameters = {}
    for l, (W, b) in enumerate(layer_views(theta, layout), start=1):
        parameters[f"W{l}"] = W.copy()
        parameters[f"b{l}"] = b.reshape(-1, 1).copy()
    return parameters

def layer_views(vector: np.ndarray, layout: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) views of each layer into a flat parameter (or gradient) vector."""
    return [(vector[row[W_OFFSET]:row[B_OFFSET]].reshape(row[N_OUT], row[N_IN]),
             vector[row[B_OFFSET]:row[B_OFFSET] + row[N_OUT]]) for row in layout]


# Per-thread buffers start on a boundary of this many bytes (a cache line and
# one AVX-512 vector): an unaligned buffer makes every vector of a block
# straddle two cache lines, which measured up to 1.3x slower.
ALIGNMENT = 64


def _aligned_allocation(rows: int, cols: int, itemsize: int) -> tuple[int, int]:
    """(columns, elements allocated) of :func:`aligned_rows`: cols rounded up
    to a whole number of ALIGNMENT bytes, and the rows plus the slack that
    lets the first row start on a boundary."""
    per_line = ALIGNMENT // itemsize
    cols = -(-cols // per_line) * per_line
    return cols, rows * cols + per_line


def aligned_rows(rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
    """Uninitialised C-contiguous array of shape (rows, cols rounded up to a
    whole number of ALIGNMENT bytes), each row starting on an ALIGNMENT-byte
    boundary (so threads never share a cache line)."""
    itemsize = np.dtype(dtype).itemsize
    cols, n_raw = _aligned_allocation(rows, cols, itemsize)
    raw = np.empty(n_raw, dtype=dtype)
    skip = (-raw.ctypes.data % ALIGNMENT) // itemsize
    return raw[skip:skip + rows * cols].reshape(rows, cols)


@dataclass
class Workspace:
    """Scratch buffers of the fused loops, the ``work`` argument of every
    fused kernel: ``rows`` rows of chunk gradients and
    chunk losses (one row per model trained at once; one for a single
    training, whose chunks share it), and per-thread lanes, activations and
    deltas, each row aligned."""

    grad: np.ndarray
    lanes: np.ndarray
    acts: np.ndarray
    deltas: np.ndarray
    losses: np.ndarray
    n_params: int

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Every buffer, by name."""
        return {"grad": self.grad, "lanes": self.lanes, "acts": self.acts,
                "deltas": self.deltas, "losses": self.losses}

    @property
    def gradient(self) -> np.ndarray:
        """The gradient of the last iteration (of the model of row 0)."""
        return self.grad[0, :self.n_params]


def _workspace_shapes(n_params: int, layout: np.ndarray, act_size: int,
                      sizes: int | Sequence[int], threads: int,
                      rows: int) -> dict[str, tuple[int, int, bool]]:
    """The buffers of :func:`workspace`: name -> (rows, columns, whether
    each row is aligned with :func:`aligned_rows`)."""
    sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
    n_chunks = max(_kernels.chunking(m)[1] for m in sizes)
    widest = int(layout[:, N_OUT].max())
    return {"grad": (rows, n_chunks * n_params, False),
            "lanes": (threads, n_params * _kernels.LANE_COUNT, True),
            "acts": (threads, act_size, True),
            "deltas": (threads, 2 * widest * _kernels.BLOCK_SIZE, True),
            "losses": (rows, n_chunks, False)}


def workspace(n_params: int, layout: np.ndarray, act_size: int, sizes: int | Sequence[int],
              threads: int, dtype: np.dtype, rows: int = 1) -> Workspace:
    """The one allocator of the fused loops' scratch buffers, for problems of
    each number of examples in ``sizes`` (the full data, and the mini-batches
    if any: the number of chunks does not always grow with m), ``threads``
    threads and ``rows`` models at once.  :func:`workspace_nbytes` tells how
    much memory it takes before anything is allocated."""
    shapes = _workspace_shapes(n_params, layout, act_size, sizes, threads, rows)
    buffers = {name: aligned_rows(r, c, dtype) if aligned else np.empty((r, c), dtype=dtype)
               for name, (r, c, aligned) in shapes.items()}
    return Workspace(**buffers, n_params=n_params)


def workspace_nbytes(n_params: int, layout: np.ndarray, act_size: int,
                     sizes: int | Sequence[int], threads: int, dtype: Any,
                     rows: int = 1) -> int:
    """Bytes :func:`workspace` allocates for these arguments (alignment slack
    included), computed from the same shapes without allocating: what the
    memory check of :func:`fastinit.train` counts for the fused loops."""
    itemsize = np.dtype(dtype).itemsize
    shapes = _workspace_shapes(n_params, layout, act_size, sizes, threads, rows)
    return itemsize * sum(_aligned_allocation(r, c, itemsize)[1] if aligned else r * c
                          for r, c, aligned in shapes.values())


@dataclass(frozen=True)
class NetworkSpec:
    """The network as every compiled loop takes it (``net``, read once per
    call; see the header of ``_kernels_fused.pxi``): the layout table and the
    size of one thread's activation buffer (:func:`layout_of`), the hidden
    activation's code and leaky_relu's slope, the loss's code of
    ``LOSS_CODES``, and dropout (keep probability per layer, None for none,
    and the masks' seed), whether Y's last row holds sample weights
    (``weighted``) and whether recorded losses are means over the output units
    (``output_mean``: scikit-learn's squared loss; both for the full-batch and
    mini-batch loops only)."""

    layout: np.ndarray
    act_size: int
    hidden_act: int
    slope: float
    loss: int
    keep: np.ndarray | None = None
    dropout_seed: int = 0
    weighted: bool = False
    output_mean: bool = False


def network_spec(dims: Sequence[int], hidden_act: int, slope: float, loss: int,
                 keep: np.ndarray | None = None, dropout_seed: int = 0,
                 weighted: bool = False, output_mean: bool = False) -> NetworkSpec:
    """The spec of a network of layer sizes ``dims``."""
    layout, act_size = layout_of(dims, hidden_act, keep)
    return NetworkSpec(layout, act_size, hidden_act, slope, loss, keep, dropout_seed, weighted,
                       output_mean)


@dataclass
class Problem:
    """What every engine trains on: validated data, the network's spec and
    the update's hyper-parameter vector
    (:meth:`fastinit.nn.optimizers.Optimizer.hyper`)."""

    X: np.ndarray
    Y: np.ndarray
    net: NetworkSpec
    hyper: np.ndarray

    @property
    def l2(self) -> float:
        return float(self.hyper[_kernels.HYPER_FIELDS["l2"]])
