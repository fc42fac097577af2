"""fastinit.train (the fused compiled loop) against the NumPy reference loop."""
from __future__ import annotations

import numpy as np
import pytest

import fastinit
from fastinit.engines import reference
from helpers import assert_close, random_data


@pytest.mark.parametrize(
    "layers_dims, m, init",
    [([2, 10, 5, 1], 300, "he"), ([2, 1], 50, "xavier"), ([3, 1, 1], 1, "he"),
     ([2, 7, 1], 33, "xavier"), ([4, 16, 8, 4, 2, 1], 130, "he"), ([2, 10, 5, 1], 64, "zeros")],
    ids=str,
)
def test_train_matches_reference(dtype, layers_dims, m, init):
    rng = np.random.default_rng(m)
    X, Y = random_data(layers_dims[0], m, rng, dtype)
    result = fastinit.train(X, Y, layers_dims, init=init, learning_rate=0.05,
                            num_iterations=250, dtype=dtype, record_every=50)
    initial = fastinit.initialize_parameters(layers_dims, init, dtype=dtype)
    params_ref, costs_ref = reference.train(X, Y.astype(dtype), initial, dtype.type(0.05), 250, 50)
    # 250 iterations compound the per-step rounding differences: allow 100x the kernel tolerance
    rtol = 100 * {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}[dtype]
    assert_close(result.costs, costs_ref, dtype, rtol=rtol)
    for key in initial:
        assert result.parameters[key].dtype == dtype
        assert_close(result.parameters[key], params_ref[key], dtype, rtol=rtol)


def test_seed_he_run_matches_reference_to_1e12(seed_data):
    X, Y = seed_data[:2]
    result = fastinit.train(X, Y, [2, 10, 5, 1], init="he")
    initial = fastinit.initialize_parameters([2, 10, 5, 1], "he")
    _, costs_ref = reference.train(X, Y, initial, 0.01, 15000)
    np.testing.assert_allclose(result.costs, costs_ref, rtol=1e-12)


def test_float32_training_tracks_float64(seed_data):
    X, Y = seed_data[:2]
    r64 = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=3000)
    r32 = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=3000, dtype="float32")
    assert r32.dtype == np.float32 and r32.parameters["W1"].dtype == np.float32
    np.testing.assert_allclose(r32.costs, r64.costs, rtol=1e-5)


def test_result_fields_and_recording(seed_data):
    X, Y, tX, tY = seed_data
    r = fastinit.train(X, Y, [2, 4, 1], num_iterations=2500, record_every=1000, seed=5)
    assert list(r.cost_iterations) == [0, 1000, 2000] and r.costs.shape == (3,)
    assert r.layers_dims == [2, 4, 1] and r.init == "he" and r.seed == 5
    assert r.num_iterations == 2500 and r.learning_rate == 0.01 and r.elapsed > 0
    assert set(r.parameters) == {"W1", "b1", "W2", "b2"}
    assert r.parameters["b1"].shape == (4, 1)
    assert r.predict(tX).shape == (1, 100) and 0 <= r.accuracy(tX, tY) <= 1
    assert r.predict_proba(tX).shape == (1, 100)


def test_zero_iterations_returns_initial_parameters(seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 3, 1], num_iterations=0)
    assert r.costs.shape == (0,)
    initial = fastinit.initialize_parameters([2, 3, 1])
    for key in initial:
        np.testing.assert_array_equal(r.parameters[key], initial[key])


def test_training_is_deterministic(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2000, init="random")
    b = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2000, init="random")
    np.testing.assert_array_equal(a.costs, b.costs)
    for key in a.parameters:
        np.testing.assert_array_equal(a.parameters[key], b.parameters[key])


def test_seed_argument_changes_initialization(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 3, 1], num_iterations=1, seed=1)
    b = fastinit.train(X, Y, [2, 3, 1], num_iterations=1, seed=2)
    assert not np.array_equal(a.parameters["W1"], b.parameters["W1"])


def test_print_cost_prints_like_the_seed(seed_data, capsys):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 3, 1], num_iterations=2001, print_cost=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Cost after iteration {i}: {c}" for i, c in zip((0, 1000, 2000), r.costs)]


