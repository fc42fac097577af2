"""Gradient-descent training in the compiled core.

:func:`train` validates its inputs once, packs all parameters into one flat
buffer and hands it to an engine (``fastinit._engines``): the fused kernel
``_kernels.train_full_batch``, which runs forward, backward and update for
many iterations with the GIL released, or, for wide layers, BLAS products with
compiled elementwise kernels.  Python regains control between calls of a few
milliseconds of work: at recording points (every ``record_every``
iterations), where the engine returns the cost it computed from the output
logits during the first forward pass of its call, to check for divergence,
report progress and react to Ctrl-C.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._engines import (BlasEngine, FusedEngine, choose_engine, pack, thread_buffers, unpack,
                       usable_threads)
from ._simd import kernels as _kernels
from ._validation import (
    check_array,
    check_activation,
    check_count,
    check_features,
    check_labels,
    check_layers_dims,
    check_learning_rate,
    check_n_threads,
    resolve_dtype,
)
from .diagnostics import Diagnostics, _grad_norms, _stack, _statistics
from .exceptions import DivergenceWarning, TrainingDivergedError
from .initializers import DEFAULT_SEED, initialize_parameters
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

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Output probabilities of shape (n_L, m) for ``X`` of shape (n_x, m)."""
        return predict_proba(X, self.parameters, self.activation, self.negative_slope)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (``int64``) of shape (1, m) (see :func:`fastinit.predict_labels`)."""
        return predict_labels(X, self.parameters, self.activation, self.negative_slope)

    def accuracy(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Fraction of examples of ``X`` whose predicted label equals ``Y``'s."""
        return accuracy_of(self.predict(X), Y, self.layers_dims[-1])


