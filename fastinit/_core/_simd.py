"""Choice of the compiled kernel module for this CPU.

fastinit compiles its kernels up to three times on x86-64: ``_kernels_baseline``
for any x86-64 CPU (SSE2), ``_kernels_avx2`` with AVX2 and FMA, and, where the
compiler can build it, ``_kernels_avx512`` with AVX-512F and FMA.  All come
from the same source and cut the examples into the same blocks; the modules
with FMA fuse each multiply-add into one rounding, and AVX-512 holds twice as
many lanes per vector, so the modules agree to rounding (1e-12 relative in
float64), while each one gives the same bits run to run and for any thread
count.  The best module this CPU can run is chosen once, at import, as NumPy
does for its own loops.

Set the environment variable ``FASTINIT_SIMD`` to ``baseline``, ``avx2`` or
``avx512`` before importing fastinit to force a choice (``auto``, the default,
picks).  ``baseline`` is the portable reference.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

from . import _kernels_baseline

CHOICES = ("auto", "baseline", "avx2", "avx512")
# fastest first: (name, does this CPU run it)
_LEVELS = (("avx512", _kernels_baseline.cpu_has_avx512),
           ("avx2", _kernels_baseline.cpu_has_avx2))


def available() -> dict[str, ModuleType]:
    """Every kernel module that is built and that this CPU runs, by name."""
    found = {"baseline": _kernels_baseline}
    for name, cpu_runs in _LEVELS:
        if cpu_runs():
            try:
                found[name] = importlib.import_module(f"{__package__}._kernels_{name}")
            except ImportError:
                pass
    return found


def _load() -> tuple[ModuleType, str]:
    requested = os.environ.get("FASTINIT_SIMD", "auto").strip().lower() or "auto"
    if requested not in CHOICES:
        raise ImportError(
            f"FASTINIT_SIMD must be one of {', '.join(CHOICES)}, got {requested!r}"
        )
    modules = available()
    if requested == "auto":
        for name, _ in _LEVELS:
            if name in modules:
                return modules[name], name
        return _kernels_baseline, "baseline"
    if requested not in modules:
        raise ImportError(f"FASTINIT_SIMD={requested}, but this CPU or this build has no "
                          f"{requested} kernels (available: {', '.join(modules)})")
    return modules[requested], requested


kernels, SIMD_LEVEL = _load()
