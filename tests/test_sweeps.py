"""Sweeps: records equal individual trainings (locally, on threads, on a Dask
LocalCluster), statistics, resuming after a kill, validation."""
from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastinit
from fastinit.studies.sweeps import DEFAULTS, SweepTable, config_key, expand_grid, sweep

GRID = {"init": ["zeros", "random", "he"], "seed": [0, 1], "learning_rate": [0.01, 0.05],
        "num_iterations": [1500]}


def _without_times(records):
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in records]


@pytest.fixture(scope="module")
def local_table():
    return sweep(GRID, n_threads=2, record_every=500)


def test_grid_expansion_order_and_defaults():
    configs = expand_grid({"seed": [1, 2], "init": ["zeros", "he"]})
    assert [(c["init"], c["seed"]) for c in configs] == [("zeros", 1), ("zeros", 2),
                                                         ("he", 1), ("he", 2)]
    assert configs[0]["layers"] == [10, 5] and configs[0]["num_iterations"] == 15000
    assert set(configs[0]) == set(DEFAULTS)


def test_records_equal_individual_train_calls(local_table, seed_data):
    X, Y, tX, tY = seed_data
    assert len(local_table) == 12
    for record, config in zip(local_table, expand_grid(GRID)):
        assert record["key"] == config_key(config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastinit.DivergenceWarning)
            result = fastinit.train(X, Y, [2, 10, 5, 1], init=config["init"],
                                    learning_rate=config["learning_rate"], num_iterations=1500,
                                    seed=config["seed"], record_every=500, diagnostics=False)
        assert record["costs"] == [float(c) for c in result.costs]
        assert record["cost_iterations"] == [0, 500, 1000]
        assert record["final_cost"] == result.final_cost  # after iteration 1500, not 1000
        assert record["train_accuracy"] == result.accuracy(X, Y)
        assert record["test_accuracy"] == result.accuracy(tX, tY)
        assert record["status"] == result.status and record["diverged"] is False
        assert record["iterations_run"] == result.iterations_run
        below = [i for i, c in zip(result.cost_iterations, result.costs) if c < 0.2]
        final = [1500] if result.final_cost < 0.2 else []
        assert record["converged_at"] == (int(below[0]) if below else (final or [None])[0])
        assert record["wall_time"] > 0


def test_threads_and_serial_give_the_same_records(local_table):
    serial = sweep(GRID, n_threads=1, record_every=500)
    assert _without_times(serial) == _without_times(local_table)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_records(local_table):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        table = sweep(GRID, record_every=500, client=client, chunk_size=5)
    assert _without_times(table) == _without_times(local_table)


def test_summary_statistics():
    records = [
        {"init": "a", "final_cost": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.4,
         "converged_at": None, "wall_time": 1.0, "diverged": False},
        {"init": "a", "final_cost": 3.0, "train_accuracy": 0.7, "test_accuracy": 0.6,
         "converged_at": 2000, "wall_time": 3.0, "diverged": True},
        {"init": "b", "final_cost": 0.1, "train_accuracy": 1.0, "test_accuracy": 0.9,
         "converged_at": 1000, "wall_time": 2.0, "diverged": False},
    ]
    table = SweepTable(records, cost_threshold=0.2)
    a, b = table.summary("init")
    assert a["init"] == "a" and a["n"] == 2 and b["n"] == 1
    assert a["final_cost_mean"] == 2.0 and a["final_cost_std"] == pytest.approx(2 ** 0.5)
    assert a["final_cost_min"] == 1.0 and a["final_cost_max"] == 3.0
    assert a["converged_at_mean"] == 2000 and a["success_rate"] == 0.5
    assert a["diverged_rate"] == 0.5 and b["final_cost_std"] == 0.0
    text = table.format_summary()
    assert "success (cost<0.2)" in text and "50%" in text
    with pytest.raises(ValueError, match="no column 'nope'"):
        table.summary("nope")


