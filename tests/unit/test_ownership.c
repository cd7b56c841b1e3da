/* test_ownership.c — daemon/ownership.c: which records an instance publishes, applies
 * silently or holds (kafka.learn_from = all), the settling of a new partition, and the order in
 * which acknowledged output becomes committable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "event.h"
#include "ownership.h"
#include "recd.h"

static int freed;
static void count_free(void *m)
{
    freed++;
    free(m);
}

static void *msg(int64_t off)
{
    int64_t *m = malloc(sizeof(*m));

    assert_non_null(m);
    *m = off;
    return m;
}

struct taken {
    struct recd_own *o; /* the records taken went into a batch (recd_own_took) */
    int64_t off[64];
    int cls[64];
    int n;
};

static void take(void *ctx, void *m, int kind, int32_t p, enum recd_own_class cls)
{
    struct taken *t = ctx;

    t->off[t->n] = *(int64_t *)m;
    if (t->o != NULL) {
        recd_own_took(t->o, kind, p, t->off[t->n] + 1);
    }
    t->cls[t->n] = cls;
    t->n++;
    free(m);
}

/* not owned: below the owner's commit silent, at or after it held; owned: loud from the
 * offset the group had committed, silent before it */
static void test_classify(void **state)
{
    struct recd_own *o = recd_own_new(4, count_free);
    int64_t from[RECD_OWN_NKINDS] = { -1, -1, -1, -1, -1 };

    (void)state;
    assert_non_null(o);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 0), RECD_OWN_HOLD);
    recd_own_set_limit(o, RECD_KIND_CLICK, 1, 10);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 9), RECD_OWN_SILENT);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 10), RECD_OWN_HOLD);
    recd_own_set_limit(o, RECD_KIND_CLICK, 1, 5); /* limits only rise */
    assert_int_equal(recd_own_limit(o, RECD_KIND_CLICK, 1), 10);
    /* other kinds and partitions are independent */
    assert_int_equal(recd_own_classify(o, RECD_KIND_PURCHASE, 1, 0), RECD_OWN_HOLD);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 2, 0), RECD_OWN_HOLD);

    from[RECD_KIND_CLICK] = 12;
    recd_own_assign(o, 1, from, 0);
    assert_true(recd_own_owned(o, 1));
    assert_int_equal(recd_own_n_owned(o), 1);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 11), RECD_OWN_SILENT);
    /* not before every topic of the partition is taken up to where publishing starts */
    from[RECD_KIND_QUERY] = 3;
    recd_own_assign(o, 1, from, 0);
    recd_own_took(o, RECD_KIND_CLICK, 1, 12);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 12), RECD_OWN_HOLD);
    recd_own_took(o, RECD_KIND_QUERY, 1, 3);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 1, 12), RECD_OWN_LOUD);
    /* nothing committed for purchases: all of them are this instance's to publish */
    assert_int_equal(recd_own_classify(o, RECD_KIND_PURCHASE, 1, 0), RECD_OWN_LOUD);
    /* a partition recd does not know of is held, never applied */
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 4, 0), RECD_OWN_HOLD);
    recd_own_destroy(o);
}

/* a deletion another instance applied is taken here only once the owner committed it (never
 * ahead of that) and every event topic of its partition is taken up to what the owner
 * committed with it: applied before those clicks, it would be undone by them */
static void test_deletion_waits(void **state)
{
    struct recd_own *o = recd_own_new(2, count_free);
    int64_t from[RECD_OWN_NKINDS] = { 40, -1, -1, -1, 1 };

    (void)state;
    recd_own_set_ahead(o, 50);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 10), RECD_OWN_SILENT); /* ahead */
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 0, 0), RECD_OWN_HOLD);
    recd_own_set_limit(o, RECD_KIND_DELETION, 0, 1);
    recd_own_set_limit(o, RECD_KIND_CLICK, 0, 100);
    recd_own_set_limit(o, RECD_KIND_QUERY, 0, 7);
    recd_own_took(o, RECD_KIND_CLICK, 0, 60);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 0, 0), RECD_OWN_HOLD);
    recd_own_took(o, RECD_KIND_CLICK, 0, 100);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 0, 0), RECD_OWN_HOLD); /* queries */
    recd_own_took(o, RECD_KIND_QUERY, 0, 7);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 0, 0), RECD_OWN_SILENT);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 0, 1), RECD_OWN_HOLD);
    /* settling: up to where publishing starts */
    recd_own_assign(o, 1, from, 1000000000000LL);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 1, 0), RECD_OWN_HOLD);
    recd_own_took(o, RECD_KIND_CLICK, 1, 40);
    assert_int_equal(recd_own_classify(o, RECD_KIND_DELETION, 1, 0), RECD_OWN_SILENT);
    recd_own_destroy(o);
}

