/* sessrec.c — session-based next-item scoring core (see sessrec.h for the model and API). */
#include "sessrec.h"
#include "sessrec_params.h"
#include "sessrec_internal.h"
#include "bigalloc.h"
#include "inline_sort.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ------------------------------------------------------------------------ */

/* Booleans of the table as written there (B rows' DEFAULT is true or false). */
#define SR_BOOL_true  1u
#define SR_BOOL_false 0u

static const char *const learning_names[] = SESSREC_LEARNING_NAMES;

const char *sessrec_learning_name(enum sessrec_learning l)
{
    return (unsigned)l < sizeof(learning_names) / sizeof(learning_names[0]) - 1 ? learning_names[l]
                                                                                : NULL;
}

int sessrec_learning_from_name(const char *name, enum sessrec_learning *out)
{
    size_t i;

    for (i = 0; learning_names[i] != NULL; i++) {
        if (strcmp(learning_names[i], name) == 0) {
            *out = (enum sessrec_learning)i;
            return 0;
        }
    }
    return -1;
}

void sessrec_params_default(struct sessrec_params *p)
{
    memset(p, 0, sizeof(*p));
#define DU(name, field, def, lo, hi, desc) p->field = (uint32_t)(def);
#define DF(name, field, def, lo, hi, desc) p->field = (float)(def);
#define DB(name, field, def, lo, hi, desc) p->field = SR_BOOL_##def;
#define DE(name, field, def, lo, hi, desc) (void)sessrec_learning_from_name(def, &p->field);
    SESSREC_PARAM_TABLE(DU, DF, DB, DE)
#undef DU
#undef DF
#undef DB
#undef DE
}

