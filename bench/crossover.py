"""Where the BLAS engine overtakes the fused loop: time per iteration of
``fastinit.train`` with ``engine="fused"`` and ``engine="blas"`` (and NumPy's
reference loop) on networks of growing width, side by side in one process.
The thresholds of ``choose_engine`` in ``fastinit/_engines.py`` come from it.

Usage::

    python bench/crossover.py [--m 10000] [--rounds 3]
"""
import argparse
import time

import numpy as np

import fastinit
from fastinit import reference
from fastinit._engines import choose_engine

NETWORKS = ([2, 10, 5, 1], [16, 32, 16, 1], [2, 64, 64, 1], [2, 128, 128, 1], [128, 128, 1],
            [2, 256, 256, 1], [256, 256, 1], [784, 64, 1], [2, 320, 320, 1], [784, 128, 64, 1],
            [2, 512, 512, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=int, default=10**4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"m = {args.m}; ms per iteration, best of {args.rounds} interleaved rounds")
    print(f"{'layers':<18} {'widest':>7} {'fused':>9} {'blas':>9} {'numpy':>9} "
          f"{'fused/blas':>10} {'auto':>6}")
    for dims in NETWORKS:
        X = rng.standard_normal((dims[0], args.m))
        Y = (rng.random((1, args.m)) < 0.5).astype(np.float64)
        initial = fastinit.initialize_parameters(dims, "he")
        widest = max(a * b for a, b in zip(dims[:-1], dims[1:]))
        n = max(3, int(1e9 // (6 * args.m * sum(a * b for a, b in zip(dims[:-1], dims[1:])))))
        runs = {
            "fused": lambda: fastinit.train(X, Y, dims, num_iterations=n, diagnostics=False,
                                            engine="fused"),
            "blas": lambda: fastinit.train(X, Y, dims, num_iterations=n, diagnostics=False,
                                           engine="blas"),
            "numpy": lambda: reference.train(X, Y, initial, 0.01, n),
        }
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.rounds):
            for name, run in runs.items():
                time.sleep(0.1)  # let BLAS worker threads stop spinning
                start = time.perf_counter()
                run()
                best[name] = min(best[name], (time.perf_counter() - start) / n * 1e3)
        print(f"{str(dims):<18} {widest:>7} {best['fused']:>9.3f} {best['blas']:>9.3f} "
              f"{best['numpy']:>9.3f} {best['fused'] / best['blas']:>10.2f} "
              f"{choose_engine(dims, n_examples=args.m):>6}")


if __name__ == "__main__":
    main()
