"""Command line: ``fastinit compare | train | predict | bench | sweep`` (also ``python -m fastinit``).

Every output (``--out``, ``--plot``, ``--results``) is checked before the work
starts, and written atomically (sweep results are appended a record at a time);
every count is bounded (the ``MAX_*`` constants below), so that a typo cannot
start a computation that never ends.  Errors print one line naming the option
or file at fault and exit with status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from typing import Any, Sequence

import numpy as np

from .io import datasets
from .io._files import atomic_write, check_writable
from ._progress import ProgressLine
from ._version import __version__
from .studies.experiments import ComparisonRow, compare_initializations, format_table
from ._validation import output_units
from .nn.activations import ACTIVATIONS
from .nn.initializers import INITIALIZERS
from .io.datafiles import DEFAULT_LABELS, DataFile, encode_labels, is_number, read_data
from .io.model_io import MAX_LAYERS, load_model, save_model
from .nn.optimizers import OPTIMIZERS, SCHEDULES, CosineAnnealing, Schedule
from .studies.sweeps import WITH_MOMENTUM  # the optimizers that have a momentum (--momentum)
from .training.loop import train


#: largest ``--iterations`` (the seed notebook runs 15000)
MAX_ITERATIONS = 10**9
#: most trainings one ``fastinit sweep`` runs: the product of the numbers of
#: values of its grid (``--n-seeds``, ``--inits``, ..., and ``--config``'s lists)
MAX_SWEEP_CONFIGS = 10**6
#: largest ``--threads``
MAX_THREADS = 1024
#: most weights of a network trained from the command line (80 MB in float64)
MAX_WEIGHTS = 10**7
#: largest ``bench --rounds`` and ``bench --seeds``
MAX_ROUNDS = 1000
MAX_BENCH_SEEDS = 10**4
#: what ``sweep --by`` may group by besides the configuration's columns
OUTCOME_COLUMNS = ("status", "diverged")


# every count of the command line, with its bounds: (dest, minimum, maximum)
_COUNTS = {
    "compare": [("iterations", 0, MAX_ITERATIONS)],
    "train": [("iterations", 0, MAX_ITERATIONS), ("patience", 1, MAX_ITERATIONS)],
    "bench": [("iterations", 0, MAX_ITERATIONS), ("rounds", 1, MAX_ROUNDS),
              ("seeds", 1, MAX_BENCH_SEEDS)],
    "sweep": [("iterations", 0, MAX_ITERATIONS), ("n_seeds", 1, MAX_SWEEP_CONFIGS)],
}
_POSITIVE = ("learning_rate", "learning_rates", "threshold", "clip_norm")
# every real number that may be 0 and has no upper bound
_NON_NEGATIVE = ("l2", "weight_decay")
#: the losses of ``train``: its labels are classes (mse needs real targets)
TRAIN_LOSSES = ("binary_cross_entropy", "categorical_cross_entropy")


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def layer_sizes(text: str) -> list[int]:
    """``"10,5"`` -> ``[10, 5]``: one network's hidden layer sizes, the one
    syntax of ``--layers`` in every subcommand."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes (integers >= 1) separated by commas, such as 10,5; "
            f"got {text!r}")
    return sizes


