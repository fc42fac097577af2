"""scikit-learn estimators backed by fastinit's compiled loops.

* :class:`MLPClassifier`, :class:`MLPRegressor`: scikit-learn's classes of
  the same names, trained compiled (``from fastinit.sklearn import
  MLPClassifier`` in place of ``from sklearn.neural_network import
  MLPClassifier``).
* :class:`FastInitClassifier`: the seed notebook's full-batch gradient
  descent as an estimator.

scikit-learn is an optional dependency (``pip install "fastinit[sklearn]"``):
this package imports it, ``import fastinit`` does not.
"""
try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn
    raise ImportError(
        "fastinit.sklearn needs scikit-learn, an optional dependency of fastinit: "
        'install it with  pip install "fastinit[sklearn]"'
    ) from exc

from ._fastinit_classifier import FastInitClassifier
from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["FastInitClassifier", "MLPClassifier", "MLPRegressor"]
