# Tier 4 of fastinit's compiled kernels: the fused training loops, and the one
# forward walk over a block of examples through the layers (``_forward_walk``),
# which they, ``dataset_cost``, ``activation_statistics`` and tier 5's
# ``network_forward`` (the drop-in forward pass, prediction) all use.
#
# Every loop takes the network's *spec* and a *workspace* as two objects
# (``fastinit.engines.spec.NetworkSpec`` and ``Workspace``), read once per call:
#
#   net.layout        (L, N_COLUMNS) intp, the layout table (LAYOUT_COLUMNS)
#   net.hidden_act    activation code of the hidden layers (ACTIVATION_CODES)
#   net.slope         negative slope of leaky_relu
#   net.loss          the output layer and its loss (LOSS_CODES)
#   net.weighted      Y's last row holds sample weights (train_full_batch and
#                     train_minibatch only; see LOSS_WEIGHTED)
#   net.output_mean   recorded losses are means over the outputs (the same two
#                     loops; see LOSS_OUTPUT_MEAN)
#   net.keep          (L,) float64 dropout keep probabilities, or None
#   net.dropout_seed  the dropout masks' seed
#   work.grad, .lanes, .acts, .deltas, .losses: the scratch buffers
#
# beside the data, the parameters, the update (a hyper-parameter vector,
# HYPER_FIELDS) and its state.
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
    return _layer(layout, L - 1)[ACT_AT] + _layer(layout, L - 1)[N_OUT] * BLOCK


def activation_buffer_size(const Py_ssize_t[:, ::1] layout):
    """Values of one thread's activation buffer for the layout table:
    each layer's activations (BLOCK per unit) and room for a padded block of X."""
    return _x_tail_offset(&layout[0, 0], layout.shape[0]) + layout[0, N_IN] * BLOCK


cdef bint _workspace_fits(const Py_ssize_t[:, ::1] layout, Py_ssize_t n_params,
                          Py_ssize_t lanes_size, Py_ssize_t acts_size, Py_ssize_t deltas_size,
                          Py_ssize_t vector_lanes):
    """Whether per-thread lanes, activation and delta buffers of these sizes
    hold what the fused loop writes for this layout (checked before any nogil
    call: the loops themselves trust them)."""
    cdef Py_ssize_t l, widest = 0, L = layout.shape[0]
    for l in range(L):
        widest = max(widest, layout[l, N_OUT])
    return (lanes_size >= n_params * vector_lanes
            and acts_size >= activation_buffer_size(layout)
            and deltas_size >= 2 * widest * BLOCK)


# ------------------------------------------------------- the forward walk
#
# ``_forward_walk`` is the one forward pass over a block of examples through
# the layers: the fused loops' (``_block_forward``, from the layout table and
# theta), ``dataset_cost``'s and ``activation_statistics``' (the same), and
# tier 5's ``network_forward`` (the drop-in ``forward_propagation`` and
# prediction, from the parameter arrays, ``_forward_rows``).  Each caller
# describes the layers in an array of ``WalkLayer``: where each reads its
# weights, where its activations go and what else it keeps, and the walk does
# LINEAR -> (keep Z) -> activation -> (dropout) per layer, in the operations
# the per-layer kernels use, so every caller gets the same bits.

cdef enum:
    SOFTMAX = -1        # WalkLayer.act of a softmax output (over each column; needs KEEP_Z)
    KEEP_NONE = 0       # WalkLayer.keep: nothing kept beside A
    KEEP_Z = 1          # W A_in + b kept (before the activation)
    KEEP_ACTIVATED = 2  # f(W A_in + b) kept (before the dropout)
    WALK_LAYERS = 16    # layers _block_forward describes at a time (a stack array)


cdef struct WalkLayer:
    # one layer of ``_forward_walk``, described by its caller; pointers of the
    # walk's dtype, rows of at least _padded(nb) values
    const void* W       # IN  (n_out, n_in) weights, row-major (row stride n_in)
    const void* b       # IN  (n_out,) bias
    Py_ssize_t n_in
    Py_ssize_t n_out
    void* A             # OUT (n_out, .) activations, row stride lda: the next layer's input
    Py_ssize_t lda
    int keep            # KEEP_NONE, KEEP_Z or KEEP_ACTIVATED
    void* kept          # OUT (n_out, .) what ``keep`` keeps, row stride ldk (unused for KEEP_NONE)
    Py_ssize_t ldk
    int act             # activation code (LINEAR: logits), or SOFTMAX
    bint drop           # dropout on A (the walk's Dropout, keyed by this layer's index)


cdef inline bint _all_finite(const floating* p, Py_ssize_t n) noexcept nogil:
    """No NaN and no infinity among n values: x - x is 0 exactly for finite x
    and NaN otherwise.  The flags are or-ed as integers, a reduction the
    compiler vectorises (a floating-point sum would be one serial chain)."""
    cdef Py_ssize_t i
    cdef int bad = 0
    for i in range(n):
        bad = bad | (p[i] - p[i] != 0)
    return bad == 0


cdef inline bint _rows_finite(const floating* Z, Py_ssize_t ld, Py_ssize_t rows,
                              Py_ssize_t nb) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(rows):
        if not _all_finite(Z + j * ld, nb):
            return False
    return True