def _check_options(args) -> None:
    """Refuse counts out of bounds, thread counts and rates the library would
    refuse later (or that would never finish), before any work."""
    if args.command == "train":
        if len(args.layers) != 1:
            raise ValueError(f"--layers takes one network's sizes, comma-separated, such as "
                             f"--layers {','.join(str(n) for sizes in args.layers for n in sizes)}"
                             f" (several networks are for sweep)")
        args.layers = args.layers[0]
    for dest, minimum, maximum in _COUNTS.get(args.command, []):
        value = getattr(args, dest)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not minimum <= v <= maximum:
                raise ValueError(f"{_option(dest)} must be >= {minimum} and <= {maximum}, "
                                 f"got {_short(v)}")
    threads = getattr(args, "threads", None)
    if threads is not None and not (threads == -1 or 1 <= threads <= MAX_THREADS):
        raise ValueError(f"--threads must be -1 (all CPUs) or from 1 to {MAX_THREADS}, "
                         f"got {_short(threads)}")
    for dest in _POSITIVE:
        value = getattr(args, dest, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{_option(dest)} must be a finite number > 0, got {v}")
    for dest in _NON_NEGATIVE:
        value = getattr(args, dest, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{_option(dest)} must be a finite number >= 0, got {v}")
    keep_prob = getattr(args, "keep_prob", None)
    if keep_prob is not None and not (math.isfinite(keep_prob) and 0 < keep_prob <= 1):
        raise ValueError(f"--keep-prob must be a finite number in (0, 1], got {keep_prob}")
    momentum = getattr(args, "momentum", None)
    for v in momentum if isinstance(momentum, list) else [momentum]:
        if v is not None and not (math.isfinite(v) and 0 <= v < 1):
            raise ValueError(f"--momentum must be a finite number in [0, 1), got {v}")
    if args.command == "train":
        if args.momentum is not None and args.optimizer not in WITH_MOMENTUM:
            raise ValueError(f"--momentum applies to --optimizer {' or '.join(WITH_MOMENTUM)}; "
                             f"{args.optimizer} has none")
        if args.val_fraction is not None and not (math.isfinite(args.val_fraction)
                                                  and 0 < args.val_fraction < 1):
            raise ValueError(f"--val-fraction must be a number between 0 and 1 (exclusive), "
                             f"got {args.val_fraction}")
        if args.patience is not None and args.val_fraction is None:
            raise ValueError("--patience (early stopping) needs --val-fraction: it watches the "
                             "loss on held-out samples")


def _data_options(p: argparse.ArgumentParser) -> None:
    """How a data file is read: its header and its label column."""
    header = p.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_const", const=True,
                        help="the CSV file's first line names the columns (default: guessed: "
                             "a name above a number)")
    header.add_argument("--no-header", dest="header", action="store_const", const=False,
                        help="the CSV file's first line is a sample")


def _update_options(p: argparse.ArgumentParser, sweep: bool = False) -> None:
    """The schedule, L2 penalty, gradient clipping and dropout of ``train`` and ``sweep``."""
    what = " of every training" if sweep else ""
    p.add_argument("--schedule", choices=list(SCHEDULES), default="constant",
                   help=f"learning rate by step{what} (default: constant): step (x0.1 every "
                        "1000 steps), exponential (x0.999 a step), invscaling (lr / sqrt(t)), "
                        "cosine (annealed to 0 over --iterations"
                        + (", the largest of them)" if sweep else ")"))
    p.add_argument("--l2", type=float, default=0.0, metavar="LAMBDA",
                   help=f"L2 penalty lambda / (2 m) * sum of squared weights{what} (default: 0)")
    p.add_argument("--clip-norm", type=float, default=None, metavar="NORM",
                   help=f"scale the gradient down to this norm when larger{what} (default: no "
                        "clipping)")
    p.add_argument("--keep-prob", type=float, default=None, metavar="P",
                   help=f"inverted dropout on every hidden layer{what}: keep each unit with "
                        "probability P (default: no dropout)")


def _schedule(name: str, iterations: int) -> str | Schedule:
    """The schedule of ``--schedule``: cosine anneals over the iterations."""
    return CosineAnnealing(t_max=max(iterations, 1)) if name == "cosine" else name


def _common(p: argparse.ArgumentParser, default_iterations: int = 15000) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=sorted(datasets.NAMED_DATASETS), default=None,
                        help="a built-in problem (default: the seed notebook's circles; test "
                             "data: another draw of the same distribution)")
    source.add_argument("--data", metavar="FILE",
                        help="train on your own data: CSV, .npy or .npz, one sample per row, "
                             "features and a label column (labels may be numbers or words)")
    p.add_argument("--label-column", metavar="NAME|N",
                   help="with --data: the label column, by header name or by number counting "
                        "from 1 (default: -1, the last column; a .npz holds its labels in y)")
    p.add_argument("--test-data", metavar="FILE",
                   help="with --data: a file of the same columns to report the test accuracy on")
    _data_options(p)
    p.add_argument("--layers", type=layer_sizes, nargs="+", default=[[10, 5]], metavar="N,N,...",
                   help=f"hidden layer sizes, comma-separated (default: 10,5, the notebook's "
                        f"network; at most {MAX_LAYERS - 1} layers and {MAX_WEIGHTS} weights)")
    p.add_argument("--learning-rate", type=float, default=0.01, help="default: 0.01")
    p.add_argument("--iterations", type=int, default=default_iterations,
                   help=f"default: {default_iterations}; at most {MAX_ITERATIONS}")
    p.add_argument("--activation", choices=list(ACTIVATIONS),
                   default="relu", help="hidden activation (default: relu)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads of the compiled loop, -1 for all CPUs (default: 1; used for "
                        f"4096 examples or more; the result is the same for any N; at most "
                        f"{MAX_THREADS})")
    p.add_argument("--quiet", action="store_true", help="do not print the cost every 1000 iterations")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastinit",
        description="Weight initialization of small fully-connected networks, fast.",
        epilog="Run 'fastinit COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"fastinit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    compare = sub.add_parser(
        "compare", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("fastinit compare",
                         "fastinit compare --inits zeros random he xavier --plot compare.png",
                         "fastinit compare --dataset moons --iterations 5000 --quiet"),
        help="the seed notebook's experiment: zeros / random / He on the circles data",
        description=(
            "Train the notebook's 3-layer network (LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID, "
            "sizes [2, 10, 5, 1]) on the circles data once per initialization, print the cost "
            "every 1000 iterations, then the conclusion table with wall times."
        ),
    )
    compare.add_argument(
        "--inits", nargs="+", default=["zeros", "random", "he"], choices=sorted(INITIALIZERS),
        metavar="INIT", help="initializations to compare (default: zeros random he; any of "
                             + ", ".join(sorted(INITIALIZERS)) + ")",
    )
    compare.add_argument("--learning-rate", type=float, default=0.01, help="default: 0.01")
    compare.add_argument("--iterations", type=int, default=15000,
                         help=f"default: 15000; at most {MAX_ITERATIONS}")
    compare.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    compare.add_argument("--dataset", choices=sorted(datasets.NAMED_DATASETS), default="circles",
                         help="default: the seed notebook's circles")
    compare.add_argument("--quiet", action="store_true", help="print only the table")
    compare.add_argument("--plot", metavar="FILE",
                         help="write a figure with every cost curve on one axes and the "
                              "decision boundaries side by side (needs matplotlib; the format "
                              "is the file's suffix, PNG without one)")

    tr = sub.add_parser("train", help="train one network and save it to a model file",
                        description="Train one network by gradient descent on a built-in "
                                    "problem or on your own data file, print its train and "
                                    "test accuracy, and save it as a .npz model file (with "
                                    "the labels' classes and the feature names).",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=_examples(
                            "fastinit train --dataset moons --layers 16,8 --out moons.npz",
                            "fastinit train --data iris.csv --label-column species "
                            "--learning-rate 0.05 --out iris.npz",
                            "fastinit train --optimizer adam --iterations 5000 --val-fraction "
                            "0.2 --patience 2 --out circles.npz"))
    _common(tr)
    tr.add_argument("--init", choices=sorted(INITIALIZERS), default="he", metavar="INIT",
                    help="default: he; any of " + ", ".join(sorted(INITIALIZERS)))
    tr.add_argument("--seed", type=int, default=3,
                    help="initializer seed, and of --val-fraction's pick (default: 3)")
    tr.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd",
                    help="the update, with PyTorch's default hyper-parameters and "
                         "--learning-rate as its lr (default: sgd, plain gradient descent "
                         "unless --momentum)")
    tr.add_argument("--momentum", type=float, default=None, metavar="MU",
                    help="momentum of sgd or rmsprop, in [0, 1) (default: 0)")
    tr.add_argument("--weight-decay", type=float, default=None, metavar="WD",
                    help="the optimizer's weight decay (default: the optimizer's: 0, "
                         "0.01 for adamw)")
    _update_options(tr)
    tr.add_argument("--loss", choices=TRAIN_LOSSES, default=None,
                    help="binary_cross_entropy (one sigmoid unit, two classes) or "
                         "categorical_cross_entropy (a softmax unit per class) (default: binary "
                         "for two classes, categorical for more; no mse: train's labels are "
                         "classes)")
    tr.add_argument("--val-fraction", type=float, default=None, metavar="F",
                    help="hold out this fraction of the training samples (picked with --seed), "
                         "train on the rest and record the held-out loss (default: none)")
    tr.add_argument("--patience", type=int, default=None, metavar="K",
                    help="early stopping (needs --val-fraction): stop when the held-out loss "
                         "has not improved for K recording points in a row (one every 1000 "
                         "iterations) and keep the best parameters (default: no early "
                         "stopping)")
    tr.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the model")

    pr = sub.add_parser("predict", help="predict labels with a saved model",
                        description="Predict a label (or the class probabilities) for every "
                                    "sample (row) of a CSV, .npy or .npz file and write them as "
                                    "CSV, one line per sample after a header line. A column "
                                    "named as the model's label column is left out, and a "
                                    "header's feature names pick the model's features.",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=_examples("fastinit predict iris.npz new_flowers.csv",
                                         "fastinit predict iris.npz new_flowers.csv --proba "
                                         "--out probabilities.csv"))
    pr.add_argument("model", metavar="MODEL.npz")
    pr.add_argument("data", metavar="DATA",
                    help="CSV (comma-separated, header optional), .npy (2-D) or .npz (X, "
                         "or X and y); one sample per row")
    pr.add_argument("--out", metavar="FILE.csv", help="write here instead of standard output")
    pr.add_argument("--proba", action="store_true",
                    help="write each class's probability instead of the label")
    pr.add_argument("--label-column", metavar="NAME|N",
                    help="a column of DATA to leave out (by header name or number from 1)")
    _data_options(pr)

    be = sub.add_parser("bench", help="time fastinit against the NumPy reference, side by side",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=_examples("fastinit bench", "fastinit bench --paths --quick",
                                         "fastinit bench --optimizers",
                                         "fastinit bench --sklearn --rounds 3",
                                         "fastinit bench --sweep --seeds 10"),
                        description="Time the seed's He run with the NumPy reference and with "
                                    "fastinit, interleaved in one process; print per-round ratios. "
                                    "With --table: every case of the benchmark table (sizes, "
                                    "threads, float32, wide networks, JAX when installed).")
    be.add_argument("--table", action="store_true",
                    help="print the full table (a few minutes) instead of the seed's run")
    be.add_argument("--paths", action="store_true",
                    help="time every path against NumPy: the notebook's loop on the drop-in "
                         "functions, mini-batch training, prediction")
    be.add_argument("--optimizers", action="store_true",
                    help="time each optimizer, L2 with clipping and dropout against plain "
                         "gradient descent (seed's run), and mini-batch Adam against a NumPy "
                         "Adam loop")
    be.add_argument("--sklearn", action="store_true",
                    help="time scikit-learn's MLPClassifier / MLPRegressor against "
                         "fastinit.sklearn's at their defaults on scikit-learn's bundled data "
                         "sets (needs scikit-learn)")
    be.add_argument("--quick", action="store_true",
                    help="with --table, --paths, --optimizers or --sklearn: less work, noisier")
    be.add_argument("--sweep", action="store_true",
                    help="time a sweep of the seed's experiment (4 initializers x --seeds seeds) "
                         "on 1 and 2 threads against the NumPy reference run serially")
    be.add_argument("--seeds", type=int, default=25,
                    help=f"with --sweep: default 25, at most {MAX_BENCH_SEEDS}")
    be.add_argument("--rounds", type=int, default=5,
                    help=f"default: 5 (at most 3 with --table and --sweep, {MAX_ROUNDS} otherwise)")
    be.add_argument("--iterations", type=int, default=15000,
                    help=f"default: 15000; at most {MAX_ITERATIONS}")
    be.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    sw = sub.add_parser(
        "sweep", help="many trainings over a grid (initializers x seeds x ...), with statistics",
        description="Train every combination of the given values (the others keep the seed "
                    "notebook's), print a summary table per group, optionally save every "
                    "record to a JSON-lines file (a rerun with the same file resumes) and plot "
                    f"the distributions. At most {MAX_SWEEP_CONFIGS} configurations.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("fastinit sweep --inits zeros random he xavier --n-seeds 100 "
                         "--threads 2",
                         "fastinit sweep --inits he xavier --optimizers sgd adam --n-seeds 20 "
                         "--by optimizer init",
                         "fastinit sweep --inits he xavier --layers 10,5 20,10 --n-seeds 20 "
                         "--by init layers --results runs.jsonl --plot runs.png"))
    sw.add_argument("--config", metavar="FILE",
                    help="a .json or .toml file mapping parameter names (init, seed, "
                         "learning_rate, optimizer, momentum, weight_decay, layers, "
                         "activation, dataset, num_iterations, dtype) to lists of values; "
                         "options given on the command line override it")
    sw.add_argument("--inits", nargs="+", choices=sorted(INITIALIZERS), metavar="INIT")
    sw.add_argument("--seeds", nargs="+", type=int, metavar="SEED")
    sw.add_argument("--n-seeds", type=int, metavar="K",
                    help=f"seeds 0 .. K-1 (K at most {MAX_SWEEP_CONFIGS})")
    sw.add_argument("--learning-rates", nargs="+", type=float, metavar="LR")
    sw.add_argument("--optimizers", nargs="+", choices=list(OPTIMIZERS), metavar="OPT",
                    help="optimizers to compare, trained together with the initializers and "
                         "seeds (default: sgd, plain gradient descent; any of "
                         + ", ".join(OPTIMIZERS) + ")")
    sw.add_argument("--momentum", nargs="+", type=float, metavar="MU",
                    help="momentum values of sgd and rmsprop, in [0, 1) (default: 0; the "
                         "other optimizers have none and run once)")
    sw.add_argument("--weight-decay", nargs="+", type=float, metavar="WD",
                    help="weight decay values (default: each optimizer's: 0, 0.01 for adamw)")
    sw.add_argument("--layers", nargs="+", type=layer_sizes, metavar="N,N,...",
                    help="hidden layer sizes, comma-separated, one network per value "
                         "(e.g. 10,5 20,10 is two networks)")
    sw.add_argument("--activations", nargs="+",
                    choices=list(ACTIVATIONS), metavar="ACT")
    sw.add_argument("--datasets", nargs="+", choices=sorted(datasets.NAMED_DATASETS), metavar="DATASET")
    sw.add_argument("--iterations", nargs="+", type=int, metavar="N",
                    help=f"at most {MAX_ITERATIONS}")
    sw.add_argument("--dtypes", nargs="+", choices=["float64", "float32"], metavar="DTYPE")
    _update_options(sw, sweep=True)
    sw.add_argument("--threshold", type=float, default=0.2,
                    help="a run converges when its cost falls below this (default: 0.2)")
    sw.add_argument("--by", nargs="+", default=["init"], metavar="COLUMN",
                    help="group the summary by these columns (default: init)")
    sw.add_argument("--threads", type=int, default=1, metavar="N",
                    help=f"trainings run at once (default: 1; -1: all CPUs; at most {MAX_THREADS})")
    sw.add_argument("--results", metavar="FILE.jsonl",
                    help="append every finished record to this file; rerunning with the same "
                         "file skips what is done")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on this dask.distributed scheduler (needs dask[distributed])")
    sw.add_argument("--plot", metavar="FILE",
                    help="write a figure of the accuracy and convergence distributions per "
                         "group: the first --by column on the x axis, a second one as colours "
                         "(the format is the file's suffix, PNG without one)")
    sw.add_argument("--quiet", action="store_true", help="no progress line")
    return parser


