/*
 * sessionize.c — the sessionize operator: per-user sessions on event time, the user's
 * long-term profile, and the catalogue (item dictionary + metadata). It offers the
 * operators after it services "catalog" and "sessions" (services/catalog.h,
 * services/sessions.h).
 *
 * Sessions. An event starts a new session when it comes more than `gap_s` after the user's
 * last event. Events up to `grace_s` older than the session's last event still join it (late
 * or out-of-order arrivals, in arrival order). Events older than that, or older than the
 * stream's event-time high-water mark minus `session_ttl_s`, are "late": they count in the
 * profile but not in the session. A session whose last event is older than hwm - ttl does not
 * exist any more (logical expiry), and is deleted at the end of the batch through a time-
 * bucketed index (MODEL "sxp" 0x00 <bucket be64> 0x00 <user>), so expiry never scans all users.
 *
 * State:
 *   SESSIONS <user>\0sess  -> struct recd_session (format version byte + bytes)
 *   USERS    <user>\0prof  -> struct recd_profile
 *   ITEMS    <item>\0idx   -> int32 dense index;  ITEMS <item>\0meta -> struct recd_item_meta
 *   MODEL    sz.hwm        -> int64 event-time high-water mark;  MODEL sz.nitems -> int32
 *   MODEL    sxp\0<bucket>\0<user> -> "" (expiry index)
 *   ITEMS    <item>\0ret   -> int64 event time since which a removed item is unused
 *   MODEL    sz.free       -> the retired indexes, oldest first: (int32 idx, int32 0, int64
 *                             event time from which it is given to a new item) each
 *
 * Retirement. An item removed from the catalogue and then neither listed again, clicked nor
 * purchased for `retire_removed_days` of event time is retired at the first event after the
 * next day boundary: its id leaves the dictionary, its ITEMS keys (those of every operator)
 * are deleted, and the event carries its index and id (recd_event.retired) so that the
 * operators after this one drop what they hold for it. The index is given to a new item
 * `retire_removed_days` later, when no session or purchase window can still name it.
 * Structs are stored as their bytes (created zeroed, so padding is deterministic); the state
 * directory is therefore tied to the CPU architecture, like RocksDB's own files are not.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "operator.h"
#include "recd.h"
#include "services/catalog.h"
#include "services/sessions.h"
#include "state.h"
#include "strmap.h"

/* A user's session and profile records: a version byte, then the struct. Version 1 (the
 * format recd wrote before zero-packing): the struct's bytes as they are. Version 2:
 * zero-packed (recd_zpack) — a short session leaves most of its arrays unused, and the raw
 * ~1 KiB per user was most of what each batch wrote (WAL, memtable; bench/throughput rerank
 * off: commit -0.3 us per click with ~100-byte records). Both are read; version 2 is
 * written. */
#define FORMAT_RAW     1
#define FORMAT_VERSION 2
#define BUCKET_MS      3600000LL

#define DAY_MS         86400000LL

struct sz_conf {
    double gap_s, grace_s, session_ttl_s, profile_half_life_s, retire_removed_days;
};

static const struct recd_conf_decl sz_decls[] = {
    { "gap_s", RECD_CT_DOUBLE, "1800.0", 1, 1e8, 0, offsetof(struct sz_conf, gap_s),
      "Inactivity gap (seconds of event time) after which a user's next event starts a new "
      "session.",
      NULL, NULL },
    { "grace_s", RECD_CT_DOUBLE, "60.0", 0, 1e7, 0, offsetof(struct sz_conf, grace_s),
      "Events up to this much older than the session's last event still join it (late or "
      "out-of-order arrivals); older ones only update the profile.",
      NULL, NULL },
    { "session_ttl_s", RECD_CT_DOUBLE, "604800.0", 60, 1e9, 0,
      offsetof(struct sz_conf, session_ttl_s),
      "A session whose last event is this much older than the newest event seen expires and is "
      "deleted (bounded state). Must exceed gap_s.",
      NULL, NULL },
    { "profile_half_life_s", RECD_CT_DOUBLE, "2592000.0", 60, 1e10, 0,
      offsetof(struct sz_conf, profile_half_life_s),
      "Half-life (event time) of the long-term category and price affinities.", NULL, NULL },
    { "retire_removed_days", RECD_CT_DOUBLE, "30.0", 0, 36500, 0,
      offsetof(struct sz_conf, retire_removed_days),
      "An item removed from the catalogue (tombstone) and then neither listed again, clicked "
      "nor purchased for this many days of event time is retired: its catalogue entry, text "
      "vector and model statistics are deleted, and its index is given to a new item this many "
      "days later. At least session_ttl_s, and half of operators.rerank.exclude_purchased_s. "
      "0: removed items are kept for ever.",
      NULL, NULL },
};

static const struct recd_conf_unit sz_unit = {
    "operators.sessionize",
    "Event-time sessions, session context and long-term profiles; owns the item catalogue.",
    sz_decls, RECD_ARRAY_SIZE(sz_decls), sizeof(struct sz_conf)
};

struct recd_catalog {
    struct recd_strmap *ids;        /* item id -> (void *)(intptr_t)(idx + 1) */
    char **id;                      /* owned strings, by idx */
    struct recd_item_meta *meta;    /* by idx */
    struct recd_idxset dirty;       /* items to write: 1 idx+meta, 2 meta only */
    size_t n, cap;
    size_t n_listed;                /* items some catalogue record has listed (meta.known) */
    int64_t *since;                 /* by idx: event time since which a removed item is unused
                                     * (0: not removed) */
    int64_t next_due;               /* the earliest a removed item is due (INT64_MAX: none) */
    struct cat_free {               /* a retired index, given to a new item from `at` on */
        int32_t idx, pad;
        int64_t at;
    } *free_q;                      /* owned, oldest first from free_head */
    size_t free_head, n_free, cap_free;
    int free_dirty;                 /* free_q changed in this batch */
    char **gone;                    /* owned: ids retired in this batch, until it commits */
    size_t n_gone, cap_gone;
};

