/*
 * test_codec.c — unit tests of core/codec.c (Avro decode/encode, wire formats, schema
 * evolution, hostile input) and core/validate.c (validation classes and clamping).
 *
 * Writer schemas used for evolution live in tests/schemas/ (RECD_TEST_DATA).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <avro.h>

#include "recd.h"
#include "event.h"
#include "codec.h"

#ifndef RECD_TEST_DATA
#define RECD_TEST_DATA "tests"
#endif
#ifndef RECD_SOURCE_DIR
#define RECD_SOURCE_DIR "."
#endif
#define SCHEMA(name) RECD_TEST_DATA "/schemas/" name

/* ---- helpers ------------------------------------------------------------------------------ */

static struct recd_codec *codec_with(const struct recd_codec_conf *conf)
{
    struct recd_codec *c = NULL;
    char err[512] = "";
    int rc = recd_codec_new(conf, &c, err, sizeof(err));

    if (rc != RECD_OK) {
        fail_msg("recd_codec_new: %s", err);
    }
    return c;
}

static struct recd_codec *codec_default(void)
{
    return codec_with(NULL);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, seeded per test */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void assert_str_eq_or_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    } else {
        assert_string_equal(a, b);
    }
}

/* Encode ev plainly (or with a Confluent id), decode it back, return the decoded event. */
static void roundtrip(struct recd_codec *c, const struct recd_event *ev, int32_t id,
                      struct recd_arena *arena, struct recd_event *out)
{
    struct recd_buf b;
    char err[256] = "";
    int rc;

    recd_buf_init(&b);
    rc = recd_codec_encode_event(c, ev, id, &b, err, sizeof(err));
    if (rc != RECD_OK) {
        fail_msg("encode: %s", err);
    }
    memset(out, 0, sizeof(*out));
    rc = recd_codec_decode(c, ev->kind, "k", 1, b.data, b.len, arena, out, err, sizeof(err));
    if (rc != RECD_OK) {
        fail_msg("decode: %s", err);
    }
    recd_buf_free(&b);
}

static void assert_click_equal(const struct recd_event *a, const struct recd_event *b)
{
    uint32_t k;

    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->event_id, b->event_id);
    assert_string_equal(a->user_id, b->user_id);
    assert_true(a->ts_ms == b->ts_ms);
    assert_string_equal(a->u.click.item_id, b->u.click.item_id);
    assert_int_equal(a->u.click.type, b->u.click.type);
    assert_int_equal(a->u.click.source, b->u.click.source);
    assert_str_eq_or_null(a->u.click.session_id, b->u.click.session_id);
    assert_str_eq_or_null(a->u.click.query_id, b->u.click.query_id);
    assert_int_equal(a->u.click.n_context, b->u.click.n_context);
    for (k = 0; k < a->u.click.n_context; k++) {
        assert_string_equal(a->u.click.context[k].key, b->u.click.context[k].key);
        assert_string_equal(a->u.click.context[k].value, b->u.click.context[k].value);
    }
}

static struct recd_kv ctx_kv[] = { { "channel", "app" },
                                   { "device", "ios" },
                                   { "local_hour", "21" } };

