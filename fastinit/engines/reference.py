"""Pure-NumPy reference of every computation fastinit compiles.

This module is the specification a reader can check in one sitting: the tests
compare each compiled kernel against the function of the same name here, and
the benchmarks use :func:`train` as the NumPy baseline (written as a competent
NumPy user would: vectorised over examples, cost evaluated only where it is
recorded).  It performs no input validation: call it with clean arrays.

Networks are LINEAR->ACTIVATION x (L-1) -> LINEAR->SIGMOID (one output unit)
or LINEAR->SOFTMAX (k >= 2 units, one-hot labels), with column-per-example
data as in the seed notebook; ReLU hidden layers are the notebook's network.
"""
from __future__ import annotations

import numpy as np

from ..nn.activations import ACTIVATIONS


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-Z))


def leaky_relu(Z, slope=0.01):
    return np.where(Z > 0, Z, slope * Z)


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def activation_forward(Z, activation="relu", slope=0.01):
    """f(Z) of a registered activation (:mod:`fastinit.nn.activations` holds
    each one's NumPy formula)."""
    return ACTIVATIONS[activation].forward(Z, slope)


def activation_backward(dA, A, activation="relu", slope=0.01, Z=None):
    """dZ = dA f'(Z), from the activation's output A = f(Z) and, for the
    activations whose derivative needs it (GELU, SiLU), Z."""
    return dA * ACTIVATIONS[activation].derivative(Z, A, slope)


def linear_forward(A_prev, W, b):
    return np.dot(W, A_prev) + b.reshape(-1, 1)


def linear_backward(dZ, A_prev, W):
    """Returns ``(dA_prev, dW, db)``."""
    return np.dot(W.T, dZ), np.dot(dZ, A_prev.T), np.sum(dZ, axis=1, keepdims=True)


def relu_backward(dA, A):
    return np.multiply(dA, A > 0)


def sigmoid_backward(dA, A):
    return dA * (A * (1 - A))


def output_gradient(AL, Y):
    return 1.0 / AL.shape[1] * (AL - Y)


def binary_cross_entropy(AL, Y):
    """The seed's ``compute_loss``: ``inf`` where a wrong label has probability 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(AL), Y) + np.multiply(-np.log(1 - AL), 1 - Y)
    return 1.0 / AL.shape[1] * np.nansum(logprobs)


def binary_cross_entropy_from_logits(ZL, Y):
    """Mean of ``log(1 + e^z) - y z``, finite for any finite logit."""
    return 1.0 / ZL.shape[1] * np.sum(np.logaddexp(0, ZL) - Y * ZL)


def categorical_cross_entropy(AL, Y):
    """Mean of ``-log p(true class)`` for one-hot ``Y`` of shape (k, m)."""
    with np.errstate(divide="ignore"):
        return 1.0 / AL.shape[1] * -np.sum(np.log(AL[Y.astype(bool)]))


def categorical_cross_entropy_from_logits(ZL, Y):
    zmax = ZL.max(axis=0, keepdims=True)
    lse = np.log(np.sum(np.exp(ZL - zmax), axis=0, keepdims=True)) + zmax
    return 1.0 / ZL.shape[1] * np.sum(lse - np.sum(Y * ZL, axis=0, keepdims=True))


def cross_entropy_from_logits(ZL, Y):
    if ZL.shape[0] == 1:
        return binary_cross_entropy_from_logits(ZL, Y)
    return categorical_cross_entropy_from_logits(ZL, Y)


def one_hot(labels, k):
    """(k, m) one-hot matrix of integer labels of shape (1, m)."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    out = np.zeros((k, labels.size))
    out[labels, np.arange(labels.size)] = 1
    return out


def gradient_descent_update(param, grad, learning_rate):
    return param - learning_rate * grad


def n_layers(parameters):
    return len(parameters) // 2


def forward_propagation(X, parameters, activation="relu", slope=0.01, loss=None, masks=None):
    """Returns ``(AL, cache)`` with ``cache = (Z1, A1, W1, b1, ..., ZL, AL, WL, bL)``;
    the output layer's activation is the loss's (:func:`output_activation`).
    ``masks[l]`` (1-based hidden layer): inverted dropout, A_l times the mask
    scaled by 1 / keep (:func:`dropout_scale`)."""
    cache = []
    A = X
    L = n_layers(parameters)
    for l in range(1, L + 1):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = linear_forward(A, W, b)
        if l < L:
            A = activation_forward(Z, activation, slope)
            if masks and l in masks:
                A = A * masks[l]
        else:
            A = output_activation(Z, loss)
        cache += [Z, A, W, b]
    return A, tuple(cache)


