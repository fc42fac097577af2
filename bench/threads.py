"""Timings the test suite does not assert (CI runs on a busy shared machine):

* 8 trainings of the seed's network in 8 Python threads against the same 8
  run one after another (the compiled loop releases the GIL, so on 2 idle
  cores the threaded run takes about half the serial time);
* how long Ctrl-C takes to interrupt a long compiled training.

Run: ``python bench/threads.py [--rounds N]``; ratios are medians of paired,
interleaved rounds.
"""
from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import fastinit

CHILD = """
import numpy as np, fastinit
X = np.random.default_rng(0).standard_normal((2, 200_000))
Y = (X[0] * X[1] > 0).astype(int)
print("ready", flush=True)
try:
    fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=10**9, record_every=10**9)
except KeyboardInterrupt:
    print("caught", flush=True)
"""


def _train(seed: int) -> None:
    X, Y = fastinit.load_dataset()[:2]
    fastinit.train(X, Y, [2, 10, 5, 1], init="he", seed=seed, num_iterations=6000)


def threads_over_serial(n: int = 8) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        _train(i)
    serial = time.perf_counter() - t0
    threads = [threading.Thread(target=_train, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.perf_counter() - t0) / serial


def interrupt_latency() -> float:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                            cwd=tempfile.gettempdir())
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "caught"
        return time.perf_counter() - sent
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    ratios = [threads_over_serial() for _ in range(rounds)]
    latencies = [interrupt_latency() for _ in range(rounds)]
    print(f"8 trainings in 8 threads / serially: median {statistics.median(ratios):.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"Ctrl-C to KeyboardInterrupt: median {statistics.median(latencies) * 1000:.0f} ms "
          f"(max {max(latencies) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
