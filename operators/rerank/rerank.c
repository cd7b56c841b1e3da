/*
 * rerank.c — the rerank operator: for every user whose recommendations must change in a
 * batch, generate candidates, blend, filter, diversify and publish the top N with a reason and
 * a because-item per entry.
 *
 *   candidates  the sgd model's blended scores for the user's current session (session kNN,
 *               next-item transitions, co-visitation, in-session, popularity), `candidates`
 *               of them
 *   filters     items removed or out of stock in the catalogue, items the user purchased within
 *               `exclude_purchased_s`, blocked categories, optionally the item being viewed
 *   diversity   MMR: greedily pick argmax  lambda*relevance - (1-lambda)*max similarity to the
 *               items already picked, similarity 1 for the same leaf category, 0.5 for the same
 *               top-level category (lambda = 1: off)
 *   output      one Recommendations list per dirty user, computed from the state at the end
 *               of the batch; ties break on the item index (deterministic)
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "mf.h"
#include "operator.h"
#include "recd.h"
#include "services/catalog.h"
#include "services/embed.h"
#include "services/sessions.h"
#include "services/sessrec.h"
#include "inline_sort.h"
#include "linalg.h"
#include "sessrec.h"

struct rerank_conf {
    int64_t n;
    int64_t candidates;
    double mmr_lambda;
    int exclude_viewing;
    int exclude_out_of_stock;
    int exclude_unlisted;
    double exclude_purchased_s;
    struct recd_strlist blocked_categories;
    double w_text;
    int64_t text_candidates;
    double w_mf;
    int64_t cold_slots;
    int64_t cold_max_sessions;
    int64_t cold_pool;
    double cold_min_sim;
};

#define C(f) offsetof(struct rerank_conf, f)
static const struct recd_conf_decl rerank_decls[] = {
    { "n", RECD_CT_INT, "20", 1, 1000, RECD_CF_RELOADABLE, C(n), "Items in each published list.",
      NULL, NULL },
    { "candidates", RECD_CT_INT, "100", 1, 10000, RECD_CF_RELOADABLE, C(candidates),
      "Candidates scored per user before filters and diversity.", NULL, NULL },
    { "mmr_lambda", RECD_CT_DOUBLE, "0.9", 0, 1, RECD_CF_RELOADABLE, C(mmr_lambda),
      "MMR trade-off: 1 = pure relevance, lower = more diverse categories.", NULL, NULL },
    { "exclude_viewing", RECD_CT_BOOL, "false", 1, 0, RECD_CF_RELOADABLE, C(exclude_viewing),
      "Never recommend the item the user is viewing (their last click). Off by default: on real "
      "session data users often come back to the item they just viewed.",
      NULL, NULL },
    { "exclude_out_of_stock", RECD_CT_BOOL, "true", 1, 0, RECD_CF_RELOADABLE,
      C(exclude_out_of_stock), "Drop items the catalogue marks out of stock or removed.", NULL,
      NULL },
    { "exclude_unlisted", RECD_CT_BOOL, "true", 1, 0, RECD_CF_RELOADABLE, C(exclude_unlisted),
      "Drop items no catalogue record has listed (ids known only from clicks), so every "
      "recommended item exists in the catalogue. Applies once the items topic has listed at "
      "least one item: a deployment without a catalogue feed still gets lists.",
      NULL, NULL },
    { "exclude_purchased_s", RECD_CT_DOUBLE, "2592000.0", 0, 1e10, RECD_CF_RELOADABLE,
      C(exclude_purchased_s),
      "Drop items the user purchased within this many seconds (event time); 0 = off.", NULL, NULL },
    { "blocked_categories", RECD_CT_STRLIST, "[]", 0, 10000, RECD_CF_RELOADABLE,
      C(blocked_categories),
      "Categories never recommended: a top-level name (\"Adult\") or a full path "
      "(\"Home/Kitchen/Knives\").",
      NULL, NULL },
    { "w_text", RECD_CT_DOUBLE, "0.3", 0, 100, RECD_CF_RELOADABLE, C(w_text),
      "Weight of text similarity (cosine of the item's text vector with the session intent: the "
      "last query and the recent items' vectors, scored for all dirty users by one SGEMM) in "
      "the blend; the model's blended score is scaled to [0, 1]. Needs the embed operator.",
      NULL, NULL },
    { "text_candidates", RECD_CT_INT, "20", 0, 1000, RECD_CF_RELOADABLE, C(text_candidates),
      "Extra candidates from the text-similarity scores (query match, similar text) for users "
      "whose session has a query or at most one item; other users' candidates come from the "
      "model and text similarity re-weights them.",
      NULL, NULL },
    { "w_mf", RECD_CT_DOUBLE, "0.1", 0, 100, RECD_CF_RELOADABLE, C(w_mf),
      "Weight of the matrix-factorisation score (operators.sgd.mf), min-max scaled to [0, 1] "
      "over each user's candidates, in the blend. Tuned on the validation splits (0.05..0.12 "
      "equally good on Diginetica).",
      NULL, NULL },
    { "cold_slots", RECD_CT_INT, "0", 0, 100, RECD_CF_RELOADABLE, C(cold_slots),
      "Cold start: the last cold_slots places of each list go to the best text matches to the "
      "session intent (cosine > 0) among catalogue items in at most cold_max_sessions training "
      "sessions, which the model alone never proposes; 0 = off. Costs one GEMV per user over "
      "the cold pool (at most cold_pool items x the text dimension). Needs the embed operator "
      "and w_text > 0. Default chosen on the amazon-scientific valid split (docs/ENCODER.md).",
      NULL, NULL },
    { "cold_max_sessions", RECD_CT_INT, "0", 0, 1000000, RECD_CF_RELOADABLE, C(cold_max_sessions),
      "Cold start: an item is cold while at most this many sessions have clicked it (0 = never "
      "clicked).",
      NULL, NULL },
    { "cold_pool", RECD_CT_INT, "2000", 1, 1000000, RECD_CF_RELOADABLE, C(cold_pool),
      "Cold start: most cold items considered, the newest (highest catalogue index) first; "
      "bounds the per-user cost of cold_slots.",
      NULL, NULL },
    { "cold_min_sim", RECD_CT_DOUBLE, "0.0", 0, 1, RECD_CF_RELOADABLE, C(cold_min_sim),
      "Cold start: a cold item takes a slot only if its cosine to the session intent exceeds "
      "this (the scale depends on the encoder).",
      NULL, NULL },
};
#undef C

static const struct recd_conf_unit rerank_unit = {
    "operators.rerank",
    "Candidates, blend, business filters, MMR diversity and the published top N with reasons.",
    rerank_decls, RECD_ARRAY_SIZE(rerank_decls), sizeof(struct rerank_conf)
};

struct rerank {
    int64_t n, candidates;
    double mmr_lambda, exclude_purchased_s;
    int exclude_viewing, exclude_out_of_stock, exclude_unlisted;
    uint32_t *blocked;                      /* category hashes, owned */
    size_t n_blocked;
    struct recd_catalog *cat;               /* borrowed services */
    struct recd_sessions *sessions;
    struct recd_sessrec_ref *sr;
    const char *model_version;
    int32_t *c_item, *c_because;            /* scratch, candidates entries */
    float *c_score;
    uint8_t *c_reason, *c_taken;
    int32_t *c_picked;                      /* scratch, n entries */
    int64_t cap_picked;
    double w_text;
    int64_t text_candidates;
    double w_mf;
    float *mf_u, *mf_ut;                    /* MF scratch: user factor, its text projection */
    struct recd_embed *embed;               /* borrowed service, may be NULL */
    struct recd_metrics *metrics;           /* borrowed, may be NULL */
    float *u, *ue, *sims, *qv;              /* intents: users x dim; the explore users' intents
                                             * (ue) x items = sims by SGEMM */
    size_t cap_u, cap_ue, cap_sims;
    int32_t *u_row;                         /* dirty index -> row of u (intent), -1 none */
    int32_t *s_row;                         /* dirty index -> row of sims, -1 none */
    size_t cap_u_row;
    int64_t sgemm_ns;
    double sgemm_flop;
    uint32_t *mark; /* item -> stamp of the last user it was a candidate for */
    size_t cap_mark;
    uint32_t stamp;
    /* cold-start slots (cold_update / cold_fill) */
    int64_t cold_slots, cold_max_sessions, cold_pool;
    double cold_min_sim;
    int32_t *cold; /* owned: the cold pool, catalogue indexes ascending */
    size_t n_cold, cap_cold;
    size_t cold_rows; /* catalogue rows already looked at */
    int64_t cold_built_max, cold_built_pool; /* the settings the pool was built with */
    float *cold_v, *cold_s; /* owned: pool text vectors (n_cold x dim, gathered
                                             * every batch), one user's pool scores */
    size_t cap_cold_v, cap_cold_s;
};