struct userview {
    struct recd_session s;
    struct recd_profile p;
    int has_s, has_p;
    int dirty;
    int forgotten;
    int64_t loaded_bucket;          /* expiry bucket of the committed session, -1 none */
};

struct recd_sessions {
    struct sessionize *op;          /* back-pointer */
};

struct sessionize {
    struct sz_conf conf;
    struct recd_state *state;       /* borrowed */
    struct recd_catalog cat;
    struct recd_sessions sessions;
    struct recd_strmap *users;      /* user id -> struct userview (this batch) */
    int64_t hwm, hwm_committed;
    int64_t swept_upto, sweep_pending;  /* expiry buckets swept (in memory: -1 after start) */
    struct recd_buf key, val;
    struct recd_metrics *metrics;   /* borrowed, may be NULL */
    uint64_t retired;               /* items retired by this process */
};

/* ---- catalog -------------------------------------------------------------------------------- */

uint32_t recd_category_hash(const char *name)
{
    return (uint32_t)XXH3_64bits(name, strlen(name)) | 1u;   /* never 0 (0 = unknown) */
}

int32_t recd_catalog_find(const struct recd_catalog *c, const char *item_id)
{
    void *v = recd_strmap_get(c->ids, item_id);

    return v ? (int32_t)((intptr_t)v - 1) : -1;
}

const char *recd_catalog_item_id(const struct recd_catalog *c, int32_t idx)
{
    return (idx >= 0 && (size_t)idx < c->n) ? c->id[idx] : NULL;
}

size_t recd_catalog_size(const struct recd_catalog *c)
{
    return c->n;
}

size_t recd_catalog_listed(const struct recd_catalog *c)
{
    return c->n_listed;
}

const struct recd_item_meta *recd_catalog_meta(const struct recd_catalog *c, int32_t idx)
{
    return (idx >= 0 && (size_t)idx < c->n) ? &c->meta[idx] : NULL;
}

static int cat_grow(struct recd_catalog *c, size_t need)
{
    size_t nc = c->cap ? c->cap : 1024;

    if (need <= c->cap) {
        return RECD_OK;
    }
    while (nc < need) {
        nc *= 2;
    }
    char **id = realloc(c->id, nc * sizeof(*id));
    if (id == NULL) {
        return RECD_ENOMEM;
    }
    c->id = id;
    struct recd_item_meta *m = realloc(c->meta, nc * sizeof(*m));
    if (m == NULL) {
        return RECD_ENOMEM;
    }
    c->meta = m;
    int64_t *since = realloc(c->since, nc * sizeof(*since));
    if (since == NULL) {
        return RECD_ENOMEM;
    }
    c->since = since;
    if (recd_idxset_grow(&c->dirty, nc) != RECD_OK) {
        return RECD_ENOMEM;
    }
    memset(c->id + c->cap, 0, (nc - c->cap) * sizeof(*id));
    memset(c->meta + c->cap, 0, (nc - c->cap) * sizeof(*m));
    memset(c->since + c->cap, 0, (nc - c->cap) * sizeof(*since));
    c->cap = nc;
    return RECD_OK;
}

/* Place item `id` at `idx` (load) — arrays grow as needed. */
static int cat_place(struct recd_catalog *c, const char *id, int32_t idx)
{
    if (idx < 0 || cat_grow(c, (size_t)idx + 1) != RECD_OK) {
        return RECD_ENOMEM;
    }
    if (c->id[idx] == NULL) {
        c->id[idx] = recd_strdup(id);
        if (c->id[idx] == NULL ||
            recd_strmap_put(c->ids, id, (void *)(intptr_t)(idx + 1)) != RECD_OK) {
            return RECD_ENOMEM;
        }
        c->meta[idx].in_stock = 1;
    }
    if ((size_t)idx + 1 > c->n) {
        c->n = (size_t)idx + 1;
    }
    return RECD_OK;
}

/* Index of an item, assigned on first sight (in stream order): the oldest retired index
 * whose wait is over at event time `now`, else the next new one. -1 on OOM. */
static int32_t cat_intern(struct recd_catalog *c, const char *id, int64_t now)
{
    int32_t idx = recd_catalog_find(c, id);

    if (idx >= 0) {
        return idx;
    }
    if (c->free_head < c->n_free && c->free_q[c->free_head].at <= now) {
        idx = c->free_q[c->free_head++].idx;
        c->free_dirty = 1;
        memset(&c->meta[idx], 0, sizeof(c->meta[idx]));
        c->since[idx] = 0;
    } else {
        idx = (int32_t)c->n;
    }
    if (cat_place(c, id, idx) != RECD_OK) {
        return -1;
    }
    if (recd_idxset_add(&c->dirty, idx, 1) != RECD_OK) {
        return -1;
    }
    return idx;
}

static void gone_clear(struct recd_catalog *c)
{
    for (size_t i = 0; i < c->n_gone; i++) {
        free(c->gone[i]);
    }
    c->n_gone = 0;
}

static void cat_free(struct recd_catalog *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->id[i]);
    }
    free(c->id);
    free(c->meta);
    free(c->since);
    free(c->free_q);
    gone_clear(c);
    free(c->gone);
    recd_idxset_free(&c->dirty);
    recd_strmap_destroy(c->ids);
    memset(c, 0, sizeof(*c));
}