def _examples(*commands: str) -> str:
    return "examples:\n" + "\n".join(f"  {c}" for c in commands)


def _check_network(hidden: Sequence[int], n_in: int, n_out: int, name: str) -> None:
    """Refuse networks too deep to save or too large to train from the command line."""
    if len(hidden) + 1 > MAX_LAYERS:
        raise ValueError(f"{name}: {len(hidden)} hidden layers; at most {MAX_LAYERS - 1}")
    dims = [n_in, *hidden, n_out]
    if any(not isinstance(d, int) or d < 1 for d in hidden):
        return  # not sizes at all: the library says what is wrong
    weights = sum(a * b for a, b in zip(dims, dims[1:]))
    if weights > MAX_WEIGHTS:
        raise ValueError(f"{name}: a network of sizes {_short(dims)} has {_short(weights)} "
                         f"weights; at most {MAX_WEIGHTS}")


def _sweep_grid(args) -> dict:
    grid: dict = {}
    if args.config:
        grid.update(_read_grid(args.config))
    seeds = args.seeds if args.seeds is not None else (
        list(range(args.n_seeds)) if args.n_seeds is not None else None)
    for name, values in [("init", args.inits), ("seed", seeds),
                         ("learning_rate", args.learning_rates), ("optimizer", args.optimizers),
                         ("momentum", args.momentum), ("weight_decay", args.weight_decay),
                         ("layers", args.layers),
                         ("activation", args.activations), ("dataset", args.datasets),
                         ("num_iterations", args.iterations), ("dtype", args.dtypes)]:
        if values is not None:
            grid[name] = values
    if args.momentum is not None and any(m != 0 for m in args.momentum):
        optimizers = grid.get("optimizer", ["sgd"])
        if isinstance(optimizers, list) and not any(o in WITH_MOMENTUM for o in optimizers):
            raise ValueError(f"--momentum applies to the optimizers {' and '.join(WITH_MOMENTUM)}"
                             f"; the sweep's ({_short(', '.join(map(str, optimizers)))}) have "
                             f"none")
    _check_grid_size(grid)
    return grid