def test_to_pandas():
    table = SweepTable([{"init": "he", "final_cost": 0.1}], 0.2)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            table.to_pandas()
    else:
        assert list(table.to_pandas()["init"]) == ["he"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"grid": {"nesterov": [True]}}, ValueError, "unknown sweep parameter"),
    ({"grid": {"dataset": ["mnist"]}}, ValueError, "dataset must be one of"),
    ({"grid": {"init": "he"}}, TypeError, "must be a list of values"),
    ({"grid": None}, ValueError, "sweep needs a grid"),
    ({"grid": {"seed": [1]}, "cost_threshold": -1}, ValueError, "cost_threshold"),
    ({"grid": {"seed": [1]}, "n_threads": 0}, ValueError, "n_threads"),
    ({"grid": {"learning_rate": [-1.0], "num_iterations": [1]}}, ValueError, "learning_rate"),
])
def test_bad_sweeps_are_rejected(kwargs, error, match):
    grid = kwargs.pop("grid")
    with pytest.raises(error, match=match):
        sweep(grid, **kwargs)


def test_malformed_results_file_is_rejected(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"no key": 1}\n')
    with pytest.raises(ValueError, match="not a sweep record"):
        sweep({"num_iterations": [1]}, results=path)


SWEEP_SCRIPT = """
import sys, fastinit
fastinit.sweep({"init": ["zeros", "he"], "seed": list(range(8)), "num_iterations": [4000]},
               results=sys.argv[1], record_every=1000)
"""


@pytest.mark.slow
def test_interrupted_sweep_resumes_without_loss_or_duplicates(tmp_path):
    """Kill a sweep (SIGKILL) after a few records, resume it with the same file:
    every configuration has exactly one record, equal to an uninterrupted run."""
    path = tmp_path / "results.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT, str(path)],
                            cwd=tempfile.gettempdir())
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if path.exists() and path.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the sweep wrote no records in 120 s")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    before = path.read_bytes()
    finished_before = {json.loads(line)["key"] for line in before.splitlines()
                       if line.endswith(b"}")}
    assert 3 <= len(finished_before) < 16  # killed midway
    grid = {"init": ["zeros", "he"], "seed": list(range(8)), "num_iterations": [4000]}
    resumed = sweep(grid, results=path, record_every=1000)
    lines = path.read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys)) == 16  # nothing lost, nothing twice
    assert finished_before <= set(keys)
    fresh = sweep(grid, record_every=1000)
    assert _without_times(resumed) == _without_times(fresh)


def test_truncated_last_line_is_dropped_and_rerun(tmp_path):
    path = tmp_path / "r.jsonl"
    grid = {"seed": [0, 1], "num_iterations": [200]}
    full = sweep(grid, results=path, record_every=100)
    text = path.read_text()
    path.write_text(text[:len(text) - 20])  # cut the second record short
    again = sweep(grid, results=path, record_every=100)
    assert len(path.read_text().splitlines()) == 2
    assert _without_times(again) == _without_times(full)


def test_plot_sweep(local_table):
    pytest.importorskip("matplotlib")
    fig = fastinit.plot_sweep(local_table)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="no column"):
        fastinit.plot_sweep(local_table, group="nope")


def test_cli_sweep_with_config_file_and_results(tmp_path):
    config = tmp_path / "grid.json"
    config.write_text(json.dumps({"init": ["zeros", "he"], "num_iterations": [1000]}))
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "fastinit", "sweep", "--config", str(config), "--n-seeds", "2",
           "--threads", "2", "--results", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert proc.returncode == 0, proc.stderr
    assert "zeros" in proc.stdout and "he" in proc.stdout and "4 records" in proc.stdout
    assert len(out.read_text().splitlines()) == 4
    for bad, message in [(["--n-seeds", "0"], "--n-seeds must be >= 1"),
                         (["--layers", "10,x"], "argument --layers: expected hidden layer sizes "
                                                "(integers >= 1) separated by commas, such as "
                                                "10,5; got '10,x'"),
                         (["--config", os.devnull], "not a regular file")]:
        proc = subprocess.run([sys.executable, "-m", "fastinit", "sweep", *bad],
                              capture_output=True, text=True, cwd=tempfile.gettempdir())
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_resuming_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep({"seed": [0], "num_iterations": [10]}, results=path, record_every=5)
    with pytest.raises(ValueError, match="record_every=5"):
        sweep({"seed": [0], "num_iterations": [10]}, results=path, record_every=2)
    with pytest.raises(ValueError, match="cost_threshold=0.2"):
        sweep({"seed": [0], "num_iterations": [10]}, results=path, record_every=5,
              cost_threshold=0.5)


