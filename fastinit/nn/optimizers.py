"""Optimizers and learning-rate schedules of the compiled training loops.

An optimizer here is a small frozen description: which update, with which
hyper-parameters.  :func:`fastinit.train` turns it (with the schedule, the L2
penalty and gradient clipping) into the compiled kernels' hyper-parameter
vector (:meth:`Optimizer.hyper`), allocates its state (the moments, one value
per parameter per slot: :meth:`Optimizer.initial_state`) and the fused loop
updates both every step.  Each name means its framework's algorithm, as
``torch.optim`` documents it:

=========  ==============================================================
``sgd``    :class:`SGD`: momentum (first step: buffer = g), dampening,
           Nesterov, weight decay added to the gradient
``rmsprop`` :class:`RMSprop`: alpha, eps outside the square root,
           ``centered``, momentum, weight decay
``adam``   :class:`Adam`: bias-corrected moments, eps added to
           sqrt(v_hat), weight decay added to the gradient (L2), ``amsgrad``
           (the running maximum of v, then bias-corrected: torch's code)
``adamw``  :class:`AdamW`: Adam with decoupled weight decay
           (theta -= lr * weight_decay * theta before the moments)
``adagrad`` :class:`Adagrad`: lr / (1 + (t - 1) lr_decay), accumulated
           squares starting at ``initial_accumulator_value``
=========  ==============================================================

``variant="sklearn"`` selects scikit-learn's MLP form of the same kernel where
it differs: its momentum SGD keeps a velocity v = momentum v - lr g (the
learning rate inside the velocity; Nesterov adds momentum v - lr g), and its
Adam takes lr sqrt(1 - beta2^t) / (1 - beta1^t) as the step size and adds eps
to sqrt(v) (not to sqrt(v_hat)).  For a constant learning rate and no
weight decay, scikit-learn's momentum SGD takes the same steps as PyTorch's
except for the first (PyTorch's buffer starts at g, the velocity at 0).

Schedules (:data:`SCHEDULES`) give the learning rate of step t = 1, 2, ...
(mini-batch steps or full-batch iterations): PyTorch's ``StepLR``,
``ExponentialLR`` and ``CosineAnnealingLR`` (closed form) with the step count
as their counter, and scikit-learn's inverse scaling lr / t^power_t.

Adding an optimizer: an update routine in ``_kernels_optim.pxi`` (a code in
``OPTIMIZER_CODES``, its state rows in ``_slots_of``), its NumPy twin in
:mod:`fastinit.engines.reference` (``optimizer_step``) and a class plus a registry
entry here.  The tests parametrize over :data:`OPTIMIZERS`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Mapping

import numpy as np

from .._core._simd import kernels as _kernels
from .._validation import check_interval as _real

_H = _kernels.HYPER_FIELDS


def _count(value: Any, name: str) -> int:
    """An int in [1, 2^53] (the kernels read it from a float64 vector)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int in [1, 2**53], got {value!r}")
    if not 1 <= value <= 2 ** 53:
        raise ValueError(f"{name} must be an int in [1, 2**53], got {value!r}")
    return int(value)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """The learning rate of step t from the optimizer's ``lr`` (base class:
    constant)."""

    name: ClassVar[str] = "constant"

    def fill(self, hyper: np.ndarray) -> None:
        """Write this schedule's fields into a hyper-parameter vector."""
        hyper[_H["schedule"]] = _kernels.SCHEDULE_CODES[self.name]

    def lr_at(self, lr: float, t: int) -> float:
        """The learning rate of step t (1 for the first), as the kernels use it."""
        return float(np.float64(lr))

    def params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Constant(Schedule):
    """lr at every step."""

    name: ClassVar[str] = "constant"


