/*
 * sessrec_internal.h — the model's in-memory layout, shared by the files of models/sessrec
 * (sessrec.c: life cycle, growth and the session map; sessrec_params.c: parameters;
 * sessrec_observe.c: learning from clicks; sessrec_score.c: scoring; sessrec_feedback.c: the
 * learned blends; sessrec_snapshot.c: the snapshot format) and the helpers they share. Not a
 * public header: callers use sessrec.h.
 */
#ifndef RECD_SESSREC_INTERNAL_H
#define RECD_SESSREC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sessrec.h"

/* ---- model state ----------------------------------------------------------------------- */

/* A capped weighted edge list with forward decay: the stored weight of an edge is
 * Σ add_i·exp((t_i − ref)/τ); its true weight at tick t is stored·exp((ref − t)/τ). */
struct edge {
    int32_t item;
    float w;
};
struct etab {
    struct edge *e;    /* owned, cap entries */
    uint32_t n, cap;
    uint64_t ref;      /* forward-decay reference tick */
    float total;       /* Σ stored weights (for per-source normalisation) */
};

/* The order-2 successors of the pairs ending in one item: (previous item, successor)
 * entries with forward-decayed weights, capped, lightest replaced (space-saving). */
struct pedge {
    int32_t prev;
    int32_t item;
    float w;
};
struct ptab {
    struct pedge *e;   /* owned, cap entries */
    uint32_t n, cap;
    uint64_t ref;      /* forward-decay reference tick */
};

struct posting {
    uint32_t slot;
    uint32_t gen;          /* session slot generation when posted (stale if it differs) */
    uint32_t tick;         /* low 32 bits of the click tick */
};

struct item {
    struct posting *post;  /* owned ring of postings_cap entries, NULL until first use */
    uint32_t post_n;       /* valid entries (<= postings_cap) */
    uint32_t post_head;    /* next write index */
    float pop;             /* forward-decayed click count (global reference m->pop_ref) */
    struct etab tr;        /* successors */
    struct etab cv;        /* co-visited */
    struct ptab p2;        /* (previous item, successor) of the pairs ending here (NEXT2) */
};

/* A session record; its sess_items_cap items follow it in the same block (one cache line
 * or two for short sessions). */
struct sess {
    uint64_t key;
    uint32_t last_tick;    /* low 32 bits of the tick of its last click */
    uint32_t gen;          /* bumped when the slot is evicted / ended */
    uint32_t n;            /* items stored (<= sess_items_cap) */
    uint32_t live;
};

/* Per-slot similarity accumulator for one scoring call. */
struct sacc {
    uint32_t stamp;
    float sim;
    uint32_t tick;         /* newest posting tick seen for the slot */
    uint32_t gen;          /* mirror of the slot's struct sess gen (same cache line as stamp) */
};

/* Per-candidate accumulator in the scoring scratch space. */
struct acc {
    float f[SESSREC_NFEATURES];
    float score;
    float best_next, best_knn;
    int32_t because_next, because_knn;
};

struct nb {
    float sim;
    uint32_t slot;
};

struct cand {
    float score;
    int32_t item;
};

#define SR_MAXB 8          /* most session-length buckets of the learned weights */

struct sessrec {
    struct sessrec_params p;
    uint64_t tick;
    uint64_t sessions_created;
    float log_n;           /* log(sessions_created + 1) */

    struct item *items;    /* owned, items_cap entries */
    int32_t n_items, items_cap;

    char *sblob;           /* owned, sess_cap records of sess_stride bytes */
    size_t sess_stride;
    uint32_t sess_cap, sess_used, sess_next; /* slots allocated / ever used / ring pointer */
    uint32_t live_sessions;

    uint64_t *hkeys;       /* owned open-addressing map key → slot+1 (0 = empty) */
    uint32_t *hvals;
    uint32_t hcap;         /* power of two */

    /* popularity: forward decay with one global reference; top list kept exactly */
    uint64_t pop_ref, trend_ref;
    int32_t *pop_top;      /* owned, pop_top entries */
    uint32_t pop_n;

    int pairs_on;          /* NEXT2 is learned or weighted: the pair successors are kept */

    /* blend weights (learned or fixed) */
    float w[SESSREC_NFEATURES];
    float wf[SESSREC_NFEATURES]; /* the fixed weights (params, disabled signals zeroed) */
    float ws[SESSREC_NFEATURES]; /* learn_set: the weights choosing the list (start = wf) */
    float g2s[SESSREC_NFEATURES];
    float wo[SR_MAXB][SESSREC_NFEATURES]; /* blend_and_order: the order weights by session
                                           * length bucket (order_buckets; start = w) */
    float g2o[SR_MAXB][SESSREC_NFEATURES];
    uint32_t ob;           /* the order bucket of the last score */
    float g2[SESSREC_NFEATURES]; /* AdaGrad accumulators */
    float *lz;             /* learn_topn + 1 scratch logits */

