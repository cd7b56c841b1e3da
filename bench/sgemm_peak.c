/*
 * sgemm_peak.c — OpenBLAS SGEMM reference for bench/throughput (and the encoder bench):
 * GFLOPS of C = A x B^T on the shapes rerank uses (M users x K dims against N items) and on a
 * large square product (the machine's single-core peak). Run with OPENBLAS_NUM_THREADS=1.
 *
 *   sgemm_peak M N K [seconds]   prints: {"m":..,"n":..,"k":..,"gflops":..}
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int m, n, k, reps = 0;
    double secs, t0, t;
    float *a, *b, *c;

    if (argc < 4) {
        fprintf(stderr, "usage: sgemm_peak M N K [seconds]\n");
        return 64;
    }
    m = atoi(argv[1]);
    n = atoi(argv[2]);
    k = atoi(argv[3]);
    secs = argc > 4 ? atof(argv[4]) : 2.0;
    a = malloc((size_t)m * k * sizeof(float));
    b = malloc((size_t)n * k * sizeof(float));
    c = malloc((size_t)m * n * sizeof(float));
    if (a == NULL || b == NULL || c == NULL) {
        return 1;
    }
    for (size_t i = 0; i < (size_t)m * k; i++) {
        a[i] = (float)(i % 7) * 0.1f;
    }
    for (size_t i = 0; i < (size_t)n * k; i++) {
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
    t0 = now();
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        reps++;
        t = now() - t0;
    } while (t < secs);
    printf("{\"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.2f}\n", m, n, k,
           2.0 * m * n * k * reps / t / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
