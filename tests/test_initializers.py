"""The initializer registry: formulas, statistics, orthogonality, gains."""
from __future__ import annotations

import math

import numpy as np
import pytest

import fastinit
from fastinit.nn.initializers import (
    INITIALIZERS,
    Constant,
    Identity,
    Initializer,
    Normal,
    Orthogonal,
    TruncatedNormal,
    Uniform,
    VarianceScaling,
    get_initializer,
)

FAN_OUT, FAN_IN = 400, 300
N = FAN_OUT * FAN_IN
TRUNC_VAR = 0.87962566103423978 ** 2  # variance of N(0, 1) truncated to [-2, 2]

# name -> (mean, variance) of the weights of a (400, 300) layer
EXPECTED = {
    "normal": (0.0, 1.0),
    "uniform": (0.5, 1 / 12),                     # PyTorch's uniform_: U(0, 1)
    "random_normal": (0.0, 0.05 ** 2),            # Keras' RandomNormal
    "random_uniform": (0.0, 0.1 ** 2 / 12),       # Keras' RandomUniform: U(-0.05, 0.05)
    "truncated_normal": (0.0, 0.05 ** 2 * TRUNC_VAR),  # Keras' TruncatedNormal(stddev=0.05)
    "trunc_normal": (0.0, TRUNC_VAR),             # PyTorch's trunc_normal_: N(0, 1) in [-2, 2]
    "random": (0.0, 100.0),
    "he": (0.0, 2 / FAN_IN),
    "he_normal": (0.0, 2 / FAN_IN),
    "kaiming_normal": (0.0, 2 / FAN_IN),
    "he_uniform": (0.0, 2 / FAN_IN),
    "kaiming_uniform": (0.0, 2 / FAN_IN),
    "xavier": (0.0, 1 / FAN_IN),
    "xavier_normal": (0.0, 2 / (FAN_IN + FAN_OUT)),
    "glorot_normal": (0.0, 2 / (FAN_IN + FAN_OUT)),
    "xavier_uniform": (0.0, 2 / (FAN_IN + FAN_OUT)),
    "glorot_uniform": (0.0, 2 / (FAN_IN + FAN_OUT)),
    "lecun_normal": (0.0, 1 / FAN_IN),
    "lecun_uniform": (0.0, 1 / FAN_IN),
    "variance_scaling": (0.0, 1 / FAN_IN),
    "orthogonal": (0.0, 1 / FAN_OUT),  # 300 orthonormal columns: sum of squares 300 exactly
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_mean_and_variance_match_the_formula(name):
    """Tolerances are 5 standard errors for N = 120,000 draws: the mean's
    standard error is sigma / sqrt(N), the variance's at most
    sigma^2 sqrt(2 / N) (a normal's; uniform and truncated draws vary less)."""
    mean, var = EXPECTED[name]
    if name == "orthogonal":  # not random in its second moment: exact
        W = get_initializer(name)((FAN_OUT, FAN_IN), np.random.RandomState(0))
        assert np.mean(W ** 2) == pytest.approx(1 / FAN_OUT, rel=1e-12)
        return
    W = get_initializer(name)((FAN_OUT, FAN_IN), np.random.RandomState(0))
    assert W.shape == (FAN_OUT, FAN_IN)
    sigma = math.sqrt(var)
    assert abs(W.mean() - mean) < 5 * sigma / math.sqrt(N)
    assert abs(W.var() - var) < 5 * var * math.sqrt(2 / N)


def test_uniform_and_truncated_bounds():
    rng = np.random.RandomState(1)
    limit = math.sqrt(6 / FAN_IN)
    W = get_initializer("he_uniform")((FAN_OUT, FAN_IN), rng)
    assert W.max() <= limit and W.min() >= -limit and W.max() > 0.99 * limit
    T = TruncatedNormal(std=0.5, mean=1.0)((200, 200), rng)
    assert T.min() >= 0.0 and T.max() <= 2.0
    std = VarianceScaling(1.0, "fan_in", "truncated_normal").std((10, 100))
    lecun = get_initializer("lecun_normal")((FAN_OUT, 100), rng)
    assert np.abs(lecun).max() <= 2 * std / 0.87962566103423978


@pytest.mark.parametrize("shape", [(5, 5), (3, 8), (8, 3), (1, 6), (6, 1), (100, 100)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2), 5 / 3])
def test_orthogonal(shape, gain):
    W = Orthogonal(gain)(shape, np.random.RandomState(7))
    rows, cols = shape
    gram = W @ W.T if rows <= cols else W.T @ W
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(shape)), atol=1e-10)


