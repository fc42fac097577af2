# Tier 2b of fastinit's compiled kernels: the update of one training step.
#
# Every fused loop ends an iteration (or a mini-batch step) with ``_update``:
# the gradient of the data loss comes in; the L2 penalty's gradient is added,
# the gradient's norm is clipped, the step's learning rate is taken from the
# schedule and the optimizer moves the parameters, updating its state.  What
# to do is described by a *hyper-parameter vector* (float64, HYPER_FIELDS),
# built by ``fastinit.nn.optimizers`` and read once per kernel call into an
# ``Optim`` struct; the optimizer's state is ``n_slots`` rows of one value per
# parameter (the moments), owned by the caller and kept between calls, so a
# training resumes exactly where it stopped.  The step count ``t`` (1 for the
# first step) comes from the loop.
#
# The optimizers are PyTorch's documented ``torch.optim`` algorithms (SGD with
# momentum, dampening and Nesterov; RMSprop, centered or not, with momentum;
# Adam and AdamW, with AMSGrad; Adagrad with lr_decay), each with weight decay
# added to the gradient (L2) or, for AdamW, decoupled.  ``VARIANT_SKLEARN``
# selects scikit-learn's MLP form of the same update where it differs (its
# momentum SGD keeps a velocity that includes the learning rate; its Adam
# folds both bias corrections into the step size and adds eps to sqrt(v)).
# ``fastinit.engines.reference`` has the NumPy twin of every routine here.
from libc.math cimport cos, pow, sqrt, M_PI

cdef enum:
    OPT_SGD = 0
    OPT_RMSPROP = 1
    OPT_ADAM = 2
    OPT_ADAGRAD = 3

cdef enum:
    SCHEDULE_CONSTANT = 0
    SCHEDULE_STEP = 1
    SCHEDULE_EXPONENTIAL = 2
    SCHEDULE_INVSCALING = 3
    SCHEDULE_COSINE = 4

cdef enum:
    VARIANT_TORCH = 0
    VARIANT_SKLEARN = 1

# Fields of the hyper-parameter vector.  BETA2 is RMSprop's alpha too, FLAG
# is Adam's amsgrad and RMSprop's centered.
cdef enum:
    H_KIND = 0
    H_LR = 1
    H_MOMENTUM = 2
    H_DAMPENING = 3
    H_NESTEROV = 4
    H_BETA1 = 5
    H_BETA2 = 6
    H_EPS = 7
    H_WEIGHT_DECAY = 8
    H_DECOUPLED = 9
    H_FLAG = 10
    H_VARIANT = 11
    H_LR_DECAY = 12
    H_SCHEDULE = 13
    H_GAMMA = 14
    H_STEP_SIZE = 15
    H_POWER_T = 16
    H_T_MAX = 17
    H_ETA_MIN = 18
    H_L2 = 19
    H_CLIP = 20
    N_HYPER = 21

OPTIMIZER_CODES = {"sgd": OPT_SGD, "rmsprop": OPT_RMSPROP, "adam": OPT_ADAM,
                   "adagrad": OPT_ADAGRAD}
SCHEDULE_CODES = {"constant": SCHEDULE_CONSTANT, "step": SCHEDULE_STEP,
                  "exponential": SCHEDULE_EXPONENTIAL, "invscaling": SCHEDULE_INVSCALING,
                  "cosine": SCHEDULE_COSINE}
VARIANT_CODES = {"torch": VARIANT_TORCH, "sklearn": VARIANT_SKLEARN}
HYPER_FIELDS = {"kind": H_KIND, "lr": H_LR, "momentum": H_MOMENTUM, "dampening": H_DAMPENING,
                "nesterov": H_NESTEROV, "beta1": H_BETA1, "beta2": H_BETA2, "eps": H_EPS,
                "weight_decay": H_WEIGHT_DECAY, "decoupled": H_DECOUPLED, "flag": H_FLAG,
                "variant": H_VARIANT, "lr_decay": H_LR_DECAY, "schedule": H_SCHEDULE,
                "gamma": H_GAMMA, "step_size": H_STEP_SIZE, "power_t": H_POWER_T,
                "t_max": H_T_MAX, "eta_min": H_ETA_MIN, "l2": H_L2, "clip": H_CLIP}


