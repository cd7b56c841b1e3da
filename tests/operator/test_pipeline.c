/*
 * test_pipeline.c — the operator chain (sessionize -> embed -> sgd -> rerank) driven in-process
 * on the shared harness (harness.h: a real RocksDB state in a scratch directory, real Avro
 * records, a capturing sink standing in for Kafka). Checks what belongs to the chain as a
 * whole: learned transitions and their reasons, forgetting, the outbox, online quality,
 * batch-boundary determinism, the learned order's replay and the CPU-independent fingerprint.
 * One operator's own behaviour is tested in its file: test_sessionize.c, test_embed.c,
 * test_rerank.c, test_popular.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "harness.h"
#include "metrics.h"
#include "pipeline.h"
#include "recd.h"
#include "state.h"

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
    struct recd_sink sink = WORLD_SINK;
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
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)),
                     RECD_OK);
    w->n_raws = 0;
    assert_int_equal(n_held, 1);
    assert_int_equal(held_no[0], 0);
    assert_int_equal(outbox_entries(w, NULL, 0), 0);
    /* batch 1 never acknowledged: its users are in the outbox, committed with the batch */
    hold_mode = 0;
    click(w, "u", "c", T0 + 30);
    forget(w, "v", T0 + 40);
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)),
                     RECD_OK);
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
    assert_string_equal(w->out[before % WORLD_MAXREC].user, "v");
    assert_true(w->out[before % WORLD_MAXREC].tombstone);
    c = &w->out[(before + 1) % WORLD_MAXREC];
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
    assert_int_equal(recd_pipeline_run_batch(w->p, w->raws, w->n_raws, &sink, err, sizeof(err)),
                     RECD_OK);
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
 * are not scored; the list is read as its digest (USERS <user>\0ll), or from OUTPUTS where an
 * older state has none. */
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

    /* A user's first batch has no list to score against: its clicks read neither the digest
     * nor OUTPUTS (the reads the online quality cost every new user before). */
    {
        uint64_t users0 = recd_state_gets(w->st, RECD_CF_USERS);
        uint64_t out0 = recd_state_gets(w->st, RECD_CF_OUTPUTS);
        double scored = recd_metrics_get(mx, "recd_online_clicks_scored_total", NULL);

        click(w, "new1", "a", T0 + 100410);
        click(w, "new2", "b", T0 + 100420);
        run(w, 500);
        assert_true(recd_metrics_get(mx, "recd_online_clicks_scored_total", NULL) == scored);
        assert_true(recd_state_gets(w->st, RECD_CF_OUTPUTS) == out0);
        /* each new user's seq is read once, and nothing else of USERS by the online quality
         * (the operators read the profiles: at most one more each) */
        assert_true(recd_state_gets(w->st, RECD_CF_USERS) - users0 <= 4);
    }

    /* The clicks were scored against USERS q\0ll, the digest of q's last list: its seq, then
     * one hash per item in list order. It is derived output: the state digest leaves it out. */
    {
        struct recd_buf key, val;
        struct recd_txn *t;
        char d1[33], d2[33];
        unsigned char stale[16];
        int64_t lseq;
        uint32_t n, h;
        double hits;

        recd_buf_init(&key);
        recd_buf_init(&val);
        c = last_for(w, "q");
        assert_non_null(c);
        rank_b = listed(c, "b");
        assert_true(rank_b > 0);
        assert_int_equal(recd_key_sub(&key, "q", RECD_SUB_LAST_LIST), RECD_OK);
        assert_int_equal(recd_state_get(w->st, RECD_CF_USERS, key.data, key.len, &val), RECD_OK);
        memcpy(&lseq, val.data, 8);
        memcpy(&n, val.data + 8, 4);
        assert_true(lseq == c->recs.seq);
        assert_int_equal(n, c->recs.n_items);
        assert_int_equal(val.len, 12 + 4 * (size_t)n);
        memcpy(&h, val.data + 12 + 4 * (size_t)(rank_b - 1), 4);
        assert_true(h == (uint32_t)XXH3_64bits("b", 1));
        assert_int_equal(recd_state_digest(w->st, d1, err, sizeof(err)), RECD_OK);

        /* A digest older than the user's count — left by a binary that stored lists without
         * digests after this one, then rolled forward — is not used: the click is scored from
         * the list in OUTPUTS (a one-item digest that names nothing would miss). */
        lseq -= 1;
        n = 1;
        h = 0;
        memcpy(stale, &lseq, 8);
        memcpy(stale + 8, &n, 4);
        memcpy(stale + 12, &h, 4);
        assert_int_equal(recd_txn_new(w->st, &t), RECD_OK);
        assert_int_equal(recd_txn_put(t, RECD_CF_USERS, key.data, key.len, stale, sizeof(stale)),
                         RECD_OK);
        assert_int_equal(recd_txn_commit(t, err, sizeof(err)), RECD_OK);
        recd_txn_destroy(t);
        assert_int_equal(recd_state_digest(w->st, d2, err, sizeof(err)), RECD_OK);
        assert_string_equal(d1, d2);
        hits = recd_metrics_get(mx, "recd_online_hits_total", "k=\"20\"");
        click(w, "q", "b", T0 + 100500);
        run(w, 500);
        assert_true(recd_metrics_get(mx, "recd_online_clicks_scored_total", NULL) == 4.0);
        assert_true(recd_metrics_get(mx, "recd_online_hits_total", "k=\"20\"") == hits + 1.0);
        /* ... and the batch stored a current digest again */
        assert_int_equal(recd_state_get(w->st, RECD_CF_USERS, key.data, key.len, &val), RECD_OK);
        memcpy(&lseq, val.data, 8);
        c = last_for(w, "q");
        assert_non_null(c);
        assert_true(lseq == c->recs.seq);
        assert_true(val.len > sizeof(stale));
        recd_buf_free(&key);
        recd_buf_free(&val);
    }
    recd_pipeline_destroy(w->p);   /* before the metrics it borrows */
    w->p = NULL;
    recd_metrics_destroy(mx);
    world_free(w);
}

