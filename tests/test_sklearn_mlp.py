"""fastinit.sklearn.MLPClassifier / MLPRegressor against scikit-learn itself.

Both are fitted from the same data and ``random_state`` (so the same initial
``coefs_``: init="sklearn" draws scikit-learn's values) and compared after
each fit.  Tolerance 1e-9 relative (float64): the two run the same formulas
in a different order of additions (blocked sums in the kernels, BLAS in
scikit-learn), about 1e-16 per operation, grown by the training's
sensitivity over tens of epochs to 1e-14 .. 1e-12 here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

# the drop-ins follow scikit-learn >= 1.7 (fastinit.sklearn.MLP_MIN_SKLEARN)
sklearn = pytest.importorskip("sklearn", minversion="1.7")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import fastinit  # noqa: E402
from fastinit import sklearn as fi  # noqa: E402

RTOL = 1e-9


def _data(kind, n=160, n_features=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, n_features)
    if kind == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    elif kind == "multiclass":
        y = np.digitize(X[:, 0] + X[:, 2], [-0.7, 0.7])
    elif kind == "multilabel":
        y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5], axis=1).astype(int)
    elif kind == "strings":
        y = np.array(["cat", "dog", "eel"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    else:  # regression
        y = X[:, 0] - 2 * X[:, 1] * X[:, 2] + 0.1 * rng.randn(n)
    return X, y


def _assert_same_fit(a, b, rtol=RTOL):
    assert b.n_iter_ == a.n_iter_ and b.t_ == a.t_
    assert len(b.coefs_) == len(a.coefs_)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert cb.shape == ca.shape and cb.dtype == ca.dtype
        np.testing.assert_allclose(cb, ca, rtol=rtol, atol=rtol * np.abs(ca).max())
    if getattr(a, "loss_curve_", None) is not None:
        np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=rtol)
        assert b.best_loss_ == pytest.approx(a.best_loss_, rel=rtol) if a.best_loss_ else True


def _both(sk_class, fi_class, X, y, **params):
    with warnings.catch_warnings(record=True) as caught_a:
        warnings.simplefilter("always")
        a = sk_class(**params).fit(X, y)
    with warnings.catch_warnings(record=True) as caught_b:
        warnings.simplefilter("always")
        b = fi_class(**params).fit(X, y)
    assert [str(w.message) for w in caught_b] == [str(w.message) for w in caught_a]
    return a, b


SOLVERS = [
    dict(solver="adam"),
    dict(solver="adam", alpha=0.05, batch_size=32, beta_1=0.8, epsilon=1e-6),
    dict(solver="sgd", learning_rate_init=0.05),                       # Nesterov momentum 0.9
    dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    dict(solver="sgd", learning_rate_init=0.1, momentum=0.0),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, power_t=0.3),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.2, alpha=0.01,
         n_iter_no_change=2, tol=1e-2),
    dict(solver="sgd", learning_rate_init=0.05, alpha=0.3, batch_size=50),
]


@pytest.mark.parametrize("params", SOLVERS, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_classifier_epochs_equal_scikit_learns(params, shuffle, kind):
    X, y = _data(kind)
    a, b = _both(sk.MLPClassifier, fi.MLPClassifier, X, y, hidden_layer_sizes=(12, 6),
                 max_iter=25, shuffle=shuffle, random_state=3, **params)
    _assert_same_fit(a, b)
    assert b.out_activation_ == a.out_activation_ and b.n_outputs_ == a.n_outputs_
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.predict_log_proba(X), a.predict_log_proba(X), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("params", SOLVERS[:6], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_regressor_epochs_equal_scikit_learns(params, activation):
    X, y = _data("regression")
    a, b = _both(sk.MLPRegressor, fi.MLPRegressor, X, y, hidden_layer_sizes=(9,),
                 activation=activation, max_iter=20, random_state=1,
                 **{**params, "learning_rate_init": params.get("learning_rate_init", 0.001) / 5})
    _assert_same_fit(a, b)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-9, atol=1e-12)
    assert b.score(X, y) == pytest.approx(a.score(X, y), rel=1e-9)


def test_string_labels_and_a_stop_on_tol_as_scikit_learn():
    """n_iter_no_change / tol stop the same epoch (no ConvergenceWarning)."""
    X, y = _data("strings")
    a, b = _both(sk.MLPClassifier, fi.MLPClassifier, X, y, hidden_layer_sizes=(8,),
                 max_iter=500, tol=1e-3, n_iter_no_change=3, learning_rate_init=0.02,
                 random_state=0)
    assert a.n_iter_ < 500
    _assert_same_fit(a, b)
    np.testing.assert_array_equal(b.classes_, a.classes_)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


def test_max_iter_warns_as_scikit_learn():
    X, y = _data("binary")
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        fi.MLPClassifier(max_iter=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_early_stopping_stops_at_the_same_epoch_with_the_same_best(cls, solver):
    kind = "multiclass" if cls == "MLPClassifier" else "regression"
    X, y = _data(kind, n=300)
    a, b = _both(getattr(sk, cls), getattr(fi, cls), X, y, hidden_layer_sizes=(10,),
                 solver=solver, early_stopping=True, validation_fraction=0.2,
                 n_iter_no_change=4, max_iter=300, random_state=2,
                 learning_rate_init=0.01 if solver == "adam" else 0.02)
    assert a.n_iter_ < 300
    _assert_same_fit(a, b)
    np.testing.assert_allclose(b.validation_scores_, a.validation_scores_, rtol=1e-9)
    assert b.best_validation_score_ == pytest.approx(a.best_validation_score_, rel=1e-9)
    assert a.best_loss_ is None and b.best_loss_ is None


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_sequences_match(solver):
    """Optimizer state (velocities, Adam's moments and step) survives between
    calls; batches of different sizes (so steps are not a multiple of the
    batches per call)."""
    X, y = _data("multiclass", n=200)
    params = dict(hidden_layer_sizes=(7,), solver=solver, batch_size=16, random_state=5,
                  learning_rate_init=0.01)
    a, b = sk.MLPClassifier(**params), fi.MLPClassifier(**params)
    for start, stop in [(0, 50), (50, 73), (73, 200), (0, 200), (10, 45)]:
        a.partial_fit(X[start:stop], y[start:stop], classes=np.unique(y))
        b.partial_fit(X[start:stop], y[start:stop], classes=np.unique(y))
        _assert_same_fit(a, b)
    r = dict(params, random_state=6)
    ra, rb = sk.MLPRegressor(**r), fi.MLPRegressor(**r)
    Xr, yr = _data("regression")
    for start, stop in [(0, 33), (33, 160), (5, 100)]:
        ra.partial_fit(Xr[start:stop], yr[start:stop])
        rb.partial_fit(Xr[start:stop], yr[start:stop])
        _assert_same_fit(ra, rb)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_continues_from_assigned_coefs(solver):
    """coefs_ / intercepts_ are the state: a warm start continues from
    parameters the user assigned, as scikit-learn's does."""
    X, y = _data("binary")
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0,
                  warm_start=True)
    a, b = _both(sk.MLPClassifier, fi.MLPClassifier, X, y, **params)
    rng = np.random.RandomState(42)
    coefs = [rng.randn(*c.shape) * 0.3 for c in a.coefs_]
    intercepts = [rng.randn(*i.shape) * 0.1 for i in a.intercepts_]
    for est in (a, b):
        est.coefs_ = [c.copy() for c in coefs]
        est.intercepts_ = [i.copy() for i in intercepts]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    _assert_same_fit(a, b)


