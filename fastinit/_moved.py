"""The import paths of fastinit 0.1, kept working for one more release.

fastinit 0.2 put its modules into folders by tier (``fastinit.nn``,
``fastinit.engines``, ``fastinit.training``, ``fastinit.studies``,
``fastinit.io``).  Everything public is still importable from the top level
(``from fastinit import train, he_init ...``), and the 0.1 module paths below
still import, with a ``DeprecationWarning`` that names the new path; they go
away in 0.3.  Importing an old path gives the very module object of the new
one (no copy: ``monkeypatch`` and ``isinstance`` see one module).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import warnings
from types import FrameType, ModuleType

_PACKAGE_INIT = os.path.join(os.path.dirname(__file__), "__init__.py")

# 0.1 path -> 0.2 path (modules that did not exist in 0.1 have no old path)
MOVED = {
    f"fastinit.{old}": f"fastinit.{new}" for old, new in {
        "activations": "nn.activations",
        "initializers": "nn.initializers",
        "layers": "nn.layers",
        "network": "nn.network",
        "gradcheck": "nn.gradcheck",
        "reference": "engines.reference",
        "diagnostics": "training.diagnostics",
        "experiments": "studies.experiments",
        "sweeps": "studies.sweeps",
        "benchmark": "studies.benchmark",
        "datasets": "io.datasets",
        "datafiles": "io.datafiles",
        "model_io": "io.model_io",
    }.items()
}


def _warn(old: str, new: str) -> None:
    """The warning, attributed to the user's line that imported ``old`` (the
    first frame outside this module and the import machinery), so Python's
    default filters show it where that line is ``__main__``."""
    level = 1
    frame: FrameType | None = sys._getframe(0)
    ours = (__file__, _PACKAGE_INIT)
    while frame is not None:
        name = frame.f_code.co_filename
        internal = "importlib" in name and "_bootstrap" in name  # warnings skips these itself
        if not internal and name not in ours:
            break
        frame = frame.f_back
        if frame is not None and not internal:
            level += 1
    warnings.warn(f"{old} moved to {new} in fastinit 0.2; the old path goes away in 0.3 "
                  f"(or import the name from fastinit itself)", DeprecationWarning,
                  stacklevel=level)


class _AliasLoader(importlib.abc.Loader):
    """Loads an old path as the module of its new path."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.new)
        # the import system sets __spec__ on what this returns; exec_module puts
        # the module's own spec back
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the 0.1 module paths of :data:`MOVED` (installed by
    ``fastinit/__init__.py``)."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        _warn(fullname, new)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())


def moved_attribute(name: str) -> ModuleType:
    """``fastinit.<name>`` for an old module ``name`` (the package's
    ``__getattr__``): the new module, with the warning."""
    old = f"fastinit.{name}"
    if old not in MOVED:
        raise AttributeError(f"module 'fastinit' has no attribute {name!r}")
    _warn(old, MOVED[old])
    module = importlib.import_module(MOVED[old])
    setattr(sys.modules["fastinit"], name, module)  # warned once: plain attribute from now on
    return module
