/* sessrec_score.c — scoring: the signals' candidates (in-session repeats, next-item
 * transitions and pairs, session kNN, co-visitation, popularity), their normalisation and
 * blend, the top-k selection with reasons (sessrec_score, sessrec_score_unordered), and
 * sessrec_item_sessions. */
#include "sessrec.h"
#include "sessrec_internal.h"
#include "inline_sort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef SESSREC_STATS
uint64_t sessrec_dbg[8];
#endif

/* ---- scoring --------------------------------------------------------------------------- */

/* Factor that turns weights stored with reference tick ref into true weights at tick now. */
static float decay_scale(uint64_t ref, uint64_t now, float tau)
{
    if (tau <= 0) {
        return 1.0f;
    }
    return (float)exp(-(double)(now - ref) / tau);
}

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

static int nb_before(const struct nb *a, const struct nb *b)
{
    if (a->sim != b->sim) {
        return a->sim > b->sim;
    }
    return a->slot > b->slot;
}

/* the k most similar neighbours (unordered) */
RECD_DEFINE_SELECT(nb_select, struct nb, nb_before)

static int cand_before(const struct cand *a, const struct cand *b)
{
    if (a->score != b->score) {
        return a->score > b->score;
    }
    return a->item < b->item;
}

/* the k best candidates (unordered) */
RECD_DEFINE_SELECT(cand_select, struct cand, cand_before)

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

/* The steps of score(), in order; each is static inline (the scoring hot path, called once per
 * score) and does exactly what the one function did, in the same order. */

/* A new stamp for the scratch space (all stamps reset when it wraps), the query session's last
 * position of each item (unknown items are ignored). Returns the query's last item, or -1 when
 * it is unknown or the query is empty. */
static inline int32_t score_query(struct sessrec *m, const int32_t *q, size_t n)
{
    size_t j;

    sr_new_stamp(m);
    m->n_touched = 0;
    for (j = 0; j < n; j++) {
        int32_t it = q[j];
        if (it < 0 || it >= m->n_items) {
            continue;
        }
        m->qstamp[it] = m->stamp;
        m->qpos[it] = (int32_t)j;
    }
    if (n > 0 && q[n - 1] >= 0 && q[n - 1] < m->n_items) {
        return q[n - 1];
    }
    return -1;
}

/* IN_SESSION: the query's items, recency-weighted repeats (fast and slow decay), and its
 * last item */
static inline void score_in_session(struct sessrec *m, const int32_t *q, size_t n, int32_t last)
{
    size_t j;
    /* REPEAT_SLOW: only when a blend can give it a weight */
    int slow = m->p.learning != SESSREC_LEARN_FIXED || m->w[SESSREC_F_REPEAT_SLOW] != 0;

    for (j = 0; j < n; j++) {
        int32_t it = q[j];
        struct acc *a;
        if (it < 0 || it >= m->n_items) {
            continue;
        }
        a = touch(m, it);
        a->f[SESSREC_F_REPEAT] += m->p.rep_lambda > 0
            ? expf(-(float)(n - 1 - j) / m->p.rep_lambda)
            : 1.0f;
        if (slow) {
            a->f[SESSREC_F_REPEAT_SLOW] += m->p.rep_slow_lambda > 0
                ? expf(-(float)(n - 1 - j) / m->p.rep_slow_lambda)
                : 1.0f;
        }
    }
    if (last >= 0) {
        touch(m, last)->f[SESSREC_F_LAST] = 1.0f;
    }
}

