"""The fused engines: many iterations per compiled call.

* :class:`FusedEngine` hands many iterations at a time to the compiled loop
  ``_kernels.train_full_batch``: each block of examples goes forward and back
  through every layer while it is in L1, with deterministic per-lane
  gradient sums, optionally on several OpenMP threads.  It is the fastest way
  for the narrow networks this library is about (the seed's [2, 10, 5, 1]).
* :class:`MiniBatchEngine` does the same for mini-batch training:
  ``_kernels.train_minibatch`` shuffles each epoch, gathers each batch into
  contiguous buffers and steps it, many steps per call.

Like every engine, they return the cost of the parameters as they are before
the first iteration of a call when asked (``run``), give the cost of any
parameters (``cost``, for ``final_cost``) and leave the last gradient in
``gradient``.  They trust their inputs: :func:`fastinit.train` has validated
everything.  The kernels are called with keyword arguments: the network as a
:class:`~fastinit.engines.spec.NetworkSpec`, the buffers as a
:class:`~fastinit.engines.spec.Workspace`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .._core._simd import kernels as _kernels
from .._core.threads import threads_used
from .spec import Problem, workspace

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
        self.batch_losses = np.empty(0, dtype)

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


    def epoch(self, theta: np.ndarray, state: np.ndarray, order: np.ndarray,
              first_step: int) -> np.ndarray:
        """One epoch over the examples in the caller's ``order`` (a
        permutation of 0 .. m - 1, scikit-learn's shuffle or the identity),
        cut into batches in that order: steps ``first_step + 1 ..``, one per
        batch.  Returns each batch's summed loss before its update plus the L2
        penalty times its size (with sample weights: weighted, and times the
        sum of its weights), one per batch (a view, valid until the next
        call)."""
        m = self.problem.X.shape[1]
        n_batches = -(-m // self.batch_size)
        if self.batch_losses.shape[0] < n_batches:
            self.batch_losses = np.empty(n_batches, dtype=self.problem.X.dtype)
        np.copyto(self.order, order)
        p = self.problem
        _kernels.train_minibatch(
            net=p.net, work=self.work, X=p.X, Y=p.Y, theta=theta, hyper=p.hyper, state=state,
            batch_size=self.batch_size, first_step=first_step, n_steps=n_batches, seed=self.seed,
            order=self.order, order_epoch=0, n_threads=threads_used(self.batch_size, self.n_threads),
            X_batch=self.X_batch, Y_batch=self.Y_batch, batch_losses=self.batch_losses,
            epoch_origin=first_step)
        self.order_epoch = -1  # the order is the caller's, not one of epoch_order's
        return self.batch_losses[:n_batches]


def shuffle_seed(seed: int | None) -> int:
    """The 64-bit seed of the mini-batch shuffle: the training's seed, or a
    fresh random one for ``seed=None``."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    return int(seed)
