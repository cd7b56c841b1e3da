/* pipeline.c — see pipeline.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "codec.h"
#include "log.h"
#include "metrics.h"
#include "operator.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"
#include "strmap.h"
#include "units.h"

struct op_inst {
    const struct recd_operator_desc *desc;  /* static */
    void *ctx;                              /* owned via desc->fini */
};

struct offset_ent {
    const char *topic;   /* borrowed from the raw records' topic (config strings) */
    int32_t partition;
    int64_t next;
};

struct recd_pipeline {
    const struct recd_conf *conf;        /* borrowed; replaced by reconfigure */
    struct recd_state *state;            /* borrowed */
    struct recd_metrics *metrics;        /* borrowed, may be NULL */
    struct recd_codec *codec;            /* borrowed; its string cap follows vconf */
    struct recd_validate_conf vconf;
    struct op_inst *ops;                 /* owned, n_ops */
    struct recd_services *services;      /* owned */
    size_t n_ops;
    struct recd_arena *arena;            /* owned, reset per batch */
    struct recd_txn *txn;                /* owned, cleared per batch */
    struct recd_batch batch;             /* arrays owned */
    struct recd_event *events;           /* owned, cap_events */
    size_t cap_events;
    struct recd_strmap *seq;             /* user_id -> int64_t* (this batch) */
    struct recd_strmap *lists;           /* user_id -> struct list_digest (arena) or &no_list,
                                            for online_quality (this batch) */
    struct offset_ent *offs;             /* owned */
    size_t n_offs, cap_offs;
    struct recd_buf key, val, enc;       /* scratch */
    char model_version[128];
    struct recd_pipeline_stats stats;
    size_t batch_ne;                     /* valid events in the current batch */
    uint64_t batch_no;                   /* number of the batch being run (outbox keys) */
    uint64_t *acked;                     /* owned: batches acknowledged, outbox not yet removed */
    size_t n_acked, cap_acked;
    struct recd_buf outbox;              /* scratch: the users published in the batch */
    double q_scored, q_hits, q_rr;       /* online quality since start */
    /* user expiry (pipeline.user_ttl_days) */
    int64_t hwm, hwm_next;               /* event-time high-water mark: committed, this batch */
    int64_t stage_cpu_ns;                /* the loop thread's CPU clock at the last stage() */
    struct recd_strmap *batch_users;     /* users with events in this batch (no values) */
    struct recd_strmap *expired;         /* users expired in this batch (no values) */
    int64_t uexp_swept;                  /* activity-index hours before this one were visited
                                            (and deleted) since the start: the next sweep seeks
                                            past their tombstones */
    /* scale-out (kafka.learn_from = "all") */
    struct recd_strmap *silent;          /* users with only silent events in this batch */
    struct recd_strmap *republish;       /* users whose lists the next batch publishes again */
    int (*owns_user)(void *ctx, const char *user_id); /* NULL: every user is published here */
    void *owns_ctx;                      /* borrowed */
};

/* A user's event count and activity: USERS <user>\0seq = {seq i64, newest event time ms i64}
 * (an 8-byte value, written before users expired, is the count alone: activity unknown). With
 * user_ttl_days, META "uexp" 0x00 <hour of the newest event be64> <user> indexes the users by
 * activity, one entry per user. */
struct user_seq {
    int64_t seq;
    int64_t last_ts;        /* newest event time, ms (0: unknown) */
    int64_t stored_last_ts; /* as stored before this batch: the user's index entry */
};

#define UEXP_PREFIX    "uexp"
#define UEXP_PLEN      5
#define UEXP_BUCKET_MS 3600000LL

static const char *topic_of_kind(const struct recd_conf *c, int kind)
{
    const struct recd_conf_topics *t = RECD_UNIT(c, "topics", struct recd_conf_topics);

    switch (kind) {
    case RECD_KIND_CLICK:    return t->clicks;
    case RECD_KIND_PURCHASE: return t->purchases;
    case RECD_KIND_QUERY:    return t->queries;
    case RECD_KIND_ITEM:     return t->items;
    case RECD_KIND_DELETION: return t->deletions;
    default:                 return "?";
    }
}

int recd_pipeline_new(const struct recd_conf *conf, struct recd_state *st,
                      struct recd_metrics *metrics, struct recd_codec *codec,
                      struct recd_pipeline **out, char *errstr, size_t errlen)
{
    const struct recd_conf_pipeline *pc = RECD_UNIT(conf, "pipeline", struct recd_conf_pipeline);
    const struct recd_conf_daemon *dc = RECD_UNIT(conf, "daemon", struct recd_conf_daemon);
    struct recd_pipeline *p;
    struct recd_op_env env;
    size_t i;
    int rc;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
    }
    p->conf = conf;
    p->state = st;
    p->metrics = metrics;
    p->codec = codec;
    recd_config_validate_conf(conf, &p->vconf);
    recd_codec_set_string_cap(codec, recd_validate_string_cap(&p->vconf));
    snprintf(p->model_version, sizeof(p->model_version), "%s", dc->model_version);
    recd_buf_init(&p->key);
    recd_buf_init(&p->val);
    recd_buf_init(&p->enc);
    recd_buf_init(&p->outbox);
    p->arena = recd_arena_new(1u << 20);
    p->seq = recd_strmap_new(1024, free);
    p->lists = recd_strmap_new(1024, NULL);
    p->batch_users = recd_strmap_new(1024, NULL);
    p->expired = recd_strmap_new(64, NULL);
    p->silent = recd_strmap_new(1024, NULL);
    p->republish = recd_strmap_new(64, NULL);
    if (p->arena == NULL || p->seq == NULL || p->lists == NULL || p->batch_users == NULL ||
        p->expired == NULL || p->silent == NULL || p->republish == NULL || recd_txn_new(st, &p->txn) != RECD_OK) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto fail;
    }
    if (recd_state_get(st, RECD_CF_META, "pl.hwm", 6, &p->val) == RECD_OK &&
        p->val.len == sizeof(p->hwm)) {
        memcpy(&p->hwm, p->val.data, sizeof(p->hwm));
    }
    p->hwm_next = p->hwm;
    p->ops = calloc(pc->chain.n ? pc->chain.n : 1, sizeof(*p->ops));
    if (p->ops == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto fail;
    }
    p->services = recd_services_new();
    if (p->services == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
        goto fail;
    }
    env.state = st;
    env.metrics = metrics;
    env.model_version = p->model_version;
    env.services = p->services;
    for (i = 0; i < pc->chain.n; i++) {
        const struct recd_operator_desc *d = recd_operator_find(pc->chain.v[i]);
        const void *oc;
        char name[160];

        if (d == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ECONFIG,
                             "pipeline.chain: unknown operator \"%s\"", pc->chain.v[i]);
            goto fail;
        }
        snprintf(name, sizeof(name), "operators.%s", d->name);
        oc = d->conf ? recd_conf_unit_data(conf, name) : NULL;
        rc = d->init(&p->ops[i].ctx, oc, &env, errstr, errlen);
        if (rc != RECD_OK) {
            goto fail;
        }
        p->ops[i].desc = d;
        p->n_ops++;
    }
    *out = p;
    return RECD_OK;
