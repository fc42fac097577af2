# Tier 5 of fastinit's compiled kernels: whole-network passes behind the
# notebook's drop-in functions (forward_propagation, backward_propagation,
# update_parameters, compute_loss) and prediction.
#
# Each entry point takes the caller's own objects (the parameter dict, the
# forward cache, the label array) and checks them in C while it holds the GIL:
# exact ndarrays of one float dtype, native byte order, aligned and
# C-contiguous, shapes that chain, finite values, valid labels.  It returns
# None when any check fails, and the Python layer (``fastinit.nn.network``) then
# validates and converts the inputs itself, raising the error a user should
# see, and calls the entry point again on clean arrays.  Valid inputs thus
# cost a few flag and shape comparisons and one finiteness pass in C, and are
# never copied.
#
# The shapes and data pointers are read once into C variables, and the arrays
# are referenced (``arrays``) for the whole call: a caller who reshapes an
# array in place or rebinds a dict entry from another thread while a kernel
# runs cannot change what the kernel reads (a reshape keeps the size, the data
# stay alive while referenced, and NumPy refuses to resize a referenced
# array).  Every shape is read *before* anything that may release the GIL (the
# finiteness pass over a large array does): a shape read after a release could
# be a shape another thread set meanwhile.
#
# Passes walk the examples block by block through every layer, with the tier-2
# routines of the fused loop: the same operations, so the same bits as the
# per-layer kernels and the fused loop's gradient.  The forward pass is the
# fused loop's own walk, ``_forward_walk`` (tier 4): ``_forward_rows`` only
# describes the layers to it (the parameter arrays, the output arrays or the
# scratch, the sigmoid or softmax output) and copies a partial block out.
# Examples are cut into the fused loop's chunks (``chunking``); threads take
# whole chunks and weight gradients are summed chunk by chunk in chunk order,
# so the result does not depend on the thread count.

cimport numpy as cnp
cnp.import_array()

cdef enum:
    MAX_NETWORK_LAYERS = 64    # deeper networks take the validating path
    NOGIL_MIN_VALUES = 65536   # checks of fewer values keep the GIL (cheaper than a release)
    MAX_THREADS = MAX_CHUNKS   # threads of one pass: at most one per chunk (_threads_of)


cdef struct Net:
    # a network's shape and parameters, read by _Network.read; weight l (0-based)
    # is (dims[l+1], dims[l]); its gradient sits at offset[l] of a flat vector
    # (W then b, the layout of ``fastinit.engines.spec.pack``)
    Py_ssize_t L
    Py_ssize_t n_params
    Py_ssize_t dims[MAX_NETWORK_LAYERS + 1]
    void* W[MAX_NETWORK_LAYERS]
    void* b[MAX_NETWORK_LAYERS]
    Py_ssize_t offset[MAX_NETWORK_LAYERS]


cdef struct Pointers:
    void* p[MAX_NETWORK_LAYERS]


cdef bint _float_array(object obj, int typenum, int ndim) noexcept:
    """Whether ``obj`` is an ndarray the kernels read directly: exactly an
    ndarray of this typenum and ndim, native, aligned, C-contiguous, non-empty."""
    if not cnp.PyArray_CheckExact(obj):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>obj
    return (cnp.PyArray_TYPE(a) == typenum and cnp.PyArray_NDIM(a) == ndim
            and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)
            and cnp.PyArray_ISNOTSWAPPED(a) and cnp.PyArray_SIZE(a) > 0)


cdef inline Py_ssize_t _dim(object obj, int axis) noexcept:
    return cnp.PyArray_DIMS(<cnp.ndarray>obj)[axis]


cdef inline void* _data(object obj) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>obj)


cdef bint _finite(object obj) noexcept:
    """All values of a float32 or float64 array checked by _float_array are finite."""
    cdef void* p = _data(obj)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>obj)
    cdef bint is_double = cnp.PyArray_TYPE(<cnp.ndarray>obj) == cnp.NPY_DOUBLE
    cdef bint ok
    if n < NOGIL_MIN_VALUES:
        return _all_finite(<double*>p, n) if is_double else _all_finite(<float*>p, n)
    with nogil:
        ok = _all_finite(<double*>p, n) if is_double else _all_finite(<float*>p, n)
    return ok


