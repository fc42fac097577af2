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
from libc.math cimport NAN, fabs, fabsf, log, log1p, log1pf, logf, tanh, tanhf
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset

from cython.parallel cimport prange, threadid

# LANES: lane accumulators per parameter.  BLOCK: examples processed together,
# SUB = BLOCK / LANES sub-blocks of LANES examples.  Example ``i`` of a block
# adds into lane ``i % LANES``, sub-block after sub-block, which is the very
# order of blocks of LANES examples taken one after the other; updating the
# lanes once per block for all SUB sub-blocks (instead of once per sub-block)
# divides their loads and stores by SUB without changing a bit.  A row of 128
# doubles is 1 KiB: the activations of the seed's network stay in L1.
cdef enum:
    LANES = 32
    SUB = 4
    BLOCK = 128

# Hidden-layer activations (the output layer is sigmoid or softmax).
cdef enum:
    LINEAR = 0
    RELU = 1
    LEAKY_RELU = 2
    TANH = 3
    SIGMOID = 4

ACTIVATION_CODES = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY_RELU,
                    "tanh": TANH, "sigmoid": SIGMOID}

BLOCK_SIZE = BLOCK
LANE_COUNT = LANES


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


cdef inline floating _sigmoid(floating z) noexcept nogil:
    return 1 / (1 + _exp(-z))


cdef inline floating _tanh(floating z) noexcept nogil:
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)


cdef inline floating _max(floating a, floating b) noexcept nogil:
    return a if a > b else b


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

# What the last pass of a weighted row sum does with each sum v before storing it
# (fused into that pass, so ReLU layers need no pass of their own):
cdef enum:
    EPI_NONE = 0    # v
    EPI_BIAS = 1    # v + bias (a linear layer)
    EPI_RELU = 2    # relu(v + bias), as _activate_row computes it
    EPI_MASK = 3    # v if mask > 0 else 0: ReLU's backward, mask = the ReLU's output


cdef inline floating _epilogue(floating v, int epi, floating bias, const floating* mask,
                               Py_ssize_t i) noexcept nogil:
    if epi == EPI_BIAS:
        return v + bias
    if epi == EPI_RELU:
        v = v + bias
        return v if v > 0 else 0
    if epi == EPI_MASK:
        return v if mask[i] > 0 else 0
    return v


cdef inline void _rows_pass(
        floating* z,                            # IN/OUT (nb,)
        const floating* w, Py_ssize_t w_stride, # IN  c weights, w[k * w_stride]
        const floating* A, Py_ssize_t lda,      # IN  (c, nb) rows
        Py_ssize_t c, bint first,               # 1 <= c <= 4 rows; first: z starts as w0 A[0]
        int epi, floating bias, const floating* mask, Py_ssize_t nb) noexcept nogil:
    """One pass over ``z`` folding in ``c`` rows, added left to right
    (``((z + w0 a0) + w1 a1) + ...``, or ``(w0 a0 + w1 a1) + ...`` for the
    first pass), then the epilogue ``epi``.  One loop per row count, so that
    each vectorises with its weights in registers."""
    cdef Py_ssize_t i
    cdef floating w0 = w[0], w1 = 0, w2 = 0, w3 = 0
    cdef const floating* a0 = A
    cdef const floating* a1 = A
    cdef const floating* a2 = A
    cdef const floating* a3 = A
    if c > 1:
        w1 = w[w_stride]
        a1 = A + lda
    if c > 2:
        w2 = w[2 * w_stride]
        a2 = A + 2 * lda
    if c > 3:
        w3 = w[3 * w_stride]
        a3 = A + 3 * lda
    if first:
        if c == 1:
            for i in range(nb):
                z[i] = _epilogue(w0 * a0[i], epi, bias, mask, i)
        elif c == 2:
            for i in range(nb):
                z[i] = _epilogue(w0 * a0[i] + w1 * a1[i], epi, bias, mask, i)
        elif c == 3:
            for i in range(nb):
                z[i] = _epilogue((w0 * a0[i] + w1 * a1[i]) + w2 * a2[i], epi, bias, mask, i)
        else:
            for i in range(nb):
                z[i] = _epilogue(((w0 * a0[i] + w1 * a1[i]) + w2 * a2[i]) + w3 * a3[i],
                                 epi, bias, mask, i)
    else:
        if c == 1:
            for i in range(nb):
                z[i] = _epilogue(z[i] + w0 * a0[i], epi, bias, mask, i)
        elif c == 2:
            for i in range(nb):
                z[i] = _epilogue((z[i] + w0 * a0[i]) + w1 * a1[i], epi, bias, mask, i)
        elif c == 3:
            for i in range(nb):
                z[i] = _epilogue(((z[i] + w0 * a0[i]) + w1 * a1[i]) + w2 * a2[i],
                                 epi, bias, mask, i)
        else:
            for i in range(nb):
                z[i] = _epilogue((((z[i] + w0 * a0[i]) + w1 * a1[i]) + w2 * a2[i]) + w3 * a3[i],
                                 epi, bias, mask, i)


