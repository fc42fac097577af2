# Compiled kernels of fastinit, included by ``_kernels_baseline.pyx`` (built for
# the baseline instruction set of the platform) and ``_kernels_avx2.pyx`` (built
# with AVX2 and FMA); ``fastinit._simd`` imports the best one this CPU runs.
# Private: call them through ``fastinit.layers``, ``fastinit.network`` and
# ``fastinit.training``, which validate every input.
#
#
# The module is organised in the three tiers of ``STYLE.md``:
#
# 1. scalar helpers (``cdef inline ... noexcept nogil``);
# 2. block routines over raw pointers with explicit leading dimensions, shared by
#    the per-layer kernels and by the fused training loop, so both perform the
#    very same floating-point operations in the very same order;
# 3. ``def`` kernels over typed memoryviews that release the GIL and write into
#    buffers allocated by the Python layer.  They trust their inputs: shapes,
#    contiguity, finiteness and label values are checked before they are called.
#
# Data are column-per-example: a layer's activations have shape
# ``(n_units, n_examples)`` and the example index is the innermost, contiguous
# one, so every inner loop below runs over examples and vectorises.
#
# Weight gradients are reductions over examples.  Instead of a horizontal sum
# (which a compiler may only vectorise by reordering it, i.e. with
# ``-ffast-math``), each parameter owns ``BLOCK`` *lane* accumulators: the
# example at position ``i`` of a block adds into lane ``i``.  Lanes are summed in
# a fixed order at the end.  Every sum in this file is written out in a fixed
# order and the build disables FMA contraction, so results are deterministic and
# bit-identical between the baseline and the AVX2 builds.
from cython cimport floating
from libc.math cimport fabs, fabsf, log, log1p, log1pf, logf
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset

# Number of examples processed together; also the number of lane accumulators
# per parameter.  32 doubles = 256 bytes per activation row keeps the working
# set of the seed's network in L1.
cdef enum:
    BLOCK = 32

BLOCK_SIZE = BLOCK


# ---------------------------------------------------------------------------
# Tier 1: scalar helpers
# ---------------------------------------------------------------------------

cdef inline double _exp64(double x) noexcept nogil:
    """exp(x) within 2 ulp, written so that loops calling it vectorise (libm's
    exp is an opaque call).  Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2,
    a degree-13 Taylor polynomial for e^r (truncation error < 1e-17), and 2^n
    built in the exponent bits.  x is clamped to [-708, 709]: the result stays
    finite and normal, which a sigmoid 1 / (1 + exp(-z)) turns into the same
    value as an exact exp wherever that value is representable."""
    cdef double t, n, r, p, scale
    cdef uint64_t bits
    x = -708.0 if x < -708.0 else (709.0 if x > 709.0 else x)
    t = x * 1.4426950408889634 + 6755399441055744.0  # 1.5 * 2**52: rounds to an integer
    n = t - 6755399441055744.0
    r = (x - n * 0.693145751953125) - n * 1.42860682030941723212e-6
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    memcpy(&bits, &t, sizeof(bits))  # the low bits of t hold n
    bits = (bits + 1023) << 52
    memcpy(&scale, &bits, sizeof(scale))
    return p * scale


