"""Build script for fastinit's compiled core.

Everything declarative lives in ``pyproject.toml``; this file only describes the
Cython extensions, because their compiler flags and directives need code:

* the kernels (``fastinit/_kernels_impl.pxi``) are compiled twice on x86-64:
  ``_kernels_baseline`` for every x86-64 CPU and ``_kernels_avx2`` with
  ``-mavx2``; ``fastinit._simd`` picks the best one at import time.  Release
  builds use ``-O3`` and never ``-march=native``, so a wheel runs on any CPU.
* ``-ffp-contract=off``: no fused multiply-adds are formed behind our back, so
  both builds perform the same roundings and give bit-identical results.
* ``FASTINIT_DEBUG_CYTHON=1`` rebuilds with bounds checking, wraparound and
  initialization checks on and without optimisation, so an out-of-bounds
  access in a kernel raises ``IndexError`` instead of corrupting memory.
"""
import os
import platform
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTINIT_DEBUG_CYTHON", "0") not in ("", "0")
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
MSVC = sys.platform == "win32"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

if MSVC:
    common_args, avx2_args = ["/O2", "/fp:precise"], ["/arch:AVX2"]
else:
    common_args = ["-O0", "-g"] if DEBUG else ["-O3"]
    common_args += ["-ffp-contract=off", "-fno-trapping-math"]
    avx2_args = ["-mavx2"]

extensions = [
    Extension(
        "fastinit._kernels_baseline",
        sources=["fastinit/_kernels_baseline.pyx"],
        extra_compile_args=common_args,
        depends=["fastinit/_kernels_impl.pxi"],
    )
]
if X86_64:
    extensions.append(
        Extension(
            "fastinit._kernels_avx2",
            sources=["fastinit/_kernels_avx2.pyx"],
            extra_compile_args=common_args + avx2_args,
            depends=["fastinit/_kernels_impl.pxi"],
        )
    )

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
