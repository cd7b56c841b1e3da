/*
 * test_shopgen.c — the synthetic shop generator and the dataset readers (tools/).
 *
 * Dataset cases read ../shared/data beside the source tree (RECD_SOURCE_DIR) and are skipped
 * with a message when a dataset folder is missing.
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
#include "shopgen.h"

#ifndef RECD_SOURCE_DIR
#define RECD_SOURCE_DIR "."
#endif

/* ---- helpers --------------------------------------------------------------------------------- */

/* A canonical one-line rendering of an event (for sequence comparisons). */
static void render(const struct recd_event *ev, char *buf, size_t len)
{
    size_t off = 0;
#define OUT(...)                                                       \
    do {                                                               \
        int n_ = snprintf(buf + off, len - off, __VA_ARGS__);          \
        if (n_ > 0)                                                    \
            off = off + (size_t)n_ < len ? off + (size_t)n_ : len - 1; \
    } while (0)
    OUT("%d|%s|%s|%" PRId64, ev->kind, ev->event_id ? ev->event_id : "-",
        ev->user_id ? ev->user_id : "-", ev->ts_ms);
    switch (ev->kind) {
    case RECD_KIND_CLICK:
        OUT("|%s|%d|%d|%s|%s", ev->u.click.item_id, ev->u.click.type, ev->u.click.source,
            ev->u.click.session_id ? ev->u.click.session_id : "-",
            ev->u.click.query_id ? ev->u.click.query_id : "-");
        for (uint32_t i = 0; i < ev->u.click.n_context; i++) {
            OUT("|%s=%s", ev->u.click.context[i].key, ev->u.click.context[i].value);
        }
        break;
    case RECD_KIND_PURCHASE:
        OUT("|%s|%s", ev->u.purchase.order_id, ev->u.purchase.currency);
        for (uint32_t i = 0; i < ev->u.purchase.n_lines; i++) {
            OUT("|%s x%d @%.2f", ev->u.purchase.lines[i].item_id, ev->u.purchase.lines[i].quantity,
                ev->u.purchase.lines[i].unit_price);
        }
        break;
    case RECD_KIND_QUERY:
        OUT("|%s", ev->u.query.text);
        for (uint32_t i = 0; i < ev->u.query.n_shown; i++) {
            OUT("|%s", ev->u.query.shown[i]);
        }
        break;
    case RECD_KIND_ITEM:
        OUT("|%s|%s|%s|%s|%.2f|%d", ev->u.item.item_id, ev->u.item.title, ev->u.item.description,
            ev->u.item.brand ? ev->u.item.brand : "-", ev->u.item.price, ev->u.item.in_stock);
        for (uint32_t i = 0; i < ev->u.item.n_category; i++) {
            OUT("|%s", ev->u.item.category[i]);
        }
        break;
    default: break;
    }
#undef OUT
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ull;
    }
    return h;
}

static void small_conf(struct recd_shopgen_conf *c, uint64_t seed)
{
    recd_shopgen_conf_init(c);
    c->seed = seed;
    c->n_users = 300;
    c->n_items = 400;
    c->n_events = 20000;
    c->concurrency = 12;
}

