/* test_state.c — the state layer's transactions (state/state.c): a batch's writes are handed to
 * RocksDB sorted by (column family, key) at commit; the order must never change what is
 * stored (last write of a key wins, writes after a range deletion survive it, writes before it
 * do not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recd.h"
#include "state.h"

struct fx {
    char dir[64];
    struct recd_state *st;
    struct recd_txn *t;
    struct recd_buf v;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct recd_state_conf c = {0};
    char err[256];

    snprintf(f->dir, sizeof(f->dir), "/tmp/recd-test-state.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    c.dir = f->dir;
    c.compression = "none";
    if (recd_state_open(&c, &f->st, err, sizeof(err)) != RECD_OK ||
        recd_txn_new(f->st, &f->t) != RECD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    recd_buf_init(&f->v);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    recd_txn_destroy(f->t);
    recd_state_close(f->st);
    recd_buf_free(&f->v);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

static void put(struct fx *f, int cf, const char *k, const char *v)
{
    assert_int_equal(recd_txn_put(f->t, cf, k, strlen(k) + 1, v, strlen(v) + 1), RECD_OK);
}

static void commit(struct fx *f)
{
    char err[256];

    assert_int_equal(recd_txn_commit(f->t, err, sizeof(err)), RECD_OK);
    recd_txn_clear(f->t);
    assert_int_equal(recd_txn_count(f->t), 0);
}

/* "" when absent */
static const char *get(struct fx *f, int cf, const char *k)
{
    int rc = recd_state_get(f->st, cf, k, strlen(k) + 1, &f->v);

    if (rc == RECD_ENOENT) {
        return "";
    }
    assert_int_equal(rc, RECD_OK);
    return (const char *)f->v.data;
}

static void test_last_write_wins(void **state)
{
    struct fx *f = *state;

    /* keys written out of order, one of them three times, in two column families */
    put(f, RECD_CF_USERS, "zed", "1");
    put(f, RECD_CF_USERS, "amy", "1");
    put(f, RECD_CF_ITEMS, "amy", "item");
    put(f, RECD_CF_USERS, "zed", "2");
    put(f, RECD_CF_USERS, "bob", "1");
    put(f, RECD_CF_USERS, "zed", "3");
    assert_int_equal(recd_txn_count(f->t), 6);
    commit(f);
    assert_string_equal(get(f, RECD_CF_USERS, "zed"), "3");
    assert_string_equal(get(f, RECD_CF_USERS, "amy"), "1");
    assert_string_equal(get(f, RECD_CF_USERS, "bob"), "1");
    assert_string_equal(get(f, RECD_CF_ITEMS, "amy"), "item");
    /* a delete after a put of the same key, and a put after a delete */
    put(f, RECD_CF_USERS, "amy", "2");
    assert_int_equal(recd_txn_del(f->t, RECD_CF_USERS, "amy", 4), RECD_OK);
    assert_int_equal(recd_txn_del(f->t, RECD_CF_USERS, "bob", 4), RECD_OK);
    put(f, RECD_CF_USERS, "bob", "2");
    commit(f);
    assert_string_equal(get(f, RECD_CF_USERS, "amy"), "");
    assert_string_equal(get(f, RECD_CF_USERS, "bob"), "2");
}

static void test_range_delete_order(void **state)
{
    struct fx *f = *state;

    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u1\0a", 5, "old", 4), RECD_OK);
    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u1\0b", 5, "old", 4), RECD_OK);
    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u2\0a", 5, "keep", 5), RECD_OK);
    commit(f);
    /* written before the range deletion in the same batch: gone; written after: kept, even
     * though the sort would place "u1\0a" before the deletion's start key otherwise */
    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u1\0c", 5, "mid", 4), RECD_OK);
    assert_int_equal(recd_txn_del_prefix(f->t, RECD_CF_USERS, "u1\0", 3), RECD_OK);
    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u1\0a", 5, "new", 4), RECD_OK);
    assert_int_equal(recd_txn_put(f->t, RECD_CF_USERS, "u0", 3, "x", 2), RECD_OK);
    commit(f);
    assert_int_equal(recd_state_get(f->st, RECD_CF_USERS, "u1\0a", 5, &f->v), RECD_OK);
    assert_string_equal((const char *)f->v.data, "new");
    assert_int_equal(recd_state_get(f->st, RECD_CF_USERS, "u1\0b", 5, &f->v), RECD_ENOENT);
    assert_int_equal(recd_state_get(f->st, RECD_CF_USERS, "u1\0c", 5, &f->v), RECD_ENOENT);
    assert_int_equal(recd_state_get(f->st, RECD_CF_USERS, "u2\0a", 5, &f->v), RECD_OK);
    assert_string_equal((const char *)f->v.data, "keep");
    assert_string_equal(get(f, RECD_CF_USERS, "u0"), "x");
}

static void test_offsets_and_clear(void **state)
{
    struct fx *f = *state;
    int64_t next = 0;

    put(f, RECD_CF_USERS, "gone", "1");
    recd_txn_clear(f->t);   /* a failed batch: nothing of it may reach the store */
    assert_int_equal(recd_txn_set_offset(f->t, "t", 3, 42), RECD_OK);
    assert_int_equal(recd_txn_set_offset(f->t, "t", 3, 43), RECD_OK);
    commit(f);
    assert_string_equal(get(f, RECD_CF_USERS, "gone"), "");
    assert_int_equal(recd_state_get_offset(f->st, "t", 3, &next), RECD_OK);
    assert_int_equal(next, 43);
    commit(f);   /* an empty transaction commits */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_write_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_delete_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_and_clear, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