def test_training_does_not_modify_inputs(seed_data):
    X, Y = seed_data[:2]
    X0, Y0 = X.copy(), Y.copy()
    fastinit.train(X, Y, [2, 3, 1], num_iterations=10)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_one_dimensional_labels_and_boolean_labels(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 3, 1], num_iterations=10)
    b = fastinit.train(X, Y.ravel().astype(bool), [2, 3, 1], num_iterations=10)
    np.testing.assert_array_equal(a.costs, b.costs)


def test_xavier_initializer_scale():
    p = fastinit.initialize_parameters([400, 300, 1], "xavier", seed=0)
    assert np.std(p["W1"]) == pytest.approx(np.sqrt(1 / 400), rel=0.02)
    p = fastinit.initialize_parameters([400, 300, 1], "he", seed=0)
    assert np.std(p["W1"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    p32 = fastinit.initialize_parameters([4, 3, 1], "he", dtype=np.float32)
    np.testing.assert_array_equal(p32["W1"], fastinit.initialize_parameters_he([4, 3, 1])["W1"].astype(np.float32))
    np.testing.assert_array_equal(fastinit.initialize_parameters_xavier([4, 3, 1])["W1"],
                                  fastinit.initialize_parameters([4, 3, 1], "xavier")["W1"])


def test_minibatch_training_is_reproducible_and_matches_a_numpy_loop(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=600, batch_size=64, seed=7,
                       learning_rate=0.05, record_every=100)
    b = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=600, batch_size=64, seed=7,
                       learning_rate=0.05, record_every=100)
    np.testing.assert_array_equal(a.parameters["W1"], b.parameters["W1"])
    np.testing.assert_array_equal(a.costs, b.costs)
    # the same schedule written with the NumPy reference
    params = fastinit.initialize_parameters([2, 10, 5, 1], "he", seed=7)
    costs = []
    for step in range(600):
        if step % 5 == 0:  # 300 examples / 64 -> 5 batches per epoch
            order = fastinit.training.loop.epoch_order(300, step // 5, seed=7)
            assert sorted(order) == list(range(300))
            Xs, Ys = X[:, order], Y[:, order].astype(float)
        if step % 100 == 0:
            costs.append(reference.cross_entropy_from_logits(
                reference.forward_propagation(X, params)[1][-4], Y))
        k = step % 5
        Xb, Yb = Xs[:, 64 * k:64 * (k + 1)], Ys[:, 64 * k:64 * (k + 1)]
        grads = reference.backward_propagation(Xb, Yb, reference.forward_propagation(Xb, params)[1])
        params = reference.update_parameters(params, grads, 0.05)
    np.testing.assert_allclose(a.costs, costs, rtol=1e-10)
    for key in params:
        np.testing.assert_allclose(a.parameters[key], params[key], rtol=1e-9, atol=1e-12)
    c = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=600, batch_size=64, seed=8,
                       learning_rate=0.05)
    assert not np.array_equal(a.parameters["W1"], c.parameters["W1"])


def test_batch_size_at_least_m_is_full_batch(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 3, 1], num_iterations=50, batch_size=300)
    b = fastinit.train(X, Y, [2, 3, 1], num_iterations=50)
    np.testing.assert_array_equal(a.parameters["W1"], b.parameters["W1"])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        fastinit.train(X, Y, [2, 3, 1], batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        fastinit.train(X, Y, [2, 3, 1], batch_size=1.5)


def test_progress_callback_reports_every_call(seed_data):
    X, Y = seed_data[:2]
    seen = []
    fastinit.train(X, Y, [2, 3, 1], num_iterations=2500, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (2500, 2500) and all(t == 2500 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3


def _cost_of(parameters, X, Y):
    """The mean cross-entropy of parameters, by the NumPy reference."""
    logits = reference.forward_propagation(X, parameters)[1][-4]
    return reference.cross_entropy_from_logits(logits, np.asarray(Y, dtype=float))


@pytest.mark.parametrize("options", [{}, {"batch_size": 64}, {"engine": "blas"},
                                     {"engine": "blas", "batch_size": 64}], ids=str)
def test_final_cost_is_the_cost_of_the_returned_parameters(seed_data, options):
    X, Y = seed_data[:2]
    result = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=1500, learning_rate=0.05,
                            **options)
    assert result.final_cost == pytest.approx(_cost_of(result.parameters, X, Y), rel=1e-12)
    assert result.final_cost < result.costs[-1]  # 500 iterations past the last record
    start = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=0, **options)
    assert start.final_cost == pytest.approx(_cost_of(start.parameters, X, Y), rel=1e-12)


def test_final_cost_has_the_bits_of_a_recorded_cost(seed_data):
    X, Y = seed_data[:2]
    a = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=700)
    b = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=701, record_every=700)
    assert a.final_cost == b.costs[1]


