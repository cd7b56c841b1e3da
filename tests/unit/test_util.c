/* test_util.c — the arena, the byte buffer, the string map and the error helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "recd.h"
#include "strmap.h"

static void test_arena(void **s)
{
    struct recd_arena *a = recd_arena_new(4096);
    char *p, *big;
    int i;

    (void)s;
    assert_non_null(a);
    for (i = 0; i < 1000; i++) {
        p = recd_arena_strndup(a, "hello world", 5);
        assert_string_equal(p, "hello");
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    big = recd_arena_alloc(a, 1 << 20);   /* larger than a chunk */
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    assert_true(recd_arena_used(a) >= (1u << 20));
    recd_arena_reset(a);
    assert_int_equal(recd_arena_used(a), 0);
    p = recd_arena_strndup(a, "x", 1);
    assert_string_equal(p, "x");
    recd_arena_destroy(a);
}

static void test_buf(void **s)
{
    struct recd_buf b;
    int i;

    (void)s;
    recd_buf_init(&b);
    for (i = 0; i < 10000; i++) {
        assert_int_equal(recd_buf_append(&b, "ab", 2), RECD_OK);
    }
    assert_int_equal(b.len, 20000);
    assert_memory_equal(b.data + 19998, "ab", 2);
    recd_buf_free(&b);
    assert_null(b.data);
}

static void test_strmap(void **s)
{
    struct recd_strmap *m = recd_strmap_new(4, free);
    char key[32];
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    int i;

    (void)s;
    assert_non_null(m);
    for (i = 0; i < 5000; i++) {
        int *x = malloc(sizeof(int));

        *x = i;
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(recd_strmap_put(m, key, x), RECD_OK);
    }
    assert_int_equal(recd_strmap_count(m), 5000);
    for (i = 0; i < 5000; i += 2) {   /* delete half: backward shift must keep the rest */
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(recd_strmap_del(m, key), 1);
        assert_int_equal(recd_strmap_del(m, key), 0);
    }
    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (i % 2) {
            assert_int_equal(*(int *)recd_strmap_get(m, key), i);
        } else {
            assert_null(recd_strmap_get(m, key));
        }
    }
    while (recd_strmap_next(m, &pos, &k, &v)) {
        assert_int_equal(atoi(k + 1), *(int *)v);
        seen++;
    }
    assert_int_equal(seen, 2500);
    recd_strmap_destroy(m);
}

/* recd_idxset: marks keep their first value, the list holds each marked index once in
 * marking order, clear unmarks exactly those, growth keeps marks. */
static void test_idxset(void **s)
{
    struct recd_idxset x;

    (void)s;
    recd_idxset_init(&x);
    assert_int_equal(recd_idxset_grow(&x, 10), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 7, 1), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 3, 2), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 7, 2), RECD_OK);   /* already marked: keeps 1 */
    assert_int_equal(x.n, 2);
    assert_int_equal(x.list[0], 7);
    assert_int_equal(x.list[1], 3);
    assert_int_equal(x.mark[7], 1);
    assert_int_equal(x.mark[3], 2);
    /* growth far past the first capacity keeps the marks and adds unmarked room */
    assert_int_equal(recd_idxset_grow(&x, 100000), RECD_OK);
    assert_int_equal(x.mark[7], 1);
    assert_int_equal(x.mark[99999], 0);
    for (int32_t i = 0; i < 1000; i++) {
        assert_int_equal(recd_idxset_add(&x, i * 97, 1), RECD_OK);   /* the list grows too */
    }
    assert_int_equal(x.n, 2 + 1000);   /* 0, 97, ..., 96903: none is 3 or 7 */
    recd_idxset_clear(&x);
    assert_int_equal(x.n, 0);
    for (size_t i = 0; i < x.cap_mark; i++) {
        assert_int_equal(x.mark[i], 0);
    }
    /* marked again after a clear, with the first value given in the new round */
    assert_int_equal(recd_idxset_add(&x, 3, 2), RECD_OK);
    assert_int_equal(recd_idxset_add(&x, 3, 1), RECD_OK);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.list[0], 3);
    assert_int_equal(x.mark[3], 2);
    recd_idxset_free(&x);
}

static void test_errors(void **s)
{
    char err[16];

    (void)s;
    assert_int_equal(recd_seterr(err, sizeof(err), RECD_EINVAL, "value %d too long", 123456), RECD_EINVAL);
    assert_string_equal(err, "value 123456 to");   /* truncated, NUL-terminated */
    assert_string_equal(recd_strerror(RECD_ELOCKED), "resource locked by another process");
    assert_string_equal(recd_kind_name(RECD_KIND_DELETION), "deletion");
    assert_string_equal(recd_kind_schema_file(RECD_KIND_DELETION), "user_deletion.avsc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_idxset),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
