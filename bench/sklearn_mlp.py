"""scikit-learn's MLPClassifier / MLPRegressor against fastinit.sklearn's, at
scikit-learn's defaults on its bundled data sets, interleaved in one process
(``fastinit.sklearn._benchmark.benchmark_sklearn``).  The same as
``fastinit bench --sklearn``.

Usage::

    python bench/sklearn_mlp.py [--rounds 5] [--quick]
"""
import sys

from fastinit.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "--sklearn", *sys.argv[1:]]))
