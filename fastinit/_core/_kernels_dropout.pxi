# Tier 2c of fastinit's compiled kernels: dropout masks from a counter-based
# generator, and the random numbers of the mini-batch shuffle.
#
# Inverted dropout on hidden layer l keeps unit j of example i at step t with
# probability keep[l] and scales what it keeps by 1 / keep[l].  Whether it
# keeps it is a pure function of (seed, t, l, i, j): a hash, not a stream, so
# the mask is the same whichever thread computes which block, and the backward
# pass recomputes it instead of storing it.  ``i`` is the example's column in
# the data the loop steps on (the gathered batch in mini-batch training).
#
#   key   = SplitMix64 of seed ^ SplitMix64(t * 2^32 + l)      (per layer)
#   row   = fmix32(low 32 bits of key + j * 0x9E3779B9)        (per unit)
#   u     = fmix32(row ^ (i * 0x85EBCA77 mod 2^32))             (per example)
#   keep  = (u >> 8) < round(keep[l] * 2^24)
#
# fmix32 is MurmurHash3's 32-bit finalizer (a bijection), so the examples of
# one unit never share a hash; 32-bit arithmetic vectorises on every module.
# ``fastinit.engines.reference.dropout_mask`` is the NumPy twin.


cdef inline uint64_t _splitmix64(uint64_t* state) noexcept nogil:
    """The next value of the SplitMix64 generator (Steele, Lea and Flood 2014)."""
    state[0] = state[0] + <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint32_t _fmix32(uint32_t h) noexcept nogil:
    h = h ^ (h >> 16)
    h = h * <uint32_t>0x85EBCA6B
    h = h ^ (h >> 13)
    h = h * <uint32_t>0xC2B2AE35
    return h ^ (h >> 16)


ctypedef struct Dropout:
    const double* keep      # (L,) keep probability of each layer's units (1: no dropout)
    uint64_t seed
    Py_ssize_t step         # set by the loop for each step


cdef inline uint32_t _dropout_key(const Dropout* dp, Py_ssize_t l) noexcept nogil:
    cdef uint64_t inner = (<uint64_t>dp.step << 32) + <uint64_t>l
    cdef uint64_t outer = dp.seed ^ _splitmix64(&inner)
    return <uint32_t>_splitmix64(&outer)


cdef inline uint32_t _dropout_threshold(double keep) noexcept nogil:
    return <uint32_t>(keep * 16777216.0 + 0.5)


cdef void _dropout_rows(floating* A, Py_ssize_t ld, Py_ssize_t n, Py_ssize_t nb,
                        Py_ssize_t first, const Dropout* dp, Py_ssize_t l) noexcept nogil:
    """A[j, i] *= 1/keep where unit j of example first + i is kept at this
    step, else *= 0 (rows of stride ``ld``, nb examples)."""
    cdef Py_ssize_t j, i, i0, n_i
    cdef uint32_t key = _dropout_key(dp, l), row, threshold = _dropout_threshold(dp.keep[l])
    cdef uint32_t stride = <uint32_t>0x85EBCA77, x, h
    cdef floating scale = <floating>(1.0 / dp.keep[l])
    cdef floating* a
    cdef uint32_t kept[BLOCK]
    for j in range(n):
        row = _fmix32(key + <uint32_t>(<uint64_t>j * <uint64_t>0x9E3779B9))
        a = A + j * ld
        i0 = 0
        while i0 < nb:  # in pieces of BLOCK: the 32-bit hashes, then the scaling
            n_i = min(<Py_ssize_t>BLOCK, nb - i0)
            # (first + i) * stride mod 2^32, stepped: integer lanes only (vectorised)
            x = <uint32_t>(<uint64_t>(first + i0) * <uint64_t>stride)
            for i in range(n_i):
                h = row ^ x
                x = x + stride
                h = h ^ (h >> 16)
                h = h * <uint32_t>0x85EBCA6B
                h = h ^ (h >> 13)
                h = h * <uint32_t>0xC2B2AE35
                h = h ^ (h >> 16)
                kept[i] = (h >> 8) < threshold
            for i in range(n_i):
                a[i0 + i] = a[i0 + i] * (<floating>kept[i] * scale)
            i0 = i0 + BLOCK


cdef inline void _scale_rows(floating* A, Py_ssize_t ld, Py_ssize_t n, Py_ssize_t nb,
                             floating scale) noexcept nogil:
    cdef Py_ssize_t j, i
    for j in range(n):
        for i in range(nb):
            A[j * ld + i] = A[j * ld + i] * scale


def dropout_apply(floating[:, ::1] A, const double[::1] keep, Py_ssize_t layer,
                  unsigned long long seed, Py_ssize_t step):
    """In place: the dropout of hidden layer ``layer`` at step ``step`` on A
    (units x examples), examples numbered by column (the BLAS engine's
    forward and backward use it; the fused loops call the same routine)."""
    cdef Dropout dp
    if layer < 0 or layer >= keep.shape[0] or not (0 < keep[layer] <= 1):
        raise ValueError("dropout_apply: layer or keep probability out of range")
    dp.keep = &keep[0]
    dp.seed = seed
    dp.step = step
    with nogil:
        _dropout_rows(&A[0, 0], A.shape[1], A.shape[0], A.shape[1], 0, &dp, layer)