cdef inline const floating* _forward_walk(
        const WalkLayer* layers, Py_ssize_t n_layers,
        Py_ssize_t first,                       # index of layers[0] in the network
        const floating* A_in, Py_ssize_t lda,   # IN  (n_in, _padded(nb)) the block's input
        Py_ssize_t start, Py_ssize_t nb,        # the examples start .. start+nb-1
        floating slope,
        const Dropout* dp,                      # the step's dropout (layers with ``drop``), or NULL
        int* overflow,                          # IN/OUT the first layer (1-based) whose Z holds
                                                #     inf or NaN, if still 0; NULL: no check
        bint pad,                               # zero the padded columns (for a backward pass)
        Py_ssize_t* ld_out) noexcept nogil:     # OUT the row stride of the returned block
    """Forward pass of a block through ``n_layers`` layers; returns the last
    layer's activations.  Per layer: A = f(W A_in + b), computed in ``kept``
    and copied to A when it is kept (KEEP_Z: Z kept, then f applied to the
    copy, or the softmax of Z; KEEP_ACTIVATED: f(Z) kept, the copy dropped
    out), else straight in A (ReLU in the product's epilogue); then, with
    ``pad``, the padded columns nb .. _padded(nb)-1 of what the layer wrote
    are zeroed (padded examples add nothing to a gradient; a caller that only
    reads the nb columns passes False), and the dropout is applied.
    ``overflow`` needs KEEP_Z on every layer."""
    cdef Py_ssize_t i, j, n_out, n_in, nbp = _padded(nb), ld, ldk, ldo
    cdef const WalkLayer* d
    cdef const floating* W
    cdef const floating* b
    cdef floating* A
    cdef floating* K
    cdef floating* out
    cdef floating work[2 * BLOCK]  # (_softmax_block)
    for i in range(n_layers):
        d = layers + i
        W = <const floating*>d.W
        b = <const floating*>d.b
        n_in = d.n_in
        n_out = d.n_out
        A = <floating*>d.A
        ld = d.lda
        K = <floating*>d.kept
        ldk = d.ldk
        if d.keep == KEEP_Z:  # Z = W A_in + b kept, A = f(Z) or softmax(Z)
            _walk_product(W, b, n_out, n_in, A_in, lda, K, ldk, nbp, False)
            if overflow != NULL and overflow[0] == 0 and not _rows_finite(K, ldk, n_out, nb):
                overflow[0] = <int>(first + i + 1)
            if pad:
                _zero_padding(K, ldk, n_out, nb, nbp)
            if d.act == SOFTMAX:
                _softmax_block(K, ldk, A, ld, n_out, nb, work)
            else:
                for j in range(n_out):
                    memcpy(A + j * ld, K + j * ldk, nbp * sizeof(floating))
                    _activate_row(A + j * ld, 0, d.act, slope, nbp)
        else:  # A = f(W A_in + b), in A or (KEEP_ACTIVATED) in kept and copied to A
            out = A
            ldo = ld
            if d.keep == KEEP_ACTIVATED:
                out = K
                ldo = ldk
            # (_linear_forward_block: ReLU in the product's epilogue, the others a pass per row)
            _walk_product(W, b, n_out, n_in, A_in, lda, out, ldo, nbp, d.act == RELU)
            if d.act != RELU and d.act != LINEAR:
                for j in range(n_out):
                    _activate_row(out + j * ldo, 0, d.act, slope, nbp)
            if d.keep == KEEP_ACTIVATED:
                if pad:
                    _zero_padding(K, ldk, n_out, nb, nbp)
                for j in range(n_out):
                    memcpy(A + j * ld, K + j * ldk, nbp * sizeof(floating))
        if pad:
            _zero_padding(A, ld, n_out, nb, nbp)
        if d.drop:
            _dropout_rows(A, ld, n_out, nb, start, dp, first + i)
        A_in = A
        lda = ld
    ld_out[0] = lda
    return A_in


cdef inline const floating* _block_forward(
        const floating* theta, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, Py_ssize_t m, Py_ssize_t start, Py_ssize_t nb,
        floating* acts, int hidden_act, floating slope, Py_ssize_t* ldx,
        const Dropout* dp) noexcept nogil:
    """``_forward_walk`` of the ``nb`` examples from ``start`` into ``acts``
    (row stride one block), the layers described by the layout table and
    theta: hidden layers LINEAR->activation at ACT_AT, the output layer's
    logits last.  A partial block is zero-padded to ``_padded(nb)`` examples
    (X copied into the tail of ``acts``, padded activations zeroed).  A
    hidden layer keeps its Z at Z_AT where its activation ``_needs_z``; with
    dropout (``dp`` not NULL) one of keep < 1 keeps its activations before
    dropout at Z_AT instead (for f' in the backward pass) and the dropped,
    rescaled ones at ACT_AT (ReLU's only the dropped ones: f' > 0 exactly
    where a kept unit's A > 0).  Returns where the block of X was read
    (``*ldx``: its row stride)."""
    cdef Py_ssize_t l, l0, n, lda, ld = _block_of(theta)
    cdef const Py_ssize_t* row
    cdef WalkLayer layers[WALK_LAYERS]
    cdef WalkLayer* d
    cdef bint needs_z = _needs_z(hidden_act)
    cdef const floating* X_block = _input_block(X, m, start, nb, layout[N_IN], acts
                                                + _x_tail_offset(layout, L), ld, ldx)
    cdef const floating* A_in = X_block
    lda = ldx[0]
    l0 = 0
    while l0 < L:  # WALK_LAYERS layers at a time
        n = min(<Py_ssize_t>WALK_LAYERS, L - l0)
        for l in range(l0, l0 + n):
            row = _layer(layout, l)
            d = &layers[l - l0]
            d.W = theta + row[W_AT]
            d.b = theta + row[B_AT]
            d.n_in = row[N_IN]
            d.n_out = row[N_OUT]
            d.A = acts + row[ACT_AT]
            d.lda = ld
            d.kept = acts + row[Z_AT]
            d.ldk = ld
            d.keep = KEEP_NONE
            d.act = LINEAR
            d.drop = False
            if l < L - 1:
                d.act = hidden_act
                d.drop = dp != NULL and dp.keep[l] < 1
                if needs_z:  # Z kept at Z_AT, A = f(Z) at ACT_AT
                    d.keep = KEEP_Z
                elif d.drop and hidden_act != RELU:  # A before dropout at Z_AT, dropped at ACT_AT
                    d.keep = KEEP_ACTIVATED
        A_in = _forward_walk(layers, n, l0, A_in, lda, start, nb, slope, dp, NULL, True, &lda)
        l0 = l0 + n
    return X_block