cdef object _new_array(Py_ssize_t rows, Py_ssize_t cols, int typenum):
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = cols
    return cnp.PyArray_EMPTY(2, dims, typenum, 0)


_KEYS = {}


cdef tuple _keys(Py_ssize_t L):
    """(W, b, dW, db, dz, da) key lists of a depth-L network, made once per L."""
    keys = _KEYS.get(L)
    if keys is None:
        keys = _KEYS[L] = tuple([f"{name}{l}" for l in range(1, L + 1)]
                                for name in ("W", "b", "dW", "db", "dz", "da"))
    return keys


cdef class _Network:
    """A network's parameters checked and read into a ``Net``; the arrays
    themselves are referenced in ``arrays`` for as long as the object lives."""
    cdef Net s
    cdef int typenum
    cdef list arrays

    cdef bint read(self, list W_list, list b_list):
        """Check W1..WL and b1..bL and read them in; False when they are not
        finite arrays of one float dtype the kernels can use as they are."""
        cdef Py_ssize_t l, L = len(W_list), off = 0
        if L < 1 or L > MAX_NETWORK_LAYERS or len(b_list) != L:
            return False
        if not cnp.PyArray_CheckExact(W_list[0]):
            return False
        self.typenum = cnp.PyArray_TYPE(<cnp.ndarray>W_list[0])
        if self.typenum != cnp.NPY_DOUBLE and self.typenum != cnp.NPY_FLOAT:
            return False
        self.arrays = [W_list, b_list]
        self.s.L = L
        for l in range(L):
            W = W_list[l]
            b = b_list[l]
            if not _float_array(W, self.typenum, 2):
                return False
            if l == 0:
                self.s.dims[0] = _dim(W, 1)
            elif _dim(W, 1) != self.s.dims[l]:
                return False
            self.s.dims[l + 1] = _dim(W, 0)
            if not self.is_bias(b, l):
                return False
            if not (_finite(W) and _finite(b)):
                return False
            self.s.W[l] = _data(W)
            self.s.b[l] = _data(b)
            self.s.offset[l] = off
            off = off + self.s.dims[l + 1] * (self.s.dims[l] + 1)
        self.s.n_params = off
        return True

    cdef bint is_bias(self, object b, Py_ssize_t l):
        """An array of shape (n_l, 1) or (n_l,) for layer l (0-based)."""
        cdef Py_ssize_t n = self.s.dims[l + 1]
        if _float_array(b, self.typenum, 1):
            return _dim(b, 0) == n
        return _float_array(b, self.typenum, 2) and _dim(b, 0) == n and _dim(b, 1) == 1

    cdef bint read_dict(self, object parameters):
        """``{"W1": ..., "b1": ..., "WL": ..., "bL": ...}`` and nothing else."""
        if type(parameters) is not dict or len(<dict>parameters) % 2:
            return False
        cdef Py_ssize_t L = len(<dict>parameters) // 2
        if L < 1 or L > MAX_NETWORK_LAYERS:
            return False
        keys = _keys(L)
        return self.read([(<dict>parameters).get(k) for k in keys[0]],
                         [(<dict>parameters).get(k) for k in keys[1]])

    cdef Py_ssize_t examples(self, object A, Py_ssize_t rows, Py_ssize_t m):
        """The number of columns of ``A`` when it is a finite (rows, m) array of
        the network's dtype (m < 0: any number of columns), else -1."""
        if not _float_array(A, self.typenum, 2) or _dim(A, 0) != rows:
            return -1
        cdef Py_ssize_t cols = _dim(A, 1)  # read before _finite may release the GIL
        if (m >= 0 and cols != m) or not _finite(A):
            return -1
        self.arrays.append(A)
        return cols

    cdef void* labels(self, object Y, Py_ssize_t m) except? NULL:
        """``Y`` read into a new C buffer (the caller frees it) as the kernels'
        labels ((1, m) values 0/1, or (k, m) one-hot), or NULL when ``Y`` is
        not a valid label array for this network."""
        cdef Py_ssize_t k = self.s.dims[self.s.L]
        cdef void* out = malloc(k * m * (8 if self.typenum == cnp.NPY_DOUBLE else 4))
        cdef int status
        if out == NULL:
            raise MemoryError("fastinit: no memory for the labels")
        if self.typenum == cnp.NPY_DOUBLE:
            status = _read_labels(Y, m, k, <double*>out)
        else:
            status = _read_labels(Y, m, k, <float*>out)
        if status:
            free(out)
            return NULL
        return out


