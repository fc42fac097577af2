# Stub of the compiled kernel modules (_kernels_baseline and, on x86-64,
# _kernels_avx2 and _kernels_avx512, which share one source: the tiers
# _kernels_{scalar,blocks,optim,dropout,layers,fused,network}.pxi and
# _microkernels.h).  The fused loops take the network as ``net`` (a
# fastinit.engines.spec.NetworkSpec) and their buffers as ``work`` (a Workspace).  The
# kernels of tiers 1-4 take float32 or float64 arrays (one dtype per call),
# C-contiguous, with the shapes documented in the source; outputs are written
# in place.  The network passes (tier 5) take the caller's objects and return
# None for anything they would have to convert.  mypy.stubtest holds every
# public name and signature here to the built modules (tests/test_stubs.py).
from typing import Any

import numpy as np
import numpy.typing as npt

_F = npt.NDArray[np.floating]

BLOCK_SIZE: int
LANE_COUNT: int
CHUNK_EXAMPLES: int
OPENMP: bool
FMA: bool
VECTOR_BYTES: int
ACTIVATION_CODES: dict[str, int]
NEEDS_Z: frozenset[int]
LAYOUT_COLUMNS: dict[str, int]
LOSS_CODES: dict[str, int]
OPTIMIZER_CODES: dict[str, int]
SCHEDULE_CODES: dict[str, int]
VARIANT_CODES: dict[str, int]
HYPER_FIELDS: dict[str, int]

def activation_buffer_size(layout: npt.NDArray[np.intp]) -> int: ...
def cpu_has_avx2() -> bool: ...
def cpu_has_avx512() -> bool: ...
def fma_peak_gflops(dtype_size: int, seconds: float = ...) -> float: ...

def chunking(m: int) -> tuple[int, int]: ...

def linear_forward(W: _F, b: _F, A: _F, Z: _F) -> None: ...
def output_gradient(AL: _F, Y: _F, dZ: _F) -> None: ...
def linear_backward(W: _F, dZ: _F, A: _F, dA: _F, lanes: _F, grads: _F) -> None: ...
def binary_cross_entropy(AL: _F, Y: _F) -> float: ...
def binary_cross_entropy_from_logits(ZL: _F, Y: _F) -> float: ...
def gradient_step(theta: _F, grad: _F, learning_rate: float) -> None: ...
def train_full_batch(
    net: Any,
    work: Any,
    X: _F,
    Y: _F,
    theta: _F,
    hyper: npt.NDArray[np.float64],
    state: _F,
    first_step: int,
    n_iter: int,
    record_first: bool,
    n_threads: int,
) -> float: ...
def train_models(
    net: Any,
    work: Any,
    X: _F,
    Y: _F,
    thetas: _F,
    hypers: npt.NDArray[np.float64],
    states: _F,
    first_step: int,
    n_iter: int,
    record_first: bool,
    n_threads: int,
    costs: _F,
    dropout_seeds: npt.NDArray[np.uint64] | None = ...,
) -> None: ...
def activation_forward(Z: _F, A: _F, act: int, slope: float) -> None: ...
def activation_backward(dA: _F, A: _F, dZ: _F, act: int, slope: float) -> None: ...
def softmax_forward(Z: _F, P: _F) -> None: ...
def bias_activation(Z: _F, b: _F, act: int, slope: float) -> None: ...
def output_gradient_from_logits(Z: _F, Y: _F, loss: int, dZ: _F) -> None: ...
def loss_from_logits(ZL: _F, Y: _F, loss: int) -> float: ...
def optimizer_update(theta: _F, grad: _F, state: _F, hyper: npt.NDArray[np.float64], t: int,
                     layout: npt.NDArray[np.intp], m: int) -> float: ...
def optimizer_slots(hyper: npt.NDArray[np.float64]) -> int: ...
def scheduled_lr(hyper: npt.NDArray[np.float64], t: int) -> float: ...
def dropout_apply(A: _F, keep: npt.NDArray[np.float64], layer: int, seed: int,
                  step: int) -> None: ...
def categorical_cross_entropy(AL: _F, Y: _F) -> float: ...
def categorical_cross_entropy_from_logits(ZL: _F, Y: _F) -> float: ...
def activation_statistics(
    net: Any, X: _F, theta: _F, sums: npt.NDArray[np.float64], alive: _F, acts: _F,
) -> None: ...
def dataset_cost(
    net: Any, work: Any, X: _F, Y: _F, theta: _F, n_threads: int, l2: float = ...,
) -> float: ...
def epoch_order(seed: int, epoch: int, order: npt.NDArray[np.intp]) -> None: ...
def train_minibatch(
    net: Any,
    work: Any,
    X: _F,
    Y: _F,
    theta: _F,
    hyper: npt.NDArray[np.float64],
    state: _F,
    batch_size: int,
    first_step: int,
    n_steps: int,
    seed: int,
    order: npt.NDArray[np.intp],
    order_epoch: int,
    n_threads: int,
    X_batch: _F,
    Y_batch: _F,
    batch_losses: _F | None = ...,
    epoch_origin: int = ...,
) -> int: ...
def network_forward(X: Any, parameters: Any, act: int, slope: float, cache: bool = ...,
                    n_threads: int = ...) -> tuple[Any, ...] | _F | None: ...
def network_backward(X: Any, Y: Any, cache: Any, act: int, slope: float,
                     n_threads: int = ...) -> dict[str, _F] | None: ...
def network_update(parameters: Any, grads: Any, learning_rate: float) -> dict[str, _F] | None: ...
def network_loss(AL: Any, Y: Any) -> float | None: ...