/* Fingerprints of every event of a generator run. *out (n entries) owned by the caller. */
static uint64_t *run_fingerprints(const struct recd_shopgen_conf *c, size_t *n)
{
    struct recd_shopgen *g = NULL;
    char err[256];
    struct recd_arena *a = recd_arena_new(1 << 16);
    assert_non_null(a);
    assert_int_equal(recd_shopgen_new(c, &g, err, sizeof err), RECD_OK);
    size_t cap = (size_t)(c->n_items + c->n_events);
    uint64_t *v = calloc(cap, sizeof *v);
    assert_non_null(v);
    struct recd_event ev;
    char buf[4096];
    size_t k = 0;
    int rc;
    while ((rc = recd_shopgen_next(g, a, &ev)) == 1) {
        assert_true(k < cap);
        render(&ev, buf, sizeof buf);
        v[k++] = fnv1a(0xcbf29ce484222325ull, buf);
        if (k % 512 == 0) {
            recd_arena_reset(a);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(k, cap);
    assert_int_equal(recd_shopgen_count(g), (int64_t)cap);
    /* the end is sticky */
    assert_int_equal(recd_shopgen_next(g, a, &ev), 0);
    recd_shopgen_destroy(g);
    recd_arena_destroy(a);
    *n = k;
    return v;
}

/* ---- shopgen -------------------------------------------------------------------------------- */
static void test_shopgen_same_seed(void **state)
{
    (void)state;
    struct recd_shopgen_conf c;
    size_t n1, n2;
    small_conf(&c, 42);
    uint64_t *a = run_fingerprints(&c, &n1);
    uint64_t *b = run_fingerprints(&c, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * sizeof *a);
    free(a);
    free(b);
}

static void test_shopgen_different_seed(void **state)
{
    (void)state;
    struct recd_shopgen_conf c;
    size_t n1, n2, same = 0;
    small_conf(&c, 1);
    uint64_t *a = run_fingerprints(&c, &n1);
    c.seed = 2;
    uint64_t *b = run_fingerprints(&c, &n2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        same += a[i] == b[i];
    }
    assert_true(same < n1 / 10);
    free(a);
    free(b);
}

/* The catalogue comes first, then activity in non-decreasing event time; references are
 * consistent (known items, queries before their search clicks, purchase prices). */
static void test_shopgen_shape(void **state)
{
    (void)state;
    struct recd_shopgen_conf c;
    struct recd_shopgen *g = NULL;
    char err[256];
    small_conf(&c, 7);
    c.n_events = 50000;
    c.p_cart = 0.2;
    struct recd_arena *cat_arena = recd_arena_new(1 << 16);
    struct recd_arena *a = recd_arena_new(1 << 16);
    assert_non_null(cat_arena);
    assert_non_null(a);
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_OK);

    double *price = calloc((size_t)c.n_items, sizeof *price);
    assert_non_null(price);
    struct recd_event ev;
    int64_t n = 0, last_ts = c.start_ts_ms, counts[RECD_KIND__NINPUT] = { 0 };
    int64_t search_clicks = 0, carts = 0, last_query = -1;
    int rc;
    while ((rc = recd_shopgen_next(g, n < c.n_items ? cat_arena : a, &ev)) == 1) {
        assert_true(ev.kind >= 0 && ev.kind < RECD_KIND__NINPUT);
        counts[ev.kind]++;
        if (n < c.n_items) {
            assert_int_equal(ev.kind, RECD_KIND_ITEM);
            const struct recd_item *it = &ev.u.item;
            char want[32];
            snprintf(want, sizeof want, "i%" PRId64, n);
            assert_string_equal(it->item_id, want);
            assert_string_equal(ev.event_id, it->item_id);
            assert_true(it->n_category >= 2 && it->n_category <= 3);
            assert_true(strlen(it->title) > 10);
            assert_non_null(it->brand);
            assert_true(it->price > 0 && it->price < 100000);
            assert_int_equal(ev.ts_ms, c.start_ts_ms);
            assert_int_equal(it->removed, 0);
            price[n] = it->price;
        } else {
            assert_int_not_equal(ev.kind, RECD_KIND_ITEM);
            assert_true(ev.ts_ms > c.start_ts_ms);
            assert_true(ev.ts_ms >= last_ts);
            last_ts = ev.ts_ms;
            assert_non_null(ev.user_id);
            assert_true(ev.user_id[0] == 'u');
            char want[48];
            snprintf(want, sizeof want, "g%" PRIu64 "-%" PRId64, c.seed, n - c.n_items);
            assert_string_equal(ev.event_id, want);
            if (ev.kind == RECD_KIND_CLICK) {
                long id = strtol(ev.u.click.item_id + 1, NULL, 10);
                assert_true(id >= 0 && id < c.n_items);
                assert_non_null(ev.u.click.session_id);
                assert_int_equal(ev.u.click.n_context, 3);
                assert_string_equal(ev.u.click.context[0].key, "channel");
                if (ev.u.click.source == RECD_SRC_SEARCH) {
                    assert_non_null(ev.u.click.query_id);
                    long q = strtol(strrchr(ev.u.click.query_id, '-') + 1, NULL, 10);
                    assert_true(q >= 0 && q < n - c.n_items);
                    assert_true(q <= last_query);
                    search_clicks++;
                } else {
                    assert_null(ev.u.click.query_id);
                }
                carts += ev.u.click.type == RECD_CLICK_CART;
            } else if (ev.kind == RECD_KIND_QUERY) {
                assert_true(strlen(ev.u.query.text) > 2);
                assert_true(ev.u.query.n_shown >= 1);
                last_query = n - c.n_items;
            } else if (ev.kind == RECD_KIND_PURCHASE) {
                assert_true(ev.u.purchase.n_lines >= 1);
                for (uint32_t i = 0; i < ev.u.purchase.n_lines; i++) {
                    long id = strtol(ev.u.purchase.lines[i].item_id + 1, NULL, 10);
                    assert_true(id >= 0 && id < c.n_items);
                    assert_true(ev.u.purchase.lines[i].quantity >= 1);
                    assert_true(ev.u.purchase.lines[i].unit_price == price[id]);
                }
            }
            if (n % 1000 == 0) {
                recd_arena_reset(a);
            }
        }
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, c.n_items + c.n_events);
    assert_int_equal(counts[RECD_KIND_ITEM], c.n_items);
    assert_true(counts[RECD_KIND_CLICK] > c.n_events / 2);
    assert_true(counts[RECD_KIND_QUERY] > 0);
    assert_true(counts[RECD_KIND_PURCHASE] > 0);
    assert_true(search_clicks > 0);
    assert_true(carts > 0);
    free(price);
    recd_shopgen_destroy(g);
    recd_arena_destroy(a);
    recd_arena_destroy(cat_arena);
}

static void test_shopgen_bad_conf(void **state)
{
    (void)state;
    struct recd_shopgen_conf c;
    struct recd_shopgen *g = (struct recd_shopgen *)&c;
    char err[256] = "";
    recd_shopgen_conf_init(&c);
    c.n_items = 0;
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_EINVAL);
    assert_null(g);
    assert_non_null(strstr(err, "n_items"));
    recd_shopgen_conf_init(&c);
    c.p_cart = 1.5;
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_EINVAL);
    assert_non_null(strstr(err, "p_cart"));
    recd_shopgen_conf_init(&c);
    c.concurrency = 0;
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_EINVAL);
    /* more categories than the vocabulary has leaves, fewer items than categories */
    recd_shopgen_conf_init(&c);
    c.n_categories = 60;
    c.n_items = 10;
    c.n_events = 500;
    c.n_users = 3;
    c.concurrency = 7;
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_OK);
    struct recd_arena *a = recd_arena_new(4096);
    struct recd_event ev;
    int64_t n = 0;
    while (recd_shopgen_next(g, a, &ev) == 1) {
        n++;
    }
    assert_int_equal(n, 510);
    recd_arena_destroy(a);
    recd_shopgen_destroy(g);
}