cdef int _read_labels(object Y, Py_ssize_t m, Py_ssize_t k, floating* out) noexcept:
    """Labels of shape (1, m) or (m,) into ``out``: (1, m) 0/1 values for one
    output unit, (k, m) one-hot for k >= 2.  Returns 0, or -1 when ``Y`` is
    not a contiguous array of bool, integer or float labels in range (the
    validating path then says what is wrong)."""
    if not cnp.PyArray_CheckExact(Y):
        return -1
    cdef cnp.ndarray a = <cnp.ndarray>Y
    cdef int nd = cnp.PyArray_NDIM(a)
    if not (cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)
            and cnp.PyArray_ISNOTSWAPPED(a)):
        return -1
    if not ((nd == 1 and _dim(Y, 0) == m) or (nd == 2 and _dim(Y, 0) == 1 and _dim(Y, 1) == m)):
        return -1
    cdef int t = cnp.PyArray_TYPE(a)
    if not (t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT or t == cnp.NPY_BOOL
            or t == cnp.NPY_UINT8 or t == cnp.NPY_INT32 or t == cnp.NPY_INT64):
        return -1
    cdef const void* p = cnp.PyArray_DATA(a)
    cdef Py_ssize_t i, n_classes = max(k, 2)
    cdef double v
    cdef long long c
    cdef bint ok = True
    with nogil:
        if k > 1:
            memset(out, 0, k * m * sizeof(floating))
        for i in range(m):
            if t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT:
                v = (<const double*>p)[i] if t == cnp.NPY_DOUBLE else (<const float*>p)[i]
                if not (v >= 0 and v < n_classes) or v != <double><long long>v:
                    ok = False
                    break
                c = <long long>v
            elif t == cnp.NPY_INT32:
                c = (<const cnp.int32_t*>p)[i]
            elif t == cnp.NPY_INT64:
                c = (<const cnp.int64_t*>p)[i]
            else:
                c = (<const unsigned char*>p)[i]
            if c < 0 or c >= n_classes:
                ok = False
                break
            if k > 1:
                out[c * m + i] = 1
            else:
                out[i] = <floating>c
    return 0 if ok else -1


cdef void* _scratch_for(int nt, Py_ssize_t per_thread) except NULL:
    cdef void* p = malloc(max(nt, 1) * max(per_thread, 1) * sizeof(double))
    if p == NULL:
        raise MemoryError("fastinit: no memory for a network pass")
    return p


# ---------------------------------------------------------------- forward

cdef void _forward_rows(const floating* X, Py_ssize_t m, Py_ssize_t start, Py_ssize_t nb,
                        const Net* net, floating** Zs, floating** As, bint cache,
                        floating* scratch, int act, floating slope, int* overflow) noexcept nogil:
    """``_forward_walk`` of examples start .. start+nb-1 (nb <= one block).
    Layer l's pre-activations and activations go to ``Zs[l]`` and ``As[l]``
    (full (n_l, m) arrays) when ``cache``, else only the output's
    activations (sigmoid, or softmax over several units), to ``As[L-1]``; a
    partial block is computed in ``scratch`` (zero-padded input) and its nb
    columns are copied out.  ``*overflow`` is set to the first layer
    (1-based) whose pre-activations hold inf or NaN."""
    cdef Py_ssize_t l, j, n_out, blk = _block_of(X), ldx, ld
    cdef Py_ssize_t L = net.L
    cdef bint full = nb == blk
    cdef floating* room = scratch + net.dims[0] * blk
    cdef WalkLayer layers[MAX_NETWORK_LAYERS]
    cdef WalkLayer* d
    cdef const floating* A_in = _input_block(X, m, start, nb, net.dims[0], scratch, blk, &ldx)
    for l in range(L):
        n_out = net.dims[l + 1]
        d = &layers[l]
        d.W = net.W[l]
        d.b = net.b[l]
        d.n_in = net.dims[l]
        d.n_out = n_out
        d.keep = KEEP_Z  # for the overflow check, and the cache
        d.kept = room
        d.ldk = blk
        if full and cache:
            d.kept = Zs[l] + start
            d.ldk = m
        d.A = room + n_out * blk
        d.lda = blk
        if full and (cache or l == L - 1):
            d.A = As[l] + start
            d.lda = m
        room = room + 2 * n_out * blk
        d.act = act if l < L - 1 else (SIGMOID if n_out == 1 else SOFTMAX)
        d.drop = False
    _forward_walk(layers, L, 0, A_in, ldx, start, nb, slope, NULL, overflow, False, &ld)
    if not full:
        for l in range(L):
            d = &layers[l]
            for j in range(d.n_out):
                if cache:
                    memcpy(Zs[l] + j * m + start, <floating*>d.kept + j * d.ldk,
                           nb * sizeof(floating))
                if cache or l == L - 1:
                    memcpy(As[l] + j * m + start, <floating*>d.A + j * d.lda,
                           nb * sizeof(floating))