struct cand {
    int32_t item;
    int32_t because;
    float score;
    uint8_t reason;
};

#define REASON_SIMILAR_TEXT SESSREC_NSIGNALS
#define REASON_QUERY_MATCH  (SESSREC_NSIGNALS + 1)
static const char *const reason_name[SESSREC_NSIGNALS + 2] = { "popular",    "similar_session",
                                                               "next_item",  "co_visited",
                                                               "in_session", "similar_text",
                                                               "query_match" };

static int apply_conf(struct rerank *op, const struct rerank_conf *c)
{
    uint32_t *b = NULL;
    size_t i;

    if (c->blocked_categories.n > 0) {
        b = calloc(c->blocked_categories.n, sizeof(*b));
        if (b == NULL) {
            return RECD_ENOMEM;
        }
        for (i = 0; i < c->blocked_categories.n; i++) {
            b[i] = recd_category_hash(c->blocked_categories.v[i]);
        }
    }
    if ((size_t)(c->candidates + c->text_candidates) >
            (size_t)(op->candidates + op->text_candidates) ||
        op->c_item == NULL) {
        size_t m = (size_t)(c->candidates + c->text_candidates) + 1;
        int32_t *ci = realloc(op->c_item, m * sizeof(int32_t));
        int32_t *cb = ci ? realloc(op->c_because, m * sizeof(int32_t)) : NULL;

        if (ci) {
            op->c_item = ci;
        }
        if (cb) {
            op->c_because = cb;
        }
        float *cs = cb ? realloc(op->c_score, m * sizeof(float)) : NULL;
        if (cs) {
            op->c_score = cs;
        }
        uint8_t *cr = cs ? realloc(op->c_reason, m) : NULL;
        if (cr) {
            op->c_reason = cr;
        }
        uint8_t *ct = cr ? realloc(op->c_taken, m) : NULL;
        if (ct) {
            op->c_taken = ct;
        }
        if (ct == NULL) {
            free(b);
            return RECD_ENOMEM;
        }
    }
    if (c->n > op->cap_picked) {
        int32_t *pk = realloc(op->c_picked, (size_t)c->n * sizeof(int32_t));

        if (pk == NULL) {
            free(b);
            return RECD_ENOMEM;
        }
        op->c_picked = pk;
        op->cap_picked = c->n;
    }
    free(op->blocked);
    op->blocked = b;
    op->n_blocked = c->blocked_categories.n;
    op->n = c->n;
    op->candidates = c->candidates;
    op->mmr_lambda = c->mmr_lambda;
    op->exclude_viewing = c->exclude_viewing;
    op->exclude_out_of_stock = c->exclude_out_of_stock;
    op->exclude_unlisted = c->exclude_unlisted;
    op->exclude_purchased_s = c->exclude_purchased_s;
    op->w_text = c->w_text;
    op->text_candidates = c->text_candidates;
    op->w_mf = c->w_mf;
    op->cold_slots = c->cold_slots;
    op->cold_max_sessions = c->cold_max_sessions;
    op->cold_pool = c->cold_pool;
    op->cold_min_sim = c->cold_min_sim;
    return RECD_OK;
}

