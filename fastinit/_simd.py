"""Choice of the compiled kernel module for this CPU.

fastinit compiles its kernels twice on x86-64: ``_kernels_baseline`` for any
x86-64 CPU (SSE2) and ``_kernels_avx2`` with AVX2, twice as wide.  Both come
from the same source and give bit-identical results (every sum has a fixed
order and FMA contraction is off); only their speed differs.  The best module
this CPU can run is chosen once, at import, as NumPy does for its own loops.

Set the environment variable ``FASTINIT_SIMD`` to ``baseline`` or ``avx2``
before importing fastinit to force a choice (``auto``, the default, picks).
"""
from __future__ import annotations

import os
from types import ModuleType

from . import _kernels_baseline

CHOICES = ("auto", "baseline", "avx2")


def _load() -> tuple[ModuleType, str]:
    requested = os.environ.get("FASTINIT_SIMD", "auto").strip().lower() or "auto"
    if requested not in CHOICES:
        raise ImportError(
            f"FASTINIT_SIMD must be one of {', '.join(CHOICES)}, got {requested!r}"
        )
    if requested == "baseline":
        return _kernels_baseline, "baseline"
    has_avx2 = _kernels_baseline.cpu_has_avx2()
    if requested == "avx2" and not has_avx2:
        raise ImportError("FASTINIT_SIMD=avx2, but this CPU does not support AVX2")
    if has_avx2:
        try:
            from . import _kernels_avx2
        except ImportError:
            if requested == "avx2":
                raise
        else:
            return _kernels_avx2, "avx2"
    return _kernels_baseline, "baseline"


kernels, SIMD_LEVEL = _load()
