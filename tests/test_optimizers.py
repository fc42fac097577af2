"""Optimizers, learning-rate schedules, the L2 penalty, gradient clipping and
the losses of the compiled training loops (``_kernels_optim.pxi``,
:mod:`fastinit.nn.optimizers`, :mod:`fastinit.nn.losses`).

The registries are parametrized over (:data:`~fastinit.nn.optimizers.OPTIMIZERS`,
:data:`~fastinit.nn.optimizers.SCHEDULES`, :data:`~fastinit.nn.losses.LOSSES`): a new
entry is trained against its NumPy twin in :mod:`fastinit.engines.reference` without
touching this file (with its default hyper-parameters; add non-default
settings to ``OPTIMIZER_SETTINGS`` / ``SCHEDULE_SETTINGS``).

Tolerances of a training against ``reference.train`` (``TRAIN_RTOL``):

* float64: 1e-12.  Kernels and reference perform the same operations on the
  same numbers; they differ in the order of the example sums (lanes and
  chunks against NumPy's BLAS) and in FMA contraction, a few ulp (~1e-16) per
  step.  How far 60 steps carry these differences depends on the problem's
  conditioning, which the adaptive optimizers worsen: g / (sqrt(v) + eps)
  turns a near-zero gradient (a dead ReLU unit's weights, driven by the L2
  term only) into a full step.  Measured as the change of the reference's
  result under a 1-ulp perturbation of the initial parameters, the problems
  here stay below 5e-14 at lr = 0.01 (at lr = 0.05, RMSprop(alpha=0.9,
  momentum=0.7) with L2 reaches 7e-9, where no tolerance tells a bug from
  rounding), and kernels and reference agree to 4e-15.  A wrong formula (eps
  inside or outside the square root, a missing bias correction, dampening on
  the first step, L2 on the biases) shows at 1e-8 or worse.
* float32: 1e-4.  The per-operation tolerance of helpers.py is 1e-5 (a few
  dozen ulp of eps = 1.2e-7); 60 steps compound it, most for Adam, whose
  step m / sqrt(v) divides two rounded moments: the worst measured is 2.1e-5,
  so 1e-5 would be flaky and 1e-4 (10x, the house style allows 100x for
  120-250 steps) is used.  Single updates (no compounding) are held to
  helpers.RTOL.

The discrepancies these tests found when written (AMSGrad's maximum, the
gradient the engines report with L2 or clipping, the name in a validation
error) are fixed; their tests stay.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit
from fastinit.engines import reference
from fastinit.engines.fused import FusedEngine
from fastinit.engines.spec import NetworkSpec, Problem, pack
from fastinit._core._simd import kernels
from fastinit.nn.losses import LOSSES
from fastinit.nn.optimizers import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealing,
    ExponentialLR,
    OptimizerState,
    RMSprop,
    StepLR,
    get_optimizer,
)
from fastinit.training.loop import epoch_order, train_models
from helpers import RTOL, assert_close, random_network

TRAIN_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-4}

# Non-default settings per registry name (every registered optimizer is also
# tested with its defaults): momentum, Nesterov, dampening, the scikit-learn
# forms, AMSGrad, centered RMSprop with momentum, weight decay, Adagrad's
# lr_decay and initial accumulator.
OPTIMIZER_SETTINGS = {
    "sgd": [dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
            dict(momentum=0.8, dampening=0.3, weight_decay=0.01),
            dict(momentum=0.9, variant="sklearn"),
            dict(momentum=0.9, nesterov=True, variant="sklearn", weight_decay=0.01)],
    # centered with the default alpha: v - mean(g)^2 cancels more the smaller
    # alpha^t, and amplifies the rounding of the example sums with it
    "rmsprop": [dict(centered=True, momentum=0.5, weight_decay=0.01),
                dict(alpha=0.9, momentum=0.7)],
    "adam": [dict(betas=(0.8, 0.99), amsgrad=True, weight_decay=0.01),
             dict(variant="sklearn")],
    "adamw": [dict(amsgrad=True, weight_decay=0.1)],
    "adagrad": [dict(lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)],
}

# Settings that make each schedule change the learning rate within the steps
# trained here (its defaults would not: StepLR's step_size is 1000).
SCHEDULE_SETTINGS = {
    "step": dict(step_size=7, gamma=0.5),
    "exponential": dict(gamma=0.97),
    "invscaling": dict(power_t=0.6),
    "cosine": dict(t_max=25, eta_min=0.005),
}


def _label(obj) -> str:
    """A short test id: the class and its non-default fields."""
    defaults = type(obj)()
    changed = [f"{f.name}={getattr(obj, f.name)}" for f in dataclasses.fields(obj)
               if getattr(obj, f.name) != getattr(defaults, f.name)]
    return f"{type(obj).__name__}({', '.join(changed)})"


def _optimizers():
    cases = []
    for name, cls in OPTIMIZERS.items():
        for settings in [{}, *OPTIMIZER_SETTINGS.get(name, [])]:
            opt = cls(**settings)
            cases.append(pytest.param(opt, id=_label(opt)))
    return cases


def _schedules():
    return [pytest.param(cls(**SCHEDULE_SETTINGS.get(name, {})), id=name)
            for name, cls in SCHEDULES.items()]


OPTIMIZER_CASES = _optimizers()
SCHEDULE_CASES = _schedules()

# the training problem of the comparisons: small, m not a multiple of the
# batch size (the last batch of each epoch is shorter)
DIMS, M, BATCH, STEPS, RECORD, SEED = [3, 6, 4, 1], 97, 20, 60, 10, 5
MODES = [pytest.param(engine, batch, id=f"{engine}-{'full' if batch is None else 'batch'}")
         for engine in ("fused", "blas") for batch in (None, BATCH)]


def _data(dtype, loss=None, n_out=1, m=M, seed=0):
    """(X, Y as train takes it, Y as reference.train takes it) for a loss
    (None: 0/1 labels of one sigmoid unit)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((DIMS[0], m)).astype(dtype)
    targets = "binary" if loss is None else LOSSES[loss].targets
    if targets == "classes":
        Y = rng.integers(0, n_out, size=(1, m))
        return X, Y, reference.one_hot(Y[0], n_out).astype(dtype)
    if targets == "binary":
        Y = (rng.random((n_out, m)) < 0.5).astype(np.int64)
        return X, Y, Y.astype(dtype)
    if targets == "real":
        Y = rng.standard_normal((n_out, m)).astype(dtype)
        return X, Y, Y
    if targets == "counts":
        Y = rng.poisson(1.5, (n_out, m)).astype(dtype)
        return X, Y, Y
    raise AssertionError(f"no test targets for loss {loss!r} (targets {targets!r}): add them here")


def _train_both(X, Y, Y_ref, dims, dtype, engine, batch_size, *, optimizer, schedule=None,
                l2=0.0, clip_norm=None, loss=None, learning_rate=0.05, steps=STEPS):
    """fastinit.train and reference.train from the same parameters."""
    initial = random_network(dims, np.random.default_rng(1), dtype)
    result = fastinit.train(X, Y, dims, learning_rate=learning_rate, num_iterations=steps,
                            record_every=RECORD, dtype=dtype, engine=engine,
                            batch_size=batch_size, seed=SEED, initial_parameters=initial,
                            optimizer=optimizer, schedule=schedule, l2=l2, clip_norm=clip_norm,
                            loss=loss, diagnostics=False)
    params, costs = reference.train(
        X, Y_ref, initial, dtype.type(learning_rate), steps, RECORD, optimizer=optimizer,
        schedule=schedule, l2=l2, clip_norm=clip_norm, loss=loss, batch_size=batch_size,
        orders=lambda epoch: epoch_order(X.shape[1], epoch, seed=SEED))
    return result, params, costs


def _assert_matches(result, params, costs, dtype):
    assert result.status == "completed", result.message
    rtol = TRAIN_RTOL[dtype]
    assert_close(result.costs, costs, dtype, rtol=rtol)
    for key in params:
        assert result.parameters[key].dtype == dtype
        assert_close(result.parameters[key], params[key], dtype, rtol=rtol)


