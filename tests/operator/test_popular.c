/*
 * test_popular.c — the popular operator (operators/popular/popular.c) alone in the chain, on
 * the in-process harness (harness.h): what it publishes and to whom, the scores (event-type
 * weights, decay by event time, late events), the ranking and its tie-break, the per-user
 * "recent" list that excludes seen items (bounded by recent_len, oldest evicted, a re-view
 * moves to the front), reloadable n / exclude_seen, forgetting, and a restart from the state.
 *
 * Scores are compared exactly: every weight and decay factor used here is a power of two or
 * a small integer, so the float a list carries is exact.
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
#include "state.h"

#define POPULAR "pipeline = { chain = [\"popular\"]; };\n"
#define HOUR_MS 3600000LL

/* the published list of user as "id:score id:score ..." (scores as %g) */
static const char *list_str(const struct world *w, const char *user)
{
    static char s[1024];
    const struct captured *c = last_for(w, user);
    size_t len = 0;

    assert_non_null(c);
    assert_false(c->tombstone);
    s[0] = '\0';
    for (uint32_t i = 0; i < c->recs.n_items && len < sizeof(s) - 64; i++) {
        len += (size_t)snprintf(s + len, sizeof(s) - len, "%s%s:%g", i ? " " : "",
                                c->recs.items[i].item_id, (double)c->recs.items[i].score);
    }
    return s;
}

/* users' stored "recent" list with '\n' shown as ' ' ("" when the key is absent: *found 0) */
static const char *recent_of(struct world *w, const char *user, int *found)
{
    static char s[512];
    struct recd_buf key, val;
    int rc;

    recd_buf_init(&key);
    recd_buf_init(&val);
    assert_int_equal(recd_key_sub(&key, user, "recent"), RECD_OK);
    rc = recd_state_get(w->st, RECD_CF_USERS, key.data, key.len, &val);
    assert_true(rc == RECD_OK || rc == RECD_ENOENT);
    *found = rc == RECD_OK;
    s[0] = '\0';
    for (size_t i = 0; rc == RECD_OK && i < val.len && i + 1 < sizeof(s); i++) {
        s[i] = val.data[i] == '\n' ? ' ' : (char)val.data[i];
        s[i + 1] = '\0';
    }
    recd_buf_free(&key);
    recd_buf_free(&val);
    return s;
}

/* Every user with a click, purchase or query in a batch gets one list, computed at the end of
 * the batch: items by decayed score, ties broken by item id, the user's own items left out,
 * reason "popular" with no because-item, seq = the user's events so far. Catalogue records
 * publish nothing and add no popularity. */
static void test_publishes_ranked_lists(void **s)
{
    struct world *w = world_new(POPULAR);
    const struct captured *c;
    char user[16];

    item(w, "cat0", "catalogue only", "Misc", 1);
    for (int i = 0; i < 3; i++) {   /* a: 3 views, b1 and b2: 2 each, c: 1 */
        snprintf(user, sizeof(user), "v%d", i);
        click(w, user, "a", T0);
        if (i < 2) {
            click(w, user, "b2", T0);
            click(w, user, "b1", T0);
        }
        if (i == 0) {
            click(w, user, "c", T0);
        }
    }
    run(w, 100);
    assert_int_equal(w->n_out, 3);          /* v0, v1, v2: one list each, the item none */
    assert_int_equal(published_for(w, "v0"), 1);
    assert_int_equal(published_for(w, "cat0"), 0);
    /* v2 saw only a; v0 saw everything but the catalogue record */
    assert_string_equal(list_str(w, "v2"), "b1:2 b2:2 c:1");
    c = last_for(w, "v0");
    assert_int_equal(c->recs.n_items, 0);
    assert_int_equal(c->recs.seq, 4);
    /* a query publishes a list and adds nothing */
    query(w, "searcher", "anything", T0);
    run(w, 1);
    c = last_for(w, "searcher");
    assert_non_null(c);
    assert_int_equal(c->recs.seq, 1);
    assert_string_equal(list_str(w, "searcher"), "a:3 b1:2 b2:2 c:1");
    for (uint32_t i = 0; i < c->recs.n_items; i++) {
        assert_string_equal(c->recs.items[i].reason, "popular");
        assert_null(c->recs.items[i].because_item_id);
    }
    assert_int_equal(listed(c, "cat0"), 0);
    assert_int_equal(w->n_dlq, 0);
    world_free(w);
}

