"""Build script for fastinit's compiled core.

Everything declarative lives in ``pyproject.toml``; this file only describes the
Cython extensions, because their compiler flags and directives need code:

* the kernels (the seven tiers ``fastinit/_core/_kernels_*.pxi`` and the SIMD
  micro-kernels ``fastinit/_core/_microkernels*.h``) are compiled twice on x86-64:
  ``_kernels_baseline`` for every x86-64 CPU and ``_kernels_avx2`` with
  ``-mavx2 -mfma``, plus ``_kernels_avx512`` (``-mavx512f -mfma``) where the
  compiler accepts it; ``fastinit._core._simd`` picks the best one at import time.
  Release builds use ``-O3`` and never ``-march=native``, so a wheel runs on
  any CPU.
* ``-ffp-contract=off``: the compiler forms no fused multiply-add behind our
  back; the micro-kernels of the AVX2 module ask for FMA explicitly, so each
  module has one fixed set of roundings (the two modules agree to rounding).
* OpenMP (threads over chunks of examples, ``n_threads``) is used when the
  compiler can build and link a small OpenMP program (``-fopenmp``; on macOS
  also Apple clang's ``-Xpreprocessor -fopenmp`` with ``-lomp``; ``/openmp``
  with MSVC); ``FASTINIT_OPENMP=0``
  builds without it (the kernels then run single-threaded) and
  ``FASTINIT_OPENMP=1`` makes a missing OpenMP an error.
  ``fastinit.show_config()`` tells which way a build went.
* ``FASTINIT_DEBUG_CYTHON=1`` rebuilds with bounds checking, wraparound and
  initialization checks on and without optimisation, so an out-of-bounds
  access in a kernel raises ``IndexError`` instead of corrupting memory.
"""
import os
import platform
import shlex
import subprocess
import sys
import sysconfig
import tempfile

import numpy
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
    common_args, avx2_args = ["/O2", "/fp:precise"], ["/arch:AVX2"]  # /arch:AVX2 implies FMA
    avx512_args = ["/arch:AVX512"]
else:
    common_args = ["-O0", "-g"] if DEBUG else ["-O3"]
    common_args += ["-ffp-contract=off", "-fno-trapping-math"]
    avx2_args = ["-mavx2", "-mfma"]
    avx512_args = ["-mavx512f", "-mfma"]


def _compiler_builds(program, compile_flags, link_flags=()):
    """Whether the C compiler builds and links ``program`` with these flags
    (how OpenMP and the AVX-512 module are detected).  The environment's
    CPPFLAGS, CFLAGS and LDFLAGS take part, as they do in the real build (they
    tell where libomp lives on macOS)."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    env_flags = [shlex.split(os.environ.get(name, "")) for name in ("CPPFLAGS", "CFLAGS", "LDFLAGS")]
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(program)
        command = (shlex.split(cc) + env_flags[0] + env_flags[1] + list(compile_flags)
                   + [source, "-o", os.path.join(tmp, "probe")] + env_flags[2] + list(link_flags))
        try:
            return subprocess.run(command, capture_output=True).returncode == 0
        except OSError:
            return False


def _compiler_accepts(flags):
    """Whether the compiler accepts these flags (the AVX-512 module is built
    only where it does)."""
    return MSVC or _compiler_builds("int main(void) { return 0; }\n", flags)


def _openmp_flags():
    """Compile and link flags for OpenMP, or empty lists when the compiler
    cannot build and link a small OpenMP program."""
    wanted = os.environ.get("FASTINIT_OPENMP", "auto").lower()
    if wanted in ("0", "no", "off", "false"):
        return [], []
    if MSVC:
        return ["/openmp"], []
    # GCC and LLVM's clang take -fopenmp; Apple's clang only passes it to the
    # preprocessor and links libomp (Homebrew's; CPPFLAGS/CFLAGS/LDFLAGS say where)
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    program = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    for flags in candidates:
        if _compiler_builds(program, flags[0], flags[1]):
            return flags
    if wanted in ("1", "yes", "on", "true"):
        raise RuntimeError("FASTINIT_OPENMP=1 but the compiler cannot build an OpenMP program")
    print("fastinit: OpenMP not available, building single-threaded kernels", file=sys.stderr)
    return [], []


KERNEL_SOURCES = [f"fastinit/_core/_kernels_{tier}.pxi"
                  for tier in ("scalar", "blocks", "optim", "dropout", "layers", "fused", "network")]
KERNEL_SOURCES += ["fastinit/_core/_microkernels.h", "fastinit/_core/_microkernels_body.h"]

omp_compile, omp_link = _openmp_flags()
common_args = common_args + omp_compile



def kernel_module(level, instruction_set_args, optional=False):
    """The extension ``fastinit._core._kernels_<level>``: the kernel tiers compiled
    with these instruction-set flags (an optional one that fails to compile is
    left out, and the build goes on)."""
    return Extension(
        f"fastinit._core._kernels_{level}",
        sources=[f"fastinit/_core/_kernels_{level}.pyx"],
        extra_compile_args=common_args + instruction_set_args,
        extra_link_args=omp_link,
        depends=KERNEL_SOURCES,
        include_dirs=["fastinit/_core", numpy.get_include()],
        # the network tier reads arrays through NumPy's C API (no deprecated names)
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        optional=optional,
    )


extensions = [kernel_module("baseline", [])]
if X86_64:
    extensions.append(kernel_module("avx2", avx2_args))
    # optional: clang 14 accepts -mavx512f but crashes in its x86 backend on
    # this module ("Cannot select ... X86ISD::PCMPEQ"); without it the AVX2
    # module runs on AVX-512 CPUs too (fastinit._core._simd skips a missing module)
    if _compiler_accepts(avx512_args):
        extensions.append(kernel_module("avx512", avx512_args, optional=True))

ext_modules = cythonize(extensions, compiler_directives=directives)
# cythonize makes new Extension objects and drops ``optional``: put it back
optional = {ext.name for ext in extensions if ext.optional}
for ext in ext_modules:
    ext.optional = ext.name in optional
setup(ext_modules=ext_modules)
