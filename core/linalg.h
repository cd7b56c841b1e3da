/*
 * linalg.h — the few vector and matrix kernels the model and rerank use, with a fixed order of
 * floating-point operations: the same inputs give the same bits on every x86-64 CPU, whatever
 * its vector width, and whatever BLAS kernels OpenBLAS would pick there (which differ in
 * blocking, FMA use and edge handling: OpenBLAS's SGEMV/SGEMM/SAXPY results change in the last
 * bits between its Haswell, SkylakeX, Sandybridge and Prescott kernels). Anything that feeds
 * the model, the state or a published list goes through these, never through cblas_*.
 *
 * The order: a dot product keeps 8 partial sums (lane j sums the elements i ≡ j mod 8 in index
 * order), reduced as ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)), then the n mod 8 tail in index order.
 * Element-wise kernels are one multiply and one add per element, never fused: the project is
 * built with -ffp-contract=off, so the compiler vectorises them (SSE2, AVX2 and AVX-512 clones
 * alike) without changing a result. docs/RELIABILITY.md "Results across CPUs".
 *
 * No allocation, no state; all arrays are borrowed. The inline kernels compile to the same
 * bits in every file that includes them (the same flags: no -ffast-math, no contraction).
 */
#ifndef RECD_LINALG_H
#define RECD_LINALG_H

#include <stddef.h>

/* Σ a[i] b[i] in the fixed order above (inline: the model's hot loops call it with dim 32) */
static inline float recd_la_dot(const float *a, const float *b, size_t n)
{
    float acc[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, s;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        for (size_t j = 0; j < 8; j++) {
            acc[j] += a[i + j] * b[i + j];
        }
    }
    s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) {
        s += a[i] * b[i];
    }
    return s;
}

/* y[i] = (accumulate ? y[i] : 0) + dot(A + i*lda, x, n) for i < m (row-major A, m x n) */
void recd_la_gemv(size_t m, size_t n, const float *A, size_t lda, const float *x, int accumulate,
                  float *y);

/* recd_la_gemv in one instruction-set variant (tests): 0 done, -1 the CPU lacks it. Every
 * variant returns the same bits; recd_la_gemv takes the widest the CPU has. */
enum { RECD_LA_BASE = 0, RECD_LA_AVX2 = 1, RECD_LA_AVX512 = 2 };
int recd_la_gemv_variant(int variant, size_t m, size_t n, const float *A, size_t lda,
                         const float *x, int accumulate, float *y);

/* Y[e*ldy + i] = dot(A + i*lda, X + e*ldx, n) for i < m, e < k: recd_la_gemv of each of the k
 * vectors X_e (the same bits), with every row of A read once per block of 8 vectors instead of
 * once per vector (rerank's text scores: A is the item matrix, megabytes, X the users' intents).
 * Y must not overlap A or X. */
void recd_la_gemv_multi(size_t m, size_t n, const float *A, size_t lda, const float *X, size_t ldx,
                        size_t k, float *Y, size_t ldy);
int recd_la_gemv_multi_variant(int variant, size_t m, size_t n, const float *A, size_t lda,
                               const float *X, size_t ldx, size_t k, float *Y, size_t ldy);

/* y[j] = Σ_i x[i] A[i*lda + j] for j < n, summed over i in increasing order (y = Aᵀ x) */
void recd_la_gemv_t(size_t m, size_t n, const float *A, size_t lda, const float *x, float *y);

/* y[i] += a * x[i] */
static inline void recd_la_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) {
        y[i] += a * x[i];
    }
}

/* x[i] *= a */
static inline void recd_la_scal(size_t n, float a, float *x)
{
    for (size_t i = 0; i < n; i++) {
        x[i] *= a;
    }
}

/* W = beta W + alpha Uᵀ G: W is d x t (row-major, ldw), U is b x d, G is b x t (both dense).
 * Element (r, c) = beta W[r,c] + alpha (Σ_k U[k,r] G[k,c], summed over k in increasing order). */
void recd_la_rank_update(size_t d, size_t t, size_t b, float alpha, const float *U, const float *G,
                         float beta, float *W, size_t ldw);

#endif