static struct recd_event make_click(void)
{
    struct recd_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_CLICK;
    ev.event_id = "ev-1";
    ev.user_id = "user-42";
    ev.ts_ms = 1700000000123LL;
    ev.u.click.item_id = "item-7";
    ev.u.click.type = RECD_CLICK_CART;
    ev.u.click.source = RECD_SRC_RECS;
    ev.u.click.session_id = "sess-9";
    ev.u.click.query_id = "q-3";
    ev.u.click.context = ctx_kv;
    ev.u.click.n_context = 3;
    return ev;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A record of a test writer schema, filled by the caller through avro-c, then serialized. */
struct wrec {
    avro_schema_t schema;
    avro_value_iface_t *cls;
    avro_value_t v;
};

static void wrec_open(struct wrec *w, const char *path)
{
    size_t len;
    char *text = slurp(path, &len);

    assert_int_equal(avro_schema_from_json_length(text, len, &w->schema), 0);
    free(text);
    w->cls = avro_generic_class_from_schema(w->schema);
    assert_non_null(w->cls);
    assert_int_equal(avro_generic_value_new(w->cls, &w->v), 0);
}

static void wrec_close(struct wrec *w)
{
    avro_value_decref(&w->v);
    avro_value_iface_decref(w->cls);
    avro_schema_decref(w->schema);
}

static void wset_str(struct wrec *w, const char *name, const char *s)
{
    avro_value_t f;

    assert_int_equal(avro_value_get_by_name(&w->v, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, s), 0);
}

static void wset_opt_str(struct wrec *w, const char *name, const char *s)
{
    avro_value_t f, b;

    assert_int_equal(avro_value_get_by_name(&w->v, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_branch(&f, s != NULL ? 1 : 0, &b), 0);
    if (s != NULL) {
        assert_int_equal(avro_value_set_string(&b, s), 0);
    } else {
        assert_int_equal(avro_value_set_null(&b), 0);
    }
}

static void wset_long(struct wrec *w, const char *name, int64_t x)
{
    avro_value_t f;

    assert_int_equal(avro_value_get_by_name(&w->v, name, &f, NULL), 0);
    if (avro_value_get_type(&f) == AVRO_INT32) {
        assert_int_equal(avro_value_set_int(&f, (int32_t)x), 0);
    } else {
        assert_int_equal(avro_value_set_long(&f, x), 0);
    }
}

static void wset_enum(struct wrec *w, const char *name, int x)
{
    avro_value_t f;

    assert_int_equal(avro_value_get_by_name(&w->v, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_enum(&f, x), 0);
}

/* Serialize w->v into b, after a Confluent header when id >= 0. */
static void wrec_write(struct wrec *w, int32_t id, struct recd_buf *b)
{
    size_t sz = 0;
    avro_writer_t wr;
    uint8_t hdr[5];

    assert_int_equal(avro_value_sizeof(&w->v, &sz), 0);
    if (id >= 0) {
        hdr[0] = 0;
        hdr[1] = (uint8_t)((uint32_t)id >> 24);
        hdr[2] = (uint8_t)((uint32_t)id >> 16);
        hdr[3] = (uint8_t)((uint32_t)id >> 8);
        hdr[4] = (uint8_t)id;
        assert_int_equal(recd_buf_append(b, hdr, 5), RECD_OK);
    }
    assert_int_equal(recd_buf_reserve(b, sz), RECD_OK);
    wr = avro_writer_memory((const char *)b->data + b->len, (int64_t)sz);
    assert_non_null(wr);
    assert_int_equal(avro_value_write(wr, &w->v), 0);
    avro_writer_free(wr);
    b->len += sz;
}

/* Expect a decode error whose message starts with cls. */
static void expect_decode_err(struct recd_codec *c, int kind, const void *val, size_t len,
                              struct recd_arena *arena, const char *cls)
{
    struct recd_event ev;
    char err[512] = "";
    int rc;

    memset(&ev, 0, sizeof(ev));
    rc = recd_codec_decode(c, kind, "k", 1, val, len, arena, &ev, err, sizeof(err));
    if (rc != RECD_EDECODE || strncmp(err, cls, strlen(cls)) != 0) {
        fail_msg("expected %s, got rc=%d err=\"%s\"", cls, rc, err);
    }
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void test_click_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev = make_click(), out;

    (void)state;
    roundtrip(c, &ev, -1, a, &out);
    assert_click_equal(&ev, &out);

    /* optional fields absent, empty context, the other enum values */
    ev.u.click.session_id = NULL;
    ev.u.click.query_id = NULL;
    ev.u.click.context = NULL;
    ev.u.click.n_context = 0;
    ev.u.click.type = RECD_CLICK_VIEW;
    ev.u.click.source = RECD_SRC_SEARCH;
    ev.ts_ms = -5;
    roundtrip(c, &ev, -1, a, &out);
    assert_click_equal(&ev, &out);
    assert_null(out.u.click.session_id);
    assert_null(out.u.click.context);

    /* Confluent framing with the reader schema under a known id */
    {
        struct recd_codec_schema_id ids[] = { { 17, RECD_KIND_CLICK,
                                                RECD_SOURCE_DIR "/schemas/click.avsc" } };
        struct recd_codec_conf conf = { 0 };
        struct recd_codec *c2;

        conf.format = RECD_WIRE_CONFLUENT;
        conf.ids = ids;
        conf.n_ids = 1;
        c2 = codec_with(&conf);
        ev = make_click();
        roundtrip(c2, &ev, 17, a, &out);
        assert_click_equal(&ev, &out);
        recd_codec_destroy(c2);
    }
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_purchase_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_purchase_line lines[] = { { "i1", 2, 9.99 },
                                          { "i2", 1, 0.0 },
                                          { "i3", 100, 1e9 + 0.125 } };
    struct recd_event ev, out;
    uint32_t k;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_PURCHASE;
    ev.event_id = "p-1";
    ev.user_id = "u-1";
    ev.ts_ms = 1700000000000LL;
    ev.u.purchase.order_id = "o-1";
    ev.u.purchase.lines = lines;
    ev.u.purchase.n_lines = 3;
    ev.u.purchase.currency = "SEK";
    roundtrip(c, &ev, -1, a, &out);
    assert_int_equal(out.kind, RECD_KIND_PURCHASE);
    assert_string_equal(out.event_id, "p-1");
    assert_string_equal(out.user_id, "u-1");
    assert_true(out.ts_ms == ev.ts_ms);
    assert_string_equal(out.u.purchase.order_id, "o-1");
    assert_string_equal(out.u.purchase.currency, "SEK");
    assert_int_equal(out.u.purchase.n_lines, 3);
    for (k = 0; k < 3; k++) {
        assert_string_equal(out.u.purchase.lines[k].item_id, lines[k].item_id);
        assert_int_equal(out.u.purchase.lines[k].quantity, lines[k].quantity);
        assert_memory_equal(&out.u.purchase.lines[k].unit_price, &lines[k].unit_price,
                            sizeof(double));
    }
    /* zero lines decode fine (validation rejects them) */
    ev.u.purchase.n_lines = 0;
    ev.u.purchase.lines = NULL;
    roundtrip(c, &ev, -1, a, &out);
    assert_int_equal(out.u.purchase.n_lines, 0);
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_query_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    const char *shown[] = { "a", "b", "c", "d" };
    struct recd_event ev, out;
    uint32_t k;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_QUERY;
    ev.event_id = "q-1";
    ev.user_id = "u-2";
    ev.ts_ms = 42;
    ev.u.query.text = "red shoes \xc3\xa9t\xc3\xa9";
    ev.u.query.shown = shown;
    ev.u.query.n_shown = 4;
    roundtrip(c, &ev, -1, a, &out);
    assert_string_equal(out.event_id, "q-1");
    assert_string_equal(out.user_id, "u-2");
    assert_true(out.ts_ms == 42);
    assert_string_equal(out.u.query.text, ev.u.query.text);
    assert_int_equal(out.u.query.n_shown, 4);
    for (k = 0; k < 4; k++) {
        assert_string_equal(out.u.query.shown[k], shown[k]);
    }
    ev.u.query.shown = NULL;
    ev.u.query.n_shown = 0;
    ev.u.query.text = "";
    roundtrip(c, &ev, -1, a, &out);
    assert_null(out.u.query.shown);
    assert_int_equal(out.u.query.n_shown, 0);
    assert_string_equal(out.u.query.text, "");
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_item_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    const char *cat[] = { "Shoes", "Women", "Sneakers" };
    struct recd_event ev, out;
    struct recd_buf b;
    char err[256];

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_ITEM;
    ev.event_id = "sku-1";
    ev.u.item.item_id = "sku-1";
    ev.u.item.title = "Runner 3000";
    ev.u.item.description = "A shoe.";
    ev.u.item.category = cat;
    ev.u.item.n_category = 3;
    ev.u.item.brand = "Acme";
    ev.u.item.price = 79.5;
    ev.u.item.in_stock = 1;
    ev.u.item.updated_ts = 1690000000000LL;
    roundtrip(c, &ev, -1, a, &out);
    assert_string_equal(out.u.item.item_id, "sku-1");
    assert_string_equal(out.event_id, "sku-1");
    assert_null(out.user_id);
    assert_true(out.ts_ms == ev.u.item.updated_ts);
    assert_true(out.u.item.updated_ts == ev.u.item.updated_ts);
    assert_string_equal(out.u.item.title, "Runner 3000");
    assert_string_equal(out.u.item.description, "A shoe.");
    assert_int_equal(out.u.item.n_category, 3);
    assert_string_equal(out.u.item.category[0], "Shoes");
    assert_string_equal(out.u.item.category[2], "Sneakers");
    assert_string_equal(out.u.item.brand, "Acme");
    assert_true(out.u.item.price == 79.5);
    assert_int_equal(out.u.item.in_stock, 1);
    assert_int_equal(out.u.item.removed, 0);

    ev.u.item.brand = NULL;
    ev.u.item.in_stock = 0;
    ev.u.item.category = NULL;
    ev.u.item.n_category = 0;
    roundtrip(c, &ev, -1, a, &out);
    assert_null(out.u.item.brand);
    assert_int_equal(out.u.item.in_stock, 0);
    assert_int_equal(out.u.item.n_category, 0);

    /* removal: encodes to nothing; a NULL value decodes to a removal keyed by the Kafka key */
    ev.u.item.removed = 1;
    recd_buf_init(&b);
    assert_int_equal(recd_codec_encode_event(c, &ev, -1, &b, err, sizeof(err)), RECD_OK);
    assert_int_equal(b.len, 0);
    recd_buf_free(&b);
    assert_int_equal(
        recd_codec_decode(c, RECD_KIND_ITEM, "sku-9", 5, NULL, 0, a, &out, err, sizeof(err)),
        RECD_OK);
    assert_int_equal(out.u.item.removed, 1);
    assert_string_equal(out.u.item.item_id, "sku-9");
    assert_string_equal(out.event_id, "sku-9");
    assert_null(out.user_id);
    assert_int_equal(
        recd_codec_decode(c, RECD_KIND_ITEM, NULL, 0, NULL, 0, a, &out, err, sizeof(err)),
        RECD_EDECODE);
    assert_true(strncmp(err, "framing", 7) == 0);
    /* a NULL value of any other kind is a framing error */
    assert_int_equal(
        recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, NULL, 0, a, &out, err, sizeof(err)),
        RECD_EDECODE);
    assert_true(strncmp(err, "framing", 7) == 0);
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_deletion_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev, out;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_DELETION;
    ev.user_id = "user-13";
    ev.u.deletion.requested_ts = 1710000000000LL;
    ev.u.deletion.reason = "gdpr";
    roundtrip(c, &ev, -1, a, &out);
    assert_string_equal(out.user_id, "user-13");
    assert_true(out.u.deletion.requested_ts == 1710000000000LL);
    assert_true(out.ts_ms == 1710000000000LL);
    assert_string_equal(out.u.deletion.reason, "gdpr");
    assert_string_equal(out.event_id, "del:user-13:1710000000000");
    ev.u.deletion.reason = NULL;
    roundtrip(c, &ev, -1, a, &out);
    assert_null(out.u.deletion.reason);
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_recs_roundtrip(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_rec_item items[] = {
        { "i1", 0.875f, "co_visited", "i0" },
        { "i2", -1.5e-7f, "popular", NULL },
        { "i3", 3.4e38f, "similar_text", "i9" },
    };
    struct recd_recs r, out;
    struct recd_buf b;
    char err[256];
    uint32_t k;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.user_id = "u-5";
    r.seq = 9007199254740993LL;
    r.model_version = "pop-1+cov-2";
    r.generated_ts = 1720000000000LL;
    r.trigger_event_id = "ev-77";
    r.items = items;
    r.n_items = 3;
    recd_buf_init(&b);
    assert_int_equal(recd_codec_encode_recs(c, &r, -1, &b, err, sizeof(err)), RECD_OK);
    assert_int_equal(recd_codec_decode_recs(c, b.data, b.len, a, &out, err, sizeof(err)), RECD_OK);
    assert_string_equal(out.user_id, "u-5");
    assert_true(out.seq == r.seq);
    assert_string_equal(out.model_version, r.model_version);
    assert_true(out.generated_ts == r.generated_ts);
    assert_string_equal(out.trigger_event_id, "ev-77");
    assert_int_equal(out.n_items, 3);
    for (k = 0; k < 3; k++) {
        assert_string_equal(out.items[k].item_id, items[k].item_id);
        assert_memory_equal(&out.items[k].score, &items[k].score, sizeof(float));
        assert_string_equal(out.items[k].reason, items[k].reason);
        assert_str_eq_or_null(out.items[k].because_item_id, items[k].because_item_id);
    }
    /* encode/decode/encode gives the same bytes */
    {
        struct recd_buf b2;

        recd_buf_init(&b2);
        assert_int_equal(recd_codec_encode_recs(c, &out, -1, &b2, err, sizeof(err)), RECD_OK);
        assert_int_equal(b2.len, b.len);
        assert_memory_equal(b2.data, b.data, b.len);
        recd_buf_free(&b2);
    }
    /* output.confluent_id: 0x00, the id big-endian, then the same body; decoded back */
    {
        struct recd_buf bc;
        static const uint8_t hdr[5] = { 0x00, 0x01, 0x02, 0x03, 0x04 };

        recd_buf_init(&bc);
        assert_int_equal(recd_codec_encode_recs(c, &r, 0x01020304, &bc, err, sizeof(err)),
                         RECD_OK);
        assert_int_equal(bc.len, b.len + 5);
        assert_memory_equal(bc.data, hdr, 5);
        assert_memory_equal(bc.data + 5, b.data, b.len);
        assert_int_equal(recd_codec_decode_recs(c, bc.data, bc.len, a, &out, err, sizeof(err)),
                         RECD_OK);
        assert_string_equal(out.user_id, "u-5");
        assert_true(out.seq == r.seq);
        assert_int_equal(out.n_items, 3);
        assert_string_equal(out.items[2].item_id, items[2].item_id);
        /* a header alone, or a cut one, is a framing error */
        assert_int_equal(recd_codec_decode_recs(c, bc.data, 3, a, &out, err, sizeof(err)),
                         RECD_EDECODE);
        assert_non_null(strstr(err, "framing"));
        assert_int_equal(recd_codec_decode_recs(c, bc.data, 5, a, &out, err, sizeof(err)),
                         RECD_EDECODE);
        /* an empty user_id (plain: first byte 0x00, the magic byte) is refused in both */
        {
            struct recd_recs e = r;

            e.user_id = "";
            bc.len = 0;
            assert_int_equal(recd_codec_encode_recs(c, &e, -1, &bc, err, sizeof(err)), RECD_OK);
            assert_int_equal(bc.data[0], 0);
            assert_int_equal(recd_codec_decode_recs(c, bc.data, bc.len, a, &out, err, sizeof(err)),
                             RECD_EDECODE);
            bc.len = 0;
            assert_int_equal(recd_codec_encode_recs(c, &e, 3, &bc, err, sizeof(err)), RECD_OK);
            assert_int_equal(recd_codec_decode_recs(c, bc.data, bc.len, a, &out, err, sizeof(err)),
                             RECD_EDECODE);
            assert_string_equal(err, "avro: empty user_id");
        }
        recd_buf_free(&bc);
    }
    /* the encoder lends the caller's strings to avro-c (no copies): nothing of them may be
     * used after the call. Encode from heap copies, free them, encode another list (under
     * ASan a later use of the freed strings fails) and get the same bytes as before. */
    {
        struct recd_rec_item hi[3];
        struct recd_recs h = r;
        struct recd_buf b3;
        char *s[7];

        s[0] = strdup(r.user_id);
        s[1] = strdup(r.model_version);
        s[2] = strdup(r.trigger_event_id);
        for (k = 0; k < 3; k++) {
            hi[k] = items[k];
            hi[k].item_id = s[3 + k] = strdup(items[k].item_id);
        }
        s[6] = strdup("x");
        h.user_id = s[0];
        h.model_version = s[1];
        h.trigger_event_id = s[2];
        h.items = hi;
        recd_buf_init(&b3);
        assert_int_equal(recd_codec_encode_recs(c, &h, -1, &b3, err, sizeof(err)), RECD_OK);
        for (k = 0; k < 7; k++) {
            memset(s[k], '#', strlen(s[k]));
            free(s[k]);
        }
        assert_int_equal(b3.len, b.len);
        assert_memory_equal(b3.data, b.data, b.len);
        b3.len = 0;
        assert_int_equal(recd_codec_encode_recs(c, &r, -1, &b3, err, sizeof(err)), RECD_OK);
        assert_memory_equal(b3.data, b.data, b.len);
        recd_buf_free(&b3);
    }
    /* empty list, no trigger */
    r.trigger_event_id = NULL;
    r.items = NULL;
    r.n_items = 0;
    b.len = 0;
    assert_int_equal(recd_codec_encode_recs(c, &r, -1, &b, err, sizeof(err)), RECD_OK);
    assert_int_equal(recd_codec_decode_recs(c, b.data, b.len, a, &out, err, sizeof(err)), RECD_OK);
    assert_null(out.trigger_event_id);
    assert_int_equal(out.n_items, 0);
    /* tombstone and trailing garbage */
    assert_int_equal(recd_codec_decode_recs(c, NULL, 0, a, &out, err, sizeof(err)), RECD_EDECODE);
    assert_int_equal(recd_buf_append(&b, "x", 1), RECD_OK);
    assert_int_equal(recd_codec_decode_recs(c, b.data, b.len, a, &out, err, sizeof(err)),
                     RECD_EDECODE);
    assert_non_null(strstr(err, "avro: trailing bytes"));
    recd_buf_free(&b);
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

static void test_encode_rejects_missing_fields(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_event ev = make_click();
    struct recd_buf b;
    char err[256];

    (void)state;
    recd_buf_init(&b);
    ev.event_id = NULL;
    assert_int_equal(recd_codec_encode_event(c, &ev, -1, &b, err, sizeof(err)), RECD_EINVAL);
    assert_non_null(strstr(err, "event_id"));
    ev = make_click();
    ev.u.click.type = 7;
    assert_int_equal(recd_codec_encode_event(c, &ev, -1, &b, err, sizeof(err)), RECD_EINVAL);
    assert_non_null(strstr(err, "kind"));
    assert_int_equal(b.len, 0);
    recd_buf_free(&b);
    recd_codec_destroy(c);
}

/* ---- schema evolution ------------------------------------------------------------------------ */

/* Click v2 (adds optional "referrer"), written by avro-c with that schema under id 101. */
static void test_confluent_evolved_writer(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 100, RECD_KIND_CLICK, RECD_SOURCE_DIR "/schemas/click.avsc" },
        { 101, RECD_KIND_CLICK, SCHEMA("click_v2.avsc") },
        { 200, RECD_KIND_ITEM, SCHEMA("item_v0.avsc") },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event out;
    struct recd_buf b;
    struct wrec w;
    avro_value_t f, e;
    char err[256];
    int fmt;

    (void)state;
    conf.ids = ids;
    conf.n_ids = 3;
    for (fmt = RECD_WIRE_AUTO; fmt <= RECD_WIRE_CONFLUENT; fmt += 2) {
        conf.format = fmt;
        c = codec_with(&conf);
        recd_buf_init(&b);
        wrec_open(&w, SCHEMA("click_v2.avsc"));
        wset_str(&w, "event_id", "e-v2");
        wset_str(&w, "user_id", "u-v2");
        wset_str(&w, "item_id", "i-v2");
        wset_long(&w, "ts", 1700000000999LL);
        wset_opt_str(&w, "referrer", "https://example.com/a/very/long/referrer?x=1");
        wset_enum(&w, "kind", RECD_CLICK_CART);
        wset_opt_str(&w, "session_id", "s-v2");
        wset_enum(&w, "source", RECD_SRC_SEARCH);
        wset_opt_str(&w, "query_id", NULL);
        assert_int_equal(avro_value_get_by_name(&w.v, "context", &f, NULL), 0);
        assert_int_equal(avro_value_add(&f, "device", &e, NULL, NULL), 0);
        assert_int_equal(avro_value_set_string(&e, "android"), 0);
        wrec_write(&w, 101, &b);
        wrec_close(&w);

        memset(&out, 0, sizeof(out));
        assert_int_equal(recd_codec_decode(c, RECD_KIND_CLICK, "u-v2", 4, b.data, b.len, a, &out,
                                           err, sizeof(err)),
                         RECD_OK);
        assert_string_equal(out.event_id, "e-v2");
        assert_string_equal(out.user_id, "u-v2");
        assert_string_equal(out.u.click.item_id, "i-v2");
        assert_true(out.ts_ms == 1700000000999LL);
        assert_int_equal(out.u.click.type, RECD_CLICK_CART);
        assert_int_equal(out.u.click.source, RECD_SRC_SEARCH);
        assert_string_equal(out.u.click.session_id, "s-v2");
        assert_null(out.u.click.query_id);
        assert_int_equal(out.u.click.n_context, 1);
        assert_string_equal(out.u.click.context[0].key, "device");
        assert_string_equal(out.u.click.context[0].value, "android");

        /* the same v2 body under the reader-schema id does not parse as a reader Click */
        b.data[4] = 100;
        memset(&out, 0, sizeof(out));
        assert_int_not_equal(
            recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out, err, sizeof(err)),
            RECD_OK);
        /* an id of another kind */
        b.data[4] = 200;
        expect_decode_err(c, RECD_KIND_CLICK, b.data, b.len, a, "unknown_schema_id");
        recd_buf_free(&b);
        recd_codec_destroy(c);
    }
    recd_arena_destroy(a);
}

/* An old Click without kind/source/context and with an int ts: reader defaults apply. */
static void test_older_writer_defaults(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 7, RECD_KIND_CLICK, SCHEMA("click_v0.avsc") },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event out;
    struct recd_buf b;
    struct wrec w;
    char err[256];
    int i;

    (void)state;
    conf.format = RECD_WIRE_CONFLUENT;
    conf.ids = ids;
    conf.n_ids = 1;
    c = codec_with(&conf);
    for (i = 0; i < 3; i++) { /* repeat: defaults must survive value reuse */
        recd_buf_init(&b);
        wrec_open(&w, SCHEMA("click_v0.avsc"));
        wset_str(&w, "event_id", "e-old");
        wset_str(&w, "user_id", "u-old");
        wset_str(&w, "item_id", "i-old");
        wset_long(&w, "ts", 1234567890 + i);
        wset_opt_str(&w, "session_id", i == 1 ? NULL : "s-old");
        wset_opt_str(&w, "query_id", "q-old");
        wrec_write(&w, 7, &b);
        wrec_close(&w);
        memset(&out, 0, sizeof(out));
        assert_int_equal(
            recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out, err, sizeof(err)),
            RECD_OK);
        assert_string_equal(out.event_id, "e-old");
        assert_string_equal(out.user_id, "u-old");
        assert_string_equal(out.u.click.item_id, "i-old");
        assert_true(out.ts_ms == 1234567890 + i);
        assert_int_equal(out.u.click.type, RECD_CLICK_VIEW); /* default */
        assert_int_equal(out.u.click.source, RECD_SRC_BROWSE); /* default */
        assert_int_equal(out.u.click.n_context, 0); /* default {} */
        assert_str_eq_or_null(out.u.click.session_id, i == 1 ? NULL : "s-old");
        assert_string_equal(out.u.click.query_id, "q-old");
        recd_buf_free(&b);
    }
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Regression: avro-c's resolved map writer never clears its child cache, so decoding through a
 * long-lived resolver got slower with every record carrying a map (quadratic). The cost of
 * the last chunk of decodes must stay close to the first's. */
static void test_resolver_map_reuse(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 101, RECD_KIND_CLICK, SCHEMA("click_v2.avsc") },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event out;
    struct recd_buf b;
    struct wrec w;
    avro_value_t f, e;
    char err[256];
    double t0 = 0.0, first = 0.0, last = 0.0;
    int i, chunk = 3000, chunks = 8;

