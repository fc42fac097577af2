"""Which engine trains a network: the measured crossover between the fused
loops and the BLAS engine (:func:`choose_engine`), and the engine of one
training (:func:`make_engine`)."""
from __future__ import annotations

from typing import Sequence

from .._validation import check_choice
from .blas import BlasEngine
from .fused import FusedEngine, MiniBatchEngine
from .spec import Problem

# When the BLAS engine takes over, by the weights of the widest layer
# (n_in * n_out), the number of examples m and the number of inputs n_x.
# Measured with the register-blocked kernels (AVX-512 module, 2 cores,
# ``python bench/crossover.py --m M``): time per iteration, fused / BLAS, so
# > 1 means BLAS is faster:
#
#   layers              widest   m = 300   m = 10^4   m = 10^5
#   [16, 32, 16, 1]        512     0.28      0.42       0.29
#   [2, 64, 64, 1]       4,096     0.60      0.40       0.40
#   [2, 128, 128, 1]    16,384     1.07      0.66       0.47
#   [128, 128, 1]       16,384     0.95      0.73       0.79
#   [2, 256, 256, 1]    65,536     1.53      0.69       0.72
#   [256, 256, 1]       65,536     1.13      1.11       1.03
#   [784, 64, 1]        50,176     0.94      1.29       1.15
#   [2, 320, 320, 1]   102,400       -       0.83         -
#   [784, 128, 64, 1]  100,352       -       1.69         -
#   [2, 512, 512, 1]   262,144     2.23      1.70       1.72
#
# Below FUSED_MAX_WEIGHTS the fused loop always wins; from BLAS_MIN_WEIGHTS on
# BLAS always does; in between the fused loop wins on many examples (BLAS's
# per-call cost is then small against the work) unless the input is wide (the
# first layer then streams a wide block of X from memory for every tile).
FUSED_MAX_WEIGHTS = 16384
BLAS_MIN_WEIGHTS = 262144
FUSED_MIN_EXAMPLES = 2048
BLAS_MIN_INPUTS = 256
ENGINES = ("auto", "fused", "blas")


def choose_engine(dims: Sequence[int], engine: str = "auto", n_examples: int = 10_000) -> str:
    """"fused" or "blas" for a network of layer sizes ``dims`` trained on
    ``n_examples`` examples (see the measured table above)."""
    check_choice(engine, "engine", ENGINES)
    if engine != "auto":
        return engine
    widest = max(n_in * n_out for n_in, n_out in zip(dims[:-1], dims[1:]))
    if widest < FUSED_MAX_WEIGHTS:
        return "fused"
    if widest >= BLAS_MIN_WEIGHTS:
        return "blas"
    return "fused" if n_examples >= FUSED_MIN_EXAMPLES and dims[0] < BLAS_MIN_INPUTS else "blas"


def make_engine(problem: Problem, n_params: int, engine: str, n_threads: int,
                batch_size: int | None, seed: int | None):
    """The engine of one training: ``engine`` is "fused" or "blas" (see
    :func:`choose_engine`); ``batch_size`` None for full-batch training."""
    if engine == "blas":
        return BlasEngine(problem, n_params, batch_size, seed)
    if batch_size:
        return MiniBatchEngine(problem, n_params, n_threads, batch_size, seed)
    return FusedEngine(problem, n_params, n_threads)