enum ptype { PT_U32, PT_F32, PT_BOOL, PT_LEARNING };
struct pdesc {
    const char *name;
    enum ptype type;
    size_t off;
    double lo, hi;
};
#define PU(name, field, def, lo, hi, desc) \
    { #name, PT_U32, offsetof(struct sessrec_params, field), lo, hi },
#define PF(name, field, def, lo, hi, desc) \
    { #name, PT_F32, offsetof(struct sessrec_params, field), lo, hi },
#define PB(name, field, def, lo, hi, desc) \
    { #name, PT_BOOL, offsetof(struct sessrec_params, field), 0, 1 },
#define PE(name, field, def, lo, hi, desc) \
    { #name, PT_LEARNING, offsetof(struct sessrec_params, field), 0, 2 },
static const struct pdesc pdescs[] = { SESSREC_PARAM_TABLE(PU, PF, PB, PE) };
#undef PU
#undef PF
#undef PB
#undef PE
#define NPDESC (sizeof(pdescs) / sizeof(pdescs[0]))

int sessrec_params_set(struct sessrec_params *p, const char *name, const char *value)
{
    size_t i;
    char *end = NULL;

    if (strcmp(name, "learn_blend") == 0) {      /* deprecated: learning by number */
        name = "learning";
    }
    for (i = 0; i < NPDESC; i++) {
        void *f = (char *)p + pdescs[i].off;

        if (strcmp(pdescs[i].name, name) != 0) {
            continue;
        }
        if (pdescs[i].type == PT_F32) {
            float v = strtof(value, &end);
            if (end == value || *end != '\0' || !isfinite(v)) {
                return -1;
            }
            *(float *)f = v;
            return 0;
        }
        if (pdescs[i].type == PT_BOOL &&
            (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            *(uint32_t *)f = value[0] == 't';
            return 0;
        }
        if (pdescs[i].type == PT_LEARNING) {
            enum sessrec_learning l;
            if (sessrec_learning_from_name(value, &l) == 0) {
                *(enum sessrec_learning *)f = l;
                return 0;
            }
        }
        {
            unsigned long v = strtoul(value, &end, 10);
            if (end == value || *end != '\0' || v > UINT32_MAX || value[0] == '-') {
                return -1;
            }
            if (pdescs[i].type == PT_LEARNING) {
                *(enum sessrec_learning *)f = (enum sessrec_learning)v;
            } else {
                *(uint32_t *)f = (uint32_t)v;
            }
        }
        return 0;
    }
    return -1;
}

int sessrec_params_check(const struct sessrec_params *p, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < NPDESC; i++) {
        const void *f = (const char *)p + pdescs[i].off;
        double v = pdescs[i].type == PT_F32 ? (double)*(const float *)f
            : pdescs[i].type == PT_LEARNING ? (double)*(const enum sessrec_learning *)f
                                            : (double)*(const uint32_t *)f;

        if (!(v >= pdescs[i].lo && v <= pdescs[i].hi)) {
            if (err && errlen) {
                snprintf(err, errlen, "%s=%g out of range [%g, %g]", pdescs[i].name, v,
                         pdescs[i].lo, pdescs[i].hi);
            }
            return -1;
        }
    }
    return 0;
}

int sessrec_params_parse(struct sessrec_params *p, const char *list, char *err, size_t errlen)
{
    char buf[256];
    const char *s = list;

    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *eq;
        if (len > 0) {
            if (len >= sizeof(buf)) {
                goto bad;
            }
            memcpy(buf, s, len);
            buf[len] = '\0';
            eq = strchr(buf, '=');
            if (!eq) {
                goto bad;
            }
            *eq = '\0';
            if (sessrec_params_set(p, buf, eq + 1) != 0) {
                goto bad;
            }
        }
        s = comma ? comma + 1 : NULL;
        continue;
bad:
        if (err && errlen) {
            size_t n = len < errlen - 1 ? len : errlen - 1;
            memcpy(err, s, n);
            err[n] = '\0';
        }
        return -1;
    }
    return 0;
}

size_t sessrec_params_format(const struct sessrec_params *p, char *buf, size_t len)
{
    size_t used = 0, i;

    for (i = 0; i < NPDESC; i++) {
        char line[96];
        int n;
        const void *f = (const char *)p + pdescs[i].off;
        if (pdescs[i].type == PT_F32) {
            n = snprintf(line, sizeof(line), "%s=%g\n", pdescs[i].name, (double)*(const float *)f);
        } else if (pdescs[i].type == PT_LEARNING) {
            n = snprintf(line, sizeof(line), "%s=%s\n", pdescs[i].name,
                         sessrec_learning_name(*(const enum sessrec_learning *)f)
                             ? sessrec_learning_name(*(const enum sessrec_learning *)f)
                             : "?");
        } else {
            n = snprintf(line, sizeof(line), "%s=%u\n", pdescs[i].name, *(const uint32_t *)f);
        }
        if (n < 0) {
            continue;
        }
        if (buf && used + (size_t)n < len) {
            memcpy(buf + used, line, (size_t)n + 1);
        }
        used += (size_t)n;
    }
    if (buf && len > 0 && used >= len) {
        buf[len - 1] = '\0';
    }
    return used + 1;
}

const char *sessrec_reason_name(int reason)
{
    switch (reason) {
    case SESSREC_POPULAR:         return "POPULAR";
    case SESSREC_SIMILAR_SESSION: return "SIMILAR_SESSION";
    case SESSREC_NEXT_ITEM:       return "NEXT_ITEM";
    case SESSREC_CO_VISITED:      return "CO_VISITED";
    case SESSREC_IN_SESSION:      return "IN_SESSION";
    default:                      return "UNKNOWN";
    }
}

/* learning = blend_and_order: set weights choose the candidates, a learned blend orders the
 * list head */
static int two_stage(const struct sessrec_params *p)
{
    return p->learning == SESSREC_LEARN_BLEND_AND_ORDER;
}

#ifdef SESSREC_STATS
uint64_t sessrec_dbg[8];
#define SR_COUNT(i)  (sessrec_dbg[i]++)
#define SR_ADD(i, v) (sessrec_dbg[i] += (v))
#else
#define SR_COUNT(i)  ((void)0)
#define SR_ADD(i, v) ((void)0)
#endif

static const uint8_t feat_signal[SESSREC_NFEATURES] = {
    SESSREC_POPULAR,    SESSREC_SIMILAR_SESSION, SESSREC_SIMILAR_SESSION, SESSREC_SIMILAR_SESSION,
    SESSREC_NEXT_ITEM,  SESSREC_NEXT_ITEM,       SESSREC_NEXT_ITEM,       SESSREC_CO_VISITED,
    SESSREC_IN_SESSION, SESSREC_IN_SESSION,      SESSREC_POPULAR,         SESSREC_NEXT_ITEM,
};

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

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

/* the order bucket of a session of n items: 1, 2, ..., order_buckets and longer */
static uint32_t order_bucket(const struct sessrec *m, size_t n)
{
    return n == 0 ? 0 : (n < m->p.order_buckets ? (uint32_t)n : m->p.order_buckets) - 1;
}

void sessrec_weights(const struct sessrec *m, size_t n, float *out)
{
    memcpy(out, two_stage(&m->p) ? m->wo[order_bucket(m, n)] : m->w, sizeof(m->w));
}

uint32_t sessrec_item_sessions(const struct sessrec *m, int32_t item)
{
    return (m != NULL && item >= 0 && item < m->n_items) ? m->dfd[item] : 0;
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

static struct sess *sess_at(const struct sessrec *m, uint32_t slot)
{
    return (struct sess *)(void *)(m->sblob + (size_t)slot * m->sess_stride);
}

static int32_t *sess_items(struct sess *s)
{
    return (int32_t *)(void *)(s + 1);
}

static int64_t hfind(const struct sessrec *m, uint64_t key)
{
    uint32_t mask = m->hcap - 1, i = (uint32_t)hash64(key) & mask;

    while (m->hvals[i]) {
        if (m->hkeys[i] == key) {
            return (int64_t)i;
        }
        i = (i + 1) & mask;
    }
    return -1;
}

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

static int64_t session_get(struct sessrec *m, uint64_t key, int create)
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

/* ---- edge tables ----------------------------------------------------------------------- */

/* Forward decay of a weight list with reference tick *ref (time constant tau, 0 = none): the
 * factor that turns a true weight at tick now into a stored one. A list of n weights whose
 * reference is more than 30 τ old is rescaled (rescale(e, n, sc), and *total if not NULL) to
 * reference now first, so stored weights stay finite; an empty list takes reference now. */
static float fwd_factor(uint64_t *ref, void *e, uint32_t n, uint64_t now, float tau,
                        void (*rescale)(void *e, uint32_t n, float sc), float *total)
{
    double x;

    if (tau <= 0) {
        return 1.0f;
    }
    if (n == 0) {
        *ref = now;
    }
    x = (double)(now - *ref) / tau;
    if (x > 30.0) {
        float sc = (float)exp(-x);
        rescale(e, n, sc);
        if (total) {
            *total *= sc;
        }
        *ref = now;
        x = 0;
    }
    return (float)exp(x);
}

static void edges_rescale(void *e, uint32_t n, float sc)
{
    struct edge *ed = e;

    for (uint32_t i = 0; i < n; i++) {
        ed[i].w *= sc;
    }
}

/* Grow a full array *e of *alloc elements of `size` bytes (doubling from 4, at most cap). */
static int room_for_one(void **e, uint32_t *alloc, uint32_t cap, size_t size)
{
    uint32_t ncap = *alloc ? *alloc * 2 : 4;
    void *q;

    if (ncap > cap) {
        ncap = cap;
    }
    q = realloc(*e, ncap * size);
    if (!q) {
        return -1;
    }
    *e = q;
    *alloc = ncap;
    return 0;
}

/* Add `add` (true weight, now) to edge t[item]; space-saving eviction of the lightest edge. */
static int etab_add(struct etab *t, uint32_t cap, int32_t item, float add, uint64_t now, float tau)
{
    uint32_t i, mini = 0;

    if (cap == 0) {
        return 0;
    }
    add *= fwd_factor(&t->ref, t->e, t->n, now, tau, edges_rescale, &t->total);
    /* the edge's search, then (only when the table is full) the lightest edge, the first of
     * equal ones: as one loop, the minimum's compare-and-move chain ran on every search */
    {
        struct edge *e = t->e;
        const uint32_t n = t->n;

        for (i = 0; i < n; i++) {
            if (e[i].item == item) {
                e[i].w += add;
                t->total += add;
                return 0;
            }
        }
        if (n >= cap && n > 0) {
            float mw = e[0].w;

            for (i = 1; i < n; i++) {
                if (e[i].w < mw) {
                    mw = e[i].w;
                    mini = i;
                }
            }
        }
    }
    if (t->n < cap) {
        if (t->n == t->cap && room_for_one((void **)&t->e, &t->cap, cap, sizeof(*t->e)) != 0) {
            return -1;
        }
        t->e[t->n].item = item;
        t->e[t->n].w = add;
        t->n++;
    } else {
        t->total -= t->e[mini].w;
        t->e[mini].item = item;
        t->e[mini].w = add;
    }
    t->total += add;
    return 0;
}

/* Factor that turns weights stored with reference tick ref into true weights at tick now. */
static float decay_scale(uint64_t ref, uint64_t now, float tau)
{
    if (tau <= 0) {
        return 1.0f;
    }
    return (float)exp(-(double)(now - ref) / tau);
}

/* ---- popularity ------------------------------------------------------------------------ */

static void pop_add(struct sessrec *m, int32_t item)
{
    struct item *it = &m->items[item];
    float fw = 1.0f;
    uint32_t i, mini = 0;

    if (m->p.pop_tau > 0) {
        double x = (double)(m->tick - m->pop_ref) / m->p.pop_tau;
        if (x > 30.0) {
            float sc = (float)exp(-x);
            int32_t k;
            for (k = 0; k < m->n_items; k++) {
                m->items[k].pop *= sc;
            }
            m->pop_ref = m->tick;
            x = 0;
        }
        fw = (float)exp(x);
    }
    it->pop += fw;
    if (m->p.trend_tau > 0) {
        double x = (double)(m->tick - m->trend_ref) / m->p.trend_tau;
        if (x > 30.0) {
            float sc = (float)exp(-x);
            int32_t k;
            for (k = 0; k < m->n_items; k++) {
                m->trend[k] *= sc;
            }
            m->trend_ref = m->tick;
            x = 0;
        }
        m->trend[item] += (float)exp(x);
    }
    if (m->p.pop_top == 0) {
        return;
    }
    for (i = 0; i < m->pop_n; i++) {
        if (m->pop_top[i] == item) {
            return;
        }
        if (m->items[m->pop_top[i]].pop < m->items[m->pop_top[mini]].pop ||
            (m->items[m->pop_top[i]].pop == m->items[m->pop_top[mini]].pop &&
             m->pop_top[i] > m->pop_top[mini])) {
            mini = i;
        }
    }
    if (m->pop_n < m->p.pop_top) {
        m->pop_top[m->pop_n++] = item;
    } else if (it->pop > m->items[m->pop_top[mini]].pop) {
        m->pop_top[mini] = item;
    }
}

/* ---- order-2 transitions ---------------------------------------------------------------- */

static void pedges_rescale(void *e, uint32_t n, float sc)
{
    struct pedge *pe = e;

    for (uint32_t i = 0; i < n; i++) {
        pe[i].w *= sc;
    }
}

/* Add `add` (true weight at tick now) to (prev → item) in t, at most cap entries (t grows on
 * demand), a full table replacing its lightest entry, the first of equal ones. */
static int ptab_add(struct ptab *t, uint32_t cap, int32_t prev, int32_t item, float add,
                    uint64_t now, float tau)
{
    uint32_t i, mini = 0;
    struct pedge *e;

    if (cap == 0) {
        return 0;
    }
    add *= fwd_factor(&t->ref, t->e, t->n, now, tau, pedges_rescale, NULL);
    e = t->e;
    for (i = 0; i < t->n; i++) {
        if (e[i].prev == prev && e[i].item == item) {
            e[i].w += add;
            return 0;
        }
    }
    if (t->n < cap) {
        if (t->n == t->cap && room_for_one((void **)&t->e, &t->cap, cap, sizeof(*t->e)) != 0) {
            return -1;
        }
        t->e[t->n].prev = prev;
        t->e[t->n].item = item;
        t->e[t->n].w = add;
        t->n++;
        return 0;
    }
    for (i = 1; i < t->n; i++) {
        if (e[i].w < e[mini].w) {
            mini = i;
        }
    }
    e[mini].prev = prev;
    e[mini].item = item;
    e[mini].w = add;
    return 0;
}

/* ---- observe --------------------------------------------------------------------------- */

int sessrec_observe(struct sessrec *m, uint64_t session_key, int32_t item, int64_t ts_ms)
{
    int64_t sl;
    struct sess *s;
    int32_t *si;
    uint32_t d, cap = m->p.sess_items_cap, j;
    int seen = 0;

    (void)ts_ms;
    if (item < 0 || sr_grow_items(m, item) != 0) {
        return -1;
    }
    m->tick++;
    sl = session_get(m, session_key, 1);
    if (sl < 0) {
        return -1;
    }
    s = sess_at(m, (uint32_t)sl);
    si = sess_items(s);
    /* sequential rules a→item for the last trans_window items a */
    for (d = 1; d <= m->p.trans_window && d <= s->n; d++) {
        int32_t a = si[s->n - d];
        if (etab_add(&m->items[a].tr, m->p.trans_cap, item, 1.0f / (float)d, m->tick,
                     m->p.trans_tau) != 0) {
            return -1;
        }
    }
    /* order-2 rule (prev, last)→item */
    if (m->pairs_on && s->n >= 2 &&
        ptab_add(&m->items[si[s->n - 1]].p2, m->p.pair_cap, si[s->n - 2], item, 1.0f, m->tick,
                 m->p.trans_tau) != 0) {
        return -1;
    }
    /* co-visitation, undirected, no decay */
    for (d = 1; d <= m->p.covis_window && d <= s->n; d++) {
        int32_t a = si[s->n - d];
        if (a == item) {
            continue;
        }
        if (etab_add(&m->items[a].cv, m->p.covis_cap, item, 1.0f, m->tick, 0) != 0 ||
            etab_add(&m->items[item].cv, m->p.covis_cap, a, 1.0f, m->tick, 0) != 0) {
            return -1;
        }
    }
    for (j = 0; j < s->n; j++) {
        if (si[j] == item) {
            seen = 1;
            break;
        }
    }
    if (!seen && m->p.postings_cap > 0) {
        struct item *it = &m->items[item];
        if (!it->post) {
            it->post = calloc(m->p.postings_cap, sizeof(*it->post));
            if (!it->post) {
                return -1;
            }
        }
        it->post[it->post_head].slot = (uint32_t)sl;
        it->post[it->post_head].gen = s->gen;
        it->post[it->post_head].tick = (uint32_t)m->tick;
        it->post_head = (it->post_head + 1) % m->p.postings_cap;
        if (it->post_n < m->p.postings_cap) {
            it->post_n++;
        }
    }
    if (!seen) {   /* the session's first click of the item: one more session contains it */
        m->dfd[item]++;
        m->ldf[item] = logf((float)m->dfd[item] + 1.0f);
    }
    if (s->n == cap) {
        memmove(si, si + 1, (size_t)(cap - 1) * sizeof(*si));
        s->n--;
    }
    si[s->n++] = item;
    s->last_tick = (uint32_t)m->tick;
    pop_add(m, item);
    return 0;
}

/* ---- scoring --------------------------------------------------------------------------- */

/* Is signal s computed? Enabled in the mask and either weighted or being learned. */
static int on(const struct sessrec *m, int s)
{
    int f, any = m->p.learning != SESSREC_LEARN_FIXED;

    for (f = 0; f < SESSREC_NFEATURES && !any; f++) {
        any = feat_signal[f] == s && m->w[f] != 0;
    }
    return (m->p.signals & (1u << s)) && any;
}

static struct acc *touch(struct sessrec *m, int32_t item)
{
    struct acc *a = &m->acc[item];

    if (m->astamp[item] != m->stamp) {
        m->astamp[item] = m->stamp;
        memset(a, 0, sizeof(*a));
        a->because_next = a->because_knn = -1;
        m->touched[m->n_touched++] = item;
    }
    return a;
}

/* The weights of the blend that scores (and selects) candidates: the fixed blend, or with
 * blend_and_order: the set blend (learned with learn_set, else fixed). */
static const float *blend_weights(const struct sessrec *m)
{
    return two_stage(&m->p) ? (m->p.learn_set ? m->ws : m->wf) : m->w;
}

/* blend_and_order: the learned order blend of a scored candidate (after sessrec_score's
 * normalisation, before the next learning step changes w). */
static float lscore(const struct sessrec *m, const struct acc *a)
{
    float lsc = 0;

    for (uint32_t f = 0; f < SESSREC_NFEATURES; f++) {
        lsc += m->wo[m->ob][f] * a->f[f];
    }
    return lsc;
}

static int nb_before(const struct nb *a, const struct nb *b)
{
    if (a->sim != b->sim) {
        return a->sim > b->sim;
    }
    return a->slot > b->slot;
}

/* Partial selection: afterwards v[0..k-1] are the k best (unordered). Deterministic. */
static void nb_select(struct nb *v, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n;

    while (hi - lo > 1 && k > lo && k < hi) {
        uint32_t mid = lo + (hi - lo) / 2, i, st;
        struct nb piv = v[mid], t;
        /* move pivot to end */
        v[mid] = v[hi - 1];
        v[hi - 1] = piv;
        st = lo;
        for (i = lo; i < hi - 1; i++) {
            if (nb_before(&v[i], &piv)) {
                t = v[i];
                v[i] = v[st];
                v[st] = t;
                st++;
            }
        }
        v[hi - 1] = v[st];
        v[st] = piv;
        if (st == k || st + 1 == k) {
            return;
        }
        if (st > k) {
            hi = st;
        } else {
            lo = st + 1;
        }
    }
}

static int cand_before(const struct cand *a, const struct cand *b)
{
    if (a->score != b->score) {
        return a->score > b->score;
    }
    return a->item < b->item;
}

static void cand_select(struct cand *v, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n;

    while (hi - lo > 1 && k > lo && k < hi) {
        uint32_t mid = lo + (hi - lo) / 2, i, st;
        struct cand piv = v[mid], t;
        v[mid] = v[hi - 1];
        v[hi - 1] = piv;
        st = lo;
        for (i = lo; i < hi - 1; i++) {
            if (cand_before(&v[i], &piv)) {
                t = v[i];
                v[i] = v[st];
                v[st] = t;
                st++;
            }
        }
        v[hi - 1] = v[st];
        v[st] = piv;
        if (st == k || st + 1 == k) {
            return;
        }
        if (st > k) {
            hi = st;
        } else {
            lo = st + 1;
        }
    }
}

/* the list head's order (cand_before: distinct items, a total order) */
RECD_DEFINE_SORT(cand_sort, struct cand, cand_before)

/* How far ahead the kNN loops prefetch (postings, neighbour sessions). */
#define SR_PREFETCH 8

static float idf_of(const struct sessrec *m, int32_t item)
{
    float v = m->log_n - m->ldf[item];

    return v > 0 ? v : 0.0f;
}

static void score_knn(struct sessrec *m, int64_t self, const int32_t *q, size_t n)
{
    uint32_t nq = 0, nt = 0, i, k;
    float rinv;
    size_t j;

    for (j = n; j-- > 0 && nq < m->p.query_items;) {
        int32_t a = q[j];
        const struct item *it;
        float w;
        uint32_t c, pi;
        if (a < 0 || a >= m->n_items || m->qpos[a] != (int32_t)j) {
            continue; /* only the last occurrence of each item */
        }
        nq++;
        it = &m->items[a];
        if (!it->post) {
            continue;
        }
        w = m->p.spw_lambda > 0 ? expf(-(float)(n - 1 - j) / m->p.spw_lambda) : 1.0f;
        if (m->p.idf_sim > 0) {
            w *= powf(idf_of(m, a), m->p.idf_sim); /* once per query item */
        }
        if (w <= 0) {
            continue;
        }
        /* newest postings first; each one's accumulator is a random line of sacc[], so the
         * one SR_PREFETCH postings ahead is prefetched (memory latency, not arithmetic, is
         * the cost of this loop) */
        pi = it->post_head;
        for (c = 0; c < it->post_n; c++) {
            const struct posting *po;
            struct sacc *sa;
            pi = pi == 0 ? m->p.postings_cap - 1 : pi - 1;
            po = &it->post[pi];
            if (c + SR_PREFETCH < it->post_n) {
                uint32_t ahead = pi >= SR_PREFETCH ? pi - SR_PREFETCH
                                                   : pi + m->p.postings_cap - SR_PREFETCH;
                __builtin_prefetch(&m->sacc[it->post[ahead].slot]);
            }
            if ((int64_t)po->slot == self) {
                continue;
            }
            sa = &m->sacc[po->slot];
            if (sa->gen != po->gen) {
                continue; /* slot evicted or ended since */
            }
            if (sa->stamp != m->stamp) {
                if (nt >= m->p.sample_cap) {
                    continue;
                }
                sa->stamp = m->stamp;
                sa->sim = 0;
                sa->tick = po->tick;
                m->nbs[nt].slot = po->slot;
                nt++;
            }
            SR_COUNT(0);
            sa->sim += w;
            if ((int32_t)(po->tick - sa->tick) > 0) {
                sa->tick = po->tick;
            }
        }
    }
    if (nt == 0) {
        return;
    }
    rinv = m->p.rec_lambda > 0 ? 1.0f / m->p.rec_lambda : 0.0f;
    SR_ADD(1, nt);
    for (i = 0; i < nt; i++) {
        const struct sacc *sa = &m->sacc[m->nbs[i].slot];
        float sim = sa->sim;
        if (m->p.sim_norm > 0) {
            uint32_t ln = sess_at(m, m->nbs[i].slot)->n;
            sim /= powf((float)(ln ? ln : 1), m->p.sim_norm);
        }
        if (m->p.rec_lambda > 0) {
            float x = (float)(uint32_t)((uint32_t)m->tick - sa->tick) * rinv;
            sim *= x >= 16.0f ? 0.0f : m->rec_tab[(int)(x * 64.0f)];
        }
        m->nbs[i].sim = sim;
    }
    k = m->p.k_neighbors < nt ? m->p.k_neighbors : nt;
    nb_select(m->nbs, nt, k);
    for (i = 0; i < k && i < SR_PREFETCH; i++) {
        __builtin_prefetch(sess_at(m, m->nbs[i].slot));
    }
    for (i = 0; i < k; i++) {
        struct sess *ss = sess_at(m, m->nbs[i].slot);
        if (i + SR_PREFETCH < k) {
            __builtin_prefetch(sess_at(m, m->nbs[i + SR_PREFETCH].slot));
        }
        if (i + 2 < k) {   /* the accumulators the neighbour after next will touch */
            struct sess *s2 = sess_at(m, m->nbs[i + 2].slot);
            const int32_t *i2 = sess_items(s2);
            for (uint32_t p2 = 0; p2 < s2->n; p2++) {
                if (i2[p2] >= 0 && i2[p2] < m->n_items) {
                    __builtin_prefetch(&m->acc[i2[p2]], 1);
                    __builtin_prefetch(&m->astamp[i2[p2]], 1);
                }
            }
        }
        const int32_t *si = sess_items(ss);
        uint32_t ns = ss->n, p;
        int32_t mpos = -1, best = -1;
        float sim = m->nbs[i].sim;
        if (sim <= 0 || !ss->live) {
            continue;
        }
        for (p = 0; p < ns; p++) {
            int32_t it = si[p];
            if (it < m->n_items && m->qstamp[it] == m->stamp && m->qpos[it] >= best) {
                best = m->qpos[it];
                mpos = (int32_t)p;
            }
        }
        if (mpos < 0) {
            continue;
        }
        for (p = 0; p < ns; p++) {
            int32_t it = si[p], d = (int32_t)p - mpos;
            float w = sim * m->ipw_tab[d < 0 ? -d : d];
            struct acc *a;
            if (m->p.idf_score == 1.0f) {
                w *= idf_of(m, it) + 1.0f;
            } else if (m->p.idf_score > 0) {
                w *= powf(idf_of(m, it) + 1.0f, m->p.idf_score);
            }
            if (w <= 0) {
                continue;
            }
            a = touch(m, it);
            a->f[d < 0 ? SESSREC_F_KNN_BEFORE : SESSREC_F_KNN] += w;
            if (w > a->best_knn) {
                a->best_knn = w;
                a->because_knn = si[mpos];
            }
        }
    }
}

/* sessrec_score (ordered) and sessrec_score_unordered (ordered = 0: the top k in no order,
 * and nothing pending for sessrec_feedback). */
static size_t score(struct sessrec *m, uint64_t session_key, const int32_t *q, size_t n,
                    int32_t *out_items, float *out_scores, uint8_t *out_reason,
                    int32_t *out_because, size_t k, int ordered)
{
    float mknn = 0, mnext = 0, mcov = 0, mrep = 0, mpop = 0, mtr = 0, mn2 = 0;
    float iknn, inext, icov, irep, ipop, itr, in2;
    const float *bw = blend_weights(m);
    uint8_t bf[SESSREC_NFEATURES];
    uint32_t nbf;
    int trend_on;
    int64_t self = session_get(m, session_key, 0);
    uint32_t i, h, f, nsel;
    int32_t last = -1;
    size_t j;

    /* the order weights of sessions of this length (1, 2, ..., order_buckets and longer) */
    m->ob = order_bucket(m, n);
    m->have_last = 0;
    m->n_cands = m->n_sorted = 0;
    if (m->n_items == 0) {
        return 0;
    }
    if (++m->stamp == 0) {
        memset(m->astamp, 0, (size_t)m->items_cap * sizeof(*m->astamp));
        memset(m->qstamp, 0, (size_t)m->items_cap * sizeof(*m->qstamp));
        for (i = 0; i < m->sess_cap; i++) {
            m->sacc[i].stamp = 0;
        }
        m->stamp = 1;
    }
    m->n_touched = 0;

    /* the query session: last position of each item (unknown items are ignored) */
    for (j = 0; j < n; j++) {
        int32_t it = q[j];
        if (it < 0 || it >= m->n_items) {
            continue;
        }
        m->qstamp[it] = m->stamp;
        m->qpos[it] = (int32_t)j;
    }
    if (n > 0 && q[n - 1] >= 0 && q[n - 1] < m->n_items) {
        last = q[n - 1];
    }

    /* IN_SESSION */
    if (on(m, SESSREC_IN_SESSION)) {
        for (j = 0; j < n; j++) {
            int32_t it = q[j];
            if (it < 0 || it >= m->n_items) {
                continue;
            }
            touch(m, it)->f[SESSREC_F_REPEAT] += m->p.rep_lambda > 0
                ? expf(-(float)(n - 1 - j) / m->p.rep_lambda)
                : 1.0f;
        }
        if (last >= 0) {
            touch(m, last)->f[SESSREC_F_LAST] = 1.0f;
        }
    }
    /* NEXT_ITEM */
    if (on(m, SESSREC_NEXT_ITEM)) {
        float wh = 1.0f;
        for (h = 0; h < m->p.trans_hops && h < n; h++, wh *= m->p.trans_hop_decay) {
            int32_t a = q[n - 1 - h];
            const struct etab *t;
            float sc;
            int fi = h == 0 ? SESSREC_F_NEXT : SESSREC_F_NEXT_HOPS;
            if (a < 0 || a >= m->n_items) {
                continue;
            }
            t = &m->items[a].tr;
            if (t->n == 0) {
                continue;
            }
            sc = wh * decay_scale(t->ref, m->tick, m->p.trans_tau);
            if (m->p.trans_norm && t->total > 0) {
                sc /= t->total;
            }
            for (i = 0; i < t->n; i++) {
                struct acc *ac = touch(m, t->e[i].item);
                float c = sc * t->e[i].w;
                ac->f[fi] += c;
                if (c > ac->best_next) {
                    ac->best_next = c;
                    ac->because_next = a;
                }
            }
        }
    }
    /* NEXT2 (pairs_on implies the signal is on; an unknown previous item matches no entry) */
    if (m->pairs_on && n >= 2 && last >= 0) {
        const struct ptab *t = &m->items[last].p2;
        int32_t prev = q[n - 2];
        if (t->n > 0) {
            float sc = decay_scale(t->ref, m->tick, m->p.trans_tau);
            for (i = 0; i < t->n; i++) {
                struct acc *ac;
                if (t->e[i].prev != prev) {
                    continue;
                }
                ac = touch(m, t->e[i].item);
                ac->f[SESSREC_F_NEXT2] += sc * t->e[i].w;
                if (ac->because_next < 0) {
                    ac->because_next = last;
                }
            }
        }
    }
    /* SIMILAR_SESSION */
    if (on(m, SESSREC_SIMILAR_SESSION)) {
        score_knn(m, self, q, n);
    }
    /* CO_VISITED (last item, cosine) */
    if (on(m, SESSREC_CO_VISITED) && last >= 0) {
        const struct etab *t = &m->items[last].cv;
        float da = (float)m->dfd[last] + 1.0f;
        for (i = 0; i < t->n; i++) {
            float db = (float)m->dfd[t->e[i].item] + 1.0f;
            touch(m, t->e[i].item)->f[SESSREC_F_COVIS] += t->e[i].w / sqrtf(da * db);
        }
    }
    /* POPULAR (always offered as fallback candidates; the feature only when enabled) */
    {
        int pop_on = on(m, SESSREC_POPULAR);
        for (i = 0; i < m->pop_n; i++) {
            struct acc *a = touch(m, m->pop_top[i]);
            if (pop_on) {
                a->f[SESSREC_F_POP] = m->items[m->pop_top[i]].pop;
            }
        }
    }

    /* normalise each signal by its max over the candidates; derived features; blend */
    trend_on = on(m, SESSREC_POPULAR) && m->p.trend_tau > 0 &&
        (m->p.learning != SESSREC_LEARN_FIXED || m->w[SESSREC_F_TREND] != 0);
    for (i = 0; i < m->n_touched; i++) {
        struct acc *a = &m->acc[m->touched[i]];
        float v = a->f[SESSREC_F_KNN] + a->f[SESSREC_F_KNN_BEFORE];
        if (trend_on) {
            a->f[SESSREC_F_TREND] = m->trend[m->touched[i]];
            if (a->f[SESSREC_F_TREND] > mtr) {
                mtr = a->f[SESSREC_F_TREND];
            }
        }
        if (v > mknn) {
            mknn = v;
        }
        v = a->f[SESSREC_F_NEXT] + a->f[SESSREC_F_NEXT_HOPS];
        if (v > mnext) {
            mnext = v;
        }
        if (a->f[SESSREC_F_COVIS] > mcov) {
            mcov = a->f[SESSREC_F_COVIS];
        }
        if (a->f[SESSREC_F_REPEAT] > mrep) {
            mrep = a->f[SESSREC_F_REPEAT];
        }
        if (a->f[SESSREC_F_POP] > mpop) {
            mpop = a->f[SESSREC_F_POP];
        }
        if (a->f[SESSREC_F_NEXT2] > mn2) {
            mn2 = a->f[SESSREC_F_NEXT2];
        }
    }
    iknn = mknn > 0 ? 1.0f / mknn : 0.0f;
    inext = mnext > 0 ? 1.0f / mnext : 0.0f;
    icov = mcov > 0 ? 1.0f / mcov : 0.0f;
    irep = mrep > 0 ? 1.0f / mrep : 0.0f;
    ipop = mpop > 0 ? 1.0f / mpop : 0.0f;
    itr = mtr > 0 ? 1.0f / mtr : 0.0f;
    in2 = mn2 > 0 ? 1.0f / mn2 : 0.0f;
    /* the blend's terms with a non-zero weight, in feature order: a zero weight adds ±0 to a
     * sum that is never -0, so skipping it changes no bit (the learned weights are often 0) */
    nbf = 0;
    for (f = 0; f < SESSREC_NFEATURES; f++) {
        if (bw[f] != 0) {
            bf[nbf++] = (uint8_t)f;
        }
    }
    for (i = 0; i < m->n_touched; i++) {
        int32_t it = m->touched[i];
        struct acc *a = &m->acc[it];
        float sc = 0;
        a->f[SESSREC_F_POP] *= ipop;
        a->f[SESSREC_F_TREND] *= itr;
        a->f[SESSREC_F_KNN] *= iknn;
        a->f[SESSREC_F_KNN_BEFORE] *= iknn;
        a->f[SESSREC_F_KNN_SQRT] = sqrtf(a->f[SESSREC_F_KNN] + a->f[SESSREC_F_KNN_BEFORE]);
        a->f[SESSREC_F_NEXT] *= inext;
        a->f[SESSREC_F_NEXT_HOPS] *= inext;
        a->f[SESSREC_F_NEXT_SQRT] = sqrtf(a->f[SESSREC_F_NEXT] + a->f[SESSREC_F_NEXT_HOPS]);
        a->f[SESSREC_F_COVIS] *= icov;
        a->f[SESSREC_F_REPEAT] *= irep;
        a->f[SESSREC_F_NEXT2] *= in2;
        /* (blend_and_order: the learned order blend only for the list head, lscore()) */
        for (f = 0; f < nbf; f++) {
            sc += bw[bf[f]] * a->f[bf[f]];
        }
        a->score = sc;
        m->cands[i].score = sc;
        m->cands[i].item = it;
    }
    m->n_cands = m->n_touched;
    SR_ADD(2, m->n_touched);
    SR_COUNT(3);
    if (ordered) {
        /* the learning steps read the first nsel (>= k) in order */
        nsel = two_stage(&m->p) ? m->p.order_top * (m->p.learn_set ? 2 : 1) : m->p.learn_topn;
        if (nsel < k) {
            nsel = (uint32_t)k;
        }
        if (nsel > m->n_cands) {
            nsel = m->n_cands;
        }
        cand_select(m->cands, m->n_cands, nsel);
        cand_sort(m->cands, nsel);
        m->n_sorted = nsel;
        m->have_last = 1;
        if (k > nsel) {
            k = nsel;
        }
    } else {
        /* the same k items (cand_before is a total order, so the top k is one set) */
        if (k > m->n_cands) {
            k = m->n_cands;
        }
        cand_select(m->cands, m->n_cands, (uint32_t)k);
    }
    for (j = 0; j < k; j++) {
        int32_t it = m->cands[j].item;
        const struct acc *a = &m->acc[it];
        float contrib[SESSREC_NSIGNALS] = { 0 }, bv = -1;
        int best = SESSREC_POPULAR;
        uint32_t s;
        out_items[j] = it;
        if (out_scores) {
            out_scores[j] = a->score;
        }
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            contrib[feat_signal[f]] += bw[f] * a->f[f];
        }
        for (s = 0; s < SESSREC_NSIGNALS; s++) {
            if (contrib[s] > bv) {
                bv = contrib[s];
                best = (int)s;
            }
        }
        if (out_reason) {
            out_reason[j] = (uint8_t)best;
        }
        if (out_because) {
            int32_t b = -1;
            if (best == SESSREC_NEXT_ITEM) {
                b = a->because_next;
            } else if (best == SESSREC_SIMILAR_SESSION) {
                b = a->because_knn;
            } else if (best == SESSREC_CO_VISITED) {
                b = last;
            } else if (best == SESSREC_IN_SESSION) {
                b = it;
            }
            out_because[j] = b;
        }
    }
    return k;
}

size_t sessrec_score(struct sessrec *m, uint64_t session_key, const int32_t *q, size_t n,
                     int32_t *out_items, float *out_scores, uint8_t *out_reason,
                     int32_t *out_because, size_t k)
{
    return score(m, session_key, q, n, out_items, out_scores, out_reason, out_because, k, 1);
}

size_t sessrec_score_unordered(struct sessrec *m, uint64_t session_key, const int32_t *q, size_t n,
                               int32_t *out_items, float *out_scores, uint8_t *out_reason,
                               int32_t *out_because, size_t k)
{
    return score(m, session_key, q, n, out_items, out_scores, out_reason, out_because, k, 0);
}

/* One AdaGrad step on weights w (accumulators g2) given gradient g (ascent direction). */
static void adagrad(const struct sessrec *m, float *w, float *g2, float rate, const float *g)
{
    uint32_t f;

    for (f = 0; f < SESSREC_NFEATURES; f++) {
        if (!(m->p.signals & (1u << feat_signal[f])) || g[f] == 0) {
            continue;
        }
        g2[f] += g[f] * g[f];
        w[f] += rate * g[f] / sqrtf(g2[f] + 1e-6f);
        if (w[f] < 0) {
            w[f] = 0;
        }
    }
}

static void learn_step(struct sessrec *m, const float *g)
{
    if (two_stage(&m->p)) {
        adagrad(m, m->wo[m->ob], m->g2o[m->ob], m->p.learn_rate, g);
    } else {
        adagrad(m, m->w, m->g2, m->p.learn_rate, g);
    }
}

/* learn_set: pairwise logistic loss between the target and the items just across the
 * boundary of the list head (h = order_top, w = set_window): a target ranked h..2h-1 against
 * the w last items of the head, a target inside the head against the w first items after it;
 * pair weight σ((s_j − s_y)/T). Only swaps that change HR@h count (LambdaRank-style Δ HR@h),
 * and only the ones a small weight change can make (near the boundary). */
static void learn_set_step(struct sessrec *m, int32_t y)
{
    uint32_t h = m->p.order_top, n2 = m->n_sorted < 2 * h ? m->n_sorted : 2 * h, i, f, from, to;
    uint32_t bw = m->p.set_window;
    float grad[SESSREC_NFEATURES], sy, it = m->p.set_temp > 0 ? 1.0f / m->p.set_temp : 1.0f;
    const float *fy;
    int32_t rank = -1;

    if (h > n2) {
        h = n2;
    }
    for (i = 0; i < n2; i++) {
        if (m->cands[i].item == y) {
            rank = (int32_t)i;
        }
    }
    if (rank < 0 || h == 0 || n2 <= h || bw == 0) {
        return;
    }
    from = (uint32_t)rank >= h ? h - (bw < h ? bw : h) : h;
    to = (uint32_t)rank >= h ? h : (h + bw < n2 ? h + bw : n2);
    fy = m->acc[y].f;
    sy = m->acc[y].score;
    memset(grad, 0, sizeof(grad));
    for (i = from; i < to; i++) {
        const struct acc *a = &m->acc[m->cands[i].item];
        float wgt = 1.0f / (1.0f + expf((sy - a->score) * it)) / (float)(to - from);
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] += wgt * (fy[f] - a->f[f]);
        }
    }
    grad[SESSREC_F_NEXT2] = 0;   /* NEXT2: its set weight stays w_next2 (sessrec.h) */
    adagrad(m, m->ws, m->g2s, m->p.set_rate, grad);
}

void sessrec_feedback(struct sessrec *m, int32_t y)
{
    float grad[SESSREC_NFEATURES], maxz = -1e30f, sum = 0, sy;
    const float *fy;
    uint32_t n, i, f, cnt = 0;
    int32_t rank = -1;

    if (!m->have_last || m->p.learning == SESSREC_LEARN_FIXED) {
        return;
    }
    m->have_last = 0;
    if (y < 0 || y >= m->n_items || m->astamp[y] != m->stamp) {
        return; /* target not among the candidates: nothing to learn from */
    }
    if (two_stage(&m->p)) {
        /* two-stage: the set blend (fixed, or learned by learn_set_step) chose the list head;
         * learn the order within it (softmax over the head, only when the target is in it) */
        if (m->p.learn_set) {
            learn_set_step(m, y);
        }
        n = m->n_sorted < m->p.order_top ? m->n_sorted : m->p.order_top;
        for (i = 0; i < n; i++) {
            if (m->cands[i].item == y) {
                rank = (int32_t)i;
            }
        }
        if (rank < 0 || n < 2) {
            return;
        }
        for (i = 0; i < n; i++) {
            m->lz[i] = lscore(m, &m->acc[m->cands[i].item]);
            if (m->lz[i] > maxz) {
                maxz = m->lz[i];
            }
        }
        for (i = 0; i < n; i++) {
            m->lz[i] = expf(m->lz[i] - maxz);
            sum += m->lz[i];
        }
        fy = m->acc[y].f;
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] = fy[f];
        }
        for (i = 0; i < n; i++) {
            const float *fi = m->acc[m->cands[i].item].f;
            float pr = m->lz[i] / sum;
            for (f = 0; f < SESSREC_NFEATURES; f++) {
                grad[f] -= pr * fi[f];
            }
        }
        learn_step(m, grad);
        return;
    }
    n = m->n_sorted < m->p.learn_topn ? m->n_sorted : m->p.learn_topn;
    for (i = 0; i < n; i++) {
        if (m->cands[i].item == y) {
            rank = (int32_t)i;
        }
    }
    fy = m->acc[y].f;
    sy = m->acc[y].score;
    memset(grad, 0, sizeof(grad));
    if (m->p.learn_loss == 1) {
        /* perceptron-style hinge at the list boundary: a target outside the top 20 is pushed
         * above the item at rank 20; a target inside above its predecessor (half step) */
        uint32_t bnd = n < 20 ? n : 20;
        const float *fb;
        float scale = 1.0f;
        (void)cnt;
        if (rank == 0 || bnd == 0) {
            return;
        }
        if (rank > 0 && (uint32_t)rank < bnd) {
            fb = m->acc[m->cands[rank - 1].item].f;
            scale = 0.5f;
        } else {
            fb = m->acc[m->cands[bnd - 1].item].f;
        }
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] = scale * (fy[f] - fb[f]);
        }
        learn_step(m, grad);
        return;
    }
    /* softmax over the top-n (+ the target if outside) */
    for (i = 0; i < n; i++) {
        m->lz[i] = m->cands[i].score;
        if (m->lz[i] > maxz) {
            maxz = m->lz[i];
        }
    }
    if (rank < 0) {
        m->lz[n] = sy;
        if (sy > maxz) {
            maxz = sy;
        }
    }
    for (i = 0; i < n + (rank < 0); i++) {
        m->lz[i] = expf(m->lz[i] - maxz);
        sum += m->lz[i];
    }
    for (f = 0; f < SESSREC_NFEATURES; f++) {
        grad[f] = fy[f];
    }
    for (i = 0; i < n + (rank < 0); i++) {
        const float *fi = i < n ? m->acc[m->cands[i].item].f : fy;
        float p = m->lz[i] / sum;
        for (f = 0; f < SESSREC_NFEATURES; f++) {
            grad[f] -= p * fi[f];
        }
    }
    learn_step(m, grad);
}

int sessrec_wants_feedback(const struct sessrec *m, uint64_t session_key)
{
    if (m->p.learning == SESSREC_LEARN_FIXED) {
        return 0;
    }
    if (m->p.learn_every <= 1) {
        return 1;
    }
    /* the tick the click will get, so the choice is a pure function of the input order */
    return hash64(session_key ^ hash64(m->tick + 1)) % m->p.learn_every == 0;
}

float sessrec_order_score(const struct sessrec *m, int32_t item)
{
    if (!two_stage(&m->p) || item < 0 || item >= m->n_items || m->astamp[item] != m->stamp) {
        return -INFINITY;
    }
    return lscore(m, &m->acc[item]);
}

size_t sessrec_orders(const struct sessrec *m)
{
    return two_stage(&m->p) ? m->p.order_top : 0;
}

/* ---- session access (added for the sgd operator) ------------------------------------------ */

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