static void rerank_fini(void *ctx)
{
    struct rerank *op = ctx;

    if (op == NULL) {
        return;
    }
    free(op->blocked);
    free(op->c_item);
    free(op->c_because);
    free(op->c_score);
    free(op->c_reason);
    free(op->c_taken);
    free(op->c_picked);
    free(op->u);
    free(op->mf_u);
    free(op->mf_ut);
    free(op->ue);
    free(op->sims);
    free(op->qv);
    free(op->u_row);
    free(op->s_row);
    free(op->mark);
    free(op->cold);
    free(op->cold_v);
    free(op->cold_s);
    free(op);
}

static int rerank_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                       size_t errlen)
{
    struct rerank *op = calloc(1, sizeof(*op));

    if (op == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
    }
    op->cat = recd_services_get(env->services, "catalog");
    op->sessions = recd_services_get(env->services, "sessions");
    op->sr = recd_services_get(env->services, "sessrec");
    if (op->cat == NULL || op->sessions == NULL || op->sr == NULL) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operator rerank needs sessionize and sgd before it in pipeline.chain");
    }
    op->model_version = env->model_version;
    op->embed = recd_services_get(env->services, "embed"); /* optional */
    op->metrics = env->metrics;
    if (op->sr->mf != NULL) {
        op->mf_u = calloc(mf_dim(op->sr->mf), sizeof(float));
        op->mf_ut = calloc(op->embed ? recd_embed_dim(op->embed) + 1 : 1, sizeof(float));
        if (op->mf_u == NULL || op->mf_ut == NULL) {
            rerank_fini(op);
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
        }
    }
    if (apply_conf(op, conf) != RECD_OK) {
        rerank_fini(op);
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
    }
    *ctx = op;
    return RECD_OK;
}

static int rerank_reconfigure(void *ctx, const void *conf, char *errstr, size_t errlen)
{
    if (apply_conf(ctx, conf) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
    }
    return RECD_OK;
}

static int filtered(const struct rerank *op, int32_t item, const struct recd_session *s,
                    const struct recd_profile *p, int64_t now)
{
    const struct recd_item_meta *m = recd_catalog_meta(op->cat, item);

    if (m == NULL || recd_catalog_item_id(op->cat, item) == NULL) {
        return 1;   /* unknown, or a retired item's index waiting for a new item */
    }
    if (op->exclude_out_of_stock && (m->removed || !m->in_stock)) {
        return 1;
    }
    if (op->exclude_unlisted && !m->known && recd_catalog_listed(op->cat) > 0) {
        return 1;
    }
    for (size_t i = 0; i < op->n_blocked; i++) {
        if (m->cat_top == op->blocked[i] || m->cat_leaf == op->blocked[i]) {
            return 1;
        }
    }
    if (op->exclude_viewing && s != NULL && s->n_items > 0 && s->items[s->n_items - 1] == item) {
        return 1;
    }
    if (op->exclude_purchased_s > 0 && p != NULL) {
        int64_t window = (int64_t)(op->exclude_purchased_s * 1000.0);

        for (uint32_t i = 0; i < p->n_purchased; i++) {
            if (p->purchased[i] == item && now - p->purchased_ts[i] <= window) {
                return 1;
            }
        }
    }
    return 0;
}

/* Grow a float scratch array to at least n entries (capacity *cap, in entries): the array, or
 * NULL when out of memory (the old array and *cap are then unchanged). */
static float *grow_floats(float *v, size_t *cap, size_t n)
{
    float *nv;

    if (v != NULL && *cap >= n) {
        return v;
    }
    nv = realloc(v, (n ? n : 1) * sizeof(float));
    if (nv != NULL) {
        *cap = n;
    }
    return nv;
}

/* The candidate order: score descending, then item. Candidates are distinct items, so the
 * order is total and any correct sort gives the same result. */
static inline int cand_before(const struct cand *x, const struct cand *y)
{
    return x->score > y->score || (x->score == y->score && x->item < y->item);
}

/* the candidates' order (inline_sort.h): ~120 per user, sorted once */
RECD_DEFINE_SORT(sort_cands, struct cand, cand_before)

/* operators.sgd.learning = "blend_and_order": re-sort the list head (the first sessrec_orders() candidates
 * after the filters) by the blend the model learned online, stably; candidates the model did
 * not score (text ones) keep their places and the scores stay where they were (descending). */