static int cat_load(struct sessionize *op)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int rc = RECD_OK;

    if (recd_state_iter_new(op->state, RECD_CF_ITEMS, NULL, 0, &it) != RECD_OK) {
        return RECD_ENOMEM;
    }
    while (rc == RECD_OK && recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        const char *key = k;
        size_t idlen = strnlen(key, kl);
        const char *sub = key + idlen + 1;
        char *id;
        int32_t idx;

        if (idlen + 1 >= kl) {
            continue;
        }
        id = recd_strndup(key, idlen);
        if (id == NULL) {
            rc = RECD_ENOMEM;
            break;
        }
        if (kl - idlen - 1 == 3 && memcmp(sub, "idx", 3) == 0 && vl == sizeof(int32_t)) {
            memcpy(&idx, v, sizeof(idx));
            rc = cat_place(&op->cat, id, idx);
        }
        free(id);
    }
    recd_state_iter_destroy(it);
    /* second pass: metadata (the dictionary is complete now) */
    if (rc == RECD_OK && recd_state_iter_new(op->state, RECD_CF_ITEMS, NULL, 0, &it) == RECD_OK) {
        while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
            const char *key = k;
            size_t idlen = strnlen(key, kl);
            int32_t idx;

            int ret = idlen + 1 + 3 == kl && memcmp(key + idlen + 1, "ret", 3) == 0 &&
                vl == sizeof(int64_t);

            if (!ret && (idlen + 1 + 4 != kl || memcmp(key + idlen + 1, "meta", 4) != 0 ||
                         vl != sizeof(struct recd_item_meta))) {
                continue;
            }
            char *id = recd_strndup(key, idlen);
            if (id == NULL) {
                rc = RECD_ENOMEM;
                break;
            }
            idx = recd_catalog_find(&op->cat, id);
            free(id);
            if (idx >= 0 && ret) {
                memcpy(&op->cat.since[idx], v, sizeof(int64_t));
            } else if (idx >= 0) {
                op->cat.n_listed -= op->cat.meta[idx].known;
                memcpy(&op->cat.meta[idx], v, vl);
                op->cat.n_listed += op->cat.meta[idx].known;
            }
        }
        recd_state_iter_destroy(it);
    }
    return rc;
}

/* ---- users -------------------------------------------------------------------------------- */

static int64_t bucket_of(int64_t ts)
{
    return ts / BUCKET_MS;
}

static int expired(const struct sessionize *op, int64_t last_ts)
{
    return last_ts < op->hwm - (int64_t)(op->conf.session_ttl_s * 1000.0);
}

static int load_blob(struct sessionize *op, int cf, const char *user, const char *sub, void *out,
                     size_t size)
{
    if (recd_key_sub(&op->key, user, sub) != RECD_OK ||
        recd_state_get(op->state, cf, op->key.data, op->key.len, &op->val) != RECD_OK ||
        op->val.len < 1) {
        return 0;
    }
    if (op->val.data[0] == FORMAT_VERSION &&
        recd_zunpack(op->val.data + 1, op->val.len - 1, out, size) == RECD_OK) {
        return 1;
    }
    if (op->val.data[0] == FORMAT_RAW && op->val.len == size + 1) {
        memcpy(out, op->val.data + 1, size);
        return 1;
    }
    /* another format or a damaged value: the user starts afresh (docs/OPERATIONS.md) */
    recd_log_rl(RECD_LOG_OPERATOR, RECD_LOG_WARNING, "sessionize.unreadable",
                "sessionize: user %s: unreadable %s record (format %u, %zu bytes): ignored", user,
                sub, (unsigned)op->val.data[0], op->val.len);
    return 0;
}

static struct userview *user_view(struct sessionize *op, const char *user)
{
    struct userview *u = recd_strmap_get(op->users, user);

    if (u != NULL) {
        return u;
    }
    u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return NULL;
    }
    u->loaded_bucket = -1;
    u->has_s = load_blob(op, RECD_CF_SESSIONS, user, "sess", &u->s, sizeof(u->s));
    if (u->has_s) {
        u->loaded_bucket = bucket_of(u->s.last_ts);
        if (expired(op, u->s.last_ts)) {
            u->has_s = 0;       /* logically gone; deleted at checkpoint */
            u->dirty = 1;
        }
    }
    u->has_p = load_blob(op, RECD_CF_USERS, user, "prof", &u->p, sizeof(u->p));
    /* counts index fixed arrays: a record that decodes but does not fit is not used */
    if (u->has_s && u->s.n_items > RECD_SESSION_ITEMS) {
        u->has_s = 0;
        u->dirty = 1;
    }
    if (u->has_p &&
        (u->p.n_cats > RECD_PROFILE_CATS || u->p.n_purchased > RECD_PROFILE_PURCHASES)) {
        u->has_p = 0;
    }
    if (recd_strmap_put(op->users, user, u) != RECD_OK) {
        free(u);
        return NULL;
    }
    return u;
}

const struct recd_session *recd_sessions_get(struct recd_sessions *s, const char *user_id)
{
    struct userview *u = user_view(s->op, user_id);

    return (u != NULL && u->has_s && !u->forgotten) ? &u->s : NULL;
}

const struct recd_profile *recd_profile_get(struct recd_sessions *s, const char *user_id)
{
    struct userview *u = user_view(s->op, user_id);

    return (u != NULL && u->has_p && !u->forgotten) ? &u->p : NULL;
}

static void profile_decay(struct sessionize *op, struct recd_profile *p, int64_t ts)
{
    double f;

    if (ts <= p->updated_ts) {
        return;
    }
    f = p->updated_ts == 0
        ? 1.0
        : exp2(-(double)(ts - p->updated_ts) / (op->conf.profile_half_life_s * 1000.0));
    for (uint32_t i = 0; i < p->n_cats; i++) {
        p->cat_w[i] = (float)(p->cat_w[i] * f);
    }
    p->price_w = (float)(p->price_w * f);
    p->updated_ts = ts;
}

static void profile_add_cat(struct recd_profile *p, uint32_t cat, float w)
{
    uint32_t i, min = 0;

    if (cat == 0) {
        return;
    }
    for (i = 0; i < p->n_cats; i++) {
        if (p->cat[i] == cat) {
            p->cat_w[i] += w;
            return;
        }
        if (p->cat_w[i] < p->cat_w[min]) {
            min = i;
        }
    }
    if (p->n_cats < RECD_PROFILE_CATS) {
        i = p->n_cats++;
    } else {
        i = min;   /* replace the weakest */
    }
    p->cat[i] = cat;
    p->cat_w[i] = w;
}

static void profile_add_price(struct recd_profile *p, float price, float w)
{
    if (price <= 0) {
        return;
    }
    p->log_price_mean = (p->log_price_mean * p->price_w + logf(price) * w) / (p->price_w + w);
    p->price_w += w;
}

