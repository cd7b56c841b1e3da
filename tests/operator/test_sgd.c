/*
 * test_sgd.c — the sgd operator's persistence on the in-process harness (harness.h): model
 * snapshots (operators.sgd.snapshot_every) change nothing a user sees, whatever the batch
 * boundaries and restarts, and truncate the event log; a user deletion reaches the model and
 * every byte of the state.
 */
/* memmem: _GNU_SOURCE is set for every target (CMakeLists.txt) */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "metrics.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"
#include "units.h"

#define NEVER_EVERY "1099511627776L"

/* A stream with items, several sessions per user (a 2-hour pause every 50 clicks), carts,
 * purchases and, with `deletions`, two deletions in the middle. */
static void stream(struct world *w, int from, int to, int deletions)
{
    char user[16], it[16];

    if (from == 0) {
        for (int i = 0; i < 40; i++) {
            snprintf(it, sizeof(it), "i%d", i);
            item(w, it, i % 2 ? "red running shoe" : "green tent", i % 2 ? "Shoes" : "Outdoor", 1);
        }
    }
    for (int i = from; i < to; i++) {
        int64_t ts = T0 + i * 20000LL + (i / 50) * 7200000LL;

        int u = (i * 7) % 31;

        if (deletions && ((u == 5 && i >= 400) || (u == 9 && i >= 700))) {
            u = 30; /* a forgotten user does not come back (a deletion applies at the end of
                     * its batch, so a later click in the same batch would depend on batching) */
        }
        snprintf(user, sizeof(user), "u%d", u);
        snprintf(it, sizeof(it), "i%d", ((i / 3) * 5 + i % 3) % 40);
        if (i % 17 == 0) {
            cart(w, user, it, ts);
        } else if (i % 29 == 0) {
            purchase(w, user, it, 1, ts);
        } else {
            click(w, user, it, ts);
        }
        if (deletions && (i == 400 || i == 700)) {
            forget(w, i == 400 ? "u5" : "u9", ts + 1);
        }
    }
}

/* Everything published, score bits included (not generated_ts, the wall clock). */
struct pub {
    size_t n;
    char user[WORLD_MAXREC][16];
    char items[WORLD_MAXREC][8][8];
    float score[WORLD_MAXREC][8];
    uint32_t n_items[WORLD_MAXREC];
};

static void capture(const struct world *w, struct pub *p)
{
    assert_true(w->n_out <= WORLD_MAXREC);
    p->n = w->n_out;
    for (size_t i = 0; i < w->n_out; i++) {
        const struct captured *c = &w->out[i];

        snprintf(p->user[i], sizeof(p->user[i]), "%.15s", c->user);
        p->n_items[i] = c->tombstone ? UINT32_MAX : c->recs.n_items;
        for (uint32_t j = 0; !c->tombstone && j < c->recs.n_items && j < 8; j++) {
            snprintf(p->items[i][j], sizeof(p->items[i][j]), "%s", c->recs.items[j].item_id);
            p->score[i][j] = c->recs.items[j].score;
        }
    }
}

static void assert_same(const struct pub *a, const struct pub *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->user[i], b->user[i]);
        assert_int_equal(a->n_items[i], b->n_items[i]);
        for (uint32_t j = 0; a->n_items[i] != UINT32_MAX && j < a->n_items[i] && j < 8; j++) {
            assert_string_equal(a->items[i][j], b->items[i][j]);
            assert_memory_equal(&a->score[i][j], &b->score[i][j], sizeof(float));
        }
    }
}

/* log records the MODEL column family holds, and whether it has a snapshot */
static size_t log_records(struct recd_state *st, int *has_snapshot)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl, n = 0;
    struct recd_buf b;

    assert_int_equal(recd_state_iter_new(st, RECD_CF_MODEL, "srl", 4, &it), RECD_OK);
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        n += vl / 20;
    }
    recd_state_iter_destroy(it);
    recd_buf_init(&b);
    *has_snapshot = recd_state_get(st, RECD_CF_MODEL, "sr.snap", 7, &b) == RECD_OK;
    recd_buf_free(&b);
    return n;
}

