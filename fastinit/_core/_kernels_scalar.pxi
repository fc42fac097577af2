# Tier 1 of fastinit's compiled kernels: constants and scalar helpers.
#
# The kernels are seven include files, compiled together into
# ``_kernels_baseline`` (the platform's baseline instruction set) and, on
# x86-64, ``_kernels_avx2`` (AVX2 + FMA) and ``_kernels_avx512`` (AVX-512F +
# FMA); ``fastinit._core._simd`` imports the best one this CPU runs.  Read them in
# this order:
#
# 1. ``_kernels_scalar.pxi``: constants, scalar helpers (``cdef inline ...
#    noexcept nogil``): exp, log, sigmoid, the cross-entropies.
# 2. ``_kernels_blocks.pxi``: block routines over raw pointers with explicit
#    leading dimensions, for one block of examples; the matrix products call
#    the register-blocked SIMD micro-kernels of ``_microkernels.h``; the
#    losses (``_output_block``, ``_loss_block``) and the layout table.
#    ``_kernels_optim.pxi`` (a step's update: L2, clipping, schedule,
#    optimizer) and ``_kernels_dropout.pxi`` (dropout masks, the shuffle's
#    generator) belong to this tier.
# 3. ``_kernels_layers.pxi``: ``def`` kernels of one layer or one loss over
#    whole typed memoryviews (the drop-in functions of the notebook's API).
# 4. ``_kernels_fused.pxi``: the fused training loops (many iterations in one
#    call), their chunking for threads, and the batched-models loop.
# 5. ``_kernels_network.pxi``: whole-network forward and backward passes,
#    update and loss on the caller's own objects (the notebook's drop-in
#    functions and prediction), which check their inputs in C.
#
# The ``def`` kernels are private: call them through ``fastinit.nn.layers``,
# ``fastinit.nn.network`` and ``fastinit.training.loop``, which validate every input.
# Tiers 3 and 4 trust shapes, contiguity, finiteness and label values, release
# the GIL and write into buffers that the Python layer allocated; tier 5 checks
# them itself and returns None for anything it would have to convert.
#
# Data are column-per-example: a layer's activations have shape
# ``(n_units, n_examples)`` and the example index is the innermost, contiguous
# one, so SIMD lanes hold neighbouring examples.
#
# Determinism.  Every sum has an order that depends on the number of examples
# alone (blocks, chunks and lanes are cut by m, never by the thread count), so
# a module gives the same bits run to run and for any ``n_threads``.  The AVX2
# module fuses multiply-adds (FMA) in the matrix products and the baseline
# module does not, so the two agree to rounding (1e-12 relative in float64
# over a whole training run), not to the bit.
from cython cimport floating
from libc.math cimport NAN, erf, fabs, fabsf, log, logf, tanh, tanhf
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from cython.parallel cimport prange, threadid

# What the SIMD micro-kernels (``_microkernels.h``) were compiled for.
cdef extern from "_microkernels.h" nogil:
    const int FI_HAS_FMA   # multiply-adds fused (the AVX2 and AVX-512 modules)
    const int FI_VBYTES    # bytes of one SIMD vector (32, or 64 with AVX-512)
    const int FI_LANES_D   # doubles per vector: lane accumulators of a float64 parameter
    const int FI_LANES_F   # floats per vector: lane accumulators of a float32 parameter
    const int FI_PAD       # a partial block is zero-padded to a multiple of this

# A block is the examples that go forward and back together while their
# activations stay in L1: 1 KiB per row, so 128 doubles or 256 floats
# (``_block_of``).  BLOCK, the larger, is the room a work buffer gives each
# row; both are multiples of FI_PAD.  LANES_MAX: lane accumulators per
# parameter that a work buffer provides (enough for every module and dtype).
# LOSS_GROUP: recorded losses are summed in groups of this many examples, then
# the group sums in order.
cdef enum:
    BLOCK = 256
    LANES_MAX = 16
    LOSS_GROUP = 32

FMA = bool(FI_HAS_FMA)
VECTOR_BYTES = FI_VBYTES

# Hidden-layer activations (the output layer is sigmoid or softmax).  The
# kernels know each by its code, its value (``_activation``) and its
# derivative (``_derivative``); ``fastinit.nn.activations`` is the registry that
# names them for the rest of the package.  GELU and SiLU have derivatives that
# need the pre-activation Z (``_NEEDS_Z``): the passes keep Z for them.
cdef enum:
    LINEAR = 0
    RELU = 1
    LEAKY_RELU = 2
    TANH = 3
    SIGMOID = 4
    GELU_TANH = 5
    GELU_ERF = 6
    SILU = 7
    ELU = 8

ACTIVATION_CODES = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY_RELU,
                    "tanh": TANH, "sigmoid": SIGMOID, "gelu_tanh": GELU_TANH,
                    "gelu": GELU_ERF, "silu": SILU, "elu": ELU}
#: codes of the activations whose derivative is computed from Z (else from A = f(Z))
NEEDS_Z = frozenset({GELU_TANH, GELU_ERF, SILU})


cdef inline bint _needs_z(int act) noexcept nogil:
    return act == GELU_TANH or act == GELU_ERF or act == SILU

BLOCK_SIZE = BLOCK
LANE_COUNT = LANES_MAX


cdef extern from *:
    """
    static int fastinit_cpu_supports(int level) {
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (level == 2)
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (level == 3)
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    #endif
        return 0;
    }
    """
    int fastinit_cpu_supports(int level) noexcept nogil


def cpu_has_avx2():
    """True when this CPU executes AVX2 and FMA instructions (what the
    ``_kernels_avx2`` module is built for)."""
    return bool(fastinit_cpu_supports(2))