def _sweep_iterations(grid: dict) -> int:
    """The largest iteration count of a grid (cosine's horizon)."""
    from .studies.sweeps import DEFAULTS

    values = grid.get("num_iterations", [DEFAULTS["num_iterations"]])
    counts = [v for v in values if isinstance(v, int) and not isinstance(v, bool)] \
        if isinstance(values, list) else []
    return max(counts, default=DEFAULTS["num_iterations"])


def _check_grid_size(grid: dict) -> None:
    """Bound the number of configurations, their iterations and networks
    (what --config holds as well as the options)."""
    counts = {name: len(values) for name, values in grid.items()
              if isinstance(values, (list, tuple))}  # other values: sweep() says what is wrong
    total = math.prod(counts.values())
    if total > MAX_SWEEP_CONFIGS:
        detail = " x ".join(f"{n} {name}" for name, n in counts.items() if n > 1)
        raise ValueError(f"the sweep has {_short(total)} configurations ({detail}); at most "
                         f"{MAX_SWEEP_CONFIGS} (fewer --n-seeds or values in --config)")
    for n in grid.get("num_iterations", []) if counts.get("num_iterations") else []:
        if isinstance(n, int) and n > MAX_ITERATIONS:
            raise ValueError(f"num_iterations (--iterations or --config) must be at most "
                             f"{MAX_ITERATIONS}, got {_short(n)}")
    for hidden in grid.get("layers", []) if counts.get("layers") else []:
        hidden = [hidden] if isinstance(hidden, int) else hidden
        if isinstance(hidden, list):  # every named dataset: 2 features, at most 3 classes
            _check_network(hidden, 2, 3, "layers (--layers or --config)")


