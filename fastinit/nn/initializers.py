"""Weight initializers: one registry of small, documented initializer objects.

Every initializer draws ``W[l]`` of shape ``(fan_out, fan_in) = (n_l, n_{l-1})``
from a *local* generator seeded with ``seed`` (default 3, as in the seed
notebook) and never touches NumPy's global random state.  The generator is
NumPy's legacy ``RandomState`` (MT19937 + polar normal draws) because that is
the stream ``np.random.seed(3); np.random.randn(...)`` used in the notebook:
with it, ``"random"`` and ``"he"`` print the notebook's expected values exactly.
Layers are drawn in order, ``W1`` first, from one stream.  Biases are zeros,
except scikit-learn's scheme, which draws them too (``Initializer.bias``).

Each name means what the framework it comes from documents, with that
framework's defaults, so that a user moving from PyTorch (``torch.nn.init``)
or Keras (``keras.initializers``) gets the distribution they know under the
name they know.  Where the two frameworks use one name differently, the plain
names (``normal``, ``uniform``) follow PyTorch and Keras' meanings have Keras'
longer names (``random_normal``, ``random_uniform``).  The seed's ``"zeros"``,
``"random"``, ``"he"`` and ``"xavier"`` keep the notebook's values.
"Truncated" draws are redrawn outside ±2 standard deviations; Keras' variance
scaling rescales them (÷ 0.8796) so the variance is still the target one.

==================  ========  ================================================
name                follows   weights
==================  ========  ================================================
zeros               both      0
constant            Keras     ``value`` (default 0)
normal              PyTorch   N(0, 1) (``normal_``)
uniform             PyTorch   U(0, 1) (``uniform_``)
random_normal       Keras     N(0, 0.05²) (``RandomNormal``)
random_uniform      Keras     U(-0.05, 0.05) (``RandomUniform``)
truncated_normal    Keras     N(0, 0.05²) truncated at ±2 std (``TruncatedNormal``)
trunc_normal        PyTorch   N(0, 1) truncated to [-2, 2] (``trunc_normal_``)
random              seed      N(0, 1) × 10
he                  seed      N(0, 2 / fan_in), plain normal (the notebook's He)
kaiming_normal      PyTorch   N(0, 2 / fan_in), plain normal (``kaiming_normal_``)
he_normal           Keras     truncated normal, variance 2 / fan_in (``HeNormal``)
kaiming_uniform     PyTorch   U(±√(6 / fan_in)) (``kaiming_uniform_``, a = 0)
he_uniform          Keras     U(±√(6 / fan_in)) (``HeUniform``)
xavier              seed      N(0, 1 / fan_in): the notebook's "Xavier", which is
                              LeCun's scaling drawn from a plain normal
xavier_normal       PyTorch   N(0, 2 / (fan_in + fan_out)), plain normal
glorot_normal       Keras     truncated normal, variance 2 / (fan_in + fan_out)
xavier_uniform      PyTorch   U(±√(6 / (fan_in + fan_out)))
glorot_uniform      Keras     U(±√(6 / (fan_in + fan_out)))
lecun_normal        Keras     truncated normal, variance 1 / fan_in
lecun_uniform       Keras     U(±√(3 / fan_in))
variance_scaling    Keras     the family the named ones derive from (default
                              scale 1, fan_in, truncated normal)
orthogonal          both      a random orthogonal matrix × gain (Saxe et al.)
identity            both      gain × the identity (PyTorch ``eye_``, Keras
                              ``Identity``; where the shape allows)
sklearn             sklearn   U(±√(6 / (fan_in + fan_out))), biases too, drawn
                              in scikit-learn's layout: its MLPs' parameters
                              (factor 2 for a logistic hidden layer)
lsuv                paper     orthogonal, then each layer rescaled on the
                              training data until its output variance is 1
                              (Mishkin & Matas 2015); needs the data: ``X=``
                              here, automatic in :func:`fastinit.train`
==================  ========  ================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Sequence

import numpy as np

from .._validation import (
    check_activation,
    check_array,
    check_features,
    check_layers_dims,
    check_choice,
    check_memory,
    check_real,
    check_seed,
    resolve_dtype,
)

DEFAULT_SEED = 3

Shape = tuple  # (fan_out, fan_in)

# Keras's constant: the std of a standard normal truncated to [-2, 2] is
# 0.87962566103423978, so VarianceScaling divides by it to keep the variance
_TRUNCATED_STD = 0.87962566103423978


class Initializer:
    """Base class: ``init(shape, rng)`` returns a float64 array of ``shape``
    ``(fan_out, fan_in)`` drawn from ``rng`` (a ``numpy.random.RandomState``).

    Subclass it (and implement :meth:`__call__`) to pass your own scheme to
    :func:`fastinit.train` or :func:`initialize_parameters`.
    """

    def __call__(self, shape: Shape, rng: np.random.RandomState) -> np.ndarray:
        raise NotImplementedError

    def bias(self, shape: Shape, rng: np.random.RandomState) -> np.ndarray:
        """The biases ``(fan_out, 1)`` of a layer whose weights have ``shape``,
        drawn right after them; zeros (and no draw) unless a scheme says
        otherwise."""
        return np.zeros((shape[0], 1))

    #: a short comment for result tables
    comment = ""


@dataclass(frozen=True)
class Zeros(Initializer):
    """All weights 0: every unit of a layer stays identical (no symmetry breaking)."""

    comment = "fails to break symmetry"

    def __call__(self, shape, rng):
        return np.zeros(shape)


@dataclass(frozen=True)
class Constant(Initializer):
    """All weights equal to ``value``."""

    value: float = 0.0

    def __post_init__(self):
        check_real(self.value, "value")

    def __call__(self, shape, rng):
        return np.full(shape, float(self.value))


@dataclass(frozen=True)
class Normal(Initializer):
    """Weights ~ N(mean, std²), drawn as ``randn * std + mean``."""

    std: float = 1.0
    mean: float = 0.0

    def __post_init__(self):
        check_real(self.std, "std", positive=True)
        check_real(self.mean, "mean")

    @property
    def comment(self):  # type: ignore[override]  # computed here; comment is only ever read
        return "too large weights" if self.std >= 5 else ""

    def __call__(self, shape, rng):
        W = rng.randn(*shape) * self.std
        return W + self.mean if self.mean else W


@dataclass(frozen=True)
class Uniform(Initializer):
    """Weights ~ U(low, high)."""

    low: float = -0.05
    high: float = 0.05

    def __post_init__(self):
        if check_real(self.low, "low") >= check_real(self.high, "high"):
            raise ValueError(f"low must be < high, got low={self.low}, high={self.high}")

    def __call__(self, shape, rng):
        return rng.uniform(self.low, self.high, size=shape)


@dataclass(frozen=True)
class TruncatedNormal(Initializer):
    """Weights ~ N(mean, std²) conditioned on ``|w - mean| <= bound * std``
    (out-of-range draws are redrawn, as Keras and JAX do with bound 2)."""

    std: float = 1.0
    mean: float = 0.0
    bound: float = 2.0

    #: smallest bound (2 standard deviations is the usual one): a draw is kept
    #: with probability erf(bound / sqrt 2), 8% at 0.1, so redrawing ends fast
    MIN_BOUND = 0.1
    #: rounds of redrawing before giving up (never reached above MIN_BOUND)
    MAX_ROUNDS = 10_000

    def __post_init__(self):
        check_real(self.std, "std", positive=True)
        check_real(self.mean, "mean")
        check_real(self.bound, "bound", positive=True)
        if self.bound < self.MIN_BOUND:
            raise ValueError(f"bound must be >= {self.MIN_BOUND} (standard deviations), got "
                             f"{self.bound}: narrower truncations would redraw almost every value")

    def __call__(self, shape, rng):
        z = rng.randn(*shape)
        outside = np.abs(z) > self.bound
        rounds = 0
        while outside.any():
            rounds += 1
            if rounds > self.MAX_ROUNDS:  # pragma: no cover - a bound >= MIN_BOUND never gets here
                raise RuntimeError("TruncatedNormal: redrawing did not end")
            z[outside] = rng.randn(int(outside.sum()))
            outside = np.abs(z) > self.bound
        return z * self.std + self.mean


def _fan(shape: Shape, mode: str) -> float:
    fan_out, fan_in = shape
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


@dataclass(frozen=True)
class VarianceScaling(Initializer):
    """Weights with variance ``scale / fan``, the family of He, Glorot and LeCun.

    Parameters
    ----------
    scale : float
        Target variance times ``fan``: 2 for He (ReLU), 1 for LeCun and Glorot.
    mode : {"fan_in", "fan_out", "fan_avg"}
        ``fan`` is the number of inputs (n_{l-1}), outputs (n_l) or their mean.
    distribution : {"normal", "truncated_normal", "uniform"}
        "normal" draws ``randn * sqrt(scale / fan)`` (PyTorch, and the seed's
        He); "truncated_normal" draws within ±2 std, rescaled so the variance
        is still ``scale / fan`` (Keras); "uniform" draws from
        ``U(±sqrt(3 scale / fan))``.
    """

    scale: float = 1.0
    mode: str = "fan_in"
    distribution: str = "truncated_normal"

    def __post_init__(self):
        check_real(self.scale, "scale", positive=True)
        check_choice(self.mode, "mode", ("fan_in", "fan_out", "fan_avg"))
        check_choice(self.distribution, "distribution", ("normal", "truncated_normal", "uniform"))

    @property
    def comment(self):  # type: ignore[override]  # computed here; comment is only ever read
        if (self.scale, self.mode) == (2.0, "fan_in"):
            return "recommended method"
        if (self.scale, self.mode) == (1.0, "fan_in"):
            return "scaled for tanh; shrinks ReLU signals"
        return ""

    def std(self, shape: Shape) -> float:
        """Standard deviation of the weights of a layer of this shape."""
        return math.sqrt(self.scale / _fan(shape, self.mode))

    def __call__(self, shape, rng):
        std = self.std(shape)
        if self.distribution == "normal":
            return rng.randn(*shape) * std
        if self.distribution == "truncated_normal":
            return TruncatedNormal(std=std / _TRUNCATED_STD)(shape, rng)
        limit = math.sqrt(3.0) * std
        return rng.uniform(-limit, limit, size=shape)


@dataclass(frozen=True)
class ScikitLearn(Initializer):
    """scikit-learn's MLP initialization (``MLPClassifier``, ``MLPRegressor``):
    weights *and biases* ~ U(±√(factor / (fan_in + fan_out))), each layer's
    weights drawn as a (fan_in, fan_out) array (scikit-learn's ``coefs_``
    layout) and then its biases, from the one stream.  ``factor`` is 6, or 2
    when the hidden activation is the logistic sigmoid (scikit-learn's rule,
    which the output layer follows too).  From the same integer seed the
    parameters equal scikit-learn's ``random_state=seed`` ones bit for bit.
    """

    factor: float = 6.0

    def __post_init__(self):
        check_real(self.factor, "factor", positive=True)

    def bound(self, shape: Shape) -> float:
        fan_out, fan_in = shape
        return math.sqrt(self.factor / (fan_in + fan_out))

    def __call__(self, shape, rng):
        fan_out, fan_in = shape
        bound = self.bound(shape)
        return rng.uniform(-bound, bound, (fan_in, fan_out)).T

    def bias(self, shape, rng):
        bound = self.bound(shape)
        return rng.uniform(-bound, bound, shape[0]).reshape(-1, 1)


@dataclass(frozen=True)
class Orthogonal(Initializer):
    """A random (semi-)orthogonal matrix times ``gain``: rows orthonormal when
    fan_out <= fan_in, columns orthonormal otherwise, so ``W Wᵀ`` or ``Wᵀ W``
    is ``gain² I`` (PyTorch's algorithm: QR of a Gaussian matrix with the signs
    of R's diagonal folded into Q, which makes the result Haar-distributed)."""

    gain: float = 1.0

    def __post_init__(self):
        check_real(self.gain, "gain", positive=True)

    def __call__(self, shape, rng):
        rows, cols = shape
        flat = rng.randn(rows, cols)
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q


@dataclass(frozen=True)
class Identity(Initializer):
    """``gain`` on the diagonal, 0 elsewhere (for non-square shapes, the leading
    square block is the identity, as PyTorch's ``eye_``)."""

    gain: float = 1.0

    def __post_init__(self):
        check_real(self.gain, "gain")

    def __call__(self, shape, rng):
        return self.gain * np.eye(*shape)


@dataclass(frozen=True)
class LSUV(Initializer):
    """Layer-sequential unit-variance initialization (Mishkin & Matas, 2015).

    Weights start from ``base`` (orthogonal by default); then, layer after
    layer, the layer's pre-activations ``Z = W A + b`` on the data are
    computed and ``W`` is divided by ``std(Z)`` until ``|var(Z) - 1| < tol``
    or ``max_iter`` rescalings were made.  Data-dependent: use it through
    :func:`initialize_parameters` with ``X=`` or through :func:`fastinit.train`.
    """

    tol: float = 0.1
    max_iter: int = 10
    base: Initializer = Orthogonal()

    def __post_init__(self):
        check_real(self.tol, "tol", positive=True)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) \
                or not 1 <= self.max_iter <= 1000:
            raise ValueError(f"max_iter must be an integer in [1, 1000], got {self.max_iter!r}")
        if not isinstance(self.base, Initializer) or isinstance(self.base, LSUV):
            raise TypeError(f"base must be a data-independent Initializer, got {self.base!r}")

    def __call__(self, shape, rng):
        return self.base(shape, rng)

    def bias(self, shape, rng):
        return self.base.bias(shape, rng)

    def refine(self, parameters: dict, X: np.ndarray, activation: str = "relu",
               negative_slope: float = 0.01) -> "LSUVReport":
        """Rescale ``parameters`` in place, layer by layer; returns what it did."""
        from .layers import activation_forward, linear_forward

        L = len(parameters) // 2
        A = X
        variances_before, variances_after, steps = [], [], []
        for l in range(1, L + 1):
            W, b = parameters[f"W{l}"], parameters[f"b{l}"]
            Z = linear_forward(A, W, b)
            variances_before.append(float(Z.var()))
            n = 0
            while n < self.max_iter and abs(Z.var() - 1.0) >= self.tol and Z.var() > 0:
                W /= W.dtype.type(np.sqrt(Z.var()))
                Z = linear_forward(A, W, b)
                n += 1
            variances_after.append(float(Z.var()))
            steps.append(n)
            if l < L:
                A = activation_forward(Z, activation, negative_slope)
        return LSUVReport(np.array(variances_before), np.array(variances_after),
                          np.array(steps), self.tol)


