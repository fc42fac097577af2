"""Long unattended runs: divergence, Ctrl-C, threads, determinism, resources."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import fastinit
from fastinit.training.loop import train_models
from fastinit.nn import layers

# ---------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------


def _diverging_run(**kw):
    """A learning rate large enough that the parameters overflow within the
    first compiled call (ReLU nets with merely large rates die instead)."""
    X, Y = fastinit.load_dataset()[:2]
    return fastinit.train(X * 1e10, Y, [2, 10, 5, 1], learning_rate=1e300,
                          num_iterations=5000, **kw)


def test_divergence_warns_and_keeps_last_finite_parameters():
    with pytest.warns(fastinit.DivergenceWarning, match="training diverged"):
        result = _diverging_run()
    assert result.status == "diverged"
    assert result.iterations_run == 0
    assert "between iterations 0 and" in result.message and "learning_rate" in result.message
    initial = fastinit.initialize_parameters([2, 10, 5, 1])
    for key, value in result.parameters.items():
        assert np.isfinite(value).all()
        np.testing.assert_array_equal(value, initial[key])  # nothing finite after iteration 0


def test_divergence_can_raise():
    with pytest.raises(fastinit.TrainingDivergedError, match="training diverged") as info:
        _diverging_run(on_divergence="raise")
    assert info.value.result.status == "diverged"
    assert all(np.isfinite(v).all() for v in info.value.result.parameters.values())


def test_non_finite_cost_stops_training_at_that_record():
    # a logistic regression whose weights grow until the logits overflow
    X, Y = fastinit.load_dataset()[:2]
    with pytest.warns(fastinit.DivergenceWarning):
        result = fastinit.train(X, Y, [2, 1], learning_rate=1e308, num_iterations=5000)
    assert result.status == "diverged" and result.iterations_run == 1000
    assert list(result.cost_iterations) == [0, 1000] and result.costs[-1] == np.inf
    assert "the cost became inf at iteration 1000" in result.message
    assert all(np.isfinite(v).all() for v in result.parameters.values())


def test_slow_learning_is_not_divergence():
    X, Y = fastinit.load_dataset()[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fastinit.train(X, Y, [2, 10, 5, 1], learning_rate=100, num_iterations=2000)
    assert result.status == "completed" and result.message == ""


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time, numpy as np, fastinit
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 200_000))
    Y = (X[0] * X[1] > 0).astype(int)
    print("ready", flush=True)
    try:
        fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=10**9, record_every=10**9)
    except KeyboardInterrupt as exc:
        print("caught", flush=True)
        r = exc.result
        again = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=r.iterations_run)
        same = all(np.array_equal(r.parameters[k], again.parameters[k]) for k in r.parameters)
        print("interrupted", r.status, r.iterations_run, same, flush=True)
        sys.exit(0)
    print("finished without interrupt", flush=True)
""")


@pytest.mark.slow
def test_sigint_interrupts_a_long_run_consistently():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # well inside the compiled loop
        proc.send_signal(signal.SIGINT)
        caught = proc.stdout.readline().strip()
        line = proc.stdout.readline().split()
        proc.wait(timeout=120)
    finally:
        proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert caught == "caught"
    assert line[:2] == ["interrupted", "interrupted"], line
    assert int(line[2]) > 0
    assert line[3] == "True"  # parameters are exactly those after iterations_run iterations
    # how long Ctrl-C takes is measured, not asserted: bench/threads.py


# ---------------------------------------------------------------------------
# threads and determinism
# ---------------------------------------------------------------------------


def _job(seed, out, index):
    X, Y = fastinit.load_dataset()[:2]
    out[index] = fastinit.train(X, Y, [2, 10, 5, 1], init="he", seed=seed, num_iterations=6000)