static struct pub pubs[4];

/* Lists are published once per batch per affected user, so runs are compared in pairs with
 * the same batches: without snapshots and with one every 512 logged events (batches of 7);
 * the same with two restarts (batches of 64). Same lists, score bits included; the log keeps
 * only what follows the last snapshot. */
static void test_snapshot_invariance(void **s)
{
    const char *never = "operators = { sgd = { snapshot_every = " NEVER_EVERY "; }; };\n";
    const char *often =
        "operators = { sgd = { snapshot_every = 512; snapshot_commit_after = 256; }; };\n";
    size_t logged[4];
    int snap[4];

    (void)s;
    for (int r = 0; r < 4; r++) {
        struct world *w = world_new(r % 2 == 0 ? never : often);

        if (r < 2) {
            stream(w, 0, 1600, 1);
            run(w, 7);
        } else {
            stream(w, 0, 530, 1);
            run(w, 64);
            world_reopen(w, NULL);
            stream(w, 530, 1000, 1);
            run(w, 64);
            world_reopen(w, NULL);
            stream(w, 1000, 1600, 1);
            run(w, 64);
        }
        capture(w, &pubs[r]);
        logged[r] = log_records(w->st, &snap[r]);
        world_free(w);
    }
    assert_true(pubs[0].n > 1000);
    assert_same(&pubs[0], &pubs[1]);
    assert_same(&pubs[2], &pubs[3]);
    /* every run has a snapshot (the deletions); without snapshots by count the log holds what
     * followed the last deletion, with them less than snapshot_every + snapshot_commit_after */
    for (int r = 0; r < 4; r++) {
        assert_true(snap[r]);
        assert_true(r % 2 == 0 ? logged[r] > 800 : logged[r] < 512 + 256);
    }
}

/* Snapshot positions are a function of the event sequence: without deletions (which apply at
 * the end of their batch, ARCHITECTURE.md), the stored state is the same bytes in batches of
 * 1, 7 and 64 with two restarts (digest), and differs from the state stored without
 * snapshots. */
static void test_snapshot_batches(void **s)
{
    const char *conf[4] = {
        "operators = { sgd = { snapshot_every = 512; snapshot_commit_after = 256; }; };\n",
        "operators = { sgd = { snapshot_every = 512; snapshot_commit_after = 256; }; };\n",
        "operators = { sgd = { snapshot_every = 512; snapshot_commit_after = 256; }; };\n",
        "operators = { sgd = { snapshot_every = " NEVER_EVERY "; }; };\n",
    };
    size_t bs[4] = { 1, 7, 64, 7 };
    char digest[4][33], err[256];

    (void)s;
    for (int r = 0; r < 4; r++) {
        struct world *w = world_new(conf[r]);

        stream(w, 0, 530, 0);
        run(w, bs[r]);
        if (r == 2) {
            world_reopen(w, NULL);
        }
        stream(w, 530, 1000, 0);
        run(w, bs[r]);
        if (r == 2) {
            world_reopen(w, NULL);
        }
        stream(w, 1000, 1600, 0);
        run(w, bs[r]);
        assert_int_equal(recd_state_digest(w->st, digest[r], err, sizeof(err)), RECD_OK);
        world_free(w);
    }
    assert_string_equal(digest[0], digest[1]);
    assert_string_equal(digest[0], digest[2]);
    assert_string_not_equal(digest[0], digest[3]);
}

/* A clean stop's warm-start image (operators.sgd.snapshot_at_stop) is outside the stored state:
 * runs stopped cleanly before two restarts (the first while a snapshot is written but not
 * committed, which the warm start takes over) store the same bytes and publish the same lists,
 * score bits included, as runs restarted without it; each start after a stop loads the image
 * and replays nothing. A missing image falls back to the snapshot and the log. */