def test_values_are_normalised_to_plain_json_types(tmp_path):
    """NumPy scalars and dtypes are accepted; 1 and 1.0 name the same
    configuration, so a resume does not run it twice."""
    path = tmp_path / "r.jsonl"
    table = sweep({"seed": np.arange(2), "learning_rate": [1], "dtype": [np.float32],
                   "num_iterations": [np.int64(5)]}, results=path)
    assert table[0]["seed"] == 0 and type(table[0]["seed"]) is int
    assert table[0]["dtype"] == "float32" and table[0]["learning_rate"] == 1.0
    again = sweep({"seed": [0, 1], "learning_rate": [1.0], "dtype": ["float32"],
                   "num_iterations": [5]}, results=path)
    assert len(path.read_text().splitlines()) == 2
    assert _without_times(again) == _without_times(table)
    with pytest.raises(TypeError, match="seed must be an integer"):
        sweep({"seed": ["3"]})
    with pytest.raises(ValueError, match="layers\\[i\\] must be >= 1"):
        sweep({"layers": [[10, 0]]})


def test_a_short_sweep_tells_learning_rates_apart_by_final_cost(seed_data):
    """1000 iterations record one cost (before iteration 0); the final cost is
    that of the trained parameters, so learning rates 0.01 and 0.1 differ."""
    table = sweep({"learning_rate": [0.01, 0.1], "num_iterations": [1000]})
    slow, fast = table
    assert slow["costs"] == fast["costs"]  # the recorded curve: the initial cost only
    assert fast["final_cost"] < slow["final_cost"] - 0.01
    assert fast["train_accuracy"] > slow["train_accuracy"]
    alone = fastinit.train(*seed_data[:2], [2, 10, 5, 1], learning_rate=0.1, num_iterations=1000)
    assert fast["final_cost"] == alone.final_cost


def test_converged_at_uses_the_final_cost_after_the_last_record():
    from types import SimpleNamespace

    from fastinit.studies.sweeps import converged_at

    def result(costs, final):
        return SimpleNamespace(cost_iterations=np.arange(len(costs)) * 1000, costs=costs,
                               final_cost=final, iterations_run=2500)

    assert converged_at(result([0.7, 0.1], 0.05), 0.2) == 1000
    assert converged_at(result([0.7, 0.3], 0.15), 0.2) == 2500
    assert converged_at(result([0.7, 0.3], 0.25), 0.2) is None


def test_records_of_an_older_format_are_not_reused(tmp_path):
    import json

    path = tmp_path / "old.jsonl"
    record = sweep({"seed": [0], "num_iterations": [10]}, record_every=5)[0]
    path.write_text(json.dumps({**record, "format": 1}) + "\n")
    with pytest.raises(ValueError, match="records of an older fastinit"):
        sweep({"seed": [0], "num_iterations": [10]}, results=path, record_every=5)


@pytest.mark.parametrize("content", [b"precious", b"precious\n", b"\n\nnot a record\n",
                                     b'{"key": "x"}\n', b'[1, 2]\n', b"{" * 100000 + b"\n",
                                     b'{"key": "x", "init": 5}\n'], ids=repr)
