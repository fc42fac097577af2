"""The command line, run as a user runs it: in a subprocess."""
from __future__ import annotations

import subprocess
import sys
import tempfile

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
