/*
 * popular.c — the "popular" operator: time-decayed item popularity learned online from clicks
 * and purchases, recommended to each user whose state changed, minus the items the user saw
 * recently. It is the walking skeleton's recommender and stays useful as a cold-start
 * fallback.
 *
 * State (all written in checkpoint):
 *   MODEL  "pop" 0x00 <item_id>   -> struct pop_rec {double score; int64 t_ms}: score decayed
 *                                    to t_ms (event time of the item's last update)
 *   MODEL  "pop.hwm"              -> int64 event-time high-water mark
 *   USERS  <user_id> 0x00 "recent" -> item ids the user saw, newest first, '\n'-separated
 *
 * Determinism: scores decay by event time (2^(-dt/half_life)), updates are applied per event
 * in order, and ranking ties break on item_id.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "operator.h"
#include "recd.h"
#include "state.h"
#include "strmap.h"

struct popular_conf {
    int64_t n;
    double half_life_s;
    int64_t recent_len;
    int exclude_seen;
    double w_view, w_cart, w_purchase;
};

static const struct recd_conf_decl popular_decls[] = {
    { "n", RECD_CT_INT, "20", 1, 1000, RECD_CF_RELOADABLE, offsetof(struct popular_conf, n),
      "Number of items in each published list.", NULL, NULL },
    { "half_life_s", RECD_CT_DOUBLE, "3600.0", 1, 1e9, 0,
      offsetof(struct popular_conf, half_life_s),
      "Half-life of an item's popularity in seconds of event time. Changing it changes the "
      "meaning of stored scores, so it needs a restart.",
      NULL, NULL },
    { "recent_len", RECD_CT_INT, "20", 0, 1000, 0, offsetof(struct popular_conf, recent_len),
      "How many of a user's most recent items are remembered (and excluded when exclude_seen).",
      NULL, NULL },
    { "exclude_seen", RECD_CT_BOOL, "true", 1, 0, RECD_CF_RELOADABLE,
      offsetof(struct popular_conf, exclude_seen),
      "Do not recommend items among the user's recent items.", NULL, NULL },
    { "w_view", RECD_CT_DOUBLE, "1.0", 0, 1000, 0, offsetof(struct popular_conf, w_view),
      "Popularity added by a view.", NULL, NULL },
    { "w_cart", RECD_CT_DOUBLE, "3.0", 0, 1000, 0, offsetof(struct popular_conf, w_cart),
      "Popularity added by an add-to-cart.", NULL, NULL },
    { "w_purchase", RECD_CT_DOUBLE, "5.0", 0, 1000, 0, offsetof(struct popular_conf, w_purchase),
      "Popularity added per purchased unit.", NULL, NULL },
};

static const struct recd_conf_unit popular_unit = {
    "operators.popular", "Time-decayed popularity recommender (skeleton / cold-start fallback).",
    popular_decls, RECD_ARRAY_SIZE(popular_decls), sizeof(struct popular_conf)
};

struct pop_rec {
    double score;
    int64_t t_ms;
};

struct pop_item {
    struct pop_rec r;
    int dirty;
};

struct user_recent {
    char **items;       /* owned, newest first */
    size_t n;
    int dirty;
    int forgotten;      /* state deleted in this batch: write nothing unless new events */
};

struct popular {
    struct popular_conf conf;        /* copy; strings none */
    struct recd_state *state;        /* borrowed */
    const char *model_version;       /* borrowed */
    struct recd_strmap *items;       /* item_id -> struct pop_item (owned) */
    struct recd_strmap *users;       /* user_id -> struct user_recent, this batch only */
    int64_t hwm;                     /* event-time high-water mark */
    int hwm_dirty;
    char **gone;                     /* owned: items the catalogue retired in this batch */
    size_t n_gone, cap_gone;
    struct recd_buf key, val;        /* scratch */
};

static void gone_clear(struct popular *op)
{
    for (size_t i = 0; i < op->n_gone; i++) {
        free(op->gone[i]);
    }
    op->n_gone = 0;
}