static void session_add_cat(struct recd_session *s, uint32_t cat)
{
    uint32_t i, min = 0;

    if (cat == 0) {
        return;
    }
    for (i = 0; i < 4; i++) {
        if (s->top_cat[i] == cat) {
            s->top_cat_n[i]++;
            return;
        }
        if (s->top_cat_n[i] < s->top_cat_n[min]) {
            min = i;
        }
    }
    s->top_cat[min] = cat;
    s->top_cat_n[min] = 1;
}

static void copy_field(char *dst, size_t n, const char *src)
{
    size_t l = src ? strnlen(src, n - 1) : 0;

    memset(dst, 0, n);
    if (l) {
        memcpy(dst, src, l);
    }
}

/* Start a session or continue it; returns 0 when the event is late (profile only). */
static int session_touch(struct sessionize *op, struct userview *u, const char *user,
                         const struct recd_event *ev)
{
    struct recd_session *s = &u->s;
    int64_t gap = (int64_t)(op->conf.gap_s * 1000.0), grace = (int64_t)(op->conf.grace_s * 1000.0);

    if (expired(op, ev->ts_ms)) {
        return 0;
    }
    if (u->has_s && ev->ts_ms < s->last_ts - grace) {
        s->n_late++;
        return 0;
    }
    if (!u->has_s || ev->ts_ms - s->last_ts > gap) {
        uint32_t number = ++u->p.n_sessions;   /* in the profile: survives session expiry */

        memset(s, 0, sizeof(*s));
        s->number = number;
        s->key = recd_session_key(user, number);
        s->start_ts = ev->ts_ms;
        s->last_ts = ev->ts_ms;
        s->local_hour = -1;
        s->price_min = INFINITY;
        u->has_s = 1;
    }
    if (ev->ts_ms > s->last_ts) {
        if (s->n_items > 0 && s->dwell_ms[s->n_items - 1] == 0) {
            s->dwell_ms[s->n_items - 1] = (uint32_t)(ev->ts_ms - s->last_ts);
        }
        s->last_ts = ev->ts_ms;
    }
    s->n_events++;
    return 1;
}

static void session_click(struct recd_session *s, int32_t idx, const struct recd_item_meta *m)
{
    if (s->n_items == RECD_SESSION_ITEMS) {
        memmove(s->items, s->items + 1, (RECD_SESSION_ITEMS - 1) * sizeof(s->items[0]));
        memmove(s->dwell_ms, s->dwell_ms + 1, (RECD_SESSION_ITEMS - 1) * sizeof(s->dwell_ms[0]));
        s->n_items--;
    }
    s->items[s->n_items] = idx;
    s->dwell_ms[s->n_items] = 0;
    s->n_items++;
    if (m != NULL) {
        session_add_cat(s, m->cat_leaf);
        if (m->price > 0) {
            s->price_min = fminf(s->price_min, m->price);
            s->price_max = fmaxf(s->price_max, m->price);
            s->price_sum += m->price;
            s->price_n++;
        }
    }
}

static void scene(struct recd_session *s, const struct recd_click *c)
{
    for (uint32_t i = 0; i < c->n_context; i++) {
        const char *k = c->context[i].key, *v = c->context[i].value;

        if (strcmp(k, "channel") == 0) {
            copy_field(s->channel, sizeof(s->channel), v);
        } else if (strcmp(k, "device") == 0) {
            copy_field(s->device, sizeof(s->device), v);
        } else if (strcmp(k, "local_hour") == 0) {
            s->local_hour = atoi(v);
        }
    }
}

/* ---- retirement of removed items ------------------------------------------------------- */

static int64_t retire_ms(const struct sessionize *op)
{
    return (int64_t)(op->conf.retire_removed_days * (double)DAY_MS);
}

/* when a removed item unused since `since` is retired: the first day boundary after
 * since + retire_removed_days (so that the items due on one day go together) */
static int64_t due_of(const struct sessionize *op, int64_t since)
{
    if (since <= 1) {
        return INT64_MAX; /* removed before any event time: dated by the first (below) */
    }
    return ((since + retire_ms(op)) / DAY_MS + 1) * DAY_MS;
}

/* item idx was removed, or used while removed, at event time `now` (0: before any event time:
 * since = 1 until the first event dates it) */
static int mark_unused_since(struct sessionize *op, int32_t idx, int64_t now)
{
    struct recd_catalog *c = &op->cat;
    int64_t due;

    if (op->conf.retire_removed_days <= 0) {
        return RECD_OK;
    }
    c->since[idx] = now > 1 ? now : 1;
    due = due_of(op, c->since[idx]);
    if (due < c->next_due) {
        c->next_due = due;
    }
    return recd_idxset_add(&c->dirty, idx, 2);
}

/* the first event time: items removed before it are unused from it on */
static int date_undated(struct sessionize *op, int64_t now)
{
    for (size_t i = 0; i < op->cat.n; i++) {
        if (op->cat.since[i] == 1 && mark_unused_since(op, (int32_t)i, now) != RECD_OK) {
            return RECD_ENOMEM;
        }
    }
    return RECD_OK;
}

/* the removed items due at event time op->hwm leave the catalogue; the event `ev` (the first
 * after their due time) carries them to the operators after this one */