fail:
    recd_pipeline_destroy(p);
    return rc;
}

void recd_pipeline_stop(struct recd_pipeline *p)
{
    char err[512];

    for (size_t i = 0; i < p->n_ops; i++) {
        if (p->ops[i].desc->stop != NULL &&
            p->ops[i].desc->stop(p->ops[i].ctx, err, sizeof(err)) != RECD_OK) {
            RLOG_WARN(RECD_LOG_OPERATOR, "%s: at the stop: %s", p->ops[i].desc->name, err);
        }
    }
}

void recd_pipeline_destroy(struct recd_pipeline *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = p->n_ops; i > 0; i--) {
        p->ops[i - 1].desc->fini(p->ops[i - 1].ctx);
    }
    free(p->ops);
    recd_services_destroy(p->services);
    recd_txn_destroy(p->txn);
    recd_arena_destroy(p->arena);
    recd_strmap_destroy(p->seq);
    recd_strmap_destroy(p->lists);
    recd_strmap_destroy(p->batch_users);
    recd_strmap_destroy(p->expired);
    recd_strmap_destroy(p->silent);
    recd_strmap_destroy(p->republish);
    free(p->events);
    free(p->offs);
    free(p->batch.dirty);
    free(p->batch.dirty_trigger);
    free(p->batch.out);
    free(p->batch.forgotten);
    recd_buf_free(&p->key);
    recd_buf_free(&p->val);
    recd_buf_free(&p->enc);
    recd_buf_free(&p->outbox);
    free(p->acked);
    free(p);
}

static int note_offset(struct recd_pipeline *p, const char *topic, int32_t partition,
                       int64_t offset)
{
    size_t i;

    for (i = 0; i < p->n_offs; i++) {
        if (p->offs[i].partition == partition && strcmp(p->offs[i].topic, topic) == 0) {
            if (offset + 1 > p->offs[i].next) {
                p->offs[i].next = offset + 1;
            }
            return RECD_OK;
        }
    }
    if (p->n_offs == p->cap_offs) {
        size_t nc = p->cap_offs ? p->cap_offs * 2 : 16;
        struct offset_ent *o = realloc(p->offs, nc * sizeof(*o));

        if (o == NULL) {
            return RECD_ENOMEM;
        }
        p->offs = o;
        p->cap_offs = nc;
    }
    p->offs[p->n_offs].topic = topic;
    p->offs[p->n_offs].partition = partition;
    p->offs[p->n_offs].next = offset + 1;
    p->n_offs++;
    return RECD_OK;
}

/* The user's event count and activity: loaded from USERS <user>\0seq once per batch. */
static struct user_seq *seq_get(struct recd_pipeline *p, const char *user_id)
{
    struct user_seq *s = recd_strmap_get(p->seq, user_id);

