"""Gradient-descent training in the compiled core.

:func:`train` validates its inputs once, packs all parameters into one flat
buffer and hands it to an engine (``fastinit._engines``): the fused kernel
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

from ._engines import (FusedEngine, Problem, choose_engine, layout_of, make_engine, pack,
                       shuffle_seed, unpack, usable_threads, workspace, workspace_nbytes)
from ._simd import kernels as _kernels
from ._validation import (
    check_array,
    check_activation,
    check_callable,
    check_choice,
    check_count,
    check_features,
    check_labels,
    check_layers_dims,
    check_learning_rate,
    check_memory,
    check_n_threads,
    check_parameters,
    check_seed,
    resolve_dtype,
)
from .diagnostics import Diagnostics, gradient_norms, stack_records, layer_statistics
from .exceptions import DivergenceWarning, TrainingDivergedError
from .initializers import DEFAULT_SEED, Initializer, initialize_parameters
from .network import accuracy_of, predict_labels, predict_proba


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train` returns.

    Attributes
    ----------
    parameters : dict
        Trained ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"`` (``b`` of shape (n_l, 1)).
    costs : ndarray of shape (n_records,)
        Mean cross-entropy before iteration ``cost_iterations[k]``.
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
    status : {"completed", "diverged", "interrupted"}
        "diverged": the cost or a parameter became NaN or infinite, training
        stopped and ``parameters`` are the last finite ones; "interrupted":
        Ctrl-C stopped it (see :func:`train`).
    iterations_run : int
        Gradient-descent iterations whose updates ``parameters`` contain.
    message : str
        Why training stopped early, or "".
    activation, negative_slope
        The hidden activation.
    diagnostics : Diagnostics or None
        Per-layer activation statistics and gradient norms at each recorded
        iteration (``diagnostics=True``, the default).
    final_cost : float
        Mean cross-entropy of ``parameters`` (the returned ones) on the
        training set, from one forward pass after training.  ``costs[-1]`` is
        the cost recorded before iteration ``cost_iterations[-1]``, up to
        ``record_every - 1`` iterations earlier.
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

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)."""
        return predict_proba(X, self.parameters, self.activation, self.negative_slope)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (``int64``) of shape (1, m) (see :func:`fastinit.predict_labels`)."""
        return predict_labels(X, self.parameters, self.activation, self.negative_slope)

    def accuracy(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Fraction of examples of ``X`` whose predicted label equals ``Y``'s."""
        return accuracy_of(self.predict(X), Y, self.layers_dims[-1])


# Iterations per compiled call are capped so that one call does about this many
# multiply-adds (a few ms): Python regains control often enough to record
# costs, check for divergence and react to Ctrl-C within a fraction of a second.
WORK_PER_CALL = 2e7


def _check_problem(
    X: ArrayLike, Y: ArrayLike, layers_dims: Sequence[int], dtype: Any, activation: str,
    negative_slope: float, num_iterations: int, record_every: int,
) -> tuple[np.dtype, list[int], str, float, np.ndarray, np.ndarray, int, int]:
    """The validated training problem shared by :func:`train` and :func:`train_models`:
    ``(dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every)``."""
    dtype = resolve_dtype(dtype)
    dims = check_layers_dims(layers_dims)
    activation, negative_slope = check_activation(activation, negative_slope)
    X = check_array(X, "X", dtype)
    check_features(X, dims[0])
    Y = check_labels(Y, X.shape[1], dtype, n_outputs=dims[-1])
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


def _divergence(cost: float, record: bool, theta: np.ndarray, done: int, n_iter: int) -> str:
    """Why a call that ran iterations ``done .. done + n_iter`` diverged, or ""."""
    if record and not np.isfinite(cost):
        return f"the cost became {cost} at iteration {done}"
    if not np.isfinite(theta).all():
        return (f"the parameters became NaN or infinite between iterations "
                f"{done} and {done + n_iter}")
    return ""


def _diverged_text(message: str, kept: int) -> str:
    return (f"training diverged: {message}; kept the last finite parameters "
            f"(after {kept} iterations). Try a smaller learning_rate.")


def _training_bytes(dims: list[int], m: int, dtype: np.dtype, engine: str,
                    threads: int, hidden_act: int) -> float:
    """Memory a training allocates besides its data: the parameters a few
    times over (packed, committed, result) and the engine's buffers (the
    fused loop's workspace, as :func:`~fastinit._engines.workspace` allocates
    it; whole-layer activations and deltas for BLAS)."""
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    if engine == "blas":
        work = (2 * sum(dims[1:]) * m + n_params) * dtype.itemsize
    else:
        layout, act_size = layout_of(dims, hidden_act)
        threads = min(threads, _kernels.chunking(m)[1])  # at most one per chunk runs
        work = workspace_nbytes(n_params, layout, act_size, m, threads, dtype)
    return 4 * n_params * dtype.itemsize + work


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
    """One model's state in :func:`_drive`: its parameters, advanced in place,
    and what the driver commits after each call."""

    def __init__(self, theta: np.ndarray, learning_rate: float):
        self.theta, self.learning_rate = theta, learning_rate
        # (iterations done, parameters after them): replaced in one assignment,
        # so an interrupt anywhere leaves a consistent pair
        self.committed = (0, theta.copy())
        self.costs: list[float] = []
        self.message = ""


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
            model.message = _divergence(cost, record, model.theta, done, n_iter)
            if not model.message:
                model.committed = (done + n_iter, model.theta.copy())
        active = [model for model in active if not model.message]
        done += n_iter
        if progress is not None:
            progress(done, num_iterations)