static void user_recent_free(void *p)
{
    struct user_recent *u = p;

    if (u == NULL) {
        return;
    }
    for (size_t i = 0; i < u->n; i++) {
        free(u->items[i]);
    }
    free(u->items);
    free(u);
}

static int load_items(struct popular *op, char *errstr, size_t errlen)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int rc;

    recd_strmap_clear(op->items);
    op->hwm = 0;
    if (recd_state_get(op->state, RECD_CF_MODEL, "pop.hwm", 7, &op->val) == RECD_OK &&
        op->val.len == sizeof(int64_t)) {
        memcpy(&op->hwm, op->val.data, sizeof(int64_t));
    }
    rc = recd_state_iter_new(op->state, RECD_CF_MODEL, "pop\0", 4, &it);
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "popular: cannot iterate state");
    }
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        struct pop_item *pi;
        char *id;

        if (vl != sizeof(struct pop_rec)) {
            continue;
        }
        pi = calloc(1, sizeof(*pi));
        id = recd_strndup((const char *)k + 4, kl - 4);
        if (pi == NULL || id == NULL || recd_strmap_put(op->items, id, pi) != RECD_OK) {
            free(pi);
            free(id);
            recd_state_iter_destroy(it);
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
        }
        memcpy(&pi->r, v, sizeof(pi->r));
        free(id);
    }
    recd_state_iter_destroy(it);
    return RECD_OK;
}

static int popular_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                        size_t errlen)
{
    struct popular *op = calloc(1, sizeof(*op));
    int rc;

    if (op == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
    }
    memcpy(&op->conf, conf, sizeof(op->conf));
    op->state = env->state;
    op->model_version = env->model_version;
    recd_buf_init(&op->key);
    recd_buf_init(&op->val);
    op->items = recd_strmap_new(1024, free);
    op->users = recd_strmap_new(1024, user_recent_free);
    if (op->items == NULL || op->users == NULL) {
        rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
        goto fail;
    }
    rc = load_items(op, errstr, errlen);
    if (rc != RECD_OK) {
        goto fail;
    }
    RLOG_INFO(RECD_LOG_OPERATOR, "popular: %zu items loaded from state",
              recd_strmap_count(op->items));
    *ctx = op;
    return RECD_OK;
fail:
    recd_strmap_destroy(op->items);
    recd_strmap_destroy(op->users);
    gone_clear(op);
    free(op->gone);
    recd_buf_free(&op->key);
    recd_buf_free(&op->val);
    free(op);
    return rc;
}

static void popular_fini(void *ctx)
{
    struct popular *op = ctx;

    if (op == NULL) {
        return;
    }
    recd_strmap_destroy(op->items);
    recd_strmap_destroy(op->users);
    gone_clear(op);
    free(op->gone);
    recd_buf_free(&op->key);
    recd_buf_free(&op->val);
    free(op);
}

static double decay(const struct popular *op, double score, int64_t from_ms, int64_t to_ms)
{
    if (to_ms <= from_ms) {
        return score;
    }
    return score * exp2(-(double)(to_ms - from_ms) / (op->conf.half_life_s * 1000.0));
}

static int bump(struct popular *op, const char *item_id, double w, int64_t t)
{
    struct pop_item *pi = recd_strmap_get(op->items, item_id);

    if (pi == NULL) {
        pi = calloc(1, sizeof(*pi));
        if (pi == NULL || recd_strmap_put(op->items, item_id, pi) != RECD_OK) {
            free(pi);
            return RECD_ENOMEM;
        }
        pi->r.t_ms = t;
    }
    /* late events decay nothing and add their weight at the item's current time */
    if (t > pi->r.t_ms) {
        pi->r.score = decay(op, pi->r.score, pi->r.t_ms, t);
        pi->r.t_ms = t;
    }
    pi->r.score += w;
    pi->dirty = 1;
    return RECD_OK;
}

