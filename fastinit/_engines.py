"""The ways :func:`fastinit.train` runs gradient-descent iterations, and the
pieces every fused loop shares (the layout table, the workspace allocator).

* :class:`FusedEngine` hands many iterations at a time to the compiled loop
  ``_kernels.train_full_batch``: each block of examples goes forward and back
  through every layer while it is in L1, with deterministic per-lane
  gradient sums, optionally on several OpenMP threads.  It is the fastest way
  for the narrow networks this library is about (the seed's [2, 10, 5, 1]).
* :class:`MiniBatchEngine` does the same for mini-batch training:
  ``_kernels.train_minibatch`` shuffles each epoch, gathers each batch into
  contiguous buffers and steps it, many steps per call.
* :class:`BlasEngine` runs one iteration per Python step with the matrix
  products done by NumPy's BLAS (``np.matmul`` into preallocated buffers) and
  the elementwise work (bias, activations, output gradient, update) by the
  compiled kernels.  A tuned GEMM beats the fused loops once a layer is wide:
  see :func:`choose_engine` for the measured crossover.

Every engine computes the same mathematics, returns the cost of the
parameters as they are before the first iteration of a call when asked
(``run``), gives the cost of any parameters (``cost``, for ``final_cost``)
and leaves the last gradient in ``gradient``.  All trust their inputs:
:func:`fastinit.train` has validated everything.  The fused kernels are called
with keyword arguments: the network as a :class:`NetworkSpec`, the
buffers as a :class:`Workspace` (:func:`workspace`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._simd import kernels as _kernels
from ._validation import check_choice

LINEAR = _kernels.ACTIVATION_CODES["linear"]
RELU = _kernels.ACTIVATION_CODES["relu"]

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
    check_choice(engine, "engine", ENGINES)
    if engine != "auto":
        return engine
    widest = max(n_in * n_out for n_in, n_out in zip(dims[:-1], dims[1:]))
    if widest < FUSED_MAX_WEIGHTS:
        return "fused"
    if widest >= BLAS_MIN_WEIGHTS:
        return "blas"
    return "fused" if n_examples >= FUSED_MIN_EXAMPLES and dims[0] < BLAS_MIN_INPUTS else "blas"


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
    for l, (W, b) in enumerate(_layer_views(theta, layout), start=1):
        parameters[f"W{l}"] = W.copy()
        parameters[f"b{l}"] = b.reshape(-1, 1).copy()
    return parameters


def _layer_views(vector: np.ndarray, layout: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) views of each layer into a flat parameter (or gradient) vector."""
    return [(vector[row[W_OFFSET]:row[B_OFFSET]].reshape(row[N_OUT], row[N_IN]),
             vector[row[B_OFFSET]:row[B_OFFSET] + row[N_OUT]]) for row in layout]


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
    and the masks' seed)."""

    layout: np.ndarray
    act_size: int
    hidden_act: int
    slope: float
    loss: int
    keep: np.ndarray | None = None
    dropout_seed: int = 0


def network_spec(dims: Sequence[int], hidden_act: int, slope: float, loss: int,
                 keep: np.ndarray | None = None, dropout_seed: int = 0) -> NetworkSpec:
    """The spec of a network of layer sizes ``dims``."""
    layout, act_size = layout_of(dims, hidden_act, keep)
    return NetworkSpec(layout, act_size, hidden_act, slope, loss, keep, dropout_seed)


@dataclass
class Problem:
    """What every engine trains on: validated data, the network's spec and
    the update's hyper-parameter vector
    (:meth:`fastinit.optimizers.Optimizer.hyper`)."""

    X: np.ndarray
    Y: np.ndarray
    net: NetworkSpec
    hyper: np.ndarray

    @property
    def l2(self) -> float:
        return float(self.hyper[_kernels.HYPER_FIELDS["l2"]])


