"""The command line, run as a user runs it: in a subprocess."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest


def run(*args, cwd=None):
    # run outside the repository: "python -m" puts the working directory first on
    # sys.path, and the source tree there has no compiled core
    return subprocess.run([sys.executable, "-m", "fastinit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd or tempfile.gettempdir())


def test_compare_prints_costs_and_table():
    proc = run("compare", "--iterations", "2001")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "--- he initialization ---" in out
    assert out.count("Cost after iteration 2000:") == 3
    assert "3-layer NN with zeros initialization" in out and "fails to break symmetry" in out
    assert " ms" in out.splitlines()[-1]


def test_compare_quiet_float32_and_inits():
    proc = run("compare", "--iterations", "100", "--quiet", "--dtype", "float32",
               "--inits", "he", "xavier")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "Cost after" not in proc.stdout
    assert len(lines) == 4 and "xavier" in lines[-1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--iterations", "-5"], "--iterations must be >= 0 and <= 1000000000, got -5"),
        (["compare", "--learning-rate", "0"], "--learning-rate must be a finite number > 0, got 0"),
        (["compare", "--learning-rate", "nan"], "--learning-rate must be a finite number > 0"),
        (["compare", "--inits", "bogus"], "invalid choice"),
        (["compare", "--iterations", "ten"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help():
    proc = run("compare", "--help")
    assert proc.returncode == 0 and "--learning-rate" in proc.stdout


def test_compare_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out.png"
    proc = run("compare", "--iterations", "1001", "--quiet", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 250  # four panels side by side


def test_readme_embeds_the_example_figure():
    """The README shows a real `compare --plot` output, kept in the repository."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "README.md").is_file():
        pytest.skip("the repository is not here (tests copied beside an installed wheel)")
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "![" in readme and "(bench/figures/compare.png)" in readme
    data = (root / "bench" / "figures" / "compare.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") > 1000