    /* scoring scratch (owned) */
    struct acc *acc;       /* items_cap */
    uint32_t *astamp;      /* items_cap */
    float *ldf;            /* items_cap: log(dfd + 1), cached for IDF; apart from struct item
                              so that the kNN scoring loop reads a dense 4-byte array instead of
                              a 96-byte record per neighbour item (cache misses were its cost) */
    uint32_t *dfd;         /* items_cap: df, the sessions that contained the item (dense like
                              ldf: the co-visitation cosine reads it for every co-visited item) */
    float *trend;          /* items_cap: clicks decayed with trend_tau (reference trend_ref);
                              dense like ldf, read once per candidate */
    int32_t *qpos;         /* items_cap: last position of the item in the query session */
    uint32_t *qstamp;      /* items_cap */
    uint32_t stamp;
    int32_t *touched;      /* items_cap */
    uint32_t n_touched;
    struct sacc *sacc;     /* sess_cap */
    float rec_tab[1025];   /* exp(-x) for x = i/64 */
    struct nb *nbs;        /* sample_cap */
    struct cand *cands;    /* items_cap */
    uint32_t n_cands;      /* candidates in last score (sorted prefix: n_sorted) */
    uint32_t n_sorted;
    float *ipw_tab;        /* sess_items_cap */
    int have_last;         /* a score is pending feedback */
};

/* Grow the item arrays so that `item` is a valid index (n_items = max(n_items, item + 1));
 * grow the session blob to the next capacity step. 0, or -1 on allocation failure. */
int sr_grow_items(struct sessrec *m, int32_t item);
int sr_grow_sessions(struct sessrec *m);

/* ---- helpers shared by the files of the model ------------------------------------------ */

/* learning = blend_and_order: set weights choose the candidates, a learned blend orders the
 * list head */
static inline int two_stage(const struct sessrec_params *p)
{
    return p->learning == SESSREC_LEARN_BLEND_AND_ORDER;
}

/* the signal of each feature */
static const uint8_t feat_signal[SESSREC_NFEATURES] = {
    SESSREC_POPULAR,    SESSREC_SIMILAR_SESSION, SESSREC_SIMILAR_SESSION, SESSREC_SIMILAR_SESSION,
    SESSREC_NEXT_ITEM,  SESSREC_NEXT_ITEM,       SESSREC_NEXT_ITEM,       SESSREC_CO_VISITED,
    SESSREC_IN_SESSION, SESSREC_IN_SESSION,      SESSREC_POPULAR,         SESSREC_NEXT_ITEM,
    SESSREC_IN_SESSION,
};

/* the session map's hash; sessrec_wants_feedback's choice of clicks */
static inline uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* the order bucket of a session of n items: 1, 2, ..., order_buckets and longer */
static inline uint32_t order_bucket(const struct sessrec *m, size_t n)
{
    return n == 0 ? 0 : (n < m->p.order_buckets ? (uint32_t)n : m->p.order_buckets) - 1;
}

/* A new stamp for the scratch space: astamp[i] / qstamp[i] / sacc[s].stamp equal to it mark
 * what the current call touched (all stamps reset when it wraps). */
static inline void sr_new_stamp(struct sessrec *m)
{
    if (++m->stamp == 0) {
        memset(m->astamp, 0, (size_t)m->items_cap * sizeof(*m->astamp));
        memset(m->qstamp, 0, (size_t)m->items_cap * sizeof(*m->qstamp));
        for (uint32_t i = 0; i < m->sess_cap; i++) {
            m->sacc[i].stamp = 0;
        }
        m->stamp = 1;
    }
}

/* the session record of a slot, and its items */
static inline struct sess *sess_at(const struct sessrec *m, uint32_t slot)
{
    return (struct sess *)(void *)(m->sblob + (size_t)slot * m->sess_stride);
}

static inline int32_t *sess_items(struct sess *s)
{
    return (int32_t *)(void *)(s + 1);
}

/* the session map's index of key (linear probing), or -1 */
static inline int64_t hfind(const struct sessrec *m, uint64_t key)
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

/* The slot of session `key`, or -1 when it has none (sr_session_get without create, inline for
 * the scoring path). */
static inline int64_t session_find(const struct sessrec *m, uint64_t key)
{
    int64_t h = hfind(m, key);

    return h >= 0 ? (int64_t)m->hvals[h] - 1 : -1;
}

/* The slot of session `key`, or (create) of a new session in a free or the oldest slot (whose
 * session ends); -1 when there is none or on allocation failure. */
int64_t sr_session_get(struct sessrec *m, uint64_t key, int create);

/* Counters of the scoring loops, compiled in with -DSESSREC_STATS (sessrec_score.c). */
#ifdef SESSREC_STATS
extern uint64_t sessrec_dbg[8];
#define SR_COUNT(i)  (sessrec_dbg[i]++)
#define SR_ADD(i, v) (sessrec_dbg[i] += (v))
#else
#define SR_COUNT(i)  ((void)0)
#define SR_ADD(i, v) ((void)0)
#endif

#endif