# ---------------------------------------------------------------------------
# 1. every optimizer and schedule against the NumPy reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("penalties", [{}, {"l2": 0.3, "clip_norm": 0.3}], ids=["plain", "l2-clip"])
@pytest.mark.parametrize("engine, batch_size", MODES)
@pytest.mark.parametrize("optimizer", OPTIMIZER_CASES)
def test_optimizer_trains_as_the_reference(optimizer, engine, batch_size, penalties, dtype):
    X, Y, Y_ref = _data(dtype)
    result, params, costs = _train_both(X, Y, Y_ref, DIMS, dtype, engine, batch_size,
                                        optimizer=optimizer, learning_rate=0.01, **penalties)
    _assert_matches(result, params, costs, dtype)
    assert result.optimizer == optimizer.with_lr(0.01) and result.l2 == penalties.get("l2", 0)
    assert result.optimizer_state.step == STEPS
    assert result.optimizer_state.slots.shape == optimizer.initial_state(
        sum(p.size for p in params.values()), dtype).shape


@pytest.mark.parametrize("optimizer", [SGD(momentum=0.9, nesterov=True),
                                       Adagrad(lr_decay=0.02)], ids=_label)
@pytest.mark.parametrize("engine, batch_size", MODES)
@pytest.mark.parametrize("schedule", SCHEDULE_CASES)
def test_schedule_trains_as_the_reference(schedule, engine, batch_size, optimizer, dtype):
    X, Y, Y_ref = _data(dtype)
    result, params, costs = _train_both(X, Y, Y_ref, DIMS, dtype, engine, batch_size,
                                        optimizer=optimizer, schedule=schedule, l2=0.1)
    _assert_matches(result, params, costs, dtype)
    assert result.schedule == schedule


def _schedule_formula(schedule, lr, t):
    """The documented learning rate of step t (torch.optim.lr_scheduler with
    the step count as counter; scikit-learn's inverse scaling)."""
    name = schedule.name
    if name == "constant":
        return lr
    if name == "step":
        return lr * schedule.gamma ** ((t - 1) // schedule.step_size)
    if name == "exponential":
        return lr * schedule.gamma ** (t - 1)
    if name == "invscaling":
        return lr / t ** schedule.power_t
    if name == "cosine":
        return (schedule.eta_min + (lr - schedule.eta_min)
                * (1 + math.cos(math.pi * (t - 1) / schedule.t_max)) / 2)
    pytest.fail(f"no documented formula for schedule {name!r}: add it to _schedule_formula")


@pytest.mark.parametrize("schedule", SCHEDULE_CASES)
def test_scheduled_lr_is_the_documented_formula(schedule):
    hyper = SGD(lr=0.05).hyper(schedule)
    rates = [kernels.scheduled_lr(hyper, t) for t in range(1, STEPS + 1)]
    assert rates[0] == 0.05  # the first step takes the base rate, as torch's schedulers
    for t, rate in enumerate(rates, start=1):
        assert rate == schedule.lr_at(0.05, t)  # the Python twin, to the bit
        assert rate == pytest.approx(_schedule_formula(schedule, 0.05, t), rel=1e-14)
    if schedule.name != "constant":  # the settings above do schedule something
        assert len(set(rates)) > 2


# ---------------------------------------------------------------------------
# 2. every loss
# ---------------------------------------------------------------------------

def _loss_formula(loss, Z, Y):
    """The documented loss of the logits Z, summed over the output units and
    averaged over the examples (Y as reference.train takes it)."""
    if loss == "mse":
        return np.mean(np.sum((Z - Y) ** 2 / 2, axis=0))
    if loss == "binary_cross_entropy":
        return np.mean(np.sum(np.logaddexp(0, Z) - Y * Z, axis=0))
    if loss == "categorical_cross_entropy":
        lse = np.log(np.sum(np.exp(Z), axis=0))
        return np.mean(lse - np.sum(Y * Z, axis=0))
    if loss == "poisson":  # scikit-learn's poisson_loss: xlogy(y, y / exp(z)) - y + exp(z)
        ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0)
        return np.mean(np.sum(ylogy - Y * Z - Y + np.exp(Z), axis=0))
    pytest.fail(f"no documented formula for loss {loss!r}: add it to _loss_formula")


@pytest.mark.parametrize("engine, batch_size", MODES)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_trains_as_the_reference(loss, engine, batch_size, dtype):
    n_out = 3  # multilabel for binary cross-entropy, 3 classes, 3 regression targets
    dims = [*DIMS[:-1], n_out]
    X, Y, Y_ref = _data(dtype, loss, n_out)
    result, params, costs = _train_both(X, Y, Y_ref, dims, dtype, engine, batch_size,
                                        optimizer=Adam(), loss=loss, l2=0.2)
    _assert_matches(result, params, costs, dtype)
    assert result.loss == loss
    # the first recorded cost: the documented loss of the initial logits plus the
    # L2 penalty (l2 / 2m) * sum of the squared weights
    initial = random_network(dims, np.random.default_rng(1), np.float64)
    Z = reference.forward_propagation(X.astype(np.float64), initial, loss=loss)[1][-4]
    weights = sum(np.sum(initial[f"W{l}"] ** 2) for l in range(1, len(dims)))
    expected = _loss_formula(loss, Z, Y_ref.astype(np.float64)) + 0.2 / (2 * M) * weights
    assert result.costs[0] == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12)
    # and final_cost is the same cost of the returned parameters (on all the data)
    final = {k: v.astype(np.float64) for k, v in result.parameters.items()}
    Z = reference.forward_propagation(X.astype(np.float64), final, loss=loss)[1][-4]
    weights = sum(np.sum(final[f"W{l}"] ** 2) for l in range(1, len(dims)))
    expected = _loss_formula(loss, Z, Y_ref.astype(np.float64)) + 0.2 / (2 * M) * weights
    assert result.final_cost == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("alias", sorted(fastinit.nn.losses.ALIASES))
def test_loss_aliases_train_as_their_loss(alias):
    name = fastinit.nn.losses.ALIASES[alias]
    n_out = 1 if name == "binary_cross_entropy" else 2
    X, Y, _ = _data(np.dtype(np.float64), name, n_out, m=40)
    runs = [fastinit.train(X, Y, [3, 4, n_out], loss=loss, num_iterations=20, record_every=5,
                           optimizer="adam") for loss in (alias, name)]
    assert runs[0].loss == name
    np.testing.assert_array_equal(runs[0].costs, runs[1].costs)
    for key in runs[1].parameters:
        np.testing.assert_array_equal(runs[0].parameters[key], runs[1].parameters[key])


def test_default_loss_is_the_cross_entropy_of_the_width():
    for n_out, name in [(1, "binary_cross_entropy"), (3, "categorical_cross_entropy")]:
        X, Y, _ = _data(np.dtype(np.float64), name, n_out, m=40)
        default = fastinit.train(X, Y, [3, 4, n_out], num_iterations=20, record_every=5)
        named = fastinit.train(X, Y, [3, 4, n_out], num_iterations=20, record_every=5, loss=name)
        assert default.loss == name
        np.testing.assert_array_equal(default.costs, named.costs)
        np.testing.assert_array_equal(default.parameters["W1"], named.parameters["W1"])


def test_outputs_and_predictions_follow_the_loss():
    X, Y, _ = _data(np.dtype(np.float64), "mse", 2, m=40)
    reg = fastinit.train(X, Y, [3, 4, 2], loss="mse", num_iterations=30, optimizer="adam")
    logits = reference.forward_propagation(X, reg.parameters, loss="mse")[1][-4]
    assert_close(reg.outputs(X), logits, np.float64)
    assert_close(reg.predict(X), logits, np.float64)
    with pytest.raises(ValueError, match="mse"):
        reg.predict_proba(X)
    X, Y, _ = _data(np.dtype(np.float64), "binary_cross_entropy", 3, m=40)
    multi = fastinit.train(X, Y, [3, 4, 3], loss="binary_cross_entropy", num_iterations=30)
    proba = reference.sigmoid(reference.forward_propagation(X, multi.parameters)[1][-4])
    assert_close(multi.predict_proba(X), proba, np.float64)
    np.testing.assert_array_equal(multi.predict(X), (proba > 0.5).astype(np.int64))
    assert multi.accuracy(X, Y) == np.mean(np.all((proba > 0.5) == Y, axis=0))


