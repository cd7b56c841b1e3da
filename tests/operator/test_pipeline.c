/*
 * test_pipeline.c — the operator chain (sessionize -> embed -> sgd -> rerank) driven in-process
 * through the pipeline with a real RocksDB state in a scratch directory and real Avro
 * records; a capturing sink stands in for Kafka. Checks sessions, filters, reasons, query
 * steering, forgetting and batch-boundary determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "conf.h"
#include "metrics.h"
#include "pipeline.h"
#include "recd.h"
#include "sessionize.h"
#include "state.h"
#include "units.h"

#define MAXREC 4096

struct captured {
    char user[64];
    int tombstone;
    struct recd_recs recs;
};

struct world {
    char dir[64];
    struct recd_conf *conf;
    struct recd_state *st;
    struct recd_codec *codec;
    struct recd_pipeline *p;
    struct recd_arena *arena;       /* decoded captured outputs */
    struct captured out[MAXREC];
    size_t n_out, n_dlq;
    struct recd_buf bufs[MAXREC];   /* encoded input */
    struct recd_raw raws[MAXREC];
    size_t n_raws;
    int64_t offsets[RECD_KIND__NINPUT];
};

static int sink_publish(void *o, const char *user, const void *val, size_t len)
{
    struct world *w = o;
    struct captured *c = &w->out[w->n_out++ % MAXREC];
    char err[256];

    snprintf(c->user, sizeof(c->user), "%s", user);
    c->tombstone = val == NULL;
    if (val != NULL) {
        assert_int_equal(recd_codec_decode_recs(w->codec, val, len, w->arena, &c->recs, err, sizeof(err)),
                         RECD_OK);
    }
    return RECD_OK;
}

static int sink_dlq(void *o, const struct recd_raw *r, const char *cls, const char *msg)
{
    ((struct world *)o)->n_dlq++;
    return RECD_OK;
}

static int sink_flush(void *o, char *e, size_t l)
{
    return RECD_OK;
}

static const struct recd_sink SINK_INIT = {NULL, sink_publish, sink_dlq, sink_flush, NULL};

static struct world *world_new(const char *extra)
{
    struct world *w = calloc(1, sizeof(*w));
    char text[2048], err[512];
    struct recd_codec_conf cc = {0};
    struct recd_state_conf sc = {0};

