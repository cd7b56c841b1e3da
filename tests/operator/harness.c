/* harness.c — the operator tests' in-process world (harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "conf.h"
#include "harness.h"
#include "metrics.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"
#include "units.h"

static int sink_publish(void *o, const char *user, const void *val, size_t len)
{
    struct world *w = o;
    struct captured *c = &w->out[w->n_out++ % WORLD_MAXREC];
    char err[256];

    snprintf(c->user, sizeof(c->user), "%s", user);
    c->tombstone = val == NULL;
    if (val != NULL) {
        assert_int_equal(
            recd_codec_decode_recs(w->codec, val, len, w->arena, &c->recs, err, sizeof(err)),
            RECD_OK);
    } else {
        memset(&c->recs, 0, sizeof(c->recs));
    }
    return RECD_OK;
}

static int sink_dlq(void *o, const struct recd_raw *r, const char *cls, const char *msg)
{
    (void)r;
    (void)cls;
    (void)msg;
    ((struct world *)o)->n_dlq++;
    return RECD_OK;
}

static int sink_flush(void *o, char *e, size_t l)
{
    (void)o;
    (void)e;
    (void)l;
    return RECD_OK;
}

const struct recd_sink WORLD_SINK = { NULL, sink_publish, sink_dlq, sink_flush, NULL, NULL };

struct world *world_new(const char *extra)
{
    struct world *w = calloc(1, sizeof(*w));
    char text[2048], err[512];
    struct recd_codec_conf cc = { 0 };
    struct recd_state_conf sc = { 0 };

    assert_non_null(w);
    snprintf(w->dir, sizeof(w->dir), "/tmp/recd-optest-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    snprintf(text, sizeof(text), "state = { dir = \"%s\"; };\n%s", w->dir, extra ? extra : "");
    if (recd_config_load_string(text, "<test>", &w->conf, err, sizeof(err)) != RECD_OK) {
        fail_msg("config: %s", err);
    }
    sc.dir = w->dir;
    sc.compression = "none";
    assert_int_equal(recd_state_open(&sc, &w->st, err, sizeof(err)), RECD_OK);
    assert_int_equal(recd_codec_new(&cc, &w->codec, err, sizeof(err)), RECD_OK);
    if (recd_pipeline_new(w->conf, w->st, NULL, w->codec, &w->p, err, sizeof(err)) != RECD_OK) {
        fail_msg("pipeline: %s", err);
    }
    w->arena = recd_arena_new(1 << 20);
    assert_non_null(w->arena);
    return w;
}

void world_free(struct world *w)
{
    char cmd[128];

    recd_pipeline_destroy(w->p);
    recd_codec_destroy(w->codec);
    recd_state_close(w->st);
    recd_conf_destroy(w->conf);
    recd_arena_destroy(w->arena);
    for (size_t i = 0; i < WORLD_MAXREC; i++) {
        recd_buf_free(&w->bufs[i]);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
    assert_int_equal(system(cmd), 0);
    free(w);
}

void world_reopen(struct world *w, struct recd_metrics *metrics)
{
    char err[512];

    recd_pipeline_destroy(w->p);
    w->p = NULL;
    if (recd_pipeline_new(w->conf, w->st, metrics, w->codec, &w->p, err, sizeof(err)) != RECD_OK) {
        fail_msg("pipeline: %s", err);
    }
}

void world_reconfigure(struct world *w, const char *extra)
{
    char text[2048], err[512];
    struct recd_conf *nc;

    snprintf(text, sizeof(text), "state = { dir = \"%s\"; };\n%s", w->dir, extra ? extra : "");
    if (recd_config_load_string(text, "<test reload>", &nc, err, sizeof(err)) != RECD_OK) {
        fail_msg("config: %s", err);
    }
    if (recd_pipeline_reconfigure(w->p, nc, err, sizeof(err)) != RECD_OK) {
        fail_msg("reconfigure: %s", err);
    }
    recd_conf_destroy(w->conf);   /* the pipeline borrows the new one now */
    w->conf = nc;
}

static const char *topic_names[RECD_KIND__NINPUT] = { "shop.clicks", "shop.purchases",
                                                      "shop.queries", "shop.items",
                                                      "shop.user-deletions" };