static void test_warm_start(void **s)
{
    const char *conf =
        "operators = { sgd = { snapshot_every = 512; snapshot_commit_after = 256; "
        "snapshot_at_stop = 1; }; };\n";
    char digest[3][3][33], err[256], path[128];

    (void)s;
    for (int r = 0; r < 3; r++) {
        struct world *w = world_new(conf);
        struct recd_metrics *mx = recd_metrics_new();
        const int cut[2] = { 600, 1000 };

        assert_non_null(mx);
        for (int c = 0; c < 3; c++) {
            stream(w, c == 0 ? 0 : cut[c - 1], c == 2 ? 1600 : cut[c], 0);
            run(w, 64);
            assert_int_equal(recd_state_digest(w->st, digest[r][c], err, sizeof(err)), RECD_OK);
            if (c == 2) {
                break;
            }
            if (r > 0) {
                recd_pipeline_stop(w->p);
                snprintf(path, sizeof(path), "%s/blobs/sgd-warm.desc", w->dir);
                assert_int_equal(access(path, F_OK), 0);
                if (r == 2 && c == 1) { /* the image is gone: the usual start */
                    char dir[128], img[400];
                    struct dirent *e;
                    DIR *dd;
                    int removed = 0;

                    snprintf(dir, sizeof(dir), "%s/blobs", w->dir);
                    assert_non_null(dd = opendir(dir));
                    while ((e = readdir(dd)) != NULL) {
                        if (strncmp(e->d_name, "sgd-warm-", 9) == 0) {
                            snprintf(img, sizeof(img), "%s/%s", dir, e->d_name);
                            removed += unlink(img) == 0;
                        }
                    }
                    closedir(dd);
                    assert_int_equal(removed, 1);
                }
            }
            world_reopen(w, mx);
            assert_true(recd_metrics_get(mx, "recd_model_start_warm", NULL) ==
                        (r == 1 || (r == 2 && c == 0) ? 1.0 : 0.0));
            if (recd_metrics_get(mx, "recd_model_start_warm", NULL) == 1.0) {
                assert_true(recd_metrics_get(mx, "recd_model_start_replayed_events", NULL) == 0.0);
                assert_int_equal(access(path, F_OK), -1); /* used once */
            } else {
                assert_true(recd_metrics_get(mx, "recd_model_start_replayed_events", NULL) > 0.0);
            }
        }
        capture(w, &pubs[r]);
        recd_pipeline_destroy(w->p); /* before the metrics it writes to */
        w->p = NULL;
        world_free(w);
        recd_metrics_destroy(mx);
    }
    assert_true(pubs[0].n > 500);
    assert_same(&pubs[0], &pubs[1]);
    assert_same(&pubs[0], &pubs[2]);
    for (int c = 0; c < 3; c++) { /* at 1000 events the snapshot at 512 is committed */
        assert_string_equal(digest[0][c], digest[1][c]);
        assert_string_equal(digest[0][c], digest[2][c]);
    }
}

/* The warm-start image is refused (the usual start instead) when a setting that shapes what a
 * replay learns changed between the stop and the start (operators.sgd.weight_click: a replay
 * would learn the logged events under the new weight), and when events were applied since. */
