/*
 * sessrec_snapshot.c — the model as one byte image (sessrec_save) and back (sessrec_load).
 *
 * The image holds everything the model learned, so that a model loaded from it scores, learns
 * and saves exactly as the model it was saved from (the same bytes): the parameters it was
 * built with, the click counter and session counts, the session table (live sessions' records
 * in their slots, the slot ring pointer, the key map), per item its postings ring, successor,
 * co-visitation and pair lists with their decay references, its popularity, document frequency
 * and trend, the popular list, and every blend weight with its AdaGrad accumulators. Scratch
 * space (scoring accumulators, stamps) is not saved: a fresh model's scratch behaves the same.
 * Derived tables (exp tables, item position weights) are rebuilt from the parameters.
 *
 * Layout (host byte order; recd runs on little-endian x86-64 and arm64), version 3. Version 2
 * differed only in the session records (each a whole slot: struct sess + sess_items_cap i32,
 * whatever the session held) and is still read. Version 1 had 12 features, without
 * REPEAT_SLOW, and no rep_slow_lambda: it is refused, not converted; the model is rebuilt by
 * replaying the event log.
 *   "SRM1" u32 version  struct sessrec_params
 *   u64 tick  u64 sessions_created  f32 log_n  i32 n_items
 *   u32 sess_used  u32 sess_next  u32 live_sessions  u32 hcap
 *   hcap x (u64 key, u32 slot+1)     (0, 0 for an empty bucket)
 *   sess_used x record               (struct sess + its n i32 items; dead slots zero but gen)
 *   u64 pop_ref  u64 trend_ref  u32 pop_n  pop_n x i32
 *   f32 w[F] wf[F] ws[F] g2s[F] wo[8][F] g2o[8][F] g2[F]     (F = SESSREC_NFEATURES)
 *   n_items x item: u32 post_n u32 post_head (postings_cap x posting when post_n > 0)
 *                   f32 pop  etab tr  etab cv  ptab p2
 *     etab: u32 n u64 ref f32 total  n x (i32 item, f32 w);  ptab: u32 n u64 ref  n x pedge
 *   n_items x f32 ldf  n_items x u32 dfd  n_items x f32 trend
 *   "SRME"
 * Ownership: sessrec_save writes through the caller's callback and keeps nothing;
 * sessrec_load returns a new model the caller owns (sessrec_destroy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_io.h"
#include "sessrec.h"
#include "sessrec_internal.h"

#define SNAP_VERSION 3u
#define SNAP_VERSION_SLOTS 2u /* whole session slots: still read */

/* ---- writing ---------------------------------------------------------------------------- */

static void put_etab(struct recd_img_out *o, const struct etab *t)
{
    RECD_IMG_PUTV(o, t->n);
    RECD_IMG_PUTV(o, t->ref);
    RECD_IMG_PUTV(o, t->total);
    recd_img_put(o, t->e, (size_t)t->n * sizeof(*t->e));
}

static void put_ptab(struct recd_img_out *o, const struct ptab *t)
{
    RECD_IMG_PUTV(o, t->n);
    RECD_IMG_PUTV(o, t->ref);
    recd_img_put(o, t->e, (size_t)t->n * sizeof(*t->e));
}

static void put_sessions(struct recd_img_out *o, const struct sessrec *m)
{
    static const uint64_t zk = 0;
    static const uint32_t zv = 0;

    RECD_IMG_PUTV(o, m->sess_used);
    RECD_IMG_PUTV(o, m->sess_next);
    RECD_IMG_PUTV(o, m->live_sessions);
    RECD_IMG_PUTV(o, m->hcap);
    for (uint32_t i = 0; i < m->hcap; i++) {
        /* a deleted bucket keeps its old key in memory: write it as empty */
        recd_img_put(o, m->hvals[i] ? &m->hkeys[i] : &zk, sizeof(zk));
        recd_img_put(o, m->hvals[i] ? &m->hvals[i] : &zv, sizeof(zv));
    }
    /* a session's items only, not its whole slot: sessions are mostly much shorter than
     * sess_items_cap, and the rest of a slot is never read */
    for (uint32_t i = 0; i < m->sess_used; i++) {
        const struct sess *s = sess_at(m, i);

        recd_img_put(o, s, sizeof(*s) + (size_t)s->n * sizeof(int32_t));
    }
}

