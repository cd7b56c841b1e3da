/*
 * sgd.c — the sgd operator: online learning from every click. Its statistical core is
 * models/sessrec (session kNN postings, decayed sequential transitions, co-visitation,
 * popularity, and a blend of those signals learned online from the stream's own next clicks),
 * offered to rerank as the service "sessrec".
 *
 * Per click, in consumption order: score the session's prefix and take one blend-learning
 * step with the clicked item as the label (sessrec_feedback), then learn the click
 * (sessrec_observe). A deletion ends every session the user had in the model (an expiry,
 * pipeline.user_ttl_days, leaves them to max_sessions).
 *
 * Matrix factorisation (models/mf/mf.c, offered with the model as service "sessrec"):
 * clicks, carts and purchases, each with its event-type weight, take BPR steps with
 * deterministically sampled negatives from the session's items before them to the item; item
 * factors are tied to the embed operator's text vectors by a learned projection, so an item
 * nobody clicked yet is scored through its text. MF learns from the same event log (a purchase
 * line is logged as its own entry, kind in the item's top bits).
 *
 * Persistence (exactly-once, deterministic; sgd_store.c): the model lives in memory; every
 * input it learns from is appended to an event log in the MODEL column family in the batch's
 * atomic write, and the model is snapshotted into a blob file at positions that depend only
 * on the event sequence (every snapshot_every logged events, by a forked child; after each
 * deletion, at once), the log before a snapshot deleted when its descriptor commits. A start
 * loads the snapshot and replays the log after it through the same code path.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "operator.h"
#include "recd.h"
#include "services/catalog.h"
#include "services/embed.h"
#include "services/sessrec.h"
#include "mf.h"
#include "sgd.h"
#include "sessrec.h"
#include "sessrec_params.h"
#include "state.h"
#include "sgd_internal.h"

/* The unit's struct: one member per key. The model's keys are generated from its parameter
 * table (models/sessrec/sessrec_params.h) and the MF table (sgd.h). */
struct sgd_conf {
#define MU(name, field, def, lo, hi, desc) int64_t name;
#define MF(name, field, def, lo, hi, desc) double name;
#define MB(name, field, def, lo, hi, desc) int name;
#define ME(name, field, def, lo, hi, desc) char *name;
    SESSREC_PARAM_TABLE(MU, MF, MB, ME)
    SGD_MF_PARAM_TABLE(MU, MF)
#undef MU
#undef MF
#undef MB
#undef ME
    int mf, mf_text;
    double weight_click, weight_cart, weight_purchase;
    int64_t snapshot_every, snapshot_commit_after, snapshot_at_stop;
    int learn_blend, learn_order;   /* deprecated: learning */
    char *tuning;                   /* deprecated: the keys */
};

static const char *const learning_choices[] = SESSREC_LEARNING_NAMES;

/* ---- deprecated keys: still read, with a warning naming their replacement ---------------- */

static int check_learn_blend(const struct recd_conf_decl *d, const void *value, char *errstr,
                             size_t errlen)
{
    (void)d, (void)errstr, (void)errlen;
    if (*(const int *)value) {
        RLOG_WARN(RECD_LOG_CONFIG,
                  "operators.sgd.learn_blend is deprecated: write "
                  "operators.sgd.learning = \"blend\" instead");
    }
    return RECD_OK;
}

static int check_learn_order(const struct recd_conf_decl *d, const void *value, char *errstr,
                             size_t errlen)
{
    (void)d, (void)errstr, (void)errlen;
    if (!*(const int *)value) {
        RLOG_WARN(RECD_LOG_CONFIG,
                  "operators.sgd.learn_order is deprecated: write "
                  "operators.sgd.learning = \"fixed\" (or \"blend_and_order\") instead");
    }
    return RECD_OK;
}

