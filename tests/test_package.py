"""Packaging promises: the compiled core is what runs, the API is complete."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import fastinit

SEED_NAMES = ["sigmoid", "relu", "compute_loss", "forward_propagation", "backward_propagation",
              "update_parameters", "predict", "predict_dec", "load_dataset",
              "plot_decision_boundary", "initialize_parameters_zeros",
              "initialize_parameters_random", "initialize_parameters_he", "model"]


def test_seed_names_are_exported():
    for name in SEED_NAMES:
        assert callable(getattr(fastinit, name)), name
    assert set(fastinit.__all__) <= set(dir(fastinit))


def test_bare_source_tree_fails_with_a_clear_message(tmp_path):
    """No silent pure-Python fallback: without the compiled core, import fails."""
    import shutil

    src = tmp_path / "fastinit"
    shutil.copytree(os.path.dirname(fastinit.__file__), src,
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    # -S: no site-packages, so neither an installed nor an editable fastinit is found
    proc = subprocess.run([sys.executable, "-S", "-c", "import fastinit"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert "compiled core" in proc.stderr and "no pure-Python fallback" in proc.stderr


def test_compiled_core_is_loaded():
    from fastinit import _simd

    assert _simd.kernels.__file__.endswith((".so", ".pyd"))
    cfg = fastinit.get_config()
    assert cfg["kernels"] in ("baseline", "avx2", "avx512") and cfg["fastinit"] == fastinit.__version__


def _import_with(simd):
    env = dict(os.environ, FASTINIT_SIMD=simd)
    return subprocess.run([sys.executable, "-c", "import fastinit; fastinit.show_config()"],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())


def test_simd_choice_can_be_forced():
    proc = _import_with("baseline")
    assert proc.returncode == 0 and "kernels: baseline" in proc.stdout
    proc = _import_with("sse9")
    assert proc.returncode != 0 and "FASTINIT_SIMD must be one of" in proc.stderr


def test_importing_fastinit_does_not_import_optional_dependencies():
    code = ("import sys, fastinit; bad = [m for m in ('matplotlib', 'sklearn', 'scipy') "
            "if m in sys.modules]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tempfile.gettempdir())
    assert proc.stdout.strip() == "[]", proc.stderr


def test_the_kernel_stub_matches_every_compiled_module():
    """``_kernels_baseline.pyi`` (re-exported by the other modules' stubs)
    names exactly the public names of each kernel module, and each function's
    parameters in order (Cython functions carry real signatures)."""
    import ast
    import inspect

    from fastinit import _simd

    path = os.path.join(os.path.dirname(fastinit.__file__), "_kernels_baseline.pyi")
    tree = ast.parse(open(path, encoding="utf-8").read())
    functions = {n.name: [a.arg for a in n.args.args] for n in tree.body
                 if isinstance(n, ast.FunctionDef)}
    constants = {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    for name, module in _simd.available().items():
        public = {n for n in dir(module) if not n.startswith("_")}
        assert public == set(functions) | constants, name
        for function, parameters in functions.items():
            assert list(inspect.signature(getattr(module, function)).parameters) == parameters, \
                (name, function)


def test_installed_metadata_version_is_the_package_version():
    """The version pip and the wheel's name carry is ``fastinit.__version__``."""
    from importlib.metadata import version

    assert version("fastinit") == fastinit.__version__
