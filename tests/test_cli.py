"""The command line, run as a user runs it: in a subprocess."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest


def run(*args, cwd=None):
    # run outside the repository: "python -m" puts the working directory first on
    # sys.path, and the source tree there has no compiled core
    return subprocess.run([sys.executable, "-m", "fastinit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd or tempfile.gettempdir())


def test_compare_prints_costs_and_table():
    proc = run("compare", "--iterations", "2001")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "--- he initialization ---" in out
    assert out.count("Cost after iteration 2000:") == 3
    assert "3-layer NN with zeros initialization" in out and "fails to break symmetry" in out
    assert " ms" in out.splitlines()[-1]


def test_compare_quiet_float32_and_inits():
    proc = run("compare", "--iterations", "100", "--quiet", "--dtype", "float32",
               "--inits", "he", "xavier")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "Cost after" not in proc.stdout
    assert len(lines) == 4 and "xavier" in lines[-1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--iterations", "-5"], "num_iterations must be >= 0"),
        (["compare", "--learning-rate", "0"], "learning_rate must be a finite number > 0"),
        (["compare", "--inits", "bogus"], "invalid choice"),
        (["compare", "--iterations", "ten"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help():
    proc = run("compare", "--help")
    assert proc.returncode == 0 and "--learning-rate" in proc.stdout


def test_compare_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out.png"
    proc = run("compare", "--iterations", "1001", "--quiet", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 250  # four panels side by side


def test_readme_embeds_the_example_figure():
    """The README shows a real `compare --plot` output, kept in the repository."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "![" in readme and "(bench/figures/compare.png)" in readme
    data = (root / "bench" / "figures" / "compare.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") > 1000


def test_train_then_predict_from_npy_and_csv(tmp_path):
    model = tmp_path / "m.npz"
    proc = run("train", "--dataset", "blobs", "--iterations", "3000", "--learning-rate", "0.05",
               "--quiet", "--threads", "2", "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout and model.exists()
    import fastinit

    X, Y = fastinit.make_blobs(300, n_classes=3, seed=1)
    np.save(tmp_path / "x.npy", X.T[:20])
    np.savetxt(tmp_path / "x.csv", X.T[:20], delimiter=",")
    for name in ("x.npy", "x.csv"):
        proc = run("predict", str(model), str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        labels = [int(v) for v in proc.stdout.split()]
        assert len(labels) == 20 and np.mean(np.array(labels) == Y[0, :20]) > 0.8


@pytest.mark.parametrize(
    "args, message",
    [
        (["train"], "--out"),
        (["train", "--out", "/nonexistent-dir/m.npz", "--iterations", "1"], "No such file"),
        (["predict", "missing.npz", "x.npy"], "No such file"),
        (["train", "--layers", "0", "--out", "m.npz"], "layers_dims[1] must be a positive"),
        (["train", "--threads", "0", "--out", "m.npz"], "n_threads must be >= 1"),
    ],
)
def test_train_predict_bad_arguments(args, message, tmp_path):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_predict_rejects_a_malformed_model(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"junk")
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    proc = run("predict", str(tmp_path / "bad.npz"), str(tmp_path / "x.npy"))
    assert proc.returncode == 2 and "not a valid fastinit model file" in proc.stderr


def test_bench_prints_ratios():
    proc = run("bench", "--rounds", "2", "--iterations", "1500")
    assert proc.returncode == 0, proc.stderr
    assert "median ratio NumPy / fastinit" in proc.stdout and "recorded costs agree" in proc.stdout
    proc = run("bench", "--table", "--quick", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    for text in ("dgemm reaches", "seed He run", "m = 1e+05", "[784, 128, 64, 1]",
                 "float32 vs float64", "2 threads vs 1", "peak memory above the data",
                 "notebook loop", "mini-batch, m = 1e+04", "per example", "predict_proba"):
        assert text in proc.stdout
    proc = run("bench", "--paths", "--quick", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    assert "notebook loop, m = 300 (drop-in functions)" in proc.stdout
    assert "median of 1 interleaved paired rounds" in proc.stdout
    proc = run("bench", "--sweep", "--seeds", "1", "--iterations", "300", "--rounds", "2")
    assert proc.returncode == 0, proc.stderr
    assert "2 threads" in proc.stdout and "NumPy reference, serial" in proc.stdout
    assert "median of 2 paired rounds" in proc.stdout
    proc = run("bench", "--rounds", "0")
    assert proc.returncode == 2 and "rounds must be >= 1" in proc.stderr


def test_no_progress_line_when_not_a_terminal(tmp_path):
    proc = run("train", "--iterations", "3000", "--out", str(tmp_path / "m.npz"))
    assert proc.returncode == 0 and "iteration 3000 / 3000" not in proc.stderr
    assert proc.stdout.count("Cost after iteration") == 3
