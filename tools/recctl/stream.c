/*
 * stream.c — the stream runner behind replay and gen: events from a source -> the
 * topics (or JSON lines), paced, with planned poison, unknown-item and oversize records.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "recctl.h"

/* ---- event emitter (replay, gen): events -> topics or JSON lines, with poison records ------ */
enum poison_class {
    P_RANDOM_BYTES,
    P_TRUNCATED,
    P_UNKNOWN_SCHEMA,
    P_HUGE_STRING,
    P_NAN_PRICE,
    P_INF_PRICE,
    P_NEG_PRICE,
    P_NEG_TS,
    P_FUTURE_TS,
    P_EMPTY_USER,
    P__N
};
static const char *const POISON_NAME[P__N] = {
    "random_bytes", "truncated_avro", "unknown_schema_id", "huge_string", "nan_price",
    "inf_price",    "negative_price", "negative_ts",       "future_ts",   "empty_user_id"
};
/* What recd must do with it. Every class is dead-lettered; the column is in the poison log so
 * that a class recd should accept (clamp) could be added without changing the format. */
static const char *const POISON_EXPECT[P__N] = { "dlq", "dlq", "dlq", "dlq", "dlq",
                                                 "dlq", "dlq", "dlq", "dlq", "dlq" };

/* Huge strings: 960 KiB keeps a record (and recd's DLQ copy of it, with headers) under
 * librdkafka's default message.max.bytes (1,000,000) and the broker's 1 MiB limit. */
#define HUGE_STRING_BYTES (960 * 1024)
#define YEAR_2200_MS      INT64_C(7258118400000)

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct emitter {
    const struct common *c;
    struct sink sink;
    struct recd_codec *codec;       /* owned */
    struct recd_buf buf;            /* owned */
    struct recd_arena *arena;       /* owned: poison events */
    FILE *jsonl;                    /* gen --jsonl (borrowed) */
    int32_t confluent_id;
    /* counts */
    int64_t events, by_kind[RECD_KIND__NINPUT], tombstones;
    /* poison and unknown-item clicks: sorted positions (before event #pos) */
    uint64_t seed;
    int64_t *ppos, *upos, *opos;    /* owned */
    int64_t n_poison, n_unknown, n_oversize, next_poison, next_unknown, next_oversize;
    int class_offset;
    FILE *poison_log;               /* owned (when not stdout/stderr) */
    int64_t last_ts;
    char err[512];
};

static int emitter_oom(struct emitter *em)
{
    return recd_seterr(em->err, sizeof em->err, RECD_ENOMEM, "out of memory");
}

static int emitter_open(struct emitter *em, const struct common *c, FILE *jsonl,
                        int32_t confluent_id)
{
    struct recd_codec_conf cc;
    memset(em, 0, sizeof *em);
    em->c = c;
    em->jsonl = jsonl;
    em->confluent_id = confluent_id;
    recd_buf_init(&em->buf);
    memset(&cc, 0, sizeof cc);
    cc.format = RECD_WIRE_AUTO;
    if (recd_codec_new(&cc, &em->codec, em->err, sizeof em->err) != RECD_OK) {
        return RECD_ERR;
    }
    em->arena = recd_arena_new(1 << 16);
    if (!em->arena) {
        snprintf(em->err, sizeof em->err, "out of memory");
        return RECD_ENOMEM;
    }
    if (!jsonl && sink_open(&em->sink, c, em->err, sizeof em->err) != RECD_OK) {
        return RECD_EKAFKA;
    }
    return RECD_OK;
}

