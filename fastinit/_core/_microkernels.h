/* Register-blocked micro-kernels of fastinit's compiled core.
 *
 * The Cython tiers (fastinit/_kernels_*.pxi) hold the kernels' logic; this
 * header holds only the innermost products, written with SIMD vectors because
 * Cython cannot name a vector register and a C compiler does not keep a tile
 * of accumulators in registers unless it is told which values are vectors.
 *
 * Every vector holds FI_VBYTES = 32 bytes: 4 doubles or 8 floats, one AVX2
 * register (two SSE2 or NEON registers in the baseline build, the same lanes).
 * Examples lie side by side in the lanes, so a forward product broadcasts a
 * weight and multiplies a vector of examples, and a weight-gradient product
 * keeps one vector accumulator per weight while it walks through a block.
 *
 * Operation order.  Each output of a forward tile is, for its example,
 * ((b + w0 a0) + w1 a1) + ... in input order (the bias first, so that it costs
 * no instruction of its own).  Each weight-gradient lane sums its examples in
 * block order.  With FI_HAS_FMA (the AVX2 module is built with -mfma) each
 * "+ w a" is one fused multiply-add; without it, a product then a sum.  So a
 * module gives the same bits run to run and for any thread count (the order
 * depends on m only), and the two modules differ only by FMA rounding.
 *
 * Contract of every function here: nv >= 1 vectors (nbp = nv * lanes padded
 * examples) are readable in every input row and writable in every output row;
 * pointers need no alignment.  The caller (Cython) zero-pads partial blocks.
 * A block holds at most FI_MAX_VECTORS vectors (256 examples): the functions
 * return at once for any other count, which also tells the compiler a bound.
 */
#ifndef FASTINIT_MICROKERNELS_H
#define FASTINIT_MICROKERNELS_H

#include <stddef.h>
#include <string.h>

/* Bytes of one vector: 64 in a module built for AVX-512, else 32. */
#if defined(__AVX512F__)
#define FI_VBYTES 64
#else
#define FI_VBYTES 32
#endif

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__FMA__) && (defined(__AVX2__) || defined(__AVX512F__))
#define FI_HAS_FMA 1
#else
#define FI_HAS_FMA 0
#endif

#if defined(__GNUC__) || defined(__clang__)
/* the vector helpers are always inlined: no vector crosses a call, so the
   note about the AVX calling convention does not concern us */
#pragma GCC diagnostic ignored "-Wpsabi"
/* GCC cannot carry the FI_MAX_VECTORS bound into every inlined copy of the
   example loops and warns that a 2^59-th iteration would overflow a pointer
   (clang, which has no such warning, would warn about the unknown name) */
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif
#define FI_INLINE static inline __attribute__((always_inline))
#define FI_VECTOR_EXTENSIONS 1
#define FI_UNROLL _Pragma("GCC unroll 16")
#else
#define FI_INLINE static __forceinline
#define FI_VECTOR_EXTENSIONS 0
#define FI_UNROLL
#endif

/* Epilogues of a forward tile (what happens to each sum before its store). */
#define FI_MAX_VECTORS 256

enum { FI_EPI_NONE = 0, FI_EPI_BIAS = 1, FI_EPI_RELU = 2, FI_EPI_MASK = 3 };

/* Vector types.  With AVX a vector is one 32-byte register.  Without it
 * (SSE2, NEON) a vector is a pair of 16-byte registers, so that a tile of
 * accumulators still lives in registers and the lanes (and with them every
 * sum's order) are the same in every module. */
#if FI_VECTOR_EXTENSIONS && (defined(__AVX__) || FI_VBYTES == 64)
#define FI_VECTOR_PAIRS 0
typedef double fi_vd __attribute__((vector_size(FI_VBYTES)));
typedef long long fi_vdi __attribute__((vector_size(FI_VBYTES)));
typedef float fi_vf __attribute__((vector_size(FI_VBYTES)));
typedef int fi_vfi __attribute__((vector_size(FI_VBYTES)));
#elif FI_VECTOR_EXTENSIONS
#define FI_VECTOR_PAIRS 1
typedef double fi_hd __attribute__((vector_size(FI_VBYTES / 2)));
typedef long long fi_hdi __attribute__((vector_size(FI_VBYTES / 2)));
typedef float fi_hf __attribute__((vector_size(FI_VBYTES / 2)));
typedef int fi_hfi __attribute__((vector_size(FI_VBYTES / 2)));
typedef struct { fi_hd lo, hi; } fi_vd;
typedef struct { fi_hf lo, hi; } fi_vf;
#endif

/* Tile shapes, sized so that a tile's accumulators, its operands and a
 * broadcast weight fit the vector registers (16; 32 with AVX-512): FI_FWD_Ij vectors of examples
 * for j output rows in a forward tile, FI_GRAD_Kj input rows for j rows of dZ
 * in a weight-gradient tile.  A vector pair takes two registers. */
