"""Model files: exact round trips; malformed files are rejected clearly."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile

import numpy as np
import pytest

import fastinit


@pytest.fixture
def trained(seed_data):
    X, Y = seed_data[:2]
    return fastinit.train(X, Y, [2, 10, 5, 1], num_iterations=500, activation="tanh")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_is_exact(tmp_path, seed_data, dtype):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 6, 3], num_iterations=100, dtype=dtype, init="orthogonal",
                       activation="leaky_relu", negative_slope=0.2)
    path = tmp_path / "m.npz"
    fastinit.save_model(path, r)
    m = fastinit.load_model(path)
    assert m.layers_dims == [2, 6, 3] and m.activation == "leaky_relu" and m.negative_slope == 0.2
    assert m.dtype == np.dtype(dtype) and m.init == "orthogonal"
    assert m.fastinit_version == fastinit.__version__
    for key in r.parameters:
        np.testing.assert_array_equal(m.parameters[key], r.parameters[key])
        assert m.parameters[key].dtype == r.parameters[key].dtype
    np.testing.assert_array_equal(m.predict_proba(X), r.predict_proba(X))
    np.testing.assert_array_equal(m.predict(X), r.predict(X))
    fastinit.save_model(tmp_path / "again.npz", m)  # a loaded model saves again
    np.testing.assert_array_equal(fastinit.load_model(tmp_path / "again.npz").parameters["W1"],
                                  r.parameters["W1"])


def _rewrite(path, **changes):
    """Copy the model file's arrays, changing or dropping (None) some."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(path, **arrays)


def _meta(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__fastinit__"][()]))
    meta.update(changes)
    return np.array(json.dumps(meta))


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a complete zip archive"),
        (lambda p: p.write_bytes(p.read_bytes()[:-30]), "not a complete zip archive"),
        (lambda p: p.write_bytes(b"not a zip file at all"), "it is a text file"),
        (lambda p: p.write_bytes(b"\x00\x01binary junk"), "not a zip archive"),
        (lambda p: _rewrite(p, __fastinit__=None), "no '__fastinit__' metadata"),
        (lambda p: _rewrite(p, __fastinit__=np.array("{not json")), "metadata is not JSON"),
        (lambda p: _rewrite(p, __fastinit__=np.array(3.0)), "must be a 0-d string"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, format="other")), "does not describe"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, format_version=99)), "format version 99"),
        (lambda p: _rewrite(p, W2=np.ones((5, 7))), r"file\['W2'\] must have 10 columns"),
        (lambda p: _rewrite(p, b3=None), r"missing \['b3'\]"),
        (lambda p: _rewrite(p, W1=np.full((10, 2), np.nan)), "must contain only finite"),
        (lambda p: _rewrite(p, W1=np.ones((10, 2), np.int64)), "model files hold float32 or"),
        (lambda p: _rewrite(p, W1=np.ones((10, 2, 1))), "W is 2-D"),
        (lambda p: _rewrite(p, W1=np.ones((10, 2), np.float32)), "metadata says float64"),
        (lambda p: _rewrite(p, extra=np.ones(3)), "member 'extra.npy'"),
        (lambda p: _rewrite(p, W0=np.ones(3)), "member 'W0.npy'"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, layers_dims=[2, 10, 5, 2])), "metadata says"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, dtype="float32")), "metadata says float32"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, activation="mish")), "activation must be"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, output="softmax")), "does not fit"),
        (lambda p: _rewrite(p, W1=np.array([{"x": 1}], dtype=object)), "would need pickle"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, trained, tamper, match):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    tamper(path)
    with pytest.raises(ValueError, match=match) as info:
        fastinit.load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("layers_dims", "abc", "'layers_dims' must be of JSON type list"),
        ("layers_dims", [2, "10", 5, 1], "'layers_dims' must be a list of integers"),
        ("layers_dims", [2.0, 10, 5, 1], "'layers_dims' must be a list of integers"),
        ("negative_slope", [], "'negative_slope' must be of JSON type int or float"),
        ("negative_slope", True, "'negative_slope' must be of JSON type"),
        ("negative_slope", float("nan"), "negative_slope must be finite"),
        ("activation", 3, "'activation' must be of JSON type str"),
        ("activation", ["relu"], "'activation' must be of JSON type str"),
        ("dtype", [], "'dtype' must be of JSON type str"),
        ("dtype", {"names": ["a"]}, "'dtype' must be of JSON type str"),
        ("dtype", "object", "'dtype' must be 'float32' or 'float64'"),
        ("output", None, "'output' must be of JSON type str"),
        ("format_version", True, "format version True is not 1"),
        ("format_version", 1.5, "format version 1.5 is not 1"),
        ("init", 5, "'init' must be a string"),
        ("fastinit_version", {}, "'fastinit_version' must be a string"),
    ],
)
def test_metadata_of_the_wrong_type_is_rejected(tmp_path, trained, field, value, match):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    _rewrite(path, __fastinit__=_meta(path, **{field: value}))
    with pytest.raises(ValueError, match=match):
        fastinit.load_model(path)


def test_missing_metadata_fields_are_rejected(tmp_path, trained):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__fastinit__"][()]))
    del meta["activation"]
    _rewrite(path, __fastinit__=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="metadata has no 'activation'"):
        fastinit.load_model(path)


@pytest.mark.parametrize("depth", [30_000, 100_000])
def test_deeply_nested_metadata_is_a_value_error(tmp_path, trained, depth):
    """json.loads raises RecursionError on deep nesting; a model file must not."""
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    _rewrite(path, __fastinit__=np.array("[" * depth + "]" * depth))
    with pytest.raises(ValueError, match="metadata is not JSON|at most 65536 characters"):
        fastinit.load_model(path)


