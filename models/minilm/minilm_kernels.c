/*
 * minilm_kernels.c — element-wise kernels of the encoder (see minilm_kernels.h).
 *
 * exp: Cephes-style range reduction (x = n ln2 + r) and a degree-6 polynomial, about 1 ulp on
 * the softmax range. erf: the rational approximation Eigen uses for float (odd degree-13
 * numerator over even degree-8 denominator on [-4, 4], +-1 outside), about 2 ulp; GELU is then
 * 0.5 x (1 + erf(x / sqrt 2)) as BERT's "gelu". Both are branch-free so the loops vectorise.
 */
#include "minilm_kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define MINILM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MINILM_CLONES
#endif

static inline float exp_poly(float x)
{
    float z, n, r, p;
    int32_t e;
    uint32_t bits;
    float scale;

    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    z = x * 1.44269504088896341f;
    /* round to nearest by the 1.5 * 2^23 trick (|z| < 2^22): no libm call, so it vectorises */
    n = (z + 12582912.0f) - 12582912.0f;
    r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    e = (int32_t)n + 127;
    bits = (uint32_t)e << 23;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

static inline float erf_poly(float x)
{
    float x2, p, q;

    x = x > 4.0f ? 4.0f : x;
    x = x < -4.0f ? -4.0f : x;
    x2 = x * x;
    p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

float minilm_erf(float x)
{
    return erf_poly(x);
}

MINILM_CLONES
float minilm_exp_sum(float *x, size_t n, float max)
{
    float acc[16] = { 0 };
    float sum = 0.0f;
    size_t i, j;

    for (i = 0; i < n; i++) {
        x[i] = exp_poly(x[i] - max);
    }
    /* 16 partial sums (a fixed order, so the result does not depend on the ISA clone) */
    for (i = 0; i + 16 <= n; i += 16) {
        for (j = 0; j < 16; j++) {
            acc[j] += x[i + j];
        }
    }
    for (; i < n; i++) {
        acc[i % 16] += x[i];
    }
    for (j = 0; j < 16; j++) {
        sum += acc[j];
    }
    return sum;
}

MINILM_CLONES
void minilm_bias_gelu(float *y, const float *b, size_t rows, size_t cols)
{
    size_t r, c;

    for (r = 0; r < rows; r++) {
        float *row = y + r * cols;
        for (c = 0; c < cols; c++) {
            float v = row[c] + b[c];
            row[c] = 0.5f * v * (1.0f + erf_poly(v * 0.70710678118654752f));
        }
    }
}

MINILM_CLONES
void minilm_bias(float *y, const float *b, size_t rows, size_t cols)
{
    size_t r, c;

    for (r = 0; r < rows; r++) {
        float *row = y + r * cols;
        for (c = 0; c < cols; c++) {
            row[c] += b[c];
        }
    }
}

MINILM_CLONES
void minilm_bias_res_layernorm(float *y, const float *b, const float *res, const float *g,
                               const float *beta, float eps, size_t rows, size_t cols)
{
    size_t r, c, j;

    for (r = 0; r < rows; r++) {
        float *row = y + r * cols;
        const float *rr = res + r * cols;
        float acc[16] = { 0 }, mean = 0.0f, var = 0.0f, inv;
        for (c = 0; c < cols; c++) {
            row[c] += b[c] + rr[c];
        }
        /* 16 partial sums in a fixed order: vectorisable, and the same result on every ISA */
        for (c = 0; c + 16 <= cols; c += 16) {
            for (j = 0; j < 16; j++) {
                acc[j] += row[c + j];
            }
        }
        for (; c < cols; c++) {
            acc[c % 16] += row[c];
        }
        for (j = 0; j < 16; j++) {
            mean += acc[j];
            acc[j] = 0.0f;
        }
        mean /= (float)cols;
        for (c = 0; c + 16 <= cols; c += 16) {
            for (j = 0; j < 16; j++) {
                acc[j] += (row[c + j] - mean) * (row[c + j] - mean);
            }
        }
        for (; c < cols; c++) {
            acc[c % 16] += (row[c] - mean) * (row[c] - mean);
        }
        for (j = 0; j < 16; j++) {
            var += acc[j];
        }
        var /= (float)cols;
        inv = 1.0f / sqrtf(var + eps);
        for (c = 0; c < cols; c++) {
            row[c] = (row[c] - mean) * inv * g[c] + beta[c];
        }
    }
}

MINILM_CLONES
void minilm_softmax_rows(float *s, size_t rows, size_t cols)
{
    size_t r, c, j;

    for (r = 0; r < rows; r++) {
        float *row = s + r * cols, mx[16], m, inv;
        for (j = 0; j < 16; j++) {
            mx[j] = row[0];
        }
        for (c = 0; c + 16 <= cols; c += 16) {
            for (j = 0; j < 16; j++) {
                mx[j] = row[c + j] > mx[j] ? row[c + j] : mx[j];
            }
        }
        for (; c < cols; c++) {
            mx[c % 16] = row[c] > mx[c % 16] ? row[c] : mx[c % 16];
        }
        m = mx[0];
        for (j = 1; j < 16; j++) {
            m = mx[j] > m ? mx[j] : m;
        }
        inv = 1.0f / minilm_exp_sum(row, cols, m);
        for (c = 0; c < cols; c++) {
            row[c] *= inv;
        }
    }
}