cdef inline float _exp32(float x) noexcept nogil:
    """expf(x) within 2 ulp; as :func:`_exp64` with a degree-7 polynomial and x
    clamped to [-87, 88]."""
    cdef float t, n, r, p, scale
    cdef uint32_t bits
    x = <float>-87.0 if x < -87.0 else (<float>88.0 if x > 88.0 else x)
    t = x * <float>1.44269504 + <float>12582912.0  # 1.5 * 2**23
    n = t - <float>12582912.0
    r = (x - n * <float>0.693359375) - n * <float>-2.12194440e-4
    p = <float>(1.0 / 5040.0)
    p = p * r + <float>(1.0 / 720.0)
    p = p * r + <float>(1.0 / 120.0)
    p = p * r + <float>(1.0 / 24.0)
    p = p * r + <float>(1.0 / 6.0)
    p = p * r + <float>0.5
    p = p * r + <float>1.0
    p = p * r + <float>1.0
    memcpy(&bits, &t, sizeof(bits))
    bits = (bits + 127) << 23
    memcpy(&scale, &bits, sizeof(scale))
    return p * scale


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return _exp32(x)
    else:
        return _exp64(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating _abs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating _relu(floating z) noexcept nogil:
    return z if z > 0 else 0


cdef inline floating _sigmoid(floating z) noexcept nogil:
    return 1 / (1 + _exp(-z))


cdef inline floating _bce_from_logit(floating z, floating y) noexcept nogil:
    """-[y log s(z) + (1-y) log(1-s(z))] = log(1 + e^z) - y z, written so that
    no intermediate overflows: max(z, 0) - y z + log1p(e^-|z|)."""
    return (z if z > 0 else 0) - y * z + _log1p(_exp(-_abs(z)))


cdef inline floating _bce_from_prob(floating a, floating y) noexcept nogil:
    """Cross-entropy of a probability ``a`` for a 0/1 label ``y``: only the term
    of the true class is evaluated, so ``a == 1`` with ``y == 1`` costs 0 (the
    seed's ``nansum`` gives the same) and ``a == 1`` with ``y == 0`` costs inf."""
    return -_log(a) if y != 0 else -_log(1 - a)


# ---------------------------------------------------------------------------
# Tier 2: block routines (pointers + leading dimensions, ``nb`` examples)
# ---------------------------------------------------------------------------

cdef inline void _weighted_row_sum(
        floating* z,                            # OUT (nb,)
        const floating* w, Py_ssize_t w_stride, # IN  n weights, w[k * w_stride]
        const floating* A, Py_ssize_t lda,      # IN  (n, nb) rows
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """z = sum_k w_k A[k], added strictly in k order.  Four rows are folded in
    per pass over ``z`` (``((z + w0 a0) + w1 a1) + ...``, the same order as one
    row at a time), which quarters the loads and stores of ``z``."""
    cdef Py_ssize_t k, i
    cdef floating w0, w1, w2, w3
    cdef const floating* a0
    cdef const floating* a1
    cdef const floating* a2
    cdef const floating* a3
    w0 = w[0]
    for i in range(nb):
        z[i] = w0 * A[i]
    k = 1
    while k + 4 <= n:
        w0 = w[k * w_stride]
        w1 = w[(k + 1) * w_stride]
        w2 = w[(k + 2) * w_stride]
        w3 = w[(k + 3) * w_stride]
        a0 = A + k * lda
        a1 = a0 + lda
        a2 = a1 + lda
        a3 = a2 + lda
        for i in range(nb):
            z[i] = (((z[i] + w0 * a0[i]) + w1 * a1[i]) + w2 * a2[i]) + w3 * a3[i]
        k = k + 4
    while k < n:
        w0 = w[k * w_stride]
        a0 = A + k * lda
        for i in range(nb):
            z[i] = z[i] + w0 * a0[i]
        k = k + 1


cdef inline void _linear_forward_block(
        const floating* W, const floating* b, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nb), row stride lda
        floating* Z, Py_ssize_t ldz,            # OUT (n_out, nb), row stride ldz
        Py_ssize_t nb, bint relu) noexcept nogil:
    """Z = W A + b, then ReLU when ``relu``.  Sums run over the inputs in index
    order and add the bias last, as NumPy evaluates ``np.dot(W, A) + b``."""
    cdef Py_ssize_t j, i
    cdef floating bj, v
    cdef floating* z
    for j in range(n_out):
        z = Z + j * ldz
        _weighted_row_sum(z, W + j * n_in, 1, A, lda, n_in, nb)
        bj = b[j]
        if relu:
            for i in range(nb):
                v = z[i] + bj
                z[i] = v if v > 0 else 0
        else:
            for i in range(nb):
                z[i] = z[i] + bj


cdef inline void _relu_block(
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb)
        floating* A, Py_ssize_t lda,            # OUT (n, nb); may alias Z
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t j, i
    cdef const floating* z
    cdef floating* a
    for j in range(n):
        z = Z + j * ldz
        a = A + j * lda
        for i in range(nb):
            a[i] = _relu(z[i])


cdef inline void _relu_backward_block(
        const floating* dA, Py_ssize_t ldda,    # IN  (n, nb) gradient w.r.t. the activation
        const floating* A, Py_ssize_t lda,      # IN  (n, nb) the activation relu(Z)
        floating* dZ, Py_ssize_t lddz,          # OUT (n, nb); may alias dA
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """dZ = dA where A > 0, else 0 (the derivative of relu at 0 is taken as 0)."""
    cdef Py_ssize_t j, i
    cdef const floating* da
    cdef const floating* a
    cdef floating* dz
    for j in range(n):
        da = dA + j * ldda
        a = A + j * lda
        dz = dZ + j * lddz
        for i in range(nb):
            dz[i] = da[i] if a[i] > 0 else 0


cdef inline void _sigmoid_output_gradient_block(
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb) output logits
        const floating* Y, Py_ssize_t ldy,      # IN  (n, nb) 0/1 labels
        floating inv_m,
        floating* dZ, Py_ssize_t lddz,          # OUT (n, nb)
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """dZ = (1/m) (sigmoid(Z) - Y): the gradient of the mean cross-entropy."""
    cdef Py_ssize_t j, i
    cdef const floating* z
    cdef const floating* y
    cdef floating* dz
    for j in range(n):
        z = Z + j * ldz
        y = Y + j * ldy
        dz = dZ + j * lddz
        for i in range(nb):
            dz[i] = inv_m * (_sigmoid(z[i]) - y[i])


cdef inline floating _bce_from_logits_block(
        const floating* Z, Py_ssize_t ldz, const floating* Y, Py_ssize_t ldy,
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Sum (not mean) of the cross-entropy over a block, in example order."""
    cdef Py_ssize_t j, i
    cdef floating total = 0
    for j in range(n):
        for i in range(nb):
            total = total + _bce_from_logit(Z[j * ldz + i], Y[j * ldy + i])
    return total


cdef inline void _accumulate_lanes(
        floating* lanes,                        # IN/OUT (n, BLOCK): lanes[k] += dz * A[k]
        const floating* dz,                     # IN  (nb,)
        const floating* A, Py_ssize_t lda,      # IN  (n, nb)
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Per-lane products for n weight gradients at once, four per pass so each
    ``dz`` value is loaded once for four parameters."""
    cdef Py_ssize_t k = 0, i
    cdef floating* l0
    cdef floating* l1
    cdef floating* l2
    cdef floating* l3
    cdef const floating* a0
    cdef const floating* a1
    cdef const floating* a2
    cdef const floating* a3
    while k + 4 <= n:
        l0 = lanes + k * BLOCK
        l1 = l0 + BLOCK
        l2 = l1 + BLOCK
        l3 = l2 + BLOCK
        a0 = A + k * lda
        a1 = a0 + lda
        a2 = a1 + lda
        a3 = a2 + lda
        for i in range(nb):
            l0[i] = l0[i] + dz[i] * a0[i]
            l1[i] = l1[i] + dz[i] * a1[i]
            l2[i] = l2[i] + dz[i] * a2[i]
            l3[i] = l3[i] + dz[i] * a3[i]
        k = k + 4
    while k < n:
        l0 = lanes + k * BLOCK
        a0 = A + k * lda
        for i in range(nb):
            l0[i] = l0[i] + dz[i] * a0[i]
        k = k + 1


cdef inline void _linear_backward_block(
        const floating* W, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* dZ, Py_ssize_t lddz,    # IN  (n_out, nb)
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nb) the layer's input
        floating* dW_lanes,                     # IN/OUT (n_out * n_in, BLOCK) lane sums
        floating* db_lanes,                     # IN/OUT (n_out, BLOCK) lane sums
        floating* dA, Py_ssize_t ldda,          # OUT (n_in, nb) = W^T dZ, skipped if NULL
        bint relu_mask,                         # zero dA where A <= 0 (ReLU backward)
        Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t j, k, i
    cdef const floating* dz
    cdef const floating* a
    cdef floating* acc
    cdef floating* da
    for j in range(n_out):
        dz = dZ + j * lddz
        acc = db_lanes + j * BLOCK
        for i in range(nb):
            acc[i] = acc[i] + dz[i]
        _accumulate_lanes(dW_lanes + j * n_in * BLOCK, dz, A, lda, n_in, nb)
    if dA == NULL:
        return
    for k in range(n_in):
        da = dA + k * ldda
        _weighted_row_sum(da, W + k, n_in, dZ, lddz, n_out, nb)
        if relu_mask:
            a = A + k * lda
            for i in range(nb):
                da[i] = da[i] if a[i] > 0 else 0


cdef inline void _reduce_lanes(const floating* lanes, Py_ssize_t n,
                               floating* out) noexcept nogil:
    """out[p] = sum of the BLOCK lanes of parameter p, in lane order."""
    cdef Py_ssize_t p, i
    cdef floating total
    for p in range(n):
        total = 0
        for i in range(BLOCK):
            total = total + lanes[p * BLOCK + i]
        out[p] = total


cdef inline void _gradient_step(floating* theta, const floating* grad,
                                floating learning_rate, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t p
    for p in range(n):
        theta[p] = theta[p] - learning_rate * grad[p]


# ---------------------------------------------------------------------------
# Tier 2 entry points: per-layer kernels over whole arrays
# ---------------------------------------------------------------------------

def linear_forward(const floating[:, ::1] W,    # IN  (n_out, n_in)
                   const floating[::1] b,       # IN  (n_out,)
                   const floating[:, ::1] A,    # IN  (n_in, m)
                   floating[:, ::1] Z):         # OUT (n_out, m)
    """Z = W A + b."""
    cdef Py_ssize_t m = A.shape[1]
    with nogil:
        _linear_forward_block(&W[0, 0], &b[0], W.shape[0], W.shape[1],
                              &A[0, 0], m, &Z[0, 0], m, m, False)


def relu_forward(const floating[:, ::1] Z,      # IN  (n, m)
                 floating[:, ::1] A):           # OUT (n, m)
    """A = max(Z, 0)."""
    with nogil:
        _relu_block(&Z[0, 0], Z.shape[1], &A[0, 0], A.shape[1],
                    Z.shape[0], Z.shape[1])


def relu_backward(const floating[:, ::1] dA,    # IN  (n, m)
                  const floating[:, ::1] A,     # IN  (n, m) relu output
                  floating[:, ::1] dZ):         # OUT (n, m)
    """dZ = dA * (A > 0)."""
    with nogil:
        _relu_backward_block(&dA[0, 0], dA.shape[1], &A[0, 0], A.shape[1],
                             &dZ[0, 0], dZ.shape[1], dA.shape[0], dA.shape[1])


def sigmoid_forward(const floating[:, ::1] Z,   # IN  (n, m)
                    floating[:, ::1] A):        # OUT (n, m)
    """A = 1 / (1 + exp(-Z))."""
    cdef Py_ssize_t j, i
    with nogil:
        for j in range(Z.shape[0]):
            for i in range(Z.shape[1]):
                A[j, i] = _sigmoid(Z[j, i])


def sigmoid_backward(const floating[:, ::1] dA,  # IN  (n, m)
                     const floating[:, ::1] A,   # IN  (n, m) sigmoid output
                     floating[:, ::1] dZ):       # OUT (n, m)
    """dZ = dA * A * (1 - A)."""
    cdef Py_ssize_t j, i
    with nogil:
        for j in range(dA.shape[0]):
            for i in range(dA.shape[1]):
                dZ[j, i] = dA[j, i] * (A[j, i] * (1 - A[j, i]))


def output_gradient(const floating[:, ::1] AL,   # IN  (n, m) sigmoid output
                    const floating[:, ::1] Y,    # IN  (n, m) labels
                    floating[:, ::1] dZ):        # OUT (n, m)
    """dZ = (1/m) (AL - Y): gradient of the mean cross-entropy w.r.t. the logits."""
    cdef Py_ssize_t j, i
    cdef floating inv_m = 1.0 / AL.shape[1]
    with nogil:
        for j in range(AL.shape[0]):
            for i in range(AL.shape[1]):
                dZ[j, i] = inv_m * (AL[j, i] - Y[j, i])


def linear_backward(const floating[:, ::1] W,    # IN  (n_out, n_in)
                    const floating[:, ::1] dZ,   # IN  (n_out, m)
                    const floating[:, ::1] A,    # IN  (n_in, m) the layer's input
                    floating[:, ::1] dW,         # OUT (n_out, n_in) = dZ A^T
                    floating[::1] db,            # OUT (n_out,) = dZ summed over examples
                    floating[:, ::1] dA,         # OUT (n_in, m) = W^T dZ
                    floating[::1] lanes):        # WORK ((n_out * n_in + n_out) * BLOCK,)
    """Gradients of a linear layer, accumulated in lanes (see module doc)."""
    cdef Py_ssize_t n_out = W.shape[0], n_in = W.shape[1], m = dZ.shape[1]
    cdef Py_ssize_t blk, start, nb, n_w = n_out * n_in
    with nogil:
        memset(&lanes[0], 0, lanes.shape[0] * sizeof(floating))
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            nb = min(<Py_ssize_t>BLOCK, m - start)
            _linear_backward_block(&W[0, 0], n_out, n_in, &dZ[0, start], m,
                                   &A[0, start], m, &lanes[0], &lanes[n_w * BLOCK],
                                   &dA[0, start], m, False, nb)
        _reduce_lanes(&lanes[0], n_w, &dW[0, 0])
        _reduce_lanes(&lanes[n_w * BLOCK], n_out, &db[0])


def binary_cross_entropy(const floating[:, ::1] AL,  # IN (n, m) probabilities
                         const floating[:, ::1] Y):  # IN (n, m) 0/1 labels
    """Mean cross-entropy of probabilities (inf where a wrong label has p = 0)."""
    cdef Py_ssize_t j, i
    cdef floating total = 0
    with nogil:
        for j in range(AL.shape[0]):
            for i in range(AL.shape[1]):
                total = total + _bce_from_prob(AL[j, i], Y[j, i])
    return (1.0 / AL.shape[1]) * total


def binary_cross_entropy_from_logits(const floating[:, ::1] ZL,  # IN (n, m) logits
                                     const floating[:, ::1] Y):  # IN (n, m) 0/1 labels
    """Mean cross-entropy computed from the logits: finite for any finite ZL."""
    cdef floating total
    with nogil:
        total = _bce_from_logits_block(&ZL[0, 0], ZL.shape[1], &Y[0, 0], Y.shape[1],
                                       ZL.shape[0], ZL.shape[1])
    return (1.0 / ZL.shape[1]) * total


def gradient_step(floating[::1] theta,           # IN/OUT (n,)
                  const floating[::1] grad,      # IN (n,)
                  floating learning_rate):
    """theta -= learning_rate * grad, in place."""
    with nogil:
        _gradient_step(&theta[0], &grad[0], learning_rate, theta.shape[0])


# ---------------------------------------------------------------------------
# Tier 2 entry point: the fused full-batch training loop
# ---------------------------------------------------------------------------

def train_full_batch(
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[:, ::1] Y,              # IN  (n_L, m) 0/1 labels
        floating[::1] theta,                   # IN/OUT all parameters, flat
        const Py_ssize_t[:, ::1] layout,       # IN  (L, 5): n_in, n_out, W offset, b offset, act offset
        floating learning_rate,
        Py_ssize_t n_iter,
        bint record_first,
        floating[::1] grad,                    # WORK (P,)
        floating[::1] lanes,                   # WORK (P * BLOCK,)
        floating[::1] acts,                    # WORK (sum of widths * BLOCK,)
        floating[::1] deltas):                 # WORK (2 * max width * BLOCK,)
    """Run ``n_iter`` iterations of full-batch gradient descent in place.

    Layers ``0 .. L-2`` are LINEAR->RELU, layer ``L-1`` is LINEAR->SIGMOID.
    Returns the mean cross-entropy (from the logits) of the parameters as they
    were before the first iteration when ``record_first`` is true, else NaN.
    """
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef Py_ssize_t it, blk, start, nb, l, n_in, n_out, lda
    cdef floating inv_m = 1.0 / m
    cdef floating loss_sum = 0
    cdef const floating* A_in
    cdef floating* Z
    cdef floating* delta
    cdef floating* delta_prev
    cdef floating* swap
    cdef Py_ssize_t half = deltas.shape[0] // 2
    with nogil:
        for it in range(n_iter):
            memset(&lanes[0], 0, lanes.shape[0] * sizeof(floating))
            for blk in range((m + BLOCK - 1) // BLOCK):
                start = blk * BLOCK
                nb = min(<Py_ssize_t>BLOCK, m - start)
                # forward: hidden layers LINEAR->RELU (in place), output LINEAR
                A_in = &X[0, start]
                lda = m
                for l in range(L):
                    n_in = layout[l, 0]
                    n_out = layout[l, 1]
                    Z = &acts[layout[l, 4]]
                    _linear_forward_block(&theta[layout[l, 2]], &theta[layout[l, 3]],
                                          n_out, n_in, A_in, lda, Z, BLOCK, nb, l < L - 1)
                    A_in = Z
                    lda = BLOCK
                # output layer: loss (only when recorded) and dZ = (sigmoid(Z) - Y) / m
                n_out = layout[L - 1, 1]
                Z = &acts[layout[L - 1, 4]]
                if record_first and it == 0:
                    loss_sum = loss_sum + _bce_from_logits_block(
                        Z, BLOCK, &Y[0, start], m, n_out, nb)
                delta = &deltas[0]
                delta_prev = &deltas[half]
                _sigmoid_output_gradient_block(Z, BLOCK, &Y[0, start], m, inv_m,
                                               delta, BLOCK, n_out, nb)
                # backward, from the output layer down to the first
                for l in range(L - 1, -1, -1):
                    n_in = layout[l, 0]
                    n_out = layout[l, 1]
                    if l == 0:
                        _linear_backward_block(&theta[layout[l, 2]], n_out, n_in,
                                               delta, BLOCK, &X[0, start], m,
                                               &lanes[layout[l, 2] * BLOCK],
                                               &lanes[layout[l, 3] * BLOCK],
                                               NULL, 0, False, nb)
                    else:
                        A_in = &acts[layout[l - 1, 4]]
                        _linear_backward_block(&theta[layout[l, 2]], n_out, n_in,
                                               delta, BLOCK, A_in, BLOCK,
                                               &lanes[layout[l, 2] * BLOCK],
                                               &lanes[layout[l, 3] * BLOCK],
                                               delta_prev, BLOCK, True, nb)
                        swap = delta
                        delta = delta_prev
                        delta_prev = swap
            _reduce_lanes(&lanes[0], n_params, &grad[0])
            _gradient_step(&theta[0], &grad[0], learning_rate, n_params)
    if record_first and n_iter > 0:
        return inv_m * loss_sum
    return float("nan")
