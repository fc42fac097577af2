# Tier 2 of fastinit's compiled kernels: block routines.
#
# Each routine works on one block of examples given by raw pointers and
# leading dimensions (row strides), so the per-layer kernels (tier 3) and the
# fused loops (tier 4) perform the very same operations in the very same
# order.  ``nbp`` (padded) counts are multiples of FI_PAD: every row holds nbp
# readable and writable values; a caller with a partial block copies it into a
# zero-padded buffer first (``_copy_padded``; ``_input_block`` for a block of
# the data).
#
# Matrix products go to the register-blocked micro-kernels of
# ``_microkernels.h`` (see the comment at its top for their operation order).
# Weight gradients are reductions over examples: each parameter owns one SIMD
# vector of *lane* accumulators (4 doubles or 8 floats; 8 or 16 with
# AVX-512), lane i receiving examples i, i + lanes, ..., which
# ``_reduce_lanes`` adds in lane order.

cdef extern from "_microkernels.h" nogil:
    enum:
        FI_EPI_NONE    # v
        FI_EPI_BIAS    # v + bias
        FI_EPI_RELU    # relu(v + bias)
        FI_EPI_MASK    # v if mask > 0 else 0 (ReLU's backward, mask = its output)
    void fi_dense_forward_d(const double* W, Py_ssize_t wr, Py_ssize_t wc, const double* b,
                            Py_ssize_t n_out, Py_ssize_t n_in,
                            const double* A, Py_ssize_t lda, double* Z, Py_ssize_t ldz,
                            Py_ssize_t nv, int epi, const double* M, Py_ssize_t ldm)
    void fi_dense_forward_f(const float* W, Py_ssize_t wr, Py_ssize_t wc, const float* b,
                            Py_ssize_t n_out, Py_ssize_t n_in,
                            const float* A, Py_ssize_t lda, float* Z, Py_ssize_t ldz,
                            Py_ssize_t nv, int epi, const float* M, Py_ssize_t ldm)
    void fi_dense_gradient_d(const double* D, Py_ssize_t ldd, Py_ssize_t n_out,
                             const double* A, Py_ssize_t lda, Py_ssize_t n_in, Py_ssize_t nv,
                             double* dW_lanes, double* db_lanes)
    void fi_dense_gradient_f(const float* D, Py_ssize_t ldd, Py_ssize_t n_out,
                             const float* A, Py_ssize_t lda, Py_ssize_t n_in, Py_ssize_t nv,
                             float* dW_lanes, float* db_lanes)
    double fi_multiply_add_chains_d(Py_ssize_t n)
    float fi_multiply_add_chains_f(Py_ssize_t n)
    const int FI_PEAK_CHAINS
    void fi_walk_bias_d(const double* W, const double* b, Py_ssize_t n_out, Py_ssize_t n_in,
                        const double* A, Py_ssize_t lda, double* Z, Py_ssize_t ldz,
                        Py_ssize_t nv)
    void fi_walk_relu_d(const double* W, const double* b, Py_ssize_t n_out, Py_ssize_t n_in,
                        const double* A, Py_ssize_t lda, double* Z, Py_ssize_t ldz,
                        Py_ssize_t nv)
    void fi_walk_bias_f(const float* W, const float* b, Py_ssize_t n_out, Py_ssize_t n_in,
                        const float* A, Py_ssize_t lda, float* Z, Py_ssize_t ldz,
                        Py_ssize_t nv)
    void fi_walk_relu_f(const float* W, const float* b, Py_ssize_t n_out, Py_ssize_t n_in,
                        const float* A, Py_ssize_t lda, float* Z, Py_ssize_t ldz,
                        Py_ssize_t nv)



cdef inline void _dense_forward(
        const floating* W, Py_ssize_t wr, Py_ssize_t wc,  # IN  weight (j, k) at W[j wr + k wc]
        const floating* b,                      # IN  (n_out,) bias, NULL: none
        Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nbp)
        floating* Z, Py_ssize_t ldz,            # OUT (n_out, nbp)
        Py_ssize_t nbp, int epi,
        const floating* M, Py_ssize_t ldm) noexcept nogil:  # IN  (n_out, nbp) mask, FI_EPI_MASK only
    """Z = epi(W A (+ b)): each sum over k in index order, the bias last."""
    if floating is double:
        fi_dense_forward_d(W, wr, wc, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_D, epi, M, ldm)
    else:
        fi_dense_forward_f(W, wr, wc, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_F, epi, M, ldm)


