"""Writing files without ever destroying data.

Every file fastinit writes (model files, plots, command-line outputs) goes
through :func:`atomic_write`: the content is written to a temporary file in the
target's directory, flushed to disk and renamed over the target in one step, so
a failure at any point leaves the old file as it was.  :func:`check_writable`
lets a command find out that an output cannot be written *before* it starts a
long computation.  (Sweep results files are append-only and have their own
rules: ``fastinit.studies.sweeps``.)
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator

#: the first bytes of a zip archive (a ``.npz``, a model file) and of a ``.npy``
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"


def _path(path: str | os.PathLike, name: str) -> str:
    try:
        return os.fspath(path)
    except TypeError as exc:
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {path!r}") from exc


def check_writable(path: str | os.PathLike, name: str = "path") -> str:
    """The path as a string, once it is known that a file can be written there:
    not a directory, its directory exists and is writable.  Raises
    ``ValueError`` naming ``name`` otherwise."""
    path = _path(path, name)
    if not path:
        raise ValueError(f"{name} must not be empty")
    if os.path.isdir(path):
        raise ValueError(f"{name} {path!r} is a directory; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{name} {path!r}: the directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {path!r}: the directory {folder!r} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"{name} {path!r} exists and is not writable")
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", name: str = "path") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it is
    synced and renamed over ``path``, on an exception it is removed and
    ``path`` is untouched."""
    path = check_writable(path, name)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):  # keep the old file's permissions
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