static int retire_due(struct sessionize *op, struct recd_batch *b, struct recd_event *ev)
{
    struct recd_catalog *c = &op->cat;
    int64_t next = INT64_MAX;
    size_t n = 0, k = 0;
    int32_t *idx;
    const char **ids;

    for (size_t i = 0; i < c->n; i++) {
        if (c->since[i] > 0) {
            int64_t due = due_of(op, c->since[i]);

            if (due <= op->hwm) {
                n++;
            } else if (due < next) {
                next = due;
            }
        }
    }
    c->next_due = next;
    if (n == 0) {
        return RECD_OK;
    }
    idx = recd_arena_alloc(b->arena, n * sizeof(*idx));
    ids = recd_arena_alloc(b->arena, n * sizeof(*ids));
    if (idx == NULL || ids == NULL) {
        return RECD_ENOMEM;
    }
    if (c->n_gone + n > c->cap_gone) {
        size_t nc = (c->n_gone + n) * 2;
        char **g = realloc(c->gone, nc * sizeof(*g));

        if (g == NULL) {
            return RECD_ENOMEM;
        }
        c->gone = g;
        c->cap_gone = nc;
    }
    if (c->n_free + n > c->cap_free) {
        size_t nc = (c->n_free + n) * 2;
        struct cat_free *q = realloc(c->free_q, nc * sizeof(*q));

        if (q == NULL) {
            return RECD_ENOMEM;
        }
        c->free_q = q;
        c->cap_free = nc;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->since[i] == 0 || due_of(op, c->since[i]) > op->hwm) {
            continue;
        }
        recd_strmap_del(c->ids, c->id[i]);
        c->gone[c->n_gone++] = c->id[i];   /* its keys are deleted at the checkpoint */
        ids[k] = c->id[i];
        idx[k++] = (int32_t)i;
        c->id[i] = NULL;
        c->n_listed -= c->meta[i].known;
        memset(&c->meta[i], 0, sizeof(c->meta[i]));
        c->meta[i].removed = 1;            /* no operator offers it while it waits */
        c->since[i] = 0;
        c->free_q[c->n_free].idx = (int32_t)i;
        c->free_q[c->n_free].pad = 0;
        c->free_q[c->n_free++].at = op->hwm + retire_ms(op);
    }
    c->free_dirty = 1;
    ev->retired = idx;
    ev->retired_ids = ids;
    ev->n_retired = (uint32_t)n;
    op->retired += n;
    RLOG_INFO(RECD_LOG_OPERATOR, "sessionize: %zu removed items retired (unused for %g days)", n,
              op->conf.retire_removed_days);
    return RECD_OK;
}

static int on_item(struct sessionize *op, const struct recd_item *it)
{
    int32_t idx = cat_intern(&op->cat, it->item_id, op->hwm);
    struct recd_item_meta *m;

    if (idx < 0) {
        return RECD_ENOMEM;
    }
    m = &op->cat.meta[idx];
    if (it->removed) {
        if (!m->removed || op->cat.since[idx] == 0) {
            if (mark_unused_since(op, idx, op->hwm) != RECD_OK) {
                return RECD_ENOMEM;
            }
        }
        m->removed = 1;
        m->in_stock = 0;
    } else {
        m->removed = 0;
        op->cat.since[idx] = 0;
        op->cat.n_listed += !m->known;
        m->known = 1;
        m->in_stock = it->in_stock ? 1 : 0;
        m->price = (float)it->price;
        m->cat_top = it->n_category > 0 ? recd_category_hash(it->category[0]) : 0;
        if (it->n_category > 0) {
            char path[512] = "";

            for (uint32_t i = 0; i < it->n_category; i++) {
                snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%s", i ? "/" : "",
                         it->category[i]);
            }
            m->cat_leaf = recd_category_hash(path);
        } else {
            m->cat_leaf = 0;
        }
    }
    return recd_idxset_add(&op->cat.dirty, idx, 2);
}

static int sz_process(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct sessionize *op = ctx;

    for (size_t i = 0; i < b->n_events; i++) {
        struct recd_event *ev = &b->events[i];
        struct userview *u;

        if (op->cat.next_due <= op->hwm && retire_due(op, b, ev) != RECD_OK) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
        }
        if (ev->kind == RECD_KIND_ITEM) {
            if (on_item(op, &ev->u.item) != RECD_OK) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
            }
            continue;
        }
        u = user_view(op, ev->user_id);
        if (u == NULL) {
            return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
        }
        if (ev->kind == RECD_KIND_DELETION) {
            /* for sgd: end the user's sessions in the model (keys 1..n_sessions) */
            ev->session_key = u->has_s ? u->s.key : 0;
            ev->u.deletion.n_sessions = u->has_p ? u->p.n_sessions : 0;
            memset(&u->s, 0, sizeof(u->s));
            memset(&u->p, 0, sizeof(u->p));
            u->has_s = u->has_p = 0;
            u->forgotten = 1;
            u->dirty = 1;
            continue;
        }
        u->forgotten = 0;
        u->dirty = 1;
        if (!u->has_p) {
            memset(&u->p, 0, sizeof(u->p));
            u->has_p = 1;
        }
        profile_decay(op, &u->p, ev->ts_ms);
        if (ev->kind == RECD_KIND_CLICK) {
            int32_t idx = cat_intern(&op->cat, ev->u.click.item_id, op->hwm);
            const struct recd_item_meta *m;

            if (idx < 0) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
            }
            m = &op->cat.meta[idx];
            ev->item_idx = idx;
            if (op->cat.since[idx] > 0 &&
                mark_unused_since(op, idx, ev->ts_ms > op->hwm ? ev->ts_ms : op->hwm) != RECD_OK) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
            }
            profile_add_cat(&u->p, m->cat_leaf, ev->u.click.type == RECD_CLICK_CART ? 3.0f : 1.0f);
            profile_add_price(&u->p, m->price, 1.0f);
            if (session_touch(op, u, ev->user_id, ev)) {
                session_click(&u->s, idx, m);
                u->s.n_clicks++;
                u->s.n_carts += ev->u.click.type == RECD_CLICK_CART;
                scene(&u->s, &ev->u.click);
            }
        } else if (ev->kind == RECD_KIND_PURCHASE) {
            for (uint32_t j = 0; j < ev->u.purchase.n_lines; j++) {
                int32_t idx = cat_intern(&op->cat, ev->u.purchase.lines[j].item_id, op->hwm);
                struct recd_profile *p = &u->p;

                if (idx < 0 || (op->cat.since[idx] > 0 &&
                                mark_unused_since(op, idx,
                                                  ev->ts_ms > op->hwm ? ev->ts_ms : op->hwm) !=
                                    RECD_OK)) {
                    return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
                }
                profile_add_cat(p, op->cat.meta[idx].cat_leaf, 5.0f);
                profile_add_price(p, (float)ev->u.purchase.lines[j].unit_price, 5.0f);
                if (p->n_purchased == RECD_PROFILE_PURCHASES) {
                    memmove(p->purchased, p->purchased + 1,
                            (RECD_PROFILE_PURCHASES - 1) * sizeof(int32_t));
                    memmove(p->purchased_ts, p->purchased_ts + 1,
                            (RECD_PROFILE_PURCHASES - 1) * sizeof(int64_t));
                    p->n_purchased--;
                }
                p->purchased[p->n_purchased] = idx;
                p->purchased_ts[p->n_purchased] = ev->ts_ms;
                p->n_purchased++;
            }
            if (session_touch(op, u, ev->user_id, ev)) {
                u->s.n_purchases++;
            }
        } else if (ev->kind == RECD_KIND_QUERY) {
            if (session_touch(op, u, ev->user_id, ev)) {
                copy_field(u->s.last_query, sizeof(u->s.last_query), ev->u.query.text);
                u->s.n_queries++;
            }
        }
        if (u->has_s) {
            ev->session_key = u->s.key;
        }
        if (ev->ts_ms > op->hwm) {
            if (op->hwm <= 0 && date_undated(op, ev->ts_ms) != RECD_OK) {
                return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
            }
            op->hwm = ev->ts_ms;
        }
    }
    return RECD_OK;
}