/* Catalogue turnover: at each day boundary, round(turnover x n_items) slots are replaced (a
 * tombstone of a live id, then the slot's next id), at the boundary's time and before any
 * activity past it; clicks name only live ids. */
static void test_shopgen_turnover(void **state)
{
    struct recd_shopgen_conf c;
    struct recd_shopgen *g = NULL;
    struct recd_arena *a = recd_arena_new(1 << 16);
    char err[256];
    struct recd_event ev;
    const int64_t day = 86400000LL;
    int64_t last_ts = 0, boundary = 0, days = 0, pairs = 0;
    size_t n_live = 0, cap = 4096;
    char **live = calloc(cap, sizeof *live);
    char *tomb = NULL;
    int rc;

    (void)state;
    assert_non_null(a);
    assert_non_null(live);
    small_conf(&c, 5);
    c.n_items = 50;
    c.n_events = 120000; /* ~3.5 days of event time at 12 sessions */
    c.turnover_per_day = 0.1;
    assert_int_equal(recd_shopgen_new(&c, &g, err, sizeof err), RECD_OK);
    while ((rc = recd_shopgen_next(g, a, &ev)) == 1) {
        const char *id = ev.kind == RECD_KIND_ITEM ? ev.u.item.item_id
                       : ev.kind == RECD_KIND_CLICK ? ev.u.click.item_id : NULL;

        assert_true(ev.ts_ms >= last_ts);
        last_ts = ev.ts_ms;
        if (ev.kind == RECD_KIND_ITEM && recd_shopgen_count(g) <= c.n_items) {
            live[n_live++] = strdup(id); /* the first catalogue */
        } else if (ev.kind == RECD_KIND_ITEM && ev.u.item.removed) {
            size_t k = 0;

            assert_null(tomb);
            assert_true(ev.ts_ms % day == c.start_ts_ms % day);
            if (ev.ts_ms != boundary) {
                assert_int_equal(ev.ts_ms, c.start_ts_ms + (days + 1) * day);
                boundary = ev.ts_ms;
                days++;
            }
            while (k < n_live && strcmp(live[k], id) != 0) {
                k++;
            }
            assert_true(k < n_live); /* a live id is removed */
            tomb = live[k];
            live[k] = live[--n_live];
        } else if (ev.kind == RECD_KIND_ITEM) {
            char want[32];

            assert_non_null(tomb); /* right after its tombstone, in the same slot */
            assert_int_equal(ev.ts_ms, boundary);
            assert_int_equal(strncmp(id, tomb, strcspn(tomb, "v")), 0);
            assert_int_equal(id[strcspn(tomb, "v")], 'v');
            snprintf(want, sizeof want, "%.*s", (int)strcspn(tomb, "v"), tomb);
            assert_int_equal(strncmp(id, want, strlen(want)), 0);
            assert_true(n_live < cap);
            live[n_live++] = strdup(id);
            free(tomb);
            tomb = NULL;
            pairs++;
        } else if (id != NULL) {
            size_t k = 0;

            while (k < n_live && strcmp(live[k], id) != 0) {
                k++;
            }
            if (k == n_live) {
                fail_msg("a click on %s, which is not in the catalogue", id);
            }
            if (boundary > 0) {
                assert_true(ev.ts_ms >= boundary);
            }
        }
        if (recd_shopgen_count(g) % 256 == 0) {
            recd_arena_reset(a);
        }
    }
    assert_int_equal(rc, 0);
    assert_null(tomb);
    assert_true(days >= 3);
    assert_int_equal(pairs, days * 5); /* round(0.1 x 50) a day */
    assert_int_equal(recd_shopgen_item_ids(g), c.n_items + pairs);
    assert_int_equal(n_live, (size_t)c.n_items);
    recd_shopgen_destroy(g);
    for (size_t k = 0; k < n_live; k++) {
        free(live[k]);
    }
    free(live);
    recd_arena_destroy(a);
}