def test_a_results_path_holding_anything_else_is_refused_and_kept(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a sweep record|refusing to change it|field"):
        sweep({"seed": [0], "num_iterations": [5]}, results=path, record_every=5)
    assert path.read_bytes() == content


def test_a_results_path_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        sweep({"seed": [0], "num_iterations": [5]}, results=tmp_path)


def test_a_tampered_record_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep({"seed": [0], "num_iterations": [5]}, results=path, record_every=5)
    good = path.read_bytes()
    for old, new in ((b'"seed": 0', b'"seed": 7'), (b'"dtype": "float64"', b'"dtype": "int8"'),
                     (b'"costs": [', b'"costs": 5, "x": [')):
        path.write_bytes(good.replace(old, new, 1))
        with pytest.raises(ValueError, match="r.jsonl:1"):
            sweep({"seed": [0], "num_iterations": [5]}, results=path, record_every=5)


CONCURRENT = """
import sys, fastinit
fastinit.sweep({"seed": list(range(12)), "init": ["he", "xavier"], "num_iterations": [300]},
               results=sys.argv[1], record_every=100)
"""


@pytest.mark.slow
def test_two_concurrent_sweeps_on_one_file_neither_duplicate_nor_interleave(tmp_path):
    path = tmp_path / "shared.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    lines = path.read_bytes().splitlines()
    keys = [json.loads(line)["key"] for line in lines]  # every line a whole record
    assert len(keys) == len(set(keys)) == 24


def test_grids_are_bounded_before_they_are_built():
    import itertools

    from fastinit.studies.sweeps import MAX_CONFIGS

    with pytest.raises(ValueError, match="combinations, more than"):
        expand_grid({"seed": range(10**6), "learning_rate": [0.1, 0.2], "init": ["he"] * 10**3})
    with pytest.raises(ValueError, match="more than"):
        expand_grid({"seed": itertools.count()})  # endless
    with pytest.raises(TypeError, match="grid must be a mapping"):
        sweep([("seed", [1])])
    with pytest.raises(TypeError, match="configs must be a list"):
        sweep(configs={"seed": 1})
    with pytest.raises(TypeError, match="a configuration must be a mapping"):
        sweep(configs=[5])
    with pytest.raises(TypeError, match="progress must be callable"):
        sweep({"seed": [0], "num_iterations": [1]}, progress=5)
    assert MAX_CONFIGS >= 10**5


_FIELD = st.sampled_from(["key", "init", "seed", "learning_rate", "layers", "costs", "format",
                          "final_cost", "num_iterations", "dtype", "diverged"])
_JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@functools.lru_cache(maxsize=1)
def _good_record():
    return sweep({"seed": [0], "num_iterations": [5]}, record_every=5)[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_results_files_give_clean_records_or_a_value_error(tmp_path, data):
    good = _good_record()
    kind = data.draw(st.sampled_from(["mutate", "bytes", "cut"]))
    if kind == "mutate":
        record = dict(good)
        record[data.draw(_FIELD)] = data.draw(_JUNK)
        content = (json.dumps(record) + "\n").encode()
    elif kind == "bytes":
        content = data.draw(st.binary(max_size=300))
    else:
        line = (json.dumps(good) + "\n").encode()
        content = line + line[:data.draw(st.integers(0, len(line)))]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(content)
    try:
        table = sweep({"seed": [0], "num_iterations": [5]}, results=path, record_every=5)
    except ValueError:
        assert path.read_bytes() == content  # refused: left as it was
        return
    assert [r["key"] for r in table] == [good["key"]]  # the right configuration, well formed:
    record = table[0]                                  # (a tampered number cannot be told apart)
    assert len(record["costs"]) == len(record["cost_iterations"])
    assert all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in record["costs"])
    assert set(record) >= set(good) - {"format"}


_CONFIG_VALUE = st.one_of(_JUNK, st.integers(-5, 40), st.sampled_from(
    ["he", "zeros", "relu", "moons", "float32", "x", "", "nan"]), st.lists(st.integers(-2, 6), max_size=3))


@settings(max_examples=150, deadline=None)
@given(config=st.dictionaries(st.sampled_from(sorted(DEFAULTS) + ["extra"]), _CONFIG_VALUE, max_size=4))
def test_hostile_configurations_give_records_or_a_named_error(config):
    n = config.setdefault("num_iterations", 5)
    if isinstance(n, int) and not isinstance(n, bool) and n > 40:
        config["num_iterations"] = 5  # hostile, not slow: huge counts are tested elsewhere
    try:
        table = sweep(configs=[config], record_every=5)
    except (ValueError, TypeError) as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    record = table[0]
    assert record["key"] == config_key(record) and record["status"] in ("completed", "diverged")


# ---------------------------------------------------------------------------
# Optimizers as a sweep axis; the shared schedule, L2 penalty and clipping
# ---------------------------------------------------------------------------

OPT_GRID = {"init": ["he", "xavier"], "optimizer": ["sgd", "rmsprop", "adam", "adamw"],
            "seed": [0, 1], "num_iterations": [600]}


def _spy(monkeypatch):
    """Count the batched calls of sweeps and the runs of each."""
    from fastinit.studies import sweeps

    calls = []

    def spy(X, Y, dims, runs, *args, **kwargs):
        calls.append(list(runs))
        return fastinit.training.loop.train_models(X, Y, dims, runs, *args, **kwargs)

    monkeypatch.setattr(sweeps, "train_models", spy)
    return calls


def _alone(X, Y, record, **kwargs):
    from fastinit.studies.sweeps import optimizer_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastinit.DivergenceWarning)
        return fastinit.train(X, Y, [2, *record["layers"], 1], init=record["init"],
                              learning_rate=record["learning_rate"], seed=record["seed"],
                              num_iterations=record["num_iterations"], record_every=200,
                              diagnostics=False, optimizer=optimizer_of(record), **kwargs)