/* NEXT_ITEM: the successors of the last trans_hops items of the query */
static inline void score_next(struct sessrec *m, const int32_t *q, size_t n)
{
    float wh = 1.0f;
    uint32_t h, i;

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

/* NEXT2: the successors of the query's last pair (pairs_on implies the signal is on; an
 * unknown previous item matches no entry) */
static inline void score_next2(struct sessrec *m, const int32_t *q, size_t n, int32_t last)
{
    const struct ptab *t = &m->items[last].p2;
    int32_t prev = q[n - 2];
    uint32_t i;

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

/* CO_VISITED: the items co-visited with the last item, cosine */
static inline void score_covis(struct sessrec *m, int32_t last)
{
    const struct etab *t = &m->items[last].cv;
    float da = (float)m->dfd[last] + 1.0f;
    uint32_t i;

    for (i = 0; i < t->n; i++) {
        float db = (float)m->dfd[t->e[i].item] + 1.0f;
        touch(m, t->e[i].item)->f[SESSREC_F_COVIS] += t->e[i].w / sqrtf(da * db);
    }
}

/* POPULAR: always offered as fallback candidates; the feature only when enabled */
static inline void score_pop(struct sessrec *m)
{
    int pop_on = on(m, SESSREC_POPULAR);
    uint32_t i;

    for (i = 0; i < m->pop_n; i++) {
        struct acc *a = touch(m, m->pop_top[i]);
        if (pop_on) {
            a->f[SESSREC_F_POP] = m->items[m->pop_top[i]].pop;
        }
    }
}

/* Normalise each signal by its max over the candidates; the derived features; the blend bw of
 * every candidate into its acc and m->cands (unordered). */
static inline void score_blend(struct sessrec *m, const float *bw)
{
    float mknn = 0, mnext = 0, mcov = 0, mrep = 0, mpop = 0, mtr = 0, mn2 = 0, mrs = 0;
    float iknn, inext, icov, irep, ipop, itr, in2, irs;
    uint8_t bf[SESSREC_NFEATURES];
    uint32_t nbf, i, f;
    int trend_on;

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
        if (a->f[SESSREC_F_REPEAT_SLOW] > mrs) {
            mrs = a->f[SESSREC_F_REPEAT_SLOW];
        }
    }
    iknn = mknn > 0 ? 1.0f / mknn : 0.0f;
    inext = mnext > 0 ? 1.0f / mnext : 0.0f;
    icov = mcov > 0 ? 1.0f / mcov : 0.0f;
    irep = mrep > 0 ? 1.0f / mrep : 0.0f;
    ipop = mpop > 0 ? 1.0f / mpop : 0.0f;
    itr = mtr > 0 ? 1.0f / mtr : 0.0f;
    in2 = mn2 > 0 ? 1.0f / mn2 : 0.0f;
    irs = mrs > 0 ? 1.0f / mrs : 0.0f;
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
        a->f[SESSREC_F_REPEAT_SLOW] *= irs;
        /* (blend_and_order: the learned order blend only for the list head, lscore()) */
        for (f = 0; f < nbf; f++) {
            sc += bw[bf[f]] * a->f[bf[f]];
        }
        a->score = sc;
        m->cands[i].score = sc;
        m->cands[i].item = it;
    }
    m->n_cands = m->n_touched;
}

/* The top k of the candidates first in m->cands: ordered, the first nsel (>= k) sorted for the
 * learning steps, which then have a score pending; unordered, the same k items in no order.
 * Returns k, at most the candidates there are. */
static inline size_t score_select(struct sessrec *m, size_t k, int ordered)
{
    uint32_t nsel;

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
    return k;
}

/* The first k candidates out: item, score, the reason (the signal contributing most to the
 * blend bw) and its because-item. */
static inline void score_out(const struct sessrec *m, const float *bw, size_t k, int32_t last,
                             int32_t *out_items, float *out_scores, uint8_t *out_reason,
                             int32_t *out_because)
{
    uint32_t f;
    size_t j;

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
}

/* sessrec_score (ordered) and sessrec_score_unordered (ordered = 0: the top k in no order,
 * and nothing pending for sessrec_feedback). */
static size_t score(struct sessrec *m, uint64_t session_key, const int32_t *q, size_t n,
                    int32_t *out_items, float *out_scores, uint8_t *out_reason,
                    int32_t *out_because, size_t k, int ordered)
{
    const float *bw = blend_weights(m);
    int64_t self = session_find(m, session_key);
    int32_t last;

    /* the order weights of sessions of this length (1, 2, ..., order_buckets and longer) */
    m->ob = order_bucket(m, n);
    m->have_last = 0;
    m->n_cands = m->n_sorted = 0;
    if (m->n_items == 0) {
        return 0;
    }
    last = score_query(m, q, n);
    if (on(m, SESSREC_IN_SESSION)) {
        score_in_session(m, q, n, last);
    }
    if (on(m, SESSREC_NEXT_ITEM)) {
        score_next(m, q, n);
    }
    if (m->pairs_on && n >= 2 && last >= 0) {
        score_next2(m, q, n, last);
    }
    if (on(m, SESSREC_SIMILAR_SESSION)) {
        score_knn(m, self, q, n);
    }
    if (on(m, SESSREC_CO_VISITED) && last >= 0) {
        score_covis(m, last);
    }
    score_pop(m);
    score_blend(m, bw);
    SR_ADD(2, m->n_touched);
    SR_COUNT(3);
    k = score_select(m, k, ordered);
    score_out(m, bw, k, last, out_items, out_scores, out_reason, out_because);
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

uint32_t sessrec_item_sessions(const struct sessrec *m, int32_t item)
{
    return (m != NULL && item >= 0 && item < m->n_items) ? m->dfd[item] : 0;
}