@dataclass(frozen=True)
class LSUVReport:
    """What :class:`LSUV` did, per layer (layer ``l`` at index ``l - 1``)."""

    variance_before: np.ndarray
    variance_after: np.ndarray
    rescalings: np.ndarray
    tol: float

    @property
    def converged(self) -> np.ndarray:
        """Per layer: did the output variance end within ``tol`` of 1?"""
        return np.abs(self.variance_after - 1.0) < self.tol

    def __str__(self) -> str:
        lines = [f"LSUV (tol {self.tol}): layer, var(Z) before -> after, rescalings"]
        for l, (vb, va, n) in enumerate(zip(self.variance_before, self.variance_after,
                                            self.rescalings), start=1):
            lines.append(f"  {l:>3}  {vb:12.6g} -> {va:10.6g}  {n}")
        return "\n".join(lines)


#: name -> factory of the default initializer of that name (read-only: pass
#: your own Initializer objects directly instead of registering them)
INITIALIZERS: MappingProxyType = MappingProxyType({
    "zeros": Zeros,
    "constant": Constant,
    "normal": Normal,
    "uniform": lambda: Uniform(0.0, 1.0),
    "random_normal": lambda: Normal(std=0.05),
    "random_uniform": lambda: Uniform(-0.05, 0.05),
    "truncated_normal": lambda: TruncatedNormal(std=0.05),
    "trunc_normal": lambda: TruncatedNormal(std=1.0),
    "random": lambda: Normal(std=10.0),
    "he": lambda: VarianceScaling(2.0, "fan_in", "normal"),
    "he_normal": lambda: VarianceScaling(2.0, "fan_in", "truncated_normal"),
    "kaiming_normal": lambda: VarianceScaling(2.0, "fan_in", "normal"),
    "he_uniform": lambda: VarianceScaling(2.0, "fan_in", "uniform"),
    "kaiming_uniform": lambda: VarianceScaling(2.0, "fan_in", "uniform"),
    "xavier": lambda: VarianceScaling(1.0, "fan_in", "normal"),
    "xavier_normal": lambda: VarianceScaling(1.0, "fan_avg", "normal"),
    "glorot_normal": lambda: VarianceScaling(1.0, "fan_avg", "truncated_normal"),
    "xavier_uniform": lambda: VarianceScaling(1.0, "fan_avg", "uniform"),
    "glorot_uniform": lambda: VarianceScaling(1.0, "fan_avg", "uniform"),
    "lecun_normal": lambda: VarianceScaling(1.0, "fan_in", "truncated_normal"),
    "lecun_uniform": lambda: VarianceScaling(1.0, "fan_in", "uniform"),
    "variance_scaling": VarianceScaling,
    "orthogonal": Orthogonal,
    "identity": Identity,
    "lsuv": LSUV,
    "sklearn": ScikitLearn,
})