cdef void _forward_all(const floating* X, Py_ssize_t m, const Net* net, floating** Zs,
                       floating** As, bint cache, floating* scratch, Py_ssize_t per_thread,
                       int act, floating slope, int nt, int* overflow) noexcept nogil:
    """The forward pass of every block, chunk by chunk on ``nt`` threads
    (``overflow``: one flag per thread, see ``_forward_rows``)."""
    cdef Py_ssize_t c
    cdef int tid
    if nt <= 1:
        for c in range(_n_chunks(m)):
            _forward_chunk(X, m, c, net, Zs, As, cache, scratch, act, slope, overflow)
        return
    for c in prange(_n_chunks(m), num_threads=nt, schedule="static"):
        tid = threadid()
        _forward_chunk(X, m, c, net, Zs, As, cache, scratch + tid * per_thread, act, slope,
                       overflow + tid)


cdef void _forward_chunk(const floating* X, Py_ssize_t m, Py_ssize_t c, const Net* net,
                         floating** Zs, floating** As, bint cache, floating* scratch,
                         int act, floating slope, int* overflow) noexcept nogil:
    cdef Py_ssize_t blk = _block_of(X), start = c * _per_chunk(m)
    cdef Py_ssize_t end = min(start + _per_chunk(m), m)
    while start < end:
        _forward_rows(X, m, start, min(blk, end - start), net, Zs, As, cache, scratch, act, slope,
                      overflow)
        start = start + blk


def network_forward(X, parameters, int act, double slope, bint cache=True, int n_threads=1):
    """Forward pass of the network ``parameters`` (a dict W1, b1, ..., WL, bL)
    on ``X`` (n_x, m) with hidden activation ``act``: the cache tuple
    ``(Z1, A1, W1, b1, ..., ZL, AL, WL, bL)`` when ``cache``, else the output
    probabilities AL alone; None when an input is not ready for the kernels as
    it is (see the comment at the top of this tier)."""
    cdef _Network net = _Network()
    if not net.read_dict(parameters):
        return None
    cdef Py_ssize_t l, m = net.examples(X, net.s.dims[0], -1), L = net.s.L
    if m < 0:
        return None
    cdef int nt = _threads_of(n_threads, m)
    cdef Pointers Zs, As
    outputs = []
    for l in range(L):
        Z = _new_array(net.s.dims[l + 1], m, net.typenum) if cache else None
        A = _new_array(net.s.dims[l + 1], m, net.typenum) if cache or l == L - 1 else None
        outputs.append((Z, A))
        Zs.p[l] = _data(Z) if cache else NULL
        As.p[l] = _data(A) if A is not None else NULL
    cdef Py_ssize_t blocks = net.s.dims[0]
    for l in range(L):
        blocks = blocks + 2 * net.s.dims[l + 1]
    cdef Py_ssize_t per_thread = blocks * BLOCK
    cdef void* scratch = _scratch_for(nt, per_thread)
    cdef const void* x = _data(X)
    cdef int overflow[MAX_THREADS]
    cdef int first = 0, t
    memset(overflow, 0, sizeof(overflow))
    try:
        with nogil:
            if net.typenum == cnp.NPY_DOUBLE:
                _forward_all(<const double*>x, m, &net.s, <double**>Zs.p, <double**>As.p, cache,
                             <double*>scratch, per_thread, act, slope, nt, overflow)
            else:
                _forward_all(<const float*>x, m, &net.s, <float**>Zs.p, <float**>As.p, cache,
                             <float*>scratch, per_thread, act, <float>slope, nt, overflow)
    finally:
        free(scratch)
    for t in range(nt):
        if overflow[t] and (first == 0 or overflow[t] < first):
            first = overflow[t]
    if first:
        raise FloatingPointError(
            f"the values overflowed: layer {first}'s pre-activations hold inf or NaN "
            f"(inputs or weights too large for {'float64' if net.typenum == cnp.NPY_DOUBLE else 'float32'})")
    if not cache:
        return outputs[L - 1][1]
    W_list, b_list = net.arrays[0], net.arrays[1]
    out = []
    for l in range(L):
        out += [outputs[l][0], outputs[l][1], W_list[l], b_list[l]]
    return tuple(out)


