/*
 * fuzz_decode.c — libFuzzer target for the input decoder (core/codec.c) and validation
 * (core/validate.c).
 *
 * The input is one Kafka message value (no prefix: the seed corpora in tests/fuzz/corpus/<kind>/
 * are used as they are). Every input goes through
 *   - recd_codec_decode for each of the five input kinds with four codecs:
 *       auto       format auto, Confluent ids 1-5 = recd's reader schemas (click, purchase,
 *                  query, item, deletion) and 11-14 = evolved writer schemas from tests/schemas
 *                  (click_v2, click_v0, click_enum_v3, item_v0);
 *       confluent  format confluent, the same ids;
 *       plain      format plain, writer = reader schema;
 *       evolved    format plain, writer schemas click_v0 (clicks) and item_v0 (items);
 *   - an item removal (NULL value) with the input as the Kafka key;
 *   - recd_codec_decode_recs (Recommendations).
 * Oracles, besides ASan/UBSan/LSan:
 *   - a failed decode returns RECD_EDECODE with one of the documented error classes and leaves
 *     the event cleared; a decoded event has every required string set and NUL-terminated;
 *   - round trip: a decoded event encoded with recd's reader schema (plain, and Confluent with
 *     the reader schema's id) decodes to the same event (strings, numbers bit for bit);
 *   - recd_validate_event (with no limits, the default limits from the config tables, and
 *     tight limits) returns RECD_OK or RECD_EVALID with a documented class; an accepted event
 *     satisfies every documented rule (ids, timestamps, prices, lines, lengths of clamped text);
 *     clamped text is a prefix of the original, cut at most 3 bytes before the limit, and valid
 *     UTF-8 stays valid UTF-8; validating an accepted event again changes nothing.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conf.h"
#include "event.h"
#include "recd.h"
#include "units.h"

#include "fuzz_common.h"

#define SCHEMA(f)  RECD_SOURCE_DIR "/schemas/" f
#define TSCHEMA(f) RECD_SOURCE_DIR "/tests/schemas/" f

static const struct recd_codec_schema_id ids[] = {
    { 1, RECD_KIND_CLICK, SCHEMA("click.avsc") },
    { 2, RECD_KIND_PURCHASE, SCHEMA("purchase.avsc") },
    { 3, RECD_KIND_QUERY, SCHEMA("query.avsc") },
    { 4, RECD_KIND_ITEM, SCHEMA("item.avsc") },
    { 5, RECD_KIND_DELETION, SCHEMA("user_deletion.avsc") },
    { 11, RECD_KIND_CLICK, TSCHEMA("click_v2.avsc") },
    { 12, RECD_KIND_CLICK, TSCHEMA("click_v0.avsc") },
    { 13, RECD_KIND_CLICK, TSCHEMA("click_enum_v3.avsc") },
    { 14, RECD_KIND_ITEM, TSCHEMA("item_v0.avsc") },
};
/* the id of each input kind's reader schema in `ids` */
static const int32_t reader_id[RECD_KIND__NINPUT] = { 1, 2, 3, 4, 5 };

enum { C_AUTO, C_CONFLUENT, C_PLAIN, C_EVOLVED, C__N };
static const char *const codec_name[C__N] = { "auto", "confluent", "plain", "evolved" };

static struct recd_codec *codec[C__N];
static struct recd_arena *arena;
static struct recd_buf rtbuf;

enum { V_NONE, V_DEFAULT, V_TIGHT, V__N };
static struct recd_validate_conf vconf[V__N];

/* ---- setup ------------------------------------------------------------------------------ */

static void new_codec(int which, int format, const char *click_writer, const char *item_writer)
{
    struct recd_codec_conf conf;
    char err[512];

    memset(&conf, 0, sizeof(conf));
    conf.format = format;
    conf.writer_schema[RECD_KIND_CLICK] = click_writer;
    conf.writer_schema[RECD_KIND_ITEM] = item_writer;
    conf.ids = ids;
    conf.n_ids = RECD_ARRAY_SIZE(ids);
    if (recd_codec_new(&conf, &codec[which], err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "fuzz_decode: cannot create the %s codec: %s\n", codec_name[which], err);
        exit(1);
    }
}

