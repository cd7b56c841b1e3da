/*
 * test_rerank.c — the rerank operator (operators/rerank/rerank.c) at the end of the default
 * chain on the in-process harness (harness.h): its filters (out of stock, blocked categories,
 * the item being viewed, recent purchases), query steering, cold-start slots, MMR diversity,
 * the list length and the reason vocabulary, and that its knobs take effect on a reload.
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

/* Every entry of c: a reason of rerank's vocabulary, a because-item where the reason has one,
 * no item twice, at most n entries. */
static void check_list(const struct captured *c, uint32_t n)
{
    static const char *const reasons[] = { "popular",    "similar_session", "next_item",
                                           "co_visited", "in_session",      "similar_text",
                                           "query_match" };

    assert_non_null(c);
    assert_false(c->tombstone);
    assert_true(c->recs.n_items <= n);
    for (uint32_t i = 0; i < c->recs.n_items; i++) {
        const struct recd_rec_item *r = &c->recs.items[i];
        size_t k;

        for (k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++) {
            if (strcmp(r->reason, reasons[k]) == 0) {
                break;
            }
        }
        if (k == sizeof(reasons) / sizeof(reasons[0])) {
            fail_msg("item %s: unknown reason %s", r->item_id, r->reason);
        }
        if (strcmp(r->reason, "popular") != 0 && strcmp(r->reason, "query_match") != 0) {
            assert_non_null(r->because_item_id);
        }
        for (uint32_t j = 0; j < i; j++) {
            assert_string_not_equal(c->recs.items[j].item_id, r->item_id);
        }
    }
}

/* 30 sessions a -> b -> c, 20 of a -> x (the catalogue knows every item) */
static void shop(struct world *w)
{
    char user[16];

    item(w, "a", "trail running shoe", "Shoes", 1);
    item(w, "b", "running sock wool", "Socks", 1);
    item(w, "c", "running cap", "Caps", 1);
    item(w, "x", "sports watch", "Watches", 1);
    for (int i = 0; i < 30; i++) {
        snprintf(user, sizeof(user), "s%d", i);
        click(w, user, "a", T0 + i * 1000);
        click(w, user, "b", T0 + i * 1000 + 100);
        click(w, user, "c", T0 + i * 1000 + 200);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(user, sizeof(user), "t%d", i);
        click(w, user, "a", T0 + 40000 + i * 1000);
        click(w, user, "x", T0 + 40000 + i * 1000 + 100);
    }
    run(w, 50);
}