def test_identity_and_constant():
    np.testing.assert_array_equal(Identity(2.0)((3, 3), None), 2 * np.eye(3))
    np.testing.assert_array_equal(Identity()((2, 4), None), np.eye(2, 4))
    np.testing.assert_array_equal(Constant(0.5)((2, 3), None), np.full((2, 3), 0.5))
    p = fastinit.initialize_parameters([4, 4, 1], "identity")
    np.testing.assert_array_equal(p["W1"], np.eye(4))


def test_calculate_gain_matches_pytorch_table():
    assert fastinit.calculate_gain("linear") == 1
    assert fastinit.calculate_gain("sigmoid") == 1
    assert fastinit.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert fastinit.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert fastinit.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert fastinit.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        fastinit.calculate_gain("swish")


def test_registry_names_and_aliases():
    for name in ["zeros", "constant", "normal", "uniform", "truncated_normal", "random", "he",
                 "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform", "xavier",
                 "xavier_normal", "xavier_uniform", "glorot_normal", "glorot_uniform",
                 "lecun_normal", "lecun_uniform", "variance_scaling", "orthogonal", "identity",
                 "random_normal", "random_uniform", "trunc_normal"]:
        assert isinstance(get_initializer(name), Initializer), name
        assert name in INITIALIZERS
    a = fastinit.initialize_parameters([3, 5, 1], "he")
    b = fastinit.initialize_parameters([3, 5, 1], "kaiming_normal")
    np.testing.assert_array_equal(a["W1"], b["W1"])


def test_initializer_objects_work_in_train(seed_data):
    X, Y = seed_data[:2]
    r = fastinit.train(X, Y, [2, 10, 5, 1], init=Orthogonal(gain=math.sqrt(2)), num_iterations=2000)
    assert r.status == "completed" and r.costs[-1] < r.costs[0]
    r = fastinit.train(X, Y, [2, 10, 5, 1], init=VarianceScaling(2.0, "fan_avg", "uniform"),
                       num_iterations=10)
    assert r.parameters["W1"].shape == (10, 2)