    assert_non_null(w);
    snprintf(w->dir, sizeof(w->dir), "/tmp/recd-optest-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(text, sizeof(text), "state = { dir = \"%s\"; };\n%s", w->dir, extra ? extra : "");
    assert_int_equal(recd_config_load_string(text, "<test>", &w->conf, err, sizeof(err)), RECD_OK);
    sc.dir = w->dir;
    sc.compression = "none";
    assert_int_equal(recd_state_open(&sc, &w->st, err, sizeof(err)), RECD_OK);
    assert_int_equal(recd_codec_new(&cc, &w->codec, err, sizeof(err)), RECD_OK);
    if (recd_pipeline_new(w->conf, w->st, NULL, w->codec, &w->p, err, sizeof(err)) != RECD_OK) {
        fail_msg("pipeline: %s", err);
    }
    w->arena = recd_arena_new(1 << 20);
    return w;
}

static void world_free(struct world *w)
{
    char cmd[128];

    recd_pipeline_destroy(w->p);
    recd_codec_destroy(w->codec);
    recd_state_close(w->st);
    recd_conf_destroy(w->conf);
    recd_arena_destroy(w->arena);
    for (size_t i = 0; i < MAXREC; i++) {
        recd_buf_free(&w->bufs[i]);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
    assert_int_equal(system(cmd), 0);
    free(w);
}

static const char *topic_names[RECD_KIND__NINPUT] = {
    "shop.clicks", "shop.purchases", "shop.queries", "shop.items", "shop.user-deletions"
};

static void add(struct world *w, struct recd_event *ev)
{
    struct recd_raw *r = &w->raws[w->n_raws];
    struct recd_buf *b = &w->bufs[w->n_raws];
    char err[256];

    b->len = 0;
    assert_int_equal(recd_codec_encode_event(w->codec, ev, -1, b, err, sizeof(err)), RECD_OK);
    r->kind = ev->kind;
    r->topic = topic_names[ev->kind];
    r->partition = 0;
    r->offset = w->offsets[ev->kind]++;
    r->key = ev->kind == RECD_KIND_ITEM ? ev->u.item.item_id : ev->user_id;
    r->klen = strlen(r->key);
    r->val = b->data;
    r->vlen = b->len;
    w->n_raws++;
}

static void click(struct world *w, const char *user, const char *item, int64_t ts)
{
    static int n;
    char id[32];
    struct recd_event ev = {0};

    snprintf(id, sizeof(id), "c%d", n++);
    ev.kind = RECD_KIND_CLICK;
    ev.event_id = id;
    ev.user_id = user;
    ev.ts_ms = ts;
    ev.u.click.item_id = item;
    add(w, &ev);
}

static void item(struct world *w, const char *id, const char *title, const char *cat, int in_stock)
{
    struct recd_event ev = {0};
    const char *path[1] = {cat};

    ev.kind = RECD_KIND_ITEM;
    ev.event_id = id;
    ev.ts_ms = 1600000000000LL;
    ev.u.item.item_id = id;
    ev.u.item.title = title;
    ev.u.item.description = "";
    ev.u.item.category = path;
    ev.u.item.n_category = 1;
    ev.u.item.price = 10;
    ev.u.item.in_stock = in_stock;
    ev.u.item.updated_ts = ev.ts_ms;
    add(w, &ev);
}

static void query(struct world *w, const char *user, const char *text, int64_t ts)
{
    static int n;
    char id[32];
    struct recd_event ev = {0};

    snprintf(id, sizeof(id), "q%d", n++);
    ev.kind = RECD_KIND_QUERY;
    ev.event_id = id;
    ev.user_id = user;
    ev.ts_ms = ts;
    ev.u.query.text = text;
    add(w, &ev);
}

static void forget(struct world *w, const char *user, int64_t ts)
{
    struct recd_event ev = {0};

    ev.kind = RECD_KIND_DELETION;
    ev.user_id = user;
    ev.u.deletion.requested_ts = ts;
    add(w, &ev);
}

/* Run everything added so far in batches of bs records. */
static void run(struct world *w, size_t bs)
{
    struct recd_sink sink = SINK_INIT;
    char err[512];

    sink.opaque = w;
    for (size_t i = 0; i < w->n_raws; i += bs) {
        size_t n = w->n_raws - i < bs ? w->n_raws - i : bs;

        if (recd_pipeline_run_batch(w->p, w->raws + i, n, &sink, err, sizeof(err)) != RECD_OK) {
            fail_msg("batch: %s", err);
        }
    }
    w->n_raws = 0;
}

static const struct captured *last_for(const struct world *w, const char *user)
{
    for (size_t i = w->n_out; i > 0; i--) {
        if (strcmp(w->out[(i - 1) % MAXREC].user, user) == 0) {
            return &w->out[(i - 1) % MAXREC];
        }
    }
    return NULL;
}

static int listed(const struct captured *c, const char *item)
{
    for (uint32_t i = 0; c && !c->tombstone && i < c->recs.n_items; i++) {
        if (strcmp(c->recs.items[i].item_id, item) == 0) {
            return (int)i + 1;
        }
    }
    return 0;
}

#define T0 1600000000000LL

/* a->b is learned from other sessions; a user viewing a gets b as next_item / similar_session */
static void test_learns_transitions(void **s)
{
    struct world *w = world_new(NULL);
    char user[16];
    const struct captured *c;

    for (int i = 0; i < 30; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        click(w, user, "a", T0 + i * 1000);
        click(w, user, "b", T0 + i * 1000 + 100);
    }
    run(w, 7);
    click(w, "newbie", "a", T0 + 100000);
    run(w, 1);
    c = last_for(w, "newbie");
    assert_non_null(c);
    assert_int_equal(c->recs.seq, 1);
    assert_true(listed(c, "b") > 0);
    assert_true(listed(c, "b") <= 2);
    for (uint32_t i = 0; i < c->recs.n_items; i++) {
        assert_non_null(c->recs.items[i].reason);
    }
    world_free(w);
}

/* out-of-stock items and blocked categories never appear; the query steers to text matches */
static void test_filters_and_query(void **s)
{
    struct world *w = world_new("operators = { rerank = { blocked_categories = [\"Knives\"]; }; };\n");
    char user[16];
    const struct captured *c;

    item(w, "a", "red running shoe", "Shoes", 1);
    item(w, "b", "blue running shoe", "Shoes", 0);          /* out of stock */
    item(w, "k", "chef knife steel", "Knives", 1);          /* blocked */
    item(w, "t", "camping tent ultralight", "Outdoor", 1);
    item(w, "z", "garden hose green", "Garden", 1);
    for (int i = 0; i < 20; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        click(w, user, "a", T0 + i * 1000);
        click(w, user, "b", T0 + i * 1000 + 10);
        click(w, user, "k", T0 + i * 1000 + 20);
        click(w, user, "z", T0 + i * 1000 + 30);
    }
    run(w, 50);
    click(w, "shopper", "a", T0 + 500000);
    run(w, 1);
    c = last_for(w, "shopper");
    assert_non_null(c);
    assert_int_equal(listed(c, "b"), 0);
    assert_int_equal(listed(c, "k"), 0);
    assert_true(listed(c, "z") > 0);
    /* a query for tents brings the tent (never clicked by anyone) through text similarity */
    query(w, "shopper", "ultralight tent for camping", T0 + 500100);
    run(w, 1);
    c = last_for(w, "shopper");
    assert_true(listed(c, "t") > 0);
    assert_string_equal(c->recs.items[listed(c, "t") - 1].reason, "query_match");
    world_free(w);
}

/* Cold start: an item nobody clicked is never a model candidate; with rerank.cold_slots the
 * last place of a user's list goes to the unclicked item whose title matches the session. */
static void cold_world(struct world *w)
{
    static const char *const warm[][2] = {
        {"s", "camping stove compact"}, {"l", "camping lantern led"},
        {"b", "sleeping bag for camping"}, {"m", "coffee mug ceramic"},
        {"p", "printer paper a4"}, {"k", "kitchen scale digital"},
        {"d", "desk lamp"}, {"c", "usb cable"},
    };
    char user[16];

    for (size_t i = 0; i < sizeof(warm) / sizeof(warm[0]); i++) {
        item(w, warm[i][0], warm[i][1], "Misc", 1);
    }
    item(w, "t", "ultralight camping tent", "Misc", 1);     /* never clicked */
    item(w, "h", "garden hose green", "Misc", 1);           /* never clicked, unrelated */
    for (int i = 0; i < 20; i++) {                          /* sessions over all warm items */
        snprintf(user, sizeof(user), "u%d", i);
        for (int k = 0; k < 4; k++) {
            click(w, user, warm[(i + k) % 8][0], T0 + i * 1000 + k * 10);
        }
    }
    run(w, 50);
    click(w, "camper", "s", T0 + 500000);
    click(w, "camper", "l", T0 + 500010);
    click(w, "camper", "b", T0 + 500020);
    run(w, 3);
}

static void test_cold_slots(void **s)
{
    struct world *w = world_new("operators = { rerank = { n = 5; }; };\n");
    const struct captured *c;

    cold_world(w);                       /* default cold_slots = 0: the tent is unreachable */
    c = last_for(w, "camper");
    assert_non_null(c);
    assert_int_equal(c->recs.n_items, 5);
    assert_int_equal(listed(c, "t"), 0);
    world_free(w);

    w = world_new("operators = { rerank = { n = 5; cold_slots = 1; }; };\n");
    cold_world(w);
    c = last_for(w, "camper");
    assert_non_null(c);
    assert_int_equal(c->recs.n_items, 5);
    assert_int_equal(listed(c, "t"), 5);                    /* the reserved last place */
    assert_int_equal(listed(c, "h"), 0);
    assert_string_equal(c->recs.items[4].reason, "similar_text");
    assert_string_equal(c->recs.items[4].because_item_id, "b");
    assert_true(c->recs.items[4].score <= c->recs.items[3].score);
    world_free(w);
}

/* a deletion removes the user's state and publishes a tombstone, also when the user's clicks
 * are in the same batch */
static void test_forget_same_batch(void **s)
{
    struct world *w = world_new(NULL);
    struct recd_buf prefix;
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;

    click(w, "x", "a", T0);
    click(w, "x", "b", T0 + 10);
    forget(w, "x", T0 + 20);
    click(w, "y", "a", T0 + 30);
    run(w, 100);
    assert_non_null(last_for(w, "x"));
    assert_true(last_for(w, "x")->tombstone);
    assert_false(last_for(w, "y")->tombstone);
    recd_buf_init(&prefix);
    recd_buf_append(&prefix, "x", 2);
    for (int cf = RECD_CF_USERS; cf <= RECD_CF_SESSIONS; cf++) {
        assert_int_equal(recd_state_iter_new(w->st, cf, prefix.data, prefix.len, &it), RECD_OK);
        assert_int_equal(recd_state_iter_next(it, &k, &kl, &v, &vl), 0);
        recd_state_iter_destroy(it);
    }
    recd_buf_free(&prefix);
    world_free(w);
}

/* Asynchronous publishing: a held batch is committed with an outbox entry naming its users;
 * an acknowledged one leaves none; after a "crash" (the entry still there) a new pipeline
 * republishes exactly the stored lists (a tombstone for a user forgotten since), removes the
 * entry and numbers its batches past it. */
static int hold_mode;   /* 0: never acknowledged, 1: acknowledged inside hold() */
static uint64_t held_no[8];
static size_t n_held;

static int sink_hold(void *o, uint64_t batch_no)
{
    struct world *w = o;

    held_no[n_held++ % 8] = batch_no;
    if (hold_mode == 1) {
        assert_int_equal(recd_pipeline_acked(w->p, batch_no), RECD_OK);
    }
    return 1;
}

static size_t outbox_entries(struct world *w, char *users, size_t cap)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl, n = 0;

    assert_int_equal(recd_state_iter_new(w->st, RECD_CF_OUTPUTS, "\0ob", 3, &it), RECD_OK);
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        assert_int_equal(kl, 11);
        if (users != NULL) {   /* NUL-separated ids -> space-separated */
            for (size_t i = 0; i < vl && i + 1 < cap; i++) {
                users[i] = ((const char *)v)[i] ? ((const char *)v)[i] : ' ';
                users[i + 1] = '\0';
            }
        }
        n++;
    }
    recd_state_iter_destroy(it);
    return n;
}