cdef inline void _weighted_row_sum(
        floating* z,                            # OUT (nb,)
        const floating* w, Py_ssize_t w_stride, # IN  n weights, w[k * w_stride]
        const floating* A, Py_ssize_t lda,      # IN  (n, nb) rows
        Py_ssize_t n, Py_ssize_t nb,            # n >= 1
        int epi, floating bias, const floating* mask) noexcept nogil:
    """z = epilogue(sum_k w_k A[k]), added strictly in k order, four rows per
    pass over ``z`` (which quarters its loads and stores); the last pass
    applies the epilogue (see EPI_*).  Callers pass ``epi`` as a constant, so
    the compiler specialises the inlined passes."""
    cdef Py_ssize_t k = 0
    while n - k > 4:
        _rows_pass(z, w + k * w_stride, w_stride, A + k * lda, lda, 4, k == 0,
                   EPI_NONE, 0, mask, nb)
        k = k + 4
    _rows_pass(z, w + k * w_stride, w_stride, A + k * lda, lda, n - k, k == 0,
               epi, bias, mask, nb)


cdef inline void _activate_row(
        floating* z, floating bias,             # IN/OUT (nb,): z = f(z + bias)
        int act, floating slope, Py_ssize_t nb) noexcept nogil:
    """Bias and activation in one pass; one loop per activation so that each
    vectorises on its own."""
    cdef Py_ssize_t i
    cdef floating v
    if act == RELU:
        for i in range(nb):
            v = z[i] + bias
            z[i] = v if v > 0 else 0
    elif act == LEAKY_RELU:
        for i in range(nb):
            v = z[i] + bias
            z[i] = v if v > 0 else slope * v
    elif act == TANH:
        for i in range(nb):
            z[i] = _tanh(z[i] + bias)
    elif act == SIGMOID:
        for i in range(nb):
            z[i] = _sigmoid(z[i] + bias)
    else:
        for i in range(nb):
            z[i] = z[i] + bias


cdef inline void _activation_backward_row(
        const floating* da,                     # IN  (nb,) gradient w.r.t. the activation
        const floating* a,                      # IN  (nb,) the activation f(z)
        floating* dz,                           # OUT (nb,); may alias da
        int act, floating slope, Py_ssize_t nb) noexcept nogil:
    """dz = da * f'(z), with f' written in terms of a = f(z): relu 1[a > 0]
    (0 at the kink), leaky_relu 1 or slope, tanh 1 - a², sigmoid a (1 - a)."""
    cdef Py_ssize_t i
    if act == RELU:
        for i in range(nb):
            dz[i] = da[i] if a[i] > 0 else 0
    elif act == LEAKY_RELU:
        for i in range(nb):
            dz[i] = da[i] if a[i] > 0 else slope * da[i]
    elif act == TANH:
        for i in range(nb):
            dz[i] = da[i] * (1 - a[i] * a[i])
    elif act == SIGMOID:
        for i in range(nb):
            dz[i] = da[i] * (a[i] * (1 - a[i]))
    else:
        for i in range(nb):
            dz[i] = da[i]


cdef inline void _linear_forward_block(
        const floating* W, const floating* b, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nb), row stride lda
        floating* Z, Py_ssize_t ldz,            # OUT (n_out, nb), row stride ldz
        Py_ssize_t nb, int act, floating slope) noexcept nogil:
    """Z = f(W A + b) for the activation code ``act`` (LINEAR: no activation).
    Sums run over the inputs in index order and add the bias last, as NumPy
    evaluates ``np.dot(W, A) + b``."""
    cdef Py_ssize_t j
    cdef floating* z
    for j in range(n_out):
        z = Z + j * ldz
        if act == RELU:
            _weighted_row_sum(z, W + j * n_in, 1, A, lda, n_in, nb, EPI_RELU, b[j], NULL)
        elif act == LINEAR:
            _weighted_row_sum(z, W + j * n_in, 1, A, lda, n_in, nb, EPI_BIAS, b[j], NULL)
        else:
            _weighted_row_sum(z, W + j * n_in, 1, A, lda, n_in, nb, EPI_NONE, 0, NULL)
            _activate_row(z, b[j], act, slope, nb)


cdef inline void _softmax_block(
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb) logits
        floating* P, Py_ssize_t ldp,            # OUT (n, nb) probabilities, per column
        Py_ssize_t n, Py_ssize_t nb,
        floating* work) noexcept nogil:         # WORK (2 * BLOCK,), nb <= BLOCK
    """Column-wise softmax, shifted by the column maximum so no exp overflows."""
    cdef Py_ssize_t j, i
    cdef floating* zmax = work
    cdef floating* total = work + BLOCK
    for i in range(nb):
        zmax[i] = Z[i]
        total[i] = 0
    for j in range(1, n):
        for i in range(nb):
            zmax[i] = _max(zmax[i], Z[j * ldz + i])
    for j in range(n):
        for i in range(nb):
            P[j * ldp + i] = _exp(Z[j * ldz + i] - zmax[i])
            total[i] = total[i] + P[j * ldp + i]
    for j in range(n):
        for i in range(nb):
            P[j * ldp + i] = P[j * ldp + i] / total[i]