class FusedEngine:
    """Many iterations per compiled call (see module docstring)."""

    def __init__(self, problem: Problem, n_params: int, n_threads: int,
                 sizes: Sequence[int] = ()):
        self.problem, self.n_threads = problem, n_threads
        sizes = [problem.X.shape[1], *sizes]
        threads = max(threads_used(m, n_threads) for m in sizes)
        self.work = workspace(n_params, problem.net.layout, problem.net.act_size, sizes, threads,
                              problem.X.dtype)

    @property
    def gradient(self) -> np.ndarray:
        return self.work.gradient

    def run(self, theta: np.ndarray, state: np.ndarray, first: int, n_iter: int,
            record: bool) -> float:
        """Steps ``first + 1 .. first + n_iter`` in place on ``theta`` and the
        optimizer's ``state`` rows; the cost before the first one when
        ``record``, else NaN."""
        p = self.problem
        # with dropout, the recorded cost is the network's without it (as cost())
        dropout = p.net.keep is not None
        cost = self.cost(theta) if record and dropout else float("nan")
        got = _kernels.train_full_batch(
            net=p.net, work=self.work, X=p.X, Y=p.Y, theta=theta, hyper=p.hyper, state=state,
            first_step=first, n_iter=n_iter, record_first=record and not dropout,
            n_threads=threads_used(p.X.shape[1], self.n_threads))
        return cost if dropout else got

    def cost(self, theta: np.ndarray, l2: float | None = None) -> float:
        """Mean loss plus the L2 penalty (``l2``, default the problem's) of
        ``theta`` on the training set (one forward pass, the same bits as a
        recorded cost)."""
        p = self.problem
        return _kernels.dataset_cost(net=p.net, work=self.work, X=p.X, Y=p.Y, theta=theta,
                                     n_threads=threads_used(p.X.shape[1], self.n_threads),
                                     l2=p.l2 if l2 is None else l2)


