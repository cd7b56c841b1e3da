/* sessrec.c — the model's life cycle and sessions: sessrec_new / _destroy / _stats, growth of
 * the item arrays and the session blob, the session map (key → slot, eviction, ending a session)
 * and sessrec_session_items. The rest of the model: sessrec_params.c (parameters),
 * sessrec_observe.c (learning from clicks), sessrec_score.c (scoring), sessrec_feedback.c (the
 * learned blends), sessrec_snapshot.c (the snapshot format); the layout is sessrec_internal.h. */
#include "sessrec.h"
#include "sessrec_internal.h"
#include "bigalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void etab_free(struct etab *t)
{
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
}

void sessrec_destroy(struct sessrec *m)
{
    int32_t i;

    if (!m) {
        return;
    }
    for (i = 0; i < m->n_items; i++) {
        free(m->items[i].post);
        etab_free(&m->items[i].tr);
        etab_free(&m->items[i].cv);
        free(m->items[i].p2.e);
    }
    free(m->items);
    free(m->sblob);
    free(m->hkeys);
    free(m->hvals);
    free(m->pop_top);
    free(m->acc);
    free(m->astamp);
    free(m->qpos);
    free(m->ldf);
    free(m->dfd);
    free(m->trend);
    free(m->qstamp);
    free(m->touched);
    free(m->sacc);
    free(m->nbs);
    free(m->cands);
    free(m->ipw_tab);
    free(m->lz);
    free(m);
}

struct sessrec *sessrec_new(const struct sessrec_params *p)
{
    struct sessrec *m;
    uint32_t i;

    if (!p || p->sess_items_cap == 0 || p->max_sessions == 0 || p->k_neighbors == 0 ||
        p->sample_cap == 0 || p->sess_items_cap > 4096 || p->trans_cap > 65535 ||
        p->covis_cap > 65535 || (unsigned)p->learning > SESSREC_LEARN_BLEND_AND_ORDER ||
        p->order_top > 65535 || p->learn_topn > 65535 || p->pair_cap > 65535 ||
        p->order_buckets == 0 || p->order_buckets > SR_MAXB) {
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        return NULL;
    }
    m->p = *p;
    if (m->p.k_neighbors > m->p.sample_cap) {
        m->p.k_neighbors = m->p.sample_cap;
    }
    memcpy(m->w, p->w, sizeof(m->w));
    for (i = 0; i < SESSREC_NFEATURES; i++) {
        if (!(p->signals & (1u << feat_signal[i]))) {
            m->w[i] = 0;
        }
    }
    memcpy(m->wf, m->w, sizeof(m->wf));
    m->pairs_on = p->pair_cap > 0 && (p->signals & (1u << SESSREC_NEXT_ITEM)) &&
        (p->learning != SESSREC_LEARN_FIXED || m->w[SESSREC_F_NEXT2] != 0);
    memcpy(m->ws, m->w, sizeof(m->ws));
    for (i = 0; i < SR_MAXB; i++) {
        memcpy(m->wo[i], m->w, sizeof(m->w));
    }
    m->hcap = 1024;
    m->hkeys = calloc(m->hcap, sizeof(*m->hkeys));
    m->hvals = calloc(m->hcap, sizeof(*m->hvals));
    m->nbs = calloc(p->sample_cap, sizeof(*m->nbs));
    m->ipw_tab = calloc(p->sess_items_cap, sizeof(*m->ipw_tab));
    m->pop_top = calloc(p->pop_top ? p->pop_top : 1, sizeof(*m->pop_top));
    m->lz = calloc((size_t)(p->learn_topn > 2 * p->order_top ? p->learn_topn : 2 * p->order_top) +
                       1,
                   sizeof(*m->lz));
    if (!m->lz || !m->hkeys || !m->hvals || !m->nbs || !m->ipw_tab || !m->pop_top) {
        goto fail;
    }
    m->sess_stride = (sizeof(struct sess) + p->sess_items_cap * sizeof(int32_t) + 7) & ~(size_t)7;
    for (i = 0; i < 1025; i++) {
        m->rec_tab[i] = i == 1024 ? 0.0f : expf(-(float)i / 64.0f);
    }
    for (i = 0; i < p->sess_items_cap; i++) {
        m->ipw_tab[i] = p->ipw_lambda > 0 ? expf(-(float)i / p->ipw_lambda)
                                          : (i == 0 ? 1.0f : 0.0f);
    }
    return m;
fail:
    sessrec_destroy(m);
    return NULL;
}

