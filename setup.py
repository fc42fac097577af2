"""Build script for fastinit's compiled core.

Everything declarative lives in ``pyproject.toml``; this file only describes the
Cython extension, because its compiler flags and directives need code:

* release builds use ``-O3`` and never ``-march=native`` (the wheel must run on
  any x86-64 / aarch64 CPU);
* ``FASTINIT_DEBUG_CYTHON=1`` rebuilds with bounds checking, wraparound and
  initialization checks on, so an out-of-bounds access in a kernel raises
  instead of corrupting memory.
"""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTINIT_DEBUG_CYTHON", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

if sys.platform == "win32":
    compile_args = ["/O2"]
else:
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]

extensions = [
    Extension(
        "fastinit._kernels",
        sources=["fastinit/_kernels.pyx"],
        extra_compile_args=compile_args,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
