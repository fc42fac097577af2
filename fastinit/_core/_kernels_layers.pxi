# Tier 3 of fastinit's compiled kernels: one layer, one activation or one loss
# over whole arrays (typed memoryviews), the operations of the notebook's
# drop-in functions.  Each walks the examples block by block through the
# tier-2 routines, so that it performs the very operations of the fused loop
# (``linear_backward`` equals the fused loop's gradient to the bit for any m).


cdef floating* _scratch(Py_ssize_t n, const floating* dtype_tag) except NULL:
    """A buffer of n values for a partial block (the caller frees it)."""
    cdef floating* p = <floating*>malloc(max(n, 1) * sizeof(floating))
    if p == NULL:
        raise MemoryError("fastinit: no memory for a block buffer")
    return p


def linear_forward(const floating[:, ::1] W,    # IN  (n_out, n_in)
                   const floating[::1] b,       # IN  (n_out,)
                   const floating[:, ::1] A,    # IN  (n_in, m)
                   floating[:, ::1] Z):         # OUT (n_out, m)
    """Z = W A + b."""
    cdef Py_ssize_t n_out = W.shape[0], n_in = W.shape[1], m = A.shape[1]
    cdef Py_ssize_t full = m // BLOCK * BLOCK, nb = m - full, nbp = _padded(nb), blk, start, j
    cdef floating* tail = NULL
    if nb:
        tail = _scratch((n_in + n_out) * BLOCK, &W[0, 0])
    try:
        with nogil:
            for blk in range(full // BLOCK):
                start = blk * BLOCK
                _linear_forward_block(&W[0, 0], &b[0], n_out, n_in, &A[0, start], m,
                                      &Z[0, start], m, BLOCK, LINEAR, 0)
            if nb:
                _copy_padded(tail, BLOCK, &A[0, full], m, n_in, nb, nbp)
                _linear_forward_block(&W[0, 0], &b[0], n_out, n_in, tail, BLOCK,
                                      tail + n_in * BLOCK, BLOCK, nbp, LINEAR, 0)
                for j in range(n_out):
                    memcpy(&Z[j, full], tail + (n_in + j) * BLOCK, nb * sizeof(floating))
    finally:
        free(tail)


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
                                const floating[:, ::1] Y,  # IN  (n, m) targets (one-hot for LOSS_CCE)
                                int loss,                  # LOSS_CODES
                                floating[:, ::1] dZ):      # OUT (n, m)
    """dZ = (1/m) (p - Y), p = sigmoid(Z), softmax(Z) or Z by the loss: as the fused loop."""
    cdef Py_ssize_t blk, start, m = Z.shape[1]
    cdef floating inv_m = 1.0 / m
    cdef floating work[2 * BLOCK]
    with nogil:
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            _output_gradient_block(&Z[0, start], m, &Y[0, start], m, inv_m, loss,
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
                    floating[::1] lanes,         # WORK ((n_out * n_in + n_out) * LANE_COUNT,)
                    floating[:, ::1] grads):     # OUT (n_chunks, n_out * n_in + n_out)
    """Gradients of a linear layer: row 0 of ``grads`` ends as [dW | db],
    accumulated in lanes chunk by chunk exactly as ``train_full_batch`` does,
    so the two agree to the bit for any m."""
    cdef Py_ssize_t n_out = W.shape[0], n_in = W.shape[1], m = dZ.shape[1]
    cdef Py_ssize_t n_g = n_out * n_in + n_out, per_chunk, n_chunks
    cdef Py_ssize_t V = _vector_lanes(&W[0, 0])
    per_chunk, n_chunks = chunking(m)
    if grads.shape[0] < n_chunks or grads.shape[1] != n_g or lanes.shape[0] < n_g * V:
        raise ValueError("linear_backward: work buffers do not match the problem")
    cdef Py_ssize_t c, start, end, nb, nbp, p, k, n_w = n_out * n_in
    cdef Py_ssize_t block = _block_of(&W[0, 0])
    cdef floating* tail = NULL
    if m % block:
        tail = _scratch((n_out + 2 * n_in) * block, &W[0, 0])
    try:
        with nogil:
            for c in range(n_chunks):
                memset(&lanes[0], 0, n_g * V * sizeof(floating))
                start = c * per_chunk
                end = min(start + per_chunk, m)
                while start < end:  # the blocks of train_full_batch
                    nb = min(block, end - start)
                    if nb == block:
                        _linear_backward_block(&W[0, 0], n_out, n_in, &dZ[0, start], m,
                                               &A[0, start], m, &A[0, start], m,
                                               &lanes[0], &lanes[n_w * V],
                                               &dA[0, start], m, LINEAR, 0, block)
                        start = start + block
                        continue
                    # the partial last block, through zero-padded copies
                    nbp = _padded(nb)
                    _copy_padded(tail, block, &dZ[0, start], m, n_out, nb, nbp)
                    _copy_padded(tail + n_out * block, block, &A[0, start], m, n_in, nb, nbp)
                    _linear_backward_block(&W[0, 0], n_out, n_in, tail, block,
                                           tail + n_out * block, block, tail + n_out * block, block,
                                           &lanes[0], &lanes[n_w * V],
                                           tail + (n_out + n_in) * block, block, LINEAR, 0, nbp)
                    for k in range(n_in):
                        memcpy(&dA[k, start], tail + (n_out + n_in + k) * block,
                               nb * sizeof(floating))
                    start = start + nb
                _reduce_lanes(&lanes[0], n_g, &grads[c, 0])
                if c > 0:
                    for p in range(n_g):
                        grads[0, p] = grads[0, p] + grads[c, p]
    finally:
        free(tail)


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


