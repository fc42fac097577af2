"""Command line: ``fastinit compare`` (also ``python -m fastinit compare``)."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .experiments import compare_initializations, format_table
from .initializers import INITIALIZERS


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
        metavar="INIT", help="initializations to compare (default: zeros random he; also: xavier)",
    )
    compare.add_argument("--learning-rate", type=float, default=0.01, help="default: 0.01")
    compare.add_argument("--iterations", type=int, default=15000, help="default: 15000")
    compare.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    compare.add_argument("--quiet", action="store_true", help="print only the table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastinit`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        rows = compare_initializations(
            inits=args.inits, learning_rate=args.learning_rate,
            num_iterations=args.iterations, dtype=args.dtype, print_cost=not args.quiet,
        )
    except (ValueError, TypeError) as exc:
        print(f"fastinit: error: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_table(rows))
    return 0
