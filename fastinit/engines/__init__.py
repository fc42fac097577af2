"""Tier 3, the engines: what runs a training.

* ``spec``: the layout table, the network spec and workspace the compiled
  loops take, the problem one training solves.
* ``fused``: the fused engines (every layer of a block of examples in one
  compiled pass; full batch and mini-batches).
* ``blas``: the BLAS engine (NumPy matrix products, the compiled elementwise
  work and update), the faster one for wide layers.
* ``choice``: the measured crossover between them, and the engine of a
  training.
* ``reference``: the same mathematics in plain NumPy, kept in the package as
  the reference every compiled path is tested and benchmarked against.
"""