cdef inline floating _cce_from_logits_block(
        const floating* Z, Py_ssize_t ldz, const floating* Y, Py_ssize_t ldy,
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Sum over a block of the categorical cross-entropy of softmax(Z) for
    one-hot Y: log sum_j e^(z_j - max) + max - sum_j y_j z_j, per column."""
    cdef Py_ssize_t j, i
    cdef floating zmax, total, dot, loss = 0
    for i in range(nb):
        zmax = Z[i]
        for j in range(1, n):
            zmax = _max(zmax, Z[j * ldz + i])
        total = 0
        dot = 0
        for j in range(n):
            total = total + _exp(Z[j * ldz + i] - zmax)
            dot = dot + Y[j * ldy + i] * Z[j * ldz + i]
        loss = loss + ((_log(total) + zmax) - dot)
    return loss


cdef inline void _output_gradient_block(
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb) output logits
        const floating* Y, Py_ssize_t ldy,      # IN  (n, nb) 0/1 labels, one-hot for softmax
        floating inv_m, bint softmax,
        floating* dZ, Py_ssize_t lddz,          # OUT (n, nb)
        Py_ssize_t n, Py_ssize_t nb,
        floating* work) noexcept nogil:         # WORK (2 * BLOCK,)
    """dZ = (1/m) (p - Y) with p = sigmoid(Z) (binary) or softmax(Z) (one-hot
    Y): the gradient of the mean cross-entropy with respect to the logits."""
    cdef Py_ssize_t j, i
    if softmax:
        _softmax_block(Z, ldz, dZ, lddz, n, nb, work)
        for j in range(n):
            for i in range(nb):
                dZ[j * lddz + i] = inv_m * (dZ[j * lddz + i] - Y[j * ldy + i])
    else:
        for j in range(n):
            for i in range(nb):
                dZ[j * lddz + i] = inv_m * (_sigmoid(Z[j * ldz + i]) - Y[j * ldy + i])


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


cdef inline void _accumulate_lanes_sub(
        floating* lanes,                        # IN/OUT (n, LANES): lanes[k] += dz * A[k]
        const floating* dz,                     # IN  (ns,)
        const floating* A, Py_ssize_t lda,      # IN  (n, ns); A == NULL: A[k] = 1 (bias)
        Py_ssize_t n, Py_ssize_t ns) noexcept nogil:
    """One sub-block (ns <= LANES examples) into the lanes of n parameters."""
    cdef Py_ssize_t k, i
    cdef floating* l0
    cdef const floating* a0
    if A == NULL:
        for i in range(ns):
            lanes[i] = lanes[i] + dz[i]
        return
    for k in range(n):
        l0 = lanes + k * LANES
        a0 = A + k * lda
        for i in range(ns):
            l0[i] = l0[i] + dz[i] * a0[i]


cdef inline void _accumulate_lanes(
        floating* lanes,                        # IN/OUT (n, LANES): lanes[k] += dz * A[k]
        const floating* dz,                     # IN  (nb,)
        const floating* A, Py_ssize_t lda,      # IN  (n, nb); A == NULL: A[k] = 1 (bias)
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Per-lane products of n weight gradients over a block: lane i receives
    examples i, i + LANES, i + 2 LANES, ... in that order.  A full block adds
    its SUB sub-blocks in one pass over the lanes; a partial one goes sub-block
    by sub-block (the same order, so the same bits)."""
    cdef Py_ssize_t k, i, s0
    cdef floating* l0
    cdef floating* l1
    cdef const floating* a0
    cdef const floating* a1
    if nb != BLOCK:
        s0 = 0
        while s0 < nb:
            _accumulate_lanes_sub(lanes, dz + s0, A + s0 if A != NULL else NULL, lda,
                                  n, min(<Py_ssize_t>LANES, nb - s0))
            s0 = s0 + LANES
        return
    if A == NULL:
        for i in range(LANES):
            lanes[i] = (((lanes[i] + dz[i]) + dz[i + LANES]) + dz[i + 2 * LANES]) + dz[i + 3 * LANES]
        return
    k = 0
    while k + 2 <= n:  # two parameters per pass: each dz value is loaded once for both
        l0 = lanes + k * LANES
        l1 = l0 + LANES
        a0 = A + k * lda
        a1 = a0 + lda
        for i in range(LANES):
            l0[i] = (((l0[i] + dz[i] * a0[i])
                      + dz[i + LANES] * a0[i + LANES])
                     + dz[i + 2 * LANES] * a0[i + 2 * LANES]) + dz[i + 3 * LANES] * a0[i + 3 * LANES]
            l1[i] = (((l1[i] + dz[i] * a1[i])
                      + dz[i + LANES] * a1[i + LANES])
                     + dz[i + 2 * LANES] * a1[i + 2 * LANES]) + dz[i + 3 * LANES] * a1[i + 3 * LANES]
        k = k + 2
    if k < n:
        l0 = lanes + k * LANES
        a0 = A + k * lda
        for i in range(LANES):
            l0[i] = (((l0[i] + dz[i] * a0[i])
                      + dz[i + LANES] * a0[i + LANES])
                     + dz[i + 2 * LANES] * a0[i + 2 * LANES]) + dz[i + 3 * LANES] * a0[i + 3 * LANES]


cdef inline void _linear_backward_block(
        const floating* W, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* dZ, Py_ssize_t lddz,    # IN  (n_out, nb)
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nb) the layer's input
        floating* dW_lanes,                     # IN/OUT (n_out * n_in, LANES) lane sums
        floating* db_lanes,                     # IN/OUT (n_out, LANES) lane sums
        floating* dA, Py_ssize_t ldda,          # OUT (n_in, nb) = W^T dZ, skipped if NULL
        int act, floating slope,                # then dA *= f'(A) for A's activation
        Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t j, k, i
    cdef const floating* dz
    cdef const floating* a
    cdef floating* acc
    cdef floating* da
    for j in range(n_out):
        dz = dZ + j * lddz
        _accumulate_lanes(db_lanes + j * LANES, dz, NULL, 0, 1, nb)
        _accumulate_lanes(dW_lanes + j * n_in * LANES, dz, A, lda, n_in, nb)
    if dA == NULL:
        return
    for k in range(n_in):
        da = dA + k * ldda
        if act == RELU:
            _weighted_row_sum(da, W + k, n_in, dZ, lddz, n_out, nb, EPI_MASK, 0, A + k * lda)
        else:
            _weighted_row_sum(da, W + k, n_in, dZ, lddz, n_out, nb, EPI_NONE, 0, NULL)
            if act != LINEAR:
                _activation_backward_row(da, A + k * lda, da, act, slope, nb)


cdef inline void _reduce_lanes(const floating* lanes, Py_ssize_t n,
                               floating* out) noexcept nogil:
    """out[p] = sum of the LANES lanes of parameter p, in lane order.  Four
    parameters at a time: four independent chains of additions keep the adder
    busy where one chain would wait for each previous sum."""
    cdef Py_ssize_t p = 0, i
    cdef floating t0, t1, t2, t3
    cdef const floating* l0
    while p + 4 <= n:
        l0 = lanes + p * LANES
        t0 = 0
        t1 = 0
        t2 = 0
        t3 = 0
        for i in range(LANES):
            t0 = t0 + l0[i]
            t1 = t1 + l0[LANES + i]
            t2 = t2 + l0[2 * LANES + i]
            t3 = t3 + l0[3 * LANES + i]
        out[p] = t0
        out[p + 1] = t1
        out[p + 2] = t2
        out[p + 3] = t3
        p = p + 4
    while p < n:
        t0 = 0
        for i in range(LANES):
            t0 = t0 + lanes[p * LANES + i]
        out[p] = t0
        p = p + 1


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
                              &A[0, 0], m, &Z[0, 0], m, m, LINEAR, 0)


