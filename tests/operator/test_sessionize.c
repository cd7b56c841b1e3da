/*
 * test_sessionize.c — the sessionize operator (operators/sessionize/sessionize.c) on the
 * in-process harness (harness.h), read back from the state it commits: sessions split on the
 * inactivity gap, late events within and beyond grace_s, the session's bounded item window,
 * logical expiry after session_ttl_s and the sweep that deletes expired sessions, the session
 * record formats, and the catalogue's dense item index and metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "recd.h"
#include "services/catalog.h"
#include "services/sessions.h"
#include "state.h"

#define ALONE  "pipeline = { chain = [\"sessionize\"]; require_output = false; };\n"
#define MIN_MS 60000LL

/* The user's committed session (format 2, zero-packed): 1 and *out, or 0 when there is none. */
static int session_of(struct world *w, const char *user, struct recd_session *out)
{
    struct recd_buf key, val;
    int rc;

    recd_buf_init(&key);
    recd_buf_init(&val);
    assert_int_equal(recd_key_sub(&key, user, "sess"), RECD_OK);
    rc = recd_state_get(w->st, RECD_CF_SESSIONS, key.data, key.len, &val);
    assert_true(rc == RECD_OK || rc == RECD_ENOENT);
    if (rc == RECD_OK) {
        assert_true(val.len >= 1);
        assert_int_equal(val.data[0], 2);
        assert_int_equal(recd_zunpack(val.data + 1, val.len - 1, out, sizeof(*out)), RECD_OK);
    }
    recd_buf_free(&key);
    recd_buf_free(&val);
    return rc == RECD_OK;
}

/* Entries of the MODEL "sxp" expiry index naming user. */
static size_t expiry_entries(struct world *w, const char *user)
{
    struct recd_state_iter *it;
    const void *k, *v;
    size_t kl, vl, n = 0, ul = strlen(user);

    assert_int_equal(recd_state_iter_new(w->st, RECD_CF_MODEL, "sxp", 4, &it), RECD_OK);
    while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
        n += kl == 13 + ul && memcmp((const char *)k + 13, user, ul) == 0;
    }
    recd_state_iter_destroy(it);
    return n;
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
    assert_int_equal(recd_txn_put(t, RECD_CF_SESSIONS, key.data, key.len, val.data, val.len),
                     RECD_OK);
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

/* Events up to grace_s older than the session's last event join it; older ones are late: they
 * count (n_late) but add no item. */
static void test_grace_and_late(void **s)
{
    struct world *w = world_new(
        ALONE "operators = { sessionize = { gap_s = 600.0; grace_s = 60.0; }; };\n");
    struct recd_session sess;

    click(w, "g", "a", T0);
    click(w, "g", "b", T0 + 2 * MIN_MS);
    run(w, 1);
    click(w, "g", "c", T0 + 2 * MIN_MS - 30000);   /* 30 s behind: within grace */
    click(w, "g", "d", T0);                        /* 2 min behind: late */
    run(w, 1);
    assert_true(session_of(w, "g", &sess));
    assert_int_equal(sess.number, 1);
    assert_int_equal(sess.n_events, 3);
    assert_int_equal(sess.n_clicks, 3);
    assert_int_equal(sess.n_late, 1);
    assert_int_equal(sess.n_items, 3);
    assert_int_equal(sess.items[2], 2);            /* c, the third item seen */
    assert_true(sess.start_ts == T0);
    assert_true(sess.last_ts == T0 + 2 * MIN_MS);  /* a late or grace event does not move it */
    world_free(w);
}

/* A session keeps its RECD_SESSION_ITEMS most recent items, oldest first. */
static void test_item_window(void **s)
{
    struct world *w = world_new(ALONE);
    struct recd_session sess;
    char it[16];

    for (int i = 0; i < RECD_SESSION_ITEMS + 8; i++) {
        snprintf(it, sizeof(it), "x%d", i);
        click(w, "long", it, T0 + i * 1000LL);
    }
    run(w, 7);
    assert_true(session_of(w, "long", &sess));
    assert_int_equal(sess.n_clicks, RECD_SESSION_ITEMS + 8);
    assert_int_equal(sess.n_items, RECD_SESSION_ITEMS);
    for (int i = 0; i < RECD_SESSION_ITEMS; i++) {
        assert_int_equal(sess.items[i], i + 8);   /* x0 has index 0, ... */
    }
    /* dwell time: from each click to the next event (1 s here), 0 for the last one */
    assert_int_equal(sess.dwell_ms[0], 1000);
    assert_int_equal(sess.dwell_ms[RECD_SESSION_ITEMS - 1], 0);
    world_free(w);
}