def _result(model: _Model, layout: np.ndarray, final_cost: float, record_every: int,
            elapsed: float, status: str = "completed", message: str = "",
            **fields: Any) -> TrainingResult:
    """The TrainingResult of a driven model (``status`` and ``message`` unless
    it diverged)."""
    done, theta = model.committed
    if not model.message and not np.isfinite(final_cost):  # finite parameters, cost overflows
        model.message = f"the cost of the parameters after iteration {done} is {final_cost}"
    if model.message:
        status, message = "diverged", _diverged_text(model.message, done)
    return TrainingResult(
        parameters=unpack(theta, layout), costs=np.array(model.costs, dtype=np.float64),
        cost_iterations=np.arange(len(model.costs)) * record_every,
        learning_rate=model.learning_rate, elapsed=elapsed, status=status,
        iterations_run=done, message=message, final_cost=final_cost, **fields)


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
) -> TrainingResult:
    """Train a LINEAR->RELU x (L-1) -> LINEAR->SIGMOID classifier by
    gradient descent on the mean cross-entropy (full batch by default).

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Training data, one example per column; finite.
    Y : array_like of shape (1, m) or (m,)
        Labels: 0/1, or 0 .. k-1 for a softmax output of k units.
    layers_dims : sequence of int
        ``[n_x, n_1, ..., n_{L-1}, n_L]``: input size, hidden sizes, output
        size: 1 for a sigmoid output (labels 0/1), k >= 2 for a softmax output
        with categorical cross-entropy (labels 0 .. k-1).
    init : str or Initializer, default "he"
        Initialization of the weights: a name of :data:`fastinit.INITIALIZERS`
        (``"zeros"``, ``"random"``, ``"he"``, ``"xavier"``, ``"orthogonal"``, ...)
        or an :class:`~fastinit.initializers.Initializer` object.
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
        :data:`fastinit.activations.ACTIVATIONS`.
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
        picks by the measured crossover (``fastinit._engines.choose_engine``):
        fused below 16,384 weights in the widest layer, BLAS from 262,144, in
        between fused for at least 2048 examples and fewer than 256 inputs.
    diagnostics : bool, default True
        Record per-layer diagnostics (:class:`~fastinit.diagnostics.Diagnostics`)
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
    The recorded cost is computed from the output logits,
    ``mean(log(1 + exp(z)) - y z)``, which is finite whenever the logits are.
    The seed notebook computed ``-log(sigmoid(z))`` and printed ``inf`` for the
    large-random initialization at iteration 0, where sigmoid rounds to exactly
    0 or 1; the training itself (the gradients) is the same.

    The compiled loop releases the GIL: trainings in several Python threads
    run in parallel, each giving the same bits as when run alone.
    """
    dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every = _check_problem(
        X, Y, layers_dims, dtype, activation, negative_slope, num_iterations, record_every)
    learning_rate = check_learning_rate(learning_rate, dtype)
    n_threads = check_n_threads(n_threads)
    engine = choose_engine(dims, engine, X.shape[1])
    check_callable(progress, "progress", "progress(iterations_done, num_iterations)")
    hidden_act = _kernels.ACTIVATION_CODES[activation]
    check_memory(_training_bytes(dims, X.shape[1], dtype, engine, n_threads, hidden_act),
                 f"training layers_dims {dims} on {X.shape[1]} examples")
    _check_records(num_iterations, record_every, len(dims) - 1, diagnostics)
    check_choice(on_divergence, "on_divergence", ("warn", "raise"))
    if batch_size is not None:
        batch_size = check_count(batch_size, "batch_size", minimum=1)
        if batch_size >= X.shape[1]:
            batch_size = None  # one batch of everything: full-batch gradient descent
    if initial_parameters is not None:
        parameters = _initial_parameters(initial_parameters, dims, dtype)
    else:
        parameters = initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                           activation=activation, negative_slope=negative_slope)

    theta, layout, act_size = pack(parameters, dims, hidden_act)
    problem = Problem(X, Y, layout, act_size, hidden_act, negative_slope, dims[-1] > 1)
    runner = make_engine(problem, theta.shape[0], engine, n_threads, batch_size, seed)
    per_call = _iterations_per_call(batch_size or X.shape[1], theta.shape[0])
    model = _Model(theta, learning_rate)
    records: list[np.ndarray] = []

    def step(active, done, n_iter, record):
        stats = None
        if record and diagnostics:
            stats = layer_statistics(X, theta, layout, problem.hidden_act, negative_slope,
                                problem.softmax, act_size)
        cost = runner.run(theta, learning_rate, done, n_iter, record)
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
        return _result(
            model, layout, runner.cost(model.committed[1]), record_every,
            time.perf_counter() - start, status=status, message=message, layers_dims=dims,
            init=init, num_iterations=num_iterations, seed=seed, dtype=dtype,
            activation=activation, negative_slope=negative_slope,
            diagnostics=(stack_records(np.arange(len(records[:kept])) * record_every, records[:kept])
                         if records else None))

    try:
        _drive([model], step, num_iterations, record_every, per_call,
               single_step_records=diagnostics, on_record=on_record, progress=progress)
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


