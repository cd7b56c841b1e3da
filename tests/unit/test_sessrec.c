/* test_sessrec.c — the sessrec scoring core on tiny synthetic sessions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bigalloc.h"
#include "inline_sort.h"
#include "sessrec.h"

/* Replay sessions (rows of items terminated by -1) with session keys 1, 2, ... */
static void feed(struct sessrec *m, const int32_t *rows, size_t nrows, size_t width, uint64_t key0)
{
    size_t r, j;

    for (r = 0; r < nrows; r++) {
        for (j = 0; j < width && rows[r * width + j] >= 0; j++) {
            assert_int_equal(
                sessrec_observe(m, key0 + r, rows[r * width + j], (int64_t)(key0 + r) * 1000), 0);
        }
    }
}

static const int32_t seqs[][4] = {
    { 1, 2, 3, -1 }, { 1, 2, 3, -1 },  { 1, 2, 4, -1 },  { 5, 6, 7, -1 },
    { 5, 6, 7, -1 }, { 8, 9, -1, -1 }, { 2, 3, -1, -1 }, { 6, 7, -1, -1 },
};

/* The table's defaults (sessrec_params.h) with the library's baseline for these tests: the fixed
 * blend, and learning (where a test turns it on) from every click. */
static void test_params(struct sessrec_params *p)
{
    sessrec_params_default(p);
    p->learning = SESSREC_LEARN_FIXED;
    p->learn_every = 1;
}

static struct sessrec *make(uint32_t learn)
{
    struct sessrec_params p;

    test_params(&p);
    p.learning = (enum sessrec_learning)learn;
    return sessrec_new(&p);
}

static void test_next_item(void **s)
{
    struct sessrec *m = make(0);
    int32_t q[] = { 5, 6 }, out[10];
    uint8_t why[10];
    int32_t because[10];
    size_t n, i;

    (void)s;
    assert_non_null(m);
    feed(m, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1);
    n = sessrec_score(m, 1000, q, 2, out, NULL, why, because, 10);
    assert_true(n >= 2);
    /* the best item not already in the session is the seen successor of 5 → 6 (items of the
     * session itself may rank first: re-recommending them is intended) */
    i = out[0] == 5 || out[0] == 6 ? (out[1] == 5 || out[1] == 6 ? 2 : 1) : 0;
    assert_int_equal(out[i], 7);
    assert_true(why[i] == SESSREC_NEXT_ITEM || why[i] == SESSREC_SIMILAR_SESSION);
    assert_true(because[i] == 6 || because[i] == 5);
    sessrec_destroy(m);
}

static void test_next_item_only(void **s)
{
    struct sessrec_params p;
    struct sessrec *m;
    int32_t q[] = { 1, 2 }, out[5];
    uint8_t why[5];
    int32_t because[5];
    size_t n;

    (void)s;
    test_params(&p);
    p.learning = SESSREC_LEARN_FIXED;
    p.signals = 1u << SESSREC_NEXT_ITEM;
    m = sessrec_new(&p);
    assert_non_null(m);
    feed(m, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1);
    n = sessrec_score(m, 1000, q, 2, out, NULL, why, because, 5);
    assert_true(n >= 2);
    assert_int_equal(out[0], 3); /* 2→3 seen three times, 2→4 once */
    assert_int_equal(why[0], SESSREC_NEXT_ITEM);
    assert_int_equal(because[0], 2);
    sessrec_destroy(m);
}

static void test_deterministic(void **s)
{
    struct sessrec *a = make(1), *b = make(1);
    int32_t q[] = { 1, 2, 5 }, oa[20], ob[20];
    float sa[20], sb[20];
    size_t na, nb, r;

    (void)s;
    assert_non_null(a);
    assert_non_null(b);
    for (r = 0; r < 3; r++) {
        feed(a, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        feed(b, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        na = sessrec_score(a, 7, q, 3, oa, sa, NULL, NULL, 20);
        nb = sessrec_score(b, 7, q, 3, ob, sb, NULL, NULL, 20);
        sessrec_feedback(a, 3);
        sessrec_feedback(b, 3);
        assert_int_equal(na, nb);
        assert_memory_equal(oa, ob, na * sizeof(*oa));
        assert_memory_equal(sa, sb, na * sizeof(*sa));
    }
    {
        float wa[SESSREC_NFEATURES], wb[SESSREC_NFEATURES];
        sessrec_weights(a, 3, wa);
        sessrec_weights(b, 3, wb);
        assert_memory_equal(wa, wb, sizeof(wa));
    }
    sessrec_destroy(a);
    sessrec_destroy(b);
}

static void test_ties_by_id(void **s)
{
    struct sessrec_params p;
    struct sessrec *m;
    int32_t out[8];
    float sc[8];
    int32_t q[] = { 100 };
    size_t n, i;

    (void)s;
    test_params(&p);
    p.learning = SESSREC_LEARN_FIXED;
    p.signals = 1u << SESSREC_POPULAR;
    m = sessrec_new(&p);
    assert_non_null(m);
    /* items 9, 4, 6, 2 clicked once each in separate sessions: equal popularity */
    assert_int_equal(sessrec_observe(m, 1, 9, 0), 0);
    assert_int_equal(sessrec_observe(m, 2, 4, 0), 0);
    assert_int_equal(sessrec_observe(m, 3, 6, 0), 0);
    assert_int_equal(sessrec_observe(m, 4, 2, 0), 0);
    n = sessrec_score(m, 5, q, 1, out, sc, NULL, NULL, 8);
    assert_int_equal(n, 4);
    /* same decayed count is not exactly equal (decay by tick), so check a pure tie: */
    sessrec_destroy(m);

    p.pop_tau = 0; /* no decay: exact ties */
    m = sessrec_new(&p);
    assert_non_null(m);
    assert_int_equal(sessrec_observe(m, 1, 9, 0), 0);
    assert_int_equal(sessrec_observe(m, 2, 4, 0), 0);
    assert_int_equal(sessrec_observe(m, 3, 6, 0), 0);
    assert_int_equal(sessrec_observe(m, 4, 2, 0), 0);
    assert_int_equal(sessrec_observe(m, 5, 6, 0), 0);
    n = sessrec_score(m, 6, q, 1, out, sc, NULL, NULL, 8);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 6);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 4);
    assert_int_equal(out[3], 9);
    for (i = 1; i < n; i++) {
        assert_true(sc[i - 1] >= sc[i]);
    }
    sessrec_destroy(m);
}

static void test_repeat_and_self(void **s)
{
    struct sessrec_params p;
    struct sessrec *m;
    int32_t out[5];
    uint8_t why[5];
    int32_t q[] = { 11, 12, 11 };
    size_t n;

    (void)s;
    test_params(&p);
    p.learning = SESSREC_LEARN_FIXED;
    p.signals = (1u << SESSREC_IN_SESSION) | (1u << SESSREC_SIMILAR_SESSION);
    m = sessrec_new(&p);
    assert_non_null(m);
    /* only the current session itself has seen these items: it must not be its own neighbour */
    assert_int_equal(sessrec_observe(m, 42, 11, 0), 0);
    assert_int_equal(sessrec_observe(m, 42, 12, 0), 0);
    assert_int_equal(sessrec_observe(m, 42, 11, 0), 0);
    n = sessrec_score(m, 42, q, 3, out, NULL, why, NULL, 5);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 11);
    assert_int_equal(why[0], SESSREC_IN_SESSION);
    assert_int_equal(why[1], SESSREC_IN_SESSION);
    sessrec_destroy(m);
}