def activation_forward(const floating[:, ::1] Z,   # IN  (n, m)
                       floating[:, ::1] A,         # OUT (n, m)
                       int act, floating slope):
    """A = f(Z) for the activation code ``act`` (see ACTIVATION_CODES)."""
    cdef Py_ssize_t j, i, m = Z.shape[1]
    with nogil:
        for j in range(Z.shape[0]):
            for i in range(m):
                A[j, i] = Z[j, i]
            _activate_row(&A[j, 0], 0, act, slope, m)


def activation_backward(const floating[:, ::1] dA,  # IN  (n, m)
                        const floating[:, ::1] A,   # IN  (n, m) the activation's output
                        floating[:, ::1] dZ,        # OUT (n, m)
                        int act, floating slope):
    """dZ = dA * f'(Z), with f' computed from A = f(Z)."""
    cdef Py_ssize_t j
    with nogil:
        for j in range(dA.shape[0]):
            _activation_backward_row(&dA[j, 0], &A[j, 0], &dZ[j, 0], act, slope, dA.shape[1])


def bias_activation(floating[:, ::1] Z,         # IN/OUT (n, m): Z = f(Z + b)
                    const floating[::1] b,        # IN  (n,)
                    int act, floating slope):
    """In place: add the bias to each row and apply the activation ``act``
    (the elementwise half of a layer whose product W A came from BLAS)."""
    cdef Py_ssize_t j
    with nogil:
        for j in range(Z.shape[0]):
            _activate_row(&Z[j, 0], b[j], act, slope, Z.shape[1])


def output_gradient_from_logits(const floating[:, ::1] Z,  # IN  (n, m) output logits
                                const floating[:, ::1] Y,  # IN  (n, m) labels (one-hot for softmax)
                                bint softmax,
                                floating[:, ::1] dZ):      # OUT (n, m)
    """dZ = (1/m) (p - Y), p = sigmoid(Z) or softmax(Z): as the fused loop."""
    cdef Py_ssize_t blk, start, m = Z.shape[1]
    cdef floating inv_m = 1.0 / m
    cdef floating work[2 * BLOCK]
    with nogil:
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            _output_gradient_block(&Z[0, start], m, &Y[0, start], m, inv_m, softmax,
                                   &dZ[0, start], m, Z.shape[0],
                                   min(<Py_ssize_t>BLOCK, m - start), work)