static int order_head(struct rerank *op, struct recd_batch *b, struct cand *cs, size_t nc)
{
    size_t h = sessrec_orders(op->sr->model), m = 0, i, j;
    size_t *pos;
    float *ls;
    struct cand *c;

    h = h < nc ? h : nc;
    if (h < 2) {
        return RECD_OK;
    }
    pos = recd_arena_alloc(b->arena, h * sizeof(*pos));
    ls = recd_arena_alloc(b->arena, h * sizeof(*ls));
    c = recd_arena_alloc(b->arena, h * sizeof(*c));
    if (pos == NULL || ls == NULL || c == NULL) {
        return RECD_ENOMEM;
    }
    for (i = 0; i < h; i++) {
        float v = sessrec_order_score(op->sr->model, cs[i].item);

        if (isfinite(v)) {
            for (j = m; j > 0 && ls[j - 1] < v; j--) { /* insertion, stable */
                ls[j] = ls[j - 1];
                c[j] = c[j - 1];
            }
            ls[j] = v;
            c[j] = cs[i];
            pos[m++] = i;
        }
    }
    for (i = 0; i < m; i++) {
        float score = cs[pos[i]].score;

        cs[pos[i]] = c[i];
        cs[pos[i]].score = score;
    }
    return RECD_OK;
}

/* A user "explores" when the clicks say little about what comes next (a query, or at most one
 * item): only then are candidates taken from text similarity over the whole catalogue. */
static int explores(const struct recd_session *s)
{
    return s == NULL || s->n_items <= 1 || s->last_query[0] != '\0';
}

static int cold_fill(struct rerank *op, struct recd_recs *r, size_t *picked,
                     const struct recd_session *s, const struct recd_profile *p, int64_t now,
                     const float *intent);

/* The steps of recommend(), in order; static inline where they run per candidate (the
 * per-user hot path). Each does exactly what the one function did, in the same order. */

/* the candidates' rows are random lines of the item matrices: fetch them ahead */
#define RR_PREFETCH 8

/* The model's nc candidates (op->c_*) into cs: the model's score scaled by its max over them,
 * plus w_text times the text similarity to the user's intent (sims[item] for an explore user,
 * else a dot product with the item's text row; 0 without an intent). */
static inline void model_candidates(struct rerank *op, struct cand *cs, size_t nc,
                                    const float *intent, const float *sims, const float *items,
                                    size_t rows, size_t dim)
{
    double mx = 0;
    size_t i;

    for (i = 0; i < nc; i++) {
        mx = fmax(mx, (double)op->c_score[i]);
    }
    for (i = 0; i < nc && i < RR_PREFETCH; i++) {
        if (intent != NULL && (size_t)op->c_item[i] < rows) {
            for (size_t d = 0; d < dim; d += 16) {
                __builtin_prefetch(items + (size_t)op->c_item[i] * dim + d);
            }
        }
    }
    for (i = 0; i < nc; i++) {
        size_t it = (size_t)op->c_item[i];
        float t = 0.0f;

        if (i + RR_PREFETCH < nc && sims == NULL && intent != NULL &&
            (size_t)op->c_item[i + RR_PREFETCH] < rows) {
            for (size_t d = 0; d < dim; d += 16) {
                __builtin_prefetch(items + (size_t)op->c_item[i + RR_PREFETCH] * dim + d);
            }
        }
        if (sims != NULL && it < rows) {
            t = sims[it];
        } else if (intent != NULL && it < rows) {
            /* candidates of a user with a click history: a dot product per candidate
             * (~100 x dim flops) instead of a row of the catalogue SGEMM (items x dim) */
            t = recd_la_dot(intent, items + it * dim, dim);
        }

        cs[i].item = op->c_item[i];
        cs[i].because = op->c_because[i];
        cs[i].reason = op->c_reason[i];
        cs[i].score = (float)((mx > 0 ? op->c_score[i] / mx : 0) + op->w_text * t);
    }
}

/* Text candidates (explore users): the text_candidates best text matches (sims > 0) not
 * already among the nc model candidates cs[0..nc-1], appended after them. Their count in
 * *got; RECD_OK or RECD_ENOMEM. */
static int text_candidates(struct rerank *op, struct cand *cs, size_t nc,
                           const struct recd_session *s, const float *sims, size_t rows,
                           size_t *got_out)
{
    size_t want = (size_t)op->text_candidates, got = 0, i;
    struct cand *tc = cs + nc;
    int query = s != NULL && s->last_query[0] != '\0';

    /* mark the model's candidates so the scan below skips them in O(1) */
    if (op->cap_mark < rows) {
        uint32_t *mk = realloc(op->mark, rows * sizeof(*mk));

        if (mk == NULL) {
            return RECD_ENOMEM;
        }
        memset(mk + op->cap_mark, 0, (rows - op->cap_mark) * sizeof(*mk));
        op->mark = mk;
        op->cap_mark = rows;
    }
    if (++op->stamp == 0) {
        memset(op->mark, 0, op->cap_mark * sizeof(*op->mark));
        op->stamp = 1;
    }
    for (i = 0; i < nc; i++) {
        if ((size_t)cs[i].item < rows) {
            op->mark[cs[i].item] = op->stamp;
        }
    }
    /* one comparison per item: v must beat thr, 0 until the top list is full, then its last
     * score. Testing v <= 0 first mispredicted on about half of the items. */
    float thr = 0.0f;

    for (size_t it = 0; it < rows; it++) {
        float v = sims[it];
        size_t j;

        if (v <= thr || op->mark[it] == op->stamp) {
            continue;
        }
        j = got < want ? got++ : got - 1; /* insertion into the sorted top list */
        while (j > 0 && tc[j - 1].score < v) {
            tc[j] = tc[j - 1];
            j--;
        }
        tc[j].item = (int32_t)it;
        tc[j].score = v;
        if (got == want) { /* a NaN last score leaves thr at 0, as the old two tests did */
            float last = tc[got - 1].score;

            thr = last > 0 ? last : 0.0f;
        }
    }
    for (i = 0; i < got; i++) {
        tc[i].score = (float)(op->w_text * tc[i].score);
        tc[i].reason = query ? REASON_QUERY_MATCH : REASON_SIMILAR_TEXT;
        tc[i].because = (!query && s != NULL && s->n_items > 0) ? s->items[s->n_items - 1] : -1;
    }
    *got_out = got;
    return RECD_OK;
}

