"""Tier 4, training.

* ``loop``: ``train`` (one network) and ``train_models`` (many, one compiled
  pass), early stopping, divergence handling, ``TrainingResult``.
* ``diagnostics``: per-layer statistics recorded while training, ``diagnose``.

``from fastinit.training import train, train_models, TrainingResult`` keeps
working as it did when this package was one module.
"""
from .loop import TrainingResult, train, train_models

__all__ = ["TrainingResult", "train", "train_models"]
