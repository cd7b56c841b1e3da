/* test_util.c — the arena, the byte buffer, the string map and the error helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "linalg.h"
#include "recd.h"
#include "strmap.h"

static void test_arena(void **s)
{
    struct recd_arena *a = recd_arena_new(4096);
    char *p, *big;
    int i;

    (void)s;
    assert_non_null(a);
    for (i = 0; i < 1000; i++) {
        p = recd_arena_strndup(a, "hello world", 5);
        assert_string_equal(p, "hello");
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    big = recd_arena_alloc(a, 1 << 20);   /* larger than a chunk */
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    assert_true(recd_arena_used(a) >= (1u << 20));
    recd_arena_reset(a);
    assert_int_equal(recd_arena_used(a), 0);
    p = recd_arena_strndup(a, "x", 1);
    assert_string_equal(p, "x");
    recd_arena_destroy(a);
}

static void test_buf(void **s)
{
    struct recd_buf b;
    int i;

    (void)s;
    recd_buf_init(&b);
    for (i = 0; i < 10000; i++) {
        assert_int_equal(recd_buf_append(&b, "ab", 2), RECD_OK);
    }
    assert_int_equal(b.len, 20000);
    assert_memory_equal(b.data + 19998, "ab", 2);
    recd_buf_free(&b);
    assert_null(b.data);
}

static void test_strmap(void **s)
{
    struct recd_strmap *m = recd_strmap_new(4, free);
    char key[32];
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    int i;

    (void)s;
    assert_non_null(m);
    for (i = 0; i < 5000; i++) {
        int *x = malloc(sizeof(int));

        *x = i;
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(recd_strmap_put(m, key, x), RECD_OK);
    }
    assert_int_equal(recd_strmap_count(m), 5000);
    for (i = 0; i < 5000; i += 2) {   /* delete half: backward shift must keep the rest */
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(recd_strmap_del(m, key), 1);
        assert_int_equal(recd_strmap_del(m, key), 0);
    }
    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (i % 2) {
            assert_int_equal(*(int *)recd_strmap_get(m, key), i);
        } else {
            assert_null(recd_strmap_get(m, key));
        }
    }
    while (recd_strmap_next(m, &pos, &k, &v)) {
        assert_int_equal(atoi(k + 1), *(int *)v);
        seen++;
    }
    assert_int_equal(seen, 2500);
    recd_strmap_destroy(m);
}

/* recd_idxset: marks keep their first value, the list holds each marked index once in
 * marking order, clear unmarks exactly those, growth keeps marks. */
static void test_idxset(void **s)
{
    struct recd_idxset x;

    (void)s;
    recd_idxset_init(&x);
    assert_int_equal(recd_idxset_grow(&x, 10), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 7, 1), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 3, 2), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 7, 2), RECD_OK);   /* already marked: keeps 1 */
    assert_int_equal(x.n, 2);
    assert_int_equal(x.list[0], 7);
    assert_int_equal(x.list[1], 3);
    assert_int_equal(x.mark[7], 1);
    assert_int_equal(x.mark[3], 2);
    /* growth far past the first capacity keeps the marks and adds unmarked room */
    assert_int_equal(recd_idxset_grow(&x, 100000), RECD_OK);
    assert_int_equal(x.mark[7], 1);
    assert_int_equal(x.mark[99999], 0);
    for (int32_t i = 0; i < 1000; i++) {
        assert_int_equal(recd_idxset_add(&x, i * 97, 1), RECD_OK);   /* the list grows too */
    }
    assert_int_equal(x.n, 2 + 1000);   /* 0, 97, ..., 96903: none is 3 or 7 */
    recd_idxset_clear(&x);
    assert_int_equal(x.n, 0);
    for (size_t i = 0; i < x.cap_mark; i++) {
        assert_int_equal(x.mark[i], 0);
    }
    /* marked again after a clear, with the first value given in the new round */
    assert_int_equal(recd_idxset_add(&x, 3, 2), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 3, 1), RECD_OK);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.list[0], 3);
    assert_int_equal(x.mark[3], 2);
    recd_idxset_free(&x);
}

static void test_errors(void **s)
{
    char err[16];

    (void)s;
    assert_int_equal(recd_seterr(err, sizeof(err), RECD_EINVAL, "value %d too long", 123456),
                     RECD_EINVAL);
    assert_string_equal(err, "value 123456 to");   /* truncated, NUL-terminated */
    assert_string_equal(recd_strerror(RECD_ELOCKED), "resource locked by another process");
    assert_string_equal(recd_kind_name(RECD_KIND_DELETION), "deletion");
    assert_string_equal(recd_kind_schema_file(RECD_KIND_DELETION), "user_deletion.avsc");
}

/* linalg.h: recd_la_gemv's instruction-set variants give the same bits (lengths around the 8
 * lanes, values of mixed sign and magnitude so that rounding happens); the kernels follow the
 * documented order (a scalar re-computation); the rank update equals its definition. */