def test_inits_x_optimizers_x_seeds_train_in_one_batched_call(monkeypatch, seed_data):
    """16 configurations of one network: one train_models call trains all
    of them (each with its own optimizer), and every record is what a lone
    fastinit.train with that optimizer gives."""
    X, Y, tX, tY = seed_data
    calls = _spy(monkeypatch)
    table = sweep(OPT_GRID, n_threads=2, record_every=200, progress=None)
    assert len(calls) == 1 and len(calls[0]) == len(table) == 16
    kinds = [type(run[3]).__name__ for run in calls[0]]
    assert sorted(set(kinds)) == ["Adam", "AdamW", "RMSprop", "SGD"]
    for record in table:
        assert record["optimizer"] in OPT_GRID["optimizer"]
        result = _alone(X, Y, record, optimizer_state=None)
        assert type(result.optimizer).__name__.lower() == record["optimizer"]
        assert record["final_cost"] == result.final_cost
        assert record["costs"] == [float(c) for c in result.costs]
        assert record["train_accuracy"] == result.accuracy(X, Y)
        assert record["test_accuracy"] == result.accuracy(tX, tY)
    assert [r["weight_decay"] for r in table if r["optimizer"] == "adamw"] == [0.01] * 4
    rows = table.summary(["optimizer"])
    assert [(row["optimizer"], row["n"]) for row in rows] == [
        ("sgd", 4), ("rmsprop", 4), ("adam", 4), ("adamw", 4)]
    by_name = {row["optimizer"]: row for row in rows}
    assert by_name["adam"]["final_cost_mean"] < by_name["sgd"]["final_cost_mean"]
    text = table.format_summary(["optimizer", "init"])
    assert "x optimizer sgd, rmsprop, adam, adamw (4)" in text.splitlines()[0]


def test_plain_sgd_records_and_keys_are_unchanged(local_table):
    """optimizer "sgd" without momentum or weight decay is the seed's update:
    same numbers as before optimizers existed, and keys without the optimizer
    columns (so results files written before still resume)."""
    explicit = sweep({**GRID, "optimizer": ["sgd"], "momentum": [0.0], "weight_decay": [0]},
                     n_threads=2, record_every=500, progress=None)
    assert _without_times(explicit) == _without_times(local_table)
    record = local_table[0]
    assert (record["optimizer"], record["momentum"], record["weight_decay"]) == ("sgd", 0.0, 0.0)
    old_columns = ["init", "seed", "learning_rate", "layers", "activation", "dataset",
                   "num_iterations", "dtype"]
    assert record["key"] == json.dumps({k: record[k] for k in old_columns}, sort_keys=True)
    assert "optimizer" not in local_table.describe()  # plain gradient descent: left unsaid