def test_eight_threads_match_serial_runs():
    """Trainings in 8 threads give the bits of the same trainings run serially
    (how much they overlap is measured in bench/threads.py, not asserted)."""
    n = 8
    serial, parallel = [None] * n, [None] * n
    for i in range(n):
        _job(i, serial, i)
    threads = [threading.Thread(target=_job, args=(i, parallel, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.costs, b.costs)
        for key in a.parameters:
            np.testing.assert_array_equal(a.parameters[key], b.parameters[key])


def test_same_inputs_same_bits_across_processes():
    code = ("import fastinit, numpy as np; X, Y = fastinit.load_dataset()[:2]; "
            "r = fastinit.train(X, Y, [2, 10, 5, 1], init='random', num_iterations=3000); "
            "print(np.concatenate([r.costs] + [v.ravel() for v in r.parameters.values()]).tobytes().hex())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tempfile.gettempdir(), check=True).stdout for _ in range(2)}
    assert len(runs) == 1


# ---------------------------------------------------------------------------
# resources
# ---------------------------------------------------------------------------


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _calls():
    X, Y, _, _ = fastinit.load_dataset()
    params = fastinit.initialize_parameters([2, 10, 5, 1])
    AL, cache = fastinit.forward_propagation(X, params)
    grads = fastinit.backward_propagation(X, Y, cache)
    bad = dict(params, W1=np.full((10, 2), np.nan))
    result = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=1)
    model_path = os.path.join(tempfile.mkdtemp(prefix="fastinit-rss-"), "m.npz")
    X_big = np.tile(X, 20)  # 6000 examples: 3 chunks, so 2 threads really run
    Y_big = np.tile(Y, 20)

    def rejected():
        try:
            fastinit.forward_propagation(X, bad)
        except ValueError:
            pass

    return {
        "train": lambda: fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=3),
        "train, threads and BLAS engine": lambda: (
            fastinit.train(X_big, Y_big, [2, 10, 5, 1], num_iterations=1, n_threads=2),
            fastinit.train(X, Y, [2, 32, 1], num_iterations=2, engine="blas")),
        "train_models": lambda: train_models(X, Y, [2, 10, 5, 1], [("he", 1, 0.01), ("zeros", 2, 0.1)],
                                             num_iterations=3, n_threads=2),
        "sweep": lambda: fastinit.sweep({"seed": [1, 2], "num_iterations": [2]}, n_threads=2),
        "forward_propagation": lambda: fastinit.forward_propagation(X, params),
        "backward_propagation": lambda: fastinit.backward_propagation(X, Y, cache),
        "update_parameters": lambda: fastinit.update_parameters(params, grads, 0.01),
        "predict_dec": lambda: fastinit.predict_dec(params, X),
        "predict_labels": lambda: fastinit.predict_labels(X, params),
        "compute_loss": lambda: fastinit.compute_loss(AL, Y),
        "relu/sigmoid": lambda: (fastinit.relu(X), fastinit.sigmoid(X)),
        "layers": lambda: (layers.linear_forward(X, params["W1"], params["b1"]),
                           layers.linear_backward(cache[0], X, params["W1"]),
                           layers.binary_cross_entropy_from_logits(cache[-4], Y)),
        "initializers": lambda: (fastinit.initialize_parameters_he([2, 10, 5, 1]),
                                 fastinit.initialize_parameters([2, 10, 5, 1], "orthogonal"),
                                 fastinit.calculate_gain("tanh")),
        "lsuv": lambda: fastinit.lsuv([2, 4, 1], X[:, :20]),
        "datasets": lambda: (fastinit.make_circles(50, noise=0.1, seed=1),
                             fastinit.make_moons(50, seed=1), fastinit.make_blobs(50, seed=1),
                             fastinit.make_spiral(50, seed=1), fastinit.make_xor(50, seed=1)),
        "diagnose": lambda: fastinit.diagnose(params, X[:, :50], Y[:, :50]),
        "model (seed API)": lambda: fastinit.model(X, Y, num_iterations=2, print_cost=False),
        "model files": lambda: (fastinit.save_model(model_path, result),
                                fastinit.load_model(model_path)),
        "rejected input": rejected,
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_calls()))
def test_repeated_calls_do_not_grow_memory(name):
    call = _calls()[name]
    for _ in range(500):  # warm up allocator pools and caches
        call()
    before = _rss_bytes()
    for _ in range(10_000):
        call()
    grown = _rss_bytes() - before
    assert grown < 4 * 2**20, f"{name}: resident memory grew by {grown / 2**20:.1f} MiB"


def test_library_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, Y = fastinit.load_dataset()[:2]
    fastinit.train(X, Y, [2, 3, 1], num_iterations=10, print_cost=True)
    fastinit.compare_initializations(num_iterations=10, print_cost=False)
    assert list(tmp_path.iterdir()) == []


# --- Reliability II: bounded work, honest numbers, errors that name their cause ---