/* Poison and unknown-item positions over [0, total]. */
static int emitter_plan(struct emitter *em, int64_t total, int64_t n_poison, int64_t n_unknown,
                        int64_t n_oversize, uint64_t seed)
{
    struct rng r = { seed ^ 0x706F69736F6E0000ull };
    em->seed = seed;
    em->n_poison = n_poison;
    em->n_unknown = n_unknown;
    em->ppos = calloc((size_t)(n_poison ? n_poison : 1), sizeof *em->ppos);
    em->upos = calloc((size_t)(n_unknown ? n_unknown : 1), sizeof *em->upos);
    em->opos = calloc((size_t)(n_oversize ? n_oversize : 1), sizeof *em->opos);
    em->n_oversize = n_oversize;
    if (!em->ppos || !em->upos || !em->opos) {
        return RECD_ENOMEM;
    }
    for (int64_t i = 0; i < n_poison; i++) {
        em->ppos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    }
    for (int64_t i = 0; i < n_unknown; i++) {
        em->upos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    }
    qsort(em->ppos, (size_t)n_poison, sizeof *em->ppos, cmp_i64);
    qsort(em->upos, (size_t)n_unknown, sizeof *em->upos, cmp_i64);
    em->class_offset = (int)(rng_next(&r) % P__N);
    for (int64_t i = 0; i < n_oversize; i++) {
        em->opos[i] = (int64_t)(rng_next(&r) % (uint64_t)(total + 1));
    }
    qsort(em->opos, (size_t)n_oversize, sizeof *em->opos, cmp_i64);
    return RECD_OK;
}

static int emit_record(struct emitter *em, int topic, const char *key, size_t keylen,
                       const void *val, size_t vallen)
{
    const char *t = em->c->topic[topic];
    return sink_send(&em->sink, t, key, keylen, val, vallen, em->err, sizeof em->err);
}

/* Encode and send (or write as a JSON line) one event. */
static int emit_event(struct emitter *em, const struct recd_event *ev)
{
    const char *key = ev->kind == RECD_KIND_ITEM ? ev->u.item.item_id : ev->user_id;
    if (!key) {
        key = "";
    }
    if (em->jsonl) {
        json_t *o = event_to_json(ev);
        if (!o) {
            return emitter_oom(em);
        }
        if (json_is_null(o)) {
            json_decref(o);
            o = json_pack("{s:s,s:b}", "item_id", key, "removed", 1);
            if (!o) {
                return emitter_oom(em);
            }
        }
        json_object_set_new(o, "_kind", json_string(recd_kind_name(ev->kind)));
        char *s = json_dumps(o, JSON_OUT_FLAGS);
        json_decref(o);
        if (!s) {
            return emitter_oom(em);
        }
        int bad = fputs(s, em->jsonl) == EOF || fputc('\n', em->jsonl) == EOF;
        free(s);
        if (bad) {
            snprintf(em->err, sizeof em->err, "write: %s", strerror(errno));
            return RECD_EIO;
        }
    } else {
        int rc;
        em->buf.len = 0;
        rc = recd_codec_encode_event(em->codec, ev, em->confluent_id, &em->buf, em->err,
                                     sizeof em->err);
        if (rc != RECD_OK) {
            return rc;
        }
        int tomb = ev->kind == RECD_KIND_ITEM && ev->u.item.removed;
        rc = emit_record(em, ev->kind, key, strlen(key), tomb ? NULL : em->buf.data, em->buf.len);
        if (rc != RECD_OK) {
            return rc;
        }
        em->tombstones += tomb;
    }
    return RECD_OK;
}