    if (s != NULL) {
        return s;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    if (recd_key_sub(&p->key, user_id, "seq") == RECD_OK &&
        recd_state_get(p->state, RECD_CF_USERS, p->key.data, p->key.len, &p->val) == RECD_OK &&
        (p->val.len == 8 || p->val.len == 16)) {
        memcpy(&s->seq, p->val.data, 8);
        if (p->val.len == 16) {
            memcpy(&s->last_ts, p->val.data + 8, 8);
        }
        s->stored_last_ts = s->last_ts;
    }
    if (recd_strmap_put(p->seq, user_id, s) != RECD_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static int run_ops(struct recd_pipeline *p, size_t from, size_t to, char *errstr, size_t errlen)
{
    size_t i;
    int rc;

    if (to <= from && p->batch.n_dirty == 0) {
        return RECD_OK; /* (users marked beforehand — republished — run even without events) */
    }
    p->batch.events = p->events + from;
    p->batch.n_events = to - from;
    for (i = 0; i < p->n_ops; i++) {
        int64_t t0 = recd_now_mono_ns(), c0 = recd_now_thread_cpu_ns();
        char labels[96];

        rc = p->ops[i].desc->process(p->ops[i].ctx, &p->batch, errstr, errlen);
        if (rc != RECD_OK) {
            return rc;
        }
        snprintf(labels, sizeof(labels), "operator=\"%s\"", p->ops[i].desc->name);
        recd_metrics_observe(p->metrics, "recd_operator_duration_seconds", labels,
                             (double)(recd_now_mono_ns() - t0) / 1e9);
        recd_metrics_add(p->metrics, "recd_operator_cpu_seconds_total", labels,
                         (double)(recd_now_thread_cpu_ns() - c0) / 1e9);
    }
    p->batch.n_dirty = 0;   /* consumed by the operators that publish */
    return RECD_OK;
}

static void uexp_key(struct recd_buf *k, int64_t ts, const char *user)
{
    uint64_t b = ts > 0 ? (uint64_t)(ts / UEXP_BUCKET_MS) : 0;
    uint8_t be[8];

    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)b;
        b >>= 8;
    }
    k->len = 0;
    if (recd_buf_append(k, UEXP_PREFIX, UEXP_PLEN) != RECD_OK ||
        recd_buf_append(k, be, 8) != RECD_OK ||
        (user != NULL && recd_buf_append(k, user, strlen(user)) != RECD_OK)) {
        k->len = 0;
    }
}

static int forget_user(struct recd_pipeline *p, const char *user_id)
{
    static const int cfs[] = { RECD_CF_USERS, RECD_CF_SESSIONS, RECD_CF_OUTPUTS };
    struct user_seq *s = seq_get(p, user_id);
    size_t i;
    int rc;

    if (s == NULL) {
        return RECD_ENOMEM;
    }
    if (s->stored_last_ts != 0) { /* the activity index names the user too */
        uexp_key(&p->key, s->stored_last_ts, user_id);
        rc = p->key.len ? recd_txn_del(p->txn, RECD_CF_META, p->key.data, p->key.len) : RECD_ENOMEM;
        if (rc != RECD_OK) {
            return rc;
        }
    }

    p->key.len = 0;
    if (recd_buf_append(&p->key, user_id, strlen(user_id) + 1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    for (i = 0; i < RECD_ARRAY_SIZE(cfs); i++) {
        rc = recd_txn_del_prefix(p->txn, cfs[i], p->key.data, p->key.len);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    /* the count restarts: a forgotten user who comes back is a new user (seq from 1) */
    memset(s, 0, sizeof(*s));
    return recd_batch_add_forgotten(&p->batch, user_id);
}

/* The item ids of a user's last published list, hashed (USERS <user>\0ll, RECD_SUB_LAST_LIST):
 * the list's seq (int64), n (uint32) and n uint32 hashes, in list order. The online quality
 * compares a click's item against them instead of reading and decoding the list from OUTPUTS:
 * the key sits with the user's seq and profile, which the batch reads anyway. Two different ids
 * share a hash with probability 2^-32 per comparison (a metric, not state: a false hit in
 * ~10^8 clicks). */
struct list_digest {
    uint32_t n;
    const uint32_t *h;   /* n hashes (arena) */
};

#define LL_HEAD 12   /* seq int64, n uint32 */

static uint32_t item_hash(const char *item_id)
{
    return (uint32_t)XXH3_64bits(item_id, strlen(item_id));
}

/* The digest of the user's last list, when it describes the list of the user's current count:
 * one written with an older seq was left behind by a binary that stored lists without digests
 * (a roll-back), or the user had events without a list since. s: the user's count (seq_get;
 * NULL: unknown). 0 when absent or stale. */
static int read_digest(struct recd_pipeline *p, const char *user_id, const struct user_seq *s,
                       struct list_digest *d)
{
    int64_t seq;
    uint32_t n, *h;

    if (s == NULL || recd_key_sub(&p->key, user_id, RECD_SUB_LAST_LIST) != RECD_OK ||
        recd_state_get(p->state, RECD_CF_USERS, p->key.data, p->key.len, &p->val) != RECD_OK ||
        p->val.len < LL_HEAD) {
        return 0;
    }
    memcpy(&seq, p->val.data, 8);
    memcpy(&n, p->val.data + 8, 4);
    if (seq != s->seq || p->val.len != LL_HEAD + (size_t)n * 4 ||
        (h = recd_arena_alloc(p->arena, (size_t)n * 4 + 1)) == NULL) {
        return 0;
    }
    memcpy(h, p->val.data + LL_HEAD, (size_t)n * 4);
    d->n = n;
    d->h = h;
    return 1;
}

/* The list itself from OUTPUTS, hashed. 0 when there is none (or it is unreadable). */
static int read_list(struct recd_pipeline *p, const char *user_id, struct list_digest *d)
{
    struct recd_recs r;
    uint32_t *h;
    char err[128];

    p->key.len = 0;
    if (recd_buf_append(&p->key, user_id, strlen(user_id) + 1) != RECD_OK ||
        recd_state_get(p->state, RECD_CF_OUTPUTS, p->key.data, p->key.len, &p->val) != RECD_OK ||
        recd_codec_decode_recs(p->codec, p->val.data, p->val.len, p->arena, &r, err,
                               sizeof(err)) != RECD_OK ||
        (h = recd_arena_alloc(p->arena, (size_t)r.n_items * 4 + 1)) == NULL) {
        return 0;
    }
    for (uint32_t j = 0; j < r.n_items; j++) {
        h[j] = item_hash(r.items[j].item_id);
    }
    d->n = r.n_items;
    d->h = h;
    return 1;
}

/* The user's last list published before this batch, read once per batch: its digest, or the
 * list from OUTPUTS where the digest is missing or stale. NULL: none. */
static const struct list_digest *last_list(struct recd_pipeline *p, const char *user_id)
{
    static char no_list;   /* sentinel value in p->lists */
    struct list_digest *d = recd_strmap_get(p->lists, user_id);
    const struct user_seq *s;

    if (d != NULL) {
        return d == (void *)&no_list ? NULL : d;
    }
    s = seq_get(p, user_id);
    if (s != NULL && s->seq == 0) {
        d = NULL;   /* the user's first batch (or first since a deletion): no list to read */
    } else if ((d = recd_arena_alloc(p->arena, sizeof(*d))) != NULL &&
               !read_digest(p, user_id, s, d) && !read_list(p, user_id, d)) {
        d = NULL;
    }
    /* out of memory here only costs a second read */
    (void)recd_strmap_put(p->lists, user_id, d != NULL ? (void *)d : (void *)&no_list);
    return d;
}

static void online_quality(struct recd_pipeline *p)
{
    const struct recd_conf_metrics *mc = RECD_UNIT(p->conf, "metrics", struct recd_conf_metrics);
    const struct list_digest *r;
    char labels[32];
    double scored = 0, hits = 0, rr = 0;
    size_t i;

    recd_strmap_clear(p->lists);
    for (i = 0; i < p->batch_ne; i++) {
        const struct recd_event *ev = &p->events[i];

        if (ev->kind != RECD_KIND_CLICK || ev->silent) {
            continue; /* a silent click is scored by the instance that publishes its user */
        }
        if ((r = last_list(p, ev->user_id)) == NULL) {
            continue;   /* no list published yet: not a scorable case */
        }
        scored++;
        uint32_t h = item_hash(ev->u.click.item_id);

        for (uint32_t j = 0; j < r->n && j < (uint32_t)mc->hit_k; j++) {
            if (r->h[j] == h) {
                hits++;
                rr += 1.0 / (double)(j + 1);
                break;
            }
        }
    }
    if (scored > 0) {
        snprintf(labels, sizeof(labels), "k=\"%lld\"", (long long)mc->hit_k);
        recd_metrics_add(p->metrics, "recd_online_clicks_scored_total", NULL, scored);
        recd_metrics_add(p->metrics, "recd_online_hits_total", labels, hits);
        recd_metrics_add(p->metrics, "recd_online_reciprocal_rank_sum", labels, rr);
        p->q_scored += scored;
        p->q_hits += hits;
        p->q_rr += rr;
        recd_metrics_set(p->metrics, "recd_online_hit_ratio", labels, p->q_hits / p->q_scored);
        recd_metrics_set(p->metrics, "recd_online_mrr", labels, p->q_rr / p->q_scored);
    }
}

/* Per-stage time of a batch: wall (recd_stage_duration_seconds_total{stage}) and the loop
 * thread's CPU (recd_stage_cpu_seconds_total{stage}; wall minus CPU is time the core ran
 * something else or the thread waited). */
static void stage(struct recd_pipeline *p, const char *name, int64_t *t)
{
    int64_t now = recd_now_mono_ns(), cpu = recd_now_thread_cpu_ns();
    char labels[48];

    if (p->metrics != NULL) {
        snprintf(labels, sizeof(labels), "stage=\"%s\"", name);
        recd_metrics_add(p->metrics, "recd_stage_duration_seconds_total", labels,
                         (double)(now - *t) / 1e9);
        recd_metrics_add(p->metrics, "recd_stage_cpu_seconds_total", labels,
                         (double)(cpu - p->stage_cpu_ns) / 1e9);
    }
    *t = now;
    p->stage_cpu_ns = cpu;
}

/* ---- outbox: the users of batches committed before their output was acknowledged ---------
 * CF_OUTPUTS key "\0ob" + big-endian batch number (a user id is never empty, so no user's
 * "<user_id>\0" key starts with \0), value: the users' ids, each NUL-terminated. CF_OUTPUTS
 * is outside the state digest: the outbox depends on acknowledgement timing, not on input. */
#define OUTBOX_PREFIX "\0ob"
#define OUTBOX_PLEN   3
#define OUTBOX_KLEN   (OUTBOX_PLEN + 8)

static void outbox_key(uint64_t batch_no, unsigned char k[OUTBOX_KLEN])
{
    memcpy(k, OUTBOX_PREFIX, OUTBOX_PLEN);
    for (int i = 0; i < 8; i++) {
        k[OUTBOX_PLEN + i] = (unsigned char)(batch_no >> (56 - 8 * i));
    }
}

int recd_pipeline_acked(struct recd_pipeline *p, uint64_t batch_no)
{
    if (p->n_acked == p->cap_acked) {
        size_t nc = p->cap_acked ? p->cap_acked * 2 : 16;
        uint64_t *na = realloc(p->acked, nc * sizeof(*na));

        if (na == NULL) {
            return RECD_ENOMEM;
        }
        p->acked = na;
        p->cap_acked = nc;
    }
    p->acked[p->n_acked++] = batch_no;
    return RECD_OK;
}

/* Removals of acknowledged batches' entries into the transaction; `cur_written`: whether the
 * current batch wrote its own entry (a batch acknowledged before its commit that did not write
 * one — flushed, or nothing published — has nothing to remove). */
static int outbox_drop_acked(struct recd_pipeline *p, int cur_written)
{
    unsigned char k[OUTBOX_KLEN];
    size_t i;

    for (i = 0; i < p->n_acked; i++) {
        if (p->acked[i] == p->batch_no && !cur_written) {
            continue;
        }
        outbox_key(p->acked[i], k);
        if (recd_txn_del(p->txn, RECD_CF_OUTPUTS, k, sizeof(k)) != RECD_OK) {
            return RECD_ENOMEM;
        }
    }
    return RECD_OK;
}

int recd_pipeline_commit_acked(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    int rc;

    if (p->n_acked == 0) {
        return RECD_OK;
    }
    recd_txn_clear(p->txn);
    rc = outbox_drop_acked(p, 1);
    if (rc != RECD_OK) {
        rc = recd_seterr(errstr, errlen, rc, "out of memory");
    } else {
        rc = recd_txn_commit(p->txn, errstr, errlen);
    }
    recd_txn_clear(p->txn);
    if (rc == RECD_OK) {
        p->n_acked = 0;
    }
    return rc;
}

int recd_pipeline_recover(struct recd_pipeline *p, const struct recd_sink *sink, size_t *n_out,
                          char *errstr, size_t errlen)
{
    struct recd_state_iter *it = NULL;
    const void *k, *v;
    size_t kl, vl, n = 0, n_entries = 0;
    uint64_t next_no = 0;
    int rc;

    if (n_out != NULL) {
        *n_out = 0;
    }
    recd_txn_clear(p->txn);
    /* The outbox keys are the empty user's (state.h's per-user prefix ends at the first NUL):
     * iterating that one prefix reads its memtable bucket, where the outbox's own prefix would
     * make RocksDB copy and sort the whole memtable of lists replayed after a crash. */
    rc = recd_state_iter_new(p->state, RECD_CF_OUTPUTS, OUTBOX_PREFIX, 1, &it);
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "cannot read the outbox");
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        const char *u = v, *end = (const char *)v + vl;
        uint64_t no = 0;

        if (kl != OUTBOX_KLEN || memcmp(k, OUTBOX_PREFIX, OUTBOX_PLEN) != 0) {
            continue;   /* not ours */
        }
        for (int i = 0; i < 8; i++) {
            no = no << 8 | ((const unsigned char *)k)[OUTBOX_PLEN + i];
        }
        if (no + 1 > next_no) {
            next_no = no + 1;
        }
        while (u < end) {
            size_t ul = strnlen(u, (size_t)(end - u));

            if (ul == 0 || ul == (size_t)(end - u)) {
                break;   /* malformed tail: nothing more to take from this entry */
            }
            p->key.len = 0;
            if (recd_buf_append(&p->key, u, ul + 1) != RECD_OK) {
                rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
                goto out;
            }
            rc = sink == NULL ? RECD_OK
                              : recd_state_get(p->state, RECD_CF_OUTPUTS, p->key.data,
                                               p->key.len, &p->val);
            if (sink == NULL) {
                /* dropped: the partition's owner publishes the user again */
            } else if (rc == RECD_OK) {
                rc = sink->publish(sink->opaque, u, p->val.data, p->val.len);
            } else if (rc == RECD_ENOENT) {
                rc = sink->publish(sink->opaque, u, NULL, 0);   /* forgotten since */
            }
            if (rc != RECD_OK) {
                rc = recd_seterr(errstr, errlen, rc, "cannot republish the list of %s", u);
                goto out;
            }
            n++;
            u += ul + 1;
        }
        if (recd_txn_del(p->txn, RECD_CF_OUTPUTS, k, kl) != RECD_OK) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
            goto out;
        }
        n_entries++;
    }
    recd_state_iter_destroy(it);
    it = NULL;
    if (n_entries > 0) {
        rc = sink != NULL ? sink->flush(sink->opaque, errstr, errlen) : RECD_OK;
        if (rc == RECD_OK) {
            rc = recd_txn_commit(p->txn, errstr, errlen);
        }
        if (rc != RECD_OK) {
            goto out;
        }
        if (sink != NULL) {
            RLOG_NOTICE(RECD_LOG_STATE,
                        "republished %zu list(s) of %zu batch(es) whose output was "
                        "not acknowledged before the last stop",
                        n, n_entries);
        } else {
            RLOG_NOTICE(RECD_LOG_STATE,
                        "the outbox named %zu list(s) of %zu batch(es) whose output was not "
                        "acknowledged before the last stop: not republished from here "
                        "(learn_from = all: the partitions' owners publish them again)",
                        n, n_entries);
        }
    }
    if (next_no > p->batch_no) {
        p->batch_no = next_no;
    }
    if (n_out != NULL) {
        *n_out = n;
    }
    rc = RECD_OK;
out:
    recd_state_iter_destroy(it);
    recd_txn_clear(p->txn);
    return rc;
}

static int cmp_out(const void *a, const void *b)
{
    const struct recd_recs *x = a, *y = b;

    return strcmp(x->user_id, y->user_id);
}

/* ---- one batch, step by step ----------------------------------------------------------------
 * recd_pipeline_run_batch runs the steps below in order. Each step returns RECD_OK or an error
 * code with errstr set; the batch has one failure path (in recd_pipeline_run_batch) that tells
 * the operators to drop their views of the batch (committed(0)) once they may hold any. */

static int oom(char *errstr, size_t errlen)
{
    return recd_seterr(errstr, errlen, RECD_ENOMEM, "out of memory");
}

/* Clear the per-batch scratch and make room for n events. */
static int batch_begin(struct recd_pipeline *p, size_t n, char *errstr, size_t errlen)
{
    recd_arena_reset(p->arena);
    recd_txn_clear(p->txn);
    recd_strmap_clear(p->seq);
    recd_strmap_clear(p->batch_users);
    recd_strmap_clear(p->expired);
    recd_strmap_clear(p->silent);
    p->batch.silent_users = NULL;
    p->hwm_next = p->hwm;
    p->n_offs = 0;
    p->batch.arena = p->arena;
    p->batch.txn = p->txn;
    p->batch.n_dirty = 0;
    p->batch.n_out = 0;
    p->batch.n_forgotten = 0;
    if (n > p->cap_events) {
        struct recd_event *e = realloc(p->events, n * sizeof(*e));

        if (e == NULL) {
            return oom(errstr, errlen);
        }
        p->events = e;
        p->cap_events = n;
    }
    return RECD_OK;
}

/* A record that does not decode or validate goes to the dead-letter topic; `err` says why (its
 * text up to the first ':' is the reason class). */
static int dead_letter(struct recd_pipeline *p, const struct recd_raw *r,
                       const struct recd_sink *sink, const char *err, char *errstr, size_t errlen)
{
    char cls[48], labels[160];
    size_t cl = strcspn(err, ":");
    int rc;

    snprintf(cls, sizeof(cls), "%.*s", (int)(cl < sizeof(cls) ? cl : sizeof(cls) - 1), err);
    snprintf(labels, sizeof(labels), "topic=\"%s\",reason=\"%s\"", r->topic, cls);
    recd_metrics_add(p->metrics, "recd_records_dead_lettered_total", labels, 1);
    recd_log_rl(RECD_LOG_CODEC, RECD_LOG_WARNING, cls, "dead-lettering %s[%d]@%lld: %s", r->topic,
                (int)r->partition, (long long)r->offset, err);
    rc = sink->dead_letter(sink->opaque, r, cls, err);
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "cannot dead-letter %s[%d]@%lld", r->topic,
                           (int)r->partition, (long long)r->offset);
    }
    p->stats.dead_lettered++;
    return RECD_OK;
}