# ---------------------------------------------------------------- backward

cdef void _backward_rows(const floating* X, const floating* Y, Py_ssize_t m,
                         Py_ssize_t start, Py_ssize_t nb, const Net* net, floating** As,
                         floating** Zs, floating** dZs, floating** dAs, floating* lanes,
                         floating* scratch, int act, floating slope,
                         floating inv_m) noexcept nogil:
    """Backward pass of examples start .. start+nb-1 (nb <= one block): dZ
    and dA of every layer into their (n_l, m) arrays, weight gradients added
    into ``lanes``; f' from the cache's A, or its Z (``Zs``) where the
    activation ``_needs_z``.  A partial block goes through zero-padded copies
    in ``scratch``, so its padded examples add exactly zero to every gradient."""
    cdef Py_ssize_t l, j, i, k, n_in, n_out, blk = _block_of(X), nbp = _padded(nb)
    cdef Py_ssize_t L = net.L, V = _vector_lanes(X), ldd, ldp, ld
    cdef bint full = nb == blk
    cdef const floating* AL = As[L - 1] + start
    cdef const floating* prev
    cdef const floating* P
    cdef const floating* F
    cdef Py_ssize_t ldf
    cdef floating* D
    cdef floating* dA
    cdef floating* dZ
    cdef floating* room = scratch
    n_out = net.dims[L]
    D = room
    ldd = blk
    if full:
        D = dZs[L - 1] + start
        ldd = m
    room = room + n_out * blk
    for j in range(n_out):
        for i in range(nb):
            D[j * ldd + i] = inv_m * (AL[j * m + i] - Y[j * m + start + i])
    if not full:
        _zero_padding(D, ldd, n_out, nb, nbp)
        for j in range(n_out):
            memcpy(dZs[L - 1] + j * m + start, D + j * ldd, nb * sizeof(floating))
    for l in range(L - 1, -1, -1):
        n_in = net.dims[l]
        n_out = net.dims[l + 1]
        prev = (X if l == 0 else As[l - 1]) + start
        P = prev
        ldp = m
        if not full:
            _copy_padded(room, blk, prev, m, n_in, nb, nbp)
            P = room
            ldp = blk
            room = room + n_in * blk
        _dense_gradient(D, ldd, n_out, P, ldp, n_in, nbp, lanes + net.offset[l] * V,
                        lanes + (net.offset[l] + n_out * n_in) * V)
        if l == 0:
            break
        F = P
        ldf = ldp
        if _needs_z(act):
            F = Zs[l - 1] + start
            ldf = m
            if not full:
                _copy_padded(room, blk, Zs[l - 1] + start, m, n_in, nb, nbp)
                F = room
                ldf = blk
                room = room + n_in * blk
        if full:
            dA = dAs[l - 1] + start
            dZ = dZs[l - 1] + start
            ld = m
        else:
            dA = room
            dZ = room + n_in * blk
            ld = blk
            room = room + 2 * n_in * blk
        # row k of W^T is column k of W: weight (k, j) at W[k + j n_in]
        _dense_forward(<const floating*>net.W[l], 1, n_in, NULL, n_in, n_out, D, ldd, dA, ld,
                       nbp, FI_EPI_NONE, NULL, 0)
        for k in range(n_in):
            _activation_backward_row(dA + k * ld, F + k * ldf, dZ + k * ld, act, slope, nbp)
        if not full:
            for k in range(n_in):
                memcpy(dAs[l - 1] + k * m + start, dA + k * ld, nb * sizeof(floating))
                memcpy(dZs[l - 1] + k * m + start, dZ + k * ld, nb * sizeof(floating))
        D = dZ
        ldd = ld


