"""A scikit-learn classifier backed by fastinit's compiled training loop.

scikit-learn is an optional dependency (``pip install "fastinit[sklearn]"``):
this module imports it, ``import fastinit`` does not.

At this interface samples are rows (scikit-learn's convention): ``X`` of shape
(n_samples, n_features) is transposed once per ``fit`` / ``predict`` call into
fastinit's column-per-example layout, never per iteration.
"""
from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import output_units
from ..nn.initializers import Initializer
from ..nn.network import predict_proba
from ..training.loop import TrainingResult, train

__all__ = ["FastInitClassifier"]


class FastInitClassifier(ClassifierMixin, BaseEstimator):
    """Fully-connected classifier trained by gradient descent in fastinit's
    compiled loop (full batch by default, as the seed notebook).

    Hidden layers use ``activation``; the output is one sigmoid unit for two
    classes and a softmax over the classes otherwise.  The initializer is a
    first-class hyper-parameter, so ``GridSearchCV`` can search over it.
    ``loss_``, ``loss_curve_``, ``warm_start`` and ``partial_fit`` behave as
    scikit-learn's ``MLPClassifier``'s.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (10, 5)
        Units of each hidden layer (the seed notebook's network by default).
    init : str or Initializer, default "he"
        Any name of :data:`fastinit.INITIALIZERS` or an initializer object.
    activation : str, default "relu"
        A name of :data:`fastinit.nn.activations.ACTIVATIONS`.
    learning_rate : float, default 0.01
    max_iter : int, default 15000
        Gradient-descent iterations of ``fit`` (mini-batch steps when
        ``batch_size`` is set).
    dtype : {"float64", "float32"}, default "float64"
    random_state : int or None, default 3
        Seed of the initializer (3 reproduces the notebook) and of the
        mini-batch shuffling.
    batch_size : int or None, default None
        None: full-batch gradient descent (the seed's) in ``fit``, and
        ``min(200, n_samples)`` in ``partial_fit`` (MLPClassifier's "auto");
        else mini-batches reshuffled every epoch.
    n_threads : int, default 1
        Threads of the compiled training loop (-1: all CPUs); used for 4096
        samples or more, and the fitted model is the same for any value (see
        :func:`fastinit.train`).
    warm_start : bool, default False
        When True, ``fit`` continues from the parameters of the previous fit
        (same classes required) instead of initializing again, and extends
        ``loss_curve_``.
    record_every : int, default 1000
        Iterations between the entries of ``loss_curve_`` during ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Gradient-descent steps run in total (fewer than ``max_iter`` per fit
        only if training diverged).
    loss_ : float
        Training cost of the current parameters (after the last step).
    loss_curve_ : list of float
        The training cost recorded every ``record_every`` iterations by each
        ``fit`` (continued by a warm start), then one entry per
        ``partial_fit`` call: the cost after its pass.
    result_ : fastinit.TrainingResult
        Costs and parameters of the last training call.
    """

    result_: TrainingResult  # set by fit (declared only: unfitted estimators lack it)

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (10, 5),
        init: str | Initializer = "he",
        activation: str = "relu",
        learning_rate: float = 0.01,
        max_iter: int = 15000,
        dtype: str = "float64",
        random_state: int | None = 3,
        batch_size: int | None = None,
        n_threads: int = 1,
        warm_start: bool = False,
        record_every: int = 1000,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.init = init
        self.activation = activation
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.dtype = dtype
        self.random_state = random_state
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.record_every = record_every

    def fit(self, X: Any, y: Any) -> "FastInitClassifier":
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y``."""
        warm = self.warm_start and hasattr(self, "result_")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=not warm)
        check_classification_targets(y)
        classes = np.unique(y)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError("warm_start can only be used where y has the same classes as in "
                             f"the previous call to fit: {self.classes_} vs {classes}")
        if not warm:
            self._start(classes)
        result = self._train(X, y, self.max_iter, self.batch_size, self.random_state,
                             record_every=self.record_every, warm=warm)
        self.loss_curve_ += [float(c) for c in result.costs]
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> "FastInitClassifier":
        """One pass of mini-batches over ``X`` and ``y`` (batches of
        ``batch_size``, or ``min(200, n_samples)`` when it is None), from the
        current parameters; ``classes`` (every class of the whole problem) is
        required on the first call, as MLPClassifier requires it."""
        first = not hasattr(self, "result_")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._start(np.unique(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {np.unique(classes)} differ from those of the first "
                             f"call to partial_fit, {self.classes_}")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y holds labels {unseen.tolist()} not in classes {self.classes_}")
        batch = self.batch_size if self.batch_size is not None else min(200, X.shape[0])
        steps = -(-X.shape[0] // batch)
        # the first call initializes from random_state; each later call shuffles
        # by its own seed, reproducible from random_state and the call's number
        seed = self.random_state
        if not first and seed is not None:
            seed = int(np.random.SeedSequence([seed, self._partial_calls]).generate_state(1)[0])
        self._partial_calls += 1
        self._train(X, y, steps, batch, seed, record_every=steps, warm=not first)
        self.loss_curve_.append(self.loss_)  # one entry per call: the cost after its pass
        return self

    def _start(self, classes: np.ndarray) -> None:
        """Forget any previous training: a model for these classes."""
        if len(classes) < 2:
            raise ValueError(
                f"FastInitClassifier needs samples of at least 2 classes, got {len(classes)} class"
            )
        self.classes_ = classes
        self.loss_curve_: list[float] = []
        self.n_iter_ = 0
        self._partial_calls = 0

    def _train(self, X, y, num_iterations, batch_size, seed, record_every, warm):
        """Train from scratch or (``warm``) from the current parameters."""
        n_outputs = output_units([len(self.classes_) - 1])
        hidden = self._hidden_sizes()
        labels = np.searchsorted(self.classes_, y).reshape(1, -1)
        self.result_ = train(
            np.ascontiguousarray(X.T), labels, [X.shape[1], *hidden, n_outputs],
            init=self.init, learning_rate=self.learning_rate, num_iterations=num_iterations,
            seed=seed, dtype=self.dtype, activation=self.activation, diagnostics=False,
            batch_size=batch_size, n_threads=self.n_threads, record_every=record_every,
            initial_parameters=self.result_.parameters if warm else None,
        )
        self.n_iter_ += self.result_.iterations_run
        self.loss_ = float(self.result_.final_cost)
        return self.result_

    def _hidden_sizes(self) -> list[int]:
        """``hidden_layer_sizes`` as a list of positive integers, or an error
        naming it."""
        sizes: Any = self.hidden_layer_sizes  # anything a user set: validated here
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
            raise TypeError(f"hidden_layer_sizes must be an integer or a sequence of integers, "
                            f"got {sizes!r}")
        sizes = list(sizes)
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1
                   for n in sizes):
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {sizes!r}")
        return [int(n) for n in sizes]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        AL = predict_proba(np.ascontiguousarray(X.T), self.result_.parameters, self.activation)
        if AL.shape[0] == 1:
            return np.column_stack([1 - AL[0], AL[0]])
        return np.ascontiguousarray(AL.T)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