/* held records come back in offset order once the owner commits past them, never past the
 * limit, and at most `max` at a time; the rest are freed by destroy */
static void test_hold_release(void **state)
{
    struct recd_own *o = recd_own_new(2, count_free);
    struct taken t = { 0 };
    size_t n_held = 0;

    (void)state;
    freed = 0;
    for (int64_t off = 0; off < 6; off++) {
        assert_int_equal(recd_own_hold(o, RECD_KIND_CLICK, 0, off, msg(off), 100 + (size_t)off, &n_held), RECD_OK);
    }
    assert_int_equal(n_held, 6);
    /* their sizes: 100..105 bytes; the partition's bytes follow what is held */
    assert_int_equal(recd_own_held_bytes_part(o, RECD_KIND_CLICK, 0), 615);
    assert_int_equal(recd_own_held_bytes_part(o, RECD_KIND_CLICK, 1), 0);
    assert_int_equal(recd_own_held_bytes_part(o, RECD_KIND_CLICK, 5), 0);
    assert_int_equal(recd_own_release(o, 100, take, &t), 0); /* no commit yet */
    recd_own_set_limit(o, RECD_KIND_CLICK, 0, 4);
    assert_int_equal(recd_own_release(o, 3, take, &t), 3);
    assert_int_equal(recd_own_release(o, 100, take, &t), 1);
    assert_int_equal(t.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t.off[i], i);
        assert_int_equal(t.cls[i], RECD_OWN_SILENT);
    }
    assert_int_equal(recd_own_n_held(o), 2);
    assert_int_equal(recd_own_n_held_part(o, RECD_KIND_CLICK, 0), 2);
    assert_int_equal(recd_own_held_bytes_part(o, RECD_KIND_CLICK, 0), 104 + 105);
    assert_int_equal(recd_own_hold(o, RECD_KIND_CLICK, 5, 0, NULL, 0, NULL), RECD_EINVAL);
    recd_own_destroy(o);
    assert_int_equal(freed, 2);
}

/* a new partition settles: records at or after the group's commit are held until the settle
 * time, and it then publishes from the highest commit seen meanwhile (the previous owner's
 * retried final commit) */
static void test_settle(void **state)
{
    struct recd_own *o = recd_own_new(2, count_free);
    int64_t from[RECD_OWN_NKINDS] = { 100, -1, -1, -1, -1 };
    struct taken t = { 0 };

    t.o = o;

    (void)state;
    recd_own_assign(o, 0, from, 1000);
    assert_false(recd_own_owned(o, 0));
    assert_true(recd_own_settling(o, 0));
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 99), RECD_OWN_SILENT);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 100), RECD_OWN_HOLD);
    for (int64_t off = 100; off < 110; off++) {
        assert_int_equal(recd_own_hold(o, RECD_KIND_CLICK, 0, off, msg(off), 1, NULL), RECD_OK);
    }
    recd_own_set_limit(o, RECD_KIND_CLICK, 0, 105); /* the previous owner's late commit */
    assert_int_equal(recd_own_settle(o, 999), 0);
    assert_int_equal(recd_own_release(o, 100, take, &t), 5); /* 100..104: silent */
    assert_int_equal(recd_own_settle(o, 1000), 1);
    assert_true(recd_own_owned(o, 0));
    assert_int_equal(recd_own_pub_from(o, RECD_KIND_CLICK, 0), 105);
    assert_int_equal(recd_own_release(o, 100, take, &t), 5);
    assert_int_equal(t.n, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(t.off[i], 100 + i);
        assert_int_equal(t.cls[i], i < 5 ? RECD_OWN_SILENT : RECD_OWN_LOUD);
    }
    /* once publishing, the group's commits no longer move the limit */
    recd_own_set_limit(o, RECD_KIND_CLICK, 0, 500);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 200), RECD_OWN_LOUD);
    /* handed over: the committed offsets become the limit */
    int64_t next[RECD_OWN_NKINDS] = { 300, -1, -1, -1, -1 };
    recd_own_revoke(o, 0, next);
    assert_false(recd_own_owned(o, 0));
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 299), RECD_OWN_SILENT);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 300), RECD_OWN_HOLD);
    recd_own_destroy(o);
}

/* acknowledgements arriving out of batch order make offsets committable only up to the
 * first batch still unacknowledged */