static int put_blob(struct sessionize *op, struct recd_txn *t, int cf, const char *user,
                    const char *sub, const void *p, size_t size)
{
    uint8_t v = FORMAT_VERSION;

    op->val.len = 0;
    if (recd_key_sub(&op->key, user, sub) != RECD_OK ||
        recd_buf_append(&op->val, &v, 1) != RECD_OK || recd_zpack(p, size, &op->val) != RECD_OK) {
        return RECD_ENOMEM;
    }
    return recd_txn_put(t, cf, op->key.data, op->key.len, op->val.data, op->val.len);
}

static int exp_key(struct recd_buf *k, int64_t bucket, const char *user)
{
    uint8_t b[8];

    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)bucket;
        bucket >>= 8;
    }
    k->len = 0;
    if (recd_buf_append(k, "sxp", 4) != RECD_OK || recd_buf_append(k, b, 8) != RECD_OK ||
        recd_buf_append(k, "", 1) != RECD_OK || recd_buf_append(k, user, strlen(user)) != RECD_OK) {
        return RECD_ENOMEM;
    }
    return RECD_OK;
}

/* Delete committed sessions whose bucket is entirely before the expiry cutoff. */
static int expire(struct sessionize *op, struct recd_txn *t)
{
    int64_t cutoff = op->hwm - (int64_t)(op->conf.session_ttl_s * 1000.0);
    int64_t last_bucket = bucket_of(cutoff) - 1;   /* buckets fully before the cutoff */
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int rc = RECD_OK;

    /* Entries written later always land in buckets after the cutoff of their time, so once
     * buckets up to last_bucket were swept, a sweep is only needed when the cutoff moves into
     * a new bucket (this also avoids iterating over the delete tombstones of the last sweep). */
    if (cutoff <= 0 || last_bucket <= op->swept_upto) {
        return RECD_OK;
    }
    {
        uint8_t from[12], to[12];
        int64_t fb = op->swept_upto + 1 > 0 ? op->swept_upto + 1 : 0, tb = last_bucket + 1;

        /* only the buckets not swept yet: seeking past the swept ones skips their delete
         * tombstones, and the upper bound stops RocksDB before the live buckets after them */
        memcpy(from, "sxp", 4);
        memcpy(to, "sxp", 4);
        for (int i = 11; i >= 4; i--) {
            from[i] = (uint8_t)fb;
            to[i] = (uint8_t)tb;
            fb >>= 8;
            tb >>= 8;
        }
        if (recd_state_iter_range(op->state, RECD_CF_MODEL, "sxp", 4, from, sizeof(from), to,
                                  sizeof(to), &it) != RECD_OK) {
            return RECD_OK;
        }
    }
    op->sweep_pending = last_bucket;
    while (rc == RECD_OK && recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        const uint8_t *p = (const uint8_t *)k + 4;
        int64_t bucket = 0;
        const char *user;

        if (kl < 13) {
            continue;
        }
        for (int i = 0; i < 8; i++) {
            bucket = (bucket << 8) | p[i];
        }
        if (bucket > last_bucket) {
            break;   /* key order = bucket order */
        }
        user = (const char *)k + 13;
        {
            char *uid = recd_strndup(user, kl - 13);

            if (uid == NULL) {
                rc = RECD_ENOMEM;
                break;
            }
            if (recd_strmap_get(op->users, uid) == NULL) {   /* views handle their own */
                if (recd_key_sub(&op->key, uid, "sess") == RECD_OK) {
                    rc = recd_txn_del(t, RECD_CF_SESSIONS, op->key.data, op->key.len);
                }
            }
            free(uid);
        }
        if (rc == RECD_OK) {
            rc = recd_txn_del(t, RECD_CF_MODEL, k, kl);
        }
    }
    recd_state_iter_destroy(it);
    return rc;
}