void sessrec_stats(const struct sessrec *m, struct sessrec_stats *out)
{
    size_t b = sizeof(*m);
    int32_t i;

    out->ticks = m->tick;
    out->sessions = m->sessions_created;
    out->live_sessions = m->live_sessions;
    out->n_items = m->n_items;
    b += (size_t)m->items_cap *
        (sizeof(struct item) + sizeof(struct acc) + 6 * 4 + sizeof(struct cand));
    b += (size_t)m->sess_cap * (m->sess_stride + sizeof(struct sacc));
    b += (size_t)m->hcap * 12;
    for (i = 0; i < m->n_items; i++) {
        const struct item *it = &m->items[i];
        if (it->post) {
            b += m->p.postings_cap * sizeof(struct posting);
        }
        b += (it->tr.cap + it->cv.cap) * sizeof(struct edge) + it->p2.cap * sizeof(struct pedge);
    }
    out->bytes = b;
}

/* ---- growth ---------------------------------------------------------------------------- */

int sr_grow_items(struct sessrec *m, int32_t item)
{
    int32_t ncap;
    void *q;

    if (item < m->items_cap) {
        if (item >= m->n_items) {
            m->n_items = item + 1;
        }
        return 0;
    }
    ncap = m->items_cap ? m->items_cap : 1024;
    while (ncap <= item) {
        if (ncap > INT32_MAX / 2) {
            return -1;
        }
        ncap *= 2;
    }
#define GROW(ptr, type, zero)                                                                    \
    do {                                                                                         \
        q = recd_big_realloc(ptr, (size_t)m->items_cap * sizeof(type),                           \
                             (size_t)ncap * sizeof(type));                                       \
        if (!q)                                                                                  \
            return -1;                                                                           \
        ptr = q;                                                                                 \
        if (zero)                                                                                \
            memset((type *)ptr + m->items_cap, 0, (size_t)(ncap - m->items_cap) * sizeof(type)); \
    } while (0)
    GROW(m->items, struct item, 1);
    GROW(m->acc, struct acc, 1);
    GROW(m->astamp, uint32_t, 1);
    GROW(m->qpos, int32_t, 1);
    GROW(m->ldf, float, 1);
    GROW(m->dfd, uint32_t, 1);
    GROW(m->trend, float, 1);
    GROW(m->qstamp, uint32_t, 1);
    GROW(m->touched, int32_t, 0);
    GROW(m->cands, struct cand, 0);
#undef GROW
    m->items_cap = ncap;
    m->n_items = item + 1;
    return 0;
}

int sr_grow_sessions(struct sessrec *m)
{
    uint32_t ncap = m->sess_cap ? m->sess_cap * 2 : 4096;
    void *q;

    if (ncap > m->p.max_sessions) {
        ncap = m->p.max_sessions;
    }
    q = recd_big_realloc(m->sblob, (size_t)m->sess_cap * m->sess_stride,
                         (size_t)ncap * m->sess_stride);
    if (!q) {
        return -1;
    }
    m->sblob = q;
    memset(m->sblob + (size_t)m->sess_cap * m->sess_stride, 0,
           (size_t)(ncap - m->sess_cap) * m->sess_stride);
    q = recd_big_realloc(m->sacc, (size_t)m->sess_cap * sizeof(*m->sacc),
                         (size_t)ncap * sizeof(*m->sacc));
    if (!q) {
        return -1;
    }
    m->sacc = q;
    memset(m->sacc + m->sess_cap, 0, (size_t)(ncap - m->sess_cap) * sizeof(*m->sacc));
    m->sess_cap = ncap;
    return 0;
}

/* ---- session map ----------------------------------------------------------------------- */

