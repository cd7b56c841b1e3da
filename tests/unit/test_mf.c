/* test_mf.c — the sgd operator's matrix factorisation (models/mf/mf.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* ---- snapshots (mf_save / mf_load) ---------------------------------------------------------- */

/* A growable byte image: the mf_write_fn of the snapshot tests. */
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

static struct img save_img(const struct mf *m)
{
    struct img b = { NULL, 0, 0, 0 };

    assert_int_equal(mf_save(m, img_write, &b), 0);
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

static int img_differs(const struct img *a, const struct img *b)
{
    return a->n != b->n || memcmp(a->p, b->p, a->n) != 0;
}

static uint64_t u64_at(const struct img *b, size_t off)
{
    uint64_t v;

    assert_true(off + 8 <= b->n);
    memcpy(&v, b->p + off, 8);
    return v;
}

/* The pending rows of the projections' batch (nb) read from an image, by the layout documented
 * at mf_save (which the image's length must match exactly, so the read is the real field). */
static uint64_t img_nb(const struct img *b, size_t dim, size_t tdim)
{
    const size_t hdr = 4 + 4 + 9 * 4 + 8; /* magic, version, parameters */
    uint64_t n, rn, nb;
    size_t off;

    assert_int_equal(u64_at(b, hdr), tdim);
    n = u64_at(b, hdr + 8);
    rn = u64_at(b, hdr + 24);
    off = hdr + 40 + rn * 4 + n * dim * 4 * 2 + n * 4 + 2 * dim * tdim * 4;
    nb = u64_at(b, off);
    assert_true(nb < 32);
    assert_int_equal(b->n, off + 8 + nb * (2 * dim + 2 * tdim) * 4 + 4);
    return nb;
}

#define SNAP_ITEMS 150
#define SNAP_TEXT  (SNAP_ITEMS + 20) /* items past SNAP_ITEMS: text only, never clicked */

/* A deterministic text matrix: L2-normalised rows of TDIM, every 9th row zero (no text). */
static void snap_text(float *tv)
{
    uint64_t r = 99;

    for (int32_t i = 0; i < SNAP_TEXT; i++) {
        float norm = 0;

        for (int d = 0; d < TDIM; d++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            tv[i * TDIM + d] = (float)((int)(r >> 56) - 128) / 128.0f;
            norm += tv[i * TDIM + d] * tv[i * TDIM + d];
        }
        for (int d = 0; d < TDIM; d++) {
            tv[i * TDIM + d] = i % 9 == 4 || norm == 0 ? 0.0f : tv[i * TDIM + d] / sqrtf(norm);
        }
    }
}

/* Event i of a deterministic session stream: the context (up to 6 items of the current session
 * before it) into ctx, its item into *pos, its weight into *w; returns the context length. */
static size_t snap_event(size_t i, int32_t *ctx, int32_t *pos, float *w)
{
    size_t sess = i / 7, at = i % 7, n = 0;
    uint64_t r = (uint64_t)sess * 0x9e3779b97f4a7c15ULL + 12345;
    int32_t item = (int32_t)((r >> 40) % SNAP_ITEMS);

    for (size_t k = 0; k <= at; k++) {
        if (k == at) {
            *pos = item;
        } else {
            ctx[n++] = item;
        }
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        item = (item * 3 + 1 + (int32_t)((r >> 60) % 4)) % SNAP_ITEMS;
    }
    *w = i % 5 == 0 ? 2.0f : i % 3 == 0 ? 0.5f : 1.0f;
    return n;
}

static void snap_learn(struct mf *m, size_t from, size_t to, const struct mf_text *t)
{
    for (size_t i = from; i < to; i++) {
        int32_t ctx[8], pos;
        float w;
        size_t n = snap_event(i, ctx, &pos, &w);

        assert_int_equal(mf_learn(m, ctx, n, pos, w, t), 0);
    }
}

/* Same user factors and the same score bits for every item on both models. */
static void assert_same_mf(struct mf *a, struct mf *b, const struct mf_text *t, size_t tdim)
{
    static const int32_t ctxs[][3] = { { 1, 2, 3 }, { 40, 7, 149 }, { 120, 120, 5 } };
    float ua[32], ub[32], ta[TDIM], tb[TDIM];
    const float *qa, *qb, *ba, *bb;
    size_t na, nb;

    for (size_t c = 0; c < sizeof(ctxs) / sizeof(ctxs[0]); c++) {
        assert_int_equal(mf_user(a, ctxs[c], 3, t, ua, tdim ? ta : NULL), 0);
        assert_int_equal(mf_user(b, ctxs[c], 3, t, ub, tdim ? tb : NULL), 0);
        assert_memory_equal(ua, ub, mf_dim(a) * sizeof(float));
        if (tdim) {
            assert_memory_equal(ta, tb, tdim * sizeof(float));
        }
        for (int32_t j = 0; j < SNAP_TEXT; j++) {
            float x = mf_score(a, ua, tdim ? ta : NULL, j, t);
            float y = mf_score(b, ub, tdim ? tb : NULL, j, t);

            assert_memory_equal(&x, &y, sizeof(x));
        }
    }
    qa = mf_item_factors(a, &ba, &na);
    qb = mf_item_factors(b, &bb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(qa, qb, na * mf_dim(a) * sizeof(float));
    assert_memory_equal(ba, bb, na * sizeof(float));
}

/* Learn to a save point that leaves the projection batch partly filled, save, load, learn the
 * rest on both: the same images (at the save point too: the format is canonical) and scores. */
static void mf_round_trip(const struct mf_params *p, size_t tdim)
{
    static float tv[SNAP_TEXT * TDIM];
    struct mf_text t = { tv, SNAP_TEXT, tdim };
    const struct mf_text *tp = tdim ? &t : NULL;
    const size_t mid = 1013, end = 1013 + 700; /* 1013 = 31 * 32 + 21 */
    struct mf *a, *b = NULL, *c = NULL;
    struct img ia, ib, ia_end, ib_end, ic;
    char err[128] = "";
    size_t used = 0;

    snap_text(tv);
    a = mf_new(p, tdim);
    assert_non_null(a);
    snap_learn(a, 0, mid, tp);
    ia = save_img(a);
    if (tdim) {
        /* events are queued for the projections' next batch update at the save point */
        assert_true(img_nb(&ia, p->dim, tdim) > 0);
    }
    assert_int_equal(mf_load(p, tdim, ia.p, ia.n, &used, &b, err, sizeof(err)), 0);
    assert_non_null(b);
    assert_int_equal(used, ia.n);
    ib = save_img(b);
    assert_img_equal(&ia, &ib);
    assert_same_mf(a, b, tp, tdim);
    snap_learn(a, mid, end, tp);
    snap_learn(b, mid, end, tp);
    ia_end = save_img(a);
    ib_end = save_img(b);
    assert_img_equal(&ia_end, &ib_end);
    assert_true(img_differs(&ia, &ia_end));
    assert_same_mf(a, b, tp, tdim);
    /* a model that missed one event after the save point ends elsewhere */
    assert_int_equal(mf_load(p, tdim, ia.p, ia.n, NULL, &c, err, sizeof(err)), 0);
    snap_learn(c, mid + 1, end, tp);
    ic = save_img(c);
    assert_true(img_differs(&ic, &ia_end));
    free(ic.p);
    free(ia.p);
    free(ib.p);
    free(ia_end.p);
    free(ib_end.p);
    mf_destroy(a);
    mf_destroy(b);
    mf_destroy(c);
}

static void test_snapshot_round_trip_text(void **state)
{
    struct mf_params p;

    (void)state;
    mf_params_default(&p);
    p.neg_ring = 300; /* the ring of positives wraps before the save point */
    mf_round_trip(&p, TDIM);
    mf_params_default(&p);
    mf_round_trip(&p, TDIM);
}

static void test_snapshot_round_trip_no_text(void **state)
{
    struct mf_params p;

    (void)state;
    mf_params_default(&p);
    mf_round_trip(&p, 0);
    p.neg_ring = 300;
    p.dim = 16;
    mf_round_trip(&p, 0);
}

static void small_params(struct mf_params *p)
{
    mf_params_default(p);
    p->dim = 4;
    p->neg_ring = 16;
    p->negatives = 3;
}

/* A small model with text and a partly filled batch, for the negative cases. */
static struct mf *snap_small(const struct mf_params *p, size_t tdim, const struct mf_text *t)
{
    struct mf *m = mf_new(p, tdim);

    assert_non_null(m);
    for (size_t i = 0; i < 37; i++) {
        int32_t ctx[8], pos;
        float w;
        size_t n = snap_event(i, ctx, &pos, &w);

        pos %= 12;
        for (size_t k = 0; k < n; k++) {
            ctx[k] %= 12;
        }
        assert_int_equal(mf_learn(m, ctx, n, pos, w, t), 0);
    }
    return m;
}

static void test_snapshot_refused(void **state)
{
    static float tv[SNAP_TEXT * TDIM];
    struct mf_text t = { tv, SNAP_TEXT, TDIM };
    struct mf_params p, q;
    struct mf *m, *b = NULL;
    struct img im;
    unsigned char *copy;
    char err[128];
    size_t used = 0;

    (void)state;
    snap_text(tv);
    small_params(&p);
    m = snap_small(&p, TDIM, &t);
    im = save_img(m);
    assert_true(img_nb(&im, p.dim, TDIM) > 0);
    copy = malloc(im.n + 16);
    assert_non_null(copy);
    /* the whole image loads (control) */
    assert_int_equal(mf_load(&p, TDIM, im.p, im.n, &used, &b, err, sizeof(err)), 0);
    assert_int_equal(used, im.n);
    mf_destroy(b);
    /* every proper prefix is refused with a message (each from a buffer of exactly its length,
     * so that ASan sees a read past it) */
    for (size_t len = 0; len < im.n; len++) {
        unsigned char *x = malloc(len ? len : 1);

        assert_non_null(x);
        memcpy(x, im.p, len);
        b = (struct mf *)(uintptr_t)1;
        err[0] = '\0';
        if (mf_load(&p, TDIM, x, len, &used, &b, err, sizeof(err)) != -1) {
            fail_msg("a prefix of %zu of %zu bytes was accepted", len, im.n);
        }
        assert_null(b);
        assert_true(err[0] != '\0');
        free(x);
    }
    /* trailing bytes are not read */
    memcpy(copy, im.p, im.n);
    memset(copy + im.n, 0x5A, 16);
    assert_int_equal(mf_load(&p, TDIM, copy, im.n + 16, &used, &b, err, sizeof(err)), 0);
    assert_int_equal(used, im.n);
    mf_destroy(b);
    /* a flipped byte of the magic, of the version, of the end mark */
    for (int k = 0; k < 3; k++) {
        size_t at = k == 0 ? 1 : k == 1 ? 5 : im.n - 2;

        memcpy(copy, im.p, im.n);
        copy[at] ^= 0x01;
        err[0] = '\0';
        assert_int_equal(mf_load(&p, TDIM, copy, im.n, &used, &b, err, sizeof(err)), -1);
        assert_null(b);
        assert_true(err[0] != '\0');
    }
    /* other parameters or text dimension: -2, and the message says so */
    for (int k = 0; k < 6; k++) {
        size_t td = TDIM;

        q = p;
        switch (k) {
        case 0:  q.dim = p.dim + 1; break;
        case 1:  q.lr = p.lr * 2; break;
        case 2:  q.seed = p.seed + 1; break;
        case 3:  q.neg_ring = p.neg_ring + 1; break;
        case 4:  td = TDIM + 1; break;
        default: td = 0; break;
        }
        err[0] = '\0';
        assert_int_equal(mf_load(&q, td, im.p, im.n, &used, &b, err, sizeof(err)), -2);
        assert_null(b);
        assert_non_null(strstr(err, "parameters"));
    }
    /* invalid parameters: no model to load into */
    q = p;
    q.dim = 0;
    assert_int_equal(mf_load(&q, TDIM, im.p, im.n, &used, &b, err, sizeof(err)), -1);
    assert_null(b);
    /* a writer that fails stops the save with -1, wherever it fails */
    for (size_t at = 1; at < im.n; at += im.n / 7 + 1) {
        struct img f = { NULL, 0, 0, at };

        assert_int_equal(mf_save(m, img_write, &f), -1);
        assert_true(f.n <= at);
        free(f.p);
    }
    free(copy);
    free(im.p);
    mf_destroy(m);
}

/* Every single-byte corruption of a small image (with and without text) loads or is refused
 * with a message; the load never reads out of bounds or leaks (ASan / valgrind tiers). */
static void test_snapshot_corrupt_bytes(void **state)
{
    static float tv[SNAP_TEXT * TDIM];
    struct mf_text t = { tv, SNAP_TEXT, TDIM };
    struct mf_params p;

    (void)state;
    snap_text(tv);
    small_params(&p);
    for (size_t tdim = 0; tdim <= TDIM; tdim += TDIM) {
        struct mf *m = snap_small(&p, tdim, tdim ? &t : NULL), *b;
        struct img im = save_img(m);
        unsigned char *copy = malloc(im.n);
        char err[128];
        size_t refused = 0;

        assert_non_null(copy);
        for (size_t at = 0; at < im.n; at++) {
            memcpy(copy, im.p, im.n);
            copy[at] ^= 0xFF;
            b = NULL;
            err[0] = '\0';
            if (mf_load(&p, tdim, copy, im.n, NULL, &b, err, sizeof(err)) == 0) {
                assert_non_null(b);
                mf_destroy(b);
            } else {
                assert_null(b);
                assert_true(err[0] != '\0');
                refused++;
            }
        }
        /* the magic, version, parameter and text dimension bytes at least */
        assert_true(refused >= 8 + 44 + 8);
        free(copy);
        free(im.p);
        mf_destroy(m);
    }
}

/* Retiring an item: its rows return to a new item's start, it leaves the ring of recent
 * positives (read from the image), a second retirement changes nothing, and the others keep
 * what they learned. */
static void test_retire_items(void **state)
{
    struct mf_params p;
    struct mf *m, *fresh;
    struct img a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };
    const size_t hdr = 4 + 4 + 9 * 4 + 8;
    const int32_t gone[2] = { 3, 7 };
    const float *q, *bias;
    size_t n, rn;
    float u[32];
    int32_t a0 = 0;

    (void)state;
    mf_params_default(&p);
    p.neg_uniform = 0.5f;
    m = mf_new(&p, 0);
    fresh = mf_new(&p, 0);
    assert_non_null(m);
    assert_non_null(fresh);
    train_pairs(m, 5, NULL);
    q = mf_item_factors(m, &bias, &n);
    assert_true(n == N_ITEMS);
    assert_true(bias[3] != 0.0f && bias[7] != 0.0f); /* positive control: they learned */
    a = save_img(m);
    rn = u64_at(&a, hdr + 24);
    assert_true(rn == (size_t)5 * (N_ITEMS / 2));
    free(a.p);

    mf_retire_items(m, gone, 2);
    q = mf_item_factors(m, &bias, &n);
    for (size_t d = 0; d < p.dim; d++) {
        assert_true(q[3 * p.dim + d] == 0.0f && q[7 * p.dim + d] == 0.0f);
    }
    assert_true(bias[3] == 0.0f && bias[7] == 0.0f && bias[5] != 0.0f);
    /* a user of item 0 scores item 3 as an item nobody clicked: by its bias only (0) */
    assert_int_equal(mf_user(m, &a0, 1, NULL, u, NULL), 0);
    assert_true(mf_score(m, u, NULL, 3, NULL) == 0.0f);
    a = save_img(m);
    rn = u64_at(&a, hdr + 24);
    assert_true(rn == (size_t)5 * (N_ITEMS / 2 - 2)); /* 3 and 7 were 5 positives each */
    {
        int32_t r;
        size_t off = hdr + 40;

        for (size_t i = 0; i < rn; i++) {
            memcpy(&r, a.p + off + i * 4, 4);
            assert_true(r != 3 && r != 7);
        }
    }
    mf_retire_items(m, gone, 2);
    b = save_img(m);
    assert_img_equal(&a, &b);
    free(a.p);
    free(b.p);
    mf_destroy(m);
    mf_destroy(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retire_items),
        cmocka_unit_test(test_learns_pairs),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_text_cold_start),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_snapshot_round_trip_text),
        cmocka_unit_test(test_snapshot_round_trip_no_text),
        cmocka_unit_test(test_snapshot_refused),
        cmocka_unit_test(test_snapshot_corrupt_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
