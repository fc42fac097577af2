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
from fastinit.sweeps import DEFAULTS, SweepTable, config_key, expand_grid, sweep

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
    ({"grid": {"optimizer": ["adam"]}}, ValueError, "unknown sweep parameter"),
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

    from fastinit.sweeps import converged_at

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

    from fastinit.sweeps import MAX_CONFIGS

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