static void test_eviction_and_params(void **s)
{
    struct sessrec_params p;
    struct sessrec *m;
    struct sessrec_stats st;
    char err[64], buf[4096];
    int32_t out[5], q[] = { 1 };
    uint64_t k;

    (void)s;
    test_params(&p);
    assert_int_equal(
        sessrec_params_parse(&p, "max_sessions=4,w_next=2.5,learn_blend=0", err, sizeof(err)), 0);
    assert_int_equal(p.max_sessions, 4);
    assert_true(p.w[SESSREC_F_NEXT] == 2.5f);
    assert_int_equal(sessrec_params_parse(&p, "nope=1", err, sizeof(err)), -1);
    assert_string_equal(err, "nope=1");
    assert_int_equal(sessrec_params_set(&p, "k_neighbors", "-3"), -1);
    assert_true(sessrec_params_format(&p, buf, sizeof(buf)) < sizeof(buf));
    assert_non_null(strstr(buf, "max_sessions=4\n"));
    m = sessrec_new(&p);
    assert_non_null(m);
    for (k = 1; k <= 50; k++) {
        assert_int_equal(sessrec_observe(m, k, 1, 0), 0);
        assert_int_equal(sessrec_observe(m, k, (int32_t)(k % 7) + 2, 0), 0);
    }
    {
        int32_t it[4];
        assert_int_equal(sessrec_session_items(m, 50, it, 4), 2);
        assert_int_equal(it[0], 1);
        assert_int_equal(it[1], 50 % 7 + 2);
        assert_int_equal(sessrec_session_items(m, 50, it, 1), 1);
        assert_int_equal(it[0], 50 % 7 + 2);
        assert_int_equal(sessrec_session_items(m, 12345, it, 4), 0);
    }
    sessrec_end_session(m, 50);
    sessrec_stats(m, &st);
    assert_int_equal(st.live_sessions, 3);
    assert_int_equal(st.ticks, 100);
    assert_true(sessrec_score(m, 999, q, 1, out, NULL, NULL, NULL, 5) > 0);
    assert_int_equal(sessrec_observe(m, 1, -1, 0), -1);
    sessrec_destroy(m);
    sessrec_destroy(NULL);
}

/* blend_and_order (two-stage): the fixed blend still chooses and scores the list (identical to
 * fixed whatever was learned), the learned weights move and give the head's order. */
static struct sessrec *make_order(uint32_t learn_set)
{
    struct sessrec_params p;

    test_params(&p);
    p.learning = SESSREC_LEARN_BLEND_AND_ORDER;
    p.learn_set = learn_set;
    return sessrec_new(&p);
}

