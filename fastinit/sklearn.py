"""A scikit-learn classifier backed by fastinit's compiled training loop.

scikit-learn is an optional dependency (``pip install "fastinit[sklearn]"``):
this module imports it, ``import fastinit`` does not.

At this interface samples are rows (scikit-learn's convention): ``X`` of shape
(n_samples, n_features) is transposed once per ``fit`` / ``predict`` call into
fastinit's column-per-example layout, never per iteration.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn
    raise ImportError(
        "fastinit.sklearn needs scikit-learn, an optional dependency of fastinit: "
        'install it with  pip install "fastinit[sklearn]"'
    ) from exc

from .initializers import Initializer
from .network import predict_proba
from .training import train

__all__ = ["FastInitClassifier"]


class FastInitClassifier(ClassifierMixin, BaseEstimator):
    """Fully-connected classifier trained by full-batch gradient descent.

    Hidden layers use ``activation``; the output is one sigmoid unit for two
    classes and a softmax over the classes otherwise.  The initializer is a
    first-class hyper-parameter, so ``GridSearchCV`` can search over it.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (10, 5)
        Units of each hidden layer (the seed notebook's network by default).
    init : str or Initializer, default "he"
        Any name of :data:`fastinit.INITIALIZERS` or an initializer object.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "linear"}, default "relu"
    learning_rate : float, default 0.01
    max_iter : int, default 15000
        Gradient-descent iterations.
    dtype : {"float64", "float32"}, default "float64"
    random_state : int or None, default 3
        Seed of the initializer (3 reproduces the notebook) and of the
        mini-batch shuffling.
    batch_size : int or None, default None
        None: full-batch gradient descent (the seed's); else mini-batches
        reshuffled every epoch (``max_iter`` counts mini-batch steps).
    n_threads : int, default 1
        Threads of the compiled training loop (-1: all CPUs); used for 4096
        samples or more, and the fitted model is the same for any value (see
        :func:`fastinit.train`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Iterations run (fewer than ``max_iter`` only if training diverged).
    result_ : fastinit.TrainingResult
        Costs and parameters of the training.
    """

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

    def fit(self, X: Any, y: Any) -> "FastInitClassifier":
        """Train on ``X`` of shape (n_samples, n_features) and labels ``y``."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"FastInitClassifier needs samples of at least 2 classes, got {len(self.classes_)} class"
            )
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        hidden = [self.hidden_layer_sizes] if np.isscalar(self.hidden_layer_sizes) \
            else list(self.hidden_layer_sizes)
        self.result_ = train(
            np.ascontiguousarray(X.T), encoder.transform(y).reshape(1, -1),
            [X.shape[1], *hidden, n_outputs], init=self.init, learning_rate=self.learning_rate,
            num_iterations=self.max_iter, seed=self.random_state, dtype=self.dtype,
            activation=self.activation, diagnostics=False, batch_size=self.batch_size,
            n_threads=self.n_threads,
        )
        self.n_iter_ = self.result_.iterations_run
        return self

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
