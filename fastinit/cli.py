"""Command line: ``fastinit compare | train | predict | bench`` (also ``python -m fastinit``)."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from . import datasets
from .experiments import compare_initializations, format_table
from .initializers import INITIALIZERS
from .model_io import load_model, save_model
from .training import train

DATASETS = {
    "circles": lambda seed: datasets.make_circles(300, noise=0.05, seed=seed),
    "moons": lambda seed: datasets.make_moons(300, noise=0.1, seed=seed),
    "blobs": lambda seed: datasets.make_blobs(300, n_classes=3, seed=seed),
    "spiral": lambda seed: datasets.make_spiral(300, n_classes=2, seed=seed),
    "xor": lambda seed: datasets.make_xor(300, noise=0.05, seed=seed),
}


def _load(name: str):
    """(train_X, train_Y, test_X, test_Y): the seed's circles for "circles"."""
    if name == "circles":
        return datasets.load_dataset()
    return (*DATASETS[name](1), *DATASETS[name](2))


def _common(p: argparse.ArgumentParser, default_iterations: int = 15000) -> None:
    p.add_argument("--dataset", choices=sorted(DATASETS), default="circles",
                   help="training data (default: the seed notebook's circles; test data: "
                        "another draw of the same distribution)")
    p.add_argument("--layers", type=int, nargs="+", default=[10, 5], metavar="N",
                   help="hidden layer sizes (default: 10 5, the notebook's network)")
    p.add_argument("--learning-rate", type=float, default=0.01, help="default: 0.01")
    p.add_argument("--iterations", type=int, default=default_iterations,
                   help=f"default: {default_iterations}")
    p.add_argument("--activation", choices=["relu", "leaky_relu", "tanh", "sigmoid", "linear"],
                   default="relu", help="hidden activation (default: relu)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads of the compiled loop, -1 for all CPUs (default: 1; used for "
                        "4096 examples or more; the result is the same for any N)")
    p.add_argument("--quiet", action="store_true", help="do not print the cost every 1000 iterations")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastinit",
        description="Weight initialization of small fully-connected networks, fast.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    compare = sub.add_parser(
        "compare",
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
    compare.add_argument("--iterations", type=int, default=15000, help="default: 15000")
    compare.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    compare.add_argument("--dataset", choices=sorted(DATASETS), default="circles",
                         help="default: the seed notebook's circles")
    compare.add_argument("--quiet", action="store_true", help="print only the table")
    compare.add_argument("--plot", metavar="FILE",
                         help="write a PNG with every cost curve on one axes and the decision "
                              "boundaries side by side (needs matplotlib)")

    tr = sub.add_parser("train", help="train one network and save it to a model file",
                        description="Train one network by gradient descent, print its train and "
                                    "test accuracy, and save it as a .npz model file.")
    _common(tr)
    tr.add_argument("--init", choices=sorted(INITIALIZERS), default="he", help="default: he")
    tr.add_argument("--seed", type=int, default=3, help="initializer seed (default: 3)")
    tr.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the model")

    pr = sub.add_parser("predict", help="predict labels with a saved model",
                        description="Print one predicted label per line for the rows (samples) "
                                    "of a .npy or .csv file.")
    pr.add_argument("model", metavar="MODEL.npz")
    pr.add_argument("data", metavar="DATA", help=".npy (2-D, samples as rows) or .csv "
                                                 "(comma-separated, samples as rows, no header)")

    be = sub.add_parser("bench", help="time fastinit against the NumPy reference, side by side",
                        description="Time the seed's He run with the NumPy reference and with "
                                    "fastinit, interleaved in one process; print per-round ratios. "
                                    "With --table: every case of the benchmark table (sizes, "
                                    "threads, float32, wide networks, JAX when installed).")
    be.add_argument("--table", action="store_true",
                    help="print the full table (a few minutes) instead of the seed's run")
    be.add_argument("--quick", action="store_true", help="with --table: less work, noisier")
    be.add_argument("--rounds", type=int, default=5, help="default: 5 (3 with --table)")
    be.add_argument("--iterations", type=int, default=15000, help="default: 15000")
    be.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    return parser


def _compare(args) -> int:
    data = _load(args.dataset)
    rows = compare_initializations(
        inits=args.inits, learning_rate=args.learning_rate, num_iterations=args.iterations,
        dtype=args.dtype, print_cost=not args.quiet, data=data,
    )
    print()
    print(format_table(rows))
    if args.plot:
        _plot_comparison(rows, data, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


def _plot_comparison(rows, data, path: str) -> None:
    from .network import predict_labels
    from .plotting import _pyplot, plot_cost_curves, plot_decision_boundary

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(rows) + 1, figsize=(4.5 * (len(rows) + 1), 4))
    plot_cost_curves(rows, ax=axes[0])
    axes[0].set_title("cost")
    for ax, row in zip(axes[1:], rows):
        params = row.result.parameters
        plot_decision_boundary(lambda x, p=params: predict_labels(x.T, p), data[0], data[1], ax=ax)
        ax.set_title(f"{row.init}: train {row.train_accuracy:.0%}, test {row.test_accuracy:.0%}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


class _ProgressLine:
    """A live "iteration i / N" line on a terminal, redrawn at most 10 times a
    second, with the cursor left at its start so that the cost lines printed
    meanwhile overwrite it; erased at the end.  Nothing at all when stderr is
    not a terminal (or with --quiet)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        text = f"  iteration {done:>{len(str(total))}} / {total}"
        sys.stderr.write(f"{text}\r" if done < total else " " * len(text) + "\r")
        sys.stderr.flush()


def _train(args) -> int:
    train_X, train_Y, test_X, test_Y = _load(args.dataset)
    n_out = int(np.max(train_Y)) + 1
    dims = [train_X.shape[0], *args.layers, 1 if n_out == 2 else n_out]
    result = train(train_X, train_Y, dims, init=args.init, learning_rate=args.learning_rate,
                   num_iterations=args.iterations, seed=args.seed, dtype=args.dtype,
                   print_cost=not args.quiet, activation=args.activation,
                   n_threads=args.threads, progress=_ProgressLine(not args.quiet))
    print(f"train accuracy {result.accuracy(train_X, train_Y):.4f}, "
          f"test accuracy {result.accuracy(test_X, test_Y):.4f}, "
          f"{result.elapsed * 1000:.0f} ms, status {result.status}")
    save_model(args.out, result)
    print(f"saved {args.out}")
    return 0


def _read_rows(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    return np.loadtxt(path, delimiter=",", ndmin=2)


def _predict(args) -> int:
    model = load_model(args.model)
    rows = _read_rows(args.data)
    if rows.ndim != 2:
        raise ValueError(f"{args.data}: expected a 2-D array (samples as rows), got shape {rows.shape}")
    for label in model.predict(np.ascontiguousarray(rows.T))[0]:
        print(label)
    return 0


def _bench(args) -> int:
    from .benchmark import benchmark_table, compare_with_numpy

    if args.table:
        benchmark_table(rounds=min(args.rounds, 3), quick=args.quick)
    else:
        compare_with_numpy(rounds=args.rounds, iterations=args.iterations, dtype=args.dtype)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastinit`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    command = {"compare": _compare, "train": _train, "predict": _predict,
               "bench": _bench}[args.command]
    try:
        return command(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"fastinit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastinit: interrupted", file=sys.stderr)
        return 130
