"""Checked stubs: mypy passes on the package, and ``mypy.stubtest`` finds the
kernel stubs (``fastinit/_kernels_*.pyi``) true to the built modules.

Both run as a developer runs them, in a subprocess from the repository root
(``python -m mypy`` reads ``[tool.mypy]`` of ``pyproject.toml``).  stubtest
compares the stubs with the modules it *imports*, so it must see the stubs and
the compiled modules of one package:

* editable install (``pip install -e .``): the package is the source tree;
  from the repository root, Python imports it and mypy finds its stubs there;
* regular install (``pip install .``, the debug stage of ``.ci/run``): the
  installed package holds copies of the stubs (package data) beside its
  compiled modules; stubtest runs from a scratch directory, where the source
  tree is on neither Python's nor mypy's path, and checks those copies, which
  must equal the source tree's stubs.

Run from elsewhere with an editable install, stubtest finds no stubs at all
and reports success.  The allowlist guards against any such silent run: its
entries (Cython's own names, present in every module) must each be used, so
stubtest fails when it checked nothing.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastinit

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fastinit"
ALLOWLIST = Path(__file__).resolve().parent / "stubtest_allowlist.txt"
INSTALLED = Path(fastinit.__file__).resolve().parent
LEVELS = ("baseline", "avx2", "avx512")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ((ROOT / "pyproject.toml").is_file() and (SOURCE / "__init__.py").is_file()),
        reason=f"the repository source is not beside the tests (no {ROOT}/pyproject.toml "
               f"and fastinit/): nothing to type-check"),
]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit status {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_mypy_passes_on_the_package():
    proc = _run(["mypy", "fastinit"], cwd=ROOT)
    assert proc.returncode == 0, _explain(proc)


def test_kernel_stubs_match_the_built_modules(tmp_path):
    from fastinit._core._simd import available

    # built, and run by this CPU: importing the AVX-512 module on a CPU without
    # AVX-512 stops the process on an illegal instruction
    modules = [f"fastinit._core._kernels_{level}" for level in LEVELS
               if importlib.util.find_spec(f"fastinit._core._kernels_{level}") is not None
               and level in available()]
    assert "fastinit._core._kernels_baseline" in modules  # always built
    if INSTALLED == SOURCE.resolve():
        cwd = ROOT
    else:
        for stub in sorted((SOURCE / "_core").glob("_kernels_*.pyi")):
            installed = INSTALLED / "_core" / stub.name
            assert installed.is_file() and installed.read_bytes() == stub.read_bytes(), (
                f"the installed fastinit ({INSTALLED}) has other stubs than the source tree: "
                f"{installed} differs from {stub}; reinstall it")
        cwd = tmp_path
    proc = _run(["mypy.stubtest", "--mypy-config-file", os.fspath(ROOT / "pyproject.toml"),
                 "--allowlist", os.fspath(ALLOWLIST), *modules], cwd=cwd)
    assert proc.returncode == 0, _explain(proc)
