/*
 * test_dataset_amazon.c — the amazon-recbole dataset reader (sources/dataset.c): RecBole
 * atomic files of a leave-one-out split replayed as one session per user, the catalogue first.
 *
 * A small fixture written to a temporary directory pins down the exact sequence (order,
 * synthetic times, ids, positions, test cases, catalogue records, valid split, phase selection,
 * skip/limit, errors). The real ../shared/data/amazon-scientific (beside the source tree,
 * RECD_SOURCE_DIR) is checked against its own files; that case is skipped with a message when
 * the folder is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "recd.h"

#ifndef RECD_SOURCE_DIR
#define RECD_SOURCE_DIR "."
#endif

#define START_MS INT64_C(1451606400000)   /* the readers' default timeline start */

/* ---- fixture --------------------------------------------------------------------------------- */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = { "Toy.item2index",  "Toy.text",       "Toy.train.inter",
                                         "Toy.valid.inter", "Toy.test.inter", "Toy.user2index" };
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Three users (rows out of order), four items (item 3 has no text; an ASIN in the text file
 * is not in the item index). Histories before the test item: user 0: 0 1 2 (L=3), user 1:
 * 2 3 0 1 2 (L=5), user 2: 1 0 (L=2; its test.inter row has a shorter prefix than the
 * others). */
static void make_fixture(char *dir)
{
    assert_non_null(mkdtemp(dir));
    write_file(dir, "Toy.item2index", "A100\t0\nB200\t1\nC300\t2\nD400\t3\n");
    write_file(dir, "Toy.user2index", "U0\t0\nU1\t1\nU2\t2\n");
    write_file(dir, "Toy.text",
               "item_id:token\ttext:token_seq\n"
               "C300\tGorilla Glue, 8 ounce. Industrial & Scientific Adhesives. Gorilla. \n"
               "A100\tNitrile gloves, large\t(box of 100) \n"
               "Z999\tnot in the item index\n"
               "B200\t  Safety glasses\n");
    write_file(dir, "Toy.train.inter",
               "user_id:token\titem_id_list:token_seq\titem_id:token\n"
               "0\t0\t1\n"); /* not read by the reader */
    write_file(dir, "Toy.valid.inter",
               "user_id:token\titem_id_list:token_seq\titem_id:token\n"
               "1\t2 3 0 1\t2\n"
               "0\t0 1\t2\n"
               "2\t1\t0\n");
    write_file(dir, "Toy.test.inter",
               "user_id:token\titem_id_list:token_seq\titem_id:token\n"
               "2\t1 0\t3\n"
               "0\t0 1 2\t3\n"
               "1\t2 3 0 1 2\t1\n");
}

struct want_ev {
    int kind;
    const char *event_id, *user_id, *item_id;
    int64_t ts;
    int phase, position, test_case;
    int64_t session_index;
};