def test_verbose_prints_the_same_lines(capsys):
    X, y = _data("binary")
    params = dict(hidden_layer_sizes=(5,), max_iter=4, verbose=True, random_state=0,
                  solver="sgd", learning_rate="adaptive", n_iter_no_change=1, tol=10.0)
    sk.MLPClassifier(**params).fit(X, y)
    expected = capsys.readouterr().out
    fi.MLPClassifier(**params).fit(X, y)
    assert capsys.readouterr().out == expected and "Iteration 1, loss = " in expected


def test_float32_follows_the_input_and_agrees_to_float32_precision():
    X, y = _data("multiclass")
    a = sk.MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(
        X.astype(np.float32), y)
    b = fi.MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(
        X.astype(np.float32), y)
    assert b.coefs_[0].dtype == np.float32 == a.coefs_[0].dtype
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(cb, ca, rtol=1e-4, atol=1e-5)
    c = fi.MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0,
                         dtype="float64").fit(X.astype(np.float32), y)
    assert c.coefs_[0].dtype == np.float64


def test_threads_give_the_same_bits():
    X, y = _data("binary", n=9000, n_features=4)
    fits = [fi.MLPClassifier(hidden_layer_sizes=(16,), batch_size=4500, max_iter=3,
                             random_state=0, n_threads=t).fit(X, y) for t in (1, 2, -1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for f in fits[1:]:
            for c0, c in zip(fits[0].coefs_, f.coefs_):
                assert np.array_equal(c0, c)
            assert f.loss_curve_ == fits[0].loss_curve_


@pytest.mark.parametrize("init", ["he", "xavier_uniform", "orthogonal", "zeros"])
def test_any_registered_initializer(init):
    X, y = _data("binary")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fi.MLPClassifier(hidden_layer_sizes=(6, 4), init=init, max_iter=5,
                               random_state=0).fit(X, y)
    assert est.coefs_[0].shape == (5, 6) and est.intercepts_[1].shape == (4,)
    if init == "zeros":  # biases zero too, and units of a layer stay equal
        assert not np.any(est.coefs_[0][:, 0] - est.coefs_[0][:, 1])


def test_params_clone_and_grid_search_over_init():
    est = fi.MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, init="he", n_threads=2,
                           dtype="float32", random_state=0)
    params = est.get_params()
    assert params["init"] == "he" and params["n_threads"] == 2 and params["dtype"] == "float32"
    assert set(sk.MLPClassifier().get_params()) <= set(params)
    assert clone(est).get_params() == params
    X, y = _data("binary")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(est, {"init": ["he", "sklearn"]}, cv=2).fit(X, y)
    assert search.best_params_["init"] in ("he", "sklearn")


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression"])
def test_lbfgs_loss_and_gradient_equal_scikit_learns(activation, kind):
    """At the same parameters, the compiled loss and gradient L-BFGS-B gets
    are scikit-learn's to rounding; then the fits agree where the problem is
    well conditioned (alpha > 0, few iterations: L-BFGS's line search
    amplifies last-bit differences on flat, ill-conditioned losses)."""
    from sklearn.neural_network._multilayer_perceptron import _pack

    X, y = _data(kind)
    cls = "MLPRegressor" if kind == "regression" else "MLPClassifier"
    params = dict(solver="lbfgs", hidden_layer_sizes=(7,), activation=activation, alpha=0.05,
                  max_iter=15, random_state=4)
    a, b = _both(getattr(sk, cls), getattr(fi, cls), X, y, **params)
    assert b.n_iter_ == a.n_iter_
    assert b.loss_ == pytest.approx(a.loss_, rel=1e-6)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(cb, ca, rtol=1e-5, atol=1e-5 * np.abs(ca).max())
    # the loss and gradient at a's final point, from both
    packed = _pack(a.coefs_, a.intercepts_)
    Y = (a._label_binarizer.transform(y) if cls == "MLPClassifier" else y.reshape(-1, 1))
    Y = np.asarray(Y, dtype=float)
    units = [X.shape[1], 7, Y.shape[1]]
    buffers = ([X, None, None], [None, None],
               [np.empty((i, o)) for i, o in zip(units, units[1:])], [np.empty(o) for o in units[1:]])
    expected = a._loss_grad_lbfgs(packed.copy(), X, Y, None, *buffers)
    seen = []
    original = type(b)._loss_grad_lbfgs

    def spy(self, p, *args):
        if not seen:
            seen.append(original(self, packed.copy(), *args))
        return original(self, p, *args)

    type(b)._loss_grad_lbfgs = spy
    try:
        getattr(fi, cls)(**dict(params, max_iter=1)).fit(X, y)
    finally:
        type(b)._loss_grad_lbfgs = original
    loss, grad = seen[0]
    assert loss == pytest.approx(expected[0], rel=1e-13)
    np.testing.assert_allclose(grad, expected[1], rtol=0, atol=1e-13 * np.abs(expected[1]).max())


@pytest.mark.slow
def test_scikit_learns_own_mlp_tests_pass_with_only_the_import_changed(tmp_path):
    """scikit-learn's test module for these classes, the import swapped: every
    test passes except the ones listed, each for a stated reason."""
    import os
    import subprocess
    import sys

    source = os.path.join(os.path.dirname(sk.__file__), "tests", "test_mlp.py")
    if not os.path.exists(source):
        pytest.skip("this scikit-learn install ships no tests")
    text = open(source, encoding="utf-8").read()
    swapped = text.replace("from sklearn.neural_network import MLPClassifier, MLPRegressor",
                           "from fastinit.sklearn import MLPClassifier, MLPRegressor")
    assert swapped != text
    (tmp_path / "test_mlp_swapped.py").write_text(swapped, encoding="utf-8")
    # the fixture scikit-learn's own conftest gives its tests (its default seed)
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef global_random_seed():\n    return 42\n",
        encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rfE", "test_mlp_swapped.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900)
    failed = sorted({line.split()[1].split("::")[1].split("[")[0]
                     for line in proc.stdout.splitlines()
                     if line.startswith(("FAILED", "ERROR"))})
    expected = {
        "test_gradient": "calls the private _loss_grad_lbfgs outside a fit",
    }
    assert failed == sorted(expected), proc.stdout[-3000:]
    assert " passed" in proc.stdout