/* ---- datasets -------------------------------------------------------------------------------- */

static int64_t count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    int64_t n = 0;
    int ch, last = '\n';
    if (!fp) {
        return -1;
    }
    while ((ch = getc(fp)) != EOF) {
        if (ch == '\n') {
            n++;
        }
        last = ch;
    }
    if (last != '\n') {
        n++;
    }
    fclose(fp);
    return n;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays `phases` of a dataset; checks that each session's events come in order (positions
 * 0, 1, 2, ... with event times non-decreasing inside a session) and that test cases are
 * exactly the clicks after the first `min_prefix` ones of a test session. When `examples` is
 * non-NULL, the prefixes+next items of the test cases must equal the lines of that file. */
struct replay_result {
    int64_t events, clicks, test_cases, sessions_seen, interleaved, backwards;
};

/* A growable list of owned strings. */
struct strlist {
    char **v;
    size_t n, cap;
};

/* Append s (taken over) to l. */
static void strlist_push(struct strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = s;
}

/* Free every string of l and the list. */
static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* What a replay has seen so far, per session of each phase, and the previous event. */
struct replay_track {
    struct recd_dataset_stats st;
    int32_t *next_pos[2]; /* the position the session's next event must have */
    int64_t *last_ts[2]; /* the time of the session's last event */
    char **prefix[2]; /* test sessions: the items so far, space separated */
    struct strlist got; /* test cases as "prefix\tnext" lines */
    int64_t prev_sess, prev_ts;
    int prev_phase;
};

