"""The activation registry: every hidden-layer activation fastinit knows, in one table.

Each :class:`Activation` holds what the rest of the package derives from it:
its name (what users pass as ``activation=``), the code of the compiled
kernels, whether its derivative needs the pre-activation Z (GELU, SiLU) or
can be computed from the output A = f(Z) (the others), its NumPy reference
(used by :mod:`fastinit.engines.reference` and the tests), the gain PyTorch's
``calculate_gain`` documents for it, and a one-line description.  Validation
(:func:`fastinit._validation.check_activation`), the command line's choices,
the reference's dispatch and the tests' parametrization all read
:data:`ACTIVATIONS`.

Adding an activation: add its value and derivative to ``_activation`` and
``_derivative`` in ``_kernels_scalar.pxi`` (with a code in the enum and in
``ACTIVATION_CODES``, and in ``NEEDS_Z`` if its derivative needs Z), then
one entry here.  Nothing else changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .._core._simd import kernels as _kernels

Array = np.ndarray

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(z: Array) -> Array:
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def _gelu_tanh_derivative(z: Array) -> Array:
    t = np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z ** 3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * z * z)


@dataclass(frozen=True)
class Activation:
    """One hidden-layer activation (see the module docstring).

    Attributes
    ----------
    name : str
        What ``activation=`` takes.
    description : str
        One line: the formula and where the name comes from.
    forward : callable
        Reference ``f(z, slope)`` in NumPy (float64 and float32 arrays).
    derivative : callable
        Reference ``f'(z)`` as ``derivative(z, a, slope)`` with ``a = f(z)``.
    needs_z : bool
        The compiled derivative is computed from Z (kept by the passes) instead
        of from A.
    gain : callable or None
        ``gain(slope)``: the gain PyTorch's ``calculate_gain`` documents for it,
        None where PyTorch documents none.
    """

    name: str
    description: str
    forward: Callable[[Array, float], Array]
    derivative: Callable[[Array, Array, float], Array]
    needs_z: bool = False
    gain: Optional[Callable[[float], float]] = None

    @property
    def code(self) -> int:
        """The compiled kernels' code of this activation."""
        return _kernels.ACTIVATION_CODES[self.name]


_TABLE = (
    Activation("relu", "max(z, 0) (the seed's)",
               lambda z, s: np.maximum(0, z), lambda z, a, s: (a > 0).astype(a.dtype),
               gain=lambda s: math.sqrt(2.0)),
    Activation("leaky_relu", "z if z > 0 else negative_slope * z",
               lambda z, s: np.where(z > 0, z, s * z),
               lambda z, a, s: np.where(a > 0, 1, s).astype(a.dtype),
               gain=lambda s: math.sqrt(2.0 / (1.0 + s * s))),
    Activation("tanh", "tanh(z)", lambda z, s: np.tanh(z), lambda z, a, s: 1 - a * a,
               gain=lambda s: 5.0 / 3.0),
    Activation("sigmoid", "1 / (1 + exp(-z))", lambda z, s: _sigmoid(z),
               lambda z, a, s: a * (1 - a), gain=lambda s: 1.0),
    Activation("linear", "z (no activation)", lambda z, s: z,
               lambda z, a, s: np.ones_like(a), gain=lambda s: 1.0),
    Activation("gelu", "z Phi(z), Phi the normal CDF (exact erf form: PyTorch GELU(), Keras "
               "gelu(approximate=False))",
               lambda z, s: (0.5 * z * (1 + _erf(z / math.sqrt(2)))).astype(z.dtype),
               lambda z, a, s: (0.5 * (1 + _erf(z / math.sqrt(2)))
                                + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)).astype(z.dtype),
               needs_z=True),
    Activation("gelu_tanh", "0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) (PyTorch "
               "GELU(approximate='tanh'), Keras gelu(approximate=True))",
               lambda z, s: 0.5 * z * (1 + np.tanh(_SQRT_2_OVER_PI * (z + 0.044715 * z ** 3))),
               lambda z, a, s: _gelu_tanh_derivative(z), needs_z=True),
    Activation("silu", "z sigmoid(z), also called swish (PyTorch SiLU, Keras silu)",
               lambda z, s: z * _sigmoid(z),
               lambda z, a, s: _sigmoid(z) * (1 + z * (1 - _sigmoid(z))), needs_z=True),
    Activation("elu", "z if z > 0 else exp(z) - 1 (alpha = 1: PyTorch ELU(), Keras elu)",
               lambda z, s: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
               lambda z, a, s: np.where(a > 0, 1, a + 1).astype(a.dtype)),
)

#: every hidden-layer activation, by name
ACTIVATIONS: dict[str, Activation] = {a.name: a for a in _TABLE}
#: other names users know them by
ALIASES = {"swish": "silu"}


def get_activation(name: str) -> Activation:
    """The registry entry of ``name`` (or an alias); ``ValueError`` otherwise."""
    if isinstance(name, str):
        name = ALIASES.get(name, name)
        if name in ACTIVATIONS:
            return ACTIVATIONS[name]
    raise ValueError(f"activation must be one of {list(ACTIVATIONS)} (or {list(ALIASES)}), "
                     f"got {name!r}")


def kernel_args(activation: str, negative_slope: float) -> tuple[int, float]:
    """The kernels' (activation code, slope) of a validated activation, checked
    once per distinct pair (the drop-in functions call this on every call)."""
    try:
        return _KERNEL_ARGS[activation, negative_slope]
    except (KeyError, TypeError):  # new, or unhashable (then refused below)
        pass
    from .._validation import check_activation

    name, slope = check_activation(activation, negative_slope)
    args = ACTIVATIONS[name].code, slope
    if type(activation) is str and type(negative_slope) in (int, float) and len(_KERNEL_ARGS) < 64:
        _KERNEL_ARGS[activation, negative_slope] = args
    return args


_KERNEL_ARGS: dict = {}
