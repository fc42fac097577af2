"""``fastinit bench --sklearn``: scikit-learn's MLPs against fastinit's, at
scikit-learn's defaults, on the data sets scikit-learn bundles."""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from .._core import _simd
from .._validation import check_count
from ..config import get_config
from ..studies.benchmark import _paired


def _datasets(quick: bool) -> list[tuple[str, str, Any]]:
    from sklearn import datasets

    found = [("iris", "MLPClassifier", datasets.load_iris),
             ("wine", "MLPClassifier", datasets.load_wine),
             ("breast cancer", "MLPClassifier", datasets.load_breast_cancer),
             ("digits", "MLPClassifier", datasets.load_digits),
             ("diabetes", "MLPRegressor", datasets.load_diabetes)]
    return found[:2] + found[4:] if quick else found


def fit_flops(est: Any, n_samples: int) -> float:
    """Multiply-adds of a stochastic fit, counted as 2 FLOPs each: per example
    and epoch, the forward product (1 multiply-add per weight), the weight
    gradient (1) and the product back to the layer below (1, not for the
    first layer)."""
    weights = [c.size for c in est.coefs_]
    per_example = 2 * (2 * sum(weights) + sum(weights[1:]))
    return float(per_example) * n_samples * est.n_iter_


def benchmark_sklearn(rounds: int = 5, quick: bool = False,
                      echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Fit time of ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``
    and of ``fastinit.sklearn``'s at their defaults (hidden (100,), Adam,
    batches of 200, 200 epochs at most; fastinit's ``n_threads=1``), on
    scikit-learn's bundled data sets, standardized, 75 % to fit and 25 % to
    score (``random_state=0`` everywhere), in interleaved rounds (median of
    the paired ratios).  Each row also has both test scores (accuracy; R² for
    the regressor), the epochs, and fastinit's fit in GFLOP/s and as a share
    of this machine's measured multiply-add peak on one core (float64).

    Returns one dict per data set: ``data``, ``sklearn_s``, ``fastinit_s``
    (best round), ``ratio``, ``sklearn_score``, ``fastinit_score``,
    ``epochs``, ``gflops``, ``peak_share``.
    """
    from sklearn import neural_network as sk
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from . import MLPClassifier, MLPRegressor

    rounds = check_count(rounds, "rounds", minimum=1)
    peak = _simd.kernels.fma_peak_gflops(8)
    ours = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    echo(f"scikit-learn's MLPs at their defaults against fastinit.sklearn's ({get_config()['kernels']} "
         f"kernels, one thread; measured multiply-add peak {peak:.1f} GFLOP/s per core), "
         f"median of {rounds} paired rounds:")
    echo(f"{'data':<14} {'n x d':>10} {'sklearn s':>10} {'fastinit s':>11} {'ratio':>7} "
         f"{'score sk / fi':>15} {'epochs':>7} {'GFLOP/s':>8} {'of peak':>8}")
    rows = []
    for name, cls, load in _datasets(quick):
        X, y = load(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

        def fit(make: Any) -> Callable[[], Any]:
            def run() -> Any:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    return make(random_state=0).fit(X_train, y_train)
            return run

        ratio, t_sk, t_fi, est_sk, est_fi = _paired(rounds, fit(getattr(sk, cls)),
                                                    fit(ours[cls]))
        gflops = fit_flops(est_fi, X_train.shape[0]) / t_fi / 1e9
        row = {"data": name, "sklearn_s": t_sk, "fastinit_s": t_fi, "ratio": ratio,
               "sklearn_score": est_sk.score(X_test, y_test),
               "fastinit_score": est_fi.score(X_test, y_test), "epochs": est_fi.n_iter_,
               "gflops": gflops, "peak_share": gflops / peak}
        rows.append(row)
        shape = f"{X.shape[0]}x{X.shape[1]}"
        scores = f"{row['sklearn_score']:.3f} / {row['fastinit_score']:.3f}"
        echo(f"{name:<14} {shape:>10} {t_sk:>10.3f} {t_fi:>11.3f} {ratio:>6.1f}x "
             f"{scores:>15} {est_fi.n_iter_:>7} {gflops:>8.2f} {100 * row['peak_share']:>7.1f}%")
    return rows