@dataclass(frozen=True)
class StepLR(Schedule):
    """PyTorch's StepLR: lr * gamma ** ((t - 1) // step_size)."""

    step_size: int = 1000
    gamma: float = 0.1
    name: ClassVar[str] = "step"

    def __post_init__(self) -> None:
        _count(self.step_size, "step_size")
        _real(self.gamma, "gamma", 0, 1, low_open=True)

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["step_size"]], hyper[_H["gamma"]] = self.step_size, self.gamma

    def lr_at(self, lr: float, t: int) -> float:
        return lr * self.gamma ** ((t - 1) // self.step_size)


@dataclass(frozen=True)
class ExponentialLR(Schedule):
    """PyTorch's ExponentialLR: lr * gamma ** (t - 1)."""

    gamma: float = 0.999
    name: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        _real(self.gamma, "gamma", 0, 1, low_open=True)

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["gamma"]] = self.gamma

    def lr_at(self, lr: float, t: int) -> float:
        return lr * self.gamma ** (t - 1)


@dataclass(frozen=True)
class InvScaling(Schedule):
    """Inverse scaling, lr / t ** power_t with t the step count: the formula
    of scikit-learn's SGDClassifier (its MLP applies it once per epoch with
    t the number of samples seen)."""

    power_t: float = 0.5
    name: ClassVar[str] = "invscaling"

    def __post_init__(self) -> None:
        _real(self.power_t, "power_t", 0)

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["power_t"]] = self.power_t

    def lr_at(self, lr: float, t: int) -> float:
        return lr / float(t) ** self.power_t


@dataclass(frozen=True)
class CosineAnnealing(Schedule):
    """PyTorch's CosineAnnealingLR (closed form, T_cur = t - 1):
    eta_min + (lr - eta_min) (1 + cos(pi (t - 1) / t_max)) / 2."""

    t_max: int = 15000
    eta_min: float = 0.0
    name: ClassVar[str] = "cosine"

    def __post_init__(self) -> None:
        _count(self.t_max, "t_max")
        _real(self.eta_min, "eta_min", 0)

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["t_max"]], hyper[_H["eta_min"]] = self.t_max, self.eta_min

    def lr_at(self, lr: float, t: int) -> float:
        return self.eta_min + (lr - self.eta_min) * (1 + math.cos(math.pi * (t - 1) / self.t_max)) / 2


#: every schedule, by name
SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Constant, StepLR, ExponentialLR, InvScaling, CosineAnnealing)}


