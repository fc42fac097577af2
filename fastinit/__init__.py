"""fastinit: weight initialization of small fully-connected networks, fast.

A compiled Cython core (forward, backward and update kernels, and a fused
training loop) under a thin Python API.  The seed notebook's ``init_utils``
names are all here, so ``from fastinit import ...`` replaces
``from init_utils import ...``.

The folders are the tiers, each importing only from the ones before it
(``tests/test_package.py`` checks):

1. ``fastinit._core``: the compiled kernels, the choice of module for this
   CPU, the thread count of a call;
2. ``fastinit.nn``: activations, initializers, losses, optimizers, layers,
   whole-network passes, gradient checks;
3. ``fastinit.engines``: the fused, mini-batch and BLAS engines, and the
   NumPy reference (which uses the registries of ``nn``);
4. ``fastinit.training``: the training loop, early stopping, diagnostics;
5. ``fastinit.io``: bundled data sets, users' data files, model files;
6. ``fastinit.studies``: experiments, sweeps, benchmarks.

The applications sit at the top level beside this public API: ``cli``
(the ``fastinit`` command), ``sklearn`` (estimators), ``plotting`` and
``compat`` (the notebook's ``model``/``predict``); ``config``, ``exceptions``
and the private helpers ``_validation`` and ``_progress`` serve every tier.
The 0.1 module paths (``fastinit.initializers`` ...) still import, with a
``DeprecationWarning`` (``fastinit._moved``).
"""
from ._version import __version__

try:
    from ._core import _kernels_baseline  # noqa: F401  (fails clearly without the compiled core)
except ImportError as exc:  # pragma: no cover - exercised only on broken installs
    raise ImportError(
        "fastinit's compiled core (fastinit._core._kernels_baseline) is not built, so fastinit cannot run: "
        "it has no pure-Python fallback. Install it with  pip install .  (or  pip install -e .  "
        "for development) from the source tree; importing the bare source tree does not work."
    ) from exc
from . import _moved
from .nn.activations import ACTIVATIONS
from .compat import model, predict
from .config import get_config, show_config
from .training.diagnostics import Diagnostics, diagnose
from .io.datasets import load_dataset, make_blobs, make_circles, make_moons, make_spiral, make_xor
from .exceptions import DivergenceWarning, TrainingDivergedError
from .nn.gradcheck import gradient_check
from .studies.experiments import (
    ComparisonRow,
    SignalPropagation,
    compare_initializations,
    format_table,
    signal_propagation,
    symmetry_lesson,
)
from .nn.initializers import (
    INITIALIZERS,
    Initializer,
    calculate_gain,
    get_initializer,
    initialize_parameters,
    initialize_parameters_he,
    initialize_parameters_random,
    initialize_parameters_xavier,
    initialize_parameters_zeros,
    lsuv,
)
from .nn.layers import relu, sigmoid
from .io.datafiles import DataFile, read_data
from .io.model_io import SavedModel, load_model, model_from_parameters, save_model
from .nn.network import (
    backward_propagation,
    compute_loss,
    forward_propagation,
    predict_dec,
    predict_labels,
    predict_proba,
    update_parameters,
)
from .plotting import (
    plot_comparison,
    plot_cost_curves,
    plot_decision_boundary,
    plot_diagnostics,
    plot_signal_propagation,
    plot_sweep,
    plot_symmetry,
)
from .studies.sweeps import SweepTable, sweep
from .training.loop import TrainingResult, train

__all__ = [
    "ACTIVATIONS",
    "__version__",
    "ComparisonRow",
    "DataFile",
    "SavedModel",
    "Diagnostics",
    "DivergenceWarning",
    "INITIALIZERS",
    "Initializer",
    "SignalPropagation",
    "SweepTable",
    "TrainingDivergedError",
    "TrainingResult",
    "backward_propagation",
    "calculate_gain",
    "compare_initializations",
    "compute_loss",
    "diagnose",
    "format_table",
    "get_config",
    "get_initializer",
    "gradient_check",
    "forward_propagation",
    "initialize_parameters",
    "initialize_parameters_he",
    "initialize_parameters_random",
    "initialize_parameters_xavier",
    "initialize_parameters_zeros",
    "load_dataset",
    "load_model",
    "lsuv",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "model",
    "model_from_parameters",
    "plot_comparison",
    "plot_cost_curves",
    "plot_decision_boundary",
    "plot_diagnostics",
    "plot_signal_propagation",
    "plot_sweep",
    "plot_symmetry",
    "predict",
    "predict_dec",
    "predict_labels",
    "predict_proba",
    "read_data",
    "relu",
    "save_model",
    "show_config",
    "signal_propagation",
    "symmetry_lesson",
    "sigmoid",
    "sweep",
    "train",
    "update_parameters",
]

_moved.install()


def __getattr__(name: str) -> object:
    """``fastinit.<old module>`` of 0.1 (see ``fastinit._moved``)."""
    return _moved.moved_attribute(name)