cdef inline floating _block_loss(const floating* Z, Py_ssize_t ld, const floating* Y,
                                 Py_ssize_t ldy, Py_ssize_t n_out, Py_ssize_t nb,
                                 int kind, floating loss) noexcept nogil:
    """``loss`` plus the loss (LOSS_CODES ``kind``) of a block's logits ``Z``:
    one group sum of LOSS_GROUP examples at a time, each added in order."""
    cdef Py_ssize_t s0 = 0
    while s0 < nb:
        loss = loss + _loss_block(kind, Z + s0, ld, Y + s0, ldy, n_out,
                                  min(<Py_ssize_t>LOSS_GROUP, nb - s0))
        s0 = s0 + LOSS_GROUP
    return loss


cdef inline floating _block_pass(
        const floating* theta, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m, Py_ssize_t start, Py_ssize_t nb,
        floating* lanes, floating* acts, floating* deltas, Py_ssize_t half,
        floating inv_m, int hidden_act, floating slope, int loss_kind,
        bint record, floating loss, const Dropout* dp) noexcept nogil:
    """Forward and backward pass of the ``nb`` examples from ``start``: adds
    their gradient into ``lanes``; returns ``loss`` plus their losses when
    ``record``, else ``loss``.  ``layout`` is the layout table of
    ``train_full_batch``.  A partial block is padded with zeros, so the padded
    examples add exactly zero to every gradient."""
    cdef Py_ssize_t l, n_in, n_out, V = _vector_lanes(theta), ldx
    cdef Py_ssize_t nbp = _padded(nb), ld = _block_of(theta)
    cdef const Py_ssize_t* row
    cdef floating* delta = deltas
    cdef floating* delta_prev = deltas + half
    cdef floating* swap
    cdef const floating* F
    cdef bint dropped
    cdef floating work[2 * BLOCK]  # (_softmax_block)
    cdef const floating* X_block = _block_forward(theta, layout, L, X, m, start, nb, acts,
                                                  hidden_act, slope, &ldx, dp)
    cdef floating* Z = acts + _layer(layout, L - 1)[ACT_AT]
    cdef int kind = loss_kind & LOSS_KIND
    cdef const floating* w = NULL  # the examples' weights (LOSS_WEIGHTED), else NULL
    cdef floating block
    cdef Py_ssize_t i, j
    # output layer: loss (only when recorded) and dZ = (p - Y) / m
    n_out = _layer(layout, L - 1)[N_OUT]
    if loss_kind & LOSS_WEIGHTED:
        w = Y + n_out * m + start
    if record and w == NULL and not (loss_kind & LOSS_OUTPUT_MEAN):
        loss = _block_loss(Z, ld, Y + start, m, n_out, nb, kind, loss)
    elif record:  # each example's loss times its weight, in order; then / n_out
        block = 0
        if w == NULL:
            block = _block_loss(Z, ld, Y + start, m, n_out, nb, kind, block)
        else:
            for i in range(nb):
                block = block + w[i] * _loss_block(kind, Z + i, ld, Y + start + i, m, n_out, 1)
        if loss_kind & LOSS_OUTPUT_MEAN:
            block = block / n_out
        loss = loss + block
    _output_gradient_block(Z, ld, Y + start, m, inv_m, kind, delta, ld, n_out, nb, work)
    if w != NULL:
        for j in range(n_out):
            for i in range(nb):
                delta[j * ld + i] = delta[j * ld + i] * w[i]
    _zero_padding(delta, ld, n_out, nb, nbp)
    # backward, from the output layer down to the first
    for l in range(L - 1, -1, -1):
        row = _layer(layout, l)
        n_in = row[N_IN]
        n_out = row[N_OUT]
        if l == 0:
            _linear_backward_block(theta + row[W_AT], n_out, n_in, delta, ld, X_block, ldx,
                                   X_block, ldx, lanes + row[W_AT] * V, lanes + row[B_AT] * V,
                                   NULL, 0, LINEAR, 0, nbp)
        else:  # f' of the layer below from its A, or its Z (kept at Z_AT) where needed
            dropped = dp != NULL and dp.keep[l - 1] < 1
            F = acts + _layer(layout, l - 1)[Z_AT]
            if dropped and hidden_act == RELU:  # relu' of the dropped A: 0 where dropped
                F = acts + _layer(layout, l - 1)[ACT_AT]
            _linear_backward_block(theta + row[W_AT], n_out, n_in, delta, ld,
                                   acts + _layer(layout, l - 1)[ACT_AT], ld, F, ld,
                                   lanes + row[W_AT] * V, lanes + row[B_AT] * V,
                                   delta_prev, ld, hidden_act, slope, nbp)
            if dropped and hidden_act == RELU:  # through the dropout: 1 / keep where kept
                _scale_rows(delta_prev, ld, n_in, nb, <floating>(1.0 / dp.keep[l - 1]))
            elif dropped:  # the same mask, recomputed
                _dropout_rows(delta_prev, ld, n_in, nb, start, dp, l - 1)
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
        floating inv_m, int hidden_act, floating slope, int loss_kind,
        bint record, const Dropout* dp) noexcept nogil:
    """Gradient (and summed loss, when ``record``) of examples e0 .. e1-1,
    block after block."""
    cdef Py_ssize_t start = e0, nb = _block_of(theta)
    cdef floating loss = 0
    memset(lanes, 0, n_params * _vector_lanes(theta) * sizeof(floating))
    while start < e1:
        loss = _block_pass(theta, layout, L, X, Y, m, start, min(nb, e1 - start),
                           lanes, acts, deltas, half, inv_m, hidden_act, slope, loss_kind,
                           record, loss, dp)
        start = start + nb
    _reduce_lanes(lanes, n_params, grad)
    return loss