static void test_outbox(void **s)
{
    struct world *w = world_new(NULL);
    struct recd_sink sink = SINK_INIT;
    struct recd_pipeline *p2;
    char err[512], users[256];
    const struct captured *c;
    size_t n_rep = 0, before;
    uint32_t n_items_u;
    int64_t seq_u;

    sink.opaque = w;
    sink.hold = sink_hold;
    /* batch 0 acknowledged within hold(): no entry remains */
    hold_mode = 1;
    n_held = 0;
    click(w, "u", "a", T0);
    click(w, "u", "b", T0 + 10);
    click(w, "v", "a", T0 + 20);
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)), RECD_OK);
    w->n_raws = 0;
    assert_int_equal(n_held, 1);
    assert_int_equal(held_no[0], 0);
    assert_int_equal(outbox_entries(w, NULL, 0), 0);
    /* batch 1 never acknowledged: its users are in the outbox, committed with the batch */
    hold_mode = 0;
    click(w, "u", "c", T0 + 30);
    forget(w, "v", T0 + 40);
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)), RECD_OK);
    w->n_raws = 0;
    assert_int_equal(held_no[1], 1);
    assert_int_equal(outbox_entries(w, users, sizeof(users)), 1);
    assert_string_equal(users, "v u ");   /* tombstones first, then lists */
    c = last_for(w, "u");
    assert_non_null(c);
    n_items_u = c->recs.n_items;
    seq_u = c->recs.seq;
    assert_int_equal(seq_u, 3);

    /* "restart": a new pipeline over the same state republishes and clears the outbox */
    recd_pipeline_destroy(w->p);
    w->p = NULL;
    if (recd_pipeline_new(w->conf, w->st, NULL, w->codec, &p2, err, sizeof(err)) != RECD_OK) {
        fail_msg("pipeline: %s", err);
    }
    w->p = p2;
    before = w->n_out;
    sink.hold = NULL;
    if (recd_pipeline_recover(w->p, &sink, &n_rep, err, sizeof(err)) != RECD_OK) {
        fail_msg("recover: %s", err);
    }
    assert_int_equal(n_rep, 2);
    assert_int_equal(w->n_out, before + 2);
    assert_string_equal(w->out[before % MAXREC].user, "v");
    assert_true(w->out[before % MAXREC].tombstone);
    c = &w->out[(before + 1) % MAXREC];
    assert_string_equal(c->user, "u");
    assert_false(c->tombstone);
    assert_int_equal(c->recs.seq, seq_u);
    assert_int_equal(c->recs.n_items, n_items_u);
    assert_int_equal(outbox_entries(w, NULL, 0), 0);
    /* nothing left: a second recovery republishes nothing */
    assert_int_equal(recd_pipeline_recover(w->p, &sink, &n_rep, err, sizeof(err)), RECD_OK);
    assert_int_equal(n_rep, 0);
    /* the next batch is numbered past the recovered entry */
    sink.hold = sink_hold;
    click(w, "u", "d", T0 + 50);
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)), RECD_OK);
    w->n_raws = 0;
    assert_int_equal(held_no[2], 2);
    /* acknowledged later: removed by the next commit (also one that publishes nothing) */
    assert_int_equal(outbox_entries(w, NULL, 0), 1);
    assert_int_equal(recd_pipeline_acked(w->p, 2), RECD_OK);
    assert_int_equal(recd_pipeline_commit_acked(w->p, err, sizeof(err)), RECD_OK);
    assert_int_equal(outbox_entries(w, NULL, 0), 0);
    world_free(w);
}