static void check_sequence(const struct recd_dataset_conf *conf, const struct want_ev *w, size_t n)
{
    struct recd_dataset *ds = NULL;
    struct recd_arena *a = recd_arena_new(4096);
    struct recd_event ev;
    struct recd_dataset_meta m;
    char err[512];
    assert_int_equal(recd_dataset_open(conf, &ds, err, sizeof err), RECD_OK);
    assert_int_equal(recd_dataset_total(ds), (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(recd_dataset_next(ds, a, &ev, &m), 1);
        assert_int_equal(ev.kind, w[i].kind);
        assert_string_equal(ev.event_id, w[i].event_id);
        assert_int_equal(ev.ts_ms, w[i].ts);
        assert_int_equal(m.phase, w[i].phase);
        assert_int_equal(m.position, w[i].position);
        assert_int_equal(m.test_case, w[i].test_case);
        assert_int_equal(m.session_index, w[i].session_index);
        if (w[i].kind == RECD_KIND_CLICK) {
            assert_string_equal(ev.user_id, w[i].user_id);
            assert_string_equal(ev.u.click.session_id, w[i].user_id);
            assert_string_equal(ev.u.click.item_id, w[i].item_id);
            assert_int_equal(ev.u.click.type, RECD_CLICK_VIEW);
        } else {
            assert_null(ev.user_id);
            assert_string_equal(ev.u.item.item_id, w[i].item_id);
        }
        recd_arena_reset(a);
    }
    assert_int_equal(recd_dataset_next(ds, a, &ev, &m), 0);
    recd_dataset_close(ds);
    recd_arena_destroy(a);
}

#define G      INT64_C(60000)
#define CAT(i) { RECD_KIND_ITEM, #i, NULL, #i, START_MS, RECD_DS_CATALOG, 0, 0, i }
/* click of user u (session index u) at round r, position p */
#define CK(ph, u, p, item, r, tc)                    \
    { RECD_KIND_CLICK,                               \
      "amazon-recbole:" ph ":" #u ":" #p,            \
      "user-" #u,                                    \
      #item,                                         \
      START_MS + (1 + (r)) * G + (u),                \
      (ph)[1] == 'r' ? RECD_DS_TRAIN : RECD_DS_TEST, \
      p,                                             \
      tc,                                            \
      u }

static void test_amazon_fixture(void **state)
{
    (void)state;
    char dir[] = "/tmp/recd-amazon-XXXXXX", err[512];
    make_fixture(dir);

    assert_int_equal(recd_dataset_detect(dir, err, sizeof err), RECD_DS_AMAZON_RECBOLE);
    assert_int_equal(recd_dataset_format_parse("amazon-recbole"), RECD_DS_AMAZON_RECBOLE);
    assert_string_equal(recd_dataset_format_name(RECD_DS_AMAZON_RECBOLE), "amazon-recbole");

    /* the whole test split, in exact order: the catalogue, then the train rounds aligned at
     * the end of the histories (R = 5), then the test round; inside a round user-index
     * order, 1 ms apart */
    const struct want_ev all[] = {
        CAT(0),
        CAT(1),
        CAT(2),
        CAT(3),
        /* round 0..1: only user 1 (L = 5 = R) */
        CK("train", 1, 0, 2, 0, 0),
        CK("train", 1, 1, 3, 1, 0),
        /* round 2: users 0 (L 3) and 1 */
        CK("train", 0, 0, 0, 2, 0),
        CK("train", 1, 2, 0, 2, 0),
        /* round 3: everyone (user 2: L 2) */
        CK("train", 0, 1, 1, 3, 0),
        CK("train", 1, 3, 1, 3, 0),
        CK("train", 2, 0, 1, 3, 0),
        /* round 4: the last train click of every user */
        CK("train", 0, 2, 2, 4, 0),
        CK("train", 1, 4, 2, 4, 0),
        CK("train", 2, 1, 0, 4, 0),
        /* round 5: the held-out clicks; position = the user's events before it */
        CK("test", 0, 3, 3, 5, 1),
        CK("test", 1, 5, 1, 5, 1),
        CK("test", 2, 2, 3, 5, 1),
    };
    struct recd_dataset_conf c;
    recd_dataset_conf_init(&c);
    c.dir = dir;
    check_sequence(&c, all, sizeof all / sizeof all[0]);

    /* stats and the catalogue records */
    struct recd_dataset *ds = NULL;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    assert_int_equal(recd_dataset_format(ds), RECD_DS_AMAZON_RECBOLE);
    struct recd_dataset_stats st;
    recd_dataset_stats(ds, &st);
    assert_int_equal(st.items, 4);
    assert_int_equal(st.sessions[RECD_DS_TRAIN], 3);
    assert_int_equal(st.sessions[RECD_DS_TEST], 3);
    assert_int_equal(st.clicks[RECD_DS_TRAIN], 10);
    assert_int_equal(st.clicks[RECD_DS_TEST], 3);
    assert_int_equal(st.test_cases[RECD_DS_TRAIN], 0);
    assert_int_equal(st.test_cases[RECD_DS_TEST], 3);
    {
        static const char *const titles[4] = {
            "Nitrile gloves, large\t(box of 100)", "Safety glasses",
            "Gorilla Glue, 8 ounce. Industrial & Scientific Adhesives. Gorilla.", ""
        };
        struct recd_arena *a = recd_arena_new(4096);
        struct recd_event ev;
        for (int i = 0; i < 4; i++) {
            assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 1);
            assert_int_equal(ev.kind, RECD_KIND_ITEM);
            assert_string_equal(ev.u.item.title, titles[i]);
            assert_string_equal(ev.u.item.description, "");
            assert_int_equal(ev.u.item.n_category, 0);
            assert_null(ev.u.item.brand);
            assert_true(ev.u.item.in_stock);
            assert_false(ev.u.item.removed);
            assert_true(ev.u.item.price == 0.0);
            assert_int_equal(ev.u.item.updated_ts, START_MS);
        }
        recd_arena_destroy(a);
    }
    recd_dataset_close(ds);

    /* phase selection: times do not depend on it; the catalogue alone; skip/limit across the
     * catalogue boundary */
    c.phases = RECD_DS_PHASE_TEST;
    check_sequence(&c, all + 14, 3);
    c.phases = RECD_DS_PHASE_TRAIN;
    check_sequence(&c, all + 4, 10);
    c.phases = RECD_DS_PHASE_CATALOG;
    check_sequence(&c, all, 4);
    c.phases = RECD_DS_PHASE_CATALOG | RECD_DS_PHASE_TRAIN;
    check_sequence(&c, all, 14);
    c.phases = RECD_DS_PHASE_ALL;
    c.skip = 3;
    c.limit = 3;
    check_sequence(&c, all + 3, 3);
    c.skip = 0;
    c.limit = 0;

    /* a larger gap: a user's clicks are exactly --gap-ms apart */
    c.session_gap_ms = 600000;
    c.phases = RECD_DS_PHASE_TEST;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    {
        struct recd_arena *a = recd_arena_new(4096);
        struct recd_event ev;
        assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 1);
        assert_int_equal(ev.ts_ms, START_MS + 6 * INT64_C(600000));
        recd_arena_destroy(a);
    }
    recd_dataset_close(ds);
    c.session_gap_ms = 0;
    c.phases = 0;

    /* the valid split: held-out = the validation item, the test items never appear (R = 4) */
    c.valid = 1;
    c.phases = RECD_DS_PHASE_TRAIN | RECD_DS_PHASE_TEST;
    {
        /* expected: round 0: u1; 1: u1; 2: u0 u1; 3: u0 u1 u2; test round 4 */
        const struct want_ev v[] = {
            CK("train", 1, 0, 2, 0, 0), CK("train", 1, 1, 3, 1, 0), CK("train", 0, 0, 0, 2, 0),
            CK("train", 1, 2, 0, 2, 0), CK("train", 0, 1, 1, 3, 0), CK("train", 1, 3, 1, 3, 0),
            CK("train", 2, 0, 1, 3, 0), CK("test", 0, 2, 2, 4, 1),  CK("test", 1, 4, 2, 4, 1),
            CK("test", 2, 1, 0, 4, 1),
        };
        check_sequence(&c, v, sizeof v / sizeof v[0]);
    }
    c.valid = 0;
    c.phases = 0;

    /* errors: file:line for a malformed row, an item outside item2index, a user twice */
    write_file(dir, "Toy.test.inter",
               "user_id:token\titem_id_list:token_seq\titem_id:token\n"
               "0\t0 1 2\t3\n"
               "1\t2 x\t1\n");
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_null(ds);
    assert_non_null(strstr(err, "Toy.test.inter:3"));
    write_file(dir, "Toy.test.inter", "0\t0 1 2\t7\n");
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_non_null(strstr(err, "not in item2index"));
    write_file(dir, "Toy.test.inter", "0\t0 1 2\t3\n0\t1\t2\n");
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_non_null(strstr(err, "two rows"));
    write_file(dir, "Toy.test.inter", "0\t0 1 2\t3 1\n");
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_non_null(strstr(err, "one next item"));
    write_file(dir, "Toy.item2index", "A100\t0\nB200\t0\n");
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_non_null(strstr(err, "appears twice"));
    remove_dir(dir);
}

