"""Packaging promises: the compiled core is what runs, the API is complete."""
from __future__ import annotations

import importlib
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
    from fastinit._core import _simd

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

    from fastinit._core import _simd

    path = os.path.join(os.path.dirname(fastinit.__file__), "_core", "_kernels_baseline.pyi")
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


# ------------------------------------------------------------ tiers and paths
# The package's folders are its tiers (see fastinit/__init__.py); a module may
# import from its own tier and the tiers before it.  The shared helpers at the
# top level sit just above the compiled core and serve every tier; the
# applications at the top level use them all.
TIERS = ["_core", "nn", "engines", "training", "io", "studies"]
SHARED = {"_validation", "_progress", "_version", "config", "exceptions", "_moved"}
APPLICATIONS = {"__init__", "__main__", "cli", "sklearn", "plotting", "compat"}
# (importing module, imported tier or module): why the edge goes upward
ALLOWED_UPWARD = {
    ("_validation", "nn"): "check_activation reads the activation registry (a lazy import)",
    ("studies.experiments", "plotting"): "plot=True draws the study's figure (a lazy import)",
    ("io.model_io", "sklearn"): "a model file of an estimator gives the estimator back (a lazy "
                                "import, only for such a file)",
}


def _package_imports():
    """(importing module, imported module) for every relative import of the
    package, both as dotted names under fastinit."""
    import ast

    root = os.path.dirname(fastinit.__file__)
    for dirpath, _, files in os.walk(root):
        package = os.path.relpath(dirpath, root).replace(os.sep, ".")
        parts = [] if package == "." else package.split(".")
        for name in files:
            if not name.endswith(".py"):
                continue
            module = ".".join(parts + [name[:-3]])
            tree = ast.parse(open(os.path.join(dirpath, name), encoding="utf-8").read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level:
                    base = parts[:len(parts) - (node.level - 1)]
                    if node.module:
                        yield module, ".".join(base + node.module.split("."))
                    else:
                        for alias in node.names:
                            yield module, ".".join(base + [alias.name])


def _tier(module):
    head = module.split(".")[0]
    if head in TIERS:
        return TIERS.index(head)
    if head in SHARED:  # after the compiled core (config reports it), before the rest
        return 0.5
    assert head in APPLICATIONS, f"fastinit.{module} is in no tier: add it to a folder"
    return len(TIERS)


def test_tiers_import_only_from_the_tiers_before_them():
    edges = list(_package_imports())
    assert len(edges) > 100
    upward = []
    for source, target in edges:
        allowed = (source, target.split(".")[0]) in ALLOWED_UPWARD
        if _tier(target) > _tier(source) and not allowed:
            upward.append(f"fastinit.{source} imports fastinit.{target}")
    assert not upward, "\n".join(upward)


def test_each_tier_folder_says_what_its_modules_are():
    root = os.path.dirname(fastinit.__file__)
    for tier in TIERS:
        doc = importlib.import_module(f"fastinit.{tier}").__doc__
        for name in os.listdir(os.path.join(root, tier)):
            stem = name.split(".")[0]
            if name.endswith((".py", ".pyx")) and stem != "__init__" and not stem.startswith(
                    "_kernels_"):
                assert f"``{stem}``" in doc, (tier, stem)


def test_old_module_paths_import_the_new_modules_with_a_warning(tmp_path):
    """0.1's paths (fastinit.initializers ...) give the moved module itself,
    with a DeprecationWarning naming the new path, attributed to the line that
    imported it; fresh interpreter, so no path is imported yet."""
    from fastinit._moved import MOVED

    script = tmp_path / "old_paths.py"
    script.write_text(
        "import importlib, sys, warnings\n"
        "import fastinit\n"
        "from fastinit._moved import MOVED\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import fastinit.datasets as d\n"
        "    from fastinit import reference\n"
        "assert len(caught) == 2 and all(w.filename == __file__ for w in caught), caught\n"
        "assert d.__name__ == 'fastinit.io.datasets' and reference.__name__ == 'fastinit.engines.reference'\n"
        "for old, new in MOVED.items():\n"
        "    sys.modules.pop(old, None)\n"
        "    with warnings.catch_warnings(record=True) as caught:\n"
        "        warnings.simplefilter('always')\n"
        "        got = importlib.import_module(old)\n"
        "    assert got is importlib.import_module(new), old\n"
        "    assert got.__spec__.name == new, got.__spec__.name\n"
        "    assert [w.category for w in caught] == [DeprecationWarning], (old, caught)\n"
        "    assert new in str(caught[0].message) and '0.3' in str(caught[0].message)\n"
        "try:\n"
        "    fastinit.no_such_thing\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_thing' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
        "print('ok', len(MOVED))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(len(MOVED))]
