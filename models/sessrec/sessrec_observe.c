/* sessrec_observe.c — learning from clicks: the capped, forward-decayed edge tables
 * (transitions, co-visitation, order-2 pairs), popularity and trend, and sessrec_observe, which
 * updates them, the item postings and the session for every click. */
#include "sessrec.h"
#include "sessrec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    sl = sr_session_get(m, session_key, 1);
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