/* Does any key of cf start with the user's prefix ("user\0")? */
static int has_user_keys(struct world *w, int cf, const char *user)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int found;

    assert_int_equal(recd_state_iter_new(w->st, cf, user, strlen(user) + 1, &it), RECD_OK);
    found = recd_state_iter_next(it, &k, &kl, &v, &vl);
    recd_state_iter_destroy(it);
    return found;
}

/* keys of the activity index (META "uexp") naming the user */
static int indexed(struct world *w, const char *user)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    int n = 0;

    assert_int_equal(recd_state_iter_new(w->st, RECD_CF_META, "uexp", 5, &it), RECD_OK);
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        n += kl == 13 + strlen(user) && memcmp((const char *)k + 13, user, strlen(user)) == 0;
    }
    recd_state_iter_destroy(it);
    return n;
}

/* pipeline.user_ttl_days: users without an event for that long (event time) expire at the
 * next batch: their state is deleted, a tombstone published, the activity index forgets them,
 * a later event starts a new user (seq 1). A user active in the batch that moves the
 * high-water mark past the cutoff continues; 0 turns expiry off. */
static void test_user_expiry(void **s)
{
    for (int ttl = 0; ttl < 2; ttl++) {
        struct world *w = world_new(ttl ? "pipeline = { user_ttl_days = 1.0; };\n"
                                        : "pipeline = { user_ttl_days = 0.0; };\n");
        const struct captured *c;

        (void)s;
        click(w, "old", "a", T0);
        click(w, "old", "b", T0 + 1000);
        click(w, "back", "a", T0 + 2000);
        click(w, "recent", "a", T0 + 86400000LL);
        run(w, 100);
        assert_int_equal(indexed(w, "old"), ttl);
        /* two days later: "back" returns in the batch that moves the mark */
        click(w, "other", "c", T0 + 2 * 86400000LL);
        click(w, "back", "b", T0 + 2 * 86400000LL + 1);
        run(w, 100);
        assert_false(last_for(w, "old")->tombstone);
        /* the next batch expires "old" (cutoff: the mark minus a day, by the hour of the newest
         * event); "back" was active since, "recent" is in the cutoff's own hour: both kept */
        click(w, "other", "d", T0 + 2 * 86400000LL + 5000);
        run(w, 100);
        c = last_for(w, "old");
        assert_non_null(c);
        assert_int_equal(c->tombstone, ttl);
        assert_int_equal(has_user_keys(w, RECD_CF_USERS, "old"), !ttl);
        assert_int_equal(has_user_keys(w, RECD_CF_SESSIONS, "old"), !ttl);
        assert_int_equal(indexed(w, "old"), 0);
        assert_false(last_for(w, "back")->tombstone);
        assert_true(has_user_keys(w, RECD_CF_USERS, "back"));
        assert_int_equal(indexed(w, "back"), ttl);
        assert_true(has_user_keys(w, RECD_CF_USERS, "recent"));
        /* "old" comes back: a new user, seq 1 when expired */
        click(w, "old", "c", T0 + 2 * 86400000LL + 9000);
        run(w, 100);
        c = last_for(w, "old");
        assert_false(c->tombstone);
        assert_int_equal(c->recs.seq, ttl ? 1 : 3);
        world_free(w);
    }
}