#if FI_VECTOR_PAIRS
#define FI_PEAK_CHAINS 8
#define FI_FWD_I4 1
#define FI_FWD_I3 1
#define FI_FWD_I2 2
#define FI_FWD_I1 4
#define FI_GRAD_K4 1
#define FI_GRAD_K3 1
#define FI_GRAD_K2 2
#define FI_GRAD_K1 4
#elif FI_VBYTES == 64  /* AVX-512: 32 vector registers */
#define FI_PEAK_CHAINS 16
#define FI_FWD_I4 4
#define FI_FWD_I3 5
#define FI_FWD_I2 8
#define FI_FWD_I1 8
#define FI_GRAD_K4 5
#define FI_GRAD_K3 7
#define FI_GRAD_K2 8
#define FI_GRAD_K1 8
#else
#define FI_PEAK_CHAINS 12
#define FI_FWD_I4 2
#define FI_FWD_I3 3
#define FI_FWD_I2 4
#define FI_FWD_I1 8
#define FI_GRAD_K4 3
#define FI_GRAD_K3 3
#define FI_GRAD_K2 4
#define FI_GRAD_K1 7
#endif

/* Lanes per vector, and the multiple to which a partial block is padded
 * (the same in every module, so that all modules cut blocks alike). */
#define FI_LANES_D (FI_VBYTES / 8)
#define FI_LANES_F (FI_VBYTES / 4)
#define FI_PAD 16

/* ---- double ---- */
#define FI_T double
#define FI_V fi_vd
#define FI_VI fi_vdi
#define FI_H fi_hd
#define FI_HI fi_hdi
#define FI_HSPLAT(s) {s, s}
#define FI_W (FI_VBYTES / 8)
#define FI_FN(name) fi_##name##_d
#if FI_VBYTES == 64 && defined(__AVX512F__)
#define FI_MAX_INTRINSIC(a, b) ((fi_vd)_mm512_max_pd((__m512d)(a), (__m512d)(b)))
#elif FI_VBYTES == 32 && defined(__AVX__)
#define FI_MAX_INTRINSIC(a, b) ((fi_vd)_mm256_max_pd((__m256d)(a), (__m256d)(b)))
#endif
#if FI_HAS_FMA && FI_VBYTES == 64
#define FI_FMA_INTRINSIC(a, b, c) ((fi_vd)_mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c)))
#elif FI_HAS_FMA
#define FI_FMA_INTRINSIC(a, b, c) ((fi_vd)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#endif
#include "_microkernels_body.h"  /* undefines its parameters */

/* ---- float ---- */
#define FI_T float
#define FI_V fi_vf
#define FI_VI fi_vfi
#define FI_H fi_hf
#define FI_HI fi_hfi
#define FI_HSPLAT(s) {s, s, s, s}
#define FI_W (FI_VBYTES / 4)
#define FI_FN(name) fi_##name##_f
#if FI_VBYTES == 64 && defined(__AVX512F__)
#define FI_MAX_INTRINSIC(a, b) ((fi_vf)_mm512_max_ps((__m512)(a), (__m512)(b)))
#elif FI_VBYTES == 32 && defined(__AVX__)
#define FI_MAX_INTRINSIC(a, b) ((fi_vf)_mm256_max_ps((__m256)(a), (__m256)(b)))
#endif
#if FI_HAS_FMA && FI_VBYTES == 64
#define FI_FMA_INTRINSIC(a, b, c) ((fi_vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif FI_HAS_FMA
#define FI_FMA_INTRINSIC(a, b, c) ((fi_vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#endif
#include "_microkernels_body.h"  /* undefines its parameters */

/* ---- the forward walk's products (``_walk_product``) ----
 * W A + b and relu(W A + b) with row-major weights (column stride 1) compiled
 * in, inlined whole ("flatten") so that the product is specialised whatever
 * the compiler's cloning heuristics decide for the walk's few call sites. */
#if defined(__GNUC__) || defined(__clang__)
#define FI_WALK_FLATTEN __attribute__((flatten))
#else
#define FI_WALK_FLATTEN
#endif
static FI_WALK_FLATTEN void fi_walk_bias_d(const double* W, const double* b, ptrdiff_t n_out,
        ptrdiff_t n_in, const double* A, ptrdiff_t lda, double* Z, ptrdiff_t ldz, ptrdiff_t nv)
{ fi_dense_forward_d(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nv, FI_EPI_BIAS, NULL, 0); }
static FI_WALK_FLATTEN void fi_walk_relu_d(const double* W, const double* b, ptrdiff_t n_out,
        ptrdiff_t n_in, const double* A, ptrdiff_t lda, double* Z, ptrdiff_t ldz, ptrdiff_t nv)
{ fi_dense_forward_d(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nv, FI_EPI_RELU, NULL, 0); }
static FI_WALK_FLATTEN void fi_walk_bias_f(const float* W, const float* b, ptrdiff_t n_out,
        ptrdiff_t n_in, const float* A, ptrdiff_t lda, float* Z, ptrdiff_t ldz, ptrdiff_t nv)
{ fi_dense_forward_f(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nv, FI_EPI_BIAS, NULL, 0); }
static FI_WALK_FLATTEN void fi_walk_relu_f(const float* W, const float* b, ptrdiff_t n_out,
        ptrdiff_t n_in, const float* A, ptrdiff_t lda, float* Z, ptrdiff_t ldz, ptrdiff_t nv)
{ fi_dense_forward_f(W, n_in, 1, b, n_out, n_in, A, lda, Z, ldz, nv, FI_EPI_RELU, NULL, 0); }

#endif