def test_other_files_are_named_for_what_they_are(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 2)))
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("W1 = [[1, 2]]\n")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w"):
        pass
    (tmp_path / "folder.npz").mkdir()
    cases = {
        "a.npy": "is a .npy array file, not a fastinit model \\(.npz\\)",
        "empty.npz": "it is empty",
        "notes.txt": "it is a text file",
        "other.zip": "member 'readme.txt', which is not an array of a fastinit model",
        "empty.zip": "no '__fastinit__' metadata",
        "folder.npz": "it is a directory",
    }
    for name, match in cases.items():
        with pytest.raises(ValueError, match=match) as info:
            fastinit.load_model(tmp_path / name)
        assert repr(str(tmp_path / name)) in str(info.value)


def _zip_of(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members:
            z.writestr(name, data)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_foreign_archives_are_rejected(tmp_path, trained):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    with zipfile.ZipFile(path) as z:
        members = [(info.filename, z.read(info)) for info in z.infolist()]
    cases = {
        "duplicate": (members + [members[0]], zipfile.ZIP_STORED, "two members named"),
        "bzip2": (members, zipfile.ZIP_BZIP2, "compression method 12"),
        "folder": (members + [("W1/", b"")], zipfile.ZIP_STORED, "member 'W1/'"),
        "W01": (members + [("W01.npy", members[0][1])], zipfile.ZIP_STORED, "member 'W01.npy'"),
    }
    for name, (content, compression, match) in cases.items():
        target = tmp_path / f"{name}.npz"
        _zip_of(target, content, compression)
        with pytest.raises(ValueError, match=match):
            fastinit.load_model(target)


def test_a_corrupted_member_is_caught_by_its_checksum(tmp_path, trained):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("W2.npy")
    data[info.header_offset + 30 + len("W2.npy") + 200] ^= 0xFF  # a byte of W2's values
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cannot be read as a zip archive"):
        fastinit.load_model(path)


# ---------------------------------------------------------------------------
# Bounded work: nothing is decompressed or allocated before it is checked
# ---------------------------------------------------------------------------

def _no_member_read(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a member was read before the archive was checked")

    monkeypatch.setattr(fastinit.io.model_io, "_read_member", fail)


def test_zip_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, W1=np.zeros((5000, 5000)), b1=np.zeros((5000, 1)),
                        __fastinit__=np.array("{}"))  # 200 MB of zeros
    assert path.stat().st_size < 2**20
    monkeypatch.setattr(fastinit.io.model_io, "MAX_MODEL_BYTES", 2**20)
    _no_member_read(monkeypatch)
    with pytest.raises(ValueError, match="would take 200040\\d+ bytes once decompressed"):
        fastinit.load_model(path)


def test_a_header_promising_more_than_its_member_is_refused(tmp_path, trained, monkeypatch):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist() if i.filename != "W1.npy"]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**9)})
    _zip_of(path, [*members, ("W1.npy", header.getvalue() + b"\0" * 160)])

    read_into = fastinit.io.model_io._read_into

    def checked(f, view, name):
        assert name != "W1.npy", "W1's data read before its header was checked"
        read_into(f, view, name)

    monkeypatch.setattr(fastinit.io.model_io, "_read_into", checked)
    with pytest.raises(ValueError, match="declares 8000000000000000000 bytes"):
        fastinit.load_model(path)


def test_too_many_members_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "many.npz"
    _zip_of(path, [(f"W{l}.npy", b"") for l in range(1, 12)])
    monkeypatch.setattr(fastinit.io.model_io, "MAX_MEMBERS", 5)
    _no_member_read(monkeypatch)
    with pytest.raises(ValueError, match="lists 11 members"):
        fastinit.load_model(path)


def test_an_oversized_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 10**6)
    monkeypatch.setattr(fastinit.io.model_io, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ValueError, match="more than a model file can be"):
        fastinit.load_model(path)


def test_bounds_are_sane():
    m = fastinit.io.model_io
    assert 0 < m.MAX_MODEL_BYTES <= 2**30
    assert m.MAX_MEMBERS == 2 * m.MAX_LAYERS + 2  # W, b per layer; metadata; optimizer state


def test_pickled_payloads_are_never_loaded(tmp_path, trained, monkeypatch):
    import pickle

    path = tmp_path / "evil.npz"
    fastinit.save_model(path, trained)
    _rewrite(path, W1=np.array([object()], dtype=object))  # needs pickle to load
    assert zipfile.is_zipfile(path)

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load_model unpickled something")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(ValueError, match="would need pickle"):
        fastinit.load_model(path)


def test_missing_file_and_bad_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastinit.load_model(tmp_path / "nope.npz")
    with pytest.raises(TypeError, match="model must be a TrainingResult"):
        fastinit.save_model(tmp_path / "x.npz", {"W1": 1})
    assert not (tmp_path / "x.npz").exists()


# ---------------------------------------------------------------------------
# Saving never destroys data, and never writes what load_model would refuse
# ---------------------------------------------------------------------------

def _changed(model, **changes):
    return dataclasses.replace(fastinit.load_model(model) if not hasattr(model, "parameters")
                               else model, **changes)