static void test_learn_order(void **s)
{
    struct sessrec *f = make(0), *m = make_order(0);
    int32_t q[] = { 1, 2 }, of[20], om[20];
    float sf[20], sm[20], w0[SESSREC_NFEATURES], w1[SESSREC_NFEATURES];
    size_t nf = 0, nm = 0, r, i;

    (void)s;
    assert_non_null(f);
    assert_non_null(m);
    assert_int_equal(sessrec_orders(f), 0);
    assert_int_equal(sessrec_orders(m), 20);
    float gap0 = 0;
    sessrec_weights(m, 2, w0);
    for (r = 0; r < 20; r++) {
        feed(f, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        feed(m, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        nf = sessrec_score(f, 7, q, 2, of, sf, NULL, NULL, 20);
        nm = sessrec_score(m, 7, q, 2, om, sm, NULL, NULL, 20);
        assert_int_equal(nf, nm);
        assert_memory_equal(of, om, nf * sizeof(*of));
        assert_memory_equal(sf, sm, nf * sizeof(*sf));
        if (r == 0) { /* the learned blend starts as the fixed one */
            for (i = 0; i < nm; i++) {
                assert_float_equal(sessrec_order_score(m, om[i]), sm[i], 1e-6);
            }
            gap0 = sessrec_order_score(m, 4) - sessrec_order_score(m, om[0]);
        }
        sessrec_feedback(f, 4); /* a no-op without learning */
        sessrec_feedback(m, 4); /* 4 follows 1, 2 once in the data: a weaker successor */
    }
    sessrec_weights(m, 2, w1);
    assert_memory_not_equal(w0, w1, sizeof(w0));
    sessrec_weights(f, 2, w1);
    assert_memory_equal(w0, w1, sizeof(w0));
    /* learned scores exist for the candidates only; 4 (the label) gained on the top item */
    nm = sessrec_score(m, 7, q, 2, om, sm, NULL, NULL, 20);
    for (i = 0; i < nm; i++) {
        assert_true(isfinite(sessrec_order_score(m, om[i])));
    }
    assert_false(isfinite(sessrec_order_score(m, 12345)));
    assert_false(isfinite(sessrec_order_score(f, om[0])));
    assert_true(sessrec_order_score(m, 4) - sessrec_order_score(m, om[0]) > gap0);
    sessrec_destroy(f);
    sessrec_destroy(m);
}

/* learn_set: the weights choosing the list learn from targets near the list boundary */
static void test_learn_set(void **s)
{
    struct sessrec *f = make(0), *a = make_order(1), *b = make_order(1);
    int32_t q[] = { 1, 2 }, of[30], oa[30], ob[30];
    float sf[30], sa[30], sb[30];
    size_t nf, na, nb, r, i, k;
    int differs = 0;

    (void)s;
    assert_non_null(f);
    assert_non_null(a);
    assert_non_null(b);
    for (r = 0; r < 20; r++) {
        /* 30 more items, each after 1, 2 once: the list boundary runs through them */
        for (k = 0; k < 30; k++) {
            int32_t row[3] = { 1, 2, (int32_t)(10 + k) };
            for (i = 0; i < 3; i++) {
                assert_int_equal(sessrec_observe(f, 1000 * r + k + 5000, row[i], 0), 0);
                assert_int_equal(sessrec_observe(a, 1000 * r + k + 5000, row[i], 0), 0);
                assert_int_equal(sessrec_observe(b, 1000 * r + k + 5000, row[i], 0), 0);
            }
        }
        nf = sessrec_score(f, 7, q, 2, of, sf, NULL, NULL, 30);
        na = sessrec_score(a, 7, q, 2, oa, sa, NULL, NULL, 30);
        nb = sessrec_score(b, 7, q, 2, ob, sb, NULL, NULL, 30);
        assert_int_equal(na, nb);
        assert_memory_equal(oa, ob, na * sizeof(*oa));
        assert_memory_equal(sa, sb, na * sizeof(*sa));
        differs |= nf != na || memcmp(sf, sa, nf * sizeof(*sf)) != 0;
        sessrec_feedback(a, oa[na > 21 ? 21 : na - 1]); /* a target just outside the head */
        sessrec_feedback(b, ob[nb > 21 ? 21 : nb - 1]);
        for (i = 1; i < na; i++) {
            assert_true(sa[i - 1] >= sa[i]);
        }
    }
    assert_true(differs); /* the set weights moved away from the fixed ones */
    sessrec_destroy(f);
    sessrec_destroy(a);
    sessrec_destroy(b);
}

/* TREND: fast-decayed clicks rank an item clicked a little just now above one clicked a lot
 * long ago (POPULAR, slow decay, ranks them the other way) */
static void test_trend(void **s)
{
    struct sessrec_params p;
    struct sessrec *m;
    int32_t q[] = { 99 }, out[4];
    size_t n;
    uint64_t k;

    (void)s;
    test_params(&p);
    p.signals = 1u << SESSREC_POPULAR;
    p.trend_tau = 100;
    p.w[SESSREC_F_POP] = 0;
    p.w[SESSREC_F_TREND] = 1;
    m = sessrec_new(&p);
    assert_non_null(m);
    for (k = 0; k < 50; k++) {
        assert_int_equal(sessrec_observe(m, k + 1, 1, 0), 0); /* item 1: 50 clicks */
    }
    for (k = 0; k < 1000; k++) { /* time passes: 1000 other items clicked once each */
        assert_int_equal(sessrec_observe(m, k + 100, 100 + (int32_t)k, 0), 0);
    }
    for (k = 0; k < 5; k++) {
        assert_int_equal(sessrec_observe(m, k + 5000, 2, 0), 0); /* item 2: 5, just now */
    }
    n = sessrec_score(m, 9999, q, 1, out, NULL, NULL, NULL, 4);
    assert_true(n >= 1);
    assert_int_equal(out[0], 2);
    sessrec_destroy(m);
    p.w[SESSREC_F_POP] = 1;
    p.w[SESSREC_F_TREND] = 0;
    p.pop_tau = 0;
    m = sessrec_new(&p);
    assert_non_null(m);
    for (k = 0; k < 50; k++) {
        assert_int_equal(sessrec_observe(m, k + 1, 1, 0), 0);
    }
    for (k = 0; k < 5; k++) {
        assert_int_equal(sessrec_observe(m, k + 5000, 2, 0), 0);
    }
    n = sessrec_score(m, 9999, q, 1, out, NULL, NULL, NULL, 4);
    assert_int_equal(out[0], 1);
    sessrec_destroy(m);
}

/* learn_every: a deterministic share of the clicks, none without learning */
static void test_learn_every(void **s)
{
    struct sessrec_params p;
    struct sessrec *a, *b, *off = make(0);
    unsigned k, na = 0;

    (void)s;
    test_params(&p);
    p.learning = SESSREC_LEARN_BLEND_AND_ORDER;
    p.learn_every = 4;
    a = sessrec_new(&p);
    b = sessrec_new(&p);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(off);
    for (k = 0; k < 4000; k++) {
        int wa = sessrec_wants_feedback(a, k / 3);
        assert_int_equal(wa, sessrec_wants_feedback(b, k / 3));
        assert_int_equal(sessrec_wants_feedback(off, k / 3), 0);
        na += (unsigned)wa;
        assert_int_equal(sessrec_observe(a, k / 3, (int32_t)(k % 50), 0), 0);
        assert_int_equal(sessrec_observe(b, k / 3, (int32_t)(k % 50), 0), 0);
        assert_int_equal(sessrec_observe(off, k / 3, (int32_t)(k % 50), 0), 0);
    }
    assert_in_range(na, 800, 1200);
    sessrec_destroy(a);
    sessrec_destroy(b);
    sessrec_destroy(off);
    p.learning = (enum sessrec_learning)3;
    assert_null(sessrec_new(&p));
    p.learning = SESSREC_LEARN_BLEND_AND_ORDER;
    p.order_top = 1u << 31;
    assert_null(sessrec_new(&p));
}

/* inline_sort.h against qsort with the same order, on shapes that break naive quicksorts */
struct sc {
    float score;
    int32_t item;
};

static int sc_before(const struct sc *a, const struct sc *b)
{
    return a->score > b->score || (a->score == b->score && a->item < b->item);
}

static int sc_cmp(const void *x, const void *y)
{
    return sc_before(x, y) ? -1 : sc_before(y, x) ? 1 : 0;
}

RECD_DEFINE_SORT(sc_sort, struct sc, sc_before)

/* sessrec_score_unordered: the same k items, scores, reasons and because-items as
 * sessrec_score, in another order; nothing left for sessrec_feedback */
static void test_unordered(void **s)
{
    struct sessrec *m = make_order(1);
    int32_t q[] = { 3, 17, 42 }, oi[12], ui[12], ob[12], ub[12];
    float os[12], us[12], w0[SESSREC_NFEATURES], w1[SESSREC_NFEATURES];
    uint8_t orr[12], ur[12];
    uint64_t x = 12345;
    size_t no, nu, i, j;

    (void)s;
    assert_non_null(m);
    for (uint64_t key = 1; key <= 400; key++) { /* 400 random sessions over 60 items */
        for (j = 0; j < 6; j++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            assert_int_equal(sessrec_observe(m, key, (int32_t)((x >> 33) % 60), (int64_t)key), 0);
        }
    }
    no = sessrec_score(m, 9999, q, 3, oi, os, orr, ob, 12);
    nu = sessrec_score_unordered(m, 9999, q, 3, ui, us, ur, ub, 12);
    assert_int_equal(no, 12); /* more candidates than k: the cut matters */
    assert_int_equal(nu, no);
    for (i = 0; i < nu; i++) {
        for (j = 0; j < no && oi[j] != ui[i]; j++)
            ;
        assert_true(j < no); /* one of the k best */
        assert_memory_equal(&us[i], &os[j], sizeof(float));
        assert_int_equal(ur[i], orr[j]);
        assert_int_equal(ub[i], ob[j]);
        assert_true(isfinite(sessrec_order_score(m, ui[i])));
    }
    sessrec_weights(m, 3, w0);
    sessrec_feedback(m, oi[no - 1]); /* after the unordered call: nothing to learn from */
    sessrec_weights(m, 3, w1);
    assert_memory_equal(w0, w1, sizeof(w0));
    sessrec_score(m, 9999, q, 3, oi, os, NULL, NULL, 12);
    sessrec_feedback(m, oi[no - 1]); /* after the ordered one it learns */
    sessrec_weights(m, 3, w1);
    assert_memory_not_equal(w0, w1, sizeof(w0));
    sessrec_destroy(m);
}

/* order_buckets: sessions of 1, 2 and 3+ items learn separate order weights; each starts
 * from the fixed weights, and a session learns only its own bucket's */
static void test_order_buckets(void **s)
{
    struct sessrec_params p;
    struct sessrec *m, *one;
    int32_t q[] = { 1, 2, 5, 6, 7 }, o[20];
    float w[6][SESSREC_NFEATURES], w0[SESSREC_NFEATURES];
    size_t r, n;

    (void)s;
    test_params(&p);
    assert_int_equal(p.order_buckets, 3);
    p.learning = SESSREC_LEARN_BLEND_AND_ORDER;
    p.order_buckets = 0;
    assert_null(sessrec_new(&p));
    p.order_buckets = 9;
    assert_null(sessrec_new(&p));
    assert_int_equal(sessrec_params_set(&p, "order_buckets", "3"), 0);
    m = sessrec_new(&p);
    p.order_buckets = 1;
    one = sessrec_new(&p);
    assert_non_null(m);
    assert_non_null(one);
    sessrec_weights(m, 1, w0);
    for (n = 0; n <= 5; n++) {
        sessrec_weights(m, n, w[n]);
        assert_memory_equal(w[n], w0, sizeof(w0)); /* all start equal */
    }
    for (r = 0; r < 10; r++) {
        feed(m, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        feed(one, &seqs[0][0], sizeof(seqs) / sizeof(seqs[0]), 4, 1 + 100 * r);
        /* sessions of two items only: 4 is a weaker successor of 1, 2 than 3 */
        assert_true(sessrec_score(m, 7, q, 2, o, NULL, NULL, NULL, 20) > 1);
        sessrec_feedback(m, 4);
        assert_true(sessrec_score(one, 7, q, 2, o, NULL, NULL, NULL, 20) > 1);
        sessrec_feedback(one, 4);
    }
    for (n = 0; n <= 5; n++) {
        sessrec_weights(m, n, w[n]);
    }
    assert_memory_not_equal(w[2], w0, sizeof(w0)); /* bucket "2 items" learned */
    assert_memory_equal(w[1], w0, sizeof(w0)); /* "1 item" (and 0) did not */
    assert_memory_equal(w[0], w0, sizeof(w0));
    assert_memory_equal(w[3], w0, sizeof(w0)); /* nor "3 or more" */
    assert_memory_equal(w[5], w0, sizeof(w0));
    /* one bucket: every length shares the weights learned from the two-item sessions */
    sessrec_weights(one, 1, w[0]);
    sessrec_weights(one, 5, w[1]);
    assert_memory_equal(w[0], w[1], sizeof(w0));
    assert_memory_equal(w[0], w[2], sizeof(w0)); /* and learned the same steps */
    /* a long session learns the "3 or more" bucket, shared by lengths 3 and 5 */
    assert_true(sessrec_score(m, 7, q, 5, o, NULL, NULL, NULL, 20) > 1);
    sessrec_feedback(m, o[1]);
    sessrec_weights(m, 3, w[3]);
    sessrec_weights(m, 5, w[5]);
    sessrec_weights(m, 2, w[4]);
    assert_memory_not_equal(w[3], w0, sizeof(w0));
    assert_memory_equal(w[3], w[5], sizeof(w0));
    assert_memory_equal(w[4], w[2], sizeof(w0)); /* "2 items" untouched by it */
    sessrec_destroy(m);
    sessrec_destroy(one);
}

/* NEXT2: the successors of the (previous, last) pair, not of the last item alone */
static struct sessrec *make_next2(uint32_t pair_cap)
{
    struct sessrec_params p;
    int f;

    test_params(&p);
    p.learning = SESSREC_LEARN_FIXED;
    p.signals = 1u << SESSREC_NEXT_ITEM;
    for (f = 0; f < SESSREC_NFEATURES; f++) {
        p.w[f] = 0;
    }
    p.w[SESSREC_F_NEXT2] = 1.0f;
    p.pair_cap = pair_cap;
    return sessrec_new(&p);
}

/* Observe one session {a, b, c} (key). */
static void abc(struct sessrec *m, uint64_t key, int32_t a, int32_t b, int32_t c)
{
    assert_int_equal(sessrec_observe(m, key, a, 0), 0);
    assert_int_equal(sessrec_observe(m, key, b, 0), 0);
    assert_int_equal(sessrec_observe(m, key, c, 0), 0);
}

/* The best-scored item for the session {a, b}, or -1 when no item has NEXT2 weight. */
static int32_t best_after(struct sessrec *m, int32_t a, int32_t b)
{
    int32_t q[2] = { a, b }, out[5];
    float sc[5];
    size_t n = sessrec_score(m, 1, q, 2, out, sc, NULL, NULL, 5);

    /* (the popular items are always offered as candidates, here with score 0) */
    return n >= 1 && sc[0] > 0 ? out[0] : -1;
}

static void test_next2(void **s)
{
    /* after 2, item 3 follows 1 2 and item 4 follows 5 2 (order 1 sees 2→3 and 2→4 alike) */
    static const int32_t rows[][4] = {
        { 1, 2, 3, -1 }, { 5, 2, 4, -1 }, { 1, 2, 3, -1 }, { 5, 2, 4, -1 }, { 5, 2, 4, -1 },
    };
    struct sessrec *m = make_next2(32), *off;
    int32_t q1[] = { 1, 2 }, out[5];
    float sc[5];
    uint8_t why[5];
    int32_t because[5];
    size_t n;
    int32_t i;

    (void)s;
    assert_non_null(m);
    feed(m, &rows[0][0], sizeof(rows) / sizeof(rows[0]), 4, 1);
    n = sessrec_score(m, 1000, q1, 2, out, sc, why, because, 5);
    assert_true(n >= 2);
    assert_int_equal(out[0], 3);
    assert_true(sc[0] > 0 && sc[1] == 0);
    assert_int_equal(why[0], SESSREC_NEXT_ITEM);
    assert_int_equal(because[0], 2);
    assert_int_equal(best_after(m, 5, 2), 4);
    assert_int_equal(best_after(m, 3, 2), -1); /* known items, a pair never seen */
    n = sessrec_score(m, 1000, q1 + 1, 1, out, sc, NULL, NULL, 5); /* no pair yet */
    assert_true(n >= 1 && sc[0] == 0);
    sessrec_destroy(m);

    /* off (pair_cap 0): nothing is learned or scored */
    off = make_next2(0);
    assert_non_null(off);
    feed(off, &rows[0][0], sizeof(rows) / sizeof(rows[0]), 4, 1);
    assert_int_equal(best_after(off, 1, 2), -1);
    sessrec_destroy(off);

    /* bounded per last item: with 2 entries, the pairs ending in 2 keep the two heaviest
     * (1 2 → 3 three times, 5 2 → 4 once; then 7 2 → 6 replaces the lighter 5 2 → 4) */
    m = make_next2(2);
    assert_non_null(m);
    for (i = 0; i < 3; i++) {
        abc(m, 10 + (uint64_t)i, 1, 2, 3);
    }
    abc(m, 20, 5, 2, 4);
    assert_int_equal(best_after(m, 5, 2), 4);
    abc(m, 21, 7, 2, 6);
    assert_int_equal(best_after(m, 5, 2), -1);
    assert_int_equal(best_after(m, 7, 2), 6);
    assert_int_equal(best_after(m, 1, 2), 3);
    /* ... and pairs ending in other items have their own lists: 2,000 of them, all kept */
    for (i = 0; i < 2000; i++) {
        abc(m, 1000 + (uint64_t)i, 100 + i % 2, 200 + i / 2, 2000 + i);
    }
    for (i = 0; i < 2000; i++) {
        assert_int_equal(best_after(m, 100 + i % 2, 200 + i / 2), 2000 + i);
    }
    sessrec_destroy(m);
}

static void test_inline_sort(void **state)
{
    static struct sc a[300], b[300];
    uint64_t r = 42;

    (void)state;
    for (int shape = 0; shape < 5; shape++) {
        for (size_t n = 0; n <= 300; n += (n < 40 ? 1 : 37)) {
            for (size_t i = 0; i < n; i++) {
                r = r * 6364136223846793005ULL + 1442695040888963407ULL;
                a[i].item = (int32_t)i;
                a[i].score = shape == 0 ? (float)(r >> 40) : /* random */
                    shape == 1 ? (float)i
                               : /* ascending */
                    shape == 2 ? (float)(n - i)
                               : /* descending */
                    shape == 3 ? 1.0f
                               : /* all ties: by item */
                    (float)((r >> 40) % 4); /* few distinct scores */
                if (shape == 3 && (r >> 33) % 2) {
                    a[i].item = (int32_t)(n - i); /* ties, items shuffled */
                }
            }
            memcpy(b, a, n * sizeof(*a));
            sc_sort(a, n);
            if (n > 0) {
                qsort(b, n, sizeof(*b), sc_cmp);
            }
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(a[i].item, b[i].item);
                assert_true(a[i].score == b[i].score);
            }
        }
    }
}

/* recd_big_realloc: contents kept across growth (small -> small, small -> big, big -> big),
 * big blocks 2 MiB-aligned (what lets the kernel map them with huge pages), and the models'
 * results unchanged by it (test_deterministic and the lists A/B in docs cover that). */
static void test_big_realloc(void **state)
{
    size_t sizes[] = { 1000, 100000, (size_t)3 << 20, (size_t)9 << 20 };
    unsigned char *p = NULL;
    size_t have = 0;

    (void)state;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned char *q = recd_big_realloc(p, have, sizes[k]);

        assert_non_null(q);
        for (size_t i = 0; i < have; i++) {
            if (q[i] != (unsigned char)(i * 7 + 3)) {
                fail_msg("byte %zu lost growing %zu -> %zu", i, have, sizes[k]);
            }
        }
        if (sizes[k] >= ((size_t)2 << 20)) {
            assert_int_equal((uintptr_t)q % ((uintptr_t)2 << 20), 0);
        }
        for (size_t i = have; i < sizes[k]; i++) {
            q[i] = (unsigned char)(i * 7 + 3);
        }
        p = q;
        have = sizes[k];
    }
    free(p);
}

/* ---- snapshots (sessrec_save / sessrec_load) ------------------------------------------------ */

/* A growable byte image: the sessrec_write_fn of the snapshot tests. */
struct img {
    unsigned char *p;
    size_t n, cap;
    size_t fail_after; /* writes that would pass this many bytes fail (0 = never) */
};

static int img_write(void *ctx, const void *p, size_t n)
{
    struct img *b = ctx;

    if (b->fail_after > 0 && b->n + n > b->fail_after) {
        return -1;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *q;

        while (cap < b->n + n) {
            cap *= 2;
        }
        q = realloc(b->p, cap);
        assert_non_null(q);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static struct img save_img(const struct sessrec *m)
{
    struct img b = { NULL, 0, 0, 0 };

    assert_int_equal(sessrec_save(m, img_write, &b), 0);
    assert_true(b.n > 8);
    return b;
}

static void assert_img_equal(const struct img *a, const struct img *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        if (a->p[i] != b->p[i]) {
            fail_msg("images differ first at byte %zu of %zu", i, a->n);
        }
    }
}

/* 1 if the n bytes at needle occur anywhere in the image (memmem is not C11) */
static int img_has(const struct img *b, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->n; i++) {
        if (memcmp(b->p + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* One event of a click stream: a click (item >= 0) or the end of the session (item -1). */
struct ev {
    uint64_t key;
    int32_t item;
};

#define SNAP_ACTIVE 24 /* sessions open at a time in the generated stream */

/* A deterministic pseudo-random stream of n events over n_items items: SNAP_ACTIVE sessions
 * open at once (a click goes to one of them; a session is replaced by a new key after a few
 * clicks, one in three of them with an explicit end event), items skewed towards low indices
 * and often the successor of the session's last item, so every signal has something to learn.
 * Keys are 64-bit hashes (all 8 bytes significant). */
static struct ev *make_stream(size_t n, int32_t n_items, uint64_t seed, size_t *n_sessions)
{
    struct ev *e = calloc(n, sizeof(*e));
    uint64_t key[SNAP_ACTIVE];
    int32_t last[SNAP_ACTIVE];
    uint32_t left[SNAP_ACTIVE];
    uint64_t next_key = 1, r = seed;
    size_t i = 0, sessions = 0;

    assert_non_null(e);
    for (int a = 0; a < SNAP_ACTIVE; a++) {
        key[a] = mix64(seed ^ next_key++);
        last[a] = -1;
        left[a] = 0;
        sessions++;
    }
    while (i < n) {
        int a;
        int32_t item;

        r = mix64(r);
        a = (int)(r % SNAP_ACTIVE);
        if (left[a] == 0) {
            left[a] = 2 + (uint32_t)((r >> 8) % 10);
        }
        if (last[a] >= 0 && ((r >> 16) & 3) != 0) {
            item = (last[a] * 7 + 1 + (int32_t)((r >> 20) % 3)) % n_items;
        } else {
            uint32_t x = (uint32_t)(r >> 32) % (uint32_t)n_items;

            item = (int32_t)((x * (uint64_t)x) / (uint32_t)n_items); /* skewed to low items */
        }
        e[i].key = key[a];
        e[i].item = item;
        i++;
        last[a] = item;
        if (--left[a] == 0) {
            if (((r >> 40) % 3) == 0 && i < n) {
                e[i].key = key[a];
                e[i].item = -1;
                i++;
            }
            key[a] = mix64(seed ^ next_key++);
            last[a] = -1;
            sessions++;
        }
    }
    if (n_sessions != NULL) {
        *n_sessions = sessions;
    }
    return e;
}

/* One event the way the sgd operator's apply() feeds the model: an end event ends the session;
 * a click of a sampled session with a prefix is scored and its next item fed back first. */
static void snap_apply(struct sessrec *m, const struct sessrec_params *p, const struct ev *e,
                       int32_t *scratch, int32_t *cand, float *cand_score)
{
    size_t n;

    if (e->item < 0) {
        sessrec_end_session(m, e->key);
        return;
    }
    n = sessrec_session_items(m, e->key, scratch, p->sess_items_cap);
    if (n > 0 && sessrec_wants_feedback(m, e->key)) {
        sessrec_score(m, e->key, scratch, n, cand, cand_score, NULL, NULL,
                      p->learning == SESSREC_LEARN_BLEND_AND_ORDER ? p->order_top : p->learn_topn);
        sessrec_feedback(m, e->item);
    }
    assert_int_equal(sessrec_observe(m, e->key, e->item, (int64_t)e->key), 0);
}

/* Score the session `key` on both models (its prefix as each remembers it) and require the same
 * items, score bits, reasons, because-items and order scores. Returns the items written. */
static size_t assert_same_scores(struct sessrec *a, struct sessrec *b, uint64_t key, uint32_t cap)
{
    int32_t qa[64], qb[64], ia[30], ib[30], ca[30], cb[30];
    float sa[30], sb[30];
    uint8_t ra[30], rb[30];
    size_t na, nb, ka, kb;

    assert_true(cap <= 64);
    na = sessrec_session_items(a, key, qa, cap);
    nb = sessrec_session_items(b, key, qb, cap);
    assert_int_equal(na, nb);
    assert_memory_equal(qa, qb, na * sizeof(*qa));
    ka = sessrec_score(a, key, qa, na, ia, sa, ra, ca, 30);
    kb = sessrec_score(b, key, qb, nb, ib, sb, rb, cb, 30);
    assert_int_equal(ka, kb);
    assert_memory_equal(ia, ib, ka * sizeof(*ia));
    assert_memory_equal(sa, sb, ka * sizeof(*sa));
    assert_memory_equal(ra, rb, ka * sizeof(*ra));
    assert_memory_equal(ca, cb, ka * sizeof(*ca));
    for (size_t i = 0; i < ka; i++) {
        float oa = sessrec_order_score(a, ia[i]), ob = sessrec_order_score(b, ib[i]);

        assert_memory_equal(&oa, &ob, sizeof(oa));
    }
    {
        float wa[SESSREC_NFEATURES], wb[SESSREC_NFEATURES];

        sessrec_weights(a, na, wa);
        sessrec_weights(b, nb, wb);
        assert_memory_equal(wa, wb, sizeof(wa));
    }
    return ka;
}

#define SNAP_CLICKS 6000
#define SNAP_ITEMS  300

/* Save at the midpoint of a stream, load, then feed the rest to both: the loaded model must
 * behave bit for bit as the original (same final image, same scores), and its own image right
 * after loading must be the image it was loaded from (the format is canonical). */
static void snap_round_trip(const struct sessrec_params *p, size_t n_ev, int expect_reuse)
{
    size_t n_sess, mid = n_ev / 2, used = 0;
    struct ev *ev = make_stream(n_ev, SNAP_ITEMS, 42, &n_sess);
    struct sessrec *a = sessrec_new(p), *b = NULL, *fresh;
    uint32_t kcap = p->order_top > p->learn_topn ? p->order_top : p->learn_topn;
    int32_t *scratch = calloc(p->sess_items_cap, sizeof(int32_t));
    int32_t *cand = calloc(kcap, sizeof(int32_t));
    float *cand_score = calloc(kcap, sizeof(float));
    float w0[SESSREC_NFEATURES], w1[SESSREC_NFEATURES];
    struct img ia, ib, ia_end, ib_end;
    struct sessrec_stats st;
    char err[128] = "";
    size_t scored = 0;

    assert_non_null(a);
    assert_non_null(scratch);
    assert_non_null(cand);
    assert_non_null(cand_score);
    sessrec_weights(a, 3, w0);
    for (size_t i = 0; i < mid; i++) {
        snap_apply(a, p, &ev[i], scratch, cand, cand_score);
    }
    sessrec_stats(a, &st);
    if (expect_reuse) {
        /* slots were reused before the save point: evicted sessions are in the image */
        assert_true(st.sessions > p->max_sessions);
    } else {
        /* more than 512 live sessions: the key map grew past its first 1024 buckets */
        assert_true(st.live_sessions > 512);
    }
    ia = save_img(a);
    assert_int_equal(sessrec_load(p, ia.p, ia.n, &used, &b, err, sizeof(err)), 0);
    assert_non_null(b);
    assert_int_equal(used, ia.n);
    ib = save_img(b);
    assert_img_equal(&ia, &ib);
    /* the image is not that of an empty model (the comparison above can fail) */
    fresh = sessrec_new(p);
    {
        struct img iz = save_img(fresh);

        assert_true(iz.n != ia.n || memcmp(iz.p, ia.p, ia.n) != 0);
        free(iz.p);
    }
    sessrec_destroy(fresh);
    /* mid-stream scores of live sessions agree */
    for (size_t i = mid - 40; i < mid; i++) {
        if (ev[i].item >= 0) {
            scored += assert_same_scores(a, b, ev[i].key, p->sess_items_cap) > 0;
        }
    }
    for (size_t i = mid; i < n_ev; i++) {
        snap_apply(a, p, &ev[i], scratch, cand, cand_score);
        snap_apply(b, p, &ev[i], scratch, cand, cand_score);
    }
    ia_end = save_img(a);
    ib_end = save_img(b);
    assert_img_equal(&ia_end, &ib_end);
    /* the second half changed the model (equal images are not trivially equal) */
    assert_true(ia_end.n != ia.n || memcmp(ia_end.p, ia.p, ia.n) != 0);
    for (size_t i = n_ev - 60; i < n_ev; i++) {
        if (ev[i].item >= 0) {
            scored += assert_same_scores(a, b, ev[i].key, p->sess_items_cap) > 0;
        }
    }
    /* a session never seen, and an ended one */
    {
        int32_t q[2] = { 3, 17 };
        int32_t oa[20], ob[20];
        float sa[20], sb[20];
        size_t ka = sessrec_score(a, 0x5eed, q, 2, oa, sa, NULL, NULL, 20);
        size_t kb = sessrec_score(b, 0x5eed, q, 2, ob, sb, NULL, NULL, 20);

        assert_true(ka > 0);
        assert_int_equal(ka, kb);
        assert_memory_equal(oa, ob, ka * sizeof(*oa));
        assert_memory_equal(sa, sb, ka * sizeof(*sa));
    }
    assert_true(scored > 10);
    if (p->learning != SESSREC_LEARN_FIXED) {
        /* learning happened (the weights the comparison covers moved) */
        sessrec_weights(a, 3, w1);
        assert_memory_not_equal(w0, w1, sizeof(w0));
    }
    /* and a model that missed one click differs (the final comparison is not vacuous) */
    {
        struct sessrec *c = NULL;
        struct img ic;

        assert_int_equal(sessrec_load(p, ia.p, ia.n, NULL, &c, err, sizeof(err)), 0);
        for (size_t i = mid + 1; i < n_ev; i++) {
            snap_apply(c, p, &ev[i], scratch, cand, cand_score);
        }
        ic = save_img(c);
        assert_true(ic.n != ia_end.n || memcmp(ic.p, ia_end.p, ic.n) != 0);
        free(ic.p);
        sessrec_destroy(c);
    }
    free(ia.p);
    free(ib.p);
    free(ia_end.p);
    free(ib_end.p);
    sessrec_destroy(a);
    sessrec_destroy(b);
    free(scratch);
    free(cand);
    free(cand_score);
    free(ev);
}

/* The same image in version 2's layout, as a recd before version 3 wrote it: each session record
 * a whole slot (the 24-byte struct sess, then sess_items_cap items, padded to 8 bytes). The
 * slot past a session's items held whatever the slot held before: here 0xAB. */
static struct img image_v2(const struct img *v3, uint32_t items_cap)
{
    const size_t head = 4 + 4 + sizeof(struct sessrec_params) + 8 + 8 + 4 + 4;
    const size_t stride = (24 + (size_t)items_cap * 4 + 7) & ~(size_t)7;
    uint32_t sess_used, hcap, v2 = 2;
    struct img o = { NULL, 0, 0, 0 };
    size_t at;

    memcpy(&sess_used, v3->p + head, 4);
    memcpy(&hcap, v3->p + head + 12, 4);
    at = head + 16 + (size_t)hcap * 12;
    o.cap = v3->n + (size_t)sess_used * stride;
    o.p = malloc(o.cap);
    assert_non_null(o.p);
    memcpy(o.p, v3->p, at);
    memcpy(o.p + 4, &v2, 4);
    o.n = at;
    for (uint32_t i = 0; i < sess_used; i++) {
        uint32_t n;

        memcpy(&n, v3->p + at + 16, 4); /* struct sess: u64 key, u32 last_tick, u32 gen, u32 n */
        assert_true(n <= items_cap);
        memset(o.p + o.n, 0xAB, stride);
        memcpy(o.p + o.n, v3->p + at, 24 + (size_t)n * 4);
        o.n += stride;
        at += 24 + (size_t)n * 4;
    }
    memcpy(o.p + o.n, v3->p + at, v3->n - at);
    o.n += v3->n - at;
    return o;
}

/* An image of version 2 (whole session slots) still loads, into the model version 3 saved; the
 * version 3 image is the smaller one (sessions hold fewer items than sess_items_cap) */
static void test_snapshot_reads_v2(void **s)
{
    struct sessrec_params p;
    size_t n_sess, used = 0;
    struct ev *ev;
    struct sessrec *a, *b = NULL;
    int32_t *scratch, *cand;
    float *cand_score;
    struct img i3, i2, ib;
    char err[128] = "";
    size_t scored = 0;

    (void)s;
    sessrec_params_default(&p);
    p.max_sessions = 300; /* slots reused: a slot's tail held a longer session before */
    ev = make_stream(SNAP_CLICKS, SNAP_ITEMS, 7, &n_sess);
    a = sessrec_new(&p);
    scratch = calloc(p.sess_items_cap, sizeof(int32_t));
    cand = calloc(p.learn_topn + p.order_top, sizeof(int32_t));
    cand_score = calloc(p.learn_topn + p.order_top, sizeof(float));
    assert_non_null(a);
    assert_non_null(scratch);
    assert_non_null(cand);
    assert_non_null(cand_score);
    for (size_t i = 0; i < SNAP_CLICKS; i++) {
        snap_apply(a, &p, &ev[i], scratch, cand, cand_score);
    }
    i3 = save_img(a);
    i2 = image_v2(&i3, p.sess_items_cap);
    assert_true(i2.n > i3.n + 300 * 24);
    assert_int_equal(sessrec_load(&p, i2.p, i2.n, &used, &b, err, sizeof(err)), 0);
    assert_int_equal(used, i2.n);
    ib = save_img(b);
    assert_img_equal(&i3, &ib);
    for (size_t i = SNAP_CLICKS - 60; i < SNAP_CLICKS; i++) {
        if (ev[i].item >= 0) {
            scored += assert_same_scores(a, b, ev[i].key, p.sess_items_cap) > 0;
        }
    }
    assert_true(scored > 10);
    /* a version 2 image cut inside its session records is refused */
    sessrec_destroy(b);
    {
        const size_t head = 4 + 4 + sizeof(struct sessrec_params) + 8 + 8 + 4 + 4;
        uint32_t hcap;
        size_t cut;
        const size_t stride = (24 + (size_t)p.sess_items_cap * 4 + 7) & ~(size_t)7;

        memcpy(&hcap, i2.p + head + 12, 4);
        cut = head + 16 + (size_t)hcap * 12 + 100 * stride + 5; /* in the 101st of 300 slots */
        assert_true(cut < i2.n);
        b = (struct sessrec *)(uintptr_t)1;
        err[0] = '\0';
        assert_int_equal(sessrec_load(&p, i2.p, cut, &used, &b, err, sizeof(err)), -1);
        assert_null(b);
        assert_non_null(strstr(err, "truncated"));
    }
    free(i3.p);
    free(i2.p);
    free(ib.p);
    sessrec_destroy(a);
    free(scratch);
    free(cand);
    free(cand_score);
    free(ev);
}

static void test_snapshot_round_trip_default(void **s)
{
    struct sessrec_params p;

    (void)s;
    /* the daemon's defaults as they are (blend_and_order, pairs on, learn one click in 8,
     * a million sessions: no eviction, but the key map grows past its first size) */
    sessrec_params_default(&p);
    snap_round_trip(&p, 2 * SNAP_CLICKS, 0);
    /* the same with a small session table: slots are reused (FIFO eviction) */
    p.max_sessions = 300;
    snap_round_trip(&p, SNAP_CLICKS, 1);
}

static void test_snapshot_round_trip_order(void **s)
{
    struct sessrec_params p;

    (void)s;
    sessrec_params_default(&p);
    p.learning = SESSREC_LEARN_BLEND_AND_ORDER;
    p.learn_every = 1;
    p.pair_cap = 8;
    p.max_sessions = 300;
    p.trans_cap = 6; /* full successor / co-visit lists: space-saving eviction */
    p.covis_cap = 6;
    p.postings_cap = 7;
    p.pop_top = 20;
    /* short decays: the forward-decay references are rescaled several times */
    p.trans_tau = 40;
    p.pop_tau = 60;
    p.trend_tau = 30;
    snap_round_trip(&p, SNAP_CLICKS, 1);
}

static void test_snapshot_round_trip_blend(void **s)
{
    struct sessrec_params p;

    (void)s;
    sessrec_params_default(&p);
    p.learning = SESSREC_LEARN_BLEND;
    p.learn_every = 2;
    p.max_sessions = 300;
    snap_round_trip(&p, SNAP_CLICKS, 1);
    sessrec_params_default(&p);
    p.learning = SESSREC_LEARN_FIXED;
    p.w[SESSREC_F_NEXT2] = 0.3f; /* pairs kept by the fixed blend */
    p.max_sessions = 300;
    snap_round_trip(&p, SNAP_CLICKS, 1);
}

/* A small model for the negative cases: a few sessions, one ended, one evicted. */
static struct sessrec *snap_small(struct sessrec_params *p)
{
    struct sessrec *m;
    int32_t scratch[64], cand[64];
    float cand_score[64];
    struct ev *ev = make_stream(120, 15, 7, NULL);

    sessrec_params_default(p);
    p->max_sessions = 20;
    p->learn_every = 1;
    m = sessrec_new(p);
    assert_non_null(m);
    assert_true(p->sess_items_cap <= 64 && p->order_top <= 64);
    for (size_t i = 0; i < 120; i++) {
        snap_apply(m, p, &ev[i], scratch, cand, cand_score);
    }
    free(ev);
    return m;
}

static void test_snapshot_refused(void **s)
{
    struct sessrec_params p, q;
    struct sessrec *m = snap_small(&p), *b = NULL;
    struct img im = save_img(m);
    unsigned char *copy = malloc(im.n + 16);
    char err[128];
    size_t used = 0;

    (void)s;
    assert_non_null(copy);
    /* the whole image loads (control for everything below) */
    assert_int_equal(sessrec_load(&p, im.p, im.n, &used, &b, err, sizeof(err)), 0);
    assert_int_equal(used, im.n);
    sessrec_destroy(b);
    /* every proper prefix is refused with a message; each load reads a copy of exactly that
     * many bytes (malloc'ed: ASan sees a read past it) */
    for (size_t len = 0; len < im.n; len++) {
        unsigned char *t = malloc(len ? len : 1);

        assert_non_null(t);
        memcpy(t, im.p, len);
        b = (struct sessrec *)(uintptr_t)1;
        err[0] = '\0';
        if (sessrec_load(&p, t, len, &used, &b, err, sizeof(err)) != -1) {
            fail_msg("a prefix of %zu of %zu bytes was accepted", len, im.n);
        }
        assert_null(b);
        assert_true(err[0] != '\0');
        free(t);
    }
    /* trailing bytes are not read: *used says where the image ended */
    memcpy(copy, im.p, im.n);
    memset(copy + im.n, 0xAB, 16);
    assert_int_equal(sessrec_load(&p, copy, im.n + 16, &used, &b, err, sizeof(err)), 0);
    assert_int_equal(used, im.n);
    sessrec_destroy(b);
    /* a flipped byte of the magic, of the version, of the end mark */
    for (int k = 0; k < 3; k++) {
        size_t at = k == 0 ? 0 : k == 1 ? 4 : im.n - 1;

        memcpy(copy, im.p, im.n);
        copy[at] ^= 0x20;
        err[0] = '\0';
        assert_int_equal(sessrec_load(&p, copy, im.n, &used, &b, err, sizeof(err)), -1);
        assert_null(b);
        assert_true(err[0] != '\0');
        if (k < 2) {
            assert_non_null(strstr(err, "version"));
        }
    }
    /* an image of version 1 (12 features, before REPEAT_SLOW): refused, and the message says
     * which version it is */
    {
        uint32_t v1 = 1;

        memcpy(copy, im.p, im.n);
        memcpy(copy + 4, &v1, sizeof(v1));
        err[0] = '\0';
        assert_int_equal(sessrec_load(&p, copy, im.n, &used, &b, err, sizeof(err)), -1);
        assert_null(b);
        assert_non_null(strstr(err, "version 1"));
    }
    /* other parameters: refused with -2 (not -1: the image is fine, the configuration changed),
     * and the message says so */
    q = p;
    q.postings_cap = p.postings_cap + 1;
    err[0] = '\0';
    assert_int_equal(sessrec_load(&q, im.p, im.n, &used, &b, err, sizeof(err)), -2);
    assert_null(b);
    assert_non_null(strstr(err, "parameters"));
    q = p;
    q.learning = SESSREC_LEARN_FIXED;
    assert_int_equal(sessrec_load(&q, im.p, im.n, &used, &b, err, sizeof(err)), -2);
    assert_non_null(strstr(err, "parameters"));
    q = p;
    q.w[SESSREC_F_POP] = p.w[SESSREC_F_POP] * 2.0f + 1.0f;
    assert_int_equal(sessrec_load(&q, im.p, im.n, &used, &b, err, sizeof(err)), -2);
    assert_non_null(strstr(err, "parameters"));
    /* invalid parameters: no model to load into */
    q = p;
    q.learning = (enum sessrec_learning)7;
    assert_int_equal(sessrec_load(&q, im.p, im.n, &used, &b, err, sizeof(err)), -1);
    assert_null(b);
    /* a writer that fails stops the save with -1, wherever it fails */
    for (size_t at = 1; at < im.n; at += im.n / 7 + 1) {
        struct img f = { NULL, 0, 0, at };

        assert_int_equal(sessrec_save(m, img_write, &f), -1);
        assert_true(f.n <= at);
        free(f.p);
    }
    free(copy);
    free(im.p);
    sessrec_destroy(m);
}

/* Every single-byte corruption of a small image either loads or is refused with a message;
 * the load itself never reads out of bounds or leaks (ASan / valgrind tiers). */
static void test_snapshot_corrupt_bytes(void **s)
{
    struct sessrec_params p;
    struct sessrec *m = snap_small(&p), *b;
    struct img im = save_img(m);
    unsigned char *copy = malloc(im.n);
    char err[128];
    size_t refused = 0;

    (void)s;
    assert_non_null(copy);
    for (size_t at = 0; at < im.n; at++) {
        memcpy(copy, im.p, im.n);
        copy[at] ^= 0xFF;
        b = NULL;
        err[0] = '\0';
        if (sessrec_load(&p, copy, im.n, NULL, &b, err, sizeof(err)) == 0) {
            assert_non_null(b);
            sessrec_destroy(b);
        } else {
            assert_null(b);
            assert_true(err[0] != '\0');
            refused++;
        }
    }
    /* at least the magic, version and parameter bytes are refused */
    assert_true(refused >= 8 + sizeof(p));
    free(copy);
    free(im.p);
    sessrec_destroy(m);
}

/* A forgotten session leaves no trace of its key in a snapshot; a live one is in it. */
static void test_snapshot_forgets(void **s)
{
    const uint64_t victim = 0x6a09e667f3bcc908ULL, control = 0xbb67ae8584caa73bULL,
                   evicted = 0x3c6ef372fe94f82bULL;
    struct sessrec_params p;
    struct sessrec *m, *b = NULL;
    struct img im;
    char err[128];

    (void)s;
    sessrec_params_default(&p);
    p.max_sessions = 64;
    m = sessrec_new(&p);
    assert_non_null(m);
    /* the evicted session first (oldest-created), then the two under test among others */
    assert_int_equal(sessrec_observe(m, evicted, 1, 0), 0);
    assert_int_equal(sessrec_observe(m, evicted, 2, 0), 0);
    for (uint64_t k = 1; k <= 40; k++) {
        assert_int_equal(sessrec_observe(m, mix64(k), (int32_t)(k % 9), 0), 0);
        if (k == 10) {
            assert_int_equal(sessrec_observe(m, victim, 3, 0), 0);
            assert_int_equal(sessrec_observe(m, control, 3, 0), 0);
        }
        if (k == 20) {
            assert_int_equal(sessrec_observe(m, victim, 4, 0), 0);
            assert_int_equal(sessrec_observe(m, control, 4, 0), 0);
        }
        assert_int_equal(sessrec_observe(m, mix64(k), (int32_t)(k % 9) + 1, 0), 0);
    }
    im = save_img(m);
    assert_true(img_has(&im, &victim, sizeof(victim)));
    assert_true(img_has(&im, &control, sizeof(control)));
    assert_true(img_has(&im, &evicted, sizeof(evicted)));
    free(im.p);

    sessrec_end_session(m, victim);
    im = save_img(m);
    assert_false(img_has(&im, &victim, sizeof(victim)));
    assert_true(img_has(&im, &control, sizeof(control)));
    /* the model loaded from it does not know the session either, and still knows the other */
    assert_int_equal(sessrec_load(&p, im.p, im.n, NULL, &b, err, sizeof(err)), 0);
    {
        int32_t it[8];

        assert_int_equal(sessrec_session_items(b, victim, it, 8), 0);
        assert_int_equal(sessrec_session_items(b, control, it, 8), 2);
    }
    sessrec_destroy(b);
    free(im.p);

    /* more sessions after the end, until the oldest one is evicted: neither key remains */
    for (uint64_t k = 100; k < 130; k++) {
        assert_int_equal(sessrec_observe(m, mix64(k), 5, 0), 0);
    }
    sessrec_end_session(m, control);
    im = save_img(m);
    assert_false(img_has(&im, &victim, sizeof(victim)));
    assert_false(img_has(&im, &control, sizeof(control)));
    assert_false(img_has(&im, &evicted, sizeof(evicted)));
    /* a key still live is found (the search works on this image) */
    {
        uint64_t live = mix64(129);

        assert_true(img_has(&im, &live, sizeof(live)));
    }
    free(im.p);
    sessrec_destroy(m);
}

/* Retiring items: no score, reason's because-item, session or popular list names them any
 * more, their own statistics are gone, a second retirement changes nothing, the image loads
 * back to the same scores, and an index given to a new item starts from nothing. */
static void test_retire_items(void **s)
{
    struct sessrec_params p;
    struct sessrec *m, *b = NULL;
    struct ev *e;
    const int32_t gone[2] = { 3, 17 };
    struct img i1, i2;
    size_t n_ev = 4000, n_sess = 0, found = 0;
    char err[128];
    int32_t sc[64], cand[64];
    float cs[64];

    (void)s;
    sessrec_params_default(&p);
    p.pair_cap = 8;
    m = sessrec_new(&p);
    assert_non_null(m);
    e = make_stream(n_ev, 40, 7, &n_sess);
    for (size_t i = 0; i < n_ev; i++) {
        snap_apply(m, &p, &e[i], sc, cand, cs);
    }
    /* positive control: both are known, in sessions and among the scores */
    assert_true(sessrec_item_sessions(m, 3) > 0 && sessrec_item_sessions(m, 17) > 0);
    for (size_t i = n_ev - 200; i < n_ev; i++) {
        int32_t out[30];
        size_t n = sessrec_session_items(m, e[i].key, sc, 64), k;

        k = n > 0 ? sessrec_score(m, e[i].key, sc, n, out, cs, NULL, NULL, 30) : 0;
        for (size_t j = 0; j < k; j++) {
            found += out[j] == 3 || out[j] == 17;
        }
    }
    assert_true(found > 0);

    sessrec_retire_items(m, gone, 2);
    assert_int_equal(sessrec_item_sessions(m, 3), 0);
    assert_int_equal(sessrec_item_sessions(m, 17), 0);
    for (size_t i = 0; i < n_ev; i++) {
        int32_t out[30], because[30];
        uint8_t why[30];
        size_t n = sessrec_session_items(m, e[i].key, sc, 64), k;

        for (size_t j = 0; j < n; j++) {
            assert_true(sc[j] != 3 && sc[j] != 17);
        }
        k = sessrec_score(m, e[i].key, sc, n, out, cs, why, because, 30);
        assert_true(n > 0 || k > 0); /* the popular list was refilled */
        for (size_t j = 0; j < k; j++) {
            assert_true(out[j] != 3 && out[j] != 17);
            assert_true(because[j] != 3 && because[j] != 17);
        }
    }
    i1 = save_img(m);
    sessrec_retire_items(m, gone, 2);
    i2 = save_img(m);
    assert_img_equal(&i1, &i2);
    assert_int_equal(sessrec_load(&p, i1.p, i1.n, NULL, &b, err, sizeof(err)), 0);
    for (size_t i = n_ev - 100; i < n_ev; i++) {
        assert_same_scores(m, b, e[i].key, p.sess_items_cap);
    }
    sessrec_destroy(b);
    free(i1.p);
    free(i2.p);

    /* index 3 knows nothing of its past: a session of it alone gets popular items only; once
     * a new item at index 3 is followed by 5, 5 is its successor */
    {
        int32_t q = 3, out[30];
        uint8_t why[30];
        size_t k = sessrec_score(m, 0x9999, &q, 1, out, cs, why, NULL, 30), next5 = 0;

        assert_true(k > 0);
        for (size_t j = 0; j < k; j++) { /* the popular items, and 3 itself (in session) */
            if (why[j] != SESSREC_POPULAR && !(out[j] == 3 && why[j] == SESSREC_IN_SESSION)) {
                fail_msg("item %d reason %u after a session of the retired item", out[j],
                         (unsigned)why[j]);
            }
        }
        assert_int_equal(sessrec_observe(m, 0x1234, 3, 0), 0);
        assert_int_equal(sessrec_observe(m, 0x1234, 5, 0), 0);
        assert_int_equal(sessrec_item_sessions(m, 3), 1);
        k = sessrec_score(m, 0x9999, &q, 1, out, cs, why, NULL, 30);
        for (size_t j = 0; j < k; j++) {
            next5 += out[j] == 5 && why[j] != SESSREC_POPULAR;
        }
        assert_int_equal(next5, 1);
    }
    free(e);
    sessrec_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline_sort),
        cmocka_unit_test(test_next_item),
        cmocka_unit_test(test_next_item_only),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_ties_by_id),
        cmocka_unit_test(test_repeat_and_self),
        cmocka_unit_test(test_eviction_and_params),
        cmocka_unit_test(test_learn_order),
        cmocka_unit_test(test_learn_set),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_learn_every),
        cmocka_unit_test(test_big_realloc),
        cmocka_unit_test(test_unordered),
        cmocka_unit_test(test_next2),
        cmocka_unit_test(test_order_buckets),
        cmocka_unit_test(test_snapshot_round_trip_default),
        cmocka_unit_test(test_snapshot_reads_v2),
        cmocka_unit_test(test_snapshot_round_trip_order),
        cmocka_unit_test(test_snapshot_round_trip_blend),
        cmocka_unit_test(test_snapshot_refused),
        cmocka_unit_test(test_snapshot_corrupt_bytes),
        cmocka_unit_test(test_snapshot_forgets),
        cmocka_unit_test(test_retire_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