    (void)state;
    conf.format = RECD_WIRE_CONFLUENT;
    conf.ids = ids;
    conf.n_ids = 1;
    c = codec_with(&conf);
    recd_buf_init(&b);
    wrec_open(&w, SCHEMA("click_v2.avsc"));
    wset_str(&w, "event_id", "e");
    wset_str(&w, "user_id", "u");
    wset_str(&w, "item_id", "i");
    wset_long(&w, "ts", 5);
    wset_opt_str(&w, "referrer", NULL);
    wset_opt_str(&w, "session_id", NULL);
    wset_opt_str(&w, "query_id", NULL);
    assert_int_equal(avro_value_get_by_name(&w.v, "context", &f, NULL), 0);
    assert_int_equal(avro_value_add(&f, "a", &e, NULL, NULL), 0);
    assert_int_equal(avro_value_set_string(&e, "1"), 0);
    assert_int_equal(avro_value_add(&f, "b", &e, NULL, NULL), 0);
    assert_int_equal(avro_value_set_string(&e, "2"), 0);
    assert_int_equal(avro_value_add(&f, "c", &e, NULL, NULL), 0);
    assert_int_equal(avro_value_set_string(&e, "3"), 0);
    wrec_write(&w, 101, &b);
    wrec_close(&w);
    for (i = 0; i < chunk * chunks; i++) {
        if (i % chunk == 0) {
            t0 = cpu_seconds();
        }
        assert_int_equal(
            recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out, err, sizeof(err)),
            RECD_OK);
        assert_int_equal(out.u.click.n_context, 3);
        if (i % chunk == chunk - 1) {
            if (i < chunk) {
                first = cpu_seconds() - t0;
            } else {
                last = cpu_seconds() - t0;
            }
            recd_arena_reset(a);
        }
    }
    print_message("first chunk %.4fs, last chunk %.4fs\n", first, last);
    assert_true(last < first * 3.0 + 0.005);
    recd_buf_free(&b);
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

