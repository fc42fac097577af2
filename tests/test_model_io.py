"""Model files: exact round trips; malformed files are rejected clearly."""
from __future__ import annotations

import json
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
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "cannot be read"),
        (lambda p: p.write_bytes(b"not a zip file at all"), "cannot be read"),
        (lambda p: _rewrite(p, __fastinit__=None), "no '__fastinit__' metadata"),
        (lambda p: _rewrite(p, __fastinit__=np.array("{not json")), "metadata is not JSON"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, format="other")), "does not describe"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, format_version=99)), "format version 99"),
        (lambda p: _rewrite(p, W2=np.ones((5, 7))), r"file\['W2'\] must have 10 columns"),
        (lambda p: _rewrite(p, b3=None), r"missing \['b3'\]"),
        (lambda p: _rewrite(p, W1=np.full((10, 2), np.nan)), "must contain only finite"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, layers_dims=[2, 10, 5, 2])), "metadata says"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, dtype="float32")), "metadata says float32"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, activation="swish")), "activation must be"),
        (lambda p: _rewrite(p, __fastinit__=_meta(p, output="softmax")), "does not fit"),
        (lambda p: _rewrite(p, W1=np.array([{"x": 1}], dtype=object)), "cannot be read"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, trained, tamper, match):
    path = tmp_path / "m.npz"
    fastinit.save_model(path, trained)
    tamper(path)
    with pytest.raises(ValueError, match=match):
        fastinit.load_model(path)


def test_pickled_payloads_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, W1=np.array([object()], dtype=object))  # needs pickle to load
    assert zipfile.is_zipfile(path)
    with pytest.raises(ValueError, match="without pickle"):
        fastinit.load_model(path)


def test_missing_file_and_bad_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastinit.load_model(tmp_path / "nope.npz")
    with pytest.raises(TypeError, match="model must be a TrainingResult"):
        fastinit.save_model(tmp_path / "x.npz", {"W1": 1})