def test_momentum_and_weight_decay_columns(seed_data):
    """momentum applies to sgd and rmsprop: a grid crossing it with adam runs
    adam once (momentum None); weight decay applies to all."""
    X, Y = seed_data[:2]
    table = sweep({"optimizer": ["sgd", "adam"], "momentum": [0.0, 0.9],
                   "weight_decay": [0.0, 0.001], "num_iterations": [400]},
                  record_every=200, progress=None)
    assert [(r["optimizer"], r["momentum"], r["weight_decay"]) for r in table] == [
        ("sgd", 0.0, 0.0), ("sgd", 0.0, 0.001), ("sgd", 0.9, 0.0), ("sgd", 0.9, 0.001),
        ("adam", None, 0.0), ("adam", None, 0.001)]
    for record in table:
        result = _alone(X, Y, record)
        assert record["final_cost"] == result.final_cost
    momentum = table[2]
    assert momentum["final_cost"] != table[0]["final_cost"]
    assert (fastinit.nn.optimizers.SGD(momentum=0.9)
            == fastinit.studies.sweeps.optimizer_of(momentum))
    assert "momentum 0.0, 0.9 (2)" in table.describe()
    with pytest.raises(ValueError, match="optimizer 'adam' has no momentum"):
        sweep(configs=[{"optimizer": "adam", "momentum": 0.9}])
    with pytest.raises(ValueError, match="optimizer 'adam' has no momentum"):
        sweep({"optimizer": ["adam", "adagrad"], "momentum": [0.5]})


def test_shared_schedule_l2_and_clipping(seed_data, tmp_path):
    X, Y = seed_data[:2]
    path = tmp_path / "r.jsonl"
    shared = {"schedule": {"name": "cosine", "t_max": 400}, "l2": 0.001, "clip_norm": 1.0}
    table = sweep({"optimizer": ["sgd", "adam"], "num_iterations": [400]}, record_every=200,
                  results=path, progress=None, **shared)
    for record in table:
        assert record["schedule"] == {"name": "cosine", "t_max": 400, "eta_min": 0.0}
        assert (record["l2"], record["clip_norm"]) == (0.001, 1.0)
        result = _alone(X, Y, record, schedule=fastinit.nn.optimizers.CosineAnnealing(t_max=400),
                        l2=0.001, clip_norm=1.0)
        assert record["final_cost"] == result.final_cost
    assert "schedule cosine(t_max=400, eta_min=0), l2 0.001, clip_norm 1.0" in table.describe()
    again = sweep({"optimizer": ["sgd", "adam"], "num_iterations": [400]}, record_every=200,
                  results=path, progress=None,
                  schedule=fastinit.nn.optimizers.CosineAnnealing(t_max=400), l2=1e-3, clip_norm=1)
    assert _without_times(again) == _without_times(table)
    with pytest.raises(ValueError, match="made with schedule=cosine.*l2=0.001.*this sweep uses "
                                         "schedule=constant, l2=0.0"):
        sweep({"optimizer": ["sgd"], "num_iterations": [400]}, record_every=200, results=path)


def test_shared_dropout_equals_lone_trainings_and_is_recorded(monkeypatch, seed_data, tmp_path):
    """keep_prob is shared like clip_norm: every record is a lone
    fastinit.train(..., keep_prob=...) bit for bit (its masks from its own
    seed), whatever the depth; a results file of another keep_prob is refused."""
    X, Y, tX, tY = seed_data
    path = tmp_path / "r.jsonl"
    grid = {"optimizer": ["sgd", "adam"], "layers": [[10, 5], [8]], "seed": [0, 1],
            "learning_rate": [0.05], "num_iterations": [400]}
    table = sweep(grid, record_every=200, results=path, progress=None, n_threads=2,
                  keep_prob=0.8)
    plain = sweep(grid, record_every=200, progress=None)
    for record, without in zip(table, plain):
        assert record["keep_prob"] == 0.8 and without["keep_prob"] is None
        result = _alone(X, Y, record, keep_prob=0.8)
        assert record["final_cost"] == result.final_cost
        assert record["costs"] == [float(c) for c in result.costs]
        assert record["train_accuracy"] == result.accuracy(X, Y)
        assert record["test_accuracy"] == result.accuracy(tX, tY)
        assert record["final_cost"] != without["final_cost"]  # the dropout did something
    assert {json.loads(line)["keep_prob"] for line in path.read_text().splitlines()} == {0.8}
    assert "keep_prob 0.8" in table.describe() and "keep_prob" not in plain.describe()
    calls = _spy(monkeypatch)
    again = sweep(grid, record_every=200, results=path, progress=None, n_threads=2,
                  keep_prob=np.float64(0.8))
    assert calls == [] and _without_times(again) == _without_times(table)
    for other, text in [(0.5, "keep_prob=0.5"), (None, "keep_prob=None"), (1, "keep_prob=None")]:
        with pytest.raises(ValueError, match=f"made with .*keep_prob=0.8; this sweep uses "
                                             f".*{text}: use another results file"):
            sweep(grid, record_every=200, results=path, progress=None, keep_prob=other)
    assert calls == []