static void test_warm_start_refused(void **s)
{
    const char *conf = "operators = { sgd = { snapshot_at_stop = 1; }; };\n";
    struct world *w = world_new(conf);
    struct recd_metrics *mx = recd_metrics_new();
    char text[512], err[512], path[128];
    struct recd_conf *nc;

    (void)s;
    stream(w, 0, 300, 0);
    run(w, 64);
    recd_pipeline_stop(w->p);
    snprintf(text, sizeof(text),
             "state = { dir = \"%s\"; };\noperators = { sgd = { snapshot_at_stop = 1; "
             "weight_click = 1.5; }; };\n", w->dir);
    assert_int_equal(recd_config_load_string(text, "<test>", &nc, err, sizeof(err)), RECD_OK);
    recd_pipeline_destroy(w->p); /* before the configuration it borrows */
    w->p = NULL;
    recd_conf_destroy(w->conf);
    w->conf = nc;
    world_reopen(w, mx);
    assert_true(recd_metrics_get(mx, "recd_model_start_warm", NULL) == 0.0);
    snprintf(path, sizeof(path), "%s/blobs/sgd-warm.desc", w->dir);
    assert_int_equal(access(path, F_OK), -1); /* refused, and gone */
    /* a stop, then a pipeline that applies events without using the image (as a restored
     * state would): the image no longer matches */
    recd_pipeline_stop(w->p);
    assert_int_equal(access(path, F_OK), 0);
    {
        char keep[160];

        snprintf(keep, sizeof(keep), "%s/warm.desc.keep", w->dir); /* not among the blobs */
        assert_int_equal(rename(path, keep), 0);
        world_reopen(w, mx);
        stream(w, 300, 400, 0);
        run(w, 64);
        assert_int_equal(rename(keep, path), 0);
    }
    world_reopen(w, mx);
    assert_true(recd_metrics_get(mx, "recd_model_start_warm", NULL) == 0.0);
    assert_true(recd_metrics_get(mx, "recd_model_start_replayed_events", NULL) > 0.0);
    assert_int_equal(access(path, F_OK), -1);
    recd_pipeline_destroy(w->p);
    w->p = NULL;
    world_free(w);
    recd_metrics_destroy(mx);
}

/* Does any key or value of column family `only` (-1: of any) contain one of the needles?
 * Which one (0..n-1), with the column family in *cf_out, or -1. */
static int state_contains(struct recd_state *st, int only, const void *const *needle,
                          const size_t *len, int n, int *cf_out)
{
    for (int cf = 0; cf < RECD_CF__N; cf++) {
        if (only >= 0 && cf != only) {
            continue;
        }
        struct recd_state_iter *it;
        const void *k, *v;
        size_t kl, vl;

        assert_int_equal(recd_state_iter_new(st, cf, NULL, 0, &it), RECD_OK);
        while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
            for (int i = 0; i < n; i++) {
                if (memmem(k, kl, needle[i], len[i]) != NULL ||
                    memmem(v, vl, needle[i], len[i]) != NULL) {
                    recd_state_iter_destroy(it);
                    *cf_out = cf;
                    return i;
                }
            }
        }
        recd_state_iter_destroy(it);
    }
    return -1;
}

/* After a deletion, no key or value of the state holds the user id or any of the user's
 * session keys (the event log before the deletion is gone, the snapshot has none of the
 * user's sessions); before it, the log holds every session key (positive control). */
static void test_forget_reaches_model(void **s)
{
    struct world *w = world_new(NULL);
    uint64_t keys[4];
    const void *needle[5];
    size_t len[5];
    int cf = -1;
    char it[16];

    (void)s;
    for (int i = 0; i < 300; i++) {
        snprintf(it, sizeof(it), "i%d", i % 23);
        click(w, i % 3 ? "bystander" : "someone", it, T0 + i * 10000LL);
    }
    /* four sessions of the victim: a 2-hour pause between them */
    for (int sess = 0; sess < 4; sess++) {
        for (int i = 0; i < 5; i++) {
            snprintf(it, sizeof(it), "i%d", (sess * 5 + i) % 23);
            click(w, "victim-7", it, T0 + 3600000LL * 3 * (sess + 1) + i * 1000LL);
        }
        click(w, "bystander", "i1", T0 + 3600000LL * 3 * (sess + 1) + 9000LL);
    }
    run(w, 16);
    for (uint32_t n = 0; n < 4; n++) {
        keys[n] = recd_session_key("victim-7", n + 1);
        needle[n] = &keys[n];
        len[n] = sizeof(keys[n]);
    }
    for (int n = 0; n < 4; n++) { /* each session key is in the model's log */
        assert_int_equal(state_contains(w->st, RECD_CF_MODEL, &needle[n], &len[n], 1, &cf), 0);
    }
    needle[4] = "victim-7";
    len[4] = strlen("victim-7");
    assert_int_equal(state_contains(w->st, -1, &needle[4], &len[4], 1, &cf), 0);

    forget(w, "victim-7", T0 + 3600000LL * 20);
    click(w, "bystander", "i2", T0 + 3600000LL * 20 + 1000);
    run(w, 16);
    assert_int_equal(state_contains(w->st, -1, needle, len, 5, &cf), -1);
    /* and after a restart (the model from the snapshot) the bystander's lists go on */
    world_reopen(w, NULL);
    click(w, "bystander", "i3", T0 + 3600000LL * 20 + 2000);
    run(w, 16);
    assert_non_null(last_for(w, "bystander"));
    assert_int_equal(state_contains(w->st, -1, needle, len, 5, &cf), -1);
    world_free(w);
}

