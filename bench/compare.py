"""Side-by-side timing of fastinit against the pure-NumPy reference (the seed's
He run, interleaved in one process; see ``fastinit.studies.benchmark``).  The same as
``fastinit bench``.

Usage::

    python bench/compare.py [--rounds 5] [--iterations 15000] [--dtype float64]
"""
import sys

from fastinit.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", *sys.argv[1:]]))