def get_schedule(schedule: str | Schedule | None) -> Schedule:
    """A schedule object from a name of :data:`SCHEDULES` (default
    hyper-parameters), an object, or None (constant)."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str) and schedule in SCHEDULES:
        return SCHEDULES[schedule]()
    raise ValueError(f"schedule must be one of {list(SCHEDULES)} or a Schedule object, "
                     f"got {schedule!r}")


# ---------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------

VARIANTS = tuple(_kernels.VARIANT_CODES)


@dataclass(frozen=True)
class Optimizer:
    """Base of the optimizers: ``lr`` (None: the ``learning_rate`` of
    :func:`fastinit.train`) and ``weight_decay``.  Subclasses set ``name``
    (the registry key), ``code`` (the kernels' optimizer) and their fields."""

    lr: float | None = None
    weight_decay: float = 0.0
    name: ClassVar[str] = ""
    kernel: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.lr is not None:
            _real(self.lr, "lr", 0, low_open=True)
        _real(self.weight_decay, "weight_decay", 0)

    def with_lr(self, learning_rate: float) -> "Optimizer":
        """This optimizer with ``lr`` set (where it was None)."""
        return self if self.lr is not None else replace(self, lr=float(learning_rate))

    def fill(self, hyper: np.ndarray) -> None:
        """Write this optimizer's fields into a hyper-parameter vector."""
        hyper[_H["kind"]] = _kernels.OPTIMIZER_CODES[self.kernel]
        hyper[_H["lr"]] = self.lr
        hyper[_H["weight_decay"]] = self.weight_decay

    def hyper(self, schedule: Schedule | None = None, l2: float = 0.0,
              clip_norm: float | None = None) -> np.ndarray:
        """The kernels' hyper-parameter vector (float64, ``HYPER_FIELDS``)."""
        if self.lr is None:
            raise ValueError(f"{type(self).__name__} has no lr: call with_lr first")
        hyper = np.zeros(len(_H), dtype=np.float64)
        self.fill(hyper)
        (schedule or Constant()).fill(hyper)
        hyper[_H["l2"]] = l2
        hyper[_H["clip"]] = clip_norm or 0.0
        return hyper

    @property
    def n_slots(self) -> int:
        """Rows of state (one value per parameter each) the update keeps."""
        return int(_kernels.optimizer_slots(self.with_lr(1.0).hyper()))

    def initial_state(self, n_params: int, dtype: Any) -> np.ndarray:
        """The state before the first step: (max(n_slots, 1), n_params) zeros."""
        return np.zeros((max(self.n_slots, 1), n_params), dtype=dtype)

    def params(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments of the class."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    #: state rows that hold sums or averages of squares (never negative)
    squares_rows: ClassVar[tuple[int, ...]] = ()

    def check_state(self, step: Any, slots: np.ndarray, n_params: int, dtype: Any,
                    name: str = "optimizer_state") -> None:
        """A state (``step``, ``slots``) this optimizer can resume from, for
        ``n_params`` parameters of ``dtype``; ValueError naming what is wrong."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"{name}.step must be an integer, got {step!r}")
        if not 0 <= step < 2**63:
            raise ValueError(f"{name}.step must be >= 0 and below 2**63, got {step}")
        rows = self.initial_state(0, dtype).shape[0]
        if slots.shape != (rows, n_params):
            raise ValueError(f"{name}.slots must have shape {(rows, n_params)} ({rows} state "
                             f"row{'s' if rows > 1 else ''} of {self.name!r}, {n_params} "
                             f"parameters), got {slots.shape}")
        if slots.dtype != np.dtype(dtype):
            raise ValueError(f"{name}.slots has dtype {slots.dtype}, the parameters "
                             f"{np.dtype(dtype)}")
        if not np.isfinite(slots).all():
            raise ValueError(f"{name}.slots must contain only finite values")
        for row in self.squares_rows:
            if row < rows and (slots[row] < 0).any():
                raise ValueError(f"{name}.slots[{row}] holds squares of gradients (of "
                                 f"{self.name!r}) and must not be negative")



@dataclass(frozen=True)
class SGD(Optimizer):
    """torch.optim.SGD: with ``momentum`` mu, ``dampening`` tau, ``nesterov``:
    b = g on the first step, else mu b + (1 - tau) g; the step takes
    g + mu b (Nesterov) or b.  ``variant="sklearn"``: scikit-learn's velocity
    v = mu v - lr g, theta += v (or mu v - lr g with Nesterov); dampening is
    then not used."""

    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    variant: str = "torch"
    name: ClassVar[str] = "sgd"
    kernel: ClassVar[str] = "sgd"

    def __post_init__(self) -> None:
        super().__post_init__()
        _real(self.momentum, "momentum", 0, 1, high_open=True)
        _real(self.dampening, "dampening", 0, 1)
        _flag(self.nesterov, "nesterov")
        _check_variant(self.variant)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True requires momentum > 0 and dampening = 0 "
                             "(as torch.optim.SGD)")

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["momentum"]], hyper[_H["dampening"]] = self.momentum, self.dampening
        hyper[_H["nesterov"]] = self.nesterov
        hyper[_H["variant"]] = _kernels.VARIANT_CODES[self.variant]



@dataclass(frozen=True)
class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2 (minus the squared
    running mean of g when ``centered``); step g / (sqrt(v) + eps), through a
    momentum buffer when ``momentum`` > 0."""

    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False
    name: ClassVar[str] = "rmsprop"
    kernel: ClassVar[str] = "rmsprop"
    squares_rows: ClassVar[tuple[int, ...]] = (0,)

    def __post_init__(self) -> None:
        super().__post_init__()
        _real(self.alpha, "alpha", 0, 1, high_open=True)
        _real(self.eps, "eps", 0, low_open=True)
        _real(self.momentum, "momentum", 0, 1, high_open=True)
        _flag(self.centered, "centered")

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["beta2"]], hyper[_H["eps"]] = self.alpha, self.eps
        hyper[_H["momentum"]], hyper[_H["flag"]] = self.momentum, self.centered


@dataclass(frozen=True)
class Adam(Optimizer):
    """torch.optim.Adam: m, v the moving averages of g and g^2 (betas),
    step lr m_hat / (sqrt(v_hat) + eps) with the bias-corrected moments;
    ``weight_decay`` is added to the gradient (L2); ``amsgrad`` steps with
    the running maximum of v_hat.  ``variant="sklearn"``: scikit-learn's
    step size lr sqrt(1 - beta2^t) / (1 - beta1^t) and sqrt(v) + eps."""

    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    amsgrad: bool = False
    variant: str = "torch"
    name: ClassVar[str] = "adam"
    kernel: ClassVar[str] = "adam"
    decoupled: ClassVar[bool] = False
    squares_rows: ClassVar[tuple[int, ...]] = (1, 2)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        object.__setattr__(self, "betas", (
            _real(self.betas[0], "betas[0]", 0, 1, high_open=True),
            _real(self.betas[1], "betas[1]", 0, 1, high_open=True)))
        _real(self.eps, "eps", 0, low_open=True)
        _flag(self.amsgrad, "amsgrad")
        _check_variant(self.variant)
        if self.amsgrad and self.variant == "sklearn":
            raise ValueError("amsgrad is not part of scikit-learn's Adam (variant='sklearn')")

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["beta1"]], hyper[_H["beta2"]] = self.betas
        hyper[_H["eps"]], hyper[_H["flag"]] = self.eps, self.amsgrad
        hyper[_H["decoupled"]] = self.decoupled
        hyper[_H["variant"]] = _kernels.VARIANT_CODES[self.variant]


