"""Tier 1, the compiled core (private).

The kernels are one Cython source (``_kernels_*.pxi`` tiers and the SIMD
micro-kernels ``_microkernels*.h``) compiled into up to three extension
modules: ``_kernels_baseline`` (any x86-64 CPU), ``_kernels_avx2`` (AVX2 and
FMA) and ``_kernels_avx512``.  ``_simd`` picks the best one this CPU runs, once,
at import; ``threads`` decides how many OpenMP threads a call starts.
Nothing here validates its inputs: the tiers above do.
"""