/* Allocate the per-session arrays for the sessions of ds. */
static void track_init(struct replay_track *t, struct recd_dataset *ds)
{
    memset(t, 0, sizeof *t);
    recd_dataset_stats(ds, &t->st);
    for (int p = 0; p < 2; p++) {
        t->next_pos[p] = calloc((size_t)t->st.sessions[p] + 1, sizeof *t->next_pos[p]);
        t->last_ts[p] = calloc((size_t)t->st.sessions[p] + 1, sizeof *t->last_ts[p]);
        t->prefix[p] = calloc((size_t)t->st.sessions[p] + 1, sizeof *t->prefix[p]);
        assert_non_null(t->next_pos[p]);
        assert_non_null(t->last_ts[p]);
        assert_non_null(t->prefix[p]);
    }
    t->prev_sess = -1;
    t->prev_ts = INT64_MIN;
    t->prev_phase = -1;
}

/* Free what track_init and the replay allocated. */
static void track_free(struct replay_track *t)
{
    strlist_free(&t->got);
    for (int p = 0; p < 2; p++) {
        for (int64_t s = 0; s < t->st.sessions[p]; s++) {
            free(t->prefix[p][s]);
        }
        free(t->prefix[p]);
        free(t->next_pos[p]);
        free(t->last_ts[p]);
    }
}

/* Check one event's place in its session (next position, time not going back) and count
 * sessions, time going backwards and sessions interleaving within the phase. */
static void track_order(struct replay_track *t, unsigned phases, const struct recd_event *ev,
                        const struct recd_dataset_meta *m, struct replay_result *res)
{
    assert_true(m->phase == 0 || m->phase == 1);
    assert_true(phases & (1u << m->phase));
    assert_true(m->session_index >= 0 && m->session_index < t->st.sessions[m->phase]);
    assert_int_equal(m->position, t->next_pos[m->phase][m->session_index]);
    t->next_pos[m->phase][m->session_index]++;
    if (m->position == 0) {
        res->sessions_seen++;
    } else {
        assert_true(ev->ts_ms >= t->last_ts[m->phase][m->session_index]);
    }
    t->last_ts[m->phase][m->session_index] = ev->ts_ms;
    if (t->prev_phase == m->phase && ev->ts_ms < t->prev_ts) {
        res->backwards++;
    }
    if (t->prev_phase == m->phase && t->prev_sess != m->session_index && m->position > 0) {
        res->interleaved++;
    }
    t->prev_phase = m->phase;
    t->prev_sess = m->session_index;
    t->prev_ts = ev->ts_ms;
}

/* A test session's click: record "prefix\tnext" when it is a test case, then extend the
 * session's prefix (space separated) with its item. */
static void track_example(struct replay_track *t, const struct recd_dataset_meta *m,
                          const char *item_id)
{
    char **pp = &t->prefix[m->phase][m->session_index];
    if (m->test_case) {
        size_t need = strlen(*pp) + strlen(item_id) + 2;
        char *line = malloc(need);
        assert_non_null(line);
        snprintf(line, need, "%s\t%s", *pp, item_id);
        strlist_push(&t->got, line);
    }
    size_t old = *pp ? strlen(*pp) : 0;
    size_t add = strlen(item_id);
    char *np = realloc(*pp, old + add + 2);
    assert_non_null(np);
    if (old) {
        np[old++] = ' ';
    }
    memcpy(np + old, item_id, add + 1);
    *pp = np;
}

/* The lines of a file (without line ends) into out. */
static void read_lines(const char *path, struct strlist *out)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        strlist_push(out, strdup(line));
    }
    free(line);
    fclose(fp);
}

/* The test cases seen must be the lines of the examples file (in any order). */
static void check_examples(struct strlist *got, const char *examples)
{
    struct strlist want = { NULL, 0, 0 };

    read_lines(examples, &want);
    assert_int_equal(got->n, want.n);
    qsort(got->v, got->n, sizeof *got->v, cmp_strp);
    qsort(want.v, want.n, sizeof *want.v, cmp_strp);
    for (size_t i = 0; i < got->n; i++) {
        if (strcmp(got->v[i], want.v[i]) != 0) {
            fail_msg("test case %zu differs: got '%s' want '%s'", i, got->v[i], want.v[i]);
        }
    }
    strlist_free(&want);
}