def loss_from_logits(const floating[:, ::1] ZL,  # IN (n, m) output logits
                     const floating[:, ::1] Y,   # IN (n, m) targets
                     int loss):                  # LOSS_CODES
    """Mean loss of the logits ZL (the fused loop's recorded cost, without the
    L2 penalty): binary or categorical cross-entropy, or half the squared error."""
    cdef floating total
    cdef Py_ssize_t n = ZL.shape[0], m = ZL.shape[1]
    if Y.shape[0] != n or Y.shape[1] != m or m == 0:
        raise ValueError("loss_from_logits: ZL and Y must have one and the same non-empty shape")
    with nogil:
        total = _loss_block(loss, &ZL[0, 0], m, &Y[0, 0], m, n, m)
    return (1.0 / m) * total


def optimizer_update(floating[::1] theta,              # IN/OUT (P,) parameters
                     floating[::1] grad,               # IN (P,) data-loss gradient (overwritten)
                     floating[:, ::1] state,           # IN/OUT (>= slots, P) optimizer state
                     const double[::1] hyper,          # IN (N_HYPER,) HYPER_FIELDS
                     Py_ssize_t t,                     # step, 1 for the first
                     const Py_ssize_t[:, ::1] layout,  # IN the fused loops' layout table
                     Py_ssize_t m):                    # examples of the gradient
    """One update of the fused loops (L2, clipping, schedule, optimizer) on the
    caller's gradient: the BLAS engine's step.  Returns the L2 penalty of the
    parameters before the step (mean over the m examples)."""
    if hyper.shape[0] != N_HYPER:
        raise ValueError("optimizer_update: the hyper-parameter vector has the wrong length")
    cdef Optim o = _read_optim(&hyper[0])
    cdef floating penalty
    if (grad.shape[0] != theta.shape[0] or state.shape[1] != theta.shape[0]
            or state.shape[0] < max(_slots_of(&o), 1) or t < 1 or m < 1
            or layout.shape[1] != N_COLUMNS):
        raise ValueError("optimizer_update: buffers do not match the problem")
    with nogil:
        penalty = _update(&theta[0], &grad[0], &state[0, 0], theta.shape[0], &o, t,
                          &layout[0, 0], layout.shape[0], <floating>(1.0 / m))
    return penalty / m


def gradient_step(floating[::1] theta,           # IN/OUT (n,)
                  const floating[::1] grad,      # IN (n,)
                  floating learning_rate):
    """theta -= learning_rate * grad, in place."""
    with nogil:
        _gradient_step(&theta[0], &grad[0], learning_rate, theta.shape[0])