cdef inline floating _finish_iteration(
        floating* theta, floating* grad, const floating* losses,
        Py_ssize_t n_chunks, Py_ssize_t n_params, const Optim* o, floating* state,
        Py_ssize_t t, const Py_ssize_t* layout, Py_ssize_t L, floating inv_m) noexcept nogil:
    """Add the chunk gradients (rows of ``grad``, row 0 receives the sum) and
    the chunk losses in chunk order, then take step t of the update
    (``_update``); returns the summed loss plus m times the L2 penalty
    (meaningful only when the chunks recorded it)."""
    cdef Py_ssize_t c, p
    cdef floating loss_sum = losses[0]
    for c in range(1, n_chunks):
        loss_sum = loss_sum + losses[c]
        for p in range(n_params):
            grad[p] = grad[p] + grad[c * n_params + p]
    return loss_sum + _update(theta, grad, state, n_params, o, t, layout, L, inv_m)


cdef floating _iteration(
        floating* theta, Py_ssize_t n_params, const Py_ssize_t* layout, Py_ssize_t L,
        const floating* X, const floating* Y, Py_ssize_t m,
        floating* lanes, floating* acts, floating* deltas,   # WORK per thread, rows of:
        Py_ssize_t lanes_row, Py_ssize_t acts_row, Py_ssize_t deltas_row,
        floating* grad, floating* losses,       # WORK (n_chunks, n_params), (n_chunks,)
        int hidden_act, floating slope, int loss_kind, bint record,
        const Optim* o, floating* state, Py_ssize_t t, int nt,
        const Dropout* dropout, floating inv_m) noexcept nogil:
    """Step t (1 for the first) of training on the m examples of X: the chunks
    (``chunking``) on up to ``nt`` threads or one after the other, the same
    operations either way (so the same bits); returns the summed loss of the
    parameters before the step when ``record``.  ``inv_m`` is
    ``_inverse_count``: 1 / m, or 1 / the sum of the weights."""
    cdef Py_ssize_t c, tid, per_chunk = _per_chunk(m), n_chunks = _n_chunks(m)
    cdef Py_ssize_t half = deltas_row // 2
    cdef Dropout d
    cdef const Dropout* dp = NULL
    if dropout != NULL:  # this step's masks
        d = dropout[0]
        d.step = t
        dp = &d
    if nt <= 1 or n_chunks == 1:
        for c in range(n_chunks):
            losses[c] = _chunk_pass(theta, n_params, layout, L, X, Y, m,
                                    c * per_chunk, min((c + 1) * per_chunk, m),
                                    lanes, acts, deltas, half, grad + c * n_params,
                                    inv_m, hidden_act, slope, loss_kind, record, dp)
    else:
        for c in prange(n_chunks, num_threads=nt, schedule="static"):
            tid = threadid()
            losses[c] = _chunk_pass(theta, n_params, layout, L, X, Y, m,
                                    c * per_chunk, min((c + 1) * per_chunk, m),
                                    lanes + tid * lanes_row, acts + tid * acts_row,
                                    deltas + tid * deltas_row, half, grad + c * n_params,
                                    inv_m, hidden_act, slope, loss_kind, record, dp)
    return _finish_iteration(theta, grad, losses, n_chunks, n_params, o, state, t, layout, L,
                             inv_m)


cdef bint _buffers_fit(const Py_ssize_t[:, ::1] layout, Py_ssize_t n_params, Py_ssize_t m,
                       Py_ssize_t rows, int nt, floating[:, ::1] grad, floating[:, ::1] lanes,
                       floating[:, ::1] acts, floating[:, ::1] deltas,
                       floating[:, ::1] losses):
    """Whether the work buffers (see ``fastinit.engines.spec.workspace``) fit a
    problem of m examples: ``rows`` rows of chunk gradients and chunk losses
    (one per model trained at once), per-thread buffers for nt threads
    (checked before releasing the GIL; the loops trust them)."""
    return not (grad.shape[0] < rows or grad.shape[1] < _n_chunks(m) * n_params
                or losses.shape[0] < rows or losses.shape[1] < _n_chunks(m)
                or lanes.shape[0] < nt or acts.shape[0] < nt
                or deltas.shape[0] < nt or m == 0 or layout.shape[0] < 1
                or layout.shape[1] != N_COLUMNS
                or not _workspace_fits(layout, n_params, lanes.shape[1], acts.shape[1],
                                       deltas.shape[1], _vector_lanes(&grad[0, 0])))


cdef int _threads_of(int n_threads, Py_ssize_t m) noexcept nogil:
    """Threads an iteration on m examples starts: at most one per chunk, one
    without OpenMP."""
    if not FASTINIT_OPENMP:
        return 1
    return <int>min(<Py_ssize_t>max(n_threads, 1), _n_chunks(m))


cdef bint _state_fits(const double[::1] hyper, Py_ssize_t n_params, Py_ssize_t rows,
                      Py_ssize_t cols, Py_ssize_t first_step):
    """Whether an optimizer state of ``rows`` x ``cols`` holds the slots of
    this hyper-parameter vector for n_params parameters (``cols`` is
    n_params, or n_params * slots for the rows of train_models)."""
    if hyper.shape[0] != N_HYPER or first_step < 0:
        return False
    cdef Optim o = _read_optim(&hyper[0])
    cdef Py_ssize_t slots = _slots_of(&o)
    if cols == n_params:
        return rows >= max(slots, 1)
    return rows >= 1 and cols >= max(slots, 1) * n_params