class _MiniBatches:
    """The batches of mini-batch training: examples reshuffled every epoch by a
    local generator, each batch a C-contiguous copy (the kernels' layout)."""

    @classmethod
    def create(cls, X, Y, batch_size, seed):
        if batch_size is None:
            return None
        batch_size = check_count(batch_size, "batch_size", minimum=1)
        return cls(X, Y, batch_size, seed) if batch_size < X.shape[1] else None

    def __init__(self, X, Y, batch_size, seed):
        self.X, self.Y, self.size = X, Y, batch_size
        self.n_batches = -(-X.shape[1] // batch_size)
        self.rng = np.random.default_rng(seed)
        self.batches: list = []

    def __bool__(self):
        return True

    @property
    def sizes(self) -> tuple[int, ...]:
        """The numbers of examples a batch can have."""
        return (self.size, self.X.shape[1] - (self.n_batches - 1) * self.size)

    def batch(self, step: int):
        k = step % self.n_batches
        if k == 0:
            order = self.rng.permutation(self.X.shape[1])
            X, Y = self.X[:, order], self.Y[:, order]
            self.batches = [
                (np.ascontiguousarray(X[:, s:s + self.size]), np.ascontiguousarray(Y[:, s:s + self.size]))
                for s in range(0, X.shape[1], self.size)
            ]
        return self.batches[k]


# Iterations per compiled call are capped so that one call does about this many
# multiply-adds (a few ms): Python regains control often enough to record
# costs, check for divergence and react to Ctrl-C within a fraction of a second.
WORK_PER_CALL = 2e7


def _check_problem(X, Y, layers_dims, dtype, activation, negative_slope, num_iterations,
                   record_every):
    """The validated training problem shared by :func:`train` and :func:`train_models`."""
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


def _iterations_per_call(m: int, n_params: int) -> int:
    """Iterations of one compiled call (at least one)."""
    return max(1, int(WORK_PER_CALL // (m * n_params)))


def train(
    X: ArrayLike,
    Y: ArrayLike,
    layers_dims: Sequence[int],
    init: str = "he",
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
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "linear"}, default "relu"
        Activation of the hidden layers.
    negative_slope : float, default 0.01
        Slope of leaky_relu for negative inputs.
    batch_size : int or None, default None
        None (or >= m): full-batch gradient descent, as the seed.  Otherwise
        mini-batch gradient descent: each iteration is one step on a batch of
        ``batch_size`` examples; the examples are reshuffled at every epoch by
        a local generator seeded with ``seed``, so results are reproducible.
        Recorded costs are always on the whole training set.
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

    Returns
    -------
    TrainingResult

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
    if on_divergence not in ("warn", "raise"):
        raise ValueError(f"on_divergence must be 'warn' or 'raise', got {on_divergence!r}")
    parameters = initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                       activation=activation, negative_slope=negative_slope)

    theta, layout, act_size = pack(parameters, dims)
    act_code = _kernels.ACTIVATION_CODES[activation]
    softmax = dims[-1] > 1
    batches = _MiniBatches.create(X, Y, batch_size, seed)
    if engine == "blas":
        runner = BlasEngine(theta, layout, act_code, negative_slope, softmax)
    else:
        # sized for the full data and every batch size: fewer examples may need more chunks
        runner = FusedEngine(theta, layout, act_size,
                             [X.shape[1], *(batches.sizes if batches else ())], n_threads,
                             act_code, negative_slope, softmax)
    per_call = 1 if batches else _iterations_per_call(X.shape[1], theta.shape[0])

    costs: list[float] = []
    records: list[np.ndarray] = []
    # (iterations done, parameters after them): replaced in one assignment, so
    # an interrupt anywhere in the loop leaves a consistent pair
    committed = (0, theta.copy())
    status, message = "completed", ""

    start = time.perf_counter()

    def result() -> TrainingResult:
        # every recorded cost belongs to an iteration <= the committed one
        done, params = committed
        return TrainingResult(
            parameters=unpack(params, layout),
            costs=np.array(costs, dtype=np.float64),
            cost_iterations=np.arange(len(costs)) * record_every,
            layers_dims=dims,
            init=init,
            learning_rate=learning_rate,
            num_iterations=num_iterations,
            seed=seed,
            dtype=dtype,
            elapsed=time.perf_counter() - start,
            status=status,
            iterations_run=done,
            message=message,
            activation=activation,
            negative_slope=negative_slope,
            diagnostics=(_stack(np.arange(len(records)) * record_every, records)
                         if records else None),
        )

    try:
        done = 0
        while done < num_iterations:
            n_iter, record = _next_call(done, num_iterations, record_every, per_call)
            if record and diagnostics:
                n_iter = 1  # the gradient of this very iteration is read below
                stats = _statistics(X, theta, layout, act_code, negative_slope, softmax, act_size)
            if batches:  # one step on the next batch; the record is on all the data
                Xb, Yb = batches.batch(done)
                if record:
                    cost = runner.run(X, Y, theta.copy(), learning_rate, 1, True)
                runner.run(Xb, Yb, theta, learning_rate, 1, False)
            else:
                cost = runner.run(X, Y, theta, learning_rate, n_iter, record)
            if record and diagnostics:
                records.append(np.column_stack([stats, _grad_norms(runner.gradient, layout)]))
            if record:
                costs.append(cost)
                if print_cost:
                    print(f"Cost after iteration {done}: {cost}")
            message = _divergence(cost, record, theta, done, n_iter)
            if message:
                status = "diverged"
                break
            committed = (done + n_iter, theta.copy())
            done = committed[0]
            if progress is not None:
                progress(done, num_iterations)
    except KeyboardInterrupt as exc:
        status, message = "interrupted", f"interrupted after {committed[0]} iterations"
        exc.result = result()
        raise

    out = result()
    if status == "diverged":
        text = _diverged_text(message, committed[0])
        out = replace(out, message=text)
        if on_divergence == "raise":
            raise TrainingDivergedError(text, out)
        warnings.warn(text, DivergenceWarning, stacklevel=2)
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
    runs = [(init, seed, check_learning_rate(lr, dtype)) for init, seed, lr in runs]
    options = dict(num_iterations=num_iterations, dtype=dtype, record_every=record_every,
                   activation=activation, negative_slope=negative_slope, diagnostics=False)
    if choose_engine(dims, "auto", X.shape[1]) != "fused" or not runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            return [train(X, labels, dims, init=init, seed=seed, learning_rate=lr, **options)
                    for init, seed, lr in runs]
    start = time.perf_counter()
    packed = [pack(initialize_parameters(dims, init, seed=seed, dtype=dtype, X=X,
                                         activation=activation, negative_slope=negative_slope),
                   dims) for init, seed, _ in runs]
    layout, act_size = packed[0][1], packed[0][2]
    thetas = np.stack([p[0] for p in packed])
    K, n_params = thetas.shape
    rates = np.array([lr for _, _, lr in runs], dtype=dtype)
    n_chunks = _kernels.chunking(X.shape[1])[1]
    threads = usable_threads(min(n_threads, K))
    work = (np.empty((threads, n_chunks * n_params), dtype),
            *thread_buffers(n_params, layout, act_size, threads, dtype),
            np.empty((threads, n_chunks), dtype))
    cost_out = np.empty(K, dtype)
    act_code = _kernels.ACTIVATION_CODES[activation]
    softmax = dims[-1] > 1
    per_call = _iterations_per_call(X.shape[1], n_params)
    committed = [(0, thetas[k].copy()) for k in range(K)]
    costs: list[list[float]] = [[] for _ in range(K)]
    messages = [""] * K
    active = list(range(K))
    done = 0
    while done < num_iterations and active:
        n_iter, record = _next_call(done, num_iterations, record_every, per_call)
        batch = np.ascontiguousarray(thetas[active])
        _kernels.train_models(X, Y, batch, layout, np.ascontiguousarray(rates[active]), n_iter,
                              record, act_code, negative_slope, softmax, usable_threads(threads),
                              cost_out[:len(active)], *work)
        thetas[active] = batch
        for j, k in enumerate(active):
            if record:
                costs[k].append(float(cost_out[j]))
            messages[k] = _divergence(cost_out[j], record, batch[j], done, n_iter)
            if not messages[k]:
                committed[k] = (done + n_iter, batch[j].copy())
        active = [k for k in active if not messages[k]]
        done += n_iter
    elapsed = (time.perf_counter() - start) / K
    return [
        TrainingResult(
            parameters=unpack(committed[k][1], layout),
            costs=np.array(costs[k], dtype=np.float64),
            cost_iterations=np.arange(len(costs[k])) * record_every,
            layers_dims=dims, init=init, learning_rate=lr, num_iterations=num_iterations,
            seed=seed, dtype=dtype, elapsed=elapsed,
            status="diverged" if messages[k] else "completed",
            iterations_run=committed[k][0],
            message=_diverged_text(messages[k], committed[k][0]) if messages[k] else "",
            activation=activation, negative_slope=negative_slope,
        )
        for k, (init, seed, lr) in enumerate(runs)
    ]