/* ---- retirement of removed items (operators.sessionize.retire_removed_days) -------------- */

#define HOUR_MS 3600000LL

static void removed(struct world *w, const char *id)
{
    struct recd_event ev = { 0 };

    ev.kind = RECD_KIND_ITEM;
    ev.event_id = id;
    ev.ts_ms = T0;
    ev.u.item.item_id = id;
    ev.u.item.removed = 1;
    add(w, &ev);
}

/* The catalogue index of `id` (ITEMS <id>\0idx), or -1. */
static int32_t index_of(struct world *w, const char *id)
{
    struct recd_buf key, val;
    int32_t idx = -1;

    recd_buf_init(&key);
    recd_buf_init(&val);
    assert_int_equal(recd_key_sub(&key, id, "idx"), RECD_OK);
    if (recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val) == RECD_OK) {
        assert_int_equal(val.len, sizeof(idx));
        memcpy(&idx, val.data, sizeof(idx));
    }
    recd_buf_free(&key);
    recd_buf_free(&val);
    return idx;
}

/* hours [from, to) of a shop: a click every 20 minutes by one of 6 users on i0..i9 and
 * "kept"; in the first hours also on "old" */
static void retire_clicks(struct world *w, int from, int to)
{
    char user[8], it[8];

    for (int q = from * 3; q < to * 3; q++) {
        snprintf(user, sizeof(user), "u%d", q % 6);
        snprintf(it, sizeof(it), "i%d", (q * 7) % 10);
        click(w, user, q < 12 && q % 4 == 1 ? "old" : q % 5 == 0 ? "kept" : it,
              T0 + q * 20 * 60000LL);
    }
}

/* An item removed from the catalogue and unused for retire_removed_days (8) is retired at the
 * first day boundary after that: no key of it is left in the ITEMS and MODEL column families
 * (all of them hold it before: positive control), no list names it, and its index waits in
 * sz.free for 8 more days, then goes to the next new item. The stored state is the same bytes
 * in batches of 1 and of 16 with restarts, and differs from a run that never retires. */