static struct user_recent *user_get(struct popular *op, const char *user_id)
{
    struct user_recent *u = recd_strmap_get(op->users, user_id);
    size_t start, i;

    if (u != NULL) {
        return u;
    }
    u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return NULL;
    }
    if (recd_key_sub(&op->key, user_id, "recent") == RECD_OK &&
        recd_state_get(op->state, RECD_CF_USERS, op->key.data, op->key.len, &op->val) == RECD_OK &&
        op->val.len > 0) {
        size_t cnt = 1;

        for (i = 0; i < op->val.len; i++) {
            cnt += op->val.data[i] == '\n';
        }
        u->items = calloc(cnt, sizeof(char *));
        if (u->items == NULL) {
            free(u);
            return NULL;
        }
        for (i = 0, start = 0; i <= op->val.len; i++) {
            if (i == op->val.len || op->val.data[i] == '\n') {
                u->items[u->n] = recd_strndup((const char *)op->val.data + start, i - start);
                if (u->items[u->n] == NULL) {
                    user_recent_free(u);
                    return NULL;
                }
                u->n++;
                start = i + 1;
            }
        }
    }
    if (recd_strmap_put(op->users, user_id, u) != RECD_OK) {
        user_recent_free(u);
        return NULL;
    }
    return u;
}

static int user_saw(struct popular *op, struct user_recent *u, const char *item_id)
{
    size_t i, max = (size_t)op->conf.recent_len;
    char *id;

    u->dirty = 1;
    u->forgotten = 0;
    if (max == 0) {
        return RECD_OK;
    }
    for (i = 0; i < u->n; i++) {
        if (strcmp(u->items[i], item_id) == 0) {
            break;
        }
    }
    if (i < u->n) {              /* move to front */
        id = u->items[i];
        memmove(u->items + 1, u->items, i * sizeof(char *));
        u->items[0] = id;
        return RECD_OK;
    }
    id = recd_strdup(item_id);
    if (id == NULL) {
        return RECD_ENOMEM;
    }
    if (u->n >= max) {
        free(u->items[u->n - 1]);
        u->n--;
    } else {
        char **p = realloc(u->items, (u->n + 1) * sizeof(char *));

        if (p == NULL) {
            free(id);
            return RECD_ENOMEM;
        }
        u->items = p;
    }
    memmove(u->items + 1, u->items, u->n * sizeof(char *));
    u->items[0] = id;
    u->n++;
    return RECD_OK;
}

struct cand {
    const char *id;
    double score;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

/* the catalogue retired item `id`: its count goes (the key at the checkpoint) */
static int retire(struct popular *op, const char *id)
{
    char *copy;

    if (recd_strmap_get(op->items, id) == NULL) {
        return RECD_OK;
    }
    if (op->n_gone == op->cap_gone) {
        size_t nc = op->cap_gone ? op->cap_gone * 2 : 16;
        char **g = realloc(op->gone, nc * sizeof(*g));

        if (g == NULL) {
            return RECD_ENOMEM;
        }
        op->gone = g;
        op->cap_gone = nc;
    }
    copy = recd_strdup(id);
    if (copy == NULL) {
        return RECD_ENOMEM;
    }
    op->gone[op->n_gone++] = copy;
    recd_strmap_del(op->items, id);
    return RECD_OK;
}

static int popular_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct popular *op = ctx;
    struct cand *top = NULL;
    size_t i, j, ntop = 0, want, pos = 0;
    const char *key;
    void *val;
    int rc = RECD_OK;

