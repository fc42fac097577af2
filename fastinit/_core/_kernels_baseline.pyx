"""fastinit's compiled kernels, built for the platform's baseline instruction set
(SSE2 on x86-64).  ``fastinit._core._simd`` imports this module first and asks it
(``cpu_has_avx2``, ``cpu_has_avx512``) which faster module the CPU runs."""

include "_kernels_scalar.pxi"
include "_kernels_blocks.pxi"
include "_kernels_optim.pxi"
include "_kernels_dropout.pxi"
include "_kernels_layers.pxi"
include "_kernels_fused.pxi"
include "_kernels_network.pxi"
