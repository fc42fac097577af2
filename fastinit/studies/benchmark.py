"""Side-by-side timing of fastinit against the pure-NumPy reference.

:func:`compare_with_numpy` runs the seed notebook's He training (layers
[2, 10, 5, 1], m = 300, cost recorded every 1000 iterations) with
:func:`fastinit.engines.reference.train` and with :func:`fastinit.train`, interleaved
in one process (NumPy, fastinit, NumPy, fastinit, ...), checks that both record
the same costs, and reports the ratio of each pair of runs.  Quote the median
ratio: absolute times on a shared machine drift, ratios of neighbouring runs
much less; the ratio of the best run of each side is the least disturbed by
other load.

:func:`benchmark_table` measures the whole range in one run and prints one
table: the seed's run (float64 and float32), [2, 10, 5, 1] at m = 10^4, 10^5,
10^6 on one and two threads with peak memory, and the wide networks
[2, 256, 256, 1] and [784, 128, 64, 1]; each row beside JAX's jit loop when JAX
is installed and as a percentage of the per-core floor (the row's flops over
the measured multiply-add peak of the kernel module); then the seed's run on
every kernel module this CPU runs.

:func:`benchmark_paths` times the other paths (the notebook's loop, mini-batch
training, prediction), :func:`benchmark_sweep` the seed's experiment over
seeds, :func:`benchmark_crossover` the fused loop against the BLAS engine by
width, and :func:`benchmark_threads` thread overlap and Ctrl-C latency: the
benchmark logic lives here, and ``fastinit bench`` and the ``bench/`` scripts
call it.
"""
from __future__ import annotations

import statistics
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

from ..engines import reference
from .._validation import check_count, resolve_dtype
from .._core import _simd
from ..engines.spec import network_spec, pack, workspace
from .._progress import terminal_progress
from ..config import get_config
from ..io.datasets import load_dataset
from ..nn.initializers import initialize_parameters
from ..nn.optimizers import SGD
from ..training.loop import train