cdef inline void _walk_product(
        const floating* W, const floating* b, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nbp)
        floating* Z, Py_ssize_t ldz,            # OUT (n_out, nbp)
        Py_ssize_t nbp, bint relu) noexcept nogil:
    """Z = W A + b, or relu(W A + b): ``_dense_forward`` of W (column stride 1)."""
    if floating is double:
        if relu:
            fi_walk_relu_d(W, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_D)
        else:
            fi_walk_bias_d(W, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_D)
    else:
        if relu:
            fi_walk_relu_f(W, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_F)
        else:
            fi_walk_bias_f(W, b, n_out, n_in, A, lda, Z, ldz, nbp // FI_LANES_F)


cdef inline void _dense_gradient(
        const floating* D, Py_ssize_t ldd, Py_ssize_t n_out,  # IN  (n_out, nbp) dZ
        const floating* A, Py_ssize_t lda, Py_ssize_t n_in,   # IN  (n_in, nbp) the layer's input
        Py_ssize_t nbp,
        floating* dW_lanes,                     # IN/OUT (n_out * n_in, lanes)
        floating* db_lanes) noexcept nogil:     # IN/OUT (n_out, lanes)
    """Lane sums of dW = D A^T and db = D 1 over a block."""
    if floating is double:
        fi_dense_gradient_d(D, ldd, n_out, A, lda, n_in, nbp // FI_LANES_D, dW_lanes, db_lanes)
    else:
        fi_dense_gradient_f(D, ldd, n_out, A, lda, n_in, nbp // FI_LANES_F, dW_lanes, db_lanes)


cdef inline void _copy_padded(
        floating* dst, Py_ssize_t ldd,          # OUT (n, nbp)
        const floating* src, Py_ssize_t lds,    # IN  (n, nb)
        Py_ssize_t n, Py_ssize_t nb, Py_ssize_t nbp) noexcept nogil:
    """dst = src with columns nb .. nbp-1 set to zero."""
    cdef Py_ssize_t j
    for j in range(n):
        memcpy(dst + j * ldd, src + j * lds, nb * sizeof(floating))
        memset(dst + j * ldd + nb, 0, (nbp - nb) * sizeof(floating))


cdef inline const floating* _input_block(
        const floating* X, Py_ssize_t m,        # IN  (n, m) the data, one example per column
        Py_ssize_t start, Py_ssize_t nb, Py_ssize_t n,
        floating* room, Py_ssize_t ld,          # WORK (n, _padded(nb)), row stride ld
        Py_ssize_t* ldx) noexcept nogil:        # OUT the returned block's row stride
    """Examples start .. start+nb-1 of X as a block of ``_padded(nb)``
    readable columns: X itself, or when nb is not a multiple of FI_PAD a
    zero-padded copy in ``room``."""
    cdef Py_ssize_t nbp = _padded(nb)
    if nbp > nb:
        _copy_padded(room, ld, X + start, m, n, nb, nbp)
        ldx[0] = ld
        return room
    ldx[0] = m
    return X + start


cdef inline void _zero_padding(floating* Z, Py_ssize_t ldz, Py_ssize_t n,
                               Py_ssize_t nb, Py_ssize_t nbp) noexcept nogil:
    """Columns nb .. nbp-1 of n rows set to zero, so that padded examples
    contribute exactly nothing to any gradient."""
    cdef Py_ssize_t j
    if nb < nbp:
        for j in range(n):
            memset(Z + j * ldz + nb, 0, (nbp - nb) * sizeof(floating))


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
    elif act == LINEAR:
        for i in range(nb):
            z[i] = z[i] + bias
    else:
        for i in range(nb):
            z[i] = _activation(act, z[i] + bias, slope)


cdef inline void _activation_backward_row(
        const floating* da,                     # IN  (nb,) gradient w.r.t. the activation
        const floating* a,                      # IN  (nb,) f(z), or z where _needs_z(act)
        floating* dz,                           # OUT (nb,); may alias da
        int act, floating slope, Py_ssize_t nb) noexcept nogil:
    """dz = da * f'(z), with f' written in terms of a = f(z): relu 1[a > 0]
    (0 at the kink), leaky_relu 1 or slope, tanh 1 - a², sigmoid a (1 - a),
    elu 1 or a + 1; GELU and SiLU from a = z itself (``_derivative``)."""
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
    elif act == LINEAR:
        for i in range(nb):
            dz[i] = da[i]
    else:
        for i in range(nb):
            dz[i] = da[i] * _derivative(act, a[i])


cdef inline void _linear_forward_block(
        const floating* W, const floating* b, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nbp), row stride lda
        floating* Z, Py_ssize_t ldz,            # OUT (n_out, nbp), row stride ldz
        Py_ssize_t nbp, int act, floating slope) noexcept nogil:
    """Z = f(W A + b) for the activation code ``act`` (LINEAR: no activation).
    Sums run over the inputs in index order and add the bias last, as NumPy
    evaluates ``np.dot(W, A) + b``; ReLU is applied in the product's epilogue,
    the other activations by a pass over each row."""
    cdef Py_ssize_t j
    if act == RELU:
        _dense_forward(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nbp, FI_EPI_RELU, NULL, 0)
        return
    _dense_forward(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nbp, FI_EPI_BIAS, NULL, 0)
    if act != LINEAR:
        for j in range(n_out):
            _activate_row(Z + j * ldz, 0, act, slope, nbp)


cdef inline void _linear_backward_block(
        const floating* W, Py_ssize_t n_out, Py_ssize_t n_in,
        const floating* dZ, Py_ssize_t lddz,    # IN  (n_out, nbp)
        const floating* A, Py_ssize_t lda,      # IN  (n_in, nbp) the layer's input
        const floating* F, Py_ssize_t ldf,      # IN  (n_in, nbp) what f' is computed from:
                                                #     A, or the input's Z where _needs_z(act)
        floating* dW_lanes,                     # IN/OUT (n_out * n_in, lanes) lane sums
        floating* db_lanes,                     # IN/OUT (n_out, lanes) lane sums
        floating* dA, Py_ssize_t ldda,          # OUT (n_in, nbp) = W^T dZ, skipped if NULL
        int act, floating slope,                # then dA *= f'(.) for A's activation
        Py_ssize_t nbp) noexcept nogil:
    cdef Py_ssize_t k
    _dense_gradient(dZ, lddz, n_out, A, lda, n_in, nbp, dW_lanes, db_lanes)
    if dA == NULL:
        return
    # row k of W^T is column k of W: weight (k, j) at W[k + j n_in]
    if act == RELU:
        _dense_forward(W, 1, n_in, NULL, n_in, n_out, dZ, lddz, dA, ldda, nbp, FI_EPI_MASK, A, lda)
        return
    _dense_forward(W, 1, n_in, NULL, n_in, n_out, dZ, lddz, dA, ldda, nbp, FI_EPI_NONE, NULL, 0)
    if act != LINEAR:
        for k in range(n_in):
            _activation_backward_row(dA + k * ldda, F + k * ldf, dA + k * ldda, act, slope, nbp)


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


# Losses of the output layer (``fastinit.nn.losses`` is their registry): each
# fixes the output activation (``_output_block``), the loss summed over the
# output units of an example (``_loss_block``), and dZ = (1/m) (output - Y),
# the gradient of the mean loss with respect to the logits (the same form for
# all three).  Adding a loss: a code here and in LOSS_CODES, a branch in those
# two routines (and in ``_output_is_probability``).
cdef enum:
    LOSS_BCE = 0       # sigmoid outputs, binary cross-entropy (0/1 labels)
    LOSS_CCE = 1       # softmax output, categorical cross-entropy (one-hot labels)
    LOSS_MSE = 2       # identity output, half the squared error (real targets)
    LOSS_POISSON = 3   # exp output, Poisson deviance (non-negative targets: counts)

LOSS_CODES = {"binary_cross_entropy": LOSS_BCE, "categorical_cross_entropy": LOSS_CCE,
              "mse": LOSS_MSE, "poisson": LOSS_POISSON}

# Sample weights (scikit-learn's ``sample_weight``): the training loops take
# a loss code or'ed with LOSS_WEIGHTED (from ``NetworkSpec.weighted``); the
# weights are then the row after the targets in Y (so a gather of Y's rows
# gathers them too).  Each example's loss and its dZ are multiplied by its
# weight, and the mean over m examples becomes the sum divided by the sum of
# the weights (``_inverse_count``): scikit-learn's weighted average.
# LOSS_OUTPUT_MEAN (from ``NetworkSpec.output_mean``) records the loss of an
# example as the mean over its output units instead of their sum (the
# gradient is unchanged): scikit-learn's squared loss of several outputs.
cdef enum:
    LOSS_WEIGHTED = 256
    LOSS_OUTPUT_MEAN = 512
    LOSS_KIND = 255    # loss_kind & LOSS_KIND: the loss's code


cdef inline floating _inverse_count(const floating* Y, Py_ssize_t n_out, Py_ssize_t m,
                                    int loss_kind) noexcept nogil:
    """1 / m, or with LOSS_WEIGHTED 1 / (the sum of the m weights of row
    ``n_out`` of Y, row stride m), added in order."""
    cdef Py_ssize_t i
    cdef floating total = 0
    if not (loss_kind & LOSS_WEIGHTED):
        return 1.0 / m
    for i in range(m):
        total = total + Y[n_out * m + i]
    return 1.0 / total


cdef inline bint _output_is_probability(int loss) noexcept nogil:
    """Whether the loss's outputs are probabilities (they saturate near 0 and 1)."""
    return loss == LOSS_BCE or loss == LOSS_CCE


cdef inline void _output_block(
        int loss,
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb) output logits
        floating* out, Py_ssize_t ldo,          # OUT (n, nb) the loss's output (may be Z)
        Py_ssize_t n, Py_ssize_t nb,
        floating* work) noexcept nogil:         # WORK (2 * BLOCK,)
    """The output layer's activation of a loss: sigmoid, softmax per column,
    the identity or exp."""
    cdef Py_ssize_t j, i
    if loss == LOSS_CCE:
        _softmax_block(Z, ldz, out, ldo, n, nb, work)
    elif loss == LOSS_MSE:
        for j in range(n):
            for i in range(nb):
                out[j * ldo + i] = Z[j * ldz + i]
    elif loss == LOSS_POISSON:
        for j in range(n):
            for i in range(nb):
                out[j * ldo + i] = _exp(Z[j * ldz + i])
    else:
        for j in range(n):
            for i in range(nb):
                out[j * ldo + i] = _sigmoid(Z[j * ldz + i])


cdef inline void _output_gradient_block(
        const floating* Z, Py_ssize_t ldz,      # IN  (n, nb) output logits
        const floating* Y, Py_ssize_t ldy,      # IN  (n, nb) targets (one-hot for LOSS_CCE)
        floating inv_m, int loss,
        floating* dZ, Py_ssize_t lddz,          # OUT (n, nb)
        Py_ssize_t n, Py_ssize_t nb,
        floating* work) noexcept nogil:         # WORK (2 * BLOCK,)
    """dZ = (1/m) (output - Y), the output of ``_output_block``: the gradient
    of the mean loss with respect to the logits, the same form for every loss."""
    cdef Py_ssize_t j, i
    _output_block(loss, Z, ldz, dZ, lddz, n, nb, work)
    for j in range(n):
        for i in range(nb):
            dZ[j * lddz + i] = inv_m * (dZ[j * lddz + i] - Y[j * ldy + i])


cdef inline floating _mse_block(
        const floating* Z, Py_ssize_t ldz, const floating* Y, Py_ssize_t ldy,
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Sum over a block of half the squared error, in example order."""
    cdef Py_ssize_t j, i
    cdef floating d, total = 0
    for j in range(n):
        for i in range(nb):
            d = Z[j * ldz + i] - Y[j * ldy + i]
            total = total + <floating>0.5 * d * d
    return total


cdef inline floating _poisson_block(
        const floating* Z, Py_ssize_t ldz, const floating* Y, Py_ssize_t ldy,
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Sum over a block of the Poisson deviance of exp outputs, as
    scikit-learn's poisson_loss counts it: exp(z) - y + y (log y - z), the
    last term 0 for y = 0, in example order."""
    cdef Py_ssize_t j, i
    cdef floating y, z, t, total = 0
    for j in range(n):
        for i in range(nb):
            z = Z[j * ldz + i]
            y = Y[j * ldy + i]
            t = _exp(z) - y
            if y > 0:
                t = t + y * (log(y) - z)
            total = total + t
    return total


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


cdef inline floating _loss_block(
        int loss, const floating* Z, Py_ssize_t ldz, const floating* Y, Py_ssize_t ldy,
        Py_ssize_t n, Py_ssize_t nb) noexcept nogil:
    """Sum over a block of the loss of each example (from the logits): the one
    dispatch of the losses' values."""
    if loss == LOSS_CCE:
        return _cce_from_logits_block(Z, ldz, Y, ldy, n, nb)
    if loss == LOSS_MSE:
        return _mse_block(Z, ldz, Y, ldy, n, nb)
    if loss == LOSS_POISSON:
        return _poisson_block(Z, ldz, Y, ldy, n, nb)
    return _bce_from_logits_block(Z, ldz, Y, ldy, n, nb)


cdef inline void _reduce_lanes(const floating* lanes, Py_ssize_t n,
                               floating* out) noexcept nogil:
    """out[p] = sum of the lanes of parameter p, in lane order."""
    cdef Py_ssize_t p, i, V = _vector_lanes(lanes)
    cdef floating t
    for p in range(n):
        t = lanes[p * V]
        for i in range(1, V):
            t = t + lanes[p * V + i]
        out[p] = t


cdef inline void _gradient_step(floating* theta, const floating* grad,
                                floating learning_rate, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t p
    for p in range(n):
        theta[p] = theta[p] - learning_rate * grad[p]




def fma_peak_gflops(int dtype_size, double seconds=0.05):
    """Measured peak of one core for this module: GFLOP/s of independent
    vector multiply-add chains in float64 (``dtype_size`` 8) or float32 (4),
    best of repeated runs for about ``seconds``.  The "floor" of the benchmark
    table is a network's flop count divided by this rate."""
    import time
    cdef Py_ssize_t n = 20000
    cdef double best = 0, t, flops
    cdef double total = 0
    cdef int lanes = FI_LANES_D if dtype_size == 8 else FI_LANES_F
    flops = 2.0 * n * FI_PEAK_CHAINS * lanes
    deadline = time.perf_counter() + seconds
    while True:
        t = time.perf_counter()
        with nogil:
            if dtype_size == 8:
                total = total + fi_multiply_add_chains_d(n)
            else:
                total = total + fi_multiply_add_chains_f(n)
        t = time.perf_counter() - t
        if t > 0:
            best = max(best, flops / t / 1e9)
        if time.perf_counter() > deadline and best > 0:
            break
    if total != total:  # uses every chain's result, so that none is optimised away
        raise FloatingPointError("fma_peak_gflops: the multiply-add chains gave NaN")
    return best


# Columns of the (L, N_COLUMNS) layout table that describes a network's flat parameter
# vector (built by ``fastinit.engines.spec.pack``, which reads these names from
# LAYOUT_COLUMNS): per layer its sizes, where its W and b start in the vector
# (and in the gradient lanes), and where its activations start in a thread's
# activation buffer.
cdef enum:
    N_IN = 0
    N_OUT = 1
    W_AT = 2
    B_AT = 3
    ACT_AT = 4
    Z_AT = 5      # where the layer's Z is kept: ACT_AT unless its activation _needs_z
    N_COLUMNS = 6

LAYOUT_COLUMNS = {"n_in": N_IN, "n_out": N_OUT, "w_offset": W_AT, "b_offset": B_AT,
                  "act_offset": ACT_AT, "z_offset": Z_AT}


cdef inline const Py_ssize_t* _layer(const Py_ssize_t* layout, Py_ssize_t l) noexcept nogil:
    """Row l of the layout table."""
    return layout + N_COLUMNS * l