/* A valid base event of `kind` for poison record j (strings in em->arena). */
static void poison_base(struct emitter *em, int64_t j, int kind, int64_t ts, struct recd_event *ev)
{
    struct recd_arena *a = em->arena;
    char b[96];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    snprintf(b, sizeof b, "poison:%" PRIu64 ":%" PRId64, em->seed, j);
    ev->event_id = recd_arena_strndup(a, b, strlen(b));
    snprintf(b, sizeof b, "poison-u%" PRId64, j);
    ev->user_id = recd_arena_strndup(a, b, strlen(b));
    ev->ts_ms = ts;
    snprintf(b, sizeof b, "poison-i%" PRId64, j);
    const char *item = recd_arena_strndup(a, b, strlen(b));
    switch (kind) {
    case RECD_KIND_CLICK:
        ev->u.click.item_id = item;
        ev->u.click.type = RECD_CLICK_VIEW;
        ev->u.click.source = RECD_SRC_BROWSE;
        break;
    case RECD_KIND_PURCHASE: {
        struct recd_purchase_line *l = recd_arena_alloc(a, sizeof *l);
        if (l) {
            l->item_id = item;
            l->quantity = 1;
            l->unit_price = 9.99;
        }
        ev->u.purchase.lines = l;
        ev->u.purchase.n_lines = l ? 1 : 0;
        ev->u.purchase.order_id = ev->event_id;
        ev->u.purchase.currency = "EUR";
        break;
    }
    case RECD_KIND_QUERY: ev->u.query.text = "poison query"; break;
    case RECD_KIND_ITEM:
        ev->event_id = item;
        ev->user_id = NULL;
        ev->u.item.item_id = item;
        ev->u.item.title = "Poison Test Item";
        ev->u.item.description = "";
        ev->u.item.price = 9.99;
        ev->u.item.in_stock = 1;
        ev->u.item.updated_ts = ts;
        break;
    default: break;
    }
}

static int emit_poison(struct emitter *em, int64_t j, int64_t ts)
{
    struct rng r = { em->seed * 0x100000001B3ull + (uint64_t)j };
    int cls = (int)((j + em->class_offset) % P__N);
    struct recd_event ev;
    uint8_t raw[512];
    const void *val = NULL;
    size_t len = 0;
    int topic, rc;
    char *huge = NULL;
    static const int ev_kinds[3] = { RECD_KIND_CLICK, RECD_KIND_PURCHASE, RECD_KIND_QUERY };

    recd_arena_reset(em->arena);
    em->buf.len = 0;
    switch (cls) {
    case P_RANDOM_BYTES: {
        /* the first byte is odd: a negative Avro string length, so no kind can decode it */
        topic = (int)(rng_next(&r) % 4);
        len = 1 + (size_t)(rng_next(&r) % 256);
        for (size_t i = 0; i < len; i++) {
            raw[i] = (uint8_t)rng_next(&r);
        }
        raw[0] |= 1;
        val = raw;
        break;
    }
    case P_TRUNCATED:
    case P_UNKNOWN_SCHEMA: {
        topic = ev_kinds[rng_next(&r) % 3];
        poison_base(em, j, topic, ts, &ev);
        int32_t id = cls == P_UNKNOWN_SCHEMA ? 2000000000 + (int32_t)(j % 100000000) : -1;
        rc = recd_codec_encode_event(em->codec, &ev, id, &em->buf, em->err, sizeof em->err);
        if (rc != RECD_OK) {
            return rc;
        }
        val = em->buf.data;
        len = cls == P_TRUNCATED ? em->buf.len / 2 : em->buf.len;
        break;
    }
    case P_HUGE_STRING:
        /* a valid click or query whose user_id is 960 KiB: rejected (bad_id); the key stays
         * short so that the record fits the message size limits */
        topic = rng_next(&r) % 2 ? T_CLICKS : T_QUERIES;
        poison_base(em, j, topic, ts, &ev);
        huge = malloc(HUGE_STRING_BYTES + 1);
        if (!huge) {
            return emitter_oom(em);
        }
        for (size_t i = 0; i < HUGE_STRING_BYTES; i++) {
            huge[i] = "poison-"[i % 7];
        }
        huge[HUGE_STRING_BYTES] = '\0';
        ev.user_id = huge;
        break;
    case P_NAN_PRICE:
    case P_INF_PRICE:
    case P_NEG_PRICE: {
        double p = cls == P_NAN_PRICE ? NAN : cls == P_INF_PRICE ? INFINITY : -5.0;
        topic = rng_next(&r) % 2 ? T_ITEMS : T_PURCHASES;
        poison_base(em, j, topic, ts, &ev);
        if (topic == T_ITEMS) {
            ev.u.item.price = p;
        } else if (ev.u.purchase.lines) {
            ev.u.purchase.lines[0].unit_price = p;
        }
        break;
    }
    case P_NEG_TS:
    case P_FUTURE_TS:
        topic = ev_kinds[rng_next(&r) % 3];
        poison_base(em, j, topic, cls == P_NEG_TS ? -INT64_C(86400000) : YEAR_2200_MS, &ev);
        break;
    default: /* P_EMPTY_USER */
        topic = T_CLICKS;
        poison_base(em, j, RECD_KIND_CLICK, ts, &ev);
        ev.user_id = "";
        break;
    }
    if (!val) {
        if (!ev.event_id || (topic != T_ITEMS && !ev.user_id)) {
            free(huge);
            return emitter_oom(em);
        }
        rc = recd_codec_encode_event(em->codec, &ev, em->confluent_id, &em->buf, em->err,
                                     sizeof em->err);
        free(huge);
        if (rc != RECD_OK) {
            return rc;
        }
        val = em->buf.data;
        len = em->buf.len;
    }
    char key[64];
    if (cls == P_EMPTY_USER) {
        key[0] = '\0';
    } else if (topic == T_ITEMS) {
        snprintf(key, sizeof key, "poison-i%" PRId64, j);
    } else {
        snprintf(key, sizeof key, "poison-u%" PRId64, j);
    }
    rc = emit_record(em, topic, key, strlen(key), val, len);
    if (rc != RECD_OK) {
        return rc;
    }
    if (em->poison_log) {
        fprintf(em->poison_log, "%s\t%s\t%s\t%" PRId64 "\n", em->c->topic[topic], POISON_NAME[cls],
                POISON_EXPECT[cls], em->events);
    }
    return RECD_OK;
}