/* Online quality: every click of a batch is scored against the list its user had before the
 * batch (several clicks of one user in a batch against the same list), users without a list
 * are not scored. */
static void test_online_quality(void **s)
{
    struct world *w = world_new(NULL);
    struct recd_metrics *mx = recd_metrics_new();
    struct recd_pipeline *p2;
    const struct captured *c;
    char user[16], err[512];
    int rank_b;

    assert_non_null(mx);
    recd_pipeline_destroy(w->p);
    w->p = NULL;
    if (recd_pipeline_new(w->conf, w->st, mx, w->codec, &p2, err, sizeof(err)) != RECD_OK) {
        fail_msg("pipeline: %s", err);
    }
    w->p = p2;
    for (int i = 0; i < 30; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        click(w, user, "a", T0 + i * 1000);
        click(w, user, "b", T0 + i * 1000 + 100);
    }
    run(w, 500);   /* nobody had a list before: nothing scored */
    assert_true(recd_metrics_get(mx, "recd_online_clicks_scored_total", NULL) == 0.0);
    click(w, "q", "a", T0 + 100000);
    run(w, 1);
    c = last_for(w, "q");
    assert_non_null(c);
    rank_b = listed(c, "b");
    assert_true(rank_b > 0);
    assert_int_equal(listed(c, "nosuchitem"), 0);
    /* one batch: q clicks b twice and an item not in its list; "fresh" has no list */
    click(w, "q", "b", T0 + 100100);
    click(w, "q", "nosuchitem", T0 + 100200);
    click(w, "q", "b", T0 + 100300);
    click(w, "fresh", "a", T0 + 100400);
    run(w, 500);
    assert_true(recd_metrics_get(mx, "recd_online_clicks_scored_total", NULL) == 3.0);
    assert_true(recd_metrics_get(mx, "recd_online_hits_total", "k=\"20\"") == 2.0);
    assert_true(fabs(recd_metrics_get(mx, "recd_online_reciprocal_rank_sum", "k=\"20\"") -
                     2.0 / rank_b) < 1e-9);
    recd_pipeline_destroy(w->p);   /* before the metrics it borrows */
    w->p = NULL;
    recd_metrics_destroy(mx);
    world_free(w);
}