# ---------------------------------------------------------------------------
# 3. the gradient of the update, against finite differences
# ---------------------------------------------------------------------------

def _engine(X, Y_kernel, params, dims, loss, hyper, activation="tanh"):
    """A FusedEngine on a packed network, and its flat parameters."""
    act = kernels.ACTIVATION_CODES[activation]
    theta, layout, act_size = pack(params, dims, act)
    net = NetworkSpec(layout, act_size, act, 0.01, LOSSES[loss].code)
    problem = Problem(np.ascontiguousarray(X), np.ascontiguousarray(Y_kernel), net, hyper)
    return FusedEngine(problem, theta.size, 1), theta, layout


def _central_differences(f, theta, h=1e-6):
    grad = np.empty_like(theta)
    for p in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[p] += h
        down[p] -= h
        grad[p] = (f(up) - f(down)) / (2 * h)
    return grad


def _is_weight(layout):
    """True for the weights of a flat parameter vector (W1, b1, W2, b2, ...)."""
    sizes = [(int(n_out) * int(n_in), int(n_out)) for n_in, n_out in layout[:, :2]]
    return np.concatenate([np.r_[np.ones(w, bool), np.zeros(b, bool)] for w, b in sizes])


@pytest.mark.parametrize("loss", list(LOSSES))
def test_the_kernels_step_is_the_gradient_of_the_recorded_cost(loss):
    """One compiled step of SGD with lr = 1 moves the parameters by minus the
    gradient of the recorded cost (mean loss plus (l2 / 2m) * sum W^2):
    checked by central differences of the kernels' own cost, L2 included."""
    n_out = 1 if loss == "binary_cross_entropy" else 3
    dims = [3, 5, 4, n_out]
    X, _, Y_ref = _data(np.dtype(np.float64), loss, n_out, m=40)
    params = random_network(dims, np.random.default_rng(2))
    l2 = 0.7
    engine, theta, layout = _engine(X, Y_ref, params, dims, loss, SGD(lr=1.0).hyper(l2=l2))
    stepped = theta.copy()
    engine.run(stepped, np.zeros((1, theta.size)), 0, 1, False)
    fd = _central_differences(lambda th: engine.cost(th), theta)
    np.testing.assert_allclose(theta - stepped, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())
    # and the penalty's share is (l2 / m) W on the weights, nothing on the biases
    engine0, _, _ = _engine(X, Y_ref, params, dims, loss, SGD(lr=1.0).hyper())
    data_step = theta.copy()
    engine0.run(data_step, np.zeros((1, theta.size)), 0, 1, False)
    weights = _is_weight(layout)
    assert_close((data_step - stepped)[weights], l2 / 40 * theta[weights], np.float64)
    assert np.all((data_step - stepped)[~weights] == 0)


def _update(theta, grad, hyper, layout, m, t=1, state=None, slots=1):
    theta = theta.copy()
    state = np.zeros((slots, theta.size), theta.dtype) if state is None else state
    penalty = kernels.optimizer_update(theta=theta, grad=grad.copy(), state=state, hyper=hyper,
                                       t=t, layout=layout, m=m)
    return theta, penalty


def test_optimizer_update_adds_the_l2_gradient_to_the_weights_only(dtype):
    """kernels.optimizer_update with plain SGD, lr = 1 and zero state moves
    theta by -(g + (l2 / m) W): against central differences of
    dataset_cost's L2 part, and returns the penalty (l2 / 2m) sum W^2."""
    dims, m, l2 = [3, 5, 2], 25, 0.9
    X, _, Y_ref = _data(np.dtype(np.float64), "mse", 2, m=m)
    params = random_network(dims, np.random.default_rng(3))
    engine, theta, layout = _engine(X, Y_ref, params, dims, "mse", SGD(lr=1.0).hyper(l2=l2))
    penalty_of = lambda th: engine.cost(th, l2=l2) - engine.cost(th, l2=0.0)  # noqa: E731
    fd = _central_differences(penalty_of, theta)
    g = np.random.default_rng(4).standard_normal(theta.size)
    theta_d, g_d = theta.astype(dtype), g.astype(dtype)
    new, penalty = _update(theta_d, g_d, SGD(lr=1.0).hyper(l2=l2), layout, m)
    assert_close(theta_d - new, g_d + fd.astype(dtype), dtype, rtol=max(RTOL[dtype], 1e-7))
    assert penalty == pytest.approx(penalty_of(theta), rel=10 * RTOL[dtype])
    weights = _is_weight(layout)
    assert_close(fd[weights], l2 / m * theta[weights], np.float64, rtol=1e-7)
    assert np.all(np.abs(fd[~weights]) < 1e-9)


@pytest.mark.parametrize("max_norm", [0.05, 1e3])
def test_clipping_scales_the_penalised_gradient_as_torch(max_norm, dtype):
    """torch.nn.utils.clip_grad_norm_: g * min(1, max_norm / (||g|| + 1e-6)),
    g including the L2 penalty's gradient."""
    dims, m, l2 = [3, 5, 2], 25, 0.9
    params = random_network(dims, np.random.default_rng(3), dtype)
    theta, layout, _ = pack(params, dims)
    g = np.random.default_rng(4).standard_normal(theta.size).astype(dtype)
    total = g + np.where(_is_weight(layout), dtype.type(l2 / m) * theta, 0).astype(dtype)
    norm = np.sqrt(np.sum(total.astype(np.float64) ** 2))
    new, _ = _update(theta, g, SGD(lr=1.0).hyper(l2=l2, clip_norm=max_norm), layout, m)
    expected = total * min(1.0, max_norm / (norm + 1e-6))
    assert_close(theta - new, expected, dtype, rtol=max(RTOL[dtype], 1e-7))
    if max_norm < norm:
        assert np.linalg.norm((theta - new).astype(np.float64)) == pytest.approx(max_norm, rel=1e-5)


@pytest.mark.parametrize("optimizer", OPTIMIZER_CASES)
def test_one_update_equals_the_reference_update(optimizer, dtype):
    """kernels.optimizer_update and reference.update, step by step from a
    non-trivial state (steps 1 .. 5 with a schedule, L2 and clipping):
    the same elementwise operations, so the per-operation tolerance."""
    dims, m = [3, 5, 2], 25
    rng = np.random.default_rng(6)
    theta, layout, _ = pack(random_network(dims, rng, dtype), dims)
    opt = optimizer.with_lr(0.03)
    schedule = ExponentialLR(gamma=0.9)
    hyper = opt.hyper(schedule, 0.4, 0.8)
    state_k = opt.initial_state(theta.size, dtype)
    state_r = state_k.copy()
    theta_k, theta_r = theta.copy(), theta.copy()
    is_weight = _is_weight(layout)
    for t in range(1, 6):
        g = rng.standard_normal(theta.size).astype(dtype) * dtype.type(0.3)
        kernels.optimizer_update(theta=theta_k, grad=g.copy(), state=state_k, hyper=hyper, t=t,
                                 layout=layout, m=m)
        reference.update(theta_r, g, state_r, opt, t, is_weight, m, schedule, 0.4, 0.8)
        assert_close(theta_k, theta_r, dtype)
        assert_close(state_k, state_r, dtype)


# ---------------------------------------------------------------------------
# 4. train_models: each model exactly as train alone
# ---------------------------------------------------------------------------

