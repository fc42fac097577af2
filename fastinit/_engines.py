"""The two ways :func:`fastinit.train` runs gradient-descent iterations.

* :class:`FusedEngine` hands many iterations at a time to the compiled loop
  ``_kernels.train_full_batch``: each block of examples goes forward and back
  through every layer while it is in L1, with deterministic per-lane
  gradient sums, optionally on several OpenMP threads.  It is the fastest way
  for the narrow networks this library is about (the seed's [2, 10, 5, 1]).
* :class:`BlasEngine` runs one iteration per Python step with the matrix
  products done by NumPy's BLAS (``np.matmul`` into preallocated buffers) and
  the elementwise work (bias, activations, output gradient, update) by the
  compiled kernels.  A tuned GEMM beats the fused loops once a layer is wide:
  see :func:`choose_engine` for the measured crossover.

Both engines compute the same mathematics, record the cost from the logits
of the parameters as they are before the first iteration of a call, and
leave the last gradient in :attr:`gradient`.  Both trust their inputs:
:func:`fastinit.train` has validated everything.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ._simd import kernels as _kernels

LINEAR = _kernels.ACTIVATION_CODES["linear"]

# When the BLAS engine takes over, by the weights of the widest layer
# (n_in * n_out), the number of examples m and the number of inputs n_x.
# Measured with the register-blocked kernels (AVX-512 module, 2 cores,
# ``python bench/crossover.py --m M``): time per iteration, fused / BLAS, so
# > 1 means BLAS is faster:
#
#   layers              widest   m = 300   m = 10^4   m = 10^5
#   [16, 32, 16, 1]        512     0.28      0.42       0.29
#   [2, 64, 64, 1]       4,096     0.60      0.40       0.40
#   [2, 128, 128, 1]    16,384     1.07      0.66       0.47
#   [128, 128, 1]       16,384     0.95      0.73       0.79
#   [2, 256, 256, 1]    65,536     1.53      0.69       0.72
#   [256, 256, 1]       65,536     1.13      1.11       1.03
#   [784, 64, 1]        50,176     0.94      1.29       1.15
#   [2, 320, 320, 1]   102,400       -       0.83         -
#   [784, 128, 64, 1]  100,352       -       1.69         -
#   [2, 512, 512, 1]   262,144     2.23      1.70       1.72
#
# Below FUSED_MAX_WEIGHTS the fused loop always wins; from BLAS_MIN_WEIGHTS on
# BLAS always does; in between the fused loop wins on many examples (BLAS's
# per-call cost is then small against the work) unless the input is wide (the
# first layer then streams a wide block of X from memory for every tile).
FUSED_MAX_WEIGHTS = 16384
BLAS_MIN_WEIGHTS = 262144
FUSED_MIN_EXAMPLES = 2048
BLAS_MIN_INPUTS = 256
ENGINES = ("auto", "fused", "blas")


def choose_engine(dims: Sequence[int], engine: str = "auto", n_examples: int = 10_000) -> str:
    """"fused" or "blas" for a network of layer sizes ``dims`` trained on
    ``n_examples`` examples (see the measured table above)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine != "auto":
        return engine
    widest = max(n_in * n_out for n_in, n_out in zip(dims[:-1], dims[1:]))
    if widest < FUSED_MAX_WEIGHTS:
        return "fused"
    if widest >= BLAS_MIN_WEIGHTS:
        return "blas"
    return "fused" if n_examples >= FUSED_MIN_EXAMPLES and dims[0] < BLAS_MIN_INPUTS else "blas"


def pack(parameters: dict[str, np.ndarray], dims: list[int]):
    """Flat parameter vector, the kernels' (L, 5) layout table (n_in, n_out,
    W offset, b offset, activation offset) and the size of one thread's
    activation buffer (``_kernels.activation_buffer_size``)."""
    L = len(dims) - 1
    layout = np.empty((L, 5), dtype=np.intp)
    offset = act_offset = 0
    for l in range(1, L + 1):
        n_in, n_out = dims[l - 1], dims[l]
        layout[l - 1] = (n_in, n_out, offset, offset + n_out * n_in, act_offset)
        offset += n_out * (n_in + 1)
        act_offset += n_out * _kernels.BLOCK_SIZE
    theta = np.concatenate(
        [parameters[f"{p}{l}"].ravel() for l in range(1, L + 1) for p in "Wb"]
    )
    return theta, layout, _kernels.activation_buffer_size(layout)