def _params_with(model, **arrays):
    return {**model.parameters, **arrays}


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda m: {"parameters": _params_with(m, W1=np.full((10, 2), np.inf))},
         ValueError, "only finite"),
        (lambda m: {"parameters": _params_with(m, b2=np.array([[np.nan]] * 5))},
         ValueError, "only finite"),
        (lambda m: {"parameters": _params_with(m, W1=np.ones((10, 2), complex))},
         TypeError, "real numbers"),
        (lambda m: {"parameters": _params_with(m, W1=np.full((10, 2), "x"))},
         TypeError, "real numbers"),
        (lambda m: {"parameters": _params_with(m, W2=np.ones((5, 7)))}, ValueError, "7 columns|10 columns"),
        (lambda m: {"parameters": _params_with(m, b1=np.ones((3, 1)))}, ValueError, "b1"),
        (lambda m: {"parameters": {k: v for k, v in m.parameters.items() if k != "b3"}},
         ValueError, r"missing \['b3'\]"),
        (lambda m: {"parameters": _params_with(m, W4=np.ones((1, 1)))}, ValueError, "W4|b4"),
        (lambda m: {"parameters": "W1"}, TypeError, "must be a dict"),
        (lambda m: {"activation": "mish"}, ValueError, "activation must be"),
        (lambda m: {"activation": ["relu"]}, ValueError, "activation must be"),
        (lambda m: {"negative_slope": float("nan")}, ValueError, "negative_slope must be finite"),
        (lambda m: {"negative_slope": "0.1"}, TypeError, "negative_slope must be a real"),
        (lambda m: {"init": "x" * 5_000_000}, ValueError, "metadata .* takes"),
    ],
)
def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path, trained, change,
                                                                  error, match):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    before = path.read_bytes()
    saved = fastinit.load_model(path)
    bad = dataclasses.replace(saved, **change(saved))
    with pytest.raises(error, match=match):
        fastinit.save_model(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temporary file left


def test_save_refuses_too_many_layers_and_too_many_bytes(tmp_path, trained, monkeypatch):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    before = path.read_bytes()
    monkeypatch.setattr(fastinit.io.model_io, "MAX_LAYERS", 2)
    with pytest.raises(ValueError, match="3 layers; a model file holds at most 2"):
        fastinit.save_model(path, trained)
    monkeypatch.setattr(fastinit.io.model_io, "MAX_LAYERS", 256)
    monkeypatch.setattr(fastinit.io.model_io, "MAX_MODEL_BYTES", 100)
    with pytest.raises(ValueError, match="a model file holds at most 100"):
        fastinit.save_model(path, trained)
    assert path.read_bytes() == before


def test_a_failure_while_writing_keeps_the_old_file(tmp_path, trained, monkeypatch):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    before = path.read_bytes()
    other = dataclasses.replace(fastinit.load_model(path), init="xavier")

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        fastinit.save_model(path, other)
    assert path.read_bytes() == before
    monkeypatch.undo()

    def broken_replace(*args, **kwargs):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", broken_replace)  # after the new content is written
    with pytest.raises(OSError, match="rename failed"):
        fastinit.save_model(path, other)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    fastinit.save_model(path, other)
    assert fastinit.load_model(path).init == "xavier"


def test_save_to_a_directory_or_a_missing_folder(tmp_path, trained):
    with pytest.raises(ValueError, match="is a directory"):
        fastinit.save_model(tmp_path, trained)
    with pytest.raises(ValueError, match="does not exist"):
        fastinit.save_model(tmp_path / "no" / "m.npz", trained)
    assert list(tmp_path.iterdir()) == []


def test_foreign_byte_order_and_fortran_order_load(tmp_path, trained):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    W1 = trained.parameters["W1"]
    _rewrite(path, W1=np.asfortranarray(W1).astype(">f8"))
    m = fastinit.load_model(path)
    np.testing.assert_array_equal(m.parameters["W1"], W1)
    assert m.parameters["W1"].dtype == np.float64 and m.parameters["W1"].flags.c_contiguous


# ---------------------------------------------------------------------------
# Format version 2: the training's options and optimizer state
# ---------------------------------------------------------------------------

from fastinit.nn.optimizers import (  # noqa: E402
    OPTIMIZERS, SCHEDULES, SGD, Adam, CosineAnnealing, OptimizerState, StepLR)

_NET = [2, 5, 3, 1]


def _members(path):
    with zipfile.ZipFile(path) as z:
        return sorted(z.namelist())


def _metadata_of(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["__fastinit__"][()]))


