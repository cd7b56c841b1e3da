/* test_mf.c — the sgd operator's matrix factorisation (models/mf/mf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mf.h"

#define N_ITEMS 200
#define TDIM    8

/* a stream where item 2k is followed by item 2k+1 */
static void train_pairs(struct mf *m, int rounds, const struct mf_text *t)
{
    for (int r = 0; r < rounds; r++) {
        for (int32_t k = 0; k < N_ITEMS / 2; k++) {
            int32_t a = 2 * k;

            assert_int_equal(mf_learn(m, &a, 1, a + 1, 1.0f, t), 0);
        }
    }
}

static void test_learns_pairs(void **state)
{
    struct mf_params p;
    struct mf *m;
    float u[32];
    int better = 0;

    (void)state;
    mf_params_default(&p);
    p.neg_uniform = 0.5f;
    m = mf_new(&p, 0);
    assert_non_null(m);
    train_pairs(m, 30, NULL);
    for (int32_t k = 0; k < N_ITEMS / 2; k++) {
        int32_t a = 2 * k;
        float pos, other;

        assert_int_equal(mf_user(m, &a, 1, NULL, u, NULL), 0);
        pos = mf_score(m, u, NULL, a + 1, NULL);
        other = mf_score(m, u, NULL, (a + 3) % N_ITEMS, NULL);
        better += pos > other;
    }
    /* the successor outranks another successor for (nearly) every item */
    assert_true(better >= 95);
    mf_destroy(m);
}

static void test_deterministic(void **state)
{
    struct mf_params p;
    struct mf *a, *b;
    float ua[32], ub[32];
    int32_t ctx[3] = { 4, 8, 10 };

    (void)state;
    mf_params_default(&p);
    a = mf_new(&p, 0);
    b = mf_new(&p, 0);
    train_pairs(a, 3, NULL);
    train_pairs(b, 3, NULL);
    assert_int_equal(mf_user(a, ctx, 3, NULL, ua, NULL), 0);
    assert_int_equal(mf_user(b, ctx, 3, NULL, ub, NULL), 0);
    assert_memory_equal(ua, ub, sizeof(ua));
    for (int32_t j = 0; j < N_ITEMS; j++) {
        float x = mf_score(a, ua, NULL, j, NULL), y = mf_score(b, ub, NULL, j, NULL);

        assert_memory_equal(&x, &y, sizeof(x));
    }
    /* a different seed gives a different model */
    p.seed = 2;
    mf_destroy(b);
    b = mf_new(&p, 0);
    train_pairs(b, 3, NULL);
    assert_int_equal(mf_user(b, ctx, 3, NULL, ub, NULL), 0);
    assert_memory_not_equal(ua, ub, sizeof(ua));
    mf_destroy(a);
    mf_destroy(b);
}

/* Item texts: item 2k has topic k % TDIM, its successor 2k+1 topic (k + 3) % TDIM; items >=
 * N_ITEMS are never clicked but have texts (item N_ITEMS + t: topic t). After training, an
 * unclicked item with the successor's topic must outrank one with the context item's own topic
 * — the opposite of the untrained text prior (text similarity to the context), so only a
 * learned projection passes. */
static void test_text_cold_start(void **state)
{
    static float tv[(N_ITEMS + 20) * TDIM];
    struct mf_params p;
    struct mf_text t = { tv, N_ITEMS + 20, TDIM };
    struct mf *m;
    float u[32], ut[TDIM];
    int better = 0, trials = 0;

    (void)state;
    memset(tv, 0, sizeof(tv));
    for (int32_t i = 0; i < N_ITEMS + 20; i++) {
        int topic = i >= N_ITEMS ? (i - N_ITEMS) % TDIM : (i / 2 + (i % 2 ? 3 : 0)) % TDIM;

        tv[i * TDIM + topic] = 1.0f;
    }
    mf_params_default(&p);
    m = mf_new(&p, TDIM);
    assert_non_null(m);
    train_pairs(m, 10, &t);
    for (int32_t k = 0; k < N_ITEMS / 2; k += 7) {
        int32_t a = 2 * k;
        int topic = k % TDIM;
        int32_t same = N_ITEMS + (topic + 3) % TDIM, other = N_ITEMS + topic;

        assert_int_equal(mf_user(m, &a, 1, &t, u, ut), 0);
        better += mf_score(m, u, ut, same, &t) > mf_score(m, u, ut, other, &t);
        trials++;
    }
    print_message("cold start: %d of %d\n", better, trials);
    assert_true(better * 10 >= trials * 9);
    /* without the text matrix the unclicked items have no score at all */
    {
        int32_t a = 0;

        assert_int_equal(mf_user(m, &a, 1, NULL, u, NULL), 0);
        assert_true(mf_score(m, u, NULL, N_ITEMS + 1, NULL) == 0.0f);
    }
    mf_destroy(m);
}

static void test_params(void **state)
{
    struct mf_params p;

    (void)state;
    mf_params_default(&p);
    assert_int_equal(mf_params_set(&p, "dim", "16"), 0);
    assert_int_equal(p.dim, 16);
    assert_int_equal(mf_params_set(&p, "lr", "0.3"), 0);
    assert_int_equal(mf_params_set(&p, "dim", "0"), -1);
    assert_int_equal(mf_params_set(&p, "dim", "2.5"), -1);
    assert_int_equal(mf_params_set(&p, "ctx", "65"), -1);
    assert_int_equal(mf_params_set(&p, "lr", "nan"), -1);
    assert_int_equal(mf_params_set(&p, "nope", "1"), -1);
    p.dim = 0;
    assert_null(mf_new(&p, 0));
}

static void test_bad_input(void **state)
{
    struct mf_params p;
    struct mf *m;
    int32_t ctx = 1;
    float u[32];

    (void)state;
    mf_params_default(&p);
    m = mf_new(&p, 0);
    assert_int_equal(mf_learn(m, &ctx, 1, -1, 1.0f, NULL), -1);
    assert_int_equal(mf_learn(m, &ctx, 1, 2, 0.0f, NULL), -1);
    /* a context of unknown items gives no user factor */
    ctx = 1000;
    assert_int_equal(mf_user(m, &ctx, 1, NULL, u, NULL), -1);
    /* a long context uses its last p.ctx items only */
    {
        int32_t many[100];

        for (int i = 0; i < 100; i++) {
            many[i] = i;
        }
        float u_last[32], u_first[32];

        assert_true(p.ctx > 0 && p.ctx < 100 && p.dim <= 32);
        assert_int_equal(mf_learn(m, many, 100, 7, 2.0f, NULL), 0);
        assert_int_equal(mf_user(m, many, 100, NULL, u, NULL), 0);
        /* the same bits as from the last p.ctx items alone ... */
        assert_int_equal(mf_user(m, many + 100 - p.ctx, p.ctx, NULL, u_last, NULL), 0);
        assert_memory_equal(u, u_last, p.dim * sizeof(float));
        /* ... and not those of the first p.ctx items (the comparison can fail) */
        assert_int_equal(mf_user(m, many, p.ctx, NULL, u_first, NULL), 0);
        assert_memory_not_equal(u, u_first, p.dim * sizeof(float));
    }
    mf_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_pairs),    cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_text_cold_start), cmocka_unit_test(test_params),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
