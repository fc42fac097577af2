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
    import sklearn
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn
    raise ImportError(
        "fastinit.sklearn needs scikit-learn, an optional dependency of fastinit: "
        'install it with  pip install "fastinit[sklearn]"'
    ) from exc

from typing import Any

from ._fastinit_classifier import FastInitClassifier

#: the oldest scikit-learn whose MLP classes the drop-ins follow (its
#: sample_weight and loss="poisson" came in 1.7; Python 3.9 stops at 1.6)
MLP_MIN_SKLEARN = (1, 7)


def _sklearn_version() -> tuple[int, ...]:
    parts = []
    for part in sklearn.__version__.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


if _sklearn_version() >= MLP_MIN_SKLEARN:
    from ._mlp import MLPClassifier, MLPRegressor

    __all__ = ["FastInitClassifier", "MLPClassifier", "MLPRegressor"]
else:  # the drop-ins need scikit-learn's newer MLP API: say so where they are asked for
    __all__ = ["FastInitClassifier"]

    def __getattr__(name: str) -> Any:
        if name in ("MLPClassifier", "MLPRegressor"):
            raise ImportError(
                f"fastinit.sklearn.{name} follows scikit-learn >= "
                f"{'.'.join(map(str, MLP_MIN_SKLEARN))} (its sample_weight and Poisson "
                f"loss); this is scikit-learn {sklearn.__version__}: upgrade it "
                f"(it needs Python >= 3.10)")
        raise AttributeError(f"module 'fastinit.sklearn' has no attribute {name!r}")