/* cold_frac: the held-out items' train clicks are gone, everything else stays */
static void test_amazon_cold(void **state)
{
    (void)state;
    /* the fixture's test-split histories (test.inter) by user, and the held-out items */
    static const int hist[3][5] = { { 0, 1, 2 }, { 2, 3, 0, 1, 2 }, { 1, 0 } };
    static const int hlen[3] = { 3, 5, 2 }, target[3] = { 3, 1, 3 };
    char dir[] = "/tmp/recd-amazon-cold-XXXXXX", err[512];
    struct recd_dataset_conf c = { 0 };
    struct recd_dataset *ds = NULL;
    struct recd_arena *a = recd_arena_new(4096);
    struct recd_event ev;
    struct recd_dataset_meta m;
    static const double fracs[] = { 0.0, 0.5, 1.0 };
    int n_cold = 0;

    /* the hash: fraction close to F, nested sets, 0 and 1 are none and all */
    for (int64_t i = 0; i < 20000; i++) {
        n_cold += recd_dataset_cold_item(0.1, i);
        assert_false(recd_dataset_cold_item(0.0, i));
        assert_true(recd_dataset_cold_item(1.0, i));
        if (recd_dataset_cold_item(0.1, i)) {
            assert_true(recd_dataset_cold_item(0.3, i));
        }
    }
    assert_in_range(n_cold, 1800, 2200);

    make_fixture(dir);
    c.dir = dir;
    c.format = RECD_DS_AMAZON_RECBOLE;
    for (size_t f = 0; f < sizeof fracs / sizeof fracs[0]; f++) {
        int want_train = 0, got_train = 0, got_test = 0, got_cat = 0, kept[3];
        c.cold_frac = fracs[f];
        for (int u = 0; u < 3; u++) {
            kept[u] = 0;
            for (int k = 0; k < hlen[u]; k++) {
                kept[u] += !recd_dataset_cold_item(c.cold_frac, hist[u][k]);
            }
            want_train += kept[u];
        }
        assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
        while (recd_dataset_next(ds, a, &ev, &m) == 1) {
            if (m.phase == RECD_DS_CATALOG) {
                got_cat++;
            } else if (m.phase == RECD_DS_TRAIN) {
                got_train++;
                assert_false(recd_dataset_cold_item(c.cold_frac, atoi(ev.u.click.item_id)));
            } else {
                int u = (int)m.session_index;
                got_test++;
                assert_int_equal(m.test_case, 1);
                assert_int_equal(atoi(ev.u.click.item_id), target[u]);
                assert_int_equal(m.position, kept[u]); /* = the user's earlier clicks */
            }
            recd_arena_reset(a);
        }
        recd_dataset_close(ds);
        ds = NULL;
        assert_int_equal(got_cat, 4);
        assert_int_equal(got_test, 3);
        assert_int_equal(got_train, want_train);
    }
    c.cold_frac = 1.5;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EINVAL);
    assert_null(ds);
    recd_arena_destroy(a);
    remove_dir(dir);
}

