/*
 * linalg.c — fixed-order vector and matrix kernels (linalg.h). Built with -O3 so that GCC
 * vectorises the loops; the results are the bits of the scalar code (no -ffast-math, no
 * floating-point contraction).
 */
#include "linalg.h"

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
