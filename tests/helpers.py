"""Test helpers: per-dtype tolerances, comparison, random networks and data.

Tolerances (relative, with an absolute floor scaled to the data):

* float64: 1e-12.  The kernels and the NumPy reference perform the same
  operations and differ only in the order of sums (NumPy's BLAS blocks and may
  use FMA; fastinit sums block by block in lanes).  For the sums here (at most a
  few thousand terms) reordering changes a result by a few hundred ulp at worst,
  i.e. ~1e-14 relative; 1e-12 leaves room without hiding a wrong formula, which
  shows up at 1e-3 or worse.
* float32: 1e-5.  Same argument with eps = 1.2e-7: a few dozen ulp is ~5e-6.
"""
from __future__ import annotations

import numpy as np

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def assert_close(actual, desired, dtype, rtol=None):
    """Compare with the per-dtype tolerance; zeros compared against the scale of
    the whole array."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    rtol = RTOL[np.dtype(dtype)] if rtol is None else rtol
    scale = max(float(np.max(np.abs(desired), initial=0.0)), np.finfo(np.float32).tiny)
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def random_network(layers_dims, rng, dtype=np.float64, scale=None):
    """Random parameters (He-like scale, random biases) for kernel tests."""
    params = {}
    for l in range(1, len(layers_dims)):
        s = np.sqrt(2.0 / layers_dims[l - 1]) if scale is None else scale
        params[f"W{l}"] = (rng.standard_normal((layers_dims[l], layers_dims[l - 1])) * s).astype(dtype)
        params[f"b{l}"] = (rng.standard_normal((layers_dims[l], 1)) * 0.1).astype(dtype)
    return params


def random_data(n_x, m, rng, dtype=np.float64):
    X = rng.standard_normal((n_x, m)).astype(dtype)
    Y = (rng.random((1, m)) < 0.5).astype(np.int64)
    return X, Y