/* ---- the real dataset ------------------------------------------------------------------------ */

#define MAX_USERS 4096
#define MAX_HIST  64

/* user -> whole sequence (history + held-out item) from an .inter file */
static int read_inter(const char *path, int (*seq)[MAX_HIST], int *len)
{
    FILE *fp = fopen(path, "r");
    char line[8192];
    int users = 0;
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    while (fgets(line, sizeof line, fp)) {
        char *p = line, *end;
        long u = strtol(p, &end, 10);
        assert_true(end != p && *end == '\t' && u >= 0 && u < MAX_USERS);
        assert_int_equal(len[u], 0);
        p = end + 1;
        for (;;) {
            long it = strtol(p, &end, 10);
            if (end == p) {
                break;
            }
            assert_true(len[u] < MAX_HIST);
            seq[u][len[u]++] = (int)it;
            p = end;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
        }
        users++;
    }
    fclose(fp);
    return users;
}

static void check_real(const char *dir, int valid, int (*seq)[MAX_HIST], const int *len, int users,
                       int64_t train_clicks)
{
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev;
    struct recd_dataset_meta m;
    char err[512];
    static int next[MAX_USERS];
    static int64_t last_ts[MAX_USERS];
    int64_t prev = INT64_MIN, items = 0, with_text = 0, clicks = 0, tests = 0;

    memset(next, 0, sizeof next);
    memset(last_ts, 0, sizeof last_ts);
    recd_dataset_conf_init(&c);
    c.dir = dir;
    c.valid = valid;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    struct recd_dataset_stats st;
    recd_dataset_stats(ds, &st);
    assert_int_equal(st.items, 1585);
    assert_int_equal(st.sessions[RECD_DS_TEST], users);
    assert_int_equal(st.clicks[RECD_DS_TRAIN], train_clicks);
    assert_int_equal(st.test_cases[RECD_DS_TEST], users);
    assert_int_equal(recd_dataset_total(ds), 1585 + train_clicks + users);
    while (recd_dataset_next(ds, a, &ev, &m) == 1) {
        assert_true(ev.ts_ms > prev || (ev.kind == RECD_KIND_ITEM && ev.ts_ms == prev));
        prev = ev.ts_ms;
        if (ev.kind == RECD_KIND_ITEM) {
            assert_int_equal(clicks, 0); /* the catalogue comes first */
            assert_int_equal(atoi(ev.u.item.item_id), items);
            items++;
            with_text += ev.u.item.title[0] != '\0';
            recd_arena_reset(a);
            continue;
        }
        assert_int_equal(ev.kind, RECD_KIND_CLICK);
        clicks++;
        int u = atoi(ev.user_id + 5);
        assert_true(strncmp(ev.user_id, "user-", 5) == 0 && u >= 0 && u < MAX_USERS);
        assert_string_equal(ev.u.click.session_id, ev.user_id);
        assert_int_equal(m.position, next[u]);
        assert_int_equal(atoi(ev.u.click.item_id), seq[u][next[u]]);
        if (next[u] > 0) { /* one session: the user's clicks exactly 60 s (+0) apart */
            assert_int_equal(ev.ts_ms - last_ts[u], 60000);
        }
        last_ts[u] = ev.ts_ms;
        next[u]++;
        /* the held-out item is the last one of the user's sequence, and the only test case */
        assert_int_equal(m.test_case, next[u] == len[u]);
        assert_int_equal(m.phase, next[u] == len[u] ? RECD_DS_TEST : RECD_DS_TRAIN);
        tests += m.test_case;
        recd_arena_reset(a);
    }
    assert_int_equal(items, 1585);
    assert_int_equal(with_text, 1585);
    assert_int_equal(clicks, train_clicks + users);
    assert_int_equal(tests, users);
    for (int u = 0; u < users; u++) {
        assert_int_equal(next[u], len[u]);
    }
    recd_dataset_close(ds);
    recd_arena_destroy(a);
}