/* the same input in batches of 1, 3 and 64 gives the same state digest (items, queries,
 * sessions across the gap, a deletion) */
static void test_batch_boundaries(void **s)
{
    char d[3][33], err[256];
    size_t sizes[3] = {1, 3, 64};

    for (int r = 0; r < 3; r++) {
        struct world *w = world_new(NULL);
        char user[16], it[16];

        item(w, "i1", "red shoe", "Shoes", 1);
        item(w, "i2", "green tent", "Outdoor", 1);
        for (int i = 0; i < 150; i++) {
            snprintf(user, sizeof(user), "u%d", i % 17);
            snprintf(it, sizeof(it), "i%d", (i * 7) % 23);
            click(w, user, it, T0 + i * 60000LL);
            if (i % 40 == 39) {
                query(w, user, "tent", T0 + i * 60000LL + 1);
            }
        }
        /* A deletion applies at the end of the batch it arrives in (ARCHITECTURE.md), so in a
         * boundary-independence test it must come last, where every batching puts it. */
        forget(w, "u3", T0 + 150 * 60000LL);
        run(w, sizes[r]);
        assert_int_equal(recd_state_digest(w->st, d[r], err, sizeof(err)), RECD_OK);
        world_free(w);
    }
    assert_string_equal(d[0], d[1]);
    assert_string_equal(d[0], d[2]);
}

