/*
 * sgd.c — the sgd operator: online learning from every click. Its statistical core is
 * operators/sessrec (session kNN postings, decayed sequential transitions, co-visitation,
 * popularity, and a blend of those signals learned online from the stream's own next clicks),
 * offered to rerank as the service "sessrec".
 *
 * Per click, in consumption order: score the session's prefix and take one blend-learning
 * step with the clicked item as the label (sessrec_feedback), then learn the click
 * (sessrec_observe). A deletion ends the user's session in the model.
 *
 * Persistence (exactly-once, deterministic): the model lives in memory; every input it learns
 * from is appended to an event log in the MODEL column family — chunks of LOG_CHUNK events,
 * "srl" 0x00 <chunk number be64> -> LOG_CHUNK x {session key u64, item i32, ts i64} (the last
 * chunk partial) — in the batch's atomic write, so log and offsets commit together. On start
 * the model is rebuilt by replaying the log through the same code path. Chunks start at fixed
 * event numbers, not at batch starts, so the stored bytes do not depend on batch boundaries.
 * Snapshots that truncate the log are future work (see docs/ARCHITECTURE.md): the log grows by
 * 20 bytes per click and start-up replays it (~1 s per 100k clicks).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "operator.h"
#include "recd.h"
#include "sessionize.h"
#include "sgd.h"
#include "sessrec.h"
#include "state.h"

struct sgd_conf {
    int learn_blend;
    int64_t postings_cap, k_neighbors, trans_window, trans_hops;
    char *tuning;
};

static int check_tuning(const struct recd_conf_decl *d, const void *value, char *errstr,
                        size_t errlen)
{
    struct sessrec_params p;
    char err[128];

    sessrec_params_default(&p);
    if (sessrec_params_parse(&p, *(char *const *)value, err, sizeof(err)) != 0) {
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "bad parameter: %s", err);
    }
    return RECD_OK;
}

#define C(f) offsetof(struct sgd_conf, f)
static const struct recd_conf_decl sgd_decls[] = {
    {"learn_blend", RECD_CT_BOOL, "false", 1, 0, 0, C(learn_blend),
     "Learn the blend of signals online from each click's actual next item (softmax "
     "regression over the candidates; costs one scoring per click). Measured: +0.3..1.1 MRR@20, "
     "-0.4..1.2 HR@20 on three datasets (docs/QUALITY.md). Off: the fixed weights of `tuning`.",
     NULL, NULL},
    {"postings_cap", RECD_CT_INT, "100", 1, 100000, 0, C(postings_cap),
     "Most recent sessions remembered per item (session-kNN neighbour candidates).", NULL, NULL},
    {"k_neighbors", RECD_CT_INT, "100", 1, 10000, 0, C(k_neighbors),
     "Neighbour sessions kept after similarity ranking.", NULL, NULL},
    {"trans_window", RECD_CT_INT, "5", 1, 100, 0, C(trans_window),
     "a->b counts as a transition when b follows a within this many clicks of a session.",
     NULL, NULL},
    {"trans_hops", RECD_CT_INT, "5", 1, 32, 0, C(trans_hops),
     "Last session items whose successors are read for the next-item signal.", NULL, NULL},
    {"tuning", RECD_CT_STRING, "\"\"", 0, 4096, 0, C(tuning),
     "Further model parameters as \"name=value,...\" (operators/sessrec/sessrec.h lists them "
     "with their defaults), e.g. \"rec_lambda=200000,w_next=1.5\".", NULL, check_tuning},
};
#undef C

static const struct recd_conf_unit sgd_unit = {
    "operators.sgd",
    "Online learning from every click: session-kNN, sequential transitions, co-visitation, "
    "popularity, and the blend of them (operators/sessrec).",
    sgd_decls, RECD_ARRAY_SIZE(sgd_decls), sizeof(struct sgd_conf)
};

#pragma pack(push, 1)
struct log_rec {
    uint64_t session_key;
    int32_t item;            /* -1: the session ended (user forgotten) */
    int64_t ts;
};
#pragma pack(pop)

#define LOG_CHUNK 256

