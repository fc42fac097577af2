"""Tier 2, the network pieces.

* ``activations``: the hidden activations (registry ``ACTIVATIONS``).
* ``initializers``: weight initializations, LSUV included (``INITIALIZERS``).
* ``losses``: output activation + loss pairs (``LOSSES``).
* ``optimizers``: optimizers and learning-rate schedules (``OPTIMIZERS``,
  ``SCHEDULES``).
* ``layers``: one layer's compiled forward and backward steps.
* ``network``: whole-network passes, the seed notebook's drop-in functions
  (``forward_propagation``, ``backward_propagation``, ...) and prediction.
* ``gradcheck``: finite-difference gradient checks.
"""