cdef bint _dropout_fits(const Py_ssize_t[:, ::1] layout, const double[::1] keep):
    """Whether per-layer keep probabilities fit the layout table: one per
    layer, in (0, 1], 1 for the output layer, and a hidden layer of keep < 1
    has room for its activations before dropout at Z_AT (``layout_of``)."""
    cdef Py_ssize_t l, L = layout.shape[0]
    if keep.shape[0] != L or not keep[L - 1] == 1 or layout.shape[1] != N_COLUMNS:
        return False
    for l in range(L):
        if not (0 < keep[l] <= 1):
            return False
        if keep[l] < 1 and layout[l, ACT_AT] - layout[l, Z_AT] < layout[l, N_OUT] * BLOCK:
            return False
    return True


cdef const Dropout* _dropout_of(Dropout* d, const double[::1] keep, unsigned long long seed):
    """The loop's dropout (``d`` filled), or NULL where no layer drops."""
    cdef Py_ssize_t l
    if keep is None:
        return NULL
    for l in range(keep.shape[0]):
        if keep[l] < 1:
            d.keep = &keep[0]
            d.seed = seed
            d.step = 0
            return d
    return NULL


cdef int _unweighted_loss(object net) except -1:
    """The spec's loss code, for the loops that take no sample weights."""
    if net.weighted or net.output_mean:
        raise ValueError("sample weights and output means are taken by train_full_batch "
                         "and train_minibatch only")
    return net.loss


cdef int _weighted_loss(object net, Py_ssize_t y_rows) except -1:
    """The spec's loss code, or'ed with LOSS_WEIGHTED when ``net.weighted``
    (and LOSS_OUTPUT_MEAN when ``net.output_mean``);
    Y must then hold one row more than the outputs (the weights).  Checked
    here: the weighted loops read that row."""
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef Py_ssize_t n_out = layout[layout.shape[0] - 1, N_OUT]
    if y_rows != n_out + (1 if net.weighted else 0):
        raise ValueError(f"Y has {y_rows} rows; the network has {n_out} outputs"
                         f"{' and sample weights' if net.weighted else ''}")
    return (net.loss | (LOSS_WEIGHTED if net.weighted else 0)
            | (LOSS_OUTPUT_MEAN if net.output_mean else 0))


def train_full_batch(
        object net,                            # IN  the network's spec (see the tier's header)
        object work,                           # WORK its workspace (see the tier's header)
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[:, ::1] Y,              # IN  (n_L, m) targets (one-hot for LOSS_CCE)
        floating[::1] theta,                   # IN/OUT all parameters, flat
        const double[::1] hyper,               # IN  (N_HYPER,) the update (HYPER_FIELDS)
        floating[:, ::1] state,                # IN/OUT (>= slots, P) optimizer state
        Py_ssize_t first_step,                 # steps already taken (the schedule's counter)
        Py_ssize_t n_iter,
        bint record_first,
        int n_threads):                        # upper bound; at most one per chunk
    """Run steps ``first_step + 1 .. first_step + n_iter`` of full-batch
    training in place: gradient, then the update of ``hyper`` (``_update``).

    Layers ``0 .. L-2`` are LINEAR->``hidden_act``, layer ``L-1`` is LINEAR
    followed by the output of ``loss`` (sigmoid, softmax or identity).
    Examples are processed in blocks (``_block_of``):
    each block goes forward through all layers and back while its activations
    are in L1.  Blocks are grouped in chunks (``chunking``) that up to
    ``n_threads`` threads process in parallel; the result does not depend on
    the thread count.  Returns the mean loss (from the logits) plus the L2
    penalty of the parameters as they were before the first iteration when
    ``record_first`` is true, else NaN (with dropout: the loss of the
    dropped network).  Dropout (``keep``, see ``_kernels_dropout.pxi``) needs
    a layout table from ``layout_of`` with the same keep probabilities.  The
    buffer sizes are checked here (cheaply, before releasing the GIL);
    everything else is trusted.
    """
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef int hidden_act = net.hidden_act, loss = _weighted_loss(net, Y.shape[0])
    cdef floating slope = net.slope
    cdef const double[::1] keep = net.keep
    cdef unsigned long long dropout_seed = net.dropout_seed
    cdef floating[:, ::1] grad = work.grad
    cdef floating[:, ::1] lanes = work.lanes
    cdef floating[:, ::1] acts = work.acts
    cdef floating[:, ::1] deltas = work.deltas
    cdef floating[:, ::1] losses = work.losses
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef int nt = _threads_of(n_threads, m)
    if (not _buffers_fit(layout, n_params, m, 1, nt, grad, lanes, acts, deltas, losses)
            or not _state_fits(hyper, n_params, state.shape[0], state.shape[1], first_step)
            or (keep is not None and not _dropout_fits(layout, keep))):
        raise ValueError("train_full_batch: work buffers do not match the problem")
    cdef Optim o = _read_optim(&hyper[0])
    cdef Dropout d
    cdef const Dropout* dp = _dropout_of(&d, keep, dropout_seed)
    cdef Py_ssize_t it
    cdef floating inv_m = _inverse_count(&Y[0, 0], layout[L - 1, N_OUT], m, loss)
    cdef floating loss_sum, recorded = 0
    cdef bint record
    with nogil:
        for it in range(n_iter):
            record = record_first and it == 0
            loss_sum = _iteration(&theta[0], n_params, &layout[0, 0], L, &X[0, 0], &Y[0, 0], m,
                                  &lanes[0, 0], &acts[0, 0], &deltas[0, 0], lanes.shape[1],
                                  acts.shape[1], deltas.shape[1], &grad[0, 0], &losses[0, 0],
                                  hidden_act, slope, loss, record, &o, &state[0, 0],
                                  first_step + it + 1, nt, dp, inv_m)
            if record:
                recorded = loss_sum
    if record_first and n_iter > 0:
        return inv_m * recorded
    return float("nan")


