# Same kernels as _kernels_baseline, compiled with AVX-512F + FMA (see _kernels_baseline.pyi).
from ._kernels_baseline import *  # noqa: F401,F403
