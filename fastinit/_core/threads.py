"""How many OpenMP threads the compiled kernels may start.

The kernels give the same bits for every thread count; these helpers only
decide how many threads a call uses (at most one per chunk of examples) and
keep a forked child from entering a thread pool that did not survive the
fork.
"""
from __future__ import annotations

import os

from ._simd import kernels as _kernels

# OpenMP's thread pool does not survive fork(): a child process forked after
# the parent ran threaded kernels would hang in its first parallel region.
# Such a child runs the kernels on one thread instead (same results, as the
# thread count never changes a bit); a child forked before, or a spawned
# process, keeps its threads.
_pool = {"started": False, "usable": bool(_kernels.OPENMP)}


def _after_fork_in_child() -> None:
    if _pool["started"]:
        _pool["usable"] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def usable_threads(n_threads: int) -> int:
    """``n_threads``, or 1 where the kernels cannot run threads (no OpenMP,
    or a process forked after threads ran); notes when threads will start."""
    if n_threads <= 1 or not _pool["usable"]:
        return 1
    _pool["started"] = True
    return n_threads


def threads_used(m: int, n_threads: int) -> int:
    """Threads the fused loop really starts for m examples: at most one per
    chunk of examples (``_kernels.chunking``), one without OpenMP."""
    return usable_threads(min(n_threads, _kernels.chunking(m)[1]))