/* Matrix factorisation: u·Q[j] + (Wᵀu)·e_j + b_j of the session's user factor, min-max scaled
 * over the n_all candidates, times w_mf added to their scores. RECD_OK or RECD_ENOMEM. */
static inline int mf_blend(struct rerank *op, struct recd_batch *b, struct cand *cs, size_t n_all,
                           const struct recd_session *s)
{
    struct mf_text t = { NULL, 0, 0 };
    float *mfs = recd_arena_alloc(b->arena, n_all * sizeof(float)), lo = INFINITY, hi = -INFINITY;
    size_t i;

    if (mfs == NULL) {
        return RECD_ENOMEM;
    }
    if (op->embed != NULL) {
        t.v = recd_embed_items(op->embed, &t.rows);
        t.tdim = recd_embed_dim(op->embed);
    }
    if (mf_user(op->sr->mf, s->items, s->n_items, &t, op->mf_u, op->mf_ut) == 0) {
        for (i = 0; i < n_all && i < RR_PREFETCH; i++) {
            mf_prefetch(op->sr->mf, cs[i].item);
        }
        for (i = 0; i < n_all; i++) {
            if (i + RR_PREFETCH < n_all) {
                mf_prefetch(op->sr->mf, cs[i + RR_PREFETCH].item);
            }
            mfs[i] = mf_score(op->sr->mf, op->mf_u, op->mf_ut, cs[i].item, &t);
            lo = fminf(lo, mfs[i]);
            hi = fmaxf(hi, mfs[i]);
        }
        for (i = 0; hi > lo && i < n_all; i++) {
            cs[i].score += (float)(op->w_mf * (mfs[i] - lo) / (hi - lo));
        }
    }
    return RECD_OK;
}

/* MMR, incremental: maxsim[i] = similarity of candidate i to the closest item picked so far,
 * updated against each newly picked item only. Candidates are sorted by score, so rel[i] =
 * score / top never grows with i and λ·rel[i] bounds the MMR value of every candidate from i
 * on (maxsim >= 0): the scan for the best stops there — typically after a few candidates
 * instead of all of them. Picks up to n of the nc candidates cs into r->items; their count in
 * *picked_out. RECD_OK or RECD_ENOMEM. */
static int mmr_pick(struct rerank *op, struct recd_batch *b, const struct cand *cs, size_t nc,
                    struct recd_recs *r, size_t *picked_out)
{
    float *maxsim = recd_arena_alloc(b->arena, (nc + 1) * sizeof(float));
    double *rel = recd_arena_alloc(b->arena, (nc + 1) * sizeof(double));
    /* the candidates' categories, dense (0: unknown): the similarity update below reads
     * them for every candidate after each pick, through the catalogue it was mostly cache
     * misses */
    uint32_t *leaf = recd_arena_alloc(b->arena, (nc + 1) * sizeof(uint32_t));
    uint32_t *ctop = recd_arena_alloc(b->arena, (nc + 1) * sizeof(uint32_t));
    size_t i, picked = 0;
    double top = 0;

    if (maxsim == NULL || rel == NULL || leaf == NULL || ctop == NULL) {
        return RECD_ENOMEM;
    }
    memset(op->c_taken, 0, nc);
    for (i = 0; i < nc; i++) {
        const struct recd_item_meta *m = recd_catalog_meta(op->cat, cs[i].item);

        top = fmax(top, (double)cs[i].score);
        maxsim[i] = 0;
        leaf[i] = m != NULL ? m->cat_leaf : 0;
        ctop[i] = m != NULL ? m->cat_top : 0;
    }
    for (i = 0; i < nc; i++) {
        rel[i] = top > 0 ? cs[i].score / top : 0;
    }
    const double lam = op->mmr_lambda;
    const uint8_t *taken = op->c_taken;

    while (picked < (size_t)op->n && picked < nc) {
        size_t best = nc;
        double best_v = -INFINITY;

        for (i = 0; i < nc; i++) {
            double v;

            if (taken[i]) {
                continue;
            }
            if (lam >= 1.0) {
                best = i; /* no diversity: the first untaken is the best */
                break;
            }
            if (best < nc && lam * rel[i] <= best_v) {
                break; /* no candidate from i on can beat best_v */
            }
            v = lam * rel[i] - (1.0 - lam) * maxsim[i];
            if (v > best_v) { /* candidates arrive best first: ties keep the earlier */
                best_v = v;
                best = i;
            }
        }
        if (best == nc) {
            break;
        }
        op->c_taken[best] = 1;
        op->c_picked[picked] = cs[best].item;
        r->items[picked].item_id = recd_catalog_item_id(op->cat, cs[best].item);
        r->items[picked].score = cs[best].score;
        r->items[picked].reason =
            reason_name[cs[best].reason <= REASON_QUERY_MATCH ? cs[best].reason : 0];
        r->items[picked].because_item_id = cs[best].because >= 0
            ? recd_catalog_item_id(op->cat, cs[best].because)
            : NULL;
        picked++;
        if (op->mmr_lambda < 1.0 && leaf[best] != 0) {
            /* branch-free over all candidates, so that it vectorises: the taken ones get
             * a maxsim too, which nothing reads (the scan above skips them) */
            const uint32_t pl = leaf[best], pt = ctop[best];
            const uint32_t *restrict lf = leaf, *restrict ct = ctop;
            float *restrict ms = maxsim;

            for (i = 0; i < nc; i++) {
                /* 1 same leaf category (pl != 0), 0.5 same top category (known leaf), 0 */
                float same = (float)(lf[i] == pl);
                float near = 0.5f * (float)((lf[i] != 0) & (ct[i] != 0) & (ct[i] == pt));
                float x = same > near ? same : near;

                ms[i] = x > ms[i] ? x : ms[i];
            }
        }
    }
    *picked_out = picked;
    return RECD_OK;
}