static void test_linalg_variants(void **state)
{
    enum { M = 37, NMAX = 70 };
    static float A[M * NMAX], x[NMAX], y0[M], y1[M];
    uint32_t r = 7;
    size_t n;
    int v, ran = 0;
    (void)state;

    for (size_t i = 0; i < M * NMAX; i++) {
        r = r * 1664525u + 1013904223u;
        A[i] = ((float)(r >> 8) / 16777216.0f - 0.5f) * (float)(1 + (r & 0x3f));
    }
    for (size_t i = 0; i < NMAX; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)(r >> 8) / 16777216.0f - 0.3f;
    }
    for (n = 0; n <= NMAX; n++) {
        assert_int_equal(recd_la_gemv_variant(RECD_LA_BASE, M, n, A, NMAX, x, 0, y0), 0);
        for (size_t i = 0; i < M; i++) {   /* the documented order, written out */
            float acc[8] = { 0 }, s;
            size_t k = 0;

            for (; k + 8 <= n; k += 8) {
                for (size_t j = 0; j < 8; j++) {
                    acc[j] += A[i * NMAX + k + j] * x[k + j];
                }
            }
            s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (; k < n; k++) {
                s += A[i * NMAX + k] * x[k];
            }
            assert_memory_equal(&s, &y0[i], sizeof(s));
        }
        for (v = RECD_LA_AVX2; v <= RECD_LA_AVX512; v++) {
            memset(y1, 0xff, sizeof(y1));
            if (recd_la_gemv_variant(v, M, n, A, NMAX, x, 0, y1) != 0) {
                continue;   /* the CPU lacks it; reported below */
            }
            ran |= 1 << v;
            assert_memory_equal(y0, y1, sizeof(y0));
        }
        memcpy(y1, y0, sizeof(y0));
        recd_la_gemv(M, n, A, NMAX, x, 1, y1);   /* accumulate: y + A x */
        for (size_t i = 0; i < M; i++) {
            float want = y0[i] + y0[i];

            assert_memory_equal(&want, &y1[i], sizeof(want));
        }
    }
    fprintf(stderr, "linalg: variants compared: base%s%s\n", ran & 2 ? ", avx2" : "",
            ran & 4 ? ", avx512" : " (no avx512 on this CPU)");
    {   /* several vectors at once: each row of Y has the bits of that vector's own gemv, for
         * every block split of k (8, 4, 2, 1), every length n (the 8-lane body and the tail),
         * strided X and Y, in every variant */
        enum { K = 19, LDX = NMAX + 3, LDY = M + 5 };
        static float X[K * LDX], Y[K * LDY], want[K * LDY];
        size_t kk, e;

        for (size_t i = 0; i < K * LDX; i++) {
            r = r * 1664525u + 1013904223u;
            X[i] = (float)(r >> 8) / 16777216.0f - 0.6f;
        }
        for (n = 0; n <= NMAX; n += (n < 20 ? 1 : 7)) {
            for (e = 0; e < K; e++) {
                assert_int_equal(recd_la_gemv_variant(RECD_LA_BASE, M, n, A, NMAX, X + e * LDX, 0,
                                                      want + e * LDY),
                                 0);
            }
            for (kk = 0; kk <= K; kk++) {
                for (v = RECD_LA_BASE; v <= RECD_LA_AVX512 + 1; v++) {
                    memset(Y, 0xff, sizeof(Y));
                    if (v <= RECD_LA_AVX512) {
                        if (recd_la_gemv_multi_variant(v, M, n, A, NMAX, X, LDX, kk, Y, LDY) != 0) {
                            continue;
                        }
                    } else {
                        recd_la_gemv_multi(M, n, A, NMAX, X, LDX, kk, Y, LDY);
                    }
                    for (e = 0; e < kk; e++) {
                        assert_memory_equal(want + e * LDY, Y + e * LDY, M * sizeof(float));
                    }
                    for (e = 0; e < K * LDY; e++) {   /* nothing written past the k rows or the
                                                       * m columns of a row */
                        uint32_t bits;

                        if (e / LDY < kk && e % LDY < M) {
                            continue;
                        }
                        memcpy(&bits, &Y[e], sizeof(bits));
                        assert_int_equal(bits, 0xffffffffu);
                    }
                }
            }
        }
        assert_int_equal(recd_la_gemv_multi_variant(9, M, 8, A, NMAX, X, LDX, 1, Y, LDY), -1);
    }
    assert_int_equal(recd_la_gemv_variant(9, M, 8, A, NMAX, x, 0, y1), -1);
    {   /* W = beta W + alpha Uᵀ G, U 3 x 2, G 3 x 5 */
        float U[6], G[15], W[10], W0[10];

        for (int i = 0; i < 6; i++) {
            U[i] = (float)(i + 1) * 0.5f;
        }
        for (int i = 0; i < 15; i++) {
            G[i] = (float)(i % 4) - 1.25f;
        }
        for (int i = 0; i < 10; i++) {
            W[i] = W0[i] = (float)i * 0.1f;
        }
        recd_la_rank_update(2, 5, 3, 0.25f, U, G, 0.5f, W, 5);
        for (int rr = 0; rr < 2; rr++) {
            for (int c = 0; c < 5; c++) {
                float acc = 0.0f, want;

                for (int k = 0; k < 3; k++) {
                    acc += U[k * 2 + rr] * G[k * 5 + c];
                }
                want = 0.5f * W0[rr * 5 + c] + 0.25f * acc;
                assert_memory_equal(&want, &W[rr * 5 + c], sizeof(want));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),  cmocka_unit_test(test_buf),
        cmocka_unit_test(test_strmap), cmocka_unit_test(test_idxset),
        cmocka_unit_test(test_errors), cmocka_unit_test(test_linalg_variants),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