def test_a_results_file_without_keep_prob_resumes_as_no_dropout(monkeypatch, tmp_path):
    """Records written before dropout (no keep_prob field) mean no dropout:
    reused by a sweep without it (or with keep_prob 1, which is none),
    refused by a sweep with dropout."""
    path = tmp_path / "old.jsonl"
    grid = {"seed": [0, 1], "num_iterations": [200]}
    fresh = sweep(grid, record_every=100, progress=None)
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "keep_prob"}) + "\n"
                            for r in fresh))
    calls = _spy(monkeypatch)
    for keep_prob in (None, 1, 1.0):
        table = sweep(grid, results=path, record_every=100, progress=None, keep_prob=keep_prob)
        assert _without_times(table) == _without_times(fresh)
        assert all(r["keep_prob"] is None for r in table)
    assert calls == []
    with pytest.raises(ValueError, match="keep_prob=None; this sweep uses .*keep_prob=0.9"):
        sweep(grid, results=path, record_every=100, progress=None, keep_prob=0.9)
    assert calls == [] and "keep_prob" not in path.read_text()  # the old lines are kept


def test_resume_trains_only_the_new_optimizers(monkeypatch, tmp_path):
    path = tmp_path / "r.jsonl"
    grid = {"optimizer": ["sgd", "adam"], "seed": [0, 1], "num_iterations": [300]}
    first = sweep(grid, results=path, record_every=100, progress=None)
    calls = _spy(monkeypatch)
    grown = sweep({**grid, "optimizer": ["sgd", "adam", "rmsprop"]}, results=path,
                  record_every=100, progress=None)
    assert [[type(run[3]).__name__ for run in runs] for runs in calls] == [["RMSprop"] * 2]
    assert len(path.read_text().splitlines()) == 6
    assert _without_times(grown[:2]) == _without_times(first[:2])  # sgd, adam of seed 0
    assert [r["optimizer"] for r in grown] == ["sgd", "adam", "rmsprop"] * 2
    again = sweep({**grid, "optimizer": ["rmsprop", "adam", "sgd"]}, results=path,
                  record_every=100, progress=None)
    assert len(calls) == 1 and len(again) == 6  # all done: nothing trained


def test_a_results_file_of_before_optimizers_resumes_as_sgd(monkeypatch, tmp_path):
    """Records without the optimizer columns (and the shared settings) are
    plain gradient descent: reused as optimizer "sgd", never run again."""
    path = tmp_path / "old.jsonl"
    grid = {"seed": [0, 1], "num_iterations": [200]}
    fresh = sweep(grid, record_every=100, progress=None)
    added = ["optimizer", "momentum", "weight_decay", "schedule", "l2", "clip_norm", "keep_prob"]
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in added}) + "\n"
                            for r in fresh))
    calls = _spy(monkeypatch)
    table = sweep({**grid, "optimizer": ["sgd", "adam"]}, results=path, record_every=100,
                  progress=None)
    assert [[type(run[3]).__name__ for run in runs] for runs in calls] == [["Adam"] * 2]
    assert [r["optimizer"] for r in table] == ["sgd", "adam"] * 2
    assert _without_times([table[0], table[2]]) == _without_times(fresh)
    rows = table.summary("optimizer")
    assert [(row["optimizer"], row["n"]) for row in rows] == [("sgd", 2), ("adam", 2)]
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and "optimizer" not in lines[0]  # the old lines are kept as they were


