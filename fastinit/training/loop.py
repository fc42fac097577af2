"""Gradient-descent training in the compiled core.

:func:`train` validates its inputs once, packs all parameters into one flat
buffer and hands it to an engine (:mod:`fastinit.engines`): the fused kernel
``_kernels.train_full_batch``, which runs forward, backward and update for
many iterations with the GIL released; ``_kernels.train_minibatch``, which
runs whole mini-batch epochs (shuffle, gather, steps) the same way; or, for
wide layers, BLAS products with compiled elementwise kernels.
:func:`train_models` advances many models of one shape at once with
``_kernels.train_models``.  Both hand their calls to one driver,
:func:`_drive`, which regains control between calls of a few milliseconds of
work: at recording points (every ``record_every`` iterations), where the
engine returns the cost of the parameters before its first iteration, to
check for divergence, commit the parameters, report progress and react to
Ctrl-C.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._core.threads import usable_threads
from ..engines.choice import choose_engine, make_engine
from ..engines.fused import FusedEngine, shuffle_seed
from ..engines.spec import NetworkSpec, Problem, layout_of, pack, unpack, workspace, workspace_nbytes
from .._core._simd import kernels as _kernels
from .._validation import (
    check_array,
    check_activation,
    check_callable,
    check_choice,
    check_count,
    check_features,
    check_interval,
    check_labels,
    check_layers_dims,
    check_learning_rate,
    check_memory,
    check_n_threads,
    check_parameters,
    check_seed,
    check_targets,
    resolve_dtype,
)
from .diagnostics import Diagnostics, gradient_norms, stack_records, layer_statistics
from ..exceptions import DivergenceWarning, TrainingDivergedError
from ..nn.initializers import DEFAULT_SEED, Initializer, initialize_parameters
from ..nn.losses import LOSSES, Loss, get_loss
from ..nn.network import accuracy_of, forward_propagation, predict_labels, predict_proba
from ..nn.optimizers import (Optimizer, OptimizerState, Schedule, get_optimizer, get_schedule)
from ..engines import reference as _reference


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train` returns.

    Attributes
    ----------
    parameters : dict
        Trained ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"`` (``b`` of shape (n_l, 1)).
    costs : ndarray of shape (n_records,)
        Mean loss (plus the L2 penalty) before iteration ``cost_iterations[k]``.
    cost_iterations : ndarray of shape (n_records,)
        ``0, record_every, 2 * record_every, ...`` below ``num_iterations``.
    layers_dims : list of int
    init : str
    learning_rate : float
    num_iterations : int
    seed : int or None
    dtype : numpy.dtype
    elapsed : float
        Wall-clock seconds spent in the training loop.
    status : {"completed", "diverged", "interrupted", "early_stopped"}
        "diverged": the cost or a parameter became NaN or infinite, training
        stopped and ``parameters`` are the last finite ones; "interrupted":
        Ctrl-C stopped it (see :func:`train`); "early_stopped": the
        validation loss stopped improving (``patience``) and ``parameters``
        are those of ``best_iteration``.
    iterations_run : int
        Steps whose updates ``parameters`` contain (with early stopping, the
        best iteration's, not the last one run).
    message : str
        Why training stopped early, or "".
    activation, negative_slope
        The hidden activation.
    diagnostics : Diagnostics or None
        Per-layer activation statistics and gradient norms at each recorded
        iteration (``diagnostics=True``, the default).
    final_cost : float
        Mean loss (plus the L2 penalty) of ``parameters`` (the returned ones)
        on the training set, from one forward pass after training.
        ``costs[-1]`` is the cost recorded before iteration
        ``cost_iterations[-1]``, up to ``record_every - 1`` iterations earlier.
    loss : str
        The loss's name in :data:`fastinit.nn.losses.LOSSES`.
    optimizer : Optimizer
        The optimizer, its ``lr`` set (:mod:`fastinit.nn.optimizers`).
    schedule : Schedule
    l2, clip_norm : float
        The L2 penalty's coefficient and the gradient-norm bound (0: none).
    keep_prob : tuple of float or None
        Dropout's keep probability per hidden layer (None: no dropout).
    optimizer_state : OptimizerState
        The optimizer's step count and moments after ``iterations_run``
        steps, matching ``parameters``: pass it back with
        ``initial_parameters=parameters`` to resume exactly.
    validation_costs : ndarray of shape (n_records,) or None
        Mean loss on the validation set at each recording point (with
        ``validation=``).
    best_iteration : int or None
        With early stopping, the iteration whose parameters were kept (the
        lowest validation loss).
    """

    parameters: dict[str, np.ndarray]
    costs: np.ndarray
    cost_iterations: np.ndarray
    layers_dims: list[int]
    init: Any
    learning_rate: float
    num_iterations: int
    seed: int | None
    dtype: np.dtype
    elapsed: float = field(compare=False)
    status: str = "completed"
    iterations_run: int = 0
    message: str = ""
    activation: str = "relu"
    negative_slope: float = 0.01
    diagnostics: Diagnostics | None = None
    final_cost: float = float("nan")
    loss: str = "binary_cross_entropy"
    optimizer: Optimizer | None = None
    schedule: Schedule | None = None
    l2: float = 0.0
    clip_norm: float = 0.0
    optimizer_state: OptimizerState | None = field(default=None, compare=False)
    validation_costs: np.ndarray | None = field(default=None, compare=False)
    best_iteration: int | None = None
    keep_prob: tuple[float, ...] | None = None

    def __repr__(self) -> str:
        """A few lines: what was trained and how it ended (the arrays are
        attributes: ``parameters``, ``costs``, ``diagnostics``)."""
        init = self.init if isinstance(self.init, str) else type(self.init).__name__
        lines = [
            f"TrainingResult(layers_dims={self.layers_dims}, init={init!r}, "
            f"activation={self.activation!r}, dtype={np.dtype(self.dtype).name},",
            f"               learning_rate={self.learning_rate:g}, seed={self.seed}, "
            f"iterations {self.iterations_run} of {self.num_iterations},",
            f"               status={self.status!r}, final_cost={self.final_cost:.6g}, "
            f"{len(self.costs)} costs recorded, {self.elapsed:.3g} s)",
        ]
        return "\n".join(lines)

    def outputs(self, X: ArrayLike) -> np.ndarray:
        """The network's outputs of shape (n_L, m) for ``X`` of shape (n_x,
        m): probabilities for the cross-entropies, the values for "mse" and
        "poisson"."""
        if self.loss == get_loss(None, self.layers_dims[-1]).name:
            return predict_proba(X, self.parameters, self.activation, self.negative_slope)
        logits = forward_propagation(X, self.parameters, self.activation,
                                     self.negative_slope)[1][-4]
        return _reference.output_activation(logits, self.loss)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)
        (a classifier's: not for the regression losses "mse" and "poisson")."""
        if not LOSSES[self.loss].is_classification:
            raise ValueError(f"predict_proba: a network trained with loss={self.loss!r} outputs "
                             f"values, not probabilities; use outputs() or predict()")
        return self.outputs(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (``int64``) of shape (1, m) (see
        :func:`fastinit.predict_labels`); 0/1 per output unit, shape (n_L,
        m), for a multilabel binary cross-entropy; the outputs for "mse" and
        "poisson"."""
        if self.loss == get_loss(None, self.layers_dims[-1]).name:
            return predict_labels(X, self.parameters, self.activation, self.negative_slope)
        out = self.outputs(X)
        return out if not LOSSES[self.loss].is_classification else (out > 0.5).astype(np.int64)

    def accuracy(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Fraction of examples of ``X`` whose predicted label equals ``Y``'s
        (every unit's, for a multilabel output)."""
        if not LOSSES[self.loss].is_classification:
            raise ValueError(f"accuracy: a network trained with loss={self.loss!r} is a regressor")
        if self.loss == get_loss(None, self.layers_dims[-1]).name:
            return accuracy_of(self.predict(X), Y, self.layers_dims[-1])
        predicted = self.predict(X)
        truth = check_targets(Y, predicted.shape[1], np.dtype(np.float64), self.layers_dims[-1],
                              get_loss(self.loss, self.layers_dims[-1]))
        return float(np.mean(np.all(predicted == truth, axis=0)))


# Iterations per compiled call are capped so that one call does about this many
# multiply-adds (a few ms): Python regains control often enough to record
# costs, check for divergence and react to Ctrl-C within a fraction of a second.
WORK_PER_CALL = 2e7


def _check_problem(
    X: ArrayLike, Y: ArrayLike, layers_dims: Sequence[int], dtype: Any, activation: str,
    negative_slope: float, num_iterations: int, record_every: int, loss: str | None = None,
) -> tuple[np.dtype, list[int], str, float, np.ndarray, np.ndarray, int, int]:
    """The validated training problem shared by :func:`train` and :func:`train_models`:
    ``(dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every)``
    (Y as the loss takes it, :func:`~fastinit._validation.check_targets`)."""
    dtype = resolve_dtype(dtype)
    dims = check_layers_dims(layers_dims)
    activation, negative_slope = check_activation(activation, negative_slope)
    X = check_array(X, "X", dtype)
    check_features(X, dims[0])
    Y = check_targets(Y, X.shape[1], dtype, dims[-1], get_loss(loss, dims[-1]))
    num_iterations = check_count(num_iterations, "num_iterations", minimum=0)
    record_every = check_count(record_every, "record_every", minimum=1)
    record_every = min(record_every, max(num_iterations, 1))  # same records, no overflow
    return dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every


def _next_call(done: int, num_iterations: int, record_every: int,
               per_call: int) -> tuple[int, bool]:
    """(iterations, record) of the compiled call that starts after ``done``
    iterations: it records the cost when ``done`` is a recording point and
    stops at the next one, at the end, or after ``per_call`` iterations."""
    next_record = (done // record_every + 1) * record_every
    return min(next_record, num_iterations, done + per_call) - done, done % record_every == 0


def _divergence(cost: float, record: bool, theta: np.ndarray, state: np.ndarray, done: int,
                n_iter: int) -> str:
    """Why a call that ran iterations ``done .. done + n_iter`` diverged, or "".
    The optimizer's state counts too: a squared gradient can overflow (float32)
    while the parameters stay finite, and the next steps would make them NaN."""
    if record and not np.isfinite(cost):
        return f"the cost became {cost} at iteration {done}"
    if not np.isfinite(theta).all():
        return (f"the parameters became NaN or infinite between iterations "
                f"{done} and {done + n_iter}")
    if not np.isfinite(state).all():
        return (f"the optimizer's state (its moments) became NaN or infinite between "
                f"iterations {done} and {done + n_iter}")
    return ""


def _diverged_text(message: str, kept: int) -> str:
    return (f"training diverged: {message}; kept the last finite parameters "
            f"(after {kept} iterations). Try a smaller learning_rate.")


def _training_bytes(dims: list[int], m: int, dtype: np.dtype, engine: str,
                    threads: int, hidden_act: int, keep: np.ndarray | None = None) -> float:
    """Memory a training allocates besides its data: the parameters and the
    optimizer's state a few times over and the engine's buffers (the
    fused loop's workspace, as :func:`~fastinit.engines.spec.workspace` allocates
    it; whole-layer activations and deltas for BLAS)."""
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    if engine == "blas":
        work = (2 * sum(dims[1:]) * m + n_params) * dtype.itemsize
    else:
        layout, act_size = layout_of(dims, hidden_act, keep)
        threads = min(threads, _kernels.chunking(m)[1])  # at most one per chunk runs
        work = workspace_nbytes(n_params, layout, act_size, m, threads, dtype)
    # parameters: packed, committed, result; optimizer state: up to 3 rows, and
    # its committed copy
    return (4 + 2 * 3) * n_params * dtype.itemsize + work


def _check_records(num_iterations: int, record_every: int, n_layers: int,
                   diagnostics: bool) -> None:
    """The recorded costs (and diagnostics) must fit in memory."""
    records = -(-num_iterations // record_every)
    per_record = 3 * 8 + (64 + 7 * 8 * n_layers if diagnostics else 0)  # list, arrays, stats
    check_memory(records * per_record,
                 f"{records} records (num_iterations={num_iterations}, record_every={record_every})")


def _iterations_per_call(examples: int, n_params: int) -> int:
    """Iterations (or mini-batch steps of ``examples``) of one compiled call."""
    return max(1, int(WORK_PER_CALL // (examples * n_params)))


class _Model:
    """One model's state in :func:`_drive`: its parameters and optimizer
    state rows, advanced in place, and what the driver commits after each
    call.  ``first_step``: optimizer steps taken before this training (a
    resumed one), the counter the schedule and the bias corrections go on
    from."""

    def __init__(self, theta: np.ndarray, learning_rate: float, state: np.ndarray,
                 first_step: int = 0):
        self.theta, self.learning_rate, self.state = theta, learning_rate, state
        self.first_step = first_step
        # (iterations done, parameters and optimizer state after them): replaced
        # in one assignment, so an interrupt anywhere leaves a consistent triple
        self.committed = (0, theta.copy(), state.copy())
        self.costs: list[float] = []
        self.message = ""
        # early stopping: the committed triple to keep, set by a step that stops it
        self.stop_with: tuple[int, np.ndarray, np.ndarray] | None = None


def _drive(models: list[_Model], step: Callable[[list[_Model], int, int, bool], Sequence[float]],
           num_iterations: int, record_every: int, per_call: int, *,
           single_step_records: bool = False,
           on_record: Callable[[int, float], None] | None = None,
           progress: Callable[[int, int], None] | None = None) -> None:
    """The one training loop of :func:`train` and :func:`train_models`.

    Calls ``step(active, done, n_iter, record)``, which advances the
    parameters of every active model by ``n_iter`` iterations from ``done``
    and returns their costs before the first one (meaningful when
    ``record``), until ``num_iterations`` are done or every model diverged.
    After each call it records the costs, stops diverged models (their last
    committed parameters stay) and commits the others.  A recording call runs
    one iteration only with ``single_step_records`` (so ``step`` can read its
    gradient)."""
    done = 0
    active = list(models)
    while done < num_iterations and active:
        n_iter, record = _next_call(done, num_iterations, record_every, per_call)
        if record and single_step_records:
            n_iter = 1
        costs = step(active, done, n_iter, record)
        for model, cost in zip(active, costs):
            if record:
                model.costs.append(float(cost))
                if on_record is not None:
                    on_record(done, float(cost))
            model.message = _divergence(cost, record, model.theta, model.state, done, n_iter)
            if model.stop_with is not None:
                model.committed = model.stop_with
            elif not model.message:
                model.committed = (done + n_iter, model.theta.copy(), model.state.copy())
        active = [model for model in active if not model.message and model.stop_with is None]
        done += n_iter
        if progress is not None:
            progress(done, num_iterations)


def _result(model: _Model, layout: np.ndarray, final_cost: float, record_every: int,
            elapsed: float, optimizer: Optimizer, status: str = "completed", message: str = "",
            **fields: Any) -> TrainingResult:
    """The TrainingResult of a driven model (``status`` and ``message`` unless
    it diverged)."""
    done, theta, state = model.committed
    if not model.message and not np.isfinite(final_cost):  # finite parameters, cost overflows
        model.message = f"the cost of the parameters after iteration {done} is {final_cost}"
    if model.message:
        status, message = "diverged", _diverged_text(model.message, done)
    return TrainingResult(
        parameters=unpack(theta, layout), costs=np.array(model.costs, dtype=np.float64),
        cost_iterations=np.arange(len(model.costs)) * record_every,
        learning_rate=model.learning_rate, elapsed=elapsed, status=status,
        iterations_run=done, message=message, final_cost=final_cost, optimizer=optimizer,
        optimizer_state=OptimizerState(optimizer, model.first_step + done, state.copy()),
        **fields)


def epoch_order(m: int, epoch: int, seed: int) -> np.ndarray:
    """The example order of mini-batch epoch ``epoch`` (0, 1, ...) of
    ``train(..., batch_size=B, seed=seed)`` on m examples: batch k of the
    epoch is ``order[k * B:(k + 1) * B]``.  A Fisher-Yates shuffle driven by
    SplitMix64 seeded from (seed, epoch), computed in the compiled core."""
    m = check_count(m, "m", minimum=1)
    epoch = check_count(epoch, "epoch", minimum=0)
    order = np.empty(m, dtype=np.intp)
    _kernels.epoch_order(seed=shuffle_seed(check_seed(seed)), epoch=epoch, order=order)
    return order


def _initial_parameters(initial_parameters, dims, dtype):
    """Validated starting parameters of ``dims`` (a warm start)."""
    got, params = check_parameters(initial_parameters, dtype, name="initial_parameters")
    if got != dims:
        raise ValueError(f"initial_parameters are a network of layer sizes {got}, "
                         f"but layers_dims is {dims}")
    return params


def train(
    X: ArrayLike,
    Y: ArrayLike,
    layers_dims: Sequence[int],
    init: str | Initializer = "he",
    learning_rate: float = 0.01,
    num_iterations: int = 15000,
    seed: int | None = DEFAULT_SEED,
    dtype: Any = np.float64,
    record_every: int = 1000,
    print_cost: bool = False,
    on_divergence: str = "warn",
    activation: str = "relu",
    negative_slope: float = 0.01,
    diagnostics: bool = True,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    n_threads: int = 1,
    engine: str = "auto",
    initial_parameters: Mapping[str, ArrayLike] | None = None,
    *,
    optimizer: str | Optimizer | None = None,
    schedule: str | Schedule | None = None,
    l2: float = 0.0,
    clip_norm: float | None = None,
    keep_prob: float | Sequence[float] | None = None,
    loss: str | None = None,
    validation: float | tuple[ArrayLike, ArrayLike] | None = None,
    patience: int | None = None,
    tol: float = 1e-4,
    optimizer_state: OptimizerState | None = None,
) -> TrainingResult:
    """Train a LINEAR->RELU x (L-1) -> LINEAR->SIGMOID classifier by
    gradient descent on the mean cross-entropy (full batch by default), or
    any network of :mod:`fastinit.nn.activations`, :mod:`fastinit.nn.losses` and
    :mod:`fastinit.nn.optimizers`.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Training data, one example per column; finite.
    Y : array_like of shape (1, m) or (m,), or (n_L, m)
        Labels: 0/1, or 0 .. k-1 for a softmax output of k units; (n_L, m)
        0/1 for a multilabel ``loss="binary_cross_entropy"`` of n_L units,
        real targets for ``loss="mse"``.
    layers_dims : sequence of int
        ``[n_x, n_1, ..., n_{L-1}, n_L]``: input size, hidden sizes, output
        size: 1 for a sigmoid output (labels 0/1), k >= 2 for a softmax output
        with categorical cross-entropy (labels 0 .. k-1).
    init : str or Initializer, default "he"
        Initialization of the weights: a name of :data:`fastinit.INITIALIZERS`
        (``"zeros"``, ``"random"``, ``"he"``, ``"xavier"``, ``"orthogonal"``, ...)
        or an :class:`~fastinit.nn.initializers.Initializer` object.
    learning_rate : float, default 0.01
        Step size, a finite number > 0.
    num_iterations : int, default 15000
        Number of gradient-descent iterations (0 returns the initial parameters).
    seed : int or None, default 3
        Seed of the initializer's local generator (3 reproduces the notebook).
    dtype : float32 or float64, default float64
        Precision of the whole computation.
    record_every : int, default 1000
        The cost is recorded before iterations 0, record_every, 2*record_every, ...
    print_cost : bool, default False
        Print ``"Cost after iteration i: cost"`` at each record, as the seed.
    activation : str, default "relu"
        Activation of the hidden layers: a name of
        :data:`fastinit.nn.activations.ACTIVATIONS`.
    negative_slope : float, default 0.01
        Slope of leaky_relu for negative inputs.
    batch_size : int or None, default None
        None (or >= m): full-batch gradient descent, as the seed.  Otherwise
        mini-batch gradient descent: each iteration is one step on a batch of
        ``batch_size`` examples (the last batch of an epoch is shorter when
        batch_size does not divide m); the examples are reshuffled at every
        epoch by a generator seeded with ``seed`` and the epoch number (see
        :func:`epoch_order`), so results are reproducible.
        Whole epochs run in the compiled loop.  Recorded costs are always on
        the whole training set.
    progress : callable, optional
        Called as ``progress(iterations_done, num_iterations)`` after every
        compiled call (every few milliseconds): for progress bars.
    n_threads : int, default 1
        Threads of the compiled loop (-1: every available CPU).  The examples
        are cut into chunks of at least 2048 (a cut that depends on m only),
        so problems of fewer examples run on one thread whatever is asked, and
        the result has the same bits for every thread count.  Without OpenMP
        (see :func:`fastinit.show_config`) the loop always runs on one thread.
        The "blas" engine ignores it: NumPy's BLAS uses its own threads.
    engine : {"auto", "fused", "blas"}, default "auto"
        "fused": the compiled loop, every layer of a block of examples at
        once (fastest for narrow networks); "blas": matrix products by NumPy's
        BLAS, elementwise work compiled (fastest for wide layers); "auto"
        picks by the measured crossover (``fastinit.engines.choice.choose_engine``):
        fused below 16,384 weights in the widest layer, BLAS from 262,144, in
        between fused for at least 2048 examples and fewer than 256 inputs.
    diagnostics : bool, default True
        Record per-layer diagnostics (:class:`~fastinit.training.diagnostics.Diagnostics`)
        at each recording point: one extra forward pass per record.
    on_divergence : {"warn", "raise"}, default "warn"
        What to do when the cost or a parameter becomes NaN or infinite (a too
        large learning rate): training stops there and keeps the last finite
        parameters; "warn" returns the result with ``status="diverged"`` and
        emits a :class:`~fastinit.DivergenceWarning`, "raise" raises
        :class:`~fastinit.TrainingDivergedError` carrying that result.
    initial_parameters : dict, optional
        Start from these parameters (``"W1"``, ``"b1"``, ..., of the shapes
        ``layers_dims`` gives, e.g. a previous result's ``parameters``)
        instead of initializing: a warm start.  ``init`` is then only
        reported, and ``seed`` still seeds the mini-batch shuffle.
    optimizer : str or Optimizer, optional
        The update: a name of :data:`fastinit.nn.optimizers.OPTIMIZERS`
        (``"sgd"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, ``"adagrad"``,
        with PyTorch's default hyper-parameters) or an object such as
        ``Adam(betas=(0.9, 0.99))``.  Its learning rate is ``learning_rate``
        unless the object sets ``lr``.  Default: plain gradient descent
        (the seed's), ``theta -= learning_rate * gradient``.
    schedule : str or Schedule, optional
        Learning rate by step (:data:`fastinit.nn.optimizers.SCHEDULES`:
        "constant", "step", "exponential", "invscaling", "cosine").
    l2 : float, default 0
        L2 penalty ``l2 / (2 m) * sum of squared weights`` (biases are not
        penalised; m is the batch size in mini-batch training), added to the
        cost and its gradient: scikit-learn's ``alpha``, the notebook
        course's ``lambd``.
    clip_norm : float, optional
        Scale the gradient (the L2 penalty's included) to this norm when its
        norm is larger, as ``torch.nn.utils.clip_grad_norm_`` (None or 0: no
        clipping).
    keep_prob : float or sequence of float, optional
        Inverted dropout on the hidden layers: each unit of each example is
        kept with this probability (one for every hidden layer, or one per
        hidden layer; 1 means no dropout there) and scaled by 1 / keep_prob,
        during training only.  The masks are a hash of (seed, step, layer,
        example, unit) (``fastinit.engines.reference.dropout_mask``), so a training
        gives the same bits for every thread count.  Recorded costs and
        ``final_cost`` are the network's without dropout.
    loss : str, optional
        A name of :data:`fastinit.nn.losses.LOSSES`: "binary_cross_entropy"
        (sigmoid units), "categorical_cross_entropy" (softmax), "mse"
        (identity outputs, regression).  Default: the cross-entropy of the
        output width, as the seed.
    validation : float or (X_val, Y_val), optional
        Held-out data whose mean loss is recorded at every recording point
        (``validation_costs``): a pair of arrays laid out as X and Y, or a
        fraction in (0, 1) of the training examples held out (picked by a
        generator seeded with ``seed``; training uses the rest).
    patience : int, optional
        Early stopping (needs ``validation``): stop when the validation loss
        has not fallen below its best minus ``tol`` for ``patience``
        recording points in a row, and return the parameters (and optimizer
        state) of the best one (``status="early_stopped"``,
        ``best_iteration``).
    tol : float, default 1e-4
        The improvement that counts for ``patience``.
    optimizer_state : OptimizerState, optional
        Resume: the ``optimizer_state`` of an earlier result (with its
        parameters as ``initial_parameters``); the optimizer, its moments
        and its step count continue exactly.

    Returns
    -------
    TrainingResult
        Its ``final_cost`` is the cost of the returned parameters on the
        training set (one forward pass after training).

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, within a few milliseconds of compiled work.  The exception's
        ``result`` attribute is a :class:`TrainingResult` with
        ``status="interrupted"`` holding the parameters after the last
        completed iteration.

    Notes
    -----
    With the default update (plain gradient descent, no penalty, no
    clipping) the compiled loop takes exactly the seed's steps, bit for bit
    as before optimizers existed.

    The recorded cost is computed from the output logits,
    ``mean(log(1 + exp(z)) - y z)``, which is finite whenever the logits are.
    The seed notebook computed ``-log(sigmoid(z))`` and printed ``inf`` for the
    large-random initialization at iteration 0, where sigmoid rounds to exactly
    0 or 1; the training itself (the gradients) is the same.

    The compiled loop releases the GIL: trainings in several Python threads
    run in parallel, each giving the same bits as when run alone.
    """
    labels, loss_entry = Y, None
    dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every = _check_problem(
        X, Y, layers_dims, dtype, activation, negative_slope, num_iterations, record_every, loss)
    loss_entry = get_loss(loss, dims[-1])
    learning_rate = check_learning_rate(learning_rate, dtype)
    opt, sched, hyper = _check_update(optimizer, learning_rate, schedule, l2, clip_norm, dtype)
    learning_rate = float(opt.lr or learning_rate)  # an optimizer's own lr is the rate used
    n_threads = check_n_threads(n_threads)
    check_callable(progress, "progress", "progress(iterations_done, num_iterations)")
    check_choice(on_divergence, "on_divergence", ("warn", "raise"))
    X, Y, X_val, Y_val = _check_validation(validation, X, Y, dims, dtype, loss_entry, seed)
    patience, tol = _check_early_stopping(patience, tol, X_val)
    keep = _check_keep_prob(keep_prob, dims)
    engine = choose_engine(dims, engine, X.shape[1])
    hidden_act = _kernels.ACTIVATION_CODES[activation]
    check_memory(_training_bytes(dims, X.shape[1], dtype, engine, n_threads, hidden_act, keep),
                 f"training layers_dims {dims} on {X.shape[1]} examples")
    _check_records(num_iterations, record_every, len(dims) - 1, diagnostics)
    if batch_size is not None:
        batch_size = check_count(batch_size, "batch_size", minimum=1)
        if batch_size >= X.shape[1]:
            batch_size = None  # one batch of everything: full-batch gradient descent
    if initial_parameters is not None:
        parameters = _initial_parameters(initial_parameters, dims, dtype)
    else:
        if optimizer_state is not None:
            raise ValueError("optimizer_state resumes a training: pass its parameters as "
                             "initial_parameters too")
        parameters = initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                           activation=activation, negative_slope=negative_slope)

    theta, layout, act_size = pack(parameters, dims, hidden_act, keep)
    state, first_step = _initial_state(optimizer_state, opt, theta.shape[0], dtype)
    net = NetworkSpec(layout, act_size, hidden_act, negative_slope, loss_entry.code, keep,
                      shuffle_seed(seed) if keep is not None else 0)
    problem = Problem(X, Y, net, hyper)
    runner = make_engine(problem, theta.shape[0], engine, n_threads, batch_size, seed)
    per_call = _iterations_per_call(batch_size or X.shape[1], theta.shape[0])
    model = _Model(theta, learning_rate, state, first_step)
    records: list[np.ndarray] = []
    stopper = None
    if X_val is not None and Y_val is not None:  # its cost by the training's kind of engine
        stopper = _EarlyStopping(make_engine(Problem(X_val, Y_val, net, hyper), theta.shape[0],
                                             engine, n_threads, None, seed).cost, patience, tol)

    def step(active, done, n_iter, record):
        stats = None
        if record and stopper is not None and stopper.check(model, done):
            return [runner.cost(theta)]  # stopped: no more steps
        if record and diagnostics:
            stats = layer_statistics(X, theta, net)
        cost = runner.run(theta, model.state, first_step + done, n_iter, record)
        if stats is not None:  # the gradient of this very iteration
            records.append(np.column_stack([stats, gradient_norms(runner.gradient, layout)]))
        return [cost]

    def on_record(done, cost):
        if print_cost:
            clear = getattr(progress, "clear", None)  # a progress line on the terminal
            if clear is not None:
                clear()
            print(f"Cost after iteration {done}: {cost}")

    start = time.perf_counter()

    def result(status="completed", message="") -> TrainingResult:
        kept = len(model.costs)
        if stopper is not None and model.stop_with is not None:
            status, message = "early_stopped", stopper.message
        elif stopper is not None and stopper.message:
            message = stopper.message
        return _result(
            model, layout, runner.cost(model.committed[1]), record_every,
            time.perf_counter() - start, opt, status=status, message=message, layers_dims=dims,
            init=init, num_iterations=num_iterations, seed=seed, dtype=dtype,
            activation=activation, negative_slope=negative_slope, loss=loss_entry.name,
            schedule=sched, l2=float(l2), clip_norm=float(clip_norm or 0.0),
            keep_prob=None if keep is None else tuple(float(k) for k in keep[:-1]),
            validation_costs=None if stopper is None else np.array(stopper.costs),
            best_iteration=None if stopper is None or patience is None else stopper.best[0],
            diagnostics=(stack_records(np.arange(len(records[:kept])) * record_every, records[:kept])
                         if records else None))

    try:
        _drive([model], step, num_iterations, record_every, per_call,
               single_step_records=diagnostics, on_record=on_record, progress=progress)
        if stopper is not None and model.stop_with is None and not model.message:
            stopper.finish(model, num_iterations)
    except KeyboardInterrupt as exc:
        # the documented attribute carrying the partial result (see Raises above)
        exc.result = result(  # type: ignore[attr-defined]
            "interrupted", f"interrupted after {model.committed[0]} iterations")
        raise

    out = result()
    if out.status == "diverged":
        if on_divergence == "raise":
            raise TrainingDivergedError(out.message, out)
        warnings.warn(out.message, DivergenceWarning, stacklevel=2)
    return out


def _check_keep_prob(keep_prob: Any, dims: list[int]) -> np.ndarray | None:
    """The kernels' keep probabilities, one per layer (the output's 1), or
    None without dropout."""
    if keep_prob is None:
        return None
    hidden = len(dims) - 2
    if isinstance(keep_prob, (list, tuple, np.ndarray)):
        if len(keep_prob) != hidden:
            raise ValueError(f"keep_prob must be one number or one per hidden layer "
                             f"({hidden}), got {len(keep_prob)} values")
        values = [check_interval(k, f"keep_prob[{i}]", 0, 1, low_open=True)
                  for i, k in enumerate(keep_prob)]
    else:
        values = [check_interval(keep_prob, "keep_prob", 0, 1, low_open=True)] * hidden
    for i, v in enumerate(values):
        if v < KEEP_PROB_MIN:
            raise ValueError(f"keep_prob must be at least 2**-24 = {KEEP_PROB_MIN:.3g} (the "
                             f"resolution of the dropout masks' 24-bit thresholds), got {v:g}"
                             + (f" for hidden layer {i + 1}" if hidden > 1 else ""))
    if all(v == 1 for v in values):
        return None
    return np.array(values + [1.0], dtype=np.float64)


#: the smallest keep probability: the masks compare 24-bit hashes with
#: round(keep * 2^24) (``_kernels_dropout.pxi``); 1 / keep stays finite in float32
KEEP_PROB_MIN = 2.0 ** -24


def _check_update(optimizer: Any, learning_rate: float, schedule: Any, l2: Any,
                  clip_norm: Any, dtype: np.dtype) -> tuple[Optimizer, Schedule, np.ndarray]:
    """The validated optimizer (its lr set), schedule and the kernels'
    hyper-parameter vector."""
    opt = get_optimizer(optimizer).with_lr(learning_rate)
    if opt.lr is not None:
        check_learning_rate(opt.lr, dtype, name="optimizer's lr")
    sched = get_schedule(schedule)
    l2 = check_interval(l2, "l2", 0)
    if clip_norm is not None:  # 0 (a result's "none") means no clipping too
        clip_norm = check_interval(clip_norm, "clip_norm", 0)
    return opt, sched, opt.hyper(sched, l2, clip_norm)


def _initial_state(optimizer_state: Any, opt: Optimizer, n_params: int,
                   dtype: np.dtype) -> tuple[np.ndarray, int]:
    """The optimizer's state rows and step count to start from."""
    if optimizer_state is None:
        return opt.initial_state(n_params, dtype), 0
    if not isinstance(optimizer_state, OptimizerState):
        raise TypeError(f"optimizer_state must be the OptimizerState of an earlier result, "
                        f"got {type(optimizer_state).__name__}")
    if type(optimizer_state.optimizer) is not type(opt):
        raise ValueError(f"optimizer_state belongs to {type(optimizer_state.optimizer).__name__}, "
                         f"but this training uses {type(opt).__name__}")
    slots = check_array(optimizer_state.slots, "optimizer_state.slots", dtype).copy()
    opt.check_state(optimizer_state.step, slots, n_params, dtype)
    return slots, int(optimizer_state.step)


def _check_validation(validation: Any, X: np.ndarray, Y: np.ndarray, dims: list[int],
                      dtype: np.dtype, loss: Loss, seed: int | None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(X, Y, X_val, Y_val): the training data less a held-out fraction, or
    the given validation pair (validated as X and Y), or no validation."""
    if validation is None:
        return X, Y, None, None
    if isinstance(validation, (tuple, list)):
        if len(validation) != 2:
            raise TypeError("validation must be a fraction or a pair (X_val, Y_val)")
        X_val = check_array(validation[0], "validation X", dtype)
        check_features(X_val, dims[0], name="validation X")
        Y_val = check_targets(validation[1], X_val.shape[1], dtype, dims[-1], loss,
                              name="validation Y")
        return X, Y, X_val, Y_val
    fraction = check_interval(validation, "validation", 0, 1, low_open=True, high_open=True)
    m = X.shape[1]
    n_val = int(round(fraction * m))
    if n_val < 1 or n_val >= m:
        raise ValueError(f"validation={fraction:g} of {m} examples leaves no validation or no "
                         f"training example")
    order = np.random.default_rng(seed).permutation(m)
    keep, held = np.sort(order[n_val:]), np.sort(order[:n_val])
    return (np.ascontiguousarray(X[:, keep]), np.ascontiguousarray(Y[:, keep]),
            np.ascontiguousarray(X[:, held]), np.ascontiguousarray(Y[:, held]))


def _check_early_stopping(patience: Any, tol: Any,
                          X_val: np.ndarray | None) -> tuple[int | None, float]:
    tol = check_interval(tol, "tol", 0)
    if patience is not None:
        patience = check_count(patience, "patience", minimum=1)
        if X_val is None:
            raise ValueError("patience (early stopping) needs validation data: "
                             "validation=fraction or (X_val, Y_val)")
    return patience, tol


class _EarlyStopping:
    """The validation loss at each recording point, and early stopping:
    ``check`` before a recording call tells whether to stop there (the model
    then keeps its best committed state)."""

    def __init__(self, cost: Callable[..., float], patience: int | None, tol: float):
        self.cost, self.patience, self.tol = cost, patience, tol
        self.costs: list[float] = []
        self.best: tuple[int, float] = (0, float("inf"))
        self.best_state: tuple[int, np.ndarray, np.ndarray] | None = None
        self.bad = 0
        self.message = ""

    def check(self, model: _Model, done: int) -> bool:
        """Record the validation loss of the parameters after ``done``
        iterations; True (and the model set to stop) when patience ran out.
        As scikit-learn's MLP: no improvement means a loss above the best
        minus tol; the best parameters are those of the lowest loss."""
        cost = self.cost(model.theta, l2=0.0)
        self.costs.append(cost)
        if self.patience is None:
            return False
        if self.best_state is None:  # the first record is the best so far, whatever it is
            self.best = (done, cost)
            self.best_state = (done, model.theta.copy(), model.state.copy())
            self.bad = 0
            return False
        improved = cost < self.best[1] - self.tol
        if cost < self.best[1]:
            self.best = (done, cost)
            self.best_state = (done, model.theta.copy(), model.state.copy())
        self.bad = 0 if improved else self.bad + 1
        if self.bad < self.patience:
            return False
        self._stop(model, done)
        return True

    def _stop(self, model: _Model, done: int) -> None:
        model.stop_with = self.best_state
        self.message = (f"early stopping at iteration {done}: the validation loss did not "
                        f"improve by more than tol={self.tol:g} for {self.patience} recording "
                        f"points; kept the parameters of iteration {self.best[0]} "
                        f"(validation loss {self.best[1]:.6g})")

    def finish(self, model: _Model, done: int) -> None:
        """At the end of training: the last parameters count too; restore
        the best if they are worse."""
        if self.patience is None:
            return
        cost = self.cost(model.committed[1], l2=0.0)
        if cost >= self.best[1] and self.best_state is not None:
            model.committed = self.best_state
            self.message = (f"kept the parameters of iteration {self.best[0]}, whose validation "
                            f"loss {self.best[1]:.6g} is the lowest (after {done} iterations: "
                            f"{cost:.6g})")
        else:
            self.best = (done, cost)


def train_models(
    X: ArrayLike,
    Y: ArrayLike,
    layers_dims: Sequence[int],
    runs: Sequence[tuple[Any, ...]],
    num_iterations: int = 15000,
    dtype: Any = np.float64,
    record_every: int = 1000,
    activation: str = "relu",
    negative_slope: float = 0.01,
    n_threads: int = 1,
    *,
    schedule: str | Schedule | None = None,
    l2: float = 0.0,
    clip_norm: float | None = None,
    keep_prob: float | Sequence[float] | None = None,
    loss: str | None = None,
) -> list[TrainingResult]:
    """Train several networks of one shape on the same data at once.

    ``runs[k] = (init, seed, learning_rate)`` or ``(init, seed,
    learning_rate, optimizer)`` (a name or object of
    :mod:`fastinit.nn.optimizers`; default plain gradient descent), so one call
    can compare optimizers; ``schedule``, ``l2``, ``clip_norm``,
    ``keep_prob`` and ``loss`` are shared by every run (each run's dropout
    masks come from its own seed, as in :func:`train`).  The models are trained by the batched kernel
    ``_kernels.train_models``: one compiled call advances every model, up to
    ``n_threads`` of them at a time, each running its iterations back to back
    on one thread while the data stay in cache.  Result ``k`` is bit for bit
    what ``train(X, Y, layers_dims, init, learning_rate=..., seed=...,
    optimizer=..., diagnostics=False, ...)`` returns (a diverged model stops
    where :func:`train` stops, without the warning), except ``elapsed``: the
    whole batch's time divided by the number of models.  Networks that
    :func:`train` would run with the BLAS engine (wide layers) are trained
    one after the other by :func:`train`.
    """
    labels = Y  # as given: the fallback to train() validates them again
    dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every = _check_problem(
        X, Y, layers_dims, dtype, activation, negative_slope, num_iterations, record_every, loss)
    loss_entry = get_loss(loss, dims[-1])
    n_threads = check_n_threads(n_threads)
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Iterable):
        raise TypeError(f"runs must be a list of (init, seed, learning_rate[, optimizer]), "
                        f"got {runs!r}")
    runs = list(runs)
    for k, run in enumerate(runs):
        if not isinstance(run, (tuple, list)) or len(run) not in (3, 4):
            raise TypeError(f"runs[{k}] must be a tuple (init, seed, learning_rate[, optimizer]), "
                            f"got {run!r}")
    checked = []
    for run in runs:
        init, seed, lr = run[0], check_seed(run[1], "seed of a run"), check_learning_rate(run[2], dtype)
        opt, sched, hyper = _check_update(run[3] if len(run) == 4 else None, lr, schedule, l2,
                                          clip_norm, dtype)
        checked.append((init, seed, lr, opt, sched, hyper))
    _check_records(num_iterations, record_every, len(dims) - 1, False)
    options = dict(num_iterations=num_iterations, dtype=dtype, record_every=record_every,
                   activation=activation, negative_slope=negative_slope, diagnostics=False,
                   schedule=schedule, l2=l2, clip_norm=clip_norm, keep_prob=keep_prob, loss=loss)
    keep = _check_keep_prob(keep_prob, dims)
    if choose_engine(dims, "auto", X.shape[1]) != "fused" or not runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            return [train(X, labels, dims, init=init, seed=seed, learning_rate=lr,
                          optimizer=opt, **options)
                    for init, seed, lr, opt, _, _ in checked]
    start = time.perf_counter()
    hidden_act = _kernels.ACTIVATION_CODES[activation]
    packed = [pack(initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                         activation=activation, negative_slope=negative_slope),
                   dims, hidden_act, keep) for init, seed, *_ in checked]
    layout, act_size = packed[0][1], packed[0][2]
    thetas = np.stack([p[0] for p in packed])
    K, n_params = thetas.shape
    hypers = np.stack([c[5] for c in checked])
    slots = max(c[3].initial_state(1, dtype).shape[0] for c in checked)
    states = np.zeros((K, slots * n_params), dtype=dtype)
    for k, c in enumerate(checked):
        initial = c[3].initial_state(n_params, dtype)
        states[k, :initial.size] = initial.ravel()
    net = NetworkSpec(layout, act_size, hidden_act, negative_slope, loss_entry.code, keep)
    problem = Problem(X, Y, net, hypers[0])
    # each run's dropout masks from its own seed, as train() draws them
    dropout_seeds = (np.array([shuffle_seed(c[1]) for c in checked], dtype=np.uint64)
                     if keep is not None else None)
    threads = usable_threads(min(n_threads, K))
    work = workspace(n_params, layout, act_size, X.shape[1], threads, dtype, rows=threads)
    models = [_Model(thetas[k], c[2], states[k]) for k, c in enumerate(checked)]
    rows = {id(model): k for k, model in enumerate(models)}

    def step(active, done, n_iter, record):
        index = [rows[id(model)] for model in active]
        batch = np.ascontiguousarray(thetas[index])
        batch_states = np.ascontiguousarray(states[index])
        costs = np.empty(len(active), dtype)
        _kernels.train_models(net=net, work=work, X=X, Y=Y, thetas=batch,
                              hypers=np.ascontiguousarray(hypers[index]), states=batch_states,
                              first_step=done, n_iter=n_iter, record_first=record and keep is None,
                              n_threads=usable_threads(threads), costs=costs,
                              dropout_seeds=None if dropout_seeds is None
                              else np.ascontiguousarray(dropout_seeds[index]))
        if record and keep is not None:  # the cost without dropout, as train() records it
            costs = np.array([cost_of(thetas[k], l2=float(hypers[k, _kernels.HYPER_FIELDS["l2"]]))
                              for k in index])
        thetas[index] = batch
        states[index] = batch_states
        return costs

    cost_of = FusedEngine(problem, n_params, n_threads).cost
    _drive(models, step, num_iterations, record_every, _iterations_per_call(X.shape[1], n_params))
    elapsed = (time.perf_counter() - start) / K
    results = []
    for model, (init, seed, _, opt, sched, hyper) in zip(models, checked):
        done, theta, state = model.committed
        n_rows = opt.initial_state(1, dtype).shape[0]
        model.committed = (done, theta, state[:n_rows * n_params].reshape(n_rows, n_params))
        cost = cost_of(theta, l2=float(hyper[_kernels.HYPER_FIELDS["l2"]]))
        results.append(_result(model, layout, cost, record_every, elapsed, opt,
                               layers_dims=dims, init=init, num_iterations=num_iterations,
                               seed=seed, dtype=dtype, activation=activation,
                               negative_slope=negative_slope, loss=loss_entry.name,
                               schedule=sched, l2=float(l2), clip_norm=float(clip_norm or 0.0),
                               keep_prob=None if keep is None else tuple(float(k) for k in keep[:-1])))
    return results