cdef void _backward_all(const floating* X, const floating* Y, Py_ssize_t m, const Net* net,
                        floating** As, floating** Zs, floating** dZs, floating** dAs,
                        floating* lanes, Py_ssize_t lanes_per_thread,
                        floating* scratch, Py_ssize_t per_thread,
                        floating* grads,                 # WORK (n_chunks, n_params)
                        int act, floating slope, int nt) noexcept nogil:
    """Every block, chunk by chunk on ``nt`` threads; row 0 of ``grads`` ends
    as the gradient, the chunk rows added in chunk order."""
    cdef Py_ssize_t c, p, n_chunks = _n_chunks(m), n_params = net.n_params
    cdef int tid
    if nt <= 1:
        for c in range(n_chunks):
            _backward_chunk(X, Y, m, c, net, As, Zs, dZs, dAs, lanes, scratch,
                            grads + c * n_params, act, slope)
    else:
        for c in prange(n_chunks, num_threads=nt, schedule="static"):
            tid = threadid()
            _backward_chunk(X, Y, m, c, net, As, Zs, dZs, dAs, lanes + tid * lanes_per_thread,
                            scratch + tid * per_thread, grads + c * n_params, act, slope)
    for c in range(1, n_chunks):
        for p in range(n_params):
            grads[p] = grads[p] + grads[c * n_params + p]


cdef void _backward_chunk(const floating* X, const floating* Y, Py_ssize_t m, Py_ssize_t c,
                          const Net* net, floating** As, floating** Zs, floating** dZs,
                          floating** dAs,
                          floating* lanes, floating* scratch,
                          floating* grad,                # OUT (n_params,) this chunk's gradient
                          int act, floating slope) noexcept nogil:
    cdef Py_ssize_t blk = _block_of(X), start = c * _per_chunk(m)
    cdef Py_ssize_t end = min(start + _per_chunk(m), m)
    cdef floating inv_m = 1.0 / m
    memset(lanes, 0, net.n_params * _vector_lanes(X) * sizeof(floating))
    while start < end:
        _backward_rows(X, Y, m, start, min(blk, end - start), net, As, Zs, dZs, dAs, lanes,
                       scratch, act, slope, inv_m)
        start = start + blk
    _reduce_lanes(lanes, net.n_params, grad)


def network_backward(X, Y, cache, int act, double slope, int n_threads=1):
    """Gradients of the mean cross-entropy for the forward ``cache`` of
    ``network_forward``: the dict of ``backward_propagation`` (dz, dW, db of
    every layer, da of the hidden ones), or None when an input is not ready
    for the kernels as it is."""
    if (type(cache) is not tuple and type(cache) is not list) or len(cache) % 4:
        return None
    cdef Py_ssize_t L = len(cache) // 4, l, m
    if L < 1 or L > MAX_NETWORK_LAYERS:
        return None
    cdef _Network net = _Network()
    if not net.read([cache[4 * l + 2] for l in range(L)], [cache[4 * l + 3] for l in range(L)]):
        return None
    m = net.examples(X, net.s.dims[0], -1)
    if m < 0:
        return None
    cdef Pointers As, Zs
    for l in range(L):
        if net.examples(cache[4 * l + 1], net.s.dims[l + 1], m) < 0:
            return None
        As.p[l] = _data(cache[4 * l + 1])
        Zs.p[l] = NULL
        if _needs_z(act) and l < L - 1:  # f' of this hidden layer needs its Z
            if net.examples(cache[4 * l], net.s.dims[l + 1], m) < 0:
                return None
            Zs.p[l] = _data(cache[4 * l])
    cdef void* labels = net.labels(Y, m)
    if labels == NULL:
        return None
    try:
        return _backward_checked(net, X, m, labels, &As, &Zs, act, slope, n_threads)
    finally:
        free(labels)