def _same_parameters(a, b):
    return a.keys() == b.keys() and all(
        np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_optimizer_round_trips_and_resumes_exactly(tmp_path, seed_data, name, dtype):
    X, Y = seed_data[:2]
    options = dict(optimizer=name, schedule=CosineAnnealing(t_max=30, eta_min=1e-4),
                   learning_rate=0.01, dtype=dtype, diagnostics=False)
    whole = fastinit.train(X, Y, _NET, num_iterations=30, **options)
    half = fastinit.train(X, Y, _NET, num_iterations=15, **options)
    path = tmp_path / "m.npz"
    fastinit.save_model(path, half)
    assert _members(path) == ["W1.npy", "W2.npy", "W3.npy", "__fastinit__.npy", "b1.npy",
                              "b2.npy", "b3.npy", "optimizer_state.npy"]
    meta = _metadata_of(path)
    assert meta["format_version"] == 2
    assert meta["optimizer"]["name"] == name and meta["schedule"]["name"] == "cosine"
    assert meta["optimizer_state"] == {"step": 15}
    m = fastinit.load_model(path)
    assert type(m.optimizer) is OPTIMIZERS[name] and m.optimizer == half.optimizer
    assert m.optimizer.lr == 0.01 and m.schedule == half.schedule
    assert m.loss == "binary_cross_entropy" and m.l2 == 0 and m.clip_norm == 0
    state = m.optimizer_state
    assert state.optimizer is m.optimizer and state.step == 15
    assert state.slots.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(state.slots, half.optimizer_state.slots)
    resumed = fastinit.train(X, Y, m.layers_dims, num_iterations=15, diagnostics=False,
                             **m.resume_kwargs())
    assert _same_parameters(resumed.parameters, whole.parameters)
    np.testing.assert_array_equal(resumed.optimizer_state.slots, whole.optimizer_state.slots)
    assert resumed.optimizer_state.step == whole.optimizer_state.step == 30
    assert resumed.learning_rate == whole.learning_rate
    fastinit.save_model(tmp_path / "again.npz", m)  # a loaded model saves again, state and all
    again = fastinit.load_model(tmp_path / "again.npz")
    assert again.optimizer == m.optimizer and again.optimizer_state.step == 15
    np.testing.assert_array_equal(again.optimizer_state.slots, state.slots)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer=Adam(betas=(0.8, 0.99), eps=1e-7, amsgrad=True, weight_decay=1e-3)),
        dict(optimizer=SGD(momentum=0.9, nesterov=True, weight_decay=1e-4),
             schedule=StepLR(step_size=7, gamma=0.5), l2=0.01, clip_norm=0.5),
        dict(optimizer=SGD(momentum=0.8, dampening=0.1), schedule="exponential",
             batch_size=64, seed=11),
        dict(optimizer="adamw", schedule="invscaling", keep_prob=(0.8, 0.9), seed=5),
    ],
    ids=["adam", "sgd-momentum-step", "sgd-minibatch", "adamw-dropout"],
)
def test_train_save_load_train_is_one_longer_training(tmp_path, seed_data, dtype, options):
    """train N -> save -> load -> train N more gives the bits of train 2N."""
    X, Y = seed_data[:2]
    options = dict(options, dtype=dtype, learning_rate=0.02, diagnostics=False)
    whole = fastinit.train(X, Y, _NET, num_iterations=40, **options)
    half = fastinit.train(X, Y, _NET, num_iterations=20, **options)
    fastinit.save_model(tmp_path / "m.npz", half)
    m = fastinit.load_model(tmp_path / "m.npz")
    assert m.keep_prob == half.keep_prob and m.seed == half.seed
    assert m.l2 == half.l2 and m.clip_norm == half.clip_norm and m.schedule == half.schedule
    extra = {"batch_size": options["batch_size"]} if "batch_size" in options else {}
    resumed = fastinit.train(X, Y, m.layers_dims, num_iterations=20, diagnostics=False,
                             **extra, **m.resume_kwargs())
    assert _same_parameters(resumed.parameters, whole.parameters)
    np.testing.assert_array_equal(resumed.optimizer_state.slots, whole.optimizer_state.slots)
    assert resumed.final_cost == whole.final_cost
    assert (resumed.optimizer, resumed.schedule, resumed.l2, resumed.clip_norm,
            resumed.keep_prob) == (whole.optimizer, whole.schedule, whole.l2, whole.clip_norm,
                                   whole.keep_prob)


def test_resume_kwargs(tmp_path, seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, _NET, num_iterations=5, optimizer="rmsprop", seed=9,
                       init="xavier", activation="tanh", dtype="float32")
    fastinit.save_model(tmp_path / "m.npz", r)
    m = fastinit.load_model(tmp_path / "m.npz")
    kwargs = m.resume_kwargs()
    assert kwargs.keys() == {"initial_parameters", "activation", "negative_slope", "dtype",
                             "loss", "optimizer", "schedule", "l2", "clip_norm", "keep_prob",
                             "optimizer_state", "learning_rate", "seed", "init"}
    assert kwargs["clip_norm"] is None  # train takes None (not 0) for no clipping
    assert kwargs["keep_prob"] is None and kwargs["seed"] == 9 and kwargs["init"] == "xavier"
    assert kwargs["activation"] == "tanh" and kwargs["dtype"] == np.float32
    assert kwargs["learning_rate"] == m.optimizer.lr == r.optimizer.lr
    # copies: a training from them leaves the model as it was
    assert kwargs["optimizer_state"] is not m.optimizer_state
    assert not np.shares_memory(kwargs["optimizer_state"].slots, m.optimizer_state.slots)
    assert not np.shares_memory(kwargs["initial_parameters"]["W1"], m.parameters["W1"])
    assert "optimizer='rmsprop'" in repr(m) and "step=5" in repr(m)


