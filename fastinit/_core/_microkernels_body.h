/* Body of the micro-kernels for one element type; included by _microkernels.h
 * once per type with FI_T (element), FI_V (vector), FI_VI (same-size integer
 * vector), FI_W (lanes per vector) and FI_FN(name) (the type's function name)
 * defined, and undefining them at its end. */

/* ---- vector helpers ---------------------------------------------------- */

#if FI_VECTOR_EXTENSIONS && FI_VECTOR_PAIRS
FI_INLINE FI_V FI_FN(load)(const FI_T* p) {
    FI_V v;
    memcpy(&v.lo, p, sizeof v.lo);
    memcpy(&v.hi, p + FI_W / 2, sizeof v.hi);
    return v;
}
FI_INLINE void FI_FN(store)(FI_T* p, FI_V v) {
    memcpy(p, &v.lo, sizeof v.lo);
    memcpy(p + FI_W / 2, &v.hi, sizeof v.hi);
}
FI_INLINE FI_V FI_FN(splat)(FI_T s) { FI_V v = {FI_HSPLAT(s), FI_HSPLAT(s)}; return v; }
FI_INLINE FI_V FI_FN(add)(FI_V a, FI_V b) { a.lo = a.lo + b.lo; a.hi = a.hi + b.hi; return a; }
FI_INLINE FI_V FI_FN(mul)(FI_V a, FI_V b) { a.lo = a.lo * b.lo; a.hi = a.hi * b.hi; return a; }
FI_INLINE FI_V FI_FN(fma)(FI_V a, FI_V b, FI_V c) {
    c.lo = a.lo * b.lo + c.lo;
    c.hi = a.hi * b.hi + c.hi;
    return c;
}
FI_INLINE FI_H FI_FN(hkeep)(FI_H v, FI_H mask) {
    FI_H zero = {0};
    return (FI_H)((FI_HI)v & (FI_HI)(mask > zero));
}
FI_INLINE FI_V FI_FN(relu)(FI_V v) {
    v.lo = FI_FN(hkeep)(v.lo, v.lo);
    v.hi = FI_FN(hkeep)(v.hi, v.hi);
    return v;
}
FI_INLINE FI_V FI_FN(keep)(FI_V v, FI_V mask) {
    v.lo = FI_FN(hkeep)(v.lo, mask.lo);
    v.hi = FI_FN(hkeep)(v.hi, mask.hi);
    return v;
}
#elif FI_VECTOR_EXTENSIONS
FI_INLINE FI_V FI_FN(load)(const FI_T* p) { FI_V v; memcpy(&v, p, sizeof v); return v; }
FI_INLINE void FI_FN(store)(FI_T* p, FI_V v) { memcpy(p, &v, sizeof v); }
/* an initializer list, which compilers turn into one broadcast */
#if FI_W == 4
FI_INLINE FI_V FI_FN(splat)(FI_T s) { FI_V v = {s, s, s, s}; return v; }
#elif FI_W == 8
FI_INLINE FI_V FI_FN(splat)(FI_T s) { FI_V v = {s, s, s, s, s, s, s, s}; return v; }
#else
FI_INLINE FI_V FI_FN(splat)(FI_T s) {
    FI_V v = {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
    return v;
}
#endif
FI_INLINE FI_V FI_FN(add)(FI_V a, FI_V b) { return a + b; }
FI_INLINE FI_V FI_FN(mul)(FI_V a, FI_V b) { return a * b; }
/* a * b + c: one rounding with FMA, two without */
#if FI_HAS_FMA
FI_INLINE FI_V FI_FN(fma)(FI_V a, FI_V b, FI_V c) { return FI_FMA_INTRINSIC(a, b, c); }
#else
FI_INLINE FI_V FI_FN(fma)(FI_V a, FI_V b, FI_V c) { return a * b + c; }
#endif
/* v where v > 0, else +0 (NaN gives 0, as the scalar `v if v > 0 else 0`):
 * x86's max(v, 0) returns its second operand unless v > 0, so one instruction */
#if defined(FI_MAX_INTRINSIC)
FI_INLINE FI_V FI_FN(relu)(FI_V v) { FI_V zero = {0}; return FI_MAX_INTRINSIC(v, zero); }
#else
FI_INLINE FI_V FI_FN(relu)(FI_V v) {
    FI_V zero = {0};
    return (FI_V)((FI_VI)v & (FI_VI)(v > zero));
}
#endif
/* v where mask > 0, else +0: ReLU's backward with mask = the ReLU's output */
FI_INLINE FI_V FI_FN(keep)(FI_V v, FI_V mask) {
    FI_V zero = {0};
    return (FI_V)((FI_VI)v & (FI_VI)(mask > zero));
}
#else  /* plain C (MSVC): the same operations lane by lane */
typedef struct { FI_T x[FI_W]; } FI_FN(vec);
#undef FI_V
#define FI_V FI_FN(vec)
FI_INLINE FI_V FI_FN(load)(const FI_T* p) { FI_V v; memcpy(v.x, p, sizeof v.x); return v; }
FI_INLINE void FI_FN(store)(FI_T* p, FI_V v) { memcpy(p, v.x, sizeof v.x); }
FI_INLINE FI_V FI_FN(splat)(FI_T s) { FI_V v; int i; for (i = 0; i < FI_W; i++) v.x[i] = s; return v; }
FI_INLINE FI_V FI_FN(add)(FI_V a, FI_V b) { int i; for (i = 0; i < FI_W; i++) a.x[i] += b.x[i]; return a; }
FI_INLINE FI_V FI_FN(mul)(FI_V a, FI_V b) { int i; for (i = 0; i < FI_W; i++) a.x[i] *= b.x[i]; return a; }
FI_INLINE FI_V FI_FN(fma)(FI_V a, FI_V b, FI_V c) {
    int i; for (i = 0; i < FI_W; i++) c.x[i] = a.x[i] * b.x[i] + c.x[i]; return c;
}
FI_INLINE FI_V FI_FN(relu)(FI_V v) {
    int i; for (i = 0; i < FI_W; i++) v.x[i] = v.x[i] > 0 ? v.x[i] : 0; return v;
}
FI_INLINE FI_V FI_FN(keep)(FI_V v, FI_V mask) {
    int i; for (i = 0; i < FI_W; i++) v.x[i] = mask.x[i] > 0 ? v.x[i] : 0; return v;
}
#endif

/* ---- forward products: Z = epi(W A [+ b]) ------------------------------ */

/* One tile: JB output rows x IB vectors of examples, accumulators in
 * registers.  Row j's weights are W[j * wr + k * wc] (wr = n_in, wc = 1 for
 * W A; wr = 1, wc = n_cols for W^T A).  JB and IB are constants at every call,
 * so the loops over them unroll and the accumulators stay in registers. */
FI_INLINE void FI_FN(forward_tile)(
        const int JB, const int IB,
        const FI_T* W, ptrdiff_t wr, ptrdiff_t wc, const FI_T* b, ptrdiff_t n_in,
        const FI_T* A, ptrdiff_t lda, FI_T* Z, ptrdiff_t ldz,
        int epi, const FI_T* M, ptrdiff_t ldm)
{
    FI_V acc[4][8], a[8], w, r;
    ptrdiff_t k;
    int j, v;
    FI_UNROLL
    for (v = 0; v < IB; v++)
        a[v] = FI_FN(load)(A + v * FI_W);
    FI_UNROLL
    for (j = 0; j < JB; j++) {  /* the bias first: b + w0 a0 in one multiply-add */
        w = FI_FN(splat)(W[j * wr]);
        r = FI_FN(splat)(epi == FI_EPI_BIAS || epi == FI_EPI_RELU ? b[j] : 0);
        FI_UNROLL
        for (v = 0; v < IB; v++)
            acc[j][v] = epi == FI_EPI_BIAS || epi == FI_EPI_RELU ? FI_FN(fma)(w, a[v], r)
                                                               : FI_FN(mul)(w, a[v]);
    }
    for (k = 1; k < n_in; k++) {
        FI_UNROLL
        for (v = 0; v < IB; v++)
            a[v] = FI_FN(load)(A + k * lda + v * FI_W);
        FI_UNROLL
        for (j = 0; j < JB; j++) {
            w = FI_FN(splat)(W[j * wr + k * wc]);
            FI_UNROLL
            for (v = 0; v < IB; v++)
                acc[j][v] = FI_FN(fma)(w, a[v], acc[j][v]);
        }
    }
    FI_UNROLL
    for (j = 0; j < JB; j++) {
        FI_UNROLL
        for (v = 0; v < IB; v++) {
            r = acc[j][v];
            if (epi == FI_EPI_RELU)
                r = FI_FN(relu)(r);
            else if (epi == FI_EPI_MASK)
                r = FI_FN(keep)(r, FI_FN(load)(M + j * ldm + v * FI_W));
            FI_FN(store)(Z + j * ldz + v * FI_W, r);
        }
    }
}

/* JB rows over all nv vectors: tiles of IB vectors, then single vectors. */
#define FI_FORWARD_ROWS(JB, IB)                                                     \
static void FI_FN(forward_rows##JB)(                                                \
        const FI_T* W, ptrdiff_t wr, ptrdiff_t wc, const FI_T* b, ptrdiff_t n_in,   \
        const FI_T* A, ptrdiff_t lda, FI_T* Z, ptrdiff_t ldz, ptrdiff_t nv,         \
        int epi, const FI_T* M, ptrdiff_t ldm)                                      \
{                                                                                   \
    ptrdiff_t i = 0, step = epi == FI_EPI_MASK ? FI_W : 0;                          \
    for (; i + IB <= nv; i += IB)                                                   \
        FI_FN(forward_tile)(JB, IB, W, wr, wc, b, n_in, A + i * FI_W, lda,          \
                            Z + i * FI_W, ldz, epi, M + i * step, ldm);             \
    for (; i < nv; i++)                                                             \
        FI_FN(forward_tile)(JB, 1, W, wr, wc, b, n_in, A + i * FI_W, lda,           \
                            Z + i * FI_W, ldz, epi, M + i * step, ldm);             \
}
FI_FORWARD_ROWS(4, FI_FWD_I4)
FI_FORWARD_ROWS(3, FI_FWD_I3)
FI_FORWARD_ROWS(2, FI_FWD_I2)
FI_FORWARD_ROWS(1, FI_FWD_I1)
#undef FI_FORWARD_ROWS

/* Z[j] = epi(sum_k W[j * wr + k * wc] A[k] (+ b[j])) for j < n_out, over nv
 * vectors of examples.  M (used by FI_EPI_MASK only, else may be NULL):
 * rows of the mask, stride ldm. */
static void FI_FN(dense_forward)(
        const FI_T* W, ptrdiff_t wr, ptrdiff_t wc, const FI_T* b,
        ptrdiff_t n_out, ptrdiff_t n_in,
        const FI_T* A, ptrdiff_t lda, FI_T* Z, ptrdiff_t ldz, ptrdiff_t nv,
        int epi, const FI_T* M, ptrdiff_t ldm)
{
    static const FI_T no_bias[4] = {0, 0, 0, 0};
    ptrdiff_t j = 0, mstep = epi == FI_EPI_MASK ? ldm : 0;
    const FI_T* bias = b != NULL ? b : no_bias;
    ptrdiff_t bstep = b != NULL ? 1 : 0;
    if (nv < 1 || nv > FI_MAX_VECTORS)  /* never: callers pass one block */
        return;
    for (; j + 4 <= n_out; j += 4)
        FI_FN(forward_rows4)(W + j * wr, wr, wc, bias + j * bstep, n_in, A, lda,
                             Z + j * ldz, ldz, nv, epi, M + j * mstep, ldm);
    switch (n_out - j) {
    case 3:
        FI_FN(forward_rows3)(W + j * wr, wr, wc, bias + j * bstep, n_in, A, lda,
                             Z + j * ldz, ldz, nv, epi, M + j * mstep, ldm);
        break;
    case 2:
        FI_FN(forward_rows2)(W + j * wr, wr, wc, bias + j * bstep, n_in, A, lda,
                             Z + j * ldz, ldz, nv, epi, M + j * mstep, ldm);
        break;
    case 1:
        FI_FN(forward_rows1)(W + j * wr, wr, wc, bias + j * bstep, n_in, A, lda,
                             Z + j * ldz, ldz, nv, epi, M + j * mstep, ldm);
        break;
    }
}

/* ---- weight gradients: lanes += D A^T, lane by lane --------------------- */

/* One tile: JB rows of D x KB rows of A, one vector accumulator per weight,
 * summed over nv vectors in order, then added to its lanes:
 * lanes[j * lane_row + k * FI_W + v] += sum_i D[j, i W + v] A[k, i W + v]. */
FI_INLINE void FI_FN(gradient_tile)(
        const int JB, const int KB,
        const FI_T* D, ptrdiff_t ldd, const FI_T* A, ptrdiff_t lda, ptrdiff_t nv,
        FI_T* lanes, ptrdiff_t lane_row)
{
    FI_V acc[4][8], a[8], d;
    FI_T* l;
    ptrdiff_t i;
    int j, k;
    FI_UNROLL
    for (j = 0; j < JB; j++)
        FI_UNROLL
        for (k = 0; k < KB; k++)
            acc[j][k] = FI_FN(splat)(0);
    for (i = 0; i < nv; i++) {
        FI_UNROLL
        for (k = 0; k < KB; k++)
            a[k] = FI_FN(load)(A + k * lda + i * FI_W);
        FI_UNROLL
        for (j = 0; j < JB; j++) {
            d = FI_FN(load)(D + j * ldd + i * FI_W);
            FI_UNROLL
            for (k = 0; k < KB; k++)
                acc[j][k] = FI_FN(fma)(d, a[k], acc[j][k]);
        }
    }
    FI_UNROLL
    for (j = 0; j < JB; j++)
        FI_UNROLL
        for (k = 0; k < KB; k++) {
            l = lanes + j * lane_row + k * FI_W;
            FI_FN(store)(l, FI_FN(add)(FI_FN(load)(l), acc[j][k]));
        }
}

/* JB rows of D against all n_in rows of A: tiles of KB rows, then one tile
 * of the remaining rows (a switch over constant tile shapes). */
#define FI_GRADIENT_CASE(JB, KB)                                                    \
    case KB:                                                                        \
        FI_FN(gradient_tile)(JB, KB, D, ldd, A + k * lda, lda, nv,                  \
                             lanes + k * FI_W, lane_row);                           \
        break;
#define FI_GRADIENT_ROWS(JB, KB)                                                    \
static void FI_FN(gradient_rows##JB)(                                               \
        const FI_T* D, ptrdiff_t ldd, const FI_T* A, ptrdiff_t lda, ptrdiff_t n_in, \
        ptrdiff_t nv, FI_T* lanes, ptrdiff_t lane_row)                              \
{                                                                                   \
    ptrdiff_t k = 0;                                                                \
    for (; k + KB <= n_in; k += KB)                                                 \
        FI_FN(gradient_tile)(JB, KB, D, ldd, A + k * lda, lda, nv,                  \
                             lanes + k * FI_W, lane_row);                           \
    switch (n_in - k) {                                                             \
    FI_GRADIENT_CASE(JB, 7) FI_GRADIENT_CASE(JB, 6) FI_GRADIENT_CASE(JB, 5)         \
    FI_GRADIENT_CASE(JB, 4) FI_GRADIENT_CASE(JB, 3) FI_GRADIENT_CASE(JB, 2)         \
    FI_GRADIENT_CASE(JB, 1)                                                         \
    }                                                                               \
}
FI_GRADIENT_ROWS(4, FI_GRAD_K4)
FI_GRADIENT_ROWS(3, FI_GRAD_K3)
FI_GRADIENT_ROWS(2, FI_GRAD_K2)
FI_GRADIENT_ROWS(1, FI_GRAD_K1)
#undef FI_GRADIENT_ROWS
#undef FI_GRADIENT_CASE

/* Lanes of the gradients of a linear layer over nv vectors of examples:
 * dW_lanes (n_out x n_in weights, FI_W lanes each) += D A^T lane by lane,
 * db_lanes (n_out, FI_W lanes each) += the lane sums of D's rows. */
static void FI_FN(dense_gradient)(
        const FI_T* D, ptrdiff_t ldd, ptrdiff_t n_out,
        const FI_T* A, ptrdiff_t lda, ptrdiff_t n_in, ptrdiff_t nv,
        FI_T* dW_lanes, FI_T* db_lanes)
{
    ptrdiff_t j = 0, i, lane_row = n_in * FI_W;
    int r, rows;
    FI_V s[4];
    FI_T* l;
    if (nv < 1 || nv > FI_MAX_VECTORS)  /* never: callers pass one block */
        return;
    for (; j + 4 <= n_out; j += 4)
        FI_FN(gradient_rows4)(D + j * ldd, ldd, A, lda, n_in, nv,
                              dW_lanes + j * lane_row, lane_row);
    switch (n_out - j) {
    case 3:
        FI_FN(gradient_rows3)(D + j * ldd, ldd, A, lda, n_in, nv, dW_lanes + j * lane_row, lane_row);
        break;
    case 2:
        FI_FN(gradient_rows2)(D + j * ldd, ldd, A, lda, n_in, nv, dW_lanes + j * lane_row, lane_row);
        break;
    case 1:
        FI_FN(gradient_rows1)(D + j * ldd, ldd, A, lda, n_in, nv, dW_lanes + j * lane_row, lane_row);
        break;
    }
    for (j = 0; j < n_out; j += 4) {  /* bias: four rows at a time */
        rows = n_out - j < 4 ? (int)(n_out - j) : 4;
        for (r = 0; r < rows; r++)
            s[r] = FI_FN(load)(D + (j + r) * ldd);
        for (i = 1; i < nv; i++)
            for (r = 0; r < rows; r++)
                s[r] = FI_FN(add)(s[r], FI_FN(load)(D + (j + r) * ldd + i * FI_W));
        for (r = 0; r < rows; r++) {
            l = db_lanes + (j + r) * FI_W;
            FI_FN(store)(l, FI_FN(add)(FI_FN(load)(l), s[r]));
        }
    }
}

/* ---- the machine's peak, for the benchmark table ------------------------ */

/* n rounds of FI_PEAK_CHAINS independent multiply-add chains: as many
 * multiply-adds per cycle as the core retires (2 n FI_PEAK_CHAINS FI_W flops).
 * Returns a value that depends on every chain, so none is optimised away. */
static FI_T FI_FN(multiply_add_chains)(ptrdiff_t n)
{
    FI_V acc[FI_PEAK_CHAINS], x = FI_FN(splat)((FI_T)0.999999), y = FI_FN(splat)((FI_T)1e-6);
    FI_T out[FI_W * 2], total = 0;
    ptrdiff_t i;
    int c;
    for (c = 0; c < FI_PEAK_CHAINS; c++)
        acc[c] = FI_FN(splat)((FI_T)c);
    for (i = 0; i < n; i++) {
        FI_UNROLL
        for (c = 0; c < FI_PEAK_CHAINS; c++)
            acc[c] = FI_FN(fma)(acc[c], x, y);
    }
    for (c = 1; c < FI_PEAK_CHAINS; c++)
        acc[0] = FI_FN(add)(acc[0], acc[c]);
    FI_FN(store)(out, acc[0]);
    for (c = 0; c < FI_W; c++)
        total += out[c];
    return total;
}

/* This body is a template instantiated once per element type: release its
   parameters so that the next instantiation defines its own. */
#undef FI_FMA_INTRINSIC
#undef FI_MAX_INTRINSIC
#undef FI_T
#undef FI_V
#undef FI_VI
#undef FI_H
#undef FI_HI
#undef FI_HSPLAT
#undef FI_W
#undef FI_FN
