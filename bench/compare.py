"""Side-by-side timing of fastinit against the pure-NumPy reference.

Runs the seed notebook's He training (layers [2, 10, 5, 1], m = 300, 15000
iterations, cost recorded every 1000) with ``fastinit.reference.train`` and
with ``fastinit.train``, interleaved in one process (NumPy, fastinit, NumPy,
fastinit, ...), checks that both record the same costs, and prints the ratio
of each pair of runs.  Quote the median ratio: absolute times on a shared
machine drift, ratios of neighbouring runs much less.  The ratio of the best
(fastest) run of each side is printed too: it is the least disturbed by other
load on the machine.

Usage::

    python bench/compare.py [--rounds 5] [--iterations 15000] [--dtype float64]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastinit
from fastinit import reference

LAYERS = [2, 10, 5, 1]


def _time(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=15000)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args(argv)

    X, Y, _, _ = fastinit.load_dataset()
    dtype = np.dtype(args.dtype)
    X, Y = X.astype(dtype), Y.astype(dtype)
    initial = fastinit.initialize_parameters(LAYERS, "he", dtype=dtype)
    # float32 sums differ from float64 ones at the 1e-7 level; float64 must agree to 1e-12
    rtol = 1e-12 if dtype == np.float64 else 1e-5

    print(f"seed He run: layers {LAYERS}, m = {X.shape[1]}, {args.iterations} iterations, "
          f"{args.dtype}, cost recorded every 1000")
    print(f"{'round':>5}  {'numpy us/iter':>14}  {'fastinit us/iter':>16}  {'ratio':>7}")
    ratios, best_np, best_fi = [], float("inf"), float("inf")
    for k in range(args.rounds):
        t_np, (_, costs_np) = _time(
            lambda: reference.train(X, Y, initial, 0.01, args.iterations, 1000))
        t_fi, result = _time(
            lambda: fastinit.train(X, Y, LAYERS, init="he", num_iterations=args.iterations,
                                   dtype=dtype))
        np.testing.assert_allclose(result.costs, costs_np, rtol=rtol)
        ratios.append(t_np / t_fi)
        best_np, best_fi = min(best_np, t_np), min(best_fi, t_fi)
        print(f"{k:>5}  {t_np / args.iterations * 1e6:>14.1f}  "
              f"{t_fi / args.iterations * 1e6:>16.1f}  {ratios[-1]:>6.2f}x")
    print(f"median ratio NumPy / fastinit: {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x); best run vs best run: "
          f"{best_np / best_fi:.2f}x")
    print(f"fastinit kernels: {fastinit.get_config()['kernels']}; "
          f"recorded costs agree to rtol {rtol:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
