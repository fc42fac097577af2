"""The loss registry: every output layer fastinit trains, in one table.

A loss fixes three things: the output activation (sigmoid, softmax or
identity), the loss of one example summed over the output units, and the
targets it takes.  All three share the gradient with respect to the output
logits, dZ = (output - Y) / m, which the compiled loops compute in one routine
(``_output_gradient_block``).  The cost :func:`fastinit.train` records is the
mean over the examples.

=============================  ========  ==========================================
name                           output    targets, loss of one example
=============================  ========  ==========================================
``binary_cross_entropy``       sigmoid   0/1 per output unit;
                                         sum_j log(1 + e^z_j) - y_j z_j
``categorical_cross_entropy``  softmax   one class 0 .. k-1 (one-hot inside);
                                         log sum_j e^z_j - z_y
``mse``                        identity  real values, one per output unit;
                                         sum_j (z_j - y_j)^2 / 2
=============================  ========  ==========================================

``mse`` is scikit-learn's MLPRegressor loss for one output (its
``squared_error`` halves the mean squared error) and, summed over the outputs,
the gradient scikit-learn uses for several; it is half of PyTorch's
``MSELoss`` for one output.  Without ``loss=``, training picks the
cross-entropy that fits the output width, as before: binary for one unit,
categorical for more.

Adding a loss: its block loss and its output in ``_kernels_blocks.pxi`` (a
code in ``LOSS_CODES``; ``_output_gradient_block`` computes the output minus
Y), its NumPy twin in :mod:`fastinit.engines.reference` (``loss_from_logits``,
``output_activation``), and one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .._core._simd import kernels as _kernels


@dataclass(frozen=True)
class Loss:
    """One loss (see the module docstring).

    Attributes
    ----------
    name : str
        What ``loss=`` takes.
    output : str
        The output layer's activation: "sigmoid", "softmax", "identity" or
        "exp".
    targets : str
        "binary" (0/1 labels), "classes" (0 .. k-1 labels), "real" or
        "counts" (real and >= 0).
    description : str
    """

    name: str
    output: str
    targets: str
    description: str

    @property
    def code(self) -> int:
        """The compiled kernels' code of this loss."""
        return int(_kernels.LOSS_CODES[self.name])

    @property
    def is_classification(self) -> bool:
        return self.targets in ("binary", "classes")


_TABLE = (
    Loss("binary_cross_entropy", "sigmoid", "binary",
         "binary cross-entropy of sigmoid outputs (the seed's loss)"),
    Loss("categorical_cross_entropy", "softmax", "classes",
         "categorical cross-entropy of a softmax output"),
    Loss("mse", "identity", "real", "half the squared error of identity outputs (regression)"),
    Loss("poisson", "exp", "counts",
         "Poisson deviance of exp outputs (regression of counts and rates: targets >= 0)"),
)

#: every loss, by name
LOSSES: dict[str, Loss] = {loss.name: loss for loss in _TABLE}
#: other names users know them by
ALIASES = {"bce": "binary_cross_entropy", "cross_entropy": "categorical_cross_entropy",
           "cce": "categorical_cross_entropy", "squared_error": "mse"}


def get_loss(loss: str | None, n_outputs: int) -> Loss:
    """The registry entry of ``loss`` (a name or alias) for a network of
    ``n_outputs`` output units; None picks the cross-entropy of the width.
    ``ValueError`` for an unknown name or a width the loss cannot have."""
    if loss is None:
        return LOSSES["binary_cross_entropy" if n_outputs == 1 else "categorical_cross_entropy"]
    if not isinstance(loss, str) or ALIASES.get(loss, loss) not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)} (or {list(ALIASES)}), "
                         f"got {loss!r}")
    entry = LOSSES[ALIASES.get(loss, loss)]
    if entry.name == "categorical_cross_entropy" and n_outputs < 2:
        raise ValueError("loss='categorical_cross_entropy' needs an output layer of >= 2 "
                         f"units (one per class), got {n_outputs}")
    return entry