static void test_ack_order(void **state)
{
    struct recd_own *o = recd_own_new(2, NULL);
    uint64_t s1, s2, s3;

    (void)state;
    assert_int_equal(recd_own_batch_begin(o, &s1), RECD_OK);
    recd_own_batch_offset(o, s1, RECD_KIND_CLICK, 0, 10);
    assert_int_equal(recd_own_batch_begin(o, &s2), RECD_OK);
    recd_own_batch_offset(o, s2, RECD_KIND_CLICK, 0, 20);
    recd_own_batch_offset(o, s2, RECD_KIND_CLICK, 1, 7);
    assert_int_equal(recd_own_batch_begin(o, &s3), RECD_OK);
    recd_own_batch_offset(o, s3, RECD_KIND_CLICK, 0, 30);
    recd_own_batch_done(o, s2);
    assert_int_equal(recd_own_acked(o, RECD_KIND_CLICK, 0), -1);
    recd_own_batch_done(o, s1);
    assert_int_equal(recd_own_acked(o, RECD_KIND_CLICK, 0), 20);
    assert_int_equal(recd_own_acked(o, RECD_KIND_CLICK, 1), 7);
    recd_own_batch_abort(o, s3); /* did not commit */
    assert_int_equal(recd_own_acked(o, RECD_KIND_CLICK, 0), 20);
    /* many batches: the queue's storage is reused */
    for (int i = 0; i < 200; i++) {
        uint64_t s;

        assert_int_equal(recd_own_batch_begin(o, &s), RECD_OK);
        recd_own_batch_offset(o, s, RECD_KIND_QUERY, 0, 100 + i);
        recd_own_batch_done(o, s);
    }
    assert_int_equal(recd_own_acked(o, RECD_KIND_QUERY, 0), 299);
    recd_own_set_acked(o, RECD_KIND_QUERY, 0, 10); /* only rises */
    assert_int_equal(recd_own_acked(o, RECD_KIND_QUERY, 0), 299);
    recd_own_destroy(o);
    assert_null(recd_own_new(0, NULL));
}

/* a takeover from an owner killed after its last commit: the output topic shows it published
 * up to 150 (clicks) and 12 (purchases) while this instance applied clicks up to 120 only.
 * Raised there, records below are silent and nothing is loud until every topic is taken up to
 * it (recd_own_caught_up), so no list is computed from a state older than one published. */
static void test_raise_pub_from(void **state)
{
    struct recd_own *o = recd_own_new(1, count_free);
    int64_t from[RECD_OWN_NKINDS] = { 100, 10, -1, -1, -1 };
    int64_t seen[RECD_OWN_NKINDS] = { 150, 12, -1, -1, -1 };
    int64_t lower[RECD_OWN_NKINDS] = { 130, 11, -1, -1, -1 };

    (void)state;
    recd_own_assign(o, 0, from, 0);
    recd_own_took(o, RECD_KIND_CLICK, 0, 120);
    recd_own_took(o, RECD_KIND_PURCHASE, 0, 12);
    assert_true(recd_own_caught_up(o, 0));
    recd_own_raise_pub_from(o, 0, seen);
    assert_int_equal(recd_own_pub_from(o, RECD_KIND_CLICK, 0), 150);
    assert_int_equal(recd_own_pub_from(o, RECD_KIND_PURCHASE, 0), 12);
    assert_false(recd_own_caught_up(o, 0));
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 149), RECD_OWN_SILENT);
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 150), RECD_OWN_HOLD);
    assert_int_equal(recd_own_classify(o, RECD_KIND_PURCHASE, 0, 12), RECD_OWN_HOLD);
    recd_own_raise_pub_from(o, 0, lower); /* only rises */
    assert_int_equal(recd_own_pub_from(o, RECD_KIND_CLICK, 0), 150);
    recd_own_took(o, RECD_KIND_CLICK, 0, 150);
    assert_true(recd_own_caught_up(o, 0));
    assert_int_equal(recd_own_classify(o, RECD_KIND_CLICK, 0, 150), RECD_OWN_LOUD);
    assert_int_equal(recd_own_classify(o, RECD_KIND_PURCHASE, 0, 12), RECD_OWN_LOUD);
    recd_own_destroy(o);
}

/* the stamp committed with the offsets is that of the newest batch whose output is
 * acknowledged: batches after it started later */
static void test_acked_stamp(void **state)
{
    struct recd_own *o = recd_own_new(1, NULL);
    uint64_t s1, s2;

    (void)state;
    assert_int_equal(recd_own_acked_stamp(o), 0);
    assert_int_equal(recd_own_batch_begin(o, &s1), RECD_OK);
    recd_own_batch_stamp(o, s1, 1000);
    assert_int_equal(recd_own_batch_begin(o, &s2), RECD_OK);
    recd_own_batch_stamp(o, s2, 2000);
    recd_own_batch_done(o, s2);
    assert_int_equal(recd_own_acked_stamp(o), 0); /* s1 still out */
    recd_own_batch_done(o, s1);
    assert_int_equal(recd_own_acked_stamp(o), 2000);
    recd_own_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_hold_release),
        cmocka_unit_test(test_settle),
        cmocka_unit_test(test_ack_order),
        cmocka_unit_test(test_raise_pub_from),
        cmocka_unit_test(test_acked_stamp),
        cmocka_unit_test(test_deletion_waits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
