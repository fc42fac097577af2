"""fastinit's compiled kernels, built with ``-mavx2`` for x86-64 CPUs that
have them; imported by ``fastinit._simd`` only after checking the CPU."""

include "_kernels_impl.pxi"
