"""The scikit-learn estimator: scikit-learn's own checks, pipelines, grid search."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastinit  # noqa: E402
from fastinit.sklearn import FastInitClassifier  # noqa: E402


@parametrize_with_checks([FastInitClassifier(max_iter=300, learning_rate=0.1)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_seed_results_inside_a_pipeline(seed_data):
    train_X, train_Y, test_X, test_Y = seed_data
    pipe = make_pipeline(FunctionTransformer(), FastInitClassifier())
    pipe.fit(train_X.T, train_Y.ravel())
    assert pipe.score(train_X.T, train_Y.ravel()) >= 0.99
    assert pipe.score(test_X.T, test_Y.ravel()) >= 0.95


def test_grid_search_over_the_initializer(seed_data):
    train_X, train_Y = seed_data[:2]
    search = GridSearchCV(FastInitClassifier(max_iter=3000), {"init": ["zeros", "he", "xavier"]}, cv=3)
    search.fit(train_X.T, train_Y.ravel())
    scores = dict(zip([p["init"] for p in search.cv_results_["params"]],
                      search.cv_results_["mean_test_score"]))
    assert search.best_params_["init"] != "zeros"
    assert scores["zeros"] < 0.6


def test_string_labels_multiclass_and_pickle():
    import pickle

    X, Y = fastinit.make_blobs(200, n_classes=3, seed=0)
    names = np.array(["a", "b", "c"])[Y.ravel()]
    clf = FastInitClassifier(hidden_layer_sizes=(8,), max_iter=2000, learning_rate=0.05).fit(X.T, names)
    assert list(clf.classes_) == ["a", "b", "c"] and clf.score(X.T, names) > 0.9
    assert clf.predict_proba(X.T).shape == (200, 3)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X.T), clf.predict(X.T))


def test_importing_fastinit_does_not_need_sklearn():
    import subprocess
    import sys
    import tempfile

    code = ("import sys; sys.modules['sklearn'] = None; import fastinit; "
            "fastinit.train(*fastinit.load_dataset()[:2], [2, 3, 1], num_iterations=2); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    assert out.stdout.strip() == "ok", out.stderr


def test_minibatch_estimator(seed_data):
    train_X, train_Y, test_X, test_Y = seed_data
    clf = FastInitClassifier(batch_size=32, max_iter=20000, learning_rate=0.05).fit(train_X.T, train_Y.ravel())
    assert clf.n_iter_ == 20000 and clf.score(test_X.T, test_Y.ravel()) >= 0.85
    again = FastInitClassifier(batch_size=32, max_iter=20000, learning_rate=0.05).fit(train_X.T, train_Y.ravel())
    np.testing.assert_array_equal(clf.predict_proba(test_X.T), again.predict_proba(test_X.T))


def test_n_threads_gives_the_same_model():
    """n_threads changes the speed only: the fitted model has the same bits."""
    X, y = fastinit.make_moons(5000, noise=0.2, seed=4)
    fits = [FastInitClassifier(max_iter=200, learning_rate=0.5, n_threads=n).fit(X.T, y.ravel())
            for n in (1, 2)]
    for key, value in fits[0].result_.parameters.items():
        np.testing.assert_array_equal(fits[1].result_.parameters[key], value)
    with pytest.raises(ValueError, match="n_threads must be >= 1"):
        FastInitClassifier(n_threads=0).fit(X.T, y.ravel())


def test_loss_and_loss_curve(seed_data):
    from sklearn.metrics import log_loss

    X, Y = seed_data[0].T, seed_data[1].ravel()
    clf = FastInitClassifier(max_iter=2500, learning_rate=0.1).fit(X, Y)
    assert clf.loss_ == clf.result_.final_cost
    assert clf.loss_ == pytest.approx(log_loss(Y, clf.predict_proba(X)), rel=1e-9)
    assert clf.loss_curve_ == [float(c) for c in clf.result_.costs]  # iterations 0, 1000, 2000
    assert len(clf.loss_curve_) == 3 and clf.loss_ < clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_warm_start_continues_training(seed_data):
    X, Y = seed_data[0].T, seed_data[1].ravel()
    once = FastInitClassifier(max_iter=400, record_every=100).fit(X, Y)
    twice = FastInitClassifier(max_iter=200, record_every=100, warm_start=True).fit(X, Y).fit(X, Y)
    for key, value in once.result_.parameters.items():
        np.testing.assert_array_equal(twice.result_.parameters[key], value)
    assert twice.n_iter_ == 400 and twice.loss_ == once.loss_
    assert twice.loss_curve_ == once.loss_curve_
    cold = FastInitClassifier(max_iter=200, record_every=100).fit(X, Y).fit(X, Y)
    assert cold.n_iter_ == 200 and len(cold.loss_curve_) == 2  # refit from scratch
    with pytest.raises(ValueError, match="same classes"):
        twice.fit(X, np.where(Y == 1, 2, Y))


def test_partial_fit_takes_one_pass_of_minibatches(seed_data):
    X, Y = seed_data[0].T, seed_data[1].ravel()
    clf = FastInitClassifier(learning_rate=0.1, random_state=0)
    for _ in range(30):
        clf.partial_fit(X, Y, classes=[0, 1])
    assert clf.n_iter_ == 30 * 2  # 300 samples, batches of min(200, 300): 2 steps a pass
    assert len(clf.loss_curve_) == 30 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.loss_ == clf.loss_curve_[-1]
    again = FastInitClassifier(learning_rate=0.1, random_state=0)
    for _ in range(30):
        again.partial_fit(X, Y, classes=[0, 1])
    np.testing.assert_array_equal(again.result_.parameters["W1"], clf.result_.parameters["W1"])


@pytest.mark.parametrize("calls", [
    [({}, None)],                                  # first call without classes
    [({"classes": [0, 1]}, None), ({"classes": [0, 1, 2]}, None)],  # classes changed
    [({"classes": [0, 1]}, "extra label")],       # a label outside classes
    [({"classes": [0, 1]}, "fewer features")],    # n_features changed
], ids=["no classes", "new classes", "unseen label", "features"])
def test_partial_fit_misuse_is_refused_as_by_mlpclassifier(calls):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), np.arange(40) % 2

    def run(estimator):
        for kwargs, twist in calls:
            Xc, yc = X, y
            if twist == "extra label":
                estimator.partial_fit(X, y, **kwargs)
                yc = np.where(y == 1, 5, y)
            elif twist == "fewer features":
                estimator.partial_fit(X, y, **kwargs)
                Xc = X[:, :2]
            estimator.partial_fit(Xc, yc, **kwargs)

    with pytest.raises(ValueError):
        run(MLPClassifier())
    with pytest.raises(ValueError):
        run(FastInitClassifier())
