"""scikit-learn's MLPClassifier and MLPRegressor on fastinit's compiled loops.

The classes here *are* scikit-learn's (subclasses): the constructor
parameters, their defaults and validation, the fitted attributes, ``fit``,
``partial_fit``, ``predict``, ``predict_proba``, ``predict_log_proba``,
``score``, warm starts, the early-stopping split, the label binarizer, the
warnings and the ``verbose`` lines all come from scikit-learn itself.  What
fastinit replaces is the arithmetic:

* ``solver="sgd"`` and ``"adam"``: each epoch is one call of the compiled
  mini-batch loop (``train_minibatch``): the batches of scikit-learn's order
  (its own shuffle, from its ``random_state`` stream, or the identity with
  ``shuffle=False``) gathered, forward and back, updated with scikit-learn's
  formulas (``variant="sklearn"`` of :class:`~fastinit.nn.optimizers.SGD` and
  :class:`~fastinit.nn.optimizers.Adam`; ``alpha`` as its L2 penalty, the mean
  over the batch), each batch's loss recorded before its update.  Between
  epochs scikit-learn's own bookkeeping runs: ``loss_curve_``, the learning
  rate of ``"invscaling"`` and ``"adaptive"``, ``tol`` / ``n_iter_no_change``,
  early stopping and its best parameters, ``ConvergenceWarning``.
* prediction: the compiled forward pass.

``coefs_`` / ``intercepts_`` stay the estimator's state in scikit-learn's
layout (``coefs_[i]`` of shape (fan_in, fan_out)): during a fit they are views
of the compiled loop's parameter vector, and every fit and ``partial_fit``
starts from them, so a warm start continues from parameters a user assigned.
The optimizer's state (velocities, Adam's moments and step count) survives
between ``partial_fit`` calls and is new at every ``fit``, as in scikit-learn.

* ``solver="lbfgs"``: SciPy's L-BFGS-B as scikit-learn drives it, each loss
  and gradient one compiled pass over the data (a gradient step of size 0).

* a sparse ``X`` (CSR, CSC): each batch densified on its own (for L-BFGS
  and prediction, a block of rows at a time), never the whole matrix.
* ``sample_weight``: in the kernels (``NetworkSpec.weighted``), each
  example's loss and gradient times its weight, means over the sum of the
  weights, as scikit-learn weighs them.

Not yet compiled (a ``ValueError`` says so; scikit-learn's own class does
it): ``init="lsuv"``.
"""
from __future__ import annotations

import warnings
from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

from scipy import sparse as _sparse
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from .._core._simd import kernels as _kernels
from .._validation import available_cpus
from ..engines import reference as _reference
from ..engines.fused import FusedEngine, MiniBatchEngine
from ..engines.spec import B_OFFSET as _B_AT
from ..engines.spec import N_IN as _N_IN
from ..engines.spec import N_OUT as _N_OUT
from ..engines.spec import W_OFFSET as _W_AT
from ..engines.spec import Problem, layer_views, network_spec, pack
from ..nn.initializers import INITIALIZERS, LSUV, Initializer, ScikitLearn, get_initializer
from ..nn.network import forward_propagation
from ..nn.optimizers import SGD, Adam

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> fastinit's
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# scikit-learn's output activations -> fastinit's loss
_LOSSES = {"logistic": "binary_cross_entropy", "softmax": "categorical_cross_entropy",
           "identity": "mse", "exp": "poisson"}

_FASTINIT_CONSTRAINTS = {
    "init": [StrOptions(set(INITIALIZERS)), Initializer],
    "dtype": [StrOptions({"float32", "float64"}), None],
    "n_threads": [Interval(Integral, -1, None, closed="left")],
}


if TYPE_CHECKING:  # the mixin's attributes are scikit-learn's
    from sklearn.neural_network._multilayer_perceptron import (
        BaseMultilayerPerceptron as _MixinBase)
else:
    _MixinBase = object