/* out-of-stock items and blocked categories never appear; the query steers to text matches */
static void test_filters_and_query(void **s)
{
    struct world *w = world_new(
        "operators = { rerank = { blocked_categories = [\"Knives\"]; }; };\n");
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

/* An item known only from clicks is never recommended once a catalogue lists items; it is
 * when no catalogue record was ever read, and with exclude_unlisted = false. */
static void unlisted_world(struct world *w, int with_catalogue)
{
    char user[16];

    if (with_catalogue) {
        item(w, "a", "red running shoe", "Shoes", 1);
        item(w, "z", "garden hose green", "Garden", 1);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        click(w, user, "a", T0 + i * 1000);
        click(w, user, "ghost", T0 + i * 1000 + 10);
        click(w, user, "z", T0 + i * 1000 + 20);
    }
    run(w, 50);
    click(w, "shopper", "a", T0 + 500000);
    run(w, 1);
}

static void test_exclude_unlisted(void **s)
{
    struct world *w = world_new(NULL);
    const struct captured *c;

    (void)s;
    unlisted_world(w, 1);
    c = last_for(w, "shopper");
    assert_non_null(c);
    assert_true(listed(c, "z") > 0);
    assert_int_equal(listed(c, "ghost"), 0);
    world_free(w);

    /* the controls: the same clicks recommend "ghost" without a catalogue, and when off */
    w = world_new(NULL);
    unlisted_world(w, 0);
    c = last_for(w, "shopper");
    assert_non_null(c);
    assert_true(listed(c, "ghost") > 0);
    world_free(w);
    w = world_new("operators = { rerank = { exclude_unlisted = false; }; };\n");
    unlisted_world(w, 1);
    c = last_for(w, "shopper");
    assert_non_null(c);
    assert_true(listed(c, "ghost") > 0);
    world_free(w);
}

/* Cold start: an item nobody clicked is never a model candidate; with rerank.cold_slots the
 * last place of a user's list goes to the unclicked item whose title matches the session. */
static void cold_world(struct world *w)
{
    static const char *const warm[][2] = {
        { "s", "camping stove compact" },
        { "l", "camping lantern led" },
        { "b", "sleeping bag for camping" },
        { "m", "coffee mug ceramic" },
        { "p", "printer paper a4" },
        { "k", "kitchen scale digital" },
        { "d", "desk lamp" },
        { "c", "usb cable" },
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

/* exclude_viewing: off by default (the item just viewed may come back), on: never listed */
static void test_exclude_viewing(void **s)
{
    struct world *w = world_new(NULL);

    shop(w);
    click(w, "v", "a", T0 + 200000);
    click(w, "v", "b", T0 + 200100);
    run(w, 1);
    check_list(last_for(w, "v"), 20);
    assert_true(listed(last_for(w, "v"), "b") > 0);
    world_reconfigure(w, "operators = { rerank = { exclude_viewing = true; }; };\n");
    click(w, "v", "b", T0 + 200200);
    run(w, 1);
    check_list(last_for(w, "v"), 20);
    assert_int_equal(listed(last_for(w, "v"), "b"), 0);
    assert_true(listed(last_for(w, "v"), "c") > 0);
    world_free(w);
}

/* exclude_purchased_s: an item the user bought is left out for that long (event time) */
static void test_exclude_purchased(void **s)
{
    struct world *w = world_new("operators = { rerank = { exclude_purchased_s = 600.0; }; };\n");

    shop(w);
    click(w, "p", "a", T0 + 200000);
    run(w, 1);
    assert_true(listed(last_for(w, "p"), "x") > 0);
    purchase(w, "p", "x", 1, T0 + 200100);
    click(w, "p", "a", T0 + 200200);
    run(w, 1);
    check_list(last_for(w, "p"), 20);
    assert_int_equal(listed(last_for(w, "p"), "x"), 0);
    assert_true(listed(last_for(w, "p"), "b") > 0);
    click(w, "p", "a", T0 + 200100 + 601000);      /* the window has passed */
    run(w, 1);
    assert_true(listed(last_for(w, "p"), "x") > 0);
    world_free(w);
}

/* n bounds the list (reloadable); MMR with mmr_lambda < 1 puts another category second */
static void test_length_and_diversity(void **s)
{
    struct world *w = world_new(
        "operators = { rerank = { mmr_lambda = 1.0; exclude_viewing = true; }; };\n");
    char user[16];

    item(w, "q", "anchor", "Anchor", 1);
    item(w, "a1", "blue kettle", "Kettles", 1);
    item(w, "a2", "red kettle", "Kettles", 1);
    item(w, "a3", "steel kettle", "Kettles", 1);
    item(w, "b1", "tea cup", "Cups", 1);
    for (int i = 0; i < 30; i++) {
        snprintf(user, sizeof(user), "k%d", i);
        click(w, user, "q", T0 + i * 1000);
        click(w, user, "a1", T0 + i * 1000 + 100);
        click(w, user, "a2", T0 + i * 1000 + 200);
        click(w, user, "a3", T0 + i * 1000 + 300);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(user, sizeof(user), "c%d", i);
        click(w, user, "q", T0 + 50000 + i * 1000);
        click(w, user, "b1", T0 + 50000 + i * 1000 + 100);
    }
    run(w, 64);
    click(w, "m", "q", T0 + 200000);
    run(w, 1);
    check_list(last_for(w, "m"), 20);
    assert_true(listed(last_for(w, "m"), "b1") > 3);   /* relevance alone: the kettles first */
    world_reconfigure(w,
                      "operators = { rerank = { mmr_lambda = 0.0; exclude_viewing = true; }; };\n");
    click(w, "m", "q", T0 + 200100);
    run(w, 1);
    check_list(last_for(w, "m"), 20);
    assert_int_equal(listed(last_for(w, "m"), "b1"), 2);
    world_reconfigure(w, "operators = { rerank = { n = 2; exclude_viewing = true; }; };\n");
    click(w, "m", "q", T0 + 200200);
    run(w, 1);
    check_list(last_for(w, "m"), 2);
    assert_int_equal(last_for(w, "m")->recs.n_items, 2);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_and_query),    cmocka_unit_test(test_cold_slots),
        cmocka_unit_test(test_exclude_viewing),      cmocka_unit_test(test_exclude_purchased),
        cmocka_unit_test(test_length_and_diversity), cmocka_unit_test(test_exclude_unlisted),
    };
    const char *only = getenv("RECD_TEST_FILTER");

    if (only != NULL && *only) {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