def cpu_has_avx512():
    """True when this CPU executes AVX-512F and FMA instructions (what the
    ``_kernels_avx512`` module is built for)."""
    return bool(fastinit_cpu_supports(3))


cdef inline Py_ssize_t _vector_lanes(const floating* dtype_tag) noexcept nogil:
    """Examples per SIMD vector (and lane accumulators per parameter) for the
    dtype of ``dtype_tag`` (only its type is used)."""
    if floating is float:
        return FI_LANES_F
    else:
        return FI_LANES_D


cdef inline Py_ssize_t _block_of(const floating* dtype_tag) noexcept nogil:
    """Examples per block (and row stride of a block's buffers) for the dtype
    of ``dtype_tag``: one KiB per row."""
    if floating is float:
        return 256
    else:
        return 128


cdef inline Py_ssize_t _padded(Py_ssize_t nb) noexcept nogil:
    """nb rounded up to a whole number of FI_PAD examples."""
    return (nb + FI_PAD - 1) // FI_PAD * FI_PAD


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


cdef inline double _log1p_unit64(double x) noexcept nogil:
    """log(1 + x) for x in [0, 1] (NaN gives NaN), within about 1 ulp: fdlibm's
    log1p reduced to this interval and written without branches, so that a
    loop over it vectorises (libm's log1p is a call per value)."""
    cdef double u = 1.0 + x
    cdef bint high = x >= 0.41421356237309503   # 1 + x >= sqrt(2): u = 2 (1 + f)
    cdef double k = 1.0 if high else 0.0
    cdef double f = (0.5 * u - 1.0) if high else x
    cdef double c = ((x - (u - 1.0)) / u) if high else 0.0  # rounding error of 1 + x
    cdef double hfsq = 0.5 * f * f, s = f / (2.0 + f), z = s * s
    cdef double R = z * (6.666666666666735130e-01 + z * (3.999999999940941908e-01
                    + z * (2.857142874366239149e-01 + z * (2.222219843214978396e-01
                    + z * (1.818357216161805012e-01 + z * (1.531383769920937332e-01
                    + z * 1.479819860511658591e-01))))))
    return (k * 6.93147180369123816490e-01
            - ((hfsq - (s * (hfsq + R) + (k * 1.90821492927058770002e-10 + c))) - f))


cdef inline floating _log1p_unit(floating x) noexcept nogil:
    """log(1 + x) for x in [0, 1] (see ``_log1p_unit64``; float32 through it)."""
    return <floating>_log1p_unit64(<double>x)


cdef inline floating _abs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating _sigmoid(floating z) noexcept nogil:
    cdef floating one = 1  # a literal 1 would make the division a double one
    return one / (one + _exp(-z))


cdef inline floating _tanh(floating z) noexcept nogil:
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)


cdef inline floating _erf(floating z) noexcept nogil:
    if floating is float:
        return <float>erf(<double>z)
    else:
        return erf(z)


# sqrt(2 / pi), 1 / sqrt(2), 1 / sqrt(2 pi) and the cubic coefficient of GELU's tanh form
cdef double GELU_C = 0.7978845608028654
cdef double RSQRT2 = 0.7071067811865476
cdef double RSQRT2PI = 0.3989422804014327
cdef double GELU_K = 0.044715


cdef inline floating _activation(int act, floating z, floating slope) noexcept nogil:
    """f(z) of the smooth activations added through the registry (GELU in its
    tanh and erf forms, SiLU, ELU with alpha 1); the older ones have their
    own vectorised loops in ``_activate_row``."""
    cdef floating one = 1, half = 0.5
    if act == GELU_TANH:
        return half * z * (one + _tanh(<floating>GELU_C * (z + <floating>GELU_K * z * z * z)))
    if act == GELU_ERF:
        return half * z * (one + _erf(z * <floating>RSQRT2))
    if act == SILU:
        return z * _sigmoid(z)
    if act == ELU:
        return z if z > 0 else _exp(z) - one
    return z


cdef inline floating _derivative(int act, floating v) noexcept nogil:
    """f'(z) of the same activations, from v = z (GELU, SiLU: ``_needs_z``) or
    from v = f(z) (ELU: f' = 1 for z > 0, f(z) + 1 below)."""
    cdef floating one = 1, half = 0.5, t, s, u
    if act == GELU_TANH:
        u = <floating>GELU_C * (v + <floating>GELU_K * v * v * v)
        t = _tanh(u)
        return (half * (one + t) + half * v * (one - t * t)
                * <floating>GELU_C * (one + <floating>(3 * GELU_K) * v * v))
    if act == GELU_ERF:
        return half * (one + _erf(v * <floating>RSQRT2)) + v * <floating>RSQRT2PI * _exp(-half * v * v)
    if act == SILU:
        s = _sigmoid(v)
        return s * (one + v * (one - s))
    if act == ELU:
        return one if v > 0 else v + one
    return one


cdef inline floating _max(floating a, floating b) noexcept nogil:
    return a if a > b else b


cdef inline floating _bce_from_logit(floating z, floating y) noexcept nogil:
    """-[y log s(z) + (1-y) log(1-s(z))] = log(1 + e^z) - y z, written so that
    no intermediate overflows: max(z, 0) - y z + log1p(e^-|z|)."""
    return (z if z > 0 else 0) - y * z + _log1p_unit(_exp(-_abs(z)))


cdef inline floating _bce_from_prob(floating a, floating y) noexcept nogil:
    """Cross-entropy of a probability ``a`` for a 0/1 label ``y``: only the term
    of the true class is evaluated, so ``a == 1`` with ``y == 1`` costs 0 (the
    seed's ``nansum`` gives the same) and ``a == 1`` with ``y == 0`` costs inf."""
    return -_log(a) if y != 0 else -_log(1 - a)