def get_initializer(init: str | Initializer) -> Initializer:
    """The initializer object for a registered name (or ``init`` itself)."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]()
    if isinstance(init, str):
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)} or an Initializer, got {init!r}")
    raise TypeError(f"init must be a registered name or an Initializer, got {type(init).__name__}")


def describe(init: str | Initializer) -> str:
    """A short comment on an initializer, for result tables (each
    initializer's ``comment``: the one place the comments live)."""
    return get_initializer(init).comment


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain of an activation, PyTorch's ``calculate_gain``.

    ``linear``, ``identity`` and ``sigmoid``: 1; ``tanh``: 5/3; ``relu``: √2;
    ``leaky_relu``: √(2 / (1 + slope²)) with ``param`` the negative slope
    (default 0.01); ``selu``: 3/4.  The registry's other activations (gelu,
    gelu_tanh, silu, elu) have no gain PyTorch documents: a ``ValueError``
    says so, as PyTorch refuses them.
    """
    from .activations import ACTIVATIONS

    if nonlinearity == "selu":
        return 0.75
    if nonlinearity == "identity":
        nonlinearity = "linear"
    entry = ACTIVATIONS.get(nonlinearity) if isinstance(nonlinearity, str) else None
    if entry is None or entry.gain is None:
        known = [n for n, a in ACTIVATIONS.items() if a.gain is not None] + ["identity", "selu"]
        undocumented = "" if entry is None else " (PyTorch documents no gain for it)"
        raise ValueError(f"nonlinearity must be one of {known}{undocumented}, got {nonlinearity!r}")
    slope = 0.01 if param is None else check_real(param, "param")
    return entry.gain(slope)


def initialize_parameters(
    layers_dims: Sequence[int],
    init: str | Initializer = "he",
    seed: int | None = DEFAULT_SEED,
    dtype: Any = np.float64,
    X: Any = None,
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> dict[str, np.ndarray]:
    """Initial parameters of a fully-connected network.

    Parameters
    ----------
    layers_dims : sequence of int
        Layer sizes, input first: ``[n_x, n_1, ..., n_L]``.
    init : str or Initializer, default "he"
        A name of :data:`INITIALIZERS` (see the module docstring) or an
        :class:`Initializer` object such as ``VarianceScaling(2, "fan_avg")``.
    seed : int or None, default 3
        Seed of the local generator (3 reproduces the seed notebook); None
        draws fresh entropy from the operating system.
    dtype : float32 or float64, default float64
        Draws are made in float64 and then cast, so float32 parameters are the
        float64 ones rounded.
    X : array_like of shape (n_x, m), optional
        Data for data-dependent initializers (``"lsuv"``); required by them,
        ignored by the others.
    activation, negative_slope
        The hidden activation the data-dependent initializers assume.

    Returns
    -------
    dict
        ``"W1"`` of shape (n_1, n_x), ``"b1"`` of shape (n_1, 1), ..., ``"WL"``,
        ``"bL"``.
    """
    dims = check_layers_dims(layers_dims)
    initializer = get_initializer(init)
    dtype = resolve_dtype(dtype)
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    # float64 draws of the widest layer, then every parameter in dtype
    check_memory(8 * 2 * max(dims[l] * dims[l - 1] for l in range(1, len(dims)))
                 + n_params * dtype.itemsize, f"layers_dims {dims}")
    rng = np.random.RandomState(check_seed(seed))
    parameters = {}
    for l in range(1, len(dims)):
        shape = (dims[l], dims[l - 1])
        W = np.asarray(initializer(shape, rng), dtype=np.float64)
        if W.shape != shape or not np.isfinite(W).all():
            raise ValueError(f"init {initializer!r} returned an array of shape {W.shape} "
                             f"(expected {shape}) or with non-finite values")
        with np.errstate(over="ignore"):
            W = np.ascontiguousarray(W, dtype=dtype)
        if not np.isfinite(W).all():
            raise ValueError(f"init {initializer!r} gives layer {l} weights too large for "
                             f"{dtype}: they overflow to inf")
        b = np.asarray(initializer.bias(shape, rng), dtype=np.float64)
        if b.shape != (dims[l], 1) or not np.isfinite(b).all():
            raise ValueError(f"init {initializer!r} returned biases of shape {b.shape} "
                             f"(expected {(dims[l], 1)}) or with non-finite values")
        parameters[f"W{l}"] = W
        parameters[f"b{l}"] = np.ascontiguousarray(b, dtype=dtype)
    if isinstance(initializer, LSUV):
        if X is None:
            raise ValueError("init 'lsuv' is data-dependent: pass the training data as X")
        X = check_array(X, "X", dtype)
        check_features(X, dims[0])
        initializer.refine(parameters, X, *check_activation(activation, negative_slope))
    return parameters


def lsuv(
    layers_dims: Sequence[int],
    X: Any,
    seed: int | None = DEFAULT_SEED,
    dtype: Any = np.float64,
    tol: float = 0.1,
    max_iter: int = 10,
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> tuple[dict[str, np.ndarray], LSUVReport]:
    """LSUV initialization with its report (see :class:`LSUV`).

    Returns
    -------
    parameters : dict
    report : LSUVReport
        Per layer: the output variance before and after, and the number of
        rescalings made.
    """
    init = LSUV(tol=tol, max_iter=max_iter)
    parameters = initialize_parameters(layers_dims, init.base, seed=seed, dtype=dtype)
    X = check_array(X, "X", np.dtype(parameters["W1"].dtype))
    check_features(X, len(parameters["W1"][0]))
    report = init.refine(parameters, X, *check_activation(activation, negative_slope))
    return parameters, report


def initialize_parameters_zeros(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """All weights and biases zero (the seed's ``initialize_parameters_zeros``,
    with the correct shapes ``(n_l, n_{l-1})`` its expected output shows)."""
    return initialize_parameters(layers_dims, "zeros")


def initialize_parameters_random(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """Large random weights ``randn * 10``, seed 3 (the seed's
    ``initialize_parameters_random``)."""
    return initialize_parameters(layers_dims, "random")


def initialize_parameters_he(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """He initialization ``randn * sqrt(2 / n_{l-1})``, seed 3 (the seed's
    ``initialize_parameters_he``)."""
    return initialize_parameters(layers_dims, "he")


def initialize_parameters_xavier(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """The notebook's Xavier initialization ``randn * sqrt(1 / n_{l-1})``, seed 3."""
    return initialize_parameters(layers_dims, "xavier")
