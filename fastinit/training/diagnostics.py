"""Per-layer diagnostics: why an initialization trains well or not.

For each layer: the mean and standard deviation of its activations, the
fraction of dead units (ReLU / leaky ReLU units never positive on the data),
the fraction of saturated activations (tanh beyond ±0.99, sigmoid and output
probabilities outside [0.01, 0.99]) and the Frobenius norm of the gradient of
its weights.  The activation statistics come from one compiled forward pass
(``_kernels.activation_statistics``); :func:`fastinit.train` records them at
every recording point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..engines.spec import B_OFFSET, N_OUT, W_OFFSET, aligned_rows
from .._core._simd import kernels as _kernels
from .._validation import check_activation, check_array, check_features, check_parameters

FIELDS = ("activation_mean", "activation_std", "dead_fraction", "saturated_fraction", "grad_norm")


@dataclass(frozen=True)
class Diagnostics:
    """Per-layer diagnostics at recorded iterations.

    Attributes
    ----------
    iterations : ndarray of shape (n_records,)
    activation_mean, activation_std : ndarray of shape (n_records, L)
        Over all units and examples of each layer (layer ``l`` is column ``l - 1``).
    dead_fraction : ndarray of shape (n_records, L)
        Fraction of the layer's units that are never positive on the data
        (meaningful for ReLU / leaky ReLU: a dead unit passes no gradient).
    saturated_fraction : ndarray of shape (n_records, L)
        Fraction of activations in the flat tails of tanh / sigmoid / the output.
    grad_norm : ndarray of shape (n_records, L)
        ``||dW[l]||`` (Frobenius) of the gradient the update used at that
        iteration (with the L2 penalty's term, after clipping).
    """

    iterations: np.ndarray
    activation_mean: np.ndarray
    activation_std: np.ndarray
    dead_fraction: np.ndarray
    saturated_fraction: np.ndarray
    grad_norm: np.ndarray

    def table(self) -> list[dict[str, Any]]:
        """One dict per (iteration, layer): a tidy table (``pandas.DataFrame(d.table())``)."""
        rows = []
        for r, iteration in enumerate(self.iterations):
            for l in range(self.activation_mean.shape[1]):
                row: dict[str, Any] = {"iteration": int(iteration), "layer": l + 1}
                row.update({name: float(getattr(self, name)[r, l]) for name in FIELDS})
                rows.append(row)
        return rows

    def __str__(self) -> str:
        head = f"{'iteration':>9} {'layer':>5} " + " ".join(f"{n:>18}" for n in FIELDS)
        lines = [head]
        for row in self.table():
            lines.append(f"{row['iteration']:>9} {row['layer']:>5} "
                         + " ".join(f"{row[n]:>18.6g}" for n in FIELDS))
        return "\n".join(lines)


def layer_statistics(X, theta, net):
    """(L, 4) array: mean, std, dead fraction, saturated fraction per layer
    of the network ``net`` (a :class:`~fastinit.engines.spec.NetworkSpec`)."""
    layout = net.layout
    L = layout.shape[0]
    sums = np.empty((L, 3))
    alive = np.empty(int(layout[:, N_OUT].sum()), dtype=theta.dtype)
    acts = aligned_rows(1, net.act_size, theta.dtype)[0]  # as a thread's row of the workspace
    _kernels.activation_statistics(net=net, X=X, theta=theta, sums=sums, alive=alive, acts=acts)
    out = np.empty((L, 4))
    with np.errstate(all="ignore"):  # diverging runs: inf/nan statistics are the diagnosis
        _fill_statistics(out, sums, alive, layout, X.shape[1])
    return out


def _fill_statistics(out, sums, alive, layout, m):
    unit0 = 0
    for l, n_out in enumerate(layout[:, N_OUT]):
        count = n_out * m
        mean = sums[l, 0] / count
        out[l, 0] = mean
        out[l, 1] = np.sqrt(max(sums[l, 1] / count - mean * mean, 0.0))
        out[l, 2] = 1.0 - alive[unit0:unit0 + n_out].mean()
        out[l, 3] = sums[l, 2] / count
        unit0 += n_out


def gradient_norms(grad: np.ndarray, layout: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.array([np.linalg.norm(grad[row[W_OFFSET]:row[B_OFFSET]].astype(np.float64))
                         for row in layout])


def stack_records(iterations, records) -> Diagnostics:
    """Diagnostics from per-record (L, 5) arrays."""
    data = np.array(records).reshape(len(records), -1, len(FIELDS))
    return Diagnostics(np.asarray(iterations, dtype=np.int64),
                       *(np.ascontiguousarray(data[:, :, i]) for i in range(len(FIELDS))))


def diagnose(
    parameters: Mapping[str, ArrayLike],
    X: ArrayLike,
    Y: ArrayLike,
    activation: str = "relu",
    negative_slope: float = 0.01,
) -> Diagnostics:
    """The diagnostics of a network as it stands (one record, iteration 0).

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., e.g. straight from an initializer.
    X : array_like of shape (n_x, m)
    Y : array_like of shape (1, m)
        Labels, for the gradient norms.
    activation, negative_slope
        The hidden activation.

    Returns
    -------
    Diagnostics
    """
    from ..nn.network import backward_propagation, forward_propagation
    from ..engines.spec import network_spec, pack
    from ..nn.losses import get_loss

    activation, negative_slope = check_activation(activation, negative_slope)
    dims, params = check_parameters(parameters)
    X = check_array(X, "X", params["W1"].dtype)
    check_features(X, dims[0])
    theta, _, _ = pack(params, dims)
    net = network_spec(dims, _kernels.ACTIVATION_CODES[activation], negative_slope,
                       get_loss(None, dims[-1]).code)
    stats = layer_statistics(X, theta, net)
    grads = backward_propagation(X, Y, forward_propagation(X, params, activation, negative_slope)[1],
                                 activation, negative_slope)
    norms = np.array([np.linalg.norm(grads[f"dW{l}"]) for l in range(1, len(dims))])
    return stack_records([0], [np.column_stack([stats, norms])])