int sessrec_save(const struct sessrec *m, sessrec_write_fn fn, void *ctx)
{
    struct recd_img_out o = { fn, ctx, 0 };
    const uint32_t version = SNAP_VERSION;

    recd_img_put(&o, "SRM1", 4);
    RECD_IMG_PUTV(&o, version);
    RECD_IMG_PUTV(&o, m->p);
    RECD_IMG_PUTV(&o, m->tick);
    RECD_IMG_PUTV(&o, m->sessions_created);
    RECD_IMG_PUTV(&o, m->log_n);
    RECD_IMG_PUTV(&o, m->n_items);
    put_sessions(&o, m);
    RECD_IMG_PUTV(&o, m->pop_ref);
    RECD_IMG_PUTV(&o, m->trend_ref);
    RECD_IMG_PUTV(&o, m->pop_n);
    recd_img_put(&o, m->pop_top, (size_t)m->pop_n * sizeof(*m->pop_top));
    RECD_IMG_PUTV(&o, m->w);
    RECD_IMG_PUTV(&o, m->wf);
    RECD_IMG_PUTV(&o, m->ws);
    RECD_IMG_PUTV(&o, m->g2s);
    RECD_IMG_PUTV(&o, m->wo);
    RECD_IMG_PUTV(&o, m->g2o);
    RECD_IMG_PUTV(&o, m->g2);
    for (int32_t i = 0; i < m->n_items; i++) {
        const struct item *it = &m->items[i];
        uint32_t n = it->post != NULL ? it->post_n : 0;

        RECD_IMG_PUTV(&o, n);
        RECD_IMG_PUTV(&o, it->post_head);
        if (n > 0) {
            recd_img_put(&o, it->post, (size_t)m->p.postings_cap * sizeof(*it->post));
        }
        RECD_IMG_PUTV(&o, it->pop);
        put_etab(&o, &it->tr);
        put_etab(&o, &it->cv);
        put_ptab(&o, &it->p2);
    }
    recd_img_put(&o, m->ldf, (size_t)m->n_items * sizeof(*m->ldf));
    recd_img_put(&o, m->dfd, (size_t)m->n_items * sizeof(*m->dfd));
    recd_img_put(&o, m->trend, (size_t)m->n_items * sizeof(*m->trend));
    recd_img_put(&o, "SRME", 4);
    return o.err;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* a list of n entries of `size` bytes, n <= cap: allocates exactly n (NULL for none) */
static void *get_list(struct recd_img_in *c, uint32_t n, uint32_t cap, size_t size)
{
    void *e;

    if (c->err || n > cap) {
        c->err = -1;
        return NULL;
    }
    if (n == 0) {
        return NULL;
    }
    if ((e = malloc((size_t)n * size)) == NULL) {
        c->err = -2;
        return NULL;
    }
    recd_img_get(c, e, (size_t)n * size);
    if (c->err) { /* truncated: nothing was copied */
        free(e);
        return NULL;
    }
    return e;
}

/* every index of a list below n (an image whose checksum matched can still be of another
 * program: nothing read from it is trusted) */
static int indices_ok(const int32_t *v, size_t count, size_t stride, int32_t n)
{
    for (size_t i = 0; i < count; i++) {
        int32_t x = v[i * stride];

        if (x < 0 || x >= n) {
            return 0;
        }
    }
    return 1;
}

static void get_etab(struct recd_img_in *c, struct etab *t, uint32_t cap, int32_t n_items)
{
    RECD_IMG_GETV(c, t->n);
    RECD_IMG_GETV(c, t->ref);
    RECD_IMG_GETV(c, t->total);
    t->e = get_list(c, t->n, cap, sizeof(*t->e));
    if (t->e != NULL &&
        !indices_ok(&t->e[0].item, t->n, sizeof(*t->e) / sizeof(int32_t), n_items)) {
        c->err = -1;
    }
    t->cap = t->e != NULL ? t->n : 0;
    if (t->e == NULL) {
        t->n = 0;
    }
}

static void get_ptab(struct recd_img_in *c, struct ptab *t, uint32_t cap, int32_t n_items)
{
    size_t st = sizeof(*t->e) / sizeof(int32_t);

    RECD_IMG_GETV(c, t->n);
    RECD_IMG_GETV(c, t->ref);
    t->e = get_list(c, t->n, cap, sizeof(*t->e));
    if (t->e != NULL &&
        (!indices_ok(&t->e[0].prev, t->n, st, n_items) ||
         !indices_ok(&t->e[0].item, t->n, st, n_items))) {
        c->err = -1;
    }
    t->cap = t->e != NULL ? t->n : 0;
    if (t->e == NULL) {
        t->n = 0;
    }
}

static void get_sessions(struct recd_img_in *c, struct sessrec *m, int32_t n_items,
                         uint32_t version)
{
    uint32_t hcap;

    RECD_IMG_GETV(c, m->sess_used);
    RECD_IMG_GETV(c, m->sess_next);
    RECD_IMG_GETV(c, m->live_sessions);
    RECD_IMG_GETV(c, hcap);
    if (c->err || m->sess_used > m->p.max_sessions || m->sess_next >= m->p.max_sessions ||
        m->live_sessions > m->sess_used || hcap < 1024 || (hcap & (hcap - 1)) != 0 ||
        hcap > c->left / 12) {
        c->err = -1;
        return;
    }
    if (hcap != m->hcap) {
        free(m->hkeys);
        free(m->hvals);
        m->hcap = hcap;
        m->hkeys = calloc(hcap, sizeof(*m->hkeys));
        m->hvals = calloc(hcap, sizeof(*m->hvals));
        if (m->hkeys == NULL || m->hvals == NULL) {
            c->err = -2;
            return;
        }
    }
    for (uint32_t i = 0; i < hcap; i++) {
        RECD_IMG_GETV(c, m->hkeys[i]);
        RECD_IMG_GETV(c, m->hvals[i]);
        if (m->hvals[i] > m->sess_used) {
            c->err = -1;
        }
    }
    while (c->err == 0 && m->sess_cap < m->sess_used) {
        if (sr_grow_sessions(m) != 0) {
            c->err = -2;
        }
    }
    if (version == SNAP_VERSION_SLOTS) {
        recd_img_get(c, m->sblob, (size_t)m->sess_used * m->sess_stride);
    }
    for (uint32_t i = 0; c->err == 0 && i < m->sess_used; i++) {
        struct sess *s = sess_at(m, i);

        if (version != SNAP_VERSION_SLOTS) { /* the slots are zero past what is read */
            recd_img_get(c, s, sizeof(*s));
            if (c->err == 0 && s->n <= m->p.sess_items_cap) {
                recd_img_get(c, s + 1, (size_t)s->n * sizeof(int32_t));
            }
        }
        if (c->err != 0 || s->n > m->p.sess_items_cap ||
            !indices_ok((const int32_t *)(const void *)(s + 1), s->n, 1, n_items)) {
            c->err = -1;
            break;
        }
        m->sacc[i].gen = s->gen;
    }
}

static void get_items(struct recd_img_in *c, struct sessrec *m, int32_t n_items)
{
    if (n_items < 0 || (size_t)n_items > c->left) {
        c->err = -1;
        return;
    }
    if (n_items > 0 && sr_grow_items(m, n_items - 1) != 0) {
        c->err = -2;
        return;
    }
    for (int32_t i = 0; c->err == 0 && i < n_items; i++) {
        struct item *it = &m->items[i];
        uint32_t n = 0;

        RECD_IMG_GETV(c, n);
        RECD_IMG_GETV(c, it->post_head);
        if (n > m->p.postings_cap || it->post_head >= (m->p.postings_cap ? m->p.postings_cap : 1)) {
            c->err = -1;
            break;
        }
        if (n > 0) {
            it->post = get_list(c, m->p.postings_cap, m->p.postings_cap, sizeof(*it->post));
            it->post_n = it->post != NULL ? n : 0;
            for (uint32_t j = 0; it->post != NULL && j < it->post_n; j++) {
                if (it->post[j].slot >= m->sess_used) {
                    c->err = -1;
                }
            }
        }
        RECD_IMG_GETV(c, it->pop);
        get_etab(c, &it->tr, m->p.trans_cap, n_items);
        get_etab(c, &it->cv, m->p.covis_cap, n_items);
        get_ptab(c, &it->p2, m->p.pair_cap, n_items);
    }
    recd_img_get(c, m->ldf, (size_t)n_items * sizeof(*m->ldf));
    recd_img_get(c, m->dfd, (size_t)n_items * sizeof(*m->dfd));
    recd_img_get(c, m->trend, (size_t)n_items * sizeof(*m->trend));
}

int sessrec_load(const struct sessrec_params *p, const void *data, size_t len, size_t *used,
                 struct sessrec **out, char *err, size_t errlen)
{
    struct recd_img_in c = { data, len, 0 };
    struct sessrec *m = sessrec_new(p);
    struct sessrec_params saved;
    uint32_t version = 0;
    char magic[4] = { 0 };
    int32_t n_items = 0;

    *out = NULL;
    if (m == NULL) {
        snprintf(err, errlen, "out of memory or invalid parameters");
        return -1;
    }
    recd_img_get(&c, magic, 4);
    RECD_IMG_GETV(&c, version);
    if (c.err || memcmp(magic, "SRM1", 4) != 0) {
        snprintf(err, errlen, "not a sessrec image of version %u", SNAP_VERSION);
        goto fail;
    }
    if (version != SNAP_VERSION && version != SNAP_VERSION_SLOTS) {
        snprintf(err, errlen, "sessrec image of version %u, this build reads versions %u and %u",
                 version, SNAP_VERSION_SLOTS, SNAP_VERSION);
        goto fail;
    }
    RECD_IMG_GETV(&c, saved);
    if (c.err == 0 && memcmp(&saved, &m->p, sizeof(saved)) != 0) {
        snprintf(err, errlen, "the image was saved with other model parameters");
        sessrec_destroy(m);
        return -2;
    }
    RECD_IMG_GETV(&c, m->tick);
    RECD_IMG_GETV(&c, m->sessions_created);
    RECD_IMG_GETV(&c, m->log_n);
    RECD_IMG_GETV(&c, n_items);
    if (n_items < 0) {
        c.err = -1;
    }
    get_sessions(&c, m, n_items, version);
    RECD_IMG_GETV(&c, m->pop_ref);
    RECD_IMG_GETV(&c, m->trend_ref);
    RECD_IMG_GETV(&c, m->pop_n);
    if (c.err == 0 && m->pop_n > (m->p.pop_top ? m->p.pop_top : 1)) {
        c.err = -1;
    }
    recd_img_get(&c, m->pop_top, (size_t)m->pop_n * sizeof(*m->pop_top));
    if (c.err == 0 && !indices_ok(m->pop_top, m->pop_n, 1, n_items)) {
        c.err = -1;
    }
    RECD_IMG_GETV(&c, m->w);
    RECD_IMG_GETV(&c, m->wf);
    RECD_IMG_GETV(&c, m->ws);
    RECD_IMG_GETV(&c, m->g2s);
    RECD_IMG_GETV(&c, m->wo);
    RECD_IMG_GETV(&c, m->g2o);
    RECD_IMG_GETV(&c, m->g2);
    get_items(&c, m, n_items);
    if (recd_img_end(&c, "SRME", err, errlen) != 0) {
        goto fail;
    }
    if (used != NULL) {
        *used = len - c.left;
    }
    *out = m;
    return 0;
fail:
    sessrec_destroy(m);
    return -1;
}
