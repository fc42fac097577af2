"""fastinit's compiled kernels, built with ``-mavx2 -mfma`` for x86-64 CPUs
that have both; imported by ``fastinit._core._simd`` only after checking the CPU."""

include "_kernels_scalar.pxi"
include "_kernels_blocks.pxi"
include "_kernels_optim.pxi"
include "_kernels_dropout.pxi"
include "_kernels_layers.pxi"
include "_kernels_fused.pxi"
include "_kernels_network.pxi"
