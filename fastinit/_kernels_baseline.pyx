"""fastinit's compiled kernels, built for the platform's baseline instruction set
(SSE2 on x86-64).  Also home of the CPU feature check that ``fastinit._simd``
uses to choose between this module and ``_kernels_avx2`` (AVX2 + FMA)."""

include "_kernels_scalar.pxi"
include "_kernels_blocks.pxi"
include "_kernels_layers.pxi"
include "_kernels_fused.pxi"

cdef extern from *:
    """
    static int fastinit_cpu_has_avx2(void) {
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    """
    int fastinit_cpu_has_avx2() noexcept nogil


def cpu_has_avx2():
    """True when this CPU executes AVX2 and FMA instructions (what the
    ``_kernels_avx2`` module is built for)."""
    return bool(fastinit_cpu_has_avx2())