/* Writer enums with other symbol orders and symbols the reader does not know. */
static void test_enum_evolution(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 3, RECD_KIND_CLICK, SCHEMA("click_enum_v3.avsc") },
    };
    /* writer kind: CART, WISHLIST, VIEW; writer source: EMAIL, RECS, SEARCH, BROWSE */
    static const int want_kind[] = { RECD_CLICK_CART, RECD_CLICK_VIEW, RECD_CLICK_VIEW };
    static const int want_src[] = { RECD_SRC_BROWSE, RECD_SRC_RECS, RECD_SRC_SEARCH,
                                    RECD_SRC_BROWSE };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event out;
    struct recd_buf b;
    struct wrec w;
    char err[256];
    int k, s;

    (void)state;
    conf.format = RECD_WIRE_CONFLUENT;
    conf.ids = ids;
    conf.n_ids = 1;
    c = codec_with(&conf);
    for (k = 0; k < 3; k++) {
        for (s = 0; s < 4; s++) {
            recd_buf_init(&b);
            wrec_open(&w, SCHEMA("click_enum_v3.avsc"));
            wset_str(&w, "event_id", "e");
            wset_str(&w, "user_id", "u");
            wset_str(&w, "item_id", "i");
            wset_long(&w, "ts", 1);
            wset_enum(&w, "kind", k);
            wset_opt_str(&w, "session_id", NULL);
            wset_enum(&w, "source", s);
            wset_opt_str(&w, "query_id", NULL);
            wrec_write(&w, 3, &b);
            wrec_close(&w);
            assert_int_equal(recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out,
                                               err, sizeof(err)),
                             RECD_OK);
            assert_int_equal(out.u.click.type, want_kind[k]);
            assert_int_equal(out.u.click.source, want_src[s]);
            recd_buf_free(&b);
        }
    }
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