@pytest.mark.parametrize("call, match", [
    (lambda X, Y: fastinit.train(X, Y, [2, 10**9, 1], num_iterations=1),
     r"training layers_dims \[2, 1000000000, 1\] on 300 examples would need [\d.]+ GiB"),
    (lambda X, Y: fastinit.initialize_parameters([2, 10**9, 1]),
     r"layers_dims \[2, 1000000000, 1\] would need [\d.]+ GiB"),
    (lambda X, Y: fastinit.train(X, Y, [2, 30_000, 30_000, 1], num_iterations=1),
     r"would need [\d.]+ GiB of memory, more than this machine"),
], ids=["wide layer", "initializer", "two wide layers"])
def test_allocations_beyond_the_machine_are_refused_before_they_happen(call, match):
    import tracemalloc

    X, Y = fastinit.load_dataset()[:2]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            call(X, Y)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20  # nothing big was attempted
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"learning_rate": 10**400}, ValueError, "learning_rate must be a finite number"),
    ({"negative_slope": 10**400}, ValueError, "negative_slope must be a finite number"),
    ({"progress": 5}, TypeError, "progress must be callable"),
    ({"init": fastinit.nn.initializers.Normal(std=1e300), "dtype": "float32"}, ValueError,
     "weights too large for float32"),
])
def test_bad_training_arguments_name_their_cause(kwargs, exc, match):
    X, Y = fastinit.load_dataset()[:2]
    with pytest.raises(exc, match=match):
        fastinit.train(X, Y, [2, 3, 1], num_iterations=2, **kwargs)


def test_gradient_check_names_bad_parameters():
    X, Y = fastinit.load_dataset()[:2]
    with pytest.raises(TypeError, match="parameters must be a dict"):
        fastinit.gradient_check("x", X, Y)
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        fastinit.gradient_check(fastinit.initialize_parameters([2, 3, 1]), X, Y, epsilon=10**400)


def test_a_finite_network_whose_cost_overflows_is_diverged_not_completed():
    X, Y = fastinit.load_dataset()[:2]
    start = {"W1": np.full((1, 2), 1e200), "b1": np.zeros((1, 1))}
    with pytest.warns(fastinit.DivergenceWarning, match="the cost of the parameters after "
                                                        "iteration 0 is (inf|nan)"):
        result = fastinit.train(X * 1e200, Y, [2, 1], num_iterations=0, initial_parameters=start)
    assert result.status == "diverged" and not np.isfinite(result.final_cost)


def _overflowing():
    X, Y = fastinit.load_dataset()[:2]
    params = fastinit.initialize_parameters([2, 10, 5, 1])
    return X * 1e300, Y, {k: v * 1e10 for k, v in params.items()}


@pytest.mark.parametrize("call, match", [
    (lambda X, Y, p: fastinit.forward_propagation(X, p),
     "forward_propagation: the values overflowed: layer 1's pre-activations"),
    (lambda X, Y, p: fastinit.predict_proba(X, p), "predict_proba: the values overflowed"),
    (lambda X, Y, p: fastinit.predict_labels(X, p), "predict_proba: the values overflowed"),
    (lambda X, Y, p: fastinit.predict(X, Y, p), "predict_proba: the values overflowed"),
    (lambda X, Y, p: fastinit.backward_propagation(X / 1e300, Y, fastinit.forward_propagation(
        X / 1e300, {"W1": np.abs(p["W1"]) * 1e-310, "b1": p["b1"] * 0, "W2": np.full((5, 10), 1e160),
                    "b2": p["b2"] * 0, "W3": np.full((1, 5), 1e160), "b3": p["b3"] * 0})[1]),
     "backward_propagation: the gradients overflowed"),
    (lambda X, Y, p: fastinit.update_parameters(
        p, {"d" + k: np.full_like(v, 1e300) for k, v in p.items()}, 1e300),
     "update_parameters: the step overflowed: the new W1"),
], ids=["forward", "predict_proba", "predict_labels", "predict", "backward", "update"])
def test_the_per_step_functions_never_return_a_quiet_inf_or_nan(call, match):
    X, Y, params = _overflowing()
    with pytest.raises(FloatingPointError, match=match):
        call(X, Y, params)


def test_records_that_cannot_fit_are_refused_before_training():
    X, Y = fastinit.load_dataset()[:2]
    with pytest.raises(ValueError, match=r"records \(num_iterations=10000000000000000000000"):
        fastinit.train(X, Y, [2, 3, 1], num_iterations=10**22, record_every=1)