def test_final_cost_of_a_diverged_run_is_that_of_the_kept_parameters(seed_data):
    X, Y = seed_data[0] * 1e10, seed_data[1]
    with pytest.warns(fastinit.DivergenceWarning):
        result = fastinit.train(X, Y, [2, 10, 5, 1], learning_rate=1e300, num_iterations=50)
    assert result.status == "diverged" and np.isfinite(result.final_cost)
    assert result.final_cost == pytest.approx(_cost_of(result.parameters, X, Y), rel=1e-12)


def test_train_models_reports_the_final_cost_of_train(seed_data):
    X, Y = seed_data[:2]
    runs = [("he", 1, 0.01), ("xavier", 2, 0.1)]
    batch = fastinit.training.loop.train_models(X, Y, [2, 10, 5, 1], runs, num_iterations=1000)
    for (init, seed, lr), got in zip(runs, batch):
        alone = fastinit.train(X, Y, [2, 10, 5, 1], init=init, seed=seed, learning_rate=lr,
                               num_iterations=1000, diagnostics=False)
        assert got.final_cost == alone.final_cost


@pytest.mark.parametrize("batch_size", [None, 64])
def test_a_warm_start_continues_where_training_stopped(seed_data, batch_size):
    X, Y = seed_data[:2]
    whole = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=400, batch_size=batch_size)
    first = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=200, batch_size=batch_size)
    second = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=200, batch_size=batch_size,
                            initial_parameters=first.parameters)
    if batch_size is None:  # full batch: the same iterations, the same bits
        for key in whole.parameters:
            np.testing.assert_array_equal(second.parameters[key], whole.parameters[key])
    assert second.costs[0] == pytest.approx(first.final_cost, rel=1e-15)
    with pytest.raises(ValueError, match=r"layer sizes \[2, 10, 5, 1\], but layers_dims"):
        fastinit.train(X, Y, [2, 10, 4, 1], initial_parameters=first.parameters)
    with pytest.raises(ValueError, match="initial_parameters must hold exactly"):
        fastinit.train(X, Y, [2, 10, 5, 1], initial_parameters={"W1": first.parameters["W1"]})


def test_minibatch_epochs_give_the_same_bits_for_any_thread_count():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 30_000))
    Y = (X[0] * X[1] > 0).astype(np.int64)
    runs = [fastinit.train(X, Y, [2, 8, 1], num_iterations=12, batch_size=12_000, n_threads=n,
                           learning_rate=0.5, record_every=5) for n in (1, 2)]
    np.testing.assert_array_equal(runs[0].parameters["W1"], runs[1].parameters["W1"])
    np.testing.assert_array_equal(runs[0].costs, runs[1].costs)


def test_blas_and_fused_minibatches_take_the_same_steps(seed_data):
    X, Y = seed_data[:2]
    fused, blas = (fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=300, batch_size=70,
                                  engine=engine, learning_rate=0.05) for engine in ("fused", "blas"))
    for key in fused.parameters:
        assert_close(blas.parameters[key], fused.parameters[key], np.float64, rtol=1e-10)


def test_epoch_order_is_a_seeded_permutation():
    a = fastinit.training.loop.epoch_order(1000, 3, seed=11)
    assert sorted(a) == list(range(1000))
    np.testing.assert_array_equal(a, fastinit.training.loop.epoch_order(1000, 3, seed=11))
    assert not np.array_equal(a, fastinit.training.loop.epoch_order(1000, 4, seed=11))
    assert not np.array_equal(a, fastinit.training.loop.epoch_order(1000, 3, seed=12))
    with pytest.raises(ValueError, match="seed must be an integer in"):
        fastinit.training.loop.epoch_order(10, 0, seed=-1)