/* Replay a dataset with the checks described at struct replay_result; counts into *res. */
static void replay_check(const char *dir, int format, unsigned phases, int concurrency,
                         int min_prefix, const char *examples, struct replay_result *res)
{
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    char err[512];
    recd_dataset_conf_init(&c);
    c.dir = dir;
    c.format = format;
    c.phases = phases;
    c.concurrency = concurrency;
    int rc = recd_dataset_open(&c, &ds, err, sizeof err);
    if (rc != RECD_OK) {
        fail_msg("open %s: %s", dir, err);
    }
    struct replay_track t;
    track_init(&t, ds);
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev;
    struct recd_dataset_meta m;
    memset(res, 0, sizeof *res);
    while ((rc = recd_dataset_next(ds, a, &ev, &m)) == 1) {
        res->events++;
        track_order(&t, phases, &ev, &m, res);
        if (ev.kind != RECD_KIND_CLICK) {
            assert_int_equal(m.test_case, 0);
            continue;
        }
        res->clicks++;
        assert_string_equal(ev.user_id, ev.u.click.session_id);
        assert_int_equal(ev.u.click.type, RECD_CLICK_VIEW);
        assert_int_equal(m.test_case, m.phase == RECD_DS_TEST && m.position >= min_prefix);
        res->test_cases += m.test_case;
        if (examples && m.phase == RECD_DS_TEST) {
            track_example(&t, &m, ev.u.click.item_id);
        }
        if (res->events % 4096 == 0) {
            recd_arena_reset(a);
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(res->events, recd_dataset_total(ds));
    /* every session of the selected phases was replayed completely */
    for (int p = 0; p < 2; p++) {
        if (!(phases & (1u << p))) {
            continue;
        }
        for (int64_t s = 0; s < t.st.sessions[p]; s++) {
            assert_true(t.next_pos[p][s] >= 1);
        }
    }
    if (examples) {
        check_examples(&t.got, examples);
    }
    track_free(&t);
    recd_arena_destroy(a);
    recd_dataset_close(ds);
}

static void test_dataset_diginetica(void **state)
{
    (void)state;
    char dir[4096], ex[4200], err[256];
    test_dataset_dir("diginetica-srgnn", dir, sizeof dir);
    assert_int_equal(recd_dataset_detect(dir, err, sizeof err), RECD_DS_DIGINETICA_SRGNN);

    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    recd_dataset_conf_init(&c);
    c.dir = dir;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    struct recd_dataset_stats st;
    recd_dataset_stats(ds, &st);
    /* ../shared/data/README.md */
    assert_int_equal(st.sessions[RECD_DS_TRAIN], 186670);
    assert_int_equal(st.clicks[RECD_DS_TRAIN], 906140);
    assert_int_equal(st.sessions[RECD_DS_TEST], 15963);
    assert_int_equal(st.test_cases[RECD_DS_TRAIN], 0);
    snprintf(ex, sizeof ex, "%s/test_examples.tsv", dir);
    int64_t lines = count_lines(ex);
    assert_int_equal(lines, 60858);
    assert_int_equal(st.test_cases[RECD_DS_TEST], lines);
    assert_int_equal(recd_dataset_total(ds), 906140 + st.clicks[RECD_DS_TEST]);
    recd_dataset_close(ds);

    /* whole train phase: every session in order, interleaved, time never goes back */
    struct replay_result r;
    replay_check(dir, RECD_DS_AUTO, RECD_DS_PHASE_TRAIN, 0, 1, NULL, &r);
    assert_int_equal(r.events, 906140);
    assert_int_equal(r.sessions_seen, 186670);
    assert_int_equal(r.test_cases, 0);
    assert_int_equal(r.backwards, 0);
    assert_true(r.interleaved > 1000);
    /* test phase: the test cases are exactly test_examples.tsv */
    replay_check(dir, RECD_DS_DIGINETICA_SRGNN, RECD_DS_PHASE_TEST, 8, 1, ex, &r);
    assert_int_equal(r.test_cases, lines);
    assert_int_equal(r.sessions_seen, 15963);
    assert_int_equal(r.backwards, 0);
}

static void test_dataset_retailrocket(void **state)
{
    (void)state;
    char dir[4096], ex[4200];
    test_dataset_dir("retailrocket-sbr", dir, sizeof dir);
    snprintf(ex, sizeof ex, "%s/test_examples.tsv", dir);
    struct replay_result r;
    replay_check(dir, RECD_DS_AUTO, RECD_DS_PHASE_TEST, 0, 2, ex, &r);
    assert_int_equal(r.sessions_seen, 4735);
    assert_int_equal(r.test_cases, count_lines(ex));
    assert_int_equal(r.backwards, 0);

    /* the train phase is placed before the first (real) test session */
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    char err[256];
    recd_dataset_conf_init(&c);
    c.dir = dir;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    struct recd_dataset_stats st;
    recd_dataset_stats(ds, &st);
    assert_int_equal(st.sessions[RECD_DS_TRAIN], 126168);
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev;
    struct recd_dataset_meta m;
    int64_t last_train = 0, first_test = 0;
    while (recd_dataset_next(ds, a, &ev, &m) == 1) {
        if (m.phase == RECD_DS_TRAIN) {
            last_train = ev.ts_ms;
        } else {
            first_test = ev.ts_ms;
            break;
        }
        recd_arena_reset(a);
    }
    assert_int_equal(first_test, INT64_C(1441940543000));
    assert_true(last_train < first_test);
    recd_arena_destroy(a);
    recd_dataset_close(ds);
}

static void test_dataset_yoochoose(void **state)
{
    (void)state;
    char dir[4096], err[256];
    test_dataset_dir("yoochoose-rsc15-sample", dir, sizeof dir);
    assert_int_equal(recd_dataset_detect(dir, err, sizeof err), RECD_DS_YOOCHOOSE);
    struct replay_result r;
    /* real timestamps, default concurrency: pure event-time order */
    replay_check(dir, RECD_DS_AUTO, RECD_DS_PHASE_ALL, 0, 1, NULL, &r);
    assert_int_equal(r.events, 70278 + 13568);
    assert_int_equal(r.backwards, 0);
    assert_true(r.interleaved > 100);
}

static void test_dataset_diginetica_raw(void **state)
{
    (void)state;
    char dir[4096], err[256];
    test_dataset_dir("diginetica-raw", dir, sizeof dir);
    assert_int_equal(recd_dataset_detect(dir, err, sizeof err), RECD_DS_DIGINETICA_RAW);
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    recd_dataset_conf_init(&c);
    c.dir = dir;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev;
    int64_t clicks = 0, purchases = 0, lines = 0, last = INT64_MIN;
    while (recd_dataset_next(ds, a, &ev, NULL) == 1) {
        assert_true(ev.ts_ms >= last);
        last = ev.ts_ms;
        if (ev.kind == RECD_KIND_CLICK) {
            clicks++;
        } else {
            assert_int_equal(ev.kind, RECD_KIND_PURCHASE);
            purchases++;
            for (uint32_t i = 0; i < ev.u.purchase.n_lines; i++) {
                lines += ev.u.purchase.lines[i].quantity;
            }
        }
        recd_arena_reset(a);
    }
    assert_int_equal(clicks, 12391); /* sample_train-item-views.csv rows */
    assert_int_equal(lines, 18025); /* train-purchases.csv rows */
    assert_true(purchases > 0 && purchases <= lines);
    recd_arena_destroy(a);
    recd_dataset_close(ds);
}

/* Interleaving keeps each session's order; concurrency 1 = one session after another; skip
 * and limit take a slice of the same sequence; the sequence is deterministic. */
static void test_dataset_interleave_slice(void **state)
{
    (void)state;
    char dir[4096], err[256];
    test_dataset_dir("diginetica-srgnn", dir, sizeof dir);
    struct replay_result r;
    replay_check(dir, RECD_DS_AUTO, RECD_DS_PHASE_TEST, 1, 1, NULL, &r);
    assert_int_equal(r.interleaved, 0);
    assert_int_equal(r.backwards, 0);
    replay_check(dir, RECD_DS_AUTO, RECD_DS_PHASE_TEST, 32, 1, NULL, &r);
    assert_true(r.interleaved > r.events / 4);
    assert_int_equal(r.backwards, 0);

    enum { N = 3000, SKIP = 1234, LIMIT = 500 };
    char *full[N];
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev;
    char buf[512];
    recd_dataset_conf_init(&c);
    c.dir = dir;
    c.concurrency = 5;
    c.limit = N;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    assert_int_equal(recd_dataset_total(ds), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 1);
        render(&ev, buf, sizeof buf);
        full[i] = strdup(buf);
    }
    assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 0);
    /* rewind: same sequence */
    recd_dataset_rewind(ds);
    for (int i = 0; i < N; i++) {
        assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 1);
        render(&ev, buf, sizeof buf);
        assert_string_equal(buf, full[i]);
        recd_arena_reset(a);
    }
    recd_dataset_close(ds);

    c.skip = SKIP;
    c.limit = LIMIT;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    assert_int_equal(recd_dataset_total(ds), LIMIT);
    for (int i = 0; i < LIMIT; i++) {
        assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 1);
        render(&ev, buf, sizeof buf);
        assert_string_equal(buf, full[SKIP + i]);
        recd_arena_reset(a);
    }
    assert_int_equal(recd_dataset_next(ds, a, &ev, NULL), 0);
    recd_dataset_close(ds);
    for (int i = 0; i < N; i++) {
        free(full[i]);
    }
    recd_arena_destroy(a);
}

