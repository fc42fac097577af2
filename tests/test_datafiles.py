"""Users' own data files: fastinit.read_data, encode_labels, the model file's
classes, and the command line's train --data / predict round trip."""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastinit
from fastinit._progress import ProgressLine
from fastinit.io.datafiles import encode_labels, read_data


def _moons_csv(path, n=200, header=True, names=("left", "right"), seed=1):
    X, Y = fastinit.make_moons(n, noise=0.1, seed=seed)
    lines = ["width,height,side"] if header else []
    lines += [f"{a:.6f},{b:.6f},{names[y]}" for (a, b), y in zip(X.T, Y[0])]
    path.write_text("\n".join(lines) + "\n")
    return X, Y


def test_csv_with_header_and_word_labels(tmp_path):
    X, Y = _moons_csv(tmp_path / "d.csv")
    data = read_data(tmp_path / "d.csv", label_column="side")
    assert data.feature_names == ["width", "height"] and data.label_name == "side"
    np.testing.assert_allclose(data.X, X.T, atol=1e-6)
    assert data.labels.tolist()[:3] == [["left", "right"][y] for y in Y[0, :3]]
    classes, indices = encode_labels(data.labels)
    assert classes.tolist() == ["left", "right"]
    np.testing.assert_array_equal(indices, Y)


@pytest.mark.parametrize("label_column", [-1, 3, "3", "side"])
def test_the_label_column_by_number_or_name(tmp_path, label_column):
    _moons_csv(tmp_path / "d.csv")
    data = read_data(tmp_path / "d.csv", label_column=label_column)
    assert data.n_features == 2 and set(data.labels.tolist()) == {"left", "right"}


def test_header_guessed_or_told(tmp_path):
    _moons_csv(tmp_path / "h.csv", header=False)
    data = read_data(tmp_path / "h.csv", label_column=-1)
    assert data.n_samples == 200 and data.feature_names == ["x1", "x2"]
    (tmp_path / "n.csv").write_text("1,2,0\n3,4,1\n")
    assert read_data(tmp_path / "n.csv").n_samples == 2  # numbers: no header
    assert read_data(tmp_path / "n.csv", header=True).n_samples == 1
    assert read_data(tmp_path / "n.csv", header=True).feature_names == ["1", "2", "0"]


def test_labels_keep_their_type(tmp_path):
    (tmp_path / "i.csv").write_text("a,y\n0.5,3\n0.7,10\n0.1,3\n")
    labels = read_data(tmp_path / "i.csv", label_column="y").labels
    assert labels.dtype == np.int64 and encode_labels(labels)[0].tolist() == [3, 10]
    # anything but plain integers stays the file's text (predict answers in it)
    (tmp_path / "f.csv").write_text("a,y\n0.5,0.25\n0.7,1.5\n0.2,01\n")
    assert read_data(tmp_path / "f.csv", label_column="y").labels.tolist() == ["0.25", "1.5",
                                                                              "01"]
    rows = np.array([[0.1, 1.0], [0.2, 0.0]])
    np.savez(tmp_path / "b.npz", X=rows, y=np.array([True, False]))
    assert read_data(tmp_path / "b.npz").labels.tolist() == ["True", "False"]
    np.savez(tmp_path / "w.npz", X=rows, y=np.array([1.0, 0.0]))
    assert read_data(tmp_path / "w.npz").labels.dtype == np.int64  # as a .npy's column