static void test_amazon_scientific(void **state)
{
    (void)state;
    char dir[4096], path[4200], err[256];
    static int seq[MAX_USERS][MAX_HIST], len[MAX_USERS];
    test_dataset_dir("amazon-scientific", dir, sizeof dir);
    assert_int_equal(recd_dataset_detect(dir, err, sizeof err), RECD_DS_AMAZON_RECBOLE);

    /* ../shared/data/README.md: 2,928 users, 19,712 interactions, 1,585 items */
    snprintf(path, sizeof path, "%s/Scientific.test.inter", dir);
    memset(len, 0, sizeof len);
    int users = read_inter(path, seq, len);
    assert_int_equal(users, 2928);
    int64_t total = 0;
    for (int u = 0; u < users; u++) {
        total += len[u];
    }
    assert_int_equal(total, 19712);
    check_real(dir, 0, seq, len, users, 19712 - users);

    /* valid split: every user's sequence ends with the valid item (one shorter) */
    snprintf(path, sizeof path, "%s/Scientific.valid.inter", dir);
    memset(len, 0, sizeof len);
    assert_int_equal(read_inter(path, seq, len), users);
    check_real(dir, 1, seq, len, users, 19712 - 2 * users);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amazon_fixture),
        cmocka_unit_test(test_amazon_cold),
        cmocka_unit_test(test_amazon_scientific),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