static int check_tuning(const struct recd_conf_decl *d, const void *value, char *errstr,
                        size_t errlen)
{
    const char *tuning = *(char *const *)value;
    struct sessrec_params p;
    char err[128];
    struct sessrec *m;

    (void)d;
    if (tuning[0] == '\0') {
        return RECD_OK;
    }
    sessrec_params_default(&p);
    if (sessrec_params_parse(&p, tuning, err, sizeof(err)) != 0) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "bad parameter: %s", err);
    }
    /* the values' ranges and combinations: the model refuses what it cannot take (an empty
     * model is small) */
    m = sessrec_new(&p);
    if (m == NULL) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "parameters out of range or too large to allocate (sessrec.h: e.g. "
                           "learn_blend <= 2, caps <= 65535)");
    }
    sessrec_destroy(m);
    RLOG_WARN(RECD_LOG_CONFIG,
              "operators.sgd.tuning is deprecated: write each parameter as its "
              "own key of operators.sgd instead (e.g. tuning = \"w_next=0.3\" becomes "
              "w_next = 0.3;)");
    return RECD_OK;
}

static int check_snapshot_every(const struct recd_conf_decl *d, const void *value, char *errstr,
                                size_t errlen)
{
    (void)d;
    if (*(const int64_t *)value % LOG_CHUNK != 0) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "must be a multiple of %d (a snapshot starts a log chunk)", LOG_CHUNK);
    }
    return RECD_OK;
}