def train_models(
        object net,                            # IN  the network's spec, as for train_full_batch
        object work,                           # WORK one row of grad and losses per thread
        const floating[:, ::1] X,              # IN  (n_x, m), shared by every model
        const floating[:, ::1] Y,              # IN  (n_L, m)
        floating[:, ::1] thetas,               # IN/OUT (K, P): the parameters of K models
        const double[:, ::1] hypers,           # IN  (K, N_HYPER): each model's update
        floating[:, ::1] states,               # IN/OUT (K, slots * P): each model's state rows
        Py_ssize_t first_step,
        Py_ssize_t n_iter,
        bint record_first,
        int n_threads,                         # models trained at once
        floating[::1] costs,                   # OUT (K,): as train_full_batch returns
        const uint64_t[::1] dropout_seeds=None):  # IN (K,) each model's dropout seed (else net's)
    """``n_iter`` iterations of full-batch gradient descent for each of K
    models of one shape on the same data, in one call: up to ``n_threads``
    models at a time, each on one thread running its iterations back to back
    while the data stay in its cache.  Every model gets the very operations of
    ``train_full_batch`` (chunk by chunk), so its bits equal a call of that
    kernel on it alone, for any thread count."""
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef int hidden_act = net.hidden_act, loss = _unweighted_loss(net)
    cdef floating slope = net.slope
    cdef const double[::1] keep = net.keep
    cdef unsigned long long dropout_seed = net.dropout_seed
    cdef floating[:, ::1] grad = work.grad
    cdef floating[:, ::1] lanes = work.lanes
    cdef floating[:, ::1] acts = work.acts
    cdef floating[:, ::1] deltas = work.deltas
    cdef floating[:, ::1] losses = work.losses
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = thetas.shape[1]
    cdef Py_ssize_t K = thetas.shape[0]
    cdef int nt = <int>min(<Py_ssize_t>max(n_threads, 1), max(K, 1)) if FASTINIT_OPENMP else 1
    if (not _buffers_fit(layout, n_params, m, nt, nt, grad, lanes, acts, deltas, losses)
            or hypers.shape[0] != K or states.shape[0] != K or costs.shape[0] != K
            or (keep is not None and not _dropout_fits(layout, keep))):
        raise ValueError("train_models: work buffers do not match the problem")
    cdef Dropout d
    cdef const Dropout* dp = _dropout_of(&d, keep, dropout_seed)
    if dropout_seeds is not None and dropout_seeds.shape[0] != K:
        raise ValueError("train_models: work buffers do not match the problem")
    cdef Py_ssize_t k, it, tid
    cdef Optim* opts = <Optim*>malloc(max(K, 1) * sizeof(Optim))
    cdef Dropout* drops = <Dropout*>malloc(max(K, 1) * sizeof(Dropout))
    if opts == NULL or drops == NULL:
        free(opts)
        free(drops)
        raise MemoryError()
    for k in range(K):
        if not _state_fits(hypers[k], n_params, 1, states.shape[1], first_step):
            free(opts)
            free(drops)
            raise ValueError("train_models: work buffers do not match the problem")
        opts[k] = _read_optim(&hypers[k, 0])
        if dp != NULL:  # each model's masks from its own seed
            drops[k] = d
            if dropout_seeds is not None:
                drops[k].seed = dropout_seeds[k]
    cdef floating inv_m = 1.0 / m
    cdef floating loss_sum
    if K == 0:
        free(opts)
        free(drops)
        return
    with nogil:
        for k in prange(K, num_threads=nt, schedule="dynamic"):
            tid = threadid()
            costs[k] = NAN
            for it in range(n_iter):
                loss_sum = _iteration(&thetas[k, 0], n_params, &layout[0, 0], L, &X[0, 0],
                                      &Y[0, 0], m, &lanes[tid, 0], &acts[tid, 0], &deltas[tid, 0],
                                      0, 0, deltas.shape[1], &grad[tid, 0], &losses[tid, 0],
                                      hidden_act, slope, loss, record_first and it == 0,
                                      &opts[k], &states[k, 0], first_step + it + 1, 1,
                                      &drops[k] if dp != NULL else NULL, inv_m)
                if record_first and it == 0:
                    costs[k] = inv_m * loss_sum
    free(opts)
    free(drops)


