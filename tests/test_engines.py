"""The two training engines (fused loop, BLAS products) and the threads of the
fused loop: both engines against the NumPy reference, the same bits for any
thread count, the crossover rule, and the validation of the new arguments."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastinit
from fastinit.nn.optimizers import SGD
from fastinit._core import threads as kernel_threads
from fastinit.engines import choice as engine_choice, fused as fused_engine, reference
from fastinit.engines import spec as engine_spec
from fastinit._core._simd import kernels
from helpers import assert_close, random_data

# A problem of several chunks of examples (at least 2048 examples each), so
# that several threads really run; not a multiple of the block size, so the
# partial last block is exercised too.
M_CHUNKED = 3 * kernels.CHUNK_EXAMPLES + 77


@pytest.mark.parametrize("engine", ["fused", "blas"])
@pytest.mark.parametrize(
    "layers_dims, m, activation",
    [([2, 10, 5, 1], 300, "relu"), ([3, 24, 24, 1], 200, "tanh"), ([5, 8, 3], 150, "relu"),
     ([2, 40, 1], 1, "leaky_relu"), ([4, 16, 8, 1], 129, "sigmoid")],
    ids=str,
)
def test_engine_matches_reference(dtype, engine, layers_dims, m, activation):
    rng = np.random.default_rng(m)
    X, Y = random_data(layers_dims[0], m, rng, dtype)
    if layers_dims[-1] > 1:
        Y = rng.integers(0, layers_dims[-1], size=(1, m))
    result = fastinit.train(X, Y, layers_dims, learning_rate=0.05, num_iterations=120,
                            dtype=dtype, record_every=40, engine=engine, activation=activation)
    initial = fastinit.initialize_parameters(layers_dims, "he", dtype=dtype)
    Y_ref = (reference.one_hot(Y[0], layers_dims[-1]) if layers_dims[-1] > 1 else Y).astype(dtype)
    params_ref, costs_ref = reference.train(X, Y_ref, initial, dtype.type(0.05), 120, 40,
                                            activation=activation)
    # 120 iterations compound the per-step rounding differences (see test_training)
    rtol = 100 * {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}[dtype]
    assert_close(result.costs, costs_ref, dtype, rtol=rtol)
    for key in initial:
        assert result.parameters[key].dtype == dtype
        assert_close(result.parameters[key], params_ref[key], dtype, rtol=rtol)


def test_blas_engine_is_chosen_for_wide_layers_only():
    assert engine_choice.choose_engine([2, 10, 5, 1], n_examples=300) == "fused"
    assert engine_choice.choose_engine([2, 64, 64, 1], n_examples=300) == "fused"  # measured 0.60
    assert engine_choice.choose_engine([2, 128, 128, 1], n_examples=300) == "blas"  # measured 1.07
    assert engine_choice.choose_engine([2, 256, 256, 1], n_examples=10**4) == "fused"  # 0.69
    assert engine_choice.choose_engine([256, 256, 1], n_examples=10**4) == "blas"  # wide input: 1.11
    assert engine_choice.choose_engine([2, 512, 512, 1], n_examples=10**5) == "blas"  # 1.72
    assert engine_choice.choose_engine([784, 128, 64, 1]) == "blas"
    assert engine_choice.choose_engine([784, 128, 64, 1], "fused") == "fused"
    with pytest.raises(ValueError, match="engine must be one of"):
        fastinit.train(np.zeros((2, 4)), np.zeros((1, 4)), [2, 1], engine="gpu")


def test_engines_agree_on_the_seed_run(seed_data):
    X, Y = seed_data[:2]
    fused = fastinit.train(X, Y, [2, 10, 5, 1], engine="fused")
    blas = fastinit.train(X, Y, [2, 10, 5, 1], engine="blas")
    np.testing.assert_allclose(blas.costs, fused.costs, rtol=1e-12)
    assert blas.accuracy(X, Y) == fused.accuracy(X, Y)


@pytest.mark.parametrize("batch_size", [None, 2500])
def test_thread_count_does_not_change_a_bit(dtype, batch_size):
    """Fixed chunks of examples, reduced in chunk order: 1, 2, 3 or all
    threads give identical costs, parameters and diagnostics."""
    rng = np.random.default_rng(7)
    X, Y = random_data(3, M_CHUNKED, rng, dtype)
    runs = [fastinit.train(X, Y, [3, 12, 6, 1], num_iterations=40, record_every=10,
                           dtype=dtype, n_threads=n, batch_size=batch_size)
            for n in (1, 2, 3, -1)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.costs, runs[0].costs)
        for key in runs[0].parameters:
            np.testing.assert_array_equal(other.parameters[key], runs[0].parameters[key])
        np.testing.assert_array_equal(other.diagnostics.grad_norm, runs[0].diagnostics.grad_norm)


def test_threads_used_follow_the_chunks():
    chunk = kernels.CHUNK_EXAMPLES
    assert kernels.chunking(300) == (chunk, 1)
    assert kernels.chunking(1) == (chunk, 1)
    assert chunk % kernels.BLOCK_SIZE == 0  # whole blocks of either dtype
    assert kernels.chunking(2 * chunk + 1)[1] == 3
    assert kernels.chunking(10**9)[1] <= 256  # the number of chunk gradients stays bounded
    assert kernel_threads.threads_used(300, 8) == 1  # small problems stay single-threaded
    expected = 2 if kernels.OPENMP else 1
    assert kernel_threads.threads_used(M_CHUNKED, 2) == expected


def test_fused_step_equals_explicit_step_across_chunks(dtype):
    """The per-layer kernels reduce chunk by chunk like the fused loop: one
    fused iteration equals forward + backward + update to the bit, also when
    m spans several chunks."""
    rng = np.random.default_rng(2)
    X, Y = random_data(2, M_CHUNKED, rng, dtype)
    dims = [2, 10, 5, 1]
    params = fastinit.initialize_parameters(dims, "he", dtype=dtype)
    grads = fastinit.backward_propagation(X, Y, fastinit.forward_propagation(X, params)[1])
    stepped = fastinit.update_parameters(params, grads, 0.01)
    trained = fastinit.train(X, Y, dims, num_iterations=1, dtype=dtype, n_threads=2).parameters
    for key in params:
        np.testing.assert_array_equal(trained[key], stepped[key])


@pytest.mark.parametrize("bad, error, match", [
    (0, ValueError, "n_threads must be >= 1"), (-2, ValueError, "n_threads must be >= -1"),
    (1.5, TypeError, "n_threads must be an integer"), ("2", TypeError, "n_threads must be an integer"),
    (True, TypeError, "n_threads must be an integer"),
])
def test_bad_n_threads_is_rejected(bad, error, match):
    with pytest.raises(error, match=match):
        fastinit.train(np.zeros((2, 4)), np.zeros((1, 4)), [2, 1], n_threads=bad)


def test_bias_activation_and_output_gradient_kernels_match_reference(dtype):
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((6, 301)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    for name, code in kernels.ACTIVATION_CODES.items():
        out = Z.copy()
        kernels.bias_activation(out, b, code, dtype.type(0.01))
        expected = reference.activation_forward(Z + b[:, None], name, 0.01)
        assert_close(out, expected, dtype, rtol=10 * {np.float64: 1e-12, np.float32: 1e-5}[dtype.type])
    for k in (1, 4):
        logits = rng.standard_normal((k, 301)).astype(dtype) * 3
        Y = np.ascontiguousarray(reference.one_hot(rng.integers(0, k, 301), k) if k > 1
                                 else rng.random((1, 301)) < 0.5, dtype=dtype)
        dZ = np.empty_like(logits)
        kernels.output_gradient_from_logits(logits, Y, k > 1, dZ)
        p = reference.softmax(logits) if k > 1 else reference.sigmoid(logits)
        assert_close(dZ, (p - Y) / 301, dtype, rtol=10 * {np.float64: 1e-12, np.float32: 1e-5}[dtype.type])


def _same_result(a, b):
    np.testing.assert_array_equal(a.costs, b.costs)
    for key in a.parameters:
        np.testing.assert_array_equal(a.parameters[key], b.parameters[key])
    assert (a.status, a.iterations_run, a.message) == (b.status, b.iterations_run, b.message)


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_models_equal_individual_trainings(dtype, threads):
    """train_models (one compiled call for many models) gives each model the
    bits of its own train() call, diverging ones included, for m over
    several chunks and any thread count."""
    from fastinit.training.loop import train_models

    rng = np.random.default_rng(11)
    X, Y = random_data(2, M_CHUNKED, rng, dtype)
    X *= 1e10  # with a huge learning rate, some models overflow
    huge = 1e300 if dtype == np.float64 else 1e30
    runs = [("he", 1, 1e-22), ("xavier", 2, 1e-21), ("random", 3, huge), ("zeros", 4, 1e-22),
            ("he", 5, huge)]
    batched = train_models(X, Y, [2, 6, 3, 1], runs, num_iterations=25, dtype=dtype,
                           record_every=10, n_threads=threads)
    assert [r.status for r in batched].count("diverged") >= 1
    for (init, seed, lr), got in zip(runs, batched):
        with pytest.warns(fastinit.DivergenceWarning) if got.status == "diverged" else _no_warning():
            alone = fastinit.train(X, Y, [2, 6, 3, 1], init=init, seed=seed, learning_rate=lr,
                                   num_iterations=25, dtype=dtype, record_every=10,
                                   diagnostics=False)
        _same_result(got, alone)


def test_batched_models_of_wide_networks_fall_back_to_train():
    from fastinit.training.loop import train_models

    rng = np.random.default_rng(12)
    X, Y = random_data(2, 64, rng)
    dims = [2, 130, 130, 1]  # 16,900 weights on 64 examples: the BLAS engine
    assert engine_choice.choose_engine(dims, n_examples=64) == "blas"
    got = train_models(X, Y, dims, [("he", 1, 0.01), ("he", 2, 0.01)], num_iterations=5,
                       record_every=2)
    for seed, result in zip((1, 2), got):
        _same_result(result, fastinit.train(X, Y, dims, seed=seed, num_iterations=5,
                                            record_every=2, diagnostics=False))
    labels = rng.integers(0, 3, size=64)  # softmax output: the labels go to train() as given
    dims = [2, 130, 130, 3]
    got = train_models(X, labels, dims, [("he", 1, 0.01)], num_iterations=3)
    _same_result(got[0], fastinit.train(X, labels, dims, seed=1, num_iterations=3,
                                        diagnostics=False))


def test_mini_batches_that_need_more_chunks_than_the_full_data():
    """Chunk counts do not grow monotonically with m (600,000 examples: 247
    chunks; 520,000: 254): the workspace is sized for every batch size."""
    m, batch = 600_000, 520_000
    assert kernels.chunking(batch)[1] > kernels.chunking(m)[1]
    rng = np.random.default_rng(13)
    X, Y = random_data(2, m, rng)
    result = fastinit.train(X, Y, [2, 3, 1], num_iterations=3, batch_size=batch,
                            record_every=2, n_threads=2)
    assert result.status == "completed" and result.iterations_run == 3


class _no_warning:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


FORK_SCRIPT = """
import os, sys, numpy as np, fastinit
from fastinit.training.loop import train_models
X, Y = fastinit.load_dataset()[:2]
X, Y = np.tile(X, 20), np.tile(Y, 20)
a = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=20, n_threads=2, diagnostics=False)
pid = os.fork()
if pid == 0:
    b = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=20, n_threads=2, diagnostics=False)
    train_models(X, Y, [2, 10, 5, 1], [("he", 1, 0.01), ("he", 2, 0.01)], num_iterations=3,
                 n_threads=2)
    os._exit(0 if np.array_equal(a.parameters["W1"], b.parameters["W1"]) else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_process_forked_after_threads_ran_does_not_hang():
    """OpenMP's pool does not survive fork(): the child must fall back to one
    thread (same bits) instead of hanging in its first parallel region."""
    proc = subprocess.run([sys.executable, "-c", FORK_SCRIPT], cwd=tempfile.gettempdir(),
                          timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_layout_table_is_read_by_the_kernels_column_names():
    from fastinit.engines.spec import pack
    from fastinit._core._simd import kernels

    dims = [3, 4, 2]
    params = fastinit.initialize_parameters(dims)
    theta, layout, _ = pack(params, dims)
    col = kernels.LAYOUT_COLUMNS
    assert sorted(col.values()) == list(range(layout.shape[1]))
    for l, row in enumerate(layout):
        n_in, n_out = row[col["n_in"]], row[col["n_out"]]
        assert (n_in, n_out) == (dims[l], dims[l + 1])
        W = theta[row[col["w_offset"]]:row[col["b_offset"]]].reshape(n_out, n_in)
        np.testing.assert_array_equal(W, params[f"W{l + 1}"])
        assert row[col["act_offset"]] == sum(dims[1:l + 1]) * kernels.BLOCK_SIZE


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (aligned rows are views of a larger one)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


@pytest.mark.parametrize("dims, activation, sizes, threads, rows", [
    ([2, 10, 5, 1], "relu", 300, 1, 1),
    ([2, 10, 5, 1], "gelu", [600_000, 520_000, 80_000], 2, 1),  # Z kept, mini-batch sizes
    ([3, 7, 4], "tanh", 5000, 3, 3),                            # softmax, models in rows
    ([16, 33, 1], "silu", 2048, 4, 2),
])
def test_workspace_nbytes_is_what_workspace_allocates(dtype, dims, activation, sizes, threads,
                                                      rows):
    layout, act_size = engine_spec.layout_of(dims, kernels.ACTIVATION_CODES[activation])
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    work = engine_spec.workspace(n_params, layout, act_size, sizes, threads, dtype, rows=rows)
    owners = {id(_owner(a)): _owner(a) for a in work.buffers.values()}
    assert len(owners) == len(work.buffers)  # one allocation per buffer
    assert engine_spec.workspace_nbytes(n_params, layout, act_size, sizes, threads, dtype,
                                     rows=rows) == sum(a.nbytes for a in owners.values())


def test_training_memory_check_counts_the_fused_workspace(dtype):
    """The memory check of train() counts at least what the fused engine allocates."""
    from fastinit.training.loop import _training_bytes

    dims, m, threads = [2, 10, 5, 1], 5000, 2
    hidden_act = kernels.ACTIVATION_CODES["gelu"]
    params = fastinit.initialize_parameters(dims, dtype=dtype)
    theta, layout, act_size = engine_spec.pack(params, dims, hidden_act)
    X, Y = random_data(2, m, np.random.default_rng(5))
    net = engine_spec.NetworkSpec(layout, act_size, hidden_act, 0.01, 0)
    problem = engine_spec.Problem(X.astype(dtype), Y.astype(dtype), net, SGD(lr=0.01).hyper())
    engine = fused_engine.FusedEngine(problem, theta.shape[0], threads)
    allocated = sum(_owner(a).nbytes for a in engine.work.buffers.values())
    assert _training_bytes(dims, m, dtype, "fused", threads, hidden_act) >= allocated