#define C(f) offsetof(struct sgd_conf, f)
#define RU(name, field, def, lo, hi, desc) \
    { #name, RECD_CT_INT, #def, lo, hi, 0, C(name), desc, NULL, NULL },
#define RF(name, field, def, lo, hi, desc) \
    { #name, RECD_CT_DOUBLE, #def, lo, hi, 0, C(name), desc, NULL, NULL },
#define RB(name, field, def, lo, hi, desc) \
    { #name, RECD_CT_BOOL, #def, 1, 0, 0, C(name), desc, NULL, NULL },
#define RE(name, field, def, lo, hi, desc) \
    { #name, RECD_CT_STRING, "\"" def "\"", 1, 32, 0, C(name), desc, learning_choices, NULL },
/* the X-macro tables expand to elements clang-format cannot see */
/* clang-format off */
static const struct recd_conf_decl sgd_decls[] = {
    SESSREC_PARAM_TABLE(RU, RF, RB, RE)
    {"mf", RECD_CT_BOOL, "true", 1, 0, 0, C(mf),
     "Learn matrix factorisation (user factor folded from the session's recent items, item "
     "factors, BPR loss with sampled negatives) from every click, cart and purchase; rerank "
     "blends its score with weight operators.rerank.w_mf (its gain: docs/QUALITY.md).",
     NULL, NULL},
    {"mf_text", RECD_CT_BOOL, "true", 1, 0, 0, C(mf_text),
     "Tie item factors to the embed operator's text vectors through a learned projection "
     "(when embed runs before sgd): items without clicks are scored by their text.", NULL, NULL},
    SGD_MF_PARAM_TABLE(RU, RF)
    {"weight_click", RECD_CT_DOUBLE, "1.0", 0.001, 100, 0, C(weight_click),
     "Weight of a view click in the MF loss.", NULL, NULL},
    {"weight_cart", RECD_CT_DOUBLE, "2.0", 0.001, 100, 0, C(weight_cart),
     "Weight of an add-to-cart click in the MF loss.", NULL, NULL},
    {"weight_purchase", RECD_CT_DOUBLE, "3.0", 0.001, 100, 0, C(weight_purchase),
     "Weight of a purchased item (each order line) in the MF loss.", NULL, NULL},
    {"snapshot_every", RECD_CT_INT, "131072", 512, 1099511627776LL, 0, C(snapshot_every),
     "Snapshot the model after every this many logged events (a multiple of 256): a child "
     "process writes it beside the state while the batches go on, and the event log before "
     "it is deleted when it commits. A start after a crash loads the snapshot and replays at "
     "most this many events plus snapshot_commit_after (7-10 us each); each snapshot writes "
     "the whole model, so a larger value writes proportionally less. After each user "
     "deletion the model is also snapshotted, at once.", NULL, check_snapshot_every},
    {"snapshot_commit_after", RECD_CT_INT, "32768", 256, 1099511627776LL, 0,
     C(snapshot_commit_after),
     "Logged events between the start of a snapshot and the batch that commits it (which "
     "waits for the snapshot's writer if it has not finished by then). Must be less than "
     "snapshot_every.", NULL, NULL},
    {"snapshot_at_stop", RECD_CT_INT, "16384", 0, 1099511627776LL, 0, C(snapshot_at_stop),
     "A clean stop (SIGTERM) with at least this many events logged after the last snapshot "
     "writes a warm-start image of the model beside the state (about the snapshot's size, at "
     "disk speed); the next start loads it instead of replaying those events, if the state is "
     "still the one it was written from. It is not part of the stored state (nor of its "
     "digest). 0: never.", NULL, NULL},
    {"learn_blend", RECD_CT_BOOL, "false", 1, 0, 0, C(learn_blend),
     "Deprecated, use learning: true is learning = \"blend\".", NULL, check_learn_blend},
    {"learn_order", RECD_CT_BOOL, "true", 1, 0, 0, C(learn_order),
     "Deprecated, use learning: false is learning = \"fixed\" (unless learn_blend), true "
     "changes nothing.", NULL, check_learn_order},
    {"tuning", RECD_CT_STRING, "\"\"", 0, 4096, 0, C(tuning),
     "Deprecated, use the keys above: \"name=value,...\" of those keys, applied over them.",
     NULL, check_tuning},
};
/* clang-format on */
#undef RU
#undef RF
#undef RB
#undef RE
#undef C

static const struct recd_conf_unit sgd_unit = {
    "operators.sgd",
    "Online learning from every click: session-kNN, sequential transitions, co-visitation, "
    "popularity, and the blend of them (models/sessrec).",
    sgd_decls, RECD_ARRAY_SIZE(sgd_decls), sizeof(struct sgd_conf)
};

void sgd_retire_flush(struct sgd *op)
{
    int32_t *v = op->retiring;
    size_t n = op->n_retiring;
    int64_t t0;

    if (n == 0) {
        return;
    }
    t0 = recd_now_mono_ns();
    for (size_t i = 1; i < n; i++) { /* ascending (insertion sort: few, and no allocation) */
        int32_t x = v[i];
        size_t j = i;

        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    sessrec_retire_items(op->model, v, n);
    if (op->mf != NULL) {
        mf_retire_items(op->mf, v, n);
    }
    op->n_retiring = 0;
    op->retired_batch += n;
    op->retired_batch_ns += recd_now_mono_ns() - t0;
}

/* The one code path for live events and log replay. */
int sgd_apply(struct sgd *op, const struct log_rec *r)
{
    size_t n = 0;
    int32_t item = r->item & LOG_ITEM_MASK;
    int kind = (r->item >> 28) & 7;

    if (r->item >= 0 && kind == LOG_RETIRE) {
        if (op->n_retiring == op->cap_retiring) {
            size_t nc = op->cap_retiring ? op->cap_retiring * 2 : 64;
            int32_t *p = realloc(op->retiring, nc * sizeof(*p));

            if (p == NULL) {
                return RECD_ENOMEM;
            }
            op->retiring = p;
            op->cap_retiring = nc;
        }
        op->retiring[op->n_retiring++] = item;
        return RECD_OK;
    }
    sgd_retire_flush(op);
    if (r->item < 0) {
        sessrec_end_session(op->model, r->session_key);
        return RECD_OK;
    }
    if (kind > LOG_PURCHASE) {
        return RECD_ESTATE;
    }
    if (op->learn || op->mf != NULL) {
        n = sessrec_session_items(op->model, r->session_key, op->scratch_items,
                                  op->params.sess_items_cap);
    }
    if (op->mf != NULL) {
        struct mf_text t = { NULL, 0, 0 };

        if (op->embed != NULL) {
            t.v = recd_embed_items(op->embed, &t.rows);
            t.tdim = recd_embed_dim(op->embed);
        }
        if (mf_learn(op->mf, op->scratch_items, n, item, op->weight[kind], &t) != 0) {
            return RECD_ENOMEM;
        }
    }
    if (kind == LOG_PURCHASE) {
        return RECD_OK;   /* purchases teach MF only; the session model learns clicks */
    }
    if (op->learn && n > 0 && sessrec_wants_feedback(op->model, r->session_key)) {
        sessrec_score(op->model, r->session_key, op->scratch_items, n, op->cand, op->cand_score,
                      NULL, NULL,
                      op->params.learning == SESSREC_LEARN_BLEND_AND_ORDER ? op->params.order_top
                                                                           : op->params.learn_topn);
        sessrec_feedback(op->model, item);
    }
    return sessrec_observe(op->model, r->session_key, item, r->ts) == 0 ? RECD_OK : RECD_ENOMEM;
}

static void sgd_fini(void *ctx)
{
    struct sgd *op = ctx;

    if (op == NULL) {
        return;
    }
    sessrec_destroy(op->model);
    mf_destroy(op->mf);
    free(op->pending);
    free(op->scratch_items);
    free(op->cand);
    free(op->cand_score);
    free(op->retiring);
    sgd_store_abort(op);
    sgd_store_committed(op, 0);
    free(op);
}

int sgd_model_new(struct sgd *op, struct sessrec **model, struct mf **mf)
{
    *model = sessrec_new(&op->params);
    *mf = NULL;
    if (*model == NULL) {
        return RECD_ENOMEM;
    }
    if (op->mf_params.dim > 0) {
        *mf = mf_new(&op->mf_params, op->embed != NULL ? recd_embed_dim(op->embed) : 0);
        if (*mf == NULL) {
            sessrec_destroy(*model);
            *model = NULL;
            return RECD_ENOMEM;
        }
    }
    return RECD_OK;
}

/* the model from the state store: the newest snapshot and the log after it */
static int build(struct sgd *op, char *errstr, size_t errlen)
{
    int rc;

    op->n_retiring = 0;
    rc = sgd_store_load(op, errstr, errlen);
    op->retired_batch = 0; /* (what the replay dropped is not a batch's) */
    op->retired_batch_ns = 0;

    op->ref.model = op->model;
    op->ref.mf = op->mf;
    return rc;
}

int sgd_model_params(const void *conf, struct sessrec_params *out, char *errstr, size_t errlen)
{
    const struct sgd_conf *c = conf;
    enum sessrec_learning by_old;
    char err[128];

    sessrec_params_default(out);   /* the same table: the keys below set every field */
#define SU(name, field, def, lo, hi, desc) out->field = (uint32_t)c->name;
#define SF(name, field, def, lo, hi, desc) out->field = (float)c->name;
#define SB(name, field, def, lo, hi, desc) out->field = c->name != 0;
#define SE(name, field, def, lo, hi, desc)                                           \
    if (sessrec_learning_from_name(c->name, &out->field) != 0) {                     \
        return recd_seterr(errstr, errlen, RECD_ECONFIG,                             \
                           "operators.sgd." #name ": unknown mode \"%s\"", c->name); \
    }
    SESSREC_PARAM_TABLE(SU, SF, SB, SE)
#undef SU
#undef SF
#undef SB
#undef SE
    /* deprecated learn_blend / learn_order: in effect when not at their old defaults (false /
     * true); then `learning` must be left at its default or say the same */
    if (c->learn_blend || !c->learn_order) {
        struct sessrec_params d;

        by_old = c->learn_blend ? SESSREC_LEARN_BLEND : SESSREC_LEARN_FIXED;
        sessrec_params_default(&d);
        if (out->learning != d.learning && out->learning != by_old) {
            return recd_seterr(errstr, errlen, RECD_ECONFIG,
                               "operators.sgd.%s (deprecated) contradicts operators.sgd.learning "
                               "= \"%s\": remove it",
                               c->learn_blend ? "learn_blend" : "learn_order",
                               sessrec_learning_name(out->learning));
        }
        out->learning = by_old;
    }
    if (sessrec_params_parse(out, c->tuning, err, sizeof(err)) != 0) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "operators.sgd.tuning: %s", err);
    }
    return RECD_OK;
}

static int sgd_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                    size_t errlen)
{
    const struct sgd_conf *c = conf;
    struct sgd *op = calloc(1, sizeof(*op));
    int rc;

    if (op == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    if (recd_services_get(env->services, "sessions") == NULL) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operator sgd needs sessionize before it in pipeline.chain");
    }
    if ((rc = sgd_model_params(c, &op->params, errstr, errlen)) != RECD_OK) {
        free(op);
        return rc;
    }
    op->learn = op->params.learning != SESSREC_LEARN_FIXED;
    op->state = env->state;
    op->cat = recd_services_get(env->services, "catalog");
    if (c->mf) {
        sgd_mf_params_default(&op->mf_params);
#define SU(name, field, def, lo, hi, desc) op->mf_params.field = (uint32_t)c->name;
#define SF(name, field, def, lo, hi, desc) op->mf_params.field = (float)c->name;
        SGD_MF_PARAM_TABLE(SU, SF)
#undef SU
#undef SF
        if (c->mf_text) {
            op->embed = recd_services_get(env->services, "embed");   /* optional */
        }
    }
    op->snapshot_every = (uint64_t)c->snapshot_every;
    op->snapshot_delay = (uint64_t)c->snapshot_commit_after;
    op->warm_min = (uint64_t)c->snapshot_at_stop;
    op->metrics = env->metrics;
    if (op->metrics != NULL) {
        recd_metrics_declare(op->metrics, "recd_model_start_replayed_events", RECD_M_GAUGE,
                             "Logged events the model replayed at the start.");
        recd_metrics_declare(op->metrics, "recd_model_start_warm", RECD_M_GAUGE,
                             "1 when the model started from the warm-start image of the last "
                             "stop (operators.sgd.snapshot_at_stop), 0 when from its snapshot "
                             "and log.");
    }
    op->job.report_fd = op->ready.report_fd = -1;
    if (c->snapshot_commit_after >= c->snapshot_every) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operators.sgd.snapshot_commit_after (%lld) must be less than "
                           "snapshot_every (%lld)",
                           (long long)c->snapshot_commit_after, (long long)c->snapshot_every);
    }
    if ((rc = recd_state_blob_dir_make(op->state, errstr, errlen)) != RECD_OK) {
        free(op);
        return rc;
    }
    op->weight[LOG_CLICK] = (float)c->weight_click;
    op->weight[LOG_CART] = (float)c->weight_cart;
    op->weight[LOG_PURCHASE] = (float)c->weight_purchase;
    op->scratch_items = calloc(op->params.sess_items_cap + 1, sizeof(int32_t));
    op->cand = calloc((size_t)op->params.learn_topn + op->params.order_top + 1, sizeof(int32_t));
    op->cand_score = calloc((size_t)op->params.learn_topn + op->params.order_top + 1,
                            sizeof(float));
    if (op->scratch_items == NULL || op->cand == NULL || op->cand_score == NULL) {
        sgd_fini(op);
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    rc = build(op, errstr, errlen);
    if (rc != RECD_OK || recd_services_put(env->services, "sessrec", &op->ref) != RECD_OK) {
        sgd_fini(op);
        return rc != RECD_OK ? rc : recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    *ctx = op;
    return RECD_OK;
}

static int push(struct sgd *op, const struct log_rec *r)
{
    if (op->n_pending == op->cap_pending) {
        size_t nc = op->cap_pending ? op->cap_pending * 2 : 1024;
        struct log_rec *p = realloc(op->pending, nc * sizeof(*p));

        if (p == NULL) {
            return RECD_ENOMEM;
        }
        op->pending = p;
        op->cap_pending = nc;
    }
    op->pending[op->n_pending++] = *r;
    op->n_events++;
    return RECD_OK;
}

/* The log records of one event, pushed to the pending list: a click (its kind in the item's
 * top bits), each order line of a purchase (MF learns from them), the end of each of a
 * forgotten user's sessions. */
static int derive(struct sgd *op, const struct recd_event *ev)
{
    struct log_rec r;

    memset(&r, 0, sizeof(r));
    r.ts = ev->ts_ms;
    for (uint32_t k = 0; k < ev->n_retired; k++) { /* before the event (sessionize) */
        if (ev->retired[k] >= 0 && ev->retired[k] <= LOG_ITEM_MASK) {
            r.item = ev->retired[k] | LOG_RETIRE << 28;
            if (push(op, &r) != RECD_OK) {
                return RECD_ENOMEM;
            }
        }
    }
    if (ev->kind == RECD_KIND_CLICK && ev->item_idx >= 0 && ev->item_idx <= LOG_ITEM_MASK &&
        ev->session_key != 0) {
        r.session_key = ev->session_key;
        r.item = ev->item_idx | (ev->u.click.type == RECD_CLICK_CART ? LOG_CART << 28 : 0);
        return push(op, &r);
    }
    if (ev->kind == RECD_KIND_PURCHASE && op->mf != NULL && op->cat != NULL &&
        ev->session_key != 0) {
        for (uint32_t j = 0; j < ev->u.purchase.n_lines; j++) {
            int32_t idx = recd_catalog_find(op->cat, ev->u.purchase.lines[j].item_id);

            if (idx < 0 || idx > LOG_ITEM_MASK) {
                continue;
            }
            r.session_key = ev->session_key;
            r.item = idx | LOG_PURCHASE << 28;
            if (push(op, &r) != RECD_OK) {
                return RECD_ENOMEM;
            }
        }
        return RECD_OK;
    }
    if (ev->kind == RECD_KIND_DELETION && !ev->u.deletion.expired) {
        /* every session the user had (numbered 1..n_sessions), the current one last (an
         * expired user's sessions stay: they are old, and max_sessions bounds them) */
        r.item = -1;
        for (uint32_t n = 1; n <= ev->u.deletion.n_sessions; n++) {
            r.session_key = recd_session_key(ev->user_id, n);
            if (r.session_key != ev->session_key && push(op, &r) != RECD_OK) {
                return RECD_ENOMEM;
            }
        }
        if (ev->session_key != 0) {
            r.session_key = ev->session_key;
            return push(op, &r);
        }
    }
    return RECD_OK;
}

/* Learn the batch. Its log records are derived first, then learned in order; after each
 * record the store decides on snapshots (sgd_store_after: a multiple of snapshot_every starts
 * one, its commit point waits for it), and after the last record of the batch that ends a
 * forgotten user's session (not an expired one's) the model is snapshotted at once, so that
 * the log before it goes with the deletion. Every position is a function of the event
 * sequence, so the stored state does not depend on batch boundaries. */
static int sgd_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct sgd *op = ctx;
    size_t from = op->n_pending, at = SIZE_MAX;
    uint64_t first;

    for (size_t i = 0; i < b->n_events; i++) {
        if (derive(op, &b->events[i]) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
        }
    }
    first = op->n_events - (op->n_pending - from); /* events before this call's records */
    for (size_t j = from; j < op->n_pending; j++) {
        if (op->pending[j].item < 0) {
            at = j;
        }
    }
    for (size_t j = from; j < op->n_pending; j++) {
        int rc = sgd_apply(op, &op->pending[j]);

        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
        }
        rc = sgd_store_after(op, first + (j - from) + 1, j == at);
        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, rc,
                               "sgd: cannot snapshot the model after a "
                               "deletion: %s",
                               recd_strerror(rc));
        }
    }
    sgd_retire_flush(op); /* before the operators after this one score */
    if (op->retired_batch > 0) {
        RLOG_INFO(RECD_LOG_OPERATOR, "sgd: %zu retired items dropped from the model in %.1f ms",
                  op->retired_batch, (double)op->retired_batch_ns / 1e6);
        op->retired_batch = 0;
        op->retired_batch_ns = 0;
    }
    return RECD_OK;
}

static int sgd_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    return sgd_store_checkpoint(ctx, b->txn, errstr, errlen);
}

static int sgd_stop(void *ctx, char *errstr, size_t errlen)
{
    return sgd_store_stop(ctx, errstr, errlen);
}

static void sgd_committed(void *ctx, int ok)
{
    struct sgd *op = ctx;
    char err[256];

    sgd_store_committed(op, ok);
    if (ok) {
        return;
    }
    /* the in-memory model learned events that were not committed: rebuild it */
    if (build(op, err, sizeof(err)) != RECD_OK) {
        RLOG_ERR(RECD_LOG_OPERATOR, "%s", err);
    }
}

const struct recd_operator_desc recd_op_sgd = {
    .name = "sgd",
    .description = "online learning: session kNN, transitions, co-visitation, learned blend",
    .conf = &sgd_unit,
    .init = sgd_init,
    .process = sgd_process,
    .checkpoint = sgd_checkpoint,
    .committed = sgd_committed,
    .stop = sgd_stop,
    .fini = sgd_fini,
};