def _v1_file(path, parameters, **meta):
    """A model file as fastinit wrote it before format version 2."""
    fields = {"format": "fastinit-model", "format_version": 1, "fastinit_version": "0.9",
              "layers_dims": [parameters["W1"].shape[1]]
              + [parameters[f"W{l}"].shape[0] for l in range(1, len(parameters) // 2 + 1)],
              "activation": "relu", "negative_slope": 0.01, "dtype": "float64", "init": "he"}
    fields["output"] = "sigmoid" if fields["layers_dims"][-1] == 1 else "softmax"
    fields.update(meta)
    np.savez(path, **parameters, __fastinit__=np.array(json.dumps(fields)))


@pytest.mark.parametrize("n_out", [1, 3])
def test_version_1_files_load_as_before(tmp_path, seed_data, n_out):
    X, Y = seed_data[:2]
    if n_out == 3:
        Y = (X[0] > 0).astype(int) + (X[1] > 0)
    r = fastinit.train(X, Y, [2, 4, n_out], num_iterations=20)
    path = tmp_path / "old.npz"
    _v1_file(path, r.parameters, classes=["a", "b", "c"][:max(n_out, 2)])
    m = fastinit.load_model(path)
    assert m.loss == ("binary_cross_entropy" if n_out == 1 else "categorical_cross_entropy")
    assert m.optimizer == SGD() and m.optimizer.lr is None
    assert m.schedule == fastinit.nn.optimizers.Constant() and m.l2 == 0 and m.clip_norm == 0
    assert m.optimizer_state is None and m.keep_prob is None and m.seed is None
    np.testing.assert_array_equal(m.predict_proba(X), r.predict_proba(X))
    np.testing.assert_array_equal(m.predict(X), np.array(["a", "b", "c"])[r.predict(X)])
    # resuming plain gradient descent needs the learning rate, which the file does not know
    kwargs = m.resume_kwargs()
    assert kwargs["optimizer_state"] is None and "learning_rate" not in kwargs
    more = fastinit.train(X, Y, m.layers_dims, num_iterations=10, learning_rate=0.01, **kwargs)
    warm = fastinit.train(X, Y, m.layers_dims, num_iterations=10, learning_rate=0.01,
                          initial_parameters=r.parameters)
    assert _same_parameters(more.parameters, warm.parameters)
    # a model without training options is written as version 1 again (old releases read it)
    fastinit.save_model(tmp_path / "again.npz", m)
    meta = _metadata_of(tmp_path / "again.npz")
    assert meta["format_version"] == 1
    assert not {"loss", "optimizer", "schedule", "l2", "clip_norm", "optimizer_state"} & set(meta)
    assert "optimizer_state.npy" not in _members(tmp_path / "again.npz")


def test_model_from_parameters_is_version_1_unless_its_loss_says_otherwise(tmp_path, trained):
    fastinit.save_model(tmp_path / "a.npz", fastinit.model_from_parameters(trained.parameters))
    assert _metadata_of(tmp_path / "a.npz")["format_version"] == 1
    m = fastinit.model_from_parameters(trained.parameters, activation="tanh", loss="mse")
    fastinit.save_model(tmp_path / "b.npz", m)
    meta = _metadata_of(tmp_path / "b.npz")
    assert meta["format_version"] == 2 and meta["loss"] == "mse" and meta["output"] == "identity"
    assert meta["optimizer"] == {"name": "sgd", "params": {
        "lr": None, "weight_decay": 0.0, "momentum": 0.0, "dampening": 0.0, "nesterov": False,
        "variant": "torch"}}
    loaded = fastinit.load_model(tmp_path / "b.npz")
    assert loaded.loss == "mse" and loaded.optimizer == SGD() and loaded.optimizer_state is None


def _regression(X):
    return np.vstack([np.sin(X[0]) + 0.5 * X[1], X[0] * X[1]])


@pytest.mark.parametrize("n_out", [1, 2])
def test_an_mse_model_saves_loads_and_predicts_values(tmp_path, seed_data, n_out):
    X = seed_data[0]
    T = _regression(X)[:n_out]
    r = fastinit.train(X, T, [2, 8, n_out], loss="mse", optimizer="adam", num_iterations=50)
    path = tmp_path / "m.npz"
    fastinit.save_model(path, r)
    assert _metadata_of(path)["output"] == "identity"
    m = fastinit.load_model(path)
    assert m.loss == "mse" and "loss='mse'" in repr(m)
    out = m.predict(X)
    assert out.shape == (n_out, X.shape[1]) and out.dtype == np.float64
    np.testing.assert_array_equal(out, r.predict(X))
    np.testing.assert_array_equal(m.outputs(X), r.outputs(X))
    assert (out < 0).any()  # values, not probabilities or labels
    with pytest.raises(ValueError, match="loss='mse' outputs values"):
        m.predict_proba(X)
    with pytest.raises(ValueError, match="regressor"):
        m.accuracy(X, T)
    with pytest.raises(ValueError, match="loss='mse' .* has no class labels"):
        fastinit.save_model(tmp_path / "c.npz", r, classes=["a", "b"][:max(n_out, 2)])


def test_a_multilabel_model_predicts_0_or_1_per_unit(tmp_path, seed_data):
    X = seed_data[0]
    Y = np.vstack([X[0] > 0, X[1] > 0, X[0] > X[1]]).astype(np.float64)
    r = fastinit.train(X, Y, [2, 8, 3], loss="binary_cross_entropy", num_iterations=200,
                       optimizer="adam")
    fastinit.save_model(tmp_path / "m.npz", r)
    assert _metadata_of(tmp_path / "m.npz")["output"] == "sigmoid"
    m = fastinit.load_model(tmp_path / "m.npz")
    predicted = m.predict(X)
    assert predicted.shape == (3, X.shape[1]) and predicted.dtype == np.int64
    assert set(np.unique(predicted)) <= {0, 1}
    np.testing.assert_array_equal(predicted, r.predict(X))
    np.testing.assert_array_equal(m.predict_proba(X), r.predict_proba(X))
    assert m.accuracy(X, Y) == r.accuracy(X, Y) > 0.5


def _state_of(path):
    with np.load(path, allow_pickle=False) as f:
        return f["optimizer_state"]


def _with_meta(path, **changes):
    """Change (or, with None, drop) metadata fields of the file at path."""
    meta = _metadata_of(path)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    _rewrite(path, __fastinit__=np.array(json.dumps(meta)))


@pytest.fixture
def adam_file(tmp_path, seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 10, 5, 1], optimizer="adam", schedule="step",
                       num_iterations=20, keep_prob=0.9, l2=0.01, clip_norm=5.0)
    path = tmp_path / "m.npz"
    fastinit.save_model(path, r)
    return path


_ADAM = {"lr": 0.01, "weight_decay": 0.0, "betas": [0.9, 0.999], "eps": 1e-08,
         "amsgrad": False, "variant": "torch"}


@pytest.mark.parametrize(
    "tamper, match",
    [
        (dict(optimizer={"name": "lion", "params": {}}), "'optimizer' names the unknown optimizer 'lion'"),
        (dict(optimizer={"name": 3, "params": {}}), "'optimizer' names the unknown optimizer 3"),
        (dict(optimizer="adam"), "'optimizer' must be of JSON type dict"),
        (dict(optimizer={"name": "adam"}), "'optimizer' must be {\"name\""),
        (dict(optimizer={"name": "adam", "params": [], "x": 1}), "'optimizer' must be {\"name\""),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "betas": [0.9, 1.5]}}),
         r"'optimizer' \(adam\): betas\[1\] must be"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "betas": [0.9]}}),
         r"'optimizer' \(adam\): betas must be a pair"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "lr": -1.0}}),
         r"'optimizer' \(adam\): lr must be"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "lr": "0.1"}}),
         r"'optimizer' \(adam\): lr must be a real number"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "eps": float("nan")}}),
         r"'optimizer' \(adam\): eps must be"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "amsgrad": 1}}),
         r"'optimizer' \(adam\): amsgrad must be True or False"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "variant": "keras"}}),
         r"'optimizer' \(adam\): variant must be"),
        (dict(optimizer={"name": "adam", "params": {**_ADAM, "momentum": 0.9}}),
         r"'optimizer' \(adam\): .*unexpected keyword argument 'momentum'"),
        (dict(optimizer={"name": "sgd", "params": {"nesterov": True}}),
         r"'optimizer' \(sgd\): nesterov=True requires"),
        (dict(schedule={"name": "warmup", "params": {}}), "unknown schedule 'warmup'"),
        (dict(schedule={"name": "step", "params": {"step_size": 0}}),
         r"'schedule' \(step\): step_size must be"),
        (dict(schedule={"name": "step", "params": {"step_size": 2.0}}),
         r"'schedule' \(step\): step_size must be an int"),
        (dict(schedule={"name": "step", "params": {"step_size": 10**400}}),
         r"'schedule' \(step\): step_size must be an int in \[1, 2\*\*53\]"),
        (dict(schedule=None), "metadata has no 'schedule'"),
        (dict(l2=-0.1), "metadata 'l2' must be a finite number"),
        (dict(l2="0"), "metadata 'l2' must be of JSON type"),
        (dict(clip_norm=float("inf")), "metadata 'clip_norm' must be a finite number"),
        (dict(clip_norm=None), "metadata has no 'clip_norm'"),
        (dict(loss="hinge"), "metadata 'loss' must be one of"),
        (dict(loss="bce"), "metadata 'loss' must be one of"),  # aliases are not written
        (dict(loss="categorical_cross_entropy"), "metadata 'loss': .* needs an output layer"),
        (dict(loss="mse"), "output 'sigmoid' does not fit 1 output unit of loss 'mse'"),
        (dict(loss=None), "metadata has no 'loss'"),
        (dict(keep_prob=[0.9]), "metadata 'keep_prob' must hold one keep probability per "
                                r"hidden layer \(2\)"),
        (dict(keep_prob=[0.9, 0.0]), r"metadata 'keep_prob'\[1\] must be"),
        (dict(keep_prob=0.9), "metadata 'keep_prob' must be of JSON type list"),
        (dict(seed=-1), "metadata 'seed' must be an integer in"),
        (dict(seed=2**32), "metadata 'seed' must be an integer in"),
        (dict(seed=3.0), "metadata 'seed' must be of JSON type int"),
        (dict(optimizer_state={"step": -1}), "'optimizer_state' step must be an integer >= 0"),
        (dict(optimizer_state={"step": 1.5}), "'optimizer_state' step must be an integer"),
        (dict(optimizer_state={"step": True}), "'optimizer_state' step must be an integer"),
        (dict(optimizer_state={"step": 2**63}), r"optimizer_state.step must be >= 0 and below 2\*\*63"),
        (dict(optimizer_state={"step": 1, "t": 2}), "'optimizer_state' must be {\"step\": n}"),
        (dict(optimizer_state=[1]), "'optimizer_state' must be of JSON type dict"),
        (dict(optimizer_state=None), "member 'optimizer_state.npy' has no 'optimizer_state' "
                                     "metadata"),
        (dict(optimizer={"name": "sgd", "params": {"lr": 0.01}}),
         r"optimizer_state.slots must have shape \(1, 91\) \(1 state row of 'sgd'"),
        (dict(format_version=1), "metadata 'loss' is not part of format version 1"),
    ],
)
def test_malformed_training_metadata_is_rejected(adam_file, tamper, match):
    _with_meta(adam_file, **tamper)
    with pytest.raises(ValueError, match=match) as info:
        fastinit.load_model(adam_file)
    assert str(adam_file) in str(info.value)