/* The expiry sweep deletes the activity-index entries it visits; seeking from the start of the
 * index each batch made RocksDB step over every tombstone of earlier sweeps until a compaction
 * (the 50 M soak crawled at 4.6k events/s). It seeks from the hour it reached instead: over a
 * stream that expires users in every batch it steps over about one tombstone per batch, where
 * a sweep from the start steps over all of them (the control below). */
static void test_expiry_sweep_cursor(void **s)
{
    struct world *w = world_new("pipeline = { user_ttl_days = 1.0; expire_per_batch = 100; };\n");
    struct recd_pipeline_stats st;
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl;
    char user[16];
    int n_users = 2000, expired = 0;
    uint64_t batches;

    (void)s;
    for (int i = 0; i < n_users; i++) {   /* one user per hour: a stream ~83 days long */
        snprintf(user, sizeof(user), "u%d", i);
        click(w, user, "a", T0 + i * 3600000LL);
    }
    run(w, 50);
    recd_pipeline_stats(w->p, &st);
    batches = st.batches;
    for (int i = 0; i < n_users; i++) {
        const struct captured *c;

        snprintf(user, sizeof(user), "u%d", i);
        c = last_for(w, user);
        expired += c != NULL && c->tombstone;
    }
    /* users older than a day before the last batch's newest event are gone */
    assert_true(expired > n_users - 80);
    assert_true(st.expiry_skipped <= 2 * batches);
    /* control: a sweep from the start of the index now steps over every one of them */
    assert_int_equal(recd_state_iter_range(w->st, RECD_CF_META, "uexp", 5, "uexp", 5, "uexq", 4,
                                           &it),
                     RECD_OK);
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
    }
    assert_true(recd_state_iter_skipped(it) >= (uint64_t)expired);
    print_message("expiry sweeps: %d users expired in %llu batches, %llu tombstones stepped over "
                  "(a sweep from the index start: %llu)\n",
                  expired, (unsigned long long)batches, (unsigned long long)st.expiry_skipped,
                  (unsigned long long)recd_state_iter_skipped(it));
    recd_state_iter_destroy(it);
    world_free(w);
}

/* the same input in batches of 1, 3 and 64 gives the same state digest (items, queries,
 * sessions across the gap, a deletion) */