def test_npy_and_npz(tmp_path):
    rows = np.array([[0.1, 0.2, 1], [0.3, 0.4, 0], [0.5, 0.6, 2]])
    np.save(tmp_path / "d.npy", rows)
    data = read_data(tmp_path / "d.npy", label_column=-1)
    np.testing.assert_array_equal(data.X, rows[:, :2])
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [1, 0, 2]
    np.savez(tmp_path / "d.npz", X=rows[:, :2], y=np.array(["b", "a", "c"]))
    data = read_data(tmp_path / "d.npz")
    assert data.labels.tolist() == ["b", "a", "c"] and data.X.shape == (3, 2)
    np.savez(tmp_path / "one.npz", rows)
    assert read_data(tmp_path / "one.npz").X.shape == (3, 3)
    # the default labels (train --data): a .npz's y, else the last column
    from fastinit.io.datafiles import DEFAULT_LABELS

    assert read_data(tmp_path / "one.npz", label_column=DEFAULT_LABELS).labels.tolist() == [1, 0, 2]
    assert read_data(tmp_path / "d.npz", label_column=DEFAULT_LABELS).labels.tolist() == [
        "b", "a", "c"]
    assert read_data(tmp_path / "d.npy", label_column=DEFAULT_LABELS).X.shape == (3, 2)


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        ("a,b,y\n1,2,p\n3,x,q\n", {"label_column": "y"}, "line 3, column 2 ('b'): 'x' is not a number"),
        ("a,b,y\n1,2,p\n3,inf,q\n", {"label_column": "y"}, "line 3, column 2 ('b'): 'inf' is not a finite"),
        ("a,b,y\n1,2,p\n\n3,4\n", {"label_column": "y"}, "line 4: 2 fields, expected 3 (as in line 1)"),
        ("a,b,y\n1,2,p\n3,4,\n", {"label_column": "y"}, "line 3, column 3 ('y'): the label is empty"),
        ("a,b,y\n1,2,p\n", {"label_column": "z"}, "has no column named 'z'; its columns are 'a', 'b', 'y'"),
        ("1,2,3\n", {"label_column": "z"}, "has no header line, so there is no column named 'z'"),
        ("a,b,y\n1,2,p\n", {"label_column": 4}, "has 3 columns, so there is no label column 4"),
        ("a\n1\n", {"label_column": 1}, "has no feature column besides the labels"),
        ("", {}, "holds no samples (it is empty)"),
        ('a,"b\n1,2\n', {}, "line"),
    ],
)
def test_csv_errors_name_the_file_line_and_column(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        read_data(path, **kwargs)
    assert message in str(info.value) and repr(str(path)) in str(info.value)


def test_argument_errors(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n")
    with pytest.raises(ValueError, match="count from 1"):
        read_data(tmp_path / "d.csv", label_column=0)
    with pytest.raises(TypeError, match="label_column"):
        read_data(tmp_path / "d.csv", label_column=1.5)
    with pytest.raises(TypeError, match="header"):
        read_data(tmp_path / "d.csv", header="yes")
    with pytest.raises(FileNotFoundError):
        read_data(tmp_path / "missing.csv")


def test_model_files_keep_classes_and_feature_names(tmp_path):
    X, Y, test_X, test_Y = fastinit.load_dataset()
    result = fastinit.train(X, Y, [2, 10, 5, 1], learning_rate=0.05, num_iterations=3000)
    words = np.array(["outer", "inner"])
    fastinit.save_model(tmp_path / "m.npz", result, classes=words, feature_names=["u", "v"],
                        label_name="ring")
    model = fastinit.load_model(tmp_path / "m.npz")
    assert model.classes == ("outer", "inner") and model.feature_names == ("u", "v")
    assert model.label_name == "ring"
    np.testing.assert_array_equal(model.predict(test_X), words[result.predict(test_X)])
    assert model.accuracy(test_X, words[test_Y]) == result.accuracy(test_X, test_Y)
    with pytest.raises(ValueError, match="Y holds the label 1, which is not one of the model's"):
        model.accuracy(test_X, test_Y)
    assert len(repr(model)) < 200 and "classes=['outer', 'inner']" in repr(model)
    with pytest.raises(ValueError, match="classes must list 2 labels for 1 output unit"):
        fastinit.save_model(tmp_path / "x.npz", result, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="must name the 2 input features"):
        fastinit.save_model(tmp_path / "x.npz", result, feature_names=["u"])


def test_model_from_a_notebook_parameter_dict(tmp_path):
    X, Y, test_X, test_Y = fastinit.load_dataset()
    parameters = fastinit.model(X, Y, learning_rate=0.01, num_iterations=2000, print_cost=False,
                                initialization="he")
    model = fastinit.model_from_parameters(parameters)
    assert model.layers_dims == [2, 10, 5, 1] and model.classes is None
    expected = fastinit.predict_labels(test_X, parameters)
    np.testing.assert_array_equal(model.predict(test_X), expected)
    assert model.accuracy(test_X, test_Y) == np.mean(expected == test_Y)
    fastinit.save_model(tmp_path / "nb.npz", model)
    np.testing.assert_array_equal(fastinit.load_model(tmp_path / "nb.npz").predict(test_X),
                                  expected)
    with pytest.raises(ValueError, match="W2"):
        fastinit.model_from_parameters({"W1": np.ones((3, 2)), "b1": np.zeros((3, 1)),
                                        "W2": np.ones((1, 4)), "b2": np.zeros((1, 1))})


def test_training_result_repr_is_a_few_lines():
    X, Y, _, _ = fastinit.load_dataset()
    result = fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=2000)
    text = repr(result)
    assert len(text.splitlines()) <= 4 and len(text) < 400
    assert "layers_dims=[2, 10, 5, 1]" in text and "status='completed'" in text


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_shows_elapsed_rate_and_time_left():
    line = ProgressLine(True, "training", stream=_Terminal())
    assert line.enabled
    assert line.text(10, 40, 5.0) == "  training 10 / 40  0:05 elapsed, 2/s, about 0:15 left"
    assert line.text(0, 40, 0.0) == "  training  0 / 40  0:00 elapsed"
    assert "1:02:05" in line.text(1, 3726, 1.0)
    line(1, 4)
    line(4, 4)  # erased at the end
    written = line.stream.getvalue()
    assert "training 1 / 4" in written and written.endswith("\r")
    assert not ProgressLine(True, stream=io.StringIO()).enabled  # not a terminal: silent
    assert not ProgressLine(False, stream=_Terminal()).enabled


def test_sweep_summary_says_what_ran():
    table = fastinit.sweep({"init": ["zeros", "he"], "seed": [0, 1, 2, 3],
                            "num_iterations": [100]}, progress=None)
    head = table.format_summary().splitlines()[:2]
    assert head[0] == "8 trainings: init zeros, he (2) x seed 0 .. 3 (4)"
    assert "dataset circles" in head[1] and "num_iterations 100" in head[1]


# ---------------------------------------------------------------------------
# The command line on users' files
# ---------------------------------------------------------------------------

def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastinit", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_train_on_a_csv_then_predict_to_csv(tmp_path):
    _moons_csv(tmp_path / "train.csv", n=300, seed=1)
    X, Y = _moons_csv(tmp_path / "test.csv", n=100, seed=2)
    proc = run("train", "--data", "train.csv", "--test-data", "test.csv", "--label-column",
               "side", "--layers", "16,8", "--learning-rate", "0.1", "--iterations", "4000",
               "--quiet", "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout and "2 classes: ['left', 'right']" in proc.stdout
    # the test file holds the label column: predict leaves it out by its name
    proc = run("predict", "m.npz", "test.csv", "--out", "pred.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    head, *labels = (tmp_path / "pred.csv").read_text().splitlines()
    assert head == "side" and len(labels) == 100
    truth = [["left", "right"][y] for y in Y[0]]
    assert np.mean(np.array(labels) == np.array(truth)) > 0.95
    # columns found by name, in any order; probabilities to standard output
    (tmp_path / "new.csv").write_text("height,width\n" + "\n".join(
        f"{b},{a}" for a, b in X.T[:5]) + "\n")
    proc = run("predict", "m.npz", "new.csv", "--proba", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    head, *rows = proc.stdout.splitlines()
    assert head == "p_left,p_right" and len(rows) == 5
    P = np.array([[float(v) for v in row.split(",")] for row in rows])
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-5)
    assert [["left", "right"][k] for k in P.argmax(axis=1)] == labels[:5]


def test_train_on_npz_with_three_classes(tmp_path):
    X, Y = fastinit.make_blobs(300, n_classes=3, seed=1, center_seed=0)
    names = np.array(["setosa", "versicolor", "virginica"])
    np.savez(tmp_path / "d.npz", X=X.T, y=names[Y[0]])
    proc = run("train", "--data", "d.npz", "--learning-rate", "0.05", "--iterations", "2000",
               "--quiet", "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    model = fastinit.load_model(tmp_path / "m.npz")
    assert model.classes == tuple(names) and model.layers_dims[-1] == 3
    assert model.accuracy(X, names[Y]) > 0.85


@pytest.mark.parametrize(
    "files, args, message",
    [
        ({"d.csv": "a,b,y\n1,2,p\n3,x,q\n"}, ["--data", "d.csv"],
         "--data 'd.csv', line 3, column 2 ('b'): 'x' is not a number"),
        ({"d.csv": "a,b,y\n1,2,p\n3,4,p\n"}, ["--data", "d.csv"],
         "every sample has the label 'p'; a classifier needs two classes or more"),
        ({"d.csv": "a,b,y\n1,2,p\n3,4,q\n", "t.csv": "a,b,y\n1,2,r\n"},
         ["--data", "d.csv", "--test-data", "t.csv"],
         "--test-data 't.csv', line 2: the label 'r' is not among the training labels ['p', 'q']"),
        ({"d.csv": "a,b,y\n1,2,p\n3,4,q\n", "t.csv": "a,y\n1,p\n"},
         ["--data", "d.csv", "--test-data", "t.csv"],
         "--test-data 't.csv' has no column 'b', which --data 'd.csv' was trained on; its "
         "columns are 'a'"),
        ({"d.csv": "1,2,p\n3,4,q\n", "t.csv": "1,p\n"},
         ["--data", "d.csv", "--test-data", "t.csv"],
         "--test-data 't.csv' has 1 feature columns (x1); --data 'd.csv' takes 2"),
        ({"d.csv": "a,b,y\n" + "".join(f"{i},{i}.5,{i}.25\n" for i in range(30))},
         ["--data", "d.csv"], "the label column 'y' holds numbers such as 0.25, not class "
                              "labels; is it a feature?"),
        ({"d.csv": "a,y\n" + "".join(f"0.{i},{i}\n" for i in range(30))},
         ["--data", "d.csv"], "the label column 'y' has 30 different values among 30 samples"),
        ({"d.csv": "a,b,y\n1,2,p\n3,4,q\n"}, ["--data", "d.csv", "--out", "d.csv"],
         "--out 'd.csv' is the data file: it would be replaced"),
        ({}, ["--no-header"], "--header/--no-header applies to --data FILE, which is not given"),
        ({}, ["--label-column", "3"], "--label-column applies to --data FILE"),
        ({"d.csv": "a,b,y\n1,2,p\n"}, ["--data", "d.csv", "--label-column", "label"],
         "--data 'd.csv' has no column named 'label'"),
        ({}, ["--data", "missing.csv"], "missing.csv"),
        ({}, ["--test-data", "t.csv"], "--test-data applies to --data FILE, which is not given"),
        ({"d.csv": "1,2\n"}, ["--data", "d.csv", "--dataset", "moons"], "not allowed with"),
    ],
)
def test_train_data_errors_name_the_file(tmp_path, files, args, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    if "--out" not in args:
        args = [*args, "--out", "m.npz"]
    proc = run("train", *args, "--iterations", "10", cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "m.npz").exists()
    assert [f.name for f in tmp_path.iterdir() if f.suffix == ".npz"] == []


def test_version_and_examples_in_every_help():
    cwd = tempfile.gettempdir()
    proc = run("--version", cwd=cwd)
    assert proc.returncode == 0 and proc.stdout.strip() == f"fastinit {fastinit.__version__}"
    for command in ("compare", "train", "predict", "bench", "sweep"):
        proc = run(command, "--help", cwd=cwd)
        assert proc.returncode == 0 and "examples:\n  fastinit " + command in proc.stdout


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("q.csv", 'a,b,y\n1,2,p\n3,4,"q\n', "--data 'q.csv', line 3: unexpected end of data"),
        ("s.csv", "a;b;y\n1;2;p\n", "(separated by ';'? fastinit reads comma-separated values)"),
        ("j.bin", b"\x00\xff\x13binary", "--data 'j.bin', line 1: not UTF-8 text (byte 1)"),
        ("none.csv", None, "--data 'none.csv': No such file or directory"),
    ],
)
def test_train_on_files_that_are_not_data(tmp_path, name, content, message):
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    elif content is not None:
        (tmp_path / name).write_text(content)
    proc = run("train", "--data", name, "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Errno" not in proc.stderr


def test_what_spreadsheets_and_pandas_write(tmp_path):
    # pandas' to_csv(): an unnamed row-index column; Excel: a trailing comma on
    # every line and CRLF line ends; R: quoted names
    (tmp_path / "pd.csv").write_text(",a,b,y\n0,0.1,0.2,p\n1,0.3,0.4,q\n2,0.5,0.6,p\n")
    data = read_data(tmp_path / "pd.csv", label_column="y")
    assert data.feature_names == ["a", "b"] and data.left_out[0].startswith("column 1")
    (tmp_path / "xl.csv").write_bytes(b"a,b,y,\r\n0.1,0.2,p,\r\n0.3,0.4,q,\r\n")
    data = read_data(tmp_path / "xl.csv", label_column="y")
    assert data.feature_names == ["a", "b"] and data.labels.tolist() == ["p", "q"]
    (tmp_path / "r.csv").write_text('"","a","y"\n"1",0.1,"p"\n"2",0.3,"q"\n')
    assert read_data(tmp_path / "r.csv", label_column="y").feature_names == ["a"]
    # a header of words above words it never repeats is still a header
    (tmp_path / "w.csv").write_text("1,2,label\n" + "0.1,0.2,yes\n0.3,0.4,no\n" * 6)
    assert read_data(tmp_path / "w.csv", label_column=-1).labels.tolist() == ["yes", "no"] * 6
    (tmp_path / "few.csv").write_text("1,2,p\n3,4,q\n")  # too few lines to tell: no header
    assert read_data(tmp_path / "few.csv", label_column=-1).labels.tolist() == ["p", "q"]


def test_a_fifo_is_refused_without_waiting(tmp_path):
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="is not a regular file"):
        read_data(fifo)


def test_test_data_and_predict_pick_the_training_columns_by_name(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    y = np.where(X[:, 0] > 0, "pos", "neg")  # only alpha matters

    def write(path, order):
        names = ["alpha", "beta", "gamma"]
        lines = [",".join([*(names[j] for j in order), "y"])]
        lines += [",".join([*(f"{row[j]:.5f}" for j in order), label])
                  for row, label in zip(X, y)]
        path.write_text("\n".join(lines) + "\n")

    write(tmp_path / "train.csv", [0, 1, 2])
    write(tmp_path / "shuffled.csv", [1, 2, 0])
    proc = run("train", "--data", "train.csv", "--test-data", "shuffled.csv", "--learning-rate",
               "0.1", "--iterations", "3000", "--quiet", "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    train_acc, test_acc = [float(w.rstrip(",")) for w in proc.stdout.split()
                           if w.rstrip(",").replace(".", "").isdigit()][:2]
    assert train_acc > 0.95 and test_acc == train_acc  # same rows, columns found by name
    proc = run("predict", "m.npz", "shuffled.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert np.mean(np.array(proc.stdout.split()[1:]) == y) == train_acc
    # a header that lacks a training column is refused, not read in order
    (tmp_path / "renamed.csv").write_text((tmp_path / "shuffled.csv").read_text()
                                          .replace("alpha", "Alpha", 1))
    proc = run("predict", "m.npz", "renamed.csv", cwd=tmp_path)
    assert proc.returncode == 2 and "has no column 'alpha'" in proc.stderr


def test_a_closed_pipe_ends_the_command_quietly():
    """`fastinit ... | head`: the reader is gone before the command writes (its
    end is closed at once; the command first imports and trains)."""
    proc = subprocess.Popen([sys.executable, "-m", "fastinit", "sweep", "--n-seeds", "2",
                             "--inits", "he", "--iterations", "10"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141 and err == ""