#: largest sweep configuration file read (a grid is a few lines)
MAX_CONFIG_BYTES = 2**20


def _read_grid(path: str) -> dict:
    import json

    try:
        with open(path, "rb") as f:
            regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)  # not /dev/zero, a FIFO, ...
            raw = f.read(MAX_CONFIG_BYTES + 1) if regular else b""
    except OSError as exc:
        raise ValueError(f"--config {path!r}: {exc.strerror or exc}") from exc
    if not regular:
        raise ValueError(f"--config {path!r}: not a regular file")
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"--config {path!r}: larger than {MAX_CONFIG_BYTES} bytes")
    if path.endswith(".toml"):
        try:
            import tomllib
        except ImportError as exc:  # Python < 3.11
            raise ValueError("TOML sweep files need Python >= 3.11; use a .json file") from exc
        parse = tomllib.loads
    else:
        parse = json.loads
    try:
        grid = parse(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSON, TOML and UTF-8 errors; absurd nesting
        kind = "TOML" if path.endswith(".toml") else "JSON"
        raise ValueError(f"--config {path!r}: not valid {kind} ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from exc
    if not isinstance(grid, dict):
        raise ValueError(f"--config {path!r}: expected a mapping of parameter names to lists "
                         f"of values")
    return grid


def _check_sweep_outputs(args) -> None:
    """Refuse bad --results, --plot and --by before any training."""
    from .studies.sweeps import DEFAULTS

    if args.results is not None:
        check_writable(args.results, "--results")
    if args.plot is not None:
        from .plotting import check_figure_path

        check_figure_path(args.plot, "--plot")
    columns = [*DEFAULTS, *OUTCOME_COLUMNS]
    for column in args.by:
        if column not in columns:
            raise ValueError(f"--by {column!r}: not a column of the sweep records; "
                             f"use {', '.join(columns)}")


def _sweep(args) -> int:
    from .studies.sweeps import sweep

    _check_sweep_outputs(args)
    grid = _sweep_grid(args)
    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError as exc:
            raise ImportError('--scheduler needs dask: pip install "fastinit[dask]"') from exc
        client = Client(args.scheduler)
    try:
        table = sweep(grid, cost_threshold=args.threshold, n_threads=args.threads,
                      results=args.results, client=client,
                      progress=ProgressLine(not args.quiet, "training"),
                      schedule=_schedule(args.schedule, _sweep_iterations(grid)), l2=args.l2,
                      clip_norm=args.clip_norm, keep_prob=args.keep_prob)
    finally:
        if client is not None:
            client.close()
    print(table.format_summary(args.by))
    if args.results:
        print(f"\n{len(table)} records in {args.results}")
    if args.plot:
        from .plotting import pyplot, plot_sweep, save_figure

        # the first --by column on the x axis, the second (if any) as colours
        fig = plot_sweep(table, group=args.by[0], hue=args.by[1] if len(args.by) > 1 else None)
        try:
            save_figure(fig, args.plot, "--plot", dpi=80)
        finally:
            pyplot().close(fig)
        print(f"wrote {args.plot}")
    return 0


def _compare(args) -> int:
    if args.plot is not None:
        from .plotting import check_figure_path

        check_figure_path(args.plot, "--plot")
    data = datasets.load_named(args.dataset)
    rows = _comparison(args, data)
    print()
    print(format_table(rows))
    if args.plot:
        _plot_comparison(rows, data, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


def _comparison(args, data) -> list[ComparisonRow]:
    """The seed's comparison on ``data`` (a softmax output on data of more
    than two classes: see :func:`compare_initializations`)."""
    return compare_initializations(
        inits=args.inits, learning_rate=args.learning_rate, num_iterations=args.iterations,
        dtype=args.dtype, print_cost=not args.quiet, data=data)


def _plot_comparison(rows, data, path: str) -> None:
    from .plotting import plot_comparison, pyplot, save_figure

    fig = plot_comparison(rows, data)
    try:
        save_figure(fig, path, "--plot", dpi=80)
    finally:
        pyplot().close(fig)


def _read_data_option(path: str, args, option: str, label: str | None = None) -> DataFile:
    """A training or test file with its labels: ``label`` or the --label-column,
    by default the last column (a .npz's labels are its array y)."""
    label = label if label is not None else args.label_column
    return read_data(path, label_column=DEFAULT_LABELS if label is None else label,
                     header=args.header, name=option)


def _check_labels_are_classes(data: DataFile, classes: np.ndarray, option: str) -> None:
    """Refuse a label column that looks like a feature: numbers that are not
    whole, or nearly one class per sample."""
    column = f"the label column {data.label_name!r}" if data.label_name else "the label column"
    if classes.dtype.kind == "U":
        numbers = [c for c in classes[:1000] if is_number(c)]
        if len(numbers) == min(len(classes), 1000) and any("." in c or "e" in c.lower()
                                                            for c in numbers):
            raise ValueError(f"{option} {data.path!r}: {column} holds numbers such as "
                             f"{numbers[0]}, not class labels; is it a feature? Name the label "
                             f"column with --label-column")
    if len(classes) > 20 and len(classes) > data.n_samples // 2:
        raise ValueError(f"{option} {data.path!r}: {column} has {len(classes)} different "
                         f"values among {data.n_samples} samples: is it a feature? Name the "
                         f"label column with --label-column")


def _check_distinct_files(out: str, **inputs: str | None) -> None:
    """Refuse an output that is one of the inputs (it would be replaced)."""
    if not os.path.exists(out):
        return
    for option, path in inputs.items():
        if path is not None and os.path.exists(path) and os.path.samefile(out, path):
            raise ValueError(f"--out {out!r} is the {option} file: it would be replaced; "
                             f"give another file name")


def _training_data(args):
    """(train X, train Y, test X or None, test Y or None, classes, data file or
    None) of ``train``: a named problem's arrays, or the user's files with
    their labels encoded as class indices."""
    if args.data is None:
        for option in ("test_data", "header", "label_column"):
            if getattr(args, option) is not None:
                given = "--header/--no-header" if option == "header" else _option(option)
                raise ValueError(f"{given} applies to --data FILE, which is not given")
        return (*datasets.load_named(args.dataset or "circles"), None, None)
    data = _read_data_option(args.data, args, "--data")
    if data.labels is None:
        raise ValueError(f"--data {args.data!r} has no label column")
    classes, Y = encode_labels(data.labels)
    if len(classes) < 2:
        raise ValueError(f"--data {args.data!r}: every sample has the label "
                         f"{classes[0].item()!r}; a classifier needs two classes or more")
    _check_labels_are_classes(data, classes, "--data")
    print(_describe(data, "--data", args.header), file=sys.stderr)
    test_X = test_Y = None
    if args.test_data is not None:
        label = args.label_column if args.label_column is not None else data.label_name
        test = _read_data_option(args.test_data, args, "--test-data", label)
        if test.labels is None:
            raise ValueError(f"--test-data {args.test_data!r} has no label column")
        test_X = _select_features(
            data.feature_names if data.has_header else None, data.n_features, test,
            f"--test-data {args.test_data!r}", f"--data {args.data!r}")
        labels = test.labels.astype(str) if classes.dtype.kind == "U" else test.labels
        known = np.isin(labels, classes)
        if not known.all():
            i = int(np.argmin(known))
            raise ValueError(f"--test-data {args.test_data!r}, {test.where(i)}: the label "
                             f"{labels[i].item()!r} is not among the training labels "
                             f"{_short(classes.tolist())}")
        test_Y = np.searchsorted(classes, labels).reshape(1, -1)
    return data.X.T, Y, test_X, test_Y, classes, data


def _describe(data: DataFile, option: str, header: bool | None) -> str:
    """One line on how a file was read (the header guess, the columns used)."""
    features = ", ".join(data.feature_names)
    text = (f"{option} {data.path!r}: {data.n_samples} samples, {data.n_features} features "
            f"({_short(features)})")
    if data.labels is not None:
        text += f", labels in {data.label_name!r}" if data.label_name else ", labels"
    if data.lines is not None:
        guessed = " (guessed; --header or --no-header to say)" if header is None else ""
        text += f"; header line: {'yes' if data.has_header else 'no'}{guessed}"
    if data.left_out:
        text += "; left out " + ", ".join(data.left_out)
    return text


def _train(args) -> int:
    check_writable(args.out, "--out")  # before the training, not after
    _check_distinct_files(args.out, data=args.data, test_data=args.test_data)
    train_X, train_Y, test_X, test_Y, classes, data = _training_data(args)
    dims = [train_X.shape[0], *args.layers, _output_units(train_Y, args.loss)]
    _check_network(args.layers, dims[0], dims[-1], "--layers")
    validation = _validation_fraction(args.val_fraction, train_X.shape[1])
    options: dict[str, Any] = {}
    if args.momentum is not None:
        options["momentum"] = args.momentum
    if args.weight_decay is not None:
        options["weight_decay"] = args.weight_decay
    progress = ProgressLine(not args.quiet)
    result = train(train_X, train_Y, dims, init=args.init, learning_rate=args.learning_rate,
                   num_iterations=args.iterations, seed=args.seed, dtype=args.dtype,
                   print_cost=not args.quiet, activation=args.activation,
                   n_threads=args.threads, progress=progress,
                   optimizer=OPTIMIZERS[args.optimizer](**options),
                   schedule=_schedule(args.schedule, args.iterations), l2=args.l2,
                   clip_norm=args.clip_norm, keep_prob=args.keep_prob, loss=args.loss,
                   validation=validation, patience=args.patience)
    report = f"train accuracy {result.accuracy(train_X, train_Y):.4f}"
    if test_X is not None:
        report += f", test accuracy {result.accuracy(test_X, test_Y):.4f}"
    print(f"{report}, {result.elapsed * 1000:.0f} ms, status {result.status}")
    if result.status == "early_stopped" or (result.status == "completed" and result.message):
        print(result.message)  # stopped early, or the best parameters kept at the end
    elif result.validation_costs is not None and len(result.validation_costs):
        print(f"validation loss {result.validation_costs[-1]:.6g} at iteration "
              f"{result.cost_iterations[-1]} (--val-fraction {args.val_fraction:g})")
    if data is None:
        save_model(args.out, result)
    else:
        save_model(args.out, result, classes=classes,
                   feature_names=data.feature_names if data.has_header else None,
                   label_name=data.label_name)
    print(f"saved {args.out}" + (f" ({len(classes)} classes: {_short(classes.tolist())})"
                                 if classes is not None else ""))
    return 0


def _output_units(Y: np.ndarray, loss: str | None) -> int:
    """The output layer of ``--loss`` for class labels 0 .. k-1: one sigmoid
    unit for two classes, or a softmax unit per class (at least 2)."""
    units = output_units(Y)
    if loss == "categorical_cross_entropy":
        return max(units, 2)
    if loss == "binary_cross_entropy" and units > 1:
        raise ValueError(f"--loss binary_cross_entropy takes two classes; the labels have "
                         f"{units}: use categorical_cross_entropy")
    return units


def _validation_fraction(fraction: float | None, m: int) -> float | None:
    """``--val-fraction``, checked to leave samples on both sides of ``m``."""
    if fraction is not None and not 1 <= round(fraction * m) < m:
        raise ValueError(f"--val-fraction {fraction:g} of {m} training samples leaves no "
                         f"held-out sample or no training sample")
    return fraction


def _select_features(names: Sequence[str] | None, n_in: int, data: DataFile, where: str,
                     model: str) -> np.ndarray:
    """The columns of ``data`` a model of ``n_in`` features (named ``names``,
    when it was trained from a header) takes, as (n_features, m): by name when
    both have names (every one must be there), else in order."""
    if names is not None and data.has_header:
        missing = [n for n in names if n not in data.feature_names]
        if missing:
            raise ValueError(f"{where} has no column {_short(', '.join(map(repr, missing)))}, "
                             f"which {model} was trained on; its columns are "
                             f"{_short(', '.join(map(repr, data.feature_names)))}")
        columns = [data.feature_names.index(n) for n in names]
    else:
        columns = list(range(data.n_features))
    if len(columns) != n_in:
        expected = f" ({', '.join(names)})" if names is not None else ""
        hint = (" (is one of them the labels? leave it out with --label-column)"
                if len(columns) == n_in + 1 else "")
        raise ValueError(f"{where} has {len(columns)} feature columns "
                         f"({_short(', '.join(data.feature_names[j] for j in columns))}); "
                         f"{model} takes {n_in}{expected}{hint}")
    return np.ascontiguousarray(data.X[:, columns].T)


def _predict(args) -> int:
    if args.out is not None:
        check_writable(args.out, "--out")
        _check_distinct_files(args.out, MODEL=args.model, DATA=args.data)
    model = load_model(args.model)
    if args.label_column is not None:
        data = read_data(args.data, label_column=args.label_column, header=args.header,
                         name="DATA")
    else:  # the model's own label column is left out where the file has it
        data = read_data(args.data, label_column=model.label_name, header=args.header,
                         name="DATA", missing_label_ok=True)
    X = _select_features(model.feature_names, model.layers_dims[0], data,
                         f"DATA {args.data!r}", f"the model {args.model!r}")
    classes = model.classes if model.classes is not None else range(max(model.layers_dims[-1], 2))
    if args.proba:
        P = model.predict_proba(X)
        if P.shape[0] == 1:
            P = np.vstack([1 - P, P])
        head = ",".join(_csv_field(f"p_{c}") for c in classes)
        lines = [",".join(f"{p:.6g}" for p in column) for column in P.T]
    else:
        head = _csv_field(model.label_name or "label")
        lines = [_csv_field(str(label)) for label in model.predict(X)[0]]
    text = "\n".join([head, *lines]) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        with atomic_write(args.out, "w", name="--out") as f:
            f.write(text)
        print(f"wrote {len(lines)} predictions to {args.out}", file=sys.stderr)
    return 0


def _csv_field(text: str) -> str:
    """One CSV field, quoted when it has to be."""
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _bench(args) -> int:
    from .studies.benchmark import (benchmark_optimizers, benchmark_paths, benchmark_sweep,
                            benchmark_table, compare_with_numpy)

    if args.sweep:
        benchmark_sweep(n_seeds=args.seeds, iterations=args.iterations, rounds=min(args.rounds, 3))
    elif args.paths:
        benchmark_paths(rounds=args.rounds, quick=args.quick)
    elif args.optimizers:
        benchmark_optimizers(rounds=args.rounds, quick=args.quick)
    elif args.sklearn:
        from .sklearn._benchmark import benchmark_sklearn

        benchmark_sklearn(rounds=args.rounds, quick=args.quick)
    elif args.table:
        benchmark_table(rounds=min(args.rounds, 3), quick=args.quick)
    else:
        compare_with_numpy(rounds=args.rounds, iterations=args.iterations, dtype=args.dtype)
    return 0


def _error_text(exc: BaseException) -> str:
    """``[Errno 2] No such file or directory: 'm.npz'`` -> ``'m.npz': No such
    file or directory``."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename!r}: {exc.strerror}"
    return str(exc)


def _drop_unflushed_output() -> None:
    """Point standard output at the null device, so that Python's final flush
    of what the closed pipe did not take raises no second error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastinit`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    command = {"compare": _compare, "train": _train, "predict": _predict,
               "bench": _bench, "sweep": _sweep}[args.command]
    try:
        _check_options(args)
        return command(args)
    except BrokenPipeError:  # `fastinit ... | head`: the reader has what it wanted
        _drop_unflushed_output()
        return 141
    except (ValueError, TypeError, OSError, ImportError, OverflowError) as exc:
        print(f"fastinit: error: {_error_text(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("fastinit: error: not enough memory for this computation", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastinit: interrupted", file=sys.stderr)
        return 130