static void test_batch_boundaries(void **s)
{
    char d[3][33], err[256];
    size_t sizes[3] = { 1, 3, 64 };

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
        struct world *w = world_new(
            "operators = { sgd = { learn_order = true; learn_every = 2; }; };\n");
        char user[16], it[16], err[512];
        const struct captured *c;

        for (int i = 0; i < 400; i++) {
            snprintf(user, sizeof(user), "u%d", i / 5);
            snprintf(it, sizeof(it), "i%d", (i / 5 % 9) * 3 + (i % 5) + (i * 7) % 4);
            click(w, user, it, T0 + i * 1000LL);
        }
        run(w, 16);
        if (r == 1) { /* restart: the model is rebuilt from the log */
            recd_pipeline_destroy(w->p);
            if (recd_pipeline_new(w->conf, w->st, NULL, w->codec, &w->p, err, sizeof(err)) !=
                RECD_OK) {
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

/* the fingerprint below: XXH3 (xxhash, recd's hash) over each field; strings with their NUL */
static void fp_add(XXH3_state_t *h, const void *p, size_t n)
{
    assert_int_equal(XXH3_64bits_update(h, p, n), XXH_OK);
}

static void fp_str(XXH3_state_t *h, const char *s)
{
    fp_add(h, s ? s : "", s ? strlen(s) + 1 : 1);
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
    static const char *const words[] = { "red",   "green", "tent", "shoe", "lamp", "wool",
                                         "steel", "kids",  "camp", "sock", "rain", "coat" };
    struct world *w = world_new("operators = { sgd = { learn_every = 2; }; };\n");
    char user[16], it[16], title[64], cat[16], digest[33], err[256];
    XXH3_state_t *h = XXH3_createState();
    uint64_t fp;
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
        if (w->n_raws > WORLD_MAXREC - 8) {
            run(w, 37);
        }
    }
    run(w, 37);
    assert_non_null(h);
    assert_int_equal(XXH3_64bits_reset(h), XXH_OK);
    assert_int_equal(recd_state_digest(w->st, digest, err, sizeof(err)), RECD_OK);
    fp_str(h, digest);
    for (size_t i = 0; i < w->n_out && i < WORLD_MAXREC; i++) {
        const struct captured *c = &w->out[i];

        fp_str(h, c->user);
        fp_add(h, &c->tombstone, sizeof(c->tombstone));
        if (c->tombstone) {
            continue;
        }
        fp_add(h, &c->recs.seq, sizeof(c->recs.seq));
        fp_add(h, &c->recs.n_items, sizeof(c->recs.n_items));
        with_items += c->recs.n_items > 0;
        for (uint32_t k = 0; k < c->recs.n_items; k++) {
            const struct recd_rec_item *r = &c->recs.items[k];

            fp_str(h, r->item_id);
            fp_add(h, &r->score, sizeof(r->score));
            fp_str(h, r->reason);
            fp_str(h, r->because_item_id);
        }
    }
    assert_true(w->n_out <= WORLD_MAXREC); /* every list went into the fingerprint */
    assert_true(with_items > 2000);
    fp = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    fprintf(stderr, "pipeline fingerprint: %016llx (%zu lists, state digest %s)\n",
            (unsigned long long)fp, w->n_out, digest);
    if ((path = getenv("RECD_FINGERPRINT_FILE")) != NULL && *path) {
        f = fopen(path, "a");
        assert_non_null(f);
        fprintf(f, "%016llx %s\n", (unsigned long long)fp, digest);
        assert_int_equal(fclose(f), 0);
    }
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_transitions), cmocka_unit_test(test_forget_same_batch),
        cmocka_unit_test(test_user_expiry),
        cmocka_unit_test(test_expiry_sweep_cursor),        cmocka_unit_test(test_batch_boundaries),
        cmocka_unit_test(test_learn_order_replay), cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_online_quality),     cmocka_unit_test(test_fingerprint),
    };
    const char *only = getenv("RECD_TEST_FILTER"); /* e.g. test_fingerprint (cpu_kernels) */

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
