"""Warnings and exceptions raised by fastinit (besides ValueError / TypeError
for invalid arguments)."""
from __future__ import annotations

from typing import Any


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the cost or a parameter became NaN or infinite."""


class TrainingDivergedError(FloatingPointError):
    """Raised by ``train(..., on_divergence="raise")`` when training diverges.

    Attributes
    ----------
    result : TrainingResult
        What training produced up to the divergence, with ``status="diverged"``
        and the last finite parameters.
    """

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result
