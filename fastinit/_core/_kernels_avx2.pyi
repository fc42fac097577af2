# Same kernels as _kernels_baseline, compiled with AVX2 + FMA (see _kernels_baseline.pyi).
from ._kernels_baseline import *  # noqa: F401,F403