def train_models(
    X: ArrayLike,
    Y: ArrayLike,
    layers_dims: Sequence[int],
    runs: Sequence[tuple[Any, int | None, float]],
    num_iterations: int = 15000,
    dtype: Any = np.float64,
    record_every: int = 1000,
    activation: str = "relu",
    negative_slope: float = 0.01,
    n_threads: int = 1,
) -> list[TrainingResult]:
    """Train several networks of one shape on the same data at once.

    ``runs[k] = (init, seed, learning_rate)``.  The models are trained by the
    batched kernel ``_kernels.train_models``: one compiled call advances every
    model, up to ``n_threads`` of them at a time, each running its iterations
    back to back on one thread while the data stay in cache.  Result ``k`` is
    bit for bit what ``train(X, Y, layers_dims, init, learning_rate=...,
    seed=..., diagnostics=False, ...)`` returns (a diverged model stops where
    :func:`train` stops, without the warning), except ``elapsed``: the whole
    batch's time divided by the number of models.  Networks that
    :func:`train` would run with the BLAS engine (wide layers) are trained one
    after the other by :func:`train`.
    """
    labels = Y  # as given: the fallback to train() validates them again
    dtype, dims, activation, negative_slope, X, Y, num_iterations, record_every = _check_problem(
        X, Y, layers_dims, dtype, activation, negative_slope, num_iterations, record_every)
    n_threads = check_n_threads(n_threads)
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Iterable):
        raise TypeError(f"runs must be a list of (init, seed, learning_rate), got {runs!r}")
    runs = list(runs)
    for k, run in enumerate(runs):
        if not isinstance(run, (tuple, list)) or len(run) != 3:
            raise TypeError(f"runs[{k}] must be a tuple (init, seed, learning_rate), got {run!r}")
    runs = [(init, check_seed(seed, "seed of a run"), check_learning_rate(lr, dtype))
            for init, seed, lr in runs]
    _check_records(num_iterations, record_every, len(dims) - 1, False)
    options = dict(num_iterations=num_iterations, dtype=dtype, record_every=record_every,
                   activation=activation, negative_slope=negative_slope, diagnostics=False)
    if choose_engine(dims, "auto", X.shape[1]) != "fused" or not runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            return [train(X, labels, dims, init=init, seed=seed, learning_rate=lr, **options)
                    for init, seed, lr in runs]
    start = time.perf_counter()
    hidden_act = _kernels.ACTIVATION_CODES[activation]
    packed = [pack(initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                         activation=activation, negative_slope=negative_slope),
                   dims, hidden_act) for init, seed, _ in runs]
    layout, act_size = packed[0][1], packed[0][2]
    thetas = np.stack([p[0] for p in packed])
    K, n_params = thetas.shape
    problem = Problem(X, Y, layout, act_size, hidden_act, negative_slope, dims[-1] > 1)
    threads = usable_threads(min(n_threads, K))
    work = workspace(n_params, layout, act_size, X.shape[1], threads, dtype, rows=threads)
    models = [_Model(thetas[k], lr) for k, (_, _, lr) in enumerate(runs)]
    rows = {id(model): k for k, model in enumerate(models)}

    def step(active, done, n_iter, record):
        index = [rows[id(model)] for model in active]
        batch = np.ascontiguousarray(thetas[index])
        costs = np.empty(len(active), dtype)
        rates = np.array([model.learning_rate for model in active], dtype=dtype)
        _kernels.train_models(X=X, Y=Y, thetas=batch, learning_rates=rates, n_iter=n_iter,
                              record_first=record, n_threads=usable_threads(threads),
                              costs=costs, **problem.network, **work.buffers)
        thetas[index] = batch
        return costs

    _drive(models, step, num_iterations, record_every, _iterations_per_call(X.shape[1], n_params))
    cost_of = FusedEngine(problem, n_params, n_threads).cost
    elapsed = (time.perf_counter() - start) / K
    return [_result(model, layout, cost_of(model.committed[1]), record_every, elapsed,
                    layers_dims=dims, init=init, num_iterations=num_iterations, seed=seed,
                    dtype=dtype, activation=activation, negative_slope=negative_slope)
            for model, (init, seed, _) in zip(models, runs)]