def dataset_cost(
        object net,                            # IN  the network's spec (its dropout is not used)
        object work,                           # WORK its acts and losses
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[:, ::1] Y,              # IN  (n_L, m) labels as for train_full_batch
        const floating[::1] theta,             # IN  all parameters, flat
        int n_threads,
        double l2=0):                          # the L2 penalty's coefficient (HYPER_FIELDS "l2")
    """Mean loss (from the logits) of the parameters ``theta`` on the data,
    plus the L2 penalty (l2 / 2m) * sum of squared weights: the forward half
    of ``train_full_batch``'s recording iteration, with the same sums in the
    same order, so the same bits as the cost it records."""
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef int hidden_act = net.hidden_act, loss = _unweighted_loss(net)
    cdef floating slope = net.slope
    cdef floating[:, ::1] acts = work.acts
    cdef floating[:, ::1] losses = work.losses
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef int nt = _threads_of(n_threads, m)
    if (acts.shape[0] < nt or losses.shape[1] < _n_chunks(m) or m == 0
            or layout.shape[1] != N_COLUMNS or acts.shape[1] < activation_buffer_size(layout)):
        raise ValueError("dataset_cost: work buffers do not match the problem")
    cdef Py_ssize_t c, start, end, nb, ldx, per_chunk = _per_chunk(m), blk = _block_of(&theta[0])
    cdef floating total, loss_c
    cdef const Py_ssize_t* lay = &layout[0, 0]
    cdef Py_ssize_t at = _layer(lay, L - 1)[ACT_AT], n_out = _layer(lay, L - 1)[N_OUT]
    cdef floating* A
    with nogil:
        for c in prange(_n_chunks(m), num_threads=nt, schedule="static"):
            A = &acts[threadid(), 0]
            start = c * per_chunk
            end = min(start + per_chunk, m)
            loss_c = 0
            while start < end:
                nb = min(blk, end - start)
                _block_forward(&theta[0], lay, L, &X[0, 0], m, start, nb, A, hidden_act, slope,
                               &ldx, NULL)
                loss_c = _block_loss(A + at, blk, &Y[0, start], m, n_out, nb, loss, loss_c)
                start = start + blk
            losses[0, c] = loss_c
        total = losses[0, 0]
        for c in range(1, _n_chunks(m)):
            total = total + losses[0, c]
        if l2 != 0:
            total = total + <floating>0.5 * <floating>l2 * _squared_weights(&theta[0], lay, L)
    return (1.0 / m) * total


cdef void _shuffle(Py_ssize_t* order, Py_ssize_t m, uint64_t seed, Py_ssize_t epoch) noexcept nogil:
    """``order`` = the permutation of 0 .. m-1 of this epoch: a Fisher-Yates
    shuffle driven by SplitMix64 seeded from (seed, epoch), so each epoch's
    order follows from the seed alone, whatever ran before."""
    cdef uint64_t state = seed
    cdef Py_ssize_t i, j, t
    state = _splitmix64(&state) ^ (<uint64_t>epoch * <uint64_t>0xD1B54A32D192ED03)
    for i in range(m):
        order[i] = i
    for i in range(m - 1, 0, -1):
        # a 53-bit uniform fraction scaled to 0 .. i (exact in double for i < 2^31)
        j = <Py_ssize_t>(<double>(_splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0) * (i + 1))
        t = order[i]
        order[i] = order[j]
        order[j] = t


def epoch_order(unsigned long long seed, Py_ssize_t epoch, Py_ssize_t[::1] order):
    """Fill ``order`` with the shuffled example order of mini-batch epoch
    ``epoch`` for this seed (what ``train_minibatch`` uses)."""
    with nogil:
        _shuffle(&order[0], order.shape[0], seed, epoch)


cdef void _gather(const floating* src, Py_ssize_t rows, Py_ssize_t m,
                  const Py_ssize_t* columns, Py_ssize_t n, floating* dst) noexcept nogil:
    """dst (rows, n), contiguous = the given columns of src (rows, m)."""
    cdef Py_ssize_t r, j
    for r in range(rows):
        for j in range(n):
            dst[r * n + j] = src[r * m + columns[j]]