# the last run diverges (learning rate below; with clipping too)
MIXED_RUNS = [
    ("he", 1, 0.01), ("he", 2, 0.05, Adam()), ("xavier", 3, 0.02, SGD(momentum=0.9, nesterov=True)),
    ("he", 4, 0.01, "rmsprop"),
    ("he", 5, 0.1, Adagrad(initial_accumulator_value=0.2, lr_decay=0.01)),
    ("he", 6, 0.01, AdamW(amsgrad=True)), ("he", 7, 0.01, RMSprop(centered=True, momentum=0.5)),
    ("he", 8, 0.003, Adam(variant="sklearn")), ("he", 9, None, SGD(momentum=0.9)),
]
HUGE_LR = {np.dtype(np.float64): 1e300, np.dtype(np.float32): 1e30}


@pytest.mark.parametrize("shared", [{}, {"schedule": StepLR(step_size=100, gamma=0.5),
                                         "l2": 0.5, "clip_norm": 0.3}], ids=["plain", "update"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_train_models_gives_each_model_what_train_gives(seed_data, n_threads, shared, dtype):
    X, Y = seed_data[:2]
    runs = [run if run[2] is not None else (*run[:2], HUGE_LR[dtype], *run[3:])
            for run in MIXED_RUNS]
    kw = dict(num_iterations=400, record_every=100, dtype=dtype, **shared)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # train_models does not warn of a divergence
        batch = train_models(X, Y, [2, 10, 5, 1], runs, n_threads=n_threads, **kw)
    statuses = set()
    for run, got in zip(runs, batch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastinit.DivergenceWarning)
            alone = fastinit.train(X, Y, [2, 10, 5, 1], init=run[0], seed=run[1],
                                   learning_rate=run[2], optimizer=run[3] if len(run) > 3 else None,
                                   diagnostics=False, **kw)
        statuses.add(got.status)
        assert (got.status, got.iterations_run) == (alone.status, alone.iterations_run)
        assert got.optimizer == alone.optimizer and got.schedule == alone.schedule
        np.testing.assert_array_equal(got.costs, alone.costs)
        for key in alone.parameters:
            np.testing.assert_array_equal(got.parameters[key], alone.parameters[key])
        assert got.optimizer_state.step == alone.optimizer_state.step
        np.testing.assert_array_equal(got.optimizer_state.slots, alone.optimizer_state.slots)
        assert got.final_cost == alone.final_cost or (np.isnan(got.final_cost)
                                                      and np.isnan(alone.final_cost))
    assert statuses == {"completed", "diverged"}


@pytest.mark.parametrize("n_threads", [1, 2])
def test_train_models_stops_a_model_diverging_midway_where_train_stops(n_threads):
    """Regression beyond the stable learning rate (see the divergence tests
    below): the model that diverges after a few hundred steps keeps the
    parameters and optimizer state train keeps; the others go on."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 50)), rng.standard_normal((1, 50))
    runs = [("he", 1, 0.1, Adam()), ("he", 2, 4.0, SGD(momentum=0.5)),
            ("xavier", 3, 0.5, "adagrad"), ("he", 4, 0.05, RMSprop(momentum=0.5))]
    kw = dict(num_iterations=1000, record_every=7, loss="mse", l2=0.1)
    batch = train_models(X, Y, [3, 1], runs, n_threads=n_threads, **kw)
    for (init, seed, lr, opt), got in zip(runs, batch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastinit.DivergenceWarning)
            alone = fastinit.train(X, Y, [3, 1], init=init, seed=seed, learning_rate=lr,
                                   optimizer=opt, diagnostics=False, **kw)
        assert (got.status, got.iterations_run) == (alone.status, alone.iterations_run)
        np.testing.assert_array_equal(got.costs, alone.costs)
        np.testing.assert_array_equal(got.parameters["W1"], alone.parameters["W1"])
        np.testing.assert_array_equal(got.optimizer_state.slots, alone.optimizer_state.slots)
        assert got.optimizer_state.step == alone.optimizer_state.step == got.iterations_run
    assert [r.status for r in batch] == ["completed", "diverged", "completed", "completed"]
    assert 0 < batch[1].iterations_run < 1000


# ---------------------------------------------------------------------------
# 5. resuming with optimizer_state
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine, batch_size", MODES)
@pytest.mark.parametrize("optimizer", [Adam(), SGD(momentum=0.9, dampening=0.1)], ids=_label)
def test_resuming_continues_exactly(optimizer, engine, batch_size):
    """2N steps at once == N steps, then N more from the returned parameters
    and optimizer_state: the moments, the schedule's and the bias
    corrections' step count and the mini-batch shuffle (which follows the
    global step: 36 is in the middle of an epoch of 5 batches) all resume."""
    X, Y, _ = _data(np.dtype(np.float64))
    kw = dict(learning_rate=0.05, optimizer=optimizer, schedule=StepLR(step_size=7, gamma=0.7),
              l2=0.1, clip_norm=1.0, engine=engine, batch_size=batch_size, record_every=6,
              diagnostics=False, seed=SEED)
    whole = fastinit.train(X, Y, DIMS, num_iterations=72, **kw)
    first = fastinit.train(X, Y, DIMS, num_iterations=36, **kw)
    handed = first.optimizer_state.copy()
    second = fastinit.train(X, Y, DIMS, num_iterations=36, initial_parameters=first.parameters,
                            optimizer_state=first.optimizer_state, **kw)
    assert first.optimizer_state.step == 36 and second.optimizer_state.step == 72
    for key in whole.parameters:
        np.testing.assert_array_equal(second.parameters[key], whole.parameters[key])
    np.testing.assert_array_equal(second.optimizer_state.slots, whole.optimizer_state.slots)
    np.testing.assert_array_equal(np.r_[first.costs, second.costs], whole.costs)
    assert second.final_cost == whole.final_cost
    # the state is what makes it exact: a bare warm start takes other steps
    warm = fastinit.train(X, Y, DIMS, num_iterations=36, initial_parameters=first.parameters, **kw)
    assert not np.array_equal(warm.parameters["W1"], whole.parameters["W1"])
    # and the state passed in is left as it was
    assert first.optimizer_state.step == handed.step
    np.testing.assert_array_equal(first.optimizer_state.slots, handed.slots)


def test_optimizer_state_is_validated(seed_data):
    X, Y = seed_data[:2]
    dims = [2, 3, 1]
    p0 = fastinit.initialize_parameters(dims)
    adam = fastinit.train(X, Y, dims, num_iterations=3, optimizer="adam").optimizer_state
    sgd = fastinit.train(X, Y, dims, num_iterations=3).optimizer_state
    P = adam.slots.shape[1]

    def resume(state, optimizer="adam", **kw):
        return fastinit.train(X, Y, kw.pop("dims", dims), num_iterations=2, optimizer=optimizer,
                              initial_parameters=kw.pop("params", p0), optimizer_state=state, **kw)

    with pytest.raises(ValueError,
                       match="optimizer_state belongs to SGD, but this training uses Adam"):
        resume(sgd)
    with pytest.raises(ValueError, match="optimizer_state belongs to Adam.* AdamW"):
        resume(adam, "adamw")
    with pytest.raises(ValueError, match=r"optimizer_state.slots must have shape \(3, "):
        resume(adam, Adam(amsgrad=True))
    with pytest.raises(ValueError, match=r"optimizer_state.slots must have shape \(2, 17\)"):
        resume(adam, dims=[2, 4, 1], params=fastinit.initialize_parameters([2, 4, 1]))
    with pytest.raises(TypeError, match="optimizer_state must be the OptimizerState"):
        resume({"step": 3})
    with pytest.raises(ValueError, match="optimizer_state.step must be >= 0"):
        resume(OptimizerState(Adam(), -1, np.zeros((2, P))))
    with pytest.raises(TypeError, match="optimizer_state.step must be an integer"):
        resume(OptimizerState(Adam(), 1.5, np.zeros((2, P))))
    with pytest.raises(ValueError, match="optimizer_state.slots must contain only finite"):
        resume(OptimizerState(Adam(), 1, np.full((2, P), np.nan)))
    with pytest.raises(ValueError, match=r"optimizer_state.slots\[1\] holds squares"):
        resume(OptimizerState(Adam(), 1, np.vstack([np.zeros(P), -np.ones(P)])))
    with pytest.raises(ValueError, match=r"optimizer_state.slots\[0\] holds squares"):
        resume(OptimizerState(Adagrad(), 1, -np.ones((1, P))), "adagrad")
    with pytest.raises(ValueError, match="optimizer_state resumes a training: pass its parameters"):
        fastinit.train(X, Y, dims, num_iterations=2, optimizer="adam", optimizer_state=adam)


# ---------------------------------------------------------------------------
# 6. thread count
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 2500])
def test_adam_gives_the_same_bits_on_any_thread_count(batch_size):
    m = 3 * kernels.CHUNK_EXAMPLES + 77  # several chunks: both threads work
    assert kernels.chunking(m)[1] >= 3
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3, m))
    Y = (X[0] * X[1] > 0).astype(np.int64).reshape(1, -1)
    runs = [fastinit.train(X, Y, [3, 12, 6, 1], num_iterations=24, record_every=6,
                           learning_rate=0.01, optimizer=Adam(amsgrad=True),
                           schedule=CosineAnnealing(t_max=20), l2=0.5, clip_norm=0.5,
                           n_threads=n, batch_size=batch_size, diagnostics=False)
            for n in (1, 2)]
    np.testing.assert_array_equal(runs[0].costs, runs[1].costs)
    for key in runs[0].parameters:
        np.testing.assert_array_equal(runs[0].parameters[key], runs[1].parameters[key])
    np.testing.assert_array_equal(runs[0].optimizer_state.slots, runs[1].optimizer_state.slots)


# ---------------------------------------------------------------------------
# 7. divergence keeps a consistent optimizer state
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("engine, batch_size", [("fused", None), ("blas", None), ("fused", 10)])
@pytest.mark.parametrize("optimizer", [SGD(momentum=0.5), SGD(momentum=0.9, variant="sklearn")],
                         ids=_label)
def test_a_diverged_training_returns_the_state_of_its_last_finite_parameters(
        optimizer, engine, batch_size):
    """Regression with a learning rate beyond the stable range: the
    parameters grow geometrically and the cost overflows after a few hundred
    steps.  The result keeps the last finite parameters and the optimizer
    state of that very step: training that many steps reproduces both."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 50)), rng.standard_normal((1, 50))
    kw = dict(learning_rate=4.0, optimizer=optimizer, loss="mse", record_every=7,
              engine=engine, batch_size=batch_size, diagnostics=False)
    with pytest.warns(fastinit.DivergenceWarning):
        r = fastinit.train(X, Y, [3, 1], num_iterations=5000, **kw)
    assert r.status == "diverged" and 0 < r.iterations_run < 5000
    assert r.optimizer_state.step == r.iterations_run
    assert np.isfinite(r.optimizer_state.slots).all()
    assert all(np.isfinite(p).all() for p in r.parameters.values())
    with warnings.catch_warnings():  # the kept parameters' cost may overflow: "diverged" too
        warnings.simplefilter("ignore", fastinit.DivergenceWarning)
        again = fastinit.train(X, Y, [3, 1], num_iterations=r.iterations_run, **kw)
    assert again.iterations_run == r.iterations_run
    for key in r.parameters:
        np.testing.assert_array_equal(again.parameters[key], r.parameters[key])
    np.testing.assert_array_equal(again.optimizer_state.slots, r.optimizer_state.slots)


def test_parameters_overflowing_between_records_roll_back_to_the_last_call():
    """No cost recorded after iteration 0: the divergence is found in the
    parameters at the end of a compiled call (49 iterations here), and the
    result keeps the parameters and the optimizer state of the call before."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((50, 8000)), rng.standard_normal((1, 8000))
    kw = dict(learning_rate=4.0, optimizer=SGD(momentum=0.5), loss="mse", record_every=10**6,
              diagnostics=False)
    with pytest.warns(fastinit.DivergenceWarning, match="parameters became NaN or infinite"):
        r = fastinit.train(X, Y, [50, 1], num_iterations=5000, **kw)
    assert r.status == "diverged" and 0 < r.iterations_run < 5000
    assert r.optimizer_state.step == r.iterations_run
    assert np.isfinite(r.optimizer_state.slots).all() and np.isfinite(r.parameters["W1"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastinit.DivergenceWarning)
        again = fastinit.train(X, Y, [50, 1], num_iterations=r.iterations_run, **kw)
    np.testing.assert_array_equal(again.parameters["W1"], r.parameters["W1"])
    np.testing.assert_array_equal(again.optimizer_state.slots, r.optimizer_state.slots)


@pytest.mark.parametrize("optimizer", [Adam(), Adagrad(initial_accumulator_value=0.25),
                                       RMSprop(momentum=0.9)], ids=_label)
def test_a_training_diverging_at_once_returns_the_initial_state(seed_data, optimizer):
    X, Y = seed_data[:2]
    with pytest.raises(fastinit.TrainingDivergedError) as info:  # in the first call
        fastinit.train(X * 1e10, Y, [2, 10, 5, 1], learning_rate=1e300, num_iterations=50,
                       optimizer=optimizer, on_divergence="raise", diagnostics=False)
    r = info.value.result
    assert r.status == "diverged" and r.iterations_run == 0 and r.optimizer_state.step == 0
    initial = optimizer.initial_state(r.optimizer_state.slots.shape[1], np.float64)
    np.testing.assert_array_equal(r.optimizer_state.slots, initial)
    for key, value in fastinit.initialize_parameters([2, 10, 5, 1]).items():
        np.testing.assert_array_equal(r.parameters[key], value)


# ---------------------------------------------------------------------------
# 8. validation data and early stopping
# ---------------------------------------------------------------------------

def _overfitting_problem():
    rng = np.random.default_rng(3)

    def make(m):
        X = rng.standard_normal((2, m))
        Y = ((X[0] * X[1] + 0.8 * rng.standard_normal(m)) > 0).astype(np.int64).reshape(1, -1)
        return X, Y

    return make(200), make(100)


def _val_loss(X, Y, parameters):
    return reference.loss_from_logits(reference.forward_propagation(X, parameters)[1][-4], Y)


@pytest.mark.parametrize("batch_size", [None, 64])
def test_early_stopping_keeps_the_best_validation_parameters(batch_size):
    (X, Y), (Xv, Yv) = _overfitting_problem()
    kw = dict(learning_rate=0.05, optimizer=Adam(), num_iterations=3000, record_every=50,
              validation=(Xv, Yv), batch_size=batch_size, l2=0.01)
    full = fastinit.train(X, Y, [2, 30, 30, 1], **kw)
    assert full.status == "completed" and full.best_iteration is None
    assert len(full.validation_costs) == len(full.costs) == 60
    assert full.validation_costs[0] == pytest.approx(
        _val_loss(Xv, Yv, fastinit.initialize_parameters([2, 30, 30, 1])), rel=1e-12)
    assert np.argmin(full.validation_costs) < 40  # it does overfit: the loss rises again

    stopped = fastinit.train(X, Y, [2, 30, 30, 1], patience=3, **kw)
    assert stopped.status == "early_stopped" and "early stopping" in stopped.message
    assert len(stopped.validation_costs) == len(stopped.costs) < 60
    best = int(np.argmin(stopped.validation_costs))
    assert stopped.best_iteration == stopped.cost_iterations[best] == stopped.iterations_run
    assert stopped.optimizer_state.step == stopped.best_iteration
    # exactly patience records without improvement after the best
    assert len(stopped.validation_costs) == best + 1 + 3
    # the returned parameters are those of the best record: same validation loss
    assert _val_loss(Xv, Yv, stopped.parameters) == pytest.approx(
        stopped.validation_costs[best], rel=1e-12)
    # ... and the same as training to that iteration
    to_best = fastinit.train(X, Y, [2, 30, 30, 1],
                             **{**kw, "num_iterations": stopped.best_iteration})
    for key in to_best.parameters:
        np.testing.assert_array_equal(stopped.parameters[key], to_best.parameters[key])
    np.testing.assert_array_equal(stopped.optimizer_state.slots, to_best.optimizer_state.slots)
    np.testing.assert_array_equal(stopped.validation_costs,
                                  full.validation_costs[:len(stopped.costs)])


def test_patience_that_never_runs_out_still_returns_the_best_parameters():
    """Training completes (status "completed"), and the parameters kept are
    the best of the records and the final ones, by validation loss."""
    (X, Y), (Xv, Yv) = _overfitting_problem()
    r = fastinit.train(X, Y, [2, 30, 30, 1], learning_rate=0.05, optimizer=Adam(),
                       num_iterations=1000, record_every=50, validation=(Xv, Yv), patience=1000)
    assert r.status == "completed" and len(r.validation_costs) == len(r.costs) == 20
    kept = _val_loss(Xv, Yv, r.parameters)
    assert kept == pytest.approx(r.validation_costs.min(), rel=1e-12)
    assert r.best_iteration == r.iterations_run == r.optimizer_state.step
    assert r.best_iteration == r.cost_iterations[np.argmin(r.validation_costs)] < 1000
    last = fastinit.train(X, Y, [2, 30, 30, 1], learning_rate=0.05, optimizer=Adam(),
                          num_iterations=1000, record_every=50)
    assert _val_loss(Xv, Yv, last.parameters) > kept


def test_a_validation_fraction_is_held_out_of_training():
    (X, Y), _ = _overfitting_problem()
    m, fraction = X.shape[1], 0.25
    r = fastinit.train(X, Y, [2, 8, 1], num_iterations=200, record_every=50, validation=fraction)
    full = fastinit.train(X, Y, [2, 8, 1], num_iterations=200, record_every=50)
    assert len(r.validation_costs) == len(r.costs) == 4
    # before the first step (same initial parameters): the training and the
    # validation losses are the means over the two parts of the data
    n_val = round(fraction * m)
    together = ((m - n_val) * r.costs[0] + n_val * r.validation_costs[0]) / m
    assert together == pytest.approx(full.costs[0], rel=1e-12)
    assert r.costs[0] != pytest.approx(full.costs[0], rel=1e-6)  # a real split
    assert not np.array_equal(r.parameters["W1"], full.parameters["W1"])
    assert full.validation_costs is None
    again = fastinit.train(X, Y, [2, 8, 1], num_iterations=200, record_every=50,
                           validation=fraction)
    np.testing.assert_array_equal(again.validation_costs, r.validation_costs)  # seeded split


def test_patience_needs_validation_data(seed_data):
    X, Y = seed_data[:2]
    with pytest.raises(ValueError, match="patience .*needs validation data"):
        fastinit.train(X, Y, [2, 3, 1], patience=3)


# ---------------------------------------------------------------------------
# 9. validation of the arguments
# ---------------------------------------------------------------------------

def _train(**kw):
    X, Y = fastinit.load_dataset()[:2]
    return fastinit.train(X, kw.pop("Y", Y), kw.pop("dims", [2, 3, 1]), num_iterations=1, **kw)


BAD_ARGUMENTS = [
    (lambda: _train(optimizer="adamax"), ValueError, r"optimizer must be one of \['sgd'"),
    (lambda: _train(optimizer=Adam), ValueError, "optimizer must be one of"),
    (lambda: _train(optimizer=3), ValueError, "optimizer must be one of"),
    (lambda: get_optimizer("adam", {"momentum": 0.9}), TypeError,
     "optimizer 'adam'.*unexpected keyword argument 'momentum'"),
    (lambda: SGD(lr=-0.1), ValueError, r"lr must be a finite number in \(0, inf\)"),
    (lambda: SGD(lr=0), ValueError, "lr must be a finite number"),
    (lambda: Adam(lr=float("nan")), ValueError, "lr must be a finite number"),
    (lambda: Adam(lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: _train(optimizer="adam", learning_rate=-1), ValueError, "learning_rate must be"),
    (lambda: _train(optimizer=SGD(lr=1e300), dtype="float32"), ValueError,
     "optimizer's lr must be representable in float32"),
    (lambda: SGD(momentum=-0.1), ValueError, r"momentum must be a finite number in \[0, 1\)"),
    (lambda: SGD(momentum=1.0), ValueError, "momentum must be"),
    (lambda: RMSprop(momentum=-1), ValueError, "momentum must be"),
    (lambda: SGD(dampening=1.5), ValueError, "dampening must be"),
    (lambda: SGD(nesterov=True), ValueError, "nesterov=True requires momentum > 0"),
    (lambda: SGD(momentum=0.9, nesterov=True, dampening=0.1), ValueError,
     "nesterov=True requires momentum > 0 and dampening = 0"),
    (lambda: SGD(momentum=0.9, nesterov=1), TypeError, "nesterov must be True or False"),
    (lambda: SGD(variant="keras"), ValueError, "variant must be one of"),
    (lambda: Adam(betas=(0.9,)), TypeError, "betas must be a pair"),
    (lambda: Adam(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be"),
    (lambda: Adam(eps=0), ValueError, "eps must be"),
    (lambda: Adam(amsgrad=True, variant="sklearn"), ValueError, "amsgrad is not part of"),
    (lambda: RMSprop(alpha=1.0), ValueError, "alpha must be"),
    (lambda: RMSprop(centered="yes"), TypeError, "centered must be True or False"),
    (lambda: AdamW(weight_decay=-0.1), ValueError, "weight_decay must be"),
    (lambda: Adagrad(lr_decay=-1), ValueError, "lr_decay must be"),
    (lambda: Adagrad(initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value must be"),
    (lambda: _train(schedule="linear"), ValueError, r"schedule must be one of \['constant'"),
    (lambda: _train(schedule=StepLR), ValueError, "schedule must be one of"),
    (lambda: StepLR(step_size=0), ValueError, "step_size must be an int"),
    (lambda: StepLR(step_size=2.5), TypeError, "step_size must be an int"),
    (lambda: StepLR(step_size=2**53 + 1), ValueError, "step_size must be an int"),
    (lambda: ExponentialLR(gamma=0), ValueError, "gamma must be"),
    (lambda: ExponentialLR(gamma=1.5), ValueError, "gamma must be"),
    (lambda: fastinit.nn.optimizers.InvScaling(power_t=-1), ValueError, "power_t must be"),
    (lambda: CosineAnnealing(t_max=0), ValueError, "t_max must be an int"),
    (lambda: CosineAnnealing(eta_min=-1), ValueError, "eta_min must be"),
    (lambda: _train(l2=-0.1), ValueError, r"l2 must be a finite number in \[0, inf\)"),
    (lambda: _train(l2=float("nan")), ValueError, "l2 must be"),
    (lambda: _train(l2="1"), TypeError, "l2 must be a real number"),
    (lambda: _train(clip_norm=-1), ValueError, r"clip_norm must be a finite number in \[0, inf\)"),
    (lambda: _train(clip_norm=float("inf")), ValueError, "clip_norm must be"),
    (lambda: _train(loss="hinge"), ValueError, r"loss must be one of \['binary_cross_entropy'"),
    (lambda: _train(loss=1), ValueError, "loss must be one of"),
    (lambda: _train(loss="categorical_cross_entropy"), ValueError,
     "categorical_cross_entropy' needs an output layer of >= 2 units"),
    (lambda: _train(loss="mse", dims=[2, 3, 2]), ValueError,
     r"Y must have shape \(2, 300\) .*for loss='mse', got \(1, 300\)"),
    (lambda: _train(loss="mse", Y=np.zeros((1, 299))), ValueError, r"Y must have shape \(1, 300\)"),
    (lambda: _train(loss="mse", Y=np.full((1, 300), np.nan)), ValueError,
     "Y must contain only finite"),
    (lambda: _train(loss="binary_cross_entropy", dims=[2, 3, 2], Y=np.full((2, 300), 0.5)),
     ValueError, "Y must contain only 0 and 1"),
    (lambda: _train(loss="bce", dims=[2, 3, 2], Y=np.zeros((3, 300))), ValueError,
     r"Y must have shape \(2, 300\)"),
    (lambda: _train(validation=1.0), ValueError, r"validation must be a finite number in \(0, 1\)"),
    (lambda: _train(validation=(1, 2, 3)), TypeError, "validation must be a fraction or a pair"),
    (lambda: _train(validation=(np.zeros((2, 5)), np.zeros((2, 5)))), ValueError,
     "validation Y must"),
    (lambda: _train(validation=0.2, patience=0), ValueError, "patience must be >= 1"),
    (lambda: _train(validation=0.2, tol=-1), ValueError, "tol must be"),
    (lambda: train_models(*fastinit.load_dataset()[:2], [2, 3, 1], [("he", 1, 0.1, "adamax")]),
     ValueError, "optimizer must be one of"),
    (lambda: train_models(*fastinit.load_dataset()[:2], [2, 3, 1], [("he", 1, 0.1)], l2=-1),
     ValueError, "l2 must be"),
    (lambda: _train(validation=(np.zeros((3, 5)), np.zeros((1, 5)))), ValueError,
     "validation X must have 2 rows"),
]


@pytest.mark.parametrize("call, error, match", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------
# 10. the default update is still the seed's, to the bit
# ---------------------------------------------------------------------------

def test_the_default_update_is_plain_gradient_descent_to_the_bit(seed_data):
    """The seed run ([2, 10, 5, 1], He, lr 0.01, 15000 iterations): without
    optimizer= and with SGD() it takes exactly the notebook's steps, which
    the per-layer kernels take one by one (forward, backward, update)."""
    X, Y = seed_data[:2]
    dims = [2, 10, 5, 1]
    params = fastinit.initialize_parameters(dims, "he")
    for _ in range(15000):
        grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, params)[1])
        params = fastinit.update_parameters(params, grads, 0.01)
    default = fastinit.train(X, Y, dims, init="he", learning_rate=0.01)
    sgd = fastinit.train(X, Y, dims, init="he", learning_rate=0.01, optimizer=SGD())
    np.testing.assert_array_equal(sgd.costs, default.costs)
    for key in params:
        np.testing.assert_array_equal(default.parameters[key], params[key])
        np.testing.assert_array_equal(sgd.parameters[key], params[key])
    assert default.optimizer == sgd.optimizer == SGD(lr=0.01)
    assert default.optimizer_state.slots.shape[0] == 1 and default.optimizer_state.step == 15000
    # the other spellings of plain gradient descent, and two that leave the
    # kernel's plain path but compute the same theta - lr * g
    short = fastinit.train(X, Y, dims, num_iterations=2000)
    for options in [dict(optimizer="sgd"), dict(optimizer=SGD(lr=0.01)),
                    dict(schedule="constant", l2=0.0, clip_norm=None), dict(clip_norm=0),
                    dict(clip_norm=1e300), dict(schedule=StepLR(step_size=10**6))]:
        r = fastinit.train(X, Y, dims, num_iterations=2000, **options)
        np.testing.assert_array_equal(r.costs, short.costs)
        for key in params:
            np.testing.assert_array_equal(r.parameters[key], short.parameters[key])


# ---------------------------------------------------------------------------
# Once discrepancies (fixed): both engines report the gradient the step used;
# AMSGrad is torch's computation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("penalty", [{"l2": 5.0}, {"clip_norm": 0.01}], ids=str)
def test_both_engines_report_the_same_gradient_norms(seed_data, penalty):
    X, Y = seed_data[:2]
    runs = [fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=3, record_every=1, engine=engine,
                           **penalty) for engine in ("fused", "blas")]
    assert_close(runs[0].diagnostics.grad_norm, runs[1].diagnostics.grad_norm, np.float64,
                 rtol=1e-10)


def _torch_amsgrad(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.Adam(amsgrad=True) as torch/optim/adam.py computes it
    (_single_tensor_adam): the running maximum of the raw second moment,
    divided by the current bias correction."""
    theta = theta.copy()
    m1, m2, vmax = (np.zeros_like(theta) for _ in range(3))
    for t, g in enumerate(grads, start=1):
        m1 = betas[0] * m1 + (1 - betas[0]) * g
        m2 = betas[1] * m2 + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, m2)
        denom = np.sqrt(vmax) / math.sqrt(1 - betas[1] ** t) + eps
        theta -= lr / (1 - betas[0] ** t) * m1 / denom
    return theta


