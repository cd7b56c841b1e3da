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
    struct recd_state_conf c = { 0 };
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

/* The per-user column families hash their memtable by user (state.c): iterators must still
 * see every key in key order — all users, and one user's keys under its prefix — and a
 * user's range deletion must take exactly that user's keys. */
static void test_user_cf_order(void **state)
{
    struct fx *f = *state;
    static const int cfs[] = { RECD_CF_USERS, RECD_CF_SESSIONS };
    const int n_users = 500;

    for (int c = 0; c < 2; c++) {
        struct recd_state_iter *it;
        const void *k, *v;
        size_t kl, vl, n = 0;
        char prev[64] = "", key[64];

        /* written in an order unrelated to key order, over several commits */
        for (int i = 0; i < n_users; i++) {
            int u = (i * 7919) % n_users;
            int kn = snprintf(key, sizeof(key), "user-%d", u) + 1;

            memcpy(key + kn, "prof", 4);
            assert_int_equal(recd_txn_put(f->t, cfs[c], key, (size_t)kn + 4, "p", 1), RECD_OK);
            memcpy(key + kn, "seq", 3);
            assert_int_equal(recd_txn_put(f->t, cfs[c], key, (size_t)kn + 3, "s", 1), RECD_OK);
            if (i % 97 == 0) {
                commit(f);
            }
        }
        commit(f);
        assert_int_equal(recd_state_iter_new(f->st, cfs[c], NULL, 0, &it), RECD_OK);
        while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
            assert_true(kl < sizeof(key));
            memcpy(key, k, kl);
            key[kl] = '\0';
            /* strictly ascending as byte strings (the NUL sorts before any character) */
            if (n > 0) {
                size_t pl = strlen(prev) + 1 + strlen(prev + strlen(prev) + 1);
                int cmp = memcmp(prev, key, pl < kl ? pl : kl);

                assert_true(cmp < 0 || (cmp == 0 && pl < kl));
            }
            memcpy(prev, key, kl);
            prev[kl] = '\0';
            n++;
        }
        recd_state_iter_destroy(it);
        assert_int_equal(n, 2 * n_users);
        /* one user's keys under its prefix: exactly two */
        assert_int_equal(recd_state_iter_new(f->st, cfs[c], "user-42", 8, &it), RECD_OK);
        n = 0;
        while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
            assert_memory_equal(k, "user-42", 8);
            n++;
        }
        recd_state_iter_destroy(it);
        assert_int_equal(n, 2);
        /* the user's range deletion: its keys gone, its neighbours' kept */
        assert_int_equal(recd_txn_del_prefix(f->t, cfs[c], "user-42", 8), RECD_OK);
        commit(f);
        assert_int_equal(recd_state_get(f->st, cfs[c], "user-42\0prof", 12, &f->v), RECD_ENOENT);
        assert_int_equal(recd_state_get(f->st, cfs[c], "user-42\0seq", 11, &f->v), RECD_ENOENT);
        assert_int_equal(recd_state_get(f->st, cfs[c], "user-420\0seq", 12, &f->v), RECD_OK);
        assert_int_equal(recd_state_get(f->st, cfs[c], "user-41\0seq", 11, &f->v), RECD_OK);
    }
    /* the same from the files: a reopen flushes the recovered memtables; then read-only */
    for (int ro = 0; ro < 2; ro++) {
        struct recd_state_conf conf = { 0 };
        char err[256];

        recd_txn_destroy(f->t);
        f->t = NULL;
        recd_state_close(f->st);
        conf.dir = f->dir;
        conf.compression = "none";
        conf.read_only = ro;
        assert_int_equal(recd_state_open(&conf, &f->st, err, sizeof(err)), RECD_OK);
        assert_int_equal(recd_txn_new(f->st, &f->t), RECD_OK);
        for (int c = 0; c < 2; c++) {
            struct recd_state_iter *it;
            const void *k, *v;
            size_t kl, vl, n = 0;

            assert_int_equal(recd_state_iter_new(f->st, cfs[c], NULL, 0, &it), RECD_OK);
            while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
                n++;
            }
            recd_state_iter_destroy(it);
            assert_int_equal(n, 2 * n_users - 2);
            for (int u = 41; u <= 43; u++) {
                char pre[16];
                int pl = snprintf(pre, sizeof(pre), "user-%d", u) + 1;

                assert_int_equal(recd_state_iter_new(f->st, cfs[c], pre, (size_t)pl, &it), RECD_OK);
                n = 0;
                while (recd_state_iter_next(it, &k, &kl, &v, &vl)) {
                    assert_memory_equal(k, pre, (size_t)pl);
                    n++;
                }
                recd_state_iter_destroy(it);
                assert_int_equal(n, u == 42 ? 0 : 2);
            }
            assert_int_equal(recd_state_get(f->st, cfs[c], "user-43\0prof", 12, &f->v), RECD_OK);
        }
    }
}

/* recd_zpack / recd_zunpack: every size (whole and partial last words), sparse and dense
 * contents round-trip; a packing read with another size, or with bytes missing or extra,
 * is refused. */
static void test_zpack(void **state)
{
    (void)state;
    uint8_t src[80], dst[80];
    struct recd_buf b;

    recd_buf_init(&b);
    for (size_t n = 0; n <= sizeof(src); n++) {
        for (int fill = 0; fill < 3; fill++) {
            for (size_t i = 0; i < n; i++) {
                /* 0: all zero; 1: a few non-zero bytes; 2: all non-zero */
                src[i] = fill == 0 ? 0
                    : fill == 2    ? (uint8_t)(i + 1)
                                   : (i % 13 == 5 ? (uint8_t)i : 0);
            }
            b.len = 0;
            assert_int_equal(recd_zpack(src, n, &b), RECD_OK);
            if (fill == 0) {
                assert_int_equal(b.len, 4 + ((n + 7) / 8 + 7) / 8); /* size and bitmap */
            }
            if (fill == 2) {
                assert_int_equal(b.len, 4 + ((n + 7) / 8 + 7) / 8 + n);
            }
            memset(dst, 0xa5, sizeof(dst));
            assert_int_equal(recd_zunpack(b.data, b.len, dst, n), RECD_OK);
            if (n > 0) {
                assert_memory_equal(dst, src, n);
            }
            if (n > 0 && b.len > 0) {
                assert_int_equal(recd_zunpack(b.data, b.len - 1, dst, n), RECD_EDECODE);
            }
        }
    }
    /* another size: 72 bytes packed, read as 64 or as 80 (whose bitmaps would fit) */
    memset(src, 7, sizeof(src));
    b.len = 0;
    assert_int_equal(recd_zpack(src, 72, &b), RECD_OK);
    assert_int_equal(recd_zunpack(b.data, b.len, dst, 64), RECD_EDECODE);
    assert_int_equal(recd_zunpack(b.data, b.len, dst, 80), RECD_EDECODE);
    /* a bitmap bit past the last word (9 bytes = 2 words; bit 2 set) */
    {
        const uint8_t bad[5] = { 9, 0, 0, 0, 0x04 };

        assert_int_equal(recd_zunpack(bad, sizeof(bad), dst, 9), RECD_EDECODE);
    }
    /* a byte too many */
    assert_int_equal(recd_buf_append(&b, "x", 1), RECD_OK);
    assert_int_equal(recd_zunpack(b.data, b.len, dst, 72), RECD_EDECODE);
    recd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_write_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_delete_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_and_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_cf_order, setup, teardown),
        cmocka_unit_test(test_zpack),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