/* operators.sgd.learn_order: the learned weights are rebuilt exactly by replaying the sgd
 * event log — a restarted pipeline publishes the same list, in the same order */
static void test_learn_order_replay(void **s)
{
    char lists[2][20][16];
    uint32_t n[2];

    for (int r = 0; r < 2; r++) {
        struct world *w = world_new("operators = { sgd = { learn_order = true; learn_every = 2; }; };\n");
        char user[16], it[16], err[512];
        const struct captured *c;

        for (int i = 0; i < 400; i++) {
            snprintf(user, sizeof(user), "u%d", i / 5);
            snprintf(it, sizeof(it), "i%d", (i / 5 % 9) * 3 + (i % 5) + (i * 7) % 4);
            click(w, user, it, T0 + i * 1000LL);
        }
        run(w, 16);
        if (r == 1) {   /* restart: the model is rebuilt from the log */
            recd_pipeline_destroy(w->p);
            if (recd_pipeline_new(w->conf, w->st, NULL, w->codec, &w->p, err, sizeof(err)) != RECD_OK) {
                fail_msg("pipeline: %s", err);
            }
        }
        click(w, "probe", "i3", T0 + 900000);
        click(w, "probe", "i4", T0 + 900100);
        run(w, 1);
        c = last_for(w, "probe");
        assert_non_null(c);
        assert_true(c->recs.n_items >= 5);
        n[r] = c->recs.n_items < 20 ? c->recs.n_items : 20;
        for (uint32_t i = 0; i < n[r]; i++) {
            snprintf(lists[r][i], sizeof(lists[r][i]), "%s", c->recs.items[i].item_id);
            if (i > 0) {
                assert_true(c->recs.items[i - 1].score >= c->recs.items[i].score);
            }
        }
        world_free(w);
    }
    assert_int_equal(n[0], n[1]);
    for (uint32_t i = 0; i < n[0]; i++) {
        assert_string_equal(lists[0][i], lists[1][i]);
    }
}