static void test_dataset_errors(void **state)
{
    (void)state;
    struct recd_dataset_conf c;
    struct recd_dataset *ds = NULL;
    char err[512] = "";
    recd_dataset_conf_init(&c);
    c.dir = "/nonexistent/recd-dataset";
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_ENOENT);
    assert_null(ds);
    assert_non_null(strstr(err, "/nonexistent/recd-dataset"));
    assert_int_equal(recd_dataset_format_parse("retailrocket-sbr"), RECD_DS_RETAILROCKET_SBR);
    assert_int_equal(recd_dataset_format_parse("nope"), -1);
    assert_string_equal(recd_dataset_format_name(RECD_DS_YOOCHOOSE), "yoochoose");

    /* a malformed line is reported with file:line */
    char tmpl[] = "/tmp/recd-ds-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char path[256];
    snprintf(path, sizeof path, "%s/train_sessions.txt", d);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("1 2 3\n\n4 5\n6 x7\n", fp);
    fclose(fp);
    c.dir = d;
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_EDECODE);
    assert_non_null(strstr(err, "train_sessions.txt:4"));
    /* fixed: blank lines are not sessions */
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("1 2 3\n\n4 5\n", fp);
    fclose(fp);
    assert_int_equal(recd_dataset_open(&c, &ds, err, sizeof err), RECD_OK);
    struct recd_dataset_stats st;
    recd_dataset_stats(ds, &st);
    assert_int_equal(st.sessions[RECD_DS_TRAIN], 2);
    assert_int_equal(st.clicks[RECD_DS_TRAIN], 5);
    assert_int_equal(recd_dataset_format(ds), RECD_DS_DIGINETICA_SRGNN);
    recd_dataset_close(ds);
    remove(path);
    rmdir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shopgen_same_seed),
        cmocka_unit_test(test_shopgen_different_seed),
        cmocka_unit_test(test_shopgen_shape),
        cmocka_unit_test(test_shopgen_bad_conf),
        cmocka_unit_test(test_shopgen_turnover),
        cmocka_unit_test(test_dataset_diginetica),
        cmocka_unit_test(test_dataset_retailrocket),
        cmocka_unit_test(test_dataset_yoochoose),
        cmocka_unit_test(test_dataset_diginetica_raw),
        cmocka_unit_test(test_dataset_interleave_slice),
        cmocka_unit_test(test_dataset_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