static void test_retire_removed(void **s)
{
    const char *conf[3] = {
        "operators = { sessionize = { retire_removed_days = 8.0; };\n"
        "  rerank = { exclude_purchased_s = 604800.0; }; };\n",
        "operators = { sessionize = { retire_removed_days = 8.0; };\n"
        "  rerank = { exclude_purchased_s = 604800.0; }; };\n",
        "operators = { sessionize = { retire_removed_days = 0.0; };\n"
        "  rerank = { exclude_purchased_s = 604800.0; }; };\n",
    };
    size_t bs[3] = { 1, 16, 16 };
    char digest[3][33], err[256];
    const void *needle[1] = { "old" };
    size_t len[1] = { 4 }; /* "old" and its NUL: the key prefix of every ITEMS key of it */
    int cf = -1;

    (void)s;
    for (int r = 0; r < 3; r++) {
        struct world *w = world_new(conf[r]);
        int32_t old_idx;
        struct recd_buf v;

        recd_buf_init(&v);
        for (int i = 0; i < 10; i++) {
            char it[8];

            snprintf(it, sizeof(it), "i%d", i);
            item(w, it, i % 2 ? "red running shoe" : "green tent", i % 2 ? "Shoes" : "Outdoor",
                 1);
        }
        item(w, "old", "blue lamp", "Home", 1);
        item(w, "kept", "kept lamp", "Home", 1);
        retire_clicks(w, 0, 5);
        run(w, bs[r]);
        old_idx = index_of(w, "old");
        assert_true(old_idx >= 0);
        assert_int_equal(state_contains(w->st, RECD_CF_ITEMS, needle, len, 1, &cf), 0);
        removed(w, "old");
        removed(w, "kept"); /* removed, but clicked: it stays */
        retire_clicks(w, 5, 24 * 8);
        run(w, bs[r]);
        if (r == 1) {
            world_reopen(w, NULL);
        }
        /* 8 days after the removal (at hour 5), at the next midnight of event time */
        assert_int_equal(state_contains(w->st, RECD_CF_ITEMS, needle, len, 1, &cf), 0);
        retire_clicks(w, 24 * 8, 24 * 10);
        run(w, bs[r]);
        if (r < 2) {
            assert_int_equal(state_contains(w->st, RECD_CF_ITEMS, needle, len, 1, &cf), -1);
            assert_int_equal(state_contains(w->st, RECD_CF_MODEL, needle, len, 1, &cf), -1);
            assert_int_equal(index_of(w, "old"), -1);
            assert_int_equal(recd_state_get(w->st, RECD_CF_MODEL, "sz.free", 7, &v), RECD_OK);
            assert_int_equal(v.len, 16);
            assert_memory_equal(v.data, &old_idx, 4);
            assert_true(index_of(w, "kept") >= 0);
            { /* the model learned it: its event log holds the retirement (kind 3) */
                int32_t rec = old_idx | 3 << 28;

                needle[0] = &rec;
                len[0] = sizeof(rec);
                assert_int_equal(state_contains(w->st, RECD_CF_MODEL, needle, len, 1, &cf), 0);
                needle[0] = "old";
                len[0] = 4;
            }
        } else {
            assert_int_equal(index_of(w, "old"), old_idx);
        }
        for (size_t i = w->n_out > 200 ? w->n_out - 200 : 0; i < w->n_out; i++) {
            const struct captured *c = &w->out[i % WORLD_MAXREC];

            assert_false(!c->tombstone && listed(c, "old"));
        }
        if (r == 1) {
            world_reopen(w, NULL);
        }
        /* a new item 8 days after the retirement takes the index; sz.free is empty */
        retire_clicks(w, 24 * 10, 24 * 18);
        item(w, "fresh", "fresh lamp", "Home", 1);
        click(w, "u1", "fresh", T0 + 24 * 18 * HOUR_MS);
        run(w, bs[r]);
        if (r < 2) {
            assert_int_equal(index_of(w, "fresh"), old_idx);
            assert_int_equal(recd_state_get(w->st, RECD_CF_MODEL, "sz.free", 7, &v),
                             RECD_ENOENT);
        } else {
            assert_true(index_of(w, "fresh") > old_idx);
        }
        assert_int_equal(recd_state_digest(w->st, digest[r], err, sizeof(err)), RECD_OK);
        recd_buf_free(&v);
        world_free(w);
    }
    assert_string_equal(digest[0], digest[1]);
    assert_string_not_equal(digest[0], digest[2]);
}

/* Retirement switched on later (or a state from a version without it): an item removed while
 * it was off has no date, and counts as unused from the first start with it on; it is retired
 * retire_removed_days after that start. */