static void hdel_at(struct sessrec *m, uint32_t i)
{
    uint32_t mask = m->hcap - 1, j = i;

    /* backward-shift deletion for linear probing */
    m->hvals[i] = 0;
    for (;;) {
        uint32_t home;
        j = (j + 1) & mask;
        if (!m->hvals[j]) {
            return;
        }
        home = (uint32_t)hash64(m->hkeys[j]) & mask;
        /* can the entry at j move to i? yes if home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->hkeys[i] = m->hkeys[j];
            m->hvals[i] = m->hvals[j];
            m->hvals[j] = 0;
            i = j;
        }
    }
}

static int hput(struct sessrec *m, uint64_t key, uint32_t slot)
{
    uint32_t mask, i;

    if ((uint64_t)(m->live_sessions + 1) * 2 > m->hcap) {
        uint32_t ocap = m->hcap, k;
        uint64_t *ok = m->hkeys;
        uint32_t *ov = m->hvals;
        m->hcap = ocap * 2;
        m->hkeys = calloc(m->hcap, sizeof(*m->hkeys));
        m->hvals = calloc(m->hcap, sizeof(*m->hvals));
        if (!m->hkeys || !m->hvals) {
            free(m->hkeys);
            free(m->hvals);
            m->hkeys = ok;
            m->hvals = ov;
            m->hcap = ocap;
            return -1;
        }
        mask = m->hcap - 1;
        for (k = 0; k < ocap; k++) {
            if (!ov[k]) {
                continue;
            }
            i = (uint32_t)hash64(ok[k]) & mask;
            while (m->hvals[i]) {
                i = (i + 1) & mask;
            }
            m->hkeys[i] = ok[k];
            m->hvals[i] = ov[k];
        }
        free(ok);
        free(ov);
    }
    mask = m->hcap - 1;
    i = (uint32_t)hash64(key) & mask;
    while (m->hvals[i]) {
        i = (i + 1) & mask;
    }
    m->hkeys[i] = key;
    m->hvals[i] = slot + 1;
    return 0;
}

static void kill_slot(struct sessrec *m, uint32_t slot)
{
    struct sess *s = sess_at(m, slot);
    int64_t h;

    if (!s->live) {
        return;
    }
    h = hfind(m, s->key);
    if (h >= 0) {
        hdel_at(m, (uint32_t)h);
    }
    s->live = 0;
    s->gen++;
    m->sacc[slot].gen = s->gen;
    s->n = 0;
    /* nothing of an ended session stays (a forgotten user's session key and items must not
     * reach a snapshot); its postings are stale by the generation */
    s->key = 0;
    s->last_tick = 0;
    memset(sess_items(s), 0, (size_t)m->p.sess_items_cap * sizeof(int32_t));
    m->live_sessions--;
}

void sessrec_end_session(struct sessrec *m, uint64_t session_key)
{
    int64_t h = hfind(m, session_key);

    if (h >= 0) {
        kill_slot(m, m->hvals[h] - 1);
    }
}

int64_t sr_session_get(struct sessrec *m, uint64_t key, int create)
{
    int64_t h = hfind(m, key);
    uint32_t slot;

    if (h >= 0) {
        return (int64_t)m->hvals[h] - 1;
    }
    if (!create) {
        return -1;
    }
    if (m->sess_used < m->p.max_sessions) {
        if (m->sess_used == m->sess_cap && sr_grow_sessions(m) != 0) {
            return -1;
        }
        slot = m->sess_used++;
    } else {
        slot = m->sess_next;
        m->sess_next = (m->sess_next + 1) % m->p.max_sessions;
        kill_slot(m, slot);
    }
    if (hput(m, key, slot) != 0) {
        return -1;
    }
    sess_at(m, slot)->key = key;
    sess_at(m, slot)->live = 1;
    sess_at(m, slot)->n = 0;
    sess_at(m, slot)->last_tick = (uint32_t)m->tick;
    m->live_sessions++;
    m->sessions_created++;
    m->log_n = logf((float)m->sessions_created + 1.0f);
    return slot;
}

/* ---- session access (added for the sgd operator) --------------------------------------------- */

size_t sessrec_session_items(const struct sessrec *m, uint64_t session_key, int32_t *out,
                             size_t cap)
{
    int64_t h = hfind(m, session_key);
    struct sess *s;
    size_t n, from;

    if (h < 0) {
        return 0;
    }
    s = sess_at(m, m->hvals[h] - 1);
    n = s->n < cap ? s->n : cap;
    from = s->n - n;
    memcpy(out, sess_items(s) + from, n * sizeof(*out));
    return n;
}

/* ---- retiring items ------------------------------------------------------------------------ */

/* an item retired by the current call (astamp == st) */
static int gone(const struct sessrec *m, int32_t x, uint32_t st)
{
    return x >= 0 && x < m->n_items && m->astamp[x] == st;
}

/* Remove the entries of t that name a retired item (astamp == st), keeping the order of the
 * others (ties are broken by position); their weights leave the total. */
static void etab_scrub(const struct sessrec *m, struct etab *t, uint32_t st)
{
    uint32_t w = 0;

    for (uint32_t i = 0; i < t->n; i++) {
        if (gone(m, t->e[i].item, st)) {
            t->total -= t->e[i].w;
            continue;
        }
        t->e[w++] = t->e[i];
    }
    t->n = w;
    if (w == 0) {
        t->total = 0;
    }
}

static void ptab_scrub(const struct sessrec *m, struct ptab *t, uint32_t st)
{
    uint32_t w = 0;

    for (uint32_t i = 0; i < t->n; i++) {
        if (!gone(m, t->e[i].prev, st) && !gone(m, t->e[i].item, st)) {
            t->e[w++] = t->e[i];
        }
    }
    t->n = w;
}

/* The popular list without the retired items, refilled with the most popular others (larger
 * count first, smaller index on ties); qstamp marks the members while it is refilled. */
static void pop_scrub(struct sessrec *m, uint32_t st)
{
    uint32_t w = 0;

    for (uint32_t i = 0; i < m->pop_n; i++) {
        if (!gone(m, m->pop_top[i], st)) {
            m->pop_top[w++] = m->pop_top[i];
        }
    }
    if (w == m->pop_n) {
        return;
    }
    m->pop_n = w;
    for (uint32_t i = 0; i < m->pop_n; i++) {
        m->qstamp[m->pop_top[i]] = st;
    }
    while (m->pop_n < m->p.pop_top) {
        int32_t best = -1;

        for (int32_t i = 0; i < m->n_items; i++) {
            if (m->qstamp[i] == st || m->astamp[i] == st || !(m->items[i].pop > 0)) {
                continue;
            }
            if (best < 0 || m->items[i].pop > m->items[best].pop) {
                best = i;
            }
        }
        if (best < 0) {
            break;
        }
        m->qstamp[best] = st;
        m->pop_top[m->pop_n++] = best;
    }
}

void sessrec_retire_items(struct sessrec *m, const int32_t *items, size_t n)
{
    uint32_t st;
    int any = 0;

    if (n == 0) {
        return;
    }
    sr_new_stamp(m);
    st = m->stamp;
    for (size_t k = 0; k < n; k++) {
        int32_t r = items[k];
        struct item *it;

        if (r < 0 || r >= m->n_items) {
            continue;
        }
        m->astamp[r] = st;
        any = 1;
        it = &m->items[r];
        free(it->post);
        free(it->tr.e);
        free(it->cv.e);
        free(it->p2.e);
        memset(it, 0, sizeof(*it));
        m->dfd[r] = 0;
        m->ldf[r] = 0;
        m->trend[r] = 0;
    }
    if (!any) {
        return;
    }
    for (int32_t i = 0; i < m->n_items; i++) {
        struct item *it = &m->items[i];

        etab_scrub(m, &it->tr, st);
        etab_scrub(m, &it->cv, st);
        ptab_scrub(m, &it->p2, st);
    }
    for (uint32_t slot = 0; slot < m->sess_used; slot++) {
        struct sess *s = sess_at(m, slot);
        int32_t *si = sess_items(s);
        uint32_t w = 0;

        for (uint32_t j = 0; j < s->n; j++) {
            if (!gone(m, si[j], st)) {
                si[w++] = si[j];
            }
        }
        if (w != s->n) {
            memset(si + w, 0, (size_t)(s->n - w) * sizeof(*si));
            s->n = w;
        }
    }
    pop_scrub(m, st);
}