cdef dict _backward_checked(_Network net, object X, Py_ssize_t m, void* labels,
                            Pointers* As, Pointers* Zs, int act, double slope, int n_threads):
    """``network_backward`` on checked inputs (``labels`` read by ``_read_labels``)."""
    cdef Py_ssize_t l, L = net.s.L
    cdef Pointers dZs, dAs
    keys = _keys(L)
    grads = {}
    cdef Py_ssize_t n_out, n_in
    for l in range(L - 1, -1, -1):
        n_out, n_in = net.s.dims[l + 1], net.s.dims[l]
        dz = grads[keys[4][l]] = _new_array(n_out, m, net.typenum)
        dZs.p[l] = _data(dz)
        grads[keys[2][l]] = _new_array(n_out, n_in, net.typenum)
        grads[keys[3][l]] = _new_array(n_out, 1, net.typenum)
        if l > 0:
            da = grads[keys[5][l - 1]] = _new_array(n_in, m, net.typenum)
            dAs.p[l - 1] = _data(da)
    cdef int nt = _threads_of(n_threads, m)
    cdef Py_ssize_t V = LANES_MAX, n_params = net.s.n_params
    cdef Py_ssize_t per_thread = net.s.dims[0] * BLOCK
    for l in range(L):
        per_thread = per_thread + 5 * net.s.dims[l + 1] * BLOCK
    # lanes rows start on 64-byte boundaries: the lane vectors are aligned
    cdef Py_ssize_t lanes_per_thread = (n_params * V + 15) // 16 * 16
    cdef void* lanes_raw = NULL
    cdef void* scratch = NULL
    cdef void* rows = NULL
    cdef void* x = _data(X)
    cdef char* lanes
    cdef Py_ssize_t itemsize = 8 if net.typenum == cnp.NPY_DOUBLE else 4
    try:
        lanes_raw = _scratch_for(nt, lanes_per_thread + 16)
        scratch = _scratch_for(nt, per_thread)
        rows = _scratch_for(1, _n_chunks(m) * n_params)
        lanes = <char*>lanes_raw + (-<size_t>lanes_raw) % 64
        with nogil:
            if net.typenum == cnp.NPY_DOUBLE:
                _backward_all(<const double*>x, <const double*>labels, m, &net.s,
                              <double**>As.p, <double**>Zs.p, <double**>dZs.p, <double**>dAs.p,
                              <double*>lanes, lanes_per_thread, <double*>scratch, per_thread,
                              <double*>rows, act, slope, nt)
            else:
                _backward_all(<const float*>x, <const float*>labels, m, &net.s,
                              <float**>As.p, <float**>Zs.p, <float**>dZs.p, <float**>dAs.p,
                              <float*>lanes, lanes_per_thread, <float*>scratch, per_thread,
                              <float*>rows, act, <float>slope, nt)
        if not (_all_finite(<double*>rows, n_params) if itemsize == 8
                else _all_finite(<float*>rows, n_params)):
            raise FloatingPointError("the gradients overflowed: they hold inf or NaN (the "
                                     "network's values are too large for its dtype)")
        for l in range(L):
            n_out, n_in = net.s.dims[l + 1], net.s.dims[l]
            memcpy(_data(grads[keys[2][l]]), <char*>rows + net.s.offset[l] * itemsize,
                   n_out * n_in * itemsize)
            memcpy(_data(grads[keys[3][l]]),
                   <char*>rows + (net.s.offset[l] + n_out * n_in) * itemsize, n_out * itemsize)
    finally:
        free(lanes_raw)
        free(scratch)
        free(rows)
    return grads


# ------------------------------------------------------------ update, loss

cdef bint _learning_rate_fits(double learning_rate, int typenum) noexcept:
    """A finite learning rate > 0 that stays finite and non-zero in the dtype."""
    cdef float single = <float>learning_rate
    if not (learning_rate > 0 and _finite_double(learning_rate)):
        return False
    return typenum == cnp.NPY_DOUBLE or (single > 0 and _finite_double(single))