class _CompiledMLP(_MixinBase):
    """What both estimators replace in scikit-learn's base class."""

    # set by the subclasses' __init__
    init: str | Initializer
    dtype: str | None
    n_threads: int
    # fitted state (scikit-learn's, and the compiled optimizer's)
    coefs_: list[np.ndarray]
    intercepts_: list[np.ndarray]
    _no_improvement_count: int
    _compiled_state: np.ndarray | None = None
    _compiled_steps: int = 0

    # ------------------------------------------------------------ checks
    def _check_compiled(self, X: Any, sample_weight: Any) -> None:
        """A clear error for what the compiled path does not do yet."""
        what = None
        if isinstance(self.init, LSUV) or self.init == "lsuv":
            what = "init='lsuv'"
        elif self.n_threads == 0:
            raise ValueError("n_threads must be -1 (every CPU) or >= 1, got 0")
        if what is not None:
            raise ValueError(
                f"{type(self).__name__}: {what} is not compiled in fastinit yet; "
                f"use scikit-learn's {type(self).__name__} for it")

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._check_compiled(X, sample_weight)
        return super()._fit(X, y, sample_weight=sample_weight, incremental=incremental)

    def _fastinit_model(self) -> dict[str, Any]:
        """What :func:`fastinit.save_model` stores of this fitted estimator
        (``fastinit.sklearn._persist``)."""
        from ._persist import describe

        return describe(self)

    # ------------------------------------------------------------ initialization
    def _init_coef(self, fan_in, fan_out, dtype):
        """One layer's initial coef (fan_in, fan_out) and intercept (fan_out,)
        from ``init``, drawn from scikit-learn's ``self._random_state`` stream
        (the default "sklearn" gives scikit-learn's own values)."""
        init = self.init
        if init == "sklearn":
            init = ScikitLearn(factor=2.0 if self.activation == "logistic" else 6.0)
        initializer = get_initializer(init)
        shape = (fan_out, fan_in)
        W = np.asarray(initializer(shape, self._random_state), dtype=np.float64)
        b = np.asarray(initializer.bias(shape, self._random_state), dtype=np.float64)
        if W.shape != shape or b.shape != (fan_out, 1):
            raise ValueError(f"init {initializer!r} returned weights of shape {W.shape} and "
                             f"biases of shape {b.shape}, expected {shape} and {(fan_out, 1)}")
        return W.T.astype(dtype), b.ravel().astype(dtype)

    # ------------------------------------------------------------ the network
    def _network(self, dtype: np.dtype) -> tuple[list[int], str, np.ndarray]:
        """Layer sizes, fastinit's loss name and the packed parameter vector
        of the current ``coefs_`` / ``intercepts_`` in ``dtype``."""
        dims = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        theta = pack(self._parameters(dtype), dims, self._activation_code)[0]
        return dims, _LOSSES[self.out_activation_], theta

    def _parameters(self, dtype: Any = None) -> dict[str, np.ndarray]:
        """``coefs_`` / ``intercepts_`` as fastinit's parameter dict (W1 =
        coefs_[0].T, b1 a column, ...), in ``dtype`` (None: as they are)."""
        parameters = {}
        for l, (coef, intercept) in enumerate(zip(self.coefs_, self.intercepts_), start=1):
            parameters[f"W{l}"] = np.ascontiguousarray(np.asarray(coef).T, dtype=dtype)
            parameters[f"b{l}"] = np.asarray(intercept, dtype=dtype).reshape(-1, 1)
        return parameters

    @property
    def _activation_code(self) -> int:
        """The kernels' code of the hidden activation."""
        return int(_kernels.ACTIVATION_CODES[_ACTIVATIONS[self.activation]])

    def _compiled_dtype(self, X: np.ndarray) -> np.dtype:
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)

    def _forward_pass_fast(self, X, check_input=True):
        """The network's outputs for ``X`` (n_samples, n_features): one
        compiled forward pass."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if _sparse.issparse(X):  # a block of rows densified at a time, never the whole matrix
            X = X.tocsr()
            rows = max(1, _SPARSE_BLOCK_VALUES // max(1, X.shape[1]))
            return np.concatenate([self._forward_pass_fast(X[i:i + rows].toarray(), False)
                                   for i in range(0, X.shape[0], rows)] or
                                  [np.empty((0, self.coefs_[-1].shape[1]))])
        dtype = np.dtype(self.coefs_[0].dtype)
        Xt = np.ascontiguousarray(np.asarray(X, dtype=dtype).T)
        parameters = self._parameters()
        diverged = np.full((Xt.shape[1], self.coefs_[-1].shape[1]), np.nan, dtype=dtype)
        if not all(np.isfinite(p).all() for p in parameters.values()):
            return diverged  # scikit-learn's outputs are NaN too (its _score is then NaN)
        try:
            cache = forward_propagation(Xt, parameters, _ACTIVATIONS[self.activation])[1]
        except FloatingPointError:  # overflow on the way
            return diverged
        # sigmoid per unit (binary, multilabel), softmax or identity
        logits = cache[-4]
        return np.ascontiguousarray(
            _reference.output_activation(logits, _LOSSES[self.out_activation_]).T)

    # ------------------------------------------------------------ L-BFGS
    def _fit_lbfgs(self, X, y, sample_weight, activations, deltas, coef_grads,
                   intercept_grads, layer_units):
        """scikit-learn's ``_fit_lbfgs`` (SciPy's L-BFGS-B with ``max_iter``,
        ``max_fun``, ``tol``), the loss and gradient of each evaluation from
        one compiled pass over the data (:meth:`_loss_grad_lbfgs`)."""
        dtype = self._compiled_dtype(X)
        dims, loss, theta = self._network(dtype)
        net = network_spec(dims, self._activation_code, 0.0, _kernels.LOSS_CODES[loss],
                           weighted=sample_weight is not None,
                           output_mean=self._output_mean())
        # one plain gradient step of size 0: the cost before it and its gradient
        # (with alpha's term), theta unchanged (theta - 0 * g is theta)
        optimizer = SGD(lr=1.0)
        sparse = _sparse.issparse(X)
        alpha = float(self.alpha)
        hyper = optimizer.hyper(l2=0.0 if sparse else alpha)  # sparse: alpha's term added once
        hyper[_kernels.HYPER_FIELDS["lr"]] = 0.0
        n = X.shape[0]
        Yt = self._targets(y, sample_weight, n, dtype)
        state = optimizer.initial_state(theta.shape[0], dtype)
        evaluate: Any
        if sparse:
            rows = max(1, _SPARSE_BLOCK_VALUES // max(1, X.shape[1]))
            blocks = _SparseRows(X, Yt, net, hyper, rows, self._threads(), theta.shape[0])
            weights = np.zeros(theta.shape[0], dtype=bool)
            for row in net.layout:
                weights[int(row[_W_AT]):int(row[_B_AT])] = True

            def evaluate() -> tuple[float, np.ndarray]:
                return blocks.loss_gradient(theta, state, alpha, weights)
        else:
            Xt = np.ascontiguousarray(np.asarray(X, dtype=dtype).T)
            engine = FusedEngine(Problem(Xt, Yt, net, hyper), theta.shape[0], self._threads())

            def evaluate() -> tuple[float, np.ndarray]:
                return engine.run(theta, state, 0, 1, True), engine.gradient
        # position in theta of each entry of scikit-learn's packed vector
        # (every coefs_[i] raveled as (fan_in, fan_out), then every intercept)
        where = []
        for row in net.layout:
            n_in, n_out, w_at = (int(row[c]) for c in (_N_IN, _N_OUT, _W_AT))
            where.append((w_at + np.arange(n_out * n_in).reshape(n_out, n_in).T).ravel())
        where += [int(row[_B_AT]) + np.arange(int(row[_N_OUT])) for row in net.layout]
        self._compiled_lbfgs = (evaluate, theta, np.concatenate(where))
        try:
            super()._fit_lbfgs(X, y, sample_weight, activations, deltas, coef_grads,
                               intercept_grads, layer_units)
        finally:
            del self._compiled_lbfgs

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight, activations, deltas,
                         coef_grads, intercept_grads):
        """scikit-learn's loss (mean loss + alpha / 2n sum of squared weights)
        and its gradient, packed as scikit-learn packs them."""
        evaluate, theta, where = self._compiled_lbfgs
        theta[where] = packed_coef_inter
        loss, grad = evaluate()
        return loss, grad[where].astype(np.float64)

    @staticmethod
    def _targets(y: Any, sample_weight: Any, n: int, dtype: np.dtype) -> np.ndarray:
        """Y as the kernels take it, (n_outputs, n), with the sample weights
        as one more row when there are weights (``NetworkSpec.weighted``)."""
        Y = np.asarray(y, dtype=dtype).reshape(n, -1).T
        if sample_weight is not None:
            Y = np.vstack([Y, np.asarray(sample_weight, dtype=dtype).reshape(1, n)])
        return np.ascontiguousarray(Y)

    def _threads(self) -> int:
        return self.n_threads if self.n_threads > 0 else available_cpus()

    def _output_mean(self) -> bool:
        """Whether the loss is reported as a mean over the outputs:
        scikit-learn's squared loss (its gradient is the summed loss's; its
        Poisson loss is a sum over the outputs, as fastinit's)."""
        return (not is_classifier(self) and self.n_outputs_ > 1
                and getattr(self, "loss", "") == "squared_error")

    # ------------------------------------------------------------ the epochs
    def _fit_stochastic(self, X, y, sample_weight, activations, deltas, coef_grads,
                        intercept_grads, layer_units, incremental):
        """scikit-learn's ``_fit_stochastic``, each epoch's batches in the
        compiled loop (see the module docstring)."""
        params = self.coefs_ + self.intercepts_
        new_optimizer = not incremental or not hasattr(self, "_optimizer")
        if new_optimizer:
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(params, self.learning_rate_init, self.learning_rate,
                                               self.momentum, self.nesterovs_momentum,
                                               self.power_t)
            else:
                self._optimizer = AdamOptimizer(params, self.learning_rate_init, self.beta_1,
                                                self.beta_2, self.epsilon)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state, test_size=self.validation_fraction,
                    stratify=stratify)
                sample_weight_train = sample_weight_val = None
            else:
                (X_train, X_val, y_train, y_val, sample_weight_train,
                 sample_weight_val) = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.intp)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than "
                              "sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        n_batches = -(-n_samples // batch_size)

        # the compiled problem: examples as columns, parameters packed
        dtype = self._compiled_dtype(X_train)
        dims, loss, theta = self._network(dtype)
        net = network_spec(dims, self._activation_code, 0.0, _kernels.LOSS_CODES[loss],
                           weighted=sample_weight_train is not None,
                           output_mean=self._output_mean())
        optimizer: SGD | Adam
        if self.solver == "sgd":
            momentum = float(self.momentum)
            optimizer = SGD(lr=self.learning_rate_init, momentum=momentum,
                            nesterov=bool(self.nesterovs_momentum) and momentum > 0,
                            variant="sklearn")
        else:
            optimizer = Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                             eps=self.epsilon, variant="sklearn")
        hyper = optimizer.hyper(l2=float(self.alpha))
        Yt = self._targets(y_train, sample_weight_train, n_samples, dtype)
        # scikit-learn adds each batch's mean loss times its size; a batch's mean
        # is its summed loss over its size, or over the sum of its weights
        batch_starts = np.arange(0, n_samples, batch_size)
        batch_sizes = np.diff(np.append(batch_starts, n_samples)).astype(np.float64)
        engine: MiniBatchEngine | _SparseRows
        if _sparse.issparse(X_train):
            engine = _SparseRows(X_train, Yt, net, hyper, batch_size, self._threads(),
                                 theta.shape[0])
        else:
            Xt = np.ascontiguousarray(np.asarray(X_train, dtype=dtype).T)
            engine = MiniBatchEngine(Problem(Xt, Yt, net, hyper), theta.shape[0],
                                     self._threads(), batch_size, seed=0)
        state = self._compiled_state
        if new_optimizer or state is None or state.dtype != dtype \
                or state.shape != (max(optimizer.n_slots, 1), theta.shape[0]):
            state = self._compiled_state = optimizer.initial_state(theta.shape[0], dtype)
            self._compiled_steps = 0
        # during the fit coefs_ / intercepts_ are views of theta (scikit-learn's
        # early stopping copies them, its _score reads them)
        views = layer_views(theta, net.layout)
        self.coefs_ = [W.T for W, _ in views]
        self.intercepts_ = [b for _, b in views]
        lr_field = _kernels.HYPER_FIELDS["lr"]

        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if self.shuffle:
                    sample_idx = _shuffled(sample_idx, self._random_state)
                hyper[lr_field] = getattr(self._optimizer, "learning_rate",
                                          self.learning_rate_init)
                sums = engine.epoch(theta, state, sample_idx, self._compiled_steps).tolist()
                if sample_weight_train is None:
                    accumulated_loss = 0.0
                    for batch_sum in sums:
                        accumulated_loss += batch_sum
                else:
                    batch_weights = np.add.reduceat(
                        np.asarray(sample_weight_train, dtype=np.float64)[sample_idx],
                        batch_starts)
                    accumulated_loss = 0.0
                    for batch_sum, size, weight in zip(sums, batch_sizes.tolist(),
                                                       batch_weights.tolist()):
                        accumulated_loss += batch_sum / weight * size
                self._compiled_steps += n_batches
                if isinstance(self._optimizer, AdamOptimizer):
                    self._optimizer.t = self._compiled_steps

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / X_train.shape[0]
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                self._update_no_improvement_count(early_stopping, X_val, y_val,
                                                  sample_weight_val)
                self._optimizer.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than "
                               "tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f"
                               " for %d consecutive epochs." % (self.tol, self.n_iter_no_change))
                    is_stopping = self._optimizer.trigger_stopping(msg, self.verbose)
                    if is_stopping:
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        # plain arrays again (scikit-learn's layout, the estimator's dtype)
        self.coefs_ = [np.array(c) for c in self.coefs_]
        self.intercepts_ = [np.array(b) for b in self.intercepts_]
        if early_stopping:
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts


# values of a sparse X densified at once (a block of rows): 4 MiB of float64
_SPARSE_BLOCK_VALUES = 1 << 19


class _SparseRows:
    """A sparse X (scikit-learn's CSR or CSC) for the compiled loops: the rows
    of a batch or a block densified on their own into a (n_features, rows)
    buffer, never the whole matrix, and run by a fused engine per buffer
    size.  ``epoch`` has the interface of
    :meth:`~fastinit.engines.fused.MiniBatchEngine.epoch`; ``loss_gradient``
    gives the whole set's loss and gradient, block by block."""

    def __init__(self, X: Any, Yt: np.ndarray, net: Any, hyper: np.ndarray, rows: int,
                 n_threads: int, n_params: int):
        self.X, self.Yt, self.rows = X.tocsr(), Yt, rows
        self.weighted = bool(net.weighted)  # Yt's last row: the sample weights
        n = self.X.shape[0]
        self.n_blocks = -(-n // rows)
        sizes = {rows, n - (self.n_blocks - 1) * rows}
        self.engines = {size: FusedEngine(Problem(np.empty((self.X.shape[1], size), Yt.dtype),
                                                  np.empty((Yt.shape[0], size), Yt.dtype),
                                                  net, hyper), n_params, n_threads)
                        for size in sizes}

    def _run(self, rows: np.ndarray, theta: np.ndarray, state: np.ndarray,
             step: int) -> tuple[float, float]:
        """Step ``step + 1`` on these rows: their mean loss (weighted, + the L2
        penalty of the problem's hyper-parameters, its mean over these rows)
        before it, and their count (or the sum of their weights)."""
        engine = self.engines[rows.shape[0]]
        engine.problem.X[...] = self.X[rows].toarray().T
        np.take(self.Yt, rows, axis=1, out=engine.problem.Y)
        count = float(engine.problem.Y[-1].sum(dtype=np.float64)) if self.weighted \
            else float(rows.shape[0])
        return engine.run(theta, state, step, 1, True), count

    def epoch(self, theta: np.ndarray, state: np.ndarray, order: np.ndarray,
              first_step: int) -> np.ndarray:
        sums = np.empty(self.n_blocks)
        for k in range(self.n_blocks):
            mean, count = self._run(order[k * self.rows:(k + 1) * self.rows], theta, state,
                                    first_step + k)
            sums[k] = mean * count  # what the dense epoch returns per batch
        return sums

    def loss_gradient(self, theta: np.ndarray, state: np.ndarray, l2: float,
                      weights: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean loss + l2 / 2n sum of squared weights (n: the examples, or
        the sum of the sample weights), and its gradient, from the blocks'
        losses and gradients (hyper-parameters without L2, step size 0)
        weighted by their sizes; ``weights`` marks the weights in ``theta``
        (biases are not penalised)."""
        n = self.X.shape[0]
        loss, total, grad = 0.0, 0.0, np.zeros(theta.shape[0])
        for k in range(self.n_blocks):
            rows = np.arange(k * self.rows, min((k + 1) * self.rows, n))
            mean, count = self._run(rows, theta, state, 0)
            loss += mean * count
            grad += self.engines[rows.shape[0]].gradient * count
            total += count
        W = theta[weights].astype(np.float64)
        grad[weights] += l2 * W
        return (loss + 0.5 * l2 * float(np.dot(W, W))) / total, grad / total


def _shuffled(sample_idx: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
    """``sklearn.utils.shuffle(sample_idx, random_state=random_state)``
    without its input checks (a tenth of a millisecond per epoch): the same
    draw from the same stream (``resample``: ``random_state.shuffle`` of
    ``arange(n)``), so the same order."""
    order = np.arange(sample_idx.shape[0])
    random_state.shuffle(order)
    return sample_idx[order]


def _scikit_learns(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of an ``__init__`` that scikit-learn's class takes (all
    but fastinit's ``init``, ``dtype``, ``n_threads``)."""
    return {k: v for k, v in arguments.items()
            if k not in ("self", "__class__", *_FASTINIT_CONSTRAINTS)}


def _doc(sk_class: type) -> str:
    return (f"scikit-learn's ``{sk_class.__name__}``, trained in fastinit's compiled loops.\n\n"
            "Everything scikit-learn documents for it holds (parameters, defaults,\n"
            "attributes, methods, warnings); swapping the import changes the speed.\n"
            "See :mod:`fastinit.sklearn._mlp` for what runs compiled.\n\n"
            "Parameters\n----------\n"
            "(scikit-learn's, then)\n\n"
            "init : str or Initializer, default \"sklearn\"\n"
            "    Any name of :data:`fastinit.INITIALIZERS` or an initializer object;\n"
            "    \"sklearn\" is scikit-learn's own scheme (the same initial values).\n"
            "dtype : {\"float64\", \"float32\"} or None, default None\n"
            "    The compiled loop's precision; None follows ``X`` (float32 stays\n"
            "    float32, anything else is float64), as scikit-learn does.\n"
            "n_threads : int, default 1\n"
            "    Threads of the compiled loop (-1: every CPU); the fitted model is\n"
            "    the same bits for any value.\n")


class MLPClassifier(_CompiledMLP, _SkMLPClassifier):
    __doc__ = _doc(_SkMLPClassifier)

    _parameter_constraints: dict = {**_SkMLPClassifier._parameter_constraints,
                                    **_FASTINIT_CONSTRAINTS}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="sklearn", dtype=None, n_threads=1):
        super().__init__(**_scikit_learns(locals()))
        self.init = init
        self.dtype = dtype
        self.n_threads = n_threads


class MLPRegressor(_CompiledMLP, _SkMLPRegressor):
    __doc__ = _doc(_SkMLPRegressor)

    _parameter_constraints: dict = {**_SkMLPRegressor._parameter_constraints,
                                    **_FASTINIT_CONSTRAINTS}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="sklearn", dtype=None, n_threads=1):
        super().__init__(**_scikit_learns(locals()))
        self.init = init
        self.dtype = dtype
        self.n_threads = n_threads