/* intent: this user's text intent (dim floats) or NULL; sims: its similarity to every item
 * (rows entries, explore users only) or NULL; items: the item text matrix (rows x dim). */
static int recommend(struct rerank *op, struct recd_batch *b, const char *user, const char *trigger,
                     const float *intent, const float *sims, const float *items, size_t rows,
                     size_t dim)
{
    const struct recd_session *s = recd_sessions_get(op->sessions, user);
    const struct recd_profile *p = recd_profile_get(op->sessions, user);
    struct recd_recs *r;
    struct cand *cs;
    size_t nc, i, picked = 0, kept = 0, n_all;
    int64_t now = s ? s->last_ts : (p ? p->updated_ts : 0);

    /* unordered: sort_cands() below orders them by their final scores (a total order) */
    nc = sessrec_score_unordered(op->sr->model, s ? s->key : 0, s ? s->items : NULL,
                                 s ? s->n_items : 0, op->c_item, op->c_score, op->c_reason,
                                 op->c_because, (size_t)op->candidates);
    cs = recd_arena_alloc(b->arena, (nc + (size_t)op->text_candidates + 1) * sizeof(*cs));
    if (cs == NULL) {
        return RECD_ENOMEM;
    }
    model_candidates(op, cs, nc, intent, sims, items, rows, dim);
    n_all = nc;
    /* Text candidates cost a scan of every item's score; they matter when the session says
     * little through clicks (a query, or at most one item) — otherwise text similarity only
     * re-weights the model's candidates. */
    if (sims != NULL && op->text_candidates > 0 && op->w_text > 0 && explores(s)) {
        size_t got;

        if (text_candidates(op, cs, nc, s, sims, rows, &got) != RECD_OK) {
            return RECD_ENOMEM;
        }
        n_all += got;
    }
    if (op->sr->mf != NULL && op->w_mf > 0 && s != NULL && s->n_items > 0 && n_all > 1 &&
        mf_blend(op, b, cs, n_all, s) != RECD_OK) {
        return RECD_ENOMEM;
    }
    sort_cands(cs, n_all);
    /* filters, in place */
    for (i = 0; i < n_all; i++) {
        if (!filtered(op, cs[i].item, s, p, now)) {
            cs[kept++] = cs[i];
        }
    }
    nc = kept;
    if (order_head(op, b, cs, nc) != RECD_OK) {
        return RECD_ENOMEM;
    }
    r = recd_batch_add_output(b);
    if (r == NULL) {
        return RECD_ENOMEM;
    }
    r->user_id = user;
    r->trigger_event_id = trigger;
    r->model_version = op->model_version;
    r->items = recd_arena_alloc(b->arena, (size_t)op->n * sizeof(*r->items) + 1);
    if (r->items == NULL) {
        return RECD_ENOMEM;
    }
    if (mmr_pick(op, b, cs, nc, r, &picked) != RECD_OK) {
        return RECD_ENOMEM;
    }
    if (cold_fill(op, r, &picked, s, p, now, intent) != RECD_OK) {
        return RECD_ENOMEM;
    }
    r->n_items = (uint32_t)picked;
    return RECD_OK;
}

/* Session intent of every dirty user (last query + recent items' text vectors). The intents
 * of the users who explore (see explores()) are scored against the whole item matrix with one
 * SGEMM, for their text candidates; the others' candidates are scored by dot products in
 * recommend(). Sets op->u_row[i] for users with an intent, op->s_row[i] for SGEMM rows. */
