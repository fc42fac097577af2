"""Where the BLAS engine overtakes the fused loop: time per iteration of
``fastinit.train`` with ``engine="fused"`` and ``engine="blas"`` (and NumPy's
reference loop) on networks of growing width, side by side in one process.
The thresholds of ``choose_engine`` in ``fastinit/engines/choice.py`` come from it.
The logic is ``fastinit.studies.benchmark.benchmark_crossover``.

Usage::

    python bench/crossover.py [--m 10000] [--rounds 3]
"""
import argparse

from fastinit.studies.benchmark import benchmark_crossover

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=int, default=10**4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    benchmark_crossover(m=args.m, rounds=args.rounds)