cdef inline bint _finite_double(double v) noexcept nogil:
    return v - v == 0


def network_update(parameters, grads, double learning_rate):
    """``{key: parameter - learning_rate * grads["d" + key]}`` in new arrays
    (``b`` of shape (n, 1)), or None when an input is not ready for the
    kernels as it is."""
    cdef _Network net = _Network()
    if not net.read_dict(parameters) or type(grads) is not dict:
        return None
    if not _learning_rate_fits(learning_rate, net.typenum):
        return None
    cdef Py_ssize_t l, L = net.s.L, n
    keys = _keys(L)
    W_grads = [(<dict>grads).get(k) for k in keys[2]]
    b_grads = [(<dict>grads).get(k) for k in keys[3]]
    cdef _Network step = _Network()
    if not step.read(W_grads, b_grads) or step.typenum != net.typenum:
        return None
    for l in range(L + 1):
        if step.s.dims[l] != net.s.dims[l]:
            return None
    out = {}
    for l in range(L):
        n = net.s.dims[l + 1]
        out[keys[0][l]] = _stepped(net.s.W[l], step.s.W[l], n, net.s.dims[l], learning_rate,
                                   net.typenum)
        out[keys[1][l]] = _stepped(net.s.b[l], step.s.b[l], n, 1, learning_rate, net.typenum)
    for key, value in out.items():
        if not _finite(value):
            raise FloatingPointError(f"the step overflowed: the new {key} holds inf or NaN "
                                     f"(learning rate or gradients too large)")
    return out


cdef object _stepped(const void* p, const void* g, Py_ssize_t rows, Py_ssize_t cols,
                     double learning_rate, int typenum):
    """A new (rows, cols) array ``p - learning_rate * g``."""
    new = _new_array(rows, cols, typenum)
    cdef Py_ssize_t n = rows * cols
    if typenum == cnp.NPY_DOUBLE:
        memcpy(_data(new), p, n * 8)
        _gradient_step(<double*>_data(new), <const double*>g, learning_rate, n)
    else:
        memcpy(_data(new), p, n * 4)
        _gradient_step(<float*>_data(new), <const float*>g, <float>learning_rate, n)
    return new


cdef double _loss_of_probabilities(const floating* AL, const floating* Y, Py_ssize_t k,
                                   Py_ssize_t m) noexcept nogil:
    """Mean cross-entropy of output probabilities, as ``binary_cross_entropy``
    (k = 1) and ``categorical_cross_entropy`` compute it; NaN when a value
    lies outside [0, 1]."""
    cdef Py_ssize_t n = k * m, i
    cdef floating total = 0
    for i in range(n):
        if not (AL[i] >= 0 and AL[i] <= 1):
            return NAN
    if k == 1:
        for i in range(m):
            total = total + _bce_from_prob(AL[i], Y[i])
    else:
        for i in range(n):
            if Y[i] != 0:
                total = total - _log(AL[i])
    return (1.0 / m) * total


def network_loss(AL, Y):
    """Mean cross-entropy of output probabilities ``AL`` (k, m) for labels
    ``Y``, or None when an input is not ready for the kernels as it is (or a
    probability lies outside [0, 1])."""
    if not (_float_array(AL, cnp.NPY_DOUBLE, 2) or _float_array(AL, cnp.NPY_FLOAT, 2)):
        return None
    cdef _Network net = _Network()
    net.typenum = cnp.PyArray_TYPE(<cnp.ndarray>AL)
    net.s.L = 1
    net.s.dims[1] = _dim(AL, 0)
    cdef Py_ssize_t m = _dim(AL, 1), k = _dim(AL, 0)
    cdef void* labels = net.labels(Y, m)
    if labels == NULL:
        return None
    cdef const void* p = _data(AL)
    cdef double loss
    with nogil:
        if net.typenum == cnp.NPY_DOUBLE:
            loss = _loss_of_probabilities(<const double*>p, <const double*>labels, k, m)
        else:
            loss = _loss_of_probabilities(<const float*>p, <const float*>labels, k, m)
    free(labels)
    return None if loss != loss else loss
