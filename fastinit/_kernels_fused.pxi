# Tier 4 of fastinit's compiled kernels: the fused training loops.
#
#
# Threads.  The examples are cut into *chunks* of whole blocks.  The cut depends
# on m alone (``chunking``), never on the number of threads: each chunk sums its
# blocks into its own lanes, reduces them into its own gradient row, and the
# rows are then added in chunk order.  Whichever thread computes a chunk, the
# same operations happen in the same order, so the result has the same bits for
# any thread count.  With a single chunk (m <= CHUNK_MIN_EXAMPLES, e.g. the
# seed's m = 300) there is nothing to add and no thread is started.  A chunk is
# a whole number of BLOCK examples, so that it holds whole blocks of either
# dtype.

# A chunk has at least this many examples, so that a thread's share of an
# iteration outweighs the cost of waking it...
cdef enum:
    CHUNK_MIN_EXAMPLES = 2048
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
CHUNK_EXAMPLES = CHUNK_MIN_EXAMPLES


cdef inline Py_ssize_t _per_chunk(Py_ssize_t m) noexcept nogil:
    """Examples per chunk of a problem of m examples (see ``chunking``)."""
    cdef Py_ssize_t per_chunk = max(<Py_ssize_t>CHUNK_MIN_EXAMPLES, (m + MAX_CHUNKS - 1) // MAX_CHUNKS)
    return (per_chunk + BLOCK - 1) // BLOCK * BLOCK


cdef inline Py_ssize_t _n_chunks(Py_ssize_t m) noexcept nogil:
    return max(1, (m + _per_chunk(m) - 1) // _per_chunk(m))


def chunking(Py_ssize_t m):
    """(examples per chunk, number of chunks) of a training set of m examples:
    chunks of at least CHUNK_EXAMPLES examples, a multiple of BLOCK_SIZE, at
    most MAX_CHUNKS of them; the last one may be shorter."""
    return _per_chunk(m), _n_chunks(m)


cdef inline Py_ssize_t _x_tail_offset(const Py_ssize_t* layout, Py_ssize_t L) noexcept nogil:
    """Where, in a thread's activation buffer, the zero-padded copy of a
    partial block of X lies: after the activations of every layer."""
    return layout[5 * (L - 1) + 4] + layout[5 * (L - 1) + 1] * BLOCK


def activation_buffer_size(const Py_ssize_t[:, ::1] layout):
    """Values of one thread's activation buffer for the (L, 5) layout table:
    each layer's activations (BLOCK per unit) and room for a padded block of X."""
    return _x_tail_offset(&layout[0, 0], layout.shape[0]) + layout[0, 0] * BLOCK


cdef bint _workspace_fits(const Py_ssize_t[:, ::1] layout, Py_ssize_t n_params,
                          Py_ssize_t lanes_size, Py_ssize_t acts_size, Py_ssize_t deltas_size,
                          Py_ssize_t vector_lanes):
    """Whether per-thread lanes, activation and delta buffers of these sizes
    hold what the fused loop writes for this layout (checked before any nogil
    call: the loops themselves trust them)."""
    cdef Py_ssize_t l, widest = 0, L = layout.shape[0]
    for l in range(L):
        widest = max(widest, layout[l, 1])
    return (lanes_size >= n_params * vector_lanes
            and acts_size >= activation_buffer_size(layout)
            and deltas_size >= 2 * widest * BLOCK)


cdef inline floating _block_pass(
        const floating* theta, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m, Py_ssize_t start, Py_ssize_t nb,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating inv_m, int hidden_act, floating slope, bint softmax,
        bint record, floating loss) noexcept nogil:
    """Forward and backward pass of the ``nb`` examples from ``start``: adds
    their gradient into ``lanes``; returns ``loss`` plus their losses (added
    one group sum of LOSS_GROUP examples at a time) when ``record``, else
    ``loss``.  ``layout`` is the (L, 5) table of ``train_full_batch``.  A
    partial block is padded with zeros to ``nbp`` examples (X copied into the
    tail of ``acts``; padded activations and deltas zeroed), so the padded
    examples add exactly zero to every gradient."""
    cdef Py_ssize_t l, n_in, n_out, lda, s0, V = _vector_lanes(theta)
    cdef Py_ssize_t nbp = _padded(nb), ld = _block_of(theta)
    cdef const Py_ssize_t* row
    cdef const floating* A_in = X + start
    cdef floating* Z = acts
    cdef floating* delta = deltas
    cdef floating* delta_prev = deltas + half
    cdef floating* swap
    cdef floating work[2 * BLOCK]  # (_softmax_block)
    lda = m
    if nbp > nb:
        A_in = acts + _x_tail_offset(layout, L)
        lda = ld
        _copy_padded(acts + _x_tail_offset(layout, L), ld, X + start, m, layout[0], nb, nbp)
    cdef const floating* X_block = A_in
    cdef Py_ssize_t ldx = lda
    # forward: hidden layers LINEAR->activation, output LINEAR (logits)
    for l in range(L):
        row = layout + 5 * l
        Z = acts + row[4]
        _linear_forward_block(theta + row[2], theta + row[3], row[1], row[0], A_in, lda,
                              Z, ld, nbp, hidden_act if l < L - 1 else LINEAR, slope)
        if l < L - 1:
            _zero_padding(Z, ld, row[1], nb, nbp)
        A_in = Z
        lda = ld
    # output layer: loss (only when recorded) and dZ = (p - Y) / m
    n_out = layout[5 * (L - 1) + 1]
    if record:
        s0 = 0
        while s0 < nb:
            if softmax:
                loss = loss + _cce_from_logits_block(Z + s0, ld, Y + start + s0, m, n_out,
                                                     min(<Py_ssize_t>LOSS_GROUP, nb - s0))
            else:
                loss = loss + _bce_from_logits_block(Z + s0, ld, Y + start + s0, m, n_out,
                                                     min(<Py_ssize_t>LOSS_GROUP, nb - s0))
            s0 = s0 + LOSS_GROUP
    _output_gradient_block(Z, ld, Y + start, m, inv_m, softmax, delta, ld, n_out, nb, work)
    _zero_padding(delta, ld, n_out, nb, nbp)
    # backward, from the output layer down to the first
    for l in range(L - 1, -1, -1):
        row = layout + 5 * l
        n_in = row[0]
        n_out = row[1]
        if l == 0:
            _linear_backward_block(theta + row[2], n_out, n_in, delta, ld, X_block, ldx,
                                   lanes + row[2] * V, lanes + row[3] * V,
                                   NULL, 0, LINEAR, 0, nbp)
        else:
            _linear_backward_block(theta + row[2], n_out, n_in, delta, ld,
                                   acts + layout[5 * (l - 1) + 4], ld,
                                   lanes + row[2] * V, lanes + row[3] * V,
                                   delta_prev, ld, hidden_act, slope, nbp)
            swap = delta
            delta = delta_prev
            delta_prev = swap
    return loss


cdef inline floating _chunk_pass(
        const floating* theta, Py_ssize_t n_params, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m,
        Py_ssize_t e0, Py_ssize_t e1,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating* grad,                         # OUT (n_params,) this chunk's gradient
        floating inv_m, int hidden_act, floating slope, bint softmax,
        bint record) noexcept nogil:
    """Gradient (and summed loss, when ``record``) of examples e0 .. e1-1,
    block after block."""
    cdef Py_ssize_t start = e0, nb = _block_of(theta)
    cdef floating loss = 0
    memset(lanes, 0, n_params * _vector_lanes(theta) * sizeof(floating))
    while start < e1:
        loss = _block_pass(theta, layout, L, X, Y, m, start, min(nb, e1 - start),
                           lanes, acts, deltas, half, inv_m, hidden_act, slope, softmax,
                           record, loss)
        start = start + nb
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
    cdef Py_ssize_t c
    for c in range(n_chunks):
        losses[c] = _chunk_pass(theta, n_params, layout, L, X, Y, m,
                                c * per_chunk, min((c + 1) * per_chunk, m),
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
        floating[:, ::1] lanes,                # WORK (threads, P * LANE_COUNT)
        floating[:, ::1] acts,                 # WORK (threads, activation_buffer_size(layout))
        floating[:, ::1] deltas,               # WORK (threads, 2 * max width * BLOCK)
        floating[::1] losses):                 # WORK (n_chunks,)
    """Run ``n_iter`` iterations of full-batch gradient descent in place.

    Layers ``0 .. L-2`` are LINEAR->``hidden_act``, layer ``L-1`` is
    LINEAR->SIGMOID (or SOFTMAX).  Examples are processed in blocks (``_block_of``):
    each block goes forward through all layers and back while its activations
    are in L1.  Blocks are grouped in chunks (``chunking``) that up to
    ``n_threads`` threads process in parallel; the result does not depend on
    the thread count.  Returns the mean cross-entropy (from the logits) of the
    parameters as they were before the first iteration when ``record_first``
    is true, else NaN.  The buffer sizes are checked here (cheaply, before
    releasing the GIL); everything else is trusted.
    """
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef Py_ssize_t per_chunk, n_chunks
    per_chunk, n_chunks = chunking(m)
    cdef int nt = <int>min(<Py_ssize_t>max(n_threads, 1), n_chunks)
    if not FASTINIT_OPENMP:
        nt = 1
    if (grad.shape[0] < n_chunks or grad.shape[1] != n_params or losses.shape[0] < n_chunks
            or lanes.shape[0] < nt or acts.shape[0] < nt or deltas.shape[0] < nt or m == 0
            or layout.shape[0] < 1 or layout.shape[1] != 5
            or not _workspace_fits(layout, n_params, lanes.shape[1], acts.shape[1],
                                   deltas.shape[1], _vector_lanes(&theta[0]))):
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
                        c * per_chunk, min((c + 1) * per_chunk, m),
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
        floating[:, ::1] lanes,                # WORK (threads, P * LANE_COUNT)
        floating[:, ::1] acts,                 # WORK (threads, activation_buffer_size(layout))
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
            or acts.shape[0] < nt or deltas.shape[0] < nt
            or layout.shape[0] < 1 or layout.shape[1] != 5
            or not _workspace_fits(layout, n_params, lanes.shape[1], acts.shape[1],
                                   deltas.shape[1], _vector_lanes(&thetas[0, 0]))
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
        floating[::1] acts):                   # WORK (activation_buffer_size(layout),)
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
    if layout.shape[1] != 5 or acts.shape[0] < activation_buffer_size(layout):
        raise ValueError("activation_statistics: work buffer does not match the problem")
    cdef floating* x_tail = &acts[_x_tail_offset(&layout[0, 0], L)]
    with nogil:
        memset(&sums[0, 0], 0, sums.shape[0] * sums.shape[1] * sizeof(double))
        memset(&alive[0], 0, alive.shape[0] * sizeof(floating))
        for blk in range((m + BLOCK - 1) // BLOCK):
            start = blk * BLOCK
            nb = min(<Py_ssize_t>BLOCK, m - start)
            A_in = &X[0, start]
            lda = m
            if _padded(nb) > nb:
                _copy_padded(x_tail, BLOCK, A_in, m, layout[0, 0], nb, _padded(nb))
                A_in = x_tail
                lda = BLOCK
            unit0 = 0
            for l in range(L):
                n_out = layout[l, 1]
                act = hidden_act if l < L - 1 else (LINEAR if softmax else SIGMOID)
                Z = &acts[layout[l, 4]]
                _linear_forward_block(&theta[layout[l, 2]], &theta[layout[l, 3]],
                                      n_out, layout[l, 0], A_in, lda, Z, BLOCK, _padded(nb), act, slope)
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
