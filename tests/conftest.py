"""Fixtures shared by the tests; tolerances and helpers live in helpers.py."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit


def pytest_report_header(config):
    cfg = fastinit.get_config()
    return [
        f"fastinit {cfg['fastinit']} from {fastinit.__file__}",
        f"kernels: {cfg['kernel_module']} (cpu avx2: {cfg['cpu_has_avx2']})",
    ]


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(scope="session")
def seed_data():
    return fastinit.load_dataset()