/* A plain-format topic whose producer writes an older Item schema (configured per topic). */
static void test_plain_writer_per_topic(void **state)
{
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event out, ck = make_click(), ck_out;
    struct recd_buf b;
    struct wrec w;
    avro_value_t f, e;
    char err[256];

    (void)state;
    conf.format = RECD_WIRE_PLAIN;
    conf.writer_schema[RECD_KIND_ITEM] = SCHEMA("item_v0.avsc");
    c = codec_with(&conf);
    recd_buf_init(&b);
    wrec_open(&w, SCHEMA("item_v0.avsc"));
    wset_str(&w, "item_id", "sku-old");
    wset_long(&w, "legacy_sku", -77);
    wset_str(&w, "title", "Old thing");
    assert_int_equal(avro_value_get_by_name(&w.v, "category", &f, NULL), 0);
    assert_int_equal(avro_value_append(&f, &e, NULL), 0);
    assert_int_equal(avro_value_set_string(&e, "Attic"), 0);
    assert_int_equal(avro_value_get_by_name(&w.v, "price", &f, NULL), 0);
    assert_int_equal(avro_value_set_double(&f, 12.25), 0);
    wset_long(&w, "updated_ts", 1600000000000LL);
    wrec_write(&w, -1, &b);
    wrec_close(&w);
    assert_int_equal(recd_codec_decode(c, RECD_KIND_ITEM, "sku-old", 7, b.data, b.len, a, &out, err,
                                       sizeof(err)),
                     RECD_OK);
    assert_string_equal(out.u.item.item_id, "sku-old");
    assert_string_equal(out.u.item.title, "Old thing");
    assert_string_equal(out.u.item.description, ""); /* default */
    assert_null(out.u.item.brand); /* default */
    assert_int_equal(out.u.item.in_stock, 1); /* default true */
    assert_int_equal(out.u.item.n_category, 1);
    assert_string_equal(out.u.item.category[0], "Attic");
    assert_true(out.u.item.price == 12.25);
    assert_true(out.ts_ms == 1600000000000LL);
    /* other topics keep the reader schema */
    roundtrip(c, &ck, -1, a, &ck_out);
    assert_click_equal(&ck, &ck_out);
    /* a reader-schema Item on this topic is garbage for the old writer schema */
    {
        struct recd_event it;
        struct recd_buf b2;

        memset(&it, 0, sizeof(it));
        it.kind = RECD_KIND_ITEM;
        it.u.item.item_id = "x";
        it.u.item.title = "t";
        recd_buf_init(&b2);
        assert_int_equal(recd_codec_encode_event(c, &it, -1, &b2, err, sizeof(err)), RECD_OK);
        expect_decode_err(c, RECD_KIND_ITEM, b2.data, b2.len, a, "avro");
        recd_buf_free(&b2);
    }
    recd_buf_free(&b);
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

static void test_codec_new_errors(void **state)
{
    static const struct {
        const char *path;
        const char *needle;
    } bad[] = {
        { SCHEMA("does_not_exist.avsc"), "does_not_exist.avsc" },
        { SCHEMA("not_json.avsc"), "not_json.avsc" },
        { SCHEMA("click_no_item.avsc"), "item_id" },
        { SCHEMA("click_bad_type.avsc"), "click_bad_type.avsc" },
        { SCHEMA("item_v0.avsc"), "item_v0.avsc" }, /* an Item schema for clicks */
    };
    struct recd_codec_conf conf;
    struct recd_codec_schema_id ids[2];
    struct recd_codec *c;
    char err[512];
    size_t i;

    (void)state;
    for (i = 0; i < RECD_ARRAY_SIZE(bad); i++) {
        memset(&conf, 0, sizeof(conf));
        conf.writer_schema[RECD_KIND_CLICK] = bad[i].path;
        c = (struct recd_codec *)1;
        err[0] = '\0';
        assert_int_equal(recd_codec_new(&conf, &c, err, sizeof(err)), RECD_ECONFIG);
        assert_null(c);
        if (strstr(err, bad[i].needle) == NULL) {
            fail_msg("errstr \"%s\" does not name %s", err, bad[i].needle);
        }
        /* the same through the id map */
        memset(&conf, 0, sizeof(conf));
        ids[0].id = 1;
        ids[0].kind = RECD_KIND_CLICK;
        ids[0].path = bad[i].path;
        conf.ids = ids;
        conf.n_ids = 1;
        assert_int_equal(recd_codec_new(&conf, &c, err, sizeof(err)), RECD_ECONFIG);
        assert_non_null(strstr(err, bad[i].needle));
    }
    /* duplicate ids */
    memset(&conf, 0, sizeof(conf));
    ids[0].id = 5;
    ids[0].kind = RECD_KIND_CLICK;
    ids[0].path = SCHEMA("click_v2.avsc");
    ids[1] = ids[0];
    conf.ids = ids;
    conf.n_ids = 2;
    assert_int_equal(recd_codec_new(&conf, &c, err, sizeof(err)), RECD_ECONFIG);
    assert_non_null(strstr(err, "5"));
    /* reader schema JSON is available */
    assert_non_null(strstr(recd_codec_reader_schema_json(RECD_KIND_CLICK), "\"Click\""));
    assert_non_null(strstr(recd_codec_reader_schema_json(RECD_KIND_RECS), "Recommendations"));
    assert_null(recd_codec_reader_schema_json(RECD_KIND__N));
}

/* ---- framing and hostile input --------------------------------------------------------------- */

static void test_framing_errors(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 100, RECD_KIND_CLICK, RECD_SOURCE_DIR "/schemas/click.avsc" },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c, *cauto;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev = make_click(), out;
    struct recd_buf b;
    char err[256];

    (void)state;
    conf.format = RECD_WIRE_CONFLUENT;
    conf.ids = ids;
    conf.n_ids = 1;
    c = codec_with(&conf);
    conf.format = RECD_WIRE_AUTO;
    cauto = codec_with(&conf);
    recd_buf_init(&b);
    assert_int_equal(recd_codec_encode_event(c, &ev, 100, &b, err, sizeof(err)), RECD_OK);
    /* ok */
    assert_int_equal(
        recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out, err, sizeof(err)),
        RECD_OK);
    /* unknown id (CONFLUENT and AUTO) */
    b.data[1] = 0x7f;
    expect_decode_err(c, RECD_KIND_CLICK, b.data, b.len, a, "unknown_schema_id");
    expect_decode_err(cauto, RECD_KIND_CLICK, b.data, b.len, a, "unknown_schema_id");
    b.data[1] = 0;
    /* bad magic; short */
    b.data[0] = 1;
    expect_decode_err(c, RECD_KIND_CLICK, b.data, b.len, a, "framing");
    b.data[0] = 0;
    expect_decode_err(c, RECD_KIND_CLICK, b.data, 4, a, "framing");
    /* AUTO takes plain records too */
    b.len = 0;
    assert_int_equal(recd_codec_encode_event(c, &ev, -1, &b, err, sizeof(err)), RECD_OK);
    assert_int_equal(
        recd_codec_decode(cauto, RECD_KIND_CLICK, "u", 1, b.data, b.len, a, &out, err, sizeof(err)),
        RECD_OK);
    assert_click_equal(&ev, &out);
    /* trailing bytes */
    assert_int_equal(recd_buf_append(&b, "\x02", 1), RECD_OK);
    expect_decode_err(cauto, RECD_KIND_CLICK, b.data, b.len, a, "avro: trailing bytes");
    /* too large */
    {
        size_t big = 4u * 1024u * 1024u + 1u;
        uint8_t *p = calloc(1, big);

        assert_non_null(p);
        expect_decode_err(cauto, RECD_KIND_CLICK, p, big, a, "too_large");
        free(p);
    }
    recd_buf_free(&b);
    recd_codec_destroy(c);
    recd_codec_destroy(cauto);
    recd_arena_destroy(a);
}

static size_t put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;

    while (z & ~(uint64_t)0x7f) {
        p[n++] = (uint8_t)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    p[n++] = (uint8_t)z;
    return n;
}

/* Declared lengths and counts far beyond the input must fail cleanly, without allocating. */
static void test_huge_lengths(void **state)
{
    static const int64_t lens[] = { 5, 1000, 100000000LL, 1LL << 40, INT64_MAX, -1, -3, INT64_MIN };
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    uint8_t buf[64];
    size_t n, i;

    (void)state;
    for (i = 0; i < RECD_ARRAY_SIZE(lens); i++) {
        /* first string (event_id) */
        n = put_varint(buf, lens[i]);
        memcpy(buf + n, "abcd", 4);
        expect_decode_err(c, RECD_KIND_CLICK, buf, n + 4, a, "avro");
        /* a Purchase whose lines array declares a huge count */
        n = 0;
        buf[n++] = 2;
        buf[n++] = 'e';
        buf[n++] = 2;
        buf[n++] = 'u';
        buf[n++] = 2;
        buf[n++] = 'o';
        buf[n++] = 2; /* ts = 1 */
        n += put_varint(buf + n, lens[i]); /* block count */
        n += put_varint(buf + n, 8); /* (block size when negative) */
        buf[n++] = 2;
        buf[n++] = 'i';
        buf[n++] = 2;
        memset(buf + n, 0, 8);
        n += 8;
        buf[n++] = 0;
        buf[n++] = 0;
        {
            struct recd_event ev;
            char err[256];
            int rc = recd_codec_decode(c, RECD_KIND_PURCHASE, "u", 1, buf, n, a, &ev, err,
                                       sizeof(err));

            /* one line follows: only a count of -1 (one item, then the block's byte size) is
             * a valid encoding of it; every other count runs past the input */
            if (lens[i] == -1) {
                assert_int_equal(rc, RECD_OK);
                assert_int_equal(ev.u.purchase.n_lines, 1);
            } else {
                assert_int_equal(rc, RECD_EDECODE);
            }
        }
        /* a map (context) with a huge entry count */
        n = 0;
        buf[n++] = 2;
        buf[n++] = 'e';
        buf[n++] = 2;
        buf[n++] = 'u';
        buf[n++] = 2;
        buf[n++] = 'i';
        buf[n++] = 2;
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 0;
        n += put_varint(buf + n, lens[i]);
        buf[n++] = 2;
        buf[n++] = 'k';
        buf[n++] = 2;
        buf[n++] = 'v';
        buf[n++] = 0;
        {
            struct recd_event ev;
            char err[256];
            int rc = recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, buf, n, a, &ev, err,
                                       sizeof(err));

            assert_true(rc == RECD_EDECODE || (rc == RECD_OK && lens[i] == 1));
        }
    }
    /* enum index and union branch out of range */
    n = 0;
    buf[n++] = 2;
    buf[n++] = 'e';
    buf[n++] = 2;
    buf[n++] = 'u';
    buf[n++] = 2;
    buf[n++] = 'i';
    buf[n++] = 2;
    buf[n++] = 8; /* kind = 4 */
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    expect_decode_err(c, RECD_KIND_CLICK, buf, n, a, "avro: enum index");
    buf[7] = 0;
    buf[8] = 6; /* session_id branch 3 */
    expect_decode_err(c, RECD_KIND_CLICK, buf, n, a, "avro: union branch");
    buf[8] = 0;
    assert_int_equal(recd_codec_decode(c, RECD_KIND_CLICK, "u", 1, buf, n, a,
                                       &(struct recd_event){ 0 }, NULL, 0),
                     RECD_OK);
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

