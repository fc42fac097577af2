"""The README's Python snippets run as they are, from the repository root,
after the README's set-up command (an editable install: the compiled kernels
sit in the source tree, so the root's ``fastinit`` is the built package): the
Quick start, and the section on optimizers (whose sweep table the README
pastes)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIMIZERS_SECTION = "## Optimizers, regularization and losses"


def _readme() -> str:
    return open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


def _section(heading: str) -> str:
    """The README's text from ``heading`` to the next top-level heading."""
    text = _readme()
    start = text.index(heading)
    return text[start:text.index("\n## ", start + 1)]


def _snippets(heading: str) -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", _section(heading), flags=re.S))


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})


def _skip_without_repository() -> None:
    if not os.path.isfile(os.path.join(ROOT, "README.md")):
        pytest.skip("the repository is not here (tests copied beside an installed wheel)")


def _quick_start() -> str:
    return _snippets("## Quick start")


@pytest.mark.slow
def test_quick_start_snippets_run_from_the_repository_root():
    _skip_without_repository()
    code = _quick_start()
    assert "initialize_parameters_he" in code and "FastInitClassifier" in code
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1.7886284734303186" in proc.stdout                  # the notebook's printed value
    assert "Accuracy: 0.9933333333333333" in proc.stdout


@pytest.mark.slow
def test_optimizer_snippets_run_and_print_the_readme_table():
    _skip_without_repository()
    code = _snippets(OPTIMIZERS_SECTION)
    assert "resume_kwargs" in code and "fastinit.sweep(" in code and "plot_sweep" in code
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = [line.rstrip() for line in proc.stdout.splitlines()]
    assert out[0].startswith("early_stopped ")                  # early stopping stopped it
    assert out[1] == "True"                                     # resumed = trained at once
    # the sweep's summary: the README pastes it (the lines after the snippets)
    pasted = re.findall(r"```\n(\d+ trainings.*?)```", _section(OPTIMIZERS_SECTION), flags=re.S)
    assert len(pasted) == 1
    readme_table = [line.rstrip() for line in pasted[0].splitlines()]
    printed = out[2:]
    assert len(printed) == len(readme_table) == 5 + 16
    assert printed[:5] == readme_table[:5]                      # what ran, and the header
    rows = {tuple(line.split()[:3]): line for line in printed[5:]}
    for line in readme_table[5:]:
        key = tuple(line.split()[:3])
        if key[0] == "zeros":                                   # exact: zero gradients
            assert rows[key] == line
        elif key[0] in ("he", "xavier") and key[1:] != ("sgd", "0.0"):
            assert " 100% " in rows[key], rows[key]             # every seed converges