def softmax_forward(const floating[:, ::1] Z,      # IN  (k, m) logits
                    floating[:, ::1] P):           # OUT (k, m) column-wise softmax
    """P[:, i] = softmax(Z[:, i])."""
    cdef Py_ssize_t blk, start, m = Z.shape[1]
    cdef floating work[2 * BLOCK]
    with nogil:
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            _softmax_block(&Z[0, start], m, &P[0, start], m, Z.shape[0],
                           min(<Py_ssize_t>BLOCK, m - start), work)


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
                    floating[:, ::1] dA,         # OUT (n_in, m) = W^T dZ
                    floating[::1] lanes,         # WORK ((n_out * n_in + n_out) * LANES,)
                    floating[:, ::1] grads):     # OUT (n_chunks, n_out * n_in + n_out)
    """Gradients of a linear layer: row 0 of ``grads`` ends as [dW | db],
    accumulated in lanes chunk by chunk exactly as ``train_full_batch`` does
    (see module doc), so the two agree to the bit for any m."""
    cdef Py_ssize_t n_out = W.shape[0], n_in = W.shape[1], m = dZ.shape[1]
    cdef Py_ssize_t n_g = n_out * n_in + n_out, per_chunk, n_chunks
    per_chunk, n_chunks = chunking(m)
    if grads.shape[0] < n_chunks or grads.shape[1] != n_g or lanes.shape[0] != n_g * LANES:
        raise ValueError("linear_backward: work buffers do not match the problem")
    cdef Py_ssize_t c, blk, start, nb, p, n_w = n_out * n_in
    with nogil:
        for c in range(n_chunks):
            memset(&lanes[0], 0, lanes.shape[0] * sizeof(floating))
            for blk in range(c * per_chunk, min((c + 1) * per_chunk, (m + BLOCK - 1) // BLOCK)):
                start = blk * BLOCK
                nb = min(<Py_ssize_t>BLOCK, m - start)
                _linear_backward_block(&W[0, 0], n_out, n_in, &dZ[0, start], m,
                                       &A[0, start], m, &lanes[0], &lanes[n_w * LANES],
                                       &dA[0, start], m, LINEAR, 0, nb)
            _reduce_lanes(&lanes[0], n_g, &grads[c, 0])
            if c > 0:
                for p in range(n_g):
                    grads[0, p] = grads[0, p] + grads[c, p]


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


def categorical_cross_entropy(const floating[:, ::1] AL,  # IN (k, m) probabilities
                              const floating[:, ::1] Y):  # IN (k, m) one-hot labels
    """Mean of -log p(true class); inf where the true class has probability 0."""
    cdef Py_ssize_t j, i
    cdef floating total = 0
    with nogil:
        for j in range(AL.shape[0]):
            for i in range(AL.shape[1]):
                if Y[j, i] != 0:
                    total = total - _log(AL[j, i])
    return (1.0 / AL.shape[1]) * total


def categorical_cross_entropy_from_logits(const floating[:, ::1] ZL,  # IN (k, m) logits
                                          const floating[:, ::1] Y):  # IN (k, m) one-hot
    """Mean cross-entropy of softmax(ZL), computed stably from the logits."""
    cdef floating total
    with nogil:
        total = _cce_from_logits_block(&ZL[0, 0], ZL.shape[1], &Y[0, 0], Y.shape[1],
                                       ZL.shape[0], ZL.shape[1])
    return (1.0 / ZL.shape[1]) * total


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
#
# Threads.  The examples are cut into *chunks* of whole blocks.  The cut depends
# on m alone (``chunking``), never on the number of threads: each chunk sums its
# blocks into its own lanes, reduces them into its own gradient row, and the
# rows are then added in chunk order.  Whichever thread computes a chunk, the
# same operations happen in the same order, so the result has the same bits for
# any thread count.  With a single chunk (m <= CHUNK_MIN_BLOCKS * BLOCK, e.g.
# the seed's m = 300) there is nothing to add and no thread is started.

# A chunk has at least this many blocks (2048 examples), so that a thread's
# share of an iteration outweighs the cost of waking it...
cdef enum:
    CHUNK_MIN_BLOCKS = 16
# ...and a problem has at most this many chunks (bounds the gradient rows).
cdef enum:
    MAX_CHUNKS = 256

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTINIT_OPENMP 1
    #else
    #define FASTINIT_OPENMP 0
    #endif
    """
    const int FASTINIT_OPENMP

OPENMP = bool(FASTINIT_OPENMP)
CHUNK_EXAMPLES = CHUNK_MIN_BLOCKS * BLOCK


def chunking(Py_ssize_t m):
    """(blocks per chunk, number of chunks) of a training set of m examples."""
    cdef Py_ssize_t n_blocks = (m + BLOCK - 1) // BLOCK
    cdef Py_ssize_t per_chunk = max(<Py_ssize_t>CHUNK_MIN_BLOCKS,
                                    (n_blocks + MAX_CHUNKS - 1) // MAX_CHUNKS)
    return per_chunk, max(1, (n_blocks + per_chunk - 1) // per_chunk)


cdef inline floating _block_pass(
        const floating* theta, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m, Py_ssize_t start, Py_ssize_t nb,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating inv_m, int hidden_act, floating slope, bint softmax,
        bint record, floating loss) noexcept nogil:
    """Forward and backward pass of the ``nb`` examples from ``start``: adds
    their gradient into ``lanes``; returns ``loss`` plus their losses (added
    one sub-block sum at a time) when ``record``, else ``loss``.  ``layout``
    is the (L, 5) table of ``train_full_batch``."""
    cdef Py_ssize_t l, n_in, n_out, lda, s0
    cdef const Py_ssize_t* row
    cdef const floating* A_in = X + start
    cdef floating* Z = acts
    cdef floating* delta = deltas
    cdef floating* delta_prev = deltas + half
    cdef floating* swap
    cdef floating work[2 * BLOCK]
    # forward: hidden layers LINEAR->activation, output LINEAR (logits)
    lda = m
    for l in range(L):
        row = layout + 5 * l
        Z = acts + row[4]
        _linear_forward_block(theta + row[2], theta + row[3], row[1], row[0], A_in, lda,
                              Z, BLOCK, nb, hidden_act if l < L - 1 else LINEAR, slope)
        A_in = Z
        lda = BLOCK
    # output layer: loss (only when recorded) and dZ = (p - Y) / m
    n_out = layout[5 * (L - 1) + 1]
    if record:  # summed per sub-block, as the blocks of LANES examples of old
        s0 = 0
        while s0 < nb:
            if softmax:
                loss = loss + _cce_from_logits_block(Z + s0, BLOCK, Y + start + s0, m, n_out,
                                                     min(<Py_ssize_t>LANES, nb - s0))
            else:
                loss = loss + _bce_from_logits_block(Z + s0, BLOCK, Y + start + s0, m, n_out,
                                                     min(<Py_ssize_t>LANES, nb - s0))
            s0 = s0 + LANES
    _output_gradient_block(Z, BLOCK, Y + start, m, inv_m, softmax, delta, BLOCK, n_out, nb, work)
    # backward, from the output layer down to the first
    for l in range(L - 1, -1, -1):
        row = layout + 5 * l
        n_in = row[0]
        n_out = row[1]
        if l == 0:
            _linear_backward_block(theta + row[2], n_out, n_in, delta, BLOCK, X + start, m,
                                   lanes + row[2] * LANES, lanes + row[3] * LANES,
                                   NULL, 0, LINEAR, 0, nb)
        else:
            _linear_backward_block(theta + row[2], n_out, n_in, delta, BLOCK,
                                   acts + layout[5 * (l - 1) + 4], BLOCK,
                                   lanes + row[2] * LANES, lanes + row[3] * LANES,
                                   delta_prev, BLOCK, hidden_act, slope, nb)
            swap = delta
            delta = delta_prev
            delta_prev = swap
    return loss


cdef inline floating _chunk_pass(
        const floating* theta, Py_ssize_t n_params, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m,
        Py_ssize_t blk0, Py_ssize_t blk1,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating* grad,                         # OUT (n_params,) this chunk's gradient
        floating inv_m, int hidden_act, floating slope, bint softmax,
        bint record) noexcept nogil:
    """Gradient (and summed loss, when ``record``) of blocks blk0 .. blk1-1."""
    cdef Py_ssize_t blk, start, nb
    cdef floating loss = 0
    memset(lanes, 0, n_params * LANES * sizeof(floating))
    for blk in range(blk0, blk1):
        start = blk * BLOCK
        nb = min(<Py_ssize_t>BLOCK, m - start)
        if nb == BLOCK:  # the compile-time block size lets the compiler drop loop tails
            loss = _block_pass(theta, layout, L, X, Y, m, start, BLOCK, lanes, acts,
                               deltas, half, inv_m, hidden_act, slope, softmax, record, loss)
        else:
            loss = _block_pass(theta, layout, L, X, Y, m, start, nb, lanes, acts,
                               deltas, half, inv_m, hidden_act, slope, softmax, record, loss)
    _reduce_lanes(lanes, n_params, grad)
    return loss


cdef inline floating _finish_iteration(
        floating* theta, floating* grad, const floating* losses,
        Py_ssize_t n_chunks, Py_ssize_t n_params, floating learning_rate) noexcept nogil:
    """Add the chunk gradients (rows of ``grad``, row 0 receives the sum) and
    the chunk losses in chunk order, then take the gradient step; returns the
    summed loss (meaningful only when the chunks recorded it)."""
    cdef Py_ssize_t c, p
    cdef floating loss_sum = losses[0]
    for c in range(1, n_chunks):
        loss_sum = loss_sum + losses[c]
        for p in range(n_params):
            grad[p] = grad[p] + grad[c * n_params + p]
    _gradient_step(theta, grad, learning_rate, n_params)
    return loss_sum


cdef inline floating _serial_iteration(
        floating* theta, Py_ssize_t n_params, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m,
        Py_ssize_t per_chunk, Py_ssize_t n_chunks,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating* grad, floating* losses,       # WORK (n_chunks, n_params), (n_chunks,)
        floating inv_m, int hidden_act, floating slope, bint softmax, bint record,
        floating learning_rate) noexcept nogil:
    """One iteration on one thread, chunk after chunk: the very operations of
    the threaded iteration, so the same bits."""
    cdef Py_ssize_t c, n_blocks = (m + BLOCK - 1) // BLOCK
    for c in range(n_chunks):
        losses[c] = _chunk_pass(theta, n_params, layout, L, X, Y, m,
                                c * per_chunk, min((c + 1) * per_chunk, n_blocks),
                                lanes, acts, deltas, half, grad + c * n_params,
                                inv_m, hidden_act, slope, softmax, record)
    return _finish_iteration(theta, grad, losses, n_chunks, n_params, learning_rate)


def train_full_batch(
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[:, ::1] Y,              # IN  (n_L, m) 0/1 labels (one-hot for softmax)
        floating[::1] theta,                   # IN/OUT all parameters, flat
        const Py_ssize_t[:, ::1] layout,       # IN  (L, 5): n_in, n_out, W offset, b offset, act offset
        floating learning_rate,
        Py_ssize_t n_iter,
        bint record_first,
        int hidden_act,                        # activation code of the hidden layers
        floating slope,                        # negative slope of leaky_relu
        bint softmax,                          # output softmax (else sigmoid)
        int n_threads,                         # upper bound; at most one per chunk
        floating[:, ::1] grad,                 # WORK (n_chunks, P): row 0 ends as the gradient
        floating[:, ::1] lanes,                # WORK (threads, P * LANES)
        floating[:, ::1] acts,                 # WORK (threads, sum of widths * BLOCK)
        floating[:, ::1] deltas,               # WORK (threads, 2 * max width * BLOCK)
        floating[::1] losses):                 # WORK (n_chunks,)
    """Run ``n_iter`` iterations of full-batch gradient descent in place.

    Layers ``0 .. L-2`` are LINEAR->``hidden_act``, layer ``L-1`` is
    LINEAR->SIGMOID (or SOFTMAX).  Examples are processed in blocks of BLOCK:
    each block goes forward through all layers and back while its activations
    are in L1.  Blocks are grouped in chunks (``chunking``) that up to
    ``n_threads`` threads process in parallel; the result does not depend on
    the thread count.  Returns the mean cross-entropy (from the logits) of the
    parameters as they were before the first iteration when ``record_first``
    is true, else NaN.  The buffer sizes are checked here (cheaply, before
    releasing the GIL); everything else is trusted.
    """
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef Py_ssize_t per_chunk, n_chunks, n_blocks = (m + BLOCK - 1) // BLOCK
    per_chunk, n_chunks = chunking(m)
    cdef int nt = <int>min(<Py_ssize_t>max(n_threads, 1), n_chunks)
    if not FASTINIT_OPENMP:
        nt = 1
    if (grad.shape[0] < n_chunks or grad.shape[1] != n_params or losses.shape[0] < n_chunks
            or lanes.shape[0] < nt or lanes.shape[1] != n_params * LANES
            or acts.shape[0] < nt or deltas.shape[0] < nt or m == 0):
        raise ValueError("train_full_batch: work buffers do not match the problem")
    cdef Py_ssize_t it, c, tid
    cdef floating inv_m = 1.0 / m
    cdef floating loss_sum, recorded = 0
    cdef bint record
    cdef Py_ssize_t half = deltas.shape[1] // 2
    cdef const Py_ssize_t* lay = &layout[0, 0]
    with nogil:
        for it in range(n_iter):
            record = record_first and it == 0
            if nt == 1:
                loss_sum = _serial_iteration(
                    &theta[0], n_params, lay, L, &X[0, 0], &Y[0, 0], m, per_chunk, n_chunks,
                    &lanes[0, 0], &acts[0, 0], &deltas[0, 0], half, &grad[0, 0], &losses[0],
                    inv_m, hidden_act, slope, softmax, record, learning_rate)
            else:
                for c in prange(n_chunks, num_threads=nt, schedule="static"):
                    tid = threadid()
                    losses[c] = _chunk_pass(
                        &theta[0], n_params, lay, L, &X[0, 0], &Y[0, 0], m,
                        c * per_chunk, min((c + 1) * per_chunk, n_blocks),
                        &lanes[tid, 0], &acts[tid, 0], &deltas[tid, 0], half, &grad[c, 0],
                        inv_m, hidden_act, slope, softmax, record)
                loss_sum = _finish_iteration(&theta[0], &grad[0, 0], &losses[0], n_chunks,
                                             n_params, learning_rate)
            if record:
                recorded = loss_sum
    if record_first and n_iter > 0:
        return inv_m * recorded
    return float("nan")


def train_models(
        const floating[:, ::1] X,              # IN  (n_x, m), shared by every model
        const floating[:, ::1] Y,              # IN  (n_L, m)
        floating[:, ::1] thetas,               # IN/OUT (K, P): the parameters of K models
        const Py_ssize_t[:, ::1] layout,       # IN  (L, 5), as for train_full_batch
        const floating[::1] learning_rates,    # IN  (K,)
        Py_ssize_t n_iter,
        bint record_first,
        int hidden_act, floating slope, bint softmax,
        int n_threads,                         # models trained at once
        floating[::1] costs,                   # OUT (K,): as train_full_batch returns
        floating[:, ::1] grad,                 # WORK (threads, n_chunks * P)
        floating[:, ::1] lanes,                # WORK (threads, P * LANES)
        floating[:, ::1] acts,                 # WORK (threads, sum of widths * BLOCK)
        floating[:, ::1] deltas,               # WORK (threads, 2 * max width * BLOCK)
        floating[:, ::1] losses):              # WORK (threads, n_chunks)
    """``n_iter`` iterations of full-batch gradient descent for each of K
    models of one shape on the same data, in one call: up to ``n_threads``
    models at a time, each on one thread running its iterations back to back
    while the data stay in its cache.  Every model gets the very operations of
    ``train_full_batch`` (chunk by chunk), so its bits equal a call of that
    kernel on it alone, for any thread count."""
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = thetas.shape[1]
    cdef Py_ssize_t K = thetas.shape[0], per_chunk, n_chunks
    per_chunk, n_chunks = chunking(m)
    cdef int nt = <int>min(<Py_ssize_t>max(n_threads, 1), max(K, 1))
    if not FASTINIT_OPENMP:
        nt = 1
    if (grad.shape[0] < nt or grad.shape[1] != n_chunks * n_params or losses.shape[0] < nt
            or losses.shape[1] < n_chunks or lanes.shape[0] < nt
            or lanes.shape[1] != n_params * LANES or acts.shape[0] < nt or deltas.shape[0] < nt
            or learning_rates.shape[0] != K or costs.shape[0] != K or m == 0):
        raise ValueError("train_models: work buffers do not match the problem")
    cdef Py_ssize_t k, it, tid
    cdef floating inv_m = 1.0 / m
    cdef floating loss_sum
    cdef Py_ssize_t half = deltas.shape[1] // 2
    cdef const Py_ssize_t* lay = &layout[0, 0]
    if K == 0:
        return
    with nogil:
        for k in prange(K, num_threads=nt, schedule="dynamic"):
            tid = threadid()
            costs[k] = NAN
            for it in range(n_iter):
                loss_sum = _serial_iteration(
                    &thetas[k, 0], n_params, lay, L, &X[0, 0], &Y[0, 0], m, per_chunk, n_chunks,
                    &lanes[tid, 0], &acts[tid, 0], &deltas[tid, 0], half, &grad[tid, 0],
                    &losses[tid, 0], inv_m, hidden_act, slope, softmax,
                    record_first and it == 0, learning_rates[k])
                if record_first and it == 0:
                    costs[k] = inv_m * loss_sum


def activation_statistics(
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[::1] theta,             # IN  all parameters, flat
        const Py_ssize_t[:, ::1] layout,       # IN  (L, 5) as for train_full_batch
        int hidden_act, floating slope, bint softmax,
        double[:, ::1] sums,                   # OUT (L, 3): sum a, sum a^2, saturated count
        floating[::1] alive,                   # OUT (sum of widths,): 1 where a unit was ever > 0
        floating[::1] acts):                   # WORK (sum of widths * BLOCK,)
    """One forward pass that only gathers per-layer statistics of the
    activations (hidden layers: after the activation; output layer: the
    probabilities).  "Saturated": |a| > 0.99 for tanh, a < 0.01 or a > 0.99
    for sigmoid and the output probabilities, never for the other activations."""
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1]
    cdef Py_ssize_t blk, start, nb, l, j, i, n_out, lda, unit0
    cdef int act
    cdef floating a
    cdef floating work[2 * BLOCK]
    cdef const floating* A_in
    cdef floating* Z = &acts[0]
    cdef double s, s2, sat
    with nogil:
        memset(&sums[0, 0], 0, sums.shape[0] * sums.shape[1] * sizeof(double))
        memset(&alive[0], 0, alive.shape[0] * sizeof(floating))
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            nb = min(<Py_ssize_t>BLOCK, m - start)
            A_in = &X[0, start]
            lda = m
            unit0 = 0
            for l in range(L):
                n_out = layout[l, 1]
                act = hidden_act if l < L - 1 else (LINEAR if softmax else SIGMOID)
                Z = &acts[layout[l, 4]]
                _linear_forward_block(&theta[layout[l, 2]], &theta[layout[l, 3]],
                                      n_out, layout[l, 0], A_in, lda, Z, BLOCK, nb, act, slope)
                if l == L - 1 and softmax:
                    _softmax_block(Z, BLOCK, Z, BLOCK, n_out, nb, work)
                    act = SIGMOID  # probabilities: saturated like a sigmoid's
                s = 0
                s2 = 0
                sat = 0
                for j in range(n_out):
                    for i in range(nb):
                        a = Z[j * BLOCK + i]
                        s = s + a
                        s2 = s2 + <double>a * a
                        if a > 0:
                            alive[unit0 + j] = 1
                        if act == TANH and (a > 0.99 or a < -0.99):
                            sat = sat + 1
                        elif act == SIGMOID and (a > 0.99 or a < 0.01):
                            sat = sat + 1
                sums[l, 0] = sums[l, 0] + s
                sums[l, 1] = sums[l, 1] + s2
                sums[l, 2] = sums[l, 2] + sat
                unit0 = unit0 + n_out
                A_in = Z
                lda = BLOCK