/* 1. decode and validate into p->events (count in p->batch_ne); bad records are
 * dead-lettered, their offsets still advance */
static int decode_records(struct recd_pipeline *p, const struct recd_raw *recs, size_t n,
                          const struct recd_sink *sink, char *errstr, size_t errlen)
{
    uint64_t consumed[RECD_KIND__NINPUT] = { 0 }, decoded[RECD_KIND__NINPUT] = { 0 };
    size_t i, ne = 0;
    char err[512];
    int rc;

    for (i = 0; i < n; i++) {
        const struct recd_raw *r = &recs[i];
        struct recd_event *ev = &p->events[ne];

        consumed[r->kind]++;
        if (note_offset(p, r->topic, r->partition, r->offset) != RECD_OK) {
            return oom(errstr, errlen);
        }
        memset(ev, 0, sizeof(*ev));
        rc = recd_codec_decode(p->codec, r->kind, r->key, r->klen, r->val, r->vlen, p->arena, ev,
                               err, sizeof(err));
        if (rc == RECD_OK) {
            rc = recd_validate_event(&p->vconf, ev, err, sizeof(err));
        }
        if (rc != RECD_OK) {
            rc = dead_letter(p, r, sink, err, errstr, errlen);
            if (rc != RECD_OK) {
                return rc;
            }
            continue;
        }
        decoded[r->kind]++;
        if (sink->event_time != NULL && (r->kind == RECD_KIND_CLICK ||
                                         r->kind == RECD_KIND_PURCHASE ||
                                         r->kind == RECD_KIND_QUERY)) {
            sink->event_time(sink->opaque, r->kind, r->partition, ev->ts_ms);
        }
        ev->item_idx = -1;
        ev->session_key = 0;
        ev->topic = r->topic;
        ev->partition = r->partition;
        ev->offset = r->offset;
        ev->silent = r->silent;
        ne++;
    }
    for (i = 0; i < RECD_KIND__NINPUT; i++) {
        char labels[160];

        if (consumed[i] == 0) {
            continue;
        }
        snprintf(labels, sizeof(labels), "topic=\"%s\"", topic_of_kind(p->conf, (int)i));
        recd_metrics_add(p->metrics, "recd_records_consumed_total", labels, (double)consumed[i]);
        recd_metrics_add(p->metrics, "recd_records_decoded_total", labels, (double)decoded[i]);
    }
    p->batch_ne = ne;
    return RECD_OK;
}