LAYERS = [2, 10, 5, 1]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare_with_numpy(rounds: int = 5, iterations: int = 15000, dtype: Any = "float64",
                       echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Time the seed's He run with NumPy and with fastinit, interleaved.

    Returns
    -------
    dict
        ``ratios`` (one per round), ``median_ratio``, ``best_ratio`` and the
        per-iteration times in µs; each line of the table is passed to ``echo``.
    """
    rounds = check_count(rounds, "rounds", minimum=1)
    iterations = check_count(iterations, "iterations", minimum=1)
    dtype = resolve_dtype(dtype)
    X, Y, _, _ = load_dataset()
    X, Y = X.astype(dtype), Y.astype(dtype)
    initial = initialize_parameters(LAYERS, "he", dtype=dtype)
    # float32 sums differ from float64 ones at the 1e-7 level; float64 must agree to 1e-12
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    echo(f"seed He run: layers {LAYERS}, m = {X.shape[1]}, {iterations} iterations, {dtype}, "
         f"cost recorded every 1000")
    echo(f"{'round':>5}  {'numpy us/iter':>14}  {'fastinit us/iter':>16}  {'ratio':>7}")
    ratios, times_np, times_fi = [], [], []
    for k in range(rounds):
        t_np, (_, costs_np) = _timed(lambda: reference.train(X, Y, initial, 0.01, iterations, 1000))
        t_fi, result = _timed(lambda: train(X, Y, LAYERS, init="he", num_iterations=iterations,
                                            dtype=dtype))
        if not np.allclose(result.costs, costs_np, rtol=rtol, atol=0):
            raise RuntimeError(f"fastinit and NumPy recorded different costs: "
                               f"{result.costs} vs {costs_np}")
        ratios.append(t_np / t_fi)
        times_np.append(t_np / iterations * 1e6)
        times_fi.append(t_fi / iterations * 1e6)
        echo(f"{k:>5}  {times_np[-1]:>14.1f}  {times_fi[-1]:>16.1f}  {ratios[-1]:>6.2f}x")
    summary = {
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "best_ratio": min(times_np) / min(times_fi),
        "numpy_us_per_iteration": times_np,
        "fastinit_us_per_iteration": times_fi,
        "kernels": get_config()["kernels"],
    }
    echo(f"median ratio NumPy / fastinit: {summary['median_ratio']:.2f}x "
         f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x); best run vs best run: "
         f"{summary['best_ratio']:.2f}x")
    echo(f"fastinit kernels: {summary['kernels']}; recorded costs agree to rtol {rtol:g}")
    return summary


# ---------------------------------------------------------------------------
# The full table
# ---------------------------------------------------------------------------

def matmul_flops(dims: list[int], m: int) -> float:
    """Floating-point operations of the matrix products of one iteration:
    2 m n_in n_out each for Z = W A, dW = dZ A^T and dA = W^T dZ (no dA for
    the first layer).  Elementwise work (activations, exp, update) is left out,
    so the GFLOP/s reported are a lower bound of the work done."""
    weights = [a * b for a, b in zip(dims[:-1], dims[1:])]
    return 2.0 * m * (3 * sum(weights) - weights[0])


def dgemm_gflops(n: int = 1024, repeat: int = 3) -> float:
    """GFLOP/s of NumPy's BLAS on an n x n float64 product: the practical peak
    of this machine, measured, beside which the table's GFLOP/s are read."""
    a = np.random.default_rng(0).standard_normal((n, n))
    a @ a
    best = min(_timed(lambda: a @ a)[0] for _ in range(repeat))
    return 2.0 * n ** 3 / best / 1e9


def _problem(dims: list[int], m: int, dtype: np.dtype):
    if m == 300 and dims[0] == 2:
        X, Y = load_dataset()[:2]
    else:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((dims[0], m))
        Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return X.astype(dtype), Y.astype(dtype)


def _jax_runner(dims: list[int], dtype: np.dtype):
    """The same training as a JAX user would write it (jit, fori_loop between
    records, cost at records only); None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def cost(params, X, Y):
        A = X
        for W, b in params[:-1]:
            A = jnp.maximum(W @ A + b, 0)
        Z = params[-1][0] @ A + params[-1][1]
        return jnp.mean(jnp.logaddexp(0, Z) - Y * Z)

    gradient = jax.grad(cost)

    @jax.jit
    def steps(params, X, Y, lr, n):
        def body(_, p):
            return jax.tree_util.tree_map(lambda w, g: w - lr * g, p, gradient(p, X, Y))
        return jax.lax.fori_loop(0, n, body, params)

    cost_jit = jax.jit(cost)

    def run(X, Y, initial, lr, n_iter, record_every):
        L = len(dims) - 1
        params = [(jnp.asarray(initial[f"W{l}"]), jnp.asarray(initial[f"b{l}"]))
                  for l in range(1, L + 1)]
        X, Y = jnp.asarray(X), jnp.asarray(Y)
        costs, done = [], 0
        while done < n_iter:
            costs.append(float(cost_jit(params, X, Y)))
            n = min(record_every, n_iter - done)
            params = steps(params, X, Y, dtype.type(lr), n)
            done += n
        jax.block_until_ready(params)
        return np.array(costs)

    return run


def _settle() -> None:
    """Pause before a timed run: BLAS and OpenMP worker threads keep spinning
    for a while after their last task and would steal a core from the next
    run (either side's); a quarter second lets them go to sleep."""
    time.sleep(0.25)


def _peak_mib(fn: Callable[[], Any]) -> float:
    """Peak of the memory allocated through Python and NumPy while ``fn`` runs,
    above what was allocated before (the data), in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def benchmark_table(rounds: int = 3, quick: bool = False,
                    echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Measure every case of the table side by side and print it.

    Each case runs NumPy (``fastinit.engines.reference.train``, cost recorded every
    1000 iterations: the same math as a competent NumPy user writes it) and
    fastinit ``rounds`` times, interleaved; the reported time is the best
    round of each, the ratio is NumPy's time over fastinit's, and the recorded
    costs of both are checked to agree (1e-12 relative in float64, 1e-5 in
    float32).  ``quick`` shrinks the work (for tests; the figures are then
    noisier and the m = 10^6 case is skipped).

    Returns
    -------
    list of dict
        One per row: ``case``, ``numpy_us``, ``fastinit_us``, ``ratio``,
        ``gflops`` (fastinit, matrix products only), ``numpy_mib`` and
        ``fastinit_mib`` (peak memory above the data, where measured), ``jax_us``
        and ``vs_jax`` (None without JAX), ``floor_percent``; then the rows of
        :func:`compare_modules`.
    """
    rounds = check_count(rounds, "rounds", minimum=1)
    budget = 2e7 if quick else 1e9  # matrix-product flops per timed run
    jax_installed = _jax_runner(LAYERS, np.dtype(np.float64)) is not None
    peak = dgemm_gflops(256 if quick else 1024)
    sizes = [10**4, 10**5] if quick else [10**4, 10**5, 10**6]
    cases = [("seed He run", [2, 10, 5, 1], 300, "float64", 1),
             ("seed He run", [2, 10, 5, 1], 300, "float32", 1)]
    for m in sizes:
        cases += [(f"m = {m:.0e}", [2, 10, 5, 1], m, "float64", n) for n in (1, 2)]
    cases += [("m = 1e+05", [2, 10, 5, 1], 10**5, "float32", 2),
              ("wide", [2, 256, 256, 1], 10**4, "float64", 2),
              ("wide", [784, 128, 64, 1], 10**4, "float64", 2)]
    rows: list[dict[str, Any]] = []
    core_peak = {size: _simd.kernels.fma_peak_gflops(size) for size in (8, 4)}
    head = (f"{'case':<12} {'layers':<18} {'dtype':<8} {'thr':>3} {'numpy us/it':>12} "
            f"{'fastinit us/it':>15} {'ratio':>7} {'vs JAX':>7} {'floor %':>8} {'GFLOP/s':>8} "
            f"{'numpy MiB':>10} {'fastinit MiB':>13}")
    echo(f"NumPy dgemm reaches {peak:.1f} GFLOP/s on this machine (the practical peak); "
         f"fastinit kernels: {get_config()['kernels']}, OpenMP: {get_config()['openmp']}")
    echo(f"per-core floor: multiply-add peak of the {get_config()['kernels']} kernels "
         f"{core_peak[8]:.1f} GFLOP/s (float64), {core_peak[4]:.1f} (float32), times the "
         f"threads; 'vs JAX': JAX's time over fastinit's (JAX uses every core)")
    echo(head)
    echo("-" * len(head))
    for name, dims, m, dtype_name, threads in cases:
        dtype = np.dtype(dtype_name)
        X, Y = _problem(dims, m, dtype)
        flops = matmul_flops(dims, m)
        n_iter = max(3, int(budget // flops))
        record_every = min(1000, n_iter)
        initial = initialize_parameters(dims, "he", dtype=dtype)
        lr = 0.01

        def run_numpy():
            return reference.train(X, Y, initial, dtype.type(lr), n_iter, record_every)[1]

        def run_fastinit():
            return train(X, Y, dims, init="he", learning_rate=lr, num_iterations=n_iter,
                         dtype=dtype, record_every=record_every, n_threads=threads,
                         diagnostics=False).costs

        run_jax = _jax_runner(dims, dtype) if jax_installed else None
        if run_jax is not None:
            run_jax(X, Y, initial, lr, record_every, record_every)  # compile outside the timing
        t_np = t_fi = t_jax = float("inf")
        for _ in range(rounds):
            _settle()
            t, costs_np = _timed(run_numpy)
            t_np = min(t_np, t)
            _settle()
            t, costs_fi = _timed(run_fastinit)
            t_fi = min(t_fi, t)
            if run_jax is not None:
                _settle()
                t, costs_jax = _timed(lambda: run_jax(X, Y, initial, lr, n_iter, record_every))
                t_jax = min(t_jax, t)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        if not np.allclose(costs_fi, costs_np, rtol=rtol, atol=0):
            raise RuntimeError(f"{name} {dims}: fastinit and NumPy recorded different costs: "
                               f"{costs_fi} vs {costs_np}")
        if run_jax is not None and not np.allclose(costs_jax, costs_np, rtol=max(rtol, 1e-9),
                                                   atol=0):
            raise RuntimeError(f"{name} {dims}: JAX and NumPy recorded different costs: "
                               f"{costs_jax} vs {costs_np}")
        floor_us = flops / (core_peak[dtype.itemsize] * threads * 1e9) * 1e6
        row = {"case": name, "layers": dims, "m": m, "dtype": dtype_name, "threads": threads,
               "numpy_us": t_np / n_iter * 1e6, "fastinit_us": t_fi / n_iter * 1e6,
               "ratio": t_np / t_fi, "gflops": flops * n_iter / t_fi / 1e9,
               "jax_us": t_jax / n_iter * 1e6 if run_jax is not None else None,
               "vs_jax": t_jax / t_fi if run_jax is not None else None,
               "floor_percent": 100 * floor_us / (t_fi / n_iter * 1e6),
               "numpy_mib": None, "fastinit_mib": None}
        if m >= 10**5:  # one iteration each, outside the timed runs (tracing slows NumPy)
            n_iter = 1
            row["numpy_mib"] = _peak_mib(run_numpy)
            row["fastinit_mib"] = _peak_mib(run_fastinit)
        rows.append(row)
        mem = (f"{row['numpy_mib']:>10.1f} {row['fastinit_mib']:>13.1f}"
               if row["numpy_mib"] is not None else f"{'':>10} {'':>13}")
        vs_jax = f"{row['vs_jax']:>6.2f}x" if row["vs_jax"] is not None else f"{'-':>7}"
        echo(f"{name:<12} {str(dims):<18} {dtype_name:<8} {threads:>3} {row['numpy_us']:>12.1f} "
             f"{row['fastinit_us']:>15.1f} {row['ratio']:>6.2f}x {vs_jax} "
             f"{row['floor_percent']:>7.1f}% {row['gflops']:>8.2f} {mem}")
    if not jax_installed:
        echo("JAX: not installed (pip install jax), no 'vs JAX' column")
    _echo_derived(rows, echo)
    rows += compare_modules(rounds=rounds, iterations=500 if quick else 5000, echo=echo)
    rows += benchmark_paths(rounds=max(rounds, 3), quick=quick, echo=echo)
    return rows


def compare_modules(rounds: int = 3, iterations: int = 5000,
                    echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The seed's He run (float64 and float32) on every kernel module this CPU
    runs, interleaved, through the fused kernel itself; each module's time
    beside its own per-core floor (flops over its measured multiply-add peak).

    Returns
    -------
    list of dict
        One per module and dtype: ``module``, ``dtype``, ``us``, ``floor_percent``.
    """
    modules = _simd.available()
    X, Y = _problem(LAYERS, 300, np.dtype(np.float64))
    flops = matmul_flops(LAYERS, 300)
    echo(f"seed He run on each kernel module ({iterations} iterations, best of {rounds}):")
    echo(f"{'module':<10} {'dtype':<8} {'us/it':>7} {'peak GFLOP/s':>13} {'floor %':>8}")
    out = []
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        theta0, layout, act_size = pack(initialize_parameters(LAYERS, "he", dtype=dtype), LAYERS)
        net = network_spec(LAYERS, 1, 0.0, 0)
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        best = {name: float("inf") for name in modules}
        for _ in range(rounds):
            for name, module in modules.items():
                theta = theta0.copy()
                work = workspace(theta.shape[0], layout, act_size, 300, 1, dtype)
                t, _ = _timed(lambda: module.train_full_batch(
                    net=net, work=work, X=Xd, Y=Yd, theta=theta, hyper=SGD(lr=0.01).hyper(),
                    state=np.zeros((1, theta.size), dtype), first_step=0,
                    n_iter=iterations, record_first=True, n_threads=1))
                best[name] = min(best[name], t / iterations * 1e6)
        for name, module in modules.items():
            peak = module.fma_peak_gflops(dtype.itemsize)
            percent = 100 * flops / (peak * 1e3) / best[name]
            out.append({"module": name, "dtype": dtype.name, "us": best[name],
                        "floor_percent": percent})
            echo(f"{name:<10} {dtype.name:<8} {best[name]:>7.2f} {peak:>13.1f} {percent:>7.1f}%")
    return out


def _echo_derived(rows: list[dict[str, Any]], echo: Callable[[str], None]) -> None:
    """The ratios between fastinit rows: float32 over float64, 2 threads over 1."""
    def find(case, dtype, threads):
        for r in rows:
            if r["case"] == case and r.get("dtype") == dtype and r.get("threads") == threads:
                return r
        return None

    pairs = [("seed He run", ("float64", 1), ("float32", 1), "float32 vs float64"),
             ("m = 1e+05", ("float64", 2), ("float32", 2), "float32 vs float64"),
             ("m = 1e+04", ("float64", 1), ("float64", 2), "2 threads vs 1"),
             ("m = 1e+05", ("float64", 1), ("float64", 2), "2 threads vs 1"),
             ("m = 1e+06", ("float64", 1), ("float64", 2), "2 threads vs 1")]
    for case, slow, fast, label in pairs:
        a, b = find(case, *slow), find(case, *fast)
        if a and b:
            echo(f"{case}: {label}: {a['fastinit_us'] / b['fastinit_us']:.2f}x")
    for r in rows:
        if r.get("numpy_mib") and r.get("threads") == 2 and r["dtype"] == "float64":
            echo(f"{r['case']}: peak memory above the data, fastinit / NumPy: "
                 f"{r['fastinit_mib'] / r['numpy_mib']:.3f}")


def _paired(rounds: int, first: Callable[[], Any], second: Callable[[], Any]):
    """Interleaved rounds first, second, second, first, first, ...: (median
    of the paired ratios first / second, best time of each, the last
    outputs).  The order alternates, so whatever the first run of a pair
    pays (a cold cache) falls on both sides."""
    ratios, t_a, t_b = [], [], []
    for r in range(rounds):
        _settle()
        if r % 2:
            tb, out_b = _timed(second)
            ta, out_a = _timed(first)
        else:
            ta, out_a = _timed(first)
            tb, out_b = _timed(second)
        ratios.append(ta / tb)
        t_a.append(ta)
        t_b.append(tb)
    return statistics.median(ratios), min(t_a), min(t_b), out_a, out_b


def benchmark_paths(rounds: int = 5, quick: bool = False,
                    echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every path beside its NumPy counterpart, in interleaved rounds (median
    of the paired ratios):

    * the notebook's loop (forward, loss, backward, update once per
      iteration) on fastinit's drop-in functions vs on the notebook's own
      NumPy helpers (:class:`fastinit.engines.reference.notebook`), m = 300;
    * mini-batch training, m = 10^5, batches of 256, vs the NumPy mini-batch
      loop of :func:`fastinit.engines.reference.minibatch_train` on the same batches;
    * a mini-batch step against a full-batch iteration, per example (each
      from the difference of two runs, so the set-up cost cancels);
    * ``predict_proba`` on 10^6 examples vs the reference forward pass.

    Returns one dict per row: ``case``, ``numpy_us``, ``fastinit_us`` (per
    iteration, step or call), ``ratio``.
    """
    from ..nn.network import predict_proba
    from ..training.loop import epoch_order

    rounds = check_count(rounds, "rounds", minimum=1)
    rows = []

    def row(case, unit, t_np, t_fi, ratio, n):
        rows.append({"case": case, "numpy_us": t_np / n * 1e6, "fastinit_us": t_fi / n * 1e6,
                     "ratio": ratio})
        echo(f"{case:<40} {t_np / n * 1e6:>12.1f} {t_fi / n * 1e6:>12.1f} {ratio:>7.2f}x  "
             f"(us per {unit})")

    echo(f"every path against NumPy, median of {rounds} interleaved paired rounds:")
    echo(f"{'case':<40} {'numpy us':>12} {'fastinit us':>12} {'ratio':>8}")
    X, Y, _, _ = load_dataset()
    initial = initialize_parameters(LAYERS, "he")
    n = 300 if quick else 3000
    import fastinit

    ratio, t_np, t_fi, (p_np, _), (p_fi, _) = _paired(
        rounds, lambda: reference.notebook_loop(reference.notebook, X, Y, initial, 0.01, n),
        lambda: reference.notebook_loop(fastinit, X, Y, initial, 0.01, n))
    _agree(p_fi, p_np, "notebook loop")
    row("notebook loop, m = 300 (drop-in functions)", "iteration", t_np, t_fi, ratio, n)

    m, batch = (10**4, 256) if quick else (10**5, 256)
    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((2, m))
    Ym = (Xm[0] * Xm[1] > 0).astype(np.float64).reshape(1, -1)
    steps = 2 * -(-m // batch)
    ratio, t_np, t_fi, p_np, result = _paired(
        rounds, lambda: reference.minibatch_train(Xm, Ym, initial, 0.05, steps, batch,
                                                  lambda e: epoch_order(m, e, seed=3)),
        lambda: train(Xm, Ym, LAYERS, learning_rate=0.05, num_iterations=steps,
                      batch_size=batch, diagnostics=False, record_every=steps))
    _agree(result.parameters, p_np, "mini-batch training")
    row(f"mini-batch, m = {m:.0e}, batches of {batch}", "step", t_np, t_fi, ratio, steps)

    def marginal(**kw):
        """Seconds per example of fastinit's steps or iterations beyond a first call."""
        few = kw.pop("few")
        many = kw.pop("many")
        size = kw.get("batch_size") or m
        t0, _ = _timed(lambda: train(Xm, Ym, LAYERS, num_iterations=few, diagnostics=False,
                                     record_every=10**9, **kw))
        t1, _ = _timed(lambda: train(Xm, Ym, LAYERS, num_iterations=many, diagnostics=False,
                                     record_every=10**9, **kw))
        return (t1 - t0) / ((many - few) * size)

    pairs = []
    for _ in range(rounds):  # interleaved: a step, an iteration, a step, ...
        _settle()
        pairs.append((marginal(batch_size=batch, few=steps // 2, many=3 * steps),
                      marginal(few=2, many=12 if quick else 40)))
    ratio = statistics.median(a / b for a, b in pairs)
    t_step, t_iter = min(a for a, _ in pairs), min(b for _, b in pairs)
    rows.append({"case": "mini-batch step / full-batch iteration", "numpy_us": None,
                 "fastinit_us": None, "ratio": ratio})
    echo(f"{'mini-batch step / full-batch iteration':<40} per example: {t_step * 1e9:.1f} ns "
         f"vs {t_iter * 1e9:.1f} ns = {ratio:.2f}x the cost")

    big = 10**5 if quick else 10**6
    Xb = rng.standard_normal((2, big))
    ratio, t_np, t_fi, out_np, out_fi = _paired(
        rounds, lambda: reference.forward_propagation(Xb, initial)[0],
        lambda: predict_proba(Xb, initial))
    _agree({"AL": out_fi}, {"AL": out_np}, "predict_proba")
    row(f"predict_proba, m = {big:.0e}", "call", t_np, t_fi, ratio, 1)
    return rows


def benchmark_optimizers(rounds: int = 5, quick: bool = False,
                         echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """The cost of what the compiled loops do beyond plain gradient descent,
    in interleaved rounds (median of the paired ratios):

    * each optimizer of :data:`fastinit.nn.optimizers.OPTIMIZERS` (PyTorch's
      defaults), an L2 penalty with clipping, and dropout (keep 0.8 on both
      hidden layers), against plain gradient descent, per full-batch
      iteration of the seed's run (He, m = 300);
    * mini-batch Adam at m = 10^5, batches of 256, against a NumPy Adam
      mini-batch loop of the same math on the same batches
      (:func:`fastinit.engines.reference.minibatch_train`).

    Returns one dict per row: ``case``, ``baseline_us``, ``fastinit_us``
    (per iteration or step), ``ratio`` (baseline / case for NumPy, case /
    plain for the others).
    """
    from ..nn.optimizers import OPTIMIZERS
    from ..training.loop import epoch_order

    rounds = check_count(rounds, "rounds", minimum=1)
    X, Y, _, _ = load_dataset()
    n = 1000 if quick else 5000
    rows: list[dict[str, Any]] = []
    echo(f"optimizers, L2, clipping and dropout against plain gradient descent, seed's run "
         f"({n} iterations, median of {rounds} paired rounds):")
    echo(f"{'case':<44} {'plain us/it':>12} {'case us/it':>11} {'ratio':>7}")

    def run(**kw):
        return lambda: train(X, Y, LAYERS, num_iterations=n, diagnostics=False,
                             record_every=1000, **kw)

    cases: list[tuple[str, dict[str, Any]]] = [
        (f"optimizer={name}", {"optimizer": name}) for name in OPTIMIZERS]
    cases += [("sgd, momentum 0.9, nesterov", {"optimizer": SGD(momentum=0.9, nesterov=True)}),
              ("l2=0.1, clip_norm=1", {"l2": 0.1, "clip_norm": 1.0}),
              ("dropout, keep_prob=0.8", {"keep_prob": 0.8}),
              ("adam + dropout 0.8", {"optimizer": "adam", "keep_prob": 0.8})]
    for case, kw in cases:
        ratio, t_case, t_plain, _, _ = _paired(rounds, run(**kw), run())
        rows.append({"case": case, "baseline_us": t_plain / n * 1e6,
                     "fastinit_us": t_case / n * 1e6, "ratio": ratio})
        echo(f"{case:<44} {t_plain / n * 1e6:>12.2f} {t_case / n * 1e6:>11.2f} {ratio:>6.2f}x")

    m, batch = (10**4, 256) if quick else (10**5, 256)
    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((2, m))
    Ym = (Xm[0] * Xm[1] > 0).astype(np.float64).reshape(1, -1)
    steps = 2 * -(-m // batch)
    initial = initialize_parameters(LAYERS, "he")
    ratio, t_np, t_fi, p_np, result = _paired(
        rounds, lambda: reference.minibatch_train(Xm, Ym, initial, 0.001, steps, batch,
                                                  lambda e: epoch_order(m, e, seed=3),
                                                  optimizer="adam"),
        lambda: train(Xm, Ym, LAYERS, learning_rate=0.001, num_iterations=steps,
                      batch_size=batch, optimizer="adam", diagnostics=False,
                      record_every=steps))
    _agree(result.parameters, p_np, "mini-batch Adam")
    case = f"mini-batch Adam, m = {m:.0e}, batches of {batch}"
    rows.append({"case": case, "baseline_us": t_np / steps * 1e6,
                 "fastinit_us": t_fi / steps * 1e6, "ratio": ratio})
    echo(f"{case:<44} {'numpy ' + format(t_np / steps * 1e6, '.1f'):>12} "
         f"{t_fi / steps * 1e6:>11.2f} {ratio:>6.2f}x faster than NumPy (us per step)")
    return rows


def _agree(got: dict, want: dict, what: str) -> None:
    """The two sides of a benchmark computed the same (float64, 1e-10)."""
    for key in want:
        if not np.allclose(got[key], want[key], rtol=1e-10, atol=1e-12):
            raise RuntimeError(f"{what}: fastinit and NumPy disagree on {key}")


def benchmark_sweep(n_seeds: int = 25, iterations: int = 15000, rounds: int = 3,
                    echo: Callable[[str], None] = print) -> dict[str, Any]:
    """The seed's experiment for zeros / random / He / Xavier over ``n_seeds``
    seeds: :func:`fastinit.sweep` on 1 and on 2 threads in ``rounds``
    interleaved rounds, and the NumPy reference run serially once (training
    plus accuracy, as the sweep does).

    Returns
    -------
    dict
        Seconds of each (``one_thread``, ``two_threads``: best round;
        ``numpy``) and the ratios ``threads`` (1 thread / 2 threads, median of
        the paired rounds) and ``numpy_ratio`` (NumPy / fastinit on 2 threads).
    """
    from .sweeps import sweep

    n_seeds = check_count(n_seeds, "n_seeds", minimum=1)
    iterations = check_count(iterations, "iterations", minimum=1)
    rounds = check_count(rounds, "rounds", minimum=1)
    inits = ["zeros", "random", "he", "xavier"]
    grid: dict[str, list[Any]] = {"init": inits, "seed": list(range(n_seeds)),
                                  "num_iterations": [iterations]}
    X, Y, test_X, test_Y = load_dataset()
    echo(f"seed's experiment, {len(inits)} initializers x {n_seeds} seeds, {iterations} "
         f"iterations each ({len(inits) * n_seeds} trainings)")
    _settle()
    ones, twos = [], []
    for k in range(rounds):  # interleaved: 1 thread, 2 threads, 1 thread, ...
        t1, one = _timed(lambda: sweep(grid, n_threads=1, progress=None))
        t2, two = _timed(lambda: sweep(grid, n_threads=2, progress=None))
        if [r["costs"] for r in one] != [r["costs"] for r in two]:
            raise RuntimeError("1 and 2 threads gave different records")
        ones.append(t1)
        twos.append(t2)
        echo(f"  round {k + 1} of {rounds}: 1 thread {t1:.2f} s, 2 threads {t2:.2f} s")
    threads = statistics.median(a / b for a, b in zip(ones, twos))
    t1, t2 = min(ones), min(twos)

    def numpy_serial():
        first_costs: list[float] = []
        progress = terminal_progress("NumPy training")
        for init in inits:
            for seed in range(n_seeds):
                if progress is not None:
                    progress(len(first_costs), len(inits) * n_seeds)
                params = initialize_parameters(LAYERS, init, seed=seed)
                trained, costs = reference.train(X, Y, params, 0.01, iterations, 1000)
                for data, labels in ((X, Y), (test_X, test_Y)):
                    AL = reference.forward_propagation(data, trained)[0]
                    np.mean((AL > 0.5) == labels)
                first_costs.append(costs[0])
        if progress is not None:
            progress(len(first_costs), len(first_costs))
        return first_costs

    echo(f"  NumPy reference: {len(inits) * n_seeds} trainings one after another ...")
    _settle()
    t_np, first = _timed(numpy_serial)
    if not np.allclose(first, [r["costs"][0] for r in one], rtol=1e-12, atol=0):
        raise RuntimeError("NumPy and fastinit recorded different initial costs")
    out = {"one_thread": t1, "two_threads": t2, "numpy": t_np,
           "threads": threads, "numpy_ratio": t_np / t2}
    echo(f"fastinit sweep, 1 thread:  {t1:8.2f} s   (best of {rounds})")
    echo(f"fastinit sweep, 2 threads: {t2:8.2f} s   ({out['threads']:.2f}x the 1-thread speed, "
         f"median of {rounds} paired rounds)")
    echo(f"NumPy reference, serial:   {t_np:8.2f} s   (fastinit on 2 threads is "
         f"{out['numpy_ratio']:.1f}x faster; on 1 thread {t_np / t1:.1f}x)")
    return out


#: networks of growing width for :func:`benchmark_crossover`
CROSSOVER_NETWORKS = ([2, 10, 5, 1], [16, 32, 16, 1], [2, 64, 64, 1], [2, 128, 128, 1],
                      [128, 128, 1], [2, 256, 256, 1], [256, 256, 1], [784, 64, 1],
                      [2, 320, 320, 1], [784, 128, 64, 1], [2, 512, 512, 1])


def benchmark_crossover(m: int = 10**4, rounds: int = 3,
                        echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Where the BLAS engine overtakes the fused loop: ms per iteration of
    :func:`fastinit.train` with ``engine="fused"`` and ``"blas"`` and of NumPy's
    reference loop on :data:`CROSSOVER_NETWORKS`, interleaved, best of
    ``rounds``; the thresholds of ``fastinit.engines.choice.choose_engine`` come
    from it (``python bench/crossover.py``)."""
    from ..engines.choice import choose_engine

    m = check_count(m, "m", minimum=1)
    rounds = check_count(rounds, "rounds", minimum=1)
    rng = np.random.default_rng(0)
    echo(f"m = {m}; ms per iteration, best of {rounds} interleaved rounds")
    echo(f"{'layers':<18} {'widest':>7} {'fused':>9} {'blas':>9} {'numpy':>9} "
         f"{'fused/blas':>10} {'auto':>6}")
    rows = []
    for dims in CROSSOVER_NETWORKS:
        X = rng.standard_normal((dims[0], m))
        Y = (rng.random((1, m)) < 0.5).astype(np.float64)
        initial = initialize_parameters(dims, "he")
        widest = max(a * b for a, b in zip(dims[:-1], dims[1:]))
        n = max(3, int(1e9 // (6 * m * sum(a * b for a, b in zip(dims[:-1], dims[1:])))))
        runs = {
            "fused": lambda: train(X, Y, dims, num_iterations=n, diagnostics=False, engine="fused"),
            "blas": lambda: train(X, Y, dims, num_iterations=n, diagnostics=False, engine="blas"),
            "numpy": lambda: reference.train(X, Y, initial, 0.01, n),
        }
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(rounds):
            for name, run in runs.items():
                _settle()
                t, _ = _timed(run)
                best[name] = min(best[name], t / n * 1e3)
        rows.append({"layers": dims, "m": m, **{f"{k}_ms": v for k, v in best.items()},
                     "auto": choose_engine(dims, n_examples=m)})
        echo(f"{str(dims):<18} {widest:>7} {best['fused']:>9.3f} {best['blas']:>9.3f} "
             f"{best['numpy']:>9.3f} {best['fused'] / best['blas']:>10.2f} {rows[-1]['auto']:>6}")
    return rows


_INTERRUPTED_CHILD = """
import numpy as np, fastinit
X = np.random.default_rng(0).standard_normal((2, 200_000))
Y = (X[0] * X[1] > 0).astype(int)
print("ready", flush=True)
try:
    fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=10**9, record_every=10**9)
except KeyboardInterrupt:
    print("caught", flush=True)
"""


def _seed_training(seed: int) -> None:
    X, Y = load_dataset()[:2]
    train(X, Y, LAYERS, init="he", seed=seed, num_iterations=6000)


def threads_over_serial(n: int = 8) -> float:
    """Time of ``n`` seed trainings in ``n`` Python threads over the same run
    one after another (the compiled loop releases the GIL: about 1/2 on 2
    idle cores)."""
    import threading

    def one_after_another() -> None:
        for i in range(n):
            _seed_training(i)

    serial, _ = _timed(one_after_another)
    threads = [threading.Thread(target=_seed_training, args=(i,)) for i in range(n)]

    def threaded():
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return _timed(threaded)[0] / serial


def interrupt_latency() -> float:
    """Seconds from SIGINT to the KeyboardInterrupt of a long compiled training
    in a child process."""
    import signal
    import subprocess
    import sys
    import tempfile

    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_CHILD], stdout=subprocess.PIPE,
                            text=True, cwd=tempfile.gettempdir())
    assert proc.stdout is not None  # stdout=PIPE
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the child training did not start")
        time.sleep(1.0)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        if proc.stdout.readline().strip() != "caught":
            raise RuntimeError("the child did not catch KeyboardInterrupt")
        return time.perf_counter() - sent
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def benchmark_threads(rounds: int = 3, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Thread overlap and Ctrl-C latency, the timings the tests do not assert
    (``python bench/threads.py``); medians over ``rounds``."""
    rounds = check_count(rounds, "rounds", minimum=1)
    ratios = [threads_over_serial() for _ in range(rounds)]
    latencies = [interrupt_latency() for _ in range(rounds)]
    echo(f"8 trainings in 8 threads / serially: median {statistics.median(ratios):.2f} "
         f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    echo(f"Ctrl-C to KeyboardInterrupt: median {statistics.median(latencies) * 1000:.0f} ms "
         f"(max {max(latencies) * 1000:.0f} ms)")
    return {"threads_over_serial": ratios, "interrupt_latency": latencies}