static int emit_unknown(struct emitter *em, int64_t j, int64_t ts)
{
    struct recd_event ev;
    char b[96];
    recd_arena_reset(em->arena);
    poison_base(em, j, RECD_KIND_CLICK, ts, &ev);
    snprintf(b, sizeof b, "unknown:%" PRIu64 ":%" PRId64, em->seed, j);
    ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
    snprintf(b, sizeof b, "unknown-u%" PRId64, j);
    ev.user_id = recd_arena_strndup(em->arena, b, strlen(b));
    snprintf(b, sizeof b, "unknown-%" PRIu64 "-%" PRId64, em->seed, j);
    ev.u.click.item_id = recd_arena_strndup(em->arena, b, strlen(b));
    if (!ev.event_id || !ev.user_id || !ev.u.click.item_id) {
        return emitter_oom(em);
    }
    return emit_event(em, &ev);
}

/* A valid record with a 960 KiB free-text field (query text or item title) that recd keeps,
 * clamping the text (not poison). */
static int emit_oversize(struct emitter *em, int64_t j, int64_t ts)
{
    struct recd_event ev;
    char b[96];
    int rc;
    char *huge = malloc(HUGE_STRING_BYTES + 1);
    if (!huge) {
        return emitter_oom(em);
    }
    for (size_t i = 0; i < HUGE_STRING_BYTES; i++) {
        huge[i] = "oversize "[i % 9];
    }
    huge[HUGE_STRING_BYTES] = '\0';
    recd_arena_reset(em->arena);
    poison_base(em, j, j % 2 ? RECD_KIND_ITEM : RECD_KIND_QUERY, ts, &ev);
    if (ev.kind == RECD_KIND_ITEM) {
        snprintf(b, sizeof b, "oversize-i%" PRId64, j);
        ev.u.item.item_id = ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
        ev.u.item.title = huge;
    } else {
        snprintf(b, sizeof b, "oversize:%" PRIu64 ":%" PRId64, em->seed, j);
        ev.event_id = recd_arena_strndup(em->arena, b, strlen(b));
        snprintf(b, sizeof b, "oversize-u%" PRId64, j);
        ev.user_id = recd_arena_strndup(em->arena, b, strlen(b));
        ev.u.query.text = huge;
    }
    if (!ev.event_id || (ev.kind != RECD_KIND_ITEM && !ev.user_id)) {
        rc = emitter_oom(em);
    } else {
        rc = emit_event(em, &ev);
    }
    free(huge);
    return rc;
}