@dataclass(frozen=True)
class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (theta -= lr
    weight_decay theta before the moments), weight_decay 0.01 by default."""

    weight_decay: float = 0.01
    name: ClassVar[str] = "adamw"
    decoupled: ClassVar[bool] = True


@dataclass(frozen=True)
class Adagrad(Optimizer):
    """torch.optim.Adagrad: lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps)
    with s the sum of g^2 from ``initial_accumulator_value``."""

    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    name: ClassVar[str] = "adagrad"
    kernel: ClassVar[str] = "adagrad"
    squares_rows: ClassVar[tuple[int, ...]] = (0,)

    def __post_init__(self) -> None:
        super().__post_init__()
        _real(self.lr_decay, "lr_decay", 0)
        _real(self.initial_accumulator_value, "initial_accumulator_value", 0)
        _real(self.eps, "eps", 0, low_open=True)

    def fill(self, hyper: np.ndarray) -> None:
        super().fill(hyper)
        hyper[_H["lr_decay"]], hyper[_H["eps"]] = self.lr_decay, self.eps

    def initial_state(self, n_params: int, dtype: Any) -> np.ndarray:
        return np.full((1, n_params), self.initial_accumulator_value, dtype=dtype)


def _check_variant(variant: Any) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")


#: every optimizer, by name (what ``optimizer=`` takes)
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad)}


def get_optimizer(optimizer: str | Optimizer | None,
                  options: Mapping[str, Any] | None = None) -> Optimizer:
    """An optimizer object from a name of :data:`OPTIMIZERS` (with
    ``options`` as keyword arguments), an object, or None (plain gradient
    descent, :class:`SGD`)."""
    if isinstance(optimizer, Optimizer):
        if options:
            return replace(optimizer, **options)
        return optimizer
    if optimizer is None:
        optimizer = "sgd"
    if isinstance(optimizer, str) and optimizer in OPTIMIZERS:
        try:
            return OPTIMIZERS[optimizer](**dict(options or {}))
        except TypeError as exc:
            if "unexpected keyword" in str(exc):
                raise TypeError(f"optimizer {optimizer!r}: {exc}") from None
            raise
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)} or an Optimizer object, "
                     f"got {optimizer!r}")


@dataclass
class OptimizerState:
    """What an optimizer carries from step to step: the number of steps
    taken (the schedule's and the bias corrections' counter) and the state
    rows (``slots``, shape (max(n_slots, 1), n_params), in the flat parameter
    order of the compiled loops: W1, b1, W2, b2, ...).  :func:`fastinit.train`
    returns it in ``TrainingResult.optimizer_state`` and takes it back
    (``optimizer_state=``) to resume exactly."""

    optimizer: Optimizer
    step: int
    slots: np.ndarray = field(repr=False)

    def copy(self) -> "OptimizerState":
        return OptimizerState(self.optimizer, self.step, self.slots.copy())
