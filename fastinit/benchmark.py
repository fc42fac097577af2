"""Side-by-side timing of fastinit against the pure-NumPy reference.

Runs the seed notebook's He training (layers [2, 10, 5, 1], m = 300, cost
recorded every 1000 iterations) with :func:`fastinit.reference.train` and with
:func:`fastinit.train`, interleaved in one process (NumPy, fastinit, NumPy,
fastinit, ...), checks that both record the same costs, and reports the ratio
of each pair of runs.  Quote the median ratio: absolute times on a shared
machine drift, ratios of neighbouring runs much less; the ratio of the best
run of each side is the least disturbed by other load.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import numpy as np

from . import reference
from ._validation import check_count, resolve_dtype
from .config import get_config
from .datasets import load_dataset
from .initializers import initialize_parameters
from .training import train

LAYERS = [2, 10, 5, 1]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare_with_numpy(rounds: int = 5, iterations: int = 15000, dtype: Any = "float64",
                       echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Time the seed's He run with NumPy and with fastinit, interleaved.

    Returns
    -------
    dict
        ``ratios`` (one per round), ``median_ratio``, ``best_ratio`` and the
        per-iteration times in µs; each line of the table is passed to ``echo``.
    """
    rounds = check_count(rounds, "rounds", minimum=1)
    iterations = check_count(iterations, "iterations", minimum=1)
    dtype = resolve_dtype(dtype)
    X, Y, _, _ = load_dataset()
    X, Y = X.astype(dtype), Y.astype(dtype)
    initial = initialize_parameters(LAYERS, "he", dtype=dtype)
    # float32 sums differ from float64 ones at the 1e-7 level; float64 must agree to 1e-12
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    echo(f"seed He run: layers {LAYERS}, m = {X.shape[1]}, {iterations} iterations, {dtype}, "
         f"cost recorded every 1000")
    echo(f"{'round':>5}  {'numpy us/iter':>14}  {'fastinit us/iter':>16}  {'ratio':>7}")
    ratios, times_np, times_fi = [], [], []
    for k in range(rounds):
        t_np, (_, costs_np) = _timed(lambda: reference.train(X, Y, initial, 0.01, iterations, 1000))
        t_fi, result = _timed(lambda: train(X, Y, LAYERS, init="he", num_iterations=iterations,
                                            dtype=dtype))
        if not np.allclose(result.costs, costs_np, rtol=rtol, atol=0):
            raise RuntimeError(f"fastinit and NumPy recorded different costs: "
                               f"{result.costs} vs {costs_np}")
        ratios.append(t_np / t_fi)
        times_np.append(t_np / iterations * 1e6)
        times_fi.append(t_fi / iterations * 1e6)
        echo(f"{k:>5}  {times_np[-1]:>14.1f}  {times_fi[-1]:>16.1f}  {ratios[-1]:>6.2f}x")
    summary = {
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "best_ratio": min(times_np) / min(times_fi),
        "numpy_us_per_iteration": times_np,
        "fastinit_us_per_iteration": times_fi,
        "kernels": get_config()["kernels"],
    }
    echo(f"median ratio NumPy / fastinit: {summary['median_ratio']:.2f}x "
         f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x); best run vs best run: "
         f"{summary['best_ratio']:.2f}x")
    echo(f"fastinit kernels: {summary['kernels']}; recorded costs agree to rtol {rtol:g}")
    return summary