@pytest.mark.parametrize("cls, kwargs, fit_kwargs, what", [
    ("MLPClassifier", dict(init="lsuv"), {}, "init='lsuv'"),
    ("MLPRegressor", dict(init="lsuv"), {}, "init='lsuv'"),
])
def test_what_is_not_compiled_yet_says_so(cls, kwargs, fit_kwargs, what):
    kind = "binary" if cls == "MLPClassifier" else "regression"
    X, y = _data(kind)
    if kwargs.get("loss") == "poisson":
        y = np.abs(y)
    with pytest.raises(ValueError, match=f"{what}.* not compiled in fastinit yet"):
        getattr(fi, cls)(**kwargs).fit(X, y, **fit_kwargs)


@pytest.mark.parametrize("solver, extra", [
    ("adam", {}), ("sgd", {"batch_size": 32, "alpha": 0.1}),
    ("lbfgs", {"alpha": 0.05}),
    ("adam", {"early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 3})])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
def test_sample_weight_fits_as_scikit_learn(solver, extra, sparse, cls):
    """Weighted losses and gradients in the kernels (each example's loss and
    dZ times its weight, the mean over the sum of the weights), the batches'
    means added as scikit-learn adds them; early stopping splits the weights
    and scores with them."""
    scipy_sparse = pytest.importorskip("scipy.sparse")
    kind = "multiclass" if cls == "MLPClassifier" else "regression"
    X, y = _data(kind)
    w = np.random.RandomState(7).uniform(0.1, 3.0, X.shape[0])
    XX = scipy_sparse.csr_matrix(X) if sparse else X
    params = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=20, random_state=0,
                  learning_rate_init=0.01, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = getattr(sk, cls)(**params).fit(XX, y, sample_weight=w)
        b = getattr(fi, cls)(**params).fit(XX, y, sample_weight=w)
    _assert_same_fit(a, b, rtol=1e-9 if solver != "lbfgs" else 1e-6)
    if extra.get("early_stopping"):
        assert b.validation_scores_ == pytest.approx(a.validation_scores_, rel=1e-9)
    unweighted = getattr(fi, cls)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unweighted.fit(XX, y)
    assert not np.allclose(unweighted.coefs_[0], b.coefs_[0])


def test_unit_weights_give_the_unweighted_gradient_bits():
    """Weights of 1: the same steps as no weights (dZ * 1 and 1 / sum of
    ones are exact), so the same parameters to the bit."""
    X, y = _data("multiclass")
    params = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=5, random_state=0,
                  shuffle=False, learning_rate_init=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = fi.MLPClassifier(**params).fit(X, y)
        b = fi.MLPClassifier(**params).fit(X, y, sample_weight=np.ones(X.shape[0]))
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(ca, cb)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-14)


def test_the_weighted_kernels_check_the_rows_of_y():
    from fastinit._core._simd import kernels
    from fastinit.engines.fused import FusedEngine
    from fastinit.engines.spec import Problem, network_spec, pack
    from fastinit.nn.optimizers import SGD

    dims = [2, 3, 1]
    theta = pack(fastinit.initialize_parameters(dims), dims)[0]
    X = np.random.RandomState(0).randn(2, 10)
    for weighted, rows in [(True, 1), (False, 2), (True, 3)]:
        net = network_spec(dims, 1, 0.0, 0, weighted=weighted)
        engine = FusedEngine(Problem(X, np.ones((rows, 10)), net, SGD(lr=0.1).hyper()),
                             theta.shape[0], 1)
        with pytest.raises(ValueError, match="Y has .* rows"):
            engine.run(theta, np.zeros((1, theta.shape[0])), 0, 1, True)
    net = network_spec(dims, 1, 0.0, 0, weighted=True)
    engine = FusedEngine(Problem(X, np.ones((2, 10)), net, SGD(lr=0.1).hyper()),
                         theta.shape[0], 1)
    with pytest.raises(ValueError, match="sample weights and output means are taken by"):
        engine.cost(theta)
    assert kernels.LOSS_CODES["mse"] == 2


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_sparse_input_fits_as_scikit_learn(fmt, solver, monkeypatch):
    """Batches densified one at a time (and prediction a block of rows at a
    time: a small block here, so several are joined)."""
    from fastinit.sklearn import _mlp

    scipy_sparse = pytest.importorskip("scipy.sparse")
    monkeypatch.setattr(_mlp, "_SPARSE_BLOCK_VALUES", 37)
    X, y = _data("multiclass")
    X[np.abs(X) < 0.8] = 0.0
    Xs = getattr(scipy_sparse, f"{fmt}_matrix")(X)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=12, batch_size=48,
                  random_state=0, learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = sk.MLPClassifier(**params).fit(Xs, y)
        b = fi.MLPClassifier(**params).fit(Xs, y)
        c = fi.MLPClassifier(**params).fit(X, y)
    _assert_same_fit(a, b)
    _assert_same_fit(c, b, rtol=1e-12)
    np.testing.assert_allclose(b.predict_proba(Xs), a.predict_proba(X), rtol=1e-9, atol=1e-12)
    # L-BFGS: the loss and gradient block by block
    lbfgs = dict(solver="lbfgs", hidden_layer_sizes=(6,), max_iter=8, alpha=0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = sk.MLPClassifier(**lbfgs).fit(Xs, y)
        b = fi.MLPClassifier(**lbfgs).fit(Xs, y)
    assert b.n_iter_ == a.n_iter_ and b.loss_ == pytest.approx(a.loss_, rel=1e-8)
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(cb, ca, rtol=1e-6, atol=1e-6 * np.abs(ca).max())


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("outputs", [1, 2])
def test_poisson_regression_fits_as_scikit_learn(solver, weighted, outputs):
    """loss="poisson": the registry's Poisson deviance of exp outputs, the
    value scikit-learn's poisson_loss counts (y log y - y z - y + exp z)."""
    X, _ = _data("regression")
    rng = np.random.RandomState(3)
    y = rng.poisson(np.exp(0.4 * X[:, :outputs] - 0.2)).astype(float)
    y = y[:, 0] if outputs == 1 else y
    w = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    params = dict(loss="poisson", hidden_layer_sizes=(6,), solver=solver, max_iter=15,
                  random_state=0, alpha=0.05, learning_rate_init=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = sk.MLPRegressor(**params).fit(X, y, sample_weight=w)
        b = fi.MLPRegressor(**params).fit(X, y, sample_weight=w)
    assert b.out_activation_ == a.out_activation_ == "exp"
    _assert_same_fit(a, b, rtol=1e-9 if solver != "lbfgs" else 1e-6)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-5)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("weighted", [False, True])
def test_several_regression_outputs_fit_as_scikit_learn(solver, weighted):
    """scikit-learn's squared loss of k outputs is reported as a mean over
    them (its gradient is the summed loss's): the kernels' LOSS_OUTPUT_MEAN."""
    X, y = _data("regression")
    Y = np.stack([y, 0.5 * y + X[:, 3], -X[:, 4]], axis=1)
    w = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=0,
                  alpha=0.01, learning_rate_init=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = sk.MLPRegressor(**params).fit(X, Y, sample_weight=w)
        b = fi.MLPRegressor(**params).fit(X, Y, sample_weight=w)
    _assert_same_fit(a, b, rtol=1e-9 if solver != "lbfgs" else 1e-6)
    assert b.loss_ == pytest.approx(a.loss_, rel=1e-9 if solver != "lbfgs" else 1e-6)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-5, atol=1e-8)


def test_bad_fastinit_parameters_are_refused_clearly():
    X, y = _data("binary")
    with pytest.raises(ValueError, match="init"):
        fi.MLPClassifier(init="glorious").fit(X, y)
    with pytest.raises(ValueError, match="dtype"):
        fi.MLPClassifier(dtype="float16").fit(X, y)
    with pytest.raises(ValueError, match="n_threads"):
        fi.MLPClassifier(n_threads=0).fit(X, y)


# ------------------------------------------------------------ model files
def _fitted(kind, **params):
    X, y = _data(kind)
    if kind == "bools":
        X, y = _data("binary")
        y = y.astype(bool)
    cls = fi.MLPRegressor if kind == "regression" else fi.MLPClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**{"hidden_layer_sizes": (6, 4), "max_iter": 8, "random_state": 0,
                      **params}).fit(X, y), X


@pytest.mark.parametrize("kind, params", [
    ("binary", {}), ("multiclass", {"solver": "sgd", "early_stopping": True}),
    ("multilabel", {"activation": "tanh"}), ("strings", {"init": "he"}), ("bools", {}),
    ("regression", {"solver": "lbfgs", "activation": "identity"}),
    ("multiclass", {}), ("binary", {"dtype": "float32"})])
def test_a_fitted_estimator_round_trips_through_a_model_file(tmp_path, kind, params):
    """save_model / load_model give back the estimator: same class, params,
    fitted attributes, predictions to the bit; no pickle (format version 3)."""
    import json
    import zipfile

    est, X = _fitted(kind, **params)
    path = tmp_path / "est.npz"
    fastinit.save_model(path, est)
    with zipfile.ZipFile(path) as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(path, allow_pickle=False) as f:
        assert json.loads(str(f["__fastinit__"][()]))["format_version"] == 3
    back = fastinit.load_model(path)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    for name in ("n_iter_", "t_", "loss_", "n_features_in_", "n_outputs_", "n_layers_",
                 "out_activation_", "best_loss_", "best_validation_score_"):
        assert getattr(back, name, None) == getattr(est, name, None), name
    assert getattr(back, "loss_curve_", None) == getattr(est, "loss_curve_", None)
    assert getattr(back, "validation_scores_", None) == getattr(est, "validation_scores_", None)
    for a, b in zip(est.coefs_ + est.intercepts_, back.coefs_ + back.intercepts_):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(back.predict(X), est.predict(X))
    if kind != "regression":
        assert np.array_equal(back.classes_, est.classes_)
        assert back.classes_.dtype == est.classes_.dtype
        assert np.array_equal(back.predict_proba(X), est.predict_proba(X))
    # and it trains on: a warm start from the loaded parameters
    y = _data("binary")[1].astype(bool) if kind == "bools" else _data(kind)[1]
    back.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        back.fit(X, y)
    assert back.n_iter_ >= 1


def _tampered(tmp_path, change):
    import json

    est, _ = _fitted("multiclass")
    path = tmp_path / "est.npz"
    fastinit.save_model(path, est)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["__fastinit__"][()]))
    change(meta["estimator"])
    arrays["__fastinit__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("change, message", [
    (lambda e: e.update({"class": "os.system"}), "class must be one of"),
    (lambda e: e["params"].update({"evil": 1}), "params must name exactly"),
    (lambda e: e["params"].update({"activation": "swish"}), "activation"),
    (lambda e: e["params"].update({"hidden_layer_sizes": [7, 4]}), "does not fit the network"),
    (lambda e: e["fitted"].update({"n_features_in_": 9}), "does not fit the network"),
    (lambda e: e["fitted"].update({"n_iter_": "many"}), "n_iter_ must be int"),
    (lambda e: e["fitted"].update({"__class__": 1}), "fitted must hold only"),
    (lambda e: e["classes"].update({"values": [0, 1]}), "classes for"),
    (lambda e: e["classes"].update({"dtype": "object"}), "booleans, numbers or strings"),
    (lambda e: e["classes"].update({"dtype": "not-a-dtype"}), "is not a NumPy dtype"),
    (lambda e: e.update({"label_type": "continuous"}), "label_type"),
])
def test_a_tampered_estimator_file_is_refused_by_name(tmp_path, change, message):
    path = _tampered(tmp_path, change)
    with pytest.raises(ValueError, match=message) as info:
        fastinit.load_model(path)
    assert str(path) in str(info.value)


def test_what_a_model_file_cannot_hold_is_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="fitted fastinit.sklearn"):
        fastinit.save_model(tmp_path / "x.npz", fi.MLPClassifier())
    est, _ = _fitted("binary", init=fastinit.nn.initializers.Orthogonal())
    with pytest.raises(TypeError, match="init is a Orthogonal"):
        fastinit.save_model(tmp_path / "x.npz", est)
    assert not (tmp_path / "x.npz").exists()


from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([fi.MLPClassifier(max_iter=50), fi.MLPRegressor(max_iter=50)])
def test_scikit_learns_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
