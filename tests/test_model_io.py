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

    monkeypatch.setattr(fastinit.model_io, "_read_member", fail)


def test_zip_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, W1=np.zeros((5000, 5000)), b1=np.zeros((5000, 1)),
                        __fastinit__=np.array("{}"))  # 200 MB of zeros
    assert path.stat().st_size < 2**20
    monkeypatch.setattr(fastinit.model_io, "MAX_MODEL_BYTES", 2**20)
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

    read_into = fastinit.model_io._read_into

    def checked(f, view, name):
        assert name != "W1.npy", "W1's data read before its header was checked"
        read_into(f, view, name)

    monkeypatch.setattr(fastinit.model_io, "_read_into", checked)
    with pytest.raises(ValueError, match="declares 8000000000000000000 bytes"):
        fastinit.load_model(path)


def test_too_many_members_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "many.npz"
    _zip_of(path, [(f"W{l}.npy", b"") for l in range(1, 12)])
    monkeypatch.setattr(fastinit.model_io, "MAX_MEMBERS", 5)
    _no_member_read(monkeypatch)
    with pytest.raises(ValueError, match="lists 11 members"):
        fastinit.load_model(path)


def test_an_oversized_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 10**6)
    monkeypatch.setattr(fastinit.model_io, "MAX_MODEL_BYTES", 1000)
    with pytest.raises(ValueError, match="more than a model file can be"):
        fastinit.load_model(path)


def test_bounds_are_sane():
    m = fastinit.model_io
    assert 0 < m.MAX_MODEL_BYTES <= 2**30
    assert m.MAX_MEMBERS == 2 * m.MAX_LAYERS + 1


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
    monkeypatch.setattr(fastinit.model_io, "MAX_LAYERS", 2)
    with pytest.raises(ValueError, match="3 layers; a model file holds at most 2"):
        fastinit.save_model(path, trained)
    monkeypatch.setattr(fastinit.model_io, "MAX_LAYERS", 256)
    monkeypatch.setattr(fastinit.model_io, "MAX_MODEL_BYTES", 100)
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
    result = fastinit.train(X, Y, [2, 3, 1], num_iterations=20, print_cost=False)
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
