"""Every file fastinit writes is replaced whole or not at all.

The model files of ``save_model`` and ``fastinit train --out`` and the
figures of ``save_figure``, ``compare --plot`` and ``sweep --plot`` are
written through :func:`fastinit.io._files.atomic_write`: a failure at any point
(here: the final rename, or the renderer) leaves the old file byte for byte
and no temporary file behind.  The command line is run in-process here so
that the failures can be injected.
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import fastinit
from fastinit import cli

ROOT = Path(fastinit.__file__).resolve().parent


def _fail_rename(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("rename failed: disk gone")

    monkeypatch.setattr(os, "replace", broken)


@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")


@pytest.mark.parametrize(
    "args, option",
    [
        (["train", "--iterations", "10", "--quiet", "--out", "{path}"], "m.npz"),
        (["compare", "--iterations", "10", "--quiet", "--inits", "he", "--plot", "{path}"],
         "c.png"),
        (["sweep", "--n-seeds", "1", "--iterations", "10", "--quiet", "--plot", "{path}"],
         "s.png"),
    ],
)
def test_command_line_outputs_survive_a_failed_write(tmp_path, monkeypatch, capsys, args,
                                                     option):
    if "--plot" in args:
        pytest.importorskip("matplotlib").use("Agg")
    path = tmp_path / option
    path.write_bytes(b"precious old content")
    _fail_rename(monkeypatch)
    assert cli.main([a.format(path=path) for a in args]) == 2
    assert "rename failed: disk gone" in capsys.readouterr().err
    assert path.read_bytes() == b"precious old content"
    assert [p.name for p in tmp_path.iterdir()] == [option]
    monkeypatch.undo()
    assert cli.main([a.format(path=path) for a in args]) == 0
    assert path.read_bytes() != b"precious old content"
    assert [p.name for p in tmp_path.iterdir()] == [option]


def test_compare_plot_survives_a_renderer_failure(tmp_path, monkeypatch, capsys, agg):
    from matplotlib.figure import Figure

    path = tmp_path / "c.png"
    path.write_bytes(b"old")

    def crash(self, f, **kwargs):
        f.write(b"partial")
        raise ValueError("renderer crashed")

    monkeypatch.setattr(Figure, "savefig", crash)
    assert cli.main(["compare", "--iterations", "10", "--quiet", "--inits", "he",
                     "--plot", str(path)]) == 2
    assert "renderer crashed" in capsys.readouterr().err
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_save_model_survives_a_failed_rename(tmp_path, monkeypatch, seed_data):
    X, Y = seed_data[:2]
    path = tmp_path / "m.npz"
    fastinit.save_model(path, fastinit.train(X, Y, [2, 3, 1], num_iterations=5))
    before = path.read_bytes()
    _fail_rename(monkeypatch)
    with pytest.raises(OSError, match="rename failed"):
        fastinit.save_model(path, fastinit.train(X, Y, [2, 4, 1], num_iterations=5))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def _calls(module: str) -> list[tuple[str, ast.Call, str]]:
    """(called name, call, enclosing function) of every call in a module."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    found.append((name, node, function.name))
    return found


@pytest.mark.parametrize("module", ["cli.py", "plotting.py", "io/model_io.py"])
def test_writes_go_through_atomic_write(module):
    """No module that writes user files opens one for writing or saves a
    figure or an array to a path itself."""
    for name, call, function in _calls(module):
        if name == "open" and ast.unparse(call).startswith("os.open(os.devnull,"):
            continue  # the null device (cli's quiet end of a broken pipe), no user file
        if name == "open":
            modes = [a.value for a in call.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in call.keywords
                      if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            assert all(set(str(m)) <= set("rbt") for m in modes), (module, function, modes)
            assert len(modes) == len(call.args[1:2]) + sum(k.arg == "mode" for k in call.keywords)
        if name == "savefig":
            assert function == "save_figure", f"{module}: {function} calls savefig"
        if name in ("savez", "savez_compressed", "save", "savetxt", "tofile"):
            assert (module, function) == ("io/model_io.py", "_model_bytes"), (module, function)


def test_sweep_results_option_is_checked_not_created(tmp_path, capsys):
    """--results is appended to by fastinit.studies.sweeps; the command line only checks it."""
    assert cli.main(["sweep", "--n-seeds", "1", "--results", str(tmp_path)]) == 2
    assert f"--results '{tmp_path}' is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