/* Every prefix of a valid record of every kind fails cleanly. */
static void test_truncated_records(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 101, RECD_KIND_CLICK, SCHEMA("click_v2.avsc") },
        { 102, RECD_KIND_ITEM, SCHEMA("item_v0.avsc") },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_purchase_line lines[] = { { "i1", 2, 9.99 }, { "i2", 1, 5.0 } };
    const char *shown[] = { "a", "bb" };
    const char *cat[] = { "x", "y" };
    struct recd_event evs[5], out;
    struct recd_rec_item ritems[] = { { "i1", 1.0f, "popular", "i0" } };
    struct recd_recs r = { "u", 1, "m", 2, "t", ritems, 1 };
    struct recd_recs rout;
    struct recd_buf b;
    char err[256];
    size_t k, cut;
    int id;

    (void)state;
    conf.ids = ids;
    conf.n_ids = 2;
    c = codec_with(&conf);
    memset(evs, 0, sizeof(evs));
    evs[0] = make_click();
    evs[1].kind = RECD_KIND_PURCHASE;
    evs[1].event_id = "p";
    evs[1].user_id = "u";
    evs[1].u.purchase.order_id = "o";
    evs[1].u.purchase.lines = lines;
    evs[1].u.purchase.n_lines = 2;
    evs[1].u.purchase.currency = "EUR";
    evs[2].kind = RECD_KIND_QUERY;
    evs[2].event_id = "q";
    evs[2].user_id = "u";
    evs[2].u.query.text = "text";
    evs[2].u.query.shown = shown;
    evs[2].u.query.n_shown = 2;
    evs[3].kind = RECD_KIND_ITEM;
    evs[3].u.item.item_id = "it";
    evs[3].u.item.title = "title";
    evs[3].u.item.description = "d";
    evs[3].u.item.category = cat;
    evs[3].u.item.n_category = 2;
    evs[3].u.item.brand = "b";
    evs[4].kind = RECD_KIND_DELETION;
    evs[4].user_id = "u";
    evs[4].u.deletion.reason = "r";
    for (k = 0; k < 5; k++) {
        for (id = -1; id <= 0; id++) {
            recd_buf_init(&b);
            assert_int_equal(
                recd_codec_encode_event(c, &evs[k], id < 0 ? -1 : 999, &b, err, sizeof(err)),
                RECD_OK);
            if (id == 0) {
                /* re-frame under a known id of the same kind when there is one */
                if (evs[k].kind != RECD_KIND_CLICK) {
                    recd_buf_free(&b);
                    continue;
                }
                b.len = 0;
                {
                    struct wrec w;
                    avro_value_t f, e;

                    wrec_open(&w, SCHEMA("click_v2.avsc"));
                    wset_str(&w, "event_id", "e");
                    wset_str(&w, "user_id", "u");
                    wset_str(&w, "item_id", "i");
                    wset_long(&w, "ts", 5);
                    wset_opt_str(&w, "referrer", "r");
                    wset_opt_str(&w, "session_id", "s");
                    wset_opt_str(&w, "query_id", NULL);
                    assert_int_equal(avro_value_get_by_name(&w.v, "context", &f, NULL), 0);
                    assert_int_equal(avro_value_add(&f, "a", &e, NULL, NULL), 0);
                    assert_int_equal(avro_value_set_string(&e, "b"), 0);
                    wrec_write(&w, 101, &b);
                    wrec_close(&w);
                }
            }
            assert_int_equal(
                recd_codec_decode(c, evs[k].kind, "k", 1, b.data, b.len, a, &out, err, sizeof(err)),
                RECD_OK);
            for (cut = 1; cut < b.len; cut++) {
                int rc = recd_codec_decode(c, evs[k].kind, "k", 1, b.data, cut, a, &out, err,
                                           sizeof(err));

                if (rc != RECD_EDECODE) {
                    fail_msg("kind %zu prefix %zu/%zu: rc=%d", k, cut, b.len, rc);
                }
            }
            recd_buf_free(&b);
        }
    }
    recd_buf_init(&b);
    assert_int_equal(recd_codec_encode_recs(c, &r, -1, &b, err, sizeof(err)), RECD_OK);
    for (cut = 1; cut < b.len; cut++) {
        assert_int_equal(recd_codec_decode_recs(c, b.data, cut, a, &rout, err, sizeof(err)),
                         RECD_EDECODE);
    }
    recd_buf_free(&b);
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

/* Random buffers and random mutations of valid records: errors or events, never a crash. */
static void test_random_bytes(void **state)
{
    struct recd_codec_schema_id ids[] = {
        { 1, RECD_KIND_CLICK, SCHEMA("click_v2.avsc") },
        { 2, RECD_KIND_CLICK, SCHEMA("click_v0.avsc") },
        { 3, RECD_KIND_ITEM, SCHEMA("item_v0.avsc") },
        { 4, RECD_KIND_CLICK, SCHEMA("click_enum_v3.avsc") },
    };
    struct recd_codec_conf conf = { 0 };
    struct recd_codec *c;
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev = make_click(), out;
    struct recd_recs rout;
    struct recd_buf valid;
    uint8_t buf[512];
    char err[256];
    int iter, kind, ok = 0;
    size_t n, i;

    (void)state;
    conf.ids = ids;
    conf.n_ids = 4;
    c = codec_with(&conf);
    rng_state = 0x9e3779b97f4a7c15ULL;
    recd_buf_init(&valid);
    assert_int_equal(recd_codec_encode_event(c, &ev, -1, &valid, err, sizeof(err)), RECD_OK);
    for (iter = 0; iter < 6000; iter++) {
        n = (size_t)(rng() % sizeof(buf));
        for (i = 0; i < n; i++) {
            buf[i] = (uint8_t)rng();
        }
        if (iter % 3 == 1 && n >= 5) {
            buf[0] = 0; /* Confluent-looking, known ids */
            buf[1] = buf[2] = buf[3] = 0;
            buf[4] = (uint8_t)(1 + rng() % 4);
        } else if (iter % 3 == 2) {
            /* mutate a valid record: a few random byte changes */
            n = valid.len;
            memcpy(buf, valid.data, n);
            for (i = 0; i < 1 + rng() % 4; i++) {
                buf[rng() % n] = (uint8_t)rng();
            }
        }
        for (kind = 0; kind < RECD_KIND__NINPUT; kind++) {
            if (recd_codec_decode(c, kind, buf, n, buf, n, a, &out, err, sizeof(err)) == RECD_OK) {
                ok++;
            }
        }
        (void)recd_codec_decode_recs(c, buf, n, a, &rout, err, sizeof(err));
        if (iter % 256 == 0) {
            recd_arena_reset(a);
        }
    }
    print_message("random/mutated inputs that decoded: %d of %d\n", ok, 6000 * RECD_KIND__NINPUT);
    recd_buf_free(&valid);
    recd_codec_destroy(c);
    recd_arena_destroy(a);
}