ctypedef struct Optim:
    int kind, schedule, variant
    bint nesterov, decoupled, flag, plain
    double lr, momentum, dampening, beta1, beta2, eps, weight_decay, lr_decay
    double gamma, step_size, power_t, t_max, eta_min, l2, clip


cdef Optim _read_optim(const double* h) noexcept nogil:
    """The struct of a hyper-parameter vector (validated by the Python layer)."""
    cdef Optim o
    o.kind = <int>h[H_KIND]
    o.schedule = <int>h[H_SCHEDULE]
    o.variant = <int>h[H_VARIANT]
    o.nesterov = h[H_NESTEROV] != 0
    o.decoupled = h[H_DECOUPLED] != 0
    o.flag = h[H_FLAG] != 0
    o.lr = h[H_LR]
    o.momentum = h[H_MOMENTUM]
    o.dampening = h[H_DAMPENING]
    o.beta1 = h[H_BETA1]
    o.beta2 = h[H_BETA2]
    o.eps = h[H_EPS]
    o.weight_decay = h[H_WEIGHT_DECAY]
    o.lr_decay = h[H_LR_DECAY]
    o.gamma = h[H_GAMMA]
    o.step_size = h[H_STEP_SIZE]
    o.power_t = h[H_POWER_T]
    o.t_max = h[H_T_MAX]
    o.eta_min = h[H_ETA_MIN]
    o.l2 = h[H_L2]
    o.clip = h[H_CLIP]
    # plain gradient descent: theta -= lr * g, the seed's update, as before
    o.plain = (o.kind == OPT_SGD and o.momentum == 0 and o.weight_decay == 0 and o.l2 == 0
               and o.clip == 0 and o.schedule == SCHEDULE_CONSTANT)
    return o


cdef inline Py_ssize_t _slots_of(const Optim* o) noexcept nogil:
    """Rows of optimizer state (one value per parameter each) ``o`` uses."""
    if o.kind == OPT_SGD:
        return 1 if o.momentum != 0 else 0
    if o.kind == OPT_RMSPROP:
        return 3
    if o.kind == OPT_ADAM:
        return 3 if o.flag else 2
    return 1  # Adagrad


def optimizer_slots(const double[::1] hyper):
    """Rows of optimizer state the update of this hyper-parameter vector uses."""
    if hyper.shape[0] != N_HYPER:
        raise ValueError("optimizer_slots: the hyper-parameter vector has the wrong length")
    cdef Optim o = _read_optim(&hyper[0])
    return _slots_of(&o)