def unpack(theta: np.ndarray, layout: np.ndarray) -> dict[str, np.ndarray]:
    """The parameter dictionary (copies) of a flat parameter vector."""
    parameters = {}
    for l, (n_in, n_out, w_off, b_off, _) in enumerate(layout, start=1):
        parameters[f"W{l}"] = theta[w_off:b_off].reshape(n_out, n_in).copy()
        parameters[f"b{l}"] = theta[b_off:b_off + n_out].reshape(n_out, 1).copy()
    return parameters


def _layer_views(vector: np.ndarray, layout: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) views of each layer into a flat parameter (or gradient) vector."""
    return [(vector[w:b].reshape(n_out, n_in), vector[b:b + n_out])
            for n_in, n_out, w, b, _ in layout]


# OpenMP's thread pool does not survive fork(): a child process forked after
# the parent ran threaded kernels would hang in its first parallel region.
# Such a child runs the kernels on one thread instead (same results, as the
# thread count never changes a bit); a child forked before, or a spawned
# process, keeps its threads.
_pool = {"started": False, "usable": bool(_kernels.OPENMP)}


def _after_fork_in_child() -> None:
    if _pool["started"]:
        _pool["usable"] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def usable_threads(n_threads: int) -> int:
    """``n_threads``, or 1 where the kernels cannot run threads (no OpenMP,
    or a process forked after threads ran); notes when threads will start."""
    if n_threads <= 1 or not _pool["usable"]:
        return 1
    _pool["started"] = True
    return n_threads


def threads_used(m: int, n_threads: int) -> int:
    """Threads the fused loop really starts for m examples: at most one per
    chunk of examples (``_kernels.chunking``), one without OpenMP."""
    return usable_threads(min(n_threads, _kernels.chunking(m)[1]))


# Per-thread buffers start on a boundary of this many bytes (a cache line and
# one AVX-512 vector): an unaligned buffer makes every vector of a block
# straddle two cache lines, which measured up to 1.3x slower.
ALIGNMENT = 64


def aligned_rows(rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
    """Uninitialised C-contiguous array of shape (rows, cols rounded up to a
    whole number of ALIGNMENT bytes), each row starting on an ALIGNMENT-byte
    boundary (so threads never share a cache line)."""
    itemsize = np.dtype(dtype).itemsize
    per_line = ALIGNMENT // itemsize
    cols = -(-cols // per_line) * per_line
    raw = np.empty(rows * cols + per_line, dtype=dtype)
    skip = (-raw.ctypes.data % ALIGNMENT) // itemsize
    return raw[skip:skip + rows * cols].reshape(rows, cols)


def thread_buffers(n_params: int, layout: np.ndarray, act_size: int, threads: int,
                   dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-thread lanes, activation and delta buffers of the fused loops
    (``train_full_batch`` and ``train_models``), aligned."""
    return (aligned_rows(threads, n_params * _kernels.LANE_COUNT, dtype),
            aligned_rows(threads, act_size, dtype),
            aligned_rows(threads, 2 * int(layout[:, 1].max()) * _kernels.BLOCK_SIZE, dtype))


def workspace(theta: np.ndarray, layout: np.ndarray, act_size: int, sizes: int | Sequence[int],
              n_threads: int) -> tuple[np.ndarray, ...]:
    """Scratch buffers of ``train_full_batch`` for problems of each number of
    examples in ``sizes`` (the full data, and the mini-batches if any: the
    number of chunks does not always grow with m): chunk gradients (row 0:
    the gradient), per thread lanes, activations and deltas, chunk losses."""
    n_params, dtype = theta.shape[0], theta.dtype
    sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
    n_chunks = max(_kernels.chunking(m)[1] for m in sizes)
    threads = max(threads_used(m, n_threads) for m in sizes)
    return (np.empty((n_chunks, n_params), dtype=dtype),
            *thread_buffers(n_params, layout, act_size, threads, dtype),
            np.empty(n_chunks, dtype=dtype))