/* A deletion forgets everything consumed for the user up to the end of the batch it
 * arrives in (deletions come from their own topic, so their order relative to the
 * user's events is not defined by Kafka; this rule errs on the side of forgetting).
 * Moves the deletions to the end of the batch; stable: the other events keep their order. */
static int deletions_last(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t i, w = 0, nd = 0, k = 0, ne = p->batch_ne;
    struct recd_event *dels, tmp;

    for (i = 0; i < ne; i++) {
        if (p->events[i].kind == RECD_KIND_DELETION) {
            nd++;
        }
    }
    if (nd == 0 || nd == ne) {
        return RECD_OK;
    }
    dels = recd_arena_alloc(p->arena, nd * sizeof(*dels));
    if (dels == NULL) {
        return oom(errstr, errlen);
    }
    for (i = 0; i < ne; i++) {
        tmp = p->events[i];
        if (tmp.kind == RECD_KIND_DELETION) {
            dels[k++] = tmp;
        } else {
            p->events[w++] = tmp;
        }
    }
    memcpy(p->events + w, dels, nd * sizeof(*dels));
    return RECD_OK;
}

/* One expired user: a deletion event marked expired at the end of the batch (after the
 * batch's deletions), which the operators and forget_user() handle as any deletion. */
static int expire_user(struct recd_pipeline *p, const char *user)
{
    struct recd_event *ev;
    char *u = recd_arena_strndup(p->arena, user, strlen(user));

    if (u == NULL || recd_strmap_put(p->expired, u, (void *)1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    if (p->batch_ne == p->cap_events) {
        size_t nc = p->cap_events ? p->cap_events * 2 : 64;
        struct recd_event *e = realloc(p->events, nc * sizeof(*e));

        if (e == NULL) {
            return RECD_ENOMEM;
        }
        p->events = e;
        p->cap_events = nc;
    }
    ev = &p->events[p->batch_ne++];
    memset(ev, 0, sizeof(*ev));
    ev->kind = RECD_KIND_DELETION;
    ev->topic = topic_of_kind(p->conf, RECD_KIND_DELETION);
    ev->partition = -1;
    ev->offset = -1;
    ev->event_id = "expired";
    ev->user_id = u;
    ev->ts_ms = p->hwm;
    ev->item_idx = -1;
    ev->u.deletion.requested_ts = p->hwm;
    ev->u.deletion.reason = "expired";
    ev->u.deletion.expired = 1;
    ev->silent = p->owns_user != NULL && !p->owns_user(p->owns_ctx, u);
    return RECD_OK;
}

/* 1c. users whose every event of the batch is silent (scale-out: another instance publishes
 * them): their state is updated, nothing is scored or published for them */
static int mark_silent(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t i, n_silent = 0;

    for (i = 0; i < p->batch_ne; i++) {
        const struct recd_event *ev = &p->events[i];

        if (ev->silent && ev->user_id != NULL) {
            if (recd_strmap_put(p->silent, ev->user_id, (void *)1) != RECD_OK) {
                return oom(errstr, errlen);
            }
            n_silent++;
        }
    }
    if (n_silent == 0) {
        return RECD_OK;
    }
    for (i = 0; i < p->batch_ne; i++) {
        const struct recd_event *ev = &p->events[i];

        if (!ev->silent && ev->user_id != NULL) {
            (void)recd_strmap_del(p->silent, ev->user_id);
        }
    }
    p->batch.silent_users = recd_strmap_count(p->silent) > 0 ? p->silent : NULL;
    p->stats.silent_events += n_silent;
    return RECD_OK;
}

/* 1d. users whose lists must be published again (scale-out: events of a partition this
 * instance applied before it became the partition's publisher, past where the previous one
 * stopped): marked dirty, so the batch publishes their list from the state they have now.
 * A user without state (forgotten meanwhile) is skipped. */
static int mark_republished(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t pos = 0;
    const char *user;
    void *v;

    while (recd_strmap_count(p->republish) > 0 && recd_strmap_next(p->republish, &pos, &user, &v)) {
        struct user_seq *s;
        char *u;

        if (recd_strmap_get(p->silent, user) != NULL) {
            continue;
        }
        s = seq_get(p, user);
        if (s == NULL) {
            return oom(errstr, errlen);
        }
        if (s->seq == 0) {
            continue;
        }
        u = recd_arena_strndup(p->arena, user, strlen(user));
        if (u == NULL || recd_batch_mark_dirty(&p->batch, u, NULL) != RECD_OK) {
            return oom(errstr, errlen);
        }
        p->stats.republished++;
    }
    return RECD_OK;
}

int recd_pipeline_republish(struct recd_pipeline *p, const char *user_id)
{
    return recd_strmap_put(p->republish, user_id, (void *)1);
}

size_t recd_pipeline_pending_republish(const struct recd_pipeline *p)
{
    return recd_strmap_count(p->republish);
}

/* 1b. users without an event for pipeline.user_ttl_days of event time (the committed
 * high-water mark) expire: the activity index is read from its oldest hour up to the cutoff's
 * hour, at most expire_per_batch users a batch. An entry whose user has events in this batch,
 * is gone (forgotten) or was active since (a newer entry exists) is only removed. Expiry is
 * applied at batch starts: a user returning in the batch that first moves the high-water mark
 * past their expiry continues (ARCHITECTURE.md, "Determinism"). */
static int expire_users(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    const struct recd_conf_pipeline *pc = RECD_UNIT(p->conf, "pipeline", struct recd_conf_pipeline);
    struct recd_state_iter *it = NULL;
    struct recd_buf from, to;
    const void *k, *v;
    size_t kl, vl, ne = p->batch_ne;
    int64_t cutoff, done = 0;
    int rc = RECD_OK;

    if (pc->user_ttl_days <= 0 || p->hwm <= 0) {
        return RECD_OK;
    }
    cutoff = p->hwm - (int64_t)(pc->user_ttl_days * 86400000.0);
    if (cutoff <= 0) {
        return RECD_OK;
    }
    for (size_t i = 0; i < ne; i++) {
        if (p->events[i].user_id != NULL && p->events[i].kind != RECD_KIND_ITEM &&
            recd_strmap_put(p->batch_users, p->events[i].user_id, (void *)1) != RECD_OK) {
            return oom(errstr, errlen);
        }
    }
    recd_buf_init(&from);
    recd_buf_init(&to);
    /* Every entry a sweep visits is deleted, so seeking from the hour of the last one visited
     * skips the tombstones of earlier sweeps, which RocksDB would otherwise step over one by
     * one in every batch until a compaction (5x slower at 1M users in bench/soak). An entry
     * written later below that hour (an event older than the cutoff) waits for a restart. */
    uexp_key(&from, p->uexp_swept * UEXP_BUCKET_MS, NULL);
    uexp_key(&to, cutoff, NULL);
    if (from.len == 0 || to.len == 0 ||
        recd_state_iter_range(p->state, RECD_CF_META, UEXP_PREFIX, UEXP_PLEN, from.data, from.len,
                              to.data, to.len, &it) != RECD_OK) {
        rc = RECD_ENOMEM;
    }
    while (rc == RECD_OK && done < pc->expire_per_batch &&
           recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        char user[1024];
        struct user_seq *s;

        (void)v;
        if (kl <= UEXP_PLEN + 8 || kl - UEXP_PLEN - 8 >= sizeof(user)) {
            continue;
        }
        memcpy(user, (const char *)k + UEXP_PLEN + 8, kl - UEXP_PLEN - 8);
        user[kl - UEXP_PLEN - 8] = '\0';
        done++;
        {
            int64_t h = 0;

            for (int b = 0; b < 8; b++) {
                h = (h << 8) | ((const uint8_t *)k)[UEXP_PLEN + b];
            }
            p->uexp_swept = h;
        }
        rc = recd_txn_del(p->txn, RECD_CF_META, k, kl);
        if (rc != RECD_OK || recd_strmap_get(p->batch_users, user) != NULL ||
            recd_strmap_get(p->expired, user) != NULL) {
            continue;
        }
        s = seq_get(p, user);
        if (s == NULL) {
            rc = RECD_ENOMEM;
        } else if (s->seq != 0 && s->last_ts != 0 && s->last_ts < cutoff) {
            rc = expire_user(p, user);
        }
    }
    p->stats.expiry_skipped += recd_state_iter_skipped(it);
    recd_state_iter_destroy(it);
    recd_buf_free(&from);
    recd_buf_free(&to);
    /* the users read here are re-read with the batch (seq_get), after its deletions */
    recd_strmap_clear(p->seq);
    return rc == RECD_OK ? RECD_OK : oom(errstr, errlen);
}

/* 2. per-user event counts, 3. operators, split around deletions */
static int apply_operators(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t i, start = 0, ne = p->batch_ne;
    int rc;

    for (i = 0; i < ne; i++) {
        struct recd_event *ev = &p->events[i];

        if (ev->kind == RECD_KIND_CLICK || ev->kind == RECD_KIND_PURCHASE ||
            ev->kind == RECD_KIND_QUERY) {
            struct user_seq *s = seq_get(p, ev->user_id);

            if (s == NULL) {
                return oom(errstr, errlen);
            }
            s->seq++;
            if (ev->ts_ms > s->last_ts) {
                s->last_ts = ev->ts_ms;
            }
            if (ev->ts_ms > p->hwm_next) {
                p->hwm_next = ev->ts_ms;
            }
        } else if (ev->kind == RECD_KIND_DELETION) {
            rc = run_ops(p, start, i, errstr, errlen);
            if (rc == RECD_OK) {
                rc = forget_user(p, ev->user_id);
            }
            if (rc == RECD_OK) {
                rc = run_ops(p, i, i + 1, errstr, errlen);
            }
            if (rc != RECD_OK) {
                return rc;
            }
            start = i + 1;
        }
    }
    return run_ops(p, start, ne, errstr, errlen);
}

/* The user's entry in the activity index moves with the hour of the newest event. */
static int index_activity(struct recd_pipeline *p, const char *user, const struct user_seq *s)
{
    const struct recd_conf_pipeline *pc = RECD_UNIT(p->conf, "pipeline", struct recd_conf_pipeline);
    int rc = RECD_OK;

    if (pc->user_ttl_days <= 0 ||
        s->last_ts / UEXP_BUCKET_MS == s->stored_last_ts / UEXP_BUCKET_MS) {
        return RECD_OK;
    }
    if (s->stored_last_ts != 0) {
        uexp_key(&p->key, s->stored_last_ts, user);
        rc = p->key.len ? recd_txn_del(p->txn, RECD_CF_META, p->key.data, p->key.len) : RECD_ENOMEM;
    }
    if (rc == RECD_OK) {
        uexp_key(&p->key, s->last_ts, user);
        rc = p->key.len ? recd_txn_put(p->txn, RECD_CF_META, p->key.data, p->key.len, "", 0)
                        : RECD_ENOMEM;
    }
    return rc;
}

/* 4. checkpoint: the operators' state and the users' event counts into the transaction */
static int checkpoint(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t i, pos = 0;
    const char *user;
    void *val;
    int rc;

    for (i = 0; i < p->n_ops; i++) {
        rc = p->ops[i].desc->checkpoint(p->ops[i].ctx, &p->batch, errstr, errlen);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    while (recd_strmap_next(p->seq, &pos, &user, &val)) {
        const struct user_seq *s = val;
        int64_t v[2] = { s->seq, s->last_ts };

        if (s->seq == 0) {
            continue;   /* forgotten and not back: nothing of the user may remain */
        }
        if (recd_key_sub(&p->key, user, "seq") != RECD_OK ||
            recd_txn_put(p->txn, RECD_CF_USERS, p->key.data, p->key.len, v, sizeof(v)) != RECD_OK) {
            return oom(errstr, errlen);
        }
        rc = index_activity(p, user, s);
        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, rc, "activity index: %s", recd_strerror(rc));
        }
    }
    if (p->hwm_next > p->hwm) {
        rc = recd_txn_put(p->txn, RECD_CF_META, "pl.hwm", 6, &p->hwm_next, sizeof(p->hwm_next));
        if (rc != RECD_OK) {
            return oom(errstr, errlen);
        }
    }
    return RECD_OK;
}

/* 5a. a tombstone for each user forgotten in the batch */
static int publish_tombstones(struct recd_pipeline *p, const struct recd_sink *sink, char *errstr,
                              size_t errlen)
{
    size_t i;
    int rc;

    for (i = 0; i < p->batch.n_forgotten; i++) {
        const char *u = p->batch.forgotten[i];

        if (recd_strmap_get(p->silent, u) != NULL) {
            continue; /* its state is gone here too; the publishing instance tombstones it */
        }
        rc = sink->publish(sink->opaque, u, NULL, 0);
        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, rc, "cannot publish tombstone");
        }
        if (recd_buf_append(&p->outbox, u, strlen(u) + 1) != RECD_OK) {
            return oom(errstr, errlen);
        }
        p->stats.tombstones++;
    }
    return RECD_OK;
}

