"""The registries, the kernels' codes and the NumPy twins stay in step: the
checks behind docs/extending.md (a step of a how-to left out fails here)."""
from __future__ import annotations

import numpy as np
import pytest

from fastinit.engines import reference
from fastinit.engines.spec import pack
from fastinit._core._simd import kernels
from fastinit.nn.activations import ACTIVATIONS
from fastinit.nn.losses import LOSSES
from fastinit.nn.optimizers import OPTIMIZERS, SCHEDULES

from helpers import random_network


def test_every_kernel_optimizer_has_a_registry_entry_and_back():
    assert {cls.kernel for cls in OPTIMIZERS.values()} == set(kernels.OPTIMIZER_CODES)
    assert all(name == cls.name for name, cls in OPTIMIZERS.items())


def test_every_kernel_loss_schedule_and_activation_is_registered():
    assert set(LOSSES) == set(kernels.LOSS_CODES)
    assert set(SCHEDULES) == set(kernels.SCHEDULE_CODES)
    assert set(ACTIVATIONS) == set(kernels.ACTIVATION_CODES)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizer_has_a_twin_that_agrees_with_its_kernel(name):
    """A few steps of the kernel's update against the NumPy twin's, with the
    registry's defaults."""
    dims = [3, 5, 2]
    rng = np.random.default_rng(1)
    theta, layout, _ = pack(random_network(dims, rng), dims)
    opt = OPTIMIZERS[name]().with_lr(0.01)
    hyper = opt.hyper()
    state = opt.initial_state(theta.size, np.float64)
    twin_theta, twin_state = theta.copy(), state.copy()
    for t in range(1, 6):
        g = rng.standard_normal(theta.size)
        kernels.optimizer_update(theta=theta, grad=g.copy(), state=state, hyper=hyper, t=t,
                                 layout=layout, m=10)
        reference.optimizer_step(twin_theta, g, twin_state, opt, t, np.float64(opt.lr))
    np.testing.assert_allclose(theta, twin_theta, rtol=1e-13, atol=1e-15)
    assert opt.n_slots <= state.shape[0]


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_each_schedule_twin_equals_its_kernel(name):
    sched = SCHEDULES[name]()
    hyper = OPTIMIZERS["sgd"](lr=0.1).hyper(sched)
    for t in (1, 2, 7, 1000, 20000):
        assert kernels.scheduled_lr(hyper, t) == pytest.approx(sched.lr_at(0.1, t), rel=1e-15)


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_loss_twin_equals_its_kernel(name):
    """Value and output of the kernel against reference.loss_from_logits and
    reference.output_activation, and training with it runs."""
    rng = np.random.default_rng(2)
    k, m = 3, 40
    Z = rng.standard_normal((k, m)) * 3
    entry = LOSSES[name]
    if entry.targets == "classes":
        Y = reference.one_hot(rng.integers(0, k, m), k)
    elif entry.targets == "binary":
        Y = rng.integers(0, 2, (k, m)).astype(np.float64)
    elif entry.targets == "counts":
        Y = rng.poisson(2.0, (k, m)).astype(np.float64)
    else:
        Y = rng.standard_normal((k, m))
    got = kernels.loss_from_logits(ZL=Z, Y=Y, loss=entry.code)
    assert got == pytest.approx(reference.loss_from_logits(Z, Y, name), rel=1e-13)
    dZ = np.empty_like(Z)
    kernels.output_gradient_from_logits(Z=Z, Y=Y, loss=entry.code, dZ=dZ)
    np.testing.assert_allclose(dZ, (reference.output_activation(Z, name) - Y) / m, rtol=1e-13,
                               atol=1e-16)


def test_the_command_line_offers_every_optimizer_and_schedule():
    from fastinit.cli import _build_parser

    parser = _build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions
                 if "--optimizer" in a.option_strings)
    assert list(train.choices) == list(OPTIMIZERS)
    schedule = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions
                    if "--schedule" in a.option_strings)
    assert set(schedule.choices) == set(SCHEDULES)


def test_extending_guide_names_the_routines_that_exist():
    """docs/extending.md points at routines by name: they must exist."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    guide = root / "docs" / "extending.md"
    if not guide.exists() or not list((root / "fastinit" / "_core").glob("*.pxi")):
        pytest.skip("the repository is not beside the tests (a copy run against a wheel)")
    text = guide.read_text()
    sources = "".join(p.read_text() for p in (root / "fastinit" / "_core").glob("*.pxi"))
    for routine in ("_slots_of", "_update", "_output_block", "_loss_block",
                    "_output_is_probability", "_output_gradient_block", "_scheduled_lr"):
        assert routine in text and f" {routine}(" in sources, routine
    for twin in ("optimizer_step", "output_activation", "loss_from_logits"):
        assert twin in text and hasattr(reference, twin), twin