void add(struct world *w, struct recd_event *ev)
{
    struct recd_raw *r;
    struct recd_buf *b;
    char err[256];

    assert_true(w->n_raws < WORLD_MAXREC);
    r = &w->raws[w->n_raws];
    b = &w->bufs[w->n_raws];
    b->len = 0;
    if (recd_codec_encode_event(w->codec, ev, -1, b, err, sizeof(err)) != RECD_OK) {
        fail_msg("encode: %s", err);
    }
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

static int n_clicks;   /* event ids: process-wide, as the fingerprint has always seen them */

static void click_type(struct world *w, const char *user, const char *item_id, int type, int64_t ts)
{
    char id[32];
    struct recd_event ev = { 0 };

    snprintf(id, sizeof(id), "c%d", n_clicks++);
    ev.kind = RECD_KIND_CLICK;
    ev.event_id = id;
    ev.user_id = user;
    ev.ts_ms = ts;
    ev.u.click.item_id = item_id;
    ev.u.click.type = type;
    add(w, &ev);
}

void click(struct world *w, const char *user, const char *item_id, int64_t ts)
{
    click_type(w, user, item_id, RECD_CLICK_VIEW, ts);
}

void cart(struct world *w, const char *user, const char *item_id, int64_t ts)
{
    click_type(w, user, item_id, RECD_CLICK_CART, ts);
}

void purchase(struct world *w, const char *user, const char *item_id, int32_t quantity, int64_t ts)
{
    static int n;
    char id[32];
    struct recd_event ev = { 0 };
    struct recd_purchase_line line = { item_id, quantity, 10.0 };

    snprintf(id, sizeof(id), "p%d", n++);
    ev.kind = RECD_KIND_PURCHASE;
    ev.event_id = id;
    ev.user_id = user;
    ev.ts_ms = ts;
    ev.u.purchase.order_id = id;
    ev.u.purchase.lines = &line;
    ev.u.purchase.n_lines = 1;
    ev.u.purchase.currency = "EUR";
    add(w, &ev);
}

void item(struct world *w, const char *id, const char *title, const char *cat, int in_stock)
{
    struct recd_event ev = { 0 };
    const char *path[1] = { cat };

    ev.kind = RECD_KIND_ITEM;
    ev.event_id = id;
    ev.ts_ms = T0;
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

void query(struct world *w, const char *user, const char *text, int64_t ts)
{
    static int n;
    char id[32];
    struct recd_event ev = { 0 };

    snprintf(id, sizeof(id), "q%d", n++);
    ev.kind = RECD_KIND_QUERY;
    ev.event_id = id;
    ev.user_id = user;
    ev.ts_ms = ts;
    ev.u.query.text = text;
    add(w, &ev);
}

void forget(struct world *w, const char *user, int64_t ts)
{
    struct recd_event ev = { 0 };

    ev.kind = RECD_KIND_DELETION;
    ev.user_id = user;
    ev.u.deletion.requested_ts = ts;
    add(w, &ev);
}

void run(struct world *w, size_t bs)
{
    struct recd_sink sink = WORLD_SINK;
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

const struct captured *last_for(const struct world *w, const char *user)
{
    size_t kept = w->n_out < WORLD_MAXREC ? w->n_out : WORLD_MAXREC;

    for (size_t i = w->n_out; i > w->n_out - kept; i--) {
        if (strcmp(w->out[(i - 1) % WORLD_MAXREC].user, user) == 0) {
            return &w->out[(i - 1) % WORLD_MAXREC];
        }
    }
    return NULL;
}

int listed(const struct captured *c, const char *item_id)
{
    for (uint32_t i = 0; c && !c->tombstone && i < c->recs.n_items; i++) {
        if (strcmp(c->recs.items[i].item_id, item_id) == 0) {
            return (int)i + 1;
        }
    }
    return 0;
}

size_t published_for(const struct world *w, const char *user)
{
    size_t kept = w->n_out < WORLD_MAXREC ? w->n_out : WORLD_MAXREC, n = 0;

    for (size_t i = w->n_out - kept; i < w->n_out; i++) {
        n += strcmp(w->out[i % WORLD_MAXREC].user, user) == 0;
    }
    return n;
}