static void test_retire_enabled_later(void **s)
{
    const char *on = "operators = { sessionize = { retire_removed_days = 8.0; };\n"
                     "  rerank = { exclude_purchased_s = 604800.0; }; };\n";
    struct world *w = world_new("operators = { sessionize = { retire_removed_days = 0.0; }; };\n");
    const void *needle[1] = { "old" };
    size_t len[1] = { 4 };
    char text[1024], err[512];
    int cf = -1;

    (void)s;
    item(w, "i0", "green tent", "Outdoor", 1);
    item(w, "old", "blue lamp", "Home", 1);
    retire_clicks(w, 0, 2);
    removed(w, "old");
    retire_clicks(w, 2, 24 * 10); /* 10 days: nothing retires while it is off */
    run(w, 16);
    assert_true(index_of(w, "old") >= 0);
    recd_conf_destroy(w->conf);
    snprintf(text, sizeof(text), "state = { dir = \"%s\"; };\n%s", w->dir, on);
    if (recd_config_load_string(text, "<test>", &w->conf, err, sizeof(err)) != RECD_OK) {
        fail_msg("config: %s", err);
    }
    world_reopen(w, NULL);
    retire_clicks(w, 24 * 10, 24 * 18); /* 8 days after the start: not yet (next midnight) */
    run(w, 16);
    assert_int_equal(state_contains(w->st, RECD_CF_ITEMS, needle, len, 1, &cf), 0);
    retire_clicks(w, 24 * 18, 24 * 20);
    run(w, 16);
    assert_int_equal(state_contains(w->st, RECD_CF_ITEMS, needle, len, 1, &cf), -1);
    assert_int_equal(index_of(w, "old"), -1);
    world_free(w);
}

/* An id retired and then clicked again in the same batch is a new item: its keys, written
 * after the retirement's deletion of the old ones, are there after the commit, under a new
 * index (the retired one still waits). */
static void test_retire_and_return(void **s)
{
    struct world *w = world_new("operators = { sessionize = { retire_removed_days = 8.0; };\n"
                                "  rerank = { exclude_purchased_s = 604800.0; }; };\n");
    int32_t before, after;

    (void)s;
    item(w, "i0", "green tent", "Outdoor", 1);
    item(w, "old", "blue lamp", "Home", 1);
    retire_clicks(w, 0, 2);
    run(w, 64);
    before = index_of(w, "old");
    assert_true(before >= 0);
    removed(w, "old");
    retire_clicks(w, 2, 24 * 10);
    click(w, "u1", "old", T0 + 24 * 10 * HOUR_MS);
    run(w, 4096); /* one batch: the retirement and the return */
    after = index_of(w, "old");
    assert_true(after >= 0);
    assert_true(after != before);
    world_free(w);
}

/* An item removed before any user event (a catalogue read ahead of the activity) is unused
 * from the first event time on: not retired at the first click, but retire_removed_days
 * later. */
static void test_retire_removed_before_events(void **s)
{
    struct world *w = world_new("operators = { sessionize = { retire_removed_days = 8.0; };\n"
                                "  rerank = { exclude_purchased_s = 604800.0; }; };\n");

    (void)s;
    item(w, "i0", "green tent", "Outdoor", 1);
    item(w, "early", "blue lamp", "Home", 1);
    removed(w, "early");
    run(w, 16);
    retire_clicks(w, 0, 24 * 7);
    run(w, 16);
    assert_true(index_of(w, "early") >= 0);
    retire_clicks(w, 24 * 7, 24 * 10);
    run(w, 16);
    assert_int_equal(index_of(w, "early"), -1);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_invariance),
        cmocka_unit_test(test_snapshot_batches),
        cmocka_unit_test(test_forget_reaches_model),
        cmocka_unit_test(test_retire_removed),
        cmocka_unit_test(test_retire_enabled_later),
        cmocka_unit_test(test_retire_and_return),
        cmocka_unit_test(test_retire_removed_before_events),
        cmocka_unit_test(test_warm_start),
        cmocka_unit_test(test_warm_start_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
