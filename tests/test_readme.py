"""The README's Quick start snippets run as they are, from the repository root,
after the README's set-up command (an editable install: the compiled kernels
sit in the source tree, so the root's ``fastinit`` is the built package)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quick_start() -> str:
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text[text.index("## Quick start"):text.index("\n## ", text.index("## Quick start") + 1)]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.S))


@pytest.mark.slow
def test_quick_start_snippets_run_from_the_repository_root():
    if not os.path.isfile(os.path.join(ROOT, "README.md")):
        pytest.skip("the repository is not here (tests copied beside an installed wheel)")
    code = _quick_start()
    assert "initialize_parameters_he" in code and "FastInitClassifier" in code
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1.7886284734303186" in proc.stdout                  # the notebook's printed value
    assert "Accuracy: 0.9933333333333333" in proc.stdout
