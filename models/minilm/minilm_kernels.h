/*
 * minilm_kernels.h — the element-wise kernels of the encoder (internal): exp for softmax,
 * exact-erf GELU, bias, residual + LayerNorm, written as plain loops that the compiler
 * vectorises (the library is built with -O3; the hot functions carry target_clones so one
 * binary runs AVX-512 / AVX2 code where the CPU has it).
 */
#ifndef RECD_MINILM_KERNELS_H
#define RECD_MINILM_KERNELS_H

#include <stddef.h>

/* x[i] = exp(x[i] - max) for i < n, returns the sum (x[i] <= max assumed). */
float minilm_exp_sum(float *x, size_t n, float max);
/* softmax of each row of s[rows x cols], in place */
void minilm_softmax_rows(float *s, size_t rows, size_t cols);
/* y[r][c] = gelu(y[r][c] + b[c]), exact (erf) GELU, rows x cols, row stride cols */
void minilm_bias_gelu(float *y, const float *b, size_t rows, size_t cols);
/* y[r][c] += b[c] + res[r][c], then LayerNorm of each row with gamma/beta/eps, in place */
void minilm_bias_res_layernorm(float *y, const float *b, const float *res, const float *g,
                               const float *beta, float eps, size_t rows, size_t cols);
/* y[r][c] += b[c] */
void minilm_bias(float *y, const float *b, size_t rows, size_t cols);
/* the scalar erf approximation used by minilm_bias_gelu (for the tests) */
float minilm_erf(float x);

#endif /* RECD_MINILM_KERNELS_H */