@pytest.mark.parametrize("grid, kwargs, error, match", [
    ({"optimizer": ["nadam"]}, {}, ValueError, "optimizer must be one of"),
    ({"optimizer": [5]}, {}, TypeError, "sweeps take optimizer by name"),
    ({"optimizer": [fastinit.nn.optimizers.Adam()]}, {}, TypeError, "sweeps take optimizer by name"),
    ({"optimizer": "adam"}, {}, TypeError, "must be a list of values"),
    ({"momentum": [1.0]}, {}, ValueError, r"momentum must be a finite number in \[0, 1\)"),
    ({"momentum": [-0.5]}, {}, ValueError, "momentum must be a finite number >= 0"),
    ({"momentum": ["0.9"]}, {}, TypeError, "momentum must be a real number"),
    ({"weight_decay": [-1]}, {}, ValueError, "weight_decay must be a finite number >= 0"),
    ({"weight_decay": [float("nan")]}, {}, ValueError, "weight_decay must be a finite"),
    ({"optimizer": ["adam"], "momentum": [0.9]}, {}, ValueError, "'adam' has no momentum"),
    ({"seed": [0]}, {"schedule": "bogus"}, ValueError, "schedule must be one of"),
    ({"seed": [0]}, {"schedule": {"name": "step", "gama": 0.5}}, TypeError, "schedule 'step'"),
    ({"seed": [0]}, {"schedule": {"t_max": 5}}, ValueError, "schedule must name one of"),
    ({"seed": [0]}, {"schedule": {"name": "step", "gamma": 2.0}}, ValueError, "gamma"),
    ({"seed": [0]}, {"schedule": 5}, TypeError, "schedule must be a name"),
    ({"seed": [0]}, {"l2": -1}, ValueError, "l2 must be a finite number >= 0"),
    ({"seed": [0]}, {"l2": "x"}, TypeError, "l2 must be a real number"),
    ({"seed": [0]}, {"clip_norm": 0}, ValueError, "clip_norm must be a finite number > 0"),
    ({"seed": [0]}, {"keep_prob": 0}, ValueError, r"keep_prob must be a finite number in \(0, 1\]"),
    ({"seed": [0]}, {"keep_prob": -0.5}, ValueError, r"keep_prob must be a finite number in \(0, 1"),
    ({"seed": [0]}, {"keep_prob": 1.5}, ValueError, r"keep_prob must be a finite number in \(0, 1"),
    ({"seed": [0]}, {"keep_prob": float("nan")}, ValueError, "keep_prob must be a finite number"),
    ({"seed": [0]}, {"keep_prob": float("inf")}, ValueError, "keep_prob must be a finite number"),
    ({"seed": [0]}, {"keep_prob": "0.8"}, TypeError, "keep_prob of a sweep must be one number"),
    ({"seed": [0]}, {"keep_prob": True}, TypeError, "keep_prob of a sweep must be one number"),
    ({"seed": [0]}, {"keep_prob": [0.8, 0.9]}, TypeError,
     "keep_prob of a sweep must be one number in \\(0, 1\\] for every hidden layer.*got a list"),
])
def test_bad_optimizer_columns_and_settings_are_rejected(grid, kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep({**grid, "num_iterations": [1]}, progress=None, **kwargs)


def test_a_tampered_optimizer_column_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep({"optimizer": ["adam"], "num_iterations": [5]}, results=path, record_every=5,
          progress=None)
    good = path.read_bytes()
    for old, new in ((b'"optimizer": "adam", "momentum": null',
                      b'"optimizer": "adamw", "momentum": null'),
                     (b'"momentum": null', b'"momentum": 0.5'),
                     (b'"weight_decay": 0.0', b'"weight_decay": "x"')):
        assert old in good
        path.write_bytes(good.replace(old, new, 1))
        with pytest.raises(ValueError, match="r.jsonl:1"):
            sweep({"optimizer": ["adam"], "num_iterations": [5]}, results=path, record_every=5,
                  progress=None)


@pytest.mark.slow
def test_dask_sweep_of_optimizers_with_shared_settings_equals_local():
    distributed = pytest.importorskip("dask.distributed")
    grid = {"init": ["he", "xavier"], "optimizer": ["sgd", "adam", "adagrad"], "seed": [0, 1],
            "num_iterations": [500]}
    shared = {"schedule": "step", "l2": 0.01, "clip_norm": 5.0, "keep_prob": 0.9}
    local = sweep(grid, record_every=100, progress=None, **shared)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        table = sweep(grid, record_every=100, client=client, chunk_size=5, progress=None,
                      **shared)
    assert _without_times(table) == _without_times(local)