/* Inject what is due before event number em->events (ts: time to give the records). */
static int emit_due(struct emitter *em, int64_t ts, int at_end)
{
    int rc;
    while (em->next_poison < em->n_poison && (at_end || em->ppos[em->next_poison] <= em->events)) {
        if ((rc = emit_poison(em, em->next_poison, ts)) != RECD_OK) {
            return rc;
        }
        em->next_poison++;
    }
    while (em->next_unknown < em->n_unknown &&
           (at_end || em->upos[em->next_unknown] <= em->events)) {
        if ((rc = emit_unknown(em, em->next_unknown, ts)) != RECD_OK) {
            return rc;
        }
        em->next_unknown++;
    }
    while (em->next_oversize < em->n_oversize &&
           (at_end || em->opos[em->next_oversize] <= em->events)) {
        if ((rc = emit_oversize(em, em->next_oversize, ts)) != RECD_OK) {
            return rc;
        }
        em->next_oversize++;
    }
    return RECD_OK;
}

/* One stream event: first what is due, then the event. */
static int emit_stream_event(struct emitter *em, const struct recd_event *ev)
{
    int rc = emit_due(em, ev->ts_ms, 0);
    if (rc != RECD_OK) {
        return rc;
    }
    rc = emit_event(em, ev);
    if (rc != RECD_OK) {
        return rc;
    }
    em->events++;
    if (ev->kind >= 0 && ev->kind < RECD_KIND__NINPUT) {
        em->by_kind[ev->kind]++;
    }
    em->last_ts = ev->ts_ms;
    return RECD_OK;
}

/* Returns records not delivered (>= 0). */
static int64_t emitter_close(struct emitter *em)
{
    int64_t undelivered = 0;
    if (!em->jsonl) {
        undelivered = sink_close(&em->sink, 120000);
    }
    recd_codec_destroy(em->codec);
    em->codec = NULL;
    recd_buf_free(&em->buf);
    recd_arena_destroy(em->arena);
    em->arena = NULL;
    free(em->ppos);
    free(em->upos);
    free(em->opos);
    em->ppos = em->upos = em->opos = NULL;
    if (em->poison_log && em->poison_log != stdout && em->poison_log != stderr) {
        fclose(em->poison_log);
    }
    em->poison_log = NULL;
    return undelivered;
}

static void print_summary(const struct emitter *em, const char *verb, double secs)
{
    printf("%s %" PRId64 " events (%" PRId64 " clicks, %" PRId64 " purchases, %" PRId64
           " queries, %" PRId64 " items, %" PRId64 " deletions), %" PRId64
           " poison records, %" PRId64 " unknown-item clicks, %" PRId64
           " oversize-text records, in %.2f s"
           " (%.0f events/s)\n",
           verb, em->events, em->by_kind[RECD_KIND_CLICK], em->by_kind[RECD_KIND_PURCHASE],
           em->by_kind[RECD_KIND_QUERY], em->by_kind[RECD_KIND_ITEM],
           em->by_kind[RECD_KIND_DELETION], em->next_poison, em->next_unknown, em->next_oversize,
           secs, secs > 0 ? (double)em->events / secs : 0.0);
}

/* ---- replay / gen shared options ------------------------------------------------------------- */

int stream_opt(struct stream_opts *so, const char *cmd, int opt, const char *arg)
{
    switch (opt) {
    case O_RATE:   return parse_dbl(cmd, "--rate", arg, 0, 1e9, &so->rate) ? -1 : 1;
    case O_POISON: return parse_ll(cmd, "--poison", arg, 0, 100000000, &so->poison) ? -1 : 1;
    case O_UNKNOWN_ITEMS:
        return parse_ll(cmd, "--unknown-items", arg, 0, 100000000, &so->unknown) ? -1 : 1;
    case O_OVERSIZE:
        return parse_ll(cmd, "--oversize-text", arg, 0, 1000000, &so->oversize) ? -1 : 1;
    case O_SEED: return parse_ll(cmd, "--seed", arg, 0, LLONG_MAX, &so->seed) ? -1 : 1;
    case O_CONFLUENT_ID:
        return parse_ll(cmd, "--confluent-id", arg, 0, INT32_MAX, &so->confluent_id) ? -1 : 1;
    case O_POISON_LOG: so->poison_log = arg; return 1;
    default:           return 0;
    }
}