/* A view adds w_view, an add-to-cart w_cart, a purchase w_purchase per unit (defaults 1, 3,
 * 5), and the weights are configuration. */
static void test_event_weights(void **s)
{
    struct world *w = world_new(POPULAR);

    cart(w, "x1", "carted", T0);
    click(w, "x2", "viewed", T0);
    click(w, "x3", "viewed", T0);
    purchase(w, "x4", "bought1", 1, T0);
    purchase(w, "x5", "bought2", 2, T0);
    query(w, "o", "q", T0);
    run(w, 100);
    assert_string_equal(list_str(w, "o"), "bought2:10 bought1:5 carted:3 viewed:2");
    world_free(w);

    w = world_new(
        POPULAR "operators = { popular = { w_view = 4.0; w_cart = 0.5; w_purchase = 0.0; }; };\n");
    cart(w, "x1", "carted", T0);
    click(w, "x2", "viewed", T0);
    purchase(w, "x4", "bought", 3, T0);
    query(w, "o", "q", T0);
    run(w, 100);
    assert_string_equal(list_str(w, "o"), "viewed:4 carted:0.5 bought:0");
    world_free(w);
}

/* Scores halve every half_life_s of event time, ranked at the stream's high-water mark; a late
 * event (older than the item's last update) adds its weight undecayed. */
static void test_decay_and_late_events(void **s)
{
    struct world *w = world_new(POPULAR "operators = { popular = { half_life_s = 3600.0; }; };\n");

    click(w, "u1", "old", T0);
    click(w, "u2", "old", T0);
    click(w, "u3", "old", T0);
    click(w, "u4", "old", T0);
    click(w, "u5", "old", T0);
    click(w, "u6", "old", T0);
    run(w, 3);
    assert_string_equal(list_str(w, "u6"), "");    /* the only item is u6's own */
    query(w, "o", "q", T0 + HOUR_MS);
    run(w, 1);
    assert_string_equal(list_str(w, "o"), "old:3");                 /* 6 after one half-life */
    click(w, "u7", "new", T0 + 2 * HOUR_MS);
    click(w, "u8", "new", T0 + 2 * HOUR_MS);
    query(w, "o", "q", T0 + 2 * HOUR_MS);
    run(w, 16);
    assert_string_equal(list_str(w, "o"), "new:2 old:1.5");
    /* late: two hours behind "new"'s last update, counted in full */
    click(w, "u9", "new", T0);
    query(w, "o", "q", T0 + 2 * HOUR_MS);
    run(w, 16);
    assert_string_equal(list_str(w, "o"), "new:3 old:1.5");
    /* the high-water mark moves with the newest event of any user */
    click(w, "u10", "other", T0 + 4 * HOUR_MS);
    query(w, "o", "q", T0);
    run(w, 16);
    assert_string_equal(list_str(w, "o"), "other:1 new:0.75 old:0.375");
    world_free(w);
}

/* exclude_seen: the user's recent_len most recent items are left out; the oldest falls off
 * when a new one comes, a re-viewed item moves to the front. The list is n items at most; n
 * and exclude_seen are reloadable. */
static void test_recent_and_bounds(void **s)
{
    struct world *w = world_new(POPULAR "operators = { popular = { n = 4; recent_len = 3; }; };\n");
    char user[16], it[16];
    int found;

    for (int i = 1; i <= 6; i++) {   /* i1: 6 views ... i6: 1 */
        for (int k = 0; k < 7 - i; k++) {
            snprintf(user, sizeof(user), "w%d", k);
            snprintf(it, sizeof(it), "i%d", i);
            click(w, user, it, T0);
        }
    }
    run(w, 64);
    click(w, "r", "i1", T0);
    click(w, "r", "i2", T0);
    click(w, "r", "i3", T0);
    run(w, 2);
    assert_string_equal(list_str(w, "r"), "i4:3 i5:2 i6:1");
    assert_string_equal(recent_of(w, "r", &found), "i3 i2 i1");
    assert_true(found);
    click(w, "r", "i4", T0);   /* i1, the oldest, falls off: recommended again */
    run(w, 1);
    assert_string_equal(recent_of(w, "r", &found), "i4 i3 i2");
    assert_string_equal(list_str(w, "r"), "i1:7 i5:2 i6:1");
    click(w, "r", "i2", T0);   /* a re-view moves i2 to the front ... */
    click(w, "r", "i5", T0);   /* ... so i3 falls off, not i2 */
    run(w, 8);
    assert_string_equal(recent_of(w, "r", &found), "i5 i2 i4");
    assert_string_equal(list_str(w, "r"), "i1:7 i3:5 i6:1");
    /* n bounds the list */
    query(w, "q", "anything", T0);
    run(w, 1);
    assert_string_equal(list_str(w, "q"), "i1:7 i2:7 i3:5 i4:4");
    /* reload: shorter lists, seen items allowed */
    world_reconfigure(
        w,
        POPULAR "operators = { popular = { n = 2; recent_len = 3; exclude_seen = false; }; };\n");
    query(w, "r", "anything", T0);
    run(w, 1);
    assert_string_equal(list_str(w, "r"), "i1:7 i2:7");
    world_free(w);
}