def test_train_then_predict_from_npy_and_csv(tmp_path):
    model = tmp_path / "m.npz"
    proc = run("train", "--dataset", "blobs", "--iterations", "3000", "--learning-rate", "0.05",
               "--quiet", "--threads", "2", "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout and model.exists()
    import fastinit

    X, Y = fastinit.io.datasets.load_named("blobs")[:2]
    np.save(tmp_path / "x.npy", X.T[:20])
    np.savetxt(tmp_path / "x.csv", X.T[:20], delimiter=",")
    for name in ("x.npy", "x.csv"):
        proc = run("predict", str(model), str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        head, *lines = proc.stdout.split()
        assert head == "label"
        labels = [int(v) for v in lines]
        assert len(labels) == 20 and np.mean(np.array(labels) == Y[0, :20]) > 0.8


@pytest.mark.parametrize(
    "args, message",
    [
        (["train"], "--out"),
        (["train", "--out", "/nonexistent-dir/m.npz", "--iterations", "1"],
         "--out '/nonexistent-dir/m.npz': the directory '/nonexistent-dir' does not exist"),
        (["predict", "missing.npz", "x.npy"], "No such file"),
        (["train", "--layers", "0", "--out", "m.npz"], "argument --layers: expected hidden layer sizes (integers >= 1)"),
        (["train", "--threads", "0", "--out", "m.npz"],
         "--threads must be -1 (all CPUs) or from 1 to 1024, got 0"),
    ],
)
def test_train_predict_bad_arguments(args, message, tmp_path):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_predict_rejects_a_malformed_model(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"junk")
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    proc = run("predict", str(tmp_path / "bad.npz"), str(tmp_path / "x.npy"))
    assert proc.returncode == 2 and "not a valid fastinit model file" in proc.stderr


@pytest.mark.slow
def test_bench_prints_ratios():
    proc = run("bench", "--rounds", "2", "--iterations", "1500")
    assert proc.returncode == 0, proc.stderr
    assert "median ratio NumPy / fastinit" in proc.stdout and "recorded costs agree" in proc.stdout
    proc = run("bench", "--table", "--quick", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    for text in ("dgemm reaches", "seed He run", "m = 1e+05", "[784, 128, 64, 1]",
                 "float32 vs float64", "2 threads vs 1", "peak memory above the data",
                 "notebook loop", "mini-batch, m = 1e+04", "per example", "predict_proba"):
        assert text in proc.stdout
    proc = run("bench", "--paths", "--quick", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    assert "notebook loop, m = 300 (drop-in functions)" in proc.stdout
    assert "median of 1 interleaved paired rounds" in proc.stdout
    proc = run("bench", "--sweep", "--seeds", "1", "--iterations", "300", "--rounds", "2")
    assert proc.returncode == 0, proc.stderr
    assert "2 threads" in proc.stdout and "NumPy reference, serial" in proc.stdout
    assert "median of 2 paired rounds" in proc.stdout
    proc = run("bench", "--rounds", "0")
    assert proc.returncode == 2 and "--rounds must be >= 1" in proc.stderr


def test_no_progress_line_when_not_a_terminal(tmp_path):
    proc = run("train", "--iterations", "3000", "--out", str(tmp_path / "m.npz"))
    assert proc.returncode == 0 and "iteration 3000 / 3000" not in proc.stderr
    assert proc.stdout.count("Cost after iteration") == 3


# ---------------------------------------------------------------------------
# Outputs are checked before the work; nothing is written beside them
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--out", "{dir}"], "--out '{dir}' is a directory; give a file name"),
        (["train", "--out", "{dir}/no/m.npz"], "--out '{dir}/no/m.npz': the directory"),
        (["compare", "--plot", "{dir}"], "--plot '{dir}' is a directory; give a file name"),
        (["compare", "--plot", "{dir}/no/c.png"], "--plot '{dir}/no/c.png': the directory"),
        (["compare", "--plot", "{dir}/c.nosuchformat"], "matplotlib cannot write .nosuchformat"),
        (["sweep", "--n-seeds", "3", "--results", "{dir}"], "--results '{dir}' is a directory"),
        (["sweep", "--n-seeds", "3", "--results", "{dir}/no/r.jsonl"], "--results '{dir}/no/r"),
        (["sweep", "--n-seeds", "3", "--plot", "{dir}"], "--plot '{dir}' is a directory"),
        (["sweep", "--n-seeds", "3", "--by", "bogus"], "--by 'bogus': not a column"),
    ],
)
def test_bad_outputs_are_refused_before_any_training(tmp_path, args, message):
    if "--plot" in args:
        pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    out.mkdir()
    proc = run(*[a.format(dir=out) for a in args])
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1  # one line, no usage, no traceback
    assert message.format(dir=out) in proc.stderr
    assert proc.stdout == ""  # no training ran: it would have printed costs or a table
    assert list(out.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_read_only_folder_is_refused_before_training(tmp_path, monkeypatch, capsys):
    """In process, with the OS answering "not writable" (root may write
    anywhere, so a chmod would prove nothing when the tests run as root)."""
    from fastinit.io import _files
    from fastinit import cli

    monkeypatch.setattr(_files.os, "access", lambda path, mode: False)
    code = cli.main(["train", "--out", str(tmp_path / "m.npz")])
    captured = capsys.readouterr()
    assert code == 2 and "is not writable" in captured.err
    assert captured.out == "" and list(tmp_path.iterdir()) == []


def test_an_existing_model_is_replaced_whole(tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(b"old")
    proc = run("train", "--iterations", "10", "--quiet", "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    import fastinit

    assert fastinit.load_model(model).layers_dims == [2, 10, 5, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ---------------------------------------------------------------------------
# Bounded work
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--iterations", "1000000000000"],
         "--iterations must be >= 0 and <= 1000000000, got 1000000000000"),
        (["train", "--iterations", "1" + "0" * 4000, "--out", "m.npz"],
         "--iterations must be >= 0 and <= 1000000000, got 10000000000000000000...(4001 characters)"),
        (["train", "--iterations", "1" + "0" * 5000, "--out", "m.npz"],
         "argument --iterations: invalid int value"),
        (["train", "--threads", "1000000000000", "--out", "m.npz"],
         "--threads must be -1 (all CPUs) or from 1 to 1024"),
        (["train", "--layers", "5000,5000", "--out", "m.npz"], "--layers: a network of sizes"),
        (["train", "--layers", ",".join(["2"] * 300), "--out", "m.npz"],
         "--layers: 300 hidden layers"),
        (["train", "--layers", "10", "5", "--out", "m.npz"],
         "--layers takes one network's sizes, comma-separated, such as --layers 10,5"),
        (["sweep", "--n-seeds", "1000000000000"], "--n-seeds must be >= 1 and <= 1000000"),
        (["sweep", "--iterations", "10", "1000000000000"], "--iterations must be >= 0 and <="),
        (["sweep", "--learning-rates", "0.1", "inf"], "--learning-rates must be a finite"),
        (["sweep", "--threshold", "-1"], "--threshold must be a finite number > 0"),
        (["sweep", "--n-seeds", "1000000", "--inits", "he", "xavier"],
         "the sweep has 2000000 configurations (2 init x 1000000 seed); at most 1000000"),
        (["sweep", "--threads", "100000"], "--threads must be -1 (all CPUs) or from 1 to 1024"),
        (["bench", "--rounds", "1000000000000"], "--rounds must be >= 1 and <= 1000"),
        (["bench", "--sweep", "--seeds", "1000000000000"], "--seeds must be >= 1 and <= 10000"),
    ],
)
def test_absurd_counts_are_refused(tmp_path, args, message):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    if "invalid int value" not in message:
        assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "grid, message",
    [
        ({"num_iterations": [10**12]}, "num_iterations (--iterations or --config) must be at most"),
        ({"seed": list(range(1000)), "learning_rate": [0.1] * 1001},
         "the sweep has 1001000 configurations"),
        ({"layers": [[1000, 20000]]}, "layers (--layers or --config): a network of sizes"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON (RecursionError"),
        ("{\"seed\": [1, 2", "not valid JSON"),
        ([1, 2], "expected a mapping"),
    ],
    # short ids: pytest puts the node id in the PYTEST_CURRENT_TEST environment
    # variable, and a 200,000-character one makes every subprocess fail (E2BIG)
    ids=["iterations", "configurations", "layers", "deep-nesting", "truncated", "not-a-mapping"],
)
def test_sweep_config_files_are_bounded_and_checked(tmp_path, grid, message):
    import json

    config = tmp_path / "grid.json"
    config.write_text(grid if isinstance(grid, str) else json.dumps(grid))
    proc = run("sweep", "--config", str(config))
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert f"--config '{config}'" in proc.stderr or "--config" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


# ---------------------------------------------------------------------------
# Every dataset; predict's inputs
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["blobs", "circles", "moons", "spiral", "xor"])
def test_compare_runs_on_every_dataset(dataset):
    proc = run("compare", "--dataset", dataset, "--iterations", "50", "--quiet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 5 and all("%" in line for line in lines[2:])


def test_compare_plot_of_three_classes(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "blobs.svg"
    proc = run("compare", "--dataset", "blobs", "--iterations", "50", "--quiet",
               "--inits", "he", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().lstrip().startswith(b"<?xml") and f"wrote {out}" in proc.stdout


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import fastinit

    X, Y = fastinit.load_dataset()[:2]
    path = tmp_path_factory.mktemp("model") / "m.npz"
    fastinit.save_model(path, fastinit.train(X, Y, [2, 3, 1], num_iterations=10,
                                             print_cost=False))
    return path


def _npy_with_header(path, shape):
    from numpy.lib import format as npy_format

    with open(path, "wb") as f:
        npy_format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": shape})
        f.write(b"\0" * 64)


@pytest.mark.parametrize(
    "make_data, message",
    [
        (lambda d, m: m, "is a fastinit model file, not a data file"),
        (lambda d, m: (d / "x.npy").write_text("1,2\n") and d / "x.npy",
         "is not a NumPy file: it does not start with the .npy or zip signature"),
        (lambda d, m: (d / "x.csv").write_text("1,2\nthree,4\n") and d / "x.csv",
         "line 2, column 1 ('x1'): 'three' is not a number"),
        (lambda d, m: (d / "x.csv").write_text("a,b\n1,2\n3\n") and d / "x.csv",
         "line 3: 1 fields, expected 2"),
        (lambda d, m: (d / "x.csv").write_text("a,b\n1,2\n3,nan\n") and d / "x.csv",
         "line 3, column 2 ('b'): 'nan' is not a finite number"),
        (lambda d, m: (d / "x.csv").write_bytes(b"\xff\xfe\x00junk") and d / "x.csv",
         "line 1: not UTF-8 text (byte 0)"),
        (lambda d, m: (d / "x.csv").write_text("a,b\n") and d / "x.csv",
         "holds no samples (only a header line)"),
        (lambda d, m: np.save(d / "x.npy", np.zeros((4, 3))) or d / "x.npy",
         "has 3 feature columns (column 0, column 1, column 2); the model"),
        (lambda d, m: np.save(d / "x.npy", np.zeros(4)) or d / "x.npy",
         "array must be a 2-D array (samples as rows), got shape (4,)"),
        (lambda d, m: np.save(d / "x.npy", np.zeros((0, 2))) or d / "x.npy", "holds no samples"),
        (lambda d, m: np.save(d / "x.npy", np.full((2, 2), "a")) or d / "x.npy", "not numbers"),
        (lambda d, m: np.save(d / "x.npy", np.array([[None, 1]]), allow_pickle=True)
         or d / "x.npy", "cannot be read as a .npy array file"),
        (lambda d, m: _npy_with_header(d / "x.npy", (10**9, 2)) or d / "x.npy",
         "cannot be read as a .npy array file"),
        (lambda d, m: np.save(d / "x.npy", np.array([[1.0, 2.0], [3.0, np.inf]]))
         or d / "x.npy", "array[1, 1] is inf, not a finite number"),
        (lambda d, m: np.savez(d / "x.npz", a=np.zeros((2, 2)), b=np.zeros(2)) or d / "x.npz",
         "holds the arrays a, b; a data .npz holds X (samples as rows) and y (labels)"),
        (lambda d, m: d, "is a directory, not a data file"),
    ],
)
def test_predict_names_a_bad_data_file(tmp_path, model_file, make_data, message):
    data = make_data(tmp_path, model_file)
    proc = run("predict", str(model_file), str(data))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and repr(str(data)) in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    "make_model, message",
    [
        (lambda d: np.save(d / "x.npy", np.zeros((3, 2))) or d / "x.npy",
         "is a .npy array file, not a fastinit model (.npz)"),
        (lambda d: (d / "x.csv").write_text("1,2\n") and d / "x.csv", "it is a text file"),
        (lambda d: (d / "e.npz").write_bytes(b"") or d / "e.npz", "it is empty"),
        (lambda d: d, "it is a directory"),
    ],
)
def test_predict_names_a_bad_model_file(tmp_path, make_model, message):
    np.save(tmp_path / "data.npy", np.zeros((3, 2)))
    model = make_model(tmp_path)
    proc = run("predict", str(model), str(tmp_path / "data.npy"))
    assert proc.returncode == 2 and message in proc.stderr and repr(str(model)) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_config_that_is_not_a_small_regular_file_is_refused(tmp_path):
    proc = run("sweep", "--config", "/dev/zero")  # endless: must not be read
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    big = tmp_path / "big.json"
    big.write_text('{"seed": [' + "1, " * 400_000 + "1]}")
    proc = run("sweep", "--config", str(big))
    assert proc.returncode == 2 and "larger than" in proc.stderr and proc.stdout == ""


# ---------------------------------------------------------------------------
# Optimizers, schedules, penalties, early stopping
# ---------------------------------------------------------------------------

def _accuracies(stdout):
    import re

    found = re.search(r"train accuracy ([0-9.]+), test accuracy ([0-9.]+)", stdout)
    assert found, stdout
    return float(found.group(1)), float(found.group(2))


def test_train_with_adam_learns_circles_in_a_few_hundred_iterations(tmp_path):
    model = tmp_path / "m.npz"
    proc = run("train", "--optimizer", "adam", "--iterations", "500", "--quiet",
               "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    train_acc, test_acc = _accuracies(proc.stdout)
    assert train_acc > 0.97 and test_acc > 0.9 and "status completed" in proc.stdout
    plain = run("train", "--iterations", "500", "--quiet", "--out", str(tmp_path / "p.npz"))
    assert plain.returncode == 0, plain.stderr
    assert _accuracies(plain.stdout)[0] < 0.7  # plain gradient descent is far from it
    import fastinit

    assert fastinit.load_model(model).layers_dims == [2, 10, 5, 1]


def test_train_with_every_update_option_and_a_softmax_of_two_classes(tmp_path):
    model = tmp_path / "m.npz"
    proc = run("train", "--optimizer", "rmsprop", "--momentum", "0.5", "--weight-decay", "0.0001",
               "--schedule", "cosine", "--l2", "0.001", "--clip-norm", "5",
               "--loss", "categorical_cross_entropy", "--val-fraction", "0.2",
               "--iterations", "1000", "--quiet", "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert _accuracies(proc.stdout)[0] > 0.9
    assert "validation loss" in proc.stdout and "(--val-fraction 0.2)" in proc.stdout
    import fastinit

    assert fastinit.load_model(model).layers_dims == [2, 10, 5, 2]  # one unit per class
    np.save(tmp_path / "x.npy", fastinit.load_dataset()[0].T[:10])
    proc = run("predict", str(model), str(tmp_path / "x.npy"))
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()[1:]) <= {"0", "1"}


def test_train_with_dropout_saves_what_a_lone_train_gives(tmp_path):
    import fastinit

    model = tmp_path / "m.npz"
    proc = run("train", "--keep-prob", "0.8", "--optimizer", "adam", "--iterations", "300",
               "--quiet", "--out", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "status completed" in proc.stdout and f"saved {model}" in proc.stdout
    saved = fastinit.load_model(model)
    assert saved.layers_dims == [2, 10, 5, 1] and saved.keep_prob == (0.8, 0.8)
    X, Y = fastinit.io.datasets.load_named("circles")[:2]
    alone = fastinit.train(X, Y, [2, 10, 5, 1], keep_prob=0.8, num_iterations=300, seed=3,
                           optimizer="adam", diagnostics=False)
    for name, value in alone.parameters.items():
        assert np.array_equal(saved.parameters[name], value), name
    plain = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=300, seed=3, optimizer="adam",
                           diagnostics=False)
    assert not np.array_equal(plain.parameters["W1"], alone.parameters["W1"])


def test_sweep_with_dropout_records_it(tmp_path):
    import json

    results = tmp_path / "r.jsonl"
    proc = run("sweep", "--n-seeds", "2", "--iterations", "200", "--keep-prob", "0.9",
               "--quiet", "--results", str(results))
    assert proc.returncode == 0, proc.stderr
    assert "keep_prob 0.9" in proc.stdout.splitlines()[1]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(records) == 2 and all(r["keep_prob"] == 0.9 for r in records)
    proc = run("sweep", "--n-seeds", "2", "--iterations", "200", "--quiet", "--results",
               str(results))
    assert proc.returncode == 2 and "keep_prob=0.9; this sweep uses" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_train_stops_early_and_says_why(tmp_path):
    proc = run("train", "--optimizer", "adam", "--val-fraction", "0.2", "--patience", "2",
               "--quiet", "--out", str(tmp_path / "m.npz"))
    assert proc.returncode == 0, proc.stderr
    assert "status early_stopped" in proc.stdout
    assert "early stopping at iteration" in proc.stdout and "kept the parameters of iteration" \
        in proc.stdout


def test_sweep_over_optimizers_by_optimizer(tmp_path):
    import json

    results = tmp_path / "r.jsonl"
    proc = run("sweep", "--optimizers", "sgd", "adam", "--inits", "he", "xavier", "--n-seeds",
               "2", "--iterations", "400", "--by", "optimizer", "--schedule", "cosine",
               "--l2", "0.0001", "--threads", "2", "--quiet", "--results", str(results))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "8 trainings: init he, xavier (2) x seed 0, 1 (2) x optimizer sgd, adam (2)"
    assert "schedule cosine(t_max=400, eta_min=0), l2 0.0001" in lines[1]
    head = next(i for i, line in enumerate(lines) if line.startswith("optimizer  n"))
    rows = [line.split()[:2] for line in lines[head + 2:head + 4]]
    assert rows == [["sgd", "4"], ["adam", "4"]]
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(records) == 8 and {r["optimizer"] for r in records} == {"sgd", "adam"}
    assert all(r["schedule"] == {"name": "cosine", "t_max": 400, "eta_min": 0.0}
               and r["l2"] == 0.0001 for r in records)
    proc = run("sweep", "--optimizers", "sgd", "rmsprop", "--momentum", "0", "0.9",
               "--iterations", "100", "--by", "optimizer", "momentum", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "rmsprop    0.9" in proc.stdout and "sgd        0.0" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--optimizer", "nadam"], "argument --optimizer: invalid choice: 'nadam'"),
        (["train", "--momentum", "1.5"], "--momentum must be a finite number in [0, 1), got 1.5"),
        (["train", "--momentum", "nan"], "--momentum must be a finite number in [0, 1)"),
        (["train", "--optimizer", "adam", "--momentum", "0.9"],
         "--momentum applies to --optimizer sgd or rmsprop; adam has none"),
        (["train", "--weight-decay", "-1"], "--weight-decay must be a finite number >= 0"),
        (["train", "--l2", "-0.1"], "--l2 must be a finite number >= 0, got -0.1"),
        (["train", "--l2", "inf"], "--l2 must be a finite number >= 0, got inf"),
        (["train", "--clip-norm", "0"], "--clip-norm must be a finite number > 0, got 0.0"),
        (["train", "--keep-prob", "0"], "--keep-prob must be a finite number in (0, 1], got 0.0"),
        (["train", "--keep-prob", "-0.5"], "--keep-prob must be a finite number in (0, 1]"),
        (["train", "--keep-prob", "1.5"], "--keep-prob must be a finite number in (0, 1], got 1.5"),
        (["train", "--keep-prob", "nan"], "--keep-prob must be a finite number in (0, 1], got nan"),
        (["train", "--keep-prob", "inf"], "--keep-prob must be a finite number in (0, 1], got inf"),
        (["train", "--schedule", "linear"], "argument --schedule: invalid choice: 'linear'"),
        (["train", "--loss", "mse"], "argument --loss: invalid choice: 'mse'"),
        (["train", "--dataset", "blobs", "--loss", "binary_cross_entropy"],
         "--loss binary_cross_entropy takes two classes; the labels have 3"),
        (["train", "--patience", "3"], "--patience (early stopping) needs --val-fraction"),
        (["train", "--val-fraction", "1"], "--val-fraction must be a number between 0 and 1"),
        (["train", "--val-fraction", "0.001"],
         "--val-fraction 0.001 of 300 training samples leaves no held-out sample"),
        (["train", "--val-fraction", "0.2", "--patience", "0"], "--patience must be >= 1"),
        (["sweep", "--optimizers", "sgd", "nadam"], "argument --optimizers: invalid choice"),
        (["sweep", "--optimizers", "adam", "adagrad", "--momentum", "0.9"],
         "--momentum applies to the optimizers sgd and rmsprop; the sweep's (adam, adagrad) "
         "have none"),
        (["sweep", "--momentum", "0", "1"], "--momentum must be a finite number in [0, 1), got 1"),
        (["sweep", "--weight-decay", "0", "-1"], "--weight-decay must be a finite number >= 0"),
        (["sweep", "--l2", "-1"], "--l2 must be a finite number >= 0"),
        (["sweep", "--clip-norm", "-1"], "--clip-norm must be a finite number > 0"),
        (["sweep", "--keep-prob", "0"], "--keep-prob must be a finite number in (0, 1], got 0.0"),
        (["sweep", "--keep-prob", "1.0001"], "--keep-prob must be a finite number in (0, 1]"),
        (["sweep", "--keep-prob=-inf"], "--keep-prob must be a finite number in (0, 1]"),
        (["sweep", "--schedule", "linear"], "argument --schedule: invalid choice"),
        (["sweep", "--by", "schedule"], "--by 'schedule': not a column of the sweep records"),
    ],
)
def test_bad_optimizer_options_fail_cleanly(tmp_path, args, message, capsys, monkeypatch):
    """In process (many cases; a subprocess each would take seconds): any
    exception other than argparse's exit would fail the test."""
    from fastinit import cli

    monkeypatch.chdir(tmp_path)
    if args[0] == "train":
        args = [*args, "--iterations", "10", "--out", "m.npz"]
    try:
        code = cli.main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert message in captured.err
    assert captured.out == "" and list(tmp_path.iterdir()) == []  # nothing trained or written
    if "invalid choice" not in message:
        assert captured.err.startswith("fastinit: error: ")
        assert len(captured.err.strip().splitlines()) == 1


def test_sweep_config_file_with_optimizer_columns(tmp_path):
    import json

    config = tmp_path / "grid.json"
    config.write_text(json.dumps({"optimizer": ["adam", "adamw"], "weight_decay": [None, 0.1],
                                  "num_iterations": [50]}))
    proc = run("sweep", "--config", str(config), "--by", "optimizer", "weight_decay", "--quiet")
    assert proc.returncode == 0, proc.stderr
    # None is each optimizer's own weight decay: adam's 0, adamw's 0.01
    assert proc.stdout.startswith("4 trainings: optimizer adam, adamw (2) x weight_decay 0.0, "
                                  "0.1, 0.01 (3)\n")
    config.write_text(json.dumps({"optimizer": ["nadam"]}))
    proc = run("sweep", "--config", str(config))
    assert proc.returncode == 2 and "optimizer must be one of" in proc.stderr
    assert "Traceback" not in proc.stderr