    for (i = 0; i < b->n_events; i++) {
        struct recd_event *ev = &b->events[i];
        struct user_recent *u;

        for (uint32_t k = 0; k < ev->n_retired; k++) {
            if ((rc = retire(op, ev->retired_ids[k])) != RECD_OK) {
                return recd_seterr(errstr, errlen, rc, "popular: out of memory");
            }
        }
        if (ev->kind == RECD_KIND_ITEM) {
            continue;
        }
        if (ev->kind == RECD_KIND_DELETION) {
            /* the user is forgotten: an empty view, so nothing committed is read back */
            u = calloc(1, sizeof(*u));
            if (u == NULL || recd_strmap_put(op->users, ev->user_id, u) != RECD_OK) {
                free(u);
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
            }
            u->forgotten = 1;
            continue;
        }
        if (ev->ts_ms > op->hwm) {
            op->hwm = ev->ts_ms;
            op->hwm_dirty = 1;
        }
        u = user_get(op, ev->user_id);
        if (u == NULL) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
        }
        if (ev->kind == RECD_KIND_CLICK) {
            double w = ev->u.click.type == RECD_CLICK_CART ? op->conf.w_cart : op->conf.w_view;

            rc = bump(op, ev->u.click.item_id, w, ev->ts_ms);
            if (rc == RECD_OK) {
                rc = user_saw(op, u, ev->u.click.item_id);
            }
        } else if (ev->kind == RECD_KIND_PURCHASE) {
            for (j = 0; j < ev->u.purchase.n_lines && rc == RECD_OK; j++) {
                const struct recd_purchase_line *l = &ev->u.purchase.lines[j];

                rc = bump(op, l->item_id, op->conf.w_purchase * l->quantity, ev->ts_ms);
                if (rc == RECD_OK) {
                    rc = user_saw(op, u, l->item_id);
                }
            }
        } else {
            u->dirty = 1;
            u->forgotten = 0;
        }
        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, rc, "popular: out of memory");
        }
        rc = recd_batch_mark_dirty(b, ev->user_id, ev->event_id);
        if (rc != RECD_OK) {
            return recd_seterr(errstr, errlen, rc, "popular: out of memory");
        }
    }
    if (b->n_dirty == 0) {
        return RECD_OK;
    }

    /* Rank all items once for the batch at the high-water mark, keep the best n+recent. */
    want = (size_t)(op->conf.n + (op->conf.exclude_seen ? op->conf.recent_len : 0));
    top = malloc(recd_strmap_count(op->items) * sizeof(*top) + 1);
    if (top == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
    }
    while (recd_strmap_next(op->items, &pos, &key, &val)) {
        const struct pop_item *pi = val;

        top[ntop].id = key;
        top[ntop].score = decay(op, pi->r.score, pi->r.t_ms, op->hwm);
        ntop++;
    }
    qsort(top, ntop, sizeof(*top), cmp_cand);
    if (ntop > want) {
        ntop = want;
    }

    recd_batch_dirty_sorted(b);
    for (i = 0; i < b->n_dirty; i++) {
        struct user_recent *u = recd_strmap_get(op->users, b->dirty[i]);
        struct recd_recs *r = recd_batch_add_output(b);
        size_t k;

        if (r == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
            break;
        }
        r->user_id = b->dirty[i];
        r->trigger_event_id = b->dirty_trigger[i];
        r->model_version = op->model_version;
        r->items = recd_arena_alloc(b->arena, (size_t)op->conf.n * sizeof(*r->items));
        if (r->items == NULL) {
            rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
            break;
        }
        for (j = 0; j < ntop && r->n_items < (uint32_t)op->conf.n; j++) {
            int seen = 0;

            for (k = 0; op->conf.exclude_seen && u != NULL && k < u->n; k++) {
                if (strcmp(u->items[k], top[j].id) == 0) {
                    seen = 1;
                    break;
                }
            }
            if (seen) {
                continue;
            }
            r->items[r->n_items].item_id = recd_arena_strndup(b->arena, top[j].id,
                                                              strlen(top[j].id));
            r->items[r->n_items].score = (float)top[j].score;
            r->items[r->n_items].reason = "popular";
            r->items[r->n_items].because_item_id = NULL;
            if (r->items[r->n_items].item_id == NULL) {
                rc = recd_seterr(errstr, errlen, RECD_ENOMEM, "popular: out of memory");
                break;
            }
            r->n_items++;
        }
    }
    free(top);
    return rc;
}