class MiniBatchEngine(FusedEngine):
    """Mini-batch epochs in the compiled loop: shuffling, gathering and the
    steps of a whole call in one ``_kernels.train_minibatch``."""

    def __init__(self, problem: Problem, n_params: int, n_threads: int, batch_size: int,
                 seed: int | None):
        m = problem.X.shape[1]
        self.batch_size = batch_size
        last = m - (-(-m // batch_size) - 1) * batch_size
        super().__init__(problem, n_params, n_threads, sizes=[batch_size, last])
        self.seed = shuffle_seed(seed)
        self.order = np.empty(m, dtype=np.intp)
        self.order_epoch = -1
        dtype = problem.X.dtype
        self.X_batch = np.empty(problem.X.shape[0] * batch_size, dtype)
        self.Y_batch = np.empty(problem.Y.shape[0] * batch_size, dtype)

    def run(self, theta: np.ndarray, state: np.ndarray, first: int, n_iter: int,
            record: bool) -> float:
        """Steps ``first + 1 .. first + n_iter``; the cost on the whole
        training set before the first one when ``record``."""
        cost = self.cost(theta) if record else float("nan")
        p = self.problem
        self.order_epoch = _kernels.train_minibatch(
            net=p.net, work=self.work, X=p.X, Y=p.Y, theta=theta, hyper=p.hyper, state=state,
            batch_size=self.batch_size, first_step=first, n_steps=n_iter, seed=self.seed,
            order=self.order, order_epoch=self.order_epoch,
            n_threads=threads_used(self.batch_size, self.n_threads),
            X_batch=self.X_batch, Y_batch=self.Y_batch)
        return cost


def shuffle_seed(seed: int | None) -> int:
    """The 64-bit seed of the mini-batch shuffle: the training's seed, or a
    fresh random one for ``seed=None``."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    return int(seed)


class BlasEngine:
    """One iteration per Python step, matrix products by NumPy's BLAS; for
    mini-batches, the batches of ``MiniBatchEngine`` (same shuffle)."""

    def __init__(self, problem: Problem, n_params: int, batch_size: int | None = None,
                 seed: int | None = None):
        self.problem = problem
        self.gradient = np.zeros(n_params, dtype=problem.X.dtype)
        self._grads = _layer_views(self.gradient, problem.net.layout)
        # m -> (activations, deltas, pre-activations (empty unless f' needs Z))
        self._buffers: dict[int, tuple[list[np.ndarray], list[np.ndarray],
                                       list[np.ndarray]]] = {}
        self.batch_size = batch_size
        self.seed = shuffle_seed(seed)
        self._epoch, self._order = -1, np.empty(problem.X.shape[1], dtype=np.intp)
        self._keeps_z = problem.net.hidden_act in _kernels.NEEDS_Z

    def _dropped(self, l: int, step: int | None) -> bool:
        """Whether hidden layer l drops units at this step (None: evaluation)."""
        keep = self.problem.net.keep
        return step is not None and keep is not None and keep[l] < 1

    def _activations(self, m: int, dtype: np.dtype
                     ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """Per-layer activation and delta buffers for m examples (kept for
        the full set and the mini-batch sizes)."""
        if m not in self._buffers:
            widths = self.problem.net.layout[:, N_OUT]
            self._buffers[m] = ([np.empty((n, m), dtype) for n in widths],
                                [np.empty((n, m), dtype) for n in widths],
                                [np.empty((n, m), dtype) for n in widths]
                                if self._keeps_z or self.problem.net.keep is not None else [])
        return self._buffers[m]

    def _batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        X, Y = self.problem.X, self.problem.Y
        if not self.batch_size:
            return X, Y
        m = X.shape[1]
        n_batches = -(-m // self.batch_size)
        epoch, k = divmod(step, n_batches)
        if epoch != self._epoch:
            _kernels.epoch_order(self.seed, epoch, self._order)
            self._epoch = epoch
        columns = self._order[k * self.batch_size:(k + 1) * self.batch_size]
        return np.ascontiguousarray(X[:, columns]), np.ascontiguousarray(Y[:, columns])

    def run(self, theta: np.ndarray, state: np.ndarray, first: int, n_iter: int,
            record: bool) -> float:
        p = self.problem
        params = _layer_views(theta, p.net.layout)
        cost = self.cost(theta) if record else float("nan")
        for step in range(first, first + n_iter):
            X, Y = self._batch(step)
            self._gradient(X, Y, params, step + 1)
            # in place, as the fused loops: the gradient left is the one the step used
            _kernels.optimizer_update(theta=theta, grad=self.gradient, state=state,
                                      hyper=p.hyper, t=step + 1, layout=p.net.layout, m=X.shape[1])
        return cost

    def _forward(self, X, params, step: int | None = None) -> list[np.ndarray]:
        """Activations of every layer (the output layer's logits last); with
        dropout at training step ``step`` (None: none), a dropped layer's
        activations before dropout are kept in the third list, as Z is for
        the activations whose derivative needs it."""
        p = self.problem
        acts, _, zs = self._activations(X.shape[1], X.dtype)
        A = X
        for l, (W, b) in enumerate(params):
            np.matmul(W, A, out=acts[l])
            act = p.net.hidden_act if l < len(params) - 1 else LINEAR
            dropped = l < len(params) - 1 and self._dropped(l, step)
            if self._keeps_z and act != LINEAR:  # keep Z: the derivative needs it
                _kernels.bias_activation(Z=acts[l], b=b, act=LINEAR, slope=p.net.slope)
                np.copyto(zs[l], acts[l])
                _kernels.activation_forward(Z=zs[l], A=acts[l], act=act, slope=p.net.slope)
            else:
                _kernels.bias_activation(Z=acts[l], b=b, act=act, slope=p.net.slope)
                if dropped:
                    np.copyto(zs[l], acts[l])
            if dropped:
                _kernels.dropout_apply(A=acts[l], keep=p.net.keep, layer=l, seed=p.net.dropout_seed,
                                       step=step)
            A = acts[l]
        return acts

    def cost(self, theta: np.ndarray, l2: float | None = None) -> float:
        """Mean loss plus the L2 penalty (``l2``, default the problem's)."""
        p = self.problem
        params = _layer_views(theta, p.net.layout)
        cost = float(_kernels.loss_from_logits(self._forward(p.X, params)[-1], p.Y, p.net.loss))
        l2 = p.l2 if l2 is None else l2
        if l2:
            cost += 0.5 * l2 / p.X.shape[1] * sum(float(np.sum(W * W)) for W, _ in params)
        return cost

    def _gradient(self, X, Y, params, step: int | None = None) -> None:
        """Forward and backward pass into :attr:`gradient` (dropout as at
        training step ``step``)."""
        p = self.problem
        L = len(params)
        acts = self._forward(X, params, step)
        _, deltas, zs = self._activations(X.shape[1], X.dtype)
        dZ = deltas[L - 1]
        _kernels.output_gradient_from_logits(acts[L - 1], Y, p.net.loss, dZ)
        for l in range(L - 1, -1, -1):
            dW, db = self._grads[l]
            A_prev = X if l == 0 else acts[l - 1]
            np.matmul(dZ, A_prev.T, out=dW)
            np.sum(dZ, axis=1, out=db)
            if l > 0:
                dA = deltas[l - 1]
                np.matmul(params[l][0].T, dZ, out=dA)
                dropped = self._dropped(l - 1, step)
                F = zs[l - 1] if self._keeps_z or dropped else acts[l - 1]
                _kernels.activation_backward(dA=dA, A=F, dZ=dA, act=p.net.hidden_act, slope=p.net.slope)
                if dropped:  # through the dropout of layer l - 1: the same mask
                    _kernels.dropout_apply(A=dA, keep=p.net.keep, layer=l - 1, seed=p.net.dropout_seed,
                                           step=step)
                dZ = dA


def make_engine(problem: Problem, n_params: int, engine: str, n_threads: int,
                batch_size: int | None, seed: int | None):
    """The engine of one training: ``engine`` is "fused" or "blas" (see
    :func:`choose_engine`); ``batch_size`` None for full-batch training."""
    if engine == "blas":
        return BlasEngine(problem, n_params, batch_size, seed)
    if batch_size:
        return MiniBatchEngine(problem, n_params, n_threads, batch_size, seed)
    return FusedEngine(problem, n_params, n_threads)