@pytest.mark.parametrize(
    "slots, match",
    [
        (lambda s: s[:1], r"optimizer_state.slots must have shape \(2, 91\) \(2 state rows of "
                          r"'adam', 91 parameters\), got \(1, 91\)"),
        (lambda s: np.vstack([s[:1], -np.abs(s[1:]) - 1]),
         r"optimizer_state.slots\[1\] holds squares of gradients .* must not be negative"),
        (lambda s: s[:, :-1], r"must have shape \(2, 91\)"),
        (lambda s: np.vstack([s, s]), r"must have shape \(2, 91\)"),
        (lambda s: s.ravel(), "the optimizer's state is 2-D"),
        (lambda s: s[None], "the optimizer's state is 2-D"),
        (lambda s: s.astype(np.float32), r"member 'optimizer_state.npy' \(the optimizer's "
                                         "state\\) has dtype float32, metadata says float64"),
        (lambda s: s.astype(np.int64), "'optimizer_state.npy' has dtype int64; model files hold"),
        (lambda s: np.where(np.arange(s.size).reshape(s.shape) == 7, np.nan, s),
         "optimizer_state.slots must contain only finite values"),
        (lambda s: np.full(s.shape, np.inf), "must contain only finite values"),
        (lambda s: np.array([{"x": 1}], dtype=object), "would need pickle"),
        (lambda s: None, "'optimizer_state' has no member 'optimizer_state.npy'"),
    ],
)
def test_a_malformed_optimizer_state_is_rejected(adam_file, slots, match):
    _rewrite(adam_file, optimizer_state=slots(_state_of(adam_file)))
    with pytest.raises(ValueError, match=match) as info:
        fastinit.load_model(adam_file)
    assert str(adam_file) in str(info.value)


