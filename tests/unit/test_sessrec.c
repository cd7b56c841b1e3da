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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline_sort),         cmocka_unit_test(test_next_item),
        cmocka_unit_test(test_next_item_only),      cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_ties_by_id),          cmocka_unit_test(test_repeat_and_self),
        cmocka_unit_test(test_eviction_and_params), cmocka_unit_test(test_learn_order),
        cmocka_unit_test(test_learn_set),           cmocka_unit_test(test_trend),
        cmocka_unit_test(test_learn_every),         cmocka_unit_test(test_big_realloc),
        cmocka_unit_test(test_unordered),           cmocka_unit_test(test_next2),
        cmocka_unit_test(test_order_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