static int sz_checkpoint(void *ctx, struct recd_batch *b, char *errstr, size_t errlen)
{
    struct sessionize *op = ctx;
    size_t pos = 0;
    const char *user;
    void *val;
    int rc = RECD_OK;
    int32_t n = (int32_t)op->cat.n;

    /* retired items: every ITEMS key of theirs, whichever operator wrote it (first: an id
     * retired and then seen again in this batch is a new item, written below and after) */
    for (size_t k = 0; rc == RECD_OK && k < op->cat.n_gone; k++) {
        rc = recd_txn_del_prefix(b->txn, RECD_CF_ITEMS, op->cat.gone[k],
                                 strlen(op->cat.gone[k]) + 1);
    }
    /* the items this batch touched (in first-touch order: the commit sorts by key) */
    for (size_t k = 0; rc == RECD_OK && k < op->cat.dirty.n; k++) {
        size_t i = (size_t)op->cat.dirty.list[k];

        if (op->cat.id[i] == NULL) {
            continue;   /* retired since (below) */
        }
        if (op->cat.dirty.mark[i] == 1) {
            int32_t idx = (int32_t)i;

            rc = recd_key_sub(&op->key, op->cat.id[i], "idx");
            if (rc == RECD_OK) {
                rc = recd_txn_put(b->txn, RECD_CF_ITEMS, op->key.data, op->key.len, &idx,
                                  sizeof(idx));
            }
        }
        if (rc == RECD_OK && (op->cat.meta[i].known || op->cat.meta[i].removed)) {
            rc = recd_key_sub(&op->key, op->cat.id[i], "meta");
            if (rc == RECD_OK) {
                rc = recd_txn_put(b->txn, RECD_CF_ITEMS, op->key.data, op->key.len,
                                  &op->cat.meta[i], sizeof(op->cat.meta[i]));
            }
        }
        if (rc == RECD_OK && (op->cat.since[i] > 0 || op->cat.meta[i].known)) {
            rc = recd_key_sub(&op->key, op->cat.id[i], "ret");
            if (rc == RECD_OK && op->cat.since[i] > 0) {
                rc = recd_txn_put(b->txn, RECD_CF_ITEMS, op->key.data, op->key.len,
                                  &op->cat.since[i], sizeof(op->cat.since[i]));
            } else if (rc == RECD_OK) {
                rc = recd_txn_del(b->txn, RECD_CF_ITEMS, op->key.data, op->key.len);
            }
        }
    }
    if (rc == RECD_OK && op->cat.free_dirty) {
        size_t nq = op->cat.n_free - op->cat.free_head;

        rc = nq > 0 ? recd_txn_put(b->txn, RECD_CF_MODEL, "sz.free", 7,
                                   op->cat.free_q + op->cat.free_head,
                                   nq * sizeof(*op->cat.free_q))
                    : recd_txn_del(b->txn, RECD_CF_MODEL, "sz.free", 7);
    }
    if (rc == RECD_OK) {
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, "sz.nitems", 9, &n, sizeof(n));
    }
    if (rc == RECD_OK && op->hwm != op->hwm_committed) {
        rc = recd_txn_put(b->txn, RECD_CF_MODEL, "sz.hwm", 6, &op->hwm, sizeof(op->hwm));
    }
    if (rc == RECD_OK) {
        rc = expire(op, b->txn);
    }
    while (rc == RECD_OK && recd_strmap_next(op->users, &pos, &user, &val)) {
        struct userview *u = val;

        if (!u->dirty) {
            continue;
        }
        if (u->has_s && expired(op, u->s.last_ts)) {
            u->has_s = 0;
        }
        if (u->loaded_bucket >= 0 && (!u->has_s || bucket_of(u->s.last_ts) != u->loaded_bucket)) {
            rc = exp_key(&op->key, u->loaded_bucket, user);
            if (rc == RECD_OK) {
                rc = recd_txn_del(b->txn, RECD_CF_MODEL, op->key.data, op->key.len);
            }
        }
        if (rc != RECD_OK || u->forgotten) {
            continue;   /* the pipeline deletes the user's key ranges */
        }
        if (u->has_s) {
            rc = put_blob(op, b->txn, RECD_CF_SESSIONS, user, "sess", &u->s, sizeof(u->s));
            /* the expiry index entry: only when the session moved to another bucket (the
             * committed entry is already there otherwise) */
            if (rc == RECD_OK && bucket_of(u->s.last_ts) != u->loaded_bucket) {
                rc = exp_key(&op->key, bucket_of(u->s.last_ts), user);
                if (rc == RECD_OK) {
                    rc = recd_txn_put(b->txn, RECD_CF_MODEL, op->key.data, op->key.len, "", 0);
                }
            }
        } else if (u->loaded_bucket >= 0) {
            rc = recd_key_sub(&op->key, user, "sess");
            if (rc == RECD_OK) {
                rc = recd_txn_del(b->txn, RECD_CF_SESSIONS, op->key.data, op->key.len);
            }
        }
        if (rc == RECD_OK && u->has_p) {
            rc = put_blob(op, b->txn, RECD_CF_USERS, user, "prof", &u->p, sizeof(u->p));
        }
    }
    if (rc != RECD_OK) {
        return recd_seterr(errstr, errlen, rc, "sessionize: checkpoint: %s", recd_strerror(rc));
    }
    if (op->metrics != NULL) {
        recd_metrics_set(op->metrics, "recd_catalogue_indexes", NULL, (double)op->cat.n);
        recd_metrics_set(op->metrics, "recd_catalogue_items", NULL,
                         (double)recd_strmap_count(op->cat.ids));
        recd_metrics_set(op->metrics, "recd_catalogue_retired_total", NULL, (double)op->retired);
    }
    return RECD_OK;
}

/* the retired indexes waiting for new items (sz.free), the dictionary's size (sz.nitems: a
 * retired index may be its last), and when the next removed item is due */