def test_custom_initializer_subclass_and_its_validation():
    class Ones(Initializer):
        def __call__(self, shape, rng):
            return np.ones(shape)

    p = fastinit.initialize_parameters([2, 3, 1], Ones())
    np.testing.assert_array_equal(p["W1"], np.ones((3, 2)))

    class Broken(Initializer):
        def __call__(self, shape, rng):
            return np.ones((1, 1))

    with pytest.raises(ValueError, match="returned an array of shape"):
        fastinit.initialize_parameters([2, 3, 1], Broken())
    with pytest.raises(TypeError, match="init must be a registered name or an Initializer"):
        fastinit.initialize_parameters([2, 3, 1], 42)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Normal(std=0), "std must be a finite number > 0"),
        (lambda: Normal(std="1"), "std must be a real number"),
        (lambda: Uniform(1, 0), "low must be < high"),
        (lambda: VarianceScaling(mode="fan"), "mode must be"),
        (lambda: VarianceScaling(distribution="cauchy"), "distribution must be"),
        (lambda: VarianceScaling(scale=-1), "scale must be a finite number > 0"),
        (lambda: Orthogonal(gain=np.nan), "gain must be a finite number > 0"),
        (lambda: Constant(value=np.inf), "value must be a finite number"),
    ],
)
def test_initializer_arguments_are_validated(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_samplers_are_bounded():
    with pytest.raises(ValueError, match="bound must be >= 0.1"):
        TruncatedNormal(bound=1e-300)
    w = TruncatedNormal(bound=0.1)((200, 200), np.random.RandomState(0))
    assert np.abs(w).max() <= 0.1
    with pytest.raises(ValueError, match=r"max_iter must be an integer in \[1, 1000\]"):
        fastinit.nn.initializers.LSUV(max_iter=10**12)


C = 0.87962566103423978  # Keras divides by it: the truncated draws keep the target variance


@pytest.mark.parametrize("name, truncated, std", [
    # std: of the normal before truncation
    ("he_normal", True, math.sqrt(2 / FAN_IN) / C),               # Keras: truncated
    ("glorot_normal", True, math.sqrt(2 / (FAN_IN + FAN_OUT)) / C),
    ("lecun_normal", True, math.sqrt(1 / FAN_IN) / C),
    ("truncated_normal", True, 0.05),                             # Keras' stddev 0.05
    ("trunc_normal", True, 1.0),                                  # PyTorch: [-2, 2]
    ("kaiming_normal", False, math.sqrt(2 / FAN_IN)),             # PyTorch: plain normal
    ("xavier_normal", False, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he", False, math.sqrt(2 / FAN_IN)),                         # the notebook's
])
def test_names_draw_the_distribution_of_the_framework_they_come_from(name, truncated, std):
    W = get_initializer(name)((FAN_OUT, FAN_IN), np.random.RandomState(0))
    if truncated:
        assert np.abs(W).max() <= 2 * std and np.abs(W).max() > 1.99 * std
    else:  # 120,000 plain normal draws go beyond 2 std thousands of times
        assert (np.abs(W) > 2 * std).sum() > 1000


# ------------------------------------------------ scikit-learn's MLP scheme
@pytest.mark.parametrize("hidden_activation, factor", [("relu", 6.0), ("logistic", 2.0)])
@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_sklearn_scheme_draws_scikit_learns_mlp_parameters(hidden_activation, factor, seed):
    """From the same integer seed, "sklearn" gives MLPClassifier's initial
    coefs_ and intercepts_ bit for bit (transposed to fastinit's layout), and
    leaves NumPy's global random state alone."""
    sk = pytest.importorskip("sklearn.neural_network")
    dims = [4, 7, 3, 2]
    mlp = sk.MLPClassifier(hidden_layer_sizes=dims[1:-1], activation=hidden_activation,
                           random_state=seed)
    mlp._random_state = np.random.RandomState(seed)  # as fit() sets it
    expected = [mlp._init_coef(dims[l], dims[l + 1], np.float64) for l in range(len(dims) - 1)]
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    init = fastinit.nn.initializers.ScikitLearn(factor=factor)
    params = fastinit.initialize_parameters(dims, init, seed=seed)
    assert np.array_equal(np.random.get_state()[1], before)
    for l, (coef, intercept) in enumerate(expected, start=1):
        assert np.array_equal(params[f"W{l}"], coef.T)
        assert np.array_equal(params[f"b{l}"].ravel(), intercept)
    # the registry's default is relu's factor
    if factor == 6.0:
        by_name = fastinit.initialize_parameters(dims, "sklearn", seed=seed)
        assert all(np.array_equal(by_name[k], params[k]) for k in params)


def test_sklearn_scheme_biases_follow_into_lsuv_and_float32():
    from fastinit.nn.initializers import LSUV, ScikitLearn

    X = np.random.RandomState(0).randn(3, 50)
    params = fastinit.initialize_parameters([3, 5, 1], LSUV(base=ScikitLearn()), seed=1, X=X)
    assert np.all(params["b1"] != 0)
    p32 = fastinit.initialize_parameters([3, 5, 1], "sklearn", seed=1, dtype="float32")
    p64 = fastinit.initialize_parameters([3, 5, 1], "sklearn", seed=1)
    assert p32["b1"].dtype == np.float32 and np.array_equal(p32["b1"], p64["b1"].astype(np.float32))
    with pytest.raises(ValueError, match="factor"):
        ScikitLearn(factor=0)


def test_an_initializer_with_a_wrong_bias_shape_is_refused():
    class BadBias(fastinit.Initializer):
        def __call__(self, shape, rng):
            return np.zeros(shape)

        def bias(self, shape, rng):
            return np.zeros(shape[0] + 1)

    with pytest.raises(ValueError, match="biases of shape"):
        fastinit.initialize_parameters([2, 3, 1], BadBias())