def backward_propagation(X, Y, cache, activation="relu", slope=0.01, masks=None):
    """Gradients of the mean cross-entropy, keyed as in the seed notebook:
    ``dzL, dWL, dbL, daL-1, dzL-1, ..., dW1, db1``.  ``Y`` is one-hot (k, m)
    for a softmax output."""
    L = len(cache) // 4
    grads = {}
    dZ = output_gradient(cache[4 * L - 3], Y)
    for l in range(L, 0, -1):
        A_prev = X if l == 1 else cache[4 * (l - 1) - 3]
        dA_prev, dW, db = linear_backward(dZ, A_prev, cache[4 * l - 2])
        grads[f"dz{l}"], grads[f"dW{l}"], grads[f"db{l}"] = dZ, dW, db
        if l > 1:
            grads[f"da{l - 1}"] = dA_prev
            Z_prev = cache[4 * (l - 1) - 4]
            if masks and (l - 1) in masks:  # through the dropout: A before it for f'
                dA_prev = dA_prev * masks[l - 1]
                A_prev = activation_forward(Z_prev, activation, slope)
            dZ = activation_backward(dA_prev, A_prev, activation, slope, Z=Z_prev)
    return grads


def update_parameters(parameters, grads, learning_rate):
    return {
        key: gradient_descent_update(value, grads["d" + key], learning_rate)
        for key, value in parameters.items()
    }