/* 5b. one list: stamped, encoded, stored in CF_OUTPUTS, published, noted in the outbox */
static int publish_list(struct recd_pipeline *p, struct recd_recs *r, int64_t now_ms,
                        const struct recd_sink *sink, char *errstr, size_t errlen)
{
    struct user_seq *s = seq_get(p, r->user_id);
    int rc;

    if (s == NULL) {
        return oom(errstr, errlen);
    }
    r->seq = s->seq;
    r->generated_ts = now_ms;
    if (r->model_version == NULL) {
        r->model_version = p->model_version;
    }
    p->enc.len = 0;
    rc = recd_codec_encode_recs(p->codec, r,
                                (int32_t)RECD_UNIT(p->conf, "output", struct recd_conf_output)
                                    ->confluent_id,
                                &p->enc, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    p->key.len = 0;
    if (recd_buf_append(&p->key, r->user_id, strlen(r->user_id) + 1) != RECD_OK ||
        recd_txn_put(p->txn, RECD_CF_OUTPUTS, p->key.data, p->key.len, p->enc.data, p->enc.len) !=
            RECD_OK) {
        return oom(errstr, errlen);
    }
    /* the list's digest for the online quality (last_list), with the user's other keys */
    p->val.len = 0;
    if (recd_buf_append(&p->val, &r->seq, 8) != RECD_OK ||
        recd_buf_append(&p->val, &r->n_items, 4) != RECD_OK) {
        return oom(errstr, errlen);
    }
    for (uint32_t j = 0; j < r->n_items; j++) {
        uint32_t h = item_hash(r->items[j].item_id);

        if (recd_buf_append(&p->val, &h, 4) != RECD_OK) {
            return oom(errstr, errlen);
        }
    }
    if (recd_key_sub(&p->key, r->user_id, RECD_SUB_LAST_LIST) != RECD_OK ||
        recd_txn_put(p->txn, RECD_CF_USERS, p->key.data, p->key.len, p->val.data, p->val.len) !=
            RECD_OK) {
        return oom(errstr, errlen);
    }
    rc = sink->publish(sink->opaque, r->user_id, p->enc.data, p->enc.len);
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "cannot publish recommendations");
    }
    if (recd_buf_append(&p->outbox, r->user_id, strlen(r->user_id) + 1) != RECD_OK) {
        return oom(errstr, errlen);
    }
    p->stats.published++;
    return RECD_OK;
}

