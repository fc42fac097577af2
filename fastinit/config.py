"""Build and runtime configuration, for bug reports and benchmarks."""
from __future__ import annotations

import platform
import sys

import numpy as np

from ._core import _kernels_baseline, _simd
from ._validation import available_cpus
from ._version import __version__


def get_config() -> dict[str, object]:
    """fastinit's configuration as a dict (see :func:`show_config`)."""
    return {
        "fastinit": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_has_avx2": _kernels_baseline.cpu_has_avx2(),
        "cpu_has_avx512": _kernels_baseline.cpu_has_avx512(),
        "kernels": _simd.SIMD_LEVEL,
        "kernels_available": ", ".join(_simd.available()),
        "fma": _simd.kernels.FMA,
        "vector_bytes": _simd.kernels.VECTOR_BYTES,
        "kernel_module": _simd.kernels.__name__,
        "block_size": _simd.kernels.BLOCK_SIZE,
        "openmp": _simd.kernels.OPENMP,
        "cpus": available_cpus(),
    }


def show_config() -> None:
    """Print which compiled kernels fastinit runs on this machine, and versions.

    The kernels exist in a baseline build and, on x86-64, an AVX2 + FMA build
    and (where the compiler could build it) an AVX-512F + FMA build; the best
    one the CPU supports is chosen at import (override with the environment
    variable ``FASTINIT_SIMD=baseline|avx2|avx512``).  ``openmp`` tells
    whether the build has OpenMP, i.e. whether ``n_threads`` > 1 can run
    threads; ``cpus`` is the number of CPUs this process may use.
    """
    for key, value in get_config().items():
        print(f"{key:>14}: {value}")
