/*
 * codec_encode.c — encoding events and Recommendations with the reader schemas (see codec.c).
 */
#include "codec_internal.h"

/* ---- encoding ---------------------------------------------------------------------------- */

struct enc {
    char *errstr;
    size_t errlen;
    const char *field;           /* set on failure, for the message */
};

static int enc_fail(struct enc *e, const char *field)
{
    e->field = field;
    return -1;
}

/* Point string value v at s without copying it: a wrapped buffer with no free function, so
 * avro-c neither mallocs a copy nor frees s. s is borrowed: it must stay valid until v is
 * reset, which both encode entry points do right after writing ("encode_done" below), so no value
 * holds a borrowed pointer between calls. A copy per string (avro_value_set_string) was a
 * malloc, a free and a memcpy for each of a list's ~60 strings. */
static int borrow_str(avro_value_t *v, const char *s)
{
    avro_wrapped_buffer_t wb;

    return avro_wrapped_buffer_new_string(&wb, s) != 0 || avro_value_give_string_len(v, &wb) != 0
        ? -1
        : 0;
}

static int set_str(struct enc *e, avro_value_t *rec, int i, const char *s, const char *name)
{
    avro_value_t f;

    if (s == NULL) {
        return enc_fail(e, name);
    }
    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0 || borrow_str(&f, s) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

/* ["null", string] */
static int set_opt_str(struct enc *e, avro_value_t *rec, int i, const char *s, const char *name)
{
    avro_value_t f, b;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0 ||
        avro_value_set_branch(&f, s != NULL ? 1 : 0, &b) != 0 ||
        (s != NULL ? borrow_str(&b, s) : avro_value_set_null(&b)) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_long(struct enc *e, avro_value_t *rec, int i, int64_t x, const char *name)
{
    avro_value_t f;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0 || avro_value_set_long(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_double(struct enc *e, avro_value_t *rec, int i, double x, const char *name)
{
    avro_value_t f;

    if (avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0 ||
        avro_value_set_double(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_enum(struct enc *e, avro_value_t *rec, int i, int x, int n, const char *name)
{
    avro_value_t f;

    if (x < 0 || x >= n || avro_value_get_by_index(rec, (size_t)i, &f, NULL) != 0 ||
        avro_value_set_enum(&f, x) != 0) {
        return enc_fail(e, name);
    }
    return 0;
}

static int set_str_array(struct enc *e, avro_value_t *arr, const char *const *a, uint32_t n,
                         const char *name)
{
    avro_value_t x;
    uint32_t k;

    if (n > 0 && a == NULL) {
        return enc_fail(e, name);
    }
    for (k = 0; k < n; k++) {
        if (a[k] == NULL || avro_value_append(arr, &x, NULL) != 0 || borrow_str(&x, a[k]) != 0) {
            return enc_fail(e, name);
        }
    }
    return 0;
}

static int enc_click(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_click *ck = &ev->u.click;
    avro_value_t map, x;
    uint32_t k;

    if (set_str(e, rec, CF_EVENT_ID, ev->event_id, "event_id") != 0 ||
        set_str(e, rec, CF_USER_ID, ev->user_id, "user_id") != 0 ||
        set_str(e, rec, CF_ITEM_ID, ck->item_id, "item_id") != 0 ||
        set_long(e, rec, CF_TS, ev->ts_ms, "ts") != 0 ||
        set_enum(e, rec, CF_KIND, ck->type, 2, "kind") != 0 ||
        set_opt_str(e, rec, CF_SESSION_ID, ck->session_id, "session_id") != 0 ||
        set_enum(e, rec, CF_SOURCE, ck->source, 3, "source") != 0 ||
        set_opt_str(e, rec, CF_QUERY_ID, ck->query_id, "query_id") != 0 ||
        avro_value_get_by_index(rec, CF_CONTEXT, &map, NULL) != 0) {
        return -1;
    }
    if (ck->n_context > 0 && ck->context == NULL) {
        return enc_fail(e, "context");
    }
    for (k = 0; k < ck->n_context; k++) {
        if (ck->context[k].key == NULL || ck->context[k].value == NULL ||
            avro_value_add(&map, ck->context[k].key, &x, NULL, NULL) != 0 ||
            borrow_str(&x, ck->context[k].value) != 0) {
            return enc_fail(e, "context");
        }
    }
    return 0;
}

static int enc_purchase(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_purchase *pu = &ev->u.purchase;
    avro_value_t arr, line, f;
    uint32_t k;

    if (set_str(e, rec, PF_EVENT_ID, ev->event_id, "event_id") != 0 ||
        set_str(e, rec, PF_USER_ID, ev->user_id, "user_id") != 0 ||
        set_str(e, rec, PF_ORDER_ID, pu->order_id, "order_id") != 0 ||
        set_long(e, rec, PF_TS, ev->ts_ms, "ts") != 0 ||
        set_str(e, rec, PF_CURRENCY, pu->currency != NULL ? pu->currency : "EUR", "currency") !=
            0 ||
        avro_value_get_by_index(rec, PF_LINES, &arr, NULL) != 0) {
        return -1;
    }
    if (pu->n_lines > 0 && pu->lines == NULL) {
        return enc_fail(e, "lines");
    }
    for (k = 0; k < pu->n_lines; k++) {
        const struct recd_purchase_line *l = &pu->lines[k];

        if (avro_value_append(&arr, &line, NULL) != 0 ||
            set_str(e, &line, PL_ITEM_ID, l->item_id, "lines.item_id") != 0 ||
            avro_value_get_by_index(&line, PL_QUANTITY, &f, NULL) != 0 ||
            avro_value_set_int(&f, l->quantity) != 0 ||
            set_double(e, &line, PL_UNIT_PRICE, l->unit_price, "lines.unit_price") != 0) {
            return enc_fail(e, "lines");
        }
    }
    return 0;
}

static int enc_query(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_query *q = &ev->u.query;
    avro_value_t f, b;

    if (set_str(e, rec, QF_EVENT_ID, ev->event_id, "event_id") != 0 ||
        set_str(e, rec, QF_USER_ID, ev->user_id, "user_id") != 0 ||
        set_long(e, rec, QF_TS, ev->ts_ms, "ts") != 0 ||
        set_str(e, rec, QF_TEXT, q->text, "text") != 0 ||
        avro_value_get_by_index(rec, QF_SHOWN, &f, NULL) != 0) {
        return -1;
    }
    /* NULL shown list = null; a non-NULL list (even empty) = an array */
    if (q->shown == NULL && q->n_shown == 0) {
        if (avro_value_set_branch(&f, 0, &b) != 0 || avro_value_set_null(&b) != 0) {
            return enc_fail(e, "shown_item_ids");
        }
        return 0;
    }
    if (avro_value_set_branch(&f, 1, &b) != 0) {
        return enc_fail(e, "shown_item_ids");
    }
    return set_str_array(e, &b, q->shown, q->n_shown, "shown_item_ids");
}

static int enc_item(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_item *it = &ev->u.item;
    const char *id = it->item_id != NULL ? it->item_id : ev->event_id;
    avro_value_t f;

    if (set_str(e, rec, IF_ITEM_ID, id, "item_id") != 0 ||
        set_str(e, rec, IF_TITLE, it->title, "title") != 0 ||
        set_str(e, rec, IF_DESCRIPTION, it->description != NULL ? it->description : "",
                "description") != 0 ||
        avro_value_get_by_index(rec, IF_CATEGORY, &f, NULL) != 0 ||
        set_str_array(e, &f, it->category, it->n_category, "category") != 0 ||
        set_opt_str(e, rec, IF_BRAND, it->brand, "brand") != 0 ||
        set_double(e, rec, IF_PRICE, it->price, "price") != 0 ||
        avro_value_get_by_index(rec, IF_IN_STOCK, &f, NULL) != 0 ||
        avro_value_set_boolean(&f, it->in_stock != 0) != 0 ||
        set_long(e, rec, IF_UPDATED_TS, it->updated_ts, "updated_ts") != 0) {
        return e->field != NULL ? -1 : enc_fail(e, "item");
    }
    return 0;
}

static int enc_deletion(struct enc *e, avro_value_t *rec, const struct recd_event *ev)
{
    const struct recd_deletion *dl = &ev->u.deletion;

    if (set_str(e, rec, DF_USER_ID, ev->user_id, "user_id") != 0 ||
        set_long(e, rec, DF_REQUESTED_TS, dl->requested_ts, "requested_ts") != 0 ||
        set_opt_str(e, rec, DF_REASON, dl->reason, "reason") != 0) {
        return -1;
    }
    return 0;
}

static int enc_recs(struct enc *e, avro_value_t *rec, const struct recd_recs *r)
{
    avro_value_t arr, it, f;
    uint32_t k;

    if (set_str(e, rec, RF_USER_ID, r->user_id, "user_id") != 0 ||
        set_long(e, rec, RF_SEQ, r->seq, "seq") != 0 ||
        set_str(e, rec, RF_MODEL_VERSION, r->model_version, "model_version") != 0 ||
        set_long(e, rec, RF_GENERATED_TS, r->generated_ts, "generated_ts") != 0 ||
        set_opt_str(e, rec, RF_TRIGGER, r->trigger_event_id, "trigger_event_id") != 0 ||
        avro_value_get_by_index(rec, RF_ITEMS, &arr, NULL) != 0) {
        return -1;
    }
    if (r->n_items > 0 && r->items == NULL) {
        return enc_fail(e, "items");
    }
    for (k = 0; k < r->n_items; k++) {
        const struct recd_rec_item *ri = &r->items[k];

        if (avro_value_append(&arr, &it, NULL) != 0 ||
            set_str(e, &it, RI_ITEM_ID, ri->item_id, "items.item_id") != 0 ||
            avro_value_get_by_index(&it, RI_SCORE, &f, NULL) != 0 ||
            avro_value_set_float(&f, ri->score) != 0 ||
            set_str(e, &it, RI_REASON, ri->reason, "items.reason") != 0 ||
            set_opt_str(e, &it, RI_BECAUSE, ri->because_item_id, "items.because_item_id") != 0) {
            return e->field != NULL ? -1 : enc_fail(e, "items");
        }
    }
    return 0;
}

/* Serialize v (after an optional Confluent header) onto the end of out. */
static int write_value(struct recd_codec *c, avro_value_t *v, int32_t confluent_id,
                       struct recd_buf *out, char *errstr, size_t errlen)
{
    size_t sz = 0, hdr = confluent_id >= 0 ? CONFLUENT_HDR : 0;
    uint8_t *p;

    if (avro_value_sizeof(v, &sz) != 0) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "encode: %s", avro_strerror());
    }
    if (recd_buf_reserve(out, hdr + sz) != RECD_OK) {
        return recd_seterr(errstr, errlen, RECD_ENOMEM, "encode: out of memory");
    }
    p = out->data + out->len;
    if (hdr > 0) {
        uint32_t id = (uint32_t)confluent_id;

        p[0] = 0;
        p[1] = (uint8_t)(id >> 24);
        p[2] = (uint8_t)(id >> 16);
        p[3] = (uint8_t)(id >> 8);
        p[4] = (uint8_t)id;
    }
    if (sz > 0) {
        avro_writer_memory_set_dest(c->writer, (const char *)p + hdr, (int64_t)sz);
        if (avro_value_write(c->writer, v) != 0) {
            return recd_seterr(errstr, errlen, RECD_EINVAL, "encode: %s", avro_strerror());
        }
    }
    out->len += hdr + sz;
    return RECD_OK;
}

int recd_codec_encode_event(struct recd_codec *c, const struct recd_event *ev, int32_t confluent_id,
                            struct recd_buf *out, char *errstr, size_t errlen)
{
    struct enc e = { errstr, errlen, NULL };
    avro_value_t *rec;
    int r;

    if (c == NULL || ev == NULL || out == NULL || ev->kind < 0 || ev->kind >= RECD_KIND__NINPUT) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_encode_event: bad argument");
    }
    if (ev->kind == RECD_KIND_ITEM && ev->u.item.removed) {
        return RECD_OK;   /* a removal is a NULL value: nothing to append */
    }
    rec = &c->enc[ev->kind];   /* reset: every encode resets it before returning */
    switch (ev->kind) {
    case RECD_KIND_CLICK:    r = enc_click(&e, rec, ev); break;
    case RECD_KIND_PURCHASE: r = enc_purchase(&e, rec, ev); break;
    case RECD_KIND_QUERY:    r = enc_query(&e, rec, ev); break;
    case RECD_KIND_ITEM:     r = enc_item(&e, rec, ev); break;
    default:                 r = enc_deletion(&e, rec, ev); break;
    }
    if (r != 0) {
        r = recd_seterr(errstr, errlen, RECD_EINVAL, "encode %s: missing or bad field %s",
                        recd_kind_name(ev->kind), e.field != NULL ? e.field : "?");
    } else {
        r = write_value(c, rec, confluent_id, out, errstr, errlen);
    }
    avro_value_reset(rec);   /* encode_done: rec lets go of the borrowed strings */
    return r;
}

int recd_codec_encode_recs(struct recd_codec *c, const struct recd_recs *r, int32_t confluent_id,
                           struct recd_buf *out, char *errstr, size_t errlen)
{
    struct enc e = { errstr, errlen, NULL };
    avro_value_t *rec;
    int rc;

    if (c == NULL || r == NULL || out == NULL) {
        return recd_seterr(errstr, errlen, RECD_EINVAL, "recd_codec_encode_recs: bad argument");
    }
    rec = &c->enc[RECD_KIND_RECS];   /* reset: every encode resets it before returning */
    if (enc_recs(&e, rec, r) != 0) {
        rc = recd_seterr(errstr, errlen, RECD_EINVAL,
                         "encode recommendations: missing or bad field %s",
                         e.field != NULL ? e.field : "?");
    } else {
        rc = write_value(c, rec, confluent_id, out, errstr, errlen);
    }
    avro_value_reset(rec);   /* encode_done: rec lets go of the borrowed strings */
    return rc;
}