/* At exit, so that LeakSanitizer's exit check sees only what the inputs leaked. */
static void cleanup(void)
{
    int i;

    for (i = 0; i < C__N; i++) {
        recd_codec_destroy(codec[i]);
        codec[i] = NULL;
    }
    recd_arena_destroy(arena);
    arena = NULL;
    recd_buf_free(&rtbuf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const struct recd_conf_unit *const *units;
    struct recd_conf *conf = NULL;
    char err[512];
    size_t n;

    (void)argc;
    (void)argv;
    atexit(cleanup);
    new_codec(C_AUTO, RECD_WIRE_AUTO, NULL, NULL);
    new_codec(C_CONFLUENT, RECD_WIRE_CONFLUENT, NULL, NULL);
    new_codec(C_PLAIN, RECD_WIRE_PLAIN, NULL, NULL);
    new_codec(C_EVOLVED, RECD_WIRE_PLAIN, TSCHEMA("click_v0.avsc"), TSCHEMA("item_v0.avsc"));
    arena = recd_arena_new(1 << 16);
    if (arena == NULL) {
        fprintf(stderr, "fuzz_decode: out of memory\n");
        exit(1);
    }
    recd_buf_init(&rtbuf);

    /* V_NONE: all zero (structural rules only). V_DEFAULT: the input unit's defaults. */
    units = recd_units_all(&n);
    if (recd_conf_defaults(units, n, &conf, err, sizeof(err)) != RECD_OK) {
        fprintf(stderr, "fuzz_decode: config defaults: %s\n", err);
        exit(1);
    }
    recd_config_validate_conf(conf, &vconf[V_DEFAULT]);
    recd_conf_destroy(conf);
    vconf[V_TIGHT].min_ts_ms = 946684800000LL;     /* 2000-01-01 */
    vconf[V_TIGHT].max_ts_ms = 4102444800000LL;    /* 2100-01-01 */
    vconf[V_TIGHT].max_id_bytes = 8;
    vconf[V_TIGHT].max_text_bytes = 5;
    vconf[V_TIGHT].max_price = 1000.0;
    vconf[V_TIGHT].max_lines = 2;
    vconf[V_TIGHT].max_quantity = 10;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

static int has_class(const char *err, const char *const *classes)
{
    size_t i, n;

    for (i = 0; classes[i] != NULL; i++) {
        n = strlen(classes[i]);
        if (strncmp(err, classes[i], n) == 0 && err[n] == ':') {
            return 1;
        }
    }
    return 0;
}

static const char *const decode_classes[] = { "framing", "unknown_schema_id", "avro", "too_large",
                                              NULL };
static const char *const valid_classes[] = {
    "empty_user_id", "bad_id", "bad_timestamp", "bad_price", "bad_purchase", "bad_item", NULL
};

/* Touch a string (ASan catches a missing terminator); NULL allowed unless required. */
static size_t str_check(const char *s, int required, const char *what)
{
    FUZZ_CHECK(s != NULL || !required, "decoded %s is NULL", what);
    return s != NULL ? strlen(s) : 0;
}

static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    int n, i;

    while (*p != 0) {
        if (*p < 0x80) {
            p++;
            continue;
        } else if ((*p & 0xE0) == 0xC0) {
            n = 1;
            cp = *p & 0x1F;
        } else if ((*p & 0xF0) == 0xE0) {
            n = 2;
            cp = *p & 0x0F;
        } else if ((*p & 0xF8) == 0xF0) {
            n = 3;
            cp = *p & 0x07;
        } else {
            return 0;
        }
        for (i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        p += n + 1;
    }
    return 1;
}

/* ---- structural checks of a decoded event ------------------------------------------------ */

static void check_decoded(const struct recd_event *ev, int kind)
{
    uint32_t k;

    FUZZ_CHECK(ev->kind == kind, "decoded kind %d, asked for %d", ev->kind, kind);
    str_check(ev->event_id, 1, "event_id");
    str_check(ev->user_id, kind != RECD_KIND_ITEM, "user_id");
    switch (kind) {
    case RECD_KIND_CLICK:
        str_check(ev->u.click.item_id, 1, "click.item_id");
        str_check(ev->u.click.session_id, 0, "click.session_id");
        str_check(ev->u.click.query_id, 0, "click.query_id");
        FUZZ_CHECK(ev->u.click.type == RECD_CLICK_VIEW || ev->u.click.type == RECD_CLICK_CART,
                   "click type %d", ev->u.click.type);
        FUZZ_CHECK(ev->u.click.source >= RECD_SRC_BROWSE && ev->u.click.source <= RECD_SRC_RECS,
                   "click source %d", ev->u.click.source);
        FUZZ_CHECK(ev->u.click.n_context == 0 || ev->u.click.context != NULL, "context NULL");
        for (k = 0; k < ev->u.click.n_context; k++) {
            str_check(ev->u.click.context[k].key, 1, "context key");
            str_check(ev->u.click.context[k].value, 1, "context value");
        }
        break;
    case RECD_KIND_PURCHASE:
        str_check(ev->u.purchase.order_id, 1, "order_id");
        str_check(ev->u.purchase.currency, 1, "currency");
        FUZZ_CHECK(ev->u.purchase.n_lines == 0 || ev->u.purchase.lines != NULL, "lines NULL");
        for (k = 0; k < ev->u.purchase.n_lines; k++) {
            str_check(ev->u.purchase.lines[k].item_id, 1, "line item_id");
        }
        break;
    case RECD_KIND_QUERY:
        str_check(ev->u.query.text, 1, "query text");
        FUZZ_CHECK(ev->u.query.n_shown == 0 || ev->u.query.shown != NULL, "shown NULL");
        for (k = 0; k < ev->u.query.n_shown; k++) {
            str_check(ev->u.query.shown[k], 1, "shown id");
        }
        break;
    case RECD_KIND_ITEM:
        str_check(ev->u.item.item_id, 1, "item_id");
        FUZZ_CHECK(str_eq(ev->event_id, ev->u.item.item_id), "item event_id != item_id");
        if (!ev->u.item.removed) {
            str_check(ev->u.item.title, 1, "title");
            str_check(ev->u.item.description, 1, "description");
            str_check(ev->u.item.brand, 0, "brand");
            FUZZ_CHECK(ev->ts_ms == ev->u.item.updated_ts, "item ts != updated_ts");
            FUZZ_CHECK(ev->u.item.n_category == 0 || ev->u.item.category != NULL, "category NULL");
            for (k = 0; k < ev->u.item.n_category; k++) {
                str_check(ev->u.item.category[k], 1, "category");
            }
        }
        break;
    case RECD_KIND_DELETION:
        str_check(ev->u.deletion.reason, 0, "reason");
        FUZZ_CHECK(ev->ts_ms == ev->u.deletion.requested_ts, "deletion ts != requested_ts");
        break;
    default: fuzz_fail("bad kind %d", kind);
    }
}

/* ---- round trip --------------------------------------------------------------------------- */

static void events_equal(const struct recd_event *a, const struct recd_event *b, const char *how)
{
    uint32_t k;

#define EQ_STR(x)                                                                 \
    FUZZ_CHECK(str_eq(a->x, b->x), "%s round trip: %s \"%s\" != \"%s\"", how, #x, \
               a->x != NULL ? a->x : "(null)", b->x != NULL ? b->x : "(null)")
#define EQ_NUM(x) \
    FUZZ_CHECK(memcmp(&a->x, &b->x, sizeof(a->x)) == 0, "%s round trip: %s differs", how, #x)
    EQ_NUM(kind);
    EQ_STR(event_id);
    EQ_STR(user_id);
    EQ_NUM(ts_ms);
    switch (a->kind) {
    case RECD_KIND_CLICK:
        EQ_STR(u.click.item_id);
        EQ_NUM(u.click.type);
        EQ_NUM(u.click.source);
        EQ_STR(u.click.session_id);
        EQ_STR(u.click.query_id);
        EQ_NUM(u.click.n_context);
        for (k = 0; k < a->u.click.n_context; k++) {
            EQ_STR(u.click.context[k].key);
            EQ_STR(u.click.context[k].value);
        }
        break;
    case RECD_KIND_PURCHASE:
        EQ_STR(u.purchase.order_id);
        EQ_STR(u.purchase.currency);
        EQ_NUM(u.purchase.n_lines);
        for (k = 0; k < a->u.purchase.n_lines; k++) {
            EQ_STR(u.purchase.lines[k].item_id);
            EQ_NUM(u.purchase.lines[k].quantity);
            EQ_NUM(u.purchase.lines[k].unit_price);
        }
        break;
    case RECD_KIND_QUERY:
        EQ_STR(u.query.text);
        EQ_NUM(u.query.n_shown);
        for (k = 0; k < a->u.query.n_shown; k++) {
            EQ_STR(u.query.shown[k]);
        }
        break;
    case RECD_KIND_ITEM:
        EQ_STR(u.item.item_id);
        EQ_STR(u.item.title);
        EQ_STR(u.item.description);
        EQ_STR(u.item.brand);
        EQ_NUM(u.item.price);
        EQ_NUM(u.item.in_stock);
        EQ_NUM(u.item.updated_ts);
        EQ_NUM(u.item.removed);
        EQ_NUM(u.item.n_category);
        for (k = 0; k < a->u.item.n_category; k++) {
            EQ_STR(u.item.category[k]);
        }
        break;
    case RECD_KIND_DELETION:
        EQ_NUM(u.deletion.requested_ts);
        EQ_STR(u.deletion.reason);
        break;
    default: break;
    }
#undef EQ_STR
#undef EQ_NUM
}

static void roundtrip(const struct recd_event *ev)
{
    struct recd_event back;
    char err[512];
    int confluent, rc;

    for (confluent = 0; confluent <= 1; confluent++) {
        rtbuf.len = 0;
        rc = recd_codec_encode_event(codec[C_PLAIN], ev, confluent ? reader_id[ev->kind] : -1,
                                     &rtbuf, err, sizeof(err));
        FUZZ_CHECK(rc == RECD_OK, "encoding a decoded %s failed: %s", recd_kind_name(ev->kind),
                   err);
        memset(&back, 0, sizeof(back));
        rc = recd_codec_decode(codec[confluent ? C_CONFLUENT : C_PLAIN], ev->kind, ev->event_id,
                               strlen(ev->event_id), rtbuf.data, rtbuf.len, arena, &back, err,
                               sizeof(err));
        FUZZ_CHECK(rc == RECD_OK, "decoding a re-encoded %s (%s) failed: %s",
                   recd_kind_name(ev->kind), confluent ? "confluent" : "plain", err);
        events_equal(ev, &back, confluent ? "confluent" : "plain");
    }
}

/* ---- validation ----------------------------------------------------------------------------- */

/* A free-text field and its value before validation. */
struct text {
    const char *const *field;   /* where the event points at the text */
    char *orig;                 /* owned copy, or NULL */
};

#define MAX_TEXTS 64

static size_t collect_texts(struct recd_event *ev, struct text *t)
{
    size_t n = 0;
    uint32_t k;

#define ADD(p)                                     \
    do {                                           \
        if (n < MAX_TEXTS) {                       \
            t[n].field = (const char *const *)(p); \
            n++;                                   \
        }                                          \
    } while (0)
    switch (ev->kind) {
    case RECD_KIND_CLICK:
        for (k = 0; k < ev->u.click.n_context; k++) {
            ADD(&ev->u.click.context[k].key);
            ADD(&ev->u.click.context[k].value);
        }
        break;
    case RECD_KIND_QUERY: ADD(&ev->u.query.text); break;
    case RECD_KIND_ITEM:
        if (!ev->u.item.removed) {
            ADD(&ev->u.item.title);
            ADD(&ev->u.item.description);
            ADD(&ev->u.item.brand);
            for (k = 0; k < ev->u.item.n_category; k++) {
                ADD(&ev->u.item.category[k]);
            }
        }
        break;
    case RECD_KIND_DELETION: ADD(&ev->u.deletion.reason); break;
    default:                 break;
    }
#undef ADD
    for (k = 0; k < n; k++) {
        t[k].orig = *t[k].field != NULL ? strdup(*t[k].field) : NULL;
        FUZZ_CHECK(*t[k].field == NULL || t[k].orig != NULL, "out of memory");
    }
    return n;
}

static void check_clamped(const struct text *t, int64_t max)
{
    const char *now = *t->field;
    size_t olen, nlen;

    if (t->orig == NULL) {
        return;
    }
    FUZZ_CHECK(now != NULL, "validation set a text to NULL");
    olen = strlen(t->orig);
    nlen = strlen(now);
    FUZZ_CHECK(nlen <= olen && memcmp(now, t->orig, nlen) == 0,
               "clamped text \"%s\" is not a prefix of \"%s\"", now, t->orig);
    if (max <= 0 || olen <= (size_t)max) {
        FUZZ_CHECK(nlen == olen, "text of %zu bytes changed under a limit of %lld", olen,
                   (long long)max);
        return;
    }
    FUZZ_CHECK(nlen <= (size_t)max, "clamped text of %zu bytes exceeds %lld", nlen, (long long)max);
    FUZZ_CHECK(nlen + 3 >= (size_t)max, "clamped text cut to %zu bytes, limit %lld", nlen,
               (long long)max);
    FUZZ_CHECK(!utf8_valid(t->orig) || utf8_valid(now),
               "clamping valid UTF-8 \"%s\" made it invalid", t->orig);
}

static int id_ok(const char *s, int64_t max)
{
    return s != NULL && s[0] != '\0' && (max <= 0 || strlen(s) <= (size_t)max);
}

static int opt_id_ok(const char *s, int64_t max)
{
    return s == NULL || max <= 0 || strlen(s) <= (size_t)max;
}

static int ts_ok(const struct recd_validate_conf *vc, int64_t ts)
{
    return (vc->min_ts_ms == 0 && vc->max_ts_ms == 0) ||
        (ts >= vc->min_ts_ms && ts <= vc->max_ts_ms);
}

static int price_ok(const struct recd_validate_conf *vc, double p)
{
    return isfinite(p) && p >= 0.0 && (vc->max_price <= 0.0 || p <= vc->max_price);
}

/* The documented rules hold for an event validate accepted. */
static void check_accepted(const struct recd_validate_conf *vc, const struct recd_event *ev)
{
    uint32_t k;

    if (ev->kind != RECD_KIND_ITEM) {
        FUZZ_CHECK(id_ok(ev->user_id, vc->max_id_bytes), "accepted bad user_id");
        FUZZ_CHECK(ev->event_id != NULL && ev->event_id[0] != '\0', "accepted empty event_id");
    }
    switch (ev->kind) {
    case RECD_KIND_CLICK:
        FUZZ_CHECK(id_ok(ev->event_id, vc->max_id_bytes), "accepted bad event_id");
        FUZZ_CHECK(id_ok(ev->u.click.item_id, vc->max_id_bytes), "accepted bad item_id");
        FUZZ_CHECK(opt_id_ok(ev->u.click.session_id, vc->max_id_bytes), "accepted session_id");
        FUZZ_CHECK(opt_id_ok(ev->u.click.query_id, vc->max_id_bytes), "accepted query_id");
        FUZZ_CHECK(ts_ok(vc, ev->ts_ms), "accepted bad ts");
        break;
    case RECD_KIND_PURCHASE:
        FUZZ_CHECK(id_ok(ev->event_id, vc->max_id_bytes), "accepted bad event_id");
        FUZZ_CHECK(id_ok(ev->u.purchase.order_id, vc->max_id_bytes), "accepted bad order_id");
        FUZZ_CHECK(ts_ok(vc, ev->ts_ms), "accepted bad ts");
        FUZZ_CHECK(ev->u.purchase.n_lines > 0 &&
                       (vc->max_lines <= 0 || ev->u.purchase.n_lines <= vc->max_lines),
                   "accepted %u lines", (unsigned)ev->u.purchase.n_lines);
        FUZZ_CHECK(id_ok(ev->u.purchase.currency, vc->max_id_bytes), "accepted bad currency");
        for (k = 0; k < ev->u.purchase.n_lines; k++) {
            const struct recd_purchase_line *l = &ev->u.purchase.lines[k];

            FUZZ_CHECK(id_ok(l->item_id, vc->max_id_bytes), "accepted bad line item_id");
            FUZZ_CHECK(l->quantity > 0 &&
                           (vc->max_quantity <= 0 || l->quantity <= vc->max_quantity),
                       "accepted quantity %d", (int)l->quantity);
            FUZZ_CHECK(price_ok(vc, l->unit_price), "accepted unit_price %g", l->unit_price);
        }
        break;
    case RECD_KIND_QUERY:
        FUZZ_CHECK(id_ok(ev->event_id, vc->max_id_bytes), "accepted bad event_id");
        FUZZ_CHECK(ts_ok(vc, ev->ts_ms), "accepted bad ts");
        FUZZ_CHECK(ev->u.query.text != NULL, "accepted query without text");
        for (k = 0; k < ev->u.query.n_shown; k++) {
            FUZZ_CHECK(id_ok(ev->u.query.shown[k], vc->max_id_bytes), "accepted bad shown id");
        }
        break;
    case RECD_KIND_ITEM:
        FUZZ_CHECK(id_ok(ev->u.item.item_id, vc->max_id_bytes), "accepted bad item_id");
        if (!ev->u.item.removed) {
            FUZZ_CHECK(ts_ok(vc, ev->u.item.updated_ts), "accepted bad updated_ts");
            FUZZ_CHECK(price_ok(vc, ev->u.item.price), "accepted price %g", ev->u.item.price);
            FUZZ_CHECK(ev->u.item.n_category <= 32, "accepted %u categories",
                       (unsigned)ev->u.item.n_category);
            FUZZ_CHECK(ev->u.item.title != NULL && ev->u.item.description != NULL,
                       "accepted item without title/description");
        }
        break;
    case RECD_KIND_DELETION:
        FUZZ_CHECK(ts_ok(vc, ev->u.deletion.requested_ts), "accepted bad requested_ts");
        break;
    default: fuzz_fail("accepted kind %d", ev->kind);
    }
}

static void validate_all(struct recd_event *ev)
{
    struct text t[MAX_TEXTS];
    char err[512];
    size_t n, i;
    int v, rc;

    for (v = 0; v < V__N; v++) {
        const struct recd_validate_conf *vc = &vconf[v];

        n = collect_texts(ev, t);
        err[0] = '\0';
        rc = recd_validate_event(vc, ev, err, sizeof(err));
        FUZZ_CHECK(rc == RECD_OK || rc == RECD_EVALID, "validate returned %d: %s", rc, err);
        if (rc == RECD_EVALID) {
            FUZZ_CHECK(has_class(err, valid_classes), "undocumented validation error \"%s\"", err);
        } else {
            for (i = 0; i < n; i++) {
                check_clamped(&t[i], vc->max_text_bytes);
            }
            check_accepted(vc, ev);
        }
        for (i = 0; i < n; i++) {
            free(t[i].orig);
        }
        if (rc == RECD_OK) {
            /* idempotent: a second pass accepts and changes nothing */
            n = collect_texts(ev, t);
            rc = recd_validate_event(vc, ev, err, sizeof(err));
            FUZZ_CHECK(rc == RECD_OK, "re-validating an accepted event failed: %s", err);
            for (i = 0; i < n; i++) {
                FUZZ_CHECK(str_eq(t[i].orig, *t[i].field), "re-validation changed a text");
                free(t[i].orig);
            }
        }
    }
}

/* ---- recommendations ------------------------------------------------------------------------- */

static void recs_equal(const struct recd_recs *a, const struct recd_recs *b)
{
    uint32_t k;

    FUZZ_CHECK(str_eq(a->user_id, b->user_id) && a->seq == b->seq &&
                   str_eq(a->model_version, b->model_version) &&
                   a->generated_ts == b->generated_ts &&
                   str_eq(a->trigger_event_id, b->trigger_event_id) && a->n_items == b->n_items,
               "recommendations round trip: header differs");
    for (k = 0; k < a->n_items; k++) {
        FUZZ_CHECK(str_eq(a->items[k].item_id, b->items[k].item_id) &&
                       memcmp(&a->items[k].score, &b->items[k].score, sizeof(float)) == 0 &&
                       str_eq(a->items[k].reason, b->items[k].reason) &&
                       str_eq(a->items[k].because_item_id, b->items[k].because_item_id),
                   "recommendations round trip: item %u differs", (unsigned)k);
    }
}

static void fuzz_recs(const uint8_t *data, size_t size)
{
    struct recd_recs r, back;
    char err[512];
    uint32_t k;
    int rc;

    rc = recd_codec_decode_recs(codec[C_AUTO], data, size, arena, &r, err, sizeof(err));
    if (rc != RECD_OK) {
        FUZZ_CHECK(rc == RECD_EDECODE && has_class(err, decode_classes),
                   "decode_recs: rc %d \"%s\"", rc, err);
        FUZZ_CHECK(r.user_id == NULL && r.items == NULL && r.n_items == 0,
                   "decode_recs failed but left fields set");
        return;
    }
    str_check(r.user_id, 1, "recs user_id");
    str_check(r.model_version, 1, "recs model_version");
    str_check(r.trigger_event_id, 0, "recs trigger_event_id");
    FUZZ_CHECK(r.n_items == 0 || r.items != NULL, "recs items NULL");
    for (k = 0; k < r.n_items; k++) {
        str_check(r.items[k].item_id, 1, "recs item_id");
        str_check(r.items[k].reason, 1, "recs reason");
        str_check(r.items[k].because_item_id, 0, "recs because_item_id");
    }
    rtbuf.len = 0;
    rc = recd_codec_encode_recs(codec[C_AUTO], &r, -1, &rtbuf, err, sizeof(err));
    FUZZ_CHECK(rc == RECD_OK, "encoding decoded recommendations failed: %s", err);
    rc = recd_codec_decode_recs(codec[C_AUTO], rtbuf.data, rtbuf.len, arena, &back, err,
                                sizeof(err));
    FUZZ_CHECK(rc == RECD_OK, "decoding re-encoded recommendations failed: %s", err);
    recs_equal(&r, &back);
    /* the same list Confluent-framed (output.confluent_id) decodes to the same fields */
    rtbuf.len = 0;
    rc = recd_codec_encode_recs(codec[C_AUTO], &r, 7, &rtbuf, err, sizeof(err));
    FUZZ_CHECK(rc == RECD_OK, "encoding framed recommendations failed: %s", err);
    rc = recd_codec_decode_recs(codec[C_AUTO], rtbuf.data, rtbuf.len, arena, &back, err,
                                sizeof(err));
    FUZZ_CHECK(rc == RECD_OK, "decoding framed recommendations failed: %s", err);
    recs_equal(&r, &back);
}

/* ---- the target ----------------------------------------------------------------------------- */

static void fuzz_event(int ci, int kind, const uint8_t *key, size_t keylen, const uint8_t *val,
                       size_t len)
{
    struct recd_event ev;
    char err[512];
    int rc;

    memset(&ev, 0, sizeof(ev));
    err[0] = '\0';
    rc = recd_codec_decode(codec[ci], kind, key, keylen, val, len, arena, &ev, err, sizeof(err));
    if (rc != RECD_OK) {
        FUZZ_CHECK(rc == RECD_EDECODE, "%s codec, %s: rc %d \"%s\"", codec_name[ci],
                   recd_kind_name(kind), rc, err);
        FUZZ_CHECK(has_class(err, decode_classes), "%s codec, %s: undocumented error \"%s\"",
                   codec_name[ci], recd_kind_name(kind), err);
        FUZZ_CHECK(ev.kind == kind && ev.event_id == NULL && ev.user_id == NULL,
                   "failed decode left the event set");
        return;
    }
    check_decoded(&ev, kind);
    if (!(kind == RECD_KIND_ITEM && ev.u.item.removed)) {
        roundtrip(&ev);
    }
    validate_all(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int kind, ci;

    recd_arena_reset(arena);
    for (kind = 0; kind < RECD_KIND__NINPUT; kind++) {
        for (ci = 0; ci < C__N; ci++) {
            fuzz_event(ci, kind, data, size, data, size);
        }
    }
    /* an item removal: NULL value, the input is the key */
    fuzz_event(C_AUTO, RECD_KIND_ITEM, data, size, NULL, 0);
    fuzz_recs(data, size);
    return 0;
}
