"""Timings the test suite does not assert (CI runs on a busy shared machine):

* 8 trainings of the seed's network in 8 Python threads against the same 8
  run one after another (the compiled loop releases the GIL, so on 2 idle
  cores the threaded run takes about half the serial time);
* how long Ctrl-C takes to interrupt a long compiled training.

Run: ``python bench/threads.py [--rounds N]``; the logic is
``fastinit.studies.benchmark.benchmark_threads``.
"""
import argparse

from fastinit.studies.benchmark import benchmark_threads

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    benchmark_threads(rounds=parser.parse_args().rounds)