struct sgd {
    struct sessrec_params params;
    int learn;
    struct sessrec *model;          /* owned */
    struct recd_sessrec_ref ref;    /* offered as service "sessrec" */
    struct recd_state *state;       /* borrowed */
    uint64_t n_events;              /* events logged (committed + pending) */
    uint64_t n_committed;
    struct log_rec *pending;        /* this batch's log records */
    size_t n_pending, cap_pending;
    struct log_rec tail[LOG_CHUNK]; /* committed records of the last, partial chunk */
    struct log_rec next_tail[LOG_CHUNK]; /* the same after this batch commits */
    int32_t *scratch_items;
    int32_t *cand;                  /* learn_topn scratch */
    float *cand_score;
};

static void log_key(uint8_t key[12], uint64_t chunk)
{
    memcpy(key, "srl", 4);
    for (int i = 11; i >= 4; i--) {
        key[i] = (uint8_t)chunk;
        chunk >>= 8;
    }
}

/* The one code path for live events and log replay. */
static int apply(struct sgd *op, const struct log_rec *r)
{
    size_t n;

    if (r->item < 0) {
        sessrec_end_session(op->model, r->session_key);
        return RECD_OK;
    }
    if (op->learn) {
        n = sessrec_session_items(op->model, r->session_key, op->scratch_items,
                                  op->params.sess_items_cap);
        if (n > 0) {
            sessrec_score(op->model, r->session_key, op->scratch_items, n, op->cand,
                          op->cand_score, NULL, NULL, op->params.learn_topn);
            sessrec_feedback(op->model, r->item);
        }
    }
    return sessrec_observe(op->model, r->session_key, r->item, r->ts) == 0 ? RECD_OK : RECD_ENOMEM;
}

static int replay(struct sgd *op, char *errstr, size_t errlen)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    struct recd_buf b;
    uint64_t n = 0;
    int64_t t0 = recd_now_mono_ns();

    recd_buf_init(&b);
    if (recd_state_get(op->state, RECD_CF_MODEL, "sr.n", 4, &b) == RECD_OK && b.len == 8) {
        memcpy(&op->n_events, b.data, 8);
    }
    recd_buf_free(&b);
    if (recd_state_iter_new(op->state, RECD_CF_MODEL, "srl", 4, &it) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        size_t cnt = vl / sizeof(struct log_rec);

        if (vl % sizeof(struct log_rec) != 0 || cnt == 0 || cnt > LOG_CHUNK) {
            recd_state_iter_destroy(it);
            return recd_seterr(errstr, errlen, RECD_ESTATE, "sgd: corrupt event log chunk");
        }
        for (size_t j = 0; j < cnt; j++) {
            struct log_rec r;

            memcpy(&r, (const char *)v + j * sizeof(r), sizeof(r));
            if (apply(op, &r) != RECD_OK) {
                recd_state_iter_destroy(it);
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
            }
            if (cnt < LOG_CHUNK) {
                op->tail[j] = r;     /* the last chunk may be partial: keep it for appends */
            }
        }
        n += cnt;
    }
    recd_state_iter_destroy(it);
    if (n != op->n_events) {
        return recd_seterr(errstr, errlen, RECD_ESTATE,
                           "sgd: event log has %llu entries, %llu expected",
                           (unsigned long long)n, (unsigned long long)op->n_events);
    }
    op->n_committed = op->n_events;
    RLOG_INFO(RECD_LOG_OPERATOR, "sgd: model rebuilt from %llu logged events in %.2f s",
              (unsigned long long)n, (double)(recd_now_mono_ns() - t0) / 1e9);
    return RECD_OK;
}

static void sgd_fini(void *ctx)
{
    struct sgd *op = ctx;

    if (op == NULL) {
        return;
    }
    sessrec_destroy(op->model);
    free(op->pending);
    free(op->scratch_items);
    free(op->cand);
    free(op->cand_score);
    free(op);
}

static int build(struct sgd *op, char *errstr, size_t errlen)
{
    sessrec_destroy(op->model);
    op->model = sessrec_new(&op->params);
    op->ref.model = op->model;
    op->n_events = op->n_committed = 0;
    if (op->model == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: cannot create the model");
    }
    return replay(op, errstr, errlen);
}