def test_a_learning_rate_the_dtype_cannot_hold_is_rejected(tmp_path, seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, _NET, num_iterations=2, optimizer="adam", dtype="float32")
    path = tmp_path / "m.npz"
    fastinit.save_model(path, r)
    _with_meta(path, optimizer={"name": "adam", "params": {**_ADAM, "lr": 1e300}})
    with pytest.raises(ValueError, match="'optimizer' lr must be representable in float32"):
        fastinit.load_model(path)


def test_a_version_1_file_holds_no_state(tmp_path, trained):
    path = tmp_path / "old.npz"
    _v1_file(path, trained.parameters, activation="tanh")
    assert fastinit.load_model(path).optimizer_state is None
    _rewrite(path, optimizer_state=np.zeros((1, 91)))
    with pytest.raises(ValueError, match="has no 'optimizer_state' metadata"):
        fastinit.load_model(path)
    _v1_file(path, trained.parameters, activation="tanh", optimizer={"name": "sgd", "params": {}})
    with pytest.raises(ValueError, match="'optimizer' is not part of format version 1"):
        fastinit.load_model(path)


def test_a_mismatched_output_is_rejected_for_every_loss(tmp_path, seed_data):
    X = seed_data[0]
    r = fastinit.train(X, _regression(X), [2, 4, 2], loss="mse", num_iterations=5)
    path = tmp_path / "m.npz"
    fastinit.save_model(path, r)
    _with_meta(path, output="softmax")
    with pytest.raises(ValueError, match="output 'softmax' does not fit 2 output units of "
                                         "loss 'mse' \\(its output is 'identity'\\)"):
        fastinit.load_model(path)
    _with_meta(path, output="identity", classes=["a", "b"])
    with pytest.raises(ValueError, match="metadata 'classes': a model of loss='mse'"):
        fastinit.load_model(path)


class _MyAdam(Adam):
    """Not in the registry: a model file could not name it."""


def _state(m, **changes):
    fields = dict(optimizer=m.optimizer, step=m.optimizer_state.step,
                  slots=m.optimizer_state.slots)
    fields.update(changes)
    return OptimizerState(**fields)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda m: {"optimizer": _MyAdam(lr=0.1), "optimizer_state": None}, ValueError,
         "model.optimizer is a _MyAdam, which is not one of"),
        (lambda m: {"optimizer": "adam"}, TypeError, "model.optimizer must be a Optimizer"),
        (lambda m: {"schedule": "step"}, TypeError, "model.schedule must be a Schedule"),
        (lambda m: {"optimizer": Adam(lr=0.1)}, ValueError,
         "model.optimizer_state belongs to SGD"),
        (lambda m: {"optimizer_state": _state(m, step=-1)}, ValueError,
         "model.optimizer_state.step must be >= 0"),
        (lambda m: {"optimizer_state": _state(m, step=2.0)}, TypeError,
         "model.optimizer_state.step must be an integer"),
        (lambda m: {"optimizer_state": _state(m, slots=m.optimizer_state.slots[:, :3])},
         ValueError, r"model.optimizer_state.slots must have shape \(1, 91\)"),
        (lambda m: {"optimizer_state": _state(m, slots=m.optimizer_state.slots * np.nan)},
         ValueError, r"only finite values \(to save the model without its optimizer state"),
        (lambda m: {"optimizer_state": _state(m, slots=m.optimizer_state.slots.astype(
            np.float32))}, ValueError, "slots has dtype float32, the parameters float64"),
        (lambda m: {"optimizer_state": _state(m, slots=m.optimizer_state.slots.astype(int))},
         TypeError, "slots must be a float array"),
        (lambda m: {"optimizer_state": "state"}, TypeError, "must be an OptimizerState"),
        (lambda m: {"l2": -1.0}, ValueError, "model.l2 must be"),
        (lambda m: {"clip_norm": float("nan")}, ValueError, "model.clip_norm must be"),
        (lambda m: {"keep_prob": (0.5,)}, ValueError, "model.keep_prob must hold one"),
        (lambda m: {"keep_prob": (0.5, 1.5)}, ValueError, r"model.keep_prob\[1\] must be"),
        (lambda m: {"seed": 2**40}, ValueError, "model.seed must be"),
        (lambda m: {"loss": "hinge"}, ValueError, "loss must be one of"),
        (lambda m: {"loss": "mse", "classes": (0, 1)}, ValueError, "has no class labels"),
    ],
)
def test_save_refuses_bad_training_fields_and_keeps_the_old_file(tmp_path, trained, change,
                                                                 error, match):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    before = path.read_bytes()
    saved = fastinit.load_model(path)
    with pytest.raises(error, match=match):
        fastinit.save_model(path, _changed_lazily(saved, change(saved)))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def _changed_lazily(model, changes):
    """The model with some fields changed, bypassing SavedModel's own checks
    (a duck-typed model as save_model may be given)."""
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    fields.update(changes)
    return type("Model", (), fields)()