/* A session whose last event is more than session_ttl_s behind the newest event of the stream
 * is gone: deleted (with its expiry index entry) by the batch that moves the high-water mark
 * past it, also for a user with no event in that batch; the user's next session is numbered on
 * from the profile. */
static void test_expiry(void **s)
{
    struct world *w = world_new(
        ALONE "operators = { sessionize = { gap_s = 600.0; session_ttl_s = 3600.0; }; };\n");
    struct recd_session sess;

    click(w, "e", "a", T0);
    click(w, "f", "a", T0 + 30 * MIN_MS);
    run(w, 8);
    assert_true(session_of(w, "e", &sess));
    assert_int_equal(expiry_entries(w, "e"), 1);
    click(w, "other", "b", T0 + 3 * 60 * MIN_MS);  /* hwm three hours on */
    run(w, 1);
    assert_false(session_of(w, "e", &sess));
    assert_int_equal(expiry_entries(w, "e"), 0);
    assert_false(session_of(w, "f", &sess));       /* 2.5 h behind, also beyond the ttl */
    assert_true(session_of(w, "other", &sess));
    /* an event older than hwm - ttl is late for a new session too */
    click(w, "e", "c", T0 + 60 * MIN_MS);
    run(w, 1);
    assert_false(session_of(w, "e", &sess));
    click(w, "e", "c", T0 + 3 * 60 * MIN_MS);
    run(w, 1);
    assert_true(session_of(w, "e", &sess));
    assert_int_equal(sess.number, 2);
    assert_int_equal(sess.n_items, 1);
    world_free(w);
}

/* The catalogue: every item gets a dense index in order of first appearance (a click or a
 * catalogue record), stored with its metadata; a later catalogue record updates the metadata
 * and keeps the index. */
static void test_catalog(void **s)
{
    struct world *w = world_new(ALONE);
    struct recd_buf key, val;
    struct recd_item_meta m;
    int32_t idx;

    recd_buf_init(&key);
    recd_buf_init(&val);
    click(w, "u", "clicked-first", T0);
    item(w, "shoe", "red shoe", "Shoes", 1);
    item(w, "clicked-first", "a lamp", "Home", 0);
    run(w, 2);
    item(w, "shoe", "red shoe", "Shoes", 0);
    run(w, 1);
    assert_int_equal(recd_key_sub(&key, "clicked-first", "idx"), RECD_OK);
    assert_int_equal(recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val), RECD_OK);
    assert_int_equal(val.len, sizeof(idx));
    memcpy(&idx, val.data, sizeof(idx));
    assert_int_equal(idx, 0);
    assert_int_equal(recd_key_sub(&key, "shoe", "idx"), RECD_OK);
    assert_int_equal(recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val), RECD_OK);
    memcpy(&idx, val.data, sizeof(idx));
    assert_int_equal(idx, 1);
    assert_int_equal(recd_key_sub(&key, "shoe", "meta"), RECD_OK);
    assert_int_equal(recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val), RECD_OK);
    assert_int_equal(val.len, sizeof(m));
    memcpy(&m, val.data, sizeof(m));
    assert_int_equal(m.known, 1);
    assert_int_equal(m.in_stock, 0);                /* the later record */
    assert_int_equal(m.removed, 0);
    assert_true(m.price == 10.0f);
    assert_int_equal(m.cat_top, recd_category_hash("Shoes"));
    assert_int_equal(m.cat_leaf, recd_category_hash("Shoes"));
    assert_int_equal(recd_state_get(w->st, RECD_CF_MODEL, "sz.nitems", 9, &val), RECD_OK);
    memcpy(&idx, val.data, sizeof(idx));
    assert_int_equal(idx, 2);
    /* a restarted pipeline finds the same indices: the next new item is the third */
    world_reopen(w, NULL);
    click(w, "u", "third", T0 + 1000);
    run(w, 1);
    assert_int_equal(recd_key_sub(&key, "third", "idx"), RECD_OK);
    assert_int_equal(recd_state_get(w->st, RECD_CF_ITEMS, key.data, key.len, &val), RECD_OK);
    memcpy(&idx, val.data, sizeof(idx));
    assert_int_equal(idx, 2);
    recd_buf_free(&key);
    recd_buf_free(&val);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_gap),    cmocka_unit_test(test_session_raw_format),
        cmocka_unit_test(test_grace_and_late), cmocka_unit_test(test_item_window),
        cmocka_unit_test(test_expiry),         cmocka_unit_test(test_catalog),
    };
    const char *only = getenv("RECD_TEST_FILTER");

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