@pytest.mark.parametrize("kind", ["kernel", "reference"])
def test_amsgrad_is_torchs(kind):
    dims = [3, 5, 2]
    rng = np.random.default_rng(0)
    theta, layout, _ = pack(random_network(dims, rng), dims)
    grads = [rng.standard_normal(theta.size) * (0.1 if t % 3 else 2.0) for t in range(20)]
    opt = Adam(lr=0.01, amsgrad=True)
    state = opt.initial_state(theta.size, np.float64)
    got = theta.copy()
    for t, g in enumerate(grads, start=1):
        if kind == "kernel":
            kernels.optimizer_update(theta=got, grad=g.copy(), state=state, hyper=opt.hyper(),
                                     t=t, layout=layout, m=1)
        else:
            reference.optimizer_step(got, g, state, opt, t, 0.01)
    np.testing.assert_allclose(got, _torch_amsgrad(theta, grads, 0.01), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# External oracles, where installed: torch.optim and scikit-learn's optimizers
# ---------------------------------------------------------------------------

def _torch_optimizer(torch, opt, params):
    """The torch.optim counterpart of a fastinit optimizer."""
    common = dict(lr=opt.lr, weight_decay=opt.weight_decay)
    if opt.name == "sgd":
        return torch.optim.SGD(params, momentum=opt.momentum, dampening=opt.dampening,
                               nesterov=opt.nesterov, **common)
    if opt.name == "rmsprop":
        return torch.optim.RMSprop(params, alpha=opt.alpha, eps=opt.eps, momentum=opt.momentum,
                                   centered=opt.centered, **common)
    if opt.name in ("adam", "adamw"):
        cls = torch.optim.Adam if opt.name == "adam" else torch.optim.AdamW
        return cls(params, betas=opt.betas, eps=opt.eps, amsgrad=opt.amsgrad, **common)
    if opt.name == "adagrad":
        return torch.optim.Adagrad(params, lr_decay=opt.lr_decay, eps=opt.eps,
                                   initial_accumulator_value=opt.initial_accumulator_value,
                                   **common)
    pytest.fail(f"no torch.optim counterpart for optimizer {opt.name!r}: add it here")


def _torch_cases():
    cases = []
    for case in OPTIMIZER_CASES:
        opt = case.values[0]
        if getattr(opt, "variant", "torch") != "torch":
            continue  # scikit-learn's forms: test_sklearn_variants_are_sklearns
        cases.append(pytest.param(opt, id=case.id))
    return cases


@pytest.mark.parametrize("with_schedule", [False, True], ids=["constant", "cosine-clip"])
@pytest.mark.parametrize("optimizer", _torch_cases())
def test_optimizers_are_torchs(optimizer, with_schedule):
    """reference.optimizer_step and the kernels' update against torch.optim
    (float64, 20 steps; with a CosineAnnealingLR scheduler and
    clip_grad_norm_ too)."""
    torch = pytest.importorskip("torch")
    dims = [3, 5, 2]
    rng = np.random.default_rng(0)
    theta, layout, _ = pack(random_network(dims, rng), dims)
    grads = [rng.standard_normal(theta.size) * (0.1 if t % 3 else 2.0) for t in range(20)]
    opt = optimizer.with_lr(0.02)
    schedule = CosineAnnealing(t_max=8, eta_min=0.001) if with_schedule else None
    clip = 1.5 if with_schedule else None
    p = torch.tensor(theta.copy(), dtype=torch.float64, requires_grad=True)
    t_opt = _torch_optimizer(torch, opt, [p])
    t_sched = (torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=8, eta_min=0.001)
               if with_schedule else None)
    hyper = opt.hyper(schedule, 0.0, clip)
    kernel, ref = theta.copy(), theta.copy()
    state_k, state_r = opt.initial_state(theta.size, np.float64), opt.initial_state(theta.size,
                                                                                     np.float64)
    is_weight = _is_weight(layout)
    for t, g in enumerate(grads, start=1):
        kernels.optimizer_update(theta=kernel, grad=g.copy(), state=state_k, hyper=hyper, t=t,
                                 layout=layout, m=1)
        reference.update(ref, g, state_r, opt, t, is_weight, 1, schedule, 0.0, clip)
        p.grad = torch.tensor(g.copy(), dtype=torch.float64)
        if clip:
            torch.nn.utils.clip_grad_norm_([p], clip)
        t_opt.step()
        if t_sched is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_sched.step()
        expected = p.detach().numpy()
        np.testing.assert_allclose(ref, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(kernel, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", [case.values[0] for case in OPTIMIZER_CASES
                                       if getattr(case.values[0], "variant", "") == "sklearn"],
                         ids=_label)