static int sgd_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                    size_t errlen)
{
    const struct sgd_conf *c = conf;
    struct sgd *op = calloc(1, sizeof(*op));
    char err[128];
    int rc;

    if (op == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
    }
    if (recd_services_get(env->services, "sessions") == NULL) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operator sgd needs sessionize before it in pipeline.chain");
    }
    sessrec_params_default(&op->params);
    op->params.postings_cap = (uint32_t)c->postings_cap;
    op->params.k_neighbors = (uint32_t)c->k_neighbors;
    op->params.trans_window = (uint32_t)c->trans_window;
    op->params.trans_hops = (uint32_t)c->trans_hops;
    op->params.learn_blend = c->learn_blend ? 1 : 0;
    if (sessrec_params_parse(&op->params, c->tuning, err, sizeof(err)) != 0) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG, "operators.sgd.tuning: %s", err);
    }
    op->learn = op->params.learn_blend != 0;
    op->state = env->state;
    op->scratch_items = calloc(op->params.sess_items_cap + 1, sizeof(int32_t));
    op->cand = calloc(op->params.learn_topn + 1, sizeof(int32_t));
    op->cand_score = calloc(op->params.learn_topn + 1, sizeof(float));
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

static int sgd_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct sgd *op = ctx;

    for (size_t i = 0; i < b->n_events; i++) {
        const struct recd_event *ev = &b->events[i];
        struct log_rec r;

        memset(&r, 0, sizeof(r));
        if (ev->kind == RECD_KIND_CLICK && ev->item_idx >= 0 && ev->session_key != 0) {
            r.session_key = ev->session_key;
            r.item = ev->item_idx;
            r.ts = ev->ts_ms;
        } else if (ev->kind == RECD_KIND_DELETION && ev->session_key != 0) {
            r.session_key = ev->session_key;
            r.item = -1;
            r.ts = ev->ts_ms;
        } else {
            continue;
        }
        if (apply(op, &r) != RECD_OK || push(op, &r) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "sgd: out of memory");
        }
    }
    return RECD_OK;
}

static int sgd_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct sgd *op = ctx;
    uint8_t key[12];
    int rc = RECD_OK;

    /* rewrite the partial chunk (committed tail + new) and write the chunks that follow */
    {
        uint64_t first = op->n_committed, chunk = first / LOG_CHUNK;
        size_t in_tail = (size_t)(first % LOG_CHUNK), done = 0;
        struct log_rec buf[LOG_CHUNK];

        while (rc == RECD_OK && done < op->n_pending) {
            size_t fill = 0, take;

            if (in_tail > 0) {
                memcpy(buf, op->tail, in_tail * sizeof(buf[0]));
                fill = in_tail;
                in_tail = 0;
            }
            take = LOG_CHUNK - fill;
            if (take > op->n_pending - done) {
                take = op->n_pending - done;
            }
            memcpy(buf + fill, op->pending + done, take * sizeof(buf[0]));
            fill += take;
            done += take;
            log_key(key, chunk);
            rc = recd_txn_put(b->txn, RECD_CF_MODEL, key, sizeof(key), buf, fill * sizeof(buf[0]));
            if (fill < LOG_CHUNK) {
                memcpy(op->next_tail, buf, fill * sizeof(buf[0]));   /* becomes tail on commit */
            }
            chunk++;
        }
    }
    if (rc == RECD_OK && op->n_pending > 0) {
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, "sr.n", 4, &op->n_events, sizeof(op->n_events));
    }
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "sgd: checkpoint: %s", recd_strerror(rc));
    }
    return RECD_OK;
}

static void sgd_committed(void *ctx, int ok)
{
    struct sgd *op = ctx;
    char err[256];

    op->n_pending = 0;
    if (ok) {
        if (op->n_events != op->n_committed) {   /* next_tail was written by this checkpoint */
            memcpy(op->tail, op->next_tail, (op->n_events % LOG_CHUNK) * sizeof(op->tail[0]));
        }
        op->n_committed = op->n_events;
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
    .fini = sgd_fini,
};