/* sessions split on the inactivity gap */
static void test_session_gap(void **s)
{
    struct world *w = world_new("operators = { sessionize = { gap_s = 600.0; }; };\n");
    struct recd_buf key, val;
    uint32_t number;

    click(w, "g", "a", T0);
    click(w, "g", "b", T0 + 60000);           /* same session */
    click(w, "g", "c", T0 + 60000 + 3600000); /* an hour later: a new one */
    run(w, 2);
    recd_buf_init(&key);
    recd_buf_init(&val);
    recd_key_sub(&key, "g", "sess");
    assert_int_equal(recd_state_get(w->st, RECD_CF_SESSIONS, key.data, key.len, &val), RECD_OK);
    /* a version byte (2: zero-packed), then struct recd_session */
    {
        struct recd_session sess;

        assert_true(val.len >= 1);
        assert_int_equal(val.data[0], 2);
        assert_int_equal(recd_zunpack(val.data + 1, val.len - 1, &sess, sizeof(sess)), RECD_OK);
        number = sess.number;
        assert_true(val.len < 1 + sizeof(sess) / 2);   /* a 3-click session packs small */
    }
    assert_int_equal(number, 2);
    recd_buf_free(&key);
    recd_buf_free(&val);
    world_free(w);
}

/* Session records in format 1 (the raw struct, written by recd before the zero-packed
 * format 2) are still read: a session stored that way continues with the next click inside
 * the gap. */
static void test_session_raw_format(void **s)
{
    struct world *w = world_new("operators = { sessionize = { gap_s = 600.0; }; };\n");
    struct recd_buf key, val;
    struct recd_txn *t;
    struct recd_session sess;
    char err[256];

    click(w, "r", "a", T0);
    click(w, "r", "b", T0 + 60000);
    run(w, 1);
    recd_buf_init(&key);
    recd_buf_init(&val);
    recd_key_sub(&key, "r", "sess");
    assert_int_equal(recd_state_get(w->st, RECD_CF_SESSIONS, key.data, key.len, &val), RECD_OK);
    assert_int_equal(val.data[0], 2);
    assert_int_equal(recd_zunpack(val.data + 1, val.len - 1, &sess, sizeof(sess)), RECD_OK);
    assert_int_equal(sess.n_clicks, 2);
    /* the same session as version 1 would have stored it */
    val.len = 0;
    assert_int_equal(recd_buf_append(&val, "\1", 1), RECD_OK);
    assert_int_equal(recd_buf_append(&val, &sess, sizeof(sess)), RECD_OK);
    assert_int_equal(recd_txn_new(w->st, &t), RECD_OK);
    assert_int_equal(recd_txn_put(t, RECD_CF_SESSIONS, key.data, key.len, val.data, val.len), RECD_OK);
    assert_int_equal(recd_txn_commit(t, err, sizeof(err)), RECD_OK);
    recd_txn_destroy(t);
    click(w, "r", "c", T0 + 120000);           /* inside the gap: the same session */
    run(w, 1);
    assert_int_equal(recd_state_get(w->st, RECD_CF_SESSIONS, key.data, key.len, &val), RECD_OK);
    assert_int_equal(val.data[0], 2);           /* written back in the current format */
    assert_int_equal(recd_zunpack(val.data + 1, val.len - 1, &sess, sizeof(sess)), RECD_OK);
    assert_int_equal(sess.number, 1);
    assert_int_equal(sess.n_clicks, 3);
    recd_buf_free(&key);
    recd_buf_free(&val);
    world_free(w);
}

