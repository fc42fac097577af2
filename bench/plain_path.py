"""The plain gradient-descent path of this build against another build of
fastinit's kernels, in one process: the seed's He run (m = 300) through
``train_full_batch`` of both, interleaved (old, new, new, old, ...), median of
the paired ratios old / new (> 1: this build is faster).

Build the other version in place first, e.g. from a worktree of an earlier
commit::

    git worktree add /tmp/fastinit-old <commit>
    (cd /tmp/fastinit-old && python setup.py build_ext --inplace)
    python bench/plain_path.py /tmp/fastinit-old/fastinit [--rounds 21]

The old kernels are loaded from that directory under another package name;
its ``train_full_batch`` is called with the signature it had before
optimizers existed (``learning_rate``, ``softmax``), this build's with the
plain SGD hyper-parameter vector, which takes the same steps.
"""
import argparse
import importlib.util
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np

import fastinit
from fastinit.engines.spec import network_spec, pack, workspace
from fastinit._core._simd import SIMD_LEVEL, kernels
from fastinit.nn.optimizers import SGD


def load_old(directory: Path):
    package = types.ModuleType("fastinit_old")
    package.__path__ = [str(directory)]
    sys.modules["fastinit_old"] = package
    path = next(directory.glob(f"_kernels_{SIMD_LEVEL}.*.so"))
    spec = importlib.util.spec_from_file_location(f"fastinit_old._kernels_{SIMD_LEVEL}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the other build's fastinit/ directory")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()
    old = load_old(args.old)
    dtype = np.dtype(args.dtype)
    X, Y = (a.astype(dtype) for a in fastinit.load_dataset()[:2])
    dims = [2, 10, 5, 1]
    theta0, layout, act_size = pack(fastinit.initialize_parameters(dims, "he", dtype=dtype), dims)
    work = workspace(theta0.size, layout, act_size, X.shape[1], 1, dtype)
    common = dict(X=X, Y=Y, n_iter=args.iterations, record_first=True, n_threads=1)
    hyper, state = SGD(lr=0.01).hyper(), np.zeros((1, theta0.size), dtype)
    net = network_spec(dims, 1, 0.0, 0)

    def run_old():
        theta = theta0.copy()
        old.train_full_batch(theta=theta, layout=layout, learning_rate=0.01, hidden_act=1,
                             slope=0.0, softmax=False, **common, **work.buffers)
        return theta

    def run_new():
        theta = theta0.copy()
        kernels.train_full_batch(net=net, work=work, theta=theta, hyper=hyper, state=state,
                                 first_step=0, **common)
        return theta

    assert np.array_equal(run_old(), run_new()), "the two builds take different steps"
    ratios, t_old, t_new = [], [], []
    for r in range(args.rounds):
        pair = {}
        for name, fn in (("old", run_old), ("new", run_new))[::1 if r % 2 == 0 else -1]:
            t = time.perf_counter()
            fn()
            pair[name] = time.perf_counter() - t
        ratios.append(pair["old"] / pair["new"])
        t_old.append(pair["old"])
        t_new.append(pair["new"])
    n = args.iterations
    print(f"plain gradient descent, seed's He run, {dtype}, module {SIMD_LEVEL}, "
          f"{args.rounds} paired rounds of {n} iterations:")
    print(f"  old build {min(t_old) / n * 1e6:.2f} us/it (best), this build "
          f"{min(t_new) / n * 1e6:.2f} us/it (best)")
    print(f"  old / new: median of paired ratios {statistics.median(ratios):.3f} "
          f"(quartiles {np.percentile(ratios, 25):.3f} .. {np.percentile(ratios, 75):.3f})")


if __name__ == "__main__":
    main()
