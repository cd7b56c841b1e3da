/*
 * linalg.c — fixed-order vector and matrix kernels (linalg.h). Built with -O3 so that GCC
 * vectorises the loops; the results are the bits of the scalar code (no -ffast-math, no
 * floating-point contraction).
 */
#include "linalg.h"

#include <string.h>

/* recd_la_gemv's loop, compiled three times: for baseline x86-64 (SSE2), AVX2 and AVX-512F.
 * Only the vector width differs — the operations of each of the 8 lanes, their order and the
 * reduction are those of recd_la_dot, and no variant contracts a multiply and an add (no FMA:
 * -ffp-contract=off, and "fma" is not among the targets) — so every variant returns the same
 * bits (test_util: test_linalg_variants compares them on the CPU it runs on). */
#define GEMV_BODY                                 \
    for (size_t i = 0; i < m; i++) {              \
        float v = recd_la_dot(A + i * lda, x, n); \
                                                  \
        y[i] = accumulate ? y[i] + v : v;         \
    }

static void gemv_base(size_t m, size_t n, const float *A, size_t lda, const float *x,
                      int accumulate, float *y)
{
    GEMV_BODY
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void gemv_avx2(size_t m, size_t n, const float *A,
                                                      size_t lda, const float *x, int accumulate,
                                                      float *y)
{
    GEMV_BODY
}

__attribute__((target("avx512f"))) static void gemv_avx512(size_t m, size_t n, const float *A,
                                                           size_t lda, const float *x,
                                                           int accumulate, float *y)
{
    GEMV_BODY
}
#endif

int recd_la_gemv_variant(int variant, size_t m, size_t n, const float *A, size_t lda,
                         const float *x, int accumulate, float *y)
{
    switch (variant) {
    case RECD_LA_BASE: gemv_base(m, n, A, lda, x, accumulate, y); return 0;
#if defined(__x86_64__) && defined(__GNUC__)
    case RECD_LA_AVX2:
        if (!__builtin_cpu_supports("avx2")) {
            return -1;
        }
        gemv_avx2(m, n, A, lda, x, accumulate, y);
        return 0;
    case RECD_LA_AVX512:
        if (!__builtin_cpu_supports("avx512f")) {
            return -1;
        }
        gemv_avx512(m, n, A, lda, x, accumulate, y);
        return 0;
#endif
    default: return -1;
    }
}

void recd_la_gemv(size_t m, size_t n, const float *A, size_t lda, const float *x, int accumulate,
                  float *y)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        gemv_avx512(m, n, A, lda, x, accumulate, y);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        gemv_avx2(m, n, A, lda, x, accumulate, y);
        return;
    }
#endif
    gemv_base(m, n, A, lda, x, accumulate, y);
}

/* recd_la_gemv_multi's loop: blocks of up to 8 vectors, each row of A read once per block. Lane
 * j of vector e sums a[c + j] * x_e[c + j] over c = 0, 8, 16, ... in order, one multiply and
 * one add each (v8sf: GCC's vector extension, element-wise; no contraction), then the lanes are
 * reduced and the tail added exactly as recd_la_dot does: the bits of recd_la_gemv for each
 * vector. A block's accumulators are independent chains held in registers, which makes it
 * faster than one dot after another (each addition waits for the previous one of its lane)
 * besides the reads of A it saves. */
typedef float v8sf __attribute__((vector_size(32)));

static inline void v8_load(v8sf *v, const float *p)
{
    memcpy(v, p, sizeof(*v));
}

/* KB vectors from xb against every row of A: Y rows e0 .. e0 + KB - 1 */
#define GEMV_ROWS(KB)                                                                              \
    for (size_t i = 0; i < m; i++) {                                                               \
        const float *a = A + i * lda;                                                              \
        v8sf acc[KB], va, vx;                                                                      \
        size_t c = 0;                                                                              \
                                                                                                   \
        for (size_t e = 0; e < (KB); e++) {                                                        \
            acc[e] = (v8sf){ 0, 0, 0, 0, 0, 0, 0, 0 };                                             \
        }                                                                                          \
        for (; c + 8 <= n; c += 8) {                                                               \
            v8_load(&va, a + c);                                                                   \
            for (size_t e = 0; e < (KB); e++) {                                                    \
                v8_load(&vx, xb + e * ldx + c);                                                    \
                acc[e] += va * vx;                                                                 \
            }                                                                                      \
        }                                                                                          \
        for (size_t e = 0; e < (KB); e++) {                                                        \
            const float *x = xb + e * ldx;                                                         \
            float s = ((acc[e][0] + acc[e][4]) + (acc[e][1] + acc[e][5])) +                        \
                      ((acc[e][2] + acc[e][6]) + (acc[e][3] + acc[e][7]));                         \
                                                                                                   \
            for (size_t t = c; t < n; t++) {                                                       \
                s += a[t] * x[t];                                                                  \
            }                                                                                      \
            Y[(e0 + e) * ldy + i] = s;                                                             \
        }                                                                                          \
    }