/* FNV-1a, 64 bits: the fingerprint below needs no more */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* Everything recd computes from a stream that exercises every float path of the default chain
 * (sessionize, the hash encoder's item and query vectors, sessrec, MF with its text tower and
 * negative sampling, the learned blend and order, rerank's intent and diversity products):
 * the state digest and every published list, score bits included (not generated_ts, the wall
 * clock). The result must not depend on the CPU or on the OpenBLAS kernel: the test
 * cpu_kernels runs this test under every kernel the CPU can run and compares the printed
 * fingerprints; here it checks that the lists are not trivially empty. */
static void test_fingerprint(void **s)
{
    static const char *const words[] = {"red", "green", "tent", "shoe", "lamp", "wool",
                                        "steel", "kids", "camp", "sock", "rain", "coat"};
    struct world *w = world_new("operators = { sgd = { learn_every = 2; }; };\n");
    char user[16], it[16], title[64], cat[16], digest[33], err[256];
    uint64_t h = 1469598103934665603ULL;
    size_t with_items = 0;
    const char *path;
    FILE *f;

    for (int i = 0; i < 60; i++) {
        snprintf(it, sizeof(it), "i%d", i);
        snprintf(title, sizeof(title), "%s %s %s", words[i % 12], words[(i * 5 + 3) % 12],
                 words[(i * 7 + 1) % 12]);
        snprintf(cat, sizeof(cat), "C%d", i % 6);
        item(w, it, title, cat, i % 11 != 0);
    }
    run(w, 64);
    for (int i = 0; i < 2400; i++) {
        int u = (i * 13) % 97, step = i / 97;

        snprintf(user, sizeof(user), "u%d", u);
        snprintf(it, sizeof(it), "i%d", (u * 3 + step * (1 + u % 4) + (i % 7 == 0 ? 17 : 0)) % 60);
        click(w, user, it, T0 + i * 20000LL);
        if (i % 53 == 0) {
            query(w, user, words[i % 12], T0 + i * 20000LL + 1);
        }
        if (w->n_raws > MAXREC - 8) {
            run(w, 37);
        }
    }
    run(w, 37);
    assert_int_equal(recd_state_digest(w->st, digest, err, sizeof(err)), RECD_OK);
    h = fnv_str(h, digest);
    for (size_t i = 0; i < w->n_out && i < MAXREC; i++) {
        const struct captured *c = &w->out[i];

        h = fnv_str(h, c->user);
        h = fnv(h, &c->tombstone, sizeof(c->tombstone));
        if (c->tombstone) {
            continue;
        }
        h = fnv(h, &c->recs.seq, sizeof(c->recs.seq));
        h = fnv(h, &c->recs.n_items, sizeof(c->recs.n_items));
        with_items += c->recs.n_items > 0;
        for (uint32_t k = 0; k < c->recs.n_items; k++) {
            const struct recd_rec_item *r = &c->recs.items[k];

            h = fnv_str(h, r->item_id);
            h = fnv(h, &r->score, sizeof(r->score));
            h = fnv_str(h, r->reason);
            h = fnv_str(h, r->because_item_id);
        }
    }
    assert_true(w->n_out <= MAXREC);   /* every list went into the fingerprint */
    assert_true(with_items > 2000);
    fprintf(stderr, "pipeline fingerprint: %016llx (%zu lists, state digest %s)\n",
            (unsigned long long)h, w->n_out, digest);
    if ((path = getenv("RECD_FINGERPRINT_FILE")) != NULL && *path) {
        f = fopen(path, "a");
        assert_non_null(f);
        fprintf(f, "%016llx %s\n", (unsigned long long)h, digest);
        assert_int_equal(fclose(f), 0);
    }
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_transitions),
        cmocka_unit_test(test_filters_and_query),
        cmocka_unit_test(test_forget_same_batch),
        cmocka_unit_test(test_batch_boundaries),
        cmocka_unit_test(test_session_gap),
        cmocka_unit_test(test_session_raw_format),
        cmocka_unit_test(test_learn_order_replay),
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_online_quality),
        cmocka_unit_test(test_cold_slots),
        cmocka_unit_test(test_fingerprint),
    };
    const char *only = getenv("RECD_TEST_FILTER");   /* e.g. test_fingerprint (cpu_kernels) */

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