def train_minibatch(
        object net,                            # IN  the network's spec, as for train_full_batch
        object work,                           # WORK sized for the batches
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[:, ::1] Y,              # IN  (n_L, m)
        floating[::1] theta,                   # IN/OUT all parameters, flat
        const double[::1] hyper,               # IN  (N_HYPER,) the update, as for train_full_batch
        floating[:, ::1] state,                # IN/OUT (>= slots, P) optimizer state
        Py_ssize_t batch_size,
        Py_ssize_t first_step,                 # global index of the first step of this call
        Py_ssize_t n_steps,
        unsigned long long seed,
        Py_ssize_t[::1] order,                 # IN/OUT (m,) the example order of epoch ``order_epoch``
        Py_ssize_t order_epoch,                # epoch whose order ``order`` holds (-1: none)
        int n_threads,
        floating[::1] X_batch,                 # WORK (n_x * batch_size,)
        floating[::1] Y_batch,                 # WORK (n_L * batch_size,)
        floating[::1] batch_losses=None,       # OUT (>= n_steps,) or None
        Py_ssize_t epoch_origin=0):            # the step that starts epoch 0
    """Run mini-batch gradient descent steps ``first_step .. first_step +
    n_steps - 1`` in place.  Step s takes batch ``k = (s - epoch_origin) %
    n_batches`` of epoch ``(s - epoch_origin) // n_batches``: the examples of
    that epoch in the order ``epoch_order(seed, epoch)``, cut into batches of
    ``batch_size`` (the last one shorter when batch_size does not divide m),
    gathered into contiguous buffers and stepped by the full-batch iteration
    on them (update step s + 1 of ``hyper``: the L2 penalty's mean is over the
    batch).  An order the caller filled is used as it is for the epoch it
    passes as ``order_epoch`` (scikit-learn's epochs: its own shuffle).  With
    ``batch_losses``, step s writes the summed loss of its batch, before its
    update, plus the batch size times the L2 penalty, at ``s - first_step``.
    Returns the epoch whose order ``order`` holds at the end (pass it back
    next call)."""
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef int hidden_act = net.hidden_act, loss = _weighted_loss(net, Y.shape[0])
    cdef floating slope = net.slope
    cdef const double[::1] keep = net.keep
    cdef unsigned long long dropout_seed = net.dropout_seed
    cdef floating[:, ::1] grad = work.grad
    cdef floating[:, ::1] lanes = work.lanes
    cdef floating[:, ::1] acts = work.acts
    cdef floating[:, ::1] deltas = work.deltas
    cdef floating[:, ::1] losses = work.losses
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1], n_params = theta.shape[0]
    cdef Py_ssize_t n_x = X.shape[0], n_y = Y.shape[0]
    if batch_size < 1 or order.shape[0] != m or m == 0:
        raise ValueError("train_minibatch: batch size or order do not match the problem")
    cdef Py_ssize_t n_batches = (m + batch_size - 1) // batch_size
    cdef Py_ssize_t last = m - (n_batches - 1) * batch_size
    cdef int nt = max(_threads_of(n_threads, batch_size), _threads_of(n_threads, last))
    if (X_batch.shape[0] < n_x * batch_size or Y_batch.shape[0] < n_y * batch_size
            or not _buffers_fit(layout, n_params, batch_size, 1, nt, grad, lanes, acts, deltas,
                                losses)
            or not _buffers_fit(layout, n_params, last, 1, nt, grad, lanes, acts, deltas, losses)
            or not _state_fits(hyper, n_params, state.shape[0], state.shape[1], first_step)
            or (keep is not None and not _dropout_fits(layout, keep))):
        raise ValueError("train_minibatch: work buffers do not match the problem")
    if (n_steps < 0 or first_step < epoch_origin
            or (batch_losses is not None and batch_losses.shape[0] < n_steps)):
        raise ValueError("train_minibatch: steps, epoch origin or batch losses do not match")
    cdef Py_ssize_t i
    if n_steps > 0 and (first_step - epoch_origin) // n_batches == order_epoch:
        for i in range(m):  # an order the caller filled: every index must be an example's
            if order[i] < 0 or order[i] >= m:
                raise ValueError("train_minibatch: order holds an index outside 0 .. m - 1")
    cdef Optim o = _read_optim(&hyper[0])
    cdef Dropout d
    cdef const Dropout* dp = _dropout_of(&d, keep, dropout_seed)
    cdef Py_ssize_t s, epoch, k, nb
    cdef bint record = batch_losses is not None
    cdef floating* recorded = &batch_losses[0] if record and n_steps > 0 else NULL
    cdef floating got
    with nogil:
        for s in range(first_step, first_step + n_steps):
            epoch = (s - epoch_origin) // n_batches
            k = (s - epoch_origin) % n_batches
            if epoch != order_epoch:
                _shuffle(&order[0], m, seed, epoch)
                order_epoch = epoch
            nb = min(batch_size, m - k * batch_size)
            _gather(&X[0, 0], n_x, m, &order[k * batch_size], nb, &X_batch[0])
            _gather(&Y[0, 0], n_y, m, &order[k * batch_size], nb, &Y_batch[0])
            got = _iteration(&theta[0], n_params, &layout[0, 0], L, &X_batch[0], &Y_batch[0], nb,
                             &lanes[0, 0], &acts[0, 0], &deltas[0, 0], lanes.shape[1],
                             acts.shape[1], deltas.shape[1], &grad[0, 0], &losses[0, 0],
                             hidden_act, slope, loss, record, &o, &state[0, 0], s + 1,
                             _threads_of(n_threads, nb), dp,
                             _inverse_count(&Y_batch[0], layout[L - 1, N_OUT], nb, loss))
            if record:
                recorded[s - first_step] = got
    return order_epoch


def activation_statistics(
        object net,                            # IN  the network's spec (its dropout is not used)
        const floating[:, ::1] X,              # IN  (n_x, m)
        const floating[::1] theta,             # IN  all parameters, flat
        double[:, ::1] sums,                   # OUT (L, 3): sum a, sum a^2, saturated count
        floating[::1] alive,                   # OUT (sum of widths,): 1 where a unit was ever > 0
        floating[::1] acts):                   # WORK (activation_buffer_size(layout),)
    """One forward pass that only gathers per-layer statistics of the
    activations (hidden layers: after the activation; output layer: its
    output, the probabilities of the cross-entropies).  The walk is the
    training loops' ``_block_forward``.  "Saturated": |a| > 0.99 for tanh,
    a < 0.01 or a > 0.99 for sigmoid and the output probabilities, never for
    the other activations (nor the identity output of "mse")."""
    cdef const Py_ssize_t[:, ::1] layout = net.layout
    cdef int hidden_act = net.hidden_act, loss = _unweighted_loss(net)
    cdef floating slope = net.slope
    cdef Py_ssize_t L = layout.shape[0], m = X.shape[1]
    cdef Py_ssize_t start, nb, l, j, i, n_out, unit0, ldx, ld
    cdef int act
    cdef floating a
    cdef floating work[2 * BLOCK]
    cdef floating* Z
    cdef double s, s2, sat
    if layout.shape[1] != N_COLUMNS or acts.shape[0] < activation_buffer_size(layout):
        raise ValueError("activation_statistics: work buffer does not match the problem")
    ld = _block_of(&theta[0])
    with nogil:
        memset(&sums[0, 0], 0, sums.shape[0] * sums.shape[1] * sizeof(double))
        memset(&alive[0], 0, alive.shape[0] * sizeof(floating))
        start = 0
        while start < m:
            nb = min(ld, m - start)
            _block_forward(&theta[0], &layout[0, 0], L, &X[0, 0], m, start, nb, &acts[0],
                           hidden_act, slope, &ldx, NULL)
            unit0 = 0
            for l in range(L):
                n_out = layout[l, N_OUT]
                Z = &acts[layout[l, ACT_AT]]
                act = hidden_act
                if l == L - 1:  # the output: logits -> the loss's output
                    _output_block(loss, Z, ld, Z, ld, n_out, nb, work)
                    # probabilities saturate as a sigmoid's
                    act = SIGMOID if _output_is_probability(loss) else LINEAR
                s = 0
                s2 = 0
                sat = 0
                for j in range(n_out):
                    for i in range(nb):
                        a = Z[j * ld + i]
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
            start = start + ld