cdef double _scheduled_lr(const Optim* o, Py_ssize_t t) noexcept nogil:
    """The learning rate of step t (1 for the first): PyTorch's StepLR,
    ExponentialLR and CosineAnnealingLR (closed form) with the step count as
    their counter, scikit-learn's inverse scaling lr / t^power_t."""
    cdef double k = <double>(t - 1)
    if o.schedule == SCHEDULE_STEP:
        return o.lr * pow(o.gamma, <double>((t - 1) // <Py_ssize_t>o.step_size))
    if o.schedule == SCHEDULE_EXPONENTIAL:
        return o.lr * pow(o.gamma, k)
    if o.schedule == SCHEDULE_INVSCALING:
        return o.lr / pow(<double>t, o.power_t)
    if o.schedule == SCHEDULE_COSINE:
        return o.eta_min + (o.lr - o.eta_min) * (1 + cos(M_PI * k / o.t_max)) / 2
    return o.lr


def scheduled_lr(const double[::1] hyper, Py_ssize_t t):
    """The learning rate the kernels use at step t (1 for the first)."""
    if hyper.shape[0] != N_HYPER:
        raise ValueError("scheduled_lr: the hyper-parameter vector has the wrong length")
    cdef Optim o = _read_optim(&hyper[0])
    return _scheduled_lr(&o, t)


cdef floating _squared_weights(const floating* theta, const Py_ssize_t* layout,
                               Py_ssize_t L) noexcept nogil:
    """Sum of the squared weights (not the biases), layer by layer in order."""
    cdef Py_ssize_t l, p
    cdef floating squares = 0
    for l in range(L):
        for p in range(_layer(layout, l)[W_AT], _layer(layout, l)[B_AT]):
            squares = squares + theta[p] * theta[p]
    return squares


cdef floating _l2_penalty(const floating* theta, floating* grad, const Py_ssize_t* layout,
                          Py_ssize_t L, floating l2, floating inv_m) noexcept nogil:
    """Add the gradient of the L2 penalty (l2 / 2m) * sum of squared weights
    (biases are not penalised) to ``grad``; returns (l2 / 2) * sum of squared
    weights, the penalty times m (the loop's losses are sums over examples)."""
    cdef Py_ssize_t l, p
    cdef floating scale = l2 * inv_m
    for l in range(L):
        for p in range(_layer(layout, l)[W_AT], _layer(layout, l)[B_AT]):
            grad[p] = grad[p] + scale * theta[p]
    return <floating>0.5 * l2 * _squared_weights(theta, layout, L)


cdef void _clip_norm(floating* grad, Py_ssize_t n, floating max_norm) noexcept nogil:
    """PyTorch's clip_grad_norm_: scale ``grad`` by min(1, max_norm / (norm + 1e-6))."""
    cdef Py_ssize_t p
    cdef floating total = 0, coef
    for p in range(n):
        total = total + grad[p] * grad[p]
    coef = max_norm / (sqrt(total) + <floating>1e-6)
    if coef < 1:
        for p in range(n):
            grad[p] = grad[p] * coef


cdef void _sgd(floating* theta, const floating* grad, floating* buf, Py_ssize_t n,
               const Optim* o, Py_ssize_t t, floating lr) noexcept nogil:
    """torch.optim.SGD (momentum buffer ``buf``; the first step sets it to g),
    or scikit-learn's velocity form (VARIANT_SKLEARN: v = mu v - lr g)."""
    cdef Py_ssize_t p
    cdef floating g, b, wd = o.weight_decay, mu = o.momentum, damp = 1 - <floating>o.dampening
    for p in range(n):
        g = grad[p] + wd * theta[p]
        if mu == 0:
            theta[p] = theta[p] - lr * g
        elif o.variant == VARIANT_SKLEARN:
            b = mu * buf[p] - lr * g
            buf[p] = b
            if o.nesterov:
                theta[p] = theta[p] + (mu * b - lr * g)
            else:
                theta[p] = theta[p] + b
        else:
            b = g if t == 1 else mu * buf[p] + damp * g
            buf[p] = b
            if o.nesterov:
                g = g + mu * b
            else:
                g = b
            theta[p] = theta[p] - lr * g


cdef void _rmsprop(floating* theta, const floating* grad, floating* state, Py_ssize_t n,
                   const Optim* o, floating lr) noexcept nogil:
    """torch.optim.RMSprop: state rows square average, momentum buffer, grad average."""
    cdef Py_ssize_t p
    cdef floating* sq = state
    cdef floating* buf = state + n
    cdef floating* avg = state + 2 * n
    cdef floating g, v, alpha = o.beta2, wd = o.weight_decay, mu = o.momentum
    cdef floating eps = o.eps
    for p in range(n):
        g = grad[p] + wd * theta[p]
        sq[p] = alpha * sq[p] + (1 - alpha) * g * g
        v = sq[p]
        if o.flag:
            avg[p] = alpha * avg[p] + (1 - alpha) * g
            v = v - avg[p] * avg[p]
        if mu > 0:
            buf[p] = mu * buf[p] + g / (sqrt(v) + eps)
            theta[p] = theta[p] - lr * buf[p]
        else:
            theta[p] = theta[p] - lr * g / (sqrt(v) + eps)


cdef void _adam(floating* theta, const floating* grad, floating* state, Py_ssize_t n,
                const Optim* o, Py_ssize_t t, floating lr) noexcept nogil:
    """torch.optim.Adam / AdamW (``decoupled``) with AMSGrad (``flag``: the
    running maximum of v divided by the step's bias correction, as torch
    computes it), or
    scikit-learn's form (VARIANT_SKLEARN: lr sqrt(1 - b2^t) / (1 - b1^t) as
    the step size, eps added to sqrt(v))."""
    cdef Py_ssize_t p
    cdef floating* m1 = state
    cdef floating* m2 = state + n
    cdef floating* vmax = state + 2 * n
    cdef floating b1 = o.beta1, b2 = o.beta2, eps = o.eps, wd = o.weight_decay
    cdef floating bc1 = 1 - pow(o.beta1, <double>t), bc2 = 1 - pow(o.beta2, <double>t)
    cdef floating g, mhat, vhat
    cdef floating step = lr * sqrt(bc2) / bc1  # scikit-learn's step size
    for p in range(n):
        g = grad[p]
        if wd != 0:
            if o.decoupled:
                theta[p] = theta[p] - lr * wd * theta[p]
            else:
                g = g + wd * theta[p]
        m1[p] = b1 * m1[p] + (1 - b1) * g
        m2[p] = b2 * m2[p] + (1 - b2) * g * g
        if o.variant == VARIANT_SKLEARN:
            theta[p] = theta[p] - step * m1[p] / (sqrt(m2[p]) + eps)
            continue
        mhat = m1[p] / bc1
        if o.flag:  # AMSGrad as torch computes it: the running maximum of v, then corrected
            if m2[p] > vmax[p]:
                vmax[p] = m2[p]
            vhat = vmax[p] / bc2
        else:
            vhat = m2[p] / bc2
        theta[p] = theta[p] - lr * mhat / (sqrt(vhat) + eps)


cdef void _adagrad(floating* theta, const floating* grad, floating* acc, Py_ssize_t n,
                   const Optim* o, Py_ssize_t t, floating lr) noexcept nogil:
    """torch.optim.Adagrad: lr / (1 + (t - 1) lr_decay), accumulated squares."""
    cdef Py_ssize_t p
    cdef floating g, eps = o.eps, wd = o.weight_decay
    cdef floating clr = lr / (1 + (t - 1) * o.lr_decay)
    for p in range(n):
        g = grad[p] + wd * theta[p]
        acc[p] = acc[p] + g * g
        theta[p] = theta[p] - clr * g / (sqrt(acc[p]) + eps)


cdef floating _update(floating* theta, floating* grad, floating* state, Py_ssize_t n,
                      const Optim* o, Py_ssize_t t, const Py_ssize_t* layout, Py_ssize_t L,
                      floating inv_m) noexcept nogil:
    """Step t (1 for the first) of the parameters ``theta`` from the data
    loss's gradient ``grad`` (overwritten): L2 penalty, clipping, schedule,
    optimizer.  Returns the L2 penalty of ``theta`` before the step, times m
    (added to the recorded loss sum)."""
    cdef floating penalty = 0
    if o.plain:
        _gradient_step(theta, grad, <floating>o.lr, n)
        return 0
    if o.l2 != 0:
        penalty = _l2_penalty(theta, grad, layout, L, <floating>o.l2, inv_m)
    if o.clip > 0:
        _clip_norm(grad, n, <floating>o.clip)
    cdef floating lr = <floating>_scheduled_lr(o, t)
    if o.kind == OPT_SGD:
        _sgd(theta, grad, state, n, o, t, lr)
    elif o.kind == OPT_RMSPROP:
        _rmsprop(theta, grad, state, n, o, lr)
    elif o.kind == OPT_ADAM:
        _adam(theta, grad, state, n, o, t, lr)
    else:
        _adagrad(theta, grad, state, n, o, t, lr)
    return penalty