static int stream_setup(struct emitter *em, const struct stream_opts *so, int64_t total,
                        const char *cmd)
{
    if (emitter_plan(em, total, so->poison, so->unknown, so->oversize, (uint64_t)so->seed) !=
        RECD_OK) {
        fprintf(stderr, "recctl %s: out of memory\n", cmd);
        return -1;
    }
    if (so->poison_log) {
        em->poison_log = strcmp(so->poison_log, "-") == 0 ? stderr : fopen(so->poison_log, "w");
        if (!em->poison_log) {
            fprintf(stderr, "recctl %s: %s: %s\n", cmd, so->poison_log, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- the stream runner behind replay and gen ------------------------------------------------- */

int run_stream(struct common *c, const struct stream_opts *so, const struct stream_source *s)
{
    struct recd_arena *arena = NULL;
    struct emitter em;
    struct recd_event ev;
    double t0, next_progress;
    int rc, exit_code = RECD_EXIT_OK, em_open = 0;

    memset(&em, 0, sizeof em);
    arena = recd_arena_new(1 << 16);
    rc = emitter_open(&em, c, s->jsonl, (int32_t)so->confluent_id);
    em_open = 1;
    if (!arena || rc != RECD_OK) {
        fprintf(stderr, "recctl %s: %s\n", s->cmd, arena ? em.err : "out of memory");
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    if (stream_setup(&em, so, s->total, s->cmd) != 0) {
        exit_code = RECD_EXIT_FAILURE;
        goto cleanup;
    }
    install_signals();
    t0 = now_s();
    next_progress = t0 + 5;
    while (!g_stop) {
        recd_arena_reset(arena);
        rc = s->next(s->src, arena, &ev);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "recctl %s: %s%s\n", s->cmd, s->next_err, recd_strerror(rc));
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
        pace(&em.sink, so->rate, t0, em.events);
        rc = emit_stream_event(&em, &ev);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl %s: %s\n", s->cmd, em.err);
            exit_code = RECD_EXIT_FAILURE;
            break;
        }
        if (s->emitted) {
            s->emitted(s->src, &ev);
        }
        if (s->progress && c->verbose && now_s() >= next_progress) {
            next_progress += 5;
            fprintf(stderr, "recctl %s: %" PRId64 "/%" PRId64 " events\n", s->cmd, em.events,
                    s->total);
        }
    }
    if (exit_code == RECD_EXIT_OK && !g_stop) {
        rc = emit_due(&em, em.last_ts, 1);
        if (rc != RECD_OK) {
            fprintf(stderr, "recctl %s: %s\n", s->cmd, em.err);
            exit_code = RECD_EXIT_FAILURE;
        }
    }
    if (s->jsonl && fflush(s->jsonl) != 0) {
        fprintf(stderr, "recctl %s: %s: %s\n", s->cmd, s->jsonl_path, strerror(errno));
        exit_code = RECD_EXIT_FAILURE;
    }
    {
        int64_t undelivered = emitter_close(&em);
        em_open = 0;
        /* with --jsonl to stdout the summary goes to stderr */
        if (s->jsonl == stdout) {
            fprintf(stderr, "%s %" PRId64 " events\n", s->verb, em.events);
        } else {
            print_summary(&em, g_stop ? "interrupted after" : s->verb, now_s() - t0);
        }
        if (undelivered) {
            fprintf(stderr, "recctl %s: %" PRId64 " record(s) not delivered\n", s->cmd,
                    undelivered);
            exit_code = RECD_EXIT_FAILURE;
        }
        if (g_stop && exit_code == RECD_EXIT_OK) {
            exit_code = RECD_EXIT_FAILURE;
        }
    }
cleanup:
    if (em_open) {
        emitter_close(&em);
    }
    recd_arena_destroy(arena);
    return exit_code;
}