static int popular_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct popular *op = ctx;
    size_t pos = 0, i;
    const char *key;
    void *val;
    int rc = RECD_OK;

    /* Items: written in any order — a RocksDB write batch's result does not depend on the
     * order of puts to distinct keys. */
    while (rc == RECD_OK && recd_strmap_next(op->items, &pos, &key, &val)) {
        struct pop_item *pi = val;

        if (!pi->dirty) {
            continue;
        }
        op->key.len = 0;
        if (recd_buf_append(&op->key, "pop", 4) != RECD_OK ||
            recd_buf_append(&op->key, key, strlen(key)) != RECD_OK) {
            rc = RECD_ENOMEM;
            break;
        }
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, op->key.data, op->key.len, &pi->r, sizeof(pi->r));
    }
    for (i = 0; rc == RECD_OK && i < op->n_gone; i++) {
        if (recd_strmap_get(op->items, op->gone[i]) != NULL) {
            continue;   /* clicked again after it was retired: a new count, put above */
        }
        op->key.len = 0;
        rc = recd_buf_append(&op->key, "pop", 4) != RECD_OK ||
                recd_buf_append(&op->key, op->gone[i], strlen(op->gone[i])) != RECD_OK
            ? RECD_ENOMEM
            : recd_txn_del(b->txn, RECD_CF_MODEL, op->key.data, op->key.len);
    }
    if (rc == RECD_OK && op->hwm_dirty) {
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, "pop.hwm", 7, &op->hwm, sizeof(op->hwm));
    }
    pos = 0;
    while (rc == RECD_OK && recd_strmap_next(op->users, &pos, &key, &val)) {
        struct user_recent *u = val;

        if (!u->dirty) {
            continue;
        }
        op->val.len = 0;
        for (i = 0; i < u->n && rc == RECD_OK; i++) {
            if ((i > 0 && recd_buf_append(&op->val, "\n", 1) != RECD_OK) ||
                recd_buf_append(&op->val, u->items[i], strlen(u->items[i])) != RECD_OK) {
                rc = RECD_ENOMEM;
            }
        }
        if (rc == RECD_OK) {
            rc = recd_key_sub(&op->key, key, "recent");
        }
        if (rc == RECD_OK) {
            rc = recd_txn_put(b->txn, RECD_CF_USERS, op->key.data, op->key.len,
                              op->val.data ? (const void *)op->val.data : "", op->val.len);
        }
    }
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "popular: checkpoint failed: %s", recd_strerror(rc));
    }
    return RECD_OK;
}

static void popular_committed(void *ctx, int ok)
{
    struct popular *op = ctx;
    size_t pos = 0;
    const char *key;
    void *val;
    char err[256];

    recd_strmap_clear(op->users); /* per-batch view; the committed state is the truth */
    gone_clear(op);
    if (!ok) {
        if (load_items(op, err, sizeof(err)) != RECD_OK) {
            RLOG_ERR(RECD_LOG_OPERATOR, "%s", err);
        }
        op->hwm_dirty = 0;
        return;
    }
    while (recd_strmap_next(op->items, &pos, &key, &val)) {
        ((struct pop_item *)val)->dirty = 0;
    }
    op->hwm_dirty = 0;
}

static int popular_reconfigure(void *ctx, const void *conf, char *errstr, size_t errlen)
{
    struct popular *op = ctx;
    const struct popular_conf *c = conf;

    op->conf.n = c->n;
    op->conf.exclude_seen = c->exclude_seen;
    return RECD_OK;
}

const struct recd_operator_desc recd_op_popular = {
    .name = "popular",
    .description = "time-decayed popular items, minus what the user saw recently",
    .conf = &popular_unit,
    .init = popular_init,
    .process = popular_process,
    .tick = NULL,
    .checkpoint = popular_checkpoint,
    .committed = popular_committed,
    .reconfigure = popular_reconfigure,
    .fini = popular_fini,
};