class FusedEngine:
    """Many iterations per compiled call (see module docstring)."""

    name = "fused"

    def __init__(self, theta: np.ndarray, layout: np.ndarray, act_size: int,
                 sizes: int | Sequence[int], n_threads: int, act_code: int, slope: float,
                 softmax: bool):
        self.layout, self.act_code, self.slope, self.softmax = layout, act_code, slope, softmax
        self.n_threads = n_threads
        self.work = workspace(theta, layout, act_size, sizes, n_threads)

    @property
    def gradient(self) -> np.ndarray:
        return self.work[0][0]

    def run(self, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, learning_rate: float,
            n_iter: int, record: bool) -> float:
        """``n_iter`` iterations in place on ``theta``; the cost before the
        first one when ``record``, else NaN."""
        return _kernels.train_full_batch(X, Y, theta, self.layout, learning_rate, n_iter, record,
                                         self.act_code, self.slope, self.softmax,
                                         threads_used(X.shape[1], self.n_threads), *self.work)


class BlasEngine:
    """One iteration per Python step, matrix products by NumPy's BLAS."""

    name = "blas"

    def __init__(self, theta: np.ndarray, layout: np.ndarray, act_code: int, slope: float,
                 softmax: bool):
        self.layout, self.act_code, self.slope, self.softmax = layout, act_code, slope, softmax
        self.gradient = np.zeros_like(theta)
        self._grads = _layer_views(self.gradient, layout)
        self._buffers: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def _activations(self, m: int, dtype: np.dtype):
        """Per-layer activation and delta buffers for m examples (kept for
        the full set and the mini-batch size, the two sizes train uses)."""
        if m not in self._buffers:
            widths = self.layout[:, 1]
            self._buffers[m] = ([np.empty((n, m), dtype) for n in widths],
                                [np.empty((n, m), dtype) for n in widths])
        return self._buffers[m]

    def run(self, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, learning_rate: float,
            n_iter: int, record: bool) -> float:
        params = _layer_views(theta, self.layout)
        cost = float("nan")
        for it in range(n_iter):
            value = self._gradient(X, Y, params, record and it == 0)
            if record and it == 0:
                cost = value
            _kernels.gradient_step(theta, self.gradient, learning_rate)
        return cost

    def _gradient(self, X, Y, params, record: bool) -> float:
        """Forward and backward pass into :attr:`gradient`; the cost when ``record``."""
        L = len(params)
        acts, deltas = self._activations(X.shape[1], X.dtype)
        A = X
        for l, (W, b) in enumerate(params):
            np.matmul(W, A, out=acts[l])
            _kernels.bias_activation(acts[l], b, self.act_code if l < L - 1 else LINEAR,
                                     self.slope)
            A = acts[l]
        cost = float("nan")
        if record:
            loss = (_kernels.categorical_cross_entropy_from_logits if self.softmax
                    else _kernels.binary_cross_entropy_from_logits)
            cost = loss(A, Y)
        dZ = deltas[L - 1]
        _kernels.output_gradient_from_logits(A, Y, self.softmax, dZ)
        for l in range(L - 1, -1, -1):
            dW, db = self._grads[l]
            A_prev = X if l == 0 else acts[l - 1]
            np.matmul(dZ, A_prev.T, out=dW)
            np.sum(dZ, axis=1, out=db)
            if l > 0:
                dA = deltas[l - 1]
                np.matmul(params[l][0].T, dZ, out=dA)
                _kernels.activation_backward(dA, acts[l - 1], dA, self.act_code, self.slope)
                dZ = dA
        return cost