def test_saving_a_training_result_without_optimizer_fields(tmp_path, trained):
    """A TrainingResult of an older pickle or a duck-typed model: no optimizer
    fields mean plain gradient descent; the state's optimizer stands in."""
    bare = _changed_lazily(trained, {})
    for name in ("loss", "optimizer", "schedule", "l2", "clip_norm", "keep_prob", "seed",
                 "optimizer_state"):
        delattr(type(bare), name)
    fastinit.save_model(tmp_path / "a.npz", bare)
    assert _metadata_of(tmp_path / "a.npz")["format_version"] == 1
    type(bare).optimizer_state = trained.optimizer_state
    fastinit.save_model(tmp_path / "b.npz", bare)
    assert fastinit.load_model(tmp_path / "b.npz").optimizer == trained.optimizer


def test_numpy_hyper_parameters_are_stored_as_json(tmp_path, seed_data):
    X, Y = seed_data[:2]
    opt = SGD(lr=np.float32(0.05), momentum=np.float64(0.5), nesterov=np.bool_(True))
    r = fastinit.train(X, Y, _NET, num_iterations=10, optimizer=opt,
                       schedule=StepLR(step_size=np.int64(3), gamma=np.float32(0.5)))
    fastinit.save_model(tmp_path / "m.npz", r)
    m = fastinit.load_model(tmp_path / "m.npz")
    assert m.optimizer.lr == float(np.float32(0.05)) and m.optimizer.nesterov is True
    assert m.schedule.step_size == 3 and type(m.schedule.step_size) is int
    np.testing.assert_array_equal(m.optimizer.hyper(m.schedule), opt.hyper(r.schedule))


def test_a_state_counts_towards_the_size_bound(tmp_path, seed_data, monkeypatch):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, _NET, num_iterations=2, optimizer="adam")
    stateless = dataclasses.replace(r, optimizer_state=None)
    fastinit.save_model(tmp_path / "m.npz", stateless)
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        monkeypatch.setattr(fastinit.io.model_io, "MAX_MODEL_BYTES",
                            sum(i.file_size for i in z.infolist()))
    with pytest.raises(ValueError, match=r"optimizer state take|members would take \d+ bytes"):
        fastinit.save_model(tmp_path / "m.npz", r)
    fastinit.save_model(tmp_path / "m.npz", stateless)
    assert fastinit.load_model(tmp_path / "m.npz").optimizer_state is None


def test_newer_format_versions_are_named(tmp_path, trained):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    _with_meta(path, format_version=4)
    with pytest.raises(ValueError, match="format version 4 is not 1 or 2 or 3"):
        fastinit.load_model(path)


# ---------------------------------------------------------------------------
# Hostile files: a clean model or a ValueError, nothing else
# ---------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=10,
)
_NAMES = st.sampled_from(["W1.npy", "b1.npy", "W2.npy", "b2.npy", "__fastinit__.npy", "W1",
                          "x.npy", "W0.npy", "../W1.npy", "W1.npy/"]) | st.text(max_size=12)


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory):
    X, Y = fastinit.load_dataset()[:2]
    result = fastinit.train(X, Y, [2, 3, 1], num_iterations=20, print_cost=False,
                            optimizer="adam", schedule="step", keep_prob=0.9)
    path = tmp_path_factory.mktemp("valid") / "m.npz"
    fastinit.save_model(path, result)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return path.read_bytes(), arrays


def _hostile(draw, valid_file):
    data, arrays = valid_file
    kind = draw(st.sampled_from(["bytes", "prefixed", "truncated", "flipped", "members",
                                 "metadata", "array"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    if kind == "prefixed":
        prefix = draw(st.sampled_from([b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY"]))
        return prefix + draw(st.binary(max_size=600))
    if kind == "truncated":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "flipped":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    buffer = io.BytesIO()
    if kind == "members":
        with zipfile.ZipFile(buffer, "w") as z:
            for name, content in draw(st.lists(st.tuples(_NAMES, st.binary(max_size=200)),
                                               max_size=5)):
                try:
                    z.writestr(name, content)
                except (ValueError, IndexError):  # names zipfile itself refuses
                    pass
        return buffer.getvalue()
    arrays = dict(arrays)
    if kind == "metadata":
        meta = json.loads(str(arrays["__fastinit__"][()]))
        key = draw(st.sampled_from(sorted(meta)) | st.text(max_size=5))
        meta[key] = draw(_JSON)
        arrays["__fastinit__"] = np.array(json.dumps(meta))
    else:
        key = draw(st.sampled_from(sorted(arrays)))
        dtype = draw(st.sampled_from(["<f8", ">f8", "<f4", "<f2", "<i4", "|b1", "<c16", "<U3"]))
        shape = draw(st.lists(st.integers(0, 4), max_size=3).map(tuple))
        arrays[key] = draw(st.just(np.zeros(shape, dtype)) | st.just(np.full(shape, np.nan)
                                                                     .astype(dtype, copy=False)
                                                                     if dtype[1] in "fc" else
                                                                     np.ones(shape, dtype)))
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_model_files_give_a_model_or_a_value_error(valid_file, tmp_path_factory, data):
    content = _hostile(data.draw, valid_file)
    path = tmp_path_factory.getbasetemp() / "hostile.npz"
    path.write_bytes(content)
    try:
        model = fastinit.load_model(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(model, fastinit.SavedModel)
    assert model.layers_dims[0] == 2 and model.dtype in (np.float32, np.float64)
    for key, value in model.parameters.items():
        assert np.isfinite(value).all() and value.flags.c_contiguous
    if model.optimizer_state is not None:  # what train() takes back
        slots = model.optimizer_state.slots
        assert slots.dtype == model.dtype and np.isfinite(slots).all()
        assert slots.shape == model.optimizer.initial_state(slots.shape[1], model.dtype).shape
        assert model.optimizer_state.optimizer is model.optimizer