/* ---- validation ------------------------------------------------------------------------------ */

static const struct recd_validate_conf vconf = {
    .min_ts_ms = 946684800000LL, /* 2000-01-01 */
    .max_ts_ms = 4102444800000LL, /* 2100-01-01 */
    .max_id_bytes = 16,
    .max_text_bytes = 32,
    .max_price = 1e6,
    .max_lines = 4,
    .max_quantity = 100,
};

static void expect_valid_err(struct recd_event *ev, const char *cls)
{
    char err[256] = "";
    int rc = recd_validate_event(&vconf, ev, err, sizeof(err));

    if (rc != RECD_EVALID || strncmp(err, cls, strlen(cls)) != 0 || err[strlen(cls)] != ':') {
        fail_msg("expected %s, got rc=%d err=\"%s\"", cls, rc, err);
    }
}

static void expect_valid_ok(struct recd_event *ev)
{
    char err[256] = "";
    int rc = recd_validate_event(&vconf, ev, err, sizeof(err));

    if (rc != RECD_OK) {
        fail_msg("expected ok, got rc=%d err=\"%s\"", rc, err);
    }
}

/* An event of kind with the given ids and time, everything else zero. */
static struct recd_event base_event(int kind, const char *event_id, const char *user_id,
                                    int64_t ts_ms)
{
    struct recd_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.event_id = event_id;
    ev.user_id = user_id;
    ev.ts_ms = ts_ms;
    return ev;
}

/* Clicks: user, item, event and session ids, timestamps. */
static void validate_click_classes(void)
{
    struct recd_event ev;

    ev = make_click();
    expect_valid_ok(&ev);
    ev.user_id = "";
    expect_valid_err(&ev, "empty_user_id");
    ev.user_id = NULL;
    expect_valid_err(&ev, "empty_user_id");
    ev = make_click();
    ev.user_id = "0123456789abcdefX"; /* 17 bytes */
    expect_valid_err(&ev, "bad_id");
    ev.user_id = "0123456789abcdef"; /* 16 bytes: ok */
    expect_valid_ok(&ev);
    ev = make_click();
    ev.u.click.item_id = "";
    expect_valid_err(&ev, "bad_id");
    ev = make_click();
    ev.event_id = "";
    expect_valid_err(&ev, "bad_id");
    ev = make_click();
    ev.u.click.session_id = "0123456789abcdefX";
    expect_valid_err(&ev, "bad_id");
    ev = make_click();
    ev.ts_ms = 4102444800001LL;
    expect_valid_err(&ev, "bad_timestamp");
    ev.ts_ms = 0;
    expect_valid_err(&ev, "bad_timestamp");
    ev.ts_ms = 946684800000LL;
    expect_valid_ok(&ev);
}

/* Purchases: line count, quantity, price, ids, currency, user. */
static void validate_purchase_classes(void)
{
    struct recd_event ev;
    struct recd_purchase_line lines[5] = {
        { "i1", 1, 1.0 }, { "i2", 1, 1.0 }, { "i3", 1, 1.0 }, { "i4", 1, 1.0 }, { "i5", 1, 1.0 }
    };

    ev = base_event(RECD_KIND_PURCHASE, "p", "u", 1700000000000LL);
    ev.u.purchase.order_id = "o";
    ev.u.purchase.currency = "EUR";
    ev.u.purchase.lines = lines;
    ev.u.purchase.n_lines = 4;
    expect_valid_ok(&ev);
    ev.u.purchase.n_lines = 5;
    expect_valid_err(&ev, "bad_purchase");
    ev.u.purchase.n_lines = 0;
    expect_valid_err(&ev, "bad_purchase");
    ev.u.purchase.n_lines = 1;
    lines[0].quantity = 0;
    expect_valid_err(&ev, "bad_purchase");
    lines[0].quantity = -3;
    expect_valid_err(&ev, "bad_purchase");
    lines[0].quantity = 101;
    expect_valid_err(&ev, "bad_purchase");
    lines[0].quantity = 100;
    expect_valid_ok(&ev);
    lines[0].unit_price = NAN;
    expect_valid_err(&ev, "bad_price");
    lines[0].unit_price = INFINITY;
    expect_valid_err(&ev, "bad_price");
    lines[0].unit_price = -0.01;
    expect_valid_err(&ev, "bad_price");
    lines[0].unit_price = 1e6 + 1;
    expect_valid_err(&ev, "bad_price");
    lines[0].unit_price = 0.0;
    expect_valid_ok(&ev);
    lines[0].item_id = "";
    expect_valid_err(&ev, "bad_id");
    lines[0].item_id = "i1";
    ev.u.purchase.order_id = "";
    expect_valid_err(&ev, "bad_id");
    ev.u.purchase.order_id = "o";
    ev.u.purchase.currency = "";
    expect_valid_err(&ev, "bad_purchase");
    ev.u.purchase.currency = "EUR";
    ev.user_id = "";
    expect_valid_err(&ev, "empty_user_id");
}

/* Queries: shown item ids, user. */
static void validate_query_classes(void)
{
    struct recd_event ev;
    const char *shown[] = { "ok", "" };

    ev = base_event(RECD_KIND_QUERY, "q", "u", 1700000000000LL);
    ev.u.query.text = "shoes";
    ev.u.query.shown = shown;
    ev.u.query.n_shown = 1;
    expect_valid_ok(&ev);
    ev.u.query.n_shown = 2;
    expect_valid_err(&ev, "bad_id");
    ev.u.query.n_shown = 0;
    ev.user_id = NULL;
    expect_valid_err(&ev, "empty_user_id");
}

/* Items: price, timestamp, category count, id; a removal needs only the id. */
static void validate_item_classes(void)
{
    struct recd_event ev;
    static const char *cats[33];
    size_t i;

    ev = base_event(RECD_KIND_ITEM, "sku", NULL, 0);
    ev.u.item.item_id = "sku";
    ev.u.item.title = "t";
    ev.u.item.description = "";
    ev.u.item.price = 10.0;
    ev.u.item.updated_ts = 1700000000000LL;
    ev.ts_ms = ev.u.item.updated_ts;
    expect_valid_ok(&ev); /* no user id needed */
    ev.u.item.price = NAN;
    expect_valid_err(&ev, "bad_price");
    ev.u.item.price = -1.0;
    expect_valid_err(&ev, "bad_price");
    ev.u.item.price = 2e6;
    expect_valid_err(&ev, "bad_price");
    ev.u.item.price = 10.0;
    ev.u.item.updated_ts = 1LL << 60;
    expect_valid_err(&ev, "bad_timestamp");
    ev.u.item.updated_ts = 1700000000000LL;
    for (i = 0; i < 33; i++) {
        cats[i] = "c";
    }
    ev.u.item.category = cats;
    ev.u.item.n_category = 33;
    expect_valid_err(&ev, "bad_item");
    ev.u.item.n_category = 32;
    expect_valid_ok(&ev);
    ev.u.item.item_id = "";
    expect_valid_err(&ev, "bad_id");
    /* a removal needs only the id */
    ev = base_event(RECD_KIND_ITEM, "sku", NULL, 0);
    ev.u.item.item_id = "sku";
    ev.u.item.removed = 1;
    expect_valid_ok(&ev);
}

/* Deletions: requested_ts, user (an event id over the id limit is exempt). */
static void validate_deletion_classes(void)
{
    struct recd_event ev;

    /* user_id at the limit; event_id is longer: exempt */
    ev = base_event(RECD_KIND_DELETION, "del:0123456789abcdef:1700000000000", "0123456789abcdef",
                    1700000000000LL);
    ev.u.deletion.requested_ts = 1700000000000LL;
    expect_valid_ok(&ev);
    ev.u.deletion.requested_ts = 5;
    expect_valid_err(&ev, "bad_timestamp");
    ev.u.deletion.requested_ts = 1700000000000LL;
    ev.user_id = "";
    expect_valid_err(&ev, "empty_user_id");
}

static void test_validate_classes(void **state)
{
    (void)state;
    validate_click_classes();
    validate_purchase_classes();
    validate_query_classes();
    validate_item_classes();
    validate_deletion_classes();
}