static int text_scores(struct rerank *op, struct recd_batch *b, size_t *rows_out)
{
    size_t rows, dim, nu = 0, ne = 0, i, j;
    const float *items;

    *rows_out = 0;
    if (op->cap_u_row < b->n_dirty || op->u_row == NULL) {
        int32_t *ur = realloc(op->u_row, (b->n_dirty + 1) * sizeof(*ur));
        int32_t *sr = ur ? realloc(op->s_row, (b->n_dirty + 1) * sizeof(*sr)) : NULL;

        if (ur) {
            op->u_row = ur;
        }
        if (sr == NULL) {
            return RECD_ENOMEM;
        }
        op->s_row = sr;
        op->cap_u_row = b->n_dirty;
    }
    for (i = 0; i < b->n_dirty; i++) {
        op->u_row[i] = -1;
        op->s_row[i] = -1;
    }
    if (op->embed == NULL || op->w_text <= 0 || !recd_embed_has_items(op->embed)) {
        return RECD_OK;
    }
    items = recd_embed_items(op->embed, &rows);
    dim = recd_embed_dim(op->embed);
    {
        float *nv = grow_floats(op->u, &op->cap_u, b->n_dirty * dim);

        if (nv == NULL) {
            return RECD_ENOMEM;
        }
        op->u = nv;
    }
    if (op->qv == NULL && (op->qv = malloc(dim * sizeof(float))) == NULL) {
        return RECD_ENOMEM;
    }
    for (i = 0; i < b->n_dirty; i++) {
        const struct recd_session *s = recd_sessions_get(op->sessions, b->dirty[i]);
        float *u = op->u + nu * dim;
        double norm = 0;
        uint32_t k, from;

        if (s == NULL) {
            continue;
        }
        memset(u, 0, dim * sizeof(float));
        from = s->n_items > 5 ? s->n_items - 5 : 0;
        for (k = from; k < s->n_items; k++) { /* recent items, later ones weigh more */
            if ((size_t)s->items[k] < rows) {
                recd_la_axpy(dim, (float)(k - from + 1), items + (size_t)s->items[k] * dim, u);
            }
        }
        if (s->last_query[0] != '\0' &&
            recd_embed_query(op->embed, s->last_query, op->qv) == RECD_OK) {
            recd_la_axpy(dim, 5.0f, op->qv, u); /* the query dominates the intent */
        }
        for (j = 0; j < dim; j++) {
            norm += (double)u[j] * u[j];
        }
        if (norm <= 0) {
            continue;
        }
        recd_la_scal(dim, (float)(1.0 / sqrt(norm)), u);
        op->u_row[i] = (int32_t)nu++;
        if (explores(s) && op->text_candidates > 0) {
            op->s_row[i] = (int32_t)ne++;
        }
    }
    *rows_out = rows;
    if (ne == 0) {
        return RECD_OK;
    }
    {
        float *nv = grow_floats(op->ue, &op->cap_ue, ne * dim);

        if (nv == NULL) {
            return RECD_ENOMEM;
        }
        op->ue = nv;
    }
    for (i = 0; i < b->n_dirty; i++) {
        if (op->s_row[i] >= 0) {
            memcpy(op->ue + (size_t)op->s_row[i] * dim, op->u + (size_t)op->u_row[i] * dim,
                   dim * sizeof(float));
        }
    }
    {
        float *sm = grow_floats(op->sims, &op->cap_sims, ne * rows);

        if (sm == NULL) {
            return RECD_ENOMEM;
        }
        op->sims = sm;
    }
    {
        int64_t t0 = recd_now_mono_ns();

        /* Scores, one row per exploring user: S[e] = items · ue_e, recd_la_gemv_multi
         * (linalg.h: each user's row has the bits of its own recd_la_gemv, on every CPU and
         * whatever else shares the batch; the item matrix is read once per 8 explorers). The
         * metrics keep their names recd_rerank_sgemm_*. */
        recd_la_gemv_multi(rows, dim, items, dim, op->ue, dim, ne, op->sims, rows);
        op->sgemm_ns += recd_now_mono_ns() - t0;
        op->sgemm_flop += 2.0 * (double)ne * (double)rows * (double)dim;
        recd_metrics_add(op->metrics, "recd_rerank_sgemm_seconds_total", NULL,
                         (double)(recd_now_mono_ns() - t0) / 1e9);
        recd_metrics_add(op->metrics, "recd_rerank_sgemm_flop_total", NULL,
                         2.0 * (double)ne * (double)rows * (double)dim);
        recd_metrics_add(op->metrics, "recd_rerank_sgemm_calls_total", NULL, 1);
    }
    return RECD_OK;
}

/* ---- cold-start slots ----------------------------------------------------------------------
 * The model proposes only items with clicks (postings, transitions, co-visitation,
 * popularity), so an item nobody clicked never reaches a list through it. With cold_slots > 0
 * the rerank keeps a pool of "cold" catalogue items (in at most cold_max_sessions sessions of
 * the model, the newest cold_pool of them) and gives the last cold_slots places of a user's
 * list to the pool items whose text best matches the user's intent. Cost: per batch, a pass
 * over the pool (items that got clicks leave it) and over the catalogue rows added since the
 * last batch, and a gather of the pool's text vectors; per user with an intent, one GEMV
 * (n_cold x dim). */
static int cold_update(struct rerank *op, const float *items, size_t rows, size_t dim)
{
    size_t i, kept = 0, lim = (size_t)op->cold_pool;

    if (op->cold_slots <= 0 || items == NULL || rows == 0) {
        op->n_cold = 0; /* off (or no text yet): rebuilt when needed */
        op->cold_rows = 0;
        op->cold_built_pool = 0;
        return RECD_OK;
    }
    if (op->cold_built_max != op->cold_max_sessions || op->cold_built_pool != op->cold_pool ||
        rows < op->cold_rows) {
        op->n_cold = 0; /* settings changed: rebuild from the catalogue */
        op->cold_rows = 0;
        op->cold_built_max = op->cold_max_sessions;
        op->cold_built_pool = op->cold_pool;
    }
    for (i = 0; i < op->n_cold; i++) { /* items that got clicks (or were retired) leave */
        if (sessrec_item_sessions(op->sr->model, op->cold[i]) <= (uint64_t)op->cold_max_sessions &&
            recd_catalog_item_id(op->cat, op->cold[i]) != NULL) {
            op->cold[kept++] = op->cold[i];
        }
    }
    op->n_cold = kept;
    for (i = op->cold_rows; i < rows; i++) { /* catalogue rows new since the last batch */
        if (sessrec_item_sessions(op->sr->model, (int32_t)i) > (uint64_t)op->cold_max_sessions) {
            continue;
        }
        if (op->n_cold == op->cap_cold) {
            size_t cap = op->cap_cold ? 2 * op->cap_cold : 256;
            int32_t *c = realloc(op->cold, cap * sizeof(*c));

            if (c == NULL) {
                return RECD_ENOMEM;
            }
            op->cold = c;
            op->cap_cold = cap;
        }
        op->cold[op->n_cold++] = (int32_t)i;
    }
    op->cold_rows = rows;
    if (op->n_cold > lim) { /* keep the newest */
        memmove(op->cold, op->cold + (op->n_cold - lim), lim * sizeof(*op->cold));
        op->n_cold = lim;
    }
    if (op->n_cold == 0) {
        return RECD_OK;
    }
    {
        float *nv = grow_floats(op->cold_v, &op->cap_cold_v, op->n_cold * dim);

        if (nv == NULL) {
            return RECD_ENOMEM;
        }
        op->cold_v = nv;
    }
    {
        float *nv = grow_floats(op->cold_s, &op->cap_cold_s, op->n_cold);

        if (nv == NULL) {
            return RECD_ENOMEM;
        }
        op->cold_s = nv;
    }
    /* gathered every batch: an item's text vector may have changed */
    for (i = 0; i < op->n_cold; i++) {
        memcpy(op->cold_v + i * dim, items + (size_t)op->cold[i] * dim, dim * sizeof(float));
    }
    return RECD_OK;
}