/* blocks of 8 vectors, then one of 4, 2 and 1 for the rest */
#define GEMV_MULTI_BODY                                                                            \
    size_t e0 = 0;                                                                                 \
    const float *xb;                                                                               \
                                                                                                   \
    for (; e0 + 8 <= k; e0 += 8) {                                                                 \
        xb = X + e0 * ldx;                                                                         \
        GEMV_ROWS(8)                                                                               \
    }                                                                                              \
    if (e0 + 4 <= k) {                                                                             \
        xb = X + e0 * ldx;                                                                         \
        GEMV_ROWS(4)                                                                               \
        e0 += 4;                                                                                   \
    }                                                                                              \
    if (e0 + 2 <= k) {                                                                             \
        xb = X + e0 * ldx;                                                                         \
        GEMV_ROWS(2)                                                                               \
        e0 += 2;                                                                                   \
    }                                                                                              \
    if (e0 < k) {                                                                                  \
        xb = X + e0 * ldx;                                                                         \
        GEMV_ROWS(1)                                                                               \
    }

static void gemv_multi_base(size_t m, size_t n, const float *A, size_t lda, const float *X,
                            size_t ldx, size_t k, float *Y, size_t ldy)
{
    GEMV_MULTI_BODY
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void gemv_multi_avx2(size_t m, size_t n, const float *A,
                                                            size_t lda, const float *X,
                                                            size_t ldx, size_t k, float *Y,
                                                            size_t ldy)
{
    GEMV_MULTI_BODY
}

__attribute__((target("avx512f"))) static void gemv_multi_avx512(size_t m, size_t n,
                                                                 const float *A, size_t lda,
                                                                 const float *X, size_t ldx,
                                                                 size_t k, float *Y, size_t ldy)
{
    GEMV_MULTI_BODY
}
#endif

int recd_la_gemv_multi_variant(int variant, size_t m, size_t n, const float *A, size_t lda,
                               const float *X, size_t ldx, size_t k, float *Y, size_t ldy)
{
    switch (variant) {
    case RECD_LA_BASE: gemv_multi_base(m, n, A, lda, X, ldx, k, Y, ldy); return 0;
#if defined(__x86_64__) && defined(__GNUC__)
    case RECD_LA_AVX2:
        if (!__builtin_cpu_supports("avx2")) {
            return -1;
        }
        gemv_multi_avx2(m, n, A, lda, X, ldx, k, Y, ldy);
        return 0;
    case RECD_LA_AVX512:
        if (!__builtin_cpu_supports("avx512f")) {
            return -1;
        }
        gemv_multi_avx512(m, n, A, lda, X, ldx, k, Y, ldy);
        return 0;
#endif
    default: return -1;
    }
}

void recd_la_gemv_multi(size_t m, size_t n, const float *A, size_t lda, const float *X, size_t ldx,
                        size_t k, float *Y, size_t ldy)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        gemv_multi_avx512(m, n, A, lda, X, ldx, k, Y, ldy);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        gemv_multi_avx2(m, n, A, lda, X, ldx, k, Y, ldy);
        return;
    }
#endif
    gemv_multi_base(m, n, A, lda, X, ldx, k, Y, ldy);
}

void recd_la_gemv_t(size_t m, size_t n, const float *A, size_t lda, const float *x, float *y)
{
    for (size_t j = 0; j < n; j++) {
        y[j] = 0.0f;
    }
    for (size_t i = 0; i < m; i++) {
        recd_la_axpy(n, x[i], A + i * lda, y);
    }
}

void recd_la_rank_update(size_t d, size_t t, size_t b, float alpha, const float *U, const float *G,
                         float beta, float *W, size_t ldw)
{
    float acc[1024];

    for (size_t r = 0; r < d; r++) {
        float *w = W + r * ldw;

        for (size_t c0 = 0; c0 < t; c0 += 1024) {
            size_t nc = t - c0 < 1024 ? t - c0 : 1024;

            for (size_t c = 0; c < nc; c++) {
                acc[c] = 0.0f;
            }
            for (size_t k = 0; k < b; k++) {
                recd_la_axpy(nc, U[k * d + r], G + k * t + c0, acc);
            }
            for (size_t c = 0; c < nc; c++) {
                w[c0 + c] = beta * w[c0 + c] + alpha * acc[c];
            }
        }
    }
}