def test_sklearn_variants_are_sklearns(optimizer):
    """variant="sklearn" against scikit-learn's own MLP optimizers (weight
    decay, which they lack, added to the gradient given them)."""
    pytest.importorskip("sklearn")
    from sklearn.neural_network import _stochastic_optimizers as sk

    dims = [3, 5, 2]
    rng = np.random.default_rng(0)
    theta, layout, _ = pack(random_network(dims, rng), dims)
    opt = optimizer.with_lr(0.02)
    if opt.name == "sgd":
        params = [theta.copy()]
        oracle = sk.SGDOptimizer(params, 0.02, momentum=opt.momentum, nesterov=opt.nesterov)
    else:
        params = [theta.copy()]
        oracle = sk.AdamOptimizer(params, 0.02, *opt.betas, opt.eps)
    kernel, ref = theta.copy(), theta.copy()
    state_k, state_r = (opt.initial_state(theta.size, np.float64) for _ in range(2))
    for t in range(1, 21):
        g = rng.standard_normal(theta.size)
        kernels.optimizer_update(theta=kernel, grad=g.copy(), state=state_k, hyper=opt.hyper(),
                                 t=t, layout=layout, m=1)
        reference.optimizer_step(ref, g, state_r, opt, t, 0.02)
        oracle.update_params(params, [g + opt.weight_decay * params[0]])
        np.testing.assert_allclose(ref, params[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(kernel, params[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_train_models_with_dropout_gives_each_run_its_own_masks(seed_data, n_threads):
    """Dropout in the batched kernel: each run's masks from its own seed, so
    every result has the bits of train() alone, for any thread count."""
    X, Y = seed_data[:2]
    runs = [("he", 1, 0.01, "adam"), ("he", 2, 0.01, "sgd"), ("xavier", 3, 0.05, "rmsprop")]
    batched = train_models(X, Y, [2, 10, 5, 1], runs, num_iterations=60, record_every=20,
                           keep_prob=[0.8, 0.6], n_threads=n_threads)
    for (init, seed, lr, opt), got in zip(runs, batched):
        alone = fastinit.train(X, Y, [2, 10, 5, 1], init=init, seed=seed, learning_rate=lr,
                               optimizer=opt, num_iterations=60, record_every=20,
                               keep_prob=[0.8, 0.6], diagnostics=False)
        for key in alone.parameters:
            np.testing.assert_array_equal(got.parameters[key], alone.parameters[key])
        np.testing.assert_array_equal(got.costs, alone.costs)
    assert not np.array_equal(batched[0].parameters["W1"],
                              train_models(X, Y, [2, 10, 5, 1], runs[:1], num_iterations=60,
                                           record_every=20)[0].parameters["W1"])


def test_keep_prob_below_the_masks_resolution_is_refused(seed_data):
    X, Y = seed_data[:2]
    with pytest.raises(ValueError, match=r"keep_prob must be at least 2\*\*-24"):
        fastinit.train(X, Y, [2, 3, 1], num_iterations=2, keep_prob=1e-9)
    with pytest.raises(ValueError, match="for hidden layer 2"):
        fastinit.train(X, Y, [2, 3, 3, 1], num_iterations=2, keep_prob=[0.5, 1e-30])
    # the smallest allowed one keeps about one unit in 2^24 and stays finite in float32
    r = fastinit.train(X, Y, [2, 3, 1], num_iterations=3, keep_prob=2.0 ** -24, dtype="float32")
    assert r.status == "completed" and np.isfinite(r.costs).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_valid_update_trains_without_surprises(data):
    """Random valid optimizers, schedules, penalties, clipping, dropout and
    dtypes: training ends "completed" with finite numbers or "diverged" with
    the last finite parameters, never with another exception or a NaN kept."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    name = data.draw(st.sampled_from(sorted(OPTIMIZERS)))
    unit = st.floats(0, 0.999)
    kw = {"weight_decay": data.draw(st.sampled_from([0.0, 1e-3, 10.0]))}
    if name in ("sgd", "rmsprop"):
        kw["momentum"] = data.draw(unit)
    if name in ("adam", "adamw"):
        kw["betas"] = (data.draw(unit), data.draw(unit))
        kw["eps"] = data.draw(st.sampled_from([1e-300, 1e-8, 1.0]))
    schedule = data.draw(st.sampled_from([None, "step", "exponential", "invscaling", "cosine"]))
    dims = [3, data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))]
    m = data.draw(st.integers(1, 40))
    X = rng.standard_normal((3, m)) * data.draw(st.sampled_from([1.0, 1e3]))
    Y = rng.integers(0, max(dims[-1], 2), m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastinit.DivergenceWarning)
        r = fastinit.train(
            X, Y, dims, optimizer=OPTIMIZERS[name](**kw),
            learning_rate=data.draw(st.sampled_from([1e-3, 0.1, 10.0, 1e6])), schedule=schedule,
            l2=data.draw(st.sampled_from([0.0, 0.5, 1e6])),
            clip_norm=data.draw(st.sampled_from([None, 1e-3, 1.0])),
            keep_prob=data.draw(st.sampled_from([None, 0.5, 2.0 ** -24, 1.0])),
            batch_size=data.draw(st.sampled_from([None, 1, 7])),
            dtype=data.draw(st.sampled_from(["float64", "float32"])),
            num_iterations=data.draw(st.integers(0, 30)), record_every=7, diagnostics=False)
    assert r.status in ("completed", "diverged")
    assert all(np.isfinite(v).all() for v in r.parameters.values())
    assert np.isfinite(r.optimizer_state.slots).all()
    assert r.optimizer_state.step == r.iterations_run
    if r.status == "completed":
        assert np.isfinite(r.final_cost)


def test_early_stopping_on_a_validation_loss_that_is_never_finite():
    """A validation loss that is inf from the first record: patience runs out
    and the first record's parameters are kept, with a matching state (no
    silently skipped steps)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 200))
    Y = X.sum(0, keepdims=True)
    Xv, Yv = np.full((3, 20), 1e200), np.zeros((1, 20))
    r = fastinit.train(X, Y, [3, 4, 1], learning_rate=0.01, num_iterations=1000,
                       record_every=100, seed=1, loss="mse", validation=(Xv, Yv), patience=2)
    assert r.status == "early_stopped" and r.best_iteration == 0
    assert r.iterations_run == 0 and r.optimizer_state.step == 0
    assert np.isinf(r.validation_costs).all() and len(r.validation_costs) == len(r.costs) == 3
    initial = fastinit.initialize_parameters([3, 4, 1], "he", seed=1)
    for key in initial:
        np.testing.assert_array_equal(r.parameters[key], initial[key])