/* 5. publish: tombstones first, then each user's last list of the batch */
static int publish(struct recd_pipeline *p, int64_t now_ms, const struct recd_sink *sink,
                   char *errstr, size_t errlen)
{
    size_t i;
    int rc;

    p->outbox.len = 0;
    rc = publish_tombstones(p, sink, errstr, errlen);
    if (rc != RECD_OK) {
        return rc;
    }
    /* stable sort by user keeps the batch order among one user's lists; keep the last */
    for (i = 1; i < p->batch.n_out; i++) {   /* insertion sort is fine: nearly sorted */
        struct recd_recs tmp = p->batch.out[i];
        size_t j = i;

        while (j > 0 && cmp_out(&p->batch.out[j - 1], &tmp) > 0) {
            p->batch.out[j] = p->batch.out[j - 1];
            j--;
        }
        p->batch.out[j] = tmp;
    }
    for (i = 0; i < p->batch.n_out; i++) {
        struct recd_recs *r = &p->batch.out[i];

        if (i + 1 < p->batch.n_out && strcmp(r->user_id, p->batch.out[i + 1].user_id) == 0) {
            continue;   /* a newer list of the same user follows */
        }
        rc = publish_list(p, r, now_ms, sink, errstr, errlen);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    return RECD_OK;
}

/* The published output leaves: flushed now, or — for a sink that holds the batch until it is
 * acknowledged — committed before acknowledged, with an outbox entry that lets a restart
 * republish. Then the removals of the acknowledged batches' outbox entries. */
static int flush_or_hold(struct recd_pipeline *p, const struct recd_sink *sink, int64_t *t_stage,
                         char *errstr, size_t errlen)
{
    int held = sink->hold != NULL && sink->hold(sink->opaque, p->batch_no);
    int rc;

    if (held) {
        if (p->outbox.len > 0) {
            unsigned char k[OUTBOX_KLEN];

            outbox_key(p->batch_no, k);
            if (recd_txn_put(p->txn, RECD_CF_OUTPUTS, k, sizeof(k), p->outbox.data,
                             p->outbox.len) != RECD_OK) {
                return oom(errstr, errlen);
            }
        }
    } else {
        rc = sink->flush(sink->opaque, errstr, errlen);
        stage(p, "flush", t_stage);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    rc = outbox_drop_acked(p, held && p->outbox.len > 0);
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "out of memory");
    }
    return RECD_OK;
}

