/*
 * linalg.c — fixed-order vector and matrix kernels (linalg.h). Built with -O3 so that GCC
 * vectorises the loops; the results are the bits of the scalar code (no -ffast-math, no
 * floating-point contraction).
 */
#include "linalg.h"

void recd_la_gemv(size_t m, size_t n, const float *A, size_t lda, const float *x,
                  int accumulate, float *y)
{
    for (size_t i = 0; i < m; i++) {
        float v = recd_la_dot(A + i * lda, x, n);

        y[i] = accumulate ? y[i] + v : v;
    }
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

void recd_la_rank_update(size_t d, size_t t, size_t b, float alpha, const float *U,
                         const float *G, float beta, float *W, size_t ldw)
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
