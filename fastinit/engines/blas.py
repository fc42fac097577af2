"""The BLAS engine: one iteration per Python step, the matrix products done
by NumPy's BLAS (``np.matmul`` into preallocated buffers) and the elementwise
work (bias, activations, output gradient, dropout, update) by the compiled
kernels.  A tuned GEMM beats the fused loops once a layer is wide: see
:func:`fastinit.engines.choice.choose_engine` for the measured crossover.
It computes the same mathematics as the fused engines and has their
interface (``run``, ``cost``, ``gradient``).
"""
from __future__ import annotations

import numpy as np

from .._core._simd import kernels as _kernels
from .fused import shuffle_seed
from .spec import LINEAR, N_OUT, Problem, layer_views

class BlasEngine:
    """One iteration per Python step, matrix products by NumPy's BLAS; for
    mini-batches, the batches of ``MiniBatchEngine`` (same shuffle)."""

    def __init__(self, problem: Problem, n_params: int, batch_size: int | None = None,
                 seed: int | None = None):
        self.problem = problem
        self.gradient = np.zeros(n_params, dtype=problem.X.dtype)
        self._grads = layer_views(self.gradient, problem.net.layout)
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
        params = layer_views(theta, p.net.layout)
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
        params = layer_views(theta, p.net.layout)
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