/* event -> publish latency (a sink that holds batches observes it at acknowledgement):
 * every event of the batch led to its user's list (or tombstone) being published and
 * acknowledged just now */
static void observe_latency(struct recd_pipeline *p, const struct recd_raw *recs, size_t n,
                            const struct recd_sink *sink)
{
    double *lat;
    int64_t now;
    size_t i, nl = 0;

    if (p->metrics == NULL || n == 0 || sink->hold != NULL) {
        return;
    }
    lat = recd_arena_alloc(p->arena, n * sizeof(double));
    now = recd_now_wall_ms();
    for (i = 0; lat != NULL && i < n; i++) {
        if (recs[i].ts_ms > 0 && recs[i].kind != RECD_KIND_ITEM) {
            lat[nl++] = now > recs[i].ts_ms ? (double)(now - recs[i].ts_ms) / 1000.0 : 0.0;
        }
    }
    recd_metrics_observe_many(p->metrics, "recd_event_publish_latency_seconds", NULL, lat, nl);
}

/* 6. offsets + commit, atomically */
static int commit(struct recd_pipeline *p, char *errstr, size_t errlen)
{
    size_t i;
    int rc;

    for (i = 0; i < p->n_offs; i++) {
        rc = recd_txn_set_offset(p->txn, p->offs[i].topic, p->offs[i].partition, p->offs[i].next);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    return recd_txn_commit(p->txn, errstr, errlen);
}

/* The deletions of a committed batch are executed: one journal line each (a privacy team's
 * record that the request was carried out) and recd_users_forgotten_total. */
static void forgotten_committed(struct recd_pipeline *p)
{
    size_t i;

    size_t n_expired = recd_strmap_count(p->expired);

    for (i = 0; i < p->batch.n_forgotten; i++) {
        if (recd_strmap_get(p->expired, p->batch.forgotten[i]) != NULL) {
            continue; /* expired (pipeline.user_ttl_days), not a deletion request */
        }
        RLOG_NOTICE(RECD_LOG_MAIN,
                    "forget: user \"%.256s\" forgotten: per-user state deleted, "
                    "tombstone published %s (batch %llu)",
                    p->batch.forgotten[i],
                    recd_strmap_get(p->silent, p->batch.forgotten[i]) != NULL
                        ? "by the instance that owns the user's partition"
                        : "here",
                    (unsigned long long)p->batch_no);
    }
    if (p->batch.n_forgotten > n_expired) {
        recd_metrics_add(p->metrics, "recd_users_forgotten_total", NULL,
                         (double)(p->batch.n_forgotten - n_expired));
    }
    if (n_expired > 0) {
        recd_metrics_add(p->metrics, "recd_users_expired_total", NULL, (double)n_expired);
        RLOG_INFO(RECD_LOG_MAIN, "expired %zu users inactive for %.0f days (batch %llu)", n_expired,
                  RECD_UNIT(p->conf, "pipeline", struct recd_conf_pipeline)->user_ttl_days,
                  (unsigned long long)p->batch_no);
    }
    p->hwm = p->hwm_next;
}

/* The operators keep (ok) or drop (!ok) their views of the batch. */
static void ops_committed(struct recd_pipeline *p, int ok)
{
    size_t i;

    for (i = 0; i < p->n_ops; i++) {
        if (p->ops[i].desc->committed) {
            p->ops[i].desc->committed(p->ops[i].ctx, ok);
        }
    }
}

int recd_pipeline_run_batch(struct recd_pipeline *p, const struct recd_raw *recs, size_t n,
                            const struct recd_sink *sink, char *errstr, size_t errlen)
{
    int64_t now_ms = recd_now_wall_ms(), t_stage;
    int rc, ops_started = 0;   /* whether the operators may hold a view of this batch */

    rc = batch_begin(p, n, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    t_stage = recd_now_mono_ns();
    p->stage_cpu_ns = recd_now_thread_cpu_ns();
    rc = decode_records(p, recs, n, sink, errstr, errlen);
    if (rc == RECD_OK) {
        rc = deletions_last(p, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = expire_users(p, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = mark_silent(p, errstr, errlen);
    }
    if (rc == RECD_OK) {
        rc = mark_republished(p, errstr, errlen);
    }
    if (rc != RECD_OK) {
        goto fail;
    }
    /* Online quality, leak-free: each click is scored against the list published for its
     * user before this batch (lists are computed at the end of a batch, from its events). */
    stage(p, "decode", &t_stage);
    if (p->metrics != NULL) {
        online_quality(p);
    }
    stage(p, "online_quality", &t_stage);

    /* from here on the operators may have run (for a segment before a deletion, say), and
     * must drop what they hold of this batch on failure */
    ops_started = 1;
    rc = apply_operators(p, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    stage(p, "operators", &t_stage);
    rc = checkpoint(p, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    stage(p, "checkpoint", &t_stage);
    rc = publish(p, now_ms, sink, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    stage(p, "publish", &t_stage);
    rc = flush_or_hold(p, sink, &t_stage, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    observe_latency(p, recs, n, sink);
    rc = commit(p, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    stage(p, "commit", &t_stage);
    forgotten_committed(p);
    recd_strmap_clear(p->republish);
    p->n_acked = 0;
    p->batch_no++;
    ops_committed(p, 1);
    stage(p, "committed", &t_stage);
    p->stats.batches++;
    p->stats.records += n;
    p->stats.events += p->batch_ne;
    return RECD_OK;

fail:
    if (ops_started) {
        ops_committed(p, 0);
    }
    return rc;
}

void recd_pipeline_set_owner(struct recd_pipeline *p,
                             int (*owns_user)(void *ctx, const char *user_id), void *ctx)
{
    p->owns_user = owns_user;
    p->owns_ctx = ctx;
}

int recd_pipeline_reconfigure(struct recd_pipeline *p, const struct recd_conf *conf, char *errstr,
                              size_t errlen)
{
    size_t i;
    int rc;

    for (i = 0; i < p->n_ops; i++) {
        char name[160];

        if (p->ops[i].desc->reconfigure == NULL) {
            continue;
        }
        snprintf(name, sizeof(name), "operators.%s", p->ops[i].desc->name);
        rc = p->ops[i].desc->reconfigure(p->ops[i].ctx, recd_conf_unit_data(conf, name), errstr,
                                         errlen);
        if (rc != RECD_OK) {
            return rc;
        }
    }
    p->conf = conf;
    recd_config_validate_conf(conf, &p->vconf);
    recd_codec_set_string_cap(p->codec, recd_validate_string_cap(&p->vconf));
    return RECD_OK;
}

void recd_pipeline_stats(const struct recd_pipeline *p, struct recd_pipeline_stats *out)
{
    *out = p->stats;
}