static void test_validate_clamps_text(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_validate_conf vc = vconf;
    struct recd_event ev, out;
    size_t big = 1024 * 1024, i;
    char *title = malloc(big + 1);
    char buf[64];

    (void)state;
    assert_non_null(title);
    /* a 1 MiB title of 2-byte characters, decoded, then clamped at a character boundary */
    for (i = 0; i < big; i += 2) {
        title[i] = (char)0xc3;
        title[i + 1] = (char)0xa9;
    }
    title[big] = '\0';
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_ITEM;
    ev.u.item.item_id = "sku";
    ev.u.item.title = title;
    ev.u.item.description = title;
    ev.u.item.brand = "brand";
    ev.u.item.price = 1.0;
    ev.u.item.updated_ts = 1700000000000LL;
    roundtrip(c, &ev, -1, a, &out);
    assert_int_equal(strlen(out.u.item.title), big);
    vc.max_text_bytes = 33; /* odd: the cut must back off to 32 */
    assert_int_equal(recd_validate_event(&vc, &out, NULL, 0), RECD_OK);
    assert_int_equal(strlen(out.u.item.title), 32);
    assert_int_equal(strlen(out.u.item.description), 32);
    assert_memory_equal(out.u.item.title, title, 32);
    assert_string_equal(out.u.item.brand, "brand");
    vc.max_text_bytes = 1; /* less than one character: empty */
    assert_int_equal(recd_validate_event(&vc, &out, NULL, 0), RECD_OK);
    assert_string_equal(out.u.item.title, "");

    /* 4-byte characters; and invalid UTF-8 is tolerated and cut at the byte limit */
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_QUERY;
    ev.event_id = "q";
    ev.user_id = "u";
    ev.ts_ms = 1700000000000LL;
    strcpy(buf, "ab\xf0\x9f\x98\x80\xf0\x9f\x98\x80"); /* ab + 2 emoji = 10 bytes */
    ev.u.query.text = buf;
    vc.max_text_bytes = 8;
    assert_int_equal(recd_validate_event(&vc, &ev, NULL, 0), RECD_OK);
    assert_string_equal(ev.u.query.text, "ab\xf0\x9f\x98\x80");
    memset(buf, 0x80, 20); /* continuation bytes only */
    buf[20] = '\0';
    ev.u.query.text = buf;
    assert_int_equal(recd_validate_event(&vc, &ev, NULL, 0), RECD_OK);
    assert_int_equal(strlen(ev.u.query.text), 8);
    strcpy(buf, "\xff\xfe invalid \xc3");
    vc.max_text_bytes = 100;
    assert_int_equal(recd_validate_event(&vc, &ev, NULL, 0), RECD_OK);
    assert_string_equal(ev.u.query.text, "\xff\xfe invalid \xc3");
    free(title);
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

/* recd_codec_set_string_cap(recd_validate_string_cap): a decoded string is copied only up to
 * the bytes validation reads, and validation decides and clamps as on the whole string: a
 * 1 MiB id is still a bad_id (same message), a 1 MiB title is clamped to the same bytes, an
 * item removal's 1 MiB key is a bad_id; the arena holds the prefixes, not the megabytes. */
static void test_string_cap(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *whole = recd_arena_new(1 << 16), *capped = recd_arena_new(1 << 16);
    struct recd_validate_conf vc = vconf, off = vconf;
    struct recd_event ev, w, k;
    size_t big = 1024 * 1024, i;
    char *s = malloc(big + 1), e1[256] = "", e2[256] = "";

    (void)state;
    assert_non_null(s);
    assert_int_equal(recd_validate_string_cap(&vconf), 33); /* max(16, 32) + 1 */
    off.max_id_bytes = 0;
    assert_int_equal(recd_validate_string_cap(&off), 0);
    assert_int_equal(recd_validate_string_cap(NULL), 0);

    /* a title of 2-byte characters; an odd text limit: the cut backs off inside the prefix */
    for (i = 0; i < big; i += 2) {
        s[i] = (char)0xc3;
        s[i + 1] = (char)0xa9;
    }
    s[big] = '\0';
    vc.max_text_bytes = 33;
    memset(&ev, 0, sizeof(ev));
    ev.kind = RECD_KIND_ITEM;
    ev.u.item.item_id = "sku";
    ev.u.item.title = s;
    ev.u.item.description = "d";
    ev.u.item.brand = s;
    ev.u.item.price = 1.0;
    ev.u.item.updated_ts = 1700000000000LL;
    roundtrip(c, &ev, -1, whole, &w);
    recd_codec_set_string_cap(c, recd_validate_string_cap(&vc));
    roundtrip(c, &ev, -1, capped, &k);
    assert_int_equal(strlen(w.u.item.title), big);
    assert_int_equal(strlen(k.u.item.title), 34);
    assert_true(recd_arena_used(capped) < 64 * 1024);
    assert_true(recd_arena_used(whole) > 2 * big);
    assert_int_equal(recd_validate_event(&vc, &w, NULL, 0), RECD_OK);
    assert_int_equal(recd_validate_event(&vc, &k, NULL, 0), RECD_OK);
    assert_string_equal(k.u.item.title, w.u.item.title);
    assert_string_equal(k.u.item.brand, w.u.item.brand);
    assert_int_equal(strlen(k.u.item.title), 32);

    /* a 1 MiB item id: bad_id either way, with the same message */
    memset(s, 'x', big);
    ev = make_click();
    ev.u.click.item_id = s;
    recd_codec_set_string_cap(c, 0);
    roundtrip(c, &ev, -1, whole, &w);
    recd_codec_set_string_cap(c, recd_validate_string_cap(&vc));
    roundtrip(c, &ev, -1, capped, &k);
    assert_int_equal(strlen(k.u.click.item_id), 34);
    assert_int_equal(recd_validate_event(&vc, &w, e1, sizeof(e1)), RECD_EVALID);
    assert_int_equal(recd_validate_event(&vc, &k, e2, sizeof(e2)), RECD_EVALID);
    assert_string_equal(e1, e2);
    assert_true(strncmp(e2, "bad_id:", 7) == 0);

    /* an id at the limit is kept whole */
    ev.u.click.item_id = "0123456789abcdef";
    roundtrip(c, &ev, -1, capped, &k);
    assert_int_equal(recd_validate_event(&vc, &k, NULL, 0), RECD_OK);
    assert_string_equal(k.u.click.item_id, "0123456789abcdef");

    /* an item removal (null value) keyed by 1 MiB */
    memset(&k, 0, sizeof(k));
    assert_int_equal(recd_codec_decode(c, RECD_KIND_ITEM, s, big, NULL, 0, capped, &k, e1,
                                       sizeof(e1)),
                     RECD_OK);
    assert_int_equal(k.u.item.removed, 1);
    assert_int_equal(strlen(k.u.item.item_id), 34);
    assert_int_equal(recd_validate_event(&vc, &k, e2, sizeof(e2)), RECD_EVALID);
    assert_true(strncmp(e2, "bad_id:", 7) == 0);
    free(s);
    recd_arena_destroy(whole);
    recd_arena_destroy(capped);
    recd_codec_destroy(c);
}

/* Decode + validate together, the way the pipeline does. */
static void test_decode_then_validate(void **state)
{
    struct recd_codec *c = codec_default();
    struct recd_arena *a = recd_arena_new(1 << 16);
    struct recd_event ev = make_click(), out;

    (void)state;
    ev.user_id = "";
    roundtrip(c, &ev, -1, a, &out);
    expect_valid_err(&out, "empty_user_id");
    ev = make_click();
    ev.ts_ms = 1LL << 62;
    roundtrip(c, &ev, -1, a, &out);
    expect_valid_err(&out, "bad_timestamp");
    recd_arena_destroy(a);
    recd_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_click_roundtrip),
        cmocka_unit_test(test_purchase_roundtrip),
        cmocka_unit_test(test_query_roundtrip),
        cmocka_unit_test(test_item_roundtrip),
        cmocka_unit_test(test_deletion_roundtrip),
        cmocka_unit_test(test_recs_roundtrip),
        cmocka_unit_test(test_encode_rejects_missing_fields),
        cmocka_unit_test(test_confluent_evolved_writer),
        cmocka_unit_test(test_older_writer_defaults),
        cmocka_unit_test(test_resolver_map_reuse),
        cmocka_unit_test(test_enum_evolution),
        cmocka_unit_test(test_plain_writer_per_topic),
        cmocka_unit_test(test_codec_new_errors),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_huge_lengths),
        cmocka_unit_test(test_truncated_records),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_validate_classes),
        cmocka_unit_test(test_validate_clamps_text),
        cmocka_unit_test(test_decode_then_validate),
        cmocka_unit_test(test_string_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
