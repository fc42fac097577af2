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