def train(X, Y, parameters, learning_rate, num_iterations, record_every=1000,
          activation="relu", slope=0.01, optimizer=None, schedule=None, l2=0.0,
          clip_norm=None, loss=None, batch_size=None, orders=None, state=None, first_step=0,
          keep=None, dropout_seed=0):
    """Training as the compiled loops do it, step by step in NumPy; returns
    ``(parameters, costs)`` where ``costs[k]`` is the cost (mean loss plus
    the L2 penalty) on the whole set before step ``k * record_every``.
    ``Y``: 0/1 labels of shape (1, m), one-hot (k, m) for a softmax output,
    real targets for ``loss="mse"``.

    ``optimizer`` (a :mod:`fastinit.nn.optimizers` object, None for plain
    gradient descent) with ``lr`` or ``learning_rate``; ``schedule``,
    ``l2``, ``clip_norm`` as :func:`update`.  With ``batch_size``, each step
    is on a mini-batch: ``orders(epoch)`` gives the epoch's example order.
    ``state`` (the optimizer's state rows, updated in place) and
    ``first_step`` continue an earlier training.  ``keep``: dropout keep
    probability per layer (the output's 1), masks from :func:`dropout_mask`
    with ``dropout_seed``."""
    from ..nn.optimizers import get_optimizer

    opt = get_optimizer(optimizer).with_lr(learning_rate)
    parameters = {k: np.array(v) for k, v in parameters.items()}
    keys = [f"{p}{l}" for l in range(1, n_layers(parameters) + 1) for p in "Wb"]
    theta = np.concatenate([parameters[k].ravel() for k in keys])
    is_weight = np.concatenate([np.full(parameters[k].size, k[0] == "W") for k in keys])
    if state is None:
        state = opt.initial_state(theta.size, theta.dtype)

    def unflatten(vector):
        out, at = {}, 0
        for k in keys:
            out[k] = vector[at:at + parameters[k].size].reshape(parameters[k].shape)
            at += parameters[k].size
        return out

    m = X.shape[1]
    n_batches = -(-m // batch_size) if batch_size else 1
    costs = []
    for i in range(num_iterations):
        params = unflatten(theta)
        if i % record_every == 0:
            _, cache = forward_propagation(X, params, activation, slope, loss)
            costs.append(loss_from_logits(cache[-4], Y, loss)
                         + l2_penalty(theta, is_weight, l2, m))
        Xb, Yb = X, Y
        step = first_step + i
        if batch_size:
            epoch, k = divmod(step, n_batches)
            columns = orders(epoch)[k * batch_size:(k + 1) * batch_size]
            Xb, Yb = X[:, columns], Y[:, columns]
        masks = None
        if keep is not None:
            masks = {l + 1: dropout_scale(parameters[f"W{l + 1}"].shape[0], Xb.shape[1], keep[l],
                                          dropout_seed, step + 1, l, theta.dtype)
                     for l in range(len(keep) - 1) if keep[l] < 1}
        _, cache = forward_propagation(Xb, params, activation, slope, loss, masks)
        grads = backward_propagation(Xb, Yb, cache, activation, slope, masks)
        g = np.concatenate([grads["d" + k].ravel() for k in keys])
        update(theta, g, state, opt, step + 1, is_weight, Xb.shape[1], schedule, l2, clip_norm)
    return {k: v.copy() for k, v in unflatten(theta).items()}, np.array(costs)


# ---------------------------------------------------------------------------
# Losses, optimizers, schedules, L2 and clipping: the NumPy twins of
# ``_kernels_optim.pxi`` and of the loss routines of ``_kernels_blocks.pxi``.
# ---------------------------------------------------------------------------

_M32, _M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _splitmix64(state):
    """(new state, value) of SplitMix64, in Python integers."""
    state = (state + 0x9E3779B97F4A7C15) & _M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return state, z ^ (z >> 31)


def _fmix32(h):
    """MurmurHash3's 32-bit finalizer on a uint64 array of 32-bit values."""
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(_M32)
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(_M32)
    return h ^ (h >> np.uint64(16))


def dropout_mask(n_units, m, keep, seed, step, layer):
    """Boolean (n_units, m) mask of the units kept by the dropout of hidden
    layer ``layer`` (0-based) at step ``step`` (1 for the first), for the
    examples 0 .. m-1 of the data stepped on: the counter-based hash of
    ``_kernels_dropout.pxi``."""
    _, inner = _splitmix64(((step << 32) + layer) & _M64)
    _, key = _splitmix64((seed ^ inner) & _M64)
    key &= _M32
    units = np.arange(n_units, dtype=np.uint64)
    rows = _fmix32((np.uint64(key) + units * np.uint64(0x9E3779B9)) & np.uint64(_M32))
    examples = (np.arange(m, dtype=np.uint64) * np.uint64(0x85EBCA77)) & np.uint64(_M32)
    u = _fmix32(rows[:, None] ^ examples[None, :])
    return (u >> np.uint64(8)) < np.uint64(int(keep * 16777216.0 + 0.5))


def dropout_scale(n_units, m, keep, seed, step, layer, dtype=np.float64):
    """The dropout mask as the factors the activations are multiplied by:
    1 / keep where kept, 0 where dropped."""
    return np.where(dropout_mask(n_units, m, keep, seed, step, layer),
                    np.asarray(1.0 / keep, dtype=dtype), np.asarray(0, dtype=dtype))


def output_activation(Z, loss=None):
    """The output layer's activation of a loss (None: by the output width,
    sigmoid for one unit, softmax for more)."""
    loss = loss or ("binary_cross_entropy" if Z.shape[0] == 1 else "categorical_cross_entropy")
    if loss == "mse":
        return Z
    if loss == "poisson":
        return np.exp(Z)
    return softmax(Z) if loss == "categorical_cross_entropy" else sigmoid(Z)


def mse(ZL, Y):
    """Half the squared error, summed over the outputs, mean over the examples."""
    return 1.0 / ZL.shape[1] * np.sum(0.5 * (ZL - Y) ** 2)


def poisson(ZL, Y):
    """The Poisson deviance of exp outputs as scikit-learn's poisson_loss
    counts it, exp(z) - y + y log(y / exp(z)) (0 for y = 0), summed over the
    outputs, mean over the examples."""
    safe = np.where(Y > 0, Y, 1.0)
    return 1.0 / ZL.shape[1] * np.sum(np.exp(ZL) - Y + np.where(Y > 0, Y * (np.log(safe) - ZL),
                                                                 0.0))


def loss_from_logits(ZL, Y, loss=None):
    """The mean loss of the output logits ``ZL`` (None: cross-entropy by the
    output width)."""
    if loss == "mse":
        return mse(ZL, Y)
    if loss == "poisson":
        return poisson(ZL, Y)
    if loss == "categorical_cross_entropy":
        return categorical_cross_entropy_from_logits(ZL, Y)
    if loss == "binary_cross_entropy":
        return binary_cross_entropy_from_logits(ZL, Y)
    return cross_entropy_from_logits(ZL, Y)


def l2_penalty(theta, is_weight, l2, m):
    """(l2 / 2m) * the sum of the squared weights (biases not penalised)."""
    return 0.5 * l2 / m * np.sum(theta[is_weight] ** 2) if l2 else 0.0


def clip_grad_norm(g, max_norm):
    """torch.nn.utils.clip_grad_norm_: g * min(1, max_norm / (||g|| + 1e-6)), in place."""
    coef = max_norm / (np.sqrt(np.sum(g * g)) + 1e-6)
    if coef < 1:
        g *= g.dtype.type(coef)
    return g


def scheduled_lr(lr, t, schedule=None):
    """The learning rate of step t (1 for the first) under a schedule object."""
    return lr if schedule is None else schedule.lr_at(lr, t)


def update(theta, g, state, optimizer, t, is_weight, m, schedule=None, l2=0.0, clip_norm=None):
    """Step t (1 for the first) of the compiled loops' update, in place on the
    flat ``theta`` and the optimizer's ``state`` rows: the L2 penalty's
    gradient (l2 / m) W, clipping, the schedule's learning rate, the step."""
    dtype = theta.dtype.type
    g = g.copy()
    if l2:
        g[is_weight] += dtype(l2) * dtype(1 / m) * theta[is_weight]
    if clip_norm:
        clip_grad_norm(g, clip_norm)
    lr = dtype(scheduled_lr(optimizer.lr, t, schedule))
    optimizer_step(theta, g, state, optimizer, t, lr)


def optimizer_step(theta, g, state, opt, t, lr):
    """One step of ``opt`` (a :mod:`fastinit.nn.optimizers` object) at learning
    rate ``lr``, in place; the formulas are torch.optim's documented ones
    (and scikit-learn's where ``variant="sklearn"``)."""
    f = theta.dtype.type
    wd = f(opt.weight_decay)
    if opt.name == "sgd":
        mu = f(opt.momentum)
        g = g + wd * theta
        if mu == 0:
            theta -= lr * g
        elif opt.variant == "sklearn":
            state[0] = mu * state[0] - lr * g
            theta += mu * state[0] - lr * g if opt.nesterov else state[0]
        else:
            state[0] = g if t == 1 else mu * state[0] + (1 - f(opt.dampening)) * g
            theta -= lr * (g + mu * state[0] if opt.nesterov else state[0])
    elif opt.name == "rmsprop":
        alpha, eps, mu = f(opt.alpha), f(opt.eps), f(opt.momentum)
        g = g + wd * theta
        state[0] = alpha * state[0] + (1 - alpha) * g * g
        v = state[0]
        if opt.centered:
            state[2] = alpha * state[2] + (1 - alpha) * g
            v = v - state[2] * state[2]
        if mu > 0:
            state[1] = mu * state[1] + g / (np.sqrt(v) + eps)
            theta -= lr * state[1]
        else:
            theta -= lr * g / (np.sqrt(v) + eps)
    elif opt.name in ("adam", "adamw"):
        b1, b2, eps = f(opt.betas[0]), f(opt.betas[1]), f(opt.eps)
        if wd != 0:
            if opt.decoupled:
                theta -= lr * wd * theta
            else:
                g = g + wd * theta
        state[0] = b1 * state[0] + (1 - b1) * g
        state[1] = b2 * state[1] + (1 - b2) * g * g
        bc1, bc2 = f(1 - opt.betas[0] ** t), f(1 - opt.betas[1] ** t)
        if opt.variant == "sklearn":
            theta -= (lr * np.sqrt(bc2) / bc1) * state[0] / (np.sqrt(state[1]) + eps)
            return
        if opt.amsgrad:  # torch's computation: max of v, then the bias correction
            state[2] = np.maximum(state[2], state[1])
            vhat = state[2] / bc2
        else:
            vhat = state[1] / bc2
        theta -= lr * (state[0] / bc1) / (np.sqrt(vhat) + eps)
    elif opt.name == "adagrad":
        clr = lr / (1 + (t - 1) * f(opt.lr_decay))
        g = g + wd * theta
        state[0] += g * g
        theta -= clr * g / (np.sqrt(state[0]) + f(opt.eps))
    else:
        raise ValueError(f"no NumPy twin for optimizer {opt.name!r}")


# ---------------------------------------------------------------------------
# The seed notebook's own helpers (its ``init_utils``), as a learner runs them:
# the NumPy side of the per-step benchmark (``fastinit bench --paths``).  Same
# math as above, written for three layers the notebook's way.
# ---------------------------------------------------------------------------

class notebook:  # noqa: N801 - a namespace named after where the code comes from
    """``forward_propagation``, ``compute_loss``, ``backward_propagation`` and
    ``update_parameters`` of the seed notebook's ``init_utils``."""

    @staticmethod
    def forward_propagation(X, parameters):
        W1, b1 = parameters["W1"], parameters["b1"]
        W2, b2 = parameters["W2"], parameters["b2"]
        W3, b3 = parameters["W3"], parameters["b3"]
        z1 = np.dot(W1, X) + b1
        a1 = np.maximum(0, z1)
        z2 = np.dot(W2, a1) + b2
        a2 = np.maximum(0, z2)
        z3 = np.dot(W3, a2) + b3
        a3 = 1 / (1 + np.exp(-z3))
        return a3, (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)

    @staticmethod
    def compute_loss(a3, Y):
        m = Y.shape[1]
        logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
        return 1. / m * np.nansum(logprobs)

    @staticmethod
    def backward_propagation(X, Y, cache):
        m = X.shape[1]
        (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3) = cache
        dz3 = 1. / m * (a3 - Y)
        dW3 = np.dot(dz3, a2.T)
        db3 = np.sum(dz3, axis=1, keepdims=True)
        da2 = np.dot(W3.T, dz3)
        dz2 = np.multiply(da2, np.int64(a2 > 0))
        dW2 = np.dot(dz2, a1.T)
        db2 = np.sum(dz2, axis=1, keepdims=True)
        da1 = np.dot(W2.T, dz2)
        dz1 = np.multiply(da1, np.int64(a1 > 0))
        dW1 = np.dot(dz1, X.T)
        db1 = np.sum(dz1, axis=1, keepdims=True)
        return {"dz3": dz3, "dW3": dW3, "db3": db3, "da2": da2, "dz2": dz2, "dW2": dW2,
                "db2": db2, "da1": da1, "dz1": dz1, "dW1": dW1, "db1": db1}

    @staticmethod
    def update_parameters(parameters, grads, learning_rate):
        L = len(parameters) // 2
        for k in range(L):
            parameters["W" + str(k + 1)] = (parameters["W" + str(k + 1)]
                                            - learning_rate * grads["dW" + str(k + 1)])
            parameters["b" + str(k + 1)] = (parameters["b" + str(k + 1)]
                                            - learning_rate * grads["db" + str(k + 1)])
        return parameters


def notebook_loop(helpers, X, Y, parameters, learning_rate, num_iterations):
    """The notebook's ``model`` loop (without printing) on a module of helpers
    (:class:`notebook` or fastinit itself): forward, loss, backward, update
    once per iteration.  Returns the parameters and the last loss."""
    parameters = dict(parameters)
    cost = None
    for _ in range(num_iterations):
        a3, cache = helpers.forward_propagation(X, parameters)
        cost = helpers.compute_loss(a3, Y)
        grads = helpers.backward_propagation(X, Y, cache)
        parameters = helpers.update_parameters(parameters, grads, learning_rate)
    return parameters, cost


def minibatch_train(X, Y, parameters, learning_rate, num_steps, batch_size, orders,
                    optimizer=None):
    """Mini-batch training as a NumPy user writes it: ``orders(epoch)``
    gives each epoch's example order, each batch is gathered by fancy
    indexing and stepped by the functions above; ``optimizer`` (a
    :mod:`fastinit.nn.optimizers` object, None for gradient descent) keeps its
    state per parameter array.  ``Y``: 0/1 labels (1, m)."""
    from ..nn.optimizers import get_optimizer

    m = X.shape[1]
    n_batches = -(-m // batch_size)
    parameters = {k: np.array(v) for k, v in parameters.items()}
    opt = None if optimizer is None else get_optimizer(optimizer).with_lr(learning_rate)
    states = {k: opt.initial_state(v.size, v.dtype).reshape(-1, *v.shape)
              for k, v in parameters.items()} if opt is not None else {}
    for step in range(num_steps):
        epoch, k = divmod(step, n_batches)
        if k == 0:
            order = orders(epoch)
            Xs, Ys = X[:, order], Y[:, order]
        Xb, Yb = Xs[:, k * batch_size:(k + 1) * batch_size], Ys[:, k * batch_size:(k + 1) * batch_size]
        _, cache = forward_propagation(Xb, parameters)
        grads = backward_propagation(Xb, Yb, cache)
        if opt is None:
            parameters = update_parameters(parameters, grads, learning_rate)
            continue
        lr = parameters["W1"].dtype.type(opt.lr)
        for key, value in parameters.items():
            optimizer_step(value, grads["d" + key], states[key], opt, step + 1, lr)
    return parameters
