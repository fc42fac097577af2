"""Tier 6, studies built on training and data.

* ``experiments``: the seed notebook's comparison of initializations, the
  symmetry lesson, signal propagation through depth.
* ``sweeps``: grids of trainings over seeds, schemes, optimizers, depths and
  learning rates, on threads or Dask (``sweep``, ``SweepTable``).
* ``benchmark``: the measurements behind ``fastinit bench``.
"""