/* Give the last places of the list r (picked entries) to the best text matches among the cold
 * pool: up to cold_slots items with cosine > 0 to the intent, not filtered and not already in
 * the list, best first (ties: smaller catalogue index). A list shorter than n is extended
 * instead of cut. Their reason is query_match / similar_text, as for text candidates. */
static int cold_fill(struct rerank *op, struct recd_recs *r, size_t *picked,
                     const struct recd_session *s, const struct recd_profile *p, int64_t now,
                     const float *intent)
{
    size_t want = (size_t)op->cold_slots, got = 0, i, j, base, dim;
    int query = s != NULL && s->last_query[0] != '\0';
    struct cand top[100];

    if (op->cold_slots <= 0 || intent == NULL || op->n_cold == 0 || op->embed == NULL) {
        return RECD_OK;
    }
    dim = recd_embed_dim(op->embed);
    want = want < (size_t)op->n ? want : (size_t)op->n;
    want = want < sizeof(top) / sizeof(top[0]) ? want : sizeof(top) / sizeof(top[0]);
    recd_la_gemv(op->n_cold, dim, op->cold_v, dim, intent, 0, op->cold_s);
    for (i = 0; i < op->n_cold; i++) {
        float v = op->cold_s[i];
        int32_t it = op->cold[i];
        int dup = 0;

        if (v <= 0 || v <= op->cold_min_sim || (got == want && v <= top[got - 1].score)) {
            continue;
        }
        for (j = 0; j < *picked && !dup; j++) {
            dup = op->c_picked[j] == it;
        }
        if (dup || filtered(op, it, s, p, now)) {
            continue;
        }
        j = got < want ? got++ : got - 1; /* insertion into the sorted top list */
        while (j > 0 && top[j - 1].score < v) {
            top[j] = top[j - 1];
            j--;
        }
        top[j].item = it;
        top[j].score = v;
    }
    base = *picked + got <= (size_t)op->n ? *picked : (size_t)op->n - got;
    for (i = 0; i < got; i++) {
        float sc = (float)(op->w_text * top[i].score);

        if (base + i > 0 && r->items[base + i - 1].score < sc) {
            sc = r->items[base + i - 1].score; /* the list stays in score order */
        }
        r->items[base + i].item_id = recd_catalog_item_id(op->cat, top[i].item);
        r->items[base + i].score = sc;
        r->items[base + i].reason = reason_name[query ? REASON_QUERY_MATCH : REASON_SIMILAR_TEXT];
        r->items[base + i].because_item_id = (!query && s != NULL && s->n_items > 0)
            ? recd_catalog_item_id(op->cat, s->items[s->n_items - 1])
            : NULL;
    }
    *picked = base + got;
    return RECD_OK;
}

static int rerank_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct rerank *op = ctx;

    for (size_t i = 0; i < b->n_events; i++) {
        const struct recd_event *ev = &b->events[i];

        if ((ev->kind == RECD_KIND_CLICK || ev->kind == RECD_KIND_PURCHASE ||
             ev->kind == RECD_KIND_QUERY) &&
            recd_batch_mark_dirty(b, ev->user_id, ev->event_id) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
        }
    }
    recd_batch_dirty_sorted(b);
    {
        size_t rows = 0, dim = 0;
        const float *items = NULL;

        if (text_scores(op, b, &rows) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
        }
        if (rows > 0) {
            items = recd_embed_items(op->embed, &rows);
            dim = recd_embed_dim(op->embed);
        }
        if (cold_update(op, items, rows, dim) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
        }
        for (size_t i = 0; i < b->n_dirty; i++) {
            const float *intent = op->u_row[i] >= 0 ? op->u + (size_t)op->u_row[i] * dim : NULL;
            const float *sims = op->s_row[i] >= 0 ? op->sims + (size_t)op->s_row[i] * rows : NULL;

            if (recommend(op, b, b->dirty[i], b->dirty_trigger[i], intent, sims, items, rows,
                          dim) != RECD_OK) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "rerank: out of memory");
            }
        }
    }
    return RECD_OK;
}

static int rerank_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    return RECD_OK; /* rerank keeps no state of its own */
}

const struct recd_operator_desc recd_op_rerank = {
    .name = "rerank",
    .description = "candidates, blend, filters, MMR diversity, top N with reasons",
    .conf = &rerank_unit,
    .init = rerank_init,
    .process = rerank_process,
    .checkpoint = rerank_checkpoint,
    .reconfigure = rerank_reconfigure,
    .fini = rerank_fini,
};