/* A deletion forgets the user's recent items (a tombstone, no stored list, also for events in
 * the same batch), but not their contributions to the items' popularity. (All at one event
 * time: no decay.) */
static void test_forget(void **s)
{
    struct world *w = world_new(POPULAR);
    const struct captured *c;
    int found;

    click(w, "f", "a", T0);
    click(w, "f", "b", T0);
    click(w, "g", "c", T0);
    run(w, 8);
    assert_string_equal(list_str(w, "f"), "c:1");
    recent_of(w, "f", &found);
    assert_true(found);
    /* in one batch: a click, the deletion, another click: all of f is forgotten */
    click(w, "f", "c", T0);
    forget(w, "f", T0);
    click(w, "f", "d", T0);
    run(w, 8);
    c = last_for(w, "f");
    assert_non_null(c);
    assert_true(c->tombstone);
    assert_string_equal(recent_of(w, "f", &found), "");
    assert_false(found);
    /* f starts afresh: nothing is excluded but the new click; the items keep f's views */
    click(w, "f", "e", T0);
    run(w, 1);
    c = last_for(w, "f");
    assert_false(c->tombstone);
    assert_int_equal(c->recs.seq, 1);
    assert_string_equal(list_str(w, "f"), "c:2 a:1 b:1 d:1");
    assert_string_equal(recent_of(w, "f", &found), "e");
    world_free(w);
}

/* The scores, the high-water mark and the users' recent items live in the state: a pipeline
 * restarted over it publishes exactly what the uninterrupted one does (score bits included). */
static void test_restart(void **s)
{
    char ids[2][20][16];
    float scores[2][20];
    uint32_t n[2];

    for (int r = 0; r < 2; r++) {
        struct world *w = world_new(
            POPULAR "operators = { popular = { half_life_s = 600.0; recent_len = 5; }; };\n");
        const struct captured *c;
        char user[16], it[16];

        for (int i = 0; i < 300; i++) {
            snprintf(user, sizeof(user), "u%d", i % 13);
            snprintf(it, sizeof(it), "i%d", (i * 7) % 17);
            if (i % 5 == 0) {
                cart(w, user, it, T0 + i * 7000LL);
            } else {
                click(w, user, it, T0 + i * 7000LL);
            }
        }
        run(w, 32);
        if (r == 1) {
            world_reopen(w, NULL);
        }
        click(w, "u3", "i1", T0 + 300 * 7000LL);   /* u3's recent items come from the state */
        run(w, 1);
        c = last_for(w, "u3");
        assert_non_null(c);
        assert_true(c->recs.n_items > 0);
        n[r] = c->recs.n_items < 20 ? c->recs.n_items : 20;
        for (uint32_t i = 0; i < n[r]; i++) {
            snprintf(ids[r][i], sizeof(ids[r][i]), "%s", c->recs.items[i].item_id);
            scores[r][i] = c->recs.items[i].score;
        }
        world_free(w);
    }
    assert_int_equal(n[0], n[1]);
    for (uint32_t i = 0; i < n[0]; i++) {
        assert_string_equal(ids[0][i], ids[1][i]);
        assert_memory_equal(&scores[0][i], &scores[1][i], sizeof(float));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publishes_ranked_lists),
        cmocka_unit_test(test_event_weights),
        cmocka_unit_test(test_decay_and_late_events),
        cmocka_unit_test(test_recent_and_bounds),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_restart),
    };
    const char *only = getenv("RECD_TEST_FILTER");

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