static int free_load(struct sessionize *op, int32_t nitems)
{
    struct recd_catalog *c = &op->cat;
    size_t nq;

    c->next_due = INT64_MAX;
    c->free_head = c->n_free = 0;
    if (recd_state_get(op->state, RECD_CF_MODEL, "sz.free", 7, &op->val) == RECD_OK &&
        op->val.len % sizeof(struct cat_free) == 0 && op->val.len > 0) {
        nq = op->val.len / sizeof(struct cat_free);
        c->free_q = malloc(nq * sizeof(*c->free_q));
        if (c->free_q == NULL) {
            return RECD_ENOMEM;
        }
        memcpy(c->free_q, op->val.data, op->val.len);
        c->n_free = c->cap_free = nq;
        for (size_t i = 0; i < nq; i++) {
            int32_t idx = c->free_q[i].idx;

            if (idx < 0 || cat_grow(c, (size_t)idx + 1) != RECD_OK) {
                return RECD_ENOMEM;
            }
            c->meta[idx].removed = 1;
            if ((size_t)idx + 1 > c->n) {
                c->n = (size_t)idx + 1;
            }
        }
    }
    if (nitems > 0 && (size_t)nitems > c->n) {
        if (cat_grow(c, (size_t)nitems) != RECD_OK) {
            return RECD_ENOMEM;
        }
        c->n = (size_t)nitems;
    }
    for (size_t i = 0; i < c->n && op->conf.retire_removed_days > 0; i++) {
        /* a removed item without a date (stored while retirement was off, or by a version
         * without it) is unused from now on */
        if (c->id[i] != NULL && c->meta[i].removed && c->since[i] == 0 &&
            mark_unused_since(op, (int32_t)i, op->hwm) != RECD_OK) {
            return RECD_ENOMEM;
        }
        if (c->since[i] > 0 && due_of(op, c->since[i]) < c->next_due) {
            c->next_due = due_of(op, c->since[i]);
        }
    }
    return RECD_OK;
}

static int load_all(struct sessionize *op)
{
    int32_t n = 0;

    cat_free(&op->cat);
    op->cat.ids = recd_strmap_new(4096, NULL);
    if (op->cat.ids == NULL) {
        return RECD_ENOMEM;
    }
    op->hwm = 0;
    if (recd_state_get(op->state, RECD_CF_MODEL, "sz.hwm", 6, &op->val) == RECD_OK &&
        op->val.len == sizeof(int64_t)) {
        memcpy(&op->hwm, op->val.data, sizeof(int64_t));
    }
    op->hwm_committed = op->hwm;
    if (recd_state_get(op->state, RECD_CF_MODEL, "sz.nitems", 9, &op->val) == RECD_OK &&
        op->val.len == sizeof(int32_t)) {
        memcpy(&n, op->val.data, sizeof(n));
    }
    if (cat_load(op) != RECD_OK || free_load(op, n) != RECD_OK) {
        return RECD_ENOMEM;
    }
    if ((int32_t)op->cat.n != n) {
        RLOG_WARN(RECD_LOG_OPERATOR, "sessionize: %zu items in the dictionary, %d expected",
                  op->cat.n, (int)n);
    }
    return RECD_OK;
}

static void sz_committed(void *ctx, int ok)
{
    struct sessionize *op = ctx;

    recd_strmap_clear(op->users);
    if (ok) {
        struct recd_catalog *c = &op->cat;

        recd_idxset_clear(&c->dirty);
        gone_clear(c);
        c->free_dirty = 0;
        if (c->free_head > 0 && c->free_head * 2 >= c->n_free) {
            memmove(c->free_q, c->free_q + c->free_head,
                    (c->n_free - c->free_head) * sizeof(*c->free_q));
            c->n_free -= c->free_head;
            c->free_head = 0;
        }
        op->hwm_committed = op->hwm;
        if (op->sweep_pending > op->swept_upto) {
            op->swept_upto = op->sweep_pending;
        }
    } else if (load_all(op) != RECD_OK) {
        RLOG_ERR(RECD_LOG_OPERATOR, "sessionize: cannot reload state after a failed commit");
    }
}

static void sz_fini(void *ctx)
{
    struct sessionize *op = ctx;

    if (op == NULL) {
        return;
    }
    cat_free(&op->cat);
    recd_strmap_destroy(op->users);
    recd_buf_free(&op->key);
    recd_buf_free(&op->val);
    free(op);
}

static int sz_init(void **ctx, const void *conf, const struct recd_op_env *env, char *errstr,
                   size_t errlen)
{
    struct sessionize *op = calloc(1, sizeof(*op));

    if (op == NULL) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
    }
    memcpy(&op->conf, conf, sizeof(op->conf));
    if (op->conf.session_ttl_s <= op->conf.gap_s) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operators.sessionize.session_ttl_s must exceed gap_s");
    }
    if (op->conf.retire_removed_days > 0 &&
        op->conf.retire_removed_days * 86400.0 < op->conf.session_ttl_s) {
        free(op);
        return recd_seterr(errstr, errlen, RECD_ECONFIG,
                           "operators.sessionize.retire_removed_days must be 0 or at least "
                           "session_ttl_s");
    }
    op->state = env->state;
    op->metrics = env->metrics;
    if (op->metrics != NULL) {
        recd_metrics_declare(op->metrics, "recd_catalogue_indexes", RECD_M_GAUGE,
                             "Catalogue indexes in use: items, and retired ones waiting for a "
                             "new item (the per-item arrays' size).");
        recd_metrics_declare(op->metrics, "recd_catalogue_items", RECD_M_GAUGE,
                             "Item ids in the catalogue (removed items not retired yet "
                             "included).");
        recd_metrics_declare(op->metrics, "recd_catalogue_retired_total", RECD_M_COUNTER,
                             "Removed items retired since the start "
                             "(operators.sessionize.retire_removed_days).");
    }
    op->sessions.op = op;
    op->swept_upto = op->sweep_pending = -1;
    recd_buf_init(&op->key);
    recd_buf_init(&op->val);
    op->users = recd_strmap_new(1024, free);
    if (op->users == NULL || load_all(op) != RECD_OK ||
        recd_services_put(env->services, "catalog", &op->cat) != RECD_OK ||
        recd_services_put(env->services, "sessions", &op->sessions) != RECD_OK) {
        sz_fini(op);
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "sessionize: out of memory");
    }
    RLOG_INFO(RECD_LOG_OPERATOR, "sessionize: %zu items in the catalogue", op->cat.n);
    *ctx = op;
    return RECD_OK;
}

const struct recd_operator_desc recd_op_sessionize = {
    .name = "sessionize",
    .description = "event-time sessions, session context, profiles and the item catalogue",
    .conf = &sz_unit,
    .init = sz_init,
    .process = sz_process,
    .checkpoint = sz_checkpoint,
    .committed = sz_committed,
    .fini = sz_fini,
};
